/* Helpers shared by the Check suites: temporary directories and files, Maildir fixtures,
 * configurations from text, a main() per suite. */
#ifndef TERN_TESTUTIL_H
#define TERN_TESTUTIL_H

#include <check.h>
#include <dirent.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "tern/buf.h"
#include "tern/config.h"
#include "tern/err.h"
#include "tern/fsutil.h"

/* A fresh private directory under $TMPDIR (or /tmp); the caller removes it with rm_rf. */
static inline char *test_tmpdir(void)
{
    const char *base = getenv("TMPDIR");
    char *path = malloc(4096);

    snprintf(path, 4096, "%s/tern-test.XXXXXX", base && *base ? base : "/tmp");
    ck_assert_ptr_nonnull(mkdtemp(path));
    return path;
}

static inline void rm_rf(const char *path);

/* The pair of test_tmpdir: remove the directory and free its name. */
static inline void test_tmpdir_free(char *path)
{
    rm_rf(path);
    free(path);
}

/* A scratch directory for every test of a TCase, made before the test and removed after it:
 * tcase_add_checked_fixture(tc, test_dir_setup, test_dir_teardown). */
__attribute__((unused)) static char *test_dir;

static inline void test_dir_setup(void)
{
    test_dir = test_tmpdir();
}

static inline void test_dir_teardown(void)
{
    test_tmpdir_free(test_dir);
    test_dir = NULL;
}

static inline void test_write(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");

    ck_assert_ptr_nonnull(f);
    fputs(text, f);
    ck_assert_int_eq(fclose(f), 0);
}

/* Write DIR/SUB/NAME (SUB: a Maildir's cur, new or tmp) with TEXT. */
static inline void test_put(const char *dir, const char *sub, const char *name, const char *text)
{
    char path[4096];

    ck_assert_int_lt(snprintf(path, sizeof path, "%s/%s/%s", dir, sub, name), (int)sizeof path);
    test_write(path, text);
}

/* The file's contents with a NUL after them; the caller frees. */
static inline char *test_slurp(const char *path)
{
    struct buf b = BUF_INIT;
    struct err e;

    ck_assert_msg(fs_read_file(path, &b, &e) == 0, "%s", e.msg);
    buf_addc(&b, '\0');
    return buf_detach(&b);
}

/* Set the times of DIR/SUB (a Maildir's cur or new) SECONDS into the past: what a change
 * made that long ago leaves behind, without waiting for the clock. */
static inline void test_age(const char *dir, const char *sub, int seconds)
{
    char path[4096];
    struct timespec t[2];

    snprintf(path, sizeof path, "%s/%s", dir, sub);
    clock_gettime(CLOCK_REALTIME, &t[0]);
    t[0].tv_sec -= seconds;
    t[1] = t[0];
    ck_assert_int_eq(utimensat(AT_FDCWD, path, t, 0), 0);
}

/* A configuration parsed from the printf-style text; a parse error fails the test with the
 * parser's message. */
__attribute__((format(printf, 1, 2)))
static inline struct config *test_config(const char *fmt, ...)
{
    char text[8192];
    struct config *cfg = NULL;
    struct err e;
    va_list ap;
    int n;

    va_start(ap, fmt);
    n = vsnprintf(text, sizeof text, fmt, ap);
    va_end(ap);
    ck_assert_int_lt(n, (int)sizeof text);
    ck_assert_msg(config_parse("rc", text, (size_t)n, &cfg, &e) == 0, "%s", e.msg);
    return cfg;
}

static inline bool test_endswith(const char *s, const char *suffix)
{
    size_t a = strlen(s), b = strlen(suffix);

    return a >= b && strcmp(s + a - b, suffix) == 0;
}

/* The error E has the class CLS and its message contains TEXT (a macro: a failure names the
 * test's line). */
#define test_err(e, want_cls, text)                                                     \
    ck_assert_msg((e)->cls == (want_cls) && strstr((e)->msg, (text)) != NULL,           \
                  "error of class %d \"%s\", wanted class %d with \"%s\"", (int)(e)->cls, \
                  (e)->msg, (int)(want_cls), (text))

static inline void rm_rf(const char *path)
{
    char cmd[4200];

    snprintf(cmd, sizeof cmd, "rm -rf '%s'", path);
    ck_assert_int_eq(system(cmd), 0);
}

/* How many entries not starting with '.' are in dir/sub (sub may be NULL); 0 when it is
 * missing. */
static inline size_t test_count_entries(const char *dir, const char *sub)
{
    size_t len = strlen(dir) + (sub ? strlen(sub) + 1 : 0) + 1;
    char *path = malloc(len);
    DIR *d;
    struct dirent *de;
    size_t n = 0;

    snprintf(path, len, "%s%s%s", dir, sub ? "/" : "", sub ? sub : "");
    d = opendir(path);
    free(path);
    if (d == NULL)
        return 0;
    while ((de = readdir(d)) != NULL)
        n += de->d_name[0] != '.';
    closedir(d);
    return n;
}

/* The srcdir of the tree (for tests/data), from make check's environment. */
static inline const char *test_srcdir(void)
{
    const char *s = getenv("TERN_SRCDIR");
    return s ? s : ".";
}

#define TEST_MAIN(suite_fn)                                                  \
    int main(void)                                                           \
    {                                                                        \
        SRunner *sr = srunner_create(suite_fn());                            \
        int failed;                                                          \
        srunner_run_all(sr, CK_NORMAL);                                      \
        failed = srunner_ntests_failed(sr);                                  \
        srunner_free(sr);                                                    \
        return failed ? EXIT_FAILURE : EXIT_SUCCESS;                         \
    }

#endif

/* Helpers shared by the Check suites: temporary directories and files, a main() per suite. */
#ifndef TERN_TESTUTIL_H
#define TERN_TESTUTIL_H

#include <check.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* A fresh private directory under $TMPDIR (or /tmp); the caller removes it with rm_rf. */
static inline char *test_tmpdir(void)
{
    const char *base = getenv("TMPDIR");
    char *path = malloc(4096);

    snprintf(path, 4096, "%s/tern-test.XXXXXX", base && *base ? base : "/tmp");
    ck_assert_ptr_nonnull(mkdtemp(path));
    return path;
}

static inline void test_write(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");

    ck_assert_ptr_nonnull(f);
    fputs(text, f);
    ck_assert_int_eq(fclose(f), 0);
}

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

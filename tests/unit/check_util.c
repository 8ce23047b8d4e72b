/* Unit tests for src/util: buffers, strings, UTF-8, file helpers and log redaction. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <locale.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "testutil.h"
#include "tern/buf.h"
#include "tern/err.h"
#include "tern/fsutil.h"
#include "tern/json.h"
#include "tern/log.h"
#include "tern/str.h"
#include "tern/xalloc.h"

static int hook_fd = -1;

static void oom_hook(void)
{
    (void)!write(hook_fd, "H", 1);
}

/* Out of memory runs the hook (the client's: put the terminal back) before exit 71. */
START_TEST(xalloc_die_runs_hook)
{
    int p[2];
    pid_t pid;
    int st;
    char c = 0;

    ck_assert_int_eq(pipe(p), 0);
    pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        close(p[0]);
        hook_fd = p[1];
        xalloc_set_die_hook(oom_hook);
        (void)xreallocarray(NULL, SIZE_MAX, 2);     /* overflows: the out-of-memory path */
        _exit(0);
    }
    close(p[1]);
    ck_assert_int_eq(waitpid(pid, &st, 0), pid);
    ck_assert(WIFEXITED(st));
    ck_assert_int_eq(WEXITSTATUS(st), 71);
    ck_assert_int_eq(read(p[0], &c, 1), 1);
    ck_assert_int_eq(c, 'H');
    close(p[0]);
}
END_TEST

/* xgrow makes room for the element asked for, keeps what was there, and only grows when full. */
START_TEST(xgrow_makes_room)
{
    size_t *v = NULL, cap = 0, n;

    for (n = 0; n < 1000; n++) {
        v = xgrow(v, n, &cap, sizeof *v);
        ck_assert_uint_gt(cap, n);
        v[n] = n * 3;
    }
    for (n = 0; n < 1000; n++)
        ck_assert_uint_eq(v[n], n * 3);
    n = cap;
    ck_assert_ptr_eq(xgrow(v, cap - 1, &cap, sizeof *v), v);     /* room already */
    ck_assert_uint_eq(cap, n);
    v = xgrow(v, 5000, &cap, sizeof *v);    /* far past the end: one step */
    ck_assert_uint_gt(cap, 5000);
    ck_assert_uint_eq(v[999], 999 * 3);
    free(v);
}
END_TEST

START_TEST(buf_grows_and_terminates)
{
    struct buf b = BUF_INIT;

    ck_assert_str_eq(buf_cstr(&b), "");
    for (int i = 0; i < 1000; i++)
        buf_printf(&b, "%d,", i);
    ck_assert_uint_eq(b.len, strlen(b.ptr));
    ck_assert(str_startswith(b.ptr, "0,1,2,"));
    buf_consume(&b, 4);
    ck_assert(str_startswith(b.ptr, "2,3,"));
    buf_truncate(&b, 2);
    ck_assert_str_eq(b.ptr, "2,");
    buf_add(&b, "a\0b", 3);
    ck_assert_uint_eq(b.len, 5);
    char *s = buf_detach(&b);
    ck_assert_ptr_null(b.ptr);
    free(s);
}
END_TEST

/* The one wipe for secrets: every byte of the allocation, not only the text. */
START_TEST(buf_wipe_zeroes_everything)
{
    struct buf b = BUF_INIT;

    buf_adds(&b, "AUTH PLAIN c2VjcmV0");
    buf_truncate(&b, 4);                      /* the secret lies beyond len now */
    buf_wipe(&b);
    ck_assert_uint_eq(b.len, 0);
    for (size_t i = 0; i < b.cap; i++)
        ck_assert_int_eq(b.ptr[i], 0);
    buf_free(&b);
    buf_wipe(&b);                             /* an empty buffer is fine */
}
END_TEST

START_TEST(str_helpers)
{
    char s[] = "  \t hello world \r\n";
    bool v;
    long n;

    ck_assert_str_eq(str_trim(s), "hello world");
    ck_assert_int_eq(str_casecmp("Subject", "SUBJECT"), 0);
    ck_assert_int_ne(str_casecmp("Subject", "Subjec"), 0);
    ck_assert(str_casestartswith("Content-Type: x", "content-type:"));
    ck_assert_ptr_nonnull(str_casemem("abcDEFg", 7, "defG"));
    ck_assert_ptr_null(str_casemem("abcDEF", 6, "efg"));
    ck_assert_int_eq(str_tobool("Yes", &v), 0);
    ck_assert(v);
    ck_assert_int_eq(str_tobool("off", &v), 0);
    ck_assert(!v);
    ck_assert_int_eq(str_tobool("maybe", &v), -1);
    ck_assert_int_eq(str_hexval('0'), 0);
    ck_assert_int_eq(str_hexval('9'), 9);
    ck_assert_int_eq(str_hexval('a'), 10);
    ck_assert_int_eq(str_hexval('F'), 15);
    ck_assert_int_eq(str_hexval('g'), -1);
    ck_assert_int_eq(str_hexval('/'), -1);
    ck_assert_int_eq(str_hexval((char)0xb0), -1);
    ck_assert_int_eq(str_tolong("587", 1, 65535, &n), 0);
    ck_assert_int_eq(n, 587);
    ck_assert_int_eq(str_tolong("70000", 1, 65535, &n), -1);
    ck_assert_int_eq(str_tolong("12x", 1, 65535, &n), -1);
    ck_assert_int_eq(str_tolong("", 1, 65535, &n), -1);
    ck_assert_uint_eq(str_distance("smtp_prot", "smtp_port"), 2);
    ck_assert_uint_eq(str_distance("", "abc"), 3);
}
END_TEST

START_TEST(utf8_decoding_and_width)
{
    const unsigned char bad[] = { 0xc0, 0xaf };     /* overlong '/' */
    const unsigned char sur[] = { 0xed, 0xa0, 0x80 }; /* a surrogate */
    char out[4];

    ck_assert_uint_eq(utf8_seqlen((const unsigned char *)"\xd0\x96", 2), 2);
    ck_assert_uint_eq(utf8_seqlen((const unsigned char *)"\xd0\x96", 1), 0);
    ck_assert_uint_eq(utf8_seqlen(bad, 2), 0);
    ck_assert_uint_eq(utf8_seqlen(sur, 3), 0);
    ck_assert_uint_eq(utf8_decode((const unsigned char *)"\xe6\x97\xa5", 3), 0x65e5);
    ck_assert_uint_eq(utf8_encode(0x1f600, out), 4);
    ck_assert_uint_eq(utf8_seqlen((unsigned char *)out, 4), 4);
    /* CJK is two columns, a combining acute accent none. */
    ck_assert_uint_eq(utf8_width("\xe6\x97\xa5\xe6\x9c\xac", 6), 4);
    ck_assert_uint_eq(utf8_width("e\xcc\x81", 3), 1);
    ck_assert_uint_eq(utf8_width("abc", 3), 3);
}
END_TEST

START_TEST(err_formats)
{
    struct err e;

    ck_assert_int_eq(err_set(&e, ERR_PROTO, "bad reply '%s'", "-ERR x"), -1);
    ck_assert_int_eq(e.cls, ERR_PROTO);
    ck_assert_str_eq(e.msg, "bad reply '-ERR x'");
    err_prefix(&e, "pop.example.org");
    ck_assert_str_eq(e.msg, "pop.example.org: bad reply '-ERR x'");
    errno = ENOENT;
    err_sys(&e, "open %s", "/x");
    ck_assert_str_eq(e.msg, "open /x: No such file or directory");
    ck_assert_str_eq(err_class_name(ERR_TLS), "tls");
    ck_assert_int_eq(err_set(NULL, ERR_SYS, "ignored"), -1);
}
END_TEST

START_TEST(fs_atomic_and_lock)
{
    char *dir = test_tmpdir();
    char *path = fs_join(dir, "state");
    char *deep = fs_join(dir, "a/b/c");
    struct buf b = BUF_INIT;
    struct stat st;
    struct err e;
    int fd, fd2;

    ck_assert_int_eq(fs_write_atomic(path, "one\n", 4, 0600, &e), 0);
    ck_assert_int_eq(fs_write_atomic(path, "two\n", 4, 0600, &e), 0);
    ck_assert_int_eq(fs_read_file(path, &b, &e), 0);
    ck_assert_str_eq(b.ptr, "two\n");
    ck_assert_int_eq(stat(path, &st), 0);
    ck_assert_int_eq(st.st_mode & 0777, 0600);
    ck_assert_int_eq(fs_mkdir_p(deep, 0700, &e), 0);
    ck_assert_int_eq(stat(deep, &st), 0);
    ck_assert(S_ISDIR(st.st_mode));
    fd = fs_lock(path, &e);
    ck_assert_int_ge(fd, 0);
    fd2 = fs_lock(path, &e);
    ck_assert_int_eq(fd2, -1);
    ck_assert_int_eq(e.cls, ERR_LOCKED);
    fs_unlock(fd);
    fd2 = fs_lock(path, &e);
    ck_assert_int_ge(fd2, 0);
    fs_unlock(fd2);
    ck_assert_int_eq(fs_read_file("/nonexistent/x", &b, &e), -1);
    ck_assert(strstr(e.msg, "/nonexistent/x") != NULL);
    /* a symlink planted at the temporary name is not followed (issue 14, item 10) */
    {
        char *victim = fs_join(dir, "victim");
        struct buf tmp = BUF_INIT;

        test_write(victim, "precious\n");
        buf_printf(&tmp, "%s.tmp.%ld", path, (long)getpid());
        ck_assert_int_eq(symlink(victim, tmp.ptr), 0);
        ck_assert_int_eq(fs_write_atomic(path, "three\n", 6, 0600, &e), 0);
        buf_reset(&b);
        ck_assert_int_eq(fs_read_file(victim, &b, &e), 0);
        ck_assert_str_eq(b.ptr, "precious\n");
        buf_reset(&b);
        ck_assert_int_eq(fs_read_file(path, &b, &e), 0);
        ck_assert_str_eq(b.ptr, "three\n");
        ck_assert_int_eq(lstat(tmp.ptr, &st), -1);
        buf_free(&tmp);
        free(victim);
    }
    buf_free(&b);
    rm_rf(dir);
    free(path), free(deep), free(dir);
}
END_TEST

START_TEST(fs_expand_home_and_vars)
{
    char *s;

    setenv("HOME", "/home/ann", 1);
    setenv("TERN_T", "xyz", 1);
    unsetenv("TERN_UNSET");
    s = fs_expand("~/Mail/$TERN_T/${TERN_T}.d");
    ck_assert_str_eq(s, "/home/ann/Mail/xyz/xyz.d");
    free(s);
    s = fs_expand("a$TERN_UNSET-b$ 5$");
    ck_assert_str_eq(s, "a-b$ 5$");
    free(s);
    s = fs_expand("~ann/x");
    ck_assert_str_eq(s, "~ann/x");
    free(s);
}
END_TEST

START_TEST(log_redacts_credentials)
{
    static const struct {
        const char *line;
        bool secret;    /* a continuation line of an AUTH exchange, an OAuth2 HTTP body */
        const char *want;
    } cases[] = {
        { "PASS hunter2\r\n", false, "PASS <redacted>" },
        { "AUTH PLAIN AGFubgBodW50ZXIy", false, "AUTH PLAIN <redacted>" },
        { "APOP ann c4c9334bac560ecc979e58001b3e22fb", false, "APOP <redacted>" },
        { "aHVudGVyMg==", true, "<redacted>" },
        { "USER ann", false, "USER ann" },
        { "+OK \x1b[2Jhi", false, "+OK ^[[2Jhi" },
        /* the trace shows C1 and bidi controls too (issue 14, item 2) */
        { "+OK \x9b\xc2\x9b\xe2\x80\xae!", false, "+OK \xef\xbf\xbd<U+009B><U+202E>!" },
        /* OAuth2 mechanisms: the initial response carries the bearer token */
        { "AUTH XOAUTH2 dXNlcj1hbm4BYXV0aD1CZWFyZXIgc2VjcmV0AQE=", false,
          "AUTH XOAUTH2 <redacted>" },
        { "AUTH OAUTHBEARER bixhPWFubiwBYXV0aD1CZWFyZXIgeAEB", false,
          "AUTH OAUTHBEARER <redacted>" },
        /* HTTP bodies to and from a token endpoint are traced as secret lines */
        { "grant_type=refresh_token&refresh_token=1%2F%2Fsecret", true, "<redacted>" },
    };
    char out[128];

    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        log_redact(cases[i].line, strlen(cases[i].line), cases[i].secret, out, sizeof out);
        ck_assert_str_eq(out, cases[i].want);
    }
}
END_TEST

START_TEST(json_strict_reader)
{
    static const char *const bad[] = {
        "", "{", "{\"a\":1,}", "[1,]", "{\"a\" 1}", "01", "1.", "-", ".5", "1e", "tru",
        "\"\\x\"", "\"a\x01\"", "\"\\ud800\"", "\"\\udc00\"", "\"\\u0000\"", "\"\xff\"",
        "\"\xc0\xaf\"", "{\"a\":1,\"a\":2}", "{} {}", "[1] x", "{\"a\":1}}", "nul",
        "\"unterminated",
    };
    const char *ok = " {\"access_token\":\"ya29.a\\/b\",\"expires_in\":3599,"
                     "\"n\":[1,-0.5,2e10,true,false,null,{}],\"u\":\"\\u00e9\\ud83d\\ude00\"} ";
    char deep[200];
    struct json *j;
    struct err e;
    long n;

    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        j = json_parse(bad[i], strlen(bad[i]), &e);
        ck_assert_msg(j == NULL, "accepted %s", bad[i]);
        ck_assert_int_eq(e.cls, ERR_PARSE);
    }
    j = json_parse(ok, strlen(ok), &e);
    ck_assert_ptr_nonnull(j);
    ck_assert_str_eq(json_get_str(j, "access_token"), "ya29.a/b");
    ck_assert_int_eq(json_get_long(j, "expires_in", 0, 100000, &n), 0);
    ck_assert_int_eq(n, 3599);
    ck_assert_int_eq(json_get_long(j, "expires_in", 0, 100, &n), -1);
    ck_assert_str_eq(json_get_str(j, "u"), "\xc3\xa9\xf0\x9f\x98\x80");
    ck_assert_uint_eq(json_len(json_get(j, "n")), 7);
    ck_assert_int_eq(json_type(json_at(json_get(j, "n"), 3)), JSON_BOOL);
    ck_assert_ptr_null(json_get_str(j, "expires_in"));
    ck_assert_ptr_null(json_get(j, "missing"));
    json_free(j);
    /* the depth cap */
    memset(deep, '[', sizeof deep);
    ck_assert_ptr_null(json_parse(deep, sizeof deep, &e));
    ck_assert_ptr_nonnull(strstr(e.msg, "deeply"));
    /* a NUL byte inside the input is not the end of it */
    ck_assert_ptr_null(json_parse("{}\0", 3, &e));
}
END_TEST

static Suite *util_suite(void)
{
    Suite *s = suite_create("util");
    TCase *tc = tcase_create("core");

    setlocale(LC_ALL, "C.UTF-8");
    tcase_add_test(tc, buf_grows_and_terminates);
    tcase_add_test(tc, buf_wipe_zeroes_everything);
    tcase_add_test(tc, xalloc_die_runs_hook);
    tcase_add_test(tc, xgrow_makes_room);
    tcase_add_test(tc, str_helpers);
    tcase_add_test(tc, utf8_decoding_and_width);
    tcase_add_test(tc, err_formats);
    tcase_add_test(tc, fs_atomic_and_lock);
    tcase_add_test(tc, fs_expand_home_and_vars);
    tcase_add_test(tc, log_redacts_credentials);
    tcase_add_test(tc, json_strict_reader);
    suite_add_tcase(s, tc);
    return s;
}

TEST_MAIN(util_suite)

/* Rendering: exact expected output for every message under tests/data/mail, the attachment
 * and part APIs, safety of the output over the shared corpus, width helpers. */
#include "config.h"

#include <dirent.h>
#include <locale.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "testutil.h"
#include "tern/buf.h"
#include "tern/render.h"

static char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    struct buf b = BUF_INIT;
    char tmp[65536];
    size_t n;

    if (f == NULL)
        return NULL;
    while ((n = fread(tmp, 1, sizeof tmp, f)) > 0)
        buf_add(&b, tmp, n);
    fclose(f);
    *len = b.len;
    buf_cstr(&b);
    return buf_detach(&b);
}

static const char *const messages[] = {
    "simple", "alternative", "html-only", "attachments", "rfc822", "qp-latin1", "flowed",
    "8bit-nocharset", "wrong-boundary", "no-close", "controls", "digest", "koi8",
    "broken-headers", "signed", "related", "ja-iso2022", "ambiguous-boundary",
    "space-blank-line", "no-blank-before-delimiter",
};

static void setup(void)
{
    setenv("TZ", "UTC", 1);
    tzset();
    setlocale(LC_ALL, "C.UTF-8");
}

/* Every byte of s is safe for a terminal. */
static void assert_safe(const char *s, size_t n, const char *what)
{
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        ck_assert_msg(c >= 0x20 || c == '\n' || c == '\t', "%s: control 0x%02x at %zu", what,
                      c, i);
        ck_assert_msg(c != 0x7f, "%s: DEL at %zu", what, i);
        /* C1 controls would be U+0080..U+009F, encoded as C2 80..C2 9F */
        if (c == 0xc2 && i + 1 < n)
            ck_assert_msg((unsigned char)s[i + 1] >= 0xa0, "%s: C1 control at %zu", what, i);
    }
}

START_TEST(test_expected)
{
    char path[4096];
    size_t len, elen;
    char *msg, *want;
    struct buf out = BUF_INIT;
    struct err e;

    snprintf(path, sizeof path, "%s/tests/data/mail/%s.eml", test_srcdir(), messages[_i]);
    msg = slurp(path, &len);
    ck_assert_msg(msg != NULL, "cannot read %s", path);
    ck_assert_int_eq(render_message(msg, len, NULL, &out, &e), 0);
    assert_safe(out.ptr, out.len, messages[_i]);
    snprintf(path, sizeof path, "%s/tests/data/mail/%s.out", test_srcdir(), messages[_i]);
    if (getenv("TERN_WRITE_EXPECTED")) {
        FILE *f = fopen(path, "wb");
        fwrite(out.ptr, 1, out.len, f);
        fclose(f);
    }
    want = slurp(path, &elen);
    ck_assert_msg(want != NULL, "cannot read %s", path);
    ck_assert_msg(elen == out.len && memcmp(want, out.ptr, elen) == 0,
                  "%s: rendering differs:\n--- got ---\n%s\n--- want ---\n%s", messages[_i],
                  buf_cstr(&out), want);
    free(want);
    free(msg);
    buf_free(&out);
}
END_TEST

START_TEST(test_attachments)
{
    char path[4096];
    size_t len, n;
    char *msg, *name;
    struct render_attachment *a;
    struct buf out = BUF_INIT;
    struct err e;

    snprintf(path, sizeof path, "%s/tests/data/mail/attachments.eml", test_srcdir());
    msg = slurp(path, &len);
    ck_assert_ptr_nonnull(msg);
    n = render_attachments(msg, len, &a);
    ck_assert_uint_eq(n, 4);
    ck_assert_int_eq(a[0].number, 1);
    ck_assert(a[0].inline_shown);
    ck_assert_str_eq(a[1].type, "application/pdf");
    ck_assert_str_eq(a[1].name, "\xe2\x82\xac rates.pdf");
    ck_assert_uint_eq(a[1].size, 1024);
    ck_assert(!a[1].inline_shown);
    ck_assert_str_eq(a[2].name, "passwd");
    ck_assert_uint_eq(a[2].size, 10);
    render_attachments_free(a, n);
    {
        const char *evil = "Content-Type: x\x1b[2J\x07/y; name=\"a\x1b[2J\"\n\nz";
        n = render_attachments(evil, strlen(evil), &a);
        ck_assert_uint_eq(n, 1);
        ck_assert_str_eq(a[0].type, "x^[[2j^G/y");
        ck_assert_str_eq(a[0].name, "a^[[2J");
        render_attachments_free(a, n);
    }

    ck_assert_int_eq(render_part(msg, len, 2, &out, &name, &e), 0);
    ck_assert_uint_eq(out.len, 1024);
    for (size_t i = 0; i < 1024; i++)
        ck_assert_uint_eq((unsigned char)out.ptr[i], i % 256);
    ck_assert_str_eq(name, "\xe2\x82\xac rates.pdf");
    free(name);
    buf_reset(&out);
    ck_assert_int_eq(render_part(msg, len, 3, &out, &name, &e), 0);
    ck_assert_str_eq(buf_cstr(&out), "root:x:0:0");
    ck_assert_str_eq(name, "passwd");
    free(name);
    ck_assert_int_eq(render_part(msg, len, 9, &out, &name, &e), -1);
    ck_assert_int_eq(e.cls, ERR_PARSE);
    ck_assert_ptr_null(name);
    buf_free(&out);
    free(msg);
}
END_TEST

START_TEST(test_options)
{
    const char *m = "From: a@b\nSubject: s\nX-Custom: =?utf-8?q?v=C3=A9?=\n\nbody\n";
    struct render_opts o = { 0 };
    struct buf out = BUF_INIT;

    o.all_headers = true;
    render_message(m, strlen(m), &o, &out, NULL);
    ck_assert_str_eq(buf_cstr(&out), "From: a@b\nSubject: s\nX-Custom: v\xc3\xa9\n\nbody\n");
    buf_reset(&out);
    o.all_headers = false;
    o.no_headers = true;
    render_message(m, strlen(m), &o, &out, NULL);
    ck_assert_str_eq(buf_cstr(&out), "body\n");
    buf_free(&out);
}
END_TEST

START_TEST(test_prefer_html)
{
    char path[4096];
    size_t len;
    char *msg;
    struct render_opts o = { 0 };
    struct buf out = BUF_INIT;

    snprintf(path, sizeof path, "%s/tests/data/mail/alternative.eml", test_srcdir());
    msg = slurp(path, &len);
    o.prefer_html = true;
    o.no_headers = true;
    render_message(msg, len, &o, &out, NULL);
    ck_assert_str_eq(buf_cstr(&out), "The HTML version.\n");
    buf_free(&out);
    free(msg);
}
END_TEST

/* Nesting far past the cap: bounded, no crash, says so. */
START_TEST(test_deep_nesting)
{
    struct buf m = BUF_INIT, out = BUF_INIT;

    for (int i = 0; i < 300; i++)
        buf_printf(&m, "Content-Type: multipart/mixed; boundary=b%d\n\n--b%d\n", i, i);
    buf_adds(&m, "Content-Type: text/plain\n\ndeep\n");
    render_message(m.ptr, m.len, NULL, &out, NULL);
    ck_assert_ptr_nonnull(strstr(buf_cstr(&out), "too deep or too large"));
    buf_reset(&m);
    buf_reset(&out);
    for (int i = 0; i < 300; i++)
        buf_adds(&m, "Content-Type: message/rfc822\n\n");
    buf_adds(&m, "Subject: inner\n\ntext\n");
    render_message(m.ptr, m.len, NULL, &out, NULL);
    ck_assert_ptr_nonnull(strstr(buf_cstr(&out), "too deep or too large"));
    buf_free(&m);
    buf_free(&out);
}
END_TEST

START_TEST(test_many_parts)
{
    struct buf m = BUF_INIT, out = BUF_INIT;
    struct render_attachment *a;
    size_t n;

    buf_adds(&m, "Content-Type: multipart/mixed; boundary=x\n\n");
    for (int i = 0; i < 12000; i++)
        buf_adds(&m, "--x\nContent-Type: application/octet-stream\n\nz\n");
    buf_adds(&m, "--x--\n");
    n = render_attachments(m.ptr, m.len, &a);
    ck_assert_uint_le(n, 10000);
    ck_assert_uint_ge(n, 9990);
    render_attachments_free(a, n);
    render_message(m.ptr, m.len, NULL, &out, NULL);
    ck_assert_ptr_nonnull(strstr(buf_cstr(&out), "too deep or too large"));
    buf_free(&m);
    buf_free(&out);
}
END_TEST

START_TEST(test_html)
{
    static const struct {
        const char *in, *out;
    } cases[] = {
        { "<p>a</p><p>b</p>", "a\n\nb\n" },
        { "x<br>y", "x\ny\n" },
        { "<ul><li>one<li>two</ul>", "* one\n* two\n" },
        { "<ol><li>one</li><li>two</li></ol>", "1. one\n2. two\n" },
        { "<a href='http://e/'>link</a>", "link[1]\n\n[1] http://e/\n" },
        { "<a href=\"javascript:x()\">js</a>", "js\n" },
        { "<a href=\"http://e/\nx\">link</a>", "link[1]\n\n[1] http://e/x\n" },
        { "<a href=\"http://e/x\">http://e/x</a>", "http://e/x\n" },
        { "&lt;&gt;&amp;&quot;&#65;&#x42;&bogus;&#0;", "<>&\"AB&bogus;\xef\xbf\xbd\n" },
        { "&#150;", "\xe2\x80\x93\n" },
        { "<script>document.write('x')</script>ok", "ok\n" },
        { "<style>p{}</style><SCRIPT>x</SCRIPT>ok", "ok\n" },
        { "a <!-- c --> b", "a b\n" },
        { "1 < 2", "1 < 2\n" },
        { "<blockquote>q</blockquote>", "> q\n" },
        { "<pre> a\n  b</pre>", " a\n  b\n" },
        { "unclosed <b", "unclosed\n" },
        { "<script>never closed", "" },
        { "", "" },
    };

    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct buf out = BUF_INIT;

        render_html(cases[i].in, strlen(cases[i].in), 0, &out);
        ck_assert_msg(strcmp(buf_cstr(&out), cases[i].out) == 0, "%s -> [%s]", cases[i].in,
                      buf_cstr(&out));
        buf_free(&out);
    }
}
END_TEST

/* Found by fuzz_html: list items nested deeper than the layout's table. */
START_TEST(test_deep_lists)
{
    struct buf in = BUF_INIT, out = BUF_INIT;

    for (int i = 0; i < 40; i++)
        buf_adds(&in, "<ol><li>x");
    render_html(in.ptr, in.len, 0, &out);
    ck_assert_ptr_nonnull(strstr(buf_cstr(&out), "1. x"));
    ck_assert_uint_lt(out.len, 40 * 60);
    buf_free(&in);
    buf_free(&out);
}
END_TEST

START_TEST(test_wrap)
{
    struct buf out = BUF_INIT;
    const char *in = "<p>aaaa bbbb cccc dddd eeee ffff gggg</p>";

    render_html(in, strlen(in), 15, &out);
    ck_assert_str_eq(buf_cstr(&out), "aaaa bbbb cccc\ndddd eeee ffff\ngggg\n");
    buf_free(&out);
}
END_TEST

START_TEST(test_width)
{
    struct buf b = BUF_INIT;

    ck_assert_uint_eq(render_width("abc", 3), 3);
    ck_assert_uint_eq(render_width("\xe6\x97\xa5\xe6\x9c\xac", 6), 4);      /* 日本 */
    ck_assert_uint_eq(render_width("e\xcc\x81", 3), 1);                     /* e + acute */
    ck_assert_uint_eq(render_fit("\xe6\x97\xa5\xe6\x9c\xac", 6, 3), 3);     /* no half character */
    ck_assert_uint_eq(render_fit("e\xcc\x81x", 4, 1), 3);                   /* mark stays */
    ck_assert_uint_eq(render_fit("abc", 3, 10), 3);
    render_pad("\xe6\x97\xa5\xe6\x9c\xac", 6, 3, &b);
    ck_assert_str_eq(buf_cstr(&b), "\xe6\x97\xa5 ");
    buf_free(&b);
}
END_TEST

START_TEST(test_safe_filename)
{
    static const struct {
        const char *in, *out;
    } cases[] = {
        { "report.pdf", "report.pdf" },
        { "../../etc/passwd", "passwd" },
        { "C:\\Windows\\evil.exe", "evil.exe" },
        { ".bashrc", "bashrc" },
        { "..", NULL },
        { "dir/", NULL },
        { "a\x1b[2Jb", "a^[[2Jb" },
        { "-rf", "rf" },
    };

    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char *s = render_safe_filename(cases[i].in);
        if (cases[i].out == NULL)
            ck_assert_ptr_null(s);
        else
            ck_assert_str_eq(s, cases[i].out);
        free(s);
    }
}
END_TEST

/* Every file of the shared real-world corpus renders without crashing and safely. */
static int corpus_files;

static void corpus_dir(const char *dir, int depth)
{
    DIR *d = opendir(dir);
    struct dirent *de;

    if (d == NULL || depth > 8) {
        if (d)
            closedir(d);
        return;
    }
    while ((de = readdir(d)) != NULL) {
        char path[4096];
        struct stat st;
        size_t len;
        char *msg;
        struct buf out = BUF_INIT;
        struct render_attachment *a;
        size_t n;

        if (de->d_name[0] == '.')
            continue;
        snprintf(path, sizeof path, "%s/%s", dir, de->d_name);
        if (lstat(path, &st) != 0)
            continue;
        if (S_ISDIR(st.st_mode)) {
            corpus_dir(path, depth + 1);
            continue;
        }
        if (!S_ISREG(st.st_mode) || st.st_size > 50 * 1024 * 1024)
            continue;
        msg = slurp(path, &len);
        if (msg == NULL)
            continue;
        render_message(msg, len, NULL, &out, NULL);
        assert_safe(out.ptr ? out.ptr : "", out.len, path);
        n = render_attachments(msg, len, &a);
        render_attachments_free(a, n);
        buf_free(&out);
        free(msg);
        corpus_files++;
    }
    closedir(d);
}

START_TEST(test_corpus)
{
    const char *dir = getenv("TERN_CORPUS");
    struct stat st;

    if (dir == NULL || stat(dir, &st) != 0) {
        fprintf(stderr, "check_render: TERN_CORPUS absent, corpus test skipped\n");
        return;
    }
    corpus_dir(dir, 0);
    fprintf(stderr, "check_render: rendered %d corpus files\n", corpus_files);
    ck_assert_int_gt(corpus_files, 0);
}
END_TEST

static Suite *render_suite(void)
{
    Suite *s = suite_create("render");
    TCase *tc = tcase_create("core");
    TCase *tcc = tcase_create("corpus");

    tcase_add_unchecked_fixture(tc, setup, NULL);
    tcase_add_loop_test(tc, test_expected, 0, sizeof messages / sizeof messages[0]);
    tcase_add_test(tc, test_attachments);
    tcase_add_test(tc, test_options);
    tcase_add_test(tc, test_prefer_html);
    tcase_add_test(tc, test_deep_nesting);
    tcase_add_test(tc, test_many_parts);
    tcase_add_test(tc, test_html);
    tcase_add_test(tc, test_deep_lists);
    tcase_add_test(tc, test_wrap);
    tcase_add_test(tc, test_width);
    tcase_add_test(tc, test_safe_filename);
    suite_add_tcase(s, tc);
    tcase_add_unchecked_fixture(tcc, setup, NULL);
    tcase_add_test(tcc, test_corpus);
    tcase_set_timeout(tcc, 600);
    tcase_set_timeout(tc, 60);
    suite_add_tcase(s, tcc);
    return s;
}

TEST_MAIN(render_suite)

/* MIME tree: structure, boundaries (right, wrong, missing, unclosed), encodings, caps. */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "testutil.h"
#include "tern/buf.h"
#include "tern/mime.h"

static const char mixed[] =
    "Content-Type: multipart/mixed; boundary=\"b1\"\r\n"
    "\r\n"
    "preamble\r\n"
    "--b1\r\n"
    "Content-Type: text/plain; charset=utf-8; format=flowed; delsp=yes\r\n"
    "\r\n"
    "hello\r\n"
    "--b1x\r\n"                    /* looks like the boundary but is longer: body text */
    "--b1  \r\n"                   /* transport padding after the delimiter is allowed */
    "Content-Type: multipart/alternative; boundary=b2\r\n"
    "\r\n"
    "--b2\r\n"
    "Content-Type: text/plain\r\n"
    "Content-Transfer-Encoding: base64\r\n"
    "\r\n"
    "aGk=\r\n"
    "--b2\r\n"
    "Content-Type: text/html\r\n"
    "Content-Transfer-Encoding: Quoted-Printable\r\n"
    "\r\n"
    "<p>h=C3=A9</p>\r\n"
    "--b2--\r\n"
    "--b1\r\n"
    "Content-Type: image/png; name=\"x.png\"\r\n"
    "Content-Disposition: attachment; filename=\"y.png\"\r\n"
    "\r\n"
    "PNG\r\n"
    "--b1--\r\n"
    "epilogue\r\n";

START_TEST(test_tree)
{
    struct mime_tree t;
    struct buf b = BUF_INIT;

    mime_parse(mixed, strlen(mixed), &t);
    ck_assert_uint_eq(t.n, 6);
    ck_assert_int_eq(t.flags, 0);
    ck_assert_str_eq(t.parts[0].type, "multipart/mixed");
    ck_assert_int_eq(t.parts[0].nchildren, 3);
    ck_assert_int_eq(t.parts[0].number, 0);

    ck_assert_str_eq(t.parts[1].type, "text/plain");
    ck_assert_str_eq(t.parts[1].charset, "utf-8");
    ck_assert(t.parts[1].flowed && t.parts[1].delsp);
    ck_assert_uint_eq(t.parts[1].body_len, strlen("hello\r\n--b1x"));
    ck_assert_int_eq(t.parts[1].number, 1);
    ck_assert_int_eq(t.parts[1].parent, 0);

    ck_assert_str_eq(t.parts[2].type, "multipart/alternative");
    ck_assert_int_eq(t.parts[2].nchildren, 2);
    ck_assert_int_eq(t.parts[3].parent, 2);
    ck_assert_int_eq(t.parts[3].depth, 2);
    ck_assert_int_eq(t.parts[3].enc, MIME_BASE64);
    mime_decode(&t.parts[3], &b);
    ck_assert_str_eq(buf_cstr(&b), "hi");
    buf_reset(&b);
    ck_assert_int_eq(t.parts[4].enc, MIME_QP);
    mime_text(&t.parts[4], &b);
    ck_assert_str_eq(buf_cstr(&b), "<p>h\xc3\xa9</p>");
    buf_reset(&b);

    ck_assert_str_eq(t.parts[5].type, "image/png");
    ck_assert_str_eq(t.parts[5].filename, "y.png");
    ck_assert(t.parts[5].attachment);
    ck_assert_int_eq(t.parts[5].number, 4);
    ck_assert_uint_eq(t.parts[5].body_len, 3);
    ck_assert_int_eq(mime_find_number(&t, 4), 5);
    ck_assert_int_eq(mime_find_number(&t, 5), -1);
    buf_free(&b);
    mime_free(&t);
}
END_TEST

START_TEST(test_plain_and_defaults)
{
    struct mime_tree t;
    const char *m = "Subject: x\n\nbody";

    mime_parse(m, strlen(m), &t);
    ck_assert_uint_eq(t.n, 1);
    ck_assert_str_eq(t.parts[0].type, "text/plain");
    ck_assert_ptr_null(t.parts[0].charset);
    ck_assert_uint_eq(t.parts[0].body_len, 4);
    mime_free(&t);
    /* garbage type, empty message, no headers at all */
    mime_parse("Content-Type: garbage\n\nx", 24, &t);
    ck_assert_str_eq(t.parts[0].type, "text/plain");
    mime_free(&t);
    mime_parse("", 0, &t);
    ck_assert_uint_eq(t.n, 1);
    mime_free(&t);
    mime_parse("just text, no header\nmore\n", 26, &t);
    ck_assert_uint_eq(t.parts[0].body_len, 26);
    mime_free(&t);
}
END_TEST

START_TEST(test_wrong_boundary)
{
    struct mime_tree t;
    const char *m = "Content-Type: multipart/mixed; boundary=nope\n\n--real\n\na\n--real\n\nb\n"
                    "--real--\n";

    mime_parse(m, strlen(m), &t);
    ck_assert(t.flags & MIME_F_GUESSED);
    ck_assert_uint_eq(t.n, 3);
    mime_free(&t);
    m = "Content-Type: multipart/mixed\n\nno delimiters at all\n";
    mime_parse(m, strlen(m), &t);
    ck_assert(t.flags & MIME_F_NO_BOUNDARY);
    ck_assert_uint_eq(t.n, 1);
    ck_assert_str_eq(t.parts[0].type, "text/plain");
    mime_free(&t);
    m = "Content-Type: multipart/mixed; boundary=b\n\n--b\n\nunclosed";
    mime_parse(m, strlen(m), &t);
    ck_assert(t.flags & MIME_F_NO_CLOSE);
    ck_assert_uint_eq(t.n, 2);
    ck_assert_uint_eq(t.parts[1].body_len, 8);
    mime_free(&t);
}
END_TEST

START_TEST(test_rfc822_and_digest)
{
    struct mime_tree t;
    const char *m = "Content-Type: multipart/digest; boundary=d\n\n--d\n\nSubject: one\n\n1\n"
                    "--d\nContent-Type: message/rfc822\n\nSubject: two\n\n2\n--d--\n";

    mime_parse(m, strlen(m), &t);
    ck_assert_uint_eq(t.n, 5);
    ck_assert_str_eq(t.parts[1].type, "message/rfc822");
    ck_assert_int_eq(t.parts[1].nchildren, 1);
    ck_assert_str_eq(t.parts[2].type, "text/plain");
    ck_assert_int_eq(t.parts[2].parent, 1);
    ck_assert_uint_eq(t.parts[2].body_len, 1);
    ck_assert_str_eq(t.parts[3].type, "message/rfc822");
    mime_free(&t);
}
END_TEST

START_TEST(test_caps)
{
    struct buf m = BUF_INIT;
    struct mime_tree t;

    for (int i = 0; i < 1000; i++)
        buf_adds(&m, "Content-Type: message/rfc822\n\n");
    mime_parse(m.ptr, m.len, &t);
    ck_assert(t.flags & MIME_F_CAPPED);
    ck_assert_uint_le(t.n, MIME_MAX_DEPTH + 1);
    mime_free(&t);
    buf_reset(&m);
    buf_adds(&m, "Content-Type: multipart/mixed; boundary=x\n\n");
    for (int i = 0; i < 20000; i++)
        buf_adds(&m, "--x\n\n.\n");
    mime_parse(m.ptr, m.len, &t);
    ck_assert(t.flags & MIME_F_CAPPED);
    ck_assert_uint_eq(t.n, MIME_MAX_PARTS);
    mime_free(&t);
    buf_free(&m);
}
END_TEST

START_TEST(test_decoded_size)
{
    struct mime_tree t;
    const char *m = "Content-Transfer-Encoding: base64\n\naGVsbG8g\nd29ybGQ=\n";

    mime_parse(m, strlen(m), &t);
    ck_assert_uint_eq(mime_decoded_size(&t.parts[0]), 11);
    mime_free(&t);
}
END_TEST

static Suite *mime_suite(void)
{
    Suite *s = suite_create("mime");
    TCase *tc = tcase_create("core");

    tcase_add_test(tc, test_tree);
    tcase_add_test(tc, test_plain_and_defaults);
    tcase_add_test(tc, test_wrong_boundary);
    tcase_add_test(tc, test_rfc822_and_digest);
    tcase_add_test(tc, test_caps);
    tcase_add_test(tc, test_decoded_size);
    suite_add_tcase(s, tc);
    return s;
}

TEST_MAIN(mime_suite)

/* RFC 2047 encoded words and RFC 2231 parameters. */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "testutil.h"
#include "tern/buf.h"
#include "tern/encword.h"

static const struct {
    const char *in, *out;
} cases[] = {
    /* RFC 2047 section 8 examples */
    { "(=?ISO-8859-1?Q?a?=)", "(a)" },
    { "(=?ISO-8859-1?Q?a?= b)", "(a b)" },
    { "(=?ISO-8859-1?Q?a?= =?ISO-8859-1?Q?b?=)", "(ab)" },
    { "(=?ISO-8859-1?Q?a?=  =?ISO-8859-1?Q?b?=)", "(ab)" },
    { "(=?ISO-8859-1?Q?a?=\r\n    =?ISO-8859-1?Q?b?=)", "(ab)" },
    { "(=?ISO-8859-1?Q?a_b?=)", "(a b)" },
    { "(=?ISO-8859-1?Q?a?= =?ISO-8859-2?Q?_b?=)", "(a b)" },
    { "=?US-ASCII?Q?Keith_Moore?=", "Keith Moore" },
    /* charsets iconv knows */
    { "=?KOI8-R?B?8NLJ18XU?=", "\xd0\x9f\xd1\x80\xd0\xb8\xd0\xb2\xd0\xb5\xd1\x82" },
    { "=?windows-1251?B?z/Do4uXy?=", "\xd0\x9f\xd1\x80\xd0\xb8\xd0\xb2\xd0\xb5\xd1\x82" },
    { "=?ISO-2022-JP?B?GyRCJEskWyQzGyhC?=", "\xe3\x81\xab\xe3\x81\xbb\xe3\x81\x93" },
    { "=?Shift_JIS?B?k/qWe4zq?=", "\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e" },
    { "=?gb2312?B?1tDOxA==?=", "\xe4\xb8\xad\xe6\x96\x87" },
    { "=?big5?B?pKSk5Q==?=", "\xe4\xb8\xad\xe6\x96\x87" },
    { "=?iso-8859-15?q?=A4?=", "\xe2\x82\xac" },
    /* a UTF-8 character split across two words */
    { "=?UTF-8?B?4oI=?= =?UTF-8?B?rA==?=", "\xe2\x82\xac" },
    { "=?utf-8?q?=E2=82?= =?utf-8?q?=AC?=", "\xe2\x82\xac" },
    /* language suffix (RFC 2231 section 5) */
    { "=?utf-8*en?q?hi?=", "hi" },
    /* breakage shown, not dropped */
    { "=?x-no-such-charset?q?caf=C3=A9?=", "caf\xc3\xa9" },
    { "=?x-no-such-charset?q?caf=E9?=", "caf\xc3\xa9" },
    { "=?utf-8?b?!!!!?=", "=?utf-8?b?!!!!?=" },
    { "=?utf-8?x?abc?=", "=?utf-8?x?abc?=" },
    { "=?utf-8?q?unterminated", "=?utf-8?q?unterminated" },
    { "=??q?nocharset?=", "=??q?nocharset?=" },
    { "=?utf-8?b?w6k?=", "\xc3\xa9" },
    { "=?utf-8?q?a b?=", "a b" },
    { "glued=?utf-8?q?X?=text", "gluedXtext" },
    { "=?utf-8?q?a?= plain =?utf-8?q?b?=", "a plain b" },
    { "=?utf-8?q?=FF?=", "\xc3\xbf" },
    { "raw \xe9t\xe9", "raw \xc3\xa9t\xc3\xa9" },
    { "", "" },
};

START_TEST(test_decode)
{
    struct buf b = BUF_INIT;

    ew_decode(cases[_i].in, strlen(cases[_i].in), &b);
    ck_assert_msg(strcmp(buf_cstr(&b), cases[_i].out) == 0, "%s -> [%s]", cases[_i].in,
                  buf_cstr(&b));
    buf_free(&b);
}
END_TEST

static const struct {
    const char *value, *name, *out;
} params[] = {
    { "text/plain; charset=us-ascii", "charset", "us-ascii" },
    { "text/plain; CHARSET=\"UTF-8\"", "charset", "UTF-8" },
    { "text/plain; format=flowed; charset=x", "format", "flowed" },
    { "attachment; filename=\"a \\\"b\\\".txt\"", "filename", "a \"b\".txt" },
    { "attachment; filename*=utf-8''%E2%82%AC%20rates.txt", "filename",
      "\xe2\x82\xac rates.txt" },
    { "attachment; filename*=iso-8859-1'fr'caf%E9", "filename", "caf\xc3\xa9" },
    { "attachment; filename*0*=utf-8''%E2%82; filename*1*=%AC; filename*2=\".txt\"",
      "filename", "\xe2\x82\xac.txt" },
    { "attachment; filename*1=\"b\"; filename*0=\"a\"", "filename", "ab" },
    { "attachment; filename=\"plain\"; filename*=utf-8''ext", "filename", "ext" },
    { "attachment; filename=\"=?UTF-8?B?w6kudHh0?=\"", "filename", "\xc3\xa9.txt" },
    { "attachment; filename=my file.pdf", "filename", "my file.pdf" },
    { "attachment; filename=\"unterminated", "filename", "unterminated" },
    { "multipart/mixed;\r\n\tboundary=\"--=_x;y\"", "boundary", "--=_x;y" },
    { "text/plain; name=\"a\"", "filename", NULL },
    { "text/plain; charset", "charset", NULL },
    { "text/plain; ;;; charset=x", "charset", "x" },
    { "attachment; filename*99=\"z\"", "filename", NULL },
    /* other parameters are passed over as they are read: quotes only around a value */
    { "text/plain; name=\"a;charset=q\"; charset=x", "charset", "x" },
    { "text/plain; a=b\"c;charset=y\"; charset=x", "charset", "y\"" },
    { "text/plain; a=\"b\\\";c\"; charset=x", "charset", "x" },
};

START_TEST(test_param)
{
    char *s = mime_param(params[_i].value, strlen(params[_i].value), params[_i].name);

    if (params[_i].out == NULL) {
        ck_assert_ptr_null(s);
    } else {
        ck_assert_ptr_nonnull(s);
        ck_assert_str_eq(s, params[_i].out);
    }
    free(s);
}
END_TEST

START_TEST(test_token)
{
    char *s = mime_value_token(" Text/HTML ; charset=x", 22);
    ck_assert_str_eq(s, "text/html");
    free(s);
    s = mime_value_token("", 0);
    ck_assert_str_eq(s, "");
    free(s);
}
END_TEST

static Suite *encword_suite(void)
{
    Suite *s = suite_create("encword");
    TCase *tc = tcase_create("core");

    tcase_add_loop_test(tc, test_decode, 0, sizeof cases / sizeof cases[0]);
    tcase_add_loop_test(tc, test_param, 0, sizeof params / sizeof params[0]);
    tcase_add_test(tc, test_token);
    suite_add_tcase(s, tc);
    return s;
}

TEST_MAIN(encword_suite)

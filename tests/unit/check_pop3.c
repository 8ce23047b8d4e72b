/* POP3 parsers over buffers: status replies and their classes, CAPA, LIST/UIDL lines, and the
 * streaming body decoder (dot-unstuffing, CRLF -> LF) cut at every possible place. */
#include "config.h"

#include "testutil.h"
#include "tern/pop3.h"
#include "tern/sasl.h"

static const struct {
    const char *line;
    int want;
    enum err_class cls;
    const char *msg;
} status_cases[] = {
    { "+OK", 1, ERR_NONE, NULL },
    { "+OK ready <1.2@host>", 1, ERR_NONE, NULL },
    { "+ VXNlcm5hbWU6", 0, ERR_NONE, NULL },
    { "+", 0, ERR_NONE, NULL },
    { "+OKAY", -1, ERR_PROTO, "unexpected reply to CMD: \"+OKAY\"" },
    { "-ERR no such message", -1, ERR_PERM, "CMD refused: \"-ERR no such message\"" },
    { "-ERR [AUTH] Authentication failed.", -1, ERR_AUTH, "[AUTH]" },
    { "-ERR [IN-USE] locked", -1, ERR_TEMP, "locked" },
    { "-ERR [SYS/TEMP] later", -1, ERR_TEMP, "later" },
    { "-ERR [LOGIN-DELAY] wait", -1, ERR_TEMP, "wait" },
    { "-ERR [SYS/PERM] never", -1, ERR_PERM, "never" },
    { "-ERRX", -1, ERR_PROTO, "unexpected reply" },
    { "", -1, ERR_PROTO, "unexpected reply" },
    { "* OK imap", -1, ERR_PROTO, "\"* OK imap\"" },
    { "-ERR bad\033[2Jterminal", -1, ERR_PERM, "bad^[[2Jterminal" },
    /* C1 (raw and as UTF-8) and bidi controls are shown, never passed (issue 14, item 2) */
    { "-ERR a\x9b" "2Jb", -1, ERR_PERM, "a\xef\xbf\xbd" "2Jb" },
    { "-ERR a\xc2\x9b" "2Jb", -1, ERR_PERM, "a<U+009B>2Jb" },
    { "-ERR gpj.\xe2\x80\xae" "exe", -1, ERR_PERM, "gpj.<U+202E>exe" },
    { "-ERR x\xe2\x81\xa6" "y\xe2\x81\xa9", -1, ERR_PERM, "x<U+2066>y<U+2069>" },
};

START_TEST(test_status)
{
    struct err e = { ERR_NONE, "" };
    const char *l = status_cases[_i].line;
    int r = pop3_parse_status("h", "CMD", l, strlen(l), ERR_PERM, &e);

    ck_assert_int_eq(r, status_cases[_i].want);
    if (r < 0) {
        ck_assert_int_eq(e.cls, status_cases[_i].cls);
        ck_assert_msg(strstr(e.msg, status_cases[_i].msg) != NULL, "'%s'", e.msg);
        ck_assert_ptr_null(strchr(e.msg, '\033'));
    }
}
END_TEST

START_TEST(test_capa)
{
    ck_assert_uint_eq(pop3_parse_capa("STLS", 4), POP3_CAP_STLS);
    ck_assert_uint_eq(pop3_parse_capa("stls", 4), POP3_CAP_STLS);
    ck_assert_uint_eq(pop3_parse_capa("STLSX", 5), 0);
    ck_assert_uint_eq(pop3_parse_capa("PIPELINING", 10), POP3_CAP_PIPELINING);
    ck_assert_uint_eq(pop3_parse_capa("SASL PLAIN LOGIN", 16),
                      POP3_CAP_SASL_PLAIN | POP3_CAP_SASL_LOGIN);
    ck_assert_uint_eq(pop3_parse_capa("SASL CRAM-MD5 PLAINX", 20), 0);
    ck_assert_uint_eq(pop3_parse_capa("USER", 4), POP3_CAP_USER);
    ck_assert_uint_eq(pop3_parse_capa("IMPLEMENTATION STLS", 19), 0);
    ck_assert_uint_eq(pop3_parse_capa("SASL XOAUTH2 OAUTHBEARER", 24),
                      POP3_CAP_SASL_XOAUTH2 | POP3_CAP_SASL_OAUTHBEARER);
    ck_assert_uint_eq(pop3_parse_capa("SASL XOAUTH", 11), 0);
}
END_TEST

/* The SASL OAuth2 responses (checked against RFC 7628's and Google's examples' layout). */
START_TEST(test_sasl_oauth)
{
    struct buf b = BUF_INIT;
    char out[300];

    sasl_oauth_response(AUTH_XOAUTH2, "someuser@example.com", "ya29.vF9dft4qmTc2Nvb3RlckBhdHRh",
                        "imap.example.com", 993, &b);
    ck_assert_str_eq(b.ptr, "dXNlcj1zb21ldXNlckBleGFtcGxlLmNvbQFhdXRoPUJlYXJlciB5YTI5LnZGOWRm"
                            "dDRxbVRjMk52YjNSbGNrQmhkSFJoAQE=");
    buf_reset(&b);
    sasl_oauth_response(AUTH_OAUTHBEARER, "user@example.com", "vF9dft4qmTc2Nvb3RlckBhbHRhdmlzdGEuY29tCg==",
                        "server.example.com", 143, &b);
    ck_assert_str_eq(b.ptr, "bixhPXVzZXJAZXhhbXBsZS5jb20sAWhvc3Q9c2VydmVyLmV4YW1wbGUuY29tAXBvcnQ9"
                            "MTQzAWF1dGg9QmVhcmVyIHZGOWRmdDRxbVRjMk52YjNSbGNrQmhiSFJoZG1semRHRXVZMjl0Q2c9PQEB");
    buf_free(&b);
    /* {"status":"401","schemes":"bearer","scope":"https://mail.google.com/"} */
    sasl_oauth_error("eyJzdGF0dXMiOiI0MDEiLCJzY2hlbWVzIjoiYmVhcmVyIiwic2NvcGUiOiJodHRwczovL21haWwuZ29v"
                     "Z2xlLmNvbS8ifQ==", 96, out, sizeof out);
    ck_assert_str_eq(out, "status 401, scope https://mail.google.com/, schemes bearer");
    /* {"status":"invalid_token","x":"\u001b[2J"}: no control character comes through */
    sasl_oauth_error("eyJzdGF0dXMiOiJpbnZhbGlkX3Rva2VuXHUwMDFiWzJKIn0=", 48, out, sizeof out);
    ck_assert_str_eq(out, "status invalid_token?[2J");
    /* padding only at the end, at most two: "====" once made a negative length */
    sasl_oauth_error("====", 4, out, sizeof out);
    ck_assert_str_eq(out, "no readable error detail");
    sasl_oauth_error("e===", 4, out, sizeof out);
    ck_assert_str_eq(out, "no readable error detail");
    sasl_oauth_error("e30=e30=", 8, out, sizeof out);
    ck_assert_str_eq(out, "no readable error detail");
    sasl_oauth_error("not base64!", 11, out, sizeof out);
    ck_assert_str_eq(out, "no readable error detail");
    sasl_oauth_error("bm90IGpzb24=", 12, out, sizeof out);
    ck_assert_str_eq(out, "undecodable error detail");
}
END_TEST

static const struct {
    const char *line;
    int ok;
    unsigned long num;
    const char *uidl;
} uidl_cases[] = {
    { "1 000000017ab", 0, 1, "000000017ab" },
    { "12  abc ", 0, 12, "abc" },
    { "3 ../../etc/passwd", 0, 3, "../../etc/passwd" },   /* legal: never used as a path */
    { "3 ", -1, 0, NULL },
    { "3", -1, 0, NULL },
    { "0 abc", -1, 0, NULL },
    { "x abc", -1, 0, NULL },
    { "99999999999999999999 abc", -1, 0, NULL },
    { "4 a b", -1, 0, NULL },
    { "5 a\001b", -1, 0, NULL },
    { "6 12345678901234567890123456789012345678901234567890123456789012345678901", -1, 0,
      NULL },
    { "6 1234567890123456789012345678901234567890123456789012345678901234567890", 0, 6,
      "1234567890123456789012345678901234567890123456789012345678901234567890" },
};

START_TEST(test_uidl_line)
{
    unsigned long num = 0;
    char uidl[POP3_UIDL_MAX + 1];
    const char *l = uidl_cases[_i].line;

    ck_assert_int_eq(pop3_parse_uidl_line(l, strlen(l), &num, uidl), uidl_cases[_i].ok);
    if (uidl_cases[_i].ok == 0) {
        ck_assert_uint_eq(num, uidl_cases[_i].num);
        ck_assert_str_eq(uidl, uidl_cases[_i].uidl);
    }
}
END_TEST

START_TEST(test_list_line)
{
    unsigned long n;
    unsigned long long sz;

    ck_assert_int_eq(pop3_parse_list_line("1 120", 5, &n, &sz), 0);
    ck_assert_uint_eq(n, 1);
    ck_assert_uint_eq(sz, 120);
    ck_assert_int_eq(pop3_parse_list_line("2 7 extra", 9, &n, &sz), 0);
    ck_assert_int_eq(pop3_parse_list_line("2 7x", 4, &n, &sz), -1);
    ck_assert_int_eq(pop3_parse_list_line("2", 1, &n, &sz), -1);
    ck_assert_int_eq(pop3_parse_list_line("2 -1", 4, &n, &sz), -1);
}
END_TEST

static const struct {
    const char *wire;
    const char *decoded;
    size_t rest;       /* bytes left after the terminator */
} body_cases[] = {
    { "a\r\nb\r\n.\r\n", "a\nb\n", 0 },
    { "..dot\r\n...\r\n.\r\n+OK next", ".dot\n..\n", 8 },
    { ".\r\n", "", 0 },
    { "bare\nlf\n.\n", "bare\nlf\n", 0 },
    { "cr\rinside\r\n.\r\n", "cr\rinside\n", 0 },
    { "x\r\n.not-end\r\n.\r\nZ", "x\nnot-end\n", 1 },
    { "\r\n\r\n.\r\n", "\n\n", 0 },
    { "a\r\r\nb\r\n.\r\n", "a\r\nb\n", 0 },
    { "a.\r\n .\r\n.\r\n", "a.\n .\n", 0 },
};

/* Decode the wire bytes fed in two pieces cut at every position; the result must not depend
 * on where the network split it. */
START_TEST(test_body)
{
    const char *w = body_cases[_i].wire;
    size_t n = strlen(w);

    for (size_t cut = 0; cut <= n; cut++) {
        struct pop3_body b;
        char out[256];
        size_t o1 = 0, o2 = 0, used;

        pop3_body_init(&b);
        used = pop3_body_decode(&b, w, cut, out, &o1);
        if (!b.done) {
            ck_assert_uint_eq(used, cut);
            used += pop3_body_decode(&b, w + cut, n - cut, out + o1, &o2);
        }
        ck_assert_msg(b.done, "cut %zu: not done", cut);
        out[o1 + o2] = '\0';
        ck_assert_str_eq(out, body_cases[_i].decoded);
        ck_assert_uint_eq(n - used, body_cases[_i].rest);
    }
}
END_TEST

START_TEST(test_body_unterminated)
{
    struct pop3_body b;
    char out[64];
    size_t o;

    pop3_body_init(&b);
    ck_assert_uint_eq(pop3_body_decode(&b, "line\r\n.x\r\n", 10, out, &o), 10);
    ck_assert(!b.done);
    ck_assert_uint_eq(o, 7);
}
END_TEST

static Suite *pop3_suite(void)
{
    Suite *s = suite_create("pop3");
    TCase *tc = tcase_create("parse");

    tcase_add_loop_test(tc, test_status, 0, sizeof status_cases / sizeof status_cases[0]);
    tcase_add_test(tc, test_capa);
    tcase_add_test(tc, test_sasl_oauth);
    tcase_add_loop_test(tc, test_uidl_line, 0, sizeof uidl_cases / sizeof uidl_cases[0]);
    tcase_add_test(tc, test_list_line);
    tcase_add_loop_test(tc, test_body, 0, sizeof body_cases / sizeof body_cases[0]);
    tcase_add_test(tc, test_body_unterminated);
    suite_add_tcase(s, tc);
    return s;
}

TEST_MAIN(pop3_suite)

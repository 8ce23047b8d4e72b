/* Header block iteration, decoding, dates, addresses and message ids. */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "testutil.h"
#include "tern/header.h"

static const char block[] =
    "Return-Path: <a@b>\r\n"
    "Subject: hello\r\n"
    "  world\r\n"
    "X-Empty:\r\n"
    "not a header line\r\n"
    "Subject : second\r\n"
    "From: \"Doe, John\" <john@example.org>\r\n"
    "\r\n"
    "Body: not a header\r\n";

START_TEST(test_block_len)
{
    ck_assert_uint_eq(hdr_block_len(block, strlen(block)),
                      (size_t)(strstr(block, "\r\n\r\n") + 4 - block));
    ck_assert_uint_eq(hdr_block_len("A: b\nC: d\n\nbody", 15), 11);
    ck_assert_uint_eq(hdr_block_len("A: b", 4), 4);
    ck_assert_uint_eq(hdr_block_len("\nbody", 5), 1);
    ck_assert_uint_eq(hdr_block_len("", 0), 0);
    /* a line of white space ends the block too (spam, broken mailers) */
    ck_assert_uint_eq(hdr_block_len("A: b\n \t\r\nbody", 13), 9);
    ck_assert_uint_eq(hdr_block_len("A: b\n  c\n\nbody", 15), 10);
}
END_TEST

/* hdr_block_len the plain way: a blank line is one of only spaces, tabs and CRs. */
static size_t block_len_plain(const char *m, size_t n)
{
    for (size_t at = 0; at < n;) {
        size_t q = at;

        while (q < n && (m[q] == ' ' || m[q] == '\t' || m[q] == '\r'))
            q++;
        if (q < n && m[q] == '\n')
            return q + 1;
        while (at < n && m[at] != '\n')
            at++;
        at++;
    }
    return n;
}

/* Random header blocks (fields, continuations, blank-looking lines, garbage, CRLF): the
 * block's end and the first Content- fields agree with hdr_block_len and hdr_find. */
START_TEST(test_block_find_random)
{
    static const char *const lines[] = {
        "Content-Type: text/plain\n", "content-transfer-encoding: base64\n",
        "CONTENT-DISPOSITION: attachment\n", "Content-Type : x\n", "Cc: bob\n",
        "C\n", "Content-Typo: no\n", "Received: from a\n", " by b\n", "\tfor c\n",
        "  \t \n", " \r\n", "\r\n", "\n", "garbage line\n", "X-Long: aaaaaaaaaaaaaaaaaaaaaaaa\n",
        "Subject: hi\r\n", "ccc:\n", "content-type:\n",
    };
    static const char *const names[3] = {
        "content-type", "content-transfer-encoding", "content-disposition",
    };
    unsigned seed = 99;

    for (int round = 0; round < 20000; round++) {
        char m[2048];
        size_t n = 0, nl = (seed = seed * 1103515245u + 12345u) % 40;
        struct hdr_field found[3], f;
        size_t hl;

        for (size_t k = 0; k < nl; k++) {
            const char *l = lines[((seed = seed * 1103515245u + 12345u) >> 8) %
                                  (sizeof lines / sizeof lines[0])];

            memcpy(m + n, l, strlen(l));
            n += strlen(l);
        }
        if ((seed >> 20) % 3 == 0 && n > 0)
            n--;                                        /* no final line break */
        hl = hdr_block_find(m, n, names, 3, found);
        ck_assert_uint_eq(hl, block_len_plain(m, n));
        ck_assert_uint_eq(hdr_block_len(m, n), hl);
        for (int k = 0; k < 3; k++) {
            int has = hdr_find(m, hl, names[k], &f);

            ck_assert_int_eq(has, found[k].name != NULL);
            if (has) {
                ck_assert_ptr_eq(found[k].name, f.name);
                ck_assert_uint_eq(found[k].value_len, f.value_len);
            }
        }
    }
}
END_TEST

START_TEST(test_iterate)
{
    size_t pos = 0;
    struct hdr_field f;
    const char *names[] = { "Return-Path", "Subject", "X-Empty", "Subject", "From" };
    const char *values[] = { "<a@b>", "hello\r\n  world", "", "second",
                             "\"Doe, John\" <john@example.org>" };
    size_t i = 0;

    while (hdr_next(block, strlen(block), &pos, &f)) {
        ck_assert_uint_lt(i, 5);
        ck_assert_uint_eq(f.name_len, strlen(names[i]));
        ck_assert(memcmp(f.name, names[i], f.name_len) == 0);
        ck_assert_uint_eq(f.value_len, strlen(values[i]));
        ck_assert(memcmp(f.value, values[i], f.value_len) == 0);
        i++;
    }
    ck_assert_uint_eq(i, 5);
}
END_TEST

START_TEST(test_find)
{
    struct hdr_field f;
    char *s;

    ck_assert_int_eq(hdr_find(block, strlen(block), "subject", &f), 1);
    s = hdr_decode(f.value, f.value_len);
    ck_assert_str_eq(s, "hello  world");
    free(s);
    ck_assert_int_eq(hdr_find(block, strlen(block), "Body", &f), 0);
    ck_assert_int_eq(hdr_find(block, strlen(block), "Subj", &f), 0);
    ck_assert_int_eq(hdr_find("", 0, "Subject", &f), 0);
    /* A leading continuation line and no final newline. */
    ck_assert_int_eq(hdr_find(" junk\nTo: x", 11, "to", &f), 1);
    ck_assert_uint_eq(f.value_len, 1);
    /* a white-space line ends the block: the body is not a continuation */
    ck_assert_int_eq(hdr_find("To: x\n \nBody: y", 16, "body", &f), 0);
    ck_assert_int_eq(hdr_find("To: x\n \nBody: y", 16, "to", &f), 1);
    ck_assert_uint_eq(f.value_len, 1);
}
END_TEST

static const struct {
    const char *in, *out;
} decode_cases[] = {
    { "plain", "plain" },
    { "  padded  ", "padded" },
    { "=?UTF-8?B?w6l0w6k=?=", "\xc3\xa9t\xc3\xa9" },
    { "=?iso-8859-1?q?caf=E9?= au lait", "caf\xc3\xa9 au lait" },
    { "a\r\n b", "a b" },
    { "tab\there", "tab here" },
    { "esc\x1b[31mred", "esc^[[31mred" },
    { "bell\x07", "bell^G" },
    { "latin1 caf\xe9", "latin1 caf\xc3\xa9" },
    { "=?utf-8?q?=1B=5B2J?=", "^[[2J" },
    { "=?utf-8?q?=C2=9B31m?=", "<U+009B>31m" },
};

START_TEST(test_decode)
{
    char *s = hdr_decode(decode_cases[_i].in, strlen(decode_cases[_i].in));
    ck_assert_str_eq(s, decode_cases[_i].out);
    free(s);
}
END_TEST

static const struct {
    const char *in;
    long long t;   /* -1: unparsable */
} date_cases[] = {
    { "Tue, 1 Jul 2003 10:52:37 +0200", 1057049557 },
    { "1 Jul 2003 10:52:37 +0200", 1057049557 },
    { "Tue, 01 Jul 2003 08:52:37 GMT", 1057049557 },
    { "Tue, 1 Jul 03 10:52:37 +0200", 1057049557 },
    { "Tue, 1 Jul 2003 10:52 +0200", 1057049520 },
    { "Tue, 1 Jul 2003 04:52:37 EDT", 1057049557 },
    { "Tue, 1 Jul 2003 08:52:37", 1057049557 },
    { "Tue, 1 Jul 2003 10:52:37 +0200 (CEST)", 1057049557 },
    { "Tue Jul  1 08:52:37 2003", 1057049557 },
    { "2003-07-01T10:52:37+02:00", 1057049557 },
    { "2003-07-01 08:52:37", 1057049557 },
    { "Tue, 1 Jul 103 08:52:37 +0000", 1057049557 },
    { "Thu, 1 Jan 1970 00:00:00 -0000", 0 },
    { "Wed, 31 Dec 1969 23:00:00 -0100", 0 },
    { "Mon, 29 Feb 2016 12:00:00 Z", 1456747200 },
    { "1 Jan 99 00:00 +0000", 915148800 },
    { "Tue,1 Jul 2003 08:52:37 +0000", 1057049557 },
    { "", -1 },
    { "yesterday", -1 },
    { "Tue, 32 Jul 2003", -1 },
    { "Tue, 1 Jul 2003 25:00:00 +0000", -1 },
};

START_TEST(test_date)
{
    time_t t = 12345;
    int rc = hdr_parse_date(date_cases[_i].in, strlen(date_cases[_i].in), &t);

    if (date_cases[_i].t == -1) {
        ck_assert_int_eq(rc, -1);
    } else {
        ck_assert_msg(rc == 0, "unparsed: %s", date_cases[_i].in);
        ck_assert_msg((long long)t == date_cases[_i].t, "%s: got %lld", date_cases[_i].in,
                      (long long)t);
    }
}
END_TEST

static const struct {
    const char *in;
    size_t n;
    const char *name0, *mbox0, *name1, *mbox1;
} addr_cases[] = {
    { "john@example.org", 1, NULL, "john@example.org", NULL, NULL },
    { "John Doe <john@example.org>", 1, "John Doe", "john@example.org", NULL, NULL },
    /* obs-phrase: the '.' of an initial and the space after it stay as written */
    { "Jane Q. Public <jane@example.org>, Dr.Who <who@tardis.example>", 2, "Jane Q. Public",
      "jane@example.org", "Dr.Who", "who@tardis.example" },
    { "\"Doe, John\" <john@example.org>, jane@example.org (Jane R.)", 2, "Doe, John",
      "john@example.org", "Jane R.", "jane@example.org" },
    { "undisclosed-recipients:;", 0, NULL, NULL, NULL, NULL },
    { "friends: a@x.org, B <b@y.org>;, c@z.org", 3, NULL, "a@x.org", "B", "b@y.org" },
    { "=?UTF-8?Q?Ren=C3=A9?= <rene@example.fr>", 1, "Ren\xc3\xa9", "rene@example.fr", NULL,
      NULL },
    { "\"=?utf-8?b?w6k=?=\" <e@x>", 1, "\xc3\xa9", "e@x", NULL, NULL },
    { "<@route1,@route2:user@host>", 1, NULL, "user@host", NULL, NULL },
    { "Broken <no-close@x, Next <n@y>", 2, "Broken", "no-close@x", "Next", "n@y" },
    { "\"quoted\\\"q\" <q@q>", 1, "quoted\"q", "q@q", NULL, NULL },
    { "john . doe @ example . org", 1, NULL, "john.doe@example.org", NULL, NULL },
    { ",,, ,", 0, NULL, NULL, NULL, NULL },
    { "Evil\x1b[2J <e@x>", 1, "Evil^[[2J", "e@x", NULL, NULL },
    { "<a@b> (Comment Name)", 1, "Comment Name", "a@b", NULL, NULL },
    { "Nested (a (b) c) <n@n>", 1, "Nested", "n@n", NULL, NULL },
    { "M\xfcller <m@x>", 1, "M\xc3\xbcller", "m@x", NULL, NULL },
    /* a quoted local part is another mailbox than the unquoted one: kept exactly */
    { "\"a b\"@example.org", 1, NULL, "\"a b\"@example.org", NULL, NULL },
    { "A <\"a b\"@example.org>, \"x\\\"y z\"@q.example", 2, "A", "\"a b\"@example.org",
      NULL, "\"x\\\"y z\"@q.example" },
    /* found by fuzz_header: a backslash ending an unterminated quoted string hung */
    { "\"abc\\", 1, NULL, "\"abc\\\\\"", NULL, NULL },
};

START_TEST(test_addr)
{
    struct addr *a;
    size_t n;

    ck_assert_int_eq(addr_parse_list(addr_cases[_i].in, strlen(addr_cases[_i].in), &a, &n), 0);
    ck_assert_msg(n == addr_cases[_i].n, "%s: %zu addresses", addr_cases[_i].in, n);
    if (n >= 1) {
        if (addr_cases[_i].name0)
            ck_assert_str_eq(a[0].name ? a[0].name : "(null)", addr_cases[_i].name0);
        else
            ck_assert_ptr_null(a[0].name);
        ck_assert_str_eq(a[0].mailbox, addr_cases[_i].mbox0);
    }
    if (n >= 2 && addr_cases[_i].mbox1) {
        if (addr_cases[_i].name1)
            ck_assert_str_eq(a[1].name ? a[1].name : "(null)", addr_cases[_i].name1);
        else
            ck_assert_ptr_null(a[1].name);
        ck_assert_str_eq(a[1].mailbox, addr_cases[_i].mbox1);
    }
    addr_list_free(a, n);
}
END_TEST

/* Encoded words whose text holds address syntax, in every place an address list has a
 * phrase: decoding them must never add a recipient (issue 14, item 1). */
static const char *const smuggled[] = {
    "=?utf-8?b?Qm9iIDxldmlsQGF0dGFja2VyLmV4YW1wbGU+LA==?= <bob@bank.example>",
    "=?utf-8?q?Bob_=3Cevil=40attacker=2Eexample=3E=2C?= <bob@bank.example>",
    "bob@bank.example (=?utf-8?q?evil=40attacker=2Eexample=2C_x?=)",
    "\"=?utf-8?q?=2C_evil=40attacker=2Eexample_=3C?=\" <bob@bank.example>",
    "grp: =?us-ascii?q?a=3B_evil=40attacker=2Eexample=2C?= <bob@bank.example>;",
    "=?iso-8859-1?b?ZXZpbEBhdHRhY2tlci5leGFtcGxl?=, <bob@bank.example>",
};

START_TEST(test_addr_smuggling)
{
    char *d = addr_list_decode(smuggled[_i], strlen(smuggled[_i]));
    struct addr *a;
    size_t n, real = 0;

    addr_parse_list(d, strlen(d), &a, &n);
    for (size_t i = 0; i < n; i++) {
        ck_assert_msg(strstr(a[i].mailbox, "attacker") == NULL, "%s -> %s: smuggled %s",
                      smuggled[_i], d, a[i].mailbox);
        real += strcmp(a[i].mailbox, "bob@bank.example") == 0;
    }
    ck_assert_msg(real == 1, "%s -> %s: the real address is lost", smuggled[_i], d);
    addr_list_free(a, n);
    free(d);
}
END_TEST

/* A header line longer than HDR_VALUE_MAX is cut there for every reader; the fields after
 * it are still found (issue 14, item 10). */
START_TEST(test_long_field_capped)
{
    struct buf m = BUF_INIT;
    struct hdr_field f;
    char *v;

    buf_adds(&m, "Subject: ");
    for (size_t i = 0; i < 3 * HDR_VALUE_MAX; i++)
        buf_addc(&m, (char)('a' + i % 26));
    buf_adds(&m, "\nTo: x@y.example\n\nbody\n");
    ck_assert_int_eq(hdr_find(m.ptr, m.len, "Subject", &f), 1);
    ck_assert_uint_eq(f.value_len, HDR_VALUE_MAX);
    v = hdr_get(m.ptr, m.len, "Subject");
    ck_assert_uint_eq(strlen(v), HDR_VALUE_MAX);
    free(v);
    v = hdr_get(m.ptr, m.len, "To");
    ck_assert_str_eq(v, "x@y.example");
    free(v);
    buf_free(&m);
}
END_TEST

START_TEST(test_addr_display)
{
    char *s;

    s = addr_display("John <j@x>", 10);
    ck_assert_str_eq(s, "John");
    free(s);
    s = addr_display("j@x", 3);
    ck_assert_str_eq(s, "j@x");
    free(s);
    s = addr_display("undisclosed-recipients:;", 24);
    ck_assert_str_eq(s, "undisclosed-recipients:;");
    free(s);
    s = addr_display("", 0);
    ck_assert_str_eq(s, "");
    free(s);
}
END_TEST

START_TEST(test_msgids)
{
    char **ids;
    size_t n;
    char *s;

    s = hdr_msgid(" <abc@host> ", 12);
    ck_assert_str_eq(s, "abc@host");
    free(s);
    s = hdr_msgid("bare@host", 9);
    ck_assert_str_eq(s, "bare@host");
    free(s);
    ck_assert_ptr_null(hdr_msgid("nothing here", 12));
    n = hdr_msgids("<a@x>\r\n <b@y> (comment <c@z>) <d@w", 34, &ids);
    ck_assert_uint_eq(n, 3);
    ck_assert_str_eq(ids[0], "a@x");
    ck_assert_str_eq(ids[1], "b@y");
    ck_assert_str_eq(ids[2], "d@w");
    hdr_msgids_free(ids, n);
    /* A quoted ")" does not end a comment (RFC 5322 3.2.2): <c@z> is still inside it. */
    n = hdr_msgids("<a@x> (see \\) <c@z>) <d@w>", 26, &ids);
    ck_assert_uint_eq(n, 2);
    ck_assert_str_eq(ids[0], "a@x");
    ck_assert_str_eq(ids[1], "d@w");
    hdr_msgids_free(ids, n);
    /* ... and likewise in a comment inside angle brackets. */
    s = addr_first_mailbox("<a(x\\)y)@b.c>", 13);
    ck_assert_str_eq(s, "a@b.c");
    free(s);
    /* In-Reply-To with a phrase, as old mailers wrote it. */
    n = hdr_msgids("Your message of Mon <m1@h> \"q\"", 30, &ids);
    ck_assert_uint_eq(n, 1);
    ck_assert_str_eq(ids[0], "m1@h");
    hdr_msgids_free(ids, n);
}
END_TEST

/* Every prefix of a message must iterate without reading past it (ASan checks). */
START_TEST(test_truncations)
{
    size_t len = strlen(block);

    for (size_t k = 0; k <= len; k++) {
        char *copy = malloc(k ? k : 1);
        size_t pos = 0;
        struct hdr_field f;

        memcpy(copy, block, k);
        while (hdr_next(copy, k, &pos, &f)) {
            char *d = hdr_decode(f.value, f.value_len);
            free(d);
        }
        ck_assert_uint_le(hdr_block_len(copy, k), k);
        free(copy);
    }
}
END_TEST

START_TEST(format_and_first_mailbox)
{
    struct buf b = BUF_INIT;
    char *m;

    addr_format(&b, "Ann Example", "ann@example.org");
    buf_adds(&b, ", ");
    addr_format(&b, "Smith, J. \"Jo\"", "js@example.org");
    buf_adds(&b, ", ");
    addr_format(&b, NULL, "bare@example.org");
    ck_assert_str_eq(b.ptr, "Ann Example <ann@example.org>, \"Smith, J. \\\"Jo\\\"\" "
                            "<js@example.org>, bare@example.org");
    m = addr_first_mailbox(b.ptr, b.len);
    ck_assert_str_eq(m, "ann@example.org");
    free(m);
    m = addr_first_mailbox("undisclosed-recipients:;, root, x@y", 35);
    ck_assert_str_eq(m, "x@y");
    free(m);
    ck_assert_ptr_null(addr_first_mailbox("nobody", 6));
    buf_free(&b);
}
END_TEST

static Suite *header_suite(void)
{
    Suite *s = suite_create("header");
    TCase *tc = tcase_create("core");

    tcase_add_test(tc, test_block_len);
    tcase_add_test(tc, test_block_find_random);
    tcase_add_test(tc, test_iterate);
    tcase_add_test(tc, test_find);
    tcase_add_loop_test(tc, test_decode, 0, sizeof decode_cases / sizeof decode_cases[0]);
    tcase_add_loop_test(tc, test_date, 0, sizeof date_cases / sizeof date_cases[0]);
    tcase_add_loop_test(tc, test_addr, 0, sizeof addr_cases / sizeof addr_cases[0]);
    tcase_add_loop_test(tc, test_addr_smuggling, 0, sizeof smuggled / sizeof smuggled[0]);
    tcase_add_test(tc, test_long_field_capped);
    tcase_add_test(tc, test_addr_display);
    tcase_add_test(tc, test_msgids);
    tcase_add_test(tc, test_truncations);
    tcase_add_test(tc, format_and_first_mailbox);
    suite_add_tcase(s, tc);
    return s;
}

TEST_MAIN(header_suite)

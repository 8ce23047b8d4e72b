/* Unit tests for bouncing: the Resent-* block, the original kept byte for byte, what is
 * dropped, and refusals. */
#include "config.h"

#include "testutil.h"
#include "tern/buf.h"
#include "tern/header.h"
#include "tern/resend.h"
#include "tern/str.h"

static const char ORIG[] =
    "Return-Path: <list-bounces@example.org>\n"
    "Received: from mx by here;\n"
    "\tThu, 1 Jan 2026 00:00:00 +0000\n"
    "From: =?utf-8?q?Ren=C3=A9e?= <renee@example.org>\n"
    "Bcc: secret@example.org,\n"
    " other-secret@example.org\n"
    "Subject: minutes\n"
    "Status: RO\n"
    "Message-ID: <m1@example.org>\n"
    "\n"
    "Status: this is the body, not a field\n"
    "Return-Path: neither is this\n";

START_TEST(resent_block_then_the_original)
{
    struct buf out = BUF_INIT;
    struct err e;

    ck_assert_int_eq(resend_build(ORIG, sizeof ORIG - 1, "Ann Ö <ann@example.net>",
                                  "bob@example.com, Cé <ce@example.com>", 0, "example.net",
                                  &out, &e), 0);
    buf_addc(&out, '\0');
    const char *s = out.ptr;
    /* the Resent block comes first, in order */
    ck_assert(str_startswith(s, "Resent-Date: "));
    const char *rf = strstr(s, "\nResent-From: =?UTF-8?"), *rt = strstr(s, "\nResent-To: bob@example.com,");
    const char *rid = strstr(s, "\nResent-Message-ID: <");
    ck_assert_ptr_nonnull(rf);
    ck_assert_ptr_nonnull(rt);
    ck_assert_ptr_nonnull(rid);
    ck_assert(rf < rt && rt < rid);
    ck_assert_ptr_nonnull(strstr(rid, "@example.net>\nReceived: from mx by here;\n\tThu,"));
    /* dropped: delivery and mbox fields, Bcc with its continuation; the body untouched */
    ck_assert_ptr_nonnull(strstr(s, "Subject: minutes\nMessage-ID: <m1@example.org>\n\n"
                                    "Status: this is the body, not a field\n"
                                    "Return-Path: neither is this\n"));
    ck_assert_ptr_null(strstr(s, "secret"));
    ck_assert_ptr_null(strstr(s, "Status: RO"));
    ck_assert_ptr_null(strstr(s, "list-bounces"));
    ck_assert_ptr_nonnull(strstr(s, "From: =?utf-8?q?Ren=C3=A9e?= <renee@example.org>\n"));
    /* what the header parser makes of it */
    char *to = hdr_get(out.ptr, out.len, "Resent-To");
    ck_assert_str_eq(to, "bob@example.com, Cé <ce@example.com>");
    free(to);
    buf_free(&out);
}
END_TEST

START_TEST(refusals_leave_out_unchanged)
{
    struct buf out = BUF_INIT;
    struct err e;

    buf_adds(&out, "kept");
    ck_assert_int_eq(resend_build(ORIG, sizeof ORIG - 1, "ann@example.net", "not an address",
                                  0, NULL, &out, &e), -1);
    ck_assert_int_eq(e.cls, ERR_PARSE);
    ck_assert_uint_eq(out.len, 4);
    ck_assert_int_eq(resend_build(ORIG, sizeof ORIG - 1, "", "bob@example.com", 0, NULL, &out,
                                  &e), -1);
    ck_assert_uint_eq(out.len, 4);
    ck_assert_int_eq(resend_build("", 0, "a@b.example", "c@d.example", 0, NULL, &out, &e), -1);
    ck_assert_uint_eq(out.len, 4);
    buf_free(&out);
}
END_TEST

/* CRLF messages keep their line ends; dropping works the same. */
START_TEST(crlf_original)
{
    static const char M[] = "Return-Path: <x@y>\r\nSubject: s\r\n\r\nbody\r\n";
    struct buf out = BUF_INIT;
    struct err e;

    ck_assert_int_eq(resend_build(M, sizeof M - 1, "a@b.example", "c@d.example", 0, NULL, &out,
                                  &e), 0);
    buf_addc(&out, '\0');
    ck_assert_ptr_nonnull(strstr(out.ptr, ">\nSubject: s\r\n\r\nbody\r\n"));
    ck_assert_ptr_null(strstr(out.ptr, "Return-Path"));
    buf_free(&out);
}
END_TEST

static Suite *resend_suite(void)
{
    Suite *s = suite_create("resend");
    TCase *t = tcase_create("core");

    tcase_add_test(t, resent_block_then_the_original);
    tcase_add_test(t, refusals_leave_out_unchanged);
    tcase_add_test(t, crlf_original);
    suite_add_tcase(s, t);
    return s;
}

TEST_MAIN(resend_suite)

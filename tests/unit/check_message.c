/* Unit tests for src/model/message.c: the open message (one read, kept in memory), render,
 * parts, links, and address learning that touches the file only when flushed. */
#include "config.h"

#include <sys/stat.h>

#include "testutil.h"
#include "tern/addrbook.h"
#include "tern/message.h"
#include "tern/xalloc.h"

static const char mixed[] =
    "From: Ann Example <ann@example.org>\n"
    "Reply-To: Lists <lists@example.org>\n"
    "To: bob@example.org\n"
    "Subject: Report\n"
    "Date: Mon, 01 Jan 2024 10:00:00 +0000\n"
    "MIME-Version: 1.0\n"
    "Content-Type: multipart/mixed; boundary=XX\n"
    "\n"
    "--XX\n"
    "Content-Type: text/plain\n"
    "\n"
    "See https://example.org/a, and https://example.org/a again; mailto:x@example.org.\n"
    "--XX\n"
    "Content-Type: application/pdf; name=report.pdf\n"
    "Content-Transfer-Encoding: base64\n"
    "\n"
    "JVBERi0=\n"
    "--XX--\n";

START_TEST(open_render_parts_from_memory)
{
    char *d = test_tmpdir();
    char path[4096];
    struct message *msg;
    struct render_attachment *at;
    struct buf out = BUF_INIT;
    char *name, *type;
    size_t n, len;
    struct err e;

    snprintf(path, sizeof path, "%s/m", d);
    test_write(path, mixed);
    ck_assert_int_eq(message_open(path, 7, &msg, &e), 0);
    ck_assert_uint_eq(message_id(msg), 7);
    ck_assert_str_eq(message_path(msg), path);
    /* Everything below works from memory: the file is gone. */
    ck_assert_int_eq(unlink(path), 0);
    ck_assert_str_eq(message_raw(msg, &len), mixed);
    ck_assert_uint_eq(len, sizeof mixed - 1);
    ck_assert_int_eq(message_render(msg, NULL, &out, &e), 0);
    ck_assert_ptr_nonnull(strstr(buf_cstr(&out), "Subject: Report"));
    ck_assert_ptr_nonnull(strstr(buf_cstr(&out), "report.pdf"));
    ck_assert_ptr_null(strstr(buf_cstr(&out), "MIME-Version"));
    buf_reset(&out);
    {
        struct render_opts o = { .all_headers = true };

        ck_assert_int_eq(message_render(msg, &o, &out, &e), 0);
    }
    ck_assert_ptr_nonnull(strstr(buf_cstr(&out), "MIME-Version"));
    n = message_attachments(msg, &at);
    ck_assert_uint_eq(n, 2);
    ck_assert_str_eq(at[1].type, "application/pdf");
    render_attachments_free(at, n);
    buf_reset(&out);
    ck_assert_int_eq(message_part(msg, 2, &out, &name, &type, &e), 0);
    ck_assert_uint_eq(out.len, 5);
    ck_assert_mem_eq(out.ptr, "%PDF-", 5);
    ck_assert_str_eq(name, "report.pdf");
    ck_assert_str_eq(type, "application/pdf");
    free(name);
    free(type);
    ck_assert_int_eq(message_part(msg, 9, &out, NULL, NULL, &e), -1);
    message_set_path(msg, "/elsewhere");
    ck_assert_str_eq(message_path(msg), "/elsewhere");
    message_close(msg);
    ck_assert_int_eq(message_open(path, 1, &msg, &e), -1);
    ck_assert_ptr_null(msg);
    buf_free(&out);
    test_tmpdir_free(d);
}
END_TEST

START_TEST(urls_in_order_once)
{
    static const char text[] =
        "See https://example.org/a, and https://example.org/a again; mailto:x@example.org.\n"
        "<http://b.example/x?y=1> (HTTPS://C.example/z)\n";
    char **u;
    size_t n = message_urls(text, sizeof text - 1, &u);

    ck_assert_uint_eq(n, 4);
    ck_assert_str_eq(u[0], "https://example.org/a");
    ck_assert_str_eq(u[1], "mailto:x@example.org");
    ck_assert_str_eq(u[2], "http://b.example/x?y=1");
    ck_assert_str_eq(u[3], "HTTPS://C.example/z");
    message_urls_free(u, n);
    ck_assert_uint_eq(message_urls("no links", 8, &u), 0);
    message_urls_free(u, 0);
}
END_TEST

/* The address book learns senders from the raw From and Reply-To, names decoded afterwards:
 * an encoded word whose text is an address is never learned as one (issue 14, item 1). */
START_TEST(learn_never_takes_addresses_from_encoded_words)
{
    char *d = test_tmpdir();
    char path[4096], book[4096];
    struct message *msg;
    struct learn *l;
    struct addrbook *ab;
    struct err e;

    snprintf(path, sizeof path, "%s/m", d);
    snprintf(book, sizeof book, "%s/addresses", d);
    test_write(path, "From: =?utf-8?q?Bob_=3Cevil=40attacker=2Eexample=3E=2C?= <bob@bank.example>\n"
                     "Reply-To: =?utf-8?b?ZXZpbEBhdHRhY2tlci5leGFtcGxlLA==?= <help@bank.example>\n"
                     "Subject: s\n\nbody\n");
    l = learn_new(book);
    ck_assert_int_eq(message_open(path, 1, &msg, &e), 0);
    learn_senders(l, msg);
    message_close(msg);
    ck_assert_int_eq(learn_flush(l, &e), 0);
    ck_assert_int_eq(addrbook_open(book, &ab, &e), 0);
    ck_assert_uint_eq(addrbook_count(ab), 2);
    for (size_t i = 0; i < addrbook_count(ab); i++)
        ck_assert_msg(strstr(addrbook_get(ab, i)->mailbox, "attacker") == NULL, "%s",
                      addrbook_get(ab, i)->mailbox);
    addrbook_free(ab);
    learn_free(l);
    test_tmpdir_free(d);
}
END_TEST

START_TEST(learn_writes_only_on_flush)
{
    char *d = test_tmpdir();
    char path[4096], book[4096];
    struct message *msg;
    struct learn *l;
    struct addrbook *ab;
    struct stat st;
    struct err e;

    snprintf(path, sizeof path, "%s/m", d);
    snprintf(book, sizeof book, "%s/addresses", d);
    test_write(path, mixed);
    l = learn_new(book);
    ck_assert_int_eq(learn_flush(l, &e), 0);            /* nothing pending: no file */
    ck_assert_int_ne(stat(book, &st), 0);
    ck_assert_int_eq(message_open(path, 1, &msg, &e), 0);
    learn_senders(l, msg);
    learn_senders(l, msg);
    message_close(msg);
    ck_assert_uint_eq(learn_pending(l), 4);
    ck_assert_int_ne(stat(book, &st), 0);               /* nothing written on open */

    /* Another writer (tern send) adds an address meanwhile: the flush merges, keeps it. */
    ck_assert_int_eq(addrbook_open(book, &ab, &e), 0);
    addrbook_note(ab, "Carl <carl@example.net>", 1000);
    ck_assert_int_eq(addrbook_save(ab, &e), 0);
    addrbook_free(ab);

    ck_assert_int_eq(learn_flush(l, &e), 0);
    ck_assert_uint_eq(learn_pending(l), 0);
    ck_assert_int_eq(addrbook_open(book, &ab, &e), 0);
    ck_assert_uint_eq(addrbook_count(ab), 3);
    for (size_t i = 0; i < addrbook_count(ab); i++) {
        const struct addrbook_entry *en = addrbook_get(ab, i);

        if (strcmp(en->mailbox, "ann@example.org") == 0) {
            ck_assert_uint_eq(en->count, 2);
            ck_assert_int_eq(en->last, 1704103200);     /* seen at the message's Date */
        }
    }
    addrbook_free(ab);
    learn_free(l);
    test_tmpdir_free(d);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("message");
    TCase *t = tcase_create("core");

    tcase_add_test(t, open_render_parts_from_memory);
    tcase_add_test(t, urls_in_order_once);
    tcase_add_test(t, learn_writes_only_on_flush);
    tcase_add_test(t, learn_never_takes_addresses_from_encoded_words);
    suite_add_tcase(s, t);
    return s;
}

TEST_MAIN(suite)

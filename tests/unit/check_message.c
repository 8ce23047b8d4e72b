/* Unit tests for src/model/message.c: the open message (one read, kept in memory), render,
 * parts, links, and address learning that touches the file only when flushed. */
#include "config.h"

#include <sys/stat.h>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "testutil.h"
#include "tern/addrbook.h"
#include "tern/codec.h"
#include "tern/crypt.h"
#include "tern/message.h"
#include "tern/smime.h"
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

/* A self-signed certificate and its key, as PEM files cert and key. */
static void make_cert(const char *cert, const char *key)
{
    EVP_PKEY *k = EVP_RSA_gen(2048);
    X509 *x = X509_new();
    X509_NAME *n;
    FILE *f;

    ck_assert_ptr_nonnull(k);
    X509_set_version(x, 2);
    ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
    X509_gmtime_adj(X509_getm_notBefore(x), -60);
    X509_gmtime_adj(X509_getm_notAfter(x), 86400);
    X509_set_pubkey(x, k);
    n = X509_get_subject_name(x);
    X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_ASC, (const unsigned char *)"Ann", -1, -1, 0);
    X509_set_issuer_name(x, n);
    ck_assert_int_gt(X509_sign(x, k, EVP_sha256()), 0);
    ck_assert_ptr_nonnull(f = fopen(cert, "w"));
    PEM_write_X509(f, x);
    fclose(f);
    ck_assert_ptr_nonnull(f = fopen(key, "w"));
    PEM_write_PrivateKey(f, k, NULL, NULL, 0, NULL, NULL);
    fclose(f);
    X509_free(x);
    EVP_PKEY_free(k);
}

/* An S/MIME enveloped-data message (for the certificate in o) whose content holds a text
 * and 300 binary bytes as data.bin, written to path. */
static void write_enveloped(const char *path, const struct crypt_opts *o, const char *bytes,
                            size_t nbytes)
{
    struct buf inner = BUF_INIT, der = BUF_INIT, msg = BUF_INIT;
    struct err e;

    buf_adds(&inner, "Content-Type: multipart/mixed; boundary=IN\n\n--IN\n"
             "Content-Type: text/plain\n\nThe figures are attached.\n--IN\n"
             "Content-Type: application/octet-stream\n"
             "Content-Disposition: attachment; filename=data.bin\n"
             "Content-Transfer-Encoding: base64\n\n");
    codec_b64_encode_lines(bytes, nbytes, &inner);
    buf_adds(&inner, "--IN--\n");
    ck_assert_int_eq(smime_encrypt(inner.ptr, inner.len, NULL, 0, o, &der, &e), 0);
    buf_adds(&msg, "From: Bob <bob@example.org>\nSubject: figures\nMIME-Version: 1.0\n"
             "Content-Type: application/pkcs7-mime; smime-type=enveloped-data; "
             "name=smime.p7m\nContent-Transfer-Encoding: base64\n\n");
    codec_b64_encode_lines(der.ptr, der.len, &msg);
    test_write(path, buf_cstr(&msg));
    buf_free(&inner);
    buf_free(&der);
    buf_free(&msg);
}

/* The parts inside an envelope: numbered after the message's own, the same in the text and
 * the part list, taken from the copy the render made (the key is gone by then), the
 * ciphertext left out of the list but still there by number. */
START_TEST(envelope_parts_from_the_render)
{
    char *d = test_tmpdir();
    char cert[4096], key[4096], path[4096];
    char bytes[300];
    struct crypt_opts co = { 0 };
    struct render_opts o = { 0 };
    struct message *msg;
    struct render_attachment *at;
    struct buf out = BUF_INIT, again = BUF_INIT;
    char *name, *type;
    size_t n;
    struct err e;

    for (size_t i = 0; i < sizeof bytes; i++)
        bytes[i] = (char)(i * 7);
    snprintf(cert, sizeof cert, "%s/ann.pem", d);
    snprintf(key, sizeof key, "%s/ann.key", d);
    snprintf(path, sizeof path, "%s/m", d);
    make_cert(cert, key);
    co.smime_cert = cert;
    co.smime_key = key;
    co.no_gpg = true;
    o.crypt = &co;
    write_enveloped(path, &co, bytes, sizeof bytes);
    ck_assert_int_eq(message_open(path, 1, &msg, &e), 0);

    /* Before a render nothing is decrypted: only the message's own part. */
    n = message_attachments(msg, &at);
    ck_assert_uint_eq(n, 1);
    ck_assert_int_eq(at[0].number, 1);
    render_attachments_free(at, n);
    ck_assert_int_eq(message_part(msg, 3, &out, NULL, NULL, &e), -1);

    ck_assert_int_eq(message_render(msg, &o, &out, &e), 0);
    ck_assert_ptr_nonnull(strstr(buf_cstr(&out), "The figures are attached."));
    ck_assert_ptr_nonnull(strstr(buf_cstr(&out), "[-- Attachment [3] inside: "
                                 "application/octet-stream, data.bin, 300 B --]"));
    ck_assert_ptr_nonnull(strstr(buf_cstr(&out), "  [3] application/octet-stream, data.bin, "
                                 "300 B (inside the encrypted part)"));
    /* From here on, a decryption would fail: what follows comes from the kept copy. */
    ck_assert_int_eq(unlink(key), 0);
    ck_assert_int_eq(message_render(msg, &o, &again, &e), 0);
    ck_assert_str_eq(buf_cstr(&again), buf_cstr(&out));

    n = message_attachments(msg, &at);
    ck_assert_uint_eq(n, 2);
    ck_assert_int_eq(at[0].number, 2);
    ck_assert_str_eq(at[0].type, "text/plain");
    ck_assert(at[0].inline_shown);
    ck_assert_int_eq(at[0].inside, RENDER_IN_ENCRYPTED);
    ck_assert_int_eq(at[1].number, 3);
    ck_assert_str_eq(at[1].name, "data.bin");
    ck_assert(!at[1].inline_shown);
    ck_assert_int_eq(at[1].inside, RENDER_IN_ENCRYPTED);
    render_attachments_free(at, n);

    buf_reset(&out);
    ck_assert_int_eq(message_part(msg, 3, &out, &name, &type, &e), 0);
    ck_assert_uint_eq(out.len, sizeof bytes);
    ck_assert_mem_eq(out.ptr, bytes, sizeof bytes);
    ck_assert_str_eq(name, "data.bin");
    ck_assert_str_eq(type, "application/octet-stream");
    free(name);
    free(type);
    buf_reset(&out);
    ck_assert_int_eq(message_part(msg, 1, &out, NULL, &type, &e), 0);
    ck_assert_str_eq(type, "application/pkcs7-mime");
    ck_assert_ptr_null(memmem(out.ptr, out.len, "figures", 7));
    free(type);
    ck_assert_int_eq(message_part(msg, 4, &out, NULL, NULL, &e), -1);
    test_err(&e, ERR_PARSE, "no part 4 (the message has 3)");
    message_close(msg);

    /* Not openable (the key is gone): nothing inside, and the part says why. */
    ck_assert_int_eq(message_open(path, 1, &msg, &e), 0);
    buf_reset(&out);
    ck_assert_int_eq(message_render(msg, &o, &out, &e), 0);
    ck_assert_ptr_nonnull(strstr(buf_cstr(&out), "[-- Encrypted part NOT shown"));
    n = message_attachments(msg, &at);
    ck_assert_uint_eq(n, 1);
    render_attachments_free(at, n);
    ck_assert_int_eq(message_part(msg, 3, &out, NULL, NULL, &e), -1);
    ck_assert_ptr_nonnull(strstr(e.msg, "an encrypted part was not opened"));
    message_close(msg);
    crypt_wipe(&out);
    buf_free(&again);
    test_tmpdir_free(d);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("message");
    TCase *t = tcase_create("core");

    tcase_add_test(t, open_render_parts_from_memory);
    tcase_add_test(t, envelope_parts_from_the_render);
    tcase_add_test(t, urls_in_order_once);
    tcase_add_test(t, learn_writes_only_on_flush);
    tcase_add_test(t, learn_never_takes_addresses_from_encoded_words);
    suite_add_tcase(s, t);
    return s;
}

TEST_MAIN(suite)

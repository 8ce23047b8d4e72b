/* crypt: container detection, list marks, inline armor, canonical form, verdict lines, and
 * the structure of what crypt_protect would wrap (the cryptography itself is tested against
 * gpg and openssl in tests/integration/crypt.sh). */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "testutil.h"
#include "tern/buf.h"
#include "tern/crypt.h"
#include "tern/mime.h"
#include "tern/render.h"

static enum crypt_kind kind(const char *msg)
{
    struct mime_tree t;
    enum crypt_kind k;

    mime_parse(msg, strlen(msg), &t);
    k = crypt_kind_of(&t.parts[0]);
    mime_free(&t);
    return k;
}

START_TEST(test_kinds)
{
    ck_assert_int_eq(kind("Content-Type: multipart/signed; micalg=pgp-sha256;\n"
                          " protocol=\"application/pgp-signature\"; boundary=b\n\n--b--\n"),
                     CRYPT_PGP_SIGNED);
    ck_assert_int_eq(kind("Content-Type: multipart/signed; protocol=\"application/x-pkcs7-"
                          "signature\"; boundary=b\n\n--b--\n"), CRYPT_SMIME_SIGNED);
    ck_assert_int_eq(kind("Content-Type: multipart/encrypted; boundary=b;\n"
                          " protocol=\"APPLICATION/PGP-ENCRYPTED\"\n\n--b--\n"),
                     CRYPT_PGP_ENCRYPTED);
    ck_assert_int_eq(kind("Content-Type: application/pkcs7-mime; smime-type=enveloped-data\n\n"),
                     CRYPT_SMIME_OPAQUE);
    /* multipart/signed with an unknown protocol is not something we can check */
    ck_assert_int_eq(kind("Content-Type: multipart/signed; protocol=\"x/y\"; boundary=b\n\n"),
                     CRYPT_NONE);
    ck_assert_int_eq(kind("Content-Type: multipart/signed; boundary=b\n\n--b--\n"), CRYPT_NONE);
    ck_assert_int_eq(kind("Content-Type: text/plain\n\nhi\n"), CRYPT_NONE);
}
END_TEST

START_TEST(test_marks)
{
    const char *s = "multipart/signed; protocol=\"application/pgp-signature\"; boundary=x";
    const char *e = "multipart/encrypted; protocol=\"application/pgp-encrypted\"; boundary=x";
    const char *o = "application/pkcs7-mime; smime-type=signed-data; name=smime.p7m";
    const char *v = "application/x-pkcs7-mime; name=smime.p7m";

    ck_assert_int_eq(crypt_mark(s, strlen(s)), CRYPT_MARK_SIGNED);
    ck_assert_int_eq(crypt_mark(e, strlen(e)), CRYPT_MARK_ENCRYPTED);
    ck_assert_int_eq(crypt_mark(o, strlen(o)), CRYPT_MARK_SIGNED);
    ck_assert_int_eq(crypt_mark(v, strlen(v)), CRYPT_MARK_ENCRYPTED);
    ck_assert_int_eq(crypt_mark("text/plain", 10), 0);
    ck_assert_int_eq(crypt_mark("", 0), 0);
    /* the shortcut for other types keeps case and folding white space as the parser does */
    s = "\r\n Multipart/SIGNED; protocol=\"application/pkcs7-signature\"";
    ck_assert_int_eq(crypt_mark(s, strlen(s)), CRYPT_MARK_SIGNED);
    s = "multipart/signedx; protocol=\"application/pgp-signature\"";
    ck_assert_int_eq(crypt_mark(s, strlen(s)), 0);
    ck_assert_int_eq(crypt_mark("multipart/mixed; protocol=application/pgp-signature", 51), 0);
    ck_assert_int_eq(crypt_mark("multipart", 9), 0);
}
END_TEST

START_TEST(test_armor)
{
    const char *m = "hello\n-----BEGIN PGP SIGNED MESSAGE-----\nHash: SHA256\n\nhi\n"
                    "-----BEGIN PGP SIGNATURE-----\nabc\n-----END PGP SIGNATURE-----\nbye\n";
    const char *c = "x\n-----BEGIN PGP MESSAGE-----\n\nabc\n-----END PGP MESSAGE-----";
    size_t s = 99, e = 99;

    ck_assert_int_eq(crypt_armor_find(m, strlen(m), &s, &e), CRYPT_ARMOR_SIGNED);
    ck_assert_uint_eq(s, 6);
    ck_assert_str_eq(m + e, "bye\n");
    ck_assert_int_eq(crypt_armor_find(c, strlen(c), &s, &e), CRYPT_ARMOR_MESSAGE);
    ck_assert_uint_eq(s, 2);
    ck_assert_uint_eq(e, strlen(c));
    /* not at the start of a line, or without its end: plain text */
    ck_assert_int_eq(crypt_armor_find("a -----BEGIN PGP MESSAGE-----\n-----END PGP MESSAGE-----\n",
                                      56, &s, &e), CRYPT_ARMOR_NONE);
    ck_assert_int_eq(crypt_armor_find("-----BEGIN PGP MESSAGE-----\nabc\n", 32, &s, &e),
                     CRYPT_ARMOR_NONE);
    /* the first block wins, whichever kind */
    {
        const char *two = "-----BEGIN PGP MESSAGE-----\n-----END PGP MESSAGE-----\n"
                          "-----BEGIN PGP SIGNED MESSAGE-----\n-----END PGP SIGNATURE-----\n";
        ck_assert_int_eq(crypt_armor_find(two, strlen(two), &s, &e), CRYPT_ARMOR_MESSAGE);
        ck_assert_uint_eq(s, 0);
        ck_assert_uint_eq(e, 54);
    }
}
END_TEST

START_TEST(test_canon_and_bytes)
{
    struct buf b = BUF_INIT;
    struct mime_tree t;
    const char *m = "Content-Type: multipart/signed; boundary=b\n\n--b\nContent-Type: text/plain\n"
                    "\nsigned\ntext\n--b\nContent-Type: application/pgp-signature\n\nSIG\n--b--\n";
    const char *s;
    size_t n;

    crypt_canon("a\nb\r\nc\n", 7, &b);
    ck_assert_str_eq(buf_cstr(&b), "a\r\nb\r\nc\r\n");
    buf_free(&b);
    mime_parse(m, strlen(m), &t);
    ck_assert_uint_eq(t.n, 3);
    crypt_part_bytes(&t.parts[1], &s, &n);
    /* the newline before the delimiter belongs to the delimiter */
    ck_assert_uint_eq(n, strlen("Content-Type: text/plain\n\nsigned\ntext"));
    ck_assert(memcmp(s, "Content-Type: text/plain\n\nsigned\ntext", n) == 0);
    mime_free(&t);
}
END_TEST

START_TEST(test_lines)
{
    struct buf b = BUF_INIT;
    struct crypt_sig s = { .status = CRYPT_SIG_GOOD, .trusted = false,
                           .signer = "Alice <a@x>", .keyid = "ABCD" };

    crypt_sig_line(&s, &b);
    ck_assert_str_eq(buf_cstr(&b), "PGP GOOD signature from Alice <a@x>, key ABCD, key NOT "
                     "certified (not trusted)");
    buf_reset(&b);
    s.smime = true;
    s.trusted = true;
    s.keyid = "serial 01";
    crypt_sig_line(&s, &b);
    ck_assert_str_eq(buf_cstr(&b), "S/MIME GOOD signature from Alice <a@x>, serial 01, trusted");
    buf_reset(&b);
    s.status = CRYPT_SIG_BAD;
    s.detail = "changed";
    crypt_sig_line(&s, &b);
    ck_assert_str_eq(buf_cstr(&b), "S/MIME BAD signature from Alice <a@x>, serial 01 (changed)");
    buf_reset(&b);
    s.status = CRYPT_SIG_GOOD;
    s.detail = NULL;
    s.not_from = true;
    crypt_sig_line(&s, &b);
    ck_assert_str_eq(buf_cstr(&b), "S/MIME GOOD signature from Alice <a@x>, serial 01, trusted, "
                     "signer is NOT the From address");
    buf_free(&b);
}
END_TEST

START_TEST(test_protect_refusals)
{
    struct buf m = BUF_INIT;
    struct err e = { 0 };
    char *rcpts[] = { "to@x.example", "hidden@x.example" };
    struct crypt_opts o = { 0 };

    buf_adds(&m, "From: me@x.example\nTo: to@x.example\nSubject: s\n\nbody\n");
    /* a Bcc recipient is refused by name before any key is looked up */
    ck_assert_int_eq(crypt_protect(&m, CRYPT_ENCRYPT, &o, rcpts, 2, &e), -1);
    test_err(&e, ERR_CONFIG, "hidden@x.example is a Bcc recipient");
    /* nothing asked: the message is untouched */
    ck_assert_int_eq(crypt_protect(&m, 0, &o, rcpts, 2, &e), 0);
    ck_assert_str_eq(buf_cstr(&m), "From: me@x.example\nTo: to@x.example\nSubject: s\n\nbody\n");
    buf_free(&m);
}
END_TEST

/* The renderer's envelope marks, with a signature that cannot be checked (no gpg needed:
 * S/MIME through OpenSSL): the unsigned part beside it is marked, the signed one is not
 * called good, and quoting (crypt_quiet) leaves every mark out. */
START_TEST(test_render_marks)
{
    const char *m = "From: a@x.example\nContent-Type: multipart/mixed; boundary=o\n\n--o\n"
                    "Content-Type: text/plain\n\nadded by a forwarder\n--o\n"
                    "Content-Type: multipart/signed; protocol=\"application/pkcs7-signature\";"
                    " boundary=s\n\n--s\nContent-Type: text/plain\n\nthe signed words\n--s\n"
                    "Content-Type: application/pkcs7-signature\nContent-Transfer-Encoding: "
                    "base64\n\nAAAA\n--s--\n--o--\n";
    struct crypt_opts co = { 0 };
    struct render_opts o = { .crypt = &co };
    struct buf out = BUF_INIT;
    const char *p1, *p2;

    ck_assert_int_eq(render_message(m, strlen(m), &o, &out, NULL), 0);
    p1 = strstr(buf_cstr(&out), "[-- Part 1 is NOT signed and NOT encrypted --]\nadded by");
    ck_assert_ptr_nonnull(p1);
    p2 = strstr(out.ptr, "[-- S/MIME signature NOT CHECKED: ");
    ck_assert_ptr_nonnull(p2);
    ck_assert_ptr_nonnull(strstr(p2, "; NOT verified: part 2 --]\n"));
    ck_assert_ptr_nonnull(strstr(p2, "the signed words\n\n[-- End of signed part --]"));
    ck_assert_ptr_null(strstr(out.ptr, "GOOD"));
    ck_assert_ptr_null(strstr(out.ptr, "Part 2 is NOT"));
    buf_reset(&out);
    o.crypt_quiet = true;
    o.no_headers = true;
    ck_assert_int_eq(render_message(m, strlen(m), &o, &out, NULL), 0);
    ck_assert_ptr_null(strstr(buf_cstr(&out), "[--"));
    ck_assert_ptr_nonnull(strstr(out.ptr, "the signed words"));
    buf_reset(&out);
    /* OpenPGP with gpg ruled out (what the fuzz target does): the structure is walked,
     * inline text around the armor is marked, nothing is called good */
    {
        const char *inl = "From: a@x.example\n\nbefore\n-----BEGIN PGP SIGNED MESSAGE-----\n"
                          "Hash: SHA256\n\nhi\n-----BEGIN PGP SIGNATURE-----\nx\n"
                          "-----END PGP SIGNATURE-----\n";
        struct crypt_opts ng = { .no_gpg = true };
        struct render_opts on = { .crypt = &ng };

        buf_reset(&out);
        ck_assert_int_eq(render_message(inl, strlen(inl), &on, &out, NULL), 0);
        ck_assert_ptr_nonnull(strstr(buf_cstr(&out), "[-- Text NOT signed and NOT encrypted "
                                                     "(part 1): --]\nbefore"));
        ck_assert_ptr_nonnull(strstr(out.ptr, "[-- PGP block NOT checked: OpenPGP is not used"));
        ck_assert_ptr_null(strstr(out.ptr, "GOOD"));
    }
    /* inline armor inside an envelope: the text around it is not called unprotected */
    {
        const char *nest = "Content-Type: multipart/signed; protocol=\"application/pkcs7-"
                           "signature\"; boundary=s\n\n--s\nContent-Type: text/plain\n\n"
                           "around\n-----BEGIN PGP MESSAGE-----\nx\n-----END PGP MESSAGE-----\n"
                           "--s\nContent-Type: application/pkcs7-signature\n\nAAAA\n--s--\n";
        struct crypt_opts ng = { .no_gpg = true };
        struct render_opts on = { .crypt = &ng };

        buf_reset(&out);
        ck_assert_int_eq(render_message(nest, strlen(nest), &on, &out, NULL), 0);
        ck_assert_ptr_nonnull(strstr(buf_cstr(&out), "[-- Text outside the PGP block: --]\n"
                                                     "around"));
        ck_assert_ptr_null(strstr(out.ptr, "NOT signed and NOT encrypted"));
    }
    buf_reset(&out);
    /* without crypt options: no marks and no cryptography at all, as before */
    o.crypt = NULL;
    o.crypt_quiet = false;
    ck_assert_int_eq(render_message(m, strlen(m), &o, &out, NULL), 0);
    ck_assert_ptr_null(strstr(buf_cstr(&out), "NOT"));
    buf_free(&out);
}
END_TEST

/* A hostile message with many signed parts: only the first 32 are checked (each may start
 * gpg), the rest say why not. */
START_TEST(test_render_op_cap)
{
    struct buf m = BUF_INIT, out = BUF_INIT;
    struct crypt_opts co = { .no_gpg = true };
    struct render_opts o = { .crypt = &co };
    const char *p;
    int n = 0;

    buf_adds(&m, "Content-Type: multipart/mixed; boundary=o\n\n");
    for (int i = 0; i < 40; i++)
        buf_adds(&m, "--o\nContent-Type: multipart/signed; protocol=\"application/pgp-signature\";"
                 " boundary=s\n\n--s\n\nx\n--s\nContent-Type: application/pgp-signature\n\n"
                 "S\n--s--\n");
    buf_adds(&m, "--o--\n");
    ck_assert_int_eq(render_message(m.ptr, m.len, &o, &out, NULL), 0);
    for (p = buf_cstr(&out); (p = strstr(p, "OpenPGP is not used here")) != NULL; p++)
        n++;
    ck_assert_int_eq(n, 32);
    for (n = 0, p = out.ptr; (p = strstr(p, "more than 32 signed or encrypted parts")) != NULL; p++)
        n++;
    ck_assert_int_eq(n, 8);
    buf_free(&m);
    buf_free(&out);
}
END_TEST

static Suite *crypt_suite(void)
{
    Suite *s = suite_create("crypt");
    TCase *tc = tcase_create("core");

    tcase_add_test(tc, test_kinds);
    tcase_add_test(tc, test_marks);
    tcase_add_test(tc, test_armor);
    tcase_add_test(tc, test_canon_and_bytes);
    tcase_add_test(tc, test_lines);
    tcase_add_test(tc, test_protect_refusals);
    tcase_add_test(tc, test_render_marks);
    tcase_add_test(tc, test_render_op_cap);
    suite_add_tcase(s, tc);
    return s;
}

TEST_MAIN(crypt_suite)

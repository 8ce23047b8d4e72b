/* S/MIME through OpenSSL's CMS: verdicts for detached and opaque signatures, decryption of
 * enveloped data into memory, detached signing and encryption for the outgoing path. */
#include "config.h"

#include <openssl/cms.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <openssl/x509_vfy.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tern/smime.h"
#include "tern/str.h"
#include "tern/xalloc.h"

static void ssl_reason(struct buf *b)
{
    unsigned long ec = ERR_get_error();
    char s[256];

    if (ec == 0) {
        buf_adds(b, "unknown error");
        return;
    }
    ERR_error_string_n(ec, s, sizeof s);
    buf_adds(b, s);
    ERR_clear_error();
}

static int ssl_err(struct err *e, enum err_class cls, const char *what)
{
    struct buf b = BUF_INIT;

    ssl_reason(&b);
    err_set(e, cls, "S/MIME: %s: %s", what, buf_cstr(&b));
    buf_free(&b);
    return -1;
}

static char *path_in(const char *dir, const char *name)
{
    struct buf b = BUF_INIT;

    buf_printf(&b, "%s/%s", dir, name);
    return buf_detach(&b);
}

static X509_STORE *trust_store(const struct crypt_opts *o)
{
    X509_STORE *st = X509_STORE_new();

    X509_STORE_set_default_paths(st);
    if (o && o->smime_dir) {
        char *ca = path_in(o->smime_dir, "ca.pem");

        if (access(ca, R_OK) == 0)
            X509_STORE_load_file(st, ca);
        free(ca);
    }
    X509_STORE_set_purpose(st, X509_PURPOSE_SMIME_SIGN);
    ERR_clear_error();
    return st;
}

/* The subject, and the certificate's e-mail addresses (subjectAltName) after it: what the
 * reader compares with the From address. */
static char *subject_of(X509 *x)
{
    BIO *b = BIO_new(BIO_s_mem());
    GENERAL_NAMES *alt = X509_get_ext_d2i(x, NID_subject_alt_name, NULL, NULL);
    char *p;
    long n;
    struct buf r = BUF_INIT;

    X509_NAME_print_ex(b, X509_get_subject_name(x), 0, XN_FLAG_RFC2253 & ~ASN1_STRFLGS_ESC_MSB);
    n = BIO_get_mem_data(b, &p);
    buf_add(&r, p, n > 0 ? (size_t)n : 0);
    for (int i = 0; alt && i < sk_GENERAL_NAME_num(alt); i++) {
        const GENERAL_NAME *g = sk_GENERAL_NAME_value(alt, i);

        if (g->type == GEN_EMAIL)
            buf_printf(&r, " <%.*s>", ASN1_STRING_length(g->d.rfc822Name),
                       (const char *)ASN1_STRING_get0_data(g->d.rfc822Name));
    }
    GENERAL_NAMES_free(alt);
    BIO_free(b);
    buf_cstr(&r);
    return buf_detach(&r);
}

static char *serial_of(X509 *x)
{
    BIGNUM *bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(x), NULL);
    char *hex = bn ? BN_bn2hex(bn) : NULL;
    struct buf b = BUF_INIT;

    buf_printf(&b, "serial %s", hex ? hex : "?");
    OPENSSL_free(hex);
    BN_free(bn);
    return buf_detach(&b);
}

/* Check the signer's certificate chain alone (the signature itself already verified), so
 * that "good but untrusted", "expired" and "revoked" can be told apart from "bad". */
static void judge_chain(X509 *signer, STACK_OF(X509) *extra, const struct crypt_opts *o,
                        struct crypt_sig *cs)
{
    X509_STORE *st = trust_store(o);
    X509_STORE_CTX *ctx = X509_STORE_CTX_new();

    if (X509_STORE_CTX_init(ctx, st, signer, extra) == 1) {
        X509_STORE_CTX_set_purpose(ctx, X509_PURPOSE_SMIME_SIGN);
        if (X509_verify_cert(ctx) == 1) {
            cs->trusted = true;
        } else {
            int v = X509_STORE_CTX_get_error(ctx);

            if (v == X509_V_ERR_CERT_HAS_EXPIRED || v == X509_V_ERR_CERT_NOT_YET_VALID)
                cs->status = CRYPT_SIG_EXPIRED;
            else if (v == X509_V_ERR_CERT_REVOKED)
                cs->status = CRYPT_SIG_REVOKED;
            if (v != X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT &&
                v != X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY &&
                v != X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN)
                cs->detail = xstrdup(X509_verify_cert_error_string(v));
        }
    }
    X509_STORE_CTX_free(ctx);
    X509_STORE_free(st);
    ERR_clear_error();
}

/* One verdict per signer of cms over content (NULL for opaque; then the content goes to
 * out). */
static void verify_cms(CMS_ContentInfo *cms, BIO *content, const struct crypt_opts *o,
                       struct buf *out, struct crypt_result *r)
{
    BIO *bout = BIO_new(BIO_s_mem());
    STACK_OF(X509) *certs = CMS_get1_certs(cms);
    int ok;

    /* First the signature alone: a failure here is a changed content (or no certificate). */
    ok = CMS_verify(cms, NULL, NULL, content, bout, CMS_NO_SIGNER_CERT_VERIFY | CMS_BINARY);
    if (!ok) {
        struct crypt_sig cs = { .smime = true };
        struct buf why = BUF_INIT;
        unsigned long ec = ERR_peek_error();

        ssl_reason(&why);
        if (ERR_GET_REASON(ec) == CMS_R_SIGNER_CERTIFICATE_NOT_FOUND) {
            cs.status = CRYPT_SIG_NOKEY;
            buf_free(&why);
        } else {
            cs.status = CRYPT_SIG_BAD;
            buf_reset(&why);
            buf_adds(&why, "the content was changed after it was signed");
            cs.detail = buf_detach(&why);
        }
        crypt_result_add(r, &cs);
    } else {
        STACK_OF(X509) *signers = CMS_get0_signers(cms);

        for (int i = 0; signers && i < sk_X509_num(signers); i++) {
            X509 *x = sk_X509_value(signers, i);
            struct crypt_sig cs = { .smime = true, .status = CRYPT_SIG_GOOD };

            cs.signer = subject_of(x);
            cs.keyid = serial_of(x);
            judge_chain(x, certs, o, &cs);
            crypt_result_add(r, &cs);
        }
        sk_X509_free(signers);
        if (out) {
            char *p;
            long n = BIO_get_mem_data(bout, &p);

            if (n > 0)
                buf_add(out, p, (size_t)n);
        }
    }
    sk_X509_pop_free(certs, X509_free);
    BIO_free(bout);
    ERR_clear_error();
}

static CMS_ContentInfo *cms_from(const char *der, size_t dn)
{
    const unsigned char *p = (const unsigned char *)der;

    return d2i_CMS_ContentInfo(NULL, &p, (long)dn);
}

int smime_verify_detached(const char *data, size_t n, const char *der, size_t dn,
                          const struct crypt_opts *o, struct crypt_result *r, struct err *e)
{
    CMS_ContentInfo *cms = cms_from(der, dn);
    BIO *content;

    if (cms == NULL)
        return ssl_err(e, ERR_PARSE, "the signature part is not CMS");
    content = BIO_new_mem_buf(data, (int)n);
    verify_cms(cms, content, o, NULL, r);
    BIO_free(content);
    CMS_ContentInfo_free(cms);
    return 0;
}

static int load_pair(const struct crypt_opts *o, X509 **cert, EVP_PKEY **key, struct err *e)
{
    FILE *f;

    *cert = NULL;
    *key = NULL;
    if (!o || !o->smime_cert || !o->smime_key)
        return err_set(e, ERR_CONFIG, "S/MIME: set smime_cert and smime_key for this account");
    if ((f = fopen(o->smime_cert, "re")) == NULL)
        return err_sys(e, "S/MIME: %s", o->smime_cert);
    *cert = PEM_read_X509(f, NULL, NULL, NULL);
    fclose(f);
    if (*cert == NULL)
        return ssl_err(e, ERR_CONFIG, o->smime_cert);
    if ((f = fopen(o->smime_key, "re")) == NULL) {
        X509_free(*cert);
        *cert = NULL;
        return err_sys(e, "S/MIME: %s", o->smime_key);
    }
    /* No passphrase callback: an empty one makes a protected key fail instead of prompting
     * on the terminal behind the screen's back. */
    *key = PEM_read_PrivateKey(f, NULL, NULL, (void *)"");
    fclose(f);
    if (*key == NULL) {
        X509_free(*cert);
        *cert = NULL;
        return ssl_err(e, ERR_CONFIG, o->smime_key);
    }
    return 0;
}

int smime_open(const char *der, size_t dn, const struct crypt_opts *o, struct buf *out,
               bool *enveloped, struct crypt_result *r, struct err *e)
{
    CMS_ContentInfo *cms = cms_from(der, dn);
    int rc = 0;

    *enveloped = false;
    if (cms == NULL)
        return ssl_err(e, ERR_PARSE, "the application/pkcs7-mime part is not CMS");
    switch (OBJ_obj2nid(CMS_get0_type(cms))) {
    case NID_pkcs7_signed:
        verify_cms(cms, NULL, o, out, r);
        break;
    case NID_pkcs7_enveloped:
    case NID_id_smime_ct_authEnvelopedData: {
        X509 *cert;
        EVP_PKEY *key;
        BIO *bout;

        *enveloped = true;
        if (load_pair(o, &cert, &key, e) < 0) {
            rc = -1;
            break;
        }
        bout = BIO_new(BIO_s_mem());
        if (!CMS_decrypt(cms, key, cert, NULL, bout, CMS_BINARY)) {
            rc = ssl_err(e, ERR_AUTH, "cannot decrypt (not for our certificate?)");
        } else {
            char *p;
            long n = BIO_get_mem_data(bout, &p);

            if (n > 0)
                buf_add(out, p, (size_t)n);
        }
        BIO_free(bout);
        X509_free(cert);
        EVP_PKEY_free(key);
        break;
    }
    default:
        rc = err_set(e, ERR_PARSE, "S/MIME: unsupported CMS content type");
    }
    CMS_ContentInfo_free(cms);
    return rc;
}

static void cms_der(CMS_ContentInfo *cms, struct buf *der)
{
    unsigned char *p = NULL;
    int n = i2d_CMS_ContentInfo(cms, &p);

    if (n > 0)
        buf_add(der, p, (size_t)n);
    OPENSSL_free(p);
}

int smime_sign(const char *data, size_t n, const struct crypt_opts *o, struct buf *der,
               struct err *e)
{
    X509 *cert;
    EVP_PKEY *key;
    BIO *in;
    CMS_ContentInfo *cms;

    if (load_pair(o, &cert, &key, e) < 0)
        return -1;
    in = BIO_new_mem_buf(data, (int)n);
    cms = CMS_sign(cert, key, NULL, in, CMS_DETACHED | CMS_BINARY);
    BIO_free(in);
    X509_free(cert);
    EVP_PKEY_free(key);
    if (cms == NULL)
        return ssl_err(e, ERR_CONFIG, "cannot sign");
    cms_der(cms, der);
    CMS_ContentInfo_free(cms);
    return 0;
}

static X509 *load_cert(const char *path)
{
    FILE *f = fopen(path, "re");
    X509 *x;

    if (f == NULL)
        return NULL;
    x = PEM_read_X509(f, NULL, NULL, NULL);
    fclose(f);
    return x;
}

int smime_encrypt(const char *data, size_t n, char *const *to, size_t nto,
                  const struct crypt_opts *o, struct buf *der, struct err *e)
{
    STACK_OF(X509) *certs = sk_X509_new_null();
    CMS_ContentInfo *cms = NULL;
    X509 *own;
    BIO *in;
    int rc = 0;

    if (o == NULL || o->smime_cert == NULL || (own = load_cert(o->smime_cert)) == NULL) {
        sk_X509_free(certs);
        return err_set(e, ERR_CONFIG, "S/MIME: set smime_cert (our certificate, so that the "
                       "Sent copy can be read)");
    }
    sk_X509_push(certs, own);
    for (size_t i = 0; i < nto; i++) {
        struct buf name = BUF_INIT;
        char *path;
        X509 *x;

        for (const char *c = to[i]; *c; c++)
            buf_addc(&name, *c >= 'A' && *c <= 'Z' ? (char)(*c - 'A' + 'a') : *c);
        buf_adds(&name, ".pem");
        path = o->smime_dir && !strchr(to[i], '/') ? path_in(o->smime_dir, "certs/") : NULL;
        x = NULL;
        if (path) {
            struct buf full = BUF_INIT;

            buf_printf(&full, "%s%s", path, buf_cstr(&name));
            x = load_cert(buf_cstr(&full));
            buf_free(&full);
        }
        free(path);
        buf_free(&name);
        if (x == NULL) {
            rc = err_set(e, ERR_CONFIG, "S/MIME: no certificate for %s: not encrypted (put it in "
                         "%s/certs/%s.pem)", to[i], o->smime_dir ? o->smime_dir : "?", to[i]);
            goto out;
        }
        sk_X509_push(certs, x);
    }
    in = BIO_new_mem_buf(data, (int)n);
    cms = CMS_encrypt(certs, in, EVP_aes_256_cbc(), CMS_BINARY);
    BIO_free(in);
    if (cms == NULL) {
        rc = ssl_err(e, ERR_CONFIG, "cannot encrypt");
        goto out;
    }
    cms_der(cms, der);
out:
    CMS_ContentInfo_free(cms);
    sk_X509_pop_free(certs, X509_free);
    return rc;
}

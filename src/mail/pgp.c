/* OpenPGP through GPGME: signature verdicts, decryption into memory, detached signing and
 * encryption for PGP/MIME. gpg-agent holds the secret keys and asks for passphrases. */
#include "config.h"

#include <gpgme.h>
#include <locale.h>
#include <stdlib.h>
#include <string.h>

#include "tern/pgp.h"
#include "tern/str.h"
#include "tern/xalloc.h"

static int pgp_init(gpgme_ctx_t *ctx, struct err *e)
{
    static bool done;
    gpgme_error_t ge;

    if (!done) {
        if (gpgme_check_version(NULL) == NULL)
            return err_set(e, ERR_SYS, "GPGME: library version check failed");
        gpgme_set_locale(NULL, LC_CTYPE, setlocale(LC_CTYPE, NULL));
        done = true;
    }
    if ((ge = gpgme_engine_check_version(GPGME_PROTOCOL_OpenPGP)) != 0)
        return err_set(e, ERR_SYS, "OpenPGP: gpg not usable: %s", gpgme_strerror(ge));
    if ((ge = gpgme_new(ctx)) != 0)
        return err_set(e, ERR_SYS, "OpenPGP: %s", gpgme_strerror(ge));
    gpgme_set_protocol(*ctx, GPGME_PROTOCOL_OpenPGP);
    gpgme_set_armor(*ctx, 1);
    return 0;
}

static void data_take(gpgme_data_t d, struct buf *out)
{
    size_t n;
    char *p = gpgme_data_release_and_get_mem(d, &n);

    if (p) {
        buf_add(out, p, n);
        gpgme_free(p);
    }
}

static char *key_uid(gpgme_ctx_t ctx, const char *fpr)
{
    gpgme_key_t key;
    char *r = NULL;

    if (fpr && gpgme_get_key(ctx, fpr, &key, 0) == 0) {
        if (key->uids && key->uids->uid)
            r = xstrdup(key->uids->uid);
        gpgme_key_unref(key);
    }
    return r;
}

static void collect(gpgme_ctx_t ctx, struct crypt_result *r)
{
    gpgme_verify_result_t vr = gpgme_op_verify_result(ctx);

    if (vr == NULL)
        return;
    for (gpgme_signature_t s = vr->signatures; s; s = s->next) {
        struct crypt_sig cs = { 0 };
        gpgme_err_code_t code = gpgme_err_code(s->status);

        cs.keyid = s->fpr ? xstrdup(s->fpr) : NULL;
        if (code == GPG_ERR_BAD_SIGNATURE) {
            cs.status = CRYPT_SIG_BAD;
            cs.detail = xstrdup("the content was changed after it was signed");
        } else if (code == GPG_ERR_NO_PUBKEY || s->summary & GPGME_SIGSUM_KEY_MISSING) {
            cs.status = CRYPT_SIG_NOKEY;
        } else if (code == GPG_ERR_CERT_REVOKED || s->summary & GPGME_SIGSUM_KEY_REVOKED) {
            cs.status = CRYPT_SIG_REVOKED;
        } else if (code == GPG_ERR_KEY_EXPIRED || code == GPG_ERR_SIG_EXPIRED ||
                   s->summary & (GPGME_SIGSUM_KEY_EXPIRED | GPGME_SIGSUM_SIG_EXPIRED)) {
            cs.status = CRYPT_SIG_EXPIRED;
        } else if (code == GPG_ERR_NO_ERROR) {
            cs.status = CRYPT_SIG_GOOD;
        } else {
            cs.status = CRYPT_SIG_ERROR;
            cs.detail = xstrdup(gpgme_strerror(s->status));
        }
        if (cs.status != CRYPT_SIG_NOKEY)
            cs.signer = key_uid(ctx, s->fpr);
        cs.trusted = (cs.status == CRYPT_SIG_GOOD) &&
                     (s->validity == GPGME_VALIDITY_FULL ||
                      s->validity == GPGME_VALIDITY_ULTIMATE);
        crypt_result_add(r, &cs);
    }
}

/*
 * One verification for both forms: with out NULL, sig is a detached signature over the n bytes
 * of data; otherwise sig is a clear-signed or inline-signed text whose plain text goes to out.
 */
static int verify(const char *sig, size_t sn, const char *data, size_t n, struct buf *out,
                  struct crypt_result *r, struct err *e)
{
    gpgme_ctx_t ctx;
    gpgme_data_t ds = NULL, dd = NULL, plain = NULL;
    gpgme_error_t ge;
    int rc = 0;

    if (pgp_init(&ctx, e) < 0)
        return -1;
    if ((ge = gpgme_data_new_from_mem(&ds, sig, sn, 0)) != 0 ||
        (out == NULL && (ge = gpgme_data_new_from_mem(&dd, data, n, 0)) != 0) ||
        (out != NULL && (ge = gpgme_data_new(&plain)) != 0) ||
        (ge = gpgme_op_verify(ctx, ds, dd, plain)) != 0) {
        rc = err_set(e, ERR_PARSE, "OpenPGP signature: %s", gpgme_strerror(ge));
        gpgme_data_release(plain);
    } else {
        collect(ctx, r);
        if (out != NULL)
            data_take(plain, out);
    }
    gpgme_data_release(dd);
    gpgme_data_release(ds);
    gpgme_release(ctx);
    return rc;
}

int pgp_verify_detached(const char *data, size_t n, const char *sig, size_t sn,
                        struct crypt_result *r, struct err *e)
{
    return verify(sig, sn, data, n, NULL, r, e);
}

int pgp_verify_inline(const char *s, size_t n, struct buf *out, struct crypt_result *r,
                      struct err *e)
{
    return verify(s, n, NULL, 0, out, r, e);
}

int pgp_decrypt(const char *s, size_t n, struct buf *out, struct crypt_result *r, struct err *e)
{
    gpgme_ctx_t ctx;
    gpgme_data_t in = NULL, plain = NULL;
    gpgme_error_t ge;
    int rc = 0;

    if (pgp_init(&ctx, e) < 0)
        return -1;
    if ((ge = gpgme_data_new_from_mem(&in, s, n, 0)) != 0 || (ge = gpgme_data_new(&plain)) != 0) {
        rc = err_set(e, ERR_SYS, "OpenPGP: %s", gpgme_strerror(ge));
        gpgme_data_release(plain);
    } else if ((ge = gpgme_op_decrypt_verify(ctx, in, plain)) != 0) {
        gpgme_err_code_t c = gpgme_err_code(ge);

        rc = err_set(e, c == GPG_ERR_NO_SECKEY || c == GPG_ERR_BAD_PASSPHRASE ||
                             c == GPG_ERR_CANCELED ? ERR_AUTH : ERR_PARSE,
                     "OpenPGP: cannot decrypt: %s", gpgme_strerror(ge));
        gpgme_data_release(plain);
    } else {
        collect(ctx, r);
        data_take(plain, out);
    }
    gpgme_data_release(in);
    gpgme_release(ctx);
    return rc;
}

/* A key for what, by exact e-mail address match on a user id (or by id/fingerprint when
 * what holds no '@'). Expired, revoked, disabled and invalid keys are skipped. */
static gpgme_key_t find_key(gpgme_ctx_t ctx, const char *what, bool secret, bool encrypt)
{
    gpgme_key_t k, found = NULL;
    bool by_addr = strchr(what, '@') != NULL;

    if (gpgme_op_keylist_start(ctx, what, secret) != 0)
        return NULL;
    while (gpgme_op_keylist_next(ctx, &k) == 0) {
        bool ok = !k->expired && !k->revoked && !k->disabled && !k->invalid &&
                  (encrypt ? k->can_encrypt : k->can_sign);

        if (ok && by_addr) {
            ok = false;
            for (gpgme_user_id_t u = k->uids; u; u = u->next)
                if (u->email && !u->revoked && str_casecmp(u->email, what) == 0)
                    ok = true;
        }
        if (ok && found == NULL)
            found = k;
        else
            gpgme_key_unref(k);
    }
    gpgme_op_keylist_end(ctx);
    return found;
}

int pgp_sign(const char *data, size_t n, const char *key, struct buf *sig, char **micalg,
             struct err *e)
{
    gpgme_ctx_t ctx;
    gpgme_key_t k;
    gpgme_data_t in = NULL, out = NULL;
    gpgme_error_t ge;
    gpgme_sign_result_t sr;
    int rc = 0;

    *micalg = NULL;
    if (pgp_init(&ctx, e) < 0)
        return -1;
    if ((k = find_key(ctx, key, true, false)) == NULL) {
        gpgme_release(ctx);
        return err_set(e, ERR_CONFIG, "OpenPGP: no usable secret key for %s to sign with", key);
    }
    gpgme_signers_add(ctx, k);
    gpgme_key_unref(k);
    if ((ge = gpgme_data_new_from_mem(&in, data, n, 0)) != 0 || (ge = gpgme_data_new(&out)) != 0 ||
        (ge = gpgme_op_sign(ctx, in, out, GPGME_SIG_MODE_DETACH)) != 0) {
        rc = err_set(e, gpgme_err_code(ge) == GPG_ERR_CANCELED ? ERR_CANCEL : ERR_AUTH,
                     "OpenPGP: cannot sign with %s: %s", key, gpgme_strerror(ge));
        gpgme_data_release(out);
    } else {
        const char *h = NULL;
        struct buf m = BUF_INIT;

        sr = gpgme_op_sign_result(ctx);
        if (sr && sr->signatures)
            h = gpgme_hash_algo_name(sr->signatures->hash_algo);
        buf_printf(&m, "pgp-%s", h ? h : "sha256");
        for (size_t i = 0; i < m.len; i++)
            if (m.ptr[i] >= 'A' && m.ptr[i] <= 'Z')
                m.ptr[i] = (char)(m.ptr[i] - 'A' + 'a');
        *micalg = buf_detach(&m);
        data_take(out, sig);
    }
    gpgme_data_release(in);
    gpgme_release(ctx);
    return rc;
}

int pgp_encrypt(const char *data, size_t n, char *const *to, size_t nto, const char *signer,
                struct buf *out, struct err *e)
{
    gpgme_ctx_t ctx;
    gpgme_key_t *keys;
    gpgme_data_t in = NULL, cipher = NULL;
    gpgme_error_t ge;
    int rc = 0;
    size_t nk = 0;

    if (pgp_init(&ctx, e) < 0)
        return -1;
    keys = xcalloc(nto + 1, sizeof *keys);
    for (size_t i = 0; i < nto; i++) {
        if ((keys[nk] = find_key(ctx, to[i], false, true)) == NULL) {
            rc = err_set(e, ERR_CONFIG, "OpenPGP: no usable public key for %s: not encrypted "
                         "(import it with gpg --import)", to[i]);
            goto out;
        }
        nk++;
    }
    if (signer) {
        gpgme_key_t sk = find_key(ctx, signer, true, false);

        if (sk == NULL) {
            rc = err_set(e, ERR_CONFIG, "OpenPGP: no usable secret key for %s to sign with",
                         signer);
            goto out;
        }
        gpgme_signers_add(ctx, sk);
        gpgme_key_unref(sk);
    }
    /* The key was chosen by an exact address match above; like mutt's crypt_opportunistic
     * choice, its web-of-trust validity is not required to encrypt (documented). */
    if ((ge = gpgme_data_new_from_mem(&in, data, n, 0)) != 0 ||
        (ge = gpgme_data_new(&cipher)) != 0 ||
        (ge = signer ? gpgme_op_encrypt_sign(ctx, keys, GPGME_ENCRYPT_ALWAYS_TRUST, in, cipher)
                     : gpgme_op_encrypt(ctx, keys, GPGME_ENCRYPT_ALWAYS_TRUST, in, cipher)) != 0) {
        rc = err_set(e, gpgme_err_code(ge) == GPG_ERR_CANCELED ? ERR_CANCEL : ERR_CONFIG,
                     "OpenPGP: cannot encrypt: %s", gpgme_strerror(ge));
        gpgme_data_release(cipher);
    } else {
        data_take(cipher, out);
    }
    gpgme_data_release(in);
out:
    for (size_t i = 0; i < nk; i++)
        gpgme_key_unref(keys[i]);
    free(keys);
    gpgme_release(ctx);
    return rc;
}

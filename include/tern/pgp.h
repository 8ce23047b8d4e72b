/* OpenPGP through GPGME (gpg and gpg-agent do the work; pinentry asks for passphrases). */
#ifndef TERN_PGP_H
#define TERN_PGP_H

#include <stddef.h>

#include "tern/buf.h"
#include "tern/crypt.h"
#include "tern/err.h"

/* Check a detached signature sig over data (already canonical). One crypt_sig per
 * signature is added to r. -1 only when GPGME itself fails (no signature found, no gpg). */
int pgp_verify_detached(const char *data, size_t n, const char *sig, size_t sn,
                        struct crypt_result *r, struct err *e);
/* A clear-signed or opaque signed block: the signed text goes to out. */
int pgp_verify_inline(const char *s, size_t n, struct buf *out, struct crypt_result *r,
                      struct err *e);
/* Decrypt (armored or binary) and check any signature inside; the plaintext goes to out
 * (memory only). -1 (ERR_AUTH) when no secret key fits or the passphrase was refused. */
int pgp_decrypt(const char *s, size_t n, struct buf *out, struct crypt_result *r, struct err *e);
/* Detached armored signature over data with key (id, fingerprint or address); *micalg gets
 * "pgp-sha256" or the like (new string). */
int pgp_sign(const char *data, size_t n, const char *key, struct buf *sig, char **micalg,
             struct err *e);
/* Armored ciphertext for every address in to (and signed with signer when not NULL). A
 * recipient without a usable key is ERR_CONFIG naming it. */
int pgp_encrypt(const char *data, size_t n, char *const *to, size_t nto, const char *signer,
                struct buf *out, struct err *e);

#endif

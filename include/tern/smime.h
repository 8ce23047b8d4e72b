/* S/MIME (RFC 8551) through OpenSSL's CMS: verify, decrypt, sign, encrypt. Certificates of
 * correspondents live in DIR/certs/ADDRESS.pem, trusted roots in DIR/ca.pem (plus the
 * system's), DIR being MAIL_ROOT/.tern/smime. */
#ifndef TERN_SMIME_H
#define TERN_SMIME_H

#include <stddef.h>

#include "tern/buf.h"
#include "tern/crypt.h"
#include "tern/err.h"

/* Detached signature (DER) over data (canonical). Adds one crypt_sig per signer. */
int smime_verify_detached(const char *data, size_t n, const char *der, size_t dn,
                          const struct crypt_opts *o, struct crypt_result *r, struct err *e);
/* Opaque application/pkcs7-mime (DER): signed-data is checked (verdicts in r), enveloped-data
 * decrypted with o->smime_cert/smime_key; the content goes to out. *enveloped tells which. */
int smime_open(const char *der, size_t dn, const struct crypt_opts *o, struct buf *out,
               bool *enveloped, struct crypt_result *r, struct err *e);
/* Detached DER signature over data (canonical) with o->smime_cert and o->smime_key. */
int smime_sign(const char *data, size_t n, const struct crypt_opts *o, struct buf *der,
               struct err *e);
/* DER enveloped-data for every address in to (certificate from the store; a missing one is
 * ERR_CONFIG naming the address) and for our own certificate. */
int smime_encrypt(const char *data, size_t n, char *const *to, size_t nto,
                  const struct crypt_opts *o, struct buf *der, struct err *e);

#endif

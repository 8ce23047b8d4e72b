/*
 * Signed and encrypted mail, the common part: the verdict type shared by OpenPGP (pgp.c,
 * GPGME) and S/MIME (smime.c, OpenSSL CMS), the pure structure functions (which MIME part is
 * a PGP/MIME or S/MIME container, where inline PGP armor is), and the outgoing wrapper.
 */
#ifndef TERN_CRYPT_H
#define TERN_CRYPT_H

#include <stdbool.h>
#include <stddef.h>

#include "tern/buf.h"
#include "tern/err.h"
#include "tern/mime.h"

/* What a MIME part is, judged from its Content-Type alone (no cryptography). */
enum crypt_kind {
    CRYPT_NONE = 0,
    CRYPT_PGP_SIGNED,       /* multipart/signed; protocol="application/pgp-signature" */
    CRYPT_PGP_ENCRYPTED,    /* multipart/encrypted; protocol="application/pgp-encrypted" */
    CRYPT_SMIME_SIGNED,     /* multipart/signed; protocol="application/(x-)pkcs7-signature" */
    CRYPT_SMIME_OPAQUE,     /* application/(x-)pkcs7-mime: signed-data or enveloped-data */
};

/* Marks for the message list and `tern scan`, from the top-level Content-Type. */
#define CRYPT_MARK_SIGNED    0x1
#define CRYPT_MARK_ENCRYPTED 0x2

enum crypt_kind crypt_kind_of(const struct mime_part *p);
/* The marks for a message whose top-level Content-Type field value is v[0..n). */
int crypt_mark(const char *v, size_t n);
/* Marks for a whole message: any encrypted or signed part anywhere in its tree, inline PGP
 * blocks included. *smime (may be NULL) tells whether an encrypted part was S/MIME. */
int crypt_scan(const char *msg, size_t len, bool *smime);
/* For application/pkcs7-mime: true when smime-type (or the name) says enveloped-data. */
bool crypt_smime_enveloped(const struct mime_part *p);

enum crypt_armor { CRYPT_ARMOR_NONE, CRYPT_ARMOR_SIGNED, CRYPT_ARMOR_MESSAGE };
/*
 * The first inline PGP block in text s[0..n): "-----BEGIN PGP SIGNED MESSAGE-----" through
 * "-----END PGP SIGNATURE-----", or "-----BEGIN PGP MESSAGE-----" through
 * "-----END PGP MESSAGE-----", each at the start of a line. *start is the offset of the
 * BEGIN line, *end the offset just past the END line (and its newline). A block without
 * its END line is not armor.
 */
enum crypt_armor crypt_armor_find(const char *s, size_t n, size_t *start, size_t *end);

/* s with every line ending made CRLF (what RFC 3156 and RFC 8551 sign). */
void crypt_canon(const char *s, size_t n, struct buf *out);
/* The bytes a multipart/signed first child covers: its header block and body. */
void crypt_part_bytes(const struct mime_part *p, const char **s, size_t *n);

enum crypt_status {
    CRYPT_SIG_GOOD,         /* the content is what was signed */
    CRYPT_SIG_BAD,          /* the content was changed after signing */
    CRYPT_SIG_NOKEY,        /* the signer's key or certificate is not known */
    CRYPT_SIG_EXPIRED,      /* good, but the key, certificate or signature has expired */
    CRYPT_SIG_REVOKED,      /* good, but the key or certificate is revoked */
    CRYPT_SIG_ERROR,        /* could not be checked (detail says why) */
};

struct crypt_sig {
    bool smime;
    enum crypt_status status;
    bool trusted;           /* the key is valid in the web of trust / the chain verifies */
    char *signer;           /* user id or certificate subject; NULL when unknown */
    char *keyid;            /* fingerprint or certificate serial; NULL when unknown */
    char *detail;           /* why, for BAD and ERROR; NULL otherwise */
    bool not_from;          /* the signer's identity does not hold the From address */
};

struct crypt_result {
    struct crypt_sig *sigs;
    size_t nsigs;
};

void crypt_result_free(struct crypt_result *r);
void crypt_result_add(struct crypt_result *r, const struct crypt_sig *s);
/* Zero b's bytes, then free it: decrypted text must not go back to the heap readable. */
void crypt_wipe(struct buf *b);
/* One line (no newline, not yet sanitised): "PGP signature: GOOD from ..., key ..., trusted". */
void crypt_sig_line(const struct crypt_sig *s, struct buf *out);

/* Keys and certificates: an account's settings plus the certificate store. */
struct crypt_opts {
    const char *pgp_key;      /* signing key (id, fingerprint or address); NULL: From */
    const char *smime_cert;   /* PEM file: our certificate */
    const char *smime_key;    /* PEM file: our private key (unprotected) */
    char *smime_dir;          /* MAIL_ROOT/.tern/smime: certs/ADDRESS.pem, ca.pem (owned) */
    bool no_gpg;              /* never start gpg: OpenPGP parts are "not checked" (the fuzz
                                 target walks the structure, and parses CMS, without it) */
};

/*
 * The message with its top-level encryption taken off, in memory: the outer fields (not the
 * Content-* ones, not those the decrypted entity has) and then the decrypted entity, whose
 * fields (protected headers included) win; a signature inside is dropped (the entity it
 * covers is kept). 1 when msg was encrypted and is now in out, 0 when it was not encrypted
 * (out untouched), -1 with e when it could not be decrypted. *smime (may be NULL) tells
 * which kind it was. For resuming a postponed encrypted draft.
 */
int crypt_unwrap(const char *msg, size_t len, const struct crypt_opts *o, struct buf *out,
                 bool *smime, struct err *e);

struct account;
/* o from an account's settings (a may be NULL) and the store under mail_root (may be NULL).
 * The strings are borrowed from a except smime_dir; free with crypt_opts_free. */
void crypt_opts_init(struct crypt_opts *o, const char *mail_root, const struct account *a);
void crypt_opts_free(struct crypt_opts *o);

/* Outgoing: what to do to a message. */
#define CRYPT_SIGN    0x1
#define CRYPT_ENCRYPT 0x2
#define CRYPT_SMIME   0x4     /* S/MIME instead of PGP/MIME */

/*
 * Replace the complete message msg (LF or CRLF line ends; the result has LF) by its signed
 * and/or encrypted form (flags). Signing uses o->pgp_key (else the From address) or
 * o->smime_cert/smime_key.
 * Encrypting needs a key for every address in rcpts and for the sender (so the Sent copy
 * stays readable); a missing one is ERR_CONFIG naming the recipient. An envelope recipient
 * that is not in To or Cc (a Bcc) is refused for encryption (ERR_CONFIG): the key ids in
 * the ciphertext would reveal it to every recipient. Encrypted messages carry their
 * Subject, From, To, Cc and Date as protected headers inside; the outer Subject is "[...]".
 */
int crypt_protect(struct buf *msg, int flags, const struct crypt_opts *o, char *const *rcpts,
                  size_t nrcpts, struct err *e);
/*
 * crypt_protect with an account's defaults: crypt_sign and crypt_smime, with the caller's
 * on/off CRYPT_* bits over them, and crypt_encrypt_when_possible, which encrypts when every
 * key is there and none of rcpts is a Bcc, and otherwise leaves the message unencrypted
 * (an explicit CRYPT_ENCRYPT in on never falls back). Used by `tern send` and the compose
 * screen. mail_root locates the S/MIME store.
 */
int crypt_protect_account(struct buf *msg, const struct account *a, const char *mail_root,
                          int on, int off, char *const *rcpts, size_t nrcpts, struct err *e);

#endif

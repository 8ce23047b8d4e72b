/* Signed and encrypted mail, the common part: container detection, inline armor, the
 * verdict line, and wrapping an outgoing message in PGP/MIME or S/MIME. */
#include "config.h"

#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tern/codec.h"
#include "tern/config.h"
#include "tern/crypt.h"
#include "tern/encword.h"
#include "tern/header.h"
#include "tern/pgp.h"
#include "tern/smime.h"
#include "tern/str.h"
#include "tern/xalloc.h"

/* ---- what a part is ---- */

static char *ct_param(const struct mime_part *p, const char *name)
{
    struct hdr_field f;

    if (hdr_find(p->hdr, p->hdr_len, "content-type", &f) != 1)
        return NULL;
    return mime_param(f.value, f.value_len, name);
}

static enum crypt_kind kind_of(const char *type, const char *protocol)
{
    if (strcmp(type, "multipart/signed") == 0 && protocol) {
        if (str_casecmp(protocol, "application/pgp-signature") == 0)
            return CRYPT_PGP_SIGNED;
        if (str_casecmp(protocol, "application/pkcs7-signature") == 0 ||
            str_casecmp(protocol, "application/x-pkcs7-signature") == 0)
            return CRYPT_SMIME_SIGNED;
    }
    if (strcmp(type, "multipart/encrypted") == 0 && protocol &&
        str_casecmp(protocol, "application/pgp-encrypted") == 0)
        return CRYPT_PGP_ENCRYPTED;
    if (strcmp(type, "application/pkcs7-mime") == 0 ||
        strcmp(type, "application/x-pkcs7-mime") == 0)
        return CRYPT_SMIME_OPAQUE;
    return CRYPT_NONE;
}

enum crypt_kind crypt_kind_of(const struct mime_part *p)
{
    char *proto;
    enum crypt_kind k;

    if (strncmp(p->type, "multipart/", 10) != 0)
        return kind_of(p->type, NULL);
    proto = ct_param(p, "protocol");
    k = kind_of(p->type, proto);
    free(proto);
    return k;
}

bool crypt_smime_enveloped(const struct mime_part *p)
{
    char *t = ct_param(p, "smime-type");
    bool env;

    if (t) {
        env = str_casecmp(t, "enveloped-data") == 0 || str_casecmp(t, "authEnveloped-data") == 0;
        free(t);
        return env;
    }
    /* No smime-type (old agents): "smime.p7m" is enveloped far more often than signed. */
    return true;
}

/* Can a Content-Type value of this type be signed or encrypted? Told without copying or
 * parsing parameters: the index asks it of every message, and most are text/ or
 * multipart/mixed. A longer type that starts the same way is left to kind_of. */
static bool crypt_type_possible(const char *v, size_t n)
{
    static const char *const types[] = { "multipart/signed", "multipart/encrypted",
                                         "application/pkcs7-mime", "application/x-pkcs7-mime" };
    size_t i = 0;

    while (i < n && (v[i] == ' ' || v[i] == '\t' || v[i] == '\r' || v[i] == '\n'))
        i++;
    for (size_t k = 0; k < sizeof types / sizeof types[0]; k++) {
        size_t len = strlen(types[k]);

        if (n - i >= len && str_ncasecmp(v + i, types[k], len) == 0)
            return true;
    }
    return false;
}

int crypt_mark(const char *v, size_t n)
{
    char *type, *proto, *st;
    int m = 0;

    if (!crypt_type_possible(v, n))
        return 0;
    type = mime_value_token(v, n);
    proto = mime_param(v, n, "protocol");
    st = mime_param(v, n, "smime-type");

    switch (kind_of(type, proto)) {
    case CRYPT_PGP_SIGNED:
    case CRYPT_SMIME_SIGNED:
        m = CRYPT_MARK_SIGNED;
        break;
    case CRYPT_PGP_ENCRYPTED:
        m = CRYPT_MARK_ENCRYPTED;
        break;
    case CRYPT_SMIME_OPAQUE:
        m = st && str_casecmp(st, "signed-data") == 0 ? CRYPT_MARK_SIGNED : CRYPT_MARK_ENCRYPTED;
        break;
    case CRYPT_NONE:
        break;
    }
    free(type);
    free(proto);
    free(st);
    return m;
}

int crypt_scan(const char *msg, size_t len, bool *smime)
{
    struct mime_tree t;
    int m = 0;

    if (smime)
        *smime = false;
    mime_parse(msg, len, &t);
    for (size_t i = 0; i < t.n; i++) {
        const struct mime_part *p = &t.parts[i];
        enum crypt_kind k = crypt_kind_of(p);

        if (k == CRYPT_PGP_ENCRYPTED || (k == CRYPT_SMIME_OPAQUE && crypt_smime_enveloped(p))) {
            m |= CRYPT_MARK_ENCRYPTED;
            if (smime && k == CRYPT_SMIME_OPAQUE)
                *smime = true;
        } else if (k != CRYPT_NONE) {
            m |= CRYPT_MARK_SIGNED;
        } else if (strcmp(p->type, "text/plain") == 0) {
            struct buf raw = BUF_INIT;
            size_t s, e;

            mime_decode(p, &raw);
            switch (crypt_armor_find(raw.ptr ? raw.ptr : "", raw.len, &s, &e)) {
            case CRYPT_ARMOR_MESSAGE: m |= CRYPT_MARK_ENCRYPTED; break;
            case CRYPT_ARMOR_SIGNED: m |= CRYPT_MARK_SIGNED; break;
            case CRYPT_ARMOR_NONE: break;
            }
            buf_free(&raw);
        }
    }
    mime_free(&t);
    return m;
}

/* ---- inline armor ---- */

/* Offset of the line starting with what at or after from, or n. */
static size_t find_line(const char *s, size_t n, size_t from, const char *what)
{
    size_t wl = strlen(what);

    for (size_t i = from; i < n;) {
        const char *nl = memchr(s + i, '\n', n - i);
        size_t end = nl ? (size_t)(nl - s) : n;

        if (end - i >= wl && memcmp(s + i, what, wl) == 0)
            return i;
        i = end + 1;
    }
    return n;
}

static size_t past_line(const char *s, size_t n, size_t i)
{
    const char *nl = memchr(s + i, '\n', n - i);

    return nl ? (size_t)(nl - s) + 1 : n;
}

enum crypt_armor crypt_armor_find(const char *s, size_t n, size_t *start, size_t *end)
{
    static const struct {
        const char *begin, *end;
        enum crypt_armor kind;
    } k[] = {
        { "-----BEGIN PGP SIGNED MESSAGE-----", "-----END PGP SIGNATURE-----", CRYPT_ARMOR_SIGNED },
        { "-----BEGIN PGP MESSAGE-----", "-----END PGP MESSAGE-----", CRYPT_ARMOR_MESSAGE },
    };
    size_t best = n, best_end = n;
    enum crypt_armor kind = CRYPT_ARMOR_NONE;

    for (size_t i = 0; i < sizeof k / sizeof k[0]; i++) {
        size_t b = find_line(s, n, 0, k[i].begin), e;

        if (b >= best)
            continue;
        e = find_line(s, n, past_line(s, n, b), k[i].end);
        if (e == n)
            continue;
        best = b;
        best_end = past_line(s, n, e);
        kind = k[i].kind;
    }
    if (kind != CRYPT_ARMOR_NONE) {
        *start = best;
        *end = best_end;
    }
    return kind;
}

/* ---- bytes ---- */

void crypt_canon(const char *s, size_t n, struct buf *out)
{
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '\n' && (i == 0 || s[i - 1] != '\r'))
            buf_addc(out, '\r');
        buf_addc(out, s[i]);
    }
}

void crypt_part_bytes(const struct mime_part *p, const char **s, size_t *n)
{
    const char *start = p->hdr_len ? p->hdr : p->body;

    *s = start;
    *n = (size_t)(p->body + p->body_len - start);
}

/* ---- verdicts ---- */

void crypt_result_add(struct crypt_result *r, const struct crypt_sig *s)
{
    r->sigs = xreallocarray(r->sigs, r->nsigs + 1, sizeof *r->sigs);
    r->sigs[r->nsigs++] = *s;
}

void crypt_result_free(struct crypt_result *r)
{
    for (size_t i = 0; i < r->nsigs; i++) {
        free(r->sigs[i].signer);
        free(r->sigs[i].keyid);
        free(r->sigs[i].detail);
    }
    free(r->sigs);
    r->sigs = NULL;
    r->nsigs = 0;
}

void crypt_wipe(struct buf *b)
{
    if (b->ptr)
        memset(b->ptr, 0, b->cap);
    buf_free(b);
}

void crypt_sig_line(const struct crypt_sig *s, struct buf *out)
{
    static const char *const word[] = {
        [CRYPT_SIG_GOOD] = "GOOD signature",
        [CRYPT_SIG_BAD] = "BAD signature",
        [CRYPT_SIG_NOKEY] = "signature by an UNKNOWN key",
        [CRYPT_SIG_EXPIRED] = "good signature by an EXPIRED key",
        [CRYPT_SIG_REVOKED] = "good signature by a REVOKED key",
        [CRYPT_SIG_ERROR] = "signature NOT CHECKED",
    };

    buf_printf(out, "%s %s", s->smime ? "S/MIME" : "PGP", word[s->status]);
    if (s->signer)
        buf_printf(out, " from %s", s->signer);
    if (s->keyid)
        buf_printf(out, ", %s%s", s->smime ? "" : "key ", s->keyid);
    if (s->status == CRYPT_SIG_GOOD)
        buf_adds(out, s->trusted ? ", trusted" : s->smime ? ", certificate NOT trusted"
                                                            : ", key NOT certified (not trusted)");
    if (s->detail)
        buf_printf(out, " (%s)", s->detail);
    if (s->not_from)
        buf_adds(out, ", signer is NOT the From address");
}

/* ---- settings ---- */

void crypt_opts_init(struct crypt_opts *o, const char *mail_root, const struct account *a)
{
    memset(o, 0, sizeof *o);
    if (a) {
        o->pgp_key = a->pgp_key;
        o->smime_cert = a->smime_cert;
        o->smime_key = a->smime_key;
    }
    if (mail_root) {
        struct buf b = BUF_INIT;

        buf_printf(&b, "%s/.tern/smime", mail_root);
        o->smime_dir = buf_detach(&b);
    }
}

void crypt_opts_free(struct crypt_opts *o)
{
    free(o->smime_dir);
    o->smime_dir = NULL;
}

/* ---- outgoing ---- */

int crypt_protect_account(struct buf *msg, const struct account *a, const char *mail_root,
                          int on, int off, char *const *rcpts, size_t nrcpts, struct err *e)
{
    int flags = ((a && a->crypt_sign ? CRYPT_SIGN : 0) | (a && a->crypt_smime ? CRYPT_SMIME : 0) |
                 on) & ~off;
    bool maybe = a && a->crypt_encrypt_when_possible && !((on | off) & CRYPT_ENCRYPT);
    struct crypt_opts co;
    int rc;

    if (!(flags & (CRYPT_SIGN | CRYPT_ENCRYPT)) && !maybe)
        return 0;
    crypt_opts_init(&co, mail_root, a);
    rc = maybe ? crypt_protect(msg, flags | CRYPT_ENCRYPT, &co, rcpts, nrcpts, e) : -1;
    if (rc < 0)
        rc = crypt_protect(msg, flags, &co, rcpts, nrcpts, e);
    crypt_opts_free(&co);
    return rc;
}

static void random_boundary(char *out, size_t n)
{
    unsigned char rnd[9];

    if (RAND_bytes(rnd, sizeof rnd) != 1)
        memset(rnd, 0x5a, sizeof rnd);
    snprintf(out, n, "=_tern_crypt_%02x%02x%02x%02x%02x%02x%02x%02x%02x", rnd[0], rnd[1],
             rnd[2], rnd[3], rnd[4], rnd[5], rnd[6], rnd[7], rnd[8]);
}

static bool is_field(const struct hdr_field *f, const char *name)
{
    return f->name_len == strlen(name) && str_ncasecmp(f->name, name, f->name_len) == 0;
}

static bool is_content_field(const struct hdr_field *f)
{
    return f->name_len > 8 && str_ncasecmp(f->name, "content-", 8) == 0;
}

static void add_field(struct buf *out, const struct hdr_field *f)
{
    buf_add(out, f->name, f->name_len);
    buf_add(out, ": ", 2);
    buf_add(out, f->value, f->value_len);
    if (f->value_len == 0 || f->value[f->value_len - 1] != '\n')
        buf_addc(out, '\n');
}

static bool has_8bit(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)s[i] >= 0x80 || s[i] == '\0')
            return true;
    return false;
}

/* The MIME entity of msg (its Content-* fields and body) made 7-bit, as signing needs. For
 * encryption (prot), the Subject, From, To, Cc, Date and Reply-To fields go inside as
 * protected headers. */
static int inner_entity(const char *msg, size_t len, bool prot, struct buf *out, struct err *e)
{
    size_t hl = hdr_block_len(msg, len), pos = 0;
    const char *body = msg + hl;
    size_t blen = len - hl;
    struct hdr_field f;
    bool have_ct = false, recode = false, multipart = false;

    if (hdr_find(msg, hl, "content-type", &f) == 1) {
        char *t = mime_value_token(f.value, f.value_len);

        multipart = strncmp(t, "multipart/", 10) == 0;
        free(t);
    }
    if (has_8bit(body, blen)) {
        if (multipart)
            return err_set(e, ERR_PARSE, "8-bit text inside a multipart message: it cannot be "
                           "signed or encrypted safely (send it as quoted-printable or base64)");
        recode = true;
    }
    while (hdr_next(msg, hl, &pos, &f) == 1) {
        if (!is_content_field(&f))
            continue;
        if (recode && is_field(&f, "content-transfer-encoding"))
            continue;
        if (is_field(&f, "content-type")) {
            have_ct = true;
            if (prot) {
                buf_add(out, f.name, f.name_len);
                buf_add(out, ": ", 2);
                buf_add(out, f.value, f.value_len);
                while (out->len && (out->ptr[out->len - 1] == '\n' ||
                                    out->ptr[out->len - 1] == ' '))
                    out->len--;
                buf_adds(out, ";\n protected-headers=\"v1\"\n");
                continue;
            }
        }
        add_field(out, &f);
    }
    if (!have_ct)
        buf_printf(out, "Content-Type: text/plain; charset=utf-8%s\n",
                   prot ? ";\n protected-headers=\"v1\"" : "");
    if (prot) {
        static const char *const keep[] = { "Subject", "From", "To", "Cc", "Date", "Reply-To",
                                            "Message-ID" };
        for (size_t k = 0; k < sizeof keep / sizeof keep[0]; k++)
            if (hdr_find(msg, hl, keep[k], &f) == 1)
                add_field(out, &f);
    }
    if (recode) {
        buf_adds(out, "Content-Transfer-Encoding: base64\n\n");
        codec_b64_encode_lines(body, blen, out);
    } else {
        buf_addc(out, '\n');
        buf_add(out, body, blen);
    }
    return 0;
}

/*
 * gpgme's ASCII armour (CRLF) as a body part of our LF entity; out already holds the part's
 * header, so it is never empty, and the part ends with a line end before the next delimiter.
 */
static void add_armour(struct buf *out, const struct buf *armour)
{
    for (size_t i = 0; i < armour->len; i++)
        if (armour->ptr[i] != '\r')
            buf_addc(out, armour->ptr[i]);
    if (out->ptr[out->len - 1] != '\n')
        buf_addc(out, '\n');
}

/* An S/MIME body part: its Content-Type, then the DER object der in base64, as file. */
static void add_pkcs7(struct buf *out, const char *ctype, const char *file, const struct buf *der)
{
    buf_printf(out, "Content-Type: %s\nContent-Transfer-Encoding: base64\n"
               "Content-Disposition: attachment; filename=\"%s\"\n\n", ctype, file);
    codec_b64_encode_lines(der->ptr, der->len, out);
}

/* entity (LF) → a multipart/signed entity (LF) with its signature. */
static int sign_entity(const struct buf *entity, bool smime, const struct crypt_opts *o,
                       const char *signer, struct buf *out, struct err *e)
{
    struct buf canon = BUF_INIT, sig = BUF_INIT;
    size_t n = entity->len;
    char b[48], *micalg = NULL;
    int rc;

    /* The newline before the closing delimiter belongs to the delimiter (RFC 2046). */
    if (n > 0 && entity->ptr[n - 1] == '\n')
        n--;
    crypt_canon(entity->ptr, n, &canon);
    rc = smime ? smime_sign(canon.ptr, canon.len, o, &sig, e)
               : pgp_sign(canon.ptr, canon.len, signer, &sig, &micalg, e);
    buf_free(&canon);
    if (rc < 0) {
        buf_free(&sig);
        return -1;
    }
    random_boundary(b, sizeof b);
    if (smime)
        buf_printf(out, "Content-Type: multipart/signed; protocol=\"application/pkcs7-signature\";"
                   "\n micalg=sha-256; boundary=\"%s\"\n\n"
                   "This is a cryptographically signed message in MIME format.\n\n", b);
    else
        buf_printf(out, "Content-Type: multipart/signed; protocol=\"application/pgp-signature\";"
                   "\n micalg=%s; boundary=\"%s\"\n\n"
                   "This is an OpenPGP/MIME signed message (RFC 4880 and 3156).\n\n", micalg, b);
    buf_printf(out, "--%s\n", b);
    buf_add(out, entity->ptr, n);
    buf_printf(out, "\n--%s\n", b);
    if (smime) {
        add_pkcs7(out, "application/pkcs7-signature; name=\"smime.p7s\"", "smime.p7s", &sig);
    } else {
        buf_adds(out, "Content-Type: application/pgp-signature; name=\"signature.asc\"\n"
                 "Content-Description: OpenPGP digital signature\n"
                 "Content-Disposition: attachment; filename=\"signature.asc\"\n\n");
        add_armour(out, &sig);
    }
    buf_printf(out, "--%s--\n", b);
    free(micalg);
    buf_free(&sig);
    return 0;
}

static int encrypt_entity(const struct buf *entity, bool smime, bool sign,
                          const struct crypt_opts *o, const char *signer, char *const *to,
                          size_t nto, struct buf *out, struct err *e)
{
    struct buf canon = BUF_INIT, c = BUF_INIT, signed_ent = BUF_INIT;
    const struct buf *plain = entity;
    int rc;

    if (smime && sign) {
        /* S/MIME signs first, then envelopes the signed entity (RFC 8551 3.7). */
        if (sign_entity(entity, true, o, signer, &signed_ent, e) < 0)
            return -1;
        plain = &signed_ent;
    }
    crypt_canon(plain->ptr, plain->len, &canon);
    rc = smime ? smime_encrypt(canon.ptr, canon.len, to, nto, o, &c, e)
               : pgp_encrypt(canon.ptr, canon.len, to, nto, sign ? signer : NULL, &c, e);
    buf_free(&canon);
    buf_free(&signed_ent);
    if (rc < 0) {
        buf_free(&c);
        return -1;
    }
    if (smime) {
        add_pkcs7(out, "application/pkcs7-mime; smime-type=enveloped-data;\n name=\"smime.p7m\"",
                  "smime.p7m", &c);
    } else {
        char b[48];

        random_boundary(b, sizeof b);
        buf_printf(out, "Content-Type: multipart/encrypted;\n"
                   " protocol=\"application/pgp-encrypted\"; boundary=\"%s\"\n\n"
                   "This is an OpenPGP/MIME encrypted message (RFC 4880 and 3156).\n\n"
                   "--%s\nContent-Type: application/pgp-encrypted\n"
                   "Content-Description: PGP/MIME version identification\n\nVersion: 1\n\n"
                   "--%s\nContent-Type: application/octet-stream; name=\"encrypted.asc\"\n"
                   "Content-Description: OpenPGP encrypted message\n"
                   "Content-Disposition: inline; filename=\"encrypted.asc\"\n\n", b, b, b);
        add_armour(out, &c);
        buf_printf(out, "--%s--\n", b);
    }
    buf_free(&c);
    return 0;
}

/* Every address in the To and Cc fields of the header block h. */
static bool visible(const char *h, size_t hl, const char *addr)
{
    size_t pos = 0;
    struct hdr_field f;
    bool found = false;

    while (!found && hdr_next(h, hl, &pos, &f) == 1) {
        struct addr *a;
        size_t n;

        if (!is_field(&f, "to") && !is_field(&f, "cc"))
            continue;
        addr_parse_list(f.value, f.value_len, &a, &n);
        for (size_t i = 0; i < n; i++)
            if (a[i].mailbox && str_casecmp(a[i].mailbox, addr) == 0)
                found = true;
        addr_list_free(a, n);
    }
    return found;
}

int crypt_protect(struct buf *msg, int flags, const struct crypt_opts *o, char *const *rcpts,
                  size_t nrcpts, struct err *e)
{
    const char *m = msg->ptr ? msg->ptr : "";
    size_t hl = hdr_block_len(m, msg->len), pos = 0;
    bool smime = flags & CRYPT_SMIME, enc = flags & CRYPT_ENCRYPT, sign = flags & CRYPT_SIGN;
    struct buf entity = BUF_INIT, wrapped = BUF_INIT, out = BUF_INIT;
    struct hdr_field f;
    char *from = NULL, **to = NULL, *own = NULL;
    const char *signer;
    size_t nto = 0;
    int rc = -1;

    if (!(flags & (CRYPT_SIGN | CRYPT_ENCRYPT)))
        return 0;
    if (memchr(msg->ptr ? msg->ptr : "", '\r', msg->len)) {
        /* CRLF in, LF out, like the rest of the outgoing path (the sender adds CR) */
        struct buf lf = BUF_INIT;

        for (size_t k = 0; k < msg->len; k++)
            if (!(msg->ptr[k] == '\r' && k + 1 < msg->len && msg->ptr[k + 1] == '\n'))
                buf_addc(&lf, msg->ptr[k]);
        buf_free(msg);
        *msg = lf;
        m = msg->ptr ? msg->ptr : "";
        hl = hdr_block_len(m, msg->len);
    }
    if (hdr_find(m, hl, "from", &f) == 1)
        from = addr_first_mailbox(f.value, f.value_len);
    signer = o && o->pgp_key ? o->pgp_key : from;
    if (sign && !smime && signer == NULL) {
        err_set(e, ERR_CONFIG, "OpenPGP: no From address and no pgp_key to sign with");
        goto out;
    }
    if (enc) {
        for (size_t i = 0; i < nrcpts; i++) {
            if (!visible(m, hl, rcpts[i])) {
                err_set(e, ERR_CONFIG, "%s is a Bcc recipient: an encrypted message would "
                        "reveal it to the others; send it to %s separately", rcpts[i], rcpts[i]);
                goto out;
            }
        }
        to = xcalloc(nrcpts + 1, sizeof *to);
        for (size_t i = 0; i < nrcpts; i++)
            to[nto++] = rcpts[i];
        if (signer && !smime)   /* our own key (pgp_key, else From): Sent stays readable */
            to[nto++] = own = xstrdup(signer);
        if (nto == 0 && !smime) {   /* GPGME would fall back to a passphrase */
            err_set(e, ERR_CONFIG, "OpenPGP: no recipient and no From address to encrypt to");
            goto out;
        }
    }
    if (inner_entity(m, msg->len, enc, &entity, e) < 0)
        goto out;
    if (enc)
        rc = encrypt_entity(&entity, smime, sign, o, signer, to, nto, &wrapped, e);
    else
        rc = sign_entity(&entity, smime, o, signer, &wrapped, e);
    if (rc < 0)
        goto out;
    while (hdr_next(m, hl, &pos, &f) == 1) {
        if (is_content_field(&f) || is_field(&f, "mime-version"))
            continue;
        if (enc && is_field(&f, "subject")) {
            buf_adds(&out, "Subject: [...]\n");
            continue;
        }
        add_field(&out, &f);
    }
    buf_adds(&out, "MIME-Version: 1.0\n");
    buf_add(&out, wrapped.ptr, wrapped.len);
    buf_free(msg);
    *msg = out;
    out = (struct buf)BUF_INIT;
    rc = 0;
out:
    buf_free(&entity);
    buf_free(&wrapped);
    buf_free(&out);
    free(to);
    free(own);
    free(from);
    return rc;
}

/* ---- taking the encryption off ---- */

/* Index of the n-th (0-based) child of part p, or -1. */
static int child(const struct mime_tree *t, int p, int n)
{
    for (size_t i = (size_t)p + 1; i < t->n; i++)
        if (t->parts[i].parent == p && n-- == 0)
            return (int)i;
    return -1;
}

static bool has_field(const char *h, size_t hl, const struct hdr_field *f)
{
    char name[80];
    struct hdr_field g;

    if (f->name_len >= sizeof name)
        return false;
    memcpy(name, f->name, f->name_len);
    name[f->name_len] = '\0';
    return hdr_find(h, hl, name, &g) == 1;
}

int crypt_unwrap(const char *msg, size_t len, const struct crypt_opts *o, struct buf *out,
                 bool *smime, struct err *e)
{
    struct mime_tree t, in;
    struct buf der = BUF_INIT, plain = BUF_INIT, lf = BUF_INIT;
    struct crypt_result r = { 0 };
    enum crypt_kind k;
    bool env = false;
    int rc = 0, data;

    if (smime)
        *smime = false;
    mime_parse(msg, len, &t);
    k = crypt_kind_of(&t.parts[0]);
    if (k == CRYPT_PGP_ENCRYPTED && (data = child(&t, 0, 1)) >= 0) {
        mime_decode(&t.parts[data], &der);
        rc = pgp_decrypt(der.ptr ? der.ptr : "", der.len, &plain, &r, e) < 0 ? -1 : 1;
    } else if (k == CRYPT_SMIME_OPAQUE && crypt_smime_enveloped(&t.parts[0])) {
        mime_decode(&t.parts[0], &der);
        rc = smime_open(der.ptr ? der.ptr : "", der.len, o, &plain, &env, &r, e) < 0 ? -1
             : env ? 1 : 0;
        if (smime)
            *smime = true;
    }
    if (rc == 1) {
        const char *s, *h = t.parts[0].hdr;
        size_t n, pos = 0, hl = t.parts[0].hdr_len, ihl;
        struct hdr_field f;

        for (size_t i = 0; i < plain.len; i++)
            if (!(plain.ptr[i] == '\r' && i + 1 < plain.len && plain.ptr[i + 1] == '\n'))
                buf_addc(&lf, plain.ptr[i]);
        mime_parse(lf.ptr ? lf.ptr : "", lf.len, &in);
        s = lf.ptr ? lf.ptr : "";
        n = lf.len;
        k = crypt_kind_of(&in.parts[0]);
        if ((k == CRYPT_PGP_SIGNED || k == CRYPT_SMIME_SIGNED) && child(&in, 0, 0) >= 0)
            crypt_part_bytes(&in.parts[child(&in, 0, 0)], &s, &n);
        ihl = hdr_block_len(s, n);
        while (hdr_next(h, hl, &pos, &f) == 1)
            if (!is_content_field(&f) && !is_field(&f, "mime-version") && !has_field(s, ihl, &f))
                add_field(out, &f);
        buf_adds(out, "MIME-Version: 1.0\n");
        buf_add(out, s, n);
        if (n == 0 || s[n - 1] != '\n')
            buf_addc(out, '\n');
        mime_free(&in);
    }
    crypt_result_free(&r);
    crypt_wipe(&plain);
    crypt_wipe(&lf);
    buf_free(&der);
    mime_free(&t);
    return rc;
}

/* Rendering a message for the pager and `tern show`: which parts are shown, the header
 * block, attachments, part extraction, and the terminal-safety and width helpers. */
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <wchar.h>

#include "tern/codec.h"
#include "tern/crypt.h"
#include "tern/header.h"
#include "tern/mime.h"
#include "tern/pgp.h"
#include "tern/render.h"
#include "tern/smime.h"
#include "tern/str.h"
#include "tern/xalloc.h"

void render_sanitize(const char *s, size_t n, struct buf *out)
{
    codec_sanitize(s, n, CODEC_SAN_TEXT, out);
}

/* ---- widths ---- */

size_t render_width(const char *s, size_t n)
{
    return utf8_width(s, n);
}

size_t render_fit(const char *s, size_t n, size_t cols)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t i = 0, used = 0;

    while (i < n) {
        size_t l = utf8_seqlen(p + i, n - i);
        int w;

        if (l == 0) {
            w = 1;
            l = 1;
        } else {
            w = wcwidth((wchar_t)utf8_decode(p + i, l));
            if (w < 0)
                w = l == 1 ? 0 : 1;
        }
        if (used + (size_t)w > cols)
            break;
        used += (size_t)w;
        i += l;
    }
    return i;
}

void render_pad(const char *s, size_t n, size_t cols, struct buf *out)
{
    size_t fit = render_fit(s, n, cols), w = render_width(s, fit);

    buf_add(out, s, fit);
    for (; w < cols; w++)
        buf_addc(out, ' ');
}

char *render_safe_filename(const char *name)
{
    const char *base = name;
    struct buf b = BUF_INIT, clean = BUF_INIT;
    size_t s = 0;

    if (name == NULL)
        return NULL;
    for (const char *p = name; *p; p++)
        if (*p == '/' || *p == '\\')
            base = p + 1;
    /* Controls become visible notation (^[): harmless in a file name, and the user sees
     * that the sender tried something. */
    codec_sanitize(base, strlen(base), CODEC_SAN_LINE, &b);
    buf_add(&clean, b.ptr ? b.ptr : "", b.len);
    buf_free(&b);
    while (s < clean.len && (clean.ptr[s] == '.' || clean.ptr[s] == ' ' || clean.ptr[s] == '-'))
        s++;
    if (s >= clean.len) {
        buf_free(&clean);
        return NULL;
    }
    {
        size_t n = clean.len - s;
        char *r;

        if (n > 200)
            n = render_fit(clean.ptr + s, 200, 200);   /* whole characters */
        while (n > 0 && clean.ptr[s + n - 1] == ' ')
            n--;
        r = xmemdup0(clean.ptr + s, n);
        buf_free(&clean);
        return r;
    }
}

/* ---- which parts are shown ---- */

/* Shared by a walk and the walks over decrypted content inside it. */
struct cstate {
    int protect;          /* > 0 while inside a signed or encrypted envelope */
    bool any;             /* the message has one: parts outside it are marked */
    bool have_prot;       /* protected headers found (prot holds them) */
    struct buf prot;      /* header block of the encrypted top-level entity */
    struct buf sink;      /* verdict lines when they are not wanted (quoting) */
    char *from;           /* the message's From mailbox, to compare signers with */
    int ops;              /* checks and decryptions so far (RENDER_MAX_CRYPT_OPS) */
    int next;             /* the last part number given: envelopes' parts come after */
    struct buf inner;     /* the attachment list's lines for parts inside envelopes */
};

/* One envelope (PGP/MIME multipart/encrypted, S/MIME application/pkcs7-mime) opened: what
 * came out, parsed, and the numbers its parts have. */
struct kept {
    const struct mime_part *key;   /* the envelope, in the tree it was found in */
    int rc;                        /* 0 opened; -1 not, why says why */
    char why[sizeof ((struct err *)0)->msg];
    bool enveloped;                /* decrypted (else S/MIME opaque signed-data) */
    struct buf plain;              /* the content: wiped before it is freed */
    struct crypt_result r;
    struct mime_tree t;            /* over plain, when rc is 0 */
    char *shown;                   /* per part of t: 1 shown inline (when kept) */
    int base;                      /* part k of t is number base + t.parts[k].number */
};

struct render_keep {
    struct kept **v;
    size_t n, cap;
};

struct walk {
    const struct mime_tree *t;
    struct cstate *cs;    /* NULL: no cryptography (o->crypt is NULL) */
    char *unprot;         /* per part: listed attachment outside any envelope */
    const struct render_opts *o;
    int base;             /* added to this tree's part numbers (0 for the message) */
    int *first_child, *next_sibling;
    char *shown;          /* per part: 1 shown inline, 2 hidden alternative */
    char *attach;         /* per part: listed as attachment */
    struct buf *body;     /* NULL when only deciding */
};

static bool is_type(const struct mime_part *p, const char *t)
{
    return strcmp(p->type, t) == 0;
}

/* Does the subtree at i contain a displayable part of type t? */
static bool contains(const struct walk *w, int i, const char *t)
{
    const struct mime_part *p = &w->t->parts[i];

    if (is_type(p, t) && !p->attachment)
        return true;
    if (!mime_is_multipart(p))
        return false;
    for (int c = w->first_child[i]; c >= 0; c = w->next_sibling[c])
        if (contains(w, c, t))
            return true;
    return false;
}

static void header_block(const char *hdr, size_t len, const char *ph, size_t phl,
                         const struct render_opts *o, struct buf *out);

static void separate(struct buf *b)
{
    if (b->len == 0)
        return;
    if (b->ptr[b->len - 1] != '\n')
        buf_addc(b, '\n');
    if (b->len < 2 || b->ptr[b->len - 2] != '\n')
        buf_addc(b, '\n');
}

static bool outside(const struct walk *w)
{
    return w->cs && w->cs->any && w->cs->protect == 0;
}

/* Where the verdict and envelope lines go: nowhere when quoting (crypt_quiet). */
static struct buf *lines(const struct walk *w)
{
    if (!w->o->crypt_quiet)
        return w->body;
    buf_reset(&w->cs->sink);
    return &w->cs->sink;
}

static void mark_attachments(struct walk *w, int i)
{
    const struct mime_part *p = &w->t->parts[i];

    if (p->number > 0) {
        w->attach[i] = 1;
        w->unprot[i] = outside(w);
        return;
    }
    for (int c = w->first_child[i]; c >= 0; c = w->next_sibling[c])
        mark_attachments(w, c);
}

static void walk(struct walk *w, int i, int depth);
static void crypt_walk(struct walk *w, int i, enum crypt_kind k, int depth);
static bool inline_pgp(struct walk *w, const struct mime_part *p);

static void walk(struct walk *w, int i, int depth)
{
    const struct mime_part *p = &w->t->parts[i];
    enum crypt_kind k;
    int c;

    if (depth > MIME_MAX_DEPTH + 2)
        return;
    if (w->cs && (k = crypt_kind_of(p)) != CRYPT_NONE) {
        crypt_walk(w, i, k, depth);
        return;
    }
    if (mime_is_multipart(p)) {
        int first = w->first_child[i];

        if (first < 0)
            return;
        if (is_type(p, "multipart/alternative")) {
            int pick = -1, plain = -1, html = -1;

            for (c = first; c >= 0; c = w->next_sibling[c]) {
                if (contains(w, c, "text/plain"))
                    plain = c;
                if (contains(w, c, "text/html"))
                    html = c;
                pick = c;
            }
            if (w->o->prefer_html && html >= 0)
                pick = html;
            else if (plain >= 0)
                pick = plain;
            else if (html >= 0)
                pick = html;
            for (c = first; c >= 0; c = w->next_sibling[c])
                if (c != pick)
                    w->shown[c] = 2;
            walk(w, pick, depth + 1);
        } else if (is_type(p, "multipart/related") || is_type(p, "multipart/signed") ||
                   is_type(p, "multipart/encrypted")) {
            walk(w, first, depth + 1);
            for (c = w->next_sibling[first]; c >= 0; c = w->next_sibling[c])
                mark_attachments(w, c);
        } else {
            for (c = first; c >= 0; c = w->next_sibling[c])
                walk(w, c, depth + 1);
        }
        return;
    }
    if ((is_type(p, "message/rfc822") || is_type(p, "message/global")) &&
        w->first_child[i] >= 0 && !p->attachment) {
        int child = w->first_child[i];
        const struct mime_part *m = &w->t->parts[child];

        w->shown[i] = 1;
        if (w->body) {
            separate(w->body);
            buf_printf(w->body, "[-- Attached message (part %d) --]\n", w->base + p->number);
            header_block(m->hdr, m->hdr_len, NULL, 0, w->o, w->body);
            buf_addc(w->body, '\n');
        }
        walk(w, child, depth + 1);
        if (w->body) {
            separate(w->body);
            buf_printf(w->body, "[-- End of attached message (part %d) --]\n",
                       w->base + p->number);
        }
        return;
    }
    if (!p->attachment && (is_type(p, "text/plain") || is_type(p, "text/html"))) {
        w->shown[i] = 1;
        if (w->body && w->cs && is_type(p, "text/plain") && inline_pgp(w, p))
            return;
        if (w->body) {
            struct buf text = BUF_INIT;

            mime_text(p, &text);
            if (text.len == 0) {
                buf_free(&text);
                return;
            }
            separate(w->body);
            if (outside(w))
                buf_printf(lines(w), "[-- Part %d is NOT signed and NOT encrypted --]\n",
                           w->base + p->number);
            if (is_type(p, "text/html"))
                render_html(text.ptr, text.len, w->o->width, w->body);
            else
                buf_add(w->body, text.ptr, text.len);
            buf_free(&text);
        }
        return;
    }
    w->attach[i] = 1;
    w->unprot[i] = outside(w);
}

static void walk_init(struct walk *w, const struct mime_tree *t, const struct render_opts *o)
{
    int *last;

    w->t = t;
    w->o = o;
    w->first_child = xcalloc(t->n, sizeof(int));
    w->next_sibling = xcalloc(t->n, sizeof(int));
    last = xcalloc(t->n, sizeof(int));
    w->shown = xcalloc(t->n, 1);
    w->attach = xcalloc(t->n, 1);
    w->unprot = xcalloc(t->n, 1);
    w->cs = NULL;
    w->body = NULL;
    w->base = 0;
    for (size_t i = 0; i < t->n; i++) {
        w->first_child[i] = w->next_sibling[i] = last[i] = -1;
    }
    for (size_t i = 1; i < t->n; i++) {
        int par = t->parts[i].parent;

        if (par < 0)
            continue;
        if (w->first_child[par] < 0)
            w->first_child[par] = (int)i;
        else
            w->next_sibling[last[par]] = (int)i;
        last[par] = (int)i;
    }
    free(last);
}

static void walk_free(struct walk *w)
{
    free(w->first_child);
    free(w->next_sibling);
    free(w->shown);
    free(w->attach);
    free(w->unprot);
}

/* ---- signed and encrypted parts ---- */

static void human_size(size_t n, struct buf *out);
static bool has_text(const char *s, size_t n);

/* Each check or decryption may start gpg: a hostile message with thousands of signed parts
 * must not keep the pager busy for minutes. The rest is shown "not checked". */
#define RENDER_MAX_CRYPT_OPS 32

static bool op_ok(const struct walk *w, struct err *e)
{
    if (++w->cs->ops <= RENDER_MAX_CRYPT_OPS)
        return true;
    err_set(e, ERR_PARSE, "more than %d signed or encrypted parts", RENDER_MAX_CRYPT_OPS);
    return false;
}

/* GPGME starts gpg: not when the caller said no_gpg. */
static bool gpg_ok(const struct walk *w, struct err *e)
{
    if (!op_ok(w, e))
        return false;
    if (!w->o->crypt->no_gpg)
        return true;
    err_set(e, ERR_CONFIG, "OpenPGP is not used here");
    return false;
}

/* "part 2", "parts 1-3" or "the part below": what a signature covers. */
static void covers(const struct walk *w, int i, struct buf *out)
{
    int lo = 0, hi = 0;

    for (size_t k = (size_t)i; k < w->t->n; k++) {
        int a = (int)k;
        bool inside = false;

        for (; a >= 0; a = w->t->parts[a].parent)
            if (a == i) {
                inside = true;
                break;
            }
        if (!inside)
            break;
        if (w->t->parts[k].number > 0) {
            if (lo == 0)
                lo = w->t->parts[k].number;
            hi = w->t->parts[k].number;
        }
    }
    lo += lo ? w->base : 0;
    hi += hi ? w->base : 0;
    if (lo == 0)
        buf_adds(out, "the text below");
    else if (lo == hi)
        buf_printf(out, "part %d", lo);
    else
        buf_printf(out, "parts %d-%d", lo, hi);
}

static void verdicts(struct walk *w, struct crypt_result *r, const char *what)
{
    for (size_t k = 0; k < r->nsigs; k++) {
        struct buf *out = lines(w);

        /* Signature spoofing: a good signature by someone else than the sender claims. */
        if (r->sigs[k].signer && w->cs->from &&
            !str_casemem(r->sigs[k].signer, strlen(r->sigs[k].signer), w->cs->from))
            r->sigs[k].not_from = true;
        buf_adds(out, "[-- ");
        crypt_sig_line(&r->sigs[k], out);
        buf_printf(out, "; covers %s --]\n", what);
    }
}

static int max_number(const struct mime_tree *t)
{
    int m = 0;

    for (size_t k = 0; k < t->n; k++)
        if (t->parts[k].number > m)
            m = t->parts[k].number;
    return m;
}

/* Render a MIME entity that came out of a decryption or an opaque signature: its own tree,
 * drawn into the same body, its parts numbered after every number given so far (the
 * message's own, then earlier envelopes'), its attachments listed in place and at the end. */
static void walk_entity(struct walk *w, struct kept *kp, int depth, bool top_level)
{
    const struct mime_tree *t = &kp->t;
    struct walk sub;

    walk_init(&sub, t, w->o);
    sub.cs = w->cs;
    sub.body = w->body;
    /* Numbers are given before the walk: an envelope inside comes after all of these. */
    kp->base = sub.base = w->cs->next;
    w->cs->next += max_number(t);
    if (top_level && !w->cs->have_prot) {
        /* Protected headers (RFC 9788): the inner Subject and friends replace the outer
         * ones, which an encrypting client hides. They sit on the decrypted entity, or on
         * the first part of a multipart/signed inside it (sign, then encrypt). */
        const struct mime_part *h = &t->parts[0];
        struct hdr_field f;

        if (crypt_kind_of(h) == CRYPT_PGP_SIGNED || crypt_kind_of(h) == CRYPT_SMIME_SIGNED)
            h = t->n > 1 ? &t->parts[1] : h;
        if (h->hdr_len > 0 && hdr_find(h->hdr, h->hdr_len, "subject", &f) == 1) {
            buf_add(&w->cs->prot, h->hdr, h->hdr_len);
            w->cs->have_prot = true;
        }
    }
    walk(&sub, 0, depth + 1);
    for (size_t k = 0; k < t->n; k++) {
        const struct mime_part *p = &t->parts[k];
        struct buf *out;
        char *name;

        if (!sub.attach[k] || p->number == 0)
            continue;
        name = render_safe_filename(p->filename);
        separate(w->body);
        out = lines(w);
        buf_printf(out, "[-- Attachment [%d] inside: %s, %s, ", sub.base + p->number,
                   p->type, name ? name : "(no name)");
        human_size(mime_decoded_size(p), out);
        buf_adds(out, " --]\n");
        buf_printf(&w->cs->inner, "  [%d] %s, %s, ", sub.base + p->number, p->type,
                   name ? name : "(no name)");
        human_size(mime_decoded_size(p), &w->cs->inner);
        buf_printf(&w->cs->inner, " (inside the %s part)\n",
                   kp->enveloped ? "encrypted" : "signed");
        free(name);
    }
    if (w->o->keep) {
        free(kp->shown);
        kp->shown = sub.shown;
        sub.shown = NULL;
    }
    walk_free(&sub);
}

static void crypt_signed(struct walk *w, int i, bool smime, int depth)
{
    int first = w->first_child[i], sig = first >= 0 ? w->next_sibling[first] : -1;
    struct crypt_result r = { 0 };
    struct buf canon = BUF_INIT, sigb = BUF_INIT, what = BUF_INIT;
    struct err e = { 0 };
    const char *s;
    size_t n;
    int rc;

    if (first < 0 || sig < 0) {
        separate(w->body);
        buf_adds(lines(w), "[-- Malformed signed part: NOT checked --]\n");
        if (first >= 0)
            walk(w, first, depth + 1);
        return;
    }
    crypt_part_bytes(&w->t->parts[first], &s, &n);
    crypt_canon(s, n, &canon);
    mime_decode(&w->t->parts[sig], &sigb);
    if (smime && !op_ok(w, &e))
        rc = -1;
    else if (smime)
        rc = smime_verify_detached(canon.ptr, canon.len, sigb.ptr, sigb.len, w->o->crypt, &r, &e);
    else if (gpg_ok(w, &e))
        rc = pgp_verify_detached(canon.ptr, canon.len, sigb.ptr, sigb.len, &r, &e);
    else
        rc = -1;
    covers(w, first, &what);
    separate(w->body);
    if (rc < 0 || r.nsigs == 0)
        buf_printf(lines(w), "[-- %s signature NOT CHECKED: %s; NOT verified: %s --]\n",
                   smime ? "S/MIME" : "PGP", rc < 0 ? e.msg : "no signature found",
                   buf_cstr(&what));
    else
        verdicts(w, &r, buf_cstr(&what));
    w->cs->protect++;
    walk(w, first, depth + 1);
    w->cs->protect--;
    separate(w->body);
    buf_adds(lines(w), "[-- End of signed part --]\n");
    w->shown[sig] = 2;
    crypt_result_free(&r);
    buf_free(&canon);
    buf_free(&sigb);
    buf_free(&what);
}

static void crypt_opened(struct walk *w, int i, struct kept *kp, int depth)
{
    separate(w->body);
    verdicts(w, &kp->r, kp->enveloped ? "the encrypted part" : "the signed part");
    buf_printf(lines(w), "[-- Begin %s part --]\n", kp->enveloped ? "encrypted" : "signed");
    w->cs->protect++;
    walk_entity(w, kp, depth, kp->enveloped && i == 0);
    w->cs->protect--;
    separate(w->body);
    buf_printf(lines(w), "[-- End of %s part --]\n", kp->enveloped ? "encrypted" : "signed");
}

static void kept_clear(struct kept *kp)
{
    crypt_result_free(&kp->r);
    if (kp->rc == 0)
        mime_free(&kp->t);
    /* Decrypted bytes live in memory only: wiped before they go back to the heap. */
    crypt_wipe(&kp->plain);
    free(kp->shown);
}

/* Decrypt (or unwrap) envelope i into kp. */
static void open_envelope(struct walk *w, int i, enum crypt_kind k, struct kept *kp)
{
    const struct mime_part *p = &w->t->parts[i];
    struct buf in = BUF_INIT;
    struct err e = { 0 };
    int data;

    kp->key = p;
    kp->rc = -1;
    kp->enveloped = true;
    buf_init(&kp->plain);
    if (k == CRYPT_PGP_ENCRYPTED) {
        data = w->first_child[i] >= 0 ? w->next_sibling[w->first_child[i]] : -1;
        if (data >= 0) {
            mime_decode(&w->t->parts[data], &in);
            if (gpg_ok(w, &e))
                kp->rc = pgp_decrypt(in.ptr ? in.ptr : "", in.len, &kp->plain, &kp->r, &e);
        } else {
            err_set(&e, ERR_PARSE, "malformed multipart/encrypted");
        }
    } else {
        mime_decode(p, &in);
        if (op_ok(w, &e))
            kp->rc = smime_open(in.ptr ? in.ptr : "", in.len, w->o->crypt, &kp->plain,
                                &kp->enveloped, &kp->r, &e);
    }
    buf_free(&in);
    if (kp->rc == 0)
        mime_parse(kp->plain.ptr ? kp->plain.ptr : "", kp->plain.len, &kp->t);
    else
        snprintf(kp->why, sizeof kp->why, "%s", e.msg);
}

/* The envelope at i opened: taken from o->keep when it was opened before (nothing is
 * decrypted twice for the message shown), else opened now (into o->keep, or into tmp for
 * this walk only). */
static struct kept *envelope(struct walk *w, int i, enum crypt_kind k, struct kept *tmp)
{
    struct render_keep *keep = w->o->keep;
    struct kept *kp;

    if (keep) {
        for (size_t n = 0; n < keep->n; n++)
            if (keep->v[n]->key == &w->t->parts[i]) {
                w->cs->ops++;       /* counted as the first time: the same ones pass the cap */
                return keep->v[n];
            }
        kp = xcalloc(1, sizeof *kp);
        keep->v = xgrow(keep->v, keep->n, &keep->cap, sizeof *keep->v);
        keep->v[keep->n++] = kp;
    } else {
        kp = tmp;
        memset(kp, 0, sizeof *kp);
    }
    open_envelope(w, i, k, kp);
    return kp;
}

static void crypt_walk(struct walk *w, int i, enum crypt_kind k, int depth)
{
    struct kept tmp, *kp;

    if (!w->body) {
        /* Only deciding what is shown: the envelope's parts are not attachments. */
        w->shown[i] = 1;
        return;
    }
    w->shown[i] = 1;
    if (k == CRYPT_PGP_SIGNED || k == CRYPT_SMIME_SIGNED) {
        crypt_signed(w, i, k == CRYPT_SMIME_SIGNED, depth);
        return;
    }
    kp = envelope(w, i, k, &tmp);
    if (kp->rc == 0) {
        crypt_opened(w, i, kp, depth);
    } else {
        separate(w->body);
        buf_printf(lines(w), "[-- %s part NOT shown: %s --]\n",
                   kp->enveloped ? "Encrypted" : "Signed", kp->why);
    }
    if (kp == &tmp)
        kept_clear(&tmp);
}

/* Inline PGP in a text/plain part: every armored block verified or decrypted, the text
 * around them marked as outside. false when the part has no armor (render it as usual). */
static bool inline_pgp(struct walk *w, const struct mime_part *p)
{
    struct buf raw = BUF_INIT;
    size_t pos = 0, start, end;
    enum crypt_armor a;

    mime_decode(p, &raw);
    if (crypt_armor_find(raw.ptr ? raw.ptr : "", raw.len, &start, &end) == CRYPT_ARMOR_NONE) {
        buf_free(&raw);
        return false;
    }
    separate(w->body);
    while (pos < raw.len) {
        struct crypt_result r = { 0 };
        struct buf plain = BUF_INIT;
        struct err e = { 0 };
        int rc;

        a = crypt_armor_find(raw.ptr + pos, raw.len - pos, &start, &end);
        if (a == CRYPT_ARMOR_NONE)
            start = end = raw.len - pos;
        if (has_text(raw.ptr + pos, start)) {
            /* inside a PGP/MIME or S/MIME envelope that covers it, the text is protected */
            if (outside(w))
                buf_printf(lines(w), "[-- Text NOT signed and NOT encrypted (part %d): --]\n",
                           w->base + p->number);
            else
                buf_adds(lines(w), "[-- Text outside the PGP block: --]\n");
            codec_to_utf8(p->charset, raw.ptr + pos, start, w->body);
            separate(w->body);
        }
        if (a == CRYPT_ARMOR_NONE)
            break;
        if (!gpg_ok(w, &e))
            rc = -1;
        else if (a == CRYPT_ARMOR_SIGNED)
            rc = pgp_verify_inline(raw.ptr + pos + start, end - start, &plain, &r, &e);
        else
            rc = pgp_decrypt(raw.ptr + pos + start, end - start, &plain, &r, &e);
        if (rc < 0) {
            buf_printf(lines(w), "[-- PGP block NOT %s: %s --]\n",
                       a == CRYPT_ARMOR_SIGNED ? "checked" : "decrypted", e.msg);
        } else {
            const char *what = a == CRYPT_ARMOR_SIGNED ? "signed" : "encrypted";

            if (a == CRYPT_ARMOR_SIGNED && r.nsigs == 0)
                buf_adds(lines(w), "[-- PGP signature NOT CHECKED: no signature found --]\n");
            verdicts(w, &r, a == CRYPT_ARMOR_SIGNED ? "the signed text" : "the encrypted text");
            buf_printf(lines(w), "[-- Begin %s text --]\n", what);
            codec_to_utf8(p->charset, plain.ptr ? plain.ptr : "", plain.len, w->body);
            separate(w->body);
            buf_printf(lines(w), "[-- End of %s text --]\n", what);
        }
        crypt_wipe(&plain);
        crypt_result_free(&r);
        pos += end;
    }
    buf_free(&raw);
    return true;
}

/* Does the message hold anything signed or encrypted (so that parts outside are marked)? */
static bool any_crypto(const struct mime_tree *t)
{
    for (size_t i = 0; i < t->n; i++) {
        const struct mime_part *p = &t->parts[i];

        if (crypt_kind_of(p) != CRYPT_NONE)
            return true;
        if (strcmp(p->type, "text/plain") == 0 && !p->attachment) {
            struct buf raw = BUF_INIT;
            size_t s, e;
            bool found;

            mime_decode(p, &raw);
            found = crypt_armor_find(raw.ptr ? raw.ptr : "", raw.len, &s, &e) != CRYPT_ARMOR_NONE;
            buf_free(&raw);
            if (found)
                return true;
        }
    }
    return false;
}

/* ---- header block ---- */

static void add_addresses(const struct hdr_field *f, struct buf *out)
{
    struct addr *a;
    size_t n;

    addr_parse_list(f->value, f->value_len, &a, &n);
    if (n == 0) {
        char *d = hdr_decode(f->value, f->value_len);
        buf_adds(out, d);
        free(d);
    }
    for (size_t i = 0; i < n; i++) {
        if (i)
            buf_add(out, ", ", 2);
        if (a[i].name) {
            /* Quote a name that would otherwise read as several addresses. */
            if (strpbrk(a[i].name, ",;<>\"@"))
                buf_printf(out, "\"%s\" <%s>", a[i].name, a[i].mailbox);
            else
                buf_printf(out, "%s <%s>", a[i].name, a[i].mailbox);
        } else {
            buf_adds(out, a[i].mailbox);
        }
    }
    addr_list_free(a, n);
}

static void add_date(const struct hdr_field *f, struct buf *out)
{
    time_t t;
    struct tm tm;
    char s[64];

    if (hdr_parse_date(f->value, f->value_len, &t) == 0 && localtime_r(&t, &tm) &&
        strftime(s, sizeof s, "%a, %d %b %Y %H:%M:%S %z", &tm) > 0) {
        buf_adds(out, s);
    } else {
        char *d = hdr_decode(f->value, f->value_len);
        buf_adds(out, d);
        free(d);
    }
}

/* A shown field's value and line end: addresses and dates formatted, anything else decoded.
 * The weeded and the default block share it so a field looks the same in both. */
static void add_value(const struct hdr_field *f, struct buf *out)
{
    static const char *const addr_fields[] = { "From", "To", "Cc", "Reply-To", "Sender" };
    bool addr = false;

    for (size_t k = 0; k < sizeof addr_fields / sizeof addr_fields[0]; k++)
        addr |= strlen(addr_fields[k]) == f->name_len &&
                str_ncasecmp(addr_fields[k], f->name, f->name_len) == 0;
    if (addr) {
        add_addresses(f, out);
    } else if (f->name_len == 4 && str_ncasecmp(f->name, "Date", 4) == 0) {
        add_date(f, out);
    } else {
        char *d = hdr_decode(f->value, f->value_len);
        buf_adds(out, d);
        free(d);
    }
    buf_addc(out, '\n');
}

/* mailx-style weeding: every field the filter accepts, in message order, addresses and
 * dates formatted as in the default block; a field also among the protected headers ph is
 * taken from there. */
static void weeded_block(const char *hdr, size_t len, const char *ph, size_t phl,
                         const struct render_opts *o, struct buf *out)
{
    struct hdr_field f;
    size_t pos = 0;

    while (hdr_next(hdr, len, &pos, &f)) {
        char name[64];

        if (!o->header_shown(o->header_arg, f.name, f.name_len))
            continue;
        if (ph && f.name_len < sizeof name) {
            struct hdr_field pf;

            memcpy(name, f.name, f.name_len);
            name[f.name_len] = '\0';
            if (hdr_find(ph, phl, name, &pf) == 1)
                f = pf;
        }
        codec_sanitize(f.name, f.name_len, CODEC_SAN_LINE, out);
        buf_add(out, ": ", 2);
        add_value(&f, out);
    }
}

/* The shown fields of hdr; a field also in ph (protected headers from inside the
 * encrypted part) is taken from there instead. */
static void header_block(const char *hdr, size_t len, const char *ph, size_t phl,
                         const struct render_opts *o, struct buf *out)
{
    static const char *const shown[] = { "From", "To", "Cc", "Date", "Subject" };
    struct hdr_field f;

    if (o->no_headers)
        return;
    if (o->all_headers) {
        size_t pos = 0;

        while (hdr_next(hdr, len, &pos, &f)) {
            char *d = hdr_decode(f.value, f.value_len);

            codec_sanitize(f.name, f.name_len, CODEC_SAN_LINE, out);
            buf_add(out, ": ", 2);
            buf_adds(out, d);
            buf_addc(out, '\n');
            free(d);
        }
        return;
    }
    if (o->header_shown != NULL) {
        weeded_block(hdr, len, ph, phl, o, out);
        return;
    }
    for (size_t k = 0; k < sizeof shown / sizeof shown[0]; k++) {
        if (!(ph && hdr_find(ph, phl, shown[k], &f)) && !hdr_find(hdr, len, shown[k], &f))
            continue;
        buf_printf(out, "%s: ", shown[k]);
        add_value(&f, out);
    }
}

static void human_size(size_t n, struct buf *out)
{
    if (n < 1024)
        buf_printf(out, "%zu B", n);
    else if (n < 1024 * 1024)
        buf_printf(out, "%.1f KiB", (double)n / 1024);
    else
        buf_printf(out, "%.1f MiB", (double)n / (1024 * 1024));
}

/* ---- public entry points ---- */

static bool has_text(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (s[i] != ' ' && s[i] != '\t' && s[i] != '\r' && s[i] != '\n')
            return true;
    return false;
}

int render_message(const char *msg, size_t len, const struct render_opts *o, struct buf *out,
                   struct err *e)
{
    struct mime_tree t;
    int rc;

    mime_parse(msg, len, &t);
    rc = render_message_tree(&t, o, out, e);
    mime_free(&t);
    return rc;
}

int render_message_tree(const struct mime_tree *tree, const struct render_opts *o,
                        struct buf *out, struct err *e)
{
    static const struct render_opts defaults;
    const struct mime_tree t = *tree;
    struct walk w;
    struct cstate cs = { 0, false, false, BUF_INIT, BUF_INIT, NULL, 0, 0, BUF_INIT };
    struct buf text = BUF_INIT, body = BUF_INIT;
    int nattach = 0;

    (void)e;
    if (o == NULL)
        o = &defaults;
    walk_init(&w, &t, o);
    if (o->crypt) {
        struct hdr_field f;

        w.cs = &cs;
        cs.any = any_crypto(&t);
        cs.next = max_number(&t);
        if (hdr_find(t.parts[0].hdr, t.parts[0].hdr_len, "from", &f) == 1)
            cs.from = addr_first_mailbox(f.value, f.value_len);
    }
    /* The body first: decrypting it may bring protected headers for the header block. */
    w.body = &body;
    {
        bool any_attachment = false;

        walk(&w, 0, 0);
        for (size_t i = 0; i < t.n; i++)
            if (w.attach[i] && t.parts[i].number > 0)
                any_attachment = true;
        if (body.len == 0 && !any_attachment &&
            (t.n > 1 || mime_is_multipart(&t.parts[0])) &&
            has_text(t.parts[0].body, t.parts[0].body_len)) {
            /* The structure yielded nothing to show (empty or ambiguous parts): show the
             * source of the body rather than silently nothing. */
            buf_adds(&body, "[-- The MIME structure has nothing to show; the body as sent: --]\n");
            codec_to_utf8(NULL, t.parts[0].body, t.parts[0].body_len, &body);
        }
    }
    header_block(t.parts[0].hdr, t.parts[0].hdr_len, cs.have_prot ? cs.prot.ptr : NULL,
                 cs.prot.len, o, &text);
    if (o->protected_out && cs.have_prot)
        buf_add(o->protected_out, cs.prot.ptr, cs.prot.len);
    if (text.len > 0)
        buf_addc(&text, '\n');
    buf_add(&text, body.ptr, body.len);
    if (text.len > 0 && text.ptr[text.len - 1] != '\n')
        buf_addc(&text, '\n');
    if (!o->no_attachments) {
        for (size_t i = 0; i < t.n; i++) {
            const struct mime_part *p = &t.parts[i];
            char *name;

            if (!w.attach[i] || p->number == 0)
                continue;
            if (nattach++ == 0) {
                separate(&text);
                buf_adds(&text, "[-- Attachments --]\n");
            }
            name = render_safe_filename(p->filename);
            buf_printf(&text, "  [%d] %s, %s, ", p->number, p->type, name ? name : "(no name)");
            human_size(mime_decoded_size(p), &text);
            if (w.unprot[i])
                buf_adds(&text, " (NOT signed, NOT encrypted)");
            buf_addc(&text, '\n');
            free(name);
        }
        if (cs.inner.len > 0 && nattach == 0) {
            separate(&text);
            buf_adds(&text, "[-- Attachments --]\n");
        }
        buf_add(&text, cs.inner.ptr, cs.inner.len);
    }
    if (t.flags & MIME_F_CAPPED)
        buf_adds(&text, "[-- Message structure too deep or too large: the rest is not shown --]\n");
    render_sanitize(text.ptr ? text.ptr : "", text.len, out);
    /* Decrypted text is wiped before its memory is reused. */
    crypt_wipe(&text);
    crypt_wipe(&body);
    crypt_wipe(&cs.inner);
    buf_free(&cs.prot);
    buf_free(&cs.sink);
    free(cs.from);
    walk_free(&w);
    return 0;
}

size_t render_attachments(const char *msg, size_t len, struct render_attachment **out)
{
    struct mime_tree t;
    size_t n;

    mime_parse(msg, len, &t);
    n = render_attachments_tree(&t, NULL, out);
    mime_free(&t);
    return n;
}

static void attachment_add(struct render_attachment **out, size_t *n, size_t *cap,
                           const struct mime_part *p, int number, bool shown)
{
    struct render_attachment *a;
    struct buf ty = BUF_INIT;

    *out = xgrow(*out, *n, cap, sizeof **out);
    a = &(*out)[(*n)++];
    memset(a, 0, sizeof *a);
    a->number = number;
    codec_sanitize(p->type, strlen(p->type), CODEC_SAN_LINE, &ty);
    a->type = buf_detach(&ty);
    a->name = render_safe_filename(p->filename);
    a->size = mime_decoded_size(p);
    a->inline_shown = shown;
}

/* Per part of t: is it (or a part above it) an envelope that k holds opened? Its own parts
 * (the ciphertext) then give way to what came out of it, as in the rendered list. New
 * array; parents come before their children in t, so one pass carries the mark down. */
static char *opened_parts(const struct mime_tree *t, const struct render_keep *k)
{
    char *hide = xcalloc(t->n ? t->n : 1, 1);

    for (size_t e = 0; k && e < k->n; e++) {
        /* Compared as addresses: the key may belong to another tree. */
        uintptr_t key = (uintptr_t)k->v[e]->key, first = (uintptr_t)t->parts;

        if (k->v[e]->rc == 0 && key >= first && key < first + t->n * sizeof t->parts[0])
            hide[(key - first) / sizeof t->parts[0]] = 1;
    }
    for (size_t i = 1; i < t->n; i++)
        if (t->parts[i].parent >= 0 && hide[t->parts[i].parent])
            hide[i] = 1;
    return hide;
}

size_t render_attachments_tree(const struct mime_tree *tree, const struct render_keep *k,
                               struct render_attachment **out)
{
    static const struct render_opts defaults;
    const struct mime_tree t = *tree;
    struct walk w;
    size_t n = 0, cap = 0;
    char *hide = opened_parts(tree, k);

    *out = NULL;
    walk_init(&w, &t, &defaults);
    walk(&w, 0, 0);
    for (size_t i = 0; i < t.n; i++)
        if (t.parts[i].number > 0 && !hide[i])
            attachment_add(out, &n, &cap, &t.parts[i], t.parts[i].number, w.shown[i] == 1);
    walk_free(&w);
    free(hide);
    /* Then what the last render opened, in the order it numbered them. */
    for (size_t e = 0; k && e < k->n; e++) {
        const struct kept *kp = k->v[e];

        if (kp->rc != 0)
            continue;
        hide = opened_parts(&kp->t, k);
        for (size_t i = 0; i < kp->t.n; i++) {
            const struct mime_part *p = &kp->t.parts[i];

            if (p->number == 0 || hide[i])
                continue;
            attachment_add(out, &n, &cap, p, kp->base + p->number,
                           kp->shown && kp->shown[i] == 1);
            (*out)[n - 1].inside = kp->enveloped ? RENDER_IN_ENCRYPTED : RENDER_IN_SIGNED;
        }
        free(hide);
    }
    return n;
}

void render_attachments_free(struct render_attachment *a, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(a[i].type);
        free(a[i].name);
    }
    free(a);
}

struct render_keep *render_keep_new(void)
{
    return xcalloc(1, sizeof(struct render_keep));
}

void render_keep_free(struct render_keep *k)
{
    if (k == NULL)
        return;
    for (size_t i = 0; i < k->n; i++) {
        kept_clear(k->v[i]);
        free(k->v[i]);
    }
    free(k->v);
    free(k);
}

void render_keep_open(const struct mime_tree *t, const struct render_opts *o)
{
    struct render_opts q = *o;
    struct buf scratch = BUF_INIT;

    /* The same walk as the pager's (so the same numbers), its text thrown away. */
    q.protected_out = NULL;
    render_message_tree(t, &q, &scratch, NULL);
    crypt_wipe(&scratch);
}

const struct mime_part *render_find_part(const struct mime_tree *t,
                                         const struct render_keep *k, int num)
{
    int i = mime_find_number(t, num);

    if (i >= 0)
        return &t->parts[i];
    for (size_t e = 0; k && e < k->n; e++) {
        const struct kept *kp = k->v[e];

        if (kp->rc == 0 && num > kp->base && (i = mime_find_number(&kp->t, num - kp->base)) >= 0)
            return &kp->t.parts[i];
    }
    return NULL;
}

int render_part(const char *msg, size_t len, int num, struct buf *out, char **name,
                struct err *e)
{
    struct mime_tree t;
    int rc;

    mime_parse(msg, len, &t);
    rc = render_part_tree(&t, NULL, num, out, name, e);
    mime_free(&t);
    return rc;
}

int render_part_tree(const struct mime_tree *t, const struct render_keep *k, int num,
                     struct buf *out, char **name, struct err *e)
{
    const struct mime_part *p;

    if (name)
        *name = NULL;
    p = render_find_part(t, k, num);
    if (p == NULL) {
        int total = max_number(t);

        for (size_t i = 0; k && i < k->n; i++)
            if (k->v[i]->rc == 0 && k->v[i]->base + max_number(&k->v[i]->t) > total)
                total = k->v[i]->base + max_number(&k->v[i]->t);
        for (size_t i = 0; k && i < k->n; i++)
            if (k->v[i]->rc != 0)
                return err_set(e, ERR_PARSE, "no part %d (the message has %d; %s part "
                               "was not opened: %s)", num, total,
                               k->v[i]->enveloped ? "an encrypted" : "a signed", k->v[i]->why);
        return err_set(e, ERR_PARSE, "no part %d (the message has %d)", num, total);
    }
    mime_decode(p, out);
    if (name)
        *name = render_safe_filename(p->filename);
    return 0;
}

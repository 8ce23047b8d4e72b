/* MIME tree over a message in memory: boundaries found with memmem, parts borrowed from the
 * buffer, depth and part caps, guessed boundaries for the usual breakage. */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "tern/codec.h"
#include "tern/encword.h"
#include "tern/header.h"
#include "tern/mime.h"
#include "tern/str.h"
#include "tern/xalloc.h"

struct parser {
    struct mime_tree *t;
    size_t cap;
    int number;
    int guesses;      /* boundary guesses left for the whole message (each scans a body) */
};

bool mime_is_multipart(const struct mime_part *p)
{
    return strncmp(p->type, "multipart/", 10) == 0;
}

static enum mime_enc parse_enc(const char *v, size_t n)
{
    char *tok = mime_value_token(v, n);
    enum mime_enc e = MIME_UNKNOWN_ENC;

    if (strcmp(tok, "7bit") == 0 || tok[0] == '\0')
        e = MIME_7BIT;
    else if (strcmp(tok, "8bit") == 0 || strcmp(tok, "8-bit") == 0)
        e = MIME_8BIT;
    else if (strcmp(tok, "binary") == 0)
        e = MIME_BINARY;
    else if (strcmp(tok, "quoted-printable") == 0)
        e = MIME_QP;
    else if (strcmp(tok, "base64") == 0 || strcmp(tok, "base-64") == 0)
        e = MIME_BASE64;
    free(tok);
    return e;
}

static int add_part(struct parser *ps)
{
    struct mime_tree *t = ps->t;

    t->parts = xgrow(t->parts, t->n, &ps->cap, sizeof *t->parts);
    memset(&t->parts[t->n], 0, sizeof t->parts[0]);
    return (int)t->n++;
}

/* Is the line at p (length n to the end of the body) a delimiter for boundary b?
 * Returns 1 for "--b", 2 for the closing "--b--", else 0. */
static int delimiter(const char *p, size_t n, const char *b, size_t bl)
{
    size_t i;
    int close = 0;

    if (n < bl + 2 || p[0] != '-' || p[1] != '-' || memcmp(p + 2, b, bl) != 0)
        return 0;
    i = bl + 2;
    if (i + 2 <= n && p[i] == '-' && p[i + 1] == '-') {
        close = 1;
        i += 2;
    }
    /* Only white space may follow (transport padding); anything else means a longer
     * boundary that merely starts like ours. */
    while (i < n && (p[i] == ' ' || p[i] == '\t'))
        i++;
    if (i < n && p[i] != '\r' && p[i] != '\n')
        return 0;
    return close ? 2 : 1;
}

/* Find the next delimiter line at or after body[from]; it must start a line. Returns its
 * offset or len; *kind is 1 or 2 (closing) or 0 when none. A delimiter starts with '-', a
 * byte base64 never has and most text lines lack: memchr for it goes over an attachment in
 * one call, not one a line. */
static size_t next_delim(const char *body, size_t len, size_t from, const char *b, size_t bl,
                         int *kind)
{
    size_t i = from;

    *kind = 0;
    while (i < len) {
        const char *p = memchr(body + i, '-', len - i);

        if (p == NULL)
            break;
        i = (size_t)(p - body);
        if (i > 0 && body[i - 1] != '\n') {
            /* a dash inside a line: go on from the next line */
            p = memchr(body + i, '\n', len - i);
            if (p == NULL)
                break;
            i = (size_t)(p - body) + 1;
            continue;
        }
        int k = delimiter(body + i, len - i, b, bl);

        if (k) {
            *kind = k;
            return i;
        }
        i++;
    }
    return len;
}

/* End of the line at body[i] (the index after its '\n', or len). */
static size_t line_end(const char *body, size_t len, size_t i)
{
    const char *p = memchr(body + i, '\n', len - i);
    return p ? (size_t)(p - body) + 1 : len;
}

/* The body of a part ends before the line break that precedes its delimiter. */
static size_t trim_eol(const char *body, size_t start, size_t end)
{
    if (end > start && body[end - 1] == '\n')
        end--;
    if (end > start && body[end - 1] == '\r')
        end--;
    return end;
}

/* Guess a boundary from the body: the first line "--token" that occurs at least twice. */
static char *guess_boundary(const char *body, size_t len, int *budget)
{
    size_t i = 0;

    while (i < len && *budget > 0) {
        size_t e = line_end(body, len, i), l = e - i;

        while (l > 0 && (body[i + l - 1] == '\n' || body[i + l - 1] == '\r' ||
                         body[i + l - 1] == ' '))
            l--;
        if (l > 4 && l < 200 && body[i] == '-' && body[i + 1] == '-' &&
            !memchr(body + i, ' ', l)) {
            size_t bl = l - 2;
            int kind;
            char *b = xmemdup0(body + i + 2, bl);

            (*budget)--;
            if (next_delim(body, len, e, b, bl, &kind) < len)
                return b;
            free(b);
        }
        i = e;
    }
    return NULL;
}

static void parse_entity(struct parser *ps, const char *p, size_t len, int depth, int parent,
                         const char *deftype);

/* The first line is "Name: ..." (or the block is empty, i.e. starts with its blank line). */
static bool looks_like_header(const char *p, size_t len)
{
    size_t i = 0;

    if (len == 0 || p[0] == '\n' || p[0] == '\r')
        return true;
    while (i < len && i < 1000) {
        unsigned char c = (unsigned char)p[i];
        if (c == ':')
            return i > 0;
        if (c <= ' ' || c >= 0x7f)
            return false;
        i++;
    }
    return false;
}

static void parse_multipart(struct parser *ps, int idx, const char *boundary)
{
    struct mime_part *mp = &ps->t->parts[idx];
    const char *body = mp->body;
    size_t len = mp->body_len, bl = strlen(boundary), pos, start;
    int kind, depth = mp->depth;
    const char *deftype = strcmp(mp->type, "multipart/digest") == 0 ? "message/rfc822"
                                                                     : "text/plain";

    pos = next_delim(body, len, 0, boundary, bl, &kind);
    /* The preamble (before the first delimiter) is ignored, as RFC 2046 says. */
    while (kind == 1) {
        size_t next;
        int nk;

        start = line_end(body, len, pos);
        next = next_delim(body, len, start, boundary, bl, &nk);
        if (ps->t->n >= MIME_MAX_PARTS) {
            ps->t->flags |= MIME_F_CAPPED;
            return;
        }
        parse_entity(ps, body + start, nk ? trim_eol(body, start, next) - start : len - start,
                     depth + 1, idx, deftype);
        ps->t->parts[idx].nchildren++;
        pos = next;
        kind = nk;
    }
    if (kind != 2)
        ps->t->flags |= MIME_F_NO_CLOSE;
    /* The epilogue after the closing delimiter is ignored too. */
}

static void parse_entity(struct parser *ps, const char *p, size_t len, int depth, int parent,
                         const char *deftype)
{
    int idx = add_part(ps);
    struct mime_part *mp = &ps->t->parts[idx];
    /* the block's end and these fields in one pass over it: a message has dozens of fields
     * (Received, DKIM-Signature) and a body search parses a hundred thousand headers */
    static const char *const names[3] = {
        "content-type", "content-transfer-encoding", "content-disposition",
    };
    struct hdr_field f, cf[3];
    const struct hdr_field *ct = &cf[0], *cte = &cf[1], *cd = &cf[2];
    size_t hl = hdr_block_find(p, len, names, 3, cf);
    char *boundary = NULL;

    if (parent >= 0 && len > 0 && (p[0] == ' ' || p[0] == '\t') &&
        strncmp(ps->t->parts[parent].type, "multipart/", 10) == 0) {
        /* The rest of a delimiter line that was folded: skip it if headers follow. */
        const char *nl = memchr(p, '\n', len);
        if (nl && looks_like_header(nl + 1, len - (size_t)(nl + 1 - p))) {
            len -= (size_t)(nl + 1 - p);
            p = nl + 1;
            hl = hdr_block_find(p, len, names, 3, cf);
        }
    }
    mp->hdr = p;
    mp->hdr_len = hl;
    mp->body = p + hl;
    mp->body_len = len - hl;
    mp->depth = depth;
    mp->parent = parent;
    mp->enc = MIME_7BIT;
    /* A multipart child that does not start with a header field is all body; so is a
     * message in which no header field can be found at all. */
    if (!looks_like_header(p, len) &&
        ((parent >= 0 && strncmp(ps->t->parts[parent].type, "multipart/", 10) == 0) ||
         !hdr_next(p, hl, &(size_t){ 0 }, &f))) {
        mp->hdr_len = 0;
        mp->body = p;
        mp->body_len = len;
        cf[0].name = cf[1].name = cf[2].name = NULL;
    }
    if (ct->name) {
        mp->type = mime_value_token(ct->value, ct->value_len);
        if (!strchr(mp->type, '/') || mp->type[0] == '/') {
            free(mp->type);
            mp->type = NULL;      /* "text" or garbage: the default type */
        } else {
            char *fmt, *dsp;

            mp->charset = mime_param(ct->value, ct->value_len, "charset");
            if (strcmp(mp->type, "text/plain") == 0 &&
                (fmt = mime_param(ct->value, ct->value_len, "format"))) {
                mp->flowed = str_casecmp(fmt, "flowed") == 0;
                free(fmt);
                if ((dsp = mime_param(ct->value, ct->value_len, "delsp"))) {
                    mp->delsp = str_casecmp(dsp, "yes") == 0;
                    free(dsp);
                }
            }
            if (mime_is_multipart(mp))
                boundary = mime_param(ct->value, ct->value_len, "boundary");
            mp->filename = mime_param(ct->value, ct->value_len, "name");
        }
    }
    if (mp->type == NULL)
        mp->type = xstrdup(deftype);
    if (cte->name)
        mp->enc = parse_enc(cte->value, cte->value_len);
    if (cd->name) {
        char *d = mime_value_token(cd->value, cd->value_len);
        char *fn = mime_param(cd->value, cd->value_len, "filename");

        mp->attachment = strcmp(d, "attachment") == 0;
        free(d);
        if (fn && fn[0]) {
            free(mp->filename);
            mp->filename = fn;
        } else {
            free(fn);
        }
    }

    if (mime_is_multipart(mp)) {
        if (depth >= MIME_MAX_DEPTH) {
            ps->t->flags |= MIME_F_CAPPED;
        } else {
            int kind;

            if (boundary && boundary[0] &&
                (next_delim(mp->body, mp->body_len, 0, boundary, strlen(boundary), &kind) ==
                     mp->body_len || kind == 2)) {
                /* No blank line before the first delimiter: it sits in the header block.
                 * The headers end there. */
                size_t d = next_delim(mp->hdr, mp->hdr_len, 0, boundary, strlen(boundary),
                                      &kind);
                if (d > 0 && d < mp->hdr_len) {
                    mp->hdr_len = d;
                    mp->body = mp->hdr + d;
                    mp->body_len = len - d;
                }
            }
            if (boundary && boundary[0] &&
                next_delim(mp->body, mp->body_len, 0, boundary, strlen(boundary), &kind) ==
                    mp->body_len) {
                /* A boundary folded inside its quotes: the delimiter lines carry only the
                 * part before the fold. */
                char *cut = strstr(boundary, "  ");
                if (cut == NULL)
                    cut = strchr(boundary, '\t');
                if (cut) {
                    while (cut > boundary && cut[-1] == ' ')
                        cut--;
                    *cut = '\0';
                    if (boundary[0] && next_delim(mp->body, mp->body_len, 0, boundary,
                                                  strlen(boundary), &kind) < mp->body_len)
                        ps->t->flags |= MIME_F_GUESSED;
                    else
                        boundary[0] = '\0';
                } else {
                    boundary[0] = '\0';
                }
            }
            if (boundary == NULL || boundary[0] == '\0') {
                free(boundary);
                boundary = guess_boundary(mp->body, mp->body_len, &ps->guesses);
                if (boundary)
                    ps->t->flags |= MIME_F_GUESSED;
            }
            if (boundary) {
                parse_multipart(ps, idx, boundary);
            } else {
                /* No usable boundary: show the body as text rather than nothing. */
                ps->t->flags |= MIME_F_NO_BOUNDARY;
                free(ps->t->parts[idx].type);
                ps->t->parts[idx].type = xstrdup("text/plain");
            }
        }
        free(boundary);
        mp = &ps->t->parts[idx];
        if (mime_is_multipart(mp))
            return;
    } else if (strcmp(mp->type, "message/rfc822") == 0 || strcmp(mp->type, "message/global") == 0) {
        mp->number = ++ps->number;
        if (depth >= MIME_MAX_DEPTH || ps->t->n >= MIME_MAX_PARTS) {
            ps->t->flags |= MIME_F_CAPPED;
        } else if (mp->enc != MIME_BASE64 && mp->enc != MIME_QP && mp->body_len > 0) {
            const char *b = mp->body;
            size_t bl = mp->body_len;

            parse_entity(ps, b, bl, depth + 1, idx, "text/plain");
            ps->t->parts[idx].nchildren = 1;
        }
        return;
    }
    mp->number = ++ps->number;
}

void mime_parse(const char *msg, size_t len, struct mime_tree *t)
{
    struct parser ps = { t, 0, 0, 32 };

    t->parts = NULL;
    t->n = 0;
    t->flags = 0;
    parse_entity(&ps, msg, len, 0, -1, "text/plain");
}

void mime_free(struct mime_tree *t)
{
    for (size_t i = 0; i < t->n; i++) {
        free(t->parts[i].type);
        free(t->parts[i].charset);
        free(t->parts[i].filename);
    }
    free(t->parts);
    t->parts = NULL;
    t->n = 0;
}

void mime_decode(const struct mime_part *p, struct buf *out)
{
    switch (p->enc) {
    case MIME_BASE64:
        codec_b64_decode(p->body, p->body_len, out);
        break;
    case MIME_QP:
        codec_qp_decode(p->body, p->body_len, false, out);
        break;
    default:
        buf_add(out, p->body, p->body_len);
        break;
    }
}

size_t mime_decoded_size(const struct mime_part *p)
{
    struct buf b = BUF_INIT;
    size_t n = 0;

    switch (p->enc) {
    case MIME_BASE64: {
        size_t bits = 0;
        unsigned char c;

        for (size_t i = 0; i < p->body_len; i++) {
            c = (unsigned char)p->body[i];
            if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                c == '+' || c == '/' || c == '-' || c == '_') {
                bits += 6;
                if (bits >= 8) {
                    n++;
                    bits -= 8;
                }
            } else if (c == '=') {
                bits = 0;
            }
        }
        return n;
    }
    case MIME_QP:
        codec_qp_decode(p->body, p->body_len, false, &b);
        n = b.len;
        buf_free(&b);
        return n;
    default:
        return p->body_len;
    }
}

void mime_text(const struct mime_part *p, struct buf *out)
{
    struct buf dec = BUF_INIT, utf = BUF_INIT;
    const char *src;
    size_t srclen;

    if (p->enc == MIME_BASE64 || p->enc == MIME_QP) {
        mime_decode(p, &dec);
        src = dec.ptr ? dec.ptr : "";
        srclen = dec.len;
    } else {
        src = p->body;
        srclen = p->body_len;
    }
    codec_to_utf8(p->charset, src, srclen, &utf);
    buf_free(&dec);
    /* CRLF to LF (a lone CR is left for the sanitiser to show). */
    {
        size_t w = 0;
        char *s = utf.ptr;

        for (size_t r = 0; r < utf.len; r++) {
            if (s[r] == '\r' && r + 1 < utf.len && s[r + 1] == '\n')
                continue;
            s[w++] = s[r];
        }
        if (s)
            buf_truncate(&utf, w);
    }
    if (p->flowed)
        codec_unflow(utf.ptr ? utf.ptr : "", utf.len, p->delsp, out);
    else
        buf_add(out, utf.ptr ? utf.ptr : "", utf.len);
    buf_free(&utf);
}

int mime_find_number(const struct mime_tree *t, int num)
{
    for (size_t i = 0; i < t->n; i++)
        if (t->parts[i].number == num && num > 0)
            return (int)i;
    return -1;
}

/*
 * The message builder: RFC 2047 words for non-ASCII header text, quoted or encoded display
 * names, folding at 78 columns, the cheapest safe transfer encoding for the text, and
 * multipart/mixed with base64 attachments named with RFC 2231.
 */
#include "config.h"

#include <fcntl.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/rand.h>

#include "tern/build.h"
#include "tern/codec.h"
#include "tern/encword.h"
#include "tern/mime.h"
#include "tern/fsutil.h"
#include "tern/header.h"
#include "tern/str.h"
#include "tern/xalloc.h"

#define FOLD_AT 78
#define WORD_MAX 75              /* RFC 2047: an encoded word is at most 75 characters */
#define LINE_MAX_OCTETS 998      /* RFC 5322 hard limit */

void draft_init(struct draft *d)
{
    memset(d, 0, sizeof *d);
    buf_init(&d->body);
}

static void attachment_free(struct attachment *a)
{
    free(a->path);
    free(a->name);
    free(a->type);
    buf_free(&a->data);
}

void draft_free(struct draft *d)
{
    char **fields[] = { &d->from, &d->to, &d->cc, &d->bcc, &d->reply_to, &d->subject,
                        &d->in_reply_to, &d->references, &d->message_id };

    for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++) {
        free(*fields[i]);
        *fields[i] = NULL;
    }
    buf_free(&d->body);
    for (size_t i = 0; i < d->natt; i++)
        attachment_free(&d->att[i]);
    free(d->att);
    d->att = NULL;
    d->natt = 0;
}

static struct attachment *draft_new_attachment(struct draft *d)
{
    struct attachment *a;

    d->att = xreallocarray(d->att, d->natt + 1, sizeof *d->att);
    a = &d->att[d->natt++];
    memset(a, 0, sizeof *a);
    buf_init(&a->data);
    return a;
}

void draft_attach_file(struct draft *d, const char *path, const char *name)
{
    struct attachment *a = draft_new_attachment(d);
    const char *slash = strrchr(path, '/');

    a->path = xstrdup(path);
    a->name = xstrdup(name ? name : slash ? slash + 1 : path);
}

void draft_attach_data(struct draft *d, const char *name, const char *type, const void *p,
                       size_t n)
{
    struct attachment *a = draft_new_attachment(d);

    a->name = xstrdup(name);
    a->type = type ? xstrdup(type) : NULL;
    buf_add(&a->data, p, n);
}

void draft_detach(struct draft *d, size_t i)
{
    if (i >= d->natt)
        return;
    attachment_free(&d->att[i]);
    memmove(&d->att[i], &d->att[i + 1], (d->natt - i - 1) * sizeof *d->att);
    d->natt--;
}

/* ---- folding ---- */

/* A header being written: the line length so far decides where to fold. */
struct folder {
    struct buf *out;
    size_t col;
};

static void fold_start(struct folder *f, struct buf *out, const char *name)
{
    f->out = out;
    buf_printf(out, "%s:", name);
    f->col = strlen(name) + 1;
}

/* Add an atom that must not be broken, preceded by one space (or a fold when too long). */
static void fold_atom(struct folder *f, const char *s, size_t n)
{
    if (f->col + 1 + n > FOLD_AT && f->col > 0) {
        buf_adds(f->out, "\n ");
        f->col = 1;
    } else {
        buf_addc(f->out, ' ');
        f->col++;
    }
    buf_add(f->out, s, n);
    f->col += n;
}

static void fold_end(struct folder *f)
{
    buf_addc(f->out, '\n');
}

static bool is_ascii(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)s[i] >= 0x80 || s[i] == '\0')
            return false;
    return true;
}

/* ---- RFC 2047 encoding ---- */

static bool q_literal(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           c == '!' || c == '*' || c == '+' || c == '-' || c == '/';
}

static size_t q_cost(unsigned char c)
{
    return (q_literal(c) || c == ' ') ? 1 : 3;
}

static void q_put(struct buf *w, unsigned char c)
{
    static const char hex[] = "0123456789ABCDEF";

    if (q_literal(c))
        buf_addc(w, (char)c);
    else if (c == ' ')
        buf_addc(w, '_');
    else {
        buf_addc(w, '=');
        buf_addc(w, hex[c >> 4]);
        buf_addc(w, hex[c & 15]);
    }
}

/* Length of the character at s (a whole UTF-8 sequence, or one stray byte). */
static size_t char_len(const char *s, size_t n)
{
    size_t l = utf8_seqlen((const unsigned char *)s, n);
    return l ? l : 1;
}

/*
 * Encode s as a series of encoded words, each within 75 characters and never splitting a
 * character, handing each to the folder as an atom. Q when it is shorter, else B.
 */
static void encode_words(struct folder *f, const char *s, size_t n)
{
    static const char pre_q[] = "=?UTF-8?Q?", pre_b[] = "=?UTF-8?B?";
    const size_t room = WORD_MAX - (sizeof pre_q - 1) - 2;
    size_t qlen = 0;
    bool use_q;
    struct buf w = BUF_INIT, raw = BUF_INIT;

    for (size_t i = 0; i < n; i++)
        qlen += q_cost((unsigned char)s[i]);
    use_q = qlen <= (n + 2) / 3 * 4;
    for (size_t i = 0; i < n;) {
        size_t used = 0;

        buf_reset(&w);
        buf_reset(&raw);
        buf_adds(&w, use_q ? pre_q : pre_b);
        while (i < n) {
            size_t cl = char_len(s + i, n - i), cost = 0;

            if (use_q) {
                for (size_t k = 0; k < cl; k++)
                    cost += q_cost((unsigned char)s[i + k]);
                if (used + cost > room)
                    break;
                for (size_t k = 0; k < cl; k++)
                    q_put(&w, (unsigned char)s[i + k]);
            } else {
                if ((raw.len + cl + 2) / 3 * 4 > room)
                    break;
                buf_add(&raw, s + i, cl);
            }
            used += cost;
            i += cl;
        }
        if (!use_q)
            codec_b64_encode(raw.ptr ? raw.ptr : "", raw.len, &w);
        buf_adds(&w, "?=");
        fold_atom(f, w.ptr, w.len);
    }
    buf_free(&w);
    buf_free(&raw);
}

/* Words of s split at spaces; [first, last] is the span of words that need encoding. */
static void encode_text(struct folder *f, const char *s)
{
    const char *start = NULL, *end = NULL;
    const char *p = s;

    /* Find the first and last word with a non-ASCII byte (or an "=?", which a reader would
     * otherwise take for an encoded word). */
    while (*p) {
        while (*p == ' ' || *p == '\t')
            p++;
        const char *w = p;
        while (*p && *p != ' ' && *p != '\t')
            p++;
        if (p > w && (!is_ascii(w, (size_t)(p - w)) || strstr(w, "=?") == w)) {
            if (start == NULL)
                start = w;
            end = p;
        }
    }
    p = s;
    while (*p) {
        while (*p == ' ' || *p == '\t')
            p++;
        if (*p == '\0')
            break;
        if (p == start) {
            encode_words(f, start, (size_t)(end - start));
            p = end;
            continue;
        }
        const char *w = p;
        while (*p && *p != ' ' && *p != '\t')
            p++;
        fold_atom(f, w, (size_t)(p - w));
    }
}

void build_header_text(struct buf *out, const char *name, const char *utf8)
{
    struct folder f;
    char *flat = xstrdup(utf8);

    /* A line break (or any control) in a value would end the field on the wire and start
     * another ("Subject: hi\rBcc: x@y"): one field is one logical line, whatever the caller. */
    for (char *p = flat; *p; p++)
        if ((unsigned char)*p < 0x20 || *p == 0x7f)
            *p = ' ';
    fold_start(&f, out, name);
    encode_text(&f, flat);
    fold_end(&f);
    free(flat);
}

/* ---- addresses ---- */

static bool atext_phrase(const char *s)
{
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              strchr(" !#$%&'*+-/=?^_`{|}~", c)))
            return false;
    }
    return true;
}

/* A display name: as is when it is plain words, a quoted string when it has specials,
 * encoded words when it is not ASCII. */
static void put_phrase(struct folder *f, const char *name)
{
    struct buf q = BUF_INIT;

    if (!is_ascii(name, strlen(name)) || strstr(name, "=?")) {
        encode_words(f, name, strlen(name));
        return;
    }
    if (atext_phrase(name)) {
        encode_text(f, name);
        return;
    }
    addr_quote(&q, name);
    fold_atom(f, q.ptr, q.len);
    buf_free(&q);
}

/* Controls, brackets, and a space or comma outside a quoted local part ("a b"@x is fine). */
static bool mailbox_bad(char c, bool quoted)
{
    return (unsigned char)c < 0x20 || c == 0x7f || c == '<' || c == '>' ||
           (!quoted && (c == ' ' || c == ','));
}

/*
 * " (name)" after a mailbox with no domain ("root (Cron Daemon)", as cron writes From): an
 * angle address needs a domain, so the name stays a comment, in encoded words when it is not
 * plain ASCII (RFC 2047 section 5(2)); then sep.
 */
static void put_comment(struct folder *f, const char *name, const char *sep)
{
    struct buf w = BUF_INIT;
    struct folder sub = { &w, f->col + 2 };
    size_t k;

    if (is_ascii(name, strlen(name)) && strpbrk(name, "()\\") == NULL && !strstr(name, "=?")) {
        buf_printf(&w, "(%s)%s", name, sep);
        fold_atom(f, w.ptr, w.len);
        buf_free(&w);
        return;
    }
    encode_words(&sub, name, strlen(name));     /* each word after a space or a fold */
    buf_adds(f->out, " (");
    buf_add(f->out, w.ptr + 1, w.len - 1);
    buf_printf(f->out, ")%s", sep);
    for (k = f->out->len; k > 0 && f->out->ptr[k - 1] != '\n'; k--)
        ;
    f->col = f->out->len - k;
    buf_free(&w);
}

/* The field "name: a, b, ..." from parsed addresses, names as phrases, folded. */
static void put_address_list(struct buf *out, const char *name, const struct addr *a, size_t n)
{
    struct folder f;
    struct buf atom = BUF_INIT;

    fold_start(&f, out, name);
    for (size_t i = 0; i < n; i++) {
        bool last = i + 1 == n;

        buf_reset(&atom);
        if (a[i].name && *a[i].name && strchr(a[i].mailbox, '@') == NULL) {
            fold_atom(&f, a[i].mailbox, strlen(a[i].mailbox));
            put_comment(&f, a[i].name, last ? "" : ",");
            continue;
        }
        if (a[i].name && *a[i].name) {
            put_phrase(&f, a[i].name);
            buf_printf(&atom, "<%s>%s", a[i].mailbox, last ? "" : ",");
        } else {
            buf_printf(&atom, "%s%s", a[i].mailbox, last ? "" : ",");
        }
        fold_atom(&f, atom.ptr, atom.len);
    }
    fold_end(&f);
    buf_free(&atom);
}

int build_header_addresses(struct buf *out, const char *name, const char *utf8, struct err *e)
{
    struct addr *a;
    size_t n;

    if (addr_parse_list(utf8, strlen(utf8), &a, &n) < 0 || n == 0)
        return err_set(e, ERR_PARSE, "%s: no address in '%s'", name, utf8);
    for (size_t i = 0; i < n; i++) {
        if (a[i].mailbox == NULL || strchr(a[i].mailbox, '@') == NULL ||
            addr_mailbox_bad(a[i].mailbox, mailbox_bad)) {
            err_set(e, ERR_PARSE, "%s: '%s' is not an address", name,
                    a[i].mailbox ? a[i].mailbox : utf8);
            addr_list_free(a, n);
            return -1;
        }
    }
    put_address_list(out, name, a, n);
    addr_list_free(a, n);
    return 0;
}

/* ---- ids, dates, types ---- */

static char *domain_of(const char *from)
{
    char *m = from ? addr_first_mailbox(from, strlen(from)) : NULL;
    char *at = m ? strrchr(m, '@') : NULL;
    char *dom = at && at[1] ? xstrdup(at + 1) : NULL;

    free(m);
    return dom;
}

char *build_message_id(const char *domain)
{
    unsigned char rnd[12];
    struct buf b = BUF_INIT;
    char host[256] = "localhost";

    if (RAND_bytes(rnd, sizeof rnd) != 1) {
        /* The pool is always seeded on a sane system; fall back rather than fail to send. */
        for (size_t i = 0; i < sizeof rnd; i++)
            rnd[i] = (unsigned char)(rand() ^ getpid());
    }
    if (domain == NULL && gethostname(host, sizeof host - 1) == 0)
        host[sizeof host - 1] = '\0';
    buf_printf(&b, "<%lx.", (long)time(NULL));
    for (size_t i = 0; i < sizeof rnd; i++)
        buf_printf(&b, "%02x", rnd[i]);
    buf_printf(&b, "@%s>", domain ? domain : host);
    return buf_detach(&b);
}

void build_date(struct buf *out, time_t t)
{
    static const char days[][4] = { "Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat" };
    static const char months[][4] = { "Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                      "Jul", "Aug", "Sep", "Oct", "Nov", "Dec" };
    struct tm tm;
    long off;

    localtime_r(&t, &tm);
    off = tm.tm_gmtoff / 60;
    buf_printf(out, "%s, %d %s %d %02d:%02d:%02d %c%02ld%02ld", days[tm.tm_wday], tm.tm_mday,
               months[tm.tm_mon], tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec,
               off < 0 ? '-' : '+', labs(off) / 60, labs(off) % 60);
}

const char *build_mime_type(const char *name)
{
    static const char *const types[][2] = {
        { "txt", "text/plain" }, { "text", "text/plain" }, { "md", "text/markdown" },
        { "csv", "text/csv" }, { "html", "text/html" }, { "htm", "text/html" },
        { "ics", "text/calendar" }, { "vcf", "text/vcard" }, { "patch", "text/x-diff" },
        { "diff", "text/x-diff" }, { "c", "text/x-c" }, { "h", "text/x-c" },
        { "pdf", "application/pdf" }, { "zip", "application/zip" },
        { "gz", "application/gzip" }, { "tgz", "application/gzip" },
        { "tar", "application/x-tar" }, { "xz", "application/x-xz" },
        { "json", "application/json" }, { "xml", "application/xml" },
        { "doc", "application/msword" }, { "odt", "application/vnd.oasis.opendocument.text" },
        { "ods", "application/vnd.oasis.opendocument.spreadsheet" },
        { "docx", "application/vnd.openxmlformats-officedocument.wordprocessingml.document" },
        { "xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet" },
        { "pptx", "application/vnd.openxmlformats-officedocument.presentationml.presentation" },
        { "eml", "message/rfc822" }, { "png", "image/png" }, { "jpg", "image/jpeg" },
        { "jpeg", "image/jpeg" }, { "gif", "image/gif" }, { "webp", "image/webp" },
        { "svg", "image/svg+xml" }, { "mp3", "audio/mpeg" }, { "ogg", "audio/ogg" },
        { "wav", "audio/wav" }, { "mp4", "video/mp4" }, { "webm", "video/webm" },
        { "asc", "application/pgp-signature" }, { "sig", "application/pgp-signature" },
    };
    const char *dot = strrchr(name, '.');

    if (dot && dot[1] && strchr(dot, '/') == NULL)
        for (size_t i = 0; i < sizeof types / sizeof types[0]; i++)
            if (str_casecmp(dot + 1, types[i][0]) == 0)
                return types[i][1];
    return "application/octet-stream";
}

/* ---- body ---- */

enum cte { CTE_7BIT, CTE_8BIT, CTE_QP };

/* CRLF → LF, and a final newline. */
static void normalise_text(const char *s, size_t n, struct buf *out)
{
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '\r' && i + 1 < n && s[i + 1] == '\n')
            continue;
        buf_addc(out, s[i]);
    }
    if (out->len == 0 || out->ptr[out->len - 1] != '\n')
        buf_addc(out, '\n');
}

static enum cte choose_cte(const char *s, size_t n, bool allow_8bit)
{
    size_t line = 0, longest = 0;
    bool ascii = true, bare_cr = false;

    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];

        if (c == '\n') {
            longest = line > longest ? line : longest;
            line = 0;
            continue;
        }
        line++;
        if (c >= 0x80 || c == 0)
            ascii = false;
        if (c == '\r')
            bare_cr = true;
    }
    if (bare_cr || longest > LINE_MAX_OCTETS)
        return CTE_QP;
    if (ascii)
        return CTE_7BIT;
    if (allow_8bit && codec_utf8_valid(s, n) && memchr(s, '\0', n) == NULL)
        return CTE_8BIT;
    return CTE_QP;
}

/* Quoted-printable (RFC 2045 6.7): soft breaks keep lines within 76 characters. */
static void qp_encode(const char *s, size_t n, struct buf *out)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t col = 0;

    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        bool at_eol = i + 1 == n || s[i + 1] == '\n';
        char enc[4];
        size_t len;

        if (c == '\n') {
            buf_addc(out, '\n');
            col = 0;
            continue;
        }
        /* Trailing white space would be stripped in transit; a leading dot or "From " can
         * be mangled by old transports: encode them. */
        if ((c >= 33 && c <= 126 && c != '=' && !(col == 0 && c == '.')) ||
            ((c == ' ' || c == '\t') && !at_eol && !(col == 0 && c == ' '))) {
            enc[0] = (char)c;
            len = 1;
        } else {
            enc[0] = '=';
            enc[1] = hex[c >> 4];
            enc[2] = hex[c & 15];
            len = 3;
        }
        if (col + len > (at_eol ? 76 : 75)) {
            buf_adds(out, "=\n");
            col = 0;
        }
        buf_add(out, enc, len);
        col += len;
    }
}

/*
 * format=flowed (RFC 3676): long unquoted lines are wrapped at spaces with a trailing space
 * marking each soft break; hard lines lose trailing spaces; lines that start with a space or
 * "From " are space-stuffed. Quoted lines and the signature separator stay as they are.
 */
static void flow_text(const char *s, size_t n, struct buf *out)
{
    size_t i = 0;

    while (i < n) {
        const char *nl = memchr(s + i, '\n', n - i);
        size_t len = nl ? (size_t)(nl - (s + i)) : n - i;
        const char *line = s + i;

        i += len + 1;
        if (len == 3 && memcmp(line, "-- ", 3) == 0) {
            buf_adds(out, "-- \n");
            continue;
        }
        while (len > 0 && line[len - 1] == ' ')
            len--;
        if (line[0] != '>' && (line[0] == ' ' || (len >= 5 && memcmp(line, "From ", 5) == 0)))
            buf_addc(out, ' ');
        while (line[0] != '>' && utf8_width(line, len) > FOLD_AT) {
            size_t cut = 0, cols = 0;

            for (size_t k = 0; k < len && cols < 72; k += char_len(line + k, len - k)) {
                cols += utf8_width(line + k, char_len(line + k, len - k));
                if (line[k] == ' ')
                    cut = k + 1;
            }
            if (cut == 0)
                break;          /* one long word: leave the line long */
            buf_add(out, line, cut);   /* ends with the space: a soft break */
            buf_addc(out, '\n');
            line += cut;
            len -= cut;
        }
        buf_add(out, line, len);
        buf_addc(out, '\n');
    }
}

static void text_part(const struct draft *d, const struct build_opts *o, struct buf *out)
{
    struct buf text = BUF_INIT, flowed = BUF_INIT;
    const struct buf *body = &text;
    enum cte cte;

    normalise_text(d->body.ptr ? d->body.ptr : "", d->body.len, &text);
    if (o->flowed) {
        flow_text(text.ptr, text.len, &flowed);
        body = &flowed;
    }
    cte = choose_cte(body->ptr, body->len, o->allow_8bit);
    buf_printf(out, "Content-Type: text/plain; charset=%s%s\n",
               cte == CTE_7BIT ? "us-ascii" : "utf-8", o->flowed ? "; format=flowed" : "");
    buf_printf(out, "Content-Transfer-Encoding: %s\n\n",
               cte == CTE_7BIT ? "7bit" : cte == CTE_8BIT ? "8bit" : "quoted-printable");
    if (cte == CTE_QP)
        qp_encode(body->ptr, body->len, out);
    else
        buf_add(out, body->ptr, body->len);
    buf_free(&text);
    buf_free(&flowed);
}

/* ---- attachments ---- */

static bool attr_char(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           strchr("!#$&+-.^_`|~", c) != NULL;
}

/* param="value" for ASCII names; RFC 2231 param*=utf-8''%XX (continued when long) else. */
static void put_param(struct buf *out, const char *param, const char *value)
{
    struct buf enc = BUF_INIT;

    if (is_ascii(value, strlen(value)) && strlen(value) < 60) {
        buf_printf(out, ";\n %s=\"", param);
        for (const char *p = value; *p; p++) {
            if (*p == '"' || *p == '\\')
                buf_addc(out, '\\');
            buf_addc(out, (*p == '\n' || *p == '\r') ? ' ' : *p);
        }
        buf_addc(out, '"');
        return;
    }
    for (const unsigned char *p = (const unsigned char *)value; *p; p++) {
        if (attr_char(*p))
            buf_addc(&enc, (char)*p);
        else
            buf_printf(&enc, "%%%02X", *p);
    }
    if (enc.len <= 60) {
        buf_printf(out, ";\n %s*=utf-8''%s", param, enc.ptr);
    } else {
        size_t pos = 0;

        for (int k = 0; pos < enc.len; k++) {
            /* " name*K*=utf-8''" + chunk + ";" within the 78 columns */
            size_t prefix = 1 + strlen(param) + 4 + (k > 9) + (k == 0 ? 7 : 0);
            size_t room = FOLD_AT - prefix - 1;
            size_t take = enc.len - pos > room ? room : enc.len - pos;

            while (pos + take < enc.len && take > 2 &&
                   (enc.ptr[pos + take - 1] == '%' || enc.ptr[pos + take - 2] == '%'))
                take--;   /* never split a %XX escape */
            buf_printf(out, ";\n %s*%d*=%s%.*s", param, k, k == 0 ? "utf-8''" : "",
                       (int)take, enc.ptr + pos);
            pos += take;
        }
    }
    buf_free(&enc);
}

static int attachment_part(const struct attachment *a, struct buf *out, struct err *e)
{
    struct buf file = BUF_INIT;
    const struct buf *data = &a->data;
    const char *type = a->type ? a->type : build_mime_type(a->name);

    if (a->path) {
        if (fs_read_file(a->path, &file, e) < 0)
            return err_prefix(e, "attachment"), -1;
        data = &file;
    }
    /* RFC 2231 for both parameters, as mutt does: every current reader knows it, and
     * encoded words inside a quoted string are forbidden by RFC 2047 anyway. */
    buf_printf(out, "Content-Type: %s", type);
    put_param(out, "name", a->name);
    buf_adds(out, "\nContent-Disposition: attachment");
    put_param(out, "filename", a->name);
    buf_adds(out, "\nContent-Transfer-Encoding: base64\n\n");
    codec_b64_encode_lines(data->ptr ? data->ptr : "", data->len, out);
    buf_free(&file);
    return 0;
}

/* ---- the message ---- */

static void random_boundary(char *out, size_t n)
{
    unsigned char rnd[9];

    if (RAND_bytes(rnd, sizeof rnd) != 1)
        memset(rnd, 0x5a, sizeof rnd);
    snprintf(out, n, "=_tern_%02x%02x%02x%02x%02x%02x%02x%02x%02x", rnd[0], rnd[1], rnd[2],
             rnd[3], rnd[4], rnd[5], rnd[6], rnd[7], rnd[8]);
}

static int put_addresses(struct buf *out, const char *name, const char *v, struct err *e)
{
    const char *p = v;

    if (v == NULL)
        return 0;
    while (*p == ' ' || *p == '\t')
        p++;
    if (*p == '\0')
        return 0;
    return build_header_addresses(out, name, v, e);
}

static int put_headers(const struct draft *d, const struct build_opts *o, struct buf *out,
                       struct err *e)
{
    char *dom, *mid;

    buf_adds(out, "Date: ");
    build_date(out, o->date ? o->date : time(NULL));
    buf_addc(out, '\n');
    if (put_addresses(out, "From", d->from, e) < 0 || put_addresses(out, "To", d->to, e) < 0 ||
        put_addresses(out, "Cc", d->cc, e) < 0 ||
        (o->keep_bcc && put_addresses(out, "Bcc", d->bcc, e) < 0) ||
        put_addresses(out, "Reply-To", d->reply_to, e) < 0)
        return -1;
    if (d->subject && *d->subject)
        build_header_text(out, "Subject", d->subject);
    dom = o->domain ? xstrdup(o->domain) : domain_of(d->from);
    mid = d->message_id ? xstrdup(d->message_id) : build_message_id(dom);
    buf_printf(out, "Message-ID: %s\n", mid);
    free(mid);
    free(dom);
    if (d->in_reply_to && *d->in_reply_to)
        buf_printf(out, "In-Reply-To: %s\n", d->in_reply_to);
    if (d->references && *d->references) {
        struct folder f;
        char **ids;
        size_t n = hdr_msgids(d->references, strlen(d->references), &ids);

        fold_start(&f, out, "References");
        for (size_t i = 0; i < n; i++) {
            char *id = xmalloc(strlen(ids[i]) + 3);
            size_t len = (size_t)snprintf(id, strlen(ids[i]) + 3, "<%s>", ids[i]);
            fold_atom(&f, id, len);
            free(id);
        }
        fold_end(&f);
        hdr_msgids_free(ids, n);
    }
    buf_printf(out, "MIME-Version: 1.0\nUser-Agent: tern/%s\n", PACKAGE_VERSION);
    return 0;
}

static bool parts_contain(const struct buf *parts, size_t n, const char *s)
{
    for (size_t i = 0; i < n; i++)
        if (str_casemem(parts[i].ptr, parts[i].len, s) != NULL)
            return true;
    return false;
}

int build_message(const struct draft *d, const struct build_opts *o, struct buf *out,
                  struct err *e)
{
    char boundary[40];
    struct buf *parts;
    size_t start = out->len, nparts = d->natt + 1;
    int rc = -1;

    if (put_headers(d, o, out, e) < 0) {
        buf_truncate(out, start);
        return -1;
    }
    if (d->natt == 0) {
        text_part(d, o, out);
        return 0;
    }
    parts = xcalloc(nparts, sizeof *parts);
    text_part(d, o, &parts[0]);
    for (size_t i = 0; i < d->natt; i++)
        if (attachment_part(&d->att[i], &parts[i + 1], e) < 0)
            goto out;
    /* A boundary must not occur in any part; random ones practically never do. */
    do
        random_boundary(boundary, sizeof boundary);
    while (parts_contain(parts, nparts, boundary));
    buf_printf(out, "Content-Type: multipart/mixed;\n boundary=\"%s\"\n\n", boundary);
    buf_adds(out, "This is a multi-part message in MIME format.\n");
    for (size_t i = 0; i < nparts; i++) {
        buf_printf(out, "\n--%s\n", boundary);
        buf_add(out, parts[i].ptr, parts[i].len);
    }
    buf_printf(out, "\n--%s--\n", boundary);
    rc = 0;
out:
    if (rc < 0)
        buf_truncate(out, start);
    for (size_t i = 0; i < nparts; i++)
        buf_free(&parts[i]);
    free(parts);
    return rc;
}

/* ---- the editable text ---- */

struct editable {
    const char *name;
    size_t off;
};

static const struct editable editable_headers[] = {
    { "From", offsetof(struct draft, from) },
    { "To", offsetof(struct draft, to) },
    { "Cc", offsetof(struct draft, cc) },
    { "Bcc", offsetof(struct draft, bcc) },
    { "Reply-To", offsetof(struct draft, reply_to) },
    { "Subject", offsetof(struct draft, subject) },
};

#define NEDITABLE (sizeof editable_headers / sizeof editable_headers[0])

static char **draft_field(struct draft *d, size_t i)
{
    return (char **)((char *)d + editable_headers[i].off);
}

void draft_to_text(const struct draft *d, struct buf *out)
{
    for (size_t i = 0; i < NEDITABLE; i++) {
        const char *v = *draft_field((struct draft *)d, i);

        if (v == NULL && strcmp(editable_headers[i].name, "Reply-To") == 0)
            continue;       /* shown only when set: most messages have none */
        buf_printf(out, "%s: %s\n", editable_headers[i].name, v ? v : "");
    }
    buf_addc(out, '\n');
    if (d->body.len)
        buf_add(out, d->body.ptr, d->body.len);
}

/* Split off one logical header line (with its continuation lines joined by a space). */
static int draft_parse_text(struct draft *d, const char *text, size_t n, struct err *e);

static size_t next_logical_line(const char *s, size_t n, struct buf *line)
{
    size_t i = 0;

    buf_reset(line);
    for (;;) {
        const char *nl = memchr(s + i, '\n', n - i);
        size_t len = nl ? (size_t)(nl - (s + i)) : n - i;
        size_t l = len;

        if (l > 0 && s[i + l - 1] == '\r')
            l--;
        if (line->len)
            buf_addc(line, ' ');
        const char *p = s + i;
        if (line->len) {
            while (l > 0 && (*p == ' ' || *p == '\t'))
                p++, l--;
        }
        buf_add(line, p, l);
        i += len + (nl ? 1 : 0);
        if (i >= n || (s[i] != ' ' && s[i] != '\t'))
            return i;
    }
}

/*
 * The edited file with CR LF, lone CR and LF all read as one line end in the header block (a
 * CR pasted into a Subject must not hide a field that the wire would see) and CR LF read as
 * LF in the body.
 */
static void unify_line_ends(const char *t, size_t n, struct buf *out)
{
    bool body = false;

    buf_reserve(out, n);
    for (size_t i = 0; i < n; i++) {
        char c = t[i];

        if (c == '\r' && i + 1 < n && t[i + 1] == '\n')
            continue;
        if (c == '\r' && !body)
            c = '\n';
        if (c == '\n' && !body && (out->len == 0 || out->ptr[out->len - 1] == '\n'))
            body = true;
        buf_addc(out, c);
    }
}

int draft_from_text(struct draft *d, const char *raw, size_t rawlen, struct err *e)
{
    struct buf unified = BUF_INIT;
    int rc;

    unify_line_ends(raw, rawlen, &unified);
    rc = draft_parse_text(d, unified.ptr ? unified.ptr : "", unified.len, e);
    buf_free(&unified);
    return rc;
}

static int draft_parse_text(struct draft *d, const char *text, size_t n, struct err *e)
{
    struct buf line = BUF_INIT;
    char *fields[NEDITABLE] = { NULL };
    size_t i = 0;
    int lineno = 1, rc = -1;

    while (i < n && text[i] != '\n' && !(text[i] == '\r' && i + 1 < n && text[i + 1] == '\n')) {
        const char *colon;
        size_t k, start = i;

        i += next_logical_line(text + i, n - i, &line);
        colon = memchr(line.ptr, ':', line.len);
        for (k = 0; colon && k < NEDITABLE; k++)
            if ((size_t)(colon - line.ptr) == strlen(editable_headers[k].name) &&
                str_ncasecmp(line.ptr, editable_headers[k].name, (size_t)(colon - line.ptr)) == 0)
                break;
        if (colon == NULL || k == NEDITABLE) {
            err_set(e, ERR_PARSE, "line %d: '%.40s' is not one of the headers From, To, Cc, "
                    "Bcc, Reply-To, Subject (a blank line must separate the body)", lineno,
                    line.ptr);
            goto out;
        }
        free(fields[k]);
        fields[k] = xstrdup(str_trim((char *)colon + 1));
        for (size_t j = start; j < i; j++)
            lineno += text[j] == '\n';
    }
    if (i < n)
        i += text[i] == '\r' ? 2 : 1;   /* the blank line */
    for (size_t k = 0; k < NEDITABLE; k++) {
        char **f = draft_field(d, k);

        free(*f);
        *f = fields[k] && *fields[k] ? fields[k] : NULL;
        if (*f == NULL)
            free(fields[k]);
        fields[k] = NULL;
    }
    buf_reset(&d->body);
    normalise_text(text + i, n - i, &d->body);
    if (d->body.len == 1)
        buf_reset(&d->body);     /* only the newline we added */
    rc = 0;
out:
    for (size_t k = 0; k < NEDITABLE; k++)
        free(fields[k]);
    buf_free(&line);
    return rc;
}

/* ---- making a finished message fit SMTP (tern send, the queue) ---- */

/* Does this stretch break the wire: a line over 998 octets, a NUL, 8-bit data unallowed? */
static bool wire_breaks(const char *p, size_t n, bool allow_8bit)
{
    size_t line = 0;

    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)p[i];

        if (c == '\n') {
            line = 0;
            continue;
        }
        if (c == '\0' || (c >= 0x80 && !allow_8bit))
            return true;
        if (c != '\r' && ++line > 998)
            return true;
    }
    return false;
}

static bool field_named(const char *line, size_t n, const char *name)
{
    size_t l = strlen(name);

    return n > l && line[l] == ':' && str_ncasecmp(line, name, l) == 0;
}

/*
 * A part's header with its Content-Transfer-Encoding replaced by cte (and, for the message
 * itself, MIME-Version and a Content-Type added when missing); header lines over 998 octets
 * folded at their last white space before the limit.
 */
static void wire_header(const char *h, size_t n, bool root, const char *ctype, const char *cte,
                        struct buf *out)
{
    bool have_mv = false, have_ct = false, skipping = false;
    size_t i = 0;

    while (i < n) {
        const char *nl = memchr(h + i, '\n', n - i);
        size_t len = nl ? (size_t)(nl - (h + i)) : n - i;
        const char *line = h + i;
        size_t l = len;

        i += len + (nl ? 1 : 0);
        if (l > 0 && line[l - 1] == '\r')
            l--;
        if (l == 0)
            break;                          /* the blank line: written below */
        if (line[0] == ' ' || line[0] == '\t') {
            if (skipping)
                continue;
        } else {
            skipping = field_named(line, l, "Content-Transfer-Encoding");
            if (skipping)
                continue;
            have_mv = have_mv || field_named(line, l, "MIME-Version");
            have_ct = have_ct || field_named(line, l, "Content-Type");
        }
        while (l > 998) {
            size_t cut = 0;

            for (size_t k = 1; k < 998; k++)
                if (line[k] == ' ' || line[k] == '\t')
                    cut = k;
            if (cut == 0)
                break;                      /* one long word: nothing to fold at */
            buf_add(out, line, cut);
            buf_addc(out, '\n');
            line += cut;
            l -= cut;
        }
        buf_add(out, line, l);
        buf_addc(out, '\n');
    }
    if (root && !have_mv)
        buf_adds(out, "MIME-Version: 1.0\n");
    if (!have_ct)
        buf_printf(out, "Content-Type: %s\n", ctype);
    buf_printf(out, "Content-Transfer-Encoding: %s\n\n", cte);
}

/* One leaf part re-encoded: quoted-printable for text, base64 for anything else. */
static void wire_leaf(const struct mime_part *p, bool root, struct buf *out)
{
    struct buf raw = BUF_INIT, text = BUF_INIT;
    bool is_text = strncmp(p->type, "text/", 5) == 0;
    const char *ctype;

    mime_decode(p, &raw);
    if (is_text && raw.len > 0 && memchr(raw.ptr, '\0', raw.len) != NULL)
        is_text = false;
    ctype = !is_text ? "application/octet-stream"
            : codec_utf8_valid(raw.ptr ? raw.ptr : "", raw.len) ? "text/plain; charset=utf-8"
                                                                : "text/plain; charset=unknown-8bit";
    wire_header(p->hdr, p->hdr_len, root, ctype, is_text ? "quoted-printable" : "base64", out);
    if (is_text) {
        for (size_t i = 0; i < raw.len; i++)
            if (!(raw.ptr[i] == '\r' && i + 1 < raw.len && raw.ptr[i + 1] == '\n'))
                buf_addc(&text, raw.ptr[i]);
        qp_encode(text.ptr ? text.ptr : "", text.len, out);
    } else {
        struct buf b = BUF_INIT;

        /* The line end after the last line is the original's (before a delimiter). */
        codec_b64_encode(raw.ptr ? raw.ptr : "", raw.len, &b);
        for (size_t i = 0; i < b.len; i += 76) {
            if (i > 0)
                buf_addc(out, '\n');
            buf_add(out, b.ptr + i, b.len - i < 76 ? b.len - i : 76);
        }
        buf_free(&b);
    }
    buf_free(&raw);
    buf_free(&text);
}

int build_wire_safe(const char *msg, size_t n, bool allow_8bit, struct buf *out, struct err *e)
{
    struct mime_tree t;
    size_t pos = 0;
    bool changed = false;

    if (!wire_breaks(msg, n, allow_8bit))
        return 0;
    mime_parse(msg, n, &t);
    if (t.flags & (MIME_F_CAPPED | MIME_F_GUESSED | MIME_F_NO_BOUNDARY)) {
        mime_free(&t);
        return err_set(e, ERR_PERM, "the message has lines over 998 octets, NUL bytes or 8-bit "
                       "data the server does not accept, and its MIME structure is too broken "
                       "to re-encode");
    }
    buf_reset(out);
    for (size_t i = 0; i < t.n; i++) {
        const struct mime_part *p = &t.parts[i];
        const char *start = p->hdr_len ? p->hdr : p->body;
        const char *end = p->body + p->body_len;

        if (p->nchildren > 0 || mime_is_multipart(p) || start < msg + pos ||
            (!wire_breaks(p->body, p->body_len, allow_8bit) &&
             !wire_breaks(p->hdr, p->hdr_len, true)))
            continue;
        buf_add(out, msg + pos, (size_t)(start - (msg + pos)));
        wire_leaf(p, i == 0, out);
        pos = (size_t)(end - msg);
        changed = true;
    }
    buf_add(out, msg + pos, n - pos);
    mime_free(&t);
    /* 8-bit header fields are sent as before (most servers take them); what is left must
     * at least not break the wire itself: no NUL, no line over 998 octets. */
    if (wire_breaks(changed ? out->ptr : msg, changed ? out->len : n, true)) {
        buf_reset(out);
        return err_set(e, ERR_PERM, "the message has lines over 998 octets or NUL bytes outside "
                       "its parts (in a header or a preamble): SMTP cannot carry it");
    }
    if (!changed)
        buf_reset(out);
    return changed ? 1 : 0;
}


/* ---- 8-bit header fields on the wire (RFC 2047 section 5, RFC 6532) ---- */

/* Fields whose value is a list of addresses: only their phrases may become encoded words. */
static const char *const addr_fields[] = {
    "From", "Sender", "Reply-To", "To", "Cc", "Bcc", "Resent-From", "Resent-Sender",
    "Resent-Reply-To", "Resent-To", "Resent-Cc", "Resent-Bcc", "Mail-Followup-To",
    "Mail-Reply-To", "Disposition-Notification-To", "Return-Receipt-To", "Errors-To", NULL,
};

/* Structured fields where RFC 2047 allows no encoded word at all (ids, dates, trace,
 * signatures, MIME syntax): 8-bit bytes there cannot be made 7-bit without changing them. */
static const char *const struct_fields[] = {
    "Date", "Resent-Date", "Message-ID", "Resent-Message-ID", "In-Reply-To", "References",
    "Return-Path", "Received", "MIME-Version", "Content-Type", "Content-Transfer-Encoding",
    "Content-ID", "Content-Disposition", "DKIM-Signature", "ARC-Seal",
    "ARC-Message-Signature", "ARC-Authentication-Results", "Authentication-Results",
    "Received-SPF", "List-Id", "List-Unsubscribe", "List-Post", "List-Help",
    "List-Subscribe", "List-Archive", "List-Owner", NULL,
};

static bool field_in(const char *name, size_t n, const char *const *list)
{
    for (; *list; list++)
        if (strlen(*list) == n && str_ncasecmp(name, *list, n) == 0)
            return true;
    return false;
}

/* An address field with 8-bit bytes: the same addresses, each display name (or the comment
 * that served as one) as a phrase with encoded words; an 8-bit mailbox cannot be carried. */
static int wire_address_field(struct buf *out, const char *name, const char *v, size_t n,
                              struct err *e)
{
    struct addr *a;
    size_t na;

    addr_parse_list(v, n, &a, &na);
    for (size_t i = 0; i < na; i++) {
        if (!is_ascii(a[i].mailbox, strlen(a[i].mailbox))) {
            err_set(e, ERR_PERM, "the %s field has a non-ASCII address (%s), which only "
                    "SMTPUTF8 can carry", name, a[i].mailbox);
            addr_list_free(a, na);
            return -1;
        }
    }
    if (na == 0) {
        addr_list_free(a, na);
        return err_set(e, ERR_PERM, "the %s field has 8-bit bytes and no address tern can "
                       "re-encode", name);
    }
    put_address_list(out, name, a, na);
    addr_list_free(a, na);
    return 0;
}

/* Where field f ends in the header block h (after its line end). */
static size_t field_end(const char *h, size_t hlen, const struct hdr_field *f)
{
    size_t end = (size_t)(f->value + f->value_len - h);

    if (end < (size_t)(f->name - h) + f->name_len)
        end = (size_t)(f->name - h) + f->name_len;
    while (end < hlen && h[end] != '\n')
        end++;
    return end < hlen ? end + 1 : end;
}

/* One 8-bit field rewritten in 7 bits onto out; -1 (ERR_PERM) when it cannot be. */
static int wire_field(const struct hdr_field *f, struct buf *out, struct err *e)
{
    char *name = xmemdup0(f->name, f->name_len);
    int rc = 0;

    if (!is_ascii(f->name, f->name_len)) {
        struct buf shown = BUF_INIT;

        codec_sanitize(f->name, f->name_len, CODEC_SAN_LINE, &shown);
        rc = err_set(e, ERR_PERM, "a header field name (%.60s) has 8-bit bytes, which only "
                     "SMTPUTF8 could carry", shown.ptr ? shown.ptr : "");
        buf_free(&shown);
    } else if (field_in(f->name, f->name_len, addr_fields)) {
        rc = wire_address_field(out, name, f->value, f->value_len, e);
    } else if (field_in(f->name, f->name_len, struct_fields)) {
        rc = err_set(e, ERR_PERM, "the %s field has 8-bit bytes, which only SMTPUTF8 can carry "
                     "there", name);
    } else {
        struct buf text = BUF_INIT;

        /* Unstructured: read as a reader would (encoded words decoded, 8-bit as UTF-8 or
         * else Windows-1252), then written whole-word as build_header_text does. */
        ew_decode(f->value, f->value_len, &text);
        build_header_text(out, name, text.ptr ? text.ptr : "");
        buf_free(&text);
    }
    free(name);
    return rc;
}

int build_wire_headers(const char *msg, size_t n, struct buf *out, struct err *e)
{
    size_t hlen = hdr_block_len(msg, n), pos = 0, copied = 0;
    struct hdr_field f;
    bool changed = false;

    if (is_ascii(msg, hlen) || memchr(msg, '\0', hlen) != NULL)
        return 0;
    if (hdr_next(msg, hlen, &pos, &f) != 1)
        return 0;                           /* no field at all: text with no header */
    pos = 0;
    buf_reset(out);
    while (hdr_next(msg, hlen, &pos, &f) == 1) {
        size_t start = (size_t)(f.name - msg), end = field_end(msg, hlen, &f);

        if (start < copied || is_ascii(msg + start, end - start))
            continue;
        if (!is_ascii(msg + copied, start - copied))
            break;                          /* 8-bit in a line that is no field: below */
        buf_add(out, msg + copied, start - copied);
        if (wire_field(&f, out, e) < 0) {
            buf_reset(out);
            return -1;
        }
        copied = end;
        changed = true;
    }
    if (!is_ascii(msg + copied, hlen - copied)) {
        buf_reset(out);
        return err_set(e, ERR_PERM, "the header has a line with 8-bit bytes that is not a "
                       "field (no name and colon), which only SMTPUTF8 could carry");
    }
    if (!changed)
        return 0;
    buf_add(out, msg + copied, n - copied);
    return 1;
}

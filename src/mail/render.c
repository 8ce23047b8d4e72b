/* Rendering a message for the pager and `tern show`: which parts are shown, the header
 * block, attachments, part extraction, and the terminal-safety and width helpers. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <wchar.h>

#include "tern/codec.h"
#include "tern/header.h"
#include "tern/mime.h"
#include "tern/render.h"
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

struct walk {
    const struct mime_tree *t;
    const struct render_opts *o;
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

static void header_block(const char *hdr, size_t len, const struct render_opts *o,
                         struct buf *out);

static void separate(struct buf *b)
{
    if (b->len == 0)
        return;
    if (b->ptr[b->len - 1] != '\n')
        buf_addc(b, '\n');
    if (b->len < 2 || b->ptr[b->len - 2] != '\n')
        buf_addc(b, '\n');
}

static void mark_attachments(struct walk *w, int i)
{
    const struct mime_part *p = &w->t->parts[i];

    if (p->number > 0) {
        w->attach[i] = 1;
        return;
    }
    for (int c = w->first_child[i]; c >= 0; c = w->next_sibling[c])
        mark_attachments(w, c);
}

static void walk(struct walk *w, int i, int depth)
{
    const struct mime_part *p = &w->t->parts[i];
    int c;

    if (depth > MIME_MAX_DEPTH + 2)
        return;
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
            buf_printf(w->body, "[-- Attached message (part %d) --]\n", p->number);
            header_block(m->hdr, m->hdr_len, w->o, w->body);
            buf_addc(w->body, '\n');
        }
        walk(w, child, depth + 1);
        if (w->body) {
            separate(w->body);
            buf_printf(w->body, "[-- End of attached message (part %d) --]\n", p->number);
        }
        return;
    }
    if (!p->attachment && (is_type(p, "text/plain") || is_type(p, "text/html"))) {
        w->shown[i] = 1;
        if (w->body) {
            struct buf text = BUF_INIT;

            mime_text(p, &text);
            if (text.len == 0) {
                buf_free(&text);
                return;
            }
            separate(w->body);
            if (is_type(p, "text/html"))
                render_html(text.ptr, text.len, w->o->width, w->body);
            else
                buf_add(w->body, text.ptr, text.len);
            buf_free(&text);
        }
        return;
    }
    w->attach[i] = 1;
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
    w->body = NULL;
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

/* mailx-style weeding: every field the filter accepts, in message order, addresses and
 * dates formatted as in the default block. */
static void weeded_block(const char *hdr, size_t len, const struct render_opts *o,
                         struct buf *out)
{
    static const char *const addr_fields[] = { "From", "To", "Cc", "Reply-To", "Sender" };
    struct hdr_field f;
    size_t pos = 0;

    while (hdr_next(hdr, len, &pos, &f)) {
        bool addr = false;

        if (!o->header_shown(o->header_arg, f.name, f.name_len))
            continue;
        codec_sanitize(f.name, f.name_len, CODEC_SAN_LINE, out);
        buf_add(out, ": ", 2);
        for (size_t k = 0; k < sizeof addr_fields / sizeof addr_fields[0]; k++)
            addr |= strlen(addr_fields[k]) == f.name_len &&
                    str_ncasecmp(addr_fields[k], f.name, f.name_len) == 0;
        if (addr) {
            add_addresses(&f, out);
        } else if (f.name_len == 4 && str_ncasecmp(f.name, "Date", 4) == 0) {
            add_date(&f, out);
        } else {
            char *d = hdr_decode(f.value, f.value_len);
            buf_adds(out, d);
            free(d);
        }
        buf_addc(out, '\n');
    }
}

static void header_block(const char *hdr, size_t len, const struct render_opts *o,
                         struct buf *out)
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
        weeded_block(hdr, len, o, out);
        return;
    }
    for (size_t k = 0; k < sizeof shown / sizeof shown[0]; k++) {
        if (!hdr_find(hdr, len, shown[k], &f))
            continue;
        buf_printf(out, "%s: ", shown[k]);
        if (k < 3) {
            add_addresses(&f, out);
        } else if (k == 3) {
            add_date(&f, out);
        } else {
            char *d = hdr_decode(f.value, f.value_len);
            buf_adds(out, d);
            free(d);
        }
        buf_addc(out, '\n');
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
    struct buf text = BUF_INIT;
    int nattach = 0;

    (void)e;
    if (o == NULL)
        o = &defaults;
    walk_init(&w, &t, o);
    w.body = &text;
    header_block(t.parts[0].hdr, t.parts[0].hdr_len, o, &text);
    if (text.len > 0)
        buf_addc(&text, '\n');
    {
        size_t body_start = text.len;
        bool any_attachment = false;

        walk(&w, 0, 0);
        for (size_t i = 0; i < t.n; i++)
            if (w.attach[i] && t.parts[i].number > 0)
                any_attachment = true;
        if (text.len == body_start && !any_attachment &&
            (t.n > 1 || mime_is_multipart(&t.parts[0])) &&
            has_text(t.parts[0].body, t.parts[0].body_len)) {
            /* The structure yielded nothing to show (empty or ambiguous parts): show the
             * source of the body rather than silently nothing. */
            buf_adds(&text, "[-- The MIME structure has nothing to show; the body as sent: --]\n");
            codec_to_utf8(NULL, t.parts[0].body, t.parts[0].body_len, &text);
        }
    }
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
            buf_addc(&text, '\n');
            free(name);
        }
    }
    if (t.flags & MIME_F_CAPPED)
        buf_adds(&text, "[-- Message structure too deep or too large: the rest is not shown --]\n");
    render_sanitize(text.ptr ? text.ptr : "", text.len, out);
    buf_free(&text);
    walk_free(&w);
    return 0;
}

size_t render_attachments(const char *msg, size_t len, struct render_attachment **out)
{
    struct mime_tree t;
    size_t n;

    mime_parse(msg, len, &t);
    n = render_attachments_tree(&t, out);
    mime_free(&t);
    return n;
}

size_t render_attachments_tree(const struct mime_tree *tree, struct render_attachment **out)
{
    static const struct render_opts defaults;
    const struct mime_tree t = *tree;
    struct walk w;
    size_t n = 0, cap = 0;

    *out = NULL;
    walk_init(&w, &t, &defaults);
    walk(&w, 0, 0);
    for (size_t i = 0; i < t.n; i++) {
        const struct mime_part *p = &t.parts[i];
        struct render_attachment *a;

        if (p->number == 0)
            continue;
        if (n == cap) {
            cap = cap ? cap * 2 : 4;
            *out = xreallocarray(*out, cap, sizeof **out);
        }
        a = &(*out)[n++];
        a->number = p->number;
        {
            struct buf ty = BUF_INIT;

            codec_sanitize(p->type, strlen(p->type), CODEC_SAN_LINE, &ty);
            a->type = buf_detach(&ty);
        }
        a->name = render_safe_filename(p->filename);
        a->size = mime_decoded_size(p);
        a->inline_shown = w.shown[i] == 1;
    }
    walk_free(&w);
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

int render_part(const char *msg, size_t len, int num, struct buf *out, char **name,
                struct err *e)
{
    struct mime_tree t;
    int rc;

    mime_parse(msg, len, &t);
    rc = render_part_tree(&t, num, out, name, e);
    mime_free(&t);
    return rc;
}

int render_part_tree(const struct mime_tree *t, int num, struct buf *out, char **name,
                     struct err *e)
{
    int i;

    if (name)
        *name = NULL;
    i = mime_find_number(t, num);
    if (i < 0) {
        int total = 0;
        for (size_t k = 0; k < t->n; k++)
            if (t->parts[k].number > total)
                total = t->parts[k].number;
        return err_set(e, ERR_PARSE, "no part %d (the message has %d)", num, total);
    }
    mime_decode(&t->parts[i], out);
    if (name)
        *name = render_safe_filename(t->parts[i].filename);
    return 0;
}

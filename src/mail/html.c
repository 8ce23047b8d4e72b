/* Our own small HTML to text converter: block structure, lists, quotes, links as footnotes,
 * entities; scripts, styles and comments dropped. Not a browser: readable text is the goal. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tern/codec.h"
#include "tern/render.h"
#include "tern/str.h"
#include "tern/xalloc.h"

#define MAX_LIST_DEPTH 16
#define MAX_LINKS 500

struct hout {
    struct buf *out;
    size_t start;           /* where our output began in out */
    int width;
    size_t col;             /* columns on the current line; 0 = at line start */
    int nl_run;             /* newlines at the end of the output */
    int space;              /* a space is pending before the next word */
    int pre;                /* inside <pre> */
    int quote;              /* blockquote depth */
    int list_depth;
    int list_ordered[MAX_LIST_DEPTH];
    int list_count[MAX_LIST_DEPTH];
    char bullet[16];        /* pending bullet for the next line of an <li> */
    char *href;             /* the open <a>'s target */
    size_t link_text_at;    /* out->len when the <a> opened */
    char *links[MAX_LINKS];
    int nlinks;
};

static void h_prefix(struct hout *h)
{
    int depth = h->list_depth < MAX_LIST_DEPTH ? h->list_depth : MAX_LIST_DEPTH;
    size_t indent = depth > 0 ? (size_t)depth * 3 - 3 : 0;

    for (int q = 0; q < h->quote; q++) {
        buf_add(h->out, "> ", 2);
        h->col += 2;
    }
    if (h->bullet[0]) {
        size_t bl = strlen(h->bullet);
        for (size_t i = 0; i < indent; i++)
            buf_addc(h->out, ' ');
        buf_add(h->out, h->bullet, bl);
        h->col += indent + bl;
        h->bullet[0] = '\0';
    } else if (h->list_depth > 0) {
        indent += 3;
        for (size_t i = 0; i < indent; i++)
            buf_addc(h->out, ' ');
        h->col += indent;
    }
    h->nl_run = 0;
}

static void h_newline(struct hout *h)
{
    buf_addc(h->out, '\n');
    h->col = 0;
    h->nl_run++;
    h->space = 0;
}

/* Make sure the output ends with at least n line breaks (nothing at the very start). */
static void h_break(struct hout *h, int n)
{
    if (h->out->len == h->start)
        return;
    if (h->col > 0)
        h_newline(h);
    while (h->nl_run < n)
        h_newline(h);
}

/* Columns of a word; most words are ASCII, which needs no wcwidth. */
static size_t word_width(const char *w, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)w[i] >= 0x80 || (unsigned char)w[i] < 0x20)
            return utf8_width(w, n);
    return n;
}

static void h_word(struct hout *h, const char *w, size_t n)
{
    size_t wc = word_width(w, n);

    if (h->col == 0) {
        h_prefix(h);
    } else if (h->space) {
        if (h->col + 1 + wc > (size_t)h->width) {
            h_newline(h);
            h_prefix(h);
        } else {
            buf_addc(h->out, ' ');
            h->col++;
        }
    }
    buf_add(h->out, w, n);
    h->col += wc;
    h->space = 0;
    h->nl_run = 0;
}

/* Text (already entity-decoded): split into words, or verbatim inside <pre>. */
static void h_text(struct hout *h, const char *s, size_t n)
{
    size_t i = 0;

    if (h->pre) {
        while (i < n) {
            const char *nl = memchr(s + i, '\n', n - i);
            size_t e = nl ? (size_t)(nl - s) : n;

            if (e > i) {
                if (h->col == 0)
                    h_prefix(h);
                buf_add(h->out, s + i, e - i);
                h->col += utf8_width(s + i, e - i);
                h->nl_run = 0;
            }
            if (nl)
                h_newline(h);
            i = e + (nl ? 1 : 0);
        }
        return;
    }
    while (i < n) {
        size_t j;

        if (s[i] == ' ' || s[i] == '\t' || s[i] == '\n' || s[i] == '\r' || s[i] == '\f') {
            if (h->col > 0)
                h->space = 1;
            i++;
            continue;
        }
        j = i;
        while (j < n && !(s[j] == ' ' || s[j] == '\t' || s[j] == '\n' || s[j] == '\r' ||
                          s[j] == '\f'))
            j++;
        h_word(h, s + i, j - i);
        i = j;
    }
}

struct entity {
    const char *name;
    unsigned cp;
};

static const struct entity entities[] = {
    { "amp", '&' }, { "lt", '<' }, { "gt", '>' }, { "quot", '"' }, { "apos", '\'' },
    { "nbsp", 0xa0 }, { "copy", 0xa9 }, { "reg", 0xae }, { "trade", 0x2122 },
    { "hellip", 0x2026 }, { "mdash", 0x2014 }, { "ndash", 0x2013 }, { "lsquo", 0x2018 },
    { "rsquo", 0x2019 }, { "ldquo", 0x201c }, { "rdquo", 0x201d }, { "sbquo", 0x201a },
    { "bdquo", 0x201e }, { "bull", 0x2022 }, { "middot", 0xb7 }, { "euro", 0x20ac },
    { "pound", 0xa3 }, { "yen", 0xa5 }, { "cent", 0xa2 }, { "sect", 0xa7 }, { "para", 0xb6 },
    { "deg", 0xb0 }, { "plusmn", 0xb1 }, { "times", 0xd7 }, { "divide", 0xf7 },
    { "laquo", 0xab }, { "raquo", 0xbb }, { "iexcl", 0xa1 }, { "iquest", 0xbf },
    { "shy", 0xad }, { "zwnj", 0x200c }, { "zwj", 0x200d }, { "thinsp", 0x2009 },
    { "ensp", 0x2002 }, { "emsp", 0x2003 }, { "larr", 0x2190 }, { "rarr", 0x2192 },
    { "uarr", 0x2191 }, { "darr", 0x2193 }, { "frac12", 0xbd }, { "frac14", 0xbc },
    { "frac34", 0xbe }, { "sup2", 0xb2 }, { "sup3", 0xb3 }, { "micro", 0xb5 },
    { "agrave", 0xe0 }, { "aacute", 0xe1 }, { "acirc", 0xe2 }, { "atilde", 0xe3 },
    { "auml", 0xe4 }, { "aring", 0xe5 }, { "aelig", 0xe6 }, { "ccedil", 0xe7 },
    { "egrave", 0xe8 }, { "eacute", 0xe9 }, { "ecirc", 0xea }, { "euml", 0xeb },
    { "igrave", 0xec }, { "iacute", 0xed }, { "icirc", 0xee }, { "iuml", 0xef },
    { "ntilde", 0xf1 }, { "ograve", 0xf2 }, { "oacute", 0xf3 }, { "ocirc", 0xf4 },
    { "otilde", 0xf5 }, { "ouml", 0xf6 }, { "oslash", 0xf8 }, { "ugrave", 0xf9 },
    { "uacute", 0xfa }, { "ucirc", 0xfb }, { "uuml", 0xfc }, { "yacute", 0xfd },
    { "yuml", 0xff }, { "szlig", 0xdf }, { "Agrave", 0xc0 }, { "Aacute", 0xc1 },
    { "Acirc", 0xc2 }, { "Atilde", 0xc3 }, { "Auml", 0xc4 }, { "Aring", 0xc5 },
    { "AElig", 0xc6 }, { "Ccedil", 0xc7 }, { "Egrave", 0xc8 }, { "Eacute", 0xc9 },
    { "Ecirc", 0xca }, { "Euml", 0xcb }, { "Ntilde", 0xd1 }, { "Ouml", 0xd6 },
    { "Oslash", 0xd8 }, { "Uuml", 0xdc }, { "oelig", 0x153 }, { "OElig", 0x152 },
    { "scaron", 0x161 }, { "Scaron", 0x160 },
};

/* Decode entities in s[0..n) into out. */
static void decode_entities(const char *s, size_t n, struct buf *out)
{
    size_t i = 0, start = 0;

    while (i < n) {
        const char *amp = memchr(s + i, '&', n - i);
        size_t j, k;
        unsigned cp = 0;
        int ok = 0;
        char enc[4];

        if (amp == NULL)
            break;
        i = (size_t)(amp - s);
        j = i + 1;
        if (j < n && s[j] == '#') {
            int hex = 0, digits = 0;

            j++;
            if (j < n && (s[j] == 'x' || s[j] == 'X')) {
                hex = 1;
                j++;
            }
            for (; j < n && digits < 8; j++, digits++) {
                int d;
                char c = s[j];

                if (c >= '0' && c <= '9')
                    d = c - '0';
                else if (hex && c >= 'a' && c <= 'f')
                    d = c - 'a' + 10;
                else if (hex && c >= 'A' && c <= 'F')
                    d = c - 'A' + 10;
                else
                    break;
                cp = cp * (hex ? 16 : 10) + (unsigned)d;
            }
            if (digits > 0) {
                ok = 1;
                if (cp >= 0x80 && cp < 0xa0)
                    cp = codec_cp1252((unsigned char)cp);   /* as browsers do */
                else if (cp == 0 || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
                    cp = 0xfffd;
                if (j < n && s[j] == ';')
                    j++;
            }
        } else {
            k = j;
            while (k < n && k - j < 10 && ((s[k] >= 'a' && s[k] <= 'z') ||
                                           (s[k] >= 'A' && s[k] <= 'Z') ||
                                           (s[k] >= '0' && s[k] <= '9')))
                k++;
            for (size_t e = 0; e < sizeof entities / sizeof entities[0] && k > j; e++) {
                if (entities[e].name[0] != s[j])
                    continue;
                if (strlen(entities[e].name) == k - j &&
                    memcmp(entities[e].name, s + j, k - j) == 0) {
                    cp = entities[e].cp;
                    ok = 1;
                    break;
                }
            }
            if (!ok && k > j) {
                /* Case-insensitive second chance (&AMP;, &NBSP;). */
                for (size_t e = 0; e < sizeof entities / sizeof entities[0]; e++) {
                    if (strlen(entities[e].name) == k - j &&
                        str_ncasecmp(entities[e].name, s + j, k - j) == 0) {
                        cp = entities[e].cp;
                        ok = 1;
                        break;
                    }
                }
            }
            j = k;
            if (ok && j < n && s[j] == ';')
                j++;
        }
        if (!ok) {
            i++;
            continue;
        }
        buf_add(out, s + start, i - start);
        if (cp == 0xa0)
            cp = ' ';   /* no-break space: a plain space for wrapping purposes */
        if (cp == 0xad || cp == 0x200c || cp == 0x200d) {
            /* invisible: drop */
        } else {
            buf_add(out, enc, utf8_encode(cp, enc));
        }
        i = j;
        start = j;
    }
    buf_add(out, s + start, n - start);
}

/* Value of attribute attr in the tag's attribute text, entity-decoded; NULL if absent. */
static char *tag_attr(const char *a, size_t n, const char *attr)
{
    size_t al = strlen(attr), i = 0;

    while (i < n) {
        size_t ns, ne;

        while (i < n && (a[i] == ' ' || a[i] == '\t' || a[i] == '\n' || a[i] == '\r' ||
                         a[i] == '/'))
            i++;
        ns = i;
        while (i < n && a[i] != '=' && a[i] != ' ' && a[i] != '\t' && a[i] != '\n' &&
               a[i] != '\r' && a[i] != '>')
            i++;
        ne = i;
        while (i < n && (a[i] == ' ' || a[i] == '\t' || a[i] == '\n' || a[i] == '\r'))
            i++;
        if (i < n && a[i] == '=') {
            size_t vs, ve;

            i++;
            while (i < n && (a[i] == ' ' || a[i] == '\t' || a[i] == '\n' || a[i] == '\r'))
                i++;
            if (i < n && (a[i] == '"' || a[i] == '\'')) {
                char q = a[i++];
                vs = i;
                while (i < n && a[i] != q)
                    i++;
                ve = i;
                if (i < n)
                    i++;
            } else {
                vs = i;
                while (i < n && a[i] != ' ' && a[i] != '\t' && a[i] != '\n' && a[i] != '>')
                    i++;
                ve = i;
            }
            if (ne - ns == al && str_ncasecmp(a + ns, attr, al) == 0) {
                struct buf b = BUF_INIT;
                decode_entities(a + vs, ve - vs, &b);
                return buf_detach(&b);
            }
        } else if (ne == ns) {
            i++;
        }
    }
    return NULL;
}

static const char *const skip_tags[] = { "script", "style", "head", "title", "template",
                                         "noscript", "svg", "object", "iframe", NULL };
static const char *const para_tags[] = { "p", "h1", "h2", "h3", "h4", "h5", "h6", "table",
                                         "form", "figure", "address", "fieldset", "dl",
                                         "center", NULL };
static const char *const line_tags[] = { "div", "tr", "dt", "dd", "section", "article",
                                         "header", "footer", "nav", "main", "aside",
                                         "caption", "tbody", "thead", "tfoot", "body", "html",
                                         "figcaption", "details", "summary", NULL };

enum tag_kind { T_OTHER, T_BR, T_HR, T_IMG, T_A, T_CELL, T_LI, T_LIST, T_QUOTE, T_PRE,
                T_PARA, T_LINE, T_SKIP };

/* One lookup per tag instead of a chain of comparisons: this is the converter's hot path. */
static enum tag_kind tag_kind(const char *name)
{
    static const struct {
        const char *name;
        enum tag_kind kind;
    } kinds[] = {
        { "br", T_BR }, { "hr", T_HR }, { "img", T_IMG }, { "a", T_A }, { "td", T_CELL },
        { "th", T_CELL }, { "li", T_LI }, { "ul", T_LIST }, { "ol", T_LIST },
        { "menu", T_LIST }, { "blockquote", T_QUOTE }, { "pre", T_PRE },
    };
    static const char *const *const sets[] = { para_tags, line_tags, skip_tags };
    static const enum tag_kind set_kind[] = { T_PARA, T_LINE, T_SKIP };

    /* Common inline tags first: nothing to do for them. */
    if (name[0] == 's' && (strcmp(name, "span") == 0 || strcmp(name, "strong") == 0))
        return T_OTHER;
    for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++)
        if (kinds[i].name[0] == name[0] && strcmp(kinds[i].name, name) == 0)
            return kinds[i].kind;
    for (size_t k = 0; k < 3; k++)
        for (const char *const *t = sets[k]; *t; t++)
            if ((*t)[0] == name[0] && strcmp(*t, name) == 0)
                return set_kind[k];
    return T_OTHER;
}

static void close_link(struct hout *h)
{
    const char *href = h->href;
    size_t tl;

    if (href == NULL)
        return;
    tl = h->out->len - h->link_text_at;
    /* A link whose text is its own address, or that leads nowhere useful, gets no note. */
    if (href[0] && href[0] != '#' && str_ncasecmp(href, "javascript:", 11) != 0 &&
        !(tl == strlen(href) && memcmp(h->out->ptr + h->link_text_at, href, tl) == 0) &&
        !(str_ncasecmp(href, "mailto:", 7) == 0 && tl == strlen(href + 7) &&
          memcmp(h->out->ptr + h->link_text_at, href + 7, tl) == 0) &&
        h->nlinks < MAX_LINKS) {
        char note[24];
        int k = -1;

        for (int i = 0; i < h->nlinks && k < 0; i++)
            if (strcmp(h->links[i], href) == 0)
                k = i;
        if (k < 0) {
            k = h->nlinks;
            h->links[h->nlinks++] = xstrdup(href);
        }
        snprintf(note, sizeof note, "[%d]", k + 1);
        if (tl == 0)
            h->space = h->col > 0;
        /* glue the note to the link text */
        if (h->col == 0)
            h_prefix(h);
        buf_adds(h->out, note);
        h->col += strlen(note);
        h->nl_run = 0;
    }
    free(h->href);
    h->href = NULL;
}

static void handle_tag(struct hout *h, enum tag_kind kind, const char *name, int closing,
                       const char *attrs, size_t alen)
{
    if (kind == T_OTHER)
        return;
    if (kind == T_BR) {
        if (h->col == 0 && h->nl_run >= 2)
            return;
        if (h->out->len == h->start)
            return;
        h_newline(h);
        return;
    }
    if (kind == T_HR) {
        h_break(h, 1);
        h_word(h, "----------", 10);
        h_break(h, 1);
        return;
    }
    if (kind == T_IMG) {
        char *alt = tag_attr(attrs, alen, "alt");
        if (alt && alt[0]) {
            struct buf b = BUF_INIT;
            buf_printf(&b, "[%s]", alt);
            if (h->col > 0)
                h->space = 1;
            h_text(h, b.ptr, b.len);
            buf_free(&b);
        }
        free(alt);
        return;
    }
    if (kind == T_A) {
        close_link(h);
        if (!closing) {
            h->href = tag_attr(attrs, alen, "href");
            if (h->href) {
                /* Browsers drop line breaks and tabs inside URLs, and surrounding spaces. */
                char *r = h->href, *w = h->href;

                while (*r == ' ')
                    r++;
                for (; *r; r++)
                    if (*r != '\r' && *r != '\n' && *r != '\t')
                        *w++ = *r;
                while (w > h->href && w[-1] == ' ')
                    w--;
                *w = '\0';
            }
            if (h->space && h->col > 0) {
                buf_addc(h->out, ' ');
                h->col++;
                h->space = 0;
            }
            h->link_text_at = h->out->len;
        }
        return;
    }
    if (kind == T_CELL) {
        if (h->col > 0)
            h->space = 1;
        return;
    }
    if (kind == T_LI) {
        if (closing) {
            h_break(h, 1);
            return;
        }
        h_break(h, 1);
        if (h->list_depth == 0) {
            snprintf(h->bullet, sizeof h->bullet, "* ");
        } else {
            /* Lists nest without bound in hostile HTML; the layout stops at MAX_LIST_DEPTH. */
            int d = (h->list_depth < MAX_LIST_DEPTH ? h->list_depth : MAX_LIST_DEPTH) - 1;
            if (h->list_ordered[d])
                snprintf(h->bullet, sizeof h->bullet, "%d. ", ++h->list_count[d]);
            else
                snprintf(h->bullet, sizeof h->bullet, "* ");
        }
        return;
    }
    if (kind == T_LIST) {
        h_break(h, h->list_depth == 0 ? 2 : 1);
        if (!closing) {
            if (h->list_depth < MAX_LIST_DEPTH) {
                h->list_ordered[h->list_depth] = name[0] == 'o';
                h->list_count[h->list_depth] = 0;
            }
            h->list_depth++;
        } else if (h->list_depth > 0) {
            h->list_depth--;
        }
        return;
    }
    if (kind == T_QUOTE) {
        h_break(h, 2);
        if (!closing && h->quote < 8)
            h->quote++;
        else if (closing && h->quote > 0)
            h->quote--;
        return;
    }
    if (kind == T_PRE) {
        h_break(h, 2);
        if (!closing)
            h->pre++;
        else if (h->pre > 0)
            h->pre--;
        return;
    }
    if (kind == T_PARA) {
        h_break(h, 2);
        return;
    }
    if (kind == T_LINE) {
        h_break(h, 1);
        return;
    }
}

void render_html(const char *s, size_t n, int width, struct buf *out)
{
    struct hout h;
    struct buf text = BUF_INIT;
    size_t i = 0;

    memset(&h, 0, sizeof h);
    h.out = out;
    h.start = out->len;
    h.width = width > 10 ? width : 78;
    while (i < n) {
        if (s[i] == '<') {
            size_t j = i + 1, ns, ne, as, ae;
            int closing = 0;
            enum tag_kind kind;
            char name[16];
            size_t nl;

            if (n - i >= 4 && memcmp(s + i, "<!--", 4) == 0) {
                const char *e = NULL;
                for (size_t k = i + 4; k + 2 < n && !e; k++)
                    if (s[k] == '-' && s[k + 1] == '-' && s[k + 2] == '>')
                        e = s + k;
                i = e ? (size_t)(e - s) + 3 : n;
                continue;
            }
            if (j < n && (s[j] == '!' || s[j] == '?')) {
                const char *e = memchr(s + j, '>', n - j);
                i = e ? (size_t)(e - s) + 1 : n;
                continue;
            }
            if (j < n && s[j] == '/') {
                closing = 1;
                j++;
            }
            ns = j;
            while (j < n && ((s[j] >= 'a' && s[j] <= 'z') || (s[j] >= 'A' && s[j] <= 'Z') ||
                             (s[j] >= '0' && s[j] <= '9')))
                j++;
            ne = j;
            if (ne == ns || !((s[ns] >= 'a' && s[ns] <= 'z') || (s[ns] >= 'A' && s[ns] <= 'Z'))) {
                /* "<" that starts no tag: text */
                if (h.col > 0 && i > 0 && (s[i - 1] == ' ' || s[i - 1] == '\n'))
                    h.space = 1;
                h_word(&h, "<", 1);
                i++;
                continue;
            }
            as = j;
            {
                char q = 0;
                while (j < n && (q || s[j] != '>')) {
                    if (q && s[j] == q)
                        q = 0;
                    else if (!q && (s[j] == '"' || s[j] == '\''))
                        q = s[j];
                    j++;
                }
            }
            ae = j;
            i = j < n ? j + 1 : n;
            nl = ne - ns < sizeof name - 1 ? ne - ns : sizeof name - 1;
            for (size_t k = 0; k < nl; k++)
                name[k] = (char)((s[ns + k] >= 'A' && s[ns + k] <= 'Z') ? s[ns + k] + 32
                                                                          : s[ns + k]);
            name[nl] = '\0';
            kind = tag_kind(name);
            if (!closing && kind == T_SKIP &&
                !(ae > as && s[ae - 1] == '/')) {
                /* Raw content up to the matching close tag. */
                char close[20];
                const char *e;

                snprintf(close, sizeof close, "</%s", name);
                e = str_casemem(s + i, n - i, close);
                if (e == NULL) {
                    i = n;
                } else {
                    const char *gt = memchr(e, '>', (size_t)(s + n - e));
                    i = gt ? (size_t)(gt - s) + 1 : n;
                }
                continue;
            }
            handle_tag(&h, kind, name, closing, s + as, ae - as);
            continue;
        }
        {
            const char *lt = memchr(s + i, '<', n - i);
            size_t e = lt ? (size_t)(lt - s) : n;

            buf_reset(&text);
            decode_entities(s + i, e - i, &text);
            h_text(&h, text.ptr ? text.ptr : "", text.len);
            i = e;
        }
    }
    close_link(&h);
    if (h.col > 0)
        h_newline(&h);
    if (h.nlinks > 0) {
        h.quote = 0;
        h.list_depth = 0;
        h_break(&h, 2);
        for (int k = 0; k < h.nlinks; k++) {
            buf_printf(out, "[%d] %s\n", k + 1, h.links[k]);
            free(h.links[k]);
        }
    }
    free(h.href);
    buf_free(&text);
    /* Drop trailing blank lines. */
    while (out->len > h.start + 1 && out->ptr[out->len - 1] == '\n' &&
           out->ptr[out->len - 2] == '\n')
        buf_truncate(out, out->len - 1);
}

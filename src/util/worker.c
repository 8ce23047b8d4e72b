/* The worker protocol's emitter and parser (the grammar is in tern/worker.h): one table of
 * events and their fields drives both directions. */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tern/fsutil.h"
#include "tern/str.h"
#include "tern/worker.h"

/*
 * The fields of each event, in order: u unit, p phase, f folder, F file, i id, a addr,
 * c class, 0-4 num[k], j job, v version, t free text (always last; T: may be empty).
 */
static const struct {
    const char *word;
    const char *fields;
} kinds[WEV_NKINDS] = {
    [WEV_HELLO] = { "tern-worker", "vj" },
    [WEV_PROGRESS] = { "progress", "up01234" },
    [WEV_NEW] = { "new", "fF" },
    [WEV_SENT] = { "sent", "iT" },
    [WEV_DEFERRED] = { "deferred", "iT" },
    [WEV_HELD] = { "held", "iT" },
    [WEV_FAILED] = { "failed", "iT" },
    [WEV_REFUSED] = { "refused", "iaT" },
    [WEV_INDEXED] = { "indexed", "f0" },
    [WEV_FETCHED] = { "fetched", "u01" },
    [WEV_FLUSHED] = { "flushed", "012" },
    [WEV_ERROR] = { "error", "cuT" },
    [WEV_DONE] = { "done", "" },
};

const char *worker_kind_name(enum worker_kind k)
{
    return (unsigned)k < WEV_NKINDS ? kinds[k].word : "?";
}

enum err_class worker_class_parse(const char *name)
{
    for (int c = ERR_SYS; c <= ERR_LOCKED; c++)
        if (strcmp(err_class_name((enum err_class)c), name) == 0)
            return (enum err_class)c;
    return ERR_NONE;
}

static const char **str_field(struct worker_event *ev, char f)
{
    switch (f) {
    case 'u': return &ev->unit;
    case 'p': return &ev->phase;
    case 'f': return &ev->folder;
    case 'F': return &ev->file;
    case 'i': return &ev->id;
    case 'a': return &ev->addr;
    case 'j': return &ev->job;
    default: return NULL;
    }
}

/* One field, percent-encoded so that it never contains a space, a control or a newline. */
static void put_word(struct buf *b, const char *s)
{
    static const char hex[] = "0123456789ABCDEF";

    if (s == NULL || *s == '\0') {
        buf_addc(b, '-');
        return;
    }
    if (strcmp(s, "-") == 0) {
        buf_adds(b, "%2D");
        return;
    }
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;

        if (c <= 0x20 || c == 0x7f || c == '%') {
            buf_addc(b, '%');
            buf_addc(b, hex[c >> 4]);
            buf_addc(b, hex[c & 15]);
        } else {
            buf_addc(b, (char)c);
        }
    }
}

void worker_format(const struct worker_event *ev, struct buf *out)
{
    struct worker_event *w = (struct worker_event *)ev;   /* str_field only reads here */
    size_t start = out->len;

    buf_adds(out, worker_kind_name(ev->kind));
    if ((unsigned)ev->kind >= WEV_NKINDS) {
        buf_addc(out, '\n');
        return;
    }
    for (const char *f = kinds[ev->kind].fields; *f; f++) {
        const char **sp = str_field(w, *f);

        if (*f == 'T' || *f == 't') {
            const char *t = ev->text ? ev->text : "";

            if (*t == '\0' && *f == 'T')
                break;
            buf_addc(out, ' ');
            /* Cut so that the line stays under the parser's limit. */
            for (; *t && out->len - start < WORKER_LINE_MAX - 8; t++)
                buf_addc(out, (unsigned char)*t < 0x20 || *t == 0x7f ? ' ' : *t);
            break;
        }
        buf_addc(out, ' ');
        if (sp != NULL)
            put_word(out, *sp);
        else if (*f == 'c')
            buf_adds(out, err_class_name(ev->cls));
        else if (*f == 'v')
            buf_printf(out, "%d", ev->version);
        else
            buf_printf(out, "%llu", ev->num[*f - '0']);
    }
    buf_addc(out, '\n');
}

int worker_emit(int fd, const struct worker_event *ev)
{
    struct buf b = BUF_INIT;
    int rc = 0;

    if (fd < 0)
        return 0;
    worker_format(ev, &b);
    if (fs_write_all(fd, b.ptr, b.len) < 0)
        rc = -1;
    buf_free(&b);
    return rc;
}

/*
 * Decode the word [p, end) into *dst (advanced past its NUL); -1 on a bad escape, a NUL, or a
 * raw control byte (the emitter escapes those: a raw one would come back three bytes long,
 * and the line, formatted again, could outgrow WORKER_LINE_MAX).
 */
static int get_word(const char *p, const char *end, char **dst)
{
    char *o = *dst;

    if (end - p == 1 && *p == '-') {
        *o++ = '\0';
        *dst = o;
        return 0;
    }
    while (p < end) {
        if (*p == '%') {
            int hi, lo;

            if (end - p < 3 || (hi = str_hexval(p[1])) < 0 || (lo = str_hexval(p[2])) < 0 ||
                (hi == 0 && lo == 0))
                return -1;
            *o++ = (char)(hi * 16 + lo);
            p += 3;
        } else if ((unsigned char)*p < 0x20 || *p == 0x7f) {
            return -1;
        } else {
            *o++ = *p++;
        }
    }
    *o++ = '\0';
    *dst = o;
    return 0;
}

static int get_num(const char *p, const char *end, unsigned long long *v)
{
    unsigned long long n = 0;

    if (p == end || end - p > 20)
        return -1;
    for (; p < end; p++) {
        unsigned d = (unsigned)(*p - '0');

        if (*p < '0' || *p > '9' || n > (~0ULL - d) / 10)
            return -1;
        n = n * 10 + d;
    }
    *v = n;
    return 0;
}

static int bad(struct err *e, const char *word, const char *why)
{
    return err_set(e, ERR_PARSE, "worker protocol: %.40s: %s", word, why);
}

int worker_parse(const char *line, size_t n, struct worker_event *ev, struct err *e)
{
    const char *p = line, *end, *we;
    char *o;
    char word[24];
    int k;

    if (n > 0 && line[n - 1] == '\r')
        n--;
    end = line + n;
    memset(ev, 0, offsetof(struct worker_event, store));
    ev->store[0] = '\0';
    o = ev->store + 1;
    ev->unit = ev->phase = ev->folder = ev->file = ev->id = ev->addr = ev->text = ev->job =
        ev->store;
    if (n >= WORKER_LINE_MAX)
        return bad(e, "line", "longer than the protocol allows");
    if (memchr(line, '\0', n) != NULL)
        return bad(e, "line", "contains a NUL byte");
    we = memchr(p, ' ', n);
    if (we == NULL)
        we = end;
    snprintf(word, sizeof word, "%.*s", (int)(we - p), p);
    for (k = 0; k < WEV_NKINDS; k++)
        if ((size_t)(we - p) == strlen(kinds[k].word) && memcmp(p, kinds[k].word, we - p) == 0)
            break;
    if (k == WEV_NKINDS)
        return bad(e, word, "unknown event");
    ev->kind = (enum worker_kind)k;
    p = we;
    for (const char *f = kinds[k].fields; *f; f++) {
        const char *fe;

        if (*f == 'T' || *f == 't') {
            if (p < end)
                p++;                             /* the one space before the text */
            memcpy(o, p, (size_t)(end - p));
            o[end - p] = '\0';
            ev->text = o;
            p = end;
            break;
        }
        if (p >= end || *p != ' ' || p + 1 >= end || p[1] == ' ')
            return bad(e, word, "a field is missing");
        p++;
        fe = memchr(p, ' ', (size_t)(end - p));
        if (fe == NULL)
            fe = end;
        if (str_field(ev, *f) != NULL) {
            *str_field(ev, *f) = o;
            if (get_word(p, fe, &o) < 0)
                return bad(e, word, "a field has a bad %-escape");
        } else if (*f == 'c') {
            char name[24];

            snprintf(name, sizeof name, "%.*s", (int)(fe - p), p);
            if ((ev->cls = worker_class_parse(name)) == ERR_NONE)
                return bad(e, word, "unknown error class");
        } else {
            unsigned long long v;

            if (get_num(p, fe, &v) < 0)
                return bad(e, word, "a number is malformed");
            if (*f == 'v')
                ev->version = v > 1000000 ? -1 : (int)v;
            else
                ev->num[*f - '0'] = v;
        }
        p = fe;
    }
    if (p != end)
        return bad(e, word, "more fields than the event has");
    if (ev->kind == WEV_HELLO && ev->version != WORKER_VERSION)
        return err_set(e, ERR_PARSE, "worker protocol: version %d, this client speaks %d",
                       ev->version, WORKER_VERSION);
    return 0;
}

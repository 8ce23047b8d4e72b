/*
 * Address book file: one address a line, "count<TAB>last-seen<TAB>mailbox<TAB>name", kept
 * sorted by mailbox so that a lookup is a binary search and the file diffs sensibly.
 */
#include "config.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "tern/addrbook.h"
#include "tern/buf.h"
#include "tern/fsutil.h"
#include "tern/header.h"
#include "tern/str.h"
#include "tern/xalloc.h"

#define ADDRBOOK_MAX 20000       /* keep the file small: forget the least used beyond this */

struct addrbook {
    char *path;
    struct addrbook_entry *v;
    size_t n;
    bool dirty;
};

static int entry_cmp(const void *a, const void *b)
{
    return str_casecmp(((const struct addrbook_entry *)a)->mailbox,
                       ((const struct addrbook_entry *)b)->mailbox);
}

static void entry_free(struct addrbook_entry *en)
{
    free(en->mailbox);
    free(en->name);
}

/* Parse one line; false when it is not well formed. */
static bool parse_line(char *line, struct addrbook_entry *en)
{
    char *f[4];
    long count, last;

    for (int i = 0; i < 4; i++) {
        f[i] = line;
        line = i < 3 ? strchr(line, '\t') : NULL;
        if (i < 3 && line == NULL)
            return false;
        if (line)
            *line++ = '\0';
    }
    if (str_tolong(f[0], 0, 1000000000L, &count) < 0 ||
        str_tolong(f[1], 0, 1L << 40, &last) < 0 || strchr(f[2], '@') == NULL)
        return false;
    en->count = (unsigned)count;
    en->last = (time_t)last;
    en->mailbox = xstrdup(f[2]);
    en->name = *f[3] ? xstrdup(f[3]) : NULL;
    return true;
}

int addrbook_open(const char *path, struct addrbook **out, struct err *e)
{
    struct addrbook *ab = xcalloc(1, sizeof *ab);
    struct buf text = BUF_INIT;
    char *line, *next;

    ab->path = xstrdup(path);
    *out = ab;
    if (fs_read_file(path, &text, e) < 0) {
        if (errno == ENOENT)
            return 0;
        addrbook_free(ab);
        *out = NULL;
        return -1;
    }
    for (line = (char *)buf_cstr(&text); *line; line = next) {
        struct addrbook_entry en;

        next = strchr(line, '\n');
        next = next ? (*next = '\0', next + 1) : line + strlen(line);
        if (!parse_line(line, &en))
            continue;
        ab->v = xreallocarray(ab->v, ab->n + 1, sizeof *ab->v);
        ab->v[ab->n++] = en;
    }
    buf_free(&text);
    qsort(ab->v, ab->n, sizeof *ab->v, entry_cmp);
    return 0;
}

void addrbook_free(struct addrbook *ab)
{
    if (ab == NULL)
        return;
    for (size_t i = 0; i < ab->n; i++)
        entry_free(&ab->v[i]);
    free(ab->v);
    free(ab->path);
    free(ab);
}

static struct addrbook_entry *find(struct addrbook *ab, const char *mailbox)
{
    struct addrbook_entry key = { .mailbox = (char *)mailbox };

    if (ab->n == 0)
        return NULL;
    return bsearch(&key, ab->v, ab->n, sizeof *ab->v, entry_cmp);
}

/* A tab or newline in a name would break the file's lines. */
static char *clean_field(const char *s)
{
    char *c = xstrdup(s);

    for (char *p = c; *p; p++)
        if (*p == '\t' || *p == '\n' || *p == '\r')
            *p = ' ';
    return c;
}

void addrbook_note(struct addrbook *ab, const char *value, time_t t)
{
    struct addr *a;
    size_t n;

    if (value == NULL || addr_parse_list(value, strlen(value), &a, &n) < 0)
        return;
    for (size_t i = 0; i < n; i++) {
        struct addrbook_entry *en;

        if (a[i].mailbox == NULL || strchr(a[i].mailbox, '@') == NULL ||
            strpbrk(a[i].mailbox, " \t\r\n<>\"") != NULL)
            continue;
        en = find(ab, a[i].mailbox);
        if (en == NULL) {
            ab->v = xreallocarray(ab->v, ab->n + 1, sizeof *ab->v);
            en = &ab->v[ab->n++];
            memset(en, 0, sizeof *en);
            en->mailbox = clean_field(a[i].mailbox);
            qsort(ab->v, ab->n, sizeof *ab->v, entry_cmp);
            en = find(ab, a[i].mailbox);
        }
        if (a[i].name && *a[i].name && (en->name == NULL || strcmp(en->name, a[i].name))) {
            free(en->name);
            en->name = clean_field(a[i].name);
        }
        en->count++;
        if (t > en->last)
            en->last = t;
        ab->dirty = true;
    }
    addr_list_free(a, n);
}

static int by_use(const void *a, const void *b)
{
    const struct addrbook_entry *x = a, *y = b;

    if (x->count != y->count)
        return x->count > y->count ? -1 : 1;
    return (x->last > y->last) ? -1 : (x->last < y->last);
}

/* Beyond the cap, keep the most used addresses. */
static void trim(struct addrbook *ab)
{
    if (ab->n <= ADDRBOOK_MAX)
        return;
    qsort(ab->v, ab->n, sizeof *ab->v, by_use);
    for (size_t i = ADDRBOOK_MAX; i < ab->n; i++)
        entry_free(&ab->v[i]);
    ab->n = ADDRBOOK_MAX;
    qsort(ab->v, ab->n, sizeof *ab->v, entry_cmp);
}

int addrbook_save(struct addrbook *ab, struct err *e)
{
    struct buf text = BUF_INIT;
    char *dir;
    int rc;

    if (!ab->dirty)
        return 0;
    trim(ab);
    for (size_t i = 0; i < ab->n; i++)
        buf_printf(&text, "%u\t%lld\t%s\t%s\n", ab->v[i].count, (long long)ab->v[i].last,
                   ab->v[i].mailbox, ab->v[i].name ? ab->v[i].name : "");
    dir = fs_dirname(ab->path);
    rc = fs_mkdir_p(dir, 0700, e);
    free(dir);
    if (rc == 0)
        rc = fs_write_atomic(ab->path, text.ptr ? text.ptr : "", text.len, 0600, e);
    buf_free(&text);
    if (rc == 0)
        ab->dirty = false;
    return rc;
}

size_t addrbook_count(const struct addrbook *ab)
{
    return ab->n;
}

const struct addrbook_entry *addrbook_get(const struct addrbook *ab, size_t i)
{
    return i < ab->n ? &ab->v[i] : NULL;
}

/* prefix matches the start of s or of any word in s. */
static bool word_prefix(const char *s, const char *prefix)
{
    size_t n = strlen(prefix);

    for (const char *p = s; p && *p;) {
        if (str_ncasecmp(p, prefix, n) == 0)
            return true;
        p = strpbrk(p, " .-_@");
        if (p)
            p++;
    }
    return false;
}

static void add_result(char ***res, size_t *n, char *s)
{
    for (size_t i = 0; i < *n; i++)
        if (strcmp((*res)[i], s) == 0) {
            free(s);
            return;
        }
    *res = xreallocarray(*res, *n + 1, sizeof **res);
    (*res)[(*n)++] = s;
}

size_t addrbook_complete(const struct addrbook *ab, const struct config *cfg,
                         const char *prefix, char ***results, size_t max)
{
    struct addrbook_entry *hits;
    size_t nhits = 0, n = 0;

    *results = NULL;
    if (*prefix == '\0')
        return 0;
    for (size_t i = 0; cfg && i < cfg->naliases && n < max; i++)
        if (str_casestartswith(cfg->aliases[i].name, prefix))
            add_result(results, &n, xstrdup(cfg->aliases[i].name));
    hits = xcalloc(ab ? ab->n + 1 : 1, sizeof *hits);
    for (size_t i = 0; ab && i < ab->n; i++)
        if (word_prefix(ab->v[i].mailbox, prefix) ||
            (ab->v[i].name && word_prefix(ab->v[i].name, prefix)))
            hits[nhits++] = ab->v[i];
    qsort(hits, nhits, sizeof *hits, by_use);
    for (size_t i = 0; i < nhits && n < max; i++) {
        struct buf b = BUF_INIT;

        addr_format(&b, hits[i].name, hits[i].mailbox);
        add_result(results, &n, buf_detach(&b));
    }
    free(hits);
    return n;
}

void addrbook_results_free(char **results, size_t n)
{
    str_list_free(results, n);
}

/* Append the items of value to out, expanding alias names, skipping mailboxes already there. */
static void expand_into(const struct config *cfg, const char *value, int depth, struct buf *out,
                        struct buf *seen)
{
    struct addr *a;
    size_t n;

    if (addr_parse_list(value, strlen(value), &a, &n) < 0)
        return;
    for (size_t i = 0; i < n; i++) {
        const struct alias *al = NULL;
        struct buf key = BUF_INIT;

        if (a[i].mailbox == NULL)
            continue;
        if (strchr(a[i].mailbox, '@') == NULL && a[i].name == NULL && depth < 8)
            al = config_alias(cfg, a[i].mailbox);
        if (al) {
            for (size_t k = 0; k < al->naddrs; k++)
                expand_into(cfg, al->addrs[k], depth + 1, out, seen);
            continue;
        }
        buf_printf(&key, "\n%s\n", a[i].mailbox);
        for (char *p = key.ptr; *p; p++)
            *p = (char)((*p >= 'A' && *p <= 'Z') ? *p + 32 : *p);
        if (str_casemem(buf_cstr(seen), seen->len, key.ptr) == NULL) {
            buf_add(seen, key.ptr, key.len);
            if (out->len)
                buf_adds(out, ", ");
            addr_format(out, a[i].name, a[i].mailbox);
        }
        buf_free(&key);
    }
    addr_list_free(a, n);
}

char *addrbook_expand(const struct config *cfg, const char *value)
{
    struct buf out = BUF_INIT, seen = BUF_INIT;

    expand_into(cfg, value, 0, &out, &seen);
    buf_free(&seen);
    return buf_detach(&out);
}

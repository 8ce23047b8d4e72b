/* Views over an index: sorting, limit patterns and JWZ-style threads. */
#include "config.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "tern/buf.h"
#include "tern/fsutil.h"
#include "tern/index.h"
#include "tern/maildir.h"
#include "tern/str.h"
#include "tern/pattern.h"
#include "tern/thread.h"
#include "tern/xalloc.h"

/* ---- sorting ---- */

const char *idx_subject_base(const char *s)
{
    for (;;) {
        const char *p = s, *q;

        while (*p == ' ' || *p == '\t')
            p++;
        if (*p == '[') {                     /* [list-name] tag */
            q = strchr(p, ']');
            if (q && q - p < 40) {
                s = q + 1;
                continue;
            }
        }
        q = p;
        while ((*q >= 'a' && *q <= 'z') || (*q >= 'A' && *q <= 'Z'))
            q++;
        size_t wl = (size_t)(q - p);
        if (wl >= 2 && wl <= 3 &&
            (str_ncasecmp(p, "re", wl) == 0 || str_ncasecmp(p, "fwd", wl) == 0 ||
             str_ncasecmp(p, "fw", wl) == 0 || str_ncasecmp(p, "aw", wl) == 0 ||
             str_ncasecmp(p, "sv", wl) == 0 || str_ncasecmp(p, "wg", wl) == 0)) {
            if (*q == '[' || *q == '(') {    /* Re[2]: */
                const char *r = q + 1;

                while (*r >= '0' && *r <= '9')
                    r++;
                if (*r == ']' || *r == ')')
                    q = r + 1;
            }
            if (*q == ':') {
                s = q + 1;
                continue;
            }
        }
        return p;
    }
}

static const struct idx *sort_x;
static enum idx_sort sort_key;
static int sort_rev;
static const char **sort_base;   /* subject bases by position, computed once per sort */

static int cmp_i64(int64_t a, int64_t b)
{
    return a < b ? -1 : a > b;
}

static int cmp_msgs(const struct idx_msg *a, const struct idx_msg *b, enum idx_sort key)
{
    int c = 0;

    switch (key) {
    case IDX_SORT_ARRIVAL:
        c = cmp_i64(a->mtime, b->mtime);
        if (c == 0)
            c = strcmp(a->name, b->name);
        return c;
    case IDX_SORT_FROM:
        c = str_casecmp(a->from, b->from);
        break;
    case IDX_SORT_SUBJECT:
        c = str_casecmp(idx_subject_base(a->subject), idx_subject_base(b->subject));
        break;
    case IDX_SORT_SIZE:
        c = a->size < b->size ? -1 : a->size > b->size;
        break;
    case IDX_SORT_DATE:
    default:
        break;
    }
    if (c == 0)
        c = cmp_i64(a->date, b->date);
    if (c == 0)
        c = cmp_i64(a->mtime, b->mtime);
    if (c == 0)
        c = a->id < b->id ? -1 : a->id > b->id;
    return c;
}

static int cmp_pos(const void *pa, const void *pb)
{
    uint32_t a = *(const uint32_t *)pa, b = *(const uint32_t *)pb;
    int c;

    if (sort_base) {
        c = str_casecmp(sort_base[a], sort_base[b]);
        if (c == 0)
            c = cmp_msgs(idx_msg(sort_x, a), idx_msg(sort_x, b), IDX_SORT_DATE);
    } else {
        c = cmp_msgs(idx_msg(sort_x, a), idx_msg(sort_x, b), sort_key);
    }

    return sort_rev ? -c : c;
}

void idx_sort(const struct idx *x, uint32_t *v, size_t n, enum idx_sort key, bool reverse)
{
    size_t i;

    sort_x = x;
    sort_key = key;
    sort_rev = reverse;
    /* the cache is stored in date order, so the default view is often sorted already */
    for (i = 1; i < n; i++)
        if (cmp_pos(&v[i - 1], &v[i]) > 0)
            break;
    if (i < n) {
        if (key == IDX_SORT_SUBJECT && n > 64) {
            /* stripping Re:/Fwd:/[list] once per message, not twice per comparison */
            sort_base = xcalloc(idx_count(x) + 1, sizeof *sort_base);
            for (size_t k = 0; k < n; k++)
                sort_base[v[k]] = idx_subject_base(idx_msg(x, v[k])->subject);
        }
        qsort(v, n, sizeof *v, cmp_pos);
        free(sort_base);
        sort_base = NULL;
    }
}

int idx_sort_parse(const char *s, enum idx_sort *key, bool *reverse)
{
    static const struct {
        const char *name;
        enum idx_sort key;
    } keys[] = {
        { "date", IDX_SORT_DATE }, { "arrival", IDX_SORT_ARRIVAL }, { "from", IDX_SORT_FROM },
        { "subject", IDX_SORT_SUBJECT }, { "size", IDX_SORT_SIZE },
    };

    *reverse = false;
    if (*s == '-') {
        *reverse = true;
        s++;
    }
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++)
        if (str_casecmp(s, keys[i].name) == 0) {
            *key = keys[i].key;
            return 0;
        }
    return -1;
}

void idx_view_init(struct idx_view *v)
{
    v->v = NULL;
    v->n = v->cap = 0;
}

void idx_view_free(struct idx_view *v)
{
    free(v->v);
    idx_view_init(v);
}

void idx_view_build(const struct idx *x, struct idx_view *v, enum idx_sort key, bool reverse,
                    const struct idx_limit *lim)
{
    size_t n = idx_count(x);

    if (v->cap < n + 1) {
        v->cap = n + 1;
        v->v = xreallocarray(v->v, v->cap, sizeof *v->v);
    }
    v->n = 0;
    for (size_t i = 0; i < n; i++) {
        if (idx_msg(x, i)->gone)
            continue;
        if (lim && !idx_limit_match(x, lim, i))
            continue;
        v->v[v->n++] = (uint32_t)i;
    }
    idx_sort(x, v->v, v->n, key, reverse);
}

/* ---- limit patterns ---- */

enum term_kind { T_ANY, T_FROM, T_TO, T_SUBJECT, T_FLAG_SET, T_NEW, T_DATE, T_BODY };

struct term {
    enum term_kind kind;
    bool neg;
    char *word;
    unsigned flag;
    int64_t lo, hi;      /* [lo, hi) */
};

struct idx_limit {
    struct term *t;
    size_t n;
    bool (*tagged)(void *arg, uint32_t id);
    void *targ;
    struct pattern *pat;         /* the ~ syntax (pattern.c) instead of terms */
};

void idx_limit_set_tagged(struct idx_limit *l, bool (*tagged)(void *arg, uint32_t id),
                          void *arg)
{
    l->tagged = tagged;
    l->targ = arg;
}

void idx_limit_free(struct idx_limit *l)
{
    if (l == NULL)
        return;
    for (size_t i = 0; i < l->n; i++)
        free(l->t[i].word);
    free(l->t);
    pattern_free(l->pat);
    free(l);
}

/* One bound: YYYY, YYYY-MM, YYYY-MM-DD (local time) or Nd/Nw/Nm/Ny ago. *start and *end are
 * the first second of the period and the first second after it. */
static int date_bound(const char *s, size_t n, int64_t *start, int64_t *end)
{
    char tmp[32];
    long y = 0, mo = 0, d = 0;
    struct tm tm;
    char unit;

    if (n == 0 || n >= sizeof tmp)
        return -1;
    memcpy(tmp, s, n);
    tmp[n] = '\0';
    unit = tmp[n - 1];
    if (n >= 2 && (unit == 'd' || unit == 'w' || unit == 'm' || unit == 'y')) {
        long k;

        tmp[n - 1] = '\0';
        if (str_tolong(tmp, 0, 100000, &k) < 0)
            return -1;
        long days = unit == 'd' ? k : unit == 'w' ? 7 * k : unit == 'm' ? 30 * k : 365 * k;
        *start = *end = (int64_t)time(NULL) - (int64_t)days * 86400;
        return 0;
    }
    if (sscanf(tmp, "%4ld-%2ld-%2ld", &y, &mo, &d) < 1 || y < 1900 || y > 9999)
        return -1;
    for (const char *p = tmp; *p; p++)
        if (!((*p >= '0' && *p <= '9') || *p == '-'))
            return -1;
    memset(&tm, 0, sizeof tm);
    tm.tm_year = (int)(y - 1900);
    tm.tm_mon = mo ? (int)mo - 1 : 0;
    tm.tm_mday = d ? (int)d : 1;
    tm.tm_isdst = -1;
    *start = (int64_t)mktime(&tm);
    if (d)
        tm.tm_mday++;
    else if (mo)
        tm.tm_mon++;
    else
        tm.tm_year++;
    tm.tm_isdst = -1;
    *end = (int64_t)mktime(&tm);
    return 0;
}

static int parse_term(const char *w, struct term *t, struct err *e)
{
    static const struct {
        const char *name;
        unsigned flag;
        bool neg;
    } flags[] = {
        { "seen", MDF_SEEN, false }, { "read", MDF_SEEN, false },
        { "unread", MDF_SEEN, true }, { "flagged", MDF_FLAGGED, false },
        { "replied", MDF_REPLIED, false }, { "passed", MDF_PASSED, false },
        { "forwarded", MDF_PASSED, false }, { "draft", MDF_DRAFT, false },
        { "trashed", MDF_TRASHED, false },
    };
    const char *colon = strchr(w, ':');

    memset(t, 0, sizeof *t);
    if (*w == '-' || *w == '!') {
        t->neg = true;
        w++;
    }
    colon = strchr(w, ':');
    if (colon == NULL) {
        t->kind = T_ANY;
        t->word = xstrdup(w);
        return 0;
    }
    size_t kl = (size_t)(colon - w);
    const char *val = colon + 1;

#define KEY(s) (kl == strlen(s) && str_ncasecmp(w, s, kl) == 0)
    if (KEY("from") || KEY("f"))
        t->kind = T_FROM;
    else if (KEY("to") || KEY("t"))
        t->kind = T_TO;
    else if (KEY("subject") || KEY("s"))
        t->kind = T_SUBJECT;
    else if (KEY("body") || KEY("b"))
        t->kind = T_BODY;
    else if (KEY("is")) {
        if (str_casecmp(val, "new") == 0) {
            t->kind = T_NEW;
            return 0;
        }
        for (size_t i = 0; i < sizeof flags / sizeof flags[0]; i++)
            if (str_casecmp(val, flags[i].name) == 0) {
                t->kind = T_FLAG_SET;
                t->flag = flags[i].flag;
                if (flags[i].neg)
                    t->neg = !t->neg;
                return 0;
            }
        return err_set(e, ERR_PARSE, "unknown state is:%s (new, unread, seen, flagged, "
                                     "replied, passed, draft, trashed)", val);
    } else if (KEY("date") || KEY("d")) {
        const char *dots = strstr(val, "..");
        int64_t s1, e1, s2, e2;

        t->kind = T_DATE;
        t->lo = INT64_MIN;
        t->hi = INT64_MAX;
        if (dots == NULL) {
            if (date_bound(val, strlen(val), &s1, &e1) < 0)
                goto bad_date;
            if (s1 == e1)    /* "7d": since then */
                t->lo = s1;
            else {
                t->lo = s1;
                t->hi = e1;
            }
            return 0;
        }
        if (dots > val) {
            if (date_bound(val, (size_t)(dots - val), &s1, &e1) < 0)
                goto bad_date;
            t->lo = s1;
        }
        if (dots[2]) {
            if (date_bound(dots + 2, strlen(dots + 2), &s2, &e2) < 0)
                goto bad_date;
            t->hi = e2 == s2 ? s2 : e2;
        }
        return 0;
bad_date:
        return err_set(e, ERR_PARSE, "bad date range '%s' (YYYY[-MM[-DD]] or Nd/Nw/Nm/Ny, "
                                     "FROM..TO)", val);
    } else {
        t->kind = T_ANY;
        t->word = xstrdup(w);
        return 0;
    }
#undef KEY
    if (*val == '\0')
        return err_set(e, ERR_PARSE, "empty search term '%s'", w);
    t->word = xstrdup(val);
    return 0;
}

int idx_limit_compile(const char *pattern, struct idx_limit **out, struct err *e)
{
    struct idx_limit *l = xcalloc(1, sizeof *l);
    const char *p = pattern;
    size_t cap = 0;

    *out = NULL;
    if (pattern_is_pattern(pattern)) {
        if (pattern_compile(pattern, &l->pat, e) < 0) {
            idx_limit_free(l);
            return -1;
        }
        *out = l;
        return 0;
    }
    for (;;) {
        struct buf w = BUF_INIT;

        while (*p == ' ' || *p == '\t')
            p++;
        if (*p == '\0')
            break;
        while (*p && *p != ' ' && *p != '\t') {
            if (*p == '"') {
                p++;
                while (*p && *p != '"')
                    buf_addc(&w, *p++);
                if (*p == '"')
                    p++;
            } else {
                buf_addc(&w, *p++);
            }
        }
        if (l->n == cap) {
            cap = cap ? cap * 2 : 8;
            l->t = xreallocarray(l->t, cap, sizeof *l->t);
        }
        if (parse_term(buf_cstr(&w), &l->t[l->n], e) < 0) {
            buf_free(&w);
            idx_limit_free(l);
            return -1;
        }
        l->n++;
        buf_free(&w);
    }
    *out = l;
    return 0;
}

static bool has(const char *hay, const char *needle)
{
    return str_casemem(hay, strlen(hay), needle) != NULL;
}

static bool body_has(const struct idx *x, size_t i, const char *word)
{
    char *path = idx_path(x, i);
    struct buf b = BUF_INIT;
    struct err e;
    bool r = false;

    if (fs_read_file(path, &b, &e) == 0)
        r = str_casemem(b.ptr ? b.ptr : "", b.len, word) != NULL;
    buf_free(&b);
    free(path);
    return r;
}

bool idx_limit_match(const struct idx *x, const struct idx_limit *l, size_t i)
{
    const struct idx_msg *m = idx_msg(x, i);

    if (l->pat)
        return pattern_match(l->pat, x, i, l->tagged, l->targ);
    for (size_t k = 0; k < l->n; k++) {
        const struct term *t = &l->t[k];
        bool r;

        switch (t->kind) {
        case T_ANY:
            r = has(m->from, t->word) || has(m->to, t->word) || has(m->subject, t->word);
            break;
        case T_FROM:
            r = has(m->from, t->word);
            break;
        case T_TO:
            r = has(m->to, t->word);
            break;
        case T_SUBJECT:
            r = has(m->subject, t->word);
            break;
        case T_FLAG_SET:
            r = (m->flags & t->flag) != 0;
            break;
        case T_NEW:
            r = m->in_new || !(m->flags & MDF_SEEN);
            break;
        case T_DATE:
            r = m->date >= t->lo && m->date < t->hi;
            break;
        case T_BODY:
        default:
            r = body_has(x, i, t->word);
            break;
        }
        if (r == t->neg)
            return false;
    }
    return true;
}

/* ---- threads ---- */

#define NONE UINT32_MAX

struct cont {
    const char *id;
    size_t id_len;
    uint32_t msg;        /* index into the subset v[], or NONE for an empty container */
    uint32_t parent;
};

struct idmap {
    uint32_t *slots;
    size_t mask;
    struct cont *c;
};

static uint64_t id_hash(const char *s, size_t n)
{
    uint64_t h = 0xcbf29ce484222325ull;

    for (size_t i = 0; i < n; i++) {
        h ^= (unsigned char)s[i];
        h *= 0x100000001b3ull;
    }
    return h;
}

/* Find or create the container of id. */
static uint32_t id_get(struct idmap *m, struct cont **c, size_t *nc, size_t *cc, const char *id,
                       size_t len)
{
    size_t h = (size_t)id_hash(id, len) & m->mask;

    while (m->slots[h] != NONE) {
        struct cont *k = &(*c)[m->slots[h]];

        if (k->id_len == len && memcmp(k->id, id, len) == 0)
            return m->slots[h];
        h = (h + 1) & m->mask;
    }
    if (*nc == *cc) {
        *cc *= 2;
        *c = xreallocarray(*c, *cc, sizeof **c);
    }
    (*c)[*nc] = (struct cont){ id, len, NONE, NONE };
    m->slots[h] = (uint32_t)*nc;
    return (uint32_t)(*nc)++;
}

static bool is_ancestor(const struct cont *c, uint32_t anc, uint32_t node)
{
    for (uint32_t p = node; p != NONE; p = c[p].parent)
        if (p == anc)
            return true;
    return false;
}

static void link_parent(struct cont *c, uint32_t parent, uint32_t child, bool force)
{
    if (parent == child || is_ancestor(c, child, parent))
        return;
    if (c[child].parent != NONE && !force)
        return;
    c[child].parent = parent;
}

/* The sort context for children and threads. */
static const struct idx *th_x;
static const uint32_t *th_v;
static enum idx_sort th_key;
static bool th_rev;
static const uint32_t *th_best;   /* per subset message: the thread's representative */

static int cmp_child(const void *pa, const void *pb)
{
    uint32_t a = *(const uint32_t *)pa, b = *(const uint32_t *)pb;

    return cmp_msgs(idx_msg(th_x, th_v[a]), idx_msg(th_x, th_v[b]), IDX_SORT_DATE);
}

static int cmp_root(const void *pa, const void *pb)
{
    uint32_t a = *(const uint32_t *)pa, b = *(const uint32_t *)pb;
    int c = cmp_msgs(idx_msg(th_x, th_v[th_best[a]]), idx_msg(th_x, th_v[th_best[b]]), th_key);

    return th_rev ? -c : c;
}

void thread_view_free(struct thread_view *tv)
{
    free(tv->rows);
    tv->rows = NULL;
    tv->n = 0;
}

void thread_build(const struct idx *x, const uint32_t *v, size_t n, enum idx_sort key,
                  bool reverse, struct thread_view *out)
{
    size_t cc = n * 2 + 16, nc = 0, slots;
    struct cont *c = xmalloc(cc * sizeof *c);
    struct idmap map;
    uint32_t *mcont = xmalloc((n + 1) * sizeof *mcont);   /* subset message -> container */
    uint32_t *dparent = xmalloc((n + 1) * sizeof *dparent); /* display parent (subset idx) */
    bool *fake = xcalloc(n + 1, sizeof *fake);

    for (slots = 1024; slots < cc * 2; slots *= 2)
        ;
    map.slots = xmalloc(slots * sizeof *map.slots);
    memset(map.slots, 0xff, slots * sizeof *map.slots);
    map.mask = slots - 1;

    /* 1. a container per message, keyed by Message-ID (duplicates and id-less get their own) */
    for (size_t i = 0; i < n; i++) {
        const struct idx_msg *m = idx_msg(x, v[i]);
        uint32_t k;

        if (m->msgid[0]) {
            k = id_get(&map, &c, &nc, &cc, m->msgid, strlen(m->msgid));
            if (c[k].msg != NONE)
                k = NONE;
        } else {
            k = NONE;
        }
        if (k == NONE) {
            if (nc == cc) {
                cc *= 2;
                c = xreallocarray(c, cc, sizeof *c);
            }
            c[nc] = (struct cont){ "", 0, NONE, NONE };
            k = (uint32_t)nc++;
        }
        c[k].msg = (uint32_t)i;
        mcont[i] = k;
    }
    /* 2. link the References chain, then the message to its last reference */
    for (size_t i = 0; i < n; i++) {
        const struct idx_msg *m = idx_msg(x, v[i]);
        const char *p = m->references;
        uint32_t prev = NONE;

        while (*p) {
            const char *q = strchr(p, ' ');
            size_t len = q ? (size_t)(q - p) : strlen(p);

            if (len) {
                uint32_t k = id_get(&map, &c, &nc, &cc, p, len);

                if (prev != NONE)
                    link_parent(c, prev, k, false);
                prev = k;
            }
            p += len;
            while (*p == ' ')
                p++;
        }
        if (m->in_reply_to[0]) {
            size_t len = strlen(m->in_reply_to);
            uint32_t k = id_get(&map, &c, &nc, &cc, m->in_reply_to, len);

            /* In-Reply-To wins when References does not end with it */
            if (prev != k) {
                if (prev != NONE)
                    link_parent(c, prev, k, false);
                prev = k;
            }
        }
        if (prev != NONE)
            link_parent(c, prev, mcont[i], true);
    }
    /* 3. display parents: the nearest ancestor holding a message; messages under the same
     * empty root container are grouped under the earliest of them */
    {
        uint32_t *leader = xmalloc(nc * sizeof *leader);

        memset(leader, 0xff, nc * sizeof *leader);
        for (size_t i = 0; i < n; i++) {
            uint32_t a = c[mcont[i]].parent, last_empty = NONE;

            while (a != NONE && c[a].msg == NONE) {
                last_empty = a;
                a = c[a].parent;
            }
            if (a != NONE) {
                dparent[i] = c[a].msg;
            } else {
                dparent[i] = NONE;
                if (last_empty != NONE) {
                    uint32_t l = leader[last_empty];

                    if (l == NONE || cmp_msgs(idx_msg(x, v[i]), idx_msg(x, v[l]),
                                              IDX_SORT_DATE) < 0)
                        leader[last_empty] = (uint32_t)i;
                }
            }
        }
        for (size_t i = 0; i < n; i++) {
            uint32_t a = c[mcont[i]].parent, last_empty = NONE;

            if (dparent[i] != NONE)
                continue;
            while (a != NONE && c[a].msg == NONE) {
                last_empty = a;
                a = c[a].parent;
            }
            if (last_empty != NONE && leader[last_empty] != (uint32_t)i) {
                dparent[i] = leader[last_empty];
                fake[i] = true;
            }
        }
        free(leader);
    }
    /* 4. subject fallback: a root whose subject is a reply joins the root that has the same
     * base subject and is not a reply (or the earliest one) */
    {
        size_t sslots;
        uint32_t *st;

        for (sslots = 1024; sslots < n * 2 + 2; sslots *= 2)
            ;
        st = xmalloc(sslots * sizeof *st);
        memset(st, 0xff, sslots * sizeof *st);
        for (int pass = 0; pass < 2; pass++) {
            for (size_t i = 0; i < n; i++) {
                const char *subj, *base;
                size_t bl, h;
                bool reply;

                if (dparent[i] != NONE)
                    continue;
                subj = idx_msg(x, v[i])->subject;
                base = idx_subject_base(subj);
                bl = strlen(base);
                if (bl == 0)
                    continue;
                reply = base != subj;
                if (pass == 0 && reply)
                    continue;       /* originals claim their subject first */
                if (pass == 1 && !reply)
                    continue;       /* two originals with one subject stay apart */
                h = (size_t)id_hash(base, bl) & (sslots - 1);
                while (st[h] != NONE) {
                    const char *ob = idx_subject_base(idx_msg(x, v[st[h]])->subject);

                    if (strcmp(ob, base) == 0)
                        break;
                    h = (h + 1) & (sslots - 1);
                }
                if (st[h] == NONE) {
                    st[h] = (uint32_t)i;
                } else if (pass == 1 && st[h] != (uint32_t)i) {
                    dparent[i] = st[h];
                    fake[i] = true;
                }
            }
        }
        free(st);
    }
    /* 5. children lists sorted by date; threads ordered by their newest message */
    {
        uint32_t *nkids = xcalloc(n + 1, sizeof *nkids), *start = xmalloc((n + 1) * sizeof *start);
        uint32_t *kids = xmalloc((n + 1) * sizeof *kids);
        uint32_t *roots = xmalloc((n + 1) * sizeof *roots);
        uint32_t *best = xmalloc((n + 1) * sizeof *best), *top = xmalloc((n + 1) * sizeof *top);
        uint32_t *stack = xmalloc((n + 1) * sizeof *stack);
        uint32_t *rowof = xmalloc((n + 1) * sizeof *rowof);
        size_t nroots = 0, acc = 0, nrows = 0;

        for (size_t i = 0; i < n; i++)
            if (dparent[i] != NONE)
                nkids[dparent[i]]++;
            else
                roots[nroots++] = (uint32_t)i;
        for (size_t i = 0; i < n; i++) {
            start[i] = (uint32_t)acc;
            acc += nkids[i];
            nkids[i] = 0;
        }
        for (size_t i = 0; i < n; i++)
            if (dparent[i] != NONE) {
                uint32_t p = dparent[i];

                kids[start[p] + nkids[p]++] = (uint32_t)i;
            }
        th_x = x;
        th_v = v;
        for (size_t i = 0; i < n; i++)
            if (nkids[i] > 1)
                qsort(kids + start[i], nkids[i], sizeof *kids, cmp_child);
        /* the representative of each thread: newest by date/arrival, the root otherwise */
        for (size_t r = 0; r < nroots; r++)
            best[roots[r]] = roots[r];
        for (size_t i = 0; i < n; i++) {
            uint32_t t = (uint32_t)i;
            size_t guard = 0;

            while (dparent[t] != NONE && guard++ < n)
                t = dparent[t];
            top[i] = t;
        }
        if (key == IDX_SORT_DATE || key == IDX_SORT_ARRIVAL)
            for (size_t i = 0; i < n; i++)
                if (cmp_msgs(idx_msg(x, v[i]), idx_msg(x, v[best[top[i]]]), key) > 0)
                    best[top[i]] = (uint32_t)i;
        th_best = best;
        th_key = key;
        th_rev = reverse;
        qsort(roots, nroots, sizeof *roots, cmp_root);

        out->rows = xmalloc((n + 1) * sizeof *out->rows);
        for (size_t r = 0; r < nroots; r++) {
            size_t sp = 0;

            stack[sp++] = roots[r];
            while (sp > 0) {
                uint32_t i = stack[--sp];
                struct thread_row *row = &out->rows[nrows];
                uint32_t p = dparent[i];

                rowof[i] = (uint32_t)nrows;
                row->msg = v[i];
                row->thread = (uint32_t)r;
                row->fake_parent = fake[i];
                if (p == NONE) {
                    row->parent = NONE;
                    row->depth = 0;
                    row->last = true;
                } else {
                    uint32_t pr = rowof[p];

                    row->parent = pr;
                    row->depth = out->rows[pr].depth < UINT16_MAX ? out->rows[pr].depth + 1
                                                                  : UINT16_MAX;
                    row->last = kids[start[p] + nkids[p] - 1] == i;
                }
                nrows++;
                for (uint32_t k = nkids[i]; k > 0; k--)
                    stack[sp++] = kids[start[i] + k - 1];
            }
        }
        out->n = nrows;
        free(nkids);
        free(start);
        free(kids);
        free(roots);
        free(best);
        free(top);
        free(stack);
        free(rowof);
    }
    free(map.slots);
    free(c);
    free(mcont);
    free(dparent);
    free(fake);
}

char *thread_prefix(const struct thread_view *tv, size_t r, char *out, size_t outsz)
{
    const struct thread_row *row = &tv->rows[r];
    size_t depth = row->depth, len;
    /* built right to left: the row's own branch, then one column per ancestor level */
    static const char branch_mid[] = "\xe2\x94\x9c\xe2\x94\x80>";   /* ├─> */
    static const char branch_end[] = "\xe2\x94\x94\xe2\x94\x80>";   /* └─> */
    static const char vert[] = "\xe2\x94\x82 ";                     /* │ + space */
    static const char blank[] = "  ";
    const char **cols;
    size_t ncols = 0;

    if (outsz == 0)
        return out;
    out[0] = '\0';
    if (depth == 0)
        return out;
    if (depth > 64)
        depth = 64;
    cols = xmalloc((depth + 1) * sizeof *cols);
    cols[ncols++] = row->last ? branch_end : branch_mid;
    for (uint32_t p = row->parent; p != NONE && ncols < depth; p = tv->rows[p].parent)
        cols[ncols++] = tv->rows[p].last ? blank : vert;
    len = 0;
    for (size_t k = ncols; k > 0; k--) {
        size_t l = strlen(cols[k - 1]);

        if (len + l + 1 > outsz)
            break;
        memcpy(out + len, cols[k - 1], l);
        len += l;
    }
    out[len] = '\0';
    free(cols);
    return out;
}

/* Views over an index: sorting (qsort_r, no globals) and limit patterns, whose body: terms
 * search the decoded text parts of the messages, on several threads. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "index_int.h"
#include "tern/buf.h"
#include "tern/codec.h"
#include "tern/fold.h"
#include "tern/fsutil.h"
#include "tern/index.h"
#include "tern/maildir.h"
#include "tern/mime.h"
#include "tern/parallel.h"
#include "tern/str.h"
#include "tern/pattern.h"
#include "tern/view.h"
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

/* What a comparison needs besides the two positions (qsort_r's argument). */
struct sort_ctx {
    const struct idx *x;
    enum idx_sort key;
    bool rev;
    const char **base;   /* subject bases by position, computed once per sort, or NULL */
};

static int cmp_i64(int64_t a, int64_t b)
{
    return a < b ? -1 : a > b;
}

int idx_msg_cmp(const struct idx_msg *a, const struct idx_msg *b, enum idx_sort key)
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

static int cmp_pos(const void *pa, const void *pb, void *arg)
{
    const struct sort_ctx *s = arg;
    uint32_t a = *(const uint32_t *)pa, b = *(const uint32_t *)pb;
    int c;

    if (s->base) {
        c = str_casecmp(s->base[a], s->base[b]);
        if (c == 0)
            c = idx_msg_cmp(idx_msg(s->x, a), idx_msg(s->x, b), IDX_SORT_DATE);
    } else {
        c = idx_msg_cmp(idx_msg(s->x, a), idx_msg(s->x, b), s->key);
    }
    return s->rev ? -c : c;
}

static int datekey_cmp(const struct view_datekey *a, const struct view_datekey *b)
{
    int c = a->date < b->date ? -1 : a->date > b->date;

    if (c == 0)
        c = a->mtime < b->mtime ? -1 : a->mtime > b->mtime;
    if (c == 0)
        c = a->id < b->id ? -1 : a->id > b->id;
    return c;
}

int view_cmp_datekey(const void *pa, const void *pb, void *reverse)
{
    int c = datekey_cmp(pa, pb);

    return *(const bool *)reverse ? -c : c;
}

/* Does a come before b (after it when rev)? Keys are never equal (ids are unique). */
static bool datekey_before(const struct view_datekey *a, const struct view_datekey *b, bool rev)
{
    return (datekey_cmp(a, b) < 0) != rev;
}

/* Merge the sorted runs a (na keys) and b (nb) into out. */
static void datekey_merge(const struct view_datekey *a, size_t na, const struct view_datekey *b,
                          size_t nb, struct view_datekey *out, bool rev)
{
    size_t i = 0, j = 0;

    while (i < na && j < nb)
        *out++ = datekey_before(&b[j], &a[i], rev) ? b[j++] : a[i++];
    memcpy(out, a + i, (na - i) * sizeof *a);
    memcpy(out + (na - i), b + j, (nb - j) * sizeof *b);
}

#define DATEKEY_RUN 16

/*
 * Merge sort of k with the comparison inlined (qsort_r's call per comparison was most of
 * the cost): runs of DATEKEY_RUN by insertion, then merged a level at a time, k and tmp
 * (as large) taking turns.
 */
static void datekey_sort(struct view_datekey *k, struct view_datekey *tmp, size_t n, bool rev)
{
    struct view_datekey *src = k, *dst = tmp, *t;

    for (size_t lo = 0; lo < n; lo += DATEKEY_RUN) {
        size_t hi = lo + DATEKEY_RUN < n ? lo + DATEKEY_RUN : n;

        for (size_t i = lo + 1; i < hi; i++) {
            struct view_datekey v = k[i];
            size_t j = i;

            for (; j > lo && datekey_before(&v, &k[j - 1], rev); j--)
                k[j] = k[j - 1];
            k[j] = v;
        }
    }
    for (size_t w = DATEKEY_RUN; w < n; w *= 2) {
        for (size_t lo = 0; lo < n; lo += 2 * w) {
            size_t na = w < n - lo ? w : n - lo;
            size_t nb = n - lo - na < w ? n - lo - na : w;

            datekey_merge(src + lo, na, src + lo + na, nb, dst + lo, rev);
        }
        t = src;
        src = dst;
        dst = t;
    }
    if (src != k)
        memcpy(k, src, n * sizeof *k);
}

/* One thread's share of view_sort_datekeys. */
struct datekey_share {
    struct view_datekey *k, *tmp;
    size_t n;
    bool rev;
};

static void *datekey_share_run(void *arg)
{
    struct datekey_share *s = arg;

    datekey_sort(s->k, s->tmp, s->n, s->rev);
    return NULL;
}

/* Below this many keys one thread sorts them all. */
#define DATEKEY_PAR_MIN 32768

void view_sort_datekeys(struct view_datekey *k, size_t n, bool rev)
{
    struct datekey_share sh[PAR_MAX_THREADS];
    struct view_datekey *tmp = xmalloc((n + 1) * sizeof *tmp);
    size_t nt = n >= DATEKEY_PAR_MIN ? par_threads(PAR_MAX_THREADS) : 1;
    size_t bnd[PAR_MAX_THREADS + 1];

    for (size_t s = 0; s <= nt; s++)
        bnd[s] = n * s / nt;
    for (size_t s = 0; s < nt; s++)
        sh[s] = (struct datekey_share){ k + bnd[s], tmp + bnd[s], bnd[s + 1] - bnd[s], rev };
    par_run(datekey_share_run, sh, sizeof sh[0], nt);
    /* the shares' runs, merged pairwise until one is left */
    while (nt > 1) {
        size_t m = 0;

        for (size_t s = 0; s < nt; s += 2) {
            if (s + 1 < nt) {
                datekey_merge(k + bnd[s], bnd[s + 1] - bnd[s], k + bnd[s + 1],
                              bnd[s + 2] - bnd[s + 1], tmp + bnd[s], rev);
                memcpy(k + bnd[s], tmp + bnd[s], (bnd[s + 2] - bnd[s]) * sizeof *k);
            }
            bnd[m++] = bnd[s];
        }
        bnd[m] = n;
        nt = m;
    }
    free(tmp);
}

static void sort_by_date(const struct idx *x, uint32_t *v, size_t n, bool reverse)
{
    struct view_datekey *k = xmalloc((n + 1) * sizeof *k);
    size_t i;

    for (i = 0; i < n; i++) {
        const struct idx_msg *m = idx_msg(x, v[i]);

        k[i] = (struct view_datekey){ m->date, m->mtime, m->id, v[i] };
    }
    for (i = 1; i < n; i++)
        if (datekey_before(&k[i], &k[i - 1], reverse))
            break;
    if (i < n) {
        view_sort_datekeys(k, n, reverse);
        for (i = 0; i < n; i++)
            v[i] = k[i].pos;
    }
    free(k);
}

void idx_sort(const struct idx *x, uint32_t *v, size_t n, enum idx_sort key, bool reverse)
{
    struct sort_ctx s = { x, key, reverse, NULL };
    size_t i;

    if (key == IDX_SORT_DATE && n > 256) {
        sort_by_date(x, v, n, reverse);
        return;
    }

    /* the cache is stored in date order, so the default view is often sorted already */
    for (i = 1; i < n; i++)
        if (cmp_pos(&v[i - 1], &v[i], &s) > 0)
            break;
    if (i < n) {
        if (key == IDX_SORT_SUBJECT && n > 64) {
            /* stripping Re:/Fwd:/[list] once per message, not twice per comparison */
            s.base = xcalloc(idx_count(x) + 1, sizeof *s.base);
            for (size_t k = 0; k < n; k++)
                s.base[v[k]] = idx_subject_base(idx_msg(x, v[k])->subject);
        }
        qsort_r(v, n, sizeof *v, cmp_pos, &s);
        free(s.base);
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

static void match_all(const struct idx *x, const struct idx_limit *l, unsigned char *hit);

/* Date order of a stored entry (not read: its record is peeked) and an appended one. */
static int cmp_date(const struct idx *x, uint32_t a, uint32_t b)
{
    const struct idx_msg *mb = idx_msg(x, b);
    int64_t date, mtime;
    uint32_t id;

    idx_peek((struct idx *)x, a, &date, &mtime, &id);
    if (date != mb->date)
        return date < mb->date ? -1 : 1;
    if (mtime != mb->mtime)
        return mtime < mb->mtime ? -1 : 1;
    return id < mb->id ? -1 : id > mb->id;
}

/* Append the not-gone positions [from, to) of the sorted prefix (no entry is read). */
static void emit_prefix(const struct idx *x, struct idx_view *v, size_t from, size_t to)
{
    for (size_t i = from; i < to; i++)
        if (!idx_is_gone(x, i))
            v->v[v->n++] = (uint32_t)i;
}

/*
 * The date order from the stored order: positions [0, sorted) are already in date order
 * (the cache file's order), the few appended since (new mail) are sorted and merged in by
 * binary search. Reads the appended entries and a logarithmic number of others: a first
 * screen costs the rows it shows, whatever the size of the folder.
 */
static void stored_order(const struct idx *x, struct idx_view *v)
{
    size_t n = idx_count(x), pre = x->sorted < n ? x->sorted : n, k = 0, at = 0;
    uint32_t *tail = xmalloc((n - pre + 1) * sizeof *tail);

    for (size_t i = pre; i < n; i++)
        if (!idx_is_gone(x, i))
            tail[k++] = (uint32_t)i;
    idx_sort(x, tail, k, IDX_SORT_DATE, false);
    for (size_t j = 0; j < k; j++) {
        size_t lo = at, hi = pre;

        while (lo < hi) {     /* the first prefix position that sorts after tail[j] */
            size_t mid = lo + (hi - lo) / 2;

            if (cmp_date(x, (uint32_t)mid, tail[j]) <= 0)
                lo = mid + 1;
            else
                hi = mid;
        }
        emit_prefix(x, v, at, lo);
        v->v[v->n++] = tail[j];
        at = lo;
    }
    emit_prefix(x, v, at, pre);
    free(tail);
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
    if (lim == NULL && key == IDX_SORT_DATE && x->sorted > 0) {
        stored_order(x, v);
        if (reverse)
            for (size_t a = 0, b = v->n; a + 1 < b; a++, b--) {
                uint32_t t = v->v[a];

                v->v[a] = v->v[b - 1];
                v->v[b - 1] = t;
            }
        return;
    }
    if (lim) {
        unsigned char *hit = xmalloc(n + 1);

        match_all(x, lim, hit);
        for (size_t i = 0; i < n; i++)
            if (hit[i])
                v->v[v->n++] = (uint32_t)i;
        free(hit);
    } else {
        for (size_t i = 0; i < n; i++)
            if (!idx_is_gone(x, i))
                v->v[v->n++] = (uint32_t)i;
    }
    idx_sort(x, v->v, v->n, key, reverse);
}

/* ---- limit patterns ---- */

#define BODY_MAX (64u << 20)     /* larger files are not searched (as the pager's limit) */

enum term_kind { T_ANY, T_FROM, T_TO, T_SUBJECT, T_FLAG_SET, T_NEW, T_DATE, T_BODY };

struct term {
    enum term_kind kind;
    bool neg;
    char *word;
    struct fold_word fw;     /* word, folded once */
    unsigned flag;
    int64_t lo, hi;      /* [lo, hi) */
};

struct idx_limit {
    struct term *t;
    size_t n;
    bool body;               /* a term reads message files */
    bool (*tagged)(void *arg, uint32_t id);
    void *targ;
    struct pattern *pat;     /* the ~ syntax (pattern.c) instead of terms */
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
    for (size_t i = 0; i < l->n; i++) {
        free(l->t[i].word);
        fold_word_free(&l->t[i].fw);
    }
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
        l->t = xgrow(l->t, l->n, &cap, sizeof *l->t);
        if (parse_term(buf_cstr(&w), &l->t[l->n], e) < 0) {
            buf_free(&w);
            idx_limit_free(l);
            return -1;
        }
        if (l->t[l->n].word)
            fold_word_init(&l->t[l->n].fw, l->t[l->n].word);
        l->body |= l->t[l->n].kind == T_BODY;
        l->n++;
        buf_free(&w);
    }
    /* terms that read files last: the others often decide without opening a message */
    for (size_t i = 0, o = 0; i < l->n; i++)
        if (l->t[i].kind != T_BODY) {
            struct term t = l->t[i];

            memmove(&l->t[o + 1], &l->t[o], (i - o) * sizeof t);
            l->t[o++] = t;
        }
    *out = l;
    return 0;
}

/* What one matching thread needs of its own. */
struct mctx {
    struct buf fold;        /* folded text of a non-ASCII field or part */
    struct buf text;        /* a decoded text part */
    struct buf file;        /* the message file, kept from message to message */
    const int *dfd;         /* new/ and cur/ opened (openat: no path walk), or NULL */
    bool atime;             /* O_NOATIME was refused (not our file): open without it */
};

static void mctx_free(struct mctx *c)
{
    buf_free(&c->fold);
    buf_free(&c->text);
    buf_free(&c->file);
}

static bool has(struct mctx *c, const char *hay, const struct term *t)
{
    return fold_has(&t->fw, hay, strlen(hay), &c->fold);
}

#ifndef O_NOATIME
#define O_NOATIME 0
#endif

static int open_in(int dfd, const char *name, const char *path, int flags)
{
    return dfd >= 0 ? openat(dfd, name, flags) : open(path, flags);
}

/* Open message file i without updating its access time where we may (O_NOATIME is for the
 * file's owner): a search is not a reading, and the kernel then has no inode to write. */
static int open_msg(const struct idx *x, size_t i, struct mctx *c)
{
    const struct idx_msg *m = idx_msg(x, i);
    int dfd = c->dfd ? c->dfd[m->in_new ? 0 : 1] : -1, fd = -1;
    int flags = O_RDONLY | O_CLOEXEC | O_NONBLOCK;
    char *path = dfd >= 0 ? NULL : idx_path(x, i);

    if (!c->atime) {
        fd = open_in(dfd, m->name, path, flags | O_NOATIME);
        if (fd < 0 && errno == EPERM)
            c->atime = true;
    }
    if (fd < 0 && c->atime)
        fd = open_in(dfd, m->name, path, flags);
    free(path);
    return fd;
}

/*
 * Read message file i into c->file; false when it cannot be read or is too large. One read
 * a message: the buffer is kept across messages and made as large as the indexed size, and
 * a short read is the end of a regular file (a FIFO or a device gives no more than it has; a
 * directory fails), so there is no fstat.
 */
static bool read_msg(const struct idx *x, size_t i, struct mctx *c)
{
    uint64_t size = idx_msg(x, i)->size;    /* when indexed: room for it, and a little more */
    int fd;
    bool ok = true;

    buf_reset(&c->file);
    if (size >= BODY_MAX || (fd = open_msg(x, i, c)) < 0)
        return false;
    buf_reserve(&c->file, size + 4096 < (64u << 10) ? (64u << 10) : (size_t)size + 4096);
    for (;;) {
        size_t room;
        ssize_t r;

        if (c->file.cap < c->file.len + 4096 + 1)
            buf_reserve(&c->file, c->file.len);
        room = c->file.cap - c->file.len - 1;
        r = read(fd, c->file.ptr + c->file.len, room);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            ok = false;
            break;
        }
        c->file.len += (size_t)r;
        if (c->file.len >= BODY_MAX) {
            ok = false;
            break;
        }
        if ((size_t)r < room)
            break;
    }
    close(fd);
    c->file.ptr[c->file.len] = '\0';
    return ok;
}

/* A part whose raw bytes are already the text: no transfer encoding, labelled UTF-8 or ASCII
 * and valid UTF-8 (a "7bit" part can hold anything; mime_text reads invalid bytes as
 * Windows-1252), not format=flowed (whose soft line breaks are undone in the text). */
static bool part_is_raw_text(const struct mime_part *p)
{
    return (p->enc == MIME_7BIT || p->enc == MIME_8BIT || p->enc == MIME_BINARY) &&
           !p->flowed && (p->charset == NULL || str_casecmp(p->charset, "utf-8") == 0 ||
                          str_casecmp(p->charset, "us-ascii") == 0) &&
           codec_utf8_valid(p->body, p->body_len);
}

/*
 * Text part p holds the word once decoded, converted to UTF-8 and folded. An ASCII word is
 * looked for first in the transfer-decoded bytes, before any conversion, when the charset
 * keeps ASCII as it is: found there (followed by an ASCII byte) it is in the text, and in a
 * part of only ASCII bytes it is nowhere. Only the rest is converted and folded.
 */
static bool part_has(const struct term *t, const struct mime_part *p, struct mctx *c)
{
    if (t->fw.ascii && !p->flowed && codec_ascii_compatible(p->charset)) {
        const char *s = p->body;
        size_t n = p->body_len;

        if (p->enc == MIME_QP || p->enc == MIME_BASE64) {
            buf_reset(&c->text);
            mime_decode(p, &c->text);
            s = c->text.ptr ? c->text.ptr : "";
            n = c->text.len;
        }
        switch (fold_scan_ascii(&t->fw, s, n)) {
        case FOLD_YES:
            return true;
        case FOLD_NO:
            if (fold_is_ascii(s, n))
                return false;
            break;
        case FOLD_MAYBE:
        default:
            break;
        }
    }
    if (part_is_raw_text(p))
        return fold_has(&t->fw, p->body, p->body_len, &c->fold);
    buf_reset(&c->text);
    mime_text(p, &c->text);
    return fold_has(&t->fw, c->text.ptr ? c->text.ptr : "", c->text.len, &c->fold);
}

/*
 * The decoded text parts of message i contain the word: quoted-printable and base64 are
 * decoded and charsets converted (a Cyrillic message sent as base64 UTF-8 or KOI8-R is
 * found); parts that are not text (images, archives: base64 data) are never searched.
 */
static bool body_has(const struct idx *x, size_t i, const struct term *t, struct mctx *c)
{
    struct mime_tree tree;
    bool r = false;

    if (!read_msg(x, i, c))
        return false;
    mime_parse(c->file.ptr, c->file.len, &tree);
    for (size_t k = 0; k < tree.n && !r; k++) {
        const struct mime_part *p = &tree.parts[k];

        if (!mime_is_multipart(p) && strncmp(p->type, "text/", 5) == 0)
            r = part_has(t, p, c);
    }
    mime_free(&tree);
    return r;
}

static bool match(const struct idx *x, const struct idx_limit *l, size_t i, struct mctx *c)
{
    const struct idx_msg *m = idx_msg(x, i);

    if (l->pat)
        return pattern_match(l->pat, x, i, l->tagged, l->targ);
    for (size_t k = 0; k < l->n; k++) {
        const struct term *t = &l->t[k];
        bool r;

        switch (t->kind) {
        case T_ANY:
            r = has(c, m->from, t) || has(c, m->to, t) || has(c, m->subject, t) ||
                has(c, m->from_addr, t) || has(c, m->to_addrs, t);
            break;
        case T_FROM:
            r = has(c, m->from, t) || has(c, m->from_addr, t);
            break;
        case T_TO:
            r = has(c, m->to, t) || has(c, m->to_addrs, t);
            break;
        case T_SUBJECT:
            r = has(c, m->subject, t);
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
            r = body_has(x, i, t, c);
            break;
        }
        if (r == t->neg)
            return false;
    }
    return true;
}

bool idx_limit_match(const struct idx *x, const struct idx_limit *l, size_t i)
{
    struct mctx c = { BUF_INIT, BUF_INIT, BUF_INIT, NULL, false };
    bool r = match(x, l, i, &c);

    mctx_free(&c);
    return r;
}

/* The work of the matching threads: positions are taken a chunk at a time from one counter,
 * so a thread that the scheduler holds back (a busy machine) leaves its share to the others. */
struct mjob {
    const struct idx *x;
    const struct idx_limit *l;
    size_t n;
    atomic_size_t next;
    unsigned char *hit;
    const int *dfd;
};

#define MATCH_CHUNK 64

static void *match_run(void *arg)
{
    struct mjob *j = arg;
    struct mctx c = { BUF_INIT, BUF_INIT, BUF_INIT, j->dfd, false };
    size_t lo;

    while ((lo = atomic_fetch_add(&j->next, MATCH_CHUNK)) < j->n) {
        size_t hi = lo + MATCH_CHUNK < j->n ? lo + MATCH_CHUNK : j->n;

        for (size_t i = lo; i < hi; i++)
            j->hit[i] = !idx_is_gone(j->x, i) && match(j->x, j->l, i, &c);
    }
    mctx_free(&c);
    return NULL;
}

/* match_run for par_run, whose jobs are here all the same shared one. */
static void *match_share(void *arg)
{
    return match_run(*(struct mjob **)arg);
}

/*
 * Which positions match, in parallel when the limit reads message files (body:), one thread
 * a core: that is open/read/decode per message, like the index's cold build. Entries are
 * filled first, by this thread (filling is not thread-safe).
 */
static void match_all(const struct idx *x, const struct idx_limit *l, unsigned char *hit)
{
    size_t n = idx_count(x), nt = 1;
    struct mjob j, *share[PAR_MAX_THREADS];
    int dfd[2] = { -1, -1 };

    if (l->body && n >= 64)
        nt = par_threads(PAR_MAX_THREADS);
    if (nt > 1)
        idx_load_all((struct idx *)x);
    if (l->body) {
        for (int s = 0; s < 2; s++) {
            char *sub = fs_join(x->dir, s ? "cur" : "new");

            dfd[s] = open(sub, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
            free(sub);
        }
    }
    j.x = x;
    j.l = l;
    j.n = n;
    j.hit = hit;
    j.dfd = dfd;
    atomic_init(&j.next, 0);
    for (size_t k = 0; k < nt; k++)
        share[k] = &j;
    par_run(match_share, share, sizeof share[0], nt);
    for (int s = 0; s < 2; s++)
        if (dfd[s] >= 0)
            close(dfd[s]);
}

/* Threads as a view over an index: JWZ's algorithm, in steps (see thread_build). */
#include "config.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tern/index.h"
#include "tern/thread.h"
#include "tern/view.h"
#include "tern/str.h"
#include "tern/xalloc.h"

#define NONE UINT32_MAX

/* How many messages ahead the loops over all of them fetch what they will read. */
#define AHEAD 16

/* From this many messages on, base subjects are found on a second thread. */
#define SUBJECT_THREAD_MIN 4096

struct sbase;

struct cont {
    const char *id;
    uint32_t id_len;
    uint32_t msg;        /* index into the subset v[], or NONE for an empty container */
    uint32_t parent;
};

/* A slot of an open-addressing table: the upper half of the key's hash, so that a probe
 * reads the string only when it very probably matches, and what the key names. */
struct slot {
    uint32_t tag;
    uint32_t val;        /* NONE: empty */
};

/* Everything thread_build's steps share; subset indexes are positions in v[]. */
struct thr {
    const struct idx *x;
    const uint32_t *v;
    size_t n;
    enum idx_sort key;
    bool rev;
    const struct idx_msg **m;   /* the subset's entries, looked up once */
    uint32_t *rank;             /* subset message -> its place in date order */
    uint32_t *byrank;           /* and back */
    struct cont *c;             /* containers: one per message and per referenced id */
    size_t nc, cc;
    struct slot *slots;         /* Message-ID -> container */
    size_t mask, nids;
    uint32_t *mcont;            /* subset message -> its container */
    uint32_t *dparent;          /* display parent (subset index) or NONE */
    bool *fake;                 /* the display parent is not the real one */
    uint32_t *nkids, *start, *kids;   /* children of each message, in date order */
    uint32_t *roots;
    size_t nroots;
    uint32_t *best;             /* per root: the message that places the thread */
    struct sbase *sb;           /* per message: its base subject (step 4) */
    pthread_t sb_tid;
    bool sb_thread;             /* sb is being filled by sb_tid */
};

static uint32_t cont_new(struct thr *t, const char *id, size_t len)
{
    if (t->nc == t->cc) {
        t->cc *= 2;
        t->c = xreallocarray(t->c, t->cc, sizeof *t->c);
    }
    t->c[t->nc] = (struct cont){ id, (uint32_t)len, NONE, NONE };
    return (uint32_t)t->nc++;
}

/* A table of at least want * 2 empty slots (a power of two). */
static struct slot *slots_new(size_t want, size_t *mask)
{
    size_t n;
    struct slot *s;

    for (n = 1024; n < want * 2; n *= 2)
        ;
    s = xmalloc(n * sizeof *s);
    memset(s, 0xff, n * sizeof *s);
    *mask = n - 1;
    return s;
}

/* Twice the slots: a folder may name many more ids in References than it has messages. */
static void ids_grow(struct thr *t)
{
    struct slot *old = t->slots;
    size_t omask = t->mask;

    t->slots = slots_new(omask + 1, &t->mask);
    for (size_t k = 0; k <= omask; k++) {
        if (old[k].val != NONE) {
            const struct cont *c = &t->c[old[k].val];
            size_t h = (size_t)str_hash(c->id, c->id_len) & t->mask;

            while (t->slots[h].val != NONE)
                h = (h + 1) & t->mask;
            t->slots[h] = old[k];
        }
    }
    free(old);
}

/* Find or create the container of id, whose str_hash is hv. */
static uint32_t id_get_h(struct thr *t, const char *id, size_t len, uint64_t hv)
{
    uint32_t tag = (uint32_t)(hv >> 32);
    size_t h = (size_t)hv & t->mask;

    while (t->slots[h].val != NONE) {
        if (t->slots[h].tag == tag) {
            const struct cont *k = &t->c[t->slots[h].val];

            if (k->id_len == len && memcmp(k->id, id, len) == 0)
                return t->slots[h].val;
        }
        h = (h + 1) & t->mask;
    }
    if ((t->nids + 1) * 2 > t->mask + 1) {
        ids_grow(t);
        h = (size_t)hv & t->mask;
        while (t->slots[h].val != NONE)
            h = (h + 1) & t->mask;
    }
    t->nids++;
    t->slots[h] = (struct slot){ tag, cont_new(t, id, len) };
    return t->slots[h].val;
}

static uint32_t id_get(struct thr *t, const char *id, size_t len)
{
    return id_get_h(t, id, len, str_hash(id, len));
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

static const struct idx_msg *thr_msg(const struct thr *t, uint32_t i)
{
    return t->m[i];
}

/* The date order of view_cmp_datekey, on entries. */
static int date_cmp(const struct idx_msg *a, const struct idx_msg *b)
{
    struct view_datekey ka = { a->date, a->mtime, a->id, 0 };
    struct view_datekey kb = { b->date, b->mtime, b->id, 0 };
    bool no = false;

    return view_cmp_datekey(&ka, &kb, &no);
}

/* A view in another order: sort keys copied out of the entries. */
static void ranks_by_sort(struct thr *t)
{
    struct view_datekey *k = xmalloc((t->n + 1) * sizeof *k);
    size_t i;

    for (i = 0; i < t->n; i++)
        k[i] = (struct view_datekey){ t->m[i]->date, t->m[i]->mtime, t->m[i]->id, (uint32_t)i };
    view_sort_datekeys(k, t->n, false);
    for (i = 0; i < t->n; i++) {
        t->byrank[i] = k[i].pos;
        t->rank[k[i].pos] = (uint32_t)i;
    }
    free(k);
}

/* 0. Every message's entry, and its place in date order (date, arrival, id: a total order,
 * as ids are unique), so that later steps compare dates as integers. A view in date order,
 * the usual case, needs no sort. */
static void thr_date_ranks(struct thr *t)
{
    bool up = true, down = true;
    size_t i;

    t->m = xmalloc((t->n + 1) * sizeof *t->m);
    t->rank = xmalloc((t->n + 1) * sizeof *t->rank);
    t->byrank = xmalloc((t->n + 1) * sizeof *t->byrank);
    for (i = 0; i < t->n; i++) {
        t->m[i] = idx_msg(t->x, t->v[i]);
        if (i > 0 && (up || down)) {
            int c = date_cmp(t->m[i - 1], t->m[i]);

            up = up && c < 0;
            down = down && c > 0;
        }
    }
    if (!up && !down) {
        ranks_by_sort(t);
        return;
    }
    for (i = 0; i < t->n; i++) {
        uint32_t pos = up ? (uint32_t)i : (uint32_t)(t->n - 1 - i);

        t->byrank[i] = pos;
        t->rank[pos] = (uint32_t)i;
    }
}

/* 1. A container per message, keyed by Message-ID (duplicates and id-less get their own).
 * The loop runs at memory speed: the ids are scattered over the cache's blocks and the
 * table is larger than any cache, so each message's id is fetched AHEAD messages early and
 * its slot AHEAD / 2 early. */
static void thr_containers(struct thr *t)
{
    uint64_t hv[AHEAD];
    uint32_t len[AHEAD];

    t->cc = t->n * 2 + 16;
    t->c = xmalloc(t->cc * sizeof *t->c);
    t->slots = slots_new(t->n + 16, &t->mask);
    t->mcont = xmalloc((t->n + 1) * sizeof *t->mcont);
    for (size_t i = 0; i < t->n + AHEAD / 2; i++) {
        size_t j = i;                   /* hashed now, looked up AHEAD / 2 later */
        uint32_t k = NONE;

        if (j + AHEAD < t->n)
            __builtin_prefetch(thr_msg(t, (uint32_t)(j + AHEAD))->msgid);
        if (j < t->n) {
            const char *id = thr_msg(t, (uint32_t)j)->msgid;
            size_t l = strlen(id);

            hv[j % AHEAD] = l ? str_hash(id, l) : 0;
            len[j % AHEAD] = (uint32_t)l;
            __builtin_prefetch(&t->slots[(size_t)hv[j % AHEAD] & t->mask]);
        }
        if (i < AHEAD / 2)
            continue;
        j = i - AHEAD / 2;
        if (len[j % AHEAD]) {
            k = id_get_h(t, thr_msg(t, (uint32_t)j)->msgid, len[j % AHEAD], hv[j % AHEAD]);
            if (t->c[k].msg != NONE)
                k = NONE;
        }
        if (k == NONE)
            k = cont_new(t, "", 0);
        t->c[k].msg = (uint32_t)j;
        t->mcont[j] = k;
    }
}

/* 2. Link each References chain, then the message to its last reference (In-Reply-To
 * wins when References does not end with it). */
static void thr_link_refs(struct thr *t)
{
    for (size_t i = 0; i < t->n; i++) {
        const struct idx_msg *m = thr_msg(t, (uint32_t)i);
        const char *p = m->references, *end = p + strlen(p);
        uint32_t prev = NONE;

        if (i + AHEAD < t->n) {
            const struct idx_msg *a = thr_msg(t, (uint32_t)(i + AHEAD));

            __builtin_prefetch(a->references);
            __builtin_prefetch(a->in_reply_to);
        }
        while (p < end) {
            const char *q = memchr(p, ' ', (size_t)(end - p));
            size_t len = q ? (size_t)(q - p) : (size_t)(end - p);

            if (len) {
                uint32_t k = id_get(t, p, len);

                if (prev != NONE)
                    link_parent(t->c, prev, k, false);
                prev = k;
            }
            p += len;
            while (*p == ' ')
                p++;
        }
        if (m->in_reply_to[0]) {
            uint32_t k = id_get(t, m->in_reply_to, strlen(m->in_reply_to));

            if (prev != k) {
                if (prev != NONE)
                    link_parent(t->c, prev, k, false);
                prev = k;
            }
        }
        if (prev != NONE)
            link_parent(t->c, prev, t->mcont[i], true);
    }
    /* no id is looked up after this: the table goes (a million messages hold a lot of
     * memory at once otherwise) */
    free(t->slots);
    t->slots = NULL;
}

/* The topmost empty container above message i when no message is above it, else NONE;
 * *holder is the nearest ancestor holding a message (NONE if none). */
static uint32_t top_empty(const struct thr *t, size_t i, uint32_t *holder)
{
    uint32_t a = t->c[t->mcont[i]].parent, last_empty = NONE;

    while (a != NONE && t->c[a].msg == NONE) {
        last_empty = a;
        a = t->c[a].parent;
    }
    *holder = a;
    return a == NONE ? last_empty : NONE;
}

/* 3. Display parents: the nearest ancestor holding a message; messages under the same
 * empty root container are grouped under the earliest of them. */
static void thr_display_parents(struct thr *t)
{
    uint32_t *leader = xmalloc((t->nc + 1) * sizeof *leader);

    t->dparent = xmalloc((t->n + 1) * sizeof *t->dparent);
    t->fake = xcalloc(t->n + 1, sizeof *t->fake);
    memset(leader, 0xff, (t->nc + 1) * sizeof *leader);
    for (size_t i = 0; i < t->n; i++) {
        uint32_t holder, e = top_empty(t, i, &holder);

        t->dparent[i] = holder != NONE ? t->c[holder].msg : NONE;
        if (e != NONE && (leader[e] == NONE || t->rank[i] < t->rank[leader[e]]))
            leader[e] = (uint32_t)i;
    }
    for (size_t i = 0; i < t->n; i++) {
        uint32_t holder, e;

        if (t->dparent[i] != NONE)
            continue;
        e = top_empty(t, i, &holder);
        if (e != NONE && leader[e] != (uint32_t)i) {
            t->dparent[i] = leader[e];
            t->fake[i] = true;
        }
    }
    free(leader);
    free(t->c);              /* containers are not needed after this step */
    free(t->mcont);
    t->c = NULL;
    t->mcont = NULL;
}

/* A message's base subject, for the subject fallback. */
struct sbase {
    const char *base;
    uint32_t len;        /* 0: no subject to merge by */
    bool reply;          /* the subject is a reply (its base is shorter) */
    uint64_t hash;
};

static void subject_bases(const struct thr *t, size_t lo, size_t hi)
{
    for (size_t i = lo; i < hi; i++) {
        const char *subj = thr_msg(t, (uint32_t)i)->subject;

        if (i + AHEAD < hi)
            __builtin_prefetch(thr_msg(t, (uint32_t)(i + AHEAD))->subject);
        const char *base = idx_subject_base(subj);
        size_t bl = strlen(base);

        t->sb[i] = (struct sbase){ base, (uint32_t)bl, base != subj,
                                   bl ? str_hash(base, bl) : 0 };
    }
}

static void *subject_run(void *arg)
{
    const struct thr *t = arg;

    subject_bases(t, 0, t->n);
    return NULL;
}

/* Every message's base subject, on a thread of its own while steps 1-3 run (they read the
 * same entries and write nothing it reads), for a large view. */
static void thr_subjects_start(struct thr *t)
{
    const char *env = getenv("TERN_INDEX_THREADS");   /* for benchmarks: 1 = serial */

    t->sb = xmalloc((t->n + 1) * sizeof *t->sb);
    t->sb_thread = t->n >= SUBJECT_THREAD_MIN && !(env && strcmp(env, "1") == 0) &&
                   sysconf(_SC_NPROCESSORS_ONLN) > 1 &&
                   pthread_create(&t->sb_tid, NULL, subject_run, t) == 0;
}

static void thr_subjects_wait(struct thr *t)
{
    if (t->sb_thread)
        pthread_join(t->sb_tid, NULL);
    else
        subject_bases(t, 0, t->n);
}

/* 4. Subject fallback: a root whose subject is a reply joins the root that has the same
 * base subject and is not a reply (or the earliest such reply, in view order). */
static void thr_subject_fallback(struct thr *t)
{
    uint32_t *roots = xmalloc((t->n + 1) * sizeof *roots);
    size_t nr = 0, mask;
    struct slot *st;

    thr_subjects_wait(t);
    for (size_t i = 0; i < t->n; i++)
        if (t->dparent[i] == NONE && t->sb[i].len > 0)
            roots[nr++] = (uint32_t)i;
    st = slots_new(nr + 1, &mask);
    for (int pass = 0; pass < 2; pass++) {
        for (size_t k = 0; k < nr; k++) {
            uint32_t i = roots[k];
            const struct sbase *q = &t->sb[i];
            uint32_t tag = (uint32_t)(q->hash >> 32);
            size_t h = (size_t)q->hash & mask;

            if (k + AHEAD < nr)
                __builtin_prefetch(&st[(size_t)t->sb[roots[k + AHEAD]].hash & mask]);
            if (q->reply != (pass == 1))
                continue;       /* originals claim their subject first; two originals with
                                   one subject stay apart */
            while (st[h].val != NONE) {
                const struct sbase *o = &t->sb[st[h].val];

                if (st[h].tag == tag && o->len == q->len && memcmp(o->base, q->base, q->len) == 0)
                    break;
                h = (h + 1) & mask;
            }
            if (st[h].val == NONE) {
                st[h] = (struct slot){ tag, i };
            } else if (pass == 1) {
                t->dparent[i] = st[h].val;
                t->fake[i] = true;
            }
        }
    }
    free(st);
    free(roots);
    free(t->sb);
    t->sb = NULL;
}

/* 5. Children lists (in date order: filled in date order) and the list of roots. */
static void thr_children(struct thr *t)
{
    size_t acc = 0;

    t->nkids = xcalloc(t->n + 1, sizeof *t->nkids);
    t->start = xmalloc((t->n + 1) * sizeof *t->start);
    t->kids = xmalloc((t->n + 1) * sizeof *t->kids);
    t->roots = xmalloc((t->n + 1) * sizeof *t->roots);
    for (size_t i = 0; i < t->n; i++)
        if (t->dparent[i] != NONE)
            t->nkids[t->dparent[i]]++;
        else
            t->roots[t->nroots++] = (uint32_t)i;
    for (size_t i = 0; i < t->n; i++) {
        t->start[i] = (uint32_t)acc;
        acc += t->nkids[i];
        t->nkids[i] = 0;
    }
    for (size_t r = 0; r < t->n; r++) {
        uint32_t i = t->byrank[r], p = t->dparent[i];

        if (p != NONE)
            t->kids[t->start[p] + t->nkids[p]++] = i;
    }
    free(t->byrank);
    t->byrank = NULL;
}

static int cmp_root(const void *pa, const void *pb, void *arg)
{
    const struct thr *t = arg;
    uint32_t a = *(const uint32_t *)pa, b = *(const uint32_t *)pb;
    int c = idx_msg_cmp(thr_msg(t, t->best[a]), thr_msg(t, t->best[b]), t->key);

    return t->rev ? -c : c;
}

/* Is a after b in the order of key (date: by rank)? */
static bool later(const struct thr *t, uint32_t a, uint32_t b)
{
    if (t->key == IDX_SORT_DATE)
        return t->rank[a] > t->rank[b];
    return idx_msg_cmp(thr_msg(t, a), thr_msg(t, b), t->key) > 0;
}

/* Each root's newest message in the order of key, over its thread (depth first). */
static void thread_newest(struct thr *t)
{
    uint32_t *stack = xmalloc((t->n + 1) * sizeof *stack);

    for (size_t r = 0; r < t->nroots; r++) {
        uint32_t root = t->roots[r], best = root;
        size_t sp = 0;

        stack[sp++] = root;
        while (sp > 0) {
            uint32_t i = stack[--sp];

            if (later(t, i, best))
                best = i;
            for (uint32_t k = 0; k < t->nkids[i]; k++)
                stack[sp++] = t->kids[t->start[i] + k];
        }
        t->best[root] = best;
    }
    free(stack);
}

/* Roots by the date rank of their representative: a pass over the ranks, no sort (the
 * same order as cmp_root for IDX_SORT_DATE, as ranks are distinct). */
static void sort_roots_by_date(struct thr *t)
{
    uint32_t *at = xmalloc((t->n + 1) * sizeof *at);
    size_t k = 0;

    memset(at, 0xff, (t->n + 1) * sizeof *at);
    for (size_t r = 0; r < t->nroots; r++)
        at[t->rank[t->best[t->roots[r]]]] = t->roots[r];
    for (size_t j = 0; j < t->n; j++) {
        uint32_t root = at[t->rev ? t->n - 1 - j : j];

        if (root != NONE)
            t->roots[k++] = root;
    }
    free(at);
}

/* 6. Threads in order of key applied to their representative: the newest message for date
 * and arrival, the root for the other keys. */
static void thr_order_roots(struct thr *t)
{
    t->best = xmalloc((t->n + 1) * sizeof *t->best);
    for (size_t r = 0; r < t->nroots; r++)
        t->best[t->roots[r]] = t->roots[r];
    if (t->key == IDX_SORT_DATE || t->key == IDX_SORT_ARRIVAL)
        thread_newest(t);
    if (t->key == IDX_SORT_DATE)
        sort_roots_by_date(t);
    else
        qsort_r(t->roots, t->nroots, sizeof *t->roots, cmp_root, t);
    free(t->m);              /* the rows need positions only */
    free(t->rank);
    t->m = NULL;
    t->rank = NULL;
}

/* 7. The rows: each thread depth first, children in date order. */
static void thr_emit(struct thr *t, struct thread_view *out)
{
    uint32_t *stack = xmalloc((t->n + 1) * sizeof *stack);
    uint32_t *rowof = xmalloc((t->n + 1) * sizeof *rowof);
    size_t nrows = 0;

    out->rows = xmalloc((t->n + 1) * sizeof *out->rows);
    for (size_t r = 0; r < t->nroots; r++) {
        size_t sp = 0;

        stack[sp++] = t->roots[r];
        while (sp > 0) {
            uint32_t i = stack[--sp], p = t->dparent[i];
            struct thread_row *row = &out->rows[nrows];

            rowof[i] = (uint32_t)nrows;
            row->msg = t->v[i];
            row->thread = (uint32_t)r;
            row->fake_parent = t->fake[i];
            if (p == NONE) {
                row->parent = NONE;
                row->depth = 0;
                row->last = true;
            } else {
                uint16_t d = out->rows[rowof[p]].depth;

                row->parent = rowof[p];
                row->depth = d < UINT16_MAX ? d + 1 : UINT16_MAX;
                row->last = t->kids[t->start[p] + t->nkids[p] - 1] == i;
            }
            nrows++;
            for (uint32_t k = t->nkids[i]; k > 0; k--)
                stack[sp++] = t->kids[t->start[i] + k - 1];
        }
    }
    out->n = nrows;
    free(stack);
    free(rowof);
}

void thread_view_free(struct thread_view *tv)
{
    free(tv->rows);
    tv->rows = NULL;
    tv->n = 0;
}

/*
 * Steps 0-7 above, one after the other over one context. At a million messages the work is
 * mostly waiting for memory, so two things run beside the main line: the entries of a large
 * view are read first by idx_read_all (cache blocks read and checked on several threads),
 * and the base subjects of step 4 are found on a second thread during steps 1-3.
 */
void thread_build(const struct idx *x, const uint32_t *v, size_t n, enum idx_sort key,
                  bool reverse, struct thread_view *out)
{
    struct thr t;

    memset(&t, 0, sizeof t);
    t.x = x;
    t.v = v;
    t.n = n;
    t.key = key;
    t.rev = reverse;
    /* most of the folder: read every entry first, its blocks on several threads */
    if (n >= 1024 && n >= idx_count(x) / 4)
        idx_read_all(x);
    thr_date_ranks(&t);
    thr_subjects_start(&t);
    thr_containers(&t);
    thr_link_refs(&t);
    thr_display_parents(&t);
    thr_subject_fallback(&t);
    thr_children(&t);
    thr_order_roots(&t);
    thr_emit(&t, out);
    free(t.m);
    free(t.rank);
    free(t.byrank);
    free(t.c);
    free(t.slots);
    free(t.mcont);
    free(t.dparent);
    free(t.fake);
    free(t.nkids);
    free(t.start);
    free(t.kids);
    free(t.roots);
    free(t.best);
    free(t.sb);
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

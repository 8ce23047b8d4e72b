/* Threads as a view over an index: JWZ's algorithm, in steps (see thread_build). */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "tern/index.h"
#include "tern/thread.h"
#include "tern/view.h"
#include "tern/xalloc.h"

#define NONE UINT32_MAX

struct cont {
    const char *id;
    size_t id_len;
    uint32_t msg;        /* index into the subset v[], or NONE for an empty container */
    uint32_t parent;
};

/* Everything thread_build's steps share; subset indexes are positions in v[]. */
struct thr {
    const struct idx *x;
    const uint32_t *v;
    size_t n;
    enum idx_sort key;
    bool rev;
    struct cont *c;          /* containers: one per message and per referenced id */
    size_t nc, cc;
    uint32_t *slots;         /* Message-ID -> container (open addressing) */
    size_t mask;
    uint32_t *mcont;         /* subset message -> its container */
    uint32_t *dparent;       /* display parent (subset index) or NONE */
    bool *fake;              /* the display parent is not the real one */
    uint32_t *nkids, *start, *kids;   /* children of each message, sorted by date */
    uint32_t *roots;
    size_t nroots;
    uint32_t *best;          /* per root: the message that places the thread */
};

/* Eight bytes a step: hashing two million message ids is a measurable part of threading a
 * million messages. */
static uint64_t id_hash(const char *s, size_t n)
{
    uint64_t h = 0xcbf29ce484222325ull ^ n;

    for (; n >= 8; s += 8, n -= 8) {
        uint64_t w;

        memcpy(&w, s, 8);
        h = (h ^ w) * 0x9E3779B97F4A7C15ull;
        h ^= h >> 31;
    }
    if (n > 0) {
        uint64_t w = 0;

        memcpy(&w, s, n);
        h = (h ^ w) * 0x9E3779B97F4A7C15ull;
    }
    return h ^ (h >> 29);
}

static uint32_t cont_new(struct thr *t, const char *id, size_t len)
{
    if (t->nc == t->cc) {
        t->cc *= 2;
        t->c = xreallocarray(t->c, t->cc, sizeof *t->c);
    }
    t->c[t->nc] = (struct cont){ id, len, NONE, NONE };
    return (uint32_t)t->nc++;
}

/* Find or create the container of id. */
static uint32_t id_get(struct thr *t, const char *id, size_t len)
{
    size_t h = (size_t)id_hash(id, len) & t->mask;

    while (t->slots[h] != NONE) {
        const struct cont *k = &t->c[t->slots[h]];

        if (k->id_len == len && memcmp(k->id, id, len) == 0)
            return t->slots[h];
        h = (h + 1) & t->mask;
    }
    t->slots[h] = cont_new(t, id, len);
    return t->slots[h];
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
    return idx_msg(t->x, t->v[i]);
}

/* 1. A container per message, keyed by Message-ID (duplicates and id-less get their own). */
static void thr_containers(struct thr *t)
{
    size_t slots;

    t->cc = t->n * 2 + 16;
    t->c = xmalloc(t->cc * sizeof *t->c);
    for (slots = 1024; slots < t->cc * 2; slots *= 2)
        ;
    t->slots = xmalloc(slots * sizeof *t->slots);
    memset(t->slots, 0xff, slots * sizeof *t->slots);
    t->mask = slots - 1;
    t->mcont = xmalloc((t->n + 1) * sizeof *t->mcont);
    for (size_t i = 0; i < t->n; i++) {
        const struct idx_msg *m = thr_msg(t, (uint32_t)i);
        uint32_t k = NONE;

        if (m->msgid[0]) {
            k = id_get(t, m->msgid, strlen(m->msgid));
            if (t->c[k].msg != NONE)
                k = NONE;
        }
        if (k == NONE)
            k = cont_new(t, "", 0);
        t->c[k].msg = (uint32_t)i;
        t->mcont[i] = k;
    }
}

/* 2. Link each References chain, then the message to its last reference (In-Reply-To
 * wins when References does not end with it). */
static void thr_link_refs(struct thr *t)
{
    for (size_t i = 0; i < t->n; i++) {
        const struct idx_msg *m = thr_msg(t, (uint32_t)i);
        const char *p = m->references;
        uint32_t prev = NONE;

        while (*p) {
            const char *q = strchr(p, ' ');
            size_t len = q ? (size_t)(q - p) : strlen(p);

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
        if (e != NONE && (leader[e] == NONE ||
                          idx_msg_cmp(thr_msg(t, (uint32_t)i), thr_msg(t, leader[e]),
                                      IDX_SORT_DATE) < 0))
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
}

/* 4. Subject fallback: a root whose subject is a reply joins the root that has the same
 * base subject and is not a reply (or the earliest such reply). */
static void thr_subject_fallback(struct thr *t)
{
    size_t sslots;
    uint32_t *st;
    const char **bases;

    for (sslots = 1024; sslots < t->n * 2 + 2; sslots *= 2)
        ;
    st = xmalloc(sslots * sizeof *st);
    memset(st, 0xff, sslots * sizeof *st);
    /* each root's base subject, found once (probes compare against it) */
    bases = xcalloc(t->n + 1, sizeof *bases);
    for (size_t i = 0; i < t->n; i++)
        if (t->dparent[i] == NONE)
            bases[i] = idx_subject_base(thr_msg(t, (uint32_t)i)->subject);
    for (int pass = 0; pass < 2; pass++) {
        for (size_t i = 0; i < t->n; i++) {
            const char *subj, *base;
            size_t bl, h;
            bool reply;

            if (t->dparent[i] != NONE)
                continue;
            subj = thr_msg(t, (uint32_t)i)->subject;
            base = bases[i];
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
                if (strcmp(bases[st[h]], base) == 0)
                    break;
                h = (h + 1) & (sslots - 1);
            }
            if (st[h] == NONE) {
                st[h] = (uint32_t)i;
            } else if (pass == 1 && st[h] != (uint32_t)i) {
                t->dparent[i] = st[h];
                t->fake[i] = true;
            }
        }
    }
    free(st);
    free(bases);
}

static int cmp_child(const void *pa, const void *pb, void *arg)
{
    const struct thr *t = arg;

    return idx_msg_cmp(thr_msg(t, *(const uint32_t *)pa), thr_msg(t, *(const uint32_t *)pb),
                       IDX_SORT_DATE);
}

/* 5. Children lists (sorted by date) and the list of roots. */
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
    for (size_t i = 0; i < t->n; i++) {
        uint32_t p = t->dparent[i];

        if (p != NONE)
            t->kids[t->start[p] + t->nkids[p]++] = (uint32_t)i;
    }
    for (size_t i = 0; i < t->n; i++)
        if (t->nkids[i] > 1)
            qsort_r(t->kids + t->start[i], t->nkids[i], sizeof *t->kids, cmp_child, t);
}

static int cmp_root(const void *pa, const void *pb, void *arg)
{
    const struct thr *t = arg;
    uint32_t a = *(const uint32_t *)pa, b = *(const uint32_t *)pb;
    int c = idx_msg_cmp(thr_msg(t, t->best[a]), thr_msg(t, t->best[b]), t->key);

    return t->rev ? -c : c;
}

/* A root with the numbers it is ordered by, copied: sorting a million roots then reads one
 * array instead of chasing every comparison into the entries. */
struct rootkey {
    int64_t date, mtime;
    uint32_t id, root;
};

static int cmp_rootkey(const void *pa, const void *pb, void *arg)
{
    const struct rootkey *a = pa, *b = pb;
    int c = a->date < b->date ? -1 : a->date > b->date;

    if (c == 0)
        c = a->mtime < b->mtime ? -1 : a->mtime > b->mtime;
    if (c == 0)
        c = a->id < b->id ? -1 : a->id > b->id;
    return *(const bool *)arg ? -c : c;
}

/* The same order as cmp_root for IDX_SORT_DATE (date, arrival, id). */
static void sort_roots_by_date(struct thr *t)
{
    struct rootkey *k = xmalloc((t->nroots + 1) * sizeof *k);

    for (size_t r = 0; r < t->nroots; r++) {
        const struct idx_msg *m = thr_msg(t, t->best[t->roots[r]]);

        k[r] = (struct rootkey){ m->date, m->mtime, m->id, t->roots[r] };
    }
    qsort_r(k, t->nroots, sizeof *k, cmp_rootkey, &t->rev);
    for (size_t r = 0; r < t->nroots; r++)
        t->roots[r] = k[r].root;
    free(k);
}

/* 6. Threads in order of key applied to their representative: the newest message for date
 * and arrival, the root for the other keys. */
static void thr_order_roots(struct thr *t)
{
    t->best = xmalloc((t->n + 1) * sizeof *t->best);
    for (size_t r = 0; r < t->nroots; r++)
        t->best[t->roots[r]] = t->roots[r];
    if (t->key == IDX_SORT_DATE || t->key == IDX_SORT_ARRIVAL) {
        for (size_t i = 0; i < t->n; i++) {
            uint32_t top = (uint32_t)i;
            size_t guard = 0;

            while (t->dparent[top] != NONE && guard++ < t->n)
                top = t->dparent[top];
            if (idx_msg_cmp(thr_msg(t, (uint32_t)i), thr_msg(t, t->best[top]), t->key) > 0)
                t->best[top] = (uint32_t)i;
        }
    }
    if (t->key == IDX_SORT_DATE) {
        sort_roots_by_date(t);
        return;
    }
    qsort_r(t->roots, t->nroots, sizeof *t->roots, cmp_root, t);
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
    thr_containers(&t);
    thr_link_refs(&t);
    thr_display_parents(&t);
    thr_subject_fallback(&t);
    thr_children(&t);
    thr_order_roots(&t);
    thr_emit(&t, out);
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

/*
 * The per-folder index: entries for the message list, brought up to date with the directory
 * (renamed files keep their data, only new files have their header block read, on several
 * threads), and the operations on messages. The cache file itself is idxfile.c.
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "index_int.h"
#include "tern/buf.h"
#include "tern/codec.h"
#include "tern/crypt.h"
#include "tern/fsutil.h"
#include "tern/parallel.h"
#include "tern/header.h"
#include "tern/index.h"
#include "tern/maildir.h"
#include "tern/str.h"
#include "tern/view.h"
#include "tern/xalloc.h"

#define IDX_FILE ".tern-index"

uint64_t idx_test_hash_mask = UINT64_MAX;

const char *idx_arena_strn(struct pctx *x, const char *s, size_t n)
{
    struct chunk *c = x->chunks;
    char *p;

    if (n == 0)
        return "";
    if (c == NULL || c->cap - c->used < n + 1) {
        size_t cap = n + 1 > 65536 ? n + 1 : 262144;

        c = xmalloc(sizeof *c + cap);
        c->used = 0;
        c->cap = cap;
        if (x->chunks && n + 1 > 65536) {
            /* a big string gets its own chunk behind the current one */
            c->next = x->chunks->next;
            x->chunks->next = c;
        } else {
            c->next = x->chunks;
            x->chunks = c;
        }
    }
    p = c->data + c->used;
    memcpy(p, s, n);
    p[n] = '\0';
    c->used += n + 1;
    return p;
}

const char *idx_arena_str(struct pctx *x, const char *s)
{
    return idx_arena_strn(x, s, strlen(s));
}

const char *idx_arena_take(struct pctx *x, char *s)
{
    const char *r = s ? idx_arena_str(x, s) : "";

    free(s);
    return r;
}

void idx_arena_free(struct pctx *x)
{
    while (x->chunks) {
        struct chunk *next = x->chunks->next;

        free(x->chunks);
        x->chunks = next;
    }
}

void idx_arena_splice(struct pctx *into, struct pctx *from)
{
    struct chunk *h = from->chunks, *t = h;

    free(from->rbuf);
    from->rbuf = NULL;
    from->chunks = NULL;
    if (h == NULL)
        return;
    while (t->next)
        t = t->next;
    /* behind into's current chunk, which its next strings go on filling */
    if (into->chunks == NULL) {
        into->chunks = h;
    } else {
        t->next = into->chunks->next;
        into->chunks->next = h;
    }
}

void idx_msg_set_name(struct idx_msg *m, const char *name, bool in_new)
{
    size_t ul;
    const char *fl = maildir_name_split(name, &ul);

    m->name = name;
    m->uniq_len = (uint16_t)(ul > UINT16_MAX ? UINT16_MAX : ul);
    m->flags = maildir_flags_bits(fl);
    m->in_new = in_new;
}

struct idx *idx_new_empty(const char *dir)
{
    struct idx *x = xcalloc(1, sizeof *x);

    x->dir = xstrdup(dir);
    x->cache_path = idx_cache_path(dir);
    x->fd = -1;
    x->next_id = 1;
    return x;
}

char *idx_cache_path(const char *dir)
{
    return fs_join(dir, IDX_FILE);
}

/*
 * Where the cache of a folder we cannot write to lives (a read-only archive):
 * $XDG_CACHE_HOME/tern/index/ (default ~/.cache) with the folder's real path as the name,
 * '/' written as '%'. NULL when there is no such place.
 */
static char *idx_fallback_path(const char *dir)
{
    const char *xdg = getenv("XDG_CACHE_HOME"), *home = getenv("HOME");
    char *real = realpath(dir, NULL), *base, *sub;
    struct buf name = BUF_INIT;
    struct err e;

    if (xdg && *xdg == '/')
        base = fs_join(xdg, "tern/index");
    else if (home && *home == '/')
        base = fs_join(home, ".cache/tern/index");
    else {
        free(real);
        return NULL;
    }
    for (const char *p = real ? real : dir; *p; p++)
        buf_addc(&name, *p == '/' ? '%' : *p);
    sub = fs_join(base, buf_cstr(&name));
    buf_free(&name);
    free(real);
    if (fs_mkdir_p(base, 0700, &e) < 0) {
        free(base);
        free(sub);
        return NULL;
    }
    free(base);
    return sub;
}

void idx_close(struct idx *x)
{
    if (x == NULL)
        return;
    idx_watch_free(x);
    free(x->ht);
    free(x->hc);
    free(x->hh);
    free(x->m);
    free(x->fpos);
    buf_free(&x->jbuf);
    free(x->jmem);
    idx_arena_free(&x->p);
    idx_unmap(x);
    free(x->p.rbuf);
    free(x->dir);
    free(x->cache_path);
    free(x);
}

size_t idx_count(const struct idx *x)
{
    return x->n;
}

/* Entries are filled from the mapped cache when first asked for: the struct is logically
 * const to callers, the fill is a cache. */
const struct idx_msg *idx_msg(const struct idx *x, size_t i)
{
    return idx_entry((struct idx *)x, i);
}

void idx_load_all(struct idx *x)
{
    idx_fill_mapped(x);
    x->nmapped = 0;     /* every entry is ready: no more bit tests */
}

void idx_reserve(struct idx *x, size_t want)
{
    size_t cap;

    if (x->cap >= want)
        return;
    cap = want + want / 8 + 1024;
    /* a large block is remapped, not copied: entries never filled stay untouched */
    x->m = xreallocarray(x->m, cap, sizeof *x->m);
    x->fpos = xreallocarray(x->fpos, cap, sizeof *x->fpos);
    x->cap = cap;
}

void idx_counts(const struct idx *x, struct idx_counts *out)
{
    *out = x->counts;
}

/* Add (d = 1) or remove (d = -1) m's share of the counts. */
static void count_msg(struct idx *x, const struct idx_msg *m, int d)
{
    size_t u = (size_t)(ptrdiff_t)d;    /* modular: adding (size_t)-1 subtracts one */

    x->counts.total += u;
    if (!(m->flags & MDF_SEEN))
        x->counts.unread += u;
    if (m->flags & MDF_FLAGGED)
        x->counts.flagged += u;
    if (m->in_new)
        x->counts.in_new += u;
    if (m->flags & MDF_TRASHED)
        x->counts.trashed += u;
}

void idx_append(struct idx *x, const struct idx_msg *m)
{
    struct idx_msg *to = &x->m[x->n++];

    *to = *m;
    to->id = x->next_id++;
    x->fpos[x->n - 1] = x->nfile++;
    idx_jnl_add(x, x->n - 1);
    count_msg(x, to, 1);
    x->stats.parsed++;
}

/* Mark entry m gone (moved or deleted by us, or found missing). */
static void mark_gone(struct idx *x, struct idx_msg *m)
{
    if (m->gone)
        return;
    count_msg(x, m, -1);
    m->gone = true;
    x->ngone++;
    x->dirty = true;
    idx_jnl_remove(x, (size_t)(m - x->m));
}

long idx_find_id(const struct idx *x, uint32_t id)
{
    /* ids grow with position (appends get new ids, compaction keeps order): binary search */
    size_t lo = 0, hi = x->n;

    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;

        if (idx_msg(x, mid)->id < id)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo < x->n && idx_msg(x, lo)->id == id && !idx_msg(x, lo)->gone)
        return (long)lo;
    return -1;
}

static char *msg_rel(const struct idx_msg *m)
{
    struct buf b = BUF_INIT;

    buf_adds(&b, m->in_new ? "new/" : "cur/");
    buf_adds(&b, m->name);
    return buf_detach(&b);
}

char *idx_path(const struct idx *x, size_t i)
{
    struct buf b = BUF_INIT;
    const struct idx_msg *m = idx_msg(x, i);

    buf_printf(&b, "%s/%s/%s", x->dir, m->in_new ? "new" : "cur", m->name);
    return buf_detach(&b);
}

const struct idx_stats *idx_stats(const struct idx *x)
{
    return &x->stats;
}

/* ---- bringing the entries up to date with the directory ---- */

static int64_t now_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static bool stamp_equal(const struct maildir_stamp *a, const struct maildir_stamp *b)
{
    return a->new_mtime == b->new_mtime && a->cur_mtime == b->cur_mtime;
}

/* Can the entries be trusted for the directory as it is now without reading it? */
bool idx_stamp_trusted(const struct maildir_stamp *was, int64_t listed_at,
                       const struct maildir_stamp *now)
{
    int64_t newest = now->new_mtime > now->cur_mtime ? now->new_mtime : now->cur_mtime;

    /* The listing must have happened a full second after the last change: a file system
     * with coarse timestamps could otherwise hide a change made in the same tick. */
    return stamp_equal(now, was) &&
           listed_at / 2 - newest / 2 >= 500000000LL;   /* halves: no overflow */
}

static bool stamp_current(const struct idx *x, const struct maildir_stamp *now)
{
    return x->have_stamp && idx_stamp_trusted(&x->stamp, x->listed_at, now);
}

/* ---- the name table: unique part -> position, kept across refreshes ---- */

#define SLOT_EMPTY UINT32_MAX

static void ht_put(struct idx *x, uint64_t h, uint32_t pos)
{
    size_t i = (size_t)h & x->ht_mask;

    while (x->ht[i].pos != SLOT_EMPTY)
        i = (i + 1) & x->ht_mask;
    x->ht[i].pos = pos;
    x->ht[i].tag = (uint32_t)(h >> 32);
}

/* Slots for the positions [0, hh_n), at most half full. */
static void ht_rebuild(struct idx *x)
{
    size_t cap;

    for (cap = 1024; cap < x->hh_n * 2 + 2; cap *= 2)
        ;
    free(x->ht);
    x->ht = xmalloc(cap * sizeof *x->ht);
    memset(x->ht, 0xff, cap * sizeof *x->ht);
    x->ht_mask = cap - 1;
    for (size_t i = 0; i < x->hh_n; i++)
        ht_put(x, x->hh[i], (uint32_t)i);
    x->ht_n = x->hh_n;
}

/* Forget the table (positions were renumbered from scratch). */
static void names_drop(struct idx *x)
{
    free(x->ht);
    free(x->hc);
    x->hc = NULL;
    x->ht = NULL;
    x->ht_n = x->hh_n = 0;
}

/*
 * Bring the table up to the entries [0, n): entries appended since (parsed, replayed) are
 * added. The first call takes the hashes of the cache file's records from the file (8 bytes
 * a message; no record is read), else reads every entry's name. Renames keep the unique
 * part, so they change nothing here.
 */
static void names_sync(struct idx *x)
{
    if (x->hh_n > x->n)
        names_drop(x);
    if (x->ht && x->hh_n == x->n)
        return;
    if (x->hh_cap < x->n) {
        x->hh_cap = x->n + x->n / 8 + 1024;
        x->hh = xreallocarray(x->hh, x->hh_cap, sizeof *x->hh);
    }
    if (x->hh_n == 0 && x->nmapped > 0) {
        free(x->hc);
        x->hc = xmalloc(x->nmapped * sizeof *x->hc);
        if (idx_file_hashes(x, x->hh, x->hc))
            x->hh_n = x->nmapped;
    }
    if (x->hh_n < x->nmapped)
        idx_load_all(x);
    for (size_t i = x->hh_n; i < x->n; i++) {
        const struct idx_msg *m = idx_entry(x, i);

        x->hh[i] = idx_uniq_hash(m->name, m->uniq_len);
    }
    x->hh_n = x->n;
    if (x->ht == NULL || x->hh_n * 2 + 2 > x->ht_mask + 1) {
        ht_rebuild(x);
        return;
    }
    for (size_t i = x->ht_n; i < x->hh_n; i++)
        ht_put(x, x->hh[i], (uint32_t)i);
    x->ht_n = x->hh_n;
}

const char *idx_entry_name(struct idx *x, size_t i, char *buf, size_t cap, bool *in_new)
{
    const struct idx_msg *m;

    if (idx_peek_name(x, i, buf, cap, in_new))
        return buf;
    m = idx_entry(x, i);
    *in_new = m->in_new;
    return m->name;
}

/* The live entry with unique part u (in new/ only, when new_only), else -1. The table is
 * current (names_sync). Only an entry whose whole hash matches is looked at, and an entry
 * not filled yet is not filled for it (its name is read from its record). */
static long names_find_h(struct idx *x, const char *u, size_t ul, uint64_t h, bool new_only)
{
    uint32_t tag = (uint32_t)(h >> 32);

    for (size_t i = (size_t)h & x->ht_mask; x->ht[i].pos != SLOT_EMPTY;
         i = (i + 1) & x->ht_mask) {
        uint32_t pos = x->ht[i].pos;
        char buf[512];
        const char *name;
        size_t nl;
        bool in_new;

        if (x->ht[i].tag != tag || x->hh[pos] != h || idx_is_gone(x, pos))
            continue;
        if (idx_ready(x, pos)) {
            const struct idx_msg *m = &x->m[pos];

            if (m->uniq_len == ul && memcmp(m->name, u, ul) == 0 && (!new_only || m->in_new))
                return pos;
            continue;
        }
        name = idx_entry_name(x, pos, buf, sizeof buf, &in_new);
        if (idx_is_gone(x, pos))
            continue;           /* filled just now, and found damaged */
        maildir_name_split(name, &nl);
        if (nl != ul || memcmp(name, u, ul) != 0 || (new_only && !in_new))
            continue;
        return pos;
    }
    return -1;
}

static long names_find(struct idx *x, const char *u, size_t ul, bool new_only)
{
    return names_find_h(x, u, ul, idx_uniq_hash(u, ul), new_only);
}

long idx_name_find(struct idx *x, const char *u, size_t ul)
{
    names_sync(x);
    return names_find(x, u, ul, false);
}

/* The directory that alone changed since the last listing, -1 when both may have: only new/
 * (0: a delivery, or another client that removed a message from new/) or only cur/ (1:
 * flags changed by another client): the other need not be read again. */
static int only_changed(const struct idx *x, const struct maildir_stamp *now)
{
    if (!x->have_stamp)
        return -1;
    if (now->cur_mtime == x->stamp.cur_mtime &&
        x->listed_at / 2 - now->cur_mtime / 2 >= 500000000LL)
        return 0;
    if (now->new_mtime == x->stamp.new_mtime &&
        x->listed_at / 2 - now->new_mtime / 2 >= 500000000LL)
        return 1;
    return -1;
}

/* Start over from the messages (the cache turned out damaged after open). */
static void idx_reset(struct idx *x)
{
    idx_load_all(x);
    x->n = 0;
    x->ngone = 0;
    x->have_stamp = false;
    x->damaged = false;
    x->sorted = 0;
    x->jok = false;             /* the next save rewrites the cache */
    x->nfile = 0;
    memset(&x->counts, 0, sizeof x->counts);
    names_drop(x);
}

/* Up to this many entries, compacting is always done ($TERN_INDEX_COMPACT_MAX for tests). */
#define COMPACT_EAGER 16384

static size_t compact_eager(void)
{
    return (size_t)str_env_long("TERN_INDEX_COMPACT_MAX", 0, 1L << 30, COMPACT_EAGER);
}

/*
 * Is dropping the gone entries worth it now? Compacting renumbers the entries, and an entry
 * not filled yet is known by its number in the cache file: every entry is filled first. In a
 * large folder whose entries are not all filled, that is the whole cache read for a few
 * removals: the gone entries stay in place, hidden (the views and the watch skip them),
 * until they are an eighth of the folder, everything is filled anyway, or the cache is
 * rewritten without them.
 */
static bool compact_worth(const struct idx *x)
{
    return x->nmapped == 0 || x->n <= compact_eager() || x->ngone >= x->n / 8;
}

/* Drop the entries marked gone (positions change), when that is worth it. */
static bool compact(struct idx *x)
{
    size_t o = 0;

    if (x->ngone == 0 || !compact_worth(x))
        return false;
    idx_load_all(x);
    for (size_t i = 0; i < x->n; i++) {
        if (i == x->sorted)
            x->sorted = o;      /* the sorted prefix keeps its order, minus the gone */
        if (x->m[i].gone)
            continue;
        if (o != i) {
            x->m[o] = x->m[i];
            x->fpos[o] = x->fpos[i];
            if (i < x->hh_n)
                x->hh[o] = x->hh[i];
        }
        o++;
    }
    /* the table keeps the names' hashes: renumbering reads no entry */
    if (x->hh_n == x->n) {
        x->hh_n = o;
        ht_rebuild(x);
    } else {
        names_drop(x);
    }
    if (x->sorted >= x->n)
        x->sorted = o;
    x->n = o;
    x->ngone = x->ngone_replayed = 0;
    x->dirty = true;
    return true;
}

/* Entry i, named was until now (when it is not filled), moved to name: counts, journal. */
static void entry_renamed(struct idx *x, size_t i, const char *was, bool was_new,
                          const char *name, bool in_new)
{
    if (!idx_ready(x, i)) {
        /* not filled yet: the counts from the two names, the name kept for when it is */
        struct idx_msg a, b;
        const char *nm = idx_arena_str(&x->p, name);

        memset(&a, 0, sizeof a);
        memset(&b, 0, sizeof b);
        idx_msg_set_name(&a, was, was_new);
        idx_msg_set_name(&b, nm, in_new);
        count_msg(x, &a, -1);
        count_msg(x, &b, 1);
        idx_rename_unread(x, i, nm, in_new);
        idx_jnl_rename_to(x, i, nm, in_new);
    } else {
        struct idx_msg *m = &x->m[i];

        count_msg(x, m, -1);
        idx_msg_set_name(m, idx_arena_str(&x->p, name), in_new);
        count_msg(x, m, 1);
        idx_jnl_rename(x, i);
    }
    x->stats.renamed++;
    x->dirty = true;
}

void idx_entry_renamed(struct idx *x, size_t i, const char *name, bool in_new)
{
    char buf[512];
    bool was_new;
    const char *was = idx_entry_name(x, i, buf, sizeof buf, &was_new);

    entry_renamed(x, i, was, was_new, name, in_new);
}

/* A listed name, looked up in batches: what each lookup touches (its slot, the entry or its
 * name check, the entry's name: three cache misses in a large folder) is fetched for the
 * whole batch first, so that the misses overlap instead of following one another. */
#define LIST_BATCH 32

struct lname {
    uint64_t h;
    size_t ul, len;
    long cand;                  /* the entry of the first slot whose tag matches, or -1 */
    char name[256];
};

static void prefetch_batch(const struct idx *x, struct lname *b, size_t n)
{
    for (size_t k = 0; k < n; k++)
        __builtin_prefetch(&x->ht[b[k].h & x->ht_mask]);
    for (size_t k = 0; k < n; k++) {
        uint32_t tag = (uint32_t)(b[k].h >> 32);

        b[k].cand = -1;
        for (size_t i = b[k].h & x->ht_mask; x->ht[i].pos != SLOT_EMPTY;
             i = (i + 1) & x->ht_mask)
            if (x->ht[i].tag == tag) {
                b[k].cand = x->ht[i].pos;
                __builtin_prefetch(&x->hh[b[k].cand]);
                if (idx_ready(x, (size_t)b[k].cand))
                    __builtin_prefetch(&x->m[b[k].cand]);
                else
                    __builtin_prefetch(&x->hc[b[k].cand]);
                break;
            }
    }
    for (size_t k = 0; k < n; k++)
        if (b[k].cand >= 0 && idx_ready(x, (size_t)b[k].cand))
            __builtin_prefetch(x->m[b[k].cand].name);
}

/* Does entry pos, whose name is name (in new/ when nm_new), match the listed l (in new/ when
 * l_new; an entry of the other directory only when not sub_only)? *same when not renamed. */
static bool name_match(const struct lname *l, bool l_new, bool sub_only, const char *name,
                       size_t nl, bool nm_new, bool *same)
{
    if (nl != l->ul || memcmp(name, l->name, nl) != 0 || (sub_only && nm_new != l_new))
        return false;
    *same = nm_new == l_new && strcmp(name, l->name) == 0;
    return true;
}

/*
 * The live entry that the listed name l (in new/ when l_new) is, -1 when none; *same when
 * it was not renamed. An entry not filled yet is not filled for it: when its name check (the
 * file's, or its pending rename's name) says its whole name is unchanged, its hash is
 * enough; otherwise (a rename: few of them) its name is read from its record, so that a
 * hash shared by two names is told apart. For a renamed entry not filled, *was and *was_new
 * are its name until now (in buf).
 */
static long list_find(struct idx *x, const struct lname *l, bool l_new, bool sub_only,
                      bool *same, char *buf, size_t cap, const char **was, bool *was_new)
{
    uint32_t tag = (uint32_t)(l->h >> 32), chk = 0;
    bool have_chk = false;

    for (size_t i = (size_t)l->h & x->ht_mask; x->ht[i].pos != SLOT_EMPTY;
         i = (i + 1) & x->ht_mask) {
        uint32_t pos = x->ht[i].pos;
        const char *name;
        size_t nl;
        bool in_new;

        if (x->ht[i].tag != tag || x->hh[pos] != l->h || idx_is_gone(x, pos))
            continue;
        if (idx_ready(x, pos)) {
            const struct idx_msg *m = &x->m[pos];

            if (name_match(l, l_new, sub_only, m->name, m->uniq_len, m->in_new, same))
                return pos;
            continue;
        }
        if (!idx_pending_name(x, pos, &name, &in_new)) {
            if (!have_chk) {
                chk = idx_name_check_n(l->name, l->len, l_new);
                have_chk = true;
            }
            if (x->hc[pos] == chk) {
                *same = true;
                return pos;
            }
            name = idx_entry_name(x, pos, buf, cap, &in_new);
            if (idx_is_gone(x, pos))
                continue;       /* filled just now, and found damaged */
        }
        maildir_name_split(name, &nl);
        if (name_match(l, l_new, sub_only, name, nl, in_new, same)) {
            *was = name;
            *was_new = in_new;
            return pos;
        }
    }
    return -1;
}

/* Is entry i in new/ (without filling it)? */
static bool entry_in_new(const struct idx *x, size_t i)
{
    const char *name;
    bool in_new;

    if (idx_ready(x, i))
        return x->m[i].in_new;
    if (idx_pending_name(x, i, &name, &in_new))
        return in_new;
    return x->hc[i] & 1;
}

/* One listed name of sub s: a known one is marked seen (a renamed one takes its new name),
 * an unknown one is fed to be read. */
static void list_one(struct idx *x, int s, bool partial, const struct lname *l,
                     unsigned char *seen, struct idx_feed *feed, bool *changed)
{
    /* only one directory read: a name there matches only an entry of it (the same message
     * also in the other is a second link, listed twice as before) */
    bool same = false, was_new = false;
    char buf[512];
    const char *was = NULL;
    long pos = list_find(x, l, s == 0, partial, &same, buf, sizeof buf, &was, &was_new);

    if (pos >= 0 && !seen[pos]) {
        seen[pos] = 1;
        if (!same) {
            entry_renamed(x, (size_t)pos, was, was_new, l->name, s == 0);
            *changed = true;
        }
        return;
    }
    if (pos >= 0)
        return;     /* the same message twice (caught mid-rename): keep one */
    idx_feed_add(feed, l->name, l->len, s == 0);
}

/* Read the directory sub (0 new, 1 cur): known names are marked seen (renamed ones take
 * their new name), unknown ones are fed to be read. -1 when it cannot be read. */
static int list_sub(struct idx *x, int s, bool partial, unsigned char *seen,
                    struct idx_feed *feed, bool *changed,
                    struct err *e)
{
    static const char *const subs[] = { "new", "cur" };
    char *sub = fs_join(x->dir, subs[s]);
    DIR *d = opendir(sub);
    struct dirent *de = NULL;
    struct lname *b;

    if (d == NULL) {
        err_sys(e, "%s", sub);
        free(sub);
        return -1;
    }
    free(sub);
    b = xmalloc(LIST_BATCH * sizeof *b);
    do {
        size_t n = 0;

        while (n < LIST_BATCH && (de = readdir(d)) != NULL) {
            size_t len = strlen(de->d_name);

            size_t ul = len;

            if (de->d_name[0] == '.' || len >= sizeof b[n].name)
                continue;
            memcpy(b[n].name, de->d_name, len + 1);
            /* maildir_name_split's rule (up to the last ':'), with the length known */
            while (ul > 0 && b[n].name[ul - 1] != ':')
                ul--;
            b[n].ul = ul > 0 ? ul - 1 : len;
            b[n].len = len;
            b[n].h = idx_uniq_hash(b[n].name, b[n].ul);
            n++;
        }
        prefetch_batch(x, b, n);
        for (size_t k = 0; k < n; k++)
            list_one(x, s, partial, &b[k], seen, feed, changed);
    } while (de != NULL);
    free(b);
    closedir(d);
    return 0;
}

void idx_entry_gone(struct idx *x, size_t i)
{
    struct idx_msg *m = idx_entry(x, i);

    if (m->gone)
        return;
    mark_gone(x, m);
    x->stats.removed++;
}

/*
 * Read new/ (and cur/ unless only new/ changed), keep entries whose file still exists
 * (renamed ones keep their data), drop the others, parse the newcomers.
 */
static int list_dirs(struct idx *x, const struct maildir_stamp *now, bool *changed,
                     struct err *e)
{
    unsigned char *seen;
    struct idx_feed *feed;
    int64_t listed_at;
    int only = only_changed(x, now);
    bool partial = only >= 0;

    x->stats.listed = true;
    x->stats.new_only = only == 0;
    x->stats.cur_only = only == 1;
    listed_at = now_ns();
    names_sync(x);
    seen = xcalloc(x->n + 1, 1);
    feed = idx_feed_start(x);   /* the newcomers are read while the listing goes on */
    for (int s = 0; s < 2; s++) {
        if (partial && s != only)
            continue;
        if (list_sub(x, s, partial, seen, feed, changed, e) < 0) {
            free(seen);
            idx_feed_abandon(feed);
            return -1;
        }
    }
    /* the entries not seen are gone (only those of the directory read, when only one was): only
     * they are filled, for their share of the counts */
    for (size_t i = 0; i < x->n; i++)
        if (!seen[i] && !idx_is_gone(x, i) && (!partial || entry_in_new(x, i) == (only == 0)))
            idx_entry_gone(x, i);
    free(seen);
    x->stamp = *now;
    x->listed_at = listed_at;
    x->have_stamp = true;
    idx_feed_finish(feed, changed);
    x->dirty = true;    /* at least the stamp is new */
    if (compact(x))
        *changed = true;
    return 0;
}

/*
 * Bring the entries up to date: from the watch's events when it has a watch that lost
 * nothing (watch_only: stop there, 2, when it cannot), else from the stamp or a listing.
 * Returns 1 when anything changed, 0, 2 or -1.
 */
static int idx_sync_mode(struct idx *x, bool watch_only, struct err *e)
{
    struct maildir_stamp now;
    bool changed = false;

    x->stats.listed = x->stats.new_only = x->stats.cur_only = x->stats.watched = false;
    x->stats.parsed = x->stats.renamed = x->stats.removed = x->stats.vanished = 0;
    x->stats.events = 0;
    if (watch_only && (x->watch == NULL || x->damaged))
        return 2;
    if (maildir_stamp(x->dir, &now, e) < 0)
        return err_prefix(e, "not a Maildir");
    if (x->damaged) {
        idx_reset(x);
        changed = true;
    }
    if (x->watch) {
        /* the stamp was taken before the events were read: every change it shows that is
         * more than a second old has its events among them (idx_fresh's rule for others) */
        int64_t t = now_ns();

        if (idx_watch_apply(x, &changed) == 0) {
            x->stats.watched = true;
            if (!x->have_stamp || !stamp_equal(&x->stamp, &now) || changed)
                x->dirty = true;
            x->stamp = now;
            x->listed_at = t;
            x->have_stamp = true;
            if (x->ngone > x->ngone_replayed && compact(x))
                changed = true;
            return changed ? 1 : 0;
        }
        if (watch_only)
            return 2;   /* what was applied is true; the rest needs the listing */
    }
    if (stamp_current(x, &now)) {
        /* drop what our own operations marked gone; removals replayed from the journal
         * stay hidden until the next listing (compacting reads every entry) */
        if (x->ngone > x->ngone_replayed && compact(x))
            changed = true;
    } else if (list_dirs(x, &now, &changed, e) < 0) {
        return -1;
    }
    idx_watch_verified(x);
    return changed ? 1 : 0;
}

static int idx_sync(struct idx *x, struct err *e)
{
    return idx_sync_mode(x, false, e);
}

/* ---- open, refresh ---- */

/* Where idx_open keeps dir's cache: in the folder, or the fallback for a read-only one. */
char *idx_cache_for(const char *dir, int flags)
{
    if (access(dir, W_OK) != 0 && !(flags & IDX_NO_SAVE)) {
        char *alt = idx_fallback_path(dir);

        if (alt)
            return alt;
    }
    return idx_cache_path(dir);
}

int idx_open(const char *dir, int flags, struct idx **out, struct err *e)
{
    struct idx *x;
    struct err ignored;

    *out = NULL;
    if (!maildir_is_maildir(dir))
        return err_set(e, ERR_SYS, "%s: not a Maildir (no cur/ and new/)", dir);
    x = idx_new_empty(dir);
    x->oflags = flags;
    free(x->cache_path);
    x->cache_path = idx_cache_for(dir, flags);
    if (!(flags & IDX_NO_CACHE))
        idx_load_cache(x);
    /* armed before the first stamp check: nothing that happens after it is missed */
    if (flags & IDX_WATCH)
        (void)idx_watch_start(x);
    if (idx_sync(x, e) < 0) {
        idx_close(x);
        return -1;
    }
    if (x->stats.cache_bad)
        x->dirty = true;
    /* a cache we cannot write is not an error, but --stats must not call it ok */
    x->stats.unsaved = idx_save(x, &ignored) < 0;
    *out = x;
    return 0;
}

int idx_refresh(struct idx *x, struct err *e)
{
    struct err ignored;
    int rc = idx_sync(x, e);

    if (rc >= 0)
        x->stats.unsaved = idx_save(x, &ignored) < 0;
    return rc;
}

int idx_add_new(struct idx *x, char *const *names, size_t n)
{
    struct idx_pending *p = xcalloc(n + 1, sizeof *p);
    size_t np = 0, before = x->n;
    bool changed = false;
    struct err ignored;

    x->stats.parsed = x->stats.vanished = 0;
    if (x->damaged)
        n = 0;                  /* the refresh rebuilds from the directories */
    for (size_t i = 0; i < n; i++) {
        size_t ul;

        if (names[i][0] == '.' || names[i][0] == '\0' || strchr(names[i], '/') != NULL)
            continue;
        maildir_name_split(names[i], &ul);
        names_sync(x);
        if (names_find(x, names[i], ul, false) >= 0)
            continue;
        for (size_t k = 0; k < np && ul; k++)
            if (strcmp(p[k].name, names[i]) == 0)
                ul = 0;         /* told twice */
        if (ul == 0)
            continue;
        p[np].name = xstrdup(names[i]);
        p[np].in_new = true;
        np++;
    }
    idx_add_files(x, p, np, &changed);
    free(p);
    if (x->n == before)
        return 0;
    x->dirty = true;
    x->stats.unsaved = idx_save(x, &ignored) < 0;
    return 1;
}

int idx_refresh_watched(struct idx *x, struct err *e)
{
    struct err ignored;
    int rc = idx_sync_mode(x, true, e);

    if (rc == 0 || rc == 1)
        x->stats.unsaved = idx_save(x, &ignored) < 0;
    return rc;
}

/* ---- operations ---- */

static int op_result(struct idx *x, size_t i, int rc)
{
    if (rc == 1)
        mark_gone(x, &x->m[i]);
    return rc;
}

static int idx_rename_op(struct idx *x, size_t i, const char *add, const char *del, bool cur_only,
                         struct err *e)
{
    struct idx_msg *m = idx_entry(x, i);
    char *rel, *nrel = NULL;
    int rc;

    if (m->gone)
        return 1;
    rel = msg_rel(m);
    rc = cur_only ? maildir_mark_cur(x->dir, rel, &nrel, e)
                  : maildir_set_flags(x->dir, rel, add, del, &nrel, e);
    free(rel);
    if (rc == 0) {
        bool in_new = str_startswith(nrel, "new/");

        if (strcmp(nrel + 4, m->name) != 0 || in_new != m->in_new) {
            count_msg(x, m, -1);
            idx_msg_set_name(m, idx_arena_str(&x->p, nrel + 4), in_new);
            count_msg(x, m, 1);
            idx_jnl_rename(x, i);
            x->dirty = true;
        }
    }
    free(nrel);
    return op_result(x, i, rc);
}

int idx_set_flags(struct idx *x, size_t i, const char *add, const char *del, struct err *e)
{
    return idx_rename_op(x, i, add, del, false, e);
}

int idx_mark_cur(struct idx *x, size_t i, struct err *e)
{
    const struct idx_msg *m = idx_entry(x, i);

    if (!m->in_new)
        return m->gone ? 1 : 0;
    return idx_rename_op(x, i, NULL, NULL, true, e);
}

/* maildir_move, maildir_copy or maildir_delete. */
typedef int maildir_transfer(const char *dir, const char *rel, const char *dst_dir,
                             char **new_rel, struct err *e);

/* Message i moved, copied or deleted by fn; with leaves, the folder no longer has it. */
static int idx_transfer(struct idx *x, size_t i, maildir_transfer *fn, const char *dst_dir,
                        bool leaves, struct err *e)
{
    struct idx_msg *m = idx_entry(x, i);
    char *rel = msg_rel(m);
    int rc = m->gone ? 1 : fn(x->dir, rel, dst_dir, NULL, e);

    free(rel);
    if (rc == 0 && leaves)
        mark_gone(x, m);
    return op_result(x, i, rc);
}

int idx_move(struct idx *x, size_t i, const char *dst_dir, struct err *e)
{
    struct stat a, b;
    /* moving into the same folder is a no-op, not a removal */
    bool same = stat(x->dir, &a) == 0 && stat(dst_dir, &b) == 0 && a.st_dev == b.st_dev &&
                a.st_ino == b.st_ino;

    return idx_transfer(x, i, maildir_move, dst_dir, !same, e);
}

int idx_copy(struct idx *x, size_t i, const char *dst_dir, struct err *e)
{
    return idx_transfer(x, i, maildir_copy, dst_dir, false, e);
}

int idx_delete(struct idx *x, size_t i, const char *trash_dir, struct err *e)
{
    return idx_transfer(x, i, maildir_delete, trash_dir, true, e);
}

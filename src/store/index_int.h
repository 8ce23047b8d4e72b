/*
 * What the index's parts share: index.c (open, directory synchronisation, parsing,
 * operations), idxfile.c (the cache file format) and idxwatch.c (the folder's watch). Not
 * for use outside src/store (the fuzz target reads the file readers it declares).
 */
#ifndef TERN_STORE_INDEX_INT_H
#define TERN_STORE_INDEX_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "tern/buf.h"
#include "tern/index.h"
#include "tern/maildir.h"
#include "tern/str.h"

/* Strings live in the mapped file or in chunks that never move. */
struct chunk {
    struct chunk *next;
    size_t used, cap;
    char data[];
};

/* What parsing needs of its own: string storage and a read buffer (one per thread). */
struct pctx {
    struct chunk *chunks;
    char *rbuf;
    size_t rbuf_cap;
};

enum { BLK_UNCHECKED = 0, BLK_GOOD, BLK_BAD };

/* A block of the cache file as read: its records, and its strings (string table offsets
 * [str_lo, str_hi) at str). */
/* A rename replayed from the journal for an entry not read yet: applied when it is read. */
struct jren {
    uint32_t key;       /* position + 1; 0 for an empty slot */
    uint32_t in_new;
    const char *name;
};

struct blkmem {
    const char *rec, *str;
    uint64_t str_lo, str_hi;
    char *own;          /* the memory read into (NULL for an image) */
};

struct idx {
    char *dir;
    char *cache_path;
    int oflags;
    struct idx_msg *m;
    size_t n, cap;
    uint32_t next_id;
    struct pctx p;
    int fd;                             /* the cache file, read block by block */
    const char *img;                    /* or an image in memory (fuzz target, tests) */
    size_t img_len;
    struct maildir_stamp stamp;
    int64_t listed_at;
    bool have_stamp;
    bool dirty;
    struct idx_stats stats;
    /* Entries [0, nmapped) come from the mapped cache and are filled from their record when
     * first used (idx_entry); ready has a bit per such entry. */
    size_t nmapped;
    uint64_t *ready;
    char *blktab;                       /* the block table */
    struct blkmem *blk_mem;             /* per block, once read */
    uint64_t recs_off, strtab_off, strtab_size;
    uint64_t hash_off, hash_sum;        /* the name hashes of the records */
    uint32_t blk_recs, nblocks;
    unsigned char *blk_state;           /* BLK_* per block */
    bool verify;                        /* check block checksums (not for the fuzz target) */
    bool damaged;                       /* a block failed its check: rebuild on refresh */
    size_t sorted;                      /* positions [0, sorted) are in date order (as
                                           stored); later ones were appended since */
    size_t ngone;                       /* entries marked gone, not yet compacted away */
    size_t ngone_replayed;              /* of them, removals replayed from the journal */
    struct idx_counts counts;
    /* The journal (idxfile.c): changes since the cache file was written, appended to
     * CACHE.log instead of rewriting the cache. Entries are named there by their file
     * position: the record number in the cache file, then numbers for entries added since. */
    uint32_t *fpos;                     /* per position, its file position */
    uint32_t nfile;                     /* the next file position to give */
    struct buf jbuf;                    /* journal entries not yet written */
    char *jmem;                         /* the journal as read (added entries' strings) */
    uint64_t base_sum;                  /* identity of the cache file the journal extends */
    uint64_t base_size, jsize;
    uint32_t base_count;
    bool jok;                           /* appending to the journal is possible */
    struct jren *jren;                  /* replayed renames of entries not read yet */
    size_t jren_n, jren_cap;
    uint64_t *jgone;                    /* replayed removals of entries not read yet */
    bool replaying;
    /* The name table (index.c): the unique part of every entry's file name -> its position,
     * kept across refreshes. hh has the hash of positions [0, hh_n); ht is an open-addressing
     * table over them whose slots carry the hash's high half, so a miss compares no name. */
    struct idx_slot *ht;
    size_t ht_mask, ht_n;
    uint64_t *hh;
    size_t hh_n, hh_cap;
    uint32_t *hc;                       /* idx_name_check of the records [0, nmapped) as the
                                           file has them (renames since are in jren) */
    struct idx_watch *watch;            /* idxwatch.c: inotify on new/ and cur/, or NULL */
};

struct idx_slot {
    uint32_t pos;                       /* UINT32_MAX: empty */
    uint32_t tag;                       /* the hash's high 32 bits */
};

const char *idx_arena_strn(struct pctx *x, const char *s, size_t n);
const char *idx_arena_str(struct pctx *x, const char *s);
/* Take ownership of a malloc'd string: copy into the arena, free it. */
const char *idx_arena_take(struct pctx *x, char *s);
void idx_arena_free(struct pctx *x);
/* Give from's strings to into (a thread's, kept by the index); from is left empty. */
void idx_arena_splice(struct pctx *into, struct pctx *from);
/* Set name, uniq_len, flags and in_new from a file name (name already stable storage). */
void idx_msg_set_name(struct idx_msg *m, const char *name, bool in_new);

/* idxfile.c: open and load x->cache_path; on any problem leave x empty and set
 * stats.cache_bad (the caller rebuilds). */
void idx_load_cache(struct idx *x);
/* Free the blocks read and close the cache file (at idx_close only: entries point there). */
void idx_unmap(struct idx *x);
/* Fill entry i (< nmapped) from its record (checking its block first). */
void idx_load_rec(struct idx *x, size_t i);
/* Fill every entry [0, nmapped) not filled yet, blocks read and checked on several threads
 * for a large cache (idx_load_all's work). */
void idx_fill_mapped(struct idx *x);
/* Drop what idx_load_image set up (the map itself stays until idx_unmap). */
void idx_forget_map(struct idx *x);

static inline bool idx_ready(const struct idx *x, size_t i)
{
    return i >= x->nmapped || (x->ready[i / 64] >> (i % 64) & 1);
}

/* Entry i, filled. */
static inline struct idx_msg *idx_entry(struct idx *x, size_t i)
{
    if (!idx_ready(x, i))
        idx_load_rec(x, i);
    return &x->m[i];
}

/* Entry i is gone, without filling it (an entry not yet used is gone only when the journal
 * said so). */
static inline bool idx_is_gone(const struct idx *x, size_t i)
{
    if (idx_ready(x, i))
        return x->m[i].gone;
    return x->jgone && (x->jgone[i / 64] >> (i % 64) & 1);
}

/* The name hashes and name checks of the records [0, nmapped) into out and chk, checked:
 * false when there are none or they cannot be read or trusted (the entries are read
 * instead). */
bool idx_file_hashes(struct idx *x, uint64_t *out, uint32_t *chk);
/* The name entry i (not filled yet) takes when it is filled: false when it keeps its
 * record's. */
bool idx_pending_name(const struct idx *x, size_t i, const char **name, bool *in_new);

/* Tests: the bits of a name's hash that are kept (all of them but in tests), so that
 * names collide on purpose. */
extern uint64_t idx_test_hash_mask;

/* The hash of a file name's unique part (the name table, the cache file). */
static inline uint64_t idx_uniq_hash(const char *u, size_t ul)
{
    return str_hash(u, ul) & idx_test_hash_mask;
}

/* A 32-bit check of a whole file name and its directory (the low bit: in new/): a listed
 * name whose entry has the same check was not renamed. */
static inline uint32_t idx_name_check_n(const char *name, size_t len, bool in_new)
{
    return ((uint32_t)str_hash(name, len) & ~1u) | (in_new ? 1u : 0u);
}

static inline uint32_t idx_name_check(const char *name, bool in_new)
{
    return idx_name_check_n(name, strlen(name), in_new);
}

/* index.c: the stamp rule (was, listed at listed_at, still describes the directories now). */
bool idx_stamp_trusted(const struct maildir_stamp *was, int64_t listed_at,
                       const struct maildir_stamp *now);
/* Where idx_open keeps dir's cache: in the folder, or the fallback for a read-only one. */
char *idx_cache_for(const char *dir, int flags);

/* The date order's numbers of entry i without filling it (a record's 64 bytes at most are
 * read, not its block): for merging new mail into the stored order. */
void idx_peek(struct idx *x, size_t i, int64_t *date, int64_t *mtime, uint32_t *id);

/* Fill every entry (before anything that walks or moves all of them). */
void idx_load_all(struct idx *x);
/* Room for want entries (and their file positions). */
void idx_reserve(struct idx *x, size_t want);

/* Journal entries for what just happened to entry i (nothing when not journaling). */
void idx_jnl_rename(struct idx *x, size_t i);
void idx_jnl_rename_to(struct idx *x, size_t i, const char *name, bool in_new);
/* The current file name of entry i not filled yet (its pending rename, else its record's
 * name read from the file, unchecked: the block is checked when the entry is filled) into
 * out; false when the entry is filled or the name cannot be read. */
bool idx_peek_name(struct idx *x, size_t i, char *out, size_t cap, bool *in_new);
/* Entry i, not filled yet, takes name (stable storage) when it is filled. */
void idx_rename_unread(struct idx *x, size_t i, const char *name, bool in_new);
void idx_jnl_remove(struct idx *x, size_t i);
void idx_jnl_add(struct idx *x, size_t i);

/* index.c, for the watch: the position of the live entry whose unique part is u (ul bytes),
 * -1 when none; the entry may not be filled (the first call reads the names' hashes). */
long idx_name_find(struct idx *x, const char *u, size_t ul);
/* The current file name of entry i, filled or not (in buf when it is read from the record). */
const char *idx_entry_name(struct idx *x, size_t i, char *buf, size_t cap, bool *in_new);
/* Entry i moved to name (in new/ when in_new) or left: counts, journal, dirty. */
void idx_entry_renamed(struct idx *x, size_t i, const char *name, bool in_new);
void idx_entry_gone(struct idx *x, size_t i);
/* index.c: append a new entry (read from its file): its id, counts and journal record. The
 * caller has reserved the room. */
void idx_append(struct idx *x, const struct idx_msg *m);

/* idxparse.c: new files read into entries, on threads from 1,000 files on, while the caller
 * goes on listing. idx_feed_add copies a name (in new/ when in_new) to be read;
 * idx_feed_finish waits for them all and appends the entries in the order the names were
 * added (files gone meanwhile are left out); idx_feed_abandon stops and appends nothing.
 * Both free the feed. */
struct idx_feed;
struct idx_feed *idx_feed_start(struct idx *x);
void idx_feed_add(struct idx_feed *f, const char *name, size_t len, bool in_new);
void idx_feed_finish(struct idx_feed *f, bool *changed);
void idx_feed_abandon(struct idx_feed *f);
/* The same for a list of names, each freed. */
struct idx_pending {
    char *name;
    bool in_new;
};
void idx_add_files(struct idx *x, struct idx_pending *p, size_t n, bool *changed);

/* idxwatch.c: the watch's side of a refresh. Drain what the kernel queued (and what tests
 * injected) and apply it: 0 when the entries now reflect the directories, 1 when that is not
 * known (events lost, a watched directory gone, the watch not yet verified): list them. */
int idx_watch_apply(struct idx *x, bool *changed);
/* Arm the watch (idx_open with IDX_WATCH): 0, or -1 when there is none to be had (not
 * Linux, no inotify, a file system whose changes it would not see). */
int idx_watch_start(struct idx *x);
/* The listing (or the stamp check) just brought the entries up to date: the watch's
 * events from now on are enough. */
void idx_watch_verified(struct idx *x);
void idx_watch_free(struct idx *x);

#endif

/*
 * What the index's two halves share: index.c (open, directory synchronisation, parsing,
 * operations) and idxfile.c (the cache file format). Not for use outside src/store.
 */
#ifndef TERN_STORE_INDEX_INT_H
#define TERN_STORE_INDEX_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tern/index.h"
#include "tern/maildir.h"

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

struct idx {
    char *dir;
    char *cache_path;
    int oflags;
    struct idx_msg *m;
    size_t n, cap;
    uint32_t next_id;
    struct pctx p;
    void *map;
    size_t map_len;
    struct maildir_stamp stamp;
    int64_t listed_at;
    bool have_stamp;
    bool dirty;
    struct idx_stats stats;
};

const char *idx_arena_strn(struct pctx *x, const char *s, size_t n);
const char *idx_arena_str(struct pctx *x, const char *s);
/* Take ownership of a malloc'd string: copy into the arena, free it. */
const char *idx_arena_take(struct pctx *x, char *s);
void idx_arena_free(struct pctx *x);
/* A new entry at the end, zeroed but for its fresh id. */
struct idx_msg *idx_append(struct idx *x);
/* Set name, uniq_len, flags and in_new from a file name (name already stable storage). */
void idx_msg_set_name(struct idx_msg *m, const char *name, bool in_new);

/* idxfile.c: map and load x->cache_path; on any problem leave x empty and set
 * stats.cache_bad (the caller rebuilds). */
void idx_load_cache(struct idx *x);
void idx_unmap(struct idx *x);

#endif

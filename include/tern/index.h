/*
 * The per-folder index: a cache (DIR/.tern-index; deleting it loses nothing) of what the
 * message list needs for every message, validated against the directory mtimes and names,
 * updated incrementally, written atomically. The views over it (sort, limit) are in view.h,
 * threads in thread.h.
 *
 * Typical use (the list pane):
 *     struct idx *x;  if (idx_open(dir, 0, &x, &e) < 0) ...
 *     struct idx_view v;  idx_view_init(&v);
 *     idx_view_build(x, &v, IDX_SORT_DATE, false, limit_or_NULL);
 *     for (i = 0; i < v.n; i++) draw(idx_msg(x, v.v[i]));
 *     ... on a timer, when the folder is shown again, or when idx_watch_fd is readable
 *     (opened with IDX_WATCH):
 *     if (idx_refresh(x, &e) == 1) { rebuild the view; re-find the cursor by id }
 *     idx_close(x);
 */
#ifndef TERN_INDEX_H
#define TERN_INDEX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "tern/err.h"

/* One message. All strings are borrowed from the index, valid until idx_refresh/idx_close
 * (or, for name, until an operation on this message), never NULL ("" when absent), valid
 * UTF-8 without control characters. */
struct idx_msg {
    const char *name;       /* file name in new/ or cur/ (unique part + ":2,FLAGS") */
    const char *from;       /* display name of the first From address, else its mailbox */
    const char *to;         /* the same for the first To address */
    const char *subject;    /* decoded */
    const char *msgid;      /* Message-ID without <>, "" if none */
    const char *in_reply_to;/* first id of In-Reply-To without <> */
    const char *references; /* ids of References without <>, separated by one space (the
                               first and the last four of a longer chain) */
    const char *from_addr;  /* mailbox (local@domain) of the first From address, or "" */
    const char *to_addrs;   /* mailboxes of To and Cc, space-separated (the first 8) */
    int64_t date;           /* Date: header (UTC seconds); the file mtime when missing/bad */
    int64_t mtime;          /* file mtime: arrival order */
    uint64_t size;          /* file size in bytes */
    uint32_t id;            /* stable while the idx is open, across refreshes */
    uint32_t flags;         /* MDF_* bits of maildir.h from the name */
    uint16_t uniq_len;      /* length of the unique part of name */
    uint8_t crypt;          /* CRYPT_MARK_SIGNED / _ENCRYPTED (crypt.h), from Content-Type */
    bool in_new;            /* in new/ (not yet seen by any client) */
    bool gone;              /* moved/deleted by us since the last refresh: skip it */
};

struct idx;   /* opaque */

/* Counts over the messages that are not gone. */
struct idx_counts {
    size_t total;
    size_t unread;     /* without S */
    size_t flagged;
    size_t in_new;
    size_t trashed;
};

/* idx_open flags */
#define IDX_NO_CACHE  0x1   /* ignore any cache file (rebuild from the messages) */
#define IDX_NO_SAVE   0x2   /* never write the cache file */
#define IDX_WATCH     0x4   /* watch new/ and cur/ while open (Linux inotify, local file
                               systems): a refresh applies the changes the kernel reported
                               instead of listing the directories; without such a watch the
                               flag is ignored */

/*
 * Open the folder at dir (a Maildir path, see maildir_folder_path): load the cache if it is
 * valid, bring it up to date with the directory (reading only the header block of new
 * messages; renamed files keep their data), and save the cache when anything changed.
 * A corrupt, truncated or foreign cache file is ignored and rebuilt; an unwritable one is
 * not an error. A folder we may not write to keeps its cache under
 * $XDG_CACHE_HOME/tern/index/ (default ~/.cache/tern/index/) instead.
 * Positions are in no promised order (use a view for an order).
 */
int idx_open(const char *dir, int flags, struct idx **out, struct err *e);
void idx_close(struct idx *x);
/*
 * The freshness rule, without loading anything: 1 when dir's cache exists, is of this version
 * and reflects its directories as they are now (the stamps idx_sync compares are equal: the
 * cache's, or that of its journal's last entry when the journal is whole and belongs to it),
 * so that idx_open reads no message file (at most it lists the names again, when the listing
 * came within a second of the last change); else 0. *count (may be NULL) gets the number of
 * messages, 0 without a usable cache. Reads 128 bytes of the cache and 88 of the journal.
 */
int idx_fresh(const char *dir, size_t *count);

/* Number of entries: the messages and the entries marked gone that were not dropped yet
 * (a refresh drops them, except in a large folder whose entries are not all filled, where
 * they wait until they are an eighth of it: idx_counts has the number of messages). */
size_t idx_count(const struct idx *x);
/* The counts, kept in the cache file and up to date after every operation and refresh:
 * no entry is read for them. */
void idx_counts(const struct idx *x, struct idx_counts *out);
/* Message at position i < idx_count. Positions are stable until the next idx_refresh. */
const struct idx_msg *idx_msg(const struct idx *x, size_t i);
/* Fill every entry now, a large cache's blocks read and checked on several threads (what a
 * view over the whole folder does first: threads, a limit). Entries are otherwise filled
 * one by one when first asked for. */
void idx_read_all(const struct idx *x);
/* Position of the message with this stable id, or -1 when it no longer exists. */
long idx_find_id(const struct idx *x, uint32_t id);
/* The full path of message i (new string). */
char *idx_path(const struct idx *x, size_t i);

/*
 * Pick up changes made by others (new, removed, renamed/re-flagged messages): from the
 * watch's events when there is a watch that lost none, else from the directories. Cheap (two
 * stat calls) when nothing changed. Returns 1 when the list changed (positions changed:
 * rebuild views, re-find selections by id), 0 when not, -1 on error. Saves the cache.
 */
int idx_refresh(struct idx *x, struct err *e);
/*
 * The changes since the cache file was written are kept in an append-only journal beside
 * it; past an eighth of the cache the journal wants merging (the cache rewritten without it:
 * 0.1-0.5 s at 100,000 messages), which a refresh of a large folder leaves to idx_merge so
 * that it stays quick. idx_merge rewrites the cache when the journal wants it: 1 when it
 * did, 0 when there was nothing to do, -1 with e filled.
 */
bool idx_wants_merge(const struct idx *x);
int idx_merge(struct idx *x, struct err *e);
/*
 * The refresh a running client makes when its folder's watch fired (or on a timer): with a
 * watch (IDX_WATCH) that lost nothing, the changes the kernel reported are applied without
 * reading the directories (renames, removals, new files, whose header blocks are read), and
 * the result is that of idx_refresh. Returns 2, having changed nothing it cannot vouch for,
 * when only a listing can tell (no watch, events lost, a directory replaced): call
 * idx_refresh then (or do it in the background for a large folder).
 */
int idx_refresh_watched(struct idx *x, struct err *e);
/*
 * Messages another process says it delivered into new/ under these names (the fetcher's
 * `new FOLDER FILE` events): their header blocks are read and they are added now, without
 * listing the directories; names already known (or gone meanwhile) are left alone. The next
 * refresh still checks the directories (the names prove nothing about other changes), and
 * finds these known. Returns 1 when any was added, else 0.
 */
int idx_add_new(struct idx *x, char *const *names, size_t n);
/* The watch's descriptor: readable when the folder changed (poll it, then refresh); -1 when
 * there is no watch. */
int idx_watch_fd(const struct idx *x);
/* Write the cache now if it differs from the file (atomic replace). */
int idx_save(struct idx *x, struct err *e);
/* Statistics of the last open/refresh, for benchmarks and -v. */
struct idx_stats {
    size_t cached;     /* entries taken from the cache file */
    size_t parsed;     /* header blocks read from message files */
    size_t renamed;    /* entries whose file name changed (flags, new/ -> cur/) */
    size_t removed;
    size_t vanished;   /* files that disappeared between readdir and open */
    bool listed;       /* the directories were read (false: the mtimes matched or the
                          watch said what changed) */
    bool watched;      /* the watch's events were applied, no listing */
    size_t events;     /* events read from the watch */
    bool new_only;     /* of them only new/ (cur/ had not changed) */
    bool cur_only;     /* of them only cur/ (new/ had not changed) */
    size_t filled;     /* entries filled from cache records so far (they are filled
                          when first used, so a first screen fills only its rows) */
    bool cache_bad;    /* a cache file existed but was rejected */
    bool unsaved;      /* the cache needed writing and could not be written */
};
const struct idx_stats *idx_stats(const struct idx *x);

/*
 * Operations on message i. They return 0 on success, 1 when the message turned out to be
 * gone already (another client moved or deleted it: the entry is marked gone; not an error),
 * -1 with e filled. Flag changes rename the file once and update the entry in place;
 * move/delete mark the entry gone.
 */
int idx_set_flags(struct idx *x, size_t i, const char *add, const char *del, struct err *e);
/* new/ -> cur/ without changing flags (the client has shown the message). */
int idx_mark_cur(struct idx *x, size_t i, struct err *e);
int idx_move(struct idx *x, size_t i, const char *dst_dir, struct err *e);
int idx_copy(struct idx *x, size_t i, const char *dst_dir, struct err *e);
/* Move to trash_dir; remove for real when trash_dir is NULL or this folder is the trash. */
int idx_delete(struct idx *x, size_t i, const char *trash_dir, struct err *e);

/* ---- the cache file (exposed for tests and the fuzz target) ---- */

/* Parse a cache image into x's entries; checks structure (and the checksum when asked).
 * Returns 0, or -1 (ERR_PARSE) when the image is unusable. Never crashes on any input. */
int idx_load_image(struct idx *x, const void *p, size_t n, bool verify_checksum,
                   struct err *e);
/* Replay a journal image (CACHE.log) onto an index loaded from the cache file it extends;
 * 0, or -1 (ERR_PARSE) when it is foreign or has no complete change. j must outlive x. */
int idx_replay_journal(struct idx *x, char *j, size_t len, struct err *e);
/* Tests: queue an event for the next refresh as if the watch had read it (x must have a
 * watch): name left new/ or cur/ (IDX_WEV_GONE: moved away or deleted), arrived there
 * (IDX_WEV_CAME: moved in or created), or the kernel's queue overflowed (IDX_WEV_LOST). */
enum { IDX_WEV_GONE = 1, IDX_WEV_CAME, IDX_WEV_LOST };
void idx_watch_inject(struct idx *x, int kind, bool in_new, const char *name);
/* An empty index for dir (no file system access); for the fuzz target and tests. */
struct idx *idx_new_empty(const char *dir);
/* The cache file's path for dir (new string). */
char *idx_cache_path(const char *dir);

#endif

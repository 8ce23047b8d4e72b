/*
 * The open folder as the full-screen client sees it, without curses: its index, the view
 * over it (sort, limit, threads, search), the cursor kept by stable id across refreshes, a
 * set of tagged message ids, and every operation on messages (flags, move, copy, delete,
 * expunge), applied to one message or to a set of ids. The panes draw from it; the Check
 * suite check_model tests it directly.
 *
 * Typical use (the list pane):
 *     struct model *m;  if (model_open(root, "INBOX", cfg, &m, &e) < 0) ...
 *     for (r = top; r < model_rows(m); r++) draw(model_row(m, r));
 *     uint32_t id = model_cursor_id(m);  model_flag(m, &id, 1, "F", NULL, &e);
 *     ... on a timer:  if (model_refresh(m, &e) == 1) redraw;
 *     model_close(m);
 */
#ifndef TERN_MODEL_H
#define TERN_MODEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tern/config.h"
#include "tern/err.h"
#include "tern/index.h"
#include "tern/view.h"

struct model;       /* opaque */
struct queue_entry;

/* What the status bar shows about the folder. */
struct model_counts {
    size_t total;       /* messages in the folder (not counting ones gone) */
    size_t shown;       /* rows of the view before threading (the limit applied) */
    size_t unread, in_new, flagged, trashed;
    long arrived;       /* messages that came in since the folder was opened */
};

/*
 * Open folder name (a path below root, or absolute, as maildir_folder_path takes it): read
 * its index and build the default view (date order, no limit, no threads) with the cursor on
 * the first unread message, else the newest. cfg (may be NULL) names the Sent and Drafts
 * folders, whose list shows recipients. 0, or -1 with e filled.
 */
int model_open(const char *root, const char *name, const struct config *cfg,
               struct model **out, struct err *e);
void model_close(struct model *m);

/*
 * The one background-index rule: true when the folder at dir has no index that index.c
 * would trust as it is (idx_fresh) and at least model_large_folder() messages, so
 * that reading it would hold the screen; a child (`tern index` or scan) builds the index.
 */
bool model_needs_background_index(const char *dir);
/* The message count from which a folder is "large" ($TERN_BG_INDEX_MIN, default 5000). */
size_t model_large_folder(void);
/* A refresh of this folder would take long enough to belong in a child. */
bool model_is_large(const struct model *m);

const char *model_name(const struct model *m);   /* as given to model_open */
const char *model_dir(const struct model *m);    /* the Maildir path */
/* The list shows recipients instead of senders (Sent, Drafts, Outbox). */
bool model_show_to(const struct model *m);
/* The folder is the Outbox: model_queue_entry gives each row's queue state. */
bool model_is_outbox(const struct model *m);
/* The folder is the Trash: expunging here removes mail for good (the UI asks first). */
bool model_is_trash(const struct model *m);
const struct model_counts *model_counts(const struct model *m);
const struct idx *model_index(const struct model *m);

/*
 * Pick up changes made by others. 1 when the view changed (the cursor stays on its message
 * while it exists), 0 when nothing did, -1 with e filled.
 */
int model_refresh(struct model *m, struct err *e);
/*
 * The same from the folder's watch alone (the index watches new/ and cur/ while the folder
 * is open): cheap whatever the folder's size. 2, having changed nothing, when only a listing
 * can tell (no watch, events lost): model_refresh then, or a child for a large folder.
 */
int model_refresh_watched(struct model *m, struct err *e);
/* Messages a fetch delivered into this folder's new/ under these names: shown now, without
 * reading the directories (idx_add_new). 1 when the view changed, else 0. */
int model_add_new(struct model *m, char *const *names, size_t n);
/* Readable when the folder changed (the loop polls it and refreshes); -1 without a watch. */
int model_watch_fd(const struct model *m);
/* The directories changed since the index was last read or written by us (a large folder's
 * refresh is then worth a child). */
bool model_changed(const struct model *m);
/* The index's journal wants merging (idx_wants_merge) and that was not asked for yet since
 * it last did: the caller runs `tern index` in the background. */
bool model_wants_merge(struct model *m);
/* Swap in a freshly written index (a child updated the cache): the view settings stay and
 * the cursor stays on its message, found by file name. 0 or -1. */
int model_reload(struct model *m, struct err *e);

/* ---- the view ---- */

void model_set_sort(struct model *m, enum idx_sort key, bool reverse);
void model_get_sort(const struct model *m, enum idx_sort *key, bool *reverse);
/* Limit to messages matching pattern (see idx_limit_compile); NULL, "", "all" or "~A" show
 * all. The cursor stays on its message when it matches. 0, or -1 with e filled. */
int model_set_limit(struct model *m, const char *pattern, struct err *e);
const char *model_limit_text(const struct model *m);    /* NULL when none */
void model_set_threads(struct model *m, bool on);
bool model_threads(const struct model *m);

size_t model_rows(const struct model *m);
/* The message shown on row r < model_rows (borrowed, valid until the next change). */
const struct idx_msg *model_row(const struct model *m, size_t r);
/* The thread tree drawing of row r into out ("" without threads); returns out. */
char *model_row_tree(const struct model *m, size_t r, char *out, size_t outsz);
/* The Outbox's queue entry for row r's message, or NULL. */
const struct queue_entry *model_queue_entry(const struct model *m, size_t r);
/* Row of the message with stable id, or SIZE_MAX when it is not in the view. */
size_t model_row_of(const struct model *m, uint32_t id);

/* ---- the cursor ---- */

size_t model_cursor(const struct model *m);
/* Put the cursor on row r (clamped to the view). */
void model_set_cursor(struct model *m, size_t r);
/* Move by delta rows, clamped; returns true when it moved. */
bool model_move_cursor(struct model *m, long delta);
/* Stable id of the message under the cursor, or UINT32_MAX when the view is empty. */
uint32_t model_cursor_id(const struct model *m);
/* Full path of the message with this id (new string), or NULL when it is gone. */
char *model_path(const struct model *m, uint32_t id);
/* The message with this id (borrowed), or NULL when it is gone. */
const struct idx_msg *model_msg(const struct model *m, uint32_t id);
/* Move the cursor to the next row below it whose message is unread; false when none. */
bool model_next_unread(struct model *m);

/*
 * Search: set the pattern (idx_limit syntax), then move the cursor to the next (back: the
 * previous) matching row, wrapping around (*wrapped tells). 1 found, 0 not found, -1 with e
 * filled (bad pattern, or no pattern yet: ERR_PARSE).
 */
int model_set_search(struct model *m, const char *pattern, struct err *e);
int model_search(struct model *m, bool back, bool *wrapped, struct err *e);

/* ---- tags: a set of message ids, kept across refreshes while the messages exist ---- */

void model_tag(struct model *m, uint32_t id, bool on);
bool model_tagged(const struct model *m, uint32_t id);
size_t model_ntagged(const struct model *m);
/* The tagged ids in ascending order (borrowed, valid until the next change of the set). */
const uint32_t *model_tags(const struct model *m);
void model_untag_all(struct model *m);
/* Tag (on) or untag every message of the view (the limit applies) matching pattern (the
 * limit syntax). Returns how many changed, or -1 with e filled (a bad pattern). */
long model_tag_pattern(struct model *m, const char *pattern, bool on, struct err *e);

/* ---- threads (each false, or 0, when the thread view is off) ---- */

/* The ids of every message of the thread shown on row r, collapsed ones too (a new array
 * in *ids, the caller frees it); returns how many. */
size_t model_thread_ids(const struct model *m, size_t r, uint32_t **ids);
/* Collapse the thread under the cursor to its first message, or expand it again; the cursor
 * goes to that first message. */
bool model_collapse_thread(struct model *m);
/* Collapse every thread of more than one message, or expand all when any is collapsed. */
bool model_collapse_all(struct model *m);
/* How many messages row r hides (a collapsed thread's first row), else 0. */
size_t model_hidden(const struct model *m, size_t r);
/* Move the cursor to the first message of the next (back: the previous) thread; false
 * when there is none. */
bool model_next_thread(struct model *m, bool back);
/* Move the cursor to the parent of its message; false for a thread's first message. */
bool model_parent(struct model *m);

/* ---- operations on a set of messages, by id ---- */

/*
 * Each returns the number of messages acted on; *gone (may be NULL) gets how many had been
 * moved or deleted by another program meanwhile (not an error). On a failure the other
 * messages are still tried; the result is -1 and e holds the first failure.
 */
long model_flag(struct model *m, const uint32_t *ids, size_t n, const char *add,
                const char *del, size_t *gone, struct err *e);
/* Mark messages for deletion (flag T) or take the mark away. */
long model_delete(struct model *m, const uint32_t *ids, size_t n, size_t *gone, struct err *e);
long model_undelete(struct model *m, const uint32_t *ids, size_t n, size_t *gone,
                    struct err *e);
/* Move or copy to the folder named dst (below the root); moving out of the view keeps the
 * cursor on the row below. Moving to the folder itself is an error (ERR_PERM). */
long model_move(struct model *m, const uint32_t *ids, size_t n, const char *dst,
                size_t *gone, struct err *e);
long model_copy(struct model *m, const uint32_t *ids, size_t n, const char *dst,
                size_t *gone, struct err *e);
/* A move/copy target that names a file or a directory outside the folders (starts with / or
 * ~) rather than a folder: model_save writes there. */
bool model_is_file_target(const char *target);
/* Save copies of the messages to an mbox file or a Maildir (save_message: ~ expanded);
 * *where (may be NULL) gets the path written to (new string). The messages stay. */
long model_save(struct model *m, const uint32_t *ids, size_t n, const char *target,
                char **where, size_t *gone, struct err *e);
/* Remove every message marked for deletion to the Trash folder (for real in the Trash
 * itself). Returns how many went. */
long model_expunge(struct model *m, struct err *e);
/* The message was shown: flag it seen (one rename) unless it is already. */
int model_mark_seen(struct model *m, uint32_t id, struct err *e);

#endif

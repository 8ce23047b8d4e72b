/*
 * Maildir folders: delivery (tmp/ -> fsync -> new/ or cur/), names and flags per the Maildir
 * spec, flag changes as one rename, move/copy/delete, folder discovery, change detection.
 */
#ifndef TERN_MAILDIR_H
#define TERN_MAILDIR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tern/err.h"

struct buf;

/* ---- delivery ---- */

/* Create dir/{cur,new,tmp} (0700) if missing, with mkdir -p of dir. */
int maildir_create(const char *dir, struct err *e);

/* Two-phase delivery for callers that must record something between the fsync and the rename
 * (the fetcher's exactly-once logic). */
struct maildir_tmp;   /* opaque */

/* The host part of the unique names this host makes, added to out: the host name ("localhost"
 * when it has none), '/' and ':' escaped as the spec asks (\057, \072). */
void maildir_host(struct buf *out);
/* Create a file in dir/tmp/ with a unique name per the Maildir spec
 * (SECONDS.MmicrosPpidQseq.HOST, HOST as maildir_host makes it), O_EXCL. */
int maildir_tmp_open(const char *dir, struct maildir_tmp **out, struct err *e);
int maildir_tmp_write(struct maildir_tmp *t, const void *p, size_t n, struct err *e);
/* The unique base name (no directory, no ":2," part). Borrowed from t. */
const char *maildir_tmp_name(const struct maildir_tmp *t);
/*
 * fsync the file, rename tmp/NAME -> new/NAME (or cur/NAME:2,FLAGS when flags != NULL, e.g.
 * "S"; the letters are sorted and deduplicated). Does NOT fsync the directory (callers batch it
 * with maildir_sync). On error the tmp file is removed. Frees t either way. out_path (may be
 * NULL) receives the final path as a new string.
 */
int maildir_tmp_commit(struct maildir_tmp *t, const char *flags, char **out_path, struct err *e);
/* Unlink the tmp file and free t (NULL is fine). */
void maildir_tmp_abort(struct maildir_tmp *t);
/* fsync new/ and cur/ of dir so that committed renames are durable. */
int maildir_sync(const char *dir, struct err *e);
/* One-shot: open + write + commit + sync. */
int maildir_deliver(const char *dir, const void *p, size_t n, const char *flags, char **out_path,
                    struct err *e);

/* ---- folders ---- */

/*
 * Resolve a folder to a directory path (new string). An absolute path, or one starting with
 * "./", "../" or "~/", or "." is taken as a path (~ and $VAR expanded). Otherwise it is a
 * name under mail_root: "INBOX", "Work/Sent", Maildir++ ".Sent", "INBOX/.Sent". "INBOX" is
 * mail_root itself when mail_root is a Maildir (Maildir++ layout) and has no INBOX child.
 * A name that does not exist under mail_root but is an existing directory relative to the
 * working directory is taken as that path.
 */
char *maildir_folder_path(const char *mail_root, const char *folder);
/*
 * The one iterator over a Maildir's messages: fn(sub, name, arg) for each file name in
 * dir/new and dir/cur (in that order; dot files skipped) until fn returns non-zero, which is
 * then returned; 0 when every name was seen (an unreadable directory has none).
 */
typedef int (*maildir_each_fn)(const char *sub, const char *name, void *arg);
int maildir_each(const char *dir, maildir_each_fn fn, void *arg);
/* Is dir a Maildir (has cur/ and new/)? */
bool maildir_is_maildir(const char *dir);
/*
 * Every Maildir below mail_root (nested directories and Maildir++ dot-folders inside any
 * Maildir), as names that maildir_folder_path resolves back, sorted with INBOX first.
 * *names is a NULL-terminated array of new strings; free with maildir_folders_free.
 * Symlinked directories are not followed (no loops); depth is capped at 16.
 */
int maildir_folders(const char *mail_root, char ***names, size_t *n, struct err *e);
void maildir_folders_free(char **names);
/* Create the default account's INBOX, sent, drafts and trash folders (tern/paths.h) when
 * missing. */
struct config;
int maildir_ensure_roles(const struct config *cfg, struct err *e);

/* ---- names and flags ---- */

/* The standard flags as bits; unknown letters are kept in the name but have no bit. */
enum {
    MDF_DRAFT = 1 << 0,    /* D */
    MDF_FLAGGED = 1 << 1,  /* F */
    MDF_PASSED = 1 << 2,   /* P */
    MDF_REPLIED = 1 << 3,  /* R */
    MDF_SEEN = 1 << 4,     /* S */
    MDF_TRASHED = 1 << 5,  /* T */
};

/* Longest flags string we keep (letters A-Z and a-z, each once). */
#define MAILDIR_FLAGS_MAX 52

/*
 * Split a file name (no directory) into its unique part and its flags: *uniq_len is the length
 * of the part before ":2," (or before ':' for other info, or the whole name); returns the
 * flag letters after ":2," (pointer into name) or "" when there is none.
 */
const char *maildir_name_split(const char *name, size_t *uniq_len);
/* Bits of the standard flags in a flags string. */
unsigned maildir_flags_bits(const char *flags);
/*
 * Normalise flags: letters only (A-Z, a-z), each once, in ASCII order, written to out
 * (MAILDIR_FLAGS_MAX + 1 bytes). Returns out.
 */
char *maildir_flags_normalize(const char *flags, char *out);
/* out = (flags + add) - del, normalised; add/del may be NULL. Returns out. */
char *maildir_flags_edit(const char *flags, const char *add, const char *del, char *out);

/* ---- operations on one message ----
 * A message is named by its folder directory and its path relative to it ("new/NAME" or
 * "cur/NAME:2,FL"). Every operation that renames returns the new relative path as a new
 * string in *new_rel (may be NULL). They return 0 on success, 1 when the message is gone
 * (another client removed it: a lost race, not an error), -1 with e filled on error.
 * A rename that fails with ENOENT is retried after looking the unique part up again in
 * cur/ and new/ (someone else renamed it meanwhile, e.g. changed its flags).
 */

/* Change flags with one rename (new/ messages move to cur/). add/del may be NULL. */
int maildir_set_flags(const char *dir, const char *rel, const char *add, const char *del,
                      char **new_rel, struct err *e);
/* Move a new/ message to cur/ without changing flags ("seen by the client", not \Seen). */
int maildir_mark_cur(const char *dir, const char *rel, char **new_rel, struct err *e);
/*
 * Move to another folder with its flags (new/ stays new/): rename when both are on one file
 * system (the file is always in exactly one place), else copy (durably) then unlink. The
 * destination directory is created if missing. Both directories are fsynced.
 */
int maildir_move(const char *dir, const char *rel, const char *dst_dir, char **new_rel,
                 struct err *e);
/* Copy to another folder under a new unique name, same flags, durably. */
int maildir_copy(const char *dir, const char *rel, const char *dst_dir, char **new_rel,
                 struct err *e);
/*
 * Delete: move to trash_dir, or unlink for real when trash_dir is NULL or is dir itself
 * (same device and inode). *new_rel (may be NULL) is the path in Trash, or NULL.
 */
int maildir_delete(const char *dir, const char *rel, const char *trash_dir, char **new_rel,
                   struct err *e);
/* Find the current relative path of the message with this unique part (new string), or NULL. */
char *maildir_find(const char *dir, const char *uniq, size_t uniq_len);

/* ---- change detection ---- */

/* What a folder looked like: mtimes of new/ and cur/ (nanoseconds). */
struct maildir_stamp {
    int64_t new_mtime;
    int64_t cur_mtime;
};
int maildir_stamp(const char *dir, struct maildir_stamp *st, struct err *e);
/* True when the folder may have changed since st (mtimes differ, or st is so recent that a
 * change within the file system's timestamp granularity could hide). */
bool maildir_changed(const char *dir, const struct maildir_stamp *st);

#endif

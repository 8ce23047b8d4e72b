/* File system primitives that survive crashes and signals: full writes, fsync, atomic replace. */
#ifndef TERN_FSUTIL_H
#define TERN_FSUTIL_H

#include <stddef.h>
#include <sys/types.h>

#include "tern/buf.h"
#include "tern/err.h"

/* write(2) until done, retrying EINTR and short writes; 0 or -1 with errno set. */
int fs_write_all(int fd, const void *p, size_t n);
/* Append the whole file to out. */
int fs_read_file(const char *path, struct buf *out, struct err *e);
/* Append everything readable from fd to out (until EOF). */
int fs_read_fd(int fd, struct buf *out);
/* fsync a directory so that a rename or unlink inside it is durable. */
int fs_fsync_dir(const char *dir, struct err *e);
/*
 * Replace path with the given bytes so that a crash leaves either the old or the new file:
 * write a temporary file beside it, fsync, rename over path, fsync the directory.
 */
int fs_write_atomic(const char *path, const void *p, size_t n, mode_t mode, struct err *e);
/* mkdir -p with the given mode for every directory it creates. */
int fs_mkdir_p(const char *path, mode_t mode, struct err *e);
/*
 * Take an exclusive lock on path (created if needed, 0600) without waiting. Returns the
 * descriptor that holds the lock, or -1 with ERR_LOCKED when another process has it.
 */
int fs_lock(const char *path, struct err *e);
void fs_unlock(int fd);
/* The directory part of path, as a new string ("." when there is none). */
char *fs_dirname(const char *path);
/* Join a and b with one '/' into a new string. */
char *fs_join(const char *a, const char *b);
/* Expand a leading "~/" and $VAR / ${VAR} references; returns a new string. */
char *fs_expand(const char *in);

#endif

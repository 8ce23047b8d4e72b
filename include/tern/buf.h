/* A growable byte buffer: the one way tern builds strings and collects bytes. */
#ifndef TERN_BUF_H
#define TERN_BUF_H

#include <stddef.h>

struct buf {
    char *ptr;   /* always NUL-terminated once anything was added (or buf_cstr called) */
    size_t len;
    size_t cap;
};

#define BUF_INIT { NULL, 0, 0 }

void buf_init(struct buf *b);
void buf_free(struct buf *b);
/* Forget the contents, keep the memory. */
void buf_reset(struct buf *b);
/* Overwrite all of b's memory with zeros (explicit_bzero: never optimised away) and empty it:
 * the one wipe for buffers that held a secret (then buf_free, or reuse). */
void buf_wipe(struct buf *b);
/* Make room for n more bytes (plus the terminating NUL). */
void buf_reserve(struct buf *b, size_t n);
void buf_add(struct buf *b, const void *p, size_t n);
void buf_adds(struct buf *b, const char *s);
void buf_addc(struct buf *b, char c);
void buf_printf(struct buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Drop the first n bytes (consumed input). */
void buf_consume(struct buf *b, size_t n);
/* Shorten to n bytes (n <= len). */
void buf_truncate(struct buf *b, size_t n);
/* The contents as a C string; never NULL. Borrowed: valid until the next change. */
const char *buf_cstr(struct buf *b);
/* Hand the memory to the caller (a C string, never NULL) and leave b empty. */
char *buf_detach(struct buf *b);

#endif

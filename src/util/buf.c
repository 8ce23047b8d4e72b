/* struct buf: amortised doubling, always room for a trailing NUL. */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tern/buf.h"
#include "tern/xalloc.h"

void buf_init(struct buf *b)
{
    b->ptr = NULL;
    b->len = 0;
    b->cap = 0;
}

void buf_free(struct buf *b)
{
    free(b->ptr);
    buf_init(b);
}

void buf_reset(struct buf *b)
{
    b->len = 0;
    if (b->ptr)
        b->ptr[0] = '\0';
}

void buf_wipe(struct buf *b)
{
    if (b->ptr)
        explicit_bzero(b->ptr, b->cap);
    b->len = 0;
}

void buf_reserve(struct buf *b, size_t n)
{
    size_t want, cap;

    if (n > (size_t)-1 / 2 - b->len)
        xrealloc(NULL, (size_t)-1);   /* reports and exits */
    want = b->len + n + 1;
    if (want <= b->cap)
        return;
    cap = b->cap ? b->cap : 64;
    while (cap < want)
        cap *= 2;
    b->ptr = xrealloc(b->ptr, cap);
    b->cap = cap;
}

void buf_add(struct buf *b, const void *p, size_t n)
{
    buf_reserve(b, n);
    if (n)
        memcpy(b->ptr + b->len, p, n);
    b->len += n;
    b->ptr[b->len] = '\0';
}

void buf_adds(struct buf *b, const char *s)
{
    buf_add(b, s, strlen(s));
}

void buf_addc(struct buf *b, char c)
{
    buf_add(b, &c, 1);
}

void buf_printf(struct buf *b, const char *fmt, ...)
{
    va_list ap;
    int n;

    va_start(ap, fmt);
    n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    buf_reserve(b, (size_t)n);
    va_start(ap, fmt);
    vsnprintf(b->ptr + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
}

void buf_consume(struct buf *b, size_t n)
{
    if (n >= b->len) {
        buf_reset(b);
        return;
    }
    memmove(b->ptr, b->ptr + n, b->len - n);
    b->len -= n;
    b->ptr[b->len] = '\0';
}

void buf_truncate(struct buf *b, size_t n)
{
    if (n < b->len) {
        b->len = n;
        b->ptr[n] = '\0';
    }
}

const char *buf_cstr(struct buf *b)
{
    if (b->ptr == NULL)
        buf_reserve(b, 0), b->ptr[0] = '\0';
    return b->ptr;
}

char *buf_detach(struct buf *b)
{
    char *p;

    buf_cstr(b);
    p = b->ptr;
    buf_init(b);
    return p;
}

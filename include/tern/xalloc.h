/* Allocation that cannot fail: out of memory is reported and ends the process. */
#ifndef TERN_XALLOC_H
#define TERN_XALLOC_H

#include <stddef.h>

void *xmalloc(size_t n);
void *xcalloc(size_t nmemb, size_t size);
void *xrealloc(void *p, size_t n);
/* realloc for arrays, with the multiplication checked for overflow. */
void *xreallocarray(void *p, size_t nmemb, size_t size);
/* Room for element n of the array p, which has *cap elements of size bytes: when n is past
 * the end, *cap doubles (from 16) until it is not and the array is reallocated. Returns the
 * array, perhaps moved. */
void *xgrow(void *p, size_t n, size_t *cap, size_t size);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);
/* Copy n bytes and add a NUL. */
char *xmemdup0(const void *p, size_t n);
/* Run fn (once) before reporting out-of-memory and exiting: the full-screen client puts the
 * terminal back. NULL removes it. */
void xalloc_set_die_hook(void (*fn)(void));

#endif

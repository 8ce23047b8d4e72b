/* The only place that decides what out-of-memory means: a message and exit 71 (EX_OSERR). */
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tern/xalloc.h"

static void (*die_hook)(void);

void xalloc_set_die_hook(void (*fn)(void))
{
    die_hook = fn;
}

static _Noreturn void xalloc_die(size_t n)
{
    char msg[80];
    int len;

    if (die_hook) {
        void (*fn)(void) = die_hook;

        die_hook = NULL;            /* the hook itself may run out of memory */
        fn();
    }
    len = snprintf(msg, sizeof msg, "tern: out of memory (%zu bytes)\n", n);
    if (len > 0 && write(STDERR_FILENO, msg, (size_t)len) < 0)
        _exit(71);
    _exit(71);
}

void *xmalloc(size_t n)
{
    void *p = malloc(n ? n : 1);

    if (p == NULL)
        xalloc_die(n);
    return p;
}

void *xcalloc(size_t nmemb, size_t size)
{
    void *p = calloc(nmemb ? nmemb : 1, size ? size : 1);

    if (p == NULL)
        xalloc_die(nmemb * size);
    return p;
}

void *xrealloc(void *p, size_t n)
{
    void *q = realloc(p, n ? n : 1);

    if (q == NULL)
        xalloc_die(n);
    return q;
}

void *xreallocarray(void *p, size_t nmemb, size_t size)
{
    if (size != 0 && nmemb > SIZE_MAX / size)
        xalloc_die(SIZE_MAX);
    return xrealloc(p, nmemb * size);
}

void *xgrow(void *p, size_t n, size_t *cap, size_t size)
{
    size_t c = *cap ? *cap : 16;

    if (n < *cap)
        return p;
    while (c <= n) {
        if (c > SIZE_MAX / 2)
            xalloc_die(SIZE_MAX);
        c *= 2;
    }
    *cap = c;
    return xreallocarray(p, c, size);
}

char *xmemdup0(const void *p, size_t n)
{
    char *s = xmalloc(n + 1);

    if (n)
        memcpy(s, p, n);
    s[n] = '\0';
    return s;
}

char *xstrdup(const char *s)
{
    return xmemdup0(s, strlen(s));
}

char *xstrndup(const char *s, size_t n)
{
    return xmemdup0(s, strnlen(s, n));
}

/* struct err: formatting into the fixed buffer, truncating rather than failing. */
#include "config.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "tern/err.h"

/* The one formatter: the class, then fmt, then ": tail" unless tail is NULL. A NULL e is a
 * caller that only wants the -1. */
static void err_vfill(struct err *e, enum err_class cls, const char *tail, const char *fmt,
                      va_list ap)
{
    size_t n;

    if (e == NULL)
        return;
    e->cls = cls;
    if (vsnprintf(e->msg, sizeof e->msg, fmt, ap) < 0)
        e->msg[0] = '\0';
    if (tail == NULL)
        return;
    n = strlen(e->msg);
    snprintf(e->msg + n, sizeof e->msg - n, ": %s", tail);
}

int err_set(struct err *e, enum err_class cls, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    err_vfill(e, cls, NULL, fmt, ap);
    va_end(ap);
    return -1;
}

int err_sys(struct err *e, const char *fmt, ...)
{
    int saved = errno;
    va_list ap;

    va_start(ap, fmt);
    err_vfill(e, ERR_SYS, strerror(saved), fmt, ap);
    va_end(ap);
    errno = saved;
    return -1;
}

int err_prefix(struct err *e, const char *fmt, ...)
{
    char old[sizeof e->msg];
    va_list ap;

    if (e == NULL)
        return -1;
    memcpy(old, e->msg, sizeof old);
    va_start(ap, fmt);
    err_vfill(e, e->cls, old, fmt, ap);
    va_end(ap);
    return -1;
}

void err_clear(struct err *e)
{
    if (e == NULL)
        return;
    e->cls = ERR_NONE;
    e->msg[0] = '\0';
}

const char *err_class_name(enum err_class cls)
{
    static const char *const names[] = {
        [ERR_NONE] = "ok", [ERR_SYS] = "system", [ERR_CONFIG] = "config",
        [ERR_NET] = "network", [ERR_TLS] = "tls", [ERR_PROTO] = "protocol",
        [ERR_AUTH] = "auth", [ERR_TEMP] = "temporary", [ERR_PERM] = "permanent",
        [ERR_PARSE] = "parse", [ERR_CANCEL] = "cancelled", [ERR_LOCKED] = "locked",
    };

    if ((unsigned)cls >= sizeof names / sizeof names[0])
        return "unknown";
    return names[cls];
}

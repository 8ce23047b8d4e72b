/* The one module allowed to write diagnostics; it never writes a secret. */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "tern/log.h"
#include "tern/str.h"

static enum log_level log_level = LOG_NORMAL;
static int log_fd = STDERR_FILENO;

void log_set_level(enum log_level level)
{
    log_level = level;
}

enum log_level log_get_level(void)
{
    return log_level;
}

void log_set_fd(int fd)
{
    log_fd = fd;
}

static void log_write(const char *s, size_t n)
{
    while (log_fd >= 0 && n > 0) {
        ssize_t w = write(log_fd, s, n);

        if (w <= 0)
            return;
        s += w, n -= (size_t)w;
    }
}

static void log_vline(const char *prefix, const char *fmt, va_list ap)
{
    char line[1024];
    int n = snprintf(line, sizeof line, "%s", prefix);

    if (n < 0)
        return;
    if (vsnprintf(line + n, sizeof line - (size_t)n - 1, fmt, ap) < 0)
        return;
    n = (int)strlen(line);
    line[n++] = '\n';
    log_write(line, (size_t)n);
}

void log_info(const char *fmt, ...)
{
    va_list ap;

    if (log_level < LOG_NORMAL)
        return;
    va_start(ap, fmt);
    log_vline("tern: ", fmt, ap);
    va_end(ap);
}

/* Commands whose arguments are credentials; AUTH keeps its mechanism name visible. */
static size_t log_keep_prefix(const char *line, size_t len)
{
    static const char *const words[] = { "PASS ", "APOP ", "AUTH " };

    for (size_t i = 0; i < sizeof words / sizeof words[0]; i++) {
        size_t w = strlen(words[i]);

        if (len < w || str_ncasecmp(line, words[i], w) != 0)
            continue;
        if (i == 2) {   /* AUTH MECH [initial-response] */
            const char *sp = memchr(line + w, ' ', len - w);
            return sp ? (size_t)(sp - line) + 1 : len;
        }
        return w;
    }
    return (size_t)-1;
}

void log_redact(const char *line, size_t len, bool secret, char *out, size_t outsz)
{
    size_t keep = secret ? 0 : log_keep_prefix(line, len);

    while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r'))
        len--;
    if (keep == (size_t)-1) {
        keep = len;
    } else if (keep > len) {
        keep = len;
    }
    if (keep > outsz - 1)
        keep = outsz - 1;
    /* Controls, C1 and bidi from a hostile server must not reach the terminal through the
     * trace: the one sanitiser. */
    {
        size_t room = keep < len && outsz > 11 ? outsz - 10 : outsz;
        size_t o = str_sanitize_to(line, keep, out, room);

        if (keep < len)
            snprintf(out + o, outsz - o, "<redacted>");
    }
}

void log_proto(const char *tag, char dir, const char *line, size_t len, bool secret)
{
    char shown[600];
    char out[640];
    int n;

    if (log_level < LOG_TRACE)
        return;
    log_redact(line, len, secret, shown, sizeof shown);
    n = snprintf(out, sizeof out, "%s %c %s\n", tag, dir, shown);
    if (n > 0)
        log_write(out, (size_t)n < sizeof out ? (size_t)n : sizeof out - 1);
}

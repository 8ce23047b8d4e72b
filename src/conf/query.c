/* query_command: the address query as mutt runs it, with bounded output and a time limit,
 * and the parser of its "address<TAB>name<TAB>other" lines. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "tern/query.h"
#include "tern/xalloc.h"

char *query_command_line(const char *cmd, const char *query)
{
    struct buf b = BUF_INIT, q = BUF_INIT;
    bool used = false;

    buf_addc(&q, '\'');
    for (const char *p = query; *p; p++) {
        if (*p == '\'')
            buf_adds(&q, "'\\''");
        else
            buf_addc(&q, *p);
    }
    buf_addc(&q, '\'');
    for (const char *p = cmd; *p; p++) {
        if (p[0] == '%' && p[1] == 's') {
            buf_add(&b, q.ptr, q.len);
            used = true;
            p++;
        } else if (p[0] == '%' && p[1] == '%') {
            buf_addc(&b, '%');
            p++;
        } else {
            buf_addc(&b, *p);
        }
    }
    if (!used) {
        buf_addc(&b, ' ');
        buf_add(&b, q.ptr, q.len);
    }
    buf_free(&q);
    return buf_detach(&b);
}

static long ms_since(const struct timespec *t0)
{
    struct timespec t;

    clock_gettime(CLOCK_MONOTONIC, &t);
    return (t.tv_sec - t0->tv_sec) * 1000L + (t.tv_nsec - t0->tv_nsec) / 1000000L;
}

int query_run(const char *cmd, const char *query, int timeout_ms, size_t max, struct buf *out,
              struct err *e)
{
    char *line = query_command_line(cmd, query);
    int pfd[2], status = 0, rc = 0;
    bool killed = false, toolong = false;
    size_t got = 0;
    struct timespec t0;
    pid_t pid;

    if (pipe2(pfd, O_CLOEXEC) < 0) {
        free(line);
        return err_sys(e, "query_command");
    }
    pid = fork();
    if (pid < 0) {
        close(pfd[0]), close(pfd[1]);
        free(line);
        return err_sys(e, "query_command");
    }
    if (pid == 0) {
        int null = open("/dev/null", O_RDWR);

        setpgid(0, 0);
        signal(SIGPIPE, SIG_DFL);
        if (null < 0 || dup2(null, 0) < 0 || dup2(null, 2) < 0 || dup2(pfd[1], 1) < 0)
            _exit(127);
        execl("/bin/sh", "sh", "-c", line, (char *)NULL);
        _exit(127);
    }
    setpgid(pid, pid);
    close(pfd[1]);
    free(line);
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (;;) {
        struct pollfd p = { .fd = pfd[0], .events = POLLIN };
        long left = timeout_ms - ms_since(&t0);
        char chunk[4096];
        ssize_t n;
        int r;

        if (left <= 0) {
            killed = true;
            break;
        }
        r = poll(&p, 1, (int)left);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0) {
            killed = true;
            break;
        }
        n = read(pfd[0], chunk, sizeof chunk);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        if (got + (size_t)n > max) {
            buf_add(out, chunk, max - got);
            toolong = true;
            break;
        }
        buf_add(out, chunk, (size_t)n);
        got += (size_t)n;
    }
    close(pfd[0]);
    if (killed || toolong)
        kill(-pid, SIGKILL);
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
        ;
    if (killed)
        rc = err_set(e, ERR_TEMP, "query_command: no answer within %d s", timeout_ms / 1000);
    else if (toolong)
        rc = err_set(e, ERR_TEMP, "query_command: more than %zu bytes of output", max);
    else if (got == 0 && (!WIFEXITED(status) || WEXITSTATUS(status) != 0))
        rc = err_set(e, ERR_PERM, "query_command failed (%s %d)",
                     WIFEXITED(status) ? "exit status" : "signal",
                     WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status));
    return rc;
}

static bool has_controls(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)s[i] < 32 && s[i] != '\t')
            return true;
        else if (s[i] == 127)
            return true;
    return false;
}

/* One allocation a record: the address, then the name after its NUL. */
static void result_set(struct query_result *r, const char *addr, size_t alen, const char *name,
                       size_t nlen)
{
    char *s = xmalloc(alen + nlen + 2);

    memcpy(s, addr, alen);
    s[alen] = '\0';
    memcpy(s + alen + 1, name, nlen);
    s[alen + 1 + nlen] = '\0';
    r->address = s;
    r->name = s + alen + 1;
}

size_t query_parse(const char *out, size_t n, struct query_result **res)
{
    const char *p = out, *end = out + n;
    size_t count = 0;
    bool first = true;

    *res = NULL;
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        size_t len = nl ? (size_t)(nl - p) : (size_t)(end - p);
        const char *tab, *tab2;
        size_t alen, nlen;

        if (len > 0 && p[len - 1] == '\r')
            len--;
        if (first || len == 0 || has_controls(p, len) || memchr(p, '\0', len)) {
            first = false;
            p = nl ? nl + 1 : end;
            continue;
        }
        tab = memchr(p, '\t', len);
        alen = tab ? (size_t)(tab - p) : len;
        tab2 = tab ? memchr(tab + 1, '\t', len - alen - 1) : NULL;
        nlen = tab ? (tab2 ? (size_t)(tab2 - tab - 1) : len - alen - 1) : 0;
        if (alen > 0) {
            *res = xreallocarray(*res, count + 1, sizeof **res);
            result_set(&(*res)[count++], p, alen, tab ? tab + 1 : "", nlen);
        }
        p = nl ? nl + 1 : end;
    }
    return count;
}

void query_results_free(struct query_result *res, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(res[i].address);
    free(res);
}

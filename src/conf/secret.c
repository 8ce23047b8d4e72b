/* password / password_command: run the command with no terminal games, keep its first line. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "tern/buf.h"
#include "tern/fsutil.h"
#include "tern/secret.h"
#include "tern/xalloc.h"

void secret_free(char *s)
{
    if (s == NULL)
        return;
    /* volatile so the compiler cannot drop the wipe of memory about to be freed */
    for (volatile char *p = s; *p; p++)
        *p = '\0';
    free(s);
}

static void wipe_buf(struct buf *b)
{
    for (volatile char *p = b->ptr; p && p < b->ptr + b->cap; p++)
        *p = '\0';
    buf_free(b);
}

#define SECRET_OUTPUT_MAX 65536   /* a password, not a stream: more is a broken command */

static long long secret_now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/*
 * Read the command's output within the deadline and the size bound. 0 at EOF; 1 timed out;
 * 2 too much output; -1 on a read error. The buffer is wiped by the caller either way.
 */
static int secret_collect(int fd, int timeout, struct buf *out)
{
    long long end = secret_now_ms() + (long long)timeout * 1000;
    char chunk[4096];

    for (;;) {
        struct pollfd p = { .fd = fd, .events = POLLIN };
        long long left = end - secret_now_ms();
        ssize_t r;
        int pr;

        if (left <= 0)
            return 1;
        pr = poll(&p, 1, (int)left);
        if (pr < 0 && errno == EINTR)
            continue;
        if (pr < 0)
            return -1;
        if (pr == 0)
            return 1;
        r = read(fd, chunk, sizeof chunk);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            return -1;
        if (r == 0)
            return 0;
        if (out->len + (size_t)r > SECRET_OUTPUT_MAX) {
            for (volatile char *c = chunk; c < chunk + sizeof chunk; c++)
                *c = '\0';
            return 2;
        }
        buf_add(out, chunk, (size_t)r);
        for (volatile char *c = chunk; c < chunk + r; c++)
            *c = '\0';
    }
}

static char *secret_run(const char *account, const char *key, const char *cmd, int timeout,
                        struct err *e)
{
    struct buf out = BUF_INIT;
    int pfd[2], status, got;
    pid_t pid;
    char *nl, *res = NULL;

    if (pipe2(pfd, O_CLOEXEC) < 0)
        return err_sys(e, "account %s: %s", account, key), NULL;
    pid = fork();
    if (pid < 0) {
        close(pfd[0]), close(pfd[1]);
        return err_sys(e, "account %s: %s", account, key), NULL;
    }
    if (pid == 0) {
        setpgid(0, 0);          /* its own group: a timeout kills whatever it started */
        signal(SIGPIPE, SIG_DFL);
        if (dup2(pfd[1], STDOUT_FILENO) < 0)
            _exit(127);
        execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
        _exit(127);
    }
    close(pfd[1]);
    setpgid(pid, pid);
    got = secret_collect(pfd[0], timeout > 0 ? timeout : 60, &out);
    close(pfd[0]);
    if (got != 0) {
        kill(-pid, SIGKILL);
        kill(pid, SIGKILL);
    }
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
        ;
    if (got == 1) {
        err_set(e, ERR_AUTH, "account %s: %s did not finish within %d s (timeout)", account, key,
                timeout > 0 ? timeout : 60);
        goto out;
    }
    if (got == 2) {
        err_set(e, ERR_AUTH, "account %s: %s wrote more than %d bytes: not a password", account,
                key, SECRET_OUTPUT_MAX);
        goto out;
    }
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        err_set(e, ERR_AUTH, "account %s: %s failed (%s %d)", account, key,
                WIFEXITED(status) ? "exit status" : "signal",
                WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status));
        goto out;
    }
    buf_cstr(&out);
    nl = strchr(out.ptr, '\n');
    if (nl)
        *nl = '\0';
    if (nl && nl > out.ptr && nl[-1] == '\r')
        nl[-1] = '\0';
    if (out.ptr[0] == '\0') {
        err_set(e, ERR_AUTH, "account %s: %s gave an empty password", account, key);
        goto out;
    }
    res = xstrdup(out.ptr);
out:
    wipe_buf(&out);
    return res;
}

char *secret_get(const struct account *a, enum secret_use use, struct err *e)
{
    if (use == SECRET_SMTP) {
        if (a->smtp_password)
            return xstrdup(a->smtp_password);
        if (a->smtp_password_command)
            return secret_run(a->name, "smtp_password_command", a->smtp_password_command,
                              (int)a->timeout, e);
    }
    if (a->password)
        return xstrdup(a->password);
    if (a->password_command)
        return secret_run(a->name, "password_command", a->password_command, (int)a->timeout, e);
    err_set(e, ERR_AUTH, "account %s: no password: set password or password_command", a->name);
    return NULL;
}

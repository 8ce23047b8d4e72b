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
    explicit_bzero(s, strlen(s));    /* never optimised away, unlike a memset */
    free(s);
}

static void wipe_buf(struct buf *b)
{
    buf_wipe(b);
    buf_free(b);
}

/*
 * Read the command's output until EOF, at most SECRET_MAX_OUTPUT bytes and SECRET_TIMEOUT
 * seconds in all: a hung or chatty helper must not hang or bloat a background fetch.
 * Returns 0, 1 on timeout, 2 when the output is too long.
 */
static int secret_collect(int fd, int timeout, struct buf *out)
{
    struct timespec t0, now;

    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (;;) {
        struct pollfd pf = { fd, POLLIN, 0 };
        char chunk[4096];
        long left;
        ssize_t n;
        int r;

        clock_gettime(CLOCK_MONOTONIC, &now);
        left = timeout * 1000L - ((now.tv_sec - t0.tv_sec) * 1000L +
                                         (now.tv_nsec - t0.tv_nsec) / 1000000L);
        if (left <= 0)
            return 1;
        r = poll(&pf, 1, (int)left);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return r == 0 ? 1 : 0;
        n = read(fd, chunk, sizeof chunk);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return 0;
        if (out->len + (size_t)n > SECRET_MAX_OUTPUT)
            return 2;
        buf_add(out, chunk, (size_t)n);
    }
}

char *secret_command(const char *account, const char *key, const char *cmd, struct err *e)
{
    return secret_command_bounded(account, key, cmd, SECRET_TIMEOUT, e);
}

char *secret_command_bounded(const char *account, const char *key, const char *cmd, int timeout,
                             struct err *e)
{
    struct buf out = BUF_INIT;
    int pfd[2], status, how;
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
        setpgid(0, 0);   /* so that a timeout kills the helper's own children too */
        signal(SIGPIPE, SIG_DFL);
        if (dup2(pfd[1], STDOUT_FILENO) < 0)
            _exit(127);
        execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
        _exit(127);
    }
    setpgid(pid, pid);
    close(pfd[1]);
    how = secret_collect(pfd[0], timeout, &out);
    close(pfd[0]);
    if (how != 0)
        kill(-pid, SIGKILL);
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
        ;
    if (how == 1) {
        err_set(e, ERR_AUTH, "account %s: %s gave no answer within %d seconds", account, key,
                timeout);
        goto out;
    }
    if (how == 2) {
        err_set(e, ERR_AUTH, "account %s: %s printed more than %d bytes", account, key,
                SECRET_MAX_OUTPUT);
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
        err_set(e, ERR_AUTH, "account %s: %s printed nothing", account, key);
        goto out;
    }
    res = xstrdup(out.ptr);
out:
    wipe_buf(&out);
    return res;
}

/*
 * Passwords typed this session for accounts that configure none: asked once by the client
 * or on the terminal, or read from the client's private pipe (--password-fd). Memory only.
 */
static struct remembered {
    char *account;
    char *password;
} *mem;
static size_t nmem;

const char *secret_remembered(const char *account)
{
    for (size_t i = 0; i < nmem; i++)
        if (strcmp(mem[i].account, account) == 0)
            return mem[i].password;
    return NULL;
}

void secret_remember(const char *account, const char *password)
{
    for (size_t i = 0; i < nmem; i++)
        if (strcmp(mem[i].account, account) == 0) {
            secret_free(mem[i].password);
            mem[i].password = xstrdup(password);
            return;
        }
    mem = xreallocarray(mem, nmem + 1, sizeof *mem);
    mem[nmem].account = xstrdup(account);
    mem[nmem].password = xstrdup(password);
    nmem++;
}

void secret_forget(const char *account)
{
    for (size_t i = 0; i < nmem; i++)
        if (strcmp(mem[i].account, account) == 0) {
            free(mem[i].account);
            secret_free(mem[i].password);
            mem[i] = mem[--nmem];
            return;
        }
}

void secret_forget_all(void)
{
    for (size_t i = 0; i < nmem; i++) {
        free(mem[i].account);
        secret_free(mem[i].password);
    }
    free(mem);
    mem = NULL;
    nmem = 0;
}

/* Nothing configured for the use: secret_get falls back to a remembered password. */
static bool secret_unconfigured(const struct account *a, enum secret_use use)
{
    if (use == SECRET_SMTP && (a->smtp_password || a->smtp_password_command))
        return false;
    return !a->password && !a->password_command;
}

bool secret_missing(const struct account *a, enum secret_use use)
{
    return secret_unconfigured(a, use) && secret_remembered(a->name) == NULL;
}

bool secret_typed(const struct account *a, enum secret_use use)
{
    return secret_unconfigured(a, use) && secret_remembered(a->name) != NULL;
}

void secret_format(struct buf *out, const char *account, const char *password)
{
    buf_adds(out, account);
    buf_addc(out, '\t');
    buf_adds(out, password);
    buf_addc(out, '\n');
}

int secret_read_fd(int fd, struct err *e)
{
    struct buf in = BUF_INIT;
    size_t pos = 0;

    if (fs_read_fd(fd, &in) < 0) {
        wipe_buf(&in);
        return err_sys(e, "reading passwords from descriptor %d", fd);
    }
    close(fd);
    while (pos < in.len) {
        char *line = in.ptr + pos, *nl = memchr(line, '\n', in.len - pos), *tab;

        if (nl == NULL)
            break;
        *nl = '\0';
        tab = strchr(line, '\t');
        if (tab && tab > line && tab[1]) {
            *tab = '\0';
            secret_remember(line, tab + 1);
        }
        pos = (size_t)(nl - in.ptr) + 1;
    }
    wipe_buf(&in);
    return 0;
}

char *secret_get(const struct account *a, enum secret_use use, struct err *e)
{
    if (use == SECRET_SMTP) {
        if (a->smtp_password)
            return xstrdup(a->smtp_password);
        if (a->smtp_password_command)
            return secret_command(a->name, "smtp_password_command", a->smtp_password_command, e);
    }
    if (a->password)
        return xstrdup(a->password);
    if (a->password_command)
        return secret_command(a->name, "password_command", a->password_command, e);
    if (secret_remembered(a->name))
        return xstrdup(secret_remembered(a->name));
    err_set(e, ERR_AUTH, "account %s: no password: set password or password_command, or run "
            "tern on a terminal to be asked", a->name);
    return NULL;
}

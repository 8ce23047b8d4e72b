/* password / password_command: run the command with no terminal games, keep its first line. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
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

static char *secret_run(const char *account, const char *key, const char *cmd, struct err *e)
{
    struct buf out = BUF_INIT;
    int pfd[2], status;
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
        signal(SIGPIPE, SIG_DFL);
        if (dup2(pfd[1], STDOUT_FILENO) < 0)
            _exit(127);
        execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
        _exit(127);
    }
    close(pfd[1]);
    fs_read_fd(pfd[0], &out);
    close(pfd[0]);
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
        ;
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
            return secret_run(a->name, "smtp_password_command", a->smtp_password_command, e);
    }
    if (a->password)
        return xstrdup(a->password);
    if (a->password_command)
        return secret_run(a->name, "password_command", a->password_command, e);
    err_set(e, ERR_AUTH, "account %s: no password: set password or password_command", a->name);
    return NULL;
}

/* new_mail_command: the message summaries go into an environment array for execve. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "tern/header.h"
#include "tern/newmail.h"
#include "tern/str.h"
#include "tern/xalloc.h"

extern char **environ;

void newmail_add(struct newmail *nm, const char *path)
{
    nm->paths = xgrow(nm->paths, nm->n, &nm->cap, sizeof *nm->paths);
    nm->paths[nm->n++] = xstrdup(path);
}

void newmail_free(struct newmail *nm)
{
    for (size_t i = 0; i < nm->n; i++)
        free(nm->paths[i]);
    free(nm->paths);
    nm->paths = NULL;
    nm->n = nm->cap = 0;
}

void newmail_clean(const char *s, size_t max, struct buf *out)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t n = strlen(s), used = 0;

    while (n > 0) {
        size_t len = utf8_seqlen(p, n);
        unsigned cp;

        if (len == 0) {            /* invalid byte: dropped as a space */
            cp = ' ';
            len = 1;
        } else {
            cp = utf8_decode(p, len);
        }
        if (cp < 0x20 || cp == 0x7f || (cp >= 0x80 && cp <= 0x9f))
            cp = ' ';
        {
            char enc[4];
            size_t k = cp == ' ' ? 1 : utf8_encode(cp, enc);

            if (used + k > max)
                break;
            if (cp == ' ')
                buf_addc(out, ' ');
            else
                buf_add(out, enc, k);
            used += k;
        }
        p += len, n -= len;
    }
}

/* The decoded header field name of the file at path, or "" (new string). */
static char *newmail_field(const char *hdrs, size_t len, const char *name, bool addr)
{
    struct hdr_field f;
    char *v;

    if (hdr_find(hdrs, len, name, &f) != 1)
        return xstrdup("");
    v = addr ? addr_display(f.value, f.value_len) : hdr_decode(f.value, f.value_len);
    return v ? v : xstrdup("");
}

static void env_add(char ***env, size_t *n, size_t *cap, const char *name, const char *value)
{
    struct buf b = BUF_INIT;

    buf_adds(&b, name);
    buf_addc(&b, '=');
    newmail_clean(value, NEWMAIL_MAX_VALUE, &b);
    *env = xgrow(*env, *n + 1, cap, sizeof **env);
    (*env)[(*n)++] = buf_detach(&b);
    (*env)[*n] = NULL;
}

/* One message's From and Subject, read from its header block only. */
static void newmail_describe(const char *path, char **from, char **subject)
{
    char head[65536];
    ssize_t got = 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC);

    if (fd >= 0) {
        while ((size_t)got < sizeof head) {
            ssize_t r = read(fd, head + got, sizeof head - (size_t)got);

            if (r < 0 && errno == EINTR)
                continue;
            if (r <= 0)
                break;
            got += r;
        }
        close(fd);
    }
    {
        size_t hl = hdr_block_len(head, (size_t)got);

        *from = newmail_field(head, hl, "From", true);
        *subject = newmail_field(head, hl, "Subject", false);
    }
}

static char **newmail_env(const char *account, const char *folder, const struct newmail *nm)
{
    char **env = NULL, num[32], name[48];
    size_t n = 0, cap = 0;

    for (char **e = environ; e && *e; e++) {
        if (strncmp(*e, "TERN_", 5) == 0)
            continue;          /* ours replace any inherited ones */
        env = xgrow(env, n + 1, &cap, sizeof *env);
        env[n++] = xstrdup(*e);
        env[n] = NULL;
    }
    snprintf(num, sizeof num, "%zu", nm->n);
    env_add(&env, &n, &cap, "TERN_NEW_COUNT", num);
    env_add(&env, &n, &cap, "TERN_ACCOUNT", account);
    env_add(&env, &n, &cap, "TERN_FOLDER", folder);
    for (size_t i = 0; i < nm->n && i < NEWMAIL_MAX_LISTED; i++) {
        char *from, *subject;

        newmail_describe(nm->paths[i], &from, &subject);
        if (i == 0) {
            env_add(&env, &n, &cap, "TERN_FROM", from);
            env_add(&env, &n, &cap, "TERN_SUBJECT", subject);
        }
        snprintf(name, sizeof name, "TERN_FROM_%zu", i + 1);
        env_add(&env, &n, &cap, name, from);
        snprintf(name, sizeof name, "TERN_SUBJECT_%zu", i + 1);
        env_add(&env, &n, &cap, name, subject);
        snprintf(name, sizeof name, "TERN_FILE_%zu", i + 1);
        env_add(&env, &n, &cap, name, nm->paths[i]);
        free(from);
        free(subject);
    }
    return env;
}

int newmail_run(const struct config *cfg, const char *account, const char *folder,
                const struct newmail *nm, struct err *e)
{
    char **env;
    pid_t pid;
    int status = 0;
    struct timespec t0, now;

    if (cfg->new_mail_command == NULL || nm->n == 0)
        return 0;
    env = newmail_env(account, folder, nm);
    pid = fork();
    if (pid == 0) {
        int fd = open("/dev/null", O_RDWR | O_CLOEXEC);
        char *argv[] = { "sh", "-c", cfg->new_mail_command, NULL };

        signal(SIGPIPE, SIG_DFL);
        if (fd >= 0) {
            dup2(fd, STDIN_FILENO);
            dup2(fd, STDOUT_FILENO);
        }
        /* The mail's words are only in env: the script is the user's own text. */
        execve("/bin/sh", argv, env);
        _exit(127);
    }
    for (size_t i = 0; env[i]; i++)
        free(env[i]);
    free(env);
    if (pid < 0)
        return err_sys(e, "new_mail_command");
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (;;) {
        pid_t r = waitpid(pid, &status, WNOHANG);
        struct timespec ts = { 0, 20 * 1000 * 1000 };

        if (r == pid)
            break;
        if (r < 0 && errno != EINTR)
            return err_sys(e, "new_mail_command");
        clock_gettime(CLOCK_MONOTONIC, &now);
        if (now.tv_sec - t0.tv_sec >= 30)
            return err_set(e, ERR_TEMP, "new_mail_command still runs after 30 s; left running");
        nanosleep(&ts, NULL);
    }
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
        return err_set(e, ERR_PERM, "new_mail_command failed (%s %d)",
                       WIFEXITED(status) ? "exit status" : "signal",
                       WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status));
    return 0;
}

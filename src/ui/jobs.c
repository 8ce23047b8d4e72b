/* Background work as child processes (`tern fetch --progress`, `tern flush --progress`): their
 * output arrives line by line over a pipe the loop polls; a signal cancels them; whatever they
 * do (hang, crash, fail) the screen stays ours and shows their last words. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tern/xalloc.h"
#include "ui.h"

#define JOB_LINE_MAX 4096

struct job {
    struct job *next;
    char name[16];
    pid_t pid;
    int fd;                      /* read end of the child's stdout+stderr, -1 at EOF */
    struct buf in;               /* a partial line */
    char last[300];              /* the last complete line */
    char progress[160];          /* the last progress line, shown in the status bar */
    bool exited;
    int status;
};

int job_start(struct app *a, const char *name, char *const argv[])
{
    int p[2];
    pid_t pid;
    struct job *j;

    if (pipe2(p, O_CLOEXEC) < 0) {
        app_err(a, "%s: pipe: %s", name, strerror(errno));
        return -1;
    }
    pid = fork();
    if (pid < 0) {
        app_err(a, "%s: fork: %s", name, strerror(errno));
        close(p[0]);
        close(p[1]);
        return -1;
    }
    if (pid == 0) {
        int null = open("/dev/null", O_RDONLY);
        struct sigaction sa;

        /* Its own process group, so a cancel reaches whatever it starts (password_command). */
        setpgid(0, 0);
        memset(&sa, 0, sizeof sa);
        sa.sa_handler = SIG_DFL;
        for (int s = 1; s < 32; s++)
            if (s != SIGKILL && s != SIGSTOP)
                sigaction(s, &sa, NULL);
        signal(SIGINT, SIG_IGN);  /* ^C on the terminal is for the client, not for us */
        if (null >= 0)
            dup2(null, 0);
        dup2(p[1], 1);
        dup2(p[1], 2);
        execv(app_self(), argv);
        {
            static const char msg[] = "cannot run tern\n";
            (void)!write(2, msg, sizeof msg - 1);
        }
        _exit(127);
    }
    setpgid(pid, pid);
    close(p[1]);
    fcntl(p[0], F_SETFL, fcntl(p[0], F_GETFL) | O_NONBLOCK);
    j = xcalloc(1, sizeof *j);
    snprintf(j->name, sizeof j->name, "%s", name);
    j->pid = pid;
    j->fd = p[0];
    buf_init(&j->in);
    snprintf(j->progress, sizeof j->progress, "%s: starting", name);
    j->next = a->jobs;
    a->jobs = j;
    a->dirty = true;
    return 0;
}

int jobs_pollfds(struct app *a, struct pollfd *fds, int max)
{
    int n = 0;

    for (struct job *j = a->jobs; j && n < max; j = j->next)
        if (j->fd >= 0) {
            fds[n].fd = j->fd;
            fds[n].events = POLLIN;
            fds[n].revents = 0;
            n++;
        }
    return n;
}

/*
 * One line from a child. The progress protocol is line based: "progress ..." lines are shown
 * as they come; "new N" / "delivered ..." lines mean mail arrived (refresh the list now); any
 * other line is kept as the last words, shown when the job fails.
 */
static void job_line(struct app *a, struct job *j, char *line)
{
    size_t n = strlen(line);

    while (n > 0 && (line[n - 1] == '\r' || line[n - 1] == ' '))
        line[--n] = '\0';
    if (n == 0)
        return;
    for (char *p = line; *p; p++)
        if ((unsigned char)*p < 32)
            *p = ' ';
    if (strncmp(line, "progress ", 9) == 0 || strncmp(line, "progress:", 9) == 0) {
        snprintf(j->progress, sizeof j->progress, "%s: %s", j->name, line + 9);
    } else {
        snprintf(j->last, sizeof j->last, "%s", line);
        snprintf(j->progress, sizeof j->progress, "%s: %s", j->name, line);
    }
    if (strncmp(line, "new ", 4) == 0 || strncmp(line, "delivered", 9) == 0 ||
        strstr(line, "deliver") != NULL)
        list_refresh(a);
    a->dirty = true;
}

static void job_finish(struct app *a, struct job *j)
{
    int st = j->status;
    char why[400];

    if (WIFEXITED(st) && WEXITSTATUS(st) == 0) {
        app_job_done(a, j->name, 0, j->last);
        return;
    }
    if (WIFSIGNALED(st))
        snprintf(why, sizeof why, "%s stopped by signal %d%s%s", j->name, WTERMSIG(st),
                 j->last[0] ? ": " : "", j->last);
    else
        snprintf(why, sizeof why, "%s failed (exit %d)%s%s", j->name, WEXITSTATUS(st),
                 j->last[0] ? ": " : "", j->last);
    app_job_done(a, j->name, WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st), why);
}

static void jobs_collect(struct app *a)
{
    struct job **pp = &a->jobs;

    while (*pp) {
        struct job *j = *pp;

        if (j->exited && j->fd < 0) {
            *pp = j->next;
            if (j->in.len > 0) {
                char *l = xstrdup(buf_cstr(&j->in));
                job_line(a, j, l);
                free(l);
            }
            job_finish(a, j);
            buf_free(&j->in);
            free(j);
            a->dirty = true;
        } else {
            pp = &j->next;
        }
    }
}

void jobs_input(struct app *a, int fd)
{
    for (struct job *j = a->jobs; j; j = j->next) {
        char chunk[4096];
        ssize_t n;

        if (j->fd != fd)
            continue;
        while ((n = read(fd, chunk, sizeof chunk)) > 0) {
            char *nl;

            buf_add(&j->in, chunk, (size_t)n);
            while ((nl = memchr(j->in.ptr, '\n', j->in.len)) != NULL) {
                *nl = '\0';
                job_line(a, j, j->in.ptr);
                buf_consume(&j->in, (size_t)(nl - j->in.ptr) + 1);
            }
            if (j->in.len > JOB_LINE_MAX)   /* a child that never ends its line */
                buf_reset(&j->in);
        }
        if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
            close(j->fd);
            j->fd = -1;
        }
        break;
    }
    jobs_collect(a);
}

void jobs_reap(struct app *a)
{
    pid_t pid;
    int st;

    while ((pid = waitpid(-1, &st, WNOHANG)) > 0)
        for (struct job *j = a->jobs; j; j = j->next)
            if (j->pid == pid) {
                j->exited = true;
                j->status = st;
            }
    jobs_collect(a);
}

void jobs_cancel_all(struct app *a)
{
    int n = 0;

    for (struct job *j = a->jobs; j; j = j->next)
        if (!j->exited) {
            kill(-j->pid, SIGTERM);
            n++;
        }
    if (n)
        app_msg(a, "Cancelling %d background job%s...", n, n == 1 ? "" : "s");
    else
        app_msg(a, "Nothing runs in the background.");
}

bool jobs_running(const struct app *a, const char *name)
{
    for (const struct job *j = a->jobs; j; j = j->next)
        if (strcmp(j->name, name) == 0)
            return true;
    return false;
}

void jobs_status(const struct app *a, char *out, size_t n)
{
    size_t off = 0;

    out[0] = '\0';
    for (const struct job *j = a->jobs; j && off + 4 < n; j = j->next) {
        int w = snprintf(out + off, n - off, "%s[%s] ", off ? "" : " ", j->progress);

        if (w < 0)
            break;
        off += (size_t)w < n - off ? (size_t)w : n - off - 1;
    }
}

void jobs_free(struct app *a)
{
    while (a->jobs) {
        struct job *j = a->jobs;

        a->jobs = j->next;
        if (j->fd >= 0)
            close(j->fd);
        buf_free(&j->in);
        free(j);
    }
}

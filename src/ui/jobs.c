/* Background work as child processes (`tern fetch --progress`, `tern flush --progress`): their
 * output arrives line by line over a pipe the loop polls; a signal cancels them; whatever they
 * do (hang, crash, fail) the screen stays ours and shows their last words. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
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
    char summary[200];           /* what a successful run did ("demo: 3 new") */
    bool had_error;
    bool exited;
    int status;
    const struct job_ops *ops;   /* told of changes and of the end */
};

int job_start(struct app *a, const char *name, char *const argv[], const struct job_ops *ops)
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
        /* stdout, stderr and the --progress-fd 3 protocol share the one pipe. */
        if (p[1] == 3)
            fcntl(3, F_SETFD, 0);
        else
            dup2(p[1], 3);
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
    j->ops = ops;
    buf_init(&j->in);
    snprintf(j->progress, sizeof j->progress, "%s: %s", name,
             strcmp(name, "index") == 0 ? "reading headers" : "starting");
    j->next = a->jobs;
    a->jobs = j;
    app_dirty(a, -1);
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

/* snprintf that may cut: status texts are bounded on purpose. */
static void setf(char *dst, size_t n, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void setf(char *dst, size_t n, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    (void)vsnprintf(dst, n, fmt, ap);
    va_end(ap);
}

/*
 * One line from a child: its --progress-fd protocol (fetch: "start ACCT", "progress ACCT PHASE
 * DONE TOTAL BYTES BYTES_TOTAL", "done ACCT N ...", "error ACCT CLASS N MESSAGE"; flush:
 * "start N", "connect ACCT", "sent D T ID REPLY", "deferred|failed|held D T ID TEXT",
 * "refused ID ADDR TEXT", "done SENT DEFERRED FAILED", "error MESSAGE") mixed with its
 * ordinary output.
 * Progress goes to the status bar; errors are kept as the job's last words; delivered mail
 * shows on the next one-second refresh.
 */
static void job_line(struct app *a, struct job *j, char *line)
{
    size_t n = strlen(line);
    char w[5][64];
    int nw, off = 0;
    const char *rest;

    while (n > 0 && (line[n - 1] == '\r' || line[n - 1] == ' '))
        line[--n] = '\0';
    if (n == 0)
        return;
    for (char *p = line; *p; p++)
        if ((unsigned char)*p < 32)
            *p = ' ';
    app_dirty(a, -1);
    nw = sscanf(line, "%63s %63s %63s %63s %63s%n", w[0], w[1], w[2], w[3], w[4], &off);
    rest = off > 0 && off <= (int)n ? line + off : "";
    while (*rest == ' ')
        rest++;
    if (nw >= 1 && strcmp(w[0], "progress") == 0 && nw >= 5) {
        if (strcmp(w[2], "retr") == 0) {
            setf(j->progress, sizeof j->progress, "%s %s: %s/%s", j->name, w[1], w[3], w[4]);
            /* The list catches up on the loop's one-second timer while a job runs: new
             * messages show while the rest arrive, without a refresh per line. */
        } else {
            setf(j->progress, sizeof j->progress, "%s %s: %s", j->name, w[1], w[2]);
        }
        return;
    }
    if (nw >= 2 && strcmp(w[0], "start") == 0) {
        setf(j->progress, sizeof j->progress, "%s: %s%s", j->name,
                 strcmp(j->name, "flush") == 0 ? "messages due: " : "", w[1]);
        return;
    }
    if (nw >= 2 && strcmp(w[0], "connect") == 0) {
        setf(j->progress, sizeof j->progress, "%s: connecting (%s)", j->name, w[1]);
        return;
    }
    if (nw >= 3 && (strcmp(w[0], "sent") == 0 || strcmp(w[0], "deferred") == 0 ||
                    strcmp(w[0], "failed") == 0 || strcmp(w[0], "held") == 0)) {
        setf(j->progress, sizeof j->progress, "%s: %s %s/%s", j->name, w[0], w[1], w[2]);
        if (strcmp(w[0], "sent") != 0)
            setf(j->last, sizeof j->last, "%s: %s", w[0], rest);
        /* no refresh per message: with Outbox open that reread the whole queue for each
         * of hundreds of lines; the loop's one-second timer shows the progress */
        return;
    }
    if (nw >= 2 && strcmp(w[0], "refused") == 0) {
        setf(j->last, sizeof j->last, "refused %s: %s", nw >= 3 ? w[2] : "", rest);
        return;
    }
    if (nw >= 2 && strcmp(w[0], "done") == 0) {
        if (strcmp(j->name, "fetch") == 0 && nw >= 3) {
            char prev[sizeof j->summary];

            memcpy(prev, j->summary, sizeof prev);
            setf(j->summary, sizeof j->summary, "%s%s%s: %s new", prev, prev[0] ? ", " : "",
                 w[1], w[2]);
        } else if (nw >= 4) {
            setf(j->summary, sizeof j->summary, "%s sent, %s deferred, %s failed", w[1], w[2],
                 w[3]);
        }
        if (j->ops->changed)
            j->ops->changed(a);
        return;
    }
    if (nw >= 1 && strcmp(w[0], "error") == 0) {
        /* fetch: "error ACCT CLASS N MESSAGE"; flush: "error MESSAGE". */
        if (strcmp(j->name, "fetch") == 0 && nw >= 4) {
            const char *msg = line + 6;

            for (int k = 0; k < 3 && msg; k++) {
                msg = strchr(msg, ' ');
                if (msg)
                    msg++;
            }
            setf(j->last, sizeof j->last, "%s: %s", w[1], msg ? msg : "");
        } else {
            setf(j->last, sizeof j->last, "%s", line + 6);
        }
        j->had_error = true;
        return;
    }
    /* Ordinary output: keep it as the last words unless the protocol said more. */
    if (!j->had_error)
        setf(j->last, sizeof j->last, "%s", line);
}

static void job_finish(struct app *a, struct job *j)
{
    int st = j->status;
    char why[400];

    if (WIFEXITED(st) && WEXITSTATUS(st) == 0 && !j->had_error) {
        j->ops->done(a, j->name, 0, j->summary[0] ? j->summary : j->last);
        return;
    }
    if (WIFEXITED(st) && j->summary[0]) {
        /* It ran to its end but not everything went through (deferred, a refused login):
         * the summary with the server's reason. */
        setf(why, sizeof why, "%s: %s%s%s", j->name, j->summary, j->last[0] ? "; " : "",
             j->last);
        j->ops->done(a, j->name, WEXITSTATUS(st) ? WEXITSTATUS(st) : 1, why);
        return;
    }
    if (WIFSIGNALED(st))
        snprintf(why, sizeof why, "%s stopped by signal %d%s%s", j->name, WTERMSIG(st),
                 j->last[0] ? ": " : "", j->last);
    else
        snprintf(why, sizeof why, "%s failed (exit %d)%s%s", j->name, WEXITSTATUS(st),
                 j->last[0] ? ": " : "", j->last);
    j->ops->done(a, j->name, WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st), why);
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
            app_dirty(a, -1);
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

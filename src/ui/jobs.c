/* Background work as child processes (`tern fetch|flush|index --worker-fd 3`): their events
 * arrive over a pipe of their own that the loop polls (tern/worker.h parses them), their
 * ordinary output over another; a signal cancels them; whatever they do (hang, crash, fail)
 * the screen stays ours and shows their last words. */
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

#include "tern/fsutil.h"
#include "tern/secret.h"
#include "tern/xalloc.h"
#include "ui.h"

#define JOB_LINE_MAX WORKER_LINE_MAX

/* One pipe from the child, read line by line. */
struct stream {
    int fd;                      /* -1 at EOF */
    struct buf in;               /* a partial line */
};

struct job {
    struct job *next;
    const struct job_ops *ops;
    pid_t pid;
    struct stream proto;         /* the worker protocol (child's fd 3) */
    struct stream out;           /* the child's stdout and stderr */
    char last[600];              /* its last words: every error (";"), or output line */
    char progress[160];          /* the last progress, shown in the status bar */
    char summary[200];           /* what a successful run did ("demo: 3 new") */
    bool had_error;
    bool said_done;              /* the worker wrote "done": it ended by itself */
    bool changed;                /* mail was delivered or sent since the last settle */
    bool exited;
    int status;
};

static struct jobs_listener listeners[JOBS_MAX_LISTENERS];
static size_t nlisteners;

int jobs_listen(const struct jobs_listener *l)
{
    if (nlisteners == JOBS_MAX_LISTENERS)
        return -1;
    listeners[nlisteners++] = *l;
    return 0;
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

/* The child's side: its own process group, default signals, fd 3 the protocol pipe, 1 and
 * 2 the output pipe; never returns. */
static void job_child(int wfd, int ofd, int sfd, char *const argv[])
{
    int null = open("/dev/null", O_RDONLY | O_CLOEXEC);
    struct sigaction sa;

    /* Its own process group, so a cancel reaches whatever it starts (password_command). */
    setpgid(0, 0);
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = SIG_DFL;
    for (int s = 1; s < 32; s++)
        if (s != SIGKILL && s != SIGSTOP)
            sigaction(s, &sa, NULL);
    signal(SIGINT, SIG_IGN);  /* ^C on the terminal is for the client, not for us */
    /* Out of the way of 0-3 first, so that no dup2 below overwrites the other pipe. */
    wfd = fcntl(wfd, F_DUPFD_CLOEXEC, 10);
    ofd = fcntl(ofd, F_DUPFD_CLOEXEC, 10);
    if (sfd >= 0)
        sfd = fcntl(sfd, F_DUPFD_CLOEXEC, 10);
    if (null >= 0)
        dup2(null, 0);
    /* Typed passwords come on descriptor 4 (--password-fd 4), never in argv or environ. */
    if (wfd >= 0 && ofd >= 0 && dup2(ofd, 1) == 1 && dup2(ofd, 2) == 2 && dup2(wfd, 3) == 3 &&
        (sfd < 0 || dup2(sfd, 4) == 4))
        execv(app_self(), argv);
    {
        static const char msg[] = "cannot run tern\n";
        (void)!write(2, msg, sizeof msg - 1);
    }
    _exit(127);
}

int job_start(struct app *a, const struct job_ops *k, char *const args[])
{
    return job_start_secret(a, k, args, NULL, 0);
}

int job_start_secret(struct app *a, const struct job_ops *k, char *const args[],
                     const char *secret, size_t secret_len)
{
    char *argv[24];
    int n = 0, wp[2], op[2], sp[2] = { -1, -1 };
    pid_t pid;
    struct job *j;

    argv[n++] = "tern";
    if (a->g->config_path) {
        argv[n++] = "-c";
        argv[n++] = (char *)a->g->config_path;
    }
    argv[n++] = (char *)k->name;
    argv[n++] = "--worker-fd";
    argv[n++] = "3";
    for (size_t i = 0; args && args[i] && n < 23; i++)
        argv[n++] = args[i];
    argv[n] = NULL;
    if (pipe2(wp, O_CLOEXEC) < 0) {
        app_err(a, "%s: pipe: %s", k->name, strerror(errno));
        return -1;
    }
    if (pipe2(op, O_CLOEXEC) < 0) {
        app_err(a, "%s: pipe: %s", k->name, strerror(errno));
        close(wp[0]);
        close(wp[1]);
        return -1;
    }
    if (secret && pipe2(sp, O_CLOEXEC) < 0) {
        app_err(a, "%s: pipe: %s", k->name, strerror(errno));
        close(wp[0]), close(wp[1]), close(op[0]), close(op[1]);
        return -1;
    }
    pid = fork();
    if (pid == 0)
        job_child(wp[1], op[1], sp[0], argv);
    close(wp[1]);
    close(op[1]);
    if (sp[0] >= 0) {
        /* A few short lines: the pipe's buffer holds them, the write cannot block. */
        if (pid > 0)
            (void)fs_write_all(sp[1], secret, secret_len);
        close(sp[1]);
        close(sp[0]);
    }
    if (pid < 0) {
        app_err(a, "%s: fork: %s", k->name, strerror(errno));
        close(wp[0]);
        close(op[0]);
        return -1;
    }
    setpgid(pid, pid);
    fcntl(wp[0], F_SETFL, fcntl(wp[0], F_GETFL) | O_NONBLOCK);
    fcntl(op[0], F_SETFL, fcntl(op[0], F_GETFL) | O_NONBLOCK);
    j = xcalloc(1, sizeof *j);
    j->ops = k;
    j->pid = pid;
    j->proto.fd = wp[0];
    j->out.fd = op[0];
    buf_init(&j->proto.in);
    buf_init(&j->out.in);
    setf(j->progress, sizeof j->progress, "%s: %s", k->name, k->starting);
    j->next = a->jobs;
    a->jobs = j;
    app_dirty(a, -1);
    return 0;
}

int jobs_pollfds(struct app *a, struct pollfd *fds, int max)
{
    int n = 0;

    for (struct job *j = a->jobs; j; j = j->next)
        for (int s = 0; s < 2 && n < max; s++) {
            int fd = s ? j->out.fd : j->proto.fd;

            if (fd >= 0) {
                fds[n].fd = fd;
                fds[n].events = POLLIN;
                fds[n].revents = 0;
                n++;
            }
        }
    return n;
}

/*
 * A failure the child reported: kept with the ones before it (two failing accounts both
 * show) and put in the message log at once with the job's name.
 */
static void note_error(struct app *a, struct job *j, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void note_error(struct app *a, struct job *j, const char *fmt, ...)
{
    char one[400], log[420];
    size_t len = strlen(j->last);
    va_list ap;

    va_start(ap, fmt);
    (void)vsnprintf(one, sizeof one, fmt, ap);
    va_end(ap);
    if (!j->had_error || len == 0)
        setf(j->last, sizeof j->last, "%s", one);
    else if (strstr(j->last, one) == NULL)      /* the same reason twice says it once */
        setf(j->last + len, sizeof j->last - len, "; %s", one);
    j->had_error = true;
    snprintf(log, sizeof log, "%s: %s", j->ops->name, one);
    msglog_add(a, true, log);
}

/* What the status bar and the job's end report make of an event. */
static void job_event(struct app *a, struct job *j, const struct worker_event *ev)
{
    const char *name = j->ops->name;
    char prev[sizeof j->summary];

    switch (ev->kind) {
    case WEV_NEW:
    case WEV_SENT:
        j->changed = true;
        break;
    case WEV_PROGRESS:
        if (strcmp(ev->phase, "retr") == 0)
            setf(j->progress, sizeof j->progress, "%s %s: %llu/%llu", name, ev->unit,
                 ev->num[0], ev->num[1]);
        else if (strcmp(ev->phase, "send") == 0)
            setf(j->progress, sizeof j->progress, "%s: %llu/%llu", name, ev->num[0],
                 ev->num[1]);
        else if (strcmp(ev->phase, "connect") == 0)
            setf(j->progress, sizeof j->progress, "%s: connecting (%s)", name, ev->unit);
        else
            setf(j->progress, sizeof j->progress, "%s %s: %s", name, ev->unit, ev->phase);
        break;
    case WEV_DEFERRED:
    case WEV_HELD:
    case WEV_FAILED:
        j->changed = true;          /* the Outbox shows the state */
        note_error(a, j, "%s: %s", worker_kind_name(ev->kind), ev->text);
        break;
    case WEV_REFUSED:
        note_error(a, j, "refused %s: %s", ev->addr, ev->text);
        break;
    case WEV_FETCHED:
        memcpy(prev, j->summary, sizeof prev);
        setf(j->summary, sizeof j->summary, "%s%s%s: %llu new", prev, prev[0] ? ", " : "",
             ev->unit, ev->num[0]);
        break;
    case WEV_FLUSHED:
        setf(j->summary, sizeof j->summary, "%llu sent, %llu deferred, %llu failed",
             ev->num[0], ev->num[1], ev->num[2]);
        break;
    case WEV_INDEXED:
        setf(j->summary, sizeof j->summary, "%s: %llu messages", ev->folder, ev->num[0]);
        break;
    case WEV_ERROR:
        if (ev->unit[0] && strcmp(ev->unit, "-") != 0)
            note_error(a, j, "%s: %s", ev->unit, ev->text);
        else
            note_error(a, j, "%s", ev->text);
        /* A refused password typed this session is asked again next time. */
        if (ev->cls == ERR_AUTH && ev->unit[0] && secret_remembered(ev->unit))
            secret_forget(ev->unit);
        break;
    case WEV_DONE:
        j->said_done = true;
        break;
    default:
        break;
    }
}

/* One protocol line: parsed, then shown, then told to the subscribers. */
static void job_proto_line(struct app *a, struct job *j, const char *line, size_t n)
{
    static struct worker_event ev;      /* 4 KiB: not on the stack of every read */
    struct err e;

    if (n == 0)
        return;
    app_dirty(a, -1);
    if (worker_parse(line, n, &ev, &e) < 0) {
        if (!j->had_error)
            setf(j->last, sizeof j->last, "%s", e.msg);
        return;
    }
    job_event(a, j, &ev);
    for (size_t i = 0; i < nlisteners; i++)
        if (listeners[i].event)
            listeners[i].event(a, j->ops->name, &ev, listeners[i].arg);
}

/* Ordinary output: the job's last words unless the protocol said more. */
static void job_out_line(struct job *j, char *line)
{
    size_t n = strlen(line);

    while (n > 0 && (line[n - 1] == '\r' || line[n - 1] == ' '))
        line[--n] = '\0';
    if (n == 0 || j->had_error)
        return;
    for (char *p = line; *p; p++)
        if ((unsigned char)*p < 32)
            *p = ' ';
    setf(j->last, sizeof j->last, "%s", line);
}

static void job_line(struct app *a, struct job *j, struct stream *s, char *line, size_t n)
{
    if (s == &j->proto)
        job_proto_line(a, j, line, n);
    else
        job_out_line(j, line);
}

/* Read what is there; lines to job_line; EOF or an error closes the stream. */
static void stream_read(struct app *a, struct job *j, struct stream *s)
{
    char chunk[4096];
    ssize_t n;

    while ((n = read(s->fd, chunk, sizeof chunk)) > 0) {
        char *nl;

        buf_add(&s->in, chunk, (size_t)n);
        while ((nl = memchr(s->in.ptr, '\n', s->in.len)) != NULL) {
            *nl = '\0';
            job_line(a, j, s, s->in.ptr, (size_t)(nl - s->in.ptr));
            buf_consume(&s->in, (size_t)(nl - s->in.ptr) + 1);
        }
        if (s->in.len > JOB_LINE_MAX)   /* a child that never ends its line */
            buf_reset(&s->in);
    }
    if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
        close(s->fd);
        s->fd = -1;
        if (s->in.len > 0) {              /* a last line without its newline */
            char *l = xstrdup(buf_cstr(&s->in));

            job_line(a, j, s, l, strlen(l));
            free(l);
            buf_reset(&s->in);
        }
    }
}

/* Every job's starter and every listener applies what this turn's events said. */
static void jobs_settle(struct app *a)
{
    for (struct job *j = a->jobs; j; j = j->next)
        if (j->changed) {
            j->changed = false;
            if (j->ops->changed)
                j->ops->changed(a);
        }
    for (size_t i = 0; i < nlisteners; i++)
        if (listeners[i].settled)
            listeners[i].settled(a, listeners[i].arg);
}

static void job_finish(struct app *a, struct job *j, int st);

static void jobs_collect(struct app *a)
{
    struct job **pp = &a->jobs;

    while (*pp) {
        struct job *j = *pp;

        if (j->exited && j->proto.fd < 0 && j->out.fd < 0) {
            *pp = j->next;
            job_finish(a, j, j->status);
            buf_free(&j->proto.in);
            buf_free(&j->out.in);
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
        if (j->proto.fd == fd)
            stream_read(a, j, &j->proto);
        else if (j->out.fd == fd)
            stream_read(a, j, &j->out);
        else
            continue;
        break;
    }
    jobs_settle(a);
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

bool jobs_running(const struct app *a, enum job_kind kind)
{
    for (const struct job *j = a->jobs; j; j = j->next)
        if (j->ops->kind == kind)
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
        if (j->proto.fd >= 0)
            close(j->proto.fd);
        if (j->out.fd >= 0)
            close(j->out.fd);
        buf_free(&j->proto.in);
        buf_free(&j->out.in);
        free(j);
    }
}

/* ---- the end of a job ---- */

/* Tell the starter how it ended: the summary, or why not everything went through. */
static void job_finish(struct app *a, struct job *j, int st)
{
    const char *name = j->ops->name;
    char why[800];

    if (j->ops->done == NULL)
        return;
    if (WIFEXITED(st) && WEXITSTATUS(st) == 0 && !j->had_error) {
        j->ops->done(a, name, 0, j->summary[0] ? j->summary : j->last);
        return;
    }
    if (WIFEXITED(st) && j->summary[0]) {
        /* It ran to its end but not everything went through (deferred, a refused login):
         * the summary with the server's reason. */
        setf(why, sizeof why, "%s: %s%s%s", name, j->summary, j->last[0] ? "; " : "",
             j->last);
        j->ops->done(a, name, WEXITSTATUS(st) ? WEXITSTATUS(st) : 1, why);
        return;
    }
    if (WIFSIGNALED(st))
        setf(why, sizeof why, "%s stopped by signal %d%s%s", name, WTERMSIG(st),
             j->last[0] ? ": " : "", j->last);
    else if (WEXITSTATUS(st) == 130 && j->said_done)
        setf(why, sizeof why, "%s cancelled%s%s", name, j->summary[0] ? ": " : "",
             j->summary);
    else
        setf(why, sizeof why, "%s failed (exit %d)%s%s", name, WEXITSTATUS(st),
             j->last[0] ? ": " : "", j->last);
    j->ops->done(a, name, WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st), why);
}

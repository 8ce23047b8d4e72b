/*
 * Background work as child processes of the client: `tern fetch|flush|index --worker-fd 3`.
 * Each child speaks the worker protocol (tern/worker.h) on a pipe of its own (its fd 3); its
 * stdout and stderr go to a second pipe and are kept only as its last words. The starter of
 * a job gives it a struct job_ops (what it runs, what to do when mail changed and when it
 * ends); subscribers (jobs_listen: the open folder's session) learn from the events what
 * changed -- new mail in a folder, a sent message -- instead of polling directories.
 */
#ifndef TERN_UI_JOBS_H
#define TERN_UI_JOBS_H

#include <poll.h>
#include <stdbool.h>
#include <stddef.h>

#include "tern/worker.h"

struct app;

/* A kind of job, given by its starter. */
/* What a job does: at most one of each kind runs. */
enum job_kind { JOB_FETCH, JOB_FLUSH, JOB_INDEX };

struct job_ops {
    enum job_kind kind;
    const char *name;            /* the worker subcommand: "fetch", "flush", "index" */
    const char *starting;        /* the status text until the first event */
    /* The worker delivered, sent or deferred mail (once per batch of events); may be NULL. */
    void (*changed)(struct app *a);
    /* It ended: status 0 for success; text its summary, or why not (server's reply). */
    void (*done)(struct app *a, const char *name, int status, const char *text);
};

/*
 * Start `tern [-c FILE] NAME --worker-fd 3 ARGS...` (args NULL-terminated, may be NULL).
 * 0, or -1 with the reason shown.
 */
int job_start(struct app *a, const struct job_ops *ops, char *const args[]);
/* The same, with secret (secret_len bytes) on a private pipe that the child reads as
 * descriptor 4 (args say --password-fd 4): never in argv or the environment. */
int job_start_secret(struct app *a, const struct job_ops *ops, char *const args[],
                     const char *secret, size_t secret_len);
/* A job of this kind runs. */
bool jobs_running(const struct app *a, enum job_kind kind);
/* Add the jobs' pipes to fds (at most max); returns how many were added. */
int jobs_pollfds(struct app *a, struct pollfd *fds, int max);
/* Read what is ready on fd, hand each event to its job and the subscribers. */
void jobs_input(struct app *a, int fd);
/* Reap exited children (after SIGCHLD). */
void jobs_reap(struct app *a);
/* SIGTERM to every job's process group (a fetch stops at a message boundary). */
void jobs_cancel_all(struct app *a);
/* One short line for the status bar, or "" when idle. */
void jobs_status(const struct app *a, char *out, size_t n);
void jobs_free(struct app *a);

/*
 * Subscribing to what the workers report. event() sees every event of every job in order
 * (ev and its strings are valid during the call only); settled() is called once after the
 * events read in one turn of the loop, so a subscriber collects in event() and applies in
 * settled() -- once per batch, not once per message of a large fetch. Either may be NULL.
 * At most JOBS_MAX_LISTENERS; the struct is copied. 0, or -1 when full.
 */
struct jobs_listener {
    void (*event)(struct app *a, const char *job, const struct worker_event *ev, void *arg);
    void (*settled)(struct app *a, void *arg);
    void *arg;
};
#define JOBS_MAX_LISTENERS 4
int jobs_listen(const struct jobs_listener *l);

#endif

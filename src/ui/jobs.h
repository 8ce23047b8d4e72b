/*
 * Background work as child processes of the client: `tern fetch|flush|index --worker-fd 3`.
 * Each child speaks the worker protocol (tern/worker.h) on a pipe of its own (its fd 3);
 * its stdout and stderr go to a second pipe and are kept only as its last words. A job kind
 * says what its events and its end mean; subscribers (the list/model) learn from the events
 * what changed (new mail in a folder, a sent message) instead of polling directories.
 */
#ifndef TERN_UI_JOBS_H
#define TERN_UI_JOBS_H

#include <poll.h>
#include <stdbool.h>
#include <stddef.h>

#include "tern/worker.h"

struct app;
struct job;

/* A kind of job: what it runs and what its end means to the client. */
struct job_kind {
    const char *name;            /* "fetch", "flush", "index": the worker subcommand */
    const char *starting;        /* the status text until the first event */
    /* The child exited (status as from waitpid) and every line of it has been read. */
    void (*finish)(struct app *a, struct job *j, int status);
};
extern const struct job_kind job_fetch, job_flush, job_index;

/*
 * Start `tern [-c FILE] KIND --worker-fd 3 ARGS...` (args: NULL-terminated, may be NULL).
 * 0, or -1 with the reason shown. One job of a kind at a time: the caller checks
 * jobs_running first.
 */
int job_start(struct app *a, const struct job_kind *k, char *const args[]);
bool jobs_running(const struct app *a, const struct job_kind *k);
/* Add the jobs' pipes to fds (at most max); returns how many were added. */
int jobs_pollfds(struct app *a, struct pollfd *fds, int max);
/* Read what is ready on fd, hand each event to its job and the subscribers. */
void jobs_input(struct app *a, int fd);
/* Reap exited children (after SIGCHLD). */
void jobs_reap(struct app *a);
/* SIGTERM to every job's process group (fetch stops at a message boundary). */
void jobs_cancel_all(struct app *a);
/* One short line for the status bar, or "" when idle. */
void jobs_status(const struct app *a, char *out, size_t n);
void jobs_free(struct app *a);

/*
 * Subscribing to what the workers report. event() sees every event of every job, in order
 * (ev and its strings are valid during the call only); settled() is called once after the
 * events read in one turn of the loop, so a subscriber collects in event() and applies in
 * settled() — once per batch, not once per message of a large fetch. Either may be NULL.
 * At most JOBS_MAX_LISTENERS; the struct is copied.
 */
struct jobs_listener {
    void (*event)(struct app *a, const struct job_kind *k, const struct worker_event *ev,
                  void *arg);
    void (*settled)(struct app *a, void *arg);
    void *arg;
};
#define JOBS_MAX_LISTENERS 4
int jobs_listen(const struct jobs_listener *l);

#endif

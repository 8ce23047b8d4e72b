/*
 * The flusher: delivers the queue's due messages over SMTP, one session per account, and
 * records each outcome in the queue (tern/queue.h) as soon as it is known.
 */
#ifndef TERN_FLUSH_H
#define TERN_FLUSH_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "tern/buf.h"
#include "tern/config.h"
#include "tern/err.h"
#include "tern/queue.h"

/* The bytes to transmit for a stored message: without its Bcc and Resent-Bcc fields (the
 * envelope carries those recipients), everything else byte for byte. Appended to out. */
void flush_wire_form(const char *msg, size_t n, struct buf *out);

/* ---- flushing ---- */

enum queue_event_kind {
    QEV_START,        /* total = messages due */
    QEV_CONNECT,      /* text = account */
    QEV_SENT,         /* a message accepted (text = final reply; partial refusals in ent) */
    QEV_DEFERRED,     /* temporary failure, stays queued (text = reason) */
    QEV_FAILED,       /* permanent failure or lifetime over (text = reason) */
    QEV_REFUSED,      /* one recipient refused for good (addr, text = reply) */
    QEV_HELD,         /* the account cannot deliver: held until its settings change or a
                       * retry is asked for (text = reason, the server's reply) */
    QEV_AUTH,         /* the server refused a password typed this session (addr = the
                       * account, text = the reply): forget it, ask again */
};

struct queue_event {
    enum queue_event_kind kind;
    const struct queue_entry *ent;
    const char *addr;
    const char *text;
    size_t done, total;
};

typedef void (*queue_event_fn)(const struct queue_event *ev, void *arg);

struct queue_flush_opts {
    bool all;                    /* ignore backoff */
    const char *const *accounts; /* only these accounts (NULL: every account) */
    size_t naccounts;
    const char *only_id;         /* only this message (tern send's immediate try) */
    bool retry_held;             /* try held messages too (tern flush --retry-held) */
    /* Set (by a signal handler) to stop after the message in flight; the flusher sets it
     * itself when an acceptance cannot be recorded. NULL: a private flag. */
    volatile sig_atomic_t *stop;
    time_t now;                  /* 0: time(NULL) */
    /* After QEV_AUTH: may ask for the account's password again (secret_remember) and
     * return true to log in with it at once, at most FLUSH_REAUTH_MAX times per account;
     * NULL: the refusal stands (the messages are held). */
    bool (*reauth)(void *arg, const struct account *a);
    void *reauth_arg;
};

#define FLUSH_REAUTH_MAX 2

struct queue_flush_stats {
    size_t sent, deferred, failed, skipped, held;
    size_t waiting;              /* queued but not due yet (not tried) */
    size_t held_waiting;         /* held, settings unchanged (not tried) */
    time_t next_due;             /* the earliest next attempt among those (0: none) */
};

/* Length of an account fingerprint in hex: what a held message remembers of its account. */
#define FLUSH_FP_LEN 32
void flush_account_fingerprint(const struct config *cfg, const struct account *a,
                               char out[FLUSH_FP_LEN + 1]);

/*
 * Deliver what is due: group by account, one SMTP session per account (reopened when the
 * connection is lost), pipelined; on acceptance copy into the account's sent folder with flag
 * S, then remove from the queue. Takes the flusher lock (ERR_LOCKED when another flush runs).
 * Returns 0 when the flush ran (whatever happened to each message), -1 on local errors.
 */
int queue_flush(struct queue *q, const struct config *cfg, const struct queue_flush_opts *o,
                queue_event_fn fn, void *arg, struct queue_flush_stats *st, struct err *e);

#endif

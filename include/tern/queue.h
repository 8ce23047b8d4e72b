/*
 * The outgoing queue: messages in the Maildir folder "Outbox" under mail_root, each with an
 * envelope/state file in mail_root/.tern/queue/ID.state (ID = the message's Maildir unique
 * name), retry with backoff, and the flusher that delivers them over SMTP.
 */
#ifndef TERN_QUEUE_H
#define TERN_QUEUE_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "tern/buf.h"
#include "tern/config.h"
#include "tern/err.h"

enum queue_state { QUEUE_QUEUED, QUEUE_FAILED };

/* A refused recipient and the server's words about it. */
struct queue_refusal {
    char *addr;
    char *reply;
};

struct queue_entry {
    char *id;                    /* Maildir unique name of the message in Outbox */
    char *account;               /* account name */
    char *from;                  /* envelope sender ("" = null sender) */
    char **rcpts;                /* recipients still to deliver (Bcc included) */
    size_t nrcpts;
    struct queue_refusal *refused;   /* recipients refused for good, for the report */
    size_t nrefused;
    enum queue_state state;
    int attempts;
    time_t created;
    time_t next;                 /* next attempt (0: now) */
    bool sent_copied;            /* already copied into the Sent folder (partial delivery) */
    char *reply;                 /* last server reply or error; NULL if none */
    char *path;                  /* the message file (set by queue_list), or NULL when gone */
};

void queue_entry_free(struct queue_entry *q);   /* frees the members, not q */
void queue_entry_add_rcpt(struct queue_entry *q, const char *addr);
void queue_entry_set_reply(struct queue_entry *q, const char *reply);

/* The state file's text (one "key value" per line) and back. Parsing rejects unknown
 * versions, missing keys and control bytes: 0 or -1 with ERR_PARSE. */
char *queue_state_format(const struct queue_entry *q);
int queue_state_parse(const char *text, size_t n, struct queue_entry *q, struct err *e);

/* The bytes to transmit for a stored message: without its Bcc and Resent-Bcc fields (the
 * envelope carries those recipients), everything else byte for byte. Appended to out. */
void queue_wire_form(const char *msg, size_t n, struct buf *out);

/* ---- retry policy ---- */

struct queue_policy {
    long retry_min;              /* seconds before the first retry */
    long retry_max;              /* cap of the doubling */
    long lifetime;               /* give up after this long in the queue */
};

/* Delay after the attempts-th failed attempt: retry_min * 2^(attempts-1), capped. */
long queue_backoff(const struct queue_policy *p, int attempts);
/* A temporary failure now: attempts+1, next attempt by backoff; FAILED ("gave up after ...")
 * once the lifetime is over. */
void queue_note_temp(struct queue_entry *q, const struct queue_policy *p, time_t now,
                     const char *reply);
/* A permanent failure: FAILED with the reply, kept until retried or deleted. */
void queue_note_perm(struct queue_entry *q, time_t now, const char *reply);
/* Due for a flush now (queued and next <= now, or any queued entry when all). */
bool queue_due(const struct queue_entry *q, time_t now, bool all);

/* ---- the queue on disk ---- */

struct queue;

/* Create Outbox and the state directory when missing. */
int queue_open(const char *mail_root, struct queue **out, struct err *e);
void queue_close(struct queue *q);
const char *queue_outbox(const struct queue *q);
/*
 * Store a message and its envelope durably: the message goes into Outbox (fsynced), then the
 * state file (atomically). Fills q->id, created, next. A crash between the two leaves a
 * message without state, which the flusher never sends and `tern queue` lists as incomplete.
 */
int queue_add(struct queue *q, const char *msg, size_t n, struct queue_entry *ent, struct err *e);
/*
 * Every entry, oldest first, with path set from Outbox. A state whose message is gone (the
 * user deleted it in Outbox) is removed. *orphans (may be NULL) counts messages in Outbox
 * without a state.
 */
int queue_list(struct queue *q, struct queue_entry **out, size_t *n, size_t *orphans,
               struct err *e);
void queue_list_free(struct queue_entry *ents, size_t n);
/* Rewrite the state file atomically. */
int queue_save(struct queue *q, const struct queue_entry *ent, struct err *e);
/* Delete the message, then its state (a crash between leaves a state that the next list
 * drops). */
int queue_remove(struct queue *q, const struct queue_entry *ent, struct err *e);
/* Find an entry by id or unique id prefix in a list: index, -1 none, -2 ambiguous. */
long queue_find(const struct queue_entry *ents, size_t n, const char *id);
/* The flusher lock (only one at a time): a descriptor, or -1 with ERR_LOCKED. */
int queue_lock(struct queue *q, struct err *e);

/* ---- flushing ---- */

enum queue_event_kind {
    QEV_START,        /* total = messages due */
    QEV_CONNECT,      /* text = account */
    QEV_SENT,         /* a message accepted (text = final reply; partial refusals in ent) */
    QEV_DEFERRED,     /* temporary failure, stays queued (text = reason) */
    QEV_FAILED,       /* permanent failure or lifetime over (text = reason) */
    QEV_REFUSED,      /* one recipient refused for good (addr, text = reply) */
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
    time_t now;                  /* 0: time(NULL) */
};

struct queue_flush_stats {
    size_t sent, deferred, failed, skipped;
};

/*
 * Deliver what is due: group by account, one SMTP session per account (reopened when the
 * connection is lost), pipelined; on acceptance copy into the account's sent folder with flag
 * S, then remove from the queue. Takes the flusher lock (ERR_LOCKED when another flush runs).
 * Returns 0 when the flush ran (whatever happened to each message), -1 on local errors.
 */
int queue_flush(struct queue *q, const struct config *cfg, const struct queue_flush_opts *o,
                queue_event_fn fn, void *arg, struct queue_flush_stats *st, struct err *e);

#endif

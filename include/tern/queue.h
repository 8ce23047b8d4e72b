/*
 * The outgoing queue's storage: messages in the account's outbox Maildir folder ("Outbox"
 * under mail_root unless the account's outbox setting names another), each with an
 * envelope/state file in mail_root/.tern/queue/ID.state (ID = the message's Maildir
 * unique name), the retry policy, the flusher lock. The flusher itself is tern/flush.h.
 */
#ifndef TERN_QUEUE_H
#define TERN_QUEUE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "tern/buf.h"
#include "tern/config.h"
#include "tern/err.h"

/* queued: waiting for its next attempt; failed: refused for good (5xx), kept until retried
 * or deleted; held: the account cannot deliver (authentication, TLS, configuration), kept
 * until the account's settings change or the user asks for a retry. */
enum queue_state { QUEUE_QUEUED, QUEUE_FAILED, QUEUE_HELD };

/* A refused recipient and the server's words about it. */
struct queue_refusal {
    char *addr;
    char *reply;
};

/* A message a queued reply or forward answers: its folder directory (absolute) and unique
 * name. */
struct queue_answer {
    char *dir;
    char *id;
};

/* The messages a queued reply or forward answers (several after `;r` or `;f` on tagged
 * messages): each gets flag (R for a reply, P for a forward) once the server accepts this
 * one. */
struct queue_answers {
    struct queue_answer *msg;
    size_t n;
    char flag;
};

struct queue_entry {
    char *id;                    /* Maildir unique name of the message in its outbox */
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
    char *held_config;           /* held: fingerprint of the account's settings then */
    struct queue_answers answers;
    /* The account's outbox the message was queued in (queue_add sets it): its directory
     * under mail_root (relative, so a moved or restored tree still works), or absolute when
     * outside it; NULL in a state written before per-account outboxes: mail_root's default
     * Outbox. */
    char *outbox;
    char *path;                  /* the message file (set by queue_list), or NULL when gone */
    /* DSN parameters asked for this message (tern send -N, -R, -V), over the account's;
     * NULL: none (and in states written before they existed). */
    char *dsn_notify;            /* "NEVER" or a list of SUCCESS, FAILURE, DELAY */
    char *dsn_ret;               /* "FULL" or "HDRS" */
    char *dsn_envid;             /* printable ASCII, at most QUEUE_ENVID_MAX octets */
};
#define QUEUE_ENVID_MAX 100

/*
 * Set the DSN parameters of a message from tern send's -N, -R and -V (any may be NULL):
 * notify "never" or a comma list of success, failure, delay; ret "full" or "hdrs"
 * (case-insensitive); envid printable ASCII without spaces, at most QUEUE_ENVID_MAX octets
 * (RFC 3461). Stored in SMTP form ("SUCCESS,FAILURE", "HDRS"). -1 with ERR_PARSE when a
 * value is not valid.
 */
int queue_entry_set_dsn(struct queue_entry *q, const char *notify, const char *ret,
                        const char *envid, struct err *e);

void queue_entry_free(struct queue_entry *q);   /* frees the members, not q */
void queue_entry_add_rcpt(struct queue_entry *q, const char *addr);
void queue_entry_set_reply(struct queue_entry *q, const char *reply);
/* Remember the message at path (DIR/new/NAME or DIR/cur/NAME) as the one this answers, to
 * get flag (R or P) once sent, in place of any before; -1 when path is not a Maildir
 * message. */
int queue_entry_set_answers(struct queue_entry *q, const char *path, char flag);
/* The same for one more message this answers (up to QUEUE_MAX_ANSWERS). */
int queue_entry_add_answers(struct queue_entry *q, const char *path, char flag);
#define QUEUE_MAX_ANSWERS 10000
/* Note a recipient refused for good (addr) with the server's words. */
void queue_entry_add_refusal(struct queue_entry *q, const char *addr, const char *reply);

/* The state file's text (one "key value" per line) and back. Parsing rejects unknown
 * versions, missing keys and control bytes: 0 or -1 with ERR_PARSE. */
char *queue_state_format(const struct queue_entry *q);
int queue_state_parse(const char *text, size_t n, struct queue_entry *q, struct err *e);

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
/* The account cannot deliver: HELD with the reason and the fingerprint of its settings. */
void queue_note_held(struct queue_entry *q, const char *reply, const char *config_fp);
/*
 * The retry policy, one switch on the error class: temporary network trouble, 4xx and
 * protocol breakage back off (queue_note_temp); authentication, TLS and configuration
 * failures hold the message (queue_note_held); 5xx and bad data fail it (queue_note_perm).
 * Returns the state the entry is in afterwards.
 */
enum queue_state queue_note_error(struct queue_entry *q, const struct queue_policy *p,
                                  time_t now, enum err_class cls, const char *reply,
                                  const char *config_fp);
/* A held entry is tried again when its account's settings changed since, or on request. */
bool queue_held_due(const struct queue_entry *q, const char *config_fp, bool retry_held);
/* Back to the queue, due now, with a fresh lifetime (tern queue --retry, --retry-held). */
void queue_release(struct queue_entry *q, time_t now);
const char *queue_state_name(enum queue_state s);
/* Due for a flush now (queued and next <= now, or any queued entry when all). */
bool queue_due(const struct queue_entry *q, time_t now, bool all);

/* ---- the queue on disk ---- */

struct queue;

/*
 * The queue under mail_root: its states in mail_root/.tern/queue/ (one set, keyed by id) and
 * its messages in the outboxes. queue_open knows mail_root's default Outbox and every outbox
 * a state names, which is enough to list, flush and remove; queue_open_cfg also knows each
 * account's outbox (the outbox setting, tern/paths.h), where queue_add puts an account's
 * message (mail_root NULL: cfg's). Both create the default outbox and the state directory
 * when missing.
 */
int queue_open(const char *mail_root, struct queue **out, struct err *e);
int queue_open_cfg(const struct config *cfg, const char *mail_root, struct queue **out,
                   struct err *e);
void queue_close(struct queue *q);
/* Where a message of an account without its own outbox goes. */
const char *queue_outbox(const struct queue *q);
/* The outbox directories known (the ones queue_list scans); *dirs borrowed from q. */
size_t queue_outboxes(const struct queue *q, const char *const **dirs);
/*
 * Store a message and its envelope durably: the message goes into the outbox of ent->account
 * (fsynced; ent->outbox names it), then the
 * state file (atomically). Fills q->id, created, next. When the state cannot be written the
 * message is removed again (queued properly or not at all). A crash between the two leaves a
 * message without state, which the flusher never sends and `tern queue` lists as incomplete.
 */
int queue_add(struct queue *q, const char *msg, size_t n, struct queue_entry *ent, struct err *e);
/*
 * Every entry, oldest first, with path set from the outboxes. A state whose message is gone
 * (the user deleted it in its outbox) is removed. *orphans (may be NULL) counts messages in
 * the known outboxes without a state.
 */
int queue_list(struct queue *q, struct queue_entry **out, size_t *n, size_t *orphans,
               struct err *e);
void queue_list_free(struct queue_entry *ents, size_t n);
/* Rewrite the state file atomically. */
int queue_save(struct queue *q, const struct queue_entry *ent, struct err *e);
/* Delete the message, then its state (a crash between leaves a state that the next list
 * drops). */
int queue_remove(struct queue *q, const struct queue_entry *ent, struct err *e);
/* The queue id of the message file at path when it is in the outbox its state names (no
 * state, or an old one: mail_root's default Outbox), else NULL.
 * New string. */
char *queue_id_of_path(const char *mail_root, const char *path);
/* Find an entry by id or unique id prefix in a list: index, -1 none, -2 ambiguous. */
long queue_find(const struct queue_entry *ents, size_t n, const char *id);
/*
 * Another program may rename an Outbox file while it is queued (new/ → cur/ when it marks it
 * seen, a flag change): these follow the message by its unique name. queue_refind updates
 * ent->path (0, or -1 when the message is gone); queue_unlink_msg removes the message (0
 * also when it was already gone); queue_rename_msg moves it to dst (-1 with errno).
 */
int queue_refind(struct queue *q, struct queue_entry *ent);
int queue_unlink_msg(struct queue *q, struct queue_entry *ent, struct err *e);
int queue_rename_msg(struct queue *q, struct queue_entry *ent, const char *dst);
/* Remove an entry's state file (not synced: see queue_sync). */
int queue_drop_state(struct queue *q, const char *id, struct err *e);
/* Make removals and renames in Outbox and the state directory durable. */
int queue_sync(struct queue *q, struct err *e);
/* The mtimes of the queue's directories: whether anything changed since the last look
 * (a reader that shows the queue rereads it only then): 1 changed (a zeroed stamp has), 0
 * not, 2 not that the mtimes show, but they are recent enough to hide a change. */
struct queue_stamp {
    uint64_t h;                  /* the mtimes of the state directory and every outbox */
};
int queue_changed(struct queue *q, struct queue_stamp *st);
/* When the next queued message is due (*when; 0 or past: now): 1, or 0 when nothing is
 * queued (held and failed messages wait for a person), -1 on error. */
int queue_next_due(struct queue *q, time_t *when, struct err *e);
/* The flusher lock (only one at a time): a descriptor, or -1 with ERR_LOCKED. */
int queue_lock(struct queue *q, struct err *e);

/* ---- the acceptance journal ---- */

/*
 * MAIL_ROOT/.tern/queue/accepted.journal: one line "ID<TAB>RCPT<TAB>RCPT..." per message the
 * server accepted, written the moment its 250 arrives, before the Sent copy or the state
 * update (a kill cannot undo a write); made durable by queue_journal_sync with the batch's
 * other fsyncs, before any state is removed (a power cut may resend that batch, as before).
 * Space for it is reserved ahead (posix_fallocate), so a full disk does not stop the record.
 * A flush applies what it finds before sending anything and empties the journal once every
 * record is durable elsewhere: an accepted message is never sent again, whatever fails after.
 */
struct queue_accepted {
    char *id;
    char **rcpts;                /* the recipients the server accepted */
    size_t nrcpts;
};

/* Open the journal (under the flusher lock) and reserve space. */
int queue_journal_open(struct queue *q, struct err *e);
/* Record an acceptance (written, not yet synced), or fail (the caller then records it
 * another way). */
int queue_journal_note(struct queue *q, const char *id, const char *const *rcpts, size_t n,
                       struct err *e);
/* fdatasync what was recorded since the last call. */
int queue_journal_sync(struct queue *q, struct err *e);
/* Every whole record, oldest first (a torn last line is ignored). */
int queue_journal_read(struct queue *q, struct queue_accepted **out, size_t *n, struct err *e);
void queue_accepted_free(struct queue_accepted *v, size_t n);
/* The journal's text into records: whole lines only; never fails, skips what is bad. */
void queue_journal_parse(const char *text, size_t len, struct queue_accepted **out, size_t *n);
/* Empty the journal (when every record is durable elsewhere). */
int queue_journal_reset(struct queue *q, struct err *e);
/* Remove the recipients a record says were accepted; true when some were. */
bool queue_entry_drop_rcpts(struct queue_entry *ent, const struct queue_accepted *a);

#endif

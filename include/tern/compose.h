/*
 * The outgoing path below the UI (no curses), used by the compose screen and `tern send`:
 * account choice, envelope and alias expansion, Date and Message-ID; the private editor file,
 * the editor hand-off, reading the result back, the forgotten-attachment check, postponing to
 * Drafts, resuming a draft or a queued message, queueing, and recovering after a crash.
 */
#ifndef TERN_COMPOSE_H
#define TERN_COMPOSE_H

#include <stdbool.h>

#include "tern/build.h"
#include "tern/config.h"
#include "tern/crypt.h"
#include "tern/buf.h"
#include "tern/err.h"
#include "tern/queue.h"
#include "tern/reply.h"

enum compose_kind { COMPOSE_NEW, COMPOSE_REPLY, COMPOSE_REPLY_ALL, COMPOSE_REPLY_LIST,
                    COMPOSE_FORWARD, COMPOSE_RESUME, COMPOSE_AS_NEW };

/* The message a resumed one replaces (a Drafts file or an Outbox entry), removed when this
 * one is sent or postponed. */
struct compose_origin {
    char *path;                  /* NULL: none */
    char *queue_id;              /* when it is a queued message: its queue id */
    int lock_fd;                 /* edit-ORIGIN.lock, held while editing, like lock_fd; -1 */
};

struct compose {
    struct draft d;
    const struct account *acct;  /* the sending account (from the configuration) */
    char *file;                  /* the editor file, in the private compose directory */
    char *saved;                 /* the built message kept beside it for crash recovery */
    struct compose_origin origin;
    bool edited;                 /* the user changed something since it was made */
    int lock_fd;                 /* draft-X.lock, held while editing so that another tern
                                  * neither offers nor resumes it; -1 */
    bool text_broken;            /* the editor file has a header error: keep it for the user */
    struct err broken;           /* ... and what the error is (after recovery) */
    char **answers;              /* the messages replied to or forwarded (each gets R or P
                                  * once this one is sent) */
    size_t nanswers;
    char answers_flag;
    char *answers_file;          /* where the recovery copy's answers are kept, or NULL */
    int crypt;                   /* CRYPT_SIGN | CRYPT_ENCRYPT | CRYPT_SMIME (crypt.h) */
    bool quotes_decrypted;       /* made from an encrypted message: only sent encrypted */
    struct buf written;          /* what compose_write put in the editor file */
};

/* mail_root/.tern/compose, created 0700. New string. */
char *compose_dir(const struct config *cfg, struct err *e);
/*
 * Start a message: new, reply/forward to the message at msg_path, resume the draft or
 * queued message at msg_path (queue_id NULL: found from the path when it is in Outbox), or a
 * received message edited as new (COMPOSE_AS_NEW: its headers and body, a Message-ID of its
 * own, the original left alone). A draft another tern is editing is ERR_LOCKED.
 * The account is acct, or the one whose from matches the original's recipients, or the
 * default.
 */
int compose_start(struct compose *c, const struct config *cfg, enum compose_kind kind,
                  const char *msg_path, const char *queue_id, const struct account *acct,
                  struct err *e);
/* The same from several messages (`;r`, `;g`, `;f` on tagged messages): the first makes the
 * draft, the others join it (see add_messages). */
int compose_start_many(struct compose *c, const struct config *cfg, enum compose_kind kind,
                       const char *const *paths, size_t npaths, const char *queue_id,
                       const struct account *acct, struct err *e);
void compose_free(struct compose *c);
/* Write the editor file (and the recovery copy). */
int compose_write(struct compose *c, const struct config *cfg, struct err *e);
/* After a change on the compose screen (a field, the account, an attachment): save the
 * state with the draft (editor file and recovery copy), so a crash loses none of it; never
 * over an editor file with an error the user has yet to fix. */
int compose_checkpoint(struct compose *c, const struct config *cfg, struct err *e);
/* The editor command: editor, else $VISUAL, else $EDITOR, else vi. */
const char *compose_editor(const struct config *cfg);
/* Run the editor on the file with the terminal (the caller has left curses mode); blocks.
 * Returns the editor's exit status, or -1 with e filled when it could not be started. */
int compose_run_editor(const struct config *cfg, const char *file, struct err *e);
/* Read the edited file back; *changed tells whether the file differs from what was
 * written. ERR_PARSE names the line of a broken header. */
int compose_read(struct compose *c, const struct config *cfg, bool *changed, struct err *e);
/* The body mentions an attachment ("attached", "вложение"...) outside quoted lines, and
 * there is none. */
bool compose_forgot_attachment(const struct draft *d);
/* Aliases expanded in To, Cc and Bcc, their addresses noted in the address book. */
void compose_expand(struct compose *c, const struct config *cfg);
/* Remember the sender of a message the user reads (From, Reply-To) in the address book. */
void compose_note_sender(const struct config *cfg, const char *msg_path);
/* Postpone: the message goes to the account's Drafts folder (flags D and S); encrypted to
 * ourselves when it is to be sent encrypted or quotes decrypted text (compose_start with
 * COMPOSE_RESUME decrypts it again, in memory). */
int compose_postpone(struct compose *c, const struct config *cfg, struct err *e);
/* Queue the message for sending (durable when this returns 0); the caller starts a flush.
 * *id receives the queue id (new string) when not NULL. The message is signed and/or
 * encrypted as c->crypt says (and encrypted when the account's crypt_encrypt_when_possible
 * finds every key); a reply quoting decrypted text is refused unless it is encrypted. */
int compose_send(struct compose *c, const struct config *cfg, char **id, struct err *e);
/* Give up: remove the editor file and the recovery copy. */
void compose_discard(struct compose *c);
/* Recovery copies left by a crash (draft-X.saved, the editor file draft-X.eml beside it),
 * newest first, leaving out any that another running tern is editing (full paths; free with
 * compose_list_free). */
size_t compose_leftovers(const struct config *cfg, char ***paths);
void compose_list_free(char **paths, size_t n);

/* ---- the rules both paths share ---- */

/* The account whose from address is addr (case-insensitive), or NULL. */
const struct account *compose_account_by_addr(const struct config *cfg, const char *addr);
/*
 * Add the recipients of an address header value (or a command-line argument) to ent, alias
 * names expanded by the address book's rules (addrbook_expand), each mailbox once. A mailbox
 * without '@' is kept only when local_ok (sendmail's local recipients). Returns how many
 * were added.
 */
int compose_envelope_add(const struct config *cfg, struct queue_entry *ent, const char *value,
                         size_t len, bool local_ok);
/* Append msg to out with the fields it lacks put in front: From ("FULLNAME <sender>" when
 * fullname is given, else from, else the sender), Date, Message-ID (build_message_id),
 * MIME-Version; the message's line ends are kept. */
void compose_complete_header(const char *msg, size_t n, const char *from, const char *fullname,
                             const char *sender, struct buf *out);

/* A message given whole, as `tern send` gets it. */
struct compose_raw {
    const char *from;            /* -f: the envelope sender, or NULL */
    const char *account;         /* -a: the account by name, or NULL */
    const char *fullname;        /* -F: the sender's name when From is added, or NULL */
    bool extract;                /* -t: recipients from To, Cc and Bcc too */
    char *const *rcpts;          /* recipient arguments */
    size_t nrcpts;
};

/*
 * Prepare a whole message for the queue: the account (named, else by the From address, else
 * by -f, else the default), the envelope sender (-f, From unless it is a local name such as
 * cron's "root (Cron Daemon)", the account's), the recipients
 * (arguments, plus To/Cc/Bcc with extract; aliases expanded) into ent, and the completed
 * message into out. ERR_CONFIG (no account, no sender) or ERR_PARSE (bad or no addresses).
 */
int compose_raw(const struct config *cfg, const struct compose_raw *r, const char *msg,
                size_t n, struct queue_entry *ent, struct buf *out, struct err *e);

#endif

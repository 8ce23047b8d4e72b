/*
 * Fetching one account's POP3 mailbox into its inbox Maildir exactly once: a UIDL state file
 * per account, an intent journal written before each delivery and reconciled at the next
 * start, DELE only for messages safely on disk, committed by QUIT.
 */
#ifndef TERN_FETCH_H
#define TERN_FETCH_H

#include <signal.h>
#include <stdbool.h>

#include "tern/config.h"
#include "tern/err.h"

enum fetch_phase {
    FETCH_CONNECT,               /* connecting and logging in */
    FETCH_LIST,                  /* STAT/LIST/UIDL */
    FETCH_RETR,                  /* downloading (done/total count messages to fetch) */
    FETCH_DELETE,                /* DELE + QUIT */
    FETCH_DONE,
};

struct fetch_progress {
    const char *account;
    enum fetch_phase phase;
    unsigned long done, total;               /* messages fetched / to fetch this run */
    unsigned long long bytes, bytes_total;   /* bytes of those messages (LIST sizes) */
    unsigned long deleted;
    double elapsed;                          /* seconds since the account started */
};

struct fetch_opts {
    /* Called at each phase change and after each delivered message; may be NULL. */
    void (*progress)(void *ctx, const struct fetch_progress *p);
    void *ctx;
    /* When non-NULL and set (by a signal handler), the fetch stops cleanly: what is on disk
     * stays recorded, nothing is deleted on the server. ERR_CANCEL. */
    volatile sig_atomic_t *cancel;
    /* Called for each message once it is safely in the inbox (after the directory fsync):
     * folder is the inbox's folder name as configured, path the message file's; may be NULL. */
    void (*delivered)(void *ctx, const char *folder, const char *path);
};

struct fetch_result {
    unsigned long on_server;     /* messages in the mailbox */
    unsigned long fetched;       /* delivered this run */
    unsigned long deleted;       /* deleted on the server (committed by QUIT) */
    unsigned long long bytes;    /* delivered bytes (after CRLF -> LF) */
    double seconds;
    char tls[96];                /* how the session was protected */
};

/*
 * Fetch one account (pop3_host must be set). The password comes from secret_get. A message
 * over pop3_max_size is not fetched and fails the account after the rest is done. The
 * second fetcher of one account gets ERR_LOCKED.
 */
int fetch_account(const struct config *cfg, const struct account *a, const struct fetch_opts *o,
                  struct fetch_result *r, struct err *e);
/* Where the account's state lives: MAIL_ROOT/.tern/pop3/ACCOUNT@HOST (new string). */
char *fetch_state_path(const struct config *cfg, const struct account *a);

#endif

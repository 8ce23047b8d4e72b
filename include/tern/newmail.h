/*
 * new_mail_command: run once per fetch that delivered mail, with the count, folder and each
 * message's sender and subject in environment variables, never in a command line.
 */
#ifndef TERN_NEWMAIL_H
#define TERN_NEWMAIL_H

#include <stddef.h>

#include "tern/buf.h"
#include "tern/config.h"
#include "tern/err.h"

/* At most this many messages are described (TERN_FROM_1 ... TERN_FROM_N); the count is exact. */
#define NEWMAIL_MAX_LISTED 100
/* Each value is cut to this many bytes (at a character boundary). */
#define NEWMAIL_MAX_VALUE 256

/* The files one fetch delivered (paths, owned). */
struct newmail {
    char **paths;
    size_t n, cap;
};

void newmail_add(struct newmail *nm, const char *path);
void newmail_free(struct newmail *nm);
/*
 * Append s to out as an environment value: valid UTF-8, no C0 or C1 control character, no
 * DEL (each becomes a space), at most max bytes. No escape sequence can survive it.
 */
void newmail_clean(const char *s, size_t max, struct buf *out);
/*
 * Run cfg->new_mail_command (nothing when unset or nm is empty) through /bin/sh -c with the
 * configured text as the script and, added to the environment: TERN_NEW_COUNT, TERN_ACCOUNT,
 * TERN_FOLDER, and per message (i from 1) TERN_FROM_i, TERN_SUBJECT_i, TERN_FILE_i, with
 * TERN_FROM / TERN_SUBJECT for the first one. stdin and stdout are /dev/null. Waits up to
 * 30 seconds for it. ERR_SYS / ERR_PERM (it failed) with the reason.
 */
int newmail_run(const struct config *cfg, const char *account, const char *folder,
                const struct newmail *nm, struct err *e);

#endif

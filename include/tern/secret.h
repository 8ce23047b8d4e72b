/* Passwords for an account: from the file or from password_command, never logged. */
#ifndef TERN_SECRET_H
#define TERN_SECRET_H

#include <stdbool.h>

#include "tern/buf.h"
#include "tern/config.h"
#include "tern/err.h"

enum secret_use { SECRET_POP3, SECRET_SMTP };

/*
 * The password the account uses for a protocol: for SMTP, smtp_password(_command) first, then
 * password(_command). A command runs through /bin/sh and its first output line is the answer.
 * Returns a new string (free it with secret_free) or NULL with ERR_AUTH naming the account.
 */
char *secret_get(const struct account *a, enum secret_use use, struct err *e);
/* Bounds on a password or token command: output size and wall-clock time. */
#define SECRET_MAX_OUTPUT 65536
#define SECRET_TIMEOUT 60
/*
 * Run cmd through /bin/sh (key names the setting in messages) and return its first output
 * line (new string), or NULL with ERR_AUTH: failure, empty output, more than
 * SECRET_MAX_OUTPUT bytes, or no end within SECRET_TIMEOUT seconds (its process group is
 * then killed).
 */
char *secret_command(const char *account, const char *key, const char *cmd, struct err *e);
/* The same with another time bound (tests). */
char *secret_command_bounded(const char *account, const char *key, const char *cmd, int timeout,
                             struct err *e);
/* Wipe and free. */
void secret_free(char *s);

/*
 * Passwords the user typed this session, for accounts with no password and no
 * password_command (secret_get falls back to them). Kept in memory only; secret_forget_all
 * wipes them.
 */
void secret_remember(const char *account, const char *password);
void secret_forget(const char *account);
void secret_forget_all(void);
/* The password typed for account this session (borrowed), or NULL. */
const char *secret_remembered(const char *account);
/* Nothing is configured or remembered that secret_get could answer with for this use. */
bool secret_missing(const struct account *a, enum secret_use use);
/* secret_get answers for this use with a password typed this session (nothing configured):
 * one the server refuses is to be forgotten and asked for again. */
bool secret_typed(const struct account *a, enum secret_use use);
/* The line that hands one to a child through a pipe: "ACCOUNT<TAB>PASSWORD\n". */
void secret_format(struct buf *out, const char *account, const char *password);
/* Read such lines from fd until EOF (the client's private pipe), remember them, close fd. */
int secret_read_fd(int fd, struct err *e);

#endif

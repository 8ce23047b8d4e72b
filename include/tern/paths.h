/*
 * The one owner of where things live under mail_root: tern's own state in mail_root/.tern/
 * and the folders that play a role (inbox, sent, drafts, trash, outbox). Nothing else spells
 * ".tern/..." or a role folder's default name.
 *
 *   mail_root/.tern/pop3/ACCOUNT@HOST     UIDL state of a fetched account (+ .journal, .lock)
 *   mail_root/.tern/queue/ID.state        the envelope and state of a queued message
 *   mail_root/.tern/compose/NAME.eml      messages being edited
 *   mail_root/.tern/addresses             the address book
 *   mail_root/.tern/oauth/ACCOUNT         an OAuth2 account's tokens
 *
 * Folder names: a folder is named by its path under mail_root ("Work/Lists"); when mail_root
 * is itself a Maildir (Maildir++, as dovecot and Courier keep it) a name is what dovecot
 * shows: INBOX is mail_root, "Sent" is mail_root/.Sent, "Sub/folder" is .Sub.folder.
 * Role folders: an account's setting (inbox, sent, drafts, trash, outbox) when given, else INBOX,
 * Sent, Drafts, Trash, Outbox -- placed by the layout (so .Sent on Maildir++).
 */
#ifndef TERN_PATHS_H
#define TERN_PATHS_H

#include <stdbool.h>

#include "tern/config.h"
#include "tern/err.h"

/* The mail root when the configuration names none. */
#define PATHS_DEFAULT_ROOT "~/Mail"

enum path_state {
    PATH_POP3,          /* directory of the fetch state files */
    PATH_QUEUE,         /* directory of the queue's state files */
    PATH_COMPOSE,       /* directory of the messages being edited */
    PATH_ADDRESSES,     /* the address book file */
    PATH_OAUTH,         /* directory of the OAuth2 token files */
};

enum path_role { ROLE_INBOX, ROLE_SENT, ROLE_DRAFTS, ROLE_TRASH, ROLE_OUTBOX, NROLES };

/* mail_root expanded, or PATHS_DEFAULT_ROOT when it is NULL or empty (new string). */
char *paths_root(const char *mail_root);
/* mail_root/.tern/... for s (new string). */
char *paths_state(const char *mail_root, enum path_state s);
/* Append to b the start of a file's path in state directory s: "mail_root/.tern/DIR/", and
 * "_" when the name to follow, starting with first, would be hidden (".") or empty. */
struct buf;
void paths_state_file(struct buf *b, const char *mail_root, enum path_state s,
                      const char *first);
/* Is mail_root itself a Maildir, its folders dot-folders inside it (Maildir++)? */
bool paths_maildirpp(const char *mail_root);
/* The directory of folder name under root (expanded): root/name, or on a Maildir++ root
 * the dot-folder (INBOX: root itself) unless root/name exists. New string. */
char *paths_folder_join(const char *root, const char *name);
/* The folder name of a Maildir++ dot-folder directory entry: ".Sub.folder" -> "Sub/folder". */
char *paths_folder_name(const char *entry);
/*
 * The folder name (as maildir_folder_path resolves it under mail_root) of role r for account
 * a: its setting, else the layout's default. a may be NULL: cfg's default account, else the
 * first one, else the defaults. cfg may be NULL too (the defaults). Borrowed: valid while
 * cfg lives (a default name is static).
 */
const char *paths_role(const struct config *cfg, const char *mail_root,
                       const struct account *a, enum path_role r);
/* The directory of that folder under mail_root (NULL: cfg's; new string). */
char *paths_role_dir(const struct config *cfg, const char *mail_root, const struct account *a,
                     enum path_role r);
/* The role a folder name plays for any account of cfg, or NROLES when none. */
enum path_role paths_role_of(const struct config *cfg, const char *mail_root,
                             const char *name);
/*
 * The directory of a folder name the user typed (move, copy, save to folder): always under
 * mail_root. An absolute path, "~", a "$" variable or a ".." component is refused (ERR_CONFIG,
 * naming it), so that no name reaches outside the mail root. New string, or NULL with e.
 */
char *paths_folder_dir(const char *mail_root, const char *name, struct err *e);

#endif

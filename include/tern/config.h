/* ~/.mailrc: INI sections read with iniparser, mailx command lines tolerated, aliases kept. */
#ifndef TERN_CONFIG_H
#define TERN_CONFIG_H

#include <stdbool.h>
#include <stddef.h>

#include "tern/err.h"

enum tls_mode { TLS_MODE_TLS, TLS_MODE_STARTTLS, TLS_MODE_NONE };
enum auth_mech { AUTH_AUTO, AUTH_USER, AUTH_APOP, AUTH_PLAIN, AUTH_LOGIN, AUTH_XOAUTH2,
                 AUTH_OAUTHBEARER };
enum oauth_provider { OAUTH_NONE, OAUTH_GOOGLE, OAUTH_MICROSOFT };
enum notify_desktop { NOTIFY_NO, NOTIFY_OSC9, NOTIFY_OSC777 };

/* pop3_keep: "no" deletes after a safe fetch, "yes" never deletes, N deletes after N days. */
#define POP3_KEEP_NO 0
#define POP3_KEEP_FOREVER (-1)

struct account {
    char *name;
    char *from;
    char *inbox;
    char *sent;
    char *drafts;
    char *trash;                 /* NULL: the layout's default (see tern/paths.h) */
    char *outbox;                /* the queue's folder for this account; NULL: Outbox */
    char *pop3_host;
    long pop3_port;              /* 0 until defaulted from pop3_tls */
    enum tls_mode pop3_tls;
    char *pop3_user;
    enum auth_mech pop3_auth;
    long pop3_keep;              /* POP3_KEEP_NO, POP3_KEEP_FOREVER or days */
    long pop3_max_size;          /* bytes; a larger message fails the fetch */
    char *smtp_host;
    long smtp_port;
    enum tls_mode smtp_tls;
    char *smtp_user;
    enum auth_mech smtp_auth;
    char *password;
    char *password_command;
    char *smtp_password;
    char *smtp_password_command;
    char *tls_ca_file;
    char *tls_fingerprint;
    char *dsn_notify;            /* NOTIFY= for each RCPT ("FAILURE,DELAY", "NEVER"); NULL: none */
    char *dsn_return;            /* RET= on MAIL ("FULL" or "HDRS"); NULL: none */
    long timeout;                /* seconds for connect, read and write */
    char *signature;             /* file appended to new messages, or NULL */
    enum oauth_provider oauth_provider;   /* presets for the URLs and scope below */
    char *oauth_auth_url;        /* authorization endpoint (browser flow) */
    char *oauth_token_url;       /* token endpoint */
    char *oauth_device_url;      /* device authorization endpoint (RFC 8628) */
    char *oauth_client_id;
    char *oauth_client_secret;
    char *oauth_scope;
    char *oauth_token_command;   /* prints an access token; replaces the built-in client */
    char *oauth_ca_file;         /* CA bundle for the OAuth2 endpoints (default: system) */
    bool crypt_sign;             /* sign new messages by default */
    bool crypt_encrypt_when_possible;  /* encrypt when every recipient has a key */
    bool crypt_smime;            /* S/MIME instead of PGP/MIME by default */
    char *pgp_key;               /* OpenPGP signing key; NULL: the From address */
    char *smime_cert;            /* PEM: our S/MIME certificate */
    char *smime_key;             /* PEM: its private key */
    int line;                    /* where its section starts, for messages */
};

struct alias {
    char *name;
    char **addrs;
    size_t naddrs;
};

/* An extra section ([keys], [colors]) handed to the UI as ordered name/value pairs. */
struct config_pair {
    char *name;
    char *value;
    int line;
};

struct config {
    char *path;                  /* the file read, or expected when it does not exist */
    bool exists;
    char *mail_root;
    char *editor;                /* NULL: $VISUAL, then $EDITOR, then vi */
    char *url_command;           /* opens a link (%s: the URL); NULL: $BROWSER, xdg-open */
    char *query_command;         /* address query as mutt's (%s: the query); NULL: none */
    char *headers;               /* header names the pager shows; NULL: the usual few */
    char *default_account;
    long queue_retry_min;        /* seconds before the first retry */
    long queue_retry_max;        /* cap of the doubling backoff */
    long queue_lifetime;         /* seconds after which a message gives up */
    long fetch_interval;         /* minutes between background fetches; 0 = off */
    bool forward_as_attachment;  /* forward as message/rfc822 instead of inline */
    bool text_flowed;            /* send text/plain; format=flowed (RFC 3676) */
    char *new_mail_command;      /* run once per fetch that delivered mail; NULL: none */
    bool new_mail_bell;          /* client: ring the terminal bell on new mail */
    char *new_mail_title;        /* client: terminal title on new mail ("" or NULL: leave) */
    enum notify_desktop new_mail_desktop;   /* client: OSC 9 / OSC 777 notification */
    struct account *accounts;
    size_t naccounts;
    struct alias *aliases;
    size_t naliases;
    struct config_pair *keys;
    size_t nkeys;
    struct config_pair *colors;
    size_t ncolors;
    char **hdr_ignore;           /* mailx `ignore`/`discard`: header names the pager hides */
    size_t nhdr_ignore;
    char **hdr_retain;           /* mailx `retain`: when any, the only header names shown */
    size_t nhdr_retain;
    size_t plain_ini_lines;      /* INI lines without the '#:' marker (mailx would choke) */
    int first_plain_ini_line;
    char **warnings;
    size_t nwarnings;
};

/* The file to read: explicit path, else $MAILRC, else ~/.mailrc. Returns a new string. */
char *config_default_path(const char *explicit_path);
/*
 * Read path. A file that does not exist gives the defaults (exists = false). Any wrong value
 * is an error naming file, line and key; unknown keys and loose permissions are warnings.
 */
int config_load(const char *path, struct config **out, struct err *e);
/* The same over a buffer; name is used in messages and for the permission check only when
 * mode_known is true. */
int config_parse(const char *name, const char *text, size_t len, struct config **out,
                 struct err *e);
void config_free(struct config *cfg);
/* The account called name (case-insensitive), or the default one when name is NULL. */
const struct account *config_account(const struct config *cfg, const char *name);
/* Add (or replace) the alias name for one address in memory, as a line just written to the
 * file would give at the next start. */
void config_alias_add(struct config *cfg, const char *name, const char *address);
/* The alias called name, or NULL. */
const struct alias *config_alias(const struct config *cfg, const char *name);
/*
 * Header weeding as mailx does it: with a retain list only the names on it are shown, else
 * the names on the ignore list are hidden. name need not be NUL-terminated.
 */
bool config_header_shown(const struct config *cfg, const char *name, size_t len);
/*
 * The file text rewritten so that every mailx reads it silently: each plain INI line (section,
 * key, its continuations, ';' comments in tern's sections) gets the '#: ' marker; nothing else
 * changes. Fails, as config_parse does, on a file tern cannot read. Returns a new string.
 */
char *config_mailx_safe(const char *name, const char *text, size_t len, struct err *e);
/* Explain the effective settings, passwords masked, for `tern check-config`. */
char *config_describe(const struct config *cfg);
/* The name of an authentication setting in messages: "auto", "user", "plain", ... */
const char *config_auth_name(enum auth_mech m);

#endif

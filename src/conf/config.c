/*
 * ~/.mailrc reader. The file is shared with mailx, whose command lines iniparser would reject,
 * so a first pass sorts lines: mailx lines are kept aside (aliases) and blanked as comments,
 * INI lines are handed to iniparser unchanged, and the pass remembers where each key stood so
 * that every message can name the line. Keys are described by one table that drives defaults,
 * validation, "did you mean" and `tern check-config`.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#ifdef HAVE_INIPARSER_INIPARSER_H
#include <iniparser/iniparser.h>
#else
#include <iniparser.h>
#endif

#include "tern/buf.h"
#include "tern/config.h"
#include "tern/fsutil.h"
#include "tern/str.h"
#include "tern/xalloc.h"

enum key_type {
    K_STR,       /* text, ~ and $VAR expanded */
    K_RAW,       /* text taken as written (passwords, shell commands) */
    K_NUM,       /* whole number in [min, max] */
    K_DURATION,  /* seconds, with an optional s/m/h/d suffix */
    K_SIZE,      /* bytes, with an optional K/M/G suffix */
    K_TLS,
    K_AUTH,      /* any mechanism */
    K_SMTP_AUTH, /* auto, plain, login */
    K_KEEP,
    K_FINGERPRINT,
    K_BOOL,      /* yes/no/true/false/on/off/1/0 into a bool */
    K_DSN_NOTIFY,    /* never, or a list of success, failure, delay */
    K_DSN_RET,       /* full or headers */
    K_PROVIDER,      /* none, google, microsoft */
    K_NOTIFY,        /* no, osc9, osc777 */
};

enum section_kind { SEC_GENERAL, SEC_ACCOUNT, SEC_KEYS, SEC_COLORS, SEC_UNKNOWN };

struct key_def {
    const char *name;
    enum key_type type;
    size_t off;
    long min, max;
    const char *def;             /* default, in the same syntax as the file; NULL = unset */
};

#define G(f) offsetof(struct config, f)
#define A(f) offsetof(struct account, f)

static const struct key_def general_keys[] = {
    { "mail_root", K_STR, G(mail_root), 0, 0, "~/Mail" },
    { "editor", K_RAW, G(editor), 0, 0, NULL },
    { "url_command", K_RAW, G(url_command), 0, 0, NULL },
    { "query_command", K_RAW, G(query_command), 0, 0, NULL },
    { "headers", K_RAW, G(headers), 0, 0, NULL },
    { "default_account", K_RAW, G(default_account), 0, 0, NULL },
    { "queue_retry_min", K_DURATION, G(queue_retry_min), 1, 86400, "1m" },
    { "queue_retry_max", K_DURATION, G(queue_retry_max), 1, 7 * 86400, "1h" },
    { "queue_lifetime", K_DURATION, G(queue_lifetime), 60, 365L * 86400, "5d" },
    { "fetch_interval", K_NUM, G(fetch_interval), 0, 10080, "0" },
    { "forward_as_attachment", K_BOOL, G(forward_as_attachment), 0, 0, "no" },
    { "text_flowed", K_BOOL, G(text_flowed), 0, 0, "no" },
    { "new_mail_command", K_RAW, G(new_mail_command), 0, 0, NULL },
    { "new_mail_bell", K_BOOL, G(new_mail_bell), 0, 0, "yes" },
    { "new_mail_title", K_RAW, G(new_mail_title), 0, 0, "tern: %n new in %f" },
    { "new_mail_desktop", K_NOTIFY, G(new_mail_desktop), 0, 0, "no" },
    { NULL, K_STR, 0, 0, 0, NULL },
};

static const struct key_def account_keys[] = {
    { "from", K_RAW, A(from), 0, 0, NULL },
    { "inbox", K_RAW, A(inbox), 0, 0, "INBOX" },
    /* role folders without a setting: tern/paths.h picks them by the mail root's layout */
    { "sent", K_RAW, A(sent), 0, 0, NULL },
    { "drafts", K_RAW, A(drafts), 0, 0, NULL },
    { "trash", K_RAW, A(trash), 0, 0, NULL },
    { "outbox", K_RAW, A(outbox), 0, 0, NULL },
    { "pop3_host", K_STR, A(pop3_host), 0, 0, NULL },
    { "pop3_port", K_NUM, A(pop3_port), 1, 65535, NULL },
    { "pop3_tls", K_TLS, A(pop3_tls), 0, 0, "tls" },
    { "pop3_user", K_STR, A(pop3_user), 0, 0, NULL },
    { "pop3_auth", K_AUTH, A(pop3_auth), 0, 0, "auto" },
    { "pop3_keep", K_KEEP, A(pop3_keep), 0, 36500, "no" },
    { "pop3_max_size", K_SIZE, A(pop3_max_size), 1024, 1L << 30, "100M" },
    { "smtp_host", K_STR, A(smtp_host), 0, 0, NULL },
    { "smtp_port", K_NUM, A(smtp_port), 1, 65535, NULL },
    { "smtp_tls", K_TLS, A(smtp_tls), 0, 0, "starttls" },
    { "smtp_user", K_STR, A(smtp_user), 0, 0, NULL },
    { "smtp_auth", K_SMTP_AUTH, A(smtp_auth), 0, 0, "auto" },
    { "password", K_RAW, A(password), 0, 0, NULL },
    { "password_command", K_RAW, A(password_command), 0, 0, NULL },
    { "smtp_password", K_RAW, A(smtp_password), 0, 0, NULL },
    { "smtp_password_command", K_RAW, A(smtp_password_command), 0, 0, NULL },
    { "tls_ca_file", K_STR, A(tls_ca_file), 0, 0, NULL },
    { "tls_fingerprint", K_FINGERPRINT, A(tls_fingerprint), 0, 0, NULL },
    { "dsn_notify", K_DSN_NOTIFY, A(dsn_notify), 0, 0, NULL },
    { "dsn_return", K_DSN_RET, A(dsn_return), 0, 0, NULL },
    { "timeout", K_DURATION, A(timeout), 1, 3600, "60" },
    { "signature", K_STR, A(signature), 0, 0, NULL },
    { "oauth_provider", K_PROVIDER, A(oauth_provider), 0, 0, "none" },
    { "oauth_auth_url", K_RAW, A(oauth_auth_url), 0, 0, NULL },
    { "oauth_token_url", K_RAW, A(oauth_token_url), 0, 0, NULL },
    { "oauth_device_url", K_RAW, A(oauth_device_url), 0, 0, NULL },
    { "oauth_client_id", K_RAW, A(oauth_client_id), 0, 0, NULL },
    { "oauth_client_secret", K_RAW, A(oauth_client_secret), 0, 0, NULL },
    { "oauth_scope", K_RAW, A(oauth_scope), 0, 0, NULL },
    { "oauth_token_command", K_RAW, A(oauth_token_command), 0, 0, NULL },
    { "oauth_ca_file", K_STR, A(oauth_ca_file), 0, 0, NULL },
    { "crypt_sign", K_BOOL, A(crypt_sign), 0, 0, "no" },
    { "crypt_encrypt_when_possible", K_BOOL, A(crypt_encrypt_when_possible), 0, 0, "no" },
    { "crypt_smime", K_BOOL, A(crypt_smime), 0, 0, "no" },
    { "pgp_key", K_RAW, A(pgp_key), 0, 0, NULL },
    { "smime_cert", K_STR, A(smime_cert), 0, 0, NULL },
    { "smime_key", K_STR, A(smime_key), 0, 0, NULL },
    { NULL, K_STR, 0, 0, 0, NULL },
};

#undef G
#undef A

static const char *const tls_names[] = { "tls", "starttls", "none", NULL };
static const char *const auth_names[] = { "auto", "user", "apop", "plain", "login", "xoauth2",
                                          "oauthbearer", NULL };
static const char *const smtp_auth_names[] = { "auto", "", "", "plain", "login", "xoauth2",
                                               "oauthbearer", NULL };
static const char *const provider_names[] = { "none", "google", "microsoft", NULL };
static const char *const notify_names[] = { "no", "osc9", "osc777", NULL };

/* The words of a key that takes one of a list (stored as the word's index), or NULL. */
static const char *const *enum_names(enum key_type t)
{
    switch (t) {
    case K_TLS: return tls_names;
    case K_AUTH: return auth_names;
    case K_SMTP_AUTH: return smtp_auth_names;
    case K_PROVIDER: return provider_names;
    case K_NOTIFY: return notify_names;
    default: return NULL;
    }
}

/*
 * First words of mailx commands (POSIX mailx, bsd-mailx, Heirloom, s-nail, mailutils) that
 * may stand in .mailrc, also inside tern's sections. Outside them any line is mailx's own.
 */
static const char *const mailx_words[] = {
    "set", "unset", "setenv", "unsetenv", "alias", "a", "group", "g", "unalias", "alternates",
    "alt", "unalternates", "ignore", "discard", "unignore", "undiscard", "retain", "unretain",
    "saveignore", "saveretain", "source", "source_if", "if", "else", "elif", "endif",
    "account", "shortcut", "unshortcut", "define", "undefine", "call", "call_if", "xcall",
    "mimetype", "unmimetype", "headerpick", "unheaderpick", "commandalias",
    "uncommandalias", "ghost", "unghost", "localopts", "folder", "cd", "chdir", "echo",
    "echon", "echoerr", "echoerrn", "sort", "mlist", "unmlist", "mlsubscribe",
    "unmlsubscribe", "charsetalias", "uncharsetalias", "filetype", "unfiletype",
    "customhdr", "colour", "uncolour", "color", "uncolor", "bind", "unbind", "environ", "fcc",
    "wysh", "ignerr", "local", "u", "vput", "read", "readall", "readsh", "readctl", "eval",
    "return", "vexpr", "varshow", "varedit", "shcodec", "urlcodec", "addrcodec", "csop",
    "netrc", "tls", "errors", "history", "digmsg", "cwd", "shell", "sh", "exit", "xit",
    "version", "unaccount", "set-option", NULL,
};

/* One key as the first pass found it. */
struct scan_key {
    size_t section;              /* index into scan.sections */
    char *name;
    int line;
};

struct scan_section {
    char *name;                  /* as written, case kept */
    enum section_kind kind;
    char *arg;                   /* the account name */
    int line;
};

struct scan {
    struct buf ini;              /* the file with mailx lines turned into comments */
    struct buf mx;               /* a mailx command continued with backslashes */
    int mx_line;                 /* where it started; 0 when none is pending */
    bool ini_cont;               /* the last INI line ended with a backslash */
    int block;                   /* depth inside mailx's define/account {...} and if/endif */
    bool section_marked;         /* the current section was opened by a '#:' line */
    unsigned char *ini_lines;    /* per line: 1 when it is a plain (unmarked) INI line */
    size_t nlines;
    struct scan_section *sections;
    size_t nsections;
    struct scan_key *keys;
    size_t nkeys;
};

/* The file name used in messages. */
static const char *cfg_name;

/* "file:line: what" (or "file: what" without a line) into out. */
static void cfg_vformat(char *out, size_t n, int line, const char *fmt, va_list ap)
{
    char what[400];

    vsnprintf(what, sizeof what, fmt, ap);
    if (line > 0)
        snprintf(out, n, "%s:%d: %s", cfg_name, line, what);
    else
        snprintf(out, n, "%s: %s", cfg_name, what);
}

static int cfg_error(struct err *e, int line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int cfg_error(struct err *e, int line, const char *fmt, ...)
{
    va_list ap;

    if (e == NULL)
        return -1;
    va_start(ap, fmt);
    cfg_vformat(e->msg, sizeof e->msg, line, fmt, ap);
    va_end(ap);
    e->cls = ERR_CONFIG;
    return -1;
}

static void cfg_warn(struct config *cfg, int line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void cfg_warn(struct config *cfg, int line, const char *fmt, ...)
{
    char msg[512];
    va_list ap;

    va_start(ap, fmt);
    cfg_vformat(msg, sizeof msg, line, fmt, ap);
    va_end(ap);
    cfg->warnings = xreallocarray(cfg->warnings, cfg->nwarnings + 1, sizeof *cfg->warnings);
    cfg->warnings[cfg->nwarnings++] = xstrdup(msg);
}

char *config_default_path(const char *explicit_path)
{
    const char *env = getenv("MAILRC");

    if (explicit_path != NULL)
        return xstrdup(explicit_path);
    if (env != NULL && *env != '\0')   /* s-nail exports MAILRC=~/.mailrc unexpanded */
        return fs_expand(env);
    return fs_expand("~/.mailrc");
}

/* ---- first pass: sort lines ---- */

static bool is_key_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           c == '_' || c == '-' || c == '.';
}

static bool is_mailx_word(const char *w, size_t n)
{
    for (size_t i = 0; mailx_words[i]; i++)
        if (strlen(mailx_words[i]) == n && memcmp(mailx_words[i], w, n) == 0)
            return true;
    return false;
}

/* Split an alias line into words: white space and commas separate, quotes group. */
static void alias_words(const char *s, char ***out, size_t *n)
{
    struct buf w = BUF_INIT;

    *out = NULL;
    *n = 0;
    while (*s) {
        char quote = 0;
        bool have = false;

        while (*s == ' ' || *s == '\t' || *s == ',')
            s++;
        buf_reset(&w);
        while (*s && (quote || (*s != ' ' && *s != '\t' && *s != ','))) {
            if (!quote && (*s == '"' || *s == '\'')) {
                quote = *s++;
                have = true;
                continue;
            }
            if (quote && *s == quote) {
                quote = 0;
                s++;
                continue;
            }
            if (!quote && *s == '<') {      /* an angle address stays one word */
                while (*s && *s != '>')
                    buf_addc(&w, *s++);
                if (*s == '>')
                    buf_addc(&w, *s++);
                have = true;
                continue;
            }
            buf_addc(&w, *s++);
            have = true;
        }
        if (have) {
            *out = xreallocarray(*out, *n + 1, sizeof **out);
            (*out)[(*n)++] = xstrdup(buf_cstr(&w));
        }
    }
    buf_free(&w);
}

/*
 * mailx splits an alias into words, so "Jane Q. Public <jane@example.org>" without quotes
 * would be four addresses. Words without '@' that lead up to an <angle address> are taken as
 * its display name instead; other such words stay separate (they name other aliases).
 */
static void merge_display_names(char **words, size_t *n)
{
    char **out = xcalloc(*n, sizeof *out);
    size_t nout = 1, start = 1;   /* words[start..] are not placed yet; words[0] is the name */

    out[0] = words[0];
    for (size_t i = 1; i < *n; i++) {
        if (words[i][0] == '<' && strchr(words[i], '@') && i > start) {
            struct buf b = BUF_INIT;

            for (size_t k = start; k < i; k++) {
                buf_printf(&b, "%s ", words[k]);
                free(words[k]);
            }
            buf_adds(&b, words[i]);
            free(words[i]);
            out[nout++] = buf_detach(&b);
            start = i + 1;
        } else if (strchr(words[i], '@')) {
            for (size_t k = start; k <= i; k++)
                out[nout++] = words[k];
            start = i + 1;
        }
    }
    for (size_t k = start; k < *n; k++)
        out[nout++] = words[k];
    memcpy(words, out, nout * sizeof *out);
    *n = nout;
    free(out);
}

static void add_alias(struct config *cfg, const char *line, int lineno)
{
    char **words;
    size_t n;

    alias_words(line, &words, &n);
    if (n < 2) {
        cfg_warn(cfg, lineno, "alias without addresses ignored");
        str_list_free(words, n);
        return;
    }
    merge_display_names(words, &n);
    cfg->aliases = xreallocarray(cfg->aliases, cfg->naliases + 1, sizeof *cfg->aliases);
    struct alias *a = &cfg->aliases[cfg->naliases++];
    a->name = words[0];
    a->naddrs = n - 1;
    a->addrs = xreallocarray(NULL, n - 1, sizeof *a->addrs);
    memcpy(a->addrs, words + 1, (n - 1) * sizeof *words);
    free(words);
}

static enum section_kind section_kind(const char *name, char **arg)
{
    *arg = NULL;
    if (str_casecmp(name, "general") == 0)
        return SEC_GENERAL;
    if (str_casecmp(name, "keys") == 0)
        return SEC_KEYS;
    if (str_casecmp(name, "colors") == 0 || str_casecmp(name, "colours") == 0)
        return SEC_COLORS;
    if (str_ncasecmp(name, "account", 7) == 0 && (name[7] == ' ' || name[7] == '\t')) {
        char *a = xstrdup(name + 8);
        char *t = str_trim(a);

        if (*t != '\0' && strchr(t, ':') == NULL) {
            *arg = xstrdup(t);
            free(a);
            return SEC_ACCOUNT;
        }
        free(a);
    }
    return SEC_UNKNOWN;
}

static int scan_section(struct scan *sc, char *line, int lineno, struct err *e)
{
    char *end = strchr(line, ']');
    char *name;

    if (end == NULL)
        return cfg_error(e, lineno, "section header without ']'");
    *end = '\0';
    name = str_trim(line + 1);
    if (*name == '\0')
        return cfg_error(e, lineno, "empty section name");
    sc->sections = xreallocarray(sc->sections, sc->nsections + 1, sizeof *sc->sections);
    struct scan_section *s = &sc->sections[sc->nsections++];
    s->name = xstrdup(name);
    s->kind = section_kind(name, &s->arg);
    s->line = lineno;
    return 0;
}

static void scan_key(struct scan *sc, const char *line, size_t n, int lineno)
{
    sc->keys = xreallocarray(sc->keys, sc->nkeys + 1, sizeof *sc->keys);
    struct scan_key *k = &sc->keys[sc->nkeys++];
    k->section = sc->nsections ? sc->nsections - 1 : (size_t)-1;
    k->name = xstrndup(line, n);
    k->line = lineno;
}

static bool ends_with_backslash(const char *s)
{
    size_t n = strlen(s);

    while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t'))
        n--;
    return n > 0 && s[n - 1] == '\\';
}

/* Drop an alias by name, or every alias for '*', as mailx's unalias does. */
static void remove_aliases(struct config *cfg, const char *name)
{
    size_t out = 0;

    for (size_t i = 0; i < cfg->naliases; i++) {
        struct alias *a = &cfg->aliases[i];

        if (strcmp(name, "*") == 0 || str_casecmp(a->name, name) == 0) {
            for (size_t j = 0; j < a->naddrs; j++)
                free(a->addrs[j]);
            free(a->addrs);
            free(a->name);
            continue;
        }
        cfg->aliases[out++] = *a;
    }
    cfg->naliases = out;
}

/* Add header names to a weeding list (once each), or remove them ('*' empties it). */
static void weed_list(char ***v, size_t *n, char **words, size_t nwords, bool add)
{
    for (size_t w = 0; w < nwords; w++) {
        size_t out = 0;
        bool found = false;

        for (size_t i = 0; i < *n; i++) {
            bool match = strcmp(words[w], "*") == 0 || str_casecmp((*v)[i], words[w]) == 0;

            found |= match;
            if (match && !add)
                free((*v)[i]);
            else
                (*v)[out++] = (*v)[i];
        }
        *n = out;
        if (add && !found) {
            *v = xreallocarray(*v, *n + 1, sizeof **v);
            (*v)[(*n)++] = xstrdup(words[w]);
        }
    }
}

static bool word_is(const char *w, size_t n, const char *name)
{
    return strlen(name) == n && memcmp(w, name, n) == 0;
}

/* A complete mailx command (continuations joined): what tern takes from it. */
static void mailx_command(struct config *cfg, const char *line, int lineno)
{
    size_t w = 0;
    char **words;
    size_t n;

    while (is_key_char(line[w]))
        w++;
    if (word_is(line, w, "alias") || word_is(line, w, "a") || word_is(line, w, "group") ||
        word_is(line, w, "g")) {
        add_alias(cfg, line + w, lineno);
        return;
    }
    bool unalias = word_is(line, w, "unalias");
    bool ign = word_is(line, w, "ignore") || word_is(line, w, "discard");
    bool unign = word_is(line, w, "unignore") || word_is(line, w, "undiscard");
    bool ret = word_is(line, w, "retain"), unret = word_is(line, w, "unretain");
    if (!unalias && !ign && !unign && !ret && !unret)
        return;
    alias_words(line + w, &words, &n);
    if (unalias)
        for (size_t i = 0; i < n; i++)
            remove_aliases(cfg, words[i]);
    else if (ign || unign)
        weed_list(&cfg->hdr_ignore, &cfg->nhdr_ignore, words, n, ign);
    else
        weed_list(&cfg->hdr_retain, &cfg->nhdr_retain, words, n, ret);
    str_list_free(words, n);
}

/* The command word of a mailx line, past s-nail's modifiers (wysh, ignerr, local, u). */
static const char *mailx_verb(const char *line, size_t *len)
{
    static const char *const modifiers[] = { "wysh", "ignerr", "local", "u", NULL };

    for (;;) {
        size_t w = 0;
        bool mod = false;

        while (line[w] && line[w] != ' ' && line[w] != '\t')
            w++;
        for (size_t i = 0; modifiers[i]; i++)
            mod |= word_is(line, w, modifiers[i]);
        if (!mod || line[w] == '\0') {
            *len = w;
            return line;
        }
        line += w;
        while (*line == ' ' || *line == '\t')
            line++;
    }
}

/*
 * How a plain line changes the depth of mailx's multi-line constructs: `if` ... `endif`, and
 * `define NAME {` / `account NAME {` ... `}`, which may nest.
 */
static int block_change(const char *line)
{
    size_t n, len = strlen(line);
    const char *verb = mailx_verb(line, &n);

    while (len > 0 && (line[len - 1] == ' ' || line[len - 1] == '\t'))
        len--;
    if (word_is(verb, n, "if"))
        return 1;
    if (word_is(verb, n, "endif") || (len == 1 && line[0] == '}'))
        return -1;
    if (len > 0 && line[len - 1] == '{')
        return 1;
    return 0;
}

static void mark_ini_line(struct scan *sc, struct config *cfg, bool marked, int lineno)
{
    if (marked)
        return;
    sc->ini_lines[lineno - 1] = 1;
    if (cfg->plain_ini_lines++ == 0)
        cfg->first_plain_ini_line = lineno;
}

/* A mailx line (outside a block): kept aside until its backslash continuations end. */
static void scan_mailx(struct scan *sc, struct config *cfg, const char *line, int lineno)
{
    size_t n = strlen(line);
    bool cont = ends_with_backslash(line);

    if (sc->mx_line == 0) {
        sc->mx_line = lineno;
        buf_reset(&sc->mx);
    }
    if (cont) {
        while (n > 0 && (line[n - 1] == ' ' || line[n - 1] == '\t'))
            n--;
        n--;    /* the backslash */
    }
    buf_add(&sc->mx, line, n);
    if (cont) {
        buf_addc(&sc->mx, ' ');
        return;
    }
    mailx_command(cfg, buf_cstr(&sc->mx), sc->mx_line);
    sc->mx_line = 0;
}

/*
 * Classify one line (without its line ending; a '#:' marker already taken off, marked says
 * so); appends what iniparser should see. Marked lines are always tern's; a plain line is
 * tern's when it is INI, and otherwise mailx's unless it stands in a section opened by a plain
 * line and is no mailx command (then it is a mistake in tern's settings).
 */
static int scan_line(struct scan *sc, struct config *cfg, char *raw, bool marked, int lineno,
                     struct err *e)
{
    char *line = raw;
    size_t w = 0;

    while (*line == ' ' || *line == '\t')
        line++;
    if (sc->mx_line != 0) {
        scan_mailx(sc, cfg, line, lineno);
        return 0;       /* blanked */
    }
    if (sc->ini_cont) {
        sc->ini_cont = ends_with_backslash(line);
        mark_ini_line(sc, cfg, marked, lineno);
        buf_adds(&sc->ini, raw);
        return 0;
    }
    if (!marked && sc->block > 0) {
        sc->block += block_change(line);
        return 0;
    }
    if (*line == '\0' || *line == '#') {
        buf_adds(&sc->ini, raw);
        return 0;
    }
    if (*line == ';') {     /* a comment to tern, a command to mailx */
        if (sc->nsections > 0 && !sc->section_marked)
            mark_ini_line(sc, cfg, marked, lineno);
        buf_adds(&sc->ini, raw);
        return 0;
    }
    if (*line == '[') {
        mark_ini_line(sc, cfg, marked, lineno);
        sc->section_marked = marked;
        buf_adds(&sc->ini, raw);
        return scan_section(sc, line, lineno, e);
    }
    while (is_key_char(line[w]))
        w++;
    size_t v = w;
    while (line[v] == ' ' || line[v] == '\t')
        v++;
    if (w > 0 && line[v] == '=') {
        if (sc->nsections == 0)
            return cfg_error(e, lineno, "'%.*s' stands before any [section]", (int)w, line);
        mark_ini_line(sc, cfg, marked, lineno);
        scan_key(sc, line, w, lineno);
        sc->ini_cont = ends_with_backslash(line);
        buf_adds(&sc->ini, raw);
        return 0;
    }
    bool known = w > 0 && (line[w] == '\0' || line[w] == ' ' || line[w] == '\t') &&
                 is_mailx_word(line, w);
    if (known || (!marked && (sc->nsections == 0 || sc->section_marked))) {
        if (!marked && block_change(line) > 0) {
            sc->block = 1;
            return 0;
        }
        scan_mailx(sc, cfg, line, lineno);
        return 0;
    }
    return cfg_error(e, lineno, "expected 'key = value', a [section] or a mailx command, "
                                "not '%.40s'", line);
}

/* A line that begins with '#:' (after blanks) is tern's: mailx reads it as a comment. */
static char *unmark(char *line, bool *marked)
{
    char *p = line;

    while (*p == ' ' || *p == '\t')
        p++;
    *marked = p[0] == '#' && p[1] == ':';
    return *marked ? p + 2 : line;
}

static int scan_text(struct scan *sc, struct config *cfg, const char *text, size_t len,
                     struct err *e)
{
    int lineno = 0;
    size_t pos = 0, nlines = 1;

    for (size_t i = 0; i < len; i++)
        nlines += text[i] == '\n';
    sc->ini_lines = xcalloc(nlines, 1);
    sc->nlines = nlines;
    while (pos < len) {
        const char *nl = memchr(text + pos, '\n', len - pos);
        size_t n = nl ? (size_t)(nl - (text + pos)) : len - pos;
        char *line;
        bool marked = false;
        int rc;

        lineno++;
        if (memchr(text + pos, '\0', n) != NULL)
            return cfg_error(e, lineno, "NUL byte in the file");
        line = xmemdup0(text + pos, n);
        if (n > 0 && line[n - 1] == '\r')
            line[n - 1] = '\0';
        char *body = unmark(line, &marked);
        rc = scan_line(sc, cfg, body, marked, lineno, e);
        free(line);
        if (rc < 0)
            return -1;
        buf_addc(&sc->ini, '\n');
        pos += n + 1;
    }
    if (sc->mx_line != 0)    /* a backslash on the last line */
        mailx_command(cfg, buf_cstr(&sc->mx), sc->mx_line);
    return 0;
}

static void scan_free(struct scan *sc)
{
    for (size_t i = 0; i < sc->nsections; i++) {
        free(sc->sections[i].name);
        free(sc->sections[i].arg);
    }
    for (size_t i = 0; i < sc->nkeys; i++)
        free(sc->keys[i].name);
    free(sc->sections);
    free(sc->keys);
    free(sc->ini_lines);
    buf_free(&sc->ini);
    buf_free(&sc->mx);
}

/* ---- iniparser ---- */

/* iniparser reports through a printf-like callback; keep the first message for struct err. */
static char ini_message[256];

static int ini_errback(const char *fmt, ...)
{
    va_list ap;

    if (ini_message[0] != '\0')
        return 0;
    va_start(ap, fmt);
    vsnprintf(ini_message, sizeof ini_message, fmt, ap);
    va_end(ap);
    for (char *p = ini_message; *p; p++)
        if (*p == '\n')
            *p = ' ';
    return 0;
}

/*
 * iniparser only reads named files. The filtered text may hold passwords, so it goes to an
 * anonymous memory file rather than to disk; where memfd_create is missing, to a temporary
 * file that is unlinked at once.
 */
static int ini_tempfile(void)
{
#ifdef HAVE_MEMFD_CREATE
    int fd = memfd_create("tern-mailrc", MFD_CLOEXEC);
    if (fd >= 0)
        return fd;
#endif
    char tmpl[] = "/tmp/tern-mailrc.XXXXXX";
    int tfd = mkstemp(tmpl);

    if (tfd >= 0)
        unlink(tmpl);
    return tfd;
}

static dictionary *ini_load(const struct buf *text, struct err *e)
{
    char path[64];
    dictionary *d;
    int fd = ini_tempfile();

    if (fd < 0)
        return err_sys(e, "%s: temporary file", cfg_name), NULL;
    if (fs_write_all(fd, text->ptr ? text->ptr : "", text->len) < 0) {
        err_sys(e, "%s: temporary file", cfg_name);
        close(fd);
        return NULL;
    }
    snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
    if (access(path, R_OK) != 0)
        snprintf(path, sizeof path, "/dev/fd/%d", fd);
    ini_message[0] = '\0';
    iniparser_set_error_callback(ini_errback);
    d = iniparser_load(path);
    close(fd);
    if (d == NULL)
        cfg_error(e, 0, "%s", ini_message[0] ? ini_message : "cannot be parsed");
    return d;
}

/* ---- values ---- */

static int parse_enum(const char *v, const char *const *names, long *out)
{
    for (long i = 0; names[i]; i++)
        if (names[i][0] != '\0' && str_casecmp(v, names[i]) == 0)
            return *out = i, 0;
    return -1;
}

/* A number with an optional unit suffix; units is e.g. "smhd" with their multipliers. */
static int parse_scaled(const char *v, const char *units, const long *mult, long *out)
{
    char *end;
    long n;

    errno = 0;
    n = strtol(v, &end, 10);
    if (end == v || errno != 0 || n < 0)
        return -1;
    if (*end != '\0') {
        const char *u = strchr(units, *end | 0x20);

        if (u == NULL || end[1] != '\0')
            return -1;
        if (n > __LONG_MAX__ / mult[u - units])
            return -1;
        n *= mult[u - units];
    }
    *out = n;
    return 0;
}

static bool valid_fingerprint(const char *v)
{
    size_t hex = 0;

    if (str_ncasecmp(v, "sha256:", 7) == 0)
        v += 7;
    for (; *v; v++) {
        if ((*v >= '0' && *v <= '9') || ((*v | 0x20) >= 'a' && (*v | 0x20) <= 'f'))
            hex++;
        else if (*v != ':')
            return false;
    }
    return hex == 64;
}

/* "a, b or c" of the words (the empty ones are none). */
static const char *words_text(const char *const *names, char *tmp, size_t n)
{
    size_t off = 0, k = 0, total = 0;

    for (size_t i = 0; names[i]; i++)
        total += names[i][0] != '\0';
    tmp[0] = '\0';
    for (size_t i = 0; names[i] && off < n; i++) {
        const char *sep;

        if (names[i][0] == '\0')
            continue;
        k++;
        sep = k == 1 ? "" : k == total ? " or " : ", ";
        off += (size_t)snprintf(tmp + off, n - off, "%s%s", sep, names[i]);
    }
    return tmp;
}

static const char *allowed_text(const struct key_def *k, char *tmp, size_t n)
{
    if (enum_names(k->type) != NULL)
        return words_text(enum_names(k->type), tmp, n);
    switch (k->type) {
    case K_KEEP:
        snprintf(tmp, n, "no, yes or a number of days from 1 to %ld", k->max);
        return tmp;
    case K_DURATION:
        snprintf(tmp, n, "a duration from %lds to %lds (suffix s, m, h or d)", k->min, k->max);
        return tmp;
    case K_SIZE:
        snprintf(tmp, n, "a size from %ld to %ld bytes (suffix K, M or G)", k->min, k->max);
        return tmp;
    case K_FINGERPRINT:
        return "a SHA-256 fingerprint: 64 hex digits, colons allowed";
    case K_DSN_NOTIFY:
        return "never, or success, failure and delay separated by commas";
    case K_DSN_RET:
        return "full or headers";
    default:
        snprintf(tmp, n, "a whole number from %ld to %ld", k->min, k->max);
        return tmp;
    }
}

/*
 * dsn_notify / dsn_return as SMTP parameters: "failure, delay" -> "FAILURE,DELAY", "headers"
 * -> "HDRS". NULL when the value is not valid.
 */
static char *dsn_value(enum key_type type, const char *v)
{
    static const char *const notify[] = { "success", "failure", "delay", NULL };
    struct buf out = BUF_INIT;
    char *copy, *save = NULL;
    bool never = false, ok = true;

    if (type == K_DSN_RET) {
        if (str_casecmp(v, "full") == 0)
            return xstrdup("FULL");
        if (str_casecmp(v, "headers") == 0 || str_casecmp(v, "hdrs") == 0)
            return xstrdup("HDRS");
        return NULL;
    }
    copy = xstrdup(v);
    for (char *w = strtok_r(copy, ", ", &save); w && ok; w = strtok_r(NULL, ", ", &save)) {
        long i;

        if (str_casecmp(w, "never") == 0) {
            never = true;
            continue;
        }
        if (parse_enum(w, notify, &i) < 0 ||
            str_casemem(out.ptr ? out.ptr : "", out.len, notify[i]) != NULL) {
            ok = false;
            break;
        }
        if (out.len)
            buf_addc(&out, ',');
        for (const char *c = notify[i]; *c; c++)
            buf_addc(&out, (char)(*c - 'a' + 'A'));
    }
    free(copy);
    if (ok && never && out.len == 0)
        buf_adds(&out, "NEVER");
    else if (never || out.len == 0)
        ok = false;
    if (!ok) {
        buf_free(&out);
        return NULL;
    }
    return buf_detach(&out);
}

/* Parse value v for key k into the struct at base; line is for the message. */
static int set_value(void *base, const struct key_def *k, const char *v, int line,
                     struct err *e)
{
    static const long dur_mult[] = { 1, 60, 3600, 86400 };
    static const long size_mult[] = { 1024, 1024L * 1024, 1024L * 1024 * 1024 };
    char **sp = (char **)((char *)base + k->off);
    long *lp = (long *)((char *)base + k->off);
    long n = 0;
    int rc = 0;
    char tmp[120];

    switch (k->type) {
    case K_STR:
        free(*sp);
        *sp = *v ? fs_expand(v) : NULL;
        return 0;
    case K_RAW:
        free(*sp);
        *sp = *v ? xstrdup(v) : NULL;
        return 0;
    case K_FINGERPRINT:
        if (*v && !valid_fingerprint(v))
            break;
        free(*sp);
        *sp = *v ? xstrdup(v) : NULL;
        return 0;
    case K_DSN_NOTIFY:
    case K_DSN_RET: {
        /* kept in the form SMTP wants (RFC 3461): upper case, no spaces */
        char *up = *v ? dsn_value(k->type, v) : NULL;

        if (*v && up == NULL)
            break;
        free(*sp);
        *sp = up;
        return 0;
    }
    case K_NUM:
        rc = str_tolong(v, k->min, k->max, &n);
        break;
    case K_DURATION:
        rc = parse_scaled(v, "smhd", dur_mult, &n);
        break;
    case K_SIZE:
        rc = parse_scaled(v, "kmg", size_mult, &n);
        break;
    case K_TLS: case K_AUTH: case K_SMTP_AUTH: case K_PROVIDER: case K_NOTIFY:
        rc = parse_enum(v, enum_names(k->type), &n);
        break;
    case K_BOOL: {
        bool b;
        if (str_tobool(v, &b) < 0)
            return cfg_error(e, line, "%s: '%s' is not valid: use yes or no", k->name, v);
        *(bool *)((char *)base + k->off) = b;
        return 0;
    }
    case K_KEEP:
        /* only no, yes or days: "1" is one day, not a boolean (it used to mean "never") */
        if (str_casecmp(v, "no") == 0)
            n = POP3_KEEP_NO;
        else if (str_casecmp(v, "yes") == 0)
            n = POP3_KEEP_FOREVER;
        else
            rc = str_tolong(v, 1, k->max, &n);
        break;
    }
    if (k->type == K_FINGERPRINT || k->type == K_DSN_NOTIFY || k->type == K_DSN_RET ||
        (rc == 0 && (k->type == K_DURATION || k->type == K_SIZE) && (n < k->min || n > k->max)))
        rc = -1;
    if (rc < 0)
        return cfg_error(e, line, "%s: '%s' is not valid: use %s", k->name, v,
                         allowed_text(k, tmp, sizeof tmp));
    if (enum_names(k->type) != NULL)
        *(int *)((char *)base + k->off) = (int)n;
    else
        *lp = n;
    return 0;
}

static int apply_defaults(void *base, const struct key_def *keys, struct err *e)
{
    for (const struct key_def *k = keys; k->name; k++)
        if (k->def && set_value(base, k, k->def, 0, e) < 0)
            return -1;
    return 0;
}

static const struct key_def *find_key(const struct key_def *keys, const char *name)
{
    for (const struct key_def *k = keys; k->name; k++)
        if (strcmp(k->name, name) == 0)
            return k;
    return NULL;
}

static const char *closest_key(const struct key_def *keys, const char *name)
{
    const char *best = NULL;
    size_t best_d = 4;   /* suggest only close matches */

    for (const struct key_def *k = keys; k->name; k++) {
        size_t d = str_distance(name, k->name);

        if (d < best_d)
            best = k->name, best_d = d;
    }
    return best;
}

/* ---- second pass: build struct config ---- */

static void add_pair(struct config_pair **v, size_t *n, const char *name, const char *value,
                     int line)
{
    *v = xreallocarray(*v, *n + 1, sizeof **v);
    (*v)[*n].name = xstrdup(name);
    (*v)[*n].value = xstrdup(value);
    (*v)[*n].line = line;
    (*n)++;
}

static struct account *account_for(struct config *cfg, const struct scan_section *s,
                                   struct err *e)
{
    for (size_t i = 0; i < cfg->naccounts; i++)
        if (str_casecmp(cfg->accounts[i].name, s->arg) == 0)
            return &cfg->accounts[i];
    cfg->accounts = xreallocarray(cfg->accounts, cfg->naccounts + 1, sizeof *cfg->accounts);
    struct account *a = &cfg->accounts[cfg->naccounts++];
    memset(a, 0, sizeof *a);
    a->name = xstrdup(s->arg);
    a->line = s->line;
    if (apply_defaults(a, account_keys, e) < 0)
        return NULL;
    return a;
}

static int apply_key(struct config *cfg, dictionary *d, const struct scan *sc,
                     const struct scan_key *k, struct err *e)
{
    const struct scan_section *s = &sc->sections[k->section];
    const struct key_def *keys = NULL;
    void *base = NULL;
    char *lname = xstrdup(s->name), *full;
    const char *v;
    int rc = 0;

    /* iniparser folds section and key names to lower case; so must the lookup. */
    for (char *p = lname; *p; p++)
        *p = (char)((*p >= 'A' && *p <= 'Z') ? *p + 32 : *p);
    struct buf kb = BUF_INIT;
    buf_printf(&kb, "%s:%s", lname, k->name);
    for (char *p = kb.ptr; *p; p++)
        *p = (char)((*p >= 'A' && *p <= 'Z') ? *p + 32 : *p);
    full = buf_detach(&kb);
    v = iniparser_getstring(d, full, NULL);
    if (v == NULL)
        v = "";
    switch (s->kind) {
    case SEC_GENERAL:
        keys = general_keys, base = cfg;
        break;
    case SEC_ACCOUNT:
        keys = account_keys;
        base = account_for(cfg, s, e);
        if (base == NULL)
            rc = -1;
        break;
    case SEC_KEYS:
        add_pair(&cfg->keys, &cfg->nkeys, k->name, v, k->line);
        break;
    case SEC_COLORS:
        add_pair(&cfg->colors, &cfg->ncolors, k->name, v, k->line);
        break;
    case SEC_UNKNOWN:
        break;
    }
    if (keys != NULL && base != NULL) {
        const struct key_def *kd = find_key(keys, k->name);

        if (kd != NULL) {
            rc = set_value(base, kd, v, k->line, e);
        } else {
            const char *near = closest_key(keys, k->name);
            if (near)
                cfg_warn(cfg, k->line, "unknown key '%s' in [%s] (did you mean %s?)", k->name,
                         s->name, near);
            else
                cfg_warn(cfg, k->line, "unknown key '%s' in [%s]", k->name, s->name);
        }
    }
    free(lname);
    free(full);
    return rc;
}

static int build(struct config *cfg, const struct scan *sc, dictionary *d, struct err *e)
{
    for (size_t i = 0; i < sc->nsections; i++) {
        const struct scan_section *s = &sc->sections[i];

        if (s->kind == SEC_UNKNOWN)
            cfg_warn(cfg, s->line, "unknown section [%s] ignored", s->name);
        if (s->kind == SEC_ACCOUNT) {
            for (size_t j = 0; j < i; j++)
                if (sc->sections[j].kind == SEC_ACCOUNT &&
                    str_casecmp(sc->sections[j].arg, s->arg) == 0)
                    cfg_warn(cfg, s->line, "[%s] repeats line %d; their keys are merged",
                             s->name, sc->sections[j].line);
            if (account_for(cfg, s, e) == NULL)
                return -1;
        }
    }
    for (size_t i = 0; i < sc->nkeys; i++)
        if (apply_key(cfg, d, sc, &sc->keys[i], e) < 0)
            return -1;
    return 0;
}

/* 127.0.0.0/8, ::1 and localhost: a password sent there in clear never leaves the host. */
static bool host_is_loopback(const char *h)
{
    size_t n = strlen(h);

    while (n > 1 && h[n - 1] == '.')
        n--;
    return (n == 9 && str_ncasecmp(h, "localhost", 9) == 0) ||
           (n > 10 && str_ncasecmp(h + n - 10, ".localhost", 10) == 0) ||
           strncmp(h, "127.", 4) == 0 || strcmp(h, "::1") == 0 || strcmp(h, "[::1]") == 0;
}

/* Defaults that depend on other keys. */
static void finish_accounts(struct config *cfg)
{
    for (size_t i = 0; i < cfg->naccounts; i++) {
        struct account *a = &cfg->accounts[i];

        /* Said at check-config and at every command that may connect (tern fetch/send). */
        if (a->pop3_host && a->pop3_tls == TLS_MODE_NONE && !host_is_loopback(a->pop3_host))
            cfg_warn(cfg, 0, "account %s: pop3_tls = none with %s: the password goes over the "
                     "network in clear", a->name, a->pop3_host);
        if (a->smtp_host && a->smtp_tls == TLS_MODE_NONE && !host_is_loopback(a->smtp_host) &&
            (a->smtp_user || a->pop3_user))
            cfg_warn(cfg, 0, "account %s: smtp_tls = none with %s: the password goes over the "
                     "network in clear", a->name, a->smtp_host);

        if (a->pop3_port == 0)
            a->pop3_port = a->pop3_tls == TLS_MODE_TLS ? 995 : 110;
        if (a->smtp_port == 0)
            a->smtp_port = a->smtp_tls == TLS_MODE_TLS ? 465 : 587;
        if (a->smtp_user == NULL && a->pop3_user != NULL)
            a->smtp_user = xstrdup(a->pop3_user);
    }
}

static int check_default_account(struct config *cfg, struct err *e)
{
    if (cfg->default_account == NULL)
        return 0;
    for (size_t i = 0; i < cfg->naccounts; i++)
        if (str_casecmp(cfg->accounts[i].name, cfg->default_account) == 0)
            return 0;
    return cfg_error(e, 0, "default_account '%s' names no [account %s] section",
                     cfg->default_account, cfg->default_account);
}

static struct config *config_new(void)
{
    struct config *cfg = xcalloc(1, sizeof *cfg);

    if (apply_defaults(cfg, general_keys, NULL) < 0)
        abort();   /* the defaults table itself is wrong: a programming error */
    return cfg;
}

/* Parse text; when plain is not NULL it receives the per-line "plain INI line" flags. */
static int parse_text(const char *name, const char *text, size_t len, struct config **out,
                      unsigned char **plain, struct err *e)
{
    struct config *cfg = config_new();
    struct scan sc;
    dictionary *d = NULL;
    int rc = -1;

    memset(&sc, 0, sizeof sc);
    cfg_name = name;
    cfg->path = xstrdup(name);
    cfg->exists = true;
    if (scan_text(&sc, cfg, text, len, e) < 0)
        goto out;
    d = ini_load(&sc.ini, e);
    if (d == NULL)
        goto out;
    if (build(cfg, &sc, d, e) < 0 || check_default_account(cfg, e) < 0)
        goto out;
    finish_accounts(cfg);
    rc = 0;
    if (plain != NULL) {
        *plain = sc.ini_lines;
        sc.ini_lines = NULL;
    }
out:
    if (d)
        iniparser_freedict(d);
    scan_free(&sc);
    if (rc < 0) {
        config_free(cfg);
        cfg = NULL;
    }
    *out = cfg;
    return rc;
}

int config_parse(const char *name, const char *text, size_t len, struct config **out,
                 struct err *e)
{
    return parse_text(name, text, len, out, NULL, e);
}

char *config_mailx_safe(const char *name, const char *text, size_t len, struct err *e)
{
    struct config *cfg;
    unsigned char *plain;
    struct buf out = BUF_INIT;
    size_t pos = 0;

    if (parse_text(name, text, len, &cfg, &plain, e) < 0)
        return NULL;
    config_free(cfg);
    for (size_t line = 0; pos < len; line++) {
        const char *nl = memchr(text + pos, '\n', len - pos);
        size_t n = nl ? (size_t)(nl - (text + pos)) + 1 : len - pos;

        if (plain[line])
            buf_adds(&out, "#: ");
        buf_add(&out, text + pos, n);
        pos += n;
    }
    free(plain);
    if (out.ptr == NULL)
        buf_adds(&out, "");
    return buf_detach(&out);
}

/* Whether name (len bytes) is one of the words (blanks or commas between) of list. */
static bool word_listed(const char *list, const char *name, size_t len)
{
    const char *p = list;

    while (*p) {
        size_t n;

        p += strspn(p, " \t,");
        n = strcspn(p, " \t,");
        if (n == len && str_ncasecmp(p, name, len) == 0)
            return true;
        p += n;
    }
    return false;
}

bool config_header_shown(const struct config *cfg, const char *name, size_t len)
{
    if (cfg->headers != NULL)           /* [general] headers: tern's own list wins */
        return word_listed(cfg->headers, name, len);
    if (cfg->nhdr_retain > 0) {
        for (size_t i = 0; i < cfg->nhdr_retain; i++)
            if (strlen(cfg->hdr_retain[i]) == len && str_ncasecmp(cfg->hdr_retain[i], name,
                                                                  len) == 0)
                return true;
        return false;
    }
    for (size_t i = 0; i < cfg->nhdr_ignore; i++)
        if (strlen(cfg->hdr_ignore[i]) == len && str_ncasecmp(cfg->hdr_ignore[i], name, len) == 0)
            return false;
    return true;
}

static bool holds_password(const struct config *cfg)
{
    for (size_t i = 0; i < cfg->naccounts; i++)
        if (cfg->accounts[i].password || cfg->accounts[i].smtp_password)
            return true;
    return false;
}

int config_load(const char *path, struct config **out, struct err *e)
{
    struct buf text = BUF_INIT;
    struct stat st;
    int fd, rc;

    *out = NULL;
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0 && errno == ENOENT) {
        struct config *cfg = config_new();
        cfg->path = xstrdup(path);
        *out = cfg;
        return 0;
    }
    if (fd < 0 || fstat(fd, &st) < 0 || fs_read_fd(fd, &text) < 0) {
        err_sys(e, "%s", path);
        if (fd >= 0)
            close(fd);
        buf_free(&text);
        return -1;
    }
    close(fd);
    rc = config_parse(path, text.ptr ? text.ptr : "", text.len, out, e);
    buf_free(&text);
    if (rc == 0 && holds_password(*out) && (st.st_mode & 077))
        cfg_warn(*out, 0, "holds a password and is readable by others: chmod 600 %s", path);
    else if (rc == 0 && (st.st_mode & 022))
        cfg_warn(*out, 0, "is writable by others and names commands tern runs (editor, "
                 "password_command): chmod 600 %s", path);
    return rc;
}

void config_free(struct config *cfg)
{
    if (cfg == NULL)
        return;
    for (const struct key_def *k = general_keys; k->name; k++)
        if (k->type == K_STR || k->type == K_RAW)
            free(*(char **)((char *)cfg + k->off));
    for (size_t i = 0; i < cfg->naccounts; i++) {
        struct account *a = &cfg->accounts[i];
        for (const struct key_def *k = account_keys; k->name; k++)
            if (k->type == K_STR || k->type == K_RAW || k->type == K_FINGERPRINT ||
                k->type == K_DSN_NOTIFY || k->type == K_DSN_RET)
                free(*(char **)((char *)a + k->off));
        free(a->name);
    }
    for (size_t i = 0; i < cfg->naliases; i++) {
        str_list_free(cfg->aliases[i].addrs, cfg->aliases[i].naddrs);
        free(cfg->aliases[i].name);
    }
    for (size_t i = 0; i < cfg->nkeys; i++)
        free(cfg->keys[i].name), free(cfg->keys[i].value);
    for (size_t i = 0; i < cfg->ncolors; i++)
        free(cfg->colors[i].name), free(cfg->colors[i].value);
    str_list_free(cfg->warnings, cfg->nwarnings);
    str_list_free(cfg->hdr_ignore, cfg->nhdr_ignore);
    str_list_free(cfg->hdr_retain, cfg->nhdr_retain);
    free(cfg->accounts);
    free(cfg->aliases);
    free(cfg->keys);
    free(cfg->colors);
    free(cfg->path);
    free(cfg);
}

const struct account *config_account(const struct config *cfg, const char *name)
{
    if (name == NULL)
        name = cfg->default_account;
    if (name == NULL)
        return cfg->naccounts ? &cfg->accounts[0] : NULL;
    for (size_t i = 0; i < cfg->naccounts; i++)
        if (str_casecmp(cfg->accounts[i].name, name) == 0)
            return &cfg->accounts[i];
    return NULL;
}

void config_alias_add(struct config *cfg, const char *name, const char *address)
{
    struct alias *a;

    remove_aliases(cfg, name);
    cfg->aliases = xreallocarray(cfg->aliases, cfg->naliases + 1, sizeof *cfg->aliases);
    a = &cfg->aliases[cfg->naliases++];
    a->name = xstrdup(name);
    a->naddrs = 1;
    a->addrs = xreallocarray(NULL, 1, sizeof *a->addrs);
    a->addrs[0] = xstrdup(address);
}

const struct alias *config_alias(const struct config *cfg, const char *name)
{
    for (size_t i = 0; i < cfg->naliases; i++)
        if (str_casecmp(cfg->aliases[i].name, name) == 0)
            return &cfg->aliases[i];
    return NULL;
}

const char *config_auth_name(enum auth_mech m)
{
    return auth_names[m];
}

static bool is_secret(const struct key_def *k)
{
    return strcmp(k->name, "password") == 0 || strcmp(k->name, "smtp_password") == 0 ||
           strcmp(k->name, "oauth_client_secret") == 0;
}

static void describe_keys(struct buf *b, const void *base, const struct key_def *keys)
{
    for (const struct key_def *k = keys; k->name; k++) {
        const void *field = (const char *)base + k->off;
        const char *sp;
        long n;

        buf_printf(b, "  %-22s = ", k->name);
        switch (k->type) {
        case K_STR: case K_RAW: case K_FINGERPRINT: case K_DSN_NOTIFY: case K_DSN_RET:
            sp = *(char *const *)field;
            if (sp == NULL)
                buf_adds(b, "(unset)");
            else if (is_secret(k))
                buf_adds(b, "******** (set)");
            else
                buf_adds(b, sp);
            break;
        case K_TLS: case K_AUTH: case K_SMTP_AUTH: case K_PROVIDER: case K_NOTIFY:
            buf_adds(b, enum_names(k->type)[*(const int *)field]);
            break;
        case K_KEEP:
            n = *(const long *)field;
            if (n == POP3_KEEP_NO)
                buf_adds(b, "no");
            else if (n == POP3_KEEP_FOREVER)
                buf_adds(b, "yes");
            else
                buf_printf(b, "%ld days", n);
            break;
        case K_DURATION:
            buf_printf(b, "%lds", *(const long *)field);
            break;
        case K_SIZE:
            buf_printf(b, "%ld bytes", *(const long *)field);
            break;
        case K_NUM:
            buf_printf(b, "%ld", *(const long *)field);
            break;
        case K_BOOL:
            buf_adds(b, *(const bool *)field ? "yes" : "no");
            break;
        }
        buf_addc(b, '\n');
    }
}

char *config_describe(const struct config *cfg)
{
    struct buf b = BUF_INIT;

    buf_printf(&b, "# %s%s\n[general]\n", cfg->path, cfg->exists ? "" : " (not found: defaults)");
    describe_keys(&b, cfg, general_keys);
    for (size_t i = 0; i < cfg->naccounts; i++) {
        const struct account *a = &cfg->accounts[i];

        buf_printf(&b, "\n[account %s]%s\n", a->name,
                   a == config_account(cfg, NULL) ? "   # default" : "");
        describe_keys(&b, a, account_keys);
    }
    if (cfg->naliases) {
        buf_adds(&b, "\n# aliases\n");
        for (size_t i = 0; i < cfg->naliases; i++) {
            buf_printf(&b, "  %s:", cfg->aliases[i].name);
            for (size_t j = 0; j < cfg->aliases[i].naddrs; j++)
                buf_printf(&b, " %s", cfg->aliases[i].addrs[j]);
            buf_addc(&b, '\n');
        }
    }
    if (cfg->nhdr_retain || cfg->nhdr_ignore) {
        bool retain = cfg->nhdr_retain > 0;
        char **v = retain ? cfg->hdr_retain : cfg->hdr_ignore;
        size_t n = retain ? cfg->nhdr_retain : cfg->nhdr_ignore;

        buf_printf(&b, "\n# header fields the pager %s (mailx %s)\n ", retain ? "shows" : "hides",
                   retain ? "retain" : "ignore");
        for (size_t i = 0; i < n; i++)
            buf_printf(&b, " %s", v[i]);
        buf_addc(&b, '\n');
    }
    return buf_detach(&b);
}

/* What every front end shares: loading the configuration and mapping errors to exit codes. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <termios.h>
#include <unistd.h>

#include "tern/buf.h"
#include "tern/cmd.h"
#include "tern/fsutil.h"
#include "tern/oauth.h"
#include "tern/secret.h"
#include "tern/str.h"
#include "tern/xalloc.h"

static const struct {
    const char *name, *synopsis, *summary;
} docs[] = {
    { "check-config", "[-c FILE] [--mailx-safe]",
      "show the effective settings and every warning" },
    { "scan", "[--sort KEY] [--threads] [--limit PATTERN] [--no-index] [--stats] FOLDER|PATH\n"
      "  KEY: date (default), arrival, from, subject, size; -KEY reverses",
      "list the messages of a folder (one line each)" },
    { "index", "[-c FILE] [--rebuild] [-q] [--worker-fd N] FOLDER|PATH...",
      "build or bring up to date the index of folders" },
    { "send", "[-c FILE] [-t] [-i|-oi] [-f ADDR] [-F NAME] [-a ACCOUNT] [-q] [-v]\n"
      "  [-N never|success,failure,delay] [-R full|hdrs] [-V ENVID]\n"
      "  [--sign] [--encrypt] [--smime|--pgp] [--no-sign] [--no-encrypt] [--] "
      "[RCPT...] < message", "queue a message (a sendmail drop-in) and deliver it" },
    { "flush", "[-c FILE] [--all] [--retry-held] [-q] [--worker-fd N] [--password-fd N]\n"
      "  [ACCOUNT...]",
      "deliver the queued messages that are due" },
    { "queue", "[-c FILE] [--retry ID | --delete ID]",
      "list the outgoing queue; --retry ID, --delete ID" },
    { "show", "[-c FILE] [--raw] [--headers=all|none] [--html] [--part N [-o FILE|DIR]] "
      "FILE...", "print messages as the pager shows them, or save a part" },
    { "fetch", "[-c FILE] [-v] [--worker-fd N] [--password-fd N] [ACCOUNT...]",
      "download new mail from POP3 accounts into their inbox" },
    { "auth", "[-c FILE] [-v] [--device | --browser] ACCOUNT",
      "authorize an OAuth2 account once (device code or browser)" },
};

static int doc_index(const char *command)
{
    for (size_t i = 0; command && i < sizeof docs / sizeof docs[0]; i++)
        if (strcmp(docs[i].name, command) == 0)
            return (int)i;
    return -1;
}

const char *cmd_summary(const char *command)
{
    int i = doc_index(command);

    return i < 0 ? NULL : docs[i].summary;
}

void cmd_usage(FILE *f, const struct globals *g, bool help)
{
    int i = doc_index(g->command);

    if (i < 0)
        return;
    fprintf(f, "usage: %s %s\n", g->progname, docs[i].synopsis);
    if (help)
        fprintf(f, "%s\nSee tern(1).\n", docs[i].summary);
}

bool cmd_option_at(int argc, char **argv, int *i)
{
    const char *a = *i < argc ? argv[*i] : NULL;

    if (a && strcmp(a, "--") == 0) {
        ++*i;
        return false;
    }
    return a && a[0] == '-' && a[1] != '\0';
}

int cmd_bad_usage(const struct globals *g, const char *fmt, ...)
{
    va_list ap;

    if (fmt) {
        fprintf(stderr, "%s: ", g->progname);
        va_start(ap, fmt);
        vfprintf(stderr, fmt, ap);
        va_end(ap);
        fputc('\n', stderr);
    }
    cmd_usage(stderr, g, false);
    return TERN_EX_USAGE;
}

int cmd_load_config(const struct globals *g, struct config **cfg)
{
    char *path = config_default_path(g->config_path);
    struct err e;
    int rc;

    rc = config_load(path, cfg, &e);
    free(path);
    if (rc < 0) {
        fprintf(stderr, "%s: %s\n", g->progname, e.msg);
        return e.cls == ERR_CONFIG ? EX_CONFIG : EX_NOINPUT;
    }
    for (size_t i = 0; i < (*cfg)->nwarnings; i++)
        fprintf(stderr, "%s: warning: %s\n", g->progname, (*cfg)->warnings[i]);
    return 0;
}

int cmd_exit_code(enum err_class cls)
{
    switch (cls) {
    case ERR_NONE:
        return EX_OK;
    case ERR_CONFIG:
        return EX_CONFIG;
    case ERR_NET:
    case ERR_TEMP:
    case ERR_LOCKED:
        return EX_TEMPFAIL;
    case ERR_TLS:
        return EX_UNAVAILABLE;
    case ERR_PROTO:
        return EX_PROTOCOL;
    case ERR_AUTH:
        return EX_NOPERM;
    case ERR_PERM:
        return EX_UNAVAILABLE;
    case ERR_PARSE:
        return EX_DATAERR;
    case ERR_CANCEL:
        return 130;
    case ERR_SYS:
    default:
        return EX_IOERR;
    }
}

void cmd_catch_signal(int sig, void (*handler)(int))
{
    struct sigaction sa;

    memset(&sa, 0, sizeof sa);
    sa.sa_handler = handler;
    sigemptyset(&sa.sa_mask);
    sigaction(sig, &sa, NULL);
}

int cmd_password_fd(const struct globals *g, const char *arg)
{
    long fd;
    struct err e;

    if (arg == NULL || str_tolong(arg, 0, 1 << 20, &fd) < 0) {
        fprintf(stderr, "%s: --password-fd needs a descriptor number\n", g->progname);
        return -1;
    }
    if (secret_read_fd((int)fd, &e) < 0) {
        fprintf(stderr, "%s: %s\n", g->progname, e.msg);
        return -1;
    }
    return 0;
}

/* Read one line from the terminal with echo off; NULL on EOF or error. */
static char *ask_tty(int tty, const char *prompt)
{
    struct termios old, quiet;
    struct buf line = BUF_INIT;
    bool restore = tcgetattr(tty, &old) == 0;
    char c, *res = NULL;
    ssize_t r;

    if (restore) {
        quiet = old;
        quiet.c_lflag &= ~(tcflag_t)(ECHO | ECHONL);
        quiet.c_lflag |= ICANON;
        tcsetattr(tty, TCSAFLUSH, &quiet);
    }
    (void)fs_write_all(tty, prompt, strlen(prompt));
    while ((r = read(tty, &c, 1)) == 1 || (r < 0 && errno == EINTR)) {
        if (r < 0)
            continue;
        if (c == '\n' || c == '\r') {
            res = xstrdup(buf_cstr(&line));
            break;
        }
        if (line.len < 4096)
            buf_addc(&line, c);
    }
    if (restore)
        tcsetattr(tty, TCSAFLUSH, &old);
    (void)fs_write_all(tty, "\n", 1);
    for (volatile char *p = line.ptr; p && p < line.ptr + line.cap; p++)
        *p = '\0';
    buf_free(&line);
    return res;
}

void cmd_ask_passwords(const struct globals *g, const struct account *const *accts, size_t n,
                       enum secret_use use)
{
    int tty = -1;

    for (size_t i = 0; i < n; i++) {
        const struct account *a = accts[i];
        const char *user = use == SECRET_SMTP ? a->smtp_user : a->pop3_user;
        const char *host = use == SECRET_SMTP ? a->smtp_host : a->pop3_host;
        char prompt[512], *pw;
        bool dup = false;

        for (size_t k = 0; k < i; k++)
            dup = dup || accts[k] == a;
        if (dup || !secret_missing(a, use) || oauth_configured(a))
            continue;
        if (tty < 0 && (tty = open("/dev/tty", O_RDWR | O_CLOEXEC | O_NOCTTY)) < 0)
            return;         /* no terminal: secret_get's error says what to set */
        snprintf(prompt, sizeof prompt, "%s: password for %s (%s@%s): ", g->progname, a->name,
                 user ? user : "?", host ? host : "?");
        pw = ask_tty(tty, prompt);
        if (pw && *pw)
            secret_remember(a->name, pw);
        secret_free(pw);
    }
    if (tty >= 0)
        close(tty);
}

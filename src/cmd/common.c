/* What every front end shares: loading the configuration and mapping errors to exit codes. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>

#include "tern/cmd.h"

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
      "  [--sign] [--encrypt] [--smime|--pgp] [--no-sign] [--no-encrypt] [--] "
      "[RCPT...] < message", "queue a message (a sendmail drop-in) and deliver it" },
    { "flush", "[-c FILE] [--all] [--retry-held] [-q] [--worker-fd N] [ACCOUNT...]",
      "deliver the queued messages that are due" },
    { "queue", "[-c FILE] [--retry ID | --delete ID]",
      "list the outgoing queue; --retry ID, --delete ID" },
    { "show", "[-c FILE] [--raw] [--headers=all|none] [--html] [--part N [-o FILE|DIR]] "
      "FILE...", "print messages as the pager shows them, or save a part" },
    { "fetch", "[-c FILE] [-v] [--worker-fd N] [ACCOUNT...]",
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

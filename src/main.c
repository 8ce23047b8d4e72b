/* tern: command dispatch. Global options may stand before or after the subcommand. */
#include "config.h"

#include <locale.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>

#include "tern/cmd.h"
#include "tern/log.h"
#include "tern/ui.h"

struct command {
    const char *name;
    cmd_fn fn;
};

/* Their synopses and summaries are in src/cmd/common.c (cmd_usage). */
static const struct command commands[] = {
    { "check-config", cmd_check_config },
    { "scan", cmd_scan },
    { "index", cmd_index },
    { "send", cmd_send },
    { "flush", cmd_flush },
    { "queue", cmd_queue },
    { "show", cmd_show },
    { "fetch", cmd_fetch },
    { "auth", cmd_auth },
};

#define NCOMMANDS (sizeof commands / sizeof commands[0])

static void usage(FILE *f, const char *prog)
{
    fprintf(f, "usage: %s [-c FILE] [-f FOLDER]      (the full-screen client)\n", prog);
    fprintf(f, "       %s [-c FILE] [-v] COMMAND [ARGS...]\n", prog);
    fprintf(f, "       %s --help | --version | -V\n", prog);
    fprintf(f, "       sendmail [OPTIONS] [--] [RCPT...]  (tern linked as sendmail: %s send)\n"
               "\ncommands:\n", prog);
    for (size_t i = 0; i < NCOMMANDS; i++)
        fprintf(f, "  %-14s %s\n", commands[i].name, cmd_summary(commands[i].name));
    fprintf(f, "\nglobal options:\n"
               "  -c FILE        read FILE instead of $MAILRC or ~/.mailrc\n"
               "  -v             trace the protocol on stderr (passwords redacted)\n"
               "\nSee tern(1) and mailrc(5).\n");
}

/*
 * Take -c FILE, -cFILE, --config=FILE and -v out of argv wherever they stand (up to "--"),
 * so that `tern -c F fetch` and `tern fetch -c F` mean the same. Returns the new argc, or -1
 * when -c lacks its argument.
 */
static int take_globals(int argc, char **argv, struct globals *g)
{
    int out = 1, i;

    for (i = 1; i < argc; i++) {
        char *a = argv[i];

        if (strcmp(a, "--") == 0)
            break;
        if (out == 1 && strcmp(a, "send") == 0) {
            /* sendmail's command line: its own parser takes -c and -v, and refuses any
             * option after the recipients instead of letting them vanish here */
            break;
        }
        if (strcmp(a, "-c") == 0 || strcmp(a, "--config") == 0) {
            if (i + 1 >= argc)
                return -1;
            g->config_path = argv[++i];
        } else if (strncmp(a, "--config=", 9) == 0) {
            g->config_path = a + 9;
        } else if (a[0] == '-' && a[1] == 'c' && a[2] != '\0') {
            g->config_path = a + 2;
        } else if (a[0] == '-' && a[1] == 'v' && strspn(a + 1, "v") == strlen(a + 1)) {
            g->verbose += (int)strlen(a + 1);
        } else if (strcmp(a, "--verbose") == 0) {
            g->verbose++;
        } else {
            argv[out++] = a;
        }
    }
    for (; i < argc; i++)
        argv[out++] = argv[i];
    argv[out] = NULL;
    return out;
}

static const char *base_name(const char *path)
{
    const char *slash = strrchr(path, '/');

    return slash ? slash + 1 : path;
}

int main(int argc, char **argv)
{
    struct globals g = { NULL, 0, "tern", NULL };
    char prefix[64];

    setlocale(LC_ALL, "");
    signal(SIGPIPE, SIG_IGN);   /* a dropped connection is an error value, not a death */
    if (argc > 0 && strcmp(base_name(argv[0]), "sendmail") == 0) {
        /* installed as (or linked to) sendmail: cron, mailx, git send-email */
        g.progname = "sendmail";
        g.command = "send";
        return cmd_send(argc, argv, &g);
    }
    argc = take_globals(argc, argv, &g);
    if (argc < 0) {
        fprintf(stderr, "tern: option -c needs a file name\n");
        usage(stderr, g.progname);
        return TERN_EX_USAGE;
    }
    if (g.verbose)
        log_set_level(LOG_TRACE);
    if (argc >= 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
        usage(stdout, g.progname);
        return EX_OK;
    }
    if (argc >= 2 && (strcmp(argv[1], "--version") == 0 || strcmp(argv[1], "-V") == 0)) {
        printf("tern %s\n", PACKAGE_VERSION);
        return EX_OK;
    }
    /* No command (or only -f FOLDER): the full-screen client. */
    if (argc < 2 || strncmp(argv[1], "-f", 2) == 0)
        return ui_main(argc, argv, &g);
    for (size_t i = 0; i < NCOMMANDS; i++) {
        if (strcmp(argv[1], commands[i].name) != 0)
            continue;
        /* every message of a subcommand begins "tern SUBCOMMAND: " */
        snprintf(prefix, sizeof prefix, "%s %s", g.progname, commands[i].name);
        g.progname = prefix;
        g.command = commands[i].name;
        if (argc >= 3 && strcmp(argv[2], "--help") == 0) {
            cmd_usage(stdout, &g, true);
            return EX_OK;
        }
        return commands[i].fn(argc - 1, argv + 1, &g);
    }
    fprintf(stderr, "tern: unknown command or option '%s'\n", argv[1]);
    usage(stderr, g.progname);
    return TERN_EX_USAGE;
}

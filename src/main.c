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
    const char *summary;
};

static const struct command commands[] = {
    { "check-config", cmd_check_config, "show the effective settings and every warning" },
    { "scan", cmd_scan, "list the messages of a folder (one line each)" },
    { "index", cmd_index, "build or bring up to date the index of folders" },
    { "send", cmd_send, "queue a message (sendmail-compatible) and deliver it" },
    { "flush", cmd_flush, "deliver the queued messages that are due" },
    { "queue", cmd_queue, "list the outgoing queue; --retry ID, --delete ID" },
    { "show", cmd_show, "print messages as the pager shows them, or save a part" },
    { "fetch", cmd_fetch, "download new mail from POP3 accounts into their inbox" },
};

#define NCOMMANDS (sizeof commands / sizeof commands[0])

static void usage(FILE *f, const char *prog)
{
    fprintf(f, "usage: %s [-c FILE] [-f FOLDER]      (the full-screen client)\n", prog);
    fprintf(f, "       %s [-c FILE] [-v] COMMAND [ARGS...]\n", prog);
    fprintf(f, "       %s --help | --version\n\ncommands:\n", prog);
    for (size_t i = 0; i < NCOMMANDS; i++)
        fprintf(f, "  %-14s %s\n", commands[i].name, commands[i].summary);
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

int main(int argc, char **argv)
{
    struct globals g = { NULL, 0, "tern" };

    setlocale(LC_ALL, "");
    signal(SIGPIPE, SIG_IGN);   /* a dropped connection is an error value, not a death */
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
    if (argc >= 2 && strcmp(argv[1], "--version") == 0) {
        printf("tern %s\n", PACKAGE_VERSION);
        return EX_OK;
    }
    /* No command (or only -f FOLDER): the full-screen client. */
    if (argc < 2 || strncmp(argv[1], "-f", 2) == 0)
        return ui_main(argc, argv, &g);
    for (size_t i = 0; i < NCOMMANDS; i++)
        if (strcmp(argv[1], commands[i].name) == 0)
            return commands[i].fn(argc - 1, argv + 1, &g);
    fprintf(stderr, "tern: unknown command or option '%s'\n", argv[1]);
    usage(stderr, g.progname);
    return TERN_EX_USAGE;
}

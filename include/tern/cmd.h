/* The command-line front ends: one function per subcommand, dispatched by main.c. */
#ifndef TERN_CMD_H
#define TERN_CMD_H

#include <stdbool.h>
#include <stdio.h>

#include "tern/config.h"

/* A bad option or an unknown command: usage on stderr and this exit status. */
#define TERN_EX_USAGE 2

/* Options that may stand before or after the subcommand. */
struct globals {
    const char *config_path;     /* -c FILE, or NULL */
    int verbose;                 /* count of -v */
    const char *progname;        /* the prefix of messages: "tern", "tern fetch", "sendmail" */
    const char *command;         /* the subcommand ("fetch"), or NULL */
};

/*
 * Every command gets argv with the global options removed (argv[0] is the command name) and
 * returns a sysexits.h code.
 */
typedef int (*cmd_fn)(int argc, char **argv, const struct globals *g);

/* Load the configuration, print its warnings to stderr; on error print it and return
 * EX_CONFIG (else 0). */
int cmd_load_config(const struct globals *g, struct config **cfg);
/*
 * The one usage format of every subcommand: "usage: PROGNAME SYNOPSIS" (g->progname is "tern
 * CMD" or "sendmail"); with help, also its summary and the pointer to tern(1), on f.
 */
void cmd_usage(FILE *f, const struct globals *g, bool help);
/* The one-line summary of a subcommand, or NULL for an unknown name. */
const char *cmd_summary(const char *command);
/* The exit code for an error class (sysexits.h). */
int cmd_exit_code(enum err_class cls);

int cmd_check_config(int argc, char **argv, const struct globals *g);
int cmd_scan(int argc, char **argv, const struct globals *g);
int cmd_index(int argc, char **argv, const struct globals *g);
/* src/cmd/send.c, flush.c, cmd_queue.c: the outgoing queue. */
int cmd_send(int argc, char **argv, const struct globals *g);
int cmd_flush(int argc, char **argv, const struct globals *g);
int cmd_queue(int argc, char **argv, const struct globals *g);
int cmd_show(int argc, char **argv, const struct globals *g);
int cmd_fetch(int argc, char **argv, const struct globals *g);
int cmd_auth(int argc, char **argv, const struct globals *g);

#endif

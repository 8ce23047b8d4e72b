/* The command-line front ends: one function per subcommand, dispatched by main.c. */
#ifndef TERN_CMD_H
#define TERN_CMD_H

#include <stdbool.h>
#include <stdio.h>

#include "tern/config.h"
#include "tern/secret.h"

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
/* A bad command line: "PROGNAME: MESSAGE" when fmt is not NULL, then the usage, on stderr.
 * Returns TERN_EX_USAGE, for the command to return. */
int cmd_bad_usage(const struct globals *g, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Whether argv[*i] is one more option of a command whose options come before its operands:
 * false at the end, at an operand (one not starting with '-', or "-") and at "--", which *i
 * then passes. */
bool cmd_option_at(int argc, char **argv, int *i);
/* The one-line summary of a subcommand, or NULL for an unknown name. */
const char *cmd_summary(const char *command);
/* --password-fd N: read "ACCOUNT<TAB>PASSWORD" lines the client hands over (secret.h).
 * 0, or -1 with the problem printed. */
int cmd_password_fd(const struct globals *g, const char *arg);
/*
 * For each account (duplicates once) that has no password for use, no command and no OAuth,
 * and none handed over: ask on /dev/tty with echo off, once. Without a terminal nothing is
 * asked and the login fails with secret_get's line naming what to set.
 */
void cmd_ask_passwords(const struct globals *g, const struct account *const *accts, size_t n,
                       enum secret_use use);
/* How many times a refused typed password is asked again in one run. */
#define CMD_REAUTH_MAX 2
/* The exit code for an error class (sysexits.h). */
int cmd_exit_code(enum err_class cls);
/* Run handler on sig (sigaction, no flags, nothing blocked): how fetch and flush catch the
 * signals that ask them to stop after the message in flight. */
void cmd_catch_signal(int sig, void (*handler)(int));

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

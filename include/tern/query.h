/* The address query command (query_command, as mutt's): run it bounded, parse its lines. */
#ifndef TERN_QUERY_H
#define TERN_QUERY_H

#include <stddef.h>

#include "tern/buf.h"
#include "tern/err.h"

/* At most this much of the command's output is read, and it gets this long. */
#define QUERY_MAX_OUTPUT (256 * 1024)
#define QUERY_TIMEOUT_MS 5000

struct query_result {
    char *address;
    char *name;                  /* may be ""; in address's allocation, not freed alone */
};

/*
 * The shell command for cmd with each %s replaced by query in single quotes (a quote inside
 * becomes '\''), so that nothing the user typed is ever parsed by the shell; the quoted query
 * is appended when cmd has no %s. New string.
 */
char *query_command_line(const char *cmd, const char *query);
/*
 * Run `sh -c LINE` (query_command_line) with no terminal (stdin and stderr /dev/null) in a
 * process group of its own; its stdout, at most max bytes, is appended to out. A command
 * still running after timeout_ms, or writing more than max, is killed (ERR_TEMP); one that
 * exits non-zero with no output is ERR_PERM naming its status. 0 or -1.
 */
int query_run(const char *cmd, const char *query, int timeout_ms, size_t max, struct buf *out,
              struct err *e);
/*
 * Parse mutt's query output: the first line is a message and ignored, then one result a line,
 * "address<TAB>name<TAB>other" (name and other optional). Lines without an address, or with
 * controls, are skipped. Returns the count; free with query_results_free.
 */
size_t query_parse(const char *out, size_t n, struct query_result **res);
void query_results_free(struct query_result *res, size_t n);

#endif

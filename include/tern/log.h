/* Diagnostics: verbosity, the protocol trace (-v) and the redaction of secrets in it. */
#ifndef TERN_LOG_H
#define TERN_LOG_H

#include <stdbool.h>
#include <stddef.h>

enum log_level { LOG_QUIET = 0, LOG_NORMAL = 1, LOG_TRACE = 2 };

void log_set_level(enum log_level level);
enum log_level log_get_level(void);
/* Where messages go (default stderr); -1 discards them (the full-screen client). */
void log_set_fd(int fd);
/*
 * Trace one protocol line. dir is '>' for what we sent and '<' for what we read. When secret
 * is true, or the line is a command that carries a credential (PASS, AUTH, APOP), everything
 * after the command word is replaced by <redacted>: a trace can be posted in a bug report.
 */
void log_proto(const char *tag, char dir, const char *line, size_t len, bool secret);
/* Informational message, shown at LOG_NORMAL and above. */
void log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Write the redacted form of a protocol line into out (size outsz); exposed for tests. */
void log_redact(const char *line, size_t len, bool secret, char *out, size_t outsz);

#endif

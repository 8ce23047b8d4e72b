/*
 * mutt-style message patterns: ~f REGEX (From), ~t (To), ~c (Cc), ~C (To or Cc), ~s
 * (Subject), ~i (Message-ID), ~h (the header block), ~b (the body), ~B (the whole message),
 * the states ~A ~N ~O ~U ~R ~F ~D ~T ~Q, and dates as mutt writes them, ~d (Date) and ~r
 * (received: the file's mtime): DD/MM/YYYY, D1-D2, D1-, -D2, D*N, <N, >N, =N with units
 * y m w d H M S (local days, bounds included); ! negates, juxtaposition is "and", | is "or",
 * parentheses group. Regular expressions are POSIX extended, case-insensitive when they
 * hold no upper-case letter (mutt's rule), with ^ and $ at each line (as grep). The limit
 * code (idx_limit_compile) hands any pattern that starts with ~, !~ or ( to this parser.
 */
#ifndef TERN_PATTERN_H
#define TERN_PATTERN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tern/err.h"
#include "tern/index.h"

struct pattern;     /* opaque */

/* The text is in this syntax (its first non-blank is ~, or ! or ( followed by one). */
bool pattern_is_pattern(const char *s);
/* 0, or -1 with e filled (ERR_PARSE naming the position and what was wrong). */
int pattern_compile(const char *s, struct pattern **out, struct err *e);
void pattern_free(struct pattern *p);
/* Message i of x matches; tagged (may be NULL: nothing is tagged) answers ~T. ~c ~C ~h ~b ~B
 * read the message file (~i ~f ~t ~s and the states do not). */
bool pattern_match(const struct pattern *p, const struct idx *x, size_t i,
                   bool (*tagged)(void *arg, uint32_t id), void *arg);

#endif

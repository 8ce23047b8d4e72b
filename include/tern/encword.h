/* RFC 2047 encoded words and RFC 2231 / RFC 2045 MIME parameters. */
#ifndef TERN_ENCWORD_H
#define TERN_ENCWORD_H

#include <stddef.h>

#include "tern/buf.h"

/*
 * Decode RFC 2047 encoded words in unstructured header text, appending UTF-8 to out.
 * White space between two adjacent encoded words is dropped; adjacent words in the same
 * charset are joined before conversion, so characters split across words survive. Bytes
 * outside encoded words are read as UTF-8 if valid, else Windows-1252. A word that cannot
 * be decoded (bad encoding letter, empty payload) is kept literally, never dropped; an
 * unknown charset falls back like codec_to_utf8. Encoded words inside quoted strings and
 * glued to other text are decoded too (common breakage). Output is valid UTF-8 but may hold
 * control characters: sanitise before display.
 */
void ew_decode(const char *in, size_t n, struct buf *out);

/*
 * The value of parameter name in a structured MIME header value such as
 *   attachment; filename*0*=utf-8''%E2%82%AC; filename*1="uro.txt"
 * with RFC 2231 continuations (ordered by number, up to 100), charset and percent
 * encoding, quoted strings, and RFC 2047 words inside quoted values (common breakage).
 * Returns a new UTF-8 string or NULL when the parameter is absent.
 */
char *mime_param(const char *value, size_t len, const char *name);
/* The lower-cased token before the first ';' (e.g. "text/plain", "attachment"); new string,
 * "" when empty. */
char *mime_value_token(const char *value, size_t len);

#endif

/* Small string helpers shared by every layer. */
#ifndef TERN_STR_H
#define TERN_STR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Trim ASCII white space in place; returns s advanced past leading space. */
char *str_trim(char *s);
bool str_startswith(const char *s, const char *prefix);
bool str_casestartswith(const char *s, const char *prefix);
/* ASCII-only case-insensitive comparisons, independent of the locale. */
int str_casecmp(const char *a, const char *b);
int str_ncasecmp(const char *a, const char *b, size_t n);
/* Case-insensitive search of needle in the n bytes at hay; NULL if absent. */
const char *str_casemem(const char *hay, size_t n, const char *needle);
/* Parse a whole decimal number in [min, max]; 0 on success, -1 otherwise. */
int str_tolong(const char *s, long min, long max, long *out);
/* The number in the environment variable name when it is a whole one in [min, max], else dflt:
 * how the tests and benchmarks change a delay or a threshold. */
long str_env_long(const char *name, long min, long max, long dflt);
/* The value of one hex digit (either case), or -1 for any other character. */
int str_hexval(int c);
/* Parse yes/no/true/false/on/off/1/0 (any case); 0 on success, -1 otherwise. */
int str_tobool(const char *s, bool *out);
/* Free each of the n strings in v, then v itself; v may be NULL when n is 0. */
void str_list_free(char **v, size_t n);
/* Levenshtein distance, for "did you mean" suggestions. */
size_t str_distance(const char *a, const char *b);
/* Length of the valid UTF-8 sequence at s (1..4), or 0 if invalid or cut by n. */
size_t utf8_seqlen(const unsigned char *s, size_t n);
/* U+FFFD, the replacement character, in UTF-8. */
#define UTF8_REPLACEMENT "\xef\xbf\xbd"
/* Decode one UTF-8 sequence of length len (from utf8_seqlen). */
unsigned utf8_decode(const unsigned char *s, size_t len);
/* Append the UTF-8 encoding of code point cp to out (at most 4 bytes); returns the length. */
size_t utf8_encode(unsigned cp, char *out);
/* Terminal columns of a valid UTF-8 string (wcwidth rules; controls count 0). */
size_t utf8_width(const char *s, size_t n);

struct buf;
/* Append s[start..i) as it is, then U+FFFD in place of the invalid byte at s[i]; returns
 * i + 1, where the next run starts. */
size_t utf8_add_replaced(struct buf *out, const char *s, size_t start, size_t i);
/* Sanitising modes: TEXT keeps tab and newline (CRLF becomes LF); LINE turns tab, CR and LF
 * into spaces (for one-line values: server replies, header fields, status lines). */
#define STR_SAN_TEXT 0
#define STR_SAN_LINE 1
/*
 * The one sanitiser for text that did not come from the user (mail, server replies, caches),
 * appending to out: C0 controls and DEL shown as ^X (ESC is ^[), C1 controls, bidi controls,
 * line/paragraph separators and invisible format characters (str_invisible) as <U+XXXX>,
 * invalid UTF-8 (so any raw byte 0x80-0xFF out of a sequence) as U+FFFD. The output never
 * holds a byte that could drive the terminal or a character the screen would not show.
 */
void str_sanitize(const char *s, size_t n, int mode, struct buf *out);
/* str_sanitize (LINE) into a fixed buffer, cut at a character boundary; returns the length. */
size_t str_sanitize_to(const char *s, size_t n, char *out, size_t outsz);
/* A code point that must be shown as <U+XXXX>: C1, bidi marks/embeddings/overrides/isolates,
 * separators, zero-width and tag characters. */
bool str_invisible(unsigned cp);

/* A fast 64-bit hash of n bytes for in-memory tables (file names, message ids), eight bytes
 * a step; not for anything an adversary could exploit beyond a slower table. */
uint64_t str_hash(const char *s, size_t n);

#endif

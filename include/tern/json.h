/*
 * A small strict JSON reader (RFC 8259) for the replies of OAuth2 endpoints and SASL error
 * replies: the whole text becomes a tree, anything doubtful is refused.
 */
#ifndef TERN_JSON_H
#define TERN_JSON_H

#include <stdbool.h>
#include <stddef.h>

#include "tern/err.h"

enum json_type { JSON_NULL, JSON_BOOL, JSON_NUM, JSON_STR, JSON_ARR, JSON_OBJ };

/* Caps: nesting depth and input size (an OAuth2 reply is a few hundred bytes). */
#define JSON_MAX_DEPTH 32
#define JSON_MAX_INPUT (256 * 1024)

struct json;

/*
 * Parse exactly one value (surrounding white space allowed). Refused with ERR_PARSE and the
 * byte offset: bad syntax, trailing bytes, invalid UTF-8, a NUL or lone surrogate in a
 * string, a duplicate member name, numbers with leading zeros, depth or size over the caps.
 */
struct json *json_parse(const char *p, size_t n, struct err *e);
void json_free(struct json *j);
enum json_type json_type(const struct json *j);
/* The member called key of an object, or NULL (also when j is not an object or NULL). */
const struct json *json_get(const struct json *j, const char *key);
/* A string's UTF-8 value (no NUL inside), or NULL when j is not a string. Borrowed. */
const char *json_str(const struct json *j);
/* Shorthand: the string member key of object j, or NULL. */
const char *json_get_str(const struct json *j, const char *key);
/* A number member that is a whole number in [min, max]: 0, else -1. */
int json_get_long(const struct json *j, const char *key, long min, long max, long *out);
/* Array length (0 for anything else) and element i. */
size_t json_len(const struct json *j);
const struct json *json_at(const struct json *j, size_t i);

#endif

/* The strict JSON reader: a recursive descent over a bounded buffer into a small tree. */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "tern/buf.h"
#include "tern/json.h"
#include "tern/str.h"
#include "tern/xalloc.h"

struct json {
    enum json_type type;
    bool b;
    char *str;                   /* JSON_STR value, JSON_NUM text */
    char **keys;                 /* JSON_OBJ member names, parallel to kids */
    struct json **kids;
    size_t n, cap;
};

struct jp {
    const char *p, *end, *start;
    struct err *e;
};

static int jp_fail(struct jp *j, const char *what)
{
    return err_set(j->e, ERR_PARSE, "JSON: %s at offset %zu", what, (size_t)(j->p - j->start));
}

static void jp_ws(struct jp *j)
{
    while (j->p < j->end && (*j->p == ' ' || *j->p == '\t' || *j->p == '\n' || *j->p == '\r'))
        j->p++;
}

static int hex4(const char *p, unsigned *out)
{
    unsigned v = 0;

    for (int i = 0; i < 4; i++) {
        int d = str_hexval(p[i]);

        if (d < 0)
            return -1;
        v = v << 4 | (unsigned)d;
    }
    *out = v;
    return 0;
}

/* A \uXXXX escape (with its low surrogate when it is a high one) into UTF-8. */
static int jp_escape_u(struct jp *j, struct buf *out)
{
    unsigned cp, lo;
    char enc[4];

    if (j->end - j->p < 4 || hex4(j->p, &cp) < 0)
        return jp_fail(j, "bad \\u escape");
    j->p += 4;
    if (cp >= 0xDC00 && cp <= 0xDFFF)
        return jp_fail(j, "lone low surrogate");
    if (cp >= 0xD800 && cp <= 0xDBFF) {
        if (j->end - j->p < 6 || j->p[0] != '\\' || j->p[1] != 'u' || hex4(j->p + 2, &lo) < 0 ||
            lo < 0xDC00 || lo > 0xDFFF)
            return jp_fail(j, "lone high surrogate");
        j->p += 6;
        cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
    }
    if (cp == 0)
        return jp_fail(j, "NUL in a string");
    buf_add(out, enc, utf8_encode(cp, enc));
    return 0;
}

static int jp_string(struct jp *j, char **out)
{
    struct buf b = BUF_INIT;

    j->p++;   /* the opening quote */
    for (;;) {
        unsigned char c;
        size_t n;

        if (j->p >= j->end) {
            jp_fail(j, "unterminated string");
            goto bad;
        }
        c = (unsigned char)*j->p;
        if (c == '"') {
            j->p++;
            break;
        }
        if (c < 0x20) {
            jp_fail(j, "control character in a string");
            goto bad;
        }
        if (c == '\\') {
            static const char from[] = "\"\\/bfnrt", to[] = "\"\\/\b\f\n\r\t";
            const char *k;

            if (++j->p >= j->end) {
                jp_fail(j, "unterminated string");
                goto bad;
            }
            if (*j->p == 'u') {
                j->p++;
                if (jp_escape_u(j, &b) < 0)
                    goto bad;
                continue;
            }
            k = strchr(from, *j->p);
            if (k == NULL || *j->p == '\0') {
                jp_fail(j, "bad escape");
                goto bad;
            }
            buf_addc(&b, to[k - from]);
            j->p++;
            continue;
        }
        if (c < 0x80) {
            buf_addc(&b, (char)c);
            j->p++;
            continue;
        }
        n = utf8_seqlen((const unsigned char *)j->p, (size_t)(j->end - j->p));
        if (n < 2) {
            jp_fail(j, "invalid UTF-8");
            goto bad;
        }
        buf_add(&b, j->p, n);
        j->p += n;
    }
    buf_cstr(&b);
    *out = buf_detach(&b);
    return 0;
bad:
    buf_free(&b);
    return -1;
}

static int jp_digits(struct jp *j)
{
    const char *s = j->p;

    while (j->p < j->end && *j->p >= '0' && *j->p <= '9')
        j->p++;
    return j->p > s ? 0 : -1;
}

static int jp_number(struct jp *j, struct json *v)
{
    const char *s = j->p;

    if (j->p < j->end && *j->p == '-')
        j->p++;
    if (j->p < j->end && *j->p == '0') {
        j->p++;
    } else if (jp_digits(j) < 0) {
        return jp_fail(j, "bad number");
    }
    if (j->p < j->end && *j->p == '.') {
        j->p++;
        if (jp_digits(j) < 0)
            return jp_fail(j, "bad number");
    }
    if (j->p < j->end && (*j->p == 'e' || *j->p == 'E')) {
        j->p++;
        if (j->p < j->end && (*j->p == '+' || *j->p == '-'))
            j->p++;
        if (jp_digits(j) < 0)
            return jp_fail(j, "bad number");
    }
    if ((size_t)(j->p - s) > 64)
        return jp_fail(j, "number too long");
    v->type = JSON_NUM;
    v->str = xstrndup(s, (size_t)(j->p - s));
    return 0;
}

static int jp_word(struct jp *j, const char *w)
{
    size_t n = strlen(w);

    if ((size_t)(j->end - j->p) < n || memcmp(j->p, w, n) != 0)
        return jp_fail(j, "unexpected character");
    j->p += n;
    return 0;
}

static void jp_push(struct json *v, char *key, struct json *kid)
{
    if (v->n == v->cap) {
        v->kids = xgrow(v->kids, v->n, &v->cap, sizeof *v->kids);
        if (v->type == JSON_OBJ)
            v->keys = xreallocarray(v->keys, v->cap, sizeof *v->keys);
    }
    if (v->type == JSON_OBJ)
        v->keys[v->n] = key;
    v->kids[v->n++] = kid;
}

static struct json *jp_value(struct jp *j, int depth);

/* Members or elements up to the closing bracket (the opening one is consumed). */
static int jp_container(struct jp *j, struct json *v, int depth)
{
    char close = v->type == JSON_OBJ ? '}' : ']';

    jp_ws(j);
    if (j->p < j->end && *j->p == close) {
        j->p++;
        return 0;
    }
    for (;;) {
        char *key = NULL;
        struct json *kid;

        jp_ws(j);
        if (v->type == JSON_OBJ) {
            if (j->p >= j->end || *j->p != '"')
                return jp_fail(j, "expected a member name");
            if (jp_string(j, &key) < 0)
                return -1;
            if (json_get(v, key) != NULL) {
                free(key);
                return jp_fail(j, "duplicate member name");
            }
            jp_ws(j);
            if (j->p >= j->end || *j->p != ':') {
                free(key);
                return jp_fail(j, "expected ':'");
            }
            j->p++;
        }
        kid = jp_value(j, depth + 1);
        if (kid == NULL) {
            free(key);
            return -1;
        }
        jp_push(v, key, kid);
        jp_ws(j);
        if (j->p < j->end && *j->p == ',') {
            j->p++;
            continue;
        }
        if (j->p < j->end && *j->p == close) {
            j->p++;
            return 0;
        }
        return jp_fail(j, "expected ',' or a closing bracket");
    }
}

static struct json *jp_value(struct jp *j, int depth)
{
    struct json *v;
    int rc;

    if (depth > JSON_MAX_DEPTH) {
        jp_fail(j, "nested too deeply");
        return NULL;
    }
    jp_ws(j);
    if (j->p >= j->end) {
        jp_fail(j, "unexpected end");
        return NULL;
    }
    v = xcalloc(1, sizeof *v);
    switch (*j->p) {
    case '{':
    case '[':
        v->type = *j->p == '{' ? JSON_OBJ : JSON_ARR;
        j->p++;
        rc = jp_container(j, v, depth);
        break;
    case '"':
        v->type = JSON_STR;
        rc = jp_string(j, &v->str);
        break;
    case 't':
        v->type = JSON_BOOL;
        v->b = true;
        rc = jp_word(j, "true");
        break;
    case 'f':
        v->type = JSON_BOOL;
        rc = jp_word(j, "false");
        break;
    case 'n':
        rc = jp_word(j, "null");
        break;
    default:
        rc = jp_number(j, v);
        break;
    }
    if (rc < 0) {
        json_free(v);
        return NULL;
    }
    return v;
}

struct json *json_parse(const char *p, size_t n, struct err *e)
{
    struct jp j = { p, p + n, p, e };
    struct json *v;

    if (n > JSON_MAX_INPUT) {
        err_set(e, ERR_PARSE, "JSON: reply of %zu bytes is too large", n);
        return NULL;
    }
    v = jp_value(&j, 0);
    if (v == NULL)
        return NULL;
    jp_ws(&j);
    if (j.p != j.end) {
        jp_fail(&j, "trailing bytes");
        json_free(v);
        return NULL;
    }
    return v;
}

void json_free(struct json *j)
{
    if (j == NULL)
        return;
    for (size_t i = 0; i < j->n; i++) {
        if (j->keys)
            free(j->keys[i]);
        json_free(j->kids[i]);
    }
    free(j->keys);
    free(j->kids);
    free(j->str);
    free(j);
}

enum json_type json_type(const struct json *j)
{
    return j ? j->type : JSON_NULL;
}

const struct json *json_get(const struct json *j, const char *key)
{
    if (j == NULL || j->type != JSON_OBJ)
        return NULL;
    for (size_t i = 0; i < j->n; i++)
        if (strcmp(j->keys[i], key) == 0)
            return j->kids[i];
    return NULL;
}

const char *json_str(const struct json *j)
{
    return j && j->type == JSON_STR ? j->str : NULL;
}

const char *json_get_str(const struct json *j, const char *key)
{
    return json_str(json_get(j, key));
}

int json_get_long(const struct json *j, const char *key, long min, long max, long *out)
{
    const struct json *v = json_get(j, key);

    if (v == NULL || v->type != JSON_NUM || strpbrk(v->str, ".eE"))
        return -1;
    return str_tolong(v->str, min, max, out);
}

size_t json_len(const struct json *j)
{
    return j && j->type == JSON_ARR ? j->n : 0;
}

const struct json *json_at(const struct json *j, size_t i)
{
    return i < json_len(j) ? j->kids[i] : NULL;
}

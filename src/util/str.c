/* String helpers: ASCII case folding, number and boolean parsing, UTF-8 decoding and width. */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <wchar.h>

#include "tern/buf.h"
#include "tern/str.h"
#include "tern/xalloc.h"

static int ascii_lower(int c)
{
    return (c >= 'A' && c <= 'Z') ? c + ('a' - 'A') : c;
}

static bool is_space(int c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

char *str_trim(char *s)
{
    size_t n;

    while (is_space((unsigned char)*s))
        s++;
    n = strlen(s);
    while (n > 0 && is_space((unsigned char)s[n - 1]))
        s[--n] = '\0';
    return s;
}

bool str_startswith(const char *s, const char *prefix)
{
    return strncmp(s, prefix, strlen(prefix)) == 0;
}

bool str_casestartswith(const char *s, const char *prefix)
{
    return str_ncasecmp(s, prefix, strlen(prefix)) == 0;
}

int str_ncasecmp(const char *a, const char *b, size_t n)
{
    for (; n > 0; a++, b++, n--) {
        int ca = ascii_lower((unsigned char)*a), cb = ascii_lower((unsigned char)*b);

        if (ca != cb)
            return ca - cb;
        if (ca == '\0')
            break;
    }
    return 0;
}

int str_casecmp(const char *a, const char *b)
{
    return str_ncasecmp(a, b, (size_t)-1);
}

const char *str_casemem(const char *hay, size_t n, const char *needle)
{
    size_t m = strlen(needle);

    if (m == 0)
        return hay;
    for (size_t i = 0; i + m <= n; i++) {
        if (ascii_lower((unsigned char)hay[i]) != ascii_lower((unsigned char)needle[0]))
            continue;
        size_t j = 1;
        while (j < m && ascii_lower((unsigned char)hay[i + j]) ==
                            ascii_lower((unsigned char)needle[j]))
            j++;
        if (j == m)
            return hay + i;
    }
    return NULL;
}

long str_env_long(const char *name, long min, long max, long dflt)
{
    long n;

    return str_tolong(getenv(name), min, max, &n) == 0 ? n : dflt;
}

int str_hexval(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

void str_list_free(char **v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(v[i]);
    free(v);
}

int str_tolong(const char *s, long min, long max, long *out)
{
    char *end;
    long v;

    if (s == NULL || *s == '\0' || is_space((unsigned char)*s))
        return -1;
    errno = 0;
    v = strtol(s, &end, 10);
    if (errno != 0 || *end != '\0' || v < min || v > max)
        return -1;
    *out = v;
    return 0;
}

int str_tobool(const char *s, bool *out)
{
    static const char *const yes[] = { "yes", "true", "on", "1" };
    static const char *const no[] = { "no", "false", "off", "0" };

    for (size_t i = 0; i < 4; i++) {
        if (str_casecmp(s, yes[i]) == 0)
            return *out = true, 0;
        if (str_casecmp(s, no[i]) == 0)
            return *out = false, 0;
    }
    return -1;
}

size_t str_distance(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    size_t *row = xcalloc(lb + 1, sizeof *row);
    size_t result;

    for (size_t j = 0; j <= lb; j++)
        row[j] = j;
    for (size_t i = 1; i <= la; i++) {
        size_t diag = row[0];

        row[0] = i;
        for (size_t j = 1; j <= lb; j++) {
            size_t up = row[j];
            size_t cost = diag + (a[i - 1] != b[j - 1]);

            if (row[j] + 1 < cost)
                cost = row[j] + 1;
            if (row[j - 1] + 1 < cost)
                cost = row[j - 1] + 1;
            row[j] = cost;
            diag = up;
        }
    }
    result = row[lb];
    free(row);
    return result;
}

size_t utf8_seqlen(const unsigned char *s, size_t n)
{
    size_t len;
    unsigned cp;

    if (n == 0)
        return 0;
    if (s[0] < 0x80)
        return 1;
    if (s[0] >= 0xc2 && s[0] <= 0xdf)
        len = 2;
    else if (s[0] >= 0xe0 && s[0] <= 0xef)
        len = 3;
    else if (s[0] >= 0xf0 && s[0] <= 0xf4)
        len = 4;
    else
        return 0;
    if (len > n)
        return 0;
    for (size_t i = 1; i < len; i++)
        if ((s[i] & 0xc0) != 0x80)
            return 0;
    cp = utf8_decode(s, len);
    /* Reject overlong forms, surrogates and values past U+10FFFF. */
    if ((len == 3 && cp < 0x800) || (len == 4 && (cp < 0x10000 || cp > 0x10ffff)) ||
        (cp >= 0xd800 && cp <= 0xdfff))
        return 0;
    return len;
}

unsigned utf8_decode(const unsigned char *s, size_t len)
{
    switch (len) {
    case 1:
        return s[0];
    case 2:
        return ((s[0] & 0x1fu) << 6) | (s[1] & 0x3fu);
    case 3:
        return ((s[0] & 0x0fu) << 12) | ((s[1] & 0x3fu) << 6) | (s[2] & 0x3fu);
    default:
        return ((s[0] & 0x07u) << 18) | ((s[1] & 0x3fu) << 12) | ((s[2] & 0x3fu) << 6) |
               (s[3] & 0x3fu);
    }
}

size_t utf8_encode(unsigned cp, char *out)
{
    if (cp < 0x80) {
        out[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        out[0] = (char)(0xc0 | (cp >> 6));
        out[1] = (char)(0x80 | (cp & 0x3f));
        return 2;
    }
    if (cp < 0x10000) {
        out[0] = (char)(0xe0 | (cp >> 12));
        out[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
        out[2] = (char)(0x80 | (cp & 0x3f));
        return 3;
    }
    out[0] = (char)(0xf0 | (cp >> 18));
    out[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
    out[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
    out[3] = (char)(0x80 | (cp & 0x3f));
    return 4;
}

size_t utf8_width(const char *s, size_t n)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t cols = 0;

    while (n > 0) {
        size_t len = utf8_seqlen(p, n);
        int w;

        if (len == 0) {         /* invalid byte: shown as one replacement character */
            cols++;
            p++, n--;
            continue;
        }
        w = wcwidth((wchar_t)utf8_decode(p, len));
        if (w > 0)
            cols += (size_t)w;
        p += len, n -= len;
    }
    return cols;
}

size_t utf8_add_replaced(struct buf *out, const char *s, size_t start, size_t i)
{
    buf_add(out, s + start, i - start);
    buf_add(out, UTF8_REPLACEMENT, 3);
    return i + 1;
}

/* ---- the terminal sanitiser ---- */

bool str_invisible(unsigned cp)
{
    return (cp >= 0x80 && cp < 0xa0) ||              /* C1 controls */
           cp == 0x061c || cp == 0x200e || cp == 0x200f ||   /* bidi marks */
           (cp >= 0x202a && cp <= 0x202e) ||         /* bidi embeddings and overrides */
           (cp >= 0x2066 && cp <= 0x2069) ||         /* bidi isolates */
           cp == 0x2028 || cp == 0x2029 ||           /* line and paragraph separators */
           cp == 0x200b || cp == 0x2060 || cp == 0xfeff || cp == 0x180e ||  /* zero width */
           (cp >= 0x2061 && cp <= 0x2064) ||         /* invisible operators */
           (cp >= 0xe0000 && cp <= 0xe007f);         /* tag characters */
}

void str_sanitize(const char *s, size_t n, int mode, struct buf *out)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t i = 0, start = 0;

    buf_reserve(out, n);
    while (i < n) {
        unsigned char c = p[i];
        size_t l;
        unsigned cp;

        if ((c >= 0x20 && c < 0x7f) || ((c == '\n' || c == '\t') && mode == STR_SAN_TEXT)) {
            i++;
            continue;
        }
        if (c < 0x80) {
            buf_add(out, s + start, i - start);
            if ((c == '\t' || c == '\n' || c == '\r') && mode == STR_SAN_LINE) {
                buf_addc(out, ' ');
            } else if (c == '\r' && mode == STR_SAN_TEXT) {
                /* A bare CR would overwrite the line: drop it before LF, show it elsewhere. */
                if (!(i + 1 < n && p[i + 1] == '\n'))
                    buf_add(out, "^M", 2);
            } else {
                char vis[2] = { '^', c == 0x7f ? '?' : (char)(c + 0x40) };
                buf_add(out, vis, 2);
            }
            start = ++i;
            continue;
        }
        l = utf8_seqlen(p + i, n - i);
        if (l == 0) {
            start = i = utf8_add_replaced(out, s, start, i);
            continue;
        }
        cp = utf8_decode(p + i, l);
        if (str_invisible(cp)) {
            /* C1 controls (0x9b is CSI), bidi controls that could disguise text, invisible
             * format characters that the screen would draw as nothing. */
            buf_add(out, s + start, i - start);
            buf_printf(out, "<U+%04X>", cp);
            i += l;
            start = i;
            continue;
        }
        i += l;
    }
    buf_add(out, s + start, i - start);
}

size_t str_sanitize_to(const char *s, size_t n, char *out, size_t outsz)
{
    struct buf b = BUF_INIT;
    size_t k;

    if (outsz == 0)
        return 0;
    str_sanitize(s, n, STR_SAN_LINE, &b);
    k = b.len < outsz - 1 ? b.len : outsz - 1;
    /* Cut at a character boundary, never inside a UTF-8 sequence. */
    while (k > 0 && k < b.len && ((unsigned char)b.ptr[k] & 0xc0) == 0x80)
        k--;
    if (k > 0)
        memcpy(out, b.ptr, k);
    out[k] = '\0';
    buf_free(&b);
    return k;
}

uint64_t str_hash(const char *s, size_t n)
{
    uint64_t h = 0xcbf29ce484222325ull ^ n;

    for (; n >= 8; s += 8, n -= 8) {
        uint64_t w;

        memcpy(&w, s, 8);
        h = (h ^ w) * 0x9E3779B97F4A7C15ull;
        h ^= h >> 31;
    }
    if (n > 0) {
        uint64_t w = 0;

        memcpy(&w, s, n);
        h = (h ^ w) * 0x9E3779B97F4A7C15ull;
    }
    return h ^ (h >> 29);
}

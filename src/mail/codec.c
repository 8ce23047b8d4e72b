/* Transfer decoding (base64, quoted-printable), charset conversion to UTF-8 with fallbacks,
 * and format=flowed. Everything here is lenient: bad input degrades, it never fails. */
#include "config.h"

#include <errno.h>
#include <iconv.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "tern/codec.h"
#include "tern/str.h"
#include "tern/xalloc.h"

/* ---- base64 ---- */

static const signed char b64_val[256] = {
    ['A'] = 1, ['B'] = 2, ['C'] = 3, ['D'] = 4, ['E'] = 5, ['F'] = 6, ['G'] = 7, ['H'] = 8,
    ['I'] = 9, ['J'] = 10, ['K'] = 11, ['L'] = 12, ['M'] = 13, ['N'] = 14, ['O'] = 15,
    ['P'] = 16, ['Q'] = 17, ['R'] = 18, ['S'] = 19, ['T'] = 20, ['U'] = 21, ['V'] = 22,
    ['W'] = 23, ['X'] = 24, ['Y'] = 25, ['Z'] = 26, ['a'] = 27, ['b'] = 28, ['c'] = 29,
    ['d'] = 30, ['e'] = 31, ['f'] = 32, ['g'] = 33, ['h'] = 34, ['i'] = 35, ['j'] = 36,
    ['k'] = 37, ['l'] = 38, ['m'] = 39, ['n'] = 40, ['o'] = 41, ['p'] = 42, ['q'] = 43,
    ['r'] = 44, ['s'] = 45, ['t'] = 46, ['u'] = 47, ['v'] = 48, ['w'] = 49, ['x'] = 50,
    ['y'] = 51, ['z'] = 52, ['0'] = 53, ['1'] = 54, ['2'] = 55, ['3'] = 56, ['4'] = 57,
    ['5'] = 58, ['6'] = 59, ['7'] = 60, ['8'] = 61, ['9'] = 62, ['+'] = 63, ['/'] = 64,
    ['-'] = 63, ['_'] = 64,     /* base64url, seen from some broken generators */
};

size_t codec_b64_decode(const char *in, size_t n, struct buf *out)
{
    const unsigned char *p = (const unsigned char *)in;
    unsigned acc = 0;
    int bits = 0;
    size_t bad = 0;
    char tmp[768];
    size_t t = 0;

    buf_reserve(out, n / 4 * 3 + 3);
    for (size_t i = 0; i < n; i++) {
        int v = b64_val[p[i]];

        if (v == 0) {
            if (p[i] == '=') {
                /* Padding ends a group: drop the partial bits and start afresh, which also
                 * decodes concatenated base64 blobs correctly. */
                acc = 0;
                bits = 0;
            } else if (p[i] != ' ' && p[i] != '\t' && p[i] != '\r' && p[i] != '\n') {
                bad++;
            }
            continue;
        }
        acc = (acc << 6) | (unsigned)(v - 1);
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            tmp[t++] = (char)((acc >> bits) & 0xff);
            if (t == sizeof tmp) {
                buf_add(out, tmp, t);
                t = 0;
            }
        }
    }
    buf_add(out, tmp, t);
    return bad;
}

void codec_b64_encode(const void *in, size_t n, struct buf *out)
{
    static const char abc[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    const unsigned char *p = in;

    for (size_t i = 0; i < n; i += 3) {
        unsigned v = (unsigned)p[i] << 16;
        char q[4];

        if (i + 1 < n)
            v |= (unsigned)p[i + 1] << 8;
        if (i + 2 < n)
            v |= p[i + 2];
        q[0] = abc[(v >> 18) & 63];
        q[1] = abc[(v >> 12) & 63];
        q[2] = i + 1 < n ? abc[(v >> 6) & 63] : '=';
        q[3] = i + 2 < n ? abc[v & 63] : '=';
        buf_add(out, q, 4);
    }
}

void codec_b64_encode_lines(const void *in, size_t n, struct buf *out)
{
    struct buf b = BUF_INIT;

    codec_b64_encode(in, n, &b);
    for (size_t i = 0; i < b.len; i += 76) {
        buf_add(out, b.ptr + i, b.len - i < 76 ? b.len - i : 76);
        buf_addc(out, '\n');
    }
    buf_free(&b);
}

/* ---- quoted-printable ---- */

size_t codec_qp_decode(const char *in, size_t n, bool header, struct buf *out)
{
    size_t bad = 0, i = 0, start = 0;

    buf_reserve(out, n);
    while (i < n) {
        char c = in[i];

        if (c == '=') {
            int h, l;

            buf_add(out, in + start, i - start);
            if (i + 2 < n && (h = str_hexval((unsigned char)in[i + 1])) >= 0 &&
                (l = str_hexval((unsigned char)in[i + 2])) >= 0) {
                buf_addc(out, (char)(h * 16 + l));
                i += 3;
            } else if (!header) {
                /* Soft line break: '=' then optional transport white space then EOL. */
                size_t j = i + 1;

                while (j < n && (in[j] == ' ' || in[j] == '\t'))
                    j++;
                if (j < n && in[j] == '\r')
                    j++;
                if (j >= n || in[j] == '\n') {
                    i = j < n ? j + 1 : j;
                } else {
                    bad++;
                    buf_addc(out, '=');
                    i++;
                }
            } else {
                bad++;
                buf_addc(out, '=');
                i++;
            }
            start = i;
        } else if (header && c == '_') {
            buf_add(out, in + start, i - start);
            buf_addc(out, ' ');
            start = ++i;
        } else if (!header && (c == ' ' || c == '\t')) {
            /* Trailing white space before a line end was added in transport: drop it. */
            size_t j = i;

            while (j < n && (in[j] == ' ' || in[j] == '\t'))
                j++;
            if (j < n && in[j] == '\r' && j + 1 < n && in[j + 1] == '\n') {
                buf_add(out, in + start, i - start);
                start = i = j;
            } else if (j < n && in[j] == '\n') {
                buf_add(out, in + start, i - start);
                start = i = j;
            } else {
                i = j;
            }
        } else {
            i++;
        }
    }
    buf_add(out, in + start, i - start);
    return bad;
}

/* ---- UTF-8 ---- */

bool codec_utf8_valid(const char *s, size_t n)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t i = 0;

    while (i < n) {
        size_t l;

        /* Fast path over ASCII, eight bytes at a time. */
        while (i + 8 <= n) {
            unsigned long long w;

            memcpy(&w, p + i, 8);
            if (w & 0x8080808080808080ULL)
                break;
            i += 8;
        }
        if (i >= n)
            break;
        if (p[i] < 0x80) {
            i++;
            continue;
        }
        l = utf8_seqlen(p + i, n - i);
        if (l == 0)
            return false;
        i += l;
    }
    return true;
}

void codec_utf8_repair(const char *s, size_t n, struct buf *out)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t i = 0, start = 0;

    buf_reserve(out, n);
    while (i < n) {
        size_t l;

        if (p[i] < 0x80) {
            i++;
            continue;
        }
        l = utf8_seqlen(p + i, n - i);
        if (l == 0) {
            start = i = utf8_add_replaced(out, s, start, i);
        } else {
            i += l;
        }
    }
    buf_add(out, s + start, i - start);
}

/* ---- Windows-1252 (a superset of ISO-8859-1 for practical purposes) ---- */

static const unsigned short cp1252_hi[32] = {
    0x20ac, 0xfffd, 0x201a, 0x0192, 0x201e, 0x2026, 0x2020, 0x2021,
    0x02c6, 0x2030, 0x0160, 0x2039, 0x0152, 0xfffd, 0x017d, 0xfffd,
    0xfffd, 0x2018, 0x2019, 0x201c, 0x201d, 0x2022, 0x2013, 0x2014,
    0x02dc, 0x2122, 0x0161, 0x203a, 0x0153, 0xfffd, 0x017e, 0x0178,
};

unsigned codec_cp1252(unsigned char c)
{
    return c >= 0x80 && c < 0xa0 ? cp1252_hi[c - 0x80] : c;
}

static void cp1252_to_utf8(const char *s, size_t n, struct buf *out)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t start = 0;

    buf_reserve(out, n + n / 2);
    for (size_t i = 0; i < n; i++) {
        char enc[4];
        unsigned cp;

        if (p[i] < 0x80)
            continue;
        buf_add(out, s + start, i - start);
        cp = codec_cp1252(p[i]);
        buf_add(out, enc, utf8_encode(cp, enc));
        start = i + 1;
    }
    buf_add(out, s + start, n - start);
}

/* ---- charset names ---- */

enum cs_kind { CS_NONE, CS_UTF8, CS_ASCII, CS_CP1252, CS_ICONV };

struct alias {
    const char *from, *to;
};

/* Labels mail really carries, mapped to what glibc's iconv calls the (super)set. */
static const struct alias aliases[] = {
    { "utf8", "UTF-8" }, { "utf-8", "UTF-8" }, { "x-utf8", "UTF-8" },
    { "us-ascii", "ascii" }, { "ascii", "ascii" }, { "ansi_x3.4-1968", "ascii" },
    { "iso-8859-1", "cp1252" }, { "iso8859-1", "cp1252" }, { "iso_8859-1", "cp1252" },
    { "latin1", "cp1252" }, { "l1", "cp1252" }, { "windows-1252", "cp1252" },
    { "cp1252", "cp1252" }, { "x-cp1252", "cp1252" }, { "iso-8859-8-i", "ISO-8859-8" },
    { "gb2312", "GBK" }, { "x-gbk", "GBK" }, { "gb_2312-80", "GBK" }, { "euc-cn", "GBK" },
    { "ks_c_5601-1987", "CP949" }, { "ks_c_5601", "CP949" }, { "euc-kr", "CP949" },
    { "x-sjis", "SHIFT_JIS" }, { "shift-jis", "SHIFT_JIS" }, { "sjis", "SHIFT_JIS" },
    { "windows-31j", "CP932" }, { "x-euc-jp", "EUC-JP" }, { "big5", "BIG5-HKSCS" },
    { "unicode-1-1-utf-7", "UTF-7" }, { "tis-620", "TIS-620" }, { "x-mac-roman", "MACINTOSH" },
    { "macintosh", "MACINTOSH" }, { "iso-2022-jp-2", "ISO-2022-JP-2" },
    { "x-unknown", "" }, { "unknown-8bit", "" }, { "unknown", "" }, { "default", "" },
    { "charset", "" }, { "x-user-defined", "" },
};

/* Normalise a charset label into dst (trimmed, lower case, quotes and RFC 2231 language
 * stripped) and classify it. */
static enum cs_kind cs_classify(const char *cs, char *dst, size_t dstsz)
{
    size_t n = 0;

    dst[0] = '\0';
    if (cs == NULL)
        return CS_NONE;
    while (*cs == ' ' || *cs == '\t' || *cs == '"' || *cs == '\'')
        cs++;
    for (; *cs && *cs != '*' && *cs != '"' && *cs != '\'' && *cs != ' ' && *cs != ';' &&
           n + 1 < dstsz; cs++)
        dst[n++] = (char)((*cs >= 'A' && *cs <= 'Z') ? *cs + 32 : *cs);
    dst[n] = '\0';
    if (n == 0)
        return CS_NONE;
    for (size_t i = 0; i < sizeof aliases / sizeof aliases[0]; i++) {
        if (strcmp(dst, aliases[i].from) != 0)
            continue;
        if (aliases[i].to[0] == '\0')
            return CS_NONE;
        if (strcmp(aliases[i].to, "UTF-8") == 0)
            return CS_UTF8;
        if (strcmp(aliases[i].to, "ascii") == 0)
            return CS_ASCII;
        if (strcmp(aliases[i].to, "cp1252") == 0)
            return CS_CP1252;
        snprintf(dst, dstsz, "%s", aliases[i].to);
        return CS_ICONV;
    }
    return CS_ICONV;
}

/*
 * iconv_open is slow (it loads gconv modules): keep a pool of descriptors. An iconv_t has
 * shift state, so a thread takes a descriptor out of the pool for one conversion and puts it
 * back after; the lock covers only the pool, never a conversion, so the index's parsing
 * threads decode in parallel without a lock of their own.
 */
#define CD_POOL 16
static struct {
    char name[48];
    iconv_t cd;          /* (iconv_t)-1 when iconv does not know the name */
    unsigned long used;
} cd_pool[CD_POOL];
static unsigned long cd_clock;
static pthread_mutex_t cd_lock = PTHREAD_MUTEX_INITIALIZER;

static void cd_put(const char *name, iconv_t cd);

/* Take a descriptor for name out of the pool (or open one); (iconv_t)-1 if unknown. */
static iconv_t cd_take(const char *name, bool *unknown)
{
    iconv_t cd;

    *unknown = false;
    pthread_mutex_lock(&cd_lock);
    for (size_t i = 0; i < CD_POOL; i++) {
        if (cd_pool[i].name[0] && strcmp(cd_pool[i].name, name) == 0) {
            cd = cd_pool[i].cd;
            if (cd == (iconv_t)-1) {
                cd_pool[i].used = ++cd_clock;      /* remembered as unknown: stays */
                *unknown = true;
            } else {
                cd_pool[i].name[0] = '\0';         /* taken */
                cd_pool[i].used = 0;
            }
            pthread_mutex_unlock(&cd_lock);
            if (cd != (iconv_t)-1)
                iconv(cd, NULL, NULL, NULL, NULL);   /* reset shift state */
            return cd;
        }
    }
    pthread_mutex_unlock(&cd_lock);
    cd = iconv_open("UTF-8", name);
    if (cd == (iconv_t)-1) {
        *unknown = true;
        cd_put(name, cd);
    }
    return cd;
}

/* Give a descriptor back (or remember that name is unknown); the least recently used
 * entry is closed when the pool is full. */
static void cd_put(const char *name, iconv_t cd)
{
    size_t victim = 0;
    iconv_t old = (iconv_t)-1;

    pthread_mutex_lock(&cd_lock);
    for (size_t i = 0; i < CD_POOL; i++) {
        if (cd_pool[i].name[0] == '\0') {
            victim = i;
            break;
        }
        if (cd_pool[i].used < cd_pool[victim].used)
            victim = i;
    }
    if (cd_pool[victim].name[0])
        old = cd_pool[victim].cd;
    snprintf(cd_pool[victim].name, sizeof cd_pool[victim].name, "%s", name);
    cd_pool[victim].cd = cd;
    cd_pool[victim].used = ++cd_clock;
    pthread_mutex_unlock(&cd_lock);
    if (old != (iconv_t)-1)
        iconv_close(old);
}

/* Convert with iconv, replacing each undecodable byte with U+FFFD. Returns the number of
 * replacements. */
static size_t iconv_convert(iconv_t cd, const char *in, size_t n, struct buf *out)
{
    char *ip = (char *)in;
    size_t il = n, errors = 0;

    while (il > 0) {
        char *op;
        size_t ol, before, r;

        buf_reserve(out, il * 2 + 16);
        op = out->ptr + out->len;
        ol = out->cap - out->len - 1;
        before = ol;
        r = iconv(cd, &ip, &il, &op, &ol);
        out->len += before - ol;
        out->ptr[out->len] = '\0';
        if (r != (size_t)-1)
            break;
        if (errno == E2BIG)
            continue;
        /* EILSEQ or EINVAL (truncated sequence at the end): skip one byte. */
        buf_add(out, UTF8_REPLACEMENT, 3);
        errors++;
        ip++, il--;
        iconv(cd, NULL, NULL, NULL, NULL);
    }
    /* Flush any shift state (ISO-2022-JP ends in ASCII). */
    {
        char tail[16], *op = tail;
        size_t ol = sizeof tail;

        iconv(cd, NULL, NULL, &op, &ol);
        buf_add(out, tail, sizeof tail - ol);
    }
    return errors;
}

/* iconv names (after the aliases) of one-byte charsets that code ASCII as ASCII (an invalid
 * byte is replaced alone, so its neighbours keep their meaning). */
static const char *const ascii_sets[] = {
    "iso-8859-", "iso8859-", "iso_8859-", "ISO-8859-", "windows-125", "cp125", "koi8-",
    "TIS-620", "tis-620", "MACINTOSH",
};

bool codec_ascii_compatible(const char *charset)
{
    char name[48];

    switch (cs_classify(charset, name, sizeof name)) {
    case CS_NONE:
    case CS_UTF8:
    case CS_ASCII:
    case CS_CP1252:
        return true;    /* and every fallback (UTF-8, Windows-1252) keeps ASCII too */
    case CS_ICONV:
    default:
        for (size_t i = 0; i < sizeof ascii_sets / sizeof ascii_sets[0]; i++)
            if (strncmp(name, ascii_sets[i], strlen(ascii_sets[i])) == 0)
                return true;
        return false;
    }
}

enum codec_how codec_to_utf8(const char *charset, const char *in, size_t n, struct buf *out)
{
    char name[48];
    enum cs_kind k = cs_classify(charset, name, sizeof name);
    iconv_t cd;

    switch (k) {
    case CS_UTF8:
    case CS_ASCII:
        if (codec_utf8_valid(in, n)) {
            buf_add(out, in, n);
            return CODEC_AS_DECLARED;
        }
        if (k == CS_UTF8) {
            /* One valid multibyte sequence is strong evidence of UTF-8 (Latin-1 text
             * rarely forms one by chance): keep the good characters, replace the bad. */
            size_t bad = 0, good = 0;
            const unsigned char *p = (const unsigned char *)in;

            for (size_t i = 0; i < n;) {
                size_t l = p[i] < 0x80 ? 1 : utf8_seqlen(p + i, n - i);
                if (l == 0) {
                    bad++;
                    l = 1;
                } else if (l > 1) {
                    good++;
                }
                i += l;
            }
            if (good > 0) {
                codec_utf8_repair(in, n, out);
                return CODEC_WITH_ERRORS;
            }
        }
        cp1252_to_utf8(in, n, out);
        return CODEC_AS_CP1252;
    case CS_CP1252:
        cp1252_to_utf8(in, n, out);
        return CODEC_AS_DECLARED;
    case CS_ICONV:
        cd = (iconv_t)-1;
        if (strlen(name) < 47) {
            bool unknown;

            cd = cd_take(name, &unknown);
        }
        if (cd != (iconv_t)-1) {
            size_t mark = out->len, errs = iconv_convert(cd, in, n, out);

            cd_put(name, cd);
            /* glibc's iconv lets some invalid sequences through (code points past
             * U+10FFFF from a "UTF-8" alias): check what it produced. */
            if (!codec_utf8_valid(out->ptr + mark, out->len - mark)) {
                struct buf fix = BUF_INIT;

                codec_utf8_repair(out->ptr + mark, out->len - mark, &fix);
                buf_truncate(out, mark);
                buf_add(out, fix.ptr, fix.len);
                buf_free(&fix);
                errs++;
            }
            if (errs == 0)
                return CODEC_AS_DECLARED;
            /* The label lied: prefer UTF-8 when the bytes are valid UTF-8. */
            if (codec_utf8_valid(in, n)) {
                buf_truncate(out, mark);
                buf_add(out, in, n);
                return CODEC_AS_UTF8;
            }
            return CODEC_WITH_ERRORS;
        }
        break;      /* unknown label: like no label */
    case CS_NONE:
    default:
        break;
    }
    if (codec_utf8_valid(in, n)) {
        buf_add(out, in, n);
        return CODEC_AS_UTF8;
    }
    cp1252_to_utf8(in, n, out);
    return CODEC_AS_CP1252;
}

/* ---- format=flowed ---- */

void codec_unflow(const char *in, size_t n, bool delsp, struct buf *out)
{
    size_t i = 0;
    int cur_depth = -1;       /* quote depth of the paragraph being joined, -1 if none open */

    buf_reserve(out, n);
    while (i < n) {
        const char *nl = memchr(in + i, '\n', n - i);
        size_t end = nl ? (size_t)(nl - in) : n;
        size_t next = nl ? end + 1 : n;
        const char *line = in + i;
        size_t len = end - i;
        int depth = 0;
        bool soft;

        if (len > 0 && line[len - 1] == '\r')
            len--;
        while (len > 0 && line[0] == '>') {
            depth++;
            line++, len--;
        }
        if (len > 0 && line[0] == ' ')       /* space-stuffing */
            line++, len--;
        /* The signature separator "-- " is never soft. */
        soft = len > 0 && line[len - 1] == ' ' && !(len == 3 && memcmp(line, "-- ", 3) == 0);
        if (cur_depth >= 0 && depth != cur_depth) {
            /* A soft line must not flow into a different quote depth. */
            buf_addc(out, '\n');
            cur_depth = -1;
        }
        if (cur_depth < 0 && depth > 0) {
            for (int d = 0; d < depth; d++)
                buf_addc(out, '>');
            buf_addc(out, ' ');
        }
        if (soft && delsp)
            len--;
        buf_add(out, line, len);
        if (soft) {
            cur_depth = depth;
        } else {
            if (nl)
                buf_addc(out, '\n');
            cur_depth = -1;
        }
        i = next;
    }
    if (cur_depth >= 0)
        buf_addc(out, '\n');
}

/* ---- display safety ---- */

void codec_sanitize(const char *s, size_t n, int mode, struct buf *out)
{
    str_sanitize(s, n, mode == CODEC_SAN_LINE ? STR_SAN_LINE : STR_SAN_TEXT, out);
}

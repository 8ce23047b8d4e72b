/* RFC 5322 header blocks over a caller's buffer: field iteration without copies, unfolding,
 * decoding for display, address lists, dates (modern, obsolete and broken) and message ids. */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "tern/buf.h"
#include "tern/codec.h"
#include "tern/encword.h"
#include "tern/header.h"
#include "tern/str.h"
#include "tern/xalloc.h"

/*
 * If the line at p is blank (only white space before its LF), return the length of the
 * line including the LF, else 0. A line of spaces counts as blank: spam and some broken
 * mailers end the header block that way, and reading it as a continuation swallows the body.
 */
static size_t blank_line(const char *p, const char *end)
{
    const char *q = p;

    while (q < end && (*q == ' ' || *q == '\t' || *q == '\r'))
        q++;
    if (q < end && *q == '\n')
        return (size_t)(q + 1 - p);
    return 0;
}

/* hdr_block_find the plain way: the block's end, then a walk over every field in it. */
static size_t block_find_slow(const char *msg, size_t len, const char *const *names, size_t n,
                              struct hdr_field *found)
{
    const char *p = msg, *end = msg + len;
    size_t hl = len, b, pos = 0;
    struct hdr_field f;

    if ((b = blank_line(p, end)) > 0) {
        hl = b;
    } else {
        while (p < end) {
            const char *nl = memchr(p, '\n', (size_t)(end - p));

            if (nl == NULL)
                break;
            p = nl + 1;
            if (p < end && (b = blank_line(p, end)) > 0) {
                hl = (size_t)(p + b - msg);
                break;
            }
        }
    }
    while (n > 0 && hdr_next(msg, hl, &pos, &f))
        for (size_t k = 0; k < n; k++)
            if (!found[k].name && f.name_len == strlen(names[k]) &&
                str_ncasecmp(f.name, names[k], f.name_len) == 0)
                found[k] = f;
    return hl;
}

#if defined(__GNUC__)
typedef unsigned char hdr_v16 __attribute__((vector_size(16)));
#endif

/*
 * The first line start at or after from (a position just after a '\n') whose line is blank
 * or starts with the lower-case letter l in either case (l 0: none); len when none. Only
 * lines that start with white space (or another byte up to 0x20) can be blank: the others
 * are passed over sixteen bytes at a time (GCC and Clang vectors).
 */
static size_t next_line(const char *msg, size_t len, size_t from, char l)
{
    const unsigned char *s = (const unsigned char *)msg;
    size_t q = from > 0 ? from - 1 : 0;     /* where the '\n' may be */

#if defined(__GNUC__)
    hdr_v16 nl = (hdr_v16){ 0 } + '\n', sp = (hdr_v16){ 0 } + ' ';
    hdr_v16 vl = (hdr_v16){ 0 } + (unsigned char)l;

    for (; q + 17 <= len; q += 16) {
        hdr_v16 a, b, m;
        uint64_t half[2];

        memcpy(&a, s + q, 16);
        memcpy(&b, s + q + 1, 16);
        m = (hdr_v16)((b <= sp) | ((b | sp) == vl)) & (hdr_v16)(a == nl);
        memcpy(half, &m, 16);
        for (int k = 0; k < 2; k++)
            for (uint64_t bits = half[k] & 0x8080808080808080ull; bits; bits &= bits - 1) {
                size_t at = q + 8 * (size_t)k + (size_t)__builtin_ctzll(bits) / 8 + 1;

                if ((l && (msg[at] | 0x20) == l) || blank_line(msg + at, msg + len))
                    return at;
            }
    }
#endif
    for (; q + 1 < len; q++)
        if (s[q] == '\n' && ((l && (msg[q + 1] | 0x20) == l) ||
                             blank_line(msg + q + 1, msg + len)))
            return q + 1;
    return len;
}

size_t hdr_block_find(const char *msg, size_t len, const char *const *names, size_t n,
                      struct hdr_field *found)
{
    const char *end = msg + len;
    char l = 0;                     /* the names' first letter, lower case (0: none) */
    size_t left = n, b;

    for (size_t k = 0; k < n; k++) {
        char c = names[k][0];

        found[k] = (struct hdr_field){ NULL, 0, NULL, 0 };
        if (c >= 'A' && c <= 'Z')
            c = (char)(c + 32);
        if (c < 'a' || c > 'z' || (k > 0 && c != l))
            return block_find_slow(msg, len, names, n, found);
        l = c;
    }
    /*
     * A field never starts inside another (continuation lines start with white space), so
     * only the lines that start with the names' letter are read; hdr_next from a line start
     * reads what a walk over every field would (or the next field, when that line is not
     * one).
     */
    for (size_t at = 0; at < len; at = next_line(msg, len, at + 1, l)) {
        struct hdr_field f;
        size_t pos = at;

        if ((b = blank_line(msg + at, end)) > 0)
            return at + b;
        if (left == 0 || (msg[at] | 0x20) != l || !hdr_next(msg, len, &pos, &f))
            continue;
        for (size_t k = 0; k < n; k++)
            if (!found[k].name && f.name_len == strlen(names[k]) &&
                str_ncasecmp(f.name, names[k], f.name_len) == 0) {
                found[k] = f;
                left--;
            }
    }
    return len;
}

size_t hdr_block_len(const char *msg, size_t len)
{
    return hdr_block_find(msg, len, NULL, 0, NULL);
}

int hdr_next_end(const char *hdrs, size_t len, size_t *pos, struct hdr_field *f,
                 size_t *block)
{
    const char *end = hdrs + len, *line = hdrs + *pos;
    size_t b;

    while (line < end) {
        const char *start = line, *p = line, *name_end, *nl, *vend;
        int ok;

        /* The blank line (possibly of spaces) ends the block. */
        if ((*line == '\n' || *line == '\r' || *line == ' ' || *line == '\t') &&
            (b = blank_line(line, end)) > 0) {
            *pos = len;
            *block = (size_t)(line - hdrs) + b;
            return 0;
        }
        /* One pass over the name: it ends at the colon, white space or a control. */
        while (p < end && (unsigned char)*p > ' ' && *p != ':')
            p++;
        name_end = p;
        while (p < end && (*p == ' ' || *p == '\t'))   /* obsolete "Subject :" */
            p++;
        ok = p < end && *p == ':' && name_end > line;
        /* The field goes on over every continuation line (starting with white space). */
        nl = memchr(p, '\n', (size_t)(end - p));
        while (nl && nl + 1 < end && (nl[1] == ' ' || nl[1] == '\t') && !blank_line(nl + 1, end))
            nl = memchr(nl + 1, '\n', (size_t)(end - nl - 1));
        vend = nl ? nl : end;
        line = nl ? nl + 1 : end;
        /* Not a field (mbox "From " line, garbage, a continuation with no field): skip. */
        if (!ok)
            continue;
        f->name = start;
        f->name_len = (size_t)(name_end - start);
        *pos = (size_t)(line - hdrs);
        p++;
        while (p < vend && (*p == ' ' || *p == '\t'))
            p++;
        if (vend > p && vend[-1] == '\r')
            vend--;
        /* A field is at most HDR_VALUE_MAX bytes for every reader (decoding copies it a few
         * times: a 1 GB line would cost gigabytes); the rest is skipped, not kept. */
        if ((size_t)(vend - p) > HDR_VALUE_MAX)
            vend = p + HDR_VALUE_MAX;
        f->value = p;
        f->value_len = (size_t)(vend - p);
        return 1;
    }
    *pos = len;
    *block = 0;
    return 0;
}

int hdr_next(const char *hdrs, size_t len, size_t *pos, struct hdr_field *f)
{
    size_t block;

    return hdr_next_end(hdrs, len, pos, f, &block);
}

int hdr_find(const char *hdrs, size_t len, const char *name, struct hdr_field *f)
{
    size_t pos = 0, nl = strlen(name);

    while (hdr_next(hdrs, len, &pos, f))
        if (f->name_len == nl && str_ncasecmp(f->name, name, nl) == 0)
            return 1;
    return 0;
}

char *hdr_unfold(const char *value, size_t len)
{
    struct buf b = BUF_INIT;
    size_t start = 0;

    buf_reserve(&b, len);
    for (size_t i = 0; i < len; i++) {
        if (value[i] == '\r' || value[i] == '\n') {
            buf_add(&b, value + start, i - start);
            start = i + 1;
        }
    }
    buf_add(&b, value + start, len - start);
    return buf_detach(&b);
}

/* Decode for display into out: unfold, RFC 2047, sanitise, trim, squeeze folding runs. */
static void decode_into(const char *value, size_t len, struct buf *out)
{
    struct buf tmp = BUF_INIT;
    size_t s = 0, e;

    if (memchr(value, '\n', len) || memchr(value, '\r', len)) {
        char *u = hdr_unfold(value, len);
        ew_decode(u, strlen(u), &tmp);
        free(u);
    } else {
        ew_decode(value, len, &tmp);
    }
    codec_sanitize(tmp.ptr ? tmp.ptr : "", tmp.len, CODEC_SAN_LINE, out);
    buf_free(&tmp);
    /* Trim in place. */
    while (s < out->len && out->ptr[s] == ' ')
        s++;
    e = out->len;
    while (e > s && out->ptr[e - 1] == ' ')
        e--;
    if (s > 0)
        memmove(out->ptr, out->ptr + s, e - s);
    buf_truncate(out, e - s);
}

static bool all_plain(const char *v, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)v[i];
        if (c < 0x20 || c >= 0x7f || (c == '=' && i + 1 < len && v[i + 1] == '?'))
            return false;
    }
    return true;
}

char *hdr_decode(const char *value, size_t len)
{
    struct buf out = BUF_INIT;

    /* Fast path: one line of printable ASCII with nothing encoded. */
    if (all_plain(value, len)) {
        while (len > 0 && value[len - 1] == ' ')
            len--;
        while (len > 0 && *value == ' ')
            value++, len--;
        return xmemdup0(value, len);
    }
    decode_into(value, len, &out);
    return buf_detach(&out);
}

/* ---- dates ---- */

static const char *const months[] = { "jan", "feb", "mar", "apr", "may", "jun",
                                      "jul", "aug", "sep", "oct", "nov", "dec" };

struct zone {
    const char *name;
    int minutes;
};

static const struct zone zones[] = {
    { "ut", 0 }, { "utc", 0 }, { "gmt", 0 }, { "z", 0 }, { "wet", 0 }, { "bst", 60 },
    { "est", -300 }, { "edt", -240 }, { "cst", -360 }, { "cdt", -300 }, { "mst", -420 },
    { "mdt", -360 }, { "pst", -480 }, { "pdt", -420 }, { "cet", 60 }, { "cest", 120 },
    { "met", 60 }, { "mest", 120 }, { "eet", 120 }, { "eest", 180 }, { "msk", 180 },
    { "ist", 330 }, { "jst", 540 }, { "kst", 540 }, { "hkt", 480 }, { "aest", 600 },
    { "aedt", 660 }, { "nzst", 720 }, { "nzdt", 780 }, { "akst", -540 }, { "hst", -600 },
};

/* Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm), so that
 * we need neither timegm nor the TZ environment. */
static long long days_from_civil(long long y, unsigned m, unsigned d)
{
    long long era;
    unsigned yoe, doy, doe;

    y -= m <= 2;
    era = (y >= 0 ? y : y - 399) / 400;
    yoe = (unsigned)(y - era * 400);
    doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (long long)doe - 719468;
}

static int lower(int c)
{
    return (c >= 'A' && c <= 'Z') ? c + 32 : c;
}

static int is_digit(char c)
{
    return c >= '0' && c <= '9';
}

static int is_alpha(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

/* Read up to maxd digits at s[*i]; -1 if none. */
static long read_num(const char *s, size_t n, size_t *i, int maxd, int *ndig)
{
    long v = 0;
    int d = 0;

    while (*i < n && is_digit(s[*i]) && d < maxd) {
        v = v * 10 + (s[*i] - '0');
        (*i)++, d++;
    }
    if (ndig)
        *ndig = d;
    return d ? v : -1;
}

/* Parse "hh:mm[:ss]" at s[*i]; 0 on success. */
static int read_time(const char *s, size_t n, size_t *i, int *h, int *mi, int *sec)
{
    size_t j = *i;
    long a, b, c = 0;

    a = read_num(s, n, &j, 2, NULL);
    if (a < 0 || j >= n || (s[j] != ':' && s[j] != '.'))
        return -1;
    j++;
    b = read_num(s, n, &j, 2, NULL);
    if (b < 0)
        return -1;
    if (j < n && s[j] == ':') {
        j++;
        c = read_num(s, n, &j, 2, NULL);
        if (c < 0)
            c = 0;
        /* fractional seconds (ISO 8601) */
        if (j < n && (s[j] == '.' || s[j] == ',')) {
            j++;
            while (j < n && is_digit(s[j]))
                j++;
        }
    }
    *h = (int)a, *mi = (int)b, *sec = (int)c;
    *i = j;
    return 0;
}

/* Past the comment that opens at s[i] == '(' (nested, with quoted pairs: RFC 5322 3.2.2);
 * n when it is never closed. */
static size_t skip_comment(const char *s, size_t n, size_t i)
{
    int depth = 0;

    for (; i < n; i++) {
        if (s[i] == '\\') {
            i++;
            continue;
        }
        if (s[i] == '(')
            depth++;
        else if (s[i] == ')' && --depth == 0)
            return i + 1;
    }
    return n;
}

int hdr_parse_date(const char *s, size_t n, time_t *out)
{
    long year = -1, mon = -1, day = -1;
    int h = 0, mi = 0, sec = 0, have_time = 0, have_zone = 0, zone = 0, year_digits = 0;
    size_t i = 0;

    if (n > 200)
        n = 200;    /* a date is short; do not walk a hostile megabyte */
    while (i < n) {
        char c = s[i];

        if (c == '(') {
            i = skip_comment(s, n, i);
            continue;
        }
        if ((c == '+' || c == '-') && i + 1 < n && is_digit(s[i + 1]) && have_time &&
            !have_zone) {
            size_t j = i + 1;
            int nd;
            long z = read_num(s, n, &j, 4, &nd);

            if (nd == 2 && j + 2 < n + 1 && j < n && s[j] == ':') {   /* +hh:mm */
                long m2;

                j++;
                m2 = read_num(s, n, &j, 2, NULL);
                z = z * 100 + (m2 > 0 ? m2 : 0);
            } else if (nd == 2) {
                z *= 100;
            }
            if (z % 100 < 60 && z / 100 < 24) {
                zone = (int)((z / 100) * 60 + z % 100);
                if (c == '-')
                    zone = -zone;
                have_zone = 1;
            }
            i = j;
            continue;
        }
        if (is_digit(c)) {
            size_t j = i;
            int nd;
            long v;

            if (!have_time && read_time(s, n, &j, &h, &mi, &sec) == 0) {
                have_time = 1;
                i = j;
                continue;
            }
            j = i;
            v = read_num(s, n, &j, 9, &nd);
            if (nd == 4 && j < n && (s[j] == '-' || s[j] == '/') && year < 0) {
                /* ISO 8601: yyyy-mm-dd[Thh:mm:ss] */
                size_t k = j + 1;
                long m2 = read_num(s, n, &k, 2, NULL), d2 = -1;

                if (m2 > 0 && k < n && s[k] == s[j]) {
                    k++;
                    d2 = read_num(s, n, &k, 2, NULL);
                }
                if (d2 > 0) {
                    year = v, mon = m2, day = d2, year_digits = 4;
                    if (k < n && (s[k] == 'T' || s[k] == 't'))
                        k++;
                    i = k;
                    continue;
                }
            }
            if (day < 0 && nd <= 2 && v >= 1 && v <= 31)
                day = v;
            else if (year < 0 && nd <= 4)
                year = v, year_digits = nd;
            else if (day < 0 && v >= 1 && v <= 31)
                day = v;
            i = j;
            continue;
        }
        if (is_alpha(c)) {
            size_t j = i;
            char w[8];
            size_t wl = 0;

            while (j < n && is_alpha(s[j])) {
                if (wl < sizeof w - 1)
                    w[wl++] = (char)lower(s[j]);
                j++;
            }
            w[wl] = '\0';
            if (wl >= 3 && mon < 0) {
                for (int k = 0; k < 12; k++)
                    if (memcmp(w, months[k], 3) == 0) {
                        mon = k + 1;
                        break;
                    }
                if (mon > 0) {
                    i = j;
                    continue;
                }
            }
            if (have_time && !have_zone) {
                for (size_t k = 0; k < sizeof zones / sizeof zones[0]; k++)
                    if (strcmp(w, zones[k].name) == 0) {
                        zone = zones[k].minutes;
                        have_zone = 1;
                        break;
                    }
                /* Military single letters: RFC 5322 says treat as -0000 (unknown). */
                if (wl == 1)
                    have_zone = 1;
            }
            i = j;
            continue;
        }
        i++;
    }
    if (year < 0 || mon < 0 || day < 0)
        return -1;
    if (year_digits <= 2)
        year += year < 50 ? 2000 : 1900;
    else if (year_digits == 3)
        year += 1900;
    if (year < 1900 || year > 9999 || day > 31 || h > 23 || mi > 59 || sec > 60)
        return -1;
    {
        long long t = days_from_civil(year, (unsigned)mon, (unsigned)day) * 86400LL +
                      h * 3600LL + mi * 60LL + sec - zone * 60LL;

        if (sizeof(time_t) < 8 && (t > 0x7fffffffLL || t < -0x7fffffffLL))
            return -1;
        *out = (time_t)t;
    }
    return 0;
}

/* ---- addresses ---- */

/* The address being assembled while scanning a list. */
struct acc {
    struct buf phrase;     /* display-name words, unquoted, single-spaced */
    struct buf angle;      /* inside <...> */
    struct buf bare;       /* addr-spec tokens when there is no <...> */
    struct buf comment;    /* the last comment, a name of last resort */
    int have_angle;
    int words;
};

static void acc_reset(struct acc *a)
{
    buf_reset(&a->phrase);
    buf_reset(&a->angle);
    buf_reset(&a->bare);
    buf_reset(&a->comment);
    a->have_angle = 0;
    a->words = 0;
}

static bool all_plain(const char *v, size_t len);

static char *clean_name(const char *s, size_t n)
{
    struct buf out = BUF_INIT;
    char *r;

    if (all_plain(s, n)) {
        while (n > 0 && s[n - 1] == ' ')
            n--;
        while (n > 0 && *s == ' ')
            s++, n--;
        return n ? xmemdup0(s, n) : NULL;
    }

    decode_into(s, n, &out);
    if (out.len == 0) {
        buf_free(&out);
        return NULL;
    }
    r = buf_detach(&out);
    return r;
}

static char *clean_mailbox(const char *s, size_t n)
{
    struct buf out = BUF_INIT;
    size_t i = 0;

    /* Obsolete route: "@a,@b:local@domain". */
    if (n > 0 && s[0] == '@') {
        const char *c = memchr(s, ':', n);
        if (c) {
            i = (size_t)(c + 1 - s);
        }
    }
    if (all_plain(s + i, n - i) && !memchr(s + i, ' ', n - i))
        return xmemdup0(s + i, n - i);
    codec_sanitize(s + i, n - i, CODEC_SAN_LINE, &out);
    /* Mailboxes hold no spaces outside a quoted local part ("a b"@x is another mailbox
     * than ab@x); drop any other the sanitiser produced. */
    {
        size_t w = 0;
        bool quoted = false;

        for (size_t k = 0; k < out.len; k++) {
            if (out.ptr[k] == '"' && (k == 0 || out.ptr[k - 1] != '\\'))
                quoted = !quoted;
            if (out.ptr[k] != ' ' || quoted)
                out.ptr[w++] = out.ptr[k];
        }
        buf_truncate(&out, w);
    }
    return buf_detach(&out);
}

static void acc_emit(struct acc *a, struct addr **list, size_t *n, size_t *cap)
{
    struct addr ad = { NULL, NULL };

    if (a->have_angle) {
        ad.mailbox = clean_mailbox(a->angle.ptr ? a->angle.ptr : "", a->angle.len);
        if (a->phrase.len)
            ad.name = clean_name(a->phrase.ptr, a->phrase.len);
        else if (a->comment.len)
            ad.name = clean_name(a->comment.ptr, a->comment.len);
    } else if (a->bare.len || a->phrase.len) {
        /* No brackets: the words are the address ("user@host (Name)"). */
        struct buf *src = a->bare.len ? &a->bare : &a->phrase;
        ad.mailbox = clean_mailbox(src->ptr, src->len);
        if (a->comment.len)
            ad.name = clean_name(a->comment.ptr, a->comment.len);
    }
    if (ad.mailbox && ad.mailbox[0] == '\0' && ad.name == NULL) {
        free(ad.mailbox);
        ad.mailbox = NULL;
    }
    if (ad.mailbox) {
        *list = xgrow(*list, *n, cap, sizeof **list);
        (*list)[(*n)++] = ad;
    }
    acc_reset(a);
}

/* Append a phrase word (single-spaced) and, for a bare address, the raw token. */
static void acc_word(struct acc *a, const char *s, size_t n, int quoted)
{
    if (a->phrase.len)
        buf_addc(&a->phrase, ' ');
    buf_add(&a->phrase, s, n);
    if (!quoted) {
        buf_add(&a->bare, s, n);
    } else {
        /* A quoted local part stays quoted: "a b"@x is not ab@x. */
        buf_addc(&a->bare, '"');
        for (size_t i = 0; i < n; i++) {
            if (s[i] == '"' || s[i] == '\\')
                buf_addc(&a->bare, '\\');
            buf_addc(&a->bare, s[i]);
        }
        buf_addc(&a->bare, '"');
    }
    a->words++;
}

#define MAX_ADDRS 10000

/* Bytes that end an atom in an address list (a table: this is the hot loop). */
static const unsigned char addr_special[256] = {
    [' '] = 1, ['\t'] = 1, ['\r'] = 1, ['\n'] = 1, ['('] = 1, [')'] = 1, ['"'] = 1,
    ['<'] = 1, ['>'] = 1, [','] = 1, [';'] = 1, [':'] = 1, ['\0'] = 1,
};

int addr_parse_list(const char *v, size_t len, struct addr **out, size_t *n)
{
    struct acc a;
    struct buf word = BUF_INIT;
    size_t i = 0, cap = 0;
    int in_group = 0;

    *out = NULL;
    *n = 0;
    memset(&a, 0, sizeof a);
    while (i < len && *n < MAX_ADDRS) {
        char c = v[i];

        if (c == ' ' || c == '\t' || c == '\r' || c == '\n') {
            i++;
            /* "a b@c" without brackets: bare tokens are joined, so mark the gap. */
        } else if (c == '(') {
            int depth = 0;

            buf_reset(&a.comment);
            for (; i < len; i++) {
                if (v[i] == '\\' && i + 1 < len) {
                    buf_addc(&a.comment, v[++i]);
                    continue;
                }
                if (v[i] == '(') {
                    if (depth++ == 0)
                        continue;
                } else if (v[i] == ')') {
                    if (--depth == 0) {
                        i++;
                        break;
                    }
                }
                buf_addc(&a.comment, v[i]);
            }
        } else if (c == '"') {
            buf_reset(&word);
            for (i++; i < len && v[i] != '"';) {
                size_t j = i;

                if (v[i] == '\\' && i + 1 < len) {
                    buf_addc(&word, v[i + 1]);
                    i += 2;
                    continue;
                }
                while (j < len && v[j] != '"' && v[j] != '\\')
                    j++;
                if (j == i)
                    j++;        /* a backslash that ends the value */
                buf_add(&word, v + i, j - i);
                i = j;
            }
            if (i < len)
                i++;
            if (a.have_angle)
                continue;      /* junk after the brackets */
            acc_word(&a, word.ptr ? word.ptr : "", word.len, 1);
        } else if (c == '<') {
            size_t j = i + 1;

            buf_reset(&a.angle);
            while (j < len && v[j] != '>') {
                if (v[j] == '"') {      /* quoted local part */
                    buf_addc(&a.angle, v[j++]);
                    while (j < len && v[j] != '"') {
                        if (v[j] == '\\' && j + 1 < len)
                            buf_addc(&a.angle, v[j++]);
                        buf_addc(&a.angle, v[j++]);
                    }
                    if (j < len)
                        buf_addc(&a.angle, v[j++]);
                    continue;
                }
                if (v[j] == '(') {      /* comment inside the brackets */
                    j = skip_comment(v, len, j);
                    continue;
                }
                if (v[j] == ',') {
                    /* Unclosed bracket: a ',' followed by '<' before any '>' ends it. */
                    size_t k = j + 1;
                    while (k < len && v[k] != '<' && v[k] != '>')
                        k++;
                    if (k >= len || v[k] == '<')
                        break;
                }
                if (v[j] != ' ' && v[j] != '\t' && v[j] != '\r' && v[j] != '\n') {
                    size_t k = j;

                    while (k < len && (!addr_special[(unsigned char)v[k]] || v[k] == '<' ||
                                       v[k] == ')' || v[k] == ';' || v[k] == ':'))
                        k++;
                    if (k == j)
                        k++;
                    buf_add(&a.angle, v + j, k - j);
                    j = k;
                    continue;
                }
                j++;
            }
            a.have_angle = 1;
            i = j < len && v[j] == '>' ? j + 1 : j;
        } else if (c == ',') {
            acc_emit(&a, out, n, &cap);
            i++;
        } else if (c == ':' && !a.have_angle && !memchr(a.bare.ptr ? a.bare.ptr : "", '@',
                                                       a.bare.len)) {
            /* Group: "name: a, b;" — the name is dropped, the members kept. */
            acc_reset(&a);
            in_group = 1;
            i++;
        } else if (c == ';' && in_group) {
            acc_emit(&a, out, n, &cap);
            in_group = 0;
            i++;
        } else if (c == '>' || c == ')') {
            i++;    /* stray */
        } else {
            size_t j = i;

            while (j < len && !addr_special[(unsigned char)v[j]])
                j++;
            /* "@" and "." join tokens without spaces in a bare address. */
            if (j == i)
                j++;
            if (a.have_angle) {
                i = j;
                continue;
            }
            if (a.phrase.len && (v[i] == '@' || v[i] == '.' ||
                                 a.phrase.ptr[a.phrase.len - 1] == '@' ||
                                 a.phrase.ptr[a.phrase.len - 1] == '.')) {
                /* The display name keeps the space the sender wrote ("Jane Q. Public");
                 * the bare address never has one. */
                if (v[i - 1] == ' ' || v[i - 1] == '\t' || v[i - 1] == '\n')
                    buf_addc(&a.phrase, ' ');
                buf_add(&a.phrase, v + i, j - i);
                buf_add(&a.bare, v + i, j - i);
            } else if (c == ':' || c == ';') {
                /* A colon or semicolon that is not a group: keep it in the token. */
                buf_add(&a.bare, v + i, j - i);
                buf_add(&a.phrase, v + i, j - i);
            } else {
                acc_word(&a, v + i, j - i, 0);
            }
            i = j;
        }
    }
    acc_emit(&a, out, n, &cap);
    buf_free(&a.phrase);
    buf_free(&a.angle);
    buf_free(&a.bare);
    buf_free(&a.comment);
    buf_free(&word);
    return 0;
}

void addr_list_free(struct addr *a, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(a[i].name);
        free(a[i].mailbox);
    }
    free(a);
}

char *addr_display_of(struct addr *a, size_t n, const char *value, size_t len)
{
    char *r;

    if (n == 0) {
        r = hdr_decode(value, len);
    } else if (a[0].name) {
        r = a[0].name;
        a[0].name = NULL;
    } else {
        r = a[0].mailbox;
        a[0].mailbox = NULL;
    }
    return r;
}

char *addr_display(const char *value, size_t len)
{
    struct addr *a;
    size_t n;
    char *r;

    addr_parse_list(value, len, &a, &n);
    r = addr_display_of(a, n, value, len);
    addr_list_free(a, n);
    return r;
}

/* ---- message ids ---- */

#define MAX_IDS 1000

size_t hdr_msgids(const char *v, size_t len, char ***ids)
{
    size_t n = 0, cap = 0, i = 0;
    int no_close = 0;      /* no '>' left: do not search again for each '<' */
    const char *next_gt = NULL;

    *ids = NULL;
    while (i < len && n < MAX_IDS) {
        if (v[i] == '(') {
            i = skip_comment(v, len, i);
            continue;
        }
        if (v[i] == '<') {
            const char *e;

            /* The next '>' is found once and reused while we are before it, so that
             * "<<<<...>" stays linear. */
            if (no_close)
                e = NULL;
            else if (next_gt && next_gt > v + i)
                e = next_gt;
            else
                e = next_gt = memchr(v + i + 1, '>', len - i - 1);
            struct buf b = BUF_INIT;
            const char *s = v + i + 1;
            size_t k, l;

            if (e == NULL) {
                no_close = 1;
                e = v + len;
            }
            l = (size_t)(e - s);
            for (k = 0; k < l; k++)
                if ((unsigned char)s[k] <= 0x20 || s[k] == 0x7f || s[k] == '<')
                    break;
            if (k == l) {           /* the usual case: a clean id */
                if (l) {
                    *ids = xgrow(*ids, n, &cap, sizeof **ids);
                    (*ids)[n++] = xmemdup0(s, l);
                }
                i = (size_t)(e - v) + 1;
                continue;
            }
            for (k = 0; k < l; k++) {
                unsigned char c = (unsigned char)s[k];
                if (c > 0x20 && c != 0x7f && c != '<')
                    buf_addc(&b, (char)c);
                if (c == '<')
                    break;
            }
            if (k < l) {           /* a new '<' before '>': restart there */
                buf_free(&b);
                i += 1 + k;
                continue;
            }
            if (b.len) {
                *ids = xgrow(*ids, n, &cap, sizeof **ids);
                (*ids)[n++] = buf_detach(&b);
            }
            buf_free(&b);
            i = (size_t)(e - v) + 1;
            continue;
        }
        i++;
    }
    if (n == 0) {
        /* No brackets at all: accept bare tokens that look like ids ("id@host"). */
        i = 0;
        while (i < len && n < MAX_IDS) {
            size_t j;
            while (i < len && (v[i] == ' ' || v[i] == '\t' || v[i] == '\r' || v[i] == '\n' ||
                               v[i] == ','))
                i++;
            j = i;
            while (j < len && (unsigned char)v[j] > 0x20 && v[j] != ',' && v[j] != 0x7f)
                j++;
            if (j > i && memchr(v + i, '@', j - i) && !memchr(v + i, '(', j - i)) {
                *ids = xgrow(*ids, n, &cap, sizeof **ids);
                (*ids)[n++] = xmemdup0(v + i, j - i);
            }
            i = j > i ? j : i + 1;
        }
    }
    return n;
}

void hdr_msgids_free(char **ids, size_t n)
{
    str_list_free(ids, n);
}

char *hdr_msgid(const char *value, size_t len)
{
    char **ids, *r;
    size_t n = hdr_msgids(value, len, &ids);

    if (n == 0)
        return NULL;
    r = ids[0];
    ids[0] = NULL;
    hdr_msgids_free(ids, n);
    return r;
}

const char *addr_first_mailbox_of(const struct addr *a, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (a[i].mailbox && strchr(a[i].mailbox, '@'))
            return a[i].mailbox;
    return NULL;
}

char *addr_first_mailbox(const char *value, size_t len)
{
    struct addr *a;
    size_t n;
    const char *mb;
    char *m;

    addr_parse_list(value, len, &a, &n);
    mb = addr_first_mailbox_of(a, n);
    m = mb ? xstrdup(mb) : NULL;
    addr_list_free(a, n);
    return m;
}

void addr_format(struct buf *out, const char *name, const char *mailbox)
{
    if (name == NULL || *name == '\0') {
        buf_adds(out, mailbox);
        return;
    }
    if (strpbrk(name, "()<>[]:;@\\,.\"") == NULL) {
        buf_printf(out, "%s <%s>", name, mailbox);
        return;
    }
    addr_quote(out, name);
    buf_printf(out, " <%s>", mailbox);
}

void addr_quote(struct buf *out, const char *s)
{
    buf_addc(out, '"');
    for (const char *p = s; *p; p++) {
        if (*p == '"' || *p == '\\')
            buf_addc(out, '\\');
        buf_addc(out, *p);
    }
    buf_addc(out, '"');
}

bool addr_mailbox_bad(const char *m, bool (*bad)(char c, bool quoted))
{
    bool quoted = false;

    for (const char *p = m; *p; p++) {
        if (*p == '\\' && quoted && p[1]) {
            p++;
            continue;
        }
        if (*p == '"')
            quoted = !quoted;
        else if (bad(*p, quoted))
            return true;
    }
    return quoted;
}

/* Specials outside a quoted local part: what the parser salvaged from garbage. */
static bool mailbox_junk(char c, bool quoted)
{
    return !quoted && strchr("<>,;:()[]\\ \t", c) != NULL;
}

char *addr_list_decode(const char *value, size_t len)
{
    struct addr *a;
    struct buf out = BUF_INIT;
    size_t n;

    /* Without an encoded word, decoding cannot invent an address separator. */
    if (memmem(value, len, "=?", 2) == NULL)
        return hdr_decode(value, len);
    addr_parse_list(value, len, &a, &n);
    for (size_t i = 0; i < n; i++) {
        /* A mailbox the parser salvaged from garbage (with brackets, commas...) would not
         * read back as one address: it is left out. */
        if (a[i].mailbox == NULL || a[i].mailbox[0] == '\0' || addr_mailbox_bad(a[i].mailbox, mailbox_junk))
            continue;
        if (out.len)
            buf_adds(&out, ", ");
        addr_format(&out, a[i].name, a[i].mailbox);
    }
    addr_list_free(a, n);
    return out.len ? buf_detach(&out) : (buf_free(&out), xstrdup(""));
}

char *hdr_get_addrs(const char *hdrs, size_t len, const char *name)
{
    struct hdr_field f;

    if (!hdr_find(hdrs, len, name, &f))
        return NULL;
    return addr_list_decode(f.value, f.value_len);
}

char *hdr_get(const char *hdrs, size_t len, const char *name)
{
    struct hdr_field f;

    if (!hdr_find(hdrs, len, name, &f))
        return NULL;
    return hdr_decode(f.value, f.value_len);
}

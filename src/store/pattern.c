/* mutt-style ~ patterns over index entries: a small recursive-descent parser into a tree of
 * and/or/not nodes whose leaves are POSIX extended regular expressions, states or date
 * ranges. */
#include "config.h"

#include <regex.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <wctype.h>

#include "tern/buf.h"
#include "tern/fsutil.h"
#include "tern/header.h"
#include "tern/maildir.h"
#include "tern/pattern.h"
#include "tern/str.h"
#include "tern/xalloc.h"

/* Bounds against hostile or mistaken input: nesting depth and the number of nodes. */
#define PAT_MAX_DEPTH 64
#define PAT_MAX_NODES 1000

enum pnode { PN_AND, PN_OR, PN_NOT, PN_REGEX, PN_STATE, PN_DATE };

struct pattern {
    enum pnode kind;
    char field;                 /* the letter after ~ */
    regex_t re;                 /* PN_REGEX */
    int64_t lo, hi;             /* PN_DATE: seconds, both included */
    struct pattern *a, *b;      /* PN_AND, PN_OR: both; PN_NOT: a */
};

struct parser {
    const char *s, *p;
    int depth, nodes;
    struct err *e;
};

static struct pattern *node(struct parser *ps, enum pnode k)
{
    struct pattern *n = xcalloc(1, sizeof *n);

    n->kind = k;
    ps->nodes++;
    return n;
}

void pattern_free(struct pattern *p)
{
    if (p == NULL)
        return;
    if (p->kind == PN_REGEX)
        regfree(&p->re);
    pattern_free(p->a);
    pattern_free(p->b);
    free(p);
}

static void skip_blank(struct parser *ps)
{
    while (*ps->p == ' ' || *ps->p == '\t')
        ps->p++;
}

static int fail(struct parser *ps, const char *what)
{
    return err_set(ps->e, ERR_PARSE, "pattern, at column %d: %s", (int)(ps->p - ps->s) + 1,
                   what);
}

/* mutt's rule: a regex without an upper-case letter ignores case. */
static bool has_upper(const char *s)
{
    size_t n = strlen(s);

    for (size_t i = 0; i < n;) {
        size_t l = utf8_seqlen((const unsigned char *)s + i, n - i);
        unsigned cp;

        if (l == 0)
            l = 1;
        cp = utf8_decode((const unsigned char *)s + i, l);
        if (iswupper((wint_t)cp))
            return true;
        i += l;
    }
    return false;
}

/* The argument of ~X: "quoted" or 'quoted' (a backslash keeps the quote), or a word up to
 * blank space or a ) that closes a group (parentheses inside the word balance). */
static int read_arg(struct parser *ps, struct buf *out)
{
    skip_blank(ps);
    if (*ps->p == '"' || *ps->p == '\'') {
        char q = *ps->p++;

        while (*ps->p && *ps->p != q) {
            if (*ps->p == '\\' && ps->p[1] == q)
                ps->p++;
            buf_addc(out, *ps->p++);
        }
        if (*ps->p != q)
            return fail(ps, "the quote is not closed");
        ps->p++;
    } else {
        int open = 0;

        while (*ps->p && *ps->p != ' ' && *ps->p != '\t') {
            if (*ps->p == '(')
                open++;
            else if (*ps->p == ')' && open-- == 0)
                break;
            if (*ps->p == '\\' && ps->p[1])
                buf_addc(out, *ps->p++);
            buf_addc(out, *ps->p++);
        }
    }
    if (out->len == 0)
        return fail(ps, "a regular expression is missing");
    return 0;
}

/*
 * glibc's regcomp copies the tree once per counted or stacked repetition: "a++++..." or
 * "(a{1,99}){1,99}" take gigabytes. Refuse a repetition right after another one and counted
 * repetitions whose bounds multiply past 1000 (the fuzzer found it; a typo must not take
 * the client's memory).
 */
static bool re_too_costly(const char *re)
{
    bool prev_rep = false;
    long product = 1;

    for (const char *p = re; *p; p++) {
        if (*p == '\\' && p[1]) {
            p++;
            prev_rep = false;
        } else if (*p == '[') {             /* a bracket expression: no operators inside */
            p++;
            if (*p == '^')
                p++;
            if (*p == ']')
                p++;
            while (*p && *p != ']')
                p++;
            if (*p == '\0')
                return false;           /* regcomp reports it */
            prev_rep = false;
        } else if (*p == '*' || *p == '+' || *p == '?' || *p == '{') {
            if (prev_rep)
                return true;
            if (*p == '{') {
                long lo = strtol(p + 1, NULL, 10), hi = lo;
                const char *c = strchr(p, ',');
                const char *end = strchr(p, '}');

                if (c && end && c < end && c[1] != '}')
                    hi = strtol(c + 1, NULL, 10);
                if (lo > hi)
                    hi = lo;
                if (hi > 1000 || (hi > 1 && (product *= hi) > 1000))
                    return true;
                if (end)
                    p = end;
            }
            prev_rep = true;
        } else {
            prev_rep = false;
        }
    }
    return false;
}

/* ---- dates (~d sent, ~r received), as mutt writes them ---- */

/* Local midnight of day/month/year (month 1-12), or -1 when out of range. */
static int64_t day_start(long d, long m, long y)
{
    struct tm tm;

    if (d < 1 || d > 31 || m < 1 || m > 12 || y < 1970 || y > 9999)
        return -1;
    memset(&tm, 0, sizeof tm);
    tm.tm_mday = (int)d;
    tm.tm_mon = (int)m - 1;
    tm.tm_year = (int)y - 1900;
    tm.tm_isdst = -1;
    return (int64_t)mktime(&tm);
}

/* The local midnight after t's day. */
static int64_t next_midnight(int64_t t)
{
    time_t tt = (time_t)t;
    struct tm tm;

    localtime_r(&tt, &tm);
    tm.tm_mday++;
    tm.tm_hour = tm.tm_min = tm.tm_sec = 0;
    tm.tm_isdst = -1;
    return (int64_t)mktime(&tm);
}

/* Digits at *p (at most 9), their count in *n; -1 when none. */
static long digits(const char **p, int *n)
{
    long v = 0;

    for (*n = 0; **p >= '0' && **p <= '9' && *n < 9; (*p)++, (*n)++)
        v = v * 10 + (**p - '0');
    return *n ? v : -1;
}

/* A day: DD[/MM[/[CC]YY]] (a missing month or year is the current one; YY under 70 is 20YY)
 * or YYYYMMDD. Its local midnight, or -1. */
static int64_t parse_day(const char **p)
{
    time_t now = time(NULL);
    struct tm tm;
    long d, m, y;
    int n;

    localtime_r(&now, &tm);
    m = tm.tm_mon + 1;
    y = tm.tm_year + 1900L;
    if ((d = digits(p, &n)) < 0)
        return -1;
    if (n == 8)
        return day_start(d % 100, d / 100 % 100, d / 10000);
    if (n > 2)
        return -1;
    if (**p == '/') {
        (*p)++;
        if ((m = digits(p, &n)) < 0 || n > 2)
            return -1;
        if (**p == '/') {
            (*p)++;
            if ((y = digits(p, &n)) < 0 || (n != 2 && n != 4))
                return -1;
            if (n == 2)
                y += y < 70 ? 2000 : 1900;
        }
    }
    return day_start(d, m, y);
}

/* N with a unit (y m w d H M S; d when none) taken from t (calendar arithmetic, local
 * time): the instant that far before t (back) or after it. -1 on bad syntax. */
static int shift(const char **p, int64_t t, bool back, int64_t *out)
{
    time_t tt = (time_t)t;
    struct tm tm;
    int n;
    long k = digits(p, &n);

    if (k < 0 || k > 100000)
        return -1;
    if (back)
        k = -k;
    localtime_r(&tt, &tm);
    switch (**p) {
    case 'y': tm.tm_year += (int)k; break;
    case 'm': tm.tm_mon += (int)k; break;
    case 'w': tm.tm_mday += 7 * (int)k; break;
    case 'H': tm.tm_hour += (int)k; break;
    case 'M': tm.tm_min += (int)k; break;
    case 'S': tm.tm_sec += (int)k; break;
    case 'd': tm.tm_mday += (int)k; break;
    default: (*p)--; tm.tm_mday += (int)k; break;      /* no unit: days */
    }
    (*p)++;
    tm.tm_isdst = -1;
    *out = (int64_t)mktime(&tm);
    return 0;
}

/* After a day or a '-': a margin N[unit] (digits then a unit letter), not a day. */
static bool is_margin(const char *p)
{
    while (*p >= '0' && *p <= '9')
        p++;
    return *p && strchr("ymwdHMS", *p) != NULL;
}

/*
 * mutt's date argument: <N (younger than), >N (older than), =N (on the day that long ago),
 * with units y m w d H M S; or DAY (that day), DAY-DAY, DAY-, -DAY, and a margin after a
 * day: DAY*N (either side), DAY+N (after), DAY-N (before). Days are local, bounds included.
 */
static int date_range(const char *s, int64_t *lo, int64_t *hi)
{
    const char *p = s;
    int64_t now = (int64_t)time(NULL), t, d1, d2;

    *lo = INT64_MIN;
    *hi = INT64_MAX;
    if (*p == '<' || *p == '>' || *p == '=') {
        char op = *p++;

        if (shift(&p, now, true, &t) < 0 || *p)
            return -1;
        if (op == '<')
            *lo = t;
        else if (op == '>')
            *hi = t - 1;
        else {
            time_t tt = (time_t)t;
            struct tm tm;

            localtime_r(&tt, &tm);
            *lo = day_start(tm.tm_mday, tm.tm_mon + 1, tm.tm_year + 1900L);
            *hi = next_midnight(t) - 1;
        }
        return 0;
    }
    if (*p != '-') {
        if ((d1 = parse_day(&p)) < 0)
            return -1;
        *lo = d1;
        *hi = next_midnight(d1) - 1;
        if ((*p == '*' || *p == '+' || (*p == '-' && is_margin(p + 1)))) {
            char m = *p++;
            const char *q = p;

            if (m != '+' && shift(&p, *lo, true, lo) < 0)
                return -1;
            if (m != '-' && shift(&q, *hi, false, hi) < 0)
                return -1;
            if (q > p)
                p = q;
            return *p ? -1 : 0;
        }
        if (*p == '\0')
            return 0;
        if (*p != '-')
            return -1;
        *hi = INT64_MAX;
    }
    p++;                            /* the '-' */
    if (*p == '\0')
        return *lo == INT64_MIN ? -1 : 0;
    if ((d2 = parse_day(&p)) < 0 || *p)
        return -1;
    *hi = next_midnight(d2) - 1;
    if (*lo != INT64_MIN && *lo > *hi) {        /* mutt takes a range backwards too */
        int64_t l = *lo;

        *lo = d2;
        *hi = next_midnight(l) - 1;
    }
    return 0;
}

static struct pattern *parse_or(struct parser *ps);

static struct pattern *parse_atom(struct parser *ps)
{
    static const char regex_fields[] = "ftcCsihbB", state_fields[] = "ANOURFDTQ";
    struct pattern *n;
    char f;

    skip_blank(ps);
    if (*ps->p == '!') {
        ps->p++;
        if (++ps->depth > PAT_MAX_DEPTH)
            return fail(ps, "nested too deep"), NULL;
        n = node(ps, PN_NOT);
        n->a = parse_atom(ps);
        ps->depth--;
        if (n->a == NULL) {
            pattern_free(n);
            return NULL;
        }
        return n;
    }
    if (*ps->p == '(') {
        ps->p++;
        if (++ps->depth > PAT_MAX_DEPTH)
            return fail(ps, "nested too deep"), NULL;
        n = parse_or(ps);
        ps->depth--;
        if (n == NULL)
            return NULL;
        skip_blank(ps);
        if (*ps->p != ')') {
            pattern_free(n);
            return fail(ps, "a ( is not closed"), NULL;
        }
        ps->p++;
        return n;
    }
    if (*ps->p != '~')
        return fail(ps, *ps->p ? "expected ~X, ! or (" : "the pattern ends too soon"), NULL;
    f = ps->p[1];
    if (f && strchr(state_fields, f)) {
        ps->p += 2;
        n = node(ps, PN_STATE);
        n->field = f;
        return n;
    }
    if (f && strchr(regex_fields, f)) {
        struct buf re = BUF_INIT;
        int rc;

        ps->p += 2;
        if (read_arg(ps, &re) < 0) {
            buf_free(&re);
            return NULL;
        }
        if (re_too_costly(buf_cstr(&re))) {
            err_set(ps->e, ERR_PARSE, "pattern: regular expression '%s' is too costly "
                    "(stacked or large repetitions)", re.ptr);
            buf_free(&re);
            return NULL;
        }
        n = node(ps, PN_REGEX);
        n->field = f;
        rc = regcomp(&n->re, buf_cstr(&re),
                     REG_EXTENDED | REG_NOSUB | REG_NEWLINE | (has_upper(re.ptr) ? 0 : REG_ICASE));
        if (rc != 0) {
            char why[128];

            regerror(rc, &n->re, why, sizeof why);
            n->kind = PN_STATE;     /* nothing to regfree */
            pattern_free(n);
            err_set(ps->e, ERR_PARSE, "pattern: bad regular expression '%s': %s",
                    buf_cstr(&re), why);
            buf_free(&re);
            return NULL;
        }
        buf_free(&re);
        return n;
    }
    if (f == 'd' || f == 'r') {
        struct buf arg = BUF_INIT;

        ps->p += 2;
        if (read_arg(ps, &arg) < 0) {
            buf_free(&arg);
            return NULL;
        }
        n = node(ps, PN_DATE);
        n->field = f;
        if (date_range(buf_cstr(&arg), &n->lo, &n->hi) < 0) {
            err_set(ps->e, ERR_PARSE, "pattern: bad date '%s' (DD/MM/YYYY, D1-D2, D1-, -D2, "
                    "D*3d; <1w, >2m, =1d; units y m w d H M S)", arg.ptr);
            pattern_free(n);
            buf_free(&arg);
            return NULL;
        }
        buf_free(&arg);
        return n;
    }
    return fail(ps, "unknown ~ letter (~f ~t ~c ~C ~s ~i ~h ~b ~B ~d ~r ~A ~N ~O ~U ~R ~F ~D "
                "~T ~Q)"), NULL;
}

/* l K r, where r follows an operator of oplen bytes (0 for juxtaposition) and is parsed by
 * right; NULL, with l freed, when r fails or the pattern grows too long. */
static struct pattern *join(struct parser *ps, enum pnode k, struct pattern *l, size_t oplen,
                            struct pattern *(*right)(struct parser *))
{
    struct pattern *r, *n;

    if (ps->nodes > PAT_MAX_NODES) {
        pattern_free(l);
        return fail(ps, "too long"), NULL;
    }
    ps->p += oplen;
    if ((r = right(ps)) == NULL) {
        pattern_free(l);
        return NULL;
    }
    n = node(ps, k);
    n->a = l;
    n->b = r;
    return n;
}

/* Juxtaposition is "and": atoms until |, ) or the end. */
static struct pattern *parse_and(struct parser *ps)
{
    struct pattern *l = parse_atom(ps);

    while (l != NULL) {
        skip_blank(ps);
        if (*ps->p == '\0' || *ps->p == '|' || *ps->p == ')')
            return l;
        l = join(ps, PN_AND, l, 0, parse_atom);
    }
    return NULL;
}

static struct pattern *parse_or(struct parser *ps)
{
    struct pattern *l = parse_and(ps);

    while (l != NULL) {
        skip_blank(ps);
        if (*ps->p != '|')
            return l;
        l = join(ps, PN_OR, l, 1, parse_and);
    }
    return NULL;
}

bool pattern_is_pattern(const char *s)
{
    while (*s == ' ' || *s == '\t' || *s == '!' || *s == '(')
        s++;
    return *s == '~';
}

int pattern_compile(const char *s, struct pattern **out, struct err *e)
{
    struct parser ps = { s, s, 0, 0, e };
    struct pattern *p = parse_or(&ps);

    *out = NULL;
    if (p == NULL)
        return -1;
    skip_blank(&ps);
    if (*ps.p != '\0') {
        pattern_free(p);
        return fail(&ps, *ps.p == ')' ? "a ) has no (" : "unexpected text");
    }
    *out = p;
    return 0;
}

/* ---- matching ---- */

/* The message file, read once per match of one message (several ~b/~h leaves share it). */
struct msgtext {
    const struct idx *x;
    size_t i;
    bool loaded;
    struct buf b;
    size_t hlen;
};

static const char *text_of(struct msgtext *t)
{
    if (!t->loaded) {
        char *path = idx_path(t->x, t->i);
        struct err e;

        t->loaded = true;
        if (path == NULL || fs_read_file(path, &t->b, &e) < 0)
            buf_reset(&t->b);
        free(path);
        buf_cstr(&t->b);
        t->hlen = hdr_block_len(t->b.ptr, t->b.len);
    }
    return t->b.ptr;
}

static bool re_on(const regex_t *re, const char *s)
{
    return s && regexec(re, s, 0, NULL, 0) == 0;
}

/* A header of the message, decoded, matched by re. */
static bool header_match(const regex_t *re, struct msgtext *t, const char *name)
{
    const char *s = text_of(t);
    char *v = hdr_get(s, t->hlen, name);
    bool r = re_on(re, v);

    free(v);
    return r;
}

static bool match_regex(const struct pattern *p, const struct idx_msg *g, struct msgtext *t)
{
    switch (p->field) {
    case 'f': return re_on(&p->re, g->from);
    case 't': return re_on(&p->re, g->to);
    case 's': return re_on(&p->re, g->subject);
    case 'i': return re_on(&p->re, g->msgid);
    case 'c': return header_match(&p->re, t, "Cc");
    case 'C': return re_on(&p->re, g->to) || header_match(&p->re, t, "To") ||
                     header_match(&p->re, t, "Cc");
    case 'h': {
        const char *s = text_of(t);
        char *h = xstrndup(s, t->hlen);
        bool r;

        r = regexec(&p->re, h, 0, NULL, 0) == 0;
        free(h);
        return r;
    }
    case 'b':
        return re_on(&p->re, text_of(t) + t->hlen);
    case 'B':
    default:
        return re_on(&p->re, text_of(t));
    }
}

static bool match_state(char f, const struct idx_msg *g, bool (*tagged)(void *, uint32_t),
                        void *arg)
{
    bool unread = !(g->flags & MDF_SEEN);

    switch (f) {
    case 'A': return true;
    case 'N': return unread && g->in_new;
    case 'O': return unread && !g->in_new;
    case 'U': return unread;
    case 'R': return !unread;
    case 'F': return (g->flags & MDF_FLAGGED) != 0;
    case 'D': return (g->flags & MDF_TRASHED) != 0;
    case 'Q': return (g->flags & MDF_REPLIED) != 0;
    case 'T': return tagged != NULL && tagged(arg, g->id);
    default: return false;
    }
}

static bool eval(const struct pattern *p, const struct idx_msg *g, struct msgtext *t,
                 bool (*tagged)(void *, uint32_t), void *arg)
{
    switch (p->kind) {
    case PN_AND: return eval(p->a, g, t, tagged, arg) && eval(p->b, g, t, tagged, arg);
    case PN_OR: return eval(p->a, g, t, tagged, arg) || eval(p->b, g, t, tagged, arg);
    case PN_NOT: return !eval(p->a, g, t, tagged, arg);
    case PN_REGEX: return match_regex(p, g, t);
    case PN_DATE: {
        int64_t d = p->field == 'r' ? g->mtime : g->date;

        return d >= p->lo && d <= p->hi;
    }
    case PN_STATE: default: return match_state(p->field, g, tagged, arg);
    }
}

bool pattern_match(const struct pattern *p, const struct idx *x, size_t i,
                   bool (*tagged)(void *arg, uint32_t id), void *arg)
{
    struct msgtext t = { x, i, false, BUF_INIT, 0 };
    bool r = eval(p, idx_msg(x, i), &t, tagged, arg);

    buf_free(&t.b);
    return r;
}

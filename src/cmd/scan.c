/* `tern scan`: one line per message of a folder, in the list pane's order, from the index. */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <time.h>

#include "tern/buf.h"
#include "tern/cmd.h"
#include "tern/crypt.h"
#include "tern/index.h"
#include "tern/maildir.h"
#include "tern/parallel.h"
#include "tern/paths.h"
#include "tern/str.h"
#include "tern/thread.h"
#include "tern/view.h"
#include "tern/xalloc.h"

#define FROM_COLS 20


/* Append s cut or padded to exactly cols terminal columns (wide characters respected). */
static void add_cols(struct buf *out, const char *s, size_t cols)
{
    size_t used = 0, n = strlen(s);
    const unsigned char *p = (const unsigned char *)s;
    struct buf clean = BUF_INIT;

    /* Strings come from the cache file, which anyone may have crafted (its checksum is no
     * signature): anything but printable ASCII goes through the sanitiser here, at display. */
    for (size_t i = 0; i < n; i++) {
        if (p[i] < 0x20 || p[i] >= 0x7f) {
            str_sanitize(s, n, STR_SAN_LINE, &clean);
            p = (const unsigned char *)buf_cstr(&clean);
            n = clean.len;
            break;
        }
    }

    while (n > 0) {
        size_t l, w;

        if (*p >= 0x20 && *p < 0x7f) {     /* the common case: printable ASCII */
            if (used == cols)
                break;
            buf_addc(out, (char)*p++);
            used++;
            n--;
            continue;
        }
        l = utf8_seqlen(p, n);

        if (l == 0) {       /* the index holds valid UTF-8; be safe anyway */
            p++;
            n--;
            continue;
        }
        w = *p < 0x80 ? (*p >= 0x20 && *p != 0x7f) : utf8_width((const char *)p, l);
        if (used + w > cols)
            break;
        buf_add(out, p, l);
        used += w;
        p += l;
        n -= l;
    }
    while (used++ < cols)
        buf_addc(out, ' ');
    buf_free(&clean);
}

/* Append s, sanitised unless it is printable ASCII (cached strings are never trusted). */
static void add_text(struct buf *out, const char *s)
{
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p < 0x20 || *p >= 0x7f) {
            str_sanitize(s, strlen(s), STR_SAN_LINE, out);
            return;
        }
    }
    buf_adds(out, s);
}

/* Dates of consecutive lines are often on one day: keep the last day's bounds. */
struct day_cache {
    time_t start, end;
    char text[16];
};

static const char *fmt_day(struct day_cache *dc, int64_t t64)
{
    time_t t = (time_t)t64;
    struct tm tm;

    if (t >= dc->start && t < dc->end && dc->end != 0)
        return dc->text;
    if (localtime_r(&t, &tm) == NULL) {
        snprintf(dc->text, sizeof dc->text, "----------");
        dc->start = dc->end = 0;
        return dc->text;
    }
    if (strftime(dc->text, sizeof dc->text, "%Y-%m-%d", &tm) == 0)
        snprintf(dc->text, sizeof dc->text, "----------");
    tm.tm_hour = tm.tm_min = tm.tm_sec = 0;
    tm.tm_isdst = -1;
    dc->start = mktime(&tm);
    tm.tm_mday++;
    tm.tm_isdst = -1;
    dc->end = mktime(&tm);
    if (dc->start == (time_t)-1 || dc->end == (time_t)-1 || t < dc->start || t >= dc->end)
        dc->start = dc->end = 0;
    return dc->text;
}

/* The list pane's flag columns: D trashed, else N unread in new/, O unread in cur/;
 * ! flagged; r replied, f passed (forwarded); E encrypted, S signed. */
static void add_flags(struct buf *out, const struct idx_msg *m)
{
    char f[5];

    f[0] = (m->flags & MDF_TRASHED) ? 'D' : !(m->flags & MDF_SEEN) ? (m->in_new ? 'N' : 'O')
                                                                   : ' ';
    f[1] = (m->flags & MDF_FLAGGED) ? '!' : ' ';
    f[2] = (m->flags & MDF_REPLIED) ? 'r' : (m->flags & MDF_PASSED) ? 'f' : ' ';
    f[3] = (m->crypt & CRYPT_MARK_ENCRYPTED) ? 'E' : (m->crypt & CRYPT_MARK_SIGNED) ? 'S' : ' ';
    f[4] = ' ';
    buf_add(out, f, 5);
}

static void scan_line(struct buf *out, size_t num, const struct idx_msg *m,
                      struct day_cache *dc, const char *tree)
{
    char nb[24];
    size_t k = sizeof nb;

    nb[--k] = ' ';
    do {
        nb[--k] = (char)('0' + num % 10);
        num /= 10;
    } while (num > 0 && k > 0);
    while (k > sizeof nb - 7)
        nb[--k] = ' ';
    buf_add(out, nb + k, sizeof nb - k);
    add_flags(out, m);
    buf_adds(out, fmt_day(dc, m->date));
    buf_addc(out, ' ');
    add_cols(out, m->from[0] ? m->from : "(nobody)", FROM_COLS);
    buf_addc(out, ' ');
    if (tree && tree[0])
        buf_adds(out, tree);
    add_text(out, m->subject[0] ? m->subject : "(no subject)");
    buf_addc(out, '\n');
}

/* The listing is formatted a round of rows at a time; a large one on every core (each share
 * into a buffer of its own, written in order), its entries read beforehand so that
 * formatting only reads them. From how many rows, and how many a round: 16,384 and 65,536, or
 * $TERN_SCAN_SHARED and $TERN_SCAN_ROUND (the tests make both small). */
static size_t scan_shared(void)
{
    return (size_t)str_env_long("TERN_SCAN_SHARED", 1, 100000000, 16384);
}

struct scan_share {
    const struct idx *x;
    const uint32_t *rows;
    size_t lo, hi;
    struct buf out;
};

/* Rows come in date order, their entries and strings from wherever they were read: an
 * entry is fetched a few rows ahead, its From and Subject a little less far ahead, so that
 * the misses overlap (a million-row listing waited on memory for most of its time). */
#define SCAN_AHEAD 8

static void *scan_share_run(void *arg)
{
    struct scan_share *j = arg;
    struct day_cache dc = { 0, 0, "" };

    buf_reset(&j->out);
    for (size_t r = j->lo; r < j->hi; r++) {
        if (r + SCAN_AHEAD < j->hi)
            __builtin_prefetch(idx_msg(j->x, j->rows[r + SCAN_AHEAD]));
        if (r + SCAN_AHEAD / 2 < j->hi) {
            const struct idx_msg *m = idx_msg(j->x, j->rows[r + SCAN_AHEAD / 2]);

            __builtin_prefetch(m->from);
            __builtin_prefetch(m->subject);
        }
        scan_line(&j->out, r + 1, idx_msg(j->x, j->rows[r]), &dc, NULL);
    }
    return NULL;
}

static void print_rows(const struct idx *x, const struct idx_view *v)
{
    struct scan_share j[PAR_MAX_THREADS];
    size_t nt = v->n >= scan_shared() ? par_threads(PAR_MAX_THREADS) : 1;
    size_t round = (size_t)str_env_long("TERN_SCAN_ROUND", 1, 100000000, 65536);

    if (nt > 1)
        idx_read_all(x);        /* one thread fills entries as it meets them */
    for (size_t k = 0; k < nt; k++)
        j[k] = (struct scan_share){ x, v->v, 0, 0, BUF_INIT };
    for (size_t lo = 0; lo < v->n; lo += round) {
        size_t n = v->n - lo < round ? v->n - lo : round;

        for (size_t k = 0; k < nt; k++) {
            j[k].lo = lo + n * k / nt;
            j[k].hi = lo + n * (k + 1) / nt;
        }
        par_run(scan_share_run, j, sizeof j[0], nt);
        for (size_t k = 0; k < nt; k++)
            if (j[k].out.len)
                fwrite(j[k].out.ptr, 1, j[k].out.len, stdout);
    }
    for (size_t k = 0; k < nt; k++)
        buf_free(&j[k].out);
}

int cmd_scan(int argc, char **argv, const struct globals *g)
{
    static const struct option opts[] = {
        { "sort", required_argument, NULL, 's' },
        { "threads", no_argument, NULL, 't' },
        { "limit", required_argument, NULL, 'l' },
        { "no-index", no_argument, NULL, 'N' },
        { "stats", no_argument, NULL, 'S' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    enum idx_sort key = IDX_SORT_DATE;
    bool reverse = false, threads = false, stats = false;
    int oflags = 0, c, rc;
    const char *limit = NULL;
    struct config *cfg = NULL;
    struct idx_limit *lim = NULL;
    struct idx *x = NULL;
    struct idx_view v;
    struct err e;
    char *dir;
    struct buf out = BUF_INIT;
    struct day_cache dc = { 0, 0, "" };
    bool is_path;

    optind = 1;
    opterr = 0;
    while ((c = getopt_long(argc, argv, "+s:tl:h", opts, NULL)) != -1) {
        switch (c) {
        case 's':
            if (idx_sort_parse(optarg, &key, &reverse) < 0)
                return cmd_bad_usage(g, "unknown sort key '%s'", optarg);
            break;
        case 't':
            threads = true;
            break;
        case 'l':
            limit = optarg;
            break;
        case 'N':
            oflags |= IDX_NO_CACHE | IDX_NO_SAVE;
            break;
        case 'S':
            stats = true;
            break;
        case 'h':
            cmd_usage(stdout, g, true);
            return EX_OK;
        default:
            return cmd_bad_usage(g, "unknown option '%s'", argv[optind - 1]);
        }
    }
    if (optind != argc - 1)
        return cmd_bad_usage(g, NULL);
    if (limit && idx_limit_compile(limit, &lim, &e) < 0) {
        fprintf(stderr, "%s: %s\n", g->progname, e.msg);
        return TERN_EX_USAGE;
    }
    if ((rc = cmd_load_config(g, &cfg)) != 0) {
        idx_limit_free(lim);
        return rc;
    }
    {
        const char *f = argv[optind];

        is_path = f[0] == '/' || str_startswith(f, "./") || str_startswith(f, "../") ||
                  str_startswith(f, "~/") || strcmp(f, ".") == 0 || strcmp(f, "..") == 0;
        /* INBOX, Sent, Drafts and Trash exist from the first run */
        if (!is_path)
            maildir_ensure_roles(cfg, &e);
        dir = maildir_folder_path(cfg->mail_root, f);
    }
    if (!maildir_is_maildir(dir)) {
        fprintf(stderr, "%s: %s: not a Maildir (no folder '%s')\n", g->progname, dir,
                argv[optind]);
        free(dir);
        config_free(cfg);
        idx_limit_free(lim);
        return EX_NOINPUT;
    }
    if (idx_open(dir, oflags, &x, &e) < 0) {
        fprintf(stderr, "%s: %s\n", g->progname, e.msg);
        free(dir);
        config_free(cfg);
        idx_limit_free(lim);
        return cmd_exit_code(e.cls);
    }
    idx_view_init(&v);
    idx_view_build(x, &v, key, reverse, lim);
    if (threads) {
        struct thread_view tv;
        char tree[512];

        thread_build(x, v.v, v.n, key, reverse, &tv);
        for (size_t r = 0; r < tv.n; r++) {
            thread_prefix(&tv, r, tree, sizeof tree);
            scan_line(&out, r + 1, idx_msg(x, tv.rows[r].msg), &dc, tree);
            if (out.len >= 65536) {
                fwrite(out.ptr, 1, out.len, stdout);
                buf_reset(&out);
            }
        }
        thread_view_free(&tv);
    } else {
        print_rows(x, &v);
    }
    if (out.len)
        fwrite(out.ptr, 1, out.len, stdout);
    rc = EX_OK;
    if (fflush(stdout) != 0 || ferror(stdout)) {
        if (errno != EPIPE)     /* `tern scan | head` is not an error worth a message */
            fprintf(stderr, "%s: write error: %s\n", g->progname, strerror(errno));
        rc = EX_IOERR;
    }
    if (stats) {
        const struct idx_stats *s = idx_stats(x);
        struct idx_counts c;

        idx_counts(x, &c);      /* idx_count has the gone entries not yet dropped too */
        fprintf(stderr, "%s: %zu messages, %zu shown; cached %zu, parsed %zu, renamed %zu, "
                        "removed %zu, vanished %zu; directories %s; cache %s\n",
                g->progname, c.total, v.n, s->cached, s->parsed, s->renamed, s->removed,
                s->vanished, s->listed ? "read" : "unchanged",
                s->cache_bad ? (s->unsaved ? "rejected, not written" : "rejected, rewritten")
                             : s->unsaved ? "not written" : "ok");
    }
    buf_free(&out);
    idx_view_free(&v);
    idx_close(x);
    idx_limit_free(lim);
    free(dir);
    config_free(cfg);
    return rc;
}

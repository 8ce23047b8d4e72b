/*
 * New messages read into entries: the header block of each file (no more of the file than
 * it needs), on every core once there are many, while the caller is still listing the
 * directory: a cold build reads files during the listing instead of after it.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "index_int.h"
#include "tern/buf.h"
#include "tern/codec.h"
#include "tern/crypt.h"
#include "tern/fsutil.h"
#include "tern/header.h"
#include "tern/index.h"
#include "tern/maildir.h"
#include "tern/parallel.h"
#include "tern/str.h"
#include "tern/xalloc.h"

/* The header fields an entry is made from: parse_message keeps the first of each. */
enum kept_field { K_FROM, K_TO, K_CC, K_SUBJECT, K_DATE, K_MSGID, K_IRT, K_REFS, K_CTYPE, K_N };

static const struct {
    const char *name;
    size_t len;
} kept_names[K_N] = {
    [K_FROM] = { "from", 4 }, [K_TO] = { "to", 2 }, [K_CC] = { "cc", 2 },
    [K_SUBJECT] = { "subject", 7 }, [K_DATE] = { "date", 4 }, [K_MSGID] = { "message-id", 10 },
    [K_IRT] = { "in-reply-to", 11 }, [K_REFS] = { "references", 10 },
    [K_CTYPE] = { "content-type", 12 },
};

/* Which kept field f is, or K_N. */
static enum kept_field kept_field(const struct hdr_field *f)
{
    for (int k = 0; k < K_N; k++)
        if (f->name_len == kept_names[k].len &&
            str_ncasecmp(f->name, kept_names[k].name, kept_names[k].len) == 0)
            return (enum kept_field)k;
    return K_N;
}

/* Ids kept from a References value: the thread's root and the nearest ancestors. */
#define REFS_KEEP_LAST 4

/*
 * Join the ids of a References value with single spaces, keeping the first and the last
 * REFS_KEEP_LAST: threading needs the parent (the last id) and the root to group a thread
 * whose middle is missing; long reference chains would otherwise dominate the index size.
 */
static char *refs_join(const char *v, size_t len)
{
    char **ids;
    size_t n = hdr_msgids(v, len, &ids);
    struct buf b = BUF_INIT;

    for (size_t i = 0; i < n; i++) {
        if (i > 0 && i + REFS_KEEP_LAST < n)
            continue;
        if (b.len)
            buf_addc(&b, ' ');
        buf_adds(&b, ids[i]);
    }
    hdr_msgids_free(ids, n);
    return n ? buf_detach(&b) : NULL;
}

static char *first_id(const char *v, size_t len)
{
    char **ids;
    size_t n = hdr_msgids(v, len, &ids);
    char *r = n ? xstrdup(ids[0]) : NULL;

    hdr_msgids_free(ids, n);
    return r;
}

/* Remove spaces and controls from an id (they would break the space-separated list). */
static char *id_clean(char *s)
{
    if (s == NULL)
        return NULL;
    for (char *p = s; *p; p++)
        if ((unsigned char)*p <= ' ' || *p == 0x7f)
            *p = '_';
    return s;
}

#define ADDRS_KEEP 8

/* Append a mailbox as one word of valid UTF-8 without controls (the index's promise). */
static void add_mailbox(struct buf *b, const char *mb)
{
    size_t mark = b->len, n = strlen(mb);

    if (!codec_utf8_valid(mb, n)) {
        codec_utf8_repair(mb, n, b);
    } else {
        buf_add(b, mb, n);
    }
    for (size_t i = mark; i < b->len; i++)
        if ((unsigned char)b->ptr[i] <= ' ' || b->ptr[i] == 0x7f)
            b->ptr[i] = '_';
}

/* The first mailbox with an '@' of a parsed From, cleaned for the index; NULL when none. */
static char *first_mailbox(const struct addr *a, size_t n)
{
    const char *mb = addr_first_mailbox_of(a, n);
    struct buf b = BUF_INIT;

    if (mb == NULL)
        return NULL;
    add_mailbox(&b, mb);
    return buf_detach(&b);
}

/* The mailboxes of To and Cc (the first ADDRS_KEEP) from their parsed lists, space-separated,
 * for to: searches; NULL when there are none. */
static char *mailboxes(struct addr *const as[2], const size_t ns[2])
{
    struct buf b = BUF_INIT;
    size_t kept = 0;

    for (int k = 0; k < 2; k++)
        for (size_t i = 0; i < ns[k] && kept < ADDRS_KEEP; i++) {
            if (as[k][i].mailbox == NULL || as[k][i].mailbox[0] == '\0')
                continue;
            if (b.len)
                buf_addc(&b, ' ');
            add_mailbox(&b, as[k][i].mailbox);
            kept++;
        }
    return b.len ? buf_detach(&b) : (buf_free(&b), NULL);
}

/* From, To and Cc, each parsed once: the list columns' names, From's address and the
 * recipients' addresses. */
static void fill_addresses(struct pctx *x, const struct hdr_field *from,
                           const struct hdr_field *to, const struct hdr_field *cc,
                           struct idx_msg *m)
{
    const struct hdr_field *fs[3] = { from, to, cc };
    struct addr *as[3] = { NULL, NULL, NULL };
    size_t ns[3] = { 0, 0, 0 };

    for (int k = 0; k < 3; k++)
        if (fs[k]->name)
            addr_parse_list(fs[k]->value, fs[k]->value_len, &as[k], &ns[k]);
    /* the addresses first: a display name is taken out of its list */
    m->from_addr = from->name ? idx_arena_take(x, first_mailbox(as[0], ns[0])) : "";
    m->to_addrs = idx_arena_take(x, mailboxes(as + 1, ns + 1));
    m->from = from->name ? idx_arena_take(x, addr_display_of(as[0], ns[0], from->value,
                                                             from->value_len))
                         : "";
    m->to = to->name ? idx_arena_take(x, addr_display_of(as[1], ns[1], to->value,
                                                         to->value_len))
                     : "";
    for (int k = 0; k < 3; k++)
        addr_list_free(as[k], ns[k]);
}

/* The first of each kept field of the header block in buf (got bytes) into k; false when the
 * block goes on past got (then the last field may be cut: read more and look again). */
static bool kept_fields(const char *buf, size_t got, struct hdr_field *k)
{
    struct hdr_field f;
    size_t pos = 0, block;

    memset(k, 0, K_N * sizeof *k);
    while (hdr_next_end(buf, got, &pos, &f, &block)) {
        enum kept_field i = kept_field(&f);

        if (i != K_N && k[i].name == NULL)
            k[i] = f;
    }
    return block > 0;
}

#define HDR_FIRST_READ 4096     /* most header blocks fit: read the body only when not */
#define HDR_MAX_READ (1 << 20)

/*
 * Fill m from the file at path (reading only as much as the header block needs).
 * Returns 0, 1 when the file is gone (renamed or removed since readdir), 2 when it is not a
 * regular file (not a message), -1 when it cannot be read.
 */
static int parse_message(struct pctx *x, int dirfd, const char *name, struct idx_msg *m)
{
    /* openat: no path walk per message (a measurable share of a cold scan) */
    int fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
    struct stat st;
    size_t got = 0;
    bool eof = false;
    struct hdr_field k[K_N];
    const struct hdr_field *ff = &k[K_FROM], *ft = &k[K_TO], *fc = &k[K_CC], *fs = &k[K_SUBJECT],
        *fd_ = &k[K_DATE], *fm = &k[K_MSGID], *fi = &k[K_IRT], *fr = &k[K_REFS],
        *fct = &k[K_CTYPE];
    time_t t;

    if (fd < 0 && errno == ELOOP)   /* a symlinked message is fine; O_NONBLOCK: no FIFO hang */
        fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0)
        return errno == ENOENT ? 1 : -1;
    if (fstat(fd, &st) < 0) {
        close(fd);
        return -1;
    }
    if (!S_ISREG(st.st_mode)) {
        close(fd);
        return 2;
    }
    if (x->rbuf == NULL) {
        x->rbuf_cap = HDR_FIRST_READ;
        x->rbuf = xmalloc(x->rbuf_cap);
    }
    for (;;) {
        ssize_t r = read(fd, x->rbuf + got, x->rbuf_cap - got);

        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            close(fd);
            return -1;
        }
        if (r == 0)
            eof = true;
        got += (size_t)r;
        if (kept_fields(x->rbuf, got, k) || eof || got >= HDR_MAX_READ)
            break;
        if (got == x->rbuf_cap) {
            x->rbuf_cap *= 2;
            x->rbuf = xrealloc(x->rbuf, x->rbuf_cap);
        }
    }
    close(fd);
    fill_addresses(x, ff, ft, fc, m);
    m->subject = fs->name ? idx_arena_take(x, hdr_decode(fs->value, fs->value_len)) : "";
    m->msgid = fm->name ? idx_arena_take(x, id_clean(hdr_msgid(fm->value, fm->value_len))) : "";
    m->in_reply_to = fi->name ? idx_arena_take(x, id_clean(first_id(fi->value, fi->value_len)))
                              : "";
    m->references = fr->name ? idx_arena_take(x, refs_join(fr->value, fr->value_len)) : "";
    /* the signed/encrypted mark comes from the Content-Type alone: nothing is decrypted */
    m->crypt = fct->name ? (uint8_t)crypt_mark(fct->value, fct->value_len) : 0;
    m->mtime = (int64_t)st.st_mtime;
    m->size = (uint64_t)st.st_size;
    if (fd_->name && hdr_parse_date(fd_->value, fd_->value_len, &t) == 0)
        m->date = (int64_t)t;
    else
        m->date = m->mtime;
    return 0;
}


/* ---- the feed: names in, entries out, in the order the names came ---- */

#define FEED_SEG 4096           /* names a segment; a segment never moves once made */
#define FEED_CLAIM 64           /* names a worker takes at a time: shares stay even */
#define FEED_PUBLISH 256        /* names added between two wake-ups of the workers */
#define FEED_THREADS_FROM 1000  /* threads pay for themselves from this many files on */

struct feed_seg {
    const char *name[FEED_SEG];     /* in the feed's arena, which the entries keep */
    bool in_new[FEED_SEG];
    signed char rc[FEED_SEG];       /* parse_message's */
    struct idx_msg out[FEED_SEG];
};

struct feed_worker {
    struct idx_feed *f;
    struct pctx p;                  /* its strings, spliced into the index's at the end */
};

struct idx_feed {
    struct idx *x;
    int dfd[2];                     /* new/, cur/: opened with the first name */
    struct pctx names;
    struct feed_seg **seg;
    size_t nseg;
    size_t added;                   /* written by the caller alone */
    pthread_mutex_t mu;             /* guards the rest, and seg's growth */
    pthread_cond_t more;
    size_t published;               /* the first added names, visible to the workers */
    size_t claimed;
    bool closed, stop;
    bool threads;
    struct par par;
    struct feed_worker w[PAR_MAX_THREADS];
};

struct idx_feed *idx_feed_start(struct idx *x)
{
    struct idx_feed *f = xcalloc(1, sizeof *f);

    f->x = x;
    f->dfd[0] = f->dfd[1] = -1;
    pthread_mutex_init(&f->mu, NULL);
    pthread_cond_init(&f->more, NULL);
    for (size_t k = 0; k < PAR_MAX_THREADS; k++)
        f->w[k].f = f;
    return f;
}

/* Take the next names to read: false when there are no more. */
static bool feed_claim(struct idx_feed *f, struct feed_seg **s, size_t *lo, size_t *hi)
{
    size_t n, off;

    pthread_mutex_lock(&f->mu);
    while (f->claimed == f->published && !f->closed && !f->stop)
        pthread_cond_wait(&f->more, &f->mu);
    if (f->claimed == f->published || f->stop) {
        pthread_mutex_unlock(&f->mu);
        return false;
    }
    off = f->claimed % FEED_SEG;
    n = f->published - f->claimed;
    if (n > FEED_CLAIM)
        n = FEED_CLAIM;
    if (n > FEED_SEG - off)
        n = FEED_SEG - off;
    *s = f->seg[f->claimed / FEED_SEG];
    *lo = off;
    *hi = off + n;
    f->claimed += n;
    pthread_mutex_unlock(&f->mu);
    return true;
}

/* Read one file into its slot; an unreadable one is listed with what its name tells, so that
 * mail is never hidden (the date is the delivery time in the name). */
static void feed_read(struct idx_feed *f, struct pctx *p, struct feed_seg *s, size_t i)
{
    struct idx_msg *m = &s->out[i];
    int fd = f->dfd[s->in_new[i] ? 0 : 1];

    memset(m, 0, sizeof *m);
    s->rc[i] = (signed char)(fd < 0 ? 1 : parse_message(p, fd, s->name[i], m));
    if (s->rc[i] == -1) {
        memset(m, 0, sizeof *m);
        m->from = m->to = m->msgid = m->in_reply_to = m->references = "";
        m->from_addr = m->to_addrs = "";
        m->subject = "(unreadable message file)";
        m->date = m->mtime = strtoll(s->name[i], NULL, 10);
        s->rc[i] = 0;
    }
    if (s->rc[i] == 0)
        idx_msg_set_name(m, s->name[i], s->in_new[i]);
}

static void *feed_work(void *arg)
{
    struct feed_worker *w = arg;
    struct feed_seg *s;
    size_t lo, hi;

    while (feed_claim(w->f, &s, &lo, &hi))
        for (size_t i = lo; i < hi; i++)
            feed_read(w->f, &w->p, s, i);
    return NULL;
}

/* Let the workers see every name added so far. */
static void feed_publish(struct idx_feed *f, bool close)
{
    pthread_mutex_lock(&f->mu);
    f->published = f->added;
    f->closed = close;
    pthread_cond_broadcast(&f->more);
    pthread_mutex_unlock(&f->mu);
}

/* The directories the files are opened in: only for a feed that gets names (most listings
 * of a refresh find none), before any thread reads them. */
static void feed_open_dirs(struct idx_feed *f)
{
    static const char *const subs[] = { "new", "cur" };

    for (int s = 0; s < 2; s++) {
        char *path = fs_join(f->x->dir, subs[s]);

        f->dfd[s] = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        free(path);
    }
}

void idx_feed_add(struct idx_feed *f, const char *name, size_t len, bool in_new)
{
    size_t off = f->added % FEED_SEG;
    struct feed_seg *s;

    if (f->added == 0)
        feed_open_dirs(f);
    if (off == 0) {
        s = xmalloc(sizeof *s);
        pthread_mutex_lock(&f->mu);     /* a worker may be reading seg */
        f->seg = xrealloc(f->seg, (f->nseg + 1) * sizeof *f->seg);
        f->seg[f->nseg++] = s;
        pthread_mutex_unlock(&f->mu);
    }
    s = f->seg[f->added / FEED_SEG];
    s->name[off] = idx_arena_strn(&f->names, name, len);
    s->in_new[off] = in_new;
    f->added++;
    if (f->added == FEED_THREADS_FROM) {
        f->threads = true;
        par_start(&f->par, feed_work, f->w, sizeof f->w[0], par_threads(PAR_MAX_THREADS));
    }
    if (f->threads && f->added % FEED_PUBLISH == 0)
        feed_publish(f, false);
}

/* Wait for the workers (reading what is left on this thread too). */
static void feed_drain(struct idx_feed *f, bool stop)
{
    pthread_mutex_lock(&f->mu);
    f->stop = stop;
    pthread_mutex_unlock(&f->mu);
    feed_publish(f, true);
    if (!f->threads)
        par_start(&f->par, feed_work, f->w, sizeof f->w[0], 1);
    par_finish(&f->par);
}

static void feed_free(struct idx_feed *f)
{
    for (size_t k = 0; k < f->nseg; k++)
        free(f->seg[k]);
    free(f->seg);
    for (int s = 0; s < 2; s++)
        if (f->dfd[s] >= 0)
            close(f->dfd[s]);
    pthread_cond_destroy(&f->more);
    pthread_mutex_destroy(&f->mu);
    free(f);
}

void idx_feed_finish(struct idx_feed *f, bool *changed)
{
    struct idx *x = f->x;

    feed_drain(f, false);
    for (size_t k = 0; k < PAR_MAX_THREADS; k++)
        idx_arena_splice(&x->p, &f->w[k].p);
    idx_arena_splice(&x->p, &f->names);
    idx_reserve(x, x->n + f->added);
    for (size_t i = 0; i < f->added; i++) {
        struct feed_seg *s = f->seg[i / FEED_SEG];
        size_t off = i % FEED_SEG;

        if (s->rc[off] == 0) {
            idx_append(x, &s->out[off]);
        } else if (s->rc[off] == 1) {
            /* gone between readdir and open (renamed or removed by someone else): leave it
             * out and make the next refresh read the directory (the watch reports where
             * it went) */
            x->stats.vanished++;
            if (x->watch == NULL)
                x->have_stamp = false;
        }
        *changed = true;
        if (off == FEED_SEG - 1 || i + 1 == f->added) {
            free(s);            /* copied out: the peak holds one segment, not two copies */
            f->seg[i / FEED_SEG] = NULL;
        }
    }
    feed_free(f);
}

void idx_feed_abandon(struct idx_feed *f)
{
    feed_drain(f, true);
    for (size_t k = 0; k < PAR_MAX_THREADS; k++) {
        free(f->w[k].p.rbuf);
        idx_arena_free(&f->w[k].p);
    }
    idx_arena_free(&f->names);
    feed_free(f);
}

void idx_add_files(struct idx *x, struct idx_pending *p, size_t n, bool *changed)
{
    struct idx_feed *f;

    if (n == 0)
        return;
    f = idx_feed_start(x);
    for (size_t i = 0; i < n; i++) {
        idx_feed_add(f, p[i].name, strlen(p[i].name), p[i].in_new);
        free(p[i].name);
    }
    idx_feed_finish(f, changed);
}

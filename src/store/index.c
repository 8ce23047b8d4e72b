/*
 * The per-folder index: entries for the message list, kept in a cache file that a warm open
 * maps and checks instead of reading messages; incremental update against the directory.
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "tern/buf.h"
#include "tern/crypt.h"
#include "tern/fsutil.h"
#include "tern/header.h"
#include "tern/index.h"
#include "tern/maildir.h"
#include "tern/str.h"
#include "tern/xalloc.h"

#define IDX_FILE ".tern-index"

/* ---- the cache file format (host byte order; a foreign machine's file is rebuilt) ----
 *
 *   struct idx_fhdr   64 bytes
 *   struct idx_frec   count x 64 bytes, in directory order
 *   string table      strtab_size bytes of NUL-terminated UTF-8; offset 0 is ""
 *
 * Every record field that names a string is an offset into the table; the table ends with
 * a NUL, so any in-range offset is a valid C string. The checksum covers records and table.
 * A warm open is: stat two directories, read the file, check sizes and checksum, and turn offsets
 * into pointers; no per-message parsing.
 */
#define IDX_MAGIC "TERNIDX4"
#define IDX_ENDIAN 0x01020304u

struct idx_fhdr {
    char magic[8];
    uint32_t endian;
    uint32_t rec_size;
    uint32_t count;
    uint32_t reserved0;
    uint64_t strtab_size;
    int64_t new_mtime;       /* the directory stamp the records reflect */
    int64_t cur_mtime;
    int64_t listed_at;       /* wall clock (ns) when the directories were read */
    uint64_t checksum;
};

enum { F_NAME, F_FROM, F_TO, F_SUBJECT, F_MSGID, F_IRT, F_REFS, F_NSTR };

struct idx_frec {
    uint32_t str[F_NSTR];
    uint32_t bits;           /* bit 0: in new/; bits 1-2: CRYPT_MARK_* */
    int64_t date;
    int64_t mtime;
    uint64_t size;
    uint64_t reserved;
};

_Static_assert(sizeof(struct idx_fhdr) == 64, "header layout");
_Static_assert(sizeof(struct idx_frec) == 64, "record layout");

/* ---- a streaming 64-bit hash over 8-byte words (fast enough to check 20 MB per open) ---- */

struct csum {
    uint64_t h;
    unsigned char carry[8];
    size_t ncarry;
    uint64_t total;
};

static void csum_init(struct csum *c)
{
    c->h = 0x243F6A8885A308D3ull;
    c->ncarry = 0;
    c->total = 0;
}

static inline uint64_t csum_mix(uint64_t h, uint64_t w)
{
    h ^= w;
    h *= 0x9E3779B97F4A7C15ull;
    h ^= h >> 29;
    return h;
}

static void csum_add(struct csum *c, const void *p, size_t n)
{
    const unsigned char *s = p;

    c->total += n;
    while (c->ncarry > 0 && n > 0) {
        c->carry[c->ncarry++] = *s++;
        n--;
        if (c->ncarry == 8) {
            uint64_t w;

            memcpy(&w, c->carry, 8);
            c->h = csum_mix(c->h, w);
            c->ncarry = 0;
        }
    }
    while (n >= 8) {
        uint64_t w;

        memcpy(&w, s, 8);
        c->h = csum_mix(c->h, w);
        s += 8;
        n -= 8;
    }
    while (n > 0) {
        c->carry[c->ncarry++] = *s++;
        n--;
    }
}

static uint64_t csum_final(struct csum *c)
{
    uint64_t w = 0;

    memcpy(&w, c->carry, c->ncarry);
    return csum_mix(csum_mix(c->h, w), c->total);
}

/* ---- memory: strings live in the mapped file or in chunks that never move ---- */

struct chunk {
    struct chunk *next;
    size_t used, cap;
    char data[];
};

/* What parsing needs of its own: string storage and a read buffer (one per thread). */
struct pctx {
    struct chunk *chunks;
    char *rbuf;
    size_t rbuf_cap;
};

struct idx {
    char *dir;
    char *cache_path;
    int oflags;
    struct idx_msg *m;
    size_t n, cap;
    uint32_t next_id;
    struct pctx p;
    void *map;
    size_t map_len;
    struct maildir_stamp stamp;
    int64_t listed_at;
    bool have_stamp;
    bool dirty;
    struct idx_stats stats;
};

static const char *arena_strn(struct pctx *x, const char *s, size_t n)
{
    struct chunk *c = x->chunks;
    char *p;

    if (n == 0)
        return "";
    if (c == NULL || c->cap - c->used < n + 1) {
        size_t cap = n + 1 > 65536 ? n + 1 : 262144;

        c = xmalloc(sizeof *c + cap);
        c->used = 0;
        c->cap = cap;
        if (x->chunks && n + 1 > 65536) {
            /* a big string gets its own chunk behind the current one */
            c->next = x->chunks->next;
            x->chunks->next = c;
        } else {
            c->next = x->chunks;
            x->chunks = c;
        }
    }
    p = c->data + c->used;
    memcpy(p, s, n);
    p[n] = '\0';
    c->used += n + 1;
    return p;
}

static const char *arena_str(struct pctx *x, const char *s)
{
    return arena_strn(x, s, strlen(s));
}

/* Take ownership of a malloc'd string: copy into the arena, free it. */
static const char *arena_take(struct pctx *x, char *s)
{
    const char *r = s ? arena_str(x, s) : "";

    free(s);
    return r;
}

static void arena_free(struct pctx *x)
{
    while (x->chunks) {
        struct chunk *next = x->chunks->next;

        free(x->chunks);
        x->chunks = next;
    }
}

static void idx_unmap(struct idx *x)
{
    free(x->map);
    x->map = NULL;
    x->map_len = 0;
}

static struct idx_msg *idx_append(struct idx *x)
{
    struct idx_msg *m;

    if (x->n == x->cap) {
        x->cap = x->cap ? x->cap * 2 : 1024;
        x->m = xreallocarray(x->m, x->cap, sizeof *x->m);
    }
    m = &x->m[x->n++];
    memset(m, 0, sizeof *m);
    m->id = x->next_id++;
    return m;
}

/* Set name, uniq_len, flags and in_new from a file name (name already stable storage). */
static void msg_set_name(struct idx_msg *m, const char *name, bool in_new)
{
    size_t ul;
    const char *fl = maildir_name_split(name, &ul);

    m->name = name;
    m->uniq_len = (uint16_t)(ul > UINT16_MAX ? UINT16_MAX : ul);
    m->flags = maildir_flags_bits(fl);
    m->in_new = in_new;
}

struct idx *idx_new_empty(const char *dir)
{
    struct idx *x = xcalloc(1, sizeof *x);

    x->dir = xstrdup(dir);
    x->cache_path = idx_cache_path(dir);
    x->next_id = 1;
    return x;
}

char *idx_cache_path(const char *dir)
{
    return fs_join(dir, IDX_FILE);
}

/*
 * Where the cache of a folder we cannot write to lives (a read-only archive):
 * $XDG_CACHE_HOME/tern/index/ (default ~/.cache) with the folder's real path as the name,
 * '/' written as '%'. NULL when there is no such place.
 */
static char *idx_fallback_path(const char *dir)
{
    const char *xdg = getenv("XDG_CACHE_HOME"), *home = getenv("HOME");
    char *real = realpath(dir, NULL), *base, *sub;
    struct buf name = BUF_INIT;
    struct err e;

    if (xdg && *xdg == '/')
        base = fs_join(xdg, "tern/index");
    else if (home && *home == '/')
        base = fs_join(home, ".cache/tern/index");
    else {
        free(real);
        return NULL;
    }
    for (const char *p = real ? real : dir; *p; p++)
        buf_addc(&name, *p == '/' ? '%' : *p);
    sub = fs_join(base, buf_cstr(&name));
    buf_free(&name);
    free(real);
    if (fs_mkdir_p(base, 0700, &e) < 0) {
        free(base);
        free(sub);
        return NULL;
    }
    free(base);
    return sub;
}

void idx_close(struct idx *x)
{
    if (x == NULL)
        return;
    free(x->m);
    arena_free(&x->p);
    idx_unmap(x);
    free(x->p.rbuf);
    free(x->dir);
    free(x->cache_path);
    free(x);
}

size_t idx_count(const struct idx *x)
{
    return x->n;
}

const struct idx_msg *idx_msg(const struct idx *x, size_t i)
{
    return &x->m[i];
}

long idx_find_id(const struct idx *x, uint32_t id)
{
    /* ids grow with position (appends get new ids, compaction keeps order): binary search */
    size_t lo = 0, hi = x->n;

    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;

        if (x->m[mid].id < id)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo < x->n && x->m[lo].id == id && !x->m[lo].gone)
        return (long)lo;
    return -1;
}

static char *msg_rel(const struct idx_msg *m)
{
    struct buf b = BUF_INIT;

    buf_adds(&b, m->in_new ? "new/" : "cur/");
    buf_adds(&b, m->name);
    return buf_detach(&b);
}

char *idx_path(const struct idx *x, size_t i)
{
    struct buf b = BUF_INIT;

    buf_printf(&b, "%s/%s/%s", x->dir, x->m[i].in_new ? "new" : "cur", x->m[i].name);
    return buf_detach(&b);
}

const struct idx_stats *idx_stats(const struct idx *x)
{
    return &x->stats;
}

/* ---- loading the cache ---- */

int idx_load_image(struct idx *x, const void *p, size_t n, bool verify_checksum,
                   struct err *e)
{
    struct idx_fhdr h;
    const char *base = p;
    const char *strtab;
    size_t recs_len;

    if (n < sizeof h)
        return err_set(e, ERR_PARSE, "index: truncated header");
    memcpy(&h, p, sizeof h);
    if (memcmp(h.magic, IDX_MAGIC, 8) != 0 || h.endian != IDX_ENDIAN ||
        h.rec_size != sizeof(struct idx_frec))
        return err_set(e, ERR_PARSE, "index: not a tern index of this version");
    /* count < 2^32 and records are 64 bytes: no overflow on 64-bit size_t; n bounds it */
    if ((uint64_t)h.count > (uint64_t)(n / sizeof(struct idx_frec)))
        return err_set(e, ERR_PARSE, "index: size mismatch (truncated?)");
    recs_len = (size_t)h.count * sizeof(struct idx_frec);
    if (h.strtab_size > n || h.strtab_size == 0 || n - sizeof h < recs_len ||
        n - sizeof h - recs_len != h.strtab_size)
        return err_set(e, ERR_PARSE, "index: size mismatch (truncated?)");
    strtab = base + sizeof h + recs_len;
    if (strtab[0] != '\0' || strtab[h.strtab_size - 1] != '\0')
        return err_set(e, ERR_PARSE, "index: bad string table");
    if (verify_checksum) {
        struct csum c;

        csum_init(&c);
        csum_add(&c, base + sizeof h, n - sizeof h);
        if (csum_final(&c) != h.checksum)
            return err_set(e, ERR_PARSE, "index: checksum mismatch");
    }
    if (x->cap < x->n + h.count) {
        x->cap = x->n + h.count;
        x->m = xreallocarray(x->m, x->cap, sizeof *x->m);
    }
    for (uint32_t i = 0; i < h.count; i++) {
        struct idx_frec r;
        struct idx_msg *m;
        const char *s[F_NSTR];

        memcpy(&r, base + sizeof h + (size_t)i * sizeof r, sizeof r);
        for (int f = 0; f < F_NSTR; f++) {
            if (r.str[f] >= h.strtab_size)
                goto bad;
            s[f] = strtab + r.str[f];
        }
        if (s[F_NAME][0] == '\0' || strchr(s[F_NAME], '/') != NULL)
            goto bad;
        m = idx_append(x);
        msg_set_name(m, s[F_NAME], (r.bits & 1) != 0);
        m->crypt = (uint8_t)((r.bits >> 1) & 3);
        m->from = s[F_FROM];
        m->to = s[F_TO];
        m->subject = s[F_SUBJECT];
        m->msgid = s[F_MSGID];
        m->in_reply_to = s[F_IRT];
        m->references = s[F_REFS];
        m->date = r.date;
        m->mtime = r.mtime;
        m->size = r.size;
    }
    x->stamp.new_mtime = h.new_mtime;
    x->stamp.cur_mtime = h.cur_mtime;
    x->listed_at = h.listed_at;
    x->have_stamp = true;
    return 0;
bad:
    x->n = 0;
    return err_set(e, ERR_PARSE, "index: record out of range");
}

/* Map and load the cache file; on any problem leave x empty (the caller rebuilds). */
static void idx_load_cache(struct idx *x)
{
    int fd = open(x->cache_path, O_RDONLY | O_CLOEXEC);
    struct stat st;
    struct err e;

    if (fd < 0)
        return;
    if (fstat(fd, &st) < 0 || st.st_size < (off_t)sizeof(struct idx_fhdr)) {
        close(fd);
        x->stats.cache_bad = true;
        return;
    }
    /* Read, not mapped: another program (or a second tern) may truncate the file in place
     * while it is open, and a mapping would then end this process with SIGBUS. A file that
     * shrinks while being read is simply a bad cache. */
    x->map_len = (size_t)st.st_size;
    x->map = xmalloc(x->map_len);
    {
        size_t got = 0;

        while (got < x->map_len) {
            ssize_t r = pread(fd, (char *)x->map + got, x->map_len - got, (off_t)got);

            if (r < 0 && errno == EINTR)
                continue;
            if (r <= 0)
                break;
            got += (size_t)r;
        }
        close(fd);
        if (got < x->map_len) {
            idx_unmap(x);
            x->stats.cache_bad = true;
            return;
        }
    }
    if (idx_load_image(x, x->map, x->map_len, true, &e) < 0) {
        x->n = 0;
        x->have_stamp = false;
        idx_unmap(x);
        x->stats.cache_bad = true;
        return;
    }
    x->stats.cached = x->n;
}

/* ---- reading one message's header block ---- */

static bool field_is(const struct hdr_field *f, const char *name, size_t len)
{
    return f->name_len == len && str_ncasecmp(f->name, name, len) == 0;
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

#define HDR_FIRST_READ 8192
#define HDR_MAX_READ (1 << 20)

/*
 * Fill m from the file at path (reading only as much as the header block needs).
 * Returns 0, 1 when the file is gone (renamed or removed since readdir), 2 when it is not a
 * regular file (not a message), -1 when it cannot be read.
 */
static pthread_mutex_t decode_lock = PTHREAD_MUTEX_INITIALIZER;

static int parse_message(struct pctx *x, int dirfd, const char *name, struct idx_msg *m)
{
    /* openat: no path walk per message (a measurable share of a cold scan) */
    int fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
    struct stat st;
    size_t got = 0, hl;
    bool eof = false;
    struct hdr_field fct = { 0 };
    struct hdr_field f, ff = { 0 }, ft = { 0 }, fs = { 0 }, fd_ = { 0 }, fm = { 0 }, fi = { 0 },
        fr = { 0 };
    size_t pos = 0;
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
        hl = hdr_block_len(x->rbuf, got);
        if (eof || hl < got || got >= HDR_MAX_READ)
            break;
        if (got == x->rbuf_cap) {
            x->rbuf_cap *= 2;
            x->rbuf = xrealloc(x->rbuf, x->rbuf_cap);
        }
    }
    close(fd);
    while (hdr_next(x->rbuf, hl, &pos, &f)) {
        struct hdr_field *slot = NULL;

        switch (f.name_len) {
        case 2:
            if (field_is(&f, "to", 2))
                slot = &ft;
            break;
        case 4:
            if (field_is(&f, "from", 4))
                slot = &ff;
            else if (field_is(&f, "date", 4))
                slot = &fd_;
            break;
        case 7:
            if (field_is(&f, "subject", 7))
                slot = &fs;
            break;
        case 10:
            if (field_is(&f, "message-id", 10))
                slot = &fm;
            else if (field_is(&f, "references", 10))
                slot = &fr;
            break;
        case 11:
            if (field_is(&f, "in-reply-to", 11))
                slot = &fi;
            break;
        case 12:
            if (field_is(&f, "content-type", 12))
                slot = &fct;
            break;
        default:
            break;
        }
        if (slot && slot->name == NULL)
            *slot = f;
    }
    /* the decoders keep a cache of iconv descriptors that is not thread-safe: reading
     * and finding the fields run in parallel, decoding one thread at a time */
    pthread_mutex_lock(&decode_lock);
    m->from = ff.name ? arena_take(x, addr_display(ff.value, ff.value_len)) : "";
    m->to = ft.name ? arena_take(x, addr_display(ft.value, ft.value_len)) : "";
    m->subject = fs.name ? arena_take(x, hdr_decode(fs.value, fs.value_len)) : "";
    m->msgid = fm.name ? arena_take(x, id_clean(hdr_msgid(fm.value, fm.value_len))) : "";
    m->in_reply_to = fi.name ? arena_take(x, id_clean(first_id(fi.value, fi.value_len))) : "";
    m->references = fr.name ? arena_take(x, refs_join(fr.value, fr.value_len)) : "";
    /* the signed/encrypted mark comes from the Content-Type alone: nothing is decrypted */
    m->crypt = fct.name ? (uint8_t)crypt_mark(fct.value, fct.value_len) : 0;
    pthread_mutex_unlock(&decode_lock);
    m->mtime = (int64_t)st.st_mtime;
    m->size = (uint64_t)st.st_size;
    if (fd_.name && hdr_parse_date(fd_.value, fd_.value_len, &t) == 0)
        m->date = (int64_t)t;
    else
        m->date = m->mtime;
    return 0;
}

/* ---- bringing the entries up to date with the directory ---- */

static uint64_t hash_bytes(const char *s, size_t n)
{
    uint64_t h = 0xcbf29ce484222325ull;

    for (size_t i = 0; i < n; i++) {
        h ^= (unsigned char)s[i];
        h *= 0x100000001b3ull;
    }
    return h;
}

struct pending {
    char *name;
    bool in_new;
};

static int64_t now_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static bool stamp_equal(const struct maildir_stamp *a, const struct maildir_stamp *b)
{
    return a->new_mtime == b->new_mtime && a->cur_mtime == b->cur_mtime;
}

/* Can the entries be trusted for the directory as it is now without reading it? */
static bool stamp_current(const struct idx *x, const struct maildir_stamp *now)
{
    int64_t newest = now->new_mtime > now->cur_mtime ? now->new_mtime : now->cur_mtime;

    /* The listing must have happened a full second after the last change: a file system
     * with coarse timestamps could otherwise hide a change made in the same tick. */
    return x->have_stamp && stamp_equal(now, &x->stamp) &&
           x->listed_at / 2 - newest / 2 >= 500000000LL;   /* halves: no overflow */
}

static void ht_insert(uint32_t *ht, size_t mask, const struct idx_msg *all, uint32_t pos)
{
    size_t h = (size_t)hash_bytes(all[pos].name, all[pos].uniq_len) & mask;

    while (ht[h] != UINT32_MAX)
        h = (h + 1) & mask;
    ht[h] = pos;
}

static long ht_find(const uint32_t *ht, size_t mask, const struct idx_msg *all, const char *u,
                    size_t ul)
{
    size_t h = (size_t)hash_bytes(u, ul) & mask;

    while (ht[h] != UINT32_MAX) {
        const struct idx_msg *m = &all[ht[h]];

        if (m->uniq_len == ul && memcmp(m->name, u, ul) == 0)
            return ht[h];
        h = (h + 1) & mask;
    }
    return -1;
}

struct worker {
    struct pctx p;
    const struct pending *pend;
    size_t lo, hi;
    struct idx_msg *out;       /* slots for pend[lo..hi) */
    signed char *rc;
    const int *dfd;
};

static void *worker_run(void *arg)
{
    struct worker *w = arg;

    for (size_t i = w->lo; i < w->hi; i++) {
        int fd = w->dfd[w->pend[i].in_new ? 0 : 1];

        w->rc[i] = (signed char)(fd < 0 ? 1 : parse_message(&w->p, fd, w->pend[i].name,
                                                               &w->out[i]));
        if (w->rc[i] == -1) {
            /* unreadable (permissions, I/O error): listed with what its name tells, so that
             * mail is never hidden; the date is the delivery time in the name */
            struct idx_msg *m = &w->out[i];

            memset(m, 0, sizeof *m);
            m->from = m->to = m->msgid = m->in_reply_to = m->references = "";
            m->subject = "(unreadable message file)";
            m->date = m->mtime = strtoll(w->pend[i].name, NULL, 10);
            w->rc[i] = 0;
        }
        if (w->rc[i] == 0)
            msg_set_name(&w->out[i], arena_str(&w->p, w->pend[i].name), w->pend[i].in_new);
    }
    return NULL;
}

#define IDX_MAX_THREADS 4

/*
 * Read the header blocks of the new files, in parallel when there are many (a cold open of
 * a large folder is mostly open/read system calls), and append them in listing order.
 */
static void parse_pending(struct idx *x, struct pending *pend, size_t npend, const int *dfd,
                          bool *changed)
{
    struct worker w[IDX_MAX_THREADS];
    pthread_t tid[IDX_MAX_THREADS];
    bool started[IDX_MAX_THREADS] = { false };
    struct idx_msg *out;
    signed char *rc;
    long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
    const char *env = getenv("TERN_INDEX_THREADS");   /* for benchmarks: 1 = serial */

    if (env && *env >= '1' && *env <= '9')
        ncpu = *env - '0';
    size_t nw = npend >= 1000 && ncpu > 1 ? (size_t)(ncpu < IDX_MAX_THREADS ? ncpu
                                                                           : IDX_MAX_THREADS)
                                          : 1;

    if (npend == 0)
        return;
    /* the workers fill the entries' final slots; failures are squeezed out afterwards */
    if (x->cap < x->n + npend) {
        x->cap = x->n + npend;
        x->m = xreallocarray(x->m, x->cap, sizeof *x->m);
    }
    out = x->m + x->n;
    memset(out, 0, npend * sizeof *out);
    rc = xcalloc(npend, 1);
    for (size_t k = 0; k < nw; k++) {
        memset(&w[k], 0, sizeof w[k]);
        w[k].pend = pend;
        w[k].lo = npend * k / nw;
        w[k].hi = npend * (k + 1) / nw;
        w[k].out = out;
        w[k].rc = rc;
        w[k].dfd = dfd;
    }
    for (size_t k = 1; k < nw; k++)
        started[k] = pthread_create(&tid[k], NULL, worker_run, &w[k]) == 0;
    worker_run(&w[0]);
    for (size_t k = 1; k < nw; k++) {
        if (started[k])
            pthread_join(tid[k], NULL);
        else
            worker_run(&w[k]);      /* no thread: do its share here */
    }
    /* keep every worker's strings: splice their chunks behind the current one */
    for (size_t k = 0; k < nw; k++) {
        struct chunk *h = w[k].p.chunks, *t = h;

        free(w[k].p.rbuf);
        if (h == NULL)
            continue;
        while (t->next)
            t = t->next;
        if (x->p.chunks == NULL) {
            x->p.chunks = h;
        } else {
            t->next = x->p.chunks->next;
            x->p.chunks->next = h;
        }
    }
    for (size_t i = 0; i < npend; i++) {
        if (rc[i] == 0) {
            struct idx_msg *m = &x->m[x->n++];     /* never ahead of out[i]: in place */

            if (m != &out[i])
                *m = out[i];
            m->id = x->next_id++;
            x->stats.parsed++;
        } else if (rc[i] == 1) {
            /* gone between readdir and open (renamed or removed by someone else): leave it
             * out and make the next refresh read the directory */
            x->stats.vanished++;
            x->have_stamp = false;
        }
        free(pend[i].name);
        *changed = true;
    }
    free(rc);
}

/*
 * Read new/ and cur/, keep entries whose file still exists (renamed ones keep their data),
 * drop the others, parse the newcomers. Returns 1 when anything changed, 0 or -1.
 */
static int idx_sync(struct idx *x, struct err *e)
{
    struct maildir_stamp now;
    static const char *const subs[] = { "new", "cur" };
    size_t mask, cap, npend = 0, pcap = 0;
    uint32_t *ht;
    unsigned char *seen;
    struct pending *pend = NULL;
    int64_t listed_at;
    bool changed = false;
    struct buf path = BUF_INIT;
    int dfd[2] = { -1, -1 };

    x->stats.listed = false;
    x->stats.parsed = x->stats.renamed = x->stats.removed = x->stats.vanished = 0;
    if (maildir_stamp(x->dir, &now, e) < 0)
        return err_prefix(e, "not a Maildir");
    if (stamp_current(x, &now)) {
        /* drop what our own operations marked gone */
        goto compact;
    }
    x->stats.listed = true;
    listed_at = now_ns();
    for (cap = 1024; cap < x->n * 2 + 2; cap *= 2)
        ;
    mask = cap - 1;
    ht = xmalloc(cap * sizeof *ht);
    memset(ht, 0xff, cap * sizeof *ht);
    for (size_t i = 0; i < x->n; i++)
        if (!x->m[i].gone)
            ht_insert(ht, mask, x->m, (uint32_t)i);
    seen = xcalloc(x->n + 1, 1);
    for (int s = 0; s < 2; s++) {
        char *sub = fs_join(x->dir, subs[s]);
        DIR *d = opendir(sub);
        struct dirent *de;

        if (d == NULL) {
            err_sys(e, "%s", sub);
            free(sub);
            free(ht);
            free(seen);
            for (size_t i = 0; i < npend; i++)
                free(pend[i].name);
            free(pend);
            return -1;
        }
        free(sub);
        while ((de = readdir(d)) != NULL) {
            const char *nm = de->d_name;
            size_t ul;
            long pos;

            if (nm[0] == '.')
                continue;
            maildir_name_split(nm, &ul);
            pos = ht_find(ht, mask, x->m, nm, ul);
            if (pos >= 0 && !seen[pos]) {
                struct idx_msg *m = &x->m[pos];

                seen[pos] = 1;
                if (m->in_new != (s == 0) || strcmp(m->name, nm) != 0) {
                    msg_set_name(m, arena_str(&x->p, nm), s == 0);
                    x->stats.renamed++;
                    changed = true;
                }
                continue;
            }
            if (pos >= 0)
                continue;   /* the same message twice (caught mid-rename): keep one */
            if (npend == pcap) {
                pcap = pcap ? pcap * 2 : 256;
                pend = xreallocarray(pend, pcap, sizeof *pend);
            }
            pend[npend].name = xstrdup(nm);
            pend[npend].in_new = (s == 0);
            npend++;
        }
        closedir(d);
    }
    free(ht);
    for (size_t i = 0; i < x->n; i++)
        if (!seen[i] && !x->m[i].gone) {
            x->m[i].gone = true;
            x->stats.removed++;
        }
    free(seen);
    x->stamp = now;
    x->listed_at = listed_at;
    x->have_stamp = true;
    for (int s = 0; s < 2; s++) {
        buf_reset(&path);
        buf_printf(&path, "%s/%s", x->dir, subs[s]);
        dfd[s] = open(path.ptr, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    }
    parse_pending(x, pend, npend, dfd, &changed);
    for (int s = 0; s < 2; s++)
        if (dfd[s] >= 0)
            close(dfd[s]);
    free(pend);
    buf_free(&path);
    x->dirty = true;    /* at least the stamp is new */
compact:
    {
        size_t o = 0;

        for (size_t i = 0; i < x->n; i++) {
            if (x->m[i].gone) {
                changed = true;
                continue;
            }
            if (o != i)
                x->m[o] = x->m[i];
            o++;
        }
        if (o != x->n)
            x->dirty = true;
        x->n = o;
    }
    return changed ? 1 : 0;
}

/* ---- saving ---- */

struct writer {
    int fd;
    char buf[65536];
    size_t len;
    struct csum cs;
    bool failed;
};

static void w_flush(struct writer *w)
{
    if (w->len && !w->failed && fs_write_all(w->fd, w->buf, w->len) < 0)
        w->failed = true;
    w->len = 0;
}

static void w_add(struct writer *w, const void *p, size_t n)
{
    const char *s = p;

    csum_add(&w->cs, p, n);
    while (n > 0) {
        size_t room = sizeof w->buf - w->len, k = n < room ? n : room;

        memcpy(w->buf + w->len, s, k);
        w->len += k;
        s += k;
        n -= k;
        if (w->len == sizeof w->buf)
            w_flush(w);
    }
}

static const char *msg_str(const struct idx_msg *m, int f)
{
    switch (f) {
    case F_NAME: return m->name;
    case F_FROM: return m->from;
    case F_TO: return m->to;
    case F_SUBJECT: return m->subject;
    case F_MSGID: return m->msgid;
    case F_IRT: return m->in_reply_to;
    default: return m->references;
    }
}

/*
 * The cache is written to a temporary name and renamed over the old one, without fsync:
 * it is only a cache, and a torn file after a crash fails the size or checksum test and is
 * rebuilt, which costs time, never mail.
 */
int idx_save(struct idx *x, struct err *e)
{
    struct idx_fhdr h;
    struct writer *w;
    struct buf tmp = BUF_INIT;
    uint64_t off = 1;
    size_t live = 0;
    uint32_t *order = NULL;
    int rc = -1;

    if (!x->dirty || (x->oflags & IDX_NO_SAVE))
        return 0;
    for (size_t i = 0; i < x->n; i++) {
        if (x->m[i].gone)
            continue;
        live++;
        for (int f = 0; f < F_NSTR; f++) {
            const char *s = msg_str(&x->m[i], f);

            if (s[0])
                off += strlen(s) + 1;
        }
    }
    if (off > UINT32_MAX)
        return err_set(e, ERR_SYS, "%s: index too large", x->cache_path);
    memset(&h, 0, sizeof h);
    memcpy(h.magic, IDX_MAGIC, 8);
    h.endian = IDX_ENDIAN;
    h.rec_size = sizeof(struct idx_frec);
    h.count = (uint32_t)live;
    h.strtab_size = off;
    if (x->have_stamp) {
        h.new_mtime = x->stamp.new_mtime;
        h.cur_mtime = x->stamp.cur_mtime;
        h.listed_at = x->listed_at;
    }
    buf_printf(&tmp, "%s.tmp.%ld", x->cache_path, (long)getpid());
    w = xmalloc(sizeof *w);
    w->len = 0;
    w->failed = false;
    csum_init(&w->cs);
    w->fd = open(tmp.ptr, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (w->fd < 0) {
        err_sys(e, "%s", tmp.ptr);
        goto out;
    }
    if (fs_write_all(w->fd, &h, sizeof h) < 0)
        w->failed = true;
    /* records in date order: the default view then finds its input already sorted */
    order = xmalloc((live + 1) * sizeof *order);
    for (size_t i = 0, k = 0; i < x->n; i++)
        if (!x->m[i].gone)
            order[k++] = (uint32_t)i;
    idx_sort(x, order, live, IDX_SORT_DATE, false);
    off = 1;
    for (size_t k = 0; k < live; k++) {
        struct idx_frec r;
        const struct idx_msg *m = &x->m[order[k]];

        memset(&r, 0, sizeof r);
        for (int f = 0; f < F_NSTR; f++) {
            const char *s = msg_str(m, f);

            r.str[f] = s[0] ? (uint32_t)off : 0;
            if (s[0])
                off += strlen(s) + 1;
        }
        r.bits = (m->in_new ? 1u : 0u) | (uint32_t)m->crypt << 1;
        r.date = m->date;
        r.mtime = m->mtime;
        r.size = m->size;
        w_add(w, &r, sizeof r);
    }
    w_add(w, "", 1);
    for (size_t k = 0; k < live; k++) {
        for (int f = 0; f < F_NSTR; f++) {
            const char *s = msg_str(&x->m[order[k]], f);

            if (s[0])
                w_add(w, s, strlen(s) + 1);
        }
    }
    w_flush(w);
    h.checksum = csum_final(&w->cs);
    if (w->failed || pwrite(w->fd, &h, sizeof h, 0) != (ssize_t)sizeof h) {
        err_sys(e, "write %s", tmp.ptr);
        close(w->fd);
        unlink(tmp.ptr);
        goto out;
    }
    if (close(w->fd) < 0 || rename(tmp.ptr, x->cache_path) < 0) {
        err_sys(e, "rename %s", x->cache_path);
        unlink(tmp.ptr);
        goto out;
    }
    x->dirty = false;
    rc = 0;
out:
    free(order);
    free(w);
    buf_free(&tmp);
    return rc;
}

/* ---- open, refresh ---- */

/* Where idx_open keeps dir's cache: in the folder, or the fallback for a read-only one. */
static char *idx_cache_for(const char *dir, int flags)
{
    if (access(dir, W_OK) != 0 && !(flags & IDX_NO_SAVE)) {
        char *alt = idx_fallback_path(dir);

        if (alt)
            return alt;
    }
    return idx_cache_path(dir);
}

int idx_fresh(const char *dir, size_t *count)
{
    char *path = idx_cache_for(dir, 0);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    struct idx_fhdr h;
    struct maildir_stamp now, was;
    bool ok;

    free(path);
    if (count)
        *count = 0;
    if (fd < 0)
        return 0;
    ok = read(fd, &h, sizeof h) == (ssize_t)sizeof h && memcmp(h.magic, IDX_MAGIC, 8) == 0 &&
         h.endian == IDX_ENDIAN && h.rec_size == sizeof(struct idx_frec);
    close(fd);
    if (!ok)
        return 0;
    if (count)
        *count = h.count;
    if (maildir_stamp(dir, &now, NULL) < 0)
        return 0;
    was.new_mtime = h.new_mtime;
    was.cur_mtime = h.cur_mtime;
    return stamp_equal(&now, &was) ? 1 : 0;
}

int idx_open(const char *dir, int flags, struct idx **out, struct err *e)
{
    struct idx *x;
    struct err ignored;

    *out = NULL;
    if (!maildir_is_maildir(dir))
        return err_set(e, ERR_SYS, "%s: not a Maildir (no cur/ and new/)", dir);
    x = idx_new_empty(dir);
    x->oflags = flags;
    free(x->cache_path);
    x->cache_path = idx_cache_for(dir, flags);
    if (!(flags & IDX_NO_CACHE))
        idx_load_cache(x);
    if (idx_sync(x, e) < 0) {
        idx_close(x);
        return -1;
    }
    if (x->stats.cache_bad)
        x->dirty = true;
    /* a cache we cannot write is not an error, but --stats must not call it ok */
    x->stats.unsaved = idx_save(x, &ignored) < 0;
    *out = x;
    return 0;
}

int idx_refresh(struct idx *x, struct err *e)
{
    struct err ignored;
    int rc = idx_sync(x, e);

    if (rc >= 0)
        x->stats.unsaved = idx_save(x, &ignored) < 0;
    return rc;
}

/* ---- operations ---- */

static int op_result(struct idx *x, size_t i, int rc)
{
    if (rc == 1) {
        x->m[i].gone = true;
        x->dirty = true;
    }
    return rc;
}

static int idx_rename_op(struct idx *x, size_t i, const char *add, const char *del, bool cur_only,
                         struct err *e)
{
    struct idx_msg *m = &x->m[i];
    char *rel = msg_rel(m), *nrel = NULL;
    int rc;

    if (m->gone) {
        free(rel);
        return 1;
    }
    rc = cur_only ? maildir_mark_cur(x->dir, rel, &nrel, e)
                  : maildir_set_flags(x->dir, rel, add, del, &nrel, e);
    free(rel);
    if (rc == 0) {
        bool in_new = str_startswith(nrel, "new/");

        if (strcmp(nrel + 4, m->name) != 0 || in_new != m->in_new) {
            msg_set_name(m, arena_str(&x->p, nrel + 4), in_new);
            x->dirty = true;
        }
    }
    free(nrel);
    return op_result(x, i, rc);
}

int idx_set_flags(struct idx *x, size_t i, const char *add, const char *del, struct err *e)
{
    return idx_rename_op(x, i, add, del, false, e);
}

int idx_mark_cur(struct idx *x, size_t i, struct err *e)
{
    if (!x->m[i].in_new)
        return x->m[i].gone ? 1 : 0;
    return idx_rename_op(x, i, NULL, NULL, true, e);
}

int idx_move(struct idx *x, size_t i, const char *dst_dir, struct err *e)
{
    char *rel = msg_rel(&x->m[i]);
    int rc = x->m[i].gone ? 1 : maildir_move(x->dir, rel, dst_dir, NULL, e);

    free(rel);
    if (rc == 0) {
        struct stat a, b;

        /* moving into the same folder is a no-op, not a removal */
        if (!(stat(x->dir, &a) == 0 && stat(dst_dir, &b) == 0 && a.st_dev == b.st_dev &&
              a.st_ino == b.st_ino)) {
            x->m[i].gone = true;
            x->dirty = true;
        }
    }
    return op_result(x, i, rc);
}

int idx_copy(struct idx *x, size_t i, const char *dst_dir, struct err *e)
{
    char *rel = msg_rel(&x->m[i]);
    int rc = x->m[i].gone ? 1 : maildir_copy(x->dir, rel, dst_dir, NULL, e);

    free(rel);
    return op_result(x, i, rc);
}

int idx_delete(struct idx *x, size_t i, const char *trash_dir, struct err *e)
{
    char *rel = msg_rel(&x->m[i]);
    int rc = x->m[i].gone ? 1 : maildir_delete(x->dir, rel, trash_dir, NULL, e);

    free(rel);
    if (rc == 0) {
        x->m[i].gone = true;
        x->dirty = true;
    }
    return op_result(x, i, rc);
}

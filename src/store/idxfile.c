/*
 * The index's cache file: its format, the loader (also the fuzz target's entry point) and
 * the writer. A cache, so it is written without fsync: a torn file fails the checks.
 */
#include "config.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "index_int.h"
#include "tern/buf.h"
#include "tern/fsutil.h"
#include "tern/index.h"
#include "tern/view.h"
#include "tern/xalloc.h"

/* ---- the cache file format (host byte order; a foreign machine's file is rebuilt) ----
 *
 *   struct idx_fhdr   64 bytes
 *   struct idx_frec   count x 64 bytes, in directory order
 *   string table      strtab_size bytes of NUL-terminated UTF-8; offset 0 is ""
 *
 * Every record field that names a string is an offset into the table; the table ends with
 * a NUL, so any in-range offset is a valid C string. The checksum covers records and table.
 * A warm open is: stat two directories, mmap, check sizes and checksum, and turn offsets
 * into pointers; no per-message parsing.
 */
#define IDX_MAGIC "TERNIDX3"
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
    uint32_t bits;           /* bit 0: in new/ */
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
        idx_msg_set_name(m, s[F_NAME], (r.bits & 1) != 0);
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
void idx_load_cache(struct idx *x)
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
    x->map_len = (size_t)st.st_size;
    x->map = mmap(NULL, x->map_len, PROT_READ, MAP_PRIVATE, fd, 0);
    close(fd);
    if (x->map == MAP_FAILED) {
        x->map = NULL;
        x->stats.cache_bad = true;
        return;
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
        r.bits = m->in_new ? 1 : 0;
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

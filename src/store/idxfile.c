/*
 * The index's cache file: its format, the loader (also the fuzz target's entry point) that
 * maps it and turns a record into an entry only when that entry is first asked for, and the
 * writer. A cache, so it is written without fsync: a torn file fails the checks and is
 * rebuilt, which costs time, never mail.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "index_int.h"
#include "tern/buf.h"
#include "tern/fsutil.h"
#include "tern/index.h"
#include "tern/parallel.h"
#include "tern/str.h"
#include "tern/view.h"
#include "tern/xalloc.h"

/* ---- the format (host byte order; a foreign machine's file is rebuilt) ----
 *
 *   struct idx_fhdr   128 bytes: sizes, directory stamp, counts, checksum of itself and of
 *                     the block table
 *   struct idx_fblk   nblocks x 16: per block of blk_recs records, the checksum of its
 *                     records and their strings, and where its strings begin
 *   struct idx_frec   count x 64 bytes, in date order (the default view needs no sort)
 *   string table      strtab_size bytes of NUL-terminated UTF-8, in record order; offset 0
 *                     is ""
 *   name hashes       count x 8: idx_uniq_hash of each record's unique part (its file name
 *                     up to ":2,"), in record order, then count x 4: idx_name_check of each
 *                     record's whole name and directory; their checksum is in the header: a
 *                     refresh finds a file name's entry, and whether it was renamed, without
 *                     reading the records
 *
 * Every record field that names a string is an offset into the table; the table ends with
 * a NUL, so any in-range offset is a valid C string. A warm open checks the header and the
 * block table only; a block is checked when one of its entries is first used (all blocks at
 * once for a small index), so opening a folder of a million messages touches the header,
 * the rows on screen and their blocks, not every record.
 *
 * Versions 3 to 6 (3 and 4: one checksum over everything, no counts, no addresses, the whole
 * file read at open; 5: no name hashes; 6: no name checks) are rebuilt: a new magic means "not ours", and a
 * rebuild is the upgrade.
 */
#define IDX_MAGIC "TERNIDX7"
#define IDX_ENDIAN 0x01020304u
#define IDXF_DATE_ORDER 0x1
#define IDX_BLK_RECS 4096
/* Up to this many records, every block is checked at open (a damaged small cache is then
 * rejected at once, as the tests expect; it costs well under a millisecond). */
#define IDX_EAGER_RECS 65536

struct idx_fhdr {
    char magic[8];
    uint32_t endian;
    uint32_t rec_size;
    uint32_t count;
    uint32_t flags;          /* IDXF_* */
    uint64_t strtab_size;
    int64_t new_mtime;       /* the directory stamp the records reflect */
    int64_t cur_mtime;
    int64_t listed_at;       /* wall clock (ns) when the directories were read */
    uint32_t blk_recs;
    uint32_t nblocks;
    uint32_t n_unread, n_flagged, n_new, n_trashed;
    uint64_t file_size;
    uint64_t hdr_sum;        /* over this header (with hdr_sum 0) and the block table */
    uint64_t hash_sum;       /* over the name hashes and checks */
    uint64_t reserved[3];
};

struct idx_fblk {
    uint64_t sum;
    uint64_t str_off;
};

enum { F_NAME, F_FROM, F_TO, F_SUBJECT, F_MSGID, F_IRT, F_REFS, F_FROM_ADDR, F_TO_ADDRS,
       F_NSTR };

struct idx_frec {
    uint32_t str[F_NSTR];
    uint32_t bits;           /* bit 0: in new/; bits 1-2: CRYPT_MARK_* (crypt.h) */
    int64_t date;
    int64_t mtime;
    uint64_t size;
};

_Static_assert(sizeof(struct idx_fhdr) == 128, "header layout");
_Static_assert(sizeof(struct idx_fblk) == 16, "block layout");
_Static_assert(sizeof(struct idx_frec) == 64, "record layout");

/* ---- a streaming 64-bit hash: four independent lanes over 32-byte blocks, so that the
 * multiplications overlap (a 380 MB cache of a million messages is checked block by block
 * as its entries are used; a limit over all of them checks it all) ---- */

#define CSUM_LANES 4
#define CSUM_BLOCK (8 * CSUM_LANES)

struct csum {
    uint64_t h[CSUM_LANES];
    unsigned char carry[CSUM_BLOCK];
    size_t ncarry;
    uint64_t total;
};

static void csum_init(struct csum *c)
{
    static const uint64_t seed[CSUM_LANES] = { 0x243F6A8885A308D3ull, 0x13198A2E03707344ull,
                                               0xA4093822299F31D0ull, 0x082EFA98EC4E6C89ull };

    memcpy(c->h, seed, sizeof seed);
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

static inline void csum_block(struct csum *c, const unsigned char *s)
{
    for (int k = 0; k < CSUM_LANES; k++) {
        uint64_t w;

        memcpy(&w, s + 8 * k, 8);
        c->h[k] = csum_mix(c->h[k], w);
    }
}

static void csum_add(struct csum *c, const void *p, size_t n)
{
    const unsigned char *s = p;

    c->total += n;
    while (c->ncarry > 0 && n > 0) {
        c->carry[c->ncarry++] = *s++;
        n--;
        if (c->ncarry == CSUM_BLOCK) {
            csum_block(c, c->carry);
            c->ncarry = 0;
        }
    }
    while (n >= CSUM_BLOCK) {
        csum_block(c, s);
        s += CSUM_BLOCK;
        n -= CSUM_BLOCK;
    }
    while (n > 0) {
        c->carry[c->ncarry++] = *s++;
        n--;
    }
}

static uint64_t csum_final(struct csum *c)
{
    uint64_t r;

    if (c->ncarry > 0) {
        memset(c->carry + c->ncarry, 0, CSUM_BLOCK - c->ncarry);
        csum_block(c, c->carry);
    }
    r = c->total;
    for (int k = 0; k < CSUM_LANES; k++)
        r = csum_mix(r, c->h[k]);
    return csum_mix(r, c->total);
}

/* ---- loading ----
 *
 * The file is read, not mapped: a block (its records and their strings) is read with pread
 * when one of its entries is first used, into memory that lives as long as the index. A file
 * that another program truncates in place while it is open then gives short reads (a bad
 * block, rebuilt on the next refresh), never SIGBUS; a file replaced by rename keeps being
 * read as the snapshot it was. The fuzz target and the tests hand in an image in memory
 * instead, which blocks then point into.
 */

static void idx_jnl_load(struct idx *x);

/* Block b's entry of the table. */
static struct idx_fblk blk_get(const struct idx *x, uint32_t b)
{
    struct idx_fblk k;

    memcpy(&k, x->blktab + (size_t)b * sizeof k, sizeof k);
    return k;
}

static uint64_t blk_str_end(const struct idx *x, uint32_t b)
{
    return b + 1 < x->nblocks ? blk_get(x, b + 1).str_off : x->strtab_size;
}

/* n bytes at offset off of the image or the file into dst (or, for an image, a pointer into
 * it); false on a short read. */
static bool img_read(struct idx *x, uint64_t off, size_t n, char *dst, const char **where)
{
    size_t got = 0;

    if (x->img) {
        if (off > x->img_len || n > x->img_len - off)
            return false;
        if (where)
            *where = x->img + off;
        else
            memcpy(dst, x->img + off, n);
        return true;
    }
    while (got < n) {
        ssize_t r = pread(x->fd, dst + got, n - got, (off_t)(off + got));

        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return false;
        got += (size_t)r;
    }
    if (where)
        *where = dst;
    return true;
}

/* Read block b (records, then its strings) and check it; its state becomes GOOD or BAD.
 * The records go to recbuf (blk_recs of them) when it is not NULL: for a caller that fills
 * every entry of the block at once and needs them no longer. */
static void blk_load(struct idx *x, uint32_t b, char *recbuf)
{
    size_t lo = (size_t)b * x->blk_recs, hi = lo + x->blk_recs, rlen;
    uint64_t s0 = blk_get(x, b).str_off, s1 = blk_str_end(x, b);
    struct blkmem *bm = &x->blk_mem[b];
    char *buf = NULL;
    bool ok;

    if (hi > x->nmapped)
        hi = x->nmapped;
    rlen = (hi - lo) * sizeof(struct idx_frec);
    if (x->img == NULL && recbuf)
        bm->own = xmalloc((size_t)(s1 - s0) + 1);
    else if (x->img == NULL)
        buf = bm->own = xmalloc(rlen + (size_t)(s1 - s0) + 1);
    ok = img_read(x, x->recs_off + lo * sizeof(struct idx_frec), rlen, recbuf ? recbuf : buf,
                  &bm->rec) &&
         img_read(x, x->strtab_off + s0, (size_t)(s1 - s0),
                  recbuf ? bm->own : buf ? buf + rlen : NULL, &bm->str);
    /* the block's strings end with a NUL: any offset into them is a string inside them */
    ok = ok && (s1 == s0 || bm->str[s1 - s0 - 1] == '\0');
    if (ok && x->verify) {
        struct csum c;

        csum_init(&c);
        csum_add(&c, bm->rec, rlen);
        csum_add(&c, bm->str, (size_t)(s1 - s0));
        ok = csum_final(&c) == blk_get(x, b).sum;
    }
    bm->str_lo = s0;
    bm->str_hi = s1;
    x->blk_state[b] = ok ? BLK_GOOD : BLK_BAD;
}

static uint32_t jren_slot(const struct idx *x, uint32_t key)
{
    uint32_t h = (key * 2654435761u) & (uint32_t)(x->jren_cap - 1);

    while (x->jren[h].key != 0 && x->jren[h].key != key)
        h = (h + 1) & (uint32_t)(x->jren_cap - 1);
    return h;
}

static void jren_put(struct idx *x, size_t pos, const char *name, uint32_t in_new)
{
    uint32_t h;

    if (x->jren_n * 2 + 2 > x->jren_cap) {
        struct jren *old = x->jren;
        size_t oc = x->jren_cap;

        x->jren_cap = oc ? oc * 2 : 1024;
        x->jren = xcalloc(x->jren_cap, sizeof *x->jren);
        for (size_t k = 0; k < oc; k++)
            if (old[k].key)
                x->jren[jren_slot(x, old[k].key)] = old[k];
        free(old);
    }
    h = jren_slot(x, (uint32_t)pos + 1);
    if (x->jren[h].key == 0)
        x->jren_n++;
    x->jren[h] = (struct jren){ (uint32_t)pos + 1, in_new, name };
}

/* What the journal said about entry i before it was read. */
static void jren_apply(const struct idx *x, struct idx_msg *m, size_t i)
{
    if (x->jren_n) {
        const struct jren *r = &x->jren[jren_slot(x, (uint32_t)i + 1)];

        if (r->key)
            idx_msg_set_name(m, r->name, r->in_new != 0);
    }
    if (x->jgone && (x->jgone[i / 64] >> (i % 64) & 1))
        m->gone = true;
}

/* An entry from its strings and numbers, as a cache record or a journal line stores them. */
static void fill_entry(struct idx_msg *m, const char *const s[F_NSTR], uint32_t bits,
                       int64_t date, int64_t mtime, uint64_t size)
{
    idx_msg_set_name(m, s[F_NAME], (bits & 1) != 0);
    m->crypt = (uint8_t)((bits >> 1) & 3);
    m->from = s[F_FROM];
    m->to = s[F_TO];
    m->subject = s[F_SUBJECT];
    m->msgid = s[F_MSGID];
    m->in_reply_to = s[F_IRT];
    m->references = s[F_REFS];
    m->from_addr = s[F_FROM_ADDR];
    m->to_addrs = s[F_TO_ADDRS];
    m->date = date;
    m->mtime = mtime;
    m->size = size;
}

/* What filling entries changes in x besides the entries: counted apart, so that several
 * threads can fill entries of different blocks, and added once. */
struct fill_acc {
    size_t filled;
    size_t damaged;
};

static void fill_acc_add(struct idx *x, const struct fill_acc *a)
{
    x->stats.filled += a->filled;
    x->ngone += a->damaged;
    if (a->damaged)
        x->damaged = true;
}

/* An entry whose record cannot be trusted: hidden (gone), and the next refresh rebuilds. */
static void rec_damaged(struct idx_msg *m, size_t i, struct fill_acc *a)
{
    memset(m, 0, sizeof *m);
    m->name = m->from = m->to = m->subject = m->msgid = m->in_reply_to = m->references = "";
    m->from_addr = m->to_addrs = "";
    m->id = (uint32_t)i + 1;
    m->gone = true;
    a->damaged++;
}

/* Fill entry i from its record; its block has been read. Touches x->m[i] and a only. */
static void rec_fill(const struct idx *x, size_t i, struct fill_acc *a)
{
    struct idx_msg *m = &x->m[i];
    uint32_t b = (uint32_t)(i / x->blk_recs);
    const struct blkmem *bm = &x->blk_mem[b];
    struct idx_frec r;
    const char *s[F_NSTR];

    a->filled++;
    if (x->blk_state[b] == BLK_BAD) {
        rec_damaged(m, i, a);
        return;
    }
    memcpy(&r, bm->rec + (i - (size_t)b * x->blk_recs) * sizeof r, sizeof r);
    for (int f = 0; f < F_NSTR; f++) {
        if (r.str[f] == 0) {
            s[f] = "";
        } else if (r.str[f] >= bm->str_lo && r.str[f] < bm->str_hi) {
            s[f] = bm->str + (r.str[f] - bm->str_lo);
        } else {
            rec_damaged(m, i, a);
            return;
        }
    }
    if (s[F_NAME][0] == '\0' || strchr(s[F_NAME], '/') != NULL) {
        rec_damaged(m, i, a);
        return;
    }
    fill_entry(m, s, r.bits, r.date, r.mtime, r.size);
    m->id = (uint32_t)i + 1;
    jren_apply(x, m, i);
}

void idx_load_rec(struct idx *x, size_t i)
{
    uint32_t b = (uint32_t)(i / x->blk_recs);
    struct fill_acc a = { 0, 0 };

    x->ready[i / 64] |= (uint64_t)1 << (i % 64);
    if (x->blk_state[b] == BLK_UNCHECKED)
        blk_load(x, b, NULL);
    rec_fill(x, i, &a);
    fill_acc_add(x, &a);
}

/* ---- every entry at once: blocks read, checked and filled on several threads ----
 *
 * A whole-folder view (threads, a limit, a refresh that lists the directories) needs every
 * entry; at a million messages that is 380 MB to read, check and turn into entries, which
 * two cores do in about half the time. A thread owns a run of whole blocks: it writes only
 * their blkmem, state and entries, and (as a block is a multiple of 64 records) their own
 * words of the ready bits; the counts are added after the join. */


struct fill_job {
    struct idx *x;
    uint32_t b0, b1;            /* blocks [b0, b1) */
    struct fill_acc acc;
};

/* A block not read yet has no entry filled (filling one reads its block first): all are
 * filled now, so its records are read into memory used again for the next block, and only
 * its strings, which the entries point into, are kept (a sixth less memory to fault in). */
static void fill_blocks(struct fill_job *j)
{
    struct idx *x = j->x;
    char *recs = NULL;

    for (uint32_t b = j->b0; b < j->b1; b++) {
        size_t lo = (size_t)b * x->blk_recs, hi = lo + x->blk_recs;
        bool fresh = x->blk_state[b] == BLK_UNCHECKED;

        if (hi > x->nmapped)
            hi = x->nmapped;
        if (fresh && recs == NULL)
            recs = xmalloc((size_t)x->blk_recs * sizeof(struct idx_frec));
        if (fresh)
            blk_load(x, b, recs);
        for (size_t i = lo; i < hi; i++) {
            if (idx_ready(x, i))
                continue;
            rec_fill(x, i, &j->acc);
            x->ready[i / 64] |= (uint64_t)1 << (i % 64);
        }
        if (fresh)
            x->blk_mem[b].rec = NULL;
    }
    free(recs);
}

static void *fill_run(void *arg)
{
    fill_blocks(arg);
    return NULL;
}

static size_t fill_threads(const struct idx *x, uint32_t nb)
{
    /* a block is a few megabytes to read and check: worth a thread from two on */
    if (x->nmapped <= x->blk_recs || x->blk_recs % 64 != 0)
        return 1;
    return par_threads(nb);
}

void idx_fill_mapped(struct idx *x)
{
    struct fill_job j[PAR_MAX_THREADS];
    uint32_t nb;
    size_t nt;

    if (x->nmapped == 0)
        return;
    nb = (uint32_t)((x->nmapped + x->blk_recs - 1) / x->blk_recs);
    nt = fill_threads(x, nb);
    for (size_t k = 0; k < nt; k++)
        j[k] = (struct fill_job){ x, (uint32_t)(nb * k / nt), (uint32_t)(nb * (k + 1) / nt),
                                  { 0, 0 } };
    par_run(fill_run, j, sizeof j[0], nt);
    for (size_t k = 0; k < nt; k++)
        fill_acc_add(x, &j[k].acc);
}

void idx_peek(struct idx *x, size_t i, int64_t *date, int64_t *mtime, uint32_t *id)
{
    uint32_t b;
    struct idx_frec r;

    if (idx_ready(x, i)) {
        *date = x->m[i].date;
        *mtime = x->m[i].mtime;
        *id = x->m[i].id;
        return;
    }
    b = (uint32_t)(i / x->blk_recs);
    if (x->blk_state[b] != BLK_UNCHECKED && x->blk_mem[b].rec)
        memcpy(&r, x->blk_mem[b].rec + (i - (size_t)b * x->blk_recs) * sizeof r, sizeof r);
    else if (!img_read(x, x->recs_off + i * sizeof r, sizeof r, (char *)&r, NULL))
        memset(&r, 0, sizeof r);    /* unreadable: its block will say so when it is read */
    *date = r.date;
    *mtime = r.mtime;
    *id = (uint32_t)i + 1;          /* what idx_load_rec will give it */
}

bool idx_peek_name(struct idx *x, size_t i, char *out, size_t cap, bool *in_new)
{
    struct idx_frec r;
    uint64_t off;
    size_t n;
    const char *src = NULL, *z;

    if (idx_ready(x, i) || cap == 0)
        return false;
    if (x->jren_n) {
        const struct jren *j = &x->jren[jren_slot(x, (uint32_t)i + 1)];

        if (j->key) {
            if (strlen(j->name) >= cap)
                return false;
            memcpy(out, j->name, strlen(j->name) + 1);
            *in_new = j->in_new != 0;
            return true;
        }
    }
    if (!img_read(x, x->recs_off + i * sizeof r, sizeof r, (char *)&r, NULL))
        return false;
    off = r.str[F_NAME];
    if (off == 0 || off >= x->strtab_size)
        return false;
    n = x->strtab_size - off < cap ? (size_t)(x->strtab_size - off) : cap;
    if (!img_read(x, x->strtab_off + off, n, out, &src))
        return false;
    if ((z = memchr(src, '\0', n)) == NULL || z == src || memchr(src, '/', (size_t)(z - src)))
        return false;
    if (src != out)
        memcpy(out, src, (size_t)(z - src) + 1);
    *in_new = (r.bits & 1) != 0;
    return true;
}

void idx_rename_unread(struct idx *x, size_t i, const char *name, bool in_new)
{
    jren_put(x, i, name, in_new);
}

/* Up to how many records every block is checked at open ($TERN_INDEX_EAGER_MAX for tests). */
static size_t eager_max(void)
{
    return (size_t)str_env_long("TERN_INDEX_EAGER_MAX", 0, 1L << 30, IDX_EAGER_RECS);
}

/* Check the header and block table of an image or file of n bytes, and set x up to read
 * its entries when they are first used. */
static int load_head(struct idx *x, size_t n, bool verify, struct err *e)
{
    struct idx_fhdr h;
    size_t blk_len, recs_len, hash_len, nb;
    char first, last;

    if (x->n != 0)
        return err_set(e, ERR_PARSE, "index: loaded twice");
    if (n < sizeof h || !img_read(x, 0, sizeof h, (char *)&h, NULL))
        return err_set(e, ERR_PARSE, "index: truncated header");
    if (memcmp(h.magic, IDX_MAGIC, 8) != 0 || h.endian != IDX_ENDIAN ||
        h.rec_size != sizeof(struct idx_frec))
        return err_set(e, ERR_PARSE, "index: not a tern index of this version");
    if (h.blk_recs == 0 || h.blk_recs > (1u << 20))
        return err_set(e, ERR_PARSE, "index: bad block size");
    nb = ((size_t)h.count + h.blk_recs - 1) / h.blk_recs;
    if (h.nblocks != nb || h.file_size != n)
        return err_set(e, ERR_PARSE, "index: size mismatch (truncated?)");
    /* count < 2^32, records 64 bytes, blocks 16: no overflow on 64-bit size_t; n bounds it */
    if ((uint64_t)h.count > (uint64_t)(n / sizeof(struct idx_frec)))
        return err_set(e, ERR_PARSE, "index: size mismatch (truncated?)");
    blk_len = nb * sizeof(struct idx_fblk);
    recs_len = (size_t)h.count * sizeof(struct idx_frec);
    hash_len = (size_t)h.count * (sizeof(uint64_t) + sizeof(uint32_t));
    if (n - sizeof h < blk_len || n - sizeof h - blk_len < recs_len ||
        n - sizeof h - blk_len - recs_len < hash_len || h.strtab_size == 0 ||
        n - sizeof h - blk_len - recs_len - hash_len != h.strtab_size)
        return err_set(e, ERR_PARSE, "index: size mismatch (truncated?)");
    x->recs_off = sizeof h + blk_len;
    x->strtab_off = x->recs_off + recs_len;
    x->strtab_size = h.strtab_size;
    x->hash_off = x->strtab_off + h.strtab_size;
    x->hash_sum = h.hash_sum;
    if (!img_read(x, x->strtab_off, 1, &first, NULL) ||
        !img_read(x, x->strtab_off + h.strtab_size - 1, 1, &last, NULL) ||
        first != '\0' || last != '\0')
        return err_set(e, ERR_PARSE, "index: bad string table");
    free(x->blktab);
    x->blktab = xmalloc(blk_len + 1);
    if (!img_read(x, sizeof h, blk_len, x->blktab, NULL))
        return err_set(e, ERR_PARSE, "index: size mismatch (truncated?)");
    if (verify) {
        struct idx_fhdr z = h;
        struct csum c;

        z.hdr_sum = 0;
        csum_init(&c);
        csum_add(&c, &z, sizeof z);
        csum_add(&c, x->blktab, blk_len);
        if (csum_final(&c) != h.hdr_sum)
            return err_set(e, ERR_PARSE, "index: checksum mismatch");
    }
    x->nblocks = (uint32_t)nb;
    for (uint32_t b = 0; b < nb; b++) {
        uint64_t o = blk_get(x, b).str_off;

        if (o == 0 || o > h.strtab_size || (b > 0 && o < blk_get(x, b - 1).str_off))
            return err_set(e, ERR_PARSE, "index: bad block table");
    }
    x->blk_recs = h.blk_recs;
    x->verify = verify;
    x->blk_state = xcalloc(nb + 1, 1);
    x->blk_mem = xcalloc(nb + 1, sizeof *x->blk_mem);
    x->nmapped = h.count;
    x->ready = xcalloc(h.count / 64 + 1, sizeof *x->ready);
    /* calloc of a large array maps zero pages: untouched entries cost no memory */
    free(x->m);
    free(x->fpos);
    x->cap = (size_t)h.count + h.count / 8 + 1024;
    x->m = xcalloc(x->cap, sizeof *x->m);
    x->fpos = xmalloc(x->cap * sizeof *x->fpos);
    for (uint32_t i = 0; i < h.count; i++)
        x->fpos[i] = i;
    x->nfile = h.count;
    x->base_sum = h.hdr_sum;
    x->base_size = n;
    x->base_count = h.count;
    x->n = h.count;
    x->next_id = h.count + 1;
    x->sorted = (h.flags & IDXF_DATE_ORDER) ? h.count : 0;
    x->counts.total = h.count;
    x->counts.unread = h.n_unread;
    x->counts.flagged = h.n_flagged;
    x->counts.in_new = h.n_new;
    x->counts.trashed = h.n_trashed;
    x->stamp.new_mtime = h.new_mtime;
    x->stamp.cur_mtime = h.cur_mtime;
    x->listed_at = h.listed_at;
    x->have_stamp = true;
    if (verify && h.count <= eager_max()) {
        for (uint32_t b = 0; b < nb; b++) {
            blk_load(x, b, NULL);
            if (x->blk_state[b] != BLK_GOOD) {
                idx_forget_map(x);
                return err_set(e, ERR_PARSE, "index: checksum mismatch");
            }
        }
    }
    return 0;
}

int idx_load_image(struct idx *x, const void *p, size_t n, bool verify_checksum,
                   struct err *e)
{
    int rc;

    x->img = p;
    x->img_len = n;
    x->fd = -1;
    rc = load_head(x, n, verify_checksum, e);
    if (rc < 0)
        idx_forget_map(x);
    return rc;
}

void idx_forget_map(struct idx *x)
{
    for (uint32_t b = 0; x->blk_mem && b < x->nblocks; b++)
        free(x->blk_mem[b].own);
    free(x->blk_mem);
    free(x->ready);
    free(x->blk_state);
    free(x->blktab);
    free(x->jren);
    free(x->jgone);
    x->jren = NULL;
    x->jgone = NULL;
    x->jren_n = x->jren_cap = 0;
    x->blk_mem = NULL;
    x->ready = NULL;
    x->blk_state = NULL;
    x->blktab = NULL;
    x->nblocks = 0;
    x->nmapped = x->n = 0;
    x->ngone = 0;
    x->have_stamp = false;
    x->sorted = 0;
    x->damaged = false;
    memset(&x->counts, 0, sizeof x->counts);
    x->next_id = 1;
    x->nfile = 0;
    x->base_sum = 0;
    x->jok = false;
}

/* Entries read from blocks point into their memory: it is freed with the index only. */
void idx_unmap(struct idx *x)
{
    idx_forget_map(x);
    if (x->fd >= 0)
        close(x->fd);
    x->fd = -1;
    x->img = NULL;
}

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
    x->fd = fd;
    x->img = NULL;
    if (load_head(x, (size_t)st.st_size, true, &e) < 0) {
        idx_forget_map(x);
        close(fd);
        x->fd = -1;
        x->stats.cache_bad = true;
        return;
    }
    idx_jnl_load(x);
    x->stats.cached = x->n;
}

void idx_read_all(const struct idx *x)
{
    /* filling is a cache: the index is logically const to callers (as in idx_msg) */
    idx_load_all((struct idx *)x);
}

/* ---- saving ---- */

struct writer {
    int fd;
    char buf[65536];
    size_t len;
    bool failed;
};

static void w_flush(struct writer *w)
{
    if (w->len && !w->failed && fs_write_all(w->fd, w->buf, w->len) < 0)
        w->failed = true;
    w->len = 0;
}

/* Write n bytes, adding them to the block checksum c. */
static void w_add(struct writer *w, struct csum *c, const void *p, size_t n)
{
    const char *s = p;

    csum_add(c, p, n);
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
    case F_REFS: return m->references;
    case F_FROM_ADDR: return m->from_addr;
    default: return m->to_addrs;
    }
}

/* The header and block table, with their checksum, at the start of the file. */
static int write_head(int fd, struct idx_fhdr *h, const struct idx_fblk *blk, size_t nb)
{
    struct csum c;
    struct buf b = BUF_INIT;
    int rc;

    h->hdr_sum = 0;
    csum_init(&c);
    csum_add(&c, h, sizeof *h);
    csum_add(&c, blk, nb * sizeof *blk);
    h->hdr_sum = csum_final(&c);
    buf_add(&b, h, sizeof *h);
    buf_add(&b, blk, nb * sizeof *blk);
    rc = pwrite(fd, b.ptr, b.len, 0) == (ssize_t)b.len ? 0 : -1;
    buf_free(&b);
    return rc;
}

/* Header fields that describe the live entries: count and counts (the string table's size
 * comes from writing the body, body_write). */
static void head_for(const struct idx *x, struct idx_fhdr *h, size_t *live)
{
    memset(h, 0, sizeof *h);
    *live = 0;
    for (size_t i = 0; i < x->n; i++) {
        const struct idx_msg *m = &x->m[i];

        if (m->gone)
            continue;
        (*live)++;
        h->n_unread += !(m->flags & MDF_SEEN);
        h->n_flagged += (m->flags & MDF_FLAGGED) != 0;
        h->n_new += m->in_new;
        h->n_trashed += (m->flags & MDF_TRASHED) != 0;
    }
    memcpy(h->magic, IDX_MAGIC, 8);
    h->endian = IDX_ENDIAN;
    h->rec_size = sizeof(struct idx_frec);
    h->count = (uint32_t)*live;
    h->flags = IDXF_DATE_ORDER;
    h->blk_recs = IDX_BLK_RECS;
    h->nblocks = (uint32_t)((*live + IDX_BLK_RECS - 1) / IDX_BLK_RECS);
    if (x->have_stamp) {
        h->new_mtime = x->stamp.new_mtime;
        h->cur_mtime = x->stamp.cur_mtime;
        h->listed_at = x->listed_at;
    }
}

/*
 * The body: every record, then every string, in the order given; each block's checksum
 * covers its records and then its strings. Written in rounds of blocks, each round on
 * several threads, each thread a share of whole blocks, in two passes: the first reads the
 * entries once (their strings lie scattered over memory: reading them twice cost as much as
 * the rest of the writing) into the share's records and strings, with offsets from the
 * share's start, and computes the name hashes; once the running sum over the round's blocks
 * tells where each share's strings go, the second makes the offsets final, sums each block
 * and writes it. A round holds a few megabytes a thread, whatever the folder's size.
 */
#define BODY_ROUND_BLOCKS 16    /* blocks a thread fills in one round */

struct body_share {
    const struct idx *x;
    const uint32_t *order;
    size_t live;
    struct idx_fblk *blk;       /* str_off: a block's string bytes, then where they start */
    uint32_t b0, b1;            /* this share's blocks */
    uint32_t round_end;         /* the first block after the round */
    struct idx_frec *recs;      /* their records: string offsets + 1 into strs, 0 for none */
    struct buf strs;            /* their strings, block after block */
    uint64_t *hv;               /* the records' name hashes and checks */
    uint32_t *cv;
    uint64_t str_end;           /* where the round's strings end in the table */
    int fd;
    uint64_t rec_at, str_at;    /* file offsets of record 0 and of string offset 0 */
    bool failed;
};

static size_t blk_end(size_t b, size_t live)
{
    size_t end = (b + 1) * IDX_BLK_RECS;

    return end < live ? end : live;
}

static void body_record(struct body_share *j, size_t k, struct idx_frec *r)
{
    const struct idx_msg *m = &j->x->m[j->order[k]];

    memset(r, 0, sizeof *r);
    for (int f = 0; f < F_NSTR; f++) {
        const char *s = msg_str(m, f);

        if (s[0]) {
            r->str[f] = (uint32_t)j->strs.len + 1;
            buf_add(&j->strs, s, strlen(s) + 1);
        }
    }
    r->bits = (m->in_new ? 1u : 0u) | (uint32_t)m->crypt << 1;
    r->date = m->date;
    r->mtime = m->mtime;
    r->size = m->size;
    j->hv[k] = idx_uniq_hash(m->name, m->uniq_len);
    j->cv[k] = idx_name_check(m->name, m->in_new);
}

static void *body_fill_run(void *arg)
{
    struct body_share *j = arg;
    size_t k0 = (size_t)j->b0 * IDX_BLK_RECS;

    j->recs = xmalloc((blk_end(j->b1 - 1, j->live) - k0 + 1) * sizeof *j->recs);
    for (uint32_t b = j->b0; b < j->b1; b++) {
        size_t at = j->strs.len;

        for (size_t k = (size_t)b * IDX_BLK_RECS; k < blk_end(b, j->live); k++)
            body_record(j, k, &j->recs[k - k0]);
        j->blk[b].str_off = j->strs.len - at;
    }
    return NULL;
}

static bool pwrite_all(int fd, const void *p, size_t n, uint64_t at)
{
    const char *s = p;

    while (n > 0) {
        ssize_t k = pwrite(fd, s, n, (off_t)at);

        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0)
            return false;
        s += k;
        n -= (size_t)k;
        at += (uint64_t)k;
    }
    return true;
}

static void share_free(struct body_share *j)
{
    free(j->recs);
    j->recs = NULL;
    buf_free(&j->strs);
}

static void *body_write_run(void *arg)
{
    struct body_share *j = arg;
    size_t k0 = (size_t)j->b0 * IDX_BLK_RECS, nrec = blk_end(j->b1 - 1, j->live) - k0;
    uint64_t base = j->blk[j->b0].str_off;

    for (size_t i = 0; i < nrec; i++)
        for (int f = 0; f < F_NSTR; f++)
            if (j->recs[i].str[f])
                j->recs[i].str[f] = (uint32_t)(base + j->recs[i].str[f] - 1);
    /* block by block, each written as it is summed: one write of a whole share was at
     * times many times slower in the kernel's copy */
    for (uint32_t b = j->b0; b < j->b1 && !j->failed; b++) {
        uint64_t end = b + 1 < j->round_end ? j->blk[b + 1].str_off : j->str_end;
        const struct idx_frec *r = &j->recs[(size_t)b * IDX_BLK_RECS - k0];
        size_t rlen = (blk_end(b, j->live) - (size_t)b * IDX_BLK_RECS) * sizeof *r;
        const char *str = j->strs.ptr + (j->blk[b].str_off - base);
        struct csum c;

        csum_init(&c);
        csum_add(&c, r, rlen);
        csum_add(&c, str, end - j->blk[b].str_off);
        j->blk[b].sum = csum_final(&c);
        j->failed = !pwrite_all(j->fd, r, rlen, j->rec_at + (size_t)b * IDX_BLK_RECS * sizeof *r) ||
                    !pwrite_all(j->fd, str, end - j->blk[b].str_off, j->str_at + j->blk[b].str_off);
    }
    share_free(j);
    return NULL;
}

/* One round: blocks [r0, r1) on at most nt threads (j: PAR_MAX_THREADS, j[0] the template),
 * their strings placed from *off on; false when a write failed or the string table
 * outgrows its 32-bit offsets (*too_large: then nothing of the round is written). */
static bool body_round(struct body_share *j, size_t nt, uint32_t r0, uint32_t r1, uint64_t *off,
                       bool *too_large)
{
    uint32_t rn = r1 - r0;
    bool ok = true;

    if (nt > rn)
        nt = rn;
    for (size_t k = 0; k < nt; k++) {
        if (k > 0)
            j[k] = j[0];
        j[k].b0 = r0 + (uint32_t)(rn * k / nt);
        j[k].b1 = r0 + (uint32_t)(rn * (k + 1) / nt);
        j[k].round_end = r1;
        j[k].strs = (struct buf)BUF_INIT;
    }
    par_run(body_fill_run, j, sizeof j[0], nt);
    for (uint32_t b = r0; b < r1; b++) {
        uint64_t size = j[0].blk[b].str_off;

        j[0].blk[b].str_off = *off;
        *off += size;
    }
    if (*off > UINT32_MAX) {
        *too_large = true;
        for (size_t k = 0; k < nt; k++)
            share_free(&j[k]);
        return false;
    }
    for (size_t k = 0; k < nt; k++)
        j[k].str_end = *off;
    par_run(body_write_run, j, sizeof j[0], nt);
    for (size_t k = 0; k < nt; k++)
        ok = ok && !j[k].failed;
    return ok;
}

/*
 * Write the body of live records (in order) at offset at of fd; false when a write failed
 * or the strings outgrow 32-bit offsets (*too_large). Fills the block table (offsets and
 * sums), the name hashes and checks (hv, cv) and *str_size, the string table's size.
 */
static bool body_write(const struct idx *x, const uint32_t *order, size_t live,
                       struct idx_fblk *blk, uint64_t *hv, uint32_t *cv, int fd, uint64_t at,
                       uint64_t *str_size, bool *too_large)
{
    struct body_share j[PAR_MAX_THREADS];
    uint32_t nb = (uint32_t)((live + IDX_BLK_RECS - 1) / IDX_BLK_RECS);
    size_t nt = nb > 1 ? par_threads(nb) : 1;
    /* $TERN_INDEX_ROUND: the tests make rounds of one block */
    uint32_t per = (uint32_t)(nt * (size_t)str_env_long("TERN_INDEX_ROUND", 1, 1 << 20,
                                                         BODY_ROUND_BLOCKS));
    uint64_t off = 1;           /* offset 0 is "" (before block 0's strings) */
    bool ok = true;

    *too_large = false;
    j[0] = (struct body_share){ .x = x, .order = order, .live = live, .blk = blk, .hv = hv,
                                .cv = cv, .fd = fd, .rec_at = at,
                                .str_at = at + live * sizeof(struct idx_frec) };
    for (uint32_t r0 = 0; r0 < nb && ok; r0 += per)
        ok = body_round(j, nt, r0, nb - r0 > per ? r0 + per : nb, &off, too_large);
    *str_size = off;
    return ok && pwrite_all(fd, "", 1, j[0].str_at);
}

/* The name hashes and checks, in record order; their checksum goes in the header. */
static uint64_t write_hashes(struct writer *w, const uint64_t *hv, const uint32_t *cv,
                             size_t live)
{
    struct csum c;

    csum_init(&c);
    w_add(w, &c, hv, live * sizeof *hv);
    w_add(w, &c, cv, live * sizeof *cv);
    w_flush(w);
    return csum_final(&c);
}

bool idx_file_hashes(struct idx *x, uint64_t *out, uint32_t *chk)
{
    size_t len = x->nmapped * sizeof *out, clen = x->nmapped * sizeof *chk;
    const char *where = NULL, *cwhere = NULL;

    if (x->nmapped == 0 || !img_read(x, x->hash_off, len, (char *)out, &where))
        return false;
    if (where != (const char *)out)
        memcpy(out, where, len);
    if (!img_read(x, x->hash_off + len, clen, (char *)chk, &cwhere))
        return false;
    if (cwhere != (const char *)chk)
        memcpy(chk, cwhere, clen);
    if (x->verify) {
        struct csum c;

        csum_init(&c);
        csum_add(&c, out, len);
        csum_add(&c, chk, clen);
        return csum_final(&c) == x->hash_sum;
    }
    return true;
}

bool idx_pending_name(const struct idx *x, size_t i, const char **name, bool *in_new)
{
    const struct jren *j;

    if (x->jren_n == 0)
        return false;
    j = &x->jren[jren_slot(x, (uint32_t)i + 1)];
    if (j->key == 0)
        return false;
    *name = j->name;
    *in_new = j->in_new != 0;
    return true;
}

/* ---- the journal: CACHE.log ----
 *
 *   struct jhdr      the cache file it extends (its hdr_sum and count)
 *   entries          struct jent + payload padded to 8 bytes, each with its checksum:
 *     J_RENAME  file position, in new/, the new file name
 *     J_REMOVE  file position
 *     J_ADD     file position (the next one), a record's numbers and its strings
 *     J_STAMP   the directory stamp and the counts after the entries before it
 *
 * A save appends the changes since the last save and a stamp in one write, without fsync.
 * A load replays up to the last stamp of an unbroken chain; a torn or foreign journal is
 * ignored (the directory stamp is then older than the directories and they are read again)
 * and the next save rewrites the cache, which removes the journal. The journal is never
 * truncated in place, so a process that still holds the old one appends to a file nobody
 * reads.
 */
#define JNL_MAGIC "TERNJNL1"

struct jhdr {
    char magic[8];
    uint64_t base_sum;
    uint32_t base_count;
    uint32_t reserved;
};

struct jent {
    uint32_t len;            /* payload bytes (the payload is padded to 8) */
    uint16_t kind;
    uint16_t reserved;
    uint64_t sum;            /* of the payload */
};

enum { J_STAMP = 1, J_RENAME, J_REMOVE, J_ADD };

struct jstamp {
    int64_t new_mtime, cur_mtime, listed_at;
    uint32_t total, unread, flagged, in_new, trashed, reserved;
};

struct jadd {
    uint32_t fpos, bits;
    int64_t date, mtime;
    uint64_t size;
};

_Static_assert(sizeof(struct jhdr) == 24, "journal header layout");
_Static_assert(sizeof(struct jent) == 16, "journal entry layout");
_Static_assert(sizeof(struct jstamp) == 48, "journal stamp layout");
_Static_assert(sizeof(struct jadd) == 32, "journal add layout");

static uint64_t sum_of(const void *p, size_t n)
{
    struct csum c;

    csum_init(&c);
    csum_add(&c, p, n);
    return csum_final(&c);
}

static void jnl_entry(struct buf *b, int kind, const void *p, size_t n)
{
    struct jent e = { (uint32_t)n, (uint16_t)kind, 0, sum_of(p, n) };
    static const char pad[8];

    buf_add(b, &e, sizeof e);
    buf_add(b, p, n);
    buf_add(b, pad, (8 - n % 8) % 8);
}

static bool journaling(const struct idx *x)
{
    return x->jok && !x->replaying && !(x->oflags & IDX_NO_SAVE);
}

void idx_jnl_rename_to(struct idx *x, size_t i, const char *name, bool in_new)
{
    struct buf p = BUF_INIT;
    uint32_t head[2] = { x->fpos[i], in_new };

    if (!journaling(x))
        return;
    buf_add(&p, head, sizeof head);
    buf_add(&p, name, strlen(name) + 1);
    jnl_entry(&x->jbuf, J_RENAME, p.ptr, p.len);
    buf_free(&p);
}

void idx_jnl_rename(struct idx *x, size_t i)
{
    idx_jnl_rename_to(x, i, x->m[i].name, x->m[i].in_new);
}

void idx_jnl_remove(struct idx *x, size_t i)
{
    if (journaling(x))
        jnl_entry(&x->jbuf, J_REMOVE, &x->fpos[i], sizeof x->fpos[i]);
}

void idx_jnl_add(struct idx *x, size_t i)
{
    const struct idx_msg *m = &x->m[i];
    struct jadd a = { x->fpos[i], (m->in_new ? 1u : 0u) | (uint32_t)m->crypt << 1, m->date,
                      m->mtime, m->size };
    struct buf p = BUF_INIT;

    if (!journaling(x))
        return;
    buf_add(&p, &a, sizeof a);
    for (int f = 0; f < F_NSTR; f++) {
        const char *s = msg_str(m, f);

        buf_add(&p, s, strlen(s) + 1);
    }
    jnl_entry(&x->jbuf, J_ADD, p.ptr, p.len);
    buf_free(&p);
}

static char *jnl_path_of(const char *cache_path)
{
    struct buf b = BUF_INIT;

    buf_printf(&b, "%s.log", cache_path);
    return buf_detach(&b);
}

static char *jnl_path(const struct idx *x)
{
    return jnl_path_of(x->cache_path);
}

/* The NUL-terminated strings of a payload tail: nstr of them, each ending inside it. */
static bool split_strings(const char *p, size_t n, const char **out, int nstr)
{
    for (int k = 0; k < nstr; k++) {
        const char *z = memchr(p, '\0', n);

        if (z == NULL)
            return false;
        out[k] = p;
        n -= (size_t)(z - p) + 1;
        p = z + 1;
    }
    return true;
}

/* One pass over the entries up to end: check them (apply false) or apply them. Returns the
 * offset after the last stamp of an unbroken, valid chain (0 when none). */
static size_t jnl_walk(struct idx *x, const char *j, size_t end, bool apply)
{
    size_t off = sizeof(struct jhdr), good = 0, n = x->n;

    while (end - off >= sizeof(struct jent)) {
        struct jent e;
        const char *p = j + off + sizeof e;
        const char *s[F_NSTR];
        uint32_t head[2];

        memcpy(&e, j + off, sizeof e);
        /* the applying pass walks what the checking pass passed: no checksum again */
        if (e.len > end - off - sizeof e || (e.len + 7) / 8 * 8 > end - off - sizeof e ||
            (!apply && sum_of(p, e.len) != e.sum))
            break;
        switch (e.kind) {
        case J_STAMP: {
            struct jstamp st;

            if (e.len != sizeof st)
                return good;
            memcpy(&st, p, sizeof st);
            if (apply) {
                x->stamp.new_mtime = st.new_mtime;
                x->stamp.cur_mtime = st.cur_mtime;
                x->listed_at = st.listed_at;
                x->counts = (struct idx_counts){ st.total, st.unread, st.flagged, st.in_new,
                                                 st.trashed };
                x->have_stamp = true;
            }
            break;
        }
        case J_RENAME:
            if (e.len < sizeof head + 2)
                return good;
            memcpy(head, p, sizeof head);
            if (head[0] >= n || p[e.len - 1] != '\0' || p[sizeof head] == '\0' ||
                strchr(p + sizeof head, '/') != NULL)
                return good;
            if (apply) {
                /* an entry not read yet gets the name when it is read: replaying reads
                 * no block */
                if (idx_ready(x, head[0]))
                    idx_msg_set_name(&x->m[head[0]], p + sizeof head, head[1] != 0);
                else
                    jren_put(x, head[0], p + sizeof head, head[1]);
            }
            break;
        case J_REMOVE:
            if (e.len != sizeof head[0])
                return good;
            memcpy(head, p, sizeof head[0]);
            if (head[0] >= n)
                return good;
            if (apply && !idx_is_gone(x, head[0])) {
                if (idx_ready(x, head[0])) {
                    x->m[head[0]].gone = true;
                } else {
                    if (x->jgone == NULL)
                        x->jgone = xcalloc(x->nmapped / 64 + 1, sizeof *x->jgone);
                    x->jgone[head[0] / 64] |= (uint64_t)1 << (head[0] % 64);
                }
                x->ngone++;
                x->ngone_replayed++;
            }
            break;
        case J_ADD: {
            struct jadd a;

            if (e.len < sizeof a)
                return good;
            memcpy(&a, p, sizeof a);
            if (a.fpos != n || !split_strings(p + sizeof a, e.len - sizeof a, s, F_NSTR) ||
                s[F_NAME][0] == '\0' || strchr(s[F_NAME], '/') != NULL)
                return good;
            if (apply) {
                struct idx_msg *m;

                idx_reserve(x, n + 1);
                m = &x->m[n];
                memset(m, 0, sizeof *m);
                fill_entry(m, s, a.bits, a.date, a.mtime, a.size);
                m->id = x->next_id++;
                x->fpos[n] = a.fpos;
                x->n = n + 1;
            }
            n++;
            break;
        }
        default:
            return good;
        }
        off += sizeof e + (e.len + 7) / 8 * 8;
        if (e.kind == J_STAMP)
            good = off;
    }
    return good;
}

int idx_replay_journal(struct idx *x, char *j, size_t len, struct err *e)
{
    struct jhdr h;
    size_t good;

    if (len < sizeof h)
        return err_set(e, ERR_PARSE, "index journal: truncated header");
    memcpy(&h, j, sizeof h);
    if (memcmp(h.magic, JNL_MAGIC, 8) != 0 || h.base_sum != x->base_sum ||
        h.base_count != x->base_count || x->n != x->base_count)
        return err_set(e, ERR_PARSE, "index journal: not for this index");
    good = jnl_walk(x, j, len, false);      /* check everything before changing anything */
    if (good == 0)
        return err_set(e, ERR_PARSE, "index journal: no complete change");
    x->replaying = true;
    jnl_walk(x, j, good, true);
    x->replaying = false;
    x->nfile = (uint32_t)x->n;
    /* a torn tail: appending after it would be lost, so the next save rewrites */
    x->jok = good == len;
    x->jsize = len;
    return 0;
}

/*
 * The stamp the cache of dir would be trusted with: its header's, or the journal's last
 * entry's when the journal is whole and belongs to that cache. False without a usable cache
 * (or with a journal that would not be trusted: the directories then get read).
 */
static bool last_stamp(const char *dir, struct maildir_stamp *was, int64_t *listed_at,
                       size_t *count)
{
    char *path = idx_cache_for(dir, 0), *jp;
    struct idx_fhdr h;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    bool ok;

    ok = fd >= 0 && pread(fd, &h, sizeof h, 0) == (ssize_t)sizeof h &&
         memcmp(h.magic, IDX_MAGIC, 8) == 0 && h.endian == IDX_ENDIAN &&
         h.rec_size == sizeof(struct idx_frec);
    if (fd >= 0)
        close(fd);
    if (!ok) {
        free(path);
        return false;
    }
    was->new_mtime = h.new_mtime;
    was->cur_mtime = h.cur_mtime;
    *listed_at = h.listed_at;
    *count = h.count;
    jp = jnl_path_of(path);
    fd = open(jp, O_RDONLY | O_CLOEXEC);
    free(jp);
    free(path);
    if (fd >= 0) {
        struct jhdr jh;
        struct jent e;
        struct jstamp st;
        struct stat sb;
        off_t end;

        ok = fstat(fd, &sb) == 0 && sb.st_size >= (off_t)(sizeof jh + sizeof e + sizeof st) &&
             pread(fd, &jh, sizeof jh, 0) == (ssize_t)sizeof jh &&
             memcmp(jh.magic, JNL_MAGIC, 8) == 0 && jh.base_sum == h.hdr_sum;
        end = ok ? sb.st_size : 0;
        ok = ok && pread(fd, &e, sizeof e, end - (off_t)(sizeof e + sizeof st)) ==
                       (ssize_t)sizeof e &&
             pread(fd, &st, sizeof st, end - (off_t)sizeof st) == (ssize_t)sizeof st &&
             e.kind == J_STAMP && e.len == sizeof st && e.sum == sum_of(&st, sizeof st);
        close(fd);
        if (!ok)
            return false;
        was->new_mtime = st.new_mtime;
        was->cur_mtime = st.cur_mtime;
        *listed_at = st.listed_at;
        *count = st.total;
    }
    return true;
}

int idx_fresh(const char *dir, size_t *count)
{
    struct maildir_stamp was, now;
    int64_t listed_at;
    size_t n = 0;
    bool ok = last_stamp(dir, &was, &listed_at, &n) && maildir_stamp(dir, &now, NULL) == 0;

    if (count)
        *count = ok ? n : 0;
    return ok && now.new_mtime == was.new_mtime && now.cur_mtime == was.cur_mtime ? 1 : 0;
}

/* After loading the cache: replay its journal when there is one for it. */
static void idx_jnl_load(struct idx *x)
{
    char *path = jnl_path(x), *j;
    struct buf b = BUF_INIT;
    struct err e;
    size_t len;

    x->jok = true;
    x->jsize = 0;
    if (fs_read_file(path, &b, &e) < 0) {
        x->jok = access(path, F_OK) != 0;    /* absent: nothing to replay; unreadable: rewrite */
        free(path);
        buf_free(&b);
        return;
    }
    free(path);
    len = b.len;
    j = buf_detach(&b);         /* entries' names and strings will point into it */
    if (len == 0 || idx_replay_journal(x, j, len, &e) < 0) {
        x->jok = false;         /* the next save rewrites the cache and removes it */
        free(j);
        return;
    }
    x->jmem = j;
}

/* Append the pending changes and a stamp to the journal; -1 when the cache must be
 * rewritten instead (no journal for this cache, or the journal grew large). */
/*
 * When the journal is merged into the cache (the cache rewritten without it): past an eighth
 * of the cache, replaying it at every open costs more than the rewrite would. In a small
 * folder the save that crosses that line rewrites the cache at once (a few milliseconds).
 * In a large one the rewrite (0.1-0.5 s at 100,000 messages) is kept off the refresh:
 * idx_merge does it (`tern index`, which the client runs in the background when the folder
 * asks for it), and a save rewrites only past half the cache, when nothing merged it.
 * $TERN_INDEX_SMALL_CACHE and $TERN_INDEX_JNL_SLACK: the size of a small cache and the
 * journal's slack above those lines, for the tests.
 */
#define JNL_SMALL_CACHE (4L << 20)
#define JNL_SLACK 65536L

static uint64_t env_size(const char *name, long dflt)
{
    return (uint64_t)str_env_long(name, 0, 1L << 40, dflt);
}

static uint64_t jnl_merge_at(const struct idx *x)
{
    return x->base_size / 8 + env_size("TERN_INDEX_JNL_SLACK", JNL_SLACK);
}

static uint64_t jnl_cap(const struct idx *x)
{
    if (x->base_size < env_size("TERN_INDEX_SMALL_CACHE", JNL_SMALL_CACHE))
        return jnl_merge_at(x);
    return x->base_size / 2 + env_size("TERN_INDEX_JNL_SLACK", JNL_SLACK);
}

bool idx_wants_merge(const struct idx *x)
{
    return x->jok && !(x->oflags & IDX_NO_SAVE) && x->jsize > jnl_merge_at(x);
}

int idx_merge(struct idx *x, struct err *e)
{
    if (!idx_wants_merge(x))
        return 0;
    x->jok = false;             /* the save rewrites the cache and removes the journal */
    x->dirty = true;
    if (idx_save(x, e) < 0)
        return -1;
    return 1;
}

static int jnl_append(struct idx *x)
{
    struct jstamp st;
    struct jhdr h;
    struct stat sb;
    char *path;
    int fd, rc = -1;

    if (!x->jok || x->jsize + x->jbuf.len > jnl_cap(x))
        return -1;
    memset(&st, 0, sizeof st);
    st.new_mtime = x->stamp.new_mtime;
    st.cur_mtime = x->stamp.cur_mtime;
    st.listed_at = x->listed_at;
    st.total = (uint32_t)x->counts.total;
    st.unread = (uint32_t)x->counts.unread;
    st.flagged = (uint32_t)x->counts.flagged;
    st.in_new = (uint32_t)x->counts.in_new;
    st.trashed = (uint32_t)x->counts.trashed;
    if (!x->have_stamp)
        return -1;
    jnl_entry(&x->jbuf, J_STAMP, &st, sizeof st);
    path = jnl_path(x);
    fd = open(path, O_RDWR | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
    free(path);
    if (fd < 0 || fstat(fd, &sb) < 0)
        goto out;
    if (sb.st_size == 0) {
        memset(&h, 0, sizeof h);
        memcpy(h.magic, JNL_MAGIC, 8);
        h.base_sum = x->base_sum;
        h.base_count = x->base_count;
        if (fs_write_all(fd, &h, sizeof h) < 0)
            goto out;
    } else if (pread(fd, &h, sizeof h, 0) != (ssize_t)sizeof h ||
               memcmp(h.magic, JNL_MAGIC, 8) != 0 || h.base_sum != x->base_sum) {
        goto out;               /* someone rewrote the cache: ours is out of date */
    }
    if (getenv("TERN_INDEX_TEST_STOP")) {
        /* tests: a torn append, then stop to be killed (tests/integration/index-kill.sh) */
        if (fs_write_all(fd, x->jbuf.ptr, x->jbuf.len / 2) < 0)
            goto out;
        raise(SIGSTOP);
    }
    if (fs_write_all(fd, x->jbuf.ptr, x->jbuf.len) < 0)
        goto out;
    x->jsize = (uint64_t)sb.st_size + x->jbuf.len + (sb.st_size == 0 ? sizeof h : 0);
    rc = 0;
out:
    if (fd >= 0)
        close(fd);
    buf_reset(&x->jbuf);
    if (rc < 0)
        x->jok = false;
    return rc;
}

/*
 * The cache is written to a temporary name and renamed over the old one, without fsync:
 * it is only a cache, and a torn file after a crash fails the size or checksum tests and is
 * rebuilt. A kill during the write leaves only the temporary file, never a half cache.
 */
int idx_save(struct idx *x, struct err *e)
{
    struct idx_fhdr h;
    struct idx_fblk *blk = NULL;
    struct writer *w = NULL;
    struct buf tmp = BUF_INIT;
    size_t live;
    uint32_t *order = NULL, *cv = NULL;
    uint64_t *hv = NULL;
    bool too_large;
    int rc = -1;

    if (!x->dirty || (x->oflags & IDX_NO_SAVE))
        return 0;
    if (jnl_append(x) == 0) {
        x->dirty = false;
        return 0;
    }
    idx_load_all(x);
    head_for(x, &h, &live);
    blk = xcalloc(h.nblocks + 1, sizeof *blk);
    order = xmalloc((live + 1) * sizeof *order);
    for (size_t i = 0, k = 0; i < x->n; i++)
        if (!x->m[i].gone)
            order[k++] = (uint32_t)i;
    idx_sort(x, order, live, IDX_SORT_DATE, false);
    hv = xmalloc((live + 1) * sizeof *hv);
    cv = xmalloc((live + 1) * sizeof *cv);
    buf_printf(&tmp, "%s.tmp.%ld", x->cache_path, (long)getpid());
    w = xmalloc(sizeof *w);
    w->len = 0;
    w->failed = false;
    w->fd = open(tmp.ptr, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (w->fd < 0) {
        err_sys(e, "%s", tmp.ptr);
        goto out;
    }
    /* the header and block table go in last, when the checksums are known */
    if (!body_write(x, order, live, blk, hv, cv, w->fd, sizeof h + h.nblocks * sizeof *blk,
                    &h.strtab_size, &too_large)) {
        if (too_large) {
            err_set(e, ERR_SYS, "%s: index too large", x->cache_path);
            close(w->fd);
            unlink(tmp.ptr);
            goto out;
        }
        w->failed = true;
    }
    h.file_size = sizeof h + h.nblocks * sizeof *blk + live * sizeof(struct idx_frec) +
                  h.strtab_size + live * (sizeof(uint64_t) + sizeof(uint32_t));
    /* the hashes follow the strings */
    if (lseek(w->fd, (off_t)(sizeof h + h.nblocks * sizeof *blk +
                             live * sizeof(struct idx_frec) + h.strtab_size), SEEK_SET) < 0)
        w->failed = true;
    h.hash_sum = write_hashes(w, hv, cv, live);
    if (getenv("TERN_INDEX_TEST_STOP"))
        raise(SIGSTOP);         /* tests: killed here, mid-rewrite (index-kill.sh) */
    if (w->failed || write_head(w->fd, &h, blk, h.nblocks) < 0) {
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
    /* the journal now extends this file, which names its records by their order */
    x->base_sum = h.hdr_sum;
    x->base_size = h.file_size;
    x->base_count = h.count;
    for (size_t k = 0; k < live; k++)
        x->fpos[order[k]] = (uint32_t)k;
    x->nfile = h.count;
    x->jsize = 0;
    buf_reset(&x->jbuf);
    x->jok = true;
    {
        char *jp = jnl_path(x);

        unlink(jp);     /* never truncated: a holder of the old one appends to nothing */
        free(jp);
    }
    rc = 0;
out:
    free(order);
    free(hv);
    free(cv);
    free(w);
    free(blk);
    buf_free(&tmp);
    return rc;
}

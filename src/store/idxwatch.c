/*
 * The index's watch on a folder (Linux inotify on new/ and cur/): what other programs
 * rename, deliver or remove while the index is open is applied from the kernel's events,
 * without listing the directories. Anything in doubt (events lost, a directory replaced,
 * the watch not yet checked against the directories) leaves the refresh to the listing.
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#ifdef __linux__
#include <sys/inotify.h>
#include <sys/vfs.h>
#endif

#include "index_int.h"
#include "tern/fsutil.h"
#include "tern/maildir.h"
#include "tern/xalloc.h"

/* An event as the refresh sees it: a name left a directory or arrived there. */
struct wev {
    int kind;                   /* IDX_WEV_* */
    bool in_new;
    char *name;
};

struct idx_watch {
    int fd;
    int wd[2];                  /* new/, cur/ */
    bool verified;              /* a stamp check or listing came after the watch was armed */
    bool lost;                  /* events were lost since: the next refresh lists */
    bool broken;                /* a watched directory went away: the watch is given up */
    struct wev *inj;            /* injected by tests, applied before the kernel's */
    size_t ninj, capinj;
};

/* What one refresh collects from the events. */
struct drain {
    uint64_t *missing;          /* positions whose file left its name (until it comes back) */
    size_t *mlist, mn, mcap;
    struct idx_pending *adds;   /* names of no entry that arrived */
    size_t na, acap;
    bool *changed;
};

static bool bit(const uint64_t *b, size_t i)
{
    return b && (b[i / 64] >> (i % 64) & 1);
}

/* One event: a rename of a known message takes effect at once; a name that left waits for
 * the end of the drain (its pair may follow); an unknown one that arrived is read then. */
static void apply_one(struct idx *x, struct drain *d, int kind, bool in_new, const char *name)
{
    size_t ul;
    long pos;
    char buf[512];
    const char *cur;
    bool cur_new;

    if (name[0] == '.' || name[0] == '\0' || strchr(name, '/') != NULL)
        return;
    x->stats.events++;
    maildir_name_split(name, &ul);
    pos = idx_name_find(x, name, ul);
    if (kind == IDX_WEV_CAME) {
        if (pos < 0) {
            d->adds = xgrow(d->adds, d->na, &d->acap, sizeof *d->adds);
            d->adds[d->na].name = xstrdup(name);
            d->adds[d->na].in_new = in_new;
            d->na++;
            return;
        }
        cur = idx_entry_name(x, (size_t)pos, buf, sizeof buf, &cur_new);
        if (cur_new != in_new || strcmp(cur, name) != 0) {
            idx_entry_renamed(x, (size_t)pos, name, in_new);
            *d->changed = true;
        }
        if (bit(d->missing, (size_t)pos))
            d->missing[pos / 64] &= ~((uint64_t)1 << (pos % 64));
        return;
    }
    /* left: only the entry's own name counts (an older name is our own rename's echo) */
    if (pos < 0 || bit(d->missing, (size_t)pos))
        return;
    cur = idx_entry_name(x, (size_t)pos, buf, sizeof buf, &cur_new);
    if (cur_new != in_new || strcmp(cur, name) != 0)
        return;
    if (d->missing == NULL)
        d->missing = xcalloc(x->n / 64 + 1, sizeof *d->missing);
    d->missing[pos / 64] |= (uint64_t)1 << (pos % 64);
    d->mlist = xgrow(d->mlist, d->mn, &d->mcap, sizeof *d->mlist);
    d->mlist[d->mn++] = (size_t)pos;
}

#ifdef __linux__
/* Read what the kernel queued until it has nothing more. */
static void drain_fd(struct idx *x, struct idx_watch *w, struct drain *d)
{
    char buf[65536] __attribute__((aligned(__alignof__(struct inotify_event))));

    while (w->fd >= 0) {
        ssize_t n = read(w->fd, buf, sizeof buf);

        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && errno == EAGAIN)
            return;
        if (n <= 0) {
            w->lost = true;
            return;
        }
        for (char *p = buf; p < buf + n;) {
            const struct inotify_event *ev = (const struct inotify_event *)p;

            p += sizeof *ev + ev->len;
            if (ev->mask & IN_Q_OVERFLOW) {
                w->lost = true;
            } else if (ev->mask & (IN_IGNORED | IN_UNMOUNT | IN_DELETE_SELF | IN_MOVE_SELF)) {
                w->broken = true;
            } else if (ev->len > 0 && !(ev->mask & IN_ISDIR) &&
                       (ev->wd == w->wd[0] || ev->wd == w->wd[1])) {
                int kind = ev->mask & (IN_MOVED_TO | IN_CREATE) ? IDX_WEV_CAME : IDX_WEV_GONE;

                apply_one(x, d, kind, ev->wd == w->wd[0], ev->name);
            }
        }
    }
}
#else
static void drain_fd(struct idx *x, struct idx_watch *w, struct drain *d)
{
    (void)x;
    (void)d;
    w->lost = true;
}
#endif

/* The unique part of an arrived name, and when it arrived. */
struct akey {
    const char *name;
    size_t ul, seq;
};

static int akey_cmp(const void *pa, const void *pb)
{
    const struct akey *a = pa, *b = pb;
    int c = memcmp(a->name, b->name, a->ul < b->ul ? a->ul : b->ul);

    if (c == 0)
        c = (a->ul > b->ul) - (a->ul < b->ul);
    return c ? c : (a->seq > b->seq) - (a->seq < b->seq);
}

/* Newest arrival wins among names of one message (created, then renamed, in one drain);
 * the others are freed. Keeps the order of arrival. */
static size_t dedup_adds(struct idx_pending *a, size_t n)
{
    struct akey *k;
    bool *drop;
    size_t o = 0;

    if (n < 2)
        return n;
    k = xcalloc(n, sizeof *k);
    drop = xcalloc(n, sizeof *drop);
    for (size_t i = 0; i < n; i++) {
        k[i].name = a[i].name;
        k[i].seq = i;
        maildir_name_split(a[i].name, &k[i].ul);
    }
    qsort(k, n, sizeof *k, akey_cmp);
    for (size_t i = 0; i + 1 < n; i++)
        if (k[i].ul == k[i + 1].ul && memcmp(k[i].name, k[i + 1].name, k[i].ul) == 0)
            drop[k[i].seq] = true;
    for (size_t i = 0; i < n; i++) {
        if (drop[i])
            free(a[i].name);
        else
            a[o++] = a[i];
    }
    free(k);
    free(drop);
    return o;
}

int idx_watch_apply(struct idx *x, bool *changed)
{
    struct idx_watch *w = x->watch;
    struct drain d;
    int rc;

    memset(&d, 0, sizeof d);
    d.changed = changed;
    for (size_t i = 0; i < w->ninj; i++) {
        if (w->inj[i].kind == IDX_WEV_LOST)
            w->lost = true;
        else
            apply_one(x, &d, w->inj[i].kind, w->inj[i].in_new, w->inj[i].name);
        free(w->inj[i].name);
    }
    w->ninj = 0;
    if (!w->broken)
        drain_fd(x, w, &d);
    if (d.mn > 0 && !w->broken && !w->lost)
        drain_fd(x, w, &d);     /* a rename's second half may be on its way */
    /* no stamp: the entries were dropped (a damaged cache) and only a listing refills them */
    rc = w->broken || w->lost || !w->verified || !x->have_stamp ? 1 : 0;
    if (w->broken && w->fd >= 0) {
        close(w->fd);
        w->fd = -1;
    }
    if (rc == 0) {
        /* what left and did not come back is gone; what arrived is read */
        for (size_t i = 0; i < d.mn; i++)
            if (bit(d.missing, d.mlist[i])) {
                idx_entry_gone(x, d.mlist[i]);
                *changed = true;
            }
        d.na = dedup_adds(d.adds, d.na);
        idx_add_files(x, d.adds, d.na, changed);
    } else {
        for (size_t i = 0; i < d.na; i++)
            free(d.adds[i].name);
    }
    free(d.adds);
    free(d.missing);
    free(d.mlist);
    return rc;
}

void idx_watch_verified(struct idx *x)
{
    if (x->watch) {
        x->watch->verified = true;
        x->watch->lost = false;
    }
}

#ifdef __linux__
/* File systems whose changes made elsewhere inotify does not see (network, FUSE). */
static bool remote_fs(const char *path)
{
    static const unsigned long remote[] = {
        0x6969,         /* NFS */
        0x517B,         /* SMB */
        0xFF534D42,     /* CIFS */
        0xFE534D42,     /* SMB2 */
        0x65735546,     /* FUSE */
        0x00C36400,     /* Ceph */
        0x01021997,     /* 9P */
        0x5346414F,     /* AFS */
        0x47504653,     /* GPFS */
        0x0BD00BD0,     /* Lustre */
    };
    struct statfs sf;

    if (statfs(path, &sf) < 0)
        return true;
    for (size_t i = 0; i < sizeof remote / sizeof remote[0]; i++)
        if ((unsigned long)sf.f_type == remote[i])
            return true;
    return false;
}
#endif

int idx_watch_start(struct idx *x)
{
#ifdef __linux__
    static const char *const subs[] = { "new", "cur" };
    const char *env = getenv("TERN_INDEX_WATCH");
    struct idx_watch *w;

    if (x->watch || (env && strcmp(env, "0") == 0))
        return x->watch ? 0 : -1;
    w = xcalloc(1, sizeof *w);
    w->fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
    for (int s = 0; s < 2 && w->fd >= 0; s++) {
        char *path = fs_join(x->dir, subs[s]);

        w->wd[s] = remote_fs(path) ? -1
                                   : inotify_add_watch(w->fd, path,
                                                       IN_CREATE | IN_DELETE | IN_MOVED_FROM |
                                                       IN_MOVED_TO | IN_DELETE_SELF |
                                                       IN_MOVE_SELF | IN_ONLYDIR);
        free(path);
        if (w->wd[s] < 0) {
            close(w->fd);
            w->fd = -1;
        }
    }
    if (w->fd < 0) {
        free(w);
        return -1;
    }
    x->watch = w;
    return 0;
#else
    (void)x;
    return -1;
#endif
}

void idx_watch_free(struct idx *x)
{
    struct idx_watch *w = x->watch;

    if (w == NULL)
        return;
    if (w->fd >= 0)
        close(w->fd);
    for (size_t i = 0; i < w->ninj; i++)
        free(w->inj[i].name);
    free(w->inj);
    free(w);
    x->watch = NULL;
}

int idx_watch_fd(const struct idx *x)
{
    return x->watch ? x->watch->fd : -1;
}

void idx_watch_inject(struct idx *x, int kind, bool in_new, const char *name)
{
    struct idx_watch *w = x->watch;

    if (w == NULL)
        return;
    w->inj = xgrow(w->inj, w->ninj, &w->capinj, sizeof *w->inj);
    w->inj[w->ninj].kind = kind;
    w->inj[w->ninj].in_new = in_new;
    w->inj[w->ninj].name = xstrdup(name ? name : "");
    w->ninj++;
}

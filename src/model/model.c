/* The open folder of the full-screen client: index, view (sort, limit, threads, search),
 * cursor by stable id, tags, and the operations on messages. No curses: the panes draw from
 * it and check_model tests it. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "tern/fsutil.h"
#include "tern/maildir.h"
#include "tern/model.h"
#include "tern/paths.h"
#include "tern/queue.h"
#include "tern/save.h"
#include "tern/str.h"
#include "tern/thread.h"
#include "tern/xalloc.h"

/* A sorted set of message ids: the tags, the collapsed threads. */
struct idset {
    uint32_t *v;
    size_t n, cap;
};

struct model {
    const struct config *cfg;    /* borrowed, may be NULL: role folders */
    char *root;
    char *name;
    char *dir;
    struct idx *x;
    struct idx_view v;
    struct thread_view tv;
    bool threads;
    enum idx_sort sort;
    bool reverse;
    struct idx_limit *lim;
    char *limit_text;
    struct idx_limit *search;
    bool show_to;               /* Sent, Drafts, Outbox: the recipient is what matters */
    bool outbox;
    bool merge_asked;           /* the journal's merge was asked for (once until it is done) */
    struct queue_entry *q;      /* Outbox: the queue's entries */
    size_t nq;
    struct queue_stamp qstamp;  /* ... as of these directory mtimes */
    time_t qread;               /* ... read then */
    size_t cur;                 /* cursor row */
    struct model_counts counts;
    size_t gone;
    struct maildir_stamp stamp; /* what the directories looked like when we last knew */
    struct idset tags;
    /* Threads: the rows shown (rows of tv; a collapsed thread shows its first row only),
     * how many each hides, and the collapsed threads by the id of their first message. */
    uint32_t *vis, *hidden;
    size_t nvis;
    struct idset collapsed;
};

/* ---- rows ---- */

size_t model_rows(const struct model *m)
{
    return m->threads ? m->nvis : m->v.n;
}

/* Index position of view row r. */
static size_t row_pos(const struct model *m, size_t r)
{
    return m->threads ? m->tv.rows[m->vis[r]].msg : m->v.v[r];
}

const struct idx_msg *model_row(const struct model *m, size_t r)
{
    return idx_msg(m->x, row_pos(m, r));
}

size_t model_row_of(const struct model *m, uint32_t id)
{
    size_t n = model_rows(m);
    long pos = idx_find_id(m->x, id);

    /* compare positions, not entries: a million rows are not read to find one */
    if (pos < 0)
        return SIZE_MAX;
    for (size_t r = 0; r < n; r++)
        if (row_pos(m, r) == (size_t)pos)
            return r;
    return SIZE_MAX;
}

char *model_row_tree(const struct model *m, size_t r, char *out, size_t outsz)
{
    if (outsz)
        out[0] = '\0';
    if (m->threads && r < m->nvis)
        thread_prefix(&m->tv, m->vis[r], out, outsz);
    return out;
}

size_t model_hidden(const struct model *m, size_t r)
{
    return m->threads && r < m->nvis ? m->hidden[r] : 0;
}

const struct queue_entry *model_queue_entry(const struct model *m, size_t r)
{
    const struct idx_msg *g = model_row(m, r);

    for (size_t i = 0; i < m->nq; i++)
        if (strlen(m->q[i].id) == g->uniq_len && memcmp(m->q[i].id, g->name, g->uniq_len) == 0)
            return &m->q[i];
    return NULL;
}

/* ---- counts, the Outbox, rebuilding ---- */

/* From the index's counts: no entry is read (a large folder's first screen reads only the
 * rows it shows). */
static void count(struct model *m)
{
    struct model_counts *c = &m->counts;
    struct idx_counts ic;

    idx_counts(m->x, &ic);
    /* Queued messages are ours, not mail to read: the Outbox has nothing unread. */
    c->unread = m->outbox ? 0 : ic.unread;
    c->flagged = ic.flagged;
    c->trashed = ic.trashed;
    c->in_new = m->outbox ? 0 : ic.in_new;
    m->gone = idx_count(m->x) - ic.total;
    c->total = ic.total;
    c->shown = m->v.n;
}

/* The queue's entries for the Outbox rows: reread only when its directories changed (a
 * 300-message flush must not cost a full reread per key or per refresh). */
static void load_queue(struct model *m)
{
    struct queue *q;
    struct err e;
    int changed;

    if (queue_open_cfg(m->cfg, m->root, &q, &e) < 0)
        return;
    changed = queue_changed(q, &m->qstamp);
    /* unchanged, or possibly changed but already reread this second */
    if (m->q != NULL && (changed == 0 || (changed == 2 && m->qread == time(NULL)))) {
        queue_close(q);
        return;
    }
    m->qread = time(NULL);
    queue_list_free(m->q, m->nq);
    m->q = NULL;
    m->nq = 0;
    if (queue_list(q, &m->q, &m->nq, NULL, &e) < 0) {
        m->q = NULL;
        m->nq = 0;
    }
    queue_close(q);
}

/* Tags name messages that still exist: drop the ones that are gone. */
/* ---- id sets: sorted, so that tagging or collapsing all of 100,000 messages stays quick ---- */

static size_t idset_slot(const struct idset *s, uint32_t id)
{
    size_t lo = 0, hi = s->n;

    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;

        if (s->v[mid] < id)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

static bool idset_has(const struct idset *s, uint32_t id)
{
    size_t i = idset_slot(s, id);

    return i < s->n && s->v[i] == id;
}

static void idset_put(struct idset *s, uint32_t id, bool on)
{
    size_t i = idset_slot(s, id);
    bool have = i < s->n && s->v[i] == id;

    if (on && !have) {
        s->v = xgrow(s->v, s->n, &s->cap, sizeof *s->v);
        memmove(s->v + i + 1, s->v + i, (s->n - i) * sizeof *s->v);
        s->v[i] = id;
        s->n++;
    } else if (!on && have) {
        memmove(s->v + i, s->v + i + 1, (s->n - i - 1) * sizeof *s->v);
        s->n--;
    }
}

/* Forget the ids of messages that are no longer there. */
static void idset_prune(struct idset *s, const struct model *m)
{
    size_t k = 0;

    for (size_t i = 0; i < s->n; i++)
        if (model_msg(m, s->v[i]) != NULL)
            s->v[k++] = s->v[i];
    s->n = k;
}

static void idset_free(struct idset *s)
{
    free(s->v);
}

/* A thread starts where the thread number changes. */
static bool thread_start(const struct thread_view *tv, size_t t)
{
    return t == 0 || tv->rows[t].thread != tv->rows[t - 1].thread;
}

/* The rows shown: every row of tv, but only the first of a collapsed thread. */
static void build_vis(struct model *m)
{
    size_t k = 0;
    bool coll = false;

    m->vis = xreallocarray(m->vis, m->tv.n ? m->tv.n : 1, sizeof *m->vis);
    m->hidden = xreallocarray(m->hidden, m->tv.n ? m->tv.n : 1, sizeof *m->hidden);
    for (size_t t = 0; t < m->tv.n; t++) {
        if (thread_start(&m->tv, t)) {
            coll = idset_has(&m->collapsed, idx_msg(m->x, m->tv.rows[t].msg)->id);
        } else if (coll) {
            m->hidden[k - 1]++;
            continue;
        }
        m->vis[k] = (uint32_t)t;
        m->hidden[k++] = 0;
    }
    m->nvis = k;
    idset_prune(&m->collapsed, m);
}

/* Rebuild the view after any change; the cursor stays on message id when it still exists
 * (the id must be taken before the index changes: positions move on refresh). */
static void rebuild_at(struct model *m, uint32_t id)
{
    size_t r, n;

    idx_view_build(m->x, &m->v, m->sort, m->reverse, m->lim);
    thread_view_free(&m->tv);
    m->nvis = 0;
    if (m->threads) {
        thread_build(m->x, m->v.v, m->v.n, m->sort, m->reverse, &m->tv);
        build_vis(m);
    }
    count(m);
    if (m->outbox)
        load_queue(m);
    idset_prune(&m->tags, m);
    n = model_rows(m);
    if (id != UINT32_MAX && (r = model_row_of(m, id)) != SIZE_MAX)
        m->cur = r;
    else if (m->cur >= n)
        m->cur = n ? n - 1 : 0;
}

static void rebuild(struct model *m)
{
    rebuild_at(m, model_cursor_id(m));
}

/* Where the cursor starts: the first unread message in view order, else the newest. */
static void initial_cursor(struct model *m)
{
    size_t n = model_rows(m), best = 0;
    int64_t newest = INT64_MIN;

    if (m->counts.unread == 0 && !m->threads && m->sort == IDX_SORT_DATE && n > 0) {
        /* nothing unread: the newest, which the date order puts at one end */
        m->cur = m->reverse ? 0 : n - 1;
        return;
    }
    for (size_t r = 0; r < n; r++) {
        const struct idx_msg *g = model_row(m, r);

        if (!(g->flags & (MDF_SEEN | MDF_TRASHED))) {
            m->cur = r;
            return;
        }
        if (g->date > newest) {
            newest = g->date;
            best = r;
        }
    }
    m->cur = best;
}

/* ---- open, close, refresh ---- */

/* Sent, Drafts, Outbox (any account's, by tern/paths.h) and their usual names elsewhere:
 * the recipient is what matters there. */
static bool is_recipient_folder(const char *root, const char *name, const struct config *cfg)
{
    enum path_role r = paths_role_of(cfg, root, name);
    const char *b = strrchr(name, '/');

    if (r == ROLE_SENT || r == ROLE_DRAFTS || r == ROLE_OUTBOX)
        return true;
    b = b ? b + 1 : name;
    if (*b == '.')
        b++;
    return str_casecmp(b, "Sent") == 0 || str_casecmp(b, "Drafts") == 0 ||
           str_casecmp(b, "Sent Messages") == 0;
}

int model_open(const char *root, const char *name, const struct config *cfg,
               struct model **out, struct err *e)
{
    struct model *m;
    char *dir = maildir_folder_path(root, name);

    *out = NULL;
    if (dir == NULL || !maildir_is_maildir(dir)) {
        free(dir);
        return err_set(e, ERR_SYS, "%s: no such folder", name);
    }
    m = xcalloc(1, sizeof *m);
    m->dir = dir;
    m->root = xstrdup(root);
    m->name = xstrdup(name);
    idx_view_init(&m->v);
    /* watched while open: others' changes are applied from the kernel's events */
    if (idx_open(dir, IDX_WATCH, &m->x, e) < 0) {
        model_close(m);
        return -1;
    }
    m->cfg = cfg;
    m->show_to = is_recipient_folder(root, name, cfg);
    m->outbox = paths_role_of(cfg, root, name) == ROLE_OUTBOX;
    rebuild_at(m, UINT32_MAX);
    initial_cursor(m);
    (void)maildir_stamp(dir, &m->stamp, e);
    *out = m;
    return 0;
}

void model_close(struct model *m)
{
    if (m == NULL)
        return;
    idx_close(m->x);
    idx_view_free(&m->v);
    thread_view_free(&m->tv);
    idx_limit_free(m->lim);
    idx_limit_free(m->search);
    queue_list_free(m->q, m->nq);
    free(m->limit_text);
    idset_free(&m->tags);
    free(m->vis);
    free(m->hidden);
    idset_free(&m->collapsed);
    free(m->dir);
    free(m->name);
    free(m->root);
    free(m);
}

size_t model_large_folder(void)
{
    return (size_t)str_env_long("TERN_BG_INDEX_MIN", 1, 100000000, 5000);
}

/* At least threshold messages in dir (counted by name, stopping there). */
struct at_least {
    size_t n, threshold;
};

static int count_to(const char *sub, const char *name, void *arg)
{
    struct at_least *c = arg;

    (void)sub;
    (void)name;
    return ++c->n >= c->threshold;
}

static bool has_at_least(const char *dir, size_t threshold)
{
    struct at_least c = { 0, threshold };

    return threshold == 0 || maildir_each(dir, count_to, &c) != 0;
}

bool model_needs_background_index(const char *dir)
{
    return !idx_fresh(dir, NULL) && has_at_least(dir, model_large_folder());
}

bool model_is_large(const struct model *m)
{
    return idx_count(m->x) >= model_large_folder();
}

const char *model_name(const struct model *m) { return m->name; }
const char *model_dir(const struct model *m) { return m->dir; }
bool model_show_to(const struct model *m) { return m->show_to; }
bool model_is_outbox(const struct model *m) { return m->outbox; }

/* By identity of the directory, not by name: "Trash", "./Trash" and an absolute path are one
 * folder, and expunging there is what removes mail for good. */
bool model_is_trash(const struct model *m)
{
    char *trash = paths_role_dir(m->cfg, m->root, NULL, ROLE_TRASH);
    struct stat a, b;
    bool same = trash && stat(trash, &a) == 0 && stat(m->dir, &b) == 0 && a.st_dev == b.st_dev &&
                a.st_ino == b.st_ino;

    free(trash);
    return same;
}

const struct model_counts *model_counts(const struct model *m) { return &m->counts; }
const struct idx *model_index(const struct model *m) { return m->x; }

/* A refresh by the watch alone (watch_only: 2 when it cannot tell) or, failing that, by
 * the stamp or a listing; the view follows. */
static int refresh(struct model *m, bool watch_only, struct err *e)
{
    size_t before = m->v.n;
    uint32_t id = model_cursor_id(m);
    int r = idx_refresh_watched(m->x, e);

    if (r == 2 && !watch_only)
        r = idx_refresh(m->x, e);
    if (r < 0 || r == 2)
        return r;
    /* what we know now includes our own renames: the directories' stamp with it */
    (void)maildir_stamp(m->dir, &m->stamp, e);
    if (r == 0) {
        if (m->outbox)
            load_queue(m);      /* a flush may have changed the states */
        return 0;
    }
    rebuild_at(m, id);
    if (m->v.n > before)
        m->counts.arrived += (long)(m->v.n - before);
    return 1;
}

int model_refresh(struct model *m, struct err *e)
{
    return refresh(m, false, e);
}

int model_refresh_watched(struct model *m, struct err *e)
{
    return refresh(m, true, e);
}

int model_add_new(struct model *m, char *const *names, size_t n)
{
    size_t before = m->v.n;
    uint32_t id = model_cursor_id(m);

    if (idx_add_new(m->x, names, n) == 0)
        return 0;
    rebuild_at(m, id);
    if (m->v.n > before)
        m->counts.arrived += (long)(m->v.n - before);
    return 1;
}

int model_watch_fd(const struct model *m)
{
    return idx_watch_fd(m->x);
}

bool model_changed(const struct model *m)
{
    return maildir_changed(m->dir, &m->stamp);
}

bool model_wants_merge(struct model *m)
{
    /* asked for once: a merge that failed (a cache that cannot be written) is not retried
     * at every refresh */
    if (!idx_wants_merge(m->x)) {
        m->merge_asked = false;
        return false;
    }
    if (m->merge_asked)
        return false;
    m->merge_asked = true;
    return true;
}

int model_reload(struct model *m, struct err *e)
{
    struct idx *x;
    char *uniq = NULL;
    size_t ulen = 0, before = m->v.n;

    if (m->cur < model_rows(m)) {
        const struct idx_msg *g = model_row(m, m->cur);

        ulen = g->uniq_len;
        uniq = xstrndup(g->name, ulen);
    }
    if (idx_open(m->dir, IDX_WATCH, &x, e) < 0) {
        free(uniq);
        return -1;
    }
    idx_close(m->x);
    m->x = x;
    m->tags.n = 0;               /* ids belong to one index */
    (void)maildir_stamp(m->dir, &m->stamp, e);
    rebuild_at(m, UINT32_MAX);
    if (uniq) {
        size_t n = model_rows(m);

        for (size_t r = 0; r < n; r++) {
            const struct idx_msg *g = model_row(m, r);

            if (g->uniq_len == ulen && memcmp(g->name, uniq, ulen) == 0) {
                m->cur = r;
                break;
            }
        }
        free(uniq);
    }
    if (m->v.n > before)
        m->counts.arrived += (long)(m->v.n - before);
    return 0;
}

/* ---- the view ---- */

/* ~T in a pattern: the model's tags. */
static bool tagged_cb(void *arg, uint32_t id)
{
    return model_tagged(arg, id);
}

void model_set_sort(struct model *m, enum idx_sort key, bool reverse)
{
    m->sort = key;
    m->reverse = reverse;
    rebuild(m);
}

void model_get_sort(const struct model *m, enum idx_sort *key, bool *reverse)
{
    *key = m->sort;
    *reverse = m->reverse;
}

int model_set_limit(struct model *m, const char *pattern, struct err *e)
{
    struct idx_limit *l = NULL;

    if (pattern && *pattern && strcmp(pattern, "all") != 0 && strcmp(pattern, "~A") != 0 &&
        idx_limit_compile(pattern, &l, e) < 0)
        return -1;
    if (l)
        idx_limit_set_tagged(l, tagged_cb, m);
    idx_limit_free(m->lim);
    free(m->limit_text);
    m->lim = l;
    m->limit_text = l ? xstrdup(pattern) : NULL;
    rebuild(m);
    return 0;
}

const char *model_limit_text(const struct model *m)
{
    return m->limit_text;
}

void model_set_threads(struct model *m, bool on)
{
    m->threads = on;
    rebuild(m);
}

bool model_threads(const struct model *m)
{
    return m->threads;
}

/* ---- the cursor ---- */

size_t model_cursor(const struct model *m)
{
    return m->cur;
}

void model_set_cursor(struct model *m, size_t r)
{
    size_t n = model_rows(m);

    m->cur = r < n ? r : n ? n - 1 : 0;
}

bool model_move_cursor(struct model *m, long delta)
{
    size_t n = model_rows(m), was = m->cur;
    long c = (long)m->cur + delta;

    if (n == 0)
        return false;
    if (c < 0)
        c = 0;
    if (c >= (long)n)
        c = (long)n - 1;
    m->cur = (size_t)c;
    return m->cur != was;
}

uint32_t model_cursor_id(const struct model *m)
{
    if (m->cur >= model_rows(m))
        return UINT32_MAX;
    return model_row(m, m->cur)->id;
}

const struct idx_msg *model_msg(const struct model *m, uint32_t id)
{
    long pos = id == UINT32_MAX ? -1 : idx_find_id(m->x, id);
    const struct idx_msg *g = pos < 0 ? NULL : idx_msg(m->x, (size_t)pos);

    return g && !g->gone ? g : NULL;
}

char *model_path(const struct model *m, uint32_t id)
{
    long pos = id == UINT32_MAX ? -1 : idx_find_id(m->x, id);

    if (pos < 0 || idx_msg(m->x, (size_t)pos)->gone)
        return NULL;
    return idx_path(m->x, (size_t)pos);
}

bool model_next_unread(struct model *m)
{
    size_t n = model_rows(m);

    for (size_t r = m->cur + 1; r < n; r++)
        if (!(model_row(m, r)->flags & MDF_SEEN)) {
            m->cur = r;
            return true;
        }
    return false;
}

int model_set_search(struct model *m, const char *pattern, struct err *e)
{
    struct idx_limit *l;

    if (idx_limit_compile(pattern, &l, e) < 0)
        return -1;
    idx_limit_set_tagged(l, tagged_cb, m);
    idx_limit_free(m->search);
    m->search = l;
    return 0;
}

int model_search(struct model *m, bool back, bool *wrapped, struct err *e)
{
    size_t n = model_rows(m);

    *wrapped = false;
    if (m->search == NULL)
        return err_set(e, ERR_PARSE, "No search yet: / starts one.");
    for (size_t k = 1; k <= n; k++) {
        size_t r = back ? (m->cur + n - k) % n : (m->cur + k) % n;

        if (idx_limit_match(m->x, m->search, row_pos(m, r))) {
            *wrapped = (back && r > m->cur) || (!back && r < m->cur);
            m->cur = r;
            return 1;
        }
    }
    return 0;
}

/* ---- tags ---- */

bool model_tagged(const struct model *m, uint32_t id)
{
    return idset_has(&m->tags, id);
}

void model_tag(struct model *m, uint32_t id, bool on)
{
    if (!on || model_msg(m, id) != NULL)
        idset_put(&m->tags, id, on);
}

size_t model_ntagged(const struct model *m)
{
    return m->tags.n;
}

const uint32_t *model_tags(const struct model *m)
{
    return m->tags.v;
}

void model_untag_all(struct model *m)
{
    m->tags.n = 0;
}

long model_tag_pattern(struct model *m, const char *pattern, bool on, struct err *e)
{
    struct idx_limit *l;
    long n = 0;

    if (idx_limit_compile(pattern, &l, e) < 0)
        return -1;
    idx_limit_set_tagged(l, tagged_cb, m);
    /* Decide first, then change: ~T must see the tags as they were. */
    {
        uint32_t *ids = xreallocarray(NULL, m->v.n ? m->v.n : 1, sizeof *ids);
        size_t k = 0;

        for (size_t r = 0; r < m->v.n; r++)
            if (idx_limit_match(m->x, l, m->v.v[r]))
                ids[k++] = idx_msg(m->x, m->v.v[r])->id;
        for (size_t i = 0; i < k; i++)
            if (model_tagged(m, ids[i]) != on) {
                model_tag(m, ids[i], on);
                n++;
            }
        free(ids);
    }
    idx_limit_free(l);
    return n;
}

/* ---- threads ---- */

/* The first and one-past-last rows of tv of the thread shown on view row r. */
static bool thread_span(const struct model *m, size_t r, size_t *first, size_t *end)
{
    size_t t;

    if (!m->threads || r >= m->nvis)
        return false;
    t = m->vis[r];
    while (!thread_start(&m->tv, t))
        t--;
    *first = t;
    for (t++; t < m->tv.n && !thread_start(&m->tv, t); t++)
        ;
    *end = t;
    return true;
}

size_t model_thread_ids(const struct model *m, size_t r, uint32_t **ids)
{
    size_t first, end;

    *ids = NULL;
    if (!thread_span(m, r, &first, &end))
        return 0;
    *ids = xreallocarray(NULL, end - first, sizeof **ids);
    for (size_t t = first; t < end; t++)
        (*ids)[t - first] = idx_msg(m->x, m->tv.rows[t].msg)->id;
    return end - first;
}

/* The view row showing tv row t (the first row of its thread when collapsed). */
static size_t vis_row(const struct model *m, size_t t)
{
    size_t lo = 0, hi = m->nvis;     /* vis is ascending: the last entry <= t */

    while (hi - lo > 1) {
        size_t mid = lo + (hi - lo) / 2;

        if (m->vis[mid] <= t)
            lo = mid;
        else
            hi = mid;
    }
    return lo;
}

static int cmp_u32(const void *x, const void *y)
{
    uint32_t a = *(const uint32_t *)x, b = *(const uint32_t *)y;

    return a < b ? -1 : a > b;
}

bool model_collapse_thread(struct model *m)
{
    size_t first, end;
    uint32_t id;

    if (!thread_span(m, m->cur, &first, &end))
        return false;
    id = idx_msg(m->x, m->tv.rows[first].msg)->id;
    idset_put(&m->collapsed, id, !idset_has(&m->collapsed, id));
    build_vis(m);
    m->cur = vis_row(m, first);
    return true;
}

bool model_collapse_all(struct model *m)
{
    struct idset *c = &m->collapsed;
    bool any = c->n > 0;
    size_t t0;

    if (!m->threads || m->nvis == 0)
        return m->threads;
    t0 = m->vis[m->cur];
    c->n = 0;
    if (!any) {
        /* One sort, not an insertion per thread. */
        if (c->cap < m->tv.n) {
            c->cap = m->tv.n;
            c->v = xreallocarray(c->v, c->cap, sizeof *c->v);
        }
        for (size_t t = 0; t < m->tv.n; t++)
            if (thread_start(&m->tv, t) && t + 1 < m->tv.n && !thread_start(&m->tv, t + 1))
                c->v[c->n++] = idx_msg(m->x, m->tv.rows[t].msg)->id;
        qsort(c->v, c->n, sizeof *c->v, cmp_u32);
    }
    build_vis(m);
    m->cur = vis_row(m, t0);
    return true;
}

bool model_next_thread(struct model *m, bool back)
{
    size_t first, end;

    if (!thread_span(m, m->cur, &first, &end))
        return false;
    if (!back) {
        if (end >= m->tv.n)
            return false;
        m->cur = vis_row(m, end);
        return true;
    }
    if (first == 0)
        return false;
    /* The start of the thread before this one. */
    for (size_t t = first - 1;; t--)
        if (thread_start(&m->tv, t)) {
            m->cur = vis_row(m, t);
            break;
        }
    return true;
}

bool model_parent(struct model *m)
{
    uint32_t p;

    if (!m->threads || m->cur >= m->nvis)
        return false;
    p = m->tv.rows[m->vis[m->cur]].parent;
    if (p == UINT32_MAX)
        return false;
    m->cur = vis_row(m, p);
    return true;
}

/* ---- operations ---- */

/* Our own renames are already in the index: a large folder needs no refresh for them. */
static void note_own_change(struct model *m)
{
    struct err e;

    (void)maildir_stamp(m->dir, &m->stamp, &e);
}

enum op { OP_FLAG, OP_MOVE, OP_COPY };

/*
 * Apply one operation to every id; gone ones are counted, failures keep the first error.
 * The ids are copied first: ops change the tag set (through rebuild) the caller may pass.
 */
static long apply(struct model *m, const uint32_t *ids, size_t n, enum op op, const char *add,
                  const char *del, const char *dst, size_t *gone, struct err *e)
{
    uint32_t *v = xreallocarray(NULL, n ? n : 1, sizeof *v);
    uint32_t keep = model_cursor_id(m);
    size_t ngone = 0, cur = m->cur;
    long done = 0;
    bool failed = false, moved = false;

    if (n)
        memcpy(v, ids, n * sizeof *v);
    for (size_t k = 0; k < n; k++) {
        long pos = v[k] == UINT32_MAX ? -1 : idx_find_id(m->x, v[k]);
        struct err e1;
        int r;

        if (pos < 0 || idx_msg(m->x, (size_t)pos)->gone) {
            ngone++;
            continue;
        }
        r = op == OP_FLAG ? idx_set_flags(m->x, (size_t)pos, add, del, &e1)
            : op == OP_MOVE ? idx_move(m->x, (size_t)pos, dst, &e1)
                            : idx_copy(m->x, (size_t)pos, dst, &e1);
        if (r < 0) {
            if (!failed)
                *e = e1;
            failed = true;
        } else if (r == 1) {
            ngone++;
        } else {
            done++;
            moved |= op == OP_MOVE;
        }
    }
    free(v);
    note_own_change(m);
    if (moved || ngone) {
        /* The cursor's message may have left the view: stay on its row. */
        if (model_msg(m, keep) == NULL)
            keep = UINT32_MAX;
        rebuild_at(m, keep);
        if (keep == UINT32_MAX)
            model_set_cursor(m, cur);
    } else {
        count(m);
    }
    if (gone)
        *gone = ngone;
    return failed ? -1 : done;
}

long model_flag(struct model *m, const uint32_t *ids, size_t n, const char *add,
                const char *del, size_t *gone, struct err *e)
{
    return apply(m, ids, n, OP_FLAG, add, del, NULL, gone, e);
}

long model_delete(struct model *m, const uint32_t *ids, size_t n, size_t *gone, struct err *e)
{
    return apply(m, ids, n, OP_FLAG, "T", NULL, NULL, gone, e);
}

long model_undelete(struct model *m, const uint32_t *ids, size_t n, size_t *gone,
                    struct err *e)
{
    return apply(m, ids, n, OP_FLAG, NULL, "T", NULL, gone, e);
}

static long move_or_copy(struct model *m, const uint32_t *ids, size_t n, const char *dst,
                         enum op op, size_t *gone, struct err *e)
{
    /* under the mail root only: "../x" or "/tmp/x" never makes a directory elsewhere */
    char *path = paths_folder_dir(m->root, dst, e);
    long r;

    if (gone)
        *gone = 0;
    if (path == NULL)
        return -1;
    if (strcmp(path, m->dir) == 0) {
        free(path);
        return err_set(e, ERR_PERM, "The message is already in %s.", dst);
    }
    r = apply(m, ids, n, op, NULL, NULL, path, gone, e);
    free(path);
    return r;
}

long model_move(struct model *m, const uint32_t *ids, size_t n, const char *dst,
                size_t *gone, struct err *e)
{
    return move_or_copy(m, ids, n, dst, OP_MOVE, gone, e);
}

long model_copy(struct model *m, const uint32_t *ids, size_t n, const char *dst,
                size_t *gone, struct err *e)
{
    return move_or_copy(m, ids, n, dst, OP_COPY, gone, e);
}

bool model_is_file_target(const char *target)
{
    return target[0] == '/' || target[0] == '~';
}

long model_save(struct model *m, const uint32_t *ids, size_t n, const char *target,
                char **where, size_t *gone, struct err *e)
{
    struct buf data = BUF_INIT;
    long done = 0;
    bool failed = false;

    if (gone)
        *gone = 0;
    if (where)
        *where = NULL;
    for (size_t i = 0; i < n; i++) {
        const struct idx_msg *g = model_msg(m, ids[i]);
        char *path = model_path(m, ids[i]), *w = NULL;
        struct err e1;

        buf_reset(&data);
        if (g == NULL || path == NULL) {
            if (gone)
                (*gone)++;
        } else if (fs_read_file(path, &data, &e1) < 0 ||
                   save_message(target, data.ptr ? data.ptr : "", data.len, (time_t)g->date,
                                &w, &e1) < 0) {
            if (!failed)
                *e = e1;
            failed = true;
        } else {
            done++;
            if (where && *where == NULL)
                *where = w, w = NULL;
        }
        free(w);
        free(path);
    }
    buf_free(&data);
    return failed ? -1 : done;
}

long model_expunge(struct model *m, struct err *e)
{
    char *trash = paths_role_dir(m->cfg, m->root, NULL, ROLE_TRASH);
    size_t n = idx_count(m->x);
    long done = 0;
    bool failed = false;

    for (size_t i = 0; i < n; i++) {
        const struct idx_msg *g = idx_msg(m->x, i);
        struct err e1;

        if (g->gone || !(g->flags & MDF_TRASHED))
            continue;
        if (idx_delete(m->x, i, trash, &e1) < 0) {
            if (!failed)
                *e = e1;
            failed = true;
        } else {
            done++;
        }
    }
    free(trash);
    note_own_change(m);
    rebuild(m);
    return failed ? -1 : done;
}

int model_mark_seen(struct model *m, uint32_t id, struct err *e)
{
    const struct idx_msg *g = model_msg(m, id);
    size_t gone;

    if (g == NULL || (g->flags & MDF_SEEN))
        return 0;
    return model_flag(m, &id, 1, "S", NULL, &gone, e) < 0 ? -1 : 0;
}

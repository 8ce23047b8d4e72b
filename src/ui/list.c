/* The message list pane: a view (sort, limit, threads) over the folder's index, drawn only for
 * the visible rows; the cursor is kept by stable id across rebuilds, so new mail never moves it.
 * Flag, delete, move and copy go through the index, which renames the files. */
#include "config.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "tern/crypt.h"
#include "tern/index.h"
#include "tern/maildir.h"
#include "tern/queue.h"
#include "tern/str.h"
#include "tern/thread.h"
#include "tern/xalloc.h"
#include "tcurses.h"
#include "ui.h"

struct model {
    struct idx *x;
    char *dir;
    struct idx_view v;
    struct thread_view tv;
    bool threads;
    enum idx_sort sort;
    bool reverse;
    struct idx_limit *lim;
    char *limit_text;
    struct idx_limit *search;
    bool show_to;                /* Sent, Drafts, Outbox: the recipient is what matters */
    bool outbox;
    struct queue_entry *q;       /* Outbox: the queue's entries */
    size_t nq;
    size_t unread, flagged, trashed, in_new, gone;
    size_t seen_count;           /* messages when the folder was opened */
    struct maildir_stamp stamp;  /* large folders: what the directories looked like */
};

static size_t nrows(const struct model *m)
{
    return m->threads ? m->tv.n : m->v.n;
}

/* Index position of view row r. */
static size_t row_pos(const struct model *m, size_t r)
{
    return m->threads ? m->tv.rows[r].msg : m->v.v[r];
}

static const struct idx_msg *row_msg(const struct model *m, size_t r)
{
    return idx_msg(m->x, row_pos(m, r));
}

static uint32_t cursor_id(const struct app *a)
{
    const struct model *m = a->m;

    if (m == NULL || a->cur >= nrows(m))
        return UINT32_MAX;
    return row_msg(m, a->cur)->id;
}

static size_t row_of_id(const struct model *m, uint32_t id)
{
    size_t n = nrows(m);

    for (size_t r = 0; r < n; r++)
        if (row_msg(m, r)->id == id)
            return r;
    return SIZE_MAX;
}

static void count(struct model *m)
{
    size_t n = idx_count(m->x);

    m->unread = m->flagged = m->trashed = m->in_new = m->gone = 0;
    for (size_t i = 0; i < n; i++) {
        const struct idx_msg *g = idx_msg(m->x, i);

        if (g->gone) {
            m->gone++;
            continue;
        }
        if (!(g->flags & MDF_SEEN))
            m->unread++;
        if (g->flags & MDF_FLAGGED)
            m->flagged++;
        if (g->flags & MDF_TRASHED)
            m->trashed++;
        if (g->in_new)
            m->in_new++;
    }
}

static void load_queue(struct app *a, struct model *m)
{
    struct queue *q;
    struct err e;

    queue_list_free(m->q, m->nq);
    m->q = NULL;
    m->nq = 0;
    if (queue_open(a->root, &q, &e) < 0)
        return;
    if (queue_list(q, &m->q, &m->nq, NULL, &e) < 0) {
        m->q = NULL;
        m->nq = 0;
    }
    queue_close(q);
}

/* Rebuild the view after any change; the cursor stays on message id when it still exists.
 * The id must be taken before the index changes (positions move on refresh). */
static void rebuild_at(struct app *a, uint32_t id)
{
    struct model *m = a->m;
    size_t r;

    idx_view_build(m->x, &m->v, m->sort, m->reverse, m->lim);
    thread_view_free(&m->tv);
    if (m->threads)
        thread_build(m->x, m->v.v, m->v.n, m->sort, m->reverse, &m->tv);
    count(m);
    if (m->outbox)
        load_queue(a, m);
    if (id != UINT32_MAX && (r = row_of_id(m, id)) != SIZE_MAX)
        a->cur = r;
    else if (a->cur >= nrows(m))
        a->cur = nrows(m) ? nrows(m) - 1 : 0;
    a->dirty = true;
}

static void rebuild(struct app *a)
{
    rebuild_at(a, cursor_id(a));
}

/* Where the cursor starts: the first unread message in view order, else the newest. */
static void initial_cursor(struct app *a)
{
    struct model *m = a->m;
    size_t n = nrows(m), best = 0;
    int64_t newest = INT64_MIN;

    for (size_t r = 0; r < n; r++) {
        const struct idx_msg *g = row_msg(m, r);

        if (!(g->flags & (MDF_SEEN | MDF_TRASHED))) {
            a->cur = r;
            return;
        }
        if (g->date > newest) {
            newest = g->date;
            best = r;
        }
    }
    a->cur = best;
}

static bool is_recipient_folder(const char *name)
{
    const char *b = strrchr(name, '/');

    b = b ? b + 1 : name;
    if (*b == '.')
        b++;
    return str_casecmp(b, "Sent") == 0 || str_casecmp(b, "Drafts") == 0 ||
           str_casecmp(b, QUEUE_FOLDER) == 0 || str_casecmp(b, "Sent Messages") == 0;
}

static int open_folder(struct app *a, const char *name, bool may_defer);
static void reopen_in_place(struct app *a);

static void model_free(struct model *m)
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
    free(m->dir);
    free(m);
}

/* From how many messages a folder without an index is indexed in the background
 * ($TERN_BG_INDEX_MIN, for the tests; 5000 by default: below that it takes well under a
 * second). */
static size_t bg_index_min(void)
{
    const char *s = getenv("TERN_BG_INDEX_MIN");
    long n;

    if (s && str_tolong(s, 1, 100000000, &n) == 0)
        return (size_t)n;
    return 5000;
}

/* Modified after the time t (seconds and nanoseconds)? */
static bool newer_than(const char *dir, const char *sub, const struct timespec *t)
{
    char path[4096];
    struct stat st;

    snprintf(path, sizeof path, "%s/%s", dir, sub);
    if (stat(path, &st) != 0)
        return false;
    return st.st_mtim.tv_sec > t->tv_sec ||
           (st.st_mtim.tv_sec == t->tv_sec && st.st_mtim.tv_nsec > t->tv_nsec);
}

/* The folder's index is missing or older than its directories (mail came, flags changed
 * since it was written), and the folder has at least `threshold` messages (counted by name
 * only): bringing the index up to date would hold the screen. */
static bool needs_background_index(const char *dir, size_t threshold)
{
    char *cache = idx_cache_path(dir);
    struct stat st;
    size_t n = 0;
    bool stale = stat(cache, &st) != 0 || newer_than(dir, "new", &st.st_mtim) ||
                 newer_than(dir, "cur", &st.st_mtim);

    free(cache);
    if (!stale)
        return false;
    for (int k = 0; k < 2 && n < threshold; k++) {
        char path[4096];
        DIR *d;
        struct dirent *de;

        snprintf(path, sizeof path, "%s/%s", dir, k ? "new" : "cur");
        if ((d = opendir(path)) == NULL)
            continue;
        while (n < threshold && (de = readdir(d)) != NULL)
            if (de->d_name[0] != '.')
                n++;
        closedir(d);
    }
    return n >= threshold;
}

/*
 * A large folder without an index would take seconds to read: a child (`tern scan`, which
 * builds and saves the index) does it while the screen stays live; the folder opens from
 * the fresh index when the child is done (list_index_done).
 */
static int index_in_background(struct app *a, const char *name, const char *dir,
                               bool keep_open)
{
    char *argv[12];
    int n = 0;

    argv[n++] = "tern";
    if (a->g->config_path) {
        argv[n++] = "-c";
        argv[n++] = (char *)a->g->config_path;
    }
    argv[n++] = "scan";
    argv[n++] = "--limit";
    argv[n++] = "date:..1971";      /* print nothing: only the index is wanted */
    argv[n++] = (char *)dir;
    argv[n] = NULL;
    if (jobs_running(a, "index") || job_start(a, "index", argv) < 0)
        return -1;
    if (a->m != NULL && a->folder && strcmp(a->folder, name) == 0 && keep_open) {
        /* a refresh of the open folder: it stays on the screen meanwhile */
        free(a->pending_folder);
        a->pending_folder = xstrdup(name);
        return 0;
    }
    pager_close(a);
    model_free(a->m);
    a->m = NULL;
    free(a->folder);
    a->folder = xstrdup(name);
    free(a->pending_folder);
    a->pending_folder = xstrdup(name);
    app_msg(a, "Indexing %s in the background; keys work meanwhile.", name);
    return 0;
}

void list_index_done(struct app *a, bool ok)
{
    char *name = a->pending_folder;

    a->pending_folder = NULL;
    if (name == NULL)
        return;
    if (a->folder && strcmp(a->folder, name) == 0 && a->m == NULL) {
        if (!ok)
            app_err(a, "Indexing %s failed; reading it directly.", name);
        (void)open_folder(a, name, false);
    } else if (a->folder && strcmp(a->folder, name) == 0 && a->m != NULL) {
        reopen_in_place(a);
    }
    free(name);
}

int folders_open(struct app *a, const char *name)
{
    return open_folder(a, name, true);
}

static int open_folder(struct app *a, const char *name, bool may_defer)
{
    struct model *m;
    struct err e;
    char *dir;
    const char *b;

    if (name == NULL) {             /* close */
        free(a->pending_folder);
        a->pending_folder = NULL;
        pager_close(a);
        model_free(a->m);
        a->m = NULL;
        free(a->folder);
        a->folder = NULL;
        return 0;
    }
    dir = maildir_folder_path(a->root, name);
    if (dir == NULL || !maildir_is_maildir(dir)) {
        app_err(a, "%s: no such folder", name);
        free(dir);
        return -1;
    }
    if (may_defer && needs_background_index(dir, bg_index_min()) &&
        index_in_background(a, name, dir, false) == 0) {
        free(dir);
        return 0;
    }
    m = xcalloc(1, sizeof *m);
    m->dir = dir;
    if (idx_open(dir, 0, &m->x, &e) < 0) {
        app_err(a, "%s", e.msg);
        model_free(m);
        return -1;
    }
    idx_view_init(&m->v);
    b = strrchr(name, '/');
    b = b ? b + 1 : name;
    m->show_to = is_recipient_folder(name);
    for (size_t i = 0; i < a->cfg->naccounts; i++) {
        const struct account *ac = &a->cfg->accounts[i];

        if ((ac->sent && strcmp(ac->sent, name) == 0) ||
            (ac->drafts && strcmp(ac->drafts, name) == 0))
            m->show_to = true;
    }
    m->outbox = str_casecmp(b, QUEUE_FOLDER) == 0;
    pager_close(a);
    model_free(a->m);
    a->m = m;
    free(a->folder);
    a->folder = xstrdup(name);
    for (size_t i = 0; i < a->nfolders; i++)
        if (strcmp(a->folders[i], name) == 0)
            a->fcur = i;
    a->cur = a->top = 0;
    rebuild(a);
    initial_cursor(a);
    m->seen_count = idx_count(m->x);
    (void)maildir_stamp(dir, &m->stamp, &e);
    a->new_count = 0;
    a->dirty = true;
    return 0;
}

bool list_counts(struct app *a, long *total, long *unread)
{
    if (a->m == NULL)
        return false;
    *total = (long)(idx_count(a->m->x) - a->m->gone);
    *unread = (long)a->m->unread;
    return true;
}

/*
 * Swap in a fresh index of the open folder (a child has just brought the cache up to date):
 * sort, threads and limit stay, the cursor stays on its message (by file name: ids belong to
 * one index).
 */
static void reopen_in_place(struct app *a)
{
    struct model *m = a->m;
    struct idx *x;
    struct err e;
    char *uniq = NULL;
    size_t ulen = 0, before = m->v.n;

    if (a->cur < nrows(m)) {
        const struct idx_msg *g = row_msg(m, a->cur);

        ulen = g->uniq_len;
        uniq = xstrndup(g->name, ulen);
    }
    if (idx_open(m->dir, 0, &x, &e) < 0) {
        app_err(a, "%s", e.msg);
        free(uniq);
        return;
    }
    idx_close(m->x);
    m->x = x;
    (void)maildir_stamp(m->dir, &m->stamp, &e);
    rebuild_at(a, UINT32_MAX);
    if (uniq) {
        size_t n = nrows(m);

        for (size_t r = 0; r < n; r++) {
            const struct idx_msg *g = row_msg(m, r);

            if (g->uniq_len == ulen && memcmp(g->name, uniq, ulen) == 0) {
                a->cur = r;
                break;
            }
        }
        free(uniq);
    }
    if (m->v.n > before)
        a->new_count += (long)(m->v.n - before);
}

void list_refresh(struct app *a)
{
    struct err e;
    int r;
    size_t before;
    uint32_t id;

    if (a->m == NULL || a->pending_folder)
        return;
    /* A large folder's refresh reads every name and rewrites a big cache: seconds, not for
     * the loop. A child does it (after a running fetch ends), then the index is swapped. */
    if (idx_count(a->m->x) >= bg_index_min()) {
        if (jobs_running(a, "fetch") || jobs_running(a, "index") ||
            !maildir_changed(a->m->dir, &a->m->stamp))
            return;
        (void)index_in_background(a, a->folder, a->m->dir, true);
        return;
    }
    before = a->m->v.n;
    id = cursor_id(a);
    r = idx_refresh(a->m->x, &e);
    if (r < 0) {
        app_err(a, "%s", e.msg);
        return;
    }
    if (r == 0) {
        if (a->m->outbox && a->jobs)
            load_queue(a, a->m);
        return;
    }
    rebuild_at(a, id);
    if (a->m->v.n > before)
        a->new_count += (long)(a->m->v.n - before);
    pager_refresh(a);
}

static const char *sort_name(enum idx_sort s)
{
    switch (s) {
    case IDX_SORT_DATE: return "date";
    case IDX_SORT_ARRIVAL: return "arrival";
    case IDX_SORT_FROM: return "from";
    case IDX_SORT_SUBJECT: return "subject";
    case IDX_SORT_SIZE: return "size";
    }
    return "?";
}

void list_status(struct app *a, struct buf *out)
{
    struct model *m = a->m;

    if (m == NULL) {
        if (a->pending_folder)
            buf_printf(out, " %s  [indexing]", a->pending_folder);
        else
            buf_adds(out, " tern: no folder open");
        return;
    }
    buf_printf(out, " %s", a->folder);
    if (nrows(m) > 0)
        buf_printf(out, " %zu/%zu", a->cur + 1, nrows(m));
    buf_printf(out, "  [%zu msg%s", m->v.n, m->v.n == 1 ? "" : "s");
    if (m->lim)
        buf_printf(out, " of %zu", idx_count(m->x));
    if (m->unread)
        buf_printf(out, ", %zu unread", m->unread);
    if (m->in_new)
        buf_printf(out, ", %zu new", m->in_new);
    if (m->flagged)
        buf_printf(out, ", %zu flagged", m->flagged);
    if (m->trashed)
        buf_printf(out, ", %zu deleted", m->trashed);
    buf_printf(out, "]");
    if (a->new_count > 0)
        buf_printf(out, " +%ld arrived", a->new_count);
    buf_printf(out, "  (%s%s%s)", m->reverse ? "-" : "", sort_name(m->sort),
               m->threads ? ", threads" : "");
    if (m->limit_text)
        buf_printf(out, "  limit: %s", m->limit_text);
}

/* "Nov 25", "14:02" today, "2024-03-01" for other years. */
static void fmt_date(int64_t t, char *out, size_t n)
{
    time_t tt = (time_t)t, now = time(NULL);
    struct tm tm, tn;

    localtime_r(&tt, &tm);
    localtime_r(&now, &tn);
    if (tm.tm_year == tn.tm_year && tm.tm_yday == tn.tm_yday)
        strftime(out, n, "%H:%M", &tm);
    else if (tm.tm_year == tn.tm_year)
        strftime(out, n, "%b %d", &tm);
    else
        strftime(out, n, "%Y-%m-%d", &tm);
}

static void fmt_size(uint64_t s, char *out, size_t n)
{
    if (s < 1000)
        snprintf(out, n, "%u", (unsigned)s);
    else if (s < 10 * 1024)
        snprintf(out, n, "%.1fK", (double)s / 1024);
    else if (s < 1000 * 1024)
        snprintf(out, n, "%uK", (unsigned)((s + 512) / 1024));
    else if (s < 10 * 1024 * 1024)
        snprintf(out, n, "%.1fM", (double)s / (1024 * 1024));
    else
        snprintf(out, n, "%uM", (unsigned)(s / (1024 * 1024)));
}

static const struct queue_entry *queue_of(const struct model *m, const struct idx_msg *g)
{
    for (size_t i = 0; i < m->nq; i++)
        if (strlen(m->q[i].id) == g->uniq_len && memcmp(m->q[i].id, g->name, g->uniq_len) == 0)
            return &m->q[i];
    return NULL;
}

static void draw_row(struct app *a, const struct rect *r, int y, size_t row)
{
    struct model *m = a->m;
    const struct idx_msg *g = row_msg(m, row);
    bool sel = row == a->cur;
    unsigned at = a->attr[COL_NORMAL];
    char flags[5], date[16], size[16], tree[128] = "";
    int x = r->x, fromw, w = r->w;
    const char *who = m->show_to ? g->to : g->from;
    struct buf who_b = BUF_INIT;

    if (g->flags & MDF_TRASHED)
        at = a->attr[COL_DELETED];
    else if (g->flags & MDF_FLAGGED)
        at = a->attr[COL_FLAGGED];
    else if (!(g->flags & MDF_SEEN))
        at = a->attr[COL_NEW];
    if (sel)
        at = a->attr[COL_CURSOR] | (at & A_BOLD);
    flags[0] = (g->flags & MDF_TRASHED) ? 'D' : !(g->flags & MDF_SEEN) ? (g->in_new ? 'N' : 'O')
                                                                        : ' ';
    flags[1] = (g->flags & MDF_FLAGGED) ? '!' : ' ';
    flags[2] = (g->flags & MDF_REPLIED) ? 'r' : (g->flags & MDF_PASSED) ? 'f' : ' ';
    /* E encrypted, S signed: from the Content-Type the index keeps (nothing decrypted) */
    flags[3] = (g->crypt & CRYPT_MARK_ENCRYPTED) ? 'E' : (g->crypt & CRYPT_MARK_SIGNED) ? 'S' : ' ';
    flags[4] = '\0';
    fmt_date(g->date, date, sizeof date);
    fmt_size(g->size, size, sizeof size);
    if (m->show_to) {
        buf_adds(&who_b, "To ");
        buf_adds(&who_b, who);
        who = buf_cstr(&who_b);
    }
    ui_fill(r->y + y, x, w, at);
    fromw = w / 4 < 22 ? w / 4 : 22;
    if (w < 50) {                  /* narrow: flags, from, subject */
        x += ui_put(r->y + y, x, flags, 4, w, at, false);
        x += ui_put(r->y + y, x, " ", 1, r->x + w - x, at, false);
        x += ui_put(r->y + y, x, who, strlen(who), fromw, at, true);
    } else {
        x += ui_put(r->y + y, x, flags, 4, 4, at, false) + 1;
        x += ui_put(r->y + y, x, date, strlen(date), 10, at, true) + 1;
        x += ui_put(r->y + y, x, who, strlen(who), fromw, at, true) + 1;
        ui_put(r->y + y, x, size, strlen(size), 5, at, false);
        x += 6;
    }
    if (x >= r->x + w) {
        buf_free(&who_b);
        return;
    }
    x++;
    if (m->outbox) {
        const struct queue_entry *q = queue_of(m, g);
        char st[200];

        if (q == NULL)
            snprintf(st, sizeof st, "[no envelope] ");
        else if (q->state == QUEUE_FAILED)
            snprintf(st, sizeof st, "[FAILED: %s] ", q->reply ? q->reply : "?");
        else if (q->attempts > 0)
            snprintf(st, sizeof st, "[queued, %d %s: %s] ", q->attempts,
                     q->attempts == 1 ? "try" : "tries", q->reply ? q->reply : "");
        else
            snprintf(st, sizeof st, "[queued] ");
        x += ui_put(r->y + y, x, st, strlen(st), r->x + w - x,
                    sel ? at : a->attr[q && q->state == QUEUE_FAILED ? COL_ERROR : COL_TREE],
                    false);
    }
    if (m->threads) {
        thread_prefix(&m->tv, row, tree, sizeof tree);
        x += ui_put(r->y + y, x, tree, strlen(tree), r->x + w - x,
                    sel ? at : a->attr[COL_TREE], false);
    }
    if (x < r->x + w)
        ui_put(r->y + y, x, g->subject, strlen(g->subject), r->x + w - x, at, false);
    buf_free(&who_b);
}

void list_draw(struct app *a, const struct rect *r)
{
    struct model *m = a->m;
    size_t n;

    if (m == NULL) {
        static const char none[] = "No folder open: c opens one, ? shows the keys.";
        char busy[300];

        if (a->pending_folder) {
            snprintf(busy, sizeof busy, "Indexing %s... (only the first open of a large "
                     "folder takes this; c, ? and q work meanwhile)", a->pending_folder);
            ui_put(r->y, r->x, busy, strlen(busy), r->w, a->attr[COL_NORMAL], false);
            return;
        }
        ui_put(r->y, r->x, none, sizeof none - 1, r->w, a->attr[COL_NORMAL], false);
        return;
    }
    n = nrows(m);
    if (n == 0) {
        const char *t = m->lim ? "No message matches the limit (l, then Enter: all)."
                               : "This folder is empty.";
        ui_put(r->y, r->x, t, strlen(t), r->w, a->attr[COL_NORMAL], false);
        return;
    }
    /* Keep the cursor visible, scrolling by whole pages like mutt only when it leaves. */
    if (a->cur < a->top)
        a->top = a->cur;
    if (a->cur >= a->top + (size_t)r->h)
        a->top = a->cur - (size_t)r->h + 1;
    if (a->top + (size_t)r->h > n)
        a->top = n > (size_t)r->h ? n - (size_t)r->h : 0;
    for (int y = 0; y < r->h && a->top + (size_t)y < n; y++)
        draw_row(a, r, y, a->top + (size_t)y);
}

static void move_cursor(struct app *a, long delta)
{
    size_t n = a->m ? nrows(a->m) : 0;
    long c = (long)a->cur + delta;

    if (n == 0)
        return;
    if (c < 0)
        c = 0;
    if (c >= (long)n)
        c = (long)n - 1;
    a->cur = (size_t)c;
    if (a->pager_open)
        pager_open_current(a);
}

static size_t cur_pos(struct app *a)
{
    return row_pos(a->m, a->cur);
}

/* Our own renames are already in the index: a large folder needs no background refresh for
 * them. */
static void note_own_change(struct model *m)
{
    struct err e;

    (void)maildir_stamp(m->dir, &m->stamp, &e);
}

static void set_flags(struct app *a, const char *add, const char *del)
{
    struct err e;
    int r = idx_set_flags(a->m->x, cur_pos(a), add, del, &e);

    if (r < 0)
        app_err(a, "%s", e.msg);
    else if (r == 1)
        app_msg(a, "That message was moved or deleted by another program.");
    count(a->m);
    note_own_change(a->m);
    a->dirty = true;
}

static void expunge(struct app *a)
{
    struct model *m = a->m;
    char *trash = maildir_folder_path(a->root, "Trash");
    size_t n = idx_count(m->x), done = 0;
    struct err e;
    int failed = 0;

    for (size_t i = 0; i < n; i++) {
        const struct idx_msg *g = idx_msg(m->x, i);

        if (g->gone || !(g->flags & MDF_TRASHED))
            continue;
        if (idx_delete(m->x, i, trash, &e) < 0) {
            if (!failed++)
                app_err(a, "%s", e.msg);
        } else {
            done++;
        }
    }
    free(trash);
    note_own_change(m);
    if (!failed)
        app_msg(a, done ? "%zu message%s deleted." : "Nothing marked for deletion (d marks).",
                done, done == 1 ? "" : "s");
    pager_close(a);
    rebuild(a);
    folders_update_counts(a);
}

static void search(struct app *a, bool back)
{
    struct model *m = a->m;
    size_t n = nrows(m);

    if (m->search == NULL) {
        app_msg(a, "No search yet: / starts one.");
        return;
    }
    for (size_t k = 1; k <= n; k++) {
        size_t r = back ? (a->cur + n - k) % n : (a->cur + k) % n;

        if (idx_limit_match(m->x, m->search, row_pos(m, r))) {
            if ((back && r > a->cur) || (!back && r < a->cur))
                app_msg(a, "Search wrapped.");
            a->cur = r;
            if (a->pager_open)
                pager_open_current(a);
            return;
        }
    }
    app_err(a, "Not found: %s", a->last_search);
}

static void sort_by(struct app *a, const char *key)
{
    static const struct { char c; enum idx_sort s; } map[] = {
        { 'd', IDX_SORT_DATE }, { 'a', IDX_SORT_ARRIVAL }, { 'f', IDX_SORT_FROM },
        { 's', IDX_SORT_SUBJECT }, { 'z', IDX_SORT_SIZE }, { 'o', IDX_SORT_ARRIVAL },
    };
    enum idx_sort s;
    bool rev;

    if (strlen(key) > 1 && idx_sort_parse(key, &s, &rev) == 0) {
        a->m->sort = s;
        a->m->reverse = rev;
        rebuild(a);
        return;
    }
    for (size_t i = 0; i < sizeof map / sizeof map[0]; i++)
        if (key[0] == map[i].c) {
            a->m->sort = map[i].s;
            rebuild(a);
            return;
        }
    if (key[0])
        app_err(a, "Sort keys: d a f s z");
}

void list_prompt_done(struct app *a, enum prompt_kind k, const char *text)
{
    struct err e;

    if (k == PR_CHANGE) {
        if (*text && folders_open(a, text) == 0)
            a->focus = PANE_LIST;
        return;
    }
    if (a->m == NULL)
        return;
    switch (k) {
    case PR_CONFIRM_QUIT:
        if (text[0] == 'y' || text[0] == 'Y') {
            expunge(a);
            a->running = false;
        } else if (text[0] == 'n' || text[0] == 'N') {
            a->running = false;         /* the marks stay on the files (flag T) */
        }
        return;
    case PR_LIMIT: {
        struct idx_limit *l = NULL;

        if (*text && strcmp(text, "all") != 0 && strcmp(text, "~A") != 0 &&
            idx_limit_compile(text, &l, &e) < 0) {
            app_err(a, "%s", e.msg);
            return;
        }
        idx_limit_free(a->m->lim);
        free(a->m->limit_text);
        a->m->lim = l;
        a->m->limit_text = l ? xstrdup(text) : NULL;
        rebuild(a);
        if (a->cur >= nrows(a->m) || (nrows(a->m) > 0 && l && a->cur == 0))
            a->cur = 0;
        break;
    }
    case PR_SEARCH:
    case PR_SEARCH_BACK: {
        struct idx_limit *l;

        if (*text == '\0')
            text = a->last_search;
        if (*text == '\0')
            return;
        if (idx_limit_compile(text, &l, &e) < 0) {
            app_err(a, "%s", e.msg);
            return;
        }
        idx_limit_free(a->m->search);
        a->m->search = l;
        if (text != a->last_search)
            snprintf(a->last_search, sizeof a->last_search, "%s", text);
        search(a, k == PR_SEARCH_BACK);
        break;
    }
    case PR_SORT:
        sort_by(a, text);
        break;
    case PR_MOVE:
    case PR_COPY: {
        char *dst;
        int r;

        if (*text == '\0' || nrows(a->m) == 0)
            return;
        dst = maildir_folder_path(a->root, text);
        if (dst == NULL) {
            app_err(a, "%s: no such folder", text);
            return;
        }
        if (strcmp(dst, a->m->dir) == 0) {
            app_err(a, "The message is already in %s.", text);
            free(dst);
            return;
        }
        r = k == PR_MOVE ? idx_move(a->m->x, cur_pos(a), dst, &e)
                         : idx_copy(a->m->x, cur_pos(a), dst, &e);
        free(dst);
        if (r < 0) {
            app_err(a, "%s", e.msg);
            return;
        }
        note_own_change(a->m);
        app_msg(a, "%s to %s.", k == PR_MOVE ? "Moved" : "Copied", text);
        if (k == PR_MOVE) {
            pager_close(a);
            rebuild(a);
        }
        folders_scan(a);
        folders_update_counts(a);
        break;
    }
    case PR_PIPE:
        if (*text && nrows(a->m) > 0) {
            char *path = idx_path(a->m->x, cur_pos(a));
            pager_pipe(a, path, text);
            free(path);
        }
        break;
    default:
        break;
    }
}

void list_key(struct app *a, enum cmd c)
{
    struct model *m = a->m;
    int page = a->lay.pane[PANE_LIST].h > 1 ? a->lay.pane[PANE_LIST].h - 1 : 1;
    size_t n = m ? nrows(m) : 0;

    a->dirty = true;
    if (m == NULL && c != CMD_QUIT) {
        app_msg(a, "No folder open: c opens one.");
        return;
    }
    switch (c) {
    case CMD_UP: move_cursor(a, -1); return;
    case CMD_DOWN: move_cursor(a, 1); return;
    case CMD_PAGE_UP: move_cursor(a, -page); return;
    case CMD_PAGE_DOWN: move_cursor(a, page); return;
    case CMD_HALF_UP: move_cursor(a, -page / 2 - 1); return;
    case CMD_HALF_DOWN: move_cursor(a, page / 2 + 1); return;
    case CMD_FIRST: move_cursor(a, -(long)n); return;
    case CMD_LAST: move_cursor(a, (long)n); return;
    case CMD_QUIT:
        if (a->pager_open) {
            pager_close(a);
            return;
        }
        if (m && m->trashed > 0) {
            char q[128];

            snprintf(q, sizeof q, "Expunge %zu message%s marked for deletion? (y/n, Esc: stay) ",
                     m->trashed, m->trashed == 1 ? "" : "s");
            app_prompt(a, PR_CONFIRM_QUIT, q, "", list_prompt_done);
            return;
        }
        a->running = false;
        return;
    case CMD_OPEN:
    case CMD_PAGE:
        if (n == 0)
            return;
        if (a->pager_open && c == CMD_PAGE) {
            pager_key(a, CMD_PAGE);
            return;
        }
        pager_open_current(a);
        return;
    case CMD_NEXT_UNREAD:
        for (size_t r = a->cur + 1; r < n; r++)
            if (!(row_msg(m, r)->flags & MDF_SEEN)) {
                a->cur = r;
                if (a->pager_open)
                    pager_open_current(a);
                return;
            }
        app_msg(a, "No unread message below.");
        return;
    case CMD_SEARCH:
        app_prompt(a, PR_SEARCH, "Search: ", "", list_prompt_done);
        return;
    case CMD_SEARCH_BACK:
        app_prompt(a, PR_SEARCH_BACK, "Search backwards: ", "", list_prompt_done);
        return;
    case CMD_SEARCH_NEXT:
        search(a, false);
        return;
    case CMD_SEARCH_PREV:
        search(a, true);
        return;
    case CMD_LIMIT:
        app_prompt(a, PR_LIMIT, "Limit to (words, from: subject: is:unread date:7d..; "
                   "empty = all): ", m->limit_text, list_prompt_done);
        return;
    case CMD_THREADS:
        m->threads = !m->threads;
        rebuild(a);
        return;
    case CMD_SORT:
        app_prompt(a, PR_SORT, "Sort by (d)ate (a)rrival (f)rom (s)ubject si(z)e: ", "",
                   list_prompt_done);
        return;
    case CMD_SORT_REVERSE:
        m->reverse = !m->reverse;
        rebuild(a);
        return;
    default:
        break;
    }
    if (n == 0) {
        app_msg(a, "No message here.");
        return;
    }
    switch (c) {
    case CMD_TOGGLE_READ:
        if (row_msg(m, a->cur)->flags & MDF_SEEN)
            set_flags(a, NULL, "S");
        else
            set_flags(a, "S", NULL);
        break;
    case CMD_FLAG:
        if (row_msg(m, a->cur)->flags & MDF_FLAGGED)
            set_flags(a, NULL, "F");
        else
            set_flags(a, "F", NULL);
        break;
    case CMD_DELETE:
        set_flags(a, "T", NULL);
        move_cursor(a, 1);
        break;
    case CMD_UNDELETE:
        set_flags(a, NULL, "T");
        break;
    case CMD_EXPUNGE:
        expunge(a);
        break;
    case CMD_MOVE:
        app_prompt(a, PR_MOVE, "Move to folder: ", "", list_prompt_done);
        break;
    case CMD_COPY:
        app_prompt(a, PR_COPY, "Copy to folder: ", "", list_prompt_done);
        break;
    case CMD_PIPE:
        app_prompt(a, PR_PIPE, "Pipe to command: ", "", list_prompt_done);
        break;
    case CMD_ATTACHMENTS:
    case CMD_HEADERS:
    case CMD_URLS:
        if (!a->pager_open)
            pager_open_current(a);
        pager_key(a, c);
        break;
    default:
        app_msg(a, "%s does nothing in the message list.", cmd_name(c));
        break;
    }
}

void list_click(struct app *a, int row)
{
    size_t r = a->top + (size_t)row;

    if (a->m && r < nrows(a->m)) {
        if (r == a->cur)
            pager_open_current(a);
        a->cur = r;
        if (a->pager_open)
            pager_open_current(a);
    }
}

/* For the pager: the message under the cursor (path as a new string, or NULL) and its id. */
char *list_current_path(struct app *a, uint32_t *id)
{
    if (a->m == NULL || a->cur >= nrows(a->m))
        return NULL;
    *id = row_msg(a->m, a->cur)->id;
    return idx_path(a->m->x, cur_pos(a));
}

/* The pager has shown the current message: mark it seen (one rename). */
void list_mark_seen(struct app *a)
{
    if (a->m && a->cur < nrows(a->m) && !(row_msg(a->m, a->cur)->flags & MDF_SEEN))
        set_flags(a, "S", NULL);
}

bool list_is_current(struct app *a, uint32_t id)
{
    return cursor_id(a) == id;
}

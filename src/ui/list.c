/* The message list pane: draws the visible rows of the open folder's view (model.h) and turns
 * keys into model operations; which rows, in which order, where the cursor is and what a flag
 * change does all belong to the model. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "tern/crypt.h"
#include "tern/fsutil.h"
#include "tern/maildir.h"
#include "tern/model.h"
#include "tern/queue.h"
#include "tern/str.h"
#include "tern/xalloc.h"
#include "tcurses.h"
#include "ui.h"

struct list_pane {
    size_t top;                  /* first visible row */
    char last_search[256];       /* for n and N, and an empty search prompt */
    uint32_t *pending;           /* the ids a move, copy or pipe prompt acts on */
    size_t npending;
};

static struct list_pane *list_of(struct app *a)
{
    return a->panes[PANE_LIST]->data;
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

static void draw_row(struct app *a, const struct rect *r, int y, size_t row)
{
    struct model *m = a->m;
    const struct idx_msg *g = model_row(m, row);
    bool sel = row == model_cursor(m);
    unsigned at = a->attr[COL_NORMAL];
    char flags[6], date[16], size[16], tree[128];
    int x = r->x, fromw, w = r->w;
    const char *who = model_show_to(m) ? g->to : g->from;
    struct buf who_b = BUF_INIT;

    if (g->flags & MDF_TRASHED)
        at = a->attr[COL_DELETED];
    else if (g->flags & MDF_FLAGGED)
        at = a->attr[COL_FLAGGED];
    else if (!(g->flags & MDF_SEEN) && !model_is_outbox(m))
        at = a->attr[COL_NEW];
    if (sel)
        at = a->attr[COL_CURSOR] | (at & A_BOLD);
    flags[0] = (g->flags & MDF_TRASHED) ? 'D'
               : !(g->flags & MDF_SEEN) && !model_is_outbox(m) ? (g->in_new ? 'N' : 'O')
                                                                : ' ';
    flags[1] = model_tagged(m, g->id) ? '*' : ' ';
    flags[2] = (g->flags & MDF_FLAGGED) ? '!' : ' ';
    flags[3] = (g->flags & MDF_REPLIED) ? 'r' : (g->flags & MDF_PASSED) ? 'f' : ' ';
    /* E encrypted, S signed: from the Content-Type the index keeps (nothing decrypted) */
    flags[4] = (g->crypt & CRYPT_MARK_ENCRYPTED) ? 'E'
               : (g->crypt & CRYPT_MARK_SIGNED) ? 'S' : ' ';
    flags[5] = '\0';
    fmt_date(g->date, date, sizeof date);
    fmt_size(g->size, size, sizeof size);
    if (model_show_to(m)) {
        buf_adds(&who_b, "To ");
        buf_adds(&who_b, who);
        who = buf_cstr(&who_b);
    }
    ui_fill(r->y + y, x, w, at);
    fromw = w / 4 < 22 ? w / 4 : 22;
    if (w < 50) {                  /* narrow: flags, from, subject */
        x += ui_put(r->y + y, x, flags, 5, w, at, false);
        x += ui_put(r->y + y, x, " ", 1, r->x + w - x, at, false);
        x += ui_put(r->y + y, x, who, strlen(who), fromw, at, true);
    } else {
        x += ui_put(r->y + y, x, flags, 5, 5, at, false) + 1;
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
    if (model_is_outbox(m)) {
        const struct queue_entry *q = model_queue_entry(m, row);
        char st[200];

        if (q == NULL)
            snprintf(st, sizeof st, "[no envelope] ");
        else if (q->state == QUEUE_FAILED)
            snprintf(st, sizeof st, "[FAILED: %s] ", q->reply ? q->reply : "?");
        else if (q->state == QUEUE_HELD)
            snprintf(st, sizeof st, "[HELD: %s] ", q->reply ? q->reply : "?");
        else if (q->attempts > 0)
            snprintf(st, sizeof st, "[queued, %d %s: %s] ", q->attempts,
                     q->attempts == 1 ? "try" : "tries", q->reply ? q->reply : "");
        else
            snprintf(st, sizeof st, "[queued] ");
        /* The state (with the server's reply) takes what the subject leaves: the subject
         * keeps up to 40 columns, so a long reply never squeezes it away. */
        int sw = (int)utf8_width(g->subject, strlen(g->subject));
        int room = r->x + w - x, stw = room - (sw < 40 ? sw : 40);

        if (stw < 12)
            stw = room < 12 ? room : 12;
        if ((int)utf8_width(st, strlen(st)) <= stw) {
            stw = (int)utf8_width(st, strlen(st));
        } else if (stw > 2) {
            char cut[200];
            int used;
            size_t keep = ui_clip(st, strlen(st), stw - 2, &used);

            snprintf(cut, sizeof cut, "%.*s] ", (int)keep, st);
            memcpy(st, cut, sizeof st);
        }
        x += ui_put(r->y + y, x, st, strlen(st), stw,
                    sel ? at : a->attr[q && q->state != QUEUE_QUEUED ? COL_ERROR : COL_TREE],
                    false);
    }
    if (model_threads(m)) {
        size_t hid = model_hidden(m, row);

        model_row_tree(m, row, tree, sizeof tree);
        if (hid)                        /* a collapsed thread: how many it hides */
            snprintf(tree, sizeof tree, "+%zu ", hid);
        x += ui_put(r->y + y, x, tree, strlen(tree), r->x + w - x,
                    sel ? at : a->attr[COL_TREE], false);
    }
    if (x < r->x + w)
        ui_put(r->y + y, x, g->subject, strlen(g->subject), r->x + w - x, at, false);
    buf_free(&who_b);
}

static void list_draw(struct app *a, struct pane *p, const struct rect *r)
{
    struct list_pane *lp = p->data;
    struct model *m = a->m;
    size_t n, cur;

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
    n = model_rows(m);
    if (n == 0) {
        const char *t = model_limit_text(m) ? "No message matches the limit (l, then Enter: all)."
                                            : "This folder is empty.";
        ui_put(r->y, r->x, t, strlen(t), r->w, a->attr[COL_NORMAL], false);
        return;
    }
    /* Keep the cursor visible, scrolling by whole pages like mutt only when it leaves. */
    cur = model_cursor(m);
    if (cur < lp->top)
        lp->top = cur;
    if (cur >= lp->top + (size_t)r->h)
        lp->top = cur - (size_t)r->h + 1;
    if (lp->top + (size_t)r->h > n)
        lp->top = n > (size_t)r->h ? n - (size_t)r->h : 0;
    for (int y = 0; y < r->h && lp->top + (size_t)y < n; y++)
        draw_row(a, r, y, lp->top + (size_t)y);
}

/* The cursor moved: the pager, when open, follows it. */
static void cursor_moved(struct app *a)
{
    app_dirty(a, PANE_LIST);
    if (a->pager_open)
        app_notify(a, EV_SHOW_MESSAGE);
}

static void move_cursor(struct app *a, long delta)
{
    if (a->m == NULL || model_rows(a->m) == 0)
        return;
    model_move_cursor(a->m, delta);
    cursor_moved(a);
}

static int cmp_id(const void *x, const void *y)
{
    uint32_t a = *(const uint32_t *)x, b = *(const uint32_t *)y;

    return a < b ? -1 : a > b;
}

/* The tagged ids in the order the list shows them (a reply or forward follows it), then the
 * tagged ones the view hides (a collapsed thread, a limit). */
static uint32_t *tags_in_view_order(struct model *m, size_t *n)
{
    size_t nt = model_ntagged(m), k = 0, rows = model_rows(m);
    const uint32_t *tags = model_tags(m);
    uint32_t *ids = xreallocarray(NULL, nt ? nt : 1, sizeof *ids);
    uint32_t *seen;
    size_t ns, j = 0;

    for (size_t r = 0; r < rows && k < nt; r++)
        if (model_tagged(m, model_row(m, r)->id))
            ids[k++] = model_row(m, r)->id;
    ns = k;
    seen = xreallocarray(NULL, ns ? ns : 1, sizeof *seen);
    if (ns)
        memcpy(seen, ids, ns * sizeof *seen);
    qsort(seen, ns, sizeof *seen, cmp_id);
    for (size_t i = 0; i < nt; i++) {       /* both sorted: the tags not seen in the view */
        while (j < ns && seen[j] < tags[i])
            j++;
        if (j >= ns || seen[j] != tags[i])
            ids[k++] = tags[i];
    }
    free(seen);
    *n = k;
    return ids;
}

uint32_t *list_targets(struct app *a, size_t *n)
{
    uint32_t *ids;

    *n = 0;
    if (a->m == NULL)
        return NULL;
    if (a->tag_prefix) {
        a->tag_prefix = false;
        return tags_in_view_order(a->m, n);
    }
    ids = xmalloc(sizeof *ids);
    ids[0] = model_cursor_id(a->m);
    if (ids[0] != UINT32_MAX)
        *n = 1;
    return ids;
}

/* One operation's outcome on the status line; the panes catch up. */
static void op_done(struct app *a, long r, size_t gone, const struct err *e)
{
    if (r < 0)
        app_err(a, "%s", e->msg);
    else if (gone > 0)
        app_msg(a, "That message was moved or deleted by another program.");
    app_notify(a, EV_FOLDER_CHANGED);
}

static void set_flags_on(struct app *a, const uint32_t *ids, size_t n, const char *add,
                         const char *del)
{
    size_t gone = 0;
    struct err e;
    long r = model_flag(a->m, ids, n, add, del, &gone, &e);

    op_done(a, r, gone, &e);
    if (r > 0 && n > 1)
        app_msg(a, "%ld message%s changed.", r, r == 1 ? "" : "s");
}

/* U and F on the targets: when any lacks the flag, all get it; else all lose it (mutt's
 * rule for tagged messages, the plain toggle for one). */
static void toggle_flag(struct app *a, const uint32_t *ids, size_t n, unsigned bit,
                        const char *letter)
{
    bool any_without = false;

    for (size_t i = 0; i < n; i++) {
        const struct idx_msg *g = model_msg(a->m, ids[i]);

        if (g && !(g->flags & bit))
            any_without = true;
    }
    if (any_without)
        set_flags_on(a, ids, n, letter, NULL);
    else
        set_flags_on(a, ids, n, NULL, letter);
}

/* Pipe several messages: one after the other into the command's standard input (mutt's
 * pipe_split unset). */
static void pipe_many(struct app *a, const uint32_t *ids, size_t n, const char *cmd)
{
    char tmp[4096];
    const char *dir = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
    int fd;

    if (n == 1) {
        char *path = model_path(a->m, ids[0]);

        if (path)
            app_pipe(a, path, cmd);
        free(path);
        return;
    }
    snprintf(tmp, sizeof tmp, "%s/tern-pipe.XXXXXX", dir);
    if ((fd = mkostemp(tmp, O_CLOEXEC)) < 0) {
        app_err(a, "%s: %s", tmp, strerror(errno));
        return;
    }
    for (size_t i = 0; i < n; i++) {
        char *path = model_path(a->m, ids[i]);
        struct buf b = BUF_INIT;
        struct err e;

        if (path && fs_read_file(path, &b, &e) == 0 && b.len &&
            write(fd, b.ptr, b.len) != (ssize_t)b.len)
            app_err(a, "%s: %s", tmp, strerror(errno));
        buf_free(&b);
        free(path);
    }
    close(fd);
    app_pipe(a, tmp, cmd);
    unlink(tmp);
}

static void expunge(struct app *a)
{
    struct err e;
    long done = model_expunge(a->m, &e);

    if (done < 0)
        app_err(a, "%s", e.msg);
    else
        app_msg(a, done ? "%ld message%s deleted." : "Nothing marked for deletion (d marks).",
                done, done == 1 ? "" : "s");
    app_set_pager(a, false);
    app_notify(a, EV_FOLDER_CHANGED);
    app_notify(a, EV_FOLDERS_CHANGED);
}

/* In the Trash an expunge is for good: ask first, naming the count. kind is what to do on
 * yes (PR_CONFIRM_PURGE: expunge; PR_CONFIRM_QUIT: expunge and leave). Returns true when a
 * question was asked. */
static bool ask_purge(struct app *a, enum prompt_kind kind)
{
    size_t t = model_counts(a->m)->trashed;
    char q[128];

    if (!model_is_trash(a->m) || t == 0)
        return false;
    snprintf(q, sizeof q, "Delete %zu message%s for good? (y/n%s) ", t, t == 1 ? "" : "s",
             kind == PR_CONFIRM_QUIT ? ", Esc: stay" : "");
    app_prompt(a, kind, q, "", list_prompt_done);
    return true;
}

static void expunge_asked(struct app *a)
{
    if (!ask_purge(a, PR_CONFIRM_PURGE))
        expunge(a);
}

static void search(struct app *a, bool back, const char *what)
{
    bool wrapped;
    struct err e;
    int r = model_search(a->m, back, &wrapped, &e);

    if (r < 0) {
        app_msg(a, "%s", e.msg);
    } else if (r == 0) {
        app_err(a, "Not found: %s", what);
    } else {
        if (wrapped)
            app_msg(a, "Search wrapped.");
        cursor_moved(a);
    }
}

static void sort_by(struct app *a, const char *key)
{
    static const struct { char c; enum idx_sort s; } map[] = {
        { 'd', IDX_SORT_DATE }, { 'a', IDX_SORT_ARRIVAL }, { 'f', IDX_SORT_FROM },
        { 's', IDX_SORT_SUBJECT }, { 'z', IDX_SORT_SIZE },
    };
    enum idx_sort s, now;
    bool rev;

    if (strlen(key) > 1 && idx_sort_parse(key, &s, &rev) == 0) {
        model_set_sort(a->m, s, rev);
        app_dirty(a, PANE_LIST);
        return;
    }
    model_get_sort(a->m, &now, &rev);
    if (key[0] == 't') {            /* mutt's sort prompt: (t)hreads */
        model_set_threads(a->m, !model_threads(a->m));
        app_dirty(a, PANE_LIST);
        return;
    }
    for (size_t i = 0; i < sizeof map / sizeof map[0]; i++)
        if (key[0] == map[i].c) {
            model_set_sort(a->m, map[i].s, rev);
            app_dirty(a, PANE_LIST);
            return;
        }
    if (key[0])
        app_err(a, "Sort keys: d a f s z t");
}

/*
 * s or C to a file (a path starting with / or ~): the message is appended to an mbox or
 * stored in a Maildir there; s then marks it for deletion as mutt's save does (it goes at
 * the next $), C leaves it.
 */
static void save_to_file(struct app *a, enum prompt_kind k, const uint32_t *ids, size_t n,
                         const char *target)
{
    char *where = NULL;
    size_t gone = 0;
    struct err e;
    long r = model_save(a->m, ids, n, target, &where, &gone, &e);

    if (r < 0) {
        app_err(a, "%s", e.msg);
    } else if (gone) {
        app_msg(a, "That message was moved or deleted by another program.");
    } else if (k == PR_MOVE) {
        if (model_delete(a->m, ids, n, &gone, &e) < 0)
            app_err(a, "Saved to %s, but: %s", where, e.msg);
        else if (n > 1)
            app_msg(a, "Saved %ld messages to %s; marked for deletion.", r, where);
        else
            app_msg(a, "Saved to %s; marked for deletion.", where);
        if (!a->pager_open && n == 1)
            move_cursor(a, 1);
    } else if (n > 1) {
        app_msg(a, "Saved copies of %ld messages to %s.", r, where);
    } else {
        app_msg(a, "Saved a copy to %s.", where);
    }
    free(where);
    app_notify(a, EV_FOLDER_CHANGED);
}

static void move_or_copy(struct app *a, enum prompt_kind k, const char *text)
{
    struct list_pane *lp = list_of(a);
    uint32_t one = model_cursor_id(a->m);
    const uint32_t *ids = lp->pending ? lp->pending : &one;
    size_t n = lp->pending ? lp->npending : 1, gone = 0;
    struct err e;
    long r;

    if (*text == '\0' || model_rows(a->m) == 0)
        return;
    if (model_is_file_target(text)) {
        save_to_file(a, k, ids, n, text);
        return;
    }
    if ((text[0] == '=' || text[0] == '+') && text[1])    /* mutt's names for folders */
        text++;
    r = k == PR_MOVE ? model_move(a->m, ids, n, text, &gone, &e)
                     : model_copy(a->m, ids, n, text, &gone, &e);
    if (r < 0) {
        app_err(a, "%s", e.msg);
        return;
    }
    if (gone)
        app_msg(a, "That message was moved or deleted by another program.");
    else if (n > 1)
        app_msg(a, "%s %ld messages to %s.", k == PR_MOVE ? "Moved" : "Copied", r, text);
    else
        app_msg(a, "%s to %s.", k == PR_MOVE ? "Moved" : "Copied", text);
    if (k == PR_MOVE)
        app_set_pager(a, false);
    app_notify(a, EV_FOLDER_CHANGED);
    app_notify(a, EV_FOLDERS_CHANGED);
}

/* A prompt for a message command on ids: they are kept until the answer. */
static void prompt_on(struct app *a, enum prompt_kind k, const char *what, uint32_t *ids,
                      size_t n, bool tagged)
{
    struct list_pane *lp = list_of(a);
    char label[160];

    free(lp->pending);
    lp->pending = ids;
    lp->npending = n;
    const char *to = k == PR_PIPE ? "command" : k == PR_MOVE ? "folder (or save to ~/file)"
                                                             : "folder (or ~/file)";

    if (tagged)
        snprintf(label, sizeof label, "%s %zu tagged message%s to %s: ", what, n,
                 n == 1 ? "" : "s", to);
    else
        snprintf(label, sizeof label, "%s to %s: ", what, to);
    app_prompt(a, k, label, "", list_prompt_done);
}

static void tag_pattern_done(struct app *a, enum prompt_kind k, const char *text)
{
    struct err e;
    long r;

    if (*text == '\0')
        return;
    r = model_tag_pattern(a->m, text, k == PR_TAG_PATTERN, &e);
    if (r < 0) {
        app_err(a, "%s", e.msg);
        return;
    }
    app_msg(a, "%ld message%s %s.", r, r == 1 ? "" : "s",
            k == PR_TAG_PATTERN ? "tagged" : "untagged");
    app_notify(a, EV_FOLDER_CHANGED);
}

void list_prompt_done(struct app *a, enum prompt_kind k, const char *text)
{
    struct list_pane *lp = list_of(a);
    char *last_search;
    struct err e;

    if (a->m == NULL)
        return;
    if (k != PR_MOVE && k != PR_COPY && k != PR_PIPE) {
        free(lp->pending);
        lp->pending = NULL;
    }
    switch (k) {
    case PR_TAG_PATTERN:
    case PR_UNTAG_PATTERN:
        tag_pattern_done(a, k, text);
        return;
    case PR_CONFIRM_PURGE:
        if (text[0] == 'y' || text[0] == 'Y')
            expunge(a);
        else
            app_msg(a, "Nothing deleted.");
        return;
    case PR_CONFIRM_QUIT:
        if (text[0] == 'y' || text[0] == 'Y') {
            expunge(a);
            a->running = false;
        } else if (text[0] == 'n' || text[0] == 'N') {
            a->running = false;         /* the marks stay on the files (flag T) */
        }
        return;
    case PR_LIMIT:
        if (model_set_limit(a->m, text, &e) < 0) {
            app_err(a, "%s", e.msg);
            return;
        }
        app_dirty(a, PANE_LIST);
        break;
    case PR_SEARCH:
    case PR_SEARCH_BACK:
        last_search = list_of(a)->last_search;
        if (*text == '\0')
            text = last_search;
        if (*text == '\0')
            return;
        if (model_set_search(a->m, text, &e) < 0) {
            app_err(a, "%s", e.msg);
            return;
        }
        if (text != last_search)
            snprintf(last_search, sizeof list_of(a)->last_search, "%s", text);
        search(a, k == PR_SEARCH_BACK, last_search);
        break;
    case PR_SORT:
        sort_by(a, text);
        break;
    case PR_MOVE:
    case PR_COPY:
        move_or_copy(a, k, text);
        break;
    case PR_PIPE:
        if (*text && lp->pending)
            pipe_many(a, lp->pending, lp->npending, text);
        break;
    default:
        break;
    }
    free(lp->pending);
    lp->pending = NULL;
}

/* The thread commands (threads on). */
static void thread_key(struct app *a, enum action c)
{
    struct model *m = a->m;
    uint32_t *ids = NULL;
    size_t n = 0, gone = 0;
    struct err e;
    long r = 0;

    if (!model_threads(m)) {
        app_err(a, "Threads are off: o t (or #) turns them on.");
        return;
    }
    switch (c) {
    case ACT_COLLAPSE_THREAD:
        model_collapse_thread(m);
        cursor_moved(a);
        return;
    case ACT_COLLAPSE_ALL:
        model_collapse_all(m);
        cursor_moved(a);
        return;
    case ACT_NEXT_THREAD:
    case ACT_PREV_THREAD:
        if (model_next_thread(m, c == ACT_PREV_THREAD))
            cursor_moved(a);
        else
            app_msg(a, c == ACT_NEXT_THREAD ? "No thread below." : "No thread above.");
        return;
    case ACT_PARENT:
        if (model_parent(m))
            cursor_moved(a);
        else
            app_msg(a, "This message starts its thread.");
        return;
    default:
        break;
    }
    n = model_thread_ids(m, model_cursor(m), &ids);
    if (c == ACT_DELETE_THREAD)
        r = model_delete(m, ids, n, &gone, &e);
    else if (c == ACT_UNDELETE_THREAD)
        r = model_undelete(m, ids, n, &gone, &e);
    else
        r = model_flag(m, ids, n, "S", NULL, &gone, &e);
    free(ids);
    op_done(a, r, gone, &e);
    if (r >= 0)
        app_msg(a, "%ld message%s of the thread %s.", r, r == 1 ? "" : "s",
                c == ACT_DELETE_THREAD ? "marked for deletion"
                : c == ACT_UNDELETE_THREAD ? "unmarked" : "marked read");
    if (c == ACT_DELETE_THREAD && model_next_thread(m, false))
        cursor_moved(a);
}

/* A message command on ids (the cursor's message, or the tagged ones after `;`). */
static void message_key(struct app *a, enum action c, uint32_t *ids, size_t n, bool tagged)
{
    struct model *m = a->m;

    switch (c) {
    case ACT_TOGGLE_READ:
        toggle_flag(a, ids, n, MDF_SEEN, "S");
        break;
    case ACT_FLAG:
        toggle_flag(a, ids, n, MDF_FLAGGED, "F");
        break;
    case ACT_DELETE:
        set_flags_on(a, ids, n, "T", NULL);
        if (!tagged)
            move_cursor(a, 1);
        break;
    case ACT_UNDELETE:
        set_flags_on(a, ids, n, NULL, "T");
        break;
    case ACT_MOVE:
        prompt_on(a, PR_MOVE, "Move", ids, n, tagged);
        return;
    case ACT_COPY:
        prompt_on(a, PR_COPY, "Copy", ids, n, tagged);
        return;
    case ACT_PIPE:
        prompt_on(a, PR_PIPE, "Pipe", ids, n, tagged);
        return;
    case ACT_TAG:
        if (tagged) {                   /* ;t: untag them all */
            model_untag_all(m);
        } else {
            model_tag(m, ids[0], !model_tagged(m, ids[0]));
            move_cursor(a, 1);
        }
        app_notify(a, EV_FOLDER_CHANGED);
        break;
    default:
        break;
    }
    free(ids);
}

static void list_key(struct app *a, struct pane *p, enum action c, int key)
{
    struct model *m = a->m;
    int page = a->lay.pane[PANE_LIST].h > 1 ? a->lay.pane[PANE_LIST].h - 1 : 1;
    size_t n = m ? model_rows(m) : 0;

    (void)p;
    (void)key;
    app_dirty(a, PANE_LIST);
    if (a->tag_prefix && c != ACT_TOGGLE_READ && c != ACT_FLAG && c != ACT_DELETE &&
        c != ACT_UNDELETE && c != ACT_MOVE && c != ACT_COPY && c != ACT_PIPE && c != ACT_TAG) {
        a->tag_prefix = false;
        app_err(a, "; applies to d u s C F U t | r g L f, not to %s.", act_name(c));
        return;
    }
    if (m == NULL && c != ACT_QUIT) {
        app_msg(a, "No folder open: c opens one.");
        return;
    }
    switch (c) {
    case ACT_UP: move_cursor(a, -1); return;
    case ACT_DOWN: move_cursor(a, 1); return;
    case ACT_PAGE_UP: move_cursor(a, -page); return;
    case ACT_PAGE_DOWN: move_cursor(a, page); return;
    case ACT_HALF_UP: move_cursor(a, -page / 2 - 1); return;
    case ACT_HALF_DOWN: move_cursor(a, page / 2 + 1); return;
    case ACT_FIRST: move_cursor(a, -(long)n); return;
    case ACT_LAST: move_cursor(a, (long)n); return;
    case ACT_QUIT:
        if (a->pager_open) {
            app_set_pager(a, false);
            return;
        }
        if (m && ask_purge(a, PR_CONFIRM_QUIT))
            return;
        if (m && model_counts(m)->trashed > 0) {
            char q[128];
            size_t t = model_counts(m)->trashed;

            snprintf(q, sizeof q, "Expunge %zu message%s marked for deletion? (y/n, Esc: stay) ",
                     t, t == 1 ? "" : "s");
            app_prompt(a, PR_CONFIRM_QUIT, q, "", list_prompt_done);
            return;
        }
        a->running = false;
        return;
    case ACT_OPEN:
    case ACT_PAGE:
        if (n == 0)
            return;
        if (a->pager_open && c == ACT_PAGE) {
            app_pane_key(a, PANE_PAGER, ACT_PAGE);
            return;
        }
        app_notify(a, EV_SHOW_MESSAGE);
        if (a->pager_open)
            a->focus = PANE_PAGER;      /* Enter reads; j and k only follow (they stay here) */
        return;
    case ACT_NEXT_UNREAD:
        if (model_next_unread(m))
            cursor_moved(a);
        else
            app_msg(a, "No unread message below.");
        return;
    case ACT_SEARCH:
        app_prompt(a, PR_SEARCH, "Search: ", "", list_prompt_done);
        return;
    case ACT_SEARCH_BACK:
        app_prompt(a, PR_SEARCH_BACK, "Search backwards: ", "", list_prompt_done);
        return;
    case ACT_SEARCH_NEXT:
        search(a, false, list_of(a)->last_search);
        return;
    case ACT_SEARCH_PREV:
        search(a, true, list_of(a)->last_search);
        return;
    case ACT_LIMIT:
        app_prompt(a, PR_LIMIT, "Limit to (words, from: subject: is:unread date:7d..; "
                   "empty = all): ", model_limit_text(m), list_prompt_done);
        return;
    case ACT_THREADS:
        model_set_threads(m, !model_threads(m));
        return;
    case ACT_SORT:
        app_prompt(a, PR_SORT, "Sort by " SORT_KEYS_HELP ": ", "", list_prompt_done);
        return;
    case ACT_SORT_REVERSE: {
        enum idx_sort k;
        bool rev;

        model_get_sort(m, &k, &rev);
        model_set_sort(m, k, !rev);
        return;
    }
    default:
        break;
    }
    if (n == 0) {
        app_msg(a, "No message here.");
        return;
    }
    switch (c) {
    case ACT_TOGGLE_READ:
    case ACT_FLAG:
    case ACT_DELETE:
    case ACT_UNDELETE:
    case ACT_MOVE:
    case ACT_COPY:
    case ACT_PIPE:
    case ACT_TAG: {
        bool tagged = a->tag_prefix;
        size_t k;
        uint32_t *ids = list_targets(a, &k);

        message_key(a, c, ids, k, tagged);
        break;
    }
    case ACT_TAG_PREFIX:
        if (model_ntagged(m) == 0) {
            app_msg(a, "No tagged messages (t tags one, T by pattern).");
            break;
        }
        a->tag_prefix = true;
        app_msg(a, "; -- the next command acts on the %zu tagged message%s", model_ntagged(m),
                model_ntagged(m) == 1 ? "" : "s");
        return;
    case ACT_TAG_PATTERN:
        app_prompt(a, PR_TAG_PATTERN, "Tag messages matching: ", "", list_prompt_done);
        break;
    case ACT_UNTAG_PATTERN:
        app_prompt(a, PR_UNTAG_PATTERN, "Untag messages matching: ", "", list_prompt_done);
        break;
    case ACT_COLLAPSE_THREAD:
    case ACT_COLLAPSE_ALL:
    case ACT_DELETE_THREAD:
    case ACT_UNDELETE_THREAD:
    case ACT_READ_THREAD:
    case ACT_NEXT_THREAD:
    case ACT_PREV_THREAD:
    case ACT_PARENT:
        thread_key(a, c);
        break;
    case ACT_EXPUNGE:
        expunge_asked(a);
        break;
    case ACT_ATTACHMENTS:
    case ACT_HEADERS:
    case ACT_URLS:
        if (!a->pager_open)
            app_notify(a, EV_SHOW_MESSAGE);
        app_pane_key(a, PANE_PAGER, c);
        break;
    default:
        app_msg(a, "%s does nothing in the message list.", act_name(c));
        break;
    }
}

/* The wheel moves the cursor but never shows a message: scrolling over the list must not
 * mark what was never read (the pager keeps its message until Enter). */
static void list_wheel(struct app *a, struct pane *p, int delta)
{
    (void)p;
    if (a->m == NULL || model_rows(a->m) == 0)
        return;
    model_move_cursor(a->m, delta);
    app_dirty(a, PANE_LIST);
}

static void list_click(struct app *a, struct pane *p, int row)
{
    struct list_pane *lp = p->data;
    size_t r = lp->top + (size_t)row;

    if (a->m && r < model_rows(a->m)) {
        bool again = r == model_cursor(a->m);

        model_set_cursor(a->m, r);
        if (again || a->pager_open)
            app_notify(a, EV_SHOW_MESSAGE);
        app_dirty(a, PANE_LIST);
    }
}

static void list_notify(struct app *a, struct pane *p, enum ui_event ev)
{
    struct list_pane *lp = p->data;

    (void)a;
    if (ev == EV_FOLDER_OPENED)
        lp->top = 0;
    if (ev != EV_PAGER_CLOSED && ev != EV_TICK)
        p->dirty = true;
}

static void list_free(struct pane *p)
{
    struct list_pane *lp = p->data;

    free(lp->pending);
}

const struct pane_ops list_pane_ops = {
    .name = "list",
    .draw = list_draw,
    .key = list_key,
    .click = list_click,
    .wheel = list_wheel,
    .notify = list_notify,
    .free = list_free,
};

struct pane *list_pane_new(void)
{
    return pane_new(&list_pane_ops, xcalloc(1, sizeof(struct list_pane)));
}

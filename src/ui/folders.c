/* The folder pane: every Maildir under mail_root with unread/total counts, counted from file
 * names only (no message is opened) and only again when a folder's directories changed; the
 * open folder's counts come from its model. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tern/maildir.h"
#include "tern/model.h"
#include "tern/str.h"
#include "tern/xalloc.h"
#include "tcurses.h"
#include "ui.h"

/* One folder: its name and its counts, as of its directories' stamp when counted. */
struct folder_row {
    char *name;
    long unread, total;          /* -1: not counted yet */
    struct maildir_stamp stamp;
    bool counted;
};

struct folders {
    struct folder_row *rows;
    size_t n;
    size_t cur, top;
};

static struct folders *folders_of(struct app *a)
{
    return a->panes[PANE_FOLDERS]->data;
}

static void folders_clear(struct folders *f)
{
    for (size_t i = 0; i < f->n; i++)
        free(f->rows[i].name);
    free(f->rows);
    f->rows = NULL;
    f->n = 0;
}

void folders_scan(struct app *a)
{
    struct folders *f = folders_of(a);
    char **names = NULL;
    size_t n = 0;
    struct err e;

    if (maildir_folders(a->root, &names, &n, &e) < 0) {
        app_err(a, "%s", e.msg);
        return;
    }
    folders_clear(f);
    f->rows = xcalloc(n + 1, sizeof *f->rows);
    for (size_t i = 0; i < n; i++) {
        f->rows[i].name = xstrdup(names[i]);
        f->rows[i].unread = f->rows[i].total = -1;
    }
    maildir_folders_free(names);
    f->n = n;
    if (f->cur >= n)
        f->cur = n ? n - 1 : 0;
    app_dirty(a, PANE_FOLDERS);
}

/* Count messages and unseen ones in sub ("new" or "cur") of dir by their names. */
struct tally {
    long total, unread;
};

static int count_one(const char *sub, const char *name, void *arg)
{
    struct tally *t = arg;
    size_t ul;
    const char *fl = maildir_name_split(name, &ul);

    t->total++;
    if (strcmp(sub, "new") == 0 || !(maildir_flags_bits(fl) & MDF_SEEN))
        t->unread++;
    return 0;
}

static void set_counts(struct app *a, struct folders *f, size_t i, long total, long unread)
{
    if (total != f->rows[i].total || unread != f->rows[i].unread)
        app_dirty(a, PANE_FOLDERS);
    f->rows[i].total = total;
    f->rows[i].unread = unread;
    notify_count(a, f->rows[i].name, total, unread);
}

/* Recount the folders whose directories changed; only_open: just the open folder (the
 * model changed, nothing else did). */
static void update_counts(struct app *a, struct folders *f, bool only_open)
{
    const char *open = a->m ? model_name(a->m) : NULL;

    for (size_t i = 0; i < f->n; i++) {
        if (only_open && (open == NULL || strcmp(open, f->rows[i].name) != 0))
            continue;
        char *dir;
        long total = 0, unread = 0;
        struct err e;

        /* The open folder: its model already knows (no directory read while mail pours in). */
        if (open && strcmp(open, f->rows[i].name) == 0) {
            const struct model_counts *c = model_counts(a->m);

            set_counts(a, f, i, (long)c->total, (long)c->unread);
            f->rows[i].counted = false;      /* count it from the names again once closed */
            continue;
        }
        if ((dir = maildir_folder_path(a->root, f->rows[i].name)) == NULL)
            continue;
        if (f->rows[i].counted && !maildir_changed(dir, &f->rows[i].stamp)) {
            free(dir);
            continue;
        }
        (void)maildir_stamp(dir, &f->rows[i].stamp, &e);
        {
            struct tally t = { 0, 0 };

            (void)maildir_each(dir, count_one, &t);
            total = t.total;
            unread = t.unread;
        }
        f->rows[i].counted = true;
        set_counts(a, f, i, total, unread);
        free(dir);
    }
    notify_flush(a);
}

static void folders_draw(struct app *a, struct pane *p, const struct rect *r)
{
    struct folders *f = p->data;
    const char *open = app_folder(a);
    size_t top;

    if (f->cur < f->top)
        f->top = f->cur;
    if (f->cur >= f->top + (size_t)r->h)
        f->top = f->cur - (size_t)r->h + 1;
    top = f->top;
    for (int y = 0; y < r->h && top + (size_t)y < f->n; y++) {
        size_t i = top + (size_t)y;
        char cnt[32] = "";
        unsigned at = a->attr[COL_NORMAL];
        int cw, nw;
        bool is_open = open && strcmp(open, f->rows[i].name) == 0;

        if (f->rows[i].unread > 0) {
            snprintf(cnt, sizeof cnt, " %ld", f->rows[i].unread);
            at = a->attr[COL_FOLDER_UNREAD];
        }
        if (i == f->cur && a->focus == PANE_FOLDERS)
            at = a->attr[COL_CURSOR];
        else if (is_open)
            at |= A_UNDERLINE;
        ui_fill(r->y + y, r->x, r->w, at);
        cw = (int)strlen(cnt);
        nw = r->w - cw - 1;
        ui_put(r->y + y, r->x, is_open ? ">" : " ", 1, 1, at, false);
        ui_put(r->y + y, r->x + 1, f->rows[i].name, strlen(f->rows[i].name), nw, at, false);
        if (cw > 0 && cw < r->w)
            ui_put(r->y + y, r->x + r->w - cw, cnt, (size_t)cw, cw, at, false);
    }
}

static void open_selected(struct app *a, struct folders *f)
{
    if (f->cur < f->n && app_open_folder(a, f->rows[f->cur].name) == 0)
        a->focus = PANE_LIST;
}

static void folders_key(struct app *a, struct pane *p, enum action c, int key)
{
    struct folders *f = p->data;
    int page = a->lay.pane[PANE_FOLDERS].h > 1 ? a->lay.pane[PANE_FOLDERS].h - 1 : 1;

    (void)key;
    p->dirty = true;
    switch (c) {
    case ACT_UP:
        if (f->cur > 0)
            f->cur--;
        break;
    case ACT_DOWN:
        if (f->cur + 1 < f->n)
            f->cur++;
        break;
    case ACT_PAGE_UP:
    case ACT_HALF_UP:
        f->cur = f->cur > (size_t)page ? f->cur - (size_t)page : 0;
        break;
    case ACT_PAGE_DOWN:
    case ACT_HALF_DOWN:
        f->cur += (size_t)page;
        if (f->cur >= f->n)
            f->cur = f->n ? f->n - 1 : 0;
        break;
    case ACT_FIRST:
        f->cur = 0;
        break;
    case ACT_LAST:
        f->cur = f->n ? f->n - 1 : 0;
        break;
    case ACT_OPEN:
    case ACT_PAGE:
        open_selected(a, f);
        break;
    case ACT_QUIT:
        a->focus = PANE_LIST;
        break;
    default:
        app_pane_key(a, PANE_LIST, c);
        break;
    }
}

static void folders_click(struct app *a, struct pane *p, int row)
{
    struct folders *f = p->data;
    size_t i = f->top + (size_t)row;

    if (i < f->n) {
        f->cur = i;
        open_selected(a, f);
    }
}

static void folders_notify(struct app *a, struct pane *p, enum ui_event ev)
{
    struct folders *f = p->data;

    switch (ev) {
    case EV_FOLDER_OPENED:
        /* The cursor goes to the folder opened. */
        for (size_t i = 0; a->m && i < f->n; i++)
            if (strcmp(f->rows[i].name, model_name(a->m)) == 0)
                f->cur = i;
        p->dirty = true;
        break;
    case EV_FOLDERS_CHANGED:
        folders_scan(a);
        update_counts(a, f, false);
        break;
    case EV_FOLDER_CHANGED:
        update_counts(a, f, true);
        break;
    case EV_TICK:
        update_counts(a, f, false);
        break;
    default:
        break;
    }
}

const char *folders_name(struct app *a, size_t i)
{
    struct folders *f = folders_of(a);

    return i < f->n ? f->rows[i].name : NULL;
}

void folders_complete(struct app *a, struct buf *text)
{
    struct folders *f = folders_of(a);
    const char *t = buf_cstr(text);
    size_t tl = text->len, common = 0, nmatch = 0, first = 0, next = SIZE_MAX;

    for (size_t i = 0; i < f->n; i++) {
        const char *nm = f->rows[i].name;
        size_t k = 0;

        if (strncmp(nm, t, tl) == 0) {
            if (nmatch == 0) {
                first = i;
                common = strlen(nm);
            } else {
                while (k < common && f->rows[first].name[k] == nm[k])
                    k++;
                common = k;
            }
            nmatch++;
            if (strcmp(nm, t) == 0 && i + 1 < f->n && next == SIZE_MAX)
                next = i + 1;
        }
    }
    if (nmatch == 0)
        return;
    if (nmatch == 1 && strcmp(f->rows[first].name, t) == 0) {    /* complete: cycle on */
        buf_reset(text);
        buf_adds(text, f->rows[(first + 1) % f->n].name);
        return;
    }
    if (common > tl) {
        char *s = xstrndup(f->rows[first].name, common);

        buf_reset(text);
        buf_adds(text, s);
        free(s);
    } else if (nmatch > 1) {
        size_t i = next != SIZE_MAX ? next : first;

        buf_reset(text);
        buf_adds(text, f->rows[i].name);
    }
}

static void folders_free(struct pane *p)
{
    folders_clear(p->data);
}

const struct pane_ops folders_pane_ops = {
    .name = "folders",
    .draw = folders_draw,
    .key = folders_key,
    .click = folders_click,
    .notify = folders_notify,
    .free = folders_free,
};

struct pane *folders_pane_new(void)
{
    return pane_new(&folders_pane_ops, xcalloc(1, sizeof(struct folders)));
}

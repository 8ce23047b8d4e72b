/* The folder pane: every Maildir under mail_root with unread/total counts, counted from file
 * names only (no message is opened) and only again when a folder's directories changed. */
#include "config.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tern/maildir.h"
#include "tern/str.h"
#include "tern/xalloc.h"
#include "tcurses.h"
#include "ui.h"

static struct maildir_stamp *stamps;
static bool *counted;

void folders_scan(struct app *a)
{
    char **names = NULL;
    size_t n = 0;
    struct err e;

    if (maildir_folders(a->root, &names, &n, &e) < 0) {
        app_err(a, "%s", e.msg);
        return;
    }
    for (size_t i = 0; i < a->nfolders; i++)
        free(a->folders[i]);
    free(a->folders);
    free(a->folder_unread);
    free(a->folder_total);
    free(stamps);
    free(counted);
    a->folders = xcalloc(n + 1, sizeof *a->folders);
    for (size_t i = 0; i < n; i++)
        a->folders[i] = xstrdup(names[i]);
    maildir_folders_free(names);
    a->nfolders = n;
    a->folder_unread = xcalloc(n + 1, sizeof *a->folder_unread);
    a->folder_total = xcalloc(n + 1, sizeof *a->folder_total);
    stamps = xcalloc(n + 1, sizeof *stamps);
    counted = xcalloc(n + 1, sizeof *counted);
    for (size_t i = 0; i < n; i++)
        a->folder_unread[i] = a->folder_total[i] = -1;
    if (a->fcur >= n)
        a->fcur = n ? n - 1 : 0;
    a->dirty = true;
}

/* Count messages and unseen ones in sub ("new" or "cur") of dir by their names. */
static void count_dir(const char *dir, const char *sub, long *total, long *unread)
{
    char path[4096];
    DIR *d;
    struct dirent *de;

    if (snprintf(path, sizeof path, "%s/%s", dir, sub) >= (int)sizeof path)
        return;
    if ((d = opendir(path)) == NULL)
        return;
    while ((de = readdir(d)) != NULL) {
        size_t ul;
        const char *fl;

        if (de->d_name[0] == '.')
            continue;
        (*total)++;
        fl = maildir_name_split(de->d_name, &ul);
        if (strcmp(sub, "new") == 0 || !(maildir_flags_bits(fl) & MDF_SEEN))
            (*unread)++;
    }
    closedir(d);
}

void folders_update_counts(struct app *a)
{
    for (size_t i = 0; i < a->nfolders; i++) {
        char *dir = maildir_folder_path(a->root, a->folders[i]);
        long total = 0, unread = 0;
        struct err e;

        if (dir == NULL)
            continue;
        /* The open folder: its index already knows (no directory read while mail pours in). */
        if (a->folder && strcmp(a->folder, a->folders[i]) == 0 &&
            list_counts(a, &total, &unread)) {
            if (total != a->folder_total[i] || unread != a->folder_unread[i])
                a->dirty = true;
            a->folder_total[i] = total;
            a->folder_unread[i] = unread;
            notify_count(a, a->folders[i], total, unread);
            counted[i] = false;         /* count it from the names again once closed */
            free(dir);
            continue;
        }
        if (counted[i] && !maildir_changed(dir, &stamps[i])) {
            free(dir);
            continue;
        }
        (void)maildir_stamp(dir, &stamps[i], &e);
        count_dir(dir, "new", &total, &unread);
        count_dir(dir, "cur", &total, &unread);
        counted[i] = true;
        if (total != a->folder_total[i] || unread != a->folder_unread[i])
            a->dirty = true;
        a->folder_total[i] = total;
        a->folder_unread[i] = unread;
        notify_count(a, a->folders[i], total, unread);
        free(dir);
    }
    notify_flush(a);
}

void folders_draw(struct app *a, const struct rect *r)
{
    size_t top;

    if (a->fcur < a->ftop)
        a->ftop = a->fcur;
    if (a->fcur >= a->ftop + (size_t)r->h)
        a->ftop = a->fcur - (size_t)r->h + 1;
    top = a->ftop;
    for (int y = 0; y < r->h && top + (size_t)y < a->nfolders; y++) {
        size_t i = top + (size_t)y;
        char cnt[32] = "";
        unsigned at = a->attr[COL_NORMAL];
        int cw, nw;
        bool open = a->folder && strcmp(a->folder, a->folders[i]) == 0;

        if (a->folder_unread[i] > 0) {
            snprintf(cnt, sizeof cnt, " %ld", a->folder_unread[i]);
            at = a->attr[COL_FOLDER_UNREAD];
        }
        if (i == a->fcur && a->focus == PANE_FOLDERS)
            at = a->attr[COL_CURSOR];
        else if (open)
            at |= A_UNDERLINE;
        ui_fill(r->y + y, r->x, r->w, at);
        cw = (int)strlen(cnt);
        nw = r->w - cw - 1;
        ui_put(r->y + y, r->x, open ? ">" : " ", 1, 1, at, false);
        ui_put(r->y + y, r->x + 1, a->folders[i], strlen(a->folders[i]), nw, at, false);
        if (cw > 0 && cw < r->w)
            ui_put(r->y + y, r->x + r->w - cw, cnt, (size_t)cw, cw, at, false);
    }
}

void folders_key(struct app *a, enum cmd c)
{
    int page = a->lay.pane[PANE_FOLDERS].h > 1 ? a->lay.pane[PANE_FOLDERS].h - 1 : 1;

    a->dirty = true;
    switch (c) {
    case CMD_UP:
        if (a->fcur > 0)
            a->fcur--;
        break;
    case CMD_DOWN:
        if (a->fcur + 1 < a->nfolders)
            a->fcur++;
        break;
    case CMD_PAGE_UP:
    case CMD_HALF_UP:
        a->fcur = a->fcur > (size_t)page ? a->fcur - (size_t)page : 0;
        break;
    case CMD_PAGE_DOWN:
    case CMD_HALF_DOWN:
        a->fcur += (size_t)page;
        if (a->fcur >= a->nfolders)
            a->fcur = a->nfolders ? a->nfolders - 1 : 0;
        break;
    case CMD_FIRST:
        a->fcur = 0;
        break;
    case CMD_LAST:
        a->fcur = a->nfolders ? a->nfolders - 1 : 0;
        break;
    case CMD_OPEN:
    case CMD_PAGE:
        if (a->fcur < a->nfolders && folders_open(a, a->folders[a->fcur]) == 0)
            a->focus = PANE_LIST;
        break;
    case CMD_QUIT:
        a->focus = PANE_LIST;
        break;
    default:
        list_key(a, c);
        break;
    }
}

void folders_click(struct app *a, int row)
{
    size_t i = a->ftop + (size_t)row;

    if (i < a->nfolders) {
        a->fcur = i;
        if (folders_open(a, a->folders[i]) == 0)
            a->focus = PANE_LIST;
    }
}

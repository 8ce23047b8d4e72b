/* The status bar (from the open folder's model and the jobs), the prompt pane with its line
 * editor, the help pane built from the live key table, and the ":" named commands. */
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tern/model.h"
#include "tern/str.h"
#include "tern/xalloc.h"
#include "tcurses.h"
#include "ui.h"

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

/* The left part of the status bar: the open folder from its model, counts, sort, limit. */
static void folder_status(struct app *a, struct buf *out)
{
    struct model *m = a->m;
    const struct model_counts *c;
    enum idx_sort key;
    bool rev;

    if (m == NULL) {
        if (a->pending_folder)
            buf_printf(out, " %s  [indexing]", a->pending_folder);
        else
            buf_adds(out, " tern: no folder open");
        return;
    }
    c = model_counts(m);
    buf_printf(out, " %s", model_name(m));
    if (model_rows(m) > 0)
        buf_printf(out, " %zu/%zu", model_cursor(m) + 1, model_rows(m));
    buf_printf(out, "  [%zu msg%s", c->shown, c->shown == 1 ? "" : "s");
    if (model_limit_text(m))
        buf_printf(out, " of %zu", c->total);
    if (c->unread)
        buf_printf(out, ", %zu unread", c->unread);
    if (c->in_new)
        buf_printf(out, ", %zu new", c->in_new);
    if (c->flagged)
        buf_printf(out, ", %zu flagged", c->flagged);
    if (c->trashed)
        buf_printf(out, ", %zu deleted", c->trashed);
    if (model_ntagged(m))
        buf_printf(out, ", %zu tagged", model_ntagged(m));
    buf_printf(out, "]");
    if (c->arrived > 0)
        buf_printf(out, " +%ld arrived", c->arrived);
    model_get_sort(m, &key, &rev);
    buf_printf(out, "  (%s%s%s)", rev ? "-" : "", sort_name(key),
               model_threads(m) ? ", threads" : "");
    if (model_limit_text(m))
        buf_printf(out, "  limit: %s", model_limit_text(m));
}

void status_draw(struct app *a)
{
    struct buf left = BUF_INIT;
    char jobs[256];
    const struct rect *r = &a->lay.status;
    int used;

    if (r->h == 0)
        return;
    folder_status(a, &left);
    jobs_status(a, jobs, sizeof jobs);
    ui_fill(r->y, 0, r->w, a->attr[COL_STATUS]);
    used = ui_put(r->y, 0, left.ptr ? left.ptr : "", left.len, r->w, a->attr[COL_STATUS], false);
    if (jobs[0]) {
        int jw = (int)utf8_width(jobs, strlen(jobs));

        if (jw > r->w - used - 1)
            jw = r->w - used - 1;
        if (jw > 0)
            ui_put(r->y, r->w - jw, jobs, strlen(jobs), jw, a->attr[COL_STATUS], false);
    }
    buf_free(&left);
}

static void prompt_draw(struct app *a, struct pane *p, const struct rect *r)
{
    (void)p;

    if (r->h == 0)
        return;
    if (a->pr.kind == PR_NONE) {
        curs_set(0);
        ui_put(r->y, 0, a->msg, strlen(a->msg), r->w,
               a->msg_error ? a->attr[COL_ERROR] : a->attr[COL_PROMPT], true);
        return;
    }
    {
        int lw = ui_put(r->y, 0, a->pr.label, strlen(a->pr.label), r->w, a->attr[COL_PROMPT],
                        false);
        int room = r->w - lw - 1;
        const char *t = a->pr.text.ptr ? a->pr.text.ptr : "";
        size_t start = 0;
        int before;

        if (a->pr.kind == PR_PASSWORD) {        /* no echo, not even its length */
            ui_put(r->y, lw, "", 0, room > 0 ? room : 0, a->attr[COL_PROMPT], true);
            move(r->y, lw);
            curs_set(1);
            return;
        }

        /* Scroll the text so the cursor stays visible. */
        while (room > 0 && (int)utf8_width(t + start, a->pr.cur - start) > room) {
            size_t l = utf8_seqlen((const unsigned char *)t + start, a->pr.text.len - start);
            start += l ? l : 1;
        }
        ui_put(r->y, lw, t + start, a->pr.text.len - start, room > 0 ? room : 0,
               a->attr[COL_PROMPT], true);
        before = (int)utf8_width(t + start, a->pr.cur - start);
        move(r->y, lw + before);
        curs_set(1);
    }
}

/* Tab in a folder prompt: complete the name from the folder list. */
static void complete_folder(struct app *a)
{
    folders_complete(a, &a->pr.text);
    a->pr.cur = a->pr.text.len;
}

static void prompt_key(struct app *a, struct pane *p, enum action act, int key)
{
    int r;

    (void)p;
    (void)act;
    if (a->pr.onekey) {
        enum prompt_kind k = a->pr.kind;
        char s[5];
        size_t l = 0;

        if (key == 27 || key == 7) {
            a->pr.kind = PR_NONE;
            return;
        }
        if (!KEY_IS_F(key) && key > 0 && key < 0x110000)
            l = utf8_encode((unsigned)key, s);
        s[l] = '\0';
        a->pr.kind = PR_NONE;
        if (a->pr.done)
            a->pr.done(a, k, s);
        return;
    }
    if (key == '\t' && a->pr.complete) {
        a->pr.complete(a);
        return;
    }
    if (key == '\t' && (a->pr.kind == PR_CHANGE || a->pr.kind == PR_MOVE ||
                         a->pr.kind == PR_COPY)) {
        complete_folder(a);
        return;
    }
    r = prompt_edit(&a->pr.text, &a->pr.cur, key);
    if (r == 0)
        return;
    {
        enum prompt_kind k = a->pr.kind;
        char *text = xstrdup(buf_cstr(&a->pr.text));
        prompt_done_fn done = a->pr.done;

        a->pr.kind = PR_NONE;
        if (k == PR_PASSWORD)                   /* the typed password leaves no copy */
            for (volatile char *q = a->pr.text.ptr; q && q < a->pr.text.ptr + a->pr.text.cap;
                 q++)
                *q = '\0';
        if (r > 0) {
            if (k == PR_COMMAND)
                app_command(a, text);
            else if (done)
                done(a, k, text);
        }
        if (k == PR_PASSWORD)
            for (volatile char *q = text; *q; q++)
                *q = '\0';
        free(text);
    }
}

/* The help screen lists every command with its keys, straight from the key table. */
static void help_lines(struct app *a, struct buf *out, size_t *nlines)
{
    *nlines = 0;
    for (int c = 1; c < NACTIONS; c++) {
        struct buf keys = BUF_INIT;

        keymap_keys_of(&a->km, (enum action)c, &keys);
        buf_printf(out, "%-18s %-16s %s\n", keys.len ? keys.ptr : "(unbound)",
                   act_name((enum action)c), act_help((enum action)c));
        buf_free(&keys);
        (*nlines)++;
    }
}

struct help {
    int top;
};

static void help_draw(struct app *a, struct pane *pane, const struct rect *r)
{
    struct help *h = pane->data;
    struct buf t = BUF_INIT;
    size_t n, line = 0;
    int body = a->rows - 2, y = 0;
    const char *p;

    (void)r;
    help_lines(a, &t, &n);
    {
        static const char title[] =
            " Keys (rebind in [keys] of ~/.mailrc: command = KEY ...)   q: close";

        ui_put(y++, 0, title, sizeof title - 1, a->cols, a->attr[COL_TITLE], true);
    }
    if (h->top > (int)n - (body - 1))
        h->top = (int)n - (body - 1) > 0 ? (int)n - (body - 1) : 0;
    p = t.ptr ? t.ptr : "";
    while (*p && y < body) {
        const char *nl = strchr(p, '\n');
        size_t len = nl ? (size_t)(nl - p) : strlen(p);

        if ((int)line >= h->top)
            ui_put(y++, 0, p, len, a->cols, a->attr[COL_NORMAL], false);
        line++;
        p += len + (nl ? 1 : 0);
    }
    buf_free(&t);
}

static void help_key(struct app *a, struct pane *p, enum action c, int key)
{
    struct help *h = p->data;

    (void)key;
    p->dirty = true;
    app_overlay_scroll(a, &h->top, NACTIONS, c);
}

const struct pane_ops help_pane_ops = {
    .name = "help",
    .draw = help_draw,
    .key = help_key,
};

struct pane *help_pane_new(void)
{
    return pane_new(&help_pane_ops, xcalloc(1, sizeof(struct help)));
}

/* The bottom line: the last message, or the open prompt with its line editor. */
const struct pane_ops prompt_pane_ops = {
    .name = "prompt",
    .draw = prompt_draw,
    .key = prompt_key,
};


/* ":name [argument]": any command of the key table, plus bind/set forms. */
void app_command(struct app *a, const char *line)
{
    char *s = xstrdup(line);
    char *name = str_trim(s);
    char *arg = name + strcspn(name, " \t");
    enum action c;

    if (*arg) {
        *arg++ = '\0';
        arg = str_trim(arg);
    }
    if (*name == '\0') {
        free(s);
        return;
    }
    if (strcmp(name, "q") == 0 || strcmp(name, "quit") == 0) {
        a->running = false;
    } else if (strcmp(name, "bind") == 0) {
        char *k = arg, *cn = arg + strcspn(arg, " \t");
        int key;

        if (*cn)
            *cn++ = '\0';
        cn = str_trim(cn);
        c = act_lookup(cn);
        if (ui_key_parse(k, &key) < 0)
            app_err(a, "bind: '%s' is no key name", k);
        else if (c == ACT_NONE && strcmp(cn, "none") != 0)
            app_err(a, "bind: no command '%s'", cn);
        else {
            keymap_bind(&a->km, key, c);
            app_msg(a, "%s is now %s", k, act_name(c));
        }
    } else if ((c = act_lookup(name)) == ACT_NONE && strcmp(name, "cd") != 0 &&
               strcmp(name, "open") != 0) {
        app_err(a, "No command '%s'. Press ? for the list.", name);
    } else if (*arg && (c == ACT_CHANGE_FOLDER || strcmp(name, "cd") == 0 ||
                        strcmp(name, "open") == 0)) {
        if (app_open_folder(a, arg) == 0)
            a->focus = PANE_LIST;
    } else if (*arg && (c == ACT_MOVE || c == ACT_COPY || c == ACT_LIMIT || c == ACT_SEARCH ||
                        c == ACT_PIPE || c == ACT_SORT)) {
        static const struct { enum action c; enum prompt_kind k; } m[] = {
            { ACT_MOVE, PR_MOVE }, { ACT_COPY, PR_COPY }, { ACT_LIMIT, PR_LIMIT },
            { ACT_SEARCH, PR_SEARCH }, { ACT_PIPE, PR_PIPE }, { ACT_SORT, PR_SORT },
        };
        for (size_t i = 0; i < sizeof m / sizeof m[0]; i++)
            if (m[i].c == c)
                list_prompt_done(a, m[i].k, arg);
    } else {
        app_run(a, c);      /* as if its key had been pressed */
    }
    free(s);
}

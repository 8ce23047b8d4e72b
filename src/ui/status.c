/* The status bar, the prompt line with its line editor, the help screen built from the live
 * key table, and the ":" named commands. */
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tern/str.h"
#include "tern/xalloc.h"
#include "tcurses.h"
#include "ui.h"

void status_draw(struct app *a)
{
    struct buf left = BUF_INIT;
    char jobs[256];
    const struct rect *r = &a->lay.status;
    int used;

    if (r->h == 0)
        return;
    list_status(a, &left);
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

void prompt_draw(struct app *a)
{
    const struct rect *r = &a->lay.prompt;

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

/* Tab in a folder prompt: complete the name from the folder list (the longest common
 * prefix; again with nothing more in common: the next candidate). */
static void complete_folder(struct app *a)
{
    const char *t = buf_cstr(&a->pr.text);
    size_t tl = a->pr.text.len, common = 0, nmatch = 0, first = 0, next = SIZE_MAX;

    for (size_t i = 0; i < a->nfolders; i++) {
        const char *f = a->folders[i];
        size_t k = 0;

        if (strncmp(f, t, tl) == 0) {
            if (nmatch == 0) {
                first = i;
                common = strlen(f);
            } else {
                while (k < common && a->folders[first][k] == f[k])
                    k++;
                common = k;
            }
            nmatch++;
            if (strcmp(f, t) == 0 && i + 1 < a->nfolders && next == SIZE_MAX)
                next = i + 1;
        }
    }
    if (nmatch == 0)
        return;
    if (nmatch == 1 && strcmp(a->folders[first], t) == 0) {    /* complete: cycle on */
        buf_reset(&a->pr.text);
        buf_adds(&a->pr.text, a->folders[(first + 1) % a->nfolders]);
        a->pr.cur = a->pr.text.len;
        return;
    }
    if (common > tl) {
        char *s = xstrndup(a->folders[first], common);

        buf_reset(&a->pr.text);
        buf_adds(&a->pr.text, s);
        free(s);
    } else if (nmatch > 1) {
        size_t i = next != SIZE_MAX ? next : first;

        buf_reset(&a->pr.text);
        buf_adds(&a->pr.text, a->folders[i]);
    }
    a->pr.cur = a->pr.text.len;
}

void prompt_key(struct app *a, int key)
{
    int r;

    a->dirty = true;
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
        if (r > 0) {
            if (k == PR_COMMAND)
                app_command(a, text);
            else if (done)
                done(a, k, text);
        }
        free(text);
    }
}

/* The help screen lists every command with its keys, straight from the key table. */
static void help_lines(struct app *a, struct buf *out, size_t *nlines)
{
    *nlines = 0;
    for (int c = 1; c < NCMDS; c++) {
        struct buf keys = BUF_INIT;

        keymap_keys_of(&a->km, (enum cmd)c, &keys);
        buf_printf(out, "%-18s %-16s %s\n", keys.len ? keys.ptr : "(unbound)",
                   cmd_name((enum cmd)c), cmd_help((enum cmd)c));
        buf_free(&keys);
        (*nlines)++;
    }
}

void help_draw(struct app *a)
{
    struct buf t = BUF_INIT;
    size_t n, line = 0;
    int body = a->rows - 2, y = 0;
    const char *p;

    help_lines(a, &t, &n);
    {
        static const char title[] =
            " Keys (rebind in [keys] of ~/.mailrc: command = KEY ...)   q: close";

        ui_put(y++, 0, title, sizeof title - 1, a->cols, a->attr[COL_TITLE], true);
    }
    if (a->help_top > (int)n - (body - 1))
        a->help_top = (int)n - (body - 1) > 0 ? (int)n - (body - 1) : 0;
    p = t.ptr ? t.ptr : "";
    while (*p && y < body) {
        const char *nl = strchr(p, '\n');
        size_t len = nl ? (size_t)(nl - p) : strlen(p);

        if ((int)line >= a->help_top)
            ui_put(y++, 0, p, len, a->cols, a->attr[COL_NORMAL], false);
        line++;
        p += len + (nl ? 1 : 0);
    }
    buf_free(&t);
}

void help_key(struct app *a, enum cmd c, int key)
{
    int page = a->rows - 3 > 1 ? a->rows - 3 : 1;

    (void)key;
    switch (c) {
    case CMD_DOWN:
        a->help_top++;
        break;
    case CMD_UP:
        if (a->help_top > 0)
            a->help_top--;
        break;
    case CMD_PAGE_DOWN:
    case CMD_PAGE:
    case CMD_HALF_DOWN:
        a->help_top += page;
        break;
    case CMD_PAGE_UP:
    case CMD_HALF_UP:
        a->help_top = a->help_top > page ? a->help_top - page : 0;
        break;
    case CMD_FIRST:
        a->help_top = 0;
        break;
    case CMD_LAST:
        a->help_top = NCMDS;
        break;
    case CMD_EXIT:
        a->running = false;
        break;
    default:
        a->help_open = false;
        break;
    }
    a->dirty = true;
}

/* ":name [argument]": any command of the key table, plus bind/set forms. */
void app_command(struct app *a, const char *line)
{
    char *s = xstrdup(line);
    char *name = str_trim(s);
    char *arg = name + strcspn(name, " \t");
    enum cmd c;

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
        c = cmd_lookup(cn);
        if (ui_key_parse(k, &key) < 0)
            app_err(a, "bind: '%s' is no key name", k);
        else if (c == CMD_NONE && strcmp(cn, "none") != 0)
            app_err(a, "bind: no command '%s'", cn);
        else {
            keymap_bind(&a->km, key, c);
            app_msg(a, "%s is now %s", k, cmd_name(c));
        }
    } else if ((c = cmd_lookup(name)) == CMD_NONE && strcmp(name, "cd") != 0 &&
               strcmp(name, "open") != 0) {
        app_err(a, "No command '%s'. Press ? for the list.", name);
    } else if (*arg && (c == CMD_CHANGE_FOLDER || strcmp(name, "cd") == 0 ||
                        strcmp(name, "open") == 0)) {
        list_prompt_done(a, PR_CHANGE, arg);
    } else if (*arg && (c == CMD_MOVE || c == CMD_COPY || c == CMD_LIMIT || c == CMD_SEARCH ||
                        c == CMD_PIPE || c == CMD_SORT)) {
        static const struct { enum cmd c; enum prompt_kind k; } m[] = {
            { CMD_MOVE, PR_MOVE }, { CMD_COPY, PR_COPY }, { CMD_LIMIT, PR_LIMIT },
            { CMD_SEARCH, PR_SEARCH }, { CMD_PIPE, PR_PIPE }, { CMD_SORT, PR_SORT },
        };
        for (size_t i = 0; i < sizeof m / sizeof m[0]; i++)
            if (m[i].c == c)
                list_prompt_done(a, m[i].k, arg);
    } else {
        app_run(a, c);      /* as if its key had been pressed */
    }
    free(s);
}

/*
 * The compose screen: after the editor, the headers and attachments of the message with
 * keys to send, edit again, attach, detach, change the account, edit a header (with address
 * completion), postpone or abort. Like the help screen it takes the whole screen above the
 * status line while background jobs go on.
 */
#include "config.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "tcurses.h"
#include "tern/addrbook.h"
#include "tern/compose.h"
#include "tern/fsutil.h"
#include "tern/model.h"
#include "tern/paths.h"
#include "tern/queue.h"
#include "tern/render.h"
#include "tern/str.h"
#include "tern/xalloc.h"
#include "ui.h"

struct compose_ui {
    struct compose c;
    size_t sel;                  /* the selected attachment */
    bool file_broken;            /* the editor file has an error: do not overwrite it */
    char pending;                /* the action waiting for a y/n answer */
};

/* The compose screen's state while it is the overlay pane, else NULL. */
static struct compose_ui *compose_of(struct app *a)
{
    return a->overlay && a->overlay->ops == &compose_pane_ops ? a->overlay->data : NULL;
}

static void compose_close(struct app *a)
{
    app_overlay(a, NULL);
}

static void compose_pane_free(struct pane *p)
{
    struct compose_ui *cu = p->data;

    compose_free(&cu->c);
}

static struct pane *compose_pane_new(struct compose_ui *cu)
{
    return pane_new(&compose_pane_ops, cu);
}

/* Write the file, run the editor with the terminal, read the result back. Returns whether
 * the user changed the file, or -1 when something failed (the message says what). */
static int edit(struct app *a, struct compose_ui *cu)
{
    struct err e;
    bool changed = false;
    int rc;

    if (!cu->file_broken && compose_write(&cu->c, a->cfg, &e) < 0) {
        app_err(a, "%s", e.msg);
        return -1;
    }
    app_suspend(a);
    rc = compose_run_editor(a->cfg, cu->c.file, &e);
    app_resume(a);
    if (rc < 0) {
        app_err(a, "%s", e.msg);
        return -1;
    }
    if (compose_read(&cu->c, a->cfg, &changed, &e) < 0) {
        /* Keep the user's text as it is: pressing e again reopens it to fix the line. */
        cu->file_broken = true;
        app_err(a, "The message has an error, press e to fix it: %s", e.msg);
        return -1;
    }
    cu->file_broken = false;
    if (rc != 0)
        app_msg(a, "The editor exited with status %d.", rc);
    return changed;
}

/* Start composing from paths[0..n) (none for a new message) and open the screen. */
static void compose_from(struct app *a, enum compose_kind kind, char **paths, size_t n,
                         const char *queue_id, const char *to)
{
    struct compose_ui *cu = xcalloc(1, sizeof *cu);
    struct err e;
    int changed;

    if (compose_start_many(&cu->c, a->cfg, kind, (const char *const *)paths, n, queue_id,
                           NULL, &e) < 0) {
        app_err(a, "%s", e.msg);
        free(cu);
        return;
    }
    if (to) {
        free(cu->c.d.to);
        cu->c.d.to = xstrdup(to);
    }
    app_overlay(a, compose_pane_new(cu));
    changed = edit(a, cu);
    if (changed == 0 && kind == COMPOSE_NEW && !cu->file_broken) {
        compose_discard(&cu->c);
        compose_close(a);
        app_msg(a, "Message not changed: aborted.");
        return;
    }
    app_dirty_all(a);
}

/* m, r, g, L, f: a new message or one made from the message under the cursor. */
/* e resumes in a Drafts or the Outbox folder; on any other message it edits as new. */
static bool resumable_here(struct app *a)
{
    const char *f = app_folder(a);
    enum path_role r = f ? paths_role_of(a->cfg, a->root, f) : NROLES;

    return r == ROLE_DRAFTS || r == ROLE_OUTBOX;
}

void ui_compose(struct app *a, enum compose_kind kind)
{
    char *path = NULL;

    if (compose_of(a))
        return;
    app_learn_flush(a);         /* compose writes the address book too */
    if (kind != COMPOSE_NEW) {
        path = a->m ? model_path(a->m, model_cursor_id(a->m)) : NULL;
        if (path == NULL) {
            app_err(a, "No message selected.");
            return;
        }
    }
    if (kind == COMPOSE_RESUME && !resumable_here(a))
        kind = COMPOSE_AS_NEW;          /* e on a received message: mutt's resend-message */
    compose_from(a, kind, path ? &path : NULL, path ? 1 : 0, NULL, NULL);
    free(path);
}

void ui_compose_to(struct app *a, const char *to)
{
    if (compose_of(a))
        return;
    app_learn_flush(a);
    compose_from(a, COMPOSE_NEW, NULL, 0, NULL, to);
}

void ui_compose_many(struct app *a, enum compose_kind kind, const uint32_t *ids, size_t n)
{
    char **paths;
    size_t k = 0;

    if (compose_of(a) || a->m == NULL)
        return;
    if (n == 0) {
        app_err(a, "No message selected.");
        return;
    }
    app_learn_flush(a);
    paths = xcalloc(n, sizeof *paths);
    for (size_t i = 0; i < n; i++)
        if ((paths[k] = model_path(a->m, ids[i])) != NULL)
            k++;
    if (k == 0)
        app_err(a, "The tagged messages are gone.");
    else
        compose_from(a, kind, paths, k, NULL, NULL);
    for (size_t i = 0; i < k; i++)
        free(paths[i]);
    free(paths);
}

/* At start: offer what a crash left in the compose directory. */
static void recover_done(struct app *a, enum prompt_kind k, const char *answer)
{
    char **paths;
    size_t n = compose_leftovers(a->cfg, &paths);
    struct compose_ui *cu;
    struct err e;

    (void)k;
    if (n == 0 || (answer[0] != 'y' && answer[0] != 'Y')) {
        if (n && answer[0] != 'y' && answer[0] != 'Y')
            app_msg(a, "Kept for later: %s", paths[0]);
        compose_list_free(paths, n);
        return;
    }
    cu = xcalloc(1, sizeof *cu);
    if (compose_start(&cu->c, a->cfg, COMPOSE_RESUME, paths[0], NULL, NULL, &e) < 0) {
        app_err(a, "%s", e.msg);
        free(cu);
    } else {
        app_overlay(a, compose_pane_new(cu));
        if (cu->c.text_broken) {
            /* the newer text has an error: offer it to fix, never the older copy */
            cu->file_broken = true;
            app_err(a, "The message has an error, press e to fix it: %s", cu->c.broken.msg);
        }
    }
    compose_list_free(paths, n);
}

void ui_compose_offer_recovery(struct app *a)
{
    char **paths;
    size_t n = compose_leftovers(a->cfg, &paths);

    compose_list_free(paths, n);
    if (n == 0)
        return;
    app_prompt(a, PR_COMPOSE_CONFIRM, "Resume the message saved when tern stopped? (y/n) ", "",
               recover_done);
    a->pr.onekey = true;
}

/* ---- drawing ---- */

static const char *crypt_label(int f)
{
    static const char *const l[] = {
        "none (S: sign, E: encrypt, M: S/MIME)", "sign (PGP/MIME)", "encrypt (PGP/MIME)",
        "sign + encrypt (PGP/MIME)", "none (S/MIME; M: PGP)", "sign (S/MIME)",
        "encrypt (S/MIME)", "sign + encrypt (S/MIME)",
    };

    return l[f & 7];
}

static void draw_field(struct app *a, int y, const char *name, const char *value, int cols)
{
    char label[16];

    snprintf(label, sizeof label, "%9s: ", name);
    ui_put(y, 0, label, strlen(label), cols, a->attr[COL_HEADER], false);
    if (value)
        ui_put(y, 11, value, strlen(value), cols - 11, a->attr[COL_NORMAL], true);
}

static void human_size(size_t n, char *out, size_t sz)
{
    if (n < 1024)
        snprintf(out, sz, "%zu", n);
    else if (n < 1024 * 1024)
        snprintf(out, sz, "%.1fK", n / 1024.0);
    else
        snprintf(out, sz, "%.1fM", n / (1024.0 * 1024));
}

static size_t attachment_size(const struct attachment *at)
{
    struct stat st;

    if (at->path)
        return stat(at->path, &st) == 0 ? (size_t)st.st_size : 0;
    return at->data.len;
}

static void compose_draw(struct app *a, struct pane *p, const struct rect *r)
{
    struct compose_ui *cu = p->data;
    const struct draft *d = &cu->c.d;
    int y = 0, rows = a->lay.status.y, cols = a->cols;
    struct buf line = BUF_INIT;

    (void)r;
    buf_printf(&line, "Compose (account %s)   y:send e:edit a:attach D:detach t/c/b/s/r: "
               "header  <:account S/E/M:security P:postpone q:abort",
               cu->c.acct ? cu->c.acct->name : "none");
    ui_put(y++, 0, line.ptr, line.len, cols, a->attr[COL_TITLE], true);
    draw_field(a, y++, "From", d->from, cols);
    draw_field(a, y++, "To", d->to, cols);
    draw_field(a, y++, "Cc", d->cc, cols);
    draw_field(a, y++, "Bcc", d->bcc, cols);
    draw_field(a, y++, "Subject", d->subject, cols);
    draw_field(a, y++, "Reply-To", d->reply_to, cols);
    buf_reset(&line);
    buf_adds(&line, crypt_label(cu->c.crypt));
    if (!(cu->c.crypt & CRYPT_ENCRYPT) && cu->c.acct && cu->c.acct->crypt_encrypt_when_possible)
        buf_adds(&line, "; encrypted if every recipient has a key");
    draw_field(a, y++, "Security", buf_cstr(&line), cols);
    y++;
    buf_reset(&line);
    buf_printf(&line, "-- Attachments (%zu) --", d->natt);
    ui_put(y++, 0, line.ptr, line.len, cols, a->attr[COL_HEADER], true);
    for (size_t i = 0; i < d->natt && y < rows - 1; i++) {
        const struct attachment *at = &d->att[i];
        char size[32];

        human_size(attachment_size(at), size, sizeof size);
        buf_reset(&line);
        buf_printf(&line, "%c %zu  %s  [%s, %s]", i == cu->sel ? '>' : ' ', i + 1, at->name,
                   at->type ? at->type : build_mime_type(at->name), size);
        ui_put(y++, 0, line.ptr, line.len, cols,
               a->attr[i == cu->sel ? COL_CURSOR : COL_NORMAL], true);
    }
    y++;
    /* The first lines of the text, as a reminder of what is being sent. */
    for (size_t off = 0; d->body.ptr && off < d->body.len && y < rows;) {
        const char *nl = memchr(d->body.ptr + off, '\n', d->body.len - off);
        size_t len = nl ? (size_t)(nl - (d->body.ptr + off)) : d->body.len - off;

        buf_reset(&line);
        render_sanitize(d->body.ptr + off, len, &line);
        ui_put(y++, 0, line.ptr, line.len, cols, a->attr[COL_NORMAL], true);
        off += len + 1;
    }
    buf_free(&line);
}

/* ---- keys ---- */

static void send_now(struct app *a)
{
    struct compose_ui *cu = compose_of(a);
    struct err e;
    char *id = NULL;

    compose_expand(&cu->c, a->cfg);
    if (compose_send(&cu->c, a->cfg, &id, &e) < 0) {
        app_err(a, "Not sent: %s", e.msg);
        return;
    }
    compose_close(a);
    app_msg(a, "Queued for sending (%s).", id);
    free(id);
    app_flush(a);
    app_refresh(a);
    app_notify(a, EV_FOLDERS_CHANGED);      /* the Outbox may be new: list it */
}

static void confirm_done(struct app *a, enum prompt_kind k, const char *answer)
{
    struct compose_ui *cu = compose_of(a);
    bool yes = answer[0] == 'y' || answer[0] == 'Y';

    (void)k;
    if (cu == NULL)
        return;
    if (cu->pending == 'y' && yes) {
        send_now(a);
    } else if (cu->pending == 'q' && yes) {
        compose_discard(&cu->c);
        compose_close(a);
        app_msg(a, "Message aborted.");
    }
    if (compose_of(a))
        compose_of(a)->pending = 0;
}

static void confirm(struct app *a, char action, const char *question)
{
    compose_of(a)->pending = action;
    app_prompt(a, PR_COMPOSE_CONFIRM, question, "", confirm_done);
    a->pr.onekey = true;
}

/* Tab in a path prompt: complete the file name, listing choices when there are several. */
static void complete_path(struct app *a)
{
    const char *text = buf_cstr(&a->pr.text);
    char *expanded = fs_expand(text);
    const char *slash = strrchr(expanded, '/');
    char *dir = slash ? xstrndup(expanded, (size_t)(slash - expanded) + 1) : xstrdup("./");
    const char *stem = slash ? slash + 1 : expanded;
    DIR *d = opendir(dir);
    struct dirent *de;
    char *common = NULL;
    size_t n = 0;

    while (d && (de = readdir(d)) != NULL) {
        if (!str_startswith(de->d_name, stem) || (de->d_name[0] == '.' && stem[0] != '.'))
            continue;
        if (common == NULL) {
            common = xstrdup(de->d_name);
        } else {
            size_t k = 0;
            while (common[k] && common[k] == de->d_name[k])
                k++;
            common[k] = '\0';
        }
        n++;
    }
    if (d)
        closedir(d);
    if (common && strlen(common) >= strlen(stem)) {
        struct buf nt = BUF_INIT;
        struct stat st;

        buf_printf(&nt, "%s%s", slash ? dir : "", common);
        if (n == 1 && stat(nt.ptr, &st) == 0 && S_ISDIR(st.st_mode))
            buf_addc(&nt, '/');
        buf_reset(&a->pr.text);
        buf_add(&a->pr.text, nt.ptr, nt.len);
        a->pr.cur = a->pr.text.len;
        buf_free(&nt);
    }
    if (n != 1)
        app_msg(a, n ? "%zu files match" : "no file matches", n);
    free(common);
    free(dir);
    free(expanded);
}

/* A change made on this screen is saved with the draft at once (crash recovery). */
static void checkpoint(struct app *a)
{
    struct err e;

    if (compose_of(a) && compose_checkpoint(&compose_of(a)->c, a->cfg, &e) < 0)
        app_err(a, "Not saved for recovery: %s", e.msg);
}

static void attach_done(struct app *a, enum prompt_kind k, const char *text)
{
    char *path;
    struct stat st;

    (void)k;
    if (compose_of(a) == NULL || *text == '\0')
        return;
    path = fs_expand(text);
    if (stat(path, &st) < 0 || !S_ISREG(st.st_mode)) {
        app_err(a, "%s: not a readable file", path);
    } else {
        draft_attach_file(&compose_of(a)->c.d, path, NULL);
        compose_of(a)->sel = compose_of(a)->c.d.natt - 1;
        compose_of(a)->c.edited = true;
        checkpoint(a);
    }
    free(path);
}

/* Which draft field a header prompt edits; the prompt's label names it. */
static char **field_for(struct compose_ui *cu, char key)
{
    switch (key) {
    case 't': return &cu->c.d.to;
    case 'c': return &cu->c.d.cc;
    case 'b': return &cu->c.d.bcc;
    case 's': return &cu->c.d.subject;
    case 'r': return &cu->c.d.reply_to;
    default: return NULL;
    }
}

static void field_done(struct app *a, enum prompt_kind k, const char *text)
{
    char **f;

    (void)k;
    if (compose_of(a) == NULL || (f = field_for(compose_of(a), compose_of(a)->pending)) == NULL)
        return;
    free(*f);
    *f = *text ? xstrdup(text) : NULL;
    compose_of(a)->c.edited = true;
    compose_of(a)->pending = 0;
    checkpoint(a);
}

static void edit_field(struct app *a, char key)
{
    static const char *const labels[] = { "To: ", "Cc: ", "Bcc: ", "Subject: ", "Reply-To: " };
    const char *keys = "tcbsr";
    char **f = field_for(compose_of(a), key);

    compose_of(a)->pending = key;
    app_prompt(a, PR_COMPOSE_FIELD, labels[strchr(keys, key) - keys], *f ? *f : "",
               field_done);
    if (key != 's')
        a->pr.complete = ui_complete_address;
}

static void account_done(struct app *a, enum prompt_kind k, const char *text)
{
    const struct account *acct = config_account(a->cfg, text);

    (void)k;
    if (compose_of(a) == NULL || *text == '\0')
        return;
    if (acct == NULL) {
        app_err(a, "No account called '%s'.", text);
        return;
    }
    compose_of(a)->c.acct = acct;
    free(compose_of(a)->c.d.from);
    compose_of(a)->c.d.from = acct->from ? xstrdup(acct->from) : NULL;
    compose_of(a)->c.edited = true;
    checkpoint(a);
}

static void compose_key(struct app *a, struct pane *p, enum action c, int key)
{
    struct compose_ui *cu = p->data;
    struct err e;

    p->dirty = true;
    if (c == ACT_UP || c == ACT_DOWN) {
        if (c == ACT_UP && cu->sel > 0)
            cu->sel--;
        else if (c == ACT_DOWN && cu->sel + 1 < cu->c.d.natt)
            cu->sel++;
        return;
    }
    switch (key) {
    case 'y':
        if (compose_forgot_attachment(&cu->c.d))
            confirm(a, 'y', "No attachment, but the text mentions one. Send? (y/n) ");
        else
            send_now(a);
        return;
    case 'e':
        if (edit(a, cu) > 0)
            cu->c.edited = true;
        return;
    case 'a':
        app_prompt(a, PR_ATTACH, "Attach file: ", "", attach_done);
        a->pr.complete = complete_path;
        return;
    case 'D':
        if (cu->c.d.natt == 0) {
            app_err(a, "There is no attachment to remove.");
            return;
        }
        draft_detach(&cu->c.d, cu->sel);
        if (cu->sel > 0 && cu->sel >= cu->c.d.natt)
            cu->sel--;
        cu->c.edited = true;
        checkpoint(a);
        return;
    case 't': case 'c': case 'b': case 's': case 'r':
        edit_field(a, (char)key);
        return;
    case 'S': case 'E': case 'M':
        /* toggles: sign, encrypt, PGP/MIME <-> S/MIME (applied when the message is sent) */
        cu->c.crypt ^= key == 'S' ? CRYPT_SIGN : key == 'E' ? CRYPT_ENCRYPT : CRYPT_SMIME;
        if (key == 'E' && cu->c.quotes_decrypted && !(cu->c.crypt & CRYPT_ENCRYPT))
            app_msg(a, "This reply quotes decrypted text: it will not be sent unencrypted.");
        return;
    case '<':
        app_prompt(a, PR_COMPOSE_FIELD, "Send from account: ",
                   cu->c.acct ? cu->c.acct->name : "", account_done);
        return;
    case 'P':
        if (compose_postpone(&cu->c, a->cfg, &e) < 0) {
            app_err(a, "Not postponed: %s", e.msg);
            return;
        }
        app_msg(a, "Postponed to %s.", paths_role(a->cfg, NULL, cu->c.acct, ROLE_DRAFTS));
        compose_close(a);
        app_refresh(a);
        app_notify(a, EV_FOLDERS_CHANGED);  /* the drafts folder may be new: list it */
        return;
    case 'q':
        if (cu->c.edited) {
            confirm(a, 'q', "Abort this message? (y/n) ");
        } else {
            compose_discard(&cu->c);
            compose_close(a);
            app_msg(a, "Message aborted.");
        }
        return;
    default:
        if (c == ACT_HELP)
            app_msg(a, "y:send e:edit a:attach D:detach t:To c:Cc b:Bcc s:Subject "
                       "r:Reply-To <:account S:sign E:encrypt M:S/MIME P:postpone q:abort");
        return;
    }
}

const struct pane_ops compose_pane_ops = {
    .name = "compose",
    .draw = compose_draw,
    .key = compose_key,
    .free = compose_pane_free,
};

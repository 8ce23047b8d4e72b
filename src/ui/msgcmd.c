/* Commands on the message under the cursor that belong to neither the list nor the pager:
 * an alias from its sender (a), bounce to new recipients (b); and the message log (M), the
 * session's status lines kept for reading again. */
#include "config.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "tern/addrbook.h"
#include "tern/fsutil.h"
#include "tern/header.h"
#include "tern/mailrc_edit.h"
#include "tern/model.h"
#include "tern/oauth.h"
#include "tern/paths.h"
#include "tern/query.h"
#include "tern/queue.h"
#include "tern/resend.h"
#include "tern/secret.h"
#include "tern/str.h"
#include "tern/xalloc.h"
#include "tcurses.h"
#include "ui.h"

/* What a command asked about waits here for the prompt's answer (one prompt at a time). */
static struct {
    char addr[512];              /* a: the sender's mailbox */
    char *to;                    /* b: the recipients, aliases expanded */
    uint32_t id;                 /* b: the message */
    char account[128];           /* the account whose password is asked */
    void (*then)(struct app *a); /* what runs once it is given */
} pending;

/* The header block of the message under the cursor, into hdrs; 0, or -1 with a message. */
static int cursor_message(struct app *a, struct buf *msg, uint32_t *id)
{
    char *path;
    struct err e;

    if (a->m == NULL || model_rows(a->m) == 0) {
        app_msg(a, "No message here.");
        return -1;
    }
    *id = model_cursor_id(a->m);
    path = model_path(a->m, *id);
    if (path == NULL) {
        app_err(a, "That message was moved or deleted by another program.");
        return -1;
    }
    if (fs_read_file(path, msg, &e) < 0) {
        app_err(a, "%s", e.msg);
        free(path);
        return -1;
    }
    free(path);
    return 0;
}

/* ---- address completion (compose fields, bounce) ---- */

/*
 * Add what query_command finds for word to the n completions in *res (at most max in all,
 * none twice): "Name <address>" from its "address<TAB>name" lines. It runs bounded (time
 * and output); a failure is said on the status line and the other completions stay.
 */
static size_t add_query_results(struct app *a, const char *word, char ***res, size_t n,
                                size_t max)
{
    struct buf out = BUF_INIT;
    struct query_result *q = NULL;
    size_t nq = 0;
    struct err e;

    if (query_run(a->cfg->query_command, word, QUERY_TIMEOUT_MS, QUERY_MAX_OUTPUT, &out,
                  &e) < 0) {
        app_err(a, "%s", e.msg);
        buf_free(&out);
        return n;
    }
    nq = query_parse(out.ptr ? out.ptr : "", out.len, &q);
    for (size_t i = 0; i < nq && n < max; i++) {
        struct buf item = BUF_INIT;
        bool dup = false;

        addr_format(&item, q[i].name, q[i].address);
        buf_cstr(&item);
        for (size_t k = 0; k < n && !dup; k++)
            dup = strstr((*res)[k], q[i].address) != NULL;
        if (dup) {
            buf_free(&item);
            continue;
        }
        *res = xreallocarray(*res, n + 1, sizeof **res);
        (*res)[n++] = buf_detach(&item);
    }
    query_results_free(q, nq);
    buf_free(&out);
    return n;
}

/* Tab in an address prompt: complete the last item from aliases and the address book. */
void ui_complete_address(struct app *a)
{
    const char *text = buf_cstr(&a->pr.text);
    const char *comma = strrchr(text, ',');
    const char *word = comma ? comma + 1 : text;
    char *path = paths_state(a->cfg->mail_root, PATH_ADDRESSES);
    struct addrbook *ab = NULL;
    struct err e;
    char **res;
    size_t n;

    while (*word == ' ')
        word++;
    addrbook_open(path, &ab, &e);
    n = addrbook_complete(ab, a->cfg, word, &res, 8);
    if (a->cfg->query_command && *word)
        n = add_query_results(a, word, &res, n, 8);
    if (n > 0) {
        struct buf nt = BUF_INIT;

        buf_add(&nt, text, (size_t)(word - text));
        buf_adds(&nt, res[0]);
        buf_reset(&a->pr.text);
        buf_add(&a->pr.text, nt.ptr, nt.len);
        a->pr.cur = a->pr.text.len;
        buf_free(&nt);
        if (n > 1) {
            struct buf more = BUF_INIT;
            for (size_t i = 1; i < n; i++)
                buf_printf(&more, "%s%s", i > 1 ? " | " : "also: ", res[i]);
            app_msg(a, "%s", more.ptr);
            buf_free(&more);
        }
    } else {
        app_msg(a, "No address matches '%s'.", word);
    }
    addrbook_results_free(res, n);
    addrbook_free(ab);
    free(path);
}

/* ---- a: alias from the sender ---- */

static void alias_done(struct app *a, enum prompt_kind k, const char *text)
{
    struct err e;

    (void)k;
    while (*text == ' ')
        text++;
    if (*text == '\0' || pending.addr[0] == '\0')
        return;
    for (const char *p = text; *p; p++)
        if (isspace((unsigned char)*p) || (unsigned char)*p < 32 || *p == ',' || *p == '"') {
            app_err(a, "An alias name is one word: '%s'", text);
            return;
        }
    if (mailrc_add_alias(a->cfg->path, text, pending.addr, &e) < 0) {
        app_err(a, "%s", e.msg);
        return;
    }
    config_alias_add(a->cfg, text, pending.addr);     /* usable at once */
    app_msg(a, "Alias %s for %s added to %s.", text, pending.addr, a->cfg->path);
}

static void alias_sender(struct app *a)
{
    struct buf msg = BUF_INIT;
    struct addr *ad = NULL;
    size_t n = 0;
    uint32_t id;
    char *from = NULL, name[64], label[64];

    if (cursor_message(a, &msg, &id) < 0)
        goto out;
    from = hdr_get(msg.ptr, hdr_block_len(msg.ptr, msg.len), "From");
    if (from)
        addr_parse_list(from, strlen(from), &ad, &n);
    if (n == 0 || ad[0].mailbox == NULL || strchr(ad[0].mailbox, '@') == NULL ||
        strcspn(ad[0].mailbox, " \t\"\\,<>()") != strlen(ad[0].mailbox)) {
        app_err(a, "This message has no usable sender address.");
        goto out;
    }
    snprintf(pending.addr, sizeof pending.addr, "%s", ad[0].mailbox);
    /* The default name is the local part, as mutt offers. */
    snprintf(name, sizeof name, "%.*s", (int)strcspn(pending.addr, "@"), pending.addr);
    snprintf(label, sizeof label, "Alias for %.40s: ", pending.addr);
    app_prompt(a, PR_ALIAS, label, name, alias_done);
out:
    addr_list_free(ad, n);
    free(from);
    buf_free(&msg);
}

/* ---- b: bounce ---- */

static void bounce_confirmed(struct app *a, enum prompt_kind k, const char *text)
{
    const struct account *acct = config_account(a->cfg, NULL);
    struct buf msg = BUF_INIT, out = BUF_INIT;
    struct queue_entry ent;
    struct queue *q = NULL;
    struct addr *ad = NULL;
    size_t n = 0;
    char *path = NULL;
    struct err e;

    (void)k;
    memset(&ent, 0, sizeof ent);
    if (text[0] != 'y' && text[0] != 'Y') {
        app_msg(a, "Not bounced.");
        goto out;
    }
    if (acct == NULL || acct->from == NULL) {
        app_err(a, "No account to send from: add an [account NAME] section with from.");
        goto out;
    }
    path = a->m ? model_path(a->m, pending.id) : NULL;
    if (path == NULL) {
        app_err(a, "That message was moved or deleted by another program.");
        goto out;
    }
    if (fs_read_file(path, &msg, &e) < 0 ||
        resend_build(msg.ptr ? msg.ptr : "", msg.len, acct->from, pending.to, time(NULL),
                     NULL, &out, &e) < 0) {
        app_err(a, "Not bounced: %s", e.msg);
        goto out;
    }
    /* The envelope is the new recipients only, never the original's. */
    ent.account = xstrdup(acct->name);
    ent.from = addr_first_mailbox(acct->from, strlen(acct->from));
    if (ent.from == NULL)
        ent.from = xstrdup("");
    addr_parse_list(pending.to, strlen(pending.to), &ad, &n);
    for (size_t i = 0; i < n; i++)
        if (ad[i].mailbox && strchr(ad[i].mailbox, '@'))
            queue_entry_add_rcpt(&ent, ad[i].mailbox);
    if (ent.nrcpts == 0) {
        app_err(a, "Not bounced: no address in '%s'.", pending.to);
        goto out;
    }
    if (queue_open_cfg(a->cfg, NULL, &q, &e) < 0 ||
        queue_add(q, out.ptr, out.len, &ent, &e) < 0) {
        app_err(a, "Not bounced: %s", e.msg);
        goto out;
    }
    app_msg(a, "Bounce to %s queued.", pending.to);
    app_flush(a);
    app_refresh(a);
out:
    if (q)
        queue_close(q);
    queue_entry_free(&ent);
    addr_list_free(ad, n);
    free(path);
    buf_free(&msg);
    buf_free(&out);
    free(pending.to);
    pending.to = NULL;
}

static void bounce_to(struct app *a, enum prompt_kind k, const char *text)
{
    char q[64];

    (void)k;
    while (*text == ' ')
        text++;
    if (*text == '\0')
        return;
    free(pending.to);
    pending.to = addrbook_expand(a->cfg, text);
    snprintf(q, sizeof q, "Bounce to %.40s%s? (y/n) ", pending.to,
             strlen(pending.to) > 40 ? "..." : "");
    app_prompt(a, PR_CONFIRM_BOUNCE, q, "", bounce_confirmed);
}

static void bounce(struct app *a)
{
    if (a->m == NULL || model_rows(a->m) == 0) {
        app_msg(a, "No message here.");
        return;
    }
    pending.id = model_cursor_id(a->m);
    app_prompt(a, PR_BOUNCE, "Bounce to: ", "", bounce_to);
    a->pr.complete = ui_complete_address;
}

/* ---- passwords asked in the prompt line ---- */

/* The accounts a fetch (or a flush of what is queued or held) logs in to, in config order. */
static bool logs_in(struct app *a, const struct account *acct, bool smtp)
{
    if (oauth_configured(acct))
        return false;
    if (!smtp)
        return acct->pop3_host != NULL;
    if (acct->smtp_host == NULL || acct->smtp_user == NULL)
        return false;
    {
        struct queue *q = NULL;
        struct queue_entry *ents = NULL;
        size_t n = 0;
        bool queued = false;
        struct err e;

        if (queue_open_cfg(a->cfg, NULL, &q, &e) == 0 &&
            queue_list(q, &ents, &n, NULL, &e) == 0)
            for (size_t i = 0; i < n && !queued; i++)
                queued = (ents[i].state == QUEUE_QUEUED || ents[i].state == QUEUE_HELD) &&
                         str_casecmp(ents[i].account, acct->name) == 0;
        queue_list_free(ents, n);
        if (q)
            queue_close(q);
        return queued;
    }
}

static void password_done(struct app *a, enum prompt_kind k, const char *text)
{
    void (*then)(struct app *a) = pending.then;

    (void)k;
    pending.then = NULL;
    if (*text == '\0') {
        app_msg(a, "No password given for %s: nothing started.", pending.account);
        return;
    }
    secret_remember(pending.account, text);
    if (then)
        then(a);
}

bool ui_passwords_ready(struct app *a, bool smtp, void (*then)(struct app *a))
{
    for (size_t i = 0; i < a->cfg->naccounts; i++) {
        const struct account *acct = &a->cfg->accounts[i];
        char label[160];

        if (!secret_missing(acct, smtp ? SECRET_SMTP : SECRET_POP3) ||
            !logs_in(a, acct, smtp))
            continue;
        if (a->pr.kind != PR_NONE) {    /* a timer's flush never takes the user's prompt */
            app_msg(a, "%s waits for the password of %s.", smtp ? "Sending" : "Fetching",
                    acct->name);
            return false;
        }
        snprintf(pending.account, sizeof pending.account, "%s", acct->name);
        pending.then = then;
        snprintf(label, sizeof label, "Password for %.20s (%.16s@%.16s): ", acct->name,
                 smtp ? acct->smtp_user : acct->pop3_user ? acct->pop3_user : "?",
                 smtp ? acct->smtp_host : acct->pop3_host);
        app_prompt(a, PR_PASSWORD, label, "", password_done);
        return false;
    }
    return true;
}

void ui_passwords_for_child(struct app *a, bool smtp, struct buf *out)
{
    for (size_t i = 0; i < a->cfg->naccounts; i++) {
        const struct account *acct = &a->cfg->accounts[i];
        const char *pw;

        if (acct->password || acct->password_command ||
            (smtp && (acct->smtp_password || acct->smtp_password_command)))
            continue;
        if ((pw = secret_remembered(acct->name)) != NULL)
            secret_format(out, acct->name, pw);
    }
}

/* ---- M: the message log ---- */

#define LOG_MAX (64 * 1024)

void msglog_add(struct app *a, bool error, const char *text)
{
    char stamp[16];
    time_t now = time(NULL);
    struct tm tm;

    if (*text == '\0')
        return;
    if (a->log.len > LOG_MAX) {          /* drop the older half, at a line start */
        const char *cut = memchr(a->log.ptr + a->log.len / 2, '\n', a->log.len / 2);
        size_t keep = cut ? a->log.len - (size_t)(cut + 1 - a->log.ptr) : 0;

        memmove(a->log.ptr, a->log.ptr + a->log.len - keep, keep);
        a->log.len = keep;
    }
    localtime_r(&now, &tm);
    strftime(stamp, sizeof stamp, "%H:%M:%S", &tm);
    buf_printf(&a->log, "%s %s%s\n", stamp, error ? "error: " : "", text);
}

struct logview {
    int top;
};

/* Draw the log's screen lines from top on (body > 0), wrapped at cols so that a long reply is
 * read whole; returns how many screen lines there are. */
static int log_lines(struct app *a, int cols, int top, int body)
{
    const char *p = a->log.ptr ? a->log.ptr : "";
    int line = 0, y = 1;

    while (*p) {
        const char *nl = strchr(p, '\n');
        size_t len = nl ? (size_t)(nl - p) : strlen(p), off = 0;
        bool err = len > 15 && memcmp(p + 9, "error: ", 7) == 0;

        do {
            size_t take = len > off ? ui_wrap(p + off, len - off, cols) : 0;

            if (body > 0 && line >= top && y <= body)
                ui_put(y++, 0, p + off, take, cols, a->attr[err ? COL_ERROR : COL_NORMAL],
                       false);
            line++;
            off += take;
        } while (off < len);
        p += len + (nl ? 1 : 0);
    }
    return line;
}

static void log_draw(struct app *a, struct pane *pane, const struct rect *r)
{
    struct logview *lv = pane->data;
    static const char title[] = " Messages of this session (newest last)   q: close";
    int body = a->rows - 3, lines = log_lines(a, a->cols, 0, 0);

    (void)r;
    ui_put(0, 0, title, sizeof title - 1, a->cols, a->attr[COL_TITLE], true);
    if (lines == 0)
        ui_put(1, 0, "(nothing yet)", 13, a->cols, a->attr[COL_NORMAL], false);
    if (lv->top < 0 || lv->top > lines - body)      /* newest last: start at the end */
        lv->top = lines - body > 0 ? lines - body : 0;
    log_lines(a, a->cols, lv->top, body);
}

static void log_key(struct app *a, struct pane *p, enum action c, int key)
{
    struct logview *lv = p->data;

    (void)key;
    p->dirty = true;
    app_overlay_scroll(a, &lv->top, -1, c);   /* -1: the end, newest last */
}

static const struct pane_ops log_pane_ops = {
    .name = "messages",
    .draw = log_draw,
    .key = log_key,
};

static void show_log(struct app *a)
{
    struct logview *lv = xcalloc(1, sizeof *lv);
    lv->top = -1;
    app_overlay(a, pane_new(&log_pane_ops, lv));
}

/* ---- the address query (mutt's Q): query_command's answers, write to one ---- */

struct queryview {
    struct query_result *res;
    size_t n;
    size_t cur, top;
    char title[200];
};

static void query_draw(struct app *a, struct pane *pane, const struct rect *r)
{
    struct queryview *qv = pane->data;
    size_t body = a->rows > 4 ? (size_t)a->rows - 3 : 1;

    (void)r;
    ui_put(0, 0, qv->title, strlen(qv->title), a->cols, a->attr[COL_TITLE], true);
    if (qv->cur < qv->top)
        qv->top = qv->cur;
    if (qv->cur >= qv->top + body)
        qv->top = qv->cur - body + 1;
    for (size_t y = 0; y < body && qv->top + y < qv->n; y++) {
        size_t i = qv->top + y;
        struct buf line = BUF_INIT;

        buf_printf(&line, "%4zu  ", i + 1);
        addr_format(&line, qv->res[i].name, qv->res[i].address);
        ui_put((int)y + 1, 0, line.ptr, line.len, a->cols,
               a->attr[i == qv->cur ? COL_CURSOR : COL_NORMAL], true);
        buf_free(&line);
    }
}

static void query_key(struct app *a, struct pane *p, enum action c, int key)
{
    struct queryview *qv = p->data;

    (void)key;
    p->dirty = true;
    switch (c) {
    case ACT_DOWN:
        if (qv->cur + 1 < qv->n)
            qv->cur++;
        break;
    case ACT_UP:
        if (qv->cur > 0)
            qv->cur--;
        break;
    case ACT_FIRST:
        qv->cur = 0;
        break;
    case ACT_LAST:
        qv->cur = qv->n - 1;
        break;
    case ACT_OPEN:
    case ACT_COMPOSE: {
        struct buf to = BUF_INIT;

        addr_format(&to, qv->res[qv->cur].name, qv->res[qv->cur].address);
        buf_cstr(&to);
        app_overlay(a, NULL);           /* frees qv */
        ui_compose_to(a, to.ptr);
        buf_free(&to);
        break;
    }
    case ACT_EXIT:
        a->running = false;
        break;
    default:
        app_overlay(a, NULL);
        break;
    }
}

static void query_free(struct pane *p)
{
    struct queryview *qv = p->data;

    query_results_free(qv->res, qv->n);
}

static const struct pane_ops query_pane_ops = {
    .name = "query",
    .draw = query_draw,
    .key = query_key,
    .free = query_free,
};

static void query_done(struct app *a, enum prompt_kind k, const char *text)
{
    struct buf out = BUF_INIT;
    struct queryview *qv;
    struct pane *p;
    struct err e;

    (void)k;
    while (*text == ' ')
        text++;
    if (*text == '\0')
        return;
    if (query_run(a->cfg->query_command, text, QUERY_TIMEOUT_MS, QUERY_MAX_OUTPUT, &out,
                  &e) < 0) {
        app_err(a, "%s", e.msg);
        buf_free(&out);
        return;
    }
    qv = xcalloc(1, sizeof *qv);
    qv->n = query_parse(out.ptr ? out.ptr : "", out.len, &qv->res);
    buf_free(&out);
    if (qv->n == 0) {
        app_msg(a, "The query for '%.60s' found nothing.", text);
        query_results_free(qv->res, qv->n);
        free(qv);
        return;
    }
    snprintf(qv->title, sizeof qv->title, " Query '%.60s': %zu address%s   Enter or m: write "
             "to it   q: close", text, qv->n, qv->n == 1 ? "" : "es");
    p = pane_new(&query_pane_ops, qv);
    app_overlay(a, p);
}

static void query(struct app *a)
{
    if (a->cfg->query_command == NULL) {
        app_err(a, "No query_command is set (see mailrc(5)).");
        return;
    }
    app_prompt(a, PR_QUERY, "Query: ", "", query_done);
}

void msgcmd_run(struct app *a, enum action c)
{
    switch (c) {
    case ACT_ALIAS: alias_sender(a); break;
    case ACT_BOUNCE: bounce(a); break;
    case ACT_MESSAGES: show_log(a); break;
    case ACT_QUERY: query(a); break;
    default: break;
    }
}

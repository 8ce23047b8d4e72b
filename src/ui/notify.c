/*
 * New-mail notification in the client: when a folder's message and unread counts grow (a
 * background fetch, or another program delivering), ring the bell, set the terminal title and, if
 * asked, send an OSC 9 / OSC 777 desktop notification. One notice per fetch, not per window.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tern/buf.h"
#include "tern/fsutil.h"
#include "tern/newmail.h"
#include "tern/xalloc.h"
#include "ui.h"

struct seen {
    char *folder;
    long total, unread;
};

static struct seen *seen;
static size_t nseen;
static long pending;
static char *pending_folder;

/*
 * New mail grows both counts: marking a message unread grows only one, so it is not news;
 * what grew in both is.
 */
void notify_count(struct app *a, const char *folder, long total, long unread)
{
    size_t i;
    long grew;

    (void)a;
    if (unread < 0 || total < 0)
        return;
    for (i = 0; i < nseen; i++)
        if (strcmp(seen[i].folder, folder) == 0)
            break;
    if (i == nseen) {
        /* First sight (start-up, a new folder): what is there is not news. */
        seen = xreallocarray(seen, nseen + 1, sizeof *seen);
        seen[nseen].folder = xstrdup(folder);
        seen[nseen].total = total;
        seen[nseen++].unread = unread;
        return;
    }
    grew = unread - seen[i].unread;
    if (total - seen[i].total < grew)
        grew = total - seen[i].total;
    if (grew > 0) {
        pending += grew;
        free(pending_folder);
        pending_folder = xstrdup(folder);
    }
    seen[i].total = total;
    seen[i].unread = unread;
}

/* The title from new_mail_title: %n the count, %f the folder, %% a percent sign. */
static void notify_title(struct buf *out, const char *fmt, long n, const char *folder)
{
    struct buf raw = BUF_INIT;

    for (const char *p = fmt; *p; p++) {
        if (*p != '%' || p[1] == '\0') {
            buf_addc(&raw, *p);
            continue;
        }
        p++;
        if (*p == 'n')
            buf_printf(&raw, "%ld", n);
        else if (*p == 'f')
            buf_adds(&raw, folder);
        else
            buf_addc(&raw, *p);
    }
    newmail_clean(buf_cstr(&raw), 200, out);
    buf_free(&raw);
}

void notify_flush(struct app *a)
{
    const struct config *cfg = a->cfg;
    struct buf b = BUF_INIT, text = BUF_INIT;

    /* A fetch fills the inbox window by window: wait for its end, then one notice. */
    if (pending <= 0 || jobs_running(a, JOB_FETCH))
        return;
    buf_printf(&text, "%ld new message%s in ", pending, pending == 1 ? "" : "s");
    newmail_clean(pending_folder ? pending_folder : "?", 100, &text);
    if (cfg->new_mail_bell)
        buf_addc(&b, '\a');
    if (cfg->new_mail_title && cfg->new_mail_title[0]) {
        buf_adds(&b, "\033]2;");
        notify_title(&b, cfg->new_mail_title, pending, pending_folder ? pending_folder : "?");
        buf_adds(&b, "\007");
    }
    if (cfg->new_mail_desktop == NOTIFY_OSC9) {
        buf_printf(&b, "\033]9;tern: %s\007", buf_cstr(&text));
    } else if (cfg->new_mail_desktop == NOTIFY_OSC777) {
        /* ';' separates OSC 777's fields */
        for (char *p = text.ptr; *p; p++)
            if (*p == ';')
                *p = ',';
        buf_printf(&b, "\033]777;notify;tern;%s\007", text.ptr);
    }
    /* Straight to the terminal between two redraws: none of these moves the cursor. */
    if (b.len > 0)
        (void)fs_write_all(STDOUT_FILENO, b.ptr, b.len);
    pending = 0;
    buf_free(&b);
    buf_free(&text);
}

void notify_free(void)
{
    for (size_t i = 0; i < nseen; i++)
        free(seen[i].folder);
    free(seen);
    seen = NULL;
    nseen = 0;
    free(pending_folder);
    pending_folder = NULL;
    pending = 0;
}

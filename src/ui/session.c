/* The loop's services for the open folder: opening one (from its model, or first indexed by
 * a child when it is large and its index is not fresh), refreshing it when others changed it,
 * and the senders of shown messages noted for the address book and written on a timer. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "tern/fsutil.h"
#include "tern/maildir.h"
#include "tern/message.h"
#include "tern/model.h"
#include "tern/paths.h"
#include "tern/str.h"
#include "tern/xalloc.h"
#include "ui.h"

const char *app_folder(const struct app *a)
{
    return a->m ? model_name(a->m) : a->pending_folder;
}

static void replace_model(struct app *a, struct model *m)
{
    model_close(a->m);
    a->m = m;
    app_notify(a, EV_FOLDER_OPENED);
}

static int open_now(struct app *a, const char *name)
{
    struct model *m;
    struct err e;

    if (model_open(a->root, name, a->cfg, &m, &e) < 0) {
        app_err(a, "%s", e.msg);
        return -1;
    }
    free(a->pending_folder);
    a->pending_folder = NULL;
    replace_model(a, m);
    return 0;
}

/* What this turn's events asked for, applied once in session_settled. */
static struct {
    bool rescan;                 /* a folder the pane does not list received mail */
    char await[256];             /* open this folder once it exists (app_await_folder) */
    char **delivered;            /* files a fetch delivered into the open folder's new/ */
    size_t ndelivered, cap;
} pending;

static void index_done(struct app *a, const char *name, int status, const char *text);
static const struct job_ops index_job = { JOB_INDEX, "index", "reading headers", NULL,
                                         index_done };

/*
 * A large folder without a fresh index would take seconds to read: a child (`tern index
 * NAME`, which builds and saves the index) does it while the screen stays live; the folder
 * opens from the fresh index when the child is done (index_done). keep_open: the open folder
 * is being refreshed and stays on the screen meanwhile.
 */
static int index_in_background(struct app *a, const char *name, bool keep_open)
{
    char *args[] = { "-q", "--", (char *)name, NULL };

    if (jobs_running(a, JOB_INDEX) || job_start(a, &index_job, args) < 0)
        return -1;
    free(a->pending_folder);
    a->pending_folder = xstrdup(name);
    if (!keep_open) {
        replace_model(a, NULL);
        app_msg(a, "Indexing %s in the background; keys work meanwhile.", name);
    }
    return 0;
}

static void index_done(struct app *a, const char *job, int status, const char *text)
{
    char *name = a->pending_folder;
    struct err e;

    (void)job;
    (void)text;
    a->pending_folder = NULL;
    if (name == NULL)
        return;
    if (a->m == NULL) {
        if (status != 0)
            app_err(a, "Indexing %s failed; reading it directly.", name);
        (void)open_now(a, name);
    } else if (strcmp(model_name(a->m), name) == 0) {
        if (model_reload(a->m, &e) < 0)
            app_err(a, "%s", e.msg);
        app_notify(a, EV_FOLDER_CHANGED);
    }
    free(name);
}

int app_open_folder(struct app *a, const char *name)
{
    char *dir;

    if (name == NULL) {
        pending.await[0] = '\0';
        free(a->pending_folder);
        a->pending_folder = NULL;
        replace_model(a, NULL);
        return 0;
    }
    dir = maildir_folder_path(a->root, name);
    if (dir == NULL || !maildir_is_maildir(dir)) {
        app_err(a, "%s: no such folder", name);
        free(dir);
        return -1;
    }
    if (model_needs_background_index(dir) && index_in_background(a, name, false) == 0) {
        free(dir);
        return 0;
    }
    free(dir);
    return open_now(a, name);
}

/* ---- what the workers report (jobs.h) ---- */

static bool folder_listed(struct app *a, const char *name)
{
    for (size_t i = 0; folders_name(a, i) != NULL; i++)
        if (strcmp(folders_name(a, i), name) == 0)
            return true;
    return false;
}

static void session_event(struct app *a, const char *job, const struct worker_event *ev,
                          void *arg)
{
    (void)job;
    (void)arg;
    if (ev->kind == WEV_NEW && !folder_listed(a, ev->folder))
        pending.rescan = true;
    if (ev->kind == WEV_NEW && a->m) {
        /* the fetcher names what it delivered: the open folder shows it without a listing */
        char *dir = maildir_folder_path(a->root, ev->folder);

        if (dir && strcmp(dir, model_dir(a->m)) == 0) {
            pending.delivered = xgrow(pending.delivered, pending.ndelivered, &pending.cap,
                                      sizeof *pending.delivered);
            pending.delivered[pending.ndelivered++] = xstrdup(ev->file);
        }
        free(dir);
    }
}

static void session_settled(struct app *a, void *arg)
{
    (void)arg;
    if (pending.ndelivered > 0) {
        if (a->m && model_add_new(a->m, pending.delivered, pending.ndelivered) == 1)
            app_notify(a, EV_FOLDER_CHANGED);
        for (size_t i = 0; i < pending.ndelivered; i++)
            free(pending.delivered[i]);
        pending.ndelivered = 0;
    }
    if (pending.rescan) {
        pending.rescan = false;
        app_notify(a, EV_FOLDERS_CHANGED);
    }
    if (pending.await[0] && a->m == NULL && a->pending_folder == NULL &&
        folder_listed(a, pending.await)) {
        char name[sizeof pending.await];

        memcpy(name, pending.await, sizeof name);
        pending.await[0] = '\0';
        if (app_open_folder(a, name) == 0)
            app_msg(a, "%s: new mail.", name);
    }
}

void app_session_listen(struct app *a)
{
    static const struct jobs_listener l = { session_event, session_settled, NULL };

    (void)a;
    (void)jobs_listen(&l);
}

void app_await_folder(struct app *a, const char *name)
{
    snprintf(pending.await, sizeof pending.await, "%s", name);
    app_msg(a, "%s does not exist yet; it opens when mail arrives (F fetches).", name);
}

void app_refresh(struct app *a)
{
    struct err e;
    int r;

    if (a->m == NULL && pending.await[0] && a->pending_folder == NULL) {
        /* Delivered by another program: the timer's poll finds it. */
        if (!folder_listed(a, pending.await))
            app_notify(a, EV_FOLDERS_CHANGED);
        session_settled(a, NULL);
        return;
    }
    if (a->m == NULL || a->pending_folder)
        return;
    /* The folder's watch says what changed, whatever its size; only when it cannot (no
     * watch, events lost) are the directories read. */
    r = model_refresh_watched(a->m, &e);
    /* A large folder's listing reads every name: not for the loop. A child does it (after
     * a running fetch ends), then the index is swapped. */
    if (r == 2 && model_is_large(a->m)) {
        if (jobs_running(a, JOB_FETCH) || jobs_running(a, JOB_INDEX) || !model_changed(a->m))
            return;
        (void)index_in_background(a, model_name(a->m), true);
        return;
    }
    if (r == 2)
        r = model_refresh(a->m, &e);
    if (r < 0)
        app_err(a, "%s", e.msg);
    else if (r > 0)
        app_notify(a, EV_FOLDER_CHANGED);
    else if (model_is_outbox(a->m) && a->jobs)
        app_dirty(a, PANE_LIST);        /* the queue states may have changed */
    /* The journal of changes grew long: merging it rewrites the whole cache, which the
     * refresh left alone to stay quick; a child does it, then the index is swapped. */
    if (r >= 0 && model_wants_merge(a->m) && !jobs_running(a, JOB_FETCH))
        (void)index_in_background(a, model_name(a->m), true);
}

/* ---- the address book learns from shown messages, written on a timer ---- */

void app_learn(struct app *a, const struct message *msg)
{
    if (a->learn == NULL) {
        char *path = paths_state(a->root, PATH_ADDRESSES);

        a->learn = learn_new(path);
        free(path);
    }
    learn_senders(a->learn, msg);
}

void app_learn_flush(struct app *a)
{
    struct err e;

    if (a->learn && learn_flush(a->learn, &e) < 0)
        app_err(a, "%s", e.msg);
    /* seconds between writes of the address book: 30, or $TERN_LEARN_EVERY (for the tests) */
    a->next_learn = time(NULL) + str_env_long("TERN_LEARN_EVERY", 1, 100000000, 30);
}


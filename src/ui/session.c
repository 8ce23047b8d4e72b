/* The loop's services for the open folder: opening one (from its model, or first indexed by
 * a child when it is large and its index is not fresh), refreshing it when others changed it,
 * and the senders of shown messages noted for the address book and written on a timer. */
#include "config.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "tern/fsutil.h"
#include "tern/maildir.h"
#include "tern/message.h"
#include "tern/model.h"
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

static void index_done(struct app *a, const char *name, int status, const char *text);
static const struct job_ops index_job = { .done = index_done };

/*
 * A large folder without a fresh index would take seconds to read: a child (`tern scan`,
 * which builds and saves the index) does it while the screen stays live; the folder opens
 * from the fresh index when the child is done (index_done). keep_open: the open folder is
 * being refreshed and stays on the screen meanwhile.
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
    if (jobs_running(a, "index") || job_start(a, "index", argv, &index_job) < 0)
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
    if (model_needs_background_index(dir) && index_in_background(a, name, dir, false) == 0) {
        free(dir);
        return 0;
    }
    free(dir);
    return open_now(a, name);
}

void app_refresh(struct app *a)
{
    struct err e;
    int r;

    if (a->m == NULL || a->pending_folder)
        return;
    /* A large folder's refresh reads every name and rewrites a big cache: seconds, not for
     * the loop. A child does it (after a running fetch ends), then the index is swapped. */
    if (model_is_large(a->m)) {
        if (jobs_running(a, "fetch") || jobs_running(a, "index") || !model_changed(a->m))
            return;
        (void)index_in_background(a, model_name(a->m), model_dir(a->m), true);
        return;
    }
    r = model_refresh(a->m, &e);
    if (r < 0)
        app_err(a, "%s", e.msg);
    else if (r > 0)
        app_notify(a, EV_FOLDER_CHANGED);
    else if (model_is_outbox(a->m) && a->jobs)
        app_dirty(a, PANE_LIST);        /* the queue states may have changed */
}

/* ---- the address book learns from shown messages, written on a timer ---- */

/* Seconds between writes of the address book: 30, or $TERN_LEARN_EVERY (for the tests). */
static long learn_every(void)
{
    const char *s = getenv("TERN_LEARN_EVERY");
    long n;

    if (s && str_tolong(s, 1, 100000000, &n) == 0)
        return n;
    return 30;
}

void app_learn(struct app *a, const struct message *msg)
{
    if (a->learn == NULL) {
        char *path = fs_join(a->root, ".tern/addresses");

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
    a->next_learn = time(NULL) + learn_every();
}


/* tern index [--rebuild] [-q] [--worker-fd N] FOLDER|PATH...: build or bring up to date the
 * index (the per-folder cache of store/index.c) of each folder, e.g. before opening a large
 * one; the full-screen client runs it in the background for folders of thousands. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>

#include "tern/cmd.h"
#include "tern/index.h"
#include "tern/maildir.h"
#include "tern/str.h"
#include "tern/worker.h"

static int index_one(const struct config *cfg, const char *f, int oflags, bool quiet, int wfd,
                     const struct globals *g)
{
    char *dir = maildir_folder_path(cfg->mail_root, f);
    struct worker_event ev = { .kind = WEV_ERROR, .unit = f };
    struct idx *x;
    struct idx_counts c;
    struct err e;

    if (dir == NULL || !maildir_is_maildir(dir)) {
        err_set(&e, ERR_CONFIG, "%s: not a Maildir (no folder '%s')", dir ? dir : f, f);
        goto fail;
    }
    if (idx_open(dir, oflags, &x, &e) < 0)
        goto fail;
    /* the journal of changes folded into the cache, when it grew long (the client asks for
     * this in the background: its own refreshes leave it) */
    if (idx_merge(x, &e) < 0 && !quiet)
        fprintf(stderr, "%s: %s\n", g->progname, e.msg);
    idx_counts(x, &c);          /* idx_count has the gone entries not yet dropped too */
    ev = (struct worker_event){ .kind = WEV_INDEXED, .folder = f, .num = { c.total } };
    (void)worker_emit(wfd, &ev);
    if (!quiet) {
        const struct idx_stats *st = idx_stats(x);

        printf("%s: %zu message%s (%zu read, %zu from the index)\n", f, c.total,
               c.total == 1 ? "" : "s", st->parsed, st->cached);
    }
    idx_close(x);
    free(dir);
    return EX_OK;
fail:
    fprintf(stderr, "%s: %s\n", g->progname, e.msg);
    ev.cls = e.cls;
    ev.text = e.msg;
    (void)worker_emit(wfd, &ev);
    free(dir);
    return e.cls == ERR_CONFIG ? EX_NOINPUT : cmd_exit_code(e.cls);
}

int cmd_index(int argc, char **argv, const struct globals *g)
{
    struct config *cfg;
    struct worker_event ev = { .kind = WEV_HELLO, .version = WORKER_VERSION, .job = "index" };
    int i, rc, status = EX_OK, oflags = 0, wfd = -1;
    bool quiet = false;

    for (i = 1; i < argc; i++) {
        const char *s = argv[i];

        if (strcmp(s, "--rebuild") == 0) {
            oflags |= IDX_NO_CACHE;
        } else if (strcmp(s, "-q") == 0 || strcmp(s, "--quiet") == 0) {
            quiet = true;
        } else if (strcmp(s, "--worker-fd") == 0 || strncmp(s, "--worker-fd=", 12) == 0) {
            const char *v = s[11] == '=' ? s + 12 : (i + 1 < argc ? argv[++i] : NULL);
            long fd;

            if (v == NULL || str_tolong(v, 0, 1 << 20, &fd) < 0)
                return cmd_bad_usage(g, NULL);
            wfd = (int)fd;
        } else if (strcmp(s, "--") == 0) {
            i++;
            break;
        } else if (s[0] == '-' && s[1] != '\0') {
            return cmd_bad_usage(g, "unknown option %s", s);
        } else {
            break;
        }
    }
    if (i >= argc)
        return cmd_bad_usage(g, NULL);
    (void)worker_emit(wfd, &ev);
    if ((rc = cmd_load_config(g, &cfg)) != 0) {
        ev = (struct worker_event){ .kind = WEV_ERROR, .cls = ERR_CONFIG,
                                    .text = "the configuration cannot be read" };
        (void)worker_emit(wfd, &ev);
        status = rc;
    } else {
        for (; i < argc; i++) {
            rc = index_one(cfg, argv[i], oflags, quiet, wfd, g);
            if (rc != EX_OK && status == EX_OK)
                status = rc;
        }
        config_free(cfg);
    }
    ev = (struct worker_event){ .kind = WEV_DONE };
    (void)worker_emit(wfd, &ev);
    return status;
}

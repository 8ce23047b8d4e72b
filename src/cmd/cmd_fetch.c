/* tern fetch [--worker-fd N] [ACCOUNT...]: download new POP3 mail into each account's inbox;
 * SIGTERM stops it at a message boundary with what arrived recorded. */
#include "config.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>

#include "tern/cmd.h"
#include "tern/fetch.h"
#include "tern/fsutil.h"
#include "tern/newmail.h"
#include "tern/paths.h"
#include "tern/str.h"
#include "tern/worker.h"

struct fetch_ui {
    bool tty;                    /* a progress line on stderr */
    int wfd;                     /* the worker protocol (tern/worker.h), or -1 */
    double last;                 /* when the last progress update was shown */
    struct newmail *nm;          /* what this account's fetch delivered, for new_mail_command */
};

static double now_s(void)
{
    struct timespec t;

    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static volatile sig_atomic_t fetch_cancelled;
static volatile sig_atomic_t downloading;    /* in FETCH_RETR: messages are arriving */

static void on_term(int sig)
{
    if (!downloading) {
        /* Nothing of this run is half-done (connecting, logging in, waiting for a
         * password_command, deleting): end at once, as without a handler. */
        signal(sig, SIG_DFL);
        raise(sig);
        return;
    }
    fetch_cancelled = 1;
}

/* SIGTERM (the client's cancel, a shutdown) ends the fetch cleanly: while messages arrive,
 * the one being received is finished, what is on disk is recorded, nothing more is
 * deleted; at any other point the fetch ends at once (the state is consistent then). */
static void catch_term(void)
{
    cmd_catch_signal(SIGTERM, on_term);
}

static void emit(const struct fetch_ui *u, const struct worker_event *ev)
{
    (void)worker_emit(u->wfd, ev);
}

static void config_error(const struct fetch_ui *u, const char *unit, const char *msg)
{
    struct worker_event ev = { .kind = WEV_ERROR, .cls = ERR_CONFIG, .unit = unit, .text = msg };

    emit(u, &ev);
}

/* A message is safely in folder: tell the client (worker protocol) and note it for
 * new_mail_command. */
static void on_delivered(void *ctx, const char *folder, const char *path)
{
    struct fetch_ui *u = ctx;
    const char *slash = strrchr(path, '/');
    struct worker_event ev = { .kind = WEV_NEW, .folder = folder,
                               .file = slash ? slash + 1 : path };

    emit(u, &ev);
    if (u->nm)
        newmail_add(u->nm, path);
}

static const char *phase_name(enum fetch_phase p)
{
    static const char *const names[] = { "connect", "list", "retr", "delete", "done" };

    return names[p];
}

static void show_progress(void *ctx, const struct fetch_progress *p)
{
    struct fetch_ui *u = ctx;
    double t = now_s();
    bool final = p->phase == FETCH_DONE || p->phase == FETCH_DELETE ||
                 p->phase == FETCH_LIST || p->phase == FETCH_CONNECT;

    downloading = p->phase == FETCH_RETR;

    if (!final && t - u->last < 0.1 && p->done != p->total)
        return;
    u->last = t;
    if (u->wfd >= 0) {
        struct worker_event ev = {
            .kind = WEV_PROGRESS, .unit = p->account, .phase = phase_name(p->phase),
            .num = { p->done, p->total, p->bytes, p->bytes_total,
                     (unsigned long long)(p->elapsed * 1000) },
        };

        emit(u, &ev);
    }
    if (u->tty && p->phase != FETCH_DONE) {
        double rate = p->elapsed > 0 ? (double)p->bytes / p->elapsed : 0;

        if (p->phase == FETCH_RETR)
            fprintf(stderr, "\r\033[K%s: %lu/%lu messages, %.1f/%.1f MB, %.1f MB/s", p->account,
                    p->done, p->total, (double)p->bytes / 1e6, (double)p->bytes_total / 1e6,
                    rate / 1e6);
        else
            fprintf(stderr, "\r\033[K%s: %s...", p->account, phase_name(p->phase));
        fflush(stderr);
    }
}

int cmd_fetch(int argc, char **argv, const struct globals *g)
{
    struct fetch_ui ui = { isatty(STDERR_FILENO) && g->verbose == 0, -1, 0, NULL };
    struct config *cfg = NULL;
    const struct account **todo = NULL;
    size_t ntodo = 0, nfail = 0;
    int first = 1, status = EX_OK, rc;

    for (; first < argc; first++) {
        const char *a = argv[first];
        const char *val = NULL;

        if (strcmp(a, "--") == 0) {
            first++;
            break;
        }
        if (strcmp(a, "--password-fd") == 0 || strncmp(a, "--password-fd=", 14) == 0) {
            if (cmd_password_fd(g, a[13] == '=' ? a + 14 : first + 1 < argc ? argv[++first]
                                                                             : NULL) < 0)
                return cmd_bad_usage(g, NULL);
            continue;
        }
        /* --progress-fd: the option's name before the worker protocol had its own. */
        if (strcmp(a, "--worker-fd") == 0 || strcmp(a, "--progress-fd") == 0) {
            if (first + 1 >= argc)
                return cmd_bad_usage(g, NULL);
            val = argv[++first];
        } else if (strncmp(a, "--worker-fd=", 12) == 0) {
            val = a + 12;
        } else if (strncmp(a, "--progress-fd=", 14) == 0) {
            val = a + 14;
        } else if (a[0] == '-') {
            return cmd_bad_usage(g, "unknown option '%s'", a);
        } else {
            break;
        }
        {
            long fd;

            if (str_tolong(val, 0, 1 << 20, &fd) < 0)
                return cmd_bad_usage(g, "--worker-fd needs a descriptor number");
            ui.wfd = (int)fd;
        }
    }
    if (ui.wfd >= 0) {
        struct worker_event hello = { .kind = WEV_HELLO, .version = WORKER_VERSION,
                                      .job = "fetch" };

        emit(&ui, &hello);
    }
    catch_term();
    if ((rc = cmd_load_config(g, &cfg)) != 0) {
        struct worker_event err = { .kind = WEV_ERROR, .cls = ERR_CONFIG,
                                    .text = "the configuration cannot be read" };

        struct worker_event done = { .kind = WEV_DONE };

        emit(&ui, &err);
        emit(&ui, &done);
        return rc;
    }
    todo = calloc(cfg->naccounts + (size_t)argc + 1, sizeof *todo);
    if (todo == NULL) {
        config_free(cfg);
        return EX_OSERR;
    }
    if (first < argc) {
        for (int i = first; i < argc; i++) {
            const struct account *a = config_account(cfg, argv[i]);

            if (a == NULL) {
                fprintf(stderr, "%s: %s: no such account in %s\n", g->progname, argv[i],
                        cfg->path);
                config_error(&ui, argv[i], "no such account");
                status = EX_CONFIG;
                nfail++;
                continue;
            }
            if (a->pop3_host == NULL) {
                fprintf(stderr, "%s: %s: the account has no pop3_host\n", g->progname,
                        a->name);
                config_error(&ui, a->name, "the account has no pop3_host");
                status = EX_CONFIG;
                nfail++;
                continue;
            }
            todo[ntodo++] = a;
        }
    } else {
        for (size_t i = 0; i < cfg->naccounts; i++)
            if (cfg->accounts[i].pop3_host != NULL)
                todo[ntodo++] = &cfg->accounts[i];
        if (ntodo == 0) {
            fprintf(stderr, "%s: no account has a pop3_host in %s\n", g->progname,
                    cfg->path);
            config_error(&ui, NULL, "no account has a pop3_host");
            status = EX_CONFIG;
            nfail++;
        }
    }
    cmd_ask_passwords(g, todo, ntodo, SECRET_POP3);
    for (size_t i = 0; i < ntodo; i++) {
        const struct account *a = todo[i];
        struct newmail nm = { NULL, 0, 0 };
        struct fetch_opts fo = { show_progress, &ui, &fetch_cancelled, on_delivered };
        struct fetch_result r;
        struct err e = { ERR_NONE, "" };

        if (fetch_cancelled) {
            status = cmd_exit_code(ERR_CANCEL);
            break;
        }
        ui.nm = cfg->new_mail_command ? &nm : NULL;
        for (int tries = 0;; tries++) {
            rc = fetch_account(cfg, a, &fo, &r, &e);
            /* A password typed here and refused is forgotten and asked again (the
             * client's worker leaves that to the client). */
            if (rc == 0 || e.cls != ERR_AUTH || !secret_typed(a, SECRET_POP3) ||
                ui.wfd >= 0 || tries >= CMD_REAUTH_MAX || fetch_cancelled)
                break;
            fprintf(stderr, "%s%s: %s: password refused: %s\n", ui.tty ? "\r\033[K" : "",
                    g->progname, a->name, e.msg);
            secret_forget(a->name);
            cmd_ask_passwords(g, &a, 1, SECRET_POP3);
            if (secret_remembered(a->name) == NULL)
                break;
        }
        downloading = 0;
        ui.nm = NULL;
        if (ui.tty)
            fprintf(stderr, "\r\033[K");
        if (nm.n > 0) {
            /* Once per fetch of the account, whatever happened after the deliveries. */
            struct err ne = { ERR_NONE, "" };

            if (newmail_run(cfg, a->name, paths_role(cfg, NULL, a, ROLE_INBOX), &nm, &ne) < 0)
                fprintf(stderr, "%s: fetch %s: warning: %s\n", g->progname, a->name, ne.msg);
        }
        newmail_free(&nm);
        if (rc < 0) {
            fprintf(stderr, "%s: %s: %s", g->progname, a->name, e.msg);
            if (r.fetched > 0)
                fprintf(stderr, " (%lu new message%s kept)", r.fetched,
                        r.fetched == 1 ? "" : "s");
            fputc('\n', stderr);
            {
                struct worker_event ev = { .kind = WEV_ERROR, .cls = e.cls, .unit = a->name,
                                           .text = e.msg };

                emit(&ui, &ev);
            }
            if (status == EX_OK)
                status = cmd_exit_code(e.cls);
            nfail++;
        } else {
            printf("%s: %lu new message%s (%.1f MB) in %.1f s, %lu deleted, %lu on the server "
                   "[%s]\n", a->name, r.fetched, r.fetched == 1 ? "" : "s",
                   (double)r.bytes / 1e6, r.seconds, r.deleted, r.on_server - r.deleted, r.tls);
            fflush(stdout);
            {
                struct worker_event ev = { .kind = WEV_FETCHED, .unit = a->name,
                                           .num = { r.fetched, r.deleted } };

                emit(&ui, &ev);
            }
        }
    }
    {
        struct worker_event done = { .kind = WEV_DONE };

        emit(&ui, &done);
    }
    free(todo);
    config_free(cfg);
    return status;
}

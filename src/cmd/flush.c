/*
 * tern flush: deliver the queued messages that are due, with progress on a terminal, a
 * summary, and the worker protocol (tern/worker.h) for the full-screen client (--worker-fd).
 */
#include "config.h"

#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>

#include "tern/cmd.h"
#include "tern/flush.h"
#include "tern/queue.h"
#include "tern/str.h"
#include "tern/worker.h"
#include "tern/xalloc.h"

struct flush_ui {
    const struct globals *g;
    const char *progname;
    bool tty;            /* a progress line on stderr */
    bool quiet;
    int wfd;             /* --worker-fd, or -1 */
    bool line_open;
};

static void clear_line(struct flush_ui *u)
{
    if (u->line_open) {
        fputs("\r\033[K", stderr);
        u->line_open = false;
    }
}

/* One line about one event, in place of the progress line: "tern: deferred ID: why". */
static void say(struct flush_ui *u, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void say(struct flush_ui *u, const char *fmt, ...)
{
    va_list ap;

    clear_line(u);
    fprintf(stderr, "%s: ", u->progname);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}

static const char *event_id(const struct queue_event *ev)
{
    return ev->ent ? ev->ent->id : "-";
}

/* Each queue event as its worker-protocol event, then the progress it makes. */
static void worker_event(int wfd, const struct queue_event *ev)
{
    struct worker_event w = { .id = ev->ent ? ev->ent->id : NULL, .text = ev->text };
    struct worker_event prog = {
        .kind = WEV_PROGRESS, .unit = ev->ent ? ev->ent->account : NULL, .phase = "send",
        .num = { ev->done, ev->total },
    };

    switch (ev->kind) {
    case QEV_START:
        break;
    case QEV_CONNECT:
        prog.unit = ev->text;
        prog.phase = "connect";
        break;
    case QEV_SENT:
        w.kind = WEV_SENT;
        break;
    case QEV_DEFERRED:
        w.kind = WEV_DEFERRED;
        break;
    case QEV_FAILED:
        w.kind = WEV_FAILED;
        break;
    case QEV_REFUSED:
        w.kind = WEV_REFUSED;
        w.addr = ev->addr;
        break;
    case QEV_HELD:
        w.kind = WEV_HELD;
        break;
    case QEV_AUTH:      /* the client forgets the password it handed over, and asks again */
        w.kind = WEV_ERROR;
        w.cls = ERR_AUTH;
        w.unit = ev->addr;
        break;
    }
    if (ev->kind != QEV_START && ev->kind != QEV_CONNECT)
        (void)worker_emit(wfd, &w);
    if (ev->kind != QEV_REFUSED && ev->kind != QEV_AUTH)
        (void)worker_emit(wfd, &prog);
}

static void flush_event(const struct queue_event *ev, void *arg)
{
    struct flush_ui *u = arg;

    worker_event(u->wfd, ev);
    if (u->quiet)
        return;
    switch (ev->kind) {
    case QEV_START:
    case QEV_SENT:
        break;
    case QEV_CONNECT:
        if (u->tty) {
            clear_line(u);
            fprintf(stderr, "connecting for account %s...", ev->text);
            u->line_open = true;
        }
        break;
    case QEV_DEFERRED:
        say(u, "deferred %s: %s", event_id(ev), ev->text);
        break;
    case QEV_FAILED:
        say(u, "failed %s: %s", event_id(ev), ev->text);
        break;
    case QEV_REFUSED:
        say(u, "%s: recipient <%s> refused: %s", event_id(ev), ev->addr, ev->text);
        break;
    case QEV_HELD:
        say(u, "held %s: %s", event_id(ev), ev->text);
        break;
    case QEV_AUTH:
        say(u, "%s: password refused: %s", ev->addr, ev->text);
        break;
    }
    if (u->tty && ev->kind != QEV_START && ev->kind != QEV_CONNECT && ev->total > 0) {
        clear_line(u);
        fprintf(stderr, "sending: %zu/%zu", ev->done, ev->total);
        u->line_open = true;
    }
}

/* What happened; when nothing was due, what is waiting and until when. */
static void print_summary(const struct queue_flush_stats *st)
{
    size_t tried = st->sent + st->deferred + st->skipped + st->failed + st->held;

    if (tried == 0 && (st->waiting > 0 || st->held_waiting > 0)) {
        if (st->waiting > 0) {
            char when[32] = "later";
            struct tm tm, today;
            time_t now = time(NULL);

            localtime_r(&st->next_due, &tm);
            localtime_r(&now, &today);
            strftime(when, sizeof when, tm.tm_yday == today.tm_yday &&
                     tm.tm_year == today.tm_year ? "%H:%M" : "%Y-%m-%d %H:%M", &tm);
            printf("%zu queued, not due until %s (tern flush --all sends now)\n", st->waiting,
                   when);
        }
        if (st->held_waiting > 0)
            printf("%zu held until the account's settings change (tern queue says why; "
                   "tern flush --retry-held)\n", st->held_waiting);
        return;
    }
    printf("%zu sent, %zu deferred, %zu failed", st->sent, st->deferred + st->skipped,
           st->failed);
    if (st->held)
        printf(", %zu held (tern queue says why; tern flush --retry-held)", st->held);
    printf("\n");
}

/* SIGTERM (the client quitting or cancelling) and ^C: finish the message in flight, record
 * it, and stop; dying mid-message could send it twice. */
static volatile sig_atomic_t stop_flag;

static void on_stop(int sig)
{
    (void)sig;
    stop_flag = 1;
}

static void catch_stop(void)
{
    cmd_catch_signal(SIGTERM, on_stop);
    cmd_catch_signal(SIGINT, on_stop);
}


/* A password typed on the terminal that the server refused: forgotten, and asked again
 * (never in the client's worker, whose passwords come from the client). */
static bool reauth(void *arg, const struct account *a)
{
    struct flush_ui *u = arg;

    secret_forget(a->name);
    if (u->wfd >= 0)
        return false;
    cmd_ask_passwords(u->g, &a, 1, SECRET_SMTP);
    return secret_remembered(a->name) != NULL;
}

/* Ask on the terminal for the password of each account that has due mail to log in with
 * and no password configured (asked once, before any connection). */
static void ask_passwords(const struct globals *g, const struct config *cfg, struct queue *q,
                          const struct queue_flush_opts *fo)
{
    struct queue_entry *ents = NULL;
    const struct account **todo;
    size_t n = 0, ntodo = 0;
    time_t now = time(NULL);
    struct err e;

    if (queue_list(q, &ents, &n, NULL, &e) < 0)
        return;
    todo = xreallocarray(NULL, n + 1, sizeof *todo);
    for (size_t i = 0; i < n; i++) {
        const struct account *a = config_account(cfg, ents[i].account);
        bool named = fo->naccounts == 0;

        for (size_t k = 0; k < fo->naccounts && a; k++)
            named = named || str_casecmp(fo->accounts[k], a->name) == 0;
        if (a && named && a->smtp_user && (queue_due(&ents[i], now, fo->all) ||
                                            (fo->retry_held && ents[i].state == QUEUE_HELD)))
            todo[ntodo++] = a;
    }
    cmd_ask_passwords(g, todo, ntodo, SECRET_SMTP);
    free(todo);
    queue_list_free(ents, n);
}

int cmd_flush(int argc, char **argv, const struct globals *g)
{
    struct flush_ui u = { g, g->progname, false, false, -1, false };
    struct worker_event wev = { .kind = WEV_DONE };
    struct queue_flush_opts fo = { 0 };
    struct queue_flush_stats st;
    struct config *cfg;
    struct queue *q = NULL;
    struct err e;
    int i, rc;

    for (i = 1; i < argc; i++) {
        const char *s = argv[i];

        if (strcmp(s, "--all") == 0 || strcmp(s, "-a") == 0) {
            fo.all = true;
        } else if (strcmp(s, "--retry-held") == 0) {
            fo.retry_held = true;
        } else if (strcmp(s, "-q") == 0 || strcmp(s, "--quiet") == 0) {
            u.quiet = true;
        } else if (strcmp(s, "--password-fd") == 0 || strncmp(s, "--password-fd=", 14) == 0) {
            if (cmd_password_fd(g, s[13] == '=' ? s + 14 : i + 1 < argc ? argv[++i] : NULL) < 0)
                return TERN_EX_USAGE;
        } else if (strcmp(s, "--worker-fd") == 0 || strncmp(s, "--worker-fd=", 12) == 0 ||
                   strcmp(s, "--progress-fd") == 0 || strncmp(s, "--progress-fd=", 14) == 0) {
            /* --progress-fd: the option's name before the worker protocol had its own. */
            const char *eq = strchr(s, '=');
            const char *v = eq ? eq + 1 : (i + 1 < argc ? argv[++i] : NULL);
            long fd;

            if (v == NULL || str_tolong(v, 0, 1 << 20, &fd) < 0) {
                fprintf(stderr, "%s: --worker-fd needs a descriptor number\n",
                        g->progname);
                return TERN_EX_USAGE;
            }
            u.wfd = (int)fd;
            wev = (struct worker_event){ .kind = WEV_HELLO, .version = WORKER_VERSION,
                                         .job = "flush" };
            (void)worker_emit(u.wfd, &wev);
        } else if (strcmp(s, "--") == 0) {
            i++;
            break;
        } else if (s[0] == '-') {
            return cmd_bad_usage(g, "unknown option '%s'", s);
        } else {
            break;
        }
    }
    rc = cmd_load_config(g, &cfg);
    if (rc != 0) {
        wev = (struct worker_event){ .kind = WEV_ERROR, .cls = ERR_CONFIG,
                                     .text = "the configuration cannot be read" };
        (void)worker_emit(u.wfd, &wev);
        goto done;
    }
    for (int k = i; k < argc; k++) {
        if (config_account(cfg, argv[k]) == NULL) {
            fprintf(stderr, "%s: no account called '%s'\n", g->progname, argv[k]);
            wev = (struct worker_event){ .kind = WEV_ERROR, .cls = ERR_CONFIG,
                                         .unit = argv[k], .text = "no such account" };
            (void)worker_emit(u.wfd, &wev);
            rc = EX_CONFIG;
            goto out;
        }
    }
    fo.accounts = (const char *const *)(argv + i);
    fo.naccounts = (size_t)(argc - i);
    u.tty = !u.quiet && isatty(STDERR_FILENO);
    catch_stop();
    fo.stop = &stop_flag;
    fo.reauth = reauth;
    fo.reauth_arg = &u;
    if (queue_open_cfg(cfg, NULL, &q, &e) == 0)
        ask_passwords(g, cfg, q, &fo);
    if ((q == NULL && queue_open_cfg(cfg, NULL, &q, &e) < 0) ||
        queue_flush(q, cfg, &fo, flush_event, &u, &st, &e) < 0) {
        clear_line(&u);
        fprintf(stderr, "%s: %s\n", g->progname, e.msg);
        wev = (struct worker_event){ .kind = WEV_ERROR, .cls = e.cls, .text = e.msg };
        (void)worker_emit(u.wfd, &wev);
        rc = cmd_exit_code(e.cls);
        goto out;
    }
    clear_line(&u);
    wev = (struct worker_event){ .kind = WEV_FLUSHED,
                                 .num = { st.sent, st.deferred + st.skipped + st.held,
                                          st.failed } };
    (void)worker_emit(u.wfd, &wev);
    if (!u.quiet)
        print_summary(&st);
    rc = st.failed || st.held ? EX_UNAVAILABLE : (st.deferred + st.skipped) ? EX_TEMPFAIL :
         EX_OK;
out:
    queue_close(q);
    config_free(cfg);
done:
    wev = (struct worker_event){ .kind = WEV_DONE };
    (void)worker_emit(u.wfd, &wev);
    return rc;
}

/* tern fetch [--progress-fd N] [ACCOUNT...]: download new POP3 mail into each account's inbox. */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>

#include "tern/buf.h"
#include "tern/cmd.h"
#include "tern/fetch.h"
#include "tern/fsutil.h"
#include "tern/newmail.h"
#include "tern/str.h"

struct fetch_ui {
    bool tty;                    /* a progress line on stderr */
    int progress_fd;             /* machine-readable lines, or -1 */
    double last;                 /* when the last progress update was shown */
    struct newmail *nm;          /* what this account's fetch delivered, for new_mail_command */
};

static double now_s(void)
{
    struct timespec t;

    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

/* Account names in progress lines: no spaces or control bytes, so lines split on spaces. */
static void safe_name(struct buf *b, const char *s)
{
    for (; *s; s++)
        buf_addc(b, ((unsigned char)*s <= 0x20 || *s == 0x7f) ? '_' : *s);
}

static void pfd_line(const struct fetch_ui *u, struct buf *b)
{
    buf_addc(b, '\n');
    if (u->progress_fd >= 0)
        fs_write_all(u->progress_fd, b->ptr, b->len);
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

    if (!final && t - u->last < 0.1 && p->done != p->total)
        return;
    u->last = t;
    if (u->progress_fd >= 0) {
        struct buf b = BUF_INIT;

        buf_adds(&b, "progress ");
        safe_name(&b, p->account);
        buf_printf(&b, " %s %lu %lu %llu %llu %.3f", phase_name(p->phase), p->done, p->total,
                   p->bytes, p->bytes_total, p->elapsed);
        pfd_line(u, &b);
        buf_free(&b);
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

static void note_delivered(void *ctx, const char *path)
{
    struct fetch_ui *u = ctx;

    newmail_add(u->nm, path);
}

static int fetch_usage(const struct globals *g)
{
    cmd_usage(stderr, g, false);
    return TERN_EX_USAGE;
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
        if (strcmp(a, "--progress-fd") == 0) {
            if (first + 1 >= argc)
                return fetch_usage(g);
            val = argv[++first];
        } else if (strncmp(a, "--progress-fd=", 14) == 0) {
            val = a + 14;
        } else if (a[0] == '-') {
            fprintf(stderr, "%s: unknown option '%s'\n", g->progname, a);
            return fetch_usage(g);
        } else {
            break;
        }
        {
            long fd;

            if (str_tolong(val, 0, 1 << 20, &fd) < 0) {
                fprintf(stderr, "%s: --progress-fd needs a descriptor number\n",
                        g->progname);
                return fetch_usage(g);
            }
            ui.progress_fd = (int)fd;
        }
    }
    if ((rc = cmd_load_config(g, &cfg)) != 0)
        return rc;
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
                status = EX_CONFIG;
                nfail++;
                continue;
            }
            if (a->pop3_host == NULL) {
                fprintf(stderr, "%s: %s: the account has no pop3_host\n", g->progname,
                        a->name);
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
            status = EX_CONFIG;
            nfail++;
        }
    }
    for (size_t i = 0; i < ntodo; i++) {
        const struct account *a = todo[i];
        struct newmail nm = { NULL, 0, 0 };
        struct fetch_opts fo = { show_progress, &ui, NULL, NULL };
        struct fetch_result r;
        struct err e = { ERR_NONE, "" };
        struct buf b = BUF_INIT;

        if (ui.progress_fd >= 0) {
            buf_adds(&b, "start ");
            safe_name(&b, a->name);
            pfd_line(&ui, &b);
            buf_reset(&b);
        }
        if (cfg->new_mail_command)
            fo.delivered = note_delivered;
        ui.nm = &nm;
        rc = fetch_account(cfg, a, &fo, &r, &e);
        ui.nm = NULL;
        if (ui.tty)
            fprintf(stderr, "\r\033[K");
        if (nm.n > 0) {
            /* Once per fetch of the account, whatever happened after the deliveries. */
            struct err ne = { ERR_NONE, "" };

            if (newmail_run(cfg, a->name, a->inbox ? a->inbox : "INBOX", &nm, &ne) < 0)
                fprintf(stderr, "%s: fetch %s: warning: %s\n", g->progname, a->name, ne.msg);
        }
        newmail_free(&nm);
        if (rc < 0) {
            fprintf(stderr, "%s: %s: %s", g->progname, a->name, e.msg);
            if (r.fetched > 0)
                fprintf(stderr, " (%lu new message%s kept)", r.fetched,
                        r.fetched == 1 ? "" : "s");
            fputc('\n', stderr);
            if (ui.progress_fd >= 0) {
                buf_adds(&b, "error ");
                safe_name(&b, a->name);
                buf_printf(&b, " %s %lu ", err_class_name(e.cls), r.fetched);
                for (const char *s = e.msg; *s; s++)
                    buf_addc(&b, (unsigned char)*s < 0x20 ? ' ' : *s);
                pfd_line(&ui, &b);
            }
            if (status == EX_OK)
                status = cmd_exit_code(e.cls);
            nfail++;
        } else {
            printf("%s: %lu new message%s (%.1f MB) in %.1f s, %lu deleted, %lu on the server "
                   "[%s]\n", a->name, r.fetched, r.fetched == 1 ? "" : "s",
                   (double)r.bytes / 1e6, r.seconds, r.deleted, r.on_server - r.deleted, r.tls);
            fflush(stdout);
            if (ui.progress_fd >= 0) {
                buf_adds(&b, "done ");
                safe_name(&b, a->name);
                buf_printf(&b, " %lu %lu %llu %.3f", r.fetched, r.deleted, r.bytes, r.seconds);
                pfd_line(&ui, &b);
            }
        }
        buf_free(&b);
    }
    free(todo);
    config_free(cfg);
    return status;
}

/*
 * tern send: a sendmail-compatible front end. Parses the options, reads the message, hands it
 * to the outgoing path (tern/compose.h) for its envelope and header, queues it durably in
 * Outbox and (unless -q) tries to deliver it at once.
 */
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
#include "tern/compose.h"
#include "tern/crypt.h"
#include "tern/flush.h"
#include "tern/fsutil.h"
#include "tern/log.h"
#include "tern/queue.h"
#include "tern/sendmail_args.h"

/* Read the message: everything, or (sendmail without -i) up to a line with a single dot. */
static int read_message(int fd, bool dot_ends, struct buf *out)
{
    if (fs_read_fd(fd, out) < 0)
        return -1;
    if (dot_ends) {
        const char *p = out->ptr;
        size_t n = out->len;

        for (size_t i = 0; i < n;) {
            const char *nl = memchr(p + i, '\n', n - i);
            size_t end = nl ? (size_t)(nl - p) : n;
            size_t l = end - i;

            if ((l == 1 && p[i] == '.') || (l == 2 && p[i] == '.' && p[i + 1] == '\r')) {
                buf_truncate(out, i);
                break;
            }
            i = end + 1;
        }
    }
    buf_cstr(out);
    return 0;
}

struct send_report {
    const char *progname;
    int status;        /* 0 sent, 1 deferred, 2 failed, -1 untried */
};

static void send_event(const struct queue_event *ev, void *arg)
{
    struct send_report *r = arg;

    switch (ev->kind) {
    case QEV_SENT:
        if (r->status < 0)
            r->status = 0;
        if (log_get_level() >= LOG_TRACE)
            log_info("sent: %s", ev->text ? ev->text : "");
        break;
    case QEV_DEFERRED:
        r->status = 1;
        fprintf(stderr, "%s: queued; delivery deferred: %s\n", r->progname, ev->text);
        if (ev->ent && ev->ent->next > 0) {
            char when[32];
            struct tm tm;

            localtime_r(&ev->ent->next, &tm);
            strftime(when, sizeof when, "%Y-%m-%d %H:%M:%S", &tm);
            fprintf(stderr, "%s: next attempt at %s (tern flush)\n", r->progname, when);
        }
        break;
    case QEV_FAILED:
        r->status = 2;
        fprintf(stderr, "%s: delivery failed, kept in the queue (tern queue): %s\n",
                r->progname, ev->text);
        break;
    case QEV_REFUSED:
        fprintf(stderr, "%s: recipient <%s> refused: %s\n", r->progname, ev->addr, ev->text);
        break;
    case QEV_HELD:
        r->status = 2;
        fprintf(stderr, "%s: queued but held until the account's settings change (tern queue, "
                "tern flush --retry-held): %s\n", r->progname, ev->text);
        break;
    default:
        break;
    }
}

int cmd_send(int argc, char **argv, const struct globals *g)
{
    struct sendmail_args sa;
    const char *from_opt, *acct_opt;
    bool extract, dot_ends, queue_only;
    struct globals gl = *g;
    char argerr[256];
    struct buf msg = BUF_INIT, full = BUF_INIT;
    struct config *cfg = NULL;
    struct queue *q = NULL;
    struct queue_entry ent, dsn;
    struct err e;
    int rc;

    memset(&ent, 0, sizeof ent);
    memset(&dsn, 0, sizeof dsn);
    g = &gl;     /* g->progname: "tern send", or "sendmail" when called so */
    if (sendmail_args_parse(argc, argv, &sa, argerr, sizeof argerr) < 0)
        return cmd_bad_usage(g, "%s", argerr);
    if (sa.help) {
        cmd_usage(stdout, g, true);
        return EX_OK;
    }
    if (sa.config)
        gl.config_path = sa.config;
    if (sa.verbose) {
        gl.verbose += sa.verbose;
        log_set_level(LOG_TRACE);
    }
    from_opt = sa.from;
    acct_opt = sa.account;
    extract = sa.extract;
    dot_ends = sa.dot_ends;
    queue_only = sa.queue_only;
    if (!extract && sa.nrcpts == 0)
        return cmd_bad_usage(g, "no recipients (give them or use -t)");
    /* -N, -R, -V: this message's DSN parameters, kept in its queue state */
    if (queue_entry_set_dsn(&dsn, sa.notify, sa.ret, sa.envid, &e) < 0)
        return cmd_bad_usage(g, "%s", e.msg);
    rc = cmd_load_config(g, &cfg);
    if (rc != 0)
        return rc;

    if (read_message(STDIN_FILENO, dot_ends, &msg) < 0) {
        fprintf(stderr, "%s: reading the message: %s\n", g->progname, strerror(errno));
        rc = EX_IOERR;
        goto out;
    }
    {
        struct compose_raw r = { from_opt, acct_opt, sa.fullname, extract, sa.rcpts,
                                 sa.nrcpts };

        if (compose_raw(cfg, &r, msg.ptr, msg.len, &ent, &full, &e) < 0) {
            fprintf(stderr, "%s: %s\n", g->progname, e.msg);
            rc = cmd_exit_code(e.cls);
            goto out;
        }
    }
    ent.dsn_notify = dsn.dsn_notify;
    ent.dsn_ret = dsn.dsn_ret;
    ent.dsn_envid = dsn.dsn_envid;
    memset(&dsn, 0, sizeof dsn);
    /* --sign/--encrypt and the account's crypt_* defaults (crypt.h) */
    if (crypt_protect_account(&full, config_account(cfg, ent.account), cfg->mail_root,
                              sa.crypt_on, sa.crypt_off, ent.rcpts, ent.nrcpts, &e) < 0) {
        fprintf(stderr, "%s: the message was NOT queued: %s\n", g->progname, e.msg);
        rc = cmd_exit_code(e.cls);
        goto out;
    }
    if (queue_open_cfg(cfg, NULL, &q, &e) < 0 || queue_add(q, full.ptr, full.len, &ent, &e) < 0) {
        fprintf(stderr, "%s: the message was NOT queued: %s\n", g->progname, e.msg);
        rc = cmd_exit_code(e.cls);
        goto out;
    }
    if (log_get_level() >= LOG_TRACE)   /* sendmail is silent on success */
        log_info("queued %s for %zu recipient%s", ent.id, ent.nrcpts, ent.nrcpts == 1 ? "" : "s");
    rc = EX_OK;
    if (!queue_only) {
        struct queue_flush_opts fo = { 0 };
        struct queue_flush_stats st;
        struct send_report rep = { g->progname, -1 };

        fo.only_id = ent.id;
        /* Another send may be delivering its own message: wait for the lock (each holder
         * needs one SMTP session, so a few concurrent sends wait seconds on a busy machine;
         * after a minute the message stays queued for the next flush). */
        for (int tries = 0; tries < 300 && queue_lock(q, &e) < 0 && e.cls == ERR_LOCKED; tries++)
            nanosleep(&(struct timespec){ 0, 200 * 1000 * 1000 }, NULL);
        if (queue_flush(q, cfg, &fo, send_event, &rep, &st, &e) < 0) {
            if (e.cls == ERR_LOCKED)
                log_info("queued; another flush is running (tern flush sends it later)");
            else
                fprintf(stderr, "%s: queued; delivery not tried: %s\n", g->progname, e.msg);
        }
    }
out:
    queue_close(q);
    queue_entry_free(&ent);
    queue_entry_free(&dsn);
    buf_free(&msg);
    buf_free(&full);
    config_free(cfg);
    return rc;
}

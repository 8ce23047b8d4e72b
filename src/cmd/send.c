/*
 * tern send: a sendmail-compatible front end. Reads a message, completes its header, queues it
 * durably in Outbox and (unless -q) tries to deliver it at once.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>

#include "tern/buf.h"
#include "tern/cmd.h"
#include "tern/crypt.h"
#include "tern/fsutil.h"
#include "tern/header.h"
#include "tern/log.h"
#include "tern/queue.h"
#include "tern/sendmail_args.h"
#include "tern/smtp.h"
#include "tern/str.h"
#include "tern/xalloc.h"

struct addrs {
    char **v;
    size_t n;
};

static void addrs_free(struct addrs *a)
{
    for (size_t i = 0; i < a->n; i++)
        free(a->v[i]);
    free(a->v);
    a->v = NULL;
    a->n = 0;
}

static void addrs_push(struct addrs *a, const char *s)
{
    for (size_t i = 0; i < a->n; i++)
        if (str_casecmp(a->v[i], s) == 0)
            return;
    a->v = xreallocarray(a->v, a->n + 1, sizeof *a->v);
    a->v[a->n++] = xstrdup(s);
}

/* Add the addresses of a list, expanding aliases (which may nest, up to a depth). */
static void add_list(const struct config *cfg, struct addrs *out, const char *v, size_t len,
                     int depth)
{
    struct addr *list;
    size_t n;

    addr_parse_list(v, len, &list, &n);
    for (size_t i = 0; i < n; i++) {
        const char *mb = list[i].mailbox;
        const struct alias *al;

        if (mb == NULL || *mb == '\0')
            continue;
        al = strchr(mb, '@') == NULL && depth < 8 ? config_alias(cfg, mb) : NULL;
        if (al != NULL) {
            for (size_t j = 0; j < al->naddrs; j++)
                add_list(cfg, out, al->addrs[j], strlen(al->addrs[j]), depth + 1);
        } else {
            addrs_push(out, mb);
        }
    }
    addr_list_free(list, n);
}

static const struct account *account_by_addr(const struct config *cfg, const char *addr)
{
    for (size_t i = 0; addr && i < cfg->naccounts; i++) {
        const struct account *a = &cfg->accounts[i];
        char *mb;
        bool same;

        if (a->from == NULL)
            continue;
        mb = addr_first_mailbox(a->from, strlen(a->from));
        same = mb && str_casecmp(mb, addr) == 0;
        free(mb);
        if (same)
            return a;
    }
    return NULL;
}

/* RFC 5322 date in English whatever the locale. */
static void add_date(struct buf *b, const char *nl)
{
    static const char *const days[] = { "Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat" };
    static const char *const mons[] = { "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug",
                                        "Sep", "Oct", "Nov", "Dec" };
    time_t now = time(NULL);
    struct tm tm;
    long off;

    localtime_r(&now, &tm);
    off = tm.tm_gmtoff / 60;
    buf_printf(b, "Date: %s, %d %s %d %02d:%02d:%02d %c%02ld%02ld%s", days[tm.tm_wday],
               tm.tm_mday, mons[tm.tm_mon], tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec,
               off < 0 ? '-' : '+', labs(off) / 60, labs(off) % 60, nl);
}

static void add_msgid(struct buf *b, const char *sender, const char *nl)
{
    unsigned char rnd[8] = { 0 };
    const char *at = sender ? strrchr(sender, '@') : NULL;
    const char *dom = at && at[1] && !smtp_addr_bad(at + 1) ? at + 1 : "localhost";
    int fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);

    if (fd >= 0) {
        if (read(fd, rnd, sizeof rnd) < 0)
            memset(rnd, 0, sizeof rnd);
        close(fd);
    }
    buf_printf(b, "Message-ID: <%lld.%ld.", (long long)time(NULL), (long)getpid());
    for (size_t i = 0; i < sizeof rnd; i++)
        buf_printf(b, "%02x", rnd[i]);
    buf_printf(b, "@%s>%s", dom, nl);
}

/* "From: NAME <sender>" for -F NAME, the name quoted when it needs it (RFC 5322). */
static void add_from_name(struct buf *b, const char *name, const char *sender, const char *nl)
{
    bool quote = strpbrk(name, "()<>[]:;@\\,.\"") != NULL;

    buf_adds(b, "From: ");
    if (quote) {
        buf_addc(b, '"');
        for (const char *p = name; *p; p++) {
            if (*p == '"' || *p == '\\')
                buf_addc(b, '\\');
            if (*p != '\r' && *p != '\n')
                buf_addc(b, *p);
        }
        buf_addc(b, '"');
    } else {
        for (const char *p = name; *p; p++)
            if (*p != '\r' && *p != '\n')
                buf_addc(b, *p);
    }
    buf_printf(b, " <%s>%s", sender, nl);
}

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
    struct addrs rcpts = { 0 };
    struct buf msg = BUF_INIT, full = BUF_INIT;
    struct config *cfg = NULL;
    const struct account *a = NULL;
    struct queue *q = NULL;
    struct queue_entry ent;
    char *hdr_from = NULL, *sender = NULL;
    const char *nl;
    size_t hlen;
    struct err e;
    int rc;

    memset(&ent, 0, sizeof ent);
    g = &gl;     /* g->progname: "tern send", or "sendmail" when called so */
    if (sendmail_args_parse(argc, argv, &sa, argerr, sizeof argerr) < 0) {
        fprintf(stderr, "%s: %s\n", g->progname, argerr);
        cmd_usage(stderr, g, false);
        return TERN_EX_USAGE;
    }
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
    if (!extract && sa.nrcpts == 0) {
        fprintf(stderr, "%s: no recipients (give them or use -t)\n", g->progname);
        cmd_usage(stderr, g, false);
        return TERN_EX_USAGE;
    }
    rc = cmd_load_config(g, &cfg);
    if (rc != 0)
        return rc;

    if (read_message(STDIN_FILENO, dot_ends, &msg) < 0) {
        fprintf(stderr, "%s: reading the message: %s\n", g->progname, strerror(errno));
        rc = EX_IOERR;
        goto out;
    }
    hlen = hdr_block_len(msg.ptr, msg.len);
    nl = (hlen > 0 && memchr(msg.ptr, '\n', hlen) && ((const char *)memchr(msg.ptr, '\n', hlen) >
          msg.ptr) && ((const char *)memchr(msg.ptr, '\n', hlen))[-1] == '\r') ? "\r\n" : "\n";
    {
        struct hdr_field f;

        /* cron writes "From: root (Cron Daemon)": a local name is no envelope sender */
        if (hdr_find(msg.ptr, hlen, "From", &f) == 1) {
            hdr_from = addr_first_mailbox(f.value, f.value_len);
            if (hdr_from && strchr(hdr_from, '@') == NULL) {
                free(hdr_from);
                hdr_from = NULL;
            }
        }
    }

    /* the account: -a, then the From address, then -f, then the default */
    if (acct_opt) {
        a = config_account(cfg, acct_opt);
        if (a == NULL) {
            fprintf(stderr, "%s: no account called '%s' in %s\n", g->progname, acct_opt,
                    cfg->path);
            rc = EX_CONFIG;
            goto out;
        }
    }
    if (a == NULL)
        a = account_by_addr(cfg, hdr_from);
    if (a == NULL)
        a = account_by_addr(cfg, from_opt);
    if (a == NULL)
        a = config_account(cfg, NULL);
    if (a == NULL) {
        fprintf(stderr, "%s: no account configured in %s (see mailrc(5))\n", g->progname,
                cfg->path);
        rc = EX_CONFIG;
        goto out;
    }

    /* the envelope sender: -f, then From, then the account's address */
    if (from_opt)
        sender = xstrdup(from_opt);
    else if (hdr_from)
        sender = xstrdup(hdr_from);
    else if (a->from)
        sender = addr_first_mailbox(a->from, strlen(a->from));
    if (sender == NULL) {
        fprintf(stderr, "%s: no sender: give -f, a From field or 'from' for account %s\n",
                g->progname, a->name);
        rc = EX_USAGE;
        goto out;
    }
    if (smtp_addr_bad(sender)) {
        fprintf(stderr, "%s: bad sender address '%s'\n", g->progname, sender);
        rc = EX_DATAERR;
        goto out;
    }

    /* the recipients: arguments, plus To/Cc/Bcc with -t, aliases expanded */
    for (size_t k = 0; k < sa.nrcpts; k++)
        add_list(cfg, &rcpts, sa.rcpts[k], strlen(sa.rcpts[k]), 0);
    if (extract) {
        size_t pos = 0;
        struct hdr_field f;

        while (hdr_next(msg.ptr, hlen, &pos, &f) == 1) {
            if ((f.name_len == 2 && str_ncasecmp(f.name, "To", 2) == 0) ||
                (f.name_len == 2 && str_ncasecmp(f.name, "Cc", 2) == 0) ||
                (f.name_len == 3 && str_ncasecmp(f.name, "Bcc", 3) == 0))
                add_list(cfg, &rcpts, f.value, f.value_len, 0);
        }
    }
    if (rcpts.n == 0) {
        fprintf(stderr, "%s: no recipient addresses found\n", g->progname);
        rc = EX_DATAERR;
        goto out;
    }
    for (size_t k = 0; k < rcpts.n; k++) {
        if (smtp_addr_bad(rcpts.v[k])) {
            fprintf(stderr, "%s: bad recipient address '%s'\n", g->progname, rcpts.v[k]);
            rc = EX_DATAERR;
            goto out;
        }
    }

    /* complete the header: From, Date, Message-ID, MIME-Version when missing */
    {
        struct hdr_field f;

        if (hdr_find(msg.ptr, hlen, "From", &f) == 1)
            ;
        else if (sa.fullname && *sa.fullname)
            add_from_name(&full, sa.fullname, sender, nl);
        else
            buf_printf(&full, "From: %s%s", a->from ? a->from : sender, nl);
        if (hdr_find(msg.ptr, hlen, "Date", &f) != 1)
            add_date(&full, nl);
        if (hdr_find(msg.ptr, hlen, "Message-ID", &f) != 1)
            add_msgid(&full, sender, nl);
        if (hdr_find(msg.ptr, hlen, "MIME-Version", &f) != 1)
            buf_printf(&full, "MIME-Version: 1.0%s", nl);
        /* a message with no header block at all keeps its bytes as the body */
        if (hlen == 0)
            buf_adds(&full, nl);
        buf_add(&full, msg.ptr, msg.len);
    }

    /* --sign/--encrypt and the account's crypt_* defaults (crypt.h) */
    if (crypt_protect_account(&full, a, cfg->mail_root, sa.crypt_on, sa.crypt_off, rcpts.v,
                              rcpts.n, &e) < 0) {
        fprintf(stderr, "%s: the message was NOT queued: %s\n", g->progname, e.msg);
        rc = cmd_exit_code(e.cls);
        goto out;
    }
    ent.account = xstrdup(a->name);
    ent.from = xstrdup(sender);
    for (size_t k = 0; k < rcpts.n; k++)
        queue_entry_add_rcpt(&ent, rcpts.v[k]);
    if (queue_open(cfg->mail_root, &q, &e) < 0 || queue_add(q, full.ptr, full.len, &ent, &e) < 0) {
        fprintf(stderr, "%s: the message was NOT queued: %s\n", g->progname, e.msg);
        rc = cmd_exit_code(e.cls);
        goto out;
    }
    if (log_get_level() >= LOG_TRACE)   /* sendmail is silent on success */
        log_info("queued %s for %zu recipient%s", ent.id, rcpts.n, rcpts.n == 1 ? "" : "s");
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
    addrs_free(&rcpts);
    buf_free(&msg);
    buf_free(&full);
    free(hdr_from);
    free(sender);
    config_free(cfg);
    return rc;
}

/*
 * The flusher: takes the due entries of the queue, delivers them over one SMTP session per
 * account, and records each outcome in the queue as soon as it is known.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "tern/buf.h"
#include "tern/flush.h"
#include "tern/fsutil.h"
#include "tern/header.h"
#include "tern/maildir.h"
#include "tern/oauth.h"
#include "tern/paths.h"
#include "tern/queue.h"
#include "tern/secret.h"
#include "tern/smtp.h"
#include "tern/str.h"
#include "tern/xalloc.h"

#define REPLY_MAX 1000


/*
 * The bytes to transmit: the stored message without Bcc (and Resent-Bcc) fields, which only
 * the envelope may carry.
 */
void flush_wire_form(const char *msg, size_t n, struct buf *out)
{
    size_t hlen = hdr_block_len(msg, n), pos = 0, copied = 0;
    struct hdr_field f;

    while (hdr_next(msg, hlen, &pos, &f) == 1) {
        size_t start, end;

        if (!((f.name_len == 3 && str_ncasecmp(f.name, "Bcc", 3) == 0) ||
              (f.name_len == 10 && str_ncasecmp(f.name, "Resent-Bcc", 10) == 0)))
            continue;
        start = (size_t)(f.name - msg);
        end = (size_t)(f.value + f.value_len - msg);
        if (end < start + f.name_len)
            end = start + f.name_len;
        while (end < hlen && msg[end] != '\n')
            end++;
        if (end < hlen)
            end++;
        if (start < copied)
            continue;
        buf_add(out, msg + copied, start - copied);
        copied = end;
    }
    buf_add(out, msg + copied, n - copied);
}

struct flusher {
    struct queue *q;
    const struct config *cfg;
    struct queue_policy pol;
    queue_event_fn fn;
    void *arg;
    struct queue_flush_stats *st;
    size_t done, total;
    time_t now;
    bool retry_held;
    bool (*reauth)(void *arg, const struct account *a);
    void *reauth_arg;
    volatile sig_atomic_t *stop; /* SIGTERM: finish the message in flight, then stop */
    volatile sig_atomic_t own_stop;
    /* Accepted messages whose Sent copies are written but not yet made durable by a
     * directory fsync: removed from the queue together, after that fsync. */
    char *sent_dir;
    struct queue_entry **pending;
    size_t npending;
    struct timespec pending_since;
};

#define FLUSH_BATCH 64
#define FLUSH_BATCH_MS 200

static void emit(struct flusher *f, enum queue_event_kind k, const struct queue_entry *ent,
                 const char *addr, const char *text)
{
    struct queue_event ev = { k, ent, addr, text, f->done, f->total };

    if (f->fn)
        f->fn(&ev, f->arg);
}

static void save_or_report(struct flusher *f, struct queue_entry *ent)
{
    struct err e;

    if (queue_save(f->q, ent, &e) < 0)
        emit(f, QEV_DEFERRED, ent, NULL, e.msg);
}

/*
 * What identifies how an account delivers: a held message is tried again once this changes
 * (the user fixed the password, the certificate pin, the port...). Hex of a SHA-256 over the
 * settings. No password goes into it, not even hashed: a password typed into the client
 * exists nowhere else, and a hash of it beside known settings would be an offline guessing
 * oracle. A password changed in the configuration file shows as the file's change.
 */
void flush_account_fingerprint(const struct config *cfg, const struct account *a,
                               char out[FLUSH_FP_LEN + 1])
{
    const char *v[] = {
        a ? a->smtp_host : NULL, a ? a->smtp_user : NULL, a ? a->password_command : NULL,
        a ? a->smtp_password_command : NULL, a ? a->tls_ca_file : NULL,
        a ? a->tls_fingerprint : NULL,
    };
    struct stat cst;
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned mdlen = 0;
    struct buf b = BUF_INIT;

    for (size_t i = 0; i < sizeof v / sizeof v[0]; i++)
        buf_printf(&b, "%s%c", v[i] ? v[i] : "(none)", 0);
    if (cfg && cfg->path && stat(cfg->path, &cst) == 0)
        buf_printf(&b, "%lld.%ld %lld%c", (long long)cst.st_mtim.tv_sec, cst.st_mtim.tv_nsec,
                   (long long)cst.st_size, 0);
    if (a) {
        buf_printf(&b, "%ld %d %d", a->smtp_port, (int)a->smtp_tls, (int)a->smtp_auth);
        buf_printf(&b, "%d%c%s%c%s%c", (int)a->oauth_provider, 0,
                   a->oauth_client_id ? a->oauth_client_id : "", 0,
                   a->oauth_token_command ? a->oauth_token_command : "", 0);
        if (oauth_configured(a)) {
            /* `tern auth` writes a new token: that is a change worth a retry too */
            char *tp = oauth_token_path(cfg, a);
            struct stat st;

            if (tp && stat(tp, &st) == 0)
                buf_printf(&b, "%lld.%ld", (long long)st.st_mtim.tv_sec, st.st_mtim.tv_nsec);
            free(tp);
        }
    }
    if (EVP_Digest(b.ptr, b.len, md, &mdlen, EVP_sha256(), NULL) != 1)
        mdlen = 0;
    buf_free(&b);
    for (unsigned i = 0; i < mdlen && 2 * i + 2 <= FLUSH_FP_LEN; i++)
        snprintf(out + 2 * i, 3, "%02x", md[i]);
    out[mdlen ? FLUSH_FP_LEN : 0] = '\0';
}

/* One message did not go: the retry policy (queue_note_error) decides what becomes of it. */
static void fail_class(struct flusher *f, const struct account *a, struct queue_entry *ent,
                       enum err_class cls, const char *why)
{
    char fp[FLUSH_FP_LEN + 1];
    enum queue_state to;

    flush_account_fingerprint(f->cfg, a, fp);
    to = queue_note_error(ent, &f->pol, f->now, cls, why, fp);
    save_or_report(f, ent);
    f->done++;
    switch (to) {
    case QUEUE_HELD:
        f->st->held++;
        emit(f, QEV_HELD, ent, NULL, ent->reply);
        break;
    case QUEUE_FAILED:
        f->st->failed++;
        emit(f, QEV_FAILED, ent, NULL, ent->reply);
        break;
    case QUEUE_QUEUED:
        f->st->deferred++;
        emit(f, QEV_DEFERRED, ent, NULL, why);
        break;
    }
}

/* A temporary failure of one message (the session may have gone with it). */
static void fail_temp(struct flusher *f, struct queue_entry *ent, const char *why)
{
    fail_class(f, NULL, ent, ERR_TEMP, why);
}

static void fail_perm(struct flusher *f, struct queue_entry *ent, const char *why)
{
    fail_class(f, NULL, ent, ERR_PERM, why);
}

/* Copy into the account's sent folder with flag S (the stored form, Bcc included). */
static int copy_to_sent(struct flusher *f, const struct account *a, const char *msg, size_t n,
                        bool batched, struct err *e)
{
    char *dir = paths_role_dir(f->cfg, NULL, a, ROLE_SENT);
    struct maildir_tmp *t;
    int rc = maildir_create(dir, e);

    if (rc == 0 && !batched) {
        rc = maildir_deliver(dir, msg, n, "S", NULL, e);
    } else if (rc == 0) {
        /* file fsynced and renamed now; the directory fsync comes with the batch */
        rc = maildir_tmp_open(dir, &t, e);
        if (rc == 0 && maildir_tmp_write(t, msg, n, e) < 0) {
            maildir_tmp_abort(t);
            rc = -1;
        } else if (rc == 0) {
            rc = maildir_tmp_commit(t, "S", NULL, e);
        }
        if (rc == 0 && f->sent_dir == NULL) {
            f->sent_dir = dir;
            dir = NULL;
        }
    }
    free(dir);
    return rc;
}

/*
 * Move the queued file itself into the sent folder (cur/, flag S): one rename instead of a
 * copy, an fsync and an unlink; the directory fsyncs come with the batch. -1 when it cannot
 * (another file system, ...): the caller copies instead.
 */
static int move_to_sent(struct flusher *f, const struct account *a, struct queue_entry *ent)
{
    char *dir = paths_role_dir(f->cfg, NULL, a, ROLE_SENT);
    struct buf dst = BUF_INIT;
    struct err e;
    int rc = -1;

    if (ent->path == NULL)
        goto out;
    if ((f->sent_dir == NULL || strcmp(f->sent_dir, dir) != 0) && maildir_create(dir, &e) < 0)
        goto out;
    if (f->sent_dir != NULL && strcmp(f->sent_dir, dir) != 0)
        goto out;   /* one sent folder per batch */
    buf_printf(&dst, "%s/cur/%s:2,S", dir, ent->id);
    if (queue_rename_msg(f->q, ent, dst.ptr) < 0)
        goto out;
    free(ent->path);
    ent->path = NULL;
    if (f->sent_dir == NULL) {
        f->sent_dir = dir;
        dir = NULL;
    }
    rc = 0;
out:
    buf_free(&dst);
    free(dir);
    return rc;
}

/*
 * Make the batch's acceptances (the journal) and Sent copies durable, then remove those
 * messages from the queue with one fsync per directory. A kill at any point resends nothing
 * (the journal's lines are written at once); a power cut before the end may resend the batch.
 */
static void flush_pending(struct flusher *f)
{
    struct err e;
    bool synced = true;

    if (f->npending == 0)
        goto out;
    if (queue_journal_sync(f->q, &e) < 0 ||
        (f->sent_dir && maildir_sync(f->sent_dir, &e) < 0))
        synced = false;
    for (size_t i = 0; i < f->npending; i++) {
        struct queue_entry *ent = f->pending[i];

        if (!synced) {
            emit(f, QEV_DEFERRED, ent, NULL, e.msg);
            continue;
        }
        if (queue_unlink_msg(f->q, ent, &e) < 0) {
            emit(f, QEV_DEFERRED, ent, NULL, e.msg);
            continue;
        }
        queue_drop_state(f->q, ent->id, &e);
    }
    if (synced) {
        if (queue_sync(f->q, &e) < 0)
            emit(f, QEV_DEFERRED, NULL, NULL, e.msg);
    }
out:
    f->npending = 0;
    free(f->sent_dir);
    f->sent_dir = NULL;
}

/* A reply or forward went out: each message it answers gets R or P (as mutt, dovecot and
 * mblaze do). Best effort: an original may have been moved or deleted since. */
static void mark_answered(const struct queue_entry *ent)
{
    char flag[2] = { ent->answers.flag, '\0' };
    struct err e;

    if (ent->answers.flag == '\0')
        return;
    for (size_t i = 0; i < ent->answers.n; i++) {
        const struct queue_answer *an = &ent->answers.msg[i];
        char *rel;

        if (an->dir == NULL || an->id == NULL)
            continue;
        rel = maildir_find(an->dir, an->id, strlen(an->id));
        if (rel != NULL)
            maildir_set_flags(an->dir, rel, flag, NULL, NULL, &e);
        free(rel);
    }
}

/* The server accepted the message for some recipients: record who, copy, remove or keep. */
static void delivered(struct flusher *f, const struct account *a, struct queue_entry *ent,
                      struct smtp_rcpt *r, const char *msg, size_t n, const char *final)
{
    char **left = NULL;
    size_t nleft = 0, nrefused_before = ent->nrefused;
    char why[REPLY_MAX];
    struct err e;
    bool batched;

    why[0] = '\0';
    if (!ent->sent_copied)
        mark_answered(ent);
    for (size_t i = 0; i < ent->nrcpts; i++) {
        if (r[i].code == 250 || r[i].code == 251)
            continue;
        if (r[i].code >= 500) {
            queue_entry_add_refusal(ent, ent->rcpts[i], r[i].reply);
            emit(f, QEV_REFUSED, ent, ent->rcpts[i], r[i].reply);
        } else {
            left = xreallocarray(left, nleft + 1, sizeof *left);
            left[nleft++] = xstrdup(ent->rcpts[i]);
            if (why[0] == '\0')
                snprintf(why, sizeof why, "<%s>: %s", ent->rcpts[i], r[i].reply);
        }
    }
    batched = nleft == 0 && ent->nrefused == nrefused_before;
    if (!ent->sent_copied && batched && move_to_sent(f, a, ent) == 0) {
        /* the queued file itself is now the Sent copy */
    } else if (!ent->sent_copied && copy_to_sent(f, a, msg, n, batched, &e) < 0) {
        /* Delivered but not recorded: keep it visible, never send it again. */
        str_list_free(left, nleft);
        left = NULL;
        nleft = 0;
        for (size_t i = 0; i < ent->nrcpts; i++)
            free(ent->rcpts[i]);
        ent->nrcpts = 0;
        snprintf(why, sizeof why, "delivered, but the copy to the sent folder failed: %s",
                 e.msg);
        fail_perm(f, ent, why);
        return;
    }
    ent->sent_copied = true;
    for (size_t i = 0; i < ent->nrcpts; i++)
        free(ent->rcpts[i]);
    free(ent->rcpts);
    ent->rcpts = left;
    ent->nrcpts = nleft;
    f->st->sent++;
    if (nleft > 0) {
        emit(f, QEV_SENT, ent, NULL, final);
        fail_temp(f, ent, why);
        return;
    }
    if (ent->nrefused > nrefused_before) {
        /* Keep the refused addresses as recipients so that --retry can try them again. */
        struct buf b = BUF_INIT;

        for (size_t i = nrefused_before; i < ent->nrefused; i++) {
            queue_entry_add_rcpt(ent, ent->refused[i].addr);
            buf_printf(&b, "%s<%s>: %s", i > nrefused_before ? "; " : "",
                       ent->refused[i].addr, ent->refused[i].reply);
        }
        emit(f, QEV_SENT, ent, NULL, final);
        fail_perm(f, ent, buf_cstr(&b));
        buf_free(&b);
        return;
    }
    f->pending = xreallocarray(f->pending, f->npending + 1, sizeof *f->pending);
    f->pending[f->npending++] = ent;
    f->done++;
    emit(f, QEV_SENT, ent, NULL, final);
    /* bounded in count and in time, so that a crash resends little */
    {
        struct timespec now;
        long ms;

        clock_gettime(CLOCK_MONOTONIC, &now);
        if (f->npending == 1)
            f->pending_since = now;
        ms = (long)(now.tv_sec - f->pending_since.tv_sec) * 1000 +
             (now.tv_nsec - f->pending_since.tv_nsec) / 1000000;
        if (f->npending >= FLUSH_BATCH || ms >= FLUSH_BATCH_MS)
            flush_pending(f);
    }
}

/* Recipients refused for good (5xx) leave the envelope for the report; true when some
 * recipient was refused only for now (4xx). */
static bool drop_refused(struct flusher *f, struct queue_entry *ent, struct smtp_rcpt *r)
{
    size_t keep = 0;
    bool temp_left = false;

    for (size_t i = 0; i < ent->nrcpts; i++) {
        if (r[i].code >= 500) {
            queue_entry_add_refusal(ent, ent->rcpts[i], r[i].reply);
            emit(f, QEV_REFUSED, ent, ent->rcpts[i], r[i].reply);
            free(ent->rcpts[i]);
        } else {
            temp_left = temp_left || (r[i].code >= 400 && r[i].code < 500);
            ent->rcpts[keep++] = ent->rcpts[i];
        }
    }
    ent->nrcpts = keep;
    return temp_left;
}

/* What the server's answer means for one message: delivered, kept for later, or failed. */
static void finish_one(struct flusher *f, const struct account *a, struct queue_entry *ent,
                       struct smtp_rcpt *r, const struct buf *msg, int rc, const struct err *e,
                       const char *final)
{
    bool temp_left = false;

    if (rc == 0) {
        delivered(f, a, ent, r, msg->ptr, msg->len, final);
        return;
    }
    for (size_t i = 0; i < ent->nrcpts; i++)
        temp_left = temp_left || (r[i].code >= 400 && r[i].code < 500);
    if (e->cls == ERR_PERM && !temp_left) {
        /* every recipient refused, or the message itself: all stay, for --retry */
        fail_class(f, a, ent, ERR_PERM, e->msg);
    } else if (e->cls == ERR_PERM || e->cls == ERR_TEMP) {
        /* some refused for good, some only for now: the latter are tried again */
        drop_refused(f, ent, r);
        fail_class(f, a, ent, ERR_TEMP, e->msg);
    } else {
        fail_class(f, a, ent, e->cls, e->msg);
    }
}

/* One message read and made ready for a batch. */
struct prepared {
    size_t idx;                  /* its place in the account's list */
    struct queue_entry *ent;
    struct buf msg, wire;
    struct smtp_rcpt *r;
    struct flusher *f;
};

/*
 * The server just accepted p's message: write that down before anything else (the journal,
 * else the state file without the accepted recipients). When neither can be written the
 * message may go twice after a crash, so nothing more is sent in this run.
 */
static void on_accepted(const struct smtp_msg *m, void *arg)
{
    struct prepared *p = arg;
    struct queue_entry tmp = *p->ent;
    const char **ok = xcalloc(m->nrcpts + 1, sizeof *ok);
    char **left = xcalloc(m->nrcpts + 1, sizeof *left);
    size_t nok = 0, nleft = 0;
    struct err e;

    for (size_t i = 0; i < m->nrcpts; i++) {
        if (m->rcpts[i].code == 250 || m->rcpts[i].code == 251)
            ok[nok++] = p->ent->rcpts[i];
        else
            left[nleft++] = p->ent->rcpts[i];
    }
    if (queue_journal_note(p->f->q, p->ent->id, ok, nok, &e) < 0) {
        tmp.rcpts = left;
        tmp.nrcpts = nleft;
        if (queue_save(p->f->q, &tmp, &e) < 0)
            *p->f->stop = 1;
    }
    free(ok);
    free(left);
}

#define SEND_BATCH 32

/*
 * Send ents[*i...] (up to SEND_BATCH) over s in one pipelined batch and record each outcome.
 * *i moves past what was handled; messages the lost session never sent are left for a new one.
 */
static void send_batch(struct flusher *f, const struct account *a, struct smtp *s,
                       struct queue_entry **ents, size_t n, size_t *i)
{
    struct prepared pp[SEND_BATCH];
    struct smtp_msg mm[SEND_BATCH];
    struct smtp_outcome *oo = xcalloc(SEND_BATCH, sizeof *oo);
    size_t k = 0, resume = n;

    while (k < SEND_BATCH && *i < n) {
        struct prepared *p = &pp[k];
        struct queue_entry *ent = ents[*i];
        struct err e;

        memset(p, 0, sizeof *p);
        p->idx = (*i)++;
        p->ent = ent;
        if (fs_read_file(ent->path, &p->msg, &e) < 0 &&
            (queue_refind(f->q, ent) < 0 || fs_read_file(ent->path, &p->msg, &e) < 0)) {
            f->done++;
            f->st->skipped++;
            emit(f, QEV_DEFERRED, ent, NULL, e.msg);
            buf_free(&p->msg);
            continue;
        }
        if (ent->nrcpts == 0) {
            fail_perm(f, ent, "no recipients left");
            buf_free(&p->msg);
            continue;
        }
        flush_wire_form(p->msg.ptr, p->msg.len, &p->wire);
        p->r = xcalloc(ent->nrcpts, sizeof *p->r);
        for (size_t j = 0; j < ent->nrcpts; j++)
            p->r[j].addr = ent->rcpts[j];
        mm[k].from = ent->from;
        mm[k].rcpts = p->r;
        mm[k].nrcpts = ent->nrcpts;
        mm[k].data = p->wire.ptr;
        mm[k].len = p->wire.len;
        mm[k].envid = ent->dsn_envid ? ent->dsn_envid : ent->id;
        mm[k].dsn_envid = ent->dsn_envid != NULL;
        mm[k].dsn_notify = ent->dsn_notify;
        mm[k].dsn_ret = ent->dsn_ret;
        mm[k].accepted = on_accepted;
        mm[k].arg = p;
        p->f = f;
        k++;
    }
    if (k > 0)
        smtp_send_batch(s, mm, k, oo);
    for (size_t j = 0; j < k; j++) {
        if (!oo[j].tried) {
            if (resume == n)
                resume = pp[j].idx;
        } else {
            finish_one(f, a, pp[j].ent, pp[j].r, &pp[j].msg, oo[j].rc, &oo[j].err,
                       oo[j].final);
        }
        free(pp[j].r);
        buf_free(&pp[j].msg);
        buf_free(&pp[j].wire);
    }
    if (resume < n)
        *i = resume;
    free(oo);
}

static bool account_wanted(const struct queue_flush_opts *o, const char *name)
{
    if (o->accounts == NULL || o->naccounts == 0)
        return true;
    for (size_t i = 0; i < o->naccounts; i++)
        if (str_casecmp(o->accounts[i], name) == 0)
            return true;
    return false;
}

/* Deliver the due entries of one account over one session, reconnecting when it is lost. */
static void flush_account(struct flusher *f, const char *name, struct queue_entry **ents,
                          size_t n)
{
    const struct account *a = config_account(f->cfg, name);
    struct smtp_opts so = { 0 };
    struct smtp *s = NULL;
    char *pw = NULL, *tok = NULL;
    struct err e;
    size_t i = 0;
    int reconnects = 0, reauths = 0;
    bool refreshed = false;

    if (a == NULL || a->smtp_host == NULL) {
        char why[300];

        snprintf(why, sizeof why, a ? "account %s has no smtp_host" :
                 "no account called %s in the configuration", name);
        for (; i < n; i++)
            fail_class(f, a, ents[i], ERR_CONFIG, why);
        return;
    }
    if (a->smtp_user != NULL && oauth_configured(a) && a->smtp_auth != AUTH_PLAIN &&
        a->smtp_auth != AUTH_LOGIN) {
        tok = oauth_token(f->cfg, a, false, &e);
        if (tok == NULL) {
            for (; i < n; i++)
                fail_class(f, a, ents[i], e.cls, e.msg);
            return;
        }
    }
    if (a->smtp_user != NULL && (tok == NULL || a->smtp_password || a->smtp_password_command ||
                                 a->password || a->password_command)) {
        pw = secret_get(a, SECRET_SMTP, &e);
        if (pw == NULL) {
            for (; i < n; i++)
                fail_class(f, a, ents[i], e.cls == ERR_SYS ? ERR_CONFIG : e.cls, e.msg);
            secret_free(tok);
            return;
        }
    }
    so.host = a->smtp_host;
    so.port = (int)a->smtp_port;
    so.tls = a->smtp_tls;
    so.ca_file = a->tls_ca_file;
    so.fingerprint = a->tls_fingerprint;
    so.timeout = (int)a->timeout;
    so.user = a->smtp_user;
    so.password = pw;
    so.auth = a->smtp_auth;
    so.token = tok;
    so.dsn_notify = a->dsn_notify;
    so.dsn_ret = a->dsn_return;
    while (i < n && !*f->stop) {
        if (s == NULL) {
            emit(f, QEV_CONNECT, ents[i], NULL, name);
            if (smtp_open(&so, &s, &e) < 0 && e.cls == ERR_AUTH && tok && !refreshed) {
                /* The token was refused: a fresh one, once. */
                refreshed = true;
                secret_free(tok);
                so.token = tok = oauth_token(f->cfg, a, true, &e);
                if (tok != NULL)
                    continue;
            }
            if (s == NULL && e.cls == ERR_AUTH && pw && secret_typed(a, SECRET_SMTP)) {
                /* A password the user typed, refused: never kept; perhaps typed again. */
                emit(f, QEV_AUTH, NULL, a->name, e.msg);
                if (f->reauth && reauths++ < FLUSH_REAUTH_MAX && f->reauth(f->reauth_arg, a)) {
                    struct err pe;
                    char *again = secret_get(a, SECRET_SMTP, &pe);

                    if (again != NULL) {
                        secret_free(pw);
                        so.password = pw = again;
                        continue;
                    }
                }
            }
            if (s == NULL) {
                /* No message of this account can go now. A server refusing the session
                 * for good (5xx greeting, EHLO) is about the account, not a message. */
                for (; i < n; i++)
                    fail_class(f, a, ents[i], e.cls == ERR_PERM ? ERR_CONFIG : e.cls, e.msg);
                break;
            }
            smtp_set_stop(s, f->stop);
        }
        send_batch(f, a, s, ents, n, &i);
        if (!smtp_alive(s) && !*f->stop) {
            smtp_close(s);
            s = NULL;
            if (++reconnects > 3) {
                for (; i < n; i++)
                    fail_temp(f, ents[i], "connection lost repeatedly; later");
                break;
            }
        }
    }
    flush_pending(f);
    smtp_close(s);
    secret_free(pw);
    secret_free(tok);
}

/*
 * A message the journal says every recipient got, found still queued (a crash, a full disk):
 * into the sent folder unless a copy is there, then out of the queue. Never sent again.
 */
static int settle_one(struct flusher *f, struct queue_entry *ent, struct err *e)
{
    const struct account *a = config_account(f->cfg, ent->account);
    char *dir = paths_role_dir(f->cfg, NULL, a, ROLE_SENT);
    struct buf dst = BUF_INIT, msg = BUF_INIT;
    int rc = 0;

    if (ent->path && !ent->sent_copied) {
        buf_printf(&dst, "%s/cur/%s:2,S", dir, ent->id);
        if (maildir_create(dir, e) < 0) {
            rc = -1;
        } else if (queue_rename_msg(f->q, ent, dst.ptr) == 0) {
            rc = maildir_sync(dir, e);
        } else if (fs_read_file(ent->path, &msg, e) < 0 ||
                   maildir_deliver(dir, msg.ptr, msg.len, "S", NULL, e) < 0) {
            rc = -1;
        } else {
            rc = queue_unlink_msg(f->q, ent, e);
        }
    } else if (ent->path) {
        rc = queue_unlink_msg(f->q, ent, e);
    }
    if (rc == 0) {
        mark_answered(ent);
        rc = queue_drop_state(f->q, ent->id, e);
    }
    buf_free(&dst);
    buf_free(&msg);
    free(dir);
    return rc;
}

/* Apply the journal's records to the entries: true when ent was found in some record. */
static bool apply_journal(struct queue_entry *ent, const struct queue_accepted *acc, size_t n)
{
    bool hit = false;

    for (size_t k = 0; k < n; k++)
        if (strcmp(acc[k].id, ent->id) == 0 && queue_entry_drop_rcpts(ent, &acc[k]))
            hit = true;
    return hit;
}

/*
 * Make every acceptance in the journal durable in the queue itself (states without those
 * recipients, delivered messages out of Outbox), then empty the journal. Whatever cannot be
 * done now stays in the journal, which keeps those recipients from being sent to again.
 */
static void journal_settle(struct flusher *f)
{
    struct queue_accepted *acc = NULL;
    struct queue_entry *ents = NULL;
    size_t nacc = 0, n = 0;
    bool ok = true;
    struct err e;

    queue_journal_sync(f->q, &e);
    if (queue_journal_read(f->q, &acc, &nacc, &e) < 0 || nacc == 0)
        goto out;
    if (queue_list(f->q, &ents, &n, NULL, &e) < 0) {
        ok = false;
        goto out;
    }
    for (size_t i = 0; i < n; i++) {
        if (!apply_journal(&ents[i], acc, nacc))
            continue;
        if (ents[i].nrcpts == 0 ? settle_one(f, &ents[i], &e) < 0 :
            queue_save(f->q, &ents[i], &e) < 0)
            ok = false;
    }
    if (queue_sync(f->q, &e) < 0)
        ok = false;
    if (ok)
        queue_journal_reset(f->q, &e);
out:
    queue_list_free(ents, n);
    queue_accepted_free(acc, nacc);
}

int queue_flush(struct queue *q, const struct config *cfg, const struct queue_flush_opts *o,
                queue_event_fn fn, void *arg, struct queue_flush_stats *st, struct err *e)
{
    struct flusher f = { 0 };
    struct queue_entry *ents;
    struct queue_entry **due;
    size_t n, ndue = 0, nacc = 0;
    char **names = NULL;
    size_t nnames = 0;
    struct queue_accepted *acc = NULL;

    memset(st, 0, sizeof *st);
    if (queue_lock(q, e) < 0)
        return -1;
    /* No record of acceptances, no sending: that is what keeps mail from going twice. */
    if (queue_journal_open(q, e) < 0)
        return err_prefix(e, "cannot record deliveries, nothing sent");
    f.q = q;
    f.cfg = cfg;
    journal_settle(&f);
    if (queue_journal_read(q, &acc, &nacc, e) < 0 || queue_list(q, &ents, &n, NULL, e) < 0) {
        queue_accepted_free(acc, nacc);
        return -1;
    }
    f.cfg = cfg;
    f.pol.retry_min = cfg->queue_retry_min;
    f.pol.retry_max = cfg->queue_retry_max;
    f.pol.lifetime = cfg->queue_lifetime;
    f.fn = fn;
    f.arg = arg;
    f.st = st;
    f.now = o->now ? o->now : time(NULL);
    f.retry_held = o->retry_held;
    f.reauth = o->reauth;
    f.reauth_arg = o->reauth_arg;
    f.stop = o->stop ? o->stop : &f.own_stop;
    due = xcalloc(n + 1, sizeof *due);
    for (size_t i = 0; i < n; i++) {
        char fp[FLUSH_FP_LEN + 1];

        if (o->only_id && strcmp(ents[i].id, o->only_id) != 0)
            continue;
        /* what the journal could not yet settle: those recipients have it already */
        if (apply_journal(&ents[i], acc, nacc) && ents[i].nrcpts == 0)
            continue;
        if (!account_wanted(o, ents[i].account))
            continue;
        flush_account_fingerprint(cfg, config_account(cfg, ents[i].account), fp);
        if (queue_held_due(&ents[i], fp, o->retry_held)) {
            queue_release(&ents[i], f.now);   /* settings changed, or asked: try again */
        } else if (!queue_due(&ents[i], f.now, o->all || o->only_id)) {
            if (ents[i].state == QUEUE_HELD)
                st->held_waiting++;
            if (ents[i].state == QUEUE_QUEUED) {
                st->waiting++;
                if (st->next_due == 0 || ents[i].next < st->next_due)
                    st->next_due = ents[i].next;
            }
            continue;
        }
        due[ndue++] = &ents[i];
        bool known = false;
        for (size_t j = 0; j < nnames; j++)
            if (strcmp(names[j], ents[i].account) == 0)
                known = true;
        if (!known) {
            names = xreallocarray(names, nnames + 1, sizeof *names);
            names[nnames++] = ents[i].account;
        }
    }
    f.total = ndue;
    emit(&f, QEV_START, NULL, NULL, NULL);
    for (size_t k = 0; k < nnames; k++) {
        struct queue_entry **mine = xcalloc(ndue + 1, sizeof *mine);
        size_t nm = 0;

        for (size_t i = 0; i < ndue; i++)
            if (strcmp(due[i]->account, names[k]) == 0)
                mine[nm++] = due[i];
        flush_account(&f, names[k], mine, nm);
        free(mine);
    }
    flush_pending(&f);
    journal_settle(&f);
    free(f.pending);
    free(names);
    free(due);
    queue_list_free(ents, n);
    queue_accepted_free(acc, nacc);
    return 0;
}

/*
 * The outgoing queue: Outbox messages with durable envelope/state files, the retry policy,
 * and the flusher that delivers due messages over one SMTP session per account.
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tern/buf.h"
#include "tern/fsutil.h"
#include "tern/header.h"
#include "tern/maildir.h"
#include "tern/oauth.h"
#include "tern/queue.h"
#include "tern/secret.h"
#include "tern/smtp.h"
#include "tern/str.h"
#include "tern/xalloc.h"

#define STATE_SUFFIX ".state"
#define REPLY_MAX 1000

struct queue {
    char *root;
    char *outbox;
    char *statedir;
    int lockfd;
};

/* ---- entries ---- */

void queue_entry_free(struct queue_entry *q)
{
    if (q == NULL)
        return;
    free(q->id);
    free(q->account);
    free(q->from);
    for (size_t i = 0; i < q->nrcpts; i++)
        free(q->rcpts[i]);
    free(q->rcpts);
    for (size_t i = 0; i < q->nrefused; i++) {
        free(q->refused[i].addr);
        free(q->refused[i].reply);
    }
    free(q->refused);
    free(q->reply);
    free(q->path);
    memset(q, 0, sizeof *q);
}

void queue_entry_add_rcpt(struct queue_entry *q, const char *addr)
{
    q->rcpts = xreallocarray(q->rcpts, q->nrcpts + 1, sizeof *q->rcpts);
    q->rcpts[q->nrcpts++] = xstrdup(addr);
}

/* One line, no control bytes, bounded: what a state file can hold. */
static char *clean_line(const char *s)
{
    struct buf b = BUF_INIT;

    for (; *s && b.len < REPLY_MAX; s++) {
        unsigned char c = (unsigned char)*s;

        if (c == '\n' || c == '\r' || c == '\t')
            buf_addc(&b, ' ');
        else if (c < 0x20 || c == 0x7f)
            buf_addc(&b, '?');
        else
            buf_addc(&b, (char)c);
    }
    return buf_detach(&b);
}

void queue_entry_set_reply(struct queue_entry *q, const char *reply)
{
    free(q->reply);
    q->reply = reply ? clean_line(reply) : NULL;
}

static void add_refusal(struct queue_entry *q, const char *addr, const char *reply)
{
    q->refused = xreallocarray(q->refused, q->nrefused + 1, sizeof *q->refused);
    q->refused[q->nrefused].addr = xstrdup(addr);
    q->refused[q->nrefused].reply = clean_line(reply);
    q->nrefused++;
}

/* ---- state files ---- */

char *queue_state_format(const struct queue_entry *q)
{
    struct buf b = BUF_INIT;

    buf_adds(&b, "tern-queue 1\n");
    buf_printf(&b, "id %s\n", q->id ? q->id : "");
    buf_printf(&b, "account %s\n", q->account ? q->account : "");
    buf_printf(&b, "from %s\n", q->from ? q->from : "");
    for (size_t i = 0; i < q->nrcpts; i++)
        buf_printf(&b, "rcpt %s\n", q->rcpts[i]);
    for (size_t i = 0; i < q->nrefused; i++)
        buf_printf(&b, "refused %s %s\n", q->refused[i].addr, q->refused[i].reply);
    buf_printf(&b, "state %s\n", q->state == QUEUE_FAILED ? "failed" : "queued");
    buf_printf(&b, "attempts %d\n", q->attempts);
    buf_printf(&b, "created %lld\n", (long long)q->created);
    buf_printf(&b, "next %lld\n", (long long)q->next);
    buf_printf(&b, "sent-copied %d\n", q->sent_copied ? 1 : 0);
    if (q->reply)
        buf_printf(&b, "reply %s\n", q->reply);
    return buf_detach(&b);
}

static int parse_num(const char *v, long long min, long long max, long long *out)
{
    char *end;
    long long x;

    if (*v == '\0')
        return -1;
    errno = 0;
    x = strtoll(v, &end, 10);
    if (errno || *end != '\0' || x < min || x > max)
        return -1;
    *out = x;
    return 0;
}

int queue_state_parse(const char *text, size_t n, struct queue_entry *q, struct err *e)
{
    const char *p = text, *end = text + n;
    unsigned seen = 0;
    int lineno = 0;
    long long num;

    memset(q, 0, sizeof *q);
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        size_t len = nl ? (size_t)(nl - p) : (size_t)(end - p);
        char *line = xmemdup0(p, len), *val;

        p += len + (nl ? 1 : 0);
        lineno++;
        for (size_t i = 0; i < len; i++) {
            unsigned char c = (unsigned char)line[i];

            if (c < 0x20 || c == 0x7f) {
                free(line);
                goto bad;
            }
        }
        val = strchr(line, ' ');
        if (val)
            *val++ = '\0';
        else
            val = line + len;
        if (lineno == 1) {
            if (strcmp(line, "tern-queue") != 0 || strcmp(val, "1") != 0) {
                free(line);
                queue_entry_free(q);
                return err_set(e, ERR_PARSE, "not a tern queue state (version 1)");
            }
        } else if (strcmp(line, "id") == 0 && !(seen & 1)) {
            q->id = xstrdup(val), seen |= 1;
        } else if (strcmp(line, "account") == 0 && !(seen & 2)) {
            q->account = xstrdup(val), seen |= 2;
        } else if (strcmp(line, "from") == 0 && !(seen & 4)) {
            q->from = xstrdup(val), seen |= 4;
        } else if (strcmp(line, "rcpt") == 0 && *val) {
            queue_entry_add_rcpt(q, val);
        } else if (strcmp(line, "refused") == 0 && *val) {
            char *sp = strchr(val, ' ');

            if (sp)
                *sp++ = '\0';
            add_refusal(q, val, sp ? sp : "");
        } else if (strcmp(line, "state") == 0 && !(seen & 8)) {
            if (strcmp(val, "queued") == 0)
                q->state = QUEUE_QUEUED;
            else if (strcmp(val, "failed") == 0)
                q->state = QUEUE_FAILED;
            else {
                free(line);
                goto bad;
            }
            seen |= 8;
        } else if (strcmp(line, "attempts") == 0 && parse_num(val, 0, 1000000, &num) == 0) {
            q->attempts = (int)num;
        } else if (strcmp(line, "created") == 0 && parse_num(val, 0, 1LL << 40, &num) == 0) {
            q->created = (time_t)num, seen |= 16;
        } else if (strcmp(line, "next") == 0 && parse_num(val, 0, 1LL << 40, &num) == 0) {
            q->next = (time_t)num;
        } else if (strcmp(line, "sent-copied") == 0 && parse_num(val, 0, 1, &num) == 0) {
            q->sent_copied = num == 1;
        } else if (strcmp(line, "reply") == 0 && q->reply == NULL) {
            q->reply = xstrdup(val);
        } else if (line[0] != '\0') {
            free(line);
            goto bad;
        }
        free(line);
    }
    if (lineno == 0 || (seen & 31) != 31 || q->id[0] == '\0' || q->id[0] == '.' ||
        strchr(q->id, '/') != NULL) {
        queue_entry_free(q);
        return err_set(e, ERR_PARSE, "queue state incomplete (needs id, account, from, state, "
                       "created)");
    }
    return 0;
bad:
    queue_entry_free(q);
    return err_set(e, ERR_PARSE, "queue state line %d is malformed", lineno);
}

/* ---- policy ---- */

long queue_backoff(const struct queue_policy *p, int attempts)
{
    long d = p->retry_min > 0 ? p->retry_min : 1;

    for (int i = 1; i < attempts && d < p->retry_max; i++)
        d = d > p->retry_max / 2 ? p->retry_max : d * 2;
    return d < p->retry_max ? d : p->retry_max;
}

void queue_note_temp(struct queue_entry *q, const struct queue_policy *p, time_t now,
                     const char *reply)
{
    q->attempts++;
    if (p->lifetime > 0 && now - q->created >= p->lifetime) {
        char msg[REPLY_MAX + 80];
        long days = (long)(now - q->created) / 86400, hours = (long)(now - q->created) / 3600;

        if (days >= 1)
            snprintf(msg, sizeof msg, "gave up after %ld day%s and %d attempt%s: %s", days,
                     days == 1 ? "" : "s", q->attempts, q->attempts == 1 ? "" : "s",
                     reply ? reply : "");
        else
            snprintf(msg, sizeof msg, "gave up after %ld hour%s and %d attempt%s: %s", hours,
                     hours == 1 ? "" : "s", q->attempts, q->attempts == 1 ? "" : "s",
                     reply ? reply : "");
        q->state = QUEUE_FAILED;
        q->next = 0;
        queue_entry_set_reply(q, msg);
        return;
    }
    q->state = QUEUE_QUEUED;
    q->next = now + queue_backoff(p, q->attempts);
    queue_entry_set_reply(q, reply);
}

void queue_note_perm(struct queue_entry *q, time_t now, const char *reply)
{
    (void)now;
    q->attempts++;
    q->state = QUEUE_FAILED;
    q->next = 0;
    queue_entry_set_reply(q, reply);
}

bool queue_due(const struct queue_entry *q, time_t now, bool all)
{
    return q->state == QUEUE_QUEUED && (all || q->next <= now);
}

/* ---- the queue on disk ---- */

int queue_open(const char *mail_root, struct queue **out, struct err *e)
{
    struct queue *q = xcalloc(1, sizeof *q);
    char *dot;

    *out = NULL;
    q->lockfd = -1;
    q->root = xstrdup(mail_root);
    q->outbox = maildir_folder_path(mail_root, QUEUE_FOLDER);
    dot = fs_join(mail_root, ".tern");
    q->statedir = fs_join(dot, "queue");
    free(dot);
    if (maildir_create(q->outbox, e) < 0 || fs_mkdir_p(q->statedir, 0700, e) < 0) {
        queue_close(q);
        return -1;
    }
    *out = q;
    return 0;
}

void queue_close(struct queue *q)
{
    if (q == NULL)
        return;
    if (q->lockfd >= 0)
        fs_unlock(q->lockfd);
    free(q->root);
    free(q->outbox);
    free(q->statedir);
    free(q);
}

const char *queue_outbox(const struct queue *q)
{
    return q->outbox;
}

static char *state_path(const struct queue *q, const char *id)
{
    struct buf b = BUF_INIT;

    buf_printf(&b, "%s/%s%s", q->statedir, id, STATE_SUFFIX);
    return buf_detach(&b);
}

int queue_save(struct queue *q, const struct queue_entry *ent, struct err *e)
{
    char *text = queue_state_format(ent), *path = state_path(q, ent->id);
    int rc = fs_write_atomic(path, text, strlen(text), 0600, e);

    free(text);
    free(path);
    return rc;
}

int queue_add(struct queue *q, const char *msg, size_t n, struct queue_entry *ent, struct err *e)
{
    struct maildir_tmp *t;
    char *path = NULL;

    if (maildir_tmp_open(q->outbox, &t, e) < 0)
        return -1;
    free(ent->id);
    ent->id = xstrdup(maildir_tmp_name(t));
    if (maildir_tmp_write(t, msg, n, e) < 0) {
        maildir_tmp_abort(t);
        return -1;
    }
    if (maildir_tmp_commit(t, NULL, &path, e) < 0)
        return -1;
    {
        char *newdir = fs_join(q->outbox, "new");   /* the file went to new/ only */
        int rc = fs_fsync_dir(newdir, e);

        free(newdir);
        if (rc < 0) {
            free(path);
            return -1;
        }
    }
    free(ent->path);
    ent->path = path;
    if (ent->created == 0)
        ent->created = time(NULL);
    ent->state = QUEUE_QUEUED;
    return queue_save(q, ent, e);
}

struct name_ent {
    char *uniq;
    char *path;
};

static int name_cmp(const void *a, const void *b)
{
    return strcmp(((const struct name_ent *)a)->uniq, ((const struct name_ent *)b)->uniq);
}

static void scan_sub(const char *outbox, const char *sub, struct name_ent **v, size_t *n)
{
    char *dir = fs_join(outbox, sub);
    DIR *d = opendir(dir);
    struct dirent *de;

    if (d != NULL) {
        while ((de = readdir(d)) != NULL) {
            size_t ulen;

            if (de->d_name[0] == '.')
                continue;
            maildir_name_split(de->d_name, &ulen);
            *v = xreallocarray(*v, *n + 1, sizeof **v);
            (*v)[*n].uniq = xstrndup(de->d_name, ulen);
            (*v)[*n].path = fs_join(dir, de->d_name);
            (*n)++;
        }
        closedir(d);
    }
    free(dir);
}

static int ent_cmp(const void *a, const void *b)
{
    const struct queue_entry *x = a, *y = b;

    if (x->created != y->created)
        return x->created < y->created ? -1 : 1;
    return strcmp(x->id, y->id);
}

int queue_list(struct queue *q, struct queue_entry **out, size_t *n, size_t *orphans,
               struct err *e)
{
    struct name_ent *names = NULL;
    size_t nnames = 0, used = 0;
    struct queue_entry *ents = NULL;
    size_t nents = 0;
    DIR *d;
    struct dirent *de;
    bool *has_state;

    *out = NULL;
    *n = 0;
    scan_sub(q->outbox, "new", &names, &nnames);
    scan_sub(q->outbox, "cur", &names, &nnames);
    if (nnames > 0)
        qsort(names, nnames, sizeof *names, name_cmp);
    has_state = xcalloc(nnames + 1, sizeof *has_state);
    d = opendir(q->statedir);
    if (d == NULL) {
        err_sys(e, "%s", q->statedir);
        goto fail;
    }
    while ((de = readdir(d)) != NULL) {
        size_t len = strlen(de->d_name), sl = strlen(STATE_SUFFIX);
        struct queue_entry ent;
        struct buf text = BUF_INIT;
        struct err pe;
        char *path;

        if (de->d_name[0] == '.' || len <= sl || strcmp(de->d_name + len - sl, STATE_SUFFIX))
            continue;
        path = fs_join(q->statedir, de->d_name);
        if (fs_read_file(path, &text, &pe) < 0 ||
            queue_state_parse(text.ptr, text.len, &ent, &pe) < 0) {
            /* A damaged state is kept for a person to look at, never sent. */
            buf_free(&text);
            free(path);
            continue;
        }
        buf_free(&text);
        {
            struct name_ent key = { ent.id, NULL }, *hit = NULL;

            if (nnames > 0)
                hit = bsearch(&key, names, nnames, sizeof *names, name_cmp);
            if (hit == NULL) {
                /* The message was deleted from Outbox: the entry goes with it. */
                unlink(path);
                free(path);
                queue_entry_free(&ent);
                continue;
            }
            ent.path = xstrdup(hit->path);
            has_state[hit - names] = true;
        }
        free(path);
        ents = xreallocarray(ents, nents + 1, sizeof *ents);
        ents[nents++] = ent;
    }
    closedir(d);
    for (size_t i = 0; i < nnames; i++)
        used += has_state[i] ? 0 : 1;
    if (orphans)
        *orphans = used;
    if (nents > 0)
        qsort(ents, nents, sizeof *ents, ent_cmp);
    *out = ents;
    *n = nents;
    for (size_t i = 0; i < nnames; i++) {
        free(names[i].uniq);
        free(names[i].path);
    }
    free(names);
    free(has_state);
    return 0;
fail:
    for (size_t i = 0; i < nnames; i++) {
        free(names[i].uniq);
        free(names[i].path);
    }
    free(names);
    free(has_state);
    queue_list_free(ents, nents);
    return -1;
}

void queue_list_free(struct queue_entry *ents, size_t n)
{
    for (size_t i = 0; i < n; i++)
        queue_entry_free(&ents[i]);
    free(ents);
}

int queue_remove(struct queue *q, const struct queue_entry *ent, struct err *e)
{
    char *sp = state_path(q, ent->id);
    int rc = 0;

    if (ent->path && unlink(ent->path) < 0 && errno != ENOENT) {
        err_sys(e, "%s", ent->path);
        free(sp);
        return -1;
    }
    if (maildir_sync(q->outbox, e) < 0)
        rc = -1;
    if (rc == 0 && unlink(sp) < 0 && errno != ENOENT)
        rc = err_sys(e, "%s", sp);
    if (rc == 0)
        rc = fs_fsync_dir(q->statedir, e);
    free(sp);
    return rc;
}

long queue_find(const struct queue_entry *ents, size_t n, const char *id)
{
    long hit = -1;
    size_t len = strlen(id);

    if (len == 0)
        return -1;
    for (size_t i = 0; i < n; i++) {
        if (strcmp(ents[i].id, id) == 0)
            return (long)i;
        if (strncmp(ents[i].id, id, len) == 0) {
            if (hit >= 0)
                return -2;
            hit = (long)i;
        }
    }
    return hit;
}

int queue_lock(struct queue *q, struct err *e)
{
    char *path;

    if (q->lockfd >= 0)
        return q->lockfd;
    path = fs_join(q->statedir, "flush.lock");
    q->lockfd = fs_lock(path, e);
    free(path);
    if (q->lockfd < 0 && e && e->cls == ERR_LOCKED)
        err_set(e, ERR_LOCKED, "another flush is running");
    return q->lockfd;
}

/* ---- flushing ---- */

/*
 * The bytes to transmit: the stored message without Bcc (and Resent-Bcc) fields, which only
 * the envelope may carry.
 */
void queue_wire_form(const char *msg, size_t n, struct buf *out)
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

/* A temporary failure of one message (the session may have gone with it). */
static void fail_temp(struct flusher *f, struct queue_entry *ent, const char *why)
{
    queue_note_temp(ent, &f->pol, f->now, why);
    save_or_report(f, ent);
    f->done++;
    if (ent->state == QUEUE_FAILED) {
        f->st->failed++;
        emit(f, QEV_FAILED, ent, NULL, ent->reply);
    } else {
        f->st->deferred++;
        emit(f, QEV_DEFERRED, ent, NULL, why);
    }
}

static void fail_perm(struct flusher *f, struct queue_entry *ent, const char *why)
{
    queue_note_perm(ent, f->now, why);
    save_or_report(f, ent);
    f->done++;
    f->st->failed++;
    emit(f, QEV_FAILED, ent, NULL, ent->reply);
}

/* Copy into the account's sent folder with flag S (the stored form, Bcc included). */
static int copy_to_sent(struct flusher *f, const struct account *a, const char *msg, size_t n,
                        bool batched, struct err *e)
{
    char *dir = maildir_folder_path(f->cfg->mail_root, a->sent ? a->sent : "Sent");
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
    char *dir = maildir_folder_path(f->cfg->mail_root, a->sent ? a->sent : "Sent");
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
    if (rename(ent->path, dst.ptr) < 0)
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
 * Make the batch's Sent copies durable, then remove those messages from the queue with one
 * fsync per directory. A crash before the end resends them (twice at worst), never loses.
 */
static void flush_pending(struct flusher *f)
{
    struct err e;
    bool synced = true;

    if (f->npending == 0)
        goto out;
    if (f->sent_dir && maildir_sync(f->sent_dir, &e) < 0)
        synced = false;
    for (size_t i = 0; i < f->npending; i++) {
        struct queue_entry *ent = f->pending[i];
        char *sp;

        if (!synced) {
            emit(f, QEV_DEFERRED, ent, NULL, e.msg);
            continue;
        }
        if (ent->path && unlink(ent->path) < 0 && errno != ENOENT) {
            err_sys(&e, "%s", ent->path);
            emit(f, QEV_DEFERRED, ent, NULL, e.msg);
            continue;
        }
        sp = state_path(f->q, ent->id);
        unlink(sp);
        free(sp);
    }
    if (synced) {
        if (maildir_sync(f->q->outbox, &e) < 0 || fs_fsync_dir(f->q->statedir, &e) < 0)
            emit(f, QEV_DEFERRED, NULL, NULL, e.msg);
    }
out:
    f->npending = 0;
    free(f->sent_dir);
    f->sent_dir = NULL;
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
    for (size_t i = 0; i < ent->nrcpts; i++) {
        if (r[i].code == 250 || r[i].code == 251)
            continue;
        if (r[i].code >= 500) {
            add_refusal(ent, ent->rcpts[i], r[i].reply);
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
        for (size_t i = 0; i < nleft; i++)
            free(left[i]);
        free(left);
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

/* What the server's answer means for one message: delivered, kept for later, or failed. */
static void finish_one(struct flusher *f, const struct account *a, struct queue_entry *ent,
                       struct smtp_rcpt *r, const struct buf *msg, int rc, const struct err *e,
                       const char *final)
{
    if (rc == 0) {
        delivered(f, a, ent, r, msg->ptr, msg->len, final);
    } else if (e->cls == ERR_PERM) {
        /* Some recipients may have been refused for good while others only for now. */
        size_t keep = 0;
        bool temp_left = false;

        for (size_t i = 0; i < ent->nrcpts; i++)
            if (r[i].code >= 400 && r[i].code < 500)
                temp_left = true;
        if (temp_left) {
            for (size_t i = 0; i < ent->nrcpts; i++) {
                if (r[i].code >= 500) {
                    add_refusal(ent, ent->rcpts[i], r[i].reply);
                    free(ent->rcpts[i]);
                } else {
                    ent->rcpts[keep++] = ent->rcpts[i];
                }
            }
            ent->nrcpts = keep;
            fail_temp(f, ent, e->msg);
        } else {
            fail_perm(f, ent, e->msg);
        }
    } else if (e->cls == ERR_TEMP) {
        size_t keep = 0;

        for (size_t i = 0; i < ent->nrcpts; i++) {
            if (r[i].code >= 500) {
                add_refusal(ent, ent->rcpts[i], r[i].reply);
                emit(f, QEV_REFUSED, ent, ent->rcpts[i], r[i].reply);
                free(ent->rcpts[i]);
            } else {
                ent->rcpts[keep++] = ent->rcpts[i];
            }
        }
        ent->nrcpts = keep;
        fail_temp(f, ent, e->msg);
    } else {
        fail_temp(f, ent, e->msg);
    }
}

/* One message read and made ready for a batch. */
struct prepared {
    size_t idx;                  /* its place in the account's list */
    struct queue_entry *ent;
    struct buf msg, wire;
    struct smtp_rcpt *r;
};

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
        if (fs_read_file(ent->path, &p->msg, &e) < 0) {
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
        queue_wire_form(p->msg.ptr, p->msg.len, &p->wire);
        p->r = xcalloc(ent->nrcpts, sizeof *p->r);
        for (size_t j = 0; j < ent->nrcpts; j++)
            p->r[j].addr = ent->rcpts[j];
        mm[k].from = ent->from;
        mm[k].rcpts = p->r;
        mm[k].nrcpts = ent->nrcpts;
        mm[k].data = p->wire.ptr;
        mm[k].len = p->wire.len;
        mm[k].envid = ent->id;
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
    int reconnects = 0;
    bool refreshed = false;

    if (a == NULL || a->smtp_host == NULL) {
        char why[300];

        snprintf(why, sizeof why, a ? "account %s has no smtp_host" :
                 "no account called %s in the configuration", name);
        for (; i < n; i++) {
            f->done++;
            f->st->skipped++;
            emit(f, QEV_DEFERRED, ents[i], NULL, why);
        }
        return;
    }
    if (a->smtp_user != NULL && oauth_configured(a) && a->smtp_auth != AUTH_PLAIN &&
        a->smtp_auth != AUTH_LOGIN) {
        tok = oauth_token(f->cfg, a, false, &e);
        if (tok == NULL) {
            for (; i < n; i++)
                fail_temp(f, ents[i], e.msg);
            return;
        }
    }
    if (a->smtp_user != NULL && (tok == NULL || a->smtp_password || a->smtp_password_command ||
                                 a->password || a->password_command)) {
        pw = secret_get(a, SECRET_SMTP, &e);
        if (pw == NULL) {
            for (; i < n; i++)
                fail_temp(f, ents[i], e.msg);
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
    while (i < n) {
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
            if (s == NULL) {
                /* Whatever the reason, no message of this account can go now. */
                for (; i < n; i++)
                    fail_temp(f, ents[i], e.msg);
                break;
            }
        }
        send_batch(f, a, s, ents, n, &i);
        if (!smtp_alive(s)) {
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

int queue_flush(struct queue *q, const struct config *cfg, const struct queue_flush_opts *o,
                queue_event_fn fn, void *arg, struct queue_flush_stats *st, struct err *e)
{
    struct flusher f = { 0 };
    struct queue_entry *ents;
    struct queue_entry **due;
    size_t n, ndue = 0;
    char **names = NULL;
    size_t nnames = 0;

    memset(st, 0, sizeof *st);
    if (queue_lock(q, e) < 0)
        return -1;
    if (queue_list(q, &ents, &n, NULL, e) < 0)
        return -1;
    f.q = q;
    f.cfg = cfg;
    f.pol.retry_min = cfg->queue_retry_min;
    f.pol.retry_max = cfg->queue_retry_max;
    f.pol.lifetime = cfg->queue_lifetime;
    f.fn = fn;
    f.arg = arg;
    f.st = st;
    f.now = o->now ? o->now : time(NULL);
    due = xcalloc(n + 1, sizeof *due);
    for (size_t i = 0; i < n; i++) {
        if (o->only_id && strcmp(ents[i].id, o->only_id) != 0)
            continue;
        if (!queue_due(&ents[i], f.now, o->all || o->only_id) ||
            !account_wanted(o, ents[i].account))
            continue;
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
    free(f.pending);
    free(names);
    free(due);
    queue_list_free(ents, n);
    return 0;
}

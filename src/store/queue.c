/*
 * The outgoing queue's storage: Outbox messages with durable envelope/state files, the retry
 * policy's arithmetic, the flusher lock. Delivering is src/smtp/flush.c's job.
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tern/buf.h"
#include "tern/fsutil.h"
#include "tern/header.h"
#include "tern/maildir.h"
#include "tern/paths.h"
#include "tern/queue.h"
#include "tern/str.h"
#include "tern/xalloc.h"

#define STATE_SUFFIX ".state"
#define REPLY_MAX 1000

#define JOURNAL_NAME "accepted.journal"
#define JOURNAL_RESERVE (64 * 1024)

struct acct_box {
    char *account;
    char *dir;
};

struct queue {
    char *root;
    char *outbox;                /* where a message of an account without an outbox goes */
    char *legacy;                /* mail_root's Outbox: states without "outbox" are there */
    char **boxes;                /* every outbox directory known: scanned, synced, stamped */
    size_t nboxes;
    struct acct_box *accts;      /* each account's outbox directory (queue_open_cfg) */
    size_t naccts;
    char *statedir;
    int lockfd;
    int jfd;                     /* the acceptance journal, open while flushing */
    off_t jlen;                  /* bytes of records in it */
    off_t jcap;                  /* bytes reserved on disk */
    bool junsynced;              /* records written since the last fdatasync */
};

/* ---- entries ---- */

static void refusals_free(struct queue_refusal *r, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(r[i].addr);
        free(r[i].reply);
    }
    free(r);
}

static void answers_free(struct queue_answers *a)
{
    for (size_t i = 0; i < a->n; i++) {
        free(a->msg[i].dir);
        free(a->msg[i].id);
    }
    free(a->msg);
    memset(a, 0, sizeof *a);
}

void queue_entry_free(struct queue_entry *q)
{
    if (q == NULL)
        return;
    free(q->id);
    free(q->account);
    free(q->from);
    str_list_free(q->rcpts, q->nrcpts);
    refusals_free(q->refused, q->nrefused);
    free(q->reply);
    free(q->held_config);
    answers_free(&q->answers);
    free(q->outbox);
    free(q->path);
    free(q->dsn_notify);
    free(q->dsn_ret);
    free(q->dsn_envid);
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

void queue_entry_add_refusal(struct queue_entry *q, const char *addr, const char *reply)
{
    q->refused = xreallocarray(q->refused, q->nrefused + 1, sizeof *q->refused);
    q->refused[q->nrefused].addr = xstrdup(addr);
    q->refused[q->nrefused].reply = clean_line(reply);
    q->nrefused++;
}

/* ---- DSN parameters of one message ---- */

/* "success,failure" -> "SUCCESS,FAILURE" (each once), "never" -> "NEVER" (alone), else NULL. */
static char *dsn_notify_norm(const char *v)
{
    static const char *const words[] = { "NEVER", "SUCCESS", "FAILURE", "DELAY" };
    unsigned seen = 0;
    struct buf b = BUF_INIT;
    const char *p = v;

    while (*p) {
        size_t n = strcspn(p, ","), k;

        for (k = 0; k < 4; k++)
            if (strlen(words[k]) == n && str_ncasecmp(p, words[k], n) == 0)
                break;
        if (k == 4 || (seen & (1u << k)))
            goto bad;
        seen |= 1u << k;
        if (b.len)
            buf_addc(&b, ',');
        buf_adds(&b, words[k]);
        p += n;
        if (*p == ',' && *++p == '\0')
            goto bad;
    }
    if (seen == 0 || ((seen & 1) && seen != 1))
        goto bad;
    return buf_detach(&b);
bad:
    buf_free(&b);
    return NULL;
}

static bool envid_ok(const char *v)
{
    size_t n = strlen(v);

    for (size_t i = 0; i < n; i++)
        if ((unsigned char)v[i] < 33 || (unsigned char)v[i] > 126)
            return false;
    return n > 0 && n <= QUEUE_ENVID_MAX;
}

int queue_entry_set_dsn(struct queue_entry *q, const char *notify, const char *ret,
                        const char *envid, struct err *e)
{
    char *nv = NULL;

    if (notify && (nv = dsn_notify_norm(notify)) == NULL)
        return err_set(e, ERR_PARSE, "-N takes never or a list of success, failure, delay, "
                       "not '%s'", notify);
    if (ret && str_casecmp(ret, "full") != 0 && str_casecmp(ret, "hdrs") != 0) {
        free(nv);
        return err_set(e, ERR_PARSE, "-R takes full or hdrs, not '%s'", ret);
    }
    if (envid && !envid_ok(envid)) {
        free(nv);
        return err_set(e, ERR_PARSE, "-V takes printable ASCII without spaces, at most %d "
                       "characters", QUEUE_ENVID_MAX);
    }
    if (notify) {
        free(q->dsn_notify);
        q->dsn_notify = nv;
    }
    if (ret) {
        free(q->dsn_ret);
        q->dsn_ret = xstrdup(str_casecmp(ret, "full") == 0 ? "FULL" : "HDRS");
    }
    if (envid) {
        free(q->dsn_envid);
        q->dsn_envid = xstrdup(envid);
    }
    return 0;
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
    buf_printf(&b, "state %s\n", queue_state_name(q->state));
    buf_printf(&b, "attempts %d\n", q->attempts);
    buf_printf(&b, "created %lld\n", (long long)q->created);
    buf_printf(&b, "next %lld\n", (long long)q->next);
    buf_printf(&b, "sent-copied %d\n", q->sent_copied ? 1 : 0);
    if (q->reply)
        buf_printf(&b, "reply %s\n", q->reply);
    if (q->state == QUEUE_HELD && q->held_config)
        buf_printf(&b, "held-config %s\n", q->held_config);
    if (q->outbox)
        buf_printf(&b, "outbox %s\n", q->outbox);
    if (q->dsn_notify)
        buf_printf(&b, "dsn-notify %s\n", q->dsn_notify);
    if (q->dsn_ret)
        buf_printf(&b, "dsn-ret %s\n", q->dsn_ret);
    if (q->dsn_envid)
        buf_printf(&b, "dsn-envid %s\n", q->dsn_envid);
    if (q->answers.flag) {
        bool flag = false;

        for (size_t i = 0; i < q->answers.n; i++) {
            const struct queue_answer *an = &q->answers.msg[i];

            if (an->dir == NULL || an->id == NULL)
                continue;
            if (!flag)
                buf_printf(&b, "answers-flag %c\n", q->answers.flag);
            flag = true;
            buf_printf(&b, "answers-id %s\n", an->id);
            buf_printf(&b, "answers-dir %s\n", an->dir);
        }
    }
    return buf_detach(&b);
}

/* An answers-id or answers-dir line: the field of the first answer that lacks it, else of a
 * new one (a state holds them in pairs; beyond QUEUE_MAX_ANSWERS they are dropped). */
static void answer_field(struct queue_answers *an, bool dir, const char *val)
{
    struct queue_answer *a = NULL;

    for (size_t i = 0; i < an->n && a == NULL; i++)
        if ((dir ? an->msg[i].dir : an->msg[i].id) == NULL)
            a = &an->msg[i];
    if (a == NULL) {
        if (an->n >= QUEUE_MAX_ANSWERS)
            return;
        an->msg = xreallocarray(an->msg, an->n + 1, sizeof *an->msg);
        a = &an->msg[an->n++];
        a->dir = a->id = NULL;
    }
    if (dir)
        a->dir = xstrdup(val);
    else
        a->id = xstrdup(val);
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

/* An outbox as a state names it: absolute, or under the mail root without ".." or "//". */
static bool outbox_ok(const char *v)
{
    const char *p = v[0] == '/' ? v + 1 : v;

    for (;;) {
        size_t n = strcspn(p, "/");

        if (n == 0 || (n == 2 && p[0] == '.' && p[1] == '.'))
            return false;
        if (p[n] == '\0')
            return true;
        p += n + 1;
    }
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
            queue_entry_add_refusal(q, val, sp ? sp : "");
        } else if (strcmp(line, "state") == 0 && !(seen & 8)) {
            if (strcmp(val, "queued") == 0)
                q->state = QUEUE_QUEUED;
            else if (strcmp(val, "failed") == 0)
                q->state = QUEUE_FAILED;
            else if (strcmp(val, "held") == 0)
                q->state = QUEUE_HELD;
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
        } else if (strcmp(line, "held-config") == 0 && q->held_config == NULL && *val) {
            q->held_config = xstrdup(val);
        } else if (strcmp(line, "answers-flag") == 0 && (strcmp(val, "R") == 0 ||
                                                          strcmp(val, "P") == 0)) {
            q->answers.flag = *val;
        } else if (strcmp(line, "answers-id") == 0 && *val && *val != '.' &&
                   strchr(val, '/') == NULL) {
            answer_field(&q->answers, false, val);
        } else if (strcmp(line, "answers-dir") == 0 && *val == '/') {
            answer_field(&q->answers, true, val);
        } else if (strcmp(line, "outbox") == 0 && q->outbox == NULL && outbox_ok(val)) {
            q->outbox = xstrdup(val);
        } else if (strcmp(line, "dsn-notify") == 0 && q->dsn_notify == NULL &&
                   (q->dsn_notify = dsn_notify_norm(val)) != NULL) {
            /* taken */
        } else if (strcmp(line, "dsn-ret") == 0 && q->dsn_ret == NULL &&
                   (strcmp(val, "FULL") == 0 || strcmp(val, "HDRS") == 0)) {
            q->dsn_ret = xstrdup(val);
        } else if (strcmp(line, "dsn-envid") == 0 && q->dsn_envid == NULL && envid_ok(val)) {
            q->dsn_envid = xstrdup(val);
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

void queue_note_held(struct queue_entry *q, const char *reply, const char *config_fp)
{
    q->attempts++;
    q->state = QUEUE_HELD;
    q->next = 0;
    queue_entry_set_reply(q, reply);
    free(q->held_config);
    q->held_config = config_fp ? xstrdup(config_fp) : NULL;
}

enum queue_state queue_note_error(struct queue_entry *q, const struct queue_policy *p,
                                  time_t now, enum err_class cls, const char *reply,
                                  const char *config_fp)
{
    switch (cls) {
    case ERR_AUTH:
    case ERR_TLS:
    case ERR_CONFIG:
        /* Retrying cannot help until someone changes something: say so, and wait. */
        queue_note_held(q, reply, config_fp);
        break;
    case ERR_PERM:
    case ERR_PARSE:
        queue_note_perm(q, now, reply);
        break;
    case ERR_NONE:
    case ERR_SYS:
    case ERR_NET:
    case ERR_PROTO:
    case ERR_TEMP:
    case ERR_CANCEL:
    case ERR_LOCKED:
    default:
        queue_note_temp(q, p, now, reply);
        break;
    }
    return q->state;
}

bool queue_held_due(const struct queue_entry *q, const char *config_fp, bool retry_held)
{
    if (q->state != QUEUE_HELD)
        return false;
    return retry_held || q->held_config == NULL || config_fp == NULL ||
           strcmp(q->held_config, config_fp) != 0;
}

void queue_release(struct queue_entry *q, time_t now)
{
    q->state = QUEUE_QUEUED;
    q->next = 0;
    q->created = now;
    free(q->held_config);
    q->held_config = NULL;
}

const char *queue_state_name(enum queue_state s)
{
    switch (s) {
    case QUEUE_FAILED:
        return "failed";
    case QUEUE_HELD:
        return "held";
    case QUEUE_QUEUED:
    default:
        return "queued";
    }
}

bool queue_due(const struct queue_entry *q, time_t now, bool all)
{
    return q->state == QUEUE_QUEUED && (all || q->next <= now);
}

/* ---- the queue on disk ---- */

/* Remember dir as an outbox, once however it is spelt: a folder scanned twice would show
 * each of its messages once more as a message without a state. */
static void box_add(struct queue *q, const char *dir)
{
    char *real = realpath(dir, NULL);

    if (real == NULL)
        real = xstrdup(dir);
    for (size_t i = 0; i < q->nboxes; i++)
        if (strcmp(q->boxes[i], real) == 0) {
            free(real);
            return;
        }
    q->boxes = xreallocarray(q->boxes, q->nboxes + 1, sizeof *q->boxes);
    q->boxes[q->nboxes++] = real;
}

static struct queue *queue_new(const char *mail_root)
{
    struct queue *q = xcalloc(1, sizeof *q);

    q->lockfd = -1;
    q->jfd = -1;
    q->root = paths_root(mail_root);
    q->legacy = maildir_folder_path(q->root, paths_role(NULL, q->root, NULL, ROLE_OUTBOX));
    q->statedir = paths_state(q->root, PATH_QUEUE);
    return q;
}

static int queue_ready(struct queue *q, struct queue **out, struct err *e)
{
    box_add(q, q->outbox);
    box_add(q, q->legacy);       /* a queue from before per-account outboxes still goes */
    if (maildir_create(q->outbox, e) < 0 || fs_mkdir_p(q->statedir, 0700, e) < 0) {
        queue_close(q);
        return -1;
    }
    *out = q;
    return 0;
}

int queue_open(const char *mail_root, struct queue **out, struct err *e)
{
    struct queue *q = queue_new(mail_root);

    *out = NULL;
    q->outbox = xstrdup(q->legacy);
    return queue_ready(q, out, e);
}

int queue_open_cfg(const struct config *cfg, const char *mail_root, struct queue **out,
                   struct err *e)
{
    struct queue *q = queue_new(mail_root ? mail_root : cfg ? cfg->mail_root : NULL);

    *out = NULL;
    q->outbox = paths_role_dir(cfg, q->root, NULL, ROLE_OUTBOX);
    for (size_t i = 0; cfg && i < cfg->naccounts; i++) {
        const struct account *a = &cfg->accounts[i];

        q->accts = xreallocarray(q->accts, q->naccts + 1, sizeof *q->accts);
        q->accts[q->naccts].account = xstrdup(a->name);
        q->accts[q->naccts].dir = paths_role_dir(cfg, q->root, a, ROLE_OUTBOX);
        box_add(q, q->accts[q->naccts].dir);
        q->naccts++;
    }
    return queue_ready(q, out, e);
}

void queue_close(struct queue *q)
{
    if (q == NULL)
        return;
    if (q->jfd >= 0)
        close(q->jfd);
    if (q->lockfd >= 0)
        fs_unlock(q->lockfd);
    free(q->root);
    free(q->outbox);
    free(q->legacy);
    for (size_t i = 0; i < q->nboxes; i++)
        free(q->boxes[i]);
    free(q->boxes);
    for (size_t i = 0; i < q->naccts; i++) {
        free(q->accts[i].account);
        free(q->accts[i].dir);
    }
    free(q->accts);
    free(q->statedir);
    free(q);
}

size_t queue_outboxes(const struct queue *q, const char *const **dirs)
{
    *dirs = (const char *const *)q->boxes;
    return q->nboxes;
}

/* The outbox a new message of account goes to. */
static const char *box_of_account(const struct queue *q, const char *account)
{
    for (size_t i = 0; account && i < q->naccts; i++)
        if (strcmp(q->accts[i].account, account) == 0)
            return q->accts[i].dir;
    return q->outbox;
}

/* The directory of an outbox as a state names it (relative: under root). New string. */
static char *box_dir(const char *root, const char *outbox)
{
    return outbox[0] == '/' ? xstrdup(outbox) : fs_join(root, outbox);
}

/* The directory of the outbox an entry's message was queued in. New string. */
static char *box_of_entry(const struct queue *q, const struct queue_entry *ent)
{
    return ent->outbox ? box_dir(q->root, ent->outbox) : xstrdup(q->legacy);
}

/* How a state names the outbox dir: its path under the mail root when it is there (the
 * tree may be moved or restored elsewhere), else absolute. NULL when it cannot be resolved. */
static char *box_name(const struct queue *q, const char *dir)
{
    char *real = realpath(dir, NULL), *root = realpath(q->root, NULL), *name = NULL;
    size_t n = root ? strlen(root) : 0;

    if (real && root && strncmp(real, root, n) == 0 && real[n] == '/' && real[n + 1] != '\0')
        name = xstrdup(real + n + 1);
    else if (real)
        name = xstrdup(real);
    if (name && !outbox_ok(name)) {
        free(name);
        name = NULL;
    }
    free(real);
    free(root);
    return name;
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

/* The message is in new/: make that durable, then write its state. */
static int add_sync_and_save(struct queue *q, const struct queue_entry *ent, struct err *e)
{
    char *box = box_of_entry(q, ent), *newdir = fs_join(box, "new");   /* only new/ changed */
    int rc = fs_fsync_dir(newdir, e);

    free(newdir);
    free(box);
    return rc < 0 ? -1 : queue_save(q, ent, e);
}

int queue_add(struct queue *q, const char *msg, size_t n, struct queue_entry *ent, struct err *e)
{
    struct maildir_tmp *t;
    char *path = NULL;
    const char *box = box_of_account(q, ent->account);

    if (maildir_create(box, e) < 0)
        return -1;
    /* recorded in the state: queue_open without the configuration finds it */
    free(ent->outbox);
    if ((ent->outbox = box_name(q, box)) == NULL)
        return err_sys(e, "%s", box);
    box_add(q, box);
    if (maildir_tmp_open(box, &t, e) < 0)
        return -1;
    free(ent->id);
    ent->id = xstrdup(maildir_tmp_name(t));
    if (maildir_tmp_write(t, msg, n, e) < 0) {
        maildir_tmp_abort(t);
        return -1;
    }
    if (maildir_tmp_commit(t, NULL, &path, e) < 0)
        return -1;
    if (ent->created == 0)
        ent->created = time(NULL);
    ent->state = QUEUE_QUEUED;
    if (add_sync_and_save(q, ent, e) < 0) {
        /* Queued properly or not at all: a message without its envelope would never go. */
        struct err ue;
        char *newdir = fs_join(box, "new");

        if (unlink(path) < 0 && errno != ENOENT)
            err_prefix(e, "%s is left in Outbox without an envelope (%s)", path,
                       strerror(errno));
        else
            fs_fsync_dir(newdir, &ue);
        queue_drop_state(q, ent->id, &ue);
        free(newdir);
        free(path);
        return -1;
    }
    free(ent->path);
    ent->path = path;
    return 0;
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

static void names_free(struct name_ent *names, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(names[i].uniq);
        free(names[i].path);
    }
    free(names);
}

/* Every state that parses, its file path in paths[i]. A damaged state is kept for a person
 * to look at, never sent. */
static int read_states(struct queue *q, struct queue_entry **out, char ***paths, size_t *n,
                       struct err *e)
{
    DIR *d = opendir(q->statedir);
    struct dirent *de;
    size_t sl = strlen(STATE_SUFFIX);

    *out = NULL;
    *paths = NULL;
    *n = 0;
    if (d == NULL)
        return err_sys(e, "%s", q->statedir);
    while ((de = readdir(d)) != NULL) {
        size_t len = strlen(de->d_name);
        struct queue_entry ent;
        struct buf text = BUF_INIT;
        struct err pe;
        char *path;

        if (de->d_name[0] == '.' || len <= sl || strcmp(de->d_name + len - sl, STATE_SUFFIX))
            continue;
        path = fs_join(q->statedir, de->d_name);
        if (fs_read_file(path, &text, &pe) < 0 ||
            queue_state_parse(text.ptr, text.len, &ent, &pe) < 0) {
            buf_free(&text);
            free(path);
            continue;
        }
        buf_free(&text);
        *out = xreallocarray(*out, *n + 1, sizeof **out);
        *paths = xreallocarray(*paths, *n + 1, sizeof **paths);
        (*out)[*n] = ent;
        (*paths)[(*n)++] = path;
    }
    closedir(d);
    return 0;
}

int queue_list(struct queue *q, struct queue_entry **out, size_t *n, size_t *orphans,
               struct err *e)
{
    struct name_ent *names = NULL;
    size_t nnames = 0, used = 0, nstates, nents = 0;
    struct queue_entry *ents;
    char **spaths;
    bool *has_state;

    *out = NULL;
    *n = 0;
    if (read_states(q, &ents, &spaths, &nstates, e) < 0)
        return -1;
    /* the outboxes: the configuration's, the default one, and every one a state names */
    for (size_t i = 0; i < nstates; i++) {
        char *box = box_of_entry(q, &ents[i]);

        box_add(q, box);
        free(box);
    }
    for (size_t i = 0; i < q->nboxes; i++) {
        scan_sub(q->boxes[i], "new", &names, &nnames);
        scan_sub(q->boxes[i], "cur", &names, &nnames);
    }
    if (nnames > 0)
        qsort(names, nnames, sizeof *names, name_cmp);
    has_state = xcalloc(nnames + 1, sizeof *has_state);
    for (size_t i = 0; i < nstates; i++) {
        struct queue_entry ent = ents[i];
        struct name_ent key = { ent.id, NULL }, *hit = NULL;

        if (nnames > 0)
            hit = bsearch(&key, names, nnames, sizeof *names, name_cmp);
        if (hit == NULL && queue_refind(q, &ent) == 0) {
            /* renamed (new/ to cur/) by another program while we looked: still queued */
            ents[nents++] = ent;
        } else if (hit == NULL) {
            /* The message was deleted from its outbox: the entry goes with it. */
            unlink(spaths[i]);
            queue_entry_free(&ent);
        } else {
            ent.path = xstrdup(hit->path);
            has_state[hit - names] = true;
            ents[nents++] = ent;
        }
        free(spaths[i]);
    }
    free(spaths);
    for (size_t i = 0; i < nnames; i++)
        used += has_state[i] ? 0 : 1;
    if (orphans)
        *orphans = used;
    if (nents > 0)
        qsort(ents, nents, sizeof *ents, ent_cmp);
    else {
        free(ents);
        ents = NULL;
    }
    *out = ents;
    *n = nents;
    names_free(names, nnames);
    free(has_state);
    return 0;
}

void queue_list_free(struct queue_entry *ents, size_t n)
{
    for (size_t i = 0; i < n; i++)
        queue_entry_free(&ents[i]);
    free(ents);
}

/* fsync the folder of the message file at path (DIR/new/NAME or DIR/cur/NAME). */
static int msg_box_sync(const char *path, struct err *e)
{
    const char *slash = strrchr(path, '/');
    char *dir;
    int rc;

    if (slash == NULL || slash - path < 4)
        return 0;
    dir = xstrndup(path, (size_t)(slash - 4 - path));
    rc = maildir_sync(dir, e);
    free(dir);
    return rc;
}

int queue_remove(struct queue *q, const struct queue_entry *ent, struct err *e)
{
    char *sp = state_path(q, ent->id);
    struct queue_entry follow = { 0 };   /* the message, followed if it moved */
    int rc = 0;

    follow.id = ent->id;
    follow.outbox = ent->outbox;
    follow.path = ent->path ? xstrdup(ent->path) : NULL;
    rc = queue_unlink_msg(q, &follow, e);
    if (rc == 0 && follow.path && msg_box_sync(follow.path, e) < 0)
        rc = -1;
    free(follow.path);
    if (rc < 0) {
        free(sp);
        return -1;
    }
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

int queue_drop_state(struct queue *q, const char *id, struct err *e)
{
    char *sp = state_path(q, id);
    int rc = 0;

    if (unlink(sp) < 0 && errno != ENOENT)
        rc = err_sys(e, "%s", sp);
    free(sp);
    return rc;
}

int queue_sync(struct queue *q, struct err *e)
{
    for (size_t i = 0; i < q->nboxes; i++)
        if (maildir_is_maildir(q->boxes[i]) && maildir_sync(q->boxes[i], e) < 0)
            return -1;
    if (fs_fsync_dir(q->statedir, e) < 0)
        return -1;
    return 0;
}

/* Do directories a and b name the same one? */
static bool same_dir(const char *a, const char *b)
{
    char *ra = realpath(a, NULL), *rb = realpath(b, NULL);
    bool same = ra && rb ? strcmp(ra, rb) == 0 : strcmp(a, b) == 0;

    free(ra);
    free(rb);
    return same;
}

/* The outbox directory the state of id names: NULL when the state is missing or older than
 * per-account outboxes (its message is in the default Outbox). New string. */
static char *state_outbox(const char *statedir, const char *id)
{
    struct buf sp = BUF_INIT, text = BUF_INIT;
    struct queue_entry ent;
    struct err e;
    char *box = NULL;

    buf_printf(&sp, "%s/%s%s", statedir, id, STATE_SUFFIX);
    if (fs_read_file(sp.ptr, &text, &e) == 0 &&
        queue_state_parse(text.ptr, text.len, &ent, &e) == 0) {
        box = ent.outbox;
        ent.outbox = NULL;
        queue_entry_free(&ent);
    }
    buf_free(&text);
    buf_free(&sp);
    return box;
}

char *queue_id_of_path(const char *mail_root, const char *path)
{
    const char *base = strrchr(path, '/');
    char *root, *statedir, *dir, *id, *box;
    size_t ulen;

    /* DIR/new/NAME or DIR/cur/NAME with DIR the outbox its state names, or the default
     * Outbox (queued before per-account outboxes, or a message without its state) */
    if (base == NULL || base - path < 4 || base[1] == '\0' || base[1] == '.' ||
        (strncmp(base - 4, "/new", 4) != 0 && strncmp(base - 4, "/cur", 4) != 0))
        return NULL;
    root = paths_root(mail_root);
    statedir = paths_state(root, PATH_QUEUE);
    dir = xstrndup(path, (size_t)(base - 4 - path));
    maildir_name_split(base + 1, &ulen);
    id = xstrndup(base + 1, ulen);
    box = state_outbox(statedir, id);
    if (box == NULL)
        box = maildir_folder_path(root, paths_role(NULL, root, NULL, ROLE_OUTBOX));
    else {
        char *named = box;

        box = box_dir(root, named);
        free(named);
    }
    if (!same_dir(dir, box)) {
        free(id);
        id = NULL;
    }
    free(box);
    free(dir);
    free(statedir);
    free(root);
    return id;
}

/* ---- the acceptance journal ---- */

/* Make sure the next records have room on disk: a full disk must not keep the flusher from
 * writing down that the server took a message. */
static int journal_reserve(struct queue *q, size_t need, struct err *e)
{
    off_t want = q->jlen + (off_t)need + JOURNAL_RESERVE;
    int rc;

    /* keep at least half the reserve ahead of the records */
    if (q->jlen + (off_t)need + JOURNAL_RESERVE / 2 <= q->jcap)
        return 0;
    rc = posix_fallocate(q->jfd, 0, want);
    if (rc != 0 && rc != EOPNOTSUPP && rc != EINVAL) {
        errno = rc;
        return err_sys(e, "reserving space for %s/%s", q->statedir, JOURNAL_NAME);
    }
    q->jcap = rc == 0 ? want : q->jlen + (off_t)need;
    return 0;
}

int queue_journal_open(struct queue *q, struct err *e)
{
    char *path;
    struct buf text = BUF_INIT;
    char chunk[8192];
    ssize_t r;

    if (q->jfd >= 0)
        return 0;
    path = fs_join(q->statedir, JOURNAL_NAME);
    q->jfd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (q->jfd < 0) {
        err_sys(e, "%s", path);
        free(path);
        return -1;
    }
    free(path);
    /* the records end at the first NUL: the rest is reserved space */
    while ((r = read(q->jfd, chunk, sizeof chunk)) > 0) {
        const char *nul = memchr(chunk, '\0', (size_t)r);

        buf_add(&text, chunk, nul ? (size_t)(nul - chunk) : (size_t)r);
        if (nul)
            break;
    }
    q->jlen = (off_t)text.len;
    q->jcap = lseek(q->jfd, 0, SEEK_END);
    buf_free(&text);
    if (q->jcap < q->jlen)
        q->jcap = q->jlen;
    return journal_reserve(q, 0, e);
}

int queue_journal_note(struct queue *q, const char *id, const char *const *rcpts, size_t n,
                       struct err *e)
{
    struct buf line = BUF_INIT;
    int rc = -1;

    if (q->jfd < 0 && queue_journal_open(q, e) < 0)
        return -1;
    buf_adds(&line, id);
    for (size_t i = 0; i < n; i++)
        buf_printf(&line, "\t%s", rcpts[i]);
    buf_addc(&line, '\n');
    if (journal_reserve(q, line.len, e) < 0)
        goto out;
    if (pwrite(q->jfd, line.ptr, line.len, q->jlen) != (ssize_t)line.len) {
        err_sys(e, "%s/%s", q->statedir, JOURNAL_NAME);
        goto out;
    }
    q->jlen += (off_t)line.len;
    q->junsynced = true;
    rc = 0;
out:
    buf_free(&line);
    return rc;
}

int queue_journal_sync(struct queue *q, struct err *e)
{
    if (q->jfd < 0 || !q->junsynced)
        return 0;
    if (fdatasync(q->jfd) < 0)
        return err_sys(e, "%s/%s", q->statedir, JOURNAL_NAME);
    q->junsynced = false;
    return 0;
}

void queue_accepted_free(struct queue_accepted *v, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(v[i].id);
        for (size_t k = 0; k < v[i].nrcpts; k++)
            free(v[i].rcpts[k]);
        free(v[i].rcpts);
    }
    free(v);
}

void queue_journal_parse(const char *text, size_t len, struct queue_accepted **out, size_t *n)
{
    const char *p = text, *end = text + len;

    *out = NULL;
    *n = 0;
    /* a record counts only when whole (ends in a newline); a torn last one is ignored */
    while (p && p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        struct queue_accepted a = { 0 };
        char *line, *save = NULL, *tok;

        if (nl == NULL)
            break;
        line = xmemdup0(p, (size_t)(nl - p));
        p = nl + 1;
        tok = strtok_r(line, "\t", &save);
        if (tok == NULL || *tok == '.' || strchr(tok, '/') != NULL) {
            free(line);
            continue;
        }
        a.id = xstrdup(tok);
        while ((tok = strtok_r(NULL, "\t", &save)) != NULL) {
            a.rcpts = xreallocarray(a.rcpts, a.nrcpts + 1, sizeof *a.rcpts);
            a.rcpts[a.nrcpts++] = xstrdup(tok);
        }
        free(line);
        *out = xreallocarray(*out, *n + 1, sizeof **out);
        (*out)[(*n)++] = a;
    }
}

int queue_journal_read(struct queue *q, struct queue_accepted **out, size_t *n, struct err *e)
{
    struct buf text = BUF_INIT;

    *out = NULL;
    *n = 0;
    if (q->jfd < 0 && queue_journal_open(q, e) < 0)
        return -1;
    if (q->jlen > 0) {
        buf_reserve(&text, (size_t)q->jlen);
        if (pread(q->jfd, text.ptr, (size_t)q->jlen, 0) != (ssize_t)q->jlen) {
            buf_free(&text);
            return err_sys(e, "%s/%s", q->statedir, JOURNAL_NAME);
        }
        text.len = (size_t)q->jlen;
    }
    queue_journal_parse(text.ptr, text.len, out, n);
    buf_free(&text);
    return 0;
}

int queue_journal_reset(struct queue *q, struct err *e)
{
    if (q->jfd < 0 && queue_journal_open(q, e) < 0)
        return -1;
    if (q->jlen == 0)
        return 0;
    if (ftruncate(q->jfd, 0) < 0 || fdatasync(q->jfd) < 0)
        return err_sys(e, "%s/%s", q->statedir, JOURNAL_NAME);
    q->jlen = 0;
    q->jcap = 0;
    return journal_reserve(q, 0, e);
}

bool queue_entry_drop_rcpts(struct queue_entry *ent, const struct queue_accepted *a)
{
    size_t keep = 0;
    bool changed = false;

    for (size_t i = 0; i < ent->nrcpts; i++) {
        bool done = false;

        for (size_t k = 0; k < a->nrcpts && !done; k++)
            done = str_casecmp(ent->rcpts[i], a->rcpts[k]) == 0;
        if (done) {
            free(ent->rcpts[i]);
            changed = true;
        } else {
            ent->rcpts[keep++] = ent->rcpts[i];
        }
    }
    ent->nrcpts = keep;
    return changed;
}

int queue_refind(struct queue *q, struct queue_entry *ent)
{
    char *box = box_of_entry(q, ent), *rel = maildir_find(box, ent->id, strlen(ent->id));

    /* where it was queued, else any outbox (a person may have moved it) */
    for (size_t i = 0; rel == NULL && i < q->nboxes; i++)
        if ((rel = maildir_find(q->boxes[i], ent->id, strlen(ent->id))) != NULL) {
            free(box);
            box = xstrdup(q->boxes[i]);
        }
    if (rel == NULL) {
        free(box);
        return -1;
    }
    free(ent->path);
    ent->path = fs_join(box, rel);
    free(rel);
    free(box);
    return 0;
}

int queue_unlink_msg(struct queue *q, struct queue_entry *ent, struct err *e)
{
    for (int tries = 0; ent->path && tries < 5; tries++) {
        if (unlink(ent->path) == 0)
            return 0;
        if (errno != ENOENT)
            return err_sys(e, "%s", ent->path);
        if (queue_refind(q, ent) < 0)
            return 0;            /* really gone */
    }
    return 0;
}

int queue_rename_msg(struct queue *q, struct queue_entry *ent, const char *dst)
{
    for (int tries = 0; ent->path && tries < 5; tries++) {
        if (rename(ent->path, dst) == 0)
            return 0;
        if (errno != ENOENT || queue_refind(q, ent) < 0)
            return -1;
    }
    errno = ENOENT;
    return -1;
}

int queue_entry_set_answers(struct queue_entry *q, const char *path, char flag)
{
    answers_free(&q->answers);
    return queue_entry_add_answers(q, path, flag);
}

int queue_entry_add_answers(struct queue_entry *q, const char *path, char flag)
{
    const char *base = strrchr(path, '/');
    char *dir, *abs;
    size_t ulen;

    /* DIR/new/NAME or DIR/cur/NAME; DIR kept absolute (the flusher may run elsewhere) */
    if (base == NULL || base - path < 4 ||
        (strncmp(base - 4, "/new", 4) != 0 && strncmp(base - 4, "/cur", 4) != 0) ||
        base[1] == '\0' || base[1] == '.')
        return -1;
    dir = base - 4 == path ? xstrdup("/") : xstrndup(path, (size_t)(base - 4 - path));
    abs = realpath(dir, NULL);
    free(dir);
    if (abs == NULL)
        return -1;
    if (q->answers.n >= QUEUE_MAX_ANSWERS) {
        free(abs);
        return -1;
    }
    q->answers.msg = xreallocarray(q->answers.msg, q->answers.n + 1, sizeof *q->answers.msg);
    q->answers.msg[q->answers.n].dir = abs;
    maildir_name_split(base + 1, &ulen);
    q->answers.msg[q->answers.n++].id = xstrndup(base + 1, ulen);
    q->answers.flag = flag;
    return 0;
}

int queue_next_due(struct queue *q, time_t *when, struct err *e)
{
    struct queue_entry *ents;
    size_t n;
    int found = 0;

    if (queue_list(q, &ents, &n, NULL, e) < 0)
        return -1;
    for (size_t i = 0; i < n; i++) {
        if (ents[i].state != QUEUE_QUEUED)
            continue;
        if (!found || ents[i].next < *when)
            *when = ents[i].next;
        found = 1;
    }
    queue_list_free(ents, n);
    return found;
}

/* Fold a directory's mtime into a stamp (FNV-1a over the bytes that matter). */
static void stamp_dir(const char *dir, uint64_t *h, time_t *newest)
{
    struct stat sb;
    long long v[2] = { -1, -1 };

    if (stat(dir, &sb) == 0) {
        v[0] = (long long)sb.st_mtim.tv_sec;
        v[1] = (long long)sb.st_mtim.tv_nsec;
        if (sb.st_mtim.tv_sec > *newest)
            *newest = sb.st_mtim.tv_sec;
    }
    for (size_t i = 0; i < sizeof v; i++) {
        *h ^= ((const unsigned char *)v)[i];
        *h *= 0x100000001b3ULL;
    }
}

int queue_changed(struct queue *q, struct queue_stamp *st)
{
    struct queue_stamp now = { 0xcbf29ce484222325ULL };
    time_t newest = 0;
    int changed;

    stamp_dir(q->statedir, &now.h, &newest);
    for (size_t i = 0; i < q->nboxes; i++) {
        char *nd = fs_join(q->boxes[i], "new"), *cd = fs_join(q->boxes[i], "cur");

        stamp_dir(nd, &now.h, &newest);
        stamp_dir(cd, &now.h, &newest);
        free(nd);
        free(cd);
    }
    if (now.h == 0)
        now.h = 1;              /* a zeroed stamp always differs */
    changed = now.h != st->h;
    *st = now;
    if (changed)
        return 1;
    /* file system clocks are coarse: a change just after the last look may keep the mtime */
    return newest >= time(NULL) - 1 ? 2 : 0;
}

/*
 * One account's fetch: lock, reconcile the intent journal, list, download in pipelined
 * windows into tmp/, make the intents durable, rename into new/, record, DELE, QUIT.
 *
 * Exactly once: the journal line "TIME UIDL NAME" is written when tmp/NAME is created and made
 * durable (fdatasync) before tmp/NAME is renamed into new/. So a message in new/ always has
 * its intent on disk; at the next start an intent whose file reached new/ or cur/ is recorded
 * as fetched, any other intent's tmp file is removed. SIGKILL at any point loses nothing and
 * duplicates nothing. DELE is sent only for messages recorded in the state.
 */
#include "config.h"

#include <dirent.h>
#include <signal.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "tern/buf.h"
#include "tern/fetch.h"
#include "tern/oauth.h"
#include "tern/fsutil.h"
#include "tern/maildir.h"
#include "tern/paths.h"
#include "tern/pop3.h"
#include "tern/secret.h"
#include "tern/xalloc.h"

#define FETCH_MAX_MESSAGES 1000000UL
#define FETCH_WINDOW 64                  /* RETRs in flight when the server pipelines */
#define FETCH_WINDOW_BYTES (8UL << 20)   /* ... unless their listed sizes exceed this */
#define FETCH_COMMIT_THREADS 8            /* parallel fsync + rename per window */
#define FETCH_BUFFER (256UL << 10)       /* message bytes held before a write(2) */
#define STATE_HEADER "# tern pop3 state 2: first-fetched-time uidl [adopted]\n"

/* ---- the set of fetched UIDLs ---- */

struct uent {
    char *uidl;
    long long when;              /* first fetched, seconds since the epoch */
    bool on_server;              /* listed by UIDL this session */
    bool deleted;                /* DELE acknowledged and QUIT succeeded */
    bool adopted;                /* taken over from an older state: never fetched again,
                                    never deleted (this state did not store it) */
};

struct uset {
    struct uent *tab;
    size_t cap, n;
};

static unsigned long long uhash(const char *s)
{
    unsigned long long h = 1469598103934665603ULL;

    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ULL;
    return h;
}

static struct uent *uset_find(struct uset *s, const char *uidl)
{
    if (s->cap == 0)
        return NULL;
    for (size_t i = uhash(uidl) & (s->cap - 1);; i = (i + 1) & (s->cap - 1)) {
        if (s->tab[i].uidl == NULL)
            return NULL;
        if (strcmp(s->tab[i].uidl, uidl) == 0)
            return &s->tab[i];
    }
}

static struct uent *uset_add(struct uset *s, const char *uidl, long long when)
{
    struct uent *u = uset_find(s, uidl);

    if (u != NULL)
        return u;
    if ((s->n + 1) * 2 > s->cap) {
        struct uset bigger = { NULL, s->cap ? s->cap * 2 : 1024, 0 };

        bigger.tab = xcalloc(bigger.cap, sizeof *bigger.tab);
        for (size_t i = 0; i < s->cap; i++) {
            if (s->tab[i].uidl == NULL)
                continue;
            size_t j = uhash(s->tab[i].uidl) & (bigger.cap - 1);

            while (bigger.tab[j].uidl != NULL)
                j = (j + 1) & (bigger.cap - 1);
            bigger.tab[j] = s->tab[i];
            bigger.n++;
        }
        free(s->tab);
        *s = bigger;
    }
    for (size_t i = uhash(uidl) & (s->cap - 1);; i = (i + 1) & (s->cap - 1)) {
        if (s->tab[i].uidl == NULL) {
            s->tab[i].uidl = xstrdup(uidl);
            s->tab[i].when = when;
            s->n++;
            return &s->tab[i];
        }
    }
}

static void uset_free(struct uset *s)
{
    for (size_t i = 0; i < s->cap; i++)
        free(s->tab[i].uidl);
    free(s->tab);
}

/* A UIDL as stored: 1..70 printable non-space ASCII characters. */
static bool uidl_ok(const char *s, size_t n)
{
    if (n == 0 || n > POP3_UIDL_MAX)
        return false;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)s[i] < 0x21 || (unsigned char)s[i] > 0x7e)
            return false;
    return true;
}

/* ---- state and journal files ---- */

struct fetch {
    const struct config *cfg;
    const struct account *a;
    const struct fetch_opts *o;
    char *state_path, *journal_path, *lock_path;
    char *inbox;
    const char *inbox_name;      /* the folder name of inbox, for o->delivered */
    int lock_fd, journal_fd;
    int inbox_fd;                /* for syncfs: one flush per window instead of one per file */
    bool keep_journal;           /* renames happened that the state did not record */
    bool adopting;               /* reconciling an older state's journal (state_migrate) */
    bool fresh;                  /* first contact: no state of this mailbox existed */
    char peer[64];               /* the server's numeric address, recorded in the state */
    struct uset set;
    struct pop3 *pop;
    struct fetch_progress prog;
    struct timespec t0;
};

static double fetch_elapsed(const struct fetch *f)
{
    struct timespec now;

    clock_gettime(CLOCK_MONOTONIC, &now);
    return (double)(now.tv_sec - f->t0.tv_sec) + (double)(now.tv_nsec - f->t0.tv_nsec) / 1e9;
}

static void fetch_report(struct fetch *f, enum fetch_phase ph)
{
    f->prog.phase = ph;
    f->prog.elapsed = fetch_elapsed(f);
    if (f->o && f->o->progress)
        f->o->progress(f->o->ctx, &f->prog);
}

/* File-name-safe form of the account name and host. */
static void fetch_safe(struct buf *b, const char *s)
{
    for (; *s; s++) {
        unsigned char ch = (unsigned char)*s;

        buf_addc(b, (ch < 0x21 || ch > 0x7e || ch == '/' || ch == '\\') ? '_' : (char)ch);
    }
}

/*
 * The state belongs to a mailbox, not to an account's name: user, host and port. The host
 * is compared as DNS does (case-insensitive, a final dot ignored), so that respelling it in
 * ~/.mailrc or renaming the account finds the same state, while another pop3_user or port
 * gets its own (its UIDLs may coincide with the old mailbox's).
 */
char *fetch_state_path(const struct config *cfg, const struct account *a)
{
    const char *user = a->pop3_user ? a->pop3_user : "";
    char *host = xstrdup(a->pop3_host ? a->pop3_host : "");
    size_t hl = strlen(host);
    struct buf b = BUF_INIT;

    while (hl > 1 && host[hl - 1] == '.')
        host[--hl] = '\0';
    for (char *p = host; *p; p++)
        if (*p >= 'A' && *p <= 'Z')
            *p = (char)(*p - 'A' + 'a');
    paths_state_file(&b, cfg->mail_root, PATH_POP3, user);
    fetch_safe(&b, user);
    buf_addc(&b, '@');
    fetch_safe(&b, host);
    buf_printf(&b, ":%ld", (long)a->pop3_port);
    free(host);
    return buf_detach(&b);
}

/* Where tern up to state version 1 kept it: ACCOUNT@HOST, whatever the user and port. */
static char *fetch_legacy_state_path(const struct config *cfg, const struct account *a)
{
    struct buf b = BUF_INIT;

    paths_state_file(&b, cfg->mail_root, PATH_POP3, a->name);
    fetch_safe(&b, a->name);
    buf_addc(&b, '@');
    fetch_safe(&b, a->pop3_host ? a->pop3_host : "");
    return buf_detach(&b);
}

/* Read the state file: "TIME UIDL" lines. A damaged file stops the fetch (re-downloading
 * everything would be worse than asking the user). */
static int state_load_file(struct fetch *f, const char *path, bool adopt, struct err *e)
{
    struct buf text = BUF_INIT;
    char *p, *end;
    int lineno = 0;

    if (fs_read_file(path, &text, e) < 0) {
        buf_free(&text);
        if (errno == ENOENT)
            return 0;
        return -1;
    }
    p = text.ptr ? text.ptr : (char *)"";
    end = p + text.len;
    while (p < end) {
        char *nl = memchr(p, '\n', (size_t)(end - p));
        char *sp;
        long long when;

        lineno++;
        if (nl == NULL) {
            buf_free(&text);
            return err_set(e, ERR_PARSE, "%s:%d: truncated line", path, lineno);
        }
        *nl = '\0';
        /* Our own recorded server address survives a run that never connected. */
        if (!adopt && strncmp(p, "# peer ", 7) == 0)
            snprintf(f->peer, sizeof f->peer, "%s", p + 7);
        if (*p == '#' || *p == '\0') {
            p = nl + 1;
            continue;
        }
        when = strtoll(p, &sp, 10);
        {
            char *flag = sp == p || *sp != ' ' ? NULL : strchr(sp + 1, ' ');
            bool adopted = adopt;
            struct uent *u;

            if (flag != NULL && strcmp(flag, " adopted") == 0) {
                *flag = '\0';
                adopted = true;
            }
            if (sp == p || *sp != ' ' || !uidl_ok(sp + 1, strlen(sp + 1))) {
                buf_free(&text);
                return err_set(e, ERR_PARSE, "%s:%d: malformed line (move the file away to "
                               "fetch everything again)", path, lineno);
            }
            u = uset_add(&f->set, sp + 1, when);
            u->adopted = u->adopted || adopted;
        }
        p = nl + 1;
    }
    buf_free(&text);
    return 0;
}

static int state_load(struct fetch *f, struct err *e)
{
    return state_load_file(f, f->state_path, false, e);
}

/* Rewrite the state atomically; entries deleted on the server, or no longer listed by a
 * complete UIDL listing (prune), are dropped. */
static int state_save(struct fetch *f, bool prune, struct err *e)
{
    struct buf out = BUF_INIT;
    int rc;

    buf_adds(&out, STATE_HEADER);
    buf_printf(&out, "# mailbox %s@%s port %ld\n", f->a->pop3_user ? f->a->pop3_user : "",
               f->a->pop3_host, (long)f->a->pop3_port);
    if (f->peer[0])
        buf_printf(&out, "# peer %s\n", f->peer);
    for (size_t i = 0; i < f->set.cap; i++) {
        const struct uent *u = &f->set.tab[i];

        if (u->uidl == NULL || u->deleted || (prune && !u->on_server))
            continue;
        buf_printf(&out, "%lld %s%s\n", u->when, u->uidl, u->adopted ? " adopted" : "");
    }
    rc = fs_write_atomic(f->state_path, out.ptr, out.len, 0600, e);
    buf_free(&out);
    return rc;
}

struct pending {
    char *uidl;
    char *name;
    long long when;
    bool found;
};

/* Does NAME sit in new/ of the inbox? */
static bool in_new(const char *inbox, const char *name)
{
    struct buf p = BUF_INIT;
    struct stat st;
    bool ok;

    buf_printf(&p, "%s/new/%s", inbox, name);
    ok = stat(p.ptr, &st) == 0;
    buf_free(&p);
    return ok;
}

/*
 * Replay the journal left by an interrupted run: an intent whose file reached new/ or cur/
 * is a delivered message; any other intent's tmp file is removed. Then the state is
 * rewritten and the journal emptied.
 */
static int journal_reconcile(struct fetch *f, struct err *e)
{
    struct buf text = BUF_INIT;
    struct pending *pend = NULL;
    size_t npend = 0, nmissing = 0;
    char *p, *end;
    int rc = 0;

    if (fs_read_file(f->journal_path, &text, e) < 0) {
        buf_free(&text);
        return errno == ENOENT ? 0 : -1;
    }
    p = text.ptr ? text.ptr : (char *)"";
    end = p + text.len;
    while (p < end) {
        char *nl = memchr(p, '\n', (size_t)(end - p));
        char *s1, *s2;
        long long when;

        if (nl == NULL)
            break;   /* cut by a crash while writing the intent: its rename never happened */
        *nl = '\0';
        when = strtoll(p, &s1, 10);
        if (s1 != p && *s1 == ' ' && (s2 = strchr(s1 + 1, ' ')) != NULL &&
            uidl_ok(s1 + 1, (size_t)(s2 - s1 - 1)) && s2[1] != '\0' &&
            strchr(s2 + 1, '/') == NULL && strcmp(s2 + 1, "..") != 0) {
            pend = xreallocarray(pend, npend + 1, sizeof *pend);
            pend[npend].uidl = xstrndup(s1 + 1, (size_t)(s2 - s1 - 1));
            pend[npend].name = xstrdup(s2 + 1);
            pend[npend].when = when;
            pend[npend].found = uset_find(&f->set, pend[npend].uidl) != NULL ||
                                in_new(f->inbox, pend[npend].name);
            if (!pend[npend].found)
                nmissing++;
            npend++;
        }
        p = nl + 1;
    }
    buf_free(&text);
    if (nmissing > 0) {
        /* Look in cur/ once: a reader may have moved a new message there (NAME:2,FLAGS). */
        char *cur = fs_join(f->inbox, "cur");
        DIR *d = opendir(cur);
        struct dirent *de;

        while (d != NULL && (de = readdir(d)) != NULL) {
            size_t ul;

            maildir_name_split(de->d_name, &ul);
            for (size_t i = 0; i < npend; i++)
                if (!pend[i].found && strlen(pend[i].name) == ul &&
                    memcmp(pend[i].name, de->d_name, ul) == 0)
                    pend[i].found = true;
        }
        if (d != NULL)
            closedir(d);
        free(cur);
    }
    for (size_t i = 0; i < npend; i++) {
        if (pend[i].found) {
            struct uent *u = uset_add(&f->set, pend[i].uidl, pend[i].when);

            u->adopted = u->adopted || f->adopting;
        } else {
            struct buf t = BUF_INIT;

            buf_printf(&t, "%s/tmp/%s", f->inbox, pend[i].name);
            unlink(t.ptr);
            buf_free(&t);
        }
        free(pend[i].uidl);
        free(pend[i].name);
    }
    free(pend);
    /* The renames found must be durable before the journal that proves them goes away. */
    if (maildir_sync(f->inbox, e) < 0 || state_save(f, false, e) < 0)
        rc = -1;
    else if (unlink(f->journal_path) < 0 && errno != ENOENT)
        rc = err_sys(e, "unlink %s", f->journal_path);
    return rc;
}

/*
 * A SIGKILL between creating tmp/NAME and writing its intent leaves a file no journal names.
 * Such a file from this host whose creating process is gone can never be renamed by anyone:
 * remove it (we hold the account lock, so no fetcher of ours is using it).
 */
static void fetch_clean_tmp(const char *inbox)
{
    char *tmpdir = fs_join(inbox, "tmp");
    struct buf want = BUF_INIT;
    DIR *d = opendir(tmpdir);
    struct dirent *de;

    maildir_host(&want);
    while (d != NULL && (de = readdir(d)) != NULL) {
        const char *dot1 = strchr(de->d_name, '.'), *dot2, *pp;
        char *endp;
        long pid;

        if (dot1 == NULL || (dot2 = strchr(dot1 + 1, '.')) == NULL ||
            strcmp(dot2 + 1, want.ptr) != 0)
            continue;
        pp = memchr(dot1, 'P', (size_t)(dot2 - dot1));
        if (pp == NULL)
            continue;
        pid = strtol(pp + 1, &endp, 10);
        if (endp == pp + 1 || pid <= 0 || pid == (long)getpid())
            continue;
        if (kill((pid_t)pid, 0) < 0 && errno == ESRCH) {
            char *path = fs_join(tmpdir, de->d_name);

            unlink(path);
            free(path);
        }
    }
    if (d != NULL)
        closedir(d);
    buf_free(&want);
    free(tmpdir);
}

static int journal_open(struct fetch *f, struct err *e)
{
    char *dir = fs_dirname(f->journal_path);
    int rc;

    f->journal_fd = open(f->journal_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    if (f->journal_fd < 0) {
        free(dir);
        return err_sys(e, "%s", f->journal_path);
    }
    rc = fs_fsync_dir(dir, e);
    free(dir);
    return rc;
}

static int journal_intent(struct fetch *f, long long when, const char *uidl, const char *name,
                          struct err *e)
{
    struct buf l = BUF_INIT;
    int rc = 0;

    buf_printf(&l, "%lld %s %s\n", when, uidl, name);
    /* One write(2) with O_APPEND: a SIGKILL leaves the line whole or (at worst) cut, and a
     * cut line is ignored because its rename cannot have happened yet. */
    if (fs_write_all(f->journal_fd, l.ptr, l.len) < 0)
        rc = err_sys(e, "write %s", f->journal_path);
    buf_free(&l);
    return rc;
}

/* ---- downloading ---- */

struct slot {
    unsigned long idx;           /* index into the server entries */
    struct maildir_tmp *tmp;
    bool received;
    bool committed;
    unsigned long long bytes;
    char *path;                  /* where the commit put it, for fetch_opts.delivered */
};

struct sinkctx {
    struct maildir_tmp *tmp;
    struct buf pending;
};

static int fetch_sink(void *ctx, const char *p, size_t n, struct err *e)
{
    struct sinkctx *s = ctx;

    buf_add(&s->pending, p, n);
    if (s->pending.len >= FETCH_BUFFER) {
        if (maildir_tmp_write(s->tmp, s->pending.ptr, s->pending.len, e) < 0)
            return -1;
        buf_reset(&s->pending);
    }
    return 0;
}

/* Queue RETRs for todo[*next..] up to the window; returns how many were queued. */
static size_t fetch_queue(struct fetch *f, const unsigned long *todo, size_t ntodo, size_t *next,
                          const struct pop3_entry *ents, struct slot *win, size_t maxwin)
{
    size_t k = 0;
    unsigned long long bytes = 0;

    while (*next < ntodo && k < maxwin && (k == 0 || bytes < FETCH_WINDOW_BYTES)) {
        unsigned long idx = todo[(*next)++];

        win[k].idx = idx;
        win[k].tmp = NULL;
        win[k].received = false;
        win[k].bytes = 0;
        win[k].path = NULL;
        bytes += ents[idx].size;
        pop3_send_retr(f->pop, ents[idx].num);
        k++;
    }
    return k;
}

/* The fsync + rename of a window's files, shared out among a few threads (see fetch_commit). */
struct commit_job {
    struct slot *win;
    size_t k, next;
    pthread_mutex_t mu;
    bool failed;
    struct err e;
};

static void *commit_worker(void *arg)
{
    struct commit_job *j = arg;

    for (;;) {
        struct err le;
        size_t i;

        pthread_mutex_lock(&j->mu);
        i = j->next++;
        pthread_mutex_unlock(&j->mu);
        if (i >= j->k)
            return NULL;
        if (!j->win[i].received)
            continue;
        if (maildir_tmp_commit(j->win[i].tmp, NULL, &j->win[i].path, &le) < 0) {
            j->win[i].received = false;
            pthread_mutex_lock(&j->mu);
            if (!j->failed) {
                j->failed = true;
                j->e = le;
            }
            pthread_mutex_unlock(&j->mu);
        } else {
            j->win[i].committed = true;
        }
        j->win[i].tmp = NULL;
    }
}

/*
 * Make a window's intents durable, then move its messages into new/ (no bookkeeping: this
 * may run on the committer thread). Each fsync costs a device cache flush (~4 ms on ext4
 * even for data already written), so the commits run in parallel: the block layer merges
 * flushes that are in flight together. Order does not matter for exactly-once: every intent
 * of the window is already on disk.
 */
static int fetch_commit_io(struct fetch *f, struct slot *win, size_t k, struct err *e)
{
    struct commit_job job = { win, k, 0, PTHREAD_MUTEX_INITIALIZER, false, { ERR_NONE, "" } };
    pthread_t th[FETCH_COMMIT_THREADS];
    size_t ndone = 0, nth = 0;
    int rc = 0;

    for (size_t i = 0; i < k; i++) {
        win[i].committed = false;
        if (win[i].received)
            ndone++;
    }
    if (ndone > 0 && fdatasync(f->journal_fd) < 0)
        rc = err_sys(e, "fsync %s", f->journal_path);
    /* Write the window's data back in one go before the per-file fsyncs. */
    if (rc == 0 && ndone > 1 && f->inbox_fd >= 0)
        (void)syncfs(f->inbox_fd);
    for (size_t i = 0; i < k; i++)
        if (!win[i].received || rc < 0) {
            maildir_tmp_abort(win[i].tmp);
            win[i].tmp = NULL;
            win[i].received = false;
        }
    if (rc < 0)
        return -1;
    while (nth < FETCH_COMMIT_THREADS && nth + 1 < ndone &&
           pthread_create(&th[nth], NULL, commit_worker, &job) == 0)
        nth++;
    commit_worker(&job);
    for (size_t t = 0; t < nth; t++)
        pthread_join(th[t], NULL);
    pthread_mutex_destroy(&job.mu);
    if (job.failed) {
        *e = job.e;
        rc = -1;
    }
    /* The renames are durable only after the directory fsync: until then they are not
     * "safely on disk" and must not be recorded (DELE is sent only for recorded ids). */
    if (ndone > 0 && maildir_sync(f->inbox, rc < 0 ? NULL : e) < 0) {
        for (size_t i = 0; i < k; i++) {
            /* Renamed but not recorded: only the journal proves them now, so it must
             * survive this run (the next start records them instead of fetching again). */
            if (win[i].committed)
                f->keep_journal = true;
            win[i].committed = false;
        }
        rc = -1;
    }
    return rc;
}

/* Record what fetch_commit_io moved into new/ (main thread). */
static void fetch_commit_record(struct fetch *f, struct slot *win, size_t k,
                                const struct pop3_entry *ents, struct fetch_result *r)
{
    bool any = false;

    for (size_t i = 0; i < k; i++) {
        struct uent *u;

        if (win[i].committed && f->o && f->o->delivered && win[i].path)
            f->o->delivered(f->o->ctx, f->inbox_name, win[i].path);
        free(win[i].path);
        win[i].path = NULL;
        if (!win[i].committed)
            continue;
        win[i].committed = false;
        u = uset_add(&f->set, ents[win[i].idx].uidl, (long long)time(NULL));
        u->on_server = true;
        r->fetched++;
        r->bytes += win[i].bytes;
        f->prog.done++;
        f->prog.bytes += ents[win[i].idx].size;
        any = true;
    }
    if (any)
        fetch_report(f, FETCH_RETR);
}

/* The window being committed on its own thread while the next one downloads. */
struct committer {
    struct fetch *f;
    struct slot win[FETCH_WINDOW];
    size_t k;
    bool running;
    pthread_t th;
    int rc;
    struct err e;
};

static void *committer_main(void *arg)
{
    struct committer *c = arg;

    c->rc = fetch_commit_io(c->f, c->win, c->k, &c->e);
    return NULL;
}

/* Wait for the committer and record its window; -1 (with e) if that commit failed. */
static int committer_join(struct committer *c, const struct pop3_entry *ents,
                          struct fetch_result *r, struct err *e)
{
    if (!c->running)
        return 0;
    pthread_join(c->th, NULL);
    c->running = false;
    fetch_commit_record(c->f, c->win, c->k, ents, r);
    if (c->rc < 0) {
        *e = c->e;
        return -1;
    }
    return 0;
}

static int fetch_download(struct fetch *f, struct pop3_entry *ents, const unsigned long *todo,
                          size_t ntodo, struct fetch_result *r, struct err *e)
{
    size_t maxwin = (pop3_caps(f->pop) & POP3_CAP_PIPELINING) ? FETCH_WINDOW : 1;
    struct slot cur[FETCH_WINDOW], nxt[FETCH_WINDOW];
    struct sinkctx sc;
    size_t next = 0, k, knext;
    unsigned long long max = (unsigned long long)f->a->pop3_max_size;
    struct committer *cm = xcalloc(1, sizeof *cm);
    struct err ce;
    int rc = 0;

    cm->f = f;
    buf_init(&sc.pending);
    k = fetch_queue(f, todo, ntodo, &next, ents, cur, maxwin);
    if (k > 0 && pop3_flush(f->pop, e) < 0) {
        free(cm);
        buf_free(&sc.pending);
        return -1;
    }
    while (k > 0) {
        for (size_t i = 0; i < k; i++) {
            struct pop3_entry *en = &ents[cur[i].idx];
            long long now = (long long)time(NULL);

            if (f->o && f->o->cancel && *f->o->cancel) {
                rc = err_set(e, ERR_CANCEL, "interrupted");
                break;
            }
            if (maildir_tmp_open(f->inbox, &cur[i].tmp, e) < 0 ||
                journal_intent(f, now, en->uidl, maildir_tmp_name(cur[i].tmp), e) < 0) {
                rc = -1;
                break;
            }
            sc.tmp = cur[i].tmp;
            buf_reset(&sc.pending);
            pop3_expect_size(f->pop, en->size);
            if (pop3_recv_body(f->pop, en->num, max, fetch_sink, &sc, &cur[i].bytes, e) < 0 ||
                (sc.pending.len > 0 &&
                 maildir_tmp_write(sc.tmp, sc.pending.ptr, sc.pending.len, e) < 0)) {
                rc = -1;
                break;
            }
            cur[i].received = true;
        }
        /* Keep the server busy while the disk syncs: send the next window first. */
        knext = 0;
        if (rc == 0) {
            knext = fetch_queue(f, todo, ntodo, &next, ents, nxt, maxwin);
            if (knext > 0 && pop3_flush(f->pop, e) < 0)
                rc = -1;
        }
        /* The previous window must be on disk before this one is handed over. */
        if (committer_join(cm, ents, r, rc < 0 ? &ce : e) < 0 && rc == 0)
            rc = -1;
        memcpy(cm->win, cur, k * sizeof *cur);
        cm->k = k;
        cm->rc = 0;
        if (rc == 0 && pthread_create(&cm->th, NULL, committer_main, cm) == 0) {
            cm->running = true;
        } else {
            /* After an error (or without a thread): commit what arrived whole, here. */
            if (fetch_commit_io(f, cm->win, cm->k, rc < 0 ? &ce : e) < 0 && rc == 0)
                rc = -1;
            fetch_commit_record(f, cm->win, cm->k, ents, r);
        }
        if (rc < 0)
            break;
        memcpy(cur, nxt, knext * sizeof *nxt);
        k = knext;
    }
    if (committer_join(cm, ents, r, rc < 0 ? &ce : e) < 0 && rc == 0)
        rc = -1;
    free(cm);
    buf_free(&sc.pending);
    return rc;
}

/* ---- the account ---- */

static bool fetch_should_delete(const struct fetch *f, const struct uent *u, time_t now)
{
    long keep = f->a->pop3_keep;

    if (u->adopted)
        return false;   /* another state stored it: maybe another mailbox's id */
    if (keep == POP3_KEEP_FOREVER)
        return false;
    if (keep == POP3_KEEP_NO)
        return true;
    return (long long)now - u->when >= (long long)keep * 86400;
}

/* Does the state file at path record the server address peer? */
static bool state_has_peer(const char *path, const char *peer)
{
    struct buf text = BUF_INIT;
    struct err e;
    bool yes = false;

    if (fs_read_file(path, &text, &e) == 0) {
        struct buf want = BUF_INIT;

        buf_printf(&want, "\n# peer %s\n", peer);
        yes = text.len > 0 && memmem(text.ptr, text.len, want.ptr, want.len) != NULL;
        buf_free(&want);
    }
    buf_free(&text);
    return yes;
}

/*
 * First contact with this mailbox under its name: the same user and port on a server at the
 * same address under another host name (an alias, the address itself) is the same mailbox.
 * Its ids are taken over as adopted: not fetched again (a keep = yes mailbox is not fetched
 * twice), never deleted (the address could be shared by two services).
 */
static int state_adopt_same_peer(struct fetch *f, struct err *e)
{
    char *dir = fs_dirname(f->state_path);
    struct buf prefix = BUF_INIT, suffix = BUF_INIT;
    const char *user = f->a->pop3_user ? f->a->pop3_user : "";
    const char *mine = strrchr(f->state_path, '/') + 1;
    DIR *d = opendir(dir);
    struct dirent *de;
    int rc = 0;

    if (user[0] == '.' || user[0] == '\0')
        buf_addc(&prefix, '_');
    fetch_safe(&prefix, user);
    buf_addc(&prefix, '@');
    buf_printf(&suffix, ":%ld", (long)f->a->pop3_port);
    while (rc == 0 && d != NULL && (de = readdir(d)) != NULL) {
        size_t n = strlen(de->d_name);
        char *path;

        if (strcmp(de->d_name, mine) == 0 || n <= prefix.len + suffix.len ||
            strncmp(de->d_name, prefix.ptr, prefix.len) != 0 ||
            strcmp(de->d_name + n - suffix.len, suffix.ptr) != 0)
            continue;
        path = fs_join(dir, de->d_name);
        if (state_has_peer(path, f->peer))
            rc = state_load_file(f, path, true, e);
        free(path);
    }
    if (d != NULL)
        closedir(d);
    buf_free(&prefix);
    buf_free(&suffix);
    free(dir);
    return rc;
}

/*
 * Log in with the password, or with an OAuth2 token when pop3_auth asks for XOAUTH2 or
 * OAUTHBEARER, or when it is auto, the account has OAuth2 settings and the server offers
 * one of them. A refused token is refreshed and tried once more.
 */
static int fetch_login(struct fetch *f, struct err *e)
{
    const struct account *a = f->a;
    bool plain = a->pop3_tls == TLS_MODE_NONE;
    enum auth_mech mech = a->pop3_auth;
    unsigned caps = pop3_caps(f->pop);
    char *pass;
    int rc;

    if (mech == AUTH_AUTO && oauth_configured(a)) {
        if (caps & POP3_CAP_SASL_OAUTHBEARER)
            mech = AUTH_OAUTHBEARER;
        else if (caps & POP3_CAP_SASL_XOAUTH2)
            mech = AUTH_XOAUTH2;
        else if (a->password == NULL && a->password_command == NULL)
            return err_set(e, ERR_AUTH, "%s: the server offers no SASL XOAUTH2 or OAUTHBEARER",
                           a->pop3_host);
    }
    if (mech != AUTH_XOAUTH2 && mech != AUTH_OAUTHBEARER) {
        if ((pass = secret_get(a, SECRET_POP3, e)) == NULL)
            return -1;
        rc = pop3_login(f->pop, a->pop3_user, pass, mech, plain, e);
        secret_free(pass);
        return rc;
    }
    if (!pop3_is_tls(f->pop) && !plain)
        return pop3_login(f->pop, a->pop3_user, "", mech, plain, e);   /* refuses */
    if ((pass = oauth_token(f->cfg, a, false, e)) == NULL)
        return -1;
    rc = pop3_login(f->pop, a->pop3_user, pass, mech, plain, e);
    secret_free(pass);
    if (rc == 0 || e->cls != ERR_AUTH)
        return rc;
    if ((pass = oauth_token(f->cfg, a, true, e)) == NULL)
        return -1;
    rc = pop3_login(f->pop, a->pop3_user, pass, mech, plain, e);
    secret_free(pass);
    return rc;
}

static int fetch_session(struct fetch *f, struct fetch_result *r, bool *listed, struct err *e)
{
    const struct account *a = f->a;
    struct pop3_opts po = { a->pop3_host, (int)a->pop3_port, a->pop3_tls, a->tls_ca_file,
                            a->tls_fingerprint, (int)a->timeout };
    struct pop3_entry *ents = NULL;
    unsigned long count = 0, *todo = NULL, *dele = NULL, nover = 0, first_over = 0;
    unsigned long long octets = 0, over_size = 0;
    size_t ntodo = 0, ndele = 0;
    int rc = -1;

    if (a->pop3_user == NULL)
        return err_set(e, ERR_CONFIG, "account %s: pop3_user is not set", a->name);
    fetch_report(f, FETCH_CONNECT);
    if (pop3_open(&po, &f->pop, e) < 0)
        return -1;
    snprintf(r->tls, sizeof r->tls, "%s", pop3_describe(f->pop));
    pop3_peer_addr(f->pop, f->peer, sizeof f->peer);
    if (f->fresh && f->peer[0] && state_adopt_same_peer(f, e) < 0)
        return -1;
    if (fetch_login(f, e) < 0)
        return -1;
    rc = -1;
    fetch_report(f, FETCH_LIST);
    if (pop3_stat(f->pop, &count, &octets, e) < 0)
        return -1;
    if (count > FETCH_MAX_MESSAGES)
        return err_set(e, ERR_PROTO, "%s: %lu messages on the server, more than tern handles "
                       "(%lu)", a->pop3_host, count, FETCH_MAX_MESSAGES);
    r->on_server = count;
    ents = xcalloc(count ? count : 1, sizeof *ents);
    if (count > 0 && (pop3_list(f->pop, count, ents, e) < 0 ||
                      pop3_uidl(f->pop, count, ents, e) < 0))
        goto out;
    *listed = true;
    todo = xreallocarray(NULL, count ? count : 1, sizeof *todo);
    for (unsigned long i = 0; i < count; i++) {
        struct uent *u;

        u = ents[i].uidl[0] ? uset_find(&f->set, ents[i].uidl) : NULL;
        if (u != NULL) {
            u->on_server = true;
            continue;
        }
        if (ents[i].num == 0 || ents[i].uidl[0] == '\0')
            continue;    /* listed by only one of LIST and UIDL: leave it alone */
        if (ents[i].size > (unsigned long long)a->pop3_max_size) {
            if (nover++ == 0) {
                first_over = ents[i].num;
                over_size = ents[i].size;
            }
            continue;
        }
        todo[ntodo++] = i;
        f->prog.total++;
        f->prog.bytes_total += ents[i].size;
    }
    fetch_report(f, FETCH_RETR);
    if (ntodo > 0 && fetch_download(f, ents, todo, ntodo, r, e) < 0)
        goto out;
    if (f->o && f->o->cancel && *f->o->cancel) {
        err_set(e, ERR_CANCEL, "interrupted");
        goto out;
    }
    fetch_report(f, FETCH_DELETE);
    {
        time_t now = time(NULL);

        dele = xreallocarray(NULL, count ? count : 1, sizeof *dele);
        for (unsigned long i = 0; i < count; i++) {
            struct uent *u = ents[i].uidl[0] ? uset_find(&f->set, ents[i].uidl) : NULL;

            if (u != NULL && ents[i].num != 0 && fetch_should_delete(f, u, now))
                dele[ndele++] = ents[i].num;
        }
    }
    if (ndele > 0 && pop3_dele(f->pop, dele, ndele, e) < 0)
        goto out;
    if (pop3_quit(f->pop, e) < 0)
        goto out;
    /* QUIT answered +OK: the deletions are done, forget those ids. */
    for (size_t j = 0; j < ndele; j++) {
        struct uent *u = uset_find(&f->set, ents[dele[j] - 1].uidl);

        if (u != NULL)
            u->deleted = true;
    }
    r->deleted = ndele;
    f->prog.deleted = ndele;
    if (nover > 0) {
        err_set(e, ERR_PERM, "%s: %lu message%s over pop3_max_size (%ld bytes) left on the "
                "server, e.g. message %lu of %llu bytes", a->pop3_host, nover,
                nover == 1 ? "" : "s", a->pop3_max_size, first_over, over_size);
        goto out;
    }
    rc = 0;
out:
    free(ents);
    free(todo);
    free(dele);
    return rc;
}

/*
 * First contact with this mailbox under its own state while an older tern kept one under the
 * account's name and host: take its ids (and those its journal proves delivered) over as
 * adopted, so that nothing is fetched again and nothing it names is ever deleted: the user or
 * port may have changed since, and then they are another mailbox's ids. The old files are
 * renamed, not removed, and only after the new state is durable.
 */
static int state_migrate(struct fetch *f, struct err *e)
{
    char *old = fetch_legacy_state_path(f->cfg, f->a);
    struct buf oj = BUF_INIT, done = BUF_INIT;
    struct stat st;
    char *saved_journal = f->journal_path;
    int rc = 0;

    if (f->set.n > 0 || stat(f->state_path, &st) == 0 || lstat(old, &st) < 0 ||
        !S_ISREG(st.st_mode)) {
        free(old);
        return 0;
    }
    buf_printf(&oj, "%s.journal", old);
    f->fresh = false;
    if (state_load_file(f, old, true, e) < 0) {
        rc = -1;
        goto out;
    }
    /* The old journal's delivered intents are old-state ids too. */
    f->journal_path = oj.ptr;
    f->adopting = true;
    rc = journal_reconcile(f, e);      /* saves the new state, then drops the old journal */
    f->adopting = false;
    f->journal_path = saved_journal;
    if (rc == 0 && state_save(f, false, e) < 0)    /* also when there was no journal */
        rc = -1;
    if (rc == 0) {
        buf_printf(&done, "%s.migrated", old);
        if (rename(old, done.ptr) < 0)
            rc = err_sys(e, "rename %s", old);
    }
out:
    buf_free(&done);
    buf_free(&oj);
    free(old);
    return rc;
}

int fetch_account(const struct config *cfg, const struct account *a, const struct fetch_opts *o,
                  struct fetch_result *r, struct err *e)
{
    struct fetch f;
    struct err se;
    bool listed = false;
    int rc = -1;
    char *dir;

    memset(r, 0, sizeof *r);
    memset(&f, 0, sizeof f);
    f.cfg = cfg;
    f.a = a;
    f.o = o;
    f.lock_fd = f.journal_fd = f.inbox_fd = -1;
    f.prog.account = a->name;
    clock_gettime(CLOCK_MONOTONIC, &f.t0);
    if (a->pop3_host == NULL)
        return err_set(e, ERR_CONFIG, "account %s has no pop3_host", a->name);
    f.state_path = fetch_state_path(cfg, a);
    {
        struct buf b = BUF_INIT;

        buf_printf(&b, "%s.journal", f.state_path);
        f.journal_path = buf_detach(&b);
        buf_printf(&b, "%s.lock", f.state_path);
        f.lock_path = buf_detach(&b);
    }
    f.inbox_name = paths_role(cfg, NULL, a, ROLE_INBOX);
    f.inbox = paths_role_dir(cfg, NULL, a, ROLE_INBOX);
    dir = fs_dirname(f.state_path);
    if (fs_mkdir_p(dir, 0700, e) < 0) {
        free(dir);
        goto out;
    }
    free(dir);
    f.lock_fd = fs_lock(f.lock_path, e);
    if (f.lock_fd < 0) {
        if (e->cls == ERR_LOCKED)
            err_set(e, ERR_LOCKED, "account %s: another tern fetch is running (lock %s)",
                    a->name, f.lock_path);
        goto out;
    }
    f.fresh = access(f.state_path, F_OK) != 0;
    if (maildir_create(f.inbox, e) < 0 || state_load(&f, e) < 0 ||
        state_migrate(&f, e) < 0 || journal_reconcile(&f, e) < 0 || journal_open(&f, e) < 0)
        goto out;
    fetch_clean_tmp(f.inbox);
    f.inbox_fd = open(f.inbox, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    rc = fetch_session(&f, r, &listed, e);
    /* Whatever happened, record what reached the disk; prune ids the server no longer has
     * only after a complete listing. */
    if (f.journal_fd >= 0) {
        if (state_save(&f, listed, rc < 0 ? &se : e) < 0) {
            if (rc == 0)
                rc = -1;
        } else if (!f.keep_journal) {
            unlink(f.journal_path);
        }
    }
    r->seconds = fetch_elapsed(&f);
    if (rc == 0)
        fetch_report(&f, FETCH_DONE);
out:
    pop3_close(f.pop);
    if (f.journal_fd >= 0)
        close(f.journal_fd);
    if (f.inbox_fd >= 0)
        close(f.inbox_fd);
    if (f.lock_fd >= 0)
        fs_unlock(f.lock_fd);
    uset_free(&f.set);
    free(f.state_path);
    free(f.journal_path);
    free(f.lock_path);
    free(f.inbox);
    return rc;
}

/*
 * The outgoing path below the UI, for the compose screen and `tern send` alike: envelope,
 * aliases, account choice, Date and Message-ID; the editor file in a private directory with
 * the built message beside it (a crash while editing loses nothing); drafts; the queue.
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tern/compose.h"
#include "tern/addrbook.h"
#include "tern/fsutil.h"
#include "tern/header.h"
#include "tern/maildir.h"
#include "tern/mime.h"
#include "tern/paths.h"
#include "tern/queue.h"
#include "tern/smtp.h"
#include "tern/str.h"
#include "tern/xalloc.h"

char *compose_dir(const struct config *cfg, struct err *e)
{
    char *dir = paths_state(cfg->mail_root, PATH_COMPOSE);

    if (fs_mkdir_p(dir, 0700, e) < 0 || chmod(dir, 0700) < 0) {
        if (e && e->cls == ERR_NONE)
            err_sys(e, "%s", dir);
        free(dir);
        return NULL;
    }
    return dir;
}

/* ---- the user's addresses ---- */

static char *mailbox_of(const char *v)
{
    return v ? addr_first_mailbox(v, strlen(v)) : NULL;
}

/* Every account's address, for leaving the user out of reply-all. */
static size_t own_addresses(const struct config *cfg, char ***out)
{
    size_t n = 0;

    *out = xcalloc(cfg->naccounts + 1, sizeof **out);
    for (size_t i = 0; i < cfg->naccounts; i++) {
        char *m = mailbox_of(cfg->accounts[i].from);
        if (m)
            (*out)[n++] = m;
    }
    return n;
}

const struct account *compose_account_by_addr(const struct config *cfg, const char *addr)
{
    for (size_t i = 0; addr && i < cfg->naccounts; i++) {
        char *m = mailbox_of(cfg->accounts[i].from);
        bool same = m && str_casecmp(m, addr) == 0;

        free(m);
        if (same)
            return &cfg->accounts[i];
    }
    return NULL;
}

/* The account a reply should come from: the one the original was addressed to. */
static const struct account *account_for_reply(const struct config *cfg, const char *msg,
                                               size_t len)
{
    static const char *const fields[] = { "To", "Cc", "Delivered-To", "X-Original-To" };
    size_t hlen = hdr_block_len(msg, len);

    for (size_t f = 0; f < sizeof fields / sizeof fields[0]; f++) {
        const struct account *hit = NULL;
        struct hdr_field hf;
        struct addr *a;
        size_t n;

        if (!hdr_find(msg, hlen, fields[f], &hf) ||
            addr_parse_list(hf.value, hf.value_len, &a, &n) < 0)
            continue;
        for (size_t i = 0; hit == NULL && i < n; i++)
            hit = compose_account_by_addr(cfg, a[i].mailbox);
        addr_list_free(a, n);
        if (hit)
            return hit;
    }
    return NULL;
}

/* ---- loading a stored message back into a draft ---- */

/* An empty field counts as absent: the draft leaves it unset. Takes v (a new string). */
static char *unless_empty(char *v)
{
    if (v && *v == '\0') {
        free(v);
        v = NULL;
    }
    return v;
}

static char *decoded(const char *msg, size_t hlen, const char *name)
{
    return unless_empty(hdr_get(msg, hlen, name));
}

/* The same for an address field: split first, then decode names (hdr_get_addrs). */
static char *decoded_addrs(const char *msg, size_t hlen, const char *name)
{
    return unless_empty(hdr_get_addrs(msg, hlen, name));
}

static char *unfolded(const char *msg, size_t hlen, const char *name)
{
    struct hdr_field f;
    char *v, *t;

    if (!hdr_find(msg, hlen, name, &f))
        return NULL;
    v = hdr_unfold(f.value, f.value_len);
    t = xstrdup(str_trim(v));
    free(v);
    return t;
}

static void load_message(struct draft *d, const char *msg, size_t len)
{
    size_t hlen = hdr_block_len(msg, len);
    struct mime_tree t;
    bool have_text = false;

    d->from = decoded_addrs(msg, hlen, "From");
    d->to = decoded_addrs(msg, hlen, "To");
    d->cc = decoded_addrs(msg, hlen, "Cc");
    d->bcc = decoded_addrs(msg, hlen, "Bcc");
    d->reply_to = decoded_addrs(msg, hlen, "Reply-To");
    d->subject = decoded(msg, hlen, "Subject");
    d->in_reply_to = unfolded(msg, hlen, "In-Reply-To");
    d->references = unfolded(msg, hlen, "References");
    d->message_id = unfolded(msg, hlen, "Message-ID");
    mime_parse(msg, len, &t);
    for (size_t i = 0; i < t.n; i++) {
        const struct mime_part *p = &t.parts[i];

        if (p->number == 0)
            continue;
        if (!have_text && !p->attachment && strcmp(p->type, "text/plain") == 0) {
            mime_text(p, &d->body);
            have_text = true;
        } else {
            struct buf data = BUF_INIT;

            mime_decode(p, &data);
            draft_attach_data(d, p->filename ? p->filename : "attachment", p->type,
                              data.ptr ? data.ptr : "", data.len);
            buf_free(&data);
        }
    }
    mime_free(&t);
}

/* ---- what a draft answers, kept beside it ----
 * A reply or forward remembers its originals (for flag R or P once sent) through a postponed
 * draft and a crash: mail_root/.tern/compose/answers/KEY holds a "FLAG PATH" line for each,
 * KEY being the unique name of the Drafts message or the recovery copy's file name. */

static void answers_clear(struct compose *c)
{
    str_list_free(c->answers, c->nanswers);
    c->answers = NULL;
    c->nanswers = 0;
}

static void answers_add(struct compose *c, const char *path, size_t len, char flag)
{
    if (c->nanswers >= QUEUE_MAX_ANSWERS)
        return;
    c->answers = xreallocarray(c->answers, c->nanswers + 1, sizeof *c->answers);
    c->answers[c->nanswers++] = xstrndup(path, len);
    c->answers_flag = flag;
}

static char *answers_path(const struct config *cfg, const char *file)
{
    const char *base = strrchr(file, '/');
    size_t ulen;
    struct buf b = BUF_INIT;

    base = base ? base + 1 : file;
    maildir_name_split(base, &ulen);
    if (ulen == 0 || base[0] == '.')
        return NULL;
    {
        char *dir = paths_state(cfg->mail_root, PATH_COMPOSE);

        buf_printf(&b, "%s/answers/", dir);
        free(dir);
    }
    buf_add(&b, base, ulen);
    return buf_detach(&b);
}

static char *answers_save(const struct compose *c, const struct config *cfg, const char *file)
{
    char *path = c->nanswers ? answers_path(cfg, file) : NULL;
    struct buf text = BUF_INIT;
    struct err e;

    if (path == NULL)
        return NULL;
    for (size_t i = 0; i < c->nanswers; i++)
        buf_printf(&text, "%c %s\n", c->answers_flag, c->answers[i]);
    {
        char *dir = fs_dirname(path);

        if (fs_mkdir_p(dir, 0700, &e) == 0)
            fs_write_atomic(path, text.ptr, text.len, 0600, &e);
        free(dir);
    }
    buf_free(&text);
    return path;
}

static void answers_load(struct compose *c, const struct config *cfg, const char *file)
{
    char *path = answers_path(cfg, file);
    struct buf text = BUF_INIT;
    struct err e;

    if (path && fs_read_file(path, &text, &e) == 0) {
        answers_clear(c);
        for (size_t at = 0; at < text.len;) {
            const char *line = text.ptr + at, *nl = memchr(line, '\n', text.len - at);
            size_t n = nl ? (size_t)(nl - line) : text.len - at;

            if (n > 2 && (line[0] == 'R' || line[0] == 'P') && line[1] == ' ' &&
                memchr(line + 2, '\0', n - 2) == NULL)
                answers_add(c, line + 2, n - 2, line[0]);
            at += n + 1;
        }
    }
    buf_free(&text);
    free(path);
}

/* A queued message taken back for editing keeps what its queue entry answers. */
static void answers_from_queue(struct compose *c, const struct config *cfg)
{
    struct queue *q;
    struct queue_entry *ents;
    size_t n;
    struct err e;
    long i;

    if (queue_open_cfg(cfg, NULL, &q, &e) < 0)
        return;
    if (queue_list(q, &ents, &n, NULL, &e) == 0) {
        i = queue_find(ents, n, c->origin.queue_id);
        if (i >= 0 && ents[i].answers.flag && ents[i].answers.n)
            answers_clear(c);
        for (size_t k = 0; i >= 0 && ents[i].answers.flag && k < ents[i].answers.n; k++) {
            const struct queue_answer *an = &ents[i].answers.msg[k];
            struct buf b = BUF_INIT;

            if (an->dir == NULL || an->id == NULL)
                continue;
            buf_printf(&b, "%s/cur/%s", an->dir, an->id);
            answers_add(c, b.ptr, b.len, ents[i].answers.flag);
            buf_free(&b);
        }
        queue_list_free(ents, n);
    }
    queue_close(q);
}

static void answers_drop(const struct config *cfg, const char *file)
{
    char *path = file ? answers_path(cfg, file) : NULL;

    if (path)
        unlink(path);
    free(path);
}

/* ---- starting ---- */

static void append_signature(struct draft *d, const struct account *acct)
{
    struct buf sig = BUF_INIT;
    struct err e;

    if (acct == NULL || acct->signature == NULL || fs_read_file(acct->signature, &sig, &e) < 0)
        return;
    if (d->body.len && d->body.ptr[d->body.len - 1] != '\n')
        buf_addc(&d->body, '\n');
    buf_adds(&d->body, d->body.len ? "\n-- \n" : "\n\n-- \n");
    buf_add(&d->body, sig.ptr, sig.len);
    if (sig.len && sig.ptr[sig.len - 1] != '\n')
        buf_addc(&d->body, '\n');
    buf_free(&sig);
}

static int start_from_message(struct compose *c, const struct config *cfg,
                              enum compose_kind kind, const char *msg, size_t len,
                              struct err *e)
{
    char **own;
    size_t nown = own_addresses(cfg, &own);
    struct identity me = { c->acct ? c->acct->from : NULL, (const char *const *)own, nown,
                           NULL };
    struct crypt_opts co;
    bool smime;
    int rc;

    /* An encrypted original: its text is quoted decrypted, so the reply is encrypted by
     * default (in the original's protocol) and may not go out unencrypted. */
    crypt_opts_init(&co, cfg->mail_root, c->acct);
    if (crypt_scan(msg, len, &smime) & CRYPT_MARK_ENCRYPTED) {
        me.crypt = &co;
        c->quotes_decrypted = true;
        c->crypt = (c->crypt & ~CRYPT_SMIME) | CRYPT_ENCRYPT | (smime ? CRYPT_SMIME : 0);
    }
    if (kind == COMPOSE_FORWARD)
        rc = forward_draft(msg, len, cfg->forward_as_attachment, &me, &c->d, e);
    else
        rc = reply_draft(msg, len, kind == COMPOSE_REPLY_ALL ? REPLY_ALL :
                         kind == COMPOSE_REPLY_LIST ? REPLY_LIST : REPLY_SENDER, &me, &c->d, e);
    crypt_opts_free(&co);
    str_list_free(own, nown);
    return rc;
}

/* The lock file of a draft-X.eml / draft-X.saved pair: draft-X.lock (new string). */
static char *lock_path_of(const char *path, size_t suffix)
{
    struct buf b = BUF_INIT;

    buf_add(&b, path, strlen(path) - suffix);
    buf_adds(&b, ".lock");
    return buf_detach(&b);
}

/* Hold the lock of a draft being edited; -1 when another tern holds it. */
static int lock_draft(const char *path, size_t suffix)
{
    char *lp = lock_path_of(path, suffix);
    struct err e;
    int fd = fs_lock(lp, &e);

    free(lp);
    return fd;
}

/* The lock of a Drafts file or queued message being resumed, keyed by its Maildir unique
 * name (the flags part changes): COMPOSE_DIR/edit-UNIQUE.lock. -1 when taken. */
static int lock_origin(const struct config *cfg, const char *origin, struct err *e)
{
    const char *base = strrchr(origin, '/');
    char *dir = compose_dir(cfg, e);
    struct buf lp = BUF_INIT;
    int fd;

    if (dir == NULL)
        return -1;
    base = base ? base + 1 : origin;
    buf_printf(&lp, "%s/edit-%.*s.lock", dir, (int)strcspn(base, ":"), base);
    free(dir);
    fd = fs_lock(lp.ptr, e);
    if (fd < 0 && e->cls == ERR_LOCKED)
        err_set(e, ERR_LOCKED, "This message is being edited in another tern.");
    buf_free(&lp);
    return fd;
}

/* a is newer than b (nanoseconds: both files are often written within one second) */
static bool newer(const struct stat *a, const struct stat *b)
{
    return a->st_mtim.tv_sec != b->st_mtim.tv_sec ? a->st_mtim.tv_sec > b->st_mtim.tv_sec :
                                                    a->st_mtim.tv_nsec > b->st_mtim.tv_nsec;
}

/*
 * A recovery copy ("draft-XXXXXX.saved" in the compose directory) comes back with its editor
 * file (draft-XXXXXX.eml), whose lock it takes. The newer of the two wins: the editor file
 * when the crash came while editing (its text over the copy's headers and body; attachments
 * come from the copy), the copy when the last change was made on the compose screen. An editor file that is newer but does not
 * parse is never replaced by the older copy: text_broken says the user must fix it first.
 */
static void adopt_recovery(struct compose *c, const char *path)
{
    size_t n = strlen(path);
    struct stat se, st;
    struct buf text = BUF_INIT, f = BUF_INIT;
    struct err e;

    if (n < 7 || strcmp(path + n - 6, ".saved") != 0 || strstr(path, "/.tern/compose/") == NULL)
        return;
    c->saved = xstrdup(path);
    buf_add(&f, path, n - 6);
    buf_adds(&f, ".eml");
    c->file = buf_detach(&f);
    c->lock_fd = lock_draft(path, 6);
    if (stat(c->saved, &se) == 0 && stat(c->file, &st) == 0 && newer(&st, &se) &&
        fs_read_file(c->file, &text, &e) == 0) {
        if (draft_from_text(&c->d, text.ptr ? text.ptr : "", text.len, &e) < 0) {
            c->text_broken = true;
            c->broken = e;
        }
        buf_reset(&c->written);
        buf_add(&c->written, text.ptr, text.len);
    }
    buf_free(&text);
    c->edited = true;
}

/* Append the addresses of list that are not in *dst yet (by mailbox, any case). */
static void merge_addresses(char **dst, const char *list)
{
    struct buf b = BUF_INIT;
    const char *p = list;

    if (list == NULL || *list == '\0')
        return;
    buf_adds(&b, *dst ? *dst : "");
    while (*p) {
        size_t n = 0;
        bool q = false;
        char *one;

        for (; p[n] && (q || p[n] != ','); n++)     /* "Doe, Jane" <j@x> is one address */
            if (p[n] == '"')
                q = !q;
        one = xstrndup(p, n);
        char *mb = mailbox_of(one);

        if (mb && (b.len == 0 || str_casemem(b.ptr, b.len, mb) == NULL)) {
            if (b.len)
                buf_adds(&b, ", ");
            buf_adds(&b, one + strspn(one, " "));
        }
        free(mb);
        free(one);
        p += n;
        if (*p == ',')
            p++;
    }
    free(*dst);
    *dst = xstrdup(buf_cstr(&b));
    buf_free(&b);
}

/*
 * `;r`, `;g`, `;f`: the other tagged messages join the draft made from the first. A reply
 * goes to every sender (to all their recipients too with g) and quotes each message in
 * turn; a forward carries every message (inline: one after the other with their
 * attachments; as attachments: one message/rfc822 part each).
 */
static int add_messages(struct compose *c, const struct config *cfg, enum compose_kind kind,
                        const char *const *paths, size_t n, struct err *e)
{
    for (size_t i = 0; i < n; i++) {
        struct compose one;
        struct buf msg = BUF_INIT;
        int rc;

        memset(&one, 0, sizeof one);
        draft_init(&one.d);
        one.acct = c->acct;
        rc = fs_read_file(paths[i], &msg, e);
        if (rc == 0)
            rc = start_from_message(&one, cfg, kind, buf_cstr(&msg), msg.len, e);
        buf_free(&msg);
        if (rc < 0) {
            draft_free(&one.d);
            return -1;
        }
        if (kind != COMPOSE_FORWARD) {
            merge_addresses(&c->d.to, one.d.to);
            merge_addresses(&c->d.cc, one.d.cc);
        }
        if (c->d.body.len && c->d.body.ptr[c->d.body.len - 1] != '\n')
            buf_addc(&c->d.body, '\n');
        if (one.d.body.len) {
            buf_addc(&c->d.body, '\n');
            buf_add(&c->d.body, one.d.body.ptr, one.d.body.len);
        }
        for (size_t k = 0; k < one.d.natt; k++) {
            struct attachment *at = &one.d.att[k];

            if (at->path)
                draft_attach_file(&c->d, at->path, at->name);
            else
                draft_attach_data(&c->d, at->name, at->type, at->data.ptr, at->data.len);
        }
        draft_free(&one.d);
    }
    return 0;
}

/* A draft postponed encrypted (it quoted decrypted text): decrypted in memory to be edited,
 * and encrypted again whatever happens next. */
static int resume_encrypted(struct compose *c, const struct config *cfg, struct buf *msg,
                            struct err *e)
{
    struct crypt_opts co;
    struct buf plain = BUF_INIT;
    bool smime;
    int rc;

    crypt_opts_init(&co, cfg->mail_root, c->acct);
    rc = crypt_unwrap(msg->ptr ? msg->ptr : "", msg->len, &co, &plain, &smime, e);
    crypt_opts_free(&co);
    if (rc < 0) {
        buf_free(&plain);
        return err_prefix(e, "cannot resume the encrypted draft"), -1;
    }
    if (rc == 1) {
        buf_free(msg);
        *msg = plain;
        c->quotes_decrypted = true;
        c->crypt = (c->crypt & ~CRYPT_SMIME) | CRYPT_ENCRYPT | (smime ? CRYPT_SMIME : 0);
    }
    return 0;
}

int compose_start(struct compose *c, const struct config *cfg, enum compose_kind kind,
                  const char *msg_path, const char *queue_id, const struct account *acct,
                  struct err *e)
{
    return compose_start_many(c, cfg, kind, &msg_path, msg_path ? 1 : 0, queue_id, acct, e);
}

int compose_start_many(struct compose *c, const struct config *cfg, enum compose_kind kind,
                       const char *const *paths, size_t npaths, const char *queue_id,
                       const struct account *acct, struct err *e)
{
    const char *msg_path = npaths ? paths[0] : NULL;
    struct buf msg = BUF_INIT;
    char *dom;

    memset(c, 0, sizeof *c);
    c->lock_fd = c->origin.lock_fd = -1;
    draft_init(&c->d);
    buf_init(&c->written);
    c->acct = acct ? acct : config_account(cfg, NULL);
    if (c->acct)
        c->crypt = (c->acct->crypt_sign ? CRYPT_SIGN : 0) |
                   (c->acct->crypt_smime ? CRYPT_SMIME : 0);
    if (kind != COMPOSE_NEW) {
        if (msg_path == NULL || fs_read_file(msg_path, &msg, e) < 0)
            goto fail;
        buf_cstr(&msg);
    }
    if ((kind == COMPOSE_RESUME || kind == COMPOSE_AS_NEW) &&
        resume_encrypted(c, cfg, &msg, e) < 0)      /* an encrypted one is edited decrypted */
        goto fail;
    if (kind == COMPOSE_AS_NEW) {
        load_message(&c->d, msg.ptr, msg.len);
        free(c->d.message_id);          /* a message of its own; the original stays */
        c->d.message_id = NULL;
    } else if (kind == COMPOSE_RESUME) {
        load_message(&c->d, msg.ptr, msg.len);
        c->origin.path = xstrdup(msg_path);
        c->origin.queue_id = queue_id ? xstrdup(queue_id) :
                             queue_id_of_path(cfg->mail_root, msg_path);
        adopt_recovery(c, msg_path);
        answers_load(c, cfg, msg_path);
        if (c->origin.queue_id)
            answers_from_queue(c, cfg);
        if (c->saved && c->nanswers)
            c->answers_file = answers_path(cfg, c->saved);
        if (c->saved) {             /* a recovery copy is not an origin to delete later */
            free(c->origin.path);
            c->origin.path = NULL;
            if (c->lock_fd < 0) {
                err_set(e, ERR_LOCKED, "This message is being edited in another tern.");
                goto fail;
            }
        } else if ((c->origin.lock_fd = lock_origin(cfg, msg_path, e)) < 0) {
            goto fail;
        }
    } else if (kind != COMPOSE_NEW) {
        const struct account *to_acct = acct ? NULL : account_for_reply(cfg, msg.ptr, msg.len);

        if (to_acct)
            c->acct = to_acct;
        if (start_from_message(c, cfg, kind, msg.ptr, msg.len, e) < 0 ||
            add_messages(c, cfg, kind, paths + 1, npaths - 1, e) < 0)
            goto fail;
        for (size_t i = 0; i < npaths; i++)
            answers_add(c, paths[i], strlen(paths[i]), kind == COMPOSE_FORWARD ? 'P' : 'R');
    } else {
        c->d.from = c->acct && c->acct->from ? xstrdup(c->acct->from) : NULL;
    }
    if (kind != COMPOSE_RESUME && kind != COMPOSE_AS_NEW)
        append_signature(&c->d, c->acct);
    if (c->d.message_id == NULL) {
        dom = mailbox_of(c->d.from);
        c->d.message_id = build_message_id(dom ? strchr(dom, '@') + 1 : NULL);
        free(dom);
    }
    if (msg.ptr)                    /* it may be decrypted text */
        memset(msg.ptr, 0, msg.cap);
    buf_free(&msg);
    return 0;
fail:
    buf_free(&msg);
    compose_free(c);
    return -1;
}

static void origin_free(struct compose_origin *o)
{
    if (o->lock_fd >= 0)
        fs_unlock(o->lock_fd);
    free(o->path);
    free(o->queue_id);
}

void compose_free(struct compose *c)
{
    if (c->lock_fd >= 0)
        fs_unlock(c->lock_fd);
    origin_free(&c->origin);
    draft_free(&c->d);
    free(c->file);
    free(c->saved);
    answers_clear(c);
    free(c->answers_file);
    buf_free(&c->written);
    memset(c, 0, sizeof *c);
    c->lock_fd = c->origin.lock_fd = -1;
}

/* ---- the editor ---- */

/* The built message beside the editor file, for recovery; failures to build (an address the
 * user has not finished) just leave the previous copy. */
static void save_recovery(struct compose *c)
{
    struct build_opts o = { .keep_bcc = true };
    struct buf out = BUF_INIT;
    struct err e;

    if (c->saved && build_message(&c->d, &o, &out, &e) == 0)
        fs_write_atomic(c->saved, out.ptr, out.len, 0600, &e);
    buf_free(&out);
}

int compose_write(struct compose *c, const struct config *cfg, struct err *e)
{
    if (c->file == NULL) {
        char *dir = compose_dir(cfg, e);
        struct buf path = BUF_INIT;
        int fd;

        if (dir == NULL)
            return -1;
        /* .eml so that editors take it for mail (vim, emacs, nano pick the file type). */
        buf_printf(&path, "%s/draft-XXXXXX.eml", dir);
        free(dir);
        fd = mkostemps(path.ptr, 4, O_CLOEXEC);
        if (fd < 0) {
            err_sys(e, "%s", path.ptr);
            buf_free(&path);
            return -1;
        }
        close(fd);
        c->file = buf_detach(&path);
        buf_add(&path, c->file, strlen(c->file) - 4);
        buf_adds(&path, ".saved");
        c->saved = buf_detach(&path);
        if (c->lock_fd < 0)
            c->lock_fd = lock_draft(c->file, 4);
        free(c->answers_file);
        c->answers_file = answers_save(c, cfg, c->saved);
    }
    buf_reset(&c->written);
    draft_to_text(&c->d, &c->written);
    if (fs_write_atomic(c->file, c->written.ptr, c->written.len, 0600, e) < 0)
        return -1;
    save_recovery(c);
    return 0;
}

int compose_checkpoint(struct compose *c, const struct config *cfg, struct err *e)
{
    if (c->text_broken)
        return 0;        /* the user's newer text waits to be fixed: never overwrite it */
    return compose_write(c, cfg, e);
}

const char *compose_editor(const struct config *cfg)
{
    const char *v;

    if (cfg->editor && *cfg->editor)
        return cfg->editor;
    if ((v = getenv("VISUAL")) && *v)
        return v;
    if ((v = getenv("EDITOR")) && *v)
        return v;
    return "vi";
}

int compose_run_editor(const struct config *cfg, const char *file, struct err *e)
{
    struct buf cmd = BUF_INIT;
    int status;
    pid_t pid;

    /* The editor setting is a shell command (it may carry options); the file name is passed
     * as "$1" so that no character in it is ever interpreted. */
    buf_printf(&cmd, "%s \"$1\"", compose_editor(cfg));
    pid = fork();
    if (pid < 0) {
        buf_free(&cmd);
        return err_sys(e, "fork");
    }
    if (pid == 0) {
        sigset_t none;
        int sigs[] = { SIGINT, SIGQUIT, SIGTERM, SIGWINCH, SIGTSTP, SIGPIPE, SIGCHLD };

        for (size_t i = 0; i < sizeof sigs / sizeof sigs[0]; i++)
            signal(sigs[i], SIG_DFL);
        sigemptyset(&none);
        sigprocmask(SIG_SETMASK, &none, NULL);
        execl("/bin/sh", "sh", "-c", cmd.ptr, "sh", file, (char *)NULL);
        _exit(127);
    }
    buf_free(&cmd);
    while (waitpid(pid, &status, 0) < 0)
        if (errno != EINTR)
            return err_sys(e, "waitpid");
    if (WIFEXITED(status) && WEXITSTATUS(status) == 127)
        return err_set(e, ERR_SYS, "could not run the editor '%s'", compose_editor(cfg));
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

int compose_read(struct compose *c, const struct config *cfg, bool *changed, struct err *e)
{
    struct buf text = BUF_INIT;
    int rc;

    (void)cfg;
    if (fs_read_file(c->file, &text, e) < 0)
        return -1;
    *changed = text.len != c->written.len ||
               (text.len && memcmp(text.ptr, c->written.ptr, text.len) != 0);
    rc = draft_from_text(&c->d, text.ptr ? text.ptr : "", text.len, e);
    c->text_broken = rc < 0;
    if (rc == 0 && *changed) {
        c->edited = true;
        buf_reset(&c->written);
        buf_add(&c->written, text.ptr, text.len);
        save_recovery(c);
    }
    buf_free(&text);
    return rc;
}

/* ---- checks before sending ---- */

bool compose_forgot_attachment(const struct draft *d)
{
    static const char *const words[] = {
        "attach", "enclosed", "вложен", "Вложен", "прикреп", "Прикреп", "приложен",
        "Приложен", "anbei", "anhang", "pièce jointe", "pièces jointes", "adjunt",
        "allegat", "bijlage", "załącz", "添付", "附件",
    };
    const char *s = d->body.ptr;
    size_t n = d->body.len;

    if (d->natt > 0 || s == NULL)
        return false;
    for (size_t i = 0; i < n;) {
        const char *nl = memchr(s + i, '\n', n - i);
        size_t len = nl ? (size_t)(nl - (s + i)) : n - i;

        if (len == 3 && memcmp(s + i, "-- ", 3) == 0)
            break;          /* the signature may mention anything */
        if (len && s[i] != '>')
            for (size_t w = 0; w < sizeof words / sizeof words[0]; w++)
                if (str_casemem(s + i, len, words[w]))
                    return true;
        i += len + 1;
    }
    return false;
}

void compose_expand(struct compose *c, const struct config *cfg)
{
    char **fields[] = { &c->d.to, &c->d.cc, &c->d.bcc };
    char *path = paths_state(cfg->mail_root, PATH_ADDRESSES);
    struct addrbook *ab = NULL;
    struct err e;

    addrbook_open(path, &ab, &e);
    for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++) {
        char *x;

        if (*fields[i] == NULL)
            continue;
        x = addrbook_expand(cfg, *fields[i]);
        free(*fields[i]);
        *fields[i] = *x ? x : NULL;
        if (*x == '\0')
            free(x);
        if (ab && *fields[i])
            addrbook_note(ab, *fields[i], time(NULL));
    }
    if (ab)
        addrbook_save(ab, &e);
    addrbook_free(ab);
    free(path);
}

void compose_note_sender(const struct config *cfg, const char *msg_path)
{
    static const char *const fields[] = { "From", "Reply-To" };
    char *path = paths_state(cfg->mail_root, PATH_ADDRESSES);
    struct addrbook *ab = NULL;
    struct buf msg = BUF_INIT;
    struct err e;
    size_t hlen;

    if (fs_read_file(msg_path, &msg, &e) < 0 || addrbook_open(path, &ab, &e) < 0)
        goto out;
    hlen = hdr_block_len(msg.ptr, msg.len);
    for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++) {
        char *v = decoded_addrs(msg.ptr, hlen, fields[i]);
        time_t t = time(NULL);
        struct hdr_field f;

        if (hdr_find(msg.ptr, hlen, "Date", &f))
            hdr_parse_date(f.value, f.value_len, &t);
        if (v)
            addrbook_note(ab, v, t);
        free(v);
    }
    addrbook_save(ab, &e);
out:
    addrbook_free(ab);
    buf_free(&msg);
    free(path);
}

/* ---- leaving the compose screen ---- */

void compose_discard(struct compose *c)
{
    if (c->file)
        unlink(c->file);
    if (c->saved) {
        char *lp = lock_path_of(c->saved, 6);

        unlink(c->saved);
        unlink(lp);
        free(lp);
    }
    if (c->answers_file)
        unlink(c->answers_file);
}

/* Remove the message this one replaces: a draft file, or an entry of the queue. */
static void drop_origin(struct compose *c, const struct config *cfg)
{
    struct queue *q;
    struct queue_entry *ents;
    size_t n, orphans;
    struct err e;

    if (c->origin.queue_id && queue_open_cfg(cfg, NULL, &q, &e) == 0) {
        if (queue_list(q, &ents, &n, &orphans, &e) == 0) {
            long i = queue_find(ents, n, c->origin.queue_id);
            if (i >= 0)
                queue_remove(q, &ents[i], &e);
            queue_list_free(ents, n);
        }
        queue_close(q);
    } else if (c->origin.path) {
        char *dir = fs_dirname(c->origin.path);

        unlink(c->origin.path);
        fs_fsync_dir(dir, &e);
        free(dir);
        answers_drop(cfg, c->origin.path);
    }
}

/* A draft that quotes decrypted text, or is to be sent encrypted, goes to Drafts encrypted
 * to ourselves only (no recipient can read a draft). */
static int postpone_protect(struct compose *c, const struct config *cfg, struct buf *out,
                            struct err *e)
{
    struct crypt_opts co;
    int rc;

    if (!c->quotes_decrypted && !(c->crypt & CRYPT_ENCRYPT))
        return 0;
    crypt_opts_init(&co, cfg->mail_root, c->acct);
    rc = crypt_protect(out, CRYPT_ENCRYPT | (c->crypt & CRYPT_SMIME), &co, NULL, 0, e);
    crypt_opts_free(&co);
    return rc;
}

int compose_postpone(struct compose *c, const struct config *cfg, struct err *e)
{
    struct build_opts o = { .keep_bcc = true, .flowed = cfg->text_flowed };
    struct buf out = BUF_INIT;
    char *dir = paths_role_dir(cfg, NULL, c->acct, ROLE_DRAFTS);
    int rc = -1;

    char *saved_path = NULL;

    if (build_message(&c->d, &o, &out, e) == 0 && postpone_protect(c, cfg, &out, e) == 0 &&
        maildir_create(dir, e) == 0 &&
        maildir_deliver(dir, out.ptr, out.len, "DS", &saved_path, e) == 0) {
        free(answers_save(c, cfg, saved_path));
        drop_origin(c, cfg);
        compose_discard(c);
        rc = 0;
    }
    free(saved_path);
    buf_free(&out);
    free(dir);
    return rc;
}

/* ---- the envelope ---- */

int compose_envelope_add(const struct config *cfg, struct queue_entry *ent, const char *value,
                         size_t len, bool local_ok)
{
    char *v = xmemdup0(value, len), *x = addrbook_expand(cfg, v);
    struct addr *a;
    size_t n;
    int added = 0;

    free(v);
    if (addr_parse_list(x, strlen(x), &a, &n) < 0) {
        free(x);
        return 0;
    }
    for (size_t i = 0; i < n; i++) {
        bool dup = false;

        if (a[i].mailbox == NULL || *a[i].mailbox == '\0' ||
            (!local_ok && strchr(a[i].mailbox, '@') == NULL))
            continue;
        for (size_t k = 0; k < ent->nrcpts; k++)
            dup = dup || str_casecmp(ent->rcpts[k], a[i].mailbox) == 0;
        if (!dup) {
            queue_entry_add_rcpt(ent, a[i].mailbox);
            added++;
        }
    }
    addr_list_free(a, n);
    free(x);
    return added;
}

/* The envelope of a draft: the sender's mailbox and every recipient of To, Cc and Bcc. */
static int envelope(const struct config *cfg, const struct draft *d, struct queue_entry *ent,
                    struct err *e)
{
    const char *lists[] = { d->to, d->cc, d->bcc };

    ent->from = mailbox_of(d->from);
    if (ent->from == NULL)
        return err_set(e, ERR_PARSE, "From: '%s' is not an address", d->from ? d->from : "");
    for (size_t l = 0; l < 3; l++)
        if (lists[l])
            compose_envelope_add(cfg, ent, lists[l], strlen(lists[l]), false);
    if (ent->nrcpts == 0)
        return err_set(e, ERR_PARSE, "no recipients: fill in To, Cc or Bcc");
    return 0;
}

/* ---- a message given whole (tern send) ---- */

/*
 * "From: NAME <sender>" for -F NAME: quoted, or RFC 2047-encoded when it is not ASCII, by the
 * builder every composed From goes through; line ends as the message has them. A sender the
 * builder cannot take (no domain) keeps the plain quoted form.
 */
static void add_from_name(struct buf *b, const char *name, const char *sender, const char *nl)
{
    struct buf phrase = BUF_INIT, field = BUF_INIT;

    for (const char *p = name; *p; p++)         /* a name never spans lines */
        buf_addc(&phrase, *p == '\r' || *p == '\n' ? ' ' : *p);
    buf_addc(&phrase, '\0');
    char *flat = buf_detach(&phrase);
    addr_quote(&phrase, flat);
    buf_printf(&phrase, " <%s>", sender);
    if (build_header_addresses(&field, "From", buf_cstr(&phrase), NULL) == 0) {
        for (size_t i = 0; i < field.len; i++)
            if (field.ptr[i] == '\n')
                buf_adds(b, nl);
            else
                buf_addc(b, field.ptr[i]);
    } else {
        buf_printf(b, "From: %s%s", buf_cstr(&phrase), nl);
    }
    free(flat);
    buf_free(&phrase);
    buf_free(&field);
}

void compose_complete_header(const char *msg, size_t n, const char *from, const char *fullname,
                             const char *sender, struct buf *out)
{
    size_t hlen = hdr_block_len(msg, n);
    const char *first = hlen ? memchr(msg, '\n', hlen) : NULL;
    const char *nl = first && first > msg && first[-1] == '\r' ? "\r\n" : "\n";
    const char *at = sender ? strrchr(sender, '@') : NULL;
    struct hdr_field f;

    if (hdr_find(msg, hlen, "From", &f) == 1)
        ;
    else if (fullname && *fullname)
        add_from_name(out, fullname, sender, nl);
    else
        buf_printf(out, "From: %s%s", from ? from : sender, nl);
    if (hdr_find(msg, hlen, "Date", &f) != 1) {
        buf_adds(out, "Date: ");
        build_date(out, time(NULL));
        buf_adds(out, nl);
    }
    if (hdr_find(msg, hlen, "Message-ID", &f) != 1) {
        char *mid = build_message_id(at && at[1] && !smtp_addr_bad(at + 1) ? at + 1 : NULL);

        buf_printf(out, "Message-ID: %s%s", mid, nl);
        free(mid);
    }
    if (hdr_find(msg, hlen, "MIME-Version", &f) != 1)
        buf_printf(out, "MIME-Version: 1.0%s", nl);
    /* a message with no header block at all keeps its bytes as the body */
    if (hlen == 0)
        buf_adds(out, nl);
    buf_add(out, msg, n);
}

/* The account: the one named, then the From address's, then -f's, then the default. */
static const struct account *raw_account(const struct config *cfg, const struct compose_raw *r,
                                         const char *hdr_from, struct err *e)
{
    const struct account *a = NULL;

    if (r->account) {
        a = config_account(cfg, r->account);
        if (a == NULL)
            err_set(e, ERR_CONFIG, "no account called '%s' in %s", r->account, cfg->path);
        return a;
    }
    a = compose_account_by_addr(cfg, hdr_from);
    if (a == NULL)
        a = compose_account_by_addr(cfg, r->from);
    if (a == NULL)
        a = config_account(cfg, NULL);
    if (a == NULL)
        err_set(e, ERR_CONFIG, "no account configured in %s (see mailrc(5))", cfg->path);
    return a;
}

int compose_raw(const struct config *cfg, const struct compose_raw *r, const char *msg,
                size_t n, struct queue_entry *ent, struct buf *out, struct err *e)
{
    size_t hlen = hdr_block_len(msg, n), pos = 0;
    const struct account *a;
    char *hdr_from = NULL;
    struct hdr_field f;
    int rc = -1;

    /* cron writes "From: root (Cron Daemon)": a local name is no envelope sender */
    if (hdr_find(msg, hlen, "From", &f) == 1) {
        hdr_from = addr_first_mailbox(f.value, f.value_len);
        if (hdr_from && strchr(hdr_from, '@') == NULL) {
            free(hdr_from);
            hdr_from = NULL;
        }
    }
    a = raw_account(cfg, r, hdr_from, e);
    if (a == NULL)
        goto out;
    /* the envelope sender: -f, then From, then the account's address */
    free(ent->from);
    ent->from = r->from ? xstrdup(r->from) : hdr_from ? xstrdup(hdr_from) : mailbox_of(a->from);
    if (ent->from == NULL) {
        err_set(e, ERR_CONFIG, "no sender: give -f, a From field or 'from' for account %s",
                a->name);
        goto out;
    }
    if (smtp_addr_bad(ent->from)) {
        err_set(e, ERR_PARSE, "bad sender address '%s'", ent->from);
        goto out;
    }
    free(ent->account);
    ent->account = xstrdup(a->name);
    for (size_t i = 0; i < r->nrcpts; i++)
        compose_envelope_add(cfg, ent, r->rcpts[i], strlen(r->rcpts[i]), true);
    while (r->extract && hdr_next(msg, hlen, &pos, &f) == 1) {
        if ((f.name_len == 2 && str_ncasecmp(f.name, "To", 2) == 0) ||
            (f.name_len == 2 && str_ncasecmp(f.name, "Cc", 2) == 0) ||
            (f.name_len == 3 && str_ncasecmp(f.name, "Bcc", 3) == 0))
            compose_envelope_add(cfg, ent, f.value, f.value_len, true);
    }
    if (ent->nrcpts == 0) {
        err_set(e, ERR_PARSE, "no recipient addresses found");
        goto out;
    }
    for (size_t k = 0; k < ent->nrcpts; k++) {
        if (smtp_addr_bad(ent->rcpts[k])) {
            err_set(e, ERR_PARSE, "bad recipient address '%s'", ent->rcpts[k]);
            goto out;
        }
    }
    compose_complete_header(msg, n, a->from, r->fullname, ent->from, out);
    rc = 0;
out:
    free(hdr_from);
    return rc;
}

/* Sign and/or encrypt the built message as c->crypt (which started from the account's
 * defaults) says, and as crypt_encrypt_when_possible allows. */
static int protect(struct compose *c, const struct config *cfg, const struct queue_entry *ent,
                   struct buf *out, struct err *e)
{
    if (c->quotes_decrypted && !(c->crypt & CRYPT_ENCRYPT))
        return err_set(e, ERR_CONFIG, "this message quotes decrypted text: it is only sent "
                       "encrypted (E turns encryption back on)");
    return crypt_protect_account(out, c->acct, cfg->mail_root, c->crypt,
                                 (CRYPT_SIGN | CRYPT_SMIME) & ~c->crypt, ent->rcpts,
                                 ent->nrcpts, e);
}

int compose_send(struct compose *c, const struct config *cfg, char **id, struct err *e)
{
    /* Signed text must survive transport byte for byte: no format=flowed trailing spaces. */
    struct build_opts o = { .keep_bcc = true,
                            .flowed = cfg->text_flowed && !(c->crypt & CRYPT_SIGN) };
    struct queue_entry ent;
    struct buf out = BUF_INIT;
    struct queue *q = NULL;
    int rc = -1;

    memset(&ent, 0, sizeof ent);
    if (c->acct == NULL) {
        err_set(e, ERR_CONFIG, "no account to send from: add an [account NAME] section");
        goto out;
    }
    ent.account = xstrdup(c->acct->name);
    for (size_t i = 0; i < c->nanswers; i++)
        queue_entry_add_answers(&ent, c->answers[i], c->answers_flag);
    if (envelope(cfg, &c->d, &ent, e) < 0 || build_message(&c->d, &o, &out, e) < 0 ||
        protect(c, cfg, &ent, &out, e) < 0 ||
        queue_open_cfg(cfg, NULL, &q, e) < 0 || queue_add(q, out.ptr, out.len, &ent, e) < 0)
        goto out;
    if (id)
        *id = xstrdup(ent.id);
    queue_close(q);
    q = NULL;
    drop_origin(c, cfg);
    compose_discard(c);
    rc = 0;
out:
    if (q)
        queue_close(q);
    queue_entry_free(&ent);
    buf_free(&out);
    return rc;
}

/* ---- recovery ---- */

struct leftover {
    char *path;
    time_t mtime;
};

static int newest_first(const void *a, const void *b)
{
    const struct leftover *x = a, *y = b;
    return (x->mtime < y->mtime) - (x->mtime > y->mtime);
}

size_t compose_leftovers(const struct config *cfg, char ***paths)
{
    char *dir = paths_state(cfg->mail_root, PATH_COMPOSE);
    DIR *d = opendir(dir);
    struct leftover *v = NULL;
    struct dirent *de;
    size_t n = 0;

    *paths = NULL;
    while (d && (de = readdir(d)) != NULL) {
        size_t len = strlen(de->d_name);
        struct stat st;
        char *p;

        int lk;

        if (len < 7 || strcmp(de->d_name + len - 6, ".saved") != 0)
            continue;
        p = fs_join(dir, de->d_name);
        if (stat(p, &st) < 0 || !S_ISREG(st.st_mode)) {
            free(p);
            continue;
        }
        if ((lk = lock_draft(p, 6)) < 0) {      /* another tern is editing it */
            free(p);
            continue;
        }
        fs_unlock(lk);
        v = xreallocarray(v, n + 1, sizeof *v);
        v[n].path = p;
        v[n++].mtime = st.st_mtime;
    }
    if (d)
        closedir(d);
    if (n > 1)
        qsort(v, n, sizeof *v, newest_first);
    *paths = xcalloc(n + 1, sizeof **paths);
    for (size_t i = 0; i < n; i++)
        (*paths)[i] = v[i].path;
    free(v);
    free(dir);
    return n;
}

void compose_list_free(char **paths, size_t n)
{
    str_list_free(paths, n);
}

/*
 * Composing without the screen: the editor file lives in a private directory under the mail
 * root, with the built message beside it after every edit, so that a crash while editing
 * loses nothing and the next start can offer it back. Sending hands the message to the
 * queue, which owns it durably from then on.
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

#include "compose.h"
#include "tern/addrbook.h"
#include "tern/fsutil.h"
#include "tern/header.h"
#include "tern/maildir.h"
#include "tern/mime.h"
#include "tern/queue.h"
#include "tern/str.h"
#include "tern/xalloc.h"

char *compose_dir(const struct config *cfg, struct err *e)
{
    char *dir = fs_join(cfg->mail_root, ".tern/compose");

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

/* The account a reply should come from: the one the original was addressed to. */
static const struct account *account_for_reply(const struct config *cfg, const char *msg,
                                               size_t len)
{
    static const char *const fields[] = { "To", "Cc", "Delivered-To", "X-Original-To" };
    size_t hlen = hdr_block_len(msg, len);

    for (size_t f = 0; f < sizeof fields / sizeof fields[0]; f++) {
        struct hdr_field hf;
        struct addr *a;
        size_t n;

        if (!hdr_find(msg, hlen, fields[f], &hf) ||
            addr_parse_list(hf.value, hf.value_len, &a, &n) < 0)
            continue;
        for (size_t i = 0; i < n; i++)
            for (size_t k = 0; a[i].mailbox && k < cfg->naccounts; k++) {
                char *m = mailbox_of(cfg->accounts[k].from);
                bool same = m && str_casecmp(m, a[i].mailbox) == 0;

                free(m);
                if (same) {
                    addr_list_free(a, n);
                    return &cfg->accounts[k];
                }
            }
        addr_list_free(a, n);
    }
    return NULL;
}

/* ---- loading a stored message back into a draft ---- */

/* An empty field counts as absent: the draft leaves it unset. */
static char *decoded(const char *msg, size_t hlen, const char *name)
{
    char *v = hdr_get(msg, hlen, name);

    if (v && *v == '\0') {
        free(v);
        v = NULL;
    }
    return v;
}

/* The same for an address field: split first, then decode names (hdr_get_addrs). */
static char *decoded_addrs(const char *msg, size_t hlen, const char *name)
{
    char *v = hdr_get_addrs(msg, hlen, name);

    if (v && *v == '\0') {
        free(v);
        v = NULL;
    }
    return v;
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
    struct identity me = { c->acct ? c->acct->from : NULL, (const char *const *)own, nown };
    int rc;

    if (kind == COMPOSE_FORWARD)
        rc = forward_draft(msg, len, cfg->forward_as_attachment, &me, &c->d, e);
    else
        rc = reply_draft(msg, len, kind == COMPOSE_REPLY_ALL ? REPLY_ALL :
                         kind == COMPOSE_REPLY_LIST ? REPLY_LIST : REPLY_SENDER, &me, &c->d, e);
    for (size_t i = 0; i < nown; i++)
        free(own[i]);
    free(own);
    return rc;
}

/* A recovery copy ("draft-XXXXXX.eml" in the compose directory) comes back with its editor
 * file, whose text wins when it is newer (the crash came while editing). */
static void adopt_recovery(struct compose *c, const char *path)
{
    size_t n = strlen(path);
    struct stat se, st;
    struct buf text = BUF_INIT;
    struct err e;

    if (n < 5 || strcmp(path + n - 4, ".eml") != 0 || strstr(path, "/.tern/compose/") == NULL)
        return;
    c->saved = xstrdup(path);
    c->file = xstrndup(path, n - 4);
    if (stat(c->saved, &se) == 0 && stat(c->file, &st) == 0 && st.st_mtime >= se.st_mtime &&
        fs_read_file(c->file, &text, &e) == 0)
        draft_from_text(&c->d, text.ptr ? text.ptr : "", text.len, &e);
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
    draft_init(&c->d);
    buf_init(&c->written);
    c->acct = acct ? acct : config_account(cfg, NULL);
    if (kind != COMPOSE_NEW) {
        if (msg_path == NULL || fs_read_file(msg_path, &msg, e) < 0)
            goto fail;
        buf_cstr(&msg);
    }
    if (kind == COMPOSE_RESUME) {
        load_message(&c->d, msg.ptr, msg.len);
        c->origin = xstrdup(msg_path);
        c->origin_queue_id = queue_id ? xstrdup(queue_id) : NULL;
        adopt_recovery(c, msg_path);
        if (c->saved) {             /* a recovery copy is not an origin to delete later */
            free(c->origin);
            c->origin = NULL;
        }
    } else if (kind != COMPOSE_NEW) {
        const struct account *to_acct = acct ? NULL : account_for_reply(cfg, msg.ptr, msg.len);

        if (to_acct)
            c->acct = to_acct;
        if (start_from_message(c, cfg, kind, msg.ptr, msg.len, e) < 0 ||
            add_messages(c, cfg, kind, paths + 1, npaths - 1, e) < 0)
            goto fail;
    } else {
        c->d.from = c->acct && c->acct->from ? xstrdup(c->acct->from) : NULL;
    }
    if (kind != COMPOSE_RESUME)
        append_signature(&c->d, c->acct);
    if (c->d.message_id == NULL) {
        dom = mailbox_of(c->d.from);
        c->d.message_id = build_message_id(dom ? strchr(dom, '@') + 1 : NULL);
        free(dom);
    }
    buf_free(&msg);
    return 0;
fail:
    buf_free(&msg);
    compose_free(c);
    return -1;
}

void compose_free(struct compose *c)
{
    draft_free(&c->d);
    free(c->file);
    free(c->saved);
    free(c->origin);
    free(c->origin_queue_id);
    buf_free(&c->written);
    memset(c, 0, sizeof *c);
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
        buf_printf(&path, "%s/draft-XXXXXX", dir);
        free(dir);
        fd = mkostemp(path.ptr, O_CLOEXEC);
        if (fd < 0) {
            err_sys(e, "%s", path.ptr);
            buf_free(&path);
            return -1;
        }
        close(fd);
        c->file = buf_detach(&path);
        buf_printf(&path, "%s.eml", c->file);
        c->saved = buf_detach(&path);
    }
    buf_reset(&c->written);
    draft_to_text(&c->d, &c->written);
    if (fs_write_atomic(c->file, c->written.ptr, c->written.len, 0600, e) < 0)
        return -1;
    save_recovery(c);
    return 0;
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
    char *path = fs_join(cfg->mail_root, ".tern/addresses");
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
    char *path = fs_join(cfg->mail_root, ".tern/addresses");
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
    if (c->saved)
        unlink(c->saved);
}

/* Remove the message this one replaces: a draft file, or an entry of the queue. */
static void drop_origin(struct compose *c, const struct config *cfg)
{
    struct queue *q;
    struct queue_entry *ents;
    size_t n, orphans;
    struct err e;

    if (c->origin_queue_id && queue_open(cfg->mail_root, &q, &e) == 0) {
        if (queue_list(q, &ents, &n, &orphans, &e) == 0) {
            long i = queue_find(ents, n, c->origin_queue_id);
            if (i >= 0)
                queue_remove(q, &ents[i], &e);
            queue_list_free(ents, n);
        }
        queue_close(q);
    } else if (c->origin) {
        char *dir = fs_dirname(c->origin);

        unlink(c->origin);
        fs_fsync_dir(dir, &e);
        free(dir);
    }
}

int compose_postpone(struct compose *c, const struct config *cfg, struct err *e)
{
    struct build_opts o = { .keep_bcc = true, .flowed = cfg->text_flowed };
    struct buf out = BUF_INIT;
    char *dir = maildir_folder_path(cfg->mail_root, c->acct ? c->acct->drafts : "Drafts");
    int rc = -1;

    if (build_message(&c->d, &o, &out, e) == 0 && maildir_create(dir, e) == 0 &&
        maildir_deliver(dir, out.ptr, out.len, "DS", NULL, e) == 0) {
        drop_origin(c, cfg);
        compose_discard(c);
        rc = 0;
    }
    buf_free(&out);
    free(dir);
    return rc;
}

/* The envelope: the sender's mailbox and every recipient of To, Cc and Bcc, once each. */
static int envelope(const struct draft *d, struct queue_entry *ent, struct err *e)
{
    const char *lists[] = { d->to, d->cc, d->bcc };

    ent->from = mailbox_of(d->from);
    if (ent->from == NULL)
        return err_set(e, ERR_PARSE, "From: '%s' is not an address", d->from ? d->from : "");
    for (size_t l = 0; l < 3; l++) {
        struct addr *a;
        size_t n;

        if (lists[l] == NULL || addr_parse_list(lists[l], strlen(lists[l]), &a, &n) < 0)
            continue;
        for (size_t i = 0; i < n; i++) {
            bool dup = false;

            if (a[i].mailbox == NULL || strchr(a[i].mailbox, '@') == NULL)
                continue;
            for (size_t k = 0; k < ent->nrcpts; k++)
                dup = dup || str_casecmp(ent->rcpts[k], a[i].mailbox) == 0;
            if (!dup)
                queue_entry_add_rcpt(ent, a[i].mailbox);
        }
        addr_list_free(a, n);
    }
    if (ent->nrcpts == 0)
        return err_set(e, ERR_PARSE, "no recipients: fill in To, Cc or Bcc");
    return 0;
}

int compose_send(struct compose *c, const struct config *cfg, char **id, struct err *e)
{
    struct build_opts o = { .keep_bcc = true, .flowed = cfg->text_flowed };
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
    if (envelope(&c->d, &ent, e) < 0 || build_message(&c->d, &o, &out, e) < 0 ||
        queue_open(cfg->mail_root, &q, e) < 0 || queue_add(q, out.ptr, out.len, &ent, e) < 0)
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
    char *dir = fs_join(cfg->mail_root, ".tern/compose");
    DIR *d = opendir(dir);
    struct leftover *v = NULL;
    struct dirent *de;
    size_t n = 0;

    *paths = NULL;
    while (d && (de = readdir(d)) != NULL) {
        size_t len = strlen(de->d_name);
        struct stat st;
        char *p;

        if (len < 5 || strcmp(de->d_name + len - 4, ".eml") != 0)
            continue;
        p = fs_join(dir, de->d_name);
        if (stat(p, &st) < 0 || !S_ISREG(st.st_mode)) {
            free(p);
            continue;
        }
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
    for (size_t i = 0; i < n; i++)
        free(paths[i]);
    free(paths);
}

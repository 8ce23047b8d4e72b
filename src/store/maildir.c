/* Maildir folders: crash-safe delivery, spec-exact names and flags, moves, folder discovery. */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "tern/buf.h"
#include "tern/fsutil.h"
#include "tern/maildir.h"
#include "tern/paths.h"
#include "tern/str.h"
#include "tern/xalloc.h"

/* ---- delivery ---- */

int maildir_create(const char *dir, struct err *e)
{
    static const char *const subs[] = { "cur", "new", "tmp" };
    struct stat st;
    bool created = stat(dir, &st) < 0;

    if (fs_mkdir_p(dir, 0700, e) < 0)
        return -1;
    for (size_t i = 0; i < 3; i++) {
        char *p = fs_join(dir, subs[i]);

        if (mkdir(p, 0700) == 0) {
            created = true;
        } else if (errno != EEXIST) {
            err_sys(e, "mkdir %s", p);
            free(p);
            return -1;
        }
        free(p);
    }
    /* A new folder must survive a power cut like the mail delivered into it: its
     * subdirectories' entries, and its own entry in the parent. */
    if (created) {
        char *parent = fs_dirname(dir);
        int rc = fs_fsync_dir(dir, e) < 0 || fs_fsync_dir(parent, e) < 0 ? -1 : 0;

        free(parent);
        return rc;
    }
    return 0;
}

struct maildir_tmp {
    char *dir;
    char *name;       /* unique base name */
    char *tmp_path;
    int fd;
};

static unsigned maildir_seq;

void maildir_host(struct buf *out)
{
    char host[256];

    if (gethostname(host, sizeof host) < 0 || host[0] == '\0')
        snprintf(host, sizeof host, "localhost");
    host[sizeof host - 1] = '\0';
    for (const char *p = host; *p; p++) {
        if (*p == '/')
            buf_adds(out, "\\057");
        else if (*p == ':')
            buf_adds(out, "\\072");
        else
            buf_addc(out, *p);
    }
}

int maildir_tmp_open(const char *dir, struct maildir_tmp **out, struct err *e)
{
    struct buf name = BUF_INIT, host = BUF_INIT;
    char *tmpdir = fs_join(dir, "tmp");

    *out = NULL;
    maildir_host(&host);
    for (int tries = 0; tries < 100; tries++) {
        struct timeval tv;
        char *path;
        int fd;

        gettimeofday(&tv, NULL);
        buf_reset(&name);
        buf_printf(&name, "%lld.M%ldP%ldQ%u.%s", (long long)tv.tv_sec, (long)tv.tv_usec,
                   (long)getpid(), ++maildir_seq, host.ptr);
        path = fs_join(tmpdir, name.ptr);
        fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
        if (fd >= 0) {
            struct maildir_tmp *t = xcalloc(1, sizeof *t);

            t->dir = xstrdup(dir);
            t->name = buf_detach(&name);
            t->tmp_path = path;
            t->fd = fd;
            *out = t;
            buf_free(&host);
            free(tmpdir);
            return 0;
        }
        if (errno != EEXIST) {
            err_sys(e, "create %s", path);
            free(path);
            break;
        }
        free(path);
    }
    if (*out == NULL && e != NULL && e->cls == ERR_NONE)
        err_set(e, ERR_SYS, "%s: cannot find a unique name", tmpdir);
    buf_free(&name);
    buf_free(&host);
    free(tmpdir);
    return -1;
}

int maildir_tmp_write(struct maildir_tmp *t, const void *p, size_t n, struct err *e)
{
    if (fs_write_all(t->fd, p, n) < 0)
        return err_sys(e, "write %s", t->tmp_path);
    return 0;
}

const char *maildir_tmp_name(const struct maildir_tmp *t)
{
    return t->name;
}

static void maildir_tmp_free(struct maildir_tmp *t)
{
    if (t->fd >= 0)
        close(t->fd);
    free(t->dir);
    free(t->name);
    free(t->tmp_path);
    free(t);
}

void maildir_tmp_abort(struct maildir_tmp *t)
{
    if (t == NULL)
        return;
    unlink(t->tmp_path);
    maildir_tmp_free(t);
}

/* "new/NAME" or "cur/NAME:2,FLAGS" as a relative path. */
static char *maildir_rel(const char *uniq, size_t uniq_len, bool cur, const char *flags)
{
    struct buf b = BUF_INIT;

    buf_adds(&b, cur ? "cur/" : "new/");
    buf_add(&b, uniq, uniq_len);
    if (cur) {
        buf_adds(&b, ":2,");
        buf_adds(&b, flags ? flags : "");
    }
    return buf_detach(&b);
}

int maildir_tmp_commit(struct maildir_tmp *t, const char *flags, char **out_path, struct err *e)
{
    char fl[MAILDIR_FLAGS_MAX + 1];
    char *rel, *final;
    int rc = -1;

    if (out_path)
        *out_path = NULL;
    if (fsync(t->fd) < 0) {
        err_sys(e, "fsync %s", t->tmp_path);
        maildir_tmp_abort(t);
        return -1;
    }
    if (close(t->fd) < 0) {
        t->fd = -1;
        err_sys(e, "close %s", t->tmp_path);
        maildir_tmp_abort(t);
        return -1;
    }
    t->fd = -1;
    if (flags)
        maildir_flags_normalize(flags, fl);
    rel = maildir_rel(t->name, strlen(t->name), flags != NULL, flags ? fl : NULL);
    final = fs_join(t->dir, rel);
    free(rel);
    /* link+unlink instead of rename would refuse to overwrite, but some file systems lack
     * hard links; the name is unique by construction (O_EXCL in tmp/, pid, sequence, usec). */
    if (rename(t->tmp_path, final) < 0) {
        err_sys(e, "rename %s", final);
        free(final);
        maildir_tmp_abort(t);
        return -1;
    }
    rc = 0;
    if (out_path)
        *out_path = final;
    else
        free(final);
    maildir_tmp_free(t);
    return rc;
}

int maildir_sync(const char *dir, struct err *e)
{
    char *n = fs_join(dir, "new"), *c = fs_join(dir, "cur");
    int rc = 0;

    if (fs_fsync_dir(n, e) < 0 || fs_fsync_dir(c, e) < 0)
        rc = -1;
    free(n);
    free(c);
    return rc;
}

int maildir_deliver(const char *dir, const void *p, size_t n, const char *flags, char **out_path,
                    struct err *e)
{
    struct maildir_tmp *t;

    if (out_path)
        *out_path = NULL;
    if (maildir_tmp_open(dir, &t, e) < 0)
        return -1;
    if (maildir_tmp_write(t, p, n, e) < 0) {
        maildir_tmp_abort(t);
        return -1;
    }
    if (maildir_tmp_commit(t, flags, out_path, e) < 0)
        return -1;
    if (maildir_sync(dir, e) < 0) {
        if (out_path) {
            free(*out_path);
            *out_path = NULL;
        }
        return -1;
    }
    return 0;
}

/* ---- folders ---- */

static bool is_dir(const char *path)
{
    struct stat st;

    return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

bool maildir_is_maildir(const char *dir)
{
    char *c = fs_join(dir, "cur"), *n = fs_join(dir, "new");
    bool ok = is_dir(c) && is_dir(n);

    free(c);
    free(n);
    return ok;
}

char *maildir_folder_path(const char *mail_root, const char *folder)
{
    char *root, *p;

    if (folder[0] == '/' || strcmp(folder, ".") == 0 || strcmp(folder, "..") == 0 ||
        str_startswith(folder, "./") || str_startswith(folder, "../") ||
        str_startswith(folder, "~/") || folder[0] == '$')
        return fs_expand(folder);
    root = paths_root(mail_root);
    p = paths_folder_join(root, folder);
    if (!is_dir(p) && is_dir(folder)) {
        free(p);
        free(root);
        return xstrdup(folder);
    }
    free(root);
    return p;
}

struct folder_list {
    char **v;
    size_t n, cap;
};

static void folder_add(struct folder_list *l, const char *name)
{
    l->v = xgrow(l->v, l->n + 1, &l->cap, sizeof *l->v);
    l->v[l->n++] = xstrdup(name);
    l->v[l->n] = NULL;
}

/* Walk path (whose folder name is rel, "" for mail_root) and collect Maildirs. */
static void folder_walk(const char *path, const char *rel, int depth, struct folder_list *l)
{
    DIR *d;
    struct dirent *de;

    if (depth > 16)
        return;
    if (rel[0] != '\0' && maildir_is_maildir(path))
        folder_add(l, rel);
    d = opendir(path);
    if (d == NULL)
        return;
    while ((de = readdir(d)) != NULL) {
        const char *nm = de->d_name;
        struct stat st;
        char *child, *crel;

        if (strcmp(nm, ".") == 0 || strcmp(nm, "..") == 0)
            continue;
        if (strcmp(nm, "cur") == 0 || strcmp(nm, "new") == 0 || strcmp(nm, "tmp") == 0)
            continue;
        if (str_startswith(nm, ".tern") || strcmp(nm, ".git") == 0)
            continue;
        child = fs_join(path, nm);
        if (lstat(child, &st) < 0 || !S_ISDIR(st.st_mode)) {
            free(child);
            continue;
        }
        crel = rel[0] ? fs_join(rel, nm) : xstrdup(nm);
        folder_walk(child, crel, depth + 1, l);
        free(crel);
        free(child);
    }
    closedir(d);
}

/* A Maildir++ root: its dot-folders by the names dovecot shows (".Sub.folder" is
 * "Sub/folder"); other directories in it are walked as usual. */
static void maildirpp_walk(const char *root, struct folder_list *l)
{
    DIR *d = opendir(root);
    struct dirent *de;

    if (d == NULL)
        return;
    while ((de = readdir(d)) != NULL) {
        const char *nm = de->d_name;
        char *child, *name;

        if (strcmp(nm, ".") == 0 || strcmp(nm, "..") == 0 || strcmp(nm, "cur") == 0 ||
            strcmp(nm, "new") == 0 || strcmp(nm, "tmp") == 0 || str_startswith(nm, ".tern") ||
            strcmp(nm, ".git") == 0)
            continue;
        child = fs_join(root, nm);
        if (nm[0] != '.') {
            folder_walk(child, nm, 1, l);
        } else if (maildir_is_maildir(child)) {
            name = paths_folder_name(nm);
            folder_add(l, name);
            free(name);
        }
        free(child);
    }
    closedir(d);
}

static int folder_cmp(const void *a, const void *b)
{
    const char *x = *(const char *const *)a, *y = *(const char *const *)b;
    bool xi = strcmp(x, "INBOX") == 0, yi = strcmp(y, "INBOX") == 0;

    if (xi != yi)
        return xi ? -1 : 1;
    return strcmp(x, y);
}

int maildir_folders(const char *mail_root, char ***names, size_t *n, struct err *e)
{
    struct folder_list l = { NULL, 0, 0 };
    char *root = paths_root(mail_root);

    *names = NULL;
    *n = 0;
    if (!is_dir(root)) {
        err_set(e, ERR_SYS, "%s: not a directory", root);
        free(root);
        return -1;
    }
    if (maildir_is_maildir(root)) {
        char *inbox = fs_join(root, "INBOX");

        if (!is_dir(inbox))
            folder_add(&l, "INBOX");
        free(inbox);
        maildirpp_walk(root, &l);
    } else {
        folder_walk(root, "", 0, &l);
    }
    free(root);
    if (l.v == NULL) {
        l.v = xcalloc(1, sizeof *l.v);
    }
    qsort(l.v, l.n, sizeof *l.v, folder_cmp);
    *names = l.v;
    *n = l.n;
    return 0;
}

void maildir_folders_free(char **names)
{
    if (names == NULL)
        return;
    for (char **p = names; *p; p++)
        free(*p);
    free(names);
}

int maildir_ensure_roles(const struct config *cfg, struct err *e)
{
    static const enum path_role made[] = { ROLE_INBOX, ROLE_SENT, ROLE_DRAFTS, ROLE_TRASH };

    for (size_t i = 0; i < sizeof made / sizeof made[0]; i++) {
        char *p = paths_role_dir(cfg, NULL, NULL, made[i]);
        int rc = maildir_is_maildir(p) ? 0 : maildir_create(p, e);

        free(p);
        if (rc < 0)
            return -1;
    }
    return 0;
}

/* ---- names and flags ---- */

const char *maildir_name_split(const char *name, size_t *uniq_len)
{
    const char *colon = strrchr(name, ':');

    if (colon == NULL) {
        *uniq_len = strlen(name);
        return "";
    }
    *uniq_len = (size_t)(colon - name);
    if (colon[1] == '2' && colon[2] == ',')
        return colon + 3;
    return "";
}

unsigned maildir_flags_bits(const char *flags)
{
    unsigned bits = 0;

    for (const char *p = flags; *p; p++) {
        switch (*p) {
        case 'D': bits |= MDF_DRAFT; break;
        case 'F': bits |= MDF_FLAGGED; break;
        case 'P': bits |= MDF_PASSED; break;
        case 'R': bits |= MDF_REPLIED; break;
        case 'S': bits |= MDF_SEEN; break;
        case 'T': bits |= MDF_TRASHED; break;
        default: break;
        }
    }
    return bits;
}

static int flag_slot(char c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return 26 + (c - 'a');
    return -1;
}

static char *flags_from_set(const bool set[52], char *out)
{
    size_t n = 0;

    /* ASCII order: upper case before lower case. */
    for (int i = 0; i < 52; i++)
        if (set[i])
            out[n++] = (char)(i < 26 ? 'A' + i : 'a' + (i - 26));
    out[n] = '\0';
    return out;
}

char *maildir_flags_normalize(const char *flags, char *out)
{
    return maildir_flags_edit(flags, NULL, NULL, out);
}

char *maildir_flags_edit(const char *flags, const char *add, const char *del, char *out)
{
    bool set[52] = { false };

    for (const char *p = flags ? flags : ""; *p; p++)
        if (flag_slot(*p) >= 0)
            set[flag_slot(*p)] = true;
    for (const char *p = add ? add : ""; *p; p++)
        if (flag_slot(*p) >= 0)
            set[flag_slot(*p)] = true;
    for (const char *p = del ? del : ""; *p; p++)
        if (flag_slot(*p) >= 0)
            set[flag_slot(*p)] = false;
    return flags_from_set(set, out);
}

/* ---- operations on one message ---- */

int maildir_each(const char *dir, maildir_each_fn fn, void *arg)
{
    static const char *const subs[] = { "new", "cur" };

    for (size_t k = 0; k < 2; k++) {
        char *path = fs_join(dir, subs[k]);
        DIR *d = opendir(path);
        struct dirent *de;
        int rc = 0;

        free(path);
        if (d == NULL)
            continue;
        while (rc == 0 && (de = readdir(d)) != NULL)
            if (de->d_name[0] != '.')
                rc = fn(subs[k], de->d_name, arg);
        closedir(d);
        if (rc != 0)
            return rc;
    }
    return 0;
}

struct find {
    const char *uniq;
    size_t uniq_len;
    char *found;
};

static int find_one(const char *sub, const char *name, void *arg)
{
    struct find *f = arg;
    struct buf b = BUF_INIT;

    if (strncmp(name, f->uniq, f->uniq_len) != 0 ||
        (name[f->uniq_len] != '\0' && name[f->uniq_len] != ':'))
        return 0;
    buf_printf(&b, "%s/%s", sub, name);
    f->found = buf_detach(&b);
    return 1;
}

char *maildir_find(const char *dir, const char *uniq, size_t uniq_len)
{
    struct find f = { uniq, uniq_len, NULL };

    (void)maildir_each(dir, find_one, &f);
    return f.found;
}

/* The base name part of rel ("new/X" -> "X"). */
static const char *rel_base(const char *rel)
{
    const char *s = strrchr(rel, '/');

    return s ? s + 1 : rel;
}

/*
 * The one ENOENT retry of this module: run op on dir/rel; when op finds the file gone
 * (returns 1: another client renamed it meanwhile, new/ -> cur/ or other flags), look its
 * unique part up again and run op on the new name, up to five times. op returns 0 (done), 1
 * (not there), -1 (error, e filled). Returns 0, 1 when the message is really gone, -1 with e.
 */
typedef int (*msg_op)(const char *dir, const char *rel, void *arg, struct err *e);

static int retry_enoent(const char *dir, const char *rel, msg_op op, void *arg, struct err *e)
{
    const char *base = rel_base(rel);
    char *cur = xstrdup(rel), *uniq;
    size_t ulen;
    int rc = 1;

    maildir_name_split(base, &ulen);
    uniq = xstrndup(base, ulen);
    for (int tries = 0; tries < 5 && cur != NULL; tries++) {
        rc = op(dir, cur, arg, e);
        if (rc != 1)
            break;
        free(cur);
        cur = maildir_find(dir, uniq, ulen);
    }
    if (rc == 1 && cur != NULL)
        rc = err_set(e, ERR_TEMP, "%s/%s keeps moving; try again", dir, rel);
    free(cur);
    free(uniq);
    return rc;
}

/* Rename dir/rel to the name fn computes from the current one. */
typedef char *(*rename_fn)(const char *base, const char *rel, void *arg);

/* Make a rename durable (a flag set, new/ -> cur/): fsync the directory it left and the one
 * it entered, so that a power cut cannot undo a flag. Best effort: the rename is done. */
static void sync_rename(const char *src, const char *dst)
{
    char *a = fs_dirname(src), *b = fs_dirname(dst);

    fs_fsync_dir(b, NULL);
    if (strcmp(a, b) != 0)
        fs_fsync_dir(a, NULL);
    free(a);
    free(b);
}

struct rename_op {
    rename_fn fn;
    void *arg;
    char **new_rel;
};

static int op_rename(const char *dir, const char *rel, void *arg, struct err *e)
{
    struct rename_op *r = arg;
    char *to = r->fn(rel_base(rel), rel, r->arg);
    char *src = fs_join(dir, rel), *dst = fs_join(dir, to);
    int rc = 0;

    if (strcmp(rel, to) != 0) {
        if (rename(src, dst) < 0)
            rc = errno == ENOENT ? 1 : err_sys(e, "rename %s", src);
        else
            sync_rename(src, dst);
    }
    if (rc == 0 && r->new_rel) {
        *r->new_rel = to;
        to = NULL;
    }
    free(to);
    free(src);
    free(dst);
    return rc;
}

static int rename_retry(const char *dir, const char *rel, rename_fn fn, void *arg,
                        char **new_rel, struct err *e)
{
    struct rename_op r = { fn, arg, new_rel };

    if (new_rel)
        *new_rel = NULL;
    return retry_enoent(dir, rel, op_rename, &r, e);
}

struct flag_edit {
    const char *add, *del;
};

static char *flags_target(const char *base, const char *rel, void *arg)
{
    const struct flag_edit *fe = arg;
    char fl[MAILDIR_FLAGS_MAX + 1];
    size_t ulen;
    const char *old = maildir_name_split(base, &ulen);

    (void)rel;
    maildir_flags_edit(old, fe->add, fe->del, fl);
    return maildir_rel(base, ulen, true, fl);
}

int maildir_set_flags(const char *dir, const char *rel, const char *add, const char *del,
                      char **new_rel, struct err *e)
{
    struct flag_edit fe = { add, del };

    if (e)
        err_clear(e);
    return rename_retry(dir, rel, flags_target, &fe, new_rel, e);
}

int maildir_mark_cur(const char *dir, const char *rel, char **new_rel, struct err *e)
{
    struct flag_edit fe = { NULL, NULL };

    if (e)
        err_clear(e);
    return rename_retry(dir, rel, flags_target, &fe, new_rel, e);
}

static bool same_dir(const char *a, const char *b)
{
    struct stat sa, sb;

    return stat(a, &sa) == 0 && stat(b, &sb) == 0 && sa.st_dev == sb.st_dev &&
           sa.st_ino == sb.st_ino;
}

static int fsync_sub(const char *dir, const char *rel, struct err *e)
{
    char *full = fs_join(dir, rel);
    char *d = fs_dirname(full);
    int rc = fs_fsync_dir(d, e);

    free(d);
    free(full);
    return rc;
}

/* Copy the file at src into dst_dir under a new unique name with the same flags. */
static int copy_file(const char *src, const char *dst_dir, const char *base, bool in_cur,
                     char **new_rel, struct err *e)
{
    struct maildir_tmp *t;
    char buf[65536];
    int fd = open(src, O_RDONLY | O_CLOEXEC);
    char *out = NULL;
    size_t ulen;
    const char *flags = maildir_name_split(base, &ulen);

    if (fd < 0)
        return errno == ENOENT ? 1 : err_sys(e, "%s", src);
    if (maildir_tmp_open(dst_dir, &t, e) < 0) {
        close(fd);
        return -1;
    }
    for (;;) {
        ssize_t r = read(fd, buf, sizeof buf);

        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            err_sys(e, "read %s", src);
            close(fd);
            maildir_tmp_abort(t);
            return -1;
        }
        if (r == 0)
            break;
        if (maildir_tmp_write(t, buf, (size_t)r, e) < 0) {
            close(fd);
            maildir_tmp_abort(t);
            return -1;
        }
    }
    close(fd);
    if (maildir_tmp_commit(t, in_cur ? flags : NULL, &out, e) < 0)
        return -1;
    if (maildir_sync(dst_dir, e) < 0) {
        free(out);
        return -1;
    }
    if (new_rel) {
        size_t dl = strlen(dst_dir);

        *new_rel = xstrdup(out + dl + (out[dl] == '/' ? 1 : 0));
    }
    free(out);
    return 0;
}

struct copy_op {
    const char *dst_dir;
    char **new_rel;
};

static int op_copy(const char *dir, const char *rel, void *arg, struct err *e)
{
    struct copy_op *c = arg;
    char *src = fs_join(dir, rel);
    int rc = copy_file(src, c->dst_dir, rel_base(rel), str_startswith(rel, "cur/"), c->new_rel,
                       e);

    free(src);
    return rc;
}

/* What copy and move share: the destination made a Maildir if need be, then op (op_copy or
 * op_move) on the message wherever a flag change has moved it meanwhile. */
static int into_maildir(const char *dir, const char *rel, const char *dst_dir, msg_op op,
                        char **new_rel, struct err *e)
{
    struct copy_op c = { dst_dir, new_rel };

    if (new_rel)
        *new_rel = NULL;
    if (e)
        err_clear(e);
    if (maildir_create(dst_dir, e) < 0)
        return -1;
    return retry_enoent(dir, rel, op, &c, e);
}

int maildir_copy(const char *dir, const char *rel, const char *dst_dir, char **new_rel,
                 struct err *e)
{
    return into_maildir(dir, rel, dst_dir, op_copy, new_rel, e);
}

/* Rename into dst_dir under the same name (the unique part names this very message there
 * too); across file systems, copy and unlink. */
static int op_move(const char *dir, const char *rel, void *arg, struct err *e)
{
    struct copy_op *c = arg;
    char *src = fs_join(dir, rel), *dst = fs_join(c->dst_dir, rel);
    int rc;

    if (rename(src, dst) == 0) {
        rc = fsync_sub(c->dst_dir, rel, e) < 0 || fsync_sub(dir, rel, e) < 0 ? -1 : 0;
        if (rc == 0 && c->new_rel)
            *c->new_rel = xstrdup(rel);
    } else if (errno == EXDEV) {
        char *copied = NULL;

        rc = maildir_copy(dir, rel, c->dst_dir, &copied, e);
        if (rc == 0 && unlink(src) < 0 && errno != ENOENT)
            rc = err_sys(e, "unlink %s", src);
        else if (rc == 0 && fsync_sub(dir, rel, e) < 0)
            rc = -1;
        if (rc == 0 && c->new_rel)
            *c->new_rel = copied;
        else
            free(copied);
    } else {
        rc = errno == ENOENT ? 1 : err_sys(e, "rename %s", src);
    }
    free(src);
    free(dst);
    return rc;
}

int maildir_move(const char *dir, const char *rel, const char *dst_dir, char **new_rel,
                 struct err *e)
{
    if (same_dir(dir, dst_dir)) {
        if (e)
            err_clear(e);
        if (new_rel)
            *new_rel = xstrdup(rel);
        return 0;
    }
    return into_maildir(dir, rel, dst_dir, op_move, new_rel, e);
}

/*
 * In Trash a message is kept, not deleted: it loses the T (trashed) flag it was expunged
 * with, or every reader (neomutt, mutt, dovecot) would show all of Trash as deleted and purge
 * it on the next expunge there. A crash between the two renames leaves it in Trash with T:
 * still there, only marked.
 */
static int move_to_trash(const char *dir, const char *rel, const char *trash_dir,
                         char **new_rel, struct err *e)
{
    char *moved = NULL, *cleared = NULL;
    size_t ulen;
    int rc = maildir_move(dir, rel, trash_dir, &moved, e);

    if (rc == 0 && strchr(maildir_name_split(rel_base(moved), &ulen), 'T') != NULL) {
        rc = maildir_set_flags(trash_dir, moved, NULL, "T", &cleared, e);
        if (rc == 0) {
            free(moved);
            moved = cleared;
        }
    }
    if (rc == 0 && new_rel)
        *new_rel = moved;
    else
        free(moved);
    return rc;
}

static int op_unlink(const char *dir, const char *rel, void *arg, struct err *e)
{
    char *p = fs_join(dir, rel);
    int rc = 0;

    (void)arg;
    if (unlink(p) < 0)
        rc = errno == ENOENT ? 1 : err_sys(e, "unlink %s", p);
    else if (fsync_sub(dir, rel, e) < 0)
        rc = -1;
    free(p);
    return rc;
}

int maildir_delete(const char *dir, const char *rel, const char *trash_dir, char **new_rel,
                   struct err *e)
{
    if (new_rel)
        *new_rel = NULL;
    if (e)
        err_clear(e);
    if (trash_dir != NULL && !same_dir(dir, trash_dir))
        return move_to_trash(dir, rel, trash_dir, new_rel, e);
    return retry_enoent(dir, rel, op_unlink, NULL, e);
}

/* ---- change detection ---- */

static int64_t mtime_ns(const struct stat *st)
{
    return (int64_t)st->st_mtim.tv_sec * 1000000000 + st->st_mtim.tv_nsec;
}

int maildir_stamp(const char *dir, struct maildir_stamp *st, struct err *e)
{
    char *n = fs_join(dir, "new"), *c = fs_join(dir, "cur");
    struct stat sn, sc;
    int rc = 0;

    if (stat(n, &sn) < 0)
        rc = err_sys(e, "%s", n);
    else if (stat(c, &sc) < 0)
        rc = err_sys(e, "%s", c);
    else {
        st->new_mtime = mtime_ns(&sn);
        st->cur_mtime = mtime_ns(&sc);
    }
    free(n);
    free(c);
    return rc;
}

bool maildir_changed(const char *dir, const struct maildir_stamp *st)
{
    struct maildir_stamp now;
    struct timespec ts;
    int64_t wall, newest;

    if (maildir_stamp(dir, &now, NULL) < 0)
        return true;
    if (now.new_mtime != st->new_mtime || now.cur_mtime != st->cur_mtime)
        return true;
    /* A stamp taken within the timestamp granularity of a change may hide a later change
     * in the same tick (coarse file system clocks): treat it as possibly changed. */
    clock_gettime(CLOCK_REALTIME, &ts);
    wall = (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
    newest = st->new_mtime > st->cur_mtime ? st->new_mtime : st->cur_mtime;
    return wall - newest < 2000000000LL;
}

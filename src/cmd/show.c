/* tern show: print messages as the pager renders them, their source, or one decoded part. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sysexits.h>
#include <unistd.h>

#include "tern/buf.h"
#include "tern/cmd.h"
#include "tern/codec.h"
#include "tern/fsutil.h"
#include "tern/mime.h"
#include "tern/render.h"
#include "tern/str.h"
#include "tern/xalloc.h"

/* A message file read into memory. */
struct msgfile {
    const char *ptr;
    size_t len;
    bool changed;                /* its size or time changed while it was read */
    struct buf copy;
};

static int msg_open(const char *path, struct msgfile *m, struct err *e)
{
    struct stat st;
    int fd;

    memset(m, 0, sizeof *m);
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return err_sys(e, "%s", path);
    if (fstat(fd, &st) != 0) {
        close(fd);
        return err_sys(e, "%s", path);
    }
    if (S_ISDIR(st.st_mode)) {
        close(fd);
        err_set(e, ERR_SYS, "%s: is a directory", path);
        errno = EISDIR;
        return -1;
    }
    /* Read, never mapped: a file that another program truncates while it is mapped ends
     * the process with SIGBUS. A file that changed while being read is said to have. */
    if (fs_read_fd(fd, &m->copy) != 0) {
        int saved = errno;
        close(fd);
        errno = saved;
        return err_sys(e, "%s", path);
    }
    {
        struct stat after;

        m->changed = S_ISREG(st.st_mode) &&
                     (fstat(fd, &after) != 0 || after.st_size != st.st_size ||
                      (off_t)m->copy.len != st.st_size ||
                      after.st_mtim.tv_sec != st.st_mtim.tv_sec ||
                      after.st_mtim.tv_nsec != st.st_mtim.tv_nsec);
    }
    close(fd);
    m->ptr = m->copy.ptr ? m->copy.ptr : "";
    m->len = m->copy.len;
    return 0;
}

static void msg_close(struct msgfile *m)
{
    buf_free(&m->copy);
}

static int write_out(const void *p, size_t n)
{
    if (n && fwrite(p, 1, n, stdout) != n)
        return -1;
    return 0;
}


/* A message's tree and, when a part number is beyond its own parts, its envelopes opened
 * (decrypted in memory, as the pager numbers them). */
struct parts {
    struct mime_tree t;
    struct render_keep *keep;
};

static void parts_open(const struct msgfile *m, int num, const struct render_opts *o,
                       struct parts *ps)
{
    mime_parse(m->ptr, m->len, &ps->t);
    ps->keep = render_keep_new();
    /* A part of the message itself needs no key: gpg is started only for one inside. */
    if (o->crypt && mime_find_number(&ps->t, num) < 0) {
        struct render_opts q = *o;

        q.keep = ps->keep;
        render_keep_open(&ps->t, &q);
    }
}

static void parts_close(struct parts *ps)
{
    render_keep_free(ps->keep);
    mime_free(&ps->t);
}

/* Save part num of m to `to` (a new file, or a directory to put the message's file name
 * in). Never overwrites. */
static int save_part(const struct msgfile *m, int num, const struct render_opts *o,
                     const char *to, const char *prog)
{
    struct buf data = BUF_INIT;
    struct err e;
    struct stat st;
    struct parts ps;
    char *name = NULL, *path;
    int fd, rc = EX_OK;

    parts_open(m, num, o, &ps);
    if (render_part_tree(&ps.t, ps.keep, num, &data, &name, &e) != 0) {
        fprintf(stderr, "%s: %s\n", prog, e.msg);
        parts_close(&ps);
        return EX_DATAERR;
    }
    parts_close(&ps);
    if (stat(to, &st) == 0 && S_ISDIR(st.st_mode)) {
        char fallback[32];

        if (name == NULL) {
            snprintf(fallback, sizeof fallback, "part-%d", num);
            path = fs_join(to, fallback);
        } else {
            path = fs_join(to, name);
        }
    } else {
        path = xstrdup(to);
    }
    fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0) {
        if (errno == EEXIST)
            fprintf(stderr, "%s: %s: already exists, not overwritten\n", prog, path);
        else
            fprintf(stderr, "%s: %s: %s\n", prog, path, strerror(errno));
        rc = errno == EEXIST ? EX_CANTCREAT : EX_IOERR;
    } else {
        if (fs_write_all(fd, data.ptr ? data.ptr : "", data.len) != 0 || fsync(fd) != 0) {
            fprintf(stderr, "%s: %s: %s\n", prog, path, strerror(errno));
            rc = EX_IOERR;
        }
        if (close(fd) != 0 && rc == EX_OK) {
            fprintf(stderr, "%s: %s: %s\n", prog, path, strerror(errno));
            rc = EX_IOERR;
        }
        if (rc == EX_OK)
            fprintf(stderr, "%s: saved part %d (%zu bytes) to %s\n", prog, num, data.len,
                    path);
        else
            unlink(path);
    }
    free(path);
    free(name);
    crypt_wipe(&data);
    return rc;
}

/* --part N to stdout: raw bytes into a pipe or file, but on a terminal only text, and that
 * sanitised. */
static int print_part(const struct msgfile *m, int num, const struct render_opts *o,
                      const char *prog)
{
    struct parts ps;
    struct buf out = BUF_INIT;
    const struct mime_part *p;
    struct err e;
    int rc = EX_OK;

    parts_open(m, num, o, &ps);
    p = render_find_part(&ps.t, ps.keep, num);
    if (p == NULL) {
        render_part_tree(&ps.t, ps.keep, num, &out, NULL, &e);   /* for the reason */
        fprintf(stderr, "%s: %s\n", prog, e.msg);
        parts_close(&ps);
        return EX_DATAERR;
    }
    if (!isatty(STDOUT_FILENO)) {
        mime_decode(p, &out);
        if (write_out(out.ptr, out.len) != 0)
            rc = EX_IOERR;
    } else if (strncmp(p->type, "text/", 5) == 0 || strncmp(p->type, "message/", 8) == 0) {
        struct buf text = BUF_INIT;

        if (strcmp(p->type, "text/html") == 0) {
            struct buf html = BUF_INIT;
            mime_text(p, &html);
            render_html(html.ptr ? html.ptr : "", html.len, 0, &text);
            crypt_wipe(&html);
        } else {
            mime_text(p, &text);
        }
        render_sanitize(text.ptr ? text.ptr : "", text.len, &out);
        crypt_wipe(&text);
        if (write_out(out.ptr, out.len) != 0)
            rc = EX_IOERR;
    } else {
        struct buf ty = BUF_INIT;

        render_sanitize(p->type, strlen(p->type), &ty);
        fprintf(stderr, "%s: part %d is %s: not printed on a terminal; use -o FILE or a pipe\n",
                prog, num, buf_cstr(&ty));
        buf_free(&ty);
        rc = TERN_EX_USAGE;
    }
    crypt_wipe(&out);
    parts_close(&ps);
    return rc;
}

static bool show_header_shown(const void *arg, const char *name, size_t len)
{
    return config_header_shown(arg, name, len);
}

int cmd_show(int argc, char **argv, const struct globals *g)
{
    struct render_opts o = { 0 };
    bool raw = false;
    long part = 0;
    const char *outpath = NULL;
    int i, rc = EX_OK, npaths = 0;
    char prog[64];
    struct config *cfg = NULL;
    struct crypt_opts co;

    snprintf(prog, sizeof prog, "%s", g->progname);
    for (i = 1; cmd_option_at(argc, argv, &i); i++) {
        const char *a = argv[i];

        if (strcmp(a, "--raw") == 0) {
            raw = true;
        } else if (strcmp(a, "--headers=all") == 0 || strcmp(a, "--all-headers") == 0) {
            o.all_headers = true;
        } else if (strcmp(a, "--headers=default") == 0) {
            o.all_headers = false;
        } else if (strcmp(a, "--headers=none") == 0) {
            o.no_headers = true;
        } else if (strcmp(a, "--html") == 0) {
            o.prefer_html = true;
        } else if (strcmp(a, "--part") == 0 || strncmp(a, "--part=", 7) == 0) {
            const char *v = a[6] == '=' ? a + 7 : (i + 1 < argc ? argv[++i] : NULL);

            if (v == NULL || str_tolong(v, 1, 1000000, &part) != 0) {
                fprintf(stderr, "%s: --part needs a part number (see the attachment list)\n",
                        prog);
                return TERN_EX_USAGE;
            }
        } else if (strcmp(a, "-o") == 0 || strcmp(a, "--output") == 0) {
            if (i + 1 >= argc) {
                fprintf(stderr, "%s: -o needs a file name\n", prog);
                return TERN_EX_USAGE;
            }
            outpath = argv[++i];
        } else if (strncmp(a, "--output=", 9) == 0) {
            outpath = a + 9;
        } else if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
            cmd_usage(stdout, g, true);
            return EX_OK;
        } else {
            return cmd_bad_usage(g, "unknown option '%s'", a);
        }
    }
    npaths = argc - i;
    if (npaths <= 0)
        return cmd_bad_usage(g, NULL);
    if (outpath && part == 0) {
        fprintf(stderr, "%s: -o needs --part N\n", prog);
        return TERN_EX_USAGE;
    }
    if (part && npaths > 1) {
        fprintf(stderr, "%s: --part takes one message\n", prog);
        return TERN_EX_USAGE;
    }
    /* ignore/retain lines of ~/.mailrc weed the header block, as in mailx */
    int crc = cmd_load_config(g, &cfg);

    if (crc != 0)
        return crc;
    if (cfg->nhdr_ignore + cfg->nhdr_retain > 0) {
        o.header_shown = show_header_shown;
        o.header_arg = cfg;
    }
    crypt_opts_init(&co, cfg ? cfg->mail_root : NULL, cfg ? config_account(cfg, NULL) : NULL);
    o.crypt = &co;
    for (int k = 0; i < argc; i++, k++) {
        struct msgfile m;
        struct err e;
        int r = EX_OK;

        if (msg_open(argv[i], &m, &e) != 0) {
            int saved = errno;

            fprintf(stderr, "%s: %s\n", prog, e.msg);
            if (saved == ENOENT || saved == EACCES || saved == ENOTDIR || saved == EISDIR)
                rc = EX_NOINPUT;
            else
                rc = cmd_exit_code(e.cls);
            continue;
        }
        if (m.changed)
            fprintf(stderr, "%s: %s changed while it was read (another program is writing "
                    "it); shown as read\n", prog, argv[i]);
        if (part) {
            r = outpath ? save_part(&m, (int)part, &o, outpath, prog)
                        : print_part(&m, (int)part, &o, prog);
        } else if (raw) {
            if (write_out(m.ptr, m.len) != 0)
                r = EX_IOERR;
        } else {
            struct buf out = BUF_INIT;

            if (k > 0 && write_out("\n", 1) != 0)
                r = EX_IOERR;
            render_message(m.ptr, m.len, &o, &out, &e);
            if (write_out(out.ptr, out.len) != 0)
                r = EX_IOERR;
            buf_free(&out);
        }
        msg_close(&m);
        if (r != EX_OK)
            rc = r;
    }
    if (fflush(stdout) != 0 && rc == EX_OK) {
        fprintf(stderr, "%s: standard output: %s\n", prog, strerror(errno));
        rc = EX_IOERR;
    }
    crypt_opts_free(&co);
    config_free(cfg);
    return rc;
}

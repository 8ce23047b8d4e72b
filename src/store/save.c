/* Saving messages and parts to files the user names: mboxrd append under a lock, Maildir. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "tern/buf.h"
#include "tern/fsutil.h"
#include "tern/header.h"
#include "tern/maildir.h"
#include "tern/save.h"
#include "tern/str.h"
#include "tern/xalloc.h"

/* How long to wait for another program's lock on an mbox before giving up. */
#define LOCK_TRIES 100
#define LOCK_WAIT_US 50000

/* The envelope sender for the From_ line: no spaces, never empty. */
static char *envelope_sender(const char *msg, size_t n, const char *sender)
{
    size_t hlen = hdr_block_len(msg, n);
    struct hdr_field f;
    char *s = NULL;

    if (sender && *sender)
        s = xstrdup(sender);
    else if (hdr_find(msg, hlen, "Return-Path", &f) == 1 || hdr_find(msg, hlen, "From", &f) == 1)
        s = addr_first_mailbox(f.value, f.value_len);
    if (s == NULL || *s == '\0') {
        free(s);
        return xstrdup("MAILER-DAEMON");
    }
    for (char *p = s; *p; p++)
        if ((unsigned char)*p <= ' ' || *p == 0x7f)
            *p = '_';
    return s;
}

/* mboxrd: a line of any number of '>' followed by "From " gets one more '>'. */
static bool needs_quote(const char *line, size_t len)
{
    size_t i = 0;

    while (i < len && line[i] == '>')
        i++;
    return len - i >= 5 && memcmp(line + i, "From ", 5) == 0;
}

static void mboxrd_body(struct buf *out, const char *msg, size_t n)
{
    size_t i = 0;

    while (i < n) {
        const char *nl = memchr(msg + i, '\n', n - i);
        size_t end = nl ? (size_t)(nl - msg) : n;
        size_t len = end - i;

        if (len > 0 && msg[end - 1] == '\r')
            len--;
        if (needs_quote(msg + i, len))
            buf_addc(out, '>');
        buf_add(out, msg + i, len);
        buf_addc(out, '\n');
        i = nl ? end + 1 : n;
    }
}

static int lock_file(int fd, const char *path, struct err *e)
{
    struct flock l = { .l_type = F_WRLCK, .l_whence = SEEK_SET };

    for (int i = 0; i < LOCK_TRIES; i++) {
        if (fcntl(fd, F_SETLK, &l) == 0)
            return 0;
        if (errno != EACCES && errno != EAGAIN && errno != EINTR)
            return err_sys(e, "lock %s", path);
        usleep(LOCK_WAIT_US);
    }
    return err_set(e, ERR_LOCKED, "%s: locked by another program", path);
}

/* How many newlines the file must get before a new From_ line: mbox messages are
 * separated by a blank line, and a file whose last message lacks it is mended. */
static int separator_needed(int fd, off_t size, const char *path, struct err *e)
{
    char tail[2];

    if (size == 0)
        return 0;
    ssize_t got = pread(fd, tail, size >= 2 ? 2 : 1, size >= 2 ? size - 2 : 0);
    if (got < 0)
        return err_sys(e, "read %s", path);
    if (got == 1)
        return tail[0] == '\n' ? 1 : 2;
    if (tail[1] != '\n')
        return 2;
    return tail[0] == '\n' ? 0 : 1;
}

/* An existing non-empty file must look like an mbox before anything is appended to it. */
static int check_is_mbox(int fd, off_t size, const char *path, struct err *e)
{
    char head[5];

    if (size == 0)
        return 0;
    if (pread(fd, head, sizeof head, 0) != (ssize_t)sizeof head ||
        memcmp(head, "From ", 5) != 0)
        return err_set(e, ERR_PARSE, "%s exists and is not an mbox: not appending to it", path);
    return 0;
}

static void from_line(struct buf *out, const char *sender, time_t t)
{
    struct tm tm;
    char date[64];

    localtime_r(&t, &tm);
    strftime(date, sizeof date, "%a %b %e %H:%M:%S %Y", &tm);
    buf_printf(out, "From %s %s\n", sender, date);
}

static int append_locked(int fd, const char *path, const char *msg, size_t n,
                         const char *sender, time_t t, struct err *e)
{
    struct stat st;
    struct buf out = BUF_INIT;
    int sep, rc = -1;

    if (fstat(fd, &st) < 0)
        return err_sys(e, "stat %s", path);
    if (check_is_mbox(fd, st.st_size, path, e) < 0 ||
        (sep = separator_needed(fd, st.st_size, path, e)) < 0)
        return -1;
    while (sep-- > 0)
        buf_addc(&out, '\n');
    char *env = envelope_sender(msg, n, sender);
    from_line(&out, env, t);
    free(env);
    mboxrd_body(&out, msg, n);
    buf_addc(&out, '\n');
    if (fs_write_all(fd, out.ptr, out.len) < 0 || fsync(fd) < 0) {
        err_sys(e, "write %s", path);
        if (ftruncate(fd, st.st_size) == 0)
            fsync(fd);
    } else {
        rc = 0;
    }
    buf_free(&out);
    return rc;
}

int save_mbox_append(const char *path, const char *msg, size_t n, const char *sender, time_t t,
                     struct err *e)
{
    int fd = open(path, O_RDWR | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
    int rc;

    if (fd < 0)
        return err_sys(e, "open %s", path);
    rc = lock_file(fd, path, e);
    if (rc == 0)
        rc = append_locked(fd, path, msg, n, sender, t, e);
    close(fd);                      /* releases the lock */
    return rc;
}

int save_message(const char *target, const char *msg, size_t n, time_t t, char **where,
                 struct err *e)
{
    char *path = fs_expand(target);
    struct stat st;
    int rc;

    if (where)
        *where = NULL;
    if (stat(path, &st) == 0 && S_ISDIR(st.st_mode)) {
        if (!maildir_is_maildir(path)) {
            rc = err_set(e, ERR_SYS, "%s is a directory but not a Maildir: name a file or "
                         "a Maildir", path);
        } else {
            rc = maildir_deliver(path, msg, n, "S", NULL, e);
        }
    } else {
        rc = save_mbox_append(path, msg, n, NULL, t, e);
    }
    if (rc == 0 && where)
        *where = path;
    else
        free(path);
    return rc;
}

char *save_part_path(const char *target, const char *name)
{
    char *path = fs_expand(target);
    struct stat st;

    if (stat(path, &st) < 0 || !S_ISDIR(st.st_mode))
        return path;
    const char *base = name ? strrchr(name, '/') : NULL;
    base = base ? base + 1 : (name ? name : "");
    while (*base == '.')
        base++;
    char *joined = fs_join(path, *base ? base : "part");
    free(path);
    return joined;
}

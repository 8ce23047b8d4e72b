/* Durable file operations; every descriptor is opened O_CLOEXEC so children never inherit it. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tern/fsutil.h"
#include "tern/xalloc.h"

int fs_write_all(int fd, const void *p, size_t n)
{
    const char *s = p;

    while (n > 0) {
        ssize_t w = write(fd, s, n);

        if (w < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        s += w;
        n -= (size_t)w;
    }
    return 0;
}

int fs_read_fd(int fd, struct buf *out)
{
    for (;;) {
        ssize_t r;

        buf_reserve(out, 65536);
        r = read(fd, out->ptr + out->len, out->cap - out->len - 1);
        if (r < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        if (r == 0)
            break;
        out->len += (size_t)r;
    }
    out->ptr[out->len] = '\0';
    return 0;
}

int fs_read_file(const char *path, struct buf *out, struct err *e)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    int rc;

    if (fd < 0)
        return err_sys(e, "%s", path);
    rc = fs_read_fd(fd, out);
    if (rc < 0)
        err_sys(e, "%s", path);
    close(fd);
    return rc;
}

int fs_fsync_dir(const char *dir, struct err *e)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

    if (fd < 0)
        return err_sys(e, "%s", dir);
    if (fsync(fd) < 0 && errno != EINVAL) {
        err_sys(e, "fsync %s", dir);
        close(fd);
        return -1;
    }
    close(fd);
    return 0;
}

char *fs_dirname(const char *path)
{
    const char *slash = strrchr(path, '/');

    if (slash == NULL)
        return xstrdup(".");
    if (slash == path)
        return xstrdup("/");
    return xstrndup(path, (size_t)(slash - path));
}

char *fs_join(const char *a, const char *b)
{
    size_t la = strlen(a);
    struct buf out = BUF_INIT;

    buf_adds(&out, a);
    if (la == 0 || a[la - 1] != '/')
        buf_addc(&out, '/');
    while (*b == '/')
        b++;
    buf_adds(&out, b);
    return buf_detach(&out);
}

int fs_write_atomic(const char *path, const void *p, size_t n, mode_t mode, struct err *e)
{
    char *dir = fs_dirname(path);
    struct buf tmp = BUF_INIT;
    int fd, rc = -1;

    buf_printf(&tmp, "%s.tmp.%ld", path, (long)getpid());
    /* Never through a name someone else made: O_EXCL|O_NOFOLLOW refuses a planted symlink
     * (or file); one left by a dead process of the same pid is removed (unlink does not
     * follow links) and the create tried once more. */
    fd = open(tmp.ptr, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode);
    if (fd < 0 && errno == EEXIST && unlink(tmp.ptr) == 0)
        fd = open(tmp.ptr, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode);
    if (fd < 0) {
        err_sys(e, "%s", tmp.ptr);
        goto out;
    }
    if (fs_write_all(fd, p, n) < 0 || fsync(fd) < 0) {
        err_sys(e, "write %s", tmp.ptr);
        close(fd);
        unlink(tmp.ptr);
        goto out;
    }
    if (close(fd) < 0 || rename(tmp.ptr, path) < 0) {
        err_sys(e, "rename %s", path);
        unlink(tmp.ptr);
        goto out;
    }
    rc = fs_fsync_dir(dir, e);
out:
    buf_free(&tmp);
    free(dir);
    return rc;
}

int fs_mkdir_p(const char *path, mode_t mode, struct err *e)
{
    char *copy = xstrdup(path);
    int rc = 0;

    for (char *p = copy + 1;; p++) {
        if (*p != '/' && *p != '\0')
            continue;
        char saved = *p;

        *p = '\0';
        if (mkdir(copy, mode) < 0 && errno != EEXIST) {
            rc = err_sys(e, "mkdir %s", copy);
            break;
        }
        *p = saved;
        if (saved == '\0')
            break;
    }
    free(copy);
    return rc;
}

int fs_lock(const char *path, struct err *e)
{
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);

    if (fd < 0)
        return err_sys(e, "%s", path);
    if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
        int saved = errno;

        close(fd);
        if (saved == EWOULDBLOCK)
            return err_set(e, ERR_LOCKED, "%s is locked by another tern process", path);
        errno = saved;
        return err_sys(e, "lock %s", path);
    }
    return fd;
}

void fs_unlock(int fd)
{
    if (fd >= 0)
        close(fd);
}

static void fs_expand_var(const char **pp, struct buf *out)
{
    const char *p = *pp + 1;   /* past '$' */
    const char *start;
    char *name, *val;
    bool braced = (*p == '{');

    if (braced)
        p++;
    start = p;
    while ((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') ||
           *p == '_')
        p++;
    if (p == start || (braced && *p != '}')) {
        buf_addc(out, '$');     /* not a variable reference: keep it literally */
        *pp += 1;
        return;
    }
    name = xstrndup(start, (size_t)(p - start));
    val = getenv(name);
    if (val)
        buf_adds(out, val);
    free(name);
    *pp = braced ? p + 1 : p;
}

char *fs_expand(const char *in)
{
    struct buf out = BUF_INIT;
    const char *p = in;

    if (p[0] == '~' && (p[1] == '/' || p[1] == '\0')) {
        const char *home = getenv("HOME");

        buf_adds(&out, home ? home : "");
        p++;
    }
    while (*p) {
        if (*p == '$')
            fs_expand_var(&p, &out);
        else
            buf_addc(&out, *p++);
    }
    return buf_detach(&out);
}

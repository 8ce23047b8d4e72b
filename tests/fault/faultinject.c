/*
 * faultinject.so: an LD_PRELOAD shim that makes the k-th file operation of a process fail or
 * kills the process there, to show that nothing is lost or done twice whatever step breaks.
 *
 * Counted operations (on regular files and directories only: sockets, pipes and terminals are
 * left alone): write, pwrite, writev, fsync, fdatasync, rename, renameat, unlink, unlinkat,
 * open/openat with O_CREAT, posix_fallocate. Driven by the environment:
 *
 *   FAULT_AT=K        the K-th counted operation (1-based) is the fault; unset or 0: none
 *   FAULT_OPS=LIST    which operations count, comma-separated names from
 *                     write,fsync,rename,unlink,creat,fallocate (default: all)
 *   FAULT_PATH=TEXT   only operations on paths containing TEXT count (for write, fsync and
 *                     fallocate the path of the descriptor, from /proc/self/fd)
 *   FAULT_ACTION=X    ENOSPC, EIO, EDQUOT, EROFS (fail with that errno; default ENOSPC) or
 *                     kill (SIGKILL at that operation, before it is done). ENOSPC and EDQUOT
 *                     are a full disk: a write that does not grow its file (into space
 *                     reserved with posix_fallocate) does not count and succeeds
 *   FAULT_MODE=once   only the K-th fails (default); "from": the K-th and every later one
 *                     (a disk that stays full)
 *   FAULT_COUNT=FILE  at exit, write the number of counted operations to FILE (a dry run
 *                     tells a test how many operations there are to break)
 *
 * With an ASan-built program set ASAN_OPTIONS=verify_asan_link_order=0. Used by
 * tests/integration/fault.sh over tern flush, send and draft saving; usable for any command.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

enum { OP_WRITE = 1, OP_FSYNC = 2, OP_RENAME = 4, OP_UNLINK = 8, OP_CREAT = 16,
       OP_FALLOCATE = 32 };

static long fault_at = -1;       /* -1: not read yet */
static long counted;
static unsigned ops_mask;
static int fault_errno = ENOSPC;
static int fault_kill;
static int fault_from;
static const char *path_filter;
static const char *count_file;

static void write_count(void)
{
    int (*real_open)(const char *, int, ...) = (int (*)(const char *, int, ...))
        dlsym(RTLD_NEXT, "open");
    ssize_t (*real_write)(int, const void *, size_t) = (ssize_t (*)(int, const void *, size_t))
        dlsym(RTLD_NEXT, "write");
    char buf[32];
    int n = snprintf(buf, sizeof buf, "%ld\n", counted);
    int fd;

    if (count_file == NULL || real_open == NULL || real_write == NULL)
        return;
    fd = real_open(count_file, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd >= 0) {
        if (real_write(fd, buf, (size_t)n) < 0)
            n = 0;
        close(fd);
    }
}

static void setup(void)
{
    const char *v;

    if (fault_at >= 0)
        return;
    v = getenv("FAULT_AT");
    fault_at = v ? atol(v) : 0;
    v = getenv("FAULT_OPS");
    if (v == NULL || *v == '\0') {
        ops_mask = ~0u;
    } else {
        ops_mask = 0;
        if (strstr(v, "write"))
            ops_mask |= OP_WRITE;
        if (strstr(v, "fsync"))
            ops_mask |= OP_FSYNC;
        if (strstr(v, "rename"))
            ops_mask |= OP_RENAME;
        if (strstr(v, "unlink"))
            ops_mask |= OP_UNLINK;
        if (strstr(v, "creat"))
            ops_mask |= OP_CREAT;
        if (strstr(v, "fallocate"))
            ops_mask |= OP_FALLOCATE;
    }
    v = getenv("FAULT_ACTION");
    if (v && strcmp(v, "kill") == 0)
        fault_kill = 1;
    else if (v && strcmp(v, "EIO") == 0)
        fault_errno = EIO;
    else if (v && strcmp(v, "EDQUOT") == 0)
        fault_errno = EDQUOT;
    else if (v && strcmp(v, "EROFS") == 0)
        fault_errno = EROFS;
    v = getenv("FAULT_MODE");
    fault_from = v && strcmp(v, "from") == 0;
    path_filter = getenv("FAULT_PATH");
    if (path_filter && *path_filter == '\0')
        path_filter = NULL;
    count_file = getenv("FAULT_COUNT");
    if (count_file)
        atexit(write_count);
}

/* A write of n bytes at off (-1: the current offset) that a full disk would refuse. */
static int grows(int fd, off_t off, size_t n)
{
    struct stat st;

    if (fault_errno != ENOSPC && fault_errno != EDQUOT)
        return 1;
    if (off < 0)
        off = lseek(fd, 0, SEEK_CUR);
    return fstat(fd, &st) < 0 || off < 0 || off + (off_t)n > st.st_size;
}

/* Regular files and directories only, and only under FAULT_PATH when given. */
static int fd_counts(int fd)
{
    struct stat st;
    char link[64], target[PATH_MAX];
    ssize_t n;

    if (fstat(fd, &st) < 0 || !(S_ISREG(st.st_mode) || S_ISDIR(st.st_mode)))
        return 0;
    if (path_filter == NULL)
        return 1;
    snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
    n = readlink(link, target, sizeof target - 1);
    if (n < 0)
        return 0;
    target[n] = '\0';
    return strstr(target, path_filter) != NULL;
}

static int path_counts(const char *path)
{
    return path != NULL && (path_filter == NULL || strstr(path, path_filter) != NULL);
}

/* 1 when this operation is the fault (errno set), after killing when asked to. */
static int fault(unsigned op, int counts)
{
    setup();
    if (!(ops_mask & op) || !counts)
        return 0;
    counted++;
    if (fault_at <= 0 || counted < fault_at || (counted > fault_at && !fault_from))
        return 0;
    if (fault_kill)
        raise(SIGKILL);
    errno = fault_errno;
    return 1;
}

/* The next definition of name (libc's, or a sanitizer's interceptor). */
#define REAL(name) static __typeof__(&name) real_##name; \
    if (real_##name == NULL) real_##name = (__typeof__(&name))dlsym(RTLD_NEXT, #name)

ssize_t write(int fd, const void *p, size_t n)
{
    REAL(write);
    setup();
    if (fault(OP_WRITE, fd_counts(fd) && (fault_kill || grows(fd, -1, n))))
        return -1;
    return real_write(fd, p, n);
}

ssize_t pwrite(int fd, const void *p, size_t n, off_t off)
{
    REAL(pwrite);
    setup();
    if (fault(OP_WRITE, fd_counts(fd) && (fault_kill || grows(fd, off, n))))
        return -1;
    return real_pwrite(fd, p, n, off);
}

ssize_t pwrite64(int fd, const void *p, size_t n, off_t off)
{
    REAL(pwrite64);
    setup();
    if (fault(OP_WRITE, fd_counts(fd) && (fault_kill || grows(fd, off, n))))
        return -1;
    return real_pwrite64(fd, p, n, off);
}

ssize_t writev(int fd, const struct iovec *iov, int cnt)
{
    REAL(writev);
    if (fault(OP_WRITE, fd_counts(fd)))
        return -1;
    return real_writev(fd, iov, cnt);
}

int fsync(int fd)
{
    REAL(fsync);
    if (fault(OP_FSYNC, fd_counts(fd)))
        return -1;
    return real_fsync(fd);
}

int fdatasync(int fd)
{
    REAL(fdatasync);
    if (fault(OP_FSYNC, fd_counts(fd)))
        return -1;
    return real_fdatasync(fd);
}

int posix_fallocate(int fd, off_t off, off_t len)
{
    REAL(posix_fallocate);
    if (fault(OP_FALLOCATE, fd_counts(fd)))
        return errno;
    return real_posix_fallocate(fd, off, len);
}

int posix_fallocate64(int fd, off_t off, off_t len)
{
    REAL(posix_fallocate64);
    if (fault(OP_FALLOCATE, fd_counts(fd)))
        return errno;
    return real_posix_fallocate64(fd, off, len);
}

int rename(const char *a, const char *b)
{
    REAL(rename);
    if (fault(OP_RENAME, path_counts(a) || path_counts(b)))
        return -1;
    return real_rename(a, b);
}

int renameat(int da, const char *a, int db, const char *b)
{
    REAL(renameat);
    if (fault(OP_RENAME, path_counts(a) || path_counts(b)))
        return -1;
    return real_renameat(da, a, db, b);
}

int unlink(const char *p)
{
    REAL(unlink);
    if (fault(OP_UNLINK, path_counts(p)))
        return -1;
    return real_unlink(p);
}

int unlinkat(int d, const char *p, int flags)
{
    REAL(unlinkat);
    if (fault(OP_UNLINK, path_counts(p)))
        return -1;
    return real_unlinkat(d, p, flags);
}

/* open and openat: only creating opens count (O_CREAT). */
#define OPEN_BODY(call)                                                        \
    mode_t mode = 0;                                                           \
    if (flags & O_CREAT) {                                                     \
        va_list ap;                                                            \
        va_start(ap, flags);                                                   \
        mode = (mode_t)va_arg(ap, int);                                        \
        va_end(ap);                                                            \
        if (fault(OP_CREAT, path_counts(p)))                                   \
            return -1;                                                         \
    }                                                                          \
    return call

int open(const char *p, int flags, ...)
{
    REAL(open);
    OPEN_BODY(real_open(p, flags, mode));
}

int open64(const char *p, int flags, ...)
{
    REAL(open64);
    OPEN_BODY(real_open64(p, flags, mode));
}

int openat(int d, const char *p, int flags, ...)
{
    REAL(openat);
    OPEN_BODY(real_openat(d, p, flags, mode));
}

int openat64(int d, const char *p, int flags, ...)
{
    REAL(openat64);
    OPEN_BODY(real_openat64(d, p, flags, mode));
}

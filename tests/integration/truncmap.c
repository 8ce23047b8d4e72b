/*
 * LD_PRELOAD shim for show.sh: every mmap of a regular file is followed at once by
 * truncating that file to nothing, as another program could do at any moment (issue 14,
 * item 6). A reader that maps files then dies with SIGBUS; one that reads them does not.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdio.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

void *mmap(void *addr, size_t len, int prot, int flags, int fd, off_t off)
{
    static void *(*real)(void *, size_t, int, int, int, off_t);
    struct stat st;
    void *p;

    if (real == NULL)
        real = (void *(*)(void *, size_t, int, int, int, off_t))dlsym(RTLD_NEXT, "mmap");
    p = real(addr, len, prot, flags, fd, off);
    if (p != MAP_FAILED && fd >= 0 && fstat(fd, &st) == 0 && S_ISREG(st.st_mode) &&
        st.st_size > 0) {
        char link[64], path[4096];
        ssize_t n;

        snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
        n = readlink(link, path, sizeof path - 1);
        if (n > 0) {
            path[n] = '\0';
            if (truncate(path, 0) != 0)
                perror("truncmap");
        }
    }
    return p;
}

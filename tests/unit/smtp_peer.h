/* A scripted SMTP peer for the Check suites: a forked child on 127.0.0.1 that plays a script
 * of lines to send and lines it expects, and exits non-zero at the first mismatch. */
#ifndef TERN_SMTP_PEER_H
#define TERN_SMTP_PEER_H

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <sys/socket.h>
#include <sys/wait.h>

#include "testutil.h"

/*
 * A step is "S:text" (send text, "\n" in it becomes CRLF unless the step starts with "R:"
 * which sends raw bytes) or "C:line" (read one line, which must equal line; "C:prefix*"
 * matches a prefix), or "W" (read until EOF), or "A" (close, accept the next connection).
 * Any mismatch makes the peer exit 1.
 */
static int peer_read_line(int fd, char *out, size_t max)
{
    size_t n = 0;

    for (;;) {
        char c;
        ssize_t r = read(fd, &c, 1);

        if (r <= 0)
            return -1;
        if (c == '\n')
            break;
        if (n + 1 < max)
            out[n++] = c;
    }
    if (n > 0 && out[n - 1] == '\r')
        n--;
    out[n] = '\0';
    return 0;
}

static void peer_run(int lfd, const char *const *steps)
{
    int fd = accept(lfd, NULL, NULL);
    char line[8192];

    if (fd < 0)
        _exit(3);
    for (size_t i = 0; steps[i]; i++) {
        const char *s = steps[i];

        if (s[0] == 'S' || s[0] == 'R') {
            char out[4096];
            size_t n = 0;

            for (const char *p = s + 2; *p && n + 2 < sizeof out; p++) {
                if (*p == '\n' && s[0] == 'S')
                    out[n++] = '\r';
                out[n++] = *p;
            }
            if (write(fd, out, n) != (ssize_t)n)
                _exit(4);
        } else if (s[0] == 'C') {
            size_t l = strlen(s + 2);
            bool prefix = l > 0 && s[2 + l - 1] == '*';

            if (peer_read_line(fd, line, sizeof line) < 0) {
                fprintf(stderr, "peer: EOF, wanted '%s'\n", s + 2);
                _exit(1);
            }
            if (prefix ? strncmp(line, s + 2, l - 1) != 0 : strcmp(line, s + 2) != 0) {
                fprintf(stderr, "peer: got '%s', wanted '%s'\n", line, s + 2);
                _exit(1);
            }
        } else if (s[0] == 'A') {
            close(fd);
            if ((fd = accept(lfd, NULL, NULL)) < 0)
                _exit(3);
        } else if (s[0] == 'W') {
            while (peer_read_line(fd, line, sizeof line) == 0) {
                fprintf(stderr, "peer: unexpected '%s'\n", line);
                _exit(1);
            }
        }
    }
    close(fd);
    _exit(0);
}

static pid_t peer_start(const char *const *steps, int *port)
{
    struct sockaddr_in sa = { 0 };
    socklen_t sl = sizeof sa;
    int lfd = socket(AF_INET, SOCK_STREAM, 0);
    pid_t pid;

    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ck_assert_int_eq(bind(lfd, (struct sockaddr *)&sa, sizeof sa), 0);
    ck_assert_int_eq(listen(lfd, 1), 0);
    ck_assert_int_eq(getsockname(lfd, (struct sockaddr *)&sa, &sl), 0);
    *port = ntohs(sa.sin_port);
    pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0)
        peer_run(lfd, steps);
    close(lfd);
    return pid;
}

static int peer_wait(pid_t pid)
{
    int st;

    ck_assert_int_eq(waitpid(pid, &st, 0), pid);
    return WIFEXITED(st) ? WEXITSTATUS(st) : 100;
}

#endif

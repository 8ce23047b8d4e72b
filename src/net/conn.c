/*
 * TCP connections with timeouts, an optional TLS layer on the socket itself, a bounded line
 * reader and buffered writes sent together on flush.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "tern/conn.h"
#include "tern/log.h"
#include "tern/tls.h"
#include "tern/xalloc.h"

#define CONN_RBUF 65536
#define CONN_MIN_RATE 4096       /* bytes a second a message may not fall below on average */

struct conn {
    int fd;
    int timeout;
    struct tls *tls;
    /* The options kept for STARTTLS and the messages: copies in strs, below. */
    const char *host;
    const char *ca_file;
    const char *fingerprint;
    const char *tag;
    char *rbuf;
    size_t rpos, rlen;
    struct buf wbuf;
    long long deadline;          /* CLOCK_MONOTONIC ms of conn_set_deadline; 0: none */
    int deadline_secs;
    const char *deadline_what;
    char strs[];                 /* allocated with the conn: they live exactly as long */
};

static size_t str_size(const char *s)
{
    return s ? strlen(s) + 1 : 0;
}

/* s copied to *at (which moves past it), or NULL. */
static const char *keep_str(char **at, const char *s)
{
    char *p = *at;

    if (s == NULL)
        return NULL;
    memcpy(p, s, str_size(s));
    *at += str_size(s);
    return p;
}

static struct conn *conn_new(const struct conn_opts *o)
{
    const char *tag = o->trace_tag ? o->trace_tag : "net";
    struct conn *c = xcalloc(1, sizeof *c + str_size(o->host) + str_size(o->ca_file) +
                                str_size(o->fingerprint) + str_size(tag));
    char *at = c->strs;

    c->host = keep_str(&at, o->host);
    c->ca_file = keep_str(&at, o->ca_file);
    c->fingerprint = keep_str(&at, o->fingerprint);
    c->tag = keep_str(&at, tag);
    return c;
}

static long long conn_now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* The earlier of two deadlines, 0 meaning none. */
static long long conn_earlier(long long a, long long b)
{
    if (a == 0)
        return b;
    if (b == 0)
        return a;
    return a < b ? a : b;
}

/*
 * Wait for fd up to the timeout, but never past deadline (ms, 0: none): a server that sends a
 * byte now and then must not hold us for hours. 1 when the deadline passed (e untouched).
 */
static int conn_poll_until(struct conn *c, short events, long long deadline, const char *what,
                           struct err *e)
{
    switch (tls_poll_fd(c->fd, events, c->timeout, deadline)) {
    case 0:
        return 0;
    case 1:
        return 1;
    case 2:
        return err_set(e, ERR_NET, "timed out after %d s %s", c->timeout, what);
    default:
        return err_sys(e, "poll");
    }
}

/* One address: non-blocking connect bounded by the timeout. Returns fd or -1 (errno set). */
static int conn_try(const struct addrinfo *ai, int timeout, bool *timed_out)
{
    int fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC,
                    ai->ai_protocol);
    int soerr = 0, one = 1;
    socklen_t sl = sizeof soerr;
    struct pollfd p;

    if (fd < 0)
        return -1;
    if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0)
        goto ok;
    if (errno != EINPROGRESS && errno != EINTR)
        goto fail;
    p.fd = fd;
    p.events = POLLOUT;
    for (;;) {
        int r = poll(&p, 1, timeout * 1000);

        if (r > 0)
            break;
        if (r == 0) {
            *timed_out = true;
            errno = ETIMEDOUT;
            goto fail;
        }
        if (errno != EINTR)
            goto fail;
    }
    if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) < 0)
        goto fail;
    if (soerr != 0) {
        errno = soerr;
        goto fail;
    }
ok:
    /* Commands are small and sent in groups: Nagle would only add a delayed-ACK stall. */
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    return fd;
fail: {
        int saved = errno;

        close(fd);
        errno = saved;
        return -1;
    }
}

int conn_open(const struct conn_opts *o, struct conn **out, struct err *e)
{
    struct addrinfo hints, *res = NULL;
    char port[16];
    int gai, fd = -1, last_errno = 0;
    bool timed_out = false;
    struct conn *c;

    *out = NULL;
    if (o->host == NULL || *o->host == '\0')
        return err_set(e, ERR_CONFIG, "no host name given");
    memset(&hints, 0, sizeof hints);
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_ADDRCONFIG;
    snprintf(port, sizeof port, "%d", o->port);
    gai = getaddrinfo(o->host, port, &hints, &res);
    if (gai == EAI_BADFLAGS || (gai != 0 && gai != EAI_SYSTEM && res == NULL)) {
        /* AI_ADDRCONFIG hides loopback-only hosts on a machine without other addresses. */
        hints.ai_flags = 0;
        gai = getaddrinfo(o->host, port, &hints, &res);
    }
    if (gai != 0)
        return err_set(e, ERR_NET, "cannot resolve %s: %s", o->host,
                       gai == EAI_SYSTEM ? strerror(errno) : gai_strerror(gai));
    for (struct addrinfo *ai = res; ai != NULL && fd < 0; ai = ai->ai_next) {
        fd = conn_try(ai, o->timeout > 0 ? o->timeout : 60, &timed_out);
        if (fd < 0)
            last_errno = errno;
    }
    freeaddrinfo(res);
    if (fd < 0) {
        if (last_errno == ETIMEDOUT)
            return err_set(e, ERR_NET, "connect to %s port %d: timed out after %d s", o->host,
                           o->port, o->timeout);
        return err_set(e, ERR_NET, "connect to %s port %d: %s", o->host, o->port,
                       strerror(last_errno));
    }
    c = conn_new(o);
    c->fd = fd;
    c->timeout = o->timeout > 0 ? o->timeout : 60;
    c->rbuf = xmalloc(CONN_RBUF);
    buf_init(&c->wbuf);
    if (o->implicit_tls && conn_starttls(c, e) < 0) {
        conn_close(c);
        return -1;
    }
    *out = c;
    return 0;
}

void conn_close(struct conn *c)
{
    if (c == NULL)
        return;
    tls_free(c->tls);
    if (c->fd >= 0)
        close(c->fd);
    free(c->rbuf);
    buf_free(&c->wbuf);
    free(c);
}

int conn_starttls(struct conn *c, struct err *e)
{
    struct tls_opts to = { c->host, c->ca_file, c->fingerprint, c->timeout };
    char peek;
    ssize_t r;

    if (c->tls != NULL)
        return err_set(e, ERR_PROTO, "TLS is already active");
    /*
     * Anything received before our ClientHello was sent in plain text by whoever sits on the
     * path; acting on it after the upgrade is the CVE-2020-14954 class of attack. That covers
     * our buffer and whatever the kernel already holds.
     */
    r = recv(c->fd, &peek, 1, MSG_PEEK | MSG_DONTWAIT);
    if (c->rpos < c->rlen || r > 0)
        return err_set(e, ERR_TLS, "unexpected data after STARTTLS reply from %s "
                       "(possible injection attack): connection aborted", c->host);
    buf_reset(&c->wbuf);
    if (tls_start(c->fd, &to, &c->tls, e) < 0)
        return err_prefix(e, "%s", c->host);
    if (log_get_level() >= LOG_TRACE) {
        char line[160];
        int n = snprintf(line, sizeof line, "[TLS established: %s]", tls_describe(c->tls));

        log_proto(c->tag, '-', line, n > 0 ? (size_t)n : 0, false);
    }
    return 0;
}

bool conn_is_tls(const struct conn *c)
{
    return c->tls != NULL;
}

/* The one line for a passed deadline: what was not complete, and in how long. */
static int conn_too_slow(struct conn *c, int secs, const char *what, struct err *e)
{
    return err_set(e, ERR_NET, "%s is too slow: %s not complete within %d s (timeout %d s); "
                   "giving up", c->host, what, secs, c->timeout);
}

/* Refill the read buffer (it is empty). 0 on data; -1 on EOF, error, timeout or when the
 * deadline (line_dl, or conn_set_deadline's) passes. */
static int conn_fill(struct conn *c, long long line_dl, int line_secs, struct err *e)
{
    long long dl = conn_earlier(c->deadline, line_dl);
    bool mine = dl != 0 && dl == c->deadline;
    int secs = mine ? c->deadline_secs : line_secs;
    const char *what = mine ? c->deadline_what : "a reply line";
    ssize_t r;
    int w;

    c->rpos = c->rlen = 0;
    if (c->tls != NULL) {
        if (tls_pending(c->tls) == 0 &&
            (w = conn_poll_until(c, POLLIN, dl, "waiting for the server", e)) != 0)
            return w > 0 ? conn_too_slow(c, secs, what, e) : -1;
        tls_set_deadline(c->tls, dl);
        r = tls_read(c->tls, c->rbuf, CONN_RBUF, e);
        tls_set_deadline(c->tls, 0);
        if (r < 0 && dl != 0 && conn_now_ms() >= dl)
            return conn_too_slow(c, secs, what, e);
        if (r < 0)
            return err_prefix(e, "%s", c->host);
    } else {
        for (;;) {
            if ((w = conn_poll_until(c, POLLIN, dl, "waiting for the server", e)) != 0)
                return w > 0 ? conn_too_slow(c, secs, what, e) : -1;
            r = read(c->fd, c->rbuf, CONN_RBUF);
            if (r >= 0)
                break;
            if (errno == EINTR || errno == EAGAIN)
                continue;
            return err_set(e, ERR_NET, "%s: read: %s", c->host, strerror(errno));
        }
    }
    if (r == 0)
        return err_set(e, ERR_NET, "%s closed the connection", c->host);
    c->rlen = (size_t)r;
    return 0;
}

int conn_read_line(struct conn *c, struct buf *line, size_t max, struct err *e)
{
    /* A whole line within the timeout, not each read: one byte a second is no progress. */
    long long dl = conn_now_ms() + (long long)c->timeout * 1000;

    buf_reset(line);
    buf_reserve(line, 0);
    line->ptr[0] = '\0';
    for (;;) {
        char *start = c->rbuf + c->rpos;
        size_t avail = c->rlen - c->rpos;
        char *nl = memchr(start, '\n', avail);
        size_t take = nl ? (size_t)(nl - start) : avail;

        /* +1: the CR of a CRLF may sit at the end of a maximal line */
        if (line->len + take > max + 1)
            return err_set(e, ERR_PROTO, "%s sent a line longer than %zu bytes", c->host, max);
        buf_add(line, start, take);
        if (nl != NULL) {
            c->rpos += take + 1;
            if (line->len > 0 && line->ptr[line->len - 1] == '\r')
                buf_truncate(line, line->len - 1);
            if (line->len > max)
                return err_set(e, ERR_PROTO, "%s sent a line longer than %zu bytes", c->host,
                               max);
            log_proto(c->tag, '<', line->ptr, line->len, false);
            return 0;
        }
        c->rpos = c->rlen;
        if (conn_fill(c, dl, c->timeout, e) < 0)
            return -1;
    }
}

void conn_write(struct conn *c, const void *p, size_t n)
{
    buf_add(&c->wbuf, p, n);
}

int conn_flush(struct conn *c, struct err *e)
{
    const char *s = c->wbuf.ptr;
    size_t n = c->wbuf.len;
    int rc = 0;

    if (n == 0)
        return 0;
    if (c->tls != NULL) {
        tls_set_deadline(c->tls, c->deadline);
        if (tls_write_all(c->tls, s, n, e) < 0)
            rc = c->deadline != 0 && conn_now_ms() >= c->deadline
                     ? conn_too_slow(c, c->deadline_secs, c->deadline_what, e)
                     : err_prefix(e, "%s", c->host);
        tls_set_deadline(c->tls, 0);
    } else {
        while (n > 0) {
            ssize_t w = send(c->fd, s, n, MSG_NOSIGNAL);

            if (w < 0) {
                if (errno == EINTR)
                    continue;
                if (errno == EAGAIN || errno == EWOULDBLOCK) {
                    int pw = conn_poll_until(c, POLLOUT, c->deadline, "sending to the server",
                                             e);

                    if (pw != 0) {
                        rc = pw > 0 ? conn_too_slow(c, c->deadline_secs, c->deadline_what, e)
                                    : -1;
                        break;
                    }
                    continue;
                }
                rc = err_set(e, ERR_NET, "%s: write: %s", c->host, strerror(errno));
                break;
            }
            s += w;
            n -= (size_t)w;
        }
    }
    buf_reset(&c->wbuf);
    return rc;
}

void conn_trace_sent(struct conn *c, const char *line, size_t n, bool secret)
{
    log_proto(c->tag, '>', line, n, secret);
}

const char *conn_describe(const struct conn *c)
{
    return c->tls ? tls_describe(c->tls) : "plain";
}

int conn_peer_addr(const struct conn *c, char *out, size_t outsz)
{
    struct sockaddr_storage ss;
    socklen_t sl = sizeof ss;

    if (getpeername(c->fd, (struct sockaddr *)&ss, &sl) < 0 ||
        getnameinfo((struct sockaddr *)&ss, sl, out, (socklen_t)outsz, NULL, 0,
                    NI_NUMERICHOST) != 0) {
        if (outsz > 0)
            out[0] = '\0';
        return -1;
    }
    return 0;
}

int conn_peek(struct conn *c, const char **p, size_t *n, struct err *e)
{
    if (c->rpos >= c->rlen && conn_fill(c, 0, 0, e) < 0)
        return -1;
    *p = c->rbuf + c->rpos;
    *n = c->rlen - c->rpos;
    return 0;
}

void conn_consume(struct conn *c, size_t n)
{
    c->rpos += n < c->rlen - c->rpos ? n : c->rlen - c->rpos;
}

void conn_set_deadline(struct conn *c, int seconds, const char *what)
{
    c->deadline = seconds > 0 ? conn_now_ms() + (long long)seconds * 1000 : 0;
    c->deadline_secs = seconds;
    c->deadline_what = what ? what : "the transfer";
}

int conn_deadline_for(const struct conn *c, unsigned long long bytes)
{
    unsigned long long s = (unsigned long long)c->timeout + bytes / CONN_MIN_RATE;

    return s > 86400 ? 86400 : (int)s;
}

void conn_set_timeout(struct conn *c, int seconds)
{
    c->timeout = seconds > 0 ? seconds : 60;
}

int conn_get_timeout(const struct conn *c)
{
    return c->timeout;
}

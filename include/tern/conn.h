/*
 * A connection to a mail server: TCP with timeouts, optional TLS (implicit or upgraded by
 * STARTTLS/STLS), a bounded line reader and whole writes. Shared by POP3 and SMTP.
 */
#ifndef TERN_CONN_H
#define TERN_CONN_H

#include <stdbool.h>
#include <stddef.h>

#include "tern/buf.h"
#include "tern/err.h"

struct conn;

struct conn_opts {
    const char *host;
    int port;
    int timeout;                 /* seconds, for connect and every read and write */
    bool implicit_tls;           /* handshake right after connect (POP3S, SMTPS) */
    const char *ca_file;         /* extra trusted certificate(s), PEM; NULL for none */
    const char *fingerprint;     /* SHA-256 pin, hex with optional colons; NULL for none */
    const char *trace_tag;       /* "pop3" / "smtp" for the -v trace */
};

/* Connect (and handshake when implicit_tls). Errors: ERR_NET (DNS, refused, timeout, reset),
 * ERR_TLS (handshake, verification: the message says why). */
int conn_open(const struct conn_opts *o, struct conn **out, struct err *e);
void conn_close(struct conn *c);
/*
 * Upgrade a plain connection after the server's STARTTLS/STLS go-ahead. Fails with ERR_TLS
 * "unexpected data after STARTTLS reply" if any byte is already buffered (injection).
 */
int conn_starttls(struct conn *c, struct err *e);
bool conn_is_tls(const struct conn *c);
/*
 * Read one line, without its CRLF/LF, into line (reset first). A line longer than max bytes
 * is ERR_PROTO; a closed connection or a timeout is ERR_NET.
 */
int conn_read_line(struct conn *c, struct buf *line, size_t max, struct err *e);
/* Queue bytes for sending; conn_flush sends everything queued in as few writes as possible. */
void conn_write(struct conn *c, const void *p, size_t n);
int conn_flush(struct conn *c, struct err *e);
/* Trace a line we sent (secret: redact all of it) — conn_write itself does not trace. */
void conn_trace_sent(struct conn *c, const char *line, size_t n, bool secret);

/* "TLSv1.3 TLS_AES_256_GCM_SHA384" or "plain". Borrowed. */
const char *conn_describe(const struct conn *c);
/* The server's numeric address ("127.0.0.1", "2001:db8::1"); -1 (and "") when unknown. */
int conn_peer_addr(const struct conn *c, char *out, size_t outsz);
/*
 * Raw access for protocol bodies that are decoded as a stream (no line bound needed): point
 * *p at the buffered bytes, reading from the network first when none are buffered (ERR_NET on
 * EOF or timeout), then conn_consume what was used. Leftover bytes stay for the next read.
 */
int conn_peek(struct conn *c, const char **p, size_t *n, struct err *e);
void conn_consume(struct conn *c, size_t n);
/*
 * An overall deadline, seconds from now (0 clears it), for what follows until cleared: reads
 * (conn_peek, conn_read_line) and writes (conn_flush) fail with ERR_NET "HOST is too slow:
 * WHAT not complete within N s" when it passes, however steadily bytes trickle in. Each
 * conn_read_line has its own deadline too: the whole line within the timeout.
 */
void conn_set_deadline(struct conn *c, int seconds, const char *what);
/* The deadline for a transfer of bytes: the timeout plus the time at 4 KiB/s. */
int conn_deadline_for(const struct conn *c, unsigned long long bytes);
/* Change the timeout (seconds) for the following reads and writes. */
void conn_set_timeout(struct conn *c, int seconds);
int conn_get_timeout(const struct conn *c);

#endif

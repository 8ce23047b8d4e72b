/*
 * TLS over a connected, non-blocking socket (OpenSSL 3): handshake with verification that says
 * why it failed, then whole reads and writes with poll-based timeouts. Used only by conn.c.
 */
#ifndef TERN_TLS_H
#define TERN_TLS_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "tern/err.h"

struct tls;

struct tls_opts {
    const char *host;            /* SNI (unless an IP literal) and the name checked */
    const char *ca_file;         /* extra trusted certificate(s), PEM; NULL for none */
    /*
     * SHA-256 of the server certificate, hex with optional colons. When set, the certificate
     * is accepted if and only if it matches: chain, dates and name are not checked (like
     * mpop's tls_fingerprint), which is how a self-signed server is pinned.
     */
    const char *fingerprint;
    int timeout;                 /* seconds for the handshake and every later read or write */
};

/*
 * Handshake on fd (a non-blocking connected socket; the TLS layer reads the socket itself,
 * never a buffered stream) and verify the peer. On failure nothing has been sent but the
 * handshake. Errors: ERR_TLS "certificate expired", "certificate is for X, not HOST",
 * "untrusted certificate (...)", "fingerprint mismatch (got ...)", ERR_NET for timeouts/resets.
 */
int tls_start(int fd, const struct tls_opts *o, struct tls **out, struct err *e);
void tls_free(struct tls *t);
/* Read up to n bytes (at least one); 0 means the peer closed. -1 with e on error/timeout. */
ssize_t tls_read(struct tls *t, void *p, size_t n, struct err *e);
/* Write all n bytes. */
int tls_write_all(struct tls *t, const void *p, size_t n, struct err *e);
/* Bytes OpenSSL has decrypted but not yet handed out. */
size_t tls_pending(const struct tls *t);
/* Bound every wait by an absolute CLOCK_MONOTONIC time in ms as well (0: only the timeout);
 * passing it is ERR_NET "too slow". Set by conn for its line and message deadlines. */
void tls_set_deadline(struct tls *t, long long deadline_ms);
/*
 * Wait up to timeout seconds for events on fd (a plain socket or one under TLS), and never past
 * deadline (CLOCK_MONOTONIC ms, 0: none), polling again after a signal. 0 when ready, 1 when
 * the deadline passed first, 2 when the timeout did, -1 with errno when poll failed. The one
 * wait of the net layer: conn's and tls's errors differ, so each caller words its own.
 */
int tls_poll_fd(int fd, short events, int timeout, long long deadline);
/* "TLSv1.3 TLS_AES_256_GCM_SHA384", for the trace. Borrowed. */
const char *tls_describe(const struct tls *t);
/* Parse a fingerprint written as hex with optional colons into 32 bytes; 0 or -1. */
int tls_parse_fingerprint(const char *s, unsigned char out[32]);

#endif

/*
 * OpenSSL 3 client sessions: TLS 1.2 minimum, SNI, chain + host/IP verification or a SHA-256
 * pin, and non-blocking I/O with poll-based timeouts. A failure names its reason.
 */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "tern/tls.h"
#include "tern/str.h"
#include "tern/xalloc.h"

struct tls {
    SSL_CTX *ctx;
    SSL *ssl;
    int fd;
    int timeout;
    long long deadline;          /* CLOCK_MONOTONIC ms; 0: none (tls_set_deadline) */
    char desc[96];
};

static bool tls_is_ip(const char *host)
{
    unsigned char tmp[16];

    return inet_pton(AF_INET, host, tmp) == 1 || inet_pton(AF_INET6, host, tmp) == 1;
}

int tls_parse_fingerprint(const char *s, unsigned char out[32])
{
    size_t n = 0;
    int hi = -1;

    for (; *s; s++) {
        int v;

        if (*s == ':' || *s == ' ')
            continue;
        if ((v = str_hexval(*s)) < 0)
            return -1;
        if (hi < 0) {
            hi = v;
        } else {
            if (n >= 32)
                return -1;
            out[n++] = (unsigned char)(hi << 4 | v);
            hi = -1;
        }
    }
    return n == 32 && hi < 0 ? 0 : -1;
}

static void tls_hex(const unsigned char *md, unsigned len, char *out, size_t outsz)
{
    size_t o = 0;

    out[0] = '\0';
    for (unsigned i = 0; i < len && o + 4 <= outsz; i++)
        o += (size_t)snprintf(out + o, outsz - o, i ? ":%02X" : "%02X", md[i]);
}

/* The first OpenSSL error on the queue, as text; empties the queue. */
static void tls_ossl_reason(char *out, size_t outsz)
{
    unsigned long code = ERR_get_error();

    if (code == 0)
        snprintf(out, outsz, "unknown error");
    else
        ERR_error_string_n(code, out, outsz);
    ERR_clear_error();
}

int tls_poll_fd(int fd, short events, int timeout, long long deadline)
{
    struct pollfd p = { .fd = fd, .events = events };

    for (;;) {
        long long wait = (long long)timeout * 1000;
        bool by_deadline = false;
        int r;

        if (deadline > 0) {
            struct timespec ts;
            long long left;

            clock_gettime(CLOCK_MONOTONIC, &ts);
            left = deadline - ((long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000);
            if (left < wait) {
                wait = left > 0 ? left : 0;
                by_deadline = true;
            }
        }
        r = poll(&p, 1, (int)wait);
        if (r > 0)
            return 0;
        if (r == 0)
            return by_deadline ? 1 : 2;
        if (errno != EINTR)
            return -1;
    }
}

/* Wait until the socket is ready for what OpenSSL asked for. */
static int tls_wait(struct tls *t, int sslerr, const char *what, struct err *e)
{
    switch (tls_poll_fd(t->fd, sslerr == SSL_ERROR_WANT_WRITE ? POLLOUT : POLLIN, t->timeout,
                        t->deadline)) {
    case 0:
        return 0;
    case 1:
        return err_set(e, ERR_NET, "too slow: deadline passed during %s", what);
    case 2:
        return err_set(e, ERR_NET, "timed out after %d s during %s", t->timeout, what);
    default:
        return err_sys(e, "poll");
    }
}

void tls_set_deadline(struct tls *t, long long deadline_ms)
{
    t->deadline = deadline_ms;
}

/* Turn a failed SSL_* call into an error; 1 if the caller should retry after waiting. */
static int tls_failed(struct tls *t, int ret, const char *what, struct err *e)
{
    int sslerr = SSL_get_error(t->ssl, ret);
    char reason[256];

    switch (sslerr) {
    case SSL_ERROR_WANT_READ:
    case SSL_ERROR_WANT_WRITE:
        return tls_wait(t, sslerr, what, e) == 0 ? 1 : -1;
    case SSL_ERROR_ZERO_RETURN:
        return err_set(e, ERR_NET, "connection closed by the server during %s", what);
    case SSL_ERROR_SYSCALL:
        if (ERR_peek_error() == 0) {
            if (errno == 0 || ret == 0)
                return err_set(e, ERR_NET, "connection closed by the server during %s", what);
            return err_set(e, ERR_NET, "%s: %s", what, strerror(errno));
        }
        /* fall through */
    default:
        tls_ossl_reason(reason, sizeof reason);
        return err_set(e, ERR_TLS, "TLS %s failed: %s", what, reason);
    }
}

/* Describe a verification failure the way a user can act on it. */
static int tls_verify_error(struct tls *t, long res, const char *host, struct err *e)
{
    X509 *cert = SSL_get0_peer_certificate(t->ssl);
    char subj[256] = "?";

    if (cert != NULL)
        X509_NAME_oneline(X509_get_subject_name(cert), subj, sizeof subj);
    switch (res) {
    case X509_V_ERR_CERT_HAS_EXPIRED:
        return err_set(e, ERR_TLS, "certificate expired (%s)", subj);
    case X509_V_ERR_CERT_NOT_YET_VALID:
        return err_set(e, ERR_TLS, "certificate not yet valid (%s)", subj);
    case X509_V_ERR_HOSTNAME_MISMATCH:
    case X509_V_ERR_IP_ADDRESS_MISMATCH:
        return err_set(e, ERR_TLS, "wrong host: certificate (%s) is not for %s", subj, host);
    case X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT:
    case X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN:
    case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY:
    case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT:
    case X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE:
        return err_set(e, ERR_TLS, "untrusted certificate (%s): %s; set tls_ca_file or "
                       "tls_fingerprint", subj, X509_verify_cert_error_string(res));
    case X509_V_ERR_CERT_REVOKED:
        return err_set(e, ERR_TLS, "certificate revoked (%s)", subj);
    default:
        return err_set(e, ERR_TLS, "certificate verification failed (%s): %s", subj,
                       X509_verify_cert_error_string(res));
    }
}

static SSL_CTX *tls_ctx(const struct tls_opts *o, struct err *e)
{
    SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
    char reason[256];

    if (ctx == NULL) {
        tls_ossl_reason(reason, sizeof reason);
        err_set(e, ERR_TLS, "cannot create TLS context: %s", reason);
        return NULL;
    }
    SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
    SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
    /* Verification runs during the handshake and is judged afterwards (tls_start), so that
     * the error can say why; nothing but the handshake is sent before that judgement. */
    SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL);
    if (SSL_CTX_set_default_verify_paths(ctx) != 1)
        ERR_clear_error();
    if (o->ca_file != NULL && *o->ca_file &&
        SSL_CTX_load_verify_locations(ctx, o->ca_file, NULL) != 1) {
        tls_ossl_reason(reason, sizeof reason);
        err_set(e, ERR_TLS, "cannot load tls_ca_file %s: %s", o->ca_file, reason);
        SSL_CTX_free(ctx);
        return NULL;
    }
    return ctx;
}

int tls_start(int fd, const struct tls_opts *o, struct tls **out, struct err *e)
{
    unsigned char pin[32];
    struct tls *t;
    X509_VERIFY_PARAM *vp;
    int r;

    *out = NULL;
    if (o->fingerprint != NULL && *o->fingerprint &&
        tls_parse_fingerprint(o->fingerprint, pin) < 0)
        return err_set(e, ERR_CONFIG, "tls_fingerprint is not a SHA-256 fingerprint "
                       "(64 hex digits, colons allowed)");
    t = xcalloc(1, sizeof *t);
    t->fd = fd;
    t->timeout = o->timeout > 0 ? o->timeout : 60;
    ERR_clear_error();
    if ((t->ctx = tls_ctx(o, e)) == NULL)
        goto fail;
    if ((t->ssl = SSL_new(t->ctx)) == NULL || SSL_set_fd(t->ssl, fd) != 1) {
        err_set(e, ERR_TLS, "cannot create TLS session");
        goto fail;
    }
    vp = SSL_get0_param(t->ssl);
    if (tls_is_ip(o->host)) {
        X509_VERIFY_PARAM_set1_ip_asc(vp, o->host);
    } else {
        SSL_set_tlsext_host_name(t->ssl, o->host);
        X509_VERIFY_PARAM_set_hostflags(vp, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
        X509_VERIFY_PARAM_set1_host(vp, o->host, 0);
    }
    SSL_set_connect_state(t->ssl);
    while ((errno = 0, r = SSL_do_handshake(t->ssl)) != 1) {
        int f = tls_failed(t, r, "handshake", e);

        if (f < 0)
            goto fail;
    }
    if (o->fingerprint != NULL && *o->fingerprint) {
        X509 *cert = SSL_get0_peer_certificate(t->ssl);
        unsigned char md[EVP_MAX_MD_SIZE];
        unsigned len = 0;
        char got[100];

        if (cert == NULL || !X509_digest(cert, EVP_sha256(), md, &len) || len != 32) {
            err_set(e, ERR_TLS, "fingerprint mismatch: the server sent no certificate");
            goto fail;
        }
        if (memcmp(md, pin, 32) != 0) {
            tls_hex(md, len, got, sizeof got);
            err_set(e, ERR_TLS, "fingerprint mismatch: the server's certificate has SHA-256 %s",
                    got);
            goto fail;
        }
    } else {
        long res = SSL_get_verify_result(t->ssl);

        if (SSL_get0_peer_certificate(t->ssl) == NULL) {
            err_set(e, ERR_TLS, "untrusted: the server sent no certificate");
            goto fail;
        }
        if (res != X509_V_OK) {
            tls_verify_error(t, res, o->host, e);
            goto fail;
        }
    }
    snprintf(t->desc, sizeof t->desc, "%s %s", SSL_get_version(t->ssl),
             SSL_get_cipher_name(t->ssl));
    *out = t;
    return 0;
fail:
    tls_free(t);
    return -1;
}

void tls_free(struct tls *t)
{
    if (t == NULL)
        return;
    if (t->ssl != NULL) {
        /* A close_notify is a courtesy: never wait for it. */
        SSL_set_quiet_shutdown(t->ssl, 1);
        SSL_free(t->ssl);
    }
    SSL_CTX_free(t->ctx);
    ERR_clear_error();
    free(t);
}

ssize_t tls_read(struct tls *t, void *p, size_t n, struct err *e)
{
    for (;;) {
        size_t got = 0;
        int r;

        errno = 0;
        r = SSL_read_ex(t->ssl, p, n, &got);

        if (r == 1)
            return (ssize_t)got;
        if (SSL_get_error(t->ssl, r) == SSL_ERROR_ZERO_RETURN)
            return 0;
        if (SSL_get_error(t->ssl, r) == SSL_ERROR_SYSCALL && ERR_peek_error() == 0 &&
            (errno == 0 || r == 0)) {
            /* EOF without close_notify: treat as a close, the protocol layer decides. */
            return 0;
        }
        if (tls_failed(t, r, "read", e) < 0)
            return -1;
    }
}

int tls_write_all(struct tls *t, const void *p, size_t n, struct err *e)
{
    const char *s = p;

    while (n > 0) {
        size_t w = 0;
        int r;

        errno = 0;
        r = SSL_write_ex(t->ssl, s, n, &w);

        if (r == 1) {
            s += w;
            n -= w;
            continue;
        }
        if (tls_failed(t, r, "write", e) < 0)
            return -1;
    }
    return 0;
}

size_t tls_pending(const struct tls *t)
{
    return (size_t)SSL_pending(t->ssl);
}

const char *tls_describe(const struct tls *t)
{
    return t->desc;
}

/* conn and tls against an in-process peer (a forked child on a loopback port): lines, bounds,
 * timeouts, refusal, STARTTLS injection, and certificate verification failures by reason. */
#include "config.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>

#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "testutil.h"
#include "tern/conn.h"
#include "tern/oauth.h"
#include "tern/secret.h"
#include "tern/tls.h"

static char *dir;
static char cert_ok[4200], key_ok[4200], cert_other[4200], key_other[4200];
static char cert_old[4200], key_old[4200];
static char fp_ok[128];

/* A self-signed EC certificate for cn with the given SAN, valid from/to seconds from now. */
static void make_cert(const char *cpath, const char *kpath, const char *cn, const char *san,
                      long from, long to, char *fp, size_t fpsz)
{
    EVP_PKEY *key = EVP_EC_gen("P-256");
    X509 *x = X509_new();
    X509_NAME *name;
    X509_EXTENSION *ext;
    X509V3_CTX ctx;
    FILE *f;

    ck_assert_ptr_nonnull(key);
    X509_set_version(x, 2);
    ASN1_INTEGER_set(X509_get_serialNumber(x), (long)time(NULL));
    X509_gmtime_adj(X509_getm_notBefore(x), from);
    X509_gmtime_adj(X509_getm_notAfter(x), to);
    X509_set_pubkey(x, key);
    name = X509_get_subject_name(x);
    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)cn, -1, -1, 0);
    X509_set_issuer_name(x, name);
    X509V3_set_ctx(&ctx, x, x, NULL, NULL, 0);
    ext = X509V3_EXT_conf_nid(NULL, &ctx, NID_subject_alt_name, san);
    ck_assert_ptr_nonnull(ext);
    X509_add_ext(x, ext, -1);
    X509_EXTENSION_free(ext);
    ext = X509V3_EXT_conf_nid(NULL, &ctx, NID_basic_constraints, "critical,CA:TRUE");
    X509_add_ext(x, ext, -1);
    X509_EXTENSION_free(ext);
    ck_assert_int_gt(X509_sign(x, key, EVP_sha256()), 0);
    f = fopen(cpath, "w");
    PEM_write_X509(f, x);
    fclose(f);
    f = fopen(kpath, "w");
    PEM_write_PrivateKey(f, key, NULL, NULL, 0, NULL, NULL);
    fclose(f);
    if (fp != NULL) {
        unsigned char md[32];
        unsigned len = 0;
        size_t o = 0;

        X509_digest(x, EVP_sha256(), md, &len);
        for (unsigned i = 0; i < len; i++)
            o += (size_t)snprintf(fp + o, fpsz - o, i ? ":%02x" : "%02x", md[i]);
    }
    X509_free(x);
    EVP_PKEY_free(key);
}

static void setup(void)
{
    dir = test_tmpdir();
    snprintf(cert_ok, sizeof cert_ok, "%s/ok.pem", dir);
    snprintf(key_ok, sizeof key_ok, "%s/ok.key", dir);
    snprintf(cert_other, sizeof cert_other, "%s/other.pem", dir);
    snprintf(key_other, sizeof key_other, "%s/other.key", dir);
    snprintf(cert_old, sizeof cert_old, "%s/old.pem", dir);
    snprintf(key_old, sizeof key_old, "%s/old.key", dir);
    make_cert(cert_ok, key_ok, "localhost", "DNS:localhost,IP:127.0.0.1", -3600, 86400,
              fp_ok, sizeof fp_ok);
    make_cert(cert_other, key_other, "other.example", "DNS:other.example", -3600, 86400,
              NULL, 0);
    make_cert(cert_old, key_old, "localhost", "DNS:localhost,IP:127.0.0.1", -86400 * 3,
              -86400, NULL, 0);
}

static void teardown(void)
{
    test_tmpdir_free(dir);
}

/* ---- the peer ---- */

struct peer {
    pid_t pid;
    int port;
};

typedef void (*peer_fn)(int fd, SSL *ssl);

static void peer_send(int fd, SSL *ssl, const char *s)
{
    if (ssl)
        SSL_write(ssl, s, (int)strlen(s));
    else if (write(fd, s, strlen(s)) < 0)
        _exit(3);
}

/* Read one line (up to LF) from the client; returns its length or -1. */
static int peer_line(int fd, SSL *ssl, char *out, size_t n)
{
    size_t i = 0;

    while (i + 1 < n) {
        char ch;
        int r = ssl ? SSL_read(ssl, &ch, 1) : (int)read(fd, &ch, 1);

        if (r <= 0)
            return -1;
        out[i++] = ch;
        if (ch == '\n')
            break;
    }
    out[i] = '\0';
    return (int)i;
}

static SSL *peer_tls(int fd, const char *cert, const char *key)
{
    SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
    SSL *ssl;

    SSL_CTX_use_certificate_file(ctx, cert, SSL_FILETYPE_PEM);
    SSL_CTX_use_PrivateKey_file(ctx, key, SSL_FILETYPE_PEM);
    ssl = SSL_new(ctx);
    SSL_set_fd(ssl, fd);
    if (SSL_accept(ssl) != 1)
        _exit(0);
    return ssl;
}

static const char *peer_cert, *peer_key;
static bool peer_implicit;

static struct peer peer_start(peer_fn fn)
{
    struct sockaddr_in sa = { .sin_family = AF_INET };
    socklen_t sl = sizeof sa;
    int lfd = socket(AF_INET, SOCK_STREAM, 0);
    struct peer p;

    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ck_assert_int_eq(bind(lfd, (struct sockaddr *)&sa, sizeof sa), 0);
    ck_assert_int_eq(listen(lfd, 4), 0);
    getsockname(lfd, (struct sockaddr *)&sa, &sl);
    p.port = ntohs(sa.sin_port);
    p.pid = fork();
    ck_assert_int_ge(p.pid, 0);
    if (p.pid == 0) {
        int fd = accept(lfd, NULL, NULL);
        SSL *ssl = NULL;

        alarm(10);
        if (fd < 0)
            _exit(2);
        if (peer_implicit)
            ssl = peer_tls(fd, peer_cert, peer_key);
        fn(fd, ssl);
        if (ssl)
            SSL_shutdown(ssl);
        _exit(0);
    }
    close(lfd);
    return p;
}

static void peer_end(struct peer *p)
{
    kill(p->pid, SIGKILL);
    waitpid(p->pid, NULL, 0);
}

static int open_to(struct peer *p, const char *host, bool tls, const char *ca, const char *fp,
                   int timeout, struct conn **c, struct err *e)
{
    struct conn_opts o = { host, p->port, timeout, tls, ca, fp, "test" };

    return conn_open(&o, c, e);
}

/* ---- scenarios ---- */

static void sc_lines(int fd, SSL *ssl)
{
    char line[256];

    peer_send(fd, ssl, "+OK hello\r\nbare lf\n\r\n");
    if (peer_line(fd, ssl, line, sizeof line) < 0)
        return;
    if (peer_line(fd, ssl, line + 100, sizeof line - 100) < 0)
        return;
    line[strcspn(line, "\r\n")] = '\0';
    peer_send(fd, ssl, "got ");
    peer_send(fd, ssl, line);
    peer_send(fd, ssl, " ");
    line[100 + strcspn(line + 100, "\r\n")] = '\0';
    peer_send(fd, ssl, line + 100);
    peer_send(fd, ssl, "\r\npartial");
}

static void check_lines(struct conn *c)
{
    struct buf l = BUF_INIT;
    struct err e;

    ck_assert_int_eq(conn_read_line(c, &l, 100, &e), 0);
    ck_assert_str_eq(l.ptr, "+OK hello");
    ck_assert_int_eq(conn_read_line(c, &l, 100, &e), 0);
    ck_assert_str_eq(l.ptr, "bare lf");
    ck_assert_int_eq(conn_read_line(c, &l, 100, &e), 0);
    ck_assert_str_eq(l.ptr, "");
    conn_write(c, "ONE\r\n", 5);
    conn_write(c, "TWO\r\n", 5);
    ck_assert_int_eq(conn_flush(c, &e), 0);
    ck_assert_int_eq(conn_read_line(c, &l, 100, &e), 0);
    ck_assert_str_eq(l.ptr, "got ONE TWO");
    /* "partial" then EOF: an unterminated line is a closed connection, not a line */
    ck_assert_int_eq(conn_read_line(c, &l, 100, &e), -1);
    test_err(&e, ERR_NET, "closed");
    buf_free(&l);
}

START_TEST(test_plain_lines)
{
    struct peer p;
    struct conn *c;
    struct err e;

    peer_implicit = false;
    p = peer_start(sc_lines);
    ck_assert_int_eq(open_to(&p, "127.0.0.1", false, NULL, NULL, 5, &c, &e), 0);
    ck_assert(!conn_is_tls(c));
    check_lines(c);
    conn_close(c);
    peer_end(&p);
}
END_TEST

static void sc_long(int fd, SSL *ssl)
{
    char big[3000];

    memset(big, 'x', sizeof big);
    memcpy(big + 98, "\r\n", 2);          /* exactly 98 + CRLF: fits a 98-byte limit */
    big[sizeof big - 1] = '\n';
    if (write(fd, big, sizeof big) < 0)
        return;
    (void)ssl;
    sleep(2);
}

START_TEST(test_line_bound)
{
    struct peer p;
    struct conn *c;
    struct buf l = BUF_INIT;
    struct err e;

    peer_implicit = false;
    p = peer_start(sc_long);
    ck_assert_int_eq(open_to(&p, "127.0.0.1", false, NULL, NULL, 5, &c, &e), 0);
    ck_assert_int_eq(conn_read_line(c, &l, 98, &e), 0);
    ck_assert_uint_eq(l.len, 98);
    ck_assert_int_eq(conn_read_line(c, &l, 98, &e), -1);
    test_err(&e, ERR_PROTO, "longer than 98");
    ck_assert_uint_le(l.cap, 4096);
    buf_free(&l);
    conn_close(c);
    peer_end(&p);
}
END_TEST

static void sc_stall(int fd, SSL *ssl)
{
    peer_send(fd, ssl, "+OK then nothing\r\n");
    sleep(5);
}

START_TEST(test_timeout)
{
    struct peer p;
    struct conn *c;
    struct buf l = BUF_INIT;
    struct err e;
    time_t t0;

    peer_implicit = false;
    p = peer_start(sc_stall);
    ck_assert_int_eq(open_to(&p, "127.0.0.1", false, NULL, NULL, 1, &c, &e), 0);
    ck_assert_int_eq(conn_read_line(c, &l, 100, &e), 0);
    t0 = time(NULL);
    ck_assert_int_eq(conn_read_line(c, &l, 100, &e), -1);
    ck_assert_int_le(time(NULL) - t0, 3);
    test_err(&e, ERR_NET, "timed out");
    buf_free(&l);
    conn_close(c);
    peer_end(&p);
}
END_TEST

START_TEST(test_refused_and_dns)
{
    struct sockaddr_in sa = { .sin_family = AF_INET };
    socklen_t sl = sizeof sa;
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct peer p;
    struct conn *c = NULL;
    struct err e;

    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    bind(fd, (struct sockaddr *)&sa, sizeof sa);
    getsockname(fd, (struct sockaddr *)&sa, &sl);
    p.port = ntohs(sa.sin_port);
    close(fd);    /* bound, never listened: connecting is refused */
    ck_assert_int_eq(open_to(&p, "127.0.0.1", false, NULL, NULL, 5, &c, &e), -1);
    ck_assert_ptr_null(c);
    test_err(&e, ERR_NET, "refused");
    ck_assert_int_eq(open_to(&p, "no-such-host.invalid", false, NULL, NULL, 5, &c, &e), -1);
    test_err(&e, ERR_NET, "cannot resolve no-such-host.invalid");
}
END_TEST

/* ---- TLS ---- */

static void tls_case(const char *cert, const char *key, const char *host, const char *ca,
                     const char *fp, const char *want_err)
{
    struct peer p;
    struct conn *c = NULL;
    struct err e;

    peer_cert = cert;
    peer_key = key;
    peer_implicit = true;
    p = peer_start(sc_lines);
    if (want_err == NULL) {
        int rc = open_to(&p, host, true, ca, fp, 5, &c, &e);

        ck_assert_msg(rc == 0, "unexpected: %s", e.msg);
        ck_assert(conn_is_tls(c));
        ck_assert(strncmp(conn_describe(c), "TLSv1.", 6) == 0);
        check_lines(c);
        conn_close(c);
    } else {
        ck_assert_int_eq(open_to(&p, host, true, ca, fp, 5, &c, &e), -1);
        ck_assert_int_eq(e.cls, ERR_TLS);
        ck_assert_msg(strstr(e.msg, want_err) != NULL, "'%s' lacks '%s'", e.msg, want_err);
    }
    peer_end(&p);
}

START_TEST(test_tls_ok) { tls_case(cert_ok, key_ok, "127.0.0.1", cert_ok, NULL, NULL); }
END_TEST
START_TEST(test_tls_ok_name) { tls_case(cert_ok, key_ok, "localhost", cert_ok, NULL, NULL); }
END_TEST
START_TEST(test_tls_untrusted)
{
    tls_case(cert_ok, key_ok, "127.0.0.1", NULL, NULL, "untrusted certificate");
}
END_TEST
START_TEST(test_tls_wrong_host)
{
    tls_case(cert_other, key_other, "127.0.0.1", cert_other, NULL, "wrong host");
    tls_case(cert_other, key_other, "localhost", cert_other, NULL, "is not for localhost");
}
END_TEST
START_TEST(test_tls_expired)
{
    tls_case(cert_old, key_old, "localhost", cert_old, NULL, "certificate expired");
}
END_TEST
START_TEST(test_tls_pin)
{
    char upper[128];

    tls_case(cert_ok, key_ok, "127.0.0.1", NULL, fp_ok, NULL);
    for (size_t i = 0; i <= strlen(fp_ok); i++)
        upper[i] = (char)((fp_ok[i] >= 'a' && fp_ok[i] <= 'f') ? fp_ok[i] - 32 : fp_ok[i]);
    tls_case(cert_ok, key_ok, "127.0.0.1", NULL, upper, NULL);
    tls_case(cert_other, key_other, "127.0.0.1", cert_other, fp_ok, "fingerprint mismatch");
}
END_TEST
START_TEST(test_tls_bad_ca_file)
{
    struct peer p = { 0, 1 };
    struct conn *c;
    struct err e;

    /* the CA file is read before connecting? no: at handshake; use a live peer */
    peer_cert = cert_ok;
    peer_key = key_ok;
    peer_implicit = true;
    p = peer_start(sc_lines);
    ck_assert_int_eq(open_to(&p, "127.0.0.1", true, "/nonexistent/ca.pem", NULL, 5, &c, &e),
                     -1);
    test_err(&e, ERR_TLS, "tls_ca_file");
    peer_end(&p);
}
END_TEST

START_TEST(test_fingerprint_parse)
{
    unsigned char md[32];

    ck_assert_int_eq(tls_parse_fingerprint(fp_ok, md), 0);
    ck_assert_int_eq(tls_parse_fingerprint("abcd", md), -1);
    ck_assert_int_eq(tls_parse_fingerprint("zz", md), -1);
}
END_TEST

/* ---- STARTTLS ---- */

static void sc_starttls_ok(int fd, SSL *ssl)
{
    (void)ssl;
    peer_send(fd, NULL, "+OK begin TLS\r\n");
    ssl = peer_tls(fd, cert_ok, key_ok);
    sc_lines(fd, ssl);
    SSL_shutdown(ssl);
}

static void sc_inject_same(int fd, SSL *ssl)
{
    (void)ssl;
    peer_send(fd, NULL, "+OK begin TLS\r\n+OK forged\r\n");
    sleep(3);
}

static void sc_inject_later(int fd, SSL *ssl)
{
    (void)ssl;
    peer_send(fd, NULL, "+OK begin TLS\r\n");
    usleep(100000);
    peer_send(fd, NULL, "+OK forged capability list\r\nSTLS\r\nUSER\r\n.\r\n");
    sleep(3);
}

static void sc_inject_after_hello(int fd, SSL *ssl)
{
    char hello[64];

    (void)ssl;
    peer_send(fd, NULL, "+OK begin TLS\r\n");
    if (read(fd, hello, sizeof hello) <= 0)   /* the ClientHello has left the client */
        return;
    peer_send(fd, NULL, "+OK forged\r\n");
    sleep(3);
}

static void starttls_case(peer_fn fn, int delay_ms, const char *want_err, enum err_class cls)
{
    struct peer p;
    struct conn *c;
    struct buf l = BUF_INIT;
    struct err e;

    peer_implicit = false;
    p = peer_start(fn);
    ck_assert_int_eq(open_to(&p, "localhost", false, cert_ok, NULL, 5, &c, &e), 0);
    ck_assert_int_eq(conn_read_line(c, &l, 100, &e), 0);
    ck_assert_str_eq(l.ptr, "+OK begin TLS");
    if (delay_ms)
        usleep((useconds_t)delay_ms * 1000);
    if (want_err == NULL) {
        ck_assert_msg(conn_starttls(c, &e) == 0, "%s", e.msg);
        ck_assert(conn_is_tls(c));
        check_lines(c);
    } else {
        ck_assert_int_eq(conn_starttls(c, &e), -1);
        ck_assert_int_eq(e.cls, cls);
        ck_assert_msg(strstr(e.msg, want_err) != NULL, "'%s' lacks '%s'", e.msg, want_err);
        ck_assert(!conn_is_tls(c));
    }
    buf_free(&l);
    conn_close(c);
    peer_end(&p);
}

START_TEST(test_starttls_ok) { starttls_case(sc_starttls_ok, 0, NULL, ERR_NONE); }
END_TEST
START_TEST(test_starttls_inject_same_segment)
{
    starttls_case(sc_inject_same, 0, "unexpected data after STARTTLS reply", ERR_TLS);
}
END_TEST
START_TEST(test_starttls_inject_later_segment)
{
    /* arrived before we start the handshake: seen in the kernel buffer */
    starttls_case(sc_inject_later, 400, "unexpected data after STARTTLS reply", ERR_TLS);
}
END_TEST
START_TEST(test_starttls_inject_during_handshake)
{
    /* arrives after our ClientHello: it is not a TLS record, the handshake fails */
    starttls_case(sc_inject_after_hello, 0, "handshake", ERR_TLS);
}
END_TEST

/* What the OAuth2 client reads: the browser's redirect and the token file. */
START_TEST(test_oauth_parsers)
{
    const char *q = "state=s%2B1&code=4%2F0Ab+x&error=";
    char *v, *r, *a;
    long long x;
    const char *file = "refresh_token rt-1\naccess_token has space\nexpires 42\njunk\n"
                       "refresh_token second\n";

    v = oauth_query_get(q, strlen(q), "code");
    ck_assert_str_eq(v, "4/0Ab x");
    free(v);
    v = oauth_query_get(q, strlen(q), "state");
    ck_assert_str_eq(v, "s+1");
    free(v);
    v = oauth_query_get(q, strlen(q), "error");
    ck_assert_str_eq(v, "");
    free(v);
    ck_assert_ptr_null(oauth_query_get(q, strlen(q), "cod"));
    ck_assert_ptr_null(oauth_query_get("code=%zz", 8, "code"));
    ck_assert_ptr_null(oauth_query_get("code=%2", 7, "code"));
    ck_assert_ptr_null(oauth_query_get("code=%00x", 9, "code"));
    ck_assert_ptr_null(oauth_query_get("code=%+1", 8, "code"));
    oauth_tokens_parse(file, strlen(file), &r, &a, &x);
    ck_assert_str_eq(r, "rt-1");
    ck_assert_ptr_null(a);      /* a token with a space is refused */
    ck_assert_int_eq(x, 42);
    secret_free(r);
}
END_TEST

static Suite *conn_suite(void)
{
    Suite *s = suite_create("conn");
    TCase *tc = tcase_create("conn");

    tcase_add_unchecked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, test_plain_lines);
    tcase_add_test(tc, test_line_bound);
    tcase_add_test(tc, test_timeout);
    tcase_add_test(tc, test_refused_and_dns);
    tcase_add_test(tc, test_tls_ok);
    tcase_add_test(tc, test_tls_ok_name);
    tcase_add_test(tc, test_tls_untrusted);
    tcase_add_test(tc, test_tls_wrong_host);
    tcase_add_test(tc, test_tls_expired);
    tcase_add_test(tc, test_tls_pin);
    tcase_add_test(tc, test_tls_bad_ca_file);
    tcase_add_test(tc, test_fingerprint_parse);
    tcase_add_test(tc, test_starttls_ok);
    tcase_add_test(tc, test_starttls_inject_same_segment);
    tcase_add_test(tc, test_starttls_inject_later_segment);
    tcase_add_test(tc, test_starttls_inject_during_handshake);
    tcase_add_test(tc, test_oauth_parsers);
    suite_add_tcase(s, tc);
    return s;
}

TEST_MAIN(conn_suite)

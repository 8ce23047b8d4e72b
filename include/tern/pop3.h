/*
 * A POP3 client session (RFC 1939, 2449 CAPA, 2595 STLS, 5034 SASL): connect with implicit
 * TLS or STLS, authenticate, list, retrieve (pipelined when offered), delete, quit. Replies
 * become struct err messages that quote the server. The parsers work on plain buffers so that
 * they can be unit-tested and fuzzed without a network.
 */
#ifndef TERN_POP3_H
#define TERN_POP3_H

#include <stdbool.h>
#include <stddef.h>

#include "tern/config.h"
#include "tern/err.h"

struct pop3;

/* Capabilities, from CAPA (RFC 2449) and the greeting (APOP). */
enum {
    POP3_CAP_CAPA = 1 << 0,        /* the server answered CAPA */
    POP3_CAP_STLS = 1 << 1,
    POP3_CAP_USER = 1 << 2,
    POP3_CAP_SASL_PLAIN = 1 << 3,
    POP3_CAP_SASL_LOGIN = 1 << 4,
    POP3_CAP_PIPELINING = 1 << 5,
    POP3_CAP_UIDL = 1 << 6,
    POP3_CAP_TOP = 1 << 7,
    POP3_CAP_RESP_CODES = 1 << 8,
    POP3_CAP_APOP = 1 << 9,        /* the greeting carried a <timestamp> usable for APOP */
    POP3_CAP_SASL_XOAUTH2 = 1 << 10,
    POP3_CAP_SASL_OAUTHBEARER = 1 << 11,
};

/* Longest UIDL (RFC 1939: 1 to 70 characters 0x21..0x7E). */
#define POP3_UIDL_MAX 70
/* Longest status or listing line we accept (RFC 2449 says 512 with CRLF; be lenient). */
#define POP3_LINE_MAX 8192

struct pop3_opts {
    const char *host;
    int port;
    enum tls_mode tls;           /* tls: implicit; starttls: STLS or fail; none: plain */
    const char *ca_file;
    const char *fingerprint;
    int timeout;
};

struct pop3_entry {
    unsigned long num;           /* message number, 0 when the listing did not name it */
    unsigned long long size;     /* octets as listed by LIST */
    char uidl[POP3_UIDL_MAX + 1];
};

/*
 * Connect, read the greeting, ask CAPA; with starttls, STLS then CAPA again over TLS
 * (nothing read before the handshake is kept). Fails with ERR_TLS when starttls is asked and
 * the server does not offer or refuses STLS: no downgrade.
 */
int pop3_open(const struct pop3_opts *o, struct pop3 **out, struct err *e);
/* Close without QUIT: the server deletes nothing (call pop3_quit to commit). NULL is fine. */
void pop3_close(struct pop3 *p);
unsigned pop3_caps(const struct pop3 *p);
bool pop3_is_tls(const struct pop3 *p);
/* "TLSv1.3 ..." or "plain". Borrowed. */
const char *pop3_describe(const struct pop3 *p);
/* The server's numeric address (conn_peer_addr). */
int pop3_peer_addr(const struct pop3 *p, char *out, size_t outsz);
/*
 * Log in. AUTH_AUTO picks over TLS: SASL PLAIN, LOGIN, USER, APOP; without TLS (only when
 * the account says pop3_tls = none): APOP first. AUTH_XOAUTH2 and AUTH_OAUTHBEARER take an
 * OAuth2 access token as pass (the caller chooses them: see fetch.c). Refuses (ERR_AUTH, nothing sent) to send a
 * credential over a plain connection unless allow_plain is true.
 */
int pop3_login(struct pop3 *p, const char *user, const char *pass, enum auth_mech mech,
               bool allow_plain, struct err *e);
int pop3_stat(struct pop3 *p, unsigned long *count, unsigned long long *octets, struct err *e);
/* Fill ents[0..count-1] (num = i + 1) from LIST and UIDL; count comes from STAT. A listing
 * naming a number outside 1..count, twice, or a malformed/duplicate UIDL is ERR_PROTO. */
int pop3_list(struct pop3 *p, unsigned long count, struct pop3_entry *ents, struct err *e);
int pop3_uidl(struct pop3 *p, unsigned long count, struct pop3_entry *ents, struct err *e);

/*
 * Receives decoded message bytes (dot-unstuffed, CRLF turned into LF) in chunks. Returning
 * -1 (with e filled) aborts the transfer and the session.
 */
typedef int (*pop3_sink)(void *ctx, const char *p, size_t n, struct err *e);

/* Queue "RETR num" / "TOP num lines" without sending: pop3_flush sends a whole batch. */
void pop3_send_retr(struct pop3 *p, unsigned long num);
void pop3_send_top(struct pop3 *p, unsigned long num, unsigned long lines);
int pop3_flush(struct pop3 *p, struct err *e);
/*
 * Read the reply to the oldest RETR/TOP in flight and stream its body to sink. More than max
 * decoded bytes is ERR_PROTO (the session is then unusable). *got receives the byte count.
 */
/* The size LIST gave for the next pop3_recv_body: its deadline is the timeout plus the time
 * at 4 KiB/s for that size (without it, for max). */
void pop3_expect_size(struct pop3 *p, unsigned long long size);
int pop3_recv_body(struct pop3 *p, unsigned long num, unsigned long long max, pop3_sink sink,
                   void *ctx, unsigned long long *got, struct err *e);
int pop3_retr(struct pop3 *p, unsigned long num, unsigned long long max, pop3_sink sink,
              void *ctx, unsigned long long *got, struct err *e);
int pop3_top(struct pop3 *p, unsigned long num, unsigned long lines, pop3_sink sink, void *ctx,
             struct err *e);
/* Delete several messages (pipelined when offered); the deletion happens only at QUIT. */
int pop3_dele(struct pop3 *p, const unsigned long *nums, size_t n, struct err *e);
int pop3_rset(struct pop3 *p, struct err *e);
int pop3_noop(struct pop3 *p, struct err *e);
/* QUIT: the server commits deletions when it answers +OK. */
int pop3_quit(struct pop3 *p, struct err *e);

/* ---- parsers over buffers (tests, fuzzing) ---- */

/*
 * A status line: 1 for +OK, 0 for "+ " (SASL continuation), -1 for -ERR or garbage with e
 * filled (ERR_AUTH for [AUTH], ERR_TEMP for [IN-USE], [LOGIN-DELAY], [SYS/TEMP], ERR_PERM
 * for [SYS/PERM], else dflt; ERR_PROTO for a line that is neither). what names the command.
 */
int pop3_parse_status(const char *host, const char *what, const char *line, size_t len,
                      enum err_class dflt, struct err *e);
/* One CAPA line: the capability bits it adds. */
unsigned pop3_parse_capa(const char *line, size_t len);
/* "NUM UIDL" / "NUM SIZE": 0 or -1 (malformed, number out of range, bad UIDL). */
int pop3_parse_uidl_line(const char *line, size_t len, unsigned long *num,
                         char uidl[POP3_UIDL_MAX + 1]);
int pop3_parse_list_line(const char *line, size_t len, unsigned long *num,
                         unsigned long long *size);

/* Streaming decoder of a multi-line body: dot-unstuffing and CRLF -> LF. */
struct pop3_body {
    int state;
    bool done;
};
void pop3_body_init(struct pop3_body *b);
/*
 * Decode from in[0..n): decoded bytes are written to out (room for n + 1 bytes is enough: a CR held back
 * from the previous call may come out) and
 * their number stored in *outn. Returns how many input bytes were used: fewer than n only
 * when the terminating "." line ended inside the input (b->done is then true).
 */
size_t pop3_body_decode(struct pop3_body *b, const char *in, size_t n, char *out, size_t *outn);

#endif

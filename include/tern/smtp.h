/*
 * SMTP client (RFC 5321): replies, DATA encoding and a session that can deliver many messages
 * over one connection (EHLO, STARTTLS, AUTH, PIPELINING, SIZE, 8BITMIME, SMTPUTF8, DSN).
 */
#ifndef TERN_SMTP_H
#define TERN_SMTP_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>

#include "tern/buf.h"
#include "tern/config.h"
#include "tern/err.h"

/* Longest reply line we accept (RFC 5321 says 512; servers are generous) and most lines. */
#define SMTP_LINE_MAX 4096
#define SMTP_REPLY_MAX_LINES 128

/* One reply, possibly multi-line ("250-a", "250-b", "250 c"). */
struct smtp_reply {
    int code;                    /* 200..599; 0 while nothing was fed */
    char enh[16];                /* enhanced status code of the first line ("5.1.1") or "" */
    unsigned nlines;
    struct buf text;             /* the text of each line after "ddd-"/"ddd ", '\n' between */
};

void smtp_reply_init(struct smtp_reply *r);
void smtp_reply_reset(struct smtp_reply *r);
void smtp_reply_free(struct smtp_reply *r);
/*
 * Feed one reply line (without its line end). Returns 1 when it was the last line of the
 * reply, 0 when more lines follow, -1 with ERR_PROTO when the line is malformed (no 3-digit
 * code in 200..599, a code that changes between lines, too many lines).
 */
int smtp_reply_feed(struct smtp_reply *r, const char *line, size_t n, struct err *e);
/*
 * The reply on one line for people: "550 5.1.1 text / more text", control bytes replaced
 * by '?', cut to fit size (always NUL-terminated).
 */
void smtp_reply_format(const struct smtp_reply *r, char *out, size_t size);

/* Capabilities from the EHLO reply. */
enum {
    SMTP_CAP_STARTTLS = 1 << 0,
    SMTP_CAP_AUTH_PLAIN = 1 << 1,
    SMTP_CAP_AUTH_LOGIN = 1 << 2,
    SMTP_CAP_PIPELINING = 1 << 3,
    SMTP_CAP_SIZE = 1 << 4,
    SMTP_CAP_8BITMIME = 1 << 5,
    SMTP_CAP_SMTPUTF8 = 1 << 6,
    SMTP_CAP_DSN = 1 << 7,
    SMTP_CAP_ENHANCED = 1 << 8,
    SMTP_CAP_AUTH_XOAUTH2 = 1 << 9,
    SMTP_CAP_AUTH_OAUTHBEARER = 1 << 10,
};
/* Read the keywords of an EHLO reply; *size is SIZE's limit (0 = none announced). */
void smtp_parse_ehlo(const struct smtp_reply *r, unsigned *caps, long *size);

/*
 * Append n bytes of a message to out as DATA content: every line ends in CRLF (CRLF stays,
 * a bare LF and a bare CR each become CRLF, so no lone CR or LF reaches the server: the
 * smuggling family of CVE-2023-51764), a line starting with '.' gets another '.', a last line
 * without an end gets CRLF, and ".\r\n" ends the content.
 */
void smtp_data_encode(const char *p, size_t n, struct buf *out);
/* True when some byte is 8-bit (BODY=8BITMIME wanted). */
bool smtp_needs_8bit(const char *p, size_t n);
/* True when an address is unacceptable in an envelope (control bytes, '<', '>', spaces
 * outside quotes, empty for a recipient). */
bool smtp_addr_bad(const char *addr);

struct smtp_opts {
    const char *host;
    int port;
    enum tls_mode tls;           /* TLS_MODE_TLS, _STARTTLS (mandatory: no downgrade), _NONE */
    const char *ca_file;
    const char *fingerprint;
    int timeout;                 /* seconds */
    const char *user;            /* NULL: no AUTH */
    const char *password;
    enum auth_mech auth;         /* AUTH_AUTO (PLAIN, else LOGIN), AUTH_PLAIN, AUTH_LOGIN,
                                    AUTH_XOAUTH2, AUTH_OAUTHBEARER */
    const char *token;           /* OAuth2 access token: with AUTH_AUTO, OAUTHBEARER or
                                    XOAUTH2 when offered, else the password mechanisms */
    const char *helo;            /* our name in EHLO; NULL: the host name or "localhost" */
    const char *dsn_notify;      /* NOTIFY= for each RCPT when the server has DSN; NULL: none */
    const char *dsn_ret;         /* RET= (FULL or HDRS) on MAIL when the server has DSN */
};

struct smtp;

/*
 * Connect, read the greeting, EHLO (HELO when EHLO is refused), STARTTLS and EHLO again when
 * tls is TLS_MODE_STARTTLS, then AUTH when a user is given. Errors: ERR_NET, ERR_TLS (also a
 * server without STARTTLS, and bytes injected after its go-ahead), ERR_AUTH (refused or no
 * mechanism), ERR_TEMP/ERR_PERM (4xx/5xx greeting), ERR_PROTO.
 */
int smtp_open(const struct smtp_opts *o, struct smtp **out, struct err *e);
/* Send QUIT (ignoring failures) and close. Accepts NULL. */
void smtp_close(struct smtp *s);
unsigned smtp_caps(const struct smtp *s);
/* False once the connection failed or the peer broke the protocol: open a new session. */
bool smtp_alive(const struct smtp *s);

/* What the server said about one recipient. */
struct smtp_rcpt {
    const char *addr;            /* in: the envelope address */
    int code;                    /* out: the RCPT reply code (0: not tried) */
    char reply[256];             /* out: the formatted RCPT reply */
};

struct smtp_msg {
    const char *from;            /* envelope sender; "" for the null sender */
    struct smtp_rcpt *rcpts;
    size_t nrcpts;
    const char *data;            /* the message as stored (LF or CRLF lines) */
    size_t len;
    const char *envid;           /* ENVID= when DSN parameters are sent; NULL for none */
    /* Called the moment the server accepts the message (250 to the final dot), before
     * anything more is read or sent, so that the caller can record it in the smallest
     * window (may be NULL). */
    void (*accepted)(const struct smtp_msg *m, void *arg);
    void *arg;
    /* This message's own DSN parameters (tern send -N, -R, -V), over the account's
     * smtp_opts ones; NULL: the account's. With dsn_envid, ENVID goes even alone. */
    const char *dsn_notify;      /* "NEVER" or "SUCCESS,FAILURE,DELAY" (a subset) */
    const char *dsn_ret;         /* "FULL" or "HDRS" */
    bool dsn_envid;
};

/*
 * Deliver one message: MAIL, RCPT..., DATA (in one write when the server pipelines), the
 * content, then wait for the reply to the final dot. Returns 0 when the server accepted the
 * message for at least one recipient (each rcpts[i].code says which; final gets the reply),
 * -1 otherwise: ERR_TEMP or ERR_PERM with the server's reply (when every RCPT was refused:
 * ERR_TEMP if one refusal was 4xx), ERR_PERM for a message over the SIZE limit, addresses
 * that need SMTPUTF8 on a server without it (in the envelope, or in a header field: 8-bit
 * header text is otherwise sent as encoded words, see build_wire_headers), ERR_NET/ERR_PROTO
 * when the session is lost.
 * After a refused transaction the session is reset (RSET) and stays usable.
 */
int smtp_send(struct smtp *s, struct smtp_msg *m, char *final, size_t finalsz, struct err *e);

/* The outcome of one message of a batch. */
struct smtp_outcome {
    bool tried;                  /* false: the session was lost before it was sent */
    int rc;                      /* as smtp_send: 0 accepted (for some recipient), -1 err */
    struct err err;
    char final[256];             /* the reply to the final dot, formatted */
};

/*
 * Deliver n messages like smtp_send each, but when the server offers PIPELINING, pipelined
 * across messages too: the content of one message, its final dot and the envelope of the next
 * go in one write, so a message costs one round trip. Each message gets its outcome in out[i];
 * after a lost session the rest have tried = false. Returns 0.
 */
int smtp_send_batch(struct smtp *s, struct smtp_msg *msgs, size_t n, struct smtp_outcome *out);
/*
 * A flag (set from a signal handler) that makes a batch stop before the next message
 * content goes out: the message in flight is finished, the rest get tried = false and the
 * session ends. NULL: never.
 */
void smtp_set_stop(struct smtp *s, const volatile sig_atomic_t *stop);

#endif

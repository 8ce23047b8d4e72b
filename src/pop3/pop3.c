/*
 * POP3 sessions over conn: greeting, CAPA, STLS, authentication, listings, pipelined
 * retrieval streamed through a dot-unstuffing decoder, DELE and QUIT.
 */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "tern/buf.h"
#include "tern/codec.h"
#include "tern/conn.h"
#include "tern/log.h"
#include "tern/pop3.h"
#include "tern/sasl.h"
#include "tern/str.h"
#include "tern/xalloc.h"

struct pop3 {
    struct conn *conn;
    char *host;
    int port;
    unsigned caps;
    char *apop_stamp;            /* "<...>" from the greeting, NULL when absent */
    struct buf line;
    unsigned long ndele;         /* acknowledged DELEs: QUIT has that much work to do */
    bool tls_asked;              /* starttls or implicit TLS: credentials need TLS */
    unsigned long long expect;   /* pop3_expect_size for the next body; 0: unknown */
    char deadline_what[40];
};

/* ---- parsers ---- */

/* The server's words, safe to print: control bytes replaced, length bounded. */
static void pop3_quote(const char *line, size_t len, char *out, size_t outsz)
{
    size_t room = outsz > 8 ? outsz - 3 : outsz;
    size_t o = str_sanitize_to(line, len, out, room);

    if (room < outsz && o + 8 >= room)
        memcpy(out + o, "...", 4);
}

int pop3_parse_status(const char *host, const char *what, const char *line, size_t len,
                      enum err_class dflt, struct err *e)
{
    char shown[240];
    enum err_class cls = dflt;

    if (len >= 3 && memcmp(line, "+OK", 3) == 0 && (len == 3 || line[3] == ' '))
        return 1;
    if (len >= 1 && line[0] == '+' && (len == 1 || line[1] == ' '))
        return 0;
    pop3_quote(line, len, shown, sizeof shown);
    if (len < 4 || memcmp(line, "-ERR", 4) != 0 || (len > 4 && line[4] != ' '))
        return err_set(e, ERR_PROTO, "%s: unexpected reply to %s: \"%s\"", host, what, shown);
    if (len > 5 && line[5] == '[') {
        const char *code = line + 6;
        size_t rest = len - 6;

        if (rest >= 5 && str_ncasecmp(code, "AUTH]", 5) == 0)
            cls = ERR_AUTH;
        else if ((rest >= 7 && str_ncasecmp(code, "IN-USE]", 7) == 0) ||
                 (rest >= 12 && str_ncasecmp(code, "LOGIN-DELAY]", 12) == 0) ||
                 (rest >= 9 && str_ncasecmp(code, "SYS/TEMP]", 9) == 0))
            cls = ERR_TEMP;
        else if (rest >= 9 && str_ncasecmp(code, "SYS/PERM]", 9) == 0)
            cls = ERR_PERM;
    }
    return err_set(e, cls, "%s: %s refused: \"%s\"", host, what, shown);
}

unsigned pop3_parse_capa(const char *line, size_t len)
{
    static const struct { const char *word; unsigned bit; } words[] = {
        { "STLS", POP3_CAP_STLS }, { "USER", POP3_CAP_USER },
        { "PIPELINING", POP3_CAP_PIPELINING }, { "UIDL", POP3_CAP_UIDL },
        { "TOP", POP3_CAP_TOP }, { "RESP-CODES", POP3_CAP_RESP_CODES },
    };
    size_t w = 0;
    unsigned bits = 0;

    while (w < len && line[w] != ' ')
        w++;
    for (size_t i = 0; i < sizeof words / sizeof words[0]; i++)
        if (w == strlen(words[i].word) && str_ncasecmp(line, words[i].word, w) == 0)
            return words[i].bit;
    if (w == 4 && str_ncasecmp(line, "SASL", 4) == 0) {
        size_t i = w;

        while (i < len) {
            size_t s;

            while (i < len && line[i] == ' ')
                i++;
            s = i;
            while (i < len && line[i] != ' ')
                i++;
            if (i - s == 5 && str_ncasecmp(line + s, "PLAIN", 5) == 0)
                bits |= POP3_CAP_SASL_PLAIN;
            else if (i - s == 5 && str_ncasecmp(line + s, "LOGIN", 5) == 0)
                bits |= POP3_CAP_SASL_LOGIN;
            else if (i - s == 7 && str_ncasecmp(line + s, "XOAUTH2", 7) == 0)
                bits |= POP3_CAP_SASL_XOAUTH2;
            else if (i - s == 11 && str_ncasecmp(line + s, "OAUTHBEARER", 11) == 0)
                bits |= POP3_CAP_SASL_OAUTHBEARER;
        }
    }
    return bits;
}

/* A decimal number at *s (no sign), advancing *s; -1 when absent or overflowing. */
static int pop3_num(const char **s, const char *end, unsigned long long max,
                    unsigned long long *out)
{
    unsigned long long v = 0;
    const char *p = *s;

    if (p >= end || *p < '0' || *p > '9')
        return -1;
    for (; p < end && *p >= '0' && *p <= '9'; p++) {
        if (v > (max - (unsigned)(*p - '0')) / 10)
            return -1;
        v = v * 10 + (unsigned)(*p - '0');
    }
    *s = p;
    *out = v;
    return 0;
}

int pop3_parse_uidl_line(const char *line, size_t len, unsigned long *num,
                         char uidl[POP3_UIDL_MAX + 1])
{
    const char *p = line, *end = line + len;
    unsigned long long n;
    size_t ul;

    if (pop3_num(&p, end, 0xffffffffUL, &n) < 0 || n == 0 || p >= end || *p != ' ')
        return -1;
    while (p < end && *p == ' ')
        p++;
    while (end > p && end[-1] == ' ')
        end--;
    ul = (size_t)(end - p);
    if (ul == 0 || ul > POP3_UIDL_MAX)
        return -1;
    for (size_t i = 0; i < ul; i++)
        if ((unsigned char)p[i] < 0x21 || (unsigned char)p[i] > 0x7e)
            return -1;
    memcpy(uidl, p, ul);
    uidl[ul] = '\0';
    *num = (unsigned long)n;
    return 0;
}

int pop3_parse_list_line(const char *line, size_t len, unsigned long *num,
                         unsigned long long *size)
{
    const char *p = line, *end = line + len;
    unsigned long long n, sz;

    if (pop3_num(&p, end, 0xffffffffUL, &n) < 0 || n == 0 || p >= end || *p != ' ')
        return -1;
    while (p < end && *p == ' ')
        p++;
    if (pop3_num(&p, end, 1ULL << 50, &sz) < 0)
        return -1;
    /* RFC 2449 allows more after the size; ignore it */
    if (p < end && *p != ' ')
        return -1;
    *num = (unsigned long)n;
    *size = sz;
    return 0;
}

enum { B_BOL, B_DOT, B_DOTCR, B_MID, B_CR };

void pop3_body_init(struct pop3_body *b)
{
    b->state = B_BOL;
    b->done = false;
}

size_t pop3_body_decode(struct pop3_body *b, const char *in, size_t n, char *out, size_t *outn)
{
    size_t i = 0, o = 0;
    int st = b->state;

    while (i < n && !b->done) {
        char ch = in[i++];

        switch (st) {
        case B_BOL:
            if (ch == '.') {
                st = B_DOT;
                continue;
            }
            break;
        case B_DOT:
            if (ch == '\r') {
                st = B_DOTCR;
                continue;
            }
            if (ch == '\n') {           /* lenient: ".\n" ends the reply too */
                b->done = true;
                continue;
            }
            break;                      /* the stuffed dot is dropped */
        case B_DOTCR:
            if (ch == '\n') {
                b->done = true;
                continue;
            }
            out[o++] = '\r';            /* ".\rX": keep the CR, as data */
            break;
        case B_CR:
            if (ch == '\n') {
                out[o++] = '\n';
                st = B_BOL;
                continue;
            }
            out[o++] = '\r';
            break;
        default:
            /* B_MID: copy a run up to the next CR or LF at once */
            {
                const char *s = in + i - 1;
                size_t run = 0;

                while (i - 1 + run < n && s[run] != '\r' && s[run] != '\n')
                    run++;
                if (run > 0) {
                    memcpy(out + o, s, run);
                    o += run;
                    i += run - 1;
                    continue;
                }
            }
            break;
        }
        /* ch is an ordinary character in the middle of a line */
        if (ch == '\r') {
            st = B_CR;
        } else if (ch == '\n') {
            out[o++] = '\n';
            st = B_BOL;
        } else {
            out[o++] = ch;
            st = B_MID;
        }
    }
    b->state = st;
    *outn = o;
    return i;
}

/* ---- session ---- */

static int pop3_read(struct pop3 *p, struct err *e)
{
    return conn_read_line(p->conn, &p->line, POP3_LINE_MAX, e);
}

/* Send one command line (queued + flushed); secret hides its argument from the trace. */
/* A buffer that held a credential. */
static void pop3_wipe(struct buf *b)
{
    buf_wipe(b);
    buf_free(b);
}

static int pop3_send(struct pop3 *p, bool secret, struct err *e, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static int pop3_send(struct pop3 *p, bool secret, struct err *e, const char *fmt, ...)
{
    struct buf cmd = BUF_INIT;
    va_list ap;
    int rc;

    va_start(ap, fmt);
    {
        char tmp[1024];
        int n = vsnprintf(tmp, sizeof tmp, fmt, ap);

        if (n < 0 || (size_t)n >= sizeof tmp) {
            va_end(ap);
            return err_set(e, ERR_PROTO, "command too long");
        }
        buf_add(&cmd, tmp, (size_t)n);
    }
    va_end(ap);
    conn_trace_sent(p->conn, cmd.ptr, cmd.len, secret);
    buf_adds(&cmd, "\r\n");
    conn_write(p->conn, cmd.ptr, cmd.len);
    pop3_wipe(&cmd);                     /* it may hold a credential */
    rc = conn_flush(p->conn, e);
    return rc;
}

/* Read a status reply: 1 +OK, 0 continuation, -1 error. */
static int pop3_status(struct pop3 *p, const char *what, enum err_class dflt, struct err *e)
{
    if (pop3_read(p, e) < 0)
        return -1;
    return pop3_parse_status(p->host, what, p->line.ptr, p->line.len, dflt, e);
}

/* The final reply to what: +OK is 0; -ERR is -1 (class dflt, see pop3_parse_status), and
 * so is a "+ " continuation, which ends no exchange. */
static int pop3_final(struct pop3 *p, const char *what, enum err_class dflt, struct err *e)
{
    int r = pop3_status(p, what, dflt, e);

    if (r == 0)
        return err_set(e, ERR_PROTO, "%s: unexpected continuation after %s", p->host, what);
    return r < 0 ? -1 : 0;
}

static int pop3_simple(struct pop3 *p, const char *cmd, enum err_class dflt, struct err *e)
{
    if (pop3_send(p, false, e, "%s", cmd) < 0)
        return -1;
    return pop3_final(p, cmd, dflt, e);
}

/* Read the lines of a multi-line listing until ".", handing each (unstuffed) to fn. */
static int pop3_multiline(struct pop3 *p, const char *what, unsigned long maxlines,
                          int (*fn)(struct pop3 *, const char *, size_t, void *, struct err *),
                          void *ctx, struct err *e)
{
    unsigned long n = 0;

    for (;;) {
        const char *l;
        size_t len;

        if (pop3_read(p, e) < 0)
            return err_prefix(e, "%s", what);
        l = p->line.ptr;
        len = p->line.len;
        if (len == 1 && l[0] == '.')
            return 0;
        if (len > 0 && l[0] == '.')
            l++, len--;
        if (++n > maxlines)
            return err_set(e, ERR_PROTO, "%s: %s listing longer than the %lu lines announced",
                           p->host, what, maxlines);
        if (fn(p, l, len, ctx, e) < 0)
            return -1;
    }
}

static int pop3_capa_line(struct pop3 *p, const char *l, size_t len, void *ctx, struct err *e)
{
    (void)ctx;
    (void)e;
    p->caps |= pop3_parse_capa(l, len);
    return 0;
}

/* CAPA: a server without it (RFC 1939 only) answers -ERR and is assumed to know USER. */
static int pop3_capa(struct pop3 *p, struct err *e)
{
    int r;

    p->caps &= POP3_CAP_APOP;
    if (pop3_send(p, false, e, "CAPA") < 0)
        return -1;
    r = pop3_status(p, "CAPA", ERR_PERM, e);
    if (r < 0) {
        /* Only a real "-ERR" means "no CAPA here"; a cut or garbage is an error. */
        if (e->cls == ERR_NET || e->cls == ERR_PROTO || e->cls == ERR_TLS)
            return -1;
        p->caps |= POP3_CAP_USER;
        return 0;
    }
    if (r == 0)
        return err_set(e, ERR_PROTO, "%s: unexpected continuation after CAPA", p->host);
    p->caps |= POP3_CAP_CAPA;
    return pop3_multiline(p, "CAPA", 1000, pop3_capa_line, NULL, e);
}

/* The APOP challenge from the greeting: "<" printable text with an "@" ">". */
static void pop3_greeting(struct pop3 *p)
{
    const char *l = p->line.ptr;
    const char *lt = memchr(l, '<', p->line.len);
    const char *gt = lt ? memchr(lt, '>', p->line.len - (size_t)(lt - l)) : NULL;

    free(p->apop_stamp);
    p->apop_stamp = NULL;
    if (lt == NULL || gt == NULL || gt - lt > 400 || !memchr(lt, '@', (size_t)(gt - lt)))
        return;
    for (const char *s = lt; s <= gt; s++)
        if ((unsigned char)*s < 0x21 || (unsigned char)*s > 0x7e)
            return;
    p->apop_stamp = xstrndup(lt, (size_t)(gt - lt + 1));
    p->caps |= POP3_CAP_APOP;
}

int pop3_open(const struct pop3_opts *o, struct pop3 **out, struct err *e)
{
    struct conn_opts co = { o->host, o->port, o->timeout, o->tls == TLS_MODE_TLS, o->ca_file,
                            o->fingerprint, "pop3" };
    struct pop3 *p;
    int r;

    *out = NULL;
    p = xcalloc(1, sizeof *p);
    p->host = xstrdup(o->host);
    p->port = o->port;
    p->tls_asked = o->tls != TLS_MODE_NONE;
    buf_init(&p->line);
    if (conn_open(&co, &p->conn, e) < 0)
        goto fail;
    if ((r = pop3_status(p, "connection", ERR_TEMP, e)) <= 0) {
        if (r == 0)
            err_set(e, ERR_PROTO, "%s: no POP3 greeting", p->host);
        goto fail;
    }
    pop3_greeting(p);
    if (pop3_capa(p, e) < 0)
        goto fail;
    if (o->tls == TLS_MODE_STARTTLS) {
        if (!(p->caps & POP3_CAP_STLS)) {
            err_set(e, ERR_TLS, "%s does not offer STLS (pop3_tls = starttls): not logging in "
                    "without TLS", p->host);
            goto fail;
        }
        if (pop3_send(p, false, e, "STLS") < 0)
            goto fail;
        r = pop3_status(p, "STLS", ERR_TLS, e);
        if (r <= 0) {
            if (r == 0)
                err_set(e, ERR_PROTO, "%s: unexpected continuation after STLS", p->host);
            else if (e->cls != ERR_PROTO && e->cls != ERR_NET)
                e->cls = ERR_TLS;
            err_prefix(e, "STLS failed, not logging in without TLS");
            goto fail;
        }
        if (conn_starttls(p->conn, e) < 0)
            goto fail;
        /* Nothing from before the handshake is trusted: capabilities and the APOP stamp. */
        p->caps = 0;
        free(p->apop_stamp);
        p->apop_stamp = NULL;
        if (pop3_capa(p, e) < 0)
            goto fail;
    }
    *out = p;
    return 0;
fail:
    pop3_close(p);
    return -1;
}

void pop3_close(struct pop3 *p)
{
    if (p == NULL)
        return;
    conn_close(p->conn);
    free(p->host);
    free(p->apop_stamp);
    buf_free(&p->line);
    free(p);
}

unsigned pop3_caps(const struct pop3 *p)
{
    return p->caps;
}

bool pop3_is_tls(const struct pop3 *p)
{
    return conn_is_tls(p->conn);
}

const char *pop3_describe(const struct pop3 *p)
{
    return conn_describe(p->conn);
}

int pop3_peer_addr(const struct pop3 *p, char *out, size_t outsz)
{
    return conn_peer_addr(p->conn, out, outsz);
}

static int pop3_auth_plain(struct pop3 *p, const char *user, const char *pass, struct err *e)
{
    struct buf raw = BUF_INIT, enc = BUF_INIT;
    int r;

    buf_addc(&raw, '\0');
    buf_adds(&raw, user);
    buf_addc(&raw, '\0');
    buf_adds(&raw, pass);
    codec_b64_encode(raw.ptr, raw.len, &enc);
    r = pop3_send(p, false, e, "AUTH PLAIN %s", enc.ptr);   /* the trace redacts it */
    pop3_wipe(&raw);
    pop3_wipe(&enc);
    if (r < 0)
        return -1;
    return pop3_final(p, "AUTH PLAIN", ERR_AUTH, e);
}

static int pop3_auth_login(struct pop3 *p, const char *user, const char *pass, struct err *e)
{
    const char *steps[2] = { user, pass };
    int r;

    if (pop3_send(p, false, e, "AUTH LOGIN") < 0)
        return -1;
    for (int i = 0; i < 2; i++) {
        struct buf enc = BUF_INIT;

        r = pop3_status(p, "AUTH LOGIN", ERR_AUTH, e);
        if (r < 0)
            return -1;
        if (r == 1)
            return err_set(e, ERR_PROTO, "%s: AUTH LOGIN ended early", p->host);
        codec_b64_encode(steps[i], strlen(steps[i]), &enc);
        r = pop3_send(p, true, e, "%s", enc.ptr ? enc.ptr : "");
        pop3_wipe(&enc);
        if (r < 0)
            return -1;
    }
    return pop3_final(p, "AUTH LOGIN", ERR_AUTH, e);
}

/* A line longer than pop3_send's bound (a SASL response carrying a token). */
static int pop3_send_long(struct pop3 *p, bool secret, const char *line, size_t n, struct err *e)
{
    conn_trace_sent(p->conn, line, n, secret);
    conn_write(p->conn, line, n);
    conn_write(p->conn, "\r\n", 2);
    return conn_flush(p->conn, e);
}

/*
 * XOAUTH2 / OAUTHBEARER. The response goes on the AUTH line when the command stays within
 * RFC 5034's 255 octets, else after the server's empty challenge. A refusal comes as a
 * challenge carrying a JSON error: answer it as the mechanism says, then report both the
 * decoded detail and the server's -ERR line.
 */
static int pop3_auth_oauth(struct pop3 *p, const char *user, const char *token,
                           enum auth_mech mech, struct err *e)
{
    const char *name = sasl_mech_name(mech);
    struct buf resp = BUF_INIT, cmd = BUF_INIT;
    char detail[300], what[32];
    int r;

    snprintf(what, sizeof what, "AUTH %s", name);
    if (strpbrk(user, "\r\n\001") || strpbrk(token, "\r\n\001 "))
        return err_set(e, ERR_AUTH, "user name or token contains a control character");
    sasl_oauth_response(mech, user, token, p->host, p->port, &resp);
    buf_printf(&cmd, "%s ", what);
    if (cmd.len + resp.len <= 253) {
        buf_add(&cmd, resp.ptr, resp.len);
        r = pop3_send_long(p, false, cmd.ptr, cmd.len, e);   /* log.c redacts after AUTH X */
    } else {
        r = pop3_send(p, false, e, "%s", what);
        if (r == 0 && (r = pop3_status(p, what, ERR_AUTH, e)) == 0)
            r = pop3_send_long(p, true, resp.ptr, resp.len, e);
        else if (r == 1)
            r = err_set(e, ERR_PROTO, "%s: %s ended early", p->host, what);
    }
    pop3_wipe(&cmd);
    pop3_wipe(&resp);
    if (r < 0)
        return -1;
    r = pop3_status(p, what, ERR_AUTH, e);
    if (r != 0)
        return r < 0 ? -1 : 0;
    /* "+ base64(JSON)": the token was refused */
    {
        size_t i = 1;

        while (i < p->line.len && p->line.ptr[i] == ' ')
            i++;
        sasl_oauth_error(p->line.ptr + i, p->line.len - i, detail, sizeof detail);
    }
    if (pop3_send(p, true, e, "%s", sasl_oauth_abort(mech)) < 0)
        return -1;
    r = pop3_status(p, what, ERR_AUTH, e);
    if (r < 0 && e->cls == ERR_AUTH)
        return err_prefix(e, "token refused (%s)", detail);
    if (r == 1)
        return err_set(e, ERR_PROTO, "%s: %s succeeded after an error challenge", p->host, what);
    return err_set(e, ERR_AUTH, "%s: %s: token refused (%s)", p->host, what, detail);
}

static int pop3_auth_user(struct pop3 *p, const char *user, const char *pass, struct err *e)
{
    int r;

    if (strpbrk(user, "\r\n") || strpbrk(pass, "\r\n"))
        return err_set(e, ERR_AUTH, "user name or password contains a line break");
    if (pop3_send(p, false, e, "USER %s", user) < 0)
        return -1;
    if ((r = pop3_status(p, "USER", ERR_AUTH, e)) <= 0)
        return r == 0 ? err_set(e, ERR_PROTO, "%s: unexpected continuation", p->host) : -1;
    if (pop3_send(p, true, e, "PASS %s", pass) < 0)
        return -1;
    if ((r = pop3_status(p, "PASS", ERR_AUTH, e)) <= 0)
        return r == 0 ? err_set(e, ERR_PROTO, "%s: unexpected continuation", p->host) : -1;
    return 0;
}

static int pop3_auth_apop(struct pop3 *p, const char *user, const char *pass, struct err *e)
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned len = 0;
    char hex[2 * EVP_MAX_MD_SIZE + 1];
    EVP_MD_CTX *ctx;
    int r;

    if (p->apop_stamp == NULL)
        return err_set(e, ERR_AUTH, "%s: APOP is not available (no timestamp in the greeting%s)",
                       p->host, pop3_is_tls(p) ? " sent over TLS" : "");
    ctx = EVP_MD_CTX_new();
    if (ctx == NULL || EVP_DigestInit_ex(ctx, EVP_md5(), NULL) != 1 ||
        EVP_DigestUpdate(ctx, p->apop_stamp, strlen(p->apop_stamp)) != 1 ||
        EVP_DigestUpdate(ctx, pass, strlen(pass)) != 1 ||
        EVP_DigestFinal_ex(ctx, md, &len) != 1) {
        EVP_MD_CTX_free(ctx);
        return err_set(e, ERR_AUTH, "APOP: MD5 is not available in this OpenSSL");
    }
    EVP_MD_CTX_free(ctx);
    for (unsigned i = 0; i < len; i++)
        snprintf(hex + 2 * i, 3, "%02x", md[i]);
    if (strpbrk(user, "\r\n "))
        return err_set(e, ERR_AUTH, "user name contains a space or line break");
    if (pop3_send(p, false, e, "APOP %s %s", user, hex) < 0)
        return -1;
    if ((r = pop3_status(p, "APOP", ERR_AUTH, e)) <= 0)
        return r == 0 ? err_set(e, ERR_PROTO, "%s: unexpected continuation", p->host) : -1;
    return 0;
}

int pop3_login(struct pop3 *p, const char *user, const char *pass, enum auth_mech mech,
               bool allow_plain, struct err *e)
{
    bool tls = pop3_is_tls(p);
    int rc;

    if (!tls && (!allow_plain || p->tls_asked))
        return err_set(e, ERR_TLS, "%s: refusing to send credentials over an unencrypted "
                       "connection (set pop3_tls = none to allow it)", p->host);
    if (mech == AUTH_AUTO) {
        unsigned c = p->caps;

        if (!tls && (c & POP3_CAP_APOP))
            mech = AUTH_APOP;
        else if (c & POP3_CAP_SASL_PLAIN)
            mech = AUTH_PLAIN;
        else if (c & POP3_CAP_SASL_LOGIN)
            mech = AUTH_LOGIN;
        else if ((c & POP3_CAP_USER) || !(c & POP3_CAP_APOP))
            mech = AUTH_USER;
        else
            mech = AUTH_APOP;
    }
    switch (mech) {
    case AUTH_PLAIN:
        rc = pop3_auth_plain(p, user, pass, e);
        break;
    case AUTH_LOGIN:
        rc = pop3_auth_login(p, user, pass, e);
        break;
    case AUTH_APOP:
        rc = pop3_auth_apop(p, user, pass, e);
        break;
    case AUTH_XOAUTH2:
    case AUTH_OAUTHBEARER:
        rc = pop3_auth_oauth(p, user, pass, mech, e);
        break;
    default:
        rc = pop3_auth_user(p, user, pass, e);
        break;
    }
    if (rc < 0 && e->cls == ERR_AUTH)
        err_prefix(e, "login as %s failed", user);
    return rc;
}

int pop3_stat(struct pop3 *p, unsigned long *count, unsigned long long *octets, struct err *e)
{
    const char *s, *end;
    unsigned long long n, sz;

    if (pop3_simple(p, "STAT", ERR_PERM, e) < 0)
        return -1;
    s = p->line.ptr + 3;
    end = p->line.ptr + p->line.len;
    while (s < end && *s == ' ')
        s++;
    if (pop3_num(&s, end, 10000000, &n) < 0 || s >= end || *s != ' ')
        goto bad;
    s++;
    if (pop3_num(&s, end, 1ULL << 50, &sz) < 0)
        goto bad;
    *count = (unsigned long)n;
    *octets = sz;
    return 0;
bad: {
        char shown[240];

        pop3_quote(p->line.ptr, p->line.len, shown, sizeof shown);
        return err_set(e, ERR_PROTO, "%s: malformed STAT reply \"%s\"", p->host, shown);
    }
}

struct listing {
    unsigned long count;
    struct pop3_entry *ents;
    bool uidl;
};

static int pop3_list_line(struct pop3 *p, const char *l, size_t len, void *ctx, struct err *e)
{
    struct listing *li = ctx;
    unsigned long num;
    unsigned long long size;
    char uidl[POP3_UIDL_MAX + 1];
    char shown[240];
    int r = li->uidl ? pop3_parse_uidl_line(l, len, &num, uidl)
                     : pop3_parse_list_line(l, len, &num, &size);

    pop3_quote(l, len, shown, sizeof shown);
    if (r < 0)
        return err_set(e, ERR_PROTO, "%s: malformed %s line \"%s\"", p->host,
                       li->uidl ? "UIDL" : "LIST", shown);
    if (num < 1 || num > li->count)
        return err_set(e, ERR_PROTO, "%s: %s names message %lu of %lu", p->host,
                       li->uidl ? "UIDL" : "LIST", num, li->count);
    if (li->uidl) {
        if (li->ents[num - 1].uidl[0] != '\0')
            return err_set(e, ERR_PROTO, "%s: UIDL lists message %lu twice", p->host, num);
        memcpy(li->ents[num - 1].uidl, uidl, sizeof uidl);
    } else {
        if (li->ents[num - 1].num != 0)
            return err_set(e, ERR_PROTO, "%s: LIST lists message %lu twice", p->host, num);
        li->ents[num - 1].size = size;
    }
    li->ents[num - 1].num = num;
    return 0;
}

int pop3_list(struct pop3 *p, unsigned long count, struct pop3_entry *ents, struct err *e)
{
    struct listing li = { count, ents, false };

    for (unsigned long i = 0; i < count; i++)
        ents[i].num = 0;
    if (pop3_simple(p, "LIST", ERR_PERM, e) < 0)
        return -1;
    return pop3_multiline(p, "LIST", count, pop3_list_line, &li, e);
}

static int uidl_cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

int pop3_uidl(struct pop3 *p, unsigned long count, struct pop3_entry *ents, struct err *e)
{
    struct listing li = { count, ents, true };
    char **sorted;
    size_t n = 0;
    int rc = 0;

    for (unsigned long i = 0; i < count; i++)
        ents[i].uidl[0] = '\0';
    if (pop3_simple(p, "UIDL", ERR_PERM, e) < 0)
        return err_prefix(e, "the server cannot list unique ids");
    if (pop3_multiline(p, "UIDL", count, pop3_list_line, &li, e) < 0)
        return -1;
    /* Two messages with one id would break exactly-once bookkeeping. */
    sorted = xreallocarray(NULL, count ? count : 1, sizeof *sorted);
    for (unsigned long i = 0; i < count; i++)
        if (ents[i].uidl[0])
            sorted[n++] = ents[i].uidl;
    qsort(sorted, n, sizeof *sorted, uidl_cmp);
    for (size_t i = 1; i < n; i++)
        if (strcmp(sorted[i - 1], sorted[i]) == 0) {
            rc = err_set(e, ERR_PROTO, "%s: UIDL gives two messages the id \"%s\"", p->host,
                         sorted[i]);
            break;
        }
    free(sorted);
    return rc;
}

void pop3_send_retr(struct pop3 *p, unsigned long num)
{
    char cmd[48];
    int n = snprintf(cmd, sizeof cmd, "RETR %lu", num);

    conn_trace_sent(p->conn, cmd, (size_t)n, false);
    memcpy(cmd + n, "\r\n", 2);
    conn_write(p->conn, cmd, (size_t)n + 2);
}

void pop3_send_top(struct pop3 *p, unsigned long num, unsigned long lines)
{
    char cmd[64];
    int n = snprintf(cmd, sizeof cmd, "TOP %lu %lu", num, lines);

    conn_trace_sent(p->conn, cmd, (size_t)n, false);
    memcpy(cmd + n, "\r\n", 2);
    conn_write(p->conn, cmd, (size_t)n + 2);
}

int pop3_flush(struct pop3 *p, struct err *e)
{
    return conn_flush(p->conn, e);
}

static int pop3_recv_body_now(struct pop3 *p, unsigned long num, unsigned long long max,
                              pop3_sink sink, void *ctx, unsigned long long *got, struct err *e);

void pop3_expect_size(struct pop3 *p, unsigned long long size)
{
    p->expect = size;
}

/*
 * The body within an overall deadline derived from the timeout and its expected size (the
 * LIST size, bounded by max): a server that sends a byte now and then must not keep the
 * fetch, and the account's lock, for hours.
 */
int pop3_recv_body(struct pop3 *p, unsigned long num, unsigned long long max, pop3_sink sink,
                   void *ctx, unsigned long long *got, struct err *e)
{
    unsigned long long size = p->expect ? p->expect : max;
    int rc;

    if (size > max)
        size = max;
    p->expect = 0;
    snprintf(p->deadline_what, sizeof p->deadline_what, "message %lu", num);
    conn_set_deadline(p->conn, conn_deadline_for(p->conn, size + size / 8 + 4096),
                      p->deadline_what);
    rc = pop3_recv_body_now(p, num, max, sink, ctx, got, e);
    conn_set_deadline(p->conn, 0, NULL);
    return rc;
}

static int pop3_recv_body_now(struct pop3 *p, unsigned long num, unsigned long long max,
                              pop3_sink sink, void *ctx, unsigned long long *got, struct err *e)
{
    struct pop3_body body;
    char *out = NULL;
    size_t outcap = 0;
    unsigned long long total = 0;
    char what[40];
    int r;

    snprintf(what, sizeof what, "RETR %lu", num);
    *got = 0;
    r = pop3_status(p, what, ERR_PERM, e);
    if (r <= 0)
        return r == 0 ? err_set(e, ERR_PROTO, "%s: unexpected continuation", p->host) : -1;
    pop3_body_init(&body);
    while (!body.done) {
        const char *in;
        size_t n, used, outn;

        if (conn_peek(p->conn, &in, &n, e) < 0) {
            free(out);
            return err_prefix(e, "message %lu cut after %llu bytes", num, total);
        }
        if (n + 1 > outcap) {          /* +1: a CR held back from the previous chunk */
            outcap = n + 1;
            out = xrealloc(out, outcap);
        }
        used = pop3_body_decode(&body, in, n, out, &outn);
        conn_consume(p->conn, used);
        total += outn;
        if (total > max) {
            free(out);
            return err_set(e, ERR_PROTO, "%s: message %lu is larger than %llu bytes", p->host,
                           num, max);
        }
        if (outn > 0 && sink(ctx, out, outn, e) < 0) {
            free(out);
            return -1;
        }
    }
    free(out);
    *got = total;
    if (log_get_level() >= LOG_TRACE) {
        char note[80];
        int n = snprintf(note, sizeof note, "[message %lu: %llu bytes]", num, total);

        log_proto("pop3", '<', note, (size_t)n, false);
    }
    return 0;
}

int pop3_retr(struct pop3 *p, unsigned long num, unsigned long long max, pop3_sink sink,
              void *ctx, unsigned long long *got, struct err *e)
{
    pop3_send_retr(p, num);
    if (pop3_flush(p, e) < 0)
        return -1;
    return pop3_recv_body(p, num, max, sink, ctx, got, e);
}

int pop3_top(struct pop3 *p, unsigned long num, unsigned long lines, pop3_sink sink, void *ctx,
             struct err *e)
{
    unsigned long long got;

    pop3_send_top(p, num, lines);
    if (pop3_flush(p, e) < 0)
        return -1;
    pop3_expect_size(p, 65536);
    return pop3_recv_body(p, num, 1ULL << 40, sink, ctx, &got, e);
}

int pop3_dele(struct pop3 *p, const unsigned long *nums, size_t n, struct err *e)
{
    size_t batch = (p->caps & POP3_CAP_PIPELINING) ? 200 : 1;

    for (size_t i = 0; i < n; i += batch) {
        size_t end = i + batch < n ? i + batch : n;

        for (size_t j = i; j < end; j++) {
            char cmd[48];
            int len = snprintf(cmd, sizeof cmd, "DELE %lu", nums[j]);

            conn_trace_sent(p->conn, cmd, (size_t)len, false);
            memcpy(cmd + len, "\r\n", 2);
            conn_write(p->conn, cmd, (size_t)len + 2);
        }
        if (conn_flush(p->conn, e) < 0)
            return -1;
        for (size_t j = i; j < end; j++) {
            char what[40];
            int r;

            snprintf(what, sizeof what, "DELE %lu", nums[j]);
            r = pop3_status(p, what, ERR_PERM, e);
            if (r <= 0)
                return r == 0 ? err_set(e, ERR_PROTO, "%s: unexpected continuation", p->host)
                              : -1;
            p->ndele++;
        }
    }
    return 0;
}

int pop3_rset(struct pop3 *p, struct err *e)
{
    return pop3_simple(p, "RSET", ERR_PERM, e);
}

int pop3_noop(struct pop3 *p, struct err *e)
{
    return pop3_simple(p, "NOOP", ERR_PERM, e);
}

int pop3_quit(struct pop3 *p, struct err *e)
{
    /* The server removes the deleted messages before it answers: give it time per message
     * (dovecot needs about 3 ms per file on a busy disk). */
    int t = conn_get_timeout(p->conn);
    unsigned long extra = p->ndele / 50;

    conn_set_timeout(p->conn, t + (int)(extra > 3600 ? 3600 : extra));
    return pop3_simple(p, "QUIT", ERR_TEMP, e);
}

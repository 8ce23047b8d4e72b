/*
 * SMTP session over the connection layer: reply parsing, capabilities, STARTTLS, AUTH, pipelined
 * envelopes and dot-stuffed DATA with line ends normalised to CRLF.
 */
#include "config.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tern/codec.h"
#include "tern/build.h"
#include "tern/conn.h"
#include "tern/header.h"
#include "tern/sasl.h"
#include "tern/smtp.h"
#include "tern/str.h"
#include "tern/xalloc.h"

struct smtp {
    struct conn *conn;
    char host[256];
    unsigned caps;
    long size_max;
    bool alive;
    const struct smtp_opts *o;
    struct smtp_reply r;         /* the last reply read */
    struct buf line;
    struct buf out;              /* scratch for commands and DATA */
    const volatile sig_atomic_t *stop;   /* smtp_set_stop */
};

/* ---- replies ---- */

void smtp_reply_init(struct smtp_reply *r)
{
    memset(r, 0, sizeof *r);
    buf_init(&r->text);
}

void smtp_reply_reset(struct smtp_reply *r)
{
    r->code = 0;
    r->enh[0] = '\0';
    r->nlines = 0;
    buf_reset(&r->text);
}

void smtp_reply_free(struct smtp_reply *r)
{
    buf_free(&r->text);
}

/* "c.s.d" with c in 2,4,5 matching the reply's class, s and d of 1-3 digits. */
static void reply_enh(struct smtp_reply *r, const char *p, size_t n)
{
    size_t i = 0, parts = 0;

    if (n < 5 || p[0] != '0' + r->code / 100 || p[1] != '.')
        return;
    i = 2;
    for (parts = 0; parts < 2; parts++) {
        size_t start = i;

        while (i < n && i - start < 4 && isdigit((unsigned char)p[i]))
            i++;
        if (i == start || i - start > 3)
            return;
        if (parts == 0) {
            if (i >= n || p[i] != '.')
                return;
            i++;
        }
    }
    if (i < n && p[i] != ' ')
        return;
    if (i >= sizeof r->enh)
        return;
    memcpy(r->enh, p, i);
    r->enh[i] = '\0';
}

int smtp_reply_feed(struct smtp_reply *r, const char *line, size_t n, struct err *e)
{
    int code;
    char sep;

    if (n < 3 || !isdigit((unsigned char)line[0]) || !isdigit((unsigned char)line[1]) ||
        !isdigit((unsigned char)line[2]))
        return err_set(e, ERR_PROTO, "malformed SMTP reply line (no 3-digit code)");
    code = (line[0] - '0') * 100 + (line[1] - '0') * 10 + (line[2] - '0');
    if (code < 200 || code > 599)
        return err_set(e, ERR_PROTO, "SMTP reply code %d out of range", code);
    sep = n > 3 ? line[3] : ' ';
    if (sep != ' ' && sep != '-')
        return err_set(e, ERR_PROTO, "malformed SMTP reply line (bad separator after %d)", code);
    if (r->nlines > 0 && code != r->code)
        return err_set(e, ERR_PROTO, "SMTP reply code changed from %d to %d in a multi-line reply",
                       r->code, code);
    if (r->nlines >= SMTP_REPLY_MAX_LINES)
        return err_set(e, ERR_PROTO, "SMTP reply longer than %d lines", SMTP_REPLY_MAX_LINES);
    if (r->nlines > 0)
        buf_addc(&r->text, '\n');
    if (n > 4)
        buf_add(&r->text, line + 4, n - 4);
    else
        buf_cstr(&r->text);
    if (r->nlines == 0) {
        r->code = code;
        if (n > 4)
            reply_enh(r, line + 4, n - 4);
    }
    r->nlines++;
    return sep == ' ' ? 1 : 0;
}

void smtp_reply_format(const struct smtp_reply *r, char *out, size_t size)
{
    size_t o = 0;
    int k;

    if (size == 0)
        return;
    k = snprintf(out, size, "%03d", r->code);
    if (k < 0 || (size_t)k >= size) {
        out[size - 1] = '\0';
        return;
    }
    o = (size_t)k;
    if (r->text.len > 0 && o + 1 < size)
        out[o++] = ' ';
    {
        struct buf joined = BUF_INIT;

        /* The lines of a multi-line reply joined by " / ", then the one sanitiser. */
        for (size_t i = 0; i < r->text.len; i++) {
            if (r->text.ptr[i] == '\n')
                buf_adds(&joined, " / ");
            else
                buf_addc(&joined, r->text.ptr[i]);
        }
        str_sanitize_to(joined.ptr ? joined.ptr : "", joined.len, out + o, size - o);
        buf_free(&joined);
    }
}

void smtp_parse_ehlo(const struct smtp_reply *r, unsigned *caps, long *size)
{
    const char *p = r->text.ptr, *end;
    bool first = true;

    *caps = 0;
    *size = 0;
    if (p == NULL)
        return;
    end = p + r->text.len;
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        size_t n = nl ? (size_t)(nl - p) : (size_t)(end - p);
        char kw[64];
        size_t k = 0;

        if (!first) {
            while (k < n && k + 1 < sizeof kw && p[k] != ' ' && p[k] != '=') {
                kw[k] = (char)toupper((unsigned char)p[k]);
                k++;
            }
            kw[k] = '\0';
            if (strcmp(kw, "STARTTLS") == 0) {
                *caps |= SMTP_CAP_STARTTLS;
            } else if (strcmp(kw, "PIPELINING") == 0) {
                *caps |= SMTP_CAP_PIPELINING;
            } else if (strcmp(kw, "8BITMIME") == 0) {
                *caps |= SMTP_CAP_8BITMIME;
            } else if (strcmp(kw, "SMTPUTF8") == 0) {
                *caps |= SMTP_CAP_SMTPUTF8;
            } else if (strcmp(kw, "DSN") == 0) {
                *caps |= SMTP_CAP_DSN;
            } else if (strcmp(kw, "ENHANCEDSTATUSCODES") == 0) {
                *caps |= SMTP_CAP_ENHANCED;
            } else if (strcmp(kw, "SIZE") == 0) {
                char num[24];
                size_t j = k, m = 0;
                long v;

                *caps |= SMTP_CAP_SIZE;
                while (j < n && p[j] == ' ')
                    j++;
                while (j < n && m + 1 < sizeof num && isdigit((unsigned char)p[j]))
                    num[m++] = p[j++];
                num[m] = '\0';
                if (m > 0 && str_tolong(num, 0, 1L << 62, &v) == 0)
                    *size = v;
            } else if (strcmp(kw, "AUTH") == 0) {
                /* "AUTH PLAIN LOGIN" (and the old "AUTH=PLAIN LOGIN") */
                size_t j = k;

                while (j < n) {
                    size_t s;

                    while (j < n && (p[j] == ' ' || p[j] == '='))
                        j++;
                    s = j;
                    while (j < n && p[j] != ' ')
                        j++;
                    if (j - s == 5 && str_ncasecmp(p + s, "PLAIN", 5) == 0)
                        *caps |= SMTP_CAP_AUTH_PLAIN;
                    else if (j - s == 5 && str_ncasecmp(p + s, "LOGIN", 5) == 0)
                        *caps |= SMTP_CAP_AUTH_LOGIN;
                    else if (j - s == 7 && str_ncasecmp(p + s, "XOAUTH2", 7) == 0)
                        *caps |= SMTP_CAP_AUTH_XOAUTH2;
                    else if (j - s == 11 && str_ncasecmp(p + s, "OAUTHBEARER", 11) == 0)
                        *caps |= SMTP_CAP_AUTH_OAUTHBEARER;
                }
            }
        }
        first = false;
        p += n + (nl ? 1 : 0);
        if (nl == NULL)
            break;
    }
}

/* ---- message content ---- */

void smtp_data_encode(const char *p, size_t n, struct buf *out)
{
    bool bol = true;

    buf_reserve(out, n + n / 32 + 8);
    for (size_t i = 0; i < n;) {
        size_t j = i;

        if (bol && p[i] == '.')
            buf_addc(out, '.');
        /* copy the run up to the next line end in one go */
        while (j < n && p[j] != '\r' && p[j] != '\n')
            j++;
        buf_add(out, p + i, j - i);
        if (j >= n) {
            buf_add(out, "\r\n", 2);
            bol = true;
            i = j;
            break;
        }
        buf_add(out, "\r\n", 2);
        if (p[j] == '\r' && j + 1 < n && p[j + 1] == '\n')
            j++;
        i = j + 1;
        bol = true;
    }
    (void)bol;
    buf_add(out, ".\r\n", 3);
}

bool smtp_needs_8bit(const char *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)p[i] >= 0x80)
            return true;
    return false;
}

bool smtp_addr_bad(const char *addr)
{
    bool quoted = false;

    for (const unsigned char *p = (const unsigned char *)addr; *p; p++) {
        if (*p < 0x20 || *p == 0x7f || *p == '<' || *p == '>')
            return true;
        if (*p == '"')
            quoted = !quoted;
        else if (*p == ' ' && !quoted)
            return true;
    }
    return strlen(addr) > 512;
}

static bool addr_utf8(const char *a)
{
    return smtp_needs_8bit(a, strlen(a));
}

/* ---- session ---- */

/* Read one complete reply into s->r; a lost connection marks the session dead. */
static int smtp_read_reply(struct smtp *s, struct err *e)
{
    smtp_reply_reset(&s->r);
    for (;;) {
        int rc;

        if (conn_read_line(s->conn, &s->line, SMTP_LINE_MAX, e) < 0) {
            s->alive = false;
            return err_prefix(e, "%s", s->host);
        }
        rc = smtp_reply_feed(&s->r, s->line.ptr ? s->line.ptr : "", s->line.len, e);
        if (rc < 0) {
            s->alive = false;
            return err_prefix(e, "%s", s->host);
        }
        if (rc == 1)
            return 0;
    }
}

/* Queue one command line (adding CRLF) and trace it. */
static void smtp_cmd(struct smtp *s, bool secret, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void smtp_cmd(struct smtp *s, bool secret, const char *fmt, ...)
{
    va_list ap;
    char line[2048];
    int n;

    va_start(ap, fmt);
    n = vsnprintf(line, sizeof line - 2, fmt, ap);
    va_end(ap);
    if (n < 0)
        n = 0;
    if ((size_t)n > sizeof line - 3)
        n = (int)sizeof line - 3;
    conn_trace_sent(s->conn, line, (size_t)n, secret);
    line[n++] = '\r';
    line[n++] = '\n';
    conn_write(s->conn, line, (size_t)n);
}

static int smtp_flush(struct smtp *s, struct err *e)
{
    if (conn_flush(s->conn, e) < 0) {
        s->alive = false;
        return err_prefix(e, "%s", s->host);
    }
    return 0;
}

/* An error from a reply that is not the expected one: 4xx → TEMP, 5xx → PERM, else PROTO. */
static int smtp_reply_err(struct smtp *s, const char *what, struct err *e)
{
    char txt[400];
    enum err_class cls = s->r.code >= 500 ? ERR_PERM : s->r.code >= 400 ? ERR_TEMP : ERR_PROTO;

    smtp_reply_format(&s->r, txt, sizeof txt);
    if (s->r.code == 421)
        s->alive = false;    /* the server is closing the channel */
    return err_set(e, cls, "%s: %s: %s", s->host, what, txt);
}

/* Send one command and read its reply; returns the reply code or -1. */
static int smtp_cmd_reply(struct smtp *s, bool secret, const char *cmd, struct err *e)
{
    smtp_cmd(s, secret, "%s", cmd);
    if (smtp_flush(s, e) < 0 || smtp_read_reply(s, e) < 0)
        return -1;
    return s->r.code;
}

static int smtp_ehlo(struct smtp *s, struct err *e)
{
    char cmd[300];
    int code;

    snprintf(cmd, sizeof cmd, "EHLO %s", s->o->helo);
    code = smtp_cmd_reply(s, false, cmd, e);
    if (code < 0)
        return -1;
    if (code == 250) {
        smtp_parse_ehlo(&s->r, &s->caps, &s->size_max);
        return 0;
    }
    if (code == 421 || code < 500)
        return smtp_reply_err(s, "EHLO", e);
    /* An old server: HELO, with no extension at all. */
    snprintf(cmd, sizeof cmd, "HELO %s", s->o->helo);
    code = smtp_cmd_reply(s, false, cmd, e);
    if (code < 0)
        return -1;
    if (code != 250)
        return smtp_reply_err(s, "HELO", e);
    s->caps = 0;
    s->size_max = 0;
    return 0;
}

static int smtp_auth_done(struct smtp *s, const char *mech, struct err *e)
{
    char txt[400];

    if (s->r.code == 235)
        return 0;
    smtp_reply_format(&s->r, txt, sizeof txt);
    if (s->r.code >= 400 && s->r.code < 500 && s->r.code != 454)
        return err_set(e, ERR_TEMP, "%s: AUTH %s: %s", s->host, mech, txt);
    return err_set(e, ERR_AUTH, "%s: authentication (%s) as %s failed: %s", s->host, mech,
                   s->o->user, txt);
}

/* Send the credentials line in b (CRLF added), traced redacted when secret (else log.c
 * redacts after "AUTH MECH"), wipe b and read the reply. */
static int smtp_send_auth(struct smtp *s, struct buf *b, bool secret, struct err *e)
{
    conn_trace_sent(s->conn, b->ptr, b->len, secret);
    buf_add(b, "\r\n", 2);
    conn_write(s->conn, b->ptr, b->len);
    buf_wipe(b);
    if (smtp_flush(s, e) < 0 || smtp_read_reply(s, e) < 0)
        return -1;
    return 0;
}

/*
 * XOAUTH2 / OAUTHBEARER with the response on the AUTH line (RFC 4954 allows 12288 octets).
 * A refused token comes back as a 334 challenge holding a JSON error: answer it as the
 * mechanism says, read the final 5xx, and report the decoded detail with it.
 */
static int smtp_auth_oauth(struct smtp *s, enum auth_mech mech, struct err *e)
{
    const struct smtp_opts *o = s->o;
    const char *name = sasl_mech_name(mech);
    struct buf b = BUF_INIT;
    char detail[300], txt[400];
    int rc = -1;

    if (strpbrk(o->user, "\r\n\001") || strpbrk(o->token, "\r\n\001 "))
        return err_set(e, ERR_AUTH, "user name or token contains a control character");
    buf_printf(&b, "AUTH %s ", name);
    sasl_oauth_response(mech, o->user, o->token, s->host, o->port, &b);
    rc = smtp_send_auth(s, &b, false, e);
    buf_free(&b);
    if (rc < 0)
        return -1;
    if (s->r.code != 334)
        return smtp_auth_done(s, name, e);
    sasl_oauth_error(s->r.text.ptr ? s->r.text.ptr : "", s->r.text.len, detail, sizeof detail);
    smtp_cmd(s, true, "%s", sasl_oauth_abort(mech));
    if (smtp_flush(s, e) < 0 || smtp_read_reply(s, e) < 0)
        return -1;
    if (s->r.code == 235)
        return err_set(e, ERR_PROTO, "%s: AUTH %s succeeded after an error challenge", s->host,
                       name);
    smtp_reply_format(&s->r, txt, sizeof txt);
    rc = err_set(e, ERR_AUTH, "%s: authentication (%s) as %s failed: token refused (%s): %s",
                 s->host, name, o->user, detail, txt);
    return rc;
}

static int smtp_auth(struct smtp *s, struct err *e)
{
    const struct smtp_opts *o = s->o;
    const char *pw = o->password ? o->password : "";
    struct buf b = BUF_INIT;
    int rc = -1;
    bool plain;

    if (o->auth == AUTH_XOAUTH2 || o->auth == AUTH_OAUTHBEARER) {
        unsigned bit = o->auth == AUTH_XOAUTH2 ? SMTP_CAP_AUTH_XOAUTH2
                                               : SMTP_CAP_AUTH_OAUTHBEARER;

        if (o->token == NULL)
            return err_set(e, ERR_AUTH, "%s: smtp_auth = %s needs an OAuth2 token", s->host,
                           config_auth_name(o->auth));
        if (!(s->caps & bit))
            return err_set(e, ERR_AUTH, "%s: the server does not offer AUTH %s%s", s->host,
                           sasl_mech_name(o->auth),
                           conn_is_tls(s->conn) ? "" : " (without TLS)");
        return smtp_auth_oauth(s, o->auth, e);
    }
    if (o->auth == AUTH_AUTO && o->token != NULL) {
        if (s->caps & SMTP_CAP_AUTH_OAUTHBEARER)
            return smtp_auth_oauth(s, AUTH_OAUTHBEARER, e);
        if (s->caps & SMTP_CAP_AUTH_XOAUTH2)
            return smtp_auth_oauth(s, AUTH_XOAUTH2, e);
        if (o->password == NULL)
            return err_set(e, ERR_AUTH, "%s: the server offers no AUTH XOAUTH2 or OAUTHBEARER%s",
                           s->host, conn_is_tls(s->conn) ? "" : " (without TLS)");
    }
    if (!(s->caps & (SMTP_CAP_AUTH_PLAIN | SMTP_CAP_AUTH_LOGIN)))
        return err_set(e, ERR_AUTH, "%s: the server offers no AUTH PLAIN or LOGIN%s", s->host,
                       conn_is_tls(s->conn) ? "" : " (without TLS)");
    if (o->auth == AUTH_PLAIN)
        plain = true;
    else if (o->auth == AUTH_LOGIN)
        plain = false;
    else
        plain = (s->caps & SMTP_CAP_AUTH_PLAIN) != 0;
    if (plain && !(s->caps & SMTP_CAP_AUTH_PLAIN))
        return err_set(e, ERR_AUTH, "%s: the server does not offer AUTH PLAIN", s->host);
    if (!plain && !(s->caps & SMTP_CAP_AUTH_LOGIN))
        return err_set(e, ERR_AUTH, "%s: the server does not offer AUTH LOGIN", s->host);

    if (plain) {
        struct buf raw = BUF_INIT;

        buf_addc(&raw, '\0');
        buf_adds(&raw, o->user);
        buf_addc(&raw, '\0');
        buf_adds(&raw, pw);
        buf_adds(&b, "AUTH PLAIN ");
        codec_b64_encode(raw.ptr, raw.len, &b);
        buf_wipe(&raw);
        buf_free(&raw);
        if (smtp_send_auth(s, &b, false, e) < 0)
            goto out;
        rc = smtp_auth_done(s, "PLAIN", e);
        goto out;
    }
    if (smtp_cmd_reply(s, false, "AUTH LOGIN", e) < 0)
        goto out;
    if (s->r.code != 334) {
        rc = smtp_auth_done(s, "LOGIN", e);
        goto out;
    }
    codec_b64_encode(o->user, strlen(o->user), &b);
    if (smtp_send_auth(s, &b, true, e) < 0)
        goto out;
    if (s->r.code != 334) {
        rc = smtp_auth_done(s, "LOGIN", e);
        goto out;
    }
    codec_b64_encode(pw, strlen(pw), &b);
    if (smtp_send_auth(s, &b, true, e) < 0)
        goto out;
    rc = smtp_auth_done(s, "LOGIN", e);
out:
    buf_wipe(&b);
    buf_free(&b);
    return rc;
}

static const char *default_helo(char *buf, size_t n)
{
    if (gethostname(buf, n) == 0 && buf[0] != '\0' && memchr(buf, '\0', n) &&
        strchr(buf, '.') && !smtp_addr_bad(buf))
        return buf;
    return "localhost";
}

int smtp_open(const struct smtp_opts *o, struct smtp **out, struct err *e)
{
    struct conn_opts co = { 0 };
    struct smtp *s = xcalloc(1, sizeof *s);
    struct smtp_opts *own = xmalloc(sizeof *own);
    static char hostname[256];
    int code;

    *out = NULL;
    *own = *o;
    if (own->helo == NULL)
        own->helo = default_helo(hostname, sizeof hostname);
    s->o = own;
    snprintf(s->host, sizeof s->host, "%s", o->host ? o->host : "?");
    smtp_reply_init(&s->r);
    co.host = o->host;
    co.port = o->port;
    co.timeout = o->timeout > 0 ? o->timeout : 60;
    co.implicit_tls = o->tls == TLS_MODE_TLS;
    co.ca_file = o->ca_file;
    co.fingerprint = o->fingerprint;
    co.trace_tag = "smtp";
    if (conn_open(&co, &s->conn, e) < 0)
        goto fail;
    s->alive = true;
    if (smtp_read_reply(s, e) < 0)
        goto fail;
    if (s->r.code != 220) {
        smtp_reply_err(s, "greeting", e);
        goto fail;
    }
    if (smtp_ehlo(s, e) < 0)
        goto fail;
    if (o->tls == TLS_MODE_STARTTLS) {
        if (!(s->caps & SMTP_CAP_STARTTLS)) {
            err_set(e, ERR_TLS, "%s: the server does not offer STARTTLS (smtp_tls = starttls "
                    "refuses to continue without encryption)", s->host);
            goto fail;
        }
        code = smtp_cmd_reply(s, false, "STARTTLS", e);
        if (code < 0)
            goto fail;
        if (code != 220) {
            char txt[300];

            smtp_reply_format(&s->r, txt, sizeof txt);
            err_set(e, ERR_TLS, "%s: STARTTLS refused: %s", s->host, txt);
            goto fail;
        }
        if (conn_starttls(s->conn, e) < 0) {
            err_prefix(e, "%s", s->host);
            goto fail;
        }
        /* Forget everything learnt in plain text (RFC 3207 section 4.2). */
        s->caps = 0;
        if (smtp_ehlo(s, e) < 0)
            goto fail;
    }
    if (o->user != NULL && o->user[0] != '\0' && smtp_auth(s, e) < 0)
        goto fail;
    *out = s;
    return 0;
fail:
    s->alive = false;
    smtp_close(s);
    return -1;
}

void smtp_close(struct smtp *s)
{
    if (s == NULL)
        return;
    if (s->conn != NULL && s->alive) {
        struct err ignored;

        smtp_cmd(s, false, "QUIT");
        if (conn_flush(s->conn, &ignored) == 0)
            (void)smtp_read_reply(s, &ignored);
    }
    conn_close(s->conn);
    smtp_reply_free(&s->r);
    buf_free(&s->line);
    buf_free(&s->out);
    free((void *)s->o);
    free(s);
}

unsigned smtp_caps(const struct smtp *s)
{
    return s->caps;
}

bool smtp_alive(const struct smtp *s)
{
    return s != NULL && s->alive;
}

/* After a refused transaction: RSET so that the next one starts clean. */
static void smtp_rset(struct smtp *s)
{
    struct err ignored;

    if (!s->alive)
        return;
    if (smtp_cmd_reply(s, false, "RSET", &ignored) < 0)
        return;
    if (s->r.code != 250)
        s->alive = false;
}

/*
 * The DATA bytes for this server (CRLF, dot-stuffed): the message as queued, or re-encoded
 * when it would break the wire here. The header: 8-bit UTF-8 goes as it is when the server
 * offers SMTPUTF8 (*utf8 set: MAIL FROM says so), else build_wire_headers makes it 7-bit with
 * encoded words. The body: build_wire_safe (a line over 998 octets, a NUL, 8-bit data
 * without 8BITMIME). ERR_PERM when it cannot be made to fit. The queued file is not changed.
 */
static int smtp_wire_data(const struct smtp *s, const struct smtp_msg *m, struct buf *enc,
                          bool *utf8, struct err *e)
{
    struct buf hdr7 = BUF_INIT, fixed = BUF_INIT;
    const char *p = m->data;
    size_t n = m->len, hlen = hdr_block_len(m->data, m->len);
    int r = 0;

    if (smtp_needs_8bit(p, hlen)) {
        if ((s->caps & SMTP_CAP_SMTPUTF8) && codec_utf8_valid(p, hlen)) {
            *utf8 = true;
        } else {
            r = build_wire_headers(p, n, &hdr7, e);
            if (r < 0) {
                bool offered = (s->caps & SMTP_CAP_SMTPUTF8) != 0;
                struct err why = *e;

                buf_free(&hdr7);
                return err_set(e, ERR_PERM, "%s: %s; %s", s->host, why.msg,
                               offered ? "the header is not valid UTF-8 (RFC 6532)"
                                       : "the server does not offer it");
            }
            if (r > 0) {
                p = hdr7.ptr;
                n = hdr7.len;
            }
        }
    }
    r = build_wire_safe(p, n, (s->caps & SMTP_CAP_8BITMIME) != 0, &fixed, e);
    if (r < 0) {
        buf_free(&hdr7);
        buf_free(&fixed);
        return err_prefix(e, "%s", s->host);
    }
    if (r > 0)
        smtp_data_encode(fixed.ptr, fixed.len, enc);
    else
        smtp_data_encode(p, n, enc);
    buf_free(&hdr7);
    buf_free(&fixed);
    return 0;
}

/*
 * The DSN parameters (RFC 3461) of one message on this server, decided here and only here:
 * none without the DSN extension; the message's own NOTIFY/RET (tern send -N, -R) over the
 * account's dsn_notify/dsn_return; ENVID with them, or alone when the message asks for it
 * (tern send -V).
 */
struct dsn_params {
    const char *notify, *ret, *envid;
};

static void dsn_params(const struct smtp *s, const struct smtp_msg *m, struct dsn_params *d)
{
    memset(d, 0, sizeof *d);
    if (!(s->caps & SMTP_CAP_DSN))
        return;
    d->notify = m->dsn_notify ? m->dsn_notify : s->o->dsn_notify;
    d->ret = m->dsn_ret ? m->dsn_ret : s->o->dsn_ret;
    if (d->notify || d->ret || m->dsn_envid)
        d->envid = m->envid;
}

/* xtext (RFC 3461 section 4): '+', '=' and bytes outside 33..126 as "+HH". */
static void put_xtext(struct buf *out, const char *v)
{
    for (const unsigned char *p = (const unsigned char *)v; *p; p++) {
        if (*p < 33 || *p > 126 || *p == '+' || *p == '=')
            buf_printf(out, "+%02X", *p);
        else
            buf_addc(out, (char)*p);
    }
}

/* The parameters of MAIL FROM: SIZE, BODY=8BITMIME, SMTPUTF8 and the DSN ones. */
static void mail_params(const struct smtp *s, const struct smtp_msg *m, const struct buf *enc,
                        bool utf8, struct buf *params)
{
    struct dsn_params d;

    dsn_params(s, m, &d);
    if (s->caps & SMTP_CAP_SIZE)
        buf_printf(params, " SIZE=%zu", enc->len);
    /* What goes out (re-encoded by smtp_wire_data when the server lacks 8BITMIME). */
    if ((s->caps & SMTP_CAP_8BITMIME) && smtp_needs_8bit(enc->ptr, enc->len))
        buf_adds(params, " BODY=8BITMIME");
    if (utf8)
        buf_adds(params, " SMTPUTF8");
    if (d.ret)
        buf_printf(params, " RET=%s", d.ret);
    if (d.envid) {
        buf_adds(params, " ENVID=");
        put_xtext(params, d.envid);
    }
}

/* Queue RCPT TO for recipient i, with NOTIFY= when the message's DSN parameters say so. */
static void rcpt_cmd(struct smtp *s, const struct smtp_msg *m, size_t i)
{
    struct dsn_params d;

    dsn_params(s, m, &d);
    if (d.notify)
        smtp_cmd(s, false, "RCPT TO:<%s> NOTIFY=%s", m->rcpts[i].addr, d.notify);
    else
        smtp_cmd(s, false, "RCPT TO:<%s>", m->rcpts[i].addr);
}

int smtp_send(struct smtp *s, struct smtp_msg *m, char *final, size_t finalsz, struct err *e)
{
    bool pipe = (s->caps & SMTP_CAP_PIPELINING) != 0;
    bool utf8 = addr_utf8(m->from);
    struct buf params = BUF_INIT;
    size_t accepted = 0, temp = 0, sent_rcpt;
    char first_refusal[400] = "";
    int rc = -1;

    if (final && finalsz)
        final[0] = '\0';
    if (!s->alive)
        return err_set(e, ERR_NET, "%s: connection lost", s->host);
    for (size_t i = 0; i < m->nrcpts; i++) {
        m->rcpts[i].code = 0;
        m->rcpts[i].reply[0] = '\0';
        utf8 = utf8 || addr_utf8(m->rcpts[i].addr);
    }
    if (utf8 && !(s->caps & SMTP_CAP_SMTPUTF8))
        return err_set(e, ERR_PERM, "%s: the addresses need SMTPUTF8, which the server does not "
                       "offer", s->host);
    buf_reset(&s->out);
    if (smtp_wire_data(s, m, &s->out, &utf8, e) < 0)
        return -1;
    /* SIZE: refuse before sending anything. */
    if ((s->caps & SMTP_CAP_SIZE) && s->size_max > 0 && s->out.len > (size_t)s->size_max)
        return err_set(e, ERR_PERM, "%s: message of %zu bytes exceeds the server's limit of %ld "
                       "(SIZE)", s->host, s->out.len, s->size_max);
    mail_params(s, m, &s->out, utf8, &params);

    /* The envelope: in one write when pipelining, else command by command. */
    smtp_cmd(s, false, "MAIL FROM:<%s>%s", m->from, params.len ? params.ptr : "");
    if (!pipe) {
        if (smtp_flush(s, e) < 0 || smtp_read_reply(s, e) < 0)
            goto out;
        if (s->r.code != 250) {
            smtp_reply_err(s, "MAIL FROM", e);
            goto refused;
        }
    }
    for (size_t i = 0; i < m->nrcpts; i++) {
        rcpt_cmd(s, m, i);
        if (!pipe) {
            if (smtp_flush(s, e) < 0 || smtp_read_reply(s, e) < 0)
                goto out;
            m->rcpts[i].code = s->r.code;
            smtp_reply_format(&s->r, m->rcpts[i].reply, sizeof m->rcpts[i].reply);
        }
    }
    sent_rcpt = m->nrcpts;
    if (pipe) {
        smtp_cmd(s, false, "DATA");
        if (smtp_flush(s, e) < 0 || smtp_read_reply(s, e) < 0)
            goto out;
        if (s->r.code != 250) {
            /* MAIL refused: the RCPT and DATA replies still come (all refused). */
            smtp_reply_err(s, "MAIL FROM", e);
            for (size_t i = 0; i <= m->nrcpts; i++) {
                struct err ignored;

                if (smtp_read_reply(s, &ignored) < 0)
                    goto out;
            }
            if (s->r.code == 354) {   /* a broken server: end the empty content */
                conn_write(s->conn, ".\r\n", 3);
                if (smtp_flush(s, e) < 0 || smtp_read_reply(s, e) < 0)
                    goto out;
            }
            goto refused;
        }
        for (size_t i = 0; i < m->nrcpts; i++) {
            if (smtp_read_reply(s, e) < 0)
                goto out;
            m->rcpts[i].code = s->r.code;
            smtp_reply_format(&s->r, m->rcpts[i].reply, sizeof m->rcpts[i].reply);
        }
    }
    for (size_t i = 0; i < sent_rcpt; i++) {
        if (m->rcpts[i].code == 250 || m->rcpts[i].code == 251) {
            accepted++;
        } else {
            if (m->rcpts[i].code < 500)
                temp++;
            if (first_refusal[0] == '\0')
                snprintf(first_refusal, sizeof first_refusal, "RCPT TO:<%s>: %s",
                         m->rcpts[i].addr, m->rcpts[i].reply);
        }
    }
    if (!pipe) {
        if (accepted == 0)
            goto all_refused;
        smtp_cmd(s, false, "DATA");
        if (smtp_flush(s, e) < 0)
            goto out;
    }
    if (smtp_read_reply(s, e) < 0)      /* the reply to DATA */
        goto out;
    if (s->r.code != 354) {
        if (accepted == 0)
            goto all_refused;
        smtp_reply_err(s, "DATA", e);
        goto refused;
    }
    if (accepted == 0) {
        /* 354 with no recipient (RFC 2920 says it must not happen): send no content. */
        conn_write(s->conn, ".\r\n", 3);
        if (smtp_flush(s, e) < 0 || smtp_read_reply(s, e) < 0)
            goto out;
        goto all_refused;
    }
    {
        char note[64];
        int k = snprintf(note, sizeof note, "(message content, %zu bytes)", s->out.len);

        conn_trace_sent(s->conn, note, k > 0 ? (size_t)k : 0, false);
    }
    conn_write(s->conn, s->out.ptr, s->out.len);
    /* A server that reads a byte now and then must not hold the queue for hours. */
    conn_set_deadline(s->conn, conn_deadline_for(s->conn, s->out.len), "the message content");
    if (smtp_flush(s, e) < 0) {
        conn_set_deadline(s->conn, 0, NULL);
        goto out;
    }
    conn_set_deadline(s->conn, 0, NULL);
    if (smtp_read_reply(s, e) < 0)
        goto out;
    if (final && finalsz)
        smtp_reply_format(&s->r, final, finalsz);
    if (s->r.code != 250) {
        smtp_reply_err(s, "end of data", e);
        goto refused;
    }
    rc = 0;
    if (m->accepted)
        m->accepted(m, m->arg);
    goto out;
all_refused:
    err_set(e, temp ? ERR_TEMP : ERR_PERM, "%s: no recipient accepted: %s", s->host,
            first_refusal);
refused:
    smtp_rset(s);
out:
    buf_free(&params);
    return rc;
}

/* ---- batches pipelined across messages ---- */

/* Checks that need no round trip; -1 with the error when the message cannot be sent here. */
static int smtp_precheck(struct smtp *s, struct smtp_msg *m, struct buf *enc, bool *utf8,
                         struct err *e)
{
    *utf8 = addr_utf8(m->from);
    for (size_t i = 0; i < m->nrcpts; i++) {
        m->rcpts[i].code = 0;
        m->rcpts[i].reply[0] = '\0';
        *utf8 = *utf8 || addr_utf8(m->rcpts[i].addr);
    }
    if (*utf8 && !(s->caps & SMTP_CAP_SMTPUTF8))
        return err_set(e, ERR_PERM, "%s: the addresses need SMTPUTF8, which the server does not "
                       "offer", s->host);
    buf_reset(enc);
    if (smtp_wire_data(s, m, enc, utf8, e) < 0)
        return -1;
    if ((s->caps & SMTP_CAP_SIZE) && s->size_max > 0 && enc->len > (size_t)s->size_max)
        return err_set(e, ERR_PERM, "%s: message of %zu bytes exceeds the server's limit of %ld "
                       "(SIZE)", s->host, enc->len, s->size_max);
    return 0;
}

/* Queue MAIL, RCPT... and DATA for one message. */
static void smtp_envelope(struct smtp *s, const struct smtp_msg *m, const struct buf *enc,
                          bool utf8)
{
    struct buf params = BUF_INIT;

    mail_params(s, m, enc, utf8, &params);
    smtp_cmd(s, false, "MAIL FROM:<%s>%s", m->from, params.len ? params.ptr : "");
    for (size_t i = 0; i < m->nrcpts; i++)
        rcpt_cmd(s, m, i);
    smtp_cmd(s, false, "DATA");
    buf_free(&params);
}

/*
 * Read the replies to one pipelined envelope. Returns 1 when the server is waiting for the
 * content (354) and at least one recipient was accepted, 2 when it is waiting although none
 * was (send an empty content), 0 when the transaction failed (o filled; an RSET is due), -1
 * when the session was lost.
 */
static int smtp_envelope_replies(struct smtp *s, struct smtp_msg *m, struct smtp_outcome *o)
{
    size_t accepted = 0, temp = 0;
    char first_refusal[400] = "";
    bool mail_ok;
    struct err ignored;

    if (smtp_read_reply(s, &o->err) < 0)
        return -1;
    mail_ok = s->r.code == 250;
    if (!mail_ok)
        smtp_reply_err(s, "MAIL FROM", &o->err);
    for (size_t i = 0; i < m->nrcpts; i++) {
        if (smtp_read_reply(s, mail_ok ? &o->err : &ignored) < 0)
            return -1;
        m->rcpts[i].code = s->r.code;
        smtp_reply_format(&s->r, m->rcpts[i].reply, sizeof m->rcpts[i].reply);
        if (s->r.code == 250 || s->r.code == 251) {
            accepted++;
        } else {
            temp += s->r.code < 500;
            if (first_refusal[0] == '\0')
                snprintf(first_refusal, sizeof first_refusal, "RCPT TO:<%s>: %s",
                         m->rcpts[i].addr, m->rcpts[i].reply);
        }
    }
    if (smtp_read_reply(s, mail_ok ? &o->err : &ignored) < 0)
        return -1;
    o->rc = -1;
    if (mail_ok && accepted == 0)
        err_set(&o->err, temp ? ERR_TEMP : ERR_PERM, "%s: no recipient accepted: %s", s->host,
                first_refusal);
    if (s->r.code == 354)
        return mail_ok && accepted > 0 ? 1 : 2;
    if (mail_ok && accepted > 0)
        smtp_reply_err(s, "DATA", &o->err);
    return 0;
}

void smtp_set_stop(struct smtp *s, const volatile sig_atomic_t *stop)
{
    s->stop = stop;
}

int smtp_send_batch(struct smtp *s, struct smtp_msg *msgs, size_t n, struct smtp_outcome *out)
{
    struct buf *enc = xcalloc(n + 1, sizeof *enc);
    bool *utf8 = xcalloc(n + 1, sizeof *utf8), rset = false;
    size_t i = 0, content = n;   /* content: the message whose content goes next (n: none) */
    int empty = 0;               /* an empty content is due (354 with no recipient) */

    for (size_t k = 0; k < n; k++) {
        memset(&out[k], 0, sizeof out[k]);
        out[k].rc = -1;
    }
    if (!(s->caps & SMTP_CAP_PIPELINING)) {
        for (size_t k = 0; k < n && smtp_alive(s) && !(s->stop && *s->stop); k++) {
            out[k].tried = true;
            out[k].rc = smtp_send(s, &msgs[k], out[k].final, sizeof out[k].final, &out[k].err);
        }
        goto done;
    }
    for (;;) {
        size_t env = n;
        struct err e;

        if (s->stop && *s->stop) {
            /* Asked to stop: the content due next is not sent; the server drops that
             * transaction with the connection, and the message is left for a later run. */
            if (content < n) {
                out[content].tried = false;
                err_clear(&out[content].err);
            }
            s->alive = false;
            goto done;
        }
        /* skip what cannot be sent at all */
        while (i < n && smtp_precheck(s, &msgs[i], &enc[i], &utf8[i], &out[i].err) < 0) {
            out[i].tried = true;
            i++;
        }
        if (content < n) {
            char note[64];
            int k = snprintf(note, sizeof note, "(message content, %zu bytes)", enc[content].len);

            conn_trace_sent(s->conn, note, k > 0 ? (size_t)k : 0, false);
            conn_write(s->conn, enc[content].ptr, enc[content].len);
        } else if (empty) {
            conn_write(s->conn, ".\r\n", 3);
        }
        if (rset)
            smtp_cmd(s, false, "RSET");
        if (i < n) {
            env = i;
            out[i].tried = true;
            smtp_envelope(s, &msgs[i], &enc[i], utf8[i]);
            i++;
        }
        if (content == n && !empty && !rset && env == n)
            break;
        if (content < n)
            conn_set_deadline(s->conn, conn_deadline_for(s->conn, enc[content].len),
                              "the message content");
        if (!s->alive || smtp_flush(s, &e) < 0) {
            conn_set_deadline(s->conn, 0, NULL);
            goto lost;
        }
        conn_set_deadline(s->conn, 0, NULL);
        if (content < n) {
            if (smtp_read_reply(s, &out[content].err) < 0)
                goto lost;
            smtp_reply_format(&s->r, out[content].final, sizeof out[content].final);
            if (s->r.code == 250) {
                out[content].rc = 0;
                if (msgs[content].accepted)
                    msgs[content].accepted(&msgs[content], msgs[content].arg);
            } else
                smtp_reply_err(s, "end of data", &out[content].err);
            content = n;
        } else if (empty) {
            if (smtp_read_reply(s, &e) < 0)
                goto lost;
            empty = 0;
        }
        if (rset) {
            if (smtp_read_reply(s, &e) < 0)
                goto lost;
            rset = false;
            if (s->r.code != 250) {
                s->alive = false;
                goto lost;
            }
        }
        if (env < n) {
            int r = smtp_envelope_replies(s, &msgs[env], &out[env]);

            if (r < 0)
                goto lost;
            if (r == 1)
                content = env;
            else
                rset = true;
            empty = r == 2;
        }
    }
    goto done;
lost:
    s->alive = false;
    for (size_t k = 0; k < n; k++) {
        if (out[k].tried && out[k].rc < 0 && out[k].err.cls == ERR_NONE)
            err_set(&out[k].err, ERR_NET, "%s: connection lost", s->host);
    }
    if (content < n && out[content].rc < 0 && out[content].err.cls != ERR_NET)
        err_set(&out[content].err, ERR_NET, "%s: connection lost after the content", s->host);
done:
    for (size_t k = 0; k <= n; k++)
        buf_free(&enc[k]);
    free(enc);
    free(utf8);
    return 0;
}

/* Unit tests for the SMTP client: reply parser, EHLO keywords, DATA encoding, and sessions
 * against a scripted in-process peer (one forked child per protocol case). */
#include "config.h"

#include "smtp_peer.h"
#include "testutil.h"
#include "tern/smtp.h"

/* ---- replies ---- */

struct reply_case {
    const char *lines[4];
    int want;          /* result of the last feed */
    int code;
    const char *enh;
    const char *fmt;
};

static const struct reply_case reply_cases[] = {
    { { "250 OK" }, 1, 250, "", "250 OK" },
    { { "250" }, 1, 250, "", "250" },
    { { "550 5.1.1 <x@y>: user unknown" }, 1, 550, "5.1.1", "550 5.1.1 <x@y>: user unknown" },
    { { "451 4.3.0 try later" }, 1, 451, "4.3.0", "451 4.3.0 try later" },
    { { "451 5.3.0 class mismatch" }, 1, 451, "", "451 5.3.0 class mismatch" },
    { { "250 2.1.0" }, 1, 250, "2.1.0", "250 2.1.0" },
    { { "250 2.1000.0 no" }, 1, 250, "", "250 2.1000.0 no" },
    { { "250-first", "250-second", "250 third" }, 1, 250, "", "250 first / second / third" },
    { { "250-first" }, 0, 250, "", "250 first" },
    { { "250-a", "251 b" }, -1, 0, NULL, NULL },
    { { "25" }, -1, 0, NULL, NULL },
    { { "abc def" }, -1, 0, NULL, NULL },
    { { "199 too low" }, -1, 0, NULL, NULL },
    { { "600 too high" }, -1, 0, NULL, NULL },
    { { "250_bad separator" }, -1, 0, NULL, NULL },
    { { "220 evil\033[2Jterm" }, 1, 220, "", "220 evil^[[2Jterm" },
    { { "550 a\x9b" "2Jb\xc2\x85" "c" }, 1, 550, "", "550 a\xef\xbf\xbd" "2Jb<U+0085>c" },
    { { "550-x\xe2\x80\xae" "y", "550 \xe2\x81\xa7z" }, 1, 550, "",
      "550 x<U+202E>y / <U+2067>z" },
};

START_TEST(reply_table)
{
    const struct reply_case *c = &reply_cases[_i];
    struct smtp_reply r;
    struct err e;
    int rc = 0;
    char out[256];

    smtp_reply_init(&r);
    for (int i = 0; i < 4 && c->lines[i]; i++) {
        rc = smtp_reply_feed(&r, c->lines[i], strlen(c->lines[i]), &e);
        if (rc < 0)
            break;
    }
    ck_assert_int_eq(rc, c->want);
    if (rc >= 0) {
        ck_assert_int_eq(r.code, c->code);
        ck_assert_str_eq(r.enh, c->enh);
        smtp_reply_format(&r, out, sizeof out);
        ck_assert_str_eq(out, c->fmt);
    } else {
        ck_assert_int_eq(e.cls, ERR_PROTO);
    }
    smtp_reply_free(&r);
}
END_TEST

START_TEST(reply_line_limit)
{
    struct smtp_reply r;
    struct err e;
    int rc = 0, i;

    smtp_reply_init(&r);
    for (i = 0; i < SMTP_REPLY_MAX_LINES + 5; i++) {
        rc = smtp_reply_feed(&r, "250-x", 5, &e);
        if (rc != 0)
            break;
    }
    ck_assert_int_eq(rc, -1);
    ck_assert_int_eq(i, SMTP_REPLY_MAX_LINES);
    smtp_reply_free(&r);
}
END_TEST

START_TEST(format_truncates)
{
    struct smtp_reply r;
    struct err e;
    char out[12];

    smtp_reply_init(&r);
    ck_assert_int_eq(smtp_reply_feed(&r, "550 a very long text", 20, &e), 1);
    smtp_reply_format(&r, out, sizeof out);
    ck_assert_str_eq(out, "550 a very ");
    smtp_reply_free(&r);
}
END_TEST

START_TEST(ehlo_keywords)
{
    static const char *lines[] = {
        "250-mx.example greets you", "250-PIPELINING", "250-SIZE 10240000", "250-8BITMIME",
        "250-auth=LOGIN", "250-AUTH PLAIN CRAM-MD5", "250-ENHANCEDSTATUSCODES", "250-DSN",
        "250-STARTTLS", "250 SMTPUTF8",
    };
    struct smtp_reply r;
    struct err e;
    unsigned caps;
    long size;

    smtp_reply_init(&r);
    for (size_t i = 0; i < sizeof lines / sizeof lines[0]; i++)
        smtp_reply_feed(&r, lines[i], strlen(lines[i]), &e);
    smtp_parse_ehlo(&r, &caps, &size);
    ck_assert_uint_eq(caps, SMTP_CAP_PIPELINING | SMTP_CAP_SIZE | SMTP_CAP_8BITMIME |
                      SMTP_CAP_AUTH_LOGIN | SMTP_CAP_AUTH_PLAIN | SMTP_CAP_ENHANCED |
                      SMTP_CAP_DSN | SMTP_CAP_STARTTLS | SMTP_CAP_SMTPUTF8);
    ck_assert_int_eq(size, 10240000);
    /* the greeting line is not a keyword */
    smtp_reply_reset(&r);
    smtp_reply_feed(&r, "250 STARTTLS", 12, &e);
    smtp_parse_ehlo(&r, &caps, &size);
    ck_assert_uint_eq(caps, 0);
    smtp_reply_free(&r);
}
END_TEST

/* ---- DATA encoding ---- */

struct enc_case {
    const char *in;
    size_t len;        /* 0: strlen */
    const char *out;
};

static const struct enc_case enc_cases[] = {
    { "a\nb\n", 0, "a\r\nb\r\n.\r\n" },
    { "a\r\nb\r\n", 0, "a\r\nb\r\n.\r\n" },
    { "no end", 0, "no end\r\n.\r\n" },
    { "", 0, ".\r\n" },
    { ".\n", 0, "..\r\n.\r\n" },
    { "x\n.\ny\n", 0, "x\r\n..\r\ny\r\n.\r\n" },
    { "x\r\n.\r\ny", 0, "x\r\n..\r\ny\r\n.\r\n" },
    /* bare CR and bare LF never survive as such: the smuggling sequences */
    { "x\n.\r\ny", 0, "x\r\n..\r\ny\r\n.\r\n" },
    { "x\r.\ry", 0, "x\r\n..\r\ny\r\n.\r\n" },
    { "x\r.\r\nMAIL FROM:<a>\r\n", 0, "x\r\n..\r\nMAIL FROM:<a>\r\n.\r\n" },
    { "a\r\rb", 0, "a\r\n\r\nb\r\n.\r\n" },
    { "a\n\r\nb", 0, "a\r\n\r\nb\r\n.\r\n" },
    { "..two\n", 0, "...two\r\n.\r\n" },
    { "mid.dle\n", 0, "mid.dle\r\n.\r\n" },
    { "nul\0byte\n", 9, "nul\0byte\r\n.\r\n" },
};

START_TEST(encode_table)
{
    const struct enc_case *c = &enc_cases[_i];
    size_t n = c->len ? c->len : strlen(c->in);
    size_t outlen = strlen(c->out) + (c->len ? strlen(c->out + strlen(c->out) + 1) + 1 : 0);
    struct buf b = BUF_INIT;

    smtp_data_encode(c->in, n, &b);
    if (b.len != outlen || memcmp(b.ptr, c->out, outlen) != 0)
        ck_abort_msg("case %d: got '%.*s'", _i, (int)b.len, b.ptr);
    buf_free(&b);
}
END_TEST

/* No lone CR or LF, and no "\r\n.\r\n" before the end, whatever the input. */
START_TEST(encode_random)
{
    unsigned seed = 12345;
    static const char alphabet[] = "\r\n.a";

    for (int round = 0; round < 2000; round++) {
        char in[64];
        size_t n = (size_t)(round % 64);
        struct buf b = BUF_INIT;

        for (size_t i = 0; i < n; i++) {
            seed = seed * 1103515245 + 12345;
            in[i] = alphabet[(seed >> 16) % 4];
        }
        smtp_data_encode(in, n, &b);
        for (size_t i = 0; i < b.len; i++) {
            if (b.ptr[i] == '\r')
                ck_assert(i + 1 < b.len && b.ptr[i + 1] == '\n');
            if (b.ptr[i] == '\n')
                ck_assert(i > 0 && b.ptr[i - 1] == '\r');
        }
        ck_assert(b.len >= 3 && memcmp(b.ptr + b.len - 3, ".\r\n", 3) == 0);
        /* the only end-of-data marker is the last one */
        {
            const char *p = b.ptr, *end = b.ptr + b.len;
            size_t hits = 0;

            if (b.len >= 3 && memcmp(b.ptr, ".\r\n", 3) == 0)
                hits++;
            for (; p + 5 <= end; p++)
                if (memcmp(p, "\r\n.\r\n", 5) == 0)
                    hits++;
            ck_assert_uint_eq(hits, 1);
        }
        buf_free(&b);
    }
}
END_TEST

START_TEST(addr_checks)
{
    ck_assert(!smtp_addr_bad("ann@example.org"));
    ck_assert(!smtp_addr_bad("\"a b\"@example.org"));
    ck_assert(!smtp_addr_bad("ünï@exämple.org"));
    ck_assert(smtp_addr_bad("a b@example.org"));
    ck_assert(smtp_addr_bad("a@b>\r\nRCPT TO:<c@d"));
    ck_assert(smtp_addr_bad("a@b> SIZE=1"));
    ck_assert(smtp_needs_8bit("caf\xc3\xa9", 5));
    ck_assert(!smtp_needs_8bit("cafe", 4));
}
END_TEST

static void opts_for(struct smtp_opts *o, int port, enum tls_mode tls)
{
    memset(o, 0, sizeof *o);
    o->host = "127.0.0.1";
    o->port = port;
    o->tls = tls;
    o->timeout = 5;
    o->helo = "client.test";
}

/* Start the scripted peer on STEPS and fill O for a session with it. */
static pid_t peer_opts(const char *const *steps, struct smtp_opts *o, enum tls_mode tls)
{
    int port;
    pid_t pid = peer_start(steps, &port);

    opts_for(o, port, tls);
    return pid;
}

/* Close the session; the peer must have followed its script to the end. */
static void session_end(struct smtp *s, pid_t pid)
{
    smtp_close(s);
    ck_assert_int_eq(peer_wait(pid), 0);
}

/* Opening a session with O fails with the class CLS and TEXT in the message (""; any); the
 * peer followed its script. */
static void open_fails(const struct smtp_opts *o, pid_t pid, enum err_class cls, const char *text)
{
    struct smtp *s;
    struct err e;

    ck_assert_int_eq(smtp_open(o, &s, &e), -1);
    test_err(&e, cls, text);
    ck_assert_int_eq(peer_wait(pid), 0);
}

#define EHLO_PIPE "S:250-peer\n250-PIPELINING\n250-SIZE 1000\n250-8BITMIME\n250 ENHANCEDSTATUSCODES\n"

START_TEST(session_pipelined_partial)
{
    static const char *const steps[] = {
        "S:220 peer ESMTP\n", "C:EHLO client.test", EHLO_PIPE,
        "C:MAIL FROM:<a@x> SIZE=*", "C:RCPT TO:<b@x>", "C:RCPT TO:<c@x>", "C:DATA",
        "S:250 2.1.0 ok\n250 2.1.5 ok\n550 5.1.1 no such user\n354 go\n",
        "C:Subject: t", "C:", "C:..dot", "C:x", "C:.", "S:250 2.0.0 queued as X\n",
        "C:QUIT", "S:221 bye\n", "W", NULL,
    };
    struct smtp_rcpt r[2] = { { "b@x", 0, "" }, { "c@x", 0, "" } };
    struct smtp_msg m = { "a@x", r, 2, "Subject: t\n\n.dot\nx", 18,
                          NULL, NULL, NULL, NULL, NULL, false };
    struct smtp_opts o;
    struct smtp *s;
    struct err e;
    char final[128];
    pid_t pid = peer_opts(steps, &o, TLS_MODE_NONE);

    if (smtp_open(&o, &s, &e) < 0)
        ck_abort_msg("open: %s", e.msg);
    ck_assert(smtp_caps(s) & SMTP_CAP_PIPELINING);
    if (smtp_send(s, &m, final, sizeof final, &e) < 0)
        ck_abort_msg("send: %s", e.msg);
    ck_assert_int_eq(r[0].code, 250);
    ck_assert_int_eq(r[1].code, 550);
    ck_assert_str_eq(r[1].reply, "550 5.1.1 no such user");
    ck_assert_str_eq(final, "250 2.0.0 queued as X");
    session_end(s, pid);
}
END_TEST

START_TEST(session_all_refused_then_next)
{
    static const char *const steps[] = {
        "S:220 peer\n", "C:EHLO client.test", EHLO_PIPE,
        "C:MAIL FROM:<a@x> SIZE=*", "C:RCPT TO:<b@x>", "C:DATA",
        "S:250 ok\n450 4.2.0 mailbox busy\n554 5.5.1 no valid recipients\n",
        "C:RSET", "S:250 reset\n",
        "C:MAIL FROM:<a@x> SIZE=*", "C:RCPT TO:<b@x>", "C:DATA",
        "S:250 ok\n250 ok\n354 go\n", "C:hi", "C:.", "S:250 done\n",
        "C:QUIT", "S:221 bye\n", NULL,
    };
    struct smtp_rcpt r[1] = { { "b@x", 0, "" } };
    struct smtp_msg m = { "a@x", r, 1, "hi\n", 3, NULL, NULL, NULL, NULL, NULL, false };
    struct smtp_opts o;
    struct smtp *s;
    struct err e;
    pid_t pid = peer_opts(steps, &o, TLS_MODE_NONE);

    ck_assert_int_eq(smtp_open(&o, &s, &e), 0);
    ck_assert_int_eq(smtp_send(s, &m, NULL, 0, &e), -1);
    test_err(&e, ERR_TEMP, "450 4.2.0 mailbox busy");
    ck_assert(smtp_alive(s));
    ck_assert_int_eq(smtp_send(s, &m, NULL, 0, &e), 0);
    session_end(s, pid);
}
END_TEST

START_TEST(session_no_pipelining_helo_fallback)
{
    static const char *const steps[] = {
        "S:220 old\n", "C:EHLO client.test", "S:502 what\n", "C:HELO client.test",
        "S:250 hi\n", "C:MAIL FROM:<>", "S:250 ok\n", "C:RCPT TO:<b@x>",
        "S:550 5.1.1 unknown\n", "C:RSET", "S:250 ok\n", "C:QUIT", "S:221 bye\n", NULL,
    };
    struct smtp_rcpt r[1] = { { "b@x", 0, "" } };
    struct smtp_msg m = { "", r, 1, "caf\xc3\xa9\n", 6, NULL, NULL, NULL, NULL, NULL, false };
    struct smtp_opts o;
    struct smtp *s;
    struct err e;
    pid_t pid = peer_opts(steps, &o, TLS_MODE_NONE);

    ck_assert_int_eq(smtp_open(&o, &s, &e), 0);
    ck_assert_uint_eq(smtp_caps(s), 0);
    ck_assert_int_eq(smtp_send(s, &m, NULL, 0, &e), -1);
    ck_assert_int_eq(e.cls, ERR_PERM);
    ck_assert_int_eq(r[0].code, 550);
    session_end(s, pid);
}
END_TEST

START_TEST(session_size_refused_early)
{
    static const char *const steps[] = {
        "S:220 peer\n", "C:EHLO client.test", EHLO_PIPE, "C:QUIT", "S:221 bye\n", "W", NULL,
    };
    static char big[2000];
    struct smtp_rcpt r[1] = { { "b@x", 0, "" } };
    struct smtp_msg m = { "a@x", r, 1, big, sizeof big, NULL, NULL, NULL, NULL, NULL, false };
    struct smtp_opts o;
    struct smtp *s;
    struct err e;
    pid_t pid;

    memset(big, 'a', sizeof big);
    pid = peer_opts(steps, &o, TLS_MODE_NONE);
    ck_assert_int_eq(smtp_open(&o, &s, &e), 0);
    ck_assert_int_eq(smtp_send(s, &m, NULL, 0, &e), -1);
    test_err(&e, ERR_PERM, "SIZE");
    session_end(s, pid);
}
END_TEST

START_TEST(session_8bit_and_utf8)
{
    static const char *const steps[] = {
        "S:220 peer\n", "C:EHLO client.test",
        "S:250-peer\n250-8BITMIME\n250-PIPELINING\n250 DSN\n",
        "C:MAIL FROM:<a@x> BODY=8BITMIME", "C:RCPT TO:<b@x>", "C:DATA",
        "S:250 ok\n250 ok\n354 go\n", "C:caf\xc3\xa9", "C:.", "S:250 ok\n",
        "C:QUIT", "S:221 bye\n", NULL,
    };
    struct smtp_rcpt r[1] = { { "b@x", 0, "" } };
    struct smtp_rcpt ru[1] = { { "j\xc3\xb6rg@x", 0, "" } };
    struct smtp_msg m = { "a@x", r, 1, "caf\xc3\xa9\n", 6, NULL, NULL, NULL, NULL, NULL, false };
    struct smtp_msg mu = { "a@x", ru, 1, "x\n", 2, NULL, NULL, NULL, NULL, NULL, false };
    struct smtp_opts o;
    struct smtp *s;
    struct err e;
    pid_t pid = peer_opts(steps, &o, TLS_MODE_NONE);

    ck_assert_int_eq(smtp_open(&o, &s, &e), 0);
    ck_assert_int_eq(smtp_send(s, &m, NULL, 0, &e), 0);
    /* no SMTPUTF8 on this server: refused before anything is sent */
    ck_assert_int_eq(smtp_send(s, &mu, NULL, 0, &e), -1);
    test_err(&e, ERR_PERM, "SMTPUTF8");
    session_end(s, pid);
}
END_TEST

/* Issue 14, item 8: to a server without 8BITMIME, 8-bit text and a line over 998 octets go
 * quoted-printable, with the MIME fields added, and MAIL FROM has no BODY=8BITMIME. */
START_TEST(session_reencodes_for_the_wire)
{
    const char *steps[40];
    char qp[13][80], last[40], msg[1200];
    size_t k = 0, n;
    struct smtp_rcpt r[1] = { { "b@x", 0, "" } };
    struct smtp_msg m = { "a@x", r, 1, msg, 0, NULL, NULL, NULL, NULL, NULL, false };
    struct smtp_opts o;
    struct smtp *s;
    struct err e;
    pid_t pid;

    n = (size_t)snprintf(msg, sizeof msg, "Subject: x\n\ncaf\xc3\xa9\n");
    memset(msg + n, 'a', 1000);
    msg[n + 1000] = '\n';
    m.len = n + 1001;
    steps[k++] = "S:220 peer\n";
    steps[k++] = "C:EHLO client.test";
    steps[k++] = "S:250-peer\n250 PIPELINING\n";
    steps[k++] = "C:MAIL FROM:<a@x>";
    steps[k++] = "C:RCPT TO:<b@x>";
    steps[k++] = "C:DATA";
    steps[k++] = "S:250 ok\n250 ok\n354 go\n";
    steps[k++] = "C:Subject: x";
    steps[k++] = "C:MIME-Version: 1.0";
    steps[k++] = "C:Content-Type: text/plain; charset=utf-8";
    steps[k++] = "C:Content-Transfer-Encoding: quoted-printable";
    steps[k++] = "C:";
    steps[k++] = "C:caf=C3=A9";
    for (int i = 0; i < 13; i++) {
        memcpy(qp[i], "C:", 2);
        memset(qp[i] + 2, 'a', 75);
        memcpy(qp[i] + 77, "=", 2);
        steps[k++] = qp[i];
    }
    memcpy(last, "C:", 2);
    memset(last + 2, 'a', 25);
    last[27] = '\0';
    steps[k++] = last;
    steps[k++] = "C:.";
    steps[k++] = "S:250 ok\n";
    steps[k++] = "C:QUIT";
    steps[k++] = "S:221 bye\n";
    steps[k] = NULL;
    pid = peer_opts(steps, &o, TLS_MODE_NONE);
    ck_assert_int_eq(smtp_open(&o, &s, &e), 0);
    ck_assert_msg(smtp_send(s, &m, NULL, 0, &e) == 0, "%s", e.msg);
    session_end(s, pid);
}
END_TEST

START_TEST(session_dsn_params)
{
    static const char *const steps[] = {
        "S:220 peer\n", "C:EHLO client.test", "S:250-peer\n250-DSN\n250 SMTPUTF8\n",
        "C:MAIL FROM:<a@x> SMTPUTF8 RET=HDRS ENVID=id1", "S:250 ok\n",
        "C:RCPT TO:<j\xc3\xb6rg@x> NOTIFY=FAILURE,DELAY", "S:250 ok\n", "C:DATA",
        "S:354 go\n", "C:x", "C:.", "S:250 ok\n", "C:QUIT", "S:221 bye\n", NULL,
    };
    struct smtp_rcpt r[1] = { { "j\xc3\xb6rg@x", 0, "" } };
    struct smtp_msg m = { "a@x", r, 1, "x", 1, "id1", NULL, NULL, NULL, NULL, false };
    struct smtp_opts o;
    struct smtp *s;
    struct err e;
    pid_t pid = peer_opts(steps, &o, TLS_MODE_NONE);

    o.dsn_notify = "FAILURE,DELAY";
    o.dsn_ret = "HDRS";
    ck_assert_int_eq(smtp_open(&o, &s, &e), 0);
    if (smtp_send(s, &m, NULL, 0, &e) < 0)
        ck_abort_msg("%s", e.msg);
    session_end(s, pid);
}
END_TEST

/* The message's own DSN parameters (tern send -N, -R, -V) over the account's, the account's
 * when it has none (ENVID with them); nothing at all on a server without DSN. */
START_TEST(session_dsn_per_message)
{
    static const char *const steps[] = {
        "S:220 peer\n", "C:EHLO client.test", "S:250-peer\n250 DSN\n",
        "C:MAIL FROM:<a@x> RET=FULL ENVID=q+2Bid+3D1", "S:250 ok\n",
        "C:RCPT TO:<b@x> NOTIFY=NEVER", "S:250 ok\n", "C:DATA", "S:354 go\n", "C:x", "C:.",
        "S:250 ok\n",
        "C:MAIL FROM:<a@x> RET=HDRS ENVID=e1", "S:250 ok\n",
        "C:RCPT TO:<b@x> NOTIFY=FAILURE,DELAY", "S:250 ok\n", "C:DATA", "S:354 go\n", "C:x",
        "C:.", "S:250 ok\n", "C:QUIT", "S:221 bye\n", NULL,
    };
    static const char *const nodsn[] = {
        "S:220 peer\n", "C:EHLO client.test", "S:250 peer\n", "C:MAIL FROM:<a@x>",
        "S:250 ok\n", "C:RCPT TO:<b@x>", "S:250 ok\n", "C:DATA", "S:354 go\n", "C:x", "C:.",
        "S:250 ok\n", "C:QUIT", "S:221 bye\n", NULL,
    };
    static const char *const alone[] = {
        "S:220 peer\n", "C:EHLO client.test", "S:250-peer\n250 DSN\n",
        "C:MAIL FROM:<a@x> ENVID=e1", "S:250 ok\n", "C:RCPT TO:<b@x>", "S:250 ok\n", "C:DATA",
        "S:354 go\n", "C:x", "C:.", "S:250 ok\n", "C:MAIL FROM:<a@x>", "S:250 ok\n",
        "C:RCPT TO:<b@x>", "S:250 ok\n", "C:DATA", "S:354 go\n", "C:x", "C:.", "S:250 ok\n",
        "C:QUIT", "S:221 bye\n", NULL,
    };
    struct smtp_rcpt r[1] = { { "b@x", 0, "" } };
    struct smtp_msg m = { "a@x", r, 1, "x", 1, "q+id=1", NULL, NULL, "NEVER", "FULL", false };
    struct smtp_msg m3 = { "a@x", r, 1, "x", 1, "id", NULL, NULL, NULL, NULL, false };
    struct smtp_msg m2 = { "a@x", r, 1, "x", 1, "e1", NULL, NULL, NULL, NULL, true };
    struct smtp_opts o;
    struct smtp *s;
    struct err e;
    pid_t pid = peer_opts(steps, &o, TLS_MODE_NONE);

    o.dsn_notify = "FAILURE,DELAY";
    o.dsn_ret = "HDRS";
    ck_assert_int_eq(smtp_open(&o, &s, &e), 0);
    ck_assert_msg(smtp_send(s, &m, NULL, 0, &e) == 0, "%s", e.msg);
    ck_assert_msg(smtp_send(s, &m2, NULL, 0, &e) == 0, "%s", e.msg);
    session_end(s, pid);
    pid = peer_opts(nodsn, &o, TLS_MODE_NONE);
    ck_assert_int_eq(smtp_open(&o, &s, &e), 0);
    ck_assert_msg(smtp_send(s, &m, NULL, 0, &e) == 0, "%s", e.msg);
    session_end(s, pid);
    /* no account DSN: ENVID alone when asked (-V), nothing when not */
    pid = peer_opts(alone, &o, TLS_MODE_NONE);
    ck_assert_int_eq(smtp_open(&o, &s, &e), 0);
    ck_assert_msg(smtp_send(s, &m2, NULL, 0, &e) == 0, "%s", e.msg);
    ck_assert_msg(smtp_send(s, &m3, NULL, 0, &e) == 0, "%s", e.msg);
    session_end(s, pid);
}
END_TEST

/* An 8-bit header: raw with SMTPUTF8 on MAIL when offered, else encoded words on the wire;
 * an 8-bit address in a field without SMTPUTF8 is refused before anything is sent. */
START_TEST(session_8bit_header)
{
    static const char *const utf8[] = {
        "S:220 peer\n", "C:EHLO client.test", "S:250-peer\n250-8BITMIME\n250 SMTPUTF8\n",
        "C:MAIL FROM:<a@x> BODY=8BITMIME SMTPUTF8", "S:250 ok\n", "C:RCPT TO:<b@x>",
        "S:250 ok\n", "C:DATA", "S:354 go\n", "C:Subject: Gr\xc3\xbc\xc3\x9f" "e", "C:",
        "C:x", "C:.", "S:250 ok\n", "C:QUIT", "S:221 bye\n", NULL,
    };
    static const char *const seven[] = {
        "S:220 peer\n", "C:EHLO client.test", "S:250-peer\n250 8BITMIME\n",
        "C:MAIL FROM:<a@x>", "S:250 ok\n", "C:RCPT TO:<b@x>",
        "S:250 ok\n", "C:DATA", "S:354 go\n", "C:Subject: =?UTF-8?B?R3LDvMOfZQ==?=", "C:",
        "C:x", "C:.", "S:250 ok\n", "C:QUIT", "S:221 bye\n", NULL,
    };
    static const char *const refused[] = {
        "S:220 peer\n", "C:EHLO client.test", "S:250-peer\n250 8BITMIME\n", "C:QUIT",
        "S:221 bye\n", NULL,
    };
    static const char msg[] = "Subject: Gr\xc3\xbc\xc3\x9f" "e\n\nx\n";
    static const char bad[] = "To: j\xc3\xb6rg@x\n\nx\n";
    struct smtp_rcpt r[1] = { { "b@x", 0, "" } };
    struct smtp_msg m = { "a@x", r, 1, msg, sizeof msg - 1, NULL, NULL, NULL, NULL, NULL, false };
    struct smtp_msg mb = { "a@x", r, 1, bad, sizeof bad - 1, NULL, NULL, NULL, NULL, NULL,
                           false };
    struct smtp_opts o;
    struct smtp *s;
    struct err e;
    pid_t pid = peer_opts(utf8, &o, TLS_MODE_NONE);

    ck_assert_int_eq(smtp_open(&o, &s, &e), 0);
    ck_assert_msg(smtp_send(s, &m, NULL, 0, &e) == 0, "%s", e.msg);
    session_end(s, pid);
    pid = peer_opts(seven, &o, TLS_MODE_NONE);
    ck_assert_int_eq(smtp_open(&o, &s, &e), 0);
    ck_assert_msg(smtp_send(s, &m, NULL, 0, &e) == 0, "%s", e.msg);
    session_end(s, pid);
    pid = peer_opts(refused, &o, TLS_MODE_NONE);
    ck_assert_int_eq(smtp_open(&o, &s, &e), 0);
    ck_assert_int_eq(smtp_send(s, &mb, NULL, 0, &e), -1);
    ck_assert_int_eq(e.cls, ERR_PERM);
    ck_assert_str_eq(e.msg, "127.0.0.1: the To field has a non-ASCII address (j\xc3\xb6rg@x), "
                            "which only SMTPUTF8 can carry; the server does not offer it");
    session_end(s, pid);
}
END_TEST

START_TEST(session_auth_plain_and_login)
{
    static const char *const steps[] = {
        "S:220 peer\n", "C:EHLO client.test", "S:250-peer\n250 AUTH LOGIN PLAIN\n",
        /* base64("\0ann\0s3cret") */
        "C:AUTH PLAIN AGFubgBzM2NyZXQ=", "S:235 2.7.0 ok\n", "C:QUIT", "S:221 bye\n", NULL,
    };
    static const char *const steps2[] = {
        "S:220 peer\n", "C:EHLO client.test", "S:250-peer\n250 AUTH LOGIN\n",
        "C:AUTH LOGIN", "S:334 VXNlcm5hbWU6\n", "C:YW5u", "S:334 UGFzc3dvcmQ6\n",
        "C:d3Jvbmc=", "S:535 5.7.8 bad credentials\n", "W", NULL,
    };
    struct smtp_opts o;
    struct smtp *s;
    struct err e;
    pid_t pid = peer_opts(steps, &o, TLS_MODE_NONE);

    o.user = "ann";
    o.password = "s3cret";
    if (smtp_open(&o, &s, &e) < 0)
        ck_abort_msg("%s", e.msg);
    session_end(s, pid);

    pid = peer_opts(steps2, &o, TLS_MODE_NONE);
    o.user = "ann";
    o.password = "wrong";
    open_fails(&o, pid, ERR_AUTH, "535 5.7.8 bad credentials");
}
END_TEST

START_TEST(session_starttls_injection)
{
    /* The go-ahead and a forged EHLO reply in one packet: must abort before any handshake. */
    static const char *const steps[] = {
        "S:220 peer\n", "C:EHLO client.test", "S:250-peer\n250 STARTTLS\n", "C:STARTTLS",
        "S:220 go ahead\n250-evil\n250 AUTH PLAIN\n", "W", NULL,
    };
    struct smtp_opts o;
    pid_t pid = peer_opts(steps, &o, TLS_MODE_STARTTLS);

    open_fails(&o, pid, ERR_TLS, "unexpected");
}
END_TEST

START_TEST(session_no_starttls_no_downgrade)
{
    static const char *const steps[] = {
        "S:220 peer\n", "C:EHLO client.test", "S:250-peer\n250 AUTH PLAIN\n", "W", NULL,
    };
    struct smtp_opts o;
    pid_t pid = peer_opts(steps, &o, TLS_MODE_STARTTLS);

    o.user = "ann";
    o.password = "pw";
    open_fails(&o, pid, ERR_TLS, "STARTTLS");
}
END_TEST

START_TEST(session_broken_replies)
{
    static const char *const steps[] = {
        "S:220 peer\n", "C:EHLO client.test", "S:250-peer\n251 oops\n", "W", NULL,
    };
    static const char *const steps2[] = {
        "S:421 4.3.2 shutting down\n", "W", NULL,
    };
    static const char *const steps3[] = {
        "S:220 peer\n", "C:EHLO client.test", EHLO_PIPE,
        "C:MAIL FROM:<a@x> SIZE=*", "C:RCPT TO:<b@x>", "C:DATA",
        "S:250 ok\n250 ok\n354 go\n", "C:x", "C:.", NULL,    /* drops after the dot */
    };
    struct smtp_rcpt r[1] = { { "b@x", 0, "" } };
    struct smtp_msg m = { "a@x", r, 1, "x\n", 2, NULL, NULL, NULL, NULL, NULL, false };
    struct smtp_opts o;
    struct smtp *s;
    struct err e;
    pid_t pid = peer_opts(steps, &o, TLS_MODE_NONE);

    open_fails(&o, pid, ERR_PROTO, "");
    pid = peer_opts(steps2, &o, TLS_MODE_NONE);
    open_fails(&o, pid, ERR_TEMP, "421 4.3.2 shutting down");

    pid = peer_opts(steps3, &o, TLS_MODE_NONE);
    ck_assert_int_eq(smtp_open(&o, &s, &e), 0);
    ck_assert_int_eq(smtp_send(s, &m, NULL, 0, &e), -1);
    ck_assert_int_eq(e.cls, ERR_NET);
    ck_assert(!smtp_alive(s));
    session_end(s, pid);
}
END_TEST

START_TEST(session_silent_greeting_times_out)
{
    static const char *const steps[] = { "W", NULL };
    struct smtp_opts o;
    pid_t pid = peer_opts(steps, &o, TLS_MODE_NONE);

    o.timeout = 1;
    open_fails(&o, pid, ERR_NET, "");
}
END_TEST

START_TEST(session_batch_pipelined)
{
    static const char *const steps[] = {
        "S:220 peer\n", "C:EHLO client.test", EHLO_PIPE,
        "C:MAIL FROM:<a@x> SIZE=*", "C:RCPT TO:<b@x>", "C:DATA", "S:250 ok\n250 ok\n354 go\n",
        /* the content of one message and the envelope of the next arrive together */
        "C:one", "C:.", "C:MAIL FROM:<a@x> SIZE=*", "C:RCPT TO:<c@x>", "C:DATA",
        "S:250 first\n250 ok\n550 5.1.1 no c\n554 no valid recipients\n",
        /* the third is over SIZE: never sent; the fourth follows the RSET */
        "C:RSET", "C:MAIL FROM:<a@x> SIZE=*", "C:RCPT TO:<b@x>", "C:DATA",
        "S:250 reset\n250 ok\n250 ok\n354 go\n", "C:..four", "C:.", "S:250 fourth\n",
        "C:QUIT", "S:221 bye\n", NULL,
    };
    static char big[2000];
    struct smtp_rcpt r1[1] = { { "b@x", 0, "" } }, r2[1] = { { "c@x", 0, "" } };
    struct smtp_rcpt r3[1] = { { "b@x", 0, "" } }, r4[1] = { { "b@x", 0, "" } };
    struct smtp_msg m[4] = {
        { "a@x", r1, 1, "one\n", 4, NULL, NULL, NULL, NULL, NULL, false },
        { "a@x", r2, 1, "two\n", 4, NULL, NULL, NULL, NULL, NULL, false },
        { "a@x", r3, 1, big, sizeof big, NULL, NULL, NULL, NULL, NULL, false },
        { "a@x", r4, 1, ".four", 5, NULL, NULL, NULL, NULL, NULL, false },
    };
    struct smtp_outcome out[4];
    struct smtp_opts o;
    struct smtp *s;
    struct err e;
    pid_t pid;

    memset(big, 'a', sizeof big);
    pid = peer_opts(steps, &o, TLS_MODE_NONE);
    ck_assert_int_eq(smtp_open(&o, &s, &e), 0);
    ck_assert_int_eq(smtp_send_batch(s, m, 4, out), 0);
    ck_assert(out[0].tried && out[1].tried && out[2].tried && out[3].tried);
    ck_assert_int_eq(out[0].rc, 0);
    ck_assert_str_eq(out[0].final, "250 first");
    ck_assert_int_eq(out[1].rc, -1);
    ck_assert_int_eq(out[1].err.cls, ERR_PERM);
    ck_assert_int_eq(r2[0].code, 550);
    ck_assert_int_eq(out[2].rc, -1);
    ck_assert_ptr_nonnull(strstr(out[2].err.msg, "SIZE"));
    ck_assert_int_eq(out[3].rc, 0);
    ck_assert_str_eq(out[3].final, "250 fourth");
    ck_assert(smtp_alive(s));
    session_end(s, pid);
}
END_TEST

START_TEST(session_batch_lost)
{
    static const char *const steps[] = {
        "S:220 peer\n", "C:EHLO client.test", EHLO_PIPE,
        "C:MAIL FROM:<a@x> SIZE=*", "C:RCPT TO:<b@x>", "C:DATA", "S:250 ok\n250 ok\n354 go\n",
        "C:one", "C:.", NULL,    /* closes without a reply */
    };
    struct smtp_rcpt r[3][1] = { { { "b@x", 0, "" } }, { { "b@x", 0, "" } },
                                 { { "b@x", 0, "" } } };
    struct smtp_msg m[3] = {
        { "a@x", r[0], 1, "one\n", 4, NULL, NULL, NULL, NULL, NULL, false },
        { "a@x", r[1], 1, "two\n", 4, NULL, NULL, NULL, NULL, NULL, false },
        { "a@x", r[2], 1, "three\n", 6, NULL, NULL, NULL, NULL, NULL, false },
    };
    struct smtp_outcome out[3];
    struct smtp_opts o;
    struct smtp *s;
    struct err e;
    pid_t pid = peer_opts(steps, &o, TLS_MODE_NONE);

    ck_assert_int_eq(smtp_open(&o, &s, &e), 0);
    ck_assert_int_eq(smtp_send_batch(s, m, 3, out), 0);
    ck_assert(out[0].tried);
    ck_assert_int_eq(out[0].rc, -1);
    ck_assert_int_eq(out[0].err.cls, ERR_NET);
    ck_assert(out[1].tried);
    ck_assert_int_eq(out[1].err.cls, ERR_NET);
    ck_assert(!out[2].tried);
    ck_assert(!smtp_alive(s));
    session_end(s, pid);
}
END_TEST

static Suite *smtp_suite(void)
{
    Suite *s = suite_create("smtp");
    TCase *t = tcase_create("parse");
    TCase *p = tcase_create("peer");

    tcase_add_loop_test(t, reply_table, 0, sizeof reply_cases / sizeof reply_cases[0]);
    tcase_add_test(t, reply_line_limit);
    tcase_add_test(t, format_truncates);
    tcase_add_test(t, ehlo_keywords);
    tcase_add_loop_test(t, encode_table, 0, sizeof enc_cases / sizeof enc_cases[0]);
    tcase_add_test(t, encode_random);
    tcase_add_test(t, addr_checks);
    suite_add_tcase(s, t);
    tcase_set_timeout(p, 20);
    tcase_add_test(p, session_pipelined_partial);
    tcase_add_test(p, session_all_refused_then_next);
    tcase_add_test(p, session_no_pipelining_helo_fallback);
    tcase_add_test(p, session_size_refused_early);
    tcase_add_test(p, session_8bit_and_utf8);
    tcase_add_test(p, session_dsn_params);
    tcase_add_test(p, session_dsn_per_message);
    tcase_add_test(p, session_8bit_header);
    tcase_add_test(p, session_auth_plain_and_login);
    tcase_add_test(p, session_starttls_injection);
    tcase_add_test(p, session_no_starttls_no_downgrade);
    tcase_add_test(p, session_broken_replies);
    tcase_add_test(p, session_silent_greeting_times_out);
    tcase_add_test(p, session_batch_pipelined);
    tcase_add_test(p, session_batch_lost);
    tcase_add_test(p, session_reencodes_for_the_wire);
    suite_add_tcase(s, p);
    return s;
}

TEST_MAIN(smtp_suite)

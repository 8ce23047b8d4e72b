/* Reply and forward: recipients, subject, threading headers and the quoted text. */
#include "config.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "tern/header.h"
#include "tern/render.h"
#include "tern/reply.h"
#include "tern/str.h"
#include "tern/xalloc.h"

#define MAX_REFERENCES 20        /* keep References from growing without end */

static bool is_own(const struct identity *me, const char *mailbox)
{
    char *from;
    bool own;

    for (size_t i = 0; i < me->nown; i++)
        if (str_casecmp(me->own[i], mailbox) == 0)
            return true;
    /* The From of the identity counts too, even when own[] forgets it. */
    from = me->from ? addr_first_mailbox(me->from, strlen(me->from)) : NULL;
    own = from && str_casecmp(from, mailbox) == 0;
    free(from);
    return own;
}

/* Append the addresses of value to list (", "-separated), skipping own ones and those in
 * seen; each added mailbox goes into seen. */
static void add_addresses(struct buf *list, struct buf *seen, const char *value,
                          const struct identity *me, bool skip_own)
{
    struct addr *a;
    size_t n;

    if (value == NULL || addr_parse_list(value, strlen(value), &a, &n) < 0)
        return;
    for (size_t i = 0; i < n; i++) {
        struct buf key = BUF_INIT;

        if (a[i].mailbox == NULL || strchr(a[i].mailbox, '@') == NULL)
            continue;
        buf_printf(&key, "\n%s\n", a[i].mailbox);
        if ((skip_own && is_own(me, a[i].mailbox)) ||
            str_casemem(buf_cstr(seen), seen->len, key.ptr) != NULL) {
            buf_free(&key);
            continue;
        }
        buf_add(seen, key.ptr, key.len);
        buf_free(&key);
        if (list->len)
            buf_adds(list, ", ");
        addr_format(list, a[i].name, a[i].mailbox);
    }
    addr_list_free(a, n);
}

static char *take(struct buf *b)
{
    if (b->len == 0) {
        buf_free(b);
        return NULL;
    }
    return buf_detach(b);
}

/* The first mailto: address of a List-Post value ("<mailto:list@x>" or "NO"). */
static char *list_post_address(const char *v)
{
    const char *m = v ? str_casemem(v, strlen(v), "mailto:") : NULL;
    size_t n;

    if (m == NULL)
        return NULL;
    m += 7;
    n = strcspn(m, ">?, \t");
    return n ? xstrndup(m, n) : NULL;
}

static int reply_recipients(const char *msg, size_t hlen, enum reply_mode mode,
                            const struct identity *me, struct draft *d, struct err *e)
{
    /* Split before decoding: an encoded word must never become a recipient. */
    char *from = hdr_get_addrs(msg, hlen, "From");
    char *reply_to = hdr_get_addrs(msg, hlen, "Reply-To");
    char *to = hdr_get_addrs(msg, hlen, "To"), *cc = hdr_get_addrs(msg, hlen, "Cc");
    struct buf tol = BUF_INIT, ccl = BUF_INIT, seen = BUF_INIT;
    char *sender = from ? addr_first_mailbox(from, strlen(from)) : NULL;
    bool from_me = sender && is_own(me, sender);
    int rc = 0;

    free(sender);
    if (mode == REPLY_LIST) {
        struct hdr_field lf;
        /* A URL field: never RFC 2047 decoded (an encoded word must not yield a mailto). */
        char *lp = hdr_find(msg, hlen, "List-Post", &lf) ? hdr_unfold(lf.value, lf.value_len)
                                                           : NULL;
        char *addr = list_post_address(lp);

        if (addr == NULL)
            rc = err_set(e, ERR_PARSE, "this message has no List-Post address to reply to");
        else
            buf_adds(&tol, addr);
        free(addr);
        free(lp);
    } else if (from_me) {
        /* Replying to my own message (in Sent): continue to its recipients. */
        add_addresses(&tol, &seen, to, me, false);
        if (mode == REPLY_ALL)
            add_addresses(&ccl, &seen, cc, me, true);
    } else {
        add_addresses(&tol, &seen, reply_to ? reply_to : from, me, false);
        if (mode == REPLY_ALL) {
            add_addresses(&tol, &seen, to, me, true);
            add_addresses(&ccl, &seen, cc, me, true);
        }
    }
    d->to = take(&tol);
    d->cc = take(&ccl);
    buf_free(&seen);
    free(from), free(reply_to), free(to), free(cc);
    return rc;
}

/* "Re: subject" unless it already is a reply ("Re:", "RE:", "Aw:", "Sv:" ...). */
static char *prefixed_subject(const char *subject, const char *prefix)
{
    static const char *const reply_words[] = { "re:", "aw:", "sv:", "vs:", "antw:", "réf:" };
    static const char *const fwd_words[] = { "fwd:", "fw:", "wg:", "tr:", "rv:" };
    const char *const *words = prefix[0] == 'R' ? reply_words : fwd_words;
    size_t nwords = prefix[0] == 'R' ? 6 : 5;
    struct buf b = BUF_INIT;
    const char *s = subject ? subject : "";

    while (*s == ' ')
        s++;
    for (size_t i = 0; i < nwords; i++)
        if (str_casestartswith(s, words[i]))
            return xstrdup(s);
    buf_printf(&b, "%s: %s", prefix, s);
    return buf_detach(&b);
}

static void threading(const char *msg, size_t hlen, struct draft *d)
{
    struct hdr_field f;
    char *id = hdr_find(msg, hlen, "Message-ID", &f) ? hdr_msgid(f.value, f.value_len) : NULL;
    char **refs = NULL;
    size_t n = 0, first;
    struct buf b = BUF_INIT;

    if (id == NULL)
        return;
    if (hdr_find(msg, hlen, "References", &f))
        n = hdr_msgids(f.value, f.value_len, &refs);
    else if (hdr_find(msg, hlen, "In-Reply-To", &f))
        n = hdr_msgids(f.value, f.value_len, &refs);
    /* Keep the thread's root and the most recent ancestors. */
    first = n + 1 > MAX_REFERENCES ? n + 1 - MAX_REFERENCES + 1 : 1;
    for (size_t i = 0; i < n; i++)
        if (i == 0 || i >= first)
            buf_printf(&b, "%s<%s>", b.len ? " " : "", refs[i]);
    buf_printf(&b, "%s<%s>", b.len ? " " : "", id);
    d->references = buf_detach(&b);
    buf_printf(&b, "<%s>", id);
    d->in_reply_to = buf_detach(&b);
    hdr_msgids_free(refs, n);
    free(id);
}

/* The message's text as the pager shows it, without headers or the attachment list. */
static void body_text(const char *msg, size_t len, const struct crypt_opts *co, struct buf *out,
                      struct buf *prot)
{
    struct render_opts o = { .no_headers = true, .no_attachments = true, .crypt = co,
                           .crypt_quiet = true, .protected_out = prot };
    struct err e;

    render_message(msg, len, &o, out, &e);
}

/* Quote text line by line, up to the signature separator and without trailing blank lines. */
static void quote_text(const char *s, size_t n, struct buf *out)
{
    size_t end = 0;

    for (size_t i = 0; i < n;) {
        const char *nl = memchr(s + i, '\n', n - i);
        size_t len = nl ? (size_t)(nl - (s + i)) : n - i;

        if (len == 3 && memcmp(s + i, "-- ", 3) == 0)
            break;
        for (size_t k = 0; k < len; k++)
            if (s[i + k] != ' ' && s[i + k] != '\t') {
                end = i + len;
                break;
            }
        i += len + 1;
    }
    for (size_t i = 0; i < end;) {
        const char *nl = memchr(s + i, '\n', end - i);
        size_t len = nl ? (size_t)(nl - (s + i)) : end - i;

        buf_adds(out, len == 0 ? ">" : s[i] == '>' ? ">" : "> ");
        buf_add(out, s + i, len);
        buf_addc(out, '\n');
        i += len + 1;
    }
}

static void attribution(const char *msg, size_t hlen, struct buf *out)
{
    static const char days[][4] = { "Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat" };
    static const char months[][4] = { "Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                      "Jul", "Aug", "Sep", "Oct", "Nov", "Dec" };
    struct hdr_field f;
    char *who = hdr_find(msg, hlen, "From", &f) ? addr_display(f.value, f.value_len) : NULL;
    time_t t;

    if (hdr_find(msg, hlen, "Date", &f) && hdr_parse_date(f.value, f.value_len, &t) == 0) {
        struct tm tm;
        localtime_r(&t, &tm);
        buf_printf(out, "On %s, %d %s %d %02d:%02d, ", days[tm.tm_wday], tm.tm_mday,
                   months[tm.tm_mon], tm.tm_year + 1900, tm.tm_hour, tm.tm_min);
    }
    if (who && *who)
        buf_printf(out, "%s wrote:\n", who);
    else
        buf_adds(out, out->len ? "someone wrote:\n" : "Someone wrote:\n");
    free(who);
}

int reply_draft(const char *msg, size_t len, enum reply_mode mode, const struct identity *me,
                struct draft *d, struct err *e)
{
    size_t hlen = hdr_block_len(msg, len);
    char *subject = NULL;
    struct buf text = BUF_INIT, prot = BUF_INIT;

    if (reply_recipients(msg, hlen, mode, me, d, e) < 0)
        return -1;
    /* the text first: decrypting it may bring the real (protected) Subject */
    body_text(msg, len, me->crypt, &text, &prot);
    if (prot.len)
        subject = hdr_get(prot.ptr, prot.len, "Subject");
    if (subject == NULL)
        subject = hdr_get(msg, hlen, "Subject");
    d->from = me->from ? xstrdup(me->from) : NULL;
    d->subject = prefixed_subject(subject, "Re");
    threading(msg, hlen, d);
    attribution(msg, hlen, &d->body);
    quote_text(text.ptr ? text.ptr : "", text.len, &d->body);
    buf_adds(&d->body, "\n");
    if (text.ptr)
        memset(text.ptr, 0, text.cap);
    buf_free(&text);
    buf_free(&prot);
    free(subject);
    return 0;
}

static void forwarded_summary(const char *msg, size_t hlen, struct buf *out)
{
    static const char *const names[] = { "From", "Date", "Subject", "To", "Cc" };

    buf_adds(out, "\n\n---------- Forwarded message ----------\n");
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        char *v = hdr_get(msg, hlen, names[i]);
        if (v && *v)
            buf_printf(out, "%s: %s\n", names[i], v);
        free(v);
    }
    buf_addc(out, '\n');
}

int forward_draft(const char *msg, size_t len, bool as_attachment, const struct identity *me,
                  struct draft *d, struct err *e)
{
    size_t hlen = hdr_block_len(msg, len);
    char *subject = hdr_get(msg, hlen, "Subject");

    d->from = me->from ? xstrdup(me->from) : NULL;
    d->subject = prefixed_subject(subject, "Fwd");
    if (as_attachment) {
        struct buf name = BUF_INIT;
        char *safe;

        buf_printf(&name, "%s.eml", subject && *subject ? subject : "message");
        safe = render_safe_filename(name.ptr);
        draft_attach_data(d, safe ? safe : "message.eml", "message/rfc822", msg, len);
        free(safe);
        buf_free(&name);
    } else {
        struct render_attachment *att;
        size_t natt = render_attachments(msg, len, &att);

        forwarded_summary(msg, hlen, &d->body);
        body_text(msg, len, me->crypt, &d->body, NULL);
        for (size_t i = 0; i < natt; i++) {
            struct buf data = BUF_INIT;
            char *fname = NULL;

            if (att[i].inline_shown)
                continue;
            if (render_part(msg, len, att[i].number, &data, &fname, e) == 0)
                draft_attach_data(d, fname ? fname : "attachment", att[i].type,
                                  data.ptr ? data.ptr : "", data.len);
            free(fname);
            buf_free(&data);
        }
        render_attachments_free(att, natt);
    }
    free(subject);
    return 0;
}

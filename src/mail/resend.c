/* Bouncing a received message: a Resent-* block over the original, which is left as it was. */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "tern/build.h"
#include "tern/header.h"
#include "tern/resend.h"
#include "tern/str.h"

/* Fields that described the original's delivery or an mbox copy, not the message. */
static bool dropped_field(const struct hdr_field *f)
{
    static const char *const names[] = { "Return-Path", "Bcc", "Status", "X-Status",
                                         "Content-Length", "Lines" };

    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (f->name_len == strlen(names[i]) && str_ncasecmp(f->name, names[i], f->name_len) == 0)
            return true;
    return false;
}

static void copy_original(const char *msg, size_t n, size_t hlen, struct buf *out)
{
    size_t pos = 0, copied = 0;
    struct hdr_field f;

    /* hdr_next leaves pos at the line after the field, continuation lines included. */
    while (hdr_next(msg, hlen, &pos, &f) == 1) {
        if (!dropped_field(&f))
            continue;
        buf_add(out, msg + copied, (size_t)(f.name - (msg + copied)));
        copied = pos;
    }
    buf_add(out, msg + copied, n - copied);
}

int resend_build(const char *msg, size_t n, const char *from, const char *to, time_t t,
                 const char *msgid_domain, struct buf *out, struct err *e)
{
    size_t hlen = hdr_block_len(msg, n);
    size_t start = out->len;

    if (hlen == 0)
        return err_set(e, ERR_PARSE, "the message has no header to bounce");
    buf_adds(out, "Resent-Date: ");
    build_date(out, t);
    buf_addc(out, '\n');
    if (build_header_addresses(out, "Resent-From", from, e) < 0 ||
        build_header_addresses(out, "Resent-To", to, e) < 0) {
        buf_truncate(out, start);
        return -1;
    }
    char *id = build_message_id(msgid_domain);
    buf_printf(out, "Resent-Message-ID: %s\n", id);
    free(id);
    copy_original(msg, n, hlen, out);
    return 0;
}

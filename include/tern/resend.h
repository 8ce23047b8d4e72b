/* Bouncing (remailing) a received message to new recipients with Resent-* fields. */
#ifndef TERN_RESEND_H
#define TERN_RESEND_H

#include <stddef.h>
#include <time.h>

#include "tern/buf.h"
#include "tern/err.h"

/*
 * The message as it goes out when bounced (RFC 5322 3.6.6): a block of Resent-Date,
 * Resent-From, Resent-To and Resent-Message-ID on top, then the original header and body
 * byte for byte, less what belonged to its own delivery or to an mbox (Return-Path, Bcc,
 * Status, X-Status, Content-Length, Lines). from and to are UTF-8 address lists as the user
 * typed them (display names encoded as needed); msgid_domain may be NULL (the host name).
 * ERR_PARSE when from or to holds no valid address, or msg has no header block.
 */
int resend_build(const char *msg, size_t n, const char *from, const char *to, time_t t,
                 const char *msgid_domain, struct buf *out, struct err *e);

#endif

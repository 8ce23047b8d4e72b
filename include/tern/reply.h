/* Drafts made from a message: reply, reply to all, reply to the list, forward. */
#ifndef TERN_REPLY_H
#define TERN_REPLY_H

#include <stdbool.h>
#include <stddef.h>

#include "tern/build.h"
#include "tern/crypt.h"
#include "tern/err.h"

enum reply_mode { REPLY_SENDER, REPLY_ALL, REPLY_LIST };

/* Who "I" am: the sender to use and every address of the user (to leave out of replies). */
struct identity {
    const char *from;            /* "Name <me@example.org>" */
    const char *const *own;      /* mailboxes of the user, any case */
    size_t nown;
    const struct crypt_opts *crypt;  /* quote decrypted text (see render_opts); NULL: don't */
};

/*
 * Fill d (initialised by the caller) with a reply to msg: recipients by mode (Reply-To, else
 * From; all adds To and Cc without the user's own addresses and duplicates; list uses
 * List-Post), "Re: " subject, In-Reply-To and References, and the decoded text quoted with
 * "> " under "On DATE, NAME wrote:" with the quoted signature removed. ERR_PARSE when a
 * list reply finds no List-Post.
 */
int reply_draft(const char *msg, size_t len, enum reply_mode mode, const struct identity *me,
                struct draft *d, struct err *e);
/*
 * Fill d with a forward of msg: "Fwd: " subject; inline (the original's header summary and
 * text in the body, its attachments attached again) or as one message/rfc822 attachment.
 */
int forward_draft(const char *msg, size_t len, bool as_attachment, const struct identity *me,
                  struct draft *d, struct err *e);

#endif

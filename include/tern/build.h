/*
 * Outgoing messages: a draft (decoded UTF-8 headers, body text, attachments) becomes a correct
 * RFC 5322/MIME message, and the editable text form of a draft is written and read back.
 */
#ifndef TERN_BUILD_H
#define TERN_BUILD_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "tern/buf.h"
#include "tern/err.h"

struct attachment {
    char *path;                  /* the file to read at build time (NULL: data is set) */
    char *name;                  /* the name shown to the recipient (UTF-8) */
    char *type;                  /* MIME type; NULL: guessed from the name */
    struct buf data;             /* contents when there is no path (forwarded parts) */
};

struct draft {
    char *from, *to, *cc, *bcc, *reply_to, *subject;   /* UTF-8, as the user wrote them */
    char *in_reply_to, *references;                    /* "<id>" lists, ASCII */
    char *message_id;            /* kept across edits; NULL: made at build time */
    struct buf body;             /* UTF-8 text, LF line ends */
    struct attachment *att;
    size_t natt;
};

struct build_opts {
    time_t date;                 /* 0: now */
    const char *domain;          /* for Message-ID; NULL: taken from From */
    bool allow_8bit;             /* the server offers 8BITMIME: UTF-8 text may go as 8bit */
    bool keep_bcc;               /* the copy kept in Sent/Drafts; never for transmission */
    bool flowed;                 /* text/plain; format=flowed */
};

void draft_init(struct draft *d);
void draft_free(struct draft *d);
/* Add an attachment read from path at build time; name defaults to the path's last part. */
void draft_attach_file(struct draft *d, const char *path, const char *name);
/* Attach bytes already in memory. */
void draft_attach_data(struct draft *d, const char *name, const char *type, const void *p,
                       size_t n);
/* Remove attachment i. */
void draft_detach(struct draft *d, size_t i);

/* The whole message, LF line ends. Errors: an unreadable attachment (ERR_SYS), an address
 * header that does not parse (ERR_PARSE). */
int build_message(const struct draft *d, const struct build_opts *o, struct buf *out,
                  struct err *e);

/* The file the user edits: the editable headers, a blank line, the body. */
void draft_to_text(const struct draft *d, struct buf *out);
/* Read an edited file back into d (headers replaced, body replaced; attachments kept). A
 * line in the header part that is not "Name: value" is ERR_PARSE naming the line. */
int draft_from_text(struct draft *d, const char *text, size_t n, struct err *e);

/* Pieces, exposed for the queue, `tern send` and the tests. */
/* "Name: value" with RFC 2047 encoded words where the value is not ASCII, folded at 78. */
void build_header_text(struct buf *out, const char *name, const char *utf8);
/* An address header: display names quoted or encoded as needed, folded. */
int build_header_addresses(struct buf *out, const char *name, const char *utf8,
                           struct err *e);
/* "<random.time@domain>" */
char *build_message_id(const char *domain);
/* RFC 5322 date in local time, English names whatever the locale. */
void build_date(struct buf *out, time_t t);
/*
 * Make a finished message fit SMTP (RFC 5321 4.5.3.1.6, RFC 6152): when a line is over 998
 * octets, a NUL is present, or 8-bit data is there and !allow_8bit, every part that breaks the
 * wire is re-encoded (text quoted-printable, anything else base64; Content-Transfer-Encoding
 * replaced, MIME-Version and Content-Type added when missing) and long header lines folded.
 * 0: nothing to do (out untouched); 1: out holds the new message; -1 (ERR_PERM) when what
 * breaks the wire is outside any part or the MIME structure is too broken to rewrite.
 */
int build_wire_safe(const char *msg, size_t n, bool allow_8bit, struct buf *out,
                    struct err *e);
/*
 * The top-level header made 7-bit for a server without SMTPUTF8 (RFC 2047 section 5): an
 * unstructured field with 8-bit bytes (Subject, Comments, Keywords, X- and unknown fields) is
 * rewritten whole-word with UTF-8 encoded words, folded at 78 (bytes that are not valid UTF-8
 * are read as Windows-1252, as ew_decode does; encoded words already there are decoded and
 * encoded again); in an 8-bit address field only the display names become encoded words.
 * ASCII fields are copied untouched. 0: nothing to do (also for text without any field: no
 * header); 1: out holds the message; -1 (ERR_PERM naming the field) for an 8-bit address, an
 * 8-bit field where no encoded word is allowed (Message-ID, Date, Received, Content-Type...),
 * an 8-bit field name or line that is no field.
 */
int build_wire_headers(const char *msg, size_t n, struct buf *out, struct err *e);
/* MIME type from a file name's extension; application/octet-stream when unknown. */
const char *build_mime_type(const char *name);

#endif

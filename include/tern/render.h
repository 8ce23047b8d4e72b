/*
 * Rendering for the pager and `tern show`: a header block and the body as sanitised UTF-8
 * text, the attachment list, part extraction, HTML to text, and terminal width helpers.
 * Everything rendering emits is safe to write to a terminal: no C0/C1 controls except tab
 * and newline, no escape sequences, no invalid UTF-8.
 */
#ifndef TERN_RENDER_H
#define TERN_RENDER_H

#include <stdbool.h>
#include <stddef.h>

#include "tern/buf.h"
#include "tern/crypt.h"
#include "tern/err.h"

struct render_opts {
    bool all_headers;     /* every header field, decoded, in message order */
    bool no_headers;      /* body only (e.g. for quoting in a reply) */
    bool prefer_html;     /* in multipart/alternative show the HTML part (converted) */
    bool no_attachments;  /* leave out the attachment list */
    int width;            /* wrap converted HTML at this many columns; 0 means 78 */
    /* Header weeding (mailx ignore/retain): when set and all_headers is not, the fields
     * it accepts are shown in message order instead of the five default ones. */
    bool (*header_shown)(const void *arg, const char *name, size_t len);
    const void *header_arg;
    /* Check signatures and decrypt (PGP/MIME, inline PGP, S/MIME) with these keys, one
     * verdict line per signature, parts outside an envelope marked; NULL: leave signed and
     * encrypted parts as they are (no gpg, no keys). */
    const struct crypt_opts *crypt;
    bool crypt_quiet;     /* decrypt, but without verdict and envelope lines (for quoting) */
    struct buf *protected_out;  /* when set: receives the protected header block, if any */
    /* With crypt: what is decrypted is kept here, and what is here is not decrypted again
     * (render_keep_new). */
    struct render_keep *keep;
};

/*
 * What was decrypted for one message while it is shown (the pager) or for one command: each
 * envelope (PGP/MIME multipart/encrypted, S/MIME application/pkcs7-mime) opened once, its
 * content, verdicts and parsed tree kept in memory, so that rendering again, listing the
 * parts and saving one decrypt nothing again. A failure is kept too (the numbers must not
 * change between two renders). The parts of an envelope are numbered after the message's
 * own, and after earlier envelopes' (in the order the render meets them). Belongs to the
 * one tree it was used with (envelopes are known by their part's address); the content is
 * wiped when it is freed.
 */
struct render_keep;
struct render_keep *render_keep_new(void);
void render_keep_free(struct render_keep *k);
/* Open every envelope that rendering t with o shows (o->crypt and o->keep set), as
 * render_message_tree would, without output. */
struct mime_tree;
void render_keep_open(const struct mime_tree *t, const struct render_opts *o);

/*
 * Render msg[0..len) into out (appended): the header block (From, To, Cc, Date in local
 * time, Subject; or all fields), a blank line, the body text (text/plain preferred in
 * multipart/alternative, HTML converted when it is the only text, message/rfc822 parts
 * inline), then "[-- Attachments --]" with one line per other part:
 *   "  [N] type/subtype, name, SIZE" (name "(no name)" when absent).
 * o may be NULL for defaults. Returns 0; -1 only for impossible input (never so far),
 * with e filled. out is always sanitised.
 */
int render_message(const char *msg, size_t len, const struct render_opts *o, struct buf *out,
                   struct err *e);

/* The same over a tree the caller parsed (and keeps: the pager re-renders from it). */
int render_message_tree(const struct mime_tree *t, const struct render_opts *o,
                        struct buf *out, struct err *e);

struct render_attachment {
    int number;           /* for render_part / `tern show --part N` */
    char *type;           /* lower case type/subtype, sanitised */
    char *name;           /* sanitised file name, path stripped; NULL if none */
    size_t size;          /* decoded size in bytes */
    bool inline_shown;    /* its text is part of the rendered body */
    enum { RENDER_OWN, RENDER_IN_ENCRYPTED, RENDER_IN_SIGNED } inside;  /* RENDER_OWN: a part
                             of the message itself; else from inside an envelope, in memory */
};

/* Every non-multipart part of the message (including the ones shown inline), in order;
 * with k (may be NULL), then every part of the envelopes k holds, numbered as the render
 * that filled k numbered them, and not the parts of an envelope k holds opened (its
 * ciphertext: still there by number, as in render_part). Free with
 * render_attachments_free. Returns the count. */
size_t render_attachments(const char *msg, size_t len, struct render_attachment **out);
size_t render_attachments_tree(const struct mime_tree *t, const struct render_keep *k,
                               struct render_attachment **out);
void render_attachments_free(struct render_attachment *a, size_t n);

/*
 * The decoded bytes of part number num (as in render_attachments) appended to out, and, in
 * *name (if not NULL), its file name made safe for saving: directory parts, leading dots
 * and control characters removed; NULL if the message gave none. 0, or -1 (ERR_PARSE) when
 * there is no such part.
 */
int render_part(const char *msg, size_t len, int num, struct buf *out, char **name,
                struct err *e);
int render_part_tree(const struct mime_tree *t, const struct render_keep *k, int num,
                     struct buf *out, char **name, struct err *e);
/* Part num of t or of an envelope in k (may be NULL), or NULL. Borrowed from t or k. */
const struct mime_part *render_find_part(const struct mime_tree *t,
                                         const struct render_keep *k, int num);

/* Make any bytes safe for the terminal (see codec_sanitize), keeping tab and newline. */
void render_sanitize(const char *s, size_t n, struct buf *out);
/* HTML to plain text (paragraphs, breaks, lists, blockquotes, links as [n] footnotes,
 * entities; scripts, styles and comments dropped), wrapped at width (0: 78). Appends
 * UTF-8 (not yet sanitised) to out. */
void render_html(const char *html, size_t n, int width, struct buf *out);

/* Terminal columns of UTF-8 text (wide characters 2, combining 0, invalid bytes 1). */
size_t render_width(const char *s, size_t n);
/* How many bytes of s fit in cols columns without splitting a character (combining marks
 * stay with their base). */
size_t render_fit(const char *s, size_t n, size_t cols);
/* Append s cut to cols columns and padded with spaces to exactly cols columns. */
void render_pad(const char *s, size_t n, size_t cols, struct buf *out);
/* A file name from a message made safe: no directories, no leading dots, no controls;
 * NULL if nothing is left. New string. */
char *render_safe_filename(const char *name);

#endif

/* The MIME tree of a message held in memory: parts point into the caller's buffer, nothing
 * is copied until a part is decoded. Hard caps keep hostile input bounded. */
#ifndef TERN_MIME_H
#define TERN_MIME_H

#include <stdbool.h>
#include <stddef.h>

#include "tern/buf.h"

#define MIME_MAX_DEPTH 100      /* nesting of multipart and message/rfc822 */
#define MIME_MAX_PARTS 10000

enum mime_enc { MIME_7BIT, MIME_8BIT, MIME_BINARY, MIME_QP, MIME_BASE64, MIME_UNKNOWN_ENC };

/* Lenient parses worth knowing about (tree flags). */
#define MIME_F_CAPPED      0x01  /* depth or part cap reached: the rest is one opaque part */
#define MIME_F_NO_CLOSE    0x02  /* a multipart without its closing delimiter */
#define MIME_F_GUESSED     0x04  /* boundary missing or wrong: guessed from the body */
#define MIME_F_NO_BOUNDARY 0x08  /* multipart with no usable boundary: shown as text */

struct mime_part {
    const char *hdr;          /* header block of the part (borrowed), may be empty */
    size_t hdr_len;
    const char *body;         /* raw, still transfer-encoded body (borrowed) */
    size_t body_len;
    char *type;               /* lower case "type/subtype", never NULL */
    char *charset;            /* charset parameter or NULL */
    char *filename;           /* decoded, from Content-Disposition or Content-Type name; NULL */
    enum mime_enc enc;
    bool attachment;          /* Content-Disposition: attachment */
    bool flowed, delsp;       /* format=flowed; delsp=yes */
    int depth;                /* 0 for the message itself */
    int parent;               /* index of the parent part, -1 for the root */
    int nchildren;
    int number;               /* 1-based number among non-multipart parts, 0 for containers */
};

/* Parts in document order (pre-order); parts[0] is the message itself. */
struct mime_tree {
    struct mime_part *parts;
    size_t n;
    int flags;                /* MIME_F_* */
};

/* Build the tree over msg[0..len). Never fails: garbage gives a single text/plain part.
 * msg must outlive the tree. */
void mime_parse(const char *msg, size_t len, struct mime_tree *t);
void mime_free(struct mime_tree *t);
/* True for multipart/ parts (which have children). */
bool mime_is_multipart(const struct mime_part *p);
/* Append the transfer-decoded bytes of a part. */
void mime_decode(const struct mime_part *p, struct buf *out);
/* Decoded size without keeping the bytes. */
size_t mime_decoded_size(const struct mime_part *p);
/* Append the part as UTF-8 text: transfer-decoded, charset-converted (with fallback),
 * CRLF turned into LF, format=flowed undone. Not sanitised. */
void mime_text(const struct mime_part *p, struct buf *out);
/* Index in t->parts of the part numbered num (mime_part.number), or -1. */
int mime_find_number(const struct mime_tree *t, int num);

#endif

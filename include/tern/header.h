/*
 * RFC 5322 header blocks: fields as borrowed pointers into the caller's buffer (no copies),
 * unfolding and decoding on demand, address lists, dates and message ids. Every function
 * accepts arbitrary bytes (malformed, 8-bit, NUL) and degrades instead of failing.
 */
#ifndef TERN_HEADER_H
#define TERN_HEADER_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "tern/buf.h"

/* Length of the header block including the blank line that ends it (or the whole buffer).
 * Both LF and CRLF line ends are accepted; a line of only spaces and tabs counts as blank. */
size_t hdr_block_len(const char *msg, size_t len);

/* Borrowed pointers into the buffer; value is raw (still folded), leading white space after
 * the colon skipped, the final line end excluded. */
struct hdr_field {
    const char *name;
    size_t name_len;
    const char *value;
    size_t value_len;
};

/* hdr_block_len, and in the same pass the first field called names[k] (case-insensitive)
 * into found[k] (name NULL when absent). Fastest when the names share their first letter
 * (as Content-Type, Content-Transfer-Encoding and Content-Disposition). */
size_t hdr_block_find(const char *msg, size_t len, const char *const *names, size_t n,
                      struct hdr_field *found);

/* The longest field value any reader sees (1 MiB): longer values are cut there (see
 * doc/LENIENCY.md), so a huge header line costs memory in proportion to the cap only. */
#define HDR_VALUE_MAX (1024 * 1024)

/* Iterate fields: *pos starts at 0; returns 1 and fills f, or 0 at the end of the block.
 * hdrs may be the whole message: iteration stops at the blank line. Lines that are not
 * fields (no colon, a space in the name, a continuation with no field) are skipped. */
int hdr_next(const char *hdrs, size_t len, size_t *pos, struct hdr_field *f);
/* hdr_next that also tells where the block ends: when it returns 0, *block is the block's
 * length through its blank line, or 0 when the buffer ends first (a block not read whole:
 * its last field may be cut). One pass where hdr_block_len and then hdr_next take two. */
int hdr_next_end(const char *hdrs, size_t len, size_t *pos, struct hdr_field *f,
                 size_t *block);
/* First field called name (case-insensitive); 1 found, 0 not. */
int hdr_find(const char *hdrs, size_t len, const char *name, struct hdr_field *f);

/* Unfolded, RFC 2047-decoded, UTF-8, control-free value as a new string (free it).
 * Tabs become spaces, other controls are shown as ^X, invalid UTF-8 is read as
 * Windows-1252, leading and trailing white space is trimmed. Never NULL. */
char *hdr_decode(const char *value, size_t len);
/* hdr_decode of the first field called name, or NULL when there is none. */
char *hdr_get(const char *hdrs, size_t len, const char *name);
/* An address field for display and editing: the RAW value is split into addresses first and
 * only then each display name decoded, so that an encoded word never yields an address
 * ("=?utf-8?b?...?= <bob@x>" whose text is "Eve <eve@y>,"). Items come back as
 * "Name <mailbox>" joined by ", "; a value without encoded words is hdr_decode'd. New string. */
char *addr_list_decode(const char *value, size_t len);
/* addr_list_decode of the first field called name, or NULL when there is none. Use it, not
 * hdr_get, for From, To, Cc, Bcc, Reply-To and Sender. */
char *hdr_get_addrs(const char *hdrs, size_t len, const char *name);
/* Unfold only: line breaks inside the value removed (the folding white space kept). New
 * string, raw bytes otherwise untouched. */
char *hdr_unfold(const char *value, size_t len);

/* Date header → time_t (UTC); 0 on success, -1 when unparsable. Accepts RFC 5322, obsolete
 * forms (two-digit years, zone names, no seconds, no zone = UTC), ctime and ISO 8601. */
int hdr_parse_date(const char *value, size_t len, time_t *out);

/* name: decoded UTF-8 display name or NULL; mailbox: "local@domain" (or what there was). */
struct addr {
    char *name;
    char *mailbox;
};
/* Parse an address list (groups flattened, comments used as names when there is no
 * phrase). Never fails on garbage: best effort, returns 0 and possibly *n == 0. Free the
 * result with addr_list_free. */
int addr_parse_list(const char *value, size_t len, struct addr **out, size_t *n);
void addr_list_free(struct addr *a, size_t n);
/* For list columns: display name of the first address if any, else its mailbox; for an
 * empty group ("undisclosed-recipients:;") the decoded value. New string, never NULL. */
char *addr_display(const char *value, size_t len);
/* The same from the list value parsed into a (its first name or mailbox is taken out of a,
 * so anything else wanted from a is taken first). */
char *addr_display_of(struct addr *a, size_t n, const char *value, size_t len);
/* The mailbox of the first address that has an '@', or NULL; new string. */
char *addr_first_mailbox(const char *value, size_t len);
/* The same from a parsed list: a pointer into a, or NULL. */
const char *addr_first_mailbox_of(const struct addr *a, size_t n);
/* Append "Name <mailbox>" to out, the name quoted when it holds specials (a comma, a dot...),
 * or the bare mailbox when name is NULL or empty: a ready item of an address header. */
void addr_format(struct buf *out, const char *name, const char *mailbox);
/* Append s as a quoted string: in double quotes, with '"' and '\\' escaped by a backslash. */
void addr_quote(struct buf *out, const char *s);
/*
 * Whether mailbox m has a character that bad(c, quoted) rejects, or leaves a quote open. The
 * walk knows a quoted local part ("a b"@x) and the escapes inside it (never passed to bad):
 * the one scan behind what composing refuses and what display distrusts in a parsed mailbox.
 */
bool addr_mailbox_bad(const char *m, bool (*bad)(char c, bool quoted));

/* The first "<id>" in a Message-ID value, without the brackets (a bare id@host is accepted
 * too). New string, or NULL when there is none. */
char *hdr_msgid(const char *value, size_t len);
/* Every id in a References or In-Reply-To value, in order, without brackets; phrases and
 * comments are skipped. *ids is a new array of new strings (free with hdr_msgids_free).
 * Returns the count. */
size_t hdr_msgids(const char *value, size_t len, char ***ids);
void hdr_msgids_free(char **ids, size_t n);

#endif

/*
 * The message the pager shows, without curses: its raw bytes and MIME tree, read and parsed
 * once when it is opened and kept while it is open, so that rendering (again, with all
 * headers), the attachment list, saving a part and the links all work from memory. Plus the
 * senders it teaches the address book, kept in memory and written later (learn_*).
 */
#ifndef TERN_MESSAGE_H
#define TERN_MESSAGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "tern/buf.h"
#include "tern/err.h"
#include "tern/render.h"

struct message;     /* opaque */

/* Larger files are shown cut at this size. */
#define MESSAGE_MAX_FILE (64u << 20)

/* Read the file at path (one read) and parse it (one parse). id is the caller's name for it
 * (the index's stable id). 0, or -1 with e filled. */
int message_open(const char *path, uint32_t id, struct message **out, struct err *e);
void message_close(struct message *msg);
uint32_t message_id(const struct message *msg);
const char *message_path(const struct message *msg);
/* The file was renamed (its flags changed): remember the new path. */
void message_set_path(struct message *msg, const char *path);
/* The raw bytes (borrowed). */
const char *message_raw(const struct message *msg, size_t *len);

/* The text for the pager (see render_message; o may be NULL), appended to out. With
 * o->crypt, what is decrypted stays with the message (in memory, wiped by message_close)
 * and is not decrypted again by the next render. */
int message_render(const struct message *msg, const struct render_opts *o, struct buf *out,
                   struct err *e);
/* The parts, as render_attachments; after a render with o->crypt also the parts inside
 * the envelopes it opened, with the numbers it showed. */
size_t message_attachments(const struct message *msg, struct render_attachment **out);
/* Part num's decoded bytes and safe file name, as render_part (a part from inside an
 * envelope too: the caller wipes out with crypt_wipe); *type (may be NULL) gets its
 * type (new string). 0, or -1 with e filled. */
int message_part(const struct message *msg, int num, struct buf *out, char **name,
                 char **type, struct err *e);

/*
 * The links in a rendered text (http://, https://, mailto:), in order of appearance, each
 * once, trailing punctuation left out. *out gets new strings (free with message_urls_free).
 */
size_t message_urls(const char *text, size_t len, char ***out);
void message_urls_free(char **urls, size_t n);

/* ---- learning addresses ---- */

struct learn;       /* addresses noted since the last flush */

/* Notes for the address book file at path (not read until learn_flush). */
struct learn *learn_new(const char *path);
void learn_free(struct learn *l);
/* Note the message's From and Reply-To addresses, seen at its Date. */
void learn_senders(struct learn *l, const struct message *msg);
/* Note an address header value seen at time t. */
void learn_note(struct learn *l, const char *value, time_t t);
size_t learn_pending(const struct learn *l);
/* Merge the notes into the file (read, note, atomic rewrite when changed) and forget them.
 * Nothing pending: nothing is touched. 0, or -1 with e filled (the notes are kept). */
int learn_flush(struct learn *l, struct err *e);

#endif

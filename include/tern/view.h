/*
 * Views over an index: the order of the messages (sort) and which of them are shown (limit
 * patterns). Threads, also a view, are in thread.h.
 */
#ifndef TERN_VIEW_H
#define TERN_VIEW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tern/err.h"
#include "tern/index.h"

enum idx_sort {
    IDX_SORT_DATE = 0,   /* Date header, then arrival */
    IDX_SORT_ARRIVAL,    /* file mtime, then name */
    IDX_SORT_FROM,       /* case-insensitive, then date */
    IDX_SORT_SUBJECT,    /* without Re:/Fwd: prefixes, case-insensitive, then date */
    IDX_SORT_SIZE,       /* then date */
};
/* "date", "arrival", "from", "subject", "size" (a leading '-' reverses); 0 or -1. */
int idx_sort_parse(const char *s, enum idx_sort *key, bool *reverse);

/* Positions into the index, in display order. */
struct idx_view {
    uint32_t *v;
    size_t n;
    size_t cap;
};
void idx_view_init(struct idx_view *v);
void idx_view_free(struct idx_view *v);
struct idx_limit;
/* Fill v with the messages that are not gone and match lim (NULL: all), sorted by key. */
void idx_view_build(const struct idx *x, struct idx_view *v, enum idx_sort key, bool reverse,
                    const struct idx_limit *lim);
/* Sort positions in place. */
void idx_sort(const struct idx *x, uint32_t *v, size_t n, enum idx_sort key, bool reverse);
/* The subject without leading "Re:", "Fwd:", "Fw:", "Aw:", "[list]" tags...; borrowed
 * pointer into s. */
const char *idx_subject_base(const char *s);

/*
 * A limit pattern: space-separated terms, all of which must match; a term starting with
 * '-' (or "!") is negated.
 *   WORD              in from, to or subject, names or addresses (a substring, compared
 *                     with full Unicode case folding and NFC on both sides: tern/fold.h)
 *   from:W to:W subject:W (also f: t: s:)   in that field only (from: and to: match the
 *                     display names and the mailboxes, to: also those of Cc)
 *   is:new  is:unread  is:seen  is:flagged  is:replied  is:passed  is:draft  is:trashed
 *   date:FROM..TO     dates as YYYY, YYYY-MM or YYYY-MM-DD (either side may be empty),
 *                     or Nd / Nw / Nm / Ny meaning that long ago ("date:7d.." = last week)
 *   body:W            in the decoded text parts of the message (QP/base64 undone, charset
 *                     converted; never in non-text parts); reads the files, on up to four
 *                     threads in idx_view_build
 * Quoting: "two words" is one term. A pattern whose first non-blank is ~ (or ! or ( before
 * one) is mutt's syntax instead, with regular expressions: tern/pattern.h.
 */
int idx_limit_compile(const char *pattern, struct idx_limit **out, struct err *e);
void idx_limit_free(struct idx_limit *l);
bool idx_limit_match(const struct idx *x, const struct idx_limit *l, size_t i);
/* What ~T (tagged) asks: the index knows no tags, its user (the client's model) does. */
void idx_limit_set_tagged(struct idx_limit *l, bool (*tagged)(void *arg, uint32_t id),
                          void *arg);

/* Compare two messages by key, then date, arrival and id (a total order; never reversed). */
int idx_msg_cmp(const struct idx_msg *a, const struct idx_msg *b, enum idx_sort key);

/*
 * The numbers the date order compares (date, arrival, id), copied beside a position: sorting
 * a large folder, or a million thread roots, then reads one array instead of chasing every
 * comparison into the entries. view_cmp_datekey is for qsort_r; its argument points to a
 * bool that reverses the order.
 */
struct view_datekey {
    int64_t date, mtime;
    uint32_t id, pos;
};
int view_cmp_datekey(const void *a, const void *b, void *reverse);
/* Sort n keys in that order (reversed when reverse): faster than qsort_r with
 * view_cmp_datekey, and on every core for a large folder. */
void view_sort_datekeys(struct view_datekey *k, size_t n, bool reverse);

#endif

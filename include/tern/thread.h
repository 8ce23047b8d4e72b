/*
 * Threads as a view over an index (JWZ's algorithm: Message-ID, References, In-Reply-To,
 * with a subject fallback for messages that lost their references).
 */
#ifndef TERN_THREAD_H
#define TERN_THREAD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tern/index.h"
#include "tern/view.h"

struct thread_row {
    uint32_t msg;       /* position in the index */
    uint32_t parent;    /* row number of the parent row, or UINT32_MAX for a root */
    uint32_t thread;    /* number of the thread (0, 1, ...) in display order */
    uint16_t depth;     /* 0 for a root */
    bool last;          /* last child of its parent (for drawing └ instead of ├) */
    bool fake_parent;   /* the real parent is missing: drawn as a sibling of its cousins */
};

struct thread_view {
    struct thread_row *rows;
    size_t n;
};

/*
 * Thread the messages at positions v[0..n) (e.g. a limited view). Threads are ordered by
 * key applied to their newest message (reverse as asked); messages within a thread by date.
 */
void thread_build(const struct idx *x, const uint32_t *v, size_t n, enum idx_sort key,
                  bool reverse, struct thread_view *out);
void thread_view_free(struct thread_view *tv);
/*
 * The tree drawing for row r ("" for a root, else e.g. "│ ├─>"), UTF-8, appended to out
 * as a NUL-terminated string in at most outsz bytes (cut when deeper). Returns out.
 */
char *thread_prefix(const struct thread_view *tv, size_t r, char *out, size_t outsz);

#endif

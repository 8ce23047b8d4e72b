/*
 * Case-insensitive matching for searches: full Unicode case folding and NFC normalisation on
 * both sides (libunistring), so that "иван" finds "Иван", "MÜLLER" finds "Müller" (also when
 * written with a combining diaeresis), "strasse" finds "Straße" and σ, ς and Σ are one letter.
 * The word is folded once; text that is plain ASCII is compared without folding.
 */
#ifndef TERN_FOLD_H
#define TERN_FOLD_H

#include <stdbool.h>
#include <stddef.h>

#include "tern/buf.h"

/* A search word, folded. */
struct fold_word {
    char *s;        /* folded, NUL-terminated */
    size_t n;
    bool ascii;     /* s is plain ASCII (it can then only match where the text folds to it) */
    unsigned risky; /* for an ASCII word: which of the few non-ASCII characters that fold or
                     * normalise to ASCII (K, ſ, İ, ß, ﬁ...) give a byte of the word */
};

void fold_word_init(struct fold_word *w, const char *word);
void fold_word_free(struct fold_word *w);
/* Replace out's content with s folded (UTF-8 in and out; invalid bytes are kept as they are
 * when the text cannot be folded). */
void fold_text(const char *s, size_t n, struct buf *out);
/* Whether the n bytes at hay contain w; scratch is a buffer reused across calls. */
bool fold_has(const struct fold_word *w, const char *hay, size_t n, struct buf *scratch);
/* What the raw bytes of a text say about an ASCII word (w->ascii), without decoding them:
 * FOLD_YES: they hold it (ASCII case ignored) followed by an ASCII byte or the end, so it
 * matches once the text is converted to UTF-8 and folded, whatever ASCII-compatible charset
 * the bytes are in; FOLD_NO: no such occurrence at all, even one followed by a non-ASCII byte
 * (which could be a combining mark that NFC composes with the word's last letter); FOLD_MAYBE:
 * only such occurrences. */
enum fold_scan { FOLD_NO, FOLD_YES, FOLD_MAYBE };
enum fold_scan fold_scan_ascii(const struct fold_word *w, const char *hay, size_t n);
/* The first match of w in hay: its start, and its length in hay in *len; NULL when none.
 * For highlighting (slower than fold_has on non-ASCII text). */
const char *fold_find(const struct fold_word *w, const char *hay, size_t n, size_t *len);
/* The characters outside ASCII that fold or normalise to ASCII bytes: how many, and the k-th
 * as UTF-8 with those bytes in *ascii (for the test that checks the list). */
size_t fold_risky_count(void);
const char *fold_risky(size_t k, const char **ascii);
/* n bytes at s are all ASCII. */
bool fold_is_ascii(const char *s, size_t n);

#endif

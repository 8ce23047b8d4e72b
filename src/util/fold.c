/* Unicode-aware case-insensitive matching: libunistring's u8_casefold (NFC) with an ASCII
 * fast path, since most header text and most search words are plain ASCII. */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unicase.h>
#include <unictype.h>
#include <uninorm.h>

#include "tern/buf.h"
#include "tern/fold.h"
#include "tern/str.h"
#include "tern/xalloc.h"

static inline unsigned char lower(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') ? (unsigned char)(c + ('a' - 'A')) : c;
}

bool fold_is_ascii(const char *s, size_t n)
{
    size_t i = 0;

    for (; i + 8 <= n; i += 8) {
        uint64_t w;

        memcpy(&w, s + i, 8);
        if (w & 0x8080808080808080ull)
            return false;
    }
    for (; i < n; i++)
        if ((unsigned char)s[i] & 0x80)
            return false;
    return true;
}

/*
 * Could NFC change this text? Only when it holds combining marks (U+0300-U+036F and the
 * other combining blocks), Hangul jamo, kana voicing marks or CJK compatibility
 * ideographs; NFC leaves other text as it is. Normalising is most of the cost of folding,
 * so text without them (nearly all names and subjects) is folded without it.
 */
static bool may_need_nfc(const unsigned char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        unsigned char c = s[i];

        if (c < 0xcc)
            continue;
        if (c == 0xcc || c == 0xcd)
            return true;                                        /* U+0300-U+037F */
        if (i + 2 < n && c == 0xe1 && (s[i + 1] >= 0x84 && s[i + 1] <= 0x87))
            return true;                                        /* Hangul jamo */
        if (i + 2 < n && c == 0xe1 && s[i + 1] >= 0xaa && s[i + 1] <= 0xb7)
            return true;                            /* U+1AB0-U+1DFF combining marks */
        if (i + 2 < n && c == 0xe2 && s[i + 1] == 0x83 && s[i + 2] >= 0x90)
            return true;                                        /* U+20D0-U+20FF */
        if (i + 2 < n && c == 0xe3 && s[i + 1] == 0x82 && (s[i + 2] == 0x99 || s[i + 2] == 0x9a))
            return true;                                        /* kana voicing */
        if (i + 2 < n && c == 0xef && ((s[i + 1] >= 0xa4 && s[i + 1] <= 0xab) ||
                                       (s[i + 1] == 0xb8 && s[i + 2] >= 0xa0 && s[i + 2] <= 0xaf)))
            return true;                    /* compatibility ideographs, U+FE20-U+FE2F */
        if (c >= 0xf0)
            return true;                    /* beyond the BMP: let NFC decide */
    }
    return false;
}

void fold_text(const char *s, size_t n, struct buf *out)
{
    uint8_t *r;
    size_t len;
    bool nfc = may_need_nfc((const unsigned char *)s, n);

    buf_reset(out);
    if (fold_is_ascii(s, n)) {
        buf_reserve(out, n + 1);
        for (size_t i = 0; i < n; i++)
            out->ptr[i] = (char)lower((unsigned char)s[i]);
        out->len = n;
        out->ptr[n] = '\0';
        return;
    }
    /* folding can grow the text (ß -> ss, ŉ -> ʼn): let libunistring use our buffer when
     * it is large enough, else take what it allocates */
again:
    buf_reserve(out, n * 2 + 16);
    len = out->cap - 1;
    r = u8_casefold((const uint8_t *)s, n, NULL, nfc ? UNINORM_NFC : NULL, (uint8_t *)out->ptr,
                    &len);
    if (r != NULL && !nfc && may_need_nfc(r, len)) {
        /* folding made marks (İ -> i + U+0307): normalise after all */
        if ((char *)r != out->ptr)
            free(r);
        nfc = true;
        goto again;
    }
    if (r == NULL) {           /* invalid UTF-8: fold the ASCII letters only */
        for (size_t i = 0; i < n; i++)
            out->ptr[i] = (char)lower((unsigned char)s[i]);
        out->len = n;
    } else if ((char *)r != out->ptr) {
        buf_add(out, r, len);
        free(r);
    } else {
        out->len = len;
    }
    out->ptr[out->len] = '\0';
}

void fold_word_init(struct fold_word *w, const char *word)
{
    struct buf b = BUF_INIT;

    fold_text(word, strlen(word), &b);
    w->n = b.len;
    w->s = b.ptr ? buf_detach(&b) : xstrdup("");
    w->ascii = fold_is_ascii(w->s, w->n);
}

void fold_word_free(struct fold_word *w)
{
    free(w->s);
    w->s = NULL;
    w->n = 0;
}

/* w (ASCII, folded) in ASCII text, comparing the text lowercased. */
static const char *ascii_find(const struct fold_word *w, const char *hay, size_t n)
{
    const unsigned char *h = (const unsigned char *)hay, *s = (const unsigned char *)w->s;
    unsigned char c0 = s[0], u0 = (c0 >= 'a' && c0 <= 'z') ? (unsigned char)(c0 - 32) : c0;

    if (w->n > n)
        return NULL;
    for (size_t i = 0, last = n - w->n; i <= last; i++) {
        size_t j;

        if (h[i] != c0 && h[i] != u0)
            continue;
        for (j = 1; j < w->n && lower(h[i + j]) == s[j]; j++)
            ;
        if (j == w->n)
            return hay + i;
    }
    return NULL;
}

bool fold_has(const struct fold_word *w, const char *hay, size_t n, struct buf *scratch)
{
    if (w->n == 0)
        return true;
    if (fold_is_ascii(hay, n))
        return w->ascii && ascii_find(w, hay, n) != NULL;
    fold_text(hay, n, scratch);
    return memmem(scratch->ptr, scratch->len, w->s, w->n) != NULL;
}

/* Length of the character at s (1 for an invalid byte). */
static size_t char_len(const char *s, size_t n, ucs4_t *uc)
{
    size_t l = utf8_seqlen((const unsigned char *)s, n);

    if (l == 0) {
        *uc = 0xfffd;
        return 1;
    }
    *uc = utf8_decode((const unsigned char *)s, l);
    return l;
}

const char *fold_find(const struct fold_word *w, const char *hay, size_t n, size_t *len)
{
    struct buf f = BUF_INIT, seg = BUF_INIT;
    size_t *from = NULL, *to = NULL, cap = 0;
    const char *r = NULL;
    const char *hit;

    *len = 0;
    if (w->n == 0)
        return hay;
    if (fold_is_ascii(hay, n)) {
        r = w->ascii ? ascii_find(w, hay, n) : NULL;
        *len = r ? w->n : 0;
        return r;
    }
    /* fold one character with its combining marks at a time, remembering where each
     * folded byte came from, so that a match maps back onto the original text */
    for (size_t i = 0; i < n;) {
        ucs4_t uc;
        size_t j = i + char_len(hay + i, n - i, &uc);

        while (j < n) {
            size_t l = char_len(hay + j, n - j, &uc);

            if (l == 1 && (unsigned char)hay[j] >= 0x80)
                break;
            if (uc_combining_class(uc) == 0)
                break;
            j += l;
        }
        fold_text(hay + i, j - i, &seg);
        if (f.len + seg.len > cap) {
            cap = (f.len + seg.len) * 2 + 64;
            from = xreallocarray(from, cap, sizeof *from);
            to = xreallocarray(to, cap, sizeof *to);
        }
        for (size_t k = 0; k < seg.len; k++) {
            from[f.len + k] = i;
            to[f.len + k] = j;
        }
        buf_add(&f, seg.ptr, seg.len);
        i = j;
    }
    hit = f.len ? memmem(f.ptr, f.len, w->s, w->n) : NULL;
    if (hit) {
        size_t a = (size_t)(hit - f.ptr);

        r = hay + from[a];
        *len = to[a + w->n - 1] - from[a];
    }
    free(from);
    free(to);
    buf_free(&f);
    buf_free(&seg);
    return r;
}

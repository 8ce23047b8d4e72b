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

/*
 * The characters outside ASCII whose case folding or NFC normalisation yields ASCII bytes
 * (full folding from CaseFolding.txt and the canonical singletons, as libunistring applies
 * them), with those bytes. check_fold recomputes this list from libunistring over every code
 * point, so a newer Unicode that adds one fails the test rather than a search. Text holding
 * none of them can contain an ASCII word after folding only where its own ASCII letters
 * spell the word.
 */
static const struct {
    const char *utf8, *ascii;
} risky_chars[] = {
    { "\xc3\x9f", "s" },              /* U+00DF sharp s -> ss */
    { "\xc4\xb0", "i" },              /* U+0130 capital I with dot -> i + U+0307 */
    { "\xc5\x89", "n" },              /* U+0149 n preceded by apostrophe -> U+02BC n */
    { "\xc5\xbf", "s" },              /* U+017F long s -> s */
    { "\xc7\xb0", "j" },              /* U+01F0 j with caron -> j + U+030C */
    { "\xcd\xbe", ";" },              /* U+037E Greek question mark -> ; (NFC) */
    { "\xe1\xba\x96", "h" },          /* U+1E96..U+1E99: letter + combining mark */
    { "\xe1\xba\x97", "t" },
    { "\xe1\xba\x98", "w" },
    { "\xe1\xba\x99", "y" },
    { "\xe1\xba\x9a", "a" },          /* U+1E9A a with right half ring -> a U+02BE */
    { "\xe1\xba\x9e", "s" },          /* U+1E9E capital sharp s -> ss */
    { "\xe1\xbf\xaf", "`" },          /* U+1FEF Greek varia -> ` (NFC) */
    { "\xe2\x84\xaa", "k" },          /* U+212A Kelvin sign -> k */
    { "\xef\xac\x80", "f" },          /* U+FB00..U+FB06 ligatures: ff fi fl ffi ffl st st */
    { "\xef\xac\x81", "fi" },
    { "\xef\xac\x82", "fl" },
    { "\xef\xac\x83", "fi" },
    { "\xef\xac\x84", "fl" },
    { "\xef\xac\x85", "st" },
    { "\xef\xac\x86", "st" },
};

#define N_RISKY (sizeof risky_chars / sizeof risky_chars[0])

size_t fold_risky_count(void)
{
    return N_RISKY;
}

const char *fold_risky(size_t k, const char **ascii)
{
    *ascii = risky_chars[k].ascii;
    return risky_chars[k].utf8;
}

void fold_word_init(struct fold_word *w, const char *word)
{
    struct buf b = BUF_INIT;

    fold_text(word, strlen(word), &b);
    w->n = b.len;
    w->s = b.ptr ? buf_detach(&b) : xstrdup("");
    w->ascii = fold_is_ascii(w->s, w->n);
    w->risky = 0;
    for (size_t k = 0; k < N_RISKY && w->ascii; k++)
        if (strpbrk(w->s, risky_chars[k].ascii))
            w->risky |= 1u << k;
}

/* hay holds one of the risky characters that can give a byte of w. */
static bool has_risky(const struct fold_word *w, const char *hay, size_t n)
{
    const unsigned char *s = (const unsigned char *)hay;

    if (w->risky == 0)
        return false;
    for (size_t i = 0; i < n; i++) {
        unsigned char c;
        uint64_t v;

        while (i + 8 <= n && (memcpy(&v, s + i, 8), (v & 0x8080808080808080ull) == 0))
            i += 8;         /* eight ASCII bytes at a time */
        if (i >= n)
            break;
        c = s[i];
        if (c != 0xc3 && c != 0xc4 && c != 0xc5 && c != 0xc7 && c != 0xcd && c != 0xe1 &&
            c != 0xe2 && c != 0xef)
            continue;
        for (size_t k = 0; k < N_RISKY; k++) {
            const char *r = risky_chars[k].utf8;
            size_t l = strlen(r);

            if ((w->risky & (1u << k)) && i + l <= n && memcmp(s + i, r, l) == 0)
                return true;
        }
    }
    return false;
}

void fold_word_free(struct fold_word *w)
{
    free(w->s);
    w->s = NULL;
    w->n = 0;
}

/* The m bytes at h are the folded ASCII s, ASCII case ignored. */
static inline bool eq_ci(const unsigned char *h, const unsigned char *s, size_t m)
{
    for (size_t j = 0; j < m; j++)
        if (lower(h[j]) != s[j])
            return false;
    return true;
}

#if defined(__GNUC__)
typedef unsigned char fold_v16 __attribute__((vector_size(16)));
#endif

/*
 * The first position at or after i where the folded ASCII word w starts in h, ASCII case
 * ignored, or n. Sixteen positions at a time (GCC and Clang vectors, SSE2 on x86-64): the
 * word's first and last letters are compared at once, and only where both agree is the rest.
 */
static size_t find_ci(const struct fold_word *w, const unsigned char *h, size_t n, size_t i)
{
    const unsigned char *s = (const unsigned char *)w->s;
    size_t m = w->n, mid = m > 2 ? m - 2 : 0, last;
    unsigned char f = s[0], l = s[m - 1];
    unsigned char fm = (f >= 'a' && f <= 'z') ? 0x20 : 0, lm = (l >= 'a' && l <= 'z') ? 0x20 : 0;

    if (m > n)
        return n;
    last = n - m;       /* the last possible start */
#if defined(__GNUC__)
    {
        fold_v16 vf = (fold_v16){ 0 } + f, vl = (fold_v16){ 0 } + l;
        fold_v16 vfm = (fold_v16){ 0 } + fm, vlm = (fold_v16){ 0 } + lm;

        for (; i + 16 <= last + 1; i += 16) {
            fold_v16 a, b, e;
            uint64_t half[2];

            memcpy(&a, h + i, 16);
            memcpy(&b, h + i + m - 1, 16);
            e = (fold_v16)(((a | vfm) == vf) & ((b | vlm) == vl));
            memcpy(half, &e, 16);
            for (int k = 0; k < 2; k++)
                while (half[k]) {
                    size_t at = (size_t)__builtin_ctzll(half[k]) / 8;

                    if (eq_ci(h + i + 8 * (size_t)k + at + 1, s + 1, mid))
                        return i + 8 * (size_t)k + at;
                    half[k] &= ~(0xffull << (8 * at));
                }
        }
    }
#endif
    for (; i <= last; i++)
        if ((h[i] | fm) == f && eq_ci(h + i + 1, s + 1, m - 1))
            return i;
    return n;
}

/* w (ASCII, folded) in ASCII text. */
static const char *ascii_find(const struct fold_word *w, const char *hay, size_t n)
{
    size_t at = find_ci(w, (const unsigned char *)hay, n, 0);

    return at < n ? hay + at : NULL;
}

enum fold_scan fold_scan_ascii(const struct fold_word *w, const char *hay, size_t n)
{
    const unsigned char *h = (const unsigned char *)hay;
    bool maybe = false;

    if (w->n == 0)
        return FOLD_YES;
    for (size_t at = find_ci(w, h, n, 0); at < n; at = find_ci(w, h, n, at + 1)) {
        if (at + w->n == n || h[at + w->n] < 0x80)
            return FOLD_YES;
        maybe = true;
    }
    return maybe ? FOLD_MAYBE : FOLD_NO;
}

/*
 * An ASCII word is found without folding the text: an occurrence among the text's own ASCII
 * bytes followed by an ASCII byte is a match (folding maps ASCII letters to themselves, and
 * NFC composes a letter only with a combining mark after it); with no occurrence at all, only
 * a risky character (K, ſ, ß, ﬁ...) can make one, and most text has none. The rest (an
 * occurrence followed by a mark, or a risky character) is folded as a whole.
 */
bool fold_has(const struct fold_word *w, const char *hay, size_t n, struct buf *scratch)
{
    if (w->n == 0)
        return true;
    if (w->ascii) {
        switch (fold_scan_ascii(w, hay, n)) {
        case FOLD_YES:
            return true;
        case FOLD_NO:
            if (!has_risky(w, hay, n))
                return false;
            break;
        case FOLD_MAYBE:
        default:
            break;
        }
    } else if (fold_is_ascii(hay, n)) {
        return false;
    }
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

/* Unicode case folding and normalisation for searches: Cyrillic, Greek, German, combining
 * marks, the ASCII fast path and mapping a match back onto the original text. */
#include "config.h"

#include <stdlib.h>
#include <string.h>
#include <unicase.h>
#include <uninorm.h>
#include <unistr.h>

#include "testutil.h"
#include "tern/buf.h"
#include "tern/fold.h"

static const struct {
    const char *word, *text;
    bool match;
} cases[] = {
    { "иван", "Иван Петров", true },                          /* Cyrillic */
    { "ИВАН", "от иван@пример", true },
    { "ёлка", "ЁЛКА", true },
    { "MÜLLER", "Hans Müller", true },                          /* German */
    { "müller", "HANS MÜLLER", true },
    { "müller", "Hans Mu\xcc\x88ller", true },                  /* u + combining diaeresis */
    { "Mu\xcc\x88ller", "Hans Müller", true },
    { "strasse", "Hauptstraße 5", true },                       /* ß folds to ss */
    { "STRASSE", "Hauptstraße 5", true },
    { "straße", "HAUPTSTRASSE", true },
    { "σοφία", "ΣΟΦΊΑ", true },                                 /* Greek */
    { "οδος", "ΟΔΟΣ", true },
    { "λογος", "ο λόγος", false },                              /* accents are letters */
    { "ΛΟΓΟΣ", "λογος", true },                                 /* final sigma ς vs Σ */
    { "λογοσ", "λογος", true },
    { "fred", "Frederick", true },                              /* ASCII fast path */
    { "FRED", "alfred", true },
    { "fred", "Ferd", false },
    { "", "anything", true },
    { "é", "plain ascii text", false },
    { "k", "\xe2\x84\xaa" "elvin", true },                      /* KELVIN SIGN folds to k */
    { "x", "caf\xff bad utf-8 x", true },                       /* invalid bytes tolerated */
    { "\xc7\xb0", "x\xc7\xb0x", true },            /* U+01F0 folds to j + caron, then NFC */
    { "\xe3\x81\x8c", "\xe3\x81\x8b\xe3\x82\x99", true },   /* が = か + voicing mark */
    { "\xed\x95\x9c", "\xe1\x84\x92\xe1\x85\xa1\xe1\x86\xab", true },  /* 한 as jamo */
    { "\xe8\xb1\x88", "\xef\xa4\x80", true },    /* compatibility ideograph U+F900 */
    /* non-ASCII characters that fold to ASCII, in otherwise non-ASCII text */
    { "kelvin", "5 \xe2\x84\xaa" "ELVIN \xc3\xa9t\xc3\xa9", true },  /* KELVIN SIGN */
    { "kelvin", "5 \xe2\x84\xab" "ELVIN \xc3\xa9t\xc3\xa9", false }, /* ANGSTROM SIGN */
    { "dress", "\xc3\xa9 DRE\xc5\xbf\xc5\xbf", true },     /* long s */
    { "strasse", "Hauptstra\xe1\xba\x9e" "e", true },            /* capital sharp s */
    { "file", "\xc3\xa9 \xef\xac\x81le", true },           /* fi ligature */
    { "office", "\xc3\xa9 o\xef\xac\x83" "ce", true },        /* ffi ligature */
    { "istanbul", "\xc4\xb0stanbul \xc3\xa9", false },       /* İ is i + dot above */
    { "stanbul", "\xc4\xb0stanbul \xc3\xa9", true },
    { "xi", "x\xc4\xb0", true },                             /* ... whose i is ASCII */
    /* an ASCII word followed by a combining mark: NFC makes another letter of its end */
    { "cafe", "un cafe\xcc\x81 noir", false },
    { "cafe", "un cafe\xcc\x81 noir, un cafe noir", true },
    { "caf", "un cafe\xcc\x81 noir", true },
    { "cafe", "cafe\xcc", true },                             /* invalid: ASCII only */
};

START_TEST(test_has)
{
    struct fold_word w;
    struct buf scratch = BUF_INIT;

    fold_word_init(&w, cases[_i].word);
    ck_assert_msg(fold_has(&w, cases[_i].text, strlen(cases[_i].text), &scratch) ==
                      cases[_i].match, "'%s' in '%s'", cases[_i].word, cases[_i].text);
    fold_word_free(&w);
    buf_free(&scratch);
}
END_TEST

/* fold_find gives the span in the original text, whose length can differ from the word's. */
static const struct {
    const char *word, *text, *span;
} finds[] = {
    { "müller", "Herr MÜLLER kommt", "MÜLLER" },
    { "muller", "Herr MÜLLER kommt", NULL },
    { "müller", "Herr Mu\xcc\x88ller kommt", "Mu\xcc\x88ller" },
    { "strasse", "Hauptstraße 5", "straße" },
    { "иван", "Привет, ИВАН!", "ИВАН" },
    { "bob", "to BOB at", "BOB" },
};

START_TEST(test_find)
{
    struct fold_word w;
    size_t len;
    const char *hit;

    fold_word_init(&w, finds[_i].word);
    hit = fold_find(&w, finds[_i].text, strlen(finds[_i].text), &len);
    if (finds[_i].span == NULL) {
        ck_assert_ptr_null(hit);
    } else {
        ck_assert_ptr_nonnull(hit);
        ck_assert_uint_eq(len, strlen(finds[_i].span));
        ck_assert(memcmp(hit, finds[_i].span, len) == 0);
    }
    fold_word_free(&w);
}
END_TEST

START_TEST(test_text)
{
    struct buf b = BUF_INIT;

    fold_text("ABC def", 7, &b);
    ck_assert_str_eq(buf_cstr(&b), "abc def");
    fold_text("ΣΟΦΊΑ Straße", strlen("ΣΟΦΊΑ Straße"), &b);
    ck_assert_str_eq(buf_cstr(&b), "σοφία strasse");
    ck_assert(fold_is_ascii("plain", 5));
    ck_assert(!fold_is_ascii("pl\xc3\xa4in", 6));
    buf_free(&b);
}
END_TEST

/* The ASCII bytes (lower-cased) that folding or NFC can make of the UTF-8 s, as a sorted
 * set in out (at most 128 bytes). */
static void ascii_of(const char *s, size_t n, char *out)
{
    bool seen[128] = { false };
    const uint8_t *in = (const uint8_t *)s;
    struct buf b = BUF_INIT;
    uint8_t *r[3];
    size_t len[3] = { 0, 0, 0 }, k = 0;

    r[0] = u8_casefold(in, n, NULL, NULL, NULL, &len[0]);
    r[1] = u8_casefold(in, n, NULL, UNINORM_NFC, NULL, &len[1]);
    r[2] = u8_normalize(UNINORM_NFC, in, n, NULL, &len[2]);
    fold_text(s, n, &b);
    for (int v = 0; v < 3; v++) {
        for (size_t i = 0; r[v] && i < len[v]; i++)
            if (r[v][i] < 0x80)
                seen[r[v][i] >= 'A' && r[v][i] <= 'Z' ? r[v][i] + 32 : r[v][i]] = true;
        free(r[v]);
    }
    for (size_t i = 0; i < b.len; i++)
        if ((unsigned char)b.ptr[i] < 0x80)
            seen[(unsigned char)b.ptr[i]] = true;
    for (int c = 1; c < 128; c++)
        if (seen[c])
            out[k++] = (char)c;
    out[k] = '\0';
    buf_free(&b);
}

/* fold.c's list of risky characters is exactly what libunistring does, over every code point. */
START_TEST(test_risky_list)
{
    size_t found = 0, nr = fold_risky_count();

    for (ucs4_t c = 0x80; c <= 0x10ffff; c++) {
        uint8_t u[8];
        char got[129], want[129];
        int l;

        if (c >= 0xd800 && c <= 0xdfff)
            continue;
        l = u8_uctomb(u, c, sizeof u);
        ck_assert_int_gt(l, 0);
        ascii_of((const char *)u, (size_t)l, got);
        want[0] = '\0';
        for (size_t k = 0; k < nr; k++) {
            const char *asc, *r = fold_risky(k, &asc);

            if (strlen(r) == (size_t)l && memcmp(r, u, (size_t)l) == 0) {
                ascii_of(asc, strlen(asc), want);   /* sorted, deduplicated */
                found++;
            }
        }
        ck_assert_msg(strcmp(got, want) == 0, "U+%04X folds to ASCII '%s', the list says '%s'",
                      (unsigned)c, got, want);
    }
    ck_assert_uint_eq(found, nr);
}
END_TEST

/* The old way, folding the whole text: what fold_has must answer. */
static bool has_by_folding(const char *word, const char *hay, size_t n)
{
    struct buf fw = BUF_INIT, fh = BUF_INIT;
    bool r;

    fold_text(word, strlen(word), &fw);
    fold_text(hay, n, &fh);
    r = fw.len == 0 || memmem(fh.ptr, fh.len, fw.ptr, fw.len) != NULL;
    buf_free(&fw);
    buf_free(&fh);
    return r;
}

/* Random texts of ASCII letters, combining marks, risky characters, other letters and bad
 * bytes: fold_has's shortcuts agree with folding everything. */
START_TEST(test_random_against_folding)
{
    static const char *const pieces[] = {
        "a", "s", "S", "t", "k", "K", "i", "I", "f", "l", "e", "n", "j", "h", " ", ";", "`",
        "\xcc\x81", "\xcc\x87", "\xcc\xa3", "\xcc\x8c",          /* combining marks */
        "\xc3\x9f", "\xc4\xb0", "\xc5\xbf", "\xe2\x84\xaa", "\xef\xac\x81", "\xef\xac\x83",
        "\xe1\xba\x9e", "\xcd\xbe", "\xe1\xbf\xaf", "\xc7\xb0", "\xe1\xba\x96",  /* risky */
        "\xc3\xa9", "\xc3\x89", "\xd0\x96", "\xcf\x83", "\xe2\x84\xab",    /* other */
        "\xff", "\xc3",                                              /* invalid */
    };
    static const char *const words[] = {
        "s", "ss", "st", "k", "ki", "i", "is", "fi", "ffi", "j", "a", ";", "`", "h", "sk",
        "e", "en", "SS", "Ki", "\xc3\xa9", "\xc5\xbf", "\xe2\x84\xaa", "kelvin", "finest",
    };
    unsigned seed = 12345;
    struct buf scratch = BUF_INIT;

    for (int round = 0; round < 40000; round++) {
        char hay[256];     /* 60 pieces of at most 3 bytes */
        size_t n = 0, np = 1 + (seed = seed * 1103515245u + 12345u) % 60;
        const char *word = words[(seed >> 8) % (sizeof words / sizeof words[0])];
        struct fold_word w;

        for (size_t k = 0; k < np; k++) {
            const char *p = pieces[((seed = seed * 1103515245u + 12345u) >> 8) %
                                   (sizeof pieces / sizeof pieces[0])];

            memcpy(hay + n, p, strlen(p));
            n += strlen(p);
        }
        fold_word_init(&w, word);
        ck_assert_msg(fold_has(&w, hay, n, &scratch) == has_by_folding(word, hay, n),
                      "'%s' in '%.*s'", word, (int)n, hay);
        fold_word_free(&w);
    }
    buf_free(&scratch);
}
END_TEST

START_TEST(test_scan_ascii)
{
    static const struct {
        const char *word, *text;
        enum fold_scan want;
    } scans[] = {
        { "deadline", "the DEADLINE is near", FOLD_YES },
        { "deadline", "a deadline", FOLD_YES },                 /* at the very end */
        { "deadline", "a deadlin", FOLD_NO },
        { "deadline", "deadline\xcc\x81", FOLD_MAYBE },          /* a mark after it */
        { "deadline", "deadline\xcc\x81 and Deadline.", FOLD_YES },
        { "deadline", "DEAD\nLINE", FOLD_NO },
        { "k", "\xe2\x84\xaa", FOLD_NO },                      /* only the bytes are read */
        { "needle", "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxneedlxneedlE", FOLD_YES },
        { "x", "", FOLD_NO },
        { "1-2", "a 1-3, 1-2 b", FOLD_YES },                  /* not letters: exact bytes */
    };

    for (size_t k = 0; k < sizeof scans / sizeof scans[0]; k++) {
        struct fold_word w;

        fold_word_init(&w, scans[k].word);
        ck_assert_msg(fold_scan_ascii(&w, scans[k].text, strlen(scans[k].text)) == scans[k].want,
                      "'%s' in '%s'", scans[k].word, scans[k].text);
        fold_word_free(&w);
    }
}
END_TEST

/* The vector search at every alignment and length: each position of a long text. */
START_TEST(test_find_every_position)
{
    char text[200];
    struct fold_word w;
    struct buf scratch = BUF_INIT;

    fold_word_init(&w, "NeedLe");
    for (size_t len = 6; len < sizeof text; len++)
        for (size_t at = 0; at + 6 <= len; at++) {
            memset(text, 'e', len);
            memcpy(text + at, at % 2 ? "nEEdle" : "NEEDLE", 6);
            ck_assert_msg(fold_has(&w, text, len, &scratch), "at %zu of %zu", at, len);
            text[at + 5] = 'x';
            ck_assert_msg(!fold_has(&w, text, len, &scratch), "at %zu of %zu", at, len);
        }
    fold_word_free(&w);
    buf_free(&scratch);
}
END_TEST

static Suite *fold_suite(void)
{
    Suite *s = suite_create("fold");
    TCase *tc = tcase_create("core");

    tcase_add_loop_test(tc, test_has, 0, sizeof cases / sizeof cases[0]);
    tcase_add_loop_test(tc, test_find, 0, sizeof finds / sizeof finds[0]);
    tcase_add_test(tc, test_text);
    tcase_add_test(tc, test_risky_list);
    tcase_add_test(tc, test_random_against_folding);
    tcase_add_test(tc, test_scan_ascii);
    tcase_add_test(tc, test_find_every_position);
    tcase_set_timeout(tc, 120);     /* every code point, under the sanitizers */
    suite_add_tcase(s, tc);
    return s;
}

TEST_MAIN(fold_suite)

/* Unicode case folding and normalisation for searches: Cyrillic, Greek, German, combining
 * marks, the ASCII fast path and mapping a match back onto the original text. */
#include "config.h"

#include <string.h>

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

static Suite *fold_suite(void)
{
    Suite *s = suite_create("fold");
    TCase *tc = tcase_create("core");

    tcase_add_loop_test(tc, test_has, 0, sizeof cases / sizeof cases[0]);
    tcase_add_loop_test(tc, test_find, 0, sizeof finds / sizeof finds[0]);
    tcase_add_test(tc, test_text);
    suite_add_tcase(s, tc);
    return s;
}

TEST_MAIN(fold_suite)

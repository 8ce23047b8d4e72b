/* Unit tests for src/store/pattern.c: the ~ pattern syntax through idx_limit_compile (which
 * hands it over), table-driven over a small Maildir: fields, states, !, |, juxtaposition,
 * groups, quoting, mutt's case rule, and the errors. */
#include "config.h"

#include <locale.h>
#include <stdlib.h>
#include <sys/time.h>
#include <time.h>

#include "testutil.h"
#include "tern/index.h"
#include "tern/maildir.h"
#include "tern/pattern.h"
#include "tern/view.h"

static const struct {
    const char *name;      /* file name: the letter is what the tests expect back */
    const char *text;
} msgs[] = {
    { "1000.a.host:2,S", "From: Ivan Petrov <ivan@example.org>\nTo: Ann <ann@example.org>\n"
      "Cc: Bo Berg <bo@example.net>\nSubject: Budget 2024\nMessage-ID: <a1@x>\n"
      "X-Mailer: Gnus\n\nThe numbers\nare in.\n" },
    { "1001.b.host:2,FS", "From: =?utf-8?q?J=C3=BCrgen_M=C3=BCller?= <jm@example.de>\n"
      "To: ivan@example.org\nSubject: Re: Budget 2024\nMessage-ID: <b1@x>\n\nBudget OK\n" },
    { "1002.c.host:2,", "From: Carol <carol@example.net>\nTo: Ann <ann@example.org>\n"
      "Subject: Lunch\nMessage-ID: <c1@x>\n\nnumbers? no.\n" },
    { "1003.d.host:2,RST", "From: Dave <dave@example.com>\nTo: Team <team@example.com>\n"
      "Subject: (draft) Zebra\nMessage-ID: <d1@x>\n\nstripes\n" },
};

static char *dir;
static struct idx *x;

static void setup(void)
{
    struct err e;
    char path[4096];

    setlocale(LC_ALL, "C.UTF-8");
    setenv("TZ", "UTC", 1);
    tzset();
    dir = test_tmpdir();
    ck_assert_int_eq(maildir_create(dir, &e), 0);
    for (size_t i = 0; i < sizeof msgs / sizeof msgs[0]; i++) {
        snprintf(path, sizeof path, "%s/cur/%s", dir, msgs[i].name);
        test_write(path, msgs[i].text);
    }
    ck_assert_msg(idx_open(dir, IDX_NO_SAVE, &x, &e) == 0, "%s", e.msg);
}

static void teardown(void)
{
    idx_close(x);
    rm_rf(dir);
    free(dir);
}

/* ~T: message c is tagged. */
static bool tag_c(void *arg, uint32_t id)
{
    const struct idx *ix = arg;

    for (size_t i = 0; i < idx_count(ix); i++)
        if (idx_msg(ix, i)->id == id)
            return strstr(idx_msg(ix, i)->name, ".c.") != NULL;
    return false;
}

/* The letters (a b c d) of the messages pattern matches, in order. */
static char *matches(const char *pattern, char *out)
{
    struct idx_limit *l;
    struct err e;
    size_t k = 0;

    ck_assert_msg(idx_limit_compile(pattern, &l, &e) == 0, "%s: %s", pattern, e.msg);
    idx_limit_set_tagged(l, tag_c, x);
    for (char c = 'a'; c <= 'd'; c++)
        for (size_t i = 0; i < idx_count(x); i++) {
            const char *n = idx_msg(x, i)->name;

            if (n[5] == c && idx_limit_match(x, l, i))
                out[k++] = c;
        }
    out[k] = '\0';
    idx_limit_free(l);
    return out;
}

START_TEST(fields_states_and_logic)
{
    static const struct { const char *pat, *want; } t[] = {
        { "~f ivan", "a" },                   /* no capital: any case */
        { "~f Ivan", "a" },
        { "~f IVAN", "" },                    /* a capital: case counts */
        { "~f müller", "b" },                 /* decoded, and case folds past ASCII */
        { "~f MÜLLER", "" },
        { "~f '^(carol|dave)$'", "cd" },
        { "~s ^re:", "b" },
        { "~s budget", "ab" },
        { "~s 'budget 2024'", "ab" },
        { "~s \"^budget 2024$\"", "a" },
        { "~s (draft)", "d" },                /* parentheses inside a word balance */
        { "(~s (draft))", "d" },
        { "~t ann", "ac" },
        { "~c bo", "a" },
        { "~C team", "d" },
        { "~C bo", "a" },
        { "~i ^b1@x$", "b" },
        { "~h '^x-mailer: gnus'", "a" },
        { "~b ^numbers", "c" },              /* ^ at each line of the body */
        { "~b numbers", "ac" },
        { "~b budget", "b" },
        { "~B budget", "ab" },               /* headers too */
        { "~F", "b" },
        { "~U", "c" },
        { "~R", "abd" },
        { "~D", "d" },
        { "~Q", "d" },
        { "~T", "c" },
        { "~A", "abcd" },
        { "!~R", "c" },
        { "~s budget ~F", "b" },             /* juxtaposition: and */
        { "~s budget | ~D", "abd" },
        { "~s lunch | ~s zebra ~D", "cd" },  /* and binds tighter than or */
        { "!(~s budget | ~D)", "c" },
        { "!~s budget !~D", "c" },
        { "  ~U  ", "c" },
        { "~s 'budget [0-9]{4}'", "ab" },     /* a modest count is fine */
        { "~s '[+*]?budget'", "ab" },
    };
    char out[8];

    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++)
        ck_assert_msg(strcmp(matches(t[i].pat, out), t[i].want) == 0, "%s: got '%s', want '%s'",
                      t[i].pat, out, t[i].want);
    /* The word syntax is untouched. */
    ck_assert_str_eq(matches("from:ivan", out), "a");
    ck_assert_str_eq(matches("budget -re:", out), "a");
}
END_TEST

START_TEST(errors)
{
    static const char *bad[] = {
        "~f", "~f   ", "~z x", "(~F", "~F)", "~F ) ~U", "~s '[unclosed", "~s \"open",
        "~F |", "~F | | ~U", "~F ~", "~F x", "!~", "~s (a", "~f v+++", "~f a**",
        "~f '(a{1,50}){1,50}'", "~s x{2000}",
    };
    struct idx_limit *l;
    struct err e;

    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        l = (struct idx_limit *)1;
        ck_assert_msg(idx_limit_compile(bad[i], &l, &e) == -1, "'%s' compiled", bad[i]);
        ck_assert_ptr_null(l);
        ck_assert_msg(e.msg[0] != '\0' && strstr(e.msg, "pattern") != NULL, "%s: %s", bad[i],
                      e.msg);
    }
    ck_assert(pattern_is_pattern("~f x"));
    ck_assert(pattern_is_pattern("!~f x"));
    ck_assert(pattern_is_pattern(" (~f x)"));
    ck_assert(!pattern_is_pattern("from:x"));
    ck_assert(!pattern_is_pattern("budget ~f x"));
}
END_TEST

START_TEST(deep_nesting_is_refused)
{
    char s[400];
    struct idx_limit *l;
    struct err e;

    memset(s, '!', 300);
    memcpy(s + 300, "~F", 3);
    ck_assert_int_eq(idx_limit_compile(s, &l, &e), -1);
    ck_assert_ptr_nonnull(strstr(e.msg, "deep"));
    memset(s, '(', 300);
    memcpy(s + 300, "~F", 3);
    ck_assert_int_eq(idx_limit_compile(s, &l, &e), -1);
}
END_TEST

/* A folder of one message per letter, each with a Date (seconds) and a file mtime; the
 * letters ~d/~r pattern matches. */
static char *date_matches(const int64_t *dates, const int64_t *mtimes, size_t n,
                          const char *pattern, char *out)
{
    char *d = test_tmpdir(), path[4096], text[256];
    struct idx *dx;
    struct idx_limit *l;
    struct err e;
    size_t k = 0;

    ck_assert_int_eq(maildir_create(d, &e), 0);
    for (size_t i = 0; i < n; i++) {
        time_t t = (time_t)dates[i];
        struct tm tm;
        struct timeval tv[2] = { { (time_t)mtimes[i], 0 }, { (time_t)mtimes[i], 0 } };
        char date[64];

        gmtime_r(&t, &tm);
        strftime(date, sizeof date, "%a, %d %b %Y %H:%M:%S +0000", &tm);
        snprintf(path, sizeof path, "%s/cur/100%zu.%c.host:2,S", d, i, (char)('a' + i));
        snprintf(text, sizeof text, "From: x@y\nSubject: %c\nDate: %s\n\nhi\n",
                 (char)('a' + i), date);
        test_write(path, text);
        ck_assert_int_eq(utimes(path, tv), 0);
    }
    ck_assert_msg(idx_open(d, IDX_NO_SAVE, &dx, &e) == 0, "%s", e.msg);
    ck_assert_msg(idx_limit_compile(pattern, &l, &e) == 0, "%s: %s", pattern, e.msg);
    for (size_t c = 0; c < n; c++)
        for (size_t i = 0; i < idx_count(dx); i++)
            if (strchr(idx_msg(dx, i)->name, '.')[1] == (char)('a' + c) &&
                idx_limit_match(dx, l, i))
                out[k++] = (char)('a' + c);
    out[k] = '\0';
    idx_limit_free(l);
    idx_close(dx);
    rm_rf(d);
    free(d);
    return out;
}

/* UTC seconds of a calendar time (the tests run with TZ=UTC: days are UTC days). */
static int64_t utc(int y, int mo, int d, int h, int mi)
{
    struct tm tm = { 0 };

    tm.tm_year = y - 1900;
    tm.tm_mon = mo - 1;
    tm.tm_mday = d;
    tm.tm_hour = h;
    tm.tm_min = mi;
    return (int64_t)timegm(&tm);
}

/* mutt's ~d: DD/MM/YYYY days, ranges open at either end, margins, relative ages. */
START_TEST(date_absolute)
{
    const int64_t dates[] = {
        utc(2026, 11, 30, 23, 59), utc(2026, 12, 1, 0, 0), utc(2026, 12, 31, 23, 59),
        utc(2027, 1, 1, 0, 0), utc(2026, 11, 1, 8, 0), utc(2026, 11, 15, 12, 0),
    };
    const int64_t mtimes[] = {
        utc(2026, 12, 2, 9, 0), utc(2026, 12, 2, 9, 0), utc(2026, 12, 2, 9, 0),
        utc(2026, 12, 2, 9, 0), utc(2026, 11, 3, 9, 0), utc(2026, 11, 3, 9, 0),
    };
    static const struct { const char *pat, *want; } t[] = {
        { "~d 01/12/2026-", "bcd" },
        { "~d -31/12/2026", "abcef" },
        { "~d 1/11/2026-30/11/2026", "aef" },
        { "~d 30/11/2026-1/11/2026", "aef" },          /* backwards: the same range */
        { "~d 01/12/2026", "b" },                       /* one day */
        { "~d 20261201", "b" },                         /* YYYYMMDD */
        { "~d 31/12/26", "c" },                         /* two-digit year */
        { "~d 1/12/2026-31/12/2026", "bc" },
        { "~d 15/11/2026*1d", "f" },                    /* a margin either side */
        { "~d 15/11/2026*2w", "ef" },
        { "~d 01/12/2026+1d", "b" },                    /* after */
        { "~d 01/12/2026-1d", "ab" },                   /* before */
        { "!~d 01/12/2026-", "aef" },
        { "~d 01/12/2026- ~d -31/12/2026", "bc" },
        { "~r 02/12/2026", "abcd" },                    /* received: the file's date */
        { "~r -30/11/2026", "ef" },
        { "~r 3/11/2026 ~d 1/11/2026", "e" },
    };
    char out[16];

    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++)
        ck_assert_msg(strcmp(date_matches(dates, mtimes, 6, t[i].pat, out), t[i].want) == 0,
                      "%s: got '%s', want '%s'", t[i].pat, out, t[i].want);
}
END_TEST

/* Relative ages are taken from the clock when the pattern is compiled: the check is made
 * again when the second turned while it ran, so that b (exactly three days old) is never
 * compared against a later "now". */
START_TEST(date_relative)
{
    int64_t now, dates[6], mtimes[6];
    static const struct { const char *pat, *want; } t[] = {
        { "~d <1w", "abf" },                            /* younger than a week */
        { "~d <1d", "af" },
        { "~d <5H", "af" },
        { "~d >1w", "cde" },                            /* older than a week */
        { "~d >2m", "de" },
        { "~d >1y", "e" },
        { "~d <1y", "abcdf" },
        { "~d =3d", "b" },                              /* the day three days ago */
        { "~d =10d", "c" },
        { "~d <2w ~d >1w", "c" },
        { "~d <3", "abf" },                             /* no unit: days */
        { "~r <1d", "" },
        { "~r >1d", "abcdef" },
    };
    char out[16];

    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
        do {
            now = (int64_t)time(NULL);
            dates[0] = now - 2 * 3600;
            dates[1] = now - 3 * 86400;
            dates[2] = now - 10 * 86400;
            dates[3] = now - 70 * 86400;
            dates[4] = now - 400 * 86400;
            dates[5] = now + 86400;
            for (size_t j = 0; j < 6; j++)
                mtimes[j] = now - 500 * 86400;
            date_matches(dates, mtimes, 6, t[i].pat, out);
        } while ((int64_t)time(NULL) != now);
        ck_assert_msg(strcmp(out, t[i].want) == 0, "%s: got '%s', want '%s'", t[i].pat, out,
                      t[i].want);
    }
}
END_TEST

START_TEST(date_errors)
{
    static const char *bad[] = {
        "~d", "~d x", "~d 32/12/2026", "~d 1/13/2026", "~d 1/12/123", "~d -", "~d 1/12/2026-x",
        "~d <", "~d <1q", "~d <1w2", "~d =", "~d 1/12/2026*", "~d 1/12/2026--",
        "~d 123/1/2026", "~d 1/12/1969", "~d 1/12/2026 -", "~d <999999d",
    };
    struct idx_limit *l;
    struct err e;

    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        ck_assert_msg(idx_limit_compile(bad[i], &l, &e) == -1, "'%s' compiled", bad[i]);
        ck_assert_msg(strstr(e.msg, "pattern") != NULL, "%s: %s", bad[i], e.msg);
    }
}
END_TEST

static Suite *pattern_suite(void)
{
    Suite *s = suite_create("pattern");
    TCase *tc = tcase_create("core");

    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, fields_states_and_logic);
    tcase_add_test(tc, errors);
    tcase_add_test(tc, deep_nesting_is_refused);
    tcase_add_test(tc, date_absolute);
    tcase_add_test(tc, date_relative);
    tcase_add_test(tc, date_errors);
    suite_add_tcase(s, tc);
    return s;
}

TEST_MAIN(pattern_suite)

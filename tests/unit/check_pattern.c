/* Unit tests for src/store/pattern.c: the ~ pattern syntax through idx_limit_compile (which
 * hands it over), table-driven over a small Maildir: fields, states, !, |, juxtaposition,
 * groups, quoting, mutt's case rule, and the errors. */
#include "config.h"

#include <locale.h>

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

static Suite *pattern_suite(void)
{
    Suite *s = suite_create("pattern");
    TCase *tc = tcase_create("core");

    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, fields_states_and_logic);
    tcase_add_test(tc, errors);
    tcase_add_test(tc, deep_nesting_is_refused);
    suite_add_tcase(s, tc);
    return s;
}

TEST_MAIN(pattern_suite)

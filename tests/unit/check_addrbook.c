/* Unit tests for the address book: noting, saving, completion, alias expansion. */
#include "config.h"

#include <locale.h>

#include "testutil.h"
#include "tern/addrbook.h"
#include "tern/buf.h"
#include "tern/fsutil.h"

START_TEST(note_save_reload)
{
    char *dir = test_tmpdir();
    char *path = fs_join(dir, ".tern/addresses");
    struct addrbook *ab;
    struct err e;
    struct buf file = BUF_INIT;

    ck_assert_int_eq(addrbook_open(path, &ab, &e), 0);
    ck_assert_uint_eq(addrbook_count(ab), 0);
    addrbook_note(ab, "Ben Ortiz <ben@rowing.example>, =?utf-8?q?Chlo=C3=A9?= "
                      "<chloe@rowing.example>", 100);
    addrbook_note(ab, "ben@rowing.example, not-an-address, \"Tab\tName\" <t@x.example>", 200);
    ck_assert_uint_eq(addrbook_count(ab), 3);
    ck_assert_int_eq(addrbook_save(ab, &e), 0);
    addrbook_free(ab);
    ck_assert_int_eq(fs_read_file(path, &file, &e), 0);
    ck_assert_str_eq(file.ptr, "2\t200\tben@rowing.example\tBen Ortiz\n"
                               "1\t100\tchloe@rowing.example\tChloé\n"
                               "1\t200\tt@x.example\tTab Name\n");
    /* a damaged line is skipped, the rest survives */
    test_write(path, "2\t200\tben@rowing.example\tBen Ortiz\ngarbage\n1\tx\ty@z\t\n");
    ck_assert_int_eq(addrbook_open(path, &ab, &e), 0);
    ck_assert_uint_eq(addrbook_count(ab), 1);
    ck_assert_str_eq(addrbook_get(ab, 0)->name, "Ben Ortiz");
    addrbook_free(ab);
    buf_free(&file);
    rm_rf(dir);
    free(path);
    free(dir);
}
END_TEST

START_TEST(completion_prefers_aliases_then_use)
{
    struct config *cfg = test_config("alias bengroup ben@rowing.example\n");
    struct addrbook *ab;
    struct err e;
    char **res;
    size_t n;

    ck_assert_int_eq(addrbook_open("/nonexistent/dir/addresses", &ab, &e), 0);
    addrbook_note(ab, "Bernd Müller <bernd@example.de>", 10);
    addrbook_note(ab, "Ben Ortiz <ben@rowing.example>", 20);
    addrbook_note(ab, "Ben Ortiz <ben@rowing.example>", 30);
    addrbook_note(ab, "Anna Benson <anna@example.org>", 40);
    n = addrbook_complete(ab, cfg, "be", &res, 10);
    ck_assert_uint_eq(n, 4);
    ck_assert_str_eq(res[0], "bengroup");
    ck_assert_str_eq(res[1], "Ben Ortiz <ben@rowing.example>");
    /* "Benson" is a word of the name; both count once, the newer first */
    ck_assert_str_eq(res[2], "Anna Benson <anna@example.org>");
    ck_assert_str_eq(res[3], "Bernd Müller <bernd@example.de>");
    addrbook_results_free(res, n);
    n = addrbook_complete(ab, cfg, "ROWING", &res, 10);
    ck_assert_uint_eq(n, 1);
    addrbook_results_free(res, n);
    n = addrbook_complete(ab, cfg, "zzz", &res, 10);
    ck_assert_uint_eq(n, 0);
    addrbook_results_free(res, n);
    addrbook_free(ab);
    config_free(cfg);
}
END_TEST

START_TEST(expand_aliases_nested_and_deduplicated)
{
    struct config *cfg = test_config("alias crew ben@rowing.example, "
                                     "\"Chloé Dubois <chloe@rowing.example>\"\n"
                                     "alias boss Jane Q. Public <jane@example.org>\n"
                                     "alias club crew, secretary@rowing.example\n"
                                     "alias loop loop\n");
    char *s;

    s = addrbook_expand(cfg, "club, Ben@Rowing.example, ann@example.org");
    ck_assert_str_eq(s, "ben@rowing.example, Chloé Dubois <chloe@rowing.example>, "
                        "secretary@rowing.example, ann@example.org");
    free(s);
    s = addrbook_expand(cfg, "boss");
    ck_assert_str_eq(s, "\"Jane Q. Public\" <jane@example.org>");
    free(s);
    s = addrbook_expand(cfg, "loop");   /* bounded, not endless */
    ck_assert_str_eq(s, "loop");
    free(s);
    s = addrbook_expand(cfg, "Crew Member <crew@example.org>");
    ck_assert_str_eq(s, "Crew Member <crew@example.org>");
    free(s);
    config_free(cfg);
}
END_TEST

static Suite *addrbook_suite(void)
{
    Suite *s = suite_create("addrbook");
    TCase *tc = tcase_create("core");

    setlocale(LC_ALL, "C.UTF-8");
    tcase_add_test(tc, note_save_reload);
    tcase_add_test(tc, completion_prefers_aliases_then_use);
    tcase_add_test(tc, expand_aliases_nested_and_deduplicated);
    suite_add_tcase(s, tc);
    return s;
}

TEST_MAIN(addrbook_suite)

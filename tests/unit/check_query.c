/* Unit tests for query_command: quoting of the query, the parser of mutt's output, the bounds
 * (time, size) of the runner. */
#include "config.h"

#include "testutil.h"
#include "tern/buf.h"
#include "tern/query.h"

START_TEST(quoting)
{
    char *l = query_command_line("lbdbq %s", "it's; rm -rf ~");

    ck_assert_str_eq(l, "lbdbq 'it'\\''s; rm -rf ~'");
    free(l);
    l = query_command_line("abook --mutt-query", "ann");
    ck_assert_str_eq(l, "abook --mutt-query 'ann'");
    free(l);
    l = query_command_line("q %s 100%%", "$(x)");
    ck_assert_str_eq(l, "q '$(x)' 100%");
    free(l);
}
END_TEST

START_TEST(parse)
{
    static const char out[] =
        "Searching... 3 found\n"
        "ann@example.org\tAnn Example\tfriends\n"
        "ben@example.org\tBen\r\n"
        "\n"
        "bad\x01line@example.org\tX\n"
        "carl@example.net\n"
        "\tno address\n"
        "dora@example.net\tDora";
    struct query_result *r;
    size_t n = query_parse(out, sizeof out - 1, &r);

    ck_assert_uint_eq(n, 4);
    ck_assert_str_eq(r[0].address, "ann@example.org");
    ck_assert_str_eq(r[0].name, "Ann Example");
    ck_assert_str_eq(r[1].address, "ben@example.org");
    ck_assert_str_eq(r[1].name, "Ben");
    ck_assert_str_eq(r[2].address, "carl@example.net");
    ck_assert_str_eq(r[2].name, "");
    ck_assert_str_eq(r[3].name, "Dora");
    query_results_free(r, n);
    /* the first line is a message, never a result */
    ck_assert_uint_eq(query_parse("only@example.org\tOnly\n", 22, &r), 0);
    query_results_free(r, 0);
}
END_TEST

START_TEST(runs_with_the_query_as_one_word)
{
    struct buf out = BUF_INIT;
    struct err e;

    ck_assert_int_eq(query_run("printf 'x\\n%%s\\tN\\n'", "a b'c", 5000, 1000, &out, &e), 0);
    buf_cstr(&out);
    ck_assert_str_eq(out.ptr, "x\na b'c\tN\n");
    buf_free(&out);
}
END_TEST

START_TEST(bounded)
{
    struct buf out = BUF_INIT;
    struct err e;

    /* A command that never ends is killed at the time limit, with its children. */
    ck_assert_int_eq(query_run("sleep 30; echo %s", "x", 200, 1000, &out, &e), -1);
    ck_assert_int_eq(e.cls, ERR_TEMP);
    /* Endless output stops at the size limit. */
    buf_reset(&out);
    ck_assert_int_eq(query_run("yes %s", "x", 5000, 10000, &out, &e), -1);
    ck_assert_int_eq(e.cls, ERR_TEMP);
    ck_assert_uint_eq(out.len, 10000);
    /* A failing command with nothing to say */
    buf_reset(&out);
    ck_assert_int_eq(query_run("exit 3; %s", "x", 5000, 100, &out, &e), -1);
    ck_assert_int_eq(e.cls, ERR_PERM);
    buf_free(&out);
}
END_TEST

static Suite *query_suite(void)
{
    Suite *s = suite_create("query");
    TCase *t = tcase_create("core");

    tcase_add_test(t, quoting);
    tcase_add_test(t, parse);
    tcase_add_test(t, runs_with_the_query_as_one_word);
    tcase_add_test(t, bounded);
    suite_add_tcase(s, t);
    return s;
}

TEST_MAIN(query_suite)

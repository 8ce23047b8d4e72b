/* Unit tests for adding an alias to ~/.mailrc: where the line goes, refusals, the file's mode,
 * links followed. */
#include "config.h"

#include <sys/stat.h>

#include "testutil.h"
#include "tern/buf.h"
#include "tern/fsutil.h"
#include "tern/mailrc_edit.h"

/* Write text to dir/name, add the alias, compare with want. */
static void check_insert(const char *text, const char *want)
{
    char *dir = test_tmpdir();
    char *rc = fs_join(dir, "mailrc");
    struct err e;

    if (text)
        test_write(rc, text);
    ck_assert_int_eq(mailrc_add_alias(rc, "ann", "ann@example.org", &e), 0);
    char *got = test_slurp(rc);
    ck_assert_str_eq(got, want);
    free(got);
    free(rc);
    test_tmpdir_free(dir);
}

START_TEST(after_the_last_alias_before_tern_sections)
{
    check_insert("set ask\nalias bob bob@example.org\n# a comment\nalias team a@x b@x\n"
                 "\n[general]\nmail_root = ~/Mail\nalias = not a mailx line\n",
                 "set ask\nalias bob bob@example.org\n# a comment\nalias team a@x b@x\n"
                 "alias ann ann@example.org\n"
                 "\n[general]\nmail_root = ~/Mail\nalias = not a mailx line\n");
}
END_TEST

START_TEST(before_the_first_section_without_aliases)
{
    check_insert("set ask\n#: [general]\n#: mail_root = ~/Mail\n",
                 "set ask\nalias ann ann@example.org\n#: [general]\n#: mail_root = ~/Mail\n");
    check_insert("  [general]\n", "alias ann ann@example.org\n  [general]\n");
}
END_TEST

START_TEST(at_the_end_otherwise)
{
    check_insert("set ask\nalias bob bob@x.example", /* no final newline: mended */
                 "set ask\nalias bob bob@x.example\nalias ann ann@example.org\n");
    check_insert(NULL, "alias ann ann@example.org\n");       /* a new file */
    check_insert("", "alias ann ann@example.org\n");
}
END_TEST

START_TEST(refusals)
{
    char *dir = test_tmpdir();
    char *rc = fs_join(dir, "mailrc");
    struct err e;
    const char *text = "set ask\ngroup ann a@x\n";

    test_write(rc, text);
    ck_assert_int_eq(mailrc_add_alias(rc, "ann", "ann@example.org", &e), -1);
    ck_assert_str_eq(e.msg + strlen(rc), ":2: an alias 'ann' is already there");
    ck_assert_int_eq(mailrc_add_alias(rc, "two words", "x@example.org", &e), -1);
    ck_assert_int_eq(mailrc_add_alias(rc, "x", "Ann <ann@example.org>", &e), -1);
    ck_assert_int_eq(mailrc_add_alias(rc, "x", "ann@example.org\nset sendmail=/bin/evil", &e), -1);
    ck_assert_int_eq(mailrc_add_alias(rc, "x", "no-at-sign", &e), -1);
    ck_assert_int_eq(mailrc_add_alias(rc, "x;rm", "a@example.org", &e), -1);
    char *got = test_slurp(rc);
    ck_assert_str_eq(got, text);                    /* untouched by every refusal */
    free(got);
    free(rc);
    test_tmpdir_free(dir);
}
END_TEST

START_TEST(mode_kept_and_links_followed)
{
    char *dir = test_tmpdir();
    char *real = fs_join(dir, "dotfiles-mailrc"), *link = fs_join(dir, "mailrc");
    struct err e;
    struct stat st;

    test_write(real, "set ask\n");
    ck_assert_int_eq(chmod(real, 0640), 0);
    ck_assert_int_eq(symlink(real, link), 0);
    ck_assert_int_eq(mailrc_add_alias(link, "ann", "ann@example.org", &e), 0);
    ck_assert_int_eq(lstat(link, &st), 0);
    ck_assert(S_ISLNK(st.st_mode));                 /* still the link */
    ck_assert_int_eq(stat(real, &st), 0);
    ck_assert_int_eq(st.st_mode & 0777, 0640);
    char *got = test_slurp(real);
    ck_assert_str_eq(got, "set ask\nalias ann ann@example.org\n");
    free(got);
    free(real);
    free(link);
    test_tmpdir_free(dir);
}
END_TEST

static Suite *mailrc_edit_suite(void)
{
    Suite *s = suite_create("mailrc_edit");
    TCase *t = tcase_create("core");

    tcase_add_test(t, after_the_last_alias_before_tern_sections);
    tcase_add_test(t, before_the_first_section_without_aliases);
    tcase_add_test(t, at_the_end_otherwise);
    tcase_add_test(t, refusals);
    tcase_add_test(t, mode_kept_and_links_followed);
    suite_add_tcase(s, t);
    return s;
}

TEST_MAIN(mailrc_edit_suite)

/* Unit tests for saving: mboxrd append (quoting, separators, locking, refusal), Maildir
 * targets, and where a part goes when the user names a directory. */
#include "config.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <sys/stat.h>

#include "testutil.h"
#include "tern/buf.h"
#include "tern/fsutil.h"
#include "tern/maildir.h"
#include "tern/save.h"

static const char MSG1[] =
    "Return-Path: <ann@example.org>\r\n"
    "From: Ann <ann@example.org>\r\n"
    "Subject: one\r\n"
    "\r\n"
    "From the top\r\n"
    ">From quoted once\r\n"
    "no newline at the end";

static const char MSG2[] =
    "From: \"B b\" <bob@example.org>\n"
    "Subject: two\n"
    "\n"
    ">>From twice\n"
    "Fromage is not a From_ line\n";

START_TEST(mboxrd_quoting_and_separators)
{
    char *box = fs_join(test_dir, "saved.mbox");
    struct err e;

    setenv("TZ", "UTC", 1);
    tzset();
    ck_assert_int_eq(save_mbox_append(box, MSG1, sizeof MSG1 - 1, NULL, 0, &e), 0);
    ck_assert_int_eq(save_mbox_append(box, MSG2, sizeof MSG2 - 1, NULL, 86400, &e), 0);
    char *got = test_slurp(box);
    ck_assert_str_eq(got,
        "From ann@example.org Thu Jan  1 00:00:00 1970\n"
        "Return-Path: <ann@example.org>\n"
        "From: Ann <ann@example.org>\n"
        "Subject: one\n"
        "\n"
        ">From the top\n"
        ">>From quoted once\n"
        "no newline at the end\n"
        "\n"
        "From bob@example.org Fri Jan  2 00:00:00 1970\n"
        "From: \"B b\" <bob@example.org>\n"
        "Subject: two\n"
        "\n"
        ">>>From twice\n"
        "Fromage is not a From_ line\n"
        "\n");
    struct stat st;
    ck_assert_int_eq(stat(box, &st), 0);
    ck_assert_int_eq(st.st_mode & 0777, 0600);
    free(got);
    free(box);
}
END_TEST

/* A last message written by another program without its blank line is mended first. */
START_TEST(mbox_missing_separator_mended)
{
    char *box = fs_join(test_dir, "m");
    struct err e;

    test_write(box, "From x Thu Jan  1 00:00:00 1970\nSubject: a\n\nbody");
    ck_assert_int_eq(save_mbox_append(box, MSG2, sizeof MSG2 - 1, "env@x", 0, &e), 0);
    char *got = test_slurp(box);
    ck_assert_ptr_nonnull(strstr(got, "\nbody\n\nFrom env@x "));
    free(got);
    free(box);
}
END_TEST

START_TEST(refuses_what_is_not_an_mbox)
{
    char *file = fs_join(test_dir, "notes.txt");
    char *plain = fs_join(test_dir, "plain");
    struct err e;

    test_write(file, "my notes\n");
    ck_assert_int_eq(save_message(file, MSG2, sizeof MSG2 - 1, 0, NULL, &e), -1);
    ck_assert_ptr_nonnull(strstr(e.msg, "is not an mbox"));
    char *got = test_slurp(file);
    ck_assert_str_eq(got, "my notes\n");          /* untouched */
    free(got);
    ck_assert_int_eq(mkdir(plain, 0700), 0);
    ck_assert_int_eq(save_message(plain, MSG2, sizeof MSG2 - 1, 0, NULL, &e), -1);
    ck_assert_ptr_nonnull(strstr(e.msg, "not a Maildir"));
    free(file);
    free(plain);
}
END_TEST

START_TEST(saves_into_a_maildir)
{
    char *md = fs_join(test_dir, "Archive");
    char *where = NULL;
    struct err e;

    ck_assert_int_eq(maildir_create(md, &e), 0);
    ck_assert_int_eq(save_message(md, MSG2, sizeof MSG2 - 1, 0, &where, &e), 0);
    ck_assert_str_eq(where, md);
    ck_assert_uint_eq(test_count_entries(md, "cur"), 1);
    free(where);
    free(md);
}
END_TEST

/* Another program holding the fcntl lock makes the save wait, then fail, never interleave. */
START_TEST(waits_for_the_lock)
{
    char *box = fs_join(test_dir, "locked");
    struct err e;
    int fd = open(box, O_RDWR | O_CREAT, 0600);
    struct flock l = { .l_type = F_WRLCK, .l_whence = SEEK_SET };

    ck_assert_int_ge(fd, 0);
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {                 /* fcntl locks are per process: hold it in a child */
        fcntl(fd, F_SETLK, &l);
        pause();
        _exit(0);
    }
    for (int i = 0; i < 500; i++) {  /* until the child holds it */
        struct flock q = { .l_type = F_WRLCK, .l_whence = SEEK_SET };

        ck_assert_int_eq(fcntl(fd, F_GETLK, &q), 0);
        if (q.l_type != F_UNLCK)
            break;
        usleep(10000);
    }
    ck_assert_int_eq(save_mbox_append(box, MSG2, sizeof MSG2 - 1, NULL, 0, &e), -1);
    ck_assert_int_eq(e.cls, ERR_LOCKED);
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
    ck_assert_int_eq(save_mbox_append(box, MSG2, sizeof MSG2 - 1, NULL, 0, &e), 0);
    close(fd);
    free(box);
}
END_TEST

START_TEST(part_path_in_a_directory)
{
    char *file = fs_join(test_dir, "x.pdf");
    char *p;

    p = save_part_path(test_dir, "report.pdf");
    ck_assert_str_eq(p + strlen(test_dir), "/report.pdf");
    free(p);
    p = save_part_path(test_dir, "../../etc/.passwd");    /* no way out of the directory */
    ck_assert_str_eq(p + strlen(test_dir), "/passwd");
    free(p);
    p = save_part_path(test_dir, "...");
    ck_assert_str_eq(p + strlen(test_dir), "/part");
    free(p);
    p = save_part_path(file, "report.pdf");           /* a file name is taken as it is */
    ck_assert_str_eq(p, file);
    free(p);
    setenv("HOME", test_dir, 1);
    p = save_part_path("~", "a.txt");                  /* ~ is expanded */
    ck_assert_str_eq(p + strlen(test_dir), "/a.txt");
    free(p);
    free(file);
}
END_TEST

static Suite *save_suite(void)
{
    Suite *s = suite_create("save");
    TCase *t = tcase_create("core");

    tcase_add_checked_fixture(t, test_dir_setup, test_dir_teardown);
    tcase_add_test(t, mboxrd_quoting_and_separators);
    tcase_add_test(t, mbox_missing_separator_mended);
    tcase_add_test(t, refuses_what_is_not_an_mbox);
    tcase_add_test(t, saves_into_a_maildir);
    tcase_add_test(t, waits_for_the_lock);
    tcase_add_test(t, part_path_in_a_directory);
    tcase_set_timeout(t, 30);
    suite_add_tcase(s, t);
    return s;
}

TEST_MAIN(save_suite)

/* Unit tests for src/store/maildir.c: names, flags, delivery, flag renames, moves, folders. */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "testutil.h"
#include "tern/fsutil.h"
#include "tern/maildir.h"
#include "tern/str.h"
#include "tern/xalloc.h"

static bool exists(const char *dir, const char *rel)
{
    char *p = fs_join(dir, rel);
    struct stat st;
    bool ok = stat(p, &st) == 0;

    free(p);
    return ok;
}

START_TEST(flags_normalised)
{
    static const struct {
        const char *in, *add, *del, *out;
    } cases[] = {
        { "", NULL, NULL, "" },
        { "SRF", NULL, NULL, "FRS" },
        { "TSDPRF", NULL, NULL, "DFPRST" },
        { "SSa", NULL, NULL, "Sa" },          /* duplicates dropped, unknown lower case kept */
        { "xS", "F", NULL, "FSx" },           /* upper before lower (ASCII order) */
        { "FS", NULL, "F", "S" },
        { "S", "R", "S", "R" },
        { "S,1-", NULL, NULL, "S" },          /* non-letters are not flags */
    };
    char out[MAILDIR_FLAGS_MAX + 1];

    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        maildir_flags_edit(cases[i].in, cases[i].add, cases[i].del, out);
        ck_assert_msg(strcmp(out, cases[i].out) == 0, "case %zu: %s", i, out);
    }
    ck_assert_uint_eq(maildir_flags_bits("FRSx"), MDF_FLAGGED | MDF_REPLIED | MDF_SEEN);
    ck_assert_uint_eq(maildir_flags_bits("DPT"), MDF_DRAFT | MDF_PASSED | MDF_TRASHED);
}
END_TEST

START_TEST(names_split)
{
    size_t ul;
    const char *f;

    f = maildir_name_split("123.M1P2Q3.host:2,FS", &ul);
    ck_assert_uint_eq(ul, strlen("123.M1P2Q3.host"));
    ck_assert_str_eq(f, "FS");
    f = maildir_name_split("123.host", &ul);
    ck_assert_uint_eq(ul, 8);
    ck_assert_str_eq(f, "");
    f = maildir_name_split("a:1,xyz", &ul);
    ck_assert_uint_eq(ul, 1);
    ck_assert_str_eq(f, "");
    f = maildir_name_split("h\\072x:2,", &ul);
    ck_assert_uint_eq(ul, 6);
    ck_assert_str_eq(f, "");
}
END_TEST

START_TEST(deliver_new_and_cur)
{
    char *d = test_tmpdir();
    char *md = fs_join(d, "a/b/INBOX");
    char *path = NULL;
    struct err e;
    struct stat st;

    ck_assert_int_eq(maildir_create(md, &e), 0);
    ck_assert(maildir_is_maildir(md));
    char *tmpd = fs_join(md, "tmp");
    ck_assert_int_eq(stat(tmpd, &st), 0);
    ck_assert_uint_eq(st.st_mode & 0777, 0700);
    free(tmpd);
    ck_assert_int_eq(maildir_deliver(md, "Subject: x\n\nbody\n", 17, NULL, &path, &e), 0);
    ck_assert_ptr_nonnull(strstr(path, "/new/"));
    ck_assert_ptr_null(strchr(strrchr(path, '/'), ':'));
    ck_assert_int_eq(stat(path, &st), 0);
    ck_assert_int_eq(st.st_size, 17);
    free(path);
    ck_assert_int_eq(maildir_deliver(md, "x", 1, "SF", &path, &e), 0);
    ck_assert_ptr_nonnull(strstr(path, "/cur/"));
    ck_assert_str_eq(path + strlen(path) - 5, ":2,FS");
    free(path);
    ck_assert_uint_eq(test_count_entries(md, "new"), 1);
    ck_assert_uint_eq(test_count_entries(md, "cur"), 1);
    ck_assert_uint_eq(test_count_entries(md, "tmp"), 0);
    free(md);
    test_tmpdir_free(d);
}
END_TEST

START_TEST(two_phase_names_unique)
{
    char *d = test_tmpdir();
    struct maildir_tmp *t[50];
    struct err e;

    ck_assert_int_eq(maildir_create(d, &e), 0);
    for (int i = 0; i < 50; i++) {
        ck_assert_int_eq(maildir_tmp_open(d, &t[i], &e), 0);
        const char *n = maildir_tmp_name(t[i]);
        ck_assert_ptr_null(strchr(n, '/'));
        ck_assert_ptr_null(strchr(n, ':'));
        for (int j = 0; j < i; j++)
            ck_assert_str_ne(n, maildir_tmp_name(t[j]));
        ck_assert_int_eq(maildir_tmp_write(t[i], "abc", 3, &e), 0);
    }
    ck_assert_uint_eq(test_count_entries(d, "tmp"), 50);
    for (int i = 0; i < 25; i++)
        maildir_tmp_abort(t[i]);
    for (int i = 25; i < 50; i++)
        ck_assert_int_eq(maildir_tmp_commit(t[i], NULL, NULL, &e), 0);
    ck_assert_int_eq(maildir_sync(d, &e), 0);
    ck_assert_uint_eq(test_count_entries(d, "tmp"), 0);
    ck_assert_uint_eq(test_count_entries(d, "new"), 25);
    test_tmpdir_free(d);
}
END_TEST

/* Which directories were fsynced: this test binary's fsync interposes libc's (libtern's
 * calls come here too) and remembers directory paths. */
static char synced[16][4096];
static int nsynced;

int fsync(int fd)
{
    char link[64];
    struct stat st;

    if (fstat(fd, &st) == 0 && S_ISDIR(st.st_mode) && nsynced < 16) {
        ssize_t n;

        snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
        n = readlink(link, synced[nsynced], sizeof synced[0] - 1);
        if (n > 0)
            synced[nsynced++][n] = '\0';
    }
    return (int)syscall(SYS_fsync, fd);
}

static bool was_synced(const char *dir)
{
    char real[4096];

    if (realpath(dir, real) == NULL)
        return false;
    for (int i = 0; i < nsynced; i++)
        if (strcmp(synced[i], real) == 0)
            return true;
    return false;
}

/* Issue 14, item 17: a flag rename (new/ -> cur/ here) and a new folder are made durable by
 * fsyncing the directories involved; a power cut must not undo them. */
START_TEST(flag_renames_and_new_folders_are_synced)
{
    char *top = test_tmpdir();
    char *d = fs_join(top, "Folder");
    char *path = NULL, *rel = NULL, *rel2 = NULL, *newrel, *cur, *nw;
    struct err e;

    nsynced = 0;
    ck_assert_int_eq(maildir_create(d, &e), 0);
    ck_assert(was_synced(d));
    ck_assert(was_synced(top));
    ck_assert_int_eq(maildir_deliver(d, "x", 1, NULL, &path, &e), 0);
    newrel = fs_join("new", strrchr(path, '/') + 1);
    cur = fs_join(d, "cur");
    nw = fs_join(d, "new");
    nsynced = 0;
    ck_assert_int_eq(maildir_set_flags(d, newrel, "S", NULL, &rel, &e), 0);
    ck_assert(was_synced(cur));
    ck_assert(was_synced(nw));
    nsynced = 0;
    ck_assert_int_eq(maildir_set_flags(d, rel, "F", NULL, &rel2, &e), 0);
    ck_assert(was_synced(cur));
    free(rel), free(rel2), free(newrel), free(path), free(cur), free(nw);
    rm_rf(top);
    free(d);
    free(top);
}
END_TEST

START_TEST(set_flags_and_lost_race)
{
    char *d = test_tmpdir();
    char *path = NULL, *rel = NULL, *rel2 = NULL;
    struct err e;

    ck_assert_int_eq(maildir_create(d, &e), 0);
    ck_assert_int_eq(maildir_deliver(d, "x", 1, NULL, &path, &e), 0);
    const char *base = strrchr(path, '/') + 1;
    char *newrel = fs_join("new", base);

    /* new/ -> cur/ with the flag */
    ck_assert_int_eq(maildir_set_flags(d, newrel, "S", NULL, &rel, &e), 0);
    ck_assert(str_startswith(rel, "cur/"));
    ck_assert_str_eq(rel + strlen(rel) - 4, ":2,S");
    ck_assert(exists(d, rel));
    ck_assert(!exists(d, newrel));
    /* lost race: the caller still holds the old new/ name; the message is found again */
    ck_assert_int_eq(maildir_set_flags(d, newrel, "F", NULL, &rel2, &e), 0);
    ck_assert_str_eq(rel2 + strlen(rel2) - 5, ":2,FS");
    ck_assert(exists(d, rel2));
    ck_assert_uint_eq(test_count_entries(d, "cur"), 1);
    /* gone: deleted by someone else */
    char *p2 = fs_join(d, rel2);
    ck_assert_int_eq(unlink(p2), 0);
    free(p2);
    free(rel);
    ck_assert_int_eq(maildir_set_flags(d, rel2, "R", NULL, &rel, &e), 1);
    ck_assert_ptr_null(rel);
    free(rel2);
    free(newrel);
    free(path);
    test_tmpdir_free(d);
}
END_TEST

START_TEST(mark_cur_keeps_flags)
{
    char *d = test_tmpdir();
    char *path = NULL, *rel = NULL;
    struct err e;

    ck_assert_int_eq(maildir_create(d, &e), 0);
    ck_assert_int_eq(maildir_deliver(d, "x", 1, NULL, &path, &e), 0);
    char *newrel = fs_join("new", strrchr(path, '/') + 1);
    ck_assert_int_eq(maildir_mark_cur(d, newrel, &rel, &e), 0);
    ck_assert_str_eq(rel + strlen(rel) - 3, ":2,");
    ck_assert(exists(d, rel));
    free(rel);
    free(newrel);
    free(path);
    test_tmpdir_free(d);
}
END_TEST

START_TEST(move_copy_delete)
{
    char *d = test_tmpdir();
    char *inbox = fs_join(d, "INBOX"), *trash = fs_join(d, "Trash"), *arch = fs_join(d, "Arch");
    char *path = NULL, *rel = NULL, *rel2 = NULL, *rel3 = NULL;
    struct err e;

    ck_assert_int_eq(maildir_create(inbox, &e), 0);
    ck_assert_int_eq(maildir_deliver(inbox, "hello", 5, "S", &path, &e), 0);
    char *crel = fs_join("cur", strrchr(path, '/') + 1);

    ck_assert_int_eq(maildir_copy(inbox, crel, arch, &rel, &e), 0);
    ck_assert(exists(arch, rel));
    ck_assert_str_eq(rel + strlen(rel) - 4, ":2,S");
    ck_assert(exists(inbox, crel));
    ck_assert_int_eq(maildir_move(inbox, crel, trash, &rel2, &e), 0);
    ck_assert(exists(trash, rel2));
    ck_assert(!exists(inbox, crel));
    /* delete outside Trash moves to Trash, inside Trash removes; in Trash the message
     * loses the T it was expunged with (other readers would purge all of Trash) */
    char *marked = NULL;
    ck_assert_int_eq(maildir_set_flags(arch, rel, "TF", NULL, &marked, &e), 0);
    free(rel);
    rel = marked;
    ck_assert_int_eq(maildir_delete(arch, rel, trash, &rel3, &e), 0);
    ck_assert(exists(trash, rel3));
    ck_assert_str_eq(strrchr(rel3, ','), ",FS");
    ck_assert_uint_eq(test_count_entries(trash, "cur"), 2);
    ck_assert_uint_eq(test_count_entries(arch, "cur"), 0);
    free(rel);
    ck_assert_int_eq(maildir_delete(trash, rel3, trash, &rel, &e), 0);
    ck_assert_ptr_null(rel);
    ck_assert_uint_eq(test_count_entries(trash, "cur"), 1);
    /* moving something already gone is not an error */
    ck_assert_int_eq(maildir_move(inbox, crel, arch, NULL, &e), 1);
    free(rel2);
    free(rel3);
    free(crel);
    free(path);
    free(inbox);
    free(trash);
    free(arch);
    test_tmpdir_free(d);
}
END_TEST

/* Copy, move and delete share the one ENOENT retry: a caller holding the new/ name of a
 * message another client has since moved to cur/ still reaches it; a removed one is 1. */
START_TEST(lost_race_for_every_operation)
{
    char *d = test_tmpdir();
    char *inbox = fs_join(d, "INBOX"), *arch = fs_join(d, "Arch"), *trash = fs_join(d, "Trash");
    char *path = NULL, *rel = NULL, *newrel, *moved = NULL;
    struct err e;

    ck_assert_int_eq(maildir_create(inbox, &e), 0);
    ck_assert_int_eq(maildir_deliver(inbox, "hello", 5, NULL, &path, &e), 0);
    newrel = fs_join("new", strrchr(path, '/') + 1);
    /* another client reads it: new/NAME -> cur/NAME:2,S */
    ck_assert_int_eq(maildir_set_flags(inbox, newrel, "S", NULL, &moved, &e), 0);
    free(moved);
    ck_assert_int_eq(maildir_copy(inbox, newrel, arch, &rel, &e), 0);
    ck_assert(exists(arch, rel));
    free(rel);
    ck_assert_int_eq(maildir_move(inbox, newrel, trash, &rel, &e), 0);
    ck_assert(str_startswith(rel, "cur/"));
    ck_assert(exists(trash, rel));
    ck_assert_uint_eq(test_count_entries(inbox, "cur"), 0);
    /* deleted inside Trash by the old name, then gone for every operation */
    ck_assert_int_eq(maildir_delete(trash, "new/x", trash, NULL, &e), 1);
    {
        char *nr = fs_join("new", strrchr(rel, '/') + 1);

        *strrchr(nr, ':') = '\0';
        ck_assert_int_eq(maildir_delete(trash, nr, trash, NULL, &e), 0);
        ck_assert_uint_eq(test_count_entries(trash, "cur"), 0);
        ck_assert_int_eq(maildir_delete(trash, nr, trash, NULL, &e), 1);
        ck_assert_int_eq(maildir_copy(trash, nr, arch, NULL, &e), 1);
        ck_assert_int_eq(maildir_move(trash, nr, arch, NULL, &e), 1);
        free(nr);
    }
    free(rel);
    free(newrel);
    free(path);
    free(inbox);
    free(arch);
    free(trash);
    test_tmpdir_free(d);
}
END_TEST

START_TEST(folders_discovered)
{
    char *d = test_tmpdir();
    char **names;
    size_t n;
    struct err e;
    char *p;

    for (int i = 0; i < 4; i++) {
        p = fs_join(d, (const char *[]){ "INBOX", "Sent", "Drafts", "Trash" }[i]);
        ck_assert_int_eq(maildir_create(p, &e), 0);
        free(p);
    }
    p = fs_join(d, "Work/Lists/tern");
    ck_assert_int_eq(maildir_create(p, &e), 0);
    free(p);
    p = fs_join(d, "INBOX/.Archive");
    ck_assert_int_eq(maildir_create(p, &e), 0);
    free(p);
    p = fs_join(d, "notmail");
    ck_assert_int_eq(mkdir(p, 0700), 0);
    free(p);
    ck_assert_int_eq(maildir_folders(d, &names, &n, &e), 0);
    ck_assert_uint_eq(n, 6);
    ck_assert_str_eq(names[0], "INBOX");
    ck_assert_str_eq(names[1], "Drafts");
    ck_assert_str_eq(names[2], "INBOX/.Archive");
    ck_assert_str_eq(names[3], "Sent");
    ck_assert_str_eq(names[4], "Trash");
    ck_assert_str_eq(names[5], "Work/Lists/tern");
    ck_assert_ptr_null(names[6]);
    for (size_t i = 0; i < n; i++) {
        char *fp = maildir_folder_path(d, names[i]);
        ck_assert(maildir_is_maildir(fp));
        free(fp);
    }
    maildir_folders_free(names);
    /* Maildir++: the root is INBOX when it is a Maildir itself */
    char *pp = fs_join(d, "pp");
    ck_assert_int_eq(maildir_create(pp, &e), 0);
    p = fs_join(pp, ".Sent");
    ck_assert_int_eq(maildir_create(p, &e), 0);
    free(p);
    p = maildir_folder_path(pp, "INBOX");
    ck_assert_str_eq(p, pp);
    free(p);
    ck_assert_int_eq(maildir_folders(pp, &names, &n, &e), 0);
    ck_assert_uint_eq(n, 2);
    ck_assert_str_eq(names[0], "INBOX");
    ck_assert_str_eq(names[1], "Sent");        /* the name dovecot shows for .Sent */
    maildir_folders_free(names);
    p = maildir_folder_path(pp, "Sent");
    ck_assert(test_endswith(p, "/pp/.Sent"));
    free(p);
    p = maildir_folder_path(d, "/abs/path");
    ck_assert_str_eq(p, "/abs/path");
    free(p);
    free(pp);
    test_tmpdir_free(d);
}
END_TEST

START_TEST(stamp_detects_change)
{
    char *d = test_tmpdir();
    struct maildir_stamp st;
    struct err e;

    ck_assert_int_eq(maildir_create(d, &e), 0);
    ck_assert_int_eq(maildir_stamp(d, &st, &e), 0);
    ck_assert_int_eq(maildir_deliver(d, "x", 1, NULL, NULL, &e), 0);
    ck_assert(maildir_changed(d, &st));
    test_tmpdir_free(d);
}
END_TEST

static Suite *maildir_suite(void)
{
    Suite *s = suite_create("maildir");
    TCase *tc = tcase_create("core");

    tcase_add_test(tc, flags_normalised);
    tcase_add_test(tc, names_split);
    tcase_add_test(tc, deliver_new_and_cur);
    tcase_add_test(tc, two_phase_names_unique);
    tcase_add_test(tc, set_flags_and_lost_race);
    tcase_add_test(tc, flag_renames_and_new_folders_are_synced);
    tcase_add_test(tc, mark_cur_keeps_flags);
    tcase_add_test(tc, move_copy_delete);
    tcase_add_test(tc, lost_race_for_every_operation);
    tcase_add_test(tc, folders_discovered);
    tcase_add_test(tc, stamp_detects_change);
    suite_add_tcase(s, tc);
    return s;
}

TEST_MAIN(maildir_suite)

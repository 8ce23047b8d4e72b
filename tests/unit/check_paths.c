/* Unit tests for src/conf/paths.c: the .tern layout, the mail root's one fallback, role
 * folders by setting and by layout (plain and Maildir++), folder names kept under the root. */
#include "config.h"

#include <sys/stat.h>

#include "testutil.h"
#include "tern/config.h"
#include "tern/fsutil.h"
#include "tern/maildir.h"
#include "tern/paths.h"
#include "tern/xalloc.h"

START_TEST(state_paths_and_root_fallback)
{
    char *p = paths_state("/m", PATH_POP3);
    char *home = getenv("HOME") ? xstrdup(getenv("HOME")) : NULL, *want;

    ck_assert_str_eq(p, "/m/.tern/pop3");
    free(p);
    p = paths_state("/m", PATH_QUEUE);
    ck_assert_str_eq(p, "/m/.tern/queue");
    free(p);
    p = paths_state("/m", PATH_COMPOSE);
    ck_assert_str_eq(p, "/m/.tern/compose");
    free(p);
    p = paths_state("/m", PATH_ADDRESSES);
    ck_assert_str_eq(p, "/m/.tern/addresses");
    free(p);
    /* a state file's name never makes a hidden file, nor none at all */
    {
        struct buf b = BUF_INIT;

        paths_state_file(&b, "/m", PATH_OAUTH, "work");
        ck_assert_str_eq(buf_cstr(&b), "/m/.tern/oauth/");
        buf_reset(&b);
        paths_state_file(&b, "/m", PATH_POP3, ".hidden");
        ck_assert_str_eq(buf_cstr(&b), "/m/.tern/pop3/_");
        buf_reset(&b);
        paths_state_file(&b, "/m", PATH_POP3, "");
        ck_assert_str_eq(buf_cstr(&b), "/m/.tern/pop3/_");
        buf_free(&b);
    }
    /* no mail root, or an empty one: the one default, everywhere the same */
    setenv("HOME", "/home/u", 1);
    p = paths_root(NULL);
    ck_assert_str_eq(p, "/home/u/Mail");
    free(p);
    p = paths_root("");
    ck_assert_str_eq(p, "/home/u/Mail");
    free(p);
    p = paths_state(NULL, PATH_QUEUE);
    ck_assert_str_eq(p, "/home/u/Mail/.tern/queue");
    free(p);
    want = maildir_folder_path(NULL, "Work");
    ck_assert_str_eq(want, "/home/u/Mail/Work");
    free(want);
    if (home) {
        setenv("HOME", home, 1);
        free(home);
    }
}
END_TEST

START_TEST(roles_plain_layout_and_settings)
{
    char *d = test_tmpdir(), *text = NULL, *p;
    struct config *cfg;
    struct err e;
    struct buf b = BUF_INIT;

    buf_printf(&b, "[general]\nmail_root = %s\n[account home]\nfrom = a@b\n"
               "[account work]\nfrom = w@b\nsent = Work/Sent\ntrash = Work/Bin\n"
               "drafts = Work/Drafts\ninbox = Work/INBOX\noutbox = Work/Queue\n", d);
    cfg = test_config("%s", buf_cstr(&b));
    ck_assert_str_eq(paths_role(cfg, NULL, NULL, ROLE_INBOX), "INBOX");
    ck_assert_str_eq(paths_role(cfg, NULL, NULL, ROLE_SENT), "Sent");
    ck_assert_str_eq(paths_role(cfg, NULL, NULL, ROLE_DRAFTS), "Drafts");
    ck_assert_str_eq(paths_role(cfg, NULL, NULL, ROLE_TRASH), "Trash");
    ck_assert_str_eq(paths_role(cfg, NULL, NULL, ROLE_OUTBOX), "Outbox");
    const struct account *w = config_account(cfg, "work");
    ck_assert_str_eq(paths_role(cfg, NULL, w, ROLE_SENT), "Work/Sent");
    ck_assert_str_eq(paths_role(cfg, NULL, w, ROLE_TRASH), "Work/Bin");
    ck_assert_str_eq(paths_role(cfg, NULL, w, ROLE_DRAFTS), "Work/Drafts");
    ck_assert_str_eq(paths_role(cfg, NULL, w, ROLE_INBOX), "Work/INBOX");
    ck_assert_str_eq(paths_role(cfg, NULL, w, ROLE_OUTBOX), "Work/Queue");
    /* every account's outbox is an outbox: home's default one and work's own */
    ck_assert_int_eq(paths_role_of(cfg, d, "Work/Queue"), ROLE_OUTBOX);
    ck_assert_int_eq(paths_role_of(cfg, d, "Work/Bin"), ROLE_TRASH);
    ck_assert_int_eq(paths_role_of(cfg, d, "Sent"), ROLE_SENT);
    ck_assert_int_eq(paths_role_of(cfg, d, "Outbox"), ROLE_OUTBOX);
    ck_assert_int_eq(paths_role_of(cfg, d, "Lists"), NROLES);
    p = paths_role_dir(cfg, NULL, w, ROLE_TRASH);
    buf_reset(&b);
    buf_printf(&b, "%s/Work/Bin", d);
    ck_assert_str_eq(p, buf_cstr(&b));
    free(p);
    ck_assert_int_eq(maildir_ensure_roles(cfg, &e), 0);
    for (int r = ROLE_INBOX; r <= ROLE_TRASH; r++) {
        p = paths_role_dir(cfg, NULL, NULL, (enum path_role)r);
        ck_assert_msg(maildir_is_maildir(p), "%s", p);
        free(p);
    }
    ck_assert(!paths_maildirpp(d));
    config_free(cfg);
    buf_free(&b);
    free(text);
    test_tmpdir_free(d);
}
END_TEST

/* A dovecot/Courier tree: the root is the INBOX Maildir, folders are .Name inside it. */
START_TEST(roles_maildirpp)
{
    char *d = test_tmpdir(), *p;
    struct config *cfg;
    struct err e;
    struct buf b = BUF_INIT;
    char **names;
    size_t n;

    ck_assert_int_eq(maildir_create(d, &e), 0);
    p = fs_join(d, ".Sub.folder");
    ck_assert_int_eq(maildir_create(p, &e), 0);
    free(p);
    buf_printf(&b, "[general]\nmail_root = %s\n[account home]\nfrom = a@b\n"
               "[account work]\nfrom = w@b\noutbox = Work/Queue\n", d);
    cfg = test_config("%s", buf_cstr(&b));
    ck_assert(paths_maildirpp(d));
    /* the names dovecot shows; the directories are the dot-folders */
    ck_assert_str_eq(paths_role(cfg, NULL, NULL, ROLE_SENT), "Sent");
    ck_assert_str_eq(paths_role(cfg, NULL, NULL, ROLE_OUTBOX), "Outbox");
    p = paths_role_dir(cfg, NULL, NULL, ROLE_INBOX);
    ck_assert_str_eq(p, d);                    /* INBOX is the root itself */
    free(p);
    for (int r = ROLE_SENT; r < NROLES; r++) {
        static const char *const dot[] = { "", "/.Sent", "/.Drafts", "/.Trash", "/.Outbox" };

        p = paths_role_dir(cfg, NULL, NULL, (enum path_role)r);
        buf_reset(&b);
        buf_printf(&b, "%s%s", d, dot[r]);
        ck_assert_str_eq(p, buf_cstr(&b));
        free(p);
    }
    /* an account's own outbox is a dot-folder too */
    p = paths_role_dir(cfg, NULL, config_account(cfg, "work"), ROLE_OUTBOX);
    buf_reset(&b);
    buf_printf(&b, "%s/.Work.Queue", d);
    ck_assert_str_eq(p, buf_cstr(&b));
    free(p);
    ck_assert_int_eq(paths_role_of(cfg, d, "Work/Queue"), ROLE_OUTBOX);
    ck_assert_int_eq(maildir_ensure_roles(cfg, &e), 0);
    ck_assert_int_eq(maildir_folders(d, &names, &n, &e), 0);
    ck_assert_uint_eq(n, 5);                   /* no Sent/Drafts/Trash beside the dot ones */
    ck_assert_str_eq(names[0], "INBOX");
    ck_assert_str_eq(names[1], "Drafts");
    ck_assert_str_eq(names[2], "Sent");
    ck_assert_str_eq(names[3], "Sub/folder");
    ck_assert_str_eq(names[4], "Trash");
    /* every listed name resolves back to its directory */
    for (size_t i = 1; i < n; i++) {
        p = maildir_folder_path(d, names[i]);
        ck_assert_msg(maildir_is_maildir(p), "%s -> %s", names[i], p);
        free(p);
    }
    p = maildir_folder_path(d, "Sub/folder");
    buf_reset(&b);
    buf_printf(&b, "%s/.Sub.folder", d);
    ck_assert_str_eq(p, buf_cstr(&b));
    free(p);
    /* a new folder typed in the client becomes a dot-folder dovecot sees */
    p = paths_folder_dir(d, "Archive/2024", &e);
    buf_reset(&b);
    buf_printf(&b, "%s/.Archive.2024", d);
    ck_assert_str_eq(p, buf_cstr(&b));
    free(p);
    maildir_folders_free(names);
    config_free(cfg);
    buf_free(&b);
    test_tmpdir_free(d);
}
END_TEST

/* Issue 12 item 10: a typed folder name never leaves the mail root. */
START_TEST(typed_names_stay_under_the_root)
{
    static const char *const bad[] = {
        "../x", "..", "a/../../x", "a/..", "/tmp/x", "~/x", "$HOME/x", ".", "./x", "a//b", "",
    };
    struct err e;
    char *p;

    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        p = paths_folder_dir("/m", bad[i], &e);
        ck_assert_msg(p == NULL, "accepted '%s' as %s", bad[i], p ? p : "");
        ck_assert_int_eq(e.cls, ERR_CONFIG);
    }
    p = paths_folder_dir("/m", "Work/Lists", &e);
    ck_assert_str_eq(p, "/m/Work/Lists");
    free(p);
    p = paths_folder_dir("/m", ".Sent", &e);
    ck_assert_str_eq(p, "/m/.Sent");
    free(p);
    p = paths_folder_dir("/m", "a..b", &e);          /* dots inside a name are fine */
    ck_assert_str_eq(p, "/m/a..b");
    free(p);
}
END_TEST

static Suite *paths_suite(void)
{
    Suite *s = suite_create("paths");
    TCase *tc = tcase_create("core");

    tcase_add_test(tc, state_paths_and_root_fallback);
    tcase_add_test(tc, roles_plain_layout_and_settings);
    tcase_add_test(tc, roles_maildirpp);
    tcase_add_test(tc, typed_names_stay_under_the_root);
    suite_add_tcase(s, tc);
    return s;
}

TEST_MAIN(paths_suite)

/* Unit tests for the sendmail command line: what cron, mailx, s-nail, git and scripts pass. */
#include "config.h"

#include "testutil.h"
#include "tern/crypt.h"
#include "tern/sendmail_args.h"

/* Parse a NULL-terminated list of arguments (argv[0] included). */
static int parse(struct sendmail_args *sa, char *err, const char *const *args)
{
    static char *argv[32];
    int argc = 0;

    while (args[argc] != NULL && argc < 31) {
        argv[argc] = (char *)args[argc];
        argc++;
    }
    argv[argc] = NULL;
    err[0] = '\0';
    return sendmail_args_parse(argc, argv, sa, err, 256);
}

#define ARGS(...) ((const char *const[]){ __VA_ARGS__, NULL })

START_TEST(cron_exact_call)
{
    struct sendmail_args sa;
    char err[256];

    ck_assert_int_eq(parse(&sa, err, ARGS("sendmail", "-FCronDaemon", "-i", "-B8BITMIME",
                                          "-oem", "ann")), 0);
    ck_assert_str_eq(sa.fullname, "CronDaemon");
    ck_assert(!sa.dot_ends);
    ck_assert_str_eq(sa.body, "8BITMIME");
    ck_assert_uint_eq(sa.nrcpts, 1);
    ck_assert_str_eq(sa.rcpts[0], "ann");
    ck_assert(!sa.extract);
}
END_TEST

START_TEST(separate_and_attached_values)
{
    struct sendmail_args sa;
    char err[256];

    ck_assert_int_eq(parse(&sa, err, ARGS("send", "-f", "a@x", "-F", "Ann Example", "-B",
                                          "7bit", "-N", "never", "-R", "hdrs", "-a", "work",
                                          "-c", "rc", "b@x", "c@x")), 0);
    ck_assert_str_eq(sa.from, "a@x");
    ck_assert_str_eq(sa.fullname, "Ann Example");
    ck_assert_str_eq(sa.body, "7bit");
    ck_assert_str_eq(sa.notify, "never");
    ck_assert_str_eq(sa.ret, "hdrs");
    ck_assert(sa.envid == NULL);
    ck_assert_str_eq(sa.account, "work");
    ck_assert_str_eq(sa.config, "rc");
    ck_assert_uint_eq(sa.nrcpts, 2);
    ck_assert(sa.dot_ends);
    ck_assert_int_eq(parse(&sa, err, ARGS("send", "-fa@x", "-Nsuccess,failure,delay",
                                          "-ra2@x", "-Cother", "b@x")), 0);
    ck_assert_str_eq(sa.from, "a2@x");    /* -r is -f; the last one wins */
    ck_assert_str_eq(sa.notify, "success,failure,delay");
    ck_assert_str_eq(sa.config, "other");
    ck_assert_int_eq(parse(&sa, err, ARGS("send", "-V", "env1", "b@x")), 0);
    ck_assert_str_eq(sa.envid, "env1");
    ck_assert_uint_eq(sa.nrcpts, 1);
    ck_assert_int_eq(parse(&sa, err, ARGS("send", "-Venv2", "b@x")), 0);
    ck_assert_str_eq(sa.envid, "env2");
}
END_TEST

START_TEST(mailx_git_and_modes)
{
    struct sendmail_args sa;
    char err[256];

    /* s-nail: sendmail -i [args] -- rcpt */
    ck_assert_int_eq(parse(&sa, err, ARGS("sendmail", "-i", "-oem", "--", "b@x", "c@x")), 0);
    ck_assert_uint_eq(sa.nrcpts, 2);
    ck_assert_str_eq(sa.rcpts[0], "b@x");
    /* bsd-mailx: sendmail -i -t */
    ck_assert_int_eq(parse(&sa, err, ARGS("sendmail", "-i", "-t")), 0);
    ck_assert(sa.extract);
    ck_assert_uint_eq(sa.nrcpts, 0);
    /* git send-email --smtp-server=PATH: -i, -f FROM, recipients */
    ck_assert_int_eq(parse(&sa, err, ARGS("sendmail", "-i", "-f", "a@x", "b@x")), 0);
    ck_assert_str_eq(sa.from, "a@x");
    /* delivery and error modes, historic no-ops, -bm, -v */
    ck_assert_int_eq(parse(&sa, err, ARGS("sendmail", "-odi", "-odb", "-oee", "-bm", "-v",
                                          "-m", "-n", "-U", "-Am", "-oXfoo", "-L", "tag",
                                          "-h", "5", "-V", "envid", "-O", "A=B", "b@x")), 0);
    ck_assert_int_eq(sa.verbose, 1);
    ck_assert(!sa.queue_only);
    ck_assert_uint_eq(sa.nrcpts, 1);
    ck_assert_int_eq(parse(&sa, err, ARGS("sendmail", "-odq", "-vv", "b@x")), 0);
    ck_assert(sa.queue_only);
    ck_assert_int_eq(sa.verbose, 2);
    ck_assert_int_eq(parse(&sa, err, ARGS("send", "--help")), 0);
    ck_assert(sa.help);
}
END_TEST

START_TEST(options_after_recipients_are_refused)
{
    struct sendmail_args sa;
    char err[256];

    ck_assert_int_eq(parse(&sa, err, ARGS("send", "bob@x", "-f", "e@x")), -1);
    ck_assert_str_eq(err, "'-f' after the recipients: options come first (nothing was sent)");
    ck_assert_int_eq(parse(&sa, err, ARGS("send", "-i", "--", "bob@x", "-v")), -1);
    ck_assert_int_eq(parse(&sa, err, ARGS("send", "bob@x", "-")), -1);
}
END_TEST

START_TEST(crypt_options)
{
    struct sendmail_args sa;
    char err[256];

    ck_assert_int_eq(parse(&sa, err, ARGS("tern", "--sign", "--encrypt", "--smime", "-t")), 0);
    ck_assert_int_eq(sa.crypt_on, CRYPT_SIGN | CRYPT_ENCRYPT | CRYPT_SMIME);
    ck_assert_int_eq(sa.crypt_off, 0);
    ck_assert(sa.extract);
    ck_assert_int_eq(parse(&sa, err, ARGS("tern", "--no-sign", "--pgp", "--no-encrypt", "bob")),
                     0);
    ck_assert_int_eq(sa.crypt_on, 0);
    ck_assert_int_eq(sa.crypt_off, CRYPT_SIGN | CRYPT_SMIME | CRYPT_ENCRYPT);
    ck_assert_uint_eq(sa.nrcpts, 1);
    /* not a prefix match, and after the recipients still refused */
    ck_assert_int_eq(parse(&sa, err, ARGS("tern", "--signature", "bob")), -1);
    ck_assert_int_eq(parse(&sa, err, ARGS("tern", "bob", "--sign")), -1);
}
END_TEST

START_TEST(bad_options)
{
    struct sendmail_args sa;
    char err[256];

    ck_assert_int_eq(parse(&sa, err, ARGS("send", "-f")), -1);
    ck_assert_str_eq(err, "option -f needs a value");
    ck_assert_int_eq(parse(&sa, err, ARGS("send", "-B", "9BIT", "b@x")), -1);
    ck_assert_str_eq(err, "-B takes 7BIT or 8BITMIME, not '9BIT'");
    ck_assert_int_eq(parse(&sa, err, ARGS("send", "-Nsometimes", "b@x")), -1);
    ck_assert_str_eq(err, "-N takes never or success,failure,delay, not 'sometimes'");
    ck_assert_int_eq(parse(&sa, err, ARGS("send", "-N", "success,sometimes", "b@x")), -1);
    ck_assert_int_eq(parse(&sa, err, ARGS("send", "-N", "", "b@x")), -1);
    ck_assert_str_eq(err, "-N takes never or success,failure,delay, not ''");
    ck_assert_int_eq(parse(&sa, err, ARGS("send", "-B", "7BIT,8BITMIME", "b@x")), -1);
    ck_assert_int_eq(parse(&sa, err, ARGS("send", "-R", "body", "b@x")), -1);
    ck_assert_str_eq(err, "-R takes full or hdrs, not 'body'");
    ck_assert_int_eq(parse(&sa, err, ARGS("send", "-bp")), -1);
    ck_assert_str_eq(err, "-bp: only -bm (deliver a message) is supported; see tern(1)");
    ck_assert_int_eq(parse(&sa, err, ARGS("send", "-Z", "b@x")), -1);
    ck_assert_str_eq(err, "unknown option '-Z'");
    ck_assert_int_eq(parse(&sa, err, ARGS("send", "--frob", "b@x")), -1);
}
END_TEST

static Suite *sendmail_args_suite(void)
{
    Suite *s = suite_create("sendmail_args");
    TCase *tc = tcase_create("core");

    tcase_add_test(tc, cron_exact_call);
    tcase_add_test(tc, separate_and_attached_values);
    tcase_add_test(tc, mailx_git_and_modes);
    tcase_add_test(tc, options_after_recipients_are_refused);
    tcase_add_test(tc, bad_options);
    tcase_add_test(tc, crypt_options);
    suite_add_tcase(s, tc);
    return s;
}

TEST_MAIN(sendmail_args_suite)

/* Unit tests for ~/.mailrc: keys, defaults, expansion, mailx lines, aliases, errors, secrets. */
#include "config.h"

#include <sys/stat.h>
#include <time.h>

#include <time.h>

#include "testutil.h"
#include "tern/config.h"
#include "tern/secret.h"

static struct config *parse_ok(const char *text)
{
    struct config *cfg = NULL;
    struct err e;

    if (config_parse("rc", text, strlen(text), &cfg, &e) < 0)
        ck_abort_msg("unexpected error: %s", e.msg);
    return cfg;
}

static void parse_fails(const char *text, const char *expect)
{
    struct config *cfg = NULL;
    struct err e;

    ck_assert_int_eq(config_parse("rc", text, strlen(text), &cfg, &e), -1);
    ck_assert_ptr_null(cfg);
    ck_assert_int_eq(e.cls, ERR_CONFIG);
    if (strcmp(e.msg, expect) != 0)
        ck_abort_msg("got '%s', expected '%s'", e.msg, expect);
}

START_TEST(defaults_without_accounts)
{
    struct config *cfg;

    setenv("HOME", "/home/ann", 1);
    cfg = parse_ok("");
    ck_assert_str_eq(cfg->mail_root, "/home/ann/Mail");
    ck_assert_ptr_null(cfg->editor);
    ck_assert_uint_eq(cfg->naccounts, 0);
    ck_assert_ptr_null(config_account(cfg, NULL));
    ck_assert_int_eq(cfg->queue_retry_min, 60);
    ck_assert_int_eq(cfg->queue_retry_max, 3600);
    ck_assert_int_eq(cfg->queue_lifetime, 5 * 86400);
    config_free(cfg);
}
END_TEST

START_TEST(every_account_key)
{
    struct config *cfg = parse_ok(
        "[general]\n"
        "mail_root = /var/mail/ann\n"
        "editor = vim -c 'set tw=72'\n"
        "default_account = Work\n"
        "queue_retry_min = 30s\n"
        "queue_retry_max = 2h\n"
        "queue_lifetime = 3d\n"
        "\n"
        "[account home]\n"
        "from = Ann <ann@home.example>\n"
        "pop3_host = pop.home.example\n"
        "pop3_user = ann\n"
        "password = \"se;cret\"\n"
        "\n"
        "[account Work]\n"
        "from = Ann Smith <ann@work.example>\n"
        "inbox = Work/INBOX\n"
        "sent = Work/Sent\n"
        "pop3_host = pop.work.example\n"
        "pop3_port = 1110\n"
        "pop3_tls = starttls\n"
        "pop3_user = asmith\n"
        "pop3_auth = apop\n"
        "pop3_keep = 14\n"
        "pop3_max_size = 20M\n"
        "smtp_host = smtp.work.example\n"
        "smtp_tls = tls\n"
        "smtp_user = asmith@work.example\n"
        "smtp_auth = login\n"
        "password_command = pass show work\n"
        "smtp_password = other\n"
        "tls_ca_file = /etc/work-ca.pem\n"
        "tls_fingerprint = AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89:"
        "AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89\n"
        "timeout = 2m\n");
    const struct account *w = config_account(cfg, NULL), *h = config_account(cfg, "HOME");

    ck_assert_str_eq(cfg->mail_root, "/var/mail/ann");
    ck_assert_str_eq(cfg->editor, "vim -c 'set tw=72'");
    ck_assert_int_eq(cfg->queue_retry_min, 30);
    ck_assert_int_eq(cfg->queue_retry_max, 7200);
    ck_assert_int_eq(cfg->queue_lifetime, 3 * 86400);
    ck_assert_uint_eq(cfg->naccounts, 2);
    ck_assert_str_eq(w->name, "Work");
    ck_assert_str_eq(w->from, "Ann Smith <ann@work.example>");
    ck_assert_str_eq(w->inbox, "Work/INBOX");
    ck_assert_str_eq(w->sent, "Work/Sent");
    ck_assert_int_eq(w->pop3_port, 1110);
    ck_assert_int_eq(w->pop3_tls, TLS_MODE_STARTTLS);
    ck_assert_int_eq(w->pop3_auth, AUTH_APOP);
    ck_assert_int_eq(w->pop3_keep, 14);
    ck_assert_int_eq(w->pop3_max_size, 20L * 1024 * 1024);
    ck_assert_int_eq(w->smtp_port, 465);
    ck_assert_int_eq(w->smtp_tls, TLS_MODE_TLS);
    ck_assert_int_eq(w->smtp_auth, AUTH_LOGIN);
    ck_assert_str_eq(w->smtp_user, "asmith@work.example");
    ck_assert_str_eq(w->password_command, "pass show work");
    ck_assert_str_eq(w->smtp_password, "other");
    ck_assert_str_eq(w->tls_ca_file, "/etc/work-ca.pem");
    ck_assert_int_eq(w->timeout, 120);
    /* home: defaults everywhere it said nothing */
    ck_assert_ptr_nonnull(h);
    ck_assert_str_eq(h->password, "se;cret");
    ck_assert_str_eq(h->inbox, "INBOX");
    ck_assert_ptr_null(h->sent);               /* the layout decides: tern/paths.h */
    ck_assert_int_eq(h->pop3_tls, TLS_MODE_TLS);
    ck_assert_int_eq(h->pop3_port, 995);
    ck_assert_int_eq(h->smtp_tls, TLS_MODE_STARTTLS);
    ck_assert_int_eq(h->smtp_port, 587);
    ck_assert_int_eq(h->pop3_keep, POP3_KEEP_NO);
    ck_assert_int_eq(h->pop3_auth, AUTH_AUTO);
    ck_assert_str_eq(h->smtp_user, "ann");       /* falls back to pop3_user */
    ck_assert_int_eq(h->timeout, 60);
    config_free(cfg);
}
END_TEST

START_TEST(first_account_is_default_and_ports_follow_tls)
{
    struct config *cfg = parse_ok("[account a]\npop3_tls = none\nsmtp_tls = none\n"
                                  "pop3_keep = yes\n[account b]\n");
    const struct account *a = config_account(cfg, NULL);

    ck_assert_str_eq(a->name, "a");
    ck_assert_int_eq(a->pop3_port, 110);
    ck_assert_int_eq(a->smtp_port, 587);
    ck_assert_int_eq(a->pop3_keep, POP3_KEEP_FOREVER);
    ck_assert_ptr_null(config_account(cfg, "c"));
    config_free(cfg);
}
END_TEST

START_TEST(expansion_of_home_and_vars)
{
    struct config *cfg;

    setenv("HOME", "/home/ann", 1);
    setenv("TERN_TEST_HOST", "mail.example.net", 1);
    cfg = parse_ok("[general]\nmail_root = ~/Maildirs/$TERN_TEST_HOST\n"
                   "[account x]\npop3_host = ${TERN_TEST_HOST}\npassword = pa$$word\n"
                   "tls_ca_file = ~/ca.pem\n");
    ck_assert_str_eq(cfg->mail_root, "/home/ann/Maildirs/mail.example.net");
    ck_assert_str_eq(cfg->accounts[0].pop3_host, "mail.example.net");
    ck_assert_str_eq(cfg->accounts[0].tls_ca_file, "/home/ann/ca.pem");
    ck_assert_str_eq(cfg->accounts[0].password, "pa$$word");   /* secrets are literal */
    config_free(cfg);
}
END_TEST

START_TEST(mailx_lines_and_aliases)
{
    struct config *cfg = parse_ok(
        "# a mailx file that tern shares\n"
        "set ask askcc append dot save crt\n"
        "set EDITOR=vi\n"
        "ignore Received Message-Id Resent-Message-Id \\\n"
        "   Status Mail-From Return-Path Via\n"
        "alias team alice@example.org \"Bob Jones <bob@example.org>\", carol@example.org\n"
        "alias boss Jane Q. Public <jane@example.org>\n"
        "unset autoprint\n"
        "\n"
        "[account home]\n"
        "pop3_host = pop.example.org\n"
        "retain From To Cc Subject Date\n"
        "smtp_host = smtp.example.org\n"
        "alias ann ann@example.net\n");
    const struct alias *a;

    ck_assert_uint_eq(cfg->naccounts, 1);
    ck_assert_str_eq(cfg->accounts[0].smtp_host, "smtp.example.org");
    ck_assert_uint_eq(cfg->naliases, 3);
    a = config_alias(cfg, "team");
    ck_assert_ptr_nonnull(a);
    ck_assert_uint_eq(a->naddrs, 3);
    ck_assert_str_eq(a->addrs[0], "alice@example.org");
    ck_assert_str_eq(a->addrs[1], "Bob Jones <bob@example.org>");
    ck_assert_str_eq(a->addrs[2], "carol@example.org");
    a = config_alias(cfg, "boss");
    ck_assert_uint_eq(a->naddrs, 1);
    ck_assert_str_eq(a->addrs[0], "Jane Q. Public <jane@example.org>");
    ck_assert_ptr_nonnull(config_alias(cfg, "ann"));
    ck_assert_uint_eq(cfg->nwarnings, 0);
    config_free(cfg);
    /* names before several angle addresses, alias names and bare addresses mixed (a
     * use-after-free found by fuzz_config in an earlier version of the merge) */
    cfg = parse_ok("alias x n1 n2 <a@b> m1 <c@d> team e@f g <h@i> tail\n");
    a = config_alias(cfg, "x");
    ck_assert_uint_eq(a->naddrs, 6);
    ck_assert_str_eq(a->addrs[0], "n1 n2 <a@b>");
    ck_assert_str_eq(a->addrs[1], "m1 <c@d>");
    ck_assert_str_eq(a->addrs[2], "team");
    ck_assert_str_eq(a->addrs[3], "e@f");
    ck_assert_str_eq(a->addrs[4], "g <h@i>");
    ck_assert_str_eq(a->addrs[5], "tail");
    ck_assert_uint_eq(cfg->nwarnings, 0);
    config_free(cfg);
}
END_TEST

/* A file in the '#:' form: mailx reads tern's lines as comments, tern reads them as INI. */
START_TEST(marked_lines_are_terns)
{
    struct config *cfg = parse_ok(
        "set ask\n"
        "alias team ann@example.org bob@example.org\n"
        "#: [general]\n"
        "#: mail_root = /m\n"
        "  #:[account home]\n"
        "#: from = Ann <ann@example.org>\n"
        "#: password_command = echo \\\n"
        "#:   secret\n"
        "alias boss jane@example.org\n"
        "somecommand that only s-nail knows\n"
        "#: smtp_host = smtp.example.org\n"
        "#: ; a tern comment\n");

    ck_assert_str_eq(cfg->mail_root, "/m");
    ck_assert_uint_eq(cfg->naccounts, 1);
    ck_assert_str_eq(cfg->accounts[0].from, "Ann <ann@example.org>");
    ck_assert_str_eq(cfg->accounts[0].smtp_host, "smtp.example.org");
    ck_assert_ptr_nonnull(strstr(cfg->accounts[0].password_command, "secret"));
    ck_assert_uint_eq(cfg->naliases, 2);
    ck_assert_uint_eq(config_alias(cfg, "team")->naddrs, 2);
    ck_assert_uint_eq(cfg->plain_ini_lines, 0);
    ck_assert_uint_eq(cfg->nwarnings, 0);
    config_free(cfg);
    /* a marked line is judged as tern's wherever it stands */
    parse_fails("#: [account a]\n#: this is wrong\n",
                "rc:2: expected 'key = value', a [section] or a mailx command, "
                "not 'this is wrong'");
}
END_TEST

/* Lines of a real s-nail file: none of them stops tern. */
START_TEST(snail_constructs_are_skipped)
{
    struct config *cfg = parse_ok(
        "wysh set indentprefix='> '\n"
        "set from=\"Ann <ann@example.org>\"\n"
        "define f {\n"
        "  read version\n"
        "  if \"$version\" =% 14\n"
        "    echo new\n"
        "  else\n"
        "    echo old\n"
        "  endif\n"
        "  [not a section]\n"
        "}\n"
        "account work {\n"
        "  set smtp=smtps://work.example.org\n"
        "  wysh set from='Ann <ann@work.example.org>'\n"
        "}\n"
        "if t\n"
        "  set crt\n"
        "elif r\n"
        "  this = not tern's\n"
        "endif\n"
        "commandalias xx '\\echo hello'\n"
        "ghost yy echo\n"
        "source_if ~/.mailrc.local\n"
        "vput vexpr result + 1 2\n"
        "set pipe-text/html=?* \\\n"
        "   lynx -dump\n"
        "[general]\n"
        "mail_root = /m\n"
        "define g {\n"
        "  xcall f\n"
        "}\n"
        "ignerr wysh set x=y\n"
        "[account home]\n"
        "pop3_host = pop.example.org\n"
        "alias late late@example.org\n");

    ck_assert_str_eq(cfg->mail_root, "/m");
    ck_assert_uint_eq(cfg->naccounts, 1);
    ck_assert_str_eq(cfg->accounts[0].pop3_host, "pop.example.org");
    ck_assert_ptr_nonnull(config_alias(cfg, "late"));
    ck_assert_uint_eq(cfg->plain_ini_lines, 4);
    ck_assert_int_eq(cfg->first_plain_ini_line, 27);
    ck_assert_uint_eq(cfg->nwarnings, 0);
    config_free(cfg);
}
END_TEST

START_TEST(unalias_and_whitespace_aliases)
{
    struct config *cfg = parse_ok(
        "alias team ann@example.org bob@example.org\n"
        "alias old old@example.org\n"
        "alias gone gone@example.org\n"
        "unalias old gone\n"
        "alias late1 x@example.org\n"
        "alias late2 y@example.org\n");
    const struct alias *a = config_alias(cfg, "team");

    ck_assert_uint_eq(a->naddrs, 2);
    ck_assert_str_eq(a->addrs[0], "ann@example.org");
    ck_assert_str_eq(a->addrs[1], "bob@example.org");
    ck_assert_ptr_null(config_alias(cfg, "old"));
    ck_assert_ptr_null(config_alias(cfg, "gone"));
    ck_assert_uint_eq(cfg->naliases, 3);
    config_free(cfg);
    cfg = parse_ok("alias a a@x\nalias b b@x\nunalias *\nalias c c@x\n");
    ck_assert_uint_eq(cfg->naliases, 1);
    ck_assert_str_eq(cfg->aliases[0].name, "c");
    config_free(cfg);
}
END_TEST

START_TEST(ignore_and_retain_weed_headers)
{
    struct config *cfg = parse_ok(
        "ignore Received Message-Id \\\n"
        "   Status X-Mailer\n"
        "discard DKIM-Signature\n"
        "unignore status\n");

    ck_assert_uint_eq(cfg->nhdr_ignore, 4);
    ck_assert(!config_header_shown(cfg, "received", 8));
    ck_assert(!config_header_shown(cfg, "X-Mailer: x", 8));
    ck_assert(!config_header_shown(cfg, "DKIM-Signature", 14));
    ck_assert(config_header_shown(cfg, "Status", 6));
    ck_assert(config_header_shown(cfg, "Subject", 7));
    config_free(cfg);
    /* a retain list wins: only its names are shown */
    cfg = parse_ok("ignore Received\nretain From To Subject Date\nunretain date\n");
    ck_assert(config_header_shown(cfg, "from", 4));
    ck_assert(config_header_shown(cfg, "Subject", 7));
    ck_assert(!config_header_shown(cfg, "Date", 4));
    ck_assert(!config_header_shown(cfg, "X-Other", 7));
    config_free(cfg);
    cfg = parse_ok("retain From\nunretain *\n");
    ck_assert_uint_eq(cfg->nhdr_retain, 0);
    ck_assert(config_header_shown(cfg, "X-Other", 7));
    config_free(cfg);
}
END_TEST

START_TEST(general_headers_setting_weeds)
{
    /* [general] headers names the fields shown, over any mailx retain/ignore line */
    struct config *cfg = parse_ok("retain Subject\n[general]\nheaders = From, Date X-Label\n");

    ck_assert(config_header_shown(cfg, "from", 4));
    ck_assert(config_header_shown(cfg, "X-Label: y", 7));
    ck_assert(config_header_shown(cfg, "Date", 4));
    ck_assert(!config_header_shown(cfg, "Subject", 7));
    ck_assert(!config_header_shown(cfg, "Dat", 3));
    config_free(cfg);
}
END_TEST

START_TEST(mailx_safe_marks_only_ini_lines)
{
    const char *in =
        "# mine\n"
        "set ask\r\n"
        "alias team a@x b@x\n"
        "[general]\n"
        "mail_root = ~/Mail\n"
        "; note\n"
        "\n"
        "[account home]\n"
        "password_command = echo \\\n"
        "  x\n"
        "retain From\n"
        "#: smtp_host = already\n"
        "from = Ann <a@x>";
    const char *want =
        "# mine\n"
        "set ask\r\n"
        "alias team a@x b@x\n"
        "#: [general]\n"
        "#: mail_root = ~/Mail\n"
        "#: ; note\n"
        "\n"
        "#: [account home]\n"
        "#: password_command = echo \\\n"
        "#:   x\n"
        "retain From\n"
        "#: smtp_host = already\n"
        "#: from = Ann <a@x>";
    struct config *cfg, *cfg2;
    struct err e;
    char *out = config_mailx_safe("rc", in, strlen(in), &e);

    ck_assert_ptr_nonnull(out);
    ck_assert_str_eq(out, want);
    /* the rewritten file means the same to tern and has no plain INI line left */
    cfg = parse_ok(in);
    cfg2 = parse_ok(out);
    ck_assert_uint_eq(cfg->plain_ini_lines, 7);
    ck_assert_int_eq(cfg->first_plain_ini_line, 4);
    ck_assert_uint_eq(cfg2->plain_ini_lines, 0);
    ck_assert_str_eq(cfg2->accounts[0].from, "Ann <a@x>");
    ck_assert_str_eq(cfg2->accounts[0].smtp_host, "already");
    ck_assert_uint_eq(cfg2->nhdr_retain, 1);
    config_free(cfg);
    config_free(cfg2);
    free(out);
    ck_assert_ptr_null(config_mailx_safe("rc", "[account a]\nbad line\n", 22, &e));
}
END_TEST

/* s-nail passes MAILRC=~/.mailrc on to its sendmail unexpanded. */
START_TEST(mailrc_variable_is_expanded)
{
    char *p;

    setenv("HOME", "/home/ann", 1);
    setenv("MAILRC", "~/.mailrc", 1);
    p = config_default_path(NULL);
    ck_assert_str_eq(p, "/home/ann/.mailrc");
    free(p);
    p = config_default_path("explicit");
    ck_assert_str_eq(p, "explicit");
    free(p);
    unsetenv("MAILRC");
}
END_TEST

START_TEST(pop3_keep_is_no_yes_or_days)
{
    struct config *cfg = parse_ok("[account a]\npop3_keep = 1\n[account b]\npop3_keep = YES\n"
                                  "[account c]\npop3_keep = no\n[account d]\npop3_keep = 30\n");

    ck_assert_int_eq(cfg->accounts[0].pop3_keep, 1);      /* one day, not "yes" */
    ck_assert_int_eq(cfg->accounts[1].pop3_keep, POP3_KEEP_FOREVER);
    ck_assert_int_eq(cfg->accounts[2].pop3_keep, POP3_KEEP_NO);
    ck_assert_int_eq(cfg->accounts[3].pop3_keep, 30);
    config_free(cfg);
    parse_fails("[account a]\npop3_keep = true\n",
                "rc:2: pop3_keep: 'true' is not valid: use no, yes or a number of days "
                "from 1 to 36500");
    parse_fails("[account a]\npop3_keep = on\n",
                "rc:2: pop3_keep: 'on' is not valid: use no, yes or a number of days "
                "from 1 to 36500");
    parse_fails("[account a]\npop3_keep = 0\n",
                "rc:2: pop3_keep: '0' is not valid: use no, yes or a number of days "
                "from 1 to 36500");
}
END_TEST

START_TEST(wrong_values_name_line_and_key)
{
    parse_fails("[account a]\n\nsmtp_port = abc\n",
                "rc:3: smtp_port: 'abc' is not valid: use a whole number from 1 to 65535");
    parse_fails("[account a]\npop3_tls = ssl\n",
                "rc:2: pop3_tls: 'ssl' is not valid: use tls, starttls or none");
    parse_fails("[account a]\nsmtp_auth = apop\n",
                "rc:2: smtp_auth: 'apop' is not valid: use auto, plain, login, xoauth2 or oauthbearer");
    parse_fails("[account a]\npop3_keep = sometimes\n",
                "rc:2: pop3_keep: 'sometimes' is not valid: use no, yes or a number of days "
                "from 1 to 36500");
    parse_fails("[general]\nqueue_retry_min = 5x\n",
                "rc:2: queue_retry_min: '5x' is not valid: use a duration from 1s to 86400s "
                "(suffix s, m, h or d)");
    parse_fails("[account a]\ntls_fingerprint = abcd\n",
                "rc:2: tls_fingerprint: 'abcd' is not valid: use a SHA-256 fingerprint: "
                "64 hex digits, colons allowed");
    parse_fails("pop3_host = x\n", "rc:1: 'pop3_host' stands before any [section]");
    parse_fails("[account a]\nthis is not ini\n",
                "rc:2: expected 'key = value', a [section] or a mailx command, "
                "not 'this is not ini'");
    parse_fails("[account a\n", "rc:1: section header without ']'");
    parse_fails("[general]\ndefault_account = nope\n[account a]\n",
                "rc: default_account 'nope' names no [account nope] section");
}
END_TEST

START_TEST(unknown_keys_warn_with_suggestion)
{
    struct config *cfg = parse_ok("[account a]\nsmtp_prot = 25\nfrobnicate = 1\n[extras]\n");

    ck_assert_uint_eq(cfg->nwarnings, 3);
    ck_assert_str_eq(cfg->warnings[0], "rc:4: unknown section [extras] ignored");
    ck_assert_str_eq(cfg->warnings[1],
                     "rc:2: unknown key 'smtp_prot' in [account a] (did you mean smtp_port?)");
    ck_assert_str_eq(cfg->warnings[2], "rc:3: unknown key 'frobnicate' in [account a]");
    ck_assert_int_eq(cfg->accounts[0].smtp_port, 587);
    config_free(cfg);
}
END_TEST

START_TEST(keys_and_colors_sections_are_kept_in_order)
{
    struct config *cfg = parse_ok("[keys]\nj = next\nk = previous\n[colors]\nquoted = green\n");

    ck_assert_uint_eq(cfg->nkeys, 2);
    ck_assert_str_eq(cfg->keys[0].name, "j");
    ck_assert_str_eq(cfg->keys[1].value, "previous");
    ck_assert_int_eq(cfg->keys[1].line, 3);
    ck_assert_uint_eq(cfg->ncolors, 1);
    ck_assert_str_eq(cfg->colors[0].value, "green");
    config_free(cfg);
}
END_TEST

START_TEST(file_permissions_warning)
{
    char *dir = test_tmpdir();
    char path[4200];
    struct config *cfg;
    struct err e;

    snprintf(path, sizeof path, "%s/mailrc", dir);
    test_write(path, "[account a]\npassword = x\n");
    chmod(path, 0644);
    ck_assert_int_eq(config_load(path, &cfg, &e), 0);
    ck_assert_uint_eq(cfg->nwarnings, 1);
    ck_assert(strstr(cfg->warnings[0], "holds a password and is readable by others") != NULL);
    ck_assert(strstr(cfg->warnings[0], "chmod 600") != NULL);
    config_free(cfg);
    chmod(path, 0600);
    ck_assert_int_eq(config_load(path, &cfg, &e), 0);
    ck_assert_uint_eq(cfg->nwarnings, 0);
    config_free(cfg);
    /* a command instead of a password: no warning even when readable */
    test_write(path, "[account a]\npassword_command = echo x\n");
    chmod(path, 0644);
    ck_assert_int_eq(config_load(path, &cfg, &e), 0);
    ck_assert_uint_eq(cfg->nwarnings, 0);
    config_free(cfg);
    /* writable by others: it names commands tern runs, password or not (issue 14, item 10) */
    chmod(path, 0664);
    ck_assert_int_eq(config_load(path, &cfg, &e), 0);
    ck_assert_uint_eq(cfg->nwarnings, 1);
    ck_assert(strstr(cfg->warnings[0], "is writable by others") != NULL);
    config_free(cfg);
    chmod(path, 0602);
    ck_assert_int_eq(config_load(path, &cfg, &e), 0);
    ck_assert_uint_eq(cfg->nwarnings, 1);
    config_free(cfg);
    /* a missing file gives the defaults */
    snprintf(path, sizeof path, "%s/absent", dir);
    ck_assert_int_eq(config_load(path, &cfg, &e), 0);
    ck_assert(!cfg->exists);
    ck_assert_uint_eq(cfg->naccounts, 0);
    config_free(cfg);
    test_tmpdir_free(dir);
}
END_TEST

START_TEST(password_command_success_and_failure)
{
    struct config *cfg = parse_ok(
        "[account ok]\npassword_command = printf 'hunter2\\nsecond line\\n'\n"
        "smtp_password_command = echo smtp-secret\n"
        "[account fails]\npassword_command = exit 3\n"
        "[account empty]\npassword_command = printf ''\n"
        "[account none]\n");
    struct err e;
    char *pw;

    pw = secret_get(config_account(cfg, "ok"), SECRET_POP3, &e);
    ck_assert_str_eq(pw, "hunter2");
    secret_free(pw);
    pw = secret_get(config_account(cfg, "ok"), SECRET_SMTP, &e);
    ck_assert_str_eq(pw, "smtp-secret");
    secret_free(pw);
    ck_assert_ptr_null(secret_get(config_account(cfg, "fails"), SECRET_POP3, &e));
    ck_assert_int_eq(e.cls, ERR_AUTH);
    ck_assert_str_eq(e.msg, "account fails: password_command failed (exit status 3)");
    ck_assert_ptr_null(secret_get(config_account(cfg, "empty"), SECRET_POP3, &e));
    ck_assert_str_eq(e.msg, "account empty: password_command printed nothing");
    ck_assert_ptr_null(secret_get(config_account(cfg, "none"), SECRET_SMTP, &e));
    ck_assert_str_eq(e.msg, "account none: no password: set password or password_command, "
                     "or run tern on a terminal to be asked");
    /* A password typed this session answers for an account that configures none. */
    ck_assert(secret_missing(config_account(cfg, "none"), SECRET_SMTP));
    {
        struct buf b = BUF_INIT;
        int p[2];
        char *pw;

        secret_format(&b, "none", "typed pw");
        secret_format(&b, "other", "x");
        ck_assert_int_eq(pipe(p), 0);
        ck_assert_int_eq(write(p[1], b.ptr, b.len), (ssize_t)b.len);
        close(p[1]);
        ck_assert_int_eq(secret_read_fd(p[0], &e), 0);
        buf_free(&b);
        ck_assert(!secret_missing(config_account(cfg, "none"), SECRET_SMTP));
        pw = secret_get(config_account(cfg, "none"), SECRET_POP3, &e);
        ck_assert_str_eq(pw, "typed pw");
        secret_free(pw);
        /* typed (to be asked again when refused) only where nothing is configured */
        ck_assert(secret_typed(config_account(cfg, "none"), SECRET_SMTP));
        secret_remember("ok", "typed too");
        ck_assert(!secret_typed(config_account(cfg, "ok"), SECRET_POP3));
        secret_forget("none");
        ck_assert(!secret_typed(config_account(cfg, "none"), SECRET_POP3));
        secret_forget_all();
        ck_assert(secret_missing(config_account(cfg, "none"), SECRET_POP3));
    }
    config_free(cfg);
}
END_TEST

/* tls = none towards a host that is not this one: the password goes in clear (item 10). */
START_TEST(cleartext_warned)
{
    struct config *cfg = parse_ok(
        "[account far]\npop3_host = pop.example.org\npop3_tls = none\npop3_user = u\n"
        "smtp_host = smtp.example.org\nsmtp_tls = none\n"
        "[account near]\npop3_host = 127.0.0.1\npop3_tls = none\nsmtp_host = localhost\n"
        "smtp_tls = none\npop3_user = u\n");

    ck_assert_uint_eq(cfg->nwarnings, 2);
    ck_assert(strstr(cfg->warnings[0], "account far: pop3_tls = none with pop.example.org: "
                     "the password goes over the network in clear") != NULL);
    ck_assert(strstr(cfg->warnings[1], "smtp_tls = none with smtp.example.org") != NULL);
    config_free(cfg);
}
END_TEST

/* The runner's bounds: output size, and time (the helper's whole process group is killed). */
START_TEST(secret_command_is_bounded)
{
    struct timespec t0, t1;
    struct err e;
    char *s;

    s = secret_command("a", "oauth_token_command", "head -c 100000 /dev/zero | tr '\\0' x", &e);
    ck_assert_ptr_null(s);
    ck_assert_str_eq(e.msg, "account a: oauth_token_command printed more than 65536 bytes");
    clock_gettime(CLOCK_MONOTONIC, &t0);
    s = secret_command_bounded("a", "password_command", "sleep 30; echo late", 1, &e);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    ck_assert_ptr_null(s);
    ck_assert_str_eq(e.msg, "account a: password_command gave no answer within 1 seconds");
    ck_assert_int_lt(t1.tv_sec - t0.tv_sec, 10);
    s = secret_command("a", "k", "printf 'tok\\nrest\\n'", &e);
    ck_assert_str_eq(s, "tok");
    secret_free(s);
}
END_TEST

START_TEST(describe_masks_passwords)
{
    struct config *cfg = parse_ok("[account a]\npassword = hunter2\nsmtp_host = s.example\n");
    char *text = config_describe(cfg);

    ck_assert(strstr(text, "hunter2") == NULL);
    ck_assert(strstr(text, "password               = ******** (set)") != NULL);
    ck_assert(strstr(text, "smtp_host              = s.example") != NULL);
    ck_assert(strstr(text, "[account a]   # default") != NULL);
    free(text);
    config_free(cfg);
}
END_TEST

START_TEST(compose_keys)
{
    struct config *cfg;

    setenv("HOME", "/home/ann", 1);
    cfg = parse_ok("[general]\nforward_as_attachment = on\ntext_flowed = yes\n"
                   "[account a]\nsignature = ~/.sig\n");
    ck_assert(cfg->forward_as_attachment);
    ck_assert(cfg->text_flowed);
    ck_assert_str_eq(cfg->accounts[0].signature, "/home/ann/.sig");
    config_free(cfg);
    cfg = parse_ok("[account a]\n");
    ck_assert(!cfg->forward_as_attachment);
    ck_assert_ptr_null(cfg->accounts[0].signature);
    config_free(cfg);
    parse_fails("[general]\nforward_as_attachment = sometimes\n",
                "rc:2: forward_as_attachment: 'sometimes' is not valid: use yes or no");
}
END_TEST

START_TEST(crlf_and_continuations)
{
    struct config *cfg = parse_ok("[account a]\r\nfrom = Ann <a@x>\r\n"
                                  "set foo=bar \\\r\n  more=stuff\r\nsmtp_host = s\r\n");

    ck_assert_str_eq(cfg->accounts[0].from, "Ann <a@x>");
    ck_assert_str_eq(cfg->accounts[0].smtp_host, "s");
    config_free(cfg);
}
END_TEST

START_TEST(dsn_keys)
{
    struct config *cfg = parse_ok("[account a]\ndsn_notify = failure, Delay\ndsn_return = headers\n"
                                  "[account b]\ndsn_notify = never\ndsn_return = FULL\n"
                                  "[account c]\n");

    ck_assert_str_eq(cfg->accounts[0].dsn_notify, "FAILURE,DELAY");
    ck_assert_str_eq(cfg->accounts[0].dsn_return, "HDRS");
    ck_assert_str_eq(cfg->accounts[1].dsn_notify, "NEVER");
    ck_assert_str_eq(cfg->accounts[1].dsn_return, "FULL");
    ck_assert_ptr_null(cfg->accounts[2].dsn_notify);
    ck_assert_ptr_null(cfg->accounts[2].dsn_return);
    config_free(cfg);
    parse_fails("[account a]\ndsn_notify = never,failure\n",
                "rc:2: dsn_notify: 'never,failure' is not valid: use never, or success, failure "
                "and delay separated by commas");
    parse_fails("[account a]\ndsn_notify = failure,failure\n",
                "rc:2: dsn_notify: 'failure,failure' is not valid: use never, or success, failure "
                "and delay separated by commas");
    parse_fails("[account a]\ndsn_notify = sometimes\n",
                "rc:2: dsn_notify: 'sometimes' is not valid: use never, or success, failure "
                "and delay separated by commas");
    parse_fails("[account a]\ndsn_return = body\n",
                "rc:2: dsn_return: 'body' is not valid: use full or headers");
}
END_TEST

static Suite *config_suite(void)
{
    Suite *s = suite_create("config");
    TCase *tc = tcase_create("core");

    tcase_add_test(tc, defaults_without_accounts);
    tcase_add_test(tc, every_account_key);
    tcase_add_test(tc, first_account_is_default_and_ports_follow_tls);
    tcase_add_test(tc, expansion_of_home_and_vars);
    tcase_add_test(tc, mailx_lines_and_aliases);
    tcase_add_test(tc, marked_lines_are_terns);
    tcase_add_test(tc, pop3_keep_is_no_yes_or_days);
    tcase_add_test(tc, mailrc_variable_is_expanded);
    tcase_add_test(tc, snail_constructs_are_skipped);
    tcase_add_test(tc, unalias_and_whitespace_aliases);
    tcase_add_test(tc, ignore_and_retain_weed_headers);
    tcase_add_test(tc, general_headers_setting_weeds);
    tcase_add_test(tc, mailx_safe_marks_only_ini_lines);
    tcase_add_test(tc, wrong_values_name_line_and_key);
    tcase_add_test(tc, unknown_keys_warn_with_suggestion);
    tcase_add_test(tc, keys_and_colors_sections_are_kept_in_order);
    tcase_add_test(tc, file_permissions_warning);
    tcase_add_test(tc, password_command_success_and_failure);
    tcase_add_test(tc, cleartext_warned);
    tcase_add_test(tc, describe_masks_passwords);
    tcase_add_test(tc, secret_command_is_bounded);
    tcase_add_test(tc, crlf_and_continuations);
    tcase_add_test(tc, compose_keys);
    tcase_add_test(tc, dsn_keys);
    suite_add_tcase(s, tc);
    return s;
}

TEST_MAIN(config_suite)

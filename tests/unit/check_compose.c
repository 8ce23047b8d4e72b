/* Unit tests for composing without the screen: editor file, scripted editor, send to the
 * queue, postpone and resume, crash recovery, reply account choice, the attachment check. */
#include "config.h"

#include <dirent.h>
#include <locale.h>
#include <sys/stat.h>

#include "testutil.h"
#include "../../src/ui/compose.h"
#include "tern/addrbook.h"
#include "tern/fsutil.h"
#include "tern/queue.h"
#include "tern/str.h"
#include "tern/xalloc.h"

static char *root;
static struct config *cfg;

static void setup(void)
{
    struct buf rc = BUF_INIT;
    struct err e;
    char *sig;

    root = test_tmpdir();
    sig = fs_join(root, "sig");
    test_write(sig, "Ann Example\nhttps://ann.example.org\n");
    buf_printf(&rc, "alias team ben@rowing.example \"Chloé Dubois <chloe@rowing.example>\"\n"
                    "[general]\nmail_root = %s/Mail\n"
                    "[account home]\nfrom = Ann Example <ann@example.org>\nsignature = %s\n"
                    "[account work]\nfrom = Ann Smith <ann@work.example>\ndrafts = WorkDrafts\n",
               root, sig);
    ck_assert_int_eq(config_parse("rc", rc.ptr, rc.len, &cfg, &e), 0);
    buf_free(&rc);
    free(sig);
}

static void teardown(void)
{
    config_free(cfg);
    rm_rf(root);
    free(root);
}

/* An "editor": a shell script run with the file as $1. */
static void use_editor(const char *script)
{
    char *path = fs_join(root, "editor.sh");

    test_write(path, script);
    chmod(path, 0755);
    free(cfg->editor);
    cfg->editor = path;
}

START_TEST(new_message_edit_and_queue)
{
    struct compose c;
    struct err e;
    struct stat st;
    bool changed;
    char *id = NULL, *dir;
    struct queue *q;
    struct queue_entry *ents;
    size_t n, orphans;
    struct buf msg = BUF_INIT, wire = BUF_INIT;

    ck_assert_int_eq(compose_start(&c, cfg, COMPOSE_NEW, NULL, NULL, NULL, &e), 0);
    ck_assert_str_eq(c.d.from, "Ann Example <ann@example.org>");
    ck_assert_str_eq(c.d.body.ptr, "\n\n-- \nAnn Example\nhttps://ann.example.org\n");
    ck_assert_int_eq(compose_write(&c, cfg, &e), 0);
    ck_assert_int_eq(stat(c.file, &st), 0);
    ck_assert_int_eq(st.st_mode & 0777, 0600);
    dir = fs_dirname(c.file);
    ck_assert_int_eq(stat(dir, &st), 0);
    ck_assert_int_eq(st.st_mode & 0777, 0700);
    free(dir);
    /* closing the editor without a change is noticed */
    use_editor("#!/bin/sh\nexit 0\n");
    ck_assert_int_eq(compose_run_editor(cfg, c.file, &e), 0);
    ck_assert_int_eq(compose_read(&c, cfg, &changed, &e), 0);
    ck_assert(!changed);
    use_editor("#!/bin/sh\n"
               "sed -i -e 's/^To: $/To: team/' -e 's/^Bcc: $/Bcc: boss@example.org/' "
               "-e 's/^Subject: $/Subject: Crew photo/' \"$1\"\n"
               "awk '{print} /^$/ && !d {print \"The photo is attached.\"; d=1}' \"$1\" "
               "> \"$1.new\" && mv \"$1.new\" \"$1\"\n");
    ck_assert_int_eq(compose_run_editor(cfg, c.file, &e), 0);
    ck_assert_int_eq(compose_read(&c, cfg, &changed, &e), 0);
    ck_assert(changed);
    ck_assert_str_eq(c.d.subject, "Crew photo");
    ck_assert(str_startswith(c.d.body.ptr, "The photo is attached.\n"));
    ck_assert(compose_forgot_attachment(&c.d));
    draft_attach_data(&c.d, "photo.jpg", NULL, "JPEG", 4);
    ck_assert(!compose_forgot_attachment(&c.d));
    compose_expand(&c, cfg);
    ck_assert_str_eq(c.d.to, "ben@rowing.example, Chloé Dubois <chloe@rowing.example>");
    ck_assert_int_eq(compose_send(&c, cfg, &id, &e), 0);
    ck_assert_int_ne(access(c.file, F_OK), 0);      /* the editor files are gone */
    ck_assert_int_ne(access(c.saved, F_OK), 0);
    compose_free(&c);
    /* the queue holds it durably, Bcc in the envelope, not on the wire */
    ck_assert_int_eq(queue_open(cfg->mail_root, &q, &e), 0);
    ck_assert_int_eq(queue_list(q, &ents, &n, &orphans, &e), 0);
    ck_assert_uint_eq(n, 1);
    ck_assert_str_eq(ents[0].id, id);
    ck_assert_str_eq(ents[0].account, "home");
    ck_assert_str_eq(ents[0].from, "ann@example.org");
    ck_assert_uint_eq(ents[0].nrcpts, 3);
    ck_assert_str_eq(ents[0].rcpts[2], "boss@example.org");
    ck_assert_int_eq(fs_read_file(ents[0].path, &msg, &e), 0);
    ck_assert(strstr(msg.ptr, "Bcc: boss@example.org") != NULL);
    queue_wire_form(msg.ptr, msg.len, &wire);
    ck_assert(strstr(wire.ptr, "boss@example.org") == NULL);
    ck_assert(strstr(wire.ptr, "filename=\"photo.jpg\"") != NULL);
    queue_list_free(ents, n);
    queue_close(q);
    buf_free(&msg);
    buf_free(&wire);
    free(id);
}
END_TEST

START_TEST(postpone_resume_and_send)
{
    struct compose c, r;
    struct err e;
    char *drafts = fs_join(cfg->mail_root, "Drafts/cur"), **paths;
    char *path;
    DIR *d;
    struct dirent *de;

    ck_assert_int_eq(compose_start(&c, cfg, COMPOSE_NEW, NULL, NULL, NULL, &e), 0);
    c.d.to = xstrdup("Дмитрий <dmitri@volkov.example>");
    c.d.subject = xstrdup("Черновик");
    buf_reset(&c.d.body);
    buf_adds(&c.d.body, "Не закончено…\n");
    draft_attach_data(&c.d, "план.txt", NULL, "пункт 1\n", strlen("пункт 1\n"));
    ck_assert_int_eq(compose_write(&c, cfg, &e), 0);
    ck_assert_int_eq(compose_postpone(&c, cfg, &e), 0);
    ck_assert_uint_eq(test_count_entries(drafts, NULL), 1);
    ck_assert_uint_eq(compose_leftovers(cfg, &paths), 0);   /* nothing left to recover */
    compose_list_free(paths, 0);
    d = opendir(drafts);
    while ((de = readdir(d)) && de->d_name[0] == '.')
        ;
    ck_assert(strstr(de->d_name, ":2,DS") != NULL);
    path = fs_join(drafts, de->d_name);
    closedir(d);
    ck_assert_int_eq(compose_start(&r, cfg, COMPOSE_RESUME, path, NULL, NULL, &e), 0);
    ck_assert_str_eq(r.d.to, "Дмитрий <dmitri@volkov.example>");
    ck_assert_str_eq(r.d.subject, "Черновик");
    ck_assert_str_eq(r.d.body.ptr, "Не закончено…\n");
    ck_assert_str_eq(r.d.message_id, c.d.message_id);
    ck_assert_uint_eq(r.d.natt, 1);
    ck_assert_str_eq(r.d.att[0].name, "план.txt");
    ck_assert_str_eq(r.d.att[0].data.ptr, "пункт 1\n");
    ck_assert_int_eq(compose_write(&r, cfg, &e), 0);
    ck_assert_int_eq(compose_send(&r, cfg, NULL, &e), 0);
    ck_assert_uint_eq(test_count_entries(drafts, NULL), 0);             /* the draft went to the queue */
    compose_free(&c);
    compose_free(&r);
    free(path);
    free(drafts);
}
END_TEST

START_TEST(crash_while_editing_is_recovered)
{
    struct compose c, r;
    struct err e;
    char **paths;
    size_t n;

    ck_assert_int_eq(compose_start(&c, cfg, COMPOSE_NEW, NULL, NULL, NULL, &e), 0);
    c.d.to = xstrdup("mum@family.example");
    ck_assert_int_eq(compose_write(&c, cfg, &e), 0);
    /* the user typed a subject, then tern died before reading the file back */
    sleep(1);
    use_editor("#!/bin/sh\nsed -i 's/^Subject: $/Subject: Sunday lunch/' \"$1\"\n");
    ck_assert_int_eq(compose_run_editor(cfg, c.file, &e), 0);
    n = compose_leftovers(cfg, &paths);
    ck_assert_uint_eq(n, 1);
    ck_assert_int_eq(compose_start(&r, cfg, COMPOSE_RESUME, paths[0], NULL, NULL, &e), 0);
    ck_assert_str_eq(r.d.to, "mum@family.example");
    ck_assert_str_eq(r.d.subject, "Sunday lunch");
    ck_assert(r.edited);
    compose_discard(&r);
    compose_list_free(paths, n);
    ck_assert_uint_eq(compose_leftovers(cfg, &paths), 0);
    compose_list_free(paths, 0);
    compose_free(&c);
    compose_free(&r);
}
END_TEST

START_TEST(reply_comes_from_the_addressed_account)
{
    struct compose c;
    struct err e;
    char *msg = fs_join(root, "orig.eml");

    test_write(msg, "From: Priya <priya@work.example>\nTo: Ann Smith <ann@work.example>\n"
                    "Cc: ann@example.org, tom@work.example\nSubject: Lunch\n"
                    "Message-ID: <l1@work.example>\n\nThursday?\n");
    ck_assert_int_eq(compose_start(&c, cfg, COMPOSE_REPLY_ALL, msg, NULL, NULL, &e), 0);
    ck_assert_str_eq(c.acct->name, "work");
    ck_assert_str_eq(c.d.from, "Ann Smith <ann@work.example>");
    ck_assert_str_eq(c.d.to, "Priya <priya@work.example>");
    ck_assert_str_eq(c.d.cc, "tom@work.example");         /* both own addresses left out */
    ck_assert_str_eq(c.d.in_reply_to, "<l1@work.example>");
    ck_assert(strstr(c.d.body.ptr, "> Thursday?\n") != NULL);
    ck_assert(strstr(c.d.body.ptr, "-- \n") == NULL);     /* work has no signature */
    compose_free(&c);
    ck_assert_int_eq(compose_start(&c, cfg, COMPOSE_REPLY, "/nonexistent", NULL, NULL, &e), -1);
    ck_assert(strstr(e.msg, "/nonexistent") != NULL);
    free(msg);
}
END_TEST

/* A reply to an encrypted message quotes its decrypted text: it is encrypted by default, in
 * the original's protocol, and refused when encryption is turned off. */
START_TEST(reply_to_encrypted_is_encrypted)
{
    struct compose c;
    struct err e;
    char *msg = fs_join(root, "enc.eml");

    test_write(msg, "From: Priya <priya@work.example>\nTo: ann@example.org\nSubject: [...]\n"
                    "Content-Type: application/pkcs7-mime; smime-type=enveloped-data\n"
                    "Content-Transfer-Encoding: base64\n\nMIAGCSqGSIb3DQEHA6CAMIACAQA=\n");
    ck_assert_int_eq(compose_start(&c, cfg, COMPOSE_REPLY, msg, NULL, NULL, &e), 0);
    ck_assert_int_eq(c.crypt, CRYPT_ENCRYPT | CRYPT_SMIME);
    ck_assert(c.quotes_decrypted);
    ck_assert_int_eq(compose_write(&c, cfg, &e), 0);
    c.crypt &= ~CRYPT_ENCRYPT;           /* the user presses E */
    ck_assert_int_eq(compose_send(&c, cfg, NULL, &e), -1);
    ck_assert_int_eq(e.cls, ERR_CONFIG);
    ck_assert(strstr(e.msg, "quotes decrypted text") != NULL);
    ck_assert_int_eq(access(c.file, F_OK), 0);            /* nothing lost */
    compose_discard(&c);
    compose_free(&c);
    /* a plain original: nothing forced */
    test_write(msg, "From: priya@work.example\nTo: ann@example.org\nSubject: hi\n\nhi\n");
    ck_assert_int_eq(compose_start(&c, cfg, COMPOSE_REPLY, msg, NULL, NULL, &e), 0);
    ck_assert_int_eq(c.crypt, 0);
    ck_assert(!c.quotes_decrypted);
    compose_free(&c);
    free(msg);
}
END_TEST

START_TEST(sending_needs_recipients)
{
    struct compose c;
    struct err e;

    ck_assert_int_eq(compose_start(&c, cfg, COMPOSE_NEW, NULL, NULL, NULL, &e), 0);
    ck_assert_int_eq(compose_write(&c, cfg, &e), 0);
    ck_assert_int_eq(compose_send(&c, cfg, NULL, &e), -1);
    ck_assert_str_eq(e.msg, "no recipients: fill in To, Cc or Bcc");
    ck_assert_int_eq(access(c.file, F_OK), 0);            /* nothing lost */
    compose_discard(&c);
    compose_free(&c);
}
END_TEST

START_TEST(readers_learn_senders_and_flowed_text)
{
    char *msg = fs_join(root, "in.eml");
    struct compose c;
    struct err e;
    struct addrbook *ab;
    char **res, *book = fs_join(cfg->mail_root, ".tern/addresses");
    size_t n;
    struct buf out = BUF_INIT;

    test_write(msg, "From: =?utf-8?q?Ol=C3=ADa?= Petrova <olga@petrova.example>\n"
                    "Date: Tue, 10 Nov 2026 10:00:00 +0000\nSubject: hi\n\ntext\n");
    compose_note_sender(cfg, msg);
    ck_assert_int_eq(addrbook_open(book, &ab, &e), 0);
    n = addrbook_complete(ab, cfg, "pet", &res, 5);
    ck_assert_uint_eq(n, 1);
    ck_assert_str_eq(res[0], "Olía Petrova <olga@petrova.example>");
    ck_assert_int_eq(addrbook_get(ab, 0)->last, 1794304800);
    addrbook_results_free(res, n);
    addrbook_free(ab);
    /* text_flowed: what is queued is format=flowed */
    cfg->text_flowed = true;
    ck_assert_int_eq(compose_start(&c, cfg, COMPOSE_NEW, NULL, NULL, NULL, &e), 0);
    c.d.to = xstrdup("x@example.org");
    ck_assert_int_eq(compose_write(&c, cfg, &e), 0);
    ck_assert_int_eq(compose_postpone(&c, cfg, &e), 0);
    compose_free(&c);
    {
        char *dir = fs_join(cfg->mail_root, "Drafts/cur"), *file;
        DIR *d = opendir(dir);
        struct dirent *de;

        while ((de = readdir(d)) && de->d_name[0] == '.')
            ;
        file = fs_join(dir, de->d_name);
        closedir(d);
        ck_assert_int_eq(fs_read_file(file, &out, &e), 0);
        ck_assert(strstr(out.ptr, "; format=flowed") != NULL);
        free(file);
        free(dir);
    }
    buf_free(&out);
    free(book);
    free(msg);
}
END_TEST

START_TEST(attachment_words)
{
    struct draft d;

    draft_init(&d);
    buf_adds(&d.body, "> the file you attached last time\nHi!\n-- \nSee attachments policy\n");
    ck_assert(!compose_forgot_attachment(&d));
    buf_adds(&d.body, "x");
    buf_reset(&d.body);
    buf_adds(&d.body, "Отчёт во Вложении.\n");
    ck_assert(compose_forgot_attachment(&d));
    buf_reset(&d.body);
    buf_adds(&d.body, "Please find ENCLOSED the form.\n");
    ck_assert(compose_forgot_attachment(&d));
    draft_free(&d);
}
END_TEST

static Suite *compose_suite(void)
{
    Suite *s = suite_create("compose");
    TCase *tc = tcase_create("core");

    setlocale(LC_ALL, "C.UTF-8");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, new_message_edit_and_queue);
    tcase_add_test(tc, postpone_resume_and_send);
    tcase_add_test(tc, crash_while_editing_is_recovered);
    tcase_add_test(tc, reply_comes_from_the_addressed_account);
    tcase_add_test(tc, sending_needs_recipients);
    tcase_add_test(tc, reply_to_encrypted_is_encrypted);
    tcase_add_test(tc, attachment_words);
    tcase_add_test(tc, readers_learn_senders_and_flowed_text);
    suite_add_tcase(s, tc);
    return s;
}

TEST_MAIN(compose_suite)

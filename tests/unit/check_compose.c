/* Unit tests for composing without the screen: editor file, scripted editor, send to the
 * queue, postpone and resume, crash recovery, reply account choice, the attachment check. */
#include "config.h"

#include <dirent.h>
#include <locale.h>
#include <sys/stat.h>

#include "testutil.h"
#include "tern/compose.h"
#include "tern/addrbook.h"
#include "tern/fsutil.h"
#include "tern/maildir.h"
#include "tern/flush.h"
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
    test_tmpdir_free(root);
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
    flush_wire_form(msg.ptr, msg.len, &wire);
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

/* What a crash does to a compose's locks: the kernel drops them with the process. */
static void crash(struct compose *c)
{
    fs_unlock(c->lock_fd);
    c->lock_fd = -1;
    fs_unlock(c->origin.lock_fd);
    c->origin.lock_fd = -1;
}

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
    /* while this tern edits it, no other offers or resumes it */
    ck_assert_uint_eq(compose_leftovers(cfg, &paths), 0);
    compose_list_free(paths, 0);
    ck_assert(strlen(c.file) > 4 && strcmp(c.file + strlen(c.file) - 4, ".eml") == 0);
    crash(&c);
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

START_TEST(resume_locks_and_edit_as_new)
{
    char *msg = fs_join(root, "held.eml");
    struct compose c, d;
    struct err e;

    test_write(msg, "From: Bob <bob@example.org>\nTo: ann@example.org\nSubject: Plans\n"
                    "Message-ID: <plans@example.org>\n\nsee you\n");
    /* one tern resumes it: another is refused while it edits */
    ck_assert_int_eq(compose_start(&c, cfg, COMPOSE_RESUME, msg, NULL, NULL, &e), 0);
    ck_assert_int_eq(compose_start(&d, cfg, COMPOSE_RESUME, msg, NULL, NULL, &e), -1);
    ck_assert_int_eq(e.cls, ERR_LOCKED);
    compose_free(&c);
    ck_assert_int_eq(compose_start(&d, cfg, COMPOSE_RESUME, msg, NULL, NULL, &e), 0);
    compose_free(&d);
    /* edited as new: its headers and text, no origin to remove, a Message-ID of its own */
    ck_assert_int_eq(compose_start(&c, cfg, COMPOSE_AS_NEW, msg, NULL, NULL, &e), 0);
    ck_assert_str_eq(c.d.subject, "Plans");
    ck_assert_str_eq(c.d.from, "Bob <bob@example.org>");
    ck_assert_ptr_null(c.origin.path);
    ck_assert_ptr_nonnull(c.d.message_id);
    ck_assert_ptr_null(strstr(c.d.message_id, "plans@example.org"));
    compose_free(&c);
    ck_assert_int_eq(access(msg, F_OK), 0);
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

/* tern send's path: the same alias rules, account choice by From, Date and Message-ID added. */
START_TEST(raw_message_shares_the_rules)
{
    const char *msg = "From: Ann Smith <ann@work.example>\nTo: team\nBcc: Team\n"
                      "Subject: hi\n\nbody\n";
    char *args[] = { "root", "team" };
    struct compose_raw r = { NULL, NULL, NULL, true, args, 2 };
    struct queue_entry ent;
    struct buf out = BUF_INIT;
    struct err e;
    const char *mid;

    memset(&ent, 0, sizeof ent);
    ck_assert_int_eq(compose_raw(cfg, &r, msg, strlen(msg), &ent, &out, &e), 0);
    ck_assert_str_eq(ent.account, "work");
    ck_assert_str_eq(ent.from, "ann@work.example");
    /* "team" twice (argument and To) and "Team" (an alias is a name, compared as the book
     * does) give each address once; the local "root" stays for sendmail's sake */
    ck_assert_uint_eq(ent.nrcpts, 3);
    ck_assert_str_eq(ent.rcpts[0], "root");
    ck_assert_str_eq(ent.rcpts[1], "ben@rowing.example");
    ck_assert_str_eq(ent.rcpts[2], "chloe@rowing.example");
    buf_cstr(&out);
    ck_assert(strncmp(out.ptr, "Date: ", 6) == 0);
    mid = strstr(out.ptr, "\nMessage-ID: <");
    ck_assert_ptr_nonnull(mid);
    /* one generator: build_message_id's 12 random bytes, the sender's domain */
    ck_assert_ptr_nonnull(strstr(mid, "@work.example>\n"));
    ck_assert_int_ge((int)(strchr(mid, '@') - strchr(mid, '.')), 25);
    ck_assert_ptr_nonnull(strstr(out.ptr, "\n\nbody\n"));
    queue_entry_free(&ent);
    buf_free(&out);

    /* an unknown account by name is a configuration error */
    r.account = "nope";
    memset(&ent, 0, sizeof ent);
    buf_init(&out);
    ck_assert_int_eq(compose_raw(cfg, &r, msg, strlen(msg), &ent, &out, &e), -1);
    ck_assert_int_eq(e.cls, ERR_CONFIG);
    queue_entry_free(&ent);
    buf_free(&out);
}
END_TEST

/* A reply or forward names its original in the queue entry (flag R or P, set once sent). */
START_TEST(reply_and_forward_name_their_original)
{
    static const struct { enum compose_kind kind; char flag; } cases[] = {
        { COMPOSE_REPLY, 'R' }, { COMPOSE_REPLY_ALL, 'R' }, { COMPOSE_FORWARD, 'P' },
    };
    char *inbox = fs_join(root, "Mail/INBOX"), *path = NULL;
    struct err e;
    const char *orig = "From: Priya <priya@work.example>\nTo: Ann Smith <ann@work.example>\n"
                       "Subject: Lunch\nMessage-ID: <l2@work.example>\n\nThursday?\n";

    ck_assert_int_eq(maildir_create(inbox, &e), 0);
    ck_assert_int_eq(maildir_deliver(inbox, orig, strlen(orig), NULL, &path, &e), 0);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct compose c;
        struct queue *q;
        struct queue_entry *ents;
        size_t n, orphans;
        char *id = NULL, *dir = realpath(inbox, NULL);

        ck_assert_int_eq(compose_start(&c, cfg, cases[i].kind, path, NULL, NULL, &e), 0);
        if (c.d.to == NULL)
            c.d.to = xstrdup("bob@example.org");
        ck_assert_int_eq(compose_send(&c, cfg, &id, &e), 0);
        compose_free(&c);
        ck_assert_int_eq(queue_open(cfg->mail_root, &q, &e), 0);
        ck_assert_int_eq(queue_list(q, &ents, &n, &orphans, &e), 0);
        ck_assert_int_ge(queue_find(ents, n, id), 0);
        {
            const struct queue_entry *qe = &ents[queue_find(ents, n, id)];

            ck_assert_int_eq(qe->answers.flag, cases[i].flag);
            ck_assert_uint_eq(qe->answers.n, 1);
            ck_assert_str_eq(qe->answers.msg[0].dir, dir);
            ck_assert_ptr_nonnull(strstr(path, qe->answers.msg[0].id));
        }
        queue_list_free(ents, n);
        queue_close(q);
        free(id);
        free(dir);
    }
    free(path);
    free(inbox);
}
END_TEST

/* Changes made on the compose screen (To, an attachment) are saved with the draft: a crash
 * then brings them back. */
START_TEST(screen_edits_survive_a_crash)
{
    struct compose c, r;
    struct err e;
    char **paths;
    size_t n;

    ck_assert_int_eq(compose_start(&c, cfg, COMPOSE_NEW, NULL, NULL, NULL, &e), 0);
    c.d.to = xstrdup("old@family.example");
    c.d.subject = xstrdup("Sunday");
    ck_assert_int_eq(compose_write(&c, cfg, &e), 0);
    /* on the compose screen: a new To, an attachment */
    free(c.d.to);
    c.d.to = xstrdup("new@family.example");
    draft_attach_data(&c.d, "menu.txt", "text/plain", "soup\n", 5);
    ck_assert_int_eq(compose_checkpoint(&c, cfg, &e), 0);
    /* tern dies here */
    crash(&c);
    n = compose_leftovers(cfg, &paths);
    ck_assert_uint_eq(n, 1);
    ck_assert_int_eq(compose_start(&r, cfg, COMPOSE_RESUME, paths[0], NULL, NULL, &e), 0);
    ck_assert_str_eq(r.d.to, "new@family.example");
    ck_assert_str_eq(r.d.subject, "Sunday");
    ck_assert_uint_eq(r.d.natt, 1);
    ck_assert(!r.text_broken);
    compose_discard(&r);
    compose_list_free(paths, n);
    compose_free(&c);
    compose_free(&r);
}
END_TEST

/* A newer editor file with a header error is what recovery offers (to fix), never the older
 * copy; and nothing overwrites it until it is fixed. */
START_TEST(recovery_never_offers_the_older_copy)
{
    struct compose c, r;
    struct err e;
    struct buf text = BUF_INIT;
    char **paths;
    size_t n;
    bool changed;

    ck_assert_int_eq(compose_start(&c, cfg, COMPOSE_NEW, NULL, NULL, NULL, &e), 0);
    c.d.to = xstrdup("mum@family.example");
    ck_assert_int_eq(compose_write(&c, cfg, &e), 0);
    use_editor("#!/bin/sh\nsed -i -e 's/^Subject: $/Subject: Newer/' "
               "-e '1i Not a header line' \"$1\"\n");
    ck_assert_int_eq(compose_run_editor(cfg, c.file, &e), 0);
    ck_assert_int_eq(compose_read(&c, cfg, &changed, &e), -1);   /* the error is shown */
    ck_assert(c.text_broken);
    ck_assert_int_eq(compose_checkpoint(&c, cfg, &e), 0);       /* must not overwrite */
    /* tern dies; the next start */
    crash(&c);
    n = compose_leftovers(cfg, &paths);
    ck_assert_uint_eq(n, 1);
    ck_assert_int_eq(compose_start(&r, cfg, COMPOSE_RESUME, paths[0], NULL, NULL, &e), 0);
    ck_assert(r.text_broken);
    ck_assert_ptr_nonnull(strstr(r.broken.msg, "Not a header line"));
    ck_assert_int_eq(fs_read_file(r.file, &text, &e), 0);
    buf_cstr(&text);
    ck_assert_ptr_nonnull(strstr(text.ptr, "Subject: Newer"));
    ck_assert_ptr_nonnull(strstr(text.ptr, "Not a header line"));
    buf_free(&text);
    compose_discard(&r);
    compose_list_free(paths, n);
    compose_free(&c);
    compose_free(&r);
}
END_TEST

/* What a forward of two tagged messages answers survives postponing to Drafts, a crash, and
 * taking a queued message back for editing: the message finally sent still names both. */
START_TEST(answers_survive_drafts_crashes_and_requeueing)
{
    char *inbox = fs_join(root, "Mail/INBOX"), *path = NULL, *path2 = NULL, *dir;
    const char *orig = "From: Priya <priya@work.example>\nTo: Ann Smith <ann@work.example>\n"
                       "Subject: Plans\nMessage-ID: <p3@work.example>\n\nWhen?\n";
    const char *orig2 = "From: Ben <ben@work.example>\nTo: Ann Smith <ann@work.example>\n"
                        "Subject: Plans too\nMessage-ID: <p4@work.example>\n\nWhere?\n";
    const char *both[2];
    struct compose c, r;
    struct queue *q;
    struct queue_entry *ents;
    struct err e;
    char **paths, *id = NULL;
    size_t n;

    ck_assert_int_eq(maildir_create(inbox, &e), 0);
    ck_assert_int_eq(maildir_deliver(inbox, orig, strlen(orig), NULL, &path, &e), 0);
    ck_assert_int_eq(maildir_deliver(inbox, orig2, strlen(orig2), NULL, &path2, &e), 0);
    dir = realpath(inbox, NULL);
    both[0] = path;
    both[1] = path2;
    /* a forward of both, postponed to Drafts, resumed from there */
    ck_assert_int_eq(compose_start_many(&c, cfg, COMPOSE_FORWARD, both, 2, NULL, NULL, &e), 0);
    ck_assert_uint_eq(c.nanswers, 2);
    c.d.to = xstrdup("bob@example.org");
    ck_assert_int_eq(compose_write(&c, cfg, &e), 0);
    ck_assert_int_eq(compose_postpone(&c, cfg, &e), 0);
    compose_free(&c);
    {
        char *drafts = fs_join(root, "Mail/WorkDrafts"), *d = NULL;
        char cmd[4200];
        FILE *f;

        snprintf(cmd, sizeof cmd, "find '%s' '%s/Mail/Drafts' -type f 2>/dev/null | head -n 1",
                 drafts, root);
        f = popen(cmd, "r");
        ck_assert_ptr_nonnull(f);
        d = xcalloc(1, 4096);
        ck_assert_ptr_nonnull(fgets(d, 4096, f));
        pclose(f);
        d[strcspn(d, "\n")] = '\0';
        ck_assert_int_eq(compose_start(&r, cfg, COMPOSE_RESUME, d, NULL, NULL, &e), 0);
        ck_assert_int_eq(r.answers_flag, 'P');
        ck_assert_uint_eq(r.nanswers, 2);
        ck_assert_str_eq(r.answers[1], path2);
        free(d);
        free(drafts);
    }
    /* the resumed draft is edited, tern dies: the recovery copy still knows */
    ck_assert_int_eq(compose_write(&r, cfg, &e), 0);
    compose_free(&r);
    n = compose_leftovers(cfg, &paths);
    ck_assert_uint_eq(n, 1);
    ck_assert_int_eq(compose_start(&c, cfg, COMPOSE_RESUME, paths[0], NULL, NULL, &e), 0);
    compose_list_free(paths, n);
    ck_assert_int_eq(c.answers_flag, 'P');
    ck_assert_uint_eq(c.nanswers, 2);
    ck_assert_int_eq(compose_send(&c, cfg, &id, &e), 0);
    compose_free(&c);
    /* queued; taken back for editing and queued again */
    ck_assert_int_eq(queue_open(cfg->mail_root, &q, &e), 0);
    ck_assert_int_eq(queue_list(q, &ents, &n, NULL, &e), 0);
    ck_assert_int_ge(queue_find(ents, n, id), 0);
    {
        const struct queue_entry *qe = &ents[queue_find(ents, n, id)];

        ck_assert_int_eq(qe->answers.flag, 'P');
        ck_assert_uint_eq(qe->answers.n, 2);
        ck_assert_str_eq(qe->answers.msg[0].dir, dir);
        ck_assert_str_eq(qe->answers.msg[1].dir, dir);
        ck_assert_ptr_nonnull(strstr(path, qe->answers.msg[0].id));
        ck_assert_ptr_nonnull(strstr(path2, qe->answers.msg[1].id));
        ck_assert_int_eq(compose_start(&r, cfg, COMPOSE_RESUME, qe->path, NULL, NULL, &e), 0);
    }
    queue_list_free(ents, n);
    ck_assert_int_eq(r.answers_flag, 'P');
    ck_assert_uint_eq(r.nanswers, 2);
    free(id);
    id = NULL;
    ck_assert_int_eq(compose_send(&r, cfg, &id, &e), 0);
    compose_free(&r);
    ck_assert_int_eq(queue_list(q, &ents, &n, NULL, &e), 0);
    ck_assert_uint_eq(n, 1);
    ck_assert_int_eq(ents[0].answers.flag, 'P');
    ck_assert_uint_eq(ents[0].answers.n, 2);
    queue_list_free(ents, n);
    queue_close(q);
    free(id);
    free(dir);
    free(path);
    free(path2);
    free(inbox);
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
    tcase_add_test(tc, resume_locks_and_edit_as_new);
    tcase_add_test(tc, reply_comes_from_the_addressed_account);
    tcase_add_test(tc, sending_needs_recipients);
    tcase_add_test(tc, reply_to_encrypted_is_encrypted);
    tcase_add_test(tc, attachment_words);
    tcase_add_test(tc, raw_message_shares_the_rules);
    tcase_add_test(tc, screen_edits_survive_a_crash);
    tcase_add_test(tc, recovery_never_offers_the_older_copy);
    tcase_add_test(tc, reply_and_forward_name_their_original);
    tcase_add_test(tc, answers_survive_drafts_crashes_and_requeueing);
    tcase_add_test(tc, readers_learn_senders_and_flowed_text);
    suite_add_tcase(s, tc);
    return s;
}

TEST_MAIN(compose_suite)

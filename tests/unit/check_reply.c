/* Unit tests for reply and forward drafts. */
#include "config.h"

#include <dirent.h>
#include <locale.h>

#include "testutil.h"
#include "tern/build.h"
#include "tern/fsutil.h"
#include "tern/header.h"
#include "tern/mime.h"
#include "tern/render.h"
#include "tern/reply.h"
#include "tern/str.h"
#include "tern/xalloc.h"

static const char *const own[] = { "ann@example.org", "ann.work@example.com" };
static const struct identity me = { "Ann Example <ann@example.org>", own, 2, NULL };

static const char original[] =
    "From: Ben Ortiz <ben@rowing.example>\n"
    "Reply-To: Crew <crew@rowing.example>\n"
    "To: Ann Example <ANN@example.org>, Chloé <chloe@rowing.example>\n"
    "Cc: ann.work@example.com, Dmitri <dmitri@volkov.example>, ben@rowing.example\n"
    "Subject: =?utf-8?q?Regatta_=E2=80=94_who_is_racing=3F?=\n"
    "Date: Wed, 18 Nov 2026 11:06:40 +0000\n"
    "Message-ID: <regatta4@demo.example.org>\n"
    "References: <regatta1@demo.example.org> <regatta3@demo.example.org>\n"
    "List-Post: <mailto:crew@lists.rowing.example>\n"
    "\n"
    "Ann: stroke is yours.\n"
    "> earlier quote\n"
    "\n"
    "Ben\n"
    "\n"
    "-- \n"
    "Ben Ortiz, club captain\n";

#define LEN(s) (sizeof(s) - 1)

START_TEST(reply_to_sender_uses_reply_to)
{
    struct draft d;
    struct err e;

    draft_init(&d);
    ck_assert_int_eq(reply_draft(original, LEN(original), REPLY_SENDER, &me, &d, &e), 0);
    ck_assert_str_eq(d.from, "Ann Example <ann@example.org>");
    ck_assert_str_eq(d.to, "Crew <crew@rowing.example>");
    ck_assert_ptr_null(d.cc);
    ck_assert_str_eq(d.subject, "Re: Regatta — who is racing?");
    ck_assert_str_eq(d.in_reply_to, "<regatta4@demo.example.org>");
    ck_assert_str_eq(d.references, "<regatta1@demo.example.org> <regatta3@demo.example.org> "
                                   "<regatta4@demo.example.org>");
    ck_assert_str_eq(d.body.ptr, "On Wed, 18 Nov 2026 11:06, Ben Ortiz wrote:\n"
                                 "> Ann: stroke is yours.\n"
                                 ">> earlier quote\n"
                                 ">\n"
                                 "> Ben\n"
                                 "\n");
    draft_free(&d);
}
END_TEST

START_TEST(reply_all_drops_own_and_duplicates)
{
    struct draft d;
    struct err e;

    draft_init(&d);
    ck_assert_int_eq(reply_draft(original, LEN(original), REPLY_ALL, &me, &d, &e), 0);
    ck_assert_str_eq(d.to, "Crew <crew@rowing.example>, Chloé <chloe@rowing.example>");
    ck_assert_str_eq(d.cc, "Dmitri <dmitri@volkov.example>, ben@rowing.example");
    draft_free(&d);
}
END_TEST

START_TEST(reply_to_list_and_missing_list)
{
    const char plain[] = "From: x@y.example\nSubject: Re: hi\n\ntext\n";
    struct draft d;
    struct err e;

    draft_init(&d);
    ck_assert_int_eq(reply_draft(original, LEN(original), REPLY_LIST, &me, &d, &e), 0);
    ck_assert_str_eq(d.to, "crew@lists.rowing.example");
    draft_free(&d);
    draft_init(&d);
    ck_assert_int_eq(reply_draft(plain, LEN(plain), REPLY_LIST, &me, &d, &e), -1);
    ck_assert_str_eq(e.msg, "this message has no List-Post address to reply to");
    draft_free(&d);
    draft_init(&d);
    ck_assert_int_eq(reply_draft(plain, LEN(plain), REPLY_SENDER, &me, &d, &e), 0);
    ck_assert_str_eq(d.subject, "Re: hi");          /* no "Re: Re:" */
    ck_assert_ptr_null(d.in_reply_to);              /* nothing to thread on */
    ck_assert_str_eq(d.body.ptr, "x@y.example wrote:\n> text\n\n");
    draft_free(&d);
}
END_TEST

START_TEST(reply_to_own_message_goes_to_its_recipients)
{
    const char sent[] = "From: Ann Example <ann@example.org>\nTo: Mum <mum@family.example>\n"
                        "Subject: Sunday\nMessage-ID: <s1@x>\n\nYes!\n";
    struct draft d;
    struct err e;

    draft_init(&d);
    ck_assert_int_eq(reply_draft(sent, LEN(sent), REPLY_SENDER, &me, &d, &e), 0);
    ck_assert_str_eq(d.to, "Mum <mum@family.example>");
    draft_free(&d);
}
END_TEST

START_TEST(references_are_capped_keeping_the_root)
{
    struct buf msg = BUF_INIT;
    struct draft d;
    struct err e;

    buf_adds(&msg, "From: a@b.example\nMessage-ID: <last@x>\nReferences:");
    for (int i = 0; i < 40; i++)
        buf_printf(&msg, " <r%d@x>", i);
    buf_adds(&msg, "\n\nbody\n");
    draft_init(&d);
    ck_assert_int_eq(reply_draft(msg.ptr, msg.len, REPLY_SENDER, &me, &d, &e), 0);
    ck_assert(str_startswith(d.references, "<r0@x> <r22@x> "));
    ck_assert(strstr(d.references, "<r39@x> <last@x>") != NULL);
    size_t n = 0;
    for (const char *p = d.references; (p = strchr(p, '<')); p++)
        n++;
    ck_assert_uint_eq(n, 20);
    draft_free(&d);
    buf_free(&msg);
}
END_TEST

static const char with_attachment[] =
    "From: Yuki Tanaka <yuki@tanaka.example>\nTo: ann@example.org\nSubject: Logo\n"
    "Date: Wed, 18 Nov 2026 11:06:40 +0000\nMIME-Version: 1.0\n"
    "Content-Type: multipart/mixed; boundary=\"b\"\n\n"
    "--b\nContent-Type: text/plain; charset=utf-8\n\nHere is the logo.\n"
    "--b\nContent-Type: image/png\nContent-Disposition: attachment; filename=\"logo.png\"\n"
    "Content-Transfer-Encoding: base64\n\naGVsbG8gcG5n\n--b--\n";

START_TEST(forward_inline_keeps_attachments)
{
    struct draft d;
    struct err e;

    draft_init(&d);
    ck_assert_int_eq(forward_draft(with_attachment, LEN(with_attachment), false, &me, &d, &e),
                     0);
    ck_assert_str_eq(d.subject, "Fwd: Logo");
    ck_assert_ptr_null(d.to);
    ck_assert(strstr(d.body.ptr, "---------- Forwarded message ----------\n"
                                 "From: Yuki Tanaka <yuki@tanaka.example>\n") != NULL);
    ck_assert(strstr(d.body.ptr, "Subject: Logo\n") != NULL);
    ck_assert(strstr(d.body.ptr, "Here is the logo.") != NULL);
    ck_assert_uint_eq(d.natt, 1);
    ck_assert_str_eq(d.att[0].name, "logo.png");
    ck_assert_str_eq(d.att[0].type, "image/png");
    ck_assert_uint_eq(d.att[0].data.len, 9);
    ck_assert_int_eq(memcmp(d.att[0].data.ptr, "hello png", 9), 0);
    draft_free(&d);
}
END_TEST

START_TEST(forward_as_attachment_round_trips)
{
    struct draft d;
    struct err e;
    struct buf out = BUF_INIT;
    struct build_opts o = { .date = 1795000000 };
    struct mime_tree t;
    int found = 0;

    draft_init(&d);
    ck_assert_int_eq(forward_draft(with_attachment, LEN(with_attachment), true, &me, &d, &e), 0);
    ck_assert_uint_eq(d.natt, 1);
    ck_assert_str_eq(d.att[0].type, "message/rfc822");
    ck_assert_str_eq(d.att[0].name, "Logo.eml");
    d.to = xstrdup("friend@example.net");
    ck_assert_int_eq(build_message(&d, &o, &out, &e), 0);
    mime_parse(out.ptr, out.len, &t);
    for (size_t i = 0; i < t.n; i++)
        if (strcmp(t.parts[i].type, "message/rfc822") == 0) {
            struct buf dec = BUF_INIT;
            mime_decode(&t.parts[i], &dec);
            ck_assert_uint_eq(dec.len, LEN(with_attachment));
            ck_assert_int_eq(memcmp(dec.ptr, with_attachment, dec.len), 0);
            buf_free(&dec);
            found = 1;
        }
    ck_assert(found);
    mime_free(&t);
    buf_free(&out);
    draft_free(&d);
}
END_TEST

/* Every corpus message: reply to all and both forwards build without a crash or a sanitizer
 * report, and what is built parses back with the quoted text in it. */
static int corpus_one(const char *path)
{
    struct buf msg = BUF_INIT, out = BUF_INIT;
    struct build_opts o = { .date = 1795000000, .domain = "example.org" };
    struct err e;
    int built = 0;

    ck_assert_int_eq(fs_read_file(path, &msg, &e), 0);
    for (int mode = 0; mode < 3; mode++) {
        struct draft d;

        draft_init(&d);
        if (mode == 0)
            ck_assert_int_eq(reply_draft(msg.ptr ? msg.ptr : "", msg.len, REPLY_ALL, &me, &d,
                                         &e), 0);
        else
            ck_assert_int_eq(forward_draft(msg.ptr ? msg.ptr : "", msg.len, mode == 2, &me, &d,
                                           &e), 0);
        if (d.to == NULL)
            d.to = xstrdup("someone@example.org");
        buf_reset(&out);
        /* A broken original can leave a recipient that does not parse: that is an error
         * the user sees on the compose screen, never a crash. */
        if (build_message(&d, &o, &out, &e) == 0) {
            struct mime_tree t;
            mime_parse(out.ptr, out.len, &t);
            ck_assert_uint_ge(t.n, 1);
            mime_free(&t);
            built++;
        }
        draft_free(&d);
    }
    buf_free(&msg);
    buf_free(&out);
    return built;
}

START_TEST(corpus_replies_and_forwards)
{
    const char *corpus = getenv("TERN_CORPUS");
    DIR *top = corpus ? opendir(corpus) : NULL;
    struct dirent *sub;
    size_t files = 0, built = 0;

    if (top == NULL)
        return;     /* the shared corpus is not here: nothing to check */
    while ((sub = readdir(top)) != NULL) {
        char *dir;
        DIR *d;
        struct dirent *de;

        if (sub->d_name[0] == '.')
            continue;
        dir = fs_join(corpus, sub->d_name);
        d = opendir(dir);
        while (d && (de = readdir(d)) != NULL) {
            char *path;
            if (de->d_name[0] == '.' || strcmp(de->d_name, "README.md") == 0)
                continue;
            path = fs_join(dir, de->d_name);
            built += (size_t)corpus_one(path);
            files++;
            free(path);
        }
        if (d)
            closedir(d);
        free(dir);
    }
    closedir(top);
    ck_assert_uint_gt(files, 100);
    /* nearly every message gives buildable replies and forwards */
    ck_assert_uint_gt(built, files * 3 * 9 / 10);
}
END_TEST

/* An address hidden in an encoded word of From, Reply-To, To or Cc never becomes a
 * recipient of a reply (issue 14, item 1): the raw field is split first. */
static const char *const smuggled[] = {
    "=?utf-8?b?Qm9iIDxldmlsQGF0dGFja2VyLmV4YW1wbGU+LA==?= <bob@bank.example>",
    "=?utf-8?q?Bob_=3Cevil=40attacker=2Eexample=3E=2C?= <bob@bank.example>",
    "=?utf-8?q?evil=40attacker=2Eexample=2C?= <bob@bank.example>",
    "bob@bank.example (=?utf-8?q?evil=40attacker=2Eexample=2C_x?=)",
    "grp: =?us-ascii?q?a=3B_evil=40attacker=2Eexample=2C?= <bob@bank.example>;",
};

START_TEST(reply_never_takes_addresses_from_encoded_words)
{
    static const char *const fields[] = { "From", "Reply-To", "To", "Cc" };
    enum reply_mode modes[] = { REPLY_SENDER, REPLY_ALL };

    for (size_t f = 0; f < 4; f++) {
        for (size_t m = 0; m < 2; m++) {
            struct buf msg = BUF_INIT;
            struct draft d;
            struct err e;

            buf_printf(&msg, "%s: %s\n", fields[f], smuggled[_i]);
            if (f != 0)
                buf_adds(&msg, "From: Carl <carl@x.example>\n");
            buf_adds(&msg, "Subject: s\nMessage-ID: <m@x>\n\nbody\n");
            draft_init(&d);
            ck_assert_int_eq(reply_draft(msg.ptr, msg.len, modes[m], &me, &d, &e), 0);
            ck_assert_msg(d.to == NULL || strstr(d.to, "attacker") == NULL ||
                          strstr(d.to, "\" <") != NULL, "%s: %s -> To: %s", fields[f],
                          smuggled[_i], d.to);
            ck_assert_msg(d.cc == NULL || strstr(d.cc, "attacker") == NULL ||
                          strstr(d.cc, "\" <") != NULL, "%s: %s -> Cc: %s", fields[f],
                          smuggled[_i], d.cc);
            for (size_t l = 0; l < 2; l++) {
                const char *v = l ? d.cc : d.to;
                struct addr *a;
                size_t n;

                if (v == NULL)
                    continue;
                addr_parse_list(v, strlen(v), &a, &n);
                for (size_t i = 0; i < n; i++)
                    ck_assert_msg(strstr(a[i].mailbox, "attacker") == NULL, "%s: %s -> %s",
                                  fields[f], smuggled[_i], a[i].mailbox);
                addr_list_free(a, n);
            }
            if (f <= 1 || m == 1)
                ck_assert_msg((d.to && strstr(d.to, "<bob@bank.example>")) ||
                              (d.cc && strstr(d.cc, "<bob@bank.example>")),
                              "%s: %s: bob lost (%s)", fields[f], smuggled[_i], d.to);
            draft_free(&d);
            buf_free(&msg);
        }
    }
    /* List-Post is a URL: an encoded word there is not a mailto either */
    {
        const char lp[] = "From: c@x.example\nList-Post: =?utf-8?q?=3Cmailto=3Aevil=40"
                          "attacker=2Eexample=3E?=\nSubject: s\n\nb\n";
        struct draft d;
        struct err e;

        draft_init(&d);
        reply_draft(lp, sizeof lp - 1, REPLY_LIST, &me, &d, &e);
        ck_assert_msg(d.to == NULL || strstr(d.to, "attacker") == NULL, "%s", d.to);
        draft_free(&d);
    }
}
END_TEST

static Suite *reply_suite(void)
{
    Suite *s = suite_create("reply");
    TCase *tc = tcase_create("core");

    setlocale(LC_ALL, "C.UTF-8");
    setenv("TZ", "UTC", 1);
    tcase_add_test(tc, reply_to_sender_uses_reply_to);
    tcase_add_test(tc, reply_all_drops_own_and_duplicates);
    tcase_add_test(tc, reply_to_list_and_missing_list);
    tcase_add_test(tc, reply_to_own_message_goes_to_its_recipients);
    tcase_add_test(tc, references_are_capped_keeping_the_root);
    tcase_add_test(tc, forward_inline_keeps_attachments);
    tcase_add_test(tc, forward_as_attachment_round_trips);
    tcase_add_test(tc, corpus_replies_and_forwards);
    tcase_add_loop_test(tc, reply_never_takes_addresses_from_encoded_words, 0,
                        sizeof smuggled / sizeof smuggled[0]);
    tcase_set_timeout(tc, 120);
    suite_add_tcase(s, tc);
    return s;
}

TEST_MAIN(reply_suite)

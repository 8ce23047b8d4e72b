/* Unit tests for the outgoing queue: state files, backoff, transitions, the queue on disk. */
#include "config.h"

#include <sys/stat.h>

#include "testutil.h"
#include "tern/fsutil.h"
#include "tern/queue.h"

static void entry_fill(struct queue_entry *q)
{
    memset(q, 0, sizeof *q);
    q->id = strdup("1764036000.M1P2Q3.host");
    q->account = strdup("work");
    q->from = strdup("ann@example.org");
    queue_entry_add_rcpt(q, "bob@example.org");
    queue_entry_add_rcpt(q, "secret-bcc@example.org");
    q->created = 1764036000;
    q->next = 1764036060;
    q->attempts = 1;
}

START_TEST(state_roundtrip)
{
    struct queue_entry q, r;
    struct err e;
    char *text, *again;

    entry_fill(&q);
    queue_entry_set_reply(&q, "451 4.3.0 try\r\nlater\033");
    q.sent_copied = true;
    q.state = QUEUE_FAILED;
    text = queue_state_format(&q);
    ck_assert_int_eq(queue_state_parse(text, strlen(text), &r, &e), 0);
    ck_assert_str_eq(r.id, q.id);
    ck_assert_str_eq(r.account, "work");
    ck_assert_str_eq(r.from, "ann@example.org");
    ck_assert_uint_eq(r.nrcpts, 2);
    ck_assert_str_eq(r.rcpts[1], "secret-bcc@example.org");
    ck_assert_str_eq(r.reply, "451 4.3.0 try  later?");
    ck_assert_int_eq(r.state, QUEUE_FAILED);
    ck_assert(r.sent_copied);
    ck_assert_int_eq(r.attempts, 1);
    ck_assert_int_eq((long)r.created, 1764036000);
    ck_assert_int_eq((long)r.next, 1764036060);
    again = queue_state_format(&r);
    ck_assert_str_eq(text, again);
    free(text);
    free(again);
    queue_entry_free(&q);
    queue_entry_free(&r);
}
END_TEST

static const char *const bad_states[] = {
    "",
    "tern-queue 2\nid x\naccount a\nfrom f\nstate queued\ncreated 1\n",
    "tern-queue 1\naccount a\nfrom f\nstate queued\ncreated 1\n",
    "tern-queue 1\nid x\naccount a\nfrom f\nstate maybe\ncreated 1\n",
    "tern-queue 1\nid x\naccount a\nfrom f\nstate queued\ncreated -5\n",
    "tern-queue 1\nid ../x\naccount a\nfrom f\nstate queued\ncreated 1\n",
    "tern-queue 1\nid x\naccount a\nfrom f\r\nstate queued\ncreated 1\n",
    "tern-queue 1\nid x\naccount a\nfrom f\nstate queued\ncreated 1\nbogus 1\n",
    "tern-queue 1\nid x\naccount a\nfrom f\nstate queued\n",
};

START_TEST(state_rejects)
{
    struct queue_entry r;
    struct err e;
    const char *t = bad_states[_i];

    ck_assert_int_eq(queue_state_parse(t, strlen(t), &r, &e), -1);
    ck_assert_int_eq(e.cls, ERR_PARSE);
}
END_TEST

START_TEST(backoff_doubles_and_caps)
{
    struct queue_policy p = { 60, 3600, 5 * 86400 };
    static const long want[] = { 60, 60, 120, 240, 480, 960, 1920, 3600, 3600 };

    for (int i = 0; i < 9; i++)
        ck_assert_int_eq(queue_backoff(&p, i), want[i]);
    ck_assert_int_eq(queue_backoff(&p, 1000000), 3600);
    p.retry_min = 7200;
    ck_assert_int_eq(queue_backoff(&p, 1), 3600);
}
END_TEST

START_TEST(transitions)
{
    struct queue_policy p = { 60, 3600, 86400 };
    struct queue_entry q;
    time_t t0 = 1764036000;

    entry_fill(&q);
    q.attempts = 0;
    q.created = t0;
    ck_assert(queue_due(&q, t0 + 60, false));
    queue_note_temp(&q, &p, t0, "451 later");
    ck_assert_int_eq(q.state, QUEUE_QUEUED);
    ck_assert_int_eq(q.attempts, 1);
    ck_assert_int_eq((long)q.next, (long)t0 + 60);
    ck_assert(!queue_due(&q, t0 + 59, false));
    ck_assert(queue_due(&q, t0 + 59, true));
    queue_note_temp(&q, &p, t0 + 60, "451 later");
    ck_assert_int_eq((long)q.next, (long)t0 + 60 + 120);
    /* the lifetime is over: failed, with the reason and the last reply */
    queue_note_temp(&q, &p, t0 + 86400, "451 4.3.0 still later");
    ck_assert_int_eq(q.state, QUEUE_FAILED);
    ck_assert_ptr_nonnull(strstr(q.reply, "gave up after 1 day"));
    ck_assert_ptr_nonnull(strstr(q.reply, "451 4.3.0 still later"));
    ck_assert(!queue_due(&q, t0 + 10 * 86400, true));
    queue_entry_free(&q);

    entry_fill(&q);
    queue_note_perm(&q, t0, "550 5.1.1 unknown");
    ck_assert_int_eq(q.state, QUEUE_FAILED);
    ck_assert_str_eq(q.reply, "550 5.1.1 unknown");
    ck_assert(!queue_due(&q, t0, true));
    queue_entry_free(&q);
}
END_TEST

START_TEST(wire_form_drops_bcc)
{
    static const char msg[] =
        "From: a@x\nBcc: hidden@x,\n other-hidden@x\nTo: b@x\nbcc: third@x\n"
        "Subject: Bcc: not a field\n\nBcc: body line stays\n";
    static const char want[] =
        "From: a@x\nTo: b@x\nSubject: Bcc: not a field\n\nBcc: body line stays\n";
    static const char crlf[] = "Bcc: h@x\r\nTo: b@x\r\n\r\nbody\r\n";
    struct buf b = BUF_INIT;

    queue_wire_form(msg, strlen(msg), &b);
    ck_assert_str_eq(buf_cstr(&b), want);
    buf_reset(&b);
    queue_wire_form(crlf, strlen(crlf), &b);
    ck_assert_str_eq(buf_cstr(&b), "To: b@x\r\n\r\nbody\r\n");
    buf_reset(&b);
    queue_wire_form("To: b@x\n\nno bcc\n", 16, &b);
    ck_assert_str_eq(buf_cstr(&b), "To: b@x\n\nno bcc\n");
    buf_free(&b);
}
END_TEST

START_TEST(on_disk)
{
    char *root = test_tmpdir();
    struct queue *q;
    struct queue_entry a, b, *ents;
    size_t n, orphans;
    struct err e;
    struct buf text = BUF_INIT;
    char *outbox;
    int fd;

    ck_assert_int_eq(queue_open(root, &q, &e), 0);
    outbox = strdup(queue_outbox(q));
    entry_fill(&a);
    free(a.id);
    a.id = NULL;
    a.created = 0;
    ck_assert_int_eq(queue_add(q, "Subject: one\n\nbody\n", 19, &a, &e), 0);
    ck_assert_ptr_nonnull(a.id);
    ck_assert(a.created > 0);
    entry_fill(&b);
    free(b.id);
    b.id = NULL;
    b.created = a.created + 1;
    ck_assert_int_eq(queue_add(q, "Subject: two\n\n", 14, &b, &e), 0);
    ck_assert_str_ne(a.id, b.id);

    /* a message in Outbox without state: counted, never listed */
    {
        char *p = fs_join(outbox, "new/123.orphan.host");
        test_write(p, "Subject: orphan\n\n");
        free(p);
    }
    ck_assert_int_eq(queue_list(q, &ents, &n, &orphans, &e), 0);
    ck_assert_uint_eq(n, 2);
    ck_assert_uint_eq(orphans, 1);
    ck_assert_str_eq(ents[0].id, a.id);
    ck_assert_str_eq(ents[1].id, b.id);
    ck_assert_ptr_nonnull(ents[0].path);
    ck_assert_int_eq(fs_read_file(ents[0].path, &text, &e), 0);
    ck_assert_str_eq(text.ptr, "Subject: one\n\nbody\n");
    ck_assert_int_eq(queue_find(ents, n, a.id), 0);
    ck_assert_int_eq(queue_find(ents, n, "nope"), -1);
    ck_assert_int_eq(queue_find(ents, n, "1"), -2);

    /* state changes survive */
    queue_note_perm(&ents[1], time(NULL), "550 no");
    ck_assert_int_eq(queue_save(q, &ents[1], &e), 0);
    ck_assert_int_eq(queue_remove(q, &ents[0], &e), 0);
    queue_list_free(ents, n);
    ck_assert_int_eq(queue_list(q, &ents, &n, NULL, &e), 0);
    ck_assert_uint_eq(n, 1);
    ck_assert_int_eq(ents[0].state, QUEUE_FAILED);
    ck_assert_str_eq(ents[0].reply, "550 no");

    /* the user deletes the message in Outbox: its state goes at the next listing */
    ck_assert_int_eq(unlink(ents[0].path), 0);
    queue_list_free(ents, n);
    ck_assert_int_eq(queue_list(q, &ents, &n, NULL, &e), 0);
    ck_assert_uint_eq(n, 0);
    queue_list_free(ents, n);

    /* one flusher at a time */
    fd = queue_lock(q, &e);
    ck_assert_int_ge(fd, 0);
    {
        struct queue *q2;

        ck_assert_int_eq(queue_open(root, &q2, &e), 0);
        ck_assert_int_eq(queue_lock(q2, &e), -1);
        ck_assert_int_eq(e.cls, ERR_LOCKED);
        queue_close(q2);
    }
    queue_close(q);
    queue_entry_free(&a);
    queue_entry_free(&b);
    buf_free(&text);
    free(outbox);
    rm_rf(root);
    free(root);
}
END_TEST

static Suite *queue_suite(void)
{
    Suite *s = suite_create("queue");
    TCase *t = tcase_create("core");

    tcase_add_test(t, state_roundtrip);
    tcase_add_loop_test(t, state_rejects, 0, sizeof bad_states / sizeof bad_states[0]);
    tcase_add_test(t, backoff_doubles_and_caps);
    tcase_add_test(t, transitions);
    tcase_add_test(t, wire_form_drops_bcc);
    tcase_add_test(t, on_disk);
    suite_add_tcase(s, t);
    return s;
}

TEST_MAIN(queue_suite)

/* Unit tests for the outgoing queue: state files, backoff, transitions, the queue on disk. */
#include "config.h"

#include <sys/stat.h>

#include "smtp_peer.h"
#include "testutil.h"
#include "tern/fsutil.h"
#include "tern/maildir.h"
#include "tern/flush.h"
#include "tern/queue.h"
#include "tern/secret.h"

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
    q.outbox = strdup("/mail/Queue/Work");
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
    ck_assert_str_eq(r.outbox, "/mail/Queue/Work");
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

/* tern send -N/-R/-V: normalised, kept in the state, read back; a state from before has none;
 * bad values refused. */
START_TEST(state_keeps_dsn)
{
    static const char old[] = "tern-queue 1\nid x\naccount a\nfrom f\nstate queued\ncreated 1\n";
    struct queue_entry q, r;
    struct err e;
    char *text;

    entry_fill(&q);
    ck_assert_int_eq(queue_entry_set_dsn(&q, "success,Failure", "hdrs", "env+id=1", &e), 0);
    ck_assert_str_eq(q.dsn_notify, "SUCCESS,FAILURE");
    ck_assert_str_eq(q.dsn_ret, "HDRS");
    text = queue_state_format(&q);
    ck_assert(strstr(text, "\ndsn-notify SUCCESS,FAILURE\ndsn-ret HDRS\ndsn-envid env+id=1\n"));
    ck_assert_int_eq(queue_state_parse(text, strlen(text), &r, &e), 0);
    ck_assert_str_eq(r.dsn_notify, "SUCCESS,FAILURE");
    ck_assert_str_eq(r.dsn_ret, "HDRS");
    ck_assert_str_eq(r.dsn_envid, "env+id=1");
    queue_entry_free(&r);
    free(text);
    ck_assert_int_eq(queue_entry_set_dsn(&q, "never", NULL, NULL, &e), 0);
    ck_assert_str_eq(q.dsn_notify, "NEVER");
    ck_assert_int_eq(queue_entry_set_dsn(&q, "never,success", NULL, NULL, &e), -1);
    ck_assert_int_eq(queue_entry_set_dsn(&q, "success,success", NULL, NULL, &e), -1);
    ck_assert_int_eq(queue_entry_set_dsn(&q, "success,", NULL, NULL, &e), -1);
    ck_assert_int_eq(queue_entry_set_dsn(&q, NULL, "headers", NULL, &e), -1);
    ck_assert_int_eq(queue_entry_set_dsn(&q, NULL, NULL, "a b", &e), -1);
    ck_assert_int_eq(queue_entry_set_dsn(&q, NULL, NULL, "caf\xc3\xa9", &e), -1);
    ck_assert_str_eq(q.dsn_notify, "NEVER");   /* a refused value changes nothing */
    queue_entry_free(&q);
    ck_assert_int_eq(queue_state_parse(old, strlen(old), &r, &e), 0);
    ck_assert(r.dsn_notify == NULL && r.dsn_ret == NULL && r.dsn_envid == NULL);
    queue_entry_free(&r);
}
END_TEST

/* A message answering several (`;r`, `;f` on tagged messages) keeps each original through
 * the state file; a state written with one answer (the form before) still reads. */
START_TEST(state_keeps_every_answered_message)
{
    const char *one = "tern-queue 1\nid x\naccount a\nfrom f\nstate queued\ncreated 1\n"
                      "answers-flag R\nanswers-id 17.M1.h\nanswers-dir /m/INBOX\n";
    const char *two = "tern-queue 1\nid x\naccount a\nfrom f\nstate queued\ncreated 1\n"
                      "answers-flag P\nanswers-id 17.M1.h\nanswers-dir /m/INBOX\n"
                      "answers-id 18.M2.h\nanswers-dir /m/Lists\n";
    struct queue_entry r;
    struct err e;
    char *text;

    ck_assert_int_eq(queue_state_parse(one, strlen(one), &r, &e), 0);
    ck_assert_int_eq(r.answers.flag, 'R');
    ck_assert_uint_eq(r.answers.n, 1);
    ck_assert_str_eq(r.answers.msg[0].id, "17.M1.h");
    ck_assert_str_eq(r.answers.msg[0].dir, "/m/INBOX");
    queue_entry_free(&r);
    ck_assert_int_eq(queue_state_parse(two, strlen(two), &r, &e), 0);
    ck_assert_int_eq(r.answers.flag, 'P');
    ck_assert_uint_eq(r.answers.n, 2);
    ck_assert_str_eq(r.answers.msg[1].id, "18.M2.h");
    ck_assert_str_eq(r.answers.msg[1].dir, "/m/Lists");
    text = queue_state_format(&r);
    ck_assert_ptr_nonnull(strstr(text, strstr(two, "answers-flag")));
    free(text);
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
    "tern-queue 1\nid x\naccount a\nfrom f\nstate queued\ncreated 1\noutbox ../Queue\n",
    "tern-queue 1\nid x\naccount a\nfrom f\nstate queued\ncreated 1\noutbox Q//A\n",
    "tern-queue 1\nid x\naccount a\nfrom f\nstate queued\ncreated 1\ndsn-notify NEVER,DELAY\n",
    "tern-queue 1\nid x\naccount a\nfrom f\nstate queued\ncreated 1\ndsn-ret hdrs\n",
    "tern-queue 1\nid x\naccount a\nfrom f\nstate queued\ncreated 1\ndsn-envid a b\n",
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
    ck_assert_ptr_nonnull(strstr(q.reply, "gave up after 1 day and 3 attempts"));
    ck_assert_ptr_nonnull(strstr(q.reply, "451 4.3.0 still later"));
    ck_assert(!queue_due(&q, t0 + 10 * 86400, true));
    queue_entry_free(&q);
    /* one attempt is singular, as one hour is */
    entry_fill(&q);
    q.attempts = 0;
    q.created = t0;
    p.lifetime = 3600;
    queue_note_temp(&q, &p, t0 + 3600, "451 later");
    ck_assert_str_eq(q.reply, "gave up after 1 hour and 1 attempt: 451 later");
    queue_entry_free(&q);

    entry_fill(&q);
    queue_note_perm(&q, t0, "550 5.1.1 unknown");
    ck_assert_int_eq(q.state, QUEUE_FAILED);
    ck_assert_str_eq(q.reply, "550 5.1.1 unknown");
    ck_assert(!queue_due(&q, t0, true));
    queue_entry_free(&q);
}
END_TEST

/* The retry policy is one switch on the error class. */
static const struct {
    enum err_class cls;
    enum queue_state state;
} policy_cases[] = {
    { ERR_NET, QUEUE_QUEUED }, { ERR_TEMP, QUEUE_QUEUED }, { ERR_PROTO, QUEUE_QUEUED },
    { ERR_SYS, QUEUE_QUEUED }, { ERR_AUTH, QUEUE_HELD }, { ERR_TLS, QUEUE_HELD },
    { ERR_CONFIG, QUEUE_HELD }, { ERR_PERM, QUEUE_FAILED }, { ERR_PARSE, QUEUE_FAILED },
};

START_TEST(policy_by_class)
{
    struct queue_policy p = { 60, 3600, 5 * 86400 };
    struct queue_entry q, r;
    time_t t0 = 1764036000;
    struct err e;
    char *text;

    entry_fill(&q);
    q.created = t0;
    ck_assert_int_eq(queue_note_error(&q, &p, t0, policy_cases[_i].cls, "535 5.7.8 no",
                                      "fp1"), policy_cases[_i].state);
    ck_assert_int_eq(q.state, policy_cases[_i].state);
    ck_assert_str_eq(q.reply, "535 5.7.8 no");
    text = queue_state_format(&q);
    ck_assert_int_eq(queue_state_parse(text, strlen(text), &r, &e), 0);
    ck_assert_int_eq(r.state, q.state);
    if (q.state == QUEUE_HELD) {
        /* not due by time, ever; due when the settings changed or on request */
        ck_assert(!queue_due(&r, t0 + 100 * 86400, true));
        ck_assert_str_eq(r.held_config, "fp1");
        ck_assert(!queue_held_due(&r, "fp1", false));
        ck_assert(queue_held_due(&r, "fp2", false));
        ck_assert(queue_held_due(&r, "fp1", true));
        queue_release(&r, t0 + 10);
        ck_assert(queue_due(&r, t0 + 10, false));
        ck_assert_ptr_null(r.held_config);
    } else {
        ck_assert(!queue_held_due(&r, "fp2", true));
    }
    free(text);
    queue_entry_free(&q);
    queue_entry_free(&r);
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

    flush_wire_form(msg, strlen(msg), &b);
    ck_assert_str_eq(buf_cstr(&b), want);
    buf_reset(&b);
    flush_wire_form(crlf, strlen(crlf), &b);
    ck_assert_str_eq(buf_cstr(&b), "To: b@x\r\n\r\nbody\r\n");
    buf_reset(&b);
    flush_wire_form("To: b@x\n\nno bcc\n", 16, &b);
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
    {
        /* the queue names its messages; nobody else parses file names for it */
        char *id = queue_id_of_path(root, a.path), *flagged;
        struct buf p = BUF_INIT;

        ck_assert_str_eq(id, a.id);
        free(id);
        buf_printf(&p, "%s/cur/%s:2,S", outbox, a.id);
        flagged = queue_id_of_path(root, p.ptr);
        ck_assert_str_eq(flagged, a.id);
        free(flagged);
        buf_reset(&p);
        buf_printf(&p, "%s/Sent/cur/%s:2,S", root, a.id);
        ck_assert_ptr_null(queue_id_of_path(root, p.ptr));
        buf_free(&p);
    }
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
    test_tmpdir_free(root);
}
END_TEST

/* mail_root ROOT with the GENERAL lines; account a sends to the peer on PORT, no TLS. */
static struct config *peer_config(const char *root, int port, const char *general)
{
    return test_config("[general]\nmail_root = %s\n%s[account a]\nfrom = a@x\n"
                       "smtp_host = 127.0.0.1\nsmtp_port = %d\nsmtp_tls = none\ntimeout = 5\n",
                       root, general, port);
}

static void add_msg(struct queue *q, const char *msg, time_t created, const char *r1,
                    const char *r2)
{
    struct queue_entry ent;
    struct err e;

    memset(&ent, 0, sizeof ent);
    ent.account = strdup("a");
    ent.from = strdup("a@x");
    queue_entry_add_rcpt(&ent, r1);
    if (r2)
        queue_entry_add_rcpt(&ent, r2);
    ent.created = created;
    if (queue_add(q, msg, strlen(msg), &ent, &e) < 0)
        ck_abort_msg("%s", e.msg);
    queue_entry_free(&ent);
}

struct seen {
    int sent, deferred, failed, refused;
};

static void count_event(const struct queue_event *ev, void *arg)
{
    struct seen *s = arg;

    s->sent += ev->kind == QEV_SENT;
    s->deferred += ev->kind == QEV_DEFERRED;
    s->failed += ev->kind == QEV_FAILED;
    s->refused += ev->kind == QEV_REFUSED;
}

/* A typed password the server refuses: QEV_AUTH names the account and the reply; reauth
 * may give another, tried at once on a new connection; without one the message is held. */
struct reauth_seen {
    int auth, calls;
    char reply[256];
    const char *again;           /* the password reauth types, or NULL */
};

static void auth_event(const struct queue_event *ev, void *arg)
{
    struct reauth_seen *s = arg;

    if (ev->kind == QEV_AUTH) {
        s->auth++;
        ck_assert_str_eq(ev->addr, "a");
        snprintf(s->reply, sizeof s->reply, "%s", ev->text);
    }
}

static bool reauth_cb(void *arg, const struct account *a)
{
    struct reauth_seen *s = arg;

    s->calls++;
    secret_forget(a->name);
    if (s->again)
        secret_remember(a->name, s->again);
    return s->again != NULL;
}

START_TEST(flush_asks_again_for_a_refused_typed_password)
{
    static const char *const retried[] = {
        "S:220 peer\n", "C:EHLO *", "S:250-peer\n250 AUTH PLAIN\n",
        "C:AUTH PLAIN AGFubgB3cm9uZw==", "S:535 5.7.8 bad credentials\n", "A",
        "S:220 peer\n", "C:EHLO *", "S:250-peer\n250-AUTH PLAIN\n250 PIPELINING\n",
        "C:AUTH PLAIN AGFubgByaWdodA==", "S:235 ok\n",
        "C:MAIL FROM:<a@x>", "C:RCPT TO:<b@x>", "C:DATA", "S:250 ok\n250 ok\n354 go\n",
        "C:Subject: one", "C:", "C:body", "C:.", "S:250 2.0.0 queued\n",
        "C:QUIT", "S:221 bye\n", NULL,
    };
    static const char *const refused[] = {
        "S:220 peer\n", "C:EHLO *", "S:250-peer\n250 AUTH PLAIN\n",
        "C:AUTH PLAIN AGFubgB3cm9uZw==", "S:535 5.7.8 bad credentials\n", NULL,
    };

    for (int round = 0; round < 2; round++) {
        char *root = test_tmpdir(), rc[1024];
        struct config *cfg;
        struct queue *q;
        struct queue_entry *ents;
        struct queue_flush_opts fo = { 0 };
        struct queue_flush_stats st;
        struct reauth_seen seen = { 0, 0, "", round == 0 ? "right" : NULL };
        size_t n;
        struct err e;
        int port;
        pid_t pid = peer_start(round == 0 ? retried : refused, &port);
        time_t now = time(NULL);

        snprintf(rc, sizeof rc, "[general]\nmail_root = %s\n[account a]\nfrom = a@x\n"
                 "smtp_host = 127.0.0.1\nsmtp_port = %d\nsmtp_tls = none\nsmtp_user = ann\n"
                 "smtp_auth = plain\ntimeout = 5\n", root, port);
        if (config_parse("rc", rc, strlen(rc), &cfg, &e) < 0)
            ck_abort_msg("%s", e.msg);
        secret_remember("a", "wrong");
        ck_assert_int_eq(queue_open(root, &q, &e), 0);
        add_msg(q, "Subject: one\n\nbody\n", now - 1, "b@x", NULL);
        fo.now = now;
        fo.reauth = reauth_cb;
        fo.reauth_arg = &seen;
        if (queue_flush(q, cfg, &fo, auth_event, &seen, &st, &e) < 0)
            ck_abort_msg("%s", e.msg);
        ck_assert_int_eq(peer_wait(pid), 0);
        ck_assert_int_eq(seen.auth, 1);
        ck_assert_int_eq(seen.calls, 1);
        ck_assert_ptr_nonnull(strstr(seen.reply, "535 5.7.8 bad credentials"));
        ck_assert_uint_eq(st.sent, round == 0 ? 1 : 0);
        ck_assert_uint_eq(st.held, round == 0 ? 0 : 1);
        ck_assert_int_eq(queue_list(q, &ents, &n, NULL, &e), 0);
        ck_assert_uint_eq(n, round == 0 ? 0 : 1);
        if (round == 1)
            ck_assert_int_eq(ents[0].state, QUEUE_HELD);
        queue_list_free(ents, n);
        ck_assert_ptr_null(round == 1 ? secret_remembered("a") : NULL);
        secret_forget_all();
        queue_close(q);
        config_free(cfg);
        rm_rf(root);
        free(root);
    }
}
END_TEST

static size_t count_files(const char *dir)
{
    char cmd[4200];
    FILE *f;
    size_t n = 0;

    snprintf(cmd, sizeof cmd, "find '%s' -type f | wc -l", dir);
    f = popen(cmd, "r");
    ck_assert_ptr_nonnull(f);
    ck_assert_int_eq(fscanf(f, "%zu", &n), 1);
    pclose(f);
    return n;
}

/* One session: accepted, partly refused (550 for one recipient), refused for now (451). */
START_TEST(flush_outcomes)
{
    static const char *const steps[] = {
        "S:220 peer\n", "C:EHLO *", "S:250-peer\n250 PIPELINING\n",
        "C:MAIL FROM:<a@x>", "C:RCPT TO:<b@x>", "C:DATA", "S:250 ok\n250 ok\n354 go\n",
        "C:Subject: one", "C:", "C:body", "C:.", "S:250 2.0.0 first\n",
        "C:MAIL FROM:<a@x>", "C:RCPT TO:<b@x>", "C:RCPT TO:<c@x>", "C:DATA",
        "S:250 ok\n250 ok\n550 5.1.1 c unknown\n354 go\n",
        "C:To: b@x", "C:Subject: two", "C:", "C:..dot", "C:.", "S:250 2.0.0 second\n",
        "C:MAIL FROM:<a@x>", "C:RCPT TO:<d@x>", "C:DATA",
        "S:250 ok\n451 4.2.0 d busy\n554 5.5.1 no valid recipients\n", "C:RSET", "S:250 ok\n",
        "C:QUIT", "S:221 bye\n", NULL,
    };
    char *root = test_tmpdir(), *sent;
    struct config *cfg;
    struct queue *q;
    struct queue_entry *ents;
    struct queue_flush_opts fo = { 0 };
    struct queue_flush_stats st;
    struct seen seen = { 0 };
    size_t n;
    struct err e;
    int port;
    pid_t pid = peer_start(steps, &port);
    time_t now = time(NULL);

    cfg = peer_config(root, port, "queue_retry_min = 10s\n");
    ck_assert_int_eq(queue_open(root, &q, &e), 0);
    add_msg(q, "Subject: one\n\nbody\n", now - 3, "b@x", NULL);
    add_msg(q, "To: b@x\nBcc: c@x\nSubject: two\n\n.dot\n", now - 2, "b@x", "c@x");
    add_msg(q, "Subject: three\n\n", now - 1, "d@x", NULL);
    fo.now = now;
    if (queue_flush(q, cfg, &fo, count_event, &seen, &st, &e) < 0)
        ck_abort_msg("%s", e.msg);
    ck_assert_int_eq(peer_wait(pid), 0);
    ck_assert_uint_eq(st.sent, 2);
    ck_assert_uint_eq(st.deferred, 1);
    ck_assert_uint_eq(st.failed, 1);
    ck_assert_int_eq(seen.sent, 2);
    ck_assert_int_eq(seen.refused, 1);

    ck_assert_int_eq(queue_list(q, &ents, &n, NULL, &e), 0);
    ck_assert_uint_eq(n, 2);
    /* two: delivered to b, kept as failed with c refused, never copied twice */
    ck_assert_int_eq(ents[0].state, QUEUE_FAILED);
    ck_assert(ents[0].sent_copied);
    ck_assert_uint_eq(ents[0].nrcpts, 1);
    ck_assert_str_eq(ents[0].rcpts[0], "c@x");
    ck_assert_uint_eq(ents[0].nrefused, 1);
    ck_assert_str_eq(ents[0].refused[0].reply, "550 5.1.1 c unknown");
    /* three: 4xx for its only recipient: queued, retried after queue_retry_min */
    ck_assert_int_eq(ents[1].state, QUEUE_QUEUED);
    ck_assert_int_eq(ents[1].attempts, 1);
    ck_assert_int_eq((long)ents[1].next, (long)now + 10);
    ck_assert_ptr_nonnull(strstr(ents[1].reply, "451 4.2.0 d busy"));
    queue_list_free(ents, n);
    sent = fs_join(root, "Sent");
    ck_assert_uint_eq(count_files(sent), 2);
    free(sent);

    /* nothing is due now: a flush without --all sends nothing and opens no connection */
    memset(&seen, 0, sizeof seen);
    ck_assert_int_eq(queue_flush(q, cfg, &fo, count_event, &seen, &st, &e), 0);
    ck_assert_uint_eq(st.sent + st.deferred + st.failed, 0);
    queue_close(q);
    config_free(cfg);
    test_tmpdir_free(root);
}
END_TEST

/* Another mail program marks an Outbox message seen (new/ -> cur/, flag S): "one" before
 * the flusher reads it, "two" after it was read and while "one" is being recorded. */
static void rename_outbox(const struct queue_event *ev, void *arg)
{
    const char *outbox = arg, *subject;
    char cmd[4200];

    if (ev->kind == QEV_CONNECT)
        subject = "one";
    else if (ev->kind == QEV_SENT && strstr(ev->text, "first"))
        subject = "two";
    else
        return;
    snprintf(cmd, sizeof cmd, "cd '%s' && f=$(grep -l 'Subject: %s' new/*) && "
             "mv \"$f\" \"cur/${f#new/}:2,S\"", outbox, subject);
    ck_assert_int_eq(system(cmd), 0);
}

/* The peer's script (an initializer) for two messages from a@x to b@x, "Subject: S1" and
 * "Subject: S2" (string literals) with the body "body", both accepted. */
#define TWO_ACCEPTED(s1, s2)                                                                \
    {                                                                                       \
        "S:220 peer\n", "C:EHLO *", "S:250-peer\n250 PIPELINING\n",                         \
        "C:MAIL FROM:<a@x>", "C:RCPT TO:<b@x>", "C:DATA", "S:250 ok\n250 ok\n354 go\n",     \
        "C:Subject: " s1, "C:", "C:body", "C:.",                                            \
        "S:250 2.0.0 first\n", "C:MAIL FROM:<a@x>", "C:RCPT TO:<b@x>", "C:DATA",            \
        "S:250 ok\n250 ok\n354 go\n", "C:Subject: " s2, "C:", "C:body", "C:.",              \
        "S:250 2.0.0 second\n", "C:QUIT", "S:221 bye\n", NULL,                              \
    }

static const char *const two_accepted[] = TWO_ACCEPTED("one", "two");

/* Messages renamed by another program during a flush are still sent once, reported sent,
 * moved to Sent and removed from Outbox. */
START_TEST(flush_follows_renamed_messages)
{
    char *root = test_tmpdir(), *sent;
    struct config *cfg;
    struct queue *q;
    struct queue_entry *ents;
    struct queue_flush_opts fo = { 0 };
    struct queue_flush_stats st;
    size_t n, orphans;
    struct err e;
    int port;
    pid_t pid = peer_start(two_accepted, &port);
    time_t now = time(NULL);

    cfg = peer_config(root, port, "");
    ck_assert_int_eq(queue_open(root, &q, &e), 0);
    add_msg(q, "Subject: one\n\nbody\n", now - 2, "b@x", NULL);
    add_msg(q, "Subject: two\n\nbody\n", now - 1, "b@x", NULL);
    if (queue_flush(q, cfg, &fo, rename_outbox, (void *)queue_outbox(q), &st, &e) < 0)
        ck_abort_msg("%s", e.msg);
    ck_assert_uint_eq(st.sent, 2);
    ck_assert_uint_eq(st.deferred + st.skipped + st.failed, 0);
    ck_assert_int_eq(peer_wait(pid), 0);
    ck_assert_int_eq(queue_list(q, &ents, &n, &orphans, &e), 0);
    ck_assert_uint_eq(n, 0);
    ck_assert_uint_eq(orphans, 0);
    ck_assert_uint_eq(count_files(queue_outbox(q)), 0);
    sent = fs_join(root, "Sent");
    ck_assert_uint_eq(count_files(sent), 2);
    free(sent);
    queue_list_free(ents, n);
    queue_close(q);
    config_free(cfg);
    test_tmpdir_free(root);
}
END_TEST

/* Once a reply is accepted its original gets R; a forward's gets P (both kept flags); a
 * forward of two tagged messages flags both. */
START_TEST(flush_flags_the_answered_message)
{
    static const char *const steps[] = TWO_ACCEPTED("re", "fwd");
    char *root = test_tmpdir(), rc[1024], *inbox, *p1 = NULL, *p2 = NULL, *p3 = NULL, *rel;
    struct config *cfg;
    struct queue *q;
    struct queue_entry ent;
    struct queue_flush_opts fo = { 0 };
    struct queue_flush_stats st;
    struct err e;
    int port;
    pid_t pid = peer_start(steps, &port);
    time_t now = time(NULL);
    const char *re = "Subject: re\n\nbody\n", *fwd = "Subject: fwd\n\nbody\n";

    snprintf(rc, sizeof rc, "[general]\nmail_root = %s\n"
             "[account a]\nfrom = a@x\nsmtp_host = 127.0.0.1\nsmtp_port = %d\n"
             "smtp_tls = none\ntimeout = 5\n", root, port);
    if (config_parse("rc", rc, strlen(rc), &cfg, &e) < 0)
        ck_abort_msg("%s", e.msg);
    inbox = fs_join(root, "INBOX");
    ck_assert_int_eq(maildir_create(inbox, &e), 0);
    ck_assert_int_eq(maildir_deliver(inbox, "Subject: a\n\n", 12, "S", &p1, &e), 0);
    ck_assert_int_eq(maildir_deliver(inbox, "Subject: b\n\n", 12, NULL, &p2, &e), 0);
    ck_assert_int_eq(maildir_deliver(inbox, "Subject: c\n\n", 12, "S", &p3, &e), 0);
    ck_assert_int_eq(queue_open(root, &q, &e), 0);
    memset(&ent, 0, sizeof ent);
    ent.account = strdup("a");
    ent.from = strdup("a@x");
    queue_entry_add_rcpt(&ent, "b@x");
    ent.created = now - 2;
    ck_assert_int_eq(queue_entry_set_answers(&ent, p1, 'R'), 0);
    ck_assert_int_eq(queue_add(q, re, strlen(re), &ent, &e), 0);
    free(ent.id);
    ent.id = NULL;
    ent.created = now - 1;
    ck_assert_int_eq(queue_entry_set_answers(&ent, p2, 'P'), 0);
    ck_assert_int_eq(queue_entry_add_answers(&ent, p3, 'P'), 0);     /* `;f` of two */
    ck_assert_uint_eq(ent.answers.n, 2);
    ck_assert_int_eq(queue_add(q, fwd, strlen(fwd), &ent, &e), 0);
    queue_entry_free(&ent);
    if (queue_flush(q, cfg, &fo, NULL, NULL, &st, &e) < 0)
        ck_abort_msg("%s", e.msg);
    ck_assert_int_eq(peer_wait(pid), 0);
    ck_assert_uint_eq(st.sent, 2);
    rel = maildir_find(inbox, strrchr(p1, '/') + 1, strcspn(strrchr(p1, '/') + 1, ":"));
    ck_assert_ptr_nonnull(rel);
    ck_assert_ptr_nonnull(strstr(rel, ":2,RS"));
    free(rel);
    rel = maildir_find(inbox, strrchr(p2, '/') + 1, strcspn(strrchr(p2, '/') + 1, ":"));
    ck_assert_ptr_nonnull(rel);
    ck_assert_ptr_nonnull(strstr(rel, "cur/"));
    ck_assert_ptr_nonnull(strstr(rel, ":2,P"));
    free(rel);
    rel = maildir_find(inbox, strrchr(p3, '/') + 1, strcspn(strrchr(p3, '/') + 1, ":"));
    ck_assert_ptr_nonnull(rel);
    ck_assert_ptr_nonnull(strstr(rel, ":2,PS"));
    free(rel);
    free(p1);
    free(p2);
    free(p3);
    free(inbox);
    queue_close(q);
    config_free(cfg);
    rm_rf(root);
    free(root);
}
END_TEST

/* Queue a message for account; its entry (path, outbox, id) in *out. */
static void add_as(struct queue *q, const char *account, const char *msg, time_t created,
                   struct queue_entry *out)
{
    struct err e;

    memset(out, 0, sizeof *out);
    out->account = strdup(account);
    out->from = strdup("a@x");
    queue_entry_add_rcpt(out, "b@x");
    out->created = created;
    if (queue_add(q, msg, strlen(msg), out, &e) < 0)
        ck_abort_msg("%s", e.msg);
}

static void age_dir(const char *dir, const char *sub, const char *when)
{
    char cmd[4200];

    snprintf(cmd, sizeof cmd, "touch -d @%s '%s/%s'", when, dir, sub);
    ck_assert_int_eq(system(cmd), 0);
}

/* Each account's message goes to its own outbox; one queue (one state directory, one lock)
 * finds them all, also when opened without the configuration. */
START_TEST(outbox_per_account)
{
    char *root = test_tmpdir(), *boxa, *boxb, *boxc, *statedir;
    struct config *cfg;
    struct queue *q, *plain;
    struct queue_entry a, b, c, *ents;
    struct queue_stamp st = { 0 };
    size_t n, orphans;
    struct err e;
    time_t now = time(NULL);

    cfg = test_config("[general]\nmail_root = %s\n[account a]\nfrom = a@x\n"
                      "outbox = Queue/A\n[account b]\nfrom = b@x\noutbox = Queue/B\n"
                      "[account c]\nfrom = c@x\n", root);
    boxa = fs_join(root, "Queue/A");
    boxb = fs_join(root, "Queue/B");
    boxc = fs_join(root, "Outbox");
    statedir = fs_join(root, ".tern/queue");
    ck_assert_int_eq(queue_open_cfg(cfg, NULL, &q, &e), 0);
    add_as(q, "a", "Subject: a\n\n", now - 3, &a);
    add_as(q, "b", "Subject: b\n\n", now - 2, &b);
    add_as(q, "c", "Subject: c\n\n", now - 1, &c);
    /* named under the mail root: a tree moved or restored elsewhere still works */
    ck_assert_str_eq(a.outbox, "Queue/A");
    ck_assert_str_eq(b.outbox, "Queue/B");
    ck_assert_str_eq(c.outbox, "Outbox");      /* no setting: the default Outbox */
    ck_assert_uint_eq(count_files(boxa), 1);
    ck_assert_uint_eq(count_files(boxb), 1);
    ck_assert_uint_eq(count_files(boxc), 1);
    ck_assert_int_eq(strncmp(b.path, boxb, strlen(boxb)), 0);

    /* without the configuration the states say where the messages are */
    ck_assert_int_eq(queue_open(root, &plain, &e), 0);
    ck_assert_int_eq(queue_list(plain, &ents, &n, &orphans, &e), 0);
    ck_assert_uint_eq(n, 3);
    ck_assert_uint_eq(orphans, 0);
    ck_assert_str_eq(ents[0].id, a.id);
    ck_assert_str_eq(ents[0].path, a.path);
    ck_assert_str_eq(ents[1].path, b.path);
    ck_assert_str_eq(ents[2].path, c.path);
    queue_list_free(ents, n);
    queue_close(plain);

    /* the queue names a message in the outbox its state names, and only there */
    {
        char *id = queue_id_of_path(root, b.path);
        struct buf p = BUF_INIT;

        ck_assert_str_eq(id, b.id);
        free(id);
        buf_printf(&p, "%s/cur/%s:2,S", boxa, b.id);
        ck_assert_ptr_null(queue_id_of_path(root, p.ptr));
        buf_reset(&p);
        buf_printf(&p, "%s/cur/%s:2,S", boxc, c.id);
        id = queue_id_of_path(root, p.ptr);
        ck_assert_str_eq(id, c.id);
        free(id);
        buf_free(&p);
    }

    /* a message in an account's outbox without its state is counted */
    {
        char *p = fs_join(boxb, "new/123.orphan.host");

        test_write(p, "Subject: orphan\n\n");
        free(p);
    }
    ck_assert_int_eq(queue_list(q, &ents, &n, &orphans, &e), 0);
    ck_assert_uint_eq(n, 3);
    ck_assert_uint_eq(orphans, 1);

    /* a reader rereads the queue when any outbox changes */
    age_dir(statedir, "", "1000000000");
    for (const char *const *d = (const char *const[]){ boxa, boxb, boxc, NULL }; *d; d++) {
        age_dir(*d, "new", "1000000000");
        age_dir(*d, "cur", "1000000000");
    }
    ck_assert_int_eq(queue_changed(q, &st), 1);
    ck_assert_int_eq(queue_changed(q, &st), 0);
    age_dir(boxb, "cur", "1000000100");
    ck_assert_int_eq(queue_changed(q, &st), 1);

    /* removing takes the message from its own outbox */
    ck_assert_int_eq(queue_remove(q, &ents[1], &e), 0);
    ck_assert_uint_eq(count_files(boxb), 1);   /* the orphan */
    ck_assert_uint_eq(count_files(boxa), 1);
    queue_list_free(ents, n);
    ck_assert_int_eq(queue_list(q, &ents, &n, NULL, &e), 0);
    ck_assert_uint_eq(n, 2);
    queue_list_free(ents, n);
    queue_close(q);

    /* the tree moved (restored from a backup elsewhere): the queue is found where it is */
    {
        struct buf moved = BUF_INIT;

        buf_printf(&moved, "%s.moved", root);
        ck_assert_int_eq(rename(root, moved.ptr), 0);
        ck_assert_int_eq(queue_open(moved.ptr, &plain, &e), 0);
        ck_assert_int_eq(queue_list(plain, &ents, &n, NULL, &e), 0);
        ck_assert_uint_eq(n, 2);
        for (size_t i = 0; i < n; i++)
            ck_assert_int_eq(strncmp(ents[i].path, moved.ptr, moved.len), 0);
        queue_list_free(ents, n);
        queue_close(plain);
        ck_assert_int_eq(rename(moved.ptr, root), 0);
        buf_free(&moved);
    }
    queue_entry_free(&a);
    queue_entry_free(&b);
    queue_entry_free(&c);
    config_free(cfg);
    free(boxa);
    free(boxb);
    free(boxc);
    free(statedir);
    test_tmpdir_free(root);
}
END_TEST

/* An upgrade: a queue written before per-account outboxes (states without "outbox", the
 * messages in the default Outbox) is listed, named and flushed after the account gets an
 * outbox of its own, beside a message queued into that one. */
START_TEST(outbox_upgrade_keeps_old_queue)
{
    char *root = test_tmpdir(), *legacy, *boxa, *sent, *sp, *id;
    struct config *cfg;
    struct queue *q;
    struct queue_entry old, fresh, *ents;
    struct queue_flush_opts fo = { 0 };
    struct queue_flush_stats st;
    struct buf text = BUF_INIT, keep = BUF_INIT;
    size_t n;
    struct err e;
    int port;
    pid_t pid;
    time_t now = time(NULL);

    /* the old queue: Outbox, and a state file without the outbox line */
    ck_assert_int_eq(queue_open(root, &q, &e), 0);
    add_as(q, "a", "Subject: one\n\nbody\n", now - 2, &old);
    queue_close(q);
    legacy = fs_join(root, "Outbox");
    ck_assert_int_eq(strncmp(old.path, legacy, strlen(legacy)), 0);
    {
        struct buf f = BUF_INIT;

        buf_printf(&f, "%s/.tern/queue/%s.state", root, old.id);
        sp = buf_detach(&f);
    }
    ck_assert_int_eq(fs_read_file(sp, &text, &e), 0);
    for (char *line = strtok(text.ptr, "\n"); line; line = strtok(NULL, "\n"))
        if (strncmp(line, "outbox ", 7) != 0)
            buf_printf(&keep, "%s\n", line);
    ck_assert_ptr_null(strstr(buf_cstr(&keep), "outbox"));
    ck_assert_int_eq(fs_write_atomic(sp, keep.ptr, keep.len, 0600, &e), 0);

    pid = peer_start(two_accepted, &port);
    cfg = test_config("[general]\nmail_root = %s\n"
                      "[account a]\nfrom = a@x\noutbox = Queue/A\nsmtp_host = 127.0.0.1\n"
                      "smtp_port = %d\nsmtp_tls = none\ntimeout = 5\n", root, port);
    boxa = fs_join(root, "Queue/A");
    ck_assert_int_eq(queue_open_cfg(cfg, NULL, &q, &e), 0);
    add_as(q, "a", "Subject: two\n\nbody\n", now - 1, &fresh);
    ck_assert_int_eq(strncmp(fresh.path, boxa, strlen(boxa)), 0);
    ck_assert_int_eq(queue_list(q, &ents, &n, NULL, &e), 0);
    ck_assert_uint_eq(n, 2);
    ck_assert_ptr_null(ents[0].outbox);
    ck_assert_str_eq(ents[0].path, old.path);
    queue_list_free(ents, n);
    id = queue_id_of_path(root, old.path);
    ck_assert_str_eq(id, old.id);
    free(id);

    if (queue_flush(q, cfg, &fo, NULL, NULL, &st, &e) < 0)
        ck_abort_msg("%s", e.msg);
    ck_assert_int_eq(peer_wait(pid), 0);
    ck_assert_uint_eq(st.sent, 2);
    sent = fs_join(root, "Sent");
    ck_assert_uint_eq(count_files(sent), 2);
    ck_assert_uint_eq(count_files(legacy), 0);
    ck_assert_uint_eq(count_files(boxa), 0);
    ck_assert_int_eq(queue_list(q, &ents, &n, NULL, &e), 0);
    ck_assert_uint_eq(n, 0);
    queue_list_free(ents, n);
    queue_close(q);
    queue_entry_free(&old);
    queue_entry_free(&fresh);
    config_free(cfg);
    buf_free(&text);
    buf_free(&keep);
    free(sp);
    free(sent);
    free(legacy);
    free(boxa);
    test_tmpdir_free(root);
}
END_TEST

static Suite *queue_suite(void)
{
    Suite *s = suite_create("queue");
    TCase *t = tcase_create("core");

    tcase_add_test(t, state_roundtrip);
    tcase_add_test(t, state_keeps_dsn);
    tcase_add_test(t, state_keeps_every_answered_message);
    tcase_add_test(t, flush_asks_again_for_a_refused_typed_password);
    tcase_add_loop_test(t, state_rejects, 0, sizeof bad_states / sizeof bad_states[0]);
    tcase_add_test(t, backoff_doubles_and_caps);
    tcase_add_test(t, transitions);
    tcase_add_loop_test(t, policy_by_class, 0, sizeof policy_cases / sizeof policy_cases[0]);
    tcase_add_test(t, wire_form_drops_bcc);
    tcase_add_test(t, on_disk);
    tcase_set_timeout(t, 20);
    tcase_add_test(t, flush_outcomes);
    tcase_add_test(t, flush_follows_renamed_messages);
    tcase_add_test(t, flush_flags_the_answered_message);
    tcase_add_test(t, outbox_per_account);
    tcase_add_test(t, outbox_upgrade_keeps_old_queue);
    suite_add_tcase(s, t);
    return s;
}

TEST_MAIN(queue_suite)

/* Unit tests for src/model/model.c: open, sort, limit, threads, search, the cursor across
 * refreshes, tags, flag, move, copy, delete and expunge, and the background-index rule. */
#include "config.h"

#include <fcntl.h>
#include <sys/stat.h>

#include "testutil.h"
#include "tern/fsutil.h"
#include "tern/maildir.h"
#include "tern/model.h"
#include "tern/queue.h"
#include "tern/xalloc.h"

/* A mail root with INBOX (four messages, two of them a thread), Archive and Trash. */
static char *mkroot(void)
{
    char *root = test_tmpdir();
    char path[4096];
    struct err e;

    for (int i = 0; i < 4; i++) {
        snprintf(path, sizeof path, "%s/%s", root,
                 (const char *[]){ "INBOX", "Sent", "Drafts", "Trash" }[i]);
        ck_assert_int_eq(maildir_create(path, &e), 0);
    }
    snprintf(path, sizeof path, "%s/Archive", root);
    ck_assert_int_eq(maildir_create(path, &e), 0);
    snprintf(path, sizeof path, "%s/INBOX", root);
    test_put(path, "cur", "1000.A.host:2,S",
        "From: Alice <alice@example.org>\nTo: bob@example.org\nSubject: Lunch\n"
        "Date: Mon, 01 Jan 2024 10:00:00 +0000\nMessage-ID: <a1@example.org>\n\nhello\n");
    test_put(path, "cur", "1001.B.host:2,S",
        "From: Bob <bob@example.org>\nTo: alice@example.org\nSubject: Re: Lunch\n"
        "Date: Wed, 03 Jan 2024 10:00:00 +0000\nMessage-ID: <b1@example.org>\n"
        "In-Reply-To: <a1@example.org>\nReferences: <a1@example.org>\n\nyes\n");
    test_put(path, "cur", "1002.C.host:2,",
        "From: Carol <carol@example.net>\nSubject: Budget\n"
        "Date: Tue, 02 Jan 2024 10:00:00 +0000\nMessage-ID: <c1@example.net>\n\nnumbers\n");
    test_put(path, "cur", "1003.D.host:2,S",
        "From: Dave <dave@example.com>\nSubject: Zebra crossing\n"
        "Date: Thu, 04 Jan 2024 10:00:00 +0000\nMessage-ID: <d1@example.com>\n\nstripes\n");
    return root;
}

static size_t row_with(const struct model *m, const char *subject)
{
    for (size_t r = 0; r < model_rows(m); r++)
        if (strcmp(model_row(m, r)->subject, subject) == 0)
            return r;
    return SIZE_MAX;
}

static uint32_t id_of(const struct model *m, const char *subject)
{
    size_t r = row_with(m, subject);

    ck_assert_uint_ne(r, SIZE_MAX);
    return model_row(m, r)->id;
}

static struct model *open_inbox(const char *root)
{
    struct model *m;
    struct err e;

    ck_assert_msg(model_open(root, "INBOX", NULL, &m, &e) == 0, "%s", e.msg);
    return m;
}

/* The end of a test on mkroot(): the model closed, the mail root removed. */
static void close_root(struct model *m, char *root)
{
    model_close(m);
    test_tmpdir_free(root);
}

START_TEST(open_counts_cursor)
{
    char *root = mkroot();
    struct model *m = open_inbox(root);
    const struct model_counts *c = model_counts(m);
    struct model *none;
    struct err e;

    ck_assert_uint_eq(model_rows(m), 4);
    ck_assert_uint_eq(c->total, 4);
    ck_assert_uint_eq(c->unread, 1);
    ck_assert_str_eq(model_name(m), "INBOX");
    ck_assert(!model_show_to(m));
    ck_assert(!model_is_outbox(m));
    /* The cursor starts on the first unread message. */
    ck_assert_str_eq(model_row(m, model_cursor(m))->subject, "Budget");
    /* Date order, oldest first. */
    ck_assert_str_eq(model_row(m, 0)->subject, "Lunch");
    ck_assert_str_eq(model_row(m, 3)->subject, "Zebra crossing");
    model_close(m);
    ck_assert_int_eq(model_open(root, "Nowhere", NULL, &none, &e), -1);
    ck_assert_ptr_null(none);
    ck_assert_ptr_nonnull(strstr(e.msg, "no such folder"));
    /* Sent shows recipients. */
    ck_assert_int_eq(model_open(root, "Sent", NULL, &m, &e), 0);
    ck_assert(model_show_to(m));
    ck_assert_uint_eq(model_rows(m), 0);
    ck_assert_uint_eq(model_cursor_id(m), UINT32_MAX);
    close_root(m, root);
}
END_TEST

START_TEST(sort_keeps_cursor)
{
    char *root = mkroot();
    struct model *m = open_inbox(root);
    uint32_t id = id_of(m, "Budget");
    enum idx_sort k;
    bool rev;

    model_set_sort(m, IDX_SORT_SUBJECT, false);
    ck_assert_str_eq(model_row(m, 0)->subject, "Budget");
    ck_assert_str_eq(model_row(m, 3)->subject, "Zebra crossing");
    ck_assert_uint_eq(model_cursor_id(m), id);
    model_set_sort(m, IDX_SORT_DATE, true);
    ck_assert_str_eq(model_row(m, 0)->subject, "Zebra crossing");
    ck_assert_uint_eq(model_cursor_id(m), id);
    model_get_sort(m, &k, &rev);
    ck_assert_int_eq(k, IDX_SORT_DATE);
    ck_assert(rev);
    close_root(m, root);
}
END_TEST

START_TEST(limit_and_search)
{
    char *root = mkroot();
    struct model *m = open_inbox(root);
    struct err e;
    bool wrapped;

    ck_assert_int_eq(model_set_limit(m, "from:alice", &e), 0);
    ck_assert_uint_eq(model_rows(m), 1);
    ck_assert_str_eq(model_limit_text(m), "from:alice");
    ck_assert_uint_eq(model_counts(m)->shown, 1);
    ck_assert_uint_eq(model_counts(m)->total, 4);
    ck_assert_int_eq(model_set_limit(m, "date:bad..", &e), -1);
    ck_assert_uint_eq(model_rows(m), 1);            /* a bad pattern changes nothing */
    ck_assert_int_eq(model_set_limit(m, "is:unread", &e), 0);
    ck_assert_uint_eq(model_rows(m), 1);
    ck_assert_str_eq(model_row(m, 0)->subject, "Budget");
    ck_assert_int_eq(model_set_limit(m, "all", &e), 0);
    ck_assert_ptr_null(model_limit_text(m));
    ck_assert_uint_eq(model_rows(m), 4);

    ck_assert_int_eq(model_search(m, false, &wrapped, &e), -1);   /* no search yet */
    ck_assert_int_eq(model_set_search(m, "zebra", &e), 0);
    model_set_cursor(m, 0);
    ck_assert_int_eq(model_search(m, false, &wrapped, &e), 1);
    ck_assert_str_eq(model_row(m, model_cursor(m))->subject, "Zebra crossing");
    ck_assert(!wrapped);
    ck_assert_int_eq(model_set_search(m, "lunch", &e), 0);
    ck_assert_int_eq(model_search(m, false, &wrapped, &e), 1);
    ck_assert(wrapped);
    ck_assert_int_eq(model_set_search(m, "nothing-like-this", &e), 0);
    ck_assert_int_eq(model_search(m, true, &wrapped, &e), 0);
    close_root(m, root);
}
END_TEST

START_TEST(threads_view)
{
    char *root = mkroot();
    struct model *m = open_inbox(root);
    char tree[64];
    size_t r;

    model_set_threads(m, true);
    ck_assert(model_threads(m));
    ck_assert_uint_eq(model_rows(m), 4);
    r = row_with(m, "Re: Lunch");
    ck_assert_uint_ne(r, SIZE_MAX);
    ck_assert_uint_gt(r, 0);
    /* The reply comes right under the message it answers, drawn as its child. */
    ck_assert_str_eq(model_row(m, r - 1)->subject, "Lunch");
    ck_assert_str_ne(model_row_tree(m, r, tree, sizeof tree), "");
    ck_assert_str_eq(model_row_tree(m, r - 1, tree, sizeof tree), "");
    model_set_threads(m, false);
    ck_assert_str_eq(model_row_tree(m, r, tree, sizeof tree), "");
    close_root(m, root);
}
END_TEST

START_TEST(cursor_across_refresh)
{
    char *root = mkroot();
    struct model *m = open_inbox(root);
    uint32_t id = id_of(m, "Re: Lunch");
    char path[4096];
    struct err e;

    model_set_cursor(m, row_with(m, "Re: Lunch"));
    ck_assert(model_move_cursor(m, 1));
    ck_assert(!model_move_cursor(m, 100) || model_cursor(m) == 3);
    ck_assert_uint_eq(model_cursor(m), 3);
    model_set_cursor(m, row_with(m, "Re: Lunch"));
    /* An older message arrives: it sorts above the cursor, which stays on its message. */
    snprintf(path, sizeof path, "%s/INBOX", root);
    test_put(path, "new", "999.Z.host",
        "From: Zoe <zoe@example.org>\nSubject: Early\n"
        "Date: Sun, 31 Dec 2023 10:00:00 +0000\nMessage-ID: <z1@example.org>\n\nold\n");
    /* Directory mtimes have a coarse grain on some file systems: make the change visible. */
    snprintf(path, sizeof path, "%s/INBOX/new", root);
    {
        struct timespec ts[2] = { { 0, UTIME_NOW }, { 2000000000, 0 } };
        ck_assert_int_eq(utimensat(AT_FDCWD, path, ts, 0), 0);
    }
    ck_assert_int_eq(model_refresh(m, &e), 1);
    ck_assert_uint_eq(model_rows(m), 5);
    ck_assert_uint_eq(model_cursor_id(m), id);
    ck_assert_str_eq(model_row(m, 0)->subject, "Early");
    ck_assert_int_eq(model_counts(m)->arrived, 1);
    ck_assert_uint_eq(model_counts(m)->in_new, 1);
    close_root(m, root);
}
END_TEST

/* The open folder's watch: another program's flag change and a delivery come in through
 * model_refresh_watched (no listing), the cursor stays; a fetch's reported names through
 * model_add_new; without a watch model_refresh_watched says 2. */
START_TEST(watched_refresh_and_delivered)
{
    char *root = mkroot();
    struct model *m = open_inbox(root);
    uint32_t id = id_of(m, "Re: Lunch");
    char dir[4096], a[4200], b[4200];
    char *names[] = { "1005.F.host" };
    struct err e;

    ck_assert_int_ge(model_watch_fd(m), 0);
    model_set_cursor(m, row_with(m, "Re: Lunch"));
    snprintf(dir, sizeof dir, "%s/INBOX", root);
    snprintf(a, sizeof a, "%s/cur/1002.C.host:2,", dir);
    snprintf(b, sizeof b, "%s/cur/1002.C.host:2,FS", dir);
    ck_assert_int_eq(rename(a, b), 0);
    test_put(dir, "new", "999.Z.host", "From: Zoe <zoe@example.org>\nSubject: Early\n"
        "Date: Sun, 31 Dec 2023 10:00:00 +0000\n\nold\n");
    ck_assert_int_eq(model_refresh_watched(m, &e), 1);
    ck_assert(idx_stats(model_index(m))->watched);
    ck_assert_uint_eq(model_rows(m), 5);
    ck_assert_uint_eq(model_cursor_id(m), id);
    ck_assert_uint_eq(model_counts(m)->flagged, 1);
    ck_assert_uint_eq(model_counts(m)->unread, 1);
    ck_assert_int_eq(model_counts(m)->arrived, 1);
    ck_assert_int_eq(model_refresh_watched(m, &e), 0);
    test_put(dir, "new", "1005.F.host", "From: Fay <fay@example.org>\nSubject: Fetched\n"
        "Date: Fri, 05 Jan 2024 10:00:00 +0000\n\nnew\n");
    ck_assert_int_eq(model_add_new(m, names, 1), 1);
    ck_assert_uint_ne(row_with(m, "Fetched"), SIZE_MAX);
    ck_assert_uint_eq(model_cursor_id(m), id);
    ck_assert_int_eq(model_refresh_watched(m, &e), 0);     /* its event: nothing more */
    ck_assert_uint_eq(model_rows(m), 6);
    model_close(m);
    setenv("TERN_INDEX_WATCH", "0", 1);
    m = open_inbox(root);
    unsetenv("TERN_INDEX_WATCH");
    ck_assert_int_eq(model_watch_fd(m), -1);
    ck_assert_int_eq(model_refresh_watched(m, &e), 2);
    model_close(m);
    rm_rf(root);
    free(root);
}
END_TEST

START_TEST(flag_read_and_tags)
{
    char *root = mkroot();
    struct model *m = open_inbox(root);
    uint32_t ids[2] = { id_of(m, "Lunch"), id_of(m, "Zebra crossing") };
    size_t gone;
    struct err e;

    ck_assert_int_eq(model_flag(m, ids, 2, "F", NULL, &gone, &e), 2);
    ck_assert_uint_eq(gone, 0);
    ck_assert_uint_eq(model_counts(m)->flagged, 2);
    ck_assert(model_msg(m, ids[0])->flags & MDF_FLAGGED);
    ck_assert_uint_eq(test_count_entries(model_dir(m), "cur"), 4);
    ck_assert_int_eq(model_flag(m, ids, 1, NULL, "S", &gone, &e), 1);
    ck_assert_uint_eq(model_counts(m)->unread, 2);
    ck_assert_int_eq(model_mark_seen(m, ids[0], &e), 0);
    ck_assert_uint_eq(model_counts(m)->unread, 1);

    /* Tags: a set of ids, the same operations apply to it. */
    model_tag(m, ids[1], true);
    model_tag(m, ids[0], true);
    model_tag(m, ids[0], true);
    ck_assert_uint_eq(model_ntagged(m), 2);
    ck_assert(model_tagged(m, ids[0]));
    ck_assert(model_tags(m)[0] < model_tags(m)[1]);
    ck_assert_int_eq(model_flag(m, model_tags(m), model_ntagged(m), NULL, "F", &gone, &e), 2);
    ck_assert_uint_eq(model_counts(m)->flagged, 0);
    model_tag(m, ids[1], false);
    ck_assert(!model_tagged(m, ids[1]));
    ck_assert_uint_eq(model_ntagged(m), 1);
    model_untag_all(m);
    ck_assert_uint_eq(model_ntagged(m), 0);
    model_tag(m, UINT32_MAX - 1, true);             /* no such message: not tagged */
    ck_assert_uint_eq(model_ntagged(m), 0);
    close_root(m, root);
}
END_TEST

START_TEST(flag_gone_message)
{
    char *root = mkroot();
    struct model *m = open_inbox(root);
    uint32_t id = id_of(m, "Budget");
    char path[4096];
    size_t gone;
    struct err e;

    /* Another program removes the file: not an error, the message leaves the view. */
    snprintf(path, sizeof path, "%s/INBOX/cur/1002.C.host:2,", root);
    ck_assert_int_eq(unlink(path), 0);
    ck_assert_int_eq(model_flag(m, &id, 1, "F", NULL, &gone, &e), 0);
    ck_assert_uint_eq(gone, 1);
    ck_assert_uint_eq(model_rows(m), 3);
    ck_assert_ptr_null(model_msg(m, id));
    ck_assert_ptr_null(model_path(m, id));
    close_root(m, root);
}
END_TEST

START_TEST(move_and_copy)
{
    char *root = mkroot();
    struct model *m = open_inbox(root), *arch;
    uint32_t id = id_of(m, "Budget");
    size_t row = row_with(m, "Budget"), gone;
    struct err e;

    model_set_cursor(m, row);
    ck_assert_int_eq(model_move(m, &id, 1, "INBOX", &gone, &e), -1);
    ck_assert_int_eq(e.cls, ERR_PERM);
    ck_assert_int_eq(model_move(m, &id, 1, "Archive", &gone, &e), 1);
    ck_assert_uint_eq(model_rows(m), 3);
    ck_assert_uint_eq(model_cursor(m), row);        /* on the row below, now at its place */
    ck_assert_ptr_null(model_msg(m, id));
    id = id_of(m, "Lunch");
    ck_assert_int_eq(model_copy(m, &id, 1, "Archive", &gone, &e), 1);
    ck_assert_uint_eq(model_rows(m), 3);
    ck_assert_int_eq(model_open(root, "Archive", NULL, &arch, &e), 0);
    ck_assert_uint_eq(model_rows(arch), 2);
    ck_assert_uint_ne(row_with(arch, "Budget"), SIZE_MAX);
    ck_assert_uint_ne(row_with(arch, "Lunch"), SIZE_MAX);
    model_close(arch);
    close_root(m, root);
}
END_TEST

START_TEST(delete_undelete_expunge)
{
    char *root = mkroot();
    struct model *m = open_inbox(root), *trash;
    uint32_t ids[2] = { id_of(m, "Lunch"), id_of(m, "Budget") };
    size_t gone;
    struct err e;

    ck_assert_int_eq(model_delete(m, ids, 2, &gone, &e), 2);
    ck_assert_uint_eq(model_counts(m)->trashed, 2);
    ck_assert_uint_eq(model_rows(m), 4);            /* marked, still listed */
    ck_assert_int_eq(model_undelete(m, ids + 1, 1, &gone, &e), 1);
    ck_assert_uint_eq(model_counts(m)->trashed, 1);
    model_tag(m, ids[0], true);
    ck_assert_int_eq(model_expunge(m, &e), 1);
    ck_assert_uint_eq(model_rows(m), 3);
    ck_assert_uint_eq(model_counts(m)->trashed, 0);
    ck_assert_uint_eq(model_ntagged(m), 0);         /* tags of removed messages go too */
    ck_assert_int_eq(model_open(root, "Trash", NULL, &trash, &e), 0);
    ck_assert_uint_eq(model_rows(trash), 1);
    ck_assert_str_eq(model_row(trash, 0)->subject, "Lunch");
    model_close(trash);
    close_root(m, root);
}
END_TEST

START_TEST(tag_pattern_and_sets)
{
    char *root = mkroot();
    struct model *m = open_inbox(root);
    size_t gone;
    struct err e;

    ck_assert_int_eq(model_tag_pattern(m, "Lunch", true, &e), 2);
    ck_assert(model_tagged(m, id_of(m, "Lunch")) && model_tagged(m, id_of(m, "Re: Lunch")));
    ck_assert_int_eq(model_tag_pattern(m, "Lunch", true, &e), 0);     /* already tagged */
    ck_assert_int_eq(model_tag_pattern(m, "from:bob", false, &e), 1);
    ck_assert_uint_eq(model_ntagged(m), 1);
    ck_assert_int_eq(model_tag_pattern(m, "from:carol", true, &e), 1);
    ck_assert_int_eq(model_tag_pattern(m, "is:bogus", true, &e), -1);
    ck_assert_uint_eq(model_ntagged(m), 2);
    /* The limit bounds a tag pattern, as in mutt. */
    ck_assert_int_eq(model_set_limit(m, "Zebra", &e), 0);
    ck_assert_int_eq(model_tag_pattern(m, "is:read", true, &e), 1);
    ck_assert_int_eq(model_set_limit(m, NULL, &e), 0);
    ck_assert_uint_eq(model_ntagged(m), 3);
    /* Every operation applies to the set. */
    ck_assert_int_eq(model_delete(m, model_tags(m), model_ntagged(m), &gone, &e), 3);
    ck_assert_uint_eq(model_counts(m)->trashed, 3);
    ck_assert_int_eq(model_undelete(m, model_tags(m), model_ntagged(m), &gone, &e), 3);
    ck_assert_uint_eq(model_counts(m)->trashed, 0);
    ck_assert_int_eq(model_copy(m, model_tags(m), model_ntagged(m), "Archive", &gone, &e), 3);
    ck_assert_int_eq(model_move(m, model_tags(m), model_ntagged(m), "Archive", &gone, &e), 3);
    ck_assert_uint_eq(model_rows(m), 1);
    ck_assert_str_eq(model_row(m, 0)->subject, "Re: Lunch");
    ck_assert_uint_eq(model_ntagged(m), 0);         /* moved away: no longer tagged */
    {
        char path[4096];

        snprintf(path, sizeof path, "%s/Archive", root);
        ck_assert_uint_eq(test_count_entries(path, "cur") + test_count_entries(path, "new"), 6);
    }
    close_root(m, root);
}
END_TEST

START_TEST(thread_commands)
{
    char *root = mkroot();
    struct model *m = open_inbox(root);
    uint32_t *ids;
    size_t gone;
    struct err e;

    /* Threads off: the thread commands do nothing. */
    ck_assert(!model_collapse_thread(m));
    ck_assert_uint_eq(model_thread_ids(m, 0, &ids), 0);
    ck_assert(!model_next_thread(m, false));
    model_set_threads(m, true);
    /* Threads by their newest message: Budget, Lunch + Re: Lunch, Zebra crossing. */
    ck_assert_str_eq(model_row(m, 0)->subject, "Budget");
    ck_assert_str_eq(model_row(m, 1)->subject, "Lunch");
    ck_assert_str_eq(model_row(m, 2)->subject, "Re: Lunch");
    ck_assert_str_eq(model_row(m, 3)->subject, "Zebra crossing");

    model_set_cursor(m, 2);
    ck_assert(model_parent(m));
    ck_assert_uint_eq(model_cursor(m), 1);
    ck_assert(!model_parent(m));                    /* the first of its thread */

    model_set_cursor(m, 0);
    ck_assert(model_next_thread(m, false));
    ck_assert_uint_eq(model_cursor(m), 1);
    ck_assert(model_next_thread(m, false));
    ck_assert_uint_eq(model_cursor(m), 3);          /* skips the reply */
    ck_assert(!model_next_thread(m, false));
    ck_assert(model_next_thread(m, true));
    ck_assert_uint_eq(model_cursor(m), 1);
    ck_assert(model_next_thread(m, true));
    ck_assert_uint_eq(model_cursor(m), 0);
    ck_assert(!model_next_thread(m, true));

    ck_assert_uint_eq(model_thread_ids(m, 2, &ids), 2);
    ck_assert(ids[0] != ids[1]);
    free(ids);

    /* Collapse the thread from its reply: one row left, the cursor on it. */
    model_set_cursor(m, 2);
    ck_assert(model_collapse_thread(m));
    ck_assert_uint_eq(model_rows(m), 3);
    ck_assert_uint_eq(model_cursor(m), 1);
    ck_assert_str_eq(model_row(m, 1)->subject, "Lunch");
    ck_assert_uint_eq(model_hidden(m, 1), 1);
    ck_assert_uint_eq(model_hidden(m, 0), 0);
    ck_assert_str_eq(model_row(m, 2)->subject, "Zebra crossing");
    /* The collapsed thread still acts whole: delete, undelete, read. */
    ck_assert_uint_eq(model_thread_ids(m, 1, &ids), 2);
    ck_assert_int_eq(model_delete(m, ids, 2, &gone, &e), 2);
    ck_assert_uint_eq(model_counts(m)->trashed, 2);
    ck_assert_uint_eq(model_rows(m), 3);            /* stays collapsed across the change */
    ck_assert_int_eq(model_undelete(m, ids, 2, &gone, &e), 2);
    ck_assert_uint_eq(model_counts(m)->trashed, 0);
    ck_assert_int_eq(model_flag(m, ids, 2, NULL, "S", &gone, &e), 2);
    ck_assert_uint_eq(model_counts(m)->unread, 3);
    ck_assert_int_eq(model_flag(m, ids, 2, "S", NULL, &gone, &e), 2);
    ck_assert_uint_eq(model_counts(m)->unread, 1);
    free(ids);
    ck_assert(model_collapse_thread(m));            /* expand again */
    ck_assert_uint_eq(model_rows(m), 4);

    /* All: only threads of more than one message collapse; again expands. */
    ck_assert(model_collapse_all(m));
    ck_assert_uint_eq(model_rows(m), 3);
    ck_assert(model_collapse_all(m));
    ck_assert_uint_eq(model_rows(m), 4);
    close_root(m, root);
}
END_TEST

START_TEST(outbox_has_nothing_unread)
{
    char *root = mkroot();
    char path[4096];
    struct model *m;
    struct err e;

    snprintf(path, sizeof path, "%s/Outbox", root);
    ck_assert_int_eq(maildir_create(path, &e), 0);
    test_put(path, "new", "2000.Q.host", "To: x@example.org\nSubject: queued\n\nhi\n");
    ck_assert_int_eq(model_open(root, "Outbox", NULL, &m, &e), 0);
    ck_assert(model_is_outbox(m));
    ck_assert_uint_eq(model_counts(m)->total, 1);
    ck_assert_uint_eq(model_counts(m)->unread, 0);
    ck_assert_uint_eq(model_counts(m)->in_new, 0);
    close_root(m, root);
}
END_TEST

START_TEST(save_to_files_and_trash)
{
    char *root = mkroot();
    struct model *m = open_inbox(root), *trash;
    uint32_t ids[2] = { id_of(m, "Lunch"), id_of(m, "Budget") };
    char path[4096], *where = NULL;
    struct buf got = BUF_INIT;
    size_t gone;
    struct err e;

    /* Two messages appended to an mbox; they stay in the folder. */
    snprintf(path, sizeof path, "%s/saved.mbox", root);
    ck_assert(model_is_file_target(path));
    ck_assert(model_is_file_target("~/x"));
    ck_assert(!model_is_file_target("Archive"));
    ck_assert_int_eq(model_save(m, ids, 2, path, &where, &gone, &e), 2);
    ck_assert_str_eq(where, path);
    free(where);
    ck_assert_uint_eq(model_rows(m), 4);
    ck_assert_int_eq(fs_read_file(path, &got, &e), 0);
    buf_cstr(&got);
    ck_assert_ptr_nonnull(strstr(got.ptr, "\nSubject: Lunch\n"));
    ck_assert_ptr_nonnull(strstr(got.ptr, "\nSubject: Budget\n"));
    ck_assert(strncmp(got.ptr, "From ", 5) == 0);
    buf_free(&got);
    /* Only the Trash is the Trash. */
    ck_assert(!model_is_trash(m));
    ck_assert_int_eq(model_open(root, "Trash", NULL, &trash, &e), 0);
    ck_assert(model_is_trash(trash));
    model_close(trash);
    close_root(m, root);
}
END_TEST

START_TEST(background_index_rule)
{
    char *root = mkroot();
    char dir[4096];
    struct model *m;

    snprintf(dir, sizeof dir, "%s/INBOX", root);
    setenv("TERN_BG_INDEX_MIN", "3", 1);
    ck_assert_uint_eq(model_large_folder(), 3);
    ck_assert(model_needs_background_index(dir));       /* no index, 4 messages */
    m = open_inbox(root);                               /* writes the index */
    ck_assert(model_is_large(m));
    ck_assert(!model_needs_background_index(dir));
    model_close(m);
    test_put(dir, "new", "2000.N.host", "Subject: later\n\nx\n");
    {
        char sub[4200];
        struct timespec ts[2] = { { 0, UTIME_NOW }, { 2000000000, 0 } };

        snprintf(sub, sizeof sub, "%s/new", dir);
        ck_assert_int_eq(utimensat(AT_FDCWD, sub, ts, 0), 0);
    }
    ck_assert(model_needs_background_index(dir));       /* the index is stale now */
    setenv("TERN_BG_INDEX_MIN", "100", 1);
    ck_assert(!model_needs_background_index(dir));      /* but the folder is small */
    unsetenv("TERN_BG_INDEX_MIN");
    ck_assert_uint_eq(model_large_folder(), 5000);
    test_tmpdir_free(root);
}
END_TEST

/* Set the queue's directories' mtimes ten seconds back: settled, not recent (coarse file
 * system clocks make recent mtimes untrustworthy, and the model rereads those). */
static void age_queue(const char *root)
{
    static const char *const sub[] = { ".tern/queue", "Outbox/new", "Outbox/cur" };
    struct timespec old[2] = { { time(NULL) - 10, 0 }, { time(NULL) - 10, 0 } };
    char path[4096];

    for (size_t i = 0; i < 3; i++) {
        ck_assert_int_lt(snprintf(path, sizeof path, "%s/%s", root, sub[i]), (int)sizeof path);
        ck_assert_int_eq(utimensat(AT_FDCWD, path, old, 0), 0);
    }
}

/* With Outbox open, refreshes and view changes (sort, every key that rebuilds the view) do not
 * reread the queue unless it changed: a 300-message flush kept the client busy rereading. */
START_TEST(outbox_queue_read_only_on_change)
{
    char *root = mkroot();
    struct queue *q;
    struct queue_entry ent, *ents;
    struct model *m;
    size_t n;
    struct err e;

    ck_assert_int_eq(queue_open(root, &q, &e), 0);
    for (int i = 0; i < 3; i++) {
        memset(&ent, 0, sizeof ent);
        ent.account = xstrdup("a");
        ent.from = xstrdup("a@x");
        queue_entry_add_rcpt(&ent, "b@x");
        ent.created = 1000 + i;
        ck_assert_int_eq(queue_add(q, "Subject: q\n\nx\n", 14, &ent, &e), 0);
        queue_entry_free(&ent);
    }
    age_queue(root);
    ck_assert_msg(model_open(root, "Outbox", NULL, &m, &e) == 0, "%s", e.msg);
    ck_assert(model_is_outbox(m));
    ck_assert_uint_eq(model_rows(m), 3);
    /* a state rewritten in place (no rename: the directories do not change) stays unseen,
     * which shows that refreshes and view changes do not reread the queue */
    ck_assert_int_eq(queue_list(q, &ents, &n, NULL, &e), 0);
    {
        char path[4096], *text;

        queue_entry_set_reply(&ents[0], "SNEAKY");
        text = queue_state_format(&ents[0]);
        ck_assert_int_lt(snprintf(path, sizeof path, "%s/.tern/queue/%s.state", root,
                                  ents[0].id), (int)sizeof path);
        test_write(path, text);
        free(text);
    }
    queue_list_free(ents, n);
    age_queue(root);
    for (int i = 0; i < 5; i++) {
        ck_assert_int_ge(model_refresh(m, &e), 0);
        model_set_sort(m, i % 2 ? IDX_SORT_DATE : IDX_SORT_SUBJECT, false);
        for (size_t r = 0; r < model_rows(m); r++) {
            const struct queue_entry *qe = model_queue_entry(m, r);

            ck_assert(qe == NULL || qe->reply == NULL || strcmp(qe->reply, "SNEAKY") != 0);
        }
    }
    /* a flush changes a state: the next refresh shows it */
    ck_assert_int_eq(queue_list(q, &ents, &n, NULL, &e), 0);
    queue_note_held(&ents[0], "535 5.7.8 no", "fp");
    ck_assert_int_eq(queue_save(q, &ents[0], &e), 0);
    queue_list_free(ents, n);
    ck_assert_int_ge(model_refresh(m, &e), 0);
    {
        bool held = false;

        for (size_t r = 0; r < model_rows(m); r++)
            held = held || (model_queue_entry(m, r) &&
                            model_queue_entry(m, r)->state == QUEUE_HELD);
        ck_assert(held);
    }
    model_close(m);
    queue_close(q);
    test_tmpdir_free(root);
}
END_TEST

/* Every account's outbox is an Outbox to the model: its rows carry their queue state. */
START_TEST(outbox_of_every_account)
{
    char *root = mkroot();
    struct config *cfg;
    struct queue *q;
    struct queue_entry ent;
    struct model *m;
    struct err e;
    static const char *const accounts[] = { "a", "b" };

    cfg = test_config("[general]\nmail_root = %s\n[account a]\nfrom = a@x\n"
                      "outbox = Queue/A\n[account b]\nfrom = b@x\n", root);
    ck_assert_int_eq(queue_open_cfg(cfg, NULL, &q, &e), 0);
    for (int i = 0; i < 2; i++) {
        memset(&ent, 0, sizeof ent);
        ent.account = xstrdup(accounts[i]);
        ent.from = xstrdup("a@x");
        queue_entry_add_rcpt(&ent, "b@x");
        ck_assert_int_eq(queue_add(q, "Subject: q\n\nx\n", 14, &ent, &e), 0);
        queue_entry_free(&ent);
    }
    queue_close(q);
    for (int i = 0; i < 2; i++) {
        ck_assert_msg(model_open(root, i ? "Outbox" : "Queue/A", cfg, &m, &e) == 0, "%s",
                      e.msg);
        ck_assert(model_is_outbox(m));
        ck_assert_uint_eq(model_rows(m), 1);
        ck_assert_ptr_nonnull(model_queue_entry(m, 0));
        ck_assert_str_eq(model_queue_entry(m, 0)->account, accounts[i]);
        model_close(m);
    }
    ck_assert_msg(model_open(root, "INBOX", cfg, &m, &e) == 0, "%s", e.msg);
    ck_assert(!model_is_outbox(m));
    model_close(m);
    config_free(cfg);
    test_tmpdir_free(root);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("model");
    TCase *t = tcase_create("core");

    tcase_add_test(t, open_counts_cursor);
    tcase_add_test(t, sort_keeps_cursor);
    tcase_add_test(t, limit_and_search);
    tcase_add_test(t, threads_view);
    tcase_add_test(t, cursor_across_refresh);
    tcase_add_test(t, flag_read_and_tags);
    tcase_add_test(t, flag_gone_message);
    tcase_add_test(t, move_and_copy);
    tcase_add_test(t, delete_undelete_expunge);
    tcase_add_test(t, save_to_files_and_trash);
    tcase_add_test(t, background_index_rule);
    tcase_add_test(t, tag_pattern_and_sets);
    tcase_add_test(t, thread_commands);
    tcase_add_test(t, outbox_has_nothing_unread);
    tcase_add_test(t, outbox_queue_read_only_on_change);
    tcase_add_test(t, outbox_of_every_account);
    tcase_add_test(t, watched_refresh_and_delivered);
    suite_add_tcase(s, t);
    return s;
}

TEST_MAIN(suite)

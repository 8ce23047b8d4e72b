/* Unit tests for src/store/thread.c: JWZ threading, missing parents, subject fallback,
 * loops, ordering and the tree drawing. */
#include "config.h"

#include <fcntl.h>
#include <sys/stat.h>

#include "testutil.h"
#include "tern/buf.h"
#include "tern/fsutil.h"
#include "tern/index.h"
#include "tern/maildir.h"
#include "tern/thread.h"
#include "tern/view.h"

struct tmsg {
    const char *name;      /* file name and subject */
    const char *date;      /* day of January 2024 */
    const char *id;
    const char *refs;      /* References value or NULL */
    const char *irt;       /* In-Reply-To value or NULL */
    const char *subject;   /* NULL: the name */
    int mtime;             /* file mtime (arrival), seconds after 2024-01-01; 0: now */
};

/* Writes message B (header lines; a body is added) as cur/NAME:2,S in D; PATH gets its path. */
static void put_msg(const char *d, const char *name, struct buf *b, char *path, size_t size)
{
    buf_adds(b, "\nbody\n");
    snprintf(path, size, "%s/cur/%s:2,S", d, name);
    test_write(path, b->ptr);
    buf_free(b);
}

static char *folder(const struct tmsg *t, size_t n)
{
    char *d = test_tmpdir();
    struct err e;

    ck_assert_int_eq(maildir_create(d, &e), 0);
    for (size_t i = 0; i < n; i++) {
        struct buf b = BUF_INIT;
        char path[4096], name[256];

        buf_printf(&b, "From: x@example.org\nSubject: %s\nDate: %s Jan 2024 12:00:00 +0000\n",
                   t[i].subject ? t[i].subject : t[i].name, t[i].date);
        if (t[i].id)
            buf_printf(&b, "Message-ID: <%s>\n", t[i].id);
        if (t[i].refs)
            buf_printf(&b, "References: %s\n", t[i].refs);
        if (t[i].irt)
            buf_printf(&b, "In-Reply-To: %s\n", t[i].irt);
        snprintf(name, sizeof name, "%zu.%s", i, t[i].name);
        put_msg(d, name, &b, path, sizeof path);
        if (t[i].mtime) {
            struct timespec ts[2] = { { 1704067200 + t[i].mtime, 0 },
                                      { 1704067200 + t[i].mtime, 0 } };

            ck_assert_int_eq(utimensat(AT_FDCWD, path, ts, 0), 0);
        }
    }
    return d;
}

/* A folder opened (not saved), a view of it and the view threaded. */
struct threaded {
    struct idx *x;
    struct idx_view v;
    struct thread_view tv;
};

/* Opens D, views it in VKEY order (VREV: reversed) limited by L (NULL: all) and threads
 * the view in KEY order (REV: reversed). */
static void threaded_open(struct threaded *t, const char *d, enum idx_sort vkey, bool vrev,
                          const struct idx_limit *l, enum idx_sort key, bool rev)
{
    struct err e;

    ck_assert_int_eq(idx_open(d, IDX_NO_SAVE, &t->x, &e), 0);
    idx_view_init(&t->v);
    idx_view_build(t->x, &t->v, vkey, vrev, l);
    thread_build(t->x, t->v.v, t->v.n, key, rev, &t->tv);
}

static void threaded_close(struct threaded *t)
{
    thread_view_free(&t->tv);
    idx_view_free(&t->v);
    idx_close(t->x);
}

/* "depth:subject" per row, joined with spaces, threading a view in the order of vkey. */
static char *render_view(const char *d, enum idx_sort vkey, bool vrev, enum idx_sort key,
                         bool rev)
{
    struct threaded t;
    struct buf out = BUF_INIT;

    threaded_open(&t, d, vkey, vrev, NULL, key, rev);
    ck_assert_uint_eq(t.tv.n, t.v.n);
    for (size_t r = 0; r < t.tv.n; r++)
        buf_printf(&out, "%s%u:%s", r ? " " : "", t.tv.rows[r].depth,
                   idx_msg(t.x, t.tv.rows[r].msg)->subject);
    threaded_close(&t);
    return buf_detach(&out);
}

static char *render(const char *d, enum idx_sort key, bool rev)
{
    return render_view(d, IDX_SORT_DATE, false, key, rev);
}

/* The threads of folder D in KEY order (REV: reversed) read WANT (render's notation). */
static void expect_threads(const char *d, enum idx_sort key, bool rev, const char *want)
{
    char *s = render(d, key, rev);

    ck_assert_str_eq(s, want);
    free(s);
}

/* The threads of a folder of the messages T (N of them) in KEY order (REV: reversed) read
 * WANT (render's notation). */
static void expect_folder_threads(const struct tmsg *t, size_t n, enum idx_sort key, bool rev,
                                  const char *want)
{
    char *d = folder(t, n);

    expect_threads(d, key, rev, want);
    test_tmpdir_free(d);
}

START_TEST(simple_tree)
{
    static const struct tmsg t[] = {
        { "a", "01", "a@x", NULL, NULL, NULL, 0 },
        { "b", "02", "b@x", "<a@x>", "<a@x>", NULL, 0 },
        { "c", "03", "c@x", "<a@x> <b@x>", "<b@x>", NULL, 0 },
        { "d", "04", "d@x", "<a@x>", NULL, NULL, 0 },
        { "e", "02", "e@x", NULL, NULL, NULL, 0 },
    };

    /* threads ordered by their newest message: e (02) before a's thread (04) */
    expect_folder_threads(t, 5, IDX_SORT_DATE, false, "0:e 0:a 1:b 2:c 1:d");
    expect_folder_threads(t, 5, IDX_SORT_DATE, true, "0:a 1:b 2:c 1:d 0:e");
}
END_TEST

START_TEST(missing_parent_groups_siblings)
{
    /* the root was never received: its replies stay together under the earliest */
    static const struct tmsg t[] = {
        { "r1", "02", "r1@x", "<root@x>", NULL, NULL, 0 },
        { "r2", "03", "r2@x", "<root@x>", NULL, NULL, 0 },
        { "r3", "04", "r3@x", "<root@x> <r2@x>", NULL, NULL, 0 },
        { "z", "05", "z@x", NULL, NULL, NULL, 0 },
    };

    expect_folder_threads(t, 4, IDX_SORT_DATE, false, "0:r1 1:r2 2:r3 0:z");
}
END_TEST

START_TEST(subject_fallback)
{
    static const struct tmsg t[] = {
        { "orig", "01", "o@x", NULL, NULL, "Lunch plans", 0 },
        { "reply", "02", "r@x", NULL, NULL, "Re: Lunch plans", 0 },
        { "other", "03", "x@x", NULL, NULL, "Lunch plans", 0 },   /* original, not merged */
        { "fwd", "04", "f@x", NULL, NULL, "Fwd: Unrelated", 0 },
    };

    expect_folder_threads(t, 4, IDX_SORT_DATE, false,
                          "0:Lunch plans 1:Re: Lunch plans 0:Lunch plans 0:Fwd: Unrelated");
}
END_TEST

START_TEST(loops_and_duplicates)
{
    static const struct tmsg t[] = {
        { "a", "01", "a@x", "<b@x>", NULL, NULL, 0 },
        { "b", "02", "b@x", "<a@x>", NULL, NULL, 0 },       /* a <-> b loop */
        { "self", "03", "s@x", "<s@x>", "<s@x>", NULL, 0 }, /* refers to itself */
        { "dup", "04", "a@x", NULL, NULL, NULL, 0 },        /* duplicate Message-ID */
        { "noid", "05", NULL, "<a@x>", NULL, NULL, 0 },
    };
    char *d = folder(t, 5);
    char *s = render(d, IDX_SORT_DATE, false);

    /* every message appears exactly once; no crash, no infinite loop */
    ck_assert_ptr_nonnull(strstr(s, ":a"));
    ck_assert_ptr_nonnull(strstr(s, ":b"));
    ck_assert_ptr_nonnull(strstr(s, "0:self"));
    ck_assert_ptr_nonnull(strstr(s, "0:dup"));
    ck_assert_ptr_nonnull(strstr(s, ":noid"));
    free(s);
    test_tmpdir_free(d);
}
END_TEST

START_TEST(tree_prefix)
{
    static const struct tmsg t[] = {
        { "a", "01", "a@x", NULL, NULL, NULL, 0 },
        { "b", "02", "b@x", "<a@x>", NULL, NULL, 0 },
        { "c", "03", "c@x", "<a@x> <b@x>", NULL, NULL, 0 },
        { "d", "04", "d@x", "<a@x>", NULL, NULL, 0 },
    };
    char *d = folder(t, 4);
    struct threaded th;
    char p[256];

    threaded_open(&th, d, IDX_SORT_DATE, false, NULL, IDX_SORT_DATE, false);
    ck_assert_uint_eq(th.tv.n, 4);
    ck_assert_str_eq(thread_prefix(&th.tv, 0, p, sizeof p), "");
    ck_assert_str_eq(thread_prefix(&th.tv, 1, p, sizeof p), "├─>");
    ck_assert_str_eq(thread_prefix(&th.tv, 2, p, sizeof p), "│ └─>");
    ck_assert_str_eq(thread_prefix(&th.tv, 3, p, sizeof p), "└─>");
    ck_assert_str_eq(thread_prefix(&th.tv, 2, p, 4), "");     /* too small: cut, terminated */
    threaded_close(&th);
    test_tmpdir_free(d);
}
END_TEST

START_TEST(limited_subset)
{
    static const struct tmsg t[] = {
        { "a", "01", "a@x", NULL, NULL, NULL, 0 },
        { "b", "02", "b@x", "<a@x>", NULL, NULL, 0 },
        { "c", "03", "c@x", "<a@x> <b@x>", NULL, NULL, 0 },
    };
    char *d = folder(t, 3);
    struct threaded th;
    struct idx_limit *l;
    struct err e;

    ck_assert_int_eq(idx_limit_compile("-s:b", &l, &e), 0);
    threaded_open(&th, d, IDX_SORT_DATE, false, l, IDX_SORT_DATE, false);
    ck_assert_uint_eq(th.v.n, 2);
    /* b is filtered out: c hangs under a through the References chain */
    ck_assert_uint_eq(th.tv.n, 2);
    ck_assert_uint_eq(th.tv.rows[1].depth, 1);
    threaded_close(&th);
    idx_limit_free(l);
    test_tmpdir_free(d);
}
END_TEST

START_TEST(loop_and_duplicate_exact)
{
    static const struct tmsg t[] = {
        { "a", "01", "a@x", "<b@x>", NULL, NULL, 0 },
        { "b", "02", "b@x", "<a@x>", NULL, NULL, 0 },      /* a <-> b: b keeps a */
        { "d1", "03", "d@x", NULL, NULL, NULL, 0 },
        { "d2", "04", "d@x", NULL, NULL, NULL, 0 },        /* the same Message-ID */
        { "re", "05", "r@x", "<d@x>", NULL, NULL, 0 },     /* answers the first d */
    };

    expect_folder_threads(t, 5, IDX_SORT_DATE, false, "0:b 1:a 0:d2 0:d1 1:re");
}
END_TEST

/* Equal dates: arrival (the file mtime) decides, for threads and for children alike. */
START_TEST(date_ties)
{
    static const struct tmsg t[] = {
        { "a", "01", "a@x", NULL, NULL, NULL, 10 },
        { "b", "02", "b@x", "<a@x>", NULL, NULL, 30 },
        { "c", "02", "c@x", "<a@x>", NULL, NULL, 20 },
        { "d", "02", "d@x", "<a@x>", NULL, NULL, 40 },
        { "y", "03", "y@x", NULL, NULL, NULL, 60 },
        { "z", "03", "z@x", NULL, NULL, NULL, 50 },
    };

    expect_folder_threads(t, 6, IDX_SORT_DATE, false, "0:a 1:c 1:b 1:d 0:z 0:y");
    expect_folder_threads(t, 6, IDX_SORT_DATE, true, "0:y 0:z 0:a 1:c 1:b 1:d");
}
END_TEST

/* The view's own order (sorted by subject, reversed) does not change the threads. */
START_TEST(view_order_irrelevant)
{
    static const struct tmsg t[] = {
        { "m", "01", "a@x", NULL, NULL, NULL, 10 },
        { "k", "02", "b@x", "<a@x>", NULL, NULL, 30 },
        { "q", "02", "c@x", "<a@x>", NULL, NULL, 20 },
        { "b", "03", "d@x", "<a@x> <c@x>", NULL, NULL, 40 },
        { "x", "03", "e@x", NULL, NULL, NULL, 5 },
        { "c", "04", "f@x", NULL, NULL, "Re: x", 6 },
    };
    char *d = folder(t, 6);
    char *want = render(d, IDX_SORT_DATE, false);
    char *s;

    ck_assert_str_eq(want, "0:m 1:q 2:b 1:k 0:x 1:Re: x");
    for (int vk = 0; vk < 2; vk++) {
        for (int vrev = 0; vrev < 2; vrev++) {
            s = render_view(d, vk ? IDX_SORT_SUBJECT : IDX_SORT_DATE, vrev, IDX_SORT_DATE,
                            false);
            ck_assert_str_eq(s, want);
            free(s);
        }
    }
    free(want);
    test_tmpdir_free(d);
}
END_TEST

/* Threads by arrival: placed by their last arrival, children still by date. */
START_TEST(arrival_order)
{
    static const struct tmsg t[] = {
        { "a", "01", "a@x", NULL, NULL, NULL, 100 },
        { "b", "02", "b@x", "<a@x>", NULL, NULL, 400 },
        { "c", "03", "c@x", NULL, NULL, NULL, 300 },
    };

    expect_folder_threads(t, 3, IDX_SORT_ARRIVAL, false, "0:c 0:a 1:b");
    expect_folder_threads(t, 3, IDX_SORT_DATE, false, "0:a 1:b 0:c");
}
END_TEST

/* Replies whose original is missing: the later ones join the first (list tags, Re[2]:,
 * and the case of the prefix do not matter); a different base stays apart. */
START_TEST(subject_replies_only)
{
    static const struct tmsg t[] = {
        { "r1", "01", "1@x", NULL, NULL, "Re: Plans", 0 },
        { "r2", "02", "2@x", NULL, NULL, "[team] RE: Plans", 0 },
        { "r3", "03", "3@x", NULL, NULL, "Re[2]: Plans", 0 },
        { "p2", "04", "4@x", NULL, NULL, "Re: Plans B", 0 },
    };

    expect_folder_threads(t, 4, IDX_SORT_DATE, false,
                          "0:Re: Plans 1:[team] RE: Plans 1:Re[2]: Plans 0:Re: Plans B");
}
END_TEST

/* Many more ids named in References and In-Reply-To than there are messages (each of 300
 * messages names six that are not in the folder): the id table grows instead of filling up
 * (a full table never ended its search). */
START_TEST(many_unknown_references)
{
    enum { N = 300 };
    char *d = test_tmpdir();
    struct threaded th;
    struct err e;

    ck_assert_int_eq(maildir_create(d, &e), 0);
    for (int i = 0; i < N; i++) {
        struct buf b = BUF_INIT;
        char path[4096], name[64];

        buf_printf(&b, "From: x@example.org\nSubject: s%d\nDate: 01 Jan 2024 12:%02d:%02d +0000\n"
                   "Message-ID: <m%d@x>\nIn-Reply-To: <irt%d@x>\nReferences:", i, i / 60, i % 60,
                   i, i);
        for (int k = 0; k < 5; k++)
            buf_printf(&b, " <r%d.%d@x>", i, k);
        buf_adds(&b, "\n");
        snprintf(name, sizeof name, "%d.h", i);
        put_msg(d, name, &b, path, sizeof path);
    }
    threaded_open(&th, d, IDX_SORT_DATE, false, NULL, IDX_SORT_DATE, false);
    ck_assert_uint_eq(th.tv.n, N);
    for (size_t r = 0; r < th.tv.n; r++) {
        ck_assert_uint_eq(th.tv.rows[r].depth, 0);
        ck_assert_uint_eq(th.tv.rows[r].msg, th.v.v[r]);
    }
    threaded_close(&th);
    test_tmpdir_free(d);
}
END_TEST

static Suite *thread_suite(void)
{
    Suite *s = suite_create("thread");
    TCase *tc = tcase_create("core");

    tcase_add_test(tc, simple_tree);
    tcase_add_test(tc, missing_parent_groups_siblings);
    tcase_add_test(tc, subject_fallback);
    tcase_add_test(tc, loops_and_duplicates);
    tcase_add_test(tc, tree_prefix);
    tcase_add_test(tc, limited_subset);
    tcase_add_test(tc, loop_and_duplicate_exact);
    tcase_add_test(tc, date_ties);
    tcase_add_test(tc, view_order_irrelevant);
    tcase_add_test(tc, arrival_order);
    tcase_add_test(tc, subject_replies_only);
    tcase_add_test(tc, many_unknown_references);
    suite_add_tcase(s, tc);
    return s;
}

TEST_MAIN(thread_suite)

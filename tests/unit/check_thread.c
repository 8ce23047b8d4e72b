/* Unit tests for src/store/thread.c: JWZ threading, missing parents, subject fallback,
 * loops, ordering and the tree drawing. */
#include "config.h"

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
};

static char *folder(const struct tmsg *t, size_t n)
{
    char *d = test_tmpdir();
    struct err e;

    ck_assert_int_eq(maildir_create(d, &e), 0);
    for (size_t i = 0; i < n; i++) {
        struct buf b = BUF_INIT;
        char path[4096];

        buf_printf(&b, "From: x@example.org\nSubject: %s\nDate: %s Jan 2024 12:00:00 +0000\n",
                   t[i].subject ? t[i].subject : t[i].name, t[i].date);
        if (t[i].id)
            buf_printf(&b, "Message-ID: <%s>\n", t[i].id);
        if (t[i].refs)
            buf_printf(&b, "References: %s\n", t[i].refs);
        if (t[i].irt)
            buf_printf(&b, "In-Reply-To: %s\n", t[i].irt);
        buf_adds(&b, "\nbody\n");
        snprintf(path, sizeof path, "%s/cur/%zu.%s:2,S", d, i, t[i].name);
        test_write(path, b.ptr);
        buf_free(&b);
    }
    return d;
}

/* "depth:subject" per row, joined with spaces. */
static char *render(const char *d, enum idx_sort key, bool rev)
{
    struct idx *x;
    struct idx_view v;
    struct thread_view tv;
    struct err e;
    struct buf out = BUF_INIT;

    ck_assert_int_eq(idx_open(d, IDX_NO_SAVE, &x, &e), 0);
    idx_view_init(&v);
    idx_view_build(x, &v, IDX_SORT_DATE, false, NULL);
    thread_build(x, v.v, v.n, key, rev, &tv);
    ck_assert_uint_eq(tv.n, v.n);
    for (size_t r = 0; r < tv.n; r++)
        buf_printf(&out, "%s%u:%s", r ? " " : "", tv.rows[r].depth,
                   idx_msg(x, tv.rows[r].msg)->subject);
    thread_view_free(&tv);
    idx_view_free(&v);
    idx_close(x);
    return buf_detach(&out);
}

START_TEST(simple_tree)
{
    static const struct tmsg t[] = {
        { "a", "01", "a@x", NULL, NULL, NULL },
        { "b", "02", "b@x", "<a@x>", "<a@x>", NULL },
        { "c", "03", "c@x", "<a@x> <b@x>", "<b@x>", NULL },
        { "d", "04", "d@x", "<a@x>", NULL, NULL },
        { "e", "02", "e@x", NULL, NULL, NULL },
    };
    char *d = folder(t, 5);
    char *s = render(d, IDX_SORT_DATE, false);

    /* threads ordered by their newest message: e (02) before a's thread (04) */
    ck_assert_str_eq(s, "0:e 0:a 1:b 2:c 1:d");
    free(s);
    s = render(d, IDX_SORT_DATE, true);
    ck_assert_str_eq(s, "0:a 1:b 2:c 1:d 0:e");
    free(s);
    test_tmpdir_free(d);
}
END_TEST

START_TEST(missing_parent_groups_siblings)
{
    /* the root was never received: its replies stay together under the earliest */
    static const struct tmsg t[] = {
        { "r1", "02", "r1@x", "<root@x>", NULL, NULL },
        { "r2", "03", "r2@x", "<root@x>", NULL, NULL },
        { "r3", "04", "r3@x", "<root@x> <r2@x>", NULL, NULL },
        { "z", "05", "z@x", NULL, NULL, NULL },
    };
    char *d = folder(t, 4);
    char *s = render(d, IDX_SORT_DATE, false);

    ck_assert_str_eq(s, "0:r1 1:r2 2:r3 0:z");
    free(s);
    test_tmpdir_free(d);
}
END_TEST

START_TEST(subject_fallback)
{
    static const struct tmsg t[] = {
        { "orig", "01", "o@x", NULL, NULL, "Lunch plans" },
        { "reply", "02", "r@x", NULL, NULL, "Re: Lunch plans" },
        { "other", "03", "x@x", NULL, NULL, "Lunch plans" },   /* original, not merged */
        { "fwd", "04", "f@x", NULL, NULL, "Fwd: Unrelated" },
    };
    char *d = folder(t, 4);
    char *s = render(d, IDX_SORT_DATE, false);

    ck_assert_str_eq(s, "0:Lunch plans 1:Re: Lunch plans 0:Lunch plans 0:Fwd: Unrelated");
    free(s);
    test_tmpdir_free(d);
}
END_TEST

START_TEST(loops_and_duplicates)
{
    static const struct tmsg t[] = {
        { "a", "01", "a@x", "<b@x>", NULL, NULL },
        { "b", "02", "b@x", "<a@x>", NULL, NULL },       /* a <-> b loop */
        { "self", "03", "s@x", "<s@x>", "<s@x>", NULL }, /* refers to itself */
        { "dup", "04", "a@x", NULL, NULL, NULL },        /* duplicate Message-ID */
        { "noid", "05", NULL, "<a@x>", NULL, NULL },
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
        { "a", "01", "a@x", NULL, NULL, NULL },
        { "b", "02", "b@x", "<a@x>", NULL, NULL },
        { "c", "03", "c@x", "<a@x> <b@x>", NULL, NULL },
        { "d", "04", "d@x", "<a@x>", NULL, NULL },
    };
    char *d = folder(t, 4);
    struct idx *x;
    struct idx_view v;
    struct thread_view tv;
    struct err e;
    char p[256];

    ck_assert_int_eq(idx_open(d, IDX_NO_SAVE, &x, &e), 0);
    idx_view_init(&v);
    idx_view_build(x, &v, IDX_SORT_DATE, false, NULL);
    thread_build(x, v.v, v.n, IDX_SORT_DATE, false, &tv);
    ck_assert_uint_eq(tv.n, 4);
    ck_assert_str_eq(thread_prefix(&tv, 0, p, sizeof p), "");
    ck_assert_str_eq(thread_prefix(&tv, 1, p, sizeof p), "├─>");
    ck_assert_str_eq(thread_prefix(&tv, 2, p, sizeof p), "│ └─>");
    ck_assert_str_eq(thread_prefix(&tv, 3, p, sizeof p), "└─>");
    ck_assert_str_eq(thread_prefix(&tv, 2, p, 4), "");     /* too small: cut, terminated */
    thread_view_free(&tv);
    idx_view_free(&v);
    idx_close(x);
    test_tmpdir_free(d);
}
END_TEST

START_TEST(limited_subset)
{
    static const struct tmsg t[] = {
        { "a", "01", "a@x", NULL, NULL, NULL },
        { "b", "02", "b@x", "<a@x>", NULL, NULL },
        { "c", "03", "c@x", "<a@x> <b@x>", NULL, NULL },
    };
    char *d = folder(t, 3);
    struct idx *x;
    struct idx_view v;
    struct idx_limit *l;
    struct thread_view tv;
    struct err e;

    ck_assert_int_eq(idx_open(d, IDX_NO_SAVE, &x, &e), 0);
    ck_assert_int_eq(idx_limit_compile("-s:b", &l, &e), 0);
    idx_view_init(&v);
    idx_view_build(x, &v, IDX_SORT_DATE, false, l);
    ck_assert_uint_eq(v.n, 2);
    thread_build(x, v.v, v.n, IDX_SORT_DATE, false, &tv);
    /* b is filtered out: c hangs under a through the References chain */
    ck_assert_uint_eq(tv.n, 2);
    ck_assert_uint_eq(tv.rows[1].depth, 1);
    thread_view_free(&tv);
    idx_view_free(&v);
    idx_limit_free(l);
    idx_close(x);
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
    suite_add_tcase(s, tc);
    return s;
}

TEST_MAIN(thread_suite)

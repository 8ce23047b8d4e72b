/* Unit tests for src/store/index.c: build, cache reuse, incremental update, damaged cache
 * files, vanishing files, operations, sorting and limit patterns. */
#include "config.h"

#include <fcntl.h>
#include <sys/stat.h>

#include "testutil.h"
#include "tern/fsutil.h"
#include <sys/time.h>
#include "tern/index.h"
#include "tern/maildir.h"
#include "tern/str.h"
#include "tern/xalloc.h"

static bool str_endswith_test(const char *s, const char *suffix)
{
    size_t a = strlen(s), b = strlen(suffix);

    return a >= b && strcmp(s + a - b, suffix) == 0;
}

/* Write DIR/SUB/NAME with the given text. */
static void put(const char *dir, const char *sub, const char *name, const char *text)
{
    char path[4096];

    snprintf(path, sizeof path, "%s/%s/%s", dir, sub, name);
    test_write(path, text);
}

static char *mkfolder(void)
{
    char *d = test_tmpdir();
    struct err e;

    ck_assert_int_eq(maildir_create(d, &e), 0);
    put(d, "cur", "1000.A.host:2,S",
        "From: Alice Example <alice@example.org>\nTo: bob@example.org\n"
        "Subject: =?UTF-8?Q?Gr=C3=BC=C3=9Fe?= aus Bern\n"
        "Date: Mon, 01 Jan 2024 10:00:00 +0000\nMessage-ID: <a1@example.org>\n\nhello body\n");
    put(d, "cur", "1001.B.host:2,FS",
        "From: \"Bob\" <bob@example.org>\nTo: Alice <alice@example.org>\n"
        "Subject: Re: Grüße aus Bern\nDate: Tue, 02 Jan 2024 10:00:00 +0000\n"
        "Message-ID: <b1@example.org>\nIn-Reply-To: <a1@example.org>\n"
        "References: <a1@example.org>\n\nreply with zebra\n");
    put(d, "new", "1002.C.host",
        "From: carol@example.net\nSubject: Budget 2024\n"
        "Date: Sun, 31 Dec 2023 09:00:00 +0000\nMessage-ID: <c1@example.net>\n\n"
        "a much longer body than the others, to make it the largest message here\n"
        "padding padding padding padding padding padding padding padding padding padding\n"
        "padding padding padding padding padding padding padding padding padding padding\n"
        "padding padding padding padding padding padding padding padding padding padding\n");
    return d;
}

static long find_subject(const struct idx *x, const char *subj)
{
    for (size_t i = 0; i < idx_count(x); i++)
        if (!idx_msg(x, i)->gone && strcmp(idx_msg(x, i)->subject, subj) == 0)
            return (long)i;
    return -1;
}

START_TEST(build_and_fields)
{
    char *d = mkfolder();
    struct idx *x;
    struct err e;
    long i;

    ck_assert_int_eq(idx_open(d, 0, &x, &e), 0);
    ck_assert_uint_eq(idx_count(x), 3);
    ck_assert_uint_eq(idx_stats(x)->parsed, 3);
    i = find_subject(x, "Grüße aus Bern");
    ck_assert_int_ge(i, 0);
    const struct idx_msg *m = idx_msg(x, (size_t)i);
    ck_assert_str_eq(m->from, "Alice Example");
    ck_assert_str_eq(m->to, "bob@example.org");
    ck_assert_str_eq(m->msgid, "a1@example.org");
    ck_assert_int_eq(m->date, 1704103200);
    ck_assert_uint_eq(m->flags, MDF_SEEN);
    ck_assert(!m->in_new);
    i = find_subject(x, "Re: Grüße aus Bern");
    m = idx_msg(x, (size_t)i);
    ck_assert_str_eq(m->in_reply_to, "a1@example.org");
    ck_assert_str_eq(m->references, "a1@example.org");
    ck_assert_uint_eq(m->flags, MDF_SEEN | MDF_FLAGGED);
    i = find_subject(x, "Budget 2024");
    m = idx_msg(x, (size_t)i);
    ck_assert(m->in_new);
    ck_assert_str_eq(m->from, "carol@example.net");
    char *p = idx_path(x, (size_t)i);
    ck_assert(str_startswith(p, d));
    ck_assert_ptr_nonnull(strstr(p, "/new/1002.C.host"));
    free(p);
    idx_close(x);
    rm_rf(d);
    free(d);
}
END_TEST

START_TEST(warm_open_uses_cache)
{
    char *d = mkfolder();
    struct idx *x;
    struct err e;

    ck_assert_int_eq(idx_open(d, 0, &x, &e), 0);
    idx_close(x);
    ck_assert_int_eq(idx_open(d, 0, &x, &e), 0);
    ck_assert_uint_eq(idx_stats(x)->cached, 3);
    ck_assert_uint_eq(idx_stats(x)->parsed, 0);
    ck_assert(!idx_stats(x)->cache_bad);
    ck_assert_int_ge(find_subject(x, "Budget 2024"), 0);
    idx_close(x);
    /* no cache wanted: everything parsed again */
    ck_assert_int_eq(idx_open(d, IDX_NO_CACHE | IDX_NO_SAVE, &x, &e), 0);
    ck_assert_uint_eq(idx_stats(x)->parsed, 3);
    idx_close(x);
    rm_rf(d);
    free(d);
}
END_TEST

/* Set the mtime of DIR/SUB back by `ago` seconds. */
static void age(const char *dir, const char *sub, int ago)
{
    char path[4096];
    struct timespec t[2];

    snprintf(path, sizeof path, "%s/%s", dir, sub);
    clock_gettime(CLOCK_REALTIME, &t[0]);
    t[0].tv_sec -= ago;
    t[1] = t[0];
    ck_assert_int_eq(utimensat(AT_FDCWD, path, t, 0), 0);
}

/* idx_fresh answers with index.c's own rule, without loading the cache. */
START_TEST(freshness_rule)
{
    char *d = mkfolder();
    struct idx *x;
    struct err e;
    size_t n = 99;

    ck_assert_int_eq(idx_fresh(d, &n), 0);              /* no cache */
    ck_assert_uint_eq(n, 0);
    age(d, "new", 10);
    age(d, "cur", 10);
    ck_assert_int_eq(idx_open(d, 0, &x, &e), 0);        /* listed well after the change */
    idx_close(x);
    ck_assert_int_eq(idx_fresh(d, &n), 1);
    ck_assert_uint_eq(n, 3);
    ck_assert_int_eq(idx_open(d, 0, &x, &e), 0);        /* and open agrees: no listing */
    ck_assert(!idx_stats(x)->listed);
    idx_close(x);
    put(d, "new", "1003.D.host", "Subject: late\n\nx\n");
    ck_assert_int_eq(idx_fresh(d, &n), 0);              /* new/ changed since */
    ck_assert_uint_eq(n, 3);
    age(d, "new", 5);
    ck_assert_int_eq(idx_fresh(d, NULL), 0);            /* another stamp: still stale */
    {
        char *cache = idx_cache_path(d);

        test_write(cache, "not an index at all, but long enough to have a header......");
        free(cache);
    }
    ck_assert_int_eq(idx_fresh(d, &n), 0);              /* a foreign file */
    ck_assert_uint_eq(n, 0);
    rm_rf(d);
    free(d);
}
END_TEST

/* Item 16 of issue 14: the cache file truncated in place while an index is open (another
 * program, a second tern) must not end the process with SIGBUS. */
START_TEST(cache_truncated_while_open)
{
    char *d = mkfolder();
    char *cache = fs_join(d, ".tern-index");
    struct idx *x;
    struct err e;
    size_t total = 0;
    struct timeval old[2] = { { 1000000000, 0 }, { 1000000000, 0 } };
    char sub[4200];

    /* directories unchanged for long: the second open trusts the cache alone */
    snprintf(sub, sizeof sub, "%s/new", d);
    ck_assert_int_eq(utimes(sub, old), 0);
    snprintf(sub, sizeof sub, "%s/cur", d);
    ck_assert_int_eq(utimes(sub, old), 0);
    ck_assert_int_eq(idx_open(d, 0, &x, &e), 0);
    idx_close(x);
    ck_assert_int_eq(idx_open(d, 0, &x, &e), 0);
    ck_assert_uint_eq(idx_stats(x)->cached, 3);
    ck_assert_int_eq(truncate(cache, 0), 0);
    for (size_t i = 0; i < idx_count(x); i++) {
        const struct idx_msg *m = idx_msg(x, i);

        total += strlen(m->from) + strlen(m->subject) + strlen(m->to);
    }
    ck_assert_uint_gt(total, 0);
    ck_assert_int_ge(find_subject(x, "Budget 2024"), 0);
    idx_close(x);
    free(cache);
    rm_rf(d);
    free(d);
}
END_TEST

START_TEST(incremental_refresh)
{
    char *d = mkfolder();
    struct idx *x;
    struct err e;
    char a[4096], b[4096];
    long i;
    uint32_t id_budget, id_alice;

    ck_assert_int_eq(idx_open(d, 0, &x, &e), 0);
    id_budget = idx_msg(x, (size_t)find_subject(x, "Budget 2024"))->id;
    id_alice = idx_msg(x, (size_t)find_subject(x, "Grüße aus Bern"))->id;
    ck_assert_int_eq(idx_refresh(x, &e), 0);
    /* another client: reads the new message, deletes Bob's, delivers one */
    snprintf(a, sizeof a, "%s/new/1002.C.host", d);
    snprintf(b, sizeof b, "%s/cur/1002.C.host:2,RS", d);
    ck_assert_int_eq(rename(a, b), 0);
    snprintf(a, sizeof a, "%s/cur/1001.B.host:2,FS", d);
    ck_assert_int_eq(unlink(a), 0);
    put(d, "new", "1003.D.host", "From: dan@example.com\nSubject: late\n\n.\n");
    ck_assert_int_eq(idx_refresh(x, &e), 1);
    ck_assert_uint_eq(idx_count(x), 3);
    ck_assert_uint_eq(idx_stats(x)->renamed, 1);
    ck_assert_uint_eq(idx_stats(x)->removed, 1);
    ck_assert_uint_eq(idx_stats(x)->parsed, 1);
    i = idx_find_id(x, id_budget);
    ck_assert_int_ge(i, 0);
    ck_assert_str_eq(idx_msg(x, (size_t)i)->subject, "Budget 2024");
    ck_assert_uint_eq(idx_msg(x, (size_t)i)->flags, MDF_SEEN | MDF_REPLIED);
    ck_assert(!idx_msg(x, (size_t)i)->in_new);
    ck_assert_int_ge(idx_find_id(x, id_alice), 0);
    ck_assert_int_ge(find_subject(x, "late"), 0);
    ck_assert_int_lt(find_subject(x, "Re: Grüße aus Bern"), 0);
    idx_close(x);
    /* and the saved cache agrees */
    ck_assert_int_eq(idx_open(d, 0, &x, &e), 0);
    ck_assert_uint_eq(idx_count(x), 3);
    ck_assert_uint_eq(idx_stats(x)->parsed, 0);
    idx_close(x);
    rm_rf(d);
    free(d);
}
END_TEST

/* Damage the cache file in several ways: each must be detected and rebuilt, never crash. */
START_TEST(damaged_cache_rebuilt)
{
    char *d = mkfolder();
    char *cache = idx_cache_path(d);
    struct idx *x;
    struct err e;
    struct buf good = BUF_INIT;

    ck_assert_int_eq(idx_open(d, 0, &x, &e), 0);
    idx_close(x);
    ck_assert_int_eq(fs_read_file(cache, &good, &e), 0);
    ck_assert_uint_gt(good.len, 64 + 3 * 64);
    for (int kind = 0; kind < 6; kind++) {
        struct buf bad = BUF_INIT;

        buf_add(&bad, good.ptr, good.len);
        switch (kind) {
        case 0: buf_truncate(&bad, bad.len / 2); break;            /* truncated */
        case 1: buf_truncate(&bad, 10); break;                      /* torn header */
        case 2: bad.ptr[64 + 70] ^= 0x55; break;                    /* flipped record bit */
        case 3: bad.ptr[bad.len - 2] ^= 0x20; break;                /* flipped string byte */
        case 4: buf_truncate(&bad, 0); break;                       /* empty */
        case 5: memset(bad.ptr + 64, 0xff, 64); break;              /* wild offsets */
        }
        ck_assert_int_eq(fs_write_atomic(cache, bad.ptr, bad.len, 0600, &e), 0);
        ck_assert_int_eq(idx_open(d, 0, &x, &e), 0);
        ck_assert_msg(idx_stats(x)->cache_bad, "kind %d not detected", kind);
        ck_assert_uint_eq(idx_count(x), 3);
        ck_assert_uint_eq(idx_stats(x)->parsed, 3);
        ck_assert_int_ge(find_subject(x, "Grüße aus Bern"), 0);
        idx_close(x);
        /* rebuilt and saved: the next open is warm again */
        ck_assert_int_eq(idx_open(d, 0, &x, &e), 0);
        ck_assert(!idx_stats(x)->cache_bad);
        ck_assert_uint_eq(idx_stats(x)->parsed, 0);
        idx_close(x);
        buf_free(&bad);
    }
    buf_free(&good);
    free(cache);
    rm_rf(d);
    free(d);
}
END_TEST

START_TEST(image_loader_rejects_garbage)
{
    struct idx *x = idx_new_empty("/nonexistent");
    struct err e;
    char junk[300];

    memset(junk, 'A', sizeof junk);
    ck_assert_int_eq(idx_load_image(x, junk, sizeof junk, false, &e), -1);
    ck_assert_int_eq(e.cls, ERR_PARSE);
    ck_assert_int_eq(idx_load_image(x, junk, 0, false, &e), -1);
    ck_assert_uint_eq(idx_count(x), 0);
    idx_close(x);
}
END_TEST

/* A name that readdir returns but open cannot (a dangling symlink: the file vanished between
 * the listing and the read) is skipped, and the next refresh reads the directory again. */
START_TEST(file_vanishes_mid_scan)
{
    char *d = mkfolder();
    char path[4096];
    struct idx *x;
    struct err e;

    snprintf(path, sizeof path, "%s/cur/2000.GONE.host:2,S", d);
    ck_assert_int_eq(symlink("/nonexistent/tern-test-file", path), 0);
    ck_assert_int_eq(idx_open(d, 0, &x, &e), 0);
    ck_assert_uint_eq(idx_count(x), 3);
    ck_assert_uint_eq(idx_stats(x)->vanished, 1);
    ck_assert_int_eq(unlink(path), 0);
    put(d, "cur", "2000.GONE.host:2,S", "Subject: back\n\n");
    ck_assert_int_eq(idx_refresh(x, &e), 1);
    ck_assert_uint_eq(idx_count(x), 4);
    ck_assert_int_ge(find_subject(x, "back"), 0);
    idx_close(x);
    rm_rf(d);
    free(d);
}
END_TEST

START_TEST(operations)
{
    char *d = mkfolder();
    char *trash = fs_join(d, "Trash"), *arch = fs_join(d, "Archive");
    struct idx *x, *t;
    struct err e;
    long i;
    uint32_t id;

    ck_assert_int_eq(idx_open(d, 0, &x, &e), 0);
    i = find_subject(x, "Budget 2024");
    id = idx_msg(x, (size_t)i)->id;
    ck_assert_int_eq(idx_mark_cur(x, (size_t)i, &e), 0);
    ck_assert(!idx_msg(x, (size_t)i)->in_new);
    ck_assert(str_endswith_test(idx_msg(x, (size_t)i)->name, ":2,"));
    ck_assert_int_eq(idx_set_flags(x, (size_t)i, "SF", NULL, &e), 0);
    ck_assert_str_eq(idx_msg(x, (size_t)i)->name, "1002.C.host:2,FS");
    ck_assert_int_eq(idx_set_flags(x, (size_t)i, NULL, "F", &e), 0);
    ck_assert_str_eq(idx_msg(x, (size_t)i)->name, "1002.C.host:2,S");
    /* someone else changed the flags meanwhile: found again, not an error */
    char a[4096], b[4096];
    snprintf(a, sizeof a, "%s/cur/1002.C.host:2,S", d);
    snprintf(b, sizeof b, "%s/cur/1002.C.host:2,RS", d);
    ck_assert_int_eq(rename(a, b), 0);
    ck_assert_int_eq(idx_set_flags(x, (size_t)i, "F", NULL, &e), 0);
    ck_assert_str_eq(idx_msg(x, (size_t)i)->name, "1002.C.host:2,FRS");
    /* delete -> Trash, move -> Archive */
    ck_assert_int_eq(idx_delete(x, (size_t)i, trash, &e), 0);
    ck_assert(idx_msg(x, (size_t)i)->gone);
    ck_assert_int_eq(idx_find_id(x, id), -1);
    i = find_subject(x, "Grüße aus Bern");
    ck_assert_int_eq(idx_move(x, (size_t)i, arch, &e), 0);
    i = find_subject(x, "Re: Grüße aus Bern");
    ck_assert_int_eq(idx_copy(x, (size_t)i, arch, &e), 0);
    ck_assert_int_eq(idx_refresh(x, &e), 1);
    ck_assert_uint_eq(idx_count(x), 1);
    idx_close(x);
    ck_assert_int_eq(idx_open(trash, 0, &t, &e), 0);
    ck_assert_uint_eq(idx_count(t), 1);
    ck_assert_str_eq(idx_msg(t, 0)->subject, "Budget 2024");
    /* deleting inside Trash removes for real */
    ck_assert_int_eq(idx_delete(t, 0, trash, &e), 0);
    ck_assert_int_eq(idx_refresh(t, &e), 1);
    ck_assert_uint_eq(idx_count(t), 0);
    idx_close(t);
    ck_assert_int_eq(idx_open(arch, 0, &t, &e), 0);
    ck_assert_uint_eq(idx_count(t), 2);
    idx_close(t);
    free(trash);
    free(arch);
    rm_rf(d);
    free(d);
}
END_TEST

static void view_subjects(const struct idx *x, const struct idx_view *v, struct buf *out)
{
    buf_reset(out);
    for (size_t i = 0; i < v->n; i++) {
        buf_adds(out, idx_msg(x, v->v[i])->subject);
        buf_addc(out, '|');
    }
}

START_TEST(sorting)
{
    char *d = mkfolder();
    struct idx *x;
    struct idx_view v;
    struct err e;
    struct buf out = BUF_INIT;
    enum idx_sort key;
    bool rev;

    ck_assert_int_eq(idx_open(d, 0, &x, &e), 0);
    idx_view_init(&v);
    idx_view_build(x, &v, IDX_SORT_DATE, false, NULL);
    view_subjects(x, &v, &out);
    ck_assert_str_eq(out.ptr, "Budget 2024|Grüße aus Bern|Re: Grüße aus Bern|");
    idx_view_build(x, &v, IDX_SORT_DATE, true, NULL);
    view_subjects(x, &v, &out);
    ck_assert_str_eq(out.ptr, "Re: Grüße aus Bern|Grüße aus Bern|Budget 2024|");
    idx_view_build(x, &v, IDX_SORT_FROM, false, NULL);
    view_subjects(x, &v, &out);
    ck_assert_str_eq(out.ptr, "Grüße aus Bern|Re: Grüße aus Bern|Budget 2024|");
    idx_view_build(x, &v, IDX_SORT_SUBJECT, false, NULL);
    view_subjects(x, &v, &out);
    ck_assert_str_eq(out.ptr, "Budget 2024|Grüße aus Bern|Re: Grüße aus Bern|");
    idx_view_build(x, &v, IDX_SORT_SIZE, true, NULL);
    ck_assert_str_eq(idx_msg(x, v.v[0])->subject, "Budget 2024");
    ck_assert_int_eq(idx_sort_parse("-subject", &key, &rev), 0);
    ck_assert_int_eq(key, IDX_SORT_SUBJECT);
    ck_assert(rev);
    ck_assert_int_eq(idx_sort_parse("bogus", &key, &rev), -1);
    ck_assert_str_eq(idx_subject_base("Re: AW: [tern-dev] Fwd: Re[3]: hi"), "hi");
    ck_assert_str_eq(idx_subject_base("Reply"), "Reply");
    idx_view_free(&v);
    buf_free(&out);
    idx_close(x);
    rm_rf(d);
    free(d);
}
END_TEST

START_TEST(limits)
{
    static const struct {
        const char *pattern;
        size_t count;
    } cases[] = {
        { "", 3 },
        { "bern", 2 },
        { "BERN -re:", 1 },             /* "re:" is not a key: a plain word, negated */
        { "from:alice", 1 },
        { "to:alice", 1 },
        { "s:budget", 1 },
        { "is:new", 1 },
        { "is:unread", 1 },
        { "-is:seen", 1 },
        { "is:flagged", 1 },
        { "is:replied", 0 },
        { "date:2024", 2 },
        { "date:2023-12", 1 },
        { "date:2024-01-02..", 1 },
        { "date:..2023-12-31", 1 },
        { "date:2023-12-31..2024-01-01", 2 },
        { "body:zebra", 1 },
        { "\"aus bern\" from:bob", 1 },
        { "nothing-like-this", 0 },
    };
    char *d = mkfolder();
    struct idx *x;
    struct idx_view v;
    struct err e;

    ck_assert_int_eq(idx_open(d, 0, &x, &e), 0);
    idx_view_init(&v);
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        struct idx_limit *l;

        ck_assert_msg(idx_limit_compile(cases[k].pattern, &l, &e) == 0, "%s", cases[k].pattern);
        idx_view_build(x, &v, IDX_SORT_DATE, false, l);
        ck_assert_msg(v.n == cases[k].count, "'%s': %zu, wanted %zu", cases[k].pattern, v.n,
                      cases[k].count);
        idx_limit_free(l);
    }
    struct idx_limit *l;
    ck_assert_int_eq(idx_limit_compile("is:sleepy", &l, &e), -1);
    ck_assert_int_eq(idx_limit_compile("date:yesterday", &l, &e), -1);
    idx_view_free(&v);
    idx_close(x);
    rm_rf(d);
    free(d);
}
END_TEST

START_TEST(not_a_maildir)
{
    char *d = test_tmpdir();
    struct idx *x;
    struct err e;

    ck_assert_int_eq(idx_open(d, 0, &x, &e), -1);
    ck_assert_ptr_null(x);
    ck_assert_ptr_nonnull(strstr(e.msg, "not a Maildir"));
    rm_rf(d);
    free(d);
}
END_TEST

/* Enough messages for the parallel header reading: every one read exactly once, in place. */
START_TEST(many_messages_parallel)
{
    char *d = test_tmpdir();
    struct idx *x;
    struct err e;
    enum { N = 1200 };
    char name[64], text[256];
    unsigned char *hit = calloc(N, 1);

    ck_assert_int_eq(maildir_create(d, &e), 0);
    for (int i = 0; i < N; i++) {
        snprintf(name, sizeof name, "%d.M%dP1.host%s", 1000 + i, i, i % 3 ? ":2,S" : "");
        snprintf(text, sizeof text, "From: u%d@example.org\nSubject: =?UTF-8?Q?n=C2=B0?= %d\n"
                 "Message-ID: <%d@x>\n\nbody\n", i, i, i);
        put(d, i % 3 ? "cur" : "new", name, text);
    }
    ck_assert_int_eq(idx_open(d, 0, &x, &e), 0);
    ck_assert_uint_eq(idx_count(x), N);
    ck_assert_uint_eq(idx_stats(x)->parsed, N);
    for (size_t k = 0; k < idx_count(x); k++) {
        const struct idx_msg *m = idx_msg(x, k);
        int i = atoi(m->subject + strlen("n° "));

        ck_assert(str_startswith(m->subject, "n° "));
        ck_assert_int_lt(i, N);
        ck_assert_int_eq(hit[i], 0);
        hit[i] = 1;
        snprintf(text, sizeof text, "u%d@example.org", i);
        ck_assert_str_eq(m->from, text);
        ck_assert_int_eq(atoi(m->name) - 1000, i);
        ck_assert(m->in_new == (i % 3 == 0));
        ck_assert_int_eq(idx_find_id(x, m->id), (long)k);
    }
    idx_close(x);
    free(hit);
    rm_rf(d);
    free(d);
}
END_TEST

/* Things in cur/ and new/ that are not message files: a FIFO must not hang the scan, a
 * directory is not a message; neither makes the next open re-read the directory. */
START_TEST(non_files_skipped)
{
    char *d = mkfolder();
    char path[4096];
    struct idx *x;
    struct err e;

    snprintf(path, sizeof path, "%s/cur/3000.FIFO.host:2,S", d);
    ck_assert_int_eq(mkfifo(path, 0600), 0);
    snprintf(path, sizeof path, "%s/new/3001.DIR.host", d);
    ck_assert_int_eq(mkdir(path, 0700), 0);
    ck_assert_int_eq(idx_open(d, 0, &x, &e), 0);
    ck_assert_uint_eq(idx_count(x), 3);
    ck_assert_uint_eq(idx_stats(x)->vanished, 0);
    idx_close(x);
    rm_rf(d);
    free(d);
}
END_TEST

/* A long References chain keeps its root and the four nearest ancestors. */
START_TEST(long_references_trimmed)
{
    char *d = test_tmpdir();
    struct idx *x;
    struct err e;

    ck_assert_int_eq(maildir_create(d, &e), 0);
    put(d, "cur", "1.R.host:2,S", "Subject: deep\nReferences: <r1@x> <r2@x> <r3@x>\n"
        " <r4@x> <r5@x>\n\t<r6@x> <r7@x>\nIn-Reply-To: <r7@x>\n\n.\n");
    put(d, "cur", "2.S.host:2,S", "Subject: short\nReferences: <r1@x> <r2@x>\n\n.\n");
    ck_assert_int_eq(idx_open(d, IDX_NO_SAVE, &x, &e), 0);
    ck_assert_str_eq(idx_msg(x, (size_t)find_subject(x, "deep"))->references,
                     "r1@x r4@x r5@x r6@x r7@x");
    ck_assert_str_eq(idx_msg(x, (size_t)find_subject(x, "short"))->references, "r1@x r2@x");
    idx_close(x);
    rm_rf(d);
    free(d);
}
END_TEST

static Suite *index_suite(void)
{
    Suite *s = suite_create("index");
    TCase *tc = tcase_create("core");

    tcase_set_timeout(tc, 120);     /* a busy CI machine creating a few thousand files */

    tcase_add_test(tc, build_and_fields);
    tcase_add_test(tc, warm_open_uses_cache);
    tcase_add_test(tc, freshness_rule);
    tcase_add_test(tc, cache_truncated_while_open);
    tcase_add_test(tc, incremental_refresh);
    tcase_add_test(tc, damaged_cache_rebuilt);
    tcase_add_test(tc, image_loader_rejects_garbage);
    tcase_add_test(tc, file_vanishes_mid_scan);
    tcase_add_test(tc, operations);
    tcase_add_test(tc, sorting);
    tcase_add_test(tc, limits);
    tcase_add_test(tc, not_a_maildir);
    tcase_add_test(tc, many_messages_parallel);
    tcase_add_test(tc, non_files_skipped);
    tcase_add_test(tc, long_references_trimmed);
    suite_add_tcase(s, tc);
    return s;
}

TEST_MAIN(index_suite)

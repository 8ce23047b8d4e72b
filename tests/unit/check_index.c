/* Unit tests for src/store/index.c: build, cache reuse, incremental update, damaged cache
 * files, vanishing files, operations, sorting and limit patterns. */
#include "config.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>

#include "testutil.h"
#include "tern/buf.h"
#include "tern/crypt.h"
#include "tern/fold.h"
#include "tern/fsutil.h"
#include <sys/time.h>
#include "tern/index.h"
#include "tern/maildir.h"
#include "tern/mime.h"
#include "tern/str.h"
#include "tern/thread.h"
#include "tern/view.h"
#include "tern/xalloc.h"

/* This suite's short names for the shared fixtures of testutil.h. */
#define put test_put
#define age test_age
#define age_dir test_age
#define str_endswith_test test_endswith

/* The name hashes' test hook (src/store/index_int.h). */
extern uint64_t idx_test_hash_mask;

/* What the cache file ends with per record: its name hash (8 bytes) and name check (4). */
#define HASH_BYTES 12

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

/* The live entry with that subject, which must be there. */
static const struct idx_msg *by_subject(const struct idx *x, const char *subj)
{
    long i = find_subject(x, subj);

    ck_assert_msg(i >= 0, "no entry \"%s\"", subj);
    return idx_msg(x, (size_t)i);
}

/* Opens the folder once and closes it, which writes its cache file. */
static void write_cache(const char *d)
{
    struct idx *x;
    struct err e;

    ck_assert_int_eq(idx_open(d, 0, &x, &e), 0);
    idx_close(x);
}

/* Closes the index and opens the folder again (from the cache the close left). */
static struct idx *reopen(struct idx *x, const char *d)
{
    struct err e;

    idx_close(x);
    ck_assert_int_eq(idx_open(d, 0, &x, &e), 0);
    return x;
}

static void close_and_remove(struct idx *x, char *d)
{
    idx_close(x);
    rm_rf(d);
    free(d);
}

/* Writes the folder's cache, then flips one bit of the byte `back` bytes before its end. */
static void damage_cache(const char *d, size_t back)
{
    char *cache = idx_cache_path(d);
    struct buf img = BUF_INIT;
    struct err e;

    write_cache(d);
    ck_assert_int_eq(fs_read_file(cache, &img, &e), 0);
    ck_assert_uint_gt(img.len, back);
    img.ptr[img.len - back] ^= 0x20;
    ck_assert_int_eq(fs_write_atomic(cache, img.ptr, img.len, 0600, &e), 0);
    buf_free(&img);
    free(cache);
}

static size_t count_gone(const struct idx *x)
{
    size_t gone = 0;

    for (size_t i = 0; i < idx_count(x); i++)
        gone += idx_msg(x, i)->gone;
    return gone;
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
    close_and_remove(x, d);
}
END_TEST

/* Header blocks longer than the first read (4,096 bytes), with a folded field across that
 * boundary and the kept fields after it; CRLF lines; a file that is all header (no blank
 * line); a blank line of spaces. Each field is what a reader of the whole file sees. */
START_TEST(header_across_reads)
{
    char *d = test_tmpdir();
    struct idx *x;
    struct err e;
    struct buf h = BUF_INIT;
    size_t nword = 0;
    long i;

    ck_assert_int_eq(maildir_create(d, &e), 0);
    for (int k = 0; k < 60; k++)
        buf_printf(&h, "Received: from relay%02d.example.net by mx.example.org; filler filler\n", k);
    ck_assert_uint_lt(h.len, 4096);
    buf_adds(&h, "Subject: long");
    for (; h.len < 4096 + 40; nword++)
        buf_adds(&h, "\n word");
    buf_adds(&h, "\nFrom: Late Sender <late@example.org>\nMessage-ID: <late@x>\n\nbody\n");
    put(d, "cur", "3000.L.host:2,S", h.ptr);
    buf_reset(&h);
    for (int k = 0; k < 70; k++)
        buf_printf(&h, "X-Pad-%02d: filler filler filler filler filler filler filler\r\n", k);
    buf_adds(&h, "Subject: crlf\r\nFrom: c@example.org\r\n\r\nbody\r\n");
    put(d, "cur", "3001.C.host:2,S", h.ptr);
    put(d, "cur", "3002.H.host:2,S", "Subject: only a header\nFrom: h@example.org");
    put(d, "cur", "3003.S.host:2,S", "Subject: spaces end it\n   \nFrom: not@header\n");
    ck_assert_int_eq(idx_open(d, 0, &x, &e), 0);
    ck_assert_uint_eq(idx_count(x), 4);
    i = find_subject(x, "crlf");
    ck_assert_int_ge(i, 0);
    ck_assert_str_eq(idx_msg(x, (size_t)i)->from, "c@example.org");
    i = find_subject(x, "only a header");
    ck_assert_int_ge(i, 0);
    ck_assert_str_eq(idx_msg(x, (size_t)i)->from, "h@example.org");
    i = find_subject(x, "spaces end it");
    ck_assert_int_ge(i, 0);
    ck_assert_str_eq(idx_msg(x, (size_t)i)->from, "");
    for (i = 0; i < 4; i++)
        if (strcmp(idx_msg(x, (size_t)i)->msgid, "late@x") == 0)
            break;
    ck_assert_int_lt(i, 4);
    {
        const struct idx_msg *m = idx_msg(x, (size_t)i);
        size_t words = 0;

        ck_assert_str_eq(m->from, "Late Sender");
        ck_assert(str_startswith(m->subject, "long word word"));
        for (const char *p = m->subject; (p = strstr(p, "word")) != NULL; p++)
            words++;
        ck_assert_uint_eq(words, nword);
    }
    buf_free(&h);
    close_and_remove(x, d);
}
END_TEST

START_TEST(warm_open_uses_cache)
{
    char *d = mkfolder();
    struct idx *x;
    struct err e;

    write_cache(d);
    ck_assert_int_eq(idx_open(d, 0, &x, &e), 0);
    ck_assert_uint_eq(idx_stats(x)->cached, 3);
    ck_assert_uint_eq(idx_stats(x)->parsed, 0);
    ck_assert(!idx_stats(x)->cache_bad);
    ck_assert_int_ge(find_subject(x, "Budget 2024"), 0);
    idx_close(x);
    /* no cache wanted: everything parsed again */
    ck_assert_int_eq(idx_open(d, IDX_NO_CACHE | IDX_NO_SAVE, &x, &e), 0);
    ck_assert_uint_eq(idx_stats(x)->parsed, 3);
    close_and_remove(x, d);
}
END_TEST

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
    write_cache(d);
    ck_assert_int_eq(idx_open(d, 0, &x, &e), 0);
    ck_assert_uint_eq(idx_stats(x)->cached, 3);
    ck_assert_int_eq(truncate(cache, 0), 0);
    for (size_t i = 0; i < idx_count(x); i++) {
        const struct idx_msg *m = idx_msg(x, i);

        total += strlen(m->from) + strlen(m->subject) + strlen(m->to);
    }
    ck_assert_uint_gt(total, 0);
    ck_assert_int_ge(find_subject(x, "Budget 2024"), 0);
    free(cache);
    close_and_remove(x, d);
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
    id_budget = by_subject(x, "Budget 2024")->id;
    id_alice = by_subject(x, "Grüße aus Bern")->id;
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
    close_and_remove(x, d);
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

    write_cache(d);
    ck_assert_int_eq(fs_read_file(cache, &good, &e), 0);
    ck_assert_uint_gt(good.len, 144 + 3 * 64);
    for (int kind = 0; kind < 6; kind++) {
        struct buf bad = BUF_INIT;

        buf_add(&bad, good.ptr, good.len);
        switch (kind) {
        case 0: buf_truncate(&bad, bad.len / 2); break;            /* truncated */
        case 1: buf_truncate(&bad, 10); break;                      /* torn header */
        case 2: bad.ptr[144 + 70] ^= 0x55; break;                   /* flipped record bit */
        case 3: bad.ptr[bad.len - 3 * HASH_BYTES - 2] ^= 0x20; break;        /* flipped string byte */
        case 4: buf_truncate(&bad, 0); break;                       /* empty */
        case 5: memset(bad.ptr + 144, 0xff, 64); break;             /* wild offsets */
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
    /* an older version of the format is not read: it is rebuilt (the upgrade) */
    memcpy(junk, "TERNIDX3", 8);
    ck_assert_int_eq(idx_load_image(x, junk, sizeof junk, false, &e), -1);
    ck_assert(strstr(e.msg, "version") != NULL);
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
    close_and_remove(x, d);
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
    close_and_remove(x, d);
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
        { "GRÜSSE", 2 },                /* Unicode case folding: ß is ss, Ü is ü */
        { "s:grüße", 2 },
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
    close_and_remove(x, d);
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
    enum { N = 4500 };         /* threads, and more names than one segment of the feed */
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
    /* the date order of a large view (sorted on copied keys) is the comparison's order */
    for (int rev = 0; rev < 2; rev++) {
        struct idx_view v;

        idx_view_init(&v);
        idx_view_build(x, &v, IDX_SORT_DATE, rev, NULL);
        ck_assert_uint_eq(v.n, N);
        for (size_t k = 1; k < v.n; k++) {
            int c = idx_msg_cmp(idx_msg(x, v.v[k - 1]), idx_msg(x, v.v[k]), IDX_SORT_DATE);

            ck_assert_int_lt(rev ? -c : c, 0);
        }
        idx_view_free(&v);
    }
    idx_close(x);
    /* the cache written a block a round, on one thread then on two (the round's last block
     * ends where the round's strings end): the same bytes after the header, and a valid
     * cache that the next open trusts without reading a message */
    {
        char *cache = idx_cache_path(d);
        struct buf one = BUF_INIT, again = BUF_INIT;
        static const char *threads[] = { "1", "2" };

        ck_assert_int_eq(fs_read_file(cache, &one, &e), 0);
        for (int t = 0; t < 2; t++) {
            unlink(cache);
            setenv("TERN_INDEX_THREADS", threads[t], 1);
            setenv("TERN_INDEX_ROUND", "1", 1);
            ck_assert_int_eq(idx_open(d, 0, &x, &e), 0);
            unsetenv("TERN_INDEX_ROUND");
            unsetenv("TERN_INDEX_THREADS");
            idx_close(x);
            buf_reset(&again);
            ck_assert_int_eq(fs_read_file(cache, &again, &e), 0);
            ck_assert_uint_eq(again.len, one.len);
            ck_assert(memcmp(again.ptr + 96, one.ptr + 96, one.len - 96) == 0);
            ck_assert_int_eq(idx_open(d, 0, &x, &e), 0);
            ck_assert_uint_eq(idx_stats(x)->parsed, 0);
            idx_read_all(x);
            ck_assert_uint_eq(idx_count(x), N);
            idx_close(x);
        }
        buf_free(&one);
        buf_free(&again);
        free(cache);
    }
    free(hit);
    rm_rf(d);
    free(d);
}
END_TEST

/* The date order's own merge sort, on shares of every thread count (an odd one leaves a
 * share out of a merge round) and either way round, against qsort_r with its comparison;
 * dates, arrivals and ids collide often, as they do in a real folder. */
START_TEST(datekey_sort_matches_qsort)
{
    static const char *threads[] = { "1", "2", "3", "4" };
    static const size_t sizes[] = { 0, 1, 17, 1000, 40000, 100003 };
    uint64_t seed = 7;

    for (size_t t = 0; t < 4; t++)
        for (size_t z = 0; z < sizeof sizes / sizeof sizes[0]; z++)
            for (int rev = 0; rev < 2; rev++) {
                size_t n = sizes[z];
                struct view_datekey *a = malloc((n + 1) * sizeof *a);
                struct view_datekey *b = malloc((n + 1) * sizeof *b);
                bool r = rev;

                for (size_t i = 0; i < n; i++) {
                    seed = seed * 6364136223846793005u + 1442695040888963407u;
                    a[i] = (struct view_datekey){ (int64_t)(seed >> 50) - 4000,
                                                  (int64_t)(seed >> 60), (uint32_t)i,
                                                  (uint32_t)(n - i) };
                }
                memcpy(b, a, n * sizeof *a);
                qsort_r(b, n, sizeof *b, view_cmp_datekey, &r);
                setenv("TERN_INDEX_THREADS", threads[t], 1);
                view_sort_datekeys(a, n, r);
                unsetenv("TERN_INDEX_THREADS");
                ck_assert_msg(n == 0 || memcmp(a, b, n * sizeof *a) == 0,
                              "%zu keys, %s threads, reverse %d", n, threads[t], rev);
                free(a);
                free(b);
            }
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
    close_and_remove(x, d);
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
    ck_assert_str_eq(by_subject(x, "deep")->references, "r1@x r4@x r5@x r6@x r7@x");
    ck_assert_str_eq(by_subject(x, "short")->references, "r1@x r2@x");
    close_and_remove(x, d);
}
END_TEST

/* The counts live in the cache header and follow every operation; a warm open and the
 * default view read no entry at all (the stored date order needs no sort). */
START_TEST(counts_and_lazy_view)
{
    char *d = mkfolder();
    size_t filled;
    struct idx *x;
    struct idx_counts c;
    struct idx_view v;
    struct err e;
    long i;

    ck_assert_int_eq(idx_open(d, 0, &x, &e), 0);
    idx_counts(x, &c);
    ck_assert_uint_eq(c.total, 3);
    ck_assert_uint_eq(c.unread, 1);
    ck_assert_uint_eq(c.flagged, 1);
    ck_assert_uint_eq(c.in_new, 1);
    i = find_subject(x, "Budget 2024");
    ck_assert_int_eq(idx_mark_cur(x, (size_t)i, &e), 0);
    ck_assert_int_eq(idx_set_flags(x, (size_t)i, "S", NULL, &e), 0);
    idx_counts(x, &c);
    ck_assert_uint_eq(c.unread, 0);
    ck_assert_uint_eq(c.in_new, 0);
    i = find_subject(x, "Re: Grüße aus Bern");
    ck_assert_int_eq(idx_delete(x, (size_t)i, NULL, &e), 0);
    idx_counts(x, &c);
    ck_assert_uint_eq(c.total, 2);
    ck_assert_uint_eq(c.flagged, 0);
    ck_assert_int_eq(idx_refresh(x, &e), 1);
    idx_close(x);
    /* directories changed over a second before the listing: the next open is warm */
    age_dir(d, "cur", 10);
    age_dir(d, "new", 10);
    write_cache(d);

    ck_assert_int_eq(idx_open(d, 0, &x, &e), 0);
    ck_assert(!idx_stats(x)->listed);
    ck_assert_uint_eq(idx_stats(x)->parsed, 0);
    idx_counts(x, &c);
    ck_assert_uint_eq(c.total, 2);
    ck_assert_uint_eq(c.unread, 0);
    /* replaying the journal (a rename, a removal) read no entry either */
    filled = idx_stats(x)->filled;
    ck_assert_uint_eq(filled, 0);
    idx_view_init(&v);
    idx_view_build(x, &v, IDX_SORT_DATE, false, NULL);
    ck_assert_uint_eq(v.n, 2);
    ck_assert_uint_eq(idx_stats(x)->filled, filled);
    ck_assert_str_eq(idx_msg(x, v.v[0])->subject, "Budget 2024");      /* 2023-12-31 */
    ck_assert_str_eq(idx_msg(x, v.v[1])->subject, "Grüße aus Bern");   /* 2024-01-01 */
    ck_assert_uint_le(idx_stats(x)->filled, 3);
    idx_view_build(x, &v, IDX_SORT_DATE, true, NULL);
    ck_assert_str_eq(idx_msg(x, v.v[0])->subject, "Grüße aus Bern");
    idx_view_free(&v);
    close_and_remove(x, d);
}
END_TEST

/* A large cache is checked block by block when first used: damage found then hides the
 * block's entries and the next refresh rebuilds from the messages. */
START_TEST(lazy_block_damage)
{
    char *d = mkfolder();
    struct idx *x;
    struct err e;

    setenv("TERN_INDEX_EAGER_MAX", "0", 1);
    age_dir(d, "cur", 10);
    age_dir(d, "new", 10);
    damage_cache(d, 3 * HASH_BYTES + 3);    /* a string byte of the last record (before the
                                               3 name hashes and checks) */
    ck_assert_int_eq(idx_open(d, 0, &x, &e), 0);
    ck_assert(!idx_stats(x)->cache_bad);            /* not seen yet: nothing was read */
    ck_assert_uint_eq(idx_count(x), 3);
    ck_assert_uint_eq(count_gone(x), 3);            /* one block: all of it hidden */
    ck_assert_int_eq(idx_refresh(x, &e), 1);
    ck_assert_uint_eq(idx_count(x), 3);
    ck_assert_uint_eq(idx_stats(x)->parsed, 3);
    ck_assert_int_ge(find_subject(x, "Grüße aus Bern"), 0);
    x = reopen(x, d);
    ck_assert_uint_eq(idx_stats(x)->parsed, 0);
    for (size_t i = 0; i < idx_count(x); i++)
        ck_assert(!idx_msg(x, i)->gone);
    close_and_remove(x, d);
    unsetenv("TERN_INDEX_EAGER_MAX");
}
END_TEST


/* New mail is merged into the stored date order; only it is sorted. */
START_TEST(merge_appended)
{
    char *d = mkfolder();
    struct idx *x;
    struct idx_view v;
    struct err e;
    struct buf out = BUF_INIT;

    age_dir(d, "cur", 10);
    age_dir(d, "new", 10);
    write_cache(d);
    ck_assert_int_eq(idx_open(d, 0, &x, &e), 0);
    put(d, "new", "1005.M.host", "From: mid@example.com\nSubject: middle\n"
        "Date: Mon, 01 Jan 2024 12:00:00 +0000\n\n.\n");
    put(d, "new", "1006.L.host", "From: late@example.com\nSubject: latest\n"
        "Date: Mon, 01 Jan 2029 12:00:00 +0000\n\n.\n");
    put(d, "new", "1007.E.host", "From: early@example.com\nSubject: earliest\n"
        "Date: Mon, 01 Jan 2001 12:00:00 +0000\n\n.\n");
    ck_assert_int_eq(idx_refresh(x, &e), 1);
    idx_view_init(&v);
    idx_view_build(x, &v, IDX_SORT_DATE, false, NULL);
    view_subjects(x, &v, &out);
    ck_assert_str_eq(buf_cstr(&out), "earliest|Budget 2024|Grüße aus Bern|middle|"
                                     "Re: Grüße aus Bern|latest|");
    idx_view_build(x, &v, IDX_SORT_DATE, true, NULL);
    view_subjects(x, &v, &out);
    ck_assert_str_eq(buf_cstr(&out), "latest|Re: Grüße aus Bern|middle|Grüße aus Bern|"
                                     "Budget 2024|earliest|");
    /* and the same after a removal (the prefix shrinks) */
    ck_assert_int_eq(idx_delete(x, (size_t)find_subject(x, "Grüße aus Bern"), NULL, &e), 0);
    ck_assert_int_eq(idx_refresh(x, &e), 1);
    idx_view_build(x, &v, IDX_SORT_DATE, false, NULL);
    view_subjects(x, &v, &out);
    ck_assert_str_eq(buf_cstr(&out), "earliest|Budget 2024|middle|Re: Grüße aus Bern|latest|");
    idx_view_free(&v);
    buf_free(&out);
    close_and_remove(x, d);
}
END_TEST

/* A delivery changes only new/: cur/ (most of a big folder) is not read again. */
START_TEST(new_only_listing)
{
    char *d = mkfolder();
    char a[4096], b[4096];
    struct idx *x;
    struct err e;

    age_dir(d, "cur", 10);
    age_dir(d, "new", 10);
    ck_assert_int_eq(idx_open(d, 0, &x, &e), 0);
    put(d, "new", "1004.E.host", "From: eve@example.com\nSubject: fresh\n\n.\n");
    ck_assert_int_eq(idx_refresh(x, &e), 1);
    ck_assert(idx_stats(x)->listed);
    ck_assert(idx_stats(x)->new_only);
    ck_assert_uint_eq(idx_stats(x)->parsed, 1);
    ck_assert_uint_eq(idx_count(x), 4);
    /* another client removed the unread message from new/ */
    snprintf(a, sizeof a, "%s/new/1002.C.host", d);
    ck_assert_int_eq(unlink(a), 0);
    age_dir(d, "new", 5);
    ck_assert_int_eq(idx_refresh(x, &e), 1);
    ck_assert(idx_stats(x)->new_only);
    ck_assert_uint_eq(idx_stats(x)->removed, 1);
    ck_assert_uint_eq(idx_count(x), 3);
    /* a rename in cur/ needs cur/ read */
    snprintf(a, sizeof a, "%s/cur/1000.A.host:2,S", d);
    snprintf(b, sizeof b, "%s/cur/1000.A.host:2,RS", d);
    ck_assert_int_eq(rename(a, b), 0);
    ck_assert_int_eq(idx_refresh(x, &e), 1);
    ck_assert(!idx_stats(x)->new_only);
    ck_assert(idx_stats(x)->cur_only);              /* new/ unchanged for 5 s */
    ck_assert_uint_eq(idx_stats(x)->renamed, 1);
    ck_assert_uint_eq(idx_count(x), 3);
    /* a message moved from new/ to cur/ changes both: both are read */
    put(d, "new", "1005.F.host", "From: fay@example.com\nSubject: moved\n\n.\n");
    ck_assert_int_eq(idx_refresh(x, &e), 1);
    ck_assert_uint_eq(idx_stats(x)->parsed, 1);
    snprintf(a, sizeof a, "%s/new/1005.F.host", d);
    snprintf(b, sizeof b, "%s/cur/1005.F.host:2,S", d);
    ck_assert_int_eq(rename(a, b), 0);
    ck_assert_int_eq(idx_refresh(x, &e), 1);
    ck_assert(!idx_stats(x)->new_only && !idx_stats(x)->cur_only);
    ck_assert_uint_eq(idx_stats(x)->renamed, 1);
    ck_assert_uint_eq(idx_stats(x)->removed, 0);
    ck_assert_uint_eq(idx_count(x), 4);
    close_and_remove(x, d);
}
END_TEST


static size_t limit_count(const struct idx *x, const char *pattern)
{
    struct idx_limit *l;
    struct idx_view v;
    struct err e;
    size_t n;

    ck_assert_msg(idx_limit_compile(pattern, &l, &e) == 0, "%s", pattern);
    idx_view_init(&v);
    idx_view_build(x, &v, IDX_SORT_DATE, false, l);
    n = v.n;
    idx_view_free(&v);
    idx_limit_free(l);
    return n;
}

static time_t file_mtime_ns(const char *path, struct stat *st)
{
    ck_assert_int_eq(stat(path, st), 0);
    return st->st_mtime;
}

/* Small changes are appended to CACHE.log instead of rewriting the cache; an open replays
 * them without reading the directories. */
START_TEST(journal_replayed)
{
    char *d = mkfolder();
    size_t n;
    char *cache = idx_cache_path(d), log[4096], a[4096], b[4096];
    struct idx *x;
    struct idx_counts c;
    struct stat st0, st1;
    struct err e;
    long i;

    snprintf(log, sizeof log, "%s.log", cache);
    age_dir(d, "cur", 10);
    age_dir(d, "new", 10);
    ck_assert_int_eq(idx_fresh(d, NULL), 0);            /* no cache yet */
    write_cache(d);
    file_mtime_ns(cache, &st0);
    ck_assert_int_eq(idx_fresh(d, &n), 1);
    ck_assert_uint_eq(n, 3);
    ck_assert_int_eq(idx_open(d, 0, &x, &e), 0);
    /* another client: a flag change, a removal, a delivery */
    snprintf(a, sizeof a, "%s/cur/1000.A.host:2,S", d);
    snprintf(b, sizeof b, "%s/cur/1000.A.host:2,FS", d);
    ck_assert_int_eq(rename(a, b), 0);
    snprintf(a, sizeof a, "%s/cur/1001.B.host:2,FS", d);
    ck_assert_int_eq(unlink(a), 0);
    put(d, "new", "1009.N.host", "From: nina@example.com\nSubject: journal\n"
        "Date: Mon, 01 Jan 2024 11:00:00 +0000\nMIME-Version: 1.0\n"
        "Content-Type: multipart/encrypted; protocol=\"application/pgp-encrypted\"; "
        "boundary=b\n\n.\n");
    age_dir(d, "cur", 5);
    age_dir(d, "new", 5);
    ck_assert_int_eq(idx_fresh(d, NULL), 0);            /* the directories changed */
    ck_assert_int_eq(idx_refresh(x, &e), 1);
    idx_close(x);
    ck_assert_int_eq(idx_fresh(d, &n), 1);              /* by the journal's stamp */
    ck_assert_uint_eq(n, 3);
    file_mtime_ns(cache, &st1);
    ck_assert_uint_eq(st0.st_ino, st1.st_ino);       /* not rewritten */
    ck_assert_int_eq(access(log, F_OK), 0);

    ck_assert_int_eq(idx_open(d, 0, &x, &e), 0);
    ck_assert(!idx_stats(x)->listed);
    ck_assert_uint_eq(idx_stats(x)->parsed, 0);
    i = find_subject(x, "Grüße aus Bern");
    ck_assert_int_ge(i, 0);
    ck_assert_str_eq(idx_msg(x, (size_t)i)->name, "1000.A.host:2,FS");
    ck_assert_int_lt(find_subject(x, "Re: Grüße aus Bern"), 0);
    i = find_subject(x, "journal");
    ck_assert_int_ge(i, 0);
    ck_assert_str_eq(idx_msg(x, (size_t)i)->from_addr, "nina@example.com");
    ck_assert_uint_eq(idx_msg(x, (size_t)i)->crypt, CRYPT_MARK_ENCRYPTED);  /* via J_ADD */
    idx_counts(x, &c);
    ck_assert_uint_eq(c.total, 3);
    ck_assert_uint_eq(c.flagged, 1);
    ck_assert_uint_eq(c.in_new, 2);
    ck_assert_uint_eq(limit_count(x, ""), 3);
    /* an operation here goes to the journal too */
    ck_assert_int_eq(idx_set_flags(x, (size_t)i, "S", NULL, &e), 0);
    ck_assert_int_eq(idx_save(x, &e), 0);
    idx_close(x);
    age_dir(d, "cur", 3);
    age_dir(d, "new", 3);
    ck_assert_int_eq(idx_open(d, 0, &x, &e), 0);      /* the mtimes moved: listed, same data */
    ck_assert_uint_eq(idx_stats(x)->parsed, 0);
    ck_assert_str_eq(by_subject(x, "journal")->name, "1009.N.host:2,S");
    ck_assert_uint_eq(by_subject(x, "journal")->crypt, CRYPT_MARK_ENCRYPTED);
    idx_close(x);
    /* and through a rewritten cache file */
    ck_assert_int_eq(idx_open(d, IDX_NO_CACHE, &x, &e), 0);
    x = reopen(x, d);
    ck_assert_uint_eq(idx_stats(x)->parsed, 0);
    ck_assert_uint_eq(by_subject(x, "journal")->crypt, CRYPT_MARK_ENCRYPTED);
    free(cache);
    close_and_remove(x, d);
}
END_TEST

/* A journal that is torn, damaged or belongs to an older cache is never trusted blindly:
 * the directories are read and the result is the same. */
START_TEST(journal_damaged)
{
    char *d = mkfolder();
    char *cache = idx_cache_path(d), log[4096], a[4096], b[4096];
    struct buf good = BUF_INIT;
    struct err e;

    snprintf(log, sizeof log, "%s.log", cache);
    age_dir(d, "cur", 10);
    age_dir(d, "new", 10);
    {
        struct idx *x;

        ck_assert_int_eq(idx_open(d, 0, &x, &e), 0);
        snprintf(a, sizeof a, "%s/cur/1000.A.host:2,S", d);
        snprintf(b, sizeof b, "%s/cur/1000.A.host:2,RS", d);
        ck_assert_int_eq(rename(a, b), 0);
        age_dir(d, "cur", 5);
        ck_assert_int_eq(idx_refresh(x, &e), 1);
        idx_close(x);
    }
    ck_assert_int_eq(fs_read_file(log, &good, &e), 0);
    for (int kind = 0; kind < 4; kind++) {
        struct buf bad = BUF_INIT;
        struct idx *x;
        struct idx_counts c;
        long i;

        buf_add(&bad, good.ptr, good.len);
        switch (kind) {
        case 0: buf_add(&bad, "\x10\0\0\0\3\0\0\0garbage!", 16); break;  /* torn tail */
        case 1: bad.ptr[24 + 16 + 2] ^= 0x01; break;                     /* flipped byte */
        case 2: buf_truncate(&bad, bad.len - 3); break;                  /* cut stamp */
        case 3: bad.ptr[8] ^= 0x01; break;                               /* other cache */
        }
        ck_assert_int_eq(fs_write_atomic(log, bad.ptr, bad.len, 0600, &e), 0);
        if (kind != 1)      /* not ending in a whole stamp of this cache: not trusted */
            ck_assert_msg(idx_fresh(d, NULL) == 0, "kind %d", kind);
        ck_assert_int_eq(idx_open(d, IDX_NO_SAVE, &x, &e), 0);
        idx_counts(x, &c);
        ck_assert_uint_eq(c.total, 3);
        i = find_subject(x, "Grüße aus Bern");
        ck_assert_int_ge(i, 0);
        ck_assert_msg(strcmp(idx_msg(x, (size_t)i)->name, "1000.A.host:2,RS") == 0,
                      "kind %d: %s", kind, idx_msg(x, (size_t)i)->name);
        ck_assert_uint_eq(limit_count(x, ""), 3);
        ck_assert_uint_eq(idx_stats(x)->parsed, 0);
        if (kind != 0)
            ck_assert(idx_stats(x)->listed);    /* the change was lost: read again */
        idx_close(x);
        buf_free(&bad);
    }
    buf_free(&good);
    free(cache);
    rm_rf(d);
    free(d);
}
END_TEST


/* Another program truncates the cache in place while it is open: the entries not yet read
 * come out as damaged (hidden until the refresh rebuilds them), never as a crash (a mapped
 * file would end the process with SIGBUS here). */
START_TEST(truncated_while_open)
{
    char *d = mkfolder();
    char *cache = idx_cache_path(d);
    struct idx *x;
    struct err e;

    setenv("TERN_INDEX_EAGER_MAX", "0", 1);
    age_dir(d, "cur", 10);
    age_dir(d, "new", 10);
    write_cache(d);
    ck_assert_int_eq(idx_open(d, 0, &x, &e), 0);
    ck_assert(!idx_stats(x)->listed);
    ck_assert_int_eq(truncate(cache, 200), 0);
    ck_assert_uint_eq(count_gone(x), 3);
    ck_assert_int_eq(idx_refresh(x, &e), 1);
    ck_assert_uint_eq(limit_count(x, ""), 3);
    ck_assert_int_ge(find_subject(x, "Budget 2024"), 0);
    close_and_remove(x, d);
    unsetenv("TERN_INDEX_EAGER_MAX");
    free(cache);
}
END_TEST

static const char *subj_of(int i, char *out, size_t n)
{
    if (i % 5 == 4)
        snprintf(out, n, "Re: s%d", i - 4);
    else
        snprintf(out, n, "s%d", i);
    return out;
}

/* idx_read_all on a cache of two blocks (4,096 records and the rest): each block read and
 * checked by its own thread, every entry filled once and right, a damaged block's entries
 * hidden and the others not, the same with one thread; threads over it (base subjects on a
 * second thread) the same as with one thread. */
START_TEST(read_all_blocks)
{
    enum { N = 4200, BLK = 4096 };
    char *d = test_tmpdir();
    char *cache = idx_cache_path(d);
    struct idx *x;
    struct err e;
    struct buf img = BUF_INIT;
    char name[64], text[256], subj[64], irt[64];
    struct thread_row *rows = calloc(N, sizeof *rows);

    ck_assert_int_eq(maildir_create(d, &e), 0);
    for (int i = 0; i < N; i++) {
        snprintf(name, sizeof name, "%d.R%d.host:2,S", 5000 + i, i);
        /* dates in file order: record k of the cache is message k */
        /* every third answers the one before; every fifth has a reply's subject */
        snprintf(irt, sizeof irt, "In-Reply-To: <%d@x>\n", i - 1);
        snprintf(text, sizeof text, "From: u%d@example.org\nSubject: %s\n"
                 "Date: %d Jan 2024 %02d:%02d:00 +0000\nMessage-ID: <%d@x>\n%s\nbody\n",
                 i, subj_of(i, subj, sizeof subj), 1 + i / 1440, i / 60 % 24, i % 60, i,
                 i % 3 == 1 ? irt : "");
        put(d, "cur", name, text);
    }
    age_dir(d, "cur", 10);
    age_dir(d, "new", 10);
    write_cache(d);
    setenv("TERN_INDEX_EAGER_MAX", "0", 1);
    for (int pass = 0; pass < 3; pass++) {
        size_t gone = 0;

        if (pass == 1)
            setenv("TERN_INDEX_THREADS", "1", 1);
        if (pass == 2) {
            unsetenv("TERN_INDEX_THREADS");
            ck_assert_int_eq(fs_read_file(cache, &img, &e), 0);
            img.ptr[img.len - N * HASH_BYTES - 3] ^= 0x20;   /* a string of the last block (before
                                                       the N name hashes and checks) */
            ck_assert_int_eq(fs_write_atomic(cache, img.ptr, img.len, 0600, &e), 0);
        }
        ck_assert_int_eq(idx_open(d, 0, &x, &e), 0);
        ck_assert(!idx_stats(x)->listed);
        ck_assert_uint_eq(idx_count(x), N);
        (void)idx_msg(x, 7);                        /* one entry filled before */
        idx_read_all(x);
        ck_assert_uint_eq(idx_stats(x)->filled, N);
        for (size_t k = 0; k < N; k++) {
            const struct idx_msg *m = idx_msg(x, k);

            if (m->gone) {
                ck_assert_uint_ge(k, BLK);
                gone++;
                continue;
            }
            ck_assert_str_eq(m->subject, subj_of((int)k, subj, sizeof subj));
            snprintf(text, sizeof text, "%zu@x", k);
            ck_assert_str_eq(m->msgid, text);
            ck_assert_int_eq(atoi(m->name), 5000 + (int)k);
            ck_assert_int_eq(idx_find_id(x, m->id), (long)k);
        }
        ck_assert_uint_eq(gone, pass == 2 ? N - BLK : 0);
        ck_assert_uint_eq(idx_stats(x)->filled, N);
        if (pass < 2) {
            struct idx_view v;
            struct thread_view tv;
            size_t deep = 0;

            idx_view_init(&v);
            idx_view_build(x, &v, IDX_SORT_DATE, false, NULL);
            thread_build(x, v.v, v.n, IDX_SORT_DATE, false, &tv);
            ck_assert_uint_eq(tv.n, N);
            for (size_t r = 0; r < tv.n; r++) {
                deep += tv.rows[r].depth > 0;
                if (pass == 0)
                    rows[r] = tv.rows[r];
                else
                    ck_assert_mem_eq(&rows[r], &tv.rows[r], sizeof rows[r]);
            }
            ck_assert_uint_ge(deep, N / 3);
            thread_view_free(&tv);
            idx_view_free(&v);
        }
        idx_close(x);
    }
    free(rows);
    unsetenv("TERN_INDEX_EAGER_MAX");
    buf_free(&img);
    free(cache);
    rm_rf(d);
    free(d);
}
END_TEST

/* Addresses as well as names; bodies decoded (base64, QP, KOI8-R), attachments not. */
static char *mkintl(size_t filler)
{
    char *d = test_tmpdir();
    struct err e;

    ck_assert_int_eq(maildir_create(d, &e), 0);
    /* "Встреча в пятницу.\n" in base64 UTF-8 */
    put(d, "cur", "2000.A.host:2,S",
        "From: =?UTF-8?B?0JjQstCw0L0=?= <ivan@example.ru>\n"
        "To: =?UTF-8?B?0J/RkdGC0YA=?= <petr@example.ru>, Anna <anna@example.org>\n"
        "Subject: =?UTF-8?B?0L/RgNC40LLQtdGC?=\nDate: Mon, 01 Jan 2024 10:00:00 +0000\n"
        "MIME-Version: 1.0\nContent-Type: text/plain; charset=utf-8\n"
        "Content-Transfer-Encoding: base64\n\n0JLRgdGC0YDQtdGH0LAg0LIg0L/Rj9GC0L3QuNGG0YMuCg==\n");
    put(d, "cur", "2001.B.host:2,S",
        "From: Hans <hans@example.de>\nTo: grete@example.de\nSubject: Hallo\n"
        "Date: Tue, 02 Jan 2024 10:00:00 +0000\nMIME-Version: 1.0\n"
        "Content-Type: text/plain; charset=iso-8859-1\n"
        "Content-Transfer-Encoding: quoted-printable\n\nGr=FC=DFe aus M=FC=\nnchen\n");
    /* "товарищ" in KOI8-R, 8bit */
    put(d, "cur", "2002.C.host:2,S",
        "From: old@example.su\nSubject: koi\nDate: Wed, 03 Jan 2024 10:00:00 +0000\n"
        "MIME-Version: 1.0\nContent-Type: text/plain; charset=koi8-r\n"
        "Content-Transfer-Encoding: 8bit\n\n\xd4\xcf\xd7\xc1\xd2\xc9\xdd\n");
    /* the attachment's base64 holds QUJDREVGR0g and decodes to "secretword" */
    put(d, "cur", "2003.D.host:2,S",
        "From: att@example.org\nSubject: =?UTF-8?B?zp/OlM6fzqM=?=\n"
        "Date: Thu, 04 Jan 2024 10:00:00 +0000\nMIME-Version: 1.0\n"
        "Content-Type: multipart/mixed; boundary=XX\n\n--XX\n"
        "Content-Type: text/plain\n\nsee attached\n--XX\n"
        "Content-Type: application/octet-stream\nContent-Transfer-Encoding: base64\n"
        "Content-Disposition: attachment; filename=a.bin\n\n"
        "c2VjcmV0d29yZA==\nQUJDREVGR0g=\n--XX--\n");
    for (size_t i = 0; i < filler; i++) {
        char name[64], text[256];

        snprintf(name, sizeof name, "%zu.F.host:2,S", 3000 + i);
        snprintf(text, sizeof text, "From: f%zu@example.com\nSubject: filler %zu\n"
                 "Date: Fri, 05 Jan 2024 10:00:00 +0000\n\nnothing to see %s\n", i, i,
                 i % 10 == 0 ? "needle" : "");
        put(d, "cur", name, text);
    }
    return d;
}

START_TEST(addresses_and_bodies)
{
    static const struct {
        const char *pattern;
        size_t count;
    } cases[] = {
        { "from:ivan", 1 },            /* the address, not in the display name */
        { "from:иван", 1 },
        { "from:ИВАН", 1 },
        { "f:example.ru", 1 },
        { "to:petr", 1 },
        { "to:anna@example.org", 1 },  /* a second recipient */
        { "to:пётр", 1 },
        { "ПРИВЕТ", 1 },
        { "οδος", 1 },                  /* ΟΔΟΣ: final sigma */
        { "body:пятницу", 1 },          /* base64 UTF-8 */
        { "body:ПЯТНИЦУ", 1 },
        { "body:münchen", 1 },          /* QP Latin-1, soft line break inside the word */
        { "body:GRÜSSE", 1 },
        { "body:товарищ", 1 },          /* KOI8-R */
        { "body:attached", 1 },
        { "body:QUJDREVGR0g", 0 },      /* base64 data of an attachment */
        { "body:secretword", 0 },       /* decoded attachment that is not text */
        { "body:needle", 10 },
        { "body:needle -body:nothing", 0 },
        { "from:ivan body:пятницу", 1 },
    };
    char *d = mkintl(100);
    struct idx *x;
    struct err e;

    ck_assert_int_eq(idx_open(d, 0, &x, &e), 0);
    for (int pass = 0; pass < 2; pass++) {
        /* once on several threads, once on one: the same answers */
        if (pass == 1)
            setenv("TERN_INDEX_THREADS", "1", 1);
        for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
            size_t n = limit_count(x, cases[k].pattern);

            ck_assert_msg(n == cases[k].count, "'%s': %zu, wanted %zu (pass %d)",
                          cases[k].pattern, n, cases[k].count, pass);
        }
    }
    unsetenv("TERN_INDEX_THREADS");
    idx_close(x);
    /* the addresses come back from the cache */
    ck_assert_int_eq(idx_open(d, 0, &x, &e), 0);
    ck_assert_uint_eq(idx_stats(x)->parsed, 0);
    ck_assert_uint_eq(limit_count(x, "from:ivan to:anna"), 1);
    close_and_remove(x, d);
}
END_TEST


/* ---- the watch (IDX_WATCH): changes applied from the kernel's events ---- */

/* Both directories' mtimes set to one fixed old time (a stored stamp then matches again
 * after a change that the test hides from the index). */
static void pin_dirs(const char *d)
{
    struct timeval old[2] = { { 1000000000, 0 }, { 1000000000, 0 } };
    char path[4096];

    snprintf(path, sizeof path, "%s/new", d);
    ck_assert_int_eq(utimes(path, old), 0);
    snprintf(path, sizeof path, "%s/cur", d);
    ck_assert_int_eq(utimes(path, old), 0);
}

static void mv(const char *d, const char *from, const char *to)
{
    char a[4096], b[4096];

    snprintf(a, sizeof a, "%s/%s", d, from);
    snprintf(b, sizeof b, "%s/%s", d, to);
    ck_assert_int_eq(rename(a, b), 0);
}

/* The folder's directories pinned to an old time and its cache written: a later change the
 * test hides with pin_dirs() again leaves the stored stamps matching. */
static void pinned_cache(const char *d)
{
    pin_dirs(d);
    write_cache(d);
}

/* Another program flags Alice's message and moves Carol's, unread, from new/ to cur/. */
static void flag_a_move_c(const char *d)
{
    mv(d, "cur/1000.A.host:2,S", "cur/1000.A.host:2,FS");
    mv(d, "new/1002.C.host", "cur/1002.C.host:2,");
}

/* The counts after flag_a_move_c(): all three there, two flagged, none in new/, one unread. */
static void expect_a_flagged_c_moved(const struct idx *x)
{
    struct idx_counts c;

    idx_counts(x, &c);
    ck_assert_uint_eq(c.total, 3);
    ck_assert_uint_eq(c.flagged, 2);
    ck_assert_uint_eq(c.in_new, 0);
    ck_assert_uint_eq(c.unread, 1);
}

static struct idx *open_watched(const char *d)
{
    struct idx *x;
    struct err e;

    ck_assert_int_eq(idx_open(d, IDX_WATCH, &x, &e), 0);
    ck_assert_int_ge(idx_watch_fd(x), 0);
    return x;
}

/* Another process renames, delivers and removes: the refresh applies the kernel's events,
 * lists nothing, keeps ids; the journal it writes gives the same entries after a reopen. */
START_TEST(watch_applies_changes)
{
    char *d = mkfolder();
    struct idx *x;
    struct idx_counts c;
    struct err e;
    uint32_t id_alice;
    pid_t pid;
    int st;
    long i;

    pin_dirs(d);
    x = open_watched(d);
    ck_assert_int_eq(idx_refresh_watched(x, &e), 0);
    ck_assert(idx_stats(x)->watched);
    id_alice = by_subject(x, "Grüße aus Bern")->id;
    pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        char a[4096], b[4096];
        int bad = 0;

        snprintf(a, sizeof a, "%s/cur/1000.A.host:2,S", d);
        snprintf(b, sizeof b, "%s/cur/1000.A.host:2,FS", d);
        bad |= rename(a, b);
        snprintf(a, sizeof a, "%s/new/1002.C.host", d);
        snprintf(b, sizeof b, "%s/cur/1002.C.host:2,S", d);
        bad |= rename(a, b);
        snprintf(a, sizeof a, "%s/cur/1001.B.host:2,FS", d);
        bad |= unlink(a);
        _exit(bad ? 1 : 0);
    }
    ck_assert_int_eq(waitpid(pid, &st, 0), pid);
    ck_assert_int_eq(st, 0);
    put(d, "tmp", "1003.D.host", "From: dan@example.com\nSubject: late\n\n.\n");
    mv(d, "tmp/1003.D.host", "new/1003.D.host");
    pin_dirs(d);                /* the journal's stamp is then trusted at the reopen */
    ck_assert_int_eq(idx_refresh_watched(x, &e), 1);
    ck_assert(idx_stats(x)->watched);
    ck_assert(!idx_stats(x)->listed);
    ck_assert_uint_eq(idx_stats(x)->renamed, 2);
    ck_assert_uint_eq(idx_stats(x)->removed, 1);
    ck_assert_uint_eq(idx_stats(x)->parsed, 1);
    ck_assert_uint_eq(idx_count(x), 3);
    i = idx_find_id(x, id_alice);
    ck_assert_int_ge(i, 0);
    ck_assert_str_eq(idx_msg(x, (size_t)i)->name, "1000.A.host:2,FS");
    ck_assert_uint_eq(idx_msg(x, (size_t)i)->flags, MDF_SEEN | MDF_FLAGGED);
    i = find_subject(x, "Budget 2024");
    ck_assert(!idx_msg(x, (size_t)i)->in_new);
    ck_assert_int_ge(find_subject(x, "late"), 0);
    ck_assert_int_lt(find_subject(x, "Re: Grüße aus Bern"), 0);
    idx_counts(x, &c);
    ck_assert_uint_eq(c.total, 3);
    ck_assert_uint_eq(c.flagged, 1);
    ck_assert_uint_eq(c.in_new, 1);
    ck_assert_uint_eq(c.unread, 1);
    /* nothing more happened: nothing to do */
    ck_assert_int_eq(idx_refresh_watched(x, &e), 0);
    ck_assert_uint_eq(idx_stats(x)->events, 0);
    x = reopen(x, d);
    ck_assert(!idx_stats(x)->listed);
    ck_assert_uint_eq(idx_stats(x)->parsed, 0);
    idx_counts(x, &c);          /* (a replayed removal stays in the count until a listing) */
    ck_assert_uint_eq(c.total, 3);
    ck_assert_str_eq(by_subject(x, "Grüße aus Bern")->name, "1000.A.host:2,FS");
    ck_assert_str_eq(by_subject(x, "Budget 2024")->name, "1002.C.host:2,S");
    ck_assert_int_ge(find_subject(x, "late"), 0);
    close_and_remove(x, d);
}
END_TEST

/* Our own operations come back as events: they change nothing more. A message delivered and
 * moved on before the refresh is read once, under its last name. */
START_TEST(watch_own_operations_and_hops)
{
    char *d = mkfolder();
    struct idx *x;
    struct err e;
    long i;

    pin_dirs(d);
    x = open_watched(d);
    i = find_subject(x, "Grüße aus Bern");
    ck_assert_int_eq(idx_set_flags(x, (size_t)i, "F", NULL, &e), 0);
    i = find_subject(x, "Budget 2024");
    ck_assert_int_eq(idx_mark_cur(x, (size_t)i, &e), 0);
    ck_assert_int_eq(idx_refresh_watched(x, &e), 0);
    ck_assert(idx_stats(x)->watched);
    ck_assert_uint_eq(idx_stats(x)->events, 4);
    ck_assert_uint_eq(idx_count(x), 3);
    ck_assert_uint_eq(idx_stats(x)->renamed, 0);
    ck_assert_uint_eq(idx_stats(x)->removed, 0);
    put(d, "new", "1005.H.host", "From: hop@example.com\nSubject: hop\n\n.\n");
    mv(d, "new/1005.H.host", "cur/1005.H.host:2,S");
    mv(d, "cur/1005.H.host:2,S", "cur/1005.H.host:2,RS");
    ck_assert_int_eq(idx_refresh_watched(x, &e), 1);
    ck_assert_uint_eq(idx_stats(x)->parsed, 1);
    ck_assert_uint_eq(idx_count(x), 4);
    ck_assert_str_eq(by_subject(x, "hop")->name, "1005.H.host:2,RS");
    close_and_remove(x, d);
}
END_TEST

/* A rename whose two halves come in different refreshes: the message leaves, then comes
 * back (read again) under its new name. Within one refresh it is a rename. */
START_TEST(watch_rename_pair_split)
{
    char *d = mkfolder();
    struct idx *x;
    struct err e;
    uint32_t id;
    long i;

    pinned_cache(d);
    /* renamed behind the index's back (the stamp still matches): the events are injected */
    mv(d, "cur/1000.A.host:2,S", "cur/1000.A.host:2,FS");
    mv(d, "cur/1001.B.host:2,FS", "cur/1001.B.host:2,FRS");
    pin_dirs(d);
    x = open_watched(d);
    ck_assert(!idx_stats(x)->listed);
    ck_assert_uint_eq(idx_count(x), 3);
    idx_watch_inject(x, IDX_WEV_GONE, false, "1000.A.host:2,S");
    ck_assert_int_eq(idx_refresh_watched(x, &e), 1);
    ck_assert_uint_eq(idx_stats(x)->removed, 1);
    ck_assert_int_lt(find_subject(x, "Grüße aus Bern"), 0);
    idx_watch_inject(x, IDX_WEV_CAME, false, "1000.A.host:2,FS");
    ck_assert_int_eq(idx_refresh_watched(x, &e), 1);
    ck_assert_uint_eq(idx_stats(x)->parsed, 1);
    i = find_subject(x, "Grüße aus Bern");
    ck_assert_int_ge(i, 0);
    ck_assert_uint_eq(idx_msg(x, (size_t)i)->flags, MDF_SEEN | MDF_FLAGGED);
    /* both halves in one refresh: a rename, the entry (and its id) kept */
    i = find_subject(x, "Re: Grüße aus Bern");
    id = idx_msg(x, (size_t)i)->id;
    idx_watch_inject(x, IDX_WEV_GONE, false, "1001.B.host:2,FS");
    idx_watch_inject(x, IDX_WEV_CAME, false, "1001.B.host:2,FRS");
    ck_assert_int_eq(idx_refresh_watched(x, &e), 1);
    ck_assert_uint_eq(idx_stats(x)->renamed, 1);
    ck_assert_uint_eq(idx_stats(x)->parsed, 0);
    ck_assert_uint_eq(idx_stats(x)->removed, 0);
    i = idx_find_id(x, id);
    ck_assert_int_ge(i, 0);
    ck_assert_str_eq(idx_msg(x, (size_t)i)->name, "1001.B.host:2,FRS");
    ck_assert_uint_eq(idx_count(x), 3);
    close_and_remove(x, d);
}
END_TEST

/* Lost events (the kernel's queue overflowed): the watched refresh declines, the listing
 * catches up, and the watch serves again after it. */
START_TEST(watch_overflow_lists)
{
    char *d = mkfolder();
    struct idx *x;
    struct err e;

    pinned_cache(d);
    mv(d, "cur/1000.A.host:2,S", "cur/1000.A.host:2,FS");      /* unseen by any watch */
    pin_dirs(d);
    x = open_watched(d);
    ck_assert_str_eq(by_subject(x, "Grüße aus Bern")->name, "1000.A.host:2,S");
    idx_watch_inject(x, IDX_WEV_LOST, false, NULL);
    ck_assert_int_eq(idx_refresh_watched(x, &e), 2);
    ck_assert_int_eq(idx_refresh_watched(x, &e), 2);     /* still: only a listing can tell */
    age_dir(d, "cur", 3);                                 /* the listing's cue */
    ck_assert_int_eq(idx_refresh(x, &e), 1);
    ck_assert(idx_stats(x)->listed);
    ck_assert_str_eq(by_subject(x, "Grüße aus Bern")->name, "1000.A.host:2,FS");
    mv(d, "cur/1001.B.host:2,FS", "cur/1001.B.host:2,S");
    ck_assert_int_eq(idx_refresh_watched(x, &e), 1);
    ck_assert(idx_stats(x)->watched);
    ck_assert_uint_eq(idx_stats(x)->renamed, 1);
    close_and_remove(x, d);
}
END_TEST

/* Without a watch (none to be had, or turned off) the watched refresh says so and the
 * ordinary one lists as before. */
START_TEST(watch_absent)
{
    char *d = mkfolder();
    struct idx *x;
    struct err e;

    setenv("TERN_INDEX_WATCH", "0", 1);
    ck_assert_int_eq(idx_open(d, IDX_WATCH, &x, &e), 0);
    unsetenv("TERN_INDEX_WATCH");
    ck_assert_int_eq(idx_watch_fd(x), -1);
    ck_assert_int_eq(idx_refresh_watched(x, &e), 2);
    mv(d, "cur/1000.A.host:2,S", "cur/1000.A.host:2,FS");
    age_dir(d, "cur", 3);
    ck_assert_int_eq(idx_refresh(x, &e), 1);
    ck_assert(idx_stats(x)->listed);
    ck_assert_uint_eq(idx_stats(x)->renamed, 1);
    close_and_remove(x, d);
}
END_TEST

/* Many renames by another process between two refreshes, more events than one read takes:
 * every one applied, no listing, the ids kept. */
START_TEST(watch_many_renames)
{
    char *d = test_tmpdir();
    struct idx *x;
    struct err e;
    char name[64], to[64];
    size_t n = 3000;

    ck_assert_int_eq(maildir_create(d, &e), 0);
    for (size_t k = 0; k < n; k++) {
        snprintf(name, sizeof name, "%zu.M%zu.host:2,S", 1700000000 + k, k);
        put(d, "cur", name, "From: many@example.com\nSubject: many\n\n.\n");
    }
    pin_dirs(d);
    x = open_watched(d);
    ck_assert_uint_eq(idx_count(x), n);
    for (size_t k = 0; k < n; k += 2) {
        snprintf(name, sizeof name, "cur/%zu.M%zu.host:2,S", 1700000000 + k, k);
        snprintf(to, sizeof to, "cur/%zu.M%zu.host:2,FS", 1700000000 + k, k);
        mv(d, name, to);
    }
    ck_assert_int_eq(idx_refresh_watched(x, &e), 1);
    ck_assert(!idx_stats(x)->listed);
    ck_assert_uint_eq(idx_stats(x)->renamed, n / 2);
    ck_assert_uint_eq(idx_stats(x)->parsed, 0);
    ck_assert_uint_eq(idx_count(x), n);
    for (size_t i = 0; i < n; i++) {
        const struct idx_msg *m = idx_msg(x, i);
        size_t k;

        ck_assert_int_eq(sscanf(strchr(m->name, 'M') + 1, "%zu.", &k), 1);
        ck_assert_uint_eq(m->flags, k % 2 == 0 ? (MDF_SEEN | MDF_FLAGGED) : MDF_SEEN);
    }
    close_and_remove(x, d);
}
END_TEST


/* The name hashes at the end of the cache file are checked when a refresh first needs them;
 * damaged, they are not used (the entries' names are read instead) and nothing is lost. */
START_TEST(watch_damaged_name_hashes)
{
    char *d = mkfolder();
    struct idx *x;
    struct err e;

    pin_dirs(d);
    damage_cache(d, 5);                             /* the last record's name check */
    pin_dirs(d);
    x = open_watched(d);
    ck_assert(!idx_stats(x)->cache_bad);
    ck_assert(!idx_stats(x)->listed);
    mv(d, "cur/1000.A.host:2,S", "cur/1000.A.host:2,FS");
    mv(d, "cur/1001.B.host:2,FS", "cur/1001.B.host:2,S");
    mv(d, "new/1002.C.host", "cur/1002.C.host:2,S");
    ck_assert_int_eq(idx_refresh_watched(x, &e), 1);
    ck_assert_uint_eq(idx_stats(x)->renamed, 3);
    ck_assert_uint_eq(idx_stats(x)->parsed, 0);
    ck_assert_uint_eq(idx_count(x), 3);
    ck_assert_str_eq(by_subject(x, "Budget 2024")->name, "1002.C.host:2,S");
    close_and_remove(x, d);
}
END_TEST

/* In a large folder (here: every cache counts as large) the refresh leaves a long journal
 * for idx_merge to fold into the cache, and the merged cache opens with what it said. */
START_TEST(journal_merge_deferred)
{
    char *d = mkfolder();
    char *cache = idx_cache_path(d), log[4096];
    struct stat st0, st1;
    struct idx *x;
    struct idx_counts c;
    struct err e;

    setenv("TERN_INDEX_SMALL_CACHE", "0", 1);
    setenv("TERN_INDEX_JNL_SLACK", "0", 1);
    snprintf(log, sizeof log, "%s.log", cache);
    pinned_cache(d);
    ck_assert_int_eq(stat(cache, &st0), 0);
    mv(d, "cur/1000.A.host:2,S", "cur/1000.A.host:2,FS");
    ck_assert_int_eq(idx_open(d, 0, &x, &e), 0);
    ck_assert_uint_eq(idx_stats(x)->renamed, 1);
    ck_assert(idx_wants_merge(x));                  /* past an eighth of the cache */
    idx_close(x);
    ck_assert_int_eq(stat(cache, &st1), 0);
    ck_assert(st0.st_ino == st1.st_ino);            /* not rewritten by the refresh */
    ck_assert_int_eq(access(log, F_OK), 0);
    ck_assert_int_eq(idx_open(d, 0, &x, &e), 0);
    ck_assert(idx_wants_merge(x));
    ck_assert_int_eq(idx_merge(x, &e), 1);
    ck_assert(!idx_wants_merge(x));
    ck_assert_int_eq(idx_merge(x, &e), 0);
    idx_close(x);
    ck_assert_int_eq(stat(cache, &st1), 0);
    ck_assert(st0.st_ino != st1.st_ino);            /* rewritten, the journal folded in */
    ck_assert_int_ne(access(log, F_OK), 0);
    pin_dirs(d);
    ck_assert_int_eq(idx_open(d, 0, &x, &e), 0);
    ck_assert(!idx_stats(x)->cache_bad);
    ck_assert_uint_eq(idx_stats(x)->parsed, 0);
    ck_assert_uint_eq(idx_stats(x)->renamed, 0);
    ck_assert_str_eq(by_subject(x, "Grüße aus Bern")->name, "1000.A.host:2,FS");
    idx_counts(x, &c);
    ck_assert_uint_eq(c.total, 3);
    ck_assert_uint_eq(c.flagged, 2);
    idx_close(x);
    unsetenv("TERN_INDEX_JNL_SLACK");
    unsetenv("TERN_INDEX_SMALL_CACHE");
    free(cache);
    rm_rf(d);
    free(d);
}
END_TEST

/* The listing refresh (no watch: here the open of a folder changed since) finds renamed
 * entries by their stored name hashes and checks: no block is read, no entry filled. */
START_TEST(listing_unread_renames)
{
    char *d = mkfolder();
    struct idx *x;
    struct err e;

    setenv("TERN_INDEX_EAGER_MAX", "0", 1);
    pinned_cache(d);
    flag_a_move_c(d);
    ck_assert_int_eq(idx_open(d, 0, &x, &e), 0);
    ck_assert(idx_stats(x)->listed);
    ck_assert(!idx_stats(x)->new_only);
    ck_assert_uint_eq(idx_stats(x)->renamed, 2);
    ck_assert_uint_eq(idx_stats(x)->parsed, 0);
    ck_assert_uint_eq(idx_stats(x)->filled, 0);
    expect_a_flagged_c_moved(x);
    idx_close(x);
    /* listed again (the directories changed within the second): the renames, replayed from
     * the journal, are found unchanged */
    ck_assert_int_eq(idx_open(d, 0, &x, &e), 0);
    ck_assert(idx_stats(x)->listed);
    ck_assert_uint_eq(idx_stats(x)->renamed, 0);
    ck_assert_uint_eq(idx_stats(x)->parsed, 0);
    ck_assert_uint_eq(idx_stats(x)->filled, 0);
    ck_assert_str_eq(by_subject(x, "Grüße aus Bern")->name, "1000.A.host:2,FS");
    ck_assert_str_eq(by_subject(x, "Budget 2024")->name, "1002.C.host:2,");
    ck_assert(!by_subject(x, "Budget 2024")->in_new);
    idx_close(x);
    unsetenv("TERN_INDEX_EAGER_MAX");
    rm_rf(d);
    free(d);
}
END_TEST

/* Only new/ changed: it alone is listed, and an entry of new/ not filled yet is known to be
 * there by its name check (its removal is seen). */
START_TEST(listing_new_only_unread)
{
    char *d = mkfolder();
    char path[4096];
    struct idx *x;
    struct idx_counts c;
    struct err e;

    setenv("TERN_INDEX_EAGER_MAX", "0", 1);
    pinned_cache(d);
    snprintf(path, sizeof path, "%s/new/1002.C.host", d);
    ck_assert_int_eq(unlink(path), 0);
    put(d, "new", "1003.D.host",
        "From: dora@example.org\nSubject: Delivered\nDate: Wed, 03 Jan 2024 10:00:00 +0000\n"
        "\nbody\n");
    ck_assert_int_eq(idx_open(d, 0, &x, &e), 0);
    ck_assert(idx_stats(x)->listed);
    ck_assert(idx_stats(x)->new_only);
    ck_assert_uint_eq(idx_stats(x)->parsed, 1);
    ck_assert_uint_eq(idx_stats(x)->removed, 1);
    ck_assert_uint_eq(idx_stats(x)->renamed, 0);
    ck_assert_uint_le(idx_stats(x)->filled, 3);     /* the removed one's block only */
    idx_counts(x, &c);
    ck_assert_uint_eq(c.total, 3);
    ck_assert_uint_eq(c.in_new, 1);
    ck_assert_int_lt(find_subject(x, "Budget 2024"), 0);
    ck_assert_int_ge(find_subject(x, "Delivered"), 0);
    idx_close(x);
    unsetenv("TERN_INDEX_EAGER_MAX");
    rm_rf(d);
    free(d);
}
END_TEST

/* Every name hashes alike (the test hook keeps no bit): the listing still tells the entries
 * apart, by their name checks and, for a rename, by the name in the record. */
START_TEST(listing_hash_collision)
{
    char *d = mkfolder();
    struct idx *x;
    struct err e;

    idx_test_hash_mask = 0;
    setenv("TERN_INDEX_EAGER_MAX", "0", 1);
    pinned_cache(d);
    mv(d, "cur/1000.A.host:2,S", "cur/1000.A.host:2,FS");
    mv(d, "cur/1001.B.host:2,FS", "cur/1001.B.host:2,S");
    ck_assert_int_eq(idx_open(d, 0, &x, &e), 0);
    ck_assert(idx_stats(x)->listed);
    ck_assert_uint_eq(idx_stats(x)->renamed, 2);
    ck_assert_uint_eq(idx_stats(x)->parsed, 0);
    ck_assert_uint_eq(idx_stats(x)->removed, 0);
    ck_assert_uint_eq(idx_stats(x)->filled, 0);
    x = reopen(x, d);
    ck_assert_uint_eq(idx_stats(x)->renamed, 0);
    ck_assert_uint_eq(idx_stats(x)->parsed, 0);
    ck_assert_uint_eq(idx_count(x), 3);
    ck_assert_str_eq(by_subject(x, "Grüße aus Bern")->name, "1000.A.host:2,FS");
    ck_assert_str_eq(by_subject(x, "Re: Grüße aus Bern")->name, "1001.B.host:2,S");
    ck_assert_str_eq(by_subject(x, "Budget 2024")->name, "1002.C.host");
    idx_close(x);
    idx_test_hash_mask = UINT64_MAX;
    unsetenv("TERN_INDEX_EAGER_MAX");
    rm_rf(d);
    free(d);
}
END_TEST

/* A removal in a large folder whose entries are not filled leaves the entry in place,
 * hidden, instead of filling every entry to renumber them; once the gone entries are an
 * eighth of the folder they are dropped. */
START_TEST(removal_without_compaction)
{
    char *d = test_tmpdir();
    char name[64], text[256], path[4096];
    struct idx *x;
    struct idx_counts c;
    struct err e;

    ck_assert_int_eq(maildir_create(d, &e), 0);
    for (int i = 0; i < 24; i++) {
        snprintf(name, sizeof name, "%d.M%d.host:2,S", 1000 + i, i);
        snprintf(text, sizeof text, "From: a@example.org\nSubject: Message %d\n"
                 "Date: Mon, 01 Jan 2024 10:%02d:00 +0000\n\nbody\n", i, i);
        put(d, "cur", name, text);
    }
    setenv("TERN_INDEX_EAGER_MAX", "0", 1);
    setenv("TERN_INDEX_COMPACT_MAX", "0", 1);
    pinned_cache(d);
    snprintf(path, sizeof path, "%s/cur/1005.M5.host:2,S", d);
    ck_assert_int_eq(unlink(path), 0);
    ck_assert_int_eq(idx_open(d, 0, &x, &e), 0);
    ck_assert_uint_eq(idx_stats(x)->removed, 1);
    ck_assert_uint_eq(idx_stats(x)->filled, 1);     /* the removed one, for its counts */
    ck_assert_uint_eq(idx_count(x), 24);            /* not compacted: hidden in place */
    idx_counts(x, &c);
    ck_assert_uint_eq(c.total, 23);
    ck_assert_int_lt(find_subject(x, "Message 5"), 0);
    x = reopen(x, d);
    idx_counts(x, &c);
    ck_assert_uint_eq(c.total, 23);
    ck_assert_int_lt(find_subject(x, "Message 5"), 0);
    ck_assert_int_ge(find_subject(x, "Message 6"), 0);
    idx_close(x);
    for (int i = 6; i < 9; i++) {
        snprintf(path, sizeof path, "%s/cur/%d.M%d.host:2,S", d, 1000 + i, i);
        ck_assert_int_eq(unlink(path), 0);
    }
    ck_assert_int_eq(idx_open(d, 0, &x, &e), 0);
    ck_assert_uint_eq(idx_count(x), 20);            /* 4 of 24: compacted */
    idx_counts(x, &c);
    ck_assert_uint_eq(c.total, 20);
    for (int i = 0; i < 24; i++) {
        snprintf(text, sizeof text, "Message %d", i);
        ck_assert_int_eq(find_subject(x, text) >= 0, i < 5 || i > 8);
    }
    idx_close(x);
    unsetenv("TERN_INDEX_COMPACT_MAX");
    unsetenv("TERN_INDEX_EAGER_MAX");
    rm_rf(d);
    free(d);
}
END_TEST

/* Entries not filled yet (a warm open reads no record): the watch renames them without
 * filling them (counts from the names, the name kept until they are filled), twice in a
 * row, and the journal carries it to the next open. */
START_TEST(watch_unread_entries)
{
    char *d = mkfolder();
    struct idx *x;
    struct idx_counts c;
    struct err e;

    setenv("TERN_INDEX_EAGER_MAX", "0", 1);
    pinned_cache(d);
    x = open_watched(d);
    ck_assert_uint_eq(idx_stats(x)->filled, 0);
    flag_a_move_c(d);
    ck_assert_int_eq(idx_refresh_watched(x, &e), 1);
    ck_assert_uint_eq(idx_stats(x)->renamed, 2);
    ck_assert_uint_eq(idx_stats(x)->filled, 0);
    expect_a_flagged_c_moved(x);
    mv(d, "cur/1002.C.host:2,", "cur/1002.C.host:2,S");
    mv(d, "cur/1000.A.host:2,FS", "cur/1000.A.host:2,RS");
    pin_dirs(d);
    ck_assert_int_eq(idx_refresh_watched(x, &e), 1);
    ck_assert_uint_eq(idx_stats(x)->renamed, 2);
    ck_assert_uint_eq(idx_stats(x)->filled, 0);
    idx_counts(x, &c);
    ck_assert_uint_eq(c.flagged, 1);
    ck_assert_uint_eq(c.unread, 0);
    ck_assert_str_eq(by_subject(x, "Grüße aus Bern")->name, "1000.A.host:2,RS");
    ck_assert_str_eq(by_subject(x, "Budget 2024")->name, "1002.C.host:2,S");
    x = reopen(x, d);
    ck_assert(!idx_stats(x)->listed);
    ck_assert_str_eq(by_subject(x, "Grüße aus Bern")->name, "1000.A.host:2,RS");
    ck_assert(!by_subject(x, "Budget 2024")->in_new);
    idx_counts(x, &c);
    ck_assert_uint_eq(c.unread, 0);
    idx_close(x);
    unsetenv("TERN_INDEX_EAGER_MAX");
    rm_rf(d);
    free(d);
}
END_TEST

/* A block found damaged while the folder is watched: the watched refresh declines, and the
 * refresh rebuilds from the messages (a listing), not from the events alone. */
START_TEST(watch_damaged_block_lists)
{
    char *d = mkfolder();
    struct idx *x;
    struct err e;

    setenv("TERN_INDEX_EAGER_MAX", "0", 1);
    pin_dirs(d);
    damage_cache(d, 3 * HASH_BYTES + 3);            /* a string byte of the last record */
    x = open_watched(d);
    ck_assert_uint_eq(count_gone(x), 3);
    mv(d, "cur/1000.A.host:2,S", "cur/1000.A.host:2,FS");
    ck_assert_int_eq(idx_refresh_watched(x, &e), 2);
    ck_assert_int_eq(idx_refresh(x, &e), 1);
    ck_assert(idx_stats(x)->listed);
    ck_assert_uint_eq(idx_stats(x)->parsed, 3);
    ck_assert_uint_eq(idx_count(x), 3);
    ck_assert_str_eq(by_subject(x, "Grüße aus Bern")->name, "1000.A.host:2,FS");
    mv(d, "cur/1001.B.host:2,FS", "cur/1001.B.host:2,S");
    ck_assert_int_eq(idx_refresh_watched(x, &e), 1);
    ck_assert(idx_stats(x)->watched);
    close_and_remove(x, d);
    unsetenv("TERN_INDEX_EAGER_MAX");
}
END_TEST

/* Names a fetcher says it delivered are added without a listing; the next refresh (by
 * listing or by the watch) finds them known and reads them no second time. */
START_TEST(delivered_names_added)
{
    char *d = mkfolder();
    struct idx *x;
    struct err e;
    char *names[] = { "1010.F.host", "1000.A.host:2,S", "1099.missing.host", "1010.F.host",
                      "../escape", ".hidden" };
    char *one[] = { "1011.G.host" };

    pin_dirs(d);
    ck_assert_int_eq(idx_open(d, 0, &x, &e), 0);
    put(d, "new", "1010.F.host", "From: fay@example.com\nSubject: fetched\n\n.\n");
    ck_assert_int_eq(idx_add_new(x, names, sizeof names / sizeof names[0]), 1);
    ck_assert_uint_eq(idx_count(x), 4);
    ck_assert_uint_eq(idx_stats(x)->parsed, 1);
    ck_assert(by_subject(x, "fetched")->in_new);
    ck_assert_int_eq(idx_add_new(x, names, 1), 0);         /* known now */
    age_dir(d, "new", 3);
    ck_assert_int_eq(idx_refresh(x, &e), 0);
    ck_assert(idx_stats(x)->listed);
    ck_assert_uint_eq(idx_stats(x)->parsed, 0);
    ck_assert_uint_eq(idx_count(x), 4);
    idx_close(x);
    /* with the watch: its event for the file changes nothing more */
    x = open_watched(d);
    put(d, "new", "1011.G.host", "From: gil@example.com\nSubject: fetched too\n\n.\n");
    ck_assert_int_eq(idx_add_new(x, one, 1), 1);
    ck_assert_int_eq(idx_refresh_watched(x, &e), 0);
    ck_assert(idx_stats(x)->watched);
    ck_assert_uint_eq(idx_stats(x)->parsed, 0);
    ck_assert_uint_eq(idx_count(x), 5);
    close_and_remove(x, d);
}
END_TEST

/* Messages for the body search's shortcuts: an ASCII word is looked for in the transfer-
 * decoded bytes before any charset conversion, and the text is folded only when needed. */
static char *mkbodies(void)
{
    char *d = test_tmpdir();
    struct err e;

    ck_assert_int_eq(maildir_create(d, &e), 0);
    put(d, "cur", "1.A.host:2,S",   /* "Plain words: rendezvous at noon." in base64 */
        "From: a@x\nSubject: a\nMIME-Version: 1.0\nContent-Type: text/plain; charset=utf-8\n"
        "Content-Transfer-Encoding: base64\n\nUGxhaW4gd29yZHM6IHJlbmRlenZvdXMgYXQgbm9vbi4K\n");
    put(d, "cur", "2.B.host:2,S",   /* a soft line break inside the word */
        "From: b@x\nSubject: b\nMIME-Version: 1.0\nContent-Type: text/plain; charset=us-ascii\n"
        "Content-Transfer-Encoding: quoted-printable\n\nthe dead=\nline is friday\n");
    put(d, "cur", "3.C.host:2,S",   /* the attachment decodes to "%PDF zebracorn zebracorn" */
        "From: c@x\nSubject: c\nMIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=b\n\n"
        "--b\nContent-Type: text/plain\n\nthe report\n--b\n"
        "Content-Type: application/pdf\nContent-Transfer-Encoding: base64\n\n"
        "JVBERiB6ZWJyYWNvcm4gemVicmFjb3JuCg==\n--b--\n");
    put(d, "cur", "4.D.host:2,S",   /* characters that fold to ASCII; a mark after "cafe" */
        "From: d@x\nSubject: d\nMIME-Version: 1.0\nContent-Type: text/plain; charset=utf-8\n"
        "Content-Transfer-Encoding: 8bit\n\n"
        "5 \xe2\x84\xaa" "ELVIN, DRE\xc5\xbf\xc5\xbf, MAX\xc4\xb0MUM, "
        "cafe\xcc\x81 noir, \xef\xac\x81nance\n");
    put(d, "cur", "5.E.host:2,S",   /* an ASCII word among KOI8-R letters */
        "From: e@x\nSubject: e\nMIME-Version: 1.0\nContent-Type: text/plain; charset=koi8-r\n"
        "Content-Transfer-Encoding: 8bit\n\n\xd4\xcf\xd7 koitext \xc1\n");
    put(d, "cur", "6.F.host:2,S",   /* UTF-16BE "\u6568 quarterly numbers": U+6568 is "eh" */
        "From: f@x\nSubject: f\nMIME-Version: 1.0\nContent-Type: text/plain; charset=utf-16be\n"
        "Content-Transfer-Encoding: base64\n\n"
        "ZWgAIABxAHUAYQByAHQAZQByAGwAeQAgAG4AdQBtAGIAZQByAHM=\n");
    put(d, "cur", "7.G.host:2,S",   /* format=flowed, DelSp=yes: "foo" and "barbaz" join */
        "From: g@x\nSubject: g\nMIME-Version: 1.0\n"
        "Content-Type: text/plain; charset=utf-8; format=flowed; delsp=yes\n\n"
        "the foo \nbarbaz is here\n");
    put(d, "cur", "8.H.host:2,S",   /* sharp s in Windows-1252 */
        "From: h@x\nSubject: h\nMIME-Version: 1.0\n"
        "Content-Type: text/plain; charset=windows-1252\n"
        "Content-Transfer-Encoding: 8bit\n\nHauptstra\xdf" "e 5\n");
    put(d, "cur", "9.I.host:2,S",   /* the word only in a part that is not text */
        "From: i@x\nSubject: i\nMIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=b\n\n"
        "--b\nContent-Type: text/plain\n\nsee the data\n--b\n"
        "Content-Type: application/json\nContent-Transfer-Encoding: 8bit\n\n"
        "{\"quokka\": 1}\n--b--\n");
    put(d, "cur", "11.K.host:2,S",  /* "7bit" with bytes that are not UTF-8: Windows-1252 */
        "From: k@x\nSubject: k\nMIME-Version: 1.0\nContent-Type: text/plain; charset=us-ascii\n"
        "Content-Transfer-Encoding: 7bit\n\nzanzibar \xd0\xb5 \xff\n");
    put(d, "cur", "10.J.host:2,S",
        "From: j@x\nSubject: j\nMIME-Version: 1.0\nContent-Type: text/html; charset=utf-8\n\n"
        "<p>Wombat</p>\n");
    return d;
}

START_TEST(body_shortcuts)
{
    static const struct {
        const char *pattern;
        size_t count;
    } cases[] = {
        { "body:rendezvous", 1 },       /* base64 text */
        { "body:UGxhaW4", 0 },          /* ... but not its base64 */
        { "body:deadline", 1 },         /* quoted-printable soft line break */
        { "body:dead=", 0 },
        { "body:zebracorn", 0 },        /* attachment data, decoded or not */
        { "body:JVBERi", 0 },
        { "body:report", 1 },
        { "body:kelvin", 1 },           /* KELVIN SIGN */
        { "body:dress", 1 },            /* long s */
        { "body:maxi", 1 },             /* İ folds to i + combining dot */
        { "body:maximum", 0 },
        { "body:cafe", 0 },             /* NFC makes é of e + acute */
        { "body:caf", 1 },
        { "body:finance", 1 },          /* fi ligature */
        { "body:koitext", 1 },          /* ASCII in KOI8-R */
        { "body:KOITEXT", 1 },
        { "body:eh", 0 },               /* UTF-16: bytes that are not ASCII text */
        { "body:quarterly", 1 },
        { "body:foobarbaz", 1 },        /* format=flowed undone */
        { "body:hauptstrasse", 1 },     /* ß in Windows-1252 */
        { "body:quokka", 0 },           /* not a text part */
        { "body:wombat", 1 },           /* text/html as text */
        { "body:zanzibar", 1 },
        { "body:\xd0\xb5", 0 },           /* not UTF-8, so not Cyrillic */
        { "body:\xc3\x90", 1 },           /* but Windows-1252 */
        { "body:the", 4 },
    };
    char *d = mkbodies();
    struct idx *x;
    struct err e;

    ck_assert_int_eq(idx_open(d, 0, &x, &e), 0);
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        size_t n = limit_count(x, cases[k].pattern);

        ck_assert_msg(n == cases[k].count, "'%s': %zu, wanted %zu", cases[k].pattern, n,
                      cases[k].count);
    }
    close_and_remove(x, d);
}
END_TEST

/* Every regular file under dir (the corpus), copied into the maildir d as messages. */
static void corpus_copy(const char *dir, const char *d, int depth, int *n)
{
    DIR *dp = opendir(dir);
    struct dirent *de;

    while (dp && depth < 8 && (de = readdir(dp)) != NULL) {
        char path[4096], name[64];
        struct stat st;
        struct buf b = BUF_INIT;
        struct err e;

        snprintf(path, sizeof path, "%s/%s", dir, de->d_name);
        if (de->d_name[0] == '.' || lstat(path, &st) != 0)
            continue;
        if (S_ISDIR(st.st_mode)) {
            corpus_copy(path, d, depth + 1, n);
        } else if (S_ISREG(st.st_mode) && st.st_size < (8 << 20) &&
                   fs_read_file(path, &b, &e) == 0) {
            snprintf(name, sizeof name, "%d.C.host:2,S", 1000 + (*n)++);
            snprintf(path, sizeof path, "%s/cur/%s", d, name);
            ck_assert_int_eq(fs_write_atomic(path, b.ptr ? b.ptr : "", b.len, 0600, &e), 0);
        }
        buf_free(&b);
    }
    if (dp)
        closedir(dp);
}

/* The text parts of a message, each decoded and folded: what body: searches, the slow way. */
static size_t folded_parts(const char *path, struct buf *parts, size_t max)
{
    struct buf msg = BUF_INIT, text = BUF_INIT;
    struct mime_tree t;
    struct err e;
    size_t n = 0;

    ck_assert_int_eq(fs_read_file(path, &msg, &e), 0);
    mime_parse(msg.ptr ? msg.ptr : "", msg.len, &t);
    for (size_t k = 0; k < t.n && n < max; k++) {
        if (mime_is_multipart(&t.parts[k]) || strncmp(t.parts[k].type, "text/", 5) != 0)
            continue;
        buf_reset(&text);
        mime_text(&t.parts[k], &text);
        parts[n] = (struct buf)BUF_INIT;
        fold_text(text.ptr ? text.ptr : "", text.len, &parts[n++]);
    }
    mime_free(&t);
    buf_free(&msg);
    buf_free(&text);
    return n;
}

/*
 * The real messages of $TERN_CORPUS (skipped when absent): for each, body: with ASCII and
 * other words, some taken from the messages themselves, finds what folding the decoded text
 * parts finds, shortcuts or not.
 */
START_TEST(body_corpus)
{
    static const char *const fixed[] = {
        "the", "THE", "and", "http", "message", "charset", "base64", "=20", "--", "<br>",
        "Content-Type", "ss", "fi", "k", "st", "i", "\xd0\xb5", "\xd0\x9f\xd1\x80\xd0\xb8",
        "f\xc3\xbcr", "strasse", "\xc3\xa9t\xc3\xa9", "zzzqqqxxx",
    };
    const char *dir = getenv("TERN_CORPUS");
    char *words[200];
    size_t nw = 0, checked = 0, hits = 0;
    struct idx *x;
    struct err e;
    struct stat st;
    char *d;
    int n = 0;

    if (dir == NULL || stat(dir, &st) != 0) {
        fprintf(stderr, "check_index: TERN_CORPUS absent, corpus test skipped\n");
        return;
    }
    d = test_tmpdir();
    ck_assert_int_eq(maildir_create(d, &e), 0);
    corpus_copy(dir, d, 0, &n);
    ck_assert_int_gt(n, 0);
    ck_assert_int_eq(idx_open(d, 0, &x, &e), 0);
    for (size_t k = 0; k < sizeof fixed / sizeof fixed[0]; k++)
        words[nw++] = xstrdup(fixed[k]);
    /* a word of every seventh message (upper-cased every other time) */
    for (size_t i = 0; i < idx_count(x) && nw < 200; i += 7) {
        char *path = idx_path(x, i);
        struct buf parts[64];
        size_t np = folded_parts(path, parts, 64);

        for (size_t k = 0; k < np; k++) {
            const char *p = parts[k].ptr, *q;

            while (p && *p && !(*p >= 'a' && *p <= 'z') && (unsigned char)*p < 0x80)
                p++;
            for (q = p; q && *q && *q != ' ' && *q != '\n' && *q != '\t'; q++)
                ;
            if (p && q - p >= 4 && q - p < 30 && nw < 200) {
                char *w = xstrndup(p, (size_t)(q - p));

                for (char *c = w; nw % 2 && *c; c++)
                    if (*c >= 'a' && *c <= 'z')
                        *c -= 32;
                words[nw++] = w;
            }
            buf_free(&parts[k]);
        }
        free(path);
    }
    for (size_t i = 0; i < idx_count(x); i++) {
        char *path = idx_path(x, i);
        struct buf parts[256];
        size_t np = folded_parts(path, parts, 256);

        for (size_t k = 0; k < nw; k++) {
            struct buf fw = BUF_INIT, pat = BUF_INIT;
            struct idx_limit *l;
            bool want = false;

            fold_text(words[k], strlen(words[k]), &fw);
            for (size_t j = 0; j < np && !want; j++)
                want = memmem(parts[j].ptr, parts[j].len, fw.ptr, fw.len) != NULL;
            buf_printf(&pat, "body:\"%s\"", words[k]);
            ck_assert_int_eq(idx_limit_compile(pat.ptr, &l, &e), 0);
            ck_assert_msg(idx_limit_match(x, l, i) == want, "%s in %s: wanted %d", pat.ptr,
                          path, want);
            hits += want;
            checked++;
            idx_limit_free(l);
            buf_free(&fw);
            buf_free(&pat);
        }
        for (size_t j = 0; j < np; j++)
            buf_free(&parts[j]);
        free(path);
    }
    fprintf(stderr, "check_index: body: %zu words in %d corpus messages, %zu checks, %zu hits\n",
            nw, n, checked, hits);
    ck_assert_uint_gt(hits, 0);
    for (size_t k = 0; k < nw; k++)
        free(words[k]);
    close_and_remove(x, d);
}
END_TEST

static Suite *index_suite(void)
{
    Suite *s = suite_create("index");
    TCase *tc = tcase_create("core");

    tcase_set_timeout(tc, 120);     /* a busy CI machine creating a few thousand files */

    tcase_add_test(tc, build_and_fields);
    tcase_add_test(tc, header_across_reads);
    tcase_add_test(tc, body_shortcuts);
    tcase_add_test(tc, body_corpus);
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
    tcase_add_test(tc, datekey_sort_matches_qsort);
    tcase_add_test(tc, non_files_skipped);
    tcase_add_test(tc, long_references_trimmed);
    tcase_add_test(tc, counts_and_lazy_view);
    tcase_add_test(tc, lazy_block_damage);
    tcase_add_test(tc, new_only_listing);
    tcase_add_test(tc, merge_appended);
    tcase_add_test(tc, journal_replayed);
    tcase_add_test(tc, journal_damaged);
    tcase_add_test(tc, truncated_while_open);
    tcase_add_test(tc, addresses_and_bodies);
    tcase_add_test(tc, read_all_blocks);
    suite_add_tcase(s, tc);
    tc = tcase_create("watch");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, watch_applies_changes);
    tcase_add_test(tc, watch_own_operations_and_hops);
    tcase_add_test(tc, watch_rename_pair_split);
    tcase_add_test(tc, watch_overflow_lists);
    tcase_add_test(tc, watch_absent);
    tcase_add_test(tc, watch_many_renames);
    tcase_add_test(tc, watch_damaged_name_hashes);
    tcase_add_test(tc, watch_unread_entries);
    tcase_add_test(tc, listing_unread_renames);
    tcase_add_test(tc, listing_new_only_unread);
    tcase_add_test(tc, listing_hash_collision);
    tcase_add_test(tc, removal_without_compaction);
    tcase_add_test(tc, journal_merge_deferred);
    tcase_add_test(tc, watch_damaged_block_lists);
    tcase_add_test(tc, delivered_names_added);
    suite_add_tcase(s, tc);
    return s;
}

TEST_MAIN(index_suite)

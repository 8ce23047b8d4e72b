/* base64, quoted-printable, charset fallback, sanitising, format=flowed. */
#include "config.h"

#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"
#include "tern/buf.h"
#include "tern/codec.h"

START_TEST(test_b64)
{
    struct buf b = BUF_INIT;

    ck_assert_uint_eq(codec_b64_decode("aGVsbG8=", 8, &b), 0);
    ck_assert_str_eq(buf_cstr(&b), "hello");
    buf_reset(&b);
    ck_assert_uint_eq(codec_b64_decode("aGVs\r\nbG8", 9, &b), 0);
    ck_assert_str_eq(buf_cstr(&b), "hello");
    buf_reset(&b);
    ck_assert_uint_eq(codec_b64_decode("aG!Vs*bG8=", 10, &b), 2);
    ck_assert_str_eq(buf_cstr(&b), "hello");
    buf_reset(&b);
    /* two blobs glued together */
    codec_b64_decode("YQ==Yg==", 8, &b);
    ck_assert_str_eq(buf_cstr(&b), "ab");
    buf_reset(&b);
    codec_b64_encode("hello", 5, &b);
    ck_assert_str_eq(buf_cstr(&b), "aGVsbG8=");
    buf_free(&b);
}
END_TEST

/* MIME bodies: 76 characters a line (57 input bytes), every line ending in LF, even the last. */
START_TEST(test_b64_lines)
{
    struct buf b = BUF_INIT;
    char in[58];

    codec_b64_encode_lines("", 0, &b);
    ck_assert_uint_eq(b.len, 0);
    memset(in, 'x', sizeof in);
    codec_b64_encode_lines(in, 57, &b);
    ck_assert_uint_eq(b.len, 77);
    ck_assert_int_eq(b.ptr[76], '\n');
    buf_reset(&b);
    codec_b64_encode_lines(in, 58, &b);
    ck_assert_str_eq(buf_cstr(&b) + 76, "\neA==\n");
    buf_free(&b);
}
END_TEST

static const struct {
    const char *in, *out;
    int header;
    size_t bad;
} qp[] = {
    { "caf=E9", "caf\xe9", 0, 0 },
    { "caf=e9", "caf\xe9", 0, 0 },
    { "soft=\r\nbreak", "softbreak", 0, 0 },
    { "soft=  \nbreak", "softbreak", 0, 0 },
    { "trail   \r\nx", "trail\r\nx", 0, 0 },
    { "a=3Db", "a=b", 0, 0 },
    { "bad=ZZ", "bad=ZZ", 0, 1 },
    { "end=", "end", 0, 0 },
    { "end=4", "end=4", 0, 1 },
    { "a_b=20c", "a b c", 1, 0 },
    { "a_b", "a_b", 0, 0 },
};

START_TEST(test_qp)
{
    struct buf b = BUF_INIT;
    size_t bad = codec_qp_decode(qp[_i].in, strlen(qp[_i].in), qp[_i].header, &b);

    ck_assert_str_eq(buf_cstr(&b), qp[_i].out);
    ck_assert_uint_eq(bad, qp[_i].bad);
    buf_free(&b);
}
END_TEST

static const struct {
    const char *cs, *in, *out;
    enum codec_how how;
} conv[] = {
    { "utf-8", "caf\xc3\xa9", "caf\xc3\xa9", CODEC_AS_DECLARED },
    { "ISO-8859-1", "caf\xe9", "caf\xc3\xa9", CODEC_AS_DECLARED },
    { "iso-8859-1", "\x80", "\xe2\x82\xac", CODEC_AS_DECLARED },
    { "koi8-r", "\xf0", "\xd0\x9f", CODEC_AS_DECLARED },
    { NULL, "caf\xc3\xa9", "caf\xc3\xa9", CODEC_AS_UTF8 },
    { NULL, "caf\xe9", "caf\xc3\xa9", CODEC_AS_CP1252 },
    { "x-bogus", "caf\xe9", "caf\xc3\xa9", CODEC_AS_CP1252 },
    { "us-ascii", "caf\xe9", "caf\xc3\xa9", CODEC_AS_CP1252 },
    { "us-ascii", "caf\xc3\xa9", "caf\xc3\xa9", CODEC_AS_DECLARED },
    { "iso-2022-jp", "caf\xc3\xa9", "caf\xc3\xa9", CODEC_AS_UTF8 },
    { "utf-8", "caf\xc3\xa9 \xc3\xa9t\xc3\xa9 \xff", "caf\xc3\xa9 \xc3\xa9t\xc3\xa9 \xef\xbf\xbd",
      CODEC_WITH_ERRORS },
    { "utf-8", "latin-1 in disguise: caf\xe9", "latin-1 in disguise: caf\xc3\xa9",
      CODEC_AS_CP1252 },
    { "\"UTF-8\"", "x", "x", CODEC_AS_DECLARED },
    /* found by fuzz_encword: iconv passed a code point past U+10FFFF through */
    { "utf-8\xb1", "\xf4\x9a\x96\xab", "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd",
      CODEC_WITH_ERRORS },
};

START_TEST(test_conv)
{
    struct buf b = BUF_INIT;
    enum codec_how how = codec_to_utf8(conv[_i].cs, conv[_i].in, strlen(conv[_i].in), &b);

    ck_assert_str_eq(buf_cstr(&b), conv[_i].out);
    ck_assert_int_eq(how, conv[_i].how);
    ck_assert(codec_utf8_valid(b.ptr, b.len));
    buf_free(&b);
}
END_TEST


/* Several threads convert at once (the index parses headers on every core): each must get
 * its own descriptor, or a stateful charset's shift state leaks between conversions. More
 * charsets than the pool holds, so descriptors are also closed and reopened meanwhile. */
static const struct {
    const char *cs, *in, *out;
} mt[] = {
    { "iso-2022-jp", "\x1b$B\x46\x7c\x4b\x5c\x1b(B ok", "\xe6\x97\xa5\xe6\x9c\xac ok" },
    { "koi8-r", "\xf0\xd2\xc9", "\xd0\x9f\xd1\x80\xd0\xb8" },
    { "windows-1251", "\xcf\xf0\xe8", "\xd0\x9f\xd1\x80\xd0\xb8" },
    { "iso-8859-2", "\xb1", "\xc4\x85" },
    { "iso-8859-5", "\xbf", "\xd0\x9f" },
    { "iso-8859-7", "\xd3", "\xce\xa3" },
    { "iso-8859-15", "\xa4", "\xe2\x82\xac" },
    { "cp850", "\x81", "\xc3\xbc" },
    { "cp437", "\x84", "\xc3\xa4" },
    { "mac", "\x8a", "\xc3\xa4" },
    { "iso-8859-3", "\xa1", "\xc4\xa6" },
    { "iso-8859-4", "\xa1", "\xc4\x84" },
    { "iso-8859-9", "\xd0", "\xc4\x9e" },
    { "iso-8859-13", "\xa1", "\xe2\x80\x9d" },
    { "koi8-u", "\xa4", "\xd1\x94" },
    { "windows-1250", "\x8a", "\xc5\xa0" },
    { "windows-1253", "\xd3", "\xce\xa3" },
    { "big5", "\xa4\xa4", "\xe4\xb8\xad" },
    { "euc-jp", "\xc6\xfc", "\xe6\x97\xa5" },
    { "gb2312", "\xd6\xd0", "\xe4\xb8\xad" },
};

static void *conv_worker(void *arg)
{
    size_t seed = (size_t)(uintptr_t)arg, bad = 0;
    struct buf b = BUF_INIT;

    for (size_t k = 0; k < 3000; k++) {
        size_t i = (k * 7 + seed * 3) % (sizeof mt / sizeof mt[0]);

        buf_reset(&b);
        codec_to_utf8(mt[i].cs, mt[i].in, strlen(mt[i].in), &b);
        if (strcmp(buf_cstr(&b), mt[i].out) != 0)
            bad++;
    }
    buf_free(&b);
    return (void *)(uintptr_t)bad;
}

START_TEST(test_conv_threads)
{
    pthread_t t[4];

    for (size_t i = 0; i < sizeof mt / sizeof mt[0]; i++) {
        struct buf b = BUF_INIT;

        codec_to_utf8(mt[i].cs, mt[i].in, strlen(mt[i].in), &b);
        ck_assert_msg(strcmp(buf_cstr(&b), mt[i].out) == 0, "%s", mt[i].cs);
        buf_free(&b);
    }
    for (size_t i = 0; i < 4; i++)
        ck_assert_int_eq(pthread_create(&t[i], NULL, conv_worker, (void *)(uintptr_t)i), 0);
    for (size_t i = 0; i < 4; i++) {
        void *bad;

        pthread_join(t[i], &bad);
        ck_assert_uint_eq((uintptr_t)bad, 0);
    }
}
END_TEST

static const struct {
    const char *in, *out;
    int mode;
} san[] = {
    { "plain\ttext\n", "plain\ttext\n", CODEC_SAN_TEXT },
    { "crlf\r\nline", "crlf\nline", CODEC_SAN_TEXT },
    { "bare\rcr", "bare^Mcr", CODEC_SAN_TEXT },
    { "\x1b]0;title\x07", "^[]0;title^G", CODEC_SAN_TEXT },
    { "del\x7f", "del^?", CODEC_SAN_TEXT },
    { "nul\0x", "nul^@x", CODEC_SAN_TEXT },
    { "csi\xc2\x9b" "2J", "csi<U+009B>2J", CODEC_SAN_TEXT },
    { "bidi\xe2\x80\xae", "bidi<U+202E>", CODEC_SAN_TEXT },
    { "bad\xff\xfe", "bad\xef\xbf\xbd\xef\xbf\xbd", CODEC_SAN_TEXT },
    { "raw\x9b", "raw\xef\xbf\xbd", CODEC_SAN_TEXT },
    { "a\tb\nc", "a b c", CODEC_SAN_LINE },
    { "\xe6\x97\xa5\xe6\x9c\xac", "\xe6\x97\xa5\xe6\x9c\xac", CODEC_SAN_TEXT },
};

START_TEST(test_sanitize)
{
    struct buf b = BUF_INIT;
    size_t n = strlen(san[_i].in);

    if (strncmp(san[_i].in, "nul", 3) == 0)
        n = 5;
    codec_sanitize(san[_i].in, n, san[_i].mode, &b);
    ck_assert_str_eq(buf_cstr(&b), san[_i].out);
    buf_free(&b);
}
END_TEST

static const struct {
    const char *in, *out;
    int delsp;
} flowed[] = {
    { "one \ntwo \nthree\nfour\n", "one two three\nfour\n", 0 },
    { "one \ntwo\n", "onetwo\n", 1 },
    { "> quoted \n> more\nnew\n", "> quoted more\nnew\n", 0 },
    { "> a \n>> b\n", "> a \n>> b\n", 0 },
    { " From stuffed\n", "From stuffed\n", 0 },
    { "-- \nsig\n", "-- \nsig\n", 0 },
    { "soft at end ", "soft at end \n", 0 },
};

START_TEST(test_flowed)
{
    struct buf b = BUF_INIT;

    codec_unflow(flowed[_i].in, strlen(flowed[_i].in), flowed[_i].delsp, &b);
    ck_assert_str_eq(buf_cstr(&b), flowed[_i].out);
    buf_free(&b);
}
END_TEST

static Suite *codec_suite(void)
{
    Suite *s = suite_create("codec");
    TCase *tc = tcase_create("core");

    tcase_add_test(tc, test_b64);
    tcase_add_test(tc, test_b64_lines);
    tcase_add_loop_test(tc, test_qp, 0, sizeof qp / sizeof qp[0]);
    tcase_add_loop_test(tc, test_conv, 0, sizeof conv / sizeof conv[0]);
    tcase_add_test(tc, test_conv_threads);
    tcase_add_loop_test(tc, test_sanitize, 0, sizeof san / sizeof san[0]);
    tcase_add_loop_test(tc, test_flowed, 0, sizeof flowed / sizeof flowed[0]);
    suite_add_tcase(s, tc);
    return s;
}

TEST_MAIN(codec_suite)

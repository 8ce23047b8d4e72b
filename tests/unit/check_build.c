/* Unit tests for the message builder: encoded words, addresses, folding, bodies, attachments,
 * and the editable draft text. Each output is read back with the message engine's parsers. */
#include "config.h"

#include <locale.h>

#include "testutil.h"
#include "tern/build.h"
#include "tern/codec.h"
#include "tern/header.h"
#include "tern/mime.h"
#include "tern/str.h"
#include "tern/xalloc.h"

/* Every line of s is at most max octets. */
static void assert_lines_within(const char *s, size_t max)
{
    size_t line = 0;

    for (; *s; s++) {
        if (*s == '\n') {
            line = 0;
            continue;
        }
        if (++line > max)
            ck_abort_msg("line longer than %zu: ...%.40s", max, s - 40);
    }
}

static char *header_value(const char *msg, const char *name)
{
    struct hdr_field f;
    size_t len = hdr_block_len(msg, strlen(msg));

    if (!hdr_find(msg, len, name, &f))
        return NULL;
    return hdr_decode(f.value, f.value_len);
}

static const char *const subjects[] = {
    "plain ASCII subject",
    "Re: Расписание тренировок на декабрь",
    "来週の会議について、資料は前日に送ります。よろしくお願いします。長い件名のテストです。",
    "Fotos de la regata: ¡qué día! Hace frío en el río",
    "mixed ASCII words then ünïcödé then ASCII again at the end of a long subject line",
    "looks like =?utf-8?q?an_encoded_word?= but is not",
    "emoji 🚣‍♀️ 🏆 and  two  spaces",
};

START_TEST(subject_round_trips_and_folds)
{
    struct buf out = BUF_INIT;
    const char *s = subjects[_i];
    char *back;
    char msg[4096];

    build_header_text(&out, "Subject", s);
    assert_lines_within(out.ptr, 78);
    for (const char *p = out.ptr; *p; p++)
        ck_assert_msg((unsigned char)*p < 0x80, "raw 8-bit byte in %s", out.ptr);
    snprintf(msg, sizeof msg, "%s\nbody\n", out.ptr);
    back = header_value(msg, "Subject");
    ck_assert_ptr_nonnull(back);
    if (_i == 6) {
        /* runs of spaces between ASCII words fold to one; inside encoded words they stay */
        ck_assert_str_eq(back, "emoji 🚣‍♀️ 🏆 and two spaces");
    } else {
        ck_assert_str_eq(back, s);
    }
    free(back);
    buf_free(&out);
}
END_TEST

START_TEST(addresses_quoted_and_encoded)
{
    struct buf out = BUF_INIT;
    struct addr *a;
    size_t n;
    struct err e;
    const char *in = "Ann Example <ann@example.org>, \"Smith, John\" <js@example.org>, "
                     "Дмитрий Волков <dmitri@volkov.example>, bare@example.net, "
                     "田中 由紀 <yuki@tanaka.example>";

    ck_assert_int_eq(build_header_addresses(&out, "To", in, &e), 0);
    assert_lines_within(out.ptr, 78);
    ck_assert(strstr(out.ptr, "\"Smith, John\" <js@example.org>") != NULL);
    ck_assert(strstr(out.ptr, "Ann Example <ann@example.org>") != NULL);
    ck_assert(strstr(out.ptr, "=?UTF-8?") != NULL);
    ck_assert_int_eq(addr_parse_list(out.ptr + 3, out.len - 3, &a, &n), 0);
    ck_assert_uint_eq(n, 5);
    ck_assert_str_eq(a[1].name, "Smith, John");
    ck_assert_str_eq(a[2].name, "Дмитрий Волков");
    ck_assert_str_eq(a[2].mailbox, "dmitri@volkov.example");
    ck_assert_str_eq(a[3].mailbox, "bare@example.net");
    ck_assert_str_eq(a[4].name, "田中 由紀");
    addr_list_free(a, n);
    buf_reset(&out);
    ck_assert_int_eq(build_header_addresses(&out, "To", "not an address", &e), -1);
    ck_assert_int_eq(e.cls, ERR_PARSE);
    ck_assert(strstr(e.msg, "To:") != NULL);
    buf_free(&out);
}
END_TEST

static void fill_draft(struct draft *d, const char *body)
{
    draft_init(d);
    d->from = xstrdup("Ann Example <ann@example.org>");
    d->to = xstrdup("Дмитрий <dmitri@volkov.example>");
    d->bcc = xstrdup("secret@example.org");
    d->subject = xstrdup("Привет");
    d->in_reply_to = xstrdup("<ru1@demo.example.org>");
    d->references = xstrdup("<a@x> <ru1@demo.example.org>");
    buf_adds(&d->body, body);
}

START_TEST(plain_message_headers_and_7bit)
{
    struct draft d;
    struct buf out = BUF_INIT;
    struct build_opts o = { .date = 1795000000 };
    struct err e;
    char *v;

    fill_draft(&d, "Hello,\r\nplain text.\n");
    ck_assert_int_eq(build_message(&d, &o, &out, &e), 0);
    ck_assert(strstr(out.ptr, "Bcc") == NULL);
    ck_assert(strstr(out.ptr, "secret@example.org") == NULL);
    ck_assert(strstr(out.ptr, "Content-Transfer-Encoding: 7bit\n") != NULL);
    ck_assert(strstr(out.ptr, "charset=us-ascii") != NULL);
    ck_assert(strstr(out.ptr, "\n\nHello,\nplain text.\n") != NULL);
    ck_assert(strstr(out.ptr, "MIME-Version: 1.0\n") != NULL);
    ck_assert(strstr(out.ptr, "In-Reply-To: <ru1@demo.example.org>\n") != NULL);
    ck_assert(strstr(out.ptr, "References: <a@x> <ru1@demo.example.org>\n") != NULL);
    v = header_value(out.ptr, "Message-ID");
    ck_assert(strstr(v, "@example.org>") != NULL);
    free(v);
    v = header_value(out.ptr, "Subject");
    ck_assert_str_eq(v, "Привет");
    free(v);
    buf_reset(&out);
    o.keep_bcc = true;
    ck_assert_int_eq(build_message(&d, &o, &out, &e), 0);
    ck_assert(strstr(out.ptr, "Bcc: secret@example.org\n") != NULL);
    draft_free(&d);
    buf_free(&out);
}
END_TEST

static char *body_of(const char *msg)
{
    const char *b = strstr(msg, "\n\n");
    return b ? (char *)b + 2 : NULL;
}

START_TEST(utf8_body_8bit_or_qp)
{
    struct draft d;
    struct buf out = BUF_INIT, dec = BUF_INIT;
    struct build_opts o = { .date = 1795000000, .allow_8bit = true };
    struct err e;
    const char *text = "Привет!\nЛиния с пробелом в конце \n.\nFrom here\n";

    fill_draft(&d, text);
    ck_assert_int_eq(build_message(&d, &o, &out, &e), 0);
    ck_assert(strstr(out.ptr, "Content-Transfer-Encoding: 8bit\n") != NULL);
    ck_assert_str_eq(body_of(out.ptr), text);
    buf_reset(&out);
    o.allow_8bit = false;
    ck_assert_int_eq(build_message(&d, &o, &out, &e), 0);
    ck_assert(strstr(out.ptr, "Content-Transfer-Encoding: quoted-printable\n") != NULL);
    ck_assert(strstr(out.ptr, "charset=utf-8") != NULL);
    assert_lines_within(out.ptr, 78);
    codec_qp_decode(body_of(out.ptr), strlen(body_of(out.ptr)), false, &dec);
    ck_assert_str_eq(dec.ptr, text);
    draft_free(&d);
    buf_free(&out);
    buf_free(&dec);
}
END_TEST

START_TEST(long_lines_become_qp)
{
    struct draft d;
    struct buf out = BUF_INIT, dec = BUF_INIT, text = BUF_INIT;
    struct build_opts o = { .date = 1795000000, .allow_8bit = true };
    struct err e;

    for (int i = 0; i < 300; i++)
        buf_adds(&text, "word ");
    buf_addc(&text, '\n');
    fill_draft(&d, text.ptr);
    ck_assert_int_eq(build_message(&d, &o, &out, &e), 0);
    ck_assert(strstr(out.ptr, "quoted-printable") != NULL);
    assert_lines_within(out.ptr, 78);
    codec_qp_decode(body_of(out.ptr), strlen(body_of(out.ptr)), false, &dec);
    ck_assert_str_eq(dec.ptr, text.ptr);
    draft_free(&d);
    buf_free(&out);
    buf_free(&dec);
    buf_free(&text);
}
END_TEST

START_TEST(flowed_wraps_with_soft_breaks)
{
    struct draft d;
    struct buf out = BUF_INIT, text = BUF_INIT, un = BUF_INIT;
    struct build_opts o = { .date = 1795000000, .allow_8bit = true, .flowed = true };
    struct err e;

    for (int i = 0; i < 40; i++)
        buf_adds(&text, "flowing ");
    buf_adds(&text, "end\n> quoted line stays\n-- \nAnn\n");
    fill_draft(&d, text.ptr);
    ck_assert_int_eq(build_message(&d, &o, &out, &e), 0);
    ck_assert(strstr(out.ptr, "format=flowed") != NULL);
    assert_lines_within(body_of(out.ptr), 78);
    ck_assert(strstr(out.ptr, "\n-- \nAnn\n") != NULL);
    codec_unflow(body_of(out.ptr), strlen(body_of(out.ptr)), false, &un);
    ck_assert(strstr(un.ptr, text.ptr) == un.ptr || strcmp(un.ptr, text.ptr) == 0);
    draft_free(&d);
    buf_free(&out);
    buf_free(&text);
    buf_free(&un);
}
END_TEST

START_TEST(attachments_multipart_base64_rfc2231)
{
    struct draft d;
    struct buf out = BUF_INIT, dec = BUF_INIT;
    struct build_opts o = { .date = 1795000000 };
    struct err e;
    char *dir = test_tmpdir(), path[4200];
    unsigned char bin[3000];
    const char *p;

    for (size_t i = 0; i < sizeof bin; i++)
        bin[i] = (unsigned char)(i * 7);
    snprintf(path, sizeof path, "%s/report.pdf", dir);
    FILE *f = fopen(path, "wb");
    fwrite(bin, 1, sizeof bin, f);
    fclose(f);
    fill_draft(&d, "See attached.\n");
    draft_attach_file(&d, path, NULL);
    draft_attach_data(&d, "отчёт за третий квартал с очень длинным именем файла.txt", NULL,
                      "данные\n", strlen("данные\n"));
    ck_assert_int_eq(build_message(&d, &o, &out, &e), 0);
    assert_lines_within(out.ptr, 78);
    ck_assert(strstr(out.ptr, "Content-Type: multipart/mixed;") != NULL);
    ck_assert(strstr(out.ptr, "Content-Type: application/pdf;\n name=\"report.pdf\"") != NULL);
    ck_assert(strstr(out.ptr, "filename=\"report.pdf\"") != NULL);
    ck_assert(strstr(out.ptr, "filename*0*=utf-8''%D0%BE") != NULL);
    ck_assert(strstr(out.ptr, "Content-Type: text/plain;\n name*0*=utf-8''%D0%BE") != NULL);
    /* the PDF's base64 decodes to the bytes */
    p = strstr(out.ptr, "filename=\"report.pdf\"\nContent-Transfer-Encoding: base64\n\n");
    ck_assert_ptr_nonnull(p);
    p = strstr(p, "\n\n") + 2;
    codec_b64_decode(p, (size_t)(strstr(p, "\n\n") - p), &dec);
    ck_assert_uint_eq(dec.len, sizeof bin);
    ck_assert_int_eq(memcmp(dec.ptr, bin, sizeof bin), 0);
    /* a missing file is a clear error and no output */
    draft_attach_file(&d, "/nonexistent/file.bin", NULL);
    buf_reset(&out);
    ck_assert_int_eq(build_message(&d, &o, &out, &e), -1);
    ck_assert(strstr(e.msg, "/nonexistent/file.bin") != NULL);
    ck_assert_uint_eq(out.len, 0);
    draft_detach(&d, 2);
    ck_assert_uint_eq(d.natt, 2);
    draft_free(&d);
    buf_free(&out);
    buf_free(&dec);
    test_tmpdir_free(dir);
}
END_TEST

START_TEST(draft_text_round_trip)
{
    struct draft d, back;
    struct buf text = BUF_INIT;
    struct err e;

    fill_draft(&d, "Body line one\n\nBody line three\n");
    draft_to_text(&d, &text);
    ck_assert(str_startswith(text.ptr, "From: Ann Example <ann@example.org>\n"
                                       "To: Дмитрий <dmitri@volkov.example>\nCc: \n"
                                       "Bcc: secret@example.org\nSubject: Привет\n\n"));
    draft_init(&back);
    ck_assert_int_eq(draft_from_text(&back, text.ptr, text.len, &e), 0);
    ck_assert_str_eq(back.to, d.to);
    ck_assert_ptr_null(back.cc);
    ck_assert_str_eq(back.subject, "Привет");
    ck_assert_str_eq(back.body.ptr, "Body line one\n\nBody line three\n");
    /* continuation lines join, names are case-insensitive */
    const char *edited = "from: A <a@x>\nTO: b@x,\n  c@x\nSubject: hi\n\nbody";
    ck_assert_int_eq(draft_from_text(&back, edited, strlen(edited), &e), 0);
    ck_assert_str_eq(back.to, "b@x, c@x");
    ck_assert_str_eq(back.body.ptr, "body\n");
    const char *bad = "To: x@y\nX-Frob: 1\n\nbody\n";
    ck_assert_int_eq(draft_from_text(&back, bad, strlen(bad), &e), -1);
    ck_assert(str_startswith(e.msg, "line 2: 'X-Frob: 1' is not one of the headers"));
    draft_free(&d);
    draft_free(&back);
    buf_free(&text);
}
END_TEST

/* A CR typed or pasted into a header of the edited file (issue 14, item 7): the wire never
 * shows a field the draft did not read; CR, LF and CR LF are one line end in the header. */
static const char *const cr_edits[] = {
    "To: a@x.example\nSubject: hi\rBcc: evil@y.example\n\nbody\n",
    "To: a@x.example\rBcc: evil@y.example\nSubject: s\n\nbody\n",
    "To: a@x.example,\n b@x.example\rReply-To: evil@y.example\r\nSubject: s\r\n\r\nbody\n",
    "Subject: hi\r\rX-Evil: 1\nTo: a@x.example\n\nbody\n",
    "To: a@x.example\nSubject: a\r b\rCc: evil@y.example\n\nbody\rtext\n",
};

START_TEST(edited_cr_never_splits_a_header)
{
    static const char *const known[] = { "From", "To", "Cc", "Reply-To", "Subject", "Date",
                                         "Message-ID", "MIME-Version", "Content-Type",
                                         "Content-Transfer-Encoding", "User-Agent" };
    struct draft d;
    struct buf out = BUF_INIT;
    struct build_opts o = { .date = 1795000000 };
    struct err e;
    size_t hlen, pos = 0;
    struct hdr_field f;

    draft_init(&d);
    d.from = xstrdup("ann@example.org");
    if (draft_from_text(&d, cr_edits[_i], strlen(cr_edits[_i]), &e) < 0) {
        /* refusing the edit is fine; what the wire carries is the point */
        draft_free(&d);
        return;
    }
    if (d.from == NULL)
        d.from = xstrdup("ann@example.org");
    ck_assert_int_eq(build_message(&d, &o, &out, &e), 0);
    hlen = hdr_block_len(out.ptr, out.len);
    ck_assert_msg(memchr(out.ptr, '\r', hlen) == NULL, "%s", out.ptr);
    while (hdr_next(out.ptr, hlen, &pos, &f)) {
        bool ok = false;

        for (size_t k = 0; k < sizeof known / sizeof known[0]; k++)
            ok = ok || (f.name_len == strlen(known[k]) &&
                        str_ncasecmp(f.name, known[k], f.name_len) == 0);
        ck_assert_msg(ok, "edit %d: field %.*s on the wire", _i, (int)f.name_len, f.name);
        /* evil@ reaches the wire only in a field the draft itself holds it in */
        if (memmem(f.value, f.value_len, "evil@", 5))
            ck_assert_msg((d.cc && strstr(d.cc, "evil@")) ||
                          (d.reply_to && strstr(d.reply_to, "evil@")),
                          "edit %d: hidden %.*s", _i, (int)f.value_len, f.value);
    }
    buf_free(&out);
    /* whatever a caller puts in a value, one field stays one field */
    build_header_text(&out, "Subject", "a\rBcc: x@y\nX: 1\r\nY: 2");
    ck_assert_str_eq(out.ptr, "Subject: a Bcc: x@y X: 1 Y: 2\n");
    buf_free(&out);
    draft_free(&d);
}
END_TEST

/* "a b"@x is another mailbox than ab@x: a quoted local part goes out exactly (item 9). */
START_TEST(quoted_local_part_kept)
{
    struct buf b = BUF_INIT;
    struct err e;

    ck_assert_int_eq(build_header_addresses(&b, "To", "A <\"a b\"@example.org>, "
                                            "\"c\\\"d e\"@x.example", &e), 0);
    ck_assert_str_eq(b.ptr, "To: A <\"a b\"@example.org>, \"c\\\"d e\"@x.example\n");
    buf_free(&b);
}
END_TEST

/* build_wire_safe (item 8): every leaf that broke the wire is re-encoded, decodes to the same
 * bytes, and nothing else changes. */
static bool breaks(const char *p, size_t n, bool allow_8bit)
{
    size_t line = 0;

    for (size_t i = 0; i < n; i++) {
        if (p[i] == '\n') {
            line = 0;
            continue;
        }
        if (p[i] == '\0' || ((unsigned char)p[i] >= 0x80 && !allow_8bit) || ++line > 998)
            return true;
    }
    return false;
}

START_TEST(wire_safe_reencodes_what_breaks)
{
    struct buf in = BUF_INIT, out = BUF_INIT, a = BUF_INIT, b = BUF_INIT;
    struct mime_tree t1, t2;
    struct err e;

    /* a multipart: a long-line text part, an 8-bit part with a NUL, a clean part */
    buf_adds(&in, "From: a@x\nSubject: ");
    for (int i = 0; i < 150; i++)
        buf_adds(&in, "word ");
    buf_adds(&in, "\nMIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=BB\n\n"
                  "--BB\nContent-Type: text/plain; charset=utf-8\n"
                  "Content-Transfer-Encoding: 8bit\n\n");
    for (int i = 0; i < 1500; i++)
        buf_addc(&in, (char)('a' + i % 26));
    buf_adds(&in, "\nend\n--BB\nContent-Type: application/x-thing\n\n");
    buf_add(&in, "\x00\x01\xff\xfe\ntail", 9);
    buf_adds(&in, "\n--BB\nContent-Type: text/plain\n\nclean\n--BB--\n");
    ck_assert_int_eq(build_wire_safe(in.ptr, in.len, true, &out, &e), 1);
    ck_assert(!breaks(out.ptr, out.len, false));
    ck_assert(strstr(out.ptr, "Content-Transfer-Encoding: quoted-printable\n") != NULL);
    ck_assert(strstr(out.ptr, "Content-Transfer-Encoding: base64\n") != NULL);
    ck_assert(strstr(out.ptr, "Content-Transfer-Encoding: 8bit") == NULL);
    ck_assert(strstr(out.ptr, "\n--BB\nContent-Type: text/plain\n\nclean\n--BB--\n") != NULL);
    mime_parse(in.ptr, in.len, &t1);
    mime_parse(out.ptr, out.len, &t2);
    ck_assert_uint_eq(t1.n, t2.n);
    for (size_t i = 0; i < t1.n; i++) {
        if (t1.parts[i].nchildren > 0)
            continue;
        buf_reset(&a);
        buf_reset(&b);
        mime_decode(&t1.parts[i], &a);
        mime_decode(&t2.parts[i], &b);
        ck_assert_uint_eq(a.len, b.len);
        ck_assert(a.len == 0 || memcmp(a.ptr, b.ptr, a.len) == 0);
        ck_assert_str_eq(t1.parts[i].type, t2.parts[i].type);
    }
    mime_free(&t1);
    mime_free(&t2);
    /* a plain message with 8-bit text: nothing to do with 8BITMIME, QP without */
    buf_reset(&in);
    buf_adds(&in, "Subject: s\n\ncaf\xc3\xa9 cr\r\nlf\n");
    ck_assert_int_eq(build_wire_safe(in.ptr, in.len, true, &out, &e), 0);
    ck_assert_int_eq(build_wire_safe(in.ptr, in.len, false, &out, &e), 1);
    ck_assert_str_eq(out.ptr, "Subject: s\nMIME-Version: 1.0\n"
                              "Content-Type: text/plain; charset=utf-8\n"
                              "Content-Transfer-Encoding: quoted-printable\n\ncaf=C3=A9 cr\nlf\n");
    /* what breaks the wire outside any part cannot be fixed: said so */
    buf_reset(&in);
    buf_adds(&in, "Subject: ");
    for (int i = 0; i < 1100; i++)
        buf_addc(&in, 'x');
    buf_adds(&in, "\n\nbody\n");
    ck_assert_int_eq(build_wire_safe(in.ptr, in.len, true, &out, &e), -1);
    ck_assert_int_eq(e.cls, ERR_PERM);
    buf_free(&in), buf_free(&out), buf_free(&a), buf_free(&b);
}
END_TEST

/* The header part of msg (up to the blank line), as a new string. */
static char *header_of(const char *msg)
{
    const char *end = strstr(msg, "\n\n");

    return xmemdup0(msg, end ? (size_t)(end - msg) + 1 : strlen(msg));
}

static bool all_ascii(const char *s)
{
    for (; *s; s++)
        if ((unsigned char)*s >= 0x80)
            return false;
    return true;
}

/* build_wire_headers: 8-bit fields become encoded words (decoding to the same text), folded
 * at 78; ASCII fields and the body are left byte for byte. */
START_TEST(wire_headers_encoded_words)
{
    static const char subj[] = "Grüße aus Köln: ein längerer Betreff, der über achtundsiebzig "
                               "Zeichen hinausgeht, damit er gefaltet wird — ja";
    static const char dkim[] = "DKIM-Signature: v=1; a=rsa-sha256; d=example.org; s=s1;\n"
                               "\tbh=abc=; b=def=\n";
    struct buf in = BUF_INIT, out = BUF_INIT;
    struct addr *a;
    size_t n;
    struct err e;
    char *h, *v;

    buf_printf(&in, "Received: from x by y; Tue, 1 Dec 2026 10:00:00 +0000\n%s"
                    "From: Jörg Müller <ann@example.org>\n"
                    "To: \"Bäcker, Bob\" <bob@example.org>, carol@example.org (Cärol)\n"
                    "Subject: %s\nX-Note: naïve\nMessage-ID: <m.1@example.org>\n\n"
                    "caf\xc3\xa9 body\n", dkim, subj);
    ck_assert_int_eq(build_wire_headers(in.ptr, in.len, &out, &e), 1);
    h = header_of(out.ptr);
    ck_assert_msg(all_ascii(h), "8-bit left in %s", h);
    assert_lines_within(h, 78);
    ck_assert(strncmp(out.ptr, "Received: from x by y; Tue, 1 Dec 2026 10:00:00 +0000\n", 54) == 0);
    ck_assert(strstr(h, dkim) != NULL);
    ck_assert(strstr(h, "\nMessage-ID: <m.1@example.org>\n") != NULL);
    ck_assert(strstr(h, "=?UTF-8?") != NULL);
    v = header_value(out.ptr, "Subject");
    ck_assert_str_eq(v, subj);
    free(v);
    v = header_value(out.ptr, "X-Note");
    ck_assert_str_eq(v, "naïve");
    free(v);
    {
        struct hdr_field f;

        ck_assert(hdr_find(out.ptr, strlen(h), "To", &f));
        addr_parse_list(f.value, f.value_len, &a, &n);
        ck_assert_uint_eq(n, 2);
        ck_assert_str_eq(a[0].name, "Bäcker, Bob");
        ck_assert_str_eq(a[0].mailbox, "bob@example.org");
        ck_assert_str_eq(a[1].name, "Cärol");
        ck_assert_str_eq(a[1].mailbox, "carol@example.org");
        addr_list_free(a, n);
        ck_assert(hdr_find(out.ptr, strlen(h), "From", &f));
        addr_parse_list(f.value, f.value_len, &a, &n);
        ck_assert_uint_eq(n, 1);
        ck_assert_str_eq(a[0].name, "Jörg Müller");
        ck_assert_str_eq(a[0].mailbox, "ann@example.org");
        addr_list_free(a, n);
    }
    ck_assert(strcmp(out.ptr + strlen(h), "\ncaf\xc3\xa9 body\n") == 0);
    free(h);
    /* cron's "root (Name)": no domain, so the name stays a comment, encoded */
    {
        static const char cron[] = "From: root (Cr\xc3\xb6n Daemon)\nSubject: s\n\nx\n";

        ck_assert_int_eq(build_wire_headers(cron, strlen(cron), &out, &e), 1);
        ck_assert_str_eq(out.ptr, "From: root (=?UTF-8?Q?Cr=C3=B6n_Daemon?=)\nSubject: s\n\nx\n");
        v = header_value(out.ptr, "From");
        ck_assert_msg(strstr(v, "Cr\xc3\xb6n Daemon") != NULL, "%s", v);
        free(v);
    }
    buf_free(&in);
    buf_free(&out);
}
END_TEST

/* Already encoded (ASCII): untouched. Mixed: the words there are read, then all encoded
 * again. Not UTF-8: read as Windows-1252, sent as UTF-8 words. */
START_TEST(wire_headers_encoded_mixed_and_latin1)
{
    static const char enc[] = "Subject: =?ISO-8859-1?Q?caf=E9?= ok\nTo: =?UTF-8?Q?J=C3=B6rg?= "
                              "<j@x>\n\ncaf\xc3\xa9\n";
    struct buf out = BUF_INIT;
    struct err e;
    char *v;

    ck_assert_int_eq(build_wire_headers(enc, strlen(enc), &out, &e), 0);
    ck_assert_uint_eq(out.len, 0);
    {
        static const char mixed[] = "Subject: =?UTF-8?Q?caf=C3=A9?= und Grüße\n\nx\n";

        ck_assert_int_eq(build_wire_headers(mixed, strlen(mixed), &out, &e), 1);
        ck_assert(all_ascii(out.ptr));
        v = header_value(out.ptr, "Subject");
        ck_assert_str_eq(v, "café und Grüße");
        free(v);
    }
    {
        static const char latin1[] = "Subject: caf\xe9 cr\xe8me \x80\n\nx\n";

        ck_assert_int_eq(build_wire_headers(latin1, strlen(latin1), &out, &e), 1);
        ck_assert(all_ascii(out.ptr));
        ck_assert(strstr(out.ptr, "=?UTF-8?") != NULL);
        v = header_value(out.ptr, "Subject");
        ck_assert_str_eq(v, "café crème €");
        free(v);
    }
    buf_free(&out);
}
END_TEST

/* What no encoded word may carry: an 8-bit addr-spec, 8-bit in a Message-ID. */
START_TEST(wire_headers_refuse_8bit_addresses)
{
    static const char addr[] = "From: a@x\nCc: Jörg <jörg@exämple.org>\n\nx\n";
    static const char mid[] = "Message-ID: <grüße@x>\n\nx\n";
    struct buf out = BUF_INIT;
    struct err e;

    ck_assert_int_eq(build_wire_headers(addr, strlen(addr), &out, &e), -1);
    ck_assert_int_eq(e.cls, ERR_PERM);
    ck_assert_msg(strstr(e.msg, "Cc field") && strstr(e.msg, "jörg@exämple.org") &&
                  strstr(e.msg, "SMTPUTF8"), "%s", e.msg);
    ck_assert_int_eq(build_wire_headers(mid, strlen(mid), &out, &e), -1);
    ck_assert_int_eq(e.cls, ERR_PERM);
    ck_assert_msg(strstr(e.msg, "Message-ID field") != NULL, "%s", e.msg);
    /* found by fuzz_header: an 8-bit field name, an 8-bit line that is no field */
    {
        static const char name8[] = "Subject: Gr\xc3\xbc\xc3\x9f" "e\n"
                                    "X-Gr\xc3\xbc\xc3\x9f" "e: x\n\nx\n";
        static const char junk[] = "Subject: Gr\xc3\xbc\xc3\x9f" "e\nno colon \xc3\xa9\n\nx\n";

        ck_assert_int_eq(build_wire_headers(name8, strlen(name8), &out, &e), -1);
        ck_assert_msg(strstr(e.msg, "field name") != NULL, "%s", e.msg);
        ck_assert_int_eq(build_wire_headers(junk, strlen(junk), &out, &e), -1);
        ck_assert_msg(strstr(e.msg, "not a field") != NULL, "%s", e.msg);
        /* no field at all: no header, left to build_wire_safe as text */
        ck_assert_int_eq(build_wire_headers("caf\xc3\xa9\n", 6, &out, &e), 0);
    }
    buf_free(&out);
}
END_TEST

START_TEST(mime_types_and_dates)
{
    struct buf b = BUF_INIT;

    ck_assert_str_eq(build_mime_type("a.PDF"), "application/pdf");
    ck_assert_str_eq(build_mime_type("photo.jpeg"), "image/jpeg");
    ck_assert_str_eq(build_mime_type("noext"), "application/octet-stream");
    ck_assert_str_eq(build_mime_type("dir.d/file"), "application/octet-stream");
    setenv("TZ", "Europe/Moscow", 1);
    tzset();
    build_date(&b, 1795000000);
    ck_assert_str_eq(b.ptr, "Wed, 18 Nov 2026 14:06:40 +0300");
    setenv("TZ", "UTC", 1);
    tzset();
    buf_free(&b);
}
END_TEST


/* Round trip through the message engine: what is composed parses back to the same headers,
 * text and attachments. */
static const struct {
    const char *subject, *to, *body;
    bool allow_8bit, flowed;
} round_trips[] = {
    { "Plain ASCII", "Bob <bob@example.org>", "Hello Bob,\n\nsee you at 9.\n", false, false },
    { "Привет из Москвы", "Дмитрий Волков <dmitri@volkov.example>",
      "Привет!\nКак дела? Тренировка в 7:00.\n", false, false },
    { "Привет из Москвы", "Дмитрий Волков <dmitri@volkov.example>",
      "Привет!\nКак дела? Тренировка в 7:00.\n", true, false },
    { "来週の会議について", "田中 由紀 <yuki@tanaka.example>",
      "アンさん\n来週の会議は火曜日の午後三時からです。\n", false, false },
    { "long lines", "x@example.org", NULL, true, false },
    { "flowed Cyrillic", "x@example.org", NULL, true, true },
};

START_TEST(round_trip_through_the_engine)
{
    struct draft d;
    struct buf out = BUF_INIT, body = BUF_INIT, text = BUF_INIT, att = BUF_INIT;
    struct build_opts o = { .date = 1795000000, .allow_8bit = round_trips[_i].allow_8bit,
                            .flowed = round_trips[_i].flowed };
    struct mime_tree t;
    struct err e;
    struct addr *a;
    size_t n;
    char *v;
    size_t natt = 0;

    if (round_trips[_i].body) {
        buf_adds(&body, round_trips[_i].body);
    } else {
        for (int i = 0; i < 200; i++)
            buf_adds(&body, _i == 5 ? "длинная строка " : "a-long-line ");
        buf_adds(&body, "end\nshort\n");   /* flowed cannot keep a hard line's trailing space */
    }
    draft_init(&d);
    d.from = xstrdup("Ann Example <ann@example.org>");
    d.to = xstrdup(round_trips[_i].to);
    d.subject = xstrdup(round_trips[_i].subject);
    buf_add(&d.body, body.ptr, body.len);
    for (int i = 0; i < 256; i++)
        buf_addc(&att, (char)i);
    draft_attach_data(&d, "данные.bin", NULL, att.ptr, att.len);
    ck_assert_int_eq(build_message(&d, &o, &out, &e), 0);
    assert_lines_within(out.ptr, 998);
    v = header_value(out.ptr, "Subject");
    ck_assert_str_eq(v, round_trips[_i].subject);
    free(v);
    v = header_value(out.ptr, "To");
    ck_assert_int_eq(addr_parse_list(v, strlen(v), &a, &n), 0);
    ck_assert_uint_eq(n, 1);
    ck_assert_str_eq(strrchr(round_trips[_i].to, '<') ? round_trips[_i].to : a[0].mailbox,
                     round_trips[_i].to);
    addr_list_free(a, n);
    free(v);
    mime_parse(out.ptr, out.len, &t);
    for (size_t i = 0; i < t.n; i++) {
        if (strcmp(t.parts[i].type, "text/plain") == 0) {
            mime_text(&t.parts[i], &text);
            if (strcmp(text.ptr, body.ptr) != 0) {
                size_t k = 0;
                while (text.ptr[k] == body.ptr[k])
                    k++;
                ck_abort_msg("text differs at byte %zu of %zu: got '%.30s', want '%.30s'", k,
                             body.len, text.ptr + k, body.ptr + k);
            }
        } else if (t.parts[i].number > 0) {
            struct buf dec = BUF_INIT;
            mime_decode(&t.parts[i], &dec);
            ck_assert_uint_eq(dec.len, att.len);
            ck_assert_int_eq(memcmp(dec.ptr, att.ptr, att.len), 0);
            ck_assert_str_eq(t.parts[i].filename, "данные.bin");
            buf_free(&dec);
            natt++;
        }
    }
    ck_assert_uint_eq(natt, 1);
    ck_assert_uint_gt(text.len, 0);
    mime_free(&t);
    draft_free(&d);
    buf_free(&out);
    buf_free(&body);
    buf_free(&text);
    buf_free(&att);
}
END_TEST

static Suite *build_suite(void)
{
    Suite *s = suite_create("build");
    TCase *tc = tcase_create("core");

    setlocale(LC_ALL, "C.UTF-8");
    tcase_add_loop_test(tc, subject_round_trips_and_folds, 0,
                        (int)(sizeof subjects / sizeof subjects[0]));
    tcase_add_test(tc, addresses_quoted_and_encoded);
    tcase_add_test(tc, plain_message_headers_and_7bit);
    tcase_add_test(tc, utf8_body_8bit_or_qp);
    tcase_add_test(tc, long_lines_become_qp);
    tcase_add_test(tc, flowed_wraps_with_soft_breaks);
    tcase_add_test(tc, attachments_multipart_base64_rfc2231);
    tcase_add_test(tc, draft_text_round_trip);
    tcase_add_test(tc, quoted_local_part_kept);
    tcase_add_test(tc, wire_safe_reencodes_what_breaks);
    tcase_add_test(tc, wire_headers_encoded_words);
    tcase_add_test(tc, wire_headers_encoded_mixed_and_latin1);
    tcase_add_test(tc, wire_headers_refuse_8bit_addresses);
    tcase_add_loop_test(tc, edited_cr_never_splits_a_header, 0,
                        sizeof cr_edits / sizeof cr_edits[0]);
    tcase_add_test(tc, mime_types_and_dates);
    tcase_add_loop_test(tc, round_trip_through_the_engine, 0,
                        (int)(sizeof round_trips / sizeof round_trips[0]));
    suite_add_tcase(s, tc);
    return s;
}

TEST_MAIN(build_suite)

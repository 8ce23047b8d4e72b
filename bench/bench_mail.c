/* Message engine benchmark: header parsing of many header blocks in memory, and rendering
 * of a large message. Inputs are generated here (deterministic), nothing is read from disk
 * except with --write-big FILE, which saves the big message for comparison with mblaze. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "tern/buf.h"
#include "tern/header.h"
#include "tern/render.h"

/* CPU time of this process: on a shared, loaded machine wall time mostly measures the
 * other processes. */
static double now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static unsigned long rng = 12345;
static unsigned rnd(unsigned n)
{
    rng = rng * 6364136223846793005UL + 1442695040888963407UL;
    return (unsigned)((rng >> 33) % n);
}

/* A realistic header block: Received chain, folded lines, encoded words, ~1 KB. */
static void gen_block(struct buf *b, unsigned i)
{
    static const char *const names[] = { "Alice Example", "=?UTF-8?Q?Ren=C3=A9_Dupont?=",
                                         "\"Doe, John\"", "=?ISO-8859-1?Q?J=F6rg?=", "" };
    static const char *const subj[] = { "Re: quarterly report", "=?UTF-8?B?w4ljb2xlIGTDqXTDqQ==?=",
                                        "Meeting tomorrow at 10", "=?utf-8?q?Caf=C3=A9?= menu" };
    const char *nm = names[rnd(5)];

    buf_printf(b, "Return-Path: <user%u@example.org>\n", i);
    for (int r = 0; r < 3; r++)
        buf_printf(b, "Received: from mx%u.example.net (mx%u.example.net [192.0.2.%u])\n"
                      "\tby mail.example.org (Postfix) with ESMTPS id %08X\n"
                      "\tfor <me@example.org>; Tue, %u Jul 2023 10:%02u:37 +0200\n",
                   rnd(100), rnd(100), rnd(255), rnd(0xffffffu), 1 + rnd(28), rnd(60));
    buf_printf(b, "DKIM-Signature: v=1; a=rsa-sha256; c=relaxed/relaxed; d=example.org;\n"
                  " s=sel; h=from:to:subject:date; bh=%08X%08X=;\n b=%08X%08X%08X%08X\n",
               rnd(1u << 30), rnd(1u << 30), rnd(1u << 30), rnd(1u << 30), rnd(1u << 30),
               rnd(1u << 30));
    if (nm[0])
        buf_printf(b, "From: %s <user%u@example.org>\n", nm, i);
    else
        buf_printf(b, "From: user%u@example.org\n", i);
    buf_printf(b, "To: me@example.org, \"Team\" <team@example.org>\n");
    if (rnd(3) == 0)
        buf_printf(b, "Cc: other@example.net\n");
    buf_printf(b, "Subject: %s %u\n", subj[rnd(4)], i);
    buf_printf(b, "Date: %s, %u Jul 2023 %02u:%02u:%02u +0200\n", "Tue", 1 + rnd(28), rnd(24),
               rnd(60), rnd(60));
    buf_printf(b, "Message-ID: <%u.%08X@example.org>\n", i, rnd(1u << 30));
    if (rnd(2))
        buf_printf(b, "In-Reply-To: <%u.parent@example.org>\nReferences: <%u.root@example.org>\n"
                      " <%u.parent@example.org>\n", i, i, i);
    buf_printf(b, "MIME-Version: 1.0\nContent-Type: text/plain; charset=utf-8\n"
                  "Content-Transfer-Encoding: 8bit\nX-Mailer: bench\n\n");
}

/* What the message list needs from one header block, in one pass over the fields. */
static size_t summary(const char *m, size_t len)
{
    size_t pos = 0, work = 0;
    struct hdr_field f, from = { 0 }, subject = { 0 }, date = { 0 }, mid = { 0 }, irt = { 0 },
                        refs = { 0 };
    char *s, **ids;
    size_t n;
    time_t t;

    while (hdr_next(m, len, &pos, &f)) {
        switch (f.name_len) {
        case 4:
            if (!from.name && strncasecmp(f.name, "from", 4) == 0)
                from = f;
            else if (!date.name && strncasecmp(f.name, "date", 4) == 0)
                date = f;
            break;
        case 7:
            if (!subject.name && strncasecmp(f.name, "subject", 7) == 0)
                subject = f;
            break;
        case 10:
            if (!mid.name && strncasecmp(f.name, "message-id", 10) == 0)
                mid = f;
            else if (!refs.name && strncasecmp(f.name, "references", 10) == 0)
                refs = f;
            break;
        case 11:
            if (!irt.name && strncasecmp(f.name, "in-reply-to", 11) == 0)
                irt = f;
            break;
        }
    }
    s = addr_display(from.value ? from.value : "", from.value_len);
    work += strlen(s);
    free(s);
    s = hdr_decode(subject.value ? subject.value : "", subject.value_len);
    work += strlen(s);
    free(s);
    if (hdr_parse_date(date.value ? date.value : "", date.value_len, &t) == 0)
        work++;
    s = hdr_msgid(mid.value ? mid.value : "", mid.value_len);
    work += s != NULL;
    free(s);
    n = hdr_msgids(refs.value ? refs.value : "", refs.value_len, &ids);
    hdr_msgids_free(ids, n);
    work += n;
    n = hdr_msgids(irt.value ? irt.value : "", irt.value_len, &ids);
    hdr_msgids_free(ids, n);
    return work + n;
}

/* ~10 MB: a long text/plain (QP, Latin-1), an HTML alternative, a base64 attachment. */
static void gen_big(struct buf *b)
{
    buf_adds(b, "From: Big Sender <big@example.org>\nTo: me@example.org\n"
                "Subject: =?utf-8?q?a_big_message?=\nDate: Tue, 1 Jul 2023 10:00:00 +0200\n"
                "MIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=\"outer\"\n\n"
                "--outer\nContent-Type: multipart/alternative; boundary=\"alt\"\n\n--alt\n"
                "Content-Type: text/plain; charset=iso-8859-1\n"
                "Content-Transfer-Encoding: quoted-printable\n\n");
    while (b->len < 4 * 1024 * 1024)
        buf_adds(b, "Lorem ipsum dolor sit amet, consectetur adipiscing elit, caf=E9 cr=E8me =\n"
                    "br=FBl=E9e; sed do eiusmod tempor incididunt ut labore et dolore magna.\n");
    buf_adds(b, "--alt\nContent-Type: text/html; charset=utf-8\n\n<html><body>\n");
    while (b->len < 6 * 1024 * 1024)
        buf_adds(b, "<p>Lorem <b>ipsum</b> dolor sit amet, <a href=\"https://example.org/x\">"
                    "link</a> &amp; caf&eacute;.</p>\n");
    buf_adds(b, "</body></html>\n--alt--\n--outer\nContent-Type: application/octet-stream; "
                "name=\"data.bin\"\nContent-Transfer-Encoding: base64\n\n");
    while (b->len < 10 * 1024 * 1024)
        buf_adds(b, "QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVphYmNkZWZnaGlqa2xtbm9wcXJzdHV2d3h5\n");
    buf_adds(b, "--outer--\n");
}

/* ~10 MB of HTML as the only text: the converter's worst realistic case. */
static void gen_big_html(struct buf *b)
{
    buf_adds(b, "From: news@example.org\nSubject: html\nContent-Type: text/html; charset=utf-8"
                "\n\n<html><body>\n");
    while (b->len < 10 * 1024 * 1024)
        buf_adds(b, "<p>Lorem&nbsp;ipsum &amp; dolor <b>sit</b> amet, <a href=\"https://example"
                    ".org/x\">link</a> caf&eacute; &#8364; &hellip;</p>\n<table><tr><td>a</td>"
                    "<td>b</td></tr></table>\n");
    buf_adds(b, "</body></html>\n");
}

int main(int argc, char **argv)
{
    unsigned nblocks = 100000;
    struct buf all = BUF_INIT, big = BUF_INIT, out = BUF_INIT;
    size_t *off, work = 0;
    double t0, t_iter, t_sum, t_render, best_render = 1e9;
    const char *write_big = NULL;
    int repeat = 1;

    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--write-big") == 0 && i + 1 < argc)
            write_big = argv[++i];
        else if (strcmp(argv[i], "-n") == 0 && i + 1 < argc)
            nblocks = (unsigned)atoi(argv[++i]);
        else if (strcmp(argv[i], "-r") == 0 && i + 1 < argc)
            repeat = atoi(argv[++i]);   /* repeat the summary pass (for profiling) */
    }
    off = calloc(nblocks + 1, sizeof *off);
    for (unsigned i = 0; i < nblocks; i++) {
        off[i] = all.len;
        gen_block(&all, i);
    }
    off[nblocks] = all.len;

    /* 1. Field iteration alone (what hdr_next costs). */
    t0 = now();
    for (unsigned i = 0; i < nblocks; i++) {
        size_t pos = 0, len = off[i + 1] - off[i];
        struct hdr_field f;
        const char *m = all.ptr + off[i];
        size_t hl = hdr_block_len(m, len);

        while (hdr_next(m, hl, &pos, &f))
            work += f.value_len;
    }
    t_iter = now() - t0;
    /* 2. The list summary: iterate + decode From, Subject, Date, ids. */
    t0 = now();
    for (int r = 0; r < repeat; r++)
        for (unsigned i = 0; i < nblocks; i++)
            work += summary(all.ptr + off[i], off[i + 1] - off[i]);
    t_sum = (now() - t0) / repeat;
    printf("(times are CPU time of the process)\n");
    printf("header blocks: %u, %.1f MB, average %zu bytes\n", nblocks, all.len / 1e6,
           all.len / nblocks);
    printf("iterate fields:     %.3f s total, %.2f us per block\n", t_iter, t_iter * 1e6 / nblocks);
    printf("list summary:       %.3f s total, %.2f us per block\n", t_sum, t_sum * 1e6 / nblocks);

    gen_big(&big);
    if (write_big) {
        FILE *f = fopen(write_big, "wb");
        if (!f || fwrite(big.ptr, 1, big.len, f) != big.len || fclose(f) != 0) {
            perror(write_big);
            return 1;
        }
    }
    for (int r = 0; r < 3; r++) {
        buf_reset(&out);
        t0 = now();
        render_message(big.ptr, big.len, NULL, &out, NULL);
        t_render = now() - t0;
        if (t_render < best_render)
            best_render = t_render;
    }
    printf("render %.1f MB message: %.3f s (best of 3), %.1f MB of text out\n", big.len / 1e6,
           best_render, out.len / 1e6);
    buf_reset(&big);
    gen_big_html(&big);
    best_render = 1e9;
    for (int r = 0; r < 3; r++) {
        buf_reset(&out);
        t0 = now();
        render_message(big.ptr, big.len, NULL, &out, NULL);
        t_render = now() - t0;
        if (t_render < best_render)
            best_render = t_render;
    }
    printf("render %.1f MB HTML-only message: %.3f s (best of 3), %.1f MB of text out\n",
           big.len / 1e6, best_render, out.len / 1e6);
    fprintf(stderr, "(checksum %zu)\n", work);
    buf_free(&all);
    buf_free(&big);
    buf_free(&out);
    free(off);
    return 0;
}

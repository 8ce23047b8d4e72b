/* libFuzzer target: SMTP replies (line by line, as the session feeds them), EHLO keywords,
 * the DATA encoder's invariants, the queue's state-file and acceptance-journal parsers. */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "tern/queue.h"
#include "tern/smtp.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *p = (const char *)data, *end = p + size;
    struct smtp_reply r;
    struct queue_entry q;
    struct buf b = BUF_INIT;
    struct err e;
    char out[300];

    smtp_reply_init(&r);
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        size_t n = nl ? (size_t)(nl - p) : (size_t)(end - p);
        size_t len = n > 0 && p[n - 1] == '\r' ? n - 1 : n;
        int rc = smtp_reply_feed(&r, p, len, &e);

        if (rc != 0) {
            unsigned caps;
            long sz;

            smtp_reply_format(&r, out, sizeof out);
            if (strlen(out) >= sizeof out)
                abort();
            smtp_parse_ehlo(&r, &caps, &sz);
            smtp_reply_reset(&r);
        }
        p += n + (nl ? 1 : 0);
    }
    smtp_reply_free(&r);

    /* DATA: no bare CR/LF and exactly one end marker, whatever the bytes */
    smtp_data_encode((const char *)data, size, &b);
    for (size_t i = 0; i < b.len; i++) {
        if (b.ptr[i] == '\r' && (i + 1 >= b.len || b.ptr[i + 1] != '\n'))
            abort();
        if (b.ptr[i] == '\n' && (i == 0 || b.ptr[i - 1] != '\r'))
            abort();
        if (i + 5 <= b.len - 3 && memcmp(b.ptr + i, "\r\n.\r\n", 5) == 0)
            abort();
    }
    if (b.len < 3 || memcmp(b.ptr + b.len - 3, ".\r\n", 3) != 0)
        abort();
    buf_free(&b);

    if (queue_state_parse((const char *)data, size, &q, &e) == 0) {
        char *t = queue_state_format(&q);
        struct queue_entry q2;

        if (queue_state_parse(t, strlen(t), &q2, &e) != 0)
            abort();
        /* what is read back is what was written (the DSN keys too) */
        {
            char *t2 = queue_state_format(&q2);

            if (strcmp(t, t2) != 0)
                abort();
            free(t2);
        }
        queue_entry_free(&q2);
        free(t);
        queue_entry_free(&q);
    }
    {
        struct queue_accepted *acc;
        size_t nacc;

        queue_journal_parse((const char *)data, size, &acc, &nacc);
        for (size_t i = 0; i < nacc; i++)
            if (acc[i].id[0] == '\0' || strchr(acc[i].id, '/') != NULL)
                abort();
        queue_accepted_free(acc, nacc);
    }
    return 0;
}

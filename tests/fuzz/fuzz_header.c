/* libFuzzer target: header iteration, decoding, addresses, dates, message ids, and the 7-bit
 * wire form of an 8-bit header (build_wire_headers). */
#include "config.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "tern/build.h"
#include "tern/header.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *s = (const char *)data;
    size_t len = hdr_block_len(s, size), pos = 0;
    struct hdr_field f;

    if (len > size)
        abort();
    /* The one-pass reading of the block's end and its Content- fields agrees with the
     * plain walk. */
    {
        static const char *const names[3] = {
            "content-type", "content-transfer-encoding", "content-disposition",
        };
        struct hdr_field found[3], g;

        if (hdr_block_find(s, size, names, 3, found) != len)
            abort();
        for (int k = 0; k < 3; k++) {
            int has = hdr_find(s, len, names[k], &g);

            if (has != (found[k].name != NULL) || (has && (g.name != found[k].name ||
                                                           g.value_len != found[k].value_len)))
                abort();
        }
    }
    while (hdr_next(s, len, &pos, &f)) {
        struct addr *a;
        size_t n;
        char **ids;
        time_t t;
        char *d;

        if (f.value < s || f.value + f.value_len > s + size || f.name_len == 0)
            abort();
        d = hdr_decode(f.value, f.value_len);
        /* Decoded values hold no control bytes. */
        for (char *p = d; *p; p++)
            if ((unsigned char)*p < 0x20 || *p == 0x7f)
                abort();
        free(d);
        addr_parse_list(f.value, f.value_len, &a, &n);
        for (size_t i = 0; i < n; i++)
            if (a[i].mailbox == NULL)
                abort();
        addr_list_free(a, n);
        free(addr_display(f.value, f.value_len));
        /* Splitting first, then decoding names: the decoded list never has more mailboxes
         * than the raw one (an encoded word never yields an address). */
        d = addr_list_decode(f.value, f.value_len);
        {
            struct addr *raw, *dec;
            size_t nraw, ndec, with_at = 0, dec_at = 0;

            addr_parse_list(f.value, f.value_len, &raw, &nraw);
            addr_parse_list(d, strlen(d), &dec, &ndec);
            for (size_t i = 0; i < nraw; i++)
                with_at += strchr(raw[i].mailbox, '@') != NULL;
            for (size_t i = 0; i < ndec; i++)
                dec_at += strchr(dec[i].mailbox, '@') != NULL;
            if (memmem(f.value, f.value_len, "=?", 2) != NULL && dec_at > with_at)
                abort();
            addr_list_free(raw, nraw);
            addr_list_free(dec, ndec);
        }
        free(d);
        hdr_parse_date(f.value, f.value_len, &t);
        n = hdr_msgids(f.value, f.value_len, &ids);
        hdr_msgids_free(ids, n);
        free(hdr_msgid(f.value, f.value_len));
    }
    hdr_find(s, size, "subject", &f);
    /* The wire form of the header: when rewritten, the header block is 7-bit and the rest
     * (the body) is the input's, byte for byte. */
    {
        struct buf out = BUF_INIT;
        struct err e;
        int rc = build_wire_headers(s, size, &out, &e);

        if (rc == 1) {
            size_t ol = hdr_block_len(out.ptr, out.len);

            for (size_t i = 0; i < ol; i++)
                if ((unsigned char)out.ptr[i] >= 0x80)
                    abort();
            if (out.len - ol < size - len || memcmp(out.ptr + out.len - (size - len),
                                                    s + len, size - len) != 0)
                abort();
        } else if (rc != 0 && (rc != -1 || e.cls != ERR_PERM)) {
            abort();
        }
        buf_free(&out);
    }
    return 0;
}

/* libFuzzer target: POP3 reply parsing (status, CAPA, LIST, UIDL lines) and the multi-line body
 * decoder, which must give the same bytes however the network splits its input. */
#include "config.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "tern/pop3.h"

static size_t decode_all(const char *in, size_t n, size_t chunk, char *out, int *done)
{
    struct pop3_body b;
    size_t o = 0, i = 0;

    pop3_body_init(&b);
    while (i < n && !b.done) {
        size_t len = n - i < chunk ? n - i : chunk, got = 0;
        size_t used = pop3_body_decode(&b, in + i, len, out + o, &got);

        if (used > len || got > used + 1)
            abort();
        if (used < len && !b.done)
            abort();
        i += used;
        o += got;
    }
    *done = b.done;
    return o;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *s = (const char *)data;
    size_t chunk;
    char *out1, *out2;
    size_t o1, o2;
    int d1, d2;

    for (size_t i = 0; i < size;) {
        const char *nl = memchr(s + i, '\n', size - i);
        size_t len = nl ? (size_t)(nl - (s + i)) : size - i;
        struct err e;
        unsigned long num;
        unsigned long long sz;
        char uidl[POP3_UIDL_MAX + 1];

        if (pop3_parse_status("fuzz", "CMD", s + i, len, ERR_PERM, &e) < 0 &&
            memchr(e.msg, '\n', strlen(e.msg)) != NULL)
            abort();   /* a server's words must never carry a line break into a message */
        (void)pop3_parse_capa(s + i, len);
        if (pop3_parse_uidl_line(s + i, len, &num, uidl) == 0) {
            size_t ul = strlen(uidl);

            if (num == 0 || ul == 0 || ul > POP3_UIDL_MAX)
                abort();
            for (size_t k = 0; k < ul; k++)   /* stored in a text file: printable, no space */
                if ((unsigned char)uidl[k] < 0x21 || (unsigned char)uidl[k] > 0x7e)
                    abort();
        }
        (void)pop3_parse_list_line(s + i, len, &num, &sz);
        i += len + 1;
    }
    if (size == 0)
        return 0;
    chunk = (size_t)data[0] % 7 + 1;
    out1 = malloc(size + 1);
    out2 = malloc(size + 1);
    o1 = decode_all(s, size, size, out1, &d1);
    o2 = decode_all(s, size, chunk, out2, &d2);
    if (o1 != o2 || d1 != d2 || memcmp(out1, out2, o1) != 0 || o1 > size)
        abort();
    free(out1);
    free(out2);
    return 0;
}

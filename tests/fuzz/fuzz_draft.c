/* libFuzzer target: reading an edited draft back and building the message from it; making
 * any message fit SMTP (build_wire_safe). */
#include "config.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "tern/build.h"

/* What build_wire_safe promises when it rewrites: no NUL, no line over 998 octets. */
static void check_wire(const char *p, size_t n)
{
    size_t line = 0;

    for (size_t i = 0; i < n; i++) {
        if (p[i] == '\n')
            line = 0;
        else if (p[i] == '\0' || (p[i] != '\r' && ++line > 998))
            abort();
    }
}

static void wire(const char *p, size_t n)
{
    for (int allow = 0; allow < 2; allow++) {
        struct buf out = BUF_INIT;
        struct err e;

        if (build_wire_safe(p, n, allow, &out, &e) == 1)
            check_wire(out.ptr, out.len);
        buf_free(&out);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct build_opts o = { .date = 1795000000, .domain = "fuzz.example", .flowed = size & 1 };
    struct draft d;
    struct buf out = BUF_INIT;
    struct err e;

    draft_init(&d);
    wire((const char *)data, size);
    if (draft_from_text(&d, (const char *)data, size, &e) == 0) {
        if (build_message(&d, &o, &out, &e) == 0) {
            wire(out.ptr, out.len);
            draft_to_text(&d, &out);
        }
    }
    draft_free(&d);
    buf_free(&out);
    return 0;
}

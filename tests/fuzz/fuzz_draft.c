/* libFuzzer target: reading an edited draft back and building the message from it. */
#include "config.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "tern/build.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct build_opts o = { .date = 1795000000, .domain = "fuzz.example", .flowed = size & 1 };
    struct draft d;
    struct buf out = BUF_INIT;
    struct err e;

    draft_init(&d);
    if (draft_from_text(&d, (const char *)data, size, &e) == 0) {
        if (build_message(&d, &o, &out, &e) == 0)
            draft_to_text(&d, &out);
    }
    draft_free(&d);
    buf_free(&out);
    return 0;
}

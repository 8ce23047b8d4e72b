/* libFuzzer target: the index cache reader (structure checks, offsets, strings) and the
 * sort and thread views over whatever it accepted. The checksum is skipped so that the
 * fuzzer reaches the record parsing. */
#include "config.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "tern/index.h"
#include "tern/thread.h"
#include "tern/view.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct idx *x = idx_new_empty("/nonexistent/tern-fuzz");
    struct err e;

    if (idx_load_image(x, data, size, false, &e) == 0) {
        struct idx_view v;
        struct thread_view tv;
        size_t total = 0;
        char pre[128];

        for (size_t i = 0; i < idx_count(x); i++) {
            const struct idx_msg *m = idx_msg(x, i);

            total += strlen(m->name) + strlen(m->from) + strlen(m->to) + strlen(m->subject) +
                     strlen(m->msgid) + strlen(m->in_reply_to) + strlen(m->references);
        }
        idx_view_init(&v);
        idx_view_build(x, &v, IDX_SORT_SUBJECT, false, NULL);
        thread_build(x, v.v, v.n, IDX_SORT_DATE, false, &tv);
        for (size_t r = 0; r < tv.n; r++)
            total += strlen(thread_prefix(&tv, r, pre, sizeof pre));
        thread_view_free(&tv);
        idx_view_free(&v);
        (void)total;
    }
    idx_close(x);
    return 0;
}

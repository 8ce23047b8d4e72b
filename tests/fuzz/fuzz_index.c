/* libFuzzer target: the index cache reader (structure checks, offsets, strings, entries
 * filled one by one, the names' hashes, a record's file name read on its own as the watch
 * does), the journal replayed onto it, and the sort, limit and thread views over whatever
 * was accepted. Checksums are skipped so that the fuzzer reaches the parsing.
 * Input: the cache image, optionally followed by a journal: when the input starts with
 * "J" and a 4-byte length L, the L bytes after it are the cache and the rest the journal. */
#include "config.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../src/store/index_int.h"
#include "tern/index.h"
#include "tern/thread.h"
#include "tern/view.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct idx *x = idx_new_empty("/nonexistent/tern-fuzz");
    struct err e;
    size_t base = size, jlen = 0;
    char *j = NULL;

    if (size >= 5 && data[0] == 'J') {
        uint32_t l;

        memcpy(&l, data + 1, 4);
        if (l <= size - 5) {
            base = l;
            jlen = size - 5 - l;
            data += 5;
        }
    }
    if (idx_load_image(x, data, base, false, &e) == 0) {
        struct idx_view v;
        struct idx_limit *l;
        struct thread_view tv;
        size_t total = 0;
        char pre[128];

        if (jlen) {
            j = malloc(jlen);
            memcpy(j, data + base, jlen);
            (void)idx_replay_journal(x, j, jlen, &e);
        }
        if (x->nmapped > 0) {
            uint64_t *hh = malloc(x->nmapped * sizeof *hh);
            uint32_t *hc = malloc(x->nmapped * sizeof *hc);

            if (hh && hc)
                (void)idx_file_hashes(x, hh, hc);
            free(hc);
            free(hh);
        }
        for (size_t i = 0; i < idx_count(x); i++) {
            char name[64];
            bool in_new;

            if (idx_peek_name(x, i, name, sizeof name, &in_new))
                total += strlen(name) + in_new;
        }
        for (size_t i = 0; i < idx_count(x); i++) {
            const struct idx_msg *m = idx_msg(x, i);

            total += strlen(m->name) + strlen(m->from) + strlen(m->to) + strlen(m->subject) +
                     strlen(m->msgid) + strlen(m->in_reply_to) + strlen(m->references) +
                     strlen(m->from_addr) + strlen(m->to_addrs);
        }
        idx_view_init(&v);
        idx_view_build(x, &v, IDX_SORT_DATE, false, NULL);
        idx_view_build(x, &v, IDX_SORT_SUBJECT, false, NULL);
        if (idx_limit_compile("from:a to:é subject:Σ x", &l, &e) == 0) {
            idx_view_build(x, &v, IDX_SORT_DATE, true, l);
            idx_limit_free(l);
        }
        idx_view_build(x, &v, IDX_SORT_DATE, false, NULL);
        thread_build(x, v.v, v.n, IDX_SORT_DATE, false, &tv);
        for (size_t r = 0; r < tv.n; r++)
            total += strlen(thread_prefix(&tv, r, pre, sizeof pre));
        thread_view_free(&tv);
        idx_view_free(&v);
        (void)total;
    }
    idx_close(x);
    free(j);
    return 0;
}

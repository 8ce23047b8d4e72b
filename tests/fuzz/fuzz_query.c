/* libFuzzer target: the parser of query_command output. */
#include "config.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "tern/query.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct query_result *r;
    size_t n = query_parse((const char *)data, size, &r);

    for (size_t i = 0; i < n; i++) {
        /* Results are non-empty, hold no line breaks and come from the input. */
        if (r[i].address[0] == '\0' || strpbrk(r[i].address, "\r\n\t") ||
            strpbrk(r[i].name, "\r\n\t") || strlen(r[i].address) > size)
            abort();
    }
    query_results_free(r, n);
    return 0;
}

/* libFuzzer target: the HTML to text converter (bounded output, no crash, valid input
 * handling at every width). */
#include "config.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "tern/buf.h"
#include "tern/render.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *s = malloc(size ? size : 1);
    struct buf out = BUF_INIT, safe = BUF_INIT;
    int width = size > 0 ? data[0] % 100 : 0;

    memcpy(s, data, size);
    render_html(s, size, width, &out);
    /* Output stays proportional to input (no blow-up from nesting or entities). */
    if (out.len > size * 32 + 4096)
        abort();
    render_sanitize(out.ptr ? out.ptr : "", out.len, &safe);
    buf_free(&out);
    buf_free(&safe);
    free(s);
    return 0;
}

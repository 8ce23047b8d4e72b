/* libFuzzer target: RFC 2047 words and RFC 2231 parameters; output must be valid UTF-8. */
#include "config.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "tern/buf.h"
#include "tern/codec.h"
#include "tern/encword.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *s = (const char *)data;
    struct buf b = BUF_INIT;
    char *p;

    ew_decode(s, size, &b);
    if (!codec_utf8_valid(b.ptr ? b.ptr : "", b.len))
        abort();
    buf_free(&b);
    p = mime_param(s, size, "filename");
    if (p && !codec_utf8_valid(p, strlen(p)))
        abort();
    free(p);
    free(mime_value_token(s, size));
    /* The charset converter on its own, with the first line as the charset name. */
    {
        const char *nl = memchr(s, '\n', size);
        if (nl && nl - s < 40) {
            char cs[41];
            memcpy(cs, s, (size_t)(nl - s));
            cs[nl - s] = '\0';
            codec_to_utf8(cs, nl + 1, size - (size_t)(nl + 1 - s), &b);
            if (!codec_utf8_valid(b.ptr ? b.ptr : "", b.len))
                abort();
            buf_free(&b);
        }
    }
    return 0;
}

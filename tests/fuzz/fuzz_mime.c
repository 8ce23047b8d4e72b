/* libFuzzer target: the MIME tree walker, the whole renderer and the pager's link scanner;
 * the rendered text must be safe for a terminal. */
#include "config.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "tern/buf.h"
#include "tern/message.h"
#include "tern/mime.h"
#include "tern/render.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* Copy to an exact-size heap block so ASan sees any read past the end. */
    char *s = malloc(size ? size : 1);
    struct mime_tree t;
    struct buf out = BUF_INIT;
    struct render_attachment *a;
    size_t n;

    memcpy(s, data, size);
    mime_parse(s, size, &t);
    if (t.n == 0 || t.n > MIME_MAX_PARTS + 1)
        abort();
    for (size_t i = 0; i < t.n; i++) {
        const struct mime_part *p = &t.parts[i];
        if (p->body < s || p->body + p->body_len > s + size || p->depth > MIME_MAX_DEPTH + 1)
            abort();
        if (!mime_is_multipart(p) && i < 8) {
            mime_text(p, &out);
            buf_reset(&out);
        }
    }
    mime_free(&t);
    render_message(s, size, NULL, &out, NULL);
    for (size_t i = 0; i < out.len; i++) {
        unsigned char c = (unsigned char)out.ptr[i];
        if ((c < 0x20 && c != '\n' && c != '\t') || c == 0x7f)
            abort();
        if (c == 0xc2 && i + 1 < out.len && (unsigned char)out.ptr[i + 1] < 0xa0)
            abort();
    }
    {
        char **urls;
        size_t nu = message_urls(out.ptr ? out.ptr : "", out.len, &urls);

        for (size_t i = 0; i < nu; i++)
            if (strlen(urls[i]) < 7 || memchr(urls[i], ' ', strlen(urls[i])))
                abort();
        message_urls_free(urls, nu);
    }
    buf_free(&out);
    n = render_attachments(s, size, &a);
    if (n > 0) {
        char *name;
        render_part(s, size, a[n - 1].number, &out, &name, NULL);
        free(name);
        buf_free(&out);
    }
    render_attachments_free(a, n);
    free(s);
    return 0;
}

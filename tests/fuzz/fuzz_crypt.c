/* libFuzzer target: the crypto structure walk (container detection on every part, list
 * marks, the renderer's walk over signed and encrypted parts with CMS parsing of hostile
 * DER, envelope marks) and inline PGP armor detection. gpg is never started (no_gpg). */
#include "config.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "tern/crypt.h"
#include "tern/header.h"
#include "tern/mime.h"
#include "tern/render.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *s = malloc(size ? size : 1);
    struct mime_tree t;
    struct hdr_field f;
    size_t a, b;

    memcpy(s, data, size);
    if (crypt_armor_find(s, size, &a, &b) != CRYPT_ARMOR_NONE && (a >= b || b > size))
        abort();
    mime_parse(s, size, &t);
    for (size_t i = 0; i < t.n; i++) {
        const struct mime_part *p = &t.parts[i];
        const char *bytes;
        size_t n;

        if (crypt_kind_of(p) == CRYPT_SMIME_OPAQUE)
            (void)crypt_smime_enveloped(p);
        crypt_part_bytes(p, &bytes, &n);
        if (bytes < s || bytes + n > s + size)
            abort();
    }
    if (hdr_find(t.parts[0].hdr, t.parts[0].hdr_len, "content-type", &f) == 1 &&
        crypt_mark(f.value, f.value_len) > (CRYPT_MARK_SIGNED | CRYPT_MARK_ENCRYPTED))
        abort();
    mime_free(&t);
    {
        struct crypt_opts co = { .no_gpg = true };
        struct render_opts o = { .crypt = &co };
        struct buf out = BUF_INIT;

        render_message(s, size, &o, &out, NULL);
        for (size_t i = 0; i < out.len; i++) {
            unsigned char c = (unsigned char)out.ptr[i];
            if ((c < 0x20 && c != '\n' && c != '\t') || c == 0x7f)
                abort();
        }
        (void)crypt_scan(s, size, NULL);
        buf_free(&out);
    }
    free(s);
    return 0;
}

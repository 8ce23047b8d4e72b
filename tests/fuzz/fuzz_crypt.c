/* libFuzzer target: the crypto structure walk (container detection on every part, list
 * marks, the renderer's walk over signed and encrypted parts with CMS parsing of hostile
 * DER, envelope marks), the parts of what came out of an envelope (kept, listed, found by
 * number, the same on a second render) and inline PGP armor detection. gpg is never started
 * (no_gpg). */
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
    {
        struct crypt_opts co = { .no_gpg = true };
        struct render_opts o = { .crypt = &co };
        struct buf out = BUF_INIT, again = BUF_INIT;
        struct render_attachment *at;
        size_t na;

        render_message(s, size, &o, &out, NULL);
        for (size_t i = 0; i < out.len; i++) {
            unsigned char c = (unsigned char)out.ptr[i];
            if ((c < 0x20 && c != '\n' && c != '\t') || c == 0x7f)
                abort();
        }
        /* Kept: the same text twice, and every listed number found. */
        o.keep = render_keep_new();
        buf_reset(&out);
        render_message_tree(&t, &o, &out, NULL);
        render_message_tree(&t, &o, &again, NULL);
        if (out.len != again.len || (out.len && memcmp(out.ptr, again.ptr, out.len) != 0))
            abort();
        na = render_attachments_tree(&t, o.keep, &at);
        for (size_t i = 0; i < na; i++) {
            struct buf part = BUF_INIT;

            if (render_find_part(&t, o.keep, at[i].number) == NULL ||
                render_part_tree(&t, o.keep, at[i].number, &part, NULL, NULL) != 0)
                abort();
            buf_free(&part);
        }
        render_attachments_free(at, na);
        render_keep_free(o.keep);
        (void)crypt_scan(s, size, NULL);
        buf_free(&out);
        buf_free(&again);
    }
    mime_free(&t);
    free(s);
    return 0;
}

/* RFC 2047 encoded words (B and Q, any charset, adjacent-word rules, split characters) and
 * RFC 2231 / RFC 2045 MIME parameters with continuations and charsets. */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "tern/codec.h"
#include "tern/encword.h"
#include "tern/str.h"
#include "tern/xalloc.h"

static int is_wsp(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/*
 * Try to read an encoded word at in[0..n). On success fill the charset span, the encoding
 * letter and the payload span, and return the word's length; else 0.
 */
static size_t ew_scan(const char *in, size_t n, const char **cs, size_t *cslen, char *enc,
                      const char **text, size_t *textlen)
{
    size_t i = 2, j;

    if (n < 8 || in[0] != '=' || in[1] != '?')
        return 0;
    while (i < n && i < 2 + 64 && in[i] != '?' && !is_wsp(in[i]))
        i++;
    if (i >= n || in[i] != '?' || i == 2)
        return 0;
    *cs = in + 2;
    *cslen = i - 2;
    if (i + 2 >= n || in[i + 2] != '?')
        return 0;
    *enc = in[i + 1];
    if (*enc != 'B' && *enc != 'b' && *enc != 'Q' && *enc != 'q')
        return 0;
    j = i + 3;
    /* The payload ends at the first "?=". It should hold no white space, but some mailers put
     * spaces in Q words; a line end, though, means this was not an encoded word. */
    for (; j + 1 < n; j++) {
        if (in[j] == '?' && in[j + 1] == '=')
            break;
        if (in[j] == '\n' || in[j] == '\r' || j - i > 2000)
            return 0;
    }
    if (j + 1 >= n)
        return 0;
    *text = in + i + 3;
    *textlen = j - (i + 3);
    return j + 2;
}

/* Adjacent words in one charset accumulate their bytes here until the run ends. */
struct ew_state {
    struct buf raw;
    char cs[65];
    int open;
};

static void ew_flush(struct ew_state *st, struct buf *out)
{
    if (st->open) {
        codec_to_utf8(st->cs, st->raw.ptr ? st->raw.ptr : "", st->raw.len, out);
        buf_reset(&st->raw);
        st->open = 0;
    }
}

static void literal(const char *s, size_t n, struct buf *out)
{
    codec_to_utf8(NULL, s, n, out);
}

void ew_decode(const char *in, size_t n, struct buf *out)
{
    struct ew_state st = { BUF_INIT, "", 0 };
    size_t i = 0, lit = 0;          /* literal text starts at lit */
    size_t ws_start = 0, ws_len = 0;
    int after_word = 0;             /* the last token was an encoded word */

    /* Fast path: nothing encoded. */
    if (n < 8 || memchr(in, '=', n) == NULL || str_casemem(in, n, "=?") == NULL) {
        literal(in, n, out);
        return;
    }
    while (i < n) {
        const char *cs, *text;
        size_t cslen, textlen, wl;
        char enc;

        if (in[i] == '=' && (wl = ew_scan(in + i, n - i, &cs, &cslen, &enc, &text, &textlen))) {
            size_t mark = st.raw.len;
            char csname[65];
            size_t bad = 0;

            memcpy(csname, cs, cslen);
            csname[cslen] = '\0';
            if (after_word && lit == ws_start && ws_start + ws_len == i) {
                /* Only white space since the last encoded word: it is dropped. */
            } else {
                literal(in + lit, i - lit, out);
            }
            if (st.open && str_casecmp(st.cs, csname) != 0)
                ew_flush(&st, out);
            if (!st.open) {
                memcpy(st.cs, csname, cslen + 1);
                st.open = 1;
            }
            mark = st.raw.len;
            if (enc == 'B' || enc == 'b')
                bad = codec_b64_decode(text, textlen, &st.raw);
            else
                codec_qp_decode(text, textlen, true, &st.raw);
            if (bad > 0 && st.raw.len == mark && textlen > 0) {
                /* Nothing decodable: show the word as it was rather than lose it. */
                ew_flush(&st, out);
                literal(in + i, wl, out);
            }
            i += wl;
            lit = i;
            after_word = 1;
            ws_start = i;
            ws_len = 0;
            continue;
        }
        if (is_wsp(in[i])) {
            size_t j = i;

            while (j < n && is_wsp(in[j]))
                j++;
            if (after_word && lit == i) {
                ws_start = i;
                ws_len = j - i;
            }
            i = j;
            continue;
        }
        /* Ordinary text: ends any run of encoded words. */
        if (after_word) {
            ew_flush(&st, out);
            after_word = 0;
        }
        i++;
    }
    ew_flush(&st, out);
    literal(in + lit, n - lit, out);
    buf_free(&st.raw);
}

/* ---- MIME parameters ---- */

char *mime_value_token(const char *value, size_t len)
{
    size_t i = 0, j;
    char *s;

    while (i < len && is_wsp(value[i]))
        i++;
    j = i;
    while (j < len && value[j] != ';' && !is_wsp(value[j]) && value[j] != '(')
        j++;
    s = xmemdup0(value + i, j - i);
    for (char *p = s; *p; p++)
        if (*p >= 'A' && *p <= 'Z')
            *p += 32;
    return s;
}

#define MAX_SEGMENTS 100

struct segment {
    char *val;        /* raw value (unquoted) */
    size_t len;
    int encoded;      /* had a trailing '*': percent-encoded */
};

static void pct_decode(const char *s, size_t n, struct buf *out)
{
    for (size_t i = 0; i < n; i++) {
        int h, l;

        if (s[i] == '%' && i + 2 < n && (h = str_hexval(s[i + 1])) >= 0 &&
            (l = str_hexval(s[i + 2])) >= 0) {
            buf_addc(out, (char)(h * 16 + l));
            i += 2;
        } else {
            buf_addc(out, s[i]);
        }
    }
}

/* Read the next "name[*N][*]=value" parameter at value[*pos] whose name starts with want
 * (wl bytes, any case; the others are passed over without copying their values). Returns 0
 * at the end. */
static int next_param(const char *v, size_t len, size_t *pos, const char *want, size_t wl,
                      const char **name, size_t *name_len, struct buf *val)
{
    size_t i = *pos;

    for (;;) {
        /* Skip to after the next ';' (the first call starts at the main value). */
        int q = 0;

        while (i < len && (q || v[i] != ';')) {
            if (v[i] == '"')
                q = !q;
            else if (v[i] == '\\' && q && i + 1 < len)
                i++;
            i++;
        }
        if (i >= len)
            return 0;
        i++;
        while (i < len && is_wsp(v[i]))
            i++;
        *name = v + i;
        while (i < len && v[i] != '=' && v[i] != ';' && !is_wsp(v[i]))
            i++;
        *name_len = (size_t)(v + i - *name);
        while (i < len && is_wsp(v[i]))
            i++;
        if (i >= len || v[i] != '=' || *name_len == 0) {
            if (i < len && v[i] != ';')
                continue;
            if (i >= len)
                return 0;
            continue;
        }
        i++;
        while (i < len && is_wsp(v[i]))
            i++;
        if (*name_len < wl || str_ncasecmp(*name, want, wl) != 0) {
            /* another parameter: its value is passed over as it is read below */
            if (i < len && v[i] == '"') {
                for (i++; i < len && v[i] != '"'; i++)
                    if (v[i] == '\\' && i + 1 < len)
                        i++;
                if (i < len)
                    i++;
            } else {
                while (i < len && v[i] != ';')
                    i++;
            }
            continue;
        }
        buf_reset(val);
        if (i < len && v[i] == '"') {
            i++;
            while (i < len && v[i] != '"') {
                if (v[i] == '\\' && i + 1 < len)
                    i++;
                if (v[i] != '\r' && v[i] != '\n')
                    buf_addc(val, v[i]);
                i++;
            }
            if (i < len)
                i++;
        } else {
            size_t s = i, e;

            while (i < len && v[i] != ';')
                i++;
            e = i;
            while (e > s && is_wsp(v[e - 1]))
                e--;
            for (size_t k = s; k < e; k++)
                if (v[k] != '\r' && v[k] != '\n')
                    buf_addc(val, v[k]);
        }
        buf_cstr(val);
        *pos = i;
        return 1;
    }
}

char *mime_param(const char *value, size_t len, const char *name)
{
    size_t nl = strlen(name), pos = 0, pn;
    const char *p;
    struct buf val = BUF_INIT, plain = BUF_INIT, raw = BUF_INIT, out = BUF_INIT;
    struct segment *seg = NULL;     /* made at the first continuation: most values have none */
    int have_plain = 0, have_ext = 0, have_seg = 0;
    char *ext_charset = NULL;
    char *result = NULL;

    while (next_param(value, len, &pos, name, nl, &p, &pn, &val)) {
        if (pn < nl || str_ncasecmp(p, name, nl) != 0)
            continue;
        if (pn == nl) {
            if (!have_plain) {
                buf_add(&plain, val.ptr, val.len);
                have_plain = 1;
            }
        } else if (p[nl] == '*' && pn == nl + 1) {
            if (!have_ext) {
                buf_reset(&raw);
                buf_add(&raw, val.ptr, val.len);
                have_ext = 1;
            }
        } else if (p[nl] == '*') {
            /* name*N or name*N*: a continuation */
            size_t k = nl + 1;
            long idx = 0;
            int digits = 0;

            while (k < pn && p[k] >= '0' && p[k] <= '9' && digits < 4) {
                idx = idx * 10 + (p[k] - '0');
                k++, digits++;
            }
            if (digits == 0 || idx >= MAX_SEGMENTS)
                continue;
            if (seg == NULL)
                seg = xcalloc(MAX_SEGMENTS, sizeof *seg);
            if (seg[idx].val)
                continue;
            if (k < pn && !(p[k] == '*' && k + 1 == pn))
                continue;
            seg[idx].val = xmemdup0(val.ptr, val.len);
            seg[idx].len = val.len;
            seg[idx].encoded = k < pn;
            have_seg = 1;
        }
    }
    if (have_seg && seg[0].val) {
        struct buf bytes = BUF_INIT;
        const char *charset = NULL;

        for (int k = 0; k < MAX_SEGMENTS && seg[k].val; k++) {
            const char *s = seg[k].val;
            size_t n = seg[k].len;

            if (k == 0 && seg[0].encoded) {
                const char *q1 = memchr(s, '\'', n);
                const char *q2 = q1 ? memchr(q1 + 1, '\'', n - (size_t)(q1 + 1 - s)) : NULL;

                if (q2) {
                    ext_charset = xmemdup0(s, (size_t)(q1 - s));
                    charset = ext_charset;
                    n -= (size_t)(q2 + 1 - s);
                    s = q2 + 1;
                }
            }
            if (seg[k].encoded)
                pct_decode(s, n, &bytes);
            else
                buf_add(&bytes, s, n);
        }
        codec_to_utf8(charset, bytes.ptr ? bytes.ptr : "", bytes.len, &out);
        buf_free(&bytes);
        result = buf_detach(&out);
    } else if (have_ext) {
        const char *s = raw.ptr;
        size_t n = raw.len;
        const char *q1 = memchr(s, '\'', n);
        const char *q2 = q1 ? memchr(q1 + 1, '\'', n - (size_t)(q1 + 1 - s)) : NULL;
        struct buf bytes = BUF_INIT;

        if (q2) {
            ext_charset = xmemdup0(s, (size_t)(q1 - s));
            n -= (size_t)(q2 + 1 - s);
            s = q2 + 1;
        }
        pct_decode(s, n, &bytes);
        codec_to_utf8(ext_charset, bytes.ptr ? bytes.ptr : "", bytes.len, &out);
        buf_free(&bytes);
        result = buf_detach(&out);
    } else if (have_plain) {
        ew_decode(plain.ptr ? plain.ptr : "", plain.len, &out);
        result = buf_detach(&out);
    }
    for (int k = 0; seg && k < MAX_SEGMENTS; k++)
        free(seg[k].val);
    free(seg);
    free(ext_charset);
    buf_free(&val);
    buf_free(&plain);
    buf_free(&raw);
    buf_free(&out);
    return result;
}

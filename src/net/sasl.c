/* SASL XOAUTH2 / OAUTHBEARER: building the response and reading the error challenge. */
#include "config.h"

#include <string.h>

#include <openssl/evp.h>

#include "tern/json.h"
#include "tern/sasl.h"
#include "tern/xalloc.h"

const char *sasl_mech_name(enum auth_mech mech)
{
    return mech == AUTH_OAUTHBEARER ? "OAUTHBEARER" : "XOAUTH2";
}

static void b64_append(struct buf *out, const char *p, size_t n)
{
    size_t need = 4 * ((n + 2) / 3) + 1;

    buf_reserve(out, need);
    EVP_EncodeBlock((unsigned char *)out->ptr + out->len, (const unsigned char *)p, (int)n);
    out->len += need - 1;
    out->ptr[out->len] = '\0';
}

/* RFC 5801 saslname: ',' and '=' escaped in the authzid. */
static void gs2_name(struct buf *b, const char *s)
{
    for (; *s; s++) {
        if (*s == ',')
            buf_adds(b, "=2C");
        else if (*s == '=')
            buf_adds(b, "=3D");
        else
            buf_addc(b, *s);
    }
}

void sasl_oauth_response(enum auth_mech mech, const char *user, const char *token,
                         const char *host, int port, struct buf *out)
{
    struct buf raw = BUF_INIT;

    if (mech == AUTH_OAUTHBEARER) {
        buf_adds(&raw, "n,a=");
        gs2_name(&raw, user);
        buf_printf(&raw, ",\001host=%s\001port=%d\001auth=Bearer %s\001\001", host, port, token);
    } else {
        buf_printf(&raw, "user=%s\001auth=Bearer %s\001\001", user, token);
    }
    b64_append(out, raw.ptr, raw.len);
    for (volatile char *p = raw.ptr; p && p < raw.ptr + raw.cap; p++)
        *p = '\0';
    buf_free(&raw);
}

const char *sasl_oauth_abort(enum auth_mech mech)
{
    return mech == AUTH_OAUTHBEARER ? "AQ==" : "";
}

/* Printable ASCII of s, bounded, into b. */
static void safe_add(struct buf *b, const char *s, size_t max)
{
    for (size_t i = 0; s[i] && i < max; i++)
        buf_addc(b, ((unsigned char)s[i] < 0x20 || (unsigned char)s[i] > 0x7e) ? '?' : s[i]);
}

void sasl_oauth_error(const char *b64, size_t n, char *out, size_t outsz)
{
    static const char *const fields[] = { "status", "error", "error_description", "scope",
                                          "schemes" };
    struct buf raw = BUF_INIT, txt = BUF_INIT;
    struct json *j = NULL;
    struct err e;
    int len;

    while (n > 0 && (b64[n - 1] == ' ' || b64[n - 1] == '\r' || b64[n - 1] == '\n'))
        n--;
    if (n == 0 || n % 4 != 0 || n > 8192 || strspn(b64, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklm"
                                                     "nopqrstuvwxyz0123456789+/=") < n) {
        snprintf(out, outsz, "no readable error detail");
        return;
    }
    buf_reserve(&raw, n);
    len = EVP_DecodeBlock((unsigned char *)raw.ptr, (const unsigned char *)b64, (int)n);
    if (len < 0) {
        snprintf(out, outsz, "no readable error detail");
        goto done;
    }
    /* EVP_DecodeBlock counts the padding (at most two '=', only at the end) as zero bytes */
    {
        size_t pad = 0;

        while (pad < n && b64[n - 1 - pad] == '=')
            pad++;
        if (pad > 2 || memchr(b64, '=', n - pad) != NULL || (size_t)len < pad) {
            snprintf(out, outsz, "no readable error detail");
            goto done;
        }
        len -= (int)pad;
    }
    raw.len = (size_t)len;
    j = json_parse(raw.ptr, raw.len, &e);
    if (j == NULL || json_type(j) != JSON_OBJ) {
        snprintf(out, outsz, "undecodable error detail");
        goto done;
    }
    for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++) {
        const char *v = json_get_str(j, fields[i]);

        if (v == NULL)
            continue;
        if (txt.len)
            buf_adds(&txt, ", ");
        buf_printf(&txt, "%s ", fields[i]);
        safe_add(&txt, v, 160);
    }
    snprintf(out, outsz, "%s", txt.len ? buf_cstr(&txt) : "empty error detail");
done:
    json_free(j);
    buf_free(&raw);
    buf_free(&txt);
}

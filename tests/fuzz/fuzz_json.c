/* libFuzzer target: the strict JSON reader and the SASL OAuth2 error decoder built on it. */
#include "config.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "tern/json.h"
#include "tern/sasl.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct err e;
    struct json *j = json_parse((const char *)data, size, &e);
    char out[300];
    long n;

    if (j != NULL) {
        (void)json_get_str(j, "access_token");
        (void)json_get_long(j, "expires_in", 0, 1L << 40, &n);
        for (size_t i = 0; i < json_len(j); i++)
            (void)json_str(json_at(j, i));
        json_free(j);
    }
    /* The same bytes as a base64 challenge (sasl_oauth_error wants a NUL-free string). */
    if (memchr(data, '\0', size) == NULL) {
        char *s = malloc(size + 1);

        if (s) {
            memcpy(s, data, size);
            s[size] = '\0';
            sasl_oauth_error(s, size, out, sizeof out);
            free(s);
        }
    }
    return 0;
}

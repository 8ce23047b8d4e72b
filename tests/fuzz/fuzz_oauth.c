/* libFuzzer target: what tern's OAuth2 client reads: the loopback redirect's query string
 * (from the network) and the token file. */
#include "config.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "tern/oauth.h"
#include "tern/secret.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *p = (const char *)data;
    char *v, *r, *a;
    long long x;

    v = oauth_query_get(p, size, "code");
    free(v);
    v = oauth_query_get(p, size, "state");
    free(v);
    oauth_tokens_parse(p, size, &r, &a, &x);
    secret_free(r);
    secret_free(a);
    return 0;
}

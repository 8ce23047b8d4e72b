/*
 * OAuth2 access tokens for XOAUTH2 / OAUTHBEARER: from oauth_token_command, or from tern's
 * own client (provider presets or explicit endpoints): the one-time authorization (device
 * flow, RFC 8628, or authorization code with PKCE, RFC 7636, and a loopback redirect), the
 * refresh token in a 0600 file, the access token cached with its expiry and refreshed.
 */
#ifndef TERN_OAUTH_H
#define TERN_OAUTH_H

#include <stdbool.h>
#include <stddef.h>

#include "tern/config.h"
#include "tern/err.h"

/* The endpoints of an account after applying its oauth_provider preset. Borrowed strings. */
struct oauth_endpoints {
    const char *auth_url, *token_url, *device_url, *scope;
};
void oauth_endpoints(const struct account *a, struct oauth_endpoints *ep);

/* True when the account has an oauth_token_command or a token endpoint (own or preset). */
bool oauth_configured(const struct account *a);
/* MAIL_ROOT/.tern/oauth/ACCOUNT: the refresh token and the cached access token (new string). */
char *oauth_token_path(const struct config *cfg, const struct account *a);
/*
 * An access token for the account (free with secret_free). refresh: the server refused the
 * last one, get a new one even if it has not expired (the command is simply run again).
 * ERR_AUTH naming `tern auth ACCOUNT` when there is no authorization yet or the refresh token
 * was refused; ERR_NET / ERR_TLS / ERR_PROTO for the endpoint.
 */
char *oauth_token(const struct config *cfg, const struct account *a, bool refresh,
                  struct err *e);

/* How `tern auth` talks to the user (library code never prints). */
struct oauth_ui {
    void (*say)(void *ctx, const char *line);
    void *ctx;
    const char *browser;         /* $BROWSER: use the browser flow; NULL: device flow */
};
/* Run the authorization once and store the tokens. */
int oauth_authorize(const struct config *cfg, const struct account *a, const struct oauth_ui *ui,
                    struct err *e);

/* ---- parsers, exposed for tests and fuzzing ---- */

/* The value of name in a query string ("a=1&b=2"), percent-decoded (new string), or NULL
 * when absent or when an escape is malformed or decodes to NUL. */
char *oauth_query_get(const char *q, size_t n, const char *name);
/* The token file's lines; a token with spaces or control characters is ignored. New
 * strings (free with secret_free) or NULL. */
void oauth_tokens_parse(const char *text, size_t n, char **refresh, char **access,
                        long long *expires);

#endif

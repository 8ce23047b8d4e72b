/*
 * The SASL OAuth2 mechanisms shared by POP3 and SMTP: XOAUTH2 (Google, Microsoft) and
 * OAUTHBEARER (RFC 7628): the client's initial response, and the JSON error challenge a
 * server sends when it refuses a token, turned into a short safe text.
 */
#ifndef TERN_SASL_H
#define TERN_SASL_H

#include <stddef.h>

#include "tern/buf.h"
#include "tern/config.h"

/* "XOAUTH2" or "OAUTHBEARER". */
const char *sasl_mech_name(enum auth_mech mech);
/*
 * Append the base64 initial response for mech (AUTH_XOAUTH2 or AUTH_OAUTHBEARER) to out.
 * host and port go into OAUTHBEARER's kvpairs. It holds the token: wipe it after use.
 */
void sasl_oauth_response(enum auth_mech mech, const char *user, const char *token,
                         const char *host, int port, struct buf *out);
/* What the client answers to an error challenge: "" (XOAUTH2) or base64 of ^A (RFC 7628). */
const char *sasl_oauth_abort(enum auth_mech mech);
/*
 * The error challenge (base64 of a JSON object such as {"status":"401","schemes":"bearer"}
 * or {"status":"invalid_token"}) as "status 401, error ..." in out (printable ASCII only).
 * Anything undecodable is reported as such, never copied raw.
 */
void sasl_oauth_error(const char *b64, size_t n, char *out, size_t outsz);

#endif

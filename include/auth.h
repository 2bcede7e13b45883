/*
 * auth.h - the command bearer token (--command-token-file), the
 * "Authorization: Bearer" syntax it shares with JWTs (jwtauth.h), and the
 * principal a request acts as (API.md "Authorization").
 */
#ifndef CQRSD_AUTH_H
#define CQRSD_AUTH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "principal.h"

void auth_anonymous(struct principal *p);
void auth_admin(struct principal *p);
/* customer_id >= 1 */
void auth_customer(struct principal *p, int64_t customer_id);

/*
 * The credentials of an Authorization header value of the Bearer scheme
 * (RFC 6750 2.1): "Bearer" in any case, one or more spaces, a token68
 * ([A-Za-z0-9._~+/-]+ then any '='), nothing after. A pointer into
 * authorization and its length in *len, or NULL (no header, another scheme,
 * no token, a character outside token68, anything after it).
 */
const char *auth_bearer(const char *authorization, size_t *len);
/*
 * Does the header name the Bearer scheme ("Bearer" in any case, then a space
 * or the end)? Such a header carries a token, good or not; a header of
 * another scheme carries no credentials of ours.
 */
bool auth_scheme_bearer(const char *authorization);

/*
 * Load the token from path (before threads start). The file must not be
 * readable by others and must hold one non-empty line of token68 characters
 * (what a Bearer header can carry). -1 with a message.
 */
int auth_load(const char *path, char *err, size_t errlen);
/* Re-read the file (SIGHUP); the old token stays on failure. */
int auth_reload(char *err, size_t errlen);
/* Is a token configured? */
bool auth_enabled(void);
/* Is <token, len> (from auth_bearer) the command token? false when none is configured. */
bool auth_token_matches(const char *token, size_t len);
void auth_release(void);

#endif

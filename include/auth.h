/* auth.h - the command bearer token (--command-token-file) */
#ifndef CQRSD_AUTH_H
#define CQRSD_AUTH_H

#include <stdbool.h>
#include <stddef.h>

/*
 * Load the token from path (before threads start). The file must not be
 * readable by others and must hold one non-empty line. -1 with a message.
 */
int auth_load(const char *path, char *err, size_t errlen);
/* Re-read the file (SIGHUP); the old token stays on failure. */
int auth_reload(char *err, size_t errlen);
/* Is a token configured? */
bool auth_enabled(void);
/* Does this Authorization header carry the token? (constant time in the token) */
bool auth_check(const char *authorization);
/*
 * 16 hex characters naming the current token (to scope idempotency keys), ""
 * if none: a copy owned by the calling thread, good until its next call.
 */
const char *auth_scope(void);
void auth_release(void);

#endif

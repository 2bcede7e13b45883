/*
 * jwtauth.h - JWT bearer tokens (--jwt-key-file, --jwt-algorithm,
 * --jwt-issuer, --jwt-audience; API.md "Authorization"): the key, its
 * reload on SIGHUP, verification into a principal, a cache of verified
 * tokens.
 *
 * Not jwt.h: that is libjwt's header, which -Iinclude would hide, and jwt_
 * is libjwt's prefix.
 *
 * A token is accepted when all of these hold, in this order (the first that
 * fails is the status):
 *   - it is at most JWTAUTH_MAX_TOKEN bytes: three non-empty base64url parts
 *     (no padding), the header and the claims JSON objects without duplicate
 *     members, "typ" absent or "JWT", no "crit"            (JWTAUTH_MALFORMED)
 *   - the header's "alg" is exactly the configured algorithm: never "none",
 *     never another one, not even in another case           (JWTAUTH_ALGORITHM)
 *   - libjwt verifies the signature with the configured key (JWTAUTH_SIGNATURE),
 *     and reports the configured algorithm                  (JWTAUTH_ALGORITHM)
 *   - "exp" is a number (NumericDate)                       (JWTAUTH_CLAIMS)
 *     and now <= exp + JWTAUTH_SKEW                         (JWTAUTH_EXPIRED)
 *   - "nbf", when present, is a number                      (JWTAUTH_CLAIMS)
 *     and nbf <= now + JWTAUTH_SKEW                         (JWTAUTH_NOT_YET_VALID)
 *   - with an issuer configured, "iss" is that string       (JWTAUTH_ISSUER)
 *   - with an audience configured, "aud" is that string or an array holding
 *     it                                                    (JWTAUTH_AUDIENCE)
 *   - "role" is "admin", or "customer" with an integer "customer_id" >= 1
 *                                                           (JWTAUTH_CLAIMS)
 * Statuses are for tests, logs and metrics; no message carries token text.
 */
#ifndef CQRSD_JWTAUTH_H
#define CQRSD_JWTAUTH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "auth.h"

/* longer tokens are refused before any parsing */
#define JWTAUTH_MAX_TOKEN 8192
/* seconds of clock skew allowed on exp and nbf, both ways */
#define JWTAUTH_SKEW 30
/* an HS256 secret has at least this many bytes (RFC 7518 3.2: the hash size) */
#define JWTAUTH_MIN_SECRET 32
/* the verified-token cache: this many entries, whatever the traffic */
#define JWTAUTH_CACHE_SLOTS 4096

enum jwtauth_status {
    JWTAUTH_OK = 0,
    JWTAUTH_OFF,           /* no key configured */
    JWTAUTH_MALFORMED,     /* too long, not a JWS compact serialization, bad header */
    JWTAUTH_ALGORITHM,     /* another algorithm than the configured one, "none" included */
    JWTAUTH_SIGNATURE,     /* the signature does not verify with the key */
    JWTAUTH_EXPIRED,       /* exp + skew is past */
    JWTAUTH_NOT_YET_VALID, /* nbf - skew is ahead */
    JWTAUTH_ISSUER,        /* iss is not the configured issuer */
    JWTAUTH_AUDIENCE,      /* aud does not name the configured audience */
    JWTAUTH_CLAIMS,        /* exp missing, exp/nbf not numbers, role or customer_id wrong */
    JWTAUTH_NOMEM,         /* out of memory: the token was not judged */
    JWTAUTH__COUNT
};

/*
 * Before threads start. key_file NULL or "" turns JWTs off (0). Else
 * algorithm is exactly "HS256", "RS256" or "ES256"; issuer and audience,
 * when neither NULL nor "", must match "iss" and "aud". The key file is a
 * regular file that neither group nor others may read or write; for HS256
 * it is the secret (all of it, less one trailing newline, at least
 * JWTAUTH_MIN_SECRET bytes, not a PEM key); for RS256 a PEM public RSA key of
 * 2048 bits or more; for ES256 a PEM public EC key on P-256. -1 with a
 * one-line message naming the file; JWTs are then off. A second call
 * replaces the first.
 */
int jwtauth_setup(const char *key_file, const char *algorithm, const char *issuer,
                  const char *audience, char *err, size_t errlen);
/*
 * Re-read the key file (SIGHUP), by the same rules. On success the new key
 * is used by every verification that starts afterwards and the cache is
 * emptied; on failure (-1 with a message) the old key stays. 0 and nothing
 * done when JWTs are off. Safe while other threads verify.
 */
int jwtauth_reload(char *err, size_t errlen);
/* Is a key configured? */
bool jwtauth_enabled(void);
/*
 * Verify <token, len> (the credentials of auth_bearer(), no NUL needed). On
 * JWTAUTH_OK *out is the token's principal (admin or customer N); on any
 * other status *out is untouched. A token verified before is answered from
 * the cache until its exp + skew; failures are never cached.
 */
enum jwtauth_status jwtauth_verify(const char *token, size_t len, struct principal *out);
/* "ok", "malformed", "algorithm", ... (a metric label); "?" out of range */
const char *jwtauth_status_name(enum jwtauth_status s);
/*
 * Tokens of the right shape (three base64url parts, not too long) answered
 * from the cache, and those verified in full (relaxed counts); malformed
 * ones are refused before the cache and counted in neither.
 */
uint64_t jwtauth_cache_hits(void);
uint64_t jwtauth_cache_misses(void);
/* Tests: the clock verification reads (NULL: time(NULL)). Before threads. */
void jwtauth_set_clock(time_t (*now)(void));
/* Forget the key and the cache (at exit); JWTs are off afterwards. */
void jwtauth_release(void);

#endif

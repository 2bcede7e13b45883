/*
 * principal.h - who a request acts as (API.md "Authorization"): anonymous,
 * customer N or admin, and the scope its idempotency keys live in. Set by
 * the HTTP layer from the request's credentials (authz.h), read by every
 * handler that decides what a caller may see or do.
 */
#ifndef CQRSD_PRINCIPAL_H
#define CQRSD_PRINCIPAL_H

#include <stdint.h>

enum role { ROLE_ANONYMOUS, ROLE_CUSTOMER, ROLE_ADMIN };

#define AUTH_SCOPE_MAX 24

/*
 * scope names its idempotency keys and queued commands: "admin" for the
 * command token, every admin JWT and every client of a daemon without
 * credentials (they share one scope, API.md), "c<N>" for customer N,
 * "anon" for anonymous clients. None is empty or holds a ':', so a key
 * stored as "<scope>:<key>" names its scope by its first ':' and an
 * anonymous client's key "c5:k" can never be customer 5's key "k".
 */
struct principal {
    enum role role;
    int64_t customer_id; /* ROLE_CUSTOMER only, >= 1; else 0 */
    char scope[AUTH_SCOPE_MAX];
};

/* The customer whose data alone p may see, or 0 when p is not limited to one. */
static inline int64_t principal_owner(const struct principal *p)
{
    return p->role == ROLE_CUSTOMER ? p->customer_id : 0;
}

#endif

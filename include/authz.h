/*
 * authz.h - who may do what (API.md "Authorization"): the principal of a
 * request from its credentials (the command token, a JWT, or none), and the
 * checks of the table: by route, by command type. Ownership (a customer's
 * own customer, orders and commands) is checked by the handlers that read
 * the rows, with principal_owner().
 */
#ifndef CQRSD_AUTHZ_H
#define CQRSD_AUTHZ_H

#include <stdbool.h>

#include "principal.h"
#include "reply.h"
#include "sbuf.h"

/* What a route asks of its caller. Zero is admin only: a route that forgets to say is closed. */
enum access {
    ACCESS_ADMIN,    /* admin only */
    ACCESS_NONE,     /* never looks at credentials: /healthz, /readyz (and OPTIONS) */
    ACCESS_PUBLIC,   /* anyone; a token that was sent must still be valid */
    ACCESS_CUSTOMER, /* a customer (its own rows only: the handler checks) or admin */
    ACCESS_COMMAND,  /* anyone gets in; POST /commands decides by type (authz_command) */
};

/*
 * Before threads start, after auth_load and jwtauth_setup: may anonymous
 * clients register (--open-registration)?
 */
void authz_setup(bool open_registration);
/* Is any credential configured (a command token or a JWT key)? Else the daemon is open. */
bool authz_configured(void);

/*
 * The principal of a request. authorization is the Authorization header
 * (NULL: none), access_token the stream's query parameter (NULL: none or not
 * accepted on this route). Without credentials configured every client is
 * admin (the open daemon). A Bearer token that is the command token is
 * admin, a valid JWT its role; no token (or another scheme) is anonymous.
 * A token that was sent and is not valid: -1 with 401 unauthorized in r
 * (WWW-Authenticate: Bearer error="invalid_token"). Nothing of the token is
 * ever copied into r, a log line or a metric.
 */
int authz_resolve(const char *authorization, const char *access_token, struct principal *who,
                  struct reply *r);

/* May `who` use a route of access `a`? 0, or -1 with 401 (anonymous) or 403 in r. */
int authz_route(enum access a, const struct principal *who, struct reply *r);

/*
 * May `who` send a command of this type (NULL when the envelope has no
 * string "type")? 0, or -1 with 401 (anonymous) or 403 in r. Admin: any;
 * customer: RegisterCustomer, PlaceOrder, CancelOrder; anonymous:
 * RegisterCustomer with open registration. A type that names no command is
 * "another command" here, so its 422 is for admins only.
 */
int authz_command(const struct principal *who, const char *type, struct reply *r);

/* cqrsd_auth_refused_total by reason, the JWT cache's hits and misses (Prometheus text). */
void authz_metrics(struct sbuf *b);

#endif

/* authz.c - the principal of a request and the checks of API.md's table */
#include "authz.h"

#include <inttypes.h>
#include <stdatomic.h>
#include <stdint.h>
#include <string.h>

#include "auth.h"
#include "jwtauth.h"
#include "problem.h"

static struct {
    bool open_registration;
    /* tokens refused, by the check that refused them (JWTAUTH_OFF: not the command token) */
    _Atomic uint64_t refused[JWTAUTH__COUNT];
} g;

void authz_setup(bool open_registration)
{
    g.open_registration = open_registration;
}

bool authz_configured(void)
{
    return auth_enabled() || jwtauth_enabled();
}

/* 401 for a token that was sent: which check refused it, never what it was. */
static int refused(struct reply *r, enum jwtauth_status st, const char *why)
{
    atomic_fetch_add_explicit(&g.refused[st], 1, memory_order_relaxed);
    problem(r, P_UNAUTHORIZED, "the bearer token was refused (%s)", why);
    r->invalid_token = true;
    return -1;
}

int authz_resolve(const char *authorization, const char *access_token, struct principal *who,
                  struct reply *r)
{
    const char *token = NULL;
    size_t len = 0;
    enum jwtauth_status st;

    if (!authz_configured()) {
        auth_admin(who);
        return 0;
    }
    if (auth_scheme_bearer(authorization)) {
        token = auth_bearer(authorization, &len);
        if (!token)
            return refused(r, JWTAUTH_MALFORMED, "not a token68 after \"Bearer \"");
    } else if (access_token) {
        token = access_token;
        len = strlen(access_token);
        if (len == 0)
            return refused(r, JWTAUTH_MALFORMED, "empty access_token");
    } else {
        auth_anonymous(who);
        return 0;
    }
    if (auth_token_matches(token, len)) {
        auth_admin(who);
        return 0;
    }
    st = jwtauth_verify(token, len, who); /* JWTAUTH_OFF without a key: nothing else to try */
    if (st == JWTAUTH_OK)
        return 0;
    if (st == JWTAUTH_OFF)
        return refused(r, JWTAUTH_OFF, "not the command token");
    if (st == JWTAUTH_NOMEM) {
        problem(r, P_INTERNAL, "out of memory");
        return -1;
    }
    return refused(r, st, jwtauth_status_name(st));
}

static int need_credentials(struct reply *r)
{
    return problem(r, P_UNAUTHORIZED, "send Authorization: Bearer <token>"), -1;
}

int authz_route(enum access a, const struct principal *who, struct reply *r)
{
    switch (a) {
    case ACCESS_NONE:
    case ACCESS_PUBLIC:
    case ACCESS_COMMAND:
        return 0;
    case ACCESS_CUSTOMER:
        return who->role == ROLE_ANONYMOUS ? need_credentials(r) : 0;
    case ACCESS_ADMIN:
        if (who->role == ROLE_ADMIN)
            return 0;
        if (who->role == ROLE_ANONYMOUS)
            return need_credentials(r);
        return problem(r, P_FORBIDDEN, "this needs the admin role"), -1;
    }
    return problem(r, P_FORBIDDEN, "this needs the admin role"), -1;
}

int authz_command(const struct principal *who, const char *type, struct reply *r)
{
    bool reg = type && strcmp(type, "RegisterCustomer") == 0;
    bool own = type && (strcmp(type, "PlaceOrder") == 0 || strcmp(type, "CancelOrder") == 0);

    switch (who->role) {
    case ROLE_ADMIN:
        return 0;
    case ROLE_CUSTOMER:
        if (reg || own)
            return 0;
        return problem(r, P_FORBIDDEN, "a customer may send RegisterCustomer, PlaceOrder and "
                                       "CancelOrder only"), -1;
    case ROLE_ANONYMOUS:
        if (reg && g.open_registration)
            return 0;
        return need_credentials(r);
    }
    return need_credentials(r);
}

void authz_metrics(struct sbuf *b)
{
    sbuf_adds(b, "# HELP cqrsd_auth_refused_total Bearer tokens refused (401 invalid_token), by "
                 "the check that refused them.\n# TYPE cqrsd_auth_refused_total counter\n");
    for (int s = JWTAUTH_OFF; s < JWTAUTH__COUNT; s++) {
        if (s == JWTAUTH_NOMEM)
            continue;
        sbuf_printf(b, "cqrsd_auth_refused_total{reason=\"%s\"} %" PRIu64 "\n",
                    s == JWTAUTH_OFF ? "not_the_command_token"
                                     : jwtauth_status_name((enum jwtauth_status)s),
                    atomic_load_explicit(&g.refused[s], memory_order_relaxed));
    }
    sbuf_adds(b, "# HELP cqrsd_auth_jwt_verifications_total JWTs of the right shape: found in "
                 "the table of verified tokens (hit) or verified in full (miss).\n"
                 "# TYPE cqrsd_auth_jwt_verifications_total counter\n");
    sbuf_printf(b, "cqrsd_auth_jwt_verifications_total{result=\"hit\"} %" PRIu64 "\n",
                jwtauth_cache_hits());
    sbuf_printf(b, "cqrsd_auth_jwt_verifications_total{result=\"miss\"} %" PRIu64 "\n",
                jwtauth_cache_misses());
}

/* problem.h - application/problem+json (RFC 9457) replies with the slugs of API.md */
#ifndef CQRSD_PROBLEM_H
#define CQRSD_PROBLEM_H

#include <jansson.h>

#include "reply.h"

enum problem_type {
    P_MALFORMED_JSON,
    P_INVALID_PARAMETER,
    P_UNAUTHORIZED,
    P_FORBIDDEN,
    P_NOT_FOUND,
    P_METHOD_NOT_ALLOWED,
    P_VERSION_CONFLICT,
    P_INSUFFICIENT_STOCK,
    P_INVALID_STATE_TRANSITION,
    P_DUPLICATE,
    P_PAYLOAD_TOO_LARGE,
    P_UNSUPPORTED_MEDIA_TYPE,
    P_VALIDATION_FAILED,
    P_UNKNOWN_COMMAND,
    P_IDEMPOTENCY_KEY_REUSED,
    P_DATABASE_UNAVAILABLE,
    P_REPLICA_LAGGING,
    P_INTERNAL,
    P__COUNT
};

int problem_status(enum problem_type t);
const char *problem_slug(enum problem_type t);
const char *problem_title(enum problem_type t);

/*
 * Fill r with a problem of type t; detail is printf-formatted. Returns 0 so a
 * handler can `return problem(...)`.
 */
int problem(struct reply *r, enum problem_type t, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/*
 * The same, with extra members: every member of `extra` (stolen; may be NULL)
 * is added next to detail, e.g. {"errors": [...]} or {"current_version": 3}.
 */
int problem_ext(struct reply *r, enum problem_type t, json_t *extra, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

#endif

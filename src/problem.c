/* problem.c - problem+json bodies; slug, status and title are fixed per type */
#include "problem.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const struct {
    int status;
    const char *slug;
    const char *title;
} types[P__COUNT] = {
    [P_MALFORMED_JSON] = {400, "malformed-json", "Malformed JSON"},
    [P_INVALID_PARAMETER] = {400, "invalid-parameter", "Invalid parameter"},
    [P_UNAUTHORIZED] = {401, "unauthorized", "Unauthorized"},
    [P_FORBIDDEN] = {403, "forbidden", "Forbidden"},
    [P_NOT_FOUND] = {404, "not-found", "Not found"},
    [P_METHOD_NOT_ALLOWED] = {405, "method-not-allowed", "Method not allowed"},
    [P_VERSION_CONFLICT] = {409, "version-conflict", "Version conflict"},
    [P_INSUFFICIENT_STOCK] = {409, "insufficient-stock", "Insufficient stock"},
    [P_INVALID_STATE_TRANSITION] = {409, "invalid-state-transition",
                                    "Invalid state transition"},
    [P_DUPLICATE] = {409, "duplicate", "Duplicate"},
    [P_PAYLOAD_TOO_LARGE] = {413, "payload-too-large", "Payload too large"},
    [P_UNSUPPORTED_MEDIA_TYPE] = {415, "unsupported-media-type", "Unsupported media type"},
    [P_VALIDATION_FAILED] = {422, "validation-failed", "Validation failed"},
    [P_UNKNOWN_COMMAND] = {422, "unknown-command", "Unknown command"},
    [P_IDEMPOTENCY_KEY_REUSED] = {422, "idempotency-key-reused", "Idempotency key reused"},
    [P_DATABASE_UNAVAILABLE] = {503, "database-unavailable", "Database unavailable"},
    [P_REPLICA_LAGGING] = {503, "replica-lagging", "Replica lagging"},
    [P_INTERNAL] = {500, "internal", "Internal error"},
};

int problem_status(enum problem_type t)
{
    return types[t].status;
}

const char *problem_slug(enum problem_type t)
{
    return types[t].slug;
}

const char *problem_title(enum problem_type t)
{
    return types[t].title;
}

static int problem_v(struct reply *r, enum problem_type t, json_t *extra, const char *fmt,
                     va_list ap)
{
    char detail[512];
    json_t *o = json_object();
    char *text;

    vsnprintf(detail, sizeof(detail), fmt, ap);
    utf8_clean(detail); /* user input may be cut mid-character, or not be UTF-8 at all */
    sbuf_reset(&r->body);
    r->status = types[t].status;
    r->content_type = "application/problem+json";
    r->retry_after = (t == P_DATABASE_UNAVAILABLE || t == P_REPLICA_LAGGING);
    r->www_authenticate = (t == P_UNAUTHORIZED);
    if (o) {
        json_object_set_new(o, "type", json_string(types[t].slug));
        json_object_set_new(o, "title", json_string(types[t].title));
        json_object_set_new(o, "status", json_integer(types[t].status));
        json_object_set_new(o, "detail", json_string(detail));
        if (extra)
            json_object_update(o, extra);
    }
    json_decref(extra);
    text = o ? json_dumps(o, JSON_COMPACT) : NULL;
    json_decref(o);
    if (text) {
        sbuf_adds(&r->body, text);
        free(text);
    } else { /* out of memory: a fixed body still follows the contract */
        sbuf_printf(&r->body,
                    "{\"type\":\"%s\",\"title\":\"%s\",\"status\":%d,\"detail\":\"\"}",
                    types[t].slug, types[t].title, types[t].status);
    }
    return 0;
}

int problem(struct reply *r, enum problem_type t, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    problem_v(r, t, NULL, fmt, ap);
    va_end(ap);
    return 0;
}

int problem_ext(struct reply *r, enum problem_type t, json_t *extra, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    problem_v(r, t, extra, fmt, ap);
    va_end(ap);
    return 0;
}

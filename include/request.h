/* request.h - the request a handler sees (filled by http.c, matched by route.c) */
#ifndef CQRSD_REQUEST_H
#define CQRSD_REQUEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "principal.h"

enum method { M_GET = 1, M_HEAD = 2, M_POST = 4, M_OPTIONS = 8, M_OTHER = 16 };

#define REQ_MAX_ARGS 16
#define REQ_MAX_SEGS 2

struct req_arg {
    const char *key;
    const char *val; /* NULL when the argument had no '=' */
};

struct request {
    enum method method;
    const char *method_name;
    const char *path;
    struct req_arg args[REQ_MAX_ARGS];
    int nargs;
    bool too_many_args;
    /* headers (NULL when absent) */
    const char *if_none_match;
    const char *idempotency_key;
    const char *prefer;
    bool prefer_async; /* some Prefer header holds respond-async */
    const char *authorization;
    const char *last_event_id;
    const char *consistency_token; /* X-Consistency-Token (the stream: ?consistency_token=) */
    int read_target; /* where a replica route reads: a replica, or -1 the primary (replica.h) */
    const char *request_id;
    struct principal who; /* set by the HTTP layer before any handler runs (authz.h) */
    bool batch; /* a GET by id may be deferred to the batch readers (batch.h) */
    /* body (POST) */
    const char *body;
    size_t body_len;
    /* captured path segments of the route pattern's {…} parts */
    const char *seg[REQ_MAX_SEGS];
    size_t seg_len[REQ_MAX_SEGS];
};

/* The method of a request line's name (M_OTHER for any other), and a method's name. */
enum method request_method(const char *name);
const char *request_method_name(enum method m);

/* Find argument `key`; NULL if absent. */
const struct req_arg *request_arg(const struct request *rq, const char *key);

/* Parse an id (a path segment, Last-Event-ID): decimal digits, no leading zero, 1..2^63-1. */
bool request_parse_id(const char *s, size_t n, int64_t *out);

#endif

/* route.h - the request a handler sees, and the method + path table */
#ifndef CQRSD_ROUTE_H
#define CQRSD_ROUTE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "reply.h"

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
    const char *request_id;
    bool batch; /* a GET by id may be deferred to the batch readers (batch.h) */
    /* body (POST) */
    const char *body;
    size_t body_len;
    /* captured path segments of the route pattern's {…} parts */
    const char *seg[REQ_MAX_SEGS];
    size_t seg_len[REQ_MAX_SEGS];
};

typedef void (*handler_fn)(const struct request *rq, struct reply *r);

struct route {
    const char *pattern;  /* e.g. "/queries/products/{id}"; also the metrics/log label */
    unsigned methods;     /* M_GET implies M_HEAD */
    handler_fn get, post;
    bool auth; /* needs the command token when one is configured */
    bool rest; /* the last {…} takes the rest of the path, slashes included */
    bool quick; /* never waits on the database: runs on the HTTP thread (http.c) */
};

enum route_result { ROUTE_OK, ROUTE_NOT_FOUND, ROUTE_METHOD_NOT_ALLOWED, ROUTE_OPTIONS };

/*
 * Match method and path. On ROUTE_OK *out is the route and rq's seg[] are set.
 * For ROUTE_METHOD_NOT_ALLOWED and ROUTE_OPTIONS *out is the matched route
 * too (its Allow list comes from route_allow).
 */
enum route_result route_match(struct request *rq, const struct route **out);
/* "GET, HEAD, OPTIONS" style list for a route. */
void route_allow(const struct route *rt, char *out, size_t cap);

/* The route's position in the table (for metrics), the table's size, a pattern by index. */
int route_index(const struct route *rt);
int route_count(void);
const char *route_pattern(int i);

/* Parse a path id: decimal digits, no leading zero, 1..2^63-1. */
bool route_parse_id(const char *s, size_t n, int64_t *out);

/* Find argument `key`; NULL if absent. */
const struct req_arg *request_arg(const struct request *rq, const char *key);

#endif

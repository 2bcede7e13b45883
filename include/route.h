/* route.h - the method + path table */
#ifndef CQRSD_ROUTE_H
#define CQRSD_ROUTE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "authz.h"
#include "reply.h"
#include "request.h"

typedef void (*handler_fn)(const struct request *rq, struct reply *r);

struct route {
    const char *pattern;  /* e.g. "/queries/products/{id}"; also the metrics/log label */
    unsigned methods;     /* M_GET implies M_HEAD */
    handler_fn get, post;
    enum access get_access, post_access; /* who may call it (authz.h) */
    bool access_token; /* also takes credentials from ?access_token= (EventSource) */
    bool rest; /* the last {…} takes the rest of the path, slashes included */
    bool quick; /* never waits on the database: runs on the HTTP thread (http.c) */
    bool replica; /* a query of the read model: may read on a replica (replica.h) */
    bool token;   /* reads the primary, and checks a consistency token's syntax */
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

/* Who may call the route with method m (GET and HEAD share). */
enum access route_access(const struct route *rt, enum method m);

/* The route's position in the table (for metrics), the table's size, a pattern by index. */
int route_index(const struct route *rt);
int route_count(void);
const char *route_pattern(int i);

#endif

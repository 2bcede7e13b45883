/* route.c - method + path table, 404/405 + Allow, path ids */
#include "route.h"

#include <stdio.h>
#include <string.h>

#include "handlers.h"
#include "queue.h"

#define PUB ACCESS_PUBLIC
#define CUS ACCESS_CUSTOMER
#define ADM ACCESS_ADMIN

static const struct route routes[] = {
    {.pattern = "/healthz", .methods = M_GET, .get = handle_healthz,
     .get_access = ACCESS_NONE, .quick = true},
    {.pattern = "/readyz", .methods = M_GET, .get = handle_readyz,
     .get_access = ACCESS_NONE},
    /* the list is the operator's; a command's type decides who may send it (accept.c) */
    {.pattern = "/commands", .methods = M_GET | M_POST, .get = handle_commands_list,
     .post = handle_command, .get_access = ADM, .post_access = ACCESS_COMMAND},
    /* its {id} is the rest of the path: libmicrohttpd has decoded %2F in a key to '/' */
    {.pattern = "/commands/{id}", .methods = M_GET, .get = handle_command_status,
     .get_access = CUS, .rest = true},
    {.pattern = "/queries/products", .methods = M_GET, .get = handle_products_list,
     .get_access = PUB, .replica = true},
    {.pattern = "/queries/products/{id}", .methods = M_GET, .get = handle_product_get,
     .get_access = PUB, .quick = true, .replica = true},
    {.pattern = "/queries/orders/{id}", .methods = M_GET, .get = handle_order_get,
     .get_access = CUS, .quick = true, .replica = true},
    {.pattern = "/queries/customers/{id}", .methods = M_GET, .get = handle_customer_get,
     .get_access = CUS, .quick = true, .replica = true},
    {.pattern = "/queries/customers/{id}/orders", .methods = M_GET,
     .get = handle_customer_orders, .get_access = CUS, .replica = true},
    {.pattern = "/queries/events", .methods = M_GET, .get = handle_events_page,
     .get_access = ADM, .replica = true},
    {.pattern = "/queries/events/stream", .methods = M_GET, .get = handle_events_stream,
     .get_access = ADM, .access_token = true, .token = true},
    {.pattern = "/metrics", .methods = M_GET, .get = handle_metrics, .get_access = ADM},
    {.pattern = "/openapi.json", .methods = M_GET, .get = handle_openapi, .get_access = PUB,
     .quick = true},
};

#define N_ROUTES (sizeof(routes) / sizeof(routes[0]))

/* Match path against pattern; captures {…} segments into rq. */
static bool match(const char *pattern, bool rest, const char *path, struct request *rq)
{
    const char *p = pattern, *s = path;
    int nseg = 0;

    while (*p && *s) {
        if (*p == '{') {
            const char *pe = strchr(p, '}');
            const char *se = rest && pe[1] == '\0' ? NULL : strchr(s, '/');
            if (!se)
                se = s + strlen(s);
            if (se == s || nseg >= REQ_MAX_SEGS)
                return false;
            rq->seg[nseg] = s;
            rq->seg_len[nseg] = (size_t)(se - s);
            nseg++;
            p = pe + 1;
            s = se;
            continue;
        }
        if (*p != *s)
            return false;
        p++, s++;
    }
    return *p == '\0' && *s == '\0';
}

enum route_result route_match(struct request *rq, const struct route **out)
{
    for (size_t i = 0; i < N_ROUTES; i++) {
        const struct route *rt = &routes[i];
        unsigned allowed = rt->methods;
        if (!match(rt->pattern, rt->rest, rq->path, rq))
            continue;
        *out = rt;
        if (allowed & M_GET)
            allowed |= M_HEAD;
        if (rq->method == M_OPTIONS)
            return ROUTE_OPTIONS;
        if (!(rq->method & allowed))
            return ROUTE_METHOD_NOT_ALLOWED;
        return ROUTE_OK;
    }
    *out = NULL;
    return ROUTE_NOT_FOUND;
}

void route_allow(const struct route *rt, char *out, size_t cap)
{
    snprintf(out, cap, "%s%sOPTIONS", (rt->methods & M_GET) ? "GET, HEAD, " : "",
             (rt->methods & M_POST) ? "POST, " : "");
}

enum access route_access(const struct route *rt, enum method m)
{
    return m == M_POST ? rt->post_access : rt->get_access;
}

int route_index(const struct route *rt)
{
    return rt ? (int)(rt - routes) : -1;
}

int route_count(void)
{
    return (int)N_ROUTES;
}

const char *route_pattern(int i)
{
    return i >= 0 && i < (int)N_ROUTES ? routes[i].pattern : "unmatched";
}


/* handlers.h - every route's handler */
#ifndef CQRSD_HANDLERS_H
#define CQRSD_HANDLERS_H

#include "reply.h"
#include "request.h"

/* operations (ops.c) */
void handle_healthz(const struct request *rq, struct reply *r);
void handle_readyz(const struct request *rq, struct reply *r);
void handle_openapi(const struct request *rq, struct reply *r);
void handle_metrics(const struct request *rq, struct reply *r);
/* commands (cmd.c) */
void handle_command(const struct request *rq, struct reply *r);
/* queries (query.c) */
void handle_products_list(const struct request *rq, struct reply *r);
void handle_product_get(const struct request *rq, struct reply *r);
void handle_order_get(const struct request *rq, struct reply *r);
void handle_customer_get(const struct request *rq, struct reply *r);
void handle_customer_orders(const struct request *rq, struct reply *r);
void handle_events_page(const struct request *rq, struct reply *r);
void handle_events_stream(const struct request *rq, struct reply *r);

#endif

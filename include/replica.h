/* replica.h - read replicas: their health and positions, where a query reads, token waits */
#ifndef CQRSD_REPLICA_H
#define CQRSD_REPLICA_H

#include <stdbool.h>

#include "config.h"
#include "sbuf.h"

#define REPLICA_PRIMARY (-1) /* a read target: the primary's read account */
#define REPLICA_REFUSED (-2) /* no replica in time and --consistency-fallback none: 503 */

/* Start the monitors of cfg's replicas (none: nothing runs). -1 when a thread cannot start. */
int replica_start(const struct config *cfg);
/* Answer every waiting query (from the primary) and stop the monitors. */
void replica_stop(void);
/* Are replicas configured? */
bool replica_enabled(void);

enum replica_route {
    RR_READY,     /* *target is where to read */
    RR_WAIT,      /* no replica is known to have the tokens: park *w (replica_park) */
    RR_BAD_TOKEN, /* a malformed X-Consistency-Token: 400 invalid-parameter */
    RR_REFUSED,   /* tokens, no healthy replica, --consistency-fallback none: 503 */
};

struct replica_wait;

/*
 * Where a query reads. tokens: its X-Consistency-Token value, or NULL.
 * Without replicas, always the primary (tokens are not even parsed). With
 * RR_WAIT, *w is allocated: the caller parks it, and frees it after.
 */
enum replica_route replica_route(const char *tokens, int *target, struct replica_wait **w);

/*
 * Park w until a replica has applied its tokens or --consistency-wait-ms
 * passes; then done(arg) is called once, on another thread, and
 * replica_wait_target says where to read. -1 when it cannot park (the
 * daemon is stopping): read from the primary, done is never called.
 */
int replica_park(struct replica_wait *w, void (*done)(void *arg), void *arg);
/* After done: a replica (>= 0), REPLICA_PRIMARY or REPLICA_REFUSED. */
int replica_wait_target(const struct replica_wait *w);
void replica_wait_free(struct replica_wait *w);

/* Is tokens (an X-Consistency-Token value, or NULL: none) well formed? True without replicas. */
bool replica_token_valid(const char *tokens);

/* A read on replica i could not reach it: it leaves the pool until its monitor sees it well. */
void replica_failed(int i);

/* The replicas' gauges and counters in the Prometheus text format (for /metrics). */
void replica_metrics(struct sbuf *b);

#endif

/* metrics.h - counters for GET /metrics (Prometheus text format 0.0.4) */
#ifndef CQRSD_METRICS_H
#define CQRSD_METRICS_H

#include <stdbool.h>
#include <stddef.h>

#include "request.h"
#include "sbuf.h"

/*
 * What became of a command: accepted for later (202), then, when it ran (or
 * synchronously), succeeded, rejected by a rule or a bad request, failed
 * (infrastructure; for a queued one: dead-lettered), or replayed from its key.
 */
enum metric_outcome { OUT_ACCEPTED, OUT_SUCCEEDED, OUT_REJECTED, OUT_FAILED, OUT_REPLAYED,
                      OUT__COUNT };

#define METRICS_MAX_TYPES 32

/* The route patterns, by route index (static strings), once, before any thread. */
void metrics_routes(const char *const *patterns, int n);
/* One finished request: route index (route_index(), or -1 unmatched). */
void metrics_request(int route, enum method m, int status, double seconds);
/*
 * The command types to count (static strings, at most METRICS_MAX_TYPES;
 * cmd_metrics_init passes the command tables'), once, before any thread.
 */
void metrics_command_types(const char *const *types, size_t n);
/* One command of type `type` (a name given to metrics_command_types; others are ignored). */
void metrics_command(const char *type, enum metric_outcome outcome);
void metrics_retry(void);
/* One statement of the batch readers answered `reads` GETs by id. */
void metrics_read_batch(unsigned reads);
void metrics_db_connection(int side, int delta);
/* The last sample check of the read model: rows differing, rows compared. */
void metrics_drift(long diffs, long rows);

/* Append every counter above in the text format (the /metrics handler, ops.c, adds the gauges). */
void metrics_write(struct sbuf *b);

#endif

/* ops.c - the operations routes: /healthz, /readyz, /openapi.json, /metrics */
#include <stdbool.h>
#include <stdint.h>

#include "db.h"
#include "feed.h"
#include "handlers.h"
#include "authz.h"
#include "metrics.h"
#include "problem.h"
#include "queue.h"
#include "replica.h"
#include "sqlscript.h"
#include "stream.h"

void handle_healthz(const struct request *rq, struct reply *r)
{
    static const char ok[] = "{\"status\":\"ok\"}";
    (void)rq;
    reply_json(r, 200, ok, sizeof(ok) - 1);
}

void handle_readyz(const struct request *rq, struct reply *r)
{
    static const char ok[] = "{\"status\":\"ready\"}";
    struct db *db = db_thread();
    bool w, rd;

    (void)rq;
    if (!db) {
        problem(r, P_INTERNAL, "out of memory");
        return;
    }
    w = db_ping(db, DB_WRITE) == DB_OK;
    rd = db_ping(db, DB_READ) == DB_OK;
    if (w && rd) {
        reply_json(r, 200, ok, sizeof(ok) - 1);
        return;
    }
    {
        /* name the accounts and, when a connection was refused, why */
        const char *why = db_problem(db, !w ? DB_WRITE : DB_READ);
        if (!w && !rd)
            problem(r, P_DATABASE_UNAVAILABLE, "the write account '%s' and the read account '%s' "
                    "do not answer%s%s", db_account(db, DB_WRITE), db_account(db, DB_READ),
                    why[0] ? ": " : "", why);
        else
            problem(r, P_DATABASE_UNAVAILABLE, "the %s account '%s' does not answer%s%s",
                    !w ? "write" : "read", db_account(db, !w ? DB_WRITE : DB_READ),
                    why[0] ? ": " : "", why);
    }
}

void handle_openapi(const struct request *rq, struct reply *r)
{
    (void)rq;
    reply_json(r, 200, openapi_files[0].text, openapi_files[0].len);
}

/* GET /metrics: the counters (metrics.c), then the gauges of the stream, the feed and the queue. */
void handle_metrics(const struct request *rq, struct reply *r)
{
    struct sbuf *b = &r->body;

    (void)rq;
    r->status = 200;
    r->content_type = "text/plain; version=0.0.4; charset=utf-8";
    sbuf_reset(b);
    metrics_write(b);
    sbuf_adds(b, "# HELP cqrsd_event_stream_clients Event streams (GET /queries/events/stream) "
                 "currently connected.\n# TYPE cqrsd_event_stream_clients gauge\n");
    sbuf_printf(b, "cqrsd_event_stream_clients %ld\n", stream_clients());
    sbuf_adds(b, "# HELP cqrsd_event_stream_dropped_total Event streams ended because their "
                 "client did not read (1 MiB waiting for it).\n"
                 "# TYPE cqrsd_event_stream_dropped_total counter\n");
    sbuf_printf(b, "cqrsd_event_stream_dropped_total %llu\n",
                (unsigned long long)stream_dropped());
    sbuf_adds(b, "# HELP cqrsd_event_feed_holes_total Times a feed reader (page, stream) met a "
                 "position whose commit was not visible yet while a later one was, and stopped "
                 "before it.\n# TYPE cqrsd_event_feed_holes_total counter\n");
    sbuf_printf(b, "cqrsd_event_feed_holes_total %llu\n", (unsigned long long)feed_holes());
    queue_metrics(b);
    authz_metrics(b);
    replica_metrics(b);
}

/* events.c - append events in position order; GET /queries/events */
#include "events.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "handlers.h"
#include "problem.h"
#include "query.h"
#include "feed.h"

int events_append(struct db *db, const struct event *ev, int n, const char *command_id,
                  const char *occurred_at, int64_t *position)
{
    int64_t head;
    int rc;

    if (n <= 0)
        return DB_ERR;
    if ((rc = db_run(db, Q_EVENT_HEAD, DB_ARGS(DB_I64(n)))))
        return rc;
    head = (int64_t)db_insert_id(db, Q_EVENT_HEAD);
    for (int i = 0; i < n; i++) {
        const struct event *e = &ev[i];
        char *data = json_dumps(e->data, JSON_COMPACT);
        if (!data)
            return DB_ERR;
        rc = db_run(db, Q_EVENT_INSERT,
                    DB_ARGS(DB_I64(head - n + 1 + i), DB_STR(e->type, strlen(e->type)),
                            DB_STR(e->aggregate_type, strlen(e->aggregate_type)),
                            DB_I64(e->aggregate_id), DB_I64(e->aggregate_version),
                            DB_STR(data, strlen(data)),
                            DB_STR(command_id, strlen(command_id)),
                            DB_STR(occurred_at, strlen(occurred_at))));
        free(data);
        if (rc)
            return rc;
    }
    *position = head;
    return DB_OK;
}

/* How often a page that meets a hole before its first event reads again (1+2+4+8 ms) */
#define PAGE_HOLE_WAITS 4

struct page {
    struct sbuf *b;
    int n;
};

static void add_item(void *ctx, struct db *db, int64_t position)
{
    struct page *pg = ctx;

    (void)position;
    if (pg->n++)
        sbuf_addch(pg->b, ',');
    feed_row_json(pg->b, db);
}

/*
 * GET /queries/events: a contiguous run of positions after `after` (feed.c),
 * so a consumer that pages with next_after never passes an event whose commit
 * is still becoming visible.
 */
void handle_events_page(const struct request *rq, struct reply *r)
{
    static const char *const allowed[] = {"after", "limit", NULL};
    int64_t after = 0, limit = 100;
    struct page pg = {&r->body, 0};
    struct db *db;
    int got;

    if (query_check_args(rq, allowed, r) ||
        query_int_arg(rq, "after", 0, INT64_MAX, &after, r) ||
        query_int_arg(rq, "limit", 1, 1000, &limit, r))
        return;
    if (!(db = query_db(r)))
        return;
    sbuf_reset(&r->body);
    sbuf_adds(&r->body, "{\"items\":[");
    got = feed_read(db, after, limit, PAGE_HOLE_WAITS, add_item, &pg, NULL);
    if (got < 0) {
        query_db_problem(r, got);
        return;
    }
    r->status = 200;
    sbuf_printf(&r->body, "],\"next_after\":%" PRId64 "}", after + got);
}

/*
 * GET /queries/events/stream: where to start (Last-Event-ID, else ?after=,
 * else the current head); http.c then streams from the poller.
 */
void handle_events_stream(const struct request *rq, struct reply *r)
{
    static const char *const allowed[] = {"after", "access_token", "consistency_token", NULL};
    int64_t after = -1;
    int rc;

    if (query_check_args(rq, allowed, r) || query_int_arg(rq, "after", 0, INT64_MAX, &after, r))
        return;
    if (rq->last_event_id) {
        if (!request_parse_id(rq->last_event_id, strlen(rq->last_event_id), &after) &&
            strcmp(rq->last_event_id, "0") != 0) {
            problem(r, P_INVALID_PARAMETER, "Last-Event-ID must be an event position");
            return;
        }
        if (strcmp(rq->last_event_id, "0") == 0)
            after = 0;
    }
    if (after < 0) { /* neither: new events only */
        struct db *db = query_db(r);
        if (!db)
            return;
        if ((rc = feed_head(db, &after))) {
            query_db_problem(r, rc);
            return;
        }
    }
    r->status = 200;
    r->content_type = "text/event-stream";
    r->stream = true;
    r->stream_after = after;
}

/* events.c - append events in position order; GET /queries/events */
#include "events.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "handlers.h"
#include "problem.h"
#include "query.h"
#include "stream.h"

int events_append(struct cmd_ctx *cx)
{
    int64_t head;
    int rc;

    if (cx->nev == 0)
        return DB_ERR;
    if ((rc = db_run(cx->db, Q_EVENT_HEAD, DB_ARGS(DB_I64(cx->nev)))))
        return rc;
    head = (int64_t)db_insert_id(cx->db, Q_EVENT_HEAD);
    for (int i = 0; i < cx->nev; i++) {
        const struct cmd_event *e = &cx->ev[i];
        char *data = json_dumps(e->data, JSON_COMPACT);
        if (!data)
            return DB_ERR;
        rc = db_run(cx->db, Q_EVENT_INSERT,
                    DB_ARGS(DB_I64(head - cx->nev + 1 + i), DB_STR(e->type, strlen(e->type)),
                            DB_STR(e->aggregate_type, strlen(e->aggregate_type)),
                            DB_I64(e->aggregate_id), DB_I64(e->aggregate_version),
                            DB_STR(data, strlen(data)),
                            DB_STR(cx->command_id, strlen(cx->command_id)),
                            DB_STR(cx->now, strlen(cx->now))));
        free(data);
        if (rc)
            return rc;
    }
    cx->position = head;
    return DB_OK;
}

/* Append one event row of Q_EVENTS_PAGE as the JSON object of the feed. */
void events_row_json(struct sbuf *b, struct db *db)
{
    size_t n;
    const char *s;

    sbuf_printf(b, "{\"position\":%" PRId64 ",\"type\":", db_i64(db, Q_EVENTS_PAGE, 0));
    s = db_str(db, Q_EVENTS_PAGE, 1, &n);
    sbuf_add_json_str(b, s, n);
    sbuf_adds(b, ",\"aggregate_type\":");
    s = db_str(db, Q_EVENTS_PAGE, 2, &n);
    sbuf_add_json_str(b, s, n);
    sbuf_printf(b, ",\"aggregate_id\":%" PRId64 ",\"aggregate_version\":%" PRId64 ",\"data\":",
                db_i64(db, Q_EVENTS_PAGE, 3), db_i64(db, Q_EVENTS_PAGE, 4));
    s = db_str(db, Q_EVENTS_PAGE, 5, &n);
    sbuf_add(b, s, n);
    sbuf_adds(b, ",\"command_id\":");
    s = db_str(db, Q_EVENTS_PAGE, 6, &n);
    sbuf_add_json_str(b, s, n);
    sbuf_adds(b, ",\"occurred_at\":");
    s = db_str(db, Q_EVENTS_PAGE, 7, &n);
    sbuf_add_json_str(b, s, n);
    sbuf_addch(b, '}');
}

void handle_events_page(const struct request *rq, struct reply *r)
{
    static const char *const allowed[] = {"after", "limit", NULL};
    int64_t after = 0, limit = 100, last;
    struct db *db;
    int rc, got = 0;

    if (query_check_args(rq, allowed, r) ||
        query_int_arg(rq, "after", 0, INT64_MAX, &after, r) ||
        query_int_arg(rq, "limit", 1, 1000, &limit, r))
        return;
    if (!(db = query_db(r)))
        return;
    rc = query_run(db, Q_EVENTS_PAGE, DB_ARGS(DB_I64(after), DB_I64(limit)));
    if (rc) {
        query_db_problem(r, rc);
        return;
    }
    last = after;
    r->status = 200;
    sbuf_reset(&r->body);
    sbuf_adds(&r->body, "{\"items\":[");
    while ((rc = db_next(db, Q_EVENTS_PAGE)) == 1) {
        if (got++)
            sbuf_addch(&r->body, ',');
        last = db_i64(db, Q_EVENTS_PAGE, 0);
        events_row_json(&r->body, db);
    }
    if (rc < 0) {
        query_db_problem(r, rc);
        return;
    }
    sbuf_printf(&r->body, "],\"next_after\":%" PRId64 "}", last);
}

/*
 * GET /queries/events/stream: where to start (Last-Event-ID, else ?after=,
 * else the current head); http.c then streams from the poller.
 */
void handle_events_stream(const struct request *rq, struct reply *r)
{
    static const char *const allowed[] = {"after", NULL};
    int64_t after = -1;
    int rc;

    if (query_check_args(rq, allowed, r) || query_int_arg(rq, "after", 0, INT64_MAX, &after, r))
        return;
    if (rq->last_event_id) {
        if (!route_parse_id(rq->last_event_id, strlen(rq->last_event_id), &after) &&
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
        if ((rc = query_run(db, Q_EVENTS_HEAD, NULL, 0)) || (rc = db_next(db, Q_EVENTS_HEAD)) < 0) {
            query_db_problem(r, rc);
            return;
        }
        after = rc == 1 ? db_i64(db, Q_EVENTS_HEAD, 0) : 0;
        db_end(db, Q_EVENTS_HEAD);
    }
    r->status = 200;
    r->content_type = "text/event-stream";
    r->stream = true;
    r->stream_after = after;
}

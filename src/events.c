/* events.c - append events in position order; GET /queries/events */
#include "events.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "handlers.h"
#include "problem.h"
#include "query.h"
#include "evfilter.h"
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

/* The filters of a feed request (API.md "Event feed filters"); -1 with 400 in r. */
static int parse_filter(const struct request *rq, struct event_filter *f, struct reply *r)
{
    const struct req_arg *at = request_arg(rq, "aggregate_type");
    const struct req_arg *ai = request_arg(rq, "aggregate_id");
    const struct req_arg *ty = request_arg(rq, "type");
    char why[160];

    if (evfilter_parse(f, at ? at->val : NULL, ai ? ai->val : NULL, ty ? ty->val : NULL, why,
                       sizeof(why)) == 0)
        return 0;
    problem(r, P_INVALID_PARAMETER, "%s", why);
    return -1;
}

/*
 * A filtered page: the matching events after `after` up to the head (every
 * position up to it visible, feed.c), so a consumer never passes a matching
 * event whose commit is still becoming visible. next_after is the last
 * event's position when the page is full, else the head: nothing up to it
 * is left to match. Returns the events written, or a db rc.
 */
static int filtered_page(struct db *db, const struct event_filter *f, int64_t after,
                         int64_t limit, struct page *pg, int64_t *next_after)
{
    const char *types[EVF_TYPES];
    int nt = evfilter_type_names(f, types), got = 0, rc;
    enum q q = f->aggregate_id ? Q_EVENTS_AGGREGATE : Q_EVENTS_TYPES;
    struct db_param p[2 + EVF_TYPES + 3];
    size_t np = 0;
    int64_t head, last = after;

    *next_after = after;
    if ((rc = feed_head(db, &head)))
        return rc;
    if (head <= after)
        return 0;
    if (nt == 0) { /* aggregate_type and type= share no type: nothing ever matches */
        *next_after = head;
        return 0;
    }
    if (f->aggregate_id) {
        p[np++] = DB_STR(f->aggregate, strlen(f->aggregate));
        p[np++] = DB_I64(f->aggregate_id);
    }
    for (int i = 0; i < EVF_TYPES; i++) { /* unused slots repeat the last type */
        const char *t = types[i < nt ? i : nt - 1];
        p[np++] = DB_STR(t, strlen(t));
    }
    p[np++] = DB_I64(after);
    p[np++] = DB_I64(head);
    p[np++] = DB_I64(limit);
    if ((rc = query_run(db, q, p, np)))
        return rc;
    while ((rc = db_next(db, q)) == 1) {
        last = db_i64(db, q, EV_POSITION);
        if (pg->n++)
            sbuf_addch(pg->b, ',');
        feed_row_json_of(pg->b, db, q);
        got++;
    }
    if (rc < 0)
        return rc;
    *next_after = got == limit ? last : head;
    return got;
}

/*
 * GET /queries/events: a contiguous run of positions after `after` (feed.c),
 * so a consumer that pages with next_after never passes an event whose commit
 * is still becoming visible; with filters, the matching events of such a run.
 */
void handle_events_page(const struct request *rq, struct reply *r)
{
    static const char *const allowed[] = {"after", "limit", "aggregate_type", "aggregate_id",
                                          "type", NULL};
    int64_t after = 0, limit = 100, next_after;
    struct page pg = {&r->body, 0};
    struct event_filter f;
    struct db *db;
    int got;

    if (query_check_args(rq, allowed, r) ||
        query_int_arg(rq, "after", 0, INT64_MAX, &after, r) ||
        query_int_arg(rq, "limit", 1, 1000, &limit, r) || parse_filter(rq, &f, r))
        return;
    if (!(db = query_db(r)))
        return;
    sbuf_reset(&r->body);
    sbuf_adds(&r->body, "{\"items\":[");
    if (f.on) {
        got = filtered_page(db, &f, after, limit, &pg, &next_after);
    } else {
        got = feed_read(db, after, limit, PAGE_HOLE_WAITS, add_item, &pg, NULL);
        next_after = after + (got > 0 ? got : 0);
    }
    if (got < 0) {
        query_db_problem(r, got);
        return;
    }
    r->status = 200;
    sbuf_printf(&r->body, "],\"next_after\":%" PRId64 "}", next_after);
}

/*
 * GET /queries/events/stream: where to start (Last-Event-ID, else ?after=,
 * else the current head); http.c then streams from the poller.
 */
void handle_events_stream(const struct request *rq, struct reply *r)
{
    static const char *const allowed[] = {"after",          "access_token", "consistency_token",
                                          "aggregate_type", "aggregate_id", "type",
                                          NULL};
    int64_t after = -1;
    int rc;

    if (query_check_args(rq, allowed, r) ||
        query_int_arg(rq, "after", 0, INT64_MAX, &after, r) ||
        parse_filter(rq, &r->stream_filter, r))
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

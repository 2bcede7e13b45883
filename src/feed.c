/* feed.c - reading the event store in position order, never past a hole */
#include "feed.h"

#include <inttypes.h>
#include <stdatomic.h>
#include <time.h>

#define HEAD_WINDOW 64 /* the top positions looked at for commits still becoming visible */

static _Atomic uint64_t n_holes;

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};

    nanosleep(&ts, NULL);
}

/*
 * One statement: the run of events from after + 1 up to the first position
 * missing. The rest of the result (past the hole) is dropped.
 */
static int read_run(struct db *db, int64_t after, int64_t limit, feed_row_fn fn, void *ctx,
                    bool *stopped)
{
    int64_t want;
    int rc, got = 0;

    *stopped = false;
    if (after == INT64_MAX) /* no position comes after it */
        return 0;
    want = after + 1;
    if ((rc = db_run_read(db, Q_EVENTS_PAGE, DB_ARGS(DB_I64(after), DB_I64(limit)))))
        return rc;
    while ((rc = db_next(db, Q_EVENTS_PAGE)) == 1) {
        int64_t pos = db_i64(db, Q_EVENTS_PAGE, EV_POSITION);
        if (pos != want) { /* a commit in flight: not visible yet */
            *stopped = true;
            atomic_fetch_add_explicit(&n_holes, 1, memory_order_relaxed);
            db_end(db, Q_EVENTS_PAGE);
            break;
        }
        fn(ctx, db, pos);
        got++;
        want++;
    }
    return rc < 0 ? rc : got;
}

int feed_read(struct db *db, int64_t after, int64_t limit, int waits, feed_row_fn fn, void *ctx,
              bool *stopped)
{
    bool hole = false;
    int got;

    for (int w = 0;; w++) {
        got = read_run(db, after, limit, fn, ctx, &hole);
        if (got != 0 || !hole || w >= waits)
            break;
        sleep_ms(w < 4 ? 1L << w : 16);
    }
    if (stopped)
        *stopped = hole;
    return got;
}

int feed_head(struct db *db, int64_t *head)
{
    int64_t top = 0, low_gap = 0, prev = 0;
    int rc, n = 0;

    /* positions come highest first: any gap among the top ones is a commit in flight */
    if ((rc = db_run_read(db, Q_EVENTS_TOP, DB_ARGS(DB_I64(HEAD_WINDOW)))))
        return rc;
    while ((rc = db_next(db, Q_EVENTS_TOP)) == 1) {
        int64_t pos = db_i64(db, Q_EVENTS_TOP, COL_FIRST);
        if (n++ == 0)
            top = pos;
        else if (pos != prev - 1)
            low_gap = pos + 1; /* the lowest missing position so far */
        prev = pos;
    }
    if (rc < 0)
        return rc;
    /* fewer rows than asked: the store is that short, and position 1 onwards must be there */
    if (n > 0 && n < HEAD_WINDOW && prev != 1)
        low_gap = 1;
    *head = low_gap ? low_gap - 1 : top;
    return DB_OK;
}

void feed_row_json_of(struct sbuf *b, struct db *db, enum q q)
{
    size_t n;
    const char *s;

    sbuf_printf(b, "{\"position\":%" PRId64 ",\"type\":", db_i64(db, q, EV_POSITION));
    s = db_str(db, q, EV_TYPE, &n);
    sbuf_add_json_str(b, s, n);
    sbuf_adds(b, ",\"aggregate_type\":");
    s = db_str(db, q, EV_AGGREGATE_TYPE, &n);
    sbuf_add_json_str(b, s, n);
    sbuf_printf(b, ",\"aggregate_id\":%" PRId64 ",\"aggregate_version\":%" PRId64 ",\"data\":",
                db_i64(db, q, EV_AGGREGATE_ID), db_i64(db, q, EV_AGGREGATE_VERSION));
    s = db_str(db, q, EV_DATA, &n);
    sbuf_add(b, s, n);
    sbuf_adds(b, ",\"command_id\":");
    s = db_str(db, q, EV_COMMAND_ID, &n);
    sbuf_add_json_str(b, s, n);
    sbuf_adds(b, ",\"occurred_at\":");
    s = db_str(db, q, EV_OCCURRED_AT, &n);
    sbuf_add_json_str(b, s, n);
    sbuf_addch(b, '}');
}

void feed_row_json(struct sbuf *b, struct db *db)
{
    feed_row_json_of(b, db, Q_EVENTS_PAGE);
}

uint64_t feed_holes(void)
{
    return atomic_load_explicit(&n_holes, memory_order_relaxed);
}

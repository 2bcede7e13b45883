/* feed.h - reading the event store in position order: the one way every reader does it */
#ifndef CQRSD_FEED_H
#define CQRSD_FEED_H

#include <stdint.h>

#include "db.h"
#include "sbuf.h"

/* Called for each event of a run, in position order; the row is Q_EVENTS_PAGE's current one. */
typedef void (*feed_row_fn)(void *ctx, struct db *db, int64_t position);

/*
 * Read up to `limit` events after `after` as one contiguous run of positions
 * (after + 1, after + 2, …) and pass each to fn. Positions have no permanent
 * holes (a rollback gives its positions back), but MariaDB can make a commit
 * visible a moment after the commit that took the next position (README,
 * "The event store"), so a reader may meet a hole: it stops before it and
 * never passes it. When the hole comes before any event, the read is tried
 * again up to `waits` times, 1, 2, 4 … ms apart (at most 16 ms each), without
 * any lock of the caller held.
 * Returns the number of events passed to fn (0: none yet), or a db rc (< 0).
 * *stopped (may be NULL) tells whether the run ended at a hole.
 */
int feed_read(struct db *db, int64_t after, int64_t limit, int waits, feed_row_fn fn, void *ctx,
              bool *stopped);

/*
 * The head of the feed: the highest position up to which every event is
 * visible (0 for an empty store). Events being committed at the top are not
 * part of it yet. Returns a db rc.
 */
int feed_head(struct db *db, int64_t *head);

/* Append the current row of Q_EVENTS_PAGE as the JSON object of the feed. */
void feed_row_json(struct sbuf *b, struct db *db);
/* The same for any statement with the columns of Q_EVENTS_PAGE (EVENT_COLS in catalog.c). */
void feed_row_json_of(struct sbuf *b, struct db *db, enum q q);

/* For /metrics: the times a reader stopped at a position not yet visible. */
uint64_t feed_holes(void);

#endif

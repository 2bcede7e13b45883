/* events.h - the event store: append (inside a command's transaction) and the feed */
#ifndef CQRSD_EVENTS_H
#define CQRSD_EVENTS_H

#include <jansson.h>
#include <stdint.h>

#include "db.h"

/* One domain event of a command, before it is stored. */
struct event {
    const char *type;
    const char *aggregate_type;
    int64_t aggregate_id, aggregate_version;
    json_t *data; /* owned by whoever queued the event */
};

/*
 * Inside a command's transaction: append its n events (n > 0) under
 * command_id at occurred_at. Takes the positions from event_head (its row
 * stays locked until COMMIT: positions are taken in commit order), inserts
 * the rows, and sets *position to the last one. Returns a db rc.
 */
int events_append(struct db *db, const struct event *ev, int n, const char *command_id,
                  const char *occurred_at, int64_t *position);

#endif

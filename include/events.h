/* events.h - the event store: append (inside a command's transaction) and the feed */
#ifndef CQRSD_EVENTS_H
#define CQRSD_EVENTS_H

#include "cmd.h"

/*
 * Append cx's queued events: take positions from event_head (its row stays
 * locked until COMMIT, so positions become visible in order), insert them,
 * and set cx->position to the last one. Returns a db rc.
 */
int events_append(struct cmd_ctx *cx);

#endif

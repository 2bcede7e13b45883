/* stream.h - live event stream (SSE): a poller thread feeds every client's buffer */
#ifndef CQRSD_STREAM_H
#define CQRSD_STREAM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "evfilter.h"

#include "db.h"
#include "sbuf.h"

struct stream_client;
typedef void (*stream_wake_fn)(void *conn);    /* resume a suspended connection */
typedef void (*stream_suspend_fn)(void *conn); /* suspend it (from its own thread) */

int stream_start(void);
/* End every stream (shutdown): their connections close once drained. */
void stream_end_all(void);
void stream_stop(void);
/*
 * A new client that wants the events after `after`. `fd` is its socket (-1:
 * unknown), peeked at while the connection is suspended to see a hang-up.
 */
struct stream_client *stream_open(int64_t after, const struct event_filter *filter, void *conn,
                                  int fd, stream_wake_fn wake);
/*
 * Copy pending bytes: > 0 bytes copied; 0 nothing yet (the connection was
 * suspended through `suspend`, and is woken when data arrives); -1 the stream
 * ends (dropped as too slow, or shutdown).
 */
long stream_read(struct stream_client *c, char *out, size_t max, stream_suspend_fn suspend);
/* The connection ended. */
void stream_close(struct stream_client *c);
/* New events were committed here: poll now rather than at the next tick. */
void stream_notify(void);
/* For /metrics: streams connected now (opened and not yet freed by the poller). */
long stream_clients(void);
/* For /metrics: streams ended because their client did not read (1 MiB waiting). */
uint64_t stream_dropped(void);

#endif

/* batch.h - GET of one stored document, answered by reader threads in shared statements */
#ifndef CQRSD_BATCH_H
#define CQRSD_BATCH_H

#include <stdint.h>

#include "query.h"
#include "reply.h"

typedef void (*batch_done_fn)(void *conn);

/*
 * One waiting read. The HTTP layer embeds it in its per-request state, so a
 * read allocates nothing here. A reader thread fills `r` (200 with the
 * document and its ETag, 304, 404 or a database problem), then calls
 * done(conn); from that call on the entry belongs to its owner again.
 */
struct batch_entry {
    enum doc_kind kind;
    int64_t id;
    int64_t owner; /* > 0: an order found only when it is this customer's */
    const char *if_none_match; /* the request's header, or NULL */
    int target; /* where to read: a replica, or -1 the primary (replica.h) */
    struct reply *r;
    void *conn;
    batch_done_fn done;
    struct batch_entry *next;
};

/* Start `readers` reader threads (at least 1); -1 when none could start. */
int batch_start(unsigned readers);

/* Queue a read. Returns -1 (nothing queued) when the readers are not running. */
int batch_submit(struct batch_entry *e);

/* Answer what is queued, then stop and join the readers. */
void batch_stop(void);

#endif

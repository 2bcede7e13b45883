/* reply.h - what a handler fills in: status, headers, body (it never sees a socket) */
#ifndef CQRSD_REPLY_H
#define CQRSD_REPLY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "evfilter.h"
#include "sbuf.h"

struct reply {
    int status;                /* 0 until a handler decides */
    const char *content_type;  /* static string */
    struct sbuf body;          /* owned; reply_release frees it */
    char location[96];
    char etag[24];             /* quoted strong ETag, or empty */
    char allow[64];            /* for 405 */
    bool retry_after;          /* 503: add Retry-After */
    bool www_authenticate;     /* 401 */
    bool invalid_token;        /* 401 for a token that was sent: error="invalid_token" */
    bool replayed;             /* Idempotent-Replayed: true */
    bool close;                /* close the connection after this reply */
    bool stream;               /* an event stream from stream_after (status 200) */
    int64_t stream_after;
    struct event_filter stream_filter; /* which events the stream sends */
    int defer_kind;            /* > 0: answer later, by a reader (query.h doc_kind + 1) */
    int64_t defer_id;
    int64_t defer_owner;       /* > 0: only this customer's document is found */
    const char *route;         /* route pattern for logs/metrics (static) */
    char command_type[32];     /* for the log line */
    char command_id[132];
};

void reply_init(struct reply *r);
void reply_release(struct reply *r);
/* Set a JSON body from <s, n> (copied) with the given status. Returns 0. */
int reply_json(struct reply *r, int status, const char *s, size_t n);

#endif

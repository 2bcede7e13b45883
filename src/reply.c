/* reply.c - the response a handler builds */
#include "reply.h"

#include <string.h>

void reply_init(struct reply *r)
{
    memset(r, 0, sizeof(*r));
    r->content_type = "application/json";
}

void reply_release(struct reply *r)
{
    sbuf_release(&r->body);
}

int reply_json(struct reply *r, int status, const char *s, size_t n)
{
    r->status = status;
    r->content_type = "application/json";
    sbuf_reset(&r->body);
    sbuf_add(&r->body, s, n);
    return 0;
}

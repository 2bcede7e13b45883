/*
 * accept.c - POST /commands: parse and name the command, then run it now in
 * its transaction (cmd.c), or accept it for the queue's workers (queue.c)
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>

#include "cmd.h"
#include "handlers.h"
#include "idem.h"
#include "problem.h"
#include "queue.h"
#include "stream.h"

/* A version 4 UUID from the kernel's randomness; -1 when it cannot be had. */
static int make_uuid(char out[37])
{
    unsigned char b[16];
    size_t got = 0;

    while (got < sizeof(b)) {
        ssize_t n = getrandom(b + got, sizeof(b) - got, 0);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return -1; /* no kernel randomness: no id rather than a guessable one */
        got += (size_t)n;
    }
    b[6] = (unsigned char)((b[6] & 0x0f) | 0x40);
    b[8] = (unsigned char)((b[8] & 0x3f) | 0x80);
    snprintf(out, 37,
             "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", b[0], b[1],
             b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13], b[14],
             b[15]);
    return 0;
}

/* An asynchronous command's step in its transaction: store it for a worker (202). */
static int accept_step(struct cmd_tx *t, struct reply *r)
{
    return queue_enqueue(&t->cx, t->envelope, r);
}

/* A key whose row was purged may still name a queued command (queue.c). */
static const struct cmd_tx_hooks sync_hooks = {.key_bound = queue_key_replay,
                                               .committed = stream_notify};
static const struct cmd_tx_hooks accept_hooks = {
    .key_bound = queue_key_replay, .step = accept_step, .committed = queue_notify};

/*
 * Name the parsed command: its command_id (the key, else a new UUID), the
 * log line's fields, the key's digest, this thread's connection. 0, or -1
 * with the problem in r.
 */
static int name_command(struct cmd_tx *t, struct idem *idem, const json_t *root,
                        struct reply *r)
{
    t->cx.type = t->def->type;
    t->cx.data = json_object_get(root, "data");
    t->envelope = root;
    snprintf(r->command_type, sizeof(r->command_type), "%s", t->def->type);
    if (idem->key)
        snprintf(t->cx.command_id, sizeof(t->cx.command_id), "%s", idem->key);
    else if (make_uuid(t->cx.command_id))
        return problem(r, P_INTERNAL, "no command id could be made; retry"), -1;
    snprintf(r->command_id, sizeof(r->command_id), "%s", t->cx.command_id);
    if (idem->key) {
        if (idem_digest(idem, root))
            return problem(r, P_INTERNAL, "out of memory"), -1;
        t->idem = idem;
    }
    if (!(t->cx.db = db_thread()))
        return problem(r, P_INTERNAL, "out of memory"), -1;
    return 0;
}

void handle_command(const struct request *rq, struct reply *r)
{
    struct cmd_tx t;
    struct idem idem;
    json_t *root = NULL;
    int rc;

    cmd_tx_init(&t, NULL);
    if (idem_prepare(&idem, rq, r) || /* 400 */
        cmd_parse(rq->body, rq->body_len, r, &root, &t.def, &t.v) ||
        name_command(&t, &idem, root, r))
        goto out;
    /* the command runs now, or is stored for a worker (its business rules run then) */
    t.hooks = rq->prefer_async ? &accept_hooks : &sync_hooks;
    rc = cmd_tx_run(&t, r);
    if (rc < 0) {
        sbuf_reset(&r->body);
        r->location[0] = '\0';
        if (rc == DB_RETRY || rc == DB_GONE)
            problem(r, P_DATABASE_UNAVAILABLE, "the database did not answer in time; retry");
        else
            problem(r, P_INTERNAL, "the command could not be completed");
    }
out:
    if (t.def)
        cmd_count(t.def->type, r);
    cmd_tx_release(&t);
    idem_release(&idem);
    json_decref(root);
}

/*
 * accept.c - POST /commands: parse and name the command, then run it now in
 * its transaction (cmd.c), or accept it for the queue's workers (queue.c)
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>

#include "authz.h"
#include "cmd.h"
#include "gtid.h"
#include "handlers.h"
#include "idem.h"
#include "problem.h"
#include "queue.h"
#include "replica.h"
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

/*
 * A customer cancels only its own orders: another's is 404, as if it did not
 * exist. A command that runs now checks it on the row it locks
 * (cmd_orders.c); one accepted for later is checked here, when accepted.
 */
static int check_order_owner(struct cmd_tx *t, struct reply *r)
{
    int64_t owner = principal_owner(&t->cx.who);
    int64_t order = json_integer_value(json_object_get(t->cx.data, "order_id"));
    int rc;

    if (!owner || strcmp(t->def->type, "CancelOrder") != 0)
        return 0;
    if ((rc = db_run(t->cx.db, Q_ORDER_OWNER, DB_ARGS(DB_I64(order)))) ||
        (rc = db_next(t->cx.db, Q_ORDER_OWNER)) < 0)
        return rc;
    if (rc == 1) {
        bool mine = db_i64(t->cx.db, Q_ORDER_OWNER, COL_FIRST) == owner;
        db_end(t->cx.db, Q_ORDER_OWNER);
        if (mine)
            return 0;
    }
    return problem(r, P_NOT_FOUND, "no such order"), 0;
}

/* An asynchronous command's step in its transaction: store it for a worker (202). */
static int accept_step(struct cmd_tx *t, struct reply *r)
{
    int rc = check_order_owner(t, r);

    if (rc || r->status)
        return rc;
    return queue_enqueue(&t->cx, t->envelope, r);
}

/* A customer places orders only for itself: 403 (API.md), after validation. */
static int check_place_owner(const struct cmd_tx *t, const json_t *root, struct reply *r)
{
    int64_t owner = principal_owner(&t->cx.who);
    const json_t *c = json_object_get(json_object_get(root, "data"), "customer_id");

    if (!owner || strcmp(t->def->type, "PlaceOrder") != 0 || json_integer_value(c) == owner)
        return 0;
    return problem(r, P_FORBIDDEN, "a customer places orders for itself only"), -1;
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
    t.cx.who = rq->who;
    /* API.md's order: 400, the role by type (401/403), 422, ownership, then the rest */
    if (idem_prepare(&idem, rq, r) || cmd_decode(rq->body, rq->body_len, r, &root) ||
        authz_command(&rq->who, cmd_type_of(root), r) ||
        cmd_check(root, r, &t.def, &t.v) || check_place_owner(&t, root, r) ||
        name_command(&t, &idem, root, r))
        goto out;
    /* the command runs now, or is stored for a worker (its business rules run then) */
    t.hooks = rq->prefer_async ? &accept_hooks : &sync_hooks;
    rc = cmd_tx_run(&t, r);
    if (replica_enabled() && t.cx.db && (r->status == 200 || r->status == 201)) {
        /* what a query sends back to read this write from a replica (API.md) */
        char pos[GTID_TOKEN_MAX + 1];
        if (rc == DB_OK)
            cmd_token_into(&r->body, db_commit_token(t.cx.db));
        else if (r->replayed && db_position_token(t.cx.db, pos, sizeof(pos)) == DB_OK)
            cmd_token_into(&r->body, pos); /* it committed earlier: the primary has it now */
    }
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

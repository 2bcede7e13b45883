/* queue.h - asynchronous commands (Prefer: respond-async): a durable queue in MySQL */
#ifndef CQRSD_QUEUE_H
#define CQRSD_QUEUE_H

#include <jansson.h>

#include "cmd.h"
#include "request.h"

/* Start `workers` threads (0: this daemon runs none); stop them. */
int queue_start(unsigned workers, unsigned max_attempts);
void queue_stop(void);
/* A command was queued here: wake a local worker now. */
void queue_notify(void);

/*
 * Inside the accepting transaction: store the validated envelope under the
 * queue key of cx->command_id and fill r with the 202 answer (Location
 * /commands/{id}).
 */
int queue_enqueue(struct cmd_ctx *cx, const json_t *envelope, struct reply *r);

struct idem;
/*
 * Inside a command's transaction, once its key was claimed: a key whose
 * idempotency row was purged may still name a queued command (kept 7 days,
 * dead letters for ever), and stays bound to it. IDEM_REPLAYED with r
 * holding that command's 202 (the same envelope, compared canonically) or
 * 422 idempotency-key-reused (another one); 0 when it names none; or a db rc.
 */
int queue_key_replay(struct db *db, const struct idem *id, struct reply *r);
/* The stored key of a command id: "<scope>:<id>", the sender's scope (principal.h). */
void queue_key_of(const char *scope, const char *command_id, char *out, size_t cap);
/* "product:42" / "order:7" for commands on an existing aggregate, else "". */
void queue_aggregate_key(const json_t *data, char out[48]);

/*
 * Remove succeeded commands finished more than QUEUE_KEEP_DAYS ago (their
 * keys are then free again, long after the 24 hours API.md promises); failed
 * ones stay for the operator. Run by the idempotency purger's thread.
 */
#define QUEUE_KEEP_DAYS 7
void queue_purge(struct db *db);

/* Queue depth, oldest age and dead letters in Prometheus text (one query). */
void queue_metrics(struct sbuf *b);

void handle_command_status(const struct request *rq, struct reply *r);
void handle_commands_list(const struct request *rq, struct reply *r);

#endif

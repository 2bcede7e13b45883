/* cmd.h - the command pipeline: envelope, validation, transaction, events, acknowledgement */
#ifndef CQRSD_CMD_H
#define CQRSD_CMD_H

#include <jansson.h>
#include <stdint.h>

#include "db.h"
#include "events.h"
#include "jv.h"
#include "principal.h"
#include "reply.h"

#define CMD_MAX_EVENTS 4

/* One command being handled; handlers see it inside the open transaction. */
struct cmd_ctx {
    struct db *db;
    const char *type;
    char command_id[132];
    char now[24]; /* this attempt's time, "YYYY-MM-DD HH:MM:SS.mmm" UTC */
    const json_t *data;
    struct principal who; /* who sent it; a queued command runs as admin, authorized when accepted */
    struct event ev[CMD_MAX_EVENTS];
    int nev;
    int64_t position; /* the last event's position, after the append */
};

/*
 * A command type. `check` (optional) runs after the spec's checks and may add
 * errors of its own; `run` runs inside the transaction and either fills r with
 * a problem (the transaction is rolled back), calls cmd_ack, or returns a
 * negative db rc (retried, or answered 503/500).
 */
struct command_def {
    const char *type;
    const struct jv_field *spec;
    int (*check)(const json_t *data, const struct jv_vals *v, json_t *errors);
    int (*run)(struct cmd_ctx *cx, const struct jv_vals *v, struct reply *r);
};

extern const struct command_def product_commands[];
extern const struct command_def customer_commands[];
extern const struct command_def order_commands[];

/* Queue an event (data stolen) to be appended with the command's changes. */
int cmd_event(struct cmd_ctx *cx, const char *type, const char *aggregate_type,
              int64_t aggregate_id, int64_t aggregate_version, json_t *data);

/*
 * Finish a successful command: append its events, then fill r with the
 * acknowledgement (201 + Location for status 201). Returns a db rc.
 */
int cmd_ack(struct cmd_ctx *cx, struct reply *r, int status, const char *aggregate_type,
            int64_t aggregate_id, int64_t version);

/*
 * The steps of a request body, in API.md's order (the role check on the type
 * comes between them): cmd_decode parses it (400 unless a JSON object, into
 * *root, which the caller frees even on failure); cmd_type_of is its "type"
 * when that is a string, else NULL; cmd_check checks the envelope and the
 * data (422) and sets *def and *v. No database. 0, or -1 with r's problem.
 */
int cmd_decode(const char *body, size_t len, struct reply *r, json_t **root);
const char *cmd_type_of(const json_t *root);
int cmd_check(const json_t *root, struct reply *r, const struct command_def **def,
              struct jv_vals *v);
/* cmd_decode then cmd_check. */
int cmd_parse(const char *body, size_t len, struct reply *r, json_t **root,
              const struct command_def **def, struct jv_vals *v);

/*
 * Add "consistency_token": tok (when tok is not empty) to the JSON object
 * that ends b: a success body, or an asynchronous command's result.
 */
void cmd_token_into(struct sbuf *b, const char *tok);

/* The command type named `type`, or NULL. */
const struct command_def *cmd_find(const char *type);

/* Give metrics.c the name of every command type (at startup, before any thread). */
void cmd_metrics_init(void);

/* Count a command that ended with answer r in cqrsd_commands_total. */
void cmd_count(const char *type, const struct reply *r);

/*=== One command in its transaction ===*/

struct idem;
struct cmd_tx;

/* What differs between the ways a command runs; every hook is optional. */
struct cmd_tx_hooks {
    /*
     * after the key was claimed fresh: does it still name an earlier command?
     * IDEM_REPLAYED with the answer in r, 0 when not, or a db rc
     */
    int (*key_bound)(struct db *db, const struct idem *id, struct reply *r);
    /* first in the transaction: 0 go on, else a db rc (DB_NOTFOUND: nothing to run) */
    int (*claim)(struct cmd_tx *t, struct reply *r);
    /* what runs instead of the command's handler (an async acceptance: the enqueue) */
    int (*step)(struct cmd_tx *t, struct reply *r);
    /* store the answer in r, rejections too, which then commit instead of rolling back */
    int (*record)(struct cmd_tx *t, struct reply *r);
    /* after COMMIT: who to wake (stream_notify, queue_notify) */
    void (*committed)(void);
};

/*
 * One command and how it runs: cmd_tx_run begins a transaction, claims the
 * idempotency key (if any), runs the hooks and the handler, records, commits,
 * and retries deadlocks and lock wait timeouts. Set with cmd_tx_init; the
 * events it queues are its own (cmd_tx_release).
 */
struct cmd_tx {
    struct cmd_ctx cx; /* db, command_id, type, data, events */
    const struct command_def *def;
    struct jv_vals v;
    const json_t *envelope; /* borrowed: the whole command, for the queue */
    struct idem *idem;      /* borrowed: the Idempotency-Key, or NULL */
    const struct cmd_tx_hooks *hooks;
    void *arg; /* the hooks' own state */
};

#define CMD_ANSWERED 1 /* r holds an answer that committed nothing: a replay or a rejection */

void cmd_tx_init(struct cmd_tx *t, struct db *db);
/* Set def, type, data and v from an envelope accepted earlier; DB_ERR if it no longer checks. */
int cmd_tx_load(struct cmd_tx *t, const json_t *envelope);
/* DB_OK (committed), CMD_ANSWERED, or the db rc that ended the last attempt. */
int cmd_tx_run(struct cmd_tx *t, struct reply *r);
void cmd_tx_release(struct cmd_tx *t);


#endif

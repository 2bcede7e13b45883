/* cmd.c - the command pipeline: envelope, validation, one transaction (retried), events, ack */
#include "cmd.h"

#include "auth.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <time.h>

#include "events.h"
#include "stop.h"
#include "timefmt.h"
#include "idem.h"
#include "log.h"
#include "metrics.h"
#include "problem.h"

#define CMD_MAX_ATTEMPTS 6

/*=== Command table ===*/

static const struct command_def *const families[] = {product_commands, customer_commands,
                                                     order_commands};
#define N_FAMILIES (sizeof(families) / sizeof(families[0]))

const struct command_def *cmd_find(const char *type)
{
    if (!type)
        return NULL;
    for (size_t f = 0; f < N_FAMILIES; f++)
        for (const struct command_def *d = families[f]; d->type; d++)
            if (strcmp(d->type, type) == 0)
                return d;
    return NULL;
}

void cmd_metrics_init(void)
{
    const char *names[METRICS_MAX_TYPES];
    size_t n = 0, all = 0;

    for (size_t f = 0; f < N_FAMILIES; f++)
        for (const struct command_def *d = families[f]; d->type; d++)
            if (all++ < METRICS_MAX_TYPES)
                names[n++] = d->type;
    if (all > n)
        log_msg(LOG_LVL_WARN, "metrics: %zu command types, only the first %zu are counted", all, n);
    metrics_command_types(names, n);
}

void cmd_count(const char *type, const struct reply *r)
{
    metrics_command(type, r->replayed        ? OUT_REPLAYED
                          : r->status == 202 ? OUT_ACCEPTED
                          : r->status < 400  ? OUT_SUCCEEDED
                          : r->status < 500  ? OUT_REJECTED
                                             : OUT_FAILED);
}

/*=== Helpers for handlers ===*/

int cmd_event(struct cmd_ctx *cx, const char *type, const char *aggregate_type,
              int64_t aggregate_id, int64_t aggregate_version, json_t *data)
{
    struct event *e;

    if (!data || cx->nev >= CMD_MAX_EVENTS) {
        json_decref(data);
        return DB_ERR;
    }
    e = &cx->ev[cx->nev++];
    e->type = type;
    e->aggregate_type = aggregate_type;
    e->aggregate_id = aggregate_id;
    e->aggregate_version = aggregate_version;
    e->data = data;
    return DB_OK;
}

static void events_clear(struct cmd_ctx *cx)
{
    for (int i = 0; i < cx->nev; i++)
        json_decref(cx->ev[i].data);
    cx->nev = 0;
}

static const char *collection_of(const char *aggregate_type)
{
    if (strcmp(aggregate_type, "product") == 0)
        return "products";
    if (strcmp(aggregate_type, "customer") == 0)
        return "customers";
    return "orders";
}

int cmd_ack(struct cmd_ctx *cx, struct reply *r, int status, const char *aggregate_type,
            int64_t aggregate_id, int64_t version)
{
    int rc = events_append(cx->db, cx->ev, cx->nev, cx->command_id, cx->now, &cx->position);

    if (rc)
        return rc;
    r->status = status;
    r->content_type = "application/json";
    sbuf_reset(&r->body);
    sbuf_adds(&r->body, "{\"command_id\":");
    sbuf_add_json_str(&r->body, cx->command_id, strlen(cx->command_id));
    sbuf_adds(&r->body, ",\"type\":");
    sbuf_add_json_str(&r->body, cx->type, strlen(cx->type));
    sbuf_adds(&r->body, ",\"status\":\"succeeded\",\"aggregate_type\":");
    sbuf_add_json_str(&r->body, aggregate_type, strlen(aggregate_type));
    sbuf_printf(&r->body,
                ",\"aggregate_id\":%" PRId64 ",\"version\":%" PRId64 ",\"position\":%" PRId64 "}",
                aggregate_id, version, cx->position);
    if (status == 201)
        snprintf(r->location, sizeof(r->location), "/queries/%s/%" PRId64,
                 collection_of(aggregate_type), aggregate_id);
    return DB_OK;
}

void cmd_token_into(struct sbuf *b, const char *tok)
{
    if (!tok || !tok[0] || b->oom || b->len < 2 || b->buf[b->len - 1] != '}')
        return;
    b->len--;
    sbuf_adds(b, ",\"consistency_token\":");
    sbuf_add_json_str(b, tok, strlen(tok));
    sbuf_addch(b, '}');
}

static void backoff(int attempt)
{
    unsigned char j = 0;
    struct timespec ts;
    long ms;

    if (getrandom(&j, 1, 0) != 1)
        j = 7;
    ms = (2L << attempt) + j % (4L << attempt); /* 2-6, 4-12, 8-24 ... ms */
    ts.tv_sec = ms / 1000;
    ts.tv_nsec = (ms % 1000) * 1000000L;
    nanosleep(&ts, NULL);
}

/*=== Envelope ===*/

/* Check a command's data against its type: the spec, then its own check. The error count. */
static int check_data(const struct command_def *def, const json_t *data, struct jv_vals *v,
                      json_t *errors)
{
    int nerr = jv_check(data, "data", def->spec, v, errors);

    if (def->check)
        nerr += def->check(data, v, errors);
    return nerr;
}

/*
 * Parse and check the envelope and its data. On success *root (the parsed
 * body), *def and *v are set and 0 is returned; otherwise r holds the
 * problem (400/422). *root is the caller's to free either way.
 */
int cmd_decode(const char *body, size_t len, struct reply *r, json_t **root)
{
    json_error_t jerr;

    *root = json_loadb(body, len, JSON_REJECT_DUPLICATES, &jerr);
    if (!*root)
        return problem(r, P_MALFORMED_JSON, "the body is not valid JSON (line %d, column %d)",
                       jerr.line, jerr.column), -1;
    if (!json_is_object(*root))
        return problem(r, P_MALFORMED_JSON, "the body must be a JSON object"), -1;
    return 0;
}

const char *cmd_type_of(const json_t *root)
{
    return json_string_value(json_object_get(root, "type"));
}

int cmd_check(const json_t *root, struct reply *r, const struct command_def **def,
              struct jv_vals *v)
{
    json_t *errors, *type, *data;
    const char *key;
    json_t *m;
    int nerr = 0;

    errors = json_array();
    if (!errors)
        return problem(r, P_INTERNAL, "out of memory"), -1;
    json_object_foreach((json_t *)root, key, m) {
        if (strcmp(key, "type") != 0 && strcmp(key, "data") != 0) {
            jv_error(errors, key, "is not allowed");
            nerr++;
        }
    }
    type = json_object_get(root, "type");
    data = json_object_get(root, "data");
    if (!type || !json_is_string(type)) {
        jv_error(errors, "type", type ? "must be a string" : "is required");
        nerr++;
    }
    if (!data || !json_is_object(data)) {
        jv_error(errors, "data", data ? "must be an object" : "is required");
        nerr++;
    }
    *def = type && json_is_string(type) ? cmd_find(json_string_value(type)) : NULL;
    if (type && json_is_string(type) && !*def) {
        if (nerr == 0) {
            json_decref(errors);
            return problem(r, P_UNKNOWN_COMMAND, "'%.64s' is not a command",
                           json_string_value(type)), -1;
        }
    }
    if (*def && data && json_is_object(data))
        nerr += check_data(*def, data, v, errors);
    if (nerr) {
        json_t *extra = json_object();
        json_object_set_new(extra, "errors", errors);
        return problem_ext(r, P_VALIDATION_FAILED, extra, "%d %s invalid", nerr,
                           nerr == 1 ? "field is" : "fields are"), -1;
    }
    json_decref(errors);
    return 0;
}

int cmd_parse(const char *body, size_t len, struct reply *r, json_t **root,
              const struct command_def **def, struct jv_vals *v)
{
    *def = NULL;
    if (cmd_decode(body, len, r, root))
        return -1;
    return cmd_check(*root, r, def, v);
}

/*=== One command in its transaction ===*/

void cmd_tx_init(struct cmd_tx *t, struct db *db)
{
    memset(t, 0, sizeof(*t));
    t->cx.db = db;
    auth_admin(&t->cx.who); /* a queued command: authorized when it was accepted */
}

void cmd_tx_release(struct cmd_tx *t)
{
    events_clear(&t->cx);
}

int cmd_tx_load(struct cmd_tx *t, const json_t *envelope)
{
    const json_t *data = json_object_get(envelope, "data");
    const struct command_def *def = cmd_find(json_string_value(json_object_get(envelope, "type")));
    json_t *errors;
    int nerr;

    if (!def || !json_is_object(data) || !(errors = json_array()))
        return DB_ERR;
    nerr = check_data(def, data, &t->v, errors);
    json_decref(errors);
    if (nerr) /* it was valid when accepted: the rules cannot have changed */
        return DB_ERR;
    t->def = def;
    t->cx.type = def->type;
    t->cx.data = data;
    return DB_OK;
}

/*
 * Claim the command's key, first in the transaction: 0 when it is ours,
 * CMD_ANSWERED when r holds the answer (a replay, or 422 for another
 * envelope), or a db rc. A key whose row was purged may still name a queued
 * command (the key_bound hook looks): it stays bound to it.
 */
static int claim_key(struct cmd_tx *t, struct reply *r)
{
    int rc = idem_claim(t->idem, t->cx.db, t->cx.now, r);

    if (rc == DB_OK && t->hooks->key_bound)
        rc = t->hooks->key_bound(t->cx.db, t->idem, r);
    return rc == IDEM_REPLAYED ? CMD_ANSWERED : rc;
}

/*
 * One attempt: begin, claim, run, record, commit. DB_OK when it committed
 * (then the `committed` hook ran), CMD_ANSWERED when r holds an answer that
 * commits nothing, else a db rc; anything but DB_OK is rolled back.
 * *at_commit tells whether a failure came from COMMIT itself.
 */
static int tx_attempt(struct cmd_tx *t, struct reply *r, bool *at_commit)
{
    const struct cmd_tx_hooks *h = t->hooks;
    int rc;

    events_clear(&t->cx);
    t->cx.position = 0;
    r->status = 0;
    r->location[0] = '\0';
    *at_commit = false;
    timefmt_db(0, t->cx.now);
    if ((rc = db_begin(t->cx.db)) || (t->idem && (rc = claim_key(t, r))) ||
        (h->claim && (rc = h->claim(t, r))))
        goto out;
    rc = h->step ? h->step(t, r) : t->def->run(&t->cx, &t->v, r);
    if (rc == DB_OK && r->status == 0)
        rc = DB_ERR;
    if (rc == DB_OK && r->status >= 400 && !h->record) /* a business rule said no */
        rc = CMD_ANSWERED;
    if (rc == DB_OK && h->record)
        rc = h->record(t, r);
    if (rc == DB_OK && t->idem && r->status < 400)
        rc = idem_record(t->idem, t->cx.db, r);
    if (rc)
        goto out;
    *at_commit = true;
    if ((rc = db_commit(t->cx.db)) == DB_OK && h->committed)
        h->committed();
out:
    if (rc)
        db_rollback(t->cx.db);
    return rc;
}

int cmd_tx_run(struct cmd_tx *t, struct reply *r)
{
    static const struct cmd_tx_hooks none = {0};
    int rc = DB_ERR, lock_timeouts = 0;
    bool at_commit;

    if (!t->hooks)
        t->hooks = &none;
    for (int attempt = 0; attempt < CMD_MAX_ATTEMPTS; attempt++) {
        if (attempt)
            backoff(attempt);
        rc = tx_attempt(t, r, &at_commit);
        if (rc == DB_OK || rc == CMD_ANSWERED)
            break;
        if (rc == DB_GONE && at_commit) /* the outcome is unknown: the key will settle it */
            break;
        if (stop_requested()) /* shutting down: answer now rather than retry */
            break;
        /* deadlocks are retried; a lock wait timeout (5 s) only once: bounded at ~10 s */
        if (rc == DB_RETRY && !(db_was_lock_timeout(t->cx.db) && lock_timeouts++ >= 1)) {
            metrics_retry();
            continue;
        }
        if (rc == DB_GONE && attempt == 0) /* reconnect once: nothing was committed */
            continue;
        break;
    }
    return rc;
}

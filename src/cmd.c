/* cmd.c - POST /commands: envelope -> validate -> transaction (retried) -> events -> ack */
#include "cmd.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <time.h>

#include "events.h"
#include "handlers.h"
#include "http.h"
#include "idem.h"
#include "log.h"
#include "metrics.h"
#include "stream.h"
#include "problem.h"
#include "queue.h"

#define CMD_MAX_ATTEMPTS 6

/*=== Command table ===*/

const struct command_def *cmd_find(const char *type)
{
    if (!type)
        return NULL;
    static const struct command_def *const families[] = {product_commands, customer_commands,
                                                         order_commands};
    for (size_t f = 0; f < sizeof(families) / sizeof(families[0]); f++)
        for (const struct command_def *d = families[f]; d->type; d++)
            if (strcmp(d->type, type) == 0)
                return d;
    return NULL;
}

/*=== Helpers for handlers ===*/

void cmd_now(char out[24])
{
    struct timespec ts;
    struct tm tm;

    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    strftime(out, 20, "%Y-%m-%d %H:%M:%S", &tm);
    snprintf(out + 19, 5, ".%03u", (unsigned)(ts.tv_nsec / 1000000) % 1000u);
}

int cmd_event(struct cmd_ctx *cx, const char *type, const char *aggregate_type,
              int64_t aggregate_id, int64_t aggregate_version, json_t *data)
{
    struct cmd_event *e;

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
    int rc = events_append(cx);

    if (rc)
        return rc;
    r->status = status;
    r->content_type = "application/json";
    sbuf_reset(&r->body);
    sbuf_adds(&r->body, "{\"command_id\":");
    sbuf_add_json_str(&r->body, cx->command_id, strlen(cx->command_id));
    sbuf_printf(&r->body,
                ",\"type\":\"%s\",\"status\":\"succeeded\",\"aggregate_type\":\"%s\","
                "\"aggregate_id\":%" PRId64 ",\"version\":%" PRId64 ",\"position\":%" PRId64 "}",
                cx->type, aggregate_type, aggregate_id, version, cx->position);
    if (status == 201)
        snprintf(r->location, sizeof(r->location), "/queries/%s/%" PRId64,
                 collection_of(aggregate_type), aggregate_id);
    return DB_OK;
}

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

/*
 * Parse and check the envelope and its data. On success *def, *data and *v
 * are set and 0 is returned; otherwise r holds the problem (400/422).
 */
int cmd_parse(const char *body, size_t len, struct reply *r, json_t **root,
              const struct command_def **def, struct jv_vals *v)
{
    json_error_t jerr;
    json_t *errors = NULL, *type, *data;
    const char *key;
    json_t *m;
    int nerr = 0;

    *root = json_loadb(body, len, JSON_REJECT_DUPLICATES, &jerr);
    if (!*root)
        return problem(r, P_MALFORMED_JSON, "the body is not valid JSON (line %d, column %d)",
                       jerr.line, jerr.column), -1;
    if (!json_is_object(*root))
        return problem(r, P_MALFORMED_JSON, "the body must be a JSON object"), -1;
    errors = json_array();
    if (!errors)
        return problem(r, P_INTERNAL, "out of memory"), -1;
    json_object_foreach(*root, key, m) {
        if (strcmp(key, "type") != 0 && strcmp(key, "data") != 0) {
            jv_error(errors, key, "is not allowed");
            nerr++;
        }
    }
    type = json_object_get(*root, "type");
    data = json_object_get(*root, "data");
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
    if (*def && data && json_is_object(data)) {
        nerr += jv_check(data, "data", (*def)->spec, v, errors);
        if ((*def)->check)
            nerr += (*def)->check(data, v, errors);
    }
    if (nerr) {
        json_t *extra = json_object();
        json_object_set_new(extra, "errors", errors);
        return problem_ext(r, P_VALIDATION_FAILED, extra, "%d %s invalid", nerr,
                           nerr == 1 ? "field is" : "fields are"), -1;
    }
    json_decref(errors);
    return 0;
}

/*=== The pipeline ===*/

void handle_command(const struct request *rq, struct reply *r)
{
    struct cmd_ctx cx;
    const struct command_def *def = NULL;
    struct jv_vals v;
    json_t *root = NULL;
    struct idem idem;
    int rc = DB_OK;
    bool async = rq->prefer_async;
    int lock_timeouts = 0;
    char qkey[200] = "";

    memset(&cx, 0, sizeof(cx));
    if (idem_prepare(&idem, rq, r))
        goto out; /* 400 */
    if (cmd_parse(rq->body, rq->body_len, r, &root, &def, &v))
        goto out;
    cx.type = def->type;
    cx.data = json_object_get(root, "data");
    snprintf(r->command_type, sizeof(r->command_type), "%s", def->type);
    if (idem.key)
        snprintf(cx.command_id, sizeof(cx.command_id), "%s", idem.key);
    else if (make_uuid(cx.command_id)) {
        problem(r, P_INTERNAL, "no command id could be made; retry");
        goto out;
    }
    snprintf(r->command_id, sizeof(r->command_id), "%s", cx.command_id);
    if (async)
        queue_key_of(cx.command_id, qkey, sizeof(qkey));
    if (idem.key && idem_digest(&idem, root)) {
        problem(r, P_INTERNAL, "out of memory");
        goto out;
    }
    cx.db = db_thread();
    if (!cx.db) {
        problem(r, P_INTERNAL, "out of memory");
        goto out;
    }
    for (int attempt = 0; attempt < CMD_MAX_ATTEMPTS; attempt++) {
        if (attempt)
            backoff(attempt);
        events_clear(&cx);
        cx.position = 0;
        r->status = 0;
        r->location[0] = '\0';
        cmd_now(cx.now);
        if ((rc = db_begin(cx.db)))
            goto failed;
        if (idem.key) {
            rc = idem_claim(&idem, cx.db, cx.now, r);
            if (rc == IDEM_REPLAYED) {
                db_rollback(cx.db);
                rc = DB_OK;
                goto out;
            }
            if (rc)
                goto failed;
        }
        /* the command runs now, or is stored for a worker (business rules run then) */
        rc = async ? queue_enqueue(&cx, qkey, root, r) : def->run(&cx, &v, r);
        if (rc == DB_OK && r->status >= 400) { /* a business rule said no */
            db_rollback(cx.db);
            goto out;
        }
        if (rc == DB_OK && r->status == 0)
            rc = DB_ERR;
        if (rc == DB_OK && idem.key)
            rc = idem_record(&idem, cx.db, r);
        if (rc == DB_OK) {
            rc = db_commit(cx.db);
            if (rc == DB_GONE) /* the outcome is unknown: the key will settle it */
                break;
            if (rc == DB_OK && async)
                queue_notify(); /* a local worker takes it at once */
            else if (rc == DB_OK)
                stream_notify(); /* live streams get the new events now */
        }
        if (rc == DB_OK)
            goto out;
    failed:
        db_rollback(cx.db);
        if (http_stopping()) /* shutting down: answer now rather than retry */
            break;
        /* deadlocks are retried; a lock wait timeout (5 s) only once: bounded at ~10 s */
        if (rc == DB_RETRY && !(db_was_lock_timeout(cx.db) && lock_timeouts++ >= 1)) {
            metrics_retry();
            continue;
        }
        if (rc == DB_GONE && attempt == 0) /* reconnect once: nothing was committed */
            continue;
        break;
    }
    sbuf_reset(&r->body);
    r->location[0] = '\0';
    if (rc == DB_RETRY || rc == DB_GONE)
        problem(r, P_DATABASE_UNAVAILABLE, "the database did not answer in time; retry");
    else
        problem(r, P_INTERNAL, "the command could not be completed");
out:
    if (def)
        metrics_command(def->type, r->replayed       ? OUT_REPLAYED
                                   : r->status < 400 ? OUT_SUCCEEDED
                                   : r->status < 500 ? OUT_REJECTED
                                                     : OUT_FAILED);
    events_clear(&cx);
    idem_release(&idem);
    json_decref(root);
}

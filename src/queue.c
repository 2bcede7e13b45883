/* queue.c - asynchronous commands: enqueue, workers (claim, lease, run, record), status */
#include "queue.h"

#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include "cursor.h"
#include "gtid.h"
#include "handlers.h"
#include "idem.h"
#include "log.h"
#include "periodic.h"
#include "problem.h"
#include "query.h"
#include "replica.h"
#include "stream.h"
#include "timefmt.h"

#define LEASE_S 10       /* a worker that died is replaced after this */
#define POLL_MS 500      /* how often idle workers look for other daemons' commands */
#define MAX_WORKERS 64

/* A worker: its thread (periodic.c), its connection, its lease token. */
struct worker {
    struct periodic thread;
    struct db *db;
    char owner[33];
};

static struct {
    struct worker workers[MAX_WORKERS];
    unsigned n;
    unsigned max_attempts;
} g;

/*=== Helpers ===*/

void queue_key_of(const char *scope, const char *command_id, char *out, size_t cap)
{
    snprintf(out, cap, "%s:%s", scope, command_id);
}

/* 'product:42' or 'order:7' for commands on an existing aggregate; "" otherwise. */
void queue_aggregate_key(const json_t *data, char out[48])
{
    const json_t *p = json_object_get(data, "product_id");
    const json_t *o = json_object_get(data, "order_id");

    out[0] = '\0';
    if (json_object_get(data, "items")) /* PlaceOrder is not ordered by its products */
        return;
    if (json_is_integer(o))
        snprintf(out, 48, "order:%" JSON_INTEGER_FORMAT, json_integer_value(o));
    else if (json_is_integer(p))
        snprintf(out, 48, "product:%" JSON_INTEGER_FORMAT, json_integer_value(p));
}

/* Is <s, n> (a status from the database) exactly `want`? */
static bool status_is(const char *s, size_t n, const char *want)
{
    return n == strlen(want) && memcmp(s, want, n) == 0;
}

/* Append s as a path segment, percent-encoding all but unreserved characters. */
static void add_pct(struct sbuf *b, const char *s)
{
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
            c == '-' || c == '_' || c == '.' || c == '~')
            sbuf_addch(b, (char)c);
        else
            sbuf_printf(b, "%%%02X", c);
    }
}

/*=== Enqueue (inside the command's transaction, from cmd.c) ===*/

/* The 202 answer of an accepted command: its id and type, Location /commands/{id}. */
static void accepted_reply(struct reply *r, const char *command_id, const char *type)
{
    struct sbuf loc = SBUF_INIT;

    r->status = 202;
    r->content_type = "application/json";
    sbuf_reset(&r->body);
    sbuf_adds(&r->body, "{\"command_id\":");
    sbuf_add_json_str(&r->body, command_id, strlen(command_id));
    sbuf_adds(&r->body, ",\"type\":");
    sbuf_add_json_str(&r->body, type, strlen(type));
    sbuf_adds(&r->body, ",\"status\":\"queued\"}");
    sbuf_adds(&loc, "/commands/");
    add_pct(&loc, command_id);
    if (!loc.oom && loc.len < sizeof(r->location))
        memcpy(r->location, loc.buf, loc.len + 1);
    sbuf_release(&loc);
}

int queue_enqueue(struct cmd_ctx *cx, const json_t *envelope, struct reply *r)
{
    char agg[48], key[200], *text;
    int rc;

    queue_key_of(cx->who.scope, cx->command_id, key, sizeof(key));
    queue_aggregate_key(cx->data, agg);
    text = json_dumps(envelope, JSON_COMPACT);
    if (!text)
        return DB_ERR;
    rc = db_run(cx->db, Q_QUEUE_INSERT,
                DB_ARGS(DB_STR(key, strlen(key)), DB_STR(cx->command_id, strlen(cx->command_id)),
                        DB_STR(cx->type, strlen(cx->type)), DB_STR(text, strlen(text)),
                        agg[0] ? DB_STR(agg, strlen(agg)) : DB_NULL,
                        DB_STR(cx->now, strlen(cx->now)), DB_STR(cx->now, strlen(cx->now))));
    free(text);
    if (rc == DB_DUP) /* a command id without a key collided: practically never */
        return DB_RETRY;
    if (rc)
        return rc;
    accepted_reply(r, cx->command_id, cx->type);
    return DB_OK;
}

int queue_key_replay(struct db *db, const struct idem *id, struct reply *r)
{
    char command_id[132], type[33];
    const char *s;
    json_t *env;
    size_t n;
    int rc, same;

    /* a queued command's key is its command id (the Idempotency-Key) in the same scope */
    if ((rc = db_run(db, Q_QUEUE_BOUND, DB_ARGS(DB_STR(id->stored, strlen(id->stored))))) ||
        (rc = db_next(db, Q_QUEUE_BOUND)) <= 0)
        return rc; /* 0: the key names no queued command */
    s = db_str(db, Q_QUEUE_BOUND, QB_COMMAND_ID, &n);
    snprintf(command_id, sizeof(command_id), "%.*s", (int)n, s);
    s = db_str(db, Q_QUEUE_BOUND, QB_TYPE, &n);
    snprintf(type, sizeof(type), "%.*s", (int)n, s);
    s = db_str(db, Q_QUEUE_BOUND, QB_ENVELOPE, &n);
    env = json_loadb(s, n, JSON_REJECT_DUPLICATES, NULL);
    db_end(db, Q_QUEUE_BOUND);
    same = env ? idem_same_envelope(id, env) : -1;
    json_decref(env);
    if (same < 0)
        return DB_ERR;
    if (!same)
        return problem(r, P_IDEMPOTENCY_KEY_REUSED,
                       "this Idempotency-Key was used with a different command"),
               IDEM_REPLAYED;
    accepted_reply(r, command_id, type); /* the very 202 it was accepted with */
    r->replayed = true;
    return IDEM_REPLAYED;
}

/*
 * Every local worker looks at once (a busy one right after its command);
 * their claims skip what another has taken.
 */
void queue_notify(void)
{
    for (unsigned i = 0; i < g.n; i++)
        periodic_kick(&g.workers[i].thread);
}

/*=== Workers ===*/

/* The command a worker claimed. */
struct claimed {
    struct worker *w;
    int64_t seq;
    int attempts;  /* its runs, this one included */
    char type[33]; /* for cqrsd_commands_total, known before it is loaded */
    json_t *env;   /* its envelope, loaded in the run's transaction */
};

/* Claim the next ready command: mark it running under our lease. 1 claimed, 0 none, < 0 rc. */
static int claim(struct worker *w, struct claimed *c)
{
    char now[24], until[24];
    const char *s;
    size_t n;
    int rc;

    timefmt_db(0, now);
    timefmt_db(LEASE_S * 1000L, until);
    if ((rc = db_begin(w->db)))
        return rc;
    for (int k = 0; k < 2; k++) { /* ready ones first, then expired leases */
        enum q q = k == 0 ? Q_QUEUE_CLAIM : Q_QUEUE_CLAIM_EXPIRED;
        if ((rc = db_run(w->db, q, DB_ARGS(DB_STR(now, strlen(now))))) ||
            (rc = db_next(w->db, q)) < 0) {
            db_rollback(w->db);
            return rc;
        }
        if (rc == 1) {
            c->seq = db_i64(w->db, q, QC_SEQ);
            /* the run it is claimed for counts */
            c->attempts = (int)db_i64(w->db, q, QC_ATTEMPTS) + 1;
            s = db_str(w->db, q, QC_TYPE, &n);
            snprintf(c->type, sizeof(c->type), "%.*s", (int)n, s);
            db_end(w->db, q);
            break;
        }
    }
    if (rc == 0) {
        db_rollback(w->db);
        return 0;
    }
    if ((rc = db_run(w->db, Q_QUEUE_MARK_RUNNING, DB_ARGS(DB_STR(w->owner, 32), DB_STR(until,
                                                          strlen(until)), DB_I64(c->seq)))) ||
        (rc = db_commit(w->db))) {
        db_rollback(w->db);
        return rc;
    }
    return 1;
}

/*
 * Give the command back after an infrastructure failure, wherever its run
 * failed: retry later, or, after its last attempt, fail for good (a dead
 * letter, counted as failed).
 */
static void give_back(const struct claimed *c, const char *why)
{
    struct db *db = c->w->db;
    char now[24], next[24];
    struct reply r;
    bool dead = c->attempts >= (int)g.max_attempts;
    const char *status = dead ? "failed" : "queued";
    long backoff = 200L << (c->attempts < 8 ? c->attempts : 8); /* 0.4 s, 0.8 s, ... 51 s */
    unsigned char j = 0;

    if (getrandom(&j, 1, 0) == 1)
        backoff += backoff * j / 512; /* + up to 50 % jitter */
    reply_init(&r);
    problem(&r, P_DATABASE_UNAVAILABLE, "%s (attempt %d of %u)", why, c->attempts,
            g.max_attempts);
    timefmt_db(0, now);
    timefmt_db(backoff, next);
    if (db_run(db, Q_QUEUE_RETRY,
               DB_ARGS(DB_STR(status, strlen(status)), DB_STR(r.body.buf, r.body.len),
                       DB_STR(next, strlen(next)), dead ? DB_STR(now, strlen(now)) : DB_NULL,
                       DB_I64(c->seq), DB_STR(c->w->owner, 32))) == DB_OK &&
        db_affected(db, Q_QUEUE_RETRY) == 1 && dead) { /* still ours, and now a dead letter */
        log_msg(LOG_LVL_WARN, "queue: command %" PRId64 " failed after %d attempts", c->seq,
                c->attempts);
        cmd_count(c->type, &r); /* its outcome: failed (r is its 503) */
    }
    reply_release(&r);
}

/*
 * First in the run's transaction: lock the command's row, check the lease
 * is still ours (DB_NOTFOUND: another worker took it over), load the
 * command, and set the savepoint that a rejection rolls back to.
 */
static int load_claimed(struct cmd_tx *t, struct reply *r)
{
    struct claimed *c = t->arg;
    struct db *db = t->cx.db;
    const char *s;
    size_t n;
    bool ours;
    int rc;

    (void)r;
    if ((rc = db_run(db, Q_QUEUE_LOAD, DB_ARGS(DB_I64(c->seq)))) ||
        (rc = db_next(db, Q_QUEUE_LOAD)) < 0)
        return rc;
    if (rc == 0)
        return DB_NOTFOUND;
    s = db_str(db, Q_QUEUE_LOAD, QL_STATUS, &n);
    ours = n == 7 && memcmp(s, "running", 7) == 0;
    s = db_str(db, Q_QUEUE_LOAD, QL_LEASE_OWNER, &n);
    if (!ours || n != 32 || memcmp(s, c->w->owner, 32) != 0) {
        db_end(db, Q_QUEUE_LOAD);
        return DB_NOTFOUND;
    }
    s = db_str(db, Q_QUEUE_LOAD, QL_COMMAND_ID, &n);
    snprintf(t->cx.command_id, sizeof(t->cx.command_id), "%.*s", (int)n, s);
    s = db_str(db, Q_QUEUE_LOAD, QL_ENVELOPE, &n);
    json_decref(c->env);
    c->env = json_loadb(s, n, JSON_REJECT_DUPLICATES, NULL);
    db_end(db, Q_QUEUE_LOAD);
    if (!c->env || (rc = cmd_tx_load(t, c->env)))
        return DB_ERR;
    return db_savepoint(db);
}

/*
 * Last in the run's transaction: record the outcome in the command's row,
 * the acknowledgement as `result`, or a rule's problem as `error` (its
 * effects rolled back to the savepoint: recorded once, not retried).
 */
static int record_outcome(struct cmd_tx *t, struct reply *r)
{
    struct claimed *c = t->arg;
    char done_at[24];
    bool ok = r->status < 400;
    int rc;

    timefmt_db(0, done_at); /* finished now, after the command ran */
    if (!ok && (rc = db_rollback_savepoint(t->cx.db)))
        return rc;
    return db_run(t->cx.db, Q_QUEUE_FINISH,
                  DB_ARGS(ok ? DB_STR("succeeded", 9) : DB_STR("failed", 6),
                          ok ? DB_STR(r->body.buf, r->body.len) : DB_NULL,
                          ok ? DB_NULL : DB_STR(r->body.buf, r->body.len),
                          DB_STR(done_at, strlen(done_at)), DB_I64(c->seq)));
}

static const struct cmd_tx_hooks run_hooks = {
    .claim = load_claimed, .record = record_outcome, .committed = stream_notify};

/*
 * Run a claimed command through the command pipeline (cmd_tx_run: one
 * transaction, deadlocks retried), its outcome recorded in its row. Returns
 * a db rc; a rule's rejection is an outcome (DB_OK).
 */
static int run_claimed(struct claimed *c)
{
    struct cmd_tx t;
    struct reply r;
    int rc;

    cmd_tx_init(&t, c->w->db);
    t.hooks = &run_hooks;
    t.arg = c;
    reply_init(&r);
    if ((rc = cmd_tx_run(&t, &r)) == DB_OK)
        cmd_count(c->type, &r); /* succeeded, or rejected by a rule */
    cmd_tx_release(&t);
    json_decref(c->env);
    c->env = NULL;
    reply_release(&r);
    return rc;
}

/*
 * One round of a worker (periodic.c runs it again after the delay it
 * returns, or at once when a local 202 kicks): claim a command and run it,
 * then look for the next one at once; with none, wait POLL_MS (other
 * daemons' commands are found so).
 */
static long worker_round(void *ctx)
{
    struct worker *w = ctx;
    struct claimed c = {.w = w};
    int rc;

    w->db = db_thread();
    rc = w->db ? claim(w, &c) : DB_ERR;
    if (rc != 1)
        return POLL_MS;
    rc = run_claimed(&c);
    if (rc && rc != DB_NOTFOUND) /* DB_NOTFOUND: no longer ours */
        give_back(&c, rc == DB_ERR ? "the command could not be completed"
                                   : "the database did not answer in time");
    return 0;
}

static void worker_done(void *ctx)
{
    (void)ctx;
    db_thread_release();
}

int queue_start(unsigned workers, unsigned max_attempts)
{
    g.max_attempts = max_attempts;
    for (g.n = 0; g.n < workers && g.n < MAX_WORKERS; g.n++) {
        struct worker *w = &g.workers[g.n];
        unsigned char rnd[16];
        if (getrandom(rnd, sizeof(rnd), 0) != (ssize_t)sizeof(rnd))
            return -1; /* no lease token that another daemon could not guess */
        for (int i = 0; i < 16; i++)
            snprintf(w->owner + 2 * i, 3, "%02x", rnd[i]);
        if (periodic_start(&w->thread, worker_round, worker_done, w, POLL_MS))
            return -1;
    }
    return 0;
}

void queue_stop(void)
{
    for (unsigned i = 0; i < g.n; i++)
        periodic_stop(&g.workers[i].thread);
    g.n = 0;
}

/*=== GET /commands/{id} and GET /commands ===*/

/*
 * The status object of the current row of q (columns of QUEUE_COLS); a
 * result gets `token` (the primary's position, read after the row).
 */
static void status_json_token(struct sbuf *b, struct db *db, enum q q, const char *token)
{
    size_t n;
    const char *s;

    sbuf_adds(b, "{\"command_id\":");
    s = db_str(db, q, QS_COMMAND_ID, &n);
    sbuf_add_json_str(b, s, n);
    sbuf_adds(b, ",\"type\":");
    s = db_str(db, q, QS_TYPE, &n);
    sbuf_add_json_str(b, s, n);
    sbuf_adds(b, ",\"status\":");
    s = db_str(db, q, QS_STATUS, &n);
    sbuf_add_json_str(b, s, n);
    if (!db_null(db, q, QS_RESULT)) {
        sbuf_adds(b, ",\"result\":");
        s = db_str(db, q, QS_RESULT, &n);
        sbuf_add(b, s, n);
        cmd_token_into(b, token);
    } else if (!db_null(db, q, QS_ERROR) && (s = db_str(db, q, QS_STATUS, &n)) &&
               status_is(s, n, "failed")) {
        sbuf_adds(b, ",\"error\":");
        s = db_str(db, q, QS_ERROR, &n);
        sbuf_add(b, s, n);
    }
    sbuf_printf(b, ",\"attempts\":%" PRId64 ",\"created_at\":", db_i64(db, q, QS_ATTEMPTS));
    s = db_str(db, q, QS_CREATED_AT, &n);
    sbuf_add_json_str(b, s, n);
    sbuf_adds(b, ",\"finished_at\":");
    if (db_null(db, q, QS_FINISHED_AT)) {
        sbuf_adds(b, "null");
    } else {
        s = db_str(db, q, QS_FINISHED_AT, &n);
        sbuf_add_json_str(b, s, n);
    }
    sbuf_addch(b, '}');
}

static void status_json(struct sbuf *b, struct db *db, enum q q)
{
    status_json_token(b, db, q, NULL);
}

/*
 * Look a command up by its stored key, or (key NULL) by its id in any scope;
 * 1 found (the row is current), 0 not, or a db rc.
 */
static int find_command(struct db *db, enum q q, const char *arg)
{
    int rc = db_run(db, q, DB_ARGS(DB_STR(arg, strlen(arg))));

    if (rc == DB_GONE)
        rc = db_run(db, q, DB_ARGS(DB_STR(arg, strlen(arg))));
    return rc ? rc : db_next(db, q);
}

void handle_command_status(const struct request *rq, struct reply *r)
{
    static const char *const allowed[] = {NULL};
    char id[132], key[200], token[GTID_TOKEN_MAX + 1] = "";
    enum q q = Q_QUEUE_GET;
    struct db *db;
    int rc;

    if (query_check_args(rq, allowed, r))
        return;
    if (rq->seg_len[0] == 0 || rq->seg_len[0] > 128) {
        problem(r, P_NOT_FOUND, "no such command");
        return;
    }
    snprintf(id, sizeof(id), "%.*s", (int)rq->seg_len[0], rq->seg[0]);
    queue_key_of(rq->who.scope, id, key, sizeof(key));
    if (!(db = query_db(r)))
        return;
    /* a customer sees the commands it sent; an admin its own first, then anyone's */
    rc = find_command(db, q, key);
    if (rc == 0 && rq->who.role == ROLE_ADMIN)
        rc = find_command(db, q = Q_QUEUE_GET_ID, id);
    if (rc < 0) {
        query_db_problem(r, rc);
        return;
    }
    if (rc == 0) {
        problem(r, P_NOT_FOUND, "no such command");
        return;
    }
    if (replica_enabled() && db_position_token(db, token, sizeof(token)) != DB_OK)
        token[0] = '\0'; /* read after the row: it includes the command's commit */
    r->status = 200;
    sbuf_reset(&r->body);
    status_json_token(&r->body, db, q, token);
    db_end(db, q);
}

static void cursor_by_seq(struct db *db, enum q q, char *out)
{
    cursor_encode('q', 0, db_i64(db, q, QS_SEQ), out);
}

void handle_commands_list(const struct request *rq, struct reply *r)
{
    static const char *const allowed[] = {"status", "limit", "after", NULL};
    static const char *const statuses[] = {"queued", "running", "succeeded", "failed", NULL};
    const struct req_arg *st = request_arg(rq, "status");
    const struct req_arg *after = request_arg(rq, "after");
    int64_t limit = 50, key = 0, from = 0;
    enum q q = st ? Q_QUEUE_LIST_STATUS : Q_QUEUE_LIST;
    struct db *db;

    if (query_check_args(rq, allowed, r) || query_int_arg(rq, "limit", 1, 200, &limit, r))
        return;
    if (st) {
        bool ok = false;
        for (const char *const *s = statuses; *s; s++)
            ok |= strcmp(*s, st->val) == 0;
        if (!ok) {
            problem(r, P_INVALID_PARAMETER, "status must be queued, running, succeeded or failed");
            return;
        }
    }
    if (after && !cursor_decode(after->val, 'q', &key, &from)) {
        problem(r, P_INVALID_PARAMETER, "after is not a cursor of this list");
        return;
    }
    if (!(db = query_db(r)))
        return;
    if (st)
        query_list(db, q,
                   DB_ARGS(DB_STR(st->val, strlen(st->val)), DB_I64(from),
                           DB_I64(limit + 1)),
                   limit, status_json, cursor_by_seq, r);
    else
        query_list(db, q, DB_ARGS(DB_I64(from), DB_I64(limit + 1)),
                   limit, status_json, cursor_by_seq, r);
}

void queue_purge(struct db *db)
{
    char cutoff[24];
    uint64_t total;

    timefmt_db(-(long)QUEUE_KEEP_DAYS * 24 * 3600 * 1000, cutoff);
    total = db_delete_drain(db, Q_QUEUE_PURGE, DB_ARGS(DB_STR(cutoff, strlen(cutoff))), 500);
    if (total)
        log_msg(LOG_LVL_INFO, "queue: removed %llu commands that succeeded over %d days ago",
                (unsigned long long)total, QUEUE_KEEP_DAYS);
}

void queue_metrics(struct sbuf *b)
{
    struct db *db = db_thread();
    int64_t depth[4] = {0, 0, 0, 0}; /* queued running failed other */
    double oldest = 0;
    size_t n;
    int rc;

    if (!db)
        return;
    rc = db_run(db, Q_QUEUE_STATS, NULL, 0);
    if (rc == DB_GONE || rc == DB_RETRY) /* a connection from before a restart */
        rc = db_run(db, Q_QUEUE_STATS, NULL, 0);
    if (rc)
        return;
    while ((rc = db_next(db, Q_QUEUE_STATS)) == 1) {
        const char *st = db_str(db, Q_QUEUE_STATS, QT_STATUS, &n);
        int i = status_is(st, n, "queued") ? 0 : status_is(st, n, "running") ? 1
              : status_is(st, n, "failed") ? 2 : 3;
        depth[i] += db_i64(db, Q_QUEUE_STATS, QT_COUNT);
        if (i < 2 && db_i64(db, Q_QUEUE_STATS, QT_OLDEST_US) / 1e6 > oldest)
            oldest = (double)db_i64(db, Q_QUEUE_STATS, QT_OLDEST_US) / 1e6;
    }
    sbuf_adds(b, "# HELP cqrsd_queue_depth Asynchronous commands waiting or running.\n"
                 "# TYPE cqrsd_queue_depth gauge\n");
    sbuf_printf(b, "cqrsd_queue_depth{status=\"queued\"} %" PRId64 "\n", depth[0]);
    sbuf_printf(b, "cqrsd_queue_depth{status=\"running\"} %" PRId64 "\n", depth[1]);
    sbuf_adds(b, "# HELP cqrsd_queue_oldest_age_seconds Age of the oldest unfinished "
                 "asynchronous command.\n# TYPE cqrsd_queue_oldest_age_seconds gauge\n");
    sbuf_printf(b, "cqrsd_queue_oldest_age_seconds %.3f\n", oldest);
    sbuf_adds(b, "# HELP cqrsd_queue_dead_letters Asynchronous commands that failed "
                 "(GET /commands?status=failed).\n# TYPE cqrsd_queue_dead_letters gauge\n");
    sbuf_printf(b, "cqrsd_queue_dead_letters %" PRId64 "\n", depth[2]);
}

/* db.c - per-thread connections, the prepared statement cache, transactions, reconnects */
#include "db.h"

#include <mysql.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "dbconnect.h"
#include "gtid.h"
#include "log.h"
#include "metrics.h"
#include "replica.h"

/*=== State ===*/

#define RECONNECT_EVERY_MS 200
#define MAX_PARAMS 32 /* the widest: 4 order lines of 7 */

#define COL_CAP 512         /* a text column's buffer to begin with */
#define COL_KEEP (16 << 10) /* the most it keeps between statements */

struct col {
    int64_t i;
    char *buf;
    unsigned long cap; /* bytes allocated; the bind gets cap - 1 */
    unsigned long len;
    my_bool null, err;
    bool is_int;
};

struct stmt {
    MYSQL_STMT *st;
    unsigned ncols;
    MYSQL_BIND *res;
    struct col *cols;
    bool pending; /* a result is stored and not yet freed */
};

struct side {
    MYSQL *my;
    int which; /* DB_WRITE or DB_READ */
    bool mariadb; /* the server's dialect, known once connected */
    bool replica; /* a --replica-dsn: no reconnect pause (its monitor keeps queries away) */
    struct db *owner;
    const struct dsn *dsn;
    int64_t next_try_ms;
    char why[320]; /* why the last connection attempt failed; "" after a success */
    struct stmt st[Q__COUNT];
};

struct db {
    struct side side[2];
    struct side rep[CONFIG_MAX_REPLICAS]; /* the read account on each --replica-dsn */
    int target;           /* where DB_READ statements run: -1 the primary, else a replica */
    unsigned last_errno; /* of the last error on this thread's connections */
    char token[GTID_TOKEN_MAX + 1]; /* the last commit's GTID as a token, or "" */
};

/* The side a statement runs on: its account's, on the primary or the chosen replica. */
static inline struct side *side_of(struct db *db, enum q q)
{
    if (catalog[q].side == DB_READ && db->target >= 0)
        return &db->rep[db->target];
    return &db->side[catalog[q].side];
}

/* Set once by db_global_init before any thread starts, then only read. */
static const struct config *g_cfg;
static pthread_key_t g_key;
static bool g_key_ready; /* g_key exists: db_global_init ran */

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void stmt_close(struct stmt *s)
{
    if (s->st)
        mysql_stmt_close(s->st);
    if (s->cols)
        for (unsigned c = 0; c < s->ncols; c++)
            free(s->cols[c].buf);
    free(s->cols);
    free(s->res);
    memset(s, 0, sizeof(*s));
}

static void side_down(struct side *sd)
{
    for (int q = 0; q < Q__COUNT; q++)
        stmt_close(&sd->st[q]);
    if (sd->my) {
        mysql_close(sd->my);
        metrics_db_connection(sd->which, -1);
    }
    sd->my = NULL;
}

/* Say once per process and side how the daemon's sessions reach the server. */
static void log_transport(const struct side *sd)
{
    static bool said[2]; /* only through __atomic builtins */
    const char *cipher;

    if (__atomic_exchange_n(&said[sd->which], true, __ATOMIC_RELAXED))
        return;
    cipher = mysql_get_ssl_cipher(sd->my);
    log_msg(LOG_LVL_INFO, "database: the %s account '%s' is connected %s%s%s",
            sd->which == DB_WRITE ? "write" : "read", sd->dsn->user,
            sd->dsn->socket[0] ? "over the local socket"
            : cipher           ? "over TLS ("
                               : "over TCP in clear text (ssl-mode=",
            sd->dsn->socket[0] ? "" : cipher ? cipher : dsn_ssl_mode_name(sd->dsn->ssl_mode),
            sd->dsn->socket[0] ? "" : ")");
}

static int side_up(struct side *sd)
{
    int64_t now;

    if (sd->my)
        return 0;
    now = now_ms();
    if (now < sd->next_try_ms)
        return DB_GONE;
    sd->my = db_connect(sd->dsn, NULL, true, sd->why, sizeof(sd->why));
    if (!sd->my) {
        sd->next_try_ms = sd->replica ? 0 : now + RECONNECT_EVERY_MS;
        log_msg(LOG_LVL_WARN, "database: %s", sd->why);
        return DB_GONE;
    }
    sd->why[0] = '\0';
    sd->mariadb = strstr(mysql_get_server_info(sd->my), "MariaDB") != NULL;
    metrics_db_connection(sd->which, 1);
    log_transport(sd);
    if (sd == &sd->owner->side[DB_WRITE] && g_cfg->nreplicas) {
        /* each commit's OK packet names its GTID: the consistency token (API.md) */
        const char *t = catalog_session[sd->mariadb ? S_TRACK_GTID_MARIADB : S_TRACK_GTID_MYSQL].sql;
        if (mysql_real_query(sd->my, t, strlen(t))) {
            log_msg(LOG_LVL_WARN, "database: GTID tracking cannot be set (error %u); "
                                  "commands will carry the primary's whole position",
                    mysql_errno(sd->my));
        }
    }
    return 0;
}

/* Sort a server error into the rc classes; 2006/2013 and friends close the side. */
static int classify(struct side *sd, unsigned e, const char *what)
{
    sd->owner->last_errno = e;
    switch (e) {
    case 1213: /* ER_LOCK_DEADLOCK */
    case 1205: /* ER_LOCK_WAIT_TIMEOUT */
    case 1317: /* ER_QUERY_INTERRUPTED */
    case 1969: /* MariaDB max_statement_time */
    case 3024: /* MySQL max_execution_time */
        return DB_RETRY;
    case 1062: /* ER_DUP_ENTRY */
        return DB_DUP;
    case 1053: /* ER_SERVER_SHUTDOWN */
    case 1927: /* ER_CONNECTION_KILLED */
    case 2002:
    case 2003:
    case 2006: /* CR_SERVER_GONE_ERROR */
    case 2013: /* CR_SERVER_LOST */
    case 2055:
    case 4031: /* MySQL: disconnected by the server */
        side_down(sd);
        return DB_GONE;
    default:
        /* errno only: server text can quote data or SQL */
        log_msg(LOG_LVL_ERROR, "database error %u in %s", e, what);
        return DB_ERR;
    }
}

/*=== Global and per-thread ===*/

static void db_free(void *p)
{
    struct db *db = p;

    if (!db)
        return;
    side_down(&db->side[DB_WRITE]);
    side_down(&db->side[DB_READ]);
    for (int i = 0; i < CONFIG_MAX_REPLICAS; i++)
        side_down(&db->rep[i]);
    free(db);
    mysql_thread_end();
}

int db_global_init(const struct config *cfg)
{
    g_cfg = cfg;
    if (mysql_library_init(0, NULL, NULL))
        return -1;
    if (pthread_key_create(&g_key, db_free))
        return -1;
    g_key_ready = true;
    return 0;
}

void db_global_end(void)
{
    g_key_ready = false;
    pthread_key_delete(g_key);
    mysql_library_end();
}

struct db *db_thread(void)
{
    struct db *db;

    if (!g_key_ready) /* db_global_init not called (unit tests) */
        return NULL;
    db = pthread_getspecific(g_key);
    if (db)
        return db;
    mysql_thread_init();
    db = calloc(1, sizeof(*db));
    if (!db)
        return NULL;
    db->side[DB_WRITE].dsn = &g_cfg->write_dsn;
    db->side[DB_READ].dsn = &g_cfg->read_dsn;
    db->side[DB_WRITE].which = DB_WRITE;
    db->side[DB_READ].which = DB_READ;
    db->side[DB_WRITE].owner = db;
    db->side[DB_READ].owner = db;
    for (int i = 0; i < g_cfg->nreplicas; i++) {
        db->rep[i].dsn = &g_cfg->replica_dsn[i];
        db->rep[i].which = DB_READ;
        db->rep[i].replica = true;
        db->rep[i].owner = db;
    }
    db->target = -1;
    pthread_setspecific(g_key, db);
    return db;
}

void db_thread_release(void)
{
    struct db *db = g_key_ready ? pthread_getspecific(g_key) : NULL;

    if (db) {
        pthread_setspecific(g_key, NULL);
        db_free(db);
    }
}

/*=== Statements ===*/

static bool is_int_type(enum enum_field_types t)
{
    return t == MYSQL_TYPE_TINY || t == MYSQL_TYPE_SHORT || t == MYSQL_TYPE_LONG ||
           t == MYSQL_TYPE_INT24 || t == MYSQL_TYPE_LONGLONG || t == MYSQL_TYPE_YEAR;
}

static void bind_col(MYSQL_BIND *b, struct col *c)
{
    memset(b, 0, sizeof(*b));
    b->is_null = &c->null;
    b->error = &c->err;
    b->length = &c->len;
    if (c->is_int) {
        b->buffer_type = MYSQL_TYPE_LONGLONG;
        b->buffer = &c->i;
    } else {
        b->buffer_type = MYSQL_TYPE_STRING;
        b->buffer = c->buf;
        b->buffer_length = c->cap - 1;
    }
}

static int stmt_prepare(struct side *sd, enum q q)
{
    struct stmt *s = &sd->st[q];
    MYSQL_RES *meta;

    s->st = mysql_stmt_init(sd->my);
    if (!s->st)
        return DB_ERR;
    if (mysql_stmt_prepare(s->st, catalog[q].sql, strlen(catalog[q].sql))) {
        unsigned e = mysql_stmt_errno(s->st);
        stmt_close(s);
        return classify(sd, e, catalog[q].name);
    }
    meta = mysql_stmt_result_metadata(s->st);
    if (!meta)
        return 0;
    s->ncols = mysql_num_fields(meta);
    s->res = calloc(s->ncols, sizeof(*s->res));
    s->cols = calloc(s->ncols, sizeof(*s->cols));
    if (!s->res || !s->cols)
        goto out_oom;
    for (unsigned c = 0; c < s->ncols; c++) {
        MYSQL_FIELD *f = mysql_fetch_field_direct(meta, c);
        s->cols[c].is_int = is_int_type(f->type);
        if (!s->cols[c].is_int) {
            s->cols[c].cap = COL_CAP;
            s->cols[c].buf = malloc(s->cols[c].cap);
            if (!s->cols[c].buf)
                goto out_oom;
        }
        bind_col(&s->res[c], &s->cols[c]);
    }
    mysql_free_result(meta);
    return 0;
out_oom:
    mysql_free_result(meta);
    stmt_close(s);
    return DB_ERR;
}

static void bind_params(MYSQL_BIND *b, const struct db_param *p, size_t np)
{
    static my_bool is_null = 1;

    memset(b, 0, sizeof(*b) * np);
    for (size_t i = 0; i < np; i++) {
        switch (p[i].t) {
        case DBP_I64:
            b[i].buffer_type = MYSQL_TYPE_LONGLONG;
            b[i].buffer = (void *)&p[i].i;
            break;
        case DBP_STR:
            b[i].buffer_type = MYSQL_TYPE_STRING;
            b[i].buffer = (void *)p[i].s;
            b[i].buffer_length = p[i].n;
            break;
        case DBP_NULL:
            b[i].buffer_type = MYSQL_TYPE_NULL;
            b[i].is_null = &is_null;
            break;
        }
    }
}

/*
 * A text column's buffer grows to the largest value fetched (db_next). One
 * that grew past COL_KEEP goes back to COL_CAP before the statement runs
 * again, so a thread does not keep the largest document it ever read.
 */
static void shrink_cols(struct stmt *s)
{
    for (unsigned c = 0; c < s->ncols; c++) {
        struct col *cl = &s->cols[c];
        char *nb;
        if (cl->is_int || cl->cap <= COL_KEEP || !(nb = malloc(COL_CAP)))
            continue;
        free(cl->buf);
        cl->buf = nb;
        cl->cap = COL_CAP;
        bind_col(&s->res[c], cl);
    }
}

int db_run(struct db *db, enum q q, const struct db_param *p, size_t np)
{
    struct side *sd = side_of(db, q);
    struct stmt *s = &sd->st[q];
    MYSQL_BIND b[MAX_PARAMS];
    int rc;

    if (np > MAX_PARAMS) { /* a statement of the catalog wider than the bind array: a bug */
        log_msg(LOG_LVL_ERROR, "%s has %zu parameters, more than %d", catalog[q].name, np,
                MAX_PARAMS);
        return DB_ERR;
    }
    if ((rc = side_up(sd)))
        return rc;
    if (!s->st && (rc = stmt_prepare(sd, q)))
        return rc;
    if (s->pending) {
        mysql_stmt_free_result(s->st);
        s->pending = false;
    }
    shrink_cols(s);
    bind_params(b, p, np);
    if ((np && mysql_stmt_bind_param(s->st, b)) || mysql_stmt_execute(s->st))
        return classify(sd, mysql_stmt_errno(s->st), catalog[q].name);
    if (s->ncols) {
        if (mysql_stmt_bind_result(s->st, s->res) || mysql_stmt_store_result(s->st))
            return classify(sd, mysql_stmt_errno(s->st), catalog[q].name);
        s->pending = true;
    }
    return DB_OK;
}

int db_next(struct db *db, enum q q)
{
    struct side *sd = side_of(db, q);
    struct stmt *s = &sd->st[q];
    int r;

    if (!s->pending)
        return 0;
    r = mysql_stmt_fetch(s->st);
    if (r == MYSQL_NO_DATA) {
        db_end(db, q);
        return 0;
    }
    if (r == 1)
        return classify(sd, mysql_stmt_errno(s->st), catalog[q].name);
    if (r == MYSQL_DATA_TRUNCATED) {
        bool rebind = false;
        for (unsigned c = 0; c < s->ncols; c++) {
            struct col *cl = &s->cols[c];
            if (cl->is_int || !cl->err)
                continue;
            char *nb = realloc(cl->buf, cl->len + 1);
            if (!nb)
                return DB_ERR;
            cl->buf = nb;
            cl->cap = cl->len + 1;
            bind_col(&s->res[c], cl);
            if (mysql_stmt_fetch_column(s->st, &s->res[c], c, 0))
                return classify(sd, mysql_stmt_errno(s->st), catalog[q].name);
            rebind = true;
        }
        if (rebind && mysql_stmt_bind_result(s->st, s->res))
            return DB_ERR;
    }
    for (unsigned c = 0; c < s->ncols; c++)
        if (!s->cols[c].is_int && !s->cols[c].null)
            s->cols[c].buf[s->cols[c].len < s->cols[c].cap ? s->cols[c].len : 0] = '\0';
    return 1;
}

void db_end(struct db *db, enum q q)
{
    struct stmt *s = &side_of(db, q)->st[q];

    if (s->pending) {
        mysql_stmt_free_result(s->st);
        s->pending = false;
    }
}

bool db_null(struct db *db, enum q q, int col)
{
    return side_of(db, q)->st[q].cols[col].null;
}

int64_t db_i64(struct db *db, enum q q, int col)
{
    const struct col *c = &side_of(db, q)->st[q].cols[col];
    return c->null ? 0 : c->i;
}

const char *db_str(struct db *db, enum q q, int col, size_t *len)
{
    const struct col *c = &side_of(db, q)->st[q].cols[col];

    if (c->null || c->is_int) {
        *len = 0;
        return "";
    }
    *len = c->len;
    return c->buf;
}

uint64_t db_affected(struct db *db, enum q q)
{
    return mysql_stmt_affected_rows(side_of(db, q)->st[q].st);
}

uint64_t db_delete_drain(struct db *db, enum q q, const struct db_param *p, size_t np,
                         uint64_t limit)
{
    uint64_t total = 0;

    for (int round = 0; round < 1000; round++) {
        uint64_t n;
        if (db_run(db, q, p, np))
            break;
        n = db_affected(db, q);
        total += n;
        if (n < limit)
            break;
    }
    return total;
}

int db_run_read(struct db *db, enum q q, const struct db_param *p, size_t np)
{
    int rc = db_run(db, q, p, np);

    if (rc == DB_GONE || rc == DB_RETRY) /* a stale connection: one more try */
        rc = db_run(db, q, p, np);
    if (rc == DB_GONE && catalog[q].side == DB_READ && db->target >= 0) {
        /* the replica is gone: it leaves the pool, and the primary answers */
        replica_failed(db->target);
        db->target = REPLICA_PRIMARY;
        rc = db_run(db, q, p, np);
    }
    return rc;
}

uint64_t db_insert_id(struct db *db, enum q q)
{
    return mysql_stmt_insert_id(side_of(db, q)->st[q].st);
}

bool db_was_lock_timeout(const struct db *db)
{
    return db->last_errno == 1205 || db->last_errno == 1969 || db->last_errno == 3024 ||
           db->last_errno == 1317;
}

int db_one_i64(struct db *db, enum q q, int64_t *out, const struct db_param *p, size_t np)
{
    int rc = db_run(db, q, p, np);

    if (rc)
        return rc;
    rc = db_next(db, q);
    if (rc < 0)
        return rc;
    if (rc == 0)
        return DB_NOTFOUND;
    *out = db_i64(db, q, COL_FIRST);
    db_end(db, q);
    return DB_OK;
}

/*=== Transactions ===*/

/* One of catalog_session's texts; a log line names it by its name (never SQL). */
static int side_query(struct side *sd, enum s s)
{
    const struct catalog_entry *e = &catalog_session[s];
    int rc;

    if ((rc = side_up(sd)))
        return rc;
    if (mysql_real_query(sd->my, e->sql, strlen(e->sql)))
        return classify(sd, mysql_errno(sd->my), e->name);
    return DB_OK;
}

int db_begin(struct db *db)
{
    return side_query(&db->side[DB_WRITE], S_TX_BEGIN);
}

/* The GTID the last statement's OK packet reported (session tracking), as a token. */
static void tracked_token(struct side *sd, char *out, size_t cap)
{
    const char *data;
    size_t len;

    out[0] = '\0';
    if (!sd->mariadb) {
        if (mysql_session_track_get_first(sd->my, SESSION_TRACK_GTIDS, &data, &len) == 0)
            gtid_token_of(data, len, out, cap);
        return;
    }
    /* MariaDB: name, value, name, value ... */
    if (mysql_session_track_get_first(sd->my, SESSION_TRACK_SYSTEM_VARIABLES, &data, &len))
        return;
    do {
        bool last_gtid = len == 9 && memcmp(data, "last_gtid", 9) == 0;
        if (mysql_session_track_get_next(sd->my, SESSION_TRACK_SYSTEM_VARIABLES, &data, &len))
            return;
        if (last_gtid) {
            gtid_token_of(data, len, out, cap);
            return;
        }
    } while (mysql_session_track_get_next(sd->my, SESSION_TRACK_SYSTEM_VARIABLES, &data, &len) ==
             0);
}

int db_commit(struct db *db)
{
    struct side *sd = &db->side[DB_WRITE];

    db->token[0] = '\0';
    if (!sd->my)
        return DB_GONE;
    if (mysql_commit(sd->my))
        return classify(sd, mysql_errno(sd->my), "TX_COMMIT");
    if (g_cfg && g_cfg->nreplicas) {
        tracked_token(sd, db->token, sizeof(db->token));
        if (!db->token[0]) /* not tracked: the primary's whole position includes this commit */
            db_position_token(db, db->token, sizeof(db->token));
    }
    return DB_OK;
}

const char *db_commit_token(const struct db *db)
{
    return db->token;
}

int db_position_token(struct db *db, char *out, size_t cap)
{
    struct side *sd = &db->side[DB_WRITE];
    MYSQL_RES *res;
    MYSQL_ROW row;
    unsigned long *len;
    int rc;

    out[0] = '\0';
    if ((rc = side_up(sd)))
        return rc;
    {
        const char *t =
            catalog_session[sd->mariadb ? S_POSITION_MARIADB_PRIMARY : S_POSITION_MYSQL].sql;
        if (mysql_real_query(sd->my, t, strlen(t)))
            return classify(sd, mysql_errno(sd->my), "POSITION");
    }
    if (!(res = mysql_store_result(sd->my)))
        return classify(sd, mysql_errno(sd->my), "POSITION");
    row = mysql_fetch_row(res);
    len = mysql_fetch_lengths(res);
    rc = row && row[0] && gtid_token_of(row[0], len[0], out, cap) == 0 ? DB_OK : DB_NOTFOUND;
    mysql_free_result(res);
    return rc;
}

void db_read_on(struct db *db, int target)
{
    db->target = target >= 0 && target < g_cfg->nreplicas ? target : -1;
}

int db_read_target(const struct db *db)
{
    return db->target;
}

void db_rollback(struct db *db)
{
    struct side *sd = &db->side[DB_WRITE];

    if (sd->my && mysql_rollback(sd->my))
        classify(sd, mysql_errno(sd->my), "TX_ROLLBACK");
}

int db_savepoint(struct db *db)
{
    return side_query(&db->side[DB_WRITE], S_TX_SAVEPOINT);
}

int db_rollback_savepoint(struct db *db)
{
    return side_query(&db->side[DB_WRITE], S_TX_ROLLBACK_SAVEPOINT);
}

int db_ping(struct db *db, int side)
{
    struct side *sd = &db->side[side];
    int rc;

    if ((rc = side_up(sd)))
        return rc;
    if (mysql_ping(sd->my) == 0)
        return DB_OK;
    /* a connection from before a server restart: one fresh try */
    side_down(sd);
    if ((rc = side_up(sd)))
        return rc;
    if (mysql_ping(sd->my)) {
        side_down(sd);
        return DB_GONE;
    }
    return DB_OK;
}

const char *db_problem(const struct db *db, int side)
{
    return db->side[side].why;
}

const char *db_account(const struct db *db, int side)
{
    return db->side[side].dsn->user;
}

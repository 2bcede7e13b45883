/* db.h - per-thread MySQL connections, the statement catalog, transactions */
#ifndef CQRSD_DB_H
#define CQRSD_DB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "catalog.h"
#include "config.h"

enum db_rc {
    DB_OK = 0,
    DB_ERR = -1,      /* a bug or an unexpected server error */
    DB_RETRY = -2,    /* deadlock or lock wait timeout: the transaction was rolled back */
    DB_GONE = -3,     /* the server cannot be reached */
    DB_DUP = -4,      /* duplicate key */
    DB_NOTFOUND = -5, /* no row */
};

enum db_param_type { DBP_NULL, DBP_I64, DBP_STR };

struct db_param {
    enum db_param_type t;
    int64_t i;
    const char *s;
    size_t n;
};

#define DB_I64(x) ((struct db_param){.t = DBP_I64, .i = (x)})
#define DB_STR(p, len) ((struct db_param){.t = DBP_STR, .s = (p), .n = (len)})
#define DB_NULL ((struct db_param){.t = DBP_NULL})

#define DB_NARGS(...) (sizeof((struct db_param[]){__VA_ARGS__}) / sizeof(struct db_param))
#define DB_ARGS(...) (const struct db_param[]){__VA_ARGS__}, DB_NARGS(__VA_ARGS__)

struct db;

/* Once, before any thread: the DSNs every thread's connections use. */
int db_global_init(const struct config *cfg);
void db_global_end(void);

/* This thread's handle (created on first use; freed when the thread exits). */
struct db *db_thread(void);
/* Free the calling thread's handle now (main thread at exit). */
void db_thread_release(void);

/*
 * Run catalog statement q with params. Statements that return rows keep the
 * result until db_next() returns 0 or db_end() is called.
 */
int db_run(struct db *db, enum q q, const struct db_param *p, size_t np);
/* Fetch the next row of q: 1 a row, 0 no more (result freed), < 0 an error. */
int db_next(struct db *db, enum q q);
void db_end(struct db *db, enum q q);
bool db_null(struct db *db, enum q q, int col);
int64_t db_i64(struct db *db, enum q q, int col);
const char *db_str(struct db *db, enum q q, int col, size_t *len);
uint64_t db_affected(struct db *db, enum q q);
/*
 * Run a `DELETE … LIMIT limit` statement (autocommit) until it deletes fewer
 * than `limit` rows (or 1,000 rounds, or an error); returns the rows deleted.
 * Each round is its own short transaction.
 */
uint64_t db_delete_drain(struct db *db, enum q q, const struct db_param *p, size_t np,
                         uint64_t limit);
uint64_t db_insert_id(struct db *db, enum q q);
/*
 * db_run for a query: once more after a stale connection, and on a replica
 * that went away, on the primary (the replica leaves the pool, replica.h).
 */
int db_run_read(struct db *db, enum q q, const struct db_param *p, size_t np);

/* Run q and read its one row's first column as an integer: DB_NOTFOUND if none. */
int db_one_i64(struct db *db, enum q q, int64_t *out, const struct db_param *p, size_t np);

/* Was the last DB_RETRY a lock wait timeout (not a deadlock)? */
bool db_was_lock_timeout(const struct db *db);

/* Transactions on the write connection. */
int db_begin(struct db *db);
int db_commit(struct db *db);
void db_rollback(struct db *db);

/*
 * With replicas configured: the GTID of this thread's last commit, as a
 * consistency token (API.md), or "" (db_commit sets it).
 */
const char *db_commit_token(const struct db *db);
/* The primary's whole position now, as a token (it includes every commit so far). */
int db_position_token(struct db *db, char *out, size_t cap);

/*
 * Where this thread's read statements run from now on: -1 the primary's
 * read account, else replica `target` (--replica-dsn, in order).
 */
void db_read_on(struct db *db, int target);
int db_read_target(const struct db *db);

/* A savepoint in the open transaction, and a rollback to it. */
int db_savepoint(struct db *db);
int db_rollback_savepoint(struct db *db);

/* Ping one side (DB_WRITE or DB_READ); 0 when it answers. */
int db_ping(struct db *db, int side);
/*
 * Why this thread's last connection attempt on side failed ("cannot connect
 * to HOST as 'USER' ...": no password, no server text), or "".
 */
const char *db_problem(const struct db *db, int side);
/* The user name of side's DSN. */
const char *db_account(const struct db *db, int side);

/* The MySQL client library's version string. */
const char *db_client_version(void);

/*=== Admin connections (migrate, verify, rebuild): plain text SQL ===*/

struct db_admin;
struct db_admin *db_admin_open(const struct dsn *dsn, const char *database, char *err,
                               size_t errlen);
void db_admin_close(struct db_admin *a);
/* Run one statement; rows (if any) are passed to cb as NUL-terminated strings. */
typedef int (*db_row_cb)(void *ctx, unsigned ncols, const char *const *cols);
int db_admin_exec(struct db_admin *a, const char *sql, size_t len, db_row_cb cb, void *ctx,
                  char *err, size_t errlen);
/*
 * The rows of one statement, one at a time: next gives NULL at the end.
 * Streamed from the server (mysql_use_result), or, buffered, read whole
 * first (mysql_store_result) so that the connection can run another
 * statement while these rows are being walked.
 */
struct db_admin_rows;
struct db_admin_rows *db_admin_stream(struct db_admin *a, const char *sql, size_t len,
                                      bool buffered, char *err, size_t errlen);
const char *const *db_admin_next(struct db_admin_rows *r, unsigned *ncols);
/* Free the stream; -1 when the rows ended with an error (message in err). */
int db_admin_stream_end(struct db_admin_rows *r, char *err, size_t errlen);
/* Send a statement without waiting for its result; then db_admin_wait reads it. */
int db_admin_send(struct db_admin *a, const char *sql, size_t len, char *err, size_t errlen);
int db_admin_wait(struct db_admin *a, char *err, size_t errlen);
/* The server's id of this connection (CONNECTION_ID()). */
unsigned long db_admin_thread_id(struct db_admin *a);
/* Is the server MariaDB (else MySQL)? */
bool db_admin_mariadb(struct db_admin *a);
/* The error number of the last statement (0: none). */
unsigned db_admin_errno(struct db_admin *a);

/*
 * A statement with two integer parameters (?, ?), prepared on the server, and
 * its one integer result in *out (NULL reads as 0). -1 on an error (in err).
 */
int db_admin_i64(struct db_admin *a, const char *sql, size_t len, int64_t p1, int64_t p2,
                 int64_t *out, char *err, size_t errlen);

/* Quote s as an SQL string literal into out ('...' with escapes); -1 if too long. */
int db_admin_quote(struct db_admin *a, const char *s, char *out, size_t cap);

#endif

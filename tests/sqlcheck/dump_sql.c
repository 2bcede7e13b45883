/*
 * dump_sql.c - every SQL text the daemon and its tools send, as a script for
 * check.mjs (build/dump_sql FILE; `make sqlcheck` and tests/run.sh run it).
 *
 * The statements come from the compiled code, not from its source text:
 *   - the catalog of prepared statements and the session texts (catalog.c),
 *   - migrate, verify-views, rebuild-views and the drift check (admin.c and
 *     views.c), run here against a stand-in for db.c's admin connections
 *     that writes down each statement and answers just enough rows to walk
 *     every branch that builds SQL (files to apply, definitions to create,
 *     privileges to revoke, rows that differ, events to catch up, a rename
 *     that waits).
 * Statements that are one of sql/'s own (migrate applies them as they are)
 * are left out: check.mjs reads those files itself. `?` placeholders stay;
 * check.mjs --placeholders reads them as 0. Nothing connects anywhere.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "admin.h"
#include "catalog.h"
#include "config.h"
#include "db.h"
#include "metrics.h"
#include "sbuf.h"
#include "sqlscript.h"
#include "drift.h"
#include "replay.h"
#include "views.h"

static FILE *g_out;
static const char *g_phase = "";
static bool g_quiet; /* recomputations equal the views: the drift check warns of nothing */
static pthread_mutex_t g_lock = PTHREAD_MUTEX_INITIALIZER;

/* every text written so far, and those of sql/ (not written): "\n\0"-separated */
static struct sbuf g_seen = SBUF_INIT, g_files = SBUF_INIT;
static int g_written, g_of_files;

static bool has(const struct sbuf *set, const char *sql, size_t n)
{
    for (size_t i = 0; i < set->len;) {
        size_t l = strlen(set->buf + i);
        if (l == n && memcmp(set->buf + i, sql, n) == 0)
            return true;
        i += l + 1;
    }
    return false;
}

static void add(struct sbuf *set, const char *sql, size_t n)
{
    sbuf_add(set, sql, n);
    sbuf_addch(set, '\0');
}

/* Write one statement under a comment naming where it comes from. */
static void emit(const char *origin, const char *sql, size_t n)
{
    while (n && (sql[n - 1] == ' ' || sql[n - 1] == '\n' || sql[n - 1] == ';'))
        n--;
    pthread_mutex_lock(&g_lock);
    if (has(&g_files, sql, n)) {
        g_of_files++;
    } else if (!has(&g_seen, sql, n)) {
        add(&g_seen, sql, n);
        fprintf(g_out, "-- %s\n%.*s$$\n\n", origin, (int)n, sql);
        g_written++;
    }
    pthread_mutex_unlock(&g_lock);
}

static int note_file_stmt(void *ctx, const char *stmt, size_t n, int line)
{
    (void)ctx;
    (void)line;
    add(&g_files, stmt, n);
    return 0;
}

/*=== The stand-in for db.c's admin connections ===*/

struct db_admin {
    int unused;
};

struct db_admin_rows {
    const char *rows[4][4]; /* up to 4 rows of up to 4 columns; NULL-terminated */
    unsigned ncols, n, at;
};

static bool starts(const char *sql, size_t n, const char *prefix)
{
    size_t l = strlen(prefix);
    return n >= l && memcmp(sql, prefix, l) == 0;
}

static bool contains(const char *sql, size_t n, const char *what)
{
    size_t l = strlen(what);
    for (size_t i = 0; i + l <= n; i++)
        if (memcmp(sql + i, what, l) == 0)
            return true;
    return false;
}

/* The rows a statement gets: just enough for the code to go on building SQL. */
static void answer(const char *sql, size_t n, struct db_admin_rows *r)
{
    const char *(*rows)[4] = r->rows;

    memset(r, 0, sizeof(*r));
    r->ncols = 1;
    if (starts(sql, n, "SELECT GET_LOCK('cqrsd_migrate', 0)")) { /* held: it waits */
        rows[0][0] = "0", r->n = 1;
    } else if (starts(sql, n, "SELECT GET_LOCK") || starts(sql, n, "SELECT RELEASE_LOCK")) {
        rows[0][0] = "1", r->n = 1;
    } else if (contains(sql, n, "information_schema.USER_PRIVILEGES")) {
        rows[0][0] = NULL, rows[0][1] = "SUPER", r->ncols = 2, r->n = 1; /* to be revoked */
    } else if (contains(sql, n, "information_schema.COLUMNS")) {
        const char *key = contains(sql, n, "'product_view'")         ? "product_id"
                          : contains(sql, n, "'order_summary_view'") ? "order_id"
                                                                     : "customer_id";
        rows[0][0] = key, rows[1][0] = "name", rows[2][0] = "last_updated", r->n = 3;
    } else if (starts(sql, n, "SELECT position FROM event_head")) {
        rows[0][0] = "10", r->n = 1;
    } else if (contains(sql, n, "information_schema.PROCESSLIST")) {
        rows[0][0] = "Waiting for table metadata lock", r->n = 1;
    } else if (starts(sql, n, "SELECT aggregate_id FROM events")) { /* rows to catch up */
        rows[0][0] = "1", rows[1][0] = "2", r->n = 2;
    } else if (starts(sql, n, "SELECT COALESCE(MAX(position), 0) FROM events")) {
        rows[0][0] = "600", r->n = 1;
    } else if (starts(sql, n, "SELECT DISTINCT aggregate_type")) {
        rows[0][0] = "product", rows[0][1] = "1";
        rows[1][0] = "order", rows[1][1] = "2";
        rows[2][0] = "customer", rows[2][1] = "3";
        r->ncols = 2, r->n = 3;
    } else if (starts(sql, n, "SELECT DISTINCT")) {
        rows[0][0] = "3", r->n = 1;
    } else if (!starts(sql, n, "SELECT `") && starts(sql, n, "SELECT ") &&
               !contains(sql, n, "information_schema") && !contains(sql, n, "schema_migrations") &&
               !g_quiet) {
        /* a recomputation: one row the view lacks, so verify-views confirms it */
        rows[0][0] = "1", rows[0][1] = "x", r->ncols = 2, r->n = 1;
    }
    /* anything else (schema_migrations, TRIGGERS, ROUTINES, the views' rows): none */
}

struct db_admin *db_admin_open(const struct dsn *dsn, const char *database, char *err,
                               size_t errlen)
{
    (void)dsn, (void)database, (void)err, (void)errlen;
    return calloc(1, sizeof(struct db_admin));
}

void db_admin_close(struct db_admin *a) { free(a); }

int db_admin_exec(struct db_admin *a, const char *sql, size_t len, db_row_cb cb, void *ctx,
                  char *err, size_t errlen)
{
    struct db_admin_rows r;

    (void)a, (void)err, (void)errlen;
    emit(g_phase, sql, len);
    answer(sql, len, &r);
    for (unsigned i = 0; cb && i < r.n; i++)
        if (cb(ctx, r.ncols, r.rows[i]))
            break;
    return 0;
}

struct db_admin_rows *db_admin_stream(struct db_admin *a, const char *sql, size_t len,
                                      bool buffered, char *err, size_t errlen)
{
    struct db_admin_rows *r = malloc(sizeof(*r));

    (void)a, (void)buffered, (void)err, (void)errlen;
    emit(g_phase, sql, len);
    if (r)
        answer(sql, len, r);
    return r;
}

const char *const *db_admin_next(struct db_admin_rows *r, unsigned *ncols)
{
    if (r->at >= r->n)
        return NULL;
    *ncols = r->ncols;
    return r->rows[r->at++];
}

int db_admin_stream_end(struct db_admin_rows *r, char *err, size_t errlen)
{
    (void)err, (void)errlen;
    free(r);
    return 0;
}

int db_admin_send(struct db_admin *a, const char *sql, size_t len, char *err, size_t errlen)
{
    (void)a, (void)err, (void)errlen;
    emit(g_phase, sql, len);
    return 0;
}

int db_admin_wait(struct db_admin *a, char *err, size_t errlen)
{
    (void)a, (void)err, (void)errlen;
    return 0;
}

unsigned long db_admin_thread_id(struct db_admin *a)
{
    (void)a;
    return 42;
}

bool db_admin_mariadb(struct db_admin *a)
{
    (void)a;
    return false; /* the statements as MySQL gets them: the grammar is MySQL's */
}

unsigned db_admin_errno(struct db_admin *a)
{
    (void)a;
    return 0;
}

/* wait_visible's count: every position of (p1, p2] is there */
int db_admin_i64(struct db_admin *a, const char *sql, size_t len, int64_t p1, int64_t p2,
                 int64_t *out, char *err, size_t errlen)
{
    (void)a, (void)err, (void)errlen;
    emit(g_phase, sql, len);
    *out = p2 - p1;
    return 0;
}

/* like mysql_real_escape_string inside '…' */
int db_admin_quote(struct db_admin *a, const char *s, char *out, size_t cap)
{
    size_t o = 0;

    (void)a;
    if (cap < 3)
        return -1;
    out[o++] = '\'';
    for (; *s; s++) {
        if (o + 4 > cap)
            return -1;
        if (*s == '\'' || *s == '\\')
            out[o++] = '\\';
        out[o++] = *s;
    }
    out[o++] = '\'';
    out[o] = '\0';
    return 0;
}

void db_thread_release(void) {}

/*=== main ===*/

static void dsn(struct dsn *d, const char *user, const char *database)
{
    memset(d, 0, sizeof(*d));
    snprintf(d->user, sizeof(d->user), "%s", user);
    snprintf(d->password, sizeof(d->password), "%s", user);
    snprintf(d->host, sizeof(d->host), "127.0.0.1");
    snprintf(d->database, sizeof(d->database), "%s", database);
}

/* The drift check runs on its own thread: wait until its first round set the gauge. */
static void drift_round(const struct config *cfg)
{
    struct sbuf m = SBUF_INIT;
    struct timespec ms = {0, 10 * 1000 * 1000};

    drift_start(cfg);
    for (int i = 0; i < 500; i++) {
        sbuf_reset(&m);
        metrics_write(&m);
        if (m.buf && !strstr(m.buf, "cqrsd_read_model_drift_rows -1"))
            break;
        nanosleep(&ms, NULL);
    }
    drift_stop();
    sbuf_release(&m);
}

int main(int argc, char **argv)
{
    static struct config cfg;
    char origin[80];

    if (argc != 2) {
        fprintf(stderr, "usage: dump_sql FILE.sql\n");
        return 2;
    }
    if (!(g_out = fopen(argv[1], "w"))) {
        perror(argv[1]);
        return 1;
    }
    /* the tools report on stdout; only the statements matter here */
    if (!freopen("/dev/null", "w", stdout))
        return 1;
    for (const struct sql_file *f = sql_files; f->name; f++)
        if (sqlscript_split(f->text, f->len, note_file_stmt, NULL))
            return 1;
    fprintf(g_out, "-- Every SQL text of the daemon and its tools, written by build/dump_sql\n"
                   "-- (tests/sqlcheck/dump_sql.c); `?` is a placeholder.\n"
                   "DELIMITER $$\n\n");
    for (int q = 0; q < Q__COUNT; q++) {
        snprintf(origin, sizeof(origin), "catalog.c %s", catalog[q].name);
        emit(origin, catalog[q].sql, strlen(catalog[q].sql));
    }
    for (int s = 0; s < S__COUNT; s++) {
        snprintf(origin, sizeof(origin), "catalog.c %s", catalog_session[s].name);
        emit(origin, catalog_session[s].sql, strlen(catalog_session[s].sql));
    }
    dsn(&cfg.write_dsn, "cqrs_writer", "cqrs");
    dsn(&cfg.read_dsn, "cqrs_reader", "cqrs");
    dsn(&cfg.admin_dsn, "root", "");
    g_phase = "admin.c migrate";
    admin_migrate(&cfg);
    g_phase = "views.c verify-views";
    views_verify(&cfg);
    g_phase = "views.c rebuild-views";
    views_rebuild(&cfg);
    g_phase = "replay.c verify-events";
    replay_verify(&cfg);
    g_phase = "views.c drift check";
    g_quiet = true;
    drift_round(&cfg);
    fprintf(g_out, "DELIMITER ;\n");
    if (fclose(g_out))
        return 1;
    fprintf(stderr, "dump_sql: %d statements in %s (%d more are sql/'s own)\n", g_written, argv[1],
            g_of_files);
    sbuf_release(&g_seen);
    sbuf_release(&g_files);
    return g_written > 0 ? 0 : 1;
}

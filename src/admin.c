/* admin.c - migrate: database, numbered files of sql/, triggers and routines, accounts */
#include "admin.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "db.h"
#include "sbuf.h"
#include "sqlscript.h"

/* What each account may do, table by table: exactly what the daemon's statements need. */
struct grant {
    const char *table;
    const char *privs;
};

static const struct grant writer_grants[] = {
    {"categories", "SELECT, INSERT, UPDATE"},
    {"products", "SELECT, INSERT, UPDATE"},
    /*
     * UPDATE only for Q_CUSTOMER_LOCK (SELECT … FOR UPDATE): MySQL 8.0.22+ wants
     * UPDATE, DELETE or LOCK TABLES beside SELECT for a locking read (error 1142
     * without); no command updates a customer
     */
    {"customers", "SELECT, INSERT, UPDATE"},
    {"orders", "SELECT, INSERT, UPDATE"},
    {"order_lines", "SELECT, INSERT"},
    {"events", "INSERT"},
    {"event_head", "SELECT, UPDATE"},
    {"idempotency_keys", "SELECT, INSERT, UPDATE, DELETE"},
    {"command_queue", "SELECT, INSERT, UPDATE, DELETE"},
    /* the drift gauge reads them with the write tables, in one snapshot (views.c) */
    {"product_view", "SELECT"},
    {"order_summary_view", "SELECT"},
    {"customer_view", "SELECT"},
    {NULL, NULL},
};

static const struct grant reader_grants[] = {
    {"product_view", "SELECT"},
    {"order_summary_view", "SELECT"},
    {"customer_view", "SELECT"},
    {"events", "SELECT"},
    {NULL, NULL},
};

struct migrate {
    struct db_admin *a;
    const char *database;
    char err[512];
    /* definitions (CREATE TRIGGER / FUNCTION / PROCEDURE), the last one of each name wins */
    struct def {
        char kind[10]; /* TRIGGER, FUNCTION, PROCEDURE */
        char name[65];
        const char *stmt;
        size_t n;
    } defs[64];
    int ndefs;
    int changes;
};

/*=== Small helpers ===*/

static int exec_sql(struct migrate *m, const char *sql, size_t n)
{
    if (db_admin_exec(m->a, sql, n, NULL, NULL, m->err, sizeof(m->err))) {
        fprintf(stderr, "migrate: %s\n", m->err);
        return -1;
    }
    return 0;
}

static int exec_buf(struct migrate *m, struct sbuf *b)
{
    int rc = b->oom ? -1 : exec_sql(m, b->buf, b->len);
    sbuf_reset(b);
    return rc;
}

/* Skip blanks; return the next word (letters, digits, _ and backquotes stripped). */
static const char *word(const char *s, const char *end, char *out, size_t cap)
{
    size_t o = 0;

    while (s < end && (*s == ' ' || *s == '\t' || *s == '\r' || *s == '\n'))
        s++;
    if (s < end && *s == '`') {
        s++;
        while (s < end && *s != '`') {
            if (o + 1 < cap)
                out[o++] = *s;
            s++;
        }
        if (s < end)
            s++;
    } else {
        while (s < end && (*s == '_' || (*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
                           (*s >= '0' && *s <= '9'))) {
            if (o + 1 < cap)
                out[o++] = *s;
            s++;
        }
    }
    out[o] = '\0';
    return s;
}

/* Is stmt "CREATE TRIGGER|FUNCTION|PROCEDURE name" or "DROP … IF EXISTS name"? */
static bool definition_of(const char *stmt, size_t n, bool *create, char kind[10], char name[65])
{
    const char *end = stmt + n, *p;
    char w[32];

    p = word(stmt, end, w, sizeof(w));
    if (strcasecmp(w, "CREATE") == 0)
        *create = true;
    else if (strcasecmp(w, "DROP") == 0)
        *create = false;
    else
        return false;
    p = word(p, end, kind, 10);
    if (strcasecmp(kind, "TRIGGER") && strcasecmp(kind, "FUNCTION") && strcasecmp(kind, "PROCEDURE"))
        return false;
    for (char *k = kind; *k; k++)
        *k = (char)(*k >= 'a' ? *k - 32 : *k);
    if (!*create) {
        const char *q = word(p, end, w, sizeof(w));
        if (strcasecmp(w, "IF") == 0) {
            q = word(q, end, w, sizeof(w));
            p = q;
        }
    }
    word(p, end, name, 65);
    return name[0] != '\0';
}

/*=== Collect definitions from every file ===*/

static int collect_def(void *ctx, const char *stmt, size_t n, int line)
{
    struct migrate *m = ctx;
    bool create;
    char kind[10], name[65];
    int i;

    (void)line;
    if (!definition_of(stmt, n, &create, kind, name))
        return 0;
    for (i = 0; i < m->ndefs; i++)
        if (strcmp(m->defs[i].kind, kind) == 0 && strcmp(m->defs[i].name, name) == 0)
            break;
    if (i == m->ndefs) {
        if (!create || m->ndefs == (int)(sizeof(m->defs) / sizeof(m->defs[0])))
            return 0;
        m->ndefs++;
        snprintf(m->defs[i].kind, sizeof(m->defs[i].kind), "%s", kind);
        snprintf(m->defs[i].name, sizeof(m->defs[i].name), "%s", name);
    }
    m->defs[i].stmt = create ? stmt : NULL; /* dropped for good unless created again */
    m->defs[i].n = create ? n : 0;
    return 0;
}

/*=== Apply files ===*/

static int apply_stmt(void *ctx, const char *stmt, size_t n, int line)
{
    struct migrate *m = ctx;

    if (db_admin_exec(m->a, stmt, n, NULL, NULL, m->err, sizeof(m->err))) {
        fprintf(stderr, "migrate: statement at line %d: %s\n", line, m->err);
        return -1;
    }
    return 0;
}

static int count_row(void *ctx, unsigned ncols, const char *const *cols)
{
    (void)ncols;
    (void)cols;
    (*(int *)ctx)++;
    return 0;
}

static int is_applied(struct migrate *m, const char *name, bool *applied)
{
    struct sbuf b = SBUF_INIT;
    char q[300];
    int rows = 0, rc;

    if (db_admin_quote(m->a, name, q, sizeof(q)))
        return -1;
    sbuf_printf(&b, "SELECT 1 FROM schema_migrations WHERE name = %s", q);
    rc = b.oom ? -1 : db_admin_exec(m->a, b.buf, b.len, count_row, &rows, m->err, sizeof(m->err));
    sbuf_release(&b);
    if (rc)
        fprintf(stderr, "migrate: %s\n", m->err);
    *applied = rows > 0;
    return rc;
}

static int apply_files(struct migrate *m)
{
    struct sbuf b = SBUF_INIT;
    int rc = 0;

    for (const struct sql_file *f = sql_files; f->name && rc == 0; f++) {
        bool applied;
        char q[300];
        if ((rc = is_applied(m, f->name, &applied)) || applied)
            continue;
        printf("migrate: applying %s\n", f->name);
        if ((rc = sqlscript_split(f->text, f->len, apply_stmt, m))) {
            fprintf(stderr, "migrate: %s failed\n", f->name);
            break;
        }
        db_admin_quote(m->a, f->name, q, sizeof(q));
        sbuf_printf(&b, "INSERT INTO schema_migrations (name, applied_at) VALUES (%s, "
                        "UTC_TIMESTAMP(3))", q);
        rc = exec_buf(m, &b);
        m->changes++;
    }
    sbuf_release(&b);
    return rc;
}

/*=== Triggers and routines: re-create the missing and the changed ===*/

struct trig_info {
    bool found;
    char timing[16], event[16], table[65];
    struct sbuf body;
};

static int read_trigger(void *ctx, unsigned ncols, const char *const *cols)
{
    struct trig_info *t = ctx;

    if (ncols < 4)
        return 0;
    t->found = true;
    snprintf(t->timing, sizeof(t->timing), "%s", cols[0] ? cols[0] : "");
    snprintf(t->event, sizeof(t->event), "%s", cols[1] ? cols[1] : "");
    snprintf(t->table, sizeof(t->table), "%s", cols[2] ? cols[2] : "");
    sbuf_reset(&t->body);
    sbuf_adds(&t->body, cols[3] ? cols[3] : "");
    return 0;
}

static void trim(const char **s, size_t *n)
{
    while (*n && strchr(" \t\r\n", (*s)[0]))
        (*s)++, (*n)--;
    while (*n && strchr(" \t\r\n", (*s)[*n - 1]))
        (*n)--;
}

/* Does the trigger in the server equal `CREATE TRIGGER name TIMING EVENT ON table FOR EACH ROW body`? */
static bool trigger_equal(const struct def *d, const struct trig_info *t)
{
    const char *p = d->stmt, *end = d->stmt + d->n;
    char w[80];
    const char *body;
    size_t bn, tn = t->body.len;
    const char *tb = t->body.buf ? t->body.buf : "";

    p = word(p, end, w, sizeof(w)); /* CREATE */
    p = word(p, end, w, sizeof(w)); /* TRIGGER */
    p = word(p, end, w, sizeof(w)); /* name */
    p = word(p, end, w, sizeof(w));
    if (strcasecmp(w, t->timing))
        return false;
    p = word(p, end, w, sizeof(w));
    if (strcasecmp(w, t->event))
        return false;
    p = word(p, end, w, sizeof(w)); /* ON */
    p = word(p, end, w, sizeof(w));
    if (strcmp(w, t->table))
        return false;
    for (int i = 0; i < 3; i++) /* FOR EACH ROW */
        p = word(p, end, w, sizeof(w));
    if (strcasecmp(w, "ROW"))
        return false;
    body = p;
    bn = (size_t)(end - p);
    trim(&body, &bn);
    trim(&tb, &tn);
    return bn == tn && memcmp(body, tb, bn) == 0;
}

/*
 * Does the routine in the server have the body of the CREATE statement?
 * The server keeps the body (ROUTINE_DEFINITION) as it was written: the
 * text that ends the statement.
 */
static bool routine_equal(const struct def *d, const struct trig_info *t)
{
    const char *stmt = d->stmt, *tb = t->body.buf ? t->body.buf : "";
    size_t sn = d->n, tn = t->body.len;

    trim(&stmt, &sn);
    trim(&tb, &tn);
    return tn > 0 && tn <= sn && memcmp(stmt + sn - tn, tb, tn) == 0;
}

static int ensure_definitions(struct migrate *m)
{
    struct sbuf b = SBUF_INIT;
    struct trig_info t = {0};
    int rc = 0;
    char qname[200], qdb[200];

    db_admin_quote(m->a, m->database, qdb, sizeof(qdb));
    for (int i = 0; i < m->ndefs && rc == 0; i++) {
        const struct def *d = &m->defs[i];
        bool ok;
        if (!d->stmt)
            continue;
        db_admin_quote(m->a, d->name, qname, sizeof(qname));
        t.found = false;
        if (strcmp(d->kind, "TRIGGER") == 0)
            sbuf_printf(&b, "SELECT ACTION_TIMING, EVENT_MANIPULATION, EVENT_OBJECT_TABLE, "
                            "ACTION_STATEMENT FROM information_schema.TRIGGERS "
                            "WHERE TRIGGER_SCHEMA = %s AND TRIGGER_NAME = %s", qdb, qname);
        else
            sbuf_printf(&b, "SELECT ROUTINE_TYPE, ROUTINE_TYPE, ROUTINE_NAME, ROUTINE_DEFINITION "
                            "FROM information_schema.ROUTINES WHERE ROUTINE_SCHEMA = %s AND "
                            "ROUTINE_NAME = %s AND ROUTINE_TYPE = '%s'", qdb, qname, d->kind);
        if (b.oom || db_admin_exec(m->a, b.buf, b.len, read_trigger, &t, m->err, sizeof(m->err))) {
            fprintf(stderr, "migrate: %s\n", m->err);
            rc = -1;
            break;
        }
        sbuf_reset(&b);
        ok = t.found && (strcmp(d->kind, "TRIGGER") == 0 ? trigger_equal(d, &t)
                                                          : routine_equal(d, &t));
        if (ok)
            continue;
        printf("migrate: %s %s is %s: creating it\n", d->kind, d->name,
               t.found ? "not as in sql/" : "missing");
        sbuf_printf(&b, "DROP %s IF EXISTS `%s`", d->kind, d->name);
        if ((rc = exec_buf(m, &b)))
            break;
        rc = exec_sql(m, d->stmt, d->n);
        m->changes++;
    }
    sbuf_release(&t.body);
    sbuf_release(&b);
    return rc;
}

/*=== Accounts ===*/

struct priv_row {
    const struct grant *grants;
    const char *routine; /* the one function it may execute, or NULL */
    const char *global;  /* the one server-wide privilege it has, or NULL */
    bool extra;
};

/* A privilege the account should not have? (rows: table name or NULL, privilege) */
static int check_priv(void *ctx, unsigned ncols, const char *const *cols)
{
    struct priv_row *p = ctx;
    bool table_ok = false;

    if (ncols < 2)
        return 0;
    if (!cols[0]) { /* global or database level: we never grant those */
        bool ours = p->routine && strncmp(cols[1], "ROUTINE ", 8) == 0 &&
                    strcasecmp(cols[1] + 8, p->routine) == 0;
        if (p->global && strcmp(cols[1], p->global) == 0)
            ours = true;
        if (strcmp(cols[1], "USAGE") != 0 && !ours)
            p->extra = true;
        return 0;
    }
    for (const struct grant *g = p->grants; g->table; g++)
        if (strcmp(g->table, cols[0]) == 0 && strstr(g->privs, cols[1]))
            table_ok = true;
    if (!table_ok)
        p->extra = true;
    return 0;
}

static int ensure_account(struct migrate *m, const struct dsn *d, const struct grant *grants,
                          const char *routine, const char *global, const char *role)
{
    struct sbuf b = SBUF_INIT;
    char quser[300], qpass[600], grantee[400], qgrantee[900], qdb[200];
    struct priv_row pr = {grants, routine, global, false};
    int rc = 0;

    if (db_admin_quote(m->a, d->user, quser, sizeof(quser)) ||
        db_admin_quote(m->a, d->password, qpass, sizeof(qpass)))
        return -1;
    snprintf(grantee, sizeof(grantee), "%s@'%%'", quser);
    /* information_schema spells the grantee as 'user'@'%' */
    {
        char raw[300];
        snprintf(raw, sizeof(raw), "'%s'@'%%'", d->user);
        db_admin_quote(m->a, raw, qgrantee, sizeof(qgrantee));
    }
    db_admin_quote(m->a, m->database, qdb, sizeof(qdb));
    sbuf_printf(&b, "CREATE USER IF NOT EXISTS %s IDENTIFIED BY %s", grantee, qpass);
    if ((rc = exec_buf(m, &b)))
        goto out;
    sbuf_printf(&b, "ALTER USER %s IDENTIFIED BY %s", grantee, qpass);
    if ((rc = exec_buf(m, &b)))
        goto out;
    /* anything beyond what it needs is taken away first */
    sbuf_printf(&b,
                "SELECT NULL, PRIVILEGE_TYPE FROM information_schema.USER_PRIVILEGES "
                "WHERE GRANTEE = %s UNION ALL "
                "SELECT NULL, PRIVILEGE_TYPE FROM information_schema.SCHEMA_PRIVILEGES "
                "WHERE GRANTEE = %s UNION ALL "
                "SELECT TABLE_NAME, PRIVILEGE_TYPE FROM information_schema.TABLE_PRIVILEGES "
                "WHERE GRANTEE = %s AND TABLE_SCHEMA = %s UNION ALL "
                "SELECT TABLE_NAME, PRIVILEGE_TYPE FROM information_schema.TABLE_PRIVILEGES "
                "WHERE GRANTEE = %s AND TABLE_SCHEMA <> %s UNION ALL "
                "SELECT NULL, CONCAT('COLUMN ', PRIVILEGE_TYPE) "
                "FROM information_schema.COLUMN_PRIVILEGES WHERE GRANTEE = %s UNION ALL "
                "SELECT NULL, CONCAT('ROUTINE ', Routine_name) FROM mysql.procs_priv "
                "WHERE User = %s AND Host = '%%'",
                qgrantee, qgrantee, qgrantee, qdb, qgrantee, qdb, qgrantee, quser);
    if (b.oom || db_admin_exec(m->a, b.buf, b.len, check_priv, &pr, m->err, sizeof(m->err))) {
        fprintf(stderr, "migrate: %s\n", m->err);
        rc = -1;
        goto out;
    }
    sbuf_reset(&b);
    if (pr.extra) {
        printf("migrate: %s account '%s' had privileges it does not need: revoking them\n",
               role, d->user);
        sbuf_printf(&b, "REVOKE ALL PRIVILEGES, GRANT OPTION FROM %s", grantee);
        if ((rc = exec_buf(m, &b)))
            goto out;
        m->changes++;
    }
    for (const struct grant *g = grants; g->table; g++) {
        sbuf_printf(&b, "GRANT %s ON `%s`.`%s` TO %s", g->privs, m->database, g->table, grantee);
        if ((rc = exec_buf(m, &b)))
            goto out;
    }
    if (routine) {
        sbuf_printf(&b, "GRANT EXECUTE ON FUNCTION `%s`.`%s` TO %s", m->database, routine,
                    grantee);
        if ((rc = exec_buf(m, &b)))
            goto out;
    }
    if (global) {
        sbuf_printf(&b, "GRANT %s ON *.* TO %s", global, grantee);
        rc = exec_buf(m, &b);
    }
out:
    sbuf_release(&b);
    return rc;
}

/*=== The migration lock ===*/

/*
 * Concurrent migrates run one after the other: each holds the server-wide
 * user lock 'cqrsd_migrate' (the accounts it grants are server-wide too)
 * from before CREATE DATABASE until it ends. GET_LOCK waits in steps of
 * MIGRATE_LOCK_STEP_S, below the connection's 30 s read timeout, at most
 * MIGRATE_LOCK_WAIT_S in all.
 */
#define MIGRATE_LOCK_WAIT_S 60
#define MIGRATE_LOCK_STEP_S 10
#define MIGRATE_UNLOCK "SELECT RELEASE_LOCK('cqrsd_migrate')"

/*
 * GET_LOCK's answer: 1 (ours), 0 (timed out) or NULL (an error, or killed on
 * MariaDB): -1. MySQL answers a killed GET_LOCK with error 1317 instead.
 */
static int lock_result(void *ctx, unsigned ncols, const char *const *cols)
{
    *(int *)ctx = ncols >= 1 && cols[0] ? atoi(cols[0]) : -1;
    return 0;
}

#define STR_(x) #x
#define STR(x) STR_(x)

/* GET_LOCK at once, or waiting MIGRATE_LOCK_STEP_S; its answer in *got. -1 when it failed. */
static int lock_try(struct migrate *m, bool wait, int *got)
{
    static const char now[] = "SELECT GET_LOCK('cqrsd_migrate', 0)";
    static const char step[] = "SELECT GET_LOCK('cqrsd_migrate', " STR(MIGRATE_LOCK_STEP_S) ")";

    *got = -1;
    if (db_admin_exec(m->a, wait ? step : now, wait ? sizeof(step) - 1 : sizeof(now) - 1,
                      lock_result, got, m->err, sizeof(m->err))) {
        if (db_admin_errno(m->a) == 1317) /* ER_QUERY_INTERRUPTED: refused, as NULL */
            return 0;
        fprintf(stderr, "migrate: %s\n", m->err);
        return -1;
    }
    return 0;
}

/*
 * Take the migration lock, waiting for another migrate to finish: 0 when
 * held, 1 when it could not be had (one line on stderr), -1 on an error.
 */
static int take_lock(struct migrate *m)
{
    int got, waited = 0;

    if (lock_try(m, false, &got))
        return -1;
    if (got == 0) {
        printf("migrate: another migrate is running: waiting for it (at most %d s)\n",
               MIGRATE_LOCK_WAIT_S);
        fflush(stdout);
    }
    while (got == 0 && waited < MIGRATE_LOCK_WAIT_S) {
        if (lock_try(m, true, &got))
            return -1;
        waited += MIGRATE_LOCK_STEP_S;
    }
    if (got == 1)
        return 0;
    if (got == 0)
        fprintf(stderr, "migrate: another migrate still holds the migration lock after %d s; "
                        "try again later\n", MIGRATE_LOCK_WAIT_S);
    else
        fprintf(stderr, "migrate: the server refused the migration lock\n");
    return 1;
}

/*=== migrate ===*/

int admin_migrate(const struct config *cfg)
{
    struct migrate *m = calloc(1, sizeof(*m));
    struct sbuf b = SBUF_INIT;
    int rc = -1, lock = -1;
    bool cannot_start = false; /* a bad DSN, no connection: exit 2, as verify-views does */

    if (!m)
        return 1;
    m->database = cfg->write_dsn.database;
    if (!m->database[0]) {
        fprintf(stderr, "migrate: the write DSN names no database\n");
        cannot_start = true;
        goto out;
    }
    m->a = db_admin_open(&cfg->admin_dsn, "", m->err, sizeof(m->err));
    if (!m->a) {
        fprintf(stderr, "migrate: %s\n", m->err);
        cannot_start = true;
        goto out;
    }
    if ((lock = take_lock(m)))
        goto out;
    sbuf_printf(&b, "CREATE DATABASE IF NOT EXISTS `%s` CHARACTER SET utf8mb4 "
                    "COLLATE utf8mb4_unicode_ci", m->database);
    if (exec_buf(m, &b))
        goto out;
    sbuf_printf(&b, "USE `%s`", m->database);
    if (exec_buf(m, &b))
        goto out;
    sbuf_adds(&b, "CREATE TABLE IF NOT EXISTS schema_migrations (name VARCHAR(255) NOT NULL, "
                  "applied_at DATETIME(3) NOT NULL, PRIMARY KEY (name)) ENGINE = InnoDB");
    if (exec_buf(m, &b))
        goto out;
    for (const struct sql_file *f = sql_files; f->name; f++)
        if (sqlscript_split(f->text, f->len, collect_def, m)) {
            fprintf(stderr, "migrate: cannot read %s\n", f->name);
            goto out;
        }
    if (apply_files(m) || ensure_definitions(m))
        goto out;
    if (strcmp(cfg->write_dsn.user, cfg->read_dsn.user) == 0 ||
        strcmp(cfg->write_dsn.user, cfg->admin_dsn.user) == 0 ||
        strcmp(cfg->read_dsn.user, cfg->admin_dsn.user) == 0) {
        fprintf(stderr, "migrate: the write, read and admin DSNs must name three different "
                        "accounts\n");
        goto out;
    }
    /*
     * The writer recomputes a sample of the views (the drift gauge):
     * cqrs_line_json. The reader, on a replica, reads SHOW REPLICA STATUS
     * (replica.c): MariaDB calls that right SLAVE MONITOR, MySQL REPLICATION
     * CLIENT. Neither shows any data.
     */
    if (ensure_account(m, &cfg->write_dsn, writer_grants, "cqrs_line_json", NULL, "writer") ||
        ensure_account(m, &cfg->read_dsn, reader_grants, NULL,
                       db_admin_mariadb(m->a) ? "SLAVE MONITOR" : "REPLICATION CLIENT", "reader"))
        goto out;
    printf("migrate: database '%s' is up to date (%d change%s)\n", m->database, m->changes,
           m->changes == 1 ? "" : "s");
    rc = 0;
out:
    if (lock == 0) /* closing the connection would release it too */
        db_admin_exec(m->a, MIGRATE_UNLOCK, sizeof(MIGRATE_UNLOCK) - 1, NULL, NULL, m->err,
                      sizeof(m->err));
    sbuf_release(&b);
    db_admin_close(m->a);
    free(m);
    return lock > 0 || cannot_start ? 2 : rc ? 1 : 0;
}

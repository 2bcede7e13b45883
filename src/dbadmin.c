/* dbadmin.c - admin connections (migrate, verify-views, rebuild-views, verify-events): plain
 * text SQL on a connection of their own, streamed or buffered rows, and the one statement with
 * integer parameters they prepare. Declared in db.h beside the daemon's per-thread connections.
 */
#include <mysql.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db.h"
#include "dbconnect.h"

/*=== Admin connections ===*/

struct db_admin {
    MYSQL *my;
};

struct db_admin *db_admin_open(const struct dsn *dsn, const char *database, char *err,
                               size_t errlen)
{
    struct db_admin *a = calloc(1, sizeof(*a));

    if (!a) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    a->my = db_connect(dsn, database ? database : "", false, err, errlen);
    if (!a->my) {
        free(a);
        return NULL;
    }
    return a;
}

void db_admin_close(struct db_admin *a)
{
    if (!a)
        return;
    mysql_close(a->my);
    free(a);
}

int db_admin_exec(struct db_admin *a, const char *sql, size_t len, db_row_cb cb, void *ctx,
                  char *err, size_t errlen)
{
    int rc = 0;

    if (mysql_real_query(a->my, sql, len)) {
        snprintf(err, errlen, "error %u: %s", mysql_errno(a->my), mysql_error(a->my));
        return -1;
    }
    do {
        MYSQL_RES *res = mysql_store_result(a->my);
        if (res) {
            unsigned n = mysql_num_fields(res);
            MYSQL_ROW row;
            while ((row = mysql_fetch_row(res)))
                if (cb && rc == 0)
                    rc = cb(ctx, n, (const char *const *)row);
            mysql_free_result(res);
        } else if (mysql_field_count(a->my) != 0) {
            snprintf(err, errlen, "error %u: %s", mysql_errno(a->my), mysql_error(a->my));
            return -1;
        }
    } while (mysql_next_result(a->my) == 0);
    if (mysql_errno(a->my)) {
        snprintf(err, errlen, "error %u: %s", mysql_errno(a->my), mysql_error(a->my));
        return -1;
    }
    return rc;
}

int db_admin_i64(struct db_admin *a, const char *sql, size_t len, int64_t p1, int64_t p2,
                 int64_t *out, char *err, size_t errlen)
{
    MYSQL_STMT *st = mysql_stmt_init(a->my);
    MYSQL_BIND in[2], res;
    long long v[2] = {p1, p2}, got = 0;
    my_bool null = 0;
    int rc = -1;

    if (!st) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    memset(in, 0, sizeof(in));
    memset(&res, 0, sizeof(res));
    for (int i = 0; i < 2; i++) {
        in[i].buffer_type = MYSQL_TYPE_LONGLONG;
        in[i].buffer = &v[i];
    }
    res.buffer_type = MYSQL_TYPE_LONGLONG;
    res.buffer = &got;
    res.is_null = &null;
    if (mysql_stmt_prepare(st, sql, len) || mysql_stmt_param_count(st) != 2 ||
        mysql_stmt_bind_param(st, in) || mysql_stmt_execute(st) ||
        mysql_stmt_bind_result(st, &res) || mysql_stmt_fetch(st) != 0) {
        snprintf(err, errlen, "error %u: %s", mysql_stmt_errno(st), mysql_stmt_error(st));
        goto out;
    }
    *out = null ? 0 : (int64_t)got;
    rc = 0;
out:
    mysql_stmt_close(st);
    return rc;
}

int db_admin_quote(struct db_admin *a, const char *s, char *out, size_t cap)
{
    size_t n = strlen(s);

    if (cap < 2 * n + 3)
        return -1;
    out[0] = '\'';
    n = mysql_real_escape_string(a->my, out + 1, s, n);
    out[n + 1] = '\'';
    out[n + 2] = '\0';
    return 0;
}

const char *db_client_version(void)
{
    return mysql_get_client_info();
}

struct db_admin_rows {
    struct db_admin *a;
    MYSQL_RES *res;
};

struct db_admin_rows *db_admin_stream(struct db_admin *a, const char *sql, size_t len,
                                      bool buffered, char *err, size_t errlen)
{
    struct db_admin_rows *r;

    if (mysql_real_query(a->my, sql, len)) {
        snprintf(err, errlen, "error %u: %s", mysql_errno(a->my), mysql_error(a->my));
        return NULL;
    }
    r = calloc(1, sizeof(*r));
    if (!r) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    r->a = a;
    r->res = buffered ? mysql_store_result(a->my) : mysql_use_result(a->my);
    if (!r->res) {
        snprintf(err, errlen, "error %u: %s", mysql_errno(a->my), mysql_error(a->my));
        free(r);
        return NULL;
    }
    return r;
}

const char *const *db_admin_next(struct db_admin_rows *r, unsigned *ncols)
{
    MYSQL_ROW row = mysql_fetch_row(r->res);

    *ncols = mysql_num_fields(r->res);
    return (const char *const *)row;
}

int db_admin_stream_end(struct db_admin_rows *r, char *err, size_t errlen)
{
    int rc = 0;

    if (!r)
        return -1;
    if (mysql_errno(r->a->my)) {
        snprintf(err, errlen, "error %u: %s", mysql_errno(r->a->my), mysql_error(r->a->my));
        rc = -1;
    }
    mysql_free_result(r->res);
    free(r);
    return rc;
}

int db_admin_send(struct db_admin *a, const char *sql, size_t len, char *err, size_t errlen)
{
    if (mysql_send_query(a->my, sql, len)) {
        snprintf(err, errlen, "error %u: %s", mysql_errno(a->my), mysql_error(a->my));
        return -1;
    }
    return 0;
}

int db_admin_wait(struct db_admin *a, char *err, size_t errlen)
{
    MYSQL_RES *res;

    if (mysql_read_query_result(a->my)) {
        snprintf(err, errlen, "error %u: %s", mysql_errno(a->my), mysql_error(a->my));
        return -1;
    }
    res = mysql_store_result(a->my);
    mysql_free_result(res);
    return 0;
}

unsigned long db_admin_thread_id(struct db_admin *a)
{
    return mysql_thread_id(a->my);
}

bool db_admin_mariadb(struct db_admin *a)
{
    return strstr(mysql_get_server_info(a->my), "MariaDB") != NULL;
}

unsigned db_admin_errno(struct db_admin *a)
{
    return mysql_errno(a->my);
}

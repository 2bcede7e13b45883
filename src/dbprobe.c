/* dbprobe.c - a server's replication state and position, on a connection of its own
 *
 * The replica monitor (replica.c) keeps one probe per replica and one on
 * the primary. Its statements are catalog_session's texts; the only one
 * with request data in it (the GTIDs a query waits for) is prepared.
 */
#include "dbprobe.h"

#include <mysql.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "catalog.h"
#include "dbconnect.h"

struct db_probe {
    MYSQL *my;
    bool mariadb;
    bool status_denied; /* SHOW REPLICA STATUS was refused once: read the position alone */
    MYSQL_STMT *wait;
};

struct db_probe *db_probe_open(const struct dsn *dsn, char *err, size_t errlen)
{
    struct db_probe *p = calloc(1, sizeof(*p));

    if (!p)
        return NULL;
    p->my = db_connect(dsn, NULL, true, err, errlen);
    if (!p->my) {
        free(p);
        return NULL;
    }
    p->mariadb = strstr(mysql_get_server_info(p->my), "MariaDB") != NULL;
    return p;
}

void db_probe_close(struct db_probe *p)
{
    if (!p)
        return;
    if (p->wait)
        mysql_stmt_close(p->wait);
    mysql_close(p->my);
    free(p);
}

bool db_probe_mariadb(const struct db_probe *p)
{
    return p->mariadb;
}

static void copy_pos(const char *s, unsigned long n, char *pos, size_t cap, size_t *len)
{
    if (!s)
        n = 0;
    if (n >= cap)
        n = cap - 1;
    memcpy(pos, s ? s : "", n);
    pos[n] = '\0';
    *len = n;
}

/* One text statement's first row's first column into pos; 0, -1 on any error. */
static int one_value(struct db_probe *p, enum s s, char *pos, size_t cap, size_t *len)
{
    MYSQL_RES *res;
    MYSQL_ROW row;

    if (mysql_real_query(p->my, catalog_session[s].sql, strlen(catalog_session[s].sql)) ||
        !(res = mysql_store_result(p->my)))
        return -1;
    row = mysql_fetch_row(res);
    copy_pos(row ? row[0] : NULL, row ? mysql_fetch_lengths(res)[0] : 0, pos, cap, len);
    mysql_free_result(res);
    return 0;
}

int db_probe_position(struct db_probe *p, char *pos, size_t cap, size_t *len)
{
    return one_value(p, p->mariadb ? S_POSITION_MARIADB_PRIMARY : S_POSITION_MYSQL, pos, cap,
                     len);
}

/* What a replica has applied: @@gtid_slave_pos (MariaDB) or @@gtid_executed (MySQL). */
static int replica_position(struct db_probe *p, char *pos, size_t cap, size_t *len)
{
    return one_value(p, p->mariadb ? S_POSITION_MARIADB_REPLICA : S_POSITION_MYSQL, pos, cap,
                     len);
}

/* The position alone: the account may not read the replica's status. */
static int position_only(struct db_probe *p, struct db_replica_state *st)
{
    st->status_known = false;
    return replica_position(p, st->pos, sizeof(st->pos), &st->pos_len);
}

int db_probe_replica(struct db_probe *p, struct db_replica_state *st)
{
    const char *sql = catalog_session[S_REPLICA_STATUS].sql;
    MYSQL_RES *res;
    MYSQL_ROW row;
    int io = -1, sqlt = -1, pos = -1;

    memset(st, 0, offsetof(struct db_replica_state, pos));
    st->pos[0] = '\0';
    st->pos_len = 0;
    if (p->status_denied)
        return position_only(p, st);
    if (mysql_real_query(p->my, sql, strlen(sql))) {
        unsigned e = mysql_errno(p->my);
        if (e == 1227 || e == 1142) { /* ER_SPECIFIC_ACCESS_DENIED, ER_TABLEACCESS_DENIED */
            p->status_denied = true;
            return position_only(p, st);
        }
        return -1;
    }
    if (!(res = mysql_store_result(p->my)))
        return -1;
    st->status_known = true;
    for (unsigned i = 0; i < mysql_num_fields(res); i++) {
        const char *name = mysql_fetch_field_direct(res, i)->name;
        if (!strcmp(name, "Slave_IO_Running") || !strcmp(name, "Replica_IO_Running"))
            io = (int)i;
        else if (!strcmp(name, "Slave_SQL_Running") || !strcmp(name, "Replica_SQL_Running"))
            sqlt = (int)i;
        else if (!strcmp(name, "Executed_Gtid_Set")) /* MySQL; MariaDB has no such column */
            pos = (int)i;
    }
    row = mysql_fetch_row(res);
    if (row && io >= 0 && sqlt >= 0) {
        st->replicating = true;
        st->io_stopped = !row[io] || strcmp(row[io], "No") == 0;
        st->sql_running = row[sqlt] && strcmp(row[sqlt], "Yes") == 0;
        if (pos >= 0)
            copy_pos(row[pos], mysql_fetch_lengths(res)[pos], st->pos, sizeof(st->pos),
                     &st->pos_len);
    }
    while (mysql_fetch_row(res)) /* several sources: the first is the one we read */
        ;
    mysql_free_result(res);
    if (st->replicating && pos >= 0)
        return 0;
    /* MariaDB (@@gtid_slave_pos), or not a replica at all: then it takes no queries */
    return replica_position(p, st->pos, sizeof(st->pos), &st->pos_len);
}

int db_probe_wait(struct db_probe *p, const char *gtids, int64_t ms, char *pos, size_t cap,
                  size_t *len)
{
    const char *sql = catalog_session[p->mariadb ? S_WAIT_MARIADB : S_WAIT_MYSQL].sql;
    MYSQL_BIND in[2], out[2];
    long long wait_ms = ms, reached = 0;
    unsigned long glen = strlen(gtids), plen = 0;
    my_bool null[2] = {0, 0};
    int rc = -1;

    if (!p->wait) {
        if (!(p->wait = mysql_stmt_init(p->my)))
            return -1;
        if (mysql_stmt_prepare(p->wait, sql, strlen(sql))) {
            mysql_stmt_close(p->wait);
            p->wait = NULL;
            return -1;
        }
    }
    memset(in, 0, sizeof(in));
    memset(out, 0, sizeof(out));
    in[0].buffer_type = MYSQL_TYPE_STRING;
    in[0].buffer = (void *)gtids;
    in[0].buffer_length = glen;
    in[0].length = &glen;
    in[1].buffer_type = MYSQL_TYPE_LONGLONG;
    in[1].buffer = &wait_ms;
    out[0].buffer_type = MYSQL_TYPE_LONGLONG;
    out[0].buffer = &reached;
    out[0].is_null = &null[0];
    out[1].buffer_type = MYSQL_TYPE_STRING;
    out[1].buffer = pos;
    out[1].buffer_length = cap - 1;
    out[1].length = &plen;
    out[1].is_null = &null[1];
    if (mysql_stmt_bind_param(p->wait, in) || mysql_stmt_execute(p->wait)) {
        /* a GTID list the server refuses is not a lost connection: read the position */
        unsigned e = mysql_stmt_errno(p->wait);
        if (e >= 2000 && e < 3000)
            return -1;
        return replica_position(p, pos, cap, len);
    }
    if (!mysql_stmt_bind_result(p->wait, out) && mysql_stmt_fetch(p->wait) != 1) {
        *len = null[1] ? 0 : plen > cap - 1 ? cap - 1 : plen; /* a cut position: not parsed */
        pos[*len] = '\0';
        rc = 0;
    }
    mysql_stmt_free_result(p->wait);
    return rc;
}

/* dbprobe.h - a server's replication state and position, on a connection of its own */
#ifndef CQRSD_DBPROBE_H
#define CQRSD_DBPROBE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"

#define DBPROBE_POS_MAX 4096 /* a position's text, NUL-terminated */

struct db_probe;

/* Connect as dsn says; NULL with one line in err (as db_connect writes it). */
struct db_probe *db_probe_open(const struct dsn *dsn, char *err, size_t errlen);
void db_probe_close(struct db_probe *p);
/* Is the server MariaDB (else MySQL)? Its GTIDs and functions differ. */
bool db_probe_mariadb(const struct db_probe *p);

struct db_replica_state {
    bool status_known; /* SHOW REPLICA STATUS could be read (the account may lack the right) */
    bool replicating;  /* it has a source: SHOW REPLICA STATUS gave a row */
    bool io_stopped;   /* the I/O thread is stopped ("No"); "Connecting" is not stopped */
    bool sql_running;  /* the SQL (applier) thread runs */
    char pos[DBPROBE_POS_MAX]; /* the transactions it has applied */
    size_t pos_len;
};

/* A replica's state; 0, or -1 when the connection failed (then close the probe). */
int db_probe_replica(struct db_probe *p, struct db_replica_state *st);
/* The primary's position (every transaction it has committed); 0 or -1. */
int db_probe_position(struct db_probe *p, char *pos, size_t cap, size_t *len);
/*
 * On a replica: wait at most ms for `gtids` (gtid_wait_arg's text) to be
 * applied, then read its position. 0 (reached or not: compare the
 * position), or -1 when the connection failed.
 */
int db_probe_wait(struct db_probe *p, const char *gtids, int64_t ms, char *pos, size_t cap,
                  size_t *len);

#endif

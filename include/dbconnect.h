/* dbconnect.h - open one MySQL connection for a DSN, in the DSN's TLS mode */
#ifndef CQRSD_DBCONNECT_H
#define CQRSD_DBCONNECT_H

#include <mysql.h>
#include <stdbool.h>
#include <stddef.h>

#include "config.h"

/*
 * Connect as dsn says (database: an override, "" none, NULL the DSN's). With
 * session_setup, the daemon's session settings (bounded lock waits, UTC, READ
 * COMMITTED) and its short read timeout; without, a tool's long one. NULL on
 * failure, with one line in err: "cannot connect to HOST as 'USER' ..." and
 * the ssl-mode and reason when TLS is why (never the password or server text).
 */
MYSQL *db_connect(const struct dsn *d, const char *database, bool session_setup, char *err,
                  size_t errlen);

#endif

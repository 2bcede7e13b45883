#!/bin/bash
# replica-setup.sh - the one-shot set-up of docker-compose.yml's `replica`
# profile. It runs in the mysql:8.4 image (for its `mysql` client), after
# `cqrsd migrate` has finished on the primary and both servers are healthy:
#
#   1. on the primary: the replication account, with the server's default
#      authentication (caching_sha2_password) and REQUIRE SSL;
#   2. on the replica: CHANGE REPLICATION SOURCE TO the primary with GTID
#      auto-positioning over TLS, then START REPLICA. With auto-positioning
#      the replica asks the primary for every transaction it lacks, from the
#      primary's first binary log on: migrate's schema, triggers and accounts
#      reach it like any later write, whichever ran first;
#   3. waits until the replica has applied everything the primary had
#      committed when step 2 began, so that the daemon that reads from it
#      starts on a replica that has the schema.
#
# Every step can run again: `docker compose --profile replica up` runs it on
# each start. Exit 0 when the replica has caught up, 1 when it has not
# within CATCH_UP_SECONDS (with the replica's own error), 2 on bad settings.
#
# Environment (set by docker-compose.yml):
#   PRIMARY_HOST, PRIMARY_PORT   the primary, as the replica reaches it
#   REPLICA_HOST, REPLICA_PORT   the replica
#   ROOT_PASSWORD                root's password, on both servers
#   REPL_USER, REPL_PASSWORD     the replication account
#   CATCH_UP_SECONDS             how long step 3 may take (default 300)
set -euo pipefail

say() { echo "replica-setup: $*" >&2; }

# The values go into SQL string literals: allow only what needs no quoting
# (the same rule as the passwords in the stack's DSNs).
for v in PRIMARY_HOST REPLICA_HOST ROOT_PASSWORD REPL_USER REPL_PASSWORD; do
    case ${!v:-} in
    "" | *[!A-Za-z0-9._~-]*)
        say "$v is empty or has a character other than letters, digits and - . _ ~"
        exit 2
        ;;
    esac
done
PRIMARY_PORT=${PRIMARY_PORT:-3306}
REPLICA_PORT=${REPLICA_PORT:-3306}
CATCH_UP_SECONDS=${CATCH_UP_SECONDS:-300}
for v in PRIMARY_PORT REPLICA_PORT CATCH_UP_SECONDS; do
    case ${!v} in "" | *[!0-9]*) say "$v is not a number"; exit 2 ;; esac
done

# sql HOST PORT [mysql options]: runs stdin as root on HOST:PORT over TLS
# (root's password through a file descriptor, not the command line)
sql() {
    local host=$1 port=$2
    shift 2
    mysql --defaults-extra-file=<(printf '[client]\nuser=root\npassword=%s\n' "$ROOT_PASSWORD") \
        --host="$host" --port="$port" --protocol=TCP --ssl-mode=REQUIRED \
        --batch --skip-column-names "$@"
}

say "the replication account '$REPL_USER' on $PRIMARY_HOST"
sql "$PRIMARY_HOST" "$PRIMARY_PORT" <<SQL
CREATE USER IF NOT EXISTS '$REPL_USER'@'%' IDENTIFIED BY '$REPL_PASSWORD' REQUIRE SSL;
ALTER USER '$REPL_USER'@'%' IDENTIFIED BY '$REPL_PASSWORD' REQUIRE SSL;
GRANT REPLICATION SLAVE ON *.* TO '$REPL_USER'@'%';
SQL

# what the replica must have applied before this step ends
want=$(sql "$PRIMARY_HOST" "$PRIMARY_PORT" <<SQL
SELECT @@GLOBAL.gtid_executed;
SQL
)
want=${want//\\n/}

say "$REPLICA_HOST replicates from $PRIMARY_HOST:$PRIMARY_PORT (GTID auto-position, TLS)"
# STOP REPLICA on a replica that never ran is a warning, not an error
sql "$REPLICA_HOST" "$REPLICA_PORT" <<SQL
STOP REPLICA;
CHANGE REPLICATION SOURCE TO
  SOURCE_HOST = '$PRIMARY_HOST',
  SOURCE_PORT = $PRIMARY_PORT,
  SOURCE_USER = '$REPL_USER',
  SOURCE_PASSWORD = '$REPL_PASSWORD',
  SOURCE_AUTO_POSITION = 1,
  SOURCE_SSL = 1,
  SOURCE_CONNECT_RETRY = 10,
  SOURCE_RETRY_COUNT = 8640;
START REPLICA;
SQL

# status NAME: one field of SHOW REPLICA STATUS on the replica
status() {
    sql "$REPLICA_HOST" "$REPLICA_PORT" --column-names --vertical <<SQL | sed -n "s/^ *$1: //p"
SHOW REPLICA STATUS;
SQL
}

say "waiting up to ${CATCH_UP_SECONDS}s for $REPLICA_HOST to apply ${want:-nothing}"
deadline=$((SECONDS + CATCH_UP_SECONDS))
while :; do
    # 0: applied; 1: not within 5 s
    got=$(sql "$REPLICA_HOST" "$REPLICA_PORT" <<SQL
SELECT WAIT_FOR_EXECUTED_GTID_SET('$want', 5);
SQL
)
    [ "$got" = 0 ] && break
    # a stopped SQL thread will not apply anything more: no use waiting
    if [ "$(status Replica_SQL_Running)" = No ] || [ "$SECONDS" -ge "$deadline" ]; then
        say "$REPLICA_HOST has not caught up: IO thread $(status Replica_IO_Running)," \
            "SQL thread $(status Replica_SQL_Running);" \
            "last IO error: $(status Last_IO_Error); last SQL error: $(status Last_SQL_Error)"
        exit 1
    fi
done
say "$REPLICA_HOST has caught up with $PRIMARY_HOST"

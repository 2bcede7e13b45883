#!/bin/sh
# replicas.sh - a private MariaDB primary and its replicas as plain processes
# (scripts/mariadb.sh), with GTID replication and a row-based binlog: what
# `--replica-dsn` reads from, for the tests and for trying replicas by hand.
#
#   replicas.sh start DIR PRIMARY_PORT REPLICA_PORT[:DELAY]...
#       DIR/primary on 127.0.0.1:PRIMARY_PORT (--log-bin, binlog_format=ROW,
#       server id 1) and DIR/replica1, DIR/replica2, ... on the replica ports
#       (server ids 2, 3, ...; read_only), started together; each replicates
#       from the primary as root over 127.0.0.1 with MASTER_USE_GTID=slave_pos
#       (and MASTER_DELAY=DELAY seconds when given). Returns when every
#       replica's IO and SQL threads run. Start them before `cqrsd migrate`
#       runs on the primary: the schema, its triggers and the accounts reach
#       the replicas by replication. DIR/servers lists "NAME PORT DELAY".
#   replicas.sh up DIR NAME
#       start NAME (primary, replica1, ...) again after a stop or a kill, same
#       data, port and options (a replica resumes replicating by itself)
#   replicas.sh delay DIR NAME SECONDS
#       the replica's MASTER_DELAY becomes SECONDS (its threads restart)
#   replicas.sh sync DIR [SECONDS]
#       wait until every replica that runs and applies (SQL thread running)
#       has applied all the primary has logged (MASTER_GTID_WAIT); exit 1
#       after SECONDS (default 30)
#   replicas.sh sql DIR NAME STATEMENT
#       STATEMENT as root over NAME's unix socket (tab-separated rows)
#   replicas.sh stop DIR
#       stop every server this script started in DIR (by pid)
#
# Server options from MARIADB_OPTS are added to every server's.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
usage() {
    echo "usage: replicas.sh start DIR PRIMARY_PORT REPLICA_PORT[:DELAY]... | up DIR NAME | delay DIR NAME SECONDS | sync DIR [SECONDS] | sql DIR NAME STATEMENT | stop DIR" >&2
    exit 2
}
cmd=${1:-}
dir=${2:-}
[ -n "$cmd" ] && [ -n "$dir" ] || usage
mkdir -p "$dir"
dir=$(cd "$dir" && pwd)

q() { # q NAME STATEMENT
    mariadb --no-defaults -uroot --socket="$dir/$1/s.sock" -N -B -e "$2" </dev/null
}

# server_up NAME PORT: start one server with its role's options
server_up() {
    local_opts="--log-bin=binlog --binlog-format=ROW --server-id=1"
    if [ "$1" != primary ]; then
        local_opts="--server-id=$((${1#replica} + 1)) --relay-log=relay-bin --read-only=ON"
    fi
    MARIADB_OPTS="$local_opts --gtid-strict-mode=ON ${MARIADB_OPTS:-}" \
        sh "$here/mariadb.sh" start "$dir/$1" "$2" </dev/null
}

# slave_running NAME: "Yes Yes" when the IO and SQL threads both run
slave_running() {
    mariadb --no-defaults -uroot --socket="$dir/$1/s.sock" -E -e "SHOW SLAVE STATUS" 2>/dev/null </dev/null |
        awk '$1 == "Slave_IO_Running:" { io = $2 } $1 == "Slave_SQL_Running:" { s = $2 } END { print io, s }'
}

# wait_running NAME: up to 10 s for both threads
wait_running() {
    i=0
    until [ "$(slave_running "$1")" = "Yes Yes" ]; do
        i=$((i + 1))
        if [ $i -gt 100 ]; then
            echo "replicas: $1 does not replicate: $(slave_running "$1")" >&2
            mariadb --no-defaults -uroot --socket="$dir/$1/s.sock" -E -e "SHOW SLAVE STATUS" 2>&1 |
                grep -E 'Last_(IO|SQL)_Error:' >&2
            return 1
        fi
        sleep 0.1
    done
}

port_of() { awk -v n="$1" '$1 == n { print $2 }' "$dir/servers"; }

case "$cmd" in
start)
    [ $# -ge 4 ] || usage
    pport=$3
    shift 3
    echo "primary $pport 0" >"$dir/servers"
    n=0
    for r in "$@"; do
        n=$((n + 1))
        rport=${r%%:*}
        delay=0
        [ "$r" != "$rport" ] && delay=${r#*:}
        echo "replica$n $rport $delay" >>"$dir/servers"
    done
    # every server at once (mariadb-install-db is most of the time)
    pids=""
    while read -r name port _; do
        server_up "$name" "$port" >"$dir/$name.start.log" 2>&1 &
        pids="$pids $!"
    done <"$dir/servers"
    failed=0
    for p in $pids; do wait "$p" || failed=1; done
    if [ $failed = 1 ]; then
        cat "$dir"/*.start.log >&2
        exit 1
    fi
    while read -r name port delay; do
        [ "$name" = primary ] && continue
        q "$name" "CHANGE MASTER TO MASTER_HOST = '127.0.0.1', MASTER_PORT = $pport,
            MASTER_USER = 'root', MASTER_PASSWORD = '', MASTER_USE_GTID = slave_pos,
            MASTER_CONNECT_RETRY = 1, MASTER_DELAY = $delay;
            START SLAVE;"
    done <"$dir/servers"
    while read -r name _ _; do
        [ "$name" = primary ] || wait_running "$name"
    done <"$dir/servers"
    ;;
up)
    name=${3:?}
    port=$(port_of "$name")
    [ -n "$port" ] || { echo "replicas: no server $name in $dir" >&2; exit 1; }
    server_up "$name" "$port" >/dev/null
    [ "$name" = primary ] || wait_running "$name"
    ;;
delay)
    name=${3:?}
    secs=${4:?}
    q "$name" "STOP SLAVE; CHANGE MASTER TO MASTER_DELAY = $secs; START SLAVE;"
    wait_running "$name"
    ;;
sync)
    secs=${3:-30}
    pos=$(q primary "SELECT @@gtid_binlog_pos")
    [ -z "$pos" ] && exit 0
    while read -r name _ _; do
        [ "$name" = primary ] && continue
        [ "$(slave_running "$name")" != " " ] || continue # not running
        [ "$(slave_running "$name" | cut -d' ' -f2)" = Yes ] || continue
        got=$(q "$name" "SELECT MASTER_GTID_WAIT('$pos', $secs)")
        if [ "$got" != 0 ]; then
            echo "replicas: $name has not applied $pos after $secs s (it has $(q "$name" "SELECT @@gtid_slave_pos"))" >&2
            exit 1
        fi
    done <"$dir/servers"
    ;;
sql)
    name=${3:?}
    q "$name" "${4:?}"
    ;;
stop)
    [ -f "$dir/servers" ] || exit 0
    pids=""
    while read -r name _ _; do
        sh "$here/mariadb.sh" stop "$dir/$name" >/dev/null 2>&1 &
        pids="$pids $!"
    done <"$dir/servers"
    for p in $pids; do wait "$p" || true; done
    ;;
*)
    usage
    ;;
esac

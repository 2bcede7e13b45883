#!/usr/bin/env bash
# tests/bench/run.sh - `make bench`: cqrsd against the database's own limit.
#
# Starts its own tuned private MariaDB, run like a durable replicated
# production server (binary log on, ROW format, sync_binlog=1,
# innodb_flush_log_at_trx_commit=1), and one replica of it (a second private
# MariaDB, GTID replication), and the release daemon; seeds through the
# daemon's API (products in 20 categories and customers), then measures each
# workload twice, back to back: through cqrsd with wrk, and the same SQL
# straight against MariaDB with sysbench (tests/bench/sysbench/*.lua run the
# statements of src/catalog.c). A daemon started with --replica-dsn serves
# GET by id from the replica (beside the same served by the primary and
# sysbench on the replica), also while PlaceOrder runs on the primary, and
# reads carrying a fresh consistency token (tests/bench/wrk/token_read.lua).
# Prints one table and writes it as JSON to build/bench.json. Stops
# everything it started.
#
#   BENCH_SECONDS=20     seconds per measured run (under 10: a smoke run that
#                        seeds fewer rows unless BENCH_PRODUCTS/CUSTOMERS say)
#   BENCH_PRODUCTS, BENCH_CUSTOMERS   rows to seed (10000 and 1000)
#   BENCH_DAEMON_LOG=FILE   the daemon's stderr (default /dev/null: the
#                        per-request log line costs a write per request)
#   BENCH_PROFILE=1      also profile the whole machine with perf during one
#                        extra GET-by-id and one extra PlaceOrder run
#                        (build/bench-profile.txt)
#   BENCH_REPLICA_OPTS="--opt ..."   more server options for the replica (to
#                        try e.g. --slave-parallel-threads=4); printed with its settings
#   BENCH_ENFORCE=1      exit non-zero when a target is missed (by default
#                        only errors fail: non-2xx answers, a tool failing)
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
here="$top/tests/bench"
cd "$top"

die() {
    echo "bench: $*" >&2
    exit 1
}

SECS=${BENCH_SECONDS:-20}
case "$SECS" in '' | *[!0-9]*) die "BENCH_SECONDS must be a whole number of seconds" ;; esac
[ "$SECS" -ge 1 ] || die "BENCH_SECONDS must be at least 1"
if [ "$SECS" -lt 10 ]; then
    SMOKE=true
    PRODUCTS=${BENCH_PRODUCTS:-1000}
    CUSTOMERS=${BENCH_CUSTOMERS:-100}
else
    SMOKE=false
    PRODUCTS=${BENCH_PRODUCTS:-10000}
    CUSTOMERS=${BENCH_CUSTOMERS:-1000}
fi
CATEGORIES=20
DAEMON_THREADS=16
WRK_THREADS=2
SEED_CONNS=16
case "$PRODUCTS$CUSTOMERS" in *[!0-9]*) die "BENCH_PRODUCTS and BENCH_CUSTOMERS are numbers" ;; esac
[ "$PRODUCTS" -ge "$CATEGORIES" ] || die "BENCH_PRODUCTS must be at least $CATEGORIES"
[ "$CUSTOMERS" -ge 1 ] || die "BENCH_CUSTOMERS must be at least 1"

# The servers' tuning: durable commits (the redo log is flushed and synced at
# every COMMIT), a buffer pool that holds everything, a redo log large enough
# that the runs never wait on a checkpoint.
MARIADB_TUNING="--innodb-flush-log-at-trx-commit=1 --innodb-buffer-pool-size=1G
 --innodb-log-file-size=512M --innodb-log-buffer-size=64M --innodb-flush-method=O_DIRECT
 --innodb-doublewrite=1 --max-connections=1000 --thread-cache-size=256
 --table-open-cache=4000 --max-prepared-stmt-count=100000 --skip-name-resolve
 --query-cache-type=0 --query-cache-size=0"
MARIADB_TUNING=$(echo $MARIADB_TUNING)
# The primary, as every replicated production server: a binary log (these
# options come after scripts/mariadb.sh's --skip-log-bin and win), row-based,
# synced at every commit, so a commit is two fsyncs (binary log and redo log,
# group-committed), with GTIDs.
PRIMARY_OPTS="--log-bin=mysql-bin --binlog-format=ROW --sync-binlog=1 --server-id=1
 --gtid-strict-mode=ON"
PRIMARY_OPTS=$(echo $PRIMARY_OPTS)
# The replica: the same tuning, its own server id, read-only for clients, no
# binary log of its own, MariaDB's default applier (one SQL thread), and, as
# replicas are usually run, innodb_flush_log_at_trx_commit=2: it writes each
# applied transaction to the log at once but syncs it once a second. That
# costs no consistency: the replica's applied position (mysql.gtid_slave_pos)
# is an InnoDB table written in the same transactions, so after a crash it
# resumes from what it kept and fetches the rest from the primary again; the
# primary stays fully durable. A token read waits for its write to be applied
# on the replica, so the replica's commit is most of what the token costs: in
# two 5-s runs here the token added 7.9 ms at p99 (1.7 at p50) with a replica
# that synced every transaction, and 2.2 ms (0.7) with this one
# (BENCH_REPLICA_OPTS adds or overrides options).
REPLICA_OPTS="--server-id=2 --relay-log=relay-bin --read-only=ON --gtid-strict-mode=ON --innodb-flush-log-at-trx-commit=2${BENCH_REPLICA_OPTS:+ $BENCH_REPLICA_OPTS}"

#=== Tools ===

missing=""
for t in wrk sysbench jq curl; do
    command -v "$t" >/dev/null 2>&1 || missing="$missing $t"
done
if [ -n "$missing" ]; then
    [ "$(id -u)" -eq 0 ] || die "missing:$missing (run as root to have them installed, or install them)"
    echo "bench: installing$missing"
    export DEBIAN_FRONTEND=noninteractive
    apt-get install -y -qq --no-install-recommends $missing >/dev/null 2>&1 ||
        { apt-get update -qq && apt-get install -y -qq --no-install-recommends $missing >/dev/null; } ||
        die "could not install$missing"
fi
[ -x build/cqrsd ] || die "build/cqrsd is missing (make all)"

#=== State and cleanup ===

T=$(mktemp -d /tmp/cqrsd-b.XXXXXX) # short: the server's socket lives here
daemon_pid=""
tls_pid=""
rep_pid=""
orders_bg_pid=""
lag_pid=""
seed_pid=""
perf_pid=""
daemon_exit=""
CLK=$(getconf CLK_TCK)

stop_daemon() { # SIGTERM, as an operator does; sets daemon_exit
    [ -n "$daemon_pid" ] || return 0
    kill -TERM "$daemon_pid" 2>/dev/null
    for _ in $(seq 1 150); do
        kill -0 "$daemon_pid" 2>/dev/null || break
        sleep 0.1
    done
    if kill -0 "$daemon_pid" 2>/dev/null; then
        kill -KILL "$daemon_pid" 2>/dev/null
        daemon_exit="killed (still running 15 s after SIGTERM)"
        wait "$daemon_pid" 2>/dev/null
    else
        wait "$daemon_pid" 2>/dev/null
        daemon_exit=$?
    fi
    daemon_pid=""
}

cleanup() {
    local rc=$?
    [ -n "$seed_pid" ] && kill -KILL "$seed_pid" 2>/dev/null
    [ -n "$orders_bg_pid" ] && kill -KILL "$orders_bg_pid" 2>/dev/null
    [ -n "$lag_pid" ] && kill -KILL "$lag_pid" 2>/dev/null
    [ -n "$perf_pid" ] && kill -INT "$perf_pid" 2>/dev/null
    stop_daemon
    [ -n "$tls_pid" ] && kill -KILL "$tls_pid" 2>/dev/null
    [ -n "${hs_pid:-}" ] && kill -KILL "$hs_pid" 2>/dev/null
    [ -n "${es_pid:-}" ] && kill -KILL "$es_pid" 2>/dev/null
    [ -n "$rep_pid" ] && kill -KILL "$rep_pid" 2>/dev/null
    sh "$top/scripts/mariadb.sh" stop "$T/replica" >/dev/null 2>&1
    sh "$top/scripts/mariadb.sh" stop "$T/db" >/dev/null 2>&1
    local d
    for d in db replica; do
        if [ "$rc" -ne 0 ] && grep -q '\[ERROR\]' "$T/$d/error.log" 2>/dev/null; then
            echo "bench: the last errors of the server in $d:" >&2
            grep '\[ERROR\]' "$T/$d/error.log" | tail -5 >&2
        fi
    done
    rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

free_port() {
    local p
    for _ in $(seq 1 200); do
        p=$((10000 + RANDOM % 20000)) # below the ephemeral range (32768+)
        if ! (echo >/dev/tcp/127.0.0.1/$p) 2>/dev/null; then
            echo $p
            return
        fi
    done
    echo 0
}

sqlq() { # root on the benchmark's server, database cqrs, tab-separated rows
    mariadb --no-defaults -uroot --socket="$T/db/s.sock" -N -B ${SQL_DB-cqrs} -e "$1"
}

sqlr() { # the same on the replica
    mariadb --no-defaults -uroot --socket="$T/replica/s.sock" -N -B ${SQL_DB-cqrs} -e "$1"
}

replica_sync() { # [SECONDS]: wait until the replica has applied all the primary has logged; prints the seconds waited
    local pos t0 got
    pos=$(SQL_DB= sqlq "SELECT @@gtid_binlog_pos") || return 1
    t0=$(date +%s.%N)
    got=$(SQL_DB= sqlr "SELECT MASTER_GTID_WAIT('$pos', ${1:-120})") || return 1
    [ "$got" = 0 ] || return 1
    echo "$(date +%s.%N) $t0" | awk '{ printf "%.3f\n", $1 - $2 }'
}

cpu_ticks() { # utime + stime of a process, in clock ticks
    sed 's/^.*) //' "/proc/$1/stat" 2>/dev/null | awk '{print $12 + $13}' || echo 0
}

sys_cpu() { # all CPUs: "total idle" jiffies
    awk '/^cpu /{print $2+$3+$4+$5+$6+$7+$8+$9, $5+$6}' /proc/stat
}

vmhwm_kib() {
    awk '/^VmHWM:/{print $2}' "/proc/$1/status" 2>/dev/null || echo 0
}

metrics_snapshot() { # request counters by status (not /metrics itself), the retries, the
    # commands answered, and (a daemon with replicas) reads by target and token outcomes
    curl -s --max-time 10 "$URL/metrics" |
        awk '/^cqrsd_http_requests_total\{/ && !/route="\/metrics"/ {
                 match($0, /status="[^"]*"/); s = substr($0, RSTART + 8, RLENGTH - 9)
                 n[s] += $NF; if ($0 ~ /route="\/commands"/) c += $NF }
             /^cqrsd_command_retries_total / { print "retries", $NF }
             /^cqrsd_reads_total\{/ { match($0, /target="[^"]*"/)
                 print "reads_" substr($0, RSTART + 8, RLENGTH - 9), $NF }
             /^cqrsd_consistency_tokens_total\{/ { match($0, /outcome="[^"]*"/)
                 print "tokens_" substr($0, RSTART + 9, RLENGTH - 10), $NF }
             END { for (s in n) print "status_" s, n[s]; print "commands", c + 0 }'
}

status_diff() { # BEFORE AFTER -> {"200": n, ..., "retries": n, "commands": n, "reads_replica": n, "tokens_waited": n, ...}
    awk 'NR == FNR { a[$1] = $2; next } { b[$1] = $2 }
         END { printf "{"; sep = ""
               for (k in b) { d = b[k] - a[k]; if (d == 0) continue
                   name = k; sub(/^status_/, "", name)
                   printf "%s\"%s\":%d", sep, name, d; sep = "," }
               printf "}\n" }' "$1" "$2"
}

align() { # TSV on stdin -> columns padded to their widest cell
    awk -F '\t' '{ for (i = 1; i <= NF; i++) { c[NR, i] = $i; if (length($i) > w[i]) w[i] = length($i) }
                   if (NF > nf) nf = NF }
        END { for (r = 1; r <= NR; r++) { line = ""
                  for (i = 1; i <= nf; i++) line = line sprintf(i < nf ? "%-" w[i] + 2 "s" : "%s", c[r, i])
                  print line } }'
}

#=== The server, the schema, the daemon ===

echo "== cqrsd benchmark ($(date -u +%Y-%m-%dT%H:%M:%SZ))"
NCPU=$(nproc)
LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)
echo "machine: $NCPU cores shared by the load generator (wrk, sysbench), MariaDB and cqrsd;"
echo "         nothing is pinned; load average before the run: $LOAD_BEFORE"
if $SMOKE; then
    echo "smoke run: BENCH_SECONDS=$SECS, seeding $PRODUCTS products and $CUSTOMERS customers" \
        "(a full run, BENCH_SECONDS >= 10, seeds 10000 and 1000)"
fi

# TLS: the server offers it (a CA and a server certificate for 127.0.0.1 made
# here with openssl) but does not require it; the clear-text runs say
# ssl-mode=disabled, the TLS runs ssl-mode=required
mkdir -p "$T/tls"
( cd "$T/tls" &&
  openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.pem -days 2 \
      -subj "/CN=cqrsd bench CA" &&
  openssl req -newkey rsa:2048 -nodes -keyout server.key -out server.csr -subj "/CN=127.0.0.1" &&
  printf 'subjectAltName=IP:127.0.0.1\n' >server.ext &&
  openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out server.pem \
      -days 2 -extfile server.ext ) >"$T/tls/openssl.out" 2>&1 ||
    { cat "$T/tls/openssl.out" >&2; die "openssl could not make the certificates"; }
REPLICA_TUNING="$MARIADB_TUNING $REPLICA_OPTS"
MARIADB_TUNING="$MARIADB_TUNING --ssl-ca=$T/tls/ca.pem --ssl-cert=$T/tls/server.pem --ssl-key=$T/tls/server.key"

DB_PORT=$(free_port)
HTTP_PORT=$(free_port)
while [ "$HTTP_PORT" = "$DB_PORT" ]; do HTTP_PORT=$(free_port); done
REP_PORT=$(free_port)
while [ "$REP_PORT" = "$DB_PORT" ] || [ "$REP_PORT" = "$HTTP_PORT" ]; do REP_PORT=$(free_port); done
[ "$DB_PORT" != 0 ] && [ "$HTTP_PORT" != 0 ] && [ "$REP_PORT" != 0 ] || die "no free port"
if ! MARIADB_OPTS="$MARIADB_TUNING $PRIMARY_OPTS" sh scripts/mariadb.sh start "$T/db" "$DB_PORT" \
    >"$T/mariadb.out" 2>&1; then
    cat "$T/mariadb.out" >&2
    die "the private MariaDB did not start"
fi
DB_PID=$(cat "$T/db/mariadbd.pid")
# the replica (one after the other: two mariadb-install-db at once may collide),
# replicating with GTIDs before `cqrsd migrate` runs on the primary: the schema,
# its triggers and the accounts reach it by replication
if ! MARIADB_OPTS="$REPLICA_TUNING" sh scripts/mariadb.sh start "$T/replica" "$REP_PORT" \
    >"$T/mariadb-replica.out" 2>&1; then
    cat "$T/mariadb-replica.out" >&2
    die "the private MariaDB replica did not start"
fi
REP_PID=$(cat "$T/replica/mariadbd.pid")
SQL_DB= sqlr "STOP SLAVE; RESET SLAVE ALL; SET GLOBAL gtid_slave_pos = '';
    CHANGE MASTER TO MASTER_HOST = '127.0.0.1', MASTER_PORT = $DB_PORT, MASTER_USER = 'root',
        MASTER_PASSWORD = '', MASTER_USE_GTID = slave_pos, MASTER_CONNECT_RETRY = 1;
    START SLAVE" || die "cannot set up the replication"
slave_threads() { # "Yes Yes" when the replica's IO and SQL threads run
    mariadb --no-defaults -uroot --socket="$T/replica/s.sock" -E -e "SHOW SLAVE STATUS" 2>/dev/null |
        awk '$1 == "Slave_IO_Running:" { io = $2 } $1 == "Slave_SQL_Running:" { s = $2 } END { print io, s }'
}
for _ in $(seq 1 100); do
    [ "$(slave_threads)" = "Yes Yes" ] && break
    sleep 0.1
done
[ "$(slave_threads)" = "Yes Yes" ] || die "the replica does not replicate: $(slave_threads)"
DB_VARS=$(SQL_DB= sqlq "SELECT JSON_OBJECT('version', VERSION(),
    'log_bin', CONCAT(@@log_bin), 'binlog_format', @@binlog_format,
    'sync_binlog', CONCAT(@@sync_binlog),
    'innodb_flush_log_at_trx_commit', CONCAT(@@innodb_flush_log_at_trx_commit),
    'server_id', CONCAT(@@server_id), 'gtid_strict_mode', CONCAT(@@gtid_strict_mode),
    'innodb_buffer_pool_size', CONCAT(@@innodb_buffer_pool_size),
    'innodb_log_file_size', CONCAT(@@innodb_log_file_size),
    'innodb_log_buffer_size', CONCAT(@@innodb_log_buffer_size),
    'innodb_flush_method', CONCAT(@@innodb_flush_method),
    'innodb_doublewrite', CONCAT(@@innodb_doublewrite),
    'max_connections', CONCAT(@@max_connections),
    'thread_handling', CONCAT(@@thread_handling), 'query_cache_type', CONCAT(@@query_cache_type),
    'have_ssl', CONCAT(@@have_ssl))" 2>/dev/null) ||
    die "cannot read the server's settings"
echo "mariadb: $(echo "$DB_VARS" | jq -r '.version') on 127.0.0.1:$DB_PORT (TCP), data in $T/db"
echo "  primary, read back from the server: $(echo "$DB_VARS" | jq -r '"log_bin=\(.log_bin) binlog_format=\(.binlog_format) sync_binlog=\(.sync_binlog) innodb_flush_log_at_trx_commit=\(.innodb_flush_log_at_trx_commit)"')"
echo "  $(echo "$DB_VARS" | jq -r 'del(.version, .log_bin, .binlog_format, .sync_binlog, .innodb_flush_log_at_trx_commit) | to_entries | map("\(.key)=\(.value)") | join(" ")')"
echo "$DB_VARS" | jq -e '(.log_bin == "1" or .log_bin == "ON") and .binlog_format == "ROW" and .sync_binlog == "1" and
    .innodb_flush_log_at_trx_commit == "1"' >/dev/null ||
    die "the primary is not durable and replicated (want log_bin=1 binlog_format=ROW sync_binlog=1 innodb_flush_log_at_trx_commit=1)"
REP_VARS=$(SQL_DB= sqlr "SELECT JSON_OBJECT('version', VERSION(),
    'server_id', CONCAT(@@server_id), 'read_only', CONCAT(@@read_only), 'log_bin', CONCAT(@@log_bin),
    'innodb_flush_log_at_trx_commit', CONCAT(@@innodb_flush_log_at_trx_commit),
    'innodb_buffer_pool_size', CONCAT(@@innodb_buffer_pool_size),
    'slave_parallel_threads', CONCAT(@@slave_parallel_threads),
    'slave_parallel_mode', CONCAT(@@slave_parallel_mode), 'gtid_strict_mode', CONCAT(@@gtid_strict_mode),
    'master_use_gtid', 'slave_pos')" 2>/dev/null) || die "cannot read the replica's settings"
echo "replica: $(echo "$REP_VARS" | jq -r '.version') on 127.0.0.1:$REP_PORT (TCP), data in $T/replica, replicating from the primary (GTID, slave_pos)"
echo "  $(echo "$REP_VARS" | jq -r 'del(.version, .master_use_gtid) | to_entries | map("\(.key)=\(.value)") | join(" ")')"

export CQRSD_ADMIN_DSN="mysql://root@127.0.0.1:$DB_PORT/"
WRITE_DSN="mysql://cqrs_writer:cqrs_writer@127.0.0.1:$DB_PORT/cqrs"
READ_DSN="mysql://cqrs_reader:cqrs_reader@127.0.0.1:$DB_PORT/cqrs"
export CQRSD_WRITE_DSN="$WRITE_DSN?ssl-mode=disabled"
export CQRSD_READ_DSN="$READ_DSN?ssl-mode=disabled"
unset CQRSD_COMMAND_TOKEN_FILE CQRSD_CORS_ORIGINS CQRSD_MAX_BODY CQRSD_LISTEN CQRSD_THREADS
build/cqrsd migrate >"$T/migrate.out" 2>&1 || { cat "$T/migrate.out" >&2; die "migrate failed"; }
# for the cost of gap-free event positions: the event store with an
# AUTO_INCREMENT position (no ordering guarantee), used only by the extra
# database-only PlaceOrder run (tests/bench/sysbench/place_order.lua)
sqlq "CREATE TABLE events_unordered LIKE events;
      ALTER TABLE events_unordered MODIFY position BIGINT NOT NULL AUTO_INCREMENT;
      GRANT INSERT ON cqrs.events_unordered TO 'cqrs_writer'@'%'" ||
    die "cannot create events_unordered"
replica_sync 60 >/dev/null || die "the replica did not apply the schema: $(slave_threads)"

URL="http://127.0.0.1:$HTTP_PORT"
# a private copy: a rebuild of build/cqrsd during the run changes nothing here
cp build/cqrsd "$T/cqrsd" || die "cannot copy build/cqrsd"
start_bench_daemon() { # PORT [FLAGS...]: the daemon with the CQRSD_*_DSN of the environment; sets started_pid
    local port=$1 pid
    shift
    "$T/cqrsd" serve --listen "127.0.0.1:$port" --threads "$DAEMON_THREADS" \
        --log-format text "$@" >/dev/null 2>>"${BENCH_DAEMON_LOG:-/dev/null}" &
    pid=$!
    for _ in $(seq 1 100); do
        [ "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/readyz")" = 200 ] && break
        kill -0 "$pid" 2>/dev/null || die "the daemon exited at start"
        sleep 0.1
    done
    [ "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/readyz")" = 200 ] ||
        die "the daemon is not ready"
    started_pid=$pid
}
start_bench_daemon "$HTTP_PORT"
daemon_pid=$started_pid
echo "cqrsd: build/cqrsd (run from a copy) serve --threads $DAEMON_THREADS --log-format text on $URL," \
    "stderr to ${BENCH_DAEMON_LOG:-/dev/null}; DSNs over TCP with ssl-mode=disabled"
# a second daemon, the same but with TLS to the database (ssl-mode=required):
# its runs come right after the clear-text ones of the same workload
HTTP_PORT_TLS=$(free_port)
while [ "$HTTP_PORT_TLS" = "$DB_PORT" ] || [ "$HTTP_PORT_TLS" = "$HTTP_PORT" ] ||
    [ "$HTTP_PORT_TLS" = "$REP_PORT" ]; do HTTP_PORT_TLS=$(free_port); done
URL_TLS="http://127.0.0.1:$HTTP_PORT_TLS"
ssl0=$(SQL_DB= sqlq "SELECT VARIABLE_VALUE FROM information_schema.GLOBAL_STATUS WHERE VARIABLE_NAME = 'SSL_FINISHED_ACCEPTS'")
CQRSD_WRITE_DSN="$WRITE_DSN?ssl-mode=required" CQRSD_READ_DSN="$READ_DSN?ssl-mode=required" \
    start_bench_daemon "$HTTP_PORT_TLS"
tls_pid=$started_pid
echo "cqrsd (TLS): the same on $URL_TLS with ssl-mode=required (TLS over TCP)"
# tls CMD...: run a measurement against the TLS daemon
tls() {
    local url=$URL pid=$daemon_pid
    URL=$URL_TLS daemon_pid=$tls_pid
    "$@"
    URL=$url daemon_pid=$pid
}

# two more with authorization on (API.md "Authorization"): JWTs signed with
# HS256 (a shared secret) and with ES256 (the daemon holds the public key);
# their runs come right after the open daemon's run of the same workload
. "$top/tests/integration/jwt_lib.sh"
jwt_keys "$T/jwt" || die "openssl could not make the JWT keys"
free_other_port() { # a free port that is none of the ports taken so far
    local p
    p=$(free_port)
    while [ "$p" = "$DB_PORT" ] || [ "$p" = "$HTTP_PORT" ] || [ "$p" = "$HTTP_PORT_TLS" ] ||
        [ "$p" = "$REP_PORT" ] || [ "$p" = "${HTTP_PORT_HS:-}" ] || [ "$p" = "${HTTP_PORT_ES:-}" ]; do
        p=$(free_port)
    done
    echo "$p"
}
HTTP_PORT_HS=$(free_other_port)
URL_HS="http://127.0.0.1:$HTTP_PORT_HS"
start_bench_daemon "$HTTP_PORT_HS" --jwt-key-file "$T/jwt/hs256.key"
hs_pid=$started_pid
HTTP_PORT_ES=$(free_other_port)
URL_ES="http://127.0.0.1:$HTTP_PORT_ES"
start_bench_daemon "$HTTP_PORT_ES" --jwt-algorithm ES256 --jwt-key-file "$T/jwt/ec.pub"
es_pid=$started_pid
echo "cqrsd (JWT): the same with --jwt-key-file on $URL_HS (HS256) and $URL_ES (ES256)"
# at URL PID CMD...: run a measurement against another daemon
at() {
    local url=$URL pid=$daemon_pid
    URL=$1 daemon_pid=$2
    shift 2
    "$@"
    URL=$url daemon_pid=$pid
}

# one more that reads on the replica (--replica-dsn, the reader account on the
# replica); its commands and its fallback reads go to the primary
REPLICA_READ_DSN="mysql://cqrs_reader:cqrs_reader@127.0.0.1:$REP_PORT/cqrs?ssl-mode=disabled"
HTTP_PORT_REP=$(free_other_port)
URL_REP="http://127.0.0.1:$HTTP_PORT_REP"
start_bench_daemon "$HTTP_PORT_REP" --replica-dsn "$REPLICA_READ_DSN"
rep_pid=$started_pid
echo "cqrsd (replica): the same with --replica-dsn $REPLICA_READ_DSN on $URL_REP" \
    "(--max-replica-lag, --consistency-wait-ms and --consistency-fallback at their defaults)"

#=== Seeding, through POST /commands ===

export BENCH_WRK_DIR="$here/wrk"
product_body() { # the same body as tests/bench/wrk/seed.lua
    printf '{"type":"CreateProduct","data":{"sku":"BENCH-%06d","name":"Product %d","description":"%s","category":"category-%02d","price_cents":%d,"stock":1000000}}' \
        "$1" "$1" "A product seeded by make bench: a plain description of about a hundred characters, like a real one." \
        $((($1 - 1) % CATEGORIES + 1)) $((100 + ($1 * 7919) % 99900))
}
seed_t0=$(date +%s.%N)
# one product per category first, one after another: the categories exist
# before the concurrent part, and product ids stay 1..N
for i in $(seq 1 $CATEGORIES); do
    code=$(curl -s -o "$T/seed-curl.body" -w '%{http_code}' -H 'Content-Type: application/json' \
        --data-binary "$(product_body "$i")" "$URL/commands")
    [ "$code" = 201 ] || die "seeding product $i: $code $(cat "$T/seed-curl.body")"
done
seed_t1=$(date +%s.%N)
mkdir -p "$T/seed"
wrk -t"$WRK_THREADS" -c"$SEED_CONNS" -d3600s --timeout 30s -s "$here/wrk/seed.lua" "$URL" -- \
    $((CATEGORIES + 1)) "$PRODUCTS" "$CUSTOMERS" "$CATEGORIES" "$WRK_THREADS" "$T/seed" \
    >"$T/seed.out" 2>&1 &
seed_pid=$!
# wait for every wrk thread's last answer; give up when the rows stop growing for 30 s
last_rows=-1
last_change=$(date +%s)
next_look=0
while [ "$(ls "$T/seed" | wc -l)" -lt "$WRK_THREADS" ]; do
    kill -0 "$seed_pid" 2>/dev/null || { cat "$T/seed.out" >&2; die "wrk stopped while seeding"; }
    now=$(date +%s)
    if [ "$now" -ge "$next_look" ]; then
        rows=$(sqlq "SELECT (SELECT COUNT(*) FROM products) + (SELECT COUNT(*) FROM customers)")
        [ "$rows" != "$last_rows" ] && last_change=$now
        last_rows=$rows
        [ $((now - last_change)) -lt 30 ] ||
            die "seeding stalled at $rows of $((PRODUCTS + CUSTOMERS)) rows"
        next_look=$((now + 2))
    fi
    sleep 0.05
done
seed_t2=$(date +%s.%N)
kill -INT "$seed_pid" 2>/dev/null
wait "$seed_pid" 2>/dev/null
seed_pid=""
seed_failed=$(cat "$T/seed"/seed-done-* | awk '{n += $2} END {print n + 0}')
seed_statuses=$(sed -n 's/^BENCH //p' "$T/seed.out" | jq -c '.lua_statuses' 2>/dev/null)
got_products=$(sqlq "SELECT COUNT(*) FROM products")
got_views=$(sqlq "SELECT COUNT(*) FROM product_view")
got_customers=$(sqlq "SELECT COUNT(*) FROM customers")
seed_wrk_n=$((PRODUCTS - CATEGORIES + CUSTOMERS))
SEED_JSON=$(jq -n --argjson p "$PRODUCTS" --argjson c "$CUSTOMERS" --argjson cat "$CATEGORIES" \
    --argjson t0 "$seed_t0" --argjson t1 "$seed_t1" --argjson t2 "$seed_t2" \
    --argjson n "$seed_wrk_n" --argjson conns "$SEED_CONNS" --argjson failed "$seed_failed" \
    --argjson st "${seed_statuses:-null}" \
    '{products: $p, customers: $c, categories: $cat,
      first_products_sequential: $cat, sequential_seconds: ($t1 - $t0),
      concurrent_commands: $n, concurrent_connections: $conns,
      concurrent_seconds: ($t2 - $t1), commands_per_second: ($n / ($t2 - $t1)),
      total_seconds: ($t2 - $t0), failed: $failed, statuses: $st}')
echo "seeded: $(echo "$SEED_JSON" | jq -r '"\(.products) products in \(.categories) categories and \(.customers) customers through POST /commands in \(.total_seconds * 10 | round / 10) s: \(.commands_per_second | round) commands/s over \(.concurrent_connections) connections (CreateProduct and RegisterCustomer, \(.concurrent_commands) commands in \(.concurrent_seconds * 100 | round / 100) s; the first \(.first_products_sequential) one by one)"')"
[ "$seed_failed" -eq 0 ] || die "seeding: $seed_failed commands failed: $seed_statuses"
[ "$got_products" -eq "$PRODUCTS" ] && [ "$got_views" -eq "$PRODUCTS" ] &&
    [ "$got_customers" -eq "$CUSTOMERS" ] ||
    die "seeding: $got_products products, $got_views product_view rows, $got_customers customers"
# the replica has all of it before anything reads there
sync_s=$(replica_sync 120) || die "the replica did not apply the seeding in 120 s: $(slave_threads)"
[ "$(sqlr "SELECT COUNT(*) FROM product_view")" -eq "$PRODUCTS" ] ||
    die "the replica's product_view does not have the $PRODUCTS products"
echo "replica: applied the seeding $sync_s s after its last command"
sqlq "SELECT product_id FROM product_view ORDER BY product_id" >"$T/products.ids"
sqlq "SELECT id FROM customers ORDER BY id" >"$T/customers.ids"
# each of (up to) JWT_CUSTOMERS customers with its own token of each algorithm,
# valid for two hours: the daemons verify each once and then remember it
JWT_CUSTOMERS=$($SMOKE && echo 20 || echo 200)
exp=$(($(date +%s) + 7200))
head -n "$JWT_CUSTOMERS" "$T/customers.ids" >"$T/jwt/customers.ids"
: >"$T/jwt/hs256.tokens"
: >"$T/jwt/es256.tokens"
while read -r id; do
    claims="{\"role\":\"customer\",\"customer_id\":$id,\"exp\":$exp}"
    echo "$id $(jwt_hs256 "$T/jwt/hs256.key" "$claims")" >>"$T/jwt/hs256.tokens" || die "jwt_hs256 failed"
    echo "$id $(jwt_es256 "$T/jwt/ec.pem" "$claims")" >>"$T/jwt/es256.tokens" || die "jwt_es256 failed"
done <"$T/jwt/customers.ids"
for f in hs256 es256; do
    [ "$(awk 'NF == 2' "$T/jwt/$f.tokens" | wc -l)" = "$(wc -l <"$T/jwt/customers.ids")" ] ||
        die "could not mint the $f tokens"
done
# and an admin's, to read each daemon's /metrics
admin_claims="{\"role\":\"admin\",\"exp\":$exp}"
ADMIN_HS256=$(jwt_hs256 "$T/jwt/hs256.key" "$admin_claims") || die "jwt_hs256 failed"
ADMIN_ES256=$(jwt_es256 "$T/jwt/ec.pem" "$admin_claims") || die "jwt_es256 failed"

#=== Measurements ===

ERRORS=() # problems that make the run fail

run_wrk() { # NAME CONNECTIONS SCRIPT [ARGS...]: one measured wrk run -> $T/NAME.json
    local name=$1 conns=$2 script=$3 d0 d1 b0 b1 r0 r1 s0 s1 rc wj st
    shift 3
    metrics_snapshot >"$T/$name.m0"
    d0=$(cpu_ticks "$daemon_pid")
    b0=$(cpu_ticks "$DB_PID")
    r0=$(cpu_ticks "$REP_PID")
    s0=$(sys_cpu)
    local TIMEFORMAT='%R %U %S'
    { time BENCH_CONNECTIONS=$conns wrk -t"$WRK_THREADS" -c"$conns" -d"${SECS}s" --timeout 10s \
        -s "$here/wrk/$script" "$URL" -- "$@" >"$T/$name.out" 2>&1; } 2>"$T/$name.time"
    rc=$?
    s1=$(sys_cpu)
    d1=$(cpu_ticks "$daemon_pid")
    b1=$(cpu_ticks "$DB_PID")
    r1=$(cpu_ticks "$REP_PID")
    metrics_snapshot >"$T/$name.m1"
    wj=$(sed -n 's/^BENCH //p' "$T/$name.out")
    if [ $rc -ne 0 ] || [ -z "$wj" ]; then
        cat "$T/$name.out" >&2
        die "wrk failed in $name"
    fi
    st=$(status_diff "$T/$name.m0" "$T/$name.m1")
    jq -n --argjson w "$wj" --argjson st "$st" --argjson conns "$conns" --argjson ncpu "$NCPU" \
        --argjson d "$(((d1 - d0)))" --argjson b "$(((b1 - b0)))" --argjson r "$(((r1 - r0)))" \
        --argjson clk "$CLK" --arg s0 "$s0" --arg s1 "$s1" --arg tm "$(cat "$T/$name.time")" '
        ($s0 | split(" ") | map(tonumber)) as $a | ($s1 | split(" ") | map(tonumber)) as $z |
        ($tm | split(" ") | map(tonumber)) as $t |
        ($w.duration_us / 1e6) as $secs |
        ($st | with_entries(select(.key | startswith("reads_"))) | with_entries(.key |= ltrimstr("reads_"))) as $reads |
        ($st | with_entries(select(.key | startswith("tokens_"))) | with_entries(.key |= ltrimstr("tokens_"))) as $tokens |
        { tool: "wrk", connections: $conns, threads_of_wrk: '"$WRK_THREADS"',
          requests: $w.requests, seconds: $secs, rps: ($w.requests / $secs),
          p50_ms: ($w.p50_us / 1000), p90_ms: ($w.p90_us / 1000), p99_ms: ($w.p99_us / 1000),
          p999_ms: ($w.p999_us / 1000), max_ms: ($w.max_us / 1000),
          wrk_corrected: { p50_ms: ($w.corrected_p50_us / 1000),
                           p90_ms: ($w.corrected_p90_us / 1000),
                           p99_ms: ($w.corrected_p99_us / 1000),
                           mean_ms: ($w.corrected_mean_us / 1000) },
          non_2xx_3xx: $w.non_2xx_3xx, socket_errors: $w.socket_errors,
          statuses_from_wrk: $w.lua_statuses,
          statuses_from_metrics: ($st | with_entries(select(.key | test("^[0-9]+$")))),
          retries: ($st.retries // 0), commands_answered: ($st.commands // 0),
          reads_by_target: $reads, consistency_tokens: $tokens,
          daemon_cpu_s: ($d / $clk), mariadb_cpu_s: ($b / $clk), replica_cpu_s: ($r / $clk),
          load_generator_cpu_s: ($t[1] + $t[2]),
          load_generator_cpu_s_per_1000: (if $w.requests > 0 then ($t[1] + $t[2]) / $w.requests * 1000 else null end),
          cpu_s_per_1000: (if $w.requests > 0 then ($d / $clk + $b / $clk + $r / $clk + $t[1] + $t[2]) / $w.requests * 1000 else null end),
          daemon_cpu_s_per_1000: (if $w.requests > 0 then $d / $clk / $w.requests * 1000 else null end),
          mariadb_cpu_s_per_1000: (if $w.requests > 0 then $b / $clk / $w.requests * 1000 else null end),
          replica_cpu_s_per_1000: (if $w.requests > 0 then $r / $clk / $w.requests * 1000 else null end),
          machine_busy_pct: (100 * (1 - (($z[1] - $a[1]) / ($z[0] - $a[0])))),
          other_processes_pct: (100 * (((($z[0] - $a[0]) - ($z[1] - $a[1])) / $clk
              - $d / $clk - $b / $clk - $r / $clk - $t[1] - $t[2]) / ($ncpu * $t[0])) | if . < 0 then 0 else . end) }' >"$T/$name.json"
    # every answer must be a success: anything else is a daemon error
    local bad
    bad=$(jq -r '[(.statuses_from_metrics | to_entries[] | select((.key | tonumber? // 0) >= 400 or (.key | tonumber? // 0) < 200) | "\(.value)x\(.key)"), (if .non_2xx_3xx > 0 then "\(.non_2xx_3xx) non-2xx/3xx (wrk)" else empty end), (.socket_errors | to_entries[] | select(.value > 0) | "\(.value) socket \(.key) errors")] | join(", ")' "$T/$name.json")
    [ -n "$bad" ] && ERRORS+=("$name: $bad")
    printf '  %-22s %9.1f req/s  p50 %7.2f ms  p99 %7.2f ms  %s\n' "$name" \
        "$(jq -r .rps "$T/$name.json")" "$(jq -r .p50_ms "$T/$name.json")" \
        "$(jq -r .p99_ms "$T/$name.json")" "${bad:+ERRORS: $bad}"
}

run_sysbench() { # NAME THREADS SCRIPT ACCOUNT: one measured sysbench run -> $T/NAME.json
    # (on the primary; SB_ON=replica: on the replica)
    local name=$1 threads=$2 script=$3 account=$4 d0 d1 b0 b1 r0 r1 s0 s1 rc port=$DB_PORT
    [ "${SB_ON:-primary}" = replica ] && port=$REP_PORT
    d0=$(cpu_ticks "$daemon_pid")
    b0=$(cpu_ticks "$DB_PID")
    r0=$(cpu_ticks "$REP_PID")
    s0=$(sys_cpu)
    local TIMEFORMAT='%R %U %S'
    { time LUA_PATH="$here/sysbench/?.lua;;" sysbench --db-driver=mysql \
        --mysql-host=127.0.0.1 --mysql-port="$port" --mysql-user="$account" \
        --mysql-password="$account" --mysql-db=cqrs --mysql-ignore-errors=1213,1205 \
        --threads="$threads" --time="$SECS" --events=0 --percentile=99 --histogram=on \
        --report-interval=0 "$here/sysbench/$script" run >"$T/$name.out" 2>&1; } 2>"$T/$name.time"
    rc=$?
    s1=$(sys_cpu)
    d1=$(cpu_ticks "$daemon_pid")
    b1=$(cpu_ticks "$DB_PID")
    r1=$(cpu_ticks "$REP_PID")
    if [ $rc -ne 0 ] || ! grep -q 'total number of events' "$T/$name.out"; then
        tail -30 "$T/$name.out" >&2
        die "sysbench failed in $name"
    fi
    # the summary, and p50/p99 from sysbench's latency histogram
    awk -v threads="$threads" '
        /^Latency histogram/ { h = 1; next }
        h && /^ *[0-9.]+ \|/ { v[++nb] = $1; c[nb] = $NF; tot += $NF; next }
        h && !/^ *value/ { h = 0 }
        /total number of events:/ { events = $NF }
        /total time:/ { t = $NF; sub(/s$/, "", t) }
        /ignored errors:/ { ignored = $3 }
        /reconnects:/ { reconnects = $2 }
        /^ *min:/ { mn = $NF } /^ *avg:/ { avg = $NF } /^ *max:/ { mx = $NF }
        /99th percentile:/ { p99 = $NF }
        function pct(p,   k, acc) { acc = 0
            for (k = 1; k <= nb; k++) { acc += c[k]; if (acc >= p * tot) return v[k] }
            return v[nb] }
        END { printf "{\"events\":%d,\"seconds\":%s,\"ignored_errors\":%d,\"reconnects\":%d," \
              "\"min_ms\":%s,\"avg_ms\":%s,\"max_ms\":%s,\"p99_ms_sysbench\":%s," \
              "\"p50_ms\":%s,\"p99_ms\":%s}\n", events, t, ignored, reconnects, mn, avg, mx,
              p99, tot ? pct(0.50) : "null", tot ? pct(0.99) : "null" }' "$T/$name.out" >"$T/$name.sb"
    jq --argjson threads "$threads" --argjson d "$(((d1 - d0)))" --argjson b "$(((b1 - b0)))" --argjson ncpu "$NCPU" \
        --argjson r "$(((r1 - r0)))" --arg on "${SB_ON:-primary}" \
        --argjson clk "$CLK" --arg s0 "$s0" --arg s1 "$s1" --arg tm "$(cat "$T/$name.time")" '
        ($s0 | split(" ") | map(tonumber)) as $a | ($s1 | split(" ") | map(tonumber)) as $z |
        ($tm | split(" ") | map(tonumber)) as $t |
        { tool: "sysbench", server: $on, threads: $threads, ops: .events, seconds: .seconds,
          ops_per_s: (.events / .seconds), p50_ms: .p50_ms, p99_ms: .p99_ms,
          p99_ms_sysbench: .p99_ms_sysbench, avg_ms: .avg_ms, max_ms: .max_ms,
          ignored_errors: .ignored_errors, reconnects: .reconnects,
          mariadb_cpu_s: ($b / $clk), replica_cpu_s: ($r / $clk), load_generator_cpu_s: ($t[1] + $t[2]),
          mariadb_cpu_s_per_1000: (if .events > 0 then $b / $clk / .events * 1000 else null end),
          replica_cpu_s_per_1000: (if .events > 0 then $r / $clk / .events * 1000 else null end),
          load_generator_cpu_s_per_1000: (if .events > 0 then ($t[1] + $t[2]) / .events * 1000 else null end),
          cpu_s_per_1000: (if .events > 0 then ($b / $clk + $r / $clk + $t[1] + $t[2]) / .events * 1000 else null end),
          daemon_cpu_s_idle: ($d / $clk),
          machine_busy_pct: (100 * (1 - (($z[1] - $a[1]) / ($z[0] - $a[0])))),
          other_processes_pct: (100 * (((($z[0] - $a[0]) - ($z[1] - $a[1])) / $clk
              - $d / $clk - $b / $clk - $r / $clk - $t[1] - $t[2]) / ($ncpu * $t[0])) | if . < 0 then 0 else . end) }' \
        "$T/$name.sb" >"$T/$name.json"
    printf '  %-22s %9.1f ops/s  p50 %7.2f ms  p99 %7.2f ms%s\n' "$name" \
        "$(jq -r .ops_per_s "$T/$name.json")" "$(jq -r .p50_ms "$T/$name.json")" \
        "$(jq -r .p99_ms "$T/$name.json")" \
        "$(jq -r 'if .ignored_errors > 0 then "  (\(.ignored_errors) deadlocks/lock waits retried)" else "" end' "$T/$name.json")"
}

#=== The replica's runs ===

replica_healthy() { # the replica daemon has its replica in the pool
    curl -s --max-time 5 "$URL_REP/metrics" | grep -Eq '^cqrsd_replica_healthy\{.*\} 1$'
}

wait_replica_healthy() {
    for _ in $(seq 1 100); do
        replica_healthy && return 0
        sleep 0.1
    done
    ERRORS+=("the replica daemon does not report its replica healthy")
    return 1
}

replica_lag() { # the replica daemon's cqrsd_replica_lag_seconds (-1: unknown)
    curl -s --max-time 5 "$URL_REP/metrics" |
        awk '/^cqrsd_replica_lag_seconds\{/ { v = $NF } END { print (v == "" ? -1 : v) }'
}

# replica_reads_check NAME [warn]: the GETs of run NAME were served by the
# replica (cqrsd_reads_total{target="replica"} moved by at least as many as
# wrk counted); else an error, or with "warn" only a line in the output
replica_reads_check() {
    local name=$1 msg
    msg=$(jq -r '(.reads_by_target.replica // 0) as $r |
        ((.reads_by_target.primary // 0) + (.reads_by_target.fallback // 0)) as $p |
        if $r >= 0.99 * .requests and $p <= 0.01 * .requests then empty
        else "\(.requests) GETs, the replica served \($r), the primary \($p) (cqrsd_reads_total)" end' "$T/$name.json")
    [ -z "$msg" ] && return 0
    if [ "${2:-}" = warn ]; then
        echo "  $name: not all on the replica: $msg"
    else
        ERRORS+=("$name: $msg")
    fi
}

replica_get() { # NAME CONNECTIONS: GET by id through the replica daemon
    wait_replica_healthy
    at "$URL_REP" "$rep_pid" run_wrk "$1" "$2" get_product.lua "$T/products.ids"
    replica_reads_check "$1"
}

# replica_get_with_orders NAME: GET by id through the replica daemon at 16
# connections while a second wrk sends PlaceOrder at 16 connections to the
# same daemon (commands go to the primary): it starts a second before the
# measured GET run and ends a second after it. The replica's lag (the
# daemon's gauge) is sampled twice a second; then how long the replica took
# to apply the rest once the orders stopped.
replica_get_with_orders() {
    local name=$1 lag_max catch_up ow
    replica_sync 120 >/dev/null || ERRORS+=("$name: the replica did not catch up before the run")
    wait_replica_healthy
    : >"$T/$name.lag"
    (while :; do replica_lag >>"$T/$name.lag"; sleep 0.5; done) &
    lag_pid=$!
    BENCH_CONNECTIONS=16 wrk -t"$WRK_THREADS" -c16 -d"$((SECS + 2))s" --timeout 10s \
        -s "$here/wrk/place_order.lua" "$URL_REP" -- "$T/products.ids" "$T/customers.ids" \
        >"$T/${name}_orders.out" 2>&1 &
    orders_bg_pid=$!
    sleep 1
    at "$URL_REP" "$rep_pid" run_wrk "$name" 16 get_product.lua "$T/products.ids"
    wait "$orders_bg_pid" || { cat "$T/${name}_orders.out" >&2; die "wrk (PlaceOrder) failed in $name"; }
    orders_bg_pid=""
    kill "$lag_pid" 2>/dev/null
    wait "$lag_pid" 2>/dev/null
    lag_pid=""
    lag_max=$(awk 'BEGIN { m = -1 } $1 + 0 > m { m = $1 + 0 } END { print m }' "$T/$name.lag")
    catch_up=$(replica_sync 300) || { catch_up=null; ERRORS+=("$name: the replica did not catch up in 300 s"); }
    ow=$(sed -n 's/^BENCH //p' "$T/${name}_orders.out")
    [ -n "$ow" ] || { cat "$T/${name}_orders.out" >&2; die "wrk (PlaceOrder) printed no result in $name"; }
    jq --argjson o "$ow" --argjson lag "$lag_max" --argjson cu "$catch_up" --argjson secs "$((SECS + 2))" '
        . + { orders: { connections: 16, wrk_seconds: $secs,
                        rps_whole_run: ($o.requests / ($o.duration_us / 1e6)),
                        rps_during_gets: (.commands_answered / .seconds),
                        p50_ms: ($o.p50_us / 1000), p99_ms: ($o.p99_us / 1000),
                        non_2xx_3xx: $o.non_2xx_3xx, statuses_from_wrk: $o.lua_statuses },
              replica_lag_max_s: $lag, replica_catch_up_s: $cu }' "$T/$name.json" >"$T/$name.json.new" &&
        mv "$T/$name.json.new" "$T/$name.json"
    local bad
    bad=$(echo "$ow" | jq -r '[(if .non_2xx_3xx > 0 then "\(.non_2xx_3xx) non-2xx/3xx" else empty end),
        (.socket_errors | to_entries[] | select(.value > 0) | "\(.value) socket \(.key) errors")] | join(", ")')
    [ -n "$bad" ] && ERRORS+=("${name} (PlaceOrder): $bad")
    printf '  %-22s %9.1f orders/s during the GETs, the replica lagged up to %s s and applied the rest %s s after\n' \
        "(PlaceOrder)" "$(jq -r .orders.rps_during_gets "$T/$name.json")" "$lag_max" "$catch_up"
    replica_reads_check "$name" warn
}

# run_token NAME CONNECTIONS: tests/bench/wrk/token_read.lua through the
# replica daemon, CONNECTIONS threads of wrk with one connection each; each
# connection writes a price, then reads the product, every other time with
# the write's consistency token; only the GETs are timed, each kind apart
run_token() {
    local name=$1 conns=$2 wj st bad d0 d1 b0 b1 r0 r1 s0 s1
    replica_sync 120 >/dev/null || ERRORS+=("$name: the replica did not catch up before the run")
    wait_replica_healthy
    at "$URL_REP" "$rep_pid" metrics_snapshot >"$T/$name.m0"
    d0=$(cpu_ticks "$rep_pid")
    b0=$(cpu_ticks "$DB_PID")
    r0=$(cpu_ticks "$REP_PID")
    s0=$(sys_cpu)
    local TIMEFORMAT='%R %U %S'
    { time BENCH_CONNECTIONS=$conns wrk -t"$conns" -c"$conns" -d"${SECS}s" --timeout 10s \
        -s "$here/wrk/token_read.lua" "$URL_REP" -- "$T/products.ids" "$conns" >"$T/$name.out" 2>&1; } \
        2>"$T/$name.time" || { cat "$T/$name.out" >&2; die "wrk failed in $name"; }
    s1=$(sys_cpu)
    d1=$(cpu_ticks "$rep_pid")
    b1=$(cpu_ticks "$DB_PID")
    r1=$(cpu_ticks "$REP_PID")
    at "$URL_REP" "$rep_pid" metrics_snapshot >"$T/$name.m1"
    wj=$(sed -n 's/^BENCH //p' "$T/$name.out")
    [ -n "$wj" ] || { cat "$T/$name.out" >&2; die "wrk printed no result in $name"; }
    st=$(status_diff "$T/$name.m0" "$T/$name.m1")
    jq -n --argjson w "$wj" --argjson st "$st" --argjson conns "$conns" --argjson ncpu "$NCPU" \
        --argjson d "$((d1 - d0))" --argjson b "$((b1 - b0))" --argjson r "$((r1 - r0))" \
        --argjson clk "$CLK" --arg s0 "$s0" --arg s1 "$s1" --arg tm "$(cat "$T/$name.time")" '
        ($s0 | split(" ") | map(tonumber)) as $a | ($s1 | split(" ") | map(tonumber)) as $z |
        ($tm | split(" ") | map(tonumber)) as $t |
        def ms(x): if x == null then null else x / 1000 end;
        def g(s): { n: s.n, mean_ms: ms(s.mean_us), p50_ms: ms(s.p50_us), p90_ms: ms(s.p90_us),
                    p99_ms: ms(s.p99_us), p999_ms: ms(s.p999_us), max_ms: ms(s.max_us) };
        { tool: "wrk + tests/bench/wrk/token_read.lua", connections: $conns, threads_of_wrk: $conns,
          seconds: ($w.duration_us / 1e6), requests: $w.requests, writes: $w.writes,
          writes_without_token: $w.writes_without_token,
          token_gets: g($w.token_gets), plain_gets: g($w.plain_gets),
          extra_p99_ms: (if $w.token_gets.n > 0 and $w.plain_gets.n > 0
                         then ($w.token_gets.p99_us - $w.plain_gets.p99_us) / 1000 else null end),
          extra_p50_ms: (if $w.token_gets.n > 0 and $w.plain_gets.n > 0
                         then ($w.token_gets.p50_us - $w.plain_gets.p50_us) / 1000 else null end),
          stale_token_reads: $w.stale_token_reads, stale_plain_reads: $w.stale_plain_reads,
          failed_reads: $w.failed_reads, non_2xx_3xx: $w.non_2xx_3xx, socket_errors: $w.socket_errors,
          statuses_from_wrk: $w.lua_statuses,
          statuses_from_metrics: ($st | with_entries(select(.key | test("^[0-9]+$")))),
          reads_by_target: ($st | with_entries(select(.key | startswith("reads_"))) | with_entries(.key |= ltrimstr("reads_"))),
          consistency_tokens: ($st | with_entries(select(.key | startswith("tokens_"))) | with_entries(.key |= ltrimstr("tokens_"))),
          daemon_cpu_s: ($d / $clk), mariadb_cpu_s: ($b / $clk), replica_cpu_s: ($r / $clk),
          load_generator_cpu_s: ($t[1] + $t[2]),
          machine_busy_pct: (100 * (1 - (($z[1] - $a[1]) / ($z[0] - $a[0])))),
          other_processes_pct: (100 * (((($z[0] - $a[0]) - ($z[1] - $a[1])) / $clk
              - $d / $clk - $b / $clk - $r / $clk - $t[1] - $t[2]) / ($ncpu * $t[0])) | if . < 0 then 0 else . end) }' \
        >"$T/$name.json"
    bad=$(jq -r '[(.statuses_from_metrics | to_entries[] | select((.key | tonumber) >= 400 or (.key | tonumber) < 200) | "\(.value)x\(.key)"),
        (if .non_2xx_3xx > 0 then "\(.non_2xx_3xx) non-2xx/3xx (wrk)" else empty end),
        (.socket_errors | to_entries[] | select(.value > 0) | "\(.value) socket \(.key) errors"),
        (if .stale_token_reads > 0 then "\(.stale_token_reads) reads with a token did not show their own write" else empty end),
        (if .writes_without_token > 0 then "\(.writes_without_token) writes answered without a consistency_token" else empty end),
        (if .failed_reads > 0 then "\(.failed_reads) reads failed" else empty end),
        (if (.consistency_tokens.refused // 0) > 0 then "\(.consistency_tokens.refused) token reads refused" else empty end),
        (if .token_gets.n == 0 or .plain_gets.n == 0 then "no GET of one kind" else empty end),
        (if (.consistency_tokens | add // 0) < .token_gets.n then "cqrsd_consistency_tokens_total moved by \(.consistency_tokens | add // 0) for \(.token_gets.n) token reads" else empty end)] | join(", ")' "$T/$name.json")
    [ -n "$bad" ] && ERRORS+=("$name: $bad")
    jq -r 'def f(n): if n == null then "-" else (n * 100 | round / 100 | tostring) end;
        "  \("'"$name"'" + "                      " | .[0:22]) \(.token_gets.n) GETs with a token p50 \(f(.token_gets.p50_ms)) p99 \(f(.token_gets.p99_ms)) ms, \(.plain_gets.n) without p50 \(f(.plain_gets.p50_ms)) p99 \(f(.plain_gets.p99_ms)) ms; tokens: \(.consistency_tokens | to_entries | map("\(.key) \(.value)") | join(", "))"' "$T/$name.json"
    [ -n "$bad" ] && echo "  ERRORS: $bad"
    return 0
}

echo "measuring: ${SECS} s per run, wrk -t$WRK_THREADS, sysbench over TCP; each workload" \
    "through cqrsd, then the same SQL without it"
# warm-up (not measured): every worker thread connects and prepares its statements
for u in "$URL" "$URL_TLS" "$URL_HS" "$URL_ES" "$URL_REP"; do
    wrk -t"$WRK_THREADS" -c64 -d"$((SECS < 3 ? SECS : 3))s" -s "$here/wrk/get_product.lua" "$u" -- \
        "$T/products.ids" >"$T/warmup.out" 2>&1 || die "wrk warm-up failed ($u)"
done

run_wrk get16_cqrsd 16 get_product.lua "$T/products.ids"
tls run_wrk get16_tls 16 get_product.lua "$T/products.ids"
run_sysbench get16_db 16 point_select.lua cqrs_reader
# the primary's CPU when nothing runs (every daemon idle: their pollers and the
# replica daemon's monitors, InnoDB's background work), so that what the
# replica's GETs still cost it can be told from what it spends anyway
IDLE_SECS=$((SECS < 5 ? SECS : 5))
b0=$(cpu_ticks "$DB_PID")
t0=$(date +%s.%N)
sleep "$IDLE_SECS"
PRIMARY_IDLE_CPU_PER_S=$(echo "$(cpu_ticks "$DB_PID") $b0 $(date +%s.%N) $t0 $CLK" |
    awk '{ printf "%.6f\n", ($1 - $2) / $5 / ($3 - $4) }')
echo "  (primary idle: $PRIMARY_IDLE_CPU_PER_S CPU s/s over $IDLE_SECS s, every daemon idle)"
replica_get get16_replica 16
SB_ON=replica run_sysbench get16_replica_db 16 point_select.lua cqrs_reader
run_wrk get64_cqrsd 64 get_product.lua "$T/products.ids"
VMHWM_64=$(vmhwm_kib "$daemon_pid")
tls run_wrk get64_tls 64 get_product.lua "$T/products.ids"
run_sysbench get64_db 64 point_select.lua cqrs_reader
replica_get get64_replica 64
SB_ON=replica run_sysbench get64_replica_db 64 point_select.lua cqrs_reader
run_wrk cust16_open 16 get_customer.lua "$T/jwt/customers.ids"
at "$URL_HS" "$hs_pid" run_wrk cust16_hs256 16 get_customer.lua "$T/jwt/hs256.tokens"
at "$URL_ES" "$es_pid" run_wrk cust16_es256 16 get_customer.lua "$T/jwt/es256.tokens"
run_wrk list16_cqrsd 16 list_products.lua "$CATEGORIES"
run_sysbench list16_db 16 list_products.lua cqrs_reader
run_wrk order16_cqrsd 16 place_order.lua "$T/products.ids" "$T/customers.ids"
tls run_wrk order16_tls 16 place_order.lua "$T/products.ids" "$T/customers.ids"
run_sysbench order16_db 16 place_order.lua cqrs_writer
PLACE_ORDER_POSITIONS=auto_increment run_sysbench order16_db_unordered 16 place_order.lua cqrs_writer
run_wrk price16_cqrsd 16 update_price.lua "$T/products.ids"
run_sysbench price16_db 16 update_price.lua cqrs_writer
replica_get_with_orders get16_replica_orders
run_token token16 16
VMHWM_END=$(vmhwm_kib "$daemon_pid")
min_stock=$(sqlq "SELECT MIN(stock) FROM products")

#=== Optional: a machine-wide profile ===

profile() { # NAME CONNECTIONS SCRIPT [ARGS...]: perf on every CPU during one extra wrk run
    local name=$1 conns=$2 script=$3 f
    shift 3
    f="$T/$name.perf"
    perf record -e cpu-clock -F 999 -a -o "$f" -- sleep "$SECS" >/dev/null 2>&1 &
    perf_pid=$!
    BENCH_CONNECTIONS=$conns wrk -t"$WRK_THREADS" -c"$conns" -d"${SECS}s" -s "$here/wrk/$script" \
        "$URL" -- "$@" >"$T/$name.profile.out" 2>&1
    wait "$perf_pid"
    perf_pid=""
    {
        echo "=== $name: wrk -c$conns $script during perf record -a -e cpu-clock ($SECS s):" \
            "$(grep -E '^Requests/sec' "$T/$name.profile.out")"
        echo "--- share of all samples by process (and how much of that is in the kernel)"
        perf script -i "$f" -F comm,pid,ip,dso -G 2>/dev/null | awk -v d="$daemon_pid" -v m="$DB_PID" '
            { pid = $(NF - 2) + 0; who = $1 " (pid " pid ")"
              if (pid == d) who = "cqrsd"; else if (pid == m) who = "mariadbd"
              n[who]++; t++; if ($NF ~ /kernel/) k[who]++ }
            END { for (w in n) if (n[w] / t >= 0.005)
                      printf "  %5.1f%%  %-28s kernel %5.1f%% of it\n", 100 * n[w] / t, w, 100 * k[w] / n[w] }' |
            sort -rn
        echo "--- cqrsd by library (% of its samples)"
        perf script -i "$f" --pid "$daemon_pid" -F ip,dso -G 2>/dev/null | awk '
            { d = $NF; gsub(/[()]/, "", d); sub(/.*\//, "", d); n[d]++; t++ }
            END { for (d in n) printf "  %5.1f%%  %s\n", 100 * n[d] / t, d }' | sort -rn | head -8
        echo "--- cqrsd: top functions (% of its samples)"
        perf report -i "$f" --stdio --no-children --pid "$daemon_pid" --sort dso,sym -g none \
            --percentage relative 2>/dev/null | grep -E '^ +[0-9]' | head -40
        echo "--- cqrsd: top functions outside the kernel (% of its samples)"
        perf report -i "$f" --stdio --no-children --pid "$daemon_pid" --sort dso,sym -g none \
            --percentage relative 2>/dev/null | grep -E '^ +[0-9]' | grep -v kernel | head -30
        echo "--- mariadbd: top functions (% of its samples)"
        perf report -i "$f" --stdio --no-children --pid "$DB_PID" --sort dso,sym -g none \
            --percentage relative 2>/dev/null | grep -E '^ +[0-9]' | head -25
        echo
    } >>"$top/build/bench-profile.txt"
}

if [ "${BENCH_PROFILE:-0}" = 1 ]; then
    if command -v perf >/dev/null 2>&1 &&
        perf record -e cpu-clock -o "$T/probe.perf" true >/dev/null 2>&1; then
        mkdir -p build
        : >"$top/build/bench-profile.txt"
        echo "profiling (BENCH_PROFILE=1): perf record -a during extra runs -> build/bench-profile.txt"
        profile get16 16 get_product.lua "$T/products.ids"
        profile order16 16 place_order.lua "$T/products.ids" "$T/customers.ids"
    else
        echo "profiling: perf is missing or does not work here (Debian: linux-perf); skipped"
    fi
fi

stop_daemon
[ "$daemon_exit" = 0 ] || ERRORS+=("the daemon exited with '$daemon_exit' after SIGTERM (want 0)")

#=== The TLS daemon: every database session it opened was a TLS session ===

# the server finished at least as many TLS handshakes as the daemon holds connections
ssl1=$(SQL_DB= sqlq "SELECT VARIABLE_VALUE FROM information_schema.GLOBAL_STATUS WHERE VARIABLE_NAME = 'SSL_FINISHED_ACCEPTS'")
TLS_SESSIONS=$((ssl1 - ssl0))
DAEMON_CONNS=$(curl -s "$URL_TLS/metrics" | awk '/^cqrsd_db_connections\{/ { n += $2 } END { print n + 0 }')
[ "$DAEMON_CONNS" -ge 2 ] && [ "$TLS_SESSIONS" -ge "$DAEMON_CONNS" ] ||
    ERRORS+=("TLS: the server finished $TLS_SESSIONS TLS handshakes, the daemon holds $DAEMON_CONNS connections")
tls stop_daemon
tls_pid=""
[ "$daemon_exit" = 0 ] || ERRORS+=("the TLS daemon exited with '$daemon_exit' after SIGTERM (want 0)")

#=== The JWT daemons: every token was verified once, then remembered ===

for a in hs256 es256; do
    if [ $a = hs256 ]; then u=$URL_HS tok=$ADMIN_HS256; else u=$URL_ES tok=$ADMIN_ES256; fi
    curl -s -H "Authorization: Bearer $tok" "$u/metrics" >"$T/$a.metrics"
    # verified about once per token (the warm-up sent none; two connections may
    # verify a new token at the same moment), then answered from the table
    misses=$(awk '$1 == "cqrsd_auth_jwt_verifications_total{result=\"miss\"}" { print $2 }' "$T/$a.metrics")
    hits=$(awk '$1 == "cqrsd_auth_jwt_verifications_total{result=\"hit\"}" { print $2 }' "$T/$a.metrics")
    [ -n "$misses" ] && [ "$misses" -le $((2 * JWT_CUSTOMERS + 16)) ] && [ "${hits:-0}" -gt 0 ] ||
        ERRORS+=("$a: $misses full verifications and $hits remembered ones for $JWT_CUSTOMERS tokens")
    JWT_VERIFIED="${JWT_VERIFIED:-}${JWT_VERIFIED:+, }$a: ${misses:-?} verified in full, ${hits:-?} remembered"
    at "$u" "$([ $a = hs256 ] && echo "$hs_pid" || echo "$es_pid")" stop_daemon
    [ "$daemon_exit" = 0 ] || ERRORS+=("the $a daemon exited with '$daemon_exit' after SIGTERM (want 0)")
done
hs_pid=""
es_pid=""

#=== The replica daemon ===

REPLICA_FINAL_METRICS=$(curl -s "$URL_REP/metrics" | grep -E '^cqrsd_(reads_total|consistency_tokens_total|replica_lag_seconds|replica_healthy)\{')
at "$URL_REP" "$rep_pid" stop_daemon
rep_pid=""
[ "$daemon_exit" = 0 ] || ERRORS+=("the replica daemon exited with '$daemon_exit' after SIGTERM (want 0)")

#=== The table and build/bench.json ===

pair() { # ID WORKLOAD CQRSD_NAME DB_NAME DB_WHAT
    jq -n --arg id "$1" --arg w "$2" --arg what "$5" --slurpfile c "$T/$3.json" \
        --slurpfile d "$T/$4.json" '
        { id: $id, workload: $w, connections: $c[0].connections, cqrsd: $c[0],
          db_only: ($d[0] + {what: $what}),
          ratio: ($c[0].rps / $d[0].ops_per_s),
          p99_ratio: (if $d[0].p99_ms > 0 then $c[0].p99_ms / $d[0].p99_ms else null end) }'
}
{
    pair get16 "GET /queries/products/{id}" get16_cqrsd get16_db \
        "SELECT doc FROM product_view WHERE product_id = ? (prepared, reader, 16 threads)"
    pair get64 "GET /queries/products/{id}" get64_cqrsd get64_db \
        "SELECT doc FROM product_view WHERE product_id = ? (prepared, reader, 64 threads)"
    pair list16 "GET /queries/products?category=...&sort=best_selling&limit=20" list16_cqrsd \
        list16_db "the first-page statement of that list (prepared, reader, 16 threads)"
    pair order16 "POST /commands PlaceOrder (1-3 products)" order16_cqrsd order16_db \
        "the PlaceOrder transaction (prepared, writer, READ COMMITTED, 16 threads)"
    pair price16 "POST /commands UpdateProductPrice" price16_cqrsd price16_db \
        "the UpdateProductPrice transaction (prepared, writer, READ COMMITTED, 16 threads)"
    pair get16_replica "GET /queries/products/{id} from the replica" get16_replica get16_replica_db \
        "SELECT doc FROM product_view WHERE product_id = ? on the replica (prepared, reader, 16 threads)"
    pair get64_replica "GET /queries/products/{id} from the replica" get64_replica get64_replica_db \
        "SELECT doc FROM product_view WHERE product_id = ? on the replica (prepared, reader, 64 threads)"
    pair get16_replica_orders "GET /queries/products/{id} from the replica, PlaceOrder (16 conns) on the primary meanwhile" \
        get16_replica_orders get16_replica_db \
        "SELECT doc FROM product_view WHERE product_id = ? on the replica, without the orders (prepared, reader, 16 threads)"
} | jq -s . >"$T/workloads.json"
# the read replica: the same GET served by the primary (the plain daemon) and
# by the replica (the daemon with --replica-dsn), the primary's CPU per GET in
# each case, the GET under orders, the token's cost
jq -n --argjson rv "$REP_VARS" --slurpfile p16 "$T/get16_cqrsd.json" --slurpfile r16 "$T/get16_replica.json" \
    --slurpfile d16 "$T/get16_replica_db.json" --slurpfile p64 "$T/get64_cqrsd.json" \
    --slurpfile r64 "$T/get64_replica.json" --slurpfile d64 "$T/get64_replica_db.json" \
    --slurpfile ro "$T/get16_replica_orders.json" --slurpfile o16 "$T/order16_cqrsd.json" \
    --slurpfile tk "$T/token16.json" --arg fm "$REPLICA_FINAL_METRICS" \
    --argjson idle "$PRIMARY_IDLE_CPU_PER_S" --argjson idles "$IDLE_SECS" '
    def us(x): if x == null then null else x * 1000 end;
    def net(r): if r.requests > 0 then ((r.mariadb_cpu_s - $idle * r.seconds) / r.requests * 1e6) else null end;
    def row(p; r; d): { connections: r.connections,
        primary_served: { rps: p.rps, p50_ms: p.p50_ms, p99_ms: p.p99_ms },
        replica_served: { rps: r.rps, p50_ms: r.p50_ms, p99_ms: r.p99_ms },
        db_only_on_replica: { ops_per_s: d.ops_per_s, p50_ms: d.p50_ms, p99_ms: d.p99_ms },
        replica_over_primary: (r.rps / p.rps), replica_over_db_only: (r.rps / d.ops_per_s),
        primary_cpu_us_per_get: { reads_on_primary: us(p.mariadb_cpu_s_per_1000),
                                  reads_on_replica: us(r.mariadb_cpu_s_per_1000),
                                  reads_on_primary_beyond_idle: net(p),
                                  reads_on_replica_beyond_idle: net(r) },
        primary_cpu_share: (if p.mariadb_cpu_s_per_1000 > 0 then r.mariadb_cpu_s_per_1000 / p.mariadb_cpu_s_per_1000 else null end),
        primary_cpu_share_beyond_idle: (if net(p) > 0 then ([net(r), 0] | max) / net(p) else null end),
        replica_cpu_us_per_get: us(r.replica_cpu_s_per_1000),
        daemon_cpu_us_per_get: { reads_on_primary: us(p.daemon_cpu_s_per_1000), reads_on_replica: us(r.daemon_cpu_s_per_1000) },
        reads_by_target: r.reads_by_target };
    { note: "GET by id: the plain daemon (reads on the primary) against the daemon with --replica-dsn (reads on the replica) and sysbench on the replica; the CPU of each mariadbd from /proc/PID/stat (utime + stime) over the run, divided by the GETs served",
      replica_settings: $rv,
      primary_idle_cpu_s_per_s: $idle, primary_idle_measured_s: $idles,
      gets: [ row($p16[0]; $r16[0]; $d16[0]), row($p64[0]; $r64[0]; $d64[0]) ],
      gets_with_orders: ($ro[0] | { connections, rps, p50_ms, p99_ms,
          over_alone: (.rps / $r16[0].rps), alone_rps: $r16[0].rps, alone_p99_ms: $r16[0].p99_ms,
          orders_rps_during_gets: .orders.rps_during_gets, orders_p99_ms: .orders.p99_ms,
          orders_rps_alone: $o16[0].rps, orders_p99_ms_alone: $o16[0].p99_ms,
          primary_cpu_us_per_get_and_order: us(.mariadb_cpu_s / (.requests + .commands_answered) * 1000),
          replica_lag_max_s: .replica_lag_max_s, replica_catch_up_s: .replica_catch_up_s,
          reads_by_target }),
      token: ($tk[0] + { note: "each connection: POST UpdateProductPrice, then GET that product, with the consistency_token of the write in every other cycle; latency of the GETs only, from request() to response() on a thread of wrk with one connection (tests/bench/wrk/token_read.lua); extra_p99_ms = token p99 - plain p99" }),
      final_metrics: ($fm | split("\n") | map(select(length > 0))) }' >"$T/replica.json" ||
    die "could not summarize the replica runs"
tls_pair() { # ID WORKLOAD CLEAR_NAME TLS_NAME
    jq -n --arg id "$1" --arg w "$2" --slurpfile c "$T/$3.json" --slurpfile t "$T/$4.json" '
        { id: $id, workload: $w, connections: $c[0].connections,
          clear_rps: $c[0].rps, tls_rps: $t[0].rps, clear_p99_ms: $c[0].p99_ms,
          tls_p99_ms: $t[0].p99_ms, ratio: ($t[0].rps / $c[0].rps),
          clear_daemon_cpu_s_per_1000: $c[0].daemon_cpu_s_per_1000,
          tls_daemon_cpu_s_per_1000: $t[0].daemon_cpu_s_per_1000,
          clear_mariadb_cpu_s_per_1000: $c[0].mariadb_cpu_s_per_1000,
          tls_mariadb_cpu_s_per_1000: $t[0].mariadb_cpu_s_per_1000, tls: $t[0] }'
}
{
    tls_pair get16 "GET /queries/products/{id}" get16_cqrsd get16_tls
    tls_pair get64 "GET /queries/products/{id}" get64_cqrsd get64_tls
    tls_pair order16 "POST /commands PlaceOrder (1-3 products)" order16_cqrsd order16_tls
} | jq -s . >"$T/tls.json"
jwt_pair() { # ID WORKLOAD OPEN_NAME JWT_NAME
    jq -n --arg id "$1" --arg w "$2" --slurpfile c "$T/$3.json" --slurpfile t "$T/$4.json" '
        { id: $id, workload: $w, connections: $c[0].connections,
          open_rps: $c[0].rps, jwt_rps: $t[0].rps, open_p99_ms: $c[0].p99_ms,
          jwt_p99_ms: $t[0].p99_ms, ratio: ($t[0].rps / $c[0].rps),
          open_daemon_cpu_s_per_1000: $c[0].daemon_cpu_s_per_1000,
          jwt_daemon_cpu_s_per_1000: $t[0].daemon_cpu_s_per_1000, jwt: $t[0] }'
}
{
    jwt_pair cust16_hs256 "GET /queries/customers/{id}, a customer's HS256 JWT" cust16_open cust16_hs256
    jwt_pair cust16_es256 "GET /queries/customers/{id}, a customer's ES256 JWT" cust16_open cust16_es256
} | jq -s . >"$T/jwt.json"
# what gap-free positions cost: the same database-only PlaceOrder transaction
# taking its position from event_head (as the daemon does) and from an
# AUTO_INCREMENT column (positions may become visible out of order)
jq -n --slurpfile g "$T/order16_db.json" --slurpfile u "$T/order16_db_unordered.json" '
    { workload: "PlaceOrder transaction, database only, 16 threads",
      gap_free_ops_per_s: $g[0].ops_per_s, gap_free_p99_ms: $g[0].p99_ms,
      auto_increment_ops_per_s: $u[0].ops_per_s, auto_increment_p99_ms: $u[0].p99_ms,
      cost_pct: (100 * (1 - $g[0].ops_per_s / $u[0].ops_per_s)) }' >"$T/positions.json"

mkdir -p build
jq -n --slurpfile w "$T/workloads.json" --argjson seed "$SEED_JSON" --argjson db "$DB_VARS" \
    --arg opts "$MARIADB_TUNING" --argjson secs "$SECS" --argjson smoke "$SMOKE" \
    --argjson ncpu "$NCPU" --arg load "$LOAD_BEFORE" --arg at "$(date -u +%Y-%m-%dT%H:%M:%SZ)" \
    --slurpfile positions "$T/positions.json" --slurpfile tls "$T/tls.json" \
    --slurpfile jwt "$T/jwt.json" --argjson jwtn "$JWT_CUSTOMERS" --slurpfile replica "$T/replica.json" \
    --arg popts "$PRIMARY_OPTS" --arg ropts "$REPLICA_OPTS" \
    --argjson tlssessions "$TLS_SESSIONS" --argjson dconns "$DAEMON_CONNS" --argjson hwm64 "${VMHWM_64:-0}" --argjson hwmend "${VMHWM_END:-0}" \
    --arg dexit "$daemon_exit" --argjson minstock "${min_stock:-0}" \
    --argjson threads "$DAEMON_THREADS" --arg dlog "${BENCH_DAEMON_LOG:-/dev/null}" \
    --arg kernel "$(uname -r)" --arg wrkv "$(wrk -v 2>&1 | head -1 | cut -d' ' -f1-2)" \
    --arg sbv "$(sysbench --version)" --argjson errors "$(printf '%s\n' "${ERRORS[@]}" | jq -R . | jq -s 'map(select(length > 0))')" '
    ($w[0]) as $wl | ($wl | map({(.id): .}) | add) as $by |
    { finished_at: $at,
      machine: { cpus: $ncpu, kernel: $kernel, loadavg_before: $load,
                 note: "load generator (wrk, sysbench), MariaDB and cqrsd share these cpus; nothing is pinned" },
      settings: { bench_seconds: $secs, smoke: $smoke, products: $seed.products,
                  customers: $seed.customers, categories: $seed.categories,
                  daemon: "build/cqrsd serve --threads \($threads) --log-format text, stderr to \($dlog)",
                  wrk: "\($wrkv), 2 threads, --timeout 10s", sysbench: $sbv,
                  mariadb_options: ("scripts/mariadb.sh defaults (--skip-log-bin --max-connections=1000 utf8mb4) + " + $opts + " + " + $popts),
                  replica_options: ("the same tuning without TLS + " + $ropts + "; CHANGE MASTER TO ... MASTER_USE_GTID = slave_pos"),
                  mariadb: $db, min_stock_after: $minstock },
      seeding: $seed,
      workloads: $wl,
      event_positions: $positions[0],
      tls: { note: "the same daemon with ssl-mode=required (TLS over TCP) against ssl-mode=disabled; ratio = TLS req/s / clear-text req/s",
             tls_handshakes_finished_by_the_server: $tlssessions, daemon_connections: $dconns, workloads: $tls[0] },
      jwt: { note: "GET /queries/customers/{id}: each request as that customer with its own JWT (\($jwtn) customers, one token each), against the same GET on a daemon without credentials; ratio = JWT req/s / open req/s",
             workloads: $jwt[0] },
      replica: $replica[0],
      daemon: { vmhwm_kib_after_get64: $hwm64, vmhwm_kib_at_end: $hwmend,
                exit_status_after_sigterm: $dexit },
      targets: [
        { target: "GET by id, 16 connections: >= 80 % of the database-only point select",
          want: 0.8, got: $by.get16.ratio, met: ($by.get16.ratio >= 0.8) },
        { target: "GET by id, 16 connections: p99 <= 2x the database-only p99",
          want: 2, got: $by.get16.p99_ratio, met: ($by.get16.p99_ratio != null and $by.get16.p99_ratio <= 2) },
        { target: "GET by id, 64 connections: >= 80 % of the database-only point select",
          want: 0.8, got: $by.get64.ratio, met: ($by.get64.ratio >= 0.8) },
        { target: "GET by id, 64 connections: p99 <= 2x the database-only p99",
          want: 2, got: $by.get64.p99_ratio, met: ($by.get64.p99_ratio != null and $by.get64.p99_ratio <= 2) },
        { target: "PlaceOrder: >= 90 % of the database-only transaction",
          want: 0.9, got: $by.order16.ratio, met: ($by.order16.ratio >= 0.9) },
        ($tls[0][] | { target: "\(.workload), \(.connections) connections, TLS to the database: >= 90 % of clear text",
          want: 0.9, got: .ratio, met: (.ratio >= 0.9) }),
        ($jwt[0][] | { target: "\(.workload), \(.connections) connections: >= 90 % of the same GET without authorization",
          want: 0.9, got: .ratio, met: (.ratio >= 0.9) }),
        { target: "peak RSS (VmHWM) <= 32 MiB with 64 connections",
          want: 32768, got: $hwm64, met: ($hwm64 <= 32768) },
        ($replica[0].gets[] | { target: "GET by id from the replica, \(.connections) connections: the primary'"'"'s CPU per GET beyond its idle rate <= 5 % of it when the primary serves the reads",
          want: 0.05, got: .primary_cpu_share_beyond_idle, met: (.primary_cpu_share_beyond_idle != null and .primary_cpu_share_beyond_idle <= 0.05) }),
        ($replica[0].token | { target: "a read with a fresh consistency token: p99 at most 3 ms over a plain replica read (\(.connections) connections)",
          want: 3, unit: "ms", got: .extra_p99_ms, met: (.extra_p99_ms != null and .extra_p99_ms <= 3) }) ],
      errors: $errors }' >build/bench.json || die "could not write build/bench.json"

echo
echo "Results: $NCPU cores shared by wrk/sysbench, MariaDB and cqrsd (nothing pinned); ${SECS} s per run"
jq -r '
    def f(n; d): if n == null then "-" else (n * pow(10; d) | round / pow(10; d) | tostring) end;
    (["workload", "conns", "cqrsd req/s", "p50 ms", "p99 ms", "db-only ops/s", "db p50", "db p99",
      "ratio", "p99 ratio"] | @tsv),
    (.workloads[] | [.workload, .connections, f(.cqrsd.rps; 0), f(.cqrsd.p50_ms; 2),
      f(.cqrsd.p99_ms; 2), f(.db_only.ops_per_s; 0), f(.db_only.p50_ms; 2), f(.db_only.p99_ms; 2),
      f(.ratio; 2), f(.p99_ratio; 2)] | @tsv)' build/bench.json | align
echo
echo "CPU seconds per 1,000 requests (ops) by process; how busy the $NCPU cores were; the share"
echo "of them that other processes on the machine took (not part of the benchmark):"
jq -r '
    def f(n; d): if n == null then "-" else (n * pow(10; d) | round / pow(10; d) | tostring) end;
    (["workload", "conns", "| cqrsd", "primary", "replica", "wrk", "sum", "busy %", "others %",
      "| db-only: primary", "replica", "sysbench", "sum", "busy %", "others %"] | @tsv),
    (.workloads[] | [.workload, .connections, "| " + f(.cqrsd.daemon_cpu_s_per_1000; 3),
      f(.cqrsd.mariadb_cpu_s_per_1000; 3), f(.cqrsd.replica_cpu_s_per_1000; 3),
      f(.cqrsd.load_generator_cpu_s_per_1000; 3),
      f(.cqrsd.cpu_s_per_1000; 3), f(.cqrsd.machine_busy_pct; 0),
      f(.cqrsd.other_processes_pct; 0),
      "| " + f(.db_only.mariadb_cpu_s_per_1000; 3), f(.db_only.replica_cpu_s_per_1000; 3),
      f(.db_only.load_generator_cpu_s_per_1000; 3),
      f(.db_only.cpu_s_per_1000; 3), f(.db_only.machine_busy_pct; 0),
      f(.db_only.other_processes_pct; 0)]
      | @tsv)' build/bench.json | align
echo "(when the cores are saturated, ratio ~ db-only sum / cqrsd sum: the daemon's CPU is taken from MariaDB's;"
echo " the replica applies every write of the primary, so it works during the write runs too; during the GET"
echo " with PlaceOrder run, the second wrk (PlaceOrder) counts among the others and its orders in cqrsd/primary/replica)"
echo
echo "TLS to the database (ssl-mode=required over TCP) beside clear text (ssl-mode=disabled), the same"
echo "daemon and data; the server finished $(jq -r .tls.tls_handshakes_finished_by_the_server build/bench.json) TLS handshakes for the daemon's $(jq -r .tls.daemon_connections build/bench.json) connections:"
jq -r '
    def f(n; d): if n == null then "-" else (n * pow(10; d) | round / pow(10; d) | tostring) end;
    (["workload", "conns", "clear req/s", "TLS req/s", "TLS/clear", "clear p99", "TLS p99",
      "cqrsd cpu/1000 clear", "TLS", "mariadb cpu/1000 clear", "TLS"] | @tsv),
    (.tls.workloads[] | [.workload, .connections, f(.clear_rps; 0), f(.tls_rps; 0), f(.ratio; 2),
      f(.clear_p99_ms; 2), f(.tls_p99_ms; 2), f(.clear_daemon_cpu_s_per_1000; 3),
      f(.tls_daemon_cpu_s_per_1000; 3), f(.clear_mariadb_cpu_s_per_1000; 3),
      f(.tls_mariadb_cpu_s_per_1000; 3)] | @tsv)' build/bench.json | align
echo
echo "Authorization: GET /queries/customers/{id} as the customer, with its JWT, beside the same GET on a"
echo "daemon without credentials (each JWT verified once, then found in the daemon's table of verified tokens;"
echo "$JWT_VERIFIED):"
jq -r '
    def f(n; d): if n == null then "-" else (n * pow(10; d) | round / pow(10; d) | tostring) end;
    (["workload", "conns", "open req/s", "JWT req/s", "JWT/open", "open p99", "JWT p99",
      "cqrsd cpu/1000 open", "JWT"] | @tsv),
    (.jwt.workloads[] | [.workload, .connections, f(.open_rps; 0), f(.jwt_rps; 0), f(.ratio; 2),
      f(.open_p99_ms; 2), f(.jwt_p99_ms; 2), f(.open_daemon_cpu_s_per_1000; 3),
      f(.jwt_daemon_cpu_s_per_1000; 3)] | @tsv)' build/bench.json | align
echo
echo "Read replica: GET by id served by the primary (the plain daemon) and by the replica (the daemon with"
echo "--replica-dsn), beside sysbench's point select on the replica; the primary's CPU per GET (its mariadbd's"
echo "utime + stime over the run / GETs served) with the reads on the primary and on the replica, as measured"
echo "and beyond what it spends idle ($(jq -r '.replica.primary_idle_cpu_s_per_s * 1000 | round' build/bench.json) ms of CPU per second with every daemon idle, measured over $(jq -r .replica.primary_idle_measured_s build/bench.json) s):"
jq -r '
    def f(n; d): if n == null then "-" else (n * pow(10; d) | round / pow(10; d) | tostring) end;
    (["conns", "primary req/s", "replica req/s", "replica/primary", "db-only on replica", "replica/db-only",
      "p99 primary", "p99 replica", "db p99", "| primary CPU us/GET: reads on primary", "on replica",
      "share", "| beyond idle: on primary", "on replica", "share", "| replica CPU us/GET"] | @tsv),
    (.replica.gets[] | [.connections, f(.primary_served.rps; 0), f(.replica_served.rps; 0),
      f(.replica_over_primary; 2), f(.db_only_on_replica.ops_per_s; 0), f(.replica_over_db_only; 2),
      f(.primary_served.p99_ms; 2), f(.replica_served.p99_ms; 2), f(.db_only_on_replica.p99_ms; 2),
      "| " + f(.primary_cpu_us_per_get.reads_on_primary; 2), f(.primary_cpu_us_per_get.reads_on_replica; 3),
      f(.primary_cpu_share; 3), "| " + f(.primary_cpu_us_per_get.reads_on_primary_beyond_idle; 2),
      f(.primary_cpu_us_per_get.reads_on_replica_beyond_idle; 3), f(.primary_cpu_share_beyond_idle; 3),
      "| " + f(.replica_cpu_us_per_get; 2)] | @tsv)' build/bench.json | align
jq -r '.replica.gets_with_orders |
    def f(n; d): if n == null then "-" else (n * pow(10; d) | round / pow(10; d) | tostring) end;
    "with PlaceOrder at 16 connections on the same daemon (commands on the primary): GET by id from the replica at \(.connections) connections \(f(.rps; 0)) req/s, p99 \(f(.p99_ms; 2)) ms (\(f(.over_alone; 2)) of the \(f(.alone_rps; 0)) req/s without the orders, p99 \(f(.alone_p99_ms; 2)) ms);",
    "  PlaceOrder meanwhile \(f(.orders_rps_during_gets; 0)) orders/s, p99 \(f(.orders_p99_ms; 1)) ms (alone, on the plain daemon: \(f(.orders_rps_alone; 0)), p99 \(f(.orders_p99_ms_alone; 1)) ms);",
    "  the replica lagged up to \(f(.replica_lag_max_s; 3)) s (cqrsd_replica_lag_seconds, sampled every 0.5 s) and applied the rest \(f(.replica_catch_up_s; 2)) s after the orders stopped; reads by target: \(.reads_by_target | to_entries | map("\(.key) \(.value)") | join(", "))"' build/bench.json
jq -r '.replica.token |
    def f(n; d): if n == null then "-" else (n * pow(10; d) | round / pow(10; d) | tostring) end;
    "consistency token (\(.connections) connections, each writes a price then reads it back, every other time with the token; only the GETs timed):",
    "  with a fresh token: \(.token_gets.n) GETs, p50 \(f(.token_gets.p50_ms; 2)) ms, p99 \(f(.token_gets.p99_ms; 2)) ms, max \(f(.token_gets.max_ms; 1)) ms; \(if .stale_token_reads == 0 then "every one showed its write" else "\(.stale_token_reads) did NOT show their write" end)",
    "  plain replica read:  \(.plain_gets.n) GETs, p50 \(f(.plain_gets.p50_ms; 2)) ms, p99 \(f(.plain_gets.p99_ms; 2)) ms, max \(f(.plain_gets.max_ms; 1)) ms; \(.stale_plain_reads) of them did not show the write just made",
    "  the token adds \(f(.extra_p99_ms; 2)) ms at p99 (\(f(.extra_p50_ms; 2)) ms at p50); \(.writes) writes; cqrsd_consistency_tokens_total: \(.consistency_tokens | to_entries | map("\(.key) \(.value)") | join(", ")); reads by target: \(.reads_by_target | to_entries | map("\(.key) \(.value)") | join(", "))",
    "  (cores \(f(.machine_busy_pct; 0)) % busy, other processes \(f(.other_processes_pct; 0)) %; the replica applies the writes with innodb_flush_log_at_trx_commit=\($rv.innodb_flush_log_at_trx_commit), slave_parallel_threads=\($rv.slave_parallel_threads))"' --argjson rv "$REP_VARS" build/bench.json
echo
jq -r '"cqrsd peak RSS (VmHWM): \(.daemon.vmhwm_kib_after_get64) KiB after the 64-connection run, \(.daemon.vmhwm_kib_at_end) KiB at the end"' build/bench.json
jq -r '.event_positions | "gap-free event positions: the database-only PlaceOrder transaction at 16 threads ran \(.gap_free_ops_per_s | round) ops/s (p99 \(.gap_free_p99_ms) ms) with them, \(.auto_increment_ops_per_s | round) ops/s (p99 \(.auto_increment_p99_ms) ms) with an AUTO_INCREMENT position instead: they cost \(.cost_pct * 10 | round / 10) %"' build/bench.json
jq -r '"seeding: \(.seeding.commands_per_second | round) commands/s (\(.seeding.products) products, \(.seeding.customers) customers)"' build/bench.json
jq -r '.workloads[] | select(.cqrsd.retries > 0 or .db_only.ignored_errors > 0) |
    "retried: \(.workload): cqrsd \(.cqrsd.retries) deadlock/lock-wait retries, sysbench \(.db_only.ignored_errors)"' build/bench.json
echo
echo "Targets:"
jq -r '.targets[] | "  \(if .met then "MET   " else "MISSED" end) \(.target): \(if .got == null then "-" elif .want > 100 then "\(.got) KiB" else (.got * 1000 | round / 1000 | tostring) + (if .unit then " " + .unit else "" end) end)"' build/bench.json
jq -r '.workloads[] | select(.id != "get16_replica_orders") | . as $w | [["cqrsd", .cqrsd], ["db-only", .db_only]][] |
    select(.[1].other_processes_pct > 15) |
    "warning: other processes took \(.[1].other_processes_pct | round) % of the cpus during \($w.workload) (\($w.connections), \(.[0])): its numbers are disturbed"' build/bench.json
echo
echo "wrote build/bench.json"
if [ ${#ERRORS[@]} -gt 0 ]; then
    echo "ERRORS:"
    printf '  %s\n' "${ERRORS[@]}"
    exit 1
fi
if [ "${BENCH_ENFORCE:-0}" = 1 ] && jq -e '[.targets[] | select(.met | not)] | length > 0' \
    build/bench.json >/dev/null; then
    echo "bench: a target was missed (BENCH_ENFORCE=1)"
    exit 1
fi
exit 0

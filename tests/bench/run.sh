#!/usr/bin/env bash
# tests/bench/run.sh - `make bench`: cqrsd against the database's own limit.
#
# Starts its own tuned private MariaDB (durable commits) and the release
# daemon, seeds through the daemon's API (products in 20 categories and
# customers), then measures each workload twice, back to back: through
# cqrsd with wrk, and the same SQL straight against MariaDB with sysbench
# (tests/bench/sysbench/*.lua run the statements of src/catalog.c). Prints one
# table and writes it as JSON to build/bench.json. Stops everything it started.
#
#   BENCH_SECONDS=20     seconds per measured run (under 10: a smoke run that
#                        seeds fewer rows unless BENCH_PRODUCTS/CUSTOMERS say)
#   BENCH_PRODUCTS, BENCH_CUSTOMERS   rows to seed (10000 and 1000)
#   BENCH_DAEMON_LOG=FILE   the daemon's stderr (default /dev/null: the
#                        per-request log line costs a write per request)
#   BENCH_PROFILE=1      also profile the whole machine with perf during one
#                        extra GET-by-id and one extra PlaceOrder run
#                        (build/bench-profile.txt)
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

# The server's tuning: durable commits (the redo log is flushed and synced at
# every COMMIT), a buffer pool that holds everything, a redo log large enough
# that the runs never wait on a checkpoint. No binary log (scripts/mariadb.sh
# runs with --skip-log-bin), so a commit is one redo-log fsync, group-committed.
MARIADB_TUNING="--innodb-flush-log-at-trx-commit=1 --innodb-buffer-pool-size=1G
 --innodb-log-file-size=512M --innodb-log-buffer-size=64M --innodb-flush-method=O_DIRECT
 --innodb-doublewrite=1 --max-connections=1000 --thread-cache-size=256
 --table-open-cache=4000 --max-prepared-stmt-count=100000 --skip-name-resolve
 --query-cache-type=0 --query-cache-size=0"
MARIADB_TUNING=$(echo $MARIADB_TUNING)

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
    [ -n "$perf_pid" ] && kill -INT "$perf_pid" 2>/dev/null
    stop_daemon
    [ -n "$tls_pid" ] && kill -KILL "$tls_pid" 2>/dev/null
    [ -n "${hs_pid:-}" ] && kill -KILL "$hs_pid" 2>/dev/null
    [ -n "${es_pid:-}" ] && kill -KILL "$es_pid" 2>/dev/null
    sh "$top/scripts/mariadb.sh" stop "$T/db" >/dev/null 2>&1
    if [ "$rc" -ne 0 ] && grep -q '\[ERROR\]' "$T/db/error.log" 2>/dev/null; then
        echo "bench: the server's last errors:" >&2
        grep '\[ERROR\]' "$T/db/error.log" | tail -5 >&2
    fi
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

cpu_ticks() { # utime + stime of a process, in clock ticks
    sed 's/^.*) //' "/proc/$1/stat" 2>/dev/null | awk '{print $12 + $13}' || echo 0
}

sys_cpu() { # all CPUs: "total idle" jiffies
    awk '/^cpu /{print $2+$3+$4+$5+$6+$7+$8+$9, $5+$6}' /proc/stat
}

vmhwm_kib() {
    awk '/^VmHWM:/{print $2}' "/proc/$1/status" 2>/dev/null || echo 0
}

metrics_snapshot() { # request counters by status (not /metrics itself) and the retries
    curl -s --max-time 10 "$URL/metrics" |
        awk '/^cqrsd_http_requests_total\{/ && !/route="\/metrics"/ {
                 match($0, /status="[^"]*"/); s = substr($0, RSTART + 8, RLENGTH - 9)
                 n[s] += $NF }
             /^cqrsd_command_retries_total / { print "retries", $NF }
             END { for (s in n) print "status_" s, n[s] }'
}

status_diff() { # BEFORE AFTER -> {"200": n, ...} and "retries"
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
MARIADB_TUNING="$MARIADB_TUNING --ssl-ca=$T/tls/ca.pem --ssl-cert=$T/tls/server.pem --ssl-key=$T/tls/server.key"

DB_PORT=$(free_port)
HTTP_PORT=$(free_port)
while [ "$HTTP_PORT" = "$DB_PORT" ]; do HTTP_PORT=$(free_port); done
[ "$DB_PORT" != 0 ] && [ "$HTTP_PORT" != 0 ] || die "no free port"
if ! MARIADB_OPTS="$MARIADB_TUNING" sh scripts/mariadb.sh start "$T/db" "$DB_PORT" \
    >"$T/mariadb.out" 2>&1; then
    cat "$T/mariadb.out" >&2
    die "the private MariaDB did not start"
fi
DB_PID=$(cat "$T/db/mariadbd.pid")
DB_VARS=$(SQL_DB= sqlq "SELECT JSON_OBJECT('version', VERSION(),
    'innodb_flush_log_at_trx_commit', CONCAT(@@innodb_flush_log_at_trx_commit),
    'innodb_buffer_pool_size', CONCAT(@@innodb_buffer_pool_size),
    'innodb_log_file_size', CONCAT(@@innodb_log_file_size),
    'innodb_log_buffer_size', CONCAT(@@innodb_log_buffer_size),
    'innodb_flush_method', CONCAT(@@innodb_flush_method),
    'innodb_doublewrite', CONCAT(@@innodb_doublewrite),
    'log_bin', CONCAT(@@log_bin), 'max_connections', CONCAT(@@max_connections),
    'thread_handling', CONCAT(@@thread_handling), 'query_cache_type', CONCAT(@@query_cache_type),
    'have_ssl', CONCAT(@@have_ssl))" 2>/dev/null) ||
    die "cannot read the server's settings"
echo "mariadb: $(echo "$DB_VARS" | jq -r '.version') on 127.0.0.1:$DB_PORT (TCP), data in $T/db"
echo "  $(echo "$DB_VARS" | jq -r 'del(.version) | to_entries | map("\(.key)=\(.value)") | join(" ")')"
[ "$(echo "$DB_VARS" | jq -r '.innodb_flush_log_at_trx_commit')" = 1 ] ||
    die "innodb_flush_log_at_trx_commit is not 1"

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
while [ "$HTTP_PORT_TLS" = "$DB_PORT" ] || [ "$HTTP_PORT_TLS" = "$HTTP_PORT" ]; do HTTP_PORT_TLS=$(free_port); done
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
        [ "$p" = "${HTTP_PORT_HS:-}" ]; do p=$(free_port); done
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

#=== Measurements ===

ERRORS=() # problems that make the run fail

run_wrk() { # NAME CONNECTIONS SCRIPT [ARGS...]: one measured wrk run -> $T/NAME.json
    local name=$1 conns=$2 script=$3 d0 d1 b0 b1 s0 s1 rc wj st
    shift 3
    metrics_snapshot >"$T/$name.m0"
    d0=$(cpu_ticks "$daemon_pid")
    b0=$(cpu_ticks "$DB_PID")
    s0=$(sys_cpu)
    local TIMEFORMAT='%R %U %S'
    { time BENCH_CONNECTIONS=$conns wrk -t"$WRK_THREADS" -c"$conns" -d"${SECS}s" --timeout 10s \
        -s "$here/wrk/$script" "$URL" -- "$@" >"$T/$name.out" 2>&1; } 2>"$T/$name.time"
    rc=$?
    s1=$(sys_cpu)
    d1=$(cpu_ticks "$daemon_pid")
    b1=$(cpu_ticks "$DB_PID")
    metrics_snapshot >"$T/$name.m1"
    wj=$(sed -n 's/^BENCH //p' "$T/$name.out")
    if [ $rc -ne 0 ] || [ -z "$wj" ]; then
        cat "$T/$name.out" >&2
        die "wrk failed in $name"
    fi
    st=$(status_diff "$T/$name.m0" "$T/$name.m1")
    jq -n --argjson w "$wj" --argjson st "$st" --argjson conns "$conns" --argjson ncpu "$NCPU" \
        --argjson d "$(((d1 - d0)))" --argjson b "$(((b1 - b0)))" --argjson clk "$CLK" \
        --arg s0 "$s0" --arg s1 "$s1" --arg tm "$(cat "$T/$name.time")" '
        ($s0 | split(" ") | map(tonumber)) as $a | ($s1 | split(" ") | map(tonumber)) as $z |
        ($tm | split(" ") | map(tonumber)) as $t |
        ($w.duration_us / 1e6) as $secs |
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
          statuses_from_metrics: ($st | del(.retries)), retries: ($st.retries // 0),
          daemon_cpu_s: ($d / $clk), mariadb_cpu_s: ($b / $clk),
          load_generator_cpu_s: ($t[1] + $t[2]),
          load_generator_cpu_s_per_1000: (if $w.requests > 0 then ($t[1] + $t[2]) / $w.requests * 1000 else null end),
          cpu_s_per_1000: (if $w.requests > 0 then ($d / $clk + $b / $clk + $t[1] + $t[2]) / $w.requests * 1000 else null end),
          daemon_cpu_s_per_1000: (if $w.requests > 0 then $d / $clk / $w.requests * 1000 else null end),
          mariadb_cpu_s_per_1000: (if $w.requests > 0 then $b / $clk / $w.requests * 1000 else null end),
          machine_busy_pct: (100 * (1 - (($z[1] - $a[1]) / ($z[0] - $a[0])))),
          other_processes_pct: (100 * (((($z[0] - $a[0]) - ($z[1] - $a[1])) / $clk
              - $d / $clk - $b / $clk - $t[1] - $t[2]) / ($ncpu * $t[0])) | if . < 0 then 0 else . end) }' >"$T/$name.json"
    # every answer must be a success: anything else is a daemon error
    local bad
    bad=$(jq -r '[(.statuses_from_metrics | to_entries[] | select((.key | tonumber? // 0) >= 400 or (.key | tonumber? // 0) < 200) | "\(.value)x\(.key)"), (if .non_2xx_3xx > 0 then "\(.non_2xx_3xx) non-2xx/3xx (wrk)" else empty end), (.socket_errors | to_entries[] | select(.value > 0) | "\(.value) socket \(.key) errors")] | join(", ")' "$T/$name.json")
    [ -n "$bad" ] && ERRORS+=("$name: $bad")
    printf '  %-22s %9.1f req/s  p50 %7.2f ms  p99 %7.2f ms  %s\n' "$name" \
        "$(jq -r .rps "$T/$name.json")" "$(jq -r .p50_ms "$T/$name.json")" \
        "$(jq -r .p99_ms "$T/$name.json")" "${bad:+ERRORS: $bad}"
}

run_sysbench() { # NAME THREADS SCRIPT ACCOUNT: one measured sysbench run -> $T/NAME.json
    local name=$1 threads=$2 script=$3 account=$4 d0 d1 b0 b1 s0 s1 rc
    d0=$(cpu_ticks "$daemon_pid")
    b0=$(cpu_ticks "$DB_PID")
    s0=$(sys_cpu)
    local TIMEFORMAT='%R %U %S'
    { time LUA_PATH="$here/sysbench/?.lua;;" sysbench --db-driver=mysql \
        --mysql-host=127.0.0.1 --mysql-port="$DB_PORT" --mysql-user="$account" \
        --mysql-password="$account" --mysql-db=cqrs --mysql-ignore-errors=1213,1205 \
        --threads="$threads" --time="$SECS" --events=0 --percentile=99 --histogram=on \
        --report-interval=0 "$here/sysbench/$script" run >"$T/$name.out" 2>&1; } 2>"$T/$name.time"
    rc=$?
    s1=$(sys_cpu)
    d1=$(cpu_ticks "$daemon_pid")
    b1=$(cpu_ticks "$DB_PID")
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
        --argjson clk "$CLK" --arg s0 "$s0" --arg s1 "$s1" --arg tm "$(cat "$T/$name.time")" '
        ($s0 | split(" ") | map(tonumber)) as $a | ($s1 | split(" ") | map(tonumber)) as $z |
        ($tm | split(" ") | map(tonumber)) as $t |
        { tool: "sysbench", threads: $threads, ops: .events, seconds: .seconds,
          ops_per_s: (.events / .seconds), p50_ms: .p50_ms, p99_ms: .p99_ms,
          p99_ms_sysbench: .p99_ms_sysbench, avg_ms: .avg_ms, max_ms: .max_ms,
          ignored_errors: .ignored_errors, reconnects: .reconnects,
          mariadb_cpu_s: ($b / $clk), load_generator_cpu_s: ($t[1] + $t[2]),
          mariadb_cpu_s_per_1000: (if .events > 0 then $b / $clk / .events * 1000 else null end),
          load_generator_cpu_s_per_1000: (if .events > 0 then ($t[1] + $t[2]) / .events * 1000 else null end),
          cpu_s_per_1000: (if .events > 0 then ($b / $clk + $t[1] + $t[2]) / .events * 1000 else null end),
          daemon_cpu_s_idle: ($d / $clk),
          machine_busy_pct: (100 * (1 - (($z[1] - $a[1]) / ($z[0] - $a[0])))),
          other_processes_pct: (100 * (((($z[0] - $a[0]) - ($z[1] - $a[1])) / $clk
              - $d / $clk - $b / $clk - $t[1] - $t[2]) / ($ncpu * $t[0])) | if . < 0 then 0 else . end) }' \
        "$T/$name.sb" >"$T/$name.json"
    printf '  %-22s %9.1f ops/s  p50 %7.2f ms  p99 %7.2f ms%s\n' "$name" \
        "$(jq -r .ops_per_s "$T/$name.json")" "$(jq -r .p50_ms "$T/$name.json")" \
        "$(jq -r .p99_ms "$T/$name.json")" \
        "$(jq -r 'if .ignored_errors > 0 then "  (\(.ignored_errors) deadlocks/lock waits retried)" else "" end' "$T/$name.json")"
}

echo "measuring: ${SECS} s per run, wrk -t$WRK_THREADS, sysbench over TCP; each workload" \
    "through cqrsd, then the same SQL without it"
# warm-up (not measured): every worker thread connects and prepares its statements
for u in "$URL" "$URL_TLS" "$URL_HS" "$URL_ES"; do
    wrk -t"$WRK_THREADS" -c64 -d"$((SECS < 3 ? SECS : 3))s" -s "$here/wrk/get_product.lua" "$u" -- \
        "$T/products.ids" >"$T/warmup.out" 2>&1 || die "wrk warm-up failed ($u)"
done

run_wrk get16_cqrsd 16 get_product.lua "$T/products.ids"
tls run_wrk get16_tls 16 get_product.lua "$T/products.ids"
run_sysbench get16_db 16 point_select.lua cqrs_reader
run_wrk get64_cqrsd 64 get_product.lua "$T/products.ids"
VMHWM_64=$(vmhwm_kib "$daemon_pid")
tls run_wrk get64_tls 64 get_product.lua "$T/products.ids"
run_sysbench get64_db 64 point_select.lua cqrs_reader
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
    if [ $a = hs256 ]; then u=$URL_HS; else u=$URL_ES; fi
    curl -s "$u/metrics" >"$T/$a.metrics"
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
} | jq -s . >"$T/workloads.json"
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
    --slurpfile jwt "$T/jwt.json" --argjson jwtn "$JWT_CUSTOMERS" \
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
                  mariadb_options: ("scripts/mariadb.sh defaults (--skip-log-bin --max-connections=1000 utf8mb4) + " + $opts),
                  mariadb: $db, min_stock_after: $minstock },
      seeding: $seed,
      workloads: $wl,
      event_positions: $positions[0],
      tls: { note: "the same daemon with ssl-mode=required (TLS over TCP) against ssl-mode=disabled; ratio = TLS req/s / clear-text req/s",
             tls_handshakes_finished_by_the_server: $tlssessions, daemon_connections: $dconns, workloads: $tls[0] },
      jwt: { note: "GET /queries/customers/{id}: each request as that customer with its own JWT (\($jwtn) customers, one token each), against the same GET on a daemon without credentials; ratio = JWT req/s / open req/s",
             workloads: $jwt[0] },
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
          want: 32768, got: $hwm64, met: ($hwm64 <= 32768) } ],
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
    (["workload", "conns", "| cqrsd", "mariadb", "wrk", "sum", "busy %", "others %",
      "| db-only: mariadb", "sysbench", "sum", "busy %", "others %"] | @tsv),
    (.workloads[] | [.workload, .connections, "| " + f(.cqrsd.daemon_cpu_s_per_1000; 3),
      f(.cqrsd.mariadb_cpu_s_per_1000; 3), f(.cqrsd.load_generator_cpu_s_per_1000; 3),
      f(.cqrsd.cpu_s_per_1000; 3), f(.cqrsd.machine_busy_pct; 0),
      f(.cqrsd.other_processes_pct; 0),
      "| " + f(.db_only.mariadb_cpu_s_per_1000; 3), f(.db_only.load_generator_cpu_s_per_1000; 3),
      f(.db_only.cpu_s_per_1000; 3), f(.db_only.machine_busy_pct; 0),
      f(.db_only.other_processes_pct; 0)]
      | @tsv)' build/bench.json | align
echo "(when the cores are saturated, ratio ~ db-only sum / cqrsd sum: the daemon's CPU is taken from MariaDB's)"
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
jq -r '"cqrsd peak RSS (VmHWM): \(.daemon.vmhwm_kib_after_get64) KiB after the 64-connection run, \(.daemon.vmhwm_kib_at_end) KiB at the end"' build/bench.json
jq -r '.event_positions | "gap-free event positions: the database-only PlaceOrder transaction at 16 threads ran \(.gap_free_ops_per_s | round) ops/s (p99 \(.gap_free_p99_ms) ms) with them, \(.auto_increment_ops_per_s | round) ops/s (p99 \(.auto_increment_p99_ms) ms) with an AUTO_INCREMENT position instead: they cost \(.cost_pct * 10 | round / 10) %"' build/bench.json
jq -r '"seeding: \(.seeding.commands_per_second | round) commands/s (\(.seeding.products) products, \(.seeding.customers) customers)"' build/bench.json
jq -r '.workloads[] | select(.cqrsd.retries > 0 or .db_only.ignored_errors > 0) |
    "retried: \(.workload): cqrsd \(.cqrsd.retries) deadlock/lock-wait retries, sysbench \(.db_only.ignored_errors)"' build/bench.json
echo
echo "Targets:"
jq -r '.targets[] | "  \(if .met then "MET   " else "MISSED" end) \(.target): \(if .got == null then "-" elif .want > 100 then "\(.got) KiB" else (.got * 100 | round / 100 | tostring) end)"' build/bench.json
jq -r '.workloads[] | . as $w | [["cqrsd", .cqrsd], ["db-only", .db_only]][] |
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

#!/usr/bin/env bash
# 04_lifecycle.sh - OPERATING.md's command line and life cycle: --help,
# --version, bad options (exit 2, one line), flag over environment, serving
# while the database is down, recovering when it comes back without a
# restart, SIGTERM (in-flight requests finish, exit 0, bounded at 10 s).
. "$(dirname "$0")/lib.sh"

# the options of OPERATING.md's table: flag and environment variable
OPTIONS='--listen CQRSD_LISTEN
--write-dsn CQRSD_WRITE_DSN
--read-dsn CQRSD_READ_DSN
--admin-dsn CQRSD_ADMIN_DSN
--threads CQRSD_THREADS
--max-body CQRSD_MAX_BODY
--command-token-file CQRSD_COMMAND_TOKEN_FILE
--cors-origins CQRSD_CORS_ORIGINS
--log-format CQRSD_LOG_FORMAT'

db_down=no
lock_pids=""
cleanup() {
    [ "$db_down" = yes ] && db_start
    for m in t04-lock-a t04-lock-b; do release_lock "$m"; done
    for p in $lock_pids; do kill "$p" 2>/dev/null; done
}
trap cleanup EXIT

# lib.sh's get/post leave $B and $H as they were when no answer comes
eval "lib_$(declare -f post)"
eval "lib_$(declare -f get)"
post() { : >"$B"; : >"$H"; lib_post "$@"; }
get() { : >"$B"; : >"$H"; lib_get "$@"; }

# is_problem NAME STATUS TYPE GOT_STATUS: the last response is that problem+json
is_problem() {
    local name=$1 status=$2 type=$3 got=$4
    check "$name status" "$status" "$got"
    check_match "$name content-type" '^application/problem\+json' "$(hdr Content-Type)"
    check "$name type" "$type" "$(jqb .type 2>/dev/null)"
    check "$name body status" "$status" "$(jq -r '.status | numbers' "$B" 2>/dev/null)"
    check_match "$name title" '^.+$' "$(jq -r '.title | strings' "$B" 2>/dev/null)"
    check "$name detail is a string" string "$(jq -r '.detail | type' "$B" 2>/dev/null)"
}

# unavailable NAME GOT_STATUS: 503 database-unavailable with Retry-After
unavailable() {
    is_problem "$1" 503 database-unavailable "$2"
    check_match "$1 Retry-After" '^[0-9]+$' "$(hdr Retry-After)"
}

# stop_checked NAME: stop_daemon NAME in this shell (its wait needs the
# daemon to be our child), killed after 30 s; sets stop_rc and stop_ms
stop_checked() {
    local pid t0 dog
    pid=$(cat "$T/daemon-$1.pid")
    t0=$(date +%s%N)
    (
        sleep 30 &
        s=$!
        trap 'kill $s 2>/dev/null; exit 0' TERM
        wait $s
        kill -9 "$pid" 2>/dev/null
    ) &
    dog=$!
    stop_daemon "$1" >"$T_CASE/stop-$1.rc"
    kill "$dog" 2>/dev/null
    wait "$dog" 2>/dev/null
    stop_rc=$(cat "$T_CASE/stop-$1.rc")
    stop_ms=$((($(date +%s%N) - t0) / 1000000))
}

# cli NAME [args...]: run the binary (bounded: a wrongly started server is
# killed after 5 s); status in cli_rc, output in $T_CASE/cli.{out,err}
cli() {
    timeout 5 "$CQRSD_BIN" "$@" >"$T_CASE/cli.out" 2>"$T_CASE/cli.err"
    cli_rc=$?
}

# bad_cli NAME WORD [args...]: exit 2, nothing on stdout, exactly one line on
# stderr that names WORD
bad_cli() {
    local name=$1 word=$2
    shift 2
    cli --listen "127.0.0.1:$(free_port)" "$@"
    check "$name: exit 2" 2 "$cli_rc"
    check "$name: one line on stderr" 1 "$(grep -c '' "$T_CASE/cli.err")"
    check "$name: nothing on stdout" "" "$(cat "$T_CASE/cli.out")"
    check_match "$name: the message names $word" "$word" "$(cat "$T_CASE/cli.err")"
}

# processlist_id MARK: the server session whose running statement holds MARK
processlist_id() {
    sql "SELECT ID FROM information_schema.PROCESSLIST
          WHERE INFO LIKE '%$1%' AND ID <> CONNECTION_ID() LIMIT 1"
}
# release_lock MARK: end the root session that holds the lock (its
# transaction rolls back, the lock goes)
release_lock() {
    local id
    id=$(processlist_id "$1")
    [ -n "$id" ] && sql "KILL $id" 2>/dev/null
}
# sql_bg MARK STATEMENT: run STATEMENT as root in the background (its pid in
# $bg_pid), then wait until the server runs the statement marked MARK
sql_bg() {
    local mark=$1
    mariadb --no-defaults -uroot --socket="$DB_DIR/s.sock" -N -B cqrs -e "$2" >/dev/null 2>&1 &
    bg_pid=$!
    lock_pids="$lock_pids $bg_pid"
    for _ in $(seq 1 100); do
        [ -n "$(processlist_id "$mark")" ] && return 0
        sleep 0.05
    done
    echo "FAIL sql_bg: '$mark' never ran"
    fail=$((fail + 1))
}

# wait_lock_wait: until the writer's UPDATE of event_head runs (it waits
# there for the row lock that sql_bg holds), bounded 10 s
wait_lock_wait() {
    for _ in $(seq 1 200); do
        [ "$(sql "SELECT COUNT(*) FROM information_schema.PROCESSLIST
                   WHERE USER = 'cqrs_writer' AND INFO LIKE 'UPDATE event_head%'")" -ge 1 ] && return 0
        sleep 0.05
    done
    return 1
}

create_json() { # create_json SKU: a valid CreateProduct envelope
    echo "{\"type\":\"CreateProduct\",\"data\":{\"sku\":\"$1\",\"name\":\"Life cycle\",\"category\":\"life-$1\",\"price_cents\":100,\"stock\":10}}"
}

#=== --help and --version ===

cli --help
check "--help exits 0" 0 "$cli_rc"
while read -r flag env; do
    check_match "--help lists $flag with $env" "(^|[[:space:]])$flag([[:space:]=,].*)?[[:space:]]$env([[:space:]]|$)" \
        "$(grep -E -- "(^|[[:space:]])$flag([[:space:]=,]|$)" "$T_CASE/cli.out")"
done <<<"$OPTIONS"
check_match "--help names the subcommands" 'migrate' "$(cat "$T_CASE/cli.out")"
cli --version
check "--version exits 0" 0 "$cli_rc"
check_match "--version prints the version" '^cqrsd [0-9]+\.[0-9]+(\.[0-9]+)?' "$(head -1 "$T_CASE/cli.out")"
check "--version prints nothing on stderr" "" "$(cat "$T_CASE/cli.err")"

#=== bad options: exit 2 with one line ===

bad_cli "unknown option" '--no-such-option' --no-such-option
bad_cli "unknown option with a value" '--frobnicate' --frobnicate 3
bad_cli "unknown subcommand" 'frobnicate' frobnicate
bad_cli "bad write DSN" 'write-dsn' --write-dsn nonsense
bad_cli "bad read DSN" 'read-dsn' --read-dsn 'mysql://nobody@/cqrs'
bad_cli "bad DSN port" 'write-dsn' --write-dsn 'mysql://u:p@127.0.0.1:99999/cqrs'
bad_cli "DSN without database part" 'write-dsn' --write-dsn 'mysql://u:p@127.0.0.1:3306'
bad_cli "--threads 0" 'threads' --threads 0
bad_cli "--threads x" 'threads' --threads x
bad_cli "--threads -1" 'threads' --threads -1
bad_cli "--threads 4x" 'threads' --threads 4x
bad_cli "--threads empty" 'threads' --threads ''
bad_cli "--max-body abc" 'max-body' --max-body abc
bad_cli "--log-format xml" 'log-format' --log-format xml
bad_cli "--log-format empty" 'log-format' --log-format ''
bad_cli "--threads without a value" 'threads' --threads
bad_cli "--listen without a port" 'listen' --listen nonsense
CQRSD_THREADS=x bad_cli "CQRSD_THREADS=x" 'CQRSD_THREADS'
CQRSD_LOG_FORMAT=yaml bad_cli "CQRSD_LOG_FORMAT=yaml" 'CQRSD_LOG_FORMAT'
CQRSD_WRITE_DSN=nonsense bad_cli "CQRSD_WRITE_DSN=nonsense" 'CQRSD_WRITE_DSN'

#=== a flag wins over the environment ===

p1=$(free_port)
p2=$(free_port)
while [ "$p2" = "$p1" ]; do p2=$(free_port); done
if CQRSD_LISTEN="127.0.0.1:$p1" CQRSD_CORS_ORIGINS=https://env.example CQRSD_MAX_BODY=200 \
    CQRSD_LOG_FORMAT=text start_daemon flags "$p2" --cors-origins https://flag.example \
    --log-format json --threads 2; then
    URL_BASE="http://127.0.0.1:$p2"
    check "listens on the flag's port" 200 "$(get /healthz)"
    check "not on the environment's port" 000 \
        "$(curl -s -o /dev/null -w '%{http_code}' --max-time 2 "http://127.0.0.1:$p1/healthz")"
    get /healthz -H 'Origin: https://flag.example' >/dev/null
    check "--cors-origins beats CQRSD_CORS_ORIGINS" https://flag.example "$(hdr Access-Control-Allow-Origin)"
    get /healthz -H 'Origin: https://env.example' >/dev/null
    check "the environment's origin is not used" "" "$(hdr Access-Control-Allow-Origin)"
    # an option given only in the environment applies
    is_problem "CQRSD_MAX_BODY=200 applies" 413 payload-too-large \
        "$(cmd "{\"type\":\"CreateProduct\",\"data\":{\"name\":\"$(head -c 300 /dev/zero | tr '\0' n)\"}}")"
    get /healthz -H 'X-Request-Id: t04-json-log' >/dev/null
    unset URL_BASE
    stop_checked flags
    check "flags daemon exits 0" 0 "$stop_rc"
    line=$(grep -F 't04-json-log' "$T/daemon-flags.log" | head -1)
    check "--log-format json beats CQRSD_LOG_FORMAT: the request line is JSON" object \
        "$(echo "$line" | jq -r type 2>/dev/null)"
else
    fail=$((fail + 1))
fi

#=== serving while the database is down ===

closed=$(free_port)
nport=$(free_port)
if start_daemon nodb "$nport" --threads 2 \
    --write-dsn "mysql://cqrs_writer:cqrs_writer@127.0.0.1:$closed/cqrs" \
    --read-dsn "mysql://cqrs_reader:cqrs_reader@127.0.0.1:$closed/cqrs"; then
    URL_BASE="http://127.0.0.1:$nport"
    check "no database: /healthz" 200 "$(get /healthz)"
    check "no database: /healthz body" ok "$(jqb .status)"
    unavailable "no database: /readyz" "$(get /readyz)"
    check_match "no database: /readyz names the write account" 'write' "$(jqb .detail)"
    check_match "no database: /readyz names the read account" 'read' "$(jqb .detail)"
    unavailable "no database: GET /queries/products/1" "$(get /queries/products/1)"
    unavailable "no database: GET /queries/products" "$(get /queries/products)"
    unavailable "no database: GET /queries/events" "$(get /queries/events)"
    unavailable "no database: POST /commands" "$(cmd "$(create_json "nodb-$(uniq_id)")")"
    # validation still answers first: it needs no database
    is_problem "no database: a bad command is still 422" 422 validation-failed \
        "$(cmd '{"type":"CreateProduct","data":{}}')"
    unset URL_BASE
    stop_checked nodb
    check "no-database daemon exits 0" 0 "$stop_rc"
else
    fail=$((fail + 1))
fi
# only the read account unreachable: /readyz names it
nport=$(free_port)
if start_daemon noread "$nport" --threads 2 \
    --read-dsn "mysql://cqrs_reader:cqrs_reader@127.0.0.1:$closed/cqrs"; then
    URL_BASE="http://127.0.0.1:$nport"
    unavailable "read account down: /readyz" "$(get /readyz)"
    check_match "read account down: /readyz names the read account" 'read' "$(jqb .detail)"
    check "read account down: /readyz does not blame the write account" "" \
        "$(jqb .detail | grep -i 'write')"
    unavailable "read account down: a query" "$(get /queries/products/1)"
    unset URL_BASE
    stop_checked noread
    check "read-down daemon exits 0" 0 "$stop_rc"
else
    fail=$((fail + 1))
fi

#=== the shared database goes away and comes back ===

sku="life-$(uniq_id)"
check "create a product before the outage" 201 "$(cmd "$(create_json "$sku")")"
pid=$(jqb .aggregate_id)
check "query it before the outage" 200 "$(get "/queries/products/$pid")"
db_down=yes
db_stop
unavailable "database stopped: /readyz" "$(get /readyz)"
check "database stopped: /healthz" 200 "$(get /healthz)"
unavailable "database stopped: a query" "$(get "/queries/products/$pid")"
unavailable "database stopped: a query again" "$(get "/queries/products/$pid")"
unavailable "database stopped: a command" "$(cmd "$(create_json "down-$(uniq_id)")")"
check "database stopped: the daemon still runs" yes \
    "$(kill -0 "$(cat "$T/daemon-main.pid")" 2>/dev/null && echo yes || echo no)"
db_start
db_down=no
t0=$(date +%s%N)
ready=000
for _ in $(seq 1 160); do
    ready=$(get /readyz)
    [ "$ready" = 200 ] && break
    [ $((($(date +%s%N) - t0) / 1000000)) -gt 8000 ] && break
    sleep 0.05
done
ms=$((($(date +%s%N) - t0) / 1000000))
check "database back: /readyz 200 without a restart" 200 "$ready"
check "database back: /readyz 200 within 5 s" yes "$([ $ms -le 5000 ] && echo yes || echo "no (${ms} ms)")"
check "database back: /readyz body" ready "$(jqb .status)"
# every worker thread, not only the one that answered: both accounts answer
# again, so /readyz stays 200 (new connections land on all the threads)
ok=0
for _ in $(seq 1 24); do
    [ "$(get /readyz)" = 200 ] && ok=$((ok + 1))
done
check "database back: 24 /readyz in a row answer 200" 24 "$ok"
ok=0
for _ in $(seq 1 16); do
    [ "$(get "/queries/products/$pid")" = 200 ] && ok=$((ok + 1))
done
check "database back: 16 queries in a row answer 200" 16 "$ok"
check "database back: the product" "$sku" "$(jqb .sku)"
sku2="back-$(uniq_id)"
check "database back: a command" 201 "$(cmd "$(create_json "$sku2")")"
pid2=$(jqb .aggregate_id)
check "database back: its product" "$sku2" "$(get "/queries/products/$pid2" >/dev/null; jqb .sku)"
check "database back: same daemon process" yes \
    "$(kill -0 "$(cat "$T/daemon-main.pid")" 2>/dev/null && echo yes || echo no)"

#=== SIGTERM ===

# idle: exits 0 at once
tport=$(free_port)
if start_daemon idle "$tport" --threads 2; then
    stop_checked idle
    check "SIGTERM idle: exit 0" 0 "$stop_rc"
    check "SIGTERM idle: within 10 s" yes "$([ $stop_ms -le 10000 ] && echo yes || echo "no (${stop_ms} ms)")"
    check "SIGTERM idle: the port is closed" 000 \
        "$(curl -s -o /dev/null -w '%{http_code}' --max-time 2 "http://127.0.0.1:$tport/healthz")"
else
    fail=$((fail + 1))
fi

# a command in flight (waiting on the event_head row lock, released just
# after SIGTERM) is finished and answered
tport=$(free_port)
if start_daemon inflight "$tport" --threads 2; then
    sql_bg t04-lock-a "BEGIN; SELECT position FROM event_head WHERE id = 1 FOR UPDATE;
                       SELECT SLEEP(30), 't04-lock-a'; COMMIT"
    lock_a=$bg_pid
    sku3="term-$(uniq_id)"
    curl -s -o "$T_CASE/inflight.body" -w '%{http_code}' --max-time 40 \
        -H 'Content-Type: application/json' --data-binary "$(create_json "$sku3")" \
        "http://127.0.0.1:$tport/commands" >"$T_CASE/inflight.status" &
    inflight=$!
    check "SIGTERM in flight: the command waits on the lock" yes "$(wait_lock_wait && echo yes || echo no)"
    t0=$(date +%s%N)
    kill -TERM "$(cat "$T/daemon-inflight.pid")"
    refused=no
    for _ in $(seq 1 20); do
        if [ "$(curl -s -o /dev/null -w '%{http_code}' --max-time 1 "http://127.0.0.1:$tport/healthz")" = 000 ]; then
            refused=yes
            break
        fi
        sleep 0.05
    done
    check "SIGTERM in flight: new connections are no longer served" yes "$refused"
    check "SIGTERM in flight: the request is still in flight then" yes \
        "$(kill -0 $inflight 2>/dev/null && echo yes || echo no)"
    release_lock t04-lock-a
    stop_checked inflight
    stop_ms=$((($(date +%s%N) - t0) / 1000000))
    wait $inflight
    wait "$lock_a" 2>/dev/null
    check "SIGTERM in flight: exit 0" 0 "$stop_rc"
    check "SIGTERM in flight: within 10 s" yes "$([ $stop_ms -le 10000 ] && echo yes || echo "no (${stop_ms} ms)")"
    check "SIGTERM in flight: the command was answered" 201 "$(cat "$T_CASE/inflight.status")"
    check "SIGTERM in flight: its answer" "$sku3" \
        "$(get "$(jq -r '.aggregate_id | "/queries/products/\(.)"' "$T_CASE/inflight.body" 2>/dev/null)" >/dev/null; jqb .sku)"
else
    fail=$((fail + 1))
fi

# a request stuck longer than the grace period (the lock is held 15 s): the
# daemon still exits 0 within the 10 s bound (checked with 1 s of slack)
tport=$(free_port)
if start_daemon stuck "$tport" --threads 2; then
    sql_bg t04-lock-b "BEGIN; SELECT position FROM event_head WHERE id = 1 FOR UPDATE;
                       SELECT SLEEP(15), 't04-lock-b'; COMMIT"
    lock_b=$bg_pid
    curl -s -o /dev/null -w '%{http_code}' --max-time 40 \
        -H 'Content-Type: application/json' --data-binary "$(create_json "stuck-$(uniq_id)")" \
        "http://127.0.0.1:$tport/commands" >"$T_CASE/stuck.status" &
    stuck=$!
    check "SIGTERM with a stuck request: the command waits on the lock" yes "$(wait_lock_wait && echo yes || echo no)"
    stop_checked stuck
    check "SIGTERM with a stuck request: exit 0" 0 "$stop_rc"
    check "SIGTERM with a stuck request: within 10 s" yes \
        "$([ $stop_ms -le 11000 ] && echo yes || echo "no (${stop_ms} ms)")"
    release_lock t04-lock-b
    wait "$lock_b" 2>/dev/null
    wait "$stuck" 2>/dev/null
else
    fail=$((fail + 1))
fi

# SIGTERM while keep-alive connections keep sending requests (wrk: each
# connection sends its next request the moment the last is answered): after
# the daemon stops accepting, a kept-alive connection may still bring one,
# which must not be suspended (libmicrohttpd aborts MHD_stop_daemon then:
# "called while we have suspended connections", exit 134)
command -v wrk >/dev/null || apt_install wrk
tport=$(own_port)
if command -v wrk >/dev/null && start_daemon keepalive "$tport" --threads 2; then
    create_json "ka-$(uniq_id)" >"$T_CASE/ka.json"
    cat >"$T_CASE/ka.lua" <<LUA
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
local f = io.open("$T_CASE/ka.json") wrk.body = f:read("*a") f:close()
LUA
    # few connections and short requests: in_flight often falls to 0 between
    # two requests of a connection, the window of the race
    curl -s -o /dev/null -H 'Content-Type: application/json' --data-binary @"$T_CASE/ka.json" \
        "http://127.0.0.1:$tport/commands"
    ka_id=$(sql "SELECT id FROM products WHERE sku = '$(jq -r .data.sku "$T_CASE/ka.json")'")
    wrk -t1 -c2 -d6s -s "$T_CASE/ka.lua" "http://127.0.0.1:$tport/commands" >"$T_CASE/ka-post.out" 2>&1 &
    ka_post=$!
    wrk -t1 -c2 -d6s "http://127.0.0.1:$tport/queries/products/$ka_id" >"$T_CASE/ka-get.out" 2>&1 &
    ka_get=$!
    sleep 1.5
    stop_checked keepalive
    check "SIGTERM under keep-alive load: exit 0" 0 "$stop_rc"
    check "SIGTERM under keep-alive load: within 10 s" yes \
        "$([ $stop_ms -le 10000 ] && echo yes || echo "no (${stop_ms} ms)")"
    check "SIGTERM under keep-alive load: no fatal error in its log" "" \
        "$(grep -i 'fatal error' "$T/daemon-keepalive.log")"
    kill $ka_post $ka_get 2>/dev/null
    wait $ka_post $ka_get 2>/dev/null
else
    fail=$((fail + 1))
fi

check "the shared daemon is still ready" 200 "$(get /readyz)"
finish

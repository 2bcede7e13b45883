# lib.sh - sourced by every tests/integration/NN_*.sh.
# The driver (tests/run.sh) exports: BASE (the shared daemon), T_CASE (this
# script's own scratch directory), DB_PORT, DB_DIR, CQRSD_BIN (sanitizer
# build), CQRSD_RELEASE_BIN, and the CQRSD_*_DSN variables; in its replica
# pass also CQRSD_TEST_TOKENS=1, REPLICA_SET and CQRSD_REPLICA_DSN (below).
pass=0
fail=0
: "${T_CASE:=$(mktemp -d)}"
H="$T_CASE/headers"
B="$T_CASE/body"

check() { # check NAME WANT GOT
    if [ "$2" = "$3" ]; then
        pass=$((pass + 1))
    else
        fail=$((fail + 1))
        echo "FAIL $1: want '$2' got '$3'"
    fi
}

check_match() { # check_match NAME REGEX GOT
    if echo "$3" | grep -qE -- "$2"; then
        pass=$((pass + 1))
    else
        fail=$((fail + 1))
        echo "FAIL $1: want /$2/ got '$3'"
    fi
}

# The replica pass of tests/run.sh (the daemon reads from replicas) sets
# CQRSD_TEST_TOKENS=1: then post keeps the consistency_token of its last
# successful command in $T_CASE/consistency_token (a file: post runs in
# command substitutions), get sends it back as X-Consistency-Token, and a
# successful command's body without one is noted in $T/tokens.missing.
TOKEN_FILE="$T_CASE/consistency_token"
keep_token() { # keep_token PATH STATUS
    local tok
    case "$1 $2" in
    /commands\ 20[01] | /commands\?*\ 20[01]) ;;
    *) return 0 ;;
    esac
    tok=$(jq -r '.consistency_token // empty' "$B" 2>/dev/null)
    if [ -n "$tok" ]; then
        printf '%s' "$tok" >"$TOKEN_FILE"
    else
        echo "$(basename "$0") POST $1 $2: no consistency_token: $(head -c 300 "$B")" >>"${T:-$T_CASE}/tokens.missing"
    fi
}

# post PATH JSON [curl args...]: prints the status; headers in $H, body in $B
post() {
    local path=$1 body=$2 st rc
    shift 2
    st=$(curl -s -o "$B" -D "$H" -w '%{http_code}' -H 'Content-Type: application/json' \
        --data-binary "$body" "$@" "${URL_BASE:-$BASE}$path")
    rc=$?
    [ "${CQRSD_TEST_TOKENS:-}" = 1 ] && keep_token "$path" "$st"
    echo "$st"
    return $rc
}

# cmd JSON [curl args...]: POST /commands
cmd() {
    local body=$1
    shift
    post /commands "$body" "$@"
}

# get PATH [curl args...]: prints the status; headers in $H, body in $B
# (with the last command's consistency token in the replica pass)
get() {
    local path=$1
    shift
    if [ "${CQRSD_TEST_TOKENS:-}" = 1 ] && [ -s "$TOKEN_FILE" ]; then
        set -- -H "X-Consistency-Token: $(cat "$TOKEN_FILE")" "$@"
    fi
    curl -s -o "$B" -D "$H" -w '%{http_code}' "$@" "${URL_BASE:-$BASE}$path"
}

# replicas_caught_up: in the replica pass (REPLICA_SET: scripts/replicas.sh's
# directory), wait until every replica has applied all the primary has
# logged; for reads after writes whose tokens the script did not keep
# (commands sent by plain curl, concurrently). Elsewhere it does nothing.
replicas_caught_up() {
    [ -n "${REPLICA_SET:-}" ] || return 0
    sh "$(dirname "${BASH_SOURCE[0]}")/../../scripts/replicas.sh" sync "$REPLICA_SET" 30 ||
        { echo "FAIL replicas_caught_up: the replicas did not catch up in 30 s"; fail=$((fail + 1)); }
}

# hdr NAME: a response header's value from the last request (case-insensitive)
hdr() {
    grep -i "^$1:" "$H" | head -1 | sed -E 's/^[^:]+: ?//' | tr -d '\r'
}

# body: the last response body; jqb FILTER: jq over it
body() { cat "$B"; }
jqb() { jq -r "$1" "$B"; }

# sql STATEMENT: run as root on the test server (prints tab-separated rows)
sql() {
    mariadb --no-defaults -uroot --socket="$DB_DIR/s.sock" -N -B cqrs -e "$1"
}

# free_port: a free loopback port
free_port() {
    local p
    for _ in $(seq 1 200); do
        p=$((10000 + RANDOM % 20000)) # below the ephemeral range (32768+)
        if ! (echo >/dev/tcp/127.0.0.1/$p) 2>/dev/null; then
            echo $p
            return
        fi
    done
}

# own_port: a free port below the kernel's ephemeral range (a port of that
# range may be some client connection's local port, and then cannot be bound)
own_port() {
    local p low
    low=$(cut -f1 /proc/sys/net/ipv4/ip_local_port_range 2>/dev/null)
    for _ in $(seq 1 50); do
        p=$(free_port)
        [ "$p" -lt "${low:-32768}" ] && break
    done
    echo "$p"
}

# lock_row PRODUCT: a separate session holds the product's row lock until
# unlock_row (or until the database stops); its pid is in $lock_pid
lock_row() {
    local f="$T_CASE/lock.fifo"
    rm -f "$f" "$T_CASE/lock.out"
    mkfifo "$f"
    mariadb --no-defaults -uroot --socket="$DB_DIR/s.sock" -N -B -n cqrs <"$f" >"$T_CASE/lock.out" 2>&1 &
    lock_pid=$!
    exec 7>"$f"
    echo "BEGIN; SELECT id FROM products WHERE id = $1 FOR UPDATE; SELECT 'locked';" >&7
    for _ in $(seq 1 100); do
        grep -q '^locked$' "$T_CASE/lock.out" 2>/dev/null && return 0
        sleep 0.02
    done
    echo "FAIL lock_row $1: $(cat "$T_CASE/lock.out")"
    return 1
}
unlock_row() {
    (echo "ROLLBACK;" >&7) 2>/dev/null # a subshell: the session may be gone (SIGPIPE)
    exec 7>&-
    wait "$lock_pid" 2>/dev/null
    lock_pid=""
    rm -f "$T_CASE/lock.fifo"
}

# start_daemon NAME PORT [args...]: another daemon (sanitizer build) on PORT;
# waits until /healthz answers. Its log: $T/daemon-NAME.log.
start_daemon() {
    local name=$1 port=$2
    shift 2
    "$CQRSD_BIN" --listen "127.0.0.1:$port" "$@" >>"$T/daemon-$name.log" 2>&1 &
    echo $! >"$T/daemon-$name.pid"
    for _ in $(seq 1 100); do
        curl -s -o /dev/null "http://127.0.0.1:$port/healthz" && return 0
        sleep 0.1
    done
    echo "FAIL start_daemon $name: no answer on $port"
    return 1
}

# stop_daemon NAME: SIGTERM and wait; prints the exit status
stop_daemon() {
    local pid
    pid=$(cat "$T/daemon-$1.pid")
    kill -TERM "$pid" 2>/dev/null
    while kill -0 "$pid" 2>/dev/null; do sleep 0.05; done
    wait "$pid" 2>/dev/null
    echo $?
    rm -f "$T/daemon-$1.pid"
}

# db_stop / db_start: stop and start the test MariaDB (same data, same port)
db_stop() { sh "$(dirname "${BASH_SOURCE[0]}")/../../scripts/mariadb.sh" stop "$DB_DIR"; }
db_start() { sh "$(dirname "${BASH_SOURCE[0]}")/../../scripts/mariadb.sh" start "$DB_DIR" "$DB_PORT" >/dev/null; }

# async_settled: wait (at most 15 s) until no asynchronous command is queued
# or running (earlier scripts' commands would take event positions of their
# own); prints how many still are
async_settled() {
    local pending
    for _ in $(seq 1 150); do
        pending=$(sql "SELECT COUNT(*) FROM command_queue WHERE status IN ('queued', 'running')" 2>/dev/null)
        [ "${pending:-0}" = 0 ] && break
        sleep 0.1
    done
    echo "${pending:-0}"
}

# apt_install PACKAGE: Debian's package, with the lists refreshed when needed
# (the log: $T_CASE/apt.log)
apt_install() {
    DEBIAN_FRONTEND=noninteractive timeout 300 apt-get install -y -q -o DPkg::Lock::Timeout=120 --no-install-recommends "$1" \
        >>"$T_CASE/apt.log" 2>&1 && return 0
    timeout 300 apt-get update -q >>"$T_CASE/apt.log" 2>&1
    DEBIAN_FRONTEND=noninteractive timeout 300 apt-get install -y -q -o DPkg::Lock::Timeout=120 --no-install-recommends "$1" \
        >>"$T_CASE/apt.log" 2>&1
}

# uniq_id: a string unique to this run (for skus and emails)
uniq_id() { echo "$(date +%s%N | tail -c 10)$RANDOM"; }

finish() {
    echo "$pass passed, $fail failed"
    [ "$fail" -eq 0 ]
}

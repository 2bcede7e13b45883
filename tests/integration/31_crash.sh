#!/usr/bin/env bash
# 31_crash.sh - exactly-once under failure (API.md "Idempotency"): clients
# that retry keyed PlaceOrders until they get an answer see each order made
# exactly once, (1) when the daemon is killed with SIGKILL mid-load and a new
# one takes over the port, and (2) when the database stops mid-load and comes
# back: meanwhile the daemon answers 503 database-unavailable with
# Retry-After, keeps serving /healthz, is ready again within 5 s and is
# still the same process afterwards.
. "$(dirname "$0")/lib.sh"

U=$(uniq_id)
IDN='[1-9][0-9]*'
ID="^$IDN\$"
CLIENTS=8
PER_CLIENT=15
TOTAL=$((CLIENTS * PER_CLIENT))
DEADLINE=$((SECONDS + 75)) # the clients give up retrying after this

db_down=no
client_pids=""
cleanup() {
    local p
    for p in $client_pids; do kill "$p" 2>/dev/null; done
    [ "$db_down" = yes ] && db_start
    [ -f "$T/daemon-crash.pid" ] && stop_daemon crash >/dev/null
}
trap cleanup EXIT

#=== helpers ===

# mk_product SKU STOCK: create a product (no key); prints its id
mk_product() {
    local s
    s=$(cmd "{\"type\":\"CreateProduct\",\"data\":{\"sku\":\"$1\",\"name\":\"Crash\",\"category\":\"cat-$1\",\"price_cents\":100,\"stock\":$2}}")
    if [ "$s" = 201 ]; then jqb .aggregate_id; else echo "FAIL setup: CreateProduct $1: $s $(body)" >&2; fi
}

# mk_customer NAME: register a customer (no key); prints its id
mk_customer() {
    local s
    s=$(cmd "{\"type\":\"RegisterCustomer\",\"data\":{\"name\":\"$1\",\"email\":\"$1.$U@example.com\"}}")
    if [ "$s" = 201 ]; then jqb .aggregate_id; else echo "FAIL setup: RegisterCustomer $1: $s $(body)" >&2; fi
}

order_json() { # order_json CUSTOMER PRODUCT
    echo "{\"type\":\"PlaceOrder\",\"data\":{\"customer_id\":$1,\"items\":[{\"product_id\":$2,\"quantity\":1}]}}"
}

# osend OUT URL KEY JSON: one keyed command (5 s at most); prints the status
# (000: no answer), headers in OUT.hdr, body in OUT.body
osend() {
    : >"$1.hdr"
    : >"$1.body"
    curl -s --max-time 5 -o "$1.body" -D "$1.hdr" -w '%{http_code}' -H 'Content-Type: application/json' \
        -H "Idempotency-Key: $3" --data-binary "$4" "$2/commands"
}

# client DIR URL PREFIX C JSON GO: sends its 15 keyed commands PREFIX-C-1..15
# one after the other (DIR/C-N.first: the first status, .first.hdr,
# .first.body), waits for the file GO (30 s at most), then sends again with
# the same key every request that got no 2xx answer until it gets 201 (30
# tries each, 0.2 s apart). DIR/C-N.st: the last status (.hdr, .body);
# DIR/C-N.tries: how many retries it took.
client() {
    local d=$1 url=$2 pre=$3 c=$4 json=$5 go=$6 n f st tries
    for n in $(seq 1 $PER_CLIENT); do
        f="$d/$c-$n"
        st=$(osend "$f" "$url" "$pre-$c-$n" "$json")
        cp "$f.hdr" "$f.first.hdr"
        cp "$f.body" "$f.first.body"
        echo "$st" >"$f.st"
        echo "$st" >"$f.first"
    done
    for _ in $(seq 1 300); do
        [ -f "$go" ] && break
        sleep 0.1
    done
    for n in $(seq 1 $PER_CLIENT); do
        f="$d/$c-$n"
        st=$(cat "$f.st")
        tries=0
        case $st in 2??) ;; *)
            while [ "$st" != 201 ] && [ $tries -lt 30 ] && [ $SECONDS -lt "$DEADLINE" ]; do
                tries=$((tries + 1))
                st=$(osend "$f" "$url" "$pre-$c-$n" "$json")
                [ "$st" = 201 ] || sleep 0.2
            done
            echo "$st" >"$f.st"
            ;;
        esac
        echo "$tries" >"$f.tries"
    done
}

# start_clients DIR URL PREFIX JSON GO: the 8 clients in the background
start_clients() {
    local c
    client_pids=""
    mkdir -p "$1"
    for c in $(seq 1 $CLIENTS); do
        client "$1" "$2" "$3" "$c" "$4" "$5" &
        client_pids="$client_pids $!"
    done
}

# wait_answers DIR N MS: until N first answers are in DIR or MS milliseconds passed
wait_answers() {
    local t0
    t0=$(date +%s%N)
    for _ in $(seq 1 400); do
        [ "$(ls "$1" | grep -c '\.first$')" -ge "$2" ] && return 0
        [ $((($(date +%s%N) - t0) / 1000000)) -ge "$3" ] && return 0
        sleep 0.02
    done
}

# wait_clients: until every client is done (bounded by their own limits)
wait_clients() {
    wait $client_pids
    client_pids=""
}

# counts FILE-GLOB: "N STATUS" lines of the statuses in those files
counts() { cat "$@" 2>/dev/null | sort | uniq -c | awk '{print $2 ":" $1}' | tr '\n' ' '; }

# exactly_once NAME DIR PREFIX PRODUCT CUSTOMER: every key got 201 in the end,
# has exactly one OrderPlaced event, the answers name those orders, and the
# product's stock is 100000 minus its orders
exactly_once() {
    local name=$1 d=$2 pre=$3 p=$4 c=$5 orders
    echo "   $name: first answers $(counts "$d"/*.first)"
    echo "   $name: last answers $(counts "$d"/*.st)"
    echo "   $name: retries $(cat "$d"/*.tries | awk '{s += $1} END {print s}'), replayed in the end $(grep -il '^Idempotent-Replayed: true' "$d"/*[0-9].hdr | wc -l)"
    check "$name: every request got 201 in the end" "$TOTAL" "$(grep -lx 201 "$d"/*[0-9].st | wc -l)"
    check "$name: one event per key" "$TOTAL $TOTAL" \
        "$(sql "SELECT COUNT(*), COALESCE(SUM(n = 1), 0) FROM (SELECT command_id, COUNT(*) AS n FROM events
                 WHERE type = 'OrderPlaced' AND command_id LIKE '$pre-%' GROUP BY command_id) AS t" | tr '\t' ' ')"
    check "$name: no other event with those keys" "$TOTAL" \
        "$(sql "SELECT COUNT(*) FROM events WHERE command_id LIKE '$pre-%'")"
    check "$name: every answer names its key and the order of its event" "" \
        "$(diff <(for f in "$d"/*[0-9].body; do jq -r '"\(.command_id)\t\(.aggregate_id)"' "$f" 2>/dev/null; done | LC_ALL=C sort) \
                <(sql "SELECT command_id, aggregate_id FROM events WHERE type = 'OrderPlaced' AND command_id LIKE '$pre-%'" | LC_ALL=C sort) | head -5)"
    check "$name: one key row per key, each with its 201" "$TOTAL $TOTAL" \
        "$(sql "SELECT COUNT(*), COALESCE(SUM(status = 201), 0) FROM idempotency_keys WHERE idem_key LIKE 'admin:$pre-%'" | tr '\t' ' ')"
    orders=$(sql "SELECT COUNT(*) FROM orders WHERE customer_id = $c")
    check "$name: one order per key" "$TOTAL" "$orders"
    check "$name: one line per order" "$orders" "$(sql "SELECT COUNT(*) FROM order_lines WHERE product_id = $p")"
    check "$name: stock = 100000 - orders" "$((100000 - orders))" "$(sql "SELECT stock FROM products WHERE id = $p")"
    get "/queries/products/$p" >/dev/null
    check "$name: the query side agrees" "$((100000 - orders)) $orders" "$(jqb '"\(.stock) \(.units_sold)"')"
}

#=== kill -9 mid-load ===

PK=$(mk_product "CRASH-$U" 100000)
CK=$(mk_customer "crash")
check_match "kill: setup" "^$IDN $IDN\$" "$PK $CK"
port=$(own_port)
URL="http://127.0.0.1:$port"
K="$T_CASE/kill"
if start_daemon crash "$port" --threads 8; then
    start_clients "$K" "$URL" "crash-$U" "$(order_json "$CK" "$PK")" "$K.go"
    wait_answers "$K" 16 1000
    pid=$(cat "$T/daemon-crash.pid")
    kill -9 "$pid"
    wait "$pid" 2>/dev/null
    rm -f "$T/daemon-crash.pid"
    check "kill: the daemon is gone" no "$(kill -0 "$pid" 2>/dev/null && echo yes || echo no)"
    if start_daemon crash "$port" --threads 8; then
        check "kill: a new daemon serves the same port" 200 "$(curl -s -o /dev/null -w '%{http_code}' "$URL/healthz")"
    else
        fail=$((fail + 1))
    fi
    touch "$K.go"
    wait_clients
    # the kill landed mid-load: some requests got no answer from the first daemon
    check_match "kill: some requests went unanswered" '^[1-9]' "$(grep -Lx 201 "$K"/*.first | wc -l)"
    check "kill: the answers were 201 or none" "" \
        "$(cat "$K"/*.first | grep -vxE '201|000' | sort -u | tr '\n' ' ')"
    exactly_once "kill" "$K" "crash-$U" "$PK" "$CK"
else
    fail=$((fail + 1))
fi

#=== the database stops mid-load ===

PD=$(mk_product "DBSTOP-$U" 100000)
CD=$(mk_customer "dbstop")
PP=$(mk_product "PROBE-$U" 10)
CP=$(mk_customer "probe")
check_match "db stop: setup" "^$IDN $IDN $IDN $IDN\$" "$PD $CD $PP $CP"
D="$T_CASE/dbstop"
if [ -f "$T/daemon-crash.pid" ]; then
    pid=$(cat "$T/daemon-crash.pid")
    start_clients "$D" "$URL" "dbstop-$U" "$(order_json "$CD" "$PD")" "$D.go"
    wait_answers "$D" 16 1000
    db_down=yes
    db_stop
    URL_BASE=$URL
    st=$(cmd "$(order_json "$CP" "$PP")" -H "Idempotency-Key: probe-$U")
    check "db down: a command is 503" 503 "$st"
    check_match "db down: problem+json" '^application/problem\+json' "$(hdr Content-Type)"
    check "db down: database-unavailable" "database-unavailable 503" "$(jqb '"\(.type) \(.status)"' 2>/dev/null)"
    check_match "db down: Retry-After" '^[0-9]+$' "$(hdr Retry-After)"
    check "db down: /healthz" 200 "$(get /healthz)"
    check "db down: /readyz" 503 "$(get /readyz)"
    check "db down: the daemon runs" yes "$(kill -0 "$pid" 2>/dev/null && echo yes || echo no)"
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
    check "db back: /readyz 200" 200 "$ready"
    check "db back: /readyz 200 within 5 s" yes "$([ $ms -le 5000 ] && echo yes || echo "no (${ms} ms)")"
    touch "$D.go"
    # the probe that got 503 was not recorded: its key runs it now
    st=$(cmd "$(order_json "$CP" "$PP")" -H "Idempotency-Key: probe-$U")
    check "db back: the probe's key runs its command" "201 " "$st $(hdr Idempotent-Replayed)"
    unset URL_BASE
    wait_clients
    check_match "db stop: some requests got 503 or no answer" '^[1-9]' "$(grep -Lx 201 "$D"/*.first | wc -l)"
    check "db stop: the answers were 201, 503 or none" "" \
        "$(cat "$D"/*.first | grep -vxE '201|503|000' | sort -u | tr '\n' ' ')"
    bad503=0
    for f in "$D"/*.first; do
        [ "$(cat "$f")" = 503 ] || continue
        if [ "$(jq -r .type "${f%.first}.first.body" 2>/dev/null)" != database-unavailable ] ||
            ! grep -qiE '^Retry-After: [0-9]+' "${f%.first}.first.hdr"; then
            bad503=$((bad503 + 1))
        fi
    done
    check "db stop: every 503 is database-unavailable with Retry-After" 0 "$bad503"
    exactly_once "db stop" "$D" "dbstop-$U" "$PD" "$CD"
    check "db stop: the probe made one order" "1 1 9" \
        "$(sql "SELECT (SELECT COUNT(*) FROM events WHERE command_id = 'probe-$U'),
                       (SELECT COUNT(*) FROM orders WHERE customer_id = $CP),
                       (SELECT stock FROM products WHERE id = $PP)" | tr '\t' ' ')"
    check "db stop: the same daemon process" yes "$(kill -0 "$pid" 2>/dev/null && echo yes || echo no)"
    stop_daemon crash >"$T_CASE/stop.rc"
    check "db stop: the daemon exits 0 on SIGTERM afterwards" 0 "$(cat "$T_CASE/stop.rc")"
else
    fail=$((fail + 1))
fi

ready=000
for _ in $(seq 1 100); do
    ready=$(get /readyz)
    [ "$ready" = 200 ] && break
    sleep 0.05
done
check "the shared daemon is ready again" 200 "$ready"
finish

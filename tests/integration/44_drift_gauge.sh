#!/usr/bin/env bash
# 44_drift_gauge.sh - the daemon's own sample check of the read model
# (README "Keeping the read model honest"): at start, then every 30 s, a
# daemon compares the view rows of the aggregates that the last 500 events
# touched (an order's products and customer too) with their recomputation,
# and publishes cqrsd_read_model_drift_rows (-1 until the first check: "the
# number of differing rows") and cqrsd_read_model_checked_rows. The check at
# start is used here: a fresh daemon is started after each change.
#
# - all triggers in place: a fresh daemon's gauge is 0, with rows checked;
# - the trigger order_lines_ai dropped by hand, two orders placed (3 lines
#   of 2 products, one customer): the lines miss the views, and a fresh
#   daemon's gauge is the number of rows that differ, 5 (2 orders, 2
#   products, 1 customer), as many as verify-views lists, and it logs a
#   warning;
# - `migrate` restores the trigger, `rebuild-views` the data: verify-views
#   exits 0 and a fresh daemon's gauge is 0 again.
# The database is shared with the scripts that follow: whatever happens, the
# script leaves the trigger in place and the views right (trap on EXIT).
. "$(dirname "$0")/lib.sh"

U=$(uniq_id)
ID='^[1-9][0-9]*$'
damaged=no

trigger_count() {
    sql "SELECT COUNT(*) FROM information_schema.TRIGGERS WHERE TRIGGER_SCHEMA = DATABASE()
          AND TRIGGER_NAME = 'order_lines_ai' AND EVENT_OBJECT_TABLE = 'order_lines'"
}
cleanup() {
    local n
    for n in drift1 drift2 drift3 load1 load2 load3 load4 load5 load6 load7 load8; do
        [ -f "$T/daemon-$n.pid" ] && kill -9 "$(cat "$T/daemon-$n.pid")" 2>/dev/null && rm -f "$T/daemon-$n.pid"
    done
    # never leave the shared database without its trigger, nor with wrong views
    if [ "$(trigger_count)" != 1 ]; then
        "$CQRSD_BIN" migrate >/dev/null 2>&1
        damaged=yes
    fi
    if [ $damaged = yes ] && ! "$CQRSD_BIN" verify-views >/dev/null 2>&1; then
        "$CQRSD_BIN" rebuild-views >/dev/null 2>&1
    fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# tool NAME ARGS...: run `cqrsd ARGS`; stdout in $T_CASE/NAME.out, stderr in
# $T_CASE/NAME.err; prints the exit status
tool() {
    local name=$1
    shift
    "$CQRSD_BIN" "$@" >"$T_CASE/$name.out" 2>"$T_CASE/$name.err"
    echo $?
}
# differing_rows NAME: "VIEW ID" of every row a verify-views output names
differing_rows() { grep -v '^verify-views: ' "$T_CASE/$1.out" | awk '{ print $1, $2 + 0 }' | sort -u; }

# audit NAME: start a fresh daemon NAME, wait (at most 20 s) until its first
# sample check has published the gauge, print "DRIFT CHECKED", stop it (its
# exit status in $T_CASE/NAME.stop, its /metrics in $T_CASE/NAME.metrics)
audit() {
    local port d="" c=""
    port=$(free_port)
    start_daemon "$1" "$port" >/dev/null || { echo "no daemon"; return; }
    for _ in $(seq 1 200); do
        curl -s --max-time 5 "http://127.0.0.1:$port/metrics" >"$T_CASE/$1.metrics"
        d=$(awk '$1 == "cqrsd_read_model_drift_rows" { print $2 }' "$T_CASE/$1.metrics")
        c=$(awk '$1 == "cqrsd_read_model_checked_rows" { print $2 }' "$T_CASE/$1.metrics")
        [ -n "$d" ] && [ "$d" != -1 ] && break
        sleep 0.1
    done
    stop_daemon "$1" >"$T_CASE/$1.stop" 2>&1
    echo "$d $c"
}
at_least() { [ -n "$2" ] && [ "$2" -ge "$1" ] 2>/dev/null && echo yes || echo "no: $2"; }

create_product() { # create_product SKU PRICE: prints the id
    local st
    st=$(cmd "{\"type\":\"CreateProduct\",\"data\":{\"sku\":\"$1\",\"name\":\"N$1\",\"category\":\"Drift-$U\",\"price_cents\":$2,\"stock\":100}}")
    if [ "$st" = 201 ]; then jqb .aggregate_id; else echo "FAIL setup: CreateProduct $1: $st $(body)" >&2; fi
}
place() { # place CUSTOMER ID:QTY...: prints the order id
    local c=$1 items="" a st
    shift
    for a in "$@"; do items="$items${items:+,}{\"product_id\":${a%%:*},\"quantity\":${a#*:}}"; done
    st=$(cmd "{\"type\":\"PlaceOrder\",\"data\":{\"customer_id\":$c,\"items\":[$items]}}")
    if [ "$st" = 201 ]; then jqb .aggregate_id; else echo "FAIL setup: PlaceOrder $*: $st $(body)" >&2; fi
}

#=== all triggers in place: no drift ===

check trigger-present-at-start 1 "$(trigger_count)"
PX=$(create_product "DX-$U" 250)
PY=$(create_product "DY-$U" 1000)
st=$(cmd "{\"type\":\"RegisterCustomer\",\"data\":{\"name\":\"Drift\",\"email\":\"drift.$U@example.com\"}}")
CX=$([ "$st" = 201 ] && jqb .aggregate_id)
O0=$(place "$CX" "$PY:1")
check setup-ids 4 "$(printf '%s\n' "$PX" "$PY" "$CX" "$O0" | grep -cE "$ID")"

read -r d c <<<"$(audit drift1)"
check healthy-drift 0 "$d"
# at least the rows of PX, PY, CX and O0 were compared
check healthy-checked-rows yes "$(at_least 4 "$c")"
check healthy-metric-help 2 "$(grep -cE '^# (HELP|TYPE) cqrsd_read_model_drift_rows ' "$T_CASE/drift1.metrics")"
check healthy-stop-0 0 "$(cat "$T_CASE/drift1.stop")"

#=== a trigger dropped by hand: the next orders drift, and the gauge says so ===

damaged=yes
sql "DROP TRIGGER order_lines_ai"
check trigger-dropped 0 "$(trigger_count)"
OA=$(place "$CX" "$PX:2")
OB=$(place "$CX" "$PX:1" "$PY:3")
check damage-orders 2 "$(printf '%s\n' "$OA" "$OB" | grep -cE "$ID")"
get "/queries/orders/$OB" >/dev/null
check lines-missed-the-view "0 []" "$(jqb '"\(.total_cents) \(.items | tojson)"')"

check verify-damaged-exit 1 "$(tool verify1 verify-views)"
want_rows=$(printf '%s\n' "order_summary_view $OA" "order_summary_view $OB" "product_view $PX" \
    "product_view $PY" "customer_view $CX" | sort)
check verify-damaged-rows "$want_rows" "$(differing_rows verify1)"

read -r d c <<<"$(audit drift2)"
# one per differing row (a row with several wrong columns counts once)
check drift-rows "$(echo "$want_rows" | wc -l)" "$d"
check drift-checked-rows yes "$(at_least 6 "$c")"
check_match drift-warning-logged "read model: $d recently changed rows differ" \
    "$(grep -m1 'recently changed rows differ' "$T/daemon-drift2.log")"
check drift-stop-0 0 "$(cat "$T_CASE/drift2.stop")"

#=== migrate and rebuild-views repair it: no drift again ===

check migrate-exit 0 "$(tool migrate migrate)"
check trigger-restored 1 "$(trigger_count)"
check rebuild-exit 0 "$(tool rebuild rebuild-views)"
check verify-repaired-exit 0 "$(tool verify2 verify-views)"
check verify-repaired-says "verify-views: the read model equals the write model" "$(tail -1 "$T_CASE/verify2.out")"
[ "$(tail -1 "$T_CASE/verify2.out")" = "verify-views: the read model equals the write model" ] && damaged=no
get "/queries/orders/$OB" >/dev/null
check order-repaired "2 4 3250" "$(jqb '"\(.item_count) \(.total_quantity) \(.total_cents)"')"

read -r d c <<<"$(audit drift3)"
check repaired-drift 0 "$d"
check repaired-checked-rows yes "$(at_least 6 "$c")"
check repaired-stop-0 0 "$(cat "$T_CASE/drift3.stop")"

#=== under a sustained write load: no false drift ===

# 8 writers place orders and restock on four hot products for DRIFT_LOAD_SECONDS;
# meanwhile fresh daemons run their check one after another: each compares
# the view rows of aggregates that change every few milliseconds, and must
# find nothing (the previous check read the views and their recomputation at
# two moments, and counted the commands in between as drift). Then
# verify-views, also while commands run, finds no difference.
LOAD=${DRIFT_LOAD_SECONDS:-25}
hot="$PX,$PY"
for i in 1 2; do hot="$hot,$(create_product "DH$i-$U" 100)"; done
for p in ${hot//,/ }; do
    cmd "{\"type\":\"RestockProduct\",\"data\":{\"product_id\":$p,\"quantity\":1000000}}" >/dev/null
done
python3 "$(dirname "$0")/feed_load.py" write "$BASE" "$LOAD" 8 "$hot" "$CX" "$T_CASE/load" &
load_pid=$!
sleep 2
n=0
drifts=""
while kill -0 "$load_pid" 2>/dev/null && [ $n -lt 8 ]; do
    n=$((n + 1))
    read -r d c <<<"$(audit "load$n")"
    drifts="$drifts${drifts:+ }$d"
    [ $n = 1 ] && check load-checked-rows yes "$(at_least 6 "$c")"
done
check_match load-samples '^[0-9]+( [0-9]+){2,}$' "$drifts"
check load-drift-all-zero "" "$(echo "$drifts" | tr ' ' '\n' | grep -v '^0$')"
check load-verify-views-exit 0 "$(tool verify_load verify-views)"
check load-verify-views-says "verify-views: the read model equals the write model" "$(tail -1 "$T_CASE/verify_load.out")"
wait "$load_pid"
check_match load-ran '^sent [0-9]+ ok [1-9][0-9]* rejected 0 failed 0 ' "$(cat "$T_CASE/load")"
echo "   drift samples under load: $drifts ($(cat "$T_CASE/load"))"

finish

#!/usr/bin/env bash
# tests/soak/run.sh - `make soak`: SOAK_SECONDS (default 900) of mixed load
# on the release build, with every guarantee checked at the end and the
# daemon's RSS, open fds and threads sampled every SOAK_SAMPLE_S (30) s.
#
# The load, all against one daemon on its own private MariaDB:
#   - 8 writers: PlaceOrder (1-3 products) and RestockProduct on plenty of
#     stock; 2 more on four scarce products (300 units each, never restocked);
#   - 8 readers: products, customers, a best-selling list, orders;
#   - 20 event streams: 3 check every position as they read, 17 just read;
#   - 2 pagers of GET /queries/events (limit 1000 and 7) check every position.
# Checked at the end (each a line of the "N passed, M failed" count):
#   - every stream and pager got every position from its start to the final
#     head, in order, no repeats; the table holds every position;
#   - the drift gauge was 0 at every sample; verify-views (under the load,
#     halfway, and at the end) finds no difference;
#   - no overselling: a scarce product's stock plus the units of its
#     non-cancelled order lines is exactly its 300, and never below 0;
#   - RSS after warm-up (the samples from SOAK_WARMUP_S, default 120 s, on)
#     moves less than SOAK_RSS_SLACK_KB (3072); fds and threads at the end
#     are what they were after warm-up.
# The samples go to build/soak.tsv; the summary to stdout.
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
cd "$top"
SECONDS_TOTAL=${SOAK_SECONDS:-900}
SAMPLE_S=${SOAK_SAMPLE_S:-30}
WARMUP_S=${SOAK_WARMUP_S:-120}
RSS_SLACK_KB=${SOAK_RSS_SLACK_KB:-3072}
FL="$top/tests/integration/feed_load.py"
BIN="$top/build/cqrsd"
pass=0
fail=0
check() { # check NAME WANT GOT
    if [ "$2" = "$3" ]; then
        pass=$((pass + 1))
        echo "ok   $1"
    else
        fail=$((fail + 1))
        echo "FAIL $1: want '$2' got '$3'"
    fi
}

T=$(mktemp -d /tmp/cqrsd-soak.XXXXXX)
pids=""
cleanup() {
    local p
    for p in $pids; do kill "$p" 2>/dev/null; done
    [ -n "${dpid:-}" ] && kill "$dpid" 2>/dev/null && wait "$dpid" 2>/dev/null
    sh "$top/scripts/mariadb.sh" stop "$T/db" >/dev/null 2>&1
    [ -n "${KEEP:-}" ] || rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

free_port() {
    local p
    for _ in $(seq 1 200); do
        p=$((10000 + RANDOM % 20000))
        if ! (echo >/dev/tcp/127.0.0.1/$p) 2>/dev/null; then
            echo $p
            return
        fi
    done
}

DB_PORT=$(free_port)
sh scripts/mariadb.sh start "$T/db" "$DB_PORT" >"$T/mariadb.out" 2>&1 || { cat "$T/mariadb.out"; exit 1; }
export CQRSD_ADMIN_DSN="mysql://root@127.0.0.1:$DB_PORT/"
export CQRSD_WRITE_DSN="mysql://cqrs_writer:cqrs_writer@127.0.0.1:$DB_PORT/cqrs"
export CQRSD_READ_DSN="mysql://cqrs_reader:cqrs_reader@127.0.0.1:$DB_PORT/cqrs"
sql() { mariadb --no-defaults -uroot --socket="$T/db/s.sock" -N -B cqrs -e "$1"; }
"$BIN" migrate >"$T/migrate.out" 2>&1 || { cat "$T/migrate.out"; exit 1; }
HTTP_PORT=$(free_port)
BASE="http://127.0.0.1:$HTTP_PORT"
"$BIN" --listen "127.0.0.1:$HTTP_PORT" >"$T/daemon.log" 2>&1 &
dpid=$!
for _ in $(seq 1 100); do
    curl -s -o /dev/null "$BASE/healthz" && break
    sleep 0.1
done

cmd() { curl -s -H 'Content-Type: application/json' --data-binary "$1" "$BASE/commands"; }
metric() { curl -s --max-time 5 "$BASE/metrics" | awk -v m="$1" '$1 == m { print $2 }'; }

# the catalogue: 40 products with plenty of stock, 4 scarce ones, 50 customers
U=$(date +%s)
prods=""
scarce=""
custs=""
for i in $(seq 1 40); do
    id=$(cmd "{\"type\":\"CreateProduct\",\"data\":{\"sku\":\"SK$i-$U\",\"name\":\"Soak $i\",\"category\":\"Soak\",\"price_cents\":$((100 + i)),\"stock\":100000000}}" | jq -r .aggregate_id)
    prods="$prods${prods:+,}$id"
done
for i in 1 2 3 4; do
    id=$(cmd "{\"type\":\"CreateProduct\",\"data\":{\"sku\":\"SC$i-$U\",\"name\":\"Scarce $i\",\"category\":\"Soak\",\"price_cents\":999,\"stock\":300}}" | jq -r .aggregate_id)
    scarce="$scarce${scarce:+,}$id"
done
for i in $(seq 1 50); do
    id=$(cmd "{\"type\":\"RegisterCustomer\",\"data\":{\"name\":\"Soak $i\",\"email\":\"soak$i.$U@example.com\"}}" | jq -r .aggregate_id)
    custs="$custs${custs:+,}$id"
done
check setup "44 50" "$(echo "$prods,$scarce" | tr ',' '\n' | grep -cE '^[0-9]+$') $(echo "$custs" | tr ',' '\n' | grep -cE '^[0-9]+$')"

S=$(sql "SELECT position FROM event_head WHERE id = 1")
echo "soak: $SECONDS_TOTAL s of load from event $S; samples every $SAMPLE_S s to build/soak.tsv"
for r in 1 2 3; do
    python3 "$FL" stream "$BASE" "$S" "$T/stop" "$T/stream$r" &
    pids="$pids $!"
done
for r in $(seq 1 17); do
    curl -s -N "$BASE/queries/events/stream" >/dev/null &
    pids="$pids $!"
done
PAGE_IDLE_S=0.01 python3 "$FL" page "$BASE" "$S" 1000 "$T/stop" "$T/pager1" &
pids="$pids $!"
python3 "$FL" page "$BASE" "$S" 7 "$T/stop" "$T/pager2" &
pids="$pids $!"
python3 "$FL" write "$BASE" "$SECONDS_TOTAL" 8 "$prods" "$custs" "$T/write" &
wpid=$!
RESTOCK_SHARE=0 python3 "$FL" write "$BASE" "$SECONDS_TOTAL" 2 "$scarce" "$custs" "$T/write_scarce" &
spid=$!
python3 "$FL" read "$BASE" "$SECONDS_TOTAL" 8 "$prods" "$custs" soak "$T/read" &
rpid=$!

#=== samples ===
mkdir -p build
printf 's\trss_kb\tfds\tthreads\tevents\tdrift_rows\tholes\n' >build/soak.tsv
start=$SECONDS
half_done=no
while kill -0 "$wpid" 2>/dev/null; do
    t=$((SECONDS - start))
    rss=$(awk '/^VmRSS/ {print $2}' /proc/$dpid/status 2>/dev/null)
    fds=$(ls /proc/$dpid/fd 2>/dev/null | wc -l)
    thr=$(awk '/^Threads/ {print $2}' /proc/$dpid/status 2>/dev/null)
    head=$(sql "SELECT position FROM event_head WHERE id = 1")
    printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$t" "$rss" "$fds" "$thr" "$((head - S))" \
        "$(metric cqrsd_read_model_drift_rows)" "$(metric cqrsd_event_feed_holes_total)" >>build/soak.tsv
    tail -1 build/soak.tsv
    if [ $half_done = no ] && [ $t -ge $((SECONDS_TOTAL / 2)) ]; then
        half_done=yes
        "$BIN" verify-views >"$T/verify_half.out" 2>&1
        check "verify-views halfway, under load" "verify-views: the read model equals the write model" "$(tail -1 "$T/verify_half.out")"
        cat "$T/verify_half.out"
    fi
    for _ in $(seq 1 "$SAMPLE_S"); do
        kill -0 "$wpid" 2>/dev/null || break
        sleep 1
    done
done
wait "$wpid" "$spid" "$rpid"
E=$(sql "SELECT position FROM event_head WHERE id = 1")
echo "$E" >"$T/stop"

#=== the guarantees ===
echo "writes:        $(cat "$T/write")"
echo "scarce writes: $(cat "$T/write_scarce") (409 once sold out)"
echo "reads:         $(cat "$T/read")"
check "table holds every position" "$((E - S))" "$(sql "SELECT COUNT(*) FROM events WHERE position > $S AND position <= $E")"
for r in stream1 stream2 stream3 pager1 pager2; do
    for _ in $(seq 1 600); do
        [ -s "$T/$r" ] && break
        sleep 0.1
    done
    check "$r: every position in order" "events $((E - S)) last $E holes 0 missing 0 repeats 0" \
        "$(awk '{print "events", $2, "last", $4, "holes", $6, "missing", $8, "repeats", $10}' "$T/$r" 2>/dev/null)"
done
check "writes: none failed" 0 "$(awk '{print $8}' "$T/write")"
check "reads: none failed" 0 "$(awk '{print $8}' "$T/read")"
check "drift gauge 0 at every sample" "" "$(awk -F'\t' 'NR > 1 && $6 != "0" && $6 != "-1" {print $1 ":" $6}' build/soak.tsv | tr '\n' ' ')"
"$BIN" verify-views >"$T/verify_end.out" 2>&1
check "verify-views at the end" "verify-views: the read model equals the write model" "$(tail -1 "$T/verify_end.out")"
cat "$T/verify_end.out"
for p in ${scarce//,/ }; do
    check "product $p: stock + units sold = 300, stock >= 0" "300 yes" \
        "$(sql "SELECT s.stock + (SELECT COALESCE(SUM(l.quantity), 0) FROM order_lines l JOIN orders o
                ON o.id = l.order_id WHERE l.product_id = $p AND o.status <> 'cancelled'),
                IF(s.stock >= 0, 'yes', 'no') FROM products s WHERE s.id = $p" | tr '\t' ' ')"
done
# resources after warm-up
read -r rss_min rss_max fd_w fd_e th_w th_e <<<"$(awk -F'\t' -v w="$WARMUP_S" '
    NR > 1 && $1 >= w { if (!n++) { lo = hi = $2; fw = $3; tw = $4 } if ($2 < lo) lo = $2; if ($2 > hi) hi = $2; fe = $3; te = $4 }
    END { print lo + 0, hi + 0, fw + 0, fe + 0, tw + 0, te + 0 }' build/soak.tsv)"
echo "after warm-up: RSS $rss_min-$rss_max kB, fds $fd_w -> $fd_e, threads $th_w -> $th_e"
check "RSS after warm-up within $RSS_SLACK_KB kB" yes "$([ $((rss_max - rss_min)) -le "$RSS_SLACK_KB" ] && echo yes || echo "no: $((rss_max - rss_min)) kB")"
check "fds after warm-up flat" "$fd_w" "$fd_e"
check "threads after warm-up flat" "$th_w" "$th_e"
echo "events: $((E - S)) in $SECONDS_TOTAL s; holes met and waited for: $(metric cqrsd_event_feed_holes_total)"
for p in $pids; do kill "$p" 2>/dev/null; done
for p in $pids; do wait "$p" 2>/dev/null; done
pids=""
kill -TERM "$dpid"
wait "$dpid"
check "daemon exits 0 on SIGTERM" 0 "$?"
dpid=""
echo "soak: $pass passed, $fail failed"
[ "$fail" -eq 0 ]

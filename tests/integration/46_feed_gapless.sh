#!/usr/bin/env bash
# 46_feed_gapless.sh - no reader of the feed ever passes an event (API.md
# "GET /queries/events": "positions taken by transactions that have not
# committed yet must not be skipped past"; README "The event store").
#
# 1. A commit in flight, made on purpose. MariaDB can make a commit visible a
#    moment before the earlier commit that took the position below it. This
#    part builds that state and holds it: a transaction takes position S+1
#    (event_head, a restock and its event) and stays open, while a second one
#    writes a restock at S+2 and commits. For 1.5 s the store shows S+2 and
#    not S+1. Then the first commits. Streams (from S, and from the head
#    without `after`) and a pager must wait at the hole and then deliver S+1
#    and S+2, in order; a page read during the hole is empty with next_after
#    S; the hole is counted in cqrsd_event_feed_holes_total. On the code
#    before the fix, every reader passed S+1 here. Filtered readers (API.md
#    "Event feed filters") too: a page of S+1's product, or of restocks,
#    is empty with next_after S (not S+2, which would pass S+1 for good),
#    and a filtered stream and pager wait, then get S+1.
# 2. The same under load, the way the soak found it: 8 writers (PlaceOrder,
#    RestockProduct) for FEED_LOAD_SECONDS (default 30) while three streams
#    (one from the start, two joining later from the same position: they
#    start behind the live one) and two pagers (limit 1000 and 7) check, as
#    they read, that each position is the one after the last; at the end
#    each reached the final head, and the table holds every position. Beside
#    them, filtered readers: a pager of two types (limit 7) and one of a
#    product (limit 2), a stream of the products' events, and one of a
#    product's restocks that joins late; each must see exactly the matching
#    subsequence of a final unfiltered read of the part, in order, and the
#    pagers' next_after must be right on every page.
#    `make soak` runs this part for minutes and samples RSS, fds and threads.
. "$(dirname "$0")/lib.sh"

top=$(cd "$(dirname "$0")/../.." && pwd)
FL="$top/tests/integration/feed_load.py"
LOAD_SECONDS=${FEED_LOAD_SECONDS:-30}
W="$T_CASE/w"
mkdir -p "$W"
U=$(uniq_id)

bg_pids=""
hold_pid=""
cleanup() {
    local p
    for p in $bg_pids; do kill "$p" 2>/dev/null; done
    [ -n "$hold_pid" ] && kill "$hold_pid" 2>/dev/null
}
trap cleanup EXIT
trap 'exit 130' INT TERM

metric() { curl -s --max-time 5 "$BASE/metrics" | awk -v m="$1" '$1 == m { print $2 }'; }

# summary FILE: a reader's summary line, as "events E last L holes H missing M repeats R"
summary() { awk '{print "events", $2, "last", $4, "holes", $6, "missing", $8, "repeats", $10}' "$1" 2>/dev/null; }

# fsummary FILE: a filtered reader's summary line, as "events E last L repeats R"
# and, for a pager, " odd_next N" (holes mean nothing when positions are skipped on purpose)
fsummary() { awk '{printf "events %s last %s repeats %s", $2, $4, $10; if ($13 == "odd_next") printf " odd_next %s", $14}' "$1" 2>/dev/null; }

# lines FILE: its number of lines (0 when absent)
lines() { awk 'END { print NR }' "$1" 2>/dev/null || echo 0; }

# wait_file FILE SECONDS: until FILE is not empty
wait_file() {
    local i
    for ((i = 0; i < $2 * 20; i++)); do
        [ -s "$1" ] && return 0
        sleep 0.05
    done
    return 1
}

# Asynchronous commands queued by earlier scripts would take positions of their own
check no-pending-async-commands 0 "$(async_settled)"

#=== setup: products and customers for both parts ===

prods=""
custs=""
for i in 1 2 3 4 5 6; do
    st=$(cmd "{\"type\":\"CreateProduct\",\"data\":{\"sku\":\"GL$i-$U\",\"name\":\"Gapless $i\",\"category\":\"Gapless-$U\",\"price_cents\":100,\"stock\":100000000}}")
    [ "$st" = 201 ] && prods="$prods${prods:+,}$(jqb .aggregate_id)"
    st=$(cmd "{\"type\":\"RegisterCustomer\",\"data\":{\"name\":\"Gapless $i\",\"email\":\"gapless$i.$U@example.com\"}}")
    [ "$st" = 201 ] && custs="$custs${custs:+,}$(jqb .aggregate_id)"
done
check setup "6 6" "$(echo "$prods" | tr ',' '\n' | grep -c .) $(echo "$custs" | tr ',' '\n' | grep -c .)"
P1=${prods%%,*}
P2=$(echo "$prods" | cut -d, -f2)

#=== 1. a commit in flight ===

echo "== 1. a commit in flight (at $SECONDS s)"
S=$(sql "SELECT position FROM event_head WHERE id = 1")
check head-equals-max "$S" "$(sql "SELECT COALESCE(MAX(position), 0) FROM events")"
holes0=$(metric cqrsd_event_feed_holes_total)
check_match holes-metric '^[0-9]+$' "$holes0"
rm -f "$W/stop1"
python3 "$FL" stream "$BASE" "$S" "$W/stop1" "$W/a_stream" &
bg_pids="$bg_pids $!"
python3 "$FL" page "$BASE" "$S" 1000 "$W/stop1" "$W/a_page" &
bg_pids="$bg_pids $!"
# filtered: S+1 is P1's restock, S+2 P2's
python3 "$FL" stream "$BASE" "$S" "$W/stop1.p1" "$W/a_fstream" "aggregate_type=product&aggregate_id=$P1" &
bg_pids="$bg_pids $!"
python3 "$FL" page "$BASE" "$S" 1000 "$W/stop1" "$W/a_fpage" "type=ProductRestocked" &
bg_pids="$bg_pids $!"
sleep 1

# the transaction of position S+1, held open (as lock_row does, through a fifo)
fifo="$W/hold.fifo"
mkfifo "$fifo"
mariadb --no-defaults -uroot --socket="$DB_DIR/s.sock" -N -B -n cqrs <"$fifo" >"$W/hold.out" 2>&1 &
hold_pid=$!
exec 8>"$fifo"
now="UTC_TIMESTAMP(3)"
restock_sql() { # restock_sql PRODUCT POSITION: a restock of 1 and its event, as RestockProduct writes them
    echo "SELECT version, stock INTO @v, @s FROM products WHERE id = $1 FOR UPDATE;
UPDATE products SET stock = stock + 1, version = version + 1, updated_at = $now WHERE id = $1;
INSERT INTO events (position, \`type\`, aggregate_type, aggregate_id, aggregate_version, data,
  command_id, occurred_at) VALUES ($2, 'ProductRestocked', 'product', $1, @v + 1,
  CONCAT('{\"quantity\":1,\"stock\":', @s + 1, '}'), 'gapless-$U-$2', $now);"
}
{
    echo "BEGIN;"
    echo "UPDATE event_head SET position = $((S + 2)) WHERE id = 1;"
    restock_sql "$P1" $((S + 1))
    echo "SELECT 'held';"
} >&8
for _ in $(seq 1 100); do
    grep -q '^held$' "$W/hold.out" 2>/dev/null && break
    sleep 0.02
done
check first-transaction-open held "$(cat "$W/hold.out")"
# the later commit, visible while S+1 is not
sql "BEGIN; $(restock_sql "$P2" $((S + 2))) COMMIT;"
check hole-made "$((S + 2))" "$(sql "SELECT GROUP_CONCAT(position) FROM events WHERE position > $S")"
# a stream without `after` starts at the head: S, not past S+1 while it is missing
# (not holding the fifo open: the held session, and the wait for it below, would last until curl ends)
curl -s -N --max-time 20 "$BASE/queries/events/stream" >"$W/a_new" 8>&- &
bg_pids="$bg_pids $!"
sleep 1.5
check page-during-hole "200 [] $S" "$(get "/queries/events?after=$S&limit=10") $(jq -c .items "$B") $(jqb .next_after)"
check page-before-hole "1 $S" "$(get "/queries/events?after=$((S - 1))&limit=10" >/dev/null; jqb '.items | length') $(jqb .next_after)"
check stream-waits-at-hole "0" "$(lines "$W/a_stream.ids")"
check pager-waits-at-hole "0" "$(lines "$W/a_page.ids")"
check new-stream-waits-at-hole "0" "$(grep -c '^id:' "$W/a_new")"
# a filtered page does not move past the hole either, though nothing it shows is there
for f in "aggregate_type=product&aggregate_id=$P1" "type=ProductRestocked" "aggregate_type=product"; do
    check "filtered-page-during-hole $f" "200 [] $S" \
        "$(get "/queries/events?after=$S&limit=10&$f") $(jq -c .items "$B") $(jqb .next_after)"
done
check filtered-stream-waits-at-hole "0" "$(lines "$W/a_fstream.ids")"
check filtered-pager-waits-at-hole "0" "$(lines "$W/a_fpage.ids")"
holes1=$(metric cqrsd_event_feed_holes_total)
check_match holes-counted '^[0-9]+$' "$holes1"
check holes-counted-more true "$([ "${holes1:-0}" -gt "${holes0:-0}" ] && echo true || echo false)"
echo "COMMIT; SELECT 'committed';" >&8
exec 8>&-
wait "$hold_pid" 2>/dev/null
hold_pid=""
check first-transaction-committed "held committed" "$(tr '\n' ' ' <"$W/hold.out" | sed 's/ $//')"
echo $((S + 2)) >"$W/stop1"
echo $((S + 1)) >"$W/stop1.p1"
wait_file "$W/a_stream" 10
wait_file "$W/a_page" 10
wait_file "$W/a_fstream" 10
wait_file "$W/a_fpage" 10
check stream-after-commit "events 2 last $((S + 2)) holes 0 missing 0 repeats 0" "$(summary "$W/a_stream")"
check stream-order "$((S + 1)) $((S + 2))" "$(tr '\n' ' ' <"$W/a_stream.ids" | sed 's/ $//')"
check pager-after-commit "events 2 last $((S + 2)) holes 0 missing 0 repeats 0" "$(summary "$W/a_page")"
check filtered-stream-after-commit "events 1 last $((S + 1)) repeats 0: $((S + 1))" \
    "$(fsummary "$W/a_fstream"): $(tr '\n' ' ' <"$W/a_fstream.ids" | sed 's/ $//')"
check filtered-pager-after-commit "events 2 last $((S + 2)) repeats 0 odd_next 0: $((S + 1)) $((S + 2))" \
    "$(fsummary "$W/a_fpage"): $(tr '\n' ' ' <"$W/a_fpage.ids" | sed 's/ $//')"
for _ in $(seq 1 40); do
    [ "$(grep -c '^id:' "$W/a_new")" -ge 2 ] && break
    sleep 0.05
done
check new-stream-after-commit "$((S + 1)) $((S + 2))" "$(grep '^id:' "$W/a_new" | awk '{print $2}' | tr '\n' ' ' | sed 's/ $//')"
check page-after-commit "$((S + 1)),$((S + 2)) $((S + 2))" \
    "$(get "/queries/events?after=$S&limit=10" >/dev/null; jqb '[.items[].position] | map(tostring) | join(",")') $(jqb .next_after)"
check filtered-page-after-commit "$((S + 1)) $((S + 2))" \
    "$(get "/queries/events?after=$S&limit=10&aggregate_type=product&aggregate_id=$P1" >/dev/null
    jqb '[.items[].position] | map(tostring) | join(",")') $(jqb .next_after)"
check restocks-applied "100000001 100000001" \
    "$(get "/queries/products/$P1" >/dev/null; jqb .stock) $(get "/queries/products/$P2" >/dev/null; jqb .stock)"
for p in $bg_pids; do kill "$p" 2>/dev/null; done
wait 2>/dev/null
bg_pids=""

#=== 2. under load ===

echo "== 2. $LOAD_SECONDS s of writes, 3 streams and 2 pagers, 2 filtered streams and 2 filtered pagers (at $SECONDS s)"
S=$(sql "SELECT position FROM event_head WHERE id = 1")
rm -f "$W/stop2" "$W/stop2.f3" "$W/stop2.f4"
# the filtered readers: NAME, the filter, and the jq test of the events it matches
F1="type=OrderPlaced,ProductRestocked"
F2="aggregate_type=product&aggregate_id=$P1"
F3="aggregate_type=product"
F4="aggregate_type=product&aggregate_id=$P2&type=ProductRestocked,ProductPriceUpdated"
J1='.type == "OrderPlaced" or .type == "ProductRestocked"'
J2=".aggregate_type == \"product\" and .aggregate_id == $P1"
J3='.aggregate_type == "product"'
J4=".aggregate_type == \"product\" and .aggregate_id == $P2 and (.type == \"ProductRestocked\" or .type == \"ProductPriceUpdated\")"
python3 "$FL" page "$BASE" "$S" 7 "$W/stop2" "$W/f1" "$F1" &
bg_pids="$bg_pids $!"
PAGE_IDLE_S=0.005 python3 "$FL" page "$BASE" "$S" 2 "$W/stop2" "$W/f2" "$F2" &
bg_pids="$bg_pids $!"
# a filtered stream cannot tell that it passed the final head: it stops at
# the last matching position (stop2.fN, from the final read below)
python3 "$FL" stream "$BASE" "$S" "$W/stop2.f3" "$W/f3" "$F3" &
bg_pids="$bg_pids $!"
python3 "$FL" stream "$BASE" "$S" "$W/stop2" "$W/s1" &
bg_pids="$bg_pids $!"
PAGE_IDLE_S=0 python3 "$FL" page "$BASE" "$S" 1000 "$W/stop2" "$W/p1" &
bg_pids="$bg_pids $!"
python3 "$FL" page "$BASE" "$S" 7 "$W/stop2" "$W/p2" &
bg_pids="$bg_pids $!"
python3 "$FL" write "$BASE" "$LOAD_SECONDS" 8 "$prods" "$custs" "$W/write" &
writer=$!
# two more streams from the same start, joining while the first is ahead
sleep 3
python3 "$FL" stream "$BASE" "$S" "$W/stop2" "$W/s2" &
bg_pids="$bg_pids $!"
sleep 3
python3 "$FL" stream "$BASE" "$S" "$W/stop2" "$W/s3" &
bg_pids="$bg_pids $!"
python3 "$FL" stream "$BASE" "$S" "$W/stop2.f4" "$W/f4" "$F4" &
bg_pids="$bg_pids $!"
wait "$writer"
cat "$W/write"
E=$(sql "SELECT position FROM event_head WHERE id = 1")
echo "$E" >"$W/stop2"
check_match writes-succeeded '^sent [0-9]+ ok [0-9]+ rejected 0 failed 0 ' "$(cat "$W/write")"
check table-complete "$((E - S))" "$(sql "SELECT COUNT(*) FROM events WHERE position > $S AND position <= $E")"
# the final read of the part, unfiltered (limit 1000, from a replica in the replica pass)
replicas_caught_up
after=$S
: >"$W/final.items"
final_ok=yes
for ((k = 0; k < 1000; k++)); do
    st=$(get "/queries/events?after=$after&limit=1000")
    [ "$st" = 200 ] || { final_ok="page after $after: $st $(head -c 200 "$B")"; break; }
    jq -c '.items[]' "$B" >>"$W/final.items"
    [ "$(jqb '.items | length')" = 0 ] && break
    after=$(jqb .next_after)
done
check final-read yes "$final_ok"
check final-read-every-position "" "$(diff <(seq $((S + 1)) "$E") <(jq -r .position "$W/final.items") | head -3)"
# each filter's matching subsequence of it, and where the filtered streams stop
for n in 1 2 3 4; do
    f="J$n"
    jq -r "select(${!f}) | .position" "$W/final.items" >"$W/f$n.want"
    [ "$n" -ge 3 ] && { tail -1 "$W/f$n.want" | grep . || echo "$S"; } >"$W/stop2.f$n"
done
for r in s1 s2 s3 p1 p2; do
    wait_file "$W/$r" 90
    check "reader-$r" "events $((E - S)) last $E holes 0 missing 0 repeats 0" "$(summary "$W/$r")"
done
for r in p1 p2; do
    check "reader-$r next_after" "odd_next 0" "$(awk '{print $13, $14}' "$W/$r")"
done
for n in 1 2 3 4; do
    f="F$n"
    wait_file "$W/f$n" 90
    want=$(wc -l <"$W/f$n.want")
    check_match "reader-f$n ${!f}: something matches" '^[1-9]' "$want"
    check "reader-f$n ${!f}" "events $want last $(tail -1 "$W/f$n.want" | grep . || echo "$S") repeats 0$(
        [ "$n" -le 2 ] && echo " odd_next 0")" "$(fsummary "$W/f$n")"
    check "reader-f$n ${!f}: exactly the matching subsequence" "" "$(diff "$W/f$n.want" "$W/f$n.ids" 2>&1 | head -4)"
done
echo "   events $((E - S)) in $LOAD_SECONDS s; holes met and waited for: $(($(metric cqrsd_event_feed_holes_total) - holes1))"
wait 2>/dev/null
bg_pids=""

finish

#!/usr/bin/env bash
# 47_feed_filters.sh - the event feed's filters (API.md "Event feed
# filters"): aggregate_type, aggregate_id and type on GET /queries/events and
# GET /queries/events/stream.
#
# Commands of every event type, their aggregates interleaved, then the
# unfiltered feed from the head before them (the reference). For each filter
# and combination, paged with limits 1, 2 and 7 (and the default): the
# pages put together are exactly the reference's matching events, in order,
# none missed, none twice; a full page's next_after is its last position, a
# short one's the head (nothing up to it is left to match); a combination
# that nothing can match is an empty page whose next_after is the head. One
# aggregate's history from position 0 is its versions 1, 2, 3 … Every bad
# filter, and unknown parameters, is 400 invalid-parameter on both routes.
# The plan: the statements the daemon runs for a filtered page (the text of
# src/catalog.c's Q_EVENTS_AGGREGATE and Q_EVENTS_TYPES, with values) read
# the index events_aggregate or events_type, never a scan of the table, with
# thousands of events in the store. The stream with filters sends only the
# matching events, in order, with id: = position; Last-Event-ID resumes with
# the next matching one, also from a position that did not match; a live
# filtered stream gets the new matching events and nothing else.
. "$(dirname "$0")/lib.sh"

top=$(cd "$(dirname "$0")/../.." && pwd)
FL="$top/tests/integration/feed_load.py"
U=$(uniq_id)
X="$T_CASE/x"
mkdir -p "$X"
PRODUCT_TYPES="ProductCreated,ProductUpdated,ProductPriceUpdated,ProductRestocked,ProductDeleted"
ALL_TYPES="$PRODUCT_TYPES,CustomerRegistered,OrderPlaced,OrderPaid,OrderShipped,OrderCancelled"

bg_pids=""
cleanup() {
    local p
    for p in $bg_pids; do kill "$p" 2>/dev/null; done
}
trap cleanup EXIT

#=== helpers ===

# c NAME JSON: a command; NAME gets "STATUS POSITION AGGREGATE_ID" in $X/acks
c() {
    local st
    st=$(cmd "$2")
    echo "$1 $st $(jqb '"\(.position // "-") \(.aggregate_id // "-")"' 2>/dev/null)" >>"$X/acks"
    A_ID=$(jqb '.aggregate_id // empty' 2>/dev/null)
    A_POS=$(jqb '.position // empty' 2>/dev/null)
}

# walk NAME QUERY LIMIT AFTER: pages /queries/events?QUERY from AFTER (LIMIT
# "-": the default) until an empty page. $X/NAME.items gets the items (one
# compact object a line), $X/NAME.pages "AFTER COUNT NEXT_AFTER LAST" per
# page; WALK_ERR says why it stopped early.
walk() {
    local name=$1 q=$2 lim=$3 after=$4 k st n l=""
    [ "$lim" != - ] && l="&limit=$lim"
    : >"$X/$name.items"
    : >"$X/$name.pages"
    WALK_ERR=""
    for ((k = 0; k < 300; k++)); do
        st=$(get "/queries/events?after=$after$l${q:+&$q}")
        if [ "$st" != 200 ]; then
            WALK_ERR="after $after: $st $(head -c 300 "$B")"
            return
        fi
        n=$(jqb '.items | length')
        echo "$after $n $(jqb '"\(.next_after) \(.items[-1].position // "-")"')" >>"$X/$name.pages"
        jq -c '.items[]' "$B" >>"$X/$name.items"
        [ "$n" = 0 ] && return
        after=$(jqb .next_after)
    done
    WALK_ERR="no empty page after 300 pages"
}

# expect NAME JQ AFTER: the reference's events after AFTER that JQ selects
# (the matching subsequence) to $X/NAME.want
expect() { jq -c --argjson a "$3" "select(.position > \$a) | select($2)" "$X/all.items" >"$X/$1.want"; }

# filter_case NAME QUERY JQ [AFTER]: the walks with limits 1, 2, 7 and the
# default, each compared with the reference's matching events
filter_case() {
    local name=$1 q=$2 f=$3 after=${4:-$START} lim per
    expect "$name" "$f" "$after"
    for lim in 1 2 7 -; do
        per=100
        [ "$lim" != - ] && per=$lim
        walk "$name-$lim" "$q" "$lim" "$after"
        check "walk $name limit $lim" "" "$WALK_ERR"
        check "walk $name limit $lim: exactly the matching events" "" \
            "$(diff "$X/$name.want" "$X/$name-$lim.items" | head -4)"
        # next_after: the last item's position on a full page, else the head
        check "walk $name limit $lim: next_after" "" "$(awk -v per="$per" -v h="$HEAD" '
            ($2 > per) || ($2 == per && $3 != $4) || ($2 < per && $3 != h)' "$X/$name-$lim.pages" | head -3)"
    done
}

# sse NAME WANT QUERY [curl args...]: a stream of /queries/events/stream?QUERY
# until WANT events came (at most 10 s), then 0.5 s for any extra; its ids,
# event names and data to $X/NAME.ids, .events, .data
sse() {
    local name=$1 want=$2 q=$3 pid i
    shift 3
    curl -s -N --max-time 10 "$@" "$BASE/queries/events/stream?$q" >"$X/$name.sse" 2>/dev/null &
    pid=$!
    for ((i = 0; i < 200; i++)); do
        [ "$(ids_in "$X/$name.sse")" -ge "$want" ] && break
        sleep 0.05
    done
    sleep 0.5
    kill "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null
    sse_parse "$name"
}
ids_in() { awk '/^id:/ { n++ } END { print n + 0 }' "$1" 2>/dev/null || echo 0; }
sse_parse() {
    sed -n 's/^id: //p' "$X/$1.sse" >"$X/$1.ids"
    sed -n 's/^event: //p' "$X/$1.sse" >"$X/$1.events"
    sed -n 's/^data: //p' "$X/$1.sse" | jq -c . >"$X/$1.data" 2>&1
}

# stream_case NAME QUERY JQ: a stream from START with QUERY sends exactly the
# reference's matching events: ids, event names and data
stream_case() {
    local name=$1 q=$2 f=$3
    expect "s-$name" "$f" "$START"
    sse "s-$name" "$(wc -l <"$X/s-$name.want")" "after=$START&$q"
    check "stream $name: ids are the matching positions" "" \
        "$(diff <(jq -r .position "$X/s-$name.want") "$X/s-$name.ids" | head -4)"
    check "stream $name: event names" "" "$(diff <(jq -r .type "$X/s-$name.want") "$X/s-$name.events" | head -4)"
    check "stream $name: data is the event" "" "$(diff "$X/s-$name.want" "$X/s-$name.data" | head -4)"
}

problem400() { # the answer in $B/$H as "STATUS CONTENT-TYPE TYPE STATUS-MEMBER"
    echo "$1 $(hdr Content-Type | cut -d';' -f1) $(jqb '"\(.type) \(.status)"' 2>/dev/null)"
}

#=== setup: every event type, the aggregates interleaved ===

check no-pending-async-commands 0 "$(async_settled)"
START=$(sql "SELECT position FROM event_head WHERE id = 1")
check_match start-head '^[0-9]+$' "$START"
: >"$X/acks"
product() { echo "{\"type\":\"CreateProduct\",\"data\":{\"sku\":\"$1-$U\",\"name\":\"Filter $1\",\"category\":\"Filter-$U\",\"price_cents\":$2,\"stock\":$3}}"; }
restock() { echo "{\"type\":\"RestockProduct\",\"data\":{\"product_id\":$1,\"quantity\":$2}}"; }
customer() { echo "{\"type\":\"RegisterCustomer\",\"data\":{\"name\":\"Filter $1\",\"email\":\"filter-$1.$U@example.com\"}}"; }
c create "$(product FA 500 100)"
P1=$A_ID
c create "$(product FB 700 100)"
P2=$A_ID
c register "$(customer one)"
C1=$A_ID
c restock "$(restock "$P1" 5)"
c update "{\"type\":\"UpdateProduct\",\"data\":{\"product_id\":$P1,\"name\":\"Filter FA renamed\"}}"
c place "{\"type\":\"PlaceOrder\",\"data\":{\"customer_id\":$C1,\"items\":[{\"product_id\":$P1,\"quantity\":2},{\"product_id\":$P2,\"quantity\":1}]}}"
O1=$A_ID
c price "{\"type\":\"UpdateProductPrice\",\"data\":{\"product_id\":$P2,\"price_cents\":750}}"
c pay "{\"type\":\"PayOrder\",\"data\":{\"order_id\":$O1}}"
c register "$(customer two)"
C2=$A_ID
c place "{\"type\":\"PlaceOrder\",\"data\":{\"customer_id\":$C2,\"items\":[{\"product_id\":$P1,\"quantity\":1}]}}"
O2=$A_ID
c restock "$(restock "$P1" 3)"
c ship "{\"type\":\"ShipOrder\",\"data\":{\"order_id\":$O1}}"
c cancel "{\"type\":\"CancelOrder\",\"data\":{\"order_id\":$O2,\"reason\":\"filters\"}}"
c price "{\"type\":\"UpdateProductPrice\",\"data\":{\"product_id\":$P1,\"price_cents\":550}}"
c delete "{\"type\":\"DeleteProduct\",\"data\":{\"product_id\":$P2}}"
c create "$(product FC 900 1000)"
P3=$A_ID
c restock "$(restock "$P3" 10)"
c place "{\"type\":\"PlaceOrder\",\"data\":{\"customer_id\":$C1,\"items\":[{\"product_id\":$P3,\"quantity\":1}]}}"
O3=$A_ID
c restock "$(restock "$P1" 1)"
check setup-answers "201 201 201 200 200 201 200 200 201 201 200 200 200 200 200 201 200 201 200" \
    "$(awk '{printf "%s%s", (NR > 1 ? " " : ""), $2}' "$X/acks")"

#=== the reference: the unfiltered feed from START ===

walk all "" 1000 "$START"
check reference-read "" "$WALK_ERR"
HEAD=$(sql "SELECT position FROM event_head WHERE id = 1")
check reference-reaches-head "$HEAD" "$(tail -1 "$X/all.pages" | cut -d' ' -f3)"
check reference-every-position "" "$(diff <(seq $((START + 1)) "$HEAD") <(jq -r .position "$X/all.items") | head -3)"
check reference-has-every-type "$(echo "$ALL_TYPES" | tr ',' '\n' | sort | tr '\n' ' ')" \
    "$(jq -r .type "$X/all.items" | sort -u | tr '\n' ' ')"
echo "   events $START to $HEAD; P1 $P1 P2 $P2 P3 $P3 C1 $C1 C2 $C2 O1 $O1 O2 $O2 O3 $O3"

#=== filters, paged ===

filter_case product "aggregate_type=product" '.aggregate_type == "product"'
filter_case customer "aggregate_type=customer" '.aggregate_type == "customer"'
filter_case order "aggregate_type=order" '.aggregate_type == "order"'
filter_case p1 "aggregate_type=product&aggregate_id=$P1" ".aggregate_type == \"product\" and .aggregate_id == $P1"
filter_case o1 "aggregate_type=order&aggregate_id=$O1" ".aggregate_type == \"order\" and .aggregate_id == $O1"
filter_case c2 "aggregate_type=customer&aggregate_id=$C2" ".aggregate_type == \"customer\" and .aggregate_id == $C2"
# the same number as another aggregate's id, of the other type
filter_case id-of-p3-as-order "aggregate_type=order&aggregate_id=$P3" ".aggregate_type == \"order\" and .aggregate_id == $P3"
filter_case types "type=OrderPlaced,ProductRestocked" '.type == "OrderPlaced" or .type == "ProductRestocked"'
filter_case one-type "type=ProductDeleted" '.type == "ProductDeleted"'
filter_case repeated-type "type=OrderPaid,OrderPaid" '.type == "OrderPaid"'
filter_case every-type "type=$ALL_TYPES" 'true'
filter_case order-paid-cancelled "aggregate_type=order&type=OrderPaid,OrderCancelled" \
    '.aggregate_type == "order" and (.type == "OrderPaid" or .type == "OrderCancelled")'
# with aggregate_type, only the listed types of that aggregate
filter_case product-and-order-types "aggregate_type=product&type=OrderPlaced,ProductCreated,OrderPaid" \
    '.type == "ProductCreated"'
filter_case p1-some-types "aggregate_type=product&aggregate_id=$P1&type=ProductRestocked,ProductPriceUpdated" \
    ".aggregate_id == $P1 and .aggregate_type == \"product\" and (.type == \"ProductRestocked\" or .type == \"ProductPriceUpdated\")"
# from the middle of the store: after keeps its meaning
MID=$((START + 6))
filter_case p1-from-mid "aggregate_type=product&aggregate_id=$P1" ".aggregate_type == \"product\" and .aggregate_id == $P1" "$MID"
filter_case types-from-mid "type=OrderPlaced,ProductRestocked" '.type == "OrderPlaced" or .type == "ProductRestocked"' "$MID"
# nothing can match: an empty page, next_after moves to the head
filter_case disjoint "aggregate_type=customer&type=OrderPlaced" 'false'
filter_case disjoint-id "aggregate_type=customer&aggregate_id=$C1&type=OrderPlaced,OrderPaid" 'false'
filter_case no-such-aggregate "aggregate_type=order&aggregate_id=9223372036854775807" 'false'
check_match matching-counts '^([1-9][0-9]* ){12}0 0 0 $' "$(for n in product customer order p1 o1 c2 types one-type \
    repeated-type every-type order-paid-cancelled p1-some-types disjoint disjoint-id no-such-aggregate; do
    printf '%s ' "$(wc -l <"$X/$n.want")"; done)"
for q in "aggregate_type=customer&type=OrderPlaced" "aggregate_type=customer&aggregate_id=$C1&type=OrderPlaced"; do
    st=$(get "/queries/events?after=$START&limit=5&$q")
    check "disjoint page ($q)" "200 [] $HEAD" "$st $(jq -c .items "$B") $(jqb .next_after)"
done
st=$(get "/queries/events?after=$START&limit=2&type=ProductDeleted")
check "one match, short page: next_after is the head" "200 1 $HEAD" "$st $(jqb '"\(.items | length) \(.next_after)"')"

# at and beyond the head, as unfiltered: an empty page, next_after the given after
for a in "$HEAD" $((HEAD + 1000)) 9223372036854775807; do
    st=$(get "/queries/events?after=$a&aggregate_type=product&limit=3")
    check "filtered page after $a" "200 [] $a" "$st $(jq -c .items "$B") $(grep -oE '"next_after": ?[0-9]+' "$B" | grep -oE '[0-9]+$')"
done

#=== one aggregate's history: its versions in order ===

for agg in "product $P1" "order $O1" "customer $C1" "product $P2"; do
    set -- $agg
    walk "history-$1-$2" "aggregate_type=$1&aggregate_id=$2" 2 0
    check "history $1 $2" "" "$WALK_ERR"
    check "history $1 $2: versions 1, 2, 3 …" "" "$(jq -sc 'select(map(.aggregate_version) != [range(1; length + 1)]
        or (map(.position) | . != sort) or any(.aggregate_id != '"$2"' or .aggregate_type != "'"$1"'"))
        | map([.position, .aggregate_version])' "$X/history-$1-$2.items")"
    check "history $1 $2: the store's events" \
        "$(sql "SELECT position FROM events WHERE aggregate_type = '$1' AND aggregate_id = $2 ORDER BY position" | tr '\n' ' ')" \
        "$(jq -r .position "$X/history-$1-$2.items" | tr '\n' ' ')"
done
check history-p1-types "ProductCreated ProductRestocked ProductUpdated ProductRestocked ProductPriceUpdated ProductRestocked " \
    "$(jq -r .type "$X/history-product-$P1.items" | tr '\n' ' ')"
check history-o1-types "OrderPlaced OrderPaid OrderShipped " "$(jq -r .type "$X/history-order-$O1.items" | tr '\n' ' ')"
check history-p2-ends-deleted "ProductDeleted" "$(jq -r .type "$X/history-product-$P2.items" | tail -1)"

#=== the stream, filtered ===

stream_case p1 "aggregate_type=product&aggregate_id=$P1" ".aggregate_type == \"product\" and .aggregate_id == $P1"
stream_case types "type=OrderPlaced,ProductRestocked" '.type == "OrderPlaced" or .type == "ProductRestocked"'
stream_case customer "aggregate_type=customer" '.aggregate_type == "customer"'
stream_case order-paid-cancelled "aggregate_type=order&type=OrderPaid,OrderCancelled" \
    '.aggregate_type == "order" and (.type == "OrderPaid" or .type == "OrderCancelled")'

# Last-Event-ID (it wins over after=0): the next matching event after it
mapfile -t p1pos < <(jq -r .position "$X/s-p1.want")
sse resume-p1 $((${#p1pos[@]} - 2)) "after=0&aggregate_type=product&aggregate_id=$P1" -H "Last-Event-ID: ${p1pos[1]}"
check "stream resumes after Last-Event-ID" "$(printf '%s\n' "${p1pos[@]:2}" | tr '\n' ' ')" "$(tr '\n' ' ' <"$X/resume-p1.ids")"
# from a position that is not one of the filter's: the next one that is
gap=$((p1pos[2] + 1))
check "position $gap is not P1's" no "$(printf '%s\n' "${p1pos[@]}" | grep -qx "$gap" && echo yes || echo no)"
sse resume-p1-gap $((${#p1pos[@]} - 3)) "aggregate_type=product&aggregate_id=$P1" -H "Last-Event-ID: $gap"
check "stream resumes after a non-matching Last-Event-ID" "$(printf '%s\n' "${p1pos[@]:3}" | tr '\n' ' ')" \
    "$(tr '\n' ' ' <"$X/resume-p1-gap.ids")"
check "stream resumes: the events" "$(jq -c 'select(.position > '"$gap"')' "$X/s-p1.want")" "$(cat "$X/resume-p1-gap.data")"

# live: streams from the head get the new matching events and nothing else
curl -s -N --max-time 15 "$BASE/queries/events/stream?aggregate_type=product&aggregate_id=$P1" >"$X/live-p1.sse" 2>/dev/null &
lp1=$!
curl -s -N --max-time 15 "$BASE/queries/events/stream?type=CustomerRegistered,OrderCancelled" >"$X/live-types.sse" 2>/dev/null &
lty=$!
bg_pids="$lp1 $lty"
sleep 1
: >"$X/acks"
c restock "$(restock "$P3" 2)"
c restock "$(restock "$P1" 2)"
L1=$A_POS
c register "$(customer three)"
L2=$A_POS
c place "{\"type\":\"PlaceOrder\",\"data\":{\"customer_id\":$C1,\"items\":[{\"product_id\":$P1,\"quantity\":1}]}}"
O4=$A_ID
c price "{\"type\":\"UpdateProductPrice\",\"data\":{\"product_id\":$P1,\"price_cents\":560}}"
L3=$A_POS
c cancel "{\"type\":\"CancelOrder\",\"data\":{\"order_id\":$O4}}"
L4=$A_POS
c restock "$(restock "$P3" 2)"
check live-answers "200 200 201 201 200 200 200" "$(awk '{printf "%s%s", (NR > 1 ? " " : ""), $2}' "$X/acks")"
for ((i = 0; i < 100; i++)); do
    [ "$(ids_in "$X/live-p1.sse")" -ge 2 ] && [ "$(ids_in "$X/live-types.sse")" -ge 2 ] && break
    sleep 0.05
done
sleep 0.5
kill "$lp1" "$lty" 2>/dev/null
wait "$lp1" "$lty" 2>/dev/null
bg_pids=""
sse_parse live-p1
sse_parse live-types
check "live stream, one product" "$L1 $L3 " "$(tr '\n' ' ' <"$X/live-p1.ids")"
check "live stream, one product: events" "ProductRestocked ProductPriceUpdated " "$(tr '\n' ' ' <"$X/live-p1.events")"
check "live stream, types" "$L2 $L4 " "$(tr '\n' ' ' <"$X/live-types.ids")"
check "live stream, types: events" "CustomerRegistered OrderCancelled " "$(tr '\n' ' ' <"$X/live-types.events")"
check "live stream: id is the data's position" "$L1 $L3 $L2 $L4 " \
    "$(cat "$X/live-p1.data" "$X/live-types.data" | jq -r .position | tr '\n' ' ')"

#=== 400 invalid-parameter, on both routes ===

bad_filters=(
    "aggregate_id=$P1" "aggregate_id=$P1&type=ProductCreated" "aggregate_type=" "aggregate_type=Product"
    "aggregate_type=products" "aggregate_type=item" "aggregate_type=product,order" "aggregate_type=%20product"
    "aggregate_type=product&aggregate_id=" "aggregate_type=product&aggregate_id=0"
    "aggregate_type=product&aggregate_id=-1" "aggregate_type=product&aggregate_id=abc"
    "aggregate_type=product&aggregate_id=01" "aggregate_type=product&aggregate_id=1.5"
    "aggregate_type=product&aggregate_id=9223372036854775808" "aggregate_type=product&aggregate_id=$P1,$P3"
    "type=" "type=Foo" "type=orderplaced" "type=OrderPlaced," "type=,OrderPlaced" "type=OrderPlaced,,OrderPaid"
    "type=OrderPlaced,Foo" "type=OrderPlaced%20" "type=OrderPlaced%2C%20OrderPaid" "type=,"
    "aggregate_type=order&type=Nope" "aggregate=product" "aggregateType=product" "types=OrderPlaced"
    "aggregate_type=product&id=1" "event_type=OrderPlaced" "foo=1"
)
for q in "${bad_filters[@]}"; do
    st=$(get "/queries/events?after=0&limit=5&$q")
    check "400 page $q" "400 application/problem+json invalid-parameter 400" "$(problem400 "$st")"
    st=$(get "/queries/events/stream?after=0&$q" --max-time 5)
    check "400 stream $q" "400 application/problem+json invalid-parameter 400" "$(problem400 "$st")"
done
# the problem names what is wrong
get "/queries/events?type=OrderPlaced,Foo" >/dev/null
check_match "400 detail names the type" "Foo" "$(jqb .detail)"
get "/queries/events?aggregate_id=1" >/dev/null
check_match "400 detail names aggregate_type" "aggregate_type" "$(jqb .detail)"

#=== the plan: by index, never a scan of the whole store ===

# the statements of src/catalog.c (they must still be these)
COLS='SELECT position, `type`, aggregate_type, aggregate_id, aggregate_version, data, command_id, CONCAT(REPLACE(CAST(occurred_at AS CHAR), '"' '"', '"'T'"'), '"'Z'"') FROM events '
check plan-statements-current 3 "$(grep -cF -e 'WHERE `type` IN " IN10 " AND position > ? AND position <= ? "' \
    -e 'WHERE aggregate_type = ? AND aggregate_id = ? AND `type` IN "' -e '"ORDER BY aggregate_version LIMIT ?"' \
    "$top/src/catalog.c")"
# in10 TYPE...: the ten type slots as the daemon fills them (unused ones repeat the last)
in10() {
    local t=("$@") out="" i
    for ((i = 0; i < 10; i++)); do out="$out${out:+, }'${t[$((i < $# ? i : $# - 1))]}'"; done
    echo "($out)"
}
# plan NAME KEY SQL: EXPLAIN SQL reads one table by the index KEY (the first
# key named: MariaDB may add a rowid filter by another, "ref|filter"), not
# by a full scan (type ALL, or index: the whole of an index), and expects to
# read a few rows of the thousands
plan() {
    local p
    p=$(sql "EXPLAIN $3" 2>&1 | awk -F'\t' '{print $3, $4, $6, $9, $10}')
    echo "   plan $1: $p"
    check "plan $1: one table" 1 "$(echo "$p" | grep -c .)"
    check "plan $1: not a scan" yes "$(echo "$p" | awk '{print ($2 !~ /^(ALL|index)($|\|)/) ? "yes" : $2}')"
    check "plan $1: by $2" "$2" "$(echo "$p" | awk '{sub(/\|.*/, "", $3); print $3}')"
    check "plan $1: a few rows" yes "$(echo "$p" | awk -v n="$PHEAD" '{print ($4 + 0 < n / 20) ? "yes" : $4 " of " n}')"
    PLAN=$p
}

# thousands of events, mostly OrderPlaced and ProductRestocked: a small table
# is read whole whatever its indexes, this one is not
prods=""
for i in 1 2 3 4; do
    st=$(cmd "$(product FL$i 100 100000000)")
    [ "$st" = 201 ] && prods="$prods${prods:+,}$(jqb .aggregate_id)"
done
custs="$C1,$C2"
RESTOCK_SHARE=0.2 python3 "$FL" write "$BASE" 6 6 "$prods" "$custs" "$X/load"
check_match plan-load '^sent [0-9]+ ok [0-9]+ rejected 0 failed 0 ' "$(cat "$X/load")"
PHEAD=$(sql "SELECT position FROM event_head WHERE id = 1")
sql "ANALYZE TABLE events" >/dev/null
echo "   events in the store: $PHEAD ($(cat "$X/load"))"
check_match plan-enough-events '^([2-9][0-9]{3}|[0-9]{5,})$' "$PHEAD"

plan aggregate events_aggregate "$COLS WHERE aggregate_type = 'product' AND aggregate_id = $P1 AND \`type\` IN $(in10 ${PRODUCT_TYPES//,/ }) AND position > 0 AND position <= $PHEAD ORDER BY aggregate_version LIMIT 100"
check "plan aggregate: in version order, no sort" "" "$(echo "$PLAN" | grep -o filesort)"
plan aggregate-types events_aggregate "$COLS WHERE aggregate_type = 'order' AND aggregate_id = $O1 AND \`type\` IN $(in10 OrderPaid OrderShipped) AND position > $START AND position <= $PHEAD ORDER BY aggregate_version LIMIT 7"
plan one-type events_type "$COLS WHERE \`type\` IN $(in10 ProductDeleted) AND position > 0 AND position <= $PHEAD ORDER BY position LIMIT 100"
plan customer events_type "$COLS WHERE \`type\` IN $(in10 CustomerRegistered) AND position > $START AND position <= $PHEAD ORDER BY position LIMIT 2"
plan types events_type "$COLS WHERE \`type\` IN $(in10 OrderPaid OrderShipped OrderCancelled ProductDeleted) AND position > $START AND position <= $PHEAD ORDER BY position LIMIT 7"
# and the daemon's answers, with thousands of events, are the store's
for q in "aggregate_type=product&aggregate_id=$P1" "type=ProductDeleted,CustomerRegistered"; do
    st=$(get "/queries/events?after=0&limit=1000&$q")
    check "after the load: $q" "200 $(sql "SELECT GROUP_CONCAT(position ORDER BY position) FROM events WHERE $(
        [ "${q%%=*}" = type ] && echo "\`type\` IN ('ProductDeleted', 'CustomerRegistered')" ||
            echo "aggregate_type = 'product' AND aggregate_id = $P1")")" "$st $(jqb '[.items[].position] | map(tostring) | join(",")')"
done

finish

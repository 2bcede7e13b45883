#!/usr/bin/env bash
# 40_event_feed.sh - the event store as a product (API.md "GET
# /queries/events" and "Details … Events"): while 8 writers send a mix of
# commands for 20 s, a reader pages the feed with small pages (limit 3, and
# some 1 and 7) from the head at the start; after the writers stop it pages
# to the end. Its sequence must equal a final full read (limit 1000)
# exactly: the same events in the same order, no duplicates, no gaps, every
# position from start+1 to the final head, and exactly the events of the
# commands that succeeded (each at the position its acknowledgement gave).
# Replaying the feed in position order gives every product's price and
# stock as the events and the write model say. Also: next_after, the limit
# and after bounds, each item's members, and the data of each event type.
. "$(dirname "$0")/lib.sh"

U=$(uniq_id)
IDN='[1-9][0-9]*'
ID="^$IDN\$"
WRITERS=8
LOAD_SECONDS=20
TS_RE='^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{3}Z$'
W="$T_CASE/w"
R="$T_CASE/r"
mkdir -p "$W" "$R"

bg_pids=""
cleanup() {
    local p
    for p in $bg_pids; do kill "$p" 2>/dev/null; done
}
trap cleanup EXIT

#=== helpers ===

# send OUT OP JSON: POST /commands; appends one line to OUT:
# "OP STATUS TYPE POSITION AGGREGATE_ID VERSION COMMAND_ID AGGREGATE_TYPE"
# (TYPE: the command type on success, else the problem type; "-" if absent).
# The body is left in OUT.body; A_ID is the new aggregate's id after a 201.
send() {
    local out=$1 op=$2 st t pos id ver cid at
    st=$(curl -s --max-time 30 -o "$out.body" -w '%{http_code}' -H 'Content-Type: application/json' \
        --data-binary "$3" "$BASE/commands")
    read -r t pos id ver cid at < <(jq -r '"\(.type // "-") \(.position // "-") \(.aggregate_id // "-") \(.version // "-") \(.command_id // "-") \(.aggregate_type // "-")"' \
        "$out.body" 2>/dev/null || echo unparsable)
    echo "$op $st $t $pos $id $ver $cid $at" >>"$out"
    A_ID=""
    [ "$st" = 201 ] && A_ID=$id
}

# The command envelopes, in $J
product_json() { # product_json SKU PRICE STOCK
    J="{\"type\":\"CreateProduct\",\"data\":{\"sku\":\"$1\",\"name\":\"Feed $1\",\"category\":\"Feed-$U\",\"price_cents\":$2,\"stock\":$3}}"
}
customer_json() { # customer_json NAME
    J="{\"type\":\"RegisterCustomer\",\"data\":{\"name\":\"$1\",\"email\":\"$1.$U@example.com\"}}"
}
order_json() { # order_json CUSTOMER ID:QTY...
    local c=$1 out="" a
    shift
    for a in "$@"; do out="$out${out:+,}{\"product_id\":${a%%:*},\"quantity\":${a#*:}}"; done
    J="{\"type\":\"PlaceOrder\",\"data\":{\"customer_id\":$c,\"items\":[$out]}}"
}

# event POSITION: the final read's event at POSITION (compact JSON)
event() { jq -c --argjson p "$1" 'select(.position == $p)' "$T_CASE/final.items"; }

# ack_of LOG: "POSITION AGGREGATE_ID VERSION COMMAND_ID" of LOG's last line
ack_of() { tail -1 "$1" | awk '{print $4, $5, $6, $7}'; }

#=== the start: the head before anything this script does ===

# Asynchronous commands queued by earlier scripts would append events of
# their own: wait (bounded) until none is queued or running.
check no-pending-async-commands 0 "$(async_settled)"
START=$(sql "SELECT position FROM event_head WHERE id = 1")
check_match start-head '^[0-9]+$' "$START"

#=== setup, with known event data (also part of the feed under test) ===

S="$T_CASE/setup.log"
: >"$S"
send "$S" create "$(jq -nc --arg s "FD-$U" '{type: "CreateProduct", data: {sku: $s, name: "Feed Dune",
    description: "A desert planet", category: ("Feed-" + $s), price_cents: 1234, stock: 50}}')"
P1=${A_ID:-0}
ACK_CREATE=$(ack_of "$S")
send "$S" price "{\"type\":\"UpdateProductPrice\",\"data\":{\"product_id\":$P1,\"price_cents\":1500}}"
ACK_PRICE=$(ack_of "$S")
send "$S" restock "{\"type\":\"RestockProduct\",\"data\":{\"product_id\":$P1,\"quantity\":7}}"
ACK_RESTOCK=$(ack_of "$S")
customer_json feedada
send "$S" register "$J"
C1=${A_ID:-0}
ACK_REGISTER=$(ack_of "$S")
product_json "FE-$U" 300 1000
send "$S" create "$J"
P2=${A_ID:-0}
order_json "$C1" "$P1:2" "$P2:3"
send "$S" place "$J"
O1=${A_ID:-0}
ACK_PLACE=$(ack_of "$S")
send "$S" pay "{\"type\":\"PayOrder\",\"data\":{\"order_id\":$O1}}"
ACK_PAY=$(ack_of "$S")
order_json "$C1" "$P2:1"
send "$S" place "$J"
O2=${A_ID:-0}
send "$S" cancel "{\"type\":\"CancelOrder\",\"data\":{\"order_id\":$O2,\"reason\":\"changed my mind\"}}"
ACK_CANCEL=$(ack_of "$S")
check setup-answers "201 200 200 201 201 201 200 201 200" "$(awk '{printf "%s%s", (NR > 1 ? " " : ""), $2}' "$S")"

# the writers' pool: products with plenty of stock, a few customers
pool=("$P2")
for i in 1 2 3 4 5; do
    product_json "FP$i-$U" $((i * 100 + 9)) 100000
    send "$S" create "$J"
    pool+=("$A_ID")
done
custs=("$C1")
for i in 1 2 3; do
    customer_json "feedcust$i"
    send "$S" register "$J"
    custs+=("$A_ID")
done
check pool-setup 10 "$(printf '%s\n' "${pool[@]}" "${custs[@]}" | grep -cE "$ID")"

#=== the load: 8 writers for 20 s ===

# writer N: a random mix of the seven command types until the deadline
writer() {
    local n=$1 end=$((SECONDS + LOAD_SECONDS)) k op p q c o
    local log="$W/$n.log" prods=("${pool[@]}") cs=("${custs[@]}") orders=()
    : >"$log"
    for ((k = 0; k < 3000 && SECONDS < end; k++)); do
        p=${prods[$((RANDOM % ${#prods[@]}))]}
        q=${prods[$((RANDOM % ${#prods[@]}))]}
        c=${cs[$((RANDOM % ${#cs[@]}))]}
        o=""
        [ ${#orders[@]} -gt 0 ] && o=${orders[$((RANDOM % ${#orders[@]}))]}
        case $((RANDOM % 16)) in
        0) op=create && product_json "FW$n-$k-$U" $((RANDOM % 9000 + 1)) $((RANDOM % 500 + 500)) ;;
        1) op=register && customer_json "feedw$n-$k" ;;
        2 | 3) op=price J="{\"type\":\"UpdateProductPrice\",\"data\":{\"product_id\":$p,\"price_cents\":$((RANDOM % 9000 + 1))}}" ;;
        4 | 5) op=restock J="{\"type\":\"RestockProduct\",\"data\":{\"product_id\":$p,\"quantity\":$((RANDOM % 20 + 1))}}" ;;
        6 | 7 | 8 | 9 | 10)
            op=place
            if [ "$p" = "$q" ]; then order_json "$c" "$p:$((RANDOM % 3 + 1))"; else
                order_json "$c" "$p:$((RANDOM % 3 + 1))" "$q:$((RANDOM % 2 + 1))"
            fi
            ;;
        11 | 12) op=pay J="{\"type\":\"PayOrder\",\"data\":{\"order_id\":${o:-0}}}" ;;
        *) op=cancel J="{\"type\":\"CancelOrder\",\"data\":{\"order_id\":${o:-0},\"reason\":\"writer $n\"}}" ;;
        esac
        if [ -z "$o" ] && { [ $op = pay ] || [ $op = cancel ]; }; then continue; fi
        send "$log" "$op" "$J"
        if [ -n "$A_ID" ]; then
            case $op in
            create) prods+=("$A_ID") ;;
            register) cs+=("$A_ID") ;;
            place) orders+=("$A_ID") ;;
            esac
        fi
    done
}

# reader: pages from START with limit 3 (every 10th page 1, every 10th 7)
# until the writers are done and a page that began after that is empty.
# Cheap per page (one curl, the rest builtins) so that it keeps up with the
# head: pages.log gets "AFTER LIMIT STATUS" and bodies the page's body, one
# line per page; the checks below take them apart with jq. next_after is
# read by a pattern on the compact body, and by jq when that does not match.
reader() {
    local after=$START k lim st body na done_before end=$((SECONDS + LOAD_SECONDS + 60))
    local re='"next_after":([0-9]+)\}$' empty_re='^\{"items":\[\],'
    : >"$R/bodies"
    : >"$R/pages.log"
    for ((k = 0; k < 40000 && SECONDS < end; k++)); do
        case $((k % 10)) in 4) lim=1 ;; 9) lim=7 ;; *) lim=3 ;; esac
        done_before=no
        [ -f "$W/done" ] && done_before=yes
        st=$(curl -s --max-time 30 -o "$R/page" -w '%{http_code}' "$BASE/queries/events?after=$after&limit=$lim")
        body=""
        IFS= read -r -d '' body <"$R/page"
        body=${body%$'\n'}
        echo "$after $lim $st" >>"$R/pages.log"
        if [ "$st" != 200 ]; then
            echo '{"not200": true}' >>"$R/bodies"
            continue
        fi
        printf '%s\n' "$body" >>"$R/bodies"
        if [[ $body =~ $re ]]; then na=${BASH_REMATCH[1]}; else na=$(jq -r .next_after "$R/page"); fi
        if [ $done_before = yes ] && { [[ $body =~ $empty_re ]] || [ "$(jq '.items | length' "$R/page")" = 0 ]; }; then
            echo done >"$R/finished"
            return
        fi
        case $na in '' | *[!0-9]*) return ;; esac # unusable: the checks below say why
        after=$na
    done
}

reader &
reader_pid=$!
bg_pids="$reader_pid"
load_t0=$SECONDS
wpids=""
for n in $(seq 1 $WRITERS); do
    writer "$n" &
    wpids="$wpids $!"
done
bg_pids="$bg_pids$wpids"
for p in $wpids; do wait "$p"; done
echo done >"$W/done"
load_s=$((SECONDS - load_t0))
wait "$reader_pid"
bg_pids=""
echo "   load: $load_s s of writes, the reader finished $((SECONDS - load_t0 - load_s)) s later"
cat "$W"/*.log | awk '{print $1, $2, $3}' | sort | uniq -c | sed 's/^/   writers: /'

HEAD=$(sql "SELECT position FROM event_head WHERE id = 1")
check_match head-moved '^[0-9]+$' "$HEAD"
echo "   events from $START to $HEAD: $((HEAD - START))"

#=== the writers' answers ===

check writers-no-5xx "" "$(cat "$W"/*.log | awk '$2 !~ /^[234]/' | head -5)"
check writers-only-expected-answers "" "$(cat "$W"/*.log | awk '!(($1 ~ /^(create|register|place)$/ && $2 == 201) ||
    ($1 ~ /^(price|restock|pay|cancel)$/ && $2 == 200) ||
    ($1 == "place" && $2 == 409 && $3 == "insufficient-stock") ||
    ($1 ~ /^(pay|cancel)$/ && $2 == 409 && $3 == "invalid-state-transition"))' | sort -u | head -5)"
for op in create register price restock place pay cancel; do
    check_match "writers-some-$op" '^[1-9]' "$(cat "$W"/*.log | awk -v o=$op '$1 == o && $2 ~ /^20/' | wc -l)"
done

#=== the reader ===

# one line per page: "AFTER LIMIT STATUS COUNT NEXT_AFTER LAST"
jq -r 'if .not200 then "- - -" else "\(.items | length) \(.next_after) \(.items[-1].position // "-")" end' \
    "$R/bodies" >"$R/pages.items" 2>&1
paste -d' ' "$R/pages.log" "$R/pages.items" >"$R/pages"
jq -r 'select(.not200 | not) | .items[].position' "$R/bodies" >"$R/positions" 2>&1
check reader-finished done "$(cat "$R/finished" 2>/dev/null)"
check reader-all-200 "" "$(awk '$3 != 200' "$R/pages" | head -3)"
check_match reader-pages '^[1-9][0-9]+$' "$(wc -l <"$R/pages")"
check reader-one-body-per-page "$(wc -l <"$R/pages.log")" "$(wc -l <"$R/pages.items")"
# next_after: the last item's position, or the given after on an empty page
check reader-next-after "" "$(awk '$3 == 200 && !(($4 > 0 && $5 == $6) || ($4 == 0 && $5 == $1))' "$R/pages" | head -3)"
check reader-page-sizes "" "$(awk '$3 == 200 && ($4 > $2 || $4 < 0)' "$R/pages" | head -3)"
check reader-limits-used "1 3 7" "$(awk '$4 > 0 {print $2}' "$R/pages" | sort -un | tr '\n' ' ' | sed 's/ $//')"
# how close to the head the reader was: pages that were short (it caught up)
echo "   reader: $(wc -l <"$R/pages") pages, $(awk '$4 < $2' "$R/pages" | wc -l) short or empty"

#=== the final full read, limit 1000 ===

after=$START
: >"$T_CASE/final.items"
: >"$T_CASE/final.pages"
final_ok=yes
for ((k = 0; k < 1000; k++)); do
    st=$(get "/queries/events?after=$after&limit=1000")
    if [ "$st" != 200 ]; then
        final_ok="page after $after: $st $(body)"
        break
    fi
    n=$(jqb '.items | length')
    echo "$after $n $(jqb .next_after)" >>"$T_CASE/final.pages"
    jq -c '.items[]' "$B" >>"$T_CASE/final.items"
    [ "$n" = 0 ] && break
    after=$(jqb .next_after)
done
check final-read "yes" "$final_ok"
check final-full-pages "" "$(awk '$2 != 1000 && $2 != 0' "$T_CASE/final.pages" | sed '$d' | head -3)"
jq -r .position "$T_CASE/final.items" >"$T_CASE/final.positions"
seq $((START + 1)) "$HEAD" >"$T_CASE/expected.positions"
check final-every-position "" "$(diff "$T_CASE/expected.positions" "$T_CASE/final.positions" | head -5)"
check_match final-count "^$((HEAD - START))\$" "$(wc -l <"$T_CASE/final.positions")"

# the reader saw exactly the same sequence, and the same events
check reader-equals-final "" "$(diff "$R/positions" "$T_CASE/final.positions" | head -5)"
check reader-no-duplicates "" "$(sort -n "$R/positions" | uniq -d | head -3)"
jq -c 'select(.not200 | not) | .items[]' "$R/bodies" >"$T_CASE/reader.items" 2>&1
check reader-items-equal-final "" "$(diff "$T_CASE/reader.items" "$T_CASE/final.items" | head -3)"

#=== every item's members ===

check item-members "" "$(jq -c 'select((keys_unsorted | sort) != (["aggregate_id", "aggregate_type",
    "aggregate_version", "command_id", "data", "occurred_at", "position", "type"] | sort))' \
    "$T_CASE/final.items" | head -2)"
check item-types "" "$(jq -c --arg ts "$TS_RE" 'select(
    (.position | type) != "number" or (.type | type) != "string" or
    (.aggregate_type | IN("product", "customer", "order") | not) or
    (.aggregate_id | type) != "number" or .aggregate_id < 1 or .aggregate_id != (.aggregate_id | floor) or
    (.aggregate_version | type) != "number" or .aggregate_version < 1 or
    (.data | type) != "object" or (.command_id | type) != "string" or (.command_id | length) == 0 or
    (.occurred_at | type) != "string" or (.occurred_at | test($ts) | not))' "$T_CASE/final.items" | head -2)"
check item-type-names "" "$(jq -r '.type' "$T_CASE/final.items" | sort -u | grep -vxE \
    'ProductCreated|ProductPriceUpdated|ProductRestocked|CustomerRegistered|OrderPlaced|OrderPaid|OrderCancelled' | head -3)"

#=== the feed is exactly the events of the commands that succeeded ===

# a successful command appends one event at the position of its answer,
# with its command_id, and the aggregate's version after it
cat "$S" "$W"/*.log | awk '$2 ~ /^20[01]$/ {
    t = $3; e = "?";
    if (t == "CreateProduct") e = "ProductCreated"; else if (t == "UpdateProductPrice") e = "ProductPriceUpdated";
    else if (t == "RestockProduct") e = "ProductRestocked"; else if (t == "RegisterCustomer") e = "CustomerRegistered";
    else if (t == "PlaceOrder") e = "OrderPlaced"; else if (t == "PayOrder") e = "OrderPaid";
    else if (t == "CancelOrder") e = "OrderCancelled";
    print $4, e, $8, $5, $6, $7 }' | sort -n >"$T_CASE/acks"
jq -r '"\(.position) \(.type) \(.aggregate_type) \(.aggregate_id) \(.aggregate_version) \(.command_id)"' \
    "$T_CASE/final.items" >"$T_CASE/final.summary"
check feed-equals-acks "" "$(diff "$T_CASE/acks" "$T_CASE/final.summary" | head -5)"
# per aggregate, versions are 1, 2, 3 … in position order
check aggregate-versions "" "$(jq -rs 'group_by("\(.aggregate_type)/\(.aggregate_id)") | map(select(
    (map(.aggregate_version)) != [range(1; length + 1)])) | .[0:2] | map(map(.position)) | tostring' \
    "$T_CASE/final.items" | grep -v '^\[\]$')"

#=== the data of each event type ===

ev=$(event "$(echo "$ACK_CREATE" | cut -d' ' -f1)")
check data-ProductCreated "ProductCreated product $P1 1 {\"sku\":\"FD-$U\",\"name\":\"Feed Dune\",\"description\":\"A desert planet\",\"category\":\"Feed-FD-$U\",\"price_cents\":1234,\"stock\":50}" \
    "$(echo "$ev" | jq -r '"\(.type) \(.aggregate_type) \(.aggregate_id) \(.aggregate_version) \(.data | {sku, name, description, category, price_cents, stock} | tojson)"')"
ev=$(event "$(echo "$ACK_PRICE" | cut -d' ' -f1)")
check data-ProductPriceUpdated "ProductPriceUpdated product $P1 2 {\"old_price_cents\":1234,\"new_price_cents\":1500}" \
    "$(echo "$ev" | jq -r '"\(.type) \(.aggregate_type) \(.aggregate_id) \(.aggregate_version) \(.data | {old_price_cents, new_price_cents} | tojson)"')"
ev=$(event "$(echo "$ACK_RESTOCK" | cut -d' ' -f1)")
check data-ProductRestocked "ProductRestocked product $P1 3 {\"quantity\":7,\"stock\":57}" \
    "$(echo "$ev" | jq -r '"\(.type) \(.aggregate_type) \(.aggregate_id) \(.aggregate_version) \(.data | {quantity, stock} | tojson)"')"
ev=$(event "$(echo "$ACK_REGISTER" | cut -d' ' -f1)")
check data-CustomerRegistered "CustomerRegistered customer $C1 1 {\"email\":\"feedada.$U@example.com\",\"name\":\"feedada\"}" \
    "$(echo "$ev" | jq -r '"\(.type) \(.aggregate_type) \(.aggregate_id) \(.aggregate_version) \(.data | {email, name} | tojson)"')"
ev=$(event "$(echo "$ACK_PLACE" | cut -d' ' -f1)")
check data-OrderPlaced "OrderPlaced order $O1 1 {\"customer_id\":$C1,\"items\":[{\"product_id\":$P1,\"quantity\":2,\"unit_price_cents\":1500},{\"product_id\":$P2,\"quantity\":3,\"unit_price_cents\":300}],\"total_cents\":3900}" \
    "$(echo "$ev" | jq -r '"\(.type) \(.aggregate_type) \(.aggregate_id) \(.aggregate_version) \(.data | {customer_id, items: (.items | map({product_id, quantity, unit_price_cents})), total_cents} | tojson)"')"
ev=$(event "$(echo "$ACK_PAY" | cut -d' ' -f1)")
check data-OrderPaid "OrderPaid order $O1 2 {}" \
    "$(echo "$ev" | jq -r '"\(.type) \(.aggregate_type) \(.aggregate_id) \(.aggregate_version) \(.data | tojson)"')"
ev=$(event "$(echo "$ACK_CANCEL" | cut -d' ' -f1)")
check data-OrderCancelled "OrderCancelled order $O2 2 {\"reason\":\"changed my mind\"}" \
    "$(echo "$ev" | jq -r '"\(.type) \(.aggregate_type) \(.aggregate_id) \(.aggregate_version) \(.data | {reason} | tojson)"')"
# the same members in every event of the load
check data-members-under-load "" "$(jq -c 'select(
    (.type == "ProductCreated" and ((.data | has("sku") and has("name") and has("description") and has("category")
        and has("price_cents") and has("stock")) | not)) or
    (.type == "ProductPriceUpdated" and ((.data.old_price_cents | type) != "number" or (.data.new_price_cents | type) != "number")) or
    (.type == "ProductRestocked" and ((.data.quantity | type) != "number" or (.data.stock | type) != "number")) or
    (.type == "CustomerRegistered" and ((.data.email | type) != "string" or (.data.name | type) != "string")) or
    (.type == "OrderPlaced" and ((.data.customer_id | type) != "number" or (.data.items | type) != "array" or
        (.data.items | length) == 0 or
        ([.data.items[] | (.product_id | type) == "number" and (.quantity | type) == "number" and
            (.unit_price_cents | type) == "number"] | all | not) or
        .data.total_cents != ([.data.items[] | .quantity * .unit_price_cents] | add))) or
    (.type == "OrderPaid" and .data != {}) or
    (.type == "OrderCancelled" and (.data.reason | type) != "string"))' "$T_CASE/final.items" | head -2)"

#=== replaying the feed in position order ===

# Every product of the feed was created inside it. Replay prices and stock:
# each ProductPriceUpdated's old price, each order line's unit price and
# each ProductRestocked's stock must be what the events before it say.
jq -s -r '
  reduce .[] as $e ({price: {}, stock: {}, lines: {}, bad: []};
    ($e.aggregate_id | tostring) as $id |
    if $e.type == "ProductCreated" then .price[$id] = $e.data.price_cents | .stock[$id] = $e.data.stock
    elif $e.type == "ProductPriceUpdated" then
      (if .price[$id] != $e.data.old_price_cents then .bad += ["\($e.position) old price \($e.data.old_price_cents), replay \(.price[$id])"] else . end)
      | .price[$id] = $e.data.new_price_cents
    elif $e.type == "ProductRestocked" then
      (if .stock[$id] + $e.data.quantity != $e.data.stock then .bad += ["\($e.position) stock \($e.data.stock), replay \(.stock[$id]) + \($e.data.quantity)"] else . end)
      | .stock[$id] = $e.data.stock
    elif $e.type == "OrderPlaced" then
      .lines[$id] = $e.data.items
      | reduce $e.data.items[] as $l (.;
          ($l.product_id | tostring) as $p |
          (if .price[$p] != $l.unit_price_cents then .bad += ["\($e.position) order line of \($p) at \($l.unit_price_cents), replay \(.price[$p])"] else . end)
          | .stock[$p] -= $l.quantity
          | (if .stock[$p] < 0 then .bad += ["\($e.position) stock of \($p) below zero"] else . end))
    elif $e.type == "OrderCancelled" then
      reduce (.lines[$id] // [])[] as $l (.; .stock[$l.product_id | tostring] += $l.quantity)
    else . end)
  | (.bad[0:5][] | "BAD \(.)"), (.price | keys[] as $k | "\($k) \(.[$k])") ' \
    "$T_CASE/final.items" >"$T_CASE/replay.price" 2>"$T_CASE/replay.err"
jq -s -r 'reduce .[] as $e ({stock: {}, lines: {}};
    ($e.aggregate_id | tostring) as $id |
    if $e.type == "ProductCreated" or $e.type == "ProductRestocked" then .stock[$id] = $e.data.stock
    elif $e.type == "OrderPlaced" then .lines[$id] = $e.data.items
      | reduce $e.data.items[] as $l (.; .stock[$l.product_id | tostring] -= $l.quantity)
    elif $e.type == "OrderCancelled" then
      reduce (.lines[$id] // [])[] as $l (.; .stock[$l.product_id | tostring] += $l.quantity)
    else . end) | .stock | keys[] as $k | "\($k) \(.[$k])"' \
    "$T_CASE/final.items" 2>>"$T_CASE/replay.err" | sort -n >"$T_CASE/replay.stock"
check replay-consistent "" "$(grep '^BAD' "$T_CASE/replay.price" | head -5; head -3 "$T_CASE/replay.err")"
grep -v '^BAD' "$T_CASE/replay.price" | sort -n >"$T_CASE/replay.price.sorted"
ids=$(cut -d' ' -f1 "$T_CASE/replay.stock" | paste -sd, -)
check_match replay-products '^[1-9]' "$(wc -l <"$T_CASE/replay.stock")"
check replay-price-equals-write-model "" "$(diff "$T_CASE/replay.price.sorted" \
    <(sql "SELECT id, price_cents FROM products WHERE id IN (${ids:-0}) ORDER BY id" | tr '\t' ' ') | head -5)"
check replay-stock-equals-write-model "" "$(diff "$T_CASE/replay.stock" \
    <(sql "SELECT id, stock FROM products WHERE id IN (${ids:-0}) ORDER BY id" | tr '\t' ' ') | head -5)"
check replay-stock-equals-query "$(grep "^$P1 " "$T_CASE/replay.stock" | cut -d' ' -f2)" \
    "$(get "/queries/products/$P1" >/dev/null && jqb .stock)"

#=== next_after, defaults and bounds ===

st=$(get "/queries/events?after=$START&limit=1000")
check limit-1000 "200 application/json $(((HEAD - START) < 1000 ? HEAD - START : 1000))" "$st $(hdr Content-Type | cut -d';' -f1) $(jqb '.items | length')"
check limit-1000-next-after "$(jqb '.items[-1].position')" "$(jqb .next_after)"
st=$(get "/queries/events?after=$START")
check limit-default-100 "200 100 $((START + 1)) $((START + 100)) $((START + 100))" \
    "$st $(jqb '"\(.items | length) \(.items[0].position) \(.items[-1].position) \(.next_after)"')"
st=$(get "/queries/events?limit=2")
check after-default-0 "200 1 2 2" "$st $(jqb '"\(.items[0].position) \(.items[1].position) \(.next_after)"')"
st=$(get "/queries/events?after=$((HEAD - 2))&limit=5")
check page-at-head "200 $((HEAD - 1)) $HEAD $HEAD" "$st $(jqb '"\([.items[].position] | map(tostring) | join(" ")) \(.next_after)"')"
st=$(get "/queries/events?after=$HEAD&limit=5")
check empty-page-at-head "200 [] $HEAD" "$st $(jqb '"\(.items | tojson) \(.next_after)"')"
st=$(get "/queries/events?after=$((HEAD + 1000))&limit=5")
check empty-page-beyond-head "200 [] $((HEAD + 1000))" "$st $(jqb '"\(.items | tojson) \(.next_after)"')"
st=$(get "/queries/events?after=9223372036854775807")
check empty-page-max-after "200 [] 9223372036854775807" "$st $(jq -c .items "$B") $(grep -oE '"next_after": ?[0-9]+' "$B" | grep -oE '[0-9]+$')"
st=$(get "/queries/events?after=$START&limit=1")
check limit-1 "200 1 $((START + 1))" "$st $(jqb '"\(.items | length) \(.next_after)"')"
for bad in "limit=0" "limit=1001" "limit=abc" "limit=-1" "limit=" "limit=1.5" "after=abc" "after=-1" \
    "after=" "after=9223372036854775808" "after=1&limit=10&foo=1"; do
    st=$(get "/queries/events?$bad")
    check "bad-$bad" "400 application/problem+json invalid-parameter 400" \
        "$st $(hdr Content-Type | cut -d';' -f1) $(jqb '"\(.type) \(.status)"' 2>/dev/null)"
done

finish

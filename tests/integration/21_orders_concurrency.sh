#!/usr/bin/env bash
# 21_orders_concurrency.sh - PlaceOrder never oversells under concurrency,
# orders over the same products named in opposite orders neither deadlock
# nor fail, and after a mixed concurrent workload every row of product_view,
# order_summary_view and customer_view equals its recomputation from the
# write tables (sql/recompute/*.sql).
. "$(dirname "$0")/lib.sh"

TOP=$(cd "$(dirname "$0")/../.." && pwd)
U=$(uniq_id)
IDN='[1-9][0-9]*'
ID="^$IDN\$"

#=== helpers ===

# create_product SKU PRICE STOCK: prints the new product's id (a category of
# its own: categories are not what this script tests)
create_product() {
    local st
    st=$(cmd "$(jq -nc --arg s "$1" --argjson p "$2" --argjson k "$3" \
        '{type: "CreateProduct", data: {sku: $s, name: ("Name of " + $s), category: ("Cat-" + $s),
          price_cents: $p, stock: $k}}')")
    if [ "$st" = 201 ]; then jqb .aggregate_id; else echo "FAIL setup: CreateProduct $1: $st $(body)" >&2; fi
}

# register NAME EMAIL: prints the new customer's id
register() {
    local st
    st=$(cmd "$(jq -nc --arg n "$1" --arg e "$2" '{type: "RegisterCustomer", data: {name: $n, email: $e}}')")
    if [ "$st" = 201 ]; then jqb .aggregate_id; else echo "FAIL setup: RegisterCustomer $2: $st $(body)" >&2; fi
}

# send OUT JSON: POST /commands; writes "STATUS TYPE" (TYPE: the problem
# type, or "-") to OUT and the body to OUT.body
send() {
    local st
    st=$(curl -s --max-time 30 -o "$1.body" -w '%{http_code}' -H 'Content-Type: application/json' \
        --data-binary "$2" "$BASE/commands")
    echo "$st $(jq -r '.type // "-"' "$1.body" 2>/dev/null || echo unparsable)" >"$1"
}

# psales ID: the figures that orders move
psales() { get "/queries/products/$1" >/dev/null && jq -c '{stock, units_sold, revenue_cents, order_count, version}' "$B"; }

# place_json CUSTOMER ID:QTY...
place_json() {
    local c=$1 out="" a
    shift
    for a in "$@"; do out="$out${out:+,}{\"product_id\":${a%%:*},\"quantity\":${a#*:}}"; done
    echo "{\"type\":\"PlaceOrder\",\"data\":{\"customer_id\":$c,\"items\":[$out]}}"
}

#=== 40 orders race for 10 units ===

P=$(create_product "RACE-$U" 250 10)
customers=()
for i in 1 2 3 4; do customers+=("$(register "Racer $i" "racer$i.$U@example.com")"); done
check_match race-setup "^$IDN $IDN $IDN $IDN $IDN\$" "$P ${customers[*]}"
mkdir -p "$T_CASE/race"
for i in $(seq 1 40); do
    send "$T_CASE/race/$i" "$(place_json "${customers[$((i % 4))]}" "$P:1")" &
done
wait
replicas_caught_up # send keeps no tokens
cat "$T_CASE"/race/[0-9]* | sort | uniq -c | sed 's/^/   race: /'
check race-answers 40 "$(cat "$T_CASE"/race/[0-9]* | wc -l)"
check race-201 10 "$(grep -c '^201 ' "$T_CASE"/race/[0-9]* | awk -F: '{s += $2} END {print s}')"
check race-409 30 "$(grep -c '^409 insufficient-stock$' "$T_CASE"/race/[0-9]* | awk -F: '{s += $2} END {print s}')"
check race-no-5xx 0 "$(grep -c '^5' "$T_CASE"/race/[0-9]* | awk -F: '{s += $2} END {print s}')"
check race-product '{"stock":0,"units_sold":10,"revenue_cents":2500,"order_count":10,"version":1}' "$(psales "$P")"
check race-write-stock 0 "$(sql "SELECT stock FROM products WHERE id = $P")"
check race-lines "10 10" "$(sql "SELECT COUNT(*), SUM(quantity) FROM order_lines WHERE product_id = $P" | tr '\t' ' ')"
# every refusal names the product with what was left when it was refused
check race-409-bodies 30 "$(for f in "$T_CASE"/race/[0-9]*; do
    grep -q '^409 ' "$f" && jq -c --argjson p "$P" \
        'select(.products | length == 1 and .[0].product_id == $p and .[0].requested == 1 and .[0].available == 0)' "$f.body"
done | wc -l)"
check race-customers 10 "$(for c in "${customers[@]}"; do
    get "/queries/customers/$c" >/dev/null && jqb .order_count
done | awk '{s += $1} END {print s}')"

#=== 20 orders over the same products, named in opposite orders ===

PA=$(create_product "OA-$U" 100 100)
PB=$(create_product "OB-$U" 1000 100)
PC=$(create_product "OC-$U" 10000 100)
C=$(register "Opposite" "opposite.$U@example.com")
check_match opposite-setup "^$IDN $IDN $IDN $IDN\$" "$PA $PB $PC $C"
mkdir -p "$T_CASE/opp"
for i in $(seq 1 20); do
    if [ $((i % 2)) = 0 ]; then
        send "$T_CASE/opp/$i" "$(place_json "$C" "$PA:1" "$PB:2" "$PC:3")" &
    else
        send "$T_CASE/opp/$i" "$(place_json "$C" "$PC:3" "$PB:2" "$PA:1")" &
    fi
done
wait
replicas_caught_up
cat "$T_CASE"/opp/[0-9]* | sort | uniq -c | sed 's/^/   opposite: /'
check opposite-201 20 "$(grep -c '^201 ' "$T_CASE"/opp/[0-9]* | awk -F: '{s += $2} END {print s}')"
check opposite-no-500-503 0 "$(grep -cE '^(500|503) ' "$T_CASE"/opp/[0-9]* | awk -F: '{s += $2} END {print s}')"
check opposite-a '{"stock":80,"units_sold":20,"revenue_cents":2000,"order_count":20,"version":1}' "$(psales "$PA")"
check opposite-b '{"stock":60,"units_sold":40,"revenue_cents":40000,"order_count":20,"version":1}' "$(psales "$PB")"
check opposite-c '{"stock":40,"units_sold":60,"revenue_cents":600000,"order_count":20,"version":1}' "$(psales "$PC")"
get "/queries/customers/$C" >/dev/null
check opposite-customer "20 $((20 * (100 + 2 * 1000 + 3 * 10000)))" "$(jqb '"\(.order_count) \(.spent_cents)"')"
check opposite-events 20 "$(sql "SELECT COUNT(*) FROM events WHERE type = 'OrderPlaced' AND JSON_EXTRACT(data, '\$.customer_id') = $C")"

#=== a mixed concurrent workload ===

pool=()
for i in 1 2 3 4 5 6; do pool+=("$(create_product "MIX$i-$U" $((i * 100 + 7)) 30)"); done
mixc=()
for i in 1 2 3 4; do mixc+=("$(register "Mixer $i" "mixer$i.$U@example.com")"); done
check mix-setup 10 "$(printf '%s\n' "${pool[@]}" "${mixc[@]}" | grep -cE "$ID")"
W="$T_CASE/mix"
mkdir -p "$W"
: >"$W/orders"

# worker N: random commands for ~10 s (at most 300); one "OP STATUS TYPE" line each
worker() {
    local n=$1 end=$((SECONDS + 10)) k op a b c o body st
    local log="$W/log.$n" out="$W/out.$n"
    for ((k = 0; k < 300 && SECONDS < end; k++)); do
        op=$((RANDOM % 10))
        a=${pool[$((RANDOM % 6))]}
        b=${pool[$((RANDOM % 6))]}
        c=${mixc[$((RANDOM % 4))]}
        o=$(shuf -n 1 "$W/orders" 2>/dev/null)
        case $op in
        0 | 1 | 2 | 3)
            if [ "$a" = "$b" ]; then
                body=$(place_json "$c" "$a:$((RANDOM % 3 + 1))")
            else
                body=$(place_json "$c" "$a:$((RANDOM % 3 + 1))" "$b:$((RANDOM % 3 + 1))")
            fi
            op=place
            ;;
        4 | 5) body="{\"type\":\"PayOrder\",\"data\":{\"order_id\":${o:-1}}}" op=pay ;;
        6) body="{\"type\":\"ShipOrder\",\"data\":{\"order_id\":${o:-1}}}" op=ship ;;
        7) body="{\"type\":\"CancelOrder\",\"data\":{\"order_id\":${o:-1},\"reason\":\"worker $n\"}}" op=cancel ;;
        8) body="{\"type\":\"UpdateProductPrice\",\"data\":{\"product_id\":$a,\"price_cents\":$((RANDOM % 5000 + 1))}}" op=price ;;
        9) body="{\"type\":\"RestockProduct\",\"data\":{\"product_id\":$a,\"quantity\":$((RANDOM % 10 + 1))}}" op=restock ;;
        esac
        [ -z "$o" ] && [ "$op" != place ] && [ "$op" != price ] && [ "$op" != restock ] && continue
        send "$out" "$body"
        read -r st _ <"$out"
        echo "$op $(cat "$out")" >>"$log"
        [ "$op" = place ] && [ "$st" = 201 ] && jq -r .aggregate_id "$out.body" >>"$W/orders"
    done
}
# one order to start from, so that pay/ship/cancel have something to do
first=$(send "$W/first" "$(place_json "${mixc[0]}" "${pool[0]}:1")" && jq -r .aggregate_id "$W/first.body")
check_match mix-first "$ID" "$first"
echo "$first" >>"$W/orders"
for n in 1 2 3 4 5 6 7 8; do worker "$n" & done
wait
replicas_caught_up
cat "$W"/log.* | sort | uniq -c | sed 's/^/   mix: /'
check mix-no-5xx 0 "$(cat "$W"/log.* | awk '$2 !~ /^[234]/' | wc -l)"
# the only refusals the rules allow here
check mix-only-expected-answers "" "$(cat "$W"/log.* | awk '!(($1 == "place" && ($2 == 201 || ($2 == 409 && $3 == "insufficient-stock"))) ||
    ($1 ~ /^(pay|ship|cancel)$/ && ($2 == 200 || ($2 == 409 && $3 == "invalid-state-transition"))) ||
    ($1 ~ /^(price|restock)$/ && $2 == 200))' | sort -u | head -5)"
for op in place pay ship cancel price restock; do
    check_match "mix-some-$op" '^[1-9]' "$(grep -cE "^$op 20[01] " "$W"/log.* | awk -F: '{s += $2} END {print s}')"
done
check mix-no-negative-stock 0 "$(sql "SELECT COUNT(*) FROM products WHERE stock < 0")"
# stock is conserved: created + restocked - sold (lines of orders not cancelled)
for p in "${pool[@]}"; do
    restocked=$(sql "SELECT COALESCE(SUM(JSON_EXTRACT(data, '\$.quantity')), 0) FROM events
                      WHERE type = 'ProductRestocked' AND aggregate_id = $p")
    get "/queries/products/$p" >/dev/null
    check "mix-stock-conserved-$p" "$((30 + restocked))" "$(jqb '.stock + .units_sold')"
done
mix_orders=$(sql "SELECT COUNT(*) FROM orders WHERE customer_id IN ($(IFS=,; echo "${mixc[*]}"))")
check mix-orders-are-201s "$mix_orders" "$(($(grep -c '^place 201 ' "$W"/log.* | awk -F: '{s += $2} END {print s}') + 1))"
check mix-order-events "$mix_orders" "$(sql "SELECT COUNT(*) FROM events WHERE type = 'OrderPlaced'
    AND JSON_EXTRACT(data, '\$.customer_id') IN ($(IFS=,; echo "${mixc[*]}"))")"

#=== every view row equals its recomputation from the write tables ===

for v in product_view order_summary_view customer_view; do
    cols=$(sql "SELECT GROUP_CONCAT(COLUMN_NAME ORDER BY ORDINAL_POSITION SEPARATOR ', ')
                  FROM information_schema.COLUMNS
                 WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = '$v' AND COALESCE(GENERATION_EXPRESSION, '') = ''")
    check_match "$v-columns" '_id, ' "$cols"
    # both in one snapshot: a command committing in between is no difference
    sql "SET SESSION group_concat_max_len = 1048576;
         START TRANSACTION WITH CONSISTENT SNAPSHOT, READ ONLY;
         SELECT $cols FROM $v ORDER BY 1; SELECT '-- recomputed --';
         $(cat "$TOP/sql/recompute/$v.sql"); COMMIT;" >"$T_CASE/$v.both" 2>"$T_CASE/$v.err"
    sed '/^-- recomputed --$/,$d' "$T_CASE/$v.both" >"$T_CASE/$v.view"
    sed '1,/^-- recomputed --$/d' "$T_CASE/$v.both" >"$T_CASE/$v.recomputed"
    check "$v-query-errors" "" "$(cat "$T_CASE/$v.err")"
    check_match "$v-rows" '^[1-9][0-9]*$' "$(wc -l <"$T_CASE/$v.view")"
    d=$(diff "$T_CASE/$v.view" "$T_CASE/$v.recomputed")
    check "$v-equals-recompute" "" "$(echo "$d" | head -20)"
    # the stored documents are JSON (read raw: no batch-mode escaping): the
    # newest 40 rows and 40 random ones
    pk=${cols%%,*}
    rows=$(wc -l <"$T_CASE/$v.view")
    mariadb --no-defaults -uroot --socket="$DB_DIR/s.sock" -N -B -r cqrs -e \
        "(SELECT doc FROM $v ORDER BY $pk DESC LIMIT 40)
         UNION ALL (SELECT doc FROM $v ORDER BY RAND() LIMIT 40)" >"$T_CASE/$v.docs"
    check "$v-docs-json" "$((2 * (rows < 40 ? rows : 40))) true" \
        "$(jq -s -r '"\(length) \(map(type == "object") | all)"' "$T_CASE/$v.docs" 2>&1)"
    check "$v-docs-ids" "$(cut -f1 "$T_CASE/$v.view" | sort -rn | head -40 | tr '\n' ' ')" \
        "$(head -n $((rows < 40 ? rows : 40)) "$T_CASE/$v.docs" | jq -r ".$pk" | tr '\n' ' ')"
done
# the recomputation covers what this script made
check recompute-has-race-product 1 "$(awk -F'\t' -v p="$P" '$1 == p' "$T_CASE/product_view.recomputed" | wc -l)"
check recompute-has-mix-orders "$mix_orders" "$(awk -F'\t' -v c=" ${mixc[*]} " 'index(c, " " $2 " ")' "$T_CASE/order_summary_view.recomputed" | wc -l)"

finish

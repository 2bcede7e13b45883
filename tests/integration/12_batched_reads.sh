#!/usr/bin/env bash
# 12_batched_reads.sh - GETs by id that arrive together are answered by the
# batch readers with shared IN (...) statements (src/batch.c). Whatever is
# batched with what, each answer must be its own: many concurrent GETs of
# products, orders and customers, mixed with ids that do not exist (404) and
# conditional GETs (304), each get the status, ETag and the exact stored
# document of their id (compared with the view row read by SQL).
. "$(dirname "$0")/lib.sh"

U=$(uniq_id)
D="$T_CASE/batch"
mkdir -p "$D"

#=== some of each kind ===
pids=()
for i in $(seq 1 30); do
    s=$(cmd "{\"type\":\"CreateProduct\",\"data\":{\"sku\":\"BR-$U-$i\",\"name\":\"Batch $i\",\"category\":\"br-$U-$((i % 3))\",\"price_cents\":$((100 + i)),\"stock\":50}}")
    [ "$s" = 201 ] && pids+=("$(jqb .aggregate_id)")
done
check products-created 30 "${#pids[@]}"
cids=()
for i in 1 2 3; do
    s=$(cmd "{\"type\":\"RegisterCustomer\",\"data\":{\"email\":\"br-$U-$i@example.com\",\"name\":\"Batch $i\"}}")
    [ "$s" = 201 ] && cids+=("$(jqb .aggregate_id)")
done
check customers-created 3 "${#cids[@]}"
oids=()
for i in $(seq 1 9); do
    s=$(cmd "{\"type\":\"PlaceOrder\",\"data\":{\"customer_id\":${cids[$((i % 3))]},\"items\":[{\"product_id\":${pids[$i]},\"quantity\":1}]}}")
    [ "$s" = 201 ] && oids+=("$(jqb .aggregate_id)")
done
check orders-placed 9 "${#oids[@]}"

# the stored documents, straight from the views: KIND ID DOC
{
    sql "SELECT 'products', product_id, doc FROM product_view WHERE product_id IN ($(IFS=,; echo "${pids[*]}"))"
    sql "SELECT 'orders', order_id, doc FROM order_summary_view WHERE order_id IN ($(IFS=,; echo "${oids[*]}"))"
    sql "SELECT 'customers', customer_id, doc FROM customer_view WHERE customer_id IN ($(IFS=,; echo "${cids[*]}"))"
} >"$D/docs"
check docs-read 42 "$(wc -l <"$D/docs")"

# one ETag per product, for the conditional GETs
for p in "${pids[@]:0:10}"; do
    get "/queries/products/$p" >/dev/null
    echo "$p $(hdr ETag)"
done >"$D/etags"

#=== the mixed load: every request 4 times, 32 at once ===
# expected: NAME KIND ID STATUS; curl config: one block per request
: >"$D/expected"
: >"$D/curl.cfg"
n=0
add() { # KIND ID STATUS [IF-NONE-MATCH]
    n=$((n + 1))
    echo "r$n $1 $2 $3" >>"$D/expected"
    {
        [ $n -gt 1 ] && echo "next"
        echo "url = \"$BASE/queries/$1/$2\""
        echo "output = \"$D/r$n\""
        echo "dump-header = \"$D/r$n.h\""
        echo "write-out = \"r$n %{http_code}\\n\""
        [ -n "${4:-}" ] && echo "header = \"If-None-Match: ${4//\"/\\\"}\""
    } >>"$D/curl.cfg"
}
for round in 1 2 3 4; do
    for p in "${pids[@]}"; do add products "$p" 200; done
    for o in "${oids[@]}"; do add orders "$o" 200; done
    for c in "${cids[@]}"; do add customers "$c" 200; done
    for k in 1 2 3 4 5; do
        add products $((9000000000 + round * 10 + k)) 404
        add orders $((9000000000 + round * 10 + k)) 404
    done
    add customers $((9000000000 + round)) 404
    while read -r p e; do add products "$p" 304 "$e"; done <"$D/etags"
    add products "${pids[0]}" 200 '"0000000000000000"' # an ETag that does not match
done
metric() { curl -s "$BASE/metrics" | awk -v k="$1" '$1 == k { print $2 }'; }
replicas_caught_up # the batch below sends no token
b0=$(metric cqrsd_read_batches_total)
r0=$(metric cqrsd_read_batched_total)
curl -s -Z --parallel-max 32 -K "$D/curl.cfg" >"$D/got" 2>"$D/curl.err"
b1=$(metric cqrsd_read_batches_total)
r1=$(metric cqrsd_read_batched_total)
# every GET went to the readers, and some shared a statement (the shared
# daemon serves other scripts' reads only between scripts)
check "all $n reads went to the batch readers" yes "$([ $((r1 - r0)) -ge "$n" ] && echo yes || echo "no ($((r1 - r0)))")"
check "some reads shared a statement" yes "$([ $((b1 - b0)) -lt $((r1 - r0)) ] && echo yes || echo "no ($((b1 - b0)) statements for $((r1 - r0)) reads)")"
check all-answered "$n" "$(wc -l <"$D/got")"

bad=0
while read -r name kind id want; do
    st=$(awk -v n="$name" '$1 == n { print $2 }' "$D/got")
    if [ "$st" != "$want" ]; then
        echo "FAIL $name: GET /queries/$kind/$id: status $st, want $want"
        bad=$((bad + 1))
        continue
    fi
    case $want in
    200)
        doc=$(awk -F'\t' -v k="$kind" -v i="$id" '$1 == k && $2 == i { print $3 }' "$D/docs")
        if [ "$(cat "$D/$name")" != "$doc" ]; then
            echo "FAIL $name: GET /queries/$kind/$id: not its document: $(head -c 200 "$D/$name")"
            bad=$((bad + 1))
        fi
        if [ "$kind" = products ] && ! grep -qi '^ETag: "' "$D/$name.h"; then
            echo "FAIL $name: no ETag"
            bad=$((bad + 1))
        fi
        ;;
    304)
        if [ -s "$D/$name" ]; then
            echo "FAIL $name: 304 with a body"
            bad=$((bad + 1))
        fi
        ;;
    404)
        # a product's 404 names its id (so a mix-up between batched requests shows);
        # an order's or a customer's names none (API.md "Authorization": another
        # customer's id answers exactly as an unknown one)
        if [ "$kind" = products ]; then want_detail="product $id not found"; else want_detail="no such ${kind%s}"; fi
        if [ "$(jq -r '"\(.type) \(.status)"' "$D/$name" 2>/dev/null)" != "not-found 404" ] ||
            [ "$(jq -r .detail "$D/$name")" != "$want_detail" ]; then
            echo "FAIL $name: GET /queries/$kind/$id: not the 404 problem of an unknown $kind: $(head -c 200 "$D/$name")"
            bad=$((bad + 1))
        fi
        ;;
    esac
done <"$D/expected"
check "every one of $n concurrent answers is its own" 0 "$bad"

# the daemon still answers one at a time, too
check single-get 200 "$(get "/queries/products/${pids[5]}")"
check single-get-doc "$(awk -F'\t' -v i="${pids[5]}" '$1 == "products" && $2 == i { print $3 }' "$D/docs")" "$(body)"
finish

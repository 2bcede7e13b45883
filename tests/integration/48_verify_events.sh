#!/usr/bin/env bash
# 48_verify_events.sh - `cqrsd verify-events` (OPERATING.md): the event store,
# replayed from position 1 and folded into each aggregate, equals the write
# model after a mixed concurrent workload of every command type (so every
# type's events carry what its changes need); a write made by hand without
# its event, an event altered by hand and an event that lost a field are
# each reported, naming the aggregate and the field, with exit status 1.
#
# Its own database and accounts (cqrs_t48, t48_writer, t48_reader) and its
# own daemon: the shared database has seen hand-made writes of other scripts.
. "$(dirname "$0")/lib.sh"

DB48=cqrs_t48
export CQRSD_WRITE_DSN="mysql://t48_writer:t48_writer@127.0.0.1:$DB_PORT/$DB48"
export CQRSD_READ_DSN="mysql://t48_reader:t48_reader@127.0.0.1:$DB_PORT/$DB48"
sql "DROP DATABASE IF EXISTS $DB48" >/dev/null
check migrate 0 "$("$CQRSD_BIN" migrate >"$T_CASE/migrate.out" 2>&1; echo $?)"
PORT=$(free_port)
start_daemon t48 "$PORT" --threads 8 --queue-workers 1 || { finish; exit 1; }
URL_BASE="http://127.0.0.1:$PORT"
s48() { mariadb --no-defaults -uroot -h127.0.0.1 -P"$DB_PORT" -N -B "$DB48" -e "$1"; }

# verify: runs verify-events; its output in $T_CASE/verify.out, prints the exit status
verify() {
    "$CQRSD_BIN" verify-events >"$T_CASE/verify.out" 2>&1
    echo $?
}

#=== 1. every command type, some of them concurrently ===

U=$(uniq_id)
for i in 1 2 3 4 5; do
    cmd "{\"type\":\"CreateProduct\",\"data\":{\"sku\":\"VE$i-$U\",\"name\":\"Replay $i\",\"description\":\"d$i\",\"category\":\"Replay-$U\",\"price_cents\":$((100 * i)),\"stock\":1000}}" >/dev/null
done
for i in 1 2 3; do
    cmd "{\"type\":\"RegisterCustomer\",\"data\":{\"name\":\"Replayer $i\",\"email\":\"replay$i.$U@example.com\"}}" >/dev/null
done
check products-and-customers "5 3" "$(s48 "SELECT COUNT(*) FROM products") $(s48 "SELECT COUNT(*) FROM customers")"
check update-product 200 "$(cmd '{"type":"UpdateProduct","data":{"product_id":1,"name":"Renamed","description":"new words","category":"Elsewhere"}}')"
check update-price 200 "$(cmd '{"type":"UpdateProductPrice","data":{"product_id":2,"price_cents":250}}')"
check restock 200 "$(cmd '{"type":"RestockProduct","data":{"product_id":3,"quantity":7}}')"
check delete-product 200 "$(cmd '{"type":"DeleteProduct","data":{"product_id":5}}')"
for o in 1 2 3 4; do
    cmd "{\"type\":\"PlaceOrder\",\"data\":{\"customer_id\":$(((o % 3) + 1)),\"items\":[{\"product_id\":2,\"quantity\":$o},{\"product_id\":3,\"quantity\":1}]}}" >/dev/null
done
check orders 4 "$(s48 "SELECT COUNT(*) FROM orders")"
check pay 200 "$(cmd '{"type":"PayOrder","data":{"order_id":1}}')"
check pay-2 200 "$(cmd '{"type":"PayOrder","data":{"order_id":2}}')"
check ship 200 "$(cmd '{"type":"ShipOrder","data":{"order_id":1}}')"
check cancel-paid 200 "$(cmd '{"type":"CancelOrder","data":{"order_id":2,"reason":"paid, then not wanted"}}')"
check cancel-placed 200 "$(cmd '{"type":"CancelOrder","data":{"order_id":3,"reason":"changed my mind"}}')"

# concurrent writers: orders, cancellations, restocks and prices on the same products
load() {
    local w=$1 n id
    for n in $(seq 1 25); do
        curl -s -o "$T_CASE/load$w.json" -H 'Content-Type: application/json' \
            --data-binary "{\"type\":\"PlaceOrder\",\"data\":{\"customer_id\":$((w % 3 + 1)),\"items\":[{\"product_id\":$((n % 4 + 1)),\"quantity\":1},{\"product_id\":2,\"quantity\":2}]}}" \
            "$URL_BASE/commands" >/dev/null
        id=$(jq -r '.aggregate_id // empty' "$T_CASE/load$w.json" 2>/dev/null)
        if [ -n "$id" ] && [ $((n % 3)) = 0 ]; then
            curl -s -o /dev/null -H 'Content-Type: application/json' \
                --data-binary "{\"type\":\"CancelOrder\",\"data\":{\"order_id\":$id,\"reason\":\"w$w\"}}" "$URL_BASE/commands"
        fi
        curl -s -o /dev/null -H 'Content-Type: application/json' \
            --data-binary "{\"type\":\"RestockProduct\",\"data\":{\"product_id\":$((n % 4 + 1)),\"quantity\":3}}" "$URL_BASE/commands"
        curl -s -o /dev/null -H 'Content-Type: application/json' -H 'Prefer: respond-async' \
            --data-binary "{\"type\":\"UpdateProductPrice\",\"data\":{\"product_id\":$((n % 4 + 1)),\"price_cents\":$((100 + n))}}" "$URL_BASE/commands"
    done
}
pids=""
for w in 1 2 3 4; do
    load $w &
    pids="$pids $!"
done
wait $pids # not a bare wait: the daemon is a job of this shell too
for _ in $(seq 1 100); do
    [ "$(s48 "SELECT COUNT(*) FROM command_queue WHERE status IN ('queued', 'running')")" = 0 ] && break
    sleep 0.1
done
types=$(s48 "SELECT COUNT(DISTINCT type) FROM events")
check "every event type was written" 10 "$types"
check "a clean store: exit 0" 0 "$(verify)"
check_match "a clean store: the summary" '^verify-events: the event store holds every change$' "$(tail -1 "$T_CASE/verify.out")"
check_match "a clean store: counts" "^verify-events: $(s48 "SELECT COUNT(*) FROM events") events of [0-9]+ aggregates replayed, 0 differences" \
    "$(grep replayed "$T_CASE/verify.out")"

# while commands run: what differs between its two reads is compared again
# in one snapshot, so it reports nothing that is not there
for w in 1 2; do load $((w + 4)) & done
sleep 0.3
for i in 1 2 3; do
    check "while commands run ($i): exit 0" 0 "$(verify)"
done
for p in $(jobs -p); do [ "$(cat "$T/daemon-t48.pid")" != "$p" ] && wait "$p"; done
check "after the load: exit 0" 0 "$(verify)"

#=== 2. what it finds ===

# a write made by hand, without its event
s48 "UPDATE products SET price_cents = price_cents + 1 WHERE id = 2"
check "hand write: exit 1" 1 "$(verify)"
check_match "hand write: names product 2 and its price" '^verify-events: product 2: price_cents: the events give [0-9]+, the table has [0-9]+$' \
    "$(grep 'product 2:' "$T_CASE/verify.out")"
check "hand write: one difference" 1 "$(grep -c '^verify-events: [a-z]* [0-9]*:' "$T_CASE/verify.out")"
s48 "UPDATE products SET price_cents = price_cents - 1 WHERE id = 2"
s48 "UPDATE customers SET name = 'Someone else' WHERE id = 1"
verify >/dev/null
check_match "hand write: a customer's name" '^verify-events: customer 1: name: the events give "Replayer 1", the table has "Someone else"$' \
    "$(grep 'customer 1:' "$T_CASE/verify.out")"
s48 "UPDATE customers SET name = 'Replayer 1' WHERE id = 1"
s48 "UPDATE orders SET status = 'paid' WHERE id = 3"
verify >/dev/null
check_match "hand write: an order's status" '^verify-events: order 3: status: the events give cancelled, the table has paid$' \
    "$(grep 'order 3:' "$T_CASE/verify.out")"
s48 "UPDATE orders SET status = 'cancelled' WHERE id = 3"
check "restored: exit 0" 0 "$(verify)"

# an event altered by hand: a restock of another size moves the stock it gives
pos=$(s48 "SELECT MIN(position) FROM events WHERE type = 'ProductRestocked' AND aggregate_id = 3")
s48 "UPDATE events SET data = JSON_REPLACE(data, '$.quantity', 1007) WHERE position = $pos"
check "altered event: exit 1" 1 "$(verify)"
check_match "altered event: product 3's stock" '^verify-events: product 3: stock: the events give [0-9]+, the table has [0-9]+$' \
    "$(grep 'product 3:' "$T_CASE/verify.out")"
s48 "UPDATE events SET data = JSON_REPLACE(data, '$.quantity', 7) WHERE position = $pos"
# an order's lines, altered in its event
pos=$(s48 "SELECT position FROM events WHERE type = 'OrderPlaced' AND aggregate_id = 4")
s48 "UPDATE events SET data = JSON_REPLACE(data, '$.items[0].quantity', 40) WHERE position = $pos"
verify >/dev/null
check_match "altered event: order 4's line" '^verify-events: order 4: line: the events give product 2 x 40 at' \
    "$(grep 'order 4:' "$T_CASE/verify.out" | head -1)"
s48 "UPDATE events SET data = JSON_REPLACE(data, '$.items[0].quantity', 4) WHERE position = $pos"

# an event that lost a field: what a command that forgot it would have written
for spec in "OrderCancelled:order:reason" "CustomerRegistered:customer:email" \
    "ProductCreated:product:price_cents" "OrderPlaced:order:customer_id" \
    "ProductPriceUpdated:product:new_price_cents" "ProductRestocked:product:quantity"; do
    IFS=: read -r et agg field <<<"$spec"
    row=$(s48 "SELECT position, aggregate_id FROM events WHERE type = '$et' ORDER BY position LIMIT 1")
    pos=${row%%$'\t'*}
    aid=${row##*$'\t'}
    s48 "CREATE TABLE t48_saved AS SELECT position, data FROM events WHERE position = $pos"
    s48 "UPDATE events SET data = JSON_REMOVE(data, '$.$field') WHERE position = $pos"
    st=$(verify)
    check "$et without $field: exit 1" 1 "$st"
    check_match "$et without $field: named" "^verify-events: $agg $aid: events: $et without $field \\(the aggregate is not compared\\)$" \
        "$(grep "$agg $aid:" "$T_CASE/verify.out" | head -1)"
    s48 "UPDATE events e JOIN t48_saved s ON s.position = e.position SET e.data = s.data"
    s48 "DROP TABLE t48_saved"
done
check "all restored: exit 0" 0 "$(verify)"

stop_daemon t48 >/dev/null
sql "DROP DATABASE IF EXISTS $DB48" >/dev/null
sql "DROP USER IF EXISTS 't48_writer'@'%', 't48_reader'@'%'" >/dev/null
finish

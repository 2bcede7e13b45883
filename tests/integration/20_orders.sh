#!/usr/bin/env bash
# 20_orders.sh - customers and orders (API.md): RegisterCustomer, PlaceOrder
# without overselling, the order state machine (PayOrder, ShipOrder,
# CancelOrder), GET /queries/orders/{id}, GET /queries/customers/{id}[/orders]
# and the sales figures the triggers keep in product_view and customer_view.
. "$(dirname "$0")/lib.sh"

U=$(uniq_id)
CAT="Orders-$U"
NOBODY=900000000000001 # an id that no test creates (and that jq keeps exact)
TS='^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{3}Z$'
IDN='[1-9][0-9]*'
ID="^$IDN\$"

#=== helpers ===

# create_product SKU PRICE STOCK: prints the new product's id. Each product
# gets a category of its own: categories are not what this script tests.
create_product() {
    local st
    st=$(cmd "$(jq -nc --arg s "$1" --arg c "$CAT-$1" --argjson p "$2" --argjson k "$3" \
        '{type: "CreateProduct", data: {sku: $s, name: ("Name of " + $s), category: $c,
          price_cents: $p, stock: $k}}')")
    if [ "$st" = 201 ]; then jqb .aggregate_id; else echo "FAIL setup: CreateProduct $1: $st $(body)" >&2; fi
}

# register NAME EMAIL: prints the new customer's id
register() {
    local st
    st=$(cmd "$(jq -nc --arg n "$1" --arg e "$2" '{type: "RegisterCustomer", data: {name: $n, email: $e}}')")
    if [ "$st" = 201 ]; then jqb .aggregate_id; else echo "FAIL setup: RegisterCustomer $2: $st $(body)" >&2; fi
}

# items ID:QTY...: the JSON array of PlaceOrder items
items() {
    local out="" a
    for a in "$@"; do out="$out${out:+,}{\"product_id\":${a%%:*},\"quantity\":${a#*:}}"; done
    echo "[$out]"
}

# place CUSTOMER ID:QTY...: PlaceOrder, prints the status
place() {
    local c=$1
    shift
    cmd "{\"type\":\"PlaceOrder\",\"data\":{\"customer_id\":$c,\"items\":$(items "$@")}}"
}

# place_ok CUSTOMER ID:QTY...: PlaceOrder that must succeed; prints the order id
place_ok() {
    local st
    st=$(place "$@")
    if [ "$st" = 201 ]; then jqb .aggregate_id; else echo "FAIL setup: PlaceOrder $*: $st $(body)" >&2; fi
}

# order_cmd TYPE ORDER [EXTRA]: PayOrder/ShipOrder/CancelOrder; EXTRA is more
# members of data (',"expected_version":2'); prints the status
order_cmd() {
    cmd "{\"type\":\"$1\",\"data\":{\"order_id\":$2${3:-}}}"
}

# pget ID FILTER / cget ID FILTER / oget ID FILTER: a member of a view
pget() { get "/queries/products/$1" >/dev/null && jqb "$2"; }
cget() { get "/queries/customers/$1" >/dev/null && jqb "$2"; }
oget() { get "/queries/orders/$1" >/dev/null && jqb "$2"; }

# psales ID / csales ID: the figures that orders move
psales() { get "/queries/products/$1" >/dev/null && jq -c '{stock, units_sold, revenue_cents, order_count, version}' "$B"; }
csales() { get "/queries/customers/$1" >/dev/null && jq -c '{order_count, spent_cents, last_order_at}' "$B"; }

# event_at POSITION: the event at POSITION (body in $B)
event_at() { get "/queries/events?after=$(($1 - 1))&limit=1" >/dev/null && jq -c '.items[0]' "$B"; }

# is_problem NAME STATUS TYPE GOT: the last answer is that problem
is_problem() {
    check "$1-status" "$2" "$4"
    check "$1-type" "$3" "$(jqb .type)"
    check "$1-problem-status" "$2" "$(jqb .status)"
    check_match "$1-ct" '^application/problem\+json' "$(hdr Content-Type)"
}

# fields: the error fields of the last answer, comma-separated
fields() { jqb '[.errors[]?.field] | join(",")'; }

# customer_orders CUSTOMER: the customer's order ids in the write model, newest first
customer_orders() { sql "SELECT id FROM orders WHERE customer_id = $1 ORDER BY id DESC" | tr '\n' ' '; }
head_position() { sql "SELECT position FROM event_head WHERE id = 1"; }

#=== RegisterCustomer ===

EMAIL="Ada.$U@Example.com"
st=$(cmd "$(jq -nc --arg e "$EMAIL" '{type: "RegisterCustomer", data: {email: $e, name: "  Ada Lovelace  "}}')")
check register-status 201 "$st"
C1=$(jqb .aggregate_id)
check_match register-id "$ID" "$C1"
check register-location "/queries/customers/$C1" "$(hdr Location)"
check_match register-ct '^application/json' "$(hdr Content-Type)"
check register-ack "RegisterCustomer succeeded customer 1" "$(jqb '"\(.type) \(.status) \(.aggregate_type) \(.version)"')"
check_match register-command-id '.' "$(jqb '.command_id // empty')"
check_match register-position "$ID" "$(jqb .position)"
POS=$(jqb .position)
check register-event "CustomerRegistered customer $C1 1 $EMAIL Ada Lovelace" \
    "$(event_at "$POS" | jq -r '"\(.type) \(.aggregate_type) \(.aggregate_id) \(.aggregate_version) \(.data.email) \(.data.name)"')"

check customer-get 200 "$(get "/queries/customers/$C1")"
check_match customer-get-ct '^application/json' "$(hdr Content-Type)"
check customer-keys '["customer_id","email","last_order_at","last_updated","name","order_count","registered_at","spent_cents"]' \
    "$(jq -c keys "$B")"
check customer-id "$C1" "$(jqb .customer_id)"
check customer-name-trimmed "Ada Lovelace" "$(jqb .name)"
check customer-email-as-given "$EMAIL" "$(jqb .email)"
check customer-figures '0 0 null' "$(jqb '"\(.order_count) \(.spent_cents) \(.last_order_at)"')"
check customer-figures-types 'number number null' "$(jqb '"\(.order_count|type) \(.spent_cents|type) \(.last_order_at|type)"')"
check_match customer-registered-at "$TS" "$(jqb .registered_at)"
check_match customer-last-updated "$TS" "$(jqb .last_updated)"

# email unique, compared case-insensitively
st=$(cmd "$(jq -nc --arg e "ada.$U@example.COM" '{type: "RegisterCustomer", data: {email: $e, name: "Imposter"}}')")
is_problem register-dup-case 409 duplicate "$st"
st=$(cmd "$(jq -nc --arg e "$EMAIL" '{type: "RegisterCustomer", data: {email: $e, name: "Same"}}')")
is_problem register-dup-exact 409 duplicate "$st"
check register-dup-unchanged "$EMAIL Ada Lovelace" "$(cget "$C1" '"\(.email) \(.name)"')"
check register-dup-no-row 1 "$(sql "SELECT COUNT(*) FROM customers WHERE email = 'ada.$U@example.com'")"
# case-insensitive is not accent-insensitive: these are different addresses
# (sql/001_schema.sql: customers.email is utf8mb4_unicode_ci, which also
# ignores accents)
for pair in "jose.$U@example.com josé.$U@example.com" "aeb.$U@example.de äb.$U@example.de" \
    "a.$U@example.com á.$U@example.com"; do
    set -- $pair
    check "email-distinct-$1" 201 "$(cmd "$(jq -nc --arg e "$1" '{type: "RegisterCustomer", data: {email: $e, name: "Plain"}}')")"
    st=$(cmd "$(jq -nc --arg e "$2" '{type: "RegisterCustomer", data: {email: $e, name: "Accented"}}')")
    [ "$st" = 201 ] && st="$st $(cget "$(jqb .aggregate_id)" .email)"
    check "email-distinct-$2" "201 $2" "$st"
done
st=$(cmd "$(jq -nc --arg e "ÖC.$U@example.de" '{type: "RegisterCustomer", data: {email: $e, name: "Upper"}}')")
check email-unicode-case-first 201 "$st"
st=$(cmd "$(jq -nc --arg e "öc.$U@EXAMPLE.de" '{type: "RegisterCustomer", data: {email: $e, name: "Lower"}}')")
is_problem email-unicode-case-dup 409 duplicate "$st"

# invalid emails
long_local=$(printf 'x%.0s' $(seq 1 243)) # 243 + "@example.com" (12) = 255 characters
i=0
for e in "noat$U.example.com" "a$U@b@example.com" "@$U.example.com" "a$U@examplecom" \
    "a$U@.example.com" "a$U@example.com." "a $U@example.com" "a$U@exam ple.com" \
    "$long_local@example.com" "a$U@" ""; do
    i=$((i + 1))
    st=$(cmd "$(jq -nc --arg e "$e" '{type: "RegisterCustomer", data: {email: $e, name: "Bad"}}')")
    is_problem "email-invalid-$i" 422 validation-failed "$st"
    check "email-invalid-$i-field" data.email "$(fields)"
done
check email-invalid-none-stored 0 "$(sql "SELECT COUNT(*) FROM customers WHERE name = 'Bad' AND email LIKE '%$U%'")"
# 254 characters is still fine
e254="$U$(printf 'y%.0s' $(seq 1 $((242 - ${#U}))))@example.com"
check email-254-len 254 "${#e254}"
C254=$(register "Long" "$e254")
check_match email-254 "$ID" "$C254"
check email-254-stored "$e254" "$(cget "$C254" .email)"
# other RegisterCustomer validation
st=$(cmd "{\"type\":\"RegisterCustomer\",\"data\":{\"email\":\"n$U@example.com\",\"name\":\"   \"}}")
is_problem register-empty-name 422 validation-failed "$st"
check register-empty-name-field data.name "$(fields)"
st=$(cmd "{\"type\":\"RegisterCustomer\",\"data\":{\"name\":\"No Mail\"}}")
is_problem register-missing-email 422 validation-failed "$st"
check register-missing-email-field data.email "$(fields)"
st=$(get "/queries/customers/$NOBODY")
is_problem customer-unknown 404 not-found "$st"
st=$(get "/queries/customers/0")
is_problem customer-id-zero 400 invalid-parameter "$st"

#=== PlaceOrder: success ===

PA=$(create_product "A-$U" 1250 20)
PB=$(create_product "B-$U" 399 10)
PC=$(create_product "C-$U" 100000 5)
check_match setup-products "^$IDN $IDN $IDN\$" "$PA $PB $PC"
C2=$(register "Grace Hopper" "grace.$U@example.com")
check_match setup-customer "$ID" "$C2"

# request order C, A, B (not the id order): lines keep it
st=$(place "$C2" "$PC:1" "$PA:2" "$PB:3")
check place-status 201 "$st"
O1=$(jqb .aggregate_id)
check_match place-id "$ID" "$O1"
check place-location "/queries/orders/$O1" "$(hdr Location)"
check_match place-ct '^application/json' "$(hdr Content-Type)"
check place-ack "PlaceOrder succeeded order 1" "$(jqb '"\(.type) \(.status) \(.aggregate_type) \(.version)"')"
POS=$(jqb .position)
check_match place-position "$ID" "$POS"

check order-get 200 "$(get "/queries/orders/$O1")"
check_match order-get-ct '^application/json' "$(hdr Content-Type)"
check order-keys '["customer","item_count","items","last_updated","order_id","placed_at","status","total_cents","total_quantity","version"]' \
    "$(jq -c keys "$B")"
check order-id "$O1" "$(jqb .order_id)"
check order-status placed "$(jqb .status)"
check order-version 1 "$(jqb .version)"
check order-customer "{\"customer_id\":$C2,\"email\":\"grace.$U@example.com\",\"name\":\"Grace Hopper\"}" \
    "$(jq -cS .customer "$B")"
want=$(jq -nc --argjson a "$PA" --argjson b "$PB" --argjson c "$PC" --arg u "$U" '[
  {product_id: $c, sku: ("C-" + $u), name: ("Name of C-" + $u), quantity: 1, unit_price_cents: 100000, line_total_cents: 100000},
  {product_id: $a, sku: ("A-" + $u), name: ("Name of A-" + $u), quantity: 2, unit_price_cents: 1250, line_total_cents: 2500},
  {product_id: $b, sku: ("B-" + $u), name: ("Name of B-" + $u), quantity: 3, unit_price_cents: 399, line_total_cents: 1197}]
  | map(to_entries | sort_by(.key) | from_entries)')
check order-items "$want" "$(jq -cS .items "$B")"
check order-totals "3 6 103697" "$(jqb '"\(.item_count) \(.total_quantity) \(.total_cents)"')"
check order-totals-are-sums "$(jqb '"\(.items|length) \([.items[].quantity]|add) \([.items[].line_total_cents]|add)"')" \
    "$(jqb '"\(.item_count) \(.total_quantity) \(.total_cents)"')"
check order-line-totals true "$(jqb '[.items[] | .line_total_cents == .quantity * .unit_price_cents] | all')"
check_match order-placed-at "$TS" "$(jqb .placed_at)"
check_match order-last-updated "$TS" "$(jqb .last_updated)"
PLACED1=$(jqb .placed_at)

# stock decremented, sales figures up, product versions unchanged
check place-product-a '{"stock":18,"units_sold":2,"revenue_cents":2500,"order_count":1,"version":1}' "$(psales "$PA")"
check place-product-b '{"stock":7,"units_sold":3,"revenue_cents":1197,"order_count":1,"version":1}' "$(psales "$PB")"
check place-product-c '{"stock":4,"units_sold":1,"revenue_cents":100000,"order_count":1,"version":1}' "$(psales "$PC")"
check place-customer "{\"order_count\":1,\"spent_cents\":103697,\"last_order_at\":\"$PLACED1\"}" "$(csales "$C2")"

# the OrderPlaced event
ev=$(event_at "$POS")
check place-event "OrderPlaced order $O1 1" "$(echo "$ev" | jq -r '"\(.type) \(.aggregate_type) \(.aggregate_id) \(.aggregate_version)"')"
check place-event-data "$(jq -nc --argjson a "$PA" --argjson b "$PB" --argjson c "$PC" --argjson cu "$C2" '{
  customer_id: $cu, total_cents: 103697,
  items: [{product_id: $c, quantity: 1, unit_price_cents: 100000},
          {product_id: $a, quantity: 2, unit_price_cents: 1250},
          {product_id: $b, quantity: 3, unit_price_cents: 399}]}' | jq -cS .)" \
    "$(echo "$ev" | jq -cS .data)"

#=== PlaceOrder: errors ===

snapshot() { # the bodies that a refused PlaceOrder must leave as they are
    local id
    for id in "$@"; do get "/queries/products/$id" >/dev/null && body && echo; done
    get "/queries/customers/$C2" >/dev/null && body && echo
    customer_orders "$C2"
    head_position
}
before=$(snapshot "$PA" "$PB" "$PC")

st=$(place "$NOBODY" "$PA:1")
is_problem place-unknown-customer 404 not-found "$st"
check place-unknown-customer-member "$NOBODY" "$(jqb .customer_id)"
st=$(place "$C2" "$PA:1" "$NOBODY:1")
is_problem place-unknown-product 404 not-found "$st"
check place-unknown-product-member "$NOBODY" "$(jqb .product_id)"
check place-404-changes-nothing "$before" "$(snapshot "$PA" "$PB" "$PC")"

PD=$(create_product "D-$U" 50 10)
check delete-product 200 "$(cmd "{\"type\":\"DeleteProduct\",\"data\":{\"product_id\":$PD}}")"
st=$(place "$C2" "$PA:1" "$PD:1")
is_problem place-deleted-product 404 not-found "$st"
check place-deleted-product-member "$PD" "$(jqb .product_id)"
check place-deleted-product-stock 10 "$(sql "SELECT stock FROM products WHERE id = $PD")"

st=$(place "$C2" "$PA:1" "$PB:1" "$PA:2")
is_problem place-same-product 422 validation-failed "$st"
check_match place-same-product-field '^data\.items\[[0-9]+\]' "$(fields)"
for q in 0 1001 1.5 '"1"' null -1; do
    st=$(cmd "{\"type\":\"PlaceOrder\",\"data\":{\"customer_id\":$C2,\"items\":[{\"product_id\":$PA,\"quantity\":$q}]}}")
    is_problem "place-quantity-$q" 422 validation-failed "$st"
    check "place-quantity-$q-field" 'data.items[0].quantity' "$(fields)"
done
st=$(cmd "{\"type\":\"PlaceOrder\",\"data\":{\"customer_id\":$C2,\"items\":[{\"product_id\":$PA,\"quantity\":1},{\"product_id\":$PB,\"quantity\":0}]}}")
is_problem place-quantity-second 422 validation-failed "$st"
check place-quantity-second-field 'data.items[1].quantity' "$(fields)"
st=$(cmd "{\"type\":\"PlaceOrder\",\"data\":{\"customer_id\":$C2,\"items\":[]}}")
is_problem place-items-empty 422 validation-failed "$st"
check place-items-empty-field data.items "$(fields)"
many=$(jq -nc '[range(1; 102) | {product_id: ., quantity: 1}]')
st=$(cmd "{\"type\":\"PlaceOrder\",\"data\":{\"customer_id\":$C2,\"items\":$many}}")
is_problem place-items-101 422 validation-failed "$st"
check place-items-101-field data.items "$(fields)"
st=$(cmd "{\"type\":\"PlaceOrder\",\"data\":{\"customer_id\":$C2}}")
is_problem place-items-missing 422 validation-failed "$st"
check place-items-missing-field data.items "$(fields)"
st=$(cmd "{\"type\":\"PlaceOrder\",\"data\":{\"customer_id\":$C2,\"items\":{\"product_id\":$PA,\"quantity\":1}}}")
is_problem place-items-object 422 validation-failed "$st"
check place-items-object-field data.items "$(fields)"
st=$(cmd "{\"type\":\"PlaceOrder\",\"data\":{\"customer_id\":$C2,\"items\":[$PA]}}")
is_problem place-item-number 422 validation-failed "$st"
check place-item-number-field 'data.items[0]' "$(fields)"
st=$(cmd "{\"type\":\"PlaceOrder\",\"data\":{\"customer_id\":$C2,\"items\":[{\"quantity\":1}]}}")
is_problem place-item-no-product 422 validation-failed "$st"
check place-item-no-product-field 'data.items[0].product_id' "$(fields)"
for cu in 0 '"1"' null 1.0; do
    st=$(cmd "{\"type\":\"PlaceOrder\",\"data\":{\"customer_id\":$cu,\"items\":[{\"product_id\":$PA,\"quantity\":1}]}}")
    is_problem "place-customer-$cu" 422 validation-failed "$st"
    check "place-customer-$cu-field" data.customer_id "$(fields)"
done
st=$(cmd "{\"type\":\"PlaceOrder\",\"data\":{\"customer_id\":$C2,\"items\":[{\"product_id\":$PA,\"quantity\":1,\"price_cents\":1}]}}")
is_problem place-item-extra 422 validation-failed "$st"
check place-item-extra-field 'data.items[0].price_cents' "$(fields)"
# all invalid fields at once; 422 comes before the 404 of an unknown customer
st=$(cmd "{\"type\":\"PlaceOrder\",\"data\":{\"customer_id\":$NOBODY,\"items\":[{\"product_id\":$PA,\"quantity\":0},{\"product_id\":\"$PB\",\"quantity\":1}]}}")
is_problem place-two-invalid 422 validation-failed "$st"
check place-two-invalid-fields 'data.items[0].quantity,data.items[1].product_id' "$(jqb '[.errors[].field] | sort | join(",")')"

# insufficient stock: every short product is named
PS1=$(create_product "S1-$U" 700 2)
PS2=$(create_product "S2-$U" 800 0)
before=$(snapshot "$PA" "$PB" "$PC" "$PS1" "$PS2")
st=$(place "$C2" "$PA:1" "$PS1:3" "$PS2:1")
is_problem place-short 409 insufficient-stock "$st"
check place-short-products "$(jq -nc --argjson s1 "$PS1" --argjson s2 "$PS2" \
    '[{available: 2, product_id: $s1, requested: 3}, {available: 0, product_id: $s2, requested: 1}]')" \
    "$(jq -cS '.products | sort_by(.product_id)' "$B")"
check_match place-short-detail '.' "$(jqb '.detail // empty')"
st=$(place "$C2" "$PS2:1" "$NOBODY:1")
is_problem place-short-and-unknown 404 not-found "$st"
check place-short-and-unknown-member "$NOBODY" "$(jqb .product_id)"
st=$(place "$NOBODY" "$PS2:1")
is_problem place-short-unknown-customer 404 not-found "$st"
check place-short-unknown-customer-member "$NOBODY" "$(jqb .customer_id)"
check place-refused-changes-nothing "$before" "$(snapshot "$PA" "$PB" "$PC" "$PS1" "$PS2")"
# exactly the stock that is there: fine, down to zero
OS=$(place_ok "$C2" "$PS1:2")
check_match place-all-stock "$ID" "$OS"
check place-all-stock-left 0 "$(pget "$PS1" .stock)"
st=$(place "$C2" "$PS1:1")
is_problem place-none-left 409 insufficient-stock "$st"
check place-none-left-products "[{\"available\":0,\"product_id\":$PS1,\"requested\":1}]" "$(jq -cS .products "$B")"

#=== line prices, skus and names are frozen ===

PF=$(create_product "F-$U" 500 10)
O2=$(place_ok "$C2" "$PF:2")
check price-update 200 "$(cmd "{\"type\":\"UpdateProductPrice\",\"data\":{\"product_id\":$PF,\"price_cents\":700}}")"
check price-rename 200 "$(cmd "{\"type\":\"UpdateProduct\",\"data\":{\"product_id\":$PF,\"name\":\"Renamed $U\"}}")"
check price-product 700 "$(pget "$PF" .price_cents)"
check price-old-order "500 1000 1000 Name of F-$U" \
    "$(oget "$O2" '"\(.items[0].unit_price_cents) \(.items[0].line_total_cents) \(.total_cents) \(.items[0].name)"')"
O3=$(place_ok "$C2" "$PF:1")
check price-new-order "700 700 700 Renamed $U" \
    "$(oget "$O3" '"\(.items[0].unit_price_cents) \(.items[0].line_total_cents) \(.total_cents) \(.items[0].name)"')"
check price-old-order-again "500 1000" "$(oget "$O2" '"\(.items[0].unit_price_cents) \(.total_cents)"')"
check price-product-figures '{"stock":7,"units_sold":3,"revenue_cents":1700,"order_count":2,"version":3}' "$(psales "$PF")"
check price-customer-spent $((103697 + 1400 + 1000 + 700)) "$(cget "$C2" .spent_cents)"

#=== names that JSON must escape, in the order view ===

qname="$(printf '\\"%.0s' $(seq 1 99))😀ü"
st=$(cmd "$(jq -nc --arg s "Q-$U" --arg n "$qname" --arg c "$CAT-Q" \
    '{type: "CreateProduct", data: {sku: $s, name: $n, category: $c, price_cents: 3, stock: 3}}')")
check escape-product "201 200" "$st $(jq -nr --arg n "$qname" '$n | length')"
PQ=$(jqb .aggregate_id)
CQ=$(register 'Mr "Quote" \ Back 😀' "quote.$U@example.com")
OQ=$(place_ok "$CQ" "$PQ:1")
check escape-order-get 200 "$(get "/queries/orders/$OQ")"
check escape-line-name "$qname" "$(jqb '.items[0].name')"
check escape-customer-name 'Mr "Quote" \ Back 😀' "$(jqb .customer.name)"
check escape-customer-orders "$qname" "$(get "/queries/customers/$CQ/orders" >/dev/null && jqb '.items[0].items[0].name')"

#=== the order state machine ===

C3=$(register "Linus" "linus.$U@example.com")
PG=$(create_product "G-$U" 300 100)
X=$(place_ok "$C3" "$PG:1")
check_match sm-setup "^$IDN $IDN $IDN\$" "$C3 $PG $X"

st=$(order_cmd PayOrder "$X" ',"expected_version":1')
check pay-status 200 "$st"
check_match pay-ct '^application/json' "$(hdr Content-Type)"
check pay-ack "PayOrder succeeded order $X 2" "$(jqb '"\(.type) \(.status) \(.aggregate_type) \(.aggregate_id) \(.version)"')"
check pay-no-location "" "$(hdr Location)"
check pay-event 'OrderPaid order 2 {}' "$(event_at "$(jqb .position)" | jq -c '"\(.type) \(.aggregate_type) \(.aggregate_version) \(.data|tojson)"' -r)"
check pay-view "paid 2" "$(oget "$X" '"\(.status) \(.version)"')"
st=$(order_cmd PayOrder "$X")
is_problem pay-twice 409 invalid-state-transition "$st"
st=$(order_cmd ShipOrder "$X" ',"expected_version":1')
is_problem ship-stale 409 version-conflict "$st"
check ship-stale-current 2 "$(jqb .current_version)"
check_match ship-stale-detail '2' "$(jqb '.detail // empty')"
check ship-stale-unchanged "paid 2" "$(oget "$X" '"\(.status) \(.version)"')"
st=$(order_cmd ShipOrder "$X" ',"expected_version":2')
check ship-status 200 "$st"
check ship-ack "ShipOrder order $X 3" "$(jqb '"\(.type) \(.aggregate_type) \(.aggregate_id) \(.version)"')"
check ship-event 'OrderShipped order 3 {}' "$(event_at "$(jqb .position)" | jq -r '"\(.type) \(.aggregate_type) \(.aggregate_version) \(.data|tojson)"')"
check ship-view "shipped 3" "$(oget "$X" '"\(.status) \(.version)"')"
st=$(order_cmd CancelOrder "$X")
is_problem cancel-shipped 409 invalid-state-transition "$st"
st=$(order_cmd PayOrder "$X")
is_problem pay-shipped 409 invalid-state-transition "$st"
st=$(order_cmd ShipOrder "$X")
is_problem ship-shipped 409 invalid-state-transition "$st"
check shipped-unchanged "shipped 3" "$(oget "$X" '"\(.status) \(.version)"')"
check shipped-figures '{"stock":99,"units_sold":1,"revenue_cents":300,"order_count":1,"version":1}' "$(psales "$PG")"

Y=$(place_ok "$C3" "$PG:2")
st=$(order_cmd ShipOrder "$Y")
is_problem ship-placed 409 invalid-state-transition "$st"
check ship-placed-unchanged "placed 1" "$(oget "$Y" '"\(.status) \(.version)"')"
st=$(order_cmd CancelOrder "$Y" ',"reason":"line one\nline two","expected_version":1')
check cancel-status 200 "$st"
check cancel-ack "CancelOrder order $Y 2" "$(jqb '"\(.type) \(.aggregate_type) \(.aggregate_id) \(.version)"')"
ev=$(event_at "$(jqb .position)")
check cancel-event "OrderCancelled order $Y 2" "$(echo "$ev" | jq -r '"\(.type) \(.aggregate_type) \(.aggregate_id) \(.aggregate_version)"')"
check cancel-event-data '{"reason":"line one\nline two"}' "$(echo "$ev" | jq -c .data)"
check cancel-view "cancelled 2" "$(oget "$Y" '"\(.status) \(.version)"')"
check cancel-view-items "[{\"product_id\":$PG,\"quantity\":2,\"unit_price_cents\":300}] 2 600" \
    "$(oget "$Y" '"\(.items | map({product_id, quantity, unit_price_cents}) | tojson) \(.total_quantity) \(.total_cents)"')"
for t in PayOrder ShipOrder CancelOrder; do
    st=$(order_cmd "$t" "$Y")
    is_problem "$t-cancelled" 409 invalid-state-transition "$st"
done
check cancelled-unchanged "cancelled 2" "$(oget "$Y" '"\(.status) \(.version)"')"

Z=$(place_ok "$C3" "$PG:1")
st=$(order_cmd CancelOrder "$Z" ',"expected_version":2')
is_problem cancel-stale 409 version-conflict "$st"
check cancel-stale-current 1 "$(jqb .current_version)"
check cancel-stale-unchanged "placed 1 98" "$(oget "$Z" '"\(.status) \(.version)"') $(pget "$PG" .stock)"
st=$(order_cmd CancelOrder "$Z" ',"reason":"  why not  "')
check cancel-trimmed-status 200 "$st"
check cancel-trimmed-reason 'why not' "$(event_at "$(jqb .position)" | jq -r .data.reason)"
check cancel-trimmed-stored 'why not' "$(sql "SELECT cancel_reason FROM orders WHERE id = $Z")"

# reason: 0-500 characters (code points), newlines and tabs fine, other controls not
Z2=$(place_ok "$C3" "$PG:1")
st=$(order_cmd CancelOrder "$Z2" ",\"reason\":\"$(printf 'r%.0s' $(seq 1 501))\"")
is_problem cancel-reason-501 422 validation-failed "$st"
check cancel-reason-501-field data.reason "$(fields)"
st=$(order_cmd CancelOrder "$Z2" ',"reason":"bad\u0001"')
is_problem cancel-reason-control 422 validation-failed "$st"
check cancel-reason-control-field data.reason "$(fields)"
st=$(order_cmd CancelOrder "$Z2" ',"reason":5')
is_problem cancel-reason-type 422 validation-failed "$st"
check cancel-reason-type-field data.reason "$(fields)"
check cancel-reason-refused-unchanged "placed 1" "$(oget "$Z2" '"\(.status) \(.version)"')"
r500="$(printf 'é%.0s' $(seq 1 499))"$'\t'
st=$(order_cmd CancelOrder "$Z2" ",\"reason\":$(jq -n --arg r "x${r500}" '$r')")
check cancel-reason-500 200 "$st"
check cancel-reason-500-event 500 "$(event_at "$(jqb .position)" | jq -r '.data.reason | length')"
Z3=$(place_ok "$C3" "$PG:1")
st=$(order_cmd CancelOrder "$Z3" ',"reason":""')
check cancel-reason-empty 200 "$st"
check cancel-reason-empty-event '' "$(event_at "$(jqb .position)" | jq -r .data.reason)"

# unknown orders and bad data
for t in PayOrder ShipOrder CancelOrder; do
    st=$(order_cmd "$t" "$NOBODY")
    is_problem "$t-unknown" 404 not-found "$st"
    st=$(order_cmd "$t" 0)
    is_problem "$t-id-zero" 422 validation-failed "$st"
    check "$t-id-zero-field" data.order_id "$(fields)"
    st=$(order_cmd "$t" "$X" ',"expected_version":0')
    is_problem "$t-expected-zero" 422 validation-failed "$st"
    check "$t-expected-zero-field" data.expected_version "$(fields)"
done
st=$(order_cmd PayOrder "$X" ',"reason":"no"')
is_problem pay-reason-unknown-member 422 validation-failed "$st"
check pay-reason-unknown-member-field data.reason "$(fields)"
st=$(get "/queries/orders/$NOBODY")
is_problem order-unknown 404 not-found "$st"
st=$(get "/queries/orders/01")
is_problem order-id-leading-zero 400 invalid-parameter "$st"

#=== cancelling puts everything back as if the order had never been placed ===

C4=$(register "Barbara" "barbara.$U@example.com")
PH=$(create_product "H-$U" 250 30)
PI=$(create_product "I-$U" 1999 7)
O0=$(place_ok "$C4" "$PH:1")
P0=$(oget "$O0" .placed_at)
hb=$(psales "$PH")
ib=$(psales "$PI")
cb=$(csales "$C4")
check restore-before-customer "{\"order_count\":1,\"spent_cents\":250,\"last_order_at\":\"$P0\"}" "$cb"
OC=$(place_ok "$C4" "$PH:4" "$PI:7")
PC1=$(oget "$OC" .placed_at)
check restore-placed-h '{"stock":25,"units_sold":5,"revenue_cents":1250,"order_count":2,"version":1}' "$(psales "$PH")"
check restore-placed-i '{"stock":0,"units_sold":7,"revenue_cents":13993,"order_count":1,"version":1}' "$(psales "$PI")"
check restore-placed-customer "{\"order_count\":2,\"spent_cents\":15243,\"last_order_at\":\"$PC1\"}" "$(csales "$C4")"
check restore-pay 200 "$(order_cmd PayOrder "$OC")"
check restore-paid-figures '{"stock":0,"units_sold":7,"revenue_cents":13993,"order_count":1,"version":1}' "$(psales "$PI")"
check restore-cancel 200 "$(order_cmd CancelOrder "$OC" ',"reason":"changed my mind"')"
check restore-order "cancelled 3" "$(oget "$OC" '"\(.status) \(.version)"')"
check restore-product-h "$hb" "$(psales "$PH")"
check restore-product-i "$ib" "$(psales "$PI")"
check restore-customer "$cb" "$(csales "$C4")"
check restore-write-stock "29 7" "$(sql "SELECT stock FROM products WHERE id = $PH") $(sql "SELECT stock FROM products WHERE id = $PI")"
# the restored stock can be sold again
OI=$(place_ok "$C4" "$PI:7")
check_match restore-sell-again "$ID" "$OI"
check restore-cancel-placed 200 "$(order_cmd CancelOrder "$OI")"
check restore-cancel-placed-figures "$ib" "$(psales "$PI")"
# a customer whose only order is cancelled: back to null
C5=$(register "Edsger" "edsger.$U@example.com")
c5b=$(csales "$C5")
O5=$(place_ok "$C5" "$PH:2")
check only-order-counted 1 "$(cget "$C5" .order_count)"
check only-order-cancel 200 "$(order_cmd CancelOrder "$O5")"
check only-order-restored '{"order_count":0,"spent_cents":0,"last_order_at":null}' "$(csales "$C5")"
check only-order-restored-same "$c5b" "$(csales "$C5")"
check only-order-view-status cancelled "$(oget "$O5" .status)"

# an order keeps the lines of a product deleted since, and can still be cancelled
PJ=$(create_product "J-$U" 420 5)
OJ=$(place_ok "$C4" "$PJ:2" "$PH:1")
check deleted-line-delete 200 "$(cmd "{\"type\":\"DeleteProduct\",\"data\":{\"product_id\":$PJ}}")"
check deleted-line-kept "[$PJ,$PH] 2 1090" "$(oget "$OJ" '"\([.items[].product_id] | tojson) \(.item_count) \(.total_cents)"')"
check deleted-line-pay 200 "$(order_cmd PayOrder "$OJ")"
check deleted-line-cancel 200 "$(order_cmd CancelOrder "$OJ")"
check deleted-line-still-gone 404 "$(get "/queries/products/$PJ")"
check deleted-line-stock-back 5 "$(sql "SELECT stock FROM products WHERE id = $PJ")"
check deleted-line-live-product-back "$hb" "$(psales "$PH")"
check deleted-line-customer "$cb" "$(csales "$C4")"

#=== a 100-line order ===

hundred=()
for i in $(seq 1 100); do hundred+=("$(create_product "L$i-$U" "$i" 1)"); done
check hundred-products 100 "$(printf '%s\n' "${hundred[@]}" | grep -cE "$ID")"
args=()
for ((i = 99; i >= 0; i--)); do args+=("${hundred[$i]}:1"); done
O100=$(place_ok "$C4" "${args[@]}")
check_match hundred-order "$ID" "$O100"
check hundred-view "100 100 5050" "$(oget "$O100" '"\(.item_count) \(.total_quantity) \(.total_cents)"')"
check hundred-view-order "$(printf '%s\n' "${args[@]}" | cut -d: -f1 | tr '\n' ' ')" \
    "$(jqb '.items[].product_id' | tr '\n' ' ')"
check hundred-stock-zero 0 "$(sql "SELECT SUM(stock) FROM products WHERE sku LIKE 'L%-$U'")"
check hundred-cancel 200 "$(order_cmd CancelOrder "$O100")"
check hundred-stock-back 100 "$(sql "SELECT SUM(stock) FROM products WHERE sku LIKE 'L%-$U'")"
check hundred-sales-back "0 0 0" "$(sql "SELECT SUM(units_sold), SUM(revenue_cents), SUM(order_count) FROM product_view WHERE sku LIKE 'L%-$U'" | tr '\t' ' ')"

#=== GET /queries/customers/{id}/orders ===

C6=$(register "Frances" "frances.$U@example.com")
PK=$(create_product "K-$U" 100 1000)
ords=()
for i in $(seq 1 12); do ords+=("$(place_ok "$C6" "$PK:$i")"); done
check list-setup 12 "$(printf '%s\n' "${ords[@]}" | grep -cE "$ID")"
check list-pay-2 200 "$(order_cmd PayOrder "${ords[1]}")"
check list-pay-5 200 "$(order_cmd PayOrder "${ords[4]}")"
check list-ship-5 200 "$(order_cmd ShipOrder "${ords[4]}")"
check list-pay-8 200 "$(order_cmd PayOrder "${ords[7]}")"
check list-cancel-8 200 "$(order_cmd CancelOrder "${ords[7]}")"
check list-cancel-3 200 "$(order_cmd CancelOrder "${ords[2]}")"
desc() { printf '%s\n' "$@" | sort -rn | tr '\n' ' '; }
all_desc=$(desc "${ords[@]}")

check list-all 200 "$(get "/queries/customers/$C6/orders")"
check_match list-all-ct '^application/json' "$(hdr Content-Type)"
check list-all-ids "$all_desc" "$(jqb '.items[].order_id' | tr '\n' ' ')"
check list-all-cursor null "$(jqb .next_cursor)"
cp "$B" "$T_CASE/list.json"
same=0
for id in "${ords[@]}"; do
    get "/queries/orders/$id" >/dev/null
    [ "$(jq -cS . "$B")" = "$(jq -cS --argjson id "$id" '.items[] | select(.order_id == $id)' "$T_CASE/list.json")" ] &&
        same=$((same + 1))
done
check list-items-are-order-docs 12 "$same"

# paging: limit 5, an order placed mid-walk; every order is seen exactly once
seen=""
after=""
pages=0
sizes=""
for _ in $(seq 1 10); do
    st=$(get "/queries/customers/$C6/orders?limit=5${after:+&after=$after}")
    [ "$st" = 200 ] || break
    pages=$((pages + 1))
    sizes="$sizes$(jqb '.items|length') "
    seen="$seen$(jqb '.items[].order_id' | tr '\n' ' ')"
    after=$(jqb '.next_cursor // empty')
    [ $pages = 1 ] && NEWER=$(place_ok "$C6" "$PK:1")
    [ -n "$after" ] || break
done
check list-walk-pages "3 5 5 2 " "$pages $sizes"
check list-walk-ids "$all_desc" "$seen"
check list-walk-newer-first "$NEWER" "$(get "/queries/customers/$C6/orders?limit=1" >/dev/null && jqb '.items[0].order_id')"
check_match list-walk-limit1-cursor '.' "$(jqb '.next_cursor // empty')"

# status filter
placed_ids=$(desc "$NEWER" "${ords[0]}" "${ords[3]}" "${ords[5]}" "${ords[6]}" "${ords[8]}" "${ords[9]}" "${ords[10]}" "${ords[11]}")
check list-placed 200 "$(get "/queries/customers/$C6/orders?status=placed")"
check list-placed-ids "$placed_ids" "$(jqb '.items[].order_id' | tr '\n' ' ')"
check list-placed-status true "$(jqb '[.items[].status == "placed"] | all')"
get "/queries/customers/$C6/orders?status=paid" >/dev/null
check list-paid-ids "${ords[1]} " "$(jqb '.items[].order_id' | tr '\n' ' ')"
get "/queries/customers/$C6/orders?status=shipped" >/dev/null
check list-shipped-ids "${ords[4]} " "$(jqb '.items[].order_id' | tr '\n' ' ')"
get "/queries/customers/$C6/orders?status=cancelled" >/dev/null
check list-cancelled-ids "$(desc "${ords[2]}" "${ords[7]}")" "$(jqb '.items[].order_id' | tr '\n' ' ')"
check list-cancelled-items "cancelled cancelled" "$(jqb '[.items[].status] | join(" ")')"
seen=""
after=""
for _ in $(seq 1 10); do
    st=$(get "/queries/customers/$C6/orders?status=placed&limit=3${after:+&after=$after}")
    [ "$st" = 200 ] || break
    seen="$seen$(jqb '.items[].order_id' | tr '\n' ' ')"
    after=$(jqb '.next_cursor // empty')
    [ -n "$after" ] || break
done
check list-placed-walk "$placed_ids" "$seen"

# a cursor of another list, or a tampered one
get "/queries/customers/$C6/orders?limit=2" >/dev/null
cur=$(jqb .next_cursor)
last=${cur: -1}
[ "$last" = A ] && bad="${cur%?}B" || bad="${cur%?}A"
st=$(get "/queries/customers/$C6/orders?limit=2&after=$bad")
is_problem list-tampered-cursor 400 invalid-parameter "$st"
get "/queries/products?limit=1" >/dev/null
st=$(get "/queries/customers/$C6/orders?after=$(jqb .next_cursor)")
is_problem list-products-cursor 400 invalid-parameter "$st"
# bad parameters, limits, unknown customer
for q in status=bogus status=PAID status= limit=0 limit=201 limit=-1 limit=abc limit= \
    limit=1.5 after=garbage foo=1; do
    st=$(get "/queries/customers/$C6/orders?$q")
    is_problem "list-bad-$q" 400 invalid-parameter "$st"
done
check list-limit-200 "200 13" "$(get "/queries/customers/$C6/orders?limit=200") $(jqb '.items|length')"
check list-limit-1 "200 1" "$(get "/queries/customers/$C6/orders?limit=1") $(jqb '.items|length')"
st=$(get "/queries/customers/$NOBODY/orders")
is_problem list-unknown-customer 404 not-found "$st"
st=$(get "/queries/customers/abc/orders")
is_problem list-bad-customer-id 400 invalid-parameter "$st"
check list-no-orders '200 [] null' "$(get "/queries/customers/$C1/orders") $(jq -c .items "$B") $(jqb .next_cursor)"
# the customer's figures agree with the list
check list-customer-figures "11 $(((1 + 2 + 4 + 5 + 6 + 7 + 9 + 10 + 11 + 12 + 1) * 100))" \
    "$(cget "$C6" '"\(.order_count) \(.spent_cents)"')"

finish

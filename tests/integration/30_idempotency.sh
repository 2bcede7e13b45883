#!/usr/bin/env bash
# 30_idempotency.sh - exactly-once commands (API.md "Idempotency" and its
# details): a keyed command's answer is recorded and replayed byte for byte
# with Idempotent-Replayed: true and no second effect; "same envelope" is
# equal JSON; a different envelope under the same key is 422
# idempotency-key-reused; bad keys are 400 invalid-parameter; failed commands
# are not recorded; racing identical requests have one effect and all get the
# recorded answer; replays survive a daemon restart; keys are kept >= 24 h
# and older ones are purged.
. "$(dirname "$0")/lib.sh"

U=$(uniq_id)
IDN='[1-9][0-9]*'
ID="^$IDN\$"
own_daemons=""
lock_pids=""
cleanup() {
    local m p
    for m in t30-lock; do release_lock "$m"; done
    for p in $lock_pids; do kill "$p" 2>/dev/null; done
    for m in $own_daemons; do
        [ -f "$T/daemon-$m.pid" ] && stop_daemon "$m" >/dev/null
    done
}
trap cleanup EXIT

#=== helpers ===

# kcmd KEY JSON [curl args...]: POST /commands with that Idempotency-Key
kcmd() {
    local key=$1 json=$2
    shift 2
    cmd "$json" -H "Idempotency-Key: $key" "$@"
}

# keep NAME: save the last answer (status in $st) as $T_CASE/NAME.{status,body,location,replayed}
keep() {
    echo "$st" >"$T_CASE/$1.status"
    cp "$B" "$T_CASE/$1.body"
    hdr Location >"$T_CASE/$1.location"
    hdr Idempotent-Replayed >"$T_CASE/$1.replayed"
}

# same_bytes A B: "same" when the two files are byte-identical
same_bytes() { cmp -s "$1" "$2" && echo same || echo "differs: $(head -c 300 "$1") / $(head -c 300 "$2")"; }

# is_replay NAME FIRST: the last answer (status in $st) replays the answer kept as FIRST
is_replay() {
    check "$1: status" "$(cat "$T_CASE/$2.status")" "$st"
    check "$1: body byte-identical" same "$(same_bytes "$T_CASE/$2.body" "$B")"
    check "$1: same Location" "$(cat "$T_CASE/$2.location")" "$(hdr Location)"
    check "$1: Idempotent-Replayed" true "$(hdr Idempotent-Replayed)"
    check_match "$1: content-type" '^application/json' "$(hdr Content-Type)"
}

# is_problem NAME STATUS TYPE: the last answer (status in $st) is that problem+json
is_problem() {
    check "$1: status" "$2" "$st"
    check_match "$1: content-type" '^application/problem\+json' "$(hdr Content-Type)"
    check "$1: type" "$3" "$(jqb .type 2>/dev/null)"
    check "$1: body status" "$2" "$(jqb .status 2>/dev/null)"
    check "$1: not marked replayed" "" "$(hdr Idempotent-Replayed)"
}

# create_json SKU [PRICE]: a valid CreateProduct envelope (a category of its
# own: categories are not what this script tests)
create_json() {
    echo "{\"type\":\"CreateProduct\",\"data\":{\"sku\":\"$1\",\"name\":\"Idem\",\"category\":\"cat-$1\",\"price_cents\":${2:-500},\"stock\":5}}"
}

# mk_product SKU STOCK [PRICE]: create a product (no key); prints its id
mk_product() {
    local s
    s=$(cmd "{\"type\":\"CreateProduct\",\"data\":{\"sku\":\"$1\",\"name\":\"Idem\",\"category\":\"cat-$1\",\"price_cents\":${3:-100},\"stock\":$2}}")
    if [ "$s" = 201 ]; then jqb .aggregate_id; else echo "FAIL setup: CreateProduct $1: $s $(body)" >&2; fi
}

# mk_customer NAME: register a customer (no key); prints its id
mk_customer() {
    local s
    s=$(cmd "{\"type\":\"RegisterCustomer\",\"data\":{\"name\":\"$1\",\"email\":\"$1.$U@example.com\"}}")
    if [ "$s" = 201 ]; then jqb .aggregate_id; else echo "FAIL setup: RegisterCustomer $1: $s $(body)" >&2; fi
}

order_json() { # order_json CUSTOMER PRODUCT QUANTITY
    echo "{\"type\":\"PlaceOrder\",\"data\":{\"customer_id\":$1,\"items\":[{\"product_id\":$2,\"quantity\":$3}]}}"
}

# events_of KEY [TYPE]: how many events carry that command_id
events_of() {
    sql "SELECT COUNT(*) FROM events WHERE command_id = '$1'${2:+ AND type = '$2'}"
}

# key_rows KEY: how many idempotency_keys rows hold KEY
key_rows() { sql "SELECT COUNT(*) FROM idempotency_keys WHERE idem_key = 'admin:$1'"; }

# processlist_id MARK / release_lock MARK / sql_bg MARK STATEMENT: a root
# session holding a lock in the background (as in 04_lifecycle.sh)
processlist_id() {
    sql "SELECT ID FROM information_schema.PROCESSLIST
          WHERE INFO LIKE '%$1%' AND ID <> CONNECTION_ID() LIMIT 1"
}
release_lock() {
    local id
    id=$(processlist_id "$1")
    [ -n "$id" ] && sql "KILL $id" 2>/dev/null
}
sql_bg() {
    local mark=$1
    mariadb --no-defaults -uroot --socket="$DB_DIR/s.sock" -N -B cqrs -e "$2" >/dev/null 2>&1 &
    bg_pid=$!
    lock_pids="$lock_pids $bg_pid"
    for _ in $(seq 1 100); do
        [ -n "$(processlist_id "$mark")" ] && return 0
        sleep 0.05
    done
    echo "FAIL sql_bg: '$mark' never ran"
    fail=$((fail + 1))
}
# lock_waits: how many of the daemon's statements are running now (while a
# test holds a row lock, a running one waits for it). Not INNODB_TRX's
# 'LOCK WAIT': MariaDB 10.11 showed 1 there while 8 statements had waited
# 3 s in the processlist (7 inserts of one key, one product lock).
lock_waits() {
    sql "SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE USER = 'cqrs_writer'
         AND COMMAND = 'Execute' AND TIME >= 0 AND (INFO LIKE 'INSERT INTO idempotency_keys%'
         OR INFO LIKE '%FOR UPDATE%')"
}

# stop_own NAME: stop_daemon NAME in this shell (its wait needs the daemon to
# be our child); its exit status in $stop_rc
stop_own() {
    stop_daemon "$1" >"$T_CASE/stop-$1.rc"
    stop_rc=$(cat "$T_CASE/stop-$1.rc")
}

# race_send OUT KEY JSON: one keyed command; OUT.{st,hdr,body}
race_send() {
    curl -s --max-time 60 -o "$1.body" -D "$1.hdr" -w '%{http_code}\n' -H 'Content-Type: application/json' \
        -H "Idempotency-Key: $2" --data-binary "$3" "$BASE/commands" >"$1.st"
}

# race_report NAME DIR STATUS: every answer in DIR is STATUS with one body and
# one Location; exactly one lacks Idempotent-Replayed, the others say true
race_report() {
    local name=$1 d=$2 want=$3
    cat "$d"/*.st | sort | uniq -c | sed "s/^/   $name: /"
    check "$name: 20 answers $want" 20 "$(grep -lx "$want" "$d"/*.st | wc -l)"
    check "$name: one body for all" 1 "$(md5sum "$d"/*.body | awk '{print $1}' | sort -u | wc -l)"
    check "$name: one Location for all" 1 "$(for f in "$d"/*.hdr; do echo "<$(grep -i '^Location:' "$f" | tr -d '\r' | sed 's/^[^:]*: *//')>"; done | sort -u | wc -l)"
    check "$name: 19 replayed" 19 "$(grep -il '^Idempotent-Replayed: true' "$d"/*.hdr | wc -l)"
    check "$name: exactly one not replayed" 1 "$(grep -iL '^Idempotent-Replayed:' "$d"/*.hdr | wc -l)"
}

#=== a keyed CreateProduct, then the same request again ===

K1="idem-create-$U"
SKU1="IDEM-$U"
E1=$(create_json "$SKU1")
st=$(kcmd "$K1" "$E1")
keep first
check "first: 201" 201 "$st"
check_match "first: content-type" '^application/json' "$(hdr Content-Type)"
check "first: no Idempotent-Replayed" "" "$(hdr Idempotent-Replayed)"
check "first: command_id is the key" "$K1" "$(jqb .command_id)"
check "first: ack" "CreateProduct succeeded product 1" "$(jqb '"\(.type) \(.status) \(.aggregate_type) \(.version)"')"
P1=$(jqb .aggregate_id)
check_match "first: aggregate_id" "$ID" "$P1"
check "first: Location" "/queries/products/$P1" "$(hdr Location)"
check "first: the key row holds the answer" "201	/queries/products/$P1" \
    "$(sql "SELECT status, location FROM idempotency_keys WHERE idem_key = 'admin:$K1'")"
check "first: the key row is recent" 1 \
    "$(sql "SELECT ABS(TIMESTAMPDIFF(SECOND, created_at, UTC_TIMESTAMP())) < 120 FROM idempotency_keys WHERE idem_key = 'admin:$K1'")"

st=$(kcmd "$K1" "$E1")
is_replay "same key, same envelope" first
st=$(kcmd "$K1" "$E1")
is_replay "same key, same envelope, a third time" first
check "replays: one product with that sku" 1 "$(sql "SELECT COUNT(*) FROM products WHERE sku = '$SKU1'")"
check "replays: one event with that command_id" 1 "$(events_of "$K1")"
check "replays: that event is the ProductCreated" "ProductCreated product $P1 1" \
    "$(sql "SELECT type, aggregate_type, aggregate_id, aggregate_version FROM events WHERE command_id = '$K1'" | tr '\t' ' ')"
check "replays: one event on the product" 1 "$(sql "SELECT COUNT(*) FROM events WHERE aggregate_type = 'product' AND aggregate_id = $P1")"
get "/queries/products/$P1" >/dev/null
check "replays: the product is at version 1 with its stock" "1 5" "$(jqb '"\(.version) \(.stock)"')"
check "replays: one key row" 1 "$(key_rows "$K1")"

# equal JSON: other member order, white space, an escaped letter
E1B=$(printf '\n  { "data" : {\t"stock":5 ,"price_cents" : 500,\r\n "category":"cat-%s", "name":"\\u0049dem",\n "sku" : "%s" } ,\n "type":\t"CreateProduct" }  \n' "$SKU1" "$SKU1")
st=$(kcmd "$K1" "$E1B")
is_replay "reordered members and white space" first
check "reordered: still one product" 1 "$(sql "SELECT COUNT(*) FROM products WHERE sku = '$SKU1'")"

# a different envelope under the same key
st=$(kcmd "$K1" "$(create_json "$SKU1" 501)")
is_problem "same key, other price" 422 idempotency-key-reused
st=$(kcmd "$K1" "$(create_json "OTHER-$U")")
is_problem "same key, other sku" 422 idempotency-key-reused
st=$(kcmd "$K1" "{\"type\":\"RegisterCustomer\",\"data\":{\"name\":\"Reuse\",\"email\":\"reuse.$U@example.com\"}}")
is_problem "same key, other command type" 422 idempotency-key-reused
check "reused: no product with the other sku" 0 "$(sql "SELECT COUNT(*) FROM products WHERE sku = 'OTHER-$U'")"
check "reused: no customer" 0 "$(sql "SELECT COUNT(*) FROM customers WHERE email = 'reuse.$U@example.com'")"
check "reused: the product kept its price" 500 "$(sql "SELECT price_cents FROM products WHERE id = $P1")"
check "reused: still one event with that command_id" 1 "$(events_of "$K1")"
check "reused: the key row is unchanged" "201	/queries/products/$P1" \
    "$(sql "SELECT status, location FROM idempotency_keys WHERE idem_key = 'admin:$K1'")"
# and the original envelope still replays afterwards
st=$(kcmd "$K1" "$E1")
is_replay "the original again after the 422s" first

#=== keys: 1-128 visible ASCII characters ===

# bad_key NAME HEADER-ARG: a valid command with that header is 400
# invalid-parameter and creates nothing
bad_key() {
    local sku="BADKEY-$(uniq_id)"
    st=$(cmd "$(create_json "$sku")" -H "$2")
    is_problem "key $1" 400 invalid-parameter
    check "key $1: nothing created" 0 "$(sql "SELECT COUNT(*) FROM products WHERE sku = '$sku'")"
}
bad_key "empty" 'Idempotency-Key;'
K128="k128-$U-$(printf 'x%.0s' $(seq 1 $((128 - 6 - ${#U}))))"
K129="${K128}y"
bad_key "of 129 characters" "Idempotency-Key: $K129"
bad_key "with a space inside" "Idempotency-Key: in$U side"
bad_key "with a tab inside" "Idempotency-Key: in$U"$'\t'"side"
bad_key "with a control byte inside" "Idempotency-Key: in$U"$'\x01'"side"
bad_key "with DEL inside" "Idempotency-Key: in$U"$'\x7f'"side"
bad_key "with a non-ASCII character" "Idempotency-Key: caf"$'\xc3\xa9'"-$U"
bad_key "with a Latin-1 byte" "Idempotency-Key: caf"$'\xe9'"-$U"
check "bad keys: no key row" 0 "$(sql "SELECT COUNT(*) FROM idempotency_keys WHERE idem_key LIKE 'admin:in$U%' OR idem_key LIKE 'admin:caf%-$U' OR idem_key = 'admin:$K129'")"

E128=$(create_json "K128-$U")
st=$(kcmd "$K128" "$E128")
keep k128
check "key of 128 characters: 201" 201 "$st"
check "key of 128 characters: command_id" "$K128" "$(jqb .command_id)"
check "key of 128 characters: no Idempotent-Replayed" "" "$(hdr Idempotent-Replayed)"
st=$(kcmd "$K128" "$E128")
is_replay "key of 128 characters, again" k128
check "key of 128 characters: one event" 1 "$(events_of "$K128")"
check "key of 128 characters: one key row" 1 "$(key_rows "$K128")"

# every visible ASCII character is allowed, JSON-escaped in command_id
KP="p$U"'!"#$%&'\''()*+,-./:;<=>?@[\]^_`{|}~'
EP=$(create_json "KP-$U")
st=$(kcmd "$KP" "$EP")
keep kp
check "key of punctuation: 201" 201 "$st"
check "key of punctuation: command_id" "$KP" "$(jqb .command_id)"
st=$(kcmd "$KP" "$EP")
is_replay "key of punctuation, again" kp
check "key of punctuation: one product" 1 "$(sql "SELECT COUNT(*) FROM products WHERE sku = 'KP-$U'")"

#=== a failed command is not recorded ===

PF=$(mk_product "FAIL-$U" 1 250)
CF=$(mk_customer "failer")
check_match "failed: setup" "^$IDN $IDN\$" "$PF $CF"
KF="idem-fail-$U"
EF=$(order_json "$CF" "$PF" 2)
st=$(kcmd "$KF" "$EF")
is_problem "keyed order short of stock" 409 insufficient-stock
check "short order: no key row" 0 "$(key_rows "$KF")"
check "short order: no event" 0 "$(events_of "$KF")"
st=$(kcmd "$KF" "$EF")
is_problem "keyed order short of stock, again (not replayed: run again)" 409 insufficient-stock
st=$(cmd "{\"type\":\"RestockProduct\",\"data\":{\"product_id\":$PF,\"quantity\":5}}")
check "restock (no key): 200" 200 "$st"
st=$(kcmd "$KF" "$EF")
keep fail-then-ok
check "the same keyed order after the restock: 201" 201 "$st"
check "after the restock: not replayed" "" "$(hdr Idempotent-Replayed)"
check "after the restock: command_id" "$KF" "$(jqb .command_id)"
OF=$(jqb .aggregate_id)
check "after the restock: Location" "/queries/orders/$OF" "$(hdr Location)"
st=$(kcmd "$KF" "$EF")
is_replay "the keyed order a third time" fail-then-ok
check "failed then ok: one order" 1 "$(sql "SELECT COUNT(*) FROM orders WHERE customer_id = $CF")"
check "failed then ok: one OrderPlaced with the key" 1 "$(events_of "$KF" OrderPlaced)"
check "failed then ok: stock 1 + 5 - 2" 4 "$(sql "SELECT stock FROM products WHERE id = $PF")"
get "/queries/products/$PF" >/dev/null
check "failed then ok: the query side" "4 2" "$(jqb '"\(.stock) \(.units_sold)"')"

# unknown product (404) is not recorded either
KN="idem-404-$U"
st=$(kcmd "$KN" "$(order_json "$CF" 9000000000000000000 1)")
is_problem "keyed order of an unknown product" 404 not-found
check "unknown product: no key row" 0 "$(key_rows "$KN")"
st=$(kcmd "$KN" "$(order_json "$CF" "$PF" 1)")
check "the same key with a good order afterwards: 201 (not key-reused)" 201 "$st"
check "good order after the 404: not replayed" "" "$(hdr Idempotent-Replayed)"

# a validation failure is not recorded: the key is still free
KV="idem-422-$U"
st=$(kcmd "$KV" "$(order_json "$CF" "$PF" 0)")
is_problem "keyed order of quantity 0" 422 validation-failed
check "quantity 0: no key row" 0 "$(key_rows "$KV")"
st=$(kcmd "$KV" "$(order_json "$CF" "$PF" 1)")
check "the same key with a valid order afterwards: 201" 201 "$st"
check "valid order after the 422: not replayed" "" "$(hdr Idempotent-Replayed)"
check "failed commands: stock 4 - 1 - 1" 2 "$(sql "SELECT stock FROM products WHERE id = $PF")"

#=== 20 identical keyed PlaceOrders racing (held at the product's row lock) ===

PR=$(mk_product "RACE-$U" 100 300)
CR=$(mk_customer "racer")
check_match "race: setup" "^$IDN $IDN\$" "$PR $CR"
KR="idem-race-$U"
ER=$(order_json "$CR" "$PR" 1)
R="$T_CASE/race-order"
mkdir -p "$R"
# a root session holds the product row: the first request waits on it while
# holding its key row, its twins wait on the key row
sql_bg t30-lock "BEGIN; SELECT id FROM products WHERE id = $PR FOR UPDATE;
                 SELECT SLEEP(30), 't30-lock'; COMMIT"
lock_bg=$bg_pid
race_pids=""
for i in $(seq 1 20); do
    race_send "$R/$i" "$KR" "$ER" &
    race_pids="$race_pids $!"
done
# release within 3 s, well before a request's 5 s lock wait ends: a request
# that waits past it is retried, and a run of those answers 503 (the bound),
# which is not what this race is about; the most waits seen proves the race
waits=0
most=0
t_end=$(($(date +%s%N) + 3000000000))
while [ "$(date +%s%N)" -lt "$t_end" ]; do
    waits=$(lock_waits)
    [ "${waits:-0}" -gt "$most" ] && most=$waits
    [ "$most" -ge 3 ] && break
    sleep 0.05
done
check_match "race: the requests pile up on the locks (the first at the product, twins at the key)" \
    '^([3-9]|[1-9][0-9]+)$' "$most"
if [ "$most" -lt 3 ] 2>/dev/null; then # what the server was doing, for the record
    sql "SELECT id, command, time, state, LEFT(info, 80) FROM information_schema.PROCESSLIST WHERE command <> 'Sleep'" | sed 's/^/  processlist: /'
    ls "$R" | sed 's/^/  race files: /' | head -5
fi
release_lock t30-lock
wait $race_pids
wait "$lock_bg" 2>/dev/null
race_report "race PlaceOrder" "$R" 201
check "race PlaceOrder: command_id" "$KR" "$(jq -r .command_id "$R/1.body")"
OR=$(jq -r .aggregate_id "$R/1.body")
check "race PlaceOrder: Location" "/queries/orders/$OR" "$(grep -i '^Location:' "$R/1.hdr" | tr -d '\r' | sed 's/^[^:]*: *//')"
check "race PlaceOrder: one order" "1 $OR" "$(sql "SELECT COUNT(*), MAX(id) FROM orders WHERE customer_id = $CR" | tr '\t' ' ')"
check "race PlaceOrder: one line" 1 "$(sql "SELECT COUNT(*) FROM order_lines WHERE product_id = $PR")"
check "race PlaceOrder: stock decremented once" 99 "$(sql "SELECT stock FROM products WHERE id = $PR")"
get "/queries/products/$PR" >/dev/null
check "race PlaceOrder: the query side" "99 1 1" "$(jqb '"\(.stock) \(.units_sold) \(.order_count)"')"
check "race PlaceOrder: one OrderPlaced with the key" 1 "$(events_of "$KR" OrderPlaced)"
check "race PlaceOrder: no other event with the key" 1 "$(events_of "$KR")"

#=== 20 identical keyed PlaceOrders, free running ===

PR2=$(mk_product "RACE2-$U" 100 300)
CR2=$(mk_customer "racer2")
KR2="idem-race2-$U"
ER2=$(order_json "$CR2" "$PR2" 1)
R="$T_CASE/race-order2"
mkdir -p "$R"
for i in $(seq 1 20); do race_send "$R/$i" "$KR2" "$ER2" & done
wait
race_report "free race PlaceOrder" "$R" 201
check "free race PlaceOrder: one order" 1 "$(sql "SELECT COUNT(*) FROM orders WHERE customer_id = $CR2")"
check "free race PlaceOrder: stock decremented once" 99 "$(sql "SELECT stock FROM products WHERE id = $PR2")"
check "free race PlaceOrder: one OrderPlaced with the key" 1 "$(events_of "$KR2" OrderPlaced)"

#=== 20 identical keyed UpdateProductPrices racing ===

PP=$(mk_product "PRICE-$U" 10 100)
check_match "price race: setup" "$ID" "$PP"
KU="idem-price-$U"
EU="{\"type\":\"UpdateProductPrice\",\"data\":{\"product_id\":$PP,\"price_cents\":777}}"
R="$T_CASE/race-price"
mkdir -p "$R"
for i in $(seq 1 20); do race_send "$R/$i" "$KU" "$EU" & done
wait
race_report "race UpdateProductPrice" "$R" 200
check "race UpdateProductPrice: no Location" 0 "$(grep -il '^Location:' "$R"/*.hdr | wc -l)"
check "race UpdateProductPrice: ack" "$KU UpdateProductPrice product $PP 2" \
    "$(jq -r '"\(.command_id) \(.type) \(.aggregate_type) \(.aggregate_id) \(.version)"' "$R/1.body")"
check "race UpdateProductPrice: version 2 in the write table" "2 777" \
    "$(sql "SELECT version, price_cents FROM products WHERE id = $PP" | tr '\t' ' ')"
get "/queries/products/$PP" >/dev/null
check "race UpdateProductPrice: the query side" "2 777" "$(jqb '"\(.version) \(.price_cents)"')"
check "race UpdateProductPrice: one ProductPriceUpdated with the key" 1 "$(events_of "$KU" ProductPriceUpdated)"
check "race UpdateProductPrice: two events on the product" 2 \
    "$(sql "SELECT COUNT(*) FROM events WHERE aggregate_type = 'product' AND aggregate_id = $PP")"

#=== a replay survives a daemon restart ===

port=$(own_port)
own_daemons="$own_daemons idem1"
if start_daemon idem1 "$port" --threads 2; then
    URL_BASE="http://127.0.0.1:$port"
    KS="idem-restart-$U"
    ES=$(create_json "RESTART-$U")
    st=$(kcmd "$KS" "$ES")
    keep restart
    check "before the restart: 201" 201 "$st"
    check "before the restart: not replayed" "" "$(hdr Idempotent-Replayed)"
    stop_own idem1
    check "stop idem1: exit 0" 0 "$stop_rc"
    if start_daemon idem1 "$port" --threads 2; then
        st=$(kcmd "$KS" "$ES")
        is_replay "after the restart" restart
        check "after the restart: one product" 1 "$(sql "SELECT COUNT(*) FROM products WHERE sku = 'RESTART-$U'")"
        check "after the restart: one event" 1 "$(events_of "$KS")"
        stop_own idem1
        check "stop idem1 again: exit 0" 0 "$stop_rc"
    else
        fail=$((fail + 1))
    fi
    unset URL_BASE
else
    fail=$((fail + 1))
fi
# and the shared daemon replays what idem1 recorded
st=$(kcmd "$KS" "$ES")
is_replay "the restart key on another daemon" restart

#=== keys are kept at least 24 hours; older ones are purged ===

# a real command whose key is backdated to 23 h 30 min
KK="idem-kept-$U"
EK=$(create_json "KEPT-$U")
st=$(kcmd "$KK" "$EK")
keep kept
check "kept: 201" 201 "$st"
sql "UPDATE idempotency_keys SET created_at = UTC_TIMESTAMP(3) - INTERVAL 1410 MINUTE WHERE idem_key = 'admin:$KK'"
# 1200 keys of 26 h ago (more than one purge batch) and one of 23 h ago
values=""
for i in $(seq 1 1200); do
    values="$values${values:+,}('admin:purge-old-$U-$i', REPEAT('0', 64), 200, '', '{}', UTC_TIMESTAMP(3) - INTERVAL 26 HOUR)"
done
sql "INSERT INTO idempotency_keys (idem_key, digest, status, location, body, created_at) VALUES $values"
sql "INSERT INTO idempotency_keys (idem_key, digest, status, location, body, created_at)
     VALUES ('admin:purge-recent-$U', REPEAT('0', 64), 200, '', '{}', UTC_TIMESTAMP(3) - INTERVAL 23 HOUR)"
check "purge setup: 1200 old keys" 1200 "$(sql "SELECT COUNT(*) FROM idempotency_keys WHERE idem_key LIKE 'admin:purge-old-$U-%'")"
port=$(own_port)
own_daemons="$own_daemons idem2"
if start_daemon idem2 "$port" --threads 2; then
    t0=$(date +%s%N)
    left=1200
    for _ in $(seq 1 100); do
        left=$(sql "SELECT COUNT(*) FROM idempotency_keys WHERE idem_key LIKE 'admin:purge-old-$U-%'")
        [ "$left" = 0 ] && break
        [ $((($(date +%s%N) - t0) / 1000000)) -gt 5000 ] && break
        sleep 0.05
    done
    check "purge: the keys older than 25 h are gone within 5 s" 0 "$left"
    check "purge: the key of 23 h remains" 1 "$(key_rows "purge-recent-$U")"
    check "purge: the backdated real key remains" 1 "$(key_rows "$KK")"
    URL_BASE="http://127.0.0.1:$port"
    st=$(kcmd "$KK" "$EK")
    is_replay "a key of 23 h 30 min replays" kept
    check "kept: one product" 1 "$(sql "SELECT COUNT(*) FROM products WHERE sku = 'KEPT-$U'")"
    unset URL_BASE
    stop_own idem2
    check "stop idem2: exit 0" 0 "$stop_rc"
else
    fail=$((fail + 1))
fi
sql "DELETE FROM idempotency_keys WHERE idem_key = 'admin:purge-recent-$U'"

check "the shared daemon is still ready" 200 "$(get /readyz)"
finish

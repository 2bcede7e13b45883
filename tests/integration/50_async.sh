#!/usr/bin/env bash
# 50_async.sh - asynchronous commands (API.md "Asynchronous commands" and its
# details): the 202 contract and a usable Location; bad envelopes get the
# synchronous 4xx and queue nothing; queued -> running -> succeeded with the
# acknowledgement as `result` and the effect on the query side; business
# failures recorded once and listed (paged) by GET /commands?status=failed;
# idempotency keys bound to the async command; Prefer lists; arrival order
# per aggregate across two daemons on one database (50 price updates, order
# chains); 1,000 async PlaceOrders from 8 clients run exactly once, the stock
# adds up and verify-views agrees. Prints the async and sync rates (info).
. "$(dirname "$0")/lib.sh"

U=$(uniq_id)
IDN='[1-9][0-9]*'
ID="^$IDN\$"
TS='^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{3}Z$'
UUID='^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$'
ACK_KEYS='["aggregate_id","aggregate_type","command_id","position","status","type","version"]'
OK_KEYS='["attempts","command_id","created_at","finished_at","result","status","type"]'
KO_KEYS='["attempts","command_id","created_at","error","finished_at","status","type"]'
WAIT_KEYS='["attempts","command_id","created_at","finished_at","status","type"]'

lock_pid=""
cleanup() {
    [ -n "$lock_pid" ] && unlock_row
    [ -f "$T/daemon-async2.pid" ] && stop_daemon async2 >/dev/null
}
trap cleanup EXIT

#=== helpers ===

# acmd JSON [curl args...]: POST /commands with Prefer: respond-async
acmd() {
    local j=$1
    shift
    cmd "$j" -H 'Prefer: respond-async' "$@"
}

# enc ID: ID percent-encoded as a path segment
enc() {
    if [[ $1 =~ ^[A-Za-z0-9._~-]+$ ]]; then echo "$1"; else jq -rn --arg s "$1" '$s | @uri'; fi
}

# status_of ID: GET /commands/{ID}; prints the HTTP status, body in $B
status_of() { get "/commands/$(enc "$1")"; }

# wait_cmd ID [MS]: polls GET /commands/{ID} until it is succeeded or failed
# (MS milliseconds at most, default 5000); prints its last status; the last
# status object stays in $B
wait_cmd() {
    local id=$1 ms=${2:-5000} t0 st=none
    t0=$(date +%s%N)
    for _ in $(seq 1 1000); do
        if [ "$(status_of "$id")" = 200 ]; then
            st=$(jqb .status)
            case $st in succeeded | failed) break ;; esac
        fi
        [ $((($(date +%s%N) - t0) / 1000000)) -ge "$ms" ] && break
        sleep 0.02
    done
    echo "$st"
}

# wait_keys PREFIX N MS: until N commands whose id starts with PREFIX are
# finished (MS milliseconds at most); prints how many are
wait_keys() {
    local n=0 t0
    t0=$(date +%s%N)
    for _ in $(seq 1 2000); do
        n=$(sql "SELECT COUNT(*) FROM command_queue WHERE command_id LIKE '$1%' AND status IN ('succeeded', 'failed')")
        [ "$n" -ge "$2" ] && break
        [ $((($(date +%s%N) - t0) / 1000000)) -ge "$3" ] && break
        sleep 0.05
    done
    echo "$n"
}

# mk_product SKU PRICE STOCK: prints the new product's id
mk_product() {
    local st
    st=$(cmd "{\"type\":\"CreateProduct\",\"data\":{\"sku\":\"$1\",\"name\":\"Async $1\",\"category\":\"cat-async-$U\",\"price_cents\":$2,\"stock\":$3}}")
    if [ "$st" = 201 ]; then jqb .aggregate_id; else echo "FAIL setup: CreateProduct $1: $st $(body)" >&2; fi
}

# mk_customer NAME: prints the new customer's id
mk_customer() {
    local st
    st=$(cmd "{\"type\":\"RegisterCustomer\",\"data\":{\"name\":\"$1\",\"email\":\"$1.$U@example.com\"}}")
    if [ "$st" = 201 ]; then jqb .aggregate_id; else echo "FAIL setup: RegisterCustomer $1: $st $(body)" >&2; fi
}

# place_json CUSTOMER ID:QTY...
place_json() {
    local c=$1 out="" a
    shift
    for a in "$@"; do out="$out${out:+,}{\"product_id\":${a%%:*},\"quantity\":${a#*:}}"; done
    echo "{\"type\":\"PlaceOrder\",\"data\":{\"customer_id\":$c,\"items\":[$out]}}"
}

# place CUSTOMER ID:QTY...: a synchronous PlaceOrder; prints the order id
place() {
    local st
    st=$(cmd "$(place_json "$@")")
    if [ "$st" = 201 ]; then jqb .aggregate_id; else echo "FAIL setup: PlaceOrder $*: $st $(body)" >&2; fi
}

# order_cmd TYPE ORDER: the envelope of PayOrder/ShipOrder/CancelOrder
order_cmd() { echo "{\"type\":\"$1\",\"data\":{\"order_id\":$2}}"; }

# cfg_add CFG URL KEY JSON [async]: one more request of a curl config file
# (run with `curl -s -K CFG`: one request after the other, each line of the
# output is the body then TAB and the status). JSON must have no spaces.
cfg_add() {
    [ -s "$1" ] && echo next >>"$1"
    {
        echo "url = \"$2/commands\""
        echo 'header = "Content-Type: application/json"'
        [ -n "$3" ] && echo "header = \"Idempotency-Key: $3\""
        [ "${5:-}" = async ] && echo 'header = "Prefer: respond-async"'
        echo "data-binary = $4"
        echo 'write-out = "\t%{http_code}\n"'
    } >>"$1"
}

# run_cfg CFG: runs a curl config file; prints its lines (BODY TAB STATUS)
run_cfg() { curl -s -K "$1"; }

# ids_of: the aggregate_id of each "BODY TAB 201" line on stdin ("-" for others)
ids_of() { awk -F'\t' '{ if ($2 == 201 && match($1, /"aggregate_id":[0-9]+/)) print substr($1, RSTART + 15, RLENGTH - 15); else print "-" }'; }

# mk_products PREFIX N PRICE STOCK: N products in one curl; prints their ids
mk_products() {
    local cfg="$T_CASE/mk-$1.cfg" i
    : >"$cfg"
    for i in $(seq 1 "$2"); do
        cfg_add "$cfg" "$BASE" "" "{\"type\":\"CreateProduct\",\"data\":{\"sku\":\"$1-$i\",\"name\":\"$1-$i\",\"category\":\"cat-async-$U\",\"price_cents\":$3,\"stock\":$4}}"
    done
    run_cfg "$cfg" | ids_of | tr '\n' ' ' | sed 's/ $//'
}

# getmany PATH...: GETs in one curl; one body per line
getmany() {
    local args=() p
    for p in "$@"; do args+=("$BASE$p"); done
    curl -s -w '\n' "${args[@]}"
}

# now_utc: the current time as the API writes it
now_utc() { date -u +%Y-%m-%dT%H:%M:%S.%3NZ; }

# error_product_id: the product_id of the problem in the last status
# object, as sent (jq 1.6 would round ids above 2^53)
error_product_id() { grep -oE '"error": *\{.*"product_id": *[0-9]+' "$B" | grep -oE '[0-9]+$'; }

queue_rows() { sql "SELECT COUNT(*) FROM command_queue"; }

#=== setup ===

P1=$(mk_product "AS1-$U" 250 5)
P2=$(mk_product "AS2-$U" 100 1000)
C=$(mk_customer "async")
check_match setup "^$IDN $IDN $IDN\$" "$P1 $P2 $C"

#=== the 202 contract ===

st=$(acmd "$(place_json "$C" "$P1:2")")
check "202: status" 202 "$st"
check_match "202: Content-Type" '^application/json' "$(hdr Content-Type)"
check "202: Preference-Applied" respond-async "$(hdr Preference-Applied)"
check_match "202: X-Request-Id" '.' "$(hdr X-Request-Id)"
check "202: body members" '["command_id","status","type"]' "$(jq -c keys "$B")"
check "202: type and status" "PlaceOrder queued" "$(jqb '"\(.type) \(.status)"')"
ID1=$(jqb .command_id)
check_match "202: command_id is a generated UUID" "$UUID" "$ID1"
check "202: Location" "/commands/$ID1" "$(hdr Location)"
check "202: no Idempotent-Replayed" "" "$(hdr Idempotent-Replayed)"
LOC1=$(hdr Location)
check "202: Location answers" 200 "$(get "$LOC1")"
check_match "status: Content-Type" '^application/json' "$(hdr Content-Type)"
check "status: command_id and type" "$ID1 PlaceOrder" "$(jqb '"\(.command_id) \(.type)"')"
check_match "status: queued, running or succeeded" '^(queued|running|succeeded)$' "$(jqb .status)"
check "status: HEAD" 200 "$(curl -s -o /dev/null -w '%{http_code}' -I "$BASE$LOC1")"
check "status: polled until succeeded" succeeded "$(wait_cmd "$ID1")"
check "status: members when succeeded" "$OK_KEYS" "$(jq -c keys "$B")"
check "status: attempts" 1 "$(jqb .attempts)"
check_match "status: created_at" "$TS" "$(jqb .created_at)"
check_match "status: finished_at" "$TS" "$(jqb .finished_at)"
check "status: created_at <= finished_at" yes "$(jq -r 'if .created_at <= .finished_at then "yes" else "no" end' "$B")"
check "result: the acknowledgement's members" "$ACK_KEYS" "$(jq -c '.result | keys' "$B")"
check "result: command, type, status" "$ID1 PlaceOrder succeeded order 1" \
    "$(jqb '.result | "\(.command_id) \(.type) \(.status) \(.aggregate_type) \(.version)"')"
O1=$(jqb .result.aggregate_id)
POS1=$(jqb .result.position)
check_match "result: aggregate_id and position" "^$IDN $IDN\$" "$O1 $POS1"
check "result: its event" "OrderPlaced $O1 $ID1" \
    "$(sql "SELECT type, aggregate_id, command_id FROM events WHERE position = $POS1" | tr '\t' ' ')"
check "query side: the order" "200 placed $C $P1 2" \
    "$(get "/queries/orders/$O1") $(jqb '"\(.status) \(.customer.customer_id) \(.items[0].product_id) \(.items[0].quantity)"')"
check "query side: the stock" "200 3" "$(get "/queries/products/$P1") $(jqb .stock)"

# a key with reserved characters: the Location is percent-encoded and usable
K="a/b:c?d#e%f+$U"
st=$(acmd '{"type":"RestockProduct","data":{"product_id":'"$P2"',"quantity":1}}' -H "Idempotency-Key: $K")
check "202 with a key: status and command_id" "202 $K" "$st $(jqb .command_id)"
check "202 with a key: Location percent-encoded" "/commands/$(enc "$K")" "$(hdr Location)"
LOCK=$(hdr Location)
check "202 with a key: Location answers" "200 $K" "$(get "$LOCK") $(jqb .command_id)"
check "202 with a key: runs" succeeded "$(wait_cmd "$K")"
check "status: unknown id" "404 not-found" "$(get "/commands/no-such-$U") $(jqb .type)"
check_match "status: unknown id is problem+json" '^application/problem\+json' "$(hdr Content-Type)"

#=== queued, running (a row lock holds the command where it runs) ===

if lock_row "$P2"; then
    acmd '{"type":"UpdateProductPrice","data":{"product_id":'"$P2"',"price_cents":111}}' -H "Idempotency-Key: run1-$U" >/dev/null
    acmd '{"type":"UpdateProductPrice","data":{"product_id":'"$P2"',"price_cents":222}}' -H "Idempotency-Key: run2-$U" >/dev/null
    st=queued
    for _ in $(seq 1 100); do
        status_of "run1-$U" >/dev/null
        st=$(jqb .status)
        [ "$st" = running ] && break
        sleep 0.02
    done
    seen_running=$(now_utc)
    check "running: the first" "running 1 null" "$st $(jqb '"\(.attempts) \(.finished_at)"')"
    check "running: members" "$WAIT_KEYS" "$(jq -c keys "$B")"
    status_of "run2-$U" >/dev/null
    check "queued: the second waits behind the first" "queued 0 null" "$(jqb '"\(.status) \(.attempts) \(.finished_at)"')"
    check "queued: members" "$WAIT_KEYS" "$(jq -c keys "$B")"
    # (after a database restart, each HTTP thread's first /metrics lacks the queue
    # gauges: 51_async_faults.sh shows that; here take the first full answer)
    for _ in $(seq 1 20); do
        m=$(curl -s "$BASE/metrics")
        echo "$m" | grep -q '^cqrsd_queue_dead_letters ' && break
    done
    check_match "metrics: queue depth queued" '^[1-9]' "$(echo "$m" | awk '$1 == "cqrsd_queue_depth{status=\"queued\"}" {print $2}')"
    check_match "metrics: queue depth running" '^[1-9]' "$(echo "$m" | awk '$1 == "cqrsd_queue_depth{status=\"running\"}" {print $2}')"
    check_match "metrics: oldest age" '^[0-9]+\.[0-9]*[1-9][0-9]*$|^[1-9]' "$(echo "$m" | awk '$1 == "cqrsd_queue_oldest_age_seconds" {print $2}')"
    check_match "metrics: dead letters" '^[0-9]+$' "$(echo "$m" | awk '$1 == "cqrsd_queue_dead_letters" {print $2}')"
    unlock_row
    check "running: then succeeded" succeeded "$(wait_cmd "run1-$U")"
    f1=$(jqb .finished_at)
    v1=$(jqb .result.version)
    check "running: finished_at is when it finished (not before it was seen running)" yes \
        "$([[ "$f1" > "$seen_running" ]] && echo yes || echo "no ($f1 <= $seen_running)")"
    check "queued: then succeeded, after the first" "succeeded $((v1 + 1))" "$(wait_cmd "run2-$U") $(jqb .result.version)"
    check "queued: the last price wins" "200 222" "$(get "/queries/products/$P2") $(jqb .price_cents)"
else
    fail=$((fail + 1))
fi

#=== a bad envelope with Prefer: respond-async is the synchronous 4xx ===

rows0=$(queue_rows)
st=$(acmd '{"type":"PlaceOrder","data":{"customer_id":'"$C"',"items":[{"product_id":'"$P1"',"quantity":1}]},"extra":1}' -H "Idempotency-Key: bad1-$U")
check "bad: unknown member is 422 validation-failed" "422 validation-failed extra" "$st $(jqb .type) $(jqb '.errors[0].field')"
check_match "bad: problem+json" '^application/problem\+json' "$(hdr Content-Type)"
check "bad: no Preference-Applied, no Location" "" "$(hdr Preference-Applied)$(hdr Location)"
st=$(acmd "$(place_json "$C" "$P1:0")")
check "bad: a data field" "422 validation-failed data.items[0].quantity" "$st $(jqb .type) $(jqb '.errors[0].field')"
st=$(acmd '{"type":"ShipEverything","data":{}}')
check "bad: unknown command" "422 unknown-command" "$st $(jqb .type)"
st=$(acmd '{"type":')
check "bad: malformed JSON" "400 malformed-json" "$st $(jqb .type)"
st=$(acmd '{"type":"RestockProduct","data":{"product_id":1,"quantity":1}}' -H 'Idempotency-Key;')
check "bad: empty Idempotency-Key" "400 invalid-parameter" "$st $(jqb .type)"
st=$(curl -s -o "$B" -D "$H" -w '%{http_code}' -H 'Content-Type: text/plain' -H 'Prefer: respond-async' \
    --data-binary '{"type":"RestockProduct","data":{"product_id":1,"quantity":1}}' "$BASE/commands")
check "bad: not JSON" "415 unsupported-media-type" "$st $(jqb .type)"
check "bad: nothing queued" "$rows0" "$(queue_rows)"
check "bad: its key names no command" 404 "$(status_of "bad1-$U")"
st=$(acmd "$(place_json "$C" "$P1:1")" -H "Idempotency-Key: bad1-$U")
check "bad: the key was not recorded, the fixed command is accepted" "202 " "$st $(hdr Idempotent-Replayed)"
check "bad: the fixed command runs" succeeded "$(wait_cmd "bad1-$U")"

#=== business failures: recorded once, listed oldest first ===

# P1 has 2 left. O2 gets shipped; then PayOrder on it cannot succeed.
O2=$(place "$C" "$P2:1")
cmd "$(order_cmd PayOrder "$O2")" >/dev/null
cmd "$(order_cmd ShipOrder "$O2")" >/dev/null
check "setup: a shipped order" "200 shipped" "$(get "/queries/orders/$O2") $(jqb .status)"
acmd "$(place_json "$C" "$P2:1" "$P1:10")" -H "Idempotency-Key: f1-$U" >/dev/null
acmd "$(order_cmd PayOrder "$O2")" -H "Idempotency-Key: f2-$U" >/dev/null
acmd '{"type":"UpdateProductPrice","data":{"product_id":9000000000000000001,"price_cents":5}}' -H "Idempotency-Key: f3-$U" >/dev/null
acmd "$(place_json "$C" "$P2:1" "9000000000000000002:1")" -H "Idempotency-Key: f4-$U" >/dev/null
acmd '{"type":"CreateProduct","data":{"sku":"AS1-'"$U"'","name":"again","category":"c","price_cents":1}}' -H "Idempotency-Key: f5-$U" >/dev/null
acmd '{"type":"UpdateProductPrice","data":{"product_id":'"$P1"',"price_cents":1,"expected_version":7}}' -H "Idempotency-Key: f6-$U" >/dev/null
check "short of stock: failed" failed "$(wait_cmd "f1-$U")"
check "short of stock: members" "$KO_KEYS" "$(jq -c keys "$B")"
check "short of stock: the problem" "insufficient-stock 409 1" "$(jqb '"\(.error.type) \(.error.status) \(.attempts)"')"
check "short of stock: the product" "[{\"product_id\":$P1,\"requested\":10,\"available\":2}]" "$(jq -c '.error.products' "$B")"
check_match "short of stock: finished_at" "$TS" "$(jqb .finished_at)"
check "shipped order: PayOrder failed" "failed invalid-state-transition 409 1" "$(wait_cmd "f2-$U") $(jqb '"\(.error.type) \(.error.status) \(.attempts)"')"
check "unknown product: UpdateProductPrice failed" "failed not-found 404 1" "$(wait_cmd "f3-$U") $(jqb '"\(.error.type) \(.error.status) \(.attempts)"')"
check "unknown product: PlaceOrder failed" "failed not-found 1 9000000000000000002" "$(wait_cmd "f4-$U") $(jqb '"\(.error.type) \(.attempts)"') $(error_product_id)"
check "taken sku: CreateProduct failed" "failed duplicate 409 1" "$(wait_cmd "f5-$U") $(jqb '"\(.error.type) \(.error.status) \(.attempts)"')"
check "stale expected_version: failed" "failed version-conflict 409 1 1" \
    "$(wait_cmd "f6-$U") $(jqb '"\(.error.type) \(.error.status) \(.error.current_version) \(.attempts)"')"
check "failures changed nothing" "200 2 250 1 200 1000 200 shipped 3" \
    "$(get "/queries/products/$P1") $(jqb '"\(.stock) \(.price_cents) \(.version)"') $(get "/queries/products/$P2") $(jqb .stock) $(get "/queries/orders/$O2") $(jqb '"\(.status) \(.version)"')"
check "failures changed nothing: no events" 0 "$(sql "SELECT COUNT(*) FROM events WHERE command_id IN ('f1-$U', 'f2-$U', 'f3-$U', 'f4-$U', 'f5-$U', 'f6-$U')")"

# GET /commands?status=failed, paged with limit=2: each once, oldest first
: >"$T_CASE/failed.ids"
after=""
pages=0
bad_items=0
for _ in $(seq 1 500); do
    st=$(get "/commands?status=failed&limit=2${after:+&after=$after}")
    [ "$st" = 200 ] || break
    pages=$((pages + 1))
    after=""
    # one jq per page: the ids, the items that do not belong, the cursor
    while read -r kind val; do
        case $kind in
        id) echo "$val" >>"$T_CASE/failed.ids" ;;
        bad) bad_items=$((bad_items + val)) ;;
        next) after=$val ;;
        esac
    done < <(jq -r '(.items[] | "id \(.command_id)"),
        "bad \(([.items[] | select(.status != "failed" or .error == null or .result != null)] | length)
              + (if (.items | length) > 2 then 1 else 0 end))",
        "next \(.next_cursor // "")"' "$B")
    [ -z "$after" ] && break
done
check "failed list: walked to the end" "200 null" "$st $(jqb .next_cursor)"
check "failed list: only failed commands, at most limit per page" 0 "$bad_items"
check "failed list: ours, each once, oldest first" "f1-$U f2-$U f3-$U f4-$U f5-$U f6-$U" "$(grep -- "-$U\$" "$T_CASE/failed.ids" | grep -E '^f[0-9]-' | tr '\n' ' ' | sed 's/ $//')"
check "failed list: no command twice" "" "$(sort "$T_CASE/failed.ids" | uniq -d | head -3)"
check "failed list: the whole list in acceptance order" "" \
    "$(diff <(cat "$T_CASE/failed.ids") \
        <(sql "SELECT command_id FROM command_queue WHERE status = 'failed' ORDER BY seq") | head -5)"
check_match "failed list: more than one page" '^[2-9]|^[1-9][0-9]' "$pages"
get "/commands?limit=200" >/dev/null
check_match "all commands: a list" '^[0-9]+ (null|.+)$' "$(jqb '"\(.items | length) \(.next_cursor)"')"
# acceptance order (created_at is stamped before the row is written: commands
# accepted at the same moment may be some milliseconds out of order)
check "all commands: oldest first" "" \
    "$(diff <(jq -r '.items[].command_id' "$B") <(sql "SELECT command_id FROM command_queue ORDER BY seq LIMIT 200") | head -4)"
check "list: status=bogus" "400 invalid-parameter" "$(get "/commands?status=bogus") $(jqb .type)"
# exactly the four statuses of API.md: no prefix, no other case, nothing around them
for s in q que queue queuedx QUEUED Failed failed%20 %20failed fail succeed; do
    check "list: status=$s" "400 invalid-parameter" "$(get "/commands?status=$s") $(jqb .type)"
done
for s in queued running succeeded failed; do
    check "list: status=$s" "200 0" \
        "$(get "/commands?status=$s&limit=200") $(jq --arg s "$s" '[.items[] | select(.status != $s)] | length' "$B")"
done
# the queue gauges count exactly those statuses too: a row whose status is a
# prefix of one (here by hand) is neither queued nor the oldest
gauge() { curl -s "$BASE/metrics" | awk -v k="$1" '$1 == k {print $2}'; }
q0=$(gauge 'cqrsd_queue_depth{status="queued"}')
sql "INSERT INTO command_queue (queue_key, command_id, \`type\`, envelope, status, attempts, next_attempt_at, created_at)
     VALUES ('odd-$U', 'odd-$U', 'RestockProduct', '{}', 'q', 0, '2000-01-01', '2000-01-01')"
check "gauges: a status 'q' is not queued" "$q0 small" \
    "$(gauge 'cqrsd_queue_depth{status="queued"}') $(gauge cqrsd_queue_oldest_age_seconds | awk '{print ($1 < 86400 ? "small" : $1)}')"
sql "DELETE FROM command_queue WHERE queue_key = 'odd-$U'"
check "list: limit=0" "400 invalid-parameter" "$(get "/commands?limit=0") $(jqb .type)"
check "list: limit=201" "400 invalid-parameter" "$(get "/commands?limit=201") $(jqb .type)"
check "list: limit=" "400 invalid-parameter" "$(get "/commands?limit=") $(jqb .type)"
check "list: a bad cursor" "400 invalid-parameter" "$(get "/commands?status=failed&after=not-a-cursor") $(jqb .type)"
check "list: unknown parameter" "400 invalid-parameter" "$(get "/commands?sort=id") $(jqb .type)"
check "list: limit=200" 200 "$(get "/commands?status=failed&limit=200")"

#=== cqrsd_commands_total: a 202 is accepted, the worker's outcome comes when it ran ===

# ctr TYPE OUTCOME: the shared daemon's cqrsd_commands_total (0 when absent)
ctr() {
    local v
    v=$(curl -s "$BASE/metrics" | awk -v k="cqrsd_commands_total{type=\"$1\",outcome=\"$2\"}" '$1 == k {print $2}')
    echo "${v:-0}"
}
# po_ctrs: accepted succeeded rejected failed of PlaceOrder
po_ctrs() { echo "$(ctr PlaceOrder accepted) $(ctr PlaceOrder succeeded) $(ctr PlaceOrder rejected) $(ctr PlaceOrder failed)"; }
check "metrics: the queue is idle" 0 "$(sql "SELECT COUNT(*) FROM command_queue WHERE status IN ('queued', 'running')")"
read -r a0 s0 r0 f0 <<<"$(po_ctrs)"
if lock_row "$P2"; then # the command waits in its worker until unlock_row
    st=$(acmd "$(place_json "$C" "$P2:1")" -H "Idempotency-Key: m1-$U")
    check "metrics: an async PlaceOrder" 202 "$st"
    check "metrics: the 202 counts as accepted, not as succeeded" "$((a0 + 1)) $s0 $r0 $f0" "$(po_ctrs)"
    unlock_row
    check "metrics: it ran" succeeded "$(wait_cmd "m1-$U")"
    check "metrics: then its outcome, succeeded" "$((a0 + 1)) $((s0 + 1)) $r0 $f0" "$(po_ctrs)"
else
    fail=$((fail + 1))
fi
st=$(acmd "$(place_json "$C" "$P1:1000")" -H "Idempotency-Key: m2-$U")
check "metrics: an async PlaceOrder over the stock" "202 failed insufficient-stock" \
    "$st $(wait_cmd "m2-$U") $(jqb .error.type)"
check "metrics: accepted, then rejected by the rule" "$((a0 + 2)) $((s0 + 1)) $((r0 + 1)) $f0" "$(po_ctrs)"
st=$(acmd "$(place_json "$C" "$P1:1000")" -H "Idempotency-Key: m2-$U")
check "metrics: a replayed 202 is replayed, nothing else" "202 true $((a0 + 2)) $((s0 + 1)) $((r0 + 1)) $f0" \
    "$st $(hdr Idempotent-Replayed) $(po_ctrs)"
st=$(cmd "$(place_json "$C" "$P2:1")")
check "metrics: a synchronous PlaceOrder still counts as succeeded" "201 $((a0 + 2)) $((s0 + 2)) $((r0 + 1)) $f0" \
    "$st $(po_ctrs)"
check "metrics: every command type is listed" 10 \
    "$(curl -s "$BASE/metrics" | grep -c '^cqrsd_commands_total{type="[A-Za-z]*",outcome="accepted"}')"

#=== idempotency ===

E1='{"type":"RestockProduct","data":{"product_id":'"$P2"',"quantity":3}}'
E1R='{ "data" : { "quantity" : 3, "product_id" : '"$P2"' }, "type" : "RestockProduct" }'
E2='{"type":"RestockProduct","data":{"product_id":'"$P2"',"quantity":4}}'
K1="idem1-$U"
st=$(acmd "$E1" -H "Idempotency-Key: $K1")
check "idem: first" "202 $K1 " "$st $(jqb .command_id) $(hdr Idempotent-Replayed)"
first_body=$(body)
first_loc=$(hdr Location)
st=$(acmd "$E1R" -H "Idempotency-Key: $K1")
check "idem: async again (same JSON, other member order) replays the 202" "202 true respond-async" "$st $(hdr Idempotent-Replayed) $(hdr Preference-Applied)"
check "idem: same body" "$first_body" "$(body)"
check "idem: same Location" "$first_loc" "$(hdr Location)"
st=$(cmd "$E1" -H "Idempotency-Key: $K1")
check "idem: the same key sent synchronously replays the 202" "202 true" "$st $(hdr Idempotent-Replayed)"
check "idem: synchronous replay body" "$first_body" "$(body)"
check "idem: synchronous replay Location" "$first_loc" "$(hdr Location)"
st=$(acmd "$E2" -H "Idempotency-Key: $K1")
check "idem: other envelope, async" "422 idempotency-key-reused" "$st $(jqb .type)"
st=$(cmd "$E2" -H "Idempotency-Key: $K1")
check "idem: other envelope, sync" "422 idempotency-key-reused" "$st $(jqb .type)"
check "idem: it ran" succeeded "$(wait_cmd "$K1")"
st=$(cmd "$E1" -H "Idempotency-Key: $K1")
check "idem: after it ran, still the 202" "202 true $first_body" "$st $(hdr Idempotent-Replayed) $(body)"
check "idem: one queue row, one event" "1 1" \
    "$(sql "SELECT (SELECT COUNT(*) FROM command_queue WHERE command_id = '$K1'), (SELECT COUNT(*) FROM events WHERE command_id = '$K1')" | tr '\t' ' ')"
# the key row purged (keys live 25 h) while the queue row is kept (7 days, dead
# letters for ever): the key stays bound to its command, compared by envelope
purge_key() { sql "DELETE FROM idempotency_keys WHERE idem_key = 'admin:$1'"; }
purge_key "$K1"
check "idem purged: the key row is gone, the queue row is not" "0 1" \
    "$(sql "SELECT (SELECT COUNT(*) FROM idempotency_keys WHERE idem_key = 'admin:$K1'), (SELECT COUNT(*) FROM command_queue WHERE queue_key = 'admin:$K1')" | tr '\t' ' ')"
st=$(acmd "$E1R" -H "Idempotency-Key: $K1")
check "idem purged: the same envelope async replays the 202" "202 true $first_body" "$st $(hdr Idempotent-Replayed) $(body)"
check "idem purged: same command_id and Location" "$K1 $first_loc" "$(jqb .command_id) $(hdr Location)"
check "idem purged: the replay records nothing (the queue row binds the key)" 0 \
    "$(sql "SELECT COUNT(*) FROM idempotency_keys WHERE idem_key = 'admin:$K1'")"
st=$(acmd "$E2" -H "Idempotency-Key: $K1")
check "idem purged: another envelope async" "422 idempotency-key-reused" "$st $(jqb .type)"
check "idem purged: the 422 records nothing" 0 "$(sql "SELECT COUNT(*) FROM idempotency_keys WHERE idem_key = 'admin:$K1'")"
st=$(cmd "$E2" -H "Idempotency-Key: $K1")
check "idem purged: another envelope sync" "422 idempotency-key-reused" "$st $(jqb .type)"
st=$(cmd "$E1" -H "Idempotency-Key: $K1")
check "idem purged: the same envelope sync replays the 202" "202 true $first_body" "$st $(hdr Idempotent-Replayed) $(body)"
check "idem purged: still one queue row, one event, succeeded" "1 1 succeeded" \
    "$(sql "SELECT (SELECT COUNT(*) FROM command_queue WHERE command_id = '$K1'), (SELECT COUNT(*) FROM events WHERE command_id = '$K1')" | tr '\t' ' ') $(wait_cmd "$K1")"
# a key first used synchronously replays its answer, also when the repeat asks for async
st=$(cmd "$E2" -H "Idempotency-Key: idem2-$U")
sync_body=$(body)
st2=$(acmd "$E2" -H "Idempotency-Key: idem2-$U")
check "idem: a synchronous command's key, repeated async replays its 200" "200 200 true " "$st $st2 $(hdr Idempotent-Replayed) $(hdr Preference-Applied)"
check "idem: a synchronous command's key, repeated async: same body" "$sync_body" "$(body)"
check "idem: a synchronous command's key, repeated async: nothing queued" 404 "$(status_of "idem2-$U")"
# a failed async command keeps its key: a repeat replays the 202 and does not run it again
st=$(acmd "$(order_cmd PayOrder "$O2")" -H "Idempotency-Key: f2-$U")
check "idem: a failed command's key replays its 202" "202 true queued" "$st $(hdr Idempotent-Replayed) $(jqb .status)"
st=$(cmd "$(order_cmd PayOrder "$O2")" -H "Idempotency-Key: f2-$U")
check "idem: also synchronously" "202 true" "$st $(hdr Idempotent-Replayed)"
check "idem: and it stays failed, run once" "failed 1" "$(status_of "f2-$U" >/dev/null; jqb '"\(.status) \(.attempts)"')"
# identical async requests racing: one accepted, the others replayed
mkdir -p "$T_CASE/race"
for i in 1 2 3 4 5 6; do
    curl -s -o "$T_CASE/race/$i.body" -D "$T_CASE/race/$i.hdr" -w '%{http_code}' -H 'Content-Type: application/json' \
        -H 'Prefer: respond-async' -H "Idempotency-Key: race-$U" --data-binary "$E1" "$BASE/commands" >"$T_CASE/race/$i.st" &
done
wait
check "idem race: all 202" 6 "$(grep -lx 202 "$T_CASE"/race/*.st | wc -l)"
check "idem race: exactly one not replayed" 1 "$(grep -Li '^Idempotent-Replayed: true' "$T_CASE"/race/*.hdr | wc -l)"
check "idem race: one body" 1 "$(for f in "$T_CASE"/race/*.body; do cat "$f"; echo; done | sort -u | wc -l)"
check "idem race: runs once" "succeeded 1 1" \
    "$(wait_cmd "race-$U") $(sql "SELECT (SELECT COUNT(*) FROM command_queue WHERE command_id = 'race-$U'), (SELECT COUNT(*) FROM events WHERE command_id = 'race-$U')" | tr '\t' ' ')"

#=== Prefer lists ===

pref() { # pref HEADER...: a RestockProduct with those Prefer headers; prints "STATUS PREFERENCE-APPLIED"
    local args=() h
    for h in "$@"; do args+=(-H "Prefer: $h"); done
    local st
    st=$(cmd '{"type":"RestockProduct","data":{"product_id":'"$P2"',"quantity":1}}' "${args[@]}")
    echo "$st $(hdr Preference-Applied)"
}
check "prefer: respond-async, wait=10" "202 respond-async" "$(pref 'respond-async, wait=10')"
check "prefer: wait=10, respond-async" "202 respond-async" "$(pref 'wait=10, respond-async')"
check "prefer: return=minimal,respond-async" "202 respond-async" "$(pref 'return=minimal,respond-async')"
check "prefer: handling=lenient; x=1, respond-async" "202 respond-async" "$(pref 'handling=lenient; x=1, respond-async')"
check "prefer: respond-async; foo=bar" "202 respond-async" "$(pref 'respond-async; foo=bar')"
# RFC 7240 section 2 (and RFC 9110 5.3): two Prefer fields are one comma-separated list
check "prefer: two Prefer fields" "202 respond-async" "$(pref 'return=minimal' 'respond-async')"
check "prefer: return=minimal alone is synchronous" "200 " "$(pref 'return=minimal')"
check "prefer: synchronous body" "succeeded" "$(jqb .status)"
check "prefer: respond-asyncx is not respond-async" "200 " "$(pref 'respond-asyncx')"
check "prefer: none" "200 " "$(pref)"
rid=$(jqb .command_id)
check "prefer: a synchronous command is not in the queue" 404 "$(status_of "$rid")"

#=== arrival order per aggregate across two daemons ===

A2_PORT=$(free_port)
if start_daemon async2 "$A2_PORT" --queue-workers 2; then
    URL2="http://127.0.0.1:$A2_PORT"
else
    fail=$((fail + 1))
    URL2=$BASE
fi
URLS=("$BASE" "$URL2")

PO=$(mk_product "ORD-$U" 1000 10)
check_match "order: setup" "$ID" "$PO"
cfg="$T_CASE/prices.cfg"
: >"$cfg"
for i in $(seq 1 50); do
    cfg_add "$cfg" "${URLS[$((i % 2))]}" "price-$U-$i" \
        "{\"type\":\"UpdateProductPrice\",\"data\":{\"product_id\":$PO,\"price_cents\":$i}}" async
done
curl -s -K "$cfg" >"$T_CASE/prices.out"
check "order: 50 accepted" 50 "$(grep -c "	202\$" "$T_CASE/prices.out")"
check "order: all finished" 50 "$(wait_keys "price-$U-" 50 15000)"
check "order: all succeeded" 50 "$(sql "SELECT COUNT(*) FROM command_queue WHERE command_id LIKE 'price-$U-%' AND status = 'succeeded'")"
check "order: events in acceptance order" "" \
    "$(diff <(for i in $(seq 1 50); do echo "$((i + 1)) $([ $i = 1 ] && echo 1000 || echo $((i - 1))) $i price-$U-$i"; done) \
        <(sql "SELECT aggregate_version, JSON_VALUE(data, '\$.old_price_cents'), JSON_VALUE(data, '\$.new_price_cents'), command_id
               FROM events WHERE aggregate_type = 'product' AND aggregate_id = $PO AND type = 'ProductPriceUpdated' ORDER BY position" | tr '\t' ' ') | head -6)"
check "order: versions consecutive" "1 51 51" \
    "$(sql "SELECT MIN(aggregate_version), MAX(aggregate_version), COUNT(DISTINCT aggregate_version) FROM events WHERE aggregate_type = 'product' AND aggregate_id = $PO" | tr '\t' ' ')"
check "order: final price and version" "200 50 51" "$(get "/queries/products/$PO") $(jqb '"\(.price_cents) \(.version)"')"

# order chains: PayOrder then ShipOrder (20 orders), PayOrder then CancelOrder (10)
PC=$(mk_product "CHAIN-$U" 10 1000)
CC=$(mk_customer "chain")
cfg="$T_CASE/places.cfg"
: >"$cfg"
for i in $(seq 1 30); do cfg_add "$cfg" "$BASE" "" "$(place_json "$CC" "$PC:2")"; done
orders=($(run_cfg "$cfg" | ids_of))
check_match "chains: setup" "^$IDN( $IDN){29} 940\$" "${orders[*]} $(get "/queries/products/$PC" >/dev/null; jqb .stock)"
cfg="$T_CASE/chains.cfg"
: >"$cfg"
for i in $(seq 0 29); do
    o=${orders[$i]}
    second=ShipOrder
    [ "$i" -ge 20 ] && second=CancelOrder
    cfg_add "$cfg" "${URLS[$((i % 2))]}" "chain-$U-$i-1" "$(order_cmd PayOrder "$o")" async
    cfg_add "$cfg" "${URLS[$(((i + 1) % 2))]}" "chain-$U-$i-2" "$(order_cmd "$second" "$o")" async
done
curl -s -K "$cfg" >"$T_CASE/chains.out"
check "chains: 60 accepted" 60 "$(grep -c "	202\$" "$T_CASE/chains.out")"
check "chains: all finished" 60 "$(wait_keys "chain-$U-" 60 15000)"
check "chains: all succeeded" 60 "$(sql "SELECT COUNT(*) FROM command_queue WHERE command_id LIKE 'chain-$U-%' AND status = 'succeeded'")"
paths=()
for o in "${orders[@]}"; do paths+=("/queries/orders/$o"); done
getmany "${paths[@]}" | jq -r '"\(.status):\(.version)"' >"$T_CASE/chains.states"
check "chains: the first 20 shipped (version 3)" "shipped:3=20" "$(head -20 "$T_CASE/chains.states" | sort | uniq -c | awk '{print $2 "=" $1}')"
check "chains: the other 10 cancelled (version 3)" "cancelled:3=10" "$(tail -n +21 "$T_CASE/chains.states" | sort | uniq -c | awk '{print $2 "=" $1}')"
check "chains: stock restored by the cancellations" "960 40" "$(get "/queries/products/$PC" >/dev/null; jqb '"\(.stock) \(.units_sold)"')"
check "chains: events in order per order" "" \
    "$(sql "SELECT aggregate_id, GROUP_CONCAT(type ORDER BY aggregate_version SEPARATOR ',') AS t FROM events
            WHERE aggregate_type = 'order' AND aggregate_id IN ($(echo "${orders[@]}" | tr ' ' ',')) GROUP BY aggregate_id
            HAVING t NOT IN ('OrderPlaced,OrderPaid,OrderShipped', 'OrderPlaced,OrderPaid,OrderCancelled')" | head -3)"

#=== throughput: 1,000 async PlaceOrders from 8 clients, two daemons ===

N=1000
CLIENTS=8
CT=$(mk_customer "load")
prods=($(mk_products "LOAD-$U" 20 100 100000))
check_match "load: setup" "^$IDN( $IDN){20}\$" "$CT ${prods[*]}"

# gen_load DIR PREFIX MODE(async|sync) N: CLIENTS curl configs DIR/C.cfg and
# DIR/manifest (KEY TAB PRODUCT:QTY,... TAB 1 when it names an unknown product)
gen_load() {
    mkdir -p "$1"
    rm -f "$1"/*.cfg
    awk -v dir="$1" -v pre="$2" -v mode="$3" -v n="$4" -v k=$CLIENTS -v c="$CT" -v prods="${prods[*]}" \
        -v urls="$BASE $URL2" -v seed="$RANDOM" '
    BEGIN {
        srand(seed); np = split(prods, P, " "); split(urls, W, " ")
        for (i = 1; i <= n; i++) {
            cl = (i - 1) % k; f = dir "/" cl ".cfg"; key = pre "-" i
            a = int(rand() * np) + 1; qa = int(rand() * 3) + 1
            items = "{\"product_id\":" P[a] ",\"quantity\":" qa "}"; lines = P[a] ":" qa
            if (rand() < 0.5) {
                do b = int(rand() * np) + 1; while (b == a)
                qb = int(rand() * 3) + 1
                items = items ",{\"product_id\":" P[b] ",\"quantity\":" qb "}"; lines = lines "," P[b] ":" qb
            }
            unknown = (i % 37 == 0)
            if (unknown) items = items ",{\"product_id\":9000000000000" (100000 + i) ",\"quantity\":1}"
            if (sent[cl]++) print "next" > f
            print "url = \"" W[cl % 2 + 1] "/commands\"" > f
            print "header = \"Content-Type: application/json\"" > f
            print "header = \"Idempotency-Key: " key "\"" > f
            if (mode == "async") print "header = \"Prefer: respond-async\"" > f
            print "data-binary = {\"type\":\"PlaceOrder\",\"data\":{\"customer_id\":" c ",\"items\":[" items "]}}" > f
            print "write-out = \"\\t%{http_code}\\n\"" > f
            print key "\t" lines "\t" unknown > (dir "/manifest")
        }
    }'
}

# run_clients DIR: the CLIENTS curls at once; DIR/C.out their answers
run_clients() {
    local c pids=""
    for c in $(seq 0 $((CLIENTS - 1))); do
        curl -s -K "$1/$c.cfg" >"$1/$c.out" &
        pids="$pids $!"
    done
    wait $pids
}

LA="$T_CASE/load-async"
gen_load "$LA" "tp-$U" async $N
t0=$(date +%s%3N)
run_clients "$LA"
t_posted=$(date +%s%3N)
check "load: all accepted" "$N" "$(cat "$LA"/*.out | grep -c "	202\$")"
# the queue drains: GET /commands?status=queued (and running) until empty
drained=no
for _ in $(seq 1 600); do
    if [ "$(get "/commands?status=queued&limit=1")" = 200 ] && [ "$(jqb '.items | length')" = 0 ] &&
        [ "$(get "/commands?status=running&limit=1")" = 200 ] && [ "$(jqb '.items | length')" = 0 ]; then
        drained=yes
        break
    fi
    [ $(($(date +%s%3N) - t0)) -gt 40000 ] && break
    sleep 0.05
done
check "load: the queue drained" yes "$drained"
t_last=$(sql "SET time_zone = '+00:00'; SELECT ROUND(UNIX_TIMESTAMP(MAX(finished_at)) * 1000) FROM command_queue WHERE command_id LIKE 'tp-$U-%'")
sql "SELECT command_id, status, COALESCE(JSON_VALUE(error, '\$.type'), '-'), attempts FROM command_queue WHERE command_id LIKE 'tp-$U-%'" >"$LA/status"
check "load: every command finished" "$N" "$(awk '$2 == "succeeded" || $2 == "failed"' "$LA/status" | wc -l)"
check "load: the failed ones are those naming an unknown product" "" \
    "$(diff <(awk -F'\t' '$3 == 1 {print $1}' "$LA/manifest" | sort) <(awk '$2 == "failed" {print $1}' "$LA/status" | sort) | head -4)"
check "load: each failure is not-found, attempted once" "" "$(awk '$2 == "failed" && ($3 != "not-found" || $4 != 1)' "$LA/status" | head -3)"
check "load: each success attempted once" "" "$(awk '$2 == "succeeded" && $4 != 1' "$LA/status" | head -3)"
S=$(awk '$2 == "succeeded"' "$LA/status" | wc -l)
check "load: one OrderPlaced per succeeded command" "$S $S" \
    "$(sql "SELECT COUNT(*), COALESCE(SUM(n = 1), 0) FROM (SELECT command_id, COUNT(*) AS n FROM events
             WHERE type = 'OrderPlaced' AND command_id LIKE 'tp-$U-%' GROUP BY command_id) AS t" | tr '\t' ' ')"
check "load: no other event with those ids" "$S" "$(sql "SELECT COUNT(*) FROM events WHERE command_id LIKE 'tp-$U-%'")"
check "load: each result names its event" "$S" \
    "$(sql "SELECT COUNT(*) FROM command_queue q JOIN events e ON e.command_id = q.command_id
            WHERE q.command_id LIKE 'tp-$U-%' AND q.status = 'succeeded' AND e.type = 'OrderPlaced'
              AND JSON_VALUE(q.result, '\$.aggregate_id') = e.aggregate_id AND JSON_VALUE(q.result, '\$.position') = e.position")"
# stock: each product lost exactly what the succeeded orders asked for
want=$(awk -F'\t' 'FNR == NR { if ($2 == "succeeded") ok[$1] = 1; next }
    ($1 in ok) { n = split($2, L, ","); for (j = 1; j <= n; j++) { split(L[j], x, ":"); d[x[1]] += x[2] } }
    END { for (p in d) print p, 100000 - d[p] }' <(awk '{print $1 "\t" $2}' "$LA/status") "$LA/manifest" | sort -n)
got=$(sql "SELECT id, stock FROM products WHERE id IN ($(echo "${prods[@]}" | tr ' ' ',')) AND stock <> 100000 ORDER BY id" | tr '\t' ' ')
check "load: stock decreased by the succeeded orders' quantities" "$want" "$got"
paths=()
for p in "${prods[@]}"; do paths+=("/queries/products/$p"); done
qgot=$(getmany "${paths[@]}" | jq -r 'select(.stock != 100000) | "\(.product_id) \(.stock)"' | sort -n)
check "load: the query side agrees" "$want" "$qgot"
sample=$(awk -F'\t' '$3 == 1 {print $1; exit}' "$LA/manifest")
check "load: a failure's problem names the unknown product" "failed not-found $((9000000000000100000 + ${sample##*-}))" \
    "$(status_of "$sample" >/dev/null; jqb '"\(.status) \(.error.type)"') $(error_product_id)"
"$CQRSD_BIN" verify-views >"$T_CASE/verify.out" 2>&1
check "load: verify-views" 0 "$?"
[ -s "$T_CASE/verify.out" ] && grep -v '^verify-views: ' "$T_CASE/verify.out" | head -5

# synchronous PlaceOrders, the same clients (information only)
LS="$T_CASE/load-sync"
NS=400
gen_load "$LS" "tps-$U" sync $NS
ts0=$(date +%s%3N)
run_clients "$LS"
ts1=$(date +%s%3N)
sync_ok=$(cat "$LS"/*.out | grep -cE "	(201|404)\$")
async_ms=$((${t_last:-$t_posted} - t0))
sync_ms=$((ts1 - ts0))
[ "$async_ms" -gt 0 ] || async_ms=1
[ "$sync_ms" -gt 0 ] || sync_ms=1
echo "   throughput (info): async $((N * 1000 / async_ms)) commands/s end to end ($N in $async_ms ms, accepted in $((t_posted - t0)) ms);" \
    "sync $((NS * 1000 / sync_ms)) PlaceOrder/s ($NS in $sync_ms ms, $sync_ok answered 201/404); $CLIENTS clients, 2 daemons"

if [ -f "$T/daemon-async2.pid" ]; then
    stop_daemon async2 >"$T_CASE/stop.rc"
    check "second daemon: exits 0 on SIGTERM" 0 "$(cat "$T_CASE/stop.rc")"
fi
finish

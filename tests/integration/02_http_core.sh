#!/usr/bin/env bash
# 02_http_core.sh - the HTTP conventions of API.md: problem+json errors, 404,
# 405 + Allow, body limits (413, also chunked and endless), 415, 400
# malformed-json, the precedence 415 > 413 > 400 > 422, X-Request-Id, CORS
# (default and a configured origin list), OPTIONS, HEAD, /healthz, /readyz,
# path ids and query parameters.
. "$(dirname "$0")/lib.sh"

LIMIT=65536
EXPOSE='Location, ETag, X-Request-Id, Idempotent-Replayed'
ALLOW_HEADERS='Content-Type, Authorization, Idempotency-Key, Prefer, If-None-Match, X-Request-Id, X-Consistency-Token'

# lib.sh's get/post leave $B and $H as they were when no answer comes: start
# each request from empty files so that a check never reads a stale answer
eval "lib_$(declare -f post)"
eval "lib_$(declare -f get)"
post() { : >"$B"; : >"$H"; lib_post "$@"; }
get() { : >"$B"; : >"$H"; lib_get "$@"; }

# req [curl args...] URL: any request; prints the status; headers in $H, body in $B
req() {
    : >"$B"
    : >"$H"
    curl -s -o "$B" -D "$H" -w '%{http_code}' "$@"
}

# stop_checked NAME: stop_daemon NAME in this shell (its wait needs the
# daemon to be our child), killed after 15 s; sets stop_rc and stop_ms
stop_checked() {
    local pid t0 dog
    pid=$(cat "$T/daemon-$1.pid")
    t0=$(date +%s%N)
    (
        sleep 15 &
        s=$!
        trap 'kill $s 2>/dev/null; exit 0' TERM
        wait $s
        kill -9 "$pid" 2>/dev/null
    ) &
    dog=$!
    stop_daemon "$1" >"$T_CASE/stop-$1.rc"
    kill "$dog" 2>/dev/null
    wait "$dog" 2>/dev/null
    stop_rc=$(cat "$T_CASE/stop-$1.rc")
    stop_ms=$((($(date +%s%N) - t0) / 1000000))
}

# is_problem NAME STATUS TYPE GOT_STATUS: the last response is that problem+json
is_problem() {
    local name=$1 status=$2 type=$3 got=$4
    check "$name status" "$status" "$got"
    check_match "$name content-type" '^application/problem\+json' "$(hdr Content-Type)"
    check "$name type" "$type" "$(jqb .type 2>/dev/null)"
    check "$name body status" "$status" "$(jq -r '.status | numbers' "$B" 2>/dev/null)"
    check_match "$name title" '^.+$' "$(jq -r '.title | strings' "$B" 2>/dev/null)"
    check "$name detail is a string" string "$(jq -r '.detail | type' "$B" 2>/dev/null)"
}

# allow_set: the Allow header of the last response as a sorted list
allow_set() {
    hdr Allow | tr ',' '\n' | sed 's/^ *//; s/ *$//' | grep -v '^$' | sort | paste -sd' '
}

# every_response NAME: the headers every response carries (default CORS)
every_response() {
    check_match "$1 x-request-id" '^[!-~]{1,64}$' "$(hdr X-Request-Id)"
    check "$1 allow-origin" '*' "$(hdr Access-Control-Allow-Origin)"
    check "$1 expose-headers" "$EXPOSE" "$(hdr Access-Control-Expose-Headers)"
}

# a JSON text of exactly N bytes: an envelope with a padded unknown type
json_of_size() {
    local n=$1 head='{"type":"NoSuchCommand","data":{"pad":"' tail='"}}'
    local pad=$((n - ${#head} - ${#tail}))
    printf '%s' "$head"
    head -c "$pad" /dev/zero | tr '\0' a
    printf '%s' "$tail"
}

json_of_size $LIMIT >"$T_CASE/at-limit.json"
json_of_size $((LIMIT + 1)) >"$T_CASE/over-limit.json"
head -c $((LIMIT + 5000)) /dev/zero | tr '\0' x >"$T_CASE/big-garbage.txt"
check "fixture at-limit size" $LIMIT "$(wc -c <"$T_CASE/at-limit.json")"
check "fixture over-limit size" $((LIMIT + 1)) "$(wc -c <"$T_CASE/over-limit.json")"

#=== Operations: /healthz, /readyz ===

check healthz 200 "$(get /healthz)"
check_match "healthz content-type" '^application/json' "$(hdr Content-Type)"
check "healthz body" '{"status":"ok"}' "$(jq -c . "$B")"
every_response healthz
check readyz 200 "$(get /readyz)"
check_match "readyz content-type" '^application/json' "$(hdr Content-Type)"
check "readyz body" '{"status":"ready"}' "$(jq -c . "$B")"
every_response readyz

#=== 404 on unknown routes ===

for path in /nope /queries /queries/products/1/extra /commands/x/y /HEALTHZ /queries/widgets/1; do
    is_problem "404 GET $path" 404 not-found "$(get "$path")"
    every_response "404 GET $path"
done
check "404 title" "Not found" "$(get /nope >/dev/null; jqb .title)"
is_problem "404 POST unknown" 404 not-found "$(post /nope '{"type":"X","data":{}}')"

#=== 405 with Allow on known routes ===

is_problem "405 DELETE /commands" 405 method-not-allowed "$(req -X DELETE "$BASE/commands")"
check "405 DELETE /commands Allow" "GET HEAD OPTIONS POST" "$(allow_set)"
every_response "405 DELETE /commands"
is_problem "405 PUT /commands" 405 method-not-allowed "$(req -X PUT "$BASE/commands")"
check "405 PUT /commands Allow (GET lists asynchronous commands)" "GET HEAD OPTIONS POST" "$(allow_set)"
is_problem "405 POST /queries/products" 405 method-not-allowed \
    "$(post /queries/products '{"type":"X","data":{}}')"
check "405 POST /queries/products Allow" "GET HEAD OPTIONS" "$(allow_set)"
every_response "405 POST /queries/products"
is_problem "405 PUT /healthz" 405 method-not-allowed "$(req -X PUT "$BASE/healthz")"
check "405 PUT /healthz Allow" "GET HEAD OPTIONS" "$(allow_set)"
is_problem "405 PATCH /queries/products/1" 405 method-not-allowed \
    "$(req -X PATCH "$BASE/queries/products/1")"
check "405 PATCH /queries/products/1 Allow" "GET HEAD OPTIONS" "$(allow_set)"
is_problem "405 DELETE /queries/events" 405 method-not-allowed \
    "$(req -X DELETE "$BASE/queries/events")"
check "405 DELETE /queries/events Allow" "GET HEAD OPTIONS" "$(allow_set)"

#=== 415 unsupported media type ===

is_problem "415 text/plain" 415 unsupported-media-type \
    "$(req -H 'Content-Type: text/plain' --data-binary '{"type":"X","data":{}}' "$BASE/commands")"
every_response "415 text/plain"
is_problem "415 missing content-type" 415 unsupported-media-type \
    "$(req -H 'Content-Type:' --data-binary '{"type":"X","data":{}}' "$BASE/commands")"
is_problem "415 form" 415 unsupported-media-type \
    "$(req --data-binary '{"type":"X","data":{}}' "$BASE/commands")"
is_problem "415 application/jsonx" 415 unsupported-media-type \
    "$(req -H 'Content-Type: application/jsonx' --data-binary '{"type":"X","data":{}}' "$BASE/commands")"
is_problem "415 json-patch" 415 unsupported-media-type \
    "$(req -H 'Content-Type: application/json-patch+json' --data-binary '{"type":"X","data":{}}' "$BASE/commands")"

# application/json with a charset=utf-8 suffix is accepted (the body then
# reaches the command table: an unknown type is 422 unknown-command)
is_problem "charset=utf-8 accepted" 422 unknown-command \
    "$(req -H 'Content-Type: application/json; charset=utf-8' --data-binary '{"type":"NoSuchCommand","data":{}}' "$BASE/commands")"
is_problem "charset=UTF-8 no space accepted" 422 unknown-command \
    "$(req -H 'Content-Type: application/json;charset=UTF-8' --data-binary '{"type":"NoSuchCommand","data":{}}' "$BASE/commands")"
is_problem "plain application/json accepted" 422 unknown-command \
    "$(cmd '{"type":"NoSuchCommand","data":{}}')"

#=== 413 payload too large ===

# exactly at the limit: read and handled (unknown command), not 413
is_problem "body of exactly $LIMIT bytes" 422 unknown-command \
    "$(cmd "@$T_CASE/at-limit.json")"
is_problem "body of exactly $LIMIT bytes, chunked" 422 unknown-command \
    "$(cmd "@$T_CASE/at-limit.json" -H 'Transfer-Encoding: chunked')"
# one byte over, with Content-Length
is_problem "413 content-length" 413 payload-too-large "$(cmd "@$T_CASE/over-limit.json")"
every_response "413 content-length"
# one byte over, chunked (no Content-Length): counted while reading
is_problem "413 chunked" 413 payload-too-large \
    "$(cmd "@$T_CASE/over-limit.json" -H 'Transfer-Encoding: chunked')"
every_response "413 chunked"
is_problem "413 chunked, much bigger" 413 payload-too-large \
    "$(cmd "@$T_CASE/big-garbage.txt" -H 'Transfer-Encoding: chunked')"

# a client that streams an endless chunked body: libmicrohttpd 0.9.75 can
# answer only on the headers or at the end of a body, so the daemon drops
# what arrives past the limit and closes the connection after a bounded
# amount (8 MiB) — quickly, never a hang (see README, "Decisions")
endless_ok() { [ "$1" = 413 ] || [ "$1" = 000 ] || [ "$1" = 100 ] && echo yes || echo "no ($1)"; }
t0=$(date +%s%N)
got=$(yes '{"type":"CreateProduct","data":{}}' |
    timeout 15 curl -s -o "$B" -D "$H" -w '%{http_code}' -H 'Content-Type: application/json' \
        -H 'Transfer-Encoding: chunked' -H 'Expect:' -T - -X POST "$BASE/commands")
ms=$((($(date +%s%N) - t0) / 1000000))
check "endless chunked body: 413 or closed" yes "$(endless_ok "$got")"
check "endless chunked body: ended within 5 s" yes "$([ $ms -le 5000 ] && echo yes || echo "no (${ms} ms)")"
t0=$(date +%s%N)
got=$(yes '{"type":"CreateProduct","data":{}}' |
    timeout 15 curl -s -o "$B" -D "$H" -w '%{http_code}' -H 'Content-Type: application/json' \
        -H 'Transfer-Encoding: chunked' -T - -X POST "$BASE/commands")
ms=$((($(date +%s%N) - t0) / 1000000))
check "endless chunked body (100-continue): 413 or closed" yes "$(endless_ok "$got")"
check "endless chunked body (100-continue): ended within 5 s" yes "$([ $ms -le 5000 ] && echo yes || echo "no (${ms} ms)")"
# the daemon still serves afterwards
check "healthz after the 413s" 200 "$(get /healthz)"

#=== 400 malformed-json ===

malformed() { # malformed NAME BODY [curl args...]
    local name=$1 body=$2
    shift 2
    is_problem "400 $name" 400 malformed-json "$(cmd "$body" "$@")"
}
malformed "not JSON" 'nope'
malformed "empty body" ''
malformed "truncated object" '{"type":"CreateProduct","data":{'
malformed "JSON array" '[{"type":"CreateProduct","data":{}}]'
malformed "JSON string" '"CreateProduct"'
malformed "JSON number" '42'
malformed "JSON null" 'null'
malformed "trailing garbage" '{"type":"NoSuchCommand","data":{}} x'
malformed "two objects" '{"type":"NoSuchCommand","data":{}}{"type":"NoSuchCommand","data":{}}'
malformed "duplicate keys in the envelope" '{"type":"CreateProduct","type":"CreateProduct","data":{}}'
malformed "duplicate keys in data" '{"type":"CreateProduct","data":{"sku":"a","sku":"b"}}'
malformed "NUL escape in a value" '{"type":"CreateProduct","data":{"sku":"a\u0000b"}}'
malformed "NUL escape in type" '{"type":"CreateProduct\u0000","data":{}}'
malformed "NUL escape in a key" '{"type":"CreateProduct","data":{"s\u0000ku":"a"}}'
malformed "integer above int64" '{"type":"CreateProduct","data":{"price_cents":9223372036854775808}}'
malformed "integer below int64" '{"type":"CreateProduct","data":{"price_cents":-9223372036854775809}}'
malformed "huge integer" '{"type":"RestockProduct","data":{"product_id":123456789012345678901234567890,"quantity":1}}'
malformed "invalid UTF-8" "$(printf '{"type":"CreateProduct","data":{"name":"\xff\xfe"}}')"
malformed "single quotes" "{'type':'CreateProduct','data':{}}"
malformed "charset=utf-8 and not JSON" '{' -H 'Content-Type: application/json; charset=utf-8'
# int64 max itself is a JSON integer in range: a validation error, not 400
is_problem "int64 max is not malformed" 422 validation-failed \
    "$(cmd '{"type":"CreateProduct","data":{"sku":"x","name":"x","category":"x","price_cents":9223372036854775807}}')"
every_response "400 malformed"

#=== precedence: 415, then 413, then 400, then 422 ===

is_problem "415 before 413 (content-length)" 415 unsupported-media-type \
    "$(req -H 'Content-Type: text/plain' --data-binary "@$T_CASE/big-garbage.txt" "$BASE/commands")"
is_problem "415 before 413 (chunked)" 415 unsupported-media-type \
    "$(req -H 'Content-Type: text/plain' -H 'Transfer-Encoding: chunked' --data-binary "@$T_CASE/big-garbage.txt" "$BASE/commands")"
is_problem "415 before 413 (no content-type)" 415 unsupported-media-type \
    "$(req -H 'Content-Type:' --data-binary "@$T_CASE/big-garbage.txt" "$BASE/commands")"
is_problem "415 before 400" 415 unsupported-media-type \
    "$(req -H 'Content-Type: text/plain' --data-binary 'not json' "$BASE/commands")"
is_problem "413 before 400 (content-length)" 413 payload-too-large "$(cmd "@$T_CASE/big-garbage.txt")"
is_problem "413 before 400 (chunked)" 413 payload-too-large \
    "$(cmd "@$T_CASE/big-garbage.txt" -H 'Transfer-Encoding: chunked')"
is_problem "400 before 422 (duplicate keys, bad type)" 400 malformed-json \
    "$(cmd '{"type":1,"type":2,"extra":true}')"
is_problem "400 before 422 (NUL in an unknown command)" 400 malformed-json \
    "$(cmd '{"type":"NoSuch\u0000","data":{},"extra":1}')"
is_problem "400 before 422 (int64 overflow beside validation errors)" 400 malformed-json \
    "$(cmd '{"type":"CreateProduct","data":{"sku":"","price_cents":99999999999999999999}}')"
is_problem "422 for a well-formed bad envelope" 422 validation-failed \
    "$(cmd '{"type":1,"data":{}}')"
check "422 names the field" type "$(jqb '.errors[0].field')"

#=== X-Request-Id ===

get /healthz -H 'X-Request-Id: abc-123.XYZ_7' >/dev/null
check "request id echoed" abc-123.XYZ_7 "$(hdr X-Request-Id)"
id64=$(head -c 64 /dev/zero | tr '\0' r)
get /healthz -H "X-Request-Id: $id64" >/dev/null
check "request id of 64 chars echoed" "$id64" "$(hdr X-Request-Id)"
visible='!"#$%&'"'"'()*+,-./0123456789:;<=>?@[\]^_`{|}~'
get /healthz -H "X-Request-Id: $visible" >/dev/null
check "request id of punctuation echoed" "$visible" "$(hdr X-Request-Id)"
id65=$(head -c 65 /dev/zero | tr '\0' r)
get /healthz -H "X-Request-Id: $id65" >/dev/null
gen=$(hdr X-Request-Id)
check "request id of 65 chars replaced" yes "$([ "$gen" != "$id65" ] && echo yes || echo no)"
check_match "request id of 65 chars replaced by a sane one" '^[!-~]{1,64}$' "$gen"
for bad in 'has space' $'has\ttab' $'ctl\x01char' $'del\x7fchar' $'caf\xc3\xa9'; do
    get /healthz -H "X-Request-Id: $bad" >/dev/null
    gen=$(hdr X-Request-Id)
    check "request id '$(printf %q "$bad")' replaced" yes "$([ "$gen" != "$bad" ] && echo yes || echo no)"
    check_match "request id '$(printf %q "$bad")' replaced by a sane one" '^[!-~]{1,64}$' "$gen"
done
get /healthz >/dev/null
g1=$(hdr X-Request-Id)
get /healthz >/dev/null
g2=$(hdr X-Request-Id)
check_match "request id generated when absent" '^[!-~]{1,64}$' "$g1"
check "generated request ids differ" yes "$([ -n "$g1" ] && [ "$g1" != "$g2" ] && echo yes || echo no)"
# echoed on errors too
for probe in "get /nope" "req -X DELETE $BASE/commands" "cmd nope" \
    "req -H Content-Type:text/plain --data-binary x $BASE/commands" \
    "cmd @$T_CASE/over-limit.json" "get /queries/products/abc" "req -X OPTIONS $BASE/commands"; do
    $probe -H 'X-Request-Id: rid-on-error' >/dev/null
    check "request id echoed on '$probe'" rid-on-error "$(hdr X-Request-Id)"
done

#=== CORS (default: any origin) ===

get /healthz -H 'Origin: https://anything.example' >/dev/null
check "allow-origin * with an Origin" '*' "$(hdr Access-Control-Allow-Origin)"
check "expose-headers with an Origin" "$EXPOSE" "$(hdr Access-Control-Expose-Headers)"
for path in /commands /queries/products /queries/products/1 /queries/orders/1 \
    /queries/customers/1 /queries/customers/1/orders /queries/events /healthz /readyz; do
    st=$(req -X OPTIONS -H 'Origin: https://app.example' \
        -H 'Access-Control-Request-Method: POST' \
        -H 'Access-Control-Request-Headers: content-type, idempotency-key' "$BASE$path")
    check "OPTIONS $path" 204 "$st"
    check "OPTIONS $path no body" 0 "$(wc -c <"$B")"
    check "OPTIONS $path allow-methods" 'GET, HEAD, POST, OPTIONS' "$(hdr Access-Control-Allow-Methods)"
    check "OPTIONS $path allow-headers" "$ALLOW_HEADERS" "$(hdr Access-Control-Allow-Headers)"
    check "OPTIONS $path max-age" 600 "$(hdr Access-Control-Max-Age)"
    every_response "OPTIONS $path"
done
is_problem "OPTIONS unknown route" 404 not-found "$(req -X OPTIONS -H 'Origin: https://app.example' "$BASE/nope")"
every_response "OPTIONS unknown route"

#=== HEAD on every GET route: same status and headers, no body ===

sku="core-$(uniq_id)"
st=$(cmd "{\"type\":\"CreateProduct\",\"data\":{\"sku\":\"$sku\",\"name\":\"Head test\",\"category\":\"core-$(uniq_id)\",\"price_cents\":150,\"stock\":3}}")
check "create a product for HEAD" 201 "$st"
pid=$(jqb .aggregate_id)
same_as_get() { # same_as_get PATH
    local path=$1 gs hs
    gs=$(get "$path")
    local gct gcl getag glen
    gct=$(hdr Content-Type)
    gcl=$(hdr Content-Length)
    getag=$(hdr ETag)
    glen=$(wc -c <"$B")
    hs=$(curl -s -I -o /dev/null -D "$H" -w '%{http_code} %{size_download}' "$BASE$path")
    check "HEAD $path status and no body" "$gs 0" "$hs"
    check "HEAD $path content-type" "$gct" "$(hdr Content-Type)"
    check "HEAD $path content-length" "$gcl" "$(hdr Content-Length)"
    check "HEAD $path content-length is the GET body's" "$glen" "$(hdr Content-Length)"
    check "HEAD $path etag" "$getag" "$(hdr ETag)"
    every_response "HEAD $path"
}
same_as_get /healthz
same_as_get /readyz
same_as_get "/queries/products/$pid"
same_as_get "/queries/products?limit=1"
same_as_get "/queries/events?limit=1"
same_as_get /queries/products/abc
same_as_get /queries/products/9223372036854775807
same_as_get /nope
check "GET product has an ETag" yes "$(get "/queries/products/$pid" >/dev/null; [ -n "$(hdr ETag)" ] && echo yes || echo no)"

#=== path ids and query parameters ===

for id in abc 0 007 01 -1 +1 1.0 1e3 9223372036854775808 18446744073709551616 \
    99999999999999999999 '%20' '1%20' 0x10; do
    is_problem "GET /queries/products/$id" 400 invalid-parameter "$(get "/queries/products/$id")"
done
for route in orders customers; do
    is_problem "GET /queries/$route/0" 400 invalid-parameter "$(get "/queries/$route/0")"
    is_problem "GET /queries/$route/abc" 400 invalid-parameter "$(get "/queries/$route/abc")"
done
is_problem "GET /queries/customers/007/orders" 400 invalid-parameter "$(get /queries/customers/007/orders)"
# the largest id is valid (and unknown)
is_problem "GET /queries/products/9223372036854775807" 404 not-found \
    "$(get /queries/products/9223372036854775807)"
is_problem "unknown query parameter on a list" 400 invalid-parameter "$(get '/queries/products?foo=1')"
is_problem "unknown query parameter on one product" 400 invalid-parameter "$(get "/queries/products/$pid?foo=1")"
is_problem "unknown query parameter on events" 400 invalid-parameter "$(get '/queries/events?foo=1')"
is_problem "unknown query parameter on an order" 400 invalid-parameter "$(get '/queries/orders/1?x=1')"
is_problem "unknown query parameter on a customer" 400 invalid-parameter "$(get '/queries/customers/1?x=1')"
is_problem "empty limit" 400 invalid-parameter "$(get '/queries/products?limit=')"
is_problem "limit without =" 400 invalid-parameter "$(get '/queries/products?limit')"
is_problem "empty category" 400 invalid-parameter "$(get '/queries/products?category=')"
is_problem "empty sort" 400 invalid-parameter "$(get '/queries/products?sort=')"
is_problem "empty after" 400 invalid-parameter "$(get '/queries/products?after=')"
is_problem "empty events after" 400 invalid-parameter "$(get '/queries/events?after=')"
is_problem "empty events limit" 400 invalid-parameter "$(get '/queries/events?limit=')"
is_problem "empty customer-orders status" 400 invalid-parameter "$(get '/queries/customers/1/orders?status=')"
is_problem "limit 0" 400 invalid-parameter "$(get '/queries/products?limit=0')"
is_problem "limit 201" 400 invalid-parameter "$(get '/queries/products?limit=201')"
is_problem "limit x" 400 invalid-parameter "$(get '/queries/products?limit=x')"
is_problem "sort unknown" 400 invalid-parameter "$(get '/queries/products?sort=name')"
check "a valid product query still answers" 200 "$(get "/queries/products/$pid")"
check "the product id" "$pid" "$(jqb .product_id)"

#=== CORS with a configured origin list ===

cport=$(free_port)
if start_daemon cors "$cport" --cors-origins 'https://a.example,https://b.example' --threads 2; then
    URL_BASE="http://127.0.0.1:$cport"
    for o in https://a.example https://b.example; do
        get /healthz -H "Origin: $o" >/dev/null
        check "cors list: $o echoed" "$o" "$(hdr Access-Control-Allow-Origin)"
        check "cors list: expose-headers ($o)" "$EXPOSE" "$(hdr Access-Control-Expose-Headers)"
    done
    get /healthz -H 'Origin: https://c.example' >/dev/null
    check "cors list: other origin not allowed" "" "$(hdr Access-Control-Allow-Origin)"
    check "cors list: expose-headers (other origin)" "$EXPOSE" "$(hdr Access-Control-Expose-Headers)"
    get /healthz -H 'Origin: https://a.example.evil' >/dev/null
    check "cors list: suffixed origin not allowed" "" "$(hdr Access-Control-Allow-Origin)"
    get /healthz >/dev/null
    check "cors list: no Origin, no wildcard" "" "$(hdr Access-Control-Allow-Origin)"
    st=$(req -X OPTIONS -H 'Origin: https://b.example' -H 'Access-Control-Request-Method: POST' \
        "$URL_BASE/commands")
    check "cors list: preflight" 204 "$st"
    check "cors list: preflight origin" https://b.example "$(hdr Access-Control-Allow-Origin)"
    check "cors list: preflight methods" 'GET, HEAD, POST, OPTIONS' "$(hdr Access-Control-Allow-Methods)"
    is_problem "cors list: error response" 404 not-found "$(get /nope -H 'Origin: https://a.example')"
    check "cors list: error response origin" https://a.example "$(hdr Access-Control-Allow-Origin)"
    is_problem "cors list: 415" 415 unsupported-media-type \
        "$(req -H 'Origin: https://b.example' -H 'Content-Type: text/plain' --data-binary x "$URL_BASE/commands")"
    check "cors list: 415 origin" https://b.example "$(hdr Access-Control-Allow-Origin)"
    unset URL_BASE
    stop_checked cors
    check "cors daemon exits 0 on SIGTERM" 0 "$stop_rc"
else
    fail=$((fail + 1))
fi

finish

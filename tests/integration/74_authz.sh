#!/usr/bin/env bash
# 74_authz.sh - authorization (API.md "Authorization", OPERATING.md
# --command-token-file, --jwt-*, --open-registration) with real JWTs made by
# openssl (jwt_lib.sh), never by the daemon's code:
#   1. an HS256 daemon with a command token, an issuer and an audience (and
#      JSON logs): every malformed, expired, not-yet-valid, wrongly signed,
#      wrongly addressed or other-algorithm token is 401 invalid_token on
#      every route, public ones included, and on POST /commands before 415,
#      413 and 400; OPTIONS, /healthz and /readyz never look;
#   2. the table: public reads; a customer's own customer, orders and async
#      commands, another's a 404 byte for byte like an unknown id; the
#      event feed (the stream with access_token too), the command list and
#      /metrics for admins only; on POST /commands 415, 413, 400, then the
#      role on the type (401 anonymous, 403 customer), 422, ownership
#      (PlaceOrder for another 403, CancelOrder of another's order 404),
#      business rules; async commands authorized at acceptance;
#   3. idempotency keys per principal: the command token and admin JWTs
#      share a scope, customers racing with one key get their own orders;
#   4. RS256 and ES256 daemons: good tokens work; HS256 signed with the
#      public key's PEM bytes, other keys, other algorithms, DER ECDSA
#      signatures are 401; --open-registration on;
#   5. key files readable by group or others: exit 2, one line; SIGHUP
#      re-reads the HS256 secret; a token is in no log line, metric or
#      response; 0.0.0.0 without credentials warns.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/jwt_lib.sh"

U=$(uniq_id)
K="$T_CASE/keys"
ISS="https://issuer.test/$U"
AUD="cqrsd-$U"
BIG=9000000000000000001 # an id no test creates
IT='Bearer error="invalid_token"'
SEEN="$T_CASE/seen" # every response (headers and body) to a request with a token
TOKLOG="$T_CASE/tokens" # every token sent
started=""

cleanup() {
    local n
    for n in $started; do
        [ -f "$T/daemon-$n.pid" ] && stop_daemon "$n" >/dev/null
    done
}
trap cleanup EXIT

#=== helpers ===

# G TOKEN PATH [curl args...]: GET PATH with "Authorization: Bearer TOKEN"
# (no header when TOKEN is -); prints the status; headers in $H, body in $B
G() {
    local t=$1 p=$2 st
    shift 2
    if [ "$t" = - ]; then st=$(get "$p" "$@"); else st=$(get "$p" -H "Authorization: Bearer $t" "$@"); fi
    cat "$H" "$B" >>"$SEEN" 2>/dev/null
    echo "$st"
}
# C TOKEN JSON [curl args...]: POST /commands likewise
C() {
    local t=$1 j=$2 st
    shift 2
    if [ "$t" = - ]; then st=$(cmd "$j" "$@"); else st=$(cmd "$j" -H "Authorization: Bearer $t" "$@"); fi
    cat "$H" "$B" >>"$SEEN" 2>/dev/null
    echo "$st"
}
# S QUERY [curl args...]: GET /queries/events/stream?QUERY for at most 2 s
S() {
    local q=$1 st
    shift
    st=$(curl -s -N --max-time 2 -o "$B" -D "$H" -w '%{http_code}' "$@" "$URL_BASE/queries/events/stream?$q")
    cat "$H" "$B" >>"$SEEN" 2>/dev/null
    echo "$st"
}
# a401 NAME WWW-AUTHENTICATE STATUS: STATUS was 401 and the last response
# is problem+json unauthorized with exactly that WWW-Authenticate
a401() {
    check "$1" "401 unauthorized application/problem+json $2" \
        "$3 $(jqb .type 2>/dev/null) $(hdr Content-Type | cut -d';' -f1) $(hdr WWW-Authenticate)"
}
# st_type: "STATUS TYPE" of the last response (TYPE - when it is no problem)
prob() { echo "$1 $(jq -r '.type // "-"' "$B" 2>/dev/null || echo -)"; }
# same NAME FILE: the last body is byte for byte FILE
same() {
    check "$1" same "$(cmp -s "$2" "$B" && echo same || echo "differ: $(cat "$2") vs $(body)")"
}

NOW=$(date +%s)
EXP=$((NOW + 3600))
# cl OBJECT [FILTER]: claims (jq) with iss, aud and an exp an hour ahead,
# merged with OBJECT, then FILTER ($now is the time)
cl() {
    jq -cn --arg iss "$ISS" --arg aud "$AUD" --argjson exp "$EXP" --argjson now "$NOW" \
        "{iss: \$iss, aud: \$aud, exp: \$exp} + $1 | ${2:-.}"
}
# tokens made here are noted for the leak check at the end
note() { echo "$1" >>"$TOKLOG"; echo "$1"; }
hs() { note "$(jwt_hs256 "$@")"; }
rs() { note "$(jwt_rs256 "$@")"; }
es() { note "$(jwt_es256 "$@")"; }
# es_der PRIVPEM CLAIMS: an ES256 token whose signature is openssl's DER, not R||S
es_der() {
    local in
    in=$(jwt_signing_input ES256 "$2")
    note "$in.$(printf '%s' "$in" | openssl dgst -sha256 -sign "$1" -binary | jwt_b64url)"
}

po() { echo "{\"type\":\"PlaceOrder\",\"data\":{\"customer_id\":$1,\"items\":[{\"product_id\":${3:-$P},\"quantity\":${2:-1}}]}}"; }
co() { echo "{\"type\":\"CancelOrder\",\"data\":{\"order_id\":$1${2:+,$2}}}"; }
reg() { echo "{\"type\":\"RegisterCustomer\",\"data\":{\"email\":\"$1\",\"name\":\"Authz $1\"}}"; }
prod() { echo "{\"type\":\"CreateProduct\",\"data\":{\"sku\":\"AZ-$1\",\"name\":\"Authz $1\",\"category\":\"authz-$U\",\"price_cents\":${2:-500},\"stock\":${3:-1000}}}"; }

#=== keys, tokens, the HS256 daemon ===

if ! jwt_keys "$K"; then
    echo "FAIL jwt_keys: openssl could not make the keys"
    fail=$((fail + 1))
    finish
    exit
fi
(umask 077 && openssl rand -base64 48 | tr -d '\n' >"$K/other.key" &&
    openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$K/rsa2.pem" 2>/dev/null &&
    openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$K/ec2.pem" 2>/dev/null)
check "the key files are mode 600" "600 600 600 600 600 600" \
    "$(stat -c %a "$K/hs256.key" "$K/rsa.pem" "$K/rsa.pub" "$K/ec.pem" "$K/ec.pub" "$K/other.key" | tr '\n' ' ' | sed 's/ $//')"
MK="$T_CASE/main.key" # the HS256 daemon's secret (SIGHUP replaces it)
cp "$K/hs256.key" "$MK" && chmod 600 "$MK"
CT="ct-$(openssl rand -hex 16)" # the command token
printf '%s\n' "$CT" >"$T_CASE/token"
chmod 600 "$T_CASE/token"
echo "$CT" >>"$TOKLOG"

port=$(free_port)
start_daemon az "$port" --threads 4 --command-token-file "$T_CASE/token" --jwt-key-file "$MK" \
    --jwt-issuer "$ISS" --jwt-audience "$AUD" --log-format json || { finish; exit 1; }
started="az"
URL_BASE="http://127.0.0.1:$port"
export URL_BASE

# the data: with the command token
C "$CT" "$(prod "$U-1")" >/dev/null
P=$(jqb .aggregate_id)
C "$CT" "$(reg "az1-$U@example.com")" >/dev/null
C1=$(jqb .aggregate_id)
C "$CT" "$(reg "az2-$U@example.com")" >/dev/null
C2=$(jqb .aggregate_id)
check_match "setup: a product and two customers" '^[1-9][0-9]* [1-9][0-9]* [1-9][0-9]*$' "$P $C1 $C2"

ADM=$(hs "$MK" "$(cl '{role: "admin"}')")
CU1=$(hs "$MK" "$(cl "{role: \"customer\", customer_id: $C1}")")
CU2=$(hs "$MK" "$(cl "{role: \"customer\", customer_id: $C2}")")

# the customers' orders: placed with the command token (the customers' own
# PlaceOrder is checked below, and nothing else hangs on it)
C "$CT" "$(po "$C1")" >/dev/null
O1=$(jqb .aggregate_id)
C "$CT" "$(po "$C2")" >/dev/null
O2=$(jqb .aggregate_id)
C "$CT" "$(po "$C1")" >/dev/null
OC1=$(jqb .aggregate_id) # for customer 1's async CancelOrder
C "$CT" "$(po "$C2")" >/dev/null
OC2=$(jqb .aggregate_id) # for customer 2's
check_match "setup: four orders" '^[1-9][0-9]* [1-9][0-9]* [1-9][0-9]* [1-9][0-9]*$' "$O1 $O2 $OC1 $OC2"
check "customer 1 PlaceOrder for itself: 201" 201 "$(C "$CU1" "$(po "$C1")")"
check "customer 2 PlaceOrder for itself: 201" 201 "$(C "$CU2" "$(po "$C2")")"

#=== tokens that are not valid: 401 invalid_token ===

RSA_TOK=$(rs "$K/rsa.pem" "$(cl '{role: "admin"}')")
ES_TOK=$(es "$K/ec.pem" "$(cl '{role: "admin"}')")
h64=${ADM%%.*}
rest=${ADM#*.}
c64=${rest%%.*}
s64=${ADM##*.}
GARB=$(printf 'garbage' | jwt_b64url)
NONE_H=$(printf '%s' '{"alg":"none","typ":"JWT"}' | jwt_b64url)
# a token over 8 KiB, and one a little under it (valid), by a padding claim
base_len=${#ADM}
pad_for() { head -c $((($1 - base_len) * 3 / 4 - 10)) /dev/zero | tr '\0' x; }
LONG=$(hs "$MK" "$(cl "{role: \"admin\", pad: \"$(pad_for 8300)\"}")")
UNDER=$(hs "$MK" "$(cl "{role: \"admin\", pad: \"$(pad_for 8150)\"}")")
check "the long token is over 8 KiB, the other under it" "yes yes" \
    "$([ ${#LONG} -gt 8192 ] && echo yes) $([ ${#UNDER} -le 8192 ] && echo yes)"

bad_names=()
bad_toks=()
bad() { bad_names+=("$1"); bad_toks+=("$(note "$2")"); }
bad "another secret" "$(jwt_hs256 "$K/other.key" "$(cl '{role: "admin"}')")"
bad "expired beyond the skew" "$(jwt_hs256 "$MK" "$(cl '{role: "admin"}' '.exp = $now - 120')")"
bad "nbf beyond the skew" "$(jwt_hs256 "$MK" "$(cl '{role: "admin"}' '.nbf = $now + 120')")"
bad "no exp" "$(jwt_hs256 "$MK" "$(cl '{role: "admin"}' 'del(.exp)')")"
bad "exp a string" "$(jwt_hs256 "$MK" "$(cl '{role: "admin"}' '.exp = (.exp | tostring)')")"
bad "wrong iss" "$(jwt_hs256 "$MK" "$(cl '{role: "admin"}' '.iss = "https://evil.test"')")"
bad "no iss" "$(jwt_hs256 "$MK" "$(cl '{role: "admin"}' 'del(.iss)')")"
bad "wrong aud" "$(jwt_hs256 "$MK" "$(cl '{role: "admin"}' '.aud = "other"')")"
bad "aud array without it" "$(jwt_hs256 "$MK" "$(cl '{role: "admin"}' '.aud = ["a", "b"]')")"
bad "role root" "$(jwt_hs256 "$MK" "$(cl '{role: "root"}')")"
bad "customer without customer_id" "$(jwt_hs256 "$MK" "$(cl '{role: "customer"}')")"
bad "customer_id 0" "$(jwt_hs256 "$MK" "$(cl '{role: "customer", customer_id: 0}')")"
bad "alg none unsigned" "$NONE_H.$c64."
bad "alg none, signed" "$(jwt_hs256 "$MK" "$(cl '{role: "admin"}')" '{"alg":"none","typ":"JWT"}')"
bad "alg HS512 in the header" "$(jwt_hs256 "$MK" "$(cl '{role: "admin"}')" '{"alg":"HS512","typ":"JWT"}')"
bad "alg hs256 lower case" "$(jwt_hs256 "$MK" "$(cl '{role: "admin"}')" '{"alg":"hs256","typ":"JWT"}')"
bad "an RS256 token" "$RSA_TOK"
bad "an ES256 token" "$ES_TOK"
bad "truncated signature" "${ADM:0:$((${#ADM} - 6))}"
bad "two parts" "$h64.$c64"
bad "four parts" "$ADM.$s64"
bad "garbage header" "$GARB.$c64.$s64"
bad "garbage claims" "$h64.$GARB.$s64"
bad "garbage signature" "$h64.$c64.$GARB"
bad "base64 padding" "$ADM="
bad "over 8 KiB" "$LONG"
bad "not token68" "${ADM:0:20}!${ADM:21}"
bad "claims of another token" "$h64.$(printf '%s' "$(cl '{role: "admin"}' '.exp = .exp + 1')" | jwt_b64url).$s64"
BADSIG=${bad_toks[0]}

for i in "${!bad_toks[@]}"; do
    a401 "${bad_names[$i]}: GET /queries/products 401" "$IT" "$(G "${bad_toks[$i]}" /queries/products)"
    check "${bad_names[$i]}: POST /commands 401" 401 "$(C "${bad_toks[$i]}" "$(prod "bad$i-$U")")"
done

# one bad token on every route; OPTIONS, /healthz and /readyz never look
for r in "/queries/products/$P" /openapi.json "/queries/customers/$C1" "/queries/customers/$C1/orders" \
    "/queries/orders/$O1" /queries/events /commands "/commands/x-$U" /metrics; do
    a401 "a bad signature: GET $r 401" "$IT" "$(G "$BADSIG" "$r")"
done
a401 "a bad signature: GET /queries/events/stream 401" "$IT" "$(S after=0 -H "Authorization: Bearer $BADSIG")"
a401 "expired: GET /queries/events (admin's route) 401" "$IT" "$(G "${bad_toks[1]}" /queries/events)"
check "a bad signature: /healthz 200" 200 "$(G "$BADSIG" /healthz)"
check "a bad signature: /readyz 200" 200 "$(G "$BADSIG" /readyz)"
check "a bad signature: OPTIONS /commands 204" 204 "$(G "$BADSIG" /commands -X OPTIONS)"
check "a bad signature: OPTIONS /queries/orders/1 204" 204 "$(G "$BADSIG" /queries/orders/1 -X OPTIONS)"
check "garbage: /healthz 200" 200 "$(G "$GARB" /healthz)"

# tokens that are valid, at the edges
check "expired 10 s ago (within the skew): 200" 200 \
    "$(G "$(hs "$MK" "$(cl '{role: "admin"}' '.exp = $now - 10')")" /queries/events)"
check "nbf 10 s ahead (within the skew): 200" 200 \
    "$(G "$(hs "$MK" "$(cl '{role: "admin"}' '.nbf = $now + 10')")" /queries/events)"
check "aud an array holding it: 200" 200 \
    "$(G "$(hs "$MK" "$(cl '{role: "admin"}' '.aud = ["x", $aud]')")" /queries/events)"
check "a token just under 8 KiB: 200" 200 "$(G "$UNDER" /queries/events)"
check "scheme 'bearer' in lower case: 200" 200 "$(G - /queries/events -H "Authorization: bearer $ADM")"

# another scheme is no credentials
check "Basic: a public route 200" 200 "$(G - /queries/products -H 'Authorization: Basic Zm9vOmJhcg==')"
a401 "Basic: an admin route 401 Bearer" Bearer "$(G - /queries/events -H 'Authorization: Basic Zm9vOmJhcg==')"

#=== the table: queries ===

for r in /queries/products "/queries/products/$P" /openapi.json; do
    check "anonymous: GET $r 200" 200 "$(G - "$r")"
    check "customer: GET $r 200" 200 "$(G "$CU1" "$r")"
done

# customers/{id}, customers/{id}/orders, orders/{id}
for r in "/queries/customers/$C1" "/queries/customers/$C1/orders" "/queries/orders/$O1"; do
    a401 "anonymous: GET $r 401 Bearer" Bearer "$(G - "$r")"
    check "customer 1: GET its $r 200" 200 "$(G "$CU1" "$r")"
    check "admin JWT: GET $r 200" 200 "$(G "$ADM" "$r")"
    check "command token: GET $r 200" 200 "$(G "$CT" "$r")"
done
G "$CU1" "/queries/customers/$C1" >/dev/null
check "customer 1 sees itself" "$C1" "$(jqb .customer_id)"
G "$CU1" "/queries/orders/$O1" >/dev/null
check "customer 1's order is its own" "$C1" "$(jqb .customer.customer_id)"

check "customer 1: GET customer 2's order 404" "404 not-found" "$(prob "$(G "$CU1" "/queries/orders/$O2")")"
cp "$B" "$T_CASE/404.other"
check "customer 1: GET an unknown order 404" 404 "$(G "$CU1" "/queries/orders/$BIG")"
same "another's order and an unknown one: the same 404 body" "$T_CASE/404.other"
check "admin: GET an unknown order 404" 404 "$(G "$ADM" "/queries/orders/$BIG")"
same "admin's 404 for an unknown order is that body too" "$T_CASE/404.other"

check "customer 1: GET customer 2 404" "404 not-found" "$(prob "$(G "$CU1" "/queries/customers/$C2")")"
cp "$B" "$T_CASE/404.other"
check "customer 1: GET an unknown customer 404" 404 "$(G "$CU1" "/queries/customers/$BIG")"
same "another customer and an unknown one: the same 404 body" "$T_CASE/404.other"

check "customer 1: GET customer 2's orders 404" "404 not-found" "$(prob "$(G "$CU1" "/queries/customers/$C2/orders")")"
cp "$B" "$T_CASE/404.other"
check "customer 1: GET an unknown customer's orders 404" 404 "$(G "$CU1" "/queries/customers/$BIG/orders")"
same "another's orders and an unknown customer's: the same 404 body" "$T_CASE/404.other"
check "customer 2: GET its own orders 200" 200 "$(G "$CU2" "/queries/customers/$C2/orders")"
check "customer 2: its orders hold its order and not customer 1's" true \
    "$(jq --argjson a "$O2" --argjson b "$O1" 'any(.items[]; .order_id == $a) and all(.items[]; .order_id != $b)' "$B")"

# the admin routes
for r in /queries/events /commands "/commands?status=failed" /metrics; do
    a401 "anonymous: GET $r 401 Bearer" Bearer "$(G - "$r")"
    check "customer: GET $r 403 forbidden" "403 forbidden" "$(prob "$(G "$CU1" "$r")")"
    check "admin JWT: GET $r 200" 200 "$(G "$ADM" "$r")"
    check "command token: GET $r 200" 200 "$(G "$CT" "$r")"
done
check "customer: /queries/events?aggregate_type=customer&aggregate_id=itself 403" 403 \
    "$(G "$CU1" "/queries/events?aggregate_type=customer&aggregate_id=$C1")"

# the stream: a header, or access_token
check "stream, admin in the header: 200" 200 "$(S after=0 -H "Authorization: Bearer $ADM")"
check_match "stream, admin in the header: text/event-stream" '^text/event-stream' "$(hdr Content-Type)"
check "stream, admin in access_token: 200" 200 "$(S "after=0&access_token=$ADM")"
check_match "stream, admin in access_token: text/event-stream" '^text/event-stream' "$(hdr Content-Type)"
check_match "stream, admin in access_token: events flow" '^(id|event|data|retry)?:' "$(head -c 200 "$B" | head -1)"
check "stream, customer in access_token: 403" "403 forbidden" "$(prob "$(S "after=0&access_token=$CU1")")"
a401 "stream, garbage in access_token: 401" "$IT" "$(S "after=0&access_token=$GARB")"
a401 "stream, an expired token in access_token: 401" "$IT" "$(S "after=0&access_token=${bad_toks[1]}")"
a401 "stream, a bad signature in access_token: 401" "$IT" "$(S "after=0&access_token=$BADSIG")"
a401 "stream, anonymous: 401 Bearer" Bearer "$(S after=0)"
check "stream, customer in the header: 403" 403 "$(S after=0 -H "Authorization: Bearer $CU1")"

#=== the table: POST /commands, in the order of the checks ===

BIGBODY="$T_CASE/big.json"
{
    printf '{"type":"CreateProduct","data":{"sku":"AZ-big","name":"'
    head -c 70000 /dev/zero | tr '\0' x
    printf '","category":"c","price_cents":1}}'
} >"$BIGBODY"
raw() { # raw TOKEN CONTENT-TYPE DATA-ARG: POST /commands with that content type
    local t=$1 ctype=$2 d=$3 st
    if [ "$t" = - ]; then
        st=$(curl -s -o "$B" -D "$H" -w '%{http_code}' -H "Content-Type: $ctype" --data-binary "$d" "$URL_BASE/commands")
    else
        st=$(curl -s -o "$B" -D "$H" -w '%{http_code}' -H "Content-Type: $ctype" -H "Authorization: Bearer $t" \
            --data-binary "$d" "$URL_BASE/commands")
    fi
    cat "$H" "$B" >>"$SEEN" 2>/dev/null
    echo "$st"
}
a401 "bad token, text/plain: 401 before 415" "$IT" "$(raw "$BADSIG" text/plain x)"
a401 "bad token, a body over the limit: 401 before 413" "$IT" "$(raw "$BADSIG" application/json "@$BIGBODY")"
a401 "bad token, broken JSON: 401 before 400" "$IT" "$(raw "$BADSIG" application/json '{"type":')"
a401 "bad token, a bad Idempotency-Key: 401 before 400" "$IT" \
    "$(C "$BADSIG" "$(prod "k-$U")" -H "Idempotency-Key: $(head -c 200 /dev/zero | tr '\0' k)")"
for who in anonymous customer; do
    t=-
    [ $who = customer ] && t=$CU1
    check "$who, text/plain: 415" "415 unsupported-media-type" "$(prob "$(raw "$t" text/plain x)")"
    check "$who, a body over the limit: 413" 413 "$(raw "$t" application/json "@$BIGBODY")"
    check "$who, broken JSON: 400" "400 malformed-json" "$(prob "$(raw "$t" application/json '{"type":')")"
    check "$who, a bad Idempotency-Key: 400" "400 invalid-parameter" \
        "$(prob "$(C "$t" "$(prod "k-$U")" -H "Idempotency-Key: $(head -c 200 /dev/zero | tr '\0' k)")")"
done

# the role on the type
a401 "anonymous CreateProduct: 401 Bearer" Bearer "$(C - "$(prod "anon-$U")")"
a401 "anonymous CreateProduct with bad data: 401, not 422" Bearer \
    "$(C - '{"type":"CreateProduct","data":{"sku":"","price_cents":-1}}')"
a401 "anonymous unknown type: 401" Bearer "$(C - '{"type":"Frobnicate","data":{}}')"
a401 "anonymous RegisterCustomer (open registration off): 401" Bearer "$(C - "$(reg "anon-$U@example.com")")"
a401 "anonymous PlaceOrder: 401" Bearer "$(C - "$(po "$C1")")"
a401 "anonymous CancelOrder: 401" Bearer "$(C - "$(co "$O1")")"
for j in "$(prod "cu-$U")" '{"type":"CreateProduct","data":{"sku":"","price_cents":-1}}' \
    '{"type":"Frobnicate","data":{}}' "{\"type\":\"RestockProduct\",\"data\":{\"product_id\":$P,\"quantity\":1}}" \
    "{\"type\":\"UpdateProductPrice\",\"data\":{\"product_id\":$P,\"price_cents\":1}}" \
    "{\"type\":\"DeleteProduct\",\"data\":{\"product_id\":$P}}" \
    "{\"type\":\"PayOrder\",\"data\":{\"order_id\":$O1}}" "{\"type\":\"ShipOrder\",\"data\":{\"order_id\":$O1}}"; do
    check "customer $(echo "$j" | jq -r .type) $(echo "$j" | jq -c .data | head -c 40): 403" "403 forbidden" \
        "$(prob "$(C "$CU1" "$j")")"
done
# then 422
check "customer PlaceOrder with no items: 422" "422 validation-failed" \
    "$(prob "$(C "$CU1" "{\"type\":\"PlaceOrder\",\"data\":{\"customer_id\":$C1,\"items\":[]}}")")"
check "customer PlaceOrder for another with no items: 422 before 403" "422 validation-failed" \
    "$(prob "$(C "$CU1" "{\"type\":\"PlaceOrder\",\"data\":{\"customer_id\":$C2,\"items\":[]}}")")"
check "customer CancelOrder of another's order with an unknown member: 422 before 404" "422 validation-failed" \
    "$(prob "$(C "$CU1" "$(co "$O2" '"extra":1')")")"
check "customer RegisterCustomer with a bad email: 422" "422 validation-failed" \
    "$(prob "$(C "$CU1" "$(reg "no-at-sign-$U")")")"
# then ownership
check "customer 1 PlaceOrder for customer 2: 403" "403 forbidden" "$(prob "$(C "$CU1" "$(po "$C2")")")"
check "... with more than the stock: still 403" "403 forbidden" "$(prob "$(C "$CU1" "$(po "$C2" 1000)")")"
check "... of an unknown product: still 403" "403 forbidden" "$(prob "$(C "$CU1" "$(po "$C2" 1 "$BIG")")")"
check "customer 1 CancelOrder of customer 2's order: 404" "404 not-found" "$(prob "$(C "$CU1" "$(co "$O2")")")"
cp "$B" "$T_CASE/404.other"
check "customer 1 CancelOrder of an unknown order: 404" 404 "$(C "$CU1" "$(co "$BIG")")"
same "another's order and an unknown one: the same CancelOrder 404 body" "$T_CASE/404.other"
check "customer 1 CancelOrder of customer 2's order, wrong expected_version: 404 before 409" 404 \
    "$(C "$CU1" "$(co "$O2" '"expected_version":99')")"
# then business rules
check "customer 1 PlaceOrder with more than the stock: 409" "409 insufficient-stock" \
    "$(prob "$(C "$CU1" "$(po "$C1" 1000)")")"
check "customer 1 RegisterCustomer: 201" 201 "$(C "$CU1" "$(reg "by-cu-$U@example.com")")"
check "command token PayOrder: 200" 200 "$(C "$CT" "{\"type\":\"PayOrder\",\"data\":{\"order_id\":$O1}}")"
check "customer 1 CancelOrder of its paid order: 200" 200 "$(C "$CU1" "$(co "$O1" '"reason":"mine"')")"
check "customer 1 CancelOrder of it again: 409" "409 invalid-state-transition" "$(prob "$(C "$CU1" "$(co "$O1")")")"
check "admin JWT CreateProduct: 201" 201 "$(C "$ADM" "$(prod "adm-$U")")"
check "admin JWT CancelOrder of customer 2's order: 200" 200 "$(C "$ADM" "$(co "$O2")")"

# asynchronous commands: authorized when accepted
A='Prefer: respond-async'
check "async: customer 1 PlaceOrder for customer 2: 403" "403 forbidden" "$(prob "$(C "$CU1" "$(po "$C2")" -H "$A")")"
check "async: ... and no Location" "" "$(hdr Location)"
check "async: customer 1 CancelOrder of another's order: 404" 404 "$(C "$CU1" "$(co "$O2")" -H "$A")"
check "async: customer 1 CreateProduct: 403" 403 "$(C "$CU1" "$(prod "as-$U")" -H "$A")"
a401 "async: anonymous PlaceOrder: 401" Bearer "$(C - "$(po "$C1")" -H "$A")"
a401 "async: a bad token: 401" "$IT" "$(C "$BADSIG" "$(po "$C1")" -H "$A")"
check "async: customer 1 PlaceOrder for itself: 202" 202 "$(C "$CU1" "$(po "$C1")" -H "$A")"
KA1="as1-$U"
check "async: customer 1 CancelOrder of its order: 202" 202 "$(C "$CU1" "$(co "$OC1")" -H "$A" -H "Idempotency-Key: $KA1")"
ID1=$(jqb .command_id)
check "async: customer 2 CancelOrder of its order, customer 1's key: 202" 202 \
    "$(C "$CU2" "$(co "$OC2")" -H "$A" -H "Idempotency-Key: $KA1")"
check "async: ... its own, not customer 1's replayed" "" "$(hdr Idempotent-Replayed)"
ID2=$(jqb .command_id)
check "async: admin RestockProduct: 202" 202 \
    "$(C "$ADM" "{\"type\":\"RestockProduct\",\"data\":{\"product_id\":$P,\"quantity\":1}}" -H "$A" -H "Idempotency-Key: asa-$U")"
IDA=$(jqb .command_id)
a401 "GET /commands/{id}: anonymous 401" Bearer "$(G - "/commands/$ID1")"
check "GET /commands/{id}: customer 1 its own 200" 200 "$(G "$CU1" "/commands/$ID1")"
check "GET /commands/{id}: ... it is its CancelOrder" CancelOrder "$(jqb .type)"
check "GET /commands/{id}: customer 2 its own 200" 200 "$(G "$CU2" "/commands/$ID2")"
check "GET /commands/{id}: customer 1 the admin's 404" "404 not-found" "$(prob "$(G "$CU1" "/commands/$IDA")")"
cp "$B" "$T_CASE/404.other"
check "GET /commands/{id}: customer 1 an unknown one 404" 404 "$(G "$CU1" "/commands/never-$U")"
same "GET /commands/{id}: another's and an unknown one: the same 404 body" "$T_CASE/404.other"
check "GET /commands/{id}: admin JWT customer 1's 200" 200 "$(G "$ADM" "/commands/$ID1")"
check "GET /commands/{id}: command token the admin's 200" 200 "$(G "$CT" "/commands/$IDA")"
if [ "$ID1" != "$ID2" ]; then
    check "GET /commands/{id}: customer 2 customer 1's 404" 404 "$(G "$CU2" "/commands/$ID1")"
fi

#=== idempotency keys per principal ===

KS="shared-$U"
restock="{\"type\":\"RestockProduct\",\"data\":{\"product_id\":$P,\"quantity\":1}}"
check "command token, key K: 200" 200 "$(C "$CT" "$restock" -H "Idempotency-Key: $KS")"
check "admin JWT, key K: 200" 200 "$(C "$ADM" "$restock" -H "Idempotency-Key: $KS")"
check "admin JWT, key K: the command token's answer replayed" true "$(hdr Idempotent-Replayed)"
a401 "anonymous, key K: 401, no replay" Bearer "$(C - "$restock" -H "Idempotency-Key: $KS")"
check "customer, key K: 403, no replay" 403 "$(C "$CU1" "$restock" -H "Idempotency-Key: $KS")"
KO="adm-order-$U"
check "admin JWT PlaceOrder for customer 1, key K2: 201" 201 "$(C "$ADM" "$(po "$C1")" -H "Idempotency-Key: $KO")"
OA=$(jqb .aggregate_id)
check "customer 1, the same command and key: 201, not replayed" "201 " \
    "$(C "$CU1" "$(po "$C1")" -H "Idempotency-Key: $KO") $(hdr Idempotent-Replayed)"
check "customer 1, the same command and key: another order" yes "$([ "$(jqb .aggregate_id)" != "$OA" ] && echo yes)"

# two customers race, each for itself, two requests each, with one key
KR="race-$U"
race() { # race N TOKEN JSON: one request in the background's own files
    curl -s -o "$T_CASE/race$1.body" -D "$T_CASE/race$1.h" -w '%{http_code}' -H 'Content-Type: application/json' \
        -H "Authorization: Bearer $2" -H "Idempotency-Key: $KR" --data-binary "$3" "$URL_BASE/commands" \
        >"$T_CASE/race$1.st"
}
race 1 "$CU1" "$(po "$C1")" &
r1=$!
race 2 "$CU2" "$(po "$C2")" &
r2=$!
race 3 "$CU1" "$(po "$C1")" &
r3=$!
race 4 "$CU2" "$(po "$C2")" &
wait $r1 $r2 $r3 $!
rst() { cat "$T_CASE/race$1.st"; }
rid() { jq -r .aggregate_id "$T_CASE/race$1.body"; }
rrep() { grep -ci '^Idempotent-Replayed: true' "$T_CASE/race$1.h"; }
check "race: all four 201" "201 201 201 201" "$(rst 1) $(rst 2) $(rst 3) $(rst 4)"
check "race: customer 1's two answers name one order" "$(rid 1)" "$(rid 3)"
check "race: customer 2's two answers name one order" "$(rid 2)" "$(rid 4)"
check "race: the customers' orders differ" yes "$([ "$(rid 1)" != "$(rid 2)" ] && echo yes)"
check "race: exactly one of customer 1's is not a replay" 1 "$(($(rrep 1) + $(rrep 3)))"
check "race: exactly one of customer 2's is not a replay" 1 "$(($(rrep 2) + $(rrep 4)))"
check "race: customer 1's retry replays its order" "201 true $(rid 1)" \
    "$(C "$CU1" "$(po "$C1")" -H "Idempotency-Key: $KR") $(hdr Idempotent-Replayed) $(jqb .aggregate_id)"
check "race: customer 2's retry replays its order" "201 true $(rid 2)" \
    "$(C "$CU2" "$(po "$C2")" -H "Idempotency-Key: $KR") $(hdr Idempotent-Replayed) $(jqb .aggregate_id)"
check "race: customer 1's order is customer 1's" "200 $C1" \
    "$(G "$CU1" "/queries/orders/$(rid 1)") $(jqb .customer.customer_id)"
check "race: customer 2 cannot read it" 404 "$(G "$CU2" "/queries/orders/$(rid 1)")"

#=== with no credentials configured: open, as before ===

URL_BASE=$BASE
check "no credentials: GET /queries/events 200" 200 "$(get /queries/events)"
check "no credentials: GET /commands 200" 200 "$(get /commands)"
check "no credentials: GET /metrics 200" 200 "$(get /metrics)"
check "no credentials: GET /queries/customers/$C1 200" 200 "$(get "/queries/customers/$C1")"
check "no credentials: CreateProduct 201" 201 "$(cmd "$(prod "open-$U")")"
URL_BASE="http://127.0.0.1:$port"

#=== RS256 (and --open-registration on) ===

rport=$(free_port)
if start_daemon azrs "$rport" --threads 2 --jwt-key-file "$K/rsa.pub" --jwt-algorithm RS256 --open-registration on; then
    started="$started azrs"
    URL_BASE="http://127.0.0.1:$rport"
    check "RS256: an admin token 200" 200 "$(G "$(rs "$K/rsa.pem" "$(cl '{role: "admin"}')")" /queries/events)"
    check "RS256: customer 1's token, its customer 200" 200 \
        "$(G "$(rs "$K/rsa.pem" "$(cl "{role: \"customer\", customer_id: $C1}")")" "/queries/customers/$C1")"
    cp "$K/rsa.pub" "$T_CASE/pemnl.key" && printf '\n' >>"$T_CASE/pemnl.key"
    for v in "HS256 with the public key's PEM (less its newline) as the secret:$K/rsa.pub" \
        "HS256 with the public key's PEM file bytes as the secret:$T_CASE/pemnl.key" \
        "HS256 with the HS256 daemon's secret:$MK"; do
        t=$(hs "${v#*:}" "$(cl '{role: "admin"}')")
        a401 "RS256: ${v%%:*}: 401" "$IT" "$(G "$t" /queries/events)"
        a401 "RS256: ${v%%:*}: a public route 401" "$IT" "$(G "$t" /queries/products)"
    done
    a401 "RS256: another RSA key: 401" "$IT" "$(G "$(rs "$K/rsa2.pem" "$(cl '{role: "admin"}')")" /queries/events)"
    a401 "RS256: an ES256 token: 401" "$IT" "$(G "$ES_TOK" /queries/events)"
    a401 "RS256: alg RS384 in the header: 401" "$IT" \
        "$(G "$(rs "$K/rsa.pem" "$(cl '{role: "admin"}')" '{"alg":"RS384","typ":"JWT"}')" /queries/events)"
    a401 "RS256: alg none: 401" "$IT" "$(G "$(note "$NONE_H.$c64.")" /queries/events)"
    a401 "RS256: expired: 401" "$IT" \
        "$(G "$(rs "$K/rsa.pem" "$(cl '{role: "admin"}' '.exp = $now - 120')")" /queries/events)"
    check "open registration: anonymous RegisterCustomer 201" 201 "$(C - "$(reg "open-$U@example.com")")"
    check "open registration: anonymous RegisterCustomer with a bad email 422" 422 "$(C - "$(reg "bad-$U")")"
    a401 "open registration: anonymous RegisterCustomer with a bad token 401" "$IT" \
        "$(C "$GARB" "$(reg "open2-$U@example.com")")"
    a401 "open registration: anonymous CreateProduct 401" Bearer "$(C - "$(prod "rs-$U")")"
    a401 "open registration: anonymous PlaceOrder 401" Bearer "$(C - "$(po "$C1")")"
    stop_daemon azrs >/dev/null
else
    fail=$((fail + 1))
fi
URL_BASE="http://127.0.0.1:$port"

#=== ES256 ===

eport=$(free_port)
if start_daemon azes "$eport" --threads 2 --jwt-key-file "$K/ec.pub" --jwt-algorithm ES256; then
    started="$started azes"
    URL_BASE="http://127.0.0.1:$eport"
    check "ES256: an admin token 200" 200 "$(G "$ES_TOK" /queries/events)"
    check "ES256: customer 2's token, its order 200" 200 \
        "$(G "$(es "$K/ec.pem" "$(cl "{role: \"customer\", customer_id: $C2}")")" "/queries/orders/$O2")"
    a401 "ES256: a DER signature: 401" "$IT" "$(G "$(es_der "$K/ec.pem" "$(cl '{role: "admin"}')")" /queries/events)"
    a401 "ES256: another EC key: 401" "$IT" "$(G "$(es "$K/ec2.pem" "$(cl '{role: "admin"}')")" /queries/events)"
    a401 "ES256: an RS256 token: 401" "$IT" "$(G "$RSA_TOK" /queries/events)"
    a401 "ES256: HS256 with the public key's PEM as the secret: 401" "$IT" \
        "$(G "$(hs "$K/ec.pub" "$(cl '{role: "admin"}')")" /queries/events)"
    a401 "ES256: no credentials on the feed: 401 Bearer" Bearer "$(G - /queries/events)"
    a401 "ES256: anonymous RegisterCustomer (open registration off): 401" Bearer \
        "$(C - "$(reg "es-$U@example.com")")"
    stop_daemon azes >/dev/null
else
    fail=$((fail + 1))
fi
URL_BASE="http://127.0.0.1:$port"

#=== key files that others may read ===

refused() { # refused NAME FILE ALG: the daemon exits 2 with one line saying readable
    local out="$T_CASE/refused.out" rc p
    p=$(free_port)
    timeout 10 "$CQRSD_BIN" --listen "127.0.0.1:$p" --jwt-key-file "$2" --jwt-algorithm "$3" >"$out" 2>&1
    rc=$?
    check "$1: exit 2" 2 "$rc"
    check_match "$1: says readable (or open) by group or others" 'readable|open to group or others' "$(cat "$out")"
    check "$1: one line" 1 "$(grep -c '' "$out")"
}
cp "$K/hs256.key" "$T_CASE/open.key" && chmod 644 "$T_CASE/open.key"
refused "HS256 secret mode 644" "$T_CASE/open.key" HS256
chmod 640 "$T_CASE/open.key"
refused "HS256 secret mode 640" "$T_CASE/open.key" HS256
cp "$K/rsa.pub" "$T_CASE/open.pub" && chmod 644 "$T_CASE/open.pub"
refused "RS256 public key mode 644" "$T_CASE/open.pub" RS256

#=== SIGHUP re-reads the secret ===

(umask 077 && openssl rand -base64 48 | tr -d '\n' >"$T_CASE/new.key")
NEW=$(hs "$T_CASE/new.key" "$(cl '{role: "admin"}')")
check "before SIGHUP: a new-secret token 401" 401 "$(G "$NEW" /queries/events)"
check "before SIGHUP: the old admin token 200" 200 "$(G "$ADM" /queries/events)"
cp "$T_CASE/new.key" "$MK"
kill -HUP "$(cat "$T/daemon-az.pid")"
st=000
for _ in $(seq 1 50); do
    st=$(G "$NEW" /queries/events)
    [ "$st" = 200 ] && break
    sleep 0.1
done
check "SIGHUP: the new secret's token works within 5 s" 200 "$st"
a401 "SIGHUP: the old secret's admin token 401" "$IT" "$(G "$ADM" /queries/events)"
a401 "SIGHUP: the old secret's customer token 401" "$IT" "$(G "$CU1" "/queries/customers/$C1")"
check "SIGHUP: the command token still works" 200 "$(G "$CT" /queries/events)"

#=== no token in a log line, a metric or a response ===

G "$CT" /metrics >/dev/null
cp "$B" "$T_CASE/metrics.txt"
L="$T/daemon-az.log"
check_match "the JSON log has the 401s" '^[1-9][0-9]+$' "$(grep -c '"status":401' "$L")"
check_match "the JSON log has the streams" '^[1-9][0-9]*$' "$(grep -c 'events/stream' "$L")"
leaks=""
nt=0
while read -r t; do
    [ -n "$t" ] || continue
    nt=$((nt + 1))
    for s in "$t" $(echo "$t" | tr '.' '\n'); do
        [ ${#s} -ge 8 ] || continue
        for f in "$L" "$T/daemon-azrs.log" "$T/daemon-azes.log" "$T_CASE/metrics.txt" "$SEEN"; do
            [ -f "$f" ] && grep -qF -- "$s" "$f" && leaks="$leaks ${s:0:20}…@$(basename "$f")"
        done
    done
done < <(sort -u "$TOKLOG")
check_match "tokens noted for the leak check" '^[1-9][0-9]+$' "$nt"
check "no token or part of one in the logs, /metrics or the responses" "" "$(echo "$leaks" | head -c 300)"
check "a daemon with credentials does not warn of none" "" "$(grep -i 'no credentials' "$L" | head -1)"

stop_daemon az >"$T_CASE/stop-az"
check "the HS256 daemon stops with 0" 0 "$(cat "$T_CASE/stop-az")"

#=== 0.0.0.0 with no credentials: a warning ===

wport=$(own_port)
"$CQRSD_BIN" --listen "0.0.0.0:$wport" --threads 1 >>"$T/daemon-azwide.log" 2>&1 &
echo $! >"$T/daemon-azwide.pid"
started="$started azwide"
up=no
for _ in $(seq 1 100); do
    curl -s -o /dev/null "http://127.0.0.1:$wport/healthz" && up=yes && break
    sleep 0.1
done
check "0.0.0.0: the daemon answers" yes "$up"
stop_daemon azwide >/dev/null
check_match "0.0.0.0 with no credentials: a warning" 'no credentials' "$(cat "$T/daemon-azwide.log")"

finish

#!/usr/bin/env bash
# 60_operations.sh - operations (issue 10): GET /openapi.json is src/openapi.json,
# lints clean with @redocly/cli and matches the route table and the daemon's
# command rules; GET /metrics (route patterns, exact counters, histograms,
# promtool); one log line per request (json and text) that never shows a DSN
# password; --help and --version. (The Docker stack: 61_compose.sh.)
# The daemon's bodies and the command rules are checked against the
# document's schemas with ajv (JSON Schema 2020-12). Installs what it needs
# when missing: @redocly/cli, ajv and ajv-formats under build/npm (npm),
# Debian's prometheus (promtool) (apt-get).
. "$(dirname "$0")/lib.sh"
top=$(cd "$(dirname "$0")/../.." && pwd)
SPEC="$top/src/openapi.json"
REDOCLY_VERSION=2.77.0 # the linter
AJV_VERSION=8.20.0 # JSON Schema 2020-12: the daemon's bodies against the document
AJV_FORMATS_VERSION=3.0.1
NPM_DIR="$top/build/npm"
INT64_MAX=9223372036854775807

cleanup() {
    for n in t60json t60text; do
        [ -f "$T/daemon-$n.pid" ] && stop_daemon "$n" >/dev/null
    done
}
trap cleanup EXIT

# metric NAME{LABELS} FILE: the sample's value (0 when absent)
metric() {
    awk -v k="$1" '$1 == k { v = $2 } END { print (v == "" ? 0 : v) }' "$2"
}

# log_lines FILE ID: how many lines of FILE name request id ID
log_lines() { grep -c -F -- "$2" "$1"; }

# wait_log FILE ID: until a line names request id ID (the log line follows the reply)
wait_log() {
    for _ in $(seq 1 100); do
        [ "$(log_lines "$1" "$2")" -ge 1 ] && return 0
        sleep 0.05
    done
}

# keep SCHEMA [valid|invalid] [FILE]: FILE (default: the last body) is to be
# valid (or invalid) against components.schemas.SCHEMA; ajv checks them all
# at the end of the OpenAPI part
mkdir -p "$T_CASE/bodies"
: >"$T_CASE/validate.txt"
nkept=0
keep() {
    nkept=$((nkept + 1))
    cp "${3:-$B}" "$T_CASE/bodies/$nkept.json"
    echo "$1 $T_CASE/bodies/$nkept.json ${2:-valid}" >>"$T_CASE/validate.txt"
}

# --- data the routes need: a product, a customer, an order, a queued command
u=$(uniq_id)
check setup-product 201 "$(cmd "{\"type\":\"CreateProduct\",\"data\":{\"sku\":\"OPS-$u\",\"name\":\"Ops\",\"category\":\"Ops$u\",\"price_cents\":250,\"stock\":50}}")"
PID=$(jqb .aggregate_id)
check setup-customer 201 "$(cmd "{\"type\":\"RegisterCustomer\",\"data\":{\"email\":\"ops$u@example.com\",\"name\":\"Ops\"}}")"
CID=$(jqb .aggregate_id)
check setup-order 201 "$(cmd "{\"type\":\"PlaceOrder\",\"data\":{\"customer_id\":$CID,\"items\":[{\"product_id\":$PID,\"quantity\":1}]}}")"
OID=$(jqb .aggregate_id)
ACK_KEYS=$(jq -c 'keys' "$B")
keep Acknowledgement
# (not a RestockProduct: the metrics part counts those)
check setup-async 202 "$(cmd "{\"type\":\"UpdateProductPrice\",\"data\":{\"product_id\":$PID,\"price_cents\":250}}" -H 'Prefer: respond-async')"
ACMD=$(jqb .command_id)
ACCEPTED_KEYS=$(jq -c 'keys' "$B")
keep Accepted

# ================= OpenAPI =================
echo "== OpenAPI (at $SECONDS s)"
check openapi-status 200 "$(get /openapi.json)"
check_match openapi-content-type '^application/json' "$(hdr Content-Type)"
check openapi-equals-src same "$(cmp -s "$B" "$SPEC" && echo same || echo differs)"
check openapi-version 3.1.0 "$(jq -r .openapi "$SPEC")"

echo "== lint (at $SECONDS s)"
# lint with a real validator, and ajv to check bodies against the schemas:
# installed once under build/npm
REDOCLY="$NPM_DIR/node_modules/.bin/redocly"
export REDOCLY_TELEMETRY=off REDOCLY_SUPPRESS_UPDATE_NOTICE=true NO_UPDATE_NOTIFIER=1
npm_version() { jq -r .version "$NPM_DIR/node_modules/$1/package.json" 2>/dev/null; }
if [ "$("$REDOCLY" --version 2>/dev/null | tail -1)" != "$REDOCLY_VERSION" ] ||
    [ "$(npm_version ajv)" != "$AJV_VERSION" ] || [ "$(npm_version ajv-formats)" != "$AJV_FORMATS_VERSION" ]; then
    mkdir -p "$NPM_DIR"
    timeout 300 npm install --prefix "$NPM_DIR" --no-audit --no-fund --loglevel=error \
        "@redocly/cli@$REDOCLY_VERSION" "ajv@$AJV_VERSION" "ajv-formats@$AJV_FORMATS_VERSION" \
        >"$T_CASE/npm.log" 2>&1 || tail -5 "$T_CASE/npm.log"
fi
check ajv-installed "$AJV_VERSION $AJV_FORMATS_VERSION" "$(npm_version ajv) $(npm_version ajv-formats)"
check redocly-installed "$REDOCLY_VERSION" "$("$REDOCLY" --version 2>/dev/null | tail -1)"
# the recommended rules; operation-4xx-response is skipped: /healthz, /metrics
# and /openapi.json truly have no 4xx answer (405 is for methods not listed)
if "$REDOCLY" lint --format=stylish --skip-rule operation-4xx-response "$SPEC" \
    >"$T_CASE/lint.out" 2>&1; then
    check redocly-lint 0 0
else
    check redocly-lint 0 "$?"
    grep -E 'error|warning' "$T_CASE/lint.out" | grep -v '║' | head -20
fi
grep -E '^ +[0-9]+:[0-9]+ +warning' "$T_CASE/lint.out" | sed 's/^/note: lint /'

echo "== routes (at $SECONDS s)"
# the routes of src/route.c's table (placeholders as {}), one "METHOD path" a line
sed -nE 's/^ *\{\.pattern = "(\/[^"]*)", \.methods = (M_[A-Z_| ]+),.*/\1 \2/p' "$top/src/route.c" |
    while read -r path methods; do
        for m in $(echo "$methods" | grep -oE 'M_[A-Z]+'); do echo "${m#M_} $path"; done
    done | sed -E 's/\{[^}]+\}/{}/g' | sort >"$T_CASE/routes.c.txt"
jq -r '.paths | to_entries[] | .key as $p | .value | keys[] | select(. != "parameters")
       | "\(ascii_upcase) \($p)"' "$SPEC" | sed -E 's/\{[^}]+\}/{}/g' | sort >"$T_CASE/routes.doc.txt"
check_match route-table-parsed '^(1[3-9]|[2-9][0-9])$' "$(wc -l <"$T_CASE/routes.c.txt")"
while read -r line; do
    check "documented: $line" 1 "$(grep -cxF "$line" "$T_CASE/routes.doc.txt")"
done <"$T_CASE/routes.c.txt"
check "documented routes that the route table lacks" "" \
    "$(comm -13 "$T_CASE/routes.c.txt" "$T_CASE/routes.doc.txt" | tr '\n' ' ')"

# every documented path+method answers on the daemon (real ids; a bad command body)
while read -r m p; do
    path=$(echo "$p" | sed -e "s#/products/{[^}]*}#/products/$PID#" -e "s#/orders/{[^}]*}#/orders/$OID#" \
        -e "s#/customers/{[^}]*}#/customers/$CID#" -e "s#/commands/{[^}]*}#/commands/$ACMD#")
    case "$m $p" in
    "POST /commands")
        st=$(cmd '{}')
        check_match "answers: POST $p (a bad body: 4xx)" '^4[0-9][0-9]$' "$st"
        check_match "answers: POST $p (a bad body: not 404)" '^[0-9]+$' "${st#404}"
        ;;
    "GET /queries/events/stream")
        st=$(curl -s -m 1 -o /dev/null -w '%{http_code}' "$BASE$path")
        check "answers: GET $p" 200 "$st"
        ;;
    GET*)
        check "answers: GET $p ($path)" 200 "$(get "$path")"
        ;;
    *) check "answers: $m $p" "a known method" "$m" ;;
    esac
done < <(jq -r '.paths | to_entries[] | .key as $p | .value | keys[] | select(. != "parameters")
                | "\(ascii_upcase) \($p)"' "$SPEC")
# GET /commands/{command_id} takes the id percent-encoded (API.md), as the
# 202's Location gives it: also an Idempotency-Key with a '/'
check "async command keyed t60/..." 202 "$(cmd "{\"type\":\"UpdateProductPrice\",\"data\":{\"product_id\":$PID,\"price_cents\":250}}" \
    -H 'Prefer: respond-async' -H "Idempotency-Key: t60/$u")"
loc=$(hdr Location)
check "its Location percent-encodes '/'" "/commands/t60%2F$u" "$loc"
check "GET its Location" 200 "$(get "$loc")"
check "GET its Location: the command" "t60/$u" "$(jqb .command_id 2>/dev/null)"
check "a path that is not documented is 404" 404 "$(get /queries/nothing-here)"
check "a path that is not documented: no route" "no route for this path" "$(jqb .detail)"
keep Problem
get /healthz >/dev/null && keep Health
get /readyz >/dev/null && keep Ready

# the documented bodies have the members the daemon sends
schema_keys() { jq -c --arg s "$1" '.components.schemas[$s].properties | keys' "$SPEC"; }
schema_req() { jq -c --arg s "$1" '.components.schemas[$s].required | sort' "$SPEC"; }
# (consistency_token is sent only by a daemon with replicas; this one has none)
check "schema Acknowledgement = a 201 body, and consistency_token" "$ACK_KEYS" \
    "$(jq -c '.components.schemas.Acknowledgement.properties | keys - ["consistency_token"]' "$SPEC")"
check "schema Acknowledgement: consistency_token documented, optional" "true false" \
    "$(jq -r '.components.schemas.Acknowledgement | "\(.properties | has("consistency_token")) \(.required | index("consistency_token") != null)"' "$SPEC")"
check "schema Accepted = a 202 body" "$ACCEPTED_KEYS" "$(schema_keys Accepted)"
get "/queries/products/$PID" >/dev/null
keep Product
check "schema Product = a product" "$(jq -c keys "$B")" "$(schema_keys Product)"
check "schema Product: all required" "$(jq -c keys "$B")" "$(schema_req Product)"
get "/queries/orders/$OID" >/dev/null
keep Order
check "schema Order = an order" "$(jq -c keys "$B")" "$(schema_keys Order)"
check "schema OrderLine = an order line" "$(jq -c '.items[0] | keys' "$B")" "$(schema_keys OrderLine)"
check "schema OrderCustomer = an order's customer" "$(jq -c '.customer | keys' "$B")" "$(schema_keys OrderCustomer)"
get "/queries/customers/$CID" >/dev/null
keep Customer
check "schema Customer = a customer" "$(jq -c keys "$B")" "$(schema_keys Customer)"
get "/queries/customers/$CID/orders" >/dev/null
keep OrderList
check "schema OrderList = a customer's orders" "$(jq -c keys "$B")" "$(schema_keys OrderList)"
get "/queries/products?limit=1" >/dev/null
keep ProductList
check "schema ProductList = a product page" "$(jq -c keys "$B")" "$(schema_keys ProductList)"
get "/queries/events?limit=1" >/dev/null
keep EventPage
check "schema EventPage = an event page" "$(jq -c keys "$B")" "$(schema_keys EventPage)"
check "schema Event = an event" "$(jq -c '.items[0] | keys' "$B")" "$(schema_keys Event)"
get "/commands/$ACMD" >/dev/null
keep CommandStatus
check "schema CommandStatus = a command's status (result, error aside)" \
    "$(jq -c 'keys - ["result", "error"]' "$B")" \
    "$(jq -c '.components.schemas.CommandStatus.properties | keys - ["result", "error"]' "$SPEC")"
get "/commands?limit=1" >/dev/null
keep CommandStatusList
check "schema CommandStatusList = a command page" "$(jq -c keys "$B")" "$(schema_keys CommandStatusList)"
# Problem: every slug of the daemon's table (src/problem.c), and API.md's when at hand
slugs_c=$(grep -oE '\{[0-9]{3}, "[a-z-]+"' "$top/src/problem.c" | grep -oE '[a-z-]{3,}' | sort | tr '\n' ' ')
check "schema Problem: type enum = src/problem.c's slugs" "$slugs_c" \
    "$(jq -r '.components.schemas.Problem.properties.type.enum[]' "$SPEC" | sort | tr '\n' ' ')"
api_md="$top/../shared/API.md"
if [ -f "$api_md" ]; then
    check "schema Problem: type enum = API.md's error table" \
        "$(grep -oE '^\| [0-9]{3} \| `[a-z-]+`' "$api_md" | grep -oE '`[a-z-]+`' | tr -d '`' | sort | tr '\n' ' ')" \
        "$slugs_c"
fi
for k in type title status detail errors current_version products product_id customer_id; do
    check "schema Problem has $k" true "$(jq --arg k "$k" '.components.schemas.Problem.properties | has($k)' "$SPEC")"
done
check "schema Problem = a 422 problem" 422 "$(cmd '{"type":"RestockProduct","data":{}}')"
check "schema Problem: the 422's members are documented" true \
    "$(jq --slurpfile d "$SPEC" 'keys - ($d[0].components.schemas.Problem.properties | keys) == []' "$B")"
keep Problem
check "problem: version-conflict" 409 \
    "$(cmd "{\"type\":\"RestockProduct\",\"data\":{\"product_id\":$PID,\"quantity\":1,\"expected_version\":999999}}")"
check "problem: version-conflict has current_version" number "$(jqb '.current_version | type')"
keep Problem
check "problem: insufficient-stock" 409 \
    "$(cmd "{\"type\":\"PlaceOrder\",\"data\":{\"customer_id\":$CID,\"items\":[{\"product_id\":$PID,\"quantity\":1000}]}}")"
check "problem: insufficient-stock has products" "$PID" "$(jqb '.products[0].product_id')"
keep Problem
check "problem: unknown product in an order" 404 \
    "$(cmd "{\"type\":\"PlaceOrder\",\"data\":{\"customer_id\":$CID,\"items\":[{\"product_id\":999999999999,\"quantity\":1}]}}")"
check "problem: unknown product has product_id" 999999999999 "$(jqb .product_id)"
keep Problem
check "problem: a bad path id" 400 "$(get /queries/orders/007)"
keep Problem

echo "== commands (at $SECONDS s)"
# the members of each command's data in the daemon's field tables (src/cmd_*.c):
# "TYPE member member* ..." (* = required), and the same from the document
spec_members() { # spec_members SPEC_NAME: "member member* ..." of one jv_field table
    sed -n "/ $1\[\] = {/,/^};/p" "$top"/src/cmd_*.c |
        sed -nE 's/^ *\{"([a-z_]+)", ([^,]*),.*/\1 \2/p' |
        while read -r name flags; do
            case "$flags" in *JV_REQ*) echo "$name*" ;; *) echo "$name" ;; esac
        done | sort | tr '\n' ' '
}
grep -hoE '\{"[A-Za-z]+", [a-z_]+_spec,' "$top"/src/cmd_*.c | tr -d '{",' | sort |
    while read -r t spec; do echo "$t $(spec_members "$spec")"; done >"$T_CASE/members.c.txt"
echo "OrderItem $(spec_members item_spec)" >>"$T_CASE/members.c.txt"
jq -r '.components.schemas as $s
    | def members($d): $d.required as $r | $d.properties | keys
        | map(if (. as $k | $r | index($k)) then . + "*" else . end) | sort | join(" ");
      ($s.Command.oneOf[]["$ref"] | sub(".*/"; "") as $c
        | "\($s[$c].properties.type.const) \(members($s[$s[$c].properties.data["$ref"] | sub(".*/"; "")]))"),
      "OrderItem \(members($s.OrderItemInput))"' "$SPEC" | sort >"$T_CASE/members.doc.txt"
check_match "daemon field tables parsed" '^1[01]$' "$(grep -c '\*' "$T_CASE/members.c.txt")"
while read -r t rest; do
    check "$t: documented members (* required) = the daemon's" "$rest" \
        "$(grep -E "^$t " "$T_CASE/members.doc.txt" | sed -E "s/^$t //")"
done <"$T_CASE/members.c.txt"
# each command of the document: its data schema is the daemon's. One jq run
# writes the probes, a line each: NAME, MODE, BODY, the error fields wanted.
#   required: data {} names every required member ("is required")
#   over/under: every member one past its bound names every member
#   type: every member of a wrong JSON type names every member
#   at-max/at-min: every member at its bound names none (only the unknown
#   member zzz_unknown, added to every probe so that nothing ever runs)
types=$(jq -r '.components.schemas.Command.oneOf[]["$ref"] | sub(".*/"; "") | sub("Command$"; "")' "$SPEC")
check "oneOf: every command of the daemon" \
    "CancelOrder CreateProduct DeleteProduct PayOrder PlaceOrder RegisterCustomer RestockProduct ShipOrder UpdateProduct UpdateProductPrice " \
    "$(echo "$types" | sort | tr '\n' ' ')"
check "every command envelope and data schema is additionalProperties false" "" \
    "$(jq -r '.components.schemas as $s | $s.Command.oneOf[]["$ref"] | sub(".*/"; "") as $c
        | ($s[$c].properties.data["$ref"] | sub(".*/"; "")) as $d
        | (if $s[$c].additionalProperties != false then $c else empty end),
          (if $s[$d].additionalProperties != false then $d else empty end)' "$SPEC")"
jq -r '
    . as $doc
    | def deref: if has("$ref") then $doc.components.schemas[.["$ref"] | sub(".*/"; "")] else . end;
      def big: (.maximum // 0) > 9007199254740991;            # beyond a double: int64 ids
      def xs($n): if $n <= 0 then "" else "x" * $n end;
      def item($i): with_entries(.value |= (deref | if big then $i + 1 else .minimum end));
      def arr($n): . as $a | [range(0; $n) | . as $i | $a.items | deref | .properties | item($i)];
      # the value of schema s (dereferenced) for a probe kind; empty: leave the member out
      def val($kind; $name):
        if .type == "integer" then
          if $kind == "over" then (if big then .minimum - 1 else .maximum + 1 end)
          elif $kind == "under" then .minimum - 1
          elif $kind == "at-max" then (if big then "INT64_MAX" else .maximum end)
          elif $kind == "at-min" then .minimum
          else 1.5 end
        elif .type == "string" then
          if $kind == "over" then xs(.maxLength + 1)
          elif $kind == "under" then (if .minLength > 0 then xs(.minLength - 1) else empty end)
          elif $kind == "at-max" then (if $name == "email" then xs(.maxLength - 12) + "@example.com" else xs(.maxLength) end)
          elif $kind == "at-min" then (if $name == "email" then "a@b.c" else xs(.minLength) end)
          else true end
        elif .type == "array" then
          if $kind == "over" then arr(.maxItems + 1)
          elif $kind == "under" then arr(.minItems - 1)
          elif $kind == "at-max" then arr(.maxItems)
          elif $kind == "at-min" then arr(.minItems)
          else {} end
        else "unknown schema" end;
      .components.schemas as $s
    | $s.Command.oneOf[]["$ref"] | sub(".*/"; "") as $c
    | ($s[$c].properties.type.const) as $t
    | ($s[$s[$c].properties.data["$ref"] | sub(".*/"; "")]) as $d
    | ([$t, "required", ({type: $t, data: {}} | tojson), ($d.required | map("data." + .) | sort | tojson)] | @tsv),
      (["over", "under", "type", "at-max", "at-min"][] as $k
        | ($d.properties | to_entries | map(.key as $n | {key: .key, value: (.value | deref | val($k; $n))})
           | from_entries) as $data
        | [$t, $k, ({type: $t, data: ($data + {zzz_unknown: 1})} | tojson),
           ((if ($k | startswith("at-")) then [] else $data | keys end) + ["zzz_unknown"]
            | map("data." + .) | sort | tojson)] | @tsv)
' "$SPEC" | sed 's/"INT64_MAX"/9223372036854775807/g' >"$T_CASE/probes.tsv"
check "probes: 6 for each command" 60 "$(wc -l <"$T_CASE/probes.tsv")"
while IFS=$'\t' read -r t kind body want; do
    st=$(cmd "$body")
    if [ "$kind" = required ]; then
        got=$(jq -c '[.errors[]? | select(.message == "is required") | .field] | sort' "$B" 2>/dev/null)
    else
        got=$(jq -c '[.errors[]?.field] | unique' "$B" 2>/dev/null)
    fi
    check "$t $kind: 422 naming the members" "422 $want" "$st $got"
    # the document's schema accepts the bounds and rejects the rest likewise
    echo "$body" | jq -c 'del(.data.zzz_unknown)' >"$T_CASE/probe.json"
    case $kind in at-*) keep Command valid "$T_CASE/probe.json" ;; *) keep Command invalid "$T_CASE/probe.json" ;; esac
done <"$T_CASE/probes.tsv"

# sku: the documented pattern is the daemon's
check "sku pattern documented" '^[A-Za-z0-9._-]{1,64}$' "$(jq -r .components.schemas.Sku.pattern "$SPEC")"
check "sku outside the pattern: 422" 422 \
    "$(cmd "{\"type\":\"CreateProduct\",\"data\":{\"sku\":\"A B$u\",\"name\":\"x\",\"category\":\"x\",\"price_cents\":1}}")"
check "sku outside the pattern names data.sku" '["data.sku"]' "$(jq -c '[.errors[].field]' "$B")"
echo "{\"type\":\"CreateProduct\",\"data\":{\"sku\":\"A B$u\",\"name\":\"x\",\"category\":\"x\",\"price_cents\":1}}" >"$T_CASE/probe.json"
keep Command invalid "$T_CASE/probe.json"
# the headers and the security scheme
for h in X-Request-Id Location ETag Idempotent-Replayed Preference-Applied Retry-After; do
    check "header $h documented" true "$(jq --arg h "$h" '.components.headers | has($h)' "$SPEC")"
done
check "parameters documented" "Idempotency-Key If-None-Match Prefer X-Consistency-Token X-Request-Id " \
    "$(jq -r '[.components.parameters[] | select(.in == "header") | .name] - ["Last-Event-ID"] | sort[]' "$SPEC" | tr '\n' ' ')"
check "bearer scheme" "http bearer" "$(jq -r '.components.securitySchemes.bearer | "\(.type) \(.scheme)"' "$SPEC")"
check "POST /commands uses the bearer scheme" true \
    "$(jq '.paths["/commands"].post.security | map(has("bearer")) | any' "$SPEC")"
check "POST /commands statuses" "200 201 202 400 401 403 404 409 413 415 422 500 503" \
    "$(jq -r '.paths["/commands"].post.responses | keys | join(" ")' "$SPEC")"
check "event stream is text/event-stream" true \
    "$(jq '.paths["/queries/events/stream"].get.responses["200"].content | has("text/event-stream")' "$SPEC")"

# every body kept above against the document's schemas (JSON Schema 2020-12, ajv)
cat >"$T_CASE/validate.js" <<'EOF_JS'
// node validate.js SPEC LIST: each line of LIST is "SCHEMA FILE WANT"; prints
// "FILE valid" or "FILE invalid: the errors"
const fs = require("fs");
const Ajv2020 = require("ajv/dist/2020").default;
const addFormats = require("ajv-formats").default;
const [spec, list] = process.argv.slice(2);
const ajv = new Ajv2020({ strict: false, allErrors: true, validateSchema: false });
addFormats(ajv);
ajv.addFormat("int64", true); // OpenAPI's; the bounds are minimum/maximum
ajv.addSchema(JSON.parse(fs.readFileSync(spec, "utf8")), "openapi.json");
for (const line of fs.readFileSync(list, "utf8").split("\n").filter(Boolean)) {
    const [schema, file] = line.split(" ");
    const validate = ajv.getSchema("openapi.json#/components/schemas/" + schema);
    const ok = validate(JSON.parse(fs.readFileSync(file, "utf8")));
    console.log(file + (ok ? " valid" : " invalid: " + ajv.errorsText(validate.errors).slice(0, 300)));
}
EOF_JS
NODE_PATH="$NPM_DIR/node_modules" node "$T_CASE/validate.js" "$SPEC" "$T_CASE/validate.txt" \
    >"$T_CASE/validate.out" 2>&1
check "ajv: a verdict for every body" "$(wc -l <"$T_CASE/validate.txt")" "$(grep -cE ' (valid|invalid)' "$T_CASE/validate.out")"
while read -r schema file want; do
    got=$(grep -F "$file " "$T_CASE/validate.out" | head -1)
    got=${got#"$file "}
    check "ajv: $schema $(basename "$file") is $want" "$want" "${got%%:*}"
    [ "${got%%:*}" = "$want" ] || echo "   ($(head -c 200 "$file"): $got)"
done <"$T_CASE/validate.txt"

# ================= Metrics =================
echo "== Metrics (at $SECONDS s)"
check metrics-status 200 "$(get /metrics)"
check_match metrics-content-type '^text/plain; version=0\.0\.4' "$(hdr Content-Type)"
cp "$B" "$T_CASE/metrics.0"
REQ='cqrsd_http_requests_total{route="/queries/products/{id}",method="GET",status="200"}'
CNT='cqrsd_http_request_duration_seconds_count{route="/queries/products/{id}"}'
before=$(metric "$REQ" "$T_CASE/metrics.0")
before_cnt=$(metric "$CNT" "$T_CASE/metrics.0")
n=7
for _ in $(seq 1 $n); do get "/queries/products/$PID" >/dev/null; done
# the counters are bumped as each reply completes: poll (bounded) for them
for _ in $(seq 1 40); do
    get /metrics >/dev/null
    [ "$(metric "$REQ" "$B")" -ge $((before + n)) ] && break
    sleep 0.05
done
cp "$B" "$T_CASE/metrics.1"
check "requests_total +$n for $n GETs" $((before + n)) "$(metric "$REQ" "$T_CASE/metrics.1")"
check "histogram _count +$n for $n GETs" $((before_cnt + n)) "$(metric "$CNT" "$T_CASE/metrics.1")"
# labels are route patterns, never raw paths
check "unknown product 404" 404 "$(get /queries/products/123456)"
check "unknown order 404" 404 "$(get /queries/orders/123456)"
for _ in $(seq 1 40); do
    get /metrics >/dev/null
    grep -q 'route="/queries/orders/{id}",method="GET",status="404"' "$B" && break
    sleep 0.05
done
cp "$B" "$T_CASE/metrics.2"
check "no label holds a raw path" 0 "$(grep -c 123456 "$T_CASE/metrics.2")"
check_match "404 counted under the pattern" '^[1-9]' \
    "$(metric 'cqrsd_http_requests_total{route="/queries/products/{id}",method="GET",status="404"}' "$T_CASE/metrics.2")"
check "route labels are the route table's patterns or unmatched" "" \
    "$(grep -oE 'route="[^"]*"' "$T_CASE/metrics.2" | sort -u | sed -E 's/route="(.*)"/\1/' |
        grep -vxF -f <(sed -nE 's/^ *\{\.pattern = "(\/[^"]*)", .*/\1/p' "$top/src/route.c"; echo unmatched))"
# the histogram: buckets up to +Inf, _sum and _count for every route it names
hroutes=$(grep -oE '^cqrsd_http_request_duration_seconds_bucket\{route="[^"]*"' "$T_CASE/metrics.2" |
    sed -E 's/.*route="//; s/"$//' | sort -u)
check_match "histogram has routes" '/queries/products/\{id\}' "$hroutes"
for r in $hroutes; do
    check "histogram $r +Inf" 1 "$(grep -cF "cqrsd_http_request_duration_seconds_bucket{route=\"$r\",le=\"+Inf\"}" "$T_CASE/metrics.2")"
    check "histogram $r _sum" 1 "$(grep -cF "cqrsd_http_request_duration_seconds_sum{route=\"$r\"}" "$T_CASE/metrics.2")"
    check "histogram $r _count" 1 "$(grep -cF "cqrsd_http_request_duration_seconds_count{route=\"$r\"}" "$T_CASE/metrics.2")"
    check "histogram $r +Inf = _count" \
        "$(metric "cqrsd_http_request_duration_seconds_count{route=\"$r\"}" "$T_CASE/metrics.2")" \
        "$(metric "cqrsd_http_request_duration_seconds_bucket{route=\"$r\",le=\"+Inf\"}" "$T_CASE/metrics.2")"
done
# commands by type and outcome
OK='cqrsd_commands_total{type="RestockProduct",outcome="succeeded"}'
NO='cqrsd_commands_total{type="RestockProduct",outcome="rejected"}'
ok0=$(metric "$OK" "$T_CASE/metrics.2")
no0=$(metric "$NO" "$T_CASE/metrics.2")
check "restock succeeds" 200 "$(cmd "{\"type\":\"RestockProduct\",\"data\":{\"product_id\":$PID,\"quantity\":3}}")"
check "restock of an unknown product" 404 "$(cmd '{"type":"RestockProduct","data":{"product_id":9000000000000000001,"quantity":3}}')"
for _ in $(seq 1 40); do
    get /metrics >/dev/null
    [ "$(metric "$NO" "$B")" -ge $((no0 + 1)) ] && break
    sleep 0.05
done
cp "$B" "$T_CASE/metrics.3"
check "commands_total succeeded +1" $((ok0 + 1)) "$(metric "$OK" "$T_CASE/metrics.3")"
check "commands_total rejected +1" $((no0 + 1)) "$(metric "$NO" "$T_CASE/metrics.3")"
version=$("$CQRSD_BIN" --version | sed -nE 's/^cqrsd ([^ ]+).*/\1/p')
check "cqrsd_build_info" 1 "$(metric "cqrsd_build_info{version=\"$version\"}" "$T_CASE/metrics.3")"
check_match "cqrsd_db_connections write" '^[0-9]+$' "$(grep -oE '^cqrsd_db_connections\{account="write"\} [0-9]+' "$T_CASE/metrics.3" | awk '{print $2}')"
check_match "cqrsd_db_connections read" '^[0-9]+$' "$(grep -oE '^cqrsd_db_connections\{account="read"\} [0-9]+' "$T_CASE/metrics.3" | awk '{print $2}')"
for g in cqrsd_build_info cqrsd_db_connections cqrsd_queue_depth cqrsd_queue_oldest_age_seconds cqrsd_queue_dead_letters; do
    check "$g is a gauge" gauge "$(sed -nE "s/^# TYPE $g (.*)/\\1/p" "$T_CASE/metrics.3")"
done
for c in cqrsd_http_requests_total cqrsd_commands_total; do
    check "$c is a counter" counter "$(sed -nE "s/^# TYPE $c (.*)/\\1/p" "$T_CASE/metrics.3")"
done
check "cqrsd_http_request_duration_seconds is a histogram" histogram \
    "$(sed -nE 's/^# TYPE cqrsd_http_request_duration_seconds (.*)/\1/p' "$T_CASE/metrics.3")"
check_match "queue depth queued" '^[0-9]+$' "$(grep -oE '^cqrsd_queue_depth\{status="queued"\} [0-9]+' "$T_CASE/metrics.3" | awk '{print $2}')"
# promtool: a parse error fails; lint remarks (exit 3) are only reported
command -v promtool >/dev/null || apt_install prometheus
if command -v promtool >/dev/null; then
    promtool check metrics <"$T_CASE/metrics.3" >"$T_CASE/promtool.out" 2>&1
    rc=$?
    check_match "promtool check metrics (0, or 3 for lint remarks)" '^(0|3)$' "$rc"
    [ "$rc" -ne 0 ] && sed 's/^/note: promtool /' "$T_CASE/promtool.out" | head -20
    # the check can fail: a broken exposition is rejected
    printf '# TYPE x counter\nx{a="1" 1\n' | promtool check metrics >/dev/null 2>&1
    check "promtool rejects a broken exposition" 1 "$?"
else
    check "promtool installed (apt-get install prometheus)" yes no
    tail -5 "$T_CASE/apt.log"
fi

# ================= Logs =================
echo "== Logs (at $SECONDS s)"
JPORT=$(free_port)
start_daemon t60json "$JPORT" --log-format json --queue-workers 0
JLOG="$T/daemon-t60json.log"
URL_BASE="http://127.0.0.1:$JPORT"
rid_get="t60-get-$u"
rid_cmd="t60-cmd-$u"
check "json: GET" 200 "$(get "/queries/products/$PID" -H "X-Request-Id: $rid_get")"
check "json: X-Request-Id echoed" "$rid_get" "$(hdr X-Request-Id)"
check "json: command" 200 "$(cmd "{\"type\":\"RestockProduct\",\"data\":{\"product_id\":$PID,\"quantity\":1}}" \
    -H "X-Request-Id: $rid_cmd" -H "Idempotency-Key: t60-key-$u")"
check "json: command_id = the key" "t60-key-$u" "$(jqb .command_id)"
wait_log "$JLOG" "$rid_get"
wait_log "$JLOG" "$rid_cmd"
check "json: one line for the GET" 1 "$(log_lines "$JLOG" "$rid_get")"
check "json: one line for the command" 1 "$(log_lines "$JLOG" "$rid_cmd")"
line=$(grep -F -- "$rid_get" "$JLOG" | head -1)
check "json: GET line parses" object "$(echo "$line" | jq -r type 2>/dev/null)"
check_match "json: time" '^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:.]+Z$' "$(echo "$line" | jq -r .time 2>/dev/null)"
check "json: level" info "$(echo "$line" | jq -r .level 2>/dev/null)"
check "json: request_id" "$rid_get" "$(echo "$line" | jq -r .request_id 2>/dev/null)"
check "json: method" GET "$(echo "$line" | jq -r .method 2>/dev/null)"
check "json: route is the pattern" "/queries/products/{id}" "$(echo "$line" | jq -r .route 2>/dev/null)"
check "json: status" 200 "$(echo "$line" | jq -r '.status | numbers' 2>/dev/null)"
check "json: duration_ms is a number" number "$(echo "$line" | jq -r '.duration_ms | type' 2>/dev/null)"
check "json: no command members on a GET" false "$(echo "$line" | jq 'has("command_type")' 2>/dev/null)"
line=$(grep -F -- "$rid_cmd" "$JLOG" | head -1)
check "json: command line parses" object "$(echo "$line" | jq -r type 2>/dev/null)"
check "json: command route" "POST /commands 200" "$(echo "$line" | jq -r '"\(.method) \(.route) \(.status)"' 2>/dev/null)"
check "json: command_type" RestockProduct "$(echo "$line" | jq -r .command_type 2>/dev/null)"
check "json: command_id" "t60-key-$u" "$(echo "$line" | jq -r .command_id 2>/dev/null)"
check "json: command request_id" "$rid_cmd" "$(echo "$line" | jq -r .request_id 2>/dev/null)"
check_match "json: command duration_ms" '^[0-9]+(\.[0-9]+)?$' "$(echo "$line" | jq -r '.duration_ms | numbers' 2>/dev/null)"
first=$(grep -m1 -F "listening on" "$JLOG")
check "json: startup line parses" object "$(echo "$first" | jq -r type 2>/dev/null)"
msg=$(echo "$first" | jq -r .msg 2>/dev/null)
check_match "json: startup names the version" "$version" "$msg"
check_match "json: startup names the listen address" "127\.0\.0\.1:$JPORT" "$msg"
check_match "json: startup says the database is reachable" 'write reachable.*read reachable' "$msg"
check "json: every line parses" "$(wc -l <"$JLOG")" "$(jq -c . "$JLOG" 2>/dev/null | wc -l)"
stop_daemon t60json >"$T_CASE/stop.out"
check "json: daemon exit" 0 "$(cat "$T_CASE/stop.out")"

# text format, with a read DSN whose password must never be shown
TPORT=$(free_port)
start_daemon t60text "$TPORT" --read-dsn 'mysql://nobody:S3cretPw%21@127.0.0.1:1/x' --queue-workers 0
TLOG="$T/daemon-t60text.log"
URL_BASE="http://127.0.0.1:$TPORT"
check "text: healthz" 200 "$(get /healthz -H "X-Request-Id: $rid_get-t")"
check "text: readyz without the read account" 503 "$(get /readyz -H "X-Request-Id: $rid_get-r")"
check "text: a query without the read account" 503 "$(get "/queries/products/$PID" -H "X-Request-Id: $rid_get-q")"
check "text: command" 200 "$(cmd "{\"type\":\"RestockProduct\",\"data\":{\"product_id\":$PID,\"quantity\":1}}" \
    -H "X-Request-Id: $rid_cmd-t")"
cmd_id=$(jqb .command_id)
for r in "$rid_get-t" "$rid_get-r" "$rid_get-q" "$rid_cmd-t"; do wait_log "$TLOG" "$r"; done
for r in "$rid_get-t" "$rid_get-r" "$rid_get-q" "$rid_cmd-t"; do
    check "text: one line for $r" 1 "$(grep -cE -- "id=$r( |\$)" "$TLOG")"
done
check_match "text: GET line" "GET /healthz 200 .*id=$rid_get-t" "$(grep -F -- "id=$rid_get-t" "$TLOG")"
check_match "text: query line" "GET /queries/products/\{id\} 503 .*id=$rid_get-q" "$(grep -F -- "id=$rid_get-q" "$TLOG")"
check_match "text: command line" "POST /commands 200 .*command=RestockProduct command_id=$cmd_id" \
    "$(grep -E -- "id=$rid_cmd-t( |\$)" "$TLOG")"
check_match "text: startup says read unreachable" "listening on 127\.0\.0\.1:$TPORT.*write reachable, read unreachable" "$(grep -m1 -F "listening on" "$TLOG")"
stop_daemon t60text >"$T_CASE/stop.out"
check "text: daemon exit" 0 "$(cat "$T_CASE/stop.out")"
check "the DSN password appears nowhere in the log" 0 "$(grep -c 'S3cretPw' "$TLOG")"
URL_BASE=""

# ================= --help and --version =================
echo "== --help and --version (at $SECONDS s)"
"$CQRSD_BIN" --help >"$T_CASE/help.out" 2>&1
check "--help exit" 0 "$?"
for s in serve migrate verify-views rebuild-views; do
    check_match "--help lists $s" "cqrsd \\[?$s\\]?( |\$)" "$(grep -E "^ *(usage: )?cqrsd \\[?$s\\]?( |\$)" "$T_CASE/help.out")"
done
while read -r flag env def; do
    l=$(grep -E -- "^ *$flag " "$T_CASE/help.out")
    check_match "--help $flag: env" " $env " "$l"
    check "--help $flag: default" "$def" "$(echo "$l" | sed -nE 's/.*\(default: (.*)\)$/\1/p')"
done <<'EOF'
--listen CQRSD_LISTEN 127.0.0.1:8080
--write-dsn CQRSD_WRITE_DSN mysql://cqrs_writer:cqrs_writer@127.0.0.1:3306/cqrs
--read-dsn CQRSD_READ_DSN mysql://cqrs_reader:cqrs_reader@127.0.0.1:3306/cqrs
--admin-dsn CQRSD_ADMIN_DSN mysql://root@127.0.0.1:3306/
--threads CQRSD_THREADS 16
--max-body CQRSD_MAX_BODY 65536
--command-token-file CQRSD_COMMAND_TOKEN_FILE none
--cors-origins CQRSD_CORS_ORIGINS *
--log-format CQRSD_LOG_FORMAT text
--queue-workers CQRSD_QUEUE_WORKERS 2
--queue-max-attempts CQRSD_QUEUE_MAX_ATTEMPTS 5
EOF
"$CQRSD_BIN" --version >"$T_CASE/version.out" 2>&1
check "--version exit" 0 "$?"
v=$(cat "$T_CASE/version.out")
check_match "--version names cqrsd" '^cqrsd [0-9]+\.[0-9]+' "$v"
check_match "--version names libmicrohttpd" 'libmicrohttpd [0-9]+\.[0-9]+\.[0-9]+' "$v"
check_match "--version names jansson" 'jansson [0-9]+\.[0-9]+' "$v"
check_match "--version names the MySQL client" 'MySQL client [0-9]+\.[0-9]+\.[0-9]+' "$v"
if command -v pkg-config >/dev/null; then
    for lib in libmicrohttpd jansson; do
        want=$(pkg-config --modversion "$lib" 2>/dev/null)
        [ -n "$want" ] && check_match "--version: $lib is the linked $want" "$lib $want([ ,)]|\$)" "$v"
    done
fi

echo "== done (at $SECONDS s)"
finish

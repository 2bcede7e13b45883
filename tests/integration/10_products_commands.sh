#!/usr/bin/env bash
# 10_products_commands.sh - the five product commands: success (acknowledgement,
# the product on the query side, the event rows), every validation and business
# error, optimistic concurrency (also two racing price updates), and strings
# stored byte for byte. Per API.md: "The commands", "Optimistic concurrency",
# "Errors" and "Details that clients rely on".
. "$(dirname "$0")/lib.sh"

RUN=$(uniq_id)
UUID_RE='^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$'
TS_RE='^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{3}Z$'
ACK_KEYS='["aggregate_id","aggregate_type","command_id","position","status","type","version"]'
# with replicas configured (the replica pass) every success names its commit too
[ "${CQRSD_TEST_TOKENS:-}" = 1 ] &&
    ACK_KEYS='["aggregate_id","aggregate_type","command_id","consistency_token","position","status","type","version"]'
DOC_KEYS='["category","created_at","description","last_updated","name","order_count","price_cents","product_id","revenue_cents","sku","stock","units_sold","version"]'
st=

#=== helpers ===

# expect_problem NAME STATUS TYPE: the last response is that problem+json
expect_problem() {
    check "$1: status" "$2" "$st"
    check_match "$1: content-type" '^application/problem\+json' "$(hdr Content-Type)"
    check "$1: type, status" "$3 $2" "$(jq -r '"\(.type) \(.status)"' "$B" 2>/dev/null)"
}

# v422 NAME JSON FIELDS: the command is 422 validation-failed naming exactly FIELDS
v422() {
    st=$(cmd "$2")
    expect_problem "$1" 422 validation-failed
    check "$1: fields, messages" "$3 true" "$(jq -r '([.errors[]?.field] | sort | join(",")) + " " +
        ([.errors[]? | .message | type == "string" and length > 0] | length > 0 and all | tostring)' "$B" 2>/dev/null)"
}

# create_json [JQ-FILTER]: a valid CreateProduct envelope (unique sku and
# category), its data passed through FILTER; the string "@RAW@" in it can then
# be replaced by a literal that jq would rewrite (1.0, 1e2)
create_json() {
    jq -nc --arg sku "S-$(uniq_id)" --arg cat "Cat $(uniq_id)" \
        "{type: \"CreateProduct\", data: ({sku: \$sku, name: \"Widget\", category: \$cat, price_cents: 100} | ${1:-.})}"
}

# with_raw JSON LITERAL: JSON with the string "@RAW@" replaced by LITERAL
with_raw() { local j=$1; echo "${j//\"@RAW@\"/$2}"; }

# envelope TYPE DATA-JSON: the command as sent (number literals kept as written)
envelope() { echo "{\"type\":\"$1\",\"data\":$2}"; }

# mk_product [JQ-FILTER]: create a product (201 expected); prints its id
mk_product() {
    local s
    s=$(cmd "$(create_json "${1:-.}")")
    if [ "$s" != 201 ]; then
        echo "FAIL mk_product: status $s $(body)" >&2
        echo 0
        return
    fi
    jqb .aggregate_id
}

# hex / unhex: bytes to lower-case hex digits and back (SQL HEX() output)
hex() { od -An -tx1 -v | tr -d ' \n'; }
unhex() { printf '%b' "$(sed 's/../\\x&/g')"; }

head_pos() { sql "SELECT position FROM event_head WHERE id = 1"; }
ev_count() { sql "SELECT COUNT(*) FROM events WHERE aggregate_type = 'product' AND aggregate_id = $1"; }

# ack_check NAME STATUS TYPE ID VERSION: the last response is the acknowledgement
ack_check() {
    check "$1: status" "$2" "$st"
    check_match "$1: content-type" '^application/json' "$(hdr Content-Type)"
    check "$1: members" "$ACK_KEYS $3 succeeded product $4 $5 number" \
        "$(jq -r '[(keys | tojson), .type, .status, .aggregate_type, (.aggregate_id | tostring),
                  (.version | tostring), (.position | type)] | join(" ")' "$B" 2>/dev/null)"
    check_match "$1: command_id" "$UUID_RE" "$(jqb .command_id)"
}

# ev_check NAME BEFORE TYPE ID VERSION DATA: the last response acknowledged a
# command that appended exactly one event after position BEFORE: this one
# (read over GET /queries/events and over SQL)
ev_check() {
    local name=$1 before=$2 type=$3 id=$4 version=$5 data=$6
    local cid pos want ev s
    cid=$(jqb .command_id)
    pos=$(jqb .position)
    check "$name: ack position after $before" true \
        "$([ "$pos" -gt "$before" ] 2>/dev/null && echo true || echo false)"
    s=$(get "/queries/events?after=$before&limit=1000")
    check "$name: events status" 200 "$s"
    check_match "$name: events content-type" '^application/json' "$(hdr Content-Type)"
    ev=$(jq -c --arg c "$cid" '[.items[] | select(.command_id == $c)]' "$B")
    check "$name: one event for the command" 1 "$(echo "$ev" | jq length)"
    check "$name: no other event of the product" 1 \
        "$(jq --argjson id "$id" '[.items[] | select(.aggregate_type == "product" and .aggregate_id == $id)] | length' "$B")"
    ev=$(echo "$ev" | jq -c '.[0]')
    check "$name: event position = ack position" "$pos" "$(echo "$ev" | jq -r .position)"
    want=$(jq -nc --arg t "$type" --argjson id "$id" --argjson v "$version" --arg c "$cid" \
        --argjson d "$data" '{type: $t, aggregate_type: "product", aggregate_id: $id,
          aggregate_version: $v, data: $d, command_id: $c}' | jq -S -c .)
    check "$name: event" "$want" \
        "$(echo "$ev" | jq -S -c '{type, aggregate_type, aggregate_id, aggregate_version, data, command_id}')"
    check_match "$name: event occurred_at" "$TS_RE" "$(echo "$ev" | jq -r .occurred_at)"
    # the same row over SQL
    check "$name: sql row" "$(printf '%s\tproduct\t%s\t%s\t%s' "$type" "$id" "$version" "$cid")" \
        "$(sql "SELECT type, aggregate_type, aggregate_id, aggregate_version, command_id FROM events WHERE position = $pos")"
    check "$name: sql data" "$(echo "$data" | jq -S -c .)" \
        "$(sql "SELECT HEX(data) FROM events WHERE position = $pos" | unhex | jq -S -c . 2>/dev/null)"
    check "$name: sql one row for the command" 1 \
        "$(sql "SELECT COUNT(*) FROM events WHERE command_id = '$cid' AND position > $before")"
}

# doc ID: GET the product (status into st)
doc() { st=$(get "/queries/products/$1"); }

# all_ids QUERY: every product id of a list walked to the end (limit 200)
all_ids() {
    local q=$1 after="" s
    for _ in $(seq 1 100); do
        s=$(get "/queries/products?$q&limit=200${after:+&after=$after}")
        if [ "$s" != 200 ]; then
            echo "ERROR $s"
            return
        fi
        jqb '.items[].product_id'
        after=$(jqb '.next_cursor // empty')
        [ -z "$after" ] && return
    done
    echo "ERROR too many pages"
}

#=== CreateProduct: success ===

sku="BK-$RUN"
cat_a="Books $RUN"
before=$(head_pos)
st=$(cmd "$(jq -nc --arg s "$sku" --arg c "$cat_a" \
    '{type: "CreateProduct", data: {sku: $s, name: "  Dune  ", category: $c, price_cents: 1999}}')")
id=$(jqb .aggregate_id)
ack_check create 201 CreateProduct "$id" 1
check_match create-id '^[1-9][0-9]*$' "$id"
check create-location "/queries/products/$id" "$(hdr Location)"
ev_check create-event "$before" ProductCreated "$id" 1 \
    "$(jq -nc --argjson id "$id" --arg s "$sku" --arg c "$cat_a" \
        '{product_id: $id, sku: $s, name: "Dune", description: "", category: $c, price_cents: 1999, stock: 0}')"
cid_create=$(sql "SELECT command_id FROM events WHERE aggregate_type = 'product' AND aggregate_id = $id")
doc "$id"
check create-get 200 "$st"
check_match create-get-content-type '^application/json' "$(hdr Content-Type)"
check create-get-members "$DOC_KEYS" "$(jq -c keys "$B")"
check create-get-doc \
    "$(jq -nc --argjson id "$id" --arg s "$sku" --arg c "$cat_a" '{product_id: $id, sku: $s,
        name: "Dune", description: "", category: $c, price_cents: 1999, stock: 0, units_sold: 0,
        revenue_cents: 0, order_count: 0, version: 1}' | jq -S -c .)" \
    "$(jq -S -c 'del(.created_at, .last_updated)' "$B")"
check_match create-created_at "$TS_RE" "$(jqb .created_at)"
check_match create-last_updated "$TS_RE" "$(jqb .last_updated)"
check create-no-description-stock-in-sql "$(printf '\t0\t1')" \
    "$(sql "SELECT description, stock, version FROM products WHERE id = $id")"
check create-command-id-in-sql 1 "$(echo "$cid_create" | grep -cE "$UUID_RE")"

# every field given, description and stock included; the Location is followed
sku2="bk-$RUN"
st=$(cmd "$(jq -nc --arg s "$sku2" --arg c "Scifi $RUN" '{type: "CreateProduct",
    data: {sku: $s, name: "Dune Messiah", description: "Book two", category: $c,
           price_cents: 0, stock: 12}}')")
id2=$(jqb .aggregate_id)
check sku-case-differs 201 "$st"
loc=$(hdr Location)
check create2-location "/queries/products/$id2" "$loc"
check create2-other-id true "$([ "$id2" != "$id" ] && echo true || echo false)"
st=$(get "$loc")
check create2-get 200 "$st"
check create2-doc \
    "$(jq -nc --argjson id "$id2" --arg s "$sku2" --arg c "Scifi $RUN" '[$id, $s, "Dune Messiah",
        "Book two", $c, 0, 12, 0, 0, 0, 1]' | jq -c .)" \
    "$(jq -c '[.product_id, .sku, .name, .description, .category, .price_cents, .stock,
              .units_sold, .revenue_cents, .order_count, .version]' "$B")"

# command_id is the Idempotency-Key when one is given
key="k10-$RUN"
before=$(head_pos)
st=$(cmd "$(create_json)" -H "Idempotency-Key: $key")
check idem-create 201 "$st"
check idem-command_id "$key" "$(jqb .command_id)"
check idem-event-command_id "$key" \
    "$(sql "SELECT command_id FROM events WHERE position = $(jqb '.position // 0')")"

# sku unique forever
st=$(cmd "$(jq -nc --arg s "$sku" '{type: "CreateProduct", data: {sku: $s, name: "Other",
    category: "Elsewhere '"$RUN"'", price_cents: 5}}')")
expect_problem sku-duplicate 409 duplicate
check sku-duplicate-title Duplicate "$(jqb .title)"
check sku-duplicate-no-errors null "$(jqb .errors)"
dup_id=$(mk_product)
dup_sku=$(sql "SELECT sku FROM products WHERE id = $dup_id")
st=$(cmd "$(envelope DeleteProduct "{\"product_id\": $dup_id}")")
check dup-delete 200 "$st"
n_before=$(sql "SELECT COUNT(*) FROM products")
hp=$(head_pos)
st=$(cmd "$(jq -nc --arg s "$dup_sku" '{type: "CreateProduct", data: {sku: $s, name: "Again",
    category: "Again '"$RUN"'", price_cents: 5}}')")
expect_problem sku-duplicate-after-delete 409 duplicate
check sku-duplicate-nothing-created "$n_before" "$(sql "SELECT COUNT(*) FROM products")"
check sku-duplicate-no-event "$hp" "$(head_pos)"

# category names compare case-insensitively
ccat="Books-ci-$RUN"
c1=$(mk_product ".category = \"$ccat\"")
st=$(cmd "$(create_json ".category = \"books-ci-$RUN\"")")
check category-ci-second-create 201 "$st"
c2=$(jqb '.aggregate_id // 0')
st=$(get "/queries/products?category=BOOKS-CI-$RUN")
check category-ci-list 200 "$st"
check category-ci-both "$c1 $c2" "$(jqb '[.items[].product_id] | sort | map(tostring) | join(" ")')"
check category-ci-one-category 1 \
    "$(sql "SELECT COUNT(*) FROM categories WHERE name = 'books-ci-$RUN'")"
doc "$c2"
check category-ci-second-name "$ccat" "$(jqb .category)"

# only case is ignored: accents and letters such as ß make other names
acat="Cafe-$RUN"
a1=$(mk_product ".category = \"$acat\"")
for other in "Café-$RUN" "Straße-$RUN" "Strasse-$RUN"; do
    st=$(cmd "$(create_json ".category = \"$other\"")")
    check "category-distinct-$other-create" 201 "$st"
    doc "$(jqb '.aggregate_id // 0')"
    check "category-distinct-$other-name" "$other" "$(jqb .category)"
done
st=$(get "/queries/products?category=$acat")
check category-accent-filter "$a1" "$(jqb '[.items[].product_id | tostring] | join(" ")')"

#=== CreateProduct: validation ===

v422 missing-all '{"type":"CreateProduct","data":{}}' \
    "data.category,data.name,data.price_cents,data.sku"
v422 unknown-data-member "$(create_json '.extra = 1')" "data.extra"
v422 unknown-envelope-member "$(create_json | jq -c '.extra = 1')" "extra"
v422 unknown-both "$(create_json '.extra = 1' | jq -c '.extra = true')" "data.extra,extra"
check unknown-title "Validation failed" "$(jqb .title)"
check_match unknown-detail '.' "$(jqb '.detail // empty')"
for lit in '"1"' 1.5 1.0 1e2 true null '[1]' '{}'; do
    v422 "price-type-$lit" "$(with_raw "$(create_json '.price_cents = "@RAW@"')" "$lit")" \
        "data.price_cents"
done
for lit in '"1"' 2.5 1.0 1e2 false null; do
    v422 "stock-type-$lit" "$(with_raw "$(create_json '.stock = "@RAW@"')" "$lit")" "data.stock"
done
for f in sku name category description; do
    v422 "$f-number" "$(create_json ".$f = 5")" "data.$f"
    v422 "$f-true" "$(create_json ".$f = true")" "data.$f"
    v422 "$f-null" "$(create_json ".$f = null")" "data.$f"
done
v422 all-at-once "$(with_raw "$(create_json '.sku = 5 | .name = true | .category = null | .price_cents = "@RAW@" | .stock = -1 | .description = [] | .color = "red"')" 1.0)" \
    "data.category,data.color,data.description,data.name,data.price_cents,data.sku,data.stock"
check all-at-once-count 7 "$(jqb '.errors | length')"

# bounds
for p in 0 100000000000; do
    st=$(cmd "$(create_json ".price_cents = $p")")
    check "price-$p" 201 "$st"
    doc "$(jqb '.aggregate_id // 0')"
    check "price-$p-stored" "$p" "$(jqb .price_cents)"
done
for p in -1 100000000001; do
    v422 "price-$p" "$(create_json ".price_cents = $p")" data.price_cents
done
for s in 0 1000000000; do
    st=$(cmd "$(create_json ".stock = $s")")
    check "stock-$s" 201 "$st"
    doc "$(jqb '.aggregate_id // 0')"
    check "stock-$s-stored" "$s" "$(jqb .stock)"
done
for s in -1 1000000001; do
    v422 "stock-$s" "$(create_json ".stock = $s")" data.stock
done
st=$(cmd "$(with_raw "$(create_json '.price_cents = "@RAW@"')" 9223372036854775808)")
expect_problem price-beyond-int64 400 malformed-json

s64="S${RUN}"
s64="$s64$(printf 'x%.0s' $(seq 1 $((64 - ${#s64}))))"
st=$(cmd "$(create_json ".sku = \"$s64\"")")
check sku-64 201 "$st"
doc "$(jqb '.aggregate_id // 0')"
check sku-64-stored "$s64" "$(jqb .sku)"
v422 sku-65 "$(create_json ".sku = \"${s64}y\"")" data.sku
v422 sku-empty "$(create_json '.sku = ""')" data.sku
for bad in 'a b' 'a/b' 'a+b' "bk'1" 'é1' 'a,b'; do
    v422 "sku-char-$bad" "$(create_json ".sku = \"$bad$RUN\"")" data.sku
done
st=$(cmd "$(create_json ".sku = \"  Tr.i_m-$RUN \"")")
check sku-trimmed 201 "$st"
doc "$(jqb '.aggregate_id // 0')"
check sku-trimmed-stored "Tr.i_m-$RUN" "$(jqb .sku)"

for ch in é 😀 漢; do
    n200=$(printf "$ch%.0s" $(seq 1 200))
    st=$(cmd "$(create_json ".name = \"$n200\"")")
    check "name-200-$ch" 201 "$st"
    doc "$(jqb '.aggregate_id // 0')"
    check "name-200-$ch-stored" "$n200" "$(jqb .name)"
    v422 "name-201-$ch" "$(create_json ".name = \"$n200$ch\"")" data.name
done
st=$(cmd "$(create_json ".name = \"  $(printf 'é%.0s' $(seq 1 200))\\t\\n \"")")
check name-200-padded 201 "$st"
doc "$(jqb '.aggregate_id // 0')"
check name-200-padded-stored "$(printf 'é%.0s' $(seq 1 200))" "$(jqb .name)"
v422 create-expected-version "$(create_json '.expected_version = 1')" data.expected_version
v422 name-empty "$(create_json '.name = ""')" data.name
v422 name-spaces "$(create_json '.name = "     "')" data.name
v422 name-white "$(create_json '.name = " \t\r\n "')" data.name
v422 category-101 "$(create_json ".category = \"$(printf 'c%.0s' $(seq 1 101))\"")" data.category
v422 category-spaces "$(create_json '.category = "  "')" data.category
d2000=$(printf 'ü%.0s' $(seq 1 2000))
st=$(cmd "$(create_json ".description = \"$d2000\"")")
check description-2000 201 "$st"
doc "$(jqb '.aggregate_id // 0')"
check description-2000-stored "$d2000" "$(jqb .description)"
v422 description-2001 "$(create_json ".description = \"${d2000}ü\"")" data.description
st=$(cmd "$(create_json '.description = ""')")
check description-empty 201 "$st"

# trimming
st=$(cmd "$(create_json '.name = "  Dune  " | .category = "\t Trim '"$RUN"' \n" | .description = "\r\n  text \t "')")
check trim-create 201 "$st"
doc "$(jqb '.aggregate_id // 0')"
check trim-name Dune "$(jqb .name)"
check trim-category "Trim $RUN" "$(jqb .category)"
check trim-description text "$(jqb .description)"

# control characters
for cc in '\u0007' '\u007f' '\u0085' '\u001b' '\u009f' '\n' '\t'; do
    v422 "name-control-$cc" "$(create_json ".name = \"Du${cc}ne\"")" data.name
done
v422 category-newline "$(create_json '.category = "a\nb"')" data.category
v422 description-bell "$(create_json '.description = "a\u0007b"')" data.description
v422 description-0085 "$(create_json '.description = "a\u0085b"')" data.description
st=$(cmd "$(create_json '.description = "line one\nline two\r\n\tindented"')")
check description-newline-tab 201 "$st"
doc "$(jqb '.aggregate_id // 0')"
check description-newline-tab-stored "$(printf 'line one\nline two\r\n\tindented')" "$(jqb .description)"
st=$(cmd "$(create_json | sed 's/"Widget"/"Wid\\u0000get"/')")
expect_problem name-nul 400 malformed-json

# the envelope
v422 type-number '{"type":5,"data":{}}' type
v422 type-null '{"type":null,"data":{}}' type
v422 type-object '{"type":{"a":1},"data":{"sku":"x"}}' type
v422 type-missing '{"data":{"sku":"x"}}' type
st=$(cmd '{"type":"LaunchRocket","data":{}}')
expect_problem unknown-command 422 unknown-command
check unknown-command-title "Unknown command" "$(jqb .title)"
st=$(cmd '{"type":"createproduct","data":{}}')
expect_problem unknown-command-case 422 unknown-command
v422 data-missing '{"type":"CreateProduct"}' data
v422 data-array '{"type":"CreateProduct","data":[]}' data
v422 data-string '{"type":"CreateProduct","data":"x"}' data
v422 data-null '{"type":"CreateProduct","data":null}' data
st=$(cmd '{"type":"CreateProduct","data":{}')
expect_problem not-json 400 malformed-json
st=$(cmd '[{"type":"CreateProduct","data":{}}]')
expect_problem array-body 400 malformed-json
st=$(cmd "$(create_json | sed 's/^{/{"type":"CreateProduct",/')")
expect_problem duplicate-key 400 malformed-json
st=$(curl -s -o "$B" -D "$H" -w '%{http_code}' -H 'Content-Type: text/plain' \
    --data-binary "$(create_json)" "$BASE/commands")
expect_problem text-plain 415 unsupported-media-type
st=$(cmd "$(create_json)" -H 'Content-Type: application/json; charset=utf-8')
check charset-suffix 201 "$st"

#=== UpdateProduct ===

uid=$(mk_product '.name = "Old name" | .description = "Old text" | .price_cents = 700 | .stock = 3')
doc "$uid"
created_at=$(jqb .created_at)
ucat=$(jqb .category)
before=$(head_pos)
st=$(cmd "$(envelope UpdateProduct "{\"product_id\": $uid, \"description\": \"  New text  \"}")")
ack_check update-description 200 UpdateProduct "$uid" 2
check update-no-location "" "$(hdr Location)"
ev_check update-description-event "$before" ProductUpdated "$uid" 2 '{"description": "New text"}'
doc "$uid"
check update-description-doc "[\"Old name\",\"New text\",\"$ucat\",700,3,2]" \
    "$(jq -c '[.name, .description, .category, .price_cents, .stock, .version]' "$B")"
check update-created_at-kept "$created_at" "$(jqb .created_at)"
check update-last_updated-not-before true "$(jq --arg c "$created_at" '.last_updated >= $c' "$B")"

before=$(head_pos)
ncat="Moved $RUN"
st=$(cmd "$(envelope UpdateProduct "{\"product_id\": $uid, \"name\": \"New name\", \"category\": \"$ncat\", \"expected_version\": 2}")")
ack_check update-name-category 200 UpdateProduct "$uid" 3
ev_check update-name-category-event "$before" ProductUpdated "$uid" 3 \
    "{\"name\": \"New name\", \"category\": \"$ncat\"}"
doc "$uid"
check update-name-category-doc "[\"New name\",\"New text\",\"$ncat\",700,3,3]" \
    "$(jq -c '[.name, .description, .category, .price_cents, .stock, .version]' "$B")"
st=$(get "/queries/products?category=$(jq -rn --arg c "$ncat" '$c | @uri')")
check update-new-category-list "$uid" "$(jqb '[.items[].product_id] | map(tostring) | join(" ")')"
st=$(get "/queries/products?category=$(jq -rn --arg c "$ucat" '$c | @uri')")
check update-old-category-list "" "$(jqb '[.items[].product_id] | map(tostring) | join(" ")')"

st=$(cmd "$(envelope UpdateProduct "{\"product_id\": $uid, \"name\": \"New name\"}")")
check update-same-name 200 "$st"
check update-same-name-version 4 "$(jqb .version)"
doc "$uid"
check update-same-name-doc '["New name",4]' "$(jq -c '[.name, .version]' "$B")"
v422 update-nothing "$(envelope UpdateProduct "{\"product_id\": $uid}")" data
v422 update-only-version "$(envelope UpdateProduct "{\"product_id\": $uid, \"expected_version\": 3}")" data
v422 update-no-id '{"type":"UpdateProduct","data":{"name":"x"}}' data.product_id
v422 update-bad-fields "$(envelope UpdateProduct "{\"product_id\": $uid, \"name\": \"\", \"category\": 7, \"description\": null, \"sku\": \"x\"}")" \
    "data.category,data.description,data.name,data.sku"
v422 update-name-bell "$(envelope UpdateProduct "{\"product_id\": $uid, \"name\": \"a\\u0007\"}")" data.name

# an unchanged description survives a name update byte for byte (2000 characters of 4 bytes)
lid=$(mk_product ".description = \"$(printf '😀%.0s' $(seq 1 2000))\"")
st=$(cmd "$(envelope UpdateProduct "{\"product_id\": $lid, \"name\": \"Renamed\"}")")
check update-keeps-long-description 200 "$st"
doc "$lid"
check update-keeps-long-description-doc "$(printf '😀%.0s' $(seq 1 2000))" "$(jqb .description)"
check update-keeps-long-description-name Renamed "$(jqb .name)"

#=== UpdateProductPrice ===

before=$(head_pos)
st=$(cmd "$(envelope UpdateProductPrice "{\"product_id\": $uid, \"price_cents\": 2500}")")
ack_check price 200 UpdateProductPrice "$uid" 5
ev_check price-event "$before" ProductPriceUpdated "$uid" 5 \
    '{"old_price_cents": 700, "new_price_cents": 2500}'
doc "$uid"
check price-doc '[2500,5,3]' "$(jq -c '[.price_cents, .version, .stock]' "$B")"
before=$(head_pos)
st=$(cmd "$(envelope UpdateProductPrice "{\"product_id\": $uid, \"price_cents\": 0, \"expected_version\": 5}")")
ack_check price-zero 200 UpdateProductPrice "$uid" 6
ev_check price-zero-event "$before" ProductPriceUpdated "$uid" 6 \
    '{"old_price_cents": 2500, "new_price_cents": 0}'
st=$(cmd "$(envelope UpdateProductPrice "{\"product_id\": $uid, \"price_cents\": 100000000000}")")
check price-max 200 "$st"
v422 price-update-negative "$(envelope UpdateProductPrice "{\"product_id\": $uid, \"price_cents\": -1}")" data.price_cents
v422 price-update-over "$(envelope UpdateProductPrice "{\"product_id\": $uid, \"price_cents\": 100000000001}")" data.price_cents
v422 price-update-missing "$(envelope UpdateProductPrice "{\"product_id\": $uid}")" data.price_cents
v422 price-update-string "$(envelope UpdateProductPrice "{\"product_id\": \"$uid\", \"price_cents\": \"5\"}")" \
    "data.price_cents,data.product_id"
v422 price-update-real "$(with_raw "$(envelope UpdateProductPrice "{\"product_id\": $uid, \"price_cents\": \"@RAW@\"}")" 5.0)" data.price_cents
v422 price-update-extra "$(envelope UpdateProductPrice "{\"product_id\": $uid, \"price_cents\": 5, \"name\": \"x\"}")" data.name

#=== RestockProduct ===

rid=$(mk_product '.stock = 4 | .price_cents = 50')
before=$(head_pos)
st=$(cmd "$(envelope RestockProduct "{\"product_id\": $rid, \"quantity\": 6}")")
ack_check restock 200 RestockProduct "$rid" 2
ev_check restock-event "$before" ProductRestocked "$rid" 2 '{"quantity": 6, "stock": 10}'
doc "$rid"
check restock-doc '[10,2,50]' "$(jq -c '[.stock, .version, .price_cents]' "$B")"
before=$(head_pos)
st=$(cmd "$(envelope RestockProduct "{\"product_id\": $rid, \"quantity\": 1000000, \"expected_version\": 2}")")
ack_check restock-max 200 RestockProduct "$rid" 3
ev_check restock-max-event "$before" ProductRestocked "$rid" 3 '{"quantity": 1000000, "stock": 1000010}'
st=$(cmd "$(envelope RestockProduct "{\"product_id\": $rid, \"quantity\": 1}")")
check restock-one 200 "$st"
doc "$rid"
check restock-one-doc '[1000011,4]' "$(jq -c '[.stock, .version]' "$B")"
for q in 0 -1 1000001; do
    v422 "restock-$q" "$(envelope RestockProduct "{\"product_id\": $rid, \"quantity\": $q}")" data.quantity
done
v422 restock-missing "$(envelope RestockProduct "{\"product_id\": $rid}")" data.quantity
v422 restock-real "$(with_raw "$(envelope RestockProduct "{\"product_id\": $rid, \"quantity\": \"@RAW@\"}")" 1e2)" data.quantity
v422 restock-null "$(envelope RestockProduct "{\"product_id\": $rid, \"quantity\": null}")" data.quantity
doc "$rid"
check restock-invalid-changed-nothing '[1000011,4]' "$(jq -c '[.stock, .version]' "$B")"

#=== DeleteProduct ===

dcat="Doomed $RUN"
did=$(mk_product ".category = \"$dcat\" | .price_cents = 1")
keep=$(mk_product '.price_cents = 1')
before=$(head_pos)
st=$(cmd "$(envelope DeleteProduct "{\"product_id\": $did}")")
ack_check delete 200 DeleteProduct "$did" 2
ev_check delete-event "$before" ProductDeleted "$did" 2 '{}'
doc "$did"
expect_problem delete-get 404 not-found
check delete-get-title "Not found" "$(jqb .title)"
check delete-sql-kept 1 "$(sql "SELECT COUNT(*) FROM products WHERE id = $did AND deleted_at IS NOT NULL")"
check delete-view-gone 0 "$(sql "SELECT COUNT(*) FROM product_view WHERE product_id = $did")"
dq=$(jq -rn --arg c "$dcat" '$c | @uri')
for s in id price best_selling; do
    st=$(get "/queries/products?category=$dq&sort=$s")
    check "delete-category-list-$s" "200 0" "$st $(jqb '.items | length')"
    ids=$(all_ids "sort=$s")
    check "delete-absent-all-$s" 0 "$(echo "$ids" | grep -cx "$did")"
    check "delete-list-walk-$s" 0 "$(echo "$ids" | grep -c ERROR)"
    check "delete-others-listed-$s" 1 "$(echo "$ids" | grep -cx "$keep")"
done
for c in "UpdateProduct|\"name\": \"x\"" "UpdateProductPrice|\"price_cents\": 5" \
    "RestockProduct|\"quantity\": 5" "DeleteProduct|\"expected_version\": 2"; do
    t=${c%%|*}
    st=$(cmd "$(envelope "$t" "{\"product_id\": $did, ${c#*|}}")")
    expect_problem "deleted-$t" 404 not-found
    st=$(cmd "$(envelope "$t" "{\"product_id\": 9223372036854775807, ${c#*|}}")")
    expect_problem "unknown-$t" 404 not-found
    v422 "id-zero-$t" "$(envelope "$t" "{\"product_id\": 0, ${c#*|}}")" data.product_id
    v422 "id-negative-$t" "$(envelope "$t" "{\"product_id\": -3, ${c#*|}}")" data.product_id
    v422 "id-real-$t" "$(with_raw "$(envelope "$t" "{\"product_id\": \"@RAW@\", ${c#*|}}")" 1.0)" data.product_id
    v422 "id-null-$t" "$(envelope "$t" "{\"product_id\": null, ${c#*|}}")" data.product_id
done
check deleted-nothing-appended 2 "$(ev_count "$did")"
v422 delete-no-id '{"type":"DeleteProduct","data":{}}' data.product_id

#=== Optimistic concurrency ===

# payload TYPE: a valid change for each command besides product_id
payload() {
    case $1 in
    UpdateProduct) echo '"name": "Changed"' ;;
    UpdateProductPrice) echo '"price_cents": 999' ;;
    RestockProduct) echo '"quantity": 9' ;;
    *) echo '' ;;
    esac
}
# pdata TYPE ID [EXPECTED-LITERAL]: its data
pdata() {
    local p
    p=$(payload "$1")
    echo "{\"product_id\": $2${p:+, $p}${3:+, \"expected_version\": $3}}"
}
oid=$(mk_product '.name = "Versioned" | .price_cents = 300 | .stock = 2')
for t in UpdateProduct UpdateProductPrice RestockProduct DeleteProduct; do
    doc "$oid"
    snap=$(body)
    ver=$(jqb .version)
    nev=$(ev_count "$oid")
    for wrong in $((ver + 1)) $((ver - 1)) 1000; do
        [ "$wrong" -ge 1 ] || continue
        st=$(cmd "$(envelope "$t" "$(pdata "$t" "$oid" "$wrong")")")
        expect_problem "conflict-$t-$wrong" 409 version-conflict
        check "conflict-$t-$wrong-current" "$ver" "$(jqb .current_version)"
        check "conflict-$t-$wrong-title" "Version conflict" "$(jqb .title)"
        check_match "conflict-$t-$wrong-detail" "$ver" "$(jqb .detail)"
    done
    for bad in 0 -1 '"1"' null 1.0 true; do
        v422 "expected-$t-$bad" "$(envelope "$t" "$(pdata "$t" "$oid" "$bad")")" data.expected_version
    done
    doc "$oid"
    check "conflict-$t-unchanged" "$snap" "$(body)"
    check "conflict-$t-no-event" "$nev" "$(ev_count "$oid")"
    st=$(cmd "$(envelope "$t" "$(pdata "$t" "$oid" "$ver")")")
    check "expected-equal-$t" 200 "$st"
    check "expected-equal-$t-version" $((ver + 1)) "$(jqb .version)"
    check "expected-equal-$t-events" $((nev + 1)) "$(ev_count "$oid")"
done
doc "$oid"
expect_problem expected-deleted-gone 404 not-found

# two racing price updates at the same expected version: one wins
race_bad=0
for i in $(seq 1 10); do
    rp=$(mk_product '.price_cents = 100')
    for p in 201 202; do
        curl -s -o /dev/null -w '%{http_code}\n' -H 'Content-Type: application/json' \
            --data-binary "{\"type\":\"UpdateProductPrice\",\"data\":{\"product_id\":$rp,\"price_cents\":$p,\"expected_version\":1}}" \
            "$BASE/commands" >"$T_CASE/race.$p" &
    done
    wait
    replicas_caught_up # the racers' tokens are not kept
    got=$(cat "$T_CASE/race.201" "$T_CASE/race.202" | sort | tr '\n' ' ')
    check "race-$i-statuses" "200 409 " "$got"
    doc "$rp"
    winner=$([ "$(cat "$T_CASE/race.201")" = 200 ] && echo 201 || echo 202)
    check "race-$i-product" "[$winner,2]" "$(jq -c '[.price_cents, .version]' "$B")"
    check "race-$i-events" 2 "$(ev_count "$rp")"
    check "race-$i-event" "{\"new_price_cents\":$winner,\"old_price_cents\":100}" \
        "$(sql "SELECT HEX(data) FROM events WHERE aggregate_type = 'product' AND aggregate_id = $rp AND aggregate_version = 2" | unhex | jq -S -c . 2>/dev/null)"
    [ "$got" = "200 409 " ] || race_bad=$((race_bad + 1))
done
check race-all-single-winner 0 "$race_bad"

#=== Strings byte for byte ===

n=0
while IFS= read -r s; do
    n=$((n + 1))
    [ -z "$s" ] && continue
    raw=$(printf '%b' "$s")
    want=$(printf '%s' "$raw" | sed -E 's/^[ ]+//; s/[ ]+$//')
    st=$(cmd "$(jq -nc --arg n "$raw" --arg d "$raw" --arg s "U$n-$RUN" --arg c "Str $n $RUN" \
        '{type: "CreateProduct", data: {sku: $s, name: $n, description: $d, category: $c, price_cents: 1}}')")
    check "string-$n-create" 201 "$st"
    sid=$(jqb '.aggregate_id // 0')
    pos=$(jqb '.position // 0')
    doc "$sid"
    check "string-$n-name" "$want" "$(jqb .name)"
    check "string-$n-description" "$want" "$(jqb .description)"
    check "string-$n-name-bytes" "$(printf '%s' "$want" | hex)" \
        "$(jq -j .name "$B" | hex)"
    check "string-$n-sql-bytes" "$(printf '%s' "$want" | hex | tr a-f A-F)" \
        "$(sql "SELECT HEX(name) FROM products WHERE id = $sid")"
    check "string-$n-event" "$want" \
        "$(sql "SELECT HEX(data) FROM events WHERE position = $pos" | unhex | jq -j .name 2>/dev/null)"
    st=$(cmd "$(jq -nc --arg n "$want" --argjson id "$sid" '{type: "UpdateProduct", data: {product_id: $id, name: ("x" + $n)}}')")
    check "string-$n-update" 200 "$st"
    doc "$sid"
    check "string-$n-updated-name" "x$want" "$(jq -j .name "$B")"
done <<'EOF'
Robert'); DROP TABLE products;--
" OR 1=1 --
' OR '1'='1
\\\\
\\\\"quoted\\\\"\\\\
%s %d %n
<script>alert(1)</script>
\xf0\x9f\x98\x80 emoji \xf0\x9f\x91\xa9\xe2\x80\x8d\xf0\x9f\x92\xbb
\xe6\xbc\xa2\xe5\xad\x97\xe3\x81\x8b\xe3\x81\xaa \xed\x95\x9c\xea\xb8\x80
e\xcc\x81 combining a\xcc\x8a\xcc\x81 n\xcc\x83
  padded \xd7\xa9\xd7\x9c\xd7\x95\xd7\x9d  
\xe2\x80\xa8 line separator \xe2\x80\xa9
\xef\xbb\xbf BOM and \xe2\x80\x8b zero width
$(id) `id` ${HOME}
EOF
check products-table-still-there 1 "$(sql "SELECT COUNT(*) > 0 FROM products")"

finish

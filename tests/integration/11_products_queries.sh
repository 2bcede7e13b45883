#!/usr/bin/env bash
# 11_products_queries.sh - GET /queries/products/{id} (ETag, If-None-Match,
# 304, HEAD) and GET /queries/products (category filter, sort orders, limit,
# cursors and their errors, paging that sees every product exactly once, also
# while products are created). Per API.md "Queries (read side)" and "Details
# that clients rely on".
. "$(dirname "$0")/lib.sh"

RUN=$(uniq_id)
st=

#=== helpers ===

# expect_problem NAME STATUS TYPE: the last response is that problem+json
expect_problem() {
    check "$1: status" "$2" "$st"
    check_match "$1: content-type" '^application/problem\+json' "$(hdr Content-Type)"
    check "$1: type, status" "$3 $2" "$(jq -r '"\(.type) \(.status)"' "$B" 2>/dev/null)"
}

# mk [JQ-FILTER]: create a product (unique sku and category); prints its id (0 on failure)
mk() {
    local s
    s=$(cmd "$(jq -nc --arg sku "Q-$(uniq_id)" --arg cat "QCat $(uniq_id)" \
        "{type: \"CreateProduct\", data: ({sku: \$sku, name: \"Query me\", category: \$cat,
          price_cents: 100, stock: 100} | ${1:-.})}")")
    if [ "$s" != 201 ]; then
        echo "FAIL mk: status $s $(body)" >&2
        echo 0
        return
    fi
    jqb .aggregate_id
}

# raw_http METHOD PATH [HEADER]: one request on its own connection; the whole
# response (status line, headers, body) into $T_CASE/raw
raw_http() {
    local hp=${BASE#http://}
    exec 3<>"/dev/tcp/${hp%:*}/${hp##*:}" || return
    printf '%s %s HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n%s\r\n' "$1" "$2" "$hp" \
        "${3:+$3$'\r\n'}" >&3
    timeout 5 cat <&3 >"$T_CASE/raw"
    exec 3<&-
}
raw_status() { head -1 "$T_CASE/raw" | awk '{ print $2 }'; }
raw_body_size() { sed '1,/^\r$/d' "$T_CASE/raw" | wc -c; }
raw_hdr() { sed '/^\r$/,$d' "$T_CASE/raw" | grep -i "^$1:" | head -1 | sed -E 's/^[^:]+: ?//' | tr -d '\r'; }

uri() { jq -rn --arg v "$1" '$v | @uri'; }

# walk QUERY LIMIT OUT: page GET /queries/products?QUERY with limit LIMIT to
# the end, writing "id price units_sold" lines to OUT; checks each page
walk() {
    local q=$1 limit=$2 out=$3 after="" s n next pages=0 bad=0
    : >"$out"
    for _ in $(seq 1 400); do
        s=$(get "/queries/products?$q&limit=$limit${after:+&after=$after}")
        pages=$((pages + 1))
        if [ "$s" != 200 ]; then
            check "walk $q: page $pages status" 200 "$s"
            return
        fi
        jqb '.items[] | "\(.product_id) \(.price_cents) \(.units_sold)"' >>"$out"
        n=$(jqb '.items | length')
        next=$(jqb '.next_cursor // empty')
        [ "$n" -le "$limit" ] || bad=$((bad + 1))
        # only the last page may be short, and it has no cursor
        if [ "$n" -lt "$limit" ] && [ -n "$next" ]; then bad=$((bad + 1)); fi
        if [ -z "$next" ]; then
            check "walk $q limit $limit: page sizes" 0 "$bad"
            return
        fi
        if [ "$n" = 0 ]; then
            check "walk $q: an empty page with a cursor" "" "$next"
            return
        fi
        after=$next
        [ -n "${WALK_HOOK:-}" ] && $WALK_HOOK
    done
    check "walk $q: ended" yes no
}

order_of() { # order_of KIND FILE: the lines of FILE in KIND order
    case $1 in
    id) sort -k1,1n "$2" ;;
    price) sort -k2,2n -k1,1n "$2" ;;
    best_selling) sort -k3,3nr -k1,1n "$2" ;;
    esac
}

#=== GET /queries/products/{id}: ETag, If-None-Match, HEAD ===

eid=$(mk '.price_cents = 500 | .stock = 50')
st=$(get "/queries/products/$eid")
check etag-get 200 "$st"
check_match etag-content-type '^application/json' "$(hdr Content-Type)"
etag=$(hdr ETag)
check_match etag-strong-quoted '^"[^"]+"$' "$etag"
doc0=$(body)
len0=$(stat -c %s "$B")
check etag-content-length "$len0" "$(hdr Content-Length)"
st=$(get "/queries/products/$eid")
check etag-stable "$etag" "$(hdr ETag)"
check etag-stable-body "$doc0" "$(body)"
st=$(get "/queries/products/$eid" -H "If-None-Match: $etag")
check etag-304 304 "$st"
check etag-304-etag "$etag" "$(hdr ETag)"
raw_http GET "/queries/products/$eid" "If-None-Match: $etag"
check etag-304-raw 304 "$(raw_status)"
check etag-304-no-body 0 "$(raw_body_size)"
check etag-304-raw-etag "$etag" "$(raw_hdr ETag)"
st=$(get "/queries/products/$eid" -H 'If-None-Match: "not-this-one"')
check etag-other 200 "$st"
check etag-other-body "$doc0" "$(body)"
check etag-other-etag "$etag" "$(hdr ETag)"
st=$(get "/queries/products/$eid" -H "If-None-Match: \"not-this-one\", $etag")
check etag-list 304 "$st"
st=$(get "/queries/products/$eid" -H "If-None-Match: W/$etag")
check etag-weak-compare 304 "$st"
raw_http HEAD "/queries/products/$eid"
check head 200 "$(raw_status)"
check head-etag "$etag" "$(raw_hdr ETag)"
check head-length "$len0" "$(raw_hdr Content-Length)"
check head-no-body 0 "$(raw_body_size)"
raw_http HEAD "/queries/products/$eid" "If-None-Match: $etag"
check head-304 304 "$(raw_status)"
check head-304-no-body 0 "$(raw_body_size)"
raw_http GET "/queries/products/$eid"
check raw-get-body "$doc0" "$(sed '1,/^\r$/d' "$T_CASE/raw")"

for p in 0 01 -1 abc 1.0 9223372036854775808 '%20' ; do
    st=$(get "/queries/products/$p")
    expect_problem "path-id-'$p'" 400 invalid-parameter
done
st=$(get "/queries/products/9223372036854775807")
expect_problem path-id-max-unknown 404 not-found
check path-id-title "Not found" "$(jqb .title)"

seen="$etag"
# etag_changed NAME: after a change, the ETag is new and the old one no longer matches
etag_changed() {
    local old=$etag
    st=$(get "/queries/products/$eid")
    check "$1: get" 200 "$st"
    etag=$(hdr ETag)
    check_match "$1: strong quoted" '^"[^"]+"$' "$etag"
    check "$1: etag is new" 0 "$(echo "$seen" | grep -cxF -- "$etag")"
    seen="$seen
$etag"
    local now
    now=$(body)
    st=$(get "/queries/products/$eid" -H "If-None-Match: $old")
    check "$1: old etag gives 200" 200 "$st"
    check "$1: old etag gives the new body" "$now" "$(body)"
    st=$(get "/queries/products/$eid" -H "If-None-Match: $etag")
    check "$1: new etag gives 304" 304 "$st"
}
st=$(cmd "{\"type\":\"UpdateProductPrice\",\"data\":{\"product_id\":$eid,\"price_cents\":650}}")
check etag-price-cmd 200 "$st"
etag_changed etag-after-price
st=$(cmd "{\"type\":\"RestockProduct\",\"data\":{\"product_id\":$eid,\"quantity\":5}}")
check etag-restock-cmd 200 "$st"
etag_changed etag-after-restock
st=$(cmd "{\"type\":\"UpdateProduct\",\"data\":{\"product_id\":$eid,\"description\":\"now described\"}}")
check etag-update-cmd 200 "$st"
etag_changed etag-after-update
st=$(cmd "$(jq -nc --arg e "q11-$RUN@example.com" '{type: "RegisterCustomer", data: {email: $e, name: "Ada"}}')")
check customer 201 "$st"
cust=$(jqb '.aggregate_id // 0')
st=$(cmd "{\"type\":\"PlaceOrder\",\"data\":{\"customer_id\":$cust,\"items\":[{\"product_id\":$eid,\"quantity\":2}]}}")
check etag-order-cmd 201 "$st"
etag_changed etag-after-order
check etag-after-order-doc '[650,53,2,1300,1,4]' \
    "$(jq -c '[.price_cents, .stock, .units_sold, .revenue_cents, .order_count, .version]' "$B")"
st=$(cmd "{\"type\":\"DeleteProduct\",\"data\":{\"product_id\":$eid}}")
check etag-delete-cmd 200 "$st"
st=$(get "/queries/products/$eid" -H "If-None-Match: $etag")
expect_problem etag-deleted 404 not-found

#=== GET /queries/products: parameters ===

st=$(get "/queries/products?category=$(uri "No such category $RUN")")
check unknown-category 200 "$st"
check_match unknown-category-content-type '^application/json' "$(hdr Content-Type)"
check unknown-category-body '{"items":[],"next_cursor":null}' "$(jq -c . "$B")"
for l in 0 201 -1 abc 1.5 01 +5 1e1 99999999999999999999 ''; do
    st=$(get "/queries/products?limit=$l")
    expect_problem "limit-'$l'" 400 invalid-parameter
done
st=$(get "/queries/products?limit")
expect_problem limit-no-value 400 invalid-parameter
for s in name price_desc random ''; do
    st=$(get "/queries/products?sort=$s")
    expect_problem "sort-'$s'" 400 invalid-parameter
done
st=$(get "/queries/products?page=2")
expect_problem unknown-parameter 400 invalid-parameter
st=$(get "/queries/products?category=")
expect_problem empty-category 400 invalid-parameter
for a in abc '!!!!' 0 'YjowOjE6NjhmNjc0OTI=x' ''; do
    st=$(get "/queries/products?after=$(uri "$a")")
    expect_problem "garbage-cursor-'$a'" 400 invalid-parameter
done

#=== a category of 130 products ===

PCAT="Paged Set $RUN"
export RUN PCAT BASE
mkp() { # mkp IDX: create product IDX of the set; prints "IDX STATUS ID"
    local i=$1 out
    out=$(curl -s -w '\n%{http_code}' -H 'Content-Type: application/json' --data-binary \
        "{\"type\":\"CreateProduct\",\"data\":{\"sku\":\"PG-$RUN-$i\",\"name\":\"Paged $i\",\"category\":\"$PCAT\",\"price_cents\":$((i % 6 * 250)),\"stock\":1000}}" \
        "$BASE/commands")
    echo "$i $(echo "$out" | tail -1) $(echo "$out" | head -1 | jq -r '.aggregate_id // 0' 2>/dev/null)"
}
export -f mkp
seq 0 129 | xargs -P 8 -n 1 bash -c 'mkp "$0"' >"$T_CASE/created"
replicas_caught_up # mkp keeps no tokens
check set-created "130" "$(awk '$2 == 201' "$T_CASE/created" | wc -l)"
awk '$2 != 201 { print "FAIL set-create " $0; exit }' "$T_CASE/created"

# sales: products 0, 5, 10, ... 95 sell (k % 4) + 1 units in one order
items=$(awk '$2 == 201 && $1 % 5 == 0 && $1 < 100 { printf "%s{\"product_id\":%s,\"quantity\":%d}", (n++ ? "," : ""), $3, ($1 / 5) % 4 + 1 }' "$T_CASE/created")
st=$(cmd "{\"type\":\"PlaceOrder\",\"data\":{\"customer_id\":$cust,\"items\":[$items]}}")
check set-order 201 "$st"
# the expected set: "id price sold"
awk '$2 == 201 { print $3, $1 % 6 * 250, ($1 % 5 == 0 && $1 < 100) ? ($1 / 5) % 4 + 1 : 0 }' \
    "$T_CASE/created" >"$T_CASE/expected"
check set-distinct-prices 6 "$(awk '{ print $2 }' "$T_CASE/expected" | sort -u | wc -l)"

cq=$(uri "$PCAT")
# the list's items are the products' documents
st=$(get "/queries/products?category=$cq&limit=3")
check list-page 200 "$st"
check_match list-content-type '^application/json' "$(hdr Content-Type)"
check list-members '["items","next_cursor"]' "$(jq -c keys "$B")"
first=$(jqb '.items[0].product_id')
jq -S -c '.items[0]' "$B" >"$T_CASE/item0"
st=$(get "/queries/products/$first")
check list-item-is-document "$(cat "$T_CASE/item0")" "$(jq -S -c . "$B")"

# limit: default 50, exact pages, 1 and 200
st=$(get "/queries/products?category=$cq")
check default-limit "50 true" "$(jqb '"\(.items | length) \(.next_cursor | type == "string")"')"
st=$(get "/queries/products?category=$cq&limit=200")
check limit-200 "130 null" "$(jqb '"\(.items | length) \(.next_cursor)"')"
st=$(get "/queries/products?category=$cq&limit=130")
check limit-130 "130 null" "$(jqb '"\(.items | length) \(.next_cursor)"')"
st=$(get "/queries/products?category=$cq&limit=129")
check limit-129 "129 true" "$(jqb '"\(.items | length) \(.next_cursor | type == "string")"')"
st=$(get "/queries/products?category=$cq&limit=1")
check limit-1 "1 true" "$(jqb '"\(.items | length) \(.next_cursor | type == "string")"')"
st=$(get "/queries/products?limit=200")
check limit-200-all 200 "$st"

# the same walk with every sort, the category spelled three ways
for s in id price best_selling; do
    order_of "$s" "$T_CASE/expected" >"$T_CASE/want.$s"
done
walk "category=$cq&sort=id" 7 "$T_CASE/got.id"
check walk-id "$(cat "$T_CASE/want.id")" "$(cat "$T_CASE/got.id")"
walk "category=$(uri "PAGED SET $RUN")&sort=price" 7 "$T_CASE/got.price"
check walk-price "$(cat "$T_CASE/want.price")" "$(cat "$T_CASE/got.price")"
walk "category=$(uri "paged set $RUN")&sort=best_selling" 7 "$T_CASE/got.best_selling"
check walk-best_selling "$(cat "$T_CASE/want.best_selling")" "$(cat "$T_CASE/got.best_selling")"
walk "category=$cq" 13 "$T_CASE/got.default"
check walk-default-sort-is-id "$(cat "$T_CASE/want.id")" "$(cat "$T_CASE/got.default")"
for s in id price best_selling default; do
    check "walk-$s-no-duplicates" 0 "$(awk '{ print $1 }' "$T_CASE/got.$s" | sort | uniq -d | wc -l)"
    check "walk-$s-count" 130 "$(wc -l <"$T_CASE/got.$s")"
done
check best-selling-top "$(order_of best_selling "$T_CASE/expected" | head -5 | awk '{ print $3 }' | tr '\n' ' ')" \
    "4 4 4 4 4 "

# cursors: bound to their sort, tamper-proof
declare -A cur
for s in id price best_selling; do
    get "/queries/products?category=$cq&sort=$s&limit=5" >/dev/null
    cur[$s]=$(jqb .next_cursor)
done
for pair in "id price" "id best_selling" "price id" "price best_selling" "best_selling id" "best_selling price"; do
    from=${pair% *}
    to=${pair#* }
    c=${cur[$from]}
    st=$(get "/queries/products?category=$cq&sort=$to&after=$c")
    expect_problem "cursor-$from-used-for-$to" 400 invalid-parameter
    st=$(get "/queries/products?category=$cq&sort=$from&after=$c")
    check "cursor-$from-reused" 200 "$st"
done
st=$(get "/queries/products?category=$cq&after=${cur[price]}")
expect_problem cursor-price-default-sort 400 invalid-parameter
for s in id price best_selling; do
    c=${cur[$s]}
    for pos in 2 3 6 9; do
        ch=${c:$pos:1}
        rep=A
        [ "$ch" = A ] && rep=B
        bad="${c:0:$pos}$rep${c:$((pos + 1))}"
        st=$(get "/queries/products?category=$cq&sort=$s&after=$bad")
        expect_problem "cursor-$s-tampered-at-$pos" 400 invalid-parameter
    done
    st=$(get "/queries/products?category=$cq&sort=$s&after=${c:0:$((${#c} - 3))}")
    expect_problem "cursor-$s-truncated" 400 invalid-parameter
    st=$(get "/queries/products?category=$cq&sort=$s&after=${c}AAAA")
    expect_problem "cursor-$s-extended" 400 invalid-parameter
done

# a cursor continues where its page ended, also with another limit
get "/queries/products?category=$cq&sort=price&limit=10" >/dev/null
c=$(jqb .next_cursor)
st=$(get "/queries/products?category=$cq&sort=price&limit=3&after=$c")
check cursor-continues "$(sed -n 11,13p "$T_CASE/want.price" | awk '{ print $1 }' | tr '\n' ' ')" \
    "$(jqb '[.items[].product_id | tostring] | join(" ")') "

#=== the whole product list: every sort is in order, nothing twice ===

walk "sort=id" 200 "$T_CASE/all.id"
walk "sort=price" 200 "$T_CASE/all.price"
walk "sort=best_selling" 200 "$T_CASE/all.best_selling"
for s in id price best_selling; do
    check "all-$s-ordered" "$(order_of "$s" "$T_CASE/all.$s")" "$(cat "$T_CASE/all.$s")"
    check "all-$s-no-duplicates" 0 "$(awk '{ print $1 }' "$T_CASE/all.$s" | sort | uniq -d | wc -l)"
    check "all-$s-has-the-set" 130 "$(awk 'NR == FNR { want[$1] = 1; next } ($1 in want)' \
        "$T_CASE/expected" "$T_CASE/all.$s" | wc -l)"
    check "all-$s-no-deleted" 0 "$(awk -v d="$eid" '$1 == d' "$T_CASE/all.$s" | wc -l)"
done
check all-same-set "$(awk '{ print $1 }' "$T_CASE/all.id" | sort)" \
    "$(awk '{ print $1 }' "$T_CASE/all.price" | sort)"

#=== paging while products are created ===

# one product between pages, and a stream of others alongside
next_new=1000
create_between() {
    mkp $next_new >>"$T_CASE/created.during"
    next_new=$((next_new + 1))
}
: >"$T_CASE/created.during"
seq 2000 2029 | xargs -P 2 -n 1 bash -c 'mkp "$0"' >"$T_CASE/created.bg" &
bg=$!
WALK_HOOK=create_between walk "category=$cq&sort=id" 7 "$T_CASE/during.id"
WALK_HOOK=create_between walk "category=$cq&sort=price" 7 "$T_CASE/during.price"
wait $bg
WALK_HOOK=
replicas_caught_up # every product created meanwhile, before the last walk
check during-created 0 "$(cat "$T_CASE/created.during" "$T_CASE/created.bg" | awk '$2 != 201' | wc -l)"
for s in id price; do
    check "during-$s-initial-exactly-once" "$(awk '{ print $1 }' "$T_CASE/expected" | sort)" \
        "$(awk 'NR == FNR { want[$1] = 1; next } ($1 in want) { print $1 }' \
            "$T_CASE/expected" "$T_CASE/during.$s" | sort)"
    check "during-$s-no-duplicates" 0 "$(awk '{ print $1 }' "$T_CASE/during.$s" | sort | uniq -d | wc -l)"
    check "during-$s-ordered" "$(order_of "$s" "$T_CASE/during.$s")" "$(cat "$T_CASE/during.$s")"
done
# the items seen beyond the initial set are all products created meanwhile
cat "$T_CASE/created.during" "$T_CASE/created.bg" | awk '{ print $3 }' >"$T_CASE/new.ids"
check during-id-extra-are-new 0 "$(awk 'NR == FNR { ok[$1] = 1; next } !($1 in ok)' \
    <(awk '{ print $1 }' "$T_CASE/expected"; cat "$T_CASE/new.ids") "$T_CASE/during.id" | wc -l)"
# every product created before the walk's last page was read is now listed
walk "category=$cq&sort=id" 200 "$T_CASE/after.id"
check during-all-listed-now $((130 + $(wc -l <"$T_CASE/new.ids"))) "$(wc -l <"$T_CASE/after.id")"

#=== category names compare case-insensitively, also beyond ASCII ===

ucat="Café Ünïcode $RUN"
u1=$(mk ".category = \"$ucat\"")
for spelling in "$ucat" "CAFÉ ÜNÏCODE $RUN" "café ünïcode $RUN"; do
    st=$(get "/queries/products?category=$(uri "$spelling")")
    check "category-case-$spelling" "200 $u1" "$st $(jqb '[.items[].product_id | tostring] | join(" ")')"
done
st=$(get "/queries/products?category=$(uri "Café Ünïcode $RUN x")")
check category-no-prefix-match "200 0" "$st $(jqb '.items | length')"

finish

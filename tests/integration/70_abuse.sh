#!/usr/bin/env bash
# 70_abuse.sh - network abuse: slow clients, a connection flood, requests that
# are not valid HTTP, hostile JSON, and the memory they leave behind.
#
# - 200 slow clients (half a request line, headers without the blank line,
#   half a body, a request line that starts with NUL) must not keep GET
#   /healthz from answering within 1 s, and the daemon closes them: its
#   connection timeout is 30 s, every one must see EOF within 40 s of being
#   opened (a background shell polls them while the rest of the script runs);
# - 1,500 connections opened and held: /healthz still answers (or the
#   connection is refused) within 3 s, and all is normal once they go;
# - 1,000 requests that are not valid HTTP (a 100 KB header, a 100 KB URL,
#   lying Content-Length, broken chunked encoding, binary request lines,
#   HTTP/0.9-style lines, pipelined garbage): each gets a 4xx or a closed
#   connection (API.md: "Requests that are not valid HTTP ... may get the HTTP
#   library's own minimal 4xx or a closed connection"), /healthz answers
#   afterwards; a Transfer-Encoding that is not chunked is answered in 3 s;
# - the same mix against a release build (started here from
#   $CQRSD_RELEASE_BIN): VmRSS after 1,000 of them minus before is < 8 MiB;
# - hostile JSON (100,000 '[', huge numbers, exponents, invalid UTF-8,
#   surrogates, NUL bytes raw and escaped, long member names) gets the
#   documented 400/413/422 problem, never a crash (the driver fails on any
#   sanitizer report).
# Loopback only; every loop is bounded in count and time. Lines "info: ..."
# tell the timings (when the slow clients were closed, RSS before and after).
. "$(dirname "$0")/lib.sh"

trap '' PIPE # a write to a socket the daemon closed must fail, not kill us

PORT=${BASE##*:}
G="$T_CASE/g" # request bodies
mkdir -p "$G"
SLOW_N=200
FLOOD_N=1500
ABUSE_N=1000

now_ms() { echo $(($(date +%s%N) / 1000000)); }
script_t0=$(now_ms)
section() { echo "info: $(( ($(now_ms) - script_t0) / 1000 )) s: $1"; }

# a file descriptor for each held connection: raise our soft limit
ulimit -Sn "$(ulimit -Hn)" 2>/dev/null
fd_limit=$(ulimit -Sn)
if [ "$fd_limit" != unlimited ] && [ "$fd_limit" -lt $((SLOW_N + FLOOD_N + 100)) ]; then
    FLOOD_N=$((fd_limit - SLOW_N - 100))
    echo "SKIP flood of 1500: the fd limit is $fd_limit; flooding with $FLOOD_N"
fi

# healthz_ms [URL]: "STATUS MS" of one GET /healthz (5 s cap); STATUS 000 when
# the connection failed
healthz_ms() {
    local out
    out=$(curl -s -o /dev/null -m 5 -w '%{http_code} %{time_total}' "${1:-$BASE}/healthz")
    awk -v o="$out" 'BEGIN { split(o, a, " "); printf "%s %d\n", a[1], a[2] * 1000 }'
}

#=== 1. slow clients, held by a background shell that then waits for their EOF
section 'slow clients'

# slow_clients PORT N DIR: open N connections that each send part of a request
# and stall; write "N_OPEN" to DIR/opened, then poll them (every 0.25 s, up to
# 40 s after opening) until the daemon closes each; write "CLOSED N_OPEN
# LAST_EOF_MS" to DIR/result and "KIND:MS" of every EOF to DIR/closes
slow_clients() {
    local port=$1 n=$2 dir=$3 fds=() fd i k t0 deadline closed=0 last=0 line rc round
    local -a done_at
    for ((i = 0; i < n; i++)); do
        { exec {fd}<>"/dev/tcp/127.0.0.1/$port"; } 2>/dev/null || break
        case $((i % 5)) in
        0) printf 'GET /heal' >&"$fd" ;;
        1) printf 'GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: 1\r\n' >&"$fd" ;;
        2) printf 'POST /commands HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{"type":' >&"$fd" ;;
        3) printf 'GET /queries/products?limit=1 HTTP/1.1\r\nHost: 127.0.0.1\r\nUser-Agent: sl' >&"$fd" ;;
        4) printf '\000GET /healthz HTTP/1.1\r\n\r\n' >&"$fd" ;; # a NUL-led line reads as empty
        esac
        fds+=("$fd")
    done
    t0=$(now_ms)
    echo "${#fds[@]}" >"$dir/opened"
    deadline=$((t0 + 40000))
    for ((round = 0; round < 400 && closed < ${#fds[@]}; round++)); do
        for i in "${!fds[@]}"; do
            [ -n "${done_at[$i]:-}" ] && continue
            # an answer (a 408, say) is fine: read on to EOF
            for ((k = 0; k < 50; k++)); do
                IFS= read -r -t 0.002 -u "${fds[$i]}" line
                rc=$?
                [ $rc -eq 0 ] || break
            done
            if [ $rc -le 128 ]; then
                done_at[$i]=$(($(now_ms) - t0))
                last=${done_at[$i]}
                closed=$((closed + 1))
                echo "$((i % 5)):$last" >>"$dir/closes"
                fd=${fds[$i]}
                exec {fd}>&-
            fi
        done
        [ "$(now_ms)" -lt $deadline ] || break
        sleep 0.25
    done
    for i in "${!fds[@]}"; do
        [ -n "${done_at[$i]:-}" ] || echo "$((i % 5)):open" >>"$dir/closes"
    done
    echo "$closed ${#fds[@]} $last" >"$dir/result"
}

SLOW="$T_CASE/slow"
mkdir -p "$SLOW"
slow_clients "$PORT" $SLOW_N "$SLOW" &
slow_pid=$!
for _ in $(seq 1 200); do # up to 20 s
    [ -s "$SLOW/opened" ] && break
    sleep 0.1
done
check "slow clients: all $SLOW_N connections opened" $SLOW_N "$(cat "$SLOW/opened" 2>/dev/null)"
read -r st ms <<<"$(healthz_ms)"
check "slow clients held: /healthz 200" 200 "$st"
check "slow clients held: /healthz within 1 s" yes "$([ "$ms" -lt 1000 ] && echo yes || echo "no (${ms} ms)")"
# and a command with a body, on another connection, is not stuck behind them
sku="ab-$(uniq_id)"
check "slow clients held: a command still answers" 422 \
    "$(cmd '{"type":"CreateProduct","data":{"sku":"'"$sku"'","name":"x","category":"c","price_cents":-1}}' -m 5)"

#=== 2. requests that are not valid HTTP
section 'invalid HTTP'

# The raw requests, as printf formats (escapes only: no '%' conversions), so
# that they go out with the printf builtin: no process per request.
declare -A REQ
big=$(head -c 102400 /dev/zero | tr '\0' a)
env='{"type":"PayOrder","data":{"order_id":1}}'
post_head='POST /commands HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n'
REQ[header100k]="GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Big: $big\r\n\r\n"
REQ[url100k]="GET /healthz?x=$big HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"
REQ[cl_bigger]="${post_head}Content-Length: 1000\r\n\r\n$env"
REQ[cl_smaller]="${post_head}Content-Length: 10\r\n\r\n$env\r\n\r\n"
REQ[cl_negative]="${post_head}Content-Length: -5\r\n\r\n$env"
REQ[chunk_hex]="${post_head}Transfer-Encoding: chunked\r\n\r\nZZZ\r\nabc\r\n0\r\n\r\n"
REQ[chunk_length]="${post_head}Transfer-Encoding: chunked\r\n\r\n3\r\nabcdefgh\r\n0\r\n\r\n"
REQ[chunk_huge]="${post_head}Transfer-Encoding: chunked\r\n\r\nffffffffffffffffffff\r\nabc\r\n"
REQ[http09]='GET /healthz\r\n'
REQ[http09_bare]='GET\r\n\r\n'
REQ[pipelined]='GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\nGARBAGE \001\002\377 NOT HTTP\r\n\r\n'
REQ[te_gzip]="${post_head}Transfer-Encoding: gzip\r\n\r\n$env"

# hex_of SEED LEN: 2*LEN hex digits, pseudo-random but the same on every run
hex_of() {
    local hex="" k=0
    while [ ${#hex} -lt $(($2 * 2)) ] && [ $k -lt 100 ]; do
        hex="$hex$(printf 'abuse-%s-%d' "$1" $k | sha256sum | cut -c1-64)"
        k=$((k + 1))
    done
    echo "${hex:0:$(($2 * 2))}"
}
# binary request lines (NUL bytes too), no CR/LF, then the end of a head. The
# first byte is not NUL: libmicrohttpd reads a line that starts with NUL as an
# empty line before the request line (RFC 9112 2.2 lets a server skip those)
# and waits for more, like a slow client: the slow clients include one such.
for i in $(seq 0 9); do
    REQ[binary$i]="X$(hex_of "$i" $((20 + i * 37)) | sed 's/../&\n/g' | grep -vE '^(0a|0d)$' |
        sed 's/^/\\x/' | tr -d '\n')\r\n\r\n"
done
kinds="header100k url100k cl_bigger cl_smaller cl_negative chunk_hex chunk_length chunk_huge http09 http09_bare pipelined binary"

# send_raw PORT KIND [WAIT_S]: send REQ[KIND] on a new connection; GOT is the
# status of each answer read ("200 400"; two for pipelined), then "closed"
# when the daemon closed without (more) answer, "hang" when nothing came
# within WAIT_S (default 5) seconds, or "refused". cl_bigger: we close first.
send_raw() {
    local fd line rc want=1 k
    GOT=""
    [ "$2" = pipelined ] && want=2
    { exec {fd}<>"/dev/tcp/127.0.0.1/$1"; } 2>/dev/null || {
        GOT=refused
        return
    }
    # shellcheck disable=SC2059
    printf "${REQ[$2]}" >&"$fd" 2>/dev/null
    if [ "$2" = cl_bigger ]; then
        exec {fd}>&-
        GOT=closed
        return
    fi
    for ((k = 0; k < 60; k++)); do
        IFS= read -r -t "${3:-5}" -u "$fd" line
        rc=$?
        if [ $rc -ne 0 ]; then
            if [ $rc -gt 128 ]; then GOT="$GOT hang"; else GOT="$GOT closed"; fi
            break
        fi
        if [[ $line =~ ^HTTP/1\.[01]\ ([0-9]{3}) ]]; then
            GOT="$GOT ${BASH_REMATCH[1]}"
            want=$((want - 1))
            [ $want -gt 0 ] || break
        fi
    done
    exec {fd}>&-
    GOT=${GOT# }
}

# acceptable KIND ANSWER: is ANSWER what KIND may get?
acceptable() {
    case "$1:$2" in
    cl_bigger:*) return 0 ;; # we close before any answer: only the daemon's survival counts
    cl_smaller:"400"*) return 0 ;; # 10 bytes of JSON: malformed-json; then the rest is junk
    pipelined:"200 4"[0-9][0-9] | pipelined:"200 closed") return 0 ;;
    pipelined:*) return 1 ;;
    cl_smaller:*) return 1 ;;
    *:4[0-9][0-9] | *:closed) return 0 ;;
    esac
    return 1
}

# abuse PORT N LABEL: N requests cycling through the kinds; checks that each
# got an acceptable answer
abuse() {
    local port=$1 n=$2 label=$3 i kind bad=0 sample=""
    local -a ks
    read -r -a ks <<<"$kinds"
    for ((i = 0; i < n; i++)); do
        kind=${ks[$((i % ${#ks[@]}))]}
        [ "$kind" = binary ] && kind="binary$((i / ${#ks[@]} % 10))"
        send_raw "$port" "$kind"
        if ! acceptable "$kind" "$GOT"; then
            bad=$((bad + 1))
            [ ${#sample} -lt 300 ] && sample="$sample $kind:'$GOT'"
        fi
    done
    check "$label: $n invalid requests each got a 4xx or a closed connection" "0 bad" \
        "$bad bad${sample:+ (e.g.$sample)}"
}

# one of each first, named, so that a failure says which
for kind in $kinds; do
    [ "$kind" = binary ] && kind=binary9
    [ "$kind" = cl_bigger ] && continue
    send_raw "$PORT" "$kind"
    check "$kind: 4xx or closed" yes "$(acceptable "$kind" "$GOT" && echo yes || echo "no ($GOT)")"
done
send_raw "$PORT" header100k
check "header100k: 431 or closed" yes "$(case $GOT in 431 | closed) echo yes ;; *) echo "no ($GOT)" ;; esac)"
send_raw "$PORT" url100k
check "url100k: 414 or closed" yes "$(case $GOT in 414 | closed) echo yes ;; *) echo "no ($GOT)" ;; esac)"

# a Content-Length smaller than the body: the daemon answers the 10 bytes it
# read with its own problem+json (malformed-json)
{ exec {fd}<>"/dev/tcp/127.0.0.1/$PORT"; } 2>/dev/null
# shellcheck disable=SC2059
printf "${REQ[cl_smaller]}" >&"$fd"
resp=$(timeout 5 head -c 2000 <&"$fd" | tr -d '\r')
exec {fd}>&-
check "cl_smaller: first answer 400" "HTTP/1.1 400" "$(echo "$resp" | head -1 | cut -c1-12)"
check "cl_smaller: a malformed-json problem" malformed-json \
    "$(echo "$resp" | grep -aoE '\{"type":"[a-z-]+"' | head -1 | sed 's/.*:"//; s/"$//')"

# a Transfer-Encoding other than chunked, with no Content-Length: RFC 9112
# 6.1 says 400 and close; a client must not be left waiting for the 30 s
# connection timeout
send_raw "$PORT" te_gzip 3
check "Transfer-Encoding: gzip: 4xx or closed within 3 s" yes \
    "$(acceptable te_gzip "$GOT" && echo yes || echo "no ($GOT)")"

abuse "$PORT" $ABUSE_N "sanitizer build"
read -r st ms <<<"$(healthz_ms)"
check "after $ABUSE_N invalid requests: /healthz 200" 200 "$st"

#=== 3. hostile JSON: the documented problems
section 'hostile JSON'

# problem NAME STATUS TYPE GOT: the last response is that problem+json
problem() {
    local name=$1 status=$2 type=$3 got=$4
    check "$name: status" "$status" "$got"
    check_match "$name: content-type" '^application/problem\+json' "$(hdr Content-Type)"
    # type, status, and that title and detail are strings, in one jq run
    check "$name: body" "$type $status string string" \
        "$(jq -r '[.type, .status, (.title|type), (.detail|type)] | map(tostring) | join(" ")' \
            "$B" 2>/dev/null || head -c 200 "$B")"
}

# field_error NAME FIELD: the 422 names FIELD in errors
field_error() {
    check "$1: errors name $2" yes \
        "$(jq -e --arg f "$2" '[.errors[]?.field] | index($f) != null' "$B" >/dev/null 2>&1 && echo yes || echo no)"
}

{ head -c 60000 /dev/zero | tr '\0' '['; } >"$G/nest60k"
{ head -c 100000 /dev/zero | tr '\0' '['; } >"$G/nest100k"
{
    printf '{"type":"PayOrder","data":'
    for _ in $(seq 1 5000); do printf '{"a":'; done
    printf '1'
    for _ in $(seq 1 5000); do printf '}'; done
    printf '}'
} >"$G/nest_objects"
problem "60,000 '['" 400 malformed-json "$(cmd "@$G/nest60k")"
problem "100,000 '[' (over the 64 KiB limit)" 413 payload-too-large "$(cmd "@$G/nest100k")"
problem "5,000 nested objects in data" 400 malformed-json "$(cmd "@$G/nest_objects")"

# numbers
problem "integer over 2^63-1" 400 malformed-json \
    "$(cmd '{"type":"PayOrder","data":{"order_id":9223372036854775808}}')"
problem "integer under -2^63" 400 malformed-json \
    "$(cmd '{"type":"PayOrder","data":{"order_id":-9223372036854775809}}')"
digits=$(head -c 5000 /dev/zero | tr '\0' 7)
problem "a 5,000-digit integer" 400 malformed-json \
    "$(cmd '{"type":"PayOrder","data":{"order_id":'"$digits"'}}')"
# a real that overflows a double: API.md names no answer; either the
# parser's 400 malformed-json or the field's 422
for lit in 1e400 -1e400 "$digits.5"; do
    st=$(cmd '{"type":"PayOrder","data":{"order_id":'"$lit"'}}')
    case "$st:$(jq -r .type "$B" 2>/dev/null)" in
    400:malformed-json) got=ok ;;
    422:validation-failed) got=$(jq -r '.errors[0].field' "$B") ;;
    *) got="$st $(head -c 200 "$B")" ;;
    esac
    check "order_id $(echo "$lit" | cut -c1-12) (overflows a double): 400 or 422 on data.order_id" \
        yes "$(case $got in ok | data.order_id) echo yes ;; *) echo "no ($got)" ;; esac)"
    check_match "order_id $(echo "$lit" | cut -c1-12): problem+json" '^application/problem\+json' "$(hdr Content-Type)"
done
for lit in 1e2 1E+2 1.0 5e-1 1e-400 -0 0 -1; do
    problem "order_id $(echo "$lit" | cut -c1-12)" 422 validation-failed \
        "$(cmd '{"type":"PayOrder","data":{"order_id":'"$lit"'}}')"
    field_error "order_id $(echo "$lit" | cut -c1-12)" data.order_id
done
problem "price_cents 1e11 (an exponent)" 422 validation-failed \
    "$(cmd '{"type":"CreateProduct","data":{"sku":"'"$sku"'","name":"n","category":"c","price_cents":1e11}}')"
field_error "price_cents 1e11" data.price_cents
problem "quantity 2e0 in items" 422 validation-failed \
    "$(cmd '{"type":"PlaceOrder","data":{"customer_id":1,"items":[{"product_id":1,"quantity":2e0}]}}')"
field_error "quantity 2e0" 'data.items[0].quantity'

# invalid UTF-8, surrogates, NUL
printf '{"type":"CreateProduct","data":{"sku":"%s","name":"\377\376","category":"c","price_cents":1}}' "$sku" >"$G/utf8_ff"
printf '{"type":"CreateProduct","data":{"sku":"%s","name":"\300\257","category":"c","price_cents":1}}' "$sku" >"$G/utf8_overlong"
printf '{"type":"CreateProduct","data":{"sku":"%s","name":"\355\240\200","category":"c","price_cents":1}}' "$sku" >"$G/utf8_surrogate"
printf '{"type":"CreateProduct","data":{"sku":"%s","name":"ab\303","category":"c","price_cents":1}}' "$sku" >"$G/utf8_cut"
printf '{"type":"CreateProduct","data":{"sku":"%s","name":"\364\220\200\200","category":"c","price_cents":1}}' "$sku" >"$G/utf8_over_max"
printf '{"type":"Pay\377Order","data":{}}' >"$G/utf8_type"
printf '{"type":"CreateProduct","data":{"s\377ku":"x"}}' >"$G/utf8_key"
for f in utf8_ff utf8_overlong utf8_surrogate utf8_cut utf8_over_max utf8_type utf8_key; do
    problem "invalid UTF-8 ($f)" 400 malformed-json "$(cmd "@$G/$f")"
done
for s in '\ud800' '\udc00' '\udbff\u0041' 'a\ud83d'; do
    problem "lone surrogate $s" 400 malformed-json \
        "$(cmd '{"type":"CreateProduct","data":{"sku":"'"$sku"'","name":"'"$s"'","category":"c","price_cents":1}}')"
done
# a valid pair is one character: only price_cents is wrong
problem "surrogate pair is a valid name" 422 validation-failed \
    "$(cmd '{"type":"CreateProduct","data":{"sku":"'"$sku"'","name":"\ud83d\ude00","category":"c","price_cents":-1}}')"
check "surrogate pair: only price_cents is invalid" data.price_cents "$(jq -r '[.errors[].field] | join(",")' "$B" 2>/dev/null)"
printf '{"type":"CreateProduct","data":{"sku":"%s","name":"a\000b","category":"c","price_cents":1}}' "$sku" >"$G/nul_raw"
printf '{"type":"CreateProduct","data":{"sku":"%s","name":"ab","category":"c","price_cents":1}}\000' "$sku" >"$G/nul_after"
printf '\000{"type":"PayOrder","data":{"order_id":1}}' >"$G/nul_before"
problem "raw NUL inside a string" 400 malformed-json "$(cmd "@$G/nul_raw")"
problem "raw NUL after the document" 400 malformed-json "$(cmd "@$G/nul_after")"
problem "raw NUL before the document" 400 malformed-json "$(cmd "@$G/nul_before")"
problem "escaped NUL in a value" 400 malformed-json \
    "$(cmd '{"type":"CreateProduct","data":{"sku":"'"$sku"'","name":"a\u0000b","category":"c","price_cents":1}}')"
problem "escaped NUL in a key" 400 malformed-json \
    "$(cmd '{"type":"PayOrder","data":{"order_id\u0000":1}}')"
problem "escaped NUL in type" 400 malformed-json \
    "$(cmd '{"type":"PayOrder\u0000x","data":{"order_id":1}}')"
# a long unknown member: errors names it whole ("data.<name>"). Found by
# tests/fuzz/fuzz_command: a name cut at jv.c's 160-byte field buffer in the
# middle of a UTF-8 character made json_string() fail, and the error item had
# no "field" at all.
# names_member FIELD: "yes" when errors[0].field is FIELD, else a short account
names_member() {
    local got
    got=$(jq -r '.errors[0].field' "$B" 2>/dev/null)
    [ "$got" = "$1" ] && echo yes && return
    echo "no: ${#got} characters, not ${#1}: '$(echo "$got" | cut -c1-12)...$(echo "$got" | rev | cut -c1-6 | rev)'"
}
long_utf8="$(head -c 153 /dev/zero | tr '\0' a)ééé"
problem "unknown member with a 159-byte name (non-ASCII)" 422 validation-failed \
    "$(cmd '{"type":"PayOrder","data":{"order_id":1,"'"$long_utf8"'":1}}')"
check "unknown member with a 159-byte name (non-ASCII): errors[0].field names it" yes \
    "$(names_member "data.$long_utf8")"
long_ascii=$(head -c 200 /dev/zero | tr '\0' b)
problem "unknown member with a 200-byte name" 422 validation-failed \
    "$(cmd '{"type":"PayOrder","data":{"order_id":1,"'"$long_ascii"'":1}}')"
check "unknown member with a 200-byte name: errors[0].field names it" yes \
    "$(names_member "data.$long_ascii")"
check "no product was created by any of these" "" "$(sql "SELECT id FROM products WHERE sku = '$sku'")"
read -r st ms <<<"$(healthz_ms)"
check "after the hostile JSON: /healthz 200" 200 "$st"

#=== 4. a connection flood, held by a background shell
section 'flood'

# flood PORT N DIR: open up to N idle connections, write the count to
# DIR/opened, hold them until killed
flood() {
    local port=$1 n=$2 dir=$3 fds=() fd i
    for ((i = 0; i < n; i++)); do
        { exec {fd}<>"/dev/tcp/127.0.0.1/$port"; } 2>/dev/null || break
        fds+=("$fd")
        [ $((i % 100)) -eq 99 ] && echo "$((i + 1))" >"$dir/progress"
    done
    echo "${#fds[@]}" >"$dir/opened"
    # hold them with a builtin (a child process would inherit the sockets)
    mkfifo "$dir/hold" && exec {fd}<>"$dir/hold" && read -r -t 120 -u "$fd" _
}
FL="$T_CASE/flood"
mkdir -p "$FL"
t0=$(now_ms)
flood "$PORT" "$FLOOD_N" "$FL" &
flood_pid=$!
for _ in $(seq 1 300); do # up to 30 s
    [ -s "$FL/opened" ] && break
    sleep 0.1
done
opened=$(cat "$FL/opened" 2>/dev/null || echo "only $(cat "$FL/progress" 2>/dev/null) after 30 s")
echo "info: $opened flood connections opened in $(($(now_ms) - t0)) ms"
check "flood: $FLOOD_N connections opened (or refused: none hang)" "$FLOOD_N" "$opened"
read -r st ms <<<"$(healthz_ms)"
check "flood held: /healthz answers or is refused within 3 s" yes \
    "$([ "$ms" -lt 3000 ] && echo yes || echo "no ($st after ${ms} ms)")"
check "flood held: /healthz 200 (the flood is under the 4000 connection limit)" 200 "$st"
kill -9 "$flood_pid" 2>/dev/null
wait "$flood_pid" 2>/dev/null
ok=no
for _ in $(seq 1 50); do # up to 5 s for the daemon to see the closes
    read -r st ms <<<"$(healthz_ms)"
    [ "$st" = 200 ] && [ "$ms" -lt 1000 ] && ok=yes && break
    sleep 0.1
done
check "flood gone: /healthz 200 within 1 s" yes "$ok"
check "flood gone: a query answers" 200 "$(get '/queries/products?limit=1' -m 5)"
check "flood gone: a command answers" 422 \
    "$(cmd '{"type":"PayOrder","data":{"order_id":0}}' -m 5)"

#=== 5. memory: the release build after 1,000 invalid requests
section 'release build memory'

rport=$(free_port)
"$CQRSD_RELEASE_BIN" --listen "127.0.0.1:$rport" --threads 4 --max-body 1048576 \
    >>"$T/daemon-abuse-rss.log" 2>&1 &
echo $! >"$T/daemon-abuse-rss.pid"
rpid=$(cat "$T/daemon-abuse-rss.pid")
up=no
for _ in $(seq 1 100); do
    curl -s -o /dev/null "http://127.0.0.1:$rport/healthz" && up=yes && break
    sleep 0.1
done
check "release daemon started" yes "$up"
if [ "$up" = yes ]; then
    RB="http://127.0.0.1:$rport"
    # 100,000 '[' under a 1 MiB limit: the parser's depth limit answers
    problem "100,000 '[' (1 MiB limit)" 400 malformed-json "$(URL_BASE=$RB cmd "@$G/nest100k")"
    # warm up: threads, pools and arenas reach their working size
    abuse "$rport" 240 "release build, warm-up"
    rss_before=$(awk '/^VmRSS:/ { print $2 }' "/proc/$rpid/status")
    abuse "$rport" $ABUSE_N "release build"
    for _ in $(seq 1 20); do URL_BASE=$RB cmd "@$G/nest100k" >/dev/null; done
    rss_after=$(awk '/^VmRSS:/ { print $2 }' "/proc/$rpid/status")
    echo "info: release daemon VmRSS ${rss_before} kB -> ${rss_after} kB"
    growth=$((rss_after - rss_before))
    check "release build: VmRSS growth after $ABUSE_N invalid requests under 8 MiB" yes \
        "$([ $growth -lt 8192 ] && echo yes || echo "no (+${growth} kB)")"
    read -r st ms <<<"$(healthz_ms "$RB")"
    check "release build: /healthz 200 after the abuse" 200 "$st"
    stop_daemon abuse-rss >"$T_CASE/rss-stop.rc" # in this shell: the daemon is our child
    check "release build: stops with 0" 0 "$(cat "$T_CASE/rss-stop.rc")"
fi

#=== 6. the slow clients were closed by the daemon
section 'slow clients: EOF'

for _ in $(seq 1 500); do # the background reader ends by its 40 s deadline
    [ -s "$SLOW/result" ] && break
    sleep 0.1
done
kill "$slow_pid" 2>/dev/null
wait "$slow_pid" 2>/dev/null
read -r closed opened last <<<"$(cat "$SLOW/result" 2>/dev/null)"
echo "info: ${closed:-?} of ${opened:-?} slow clients closed; the last after ${last:-?} ms"
for kind in 0 1 2 3 4; do # when each kind of slow client saw its EOF
    echo "info: slow kind $kind: $(grep "^$kind:" "$SLOW/closes" 2>/dev/null | cut -d: -f2 |
        sort -n | awk '/open/ { o++; next } { a[n++] = $1 } END {
            if (n) printf "closed %d, first %d ms, last %d ms", n, a[0], a[n-1]; printf "; open %d", o }')"
done
check "slow clients: every one closed by the daemon within 40 s" "$SLOW_N" "${closed:-none}"
read -r st ms <<<"$(healthz_ms)"
check "at the end: /healthz 200" 200 "$st"

finish

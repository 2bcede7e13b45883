#!/usr/bin/env bash
# 13_no_head_of_line.sh - a command that waits on a row lock holds up only its
# own handler worker (src/work.c), never the other connections that
# libmicrohttpd gave the same HTTP thread. Eight keep-alive connections are
# opened first (so they are spread over the HTTP threads), two of them send a
# command that waits on a row held by another session, and the other six
# must still get their queries answered at once.
. "$(dirname "$0")/lib.sh"

U=$(uniq_id)
port=$(own_port)
start_daemon hol "$port" --threads 4 || { finish; exit 1; }
HB="http://127.0.0.1:$port"

check create 201 "$(URL_BASE=$HB cmd "{\"type\":\"CreateProduct\",\"data\":{\"sku\":\"HOL-$U\",\"name\":\"Held\",\"category\":\"hol-$U\",\"price_cents\":100,\"stock\":5}}")"
P=$(jqb .aggregate_id)

# read_reply FD: read one HTTP/1.1 response from FD (status line, headers, a
# Content-Length body) within 2 s; prints the status code, or "none"
read_reply() {
    local fd=$1 line status=none len=0
    IFS= read -r -t 2 line <&"$fd" || { echo none; return; }
    status=$(echo "$line" | cut -d' ' -f2)
    while IFS= read -r -t 2 line <&"$fd"; do
        line=${line%$'\r'}
        [ -z "$line" ] && break
        case ${line,,} in content-length:*) len=${line#*: } ;; esac
    done
    [ "$len" -gt 0 ] && read -r -t 2 -N "$len" _ <&"$fd"
    echo "$status"
}

# open 8 keep-alive connections; one request each, so each is accepted now
fds=()
for i in $(seq 1 8); do
    exec {fd}<>"/dev/tcp/127.0.0.1/$port"
    printf 'GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n' >&"$fd"
    fds+=("$fd")
done
ok=0
for fd in "${fds[@]}"; do [ "$(read_reply "$fd")" = 200 ] && ok=$((ok + 1)); done
check "8 keep-alive connections open" 8 "$ok"

# another session holds the product's row; two connections send a command on it
lock_row "$P"
body="{\"type\":\"UpdateProductPrice\",\"data\":{\"product_id\":$P,\"price_cents\":200}}"
for fd in "${fds[0]}" "${fds[1]}"; do
    printf 'POST /commands HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s' \
        "${#body}" "$body" >&"$fd"
done
sleep 0.3
check "the two commands wait on the lock" 2 \
    "$(sql "SELECT COUNT(*) FROM information_schema.INNODB_TRX WHERE trx_state = 'LOCK WAIT'")"

# the six others: a list (which runs on a handler worker) and a GET by id, at once
slow=0
for fd in "${fds[@]:2}"; do
    t0=$(date +%s%N)
    printf 'GET /queries/products?category=hol-%s HTTP/1.1\r\nHost: x\r\n\r\n' "$U" >&"$fd"
    st1=$(read_reply "$fd")
    printf 'GET /queries/products/%s HTTP/1.1\r\nHost: x\r\n\r\n' "$P" >&"$fd"
    st2=$(read_reply "$fd")
    ms=$((($(date +%s%N) - t0) / 1000000))
    if [ "$st1 $st2" != "200 200" ] || [ "$ms" -gt 1000 ]; then
        echo "  connection $fd: $st1 $st2 in $ms ms"
        slow=$((slow + 1))
    fi
done
check "while two commands wait on a lock, the other connections answer within 1 s" 0 "$slow"

# release: both commands go through (no expected_version: both succeed)
unlock_row
st=""
for fd in "${fds[0]}" "${fds[1]}"; do st="$st $(read_reply "$fd")"; done
check "the waiting commands answer once the lock is gone" " 200 200" "$st"
for fd in "${fds[@]}"; do exec {fd}>&-; done
stop_daemon hol >"$T_CASE/stop" 2>&1
check "daemon stops" 0 "$(cat "$T_CASE/stop")"
finish

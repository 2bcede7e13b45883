#!/usr/bin/env bash
# 42_stream.sh - GET /queries/events/stream (API.md): Server-Sent Events with
# id/event/data, Last-Event-ID over ?after=, the head by default; a new event
# reaches every client within 1 s; 500 streams on a daemon with 2 worker
# threads leave ordinary queries answering within 50 ms.
. "$(dirname "$0")/lib.sh"
ulimit -n 4096 2>/dev/null

U=$(uniq_id)
head_pos() { get "/queries/events?after=$1&limit=1000" >/dev/null; jqb .next_after; }

#=== the format, from ?after= ===
check create 201 "$(cmd "{\"type\":\"CreateProduct\",\"data\":{\"sku\":\"ST-$U\",\"name\":\"Stream\",\"category\":\"st-$U\",\"price_cents\":100,\"stock\":5}}")"
P=$(jqb .aggregate_id)
POS=$(jqb .position)
curl -s -N --max-time 2 -D "$T_CASE/sh" "$BASE/queries/events/stream?after=$((POS - 1))" >"$T_CASE/s1" 2>/dev/null
check stream-status 200 "$(head -1 "$T_CASE/sh" | cut -d' ' -f2)"
check_match stream-content-type '^text/event-stream' "$(grep -i '^content-type:' "$T_CASE/sh" | cut -d' ' -f2 | tr -d '\r')"
check stream-first-id "id: $POS" "$(grep -m1 '^id:' "$T_CASE/s1")"
check stream-first-event "event: ProductCreated" "$(grep -m1 '^event:' "$T_CASE/s1")"
check stream-first-data "$POS ProductCreated $P" \
    "$(grep -m1 '^data:' "$T_CASE/s1" | sed 's/^data: //' | jq -r '"\(.position) \(.type) \(.aggregate_id)"')"

#=== Last-Event-ID wins over ?after= ===
curl -s -N --max-time 1 -H "Last-Event-ID: $POS" "$BASE/queries/events/stream?after=0" >"$T_CASE/s2" 2>/dev/null
check last-event-id-wins "" "$(grep -m1 "^id: $POS\$" "$T_CASE/s2")"
check_match bad-after-400 400 "$(get "/queries/events/stream?after=x")"

#=== the head by default; a new event reaches a client within 1 s ===
curl -s -N --max-time 4 "$BASE/queries/events/stream" >"$T_CASE/s3" 2>/dev/null &
sp=$!
sleep 0.5
check restock 200 "$(cmd "{\"type\":\"RestockProduct\",\"data\":{\"product_id\":$P,\"quantity\":1}}")"
RPOS=$(jqb .position)
t0=$(date +%s%N)
seen=no
for _ in $(seq 1 40); do
    if grep -q "^id: $RPOS\$" "$T_CASE/s3"; then seen=yes; break; fi
    sleep 0.05
done
ms=$((($(date +%s%N) - t0) / 1000000))
check new-event-within-1s "yes" "$([ $seen = yes ] && [ $ms -le 1000 ] && echo yes || echo "no ($seen, $ms ms)")"
check head-default-no-old-events "" "$(grep -m1 "^id: $POS\$" "$T_CASE/s3")"
wait $sp 2>/dev/null

#=== 500 streams, 2 worker threads: queries still answer within 50 ms ===
port=$(free_port)
start_daemon stream2 "$port" --threads 2 || { finish; exit 1; }
S2="http://127.0.0.1:$port"
fds=()
for i in $(seq 1 500); do
    if exec {fd}<>"/dev/tcp/127.0.0.1/$port"; then
        printf 'GET /queries/events/stream HTTP/1.1\r\nHost: x\r\n\r\n' >&$fd
        fds+=("$fd")
    fi
done
check streams-open 500 "${#fds[@]}"
sleep 1
best=999
for _ in 1 2 3 4 5; do
    t=$(curl -s -o /dev/null -w '%{time_total}' "$S2/queries/products/$P")
    t=$(awk -v t="$t" 'BEGIN { printf "%d", t * 1000 }')
    [ "$t" -lt "$best" ] && best=$t
done
check query-within-50ms-beside-500-streams yes "$([ "$best" -le 50 ] && echo yes || echo "no (${best} ms)")"
check restock2 200 "$(URL_BASE=$S2 cmd "{\"type\":\"RestockProduct\",\"data\":{\"product_id\":$P,\"quantity\":1}}")"
R2=$(jqb .position)
# a sample of the 500 streams got it within 1 s
got=0
for k in 0 99 249 400 499; do
    fd=${fds[$k]}
    deadline=$(($(date +%s%N) + 1500000000))
    while [ "$(date +%s%N)" -lt "$deadline" ]; do
        if IFS= read -r -t 1 line <&$fd && [ "${line%$'\r'}" = "id: $R2" ]; then
            got=$((got + 1))
            break
        fi
    done
done
check streams-got-the-event 5 "$got"
for fd in "${fds[@]}"; do exec {fd}>&-; done
check healthz-after-streams-closed 200 "$(curl -s -o /dev/null -w '%{http_code}' "$S2/healthz")"
stop_daemon stream2 >"$T_CASE/stop" 2>&1
check stream-daemon-stops-0 0 "$(cat "$T_CASE/stop")"
finish

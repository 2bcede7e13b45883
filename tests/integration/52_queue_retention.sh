#!/usr/bin/env bash
# 52_queue_retention.sh - the command queue does not grow forever: commands
# that succeeded more than 7 days ago are removed (their status is gone, their
# key free again); younger ones and failed ones (dead letters, for the
# operator) stay. The purge runs when a daemon starts and then every minute
# (the shared daemon may be the one that logs it).
. "$(dirname "$0")/lib.sh"

U=$(uniq_id)
acmd() { # acmd KEY JSON: an asynchronous command with that Idempotency-Key
    cmd "$2" -H 'Prefer: respond-async' -H "Idempotency-Key: $1"
}
# wait_done KEY: until its command succeeded or failed (5 s at most); prints the status
wait_done() {
    local st=none
    for _ in $(seq 1 100); do
        st=$(sql "SELECT status FROM command_queue WHERE command_id = '$1'")
        case $st in succeeded | failed) break ;; esac
        sleep 0.05
    done
    echo "$st"
}
row_count() { sql "SELECT COUNT(*) FROM command_queue WHERE command_id = '$1'"; }

check create 201 "$(cmd "{\"type\":\"CreateProduct\",\"data\":{\"sku\":\"QR-$U\",\"name\":\"Kept\",\"category\":\"qr-$U\",\"price_cents\":100,\"stock\":5}}")"
P=$(jqb .aggregate_id)
OLD="qr-old-$U" YOUNG="qr-young-$U" DEAD="qr-dead-$U"
check old-accepted 202 "$(acmd "$OLD" "{\"type\":\"UpdateProductPrice\",\"data\":{\"product_id\":$P,\"price_cents\":101}}")"
check young-accepted 202 "$(acmd "$YOUNG" "{\"type\":\"UpdateProductPrice\",\"data\":{\"product_id\":$P,\"price_cents\":102}}")"
check dead-accepted 202 "$(acmd "$DEAD" "{\"type\":\"UpdateProductPrice\",\"data\":{\"product_id\":999999999,\"price_cents\":103}}")"
check old-succeeded succeeded "$(wait_done "$OLD")"
check young-succeeded succeeded "$(wait_done "$YOUNG")"
check dead-failed failed "$(wait_done "$DEAD")"

# age them: 8 days, 6 days, 8 days
sql "UPDATE command_queue SET created_at = UTC_TIMESTAMP(3) - INTERVAL 8 DAY,
         finished_at = UTC_TIMESTAMP(3) - INTERVAL 8 DAY WHERE command_id IN ('$OLD', '$DEAD');
     UPDATE command_queue SET created_at = UTC_TIMESTAMP(3) - INTERVAL 6 DAY,
         finished_at = UTC_TIMESTAMP(3) - INTERVAL 6 DAY WHERE command_id = '$YOUNG'"

# a daemon that starts purges at once
port=$(own_port)
start_daemon qr "$port" || { finish; exit 1; }
gone=no
for _ in $(seq 1 100); do
    [ "$(row_count "$OLD")" = 0 ] && { gone=yes; break; }
    sleep 0.05
done
check "succeeded 8 days ago: removed" yes "$gone"
check "succeeded 6 days ago: kept" 1 "$(row_count "$YOUNG")"
check "failed 8 days ago: kept (a dead letter)" 1 "$(row_count "$DEAD")"
check "GET /commands/{old}: 404" 404 "$(URL_BASE="http://127.0.0.1:$port" get "/commands/$OLD")"
check "GET /commands/{young}: still there" "200 succeeded" "$(URL_BASE="http://127.0.0.1:$port" get "/commands/$YOUNG") $(jqb .status)"
check "GET /commands/{dead}: still there" "200 failed" "$(URL_BASE="http://127.0.0.1:$port" get "/commands/$DEAD") $(jqb .status)"
check_match "the purge is logged" 'removed [0-9]+ commands that succeeded over 7 days ago' \
    "$(cat "$T/daemon-qr.log" "$T/daemon-main.log" | grep -o 'removed [0-9]* commands that succeeded over 7 days ago' | head -1)"
stop_daemon qr >"$T_CASE/stop" 2>&1
check "daemon stops" 0 "$(cat "$T_CASE/stop")"
finish

#!/usr/bin/env bash
# 45_stream_heartbeat.sh - an idle event stream gets a comment line as a
# heartbeat at least every 15 s (API.md), so that proxies and clients keep it
# open; the stream stays open meanwhile. Takes about 17 s.
. "$(dirname "$0")/lib.sh"

port=$(own_port)
start_daemon hb "$port" || { finish; exit 1; }
t0=$(date +%s%N)
curl -s -N --max-time 17 "http://127.0.0.1:$port/queries/events/stream" >"$T_CASE/s" 2>/dev/null
rc=$?
ms=$((($(date +%s%N) - t0) / 1000000))
check "the idle stream stayed open until the client left (curl timed out)" 28 "$rc"
check "a heartbeat comment within 17 s" ": heartbeat" "$(grep -m1 '^:' "$T_CASE/s")"
check "nothing but the retry hint and comments on an idle stream" "" \
    "$(grep -v -e '^retry: ' -e '^: ' -e '^$' "$T_CASE/s")"
check "the client waited the whole 17 s" yes "$([ "$ms" -ge 16500 ] && echo yes || echo "no ($ms ms)")"
stop_daemon hb >"$T_CASE/stop" 2>&1
check "daemon stops" 0 "$(cat "$T_CASE/stop")"
finish

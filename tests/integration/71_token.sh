#!/usr/bin/env bash
# 71_token.sh - --command-token-file (OPERATING.md, API.md "Authorization"):
# the token acts as admin, products stay public, the file must not be
# readable by others, SIGHUP re-reads it, and its idempotency keys live in
# the admin scope, which a new token keeps (74_authz covers the JWT roles).
. "$(dirname "$0")/lib.sh"

U=$(uniq_id)
TOK="$T_CASE/token"
printf 'first-%s\n' "$U" >"$TOK"
chmod 644 "$TOK"
port=$(free_port)
"$CQRSD_BIN" --listen "127.0.0.1:$port" --command-token-file "$TOK" >"$T_CASE/refused.out" 2>&1
check refuses-world-readable-exit 2 "$?"
check_match refuses-world-readable-says 'readable by others' "$(cat "$T_CASE/refused.out")"
check refuses-one-line 1 "$(wc -l <"$T_CASE/refused.out")"
chmod 600 "$TOK"
start_daemon token "$port" --command-token-file "$TOK" || { finish; exit 1; }
URL_BASE="http://127.0.0.1:$port"
export URL_BASE
body="{\"type\":\"CreateProduct\",\"data\":{\"sku\":\"TK-$U\",\"name\":\"Token\",\"category\":\"tk-$U\",\"price_cents\":1,\"stock\":1}}"

check no-token-401 401 "$(cmd "$body")"
check no-token-type unauthorized "$(jqb .type)"
check no-token-www-authenticate Bearer "$(hdr WWW-Authenticate)"
check_match no-token-problem-json '^application/problem\+json' "$(hdr Content-Type)"
check wrong-token-401 401 "$(cmd "$body" -H "Authorization: Bearer first-$U-x")"
check prefix-token-401 401 "$(cmd "$body" -H "Authorization: Bearer first")"
check basic-scheme-401 401 "$(cmd "$body" -H "Authorization: Basic Zmlyc3Q=")"
# a token that was sent and is not valid: 401 before anything else; none sent: 415 first
check 401-before-415 401 "$(curl -s -o /dev/null -w '%{http_code}' -H 'Content-Type: text/plain' -H "Authorization: Bearer first-$U-x" --data-binary x "$URL_BASE/commands")"
check no-token-415-first 415 "$(curl -s -o /dev/null -w '%{http_code}' -H 'Content-Type: text/plain' --data-binary x "$URL_BASE/commands")"
check right-token-201 201 "$(cmd "$body" -H "Authorization: Bearer first-$U")"
P=$(jqb .aggregate_id)
check query-open 200 "$(get "/queries/products/$P")"
check commands-list-needs-token 401 "$(get "/commands")"
check commands-list-with-token 200 "$(get "/commands" -H "Authorization: Bearer first-$U")"

# a keyed command under the first token
restock="{\"type\":\"RestockProduct\",\"data\":{\"product_id\":$P,\"quantity\":1}}"
check keyed-first 200 "$(cmd "$restock" -H "Authorization: Bearer first-$U" -H "Idempotency-Key: tk-$U")"
check keyed-first-replay 200 "$(cmd "$restock" -H "Authorization: Bearer first-$U" -H "Idempotency-Key: tk-$U")"
check keyed-first-replayed true "$(hdr Idempotent-Replayed)"

# SIGHUP: the new token replaces the old one
printf 'second-%s\n' "$U" >"$TOK"
kill -HUP "$(cat "$T/daemon-token.pid")"
new=000
for _ in $(seq 1 50); do
    new=$(cmd "$restock" -H "Authorization: Bearer second-$U")
    [ "$new" = 200 ] && break
    sleep 0.1
done
check sighup-new-token 200 "$new"
check sighup-old-token-401 401 "$(cmd "$restock" -H "Authorization: Bearer first-$U")"
# the token is the admin principal, whatever its value: the same key under the
# new token replays (a rotation never runs a retried command twice)
check keyed-second-replays 200 "$(cmd "$restock" -H "Authorization: Bearer second-$U" -H "Idempotency-Key: tk-$U")"
check keyed-second-replayed true "$(hdr Idempotent-Replayed)"
get "/queries/products/$P" >/dev/null
check stock-after 3 "$(jqb .stock)"

#=== 1,000 reloads: each takes effect, commands keep working, memory stays flat ===

# The release build (the sanitizer's quarantine keeps every freed block, so
# its RSS grows with any activity), with one worker thread (each worker has
# its own connections: a first command on a new one would grow the RSS).
rport=$(free_port)
CQRSD_BIN=$CQRSD_RELEASE_BIN start_daemon tokrel "$rport" --command-token-file "$TOK" --threads 1 ||
    { finish; exit 1; }
URL_BASE="http://127.0.0.1:$rport"
# hups NAME: SIGHUPs the daemon NAME has handled (logged, whether the reload took or not)
hups() { grep -c 'SIGHUP' "$T/daemon-$1.log"; }
rereads() { grep -c 'command token re-read' "$T/daemon-$1.log"; }
rss_kb() { awk '/^VmRSS:/ { print $2 }' "/proc/$(cat "$T/daemon-$1.pid")/status"; }
# reload NAME N: write token genN, SIGHUP the daemon NAME, wait until it has handled it
reload() {
    printf 'gen%d-%s\n' "$2" "$U" >"$TOK"
    kill -HUP "$(cat "$T/daemon-$1.pid")"
    for _ in $(seq 1 400); do
        [ "$(hups "$1")" -gt "$hup_seen" ] && hup_seen=$((hup_seen + 1)) && return 0
        sleep 0.005
    done
    return 1
}
hup_seen=$(hups tokrel)
cmds_ok=0
rss100=""
for i in $(seq 1 1000); do
    reload tokrel "$i" || break
    if [ $((i % 100)) -eq 0 ]; then
        [ "$(cmd "$restock" -H "Authorization: Bearer gen$i-$U")" = 200 ] && cmds_ok=$((cmds_ok + 1))
        [ "$i" -eq 100 ] && rss100=$(rss_kb tokrel)
    fi
done
rss1000=$(rss_kb tokrel)
check "1,000 SIGHUPs handled" 1000 "$(hups tokrel)"
check "1,000 SIGHUPs re-read the token" 1000 "$(rereads tokrel)"
check "no reload refused" "" "$(grep 'SIGHUP:.*keeping' "$T/daemon-tokrel.log" | head -1)"
check "a command with the current token after every 100 reloads" 10 "$cmds_ok"
check "the last token works" 200 "$(cmd "$restock" -H "Authorization: Bearer gen1000-$U")"
check "the one before it is 401" 401 "$(cmd "$restock" -H "Authorization: Bearer gen999-$U")"
check "the first one is 401" 401 "$(cmd "$restock" -H "Authorization: Bearer first-$U")"
grown=$((${rss1000:-0} - ${rss100:-0}))
echo "   RSS after 100 reloads ${rss100:-?} kB, after 1,000 ${rss1000:-?} kB"
check "RSS from 100 to 1,000 reloads grows less than 1 MiB" yes \
    "$([ -n "$rss100" ] && [ "$grown" -lt 1024 ] && echo yes || echo "no (+$grown kB)")"
stop_daemon tokrel >"$T_CASE/stop-tokrel"
check "release daemon stops with 0" 0 "$(cat "$T_CASE/stop-tokrel")"

# the sanitizer build reloads while other threads compare tokens: wrong
# tokens stay 401, queries 200
URL_BASE="http://127.0.0.1:$port"
rm -f "$T_CASE/bg.bad" "$T_CASE/bg.stop"
: >"$T_CASE/bg.count"
bg_client() { # bg_client WANT CURL-ARGS...: until bg.stop, note any other status
    local want=$1 st
    shift
    while [ ! -e "$T_CASE/bg.stop" ]; do
        st=$(curl -s -o /dev/null -w '%{http_code}' "$@")
        [ "$st" = "$want" ] || echo "$st $*" >>"$T_CASE/bg.bad"
        echo >>"$T_CASE/bg.count"
    done
}
bg_client 401 -H 'Content-Type: application/json' -H "Authorization: Bearer gen1000-$U-x" \
    --data-binary "$restock" "$URL_BASE/commands" &
bg1=$!
bg_client 200 "$URL_BASE/queries/products/$P" &
bg2=$!
hup_seen=$(hups token)
n0=$hup_seen
for i in $(seq 1001 1200); do
    reload token "$i" || break
done
touch "$T_CASE/bg.stop"
wait $bg1 $bg2
check "200 reloads under concurrent requests: all handled" 200 "$(($(hups token) - n0))"
check "and all re-read the token" 201 "$(rereads token)"
check "concurrent requests got what they should" "" "$(head -3 "$T_CASE/bg.bad" 2>/dev/null)"
check_match "concurrent requests ran" '^[1-9][0-9]+$' "$(grep -c '' "$T_CASE/bg.count")"
check "after them the last token works" 200 "$(cmd "$restock" -H "Authorization: Bearer gen1200-$U")"
check "the one before it is 401" 401 "$(cmd "$restock" -H "Authorization: Bearer gen1199-$U")"
get "/queries/products/$P" >/dev/null
check "every restock counted" 15 "$(jqb .stock)"
stop_daemon token >"$T_CASE/stop"
check stops-0 0 "$(cat "$T_CASE/stop")"
finish

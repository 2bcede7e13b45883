#!/usr/bin/env bash
# 71_token.sh - --command-token-file (OPERATING.md, API.md 401): commands
# need the bearer token, queries stay open, the file must not be readable by
# others, SIGHUP re-reads it, idempotency keys are scoped per token.
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
check 401-before-415 401 "$(curl -s -o /dev/null -w '%{http_code}' -H 'Content-Type: text/plain' --data-binary x "$URL_BASE/commands")"
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
# the same key under the new token is another key: it runs, it is not replayed
check keyed-second-runs 200 "$(cmd "$restock" -H "Authorization: Bearer second-$U" -H "Idempotency-Key: tk-$U")"
check keyed-second-not-replayed "" "$(hdr Idempotent-Replayed)"
get "/queries/products/$P" >/dev/null
check stock-after 4 "$(jqb .stock)"
stop_daemon token >"$T_CASE/stop"
check stops-0 0 "$(cat "$T_CASE/stop")"
finish

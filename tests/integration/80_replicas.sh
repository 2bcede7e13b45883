#!/usr/bin/env bash
# 80_replicas.sh - read replicas and read-your-writes (API.md "Read replicas
# and read-your-writes", OPERATING.md --replica-dsn, --max-replica-lag,
# --consistency-wait-ms, --consistency-fallback) on a primary and two
# replicas of its own (scripts/replicas.sh: GTID replication, row-based
# binlog; `cqrsd migrate` on the primary only, the rest by replication):
#   1. 1,000 write-then-read pairs from 8 clients (replica_load.py), one
#      replica delayed by a second (MASTER_DELAY=1): with the token every
#      read sees its write, and most are served by replicas; without it
#      some reads are stale (the proof that the check can fail);
#   2. the header: several tokens at once, 32 at most, malformed ones 400
#      invalid-parameter, a well-formed token never issued answered by the
#      primary within the wait bound; with --consistency-fallback none 503
#      replica-lagging with Retry-After; without replicas no token is given
#      and one sent is ignored;
#   3. a replica whose SQL thread stops, one killed, one lagging past
#      --max-replica-lag 1 (MASTER_DELAY=3 under writes): each leaves the
#      pool within a second (metric and log line) and rejoins when healthy;
#      meanwhile a reader never gets anything but 200, writers with tokens
#      always read their writes, and /readyz stays 200;
#   4. /metrics has the replica, read-target and token-outcome families;
#   5. `cqrsd verify-views` pointed at a replica finds it equal to the write
#      model after the mixed workload, and finds a replica's damaged row.
. "$(dirname "$0")/lib.sh"

TOP=$(cd "$(dirname "$0")/../.." && pwd)
LOAD="$(dirname "$0")/replica_load.py"
RS="$T_CASE/set"
PP=$(own_port)
R1P=$(own_port)
while [ "$R1P" = "$PP" ]; do R1P=$(own_port); done
R2P=$(own_port)
while [ "$R2P" = "$PP" ] || [ "$R2P" = "$R1P" ]; do R2P=$(own_port); done
R1="127.0.0.1:$R1P" # the replicas' names in metrics and log lines
R2="127.0.0.1:$R2P"
R1DSN="mysql://cqrs_reader:cqrs_reader@$R1/cqrs"
R2DSN="mysql://cqrs_reader:cqrs_reader@$R2/cqrs"
STOP="$T_CASE/stop-load"
started=""
bg=""

cleanup() {
    local n p
    touch "$STOP"
    for p in $bg; do wait "$p" 2>/dev/null; done
    for n in $started; do
        [ -f "$T/daemon-$n.pid" ] && stop_daemon "$n" >/dev/null
    done
    sh "$TOP/scripts/replicas.sh" stop "$RS" >/dev/null 2>&1
}
trap cleanup EXIT

rs() { sh "$TOP/scripts/replicas.sh" "$@"; }
rsql() { rs sql "$RS" "$1" "$2"; }

# daemon NAME [args...]: one of this script's daemons on a port of its own;
# sets PORT_<NAME>
daemon() {
    local name=$1 port
    shift
    port=$(own_port)
    start_daemon "$name" "$port" "$@" || return 1
    started="$started $name"
    printf -v "PORT_$name" %s "$port"
}
url() { local v="PORT_$1"; echo "http://127.0.0.1:${!v}"; }

# metric NAME KEY: a sample's value on daemon NAME's /metrics (KEY with labels)
metric() { curl -s "$(url "$1")/metrics" | awk -v k="$2" '$1 == k { print $2 }'; }
healthy() { metric "$1" "cqrsd_replica_healthy{replica=\"$2\"}"; }
reads() { metric "$1" "cqrsd_reads_total{target=\"$2\"}"; }
outcome() { metric "$1" "cqrsd_consistency_tokens_total{outcome=\"$2\"}"; }
# outcomes NAME: the token outcomes of daemon NAME, summed (a missing one as 0:
# part 4 checks that every one is there)
outcomes() {
    curl -s "$(url "$1")/metrics" | awk '$1 ~ /^cqrsd_consistency_tokens_total\{/ { s += $2 } END { print s + 0 }'
}
now_ms() { echo $(($(date +%s%N) / 1000000)); }

# until_healthy NAME REPLICA WANT SECONDS: poll every 50 ms until daemon NAME
# says cqrsd_replica_healthy WANT for REPLICA; prints the milliseconds it
# took, or "timeout (last: VALUE)"
until_healthy() {
    local t0 v end
    t0=$(now_ms)
    end=$((t0 + $4 * 1000))
    while :; do
        v=$(healthy "$1" "$2")
        [ "$v" = "$3" ] && { echo $(($(now_ms) - t0)); return; }
        [ "$(now_ms)" -gt "$end" ] && { echo "timeout (last: '$v')"; return; }
        sleep 0.05
    done
}
# within NAME MS BOUND: check that MS is a number no greater than BOUND
within() {
    echo "   $1: $2 ms"
    check "$1" "at most $3 ms" "$([ "$2" -le "$3" ] 2>/dev/null && echo "at most $3 ms" || echo "$2")"
}

# tok JSON: POST /commands to daemon A; prints its consistency_token
tok() { post /commands "$1" >/dev/null && jqb '.consistency_token // empty'; }

#=== a primary and two replicas, the second one a second behind ===

if ! rs start "$RS" "$PP" "$R1P" "$R2P:1" >"$T_CASE/set.out" 2>&1; then
    cat "$T_CASE/set.out"
    echo "FAIL the primary and its replicas did not start"
    fail=$((fail + 1))
    finish
    exit
fi
export DB_DIR="$RS/primary" DB_PORT="$PP" # lib.sh's sql: the primary
export CQRSD_ADMIN_DSN="mysql://root@127.0.0.1:$PP/"
export CQRSD_WRITE_DSN="mysql://cqrs_writer:cqrs_writer@127.0.0.1:$PP/cqrs"
export CQRSD_READ_DSN="mysql://cqrs_reader:cqrs_reader@127.0.0.1:$PP/cqrs"
"$CQRSD_BIN" migrate >"$T_CASE/migrate.out" 2>&1
check migrate-on-primary 0 $?
for r in replica1:0 replica2:1; do
    check "setup-${r%:*}-replicates (IO, SQL, delay)" "Yes Yes ${r#*:}" \
        "$(mariadb --no-defaults -uroot --socket="$RS/${r%:*}/s.sock" -E -e "SHOW SLAVE STATUS" |
            awk '$1 ~ /^Slave_(IO|SQL)_Running:$/ { printf "%s ", $2 } $1 == "SQL_Delay:" { d = $2 } END { printf "%s", d }')"
done
rs sync "$RS" 30
primary_schema=$(rsql primary "SELECT COUNT(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA = 'cqrs';
    SELECT COUNT(*) FROM information_schema.TRIGGERS WHERE TRIGGER_SCHEMA = 'cqrs'" | tr '\n' ' ')
check_match setup-primary-schema '^[1-9][0-9]* [1-9][0-9]* $' "$primary_schema"
for r in replica1:$R1P replica2:$R2P; do
    check "setup-${r%:*}-schema-and-triggers-by-replication" "$primary_schema" \
        "$(rsql "${r%:*}" "SELECT COUNT(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA = 'cqrs';
            SELECT COUNT(*) FROM information_schema.TRIGGERS WHERE TRIGGER_SCHEMA = 'cqrs'" | tr '\n' ' ')"
    check "setup-${r%:*}-the-reader-account-by-replication" 1 \
        "$(mariadb --no-defaults -h127.0.0.1 -P"${r#*:}" -ucqrs_reader -pcqrs_reader -N -B cqrs -e "SELECT 1" 2>&1)"
done

#=== 1. read-your-writes: 1,000 pairs from 8 clients ===

daemon A --threads 8 --replica-dsn "$R1DSN" --replica-dsn "$R2DSN" --consistency-wait-ms 800 || { finish; exit; }
A=$(url A)
check a-replica1-healthy 0 "$(until_healthy A "$R1" 1 5 | grep -c timeout)"
check a-replica2-healthy 0 "$(until_healthy A "$R2" 1 5 | grep -c timeout)"

rep0=$(reads A replica)
outs0=$(outcomes A)
python3 "$LOAD" pairs "$A" --clients 8 --pairs 1000 --token >"$T_CASE/pairs-token.json" 2>"$T_CASE/pairs-token.err"
echo "   with tokens: $(cat "$T_CASE/pairs-token.json" | head -c 600)"
check pairs-token-done 1000 "$(jq .pairs "$T_CASE/pairs-token.json")"
check pairs-token-every-write-has-a-token 1000 "$(jq .tokens "$T_CASE/pairs-token.json")"
check pairs-token-no-stale-read 0 "$(jq .stale "$T_CASE/pairs-token.json")"
check pairs-token-no-error 0 "$(jq .errors "$T_CASE/pairs-token.json")"
rep1=$(reads A replica)
outs1=$(outcomes A)
check pairs-token-one-outcome-per-read 1000 $((outs1 - outs0))
echo "   token outcomes: immediate $(outcome A immediate), waited $(outcome A waited), fallback $(outcome A fallback); reads: replica $(reads A replica), primary $(reads A primary), fallback $(reads A fallback)"
# the replicas, not the primary, serve the reads with tokens
check pairs-token-most-reads-on-replicas yes \
    "$([ $((${rep1:-0} - ${rep0:-0})) -ge 500 ] && echo yes || echo "no: $((${rep1:-0} - ${rep0:-0})) of 1000")"

python3 "$LOAD" pairs "$A" --clients 8 --pairs 1000 >"$T_CASE/pairs-plain.json" 2>"$T_CASE/pairs-plain.err"
echo "   without tokens: $(cat "$T_CASE/pairs-plain.json" | head -c 300)"
check pairs-plain-done 1000 "$(jq .pairs "$T_CASE/pairs-plain.json")"
check pairs-plain-no-error 0 "$(jq .errors "$T_CASE/pairs-plain.json")"
check pairs-plain-some-stale-reads yes "$([ "$(jq .stale "$T_CASE/pairs-plain.json")" -gt 0 ] && echo yes || echo no)"

#=== 2. the X-Consistency-Token header ===

URL_BASE=$A
U=$(uniq_id)
ps=()
for i in 1 2 3; do
    st=$(cmd "{\"type\":\"CreateProduct\",\"data\":{\"sku\":\"TK-$U-$i\",\"name\":\"Token $i\",\"category\":\"tk-$U\",\"price_cents\":10,\"stock\":5}}")
    [ "$st" = 201 ] && ps+=("$(jqb .aggregate_id)")
done
check header-setup 3 "${#ps[@]}"
toks=()
for i in 0 1 2; do
    toks+=("$(tok "{\"type\":\"UpdateProductPrice\",\"data\":{\"product_id\":${ps[$i]},\"price_cents\":$((700 + i))}}")")
done
check_match header-tokens '^[^,]+ [^,]+ [^,]+$' "${toks[*]}"
all=$(IFS=,; echo "${toks[*]}")
for i in 0 1 2; do
    st=$(get "/queries/products/${ps[$i]}" -H "X-Consistency-Token: $all")
    check "header-three-tokens-product-$i" "200 $((700 + i))" "$st $(jqb .price_cents)"
done
st=$(get "/queries/products/${ps[1]}" -H "X-Consistency-Token: ${toks[0]}, ${toks[1]} ,${toks[2]}")
check header-spaces-around-commas "200 701" "$st $(jqb .price_cents)"
# every token of a list counts, not just the first or the last: with only
# the delayed replica2 in the pool, holding the first write but not the second
st=$(cmd "{\"type\":\"CreateProduct\",\"data\":{\"sku\":\"TK-$U-x\",\"name\":\"Token x\",\"category\":\"tk-$U-x\",\"price_cents\":10,\"stock\":5}}")
PX=$(jqb .aggregate_id)
rsql replica1 "STOP SLAVE SQL_THREAD"
check list-replica1-out 0 "$(until_healthy A "$R1" 0 5 | grep -c timeout)"
ta=$(tok "{\"type\":\"UpdateProductPrice\",\"data\":{\"product_id\":$PX,\"price_cents\":710}}")
check list-replica2-has-the-first 0 "$(rsql replica2 "SELECT MASTER_GTID_WAIT('$ta', 5)")"
tb=$(tok "{\"type\":\"UpdateProductPrice\",\"data\":{\"product_id\":$PX,\"price_cents\":720}}")
st=$(get "/queries/products/$PX" -H "X-Consistency-Token: $ta,$tb")
check list-first-then-missing "200 720" "$st $(jqb .price_cents)"
tc=$(tok "{\"type\":\"UpdateProductPrice\",\"data\":{\"product_id\":$PX,\"price_cents\":730}}")
st=$(get "/queries/products/$PX" -H "X-Consistency-Token: $tc,$ta")
check list-missing-then-first "200 730" "$st $(jqb .price_cents)"
rsql replica1 "START SLAVE SQL_THREAD"
check list-replica1-back 0 "$(until_healthy A "$R1" 1 5 | grep -c timeout)"
t32=$(for i in $(seq 1 32); do printf '%s,' "${toks[$((i % 3))]}"; done)
check header-32-tokens 200 "$(get "/queries/products/${ps[0]}" -H "X-Consistency-Token: ${t32%,}")"
st=$(get "/queries/products/${ps[0]}" -H "X-Consistency-Token: ${t32}${toks[0]}")
check header-33-tokens "400 invalid-parameter" "$st $(jqb .type)"
while IFS= read -r bad; do
    st=$(get "/queries/products/${ps[0]}" -H "X-Consistency-Token: $bad")
    check "header-malformed '$bad'" "400 invalid-parameter" "$st $(jqb .type)"
    check_match "header-malformed '$bad': problem+json" '^application/problem\+json' "$(hdr Content-Type)"
done <<EOF
garbage
0-1-
0-1-x
-1-5
0--5
1-2-3-
${toks[0]},,${toks[1]}
$(head -c 201 /dev/zero | tr '\0' 7)
EOF
check header-malformed-on-list "400 invalid-parameter" \
    "$(get "/queries/products?limit=1" -H 'X-Consistency-Token: nope' && printf ' ' && jqb .type)"

# well-formed, never issued: answered within the wait bound (800 ms); a
# position no replica reaches by the primary. (0-77-5: MariaDB compares
# sequence numbers per domain, and domain 0 is past 5 everywhere, so a
# replica may answer it at once.)
for never in 0-1-999999999 9-1-1 0-77-5; do
    fb0=$(outcome A fallback)
    t0=$(now_ms)
    st=$(get "/queries/products/${ps[2]}" -H "X-Consistency-Token: $never")
    ms=$(($(now_ms) - t0))
    fb1=$(outcome A fallback)
    check "unknown-token $never: answered" "200 702" "$st $(jqb .price_cents)"
    within "unknown-token $never: within the wait bound and 700 ms" "$ms" 1500
    [ "$never" = 0-77-5 ] ||
        check "unknown-token $never: outcome fallback" 1 $((${fb1:-0} - ${fb0:-0}))
done

# many queries waiting for a replica hold no handler worker: with 2 threads
# and 16 queries parked for 1,500 ms, other queries are answered meanwhile
daemon W --threads 2 --replica-dsn "$R1DSN" --replica-dsn "$R2DSN" --consistency-wait-ms 1500 || { finish; exit; }
mkdir -p "$T_CASE/parked"
t0=$(now_ms)
for i in $(seq 1 16); do
    curl -s -o /dev/null -w '%{http_code}' -H 'X-Consistency-Token: 0-1-999999999' \
        "$(url W)/queries/products/${ps[$((i % 3))]}" >"$T_CASE/parked/$i" &
    bg="$bg $!"
done
sleep 0.2
n=0
for i in 1 2 3 4 5 6; do
    [ "$(curl -s -o /dev/null -w '%{http_code}' "$(url W)/queries/products/${ps[$((i % 3))]}")" = 200 ] && n=$((n + 1))
done
[ "$(curl -s -o /dev/null -w '%{http_code}' -H 'Content-Type: application/json' --data-binary \
    "{\"type\":\"RestockProduct\",\"data\":{\"product_id\":${ps[0]},\"quantity\":1}}" "$(url W)/commands")" = 200 ] && n=$((n + 1))
ms=$(($(now_ms) - t0))
check parked-others-answered 7 "$n"
within "parked: 6 reads and a command answered while 16 queries wait 1,500 ms" "$ms" 1300
for p in $bg; do wait "$p"; done
bg=""
check parked-all-answered-200 16 "$(cat "$T_CASE"/parked/* | grep -o 200 | wc -l)"
stop_daemon W >/dev/null

# the event feed and its stream read on the primary, and take tokens too:
# checked, and none is needed (on a daemon of their own: a crash here must
# not take the others' checks along)
daemon E --threads 4 --replica-dsn "$R1DSN" --replica-dsn "$R2DSN" || { finish; exit; }
E=$(url E)
st=$(curl -s -o "$B" -w '%{http_code}' "$E/queries/events?after=0&limit=1")
check events-without-token 200 "$st"
st=$(curl -s -o "$B" -w '%{http_code}' -H "X-Consistency-Token: $all" "$E/queries/events?after=0&limit=1")
check events-with-tokens 200 "$st"
st=$(curl -s -o "$B" -w '%{http_code}' -H "X-Consistency-Token: garbage" "$E/queries/events?after=0&limit=1")
check events-malformed-token "400 invalid-parameter" "$st $(jqb .type)"
check stream-without-token 200 "$(curl -s -N -m 1 -o /dev/null -w '%{http_code}' "$E/queries/events/stream?after=0")"
check stream-token-parameter 200 \
    "$(curl -s -N -m 1 -o /dev/null -w '%{http_code}' "$E/queries/events/stream?after=0&consistency_token=${toks[2]}")"
check stream-malformed-token-parameter 400 \
    "$(curl -s -N -m 1 -o /dev/null -w '%{http_code}' "$E/queries/events/stream?after=0&consistency_token=garbage")"
check events-daemon-still-up 200 "$(curl -s -o /dev/null -w '%{http_code}' "$E/healthz")"
if kill -0 "$(cat "$T/daemon-E.pid")" 2>/dev/null && [ "$(curl -s -o /dev/null -w '%{http_code}' "$E/healthz")" = 200 ]; then
    stop_daemon E >/dev/null
else
    echo "FAIL the daemon of the event feed checks died: $(grep -E 'runtime error|ERROR|SEGV' "$T/daemon-E.log" | head -3)"
    fail=$((fail + 1))
    rm -f "$T/daemon-E.pid"
fi

# --consistency-fallback none: 503 replica-lagging with Retry-After
daemon B --threads 4 --replica-dsn "$R1DSN" --replica-dsn "$R2DSN" \
    --consistency-fallback none --consistency-wait-ms 300 || { finish; exit; }
URL_BASE=$(url B)
check b-replica1-healthy 0 "$(until_healthy B "$R1" 1 5 | grep -c timeout)"
t0=$(now_ms)
st=$(get "/queries/products/${ps[1]}" -H "X-Consistency-Token: 0-1-999999999")
ms=$(($(now_ms) - t0))
check fallback-none-status "503 replica-lagging" "$st $(jqb .type)"
check_match fallback-none-problem-json '^application/problem\+json' "$(hdr Content-Type)"
check_match fallback-none-retry-after '^[1-9][0-9]*$' "$(hdr Retry-After)"
within fallback-none-within-the-bound "$ms" 1000
check fallback-none-outcome-refused 1 "$(outcome B refused)"
# a token a replica has is served
st=$(get "/queries/products/${ps[1]}" -H "X-Consistency-Token: $all")
check fallback-none-known-token "200 701" "$st $(jqb .price_cents)"

# without replicas: no token, and one sent is ignored
daemon N --threads 4 || { finish; exit; }
URL_BASE=$(url N)
st=$(cmd "{\"type\":\"UpdateProductPrice\",\"data\":{\"product_id\":${ps[0]},\"price_cents\":800}}")
check no-replicas-no-token "200 false" "$st $(jq 'has("consistency_token")' "$B")"
t0=$(now_ms)
st=$(get "/queries/products/${ps[0]}" -H "X-Consistency-Token: 0-1-999999999")
check no-replicas-token-ignored "200 800" "$st $(jqb .price_cents)"
within no-replicas-token-no-wait $(($(now_ms) - t0)) 500
stop_daemon N >/dev/null
stop_daemon B >/dev/null
started=" A"
unset URL_BASE

#=== 3. replicas leave the pool and rejoin; no query fails meanwhile ===

rs delay "$RS" replica2 0
rs sync "$RS" 30
daemon C --threads 8 --replica-dsn "$R1DSN" --replica-dsn "$R2DSN" --max-replica-lag 1 \
    --consistency-wait-ms 500 || { finish; exit; }
C=$(url C)
LOG="$T/daemon-C.log"
check c-replica1-healthy 0 "$(until_healthy C "$R1" 1 5 | grep -c timeout)"
check c-replica2-healthy 0 "$(until_healthy C "$R2" 1 5 | grep -c timeout)"
URL_BASE=$C
st=$(cmd "{\"type\":\"RegisterCustomer\",\"data\":{\"email\":\"rd-$U@example.com\",\"name\":\"Reader\"}}")
RC=$(jqb .aggregate_id)
st="$st $(cmd "{\"type\":\"PlaceOrder\",\"data\":{\"customer_id\":$RC,\"items\":[{\"product_id\":${ps[0]},\"quantity\":1}]}}")"
RO=$(jqb .aggregate_id)
check reader-setup "201 201" "$st"
unset URL_BASE
rs sync "$RS" 30
rm -f "$STOP"
python3 "$LOAD" reader "$C" --until "$STOP" --pause 0.005 "/queries/products/${ps[0]}" "/queries/products?limit=5" \
    "/queries/orders/$RO" "/queries/customers/$RC" "/queries/customers/$RC/orders" \
    "/queries/products?category=tk-$U&sort=price" >"$T_CASE/reader.json" 2>"$T_CASE/reader.err" &
bg="$!"
python3 "$LOAD" pairs "$C" --clients 2 --token --until "$STOP" --pause 0.005 >"$T_CASE/writers.json" 2>"$T_CASE/writers.err" &
bg="$bg $!"
sleep 1

# (a) the SQL thread stops
rsql replica1 "STOP SLAVE SQL_THREAD"
ms=$(until_healthy C "$R1" 0 5)
within "sql-thread-stopped: replica1 leaves the pool" "$ms" 1200
check_match sql-thread-stopped-log "replica $R1 left the pool: " "$(grep -F "replica $R1 left the pool: " "$LOG" | tail -1)"
echo "   $(grep -F "replica $R1 left the pool: " "$LOG" | tail -1)"
sleep 0.5
rsql replica1 "START SLAVE SQL_THREAD"
ms=$(until_healthy C "$R1" 1 5)
within "sql-thread-started: replica1 rejoins" "$ms" 3000
# (it may leave once more a moment later: the writes it missed meanwhile are a lag)
check_match sql-thread-rejoined-log '^[1-9]' "$(grep -cF "replica $R1 rejoined the pool" "$LOG")"

# (b) a replica killed
kill -9 "$(cat "$RS/replica2/mariadbd.pid")"
ms=$(until_healthy C "$R2" 0 5)
within "killed: replica2 leaves the pool" "$ms" 1200
check_match killed-log "replica $R2 left the pool: " "$(grep -F "replica $R2 left the pool: " "$LOG" | tail -1)"
echo "   $(grep -F "replica $R2 left the pool: " "$LOG" | tail -1)"
check killed-readyz 200 "$(curl -s -o /dev/null -w '%{http_code}' "$C/readyz")"
sleep 1 # queries meanwhile: the reader counts them
check killed-readyz-still 200 "$(curl -s -o /dev/null -w '%{http_code}' "$C/readyz")"
rs up "$RS" replica2
ms=$(until_healthy C "$R2" 1 10)
within "restarted: replica2 rejoins" "$ms" 5000
check_match killed-rejoined-log '^[1-9]' "$(grep -cF "replica $R2 rejoined the pool" "$LOG")"

# (c) a replica lagging past --max-replica-lag 1 (MASTER_DELAY=3, the writers write)
rs delay "$RS" replica1 3
t_over=""
t_left=""
end=$(($(now_ms) + 10000))
while [ "$(now_ms)" -lt "$end" ]; do
    sbm=$(mariadb --no-defaults -uroot --socket="$RS/replica1/s.sock" -E -e "SHOW SLAVE STATUS" |
        awk '$1 == "Seconds_Behind_Master:" { print $2 }')
    # an integer: 2 or more is a lag past the 1 s bound for certain
    [ -z "$t_over" ] && [ "${sbm:-0}" != NULL ] && [ "${sbm:-0}" -ge 2 ] && t_over=$(now_ms)
    [ -z "$t_left" ] && [ "$(healthy C "$R1")" = 0 ] && t_left=$(now_ms)
    [ -n "$t_over" ] && [ -n "$t_left" ] && break
    sleep 0.05
done
check lagging-seen "over left" "${t_over:+over} ${t_left:+left}"
if [ -n "$t_over" ] && [ -n "$t_left" ]; then
    within "lagging: replica1 leaves the pool once its lag passes 1 s" $((t_left - t_over)) 1200
fi
echo "   lag: $(metric C "cqrsd_replica_lag_seconds{replica=\"$R1\"}") s; $(grep -F "replica $R1 left the pool: " "$LOG" | tail -1)"
# (changing MASTER_DELAY restarts the replica's threads: it may have left and
# rejoined for that a moment before; the last word is the lag)
check_match lagging-log "replica $R1 left the pool: .*lag" "$(grep -F "replica $R1 left the pool: " "$LOG" | tail -1)"
rejoins=$(grep -cF "replica $R1 rejoined the pool" "$LOG")
rs delay "$RS" replica1 0
ms=$(until_healthy C "$R1" 1 10)
within "caught up: replica1 rejoins" "$ms" 6000
check lagging-rejoined-log yes "$([ "$(grep -cF "replica $R1 rejoined the pool" "$LOG")" -gt "$rejoins" ] && echo yes || echo no)"
sleep 0.5

touch "$STOP"
for p in $bg; do wait "$p"; done
bg=""
echo "   reader: $(cat "$T_CASE/reader.json")"
echo "   writers: $(head -c 400 "$T_CASE/writers.json")"
check_match failures-reader-read '^[1-9][0-9]{2,}$' "$(jq .reads "$T_CASE/reader.json")"
check failures-reader-no-query-failed 0 "$(jq .non200 "$T_CASE/reader.json")"
check_match failures-writers-wrote '^[1-9][0-9]+$' "$(jq .pairs "$T_CASE/writers.json")"
check failures-writers-read-their-writes 0 "$(jq .stale "$T_CASE/writers.json")"
check failures-writers-no-error 0 "$(jq .errors "$T_CASE/writers.json")"

#=== 4. /metrics ===

curl -s "$C/metrics" >"$T_CASE/metrics"
for r in "$R1" "$R2"; do
    check "metrics-healthy $r" 1 "$(awk -v k="cqrsd_replica_healthy{replica=\"$r\"}" '$1 == k { print $2 }' "$T_CASE/metrics")"
    check_match "metrics-lag $r" '^[0-9]+(\.[0-9]+)?([eE][-+]?[0-9]+)?$' \
        "$(awk -v k="cqrsd_replica_lag_seconds{replica=\"$r\"}" '$1 == k { print $2 }' "$T_CASE/metrics")"
done
for t in replica primary fallback; do
    check_match "metrics-reads-$t" '^[0-9]+$' "$(awk -v k="cqrsd_reads_total{target=\"$t\"}" '$1 == k { print $2 }' "$T_CASE/metrics")"
done
for o in immediate waited fallback refused; do
    check_match "metrics-tokens-$o" '^[0-9]+$' \
        "$(awk -v k="cqrsd_consistency_tokens_total{outcome=\"$o\"}" '$1 == k { print $2 }' "$T_CASE/metrics")"
done
for f in cqrsd_replica_healthy cqrsd_replica_lag_seconds cqrsd_reads_total cqrsd_consistency_tokens_total; do
    check "metrics-type $f" 1 "$(grep -cE "^# TYPE $f (gauge|counter)\$" "$T_CASE/metrics")"
done
check_match metrics-replica-reads '^[1-9]' "$(awk '$1 == "cqrsd_reads_total{target=\"replica\"}" { print $2 }' "$T_CASE/metrics")"

#=== 5. verify-views on a replica ===

rs sync "$RS" 30
for r in replica1 replica2; do
    rp=$R1P
    [ $r = replica2 ] && rp=$R2P
    "$CQRSD_BIN" verify-views --admin-dsn "mysql://root@127.0.0.1:$rp/" >"$T_CASE/verify-$r.out" 2>&1
    check "verify-views-on-$r" 0 $?
    check "verify-views-on-$r-says" "verify-views: the read model equals the write model" "$(tail -1 "$T_CASE/verify-$r.out")"
done
check_match verify-views-rows-compared '^[1-9][0-9]{2,}$' \
    "$(grep -E '^verify-views: product_view: ' "$T_CASE/verify-replica1.out" | grep -oE '[0-9]+ rows' | grep -oE '[0-9]+')"
# the same check finds a replica's damaged row (changed on the replica alone)
rsql replica2 "UPDATE cqrs.product_view SET stock = stock + 5 WHERE product_id = ${ps[2]}"
"$CQRSD_BIN" verify-views --admin-dsn "mysql://root@127.0.0.1:$R2P/" >"$T_CASE/verify-damaged.out" 2>&1
check verify-views-damaged-replica 1 $?
check_match verify-views-damaged-names-it "^product_view ${ps[2]} stock: " "$(grep -E "^product_view ${ps[2]} " "$T_CASE/verify-damaged.out")"

# (in this shell: stop_daemon's wait needs the daemon to be its child)
stop_daemon C >"$T_CASE/stop-C.rc"
check daemon-c-stops-cleanly 0 "$(cat "$T_CASE/stop-C.rc")"
stop_daemon A >"$T_CASE/stop-A.rc"
check daemon-a-stops-cleanly 0 "$(cat "$T_CASE/stop-A.rc")"
started=""
finish

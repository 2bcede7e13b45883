#!/usr/bin/env bash
# 51_async_faults.sh - asynchronous commands under failure (API.md
# "Asynchronous commands"): (1) a daemon killed with SIGKILL while its
# workers run queued commands: the other daemons take them up again when
# the 10 s lease ends, and every command runs exactly once; (2) the database
# stops for 10 s while commands run: they are retried when it is back, none
# is lost, each runs at most once, and those that ran out of attempts
# (--queue-max-attempts 2) are failed with database-unavailable and listed
# by GET /commands?status=failed; (3) an infrastructure failure that
# outlasts every attempt (the writer loses INSERT on the event store) makes
# dead letters for certain: failed, database-unavailable, listed, counted by
# cqrsd_queue_dead_letters, their keys still bound; a new key runs the
# command once the privilege is back; (4) a run that fails before it could
# load its command (the writer may not read the envelope) counts as an
# attempt and ends as a dead letter. cqrsd_commands_total counts dead
# letters as failed.
#
# A separate session holds the row lock of the ordered product while the
# commands are accepted, so that every worker (the shared daemon's too) is
# inside a command when the fault hits; it is released right after.
. "$(dirname "$0")/lib.sh"

U=$(uniq_id)
IDN='[1-9][0-9]*'
ID="^$IDN\$"

lock_pid=""
db_down=no
revoked=no
cleanup() {
    [ -n "$lock_pid" ] && unlock_row
    [ "$db_down" = yes ] && db_start
    [ "$revoked" = yes ] && "$CQRSD_BIN" migrate >/dev/null 2>&1
    local d
    for d in k1 k2 dbq; do
        [ -f "$T/daemon-$d.pid" ] && stop_daemon "$d" >/dev/null
    done
}
trap cleanup EXIT

#=== helpers ===

# mk_product SKU STOCK: prints the new product's id
mk_product() {
    local st
    st=$(cmd "{\"type\":\"CreateProduct\",\"data\":{\"sku\":\"$1\",\"name\":\"Faults $1\",\"category\":\"cat-faults-$U\",\"price_cents\":100,\"stock\":$2}}")
    if [ "$st" = 201 ]; then jqb .aggregate_id; else echo "FAIL setup: CreateProduct $1: $st $(body)" >&2; fi
}

# mk_customer NAME: prints the new customer's id
mk_customer() {
    local st
    st=$(cmd "{\"type\":\"RegisterCustomer\",\"data\":{\"name\":\"$1\",\"email\":\"$1.$U@example.com\"}}")
    if [ "$st" = 201 ]; then jqb .aggregate_id; else echo "FAIL setup: RegisterCustomer $1: $st $(body)" >&2; fi
}

# cfg_add CFG URL KEY JSON: one more keyed async command of a curl config
# file (`curl -s -K CFG`: one after the other; each output line is the body,
# TAB, the status; 000 when the daemon did not answer). JSON has no spaces.
cfg_add() {
    [ -s "$1" ] && echo next >>"$1"
    {
        echo "url = \"$2/commands\""
        echo 'header = "Content-Type: application/json"'
        echo "header = \"Idempotency-Key: $3\""
        echo 'header = "Prefer: respond-async"'
        echo "data-binary = $4"
        echo 'max-time = 10'
        echo 'write-out = "\t%{http_code}\n"'
    } >>"$1"
}

# load DIR PREFIX N CUSTOMER PRODUCT URL...: N keyed async PlaceOrders
# PREFIX-1..N of PRODUCT x 1-2, from 4 clients at once, spread over the
# URLs; DIR/manifest: KEY TAB QUANTITY; DIR/C.out: the answers
load() {
    local d=$1 pre=$2 n=$3 c=$4 p=$5 i q cl pids=""
    shift 5
    local urls=("$@")
    mkdir -p "$d"
    rm -f "$d"/*.cfg "$d/manifest"
    for i in $(seq 1 "$n"); do
        q=$((1 + i % 2))
        cl=$((i % 4))
        cfg_add "$d/$cl.cfg" "${urls[$((i % ${#urls[@]}))]}" "$pre-$i" \
            "{\"type\":\"PlaceOrder\",\"data\":{\"customer_id\":$c,\"items\":[{\"product_id\":$p,\"quantity\":$q}]}}"
        printf '%s\t%s\n' "$pre-$i" "$q" >>"$d/manifest"
    done
    for cl in 0 1 2 3; do
        curl -s -K "$d/$cl.cfg" >"$d/$cl.out" &
        pids="$pids $!"
    done
    wait $pids
}

# count_where PREFIX COND: how many queued commands PREFIX-* match COND
count_where() { sql "SELECT COUNT(*) FROM command_queue WHERE command_id LIKE '$1-%' AND ($2)"; }

# wait_running N MS: until N commands are running (MS milliseconds at most); prints how many
wait_running() {
    local n=0 t0
    t0=$(date +%s%N)
    for _ in $(seq 1 400); do
        n=$(sql "SELECT COUNT(*) FROM command_queue WHERE status = 'running'")
        [ "$n" -ge "$1" ] && break
        [ $((($(date +%s%N) - t0) / 1000000)) -ge "$2" ] && break
        sleep 0.05
    done
    echo "$n"
}

# wait_finished PREFIX N MS: until N commands PREFIX-* are succeeded or
# failed (MS milliseconds at most); prints how many are
wait_finished() {
    local n=0 t0
    t0=$(date +%s%N)
    for _ in $(seq 1 1000); do
        n=$(count_where "$1" "status IN ('succeeded', 'failed')" 2>/dev/null)
        [ "${n:-0}" -ge "$2" ] && break
        [ $((($(date +%s%N) - t0) / 1000000)) -ge "$3" ] && break
        sleep 0.1
    done
    echo "${n:-0}"
}

# queue_gauges METRICS-TEXT: how many lines each queue gauge has ("1 1 1 1" when all are there)
queue_gauges() {
    local re
    for re in '^cqrsd_queue_depth\{status="queued"\} [0-9]+$' '^cqrsd_queue_depth\{status="running"\} [0-9]+$' \
        '^cqrsd_queue_oldest_age_seconds [0-9.]+$' '^cqrsd_queue_dead_letters [0-9]+$'; do
        echo "$1" | grep -cE "$re"
    done | tr '\n' ' ' | sed 's/ $//'
}

# wait_ready URL: until URL/readyz is 200 (10 s at most); prints the last status
wait_ready() {
    local st=000
    for _ in $(seq 1 200); do
        st=$(curl -s -o /dev/null -w '%{http_code}' "$1/readyz")
        [ "$st" = 200 ] && break
        sleep 0.05
    done
    echo "$st"
}

# exactly_once NAME PREFIX N PRODUCT STOCK0 CUSTOMER DIR: each command
# PREFIX-* ran at most once: one OrderPlaced for each succeeded command,
# none for the others; the product's stock is STOCK0 minus the succeeded
# orders' quantities on both sides; one order per succeeded command
exactly_once() {
    local name=$1 pre=$2 n=$3 p=$4 s0=$5 c=$6 d=$7 S want
    sql "SELECT command_id, status FROM command_queue WHERE command_id LIKE '$pre-%'" >"$d/status"
    S=$(awk '$2 == "succeeded"' "$d/status" | wc -l)
    check "$name: one OrderPlaced per succeeded command" "$S $S" \
        "$(sql "SELECT COUNT(*), COALESCE(SUM(n = 1), 0) FROM (SELECT e.command_id, COUNT(*) AS n FROM events e
                 JOIN command_queue q ON q.command_id = e.command_id AND q.status = 'succeeded'
                 WHERE e.type = 'OrderPlaced' AND e.command_id LIKE '$pre-%' GROUP BY e.command_id) AS t" | tr '\t' ' ')"
    check "$name: no event for the others" 0 \
        "$(sql "SELECT COUNT(*) FROM events e JOIN command_queue q ON q.command_id = e.command_id
                WHERE e.command_id LIKE '$pre-%' AND q.status <> 'succeeded'")"
    check "$name: no other events with those ids" "$S" "$(sql "SELECT COUNT(*) FROM events WHERE command_id LIKE '$pre-%'")"
    check "$name: one order per succeeded command" "$S" "$(sql "SELECT COUNT(*) FROM orders WHERE customer_id = $c")"
    want=$(awk -F'\t' -v s0="$s0" 'FNR == NR { if ($2 == "succeeded") ok[$1] = 1; next } ($1 in ok) { s += $2 } END { print s0 - s }' \
        "$d/status" "$d/manifest")
    check "$name: stock = initial - the succeeded orders' quantities" "$want" "$(sql "SELECT stock FROM products WHERE id = $p")"
    get "/queries/products/$p" >/dev/null
    check "$name: the query side agrees" "$want $S" "$(jqb '"\(.stock) \(.order_count)"')"
}

# po_failed: cqrsd_commands_total{type="PlaceOrder",outcome="failed"} of the
# shared daemon and the dedicated one ($U3), summed (each counts the dead
# letters its own workers made)
po_failed() {
    local u n=0 v
    for u in "$BASE" "$U3"; do
        v=$(curl -s "$u/metrics" | awk '$1 == "cqrsd_commands_total{type=\"PlaceOrder\",outcome=\"failed\"}" {print $2}')
        n=$((n + ${v:-0}))
    done
    echo "$n"
}

#=== kill -9 one of two daemons while its workers run commands ===

PK=$(mk_product "KILL-$U" 100000)
CK=$(mk_customer "kill")
check_match "kill: setup" "^$IDN $IDN\$" "$PK $CK"
P1=$(own_port)
P2=$(own_port)
[ "$P2" = "$P1" ] && P2=$(own_port)
U1="http://127.0.0.1:$P1"
U2="http://127.0.0.1:$P2"
K="$T_CASE/kill"
if start_daemon k1 "$P1" --queue-workers 2 && start_daemon k2 "$P2" --queue-workers 2 && lock_row "$PK"; then
    running0=$(sql "SELECT COUNT(*) FROM command_queue WHERE status = 'running'")
    load "$K" "kill-$U" 200 "$CK" "$PK" "$U1" "$U2"
    check "kill: 200 accepted" 200 "$(cat "$K"/*.out | grep -c "	202\$")"
    # every worker of the three daemons (2 each) is now inside a command
    check "kill: six workers are running commands" 6 "$(wait_running $((running0 + 6)) 5000)"
    pid=$(cat "$T/daemon-k1.pid")
    kill -9 "$pid"
    wait "$pid" 2>/dev/null
    rm -f "$T/daemon-k1.pid"
    check "kill: the daemon is gone" no "$(kill -0 "$pid" 2>/dev/null && echo yes || echo no)"
    unlock_row
    t_kill=$(date +%s%N)
    check "kill: every command finished within 40 s of the kill (the lease is 10 s)" 200 "$(wait_finished "kill-$U" 200 40000)"
    echo "   kill: all finished $((($(date +%s%N) - t_kill) / 1000000)) ms after the kill"
    check "kill: all succeeded" 200 "$(count_where "kill-$U" "status = 'succeeded'")"
    check "kill: the killed daemon's two commands were taken up again (attempts 2), the others ran once" "2 198" \
        "$(count_where "kill-$U" "attempts = 2") $(count_where "kill-$U" "attempts = 1")"
    retaken=$(sql "SELECT command_id FROM command_queue WHERE command_id LIKE 'kill-$U-%' AND attempts = 2 LIMIT 1")
    URL_BASE=$U2
    check "kill: a retaken command's status" "200 succeeded 2 order" \
        "$(get "/commands/$retaken") $(jqb '"\(.status) \(.attempts) \(.result.aggregate_type)"')"
    unset URL_BASE
    exactly_once "kill" "kill-$U" 200 "$PK" 100000 "$CK" "$K"
    stop_daemon k2 >"$T_CASE/k2.rc"
    check "kill: the other daemon exits 0 on SIGTERM" 0 "$(cat "$T_CASE/k2.rc")"
else
    fail=$((fail + 1))
fi

#=== the database stops for 10 s while commands run ===

PD=$(mk_product "DBQ-$U" 100000)
CD=$(mk_customer "dbq")
check_match "db stop: setup" "^$IDN $IDN\$" "$PD $CD"
P3=$(own_port)
U3="http://127.0.0.1:$P3"
D="$T_CASE/dbstop"
# one HTTP thread: its database connection is the one the requests before the
# stop used, and the first request after the restart finds it broken
if start_daemon dbq "$P3" --queue-workers 2 --queue-max-attempts 2 --threads 1 && lock_row "$PD"; then
    dpid=$(cat "$T/daemon-dbq.pid")
    running0=$(sql "SELECT COUNT(*) FROM command_queue WHERE status = 'running'")
    load "$D" "dbq-$U" 150 "$CD" "$PD" "$BASE" "$U3"
    check "db stop: 150 accepted" 150 "$(cat "$D"/*.out | grep -c "	202\$")"
    check "db stop: four workers are running commands" 4 "$(wait_running $((running0 + 4)) 5000)"
    db_down=yes
    t_stop=$(date +%s)
    db_stop
    exec 7>&- # the locking session lost its server: end it (EOF) and reap it
    wait "$lock_pid" 2>/dev/null
    lock_pid=""
    # the probes go to the shared daemon: the dedicated one sees no request while the database is down
    PROBE='{"type":"PlaceOrder","data":{"customer_id":'"$CD"',"items":[{"product_id":'"$PD"',"quantity":1}]}}'
    for i in 1 2 3; do
        st=$(cmd "$PROBE" -H 'Prefer: respond-async' -H "Idempotency-Key: dbq-$U-probe$i")
        check "db down: an async command is 503 database-unavailable" "503 database-unavailable" "$st $(jqb .type)"
    done
    check_match "db down: Retry-After" '^[0-9]+$' "$(hdr Retry-After)"
    check "db down: GET /commands/{id} is 503" "503 database-unavailable" "$(get "/commands/dbq-$U-1") $(jqb .type)"
    check "db down: /readyz" 503 "$(get /readyz)"
    left=$((t_stop + 10 - $(date +%s)))
    [ "$left" -gt 0 ] && sleep "$left"
    db_start
    db_down=no
    m=$(curl -s "$U3/metrics")
    check "db back: the first /metrics still has the queue gauges" "1 1 1 1" "$(queue_gauges "$m")"
    check "db back: the shared daemon is ready" 200 "$(wait_ready "$BASE")"
    check "db back: the dedicated daemon is ready" 200 "$(wait_ready "$U3")"
    for i in 1 2 3; do
        st=$(cmd "$PROBE" -H 'Prefer: respond-async' -H "Idempotency-Key: dbq-$U-probe$i")
        check "db back: the probe's key is accepted now" 202 "$st"
        printf '%s\t1\n' "dbq-$U-probe$i" >>"$D/manifest"
    done
    t_back=$(date +%s%N)
    check "db back: every accepted command finished" 153 "$(wait_finished "dbq-$U" 153 40000)"
    echo "   db stop: all finished $((($(date +%s%N) - t_back) / 1000000)) ms after the database was back"
    sql "SELECT command_id, status, attempts, COALESCE(JSON_VALUE(error, '\$.type'), '-'), COALESCE(JSON_VALUE(error, '\$.status'), '-')
         FROM command_queue WHERE command_id LIKE 'dbq-$U-%'" >"$D/outcomes"
    nfail=$(awk '$2 == "failed"' "$D/outcomes" | wc -l)
    echo "   db stop: $(awk '$2 == "succeeded"' "$D/outcomes" | wc -l) succeeded, $nfail failed," \
        "$(awk '$3 >= 2' "$D/outcomes" | wc -l) ran more than once"
    check "db stop: succeeded or failed, nothing else" "" "$(awk '$2 != "succeeded" && $2 != "failed"' "$D/outcomes" | head -3)"
    check "db stop: a command inside a worker at the stop was retried" yes \
        "$([ "$(awk '$3 >= 2' "$D/outcomes" | wc -l)" -ge 1 ] && echo yes || echo no)"
    check "db stop: a failure is database-unavailable (503) after at least 2 attempts" "" \
        "$(awk '$2 == "failed" && ($4 != "database-unavailable" || $5 != 503 || $3 < 2)' "$D/outcomes" | head -3)"
    check "db stop: a success's attempts are within the limits" "" "$(awk '$2 == "succeeded" && ($3 < 1 || $3 > 5)' "$D/outcomes" | head -3)"
    exactly_once "db stop" "dbq-$U" 153 "$PD" 100000 "$CD" "$D"
    # the dead letters are listed by GET /commands?status=failed, each once
    : >"$D/failed.ids"
    after=""
    st=000
    for _ in $(seq 1 100); do
        st=$(get "/commands?status=failed&limit=200${after:+&after=$after}")
        [ "$st" = 200 ] || break
        jq -r '.items[].command_id' "$B" >>"$D/failed.ids"
        after=$(jqb '.next_cursor // empty')
        [ -z "$after" ] && break
    done
    check "db stop: the failed list walked to the end" "200 null" "$st $(jqb .next_cursor)"
    check "db stop: the dead letters are listed, each once" "" \
        "$(diff <(awk '$2 == "failed" {print $1}' "$D/outcomes" | sort) <(grep -- "^dbq-$U-" "$D/failed.ids" | sort) | head -4)"
    if [ "$nfail" -gt 0 ]; then
        id=$(awk '$2 == "failed" {print $1; exit}' "$D/outcomes")
        check "db stop: a dead letter's status" "200 failed database-unavailable null" \
            "$(get "/commands/$id") $(jqb '"\(.status) \(.error.type) \(.result)"')"
        check_match "db stop: a dead letter has finished_at" '^[0-9]{4}-' "$(jqb .finished_at)"
    fi
    m=$(curl -s "$U3/metrics")
    check "metrics: dead letters = failed commands" "$(sql "SELECT COUNT(*) FROM command_queue WHERE status = 'failed'")" \
        "$(echo "$m" | awk '$1 == "cqrsd_queue_dead_letters" {print $2}')"
    check "metrics: nothing queued or running" "0 0" \
        "$(echo "$m" | awk '$1 == "cqrsd_queue_depth{status=\"queued\"}" {q = $2} $1 == "cqrsd_queue_depth{status=\"running\"}" {r = $2} END {print q, r}')"
    check "db stop: the same dedicated daemon" yes "$(kill -0 "$dpid" 2>/dev/null && echo yes || echo no)"

    #=== dead letters: an infrastructure failure that outlasts every attempt ===

    # the writer loses INSERT on the event store: every command fails where it
    # appends its events (a database error, not a business rule); `migrate`
    # gives the privilege back
    stock0=$(sql "SELECT stock FROM products WHERE id = $PD")
    dead0=$(sql "SELECT COUNT(*) FROM command_queue WHERE status = 'failed'")
    failed0=$(po_failed)
    revoked=yes
    sql "REVOKE INSERT ON cqrs.events FROM 'cqrs_writer'@'%'"
    URL_BASE=$U3
    for i in 1 2 3; do
        st=$(cmd "$PROBE" -H 'Prefer: respond-async' -H "Idempotency-Key: dead-$U-$i")
        check "dead letters: accepted" 202 "$st"
    done
    t_dead=$(date +%s%N)
    check "dead letters: all three failed after their attempts" 3 \
        "$(wait_finished "dead-$U" 3 30000)"
    echo "   dead letters: failed $((($(date +%s%N) - t_dead) / 1000000)) ms after they were accepted"
    sql "SELECT command_id, status, attempts FROM command_queue WHERE command_id LIKE 'dead-$U-%' ORDER BY seq" >"$T_CASE/dead"
    echo "   dead letters: $(awk '{printf "%s%s attempts", (NR > 1 ? ", " : ""), $3}' "$T_CASE/dead")"
    for i in 1 2 3; do
        get "/commands/dead-$U-$i" >/dev/null
        check "dead letter $i: failed, database-unavailable 503, no result" "failed database-unavailable 503 null" \
            "$(jqb '"\(.status) \(.error.type) \(.error.status) \(.result)"')"
        # at least this daemon's 2; a worker of the shared daemon (5) may have taken it meanwhile
        check_match "dead letter $i: attempts 2 to 5" '^[2-5]$' "$(jqb .attempts)"
        check_match "dead letter $i: finished_at" '^[0-9]{4}-[0-9]{2}-[0-9]{2}T' "$(jqb .finished_at)"
    done
    get "/commands?status=failed&limit=200" >/dev/null
    for _ in $(seq 1 100); do
        after=$(jqb '.next_cursor // empty')
        [ -z "$after" ] && break
        get "/commands?status=failed&limit=200&after=$after" >/dev/null
    done
    # they are the newest failures: the last page holds them, oldest first
    check "dead letters: the last of GET /commands?status=failed" "dead-$U-1 dead-$U-2 dead-$U-3" \
        "$(jq -r '.items[-3:][].command_id' "$B" | tr '\n' ' ' | sed 's/ $//')"
    check "dead letters: the metric counts them" "$((dead0 + 3))" \
        "$(curl -s "$U3/metrics" | awk '$1 == "cqrsd_queue_dead_letters" {print $2}')"
    check "dead letters: cqrsd_commands_total counts them failed (both daemons together)" "$((failed0 + 3))" \
        "$(po_failed)"
    check "dead letters: no event, no order, the stock unchanged" "0 $stock0" \
        "$(sql "SELECT (SELECT COUNT(*) FROM events WHERE command_id LIKE 'dead-$U-%'), (SELECT stock FROM products WHERE id = $PD)" | tr '\t' ' ')"
    "$CQRSD_BIN" migrate >"$T_CASE/migrate.out" 2>&1
    check "dead letters: migrate gives the privilege back" 0 "$?"
    revoked=no
    st=$(cmd "$PROBE" -H 'Prefer: respond-async' -H "Idempotency-Key: dead-$U-1")
    check "dead letters: the key still replays its 202" "202 true" "$st $(hdr Idempotent-Replayed)"
    check "dead letters: and the command stays failed" "failed" "$(get "/commands/dead-$U-1" >/dev/null; jqb .status)"
    st=$(cmd "$PROBE" -H 'Prefer: respond-async' -H "Idempotency-Key: dead-$U-again-1")
    check "dead letters: with a new key the same command runs" "202 1 succeeded" \
        "$st $(wait_finished "dead-$U-again" 1 10000) $(get "/commands/dead-$U-again-1" >/dev/null; jqb .status)"
    unset URL_BASE
    stop_daemon dbq >"$T_CASE/dbq.rc"
    check "db stop: the dedicated daemon exits 0 on SIGTERM" 0 "$(cat "$T_CASE/dbq.rc")"
else
    fail=$((fail + 1))
fi

[ "$db_down" = yes ] && db_start && db_down=no

#=== a run that fails before it loads its command is an attempt too ===

# the writer may no longer read command_queue.envelope: a worker still claims
# the command (that needs no envelope), then fails to load it, every time;
# each such run counts, so --queue-max-attempts makes it a dead letter
PL=$(mk_product "LOAD-$U" 100)
CL=$(mk_customer "load")
check_match "load fails: setup" "^$IDN $IDN\$" "$PL $CL"
revoked=yes
sql "REVOKE SELECT ON cqrs.command_queue FROM 'cqrs_writer'@'%';
     GRANT SELECT (seq, queue_key, command_id, \`type\`, aggregate_key, status, attempts, next_attempt_at,
                   lease_owner, lease_until, result, error, created_at, finished_at)
         ON cqrs.command_queue TO 'cqrs_writer'@'%'"
st=$(cmd '{"type":"PlaceOrder","data":{"customer_id":'"$CL"',"items":[{"product_id":'"$PL"',"quantity":1}]}}' \
    -H 'Prefer: respond-async')
LID=$(jqb .command_id)
check "load fails: accepted" 202 "$st"
lst=""
for _ in $(seq 1 300); do # the shared daemon's 5 attempts take 6 to 9 s of backoff
    lst=$(sql "SELECT status, attempts FROM command_queue WHERE command_id = '$LID'" | tr '\t' ' ')
    [ "${lst%% *}" = failed ] && break
    sleep 0.1
done
echo "   load fails: $lst"
check_match "load fails: failed after 2 to 5 attempts (--queue-max-attempts)" '^failed [2-5]$' "$lst"
get "/commands/$LID" >/dev/null
check "load fails: a dead letter, database-unavailable" "failed database-unavailable 503" \
    "$(jqb '"\(.status) \(.error.type) \(.error.status)"')"
"$CQRSD_BIN" migrate >"$T_CASE/migrate2.out" 2>&1
check "load fails: migrate gives the privilege back" 0 "$?"
revoked=no
check "load fails: no event, the stock unchanged" "0 100" \
    "$(sql "SELECT (SELECT COUNT(*) FROM events WHERE command_id = '$LID'), (SELECT stock FROM products WHERE id = $PL)" | tr '\t' ' ')"

check "the shared daemon is ready at the end" 200 "$(wait_ready "$BASE")"
finish

#!/usr/bin/env bash
# 72_error_leaks.sh - database errors never leak (issue 8): no response body
# or header and no log line holds SQL text, a server error message, a file
# path or a DSN password (README "Log lines name database errors by number
# only"; API.md: 500 internal "never leaks SQL", 503 database-unavailable).
#
# The errors are provoked for real against this script's own daemons, and
# each is shown to have happened (status, and the daemon's "database error
# NNNN in Q_..." line) before anything is checked:
#   1. the writer loses INSERT on the event store: commands are 500 internal
#      (1142), an asynchronous command fails as a dead letter;
#   2. the reader loses SELECT on product_view, then on the events: queries
#      are 500 internal; a second daemon (JSON log) starts meanwhile, so its
#      read model sample check meets a view it cannot read;
#   3. product_view is renamed away and back while requests run: 500 (1146),
#      then the same daemon answers 200 again (its statements recover);
#   4. a separate session holds a product's row lock: the command waits out
#      two lock wait timeouts and is 503 database-unavailable;
#   5. the database stops while requests run: 503 with Retry-After, then
#      the daemon recovers;
#   6. a daemon whose write DSN has a wrong password: /readyz and commands
#      503 (1045), and the password is nowhere in its log;
#   7. a daemon whose DSNs name a socket that does not exist: 503 (2002),
#      and the socket path is nowhere in its log.
# Every response is kept (headers and body) and, with every log line of the
# daemons (the shared one's lines from this script's start), searched for
# the leak patterns. Each pattern class is first shown to match a sample of
# the real thing: the server's own message for the same fault (captured
# with the mariadb client at that moment), the statement text of the
# daemon's catalog, the DSN and the socket path. Every log line must also be
# a log line of the documented format (a raw stderr line would bypass it).
# The grants (via migrate), product_view's name and the running database
# are restored at the end, whatever happens.
. "$(dirname "$0")/lib.sh"

U=$(uniq_id)
IDN='[1-9][0-9]*'
PW="Wr0ngPw${U}x"                        # a password that appears nowhere else
SOCK="$T_CASE/nx/$U.sock" # a socket that does not exist
ARCH="$T_CASE/responses"                # every response: headers and body
SRC="$(dirname "$0")/../../src"
: >"$ARCH"
main0=$(wc -l <"$T/daemon-main.log" 2>/dev/null || echo 0)
t_script=$(date +%s)

lock_pid=""
bg_pid=""
db_down=no
revoked=no
renamed=no
cleanup() {
    [ -n "$bg_pid" ] && { touch "$T_CASE/bg.stop"; wait "$bg_pid" 2>/dev/null; }
    [ -n "$lock_pid" ] && unlock_row
    [ "$db_down" = yes ] && db_start
    [ "$renamed" = yes ] && sql "RENAME TABLE product_view_x TO product_view"
    [ "$revoked" = yes ] && "$CQRSD_BIN" migrate >/dev/null 2>&1
    local d
    for d in el el2 pw sk; do
        [ -f "$T/daemon-$d.pid" ] && stop_daemon "$d" >/dev/null
    done
}
trap cleanup EXIT

#=== helpers ===

# keep LABEL: append the last response (headers, body) to the archive
keep() { { echo "--- $1"; cat "$H" "$B"; echo; } >>"$ARCH"; }
# G PATH [curl args], C JSON [curl args]: get / cmd, with the response kept
G() {
    local st
    st=$(get "$@" -m 20)
    keep "GET $1 $st"
    echo "$st"
}
C() {
    local st
    st=$(cmd "$@" -m 20)
    keep "POST /commands $st"
    echo "$st"
}
# problem: "TYPE RETRY-AFTER?" of the last response ("internal -", "database-unavailable 1")
problem() { echo "$(jqb .type) $(hdr Retry-After | grep -qE '^[0-9]+$' && echo 1 || echo -)"; }

create_json() { echo "{\"type\":\"CreateProduct\",\"data\":{\"sku\":\"$1\",\"name\":\"Probe $1\",\"category\":\"probe-$U\",\"price_cents\":100,\"stock\":$2}}"; }
price_json() { echo "{\"type\":\"UpdateProductPrice\",\"data\":{\"product_id\":$1,\"price_cents\":$2}}"; }

# wsql / rsql STATEMENT: run as the writer / the reader over TCP, as the daemon does (errors on stdout)
wsql() { mariadb --no-defaults -h127.0.0.1 -P"$DB_PORT" -ucqrs_writer -pcqrs_writer -N -B --connect-timeout=3 cqrs -e "$1" 2>&1; }
rsql() { mariadb --no-defaults -h127.0.0.1 -P"$DB_PORT" -ucqrs_reader -pcqrs_reader -N -B --connect-timeout=3 cqrs -e "$1" 2>&1; }

# catalog_sql Q_NAME: the statement text of a catalog entry (src/catalog.c), on one line
catalog_sql() {
    perl -0777 -ne 'if (/[WR]\(\Q'"$1"'\E,\s*((?:"(?:[^"\\]|\\.)*"\s*)+)\)/) { my $s = $1; my $o = ""; $o .= $1 while $s =~ /"((?:[^"\\]|\\.)*)"/g; print $o }' \
        "$SRC/catalog.c"
}

# The leak patterns (extended regular expressions, case-insensitive), by class.
S='[[:space:]]'
PATS=(
    "sql|select$S.*${S}from$S"
    "sql|insert$S+into$S"
    "sql|update$S+[^[:space:]]+$S+set$S"
    "sql|delete$S+from$S"
    "sql|${S}from$S+[\`a-z_.]+$S+(where|join|order|group|limit|for)$S"
    "sql|where$S+[\`a-z_.()]+$S*(=|<|>|in$S|is$S|like$S)"
    "sql|values$S*\\("
    "sql|for$S+update"
    "sql|start$S+transaction|rollback$S+to$S|savepoint$S+cqrsd"
    "server|denied"
    "server|doesn't exist|does not exist"
    "server|lock wait timeout"
    "server|deadlock"
    "server|syntax"
    "server|restarting transaction"
    "server|can't connect|using password"
    "server|mariadb|mysql"
    "path|/tmp|/work|/var/|/usr/|/home/|/run/"
    "path|\\.sock"
    "path|[a-z0-9_]\\.c:[0-9]"
    "secret|://[^/@[:space:]]*:[^/@[:space:]]*@"
)
ALL_RE=$(for p in "${PATS[@]}"; do printf '(%s)|' "${p#*|}"; done | sed 's/|$//')
# this run's own paths and secrets, as fixed strings
FIXED=("$PW" "$T" "$T_CASE" "$DB_DIR" "$SOCK")

# leak_classes TEXT: the pattern classes TEXT matches, e.g. " server path"
leak_classes() {
    local p out="" s
    for p in "${PATS[@]}"; do
        if printf '%s\n' "$1" | grep -qiE -- "${p#*|}"; then
            case "$out " in *" ${p%%|*} "*) ;; *) out="$out ${p%%|*}" ;; esac
        fi
    done
    for s in "${FIXED[@]}"; do
        printf '%s\n' "$1" | grep -qF -- "$s" && { out="$out fixed"; break; }
    done
    echo "$out"
}
# calib NAME CLASS SAMPLE: the patterns of CLASS catch SAMPLE (a real message or statement)
calib() {
    case "$(leak_classes "$3") " in
    *" $2 "*) pass=$((pass + 1)) ;;
    *)
        fail=$((fail + 1))
        echo "FAIL calibration $1: the $2 patterns miss '$3'"
        ;;
    esac
}
# leaks FILE...: the lines of FILE that match a leak pattern (the first 5)
leaks() {
    local s args=()
    for s in "${FIXED[@]}"; do args+=(-e "$s"); done
    { grep -HniE -- "$ALL_RE" "$@"; grep -HnF "${args[@]}" "$@"; } 2>/dev/null | head -5
}

# bg_load: requests to $EL (a product, its category, a new product in turn)
# until $T_CASE/bg.stop exists (600 at most); statuses in bg.st, responses kept
bg_load() {
    rm -f "$T_CASE/bg.stop" "$T_CASE/bg.st"
    (
        H="$T_CASE/bg.h"
        B="$T_CASE/bg.b"
        URL_BASE=$EL
        i=0
        while [ ! -e "$T_CASE/bg.stop" ] && [ $i -lt 600 ]; do
            i=$((i + 1))
            case $((i % 3)) in
            0) st=$(get "/queries/products/$P" -m 20) ;;
            1) st=$(get "/queries/products?category=probe-$U&limit=5" -m 20) ;;
            2) st=$(cmd "$(create_json "BG-$U-$1-$i" 1)" -m 20) ;;
            esac
            echo "$st" >>"$T_CASE/bg.st"
            { echo "--- bg $1 $i $st"; cat "$H" "$B"; echo; } >>"$ARCH"
            sleep 0.02
        done
    ) &
    bg_pid=$!
    sleep 0.3
}
bg_stop() {
    touch "$T_CASE/bg.stop"
    wait "$bg_pid" 2>/dev/null
    bg_pid=""
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

# logged NAME REGEX: how many lines of daemon NAME's log match REGEX
logged() { grep -cE -- "$2" "$T/daemon-$1.log"; }

#=== the patterns catch what they are meant to catch ===

for q in Q_EVENT_INSERT Q_PRODUCT_DOC Q_PRODUCT_LOCK Q_PRODUCT_PRICE Q_IDEM_PURGE; do
    s=$(catalog_sql "$q")
    check_match "catalog: $q has a statement text" '^[A-Z]' "$s"
    calib "the statement of $q" sql "$s"
done
calib "a statement fragment quoted by a syntax error" sql "near 'WHERE product_id = ?' at line 1"
calib "a transaction statement" sql "START TRANSACTION"
calib "a source location" path "src/db.c:169"
deadlock=$(grep -aoE 'Deadlock found[[:print:]]*' /usr/share/mysql/english/errmsg.sys 2>/dev/null | head -1)
[ -n "$deadlock" ] && calib "the server's deadlock message (errmsg.sys)" server "$deadlock"

#=== setup: this script's daemon, a product, a customer ===

PORT=$(own_port)
EL="http://127.0.0.1:$PORT"
# few threads: the same connections (and prepared statements) serve before and after each fault
if ! start_daemon el "$PORT" --threads 4 --queue-workers 1 --queue-max-attempts 2; then
    finish
    exit 1
fi
URL_BASE=$EL
check "setup: a product" 201 "$(C "$(create_json "P-$U" 100)")"
P=$(jqb .aggregate_id)
check "setup: a customer" 201 "$(C "{\"type\":\"RegisterCustomer\",\"data\":{\"name\":\"Probe\",\"email\":\"probe.$U@example.com\"}}")"
CU=$(jqb .aggregate_id)
check_match "setup: ids" "^$IDN $IDN\$" "$P $CU"

#=== 1. the writer loses INSERT on the event store ===

revoked=yes
sql "REVOKE INSERT ON cqrs.events FROM 'cqrs_writer'@'%'"
s=$(wsql "$(catalog_sql Q_EVENT_INSERT | sed "s/?/0/g")")
check_match "revoke insert: the server refuses the writer (sample)" 'INSERT command denied to user' "$s"
calib "the server's privilege message" server "$s"
check "revoke insert: CreateProduct is 500 internal" "500 internal -" "$(C "$(create_json "R1-$U" 1)") $(problem)"
check "revoke insert: RegisterCustomer is 500 internal" "500 internal -" \
    "$(C "{\"type\":\"RegisterCustomer\",\"data\":{\"name\":\"Probe\",\"email\":\"probe2.$U@example.com\"}}") $(problem)"
check "revoke insert: UpdateProductPrice is 500 internal" "500 internal -" "$(C "$(price_json "$P" 200)") $(problem)"
check "revoke insert: the log names the error by number and statement" 3 \
    "$(logged el ' error database error 1142 in Q_EVENT_INSERT$')"
# an asynchronous command: accepted, then its attempts fail; the stored error is kept too
check "revoke insert: an async PlaceOrder is accepted" 202 \
    "$(C "{\"type\":\"PlaceOrder\",\"data\":{\"customer_id\":$CU,\"items\":[{\"product_id\":$P,\"quantity\":1}]}}" \
        -H 'Prefer: respond-async' -H "Idempotency-Key: leak-$U-async")"
st=""
for _ in $(seq 1 100); do
    G "/commands/leak-$U-async" >/dev/null
    st=$(jqb .status)
    [ "$st" = failed ] && break
    sleep 0.2
done
check "revoke insert: the async command failed: database-unavailable" "failed database-unavailable" "$st $(jqb .error.type)"
"$CQRSD_BIN" migrate >"$T_CASE/migrate1.out" 2>&1
check "revoke insert: migrate gives the privilege back" 0 "$?"
revoked=no
check "revoke insert: the same daemon creates again" 201 "$(C "$(create_json "R2-$U" 1)")"

#=== 2. the reader loses SELECT on product_view, then on the events ===

revoked=yes
sql "REVOKE SELECT ON cqrs.product_view FROM 'cqrs_reader'@'%'"
s=$(rsql "$(catalog_sql Q_PRODUCT_DOC | sed "s/?/$P/g")")
check_match "revoke select: the server refuses the reader (sample)" 'SELECT command denied to user' "$s"
calib "the server's privilege message (reader)" server "$s"
check "revoke select: a product is 500 internal" "500 internal -" "$(G "/queries/products/$P") $(problem)"
check "revoke select: a category list is 500 internal" "500 internal -" "$(G "/queries/products?category=probe-$U") $(problem)"
check "revoke select: the log names the error" 1 "$(logged el ' error database error 1142 in Q_PRODUCT_DOC$')"
# a second daemon starts now: its read model sample check runs at once, as the reader
PORT2=$(own_port)
EL2="http://127.0.0.1:$PORT2"
if start_daemon el2 "$PORT2" --threads 2 --queue-workers 1 --log-format json; then
    URL_BASE=$EL2
    check "revoke select: the second daemon's query is 500 internal" "500 internal -" "$(G "/queries/products/$P") $(problem)"
    URL_BASE=$EL
    sleep 1 # its sample check's first round
else
    fail=$((fail + 1))
fi
sql "REVOKE SELECT ON cqrs.events FROM 'cqrs_reader'@'%'"
check "revoke select: the event feed is 500 internal" "500 internal -" "$(G "/queries/events?after=0&limit=5") $(problem)"
check_match "revoke select: the log names the feed's error" ' error database error 1142 in Q_EVENT' "$(grep 'error 1142 in Q_EVENT' "$T/daemon-el.log")"
"$CQRSD_BIN" migrate >"$T_CASE/migrate2.out" 2>&1
check "revoke select: migrate gives the privileges back" 0 "$?"
revoked=no
check "revoke select: the same daemon reads again" "200 $P" "$(G "/queries/products/$P") $(jqb .product_id)"
check "revoke select: and the event feed" 200 "$(G "/queries/events?after=0&limit=5")"
if [ -f "$T/daemon-el2.pid" ]; then
    URL_BASE=$EL2
    check "revoke select: the second daemon reads again" 200 "$(G "/queries/products/$P")"
    URL_BASE=$EL
    stop_daemon el2 >"$T_CASE/el2.rc"
    check "the second daemon exits 0 on SIGTERM" 0 "$(cat "$T_CASE/el2.rc")"
fi

#=== 3. product_view renamed away and back while requests run ===

bg_load ren
renamed=yes
sql "RENAME TABLE product_view TO product_view_x"
s=$(rsql "$(catalog_sql Q_PRODUCT_DOC | sed "s/?/$P/g")")
check_match "rename: the server's message (sample)" "Table 'cqrs.product_view' doesn't exist" "$s"
calib "the server's missing table message" server "$s"
check "rename: a product is 500 internal" "500 internal -" "$(G "/queries/products/$P") $(problem)"
check "rename: a category list is 500 internal" "500 internal -" "$(G "/queries/products?category=probe-$U") $(problem)"
check "rename: CreateProduct (its trigger writes the view) is 500 internal" "500 internal -" "$(C "$(create_json "N1-$U" 1)") $(problem)"
sleep 0.3
sql "RENAME TABLE product_view_x TO product_view"
renamed=no
check "rename back: the same daemon reads the product again" "200 $P" "$(G "/queries/products/$P") $(jqb .product_id)"
check "rename back: and the category list" 200 "$(G "/queries/products?category=probe-$U")"
check "rename back: and creates again" 201 "$(C "$(create_json "N2-$U" 1)")"
sleep 0.3
bg_stop
check_match "rename: the log names the errors" '^[1-9]' \
    "$(logged el ' error database error 1146 in Q_PRODUCT_DOC$') $(logged el ' error database error 1146 in Q_PRODUCT_INSERT$')"
check "rename: the requests meanwhile were 200, 201 or 500" "" "$(grep -vxE '200|201|500' "$T_CASE/bg.st" | sort | uniq -c)"
check "rename: some of them met the missing table, and the last ones did not" "yes yes" \
    "$(grep -qx 500 "$T_CASE/bg.st" && echo yes || echo no) $(tail -3 "$T_CASE/bg.st" | grep -qx 500 && echo no || echo yes)"

#=== 4. a row lock held by another session: lock wait timeouts ===

if lock_row "$P"; then
    s=$(sql "SET SESSION innodb_lock_wait_timeout = 1; SELECT id FROM products WHERE id = $P FOR UPDATE" 2>&1)
    check_match "lock: the server's message (sample)" 'Lock wait timeout exceeded' "$s"
    calib "the server's lock wait message" server "$s"
    t0=$(date +%s%N)
    check "lock: UpdateProductPrice is 503 database-unavailable with Retry-After" "503 database-unavailable 1" \
        "$(C "$(price_json "$P" 300)") $(problem)"
    ms=$((($(date +%s%N) - t0) / 1000000))
    check "lock: it waited for the lock (5 s or more, 25 s at most)" yes "$([ $ms -ge 5000 ] && [ $ms -le 25000 ] && echo yes || echo "no: $ms ms")"
    unlock_row
    check "lock: released, the command succeeds" 200 "$(C "$(price_json "$P" 300)")"
else
    fail=$((fail + 1))
fi

#=== 5. the database stops while requests run ===

bg_load dbs
db_down=yes
db_stop
s=$(wsql "SELECT 1")
check_match "db stop: the client library's message (sample)" "Can't connect to server on '127.0.0.1'" "$s"
calib "the client library's connection message" server "$s"
check "db stop: CreateProduct is 503 database-unavailable with Retry-After" "503 database-unavailable 1" \
    "$(C "$(create_json "D1-$U" 1)") $(problem)"
check "db stop: a product is 503 database-unavailable with Retry-After" "503 database-unavailable 1" \
    "$(G "/queries/products/$P") $(problem)"
check "db stop: /readyz is 503 database-unavailable" "503 database-unavailable 1" "$(G /readyz) $(problem)"
check_match "db stop: the log says it cannot connect, by number" \
    "^[1-9]" "$(logged el " warn database: cannot connect to 127\.0\.0\.1 as 'cqrs_(writer|reader)' \(error 2[0-9]{3}\)$")"
db_start
db_down=no
check "db back: the daemon is ready" 200 "$(wait_ready "$EL")"
# /readyz answered on one HTTP thread; a thread whose reconnect failed in the last
# 200 ms waits for its next try (README: it recovers within a second of the database)
sleep 1
check "db back: CreateProduct" 201 "$(C "$(create_json "D2-$U" 1)")"
check "db back: a product" 200 "$(G "/queries/products/$P")"
bg_stop
check "db stop: the requests meanwhile were 200, 201 or 503" "" "$(grep -vxE '200|201|503' "$T_CASE/bg.st" | sort | uniq -c)"
check "db stop: some of them met the stopped database" yes "$(grep -qx 503 "$T_CASE/bg.st" && echo yes || echo no)"
check "db back: the last of them succeeded" "" "$(tail -3 "$T_CASE/bg.st" | grep -vxE '200|201')"

#=== 6. a wrong password in the write DSN ===

PORT3=$(own_port)
if CQRSD_WRITE_DSN="mysql://cqrs_writer:$PW@127.0.0.1:$DB_PORT/cqrs" start_daemon pw "$PORT3" --threads 2 --queue-workers 1; then
    URL_BASE="http://127.0.0.1:$PORT3"
    s=$(mariadb --no-defaults -h127.0.0.1 -P"$DB_PORT" -ucqrs_writer -p"$PW" cqrs -e 'SELECT 1' 2>&1)
    check_match "wrong password: the server's message (sample)" "Access denied for user 'cqrs_writer'" "$s"
    calib "the server's access denied message" server "$s"
    calib "the DSN with its password" secret "mysql://cqrs_writer:$PW@127.0.0.1:$DB_PORT/cqrs"
    calib "the password" fixed "$PW"
    check "wrong password: /readyz is 503 naming the write account" "503 database-unavailable 1 the write account 'cqrs_writer' does not answer: cannot connect to 127.0.0.1 as 'cqrs_writer' (error 1045)" \
        "$(G /readyz) $(problem) $(jqb .detail)"
    check "wrong password: a command is 503 database-unavailable" "503 database-unavailable 1" "$(C "$(create_json "W1-$U" 1)") $(problem)"
    check "wrong password: queries still answer (the reader is fine)" 200 "$(G "/queries/products/$P")"
    check_match "wrong password: the log says so by number" '^[1-9]' \
        "$(logged pw " warn database: cannot connect to 127\.0\.0\.1 as 'cqrs_writer' \(error 1045\)$")"
    stop_daemon pw >"$T_CASE/pw.rc"
    check "wrong password: the daemon exits 0 on SIGTERM" 0 "$(cat "$T_CASE/pw.rc")"
    URL_BASE=$EL
else
    fail=$((fail + 1))
fi

#=== 7. DSNs that name a socket that does not exist ===

PORT4=$(own_port)
if CQRSD_WRITE_DSN="mysql://cqrs_writer:cqrs_writer@localhost/cqrs?socket=$SOCK" \
    CQRSD_READ_DSN="mysql://cqrs_reader:cqrs_reader@localhost/cqrs?socket=$SOCK" \
    start_daemon sk "$PORT4" --threads 2 --queue-workers 1; then
    URL_BASE="http://127.0.0.1:$PORT4"
    s=$(mariadb --no-defaults --socket="$SOCK" -ucqrs_writer -pcqrs_writer cqrs -e 'SELECT 1' 2>&1)
    check_match "socket: the client library's message (sample)" "Can't connect to local server through socket .$T_CASE/" "$s"
    calib "the client library's socket message" path "$s"
    calib "the socket path" path "$SOCK"
    check "socket: /readyz is 503" "503 database-unavailable 1 the write account 'cqrs_writer' and the read account 'cqrs_reader' do not answer: cannot connect to the local socket as 'cqrs_writer' (error 2002)" \
        "$(G /readyz) $(problem) $(jqb .detail)"
    check "socket: a command is 503 database-unavailable" "503 database-unavailable 1" "$(C "$(create_json "S1-$U" 1)") $(problem)"
    check "socket: a query is 503 database-unavailable" "503 database-unavailable 1" "$(G "/queries/products/$P") $(problem)"
    check_match "socket: the log says so by number" '^[1-9]' \
        "$(logged sk " warn database: cannot connect to the local socket as 'cqrs_(writer|reader)' \(error 2002\)$")"
    stop_daemon sk >"$T_CASE/sk.rc"
    check "socket: the daemon exits 0 on SIGTERM" 0 "$(cat "$T_CASE/sk.rc")"
    URL_BASE=$EL
else
    fail=$((fail + 1))
fi

#=== every response and every log line ===

stop_daemon el >"$T_CASE/el.rc"
check "this script's daemon exits 0 on SIGTERM" 0 "$(cat "$T_CASE/el.rc")"
unset URL_BASE
check_match "responses kept: more than 50" '^([5-9][0-9]|[0-9]{3,})$' "$(grep -c '^--- ' "$ARCH")"
check "no response header or body leaks" "" "$(leaks "$ARCH")"
tail -n +"$((main0 + 1))" "$T/daemon-main.log" >"$T_CASE/daemon-main.log"
logs=("$T/daemon-el.log" "$T/daemon-el2.log" "$T/daemon-pw.log" "$T/daemon-sk.log" "$T_CASE/daemon-main.log")
check "no log line leaks" "" "$(leaks "${logs[@]}")"
# every line is a log line: "TIME LEVEL MESSAGE" (text) or a JSON object (el2)
TEXT_RE='^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{3}Z (info|warn|error) '
check "every text log line has the log format" "" \
    "$(grep -HnvE "$TEXT_RE" "$T/daemon-el.log" "$T/daemon-pw.log" "$T/daemon-sk.log" "$T_CASE/daemon-main.log" | head -5)"
check "every JSON log line is an object with time and level" "" \
    "$(while IFS= read -r l; do
        echo "$l" | jq -e 'type == "object" and (.time | type) == "string" and (.level | test("^(info|warn|error)$"))' \
            >/dev/null 2>&1 || echo "$l"
    done <"$T/daemon-el2.log" | head -5)"
check_match "the JSON log has lines" '^[1-9]' "$(wc -l <"$T/daemon-el2.log")"

#=== the shared database is as it was ===

check "the end: product_view has its name" "product_view" "$(sql "SHOW TABLES LIKE 'product_view%'")"
check "the end: the reader's grants are back" 1 "$(sql "SHOW GRANTS FOR 'cqrs_reader'@'%'" | grep -c 'SELECT ON `cqrs`.`product_view`')"
check "the end: the shared daemon is ready" 200 "$(wait_ready "$BASE")"
echo "info: $(($(date +%s) - t_script)) s"
finish

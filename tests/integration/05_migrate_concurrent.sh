#!/usr/bin/env bash
# 05_migrate_concurrent.sh - `cqrsd migrate` holds a server-wide lock while it
# works: two migrates started at once on a fresh database run one after the
# other (every file of sql/ applied exactly once, both exit 0); a migrate that
# is refused the lock exits 2 with one line and changes nothing. It works on
# scratch databases with scratch accounts: the accounts migrate grants are
# server-wide ('USER'@'%'), so the shared cqrs_writer and cqrs_reader must
# keep their grants on the shared database (checked at the end).
. "$(dirname "$0")/lib.sh"

top=$(cd "$(dirname "$0")/../.." && pwd)
U=$(uniq_id)
DB1="t05_a_$U"
DB2="t05_b_$U"
W="t05w_$U"
R="t05r_$U"

# root_sql STATEMENT: as root, no default database
root_sql() { mariadb --no-defaults -uroot --socket="$DB_DIR/s.sock" -N -B -e "$1"; }

# mig OUT DB: `cqrsd migrate` of database DB with the scratch accounts (password = user)
mig() {
    timeout 120 "$CQRSD_BIN" migrate \
        --write-dsn "mysql://$W:$W@127.0.0.1:$DB_PORT/$2" \
        --read-dsn "mysql://$R:$R@127.0.0.1:$DB_PORT/$2" >"$1" 2>"$1.err"
}

cleanup() {
    [ -n "${holder_pid:-}" ] && release_holder
    root_sql "DROP DATABASE IF EXISTS \`$DB1\`; DROP DATABASE IF EXISTS \`$DB2\`;
              DROP USER IF EXISTS '$W'@'%', '$R'@'%'"
}

# hold_lock: another session takes the migration lock and keeps it until release_holder
hold_lock() {
    local f="$T_CASE/holder.fifo"
    rm -f "$f" "$T_CASE/holder.out"
    mkfifo "$f"
    mariadb --no-defaults -uroot --socket="$DB_DIR/s.sock" -N -B -n <"$f" >"$T_CASE/holder.out" 2>&1 &
    holder_pid=$!
    exec 8>"$f"
    echo "SELECT CONCAT('held ', GET_LOCK('cqrsd_migrate', 30));" >&8
    for _ in $(seq 1 100); do
        grep -q '^held 1$' "$T_CASE/holder.out" 2>/dev/null && return 0
        sleep 0.05
    done
    echo "FAIL hold_lock: $(cat "$T_CASE/holder.out")"
    return 1
}
release_holder() {
    (echo "SELECT RELEASE_LOCK('cqrsd_migrate');" >&8) 2>/dev/null
    exec 8>&-
    wait "$holder_pid" 2>/dev/null
    holder_pid=""
    rm -f "$T_CASE/holder.fifo"
}

shared_writer=$(sql "SHOW GRANTS FOR 'cqrs_writer'@'%'" | sort)
shared_reader=$(sql "SHOW GRANTS FOR 'cqrs_reader'@'%'" | sort)
files=$(cd "$top/sql" && ls [0-9]*.sql | sort | paste -sd' ')

#=== two migrates at once on a fresh database ===

check "$DB1 does not exist yet" 0 "$(root_sql "SELECT COUNT(*) FROM information_schema.SCHEMATA
                                                WHERE SCHEMA_NAME = '$DB1'")"
mig "$T_CASE/m1.out" "$DB1" &
p1=$!
mig "$T_CASE/m2.out" "$DB1" &
p2=$!
wait $p1
rc1=$?
wait $p2
rc2=$?
check "first concurrent migrate exits 0" 0 "$rc1"
check "second concurrent migrate exits 0" 0 "$rc2"
[ "$rc1$rc2" = 00 ] || cat "$T_CASE"/m[12].out* | head -10 | sed 's/^/   /'
check "schema_migrations lists every numbered file of sql/ once" "$files" \
    "$(root_sql "SELECT name FROM \`$DB1\`.schema_migrations ORDER BY name" | paste -sd' ')"
# each file was applied by one of the two, once
for f in $files; do
    check "$f applied once by the two" 1 \
        "$(cat "$T_CASE/m1.out" "$T_CASE/m2.out" | grep -c "applying $f\$")"
done
# the one that did not apply them waited for the other and then had nothing to do
later=$(grep -L 'applying' "$T_CASE/m1.out" "$T_CASE/m2.out")
check "one of the two applied nothing" 1 "$(echo "$later" | grep -c .)"
check_match "that one reports 0 changes" '\(0 changes\)' "$(cat $later 2>/dev/null)"
check "no error output" "" "$(cat "$T_CASE/m1.out.err" "$T_CASE/m2.out.err")"
mig "$T_CASE/m3.out" "$DB1"
check "a third migrate: 0 changes" yes \
    "$(grep -q '(0 changes)' "$T_CASE/m3.out" && echo yes || echo no)"
allowed=$(mariadb --no-defaults -h127.0.0.1 -P"$DB_PORT" -u"$W" -p"$W" "$DB1" -N -B \
    -e "SELECT COUNT(*) FROM products" 2>&1)
check "the scratch writer can use $DB1" 0 "$allowed"

#=== a migrate refused the lock exits 2 and changes nothing ===

hold_lock
mig "$T_CASE/m4.out" "$DB2" &
p4=$!
waiter=""
for _ in $(seq 1 100); do
    waiter=$(root_sql "SELECT ID FROM information_schema.PROCESSLIST
                        WHERE STATE = 'User lock' AND INFO LIKE '%cqrsd_migrate%'")
    [ -n "$waiter" ] && break
    sleep 0.05
done
check "the migrate waits for the lock" yes "$([ -n "$waiter" ] && kill -0 $p4 2>/dev/null && echo yes || echo no)"
# the server ends its wait without the lock: GET_LOCK answers NULL (MySQL: error 1317)
[ -n "$waiter" ] && root_sql "KILL QUERY $waiter"
wait $p4
rc4=$?
check "migrate refused the lock exits 2" 2 "$rc4"
check "migrate refused the lock: one line on stderr" 1 "$(grep -c '' "$T_CASE/m4.out.err")"
check_match "migrate refused the lock: says so" 'migration lock' "$(cat "$T_CASE/m4.out.err")"
check "migrate refused the lock: applied nothing" "" "$(grep applying "$T_CASE/m4.out")"
check "migrate refused the lock: created no table" 0 \
    "$(root_sql "SELECT COUNT(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA = '$DB2'")"
release_holder

# the lock free again, the same migrate goes through
mig "$T_CASE/m5.out" "$DB2"
check "migrate after the lock is released exits 0" 0 "$?"
check "it applied every file" "$files" \
    "$(root_sql "SELECT name FROM \`$DB2\`.schema_migrations ORDER BY name" | paste -sd' ')"

#=== the shared accounts and daemon are untouched ===

cleanup
check "shared writer keeps its grants" "$shared_writer" "$(sql "SHOW GRANTS FOR 'cqrs_writer'@'%'" | sort)"
check "shared reader keeps its grants" "$shared_reader" "$(sql "SHOW GRANTS FOR 'cqrs_reader'@'%'" | sort)"
check "scratch databases dropped" 0 "$(root_sql "SELECT COUNT(*) FROM information_schema.SCHEMATA
                                                 WHERE SCHEMA_NAME IN ('$DB1', '$DB2')")"
st=$(cmd "{\"type\":\"CreateProduct\",\"data\":{\"sku\":\"t05-$U\",\"name\":\"Migrate\",\"category\":\"t05-$U\",\"price_cents\":100,\"stock\":1}}")
check "a command on the shared daemon" 201 "$st"
check "a query on the shared daemon" 200 "$(get "/queries/products/$(jqb .aggregate_id)")"
finish

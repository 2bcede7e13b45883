#!/usr/bin/env bash
# tests/run.sh - the whole test suite, as `make test` runs it:
#   1. the Check unit tests (build/unit_tests),
#   2. every statement of sql/, and every SQL text of the daemon and its tools
#      (build/dump_sql), parsed with a MySQL 8 grammar and linted for MySQL's
#      reserved words and MariaDB-only forms (tests/sqlcheck), and the includes of
#      src/ and include/ against the module table (tests/layers.py),
#   3. a throwaway private MariaDB on a free loopback port, `cqrsd migrate`,
#      the sanitizer build of the daemon, and every tests/integration/NN_*.sh;
#   4. the same over TLS for a slice of those scripts ($TLS_SLICE, by default
#      20 30 40: commands, queries, idempotency, the feed): a private
#      MariaDB with TLS and require_secure_transport=ON, and DSNs with
#      ssl-mode=verify-identity (the test PKI of tests/integration/tls_lib.sh);
#   5. the same with replicas for another slice ($REPLICA_SLICE, by default
#      10 11 12 20 40 46: products, orders and customers, their commands
#      and queries, the batched reads, and the event feed, whose gap-free
#      test 46 shows the guarantee holds on replicas too): a primary and two replicas (scripts/replicas.sh), `cqrsd
#      migrate` on the primary, the shared daemon reading from both
#      replicas (--replica-dsn), and the scripts' client sending back the
#      consistency token of its last command (lib.sh, CQRSD_TEST_TOKENS=1).
#      The pass ends with its proof: reads were served by replicas, every
#      successful command carried a token, and the replicas hold the
#      primary's views and events row for row.
# Any AddressSanitizer/UndefinedBehaviorSanitizer report is a failure. Ends
# with "N passed, M failed" and exits non-zero on any failure.
#   --integration-only   skip 1 and 2
#   ONLY=NN              run only tests/integration/NN_*.sh (in the TLS and
#                        replica passes too when NN is in their slice)
#   PASS=plain|tls|replica  run only that pass of 3, 4 and 5
#   TLS_SLICE="20 30"    the scripts of the TLS pass (empty: no TLS pass)
#   REPLICA_SLICE="10"   the scripts of the replica pass (empty: none)
#   KEEP=1               keep the temporary directory (logs, bodies) for a look
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
pass=0
fail=0
only_integration=no
[ "${1:-}" = "--integration-only" ] && only_integration=yes

add_counts() { # parse "N passed, M failed" lines from a file
    local line p f
    line=$(grep -E '^([A-Za-z_-]+: )?[0-9]+ passed, [0-9]+ failed' "$1" | tail -1)
    if [ -z "$line" ]; then
        echo "FAIL $2: printed no 'N passed, M failed' line"
        fail=$((fail + 1))
        return
    fi
    p=$(echo "$line" | grep -oE '[0-9]+ passed' | grep -oE '[0-9]+')
    f=$(echo "$line" | grep -oE '[0-9]+ failed' | grep -oE '[0-9]+')
    pass=$((pass + p))
    fail=$((fail + f))
}

T=$(mktemp -d /tmp/cqrsd-t.XXXXXX)
TOP_T=$T # a pass's scripts see T=$TOP_T (plain) or $TOP_T/tls
export T
cleanup() {
    for pidf in "$TOP_T"/daemon-*.pid "$TOP_T"/*/daemon-*.pid; do
        [ -f "$pidf" ] && kill -9 "$(cat "$pidf")" 2>/dev/null
    done
    # every MariaDB started under $TOP_T (the passes' and the scripts' own)
    find "$TOP_T" -name mariadbd.pid 2>/dev/null | while read -r pidf; do
        sh "$top/scripts/mariadb.sh" stop "$(dirname "$pidf")" >/dev/null 2>&1
    done
    rm -rf "$TOP_T"
}
trap cleanup EXIT; [ -n "${KEEP:-}" ] && trap - EXIT
trap 'exit 130' INT TERM

if [ "$only_integration" = no ]; then
    echo "== unit tests"
    ./build/unit_tests >"$T/unit.out" 2>&1
    cat "$T/unit.out"
    add_counts "$T/unit.out" unit
    echo "== sql: MySQL 8 grammar"
    if sh tests/sqlcheck/run.sh $(ls sql/*.sql | sort) sql/recompute/*.sql >"$T/sqlcheck.out" 2>&1; then
        pass=$((pass + 1))
    else
        fail=$((fail + 1))
        echo "FAIL sqlcheck"
    fi
    cat "$T/sqlcheck.out"
    echo "== the daemon's own statements: MySQL 8 grammar and reserved words"
    if ./build/dump_sql "$T/daemon_sql.sql" >"$T/sqlcheck-daemon.out" 2>&1 &&
        sh tests/sqlcheck/run.sh --placeholders "$T/daemon_sql.sql" >>"$T/sqlcheck-daemon.out" 2>&1; then
        pass=$((pass + 1))
    else
        fail=$((fail + 1))
        echo "FAIL sqlcheck of the daemon's statements"
    fi
    cat "$T/sqlcheck-daemon.out"
    echo "== layers: includes against README.md's module table"
    python3 tests/layers.py >"$T/layers.out" 2>&1
    cat "$T/layers.out"
    add_counts "$T/layers.out" layers
fi

free_port() {
    local p
    for _ in $(seq 1 200); do
        p=$((10000 + RANDOM % 20000)) # below the ephemeral range (32768+)
        if ! (echo >/dev/tcp/127.0.0.1/$p) 2>/dev/null; then
            echo $p
            return
        fi
    done
    echo 0
}

export CQRSD_BIN="$top/build/asan/cqrsd"
export CQRSD_RELEASE_BIN="$top/build/cqrsd"
export ASAN_OPTIONS="log_path=$TOP_T/asan:detect_leaks=1:abort_on_error=0"
export UBSAN_OPTIONS="log_path=$TOP_T/ubsan:print_stacktrace=1:halt_on_error=1"

# pass_start [DSN-PARAMS]: a private MariaDB on a free loopback port in $T/db
# (with TLS from $TOP_T/certs and require_secure_transport=ON when
# DSN-PARAMS, e.g. "ssl-mode=verify-identity&ssl-ca=...", are given; a
# primary in $REPLICA_SET/primary and two replicas when REPLICA_SET is set),
# `cqrsd migrate`, and the shared daemon (BASE, reading from the replicas
# if any); the three DSN variables carry DSN-PARAMS. Exports DB_PORT, DB_DIR,
# the DSNs, HTTP_PORT and BASE. Returns 1 if the servers did not start.
pass_start() {
    local q=${1:+?$1} rports="" rp
    local daemon_args=()
    DB_PORT=$(free_port)
    export DB_PORT DB_DIR="$T/db"
    if [ -n "${REPLICA_SET:-}" ]; then
        DB_DIR="$REPLICA_SET/primary"
        while [ "$(echo "$rports" | wc -w)" -lt 2 ]; do
            rp=$(free_port)
            case " $DB_PORT $rports " in *" $rp "*) continue ;; esac
            rports="$rports $rp"
            daemon_args+=(--replica-dsn "mysql://cqrs_reader:cqrs_reader@127.0.0.1:$rp/cqrs")
        done
        # the replicas replicate from the start: migrate's schema, triggers and
        # accounts reach them by replication
        sh scripts/replicas.sh start "$REPLICA_SET" "$DB_PORT" $rports
    elif [ -n "$q" ]; then
        MARIADB_OPTS="--general-log=0 --performance-schema=OFF" tls_db_start "$DB_DIR" "$DB_PORT" "$TOP_T/certs"
    else
        sh scripts/mariadb.sh start "$DB_DIR" "$DB_PORT"
    fi >"$T/mariadb.out" 2>&1 || {
        cat "$T/mariadb.out"
        echo "FAIL: the private MariaDB did not start"
        fail=$((fail + 1))
        return 1
    }
    export CQRSD_ADMIN_DSN="mysql://root@127.0.0.1:$DB_PORT/$q"
    export CQRSD_WRITE_DSN="mysql://cqrs_writer:cqrs_writer@127.0.0.1:$DB_PORT/cqrs$q"
    export CQRSD_READ_DSN="mysql://cqrs_reader:cqrs_reader@127.0.0.1:$DB_PORT/cqrs$q"
    if ! "$CQRSD_BIN" migrate >"$T/migrate.out" 2>&1; then
        cat "$T/migrate.out"
        echo "FAIL: migrate"
        fail=$((fail + 1))
    fi
    # one shared daemon for the scripts; scripts that need their own start them
    HTTP_PORT=$(free_port)
    export HTTP_PORT BASE="http://127.0.0.1:$HTTP_PORT"
    "$CQRSD_BIN" --listen "127.0.0.1:$HTTP_PORT" --threads 8 "${daemon_args[@]}" >"$T/daemon-main.log" 2>&1 &
    echo $! >"$T/daemon-main.pid"
    for _ in $(seq 1 100); do
        curl -s -o /dev/null "$BASE/healthz" && break
        sleep 0.1
    done
}

# pass_scripts LABEL SCRIPTS...: run each script (ONLY= filters), counting
pass_scripts() {
    local label=$1 t name start rc
    shift
    for t in "$@"; do
        name=$(basename "$t" .sh)
        if [ -n "${ONLY:-}" ] && [ "${name%%_*}" != "$ONLY" ]; then
            continue
        fi
        echo "-- $label$name"
        mkdir -p "$T/$name"
        start=$(date +%s)
        T_CASE="$T/$name" timeout 600 bash "$t" >"$T/$name.out" 2>&1
        rc=$?
        grep -E '^(FAIL|SKIP)' "$T/$name.out" | head -40
        add_counts "$T/$name.out" "$label$name"
        if [ $rc -ne 0 ] && ! grep -qE '[0-9]+ passed, [1-9][0-9]* failed' "$T/$name.out"; then
            echo "FAIL $label$name: exited $rc"
            tail -5 "$T/$name.out"
            fail=$((fail + 1))
        fi
        tail -1 "$T/$name.out" | sed "s/^/   $name: /"
        echo "   ($(($(date +%s) - start)) s)"
    done
}

# pass_stop: stop the shared daemon the way an operator does (SIGTERM, exit
# 0), then the pass's MariaDB
pass_stop() {
    local pid rc
    if [ -f "$T/daemon-main.pid" ]; then
        pid=$(cat "$T/daemon-main.pid")
        kill -TERM "$pid" 2>/dev/null
        wait "$pid" 2>/dev/null
        rc=$?
        rm -f "$T/daemon-main.pid"
        if [ $rc -eq 0 ]; then pass=$((pass + 1)); else
            fail=$((fail + 1))
            echo "FAIL shared daemon: exit $rc after SIGTERM"
            tail -20 "$T/daemon-main.log"
        fi
    fi
    sh "$top/scripts/mariadb.sh" stop "$T/db" >/dev/null 2>&1
    [ -n "${REPLICA_SET:-}" ] && sh "$top/scripts/replicas.sh" stop "$REPLICA_SET" >/dev/null 2>&1
}

if [ "${PASS:-plain}" = plain ]; then
    echo "== integration tests"
    if ! pass_start; then
        echo "$pass passed, $fail failed"
        exit 1
    fi
    pass_scripts "" tests/integration/[0-9][0-9]_*.sh
    pass_stop
fi

# the TLS pass: the slice's scripts whose number ONLY selects
tls_scripts=()
for n in ${TLS_SLICE-20 30 40}; do
    [ -n "${ONLY:-}" ] && [ "$n" != "$ONLY" ] && continue
    for t in tests/integration/"$n"_*.sh; do
        [ -f "$t" ] && tls_scripts+=("$t")
    done
done
if [ "${PASS:-tls}" = tls ] && [ ${#tls_scripts[@]} -gt 0 ]; then
    echo "== integration tests over TLS (require_secure_transport=ON, ssl-mode=verify-identity)"
    . tests/integration/tls_lib.sh
    export T="$TOP_T/tls"
    mkdir -p "$T"
    if ! tls_certs "$TOP_T/certs"; then
        echo "FAIL: the test PKI (openssl)"
        fail=$((fail + 1))
    elif pass_start "ssl-mode=verify-identity&ssl-ca=$TOP_T/certs/ca.pem"; then
        pass_scripts "tls/" "${tls_scripts[@]}"
        # the pass proves something only if the server refused clear text and did TLS
        tls_proof=$(tls_sql "$DB_DIR" "SELECT @@require_secure_transport, VARIABLE_VALUE > 0
            FROM information_schema.GLOBAL_STATUS WHERE VARIABLE_NAME = 'SSL_FINISHED_ACCEPTS'" | tr '\t' ' ')
        if [ "$tls_proof" = "1 1" ]; then pass=$((pass + 1)); else
            fail=$((fail + 1))
            echo "FAIL TLS pass: want require_secure_transport and TLS handshakes ('1 1') got '$tls_proof'"
        fi
        pass_stop
    fi
    export T="$TOP_T"
fi

# the replica pass: the slice's scripts whose number ONLY selects
replica_scripts=()
for n in ${REPLICA_SLICE-10 11 12 20 40 46}; do
    [ -n "${ONLY:-}" ] && [ "$n" != "$ONLY" ] && continue
    for t in tests/integration/"$n"_*.sh; do
        [ -f "$t" ] && replica_scripts+=("$t")
    done
done
if [ "${PASS:-replica}" = replica ] && [ ${#replica_scripts[@]} -gt 0 ]; then
    echo "== integration tests with two replicas (reads on replicas, the client sends back its tokens)"
    export T="$TOP_T/replica" REPLICA_SET="$TOP_T/replica/set" CQRSD_TEST_TOKENS=1
    mkdir -p "$T"
    if pass_start; then
        pass_scripts "replica/" "${replica_scripts[@]}"
        # the pass proves something only if replicas served reads, the client
        # had tokens to send, and the replicas hold what the primary holds
        curl -s "$BASE/metrics" >"$T/metrics.end"
        grep -E '^cqrsd_(reads_total|replica_healthy|replica_lag_seconds|consistency_tokens_total)' "$T/metrics.end" |
            sed 's/^/   /'
        reads=$(awk -F'[{} ]' '$1 == "cqrsd_reads_total" && $2 == "target=\"replica\"" { print $NF }' "$T/metrics.end")
        if [ "${reads:-0}" -gt 0 ] 2>/dev/null; then pass=$((pass + 1)); else
            fail=$((fail + 1))
            echo "FAIL replica pass: no read went to a replica (cqrsd_reads_total{target=\"replica\"} '${reads:-}')"
        fi
        if [ ! -s "$T/tokens.missing" ]; then pass=$((pass + 1)); else
            fail=$((fail + 1))
            echo "FAIL replica pass: $(wc -l <"$T/tokens.missing") successful commands without a consistency_token:"
            head -5 "$T/tokens.missing"
        fi
        sums=""
        if sh scripts/replicas.sh sync "$REPLICA_SET" 30; then
            for s in primary replica1 replica2; do
                # every row, ordered, hashed (not CHECKSUM TABLE: on a running
                # server it varies with the virtual doc columns' buffers)
                sums="$sums$s $(sh scripts/replicas.sh sql "$REPLICA_SET" "$s" \
                    "SELECT * FROM cqrs.product_view ORDER BY product_id;
                     SELECT * FROM cqrs.order_summary_view ORDER BY order_id;
                     SELECT * FROM cqrs.customer_view ORDER BY customer_id;
                     SELECT * FROM cqrs.events ORDER BY position" | md5sum | cut -c1-32)
"
            done
        fi
        if [ "$(echo "$sums" | awk 'NF > 1 { $1 = ""; print }' | sort -u | wc -l)" = 1 ] &&
            [ "$(echo "$sums" | grep -c .)" = 3 ]; then pass=$((pass + 1)); else
            fail=$((fail + 1))
            echo "FAIL replica pass: the replicas' views and events differ from the primary's (MD5 of every row):"
            echo "$sums"
        fi
        pass_stop
    fi
    unset REPLICA_SET CQRSD_TEST_TOKENS
    export T="$TOP_T"
fi

if [ "$only_integration" = no ] && [ -z "${ONLY:-}" ]; then
    if [ -f tests/fuzz/run.sh ]; then
        echo "== fuzzing: every target for ${TEST_FUZZ_SECONDS:-20} s (make fuzz runs longer)"
        FUZZ_SECONDS=${TEST_FUZZ_SECONDS:-20} bash tests/fuzz/run.sh >"$T/fuzz.out" 2>&1
        rc=$?
        grep -E "^(fuzz|FAIL|crash|==)" "$T/fuzz.out" | tail -15
        add_counts "$T/fuzz.out" fuzz
        [ $rc -ne 0 ] && ! grep -qE 'fuzz: [0-9]+ passed, [1-9]' "$T/fuzz.out" &&
            { echo "FAIL fuzz: exited $rc"; tail -20 "$T/fuzz.out"; fail=$((fail + 1)); }
    fi
    if [ -f tests/bench/run.sh ]; then
        echo "== benchmark smoke run (make bench BENCH_SECONDS=2)"
        if make -s bench BENCH_SECONDS=2 >"$T/bench.out" 2>&1; then
            pass=$((pass + 1))
            tail -15 "$T/bench.out"
        else
            fail=$((fail + 1))
            echo "FAIL bench smoke run"
            tail -30 "$T/bench.out"
        fi
    fi
fi

# sanitizer reports from any daemon or tool run under the sanitizer build
reports=$(ls "$T"/asan.* "$T"/ubsan.* 2>/dev/null)
if [ -n "$reports" ]; then
    for r in $reports; do
        echo "FAIL sanitizer report $r:"
        head -60 "$r"
        fail=$((fail + 1))
    done
else
    pass=$((pass + 1))
fi
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]

#!/usr/bin/env bash
# tests/run.sh - the whole test suite, as `make test` runs it:
#   1. the Check unit tests (build/unit_tests),
#   2. every statement of sql/, and every SQL text of the daemon and its tools
#      (build/dump_sql), parsed with a MySQL 8 grammar and linted for MySQL's
#      reserved words and MariaDB-only forms (tests/sqlcheck), and the includes of
#      src/ and include/ against the module table (tests/layers.py),
#   3. a throwaway private MariaDB on a free loopback port, `cqrsd migrate`,
#      the sanitizer build of the daemon, and every tests/integration/NN_*.sh.
# Any AddressSanitizer/UndefinedBehaviorSanitizer report is a failure. Ends
# with "N passed, M failed" and exits non-zero on any failure.
#   --integration-only   skip 1 and 2
#   ONLY=NN              run only tests/integration/NN_*.sh
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
export T
cleanup() {
    for pidf in "$T"/daemon-*.pid; do
        [ -f "$pidf" ] && kill -9 "$(cat "$pidf")" 2>/dev/null
    done
    sh "$top/scripts/mariadb.sh" stop "$T/db" >/dev/null 2>&1
    rm -rf "$T"
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

echo "== integration tests"
DB_PORT=$(free_port)
export DB_PORT DB_DIR="$T/db"
if ! sh scripts/mariadb.sh start "$DB_DIR" "$DB_PORT" >"$T/mariadb.out" 2>&1; then
    cat "$T/mariadb.out"
    echo "FAIL: the private MariaDB did not start"
    echo "$pass passed, $((fail + 1)) failed"
    exit 1
fi
export CQRSD_ADMIN_DSN="mysql://root@127.0.0.1:$DB_PORT/"
export CQRSD_WRITE_DSN="mysql://cqrs_writer:cqrs_writer@127.0.0.1:$DB_PORT/cqrs"
export CQRSD_READ_DSN="mysql://cqrs_reader:cqrs_reader@127.0.0.1:$DB_PORT/cqrs"
export CQRSD_BIN="$top/build/asan/cqrsd"
export CQRSD_RELEASE_BIN="$top/build/cqrsd"
export ASAN_OPTIONS="log_path=$T/asan:detect_leaks=1:abort_on_error=0"
export UBSAN_OPTIONS="log_path=$T/ubsan:print_stacktrace=1:halt_on_error=1"
if ! "$CQRSD_BIN" migrate >"$T/migrate.out" 2>&1; then
    cat "$T/migrate.out"
    echo "FAIL: migrate"
    fail=$((fail + 1))
fi
# one shared daemon for the scripts; scripts that need their own start them
export HTTP_PORT=$(free_port)
export BASE="http://127.0.0.1:$HTTP_PORT"
"$CQRSD_BIN" --listen "127.0.0.1:$HTTP_PORT" --threads 8 >"$T/daemon-main.log" 2>&1 &
echo $! >"$T/daemon-main.pid"
for _ in $(seq 1 100); do
    curl -s -o /dev/null "$BASE/healthz" && break
    sleep 0.1
done

for t in tests/integration/[0-9][0-9]_*.sh; do
    name=$(basename "$t" .sh)
    if [ -n "${ONLY:-}" ] && [ "${name%%_*}" != "$ONLY" ]; then
        continue
    fi
    echo "-- $name"
    mkdir -p "$T/$name"
    start=$(date +%s)
    T_CASE="$T/$name" timeout 600 bash "$t" >"$T/$name.out" 2>&1
    rc=$?
    grep -E '^(FAIL|SKIP)' "$T/$name.out" | head -40
    add_counts "$T/$name.out" "$name"
    if [ $rc -ne 0 ] && ! grep -qE '[0-9]+ passed, [1-9][0-9]* failed' "$T/$name.out"; then
        echo "FAIL $name: exited $rc"
        tail -5 "$T/$name.out"
        fail=$((fail + 1))
    fi
    tail -1 "$T/$name.out" | sed "s/^/   $name: /"
    echo "   ($(($(date +%s) - start)) s)"
done

# stop the shared daemon the way an operator does: SIGTERM, exit 0
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

# stop the shared MariaDB before the smoke runs: the benchmark starts its own
sh "$top/scripts/mariadb.sh" stop "$T/db" >/dev/null 2>&1

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

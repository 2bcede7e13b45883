#!/usr/bin/env bash
# tests/fuzz/run.sh [SECONDS] - build the libFuzzer targets of tests/fuzz/ into
# build/fuzz/ and run each for SECONDS (default ${FUZZ_SECONDS:-60}).
#
# Every target links the daemon's sources except src/main.c (as the unit tests
# do), built with clang -fsanitize=fuzzer,address,undefined. Per target:
#   1. the regression inputs of tests/fuzz/regressions/<target>/ run once each
#      (crashes found earlier: they must stay fixed);
#   2. the target fuzzes a fresh copy of tests/fuzz/corpus/<target>/ under
#      build/fuzz/corpus/ (the seed corpus in the repository is never written),
#      with the dictionary tests/fuzz/dict/<target>.dict when there is one.
# It prints executions per second and coverage (cov/ft of libFuzzer's last
# stats line) per target, and ends with "fuzz: N passed, M failed"; it exits
# non-zero when a target crashed, leaked, hung or broke an invariant. Each run
# works in its own build/fuzz/run-PID/ (corpus/, logs/, artifacts/), so runs
# side by side don't disturb each other; the build is serialized by a lock.
# A crash input is kept in build/fuzz/run-PID/artifacts/<target>/: copy it to
# tests/fuzz/regressions/<target>/ once understood.
#
#   FUZZ_TARGETS="fuzz_command fuzz_dsn"   only these targets
#   FUZZ_SECONDS=N                         time per target when no argument
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
cd "$top"
secs=${1:-${FUZZ_SECONDS:-60}}
case "$secs" in
'' | *[!0-9]*)
    echo "usage: tests/fuzz/run.sh [SECONDS]" >&2
    exit 2
    ;;
esac
out=build/fuzz
pkgs="libmariadb libmicrohttpd jansson libcrypto libjwt"
all_targets=$(cd tests/fuzz && ls fuzz_*.c | sed 's/\.c$//')
targets=${FUZZ_TARGETS:-$all_targets}

CC=${FUZZ_CC:-}
if [ -z "$CC" ]; then
    for c in clang clang-14; do
        command -v "$c" >/dev/null 2>&1 && CC=$c && break
    done
fi
if [ -z "$CC" ]; then
    echo "fuzz: clang is not installed (apt-get install clang-14 libclang-rt-14-dev)"
    echo "fuzz: 0 passed, 1 failed"
    exit 1
fi

work="$out/run-$$"
# keep the 5 newest runs' logs and artifacts, and any run still going
for d in $(ls -dt "$out"/run-* 2>/dev/null | tail -n +6); do
    kill -0 "${d##*-}" 2>/dev/null || rm -rf "$d"
done
mkdir -p "$out/obj" "$work/logs"
# one build at a time (the objects and binaries are shared between runs)
exec {lock}>"$out/.build.lock"
flock "$lock"

# libFuzzer's runtime comes with libclang-rt-14-dev on Debian 12
probe="$out/obj/probe"
printf '#include <stdint.h>\n#include <stddef.h>\nint LLVMFuzzerTestOneInput(const uint8_t *d, size_t n) { (void)d; (void)n; return 0; }\n' >"$probe.c"
if ! "$CC" -fsanitize=fuzzer,address,undefined -o "$probe" "$probe.c" >/dev/null 2>&1; then
    if [ "$(id -u)" -eq 0 ]; then
        echo "fuzz: installing libclang-rt-14-dev (libFuzzer)"
        DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
            libclang-rt-14-dev >/dev/null
    fi
    if ! "$CC" -fsanitize=fuzzer,address,undefined -o "$probe" "$probe.c"; then
        echo "fuzz: $CC cannot build libFuzzer targets (install libclang-rt-14-dev as root)"
        echo "fuzz: 0 passed, 1 failed"
        exit 1
    fi
fi

# the generated sources (embedded sql/ and openapi.json) come from the Makefile
if ! make -s build/gen/sql_files.c build/gen/sql_recompute.c build/gen/openapi.c; then
    echo "fuzz: make could not generate build/gen/"
    echo "fuzz: 0 passed, 1 failed"
    exit 1
fi

# shellcheck disable=SC2046
cflags="-std=c11 -D_GNU_SOURCE -O1 -g -fno-omit-frame-pointer -fno-sanitize-recover=all
 -Wall -Wextra -Iinclude $(pkg-config --cflags $pkgs)"
libs="$(pkg-config --libs $pkgs) -lpthread"

# newer(TARGET, FILES...): true when TARGET is missing or older than any FILE
newer() {
    local t=$1 f
    shift
    [ -e "$t" ] || return 0
    for f in "$@"; do
        [ "$f" -nt "$t" ] && return 0
    done
    return 1
}

# 1. the library: every daemon source but main.c, instrumented for coverage
objs=""
build_failed=no
for src in $(ls src/*.c | grep -v '^src/main\.c$') build/gen/*.c; do
    obj="$out/obj/$(echo "$src" | tr '/' '_' | sed 's/\.c$/.o/')"
    objs="$objs $obj"
    # shellcheck disable=SC2086
    if newer "$obj" "$src" include/*.h "$0"; then
        if ! $CC $cflags -fsanitize=fuzzer-no-link,address,undefined -c "$src" -o "$obj"; then
            echo "fuzz: $src does not build"
            build_failed=yes
        fi
    fi
done
if [ "$build_failed" = yes ]; then
    echo "fuzz: 0 passed, 1 failed"
    exit 1
fi
for t in $targets; do
    bin="$out/$t"
    # shellcheck disable=SC2086
    if newer "$bin" "tests/fuzz/$t.c" $objs include/*.h; then
        if ! $CC $cflags -fsanitize=fuzzer,address,undefined "tests/fuzz/$t.c" $objs \
            -o "$bin.tmp" $libs; then
            echo "$t: does not build"
            rm -f "$bin"
            continue
        fi
        mv -f "$bin.tmp" "$bin" # a running fuzzer keeps its old file
    fi
done
flock -u "$lock"

pass=0
fail=0
total_secs=0
for t in $targets; do
    bin="$out/$t"
    if [ ! -x "$bin" ]; then
        echo "$t: FAILED (does not build)"
        fail=$((fail + 1))
        continue
    fi
    ok=yes
    export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"
    unset ASAN_OPTIONS

    # 2. regressions first
    regs=$(ls tests/fuzz/regressions/"$t"/* 2>/dev/null)
    if [ -n "$regs" ]; then
        # shellcheck disable=SC2086
        if ! "$bin" -timeout=10 -rss_limit_mb=2048 $regs >"$work/logs/$t.regressions.log" 2>&1; then
            ok=no
            echo "$t: a regression input fails again:"
            grep -E 'ERROR|invariant broken|SUMMARY|Running:' "$work/logs/$t.regressions.log" |
                tail -4 | sed 's/^/    /'
        fi
    fi

    # 3. fuzz a fresh copy of the seed corpus
    mkdir -p "$work/corpus/$t" "$work/artifacts/$t"
    cp tests/fuzz/corpus/"$t"/* "$work/corpus/$t/" 2>/dev/null
    dict=""
    [ -f "tests/fuzz/dict/$t.dict" ] && dict="-dict=tests/fuzz/dict/$t.dict"
    start=$(date +%s)
    : >"$work/logs/$t.log"
    # A timeout whose input runs at once when tried again was the machine
    # stalling the process (a shared, overloaded host), not a hang: note it
    # and fuzz on for the time left (at most 3 times).
    for attempt in 1 2 3 4; do
        left=$((secs - ($(date +%s) - start)))
        [ $attempt -eq 1 ] || [ $left -gt 5 ] || break
        [ $left -gt 0 ] || left=1
        # shellcheck disable=SC2086
        "$bin" -max_total_time="$left" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
            -artifact_prefix="$work/artifacts/$t/" $dict "$work/corpus/$t" \
            >>"$work/logs/$t.log" 2>&1
        rc=$?
        [ $rc -eq 70 ] && [ $attempt -lt 4 ] || break
        unit=$(ls -t "$work"/artifacts/"$t"/timeout-* 2>/dev/null | head -1)
        [ -n "$unit" ] && "$bin" -timeout=10 "$unit" >/dev/null 2>&1 || break
        echo "$t: a timeout did not happen again when its input was run alone (the host"
        echo "    stalled the process: load $(cut -d' ' -f1-3 /proc/loadavg)); fuzzing on"
        mv "$unit" "$unit.spurious"
        rc=0
    done
    total_secs=$((total_secs + $(date +%s) - start))
    last=$(grep -E '^#[0-9]+.*cov: ' "$work/logs/$t.log" | tail -1)
    cov=$(echo "$last" | grep -oE 'cov: [0-9]+' | grep -oE '[0-9]+')
    ft=$(echo "$last" | grep -oE 'ft: [0-9]+' | grep -oE '[0-9]+')
    corp=$(echo "$last" | grep -oE 'corp: [0-9]+' | grep -oE '[0-9]+')
    # executions: the sum over the attempts; per second: over the time they took
    runs=$(grep -E '^stat::number_of_executed_units' "$work/logs/$t.log" |
        awk '{ s += $NF } END { if (NR) print s }')
    [ -n "$runs" ] || runs=$(echo "$last" | grep -oE '^#[0-9]+' | tr -d '#')
    elapsed=$(($(date +%s) - start))
    eps=""
    [ -n "$runs" ] && eps=$((runs / (elapsed > 0 ? elapsed : 1)))
    if [ $rc -ne 0 ]; then
        ok=no
        echo "$t: the fuzzer stopped with status $rc:"
        grep -E 'ERROR: |invariant broken|SUMMARY: |Test unit written to|runtime error' \
            "$work/logs/$t.log" | head -6 | sed 's/^/    /'
        echo "    log: $work/logs/$t.log"
    fi
    printf '%-16s %-6s %8s execs/s  cov: %-6s ft: %-6s corpus: %-5s runs: %s\n' "$t" \
        "$([ $ok = yes ] && echo ok || echo FAILED)" "${eps:-?}" "${cov:-?}" "${ft:-?}" \
        "${corp:-?}" "${runs:-?}"
    if [ $ok = yes ]; then pass=$((pass + 1)); else fail=$((fail + 1)); fi
done
rm -rf "$work/corpus" # the grown corpora; logs and artifacts stay
echo "fuzzed $total_secs s in all; logs in $work/logs"
echo "fuzz: $pass passed, $fail failed"
[ "$fail" -eq 0 ]

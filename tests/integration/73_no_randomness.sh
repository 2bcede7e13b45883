#!/usr/bin/env bash
# 73_no_randomness.sh - a command id comes from the kernel's randomness only:
# when getrandom fails, a command without an Idempotency-Key is refused with
# 500 internal (never a weak, guessable id) and changes nothing; with a key
# (the key is its id) it runs; when getrandom works again, so do commands.
# getrandom is made to fail by a preloaded library while a flag file exists.
. "$(dirname "$0")/lib.sh"

U=$(uniq_id)
FLAG="$T_CASE/no-random"
cat >"$T_CASE/shim.c" <<'EOF'
#define _GNU_SOURCE
#include <errno.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <unistd.h>

/* getrandom fails (as on a kernel without it) while the file $T73_NO_RANDOM exists */
ssize_t getrandom(void *buf, size_t n, unsigned int flags)
{
    const char *flag = getenv("T73_NO_RANDOM");

    if (flag && access(flag, F_OK) == 0) {
        errno = ENOSYS;
        return -1;
    }
    return syscall(SYS_getrandom, buf, n, flags);
}
EOF
if ! cc -shared -fPIC -o "$T_CASE/shim.so" "$T_CASE/shim.c" 2>"$T_CASE/cc.out"; then
    echo "FAIL cannot build the getrandom shim: $(head -3 "$T_CASE/cc.out")"
    finish
    exit 1
fi
port=$(free_port)
# only the daemon gets the shim (preloaded after the sanitizer's runtime,
# which must come first), through a wrapper that start_daemon runs
asan_rt=$(ldd "$CQRSD_BIN" | awk '/libasan/ { print $3 }')
printf '#!/bin/sh\nLD_PRELOAD="%s" T73_NO_RANDOM="%s" exec "%s" "$@"\n' \
    "${asan_rt:+$asan_rt:}$T_CASE/shim.so" "$FLAG" "$CQRSD_BIN" >"$T_CASE/cqrsd"
chmod +x "$T_CASE/cqrsd"
CQRSD_BIN="$T_CASE/cqrsd" start_daemon norandom "$port" || { finish; exit 1; }
URL_BASE="http://127.0.0.1:$port"
UUID4='^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$'
create() { # create SKU [curl args...]: CreateProduct in category t73-$U
    local sku=$1
    shift
    cmd "{\"type\":\"CreateProduct\",\"data\":{\"sku\":\"$sku\",\"name\":\"R\",\"category\":\"t73-$U\",\"price_cents\":1,\"stock\":1}}" "$@"
}

check "with randomness: 201" 201 "$(create "t73a-$U")"
check_match "with randomness: a version 4 UUID" "$UUID4" "$(jqb .command_id)"

touch "$FLAG"
check "without randomness: 500" 500 "$(create "t73b-$U")"
check "without randomness: problem internal" internal "$(jqb .type)"
check_match "without randomness: problem+json" '^application/problem\+json' "$(hdr Content-Type)"
check "without randomness: no command id" null "$(jqb .command_id)"
check "without randomness: asynchronous too" 500 "$(create "t73c-$U" -H 'Prefer: respond-async')"
check "without randomness: with a key (its id) it runs" 201 \
    "$(create "t73d-$U" -H "Idempotency-Key: t73-$U")"
check "without randomness: the key is the command id" "t73-$U" "$(jqb .command_id)"
rm -f "$FLAG"

check "randomness back: 201" 201 "$(create "t73e-$U")"
check_match "randomness back: a version 4 UUID" "$UUID4" "$(jqb .command_id)"
check "the refused commands created nothing" "t73a-$U t73d-$U t73e-$U" \
    "$(sql "SELECT sku FROM products WHERE sku LIKE 't73%-$U' ORDER BY sku" | paste -sd' ')"
stop_daemon norandom >"$T_CASE/stop"
check "stops with 0" 0 "$(cat "$T_CASE/stop")"
finish

#!/usr/bin/env bash
# tests/bench/verify_events.sh - how long `cqrsd verify-events` takes, and how
# much memory, on a store of EVENTS events (default 1,000,000).
#
# A private MariaDB (scripts/mariadb.sh), `cqrsd migrate`, then a store made
# directly in SQL, consistent with its write model: PRODUCTS products
# (default 10,000), each with its ProductCreated event, and ProductRestocked
# events (1 unit each) spread evenly over them up to EVENTS in all; the
# products' stock and version are what those events give. Then
# `cqrsd verify-events` under /usr/bin/time: its exit status (0: equal), its
# wall time and its peak RSS. Stops what it started.
#   VE_EVENTS=1000000 VE_PRODUCTS=10000
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
cd "$top"
EVENTS=${VE_EVENTS:-1000000}
PRODUCTS=${VE_PRODUCTS:-10000}
[ "$EVENTS" -ge "$PRODUCTS" ] || { echo "verify_events: VE_EVENTS must be at least VE_PRODUCTS" >&2; exit 2; }
make -s build/cqrsd || exit 2
dir=$(mktemp -d /tmp/cqrsd-ve.XXXXXX)
port=$((20000 + RANDOM % 9000))
cleanup() { sh scripts/mariadb.sh stop "$dir/db" >/dev/null 2>&1; rm -rf "$dir"; }
trap cleanup EXIT
MARIADB_OPTS="--innodb-buffer-pool-size=1G --innodb-flush-log-at-trx-commit=2" \
    sh scripts/mariadb.sh start "$dir/db" "$port" >/dev/null || exit 2
export CQRSD_ADMIN_DSN="mysql://root@127.0.0.1:$port/"
export CQRSD_WRITE_DSN="mysql://cqrs_writer:cqrs_writer@127.0.0.1:$port/cqrs"
export CQRSD_READ_DSN="mysql://cqrs_reader:cqrs_reader@127.0.0.1:$port/cqrs"
./build/cqrsd migrate >/dev/null || exit 2
restocks=$((EVENTS - PRODUCTS))
echo "verify_events: making $EVENTS events of $PRODUCTS products in SQL"
start=$(date +%s)
mariadb --no-defaults -uroot --socket="$dir/db/s.sock" cqrs <<SQL || exit 2
SET SESSION sql_log_bin = 0;
INSERT INTO categories (name, created_at) VALUES ('Replay', NOW(3));
INSERT INTO products (sku, name, description, category_id, price_cents, stock, version,
                      created_at, updated_at)
SELECT CONCAT('VE-', seq), CONCAT('Product ', seq), 'words', 1, 100,
       100 + FLOOR($restocks / $PRODUCTS) + (seq <= $restocks MOD $PRODUCTS),
       1 + FLOOR($restocks / $PRODUCTS) + (seq <= $restocks MOD $PRODUCTS), NOW(3), NOW(3)
FROM seq_1_to_$PRODUCTS;
INSERT INTO events (position, type, aggregate_type, aggregate_id, aggregate_version, data,
                    command_id, occurred_at)
SELECT seq, 'ProductCreated', 'product', seq, 1,
       CONCAT('{"product_id":', seq, ',"sku":"VE-', seq, '","name":"Product ', seq,
              '","description":"words","category":"Replay","price_cents":100,"stock":100}'),
       CONCAT('ve-', seq), NOW(3)
FROM seq_1_to_$PRODUCTS;
INSERT INTO events (position, type, aggregate_type, aggregate_id, aggregate_version, data,
                    command_id, occurred_at)
SELECT $PRODUCTS + seq, 'ProductRestocked', 'product', 1 + (seq - 1) MOD $PRODUCTS,
       2 + FLOOR((seq - 1) / $PRODUCTS), '{"quantity":1,"stock":0}', CONCAT('ve-r', seq), NOW(3)
FROM seq_1_to_$restocks;
UPDATE event_head SET position = $EVENTS WHERE id = 1;
SQL
echo "verify_events: made in $(($(date +%s) - start)) s"
/usr/bin/time -f "%e %M" -o "$dir/time" ./build/cqrsd verify-events >"$dir/out" 2>&1
rc=$?
tail -2 "$dir/out"
read -r secs kb <"$dir/time"
echo "verify_events: $EVENTS events, exit $rc, ${secs} s, peak RSS $((kb / 1024)) MiB"
[ $rc -eq 0 ]

#!/usr/bin/env bash
# run.sh - `make run`: a private MariaDB with its data under var/, the schema,
# and cqrsd on 127.0.0.1:8080 in the foreground. Ctrl-C stops both; var/ stays.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
dir="$top/var/mariadb"
port=${CQRSD_DB_PORT:-3306}
# the default port may be taken (a system MariaDB): then take a free one
if (echo >/dev/tcp/127.0.0.1/$port) 2>/dev/null && [ ! -f "$dir/mariadbd.pid" ]; then
    port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])' 2>/dev/null || echo 33306)
fi
[ -f "$dir/port" ] && [ -f "$dir/mariadbd.pid" ] && port=$(cat "$dir/port")
sh "$top/scripts/mariadb.sh" start "$dir" "$port"
echo "$port" >"$dir/port"
stop() { sh "$top/scripts/mariadb.sh" stop "$dir"; }
trap 'stop' EXIT
trap 'exit 130' INT TERM
export CQRSD_ADMIN_DSN="mysql://root@127.0.0.1:$port/"
export CQRSD_WRITE_DSN="${CQRSD_WRITE_DSN:-mysql://cqrs_writer:cqrs_writer@127.0.0.1:$port/cqrs}"
export CQRSD_READ_DSN="${CQRSD_READ_DSN:-mysql://cqrs_reader:cqrs_reader@127.0.0.1:$port/cqrs}"
"$top/build/cqrsd" migrate
echo "cqrsd: serving on ${CQRSD_LISTEN:-127.0.0.1:8080} (MariaDB on port $port, data in var/); Ctrl-C stops"
"$top/build/cqrsd" serve &
pid=$!
trap 'kill -TERM $pid 2>/dev/null; wait $pid; exit 0' INT TERM
wait $pid

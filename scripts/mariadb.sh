#!/bin/sh
# mariadb.sh start DIR PORT | stop DIR
#
# A private MariaDB server as a plain process: its data directory, socket,
# pid file and log live in DIR; it listens on 127.0.0.1:PORT only. `stop`
# stops only the server this script started in DIR (by its pid).
set -eu
cmd=${1:?usage: mariadb.sh start DIR PORT | stop DIR}
dir=${2:?usage: mariadb.sh start DIR PORT | stop DIR}
mkdir -p "$dir"
dir=$(cd "$dir" && pwd)

case "$cmd" in
start)
    port=${3:?usage: mariadb.sh start DIR PORT}
    if [ -f "$dir/mariadbd.pid" ] && kill -0 "$(cat "$dir/mariadbd.pid")" 2>/dev/null; then
        echo "mariadb: already running in $dir"
        exit 0
    fi
    fresh=no
    if [ ! -d "$dir/data/mysql" ]; then
        fresh=yes
        mariadb-install-db --no-defaults --user=root --auth-root-authentication-method=normal \
            --datadir="$dir/data" >"$dir/install.log" 2>&1 ||
            { cat "$dir/install.log" >&2; exit 1; }
    fi
    # extra server options (e.g. tuning for the benchmark) come from MARIADB_OPTS
    # its own tmpdir: internal temporary tables must not share /tmp with whatever cleans it
    mkdir -p "$dir/tmp"
    mariadbd --no-defaults --user=root --datadir="$dir/data" --socket="$dir/s.sock" \
        --tmpdir="$dir/tmp" \
        --port="$port" --bind-address=127.0.0.1 --pid-file="$dir/mariadbd.pid" \
        --character-set-server=utf8mb4 --collation-server=utf8mb4_unicode_ci \
        --log-error="$dir/error.log" --skip-log-bin --max-connections=1000 \
        ${MARIADB_OPTS:-} >/dev/null 2>&1 &
    echo $! >"$dir/mariadbd.pid"
    i=0
    until mariadb-admin --no-defaults -uroot --socket="$dir/s.sock" ping >/dev/null 2>&1; do
        i=$((i + 1))
        if [ $i -gt 300 ] || ! kill -0 "$(cat "$dir/mariadbd.pid")" 2>/dev/null; then
            echo "mariadb: the server did not start; see $dir/error.log" >&2
            tail -20 "$dir/error.log" >&2 || true
            exit 1
        fi
        sleep 0.1
    done
    if [ "$fresh" = yes ]; then
        # anonymous accounts shadow 'user'@'%' on local logins
        mariadb --no-defaults -uroot --socket="$dir/s.sock" -e \
            "SET sql_log_bin = 0; DELETE FROM mysql.global_priv WHERE User = ''; FLUSH PRIVILEGES;"
    fi
    ;;
stop)
    [ -f "$dir/mariadbd.pid" ] || exit 0
    pid=$(cat "$dir/mariadbd.pid")
    if kill "$pid" 2>/dev/null; then
        i=0
        while kill -0 "$pid" 2>/dev/null; do
            i=$((i + 1))
            [ $i -gt 300 ] && { kill -9 "$pid" 2>/dev/null || true; break; }
            sleep 0.1
        done
    fi
    rm -f "$dir/mariadbd.pid"
    ;;
*)
    echo "usage: mariadb.sh start DIR PORT | stop DIR" >&2
    exit 2
    ;;
esac

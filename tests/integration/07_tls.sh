#!/usr/bin/env bash
# 07_tls.sh - TLS to the database (OPERATING.md, "A DSN is mysql://…"): the
# DSN parameters ssl-mode (disabled, preferred, required, verify-ca,
# verify-identity), ssl-ca, ssl-cert and ssl-key with the MySQL client's
# meanings, proved on real servers:
#   1. bad TLS parameters: exit 2 at start, one line naming the option and
#      the reason, never the password (serve, migrate, verify-views,
#      rebuild-views; flags and environment variables);
#   2. a private MariaDB with TLS and require_secure_transport=ON: migrate
#      and verify-views over verify-identity; daemons in required,
#      verify-ca, verify-identity, preferred and the default mode work, and
#      the server itself shows every session and every login encrypted;
#      disabled is refused; the wrong CA is refused; a unix socket DSN is
#      never encrypted; accounts that REQUIRE X509 work with ssl-cert and
#      ssl-key and are refused without them;
#   3. a private MariaDB without TLS: preferred connects in clear text;
#      required and verify-ca fail without ever logging in (the server's
#      general log), and migrate and verify-views exit 2 naming the mode;
#   4. the TLS server restarted with a certificate for db.example.com only:
#      verify-identity to 127.0.0.1 is refused, verify-ca works.
# A refused mode leaves the daemon running: /readyz 503 problem+json naming
# the account, a log line naming the ssl-mode.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/tls_lib.sh"

PW=pw-SECRET-123 # the password that must never be shown
C="$T_CASE/certs"
TDB="$T_CASE/tlsdb" # the TLS server
TPORT=$(own_port)
PDB="$T_CASE/plaindb" # the server without TLS
PPORT=$(own_port)
while [ "$PPORT" = "$TPORT" ]; do PPORT=$(own_port); done
NOBODY_DIR=""
started=""

cleanup() {
    for n in $started; do
        [ -f "$T/daemon-$n.pid" ] && stop_daemon "$n" >/dev/null
    done
    tls_db_stop "$TDB" >/dev/null 2>&1
    tls_db_stop "$PDB" >/dev/null 2>&1
    [ -n "$NOBODY_DIR" ] && rm -rf "$NOBODY_DIR"
}
trap cleanup EXIT

tsql() { tls_sql "$TDB" "$1"; }
psql() { tls_sql "$PDB" "$1"; }

# pct STRING: STRING with every byte but [A-Za-z0-9._~] percent-encoded
pct() { jq -rn --arg s "$1" '$s | @uri'; }

#=== the PKI and the two servers ===

if ! tls_certs "$C"; then
    echo "FAIL the test PKI: openssl could not make it"
    fail=$((fail + 1))
    finish
    exit
fi
check "the test PKI: every private key is 0600" "600 600 600 600 600" \
    "$(stat -c %a "$C"/*.key | tr '\n' ' ' | sed 's/ $//')"

if ! tls_db_start "$TDB" "$TPORT" "$C" >"$T_CASE/tlsdb.out" 2>&1; then
    cat "$T_CASE/tlsdb.out"
    echo "FAIL the TLS MariaDB did not start"
    fail=$((fail + 1))
    finish
    exit
fi
if ! MARIADB_OPTS="--general-log=1 --log-output=TABLE" \
    sh "$(dirname "$0")/../../scripts/mariadb.sh" start "$PDB" "$PPORT" >"$T_CASE/plaindb.out" 2>&1; then
    cat "$T_CASE/plaindb.out"
    echo "FAIL the MariaDB without TLS did not start"
    fail=$((fail + 1))
    finish
    exit
fi
check "the TLS server offers TLS" "YES 1" "$(tsql 'SELECT @@have_ssl, @@require_secure_transport' | tr '\t' ' ')"
check "the other server has no TLS" "DISABLED" "$(psql 'SELECT @@have_ssl')"

# an admin account with a password that only logs in over TLS
tsql "CREATE USER tls_admin@'%' IDENTIFIED BY '$PW' REQUIRE SSL;
      GRANT ALL PRIVILEGES ON *.* TO tls_admin@'%' WITH GRANT OPTION"

TW="mysql://cqrs_writer:cqrs_writer@127.0.0.1:$TPORT/cqrs"
TR="mysql://cqrs_reader:cqrs_reader@127.0.0.1:$TPORT/cqrs"
TA="mysql://tls_admin:$PW@127.0.0.1:$TPORT/"
PW_W="mysql://cqrs_writer:cqrs_writer@127.0.0.1:$PPORT/cqrs"
PW_R="mysql://cqrs_reader:cqrs_reader@127.0.0.1:$PPORT/cqrs"
PA="mysql://root@127.0.0.1:$PPORT/"
CA="ssl-ca=$C/ca.pem"
VI="ssl-mode=verify-identity&$CA"

#=== helpers ===

# sessions USER: "N E": USER's live sessions on the TLS server and how many
# of them have a TLS cipher (performance_schema.status_by_thread)
sessions() {
    tsql "SELECT COUNT(*), COALESCE(SUM(IFNULL(s.VARIABLE_VALUE, '') <> ''), 0)
            FROM performance_schema.threads t
            LEFT JOIN performance_schema.status_by_thread s
              ON s.THREAD_ID = t.THREAD_ID AND s.VARIABLE_NAME = 'Ssl_cipher'
           WHERE t.PROCESSLIST_USER = '$1'" | tr '\t' ' '
}

# logins DB USER: "N TLS CLEAR SOCKET": USER's logins on the server in DB
# since the last logins_reset (the general log's Connect rows, refused ones
# included; not this script's own root sessions over the socket)
logins() {
    tls_sql "$1" "SELECT COUNT(*), COALESCE(SUM(argument LIKE '% using SSL/TLS'), 0),
                COALESCE(SUM(argument LIKE '% using TCP/IP'), 0),
                COALESCE(SUM(argument LIKE '% using Socket'), 0)
           FROM mysql.general_log
          WHERE command_type = 'Connect' AND argument NOT LIKE 'root@localhost on % using Socket'
            AND (SUBSTRING_INDEX(argument, '@', 1) = '$2'
                 OR argument LIKE 'Access denied for user ''$2''@%')" | tr '\t' ' '
}
logins_reset() { tls_sql "$1" "TRUNCATE TABLE mysql.general_log"; }

# ssl_accepts: the TLS server's count of finished TLS handshakes
ssl_accepts() {
    tsql "SELECT VARIABLE_VALUE FROM information_schema.GLOBAL_STATUS
           WHERE VARIABLE_NAME = 'SSL_FINISHED_ACCEPTS'"
}

# no_sessions: wait (at most 10 s) until the TLS server has no session of the
# daemon accounts left from an earlier daemon
no_sessions() {
    for _ in $(seq 1 100); do
        [ "$(tsql "SELECT COUNT(*) FROM information_schema.PROCESSLIST
                    WHERE USER IN ('cqrs_writer', 'cqrs_reader')")" = 0 ] && return 0
        sleep 0.1
    done
    echo "FAIL sessions of an earlier daemon did not go away"
    fail=$((fail + 1))
}

# daemon NAME WRITE-DSN READ-DSN: a daemon (sanitizer build) with these DSNs;
# URL_BASE points at it, its log is $dlog. Fails at once if it exits.
daemon() {
    local port pid
    port=$(own_port)
    dname="t07-$1"
    dlog="$T/daemon-$dname.log"
    URL_BASE="http://127.0.0.1:$port"
    no_sessions
    logins_reset "$TDB"
    logins_reset "$PDB"
    started="$started $dname"
    CQRSD_WRITE_DSN=$2 CQRSD_READ_DSN=$3 "$CQRSD_BIN" --listen "127.0.0.1:$port" \
        --threads 2 --queue-workers 1 >>"$dlog" 2>&1 &
    pid=$!
    echo "$pid" >"$T/daemon-$dname.pid"
    for _ in $(seq 1 100); do
        curl -s -o /dev/null "$URL_BASE/healthz" && return 0
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    fail=$((fail + 1))
    echo "FAIL $1: the daemon did not start: $(tail -3 "$dlog")"
    rm -f "$T/daemon-$dname.pid"
    unset URL_BASE
    return 1
}
stop() {
    stop_daemon "$dname" >"$T_CASE/stop.rc"
    check "$1: the daemon exits 0 on SIGTERM" 0 "$(cat "$T_CASE/stop.rc")"
    check "$1: the password is nowhere in the log" 0 "$(grep -c -- "$PW" "$dlog")"
    unset URL_BASE
}

# works NAME: the daemon is ready and a command and a query work
works() {
    local sku id
    sku="TLS-$(uniq_id)"
    check "$1: /readyz" 200 "$(get /readyz)"
    check "$1: a command" 201 "$(cmd "{\"type\":\"CreateProduct\",\"data\":{\"sku\":\"$sku\",\"name\":\"TLS\",\"category\":\"tls-$sku\",\"price_cents\":100}}")"
    id=$(jqb .aggregate_id)
    check "$1: a query" 200 "$(get "/queries/products/$id")"
    check "$1: the query reads the command's product" "$sku" "$(jqb .sku)"
}

# encrypted NAME: on the TLS server, every live session and every login of
# both accounts since the daemon started is encrypted (and there are some)
encrypted() {
    local u s l
    for u in cqrs_writer cqrs_reader; do
        s=$(sessions "$u")
        check_match "$1: $u has live sessions" '^[1-9][0-9]* ' "$s"
        check "$1: each live $u session has a TLS cipher (sessions, with a cipher)" \
            "${s%% *} ${s%% *}" "$s"
        l=$(logins "$TDB" "$u")
        check_match "$1: each $u login was over TLS (logins, TLS, clear, socket)" \
            '^([1-9][0-9]*) \1 0 0$' "$l"
    done
}

# refused NAME "ACCOUNTS" MODE: /readyz is 503 problem+json whose detail
# names each of ACCOUNTS and not the other account; a command is 503 when the
# writer is among them; the log has a line naming ssl-mode MODE (none: no
# check of the log)
refused() {
    local name=$1 who=$2 mode=$3 u d
    check "$name: /readyz" 503 "$(get /readyz)"
    check_match "$name: /readyz is problem+json" '^application/problem\+json' "$(hdr Content-Type)"
    d=$(jqb .detail)
    for u in cqrs_writer cqrs_reader; do
        case " $who " in
        *" $u "*) check_match "$name: the detail names $u" "$u" "$d" ;;
        *) check "$name: the detail does not name $u ('$d')" no "$(echo "$d" | grep -q "$u" && echo yes || echo no)" ;;
        esac
    done
    case " $who " in
    *" cqrs_writer "*)
        check "$name: a command is 503" 503 \
            "$(cmd '{"type":"CreateProduct","data":{"sku":"never","name":"x","category":"x","price_cents":1}}')"
        ;;
    esac
    if [ "$mode" != none ]; then
        check_match "$name: a log line names ssl-mode $mode" "ssl-mode" \
            "$(grep -E "(^|[^a-z-])$mode([^a-z-]|$)" "$dlog" | grep ssl-mode | head -1)"
    fi
}

# bad NAME OPTION WHY [VAR=VALUE...] ARGS...: the binary (the valid TLS DSNs
# of the TLS server in the environment, then VAR=VALUE) exits 2, with exactly
# one line on stderr that names OPTION and matches WHY, nothing on stdout and
# no password; run as $RUNAS when set
bad() {
    local name=$1 opt=$2 why=$3 rc
    local envs=("CQRSD_WRITE_DSN=$TW?$VI" "CQRSD_READ_DSN=$TR?$VI" "CQRSD_ADMIN_DSN=$TA?$VI")
    shift 3
    while [[ "${1:-}" =~ ^[A-Z_]+= ]]; do
        envs+=("$1")
        shift
    done
    # bounded: a server that starts anyway is killed after 10 s
    env "${envs[@]}" timeout 10 ${RUNAS:-} "$CQRSD_BIN" "$@" >"$T_CASE/bad.out" 2>"$T_CASE/bad.err" </dev/null
    rc=$?
    check "$name: exit 2" 2 "$rc"
    check "$name: one line on stderr" 1 "$(grep -c '' "$T_CASE/bad.err")"
    check "$name: nothing on stdout" "" "$(cat "$T_CASE/bad.out")"
    check_match "$name: the line names $opt" "(^|[^A-Za-z_-])$opt([^A-Za-z_-]|$)" "$(cat "$T_CASE/bad.err")"
    check_match "$name: the line gives the reason" "$why" "$(cat "$T_CASE/bad.err")"
    check "$name: no password" 0 "$(cat "$T_CASE/bad.out" "$T_CASE/bad.err" | grep -c -- "$PW")"
}

# tool NAME [VAR=VALUE...] SUBCOMMAND [args...]: run a command-line tool
# (bounded at 60 s); status in tool_rc, stdout and stderr in $T_CASE/tool.out
tool() {
    local envs=()
    while [[ "${1:-}" =~ ^[A-Z_]+= ]]; do
        envs+=("$1")
        shift
    done
    env "${envs[@]}" timeout 60 "$CQRSD_BIN" "$@" >"$T_CASE/tool.out" 2>&1 </dev/null
    tool_rc=$?
}

#=== 1. bad TLS parameters: exit 2 at start ===

BW="mysql://cqrs_writer:$PW@127.0.0.1:$TPORT/cqrs"
BR="mysql://cqrs_reader:$PW@127.0.0.1:$TPORT/cqrs"
BA="mysql://tls_admin:$PW@127.0.0.1:$TPORT/"
L="--listen 127.0.0.1:$(own_port)"

bad "unknown parameter sslmode" --write-dsn 'sslmode' serve $L --write-dsn "$BW?sslmode=required"
bad "unknown parameter after a good one" --write-dsn 'ssl-verify' serve $L --write-dsn "$BW?$VI&ssl-verify=1"
bad "unknown ssl-mode value" --write-dsn 'ssl-mode' serve $L --write-dsn "$BW?ssl-mode=require"
bad "ssl-mode empty" --write-dsn 'ssl-mode' serve $L --write-dsn "$BW?ssl-mode="
bad "ssl-mode typo in the read DSN" --read-dsn 'ssl-mode' serve $L --read-dsn "$BR?ssl-mode=verify_ca&$CA"
bad "missing ssl-ca file" --write-dsn 'ssl-ca' serve $L --write-dsn "$BW?ssl-mode=verify-ca&ssl-ca=$C/no-such-ca.pem"
bad "ssl-ca is a directory" --write-dsn 'ssl-ca' serve $L --write-dsn "$BW?ssl-mode=verify-ca&ssl-ca=$C"
bad "missing ssl-cert file" --write-dsn 'ssl-cert' \
    serve $L --write-dsn "$BW?ssl-mode=required&ssl-cert=$C/no-such.pem&ssl-key=$C/client.key"
bad "missing ssl-key file" --write-dsn 'ssl-key' \
    serve $L --write-dsn "$BW?ssl-mode=required&ssl-cert=$C/client.pem&ssl-key=$C/no-such.key"
bad "verify-ca without ssl-ca" --write-dsn 'ssl-ca' serve $L --write-dsn "$BW?ssl-mode=verify-ca"
bad "verify-identity without ssl-ca" --read-dsn 'ssl-ca' serve $L --read-dsn "$BR?ssl-mode=verify-identity"
bad "ssl-cert without ssl-key" --write-dsn 'ssl-key' serve $L --write-dsn "$BW?$VI&ssl-cert=$C/client.pem"
bad "ssl-key without ssl-cert" --write-dsn 'ssl-cert' serve $L --write-dsn "$BW?$VI&ssl-key=$C/client.key"
bad "serve: a bad admin DSN" --admin-dsn 'ssl-ca' serve $L --admin-dsn "$BA?ssl-mode=verify-ca&ssl-ca=$C/no-such-ca.pem"
bad "the default subcommand" --write-dsn 'sslmode' $L --write-dsn "$BW?sslmode=required"
bad "CQRSD_WRITE_DSN: unknown parameter" CQRSD_WRITE_DSN 'sslmode' \
    "CQRSD_WRITE_DSN=$BW?sslmode=required" serve $L
bad "CQRSD_READ_DSN: verify-ca without ssl-ca" CQRSD_READ_DSN 'ssl-ca' \
    "CQRSD_READ_DSN=$BR?ssl-mode=verify-ca" serve $L
bad "CQRSD_WRITE_DSN: missing ssl-key file" CQRSD_WRITE_DSN 'ssl-key' \
    "CQRSD_WRITE_DSN=$BW?ssl-mode=required&ssl-cert=$C/client.pem&ssl-key=$C/gone.key" serve $L

# an ssl-key file that exists but cannot be read (as root every file can be
# read: the binary then runs as nobody, with DSNs that name no other file)
NOBODY_DIR=$(mktemp -d /tmp/cqrsd-tls-nobody.XXXXXX)
chmod 755 "$NOBODY_DIR"
cp "$C/client.pem" "$C/client.key" "$NOBODY_DIR/"
chmod 644 "$NOBODY_DIR/client.pem"
chmod 000 "$NOBODY_DIR/client.key"
if [ "$(id -u)" = 0 ]; then
    RUNAS="setpriv --reuid=65534 --regid=65534 --clear-groups"
fi
ASAN_OPTIONS=detect_leaks=0 RUNAS=${RUNAS:-} bad "unreadable ssl-key file" --write-dsn 'ssl-key' \
    "CQRSD_WRITE_DSN=$TW?ssl-mode=required" "CQRSD_READ_DSN=$TR?ssl-mode=required" \
    "CQRSD_ADMIN_DSN=$TA?ssl-mode=required" \
    serve $L --write-dsn "$BW?ssl-mode=required&ssl-cert=$NOBODY_DIR/client.pem&ssl-key=$NOBODY_DIR/client.key"
chmod 644 "$NOBODY_DIR/client.key"
ASAN_OPTIONS=detect_leaks=0 RUNAS=${RUNAS:-} bad "unreadable ssl-cert file" --write-dsn 'ssl-cert' \
    "CQRSD_WRITE_DSN=$TW?ssl-mode=required" "CQRSD_READ_DSN=$TR?ssl-mode=required" \
    "CQRSD_ADMIN_DSN=$TA?ssl-mode=required" \
    serve $L --write-dsn "$BW?ssl-mode=required&ssl-cert=$C/client.pem&ssl-key=$NOBODY_DIR/client.key"
unset RUNAS

for sub in migrate verify-views rebuild-views; do
    bad "$sub: unknown ssl-mode value" --admin-dsn 'ssl-mode' $sub --admin-dsn "$BA?ssl-mode=bogus"
    bad "$sub: verify-identity without ssl-ca" CQRSD_ADMIN_DSN 'ssl-ca' \
        "CQRSD_ADMIN_DSN=$BA?ssl-mode=verify-identity" $sub
    bad "$sub: missing ssl-ca file" --admin-dsn 'ssl-ca' $sub --admin-dsn "$BA?ssl-mode=verify-ca&ssl-ca=$C/gone.pem"
    bad "$sub: ssl-key without ssl-cert" --write-dsn 'ssl-cert' $sub --write-dsn "$BW?$VI&ssl-key=$C/client.key"
done

#=== 2. the TLS server (require_secure_transport=ON) ===

logins_reset "$TDB"
acc0=$(ssl_accepts)
tool migrate --admin-dsn "$TA?$VI" --write-dsn "$TW?$VI" --read-dsn "$TR?$VI"
check "migrate over verify-identity: exit 0" 0 "$tool_rc"
[ "$tool_rc" = 0 ] || cat "$T_CASE/tool.out"
check "migrate: the two accounts exist" 2 \
    "$(tsql "SELECT COUNT(*) FROM mysql.user WHERE User IN ('cqrs_writer', 'cqrs_reader') AND Host = '%'")"
check_match "migrate: each admin login was over TLS (logins, TLS, clear, socket)" \
    '^([1-9][0-9]*) \1 0 0$' "$(logins "$TDB" tls_admin)"
check_match "migrate: TLS handshakes on the server" '^[1-9]' "$(($(ssl_accepts) - acc0))"
check "migrate: the password is nowhere in its output" 0 "$(grep -c -- "$PW" "$T_CASE/tool.out")"

logins_reset "$TDB"
tool verify-views --admin-dsn "$TA?ssl-mode=verify-ca&$CA"
check "verify-views over verify-ca: exit 0" 0 "$tool_rc"
[ "$tool_rc" = 0 ] || cat "$T_CASE/tool.out"
check_match "verify-views: each admin login was over TLS (logins, TLS, clear, socket)" \
    '^([1-9][0-9]*) \1 0 0$' "$(logins "$TDB" tls_admin)"

logins_reset "$TDB"
tool verify-views --admin-dsn "$TA?ssl-mode=required"
check "verify-views over required: exit 0" 0 "$tool_rc"
[ "$tool_rc" = 0 ] || cat "$T_CASE/tool.out"
check_match "verify-views over required: each login over TLS" '^([1-9][0-9]*) \1 0 0$' "$(logins "$TDB" tls_admin)"

# values are percent-decoded, the ssl-mode's too
logins_reset "$TDB"
tool verify-views --admin-dsn "$TA?ssl-mode=verify%2Didentity&ssl-ca=$(pct "$C/ca.pem")"
check "verify-views with a percent-encoded ssl-mode and ssl-ca: exit 0" 0 "$tool_rc"
[ "$tool_rc" = 0 ] || cat "$T_CASE/tool.out"
check_match "verify-views with a percent-encoded ssl-mode: each login over TLS" \
    '^([1-9][0-9]*) \1 0 0$' "$(logins "$TDB" tls_admin)"

# the modes that encrypt, each proved by the server
CA_COPY="$C/ca copy.pem"
cp "$C/ca.pem" "$CA_COPY"
for mode in required verify-ca verify-identity preferred default; do
    case $mode in
    required) w="$TW?ssl-mode=required" r="$TR?ssl-mode=required" ;;
    verify-ca) # the read DSN's ssl-ca is percent-encoded (a space and every '/' in the path)
        w="$TW?ssl-mode=verify-ca&$CA" r="$TR?ssl-mode=verify-ca&ssl-ca=$(pct "$CA_COPY")" ;;
    verify-identity) w="$TW?$VI" r="$TR?$CA&ssl-mode=verify-identity" ;;
    preferred) w="$TW?ssl-mode=preferred" r="$TR?ssl-mode=preferred&$CA" ;;
    default) w="$TW" r="$TR" ;;
    esac
    acc0=$(ssl_accepts)
    if daemon "$mode" "$w" "$r"; then
        works "$mode"
        encrypted "$mode"
        check_match "$mode: TLS handshakes on the server" '^[1-9]' "$(($(ssl_accepts) - acc0))"
        stop "$mode"
    fi
done

# disabled: the server refuses clear text
if daemon disabled "$TW?ssl-mode=disabled" "$TR?$VI"; then
    refused "disabled writer" cqrs_writer none
    check_match "disabled: the writer tried in clear text and was refused (logins, TLS, clear, socket)" \
        '^[1-9][0-9]* 0 [1-9][0-9]* 0$' "$(logins "$TDB" cqrs_writer)"
    stop disabled
fi

# the wrong CA
if daemon rogue-ca "$TW?$VI" "$TR?ssl-mode=verify-ca&ssl-ca=$C/rogue-ca.pem"; then
    refused "verify-ca with an unrelated CA" cqrs_reader verify-ca
    check "verify-ca with an unrelated CA: the reader never logged in" "0 0 0 0" "$(logins "$TDB" cqrs_reader)"
    stop "verify-ca with an unrelated CA"
fi
if daemon rogue-ca-vi "$TW?ssl-mode=verify-identity&ssl-ca=$C/rogue-ca.pem" "$TR?$VI"; then
    refused "verify-identity with an unrelated CA" cqrs_writer verify-identity
    check "verify-identity with an unrelated CA: the writer never logged in" "0 0 0 0" "$(logins "$TDB" cqrs_writer)"
    stop "verify-identity with an unrelated CA"
fi
for sub in migrate verify-views; do
    tool $sub --admin-dsn "$TA?ssl-mode=verify-ca&ssl-ca=$C/rogue-ca.pem" --write-dsn "$TW?$VI" --read-dsn "$TR?$VI"
    check "$sub, verify-ca with an unrelated CA: exit 2" 2 "$tool_rc"
    [ "$tool_rc" = 2 ] || echo "   ($sub said: $(cat "$T_CASE/tool.out"))"
    check "$sub, verify-ca with an unrelated CA: one line" 1 "$(grep -c '' "$T_CASE/tool.out")"
    check_match "$sub, verify-ca with an unrelated CA: names the mode" 'verify-ca' "$(cat "$T_CASE/tool.out")"
    check "$sub, verify-ca with an unrelated CA: no password" 0 "$(grep -c -- "$PW" "$T_CASE/tool.out")"
done

# a unix socket is local: never TLS, whatever the server offers
SW="mysql://cqrs_writer:cqrs_writer@localhost/cqrs?socket=$(pct "$TDB/s.sock")"
SR="mysql://cqrs_reader:cqrs_reader@localhost/cqrs?socket=$(pct "$TDB/s.sock")"
if daemon socket "$SW" "$SR"; then
    works "unix socket"
    for u in cqrs_writer cqrs_reader; do
        s=$(sessions "$u")
        check_match "unix socket: $u has live sessions, none with a TLS cipher" '^[1-9][0-9]* 0$' "$s"
        check_match "unix socket: every $u login over the socket (logins, TLS, clear, socket)" \
            '^([1-9][0-9]*) 0 0 \1$' "$(logins "$TDB" "$u")"
    done
    stop "unix socket"
fi

# client certificates: accounts that REQUIRE X509
tsql "ALTER USER cqrs_writer@'%' REQUIRE X509; ALTER USER cqrs_reader@'%' REQUIRE X509"
CERT="ssl-cert=$C/client.pem&ssl-key=$C/client.key"
if daemon x509 "$TW?$VI&$CERT" "$TR?ssl-mode=required&$CERT"; then
    works "REQUIRE X509 with ssl-cert and ssl-key"
    encrypted "REQUIRE X509 with ssl-cert and ssl-key"
    stop "REQUIRE X509 with ssl-cert and ssl-key"
fi
if daemon x509-none "$TW?$VI" "$TR?ssl-mode=required"; then
    refused "REQUIRE X509 without a client certificate" "cqrs_writer cqrs_reader" none
    stop "REQUIRE X509 without a client certificate"
fi
tsql "ALTER USER cqrs_writer@'%' REQUIRE NONE; ALTER USER cqrs_reader@'%' REQUIRE NONE"

#=== 3. the server without TLS ===

logins_reset "$PDB"
tool migrate --admin-dsn "$PA?ssl-mode=preferred" --write-dsn "$PW_W" --read-dsn "$PW_R"
check "migrate on the server without TLS, preferred: exit 0" 0 "$tool_rc"
[ "$tool_rc" = 0 ] || cat "$T_CASE/tool.out"
check_match "migrate, preferred: the admin logged in in clear text (logins, TLS, clear, socket)" \
    '^([1-9][0-9]*) 0 \1 0$' "$(logins "$PDB" root)"

for mode in preferred default; do
    case $mode in
    preferred) w="$PW_W?ssl-mode=preferred" r="$PW_R?ssl-mode=preferred&$CA" ;;
    default) w="$PW_W" r="$PW_R" ;;
    esac
    if daemon "plain-$mode" "$w" "$r"; then
        works "no TLS, $mode"
        for u in cqrs_writer cqrs_reader; do
            check_match "no TLS, $mode: $u logged in in clear text (logins, TLS, clear, socket)" \
                '^([1-9][0-9]*) 0 \1 0$' "$(logins "$PDB" "$u")"
        done
        stop "no TLS, $mode"
    fi
done

if daemon plain-required "$PW_W?ssl-mode=required" "$PW_R?ssl-mode=required"; then
    refused "no TLS, required" "cqrs_writer cqrs_reader" required
    for u in cqrs_writer cqrs_reader; do
        check "no TLS, required: $u never logged in" "0 0 0 0" "$(logins "$PDB" "$u")"
    done
    stop "no TLS, required"
fi
if daemon plain-verify-ca "$PW_W?$VI" "$PW_R?ssl-mode=verify-ca&$CA"; then
    refused "no TLS, verify-identity writer, verify-ca reader" "cqrs_writer cqrs_reader" verify-ca
    check_match "no TLS: a log line names ssl-mode verify-identity" "ssl-mode" \
        "$(grep -E '(^|[^a-z-])verify-identity([^a-z-]|$)' "$dlog" | grep ssl-mode | head -1)"
    for u in cqrs_writer cqrs_reader; do
        check "no TLS, verify-*: $u never logged in" "0 0 0 0" "$(logins "$PDB" "$u")"
    done
    stop "no TLS, verify-*"
fi

for sub in migrate verify-views; do
    logins_reset "$PDB"
    tool $sub --admin-dsn "$PA?ssl-mode=required" --write-dsn "$PW_W" --read-dsn "$PW_R"
    check "$sub, required, no TLS: exit 2" 2 "$tool_rc"
    [ "$tool_rc" = 2 ] || echo "   ($sub said: $(cat "$T_CASE/tool.out"))"
    check "$sub, required, no TLS: one line" 1 "$(grep -c '' "$T_CASE/tool.out")"
    check_match "$sub, required, no TLS: names the mode" '(^|[^a-z-])required([^a-z-]|$)' "$(cat "$T_CASE/tool.out")"
    check "$sub, required, no TLS: root never logged in over TCP" "0 0 0 0" "$(logins "$PDB" root)"
done

#=== 4. a server certificate for another host name ===

tls_db_stop "$TDB" >/dev/null 2>&1
if ! tls_db_start "$TDB" "$TPORT" "$C" other-host >"$T_CASE/tlsdb2.out" 2>&1; then
    cat "$T_CASE/tlsdb2.out"
    echo "FAIL the TLS MariaDB did not restart with the db.example.com certificate"
    fail=$((fail + 1))
else
    if daemon other-host-vi "$TW?$VI" "$TR?$VI"; then
        refused "certificate for db.example.com, verify-identity" "cqrs_writer cqrs_reader" verify-identity
        stop "certificate for db.example.com, verify-identity"
    fi
    if daemon other-host-ca "$TW?ssl-mode=verify-ca&$CA" "$TR?ssl-mode=verify-ca&$CA"; then
        works "certificate for db.example.com, verify-ca"
        encrypted "certificate for db.example.com, verify-ca"
        stop "certificate for db.example.com, verify-ca"
    fi
    tool migrate --admin-dsn "$TA?$VI" --write-dsn "$TW?$VI" --read-dsn "$TR?$VI"
    check "migrate, verify-identity, db.example.com: exit 2" 2 "$tool_rc"
    [ "$tool_rc" = 2 ] || echo "   (migrate said: $(cat "$T_CASE/tool.out"))"
    check "migrate, verify-identity, db.example.com: one line" 1 "$(grep -c '' "$T_CASE/tool.out")"
    check_match "migrate, verify-identity, db.example.com: names the mode" 'verify-identity' "$(cat "$T_CASE/tool.out")"
    tool migrate --admin-dsn "$TA?ssl-mode=verify-ca&$CA" --write-dsn "$TW?$VI" --read-dsn "$TR?$VI"
    check "migrate, verify-ca, db.example.com: exit 0" 0 "$tool_rc"
    [ "$tool_rc" = 0 ] || cat "$T_CASE/tool.out"
fi

finish

#!/usr/bin/env bash
# 61_compose.sh - the Docker stack (issue 17), from its files; no Docker
# engine needed. docker-compose.yml validates (Debian's docker-compose v1, the
# validator) and a broken file is rejected; its resolved configuration has
# the properties of compose_check.py (MySQL 8.4 with its default
# authentication, TLS on every DSN, root for migrate only, one image built
# once, restart policies, the Dockerfile's HEALTHCHECK, .dockerignore), and
# each of those checks fails on a copy broken on purpose (--selftest); the
# password variables reach the services they should and no other; the
# HEALTHCHECK's own command, run by sh, asks the port of CQRSD_LISTEN and
# finds the test daemon; this build of cqrsd accepts the stack's DSNs; and
# Debian's libmariadb3 ships the caching_sha2_password plugin.
# The `replica` profile (issue 19) the same way: its invariants are checks of
# compose_check.py; the set-up script's SQL parses with the MySQL 8 grammar
# (tests/sqlcheck); the script itself runs against a stand-in `mysql` client
# that records what it is sent and answers as a replica would; and this
# build accepts the replica DSN. Installs docker-compose (and PyYAML, when no
# python3 has it) with apt-get.
. "$(dirname "$0")/lib.sh"
top=$(cd "$(dirname "$0")/../.." && pwd)
checker="$top/tests/integration/compose_check.py"

# compose ARGS...: docker-compose on the top's file, the password variables
# unset unless given in COMPOSE_ENV ("NAME=VALUE ...")
compose() {
    (cd "$top" && env -u CQRS_ROOT_PASSWORD -u CQRS_WRITER_PASSWORD -u CQRS_READER_PASSWORD -u CQRS_REPL_PASSWORD \
        ${COMPOSE_ENV:-} timeout 60 docker-compose -f docker-compose.yml "$@")
}

# report: one check per "PASS name" / "FAIL name: why" line of the checker
report() {
    local status rest
    while read -r status rest; do
        [ "$status" = FAIL ] && echo "FAIL $rest"
        check "${rest%%:*}" PASS "$status" >/dev/null
    done
}

command -v docker-compose >/dev/null || apt_install docker-compose
PY=""
for p in python3 /usr/bin/python3; do
    "$p" -c 'import yaml' 2>/dev/null && { PY=$p; break; }
done
if [ -z "$PY" ]; then
    apt_install python3-yaml
    /usr/bin/python3 -c 'import yaml' 2>/dev/null && PY=/usr/bin/python3
fi

if ! command -v docker-compose >/dev/null || ! docker-compose version >/dev/null 2>&1 || [ -z "$PY" ]; then
    echo "SKIP docker-compose or PyYAML could not be installed or run ($(tail -1 "$T_CASE/apt.log" 2>/dev/null))"
else
    # ---- the file validates; a broken one does not
    compose config -q >"$T_CASE/compose.out" 2>&1
    rc=$?
    check "docker-compose config -q" 0 "$rc"
    [ "$rc" -ne 0 ] && head -10 "$T_CASE/compose.out"
    printf 'services:\n  a:\n    image: x\n    ports: 5\n' >"$T_CASE/bad-compose.yml"
    (cd "$T_CASE" && timeout 60 docker-compose -f bad-compose.yml config -q) >/dev/null 2>&1
    check "docker-compose rejects a broken file" 1 "$?"

    # ---- the properties, from the resolved configuration (the defaults)
    compose config >"$T_CASE/resolved.yml" 2>"$T_CASE/resolved.err"
    check "docker-compose config" 0 "$?"
    args=("$T_CASE/resolved.yml" "$top/docker-compose.yml" "$top/Dockerfile" "$top/.dockerignore" "$top")
    "$PY" "$checker" "${args[@]}" >"$T_CASE/check.out" 2>&1
    rc=$?
    report <"$T_CASE/check.out"
    check "compose_check.py exits 0" 0 "$rc"
    [ "$rc" -ne 0 ] && grep -v -E '^(PASS|FAIL) ' "$T_CASE/check.out" | head -5
    # every check can fail: each one, on a copy broken for it
    "$PY" "$checker" --selftest "${args[@]}" >"$T_CASE/selftest.out" 2>&1
    rc=$?
    report <"$T_CASE/selftest.out"
    check "compose_check.py --selftest exits 0" 0 "$rc"
    [ "$rc" -ne 0 ] && grep -v -E '^(PASS|FAIL) ' "$T_CASE/selftest.out" | head -5

    # ---- the password variables: each reaches its services, no other
    holding() { "$PY" "$checker" --holding "$T_CASE/resolved-vars.yml" "$1"; }
    COMPOSE_ENV="CQRS_ROOT_PASSWORD=R00t-61x CQRS_WRITER_PASSWORD=Wr1te-61x CQRS_READER_PASSWORD=Re4d-61x CQRS_REPL_PASSWORD=Repl1-61x" \
        compose config >"$T_CASE/resolved-vars.yml" 2>/dev/null
    check "the root password reaches the servers, migrate and replica-setup only" \
        "migrate mysql mysql-replica replica-setup" "$(holding R00t-61x)"
    check "the writer password reaches migrate and the daemons" \
        "cqrsd cqrsd-with-replica migrate" "$(holding Wr1te-61x)"
    check "the reader password reaches migrate and the daemons" \
        "cqrsd cqrsd-with-replica migrate" "$(holding Re4d-61x)"
    check "the replication password reaches replica-setup only" "replica-setup" "$(holding Repl1-61x)"
    check "no default password is left beside the variables" "" \
        "$(holding ':root@')$(holding ':cqrs_writer@')$(holding ':cqrs_reader@')$(holding cqrs_repl@)"

    # ---- this build of cqrsd accepts the stack's DSNs (the option layer: it
    # stops at the bad --listen given here, after the DSNs, never connecting)
    mapfile -t menv < <("$PY" "$checker" --env "$T_CASE/resolved.yml" migrate)
    check "migrate has three DSNs" 3 "$(printf '%s\n' "${menv[@]}" | grep -c '_DSN=')"
    env -i PATH="$PATH" "${menv[@]}" "$CQRSD_RELEASE_BIN" serve --listen not-a-listen \
        >"$T_CASE/dsn.out" 2>&1
    check_match "cqrsd accepts the stack's DSNs (ssl-mode=required)" "is not HOST:PORT" \
        "$(head -1 "$T_CASE/dsn.out")"
    mapfile -t renv < <("$PY" "$checker" --env "$T_CASE/resolved.yml" cqrsd-with-replica)
    check "cqrsd-with-replica has three DSNs" 3 "$(printf '%s\n' "${renv[@]}" | grep -c '_DSN=')"
    env -i PATH="$PATH" "${renv[@]}" "$CQRSD_RELEASE_BIN" serve --listen not-a-listen \
        >"$T_CASE/dsn-replica.out" 2>&1
    check_match "cqrsd accepts the stack's replica DSN" "is not HOST:PORT" \
        "$(head -1 "$T_CASE/dsn-replica.out")"
    # ... and reads it: the same with a parameter the DSN grammar refuses
    bad_renv=()
    for e in "${renv[@]}"; do
        case $e in CQRSD_REPLICA_DSN=*) e=${e/ssl-mode=required/ssl-mode=sometimes} ;; esac
        bad_renv+=("$e")
    done
    env -i PATH="$PATH" "${bad_renv[@]}" "$CQRSD_RELEASE_BIN" \
        serve --listen not-a-listen >"$T_CASE/dsn-replica-bad.out" 2>&1
    check_match "cqrsd refuses a bad replica DSN of the same environment" "^cqrsd: CQRSD_REPLICA_DSN .*ssl-mode" \
        "$(head -1 "$T_CASE/dsn-replica-bad.out")"

    # ---- the replica's set-up: its SQL in MySQL 8's grammar
    "$PY" "$checker" --replica-sql "$T_CASE/resolved.yml" "$top" >"$T_CASE/replica-setup.sql"
    check "replica-setup's script has SQL" 0 "$?"
    check_match "the SQL points the replica at the primary" "CHANGE REPLICATION SOURCE TO" \
        "$(cat "$T_CASE/replica-setup.sql")"
    if command -v node >/dev/null && command -v npm >/dev/null; then
        sh "$top/tests/sqlcheck/run.sh" "$T_CASE/replica-setup.sql" >"$T_CASE/replica-sqlcheck.out" 2>&1
        rc=$?
        check "replica-setup's SQL parses with the MySQL 8 grammar" 0 "$rc"
        [ "$rc" -ne 0 ] && head -5 "$T_CASE/replica-sqlcheck.out"
        # the grammar is the check: 8.0's words for the same step fail it
        sed 's/START REPLICA/START REPLICAS/' "$T_CASE/replica-setup.sql" >"$T_CASE/replica-bad.sql"
        sh "$top/tests/sqlcheck/run.sh" "$T_CASE/replica-bad.sql" >/dev/null 2>&1
        check "the grammar refuses a misspelt replication statement" 1 "$?"
    else
        echo "SKIP node/npm missing: replica-setup's SQL not parsed"
    fi

    # ---- the script, run against a stand-in `mysql` that logs one line per
    # call (host, TLS mode, where root's password came from, the SQL on one
    # line) and answers like the servers: WAIT_FOR_EXECUTED_GTID_SET answers
    # $STUB_WAIT (0 applied, 1 not yet), SHOW REPLICA STATUS says the SQL
    # thread runs: $STUB_SQL (with the column names only when asked, as
    # mysql prints them)
    script=$("$PY" "$checker" --replica-script "$T_CASE/resolved.yml" "$top")
    bash -n "$script"
    check "replica-setup's script parses (bash -n)" 0 "$?"
    mkdir -p "$T_CASE/stub"
    cat >"$T_CASE/stub/mysql" <<'STUB'
#!/bin/bash
host="" ssl="" cli_pw=no defaults="" names=yes
for a; do
    case $a in
    --skip-column-names | -N) names=no ;;
    --column-names) names=yes ;;
    --host=*) host=${a#*=} ;;
    --ssl-mode=*) ssl=${a#*=} ;;
    --defaults-extra-file=*) defaults=$(tr '\n' ' ' <"${a#*=}") ;;
    -p* | --password*) cli_pw=yes ;;
    esac
done
sql=$(tr '\n' ' ')
echo "CALL host=$host ssl=$ssl cli_pw=$cli_pw defaults=[$defaults] sql=$sql" >>"$STUB_LOG"
case $sql in
*gtid_executed*) echo '3e11fa47-71ca-11e1-9e33-c80aa9429562:1-85' ;;
*WAIT_FOR_EXECUTED_GTID_SET*) echo "$STUB_WAIT" ;;
*"SHOW REPLICA STATUS"*) # vertical; like mysql, the names only with column names
    echo "*************************** 1. row ***************************"
    while IFS='|' read -r name value; do
        if [ "$names" = yes ]; then printf '%29s: %s\n' "$name" "$value"; else echo "$value"; fi
    done <<EOF
Replica_IO_Running|Yes
Replica_SQL_Running|$STUB_SQL
Last_IO_Error|
Last_SQL_Error|Error 'x' on query
EOF
    ;;
esac
exit 0
STUB
    chmod +x "$T_CASE/stub/mysql"
    mapfile -t senv < <("$PY" "$checker" --env "$T_CASE/resolved.yml" replica-setup)
    run_setup() { # STUB_WAIT STUB_SQL [VAR=VALUE...]: the script's exit status
        local w=$1 q=$2
        shift 2
        : >"$T_CASE/stub.log"
        env -i PATH="$T_CASE/stub:$PATH" STUB_LOG="$T_CASE/stub.log" STUB_WAIT="$w" STUB_SQL="$q" \
            "${senv[@]}" CATCH_UP_SECONDS=3 "$@" timeout 60 bash "$script" >"$T_CASE/setup.out" 2>&1
    }
    # steps: HOST:WHAT for each call, in order
    steps() {
        local line host what
        while read -r line; do
            host=${line#CALL host=}
            host=${host%% *}
            case $line in
            *"CREATE USER"*) what=account ;;
            *gtid_executed*) what=gtids ;;
            *"CHANGE REPLICATION SOURCE TO"*"START REPLICA"*) what=change+start ;;
            *WAIT_FOR_EXECUTED_GTID_SET*) what=wait ;;
            *"SHOW REPLICA STATUS"*) what=status ;;
            *) what=other ;;
            esac
            printf '%s:%s ' "$host" "$what"
        done <"$T_CASE/stub.log"
    }
    run_setup 0 Yes
    check "replica-setup: exits 0 once the replica has applied the primary's GTIDs" 0 "$?"
    check "replica-setup: the account and the GTIDs on mysql, then the replica's steps" \
        "mysql:account mysql:gtids mysql-replica:change+start mysql-replica:wait " "$(steps)"
    calls=$(grep -c '^CALL' "$T_CASE/stub.log")
    check "replica-setup: every call asks for TLS (--ssl-mode=REQUIRED)" "$calls" \
        "$(grep -c '^CALL host=[^ ]* ssl=REQUIRED ' "$T_CASE/stub.log")"
    check "replica-setup: root's password travels in a defaults file, not the command line" \
        "$calls" "$(grep -c 'cli_pw=no defaults=\[\[client\] user=root password=root ' "$T_CASE/stub.log")"
    check_match "replica-setup: waits for the primary's GTID set" \
        "WAIT_FOR_EXECUTED_GTID_SET\('3e11fa47-71ca-11e1-9e33-c80aa9429562:1-85', 5\)" \
        "$(cat "$T_CASE/stub.log")"
    SECONDS=0
    run_setup 1 No CATCH_UP_SECONDS=30
    check "replica-setup: a stopped SQL thread fails at once (exit 1)" "1 yes" \
        "$? $([ "$SECONDS" -lt 3 ] && echo yes || echo "no, after ${SECONDS}s")"
    check_match "replica-setup: ... saying the replica's error" "last SQL error: Error 'x'" \
        "$(cat "$T_CASE/setup.out")"
    run_setup 1 Yes
    check "replica-setup: a replica still behind after CATCH_UP_SECONDS fails (exit 1)" 1 "$?"
    run_setup 0 Yes REPL_PASSWORD="a'b"
    check "replica-setup: a password that would need SQL quoting is refused (exit 2)" 2 "$?"
    check "replica-setup: ... before any SQL is sent" 0 "$(grep -c '^CALL' "$T_CASE/stub.log")"
fi

# ---- the Dockerfile's HEALTHCHECK command, run by sh (dash in the image)
if [ -n "$PY" ]; then
    hc=$("$PY" "$checker" --healthcheck-cmd "$top/Dockerfile")
    check_match "the HEALTHCHECK has a command" "curl" "$hc"
    # curl replaced by a function that prints the URL it was given
    url() { CQRSD_LISTEN="$1" sh -c 'curl() { for a; do case $a in http*) echo "$a" ;; esac; done; }; '"$hc"; }
    check "health URL for 0.0.0.0:8080" "http://127.0.0.1:8080/healthz" "$(url 0.0.0.0:8080)"
    check "health URL for 127.0.0.1:9000" "http://127.0.0.1:9000/healthz" "$(url 127.0.0.1:9000)"
    check "health URL for [::]:8081" "http://[::1]:8081/healthz" "$(url '[::]:8081')"
    check "health URL for :7000" "http://127.0.0.1:7000/healthz" "$(url :7000)"
    check "health URL for 10.1.2.3:7004" "http://10.1.2.3:7004/healthz" "$(url 10.1.2.3:7004)"
    # the real curl against the test daemon, and against a port nobody serves
    port=${BASE##*:}
    CQRSD_LISTEN="0.0.0.0:$port" timeout 10 sh -c "$hc"
    check "HEALTHCHECK: healthy daemon on 0.0.0.0:$port exits 0" 0 "$?"
    CQRSD_LISTEN="127.0.0.1:$port" timeout 10 sh -c "$hc"
    check "HEALTHCHECK: healthy daemon on 127.0.0.1:$port exits 0" 0 "$?"
    CQRSD_LISTEN="0.0.0.0:$(own_port)" timeout 10 sh -c "$hc" 2>/dev/null
    check "HEALTHCHECK: no daemon exits 1 (Docker's 'unhealthy')" 1 "$?"
fi

# ---- the runtime image's libmariadb3 (Debian 12, as here) has the plugin
if dpkg-query -W libmariadb3 >/dev/null 2>&1; then
    check "Debian's libmariadb3 ships caching_sha2_password.so" 1 \
        "$(dpkg -L libmariadb3 | grep -c '/libmariadb3/plugin/caching_sha2_password\.so$')"
else
    echo "SKIP libmariadb3 is not installed here: its plugin list not checked"
fi

finish

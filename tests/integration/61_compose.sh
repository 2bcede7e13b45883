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
# Debian's libmariadb3 ships the caching_sha2_password plugin. Installs
# docker-compose (and PyYAML, when no python3 has it) with apt-get.
. "$(dirname "$0")/lib.sh"
top=$(cd "$(dirname "$0")/../.." && pwd)
checker="$top/tests/integration/compose_check.py"

# compose ARGS...: docker-compose on the top's file, the password variables
# unset unless given in COMPOSE_ENV ("NAME=VALUE ...")
compose() {
    (cd "$top" && env -u CQRS_ROOT_PASSWORD -u CQRS_WRITER_PASSWORD -u CQRS_READER_PASSWORD \
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
    COMPOSE_ENV="CQRS_ROOT_PASSWORD=R00t-61x CQRS_WRITER_PASSWORD=Wr1te-61x CQRS_READER_PASSWORD=Re4d-61x" \
        compose config >"$T_CASE/resolved-vars.yml" 2>/dev/null
    holding() { "$PY" "$checker" --holding "$T_CASE/resolved-vars.yml" "$1"; }
    check "the root password reaches mysql and migrate only" "migrate mysql" "$(holding R00t-61x)"
    check "the writer password reaches migrate and cqrsd" "cqrsd migrate" "$(holding Wr1te-61x)"
    check "the reader password reaches migrate and cqrsd" "cqrsd migrate" "$(holding Re4d-61x)"
    check "no default password is left beside the variables" "" \
        "$(holding ':root@')$(holding ':cqrs_writer@')$(holding ':cqrs_reader@')"

    # ---- this build of cqrsd accepts the stack's DSNs (the option layer: it
    # stops at the bad --listen given here, after the DSNs, never connecting)
    mapfile -t menv < <("$PY" "$checker" --env "$T_CASE/resolved.yml" migrate)
    check "migrate has three DSNs" 3 "$(printf '%s\n' "${menv[@]}" | grep -c '_DSN=')"
    env -i PATH="$PATH" "${menv[@]}" "$CQRSD_RELEASE_BIN" serve --listen not-a-listen \
        >"$T_CASE/dsn.out" 2>&1
    check_match "cqrsd accepts the stack's DSNs (ssl-mode=required)" "is not HOST:PORT" \
        "$(head -1 "$T_CASE/dsn.out")"
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

# tls_lib.sh - certificates and TLS MariaDB servers for the TLS tests
# (07_tls.sh and the TLS pass of tests/run.sh). Sourced; needs bash,
# Debian's openssl CLI and scripts/mariadb.sh. Functions:
#   tls_certs DIR            make the test PKI in DIR (see below)
#   tls_db_start DIR PORT CERTS [SERVER]
#                            a private MariaDB in DIR on 127.0.0.1:PORT with
#                            TLS (CERTS/SERVER.pem, default "server") and
#                            require_secure_transport=ON
#   tls_db_stop DIR          stop it
#   tls_sql DIR STATEMENT    run STATEMENT as root over DIR's unix socket,
#                            without TLS (so it adds nothing to the server's
#                            Ssl_* counters)
#
# The PKI (every private key 0600):
#   ca.pem, ca.key           the test CA
#   server.pem, server.key   signed by ca: CN=127.0.0.1,
#                            subjectAltName IP:127.0.0.1, DNS:localhost
#   other-host.pem, .key     signed by ca: subjectAltName DNS:db.example.com only
#   client.pem, client.key   signed by ca: a client certificate (CN=cqrs-client)
#   rogue-ca.pem, .key       a second CA that signed none of the above
tls_lib_top=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)

# tls_cert_sign DIR NAME CN EXT: NAME.key and NAME.pem signed by DIR/ca
tls_cert_sign() {
    local d=$1 name=$2 cn=$3 ext=$4
    (umask 077 && openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 \
        -out "$d/$name.key" 2>/dev/null) || return 1
    openssl req -new -key "$d/$name.key" -subj "/O=cqrsd tests/CN=$cn" \
        -out "$d/$name.csr" 2>/dev/null || return 1
    printf '%s\n' "$ext" >"$d/$name.ext"
    openssl x509 -req -in "$d/$name.csr" -CA "$d/ca.pem" -CAkey "$d/ca.key" \
        -set_serial "0x$(openssl rand -hex 8)" -days 30 -sha256 \
        -extfile "$d/$name.ext" -out "$d/$name.pem" 2>/dev/null || return 1
    rm -f "$d/$name.csr" "$d/$name.ext"
}

# tls_ca DIR NAME CN: a self-signed CA, NAME.key and NAME.pem
tls_ca() {
    local d=$1 name=$2 cn=$3
    (umask 077 && openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 \
        -out "$d/$name.key" 2>/dev/null) || return 1
    openssl req -x509 -new -key "$d/$name.key" -subj "/O=cqrsd tests/CN=$cn" -days 30 -sha256 \
        -addext "basicConstraints=critical,CA:TRUE" \
        -addext "keyUsage=critical,keyCertSign,cRLSign" \
        -out "$d/$name.pem" 2>/dev/null
}

# tls_certs DIR: the whole PKI in DIR (created); 0 on success
tls_certs() {
    local d=$1
    local srv='basicConstraints=CA:FALSE
keyUsage=critical,digitalSignature,keyEncipherment
extendedKeyUsage=serverAuth'
    mkdir -p "$d" && chmod 700 "$d" || return 1
    tls_ca "$d" ca "cqrsd test CA" || return 1
    tls_ca "$d" rogue-ca "unrelated test CA" || return 1
    tls_cert_sign "$d" server 127.0.0.1 "$srv
subjectAltName=IP:127.0.0.1,DNS:localhost" || return 1
    tls_cert_sign "$d" other-host db.example.com "$srv
subjectAltName=DNS:db.example.com" || return 1
    tls_cert_sign "$d" client cqrs-client 'basicConstraints=CA:FALSE
keyUsage=critical,digitalSignature
extendedKeyUsage=clientAuth' || return 1
    # the CA keys are not needed any more
    rm -f "$d/ca.srl" "$d/rogue-ca.srl"
    chmod 600 "$d"/*.key
    chmod 644 "$d"/*.pem
    # a sanity check of the PKI itself, so a broken PKI is not mistaken for a daemon bug
    openssl verify -CAfile "$d/ca.pem" "$d/server.pem" "$d/other-host.pem" "$d/client.pem" >/dev/null 2>&1 ||
        return 1
    ! openssl verify -CAfile "$d/rogue-ca.pem" "$d/server.pem" >/dev/null 2>&1
}

# tls_db_start DIR PORT CERTS [SERVER]: start (not restart: stop it first) a
# private MariaDB with TLS and require_secure_transport=ON. The evidence of
# encryption: performance_schema is on, so status_by_thread shows each live
# session's Ssl_cipher, and the general log (a table, mysql.general_log) has
# one Connect row per login that ends "using SSL/TLS" (or "using TCP/IP" for
# clear text, "using Socket").
tls_db_start() {
    local dir=$1 port=$2 certs=$3 srv=${4:-server}
    MARIADB_OPTS="--ssl-ca=$certs/ca.pem --ssl-cert=$certs/$srv.pem --ssl-key=$certs/$srv.key \
--require-secure-transport=ON --performance-schema=ON --general-log=1 --log-output=TABLE \
${MARIADB_OPTS:-}" \
        sh "$tls_lib_top/scripts/mariadb.sh" start "$dir" "$port"
}

tls_db_stop() { sh "$tls_lib_top/scripts/mariadb.sh" stop "$1"; }

tls_sql() {
    mariadb --no-defaults --skip-ssl -uroot --socket="$1/s.sock" -N -B -e "$2"
}

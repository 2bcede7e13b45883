# shellcheck shell=bash
# jwt_lib.sh - real JWTs made with openssl(1) and coreutils, for the
# integration tests and the benchmark (source it). Nothing here is the
# daemon's code: the tokens are signed the way any issuer signs them
# (RFC 7515 compact serialization, RFC 7518 HS256/RS256/ES256).
#   jwt_keys DIR                        the keys (file names below)
#   jwt_hs256 SECRETFILE CLAIMS [HEADER] HMAC-SHA256 with the file's bytes
#                                       less one trailing newline (LF or
#                                       CRLF), as the daemon reads it
#   jwt_rs256 PRIVPEM CLAIMS [HEADER]   RSASSA-PKCS1-v1_5 SHA-256
#   jwt_es256 PRIVPEM CLAIMS [HEADER]   ECDSA P-256 SHA-256, signature R||S
#                                       (64 bytes), not DER
# CLAIMS and HEADER are JSON texts, encoded byte for byte as given (so a
# test can send duplicate members or odd forms); HEADER defaults to
# {"alg":"<alg>","typ":"JWT"}. Each prints the token, base64url without
# padding, and returns non-zero if openssl failed.

# jwt_b64url: stdin as base64url without padding, on one line
jwt_b64url() { basenc --base64url -w0 | tr -d '='; }

# jwt_keys DIR: in DIR (made if needed), every file mode 600:
#   hs256.key   the HS256 secret: 64 random characters (48 random bytes in
#               base64, no newline)
#   rsa.pem     RSA 2048 private key;  rsa.pub  its public key (PEM)
#   ec.pem      EC P-256 private key;  ec.pub   its public key (PEM)
jwt_keys() {
    local d=$1
    mkdir -p "$d" || return 1
    (
        umask 077
        cd "$d" || exit 1
        openssl rand -base64 48 | tr -d '\n' >hs256.key &&
            openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out rsa.pem 2>/dev/null &&
            openssl pkey -in rsa.pem -pubout -out rsa.pub &&
            openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out ec.pem 2>/dev/null &&
            openssl pkey -in ec.pem -pubout -out ec.pub &&
            chmod 600 hs256.key rsa.pem rsa.pub ec.pem ec.pub
    )
}

# jwt_signing_input ALG CLAIMS [HEADER]: "b64(header).b64(claims)"
jwt_signing_input() {
    local alg=$1 claims=$2 header=${3:-}
    [ -n "$header" ] || header="{\"alg\":\"$alg\",\"typ\":\"JWT\"}"
    printf '%s.%s' "$(printf '%s' "$header" | jwt_b64url)" "$(printf '%s' "$claims" | jwt_b64url)"
}

# jwt_hexkey FILE: the file's bytes in hex, less one trailing LF or CRLF
jwt_hexkey() {
    local hex
    hex=$(od -An -v -tx1 "$1" | tr -d ' \n')
    case $hex in
    *0d0a) hex=${hex%0d0a} ;;
    *0a) hex=${hex%0a} ;;
    esac
    printf '%s' "$hex"
}

jwt_hs256() {
    local input sig hex
    input=$(jwt_signing_input HS256 "$2" "${3:-}") || return 1
    hex=$(jwt_hexkey "$1")
    [ -n "$hex" ] || return 1
    sig=$(printf '%s' "$input" | openssl dgst -sha256 -mac HMAC -macopt "hexkey:$hex" -binary | jwt_b64url)
    [ -n "$sig" ] || return 1
    printf '%s.%s\n' "$input" "$sig"
}

jwt_rs256() {
    local input sig
    input=$(jwt_signing_input RS256 "$2" "${3:-}") || return 1
    sig=$(printf '%s' "$input" | openssl dgst -sha256 -sign "$1" -binary | jwt_b64url)
    [ -n "$sig" ] || return 1
    printf '%s.%s\n' "$input" "$sig"
}

# jwt_der_to_raw: a DER ECDSA-Sig-Value (SEQUENCE {INTEGER r, INTEGER s}) on
# stdin, R||S (32 bytes each, big-endian, zero-padded) on stdout
jwt_der_to_raw() {
    local ints n=0 v raw=""
    ints=$(openssl asn1parse -inform DER | sed -nE 's/.*prim: +INTEGER +:([0-9A-Fa-f]+).*/\1/p')
    for v in $ints; do
        n=$((n + 1))
        while [ ${#v} -gt 64 ] && [ "${v:0:2}" = 00 ]; do v=${v:2}; done
        [ ${#v} -le 64 ] || return 1
        while [ ${#v} -lt 64 ]; do v=0$v; done
        raw=$raw$v
    done
    [ "$n" = 2 ] || return 1
    printf '%s' "$raw" | tr 'a-f' 'A-F' | basenc --base16 -d
}

jwt_es256() {
    local input sig
    input=$(jwt_signing_input ES256 "$2" "${3:-}") || return 1
    sig=$(printf '%s' "$input" | openssl dgst -sha256 -sign "$1" -binary | jwt_der_to_raw | jwt_b64url)
    [ ${#sig} = 86 ] || return 1 # 64 bytes
    printf '%s.%s\n' "$input" "$sig"
}

#!/bin/sh
# deps.sh - install the Debian packages cqrsd needs to build, run and test,
# but only those that are missing (apt-get update first, as on a fresh machine).
set -eu
pkgs="gcc make pkg-config libc6-dev mariadb-server mariadb-client libmariadb-dev
libmariadb-dev-compat libmicrohttpd-dev libjansson-dev libssl-dev libjwt-dev check openssl curl
jq python3 nodejs npm"
missing=""
for p in $pkgs; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed"; then
        # node and npm may come from elsewhere than Debian's packages
        case "$p" in
        nodejs) command -v node >/dev/null 2>&1 && continue ;;
        npm) command -v npm >/dev/null 2>&1 && continue ;;
        esac
        missing="$missing $p"
    fi
done
if [ -n "$missing" ]; then
    echo "deps: installing$missing"
    if [ "$(id -u)" -ne 0 ]; then
        echo "deps: run as root (or install:$missing)" >&2
        exit 1
    fi
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    # the server package must not start a system service: we run our own
    apt-get install -y -qq --no-install-recommends $missing >/dev/null
fi

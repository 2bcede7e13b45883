#!/usr/bin/env bash
# 01_smoke.sh - the daemon answers /healthz and /readyz
. "$(dirname "$0")/lib.sh"
check healthz 200 "$(get /healthz)"
check healthz-body ok "$(jqb .status)"
check readyz 200 "$(get /readyz)"
check readyz-body ready "$(jqb .status)"
finish

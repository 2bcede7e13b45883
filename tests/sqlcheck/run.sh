#!/bin/sh
# Check that SQL files parse with a MySQL 8 grammar: tests/sqlcheck/run.sh FILE.sql...
# Installs the pinned dt-sql-parser (npm ci) on first use; see check.mjs.
set -e
dir=$(cd "$(dirname "$0")" && pwd)
if [ ! -d "$dir/node_modules/dt-sql-parser" ]; then
  (cd "$dir" && npm ci --silent --no-audit --no-fund)
fi
exec node "$dir/check.mjs" "$@"

#!/usr/bin/env bash
# Runs the Kapu demo: a private PostgreSQL, the demo tenant `hegyvidek`, the local
# simulators and the server on http://127.0.0.1:8080. Ctrl-C stops everything.
set -euo pipefail
cd "$(dirname "$0")/.."
. deploy/deps.sh
need_build_tools
need_postgres
need_node
[ -d admin-ui/node_modules ] || npm ci --prefix admin-ui --no-audit --no-fund
npm run build --prefix admin-ui >/dev/null
exec cargo run --quiet -p kapu -- demo "$@"

#!/usr/bin/env bash
# The nginx module's benchmark (not run in CI): wrk on loopback against one
# nginx (worker_processes 2): `return 200`; a location gated on a session in
# the shm store; the same on the Node app's Redis sessions; and auth_request
# to the Node express-session app (the alternative users pick today).
# Prints req/s of each. Needs what scripts/test-nginx.sh installs.
# Usage: scripts/bench-nginx.sh [SECONDS] [CONNECTIONS]
set -euo pipefail
cd "$(dirname "$0")/.."
for tool in nginx redis-server node wrk; do
    command -v "$tool" >/dev/null || { echo "bench-nginx.sh: $tool is not installed (scripts/test-nginx.sh installs it)" >&2; exit 1; }
done
[ -d tests/interop/node_modules ] || (cd tests/interop && npm ci --no-audit --no-fund --loglevel=error)
scripts/build-nginx-module.sh
python3 bindings/nginx/tests/bench_nginx.py target/nginx/ngx_http_libsession_module.so "$@"

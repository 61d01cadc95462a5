#!/usr/bin/env bash
# The Redis suites: the connect-redis compatible store against a real
# redis-server (integration/tests/redis_store.rs), and live interop with an express-session
# + connect-redis app on Node (integration/tests/redis_interop.rs, tests/interop/).
# Each test starts its own redis-server on a free loopback port and stops it.
# With LIBSESSION_REQUIRE_ALL=1 a missing redis-server, node or
# node_modules fails the tests instead of skipping them.
set -euo pipefail
cd "$(dirname "$0")/.."

for tool in redis-server redis-cli openssl node npm; do
    command -v "$tool" >/dev/null || { echo "test-redis.sh: $tool is not installed" >&2; exit 1; }
done
echo "==> $(redis-server --version | cut -d' ' -f1-3), node $(node --version)"

echo "==> npm ci (tests/interop: express, express-session 1.19.0, connect-redis, redis)"
(cd tests/interop && npm ci --no-audit --no-fund --loglevel=error)

export LIBSESSION_REQUIRE_ALL=1
echo "==> cargo test: Redis store (faults, Cluster, TLS) and Node interop"
# --all-features, as scripts/test.sh's cargo test: the same build, no recompiling.
cargo test --release --all-features -p libsession-integration \
    --test redis_store --test redis_interop --test redis_cluster --test redis_tls

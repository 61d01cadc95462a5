#!/usr/bin/env bash
# Throughput on one Redis, scenario (b) (a returning visitor increments a
# counter: load, verify, modify, save, Set-Cookie): the Rust axum example
# with libsession's RedisStore next to the express-session + connect-redis
# app (tests/interop/app.js) on the same redis-server, driven by wrk on
# loopback with the same cookies rotation over many sessions.
#
#   scripts/bench-redis.sh [SECONDS] [CONNECTIONS] [SESSIONS]
#
# Not part of the test suite (a benchmark, not a timed test). Needs
# redis-server, node (npm ci in tests/interop), wrk and curl; installs wrk
# from Debian when it is missing.
set -euo pipefail
cd "$(dirname "$0")/.."
SECONDS_PER_RUN=${1:-10}
CONNECTIONS=${2:-32}
SESSIONS=${3:-200}

if ! command -v wrk >/dev/null; then
    SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
    $SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq wrk >/dev/null
fi
for tool in redis-server node curl wrk; do
    command -v "$tool" >/dev/null || { echo "bench-redis.sh: $tool is not installed" >&2; exit 1; }
done
[ -d tests/interop/node_modules ] || (cd tests/interop && npm ci --no-audit --no-fund --loglevel=error)
cargo build --release --quiet -p libsession-integration --example axum --features redis

WORK=$(mktemp -d)
PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$WORK"; }
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_http() { for _ in $(seq 100); do curl -s -o /dev/null "$1" && return 0; sleep 0.1; done; echo "no answer from $1" >&2; exit 1; }

REDIS_PORT=$(free_port)
redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --save "" --appendonly no --dir "$WORK" >"$WORK/redis.log" 2>&1 &
PIDS+=($!)
for _ in $(seq 100); do redis-cli -p "$REDIS_PORT" ping >/dev/null 2>&1 && break; sleep 0.05; done
REDIS_URL="redis://127.0.0.1:$REDIS_PORT/"
SECRET="bench secret: thirty-two bytes or more"

RUST_PORT=$(free_port)
SESSION_SECRET="$SECRET" target/release/examples/axum --port "$RUST_PORT" --redis "$REDIS_URL" >"$WORK/rust.log" 2>&1 &
PIDS+=($!)
NODE_PORT=$(free_port)
(cd tests/interop && REDIS_URL="$REDIS_URL" PORT="$NODE_PORT" \
    SESSION_OPTIONS="{\"secret\":\"$SECRET\",\"resave\":false,\"saveUninitialized\":false,\"cookie\":{\"maxAge\":86400000}}" \
    exec node app.js) >"$WORK/node.log" 2>&1 &
PIDS+=($!)
wait_http "http://127.0.0.1:$RUST_PORT/"
wait_http "http://127.0.0.1:$NODE_PORT/views"

# SESSIONS sessions on each side (each app's own cookies), one cookie a line.
make_sessions() { # url file
    for _ in $(seq "$SESSIONS"); do
        curl -s -o /dev/null -D - "$1" | tr -d '\r' | sed -n 's/^[Ss]et-[Cc]ookie: \([^;]*\).*/\1/p'
    done >"$2"
    [ "$(wc -l <"$2")" -eq "$SESSIONS" ] || { echo "could not make $SESSIONS sessions at $1" >&2; exit 1; }
}
make_sessions "http://127.0.0.1:$RUST_PORT/" "$WORK/rust.cookies"
make_sessions "http://127.0.0.1:$NODE_PORT/views" "$WORK/node.cookies"

cat >"$WORK/rotate.lua" <<'LUA'
local cookies, i = {}, 0
function init(args)
  for line in io.lines(args[1]) do cookies[#cookies + 1] = line end
  i = math.random(#cookies)
end
function request()
  i = i % #cookies + 1
  return wrk.format("GET", nil, { ["Cookie"] = cookies[i] })
end
LUA

run() { # name url cookies
    wrk -t2 -c"$CONNECTIONS" -d"${SECONDS_PER_RUN}s" --latency -s "$WORK/rotate.lua" "$2" -- "$3" >"$WORK/$1.wrk"
    local rps p50 p99 errors
    rps=$(awk '/^Requests\/sec:/ {print $2}' "$WORK/$1.wrk")
    p50=$(awk '$1=="50%" {print $2}' "$WORK/$1.wrk")
    p99=$(awk '$1=="99%" {print $2}' "$WORK/$1.wrk")
    errors=$(awk '/Non-2xx/ {print $4}' "$WORK/$1.wrk")
    printf '%-40s %12s %10s %10s %s\n' "$1" "$rps" "$p50" "$p99" "${errors:+non-2xx: $errors}"
    echo "$rps $p50 $p99" >"$WORK/$1.numbers"
}
echo "scenario (b) on one Redis: ${SESSIONS} sessions, ${CONNECTIONS} connections, ${SECONDS_PER_RUN}s each, wrk -t2 (2 cores shared by all)"
printf '%-40s %12s %10s %10s\n' "server" "req/s" "p50" "p99"
run "node: express-session + connect-redis" "http://127.0.0.1:$NODE_PORT/views" "$WORK/node.cookies"
run "rust: axum + libsession RedisStore" "http://127.0.0.1:$RUST_PORT/" "$WORK/rust.cookies"

python3 - "$WORK" <<'PY'
import sys, re
work = sys.argv[1]
def ms(t):
    m = re.fullmatch(r"([\d.]+)(us|ms|s)", t)
    return float(m.group(1)) * {"us": 0.001, "ms": 1, "s": 1000}[m.group(2)]
node = open(f"{work}/node: express-session + connect-redis.numbers").read().split()
rust = open(f"{work}/rust: axum + libsession RedisStore.numbers").read().split()
ratio = float(rust[0]) / float(node[0])
print(f"throughput: rust/node = {ratio:.2f}x (goal >= 5x)")
print(f"rust p99 {ms(rust[2]):.2f} ms vs node median {ms(node[1]):.2f} ms (goal: below)")
PY

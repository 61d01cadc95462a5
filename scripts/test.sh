#!/usr/bin/env bash
# Runs every test suite of libsession (Rust, C, Python, Redis + Node interop),
# installing what a fresh Debian machine lacks first. This is the README's
# test command and what CI runs (.ci/run).
set -euo pipefail
cd "$(dirname "$0")/.."

# --- what the suites need -----------------------------------------------
DEBS=(curl valgrind g++ make pkg-config binutils redis-server openssl libhiredis-dev chromium chromium-driver)
missing=()
for p in "${DEBS[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
# Node may come from elsewhere than Debian (nvm, a tarball): only its absence counts.
command -v node >/dev/null 2>&1 && command -v npm >/dev/null 2>&1 || missing+=(nodejs npm)
if ((${#missing[@]})); then
    echo "==> installing Debian packages: ${missing[*]}"
    SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
rustup component add clippy rustfmt >/dev/null 2>&1 || true
echo "==> npm ci (tests/interop, for the Node interop test)"
(cd tests/interop && npm ci --no-audit --no-fund --loglevel=error)

# Tests skip when a tool they drive (node, cc, redis-server, valgrind...) is
# missing, so that plain `cargo test` needs only Rust; here every skip fails.
export LIBSESSION_REQUIRE_ALL=1

# --- Rust -----------------------------------------------------------------
echo "==> rustfmt"
cargo fmt --all -- --check
echo "==> clippy"
cargo clippy --workspace --all-targets --all-features -- -D warnings
echo "==> cargo test --workspace (unit, conformance, properties, demo, C ABI; integration/: tower, axum, Redis, header)"
cargo test --release --all-features --workspace
echo "==> unit and property tests in a debug build (arithmetic overflow checked)"
cargo test --lib --all-features --quiet
cargo test --all-features --quiet --test hardening
echo "==> cargo doc (warnings are errors)"
RUSTDOCFLAGS="-D warnings" cargo doc --no-deps --all-features --quiet
echo "==> benchmarks, a few iterations each (so that they keep running; timing is cargo bench's job)"
LIBSESSION_BENCH_ITERS=20 cargo bench --all-features --bench lifecycle >/dev/null
echo "==> first run: the demo's crate count from a fresh copy, and cargo add --path (scripts/test-first-run.sh)"
scripts/test-first-run.sh
echo "==> conformance runner on the vendored vectors"
cargo run --release --example conformance -- tests/conformance/vectors/named.json tests/conformance/vectors/random-public.json
cargo run --release --features capi --example conformance -- --c-abi tests/conformance/vectors/named.json tests/conformance/vectors/random-public.json

# --- fuzz smoke -------------------------------------------------------------
# Each libFuzzer target for 30 s (nightly; a cold build of the targets takes
# about 3 minutes here, the runs 2): issue 16's smoke, with overflow checks
# and AddressSanitizer on. Longer runs: scripts/fuzz.sh SECONDS.
echo "==> fuzz smoke (scripts/fuzz.sh 30)"
if cargo +nightly --version >/dev/null 2>&1; then
    scripts/fuzz.sh 30
else
    echo "skipped: fuzz smoke (the nightly toolchain is missing: rustup toolchain install nightly)"
fi

# --- other hosts ----------------------------------------------------------
for suite in scripts/test-c.sh scripts/test-python.sh scripts/test-redis.sh scripts/test-nginx.sh scripts/test-demos.sh; do
    if [ -x "$suite" ]; then
        echo "==> $suite"
        "$suite"
    fi
done
echo "==> all suites passed"

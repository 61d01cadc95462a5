#!/usr/bin/env bash
# Runs each libFuzzer target in fuzz/ for SECONDS (default 60) and ends with
# `N passed, M failed` (a target passes when it ran its time without a
# crash). Needs the nightly toolchain (`rustup toolchain install nightly`);
# the targets are built with plain `cargo +nightly build` and libFuzzer's
# instrumentation flags, so cargo-fuzz is not needed. Corpora grow in
# target/fuzz-corpus/<target>, seeded from fuzz/seeds/<target> (committed,
# made from the conformance vectors); crashes land in target/fuzz-artifacts.
#
#   scripts/fuzz.sh [SECONDS] [TARGET...]
set -uo pipefail
cd "$(dirname "$0")/.."

SECONDS_PER_TARGET=${1:-60}
shift || true
TARGETS=("$@")
if [ ${#TARGETS[@]} -eq 0 ]; then
    TARGETS=(cookie_header store_record api_sequence c_abi_sequence)
fi

if ! cargo +nightly --version >/dev/null 2>&1; then
    echo "fuzz.sh: the nightly toolchain is missing (rustup toolchain install nightly): no target ran" >&2
    echo "0 passed, ${#TARGETS[@]} failed"
    exit 2
fi

FLAGS="-Cpasses=sancov-module -Cllvm-args=-sanitizer-coverage-level=4"
FLAGS="$FLAGS -Cllvm-args=-sanitizer-coverage-inline-8bit-counters -Cllvm-args=-sanitizer-coverage-pc-table"
FLAGS="$FLAGS -Cllvm-args=-sanitizer-coverage-trace-compares --cfg fuzzing -Cdebug-assertions -Coverflow-checks"
if [ -z "${FUZZ_NO_ASAN:-}" ]; then
    FLAGS="$FLAGS -Zsanitizer=address"
fi
export CARGO_TARGET_DIR="$PWD/target/fuzz-build"
echo "==> building the fuzz targets (nightly)"
if ! (cd fuzz && RUSTFLAGS="$FLAGS" cargo +nightly build --release --target x86_64-unknown-linux-gnu --bins); then
    echo "fuzz.sh: the build failed"
    echo "0 passed, ${#TARGETS[@]} failed"
    exit 1
fi

passed=0
failed=0
for t in "${TARGETS[@]}"; do
    corpus="target/fuzz-corpus/$t"
    artifacts="target/fuzz-artifacts/$t/"
    mkdir -p "$corpus" "$artifacts"
    echo "==> $t for ${SECONDS_PER_TARGET}s"
    log="target/fuzz-artifacts/$t.log"
    if "$CARGO_TARGET_DIR/x86_64-unknown-linux-gnu/release/$t" -max_total_time="$SECONDS_PER_TARGET" \
        -rss_limit_mb=2048 -max_len=65536 -artifact_prefix="$artifacts" -print_final_stats=1 \
        "$corpus" "fuzz/seeds/$t" >"$log" 2>&1; then
        passed=$((passed + 1))
        echo "ok   $t: $(grep -E '^stat::number_of_executed_units' "$log" | awk '{print $2}') executions, corpus $(find "$corpus" -type f | wc -l) files"
    else
        failed=$((failed + 1))
        echo "FAIL $t (see $log and $artifacts)"
        tail -30 "$log"
    fi
done
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]

#!/usr/bin/env bash
# The C side of libsession, checked for memory errors:
#
#   1. builds the static library (cargo build --release --features capi);
#   2. compiles include/libsession.h on its own as C99 and as C++;
#   3. generates tests/c/gen_null_checks.py's test from the header (NULL for
#      every pointer parameter of every function), then builds the C tests
#      (tests/c/ and that one) with -std=c99 -Wall -Wextra -Wpedantic
#      -Werror and runs them (a) under AddressSanitizer + UndefinedBehavior-
#      Sanitizer with leak detection, (b) under valgrind memcheck, where any
#      error or any leaked or still-reachable block fails the run;
#   4. builds the C example server (make -C examples/c, with hiredis for its
#      Redis store) and runs its HTTP tests (tests/c_server.rs: in memory,
#      and with --redis against a redis-server it starts) against a
#      sanitizer build and under valgrind.
#
# It expects its tools to be installed already (Debian packages:
# build-essential g++ valgrind curl python3 redis-server) and stops if one is
# missing; hiredis (libhiredis-dev) is installed with apt-get when absent.
set -euo pipefail
cd "$(dirname "$0")/.."

need() {
    if ! command -v "$1" >/dev/null 2>&1; then
        echo "test-c.sh: '$1' is not installed (Debian package: $2)" >&2
        exit 2
    fi
}
need cargo cargo
need cc build-essential
need c++ g++
need make make
need valgrind valgrind
need curl curl
need python3 python3
if [ ! -f /usr/include/hiredis/hiredis.h ]; then
    echo "== installing libhiredis-dev (the C server's Redis store)"
    SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends libhiredis-dev >/dev/null
fi

LIB=target/release/libsession.a
OUT=target/c-tests
TESTS=(test_lifecycle test_errors test_version test_api_rules test_stored test_redis test_null_params)
CFLAGS=(-std=c99 -Wall -Wextra -Wpedantic -Werror -g -Iinclude -Itests/c)
LIBS=(-lpthread -ldl -lm)
SANITIZE=(-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all)
VALGRIND=(valgrind --error-exitcode=1 --leak-check=full --errors-for-leak-kinds=all --show-leak-kinds=all)
export ASAN_OPTIONS=detect_leaks=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1

echo "== build the static library"
cargo build --release --lib --features capi
mkdir -p "$OUT"

echo "== the NULL-parameter test, generated from the header"
python3 tests/c/gen_null_checks.py include/libsession.h >"$OUT/test_null_params.c"
src() { # the C file of test $1
    if [ -f "tests/c/$1.c" ]; then echo "tests/c/$1.c"; else echo "$OUT/$1.c"; fi
}

echo "== the header alone, as C99 and as C++"
cc -std=c99 -Wall -Wextra -Wpedantic -Werror -fsyntax-only -x c include/libsession.h
c++ -x c++ -std=c++11 -Wall -Wextra -Wpedantic -Werror -fsyntax-only include/libsession.h

passed=0
failed=0
run() { # label, command...
    local label=$1
    shift
    if "$@"; then
        passed=$((passed + 1))
    else
        echo "FAILED: $label" >&2
        failed=$((failed + 1))
    fi
}

echo "== C tests under AddressSanitizer + UndefinedBehaviorSanitizer"
for t in "${TESTS[@]}"; do
    cc "${CFLAGS[@]}" -O1 "${SANITIZE[@]}" "$(src "$t")" tests/c/harness.c "$LIB" "${LIBS[@]}" -o "$OUT/$t.asan"
    run "$t (asan+ubsan)" "$OUT/$t.asan"
done

echo "== C tests under valgrind memcheck"
for t in "${TESTS[@]}"; do
    cc "${CFLAGS[@]}" -O0 "$(src "$t")" tests/c/harness.c "$LIB" "${LIBS[@]}" -o "$OUT/$t"
    run "$t (valgrind)" "${VALGRIND[@]}" "$OUT/$t"
done

echo "== the C example server: make -C examples/c, then its HTTP test"
make -C examples/c
make -C examples/c --always-make LIBSESSION_LIB="$PWD/$LIB" OUT="$PWD/$OUT/server.asan" \
    CFLAGS="-std=c99 -O1 -g -Wall -Wextra -Wpedantic -Werror ${SANITIZE[*]}" LDFLAGS="${SANITIZE[*]}"
run "c_server (asan+ubsan)" env LIBSESSION_C_SERVER="$PWD/$OUT/server.asan" \
    cargo test --release --test c_server
run "c_server (valgrind)" env LIBSESSION_C_SERVER="$PWD/examples/c/server" \
    LIBSESSION_C_SERVER_WRAPPER="${VALGRIND[*]}" cargo test --release --test c_server

echo "C test runs: $passed passed, $failed failed"
[ "$failed" -eq 0 ]

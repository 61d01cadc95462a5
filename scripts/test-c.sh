#!/usr/bin/env bash
# The C side of libsession, checked for memory errors:
#
#   1. builds the static library (cargo build --release -p libsession-capi);
#   2. compiles include/libsession.h on its own as C99 and as C++;
#   3. generates tests/c/gen_null_checks.py's test from the header (NULL for
#      every pointer parameter of every function), then builds the C tests
#      (tests/c/ and that one) with -std=c99 -Wall -Wextra -Wpedantic
#      -Werror and runs them (a) under AddressSanitizer + UndefinedBehavior-
#      Sanitizer with leak detection, (b) under valgrind memcheck, where any
#      error or any leaked or still-reachable block fails the run;
#   4. builds the C example server's store test (tests/c/test_demo_store.c:
#      Connect's reaping with a fake clock) under both, then the C example server (make -C examples/c, with hiredis for its
#      Redis store) and runs its HTTP tests (tests/c_server.rs: in memory,
#      and with --redis against a redis-server it starts) against a
#      sanitizer build and under valgrind.
#   5. installs the library into a temporary PREFIX (scripts/install-c.sh),
#      checks the shared object's SONAME (readelf -d) and that its debug info
#      is stripped, then builds tests/c/pkgconfig_app.c against the installed
#      copy with `pkg-config --cflags --libs libsession` (run with
#      LD_LIBRARY_PATH, and under valgrind) and statically with
#      `pkg-config --static` (no libsession in its NEEDED entries), and
#      checks what both print.
#
# It expects its tools to be installed already (Debian packages:
# build-essential g++ valgrind curl python3 redis-server pkg-config binutils)
# and stops if one is missing; hiredis (libhiredis-dev) is installed with apt-get when absent.
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
need pkg-config pkg-config
need readelf binutils
need strip binutils
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
cargo build --release -p libsession-capi
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

echo "== the C example server's store (Connect's reaping, a fake clock)"
cc "${CFLAGS[@]}" -O1 "${SANITIZE[@]}" tests/c/test_demo_store.c examples/c/store.c -o "$OUT/test_demo_store.asan"
run "test_demo_store (asan+ubsan)" "$OUT/test_demo_store.asan"
cc "${CFLAGS[@]}" -O0 tests/c/test_demo_store.c examples/c/store.c -o "$OUT/test_demo_store"
run "test_demo_store (valgrind)" "${VALGRIND[@]}" "$OUT/test_demo_store"

echo "== the C example server: make -C examples/c, then its HTTP test"
make -C examples/c
make -C examples/c --always-make LIBSESSION_LIB="$PWD/$LIB" OUT="$PWD/$OUT/server.asan" \
    CFLAGS="-std=c99 -O1 -g -Wall -Wextra -Wpedantic -Werror ${SANITIZE[*]}" LDFLAGS="${SANITIZE[*]}"
run "c_server (asan+ubsan)" env LIBSESSION_C_SERVER="$PWD/$OUT/server.asan" \
    cargo test --release --test c_server
run "c_server (valgrind)" env LIBSESSION_C_SERVER="$PWD/examples/c/server" \
    LIBSESSION_C_SERVER_WRAPPER="${VALGRIND[*]}" cargo test --release --test c_server

echo "== install into a temporary PREFIX, then build against it with pkg-config"
PREFIX=$(mktemp -d "${TMPDIR:-/tmp}/libsession-prefix.XXXXXX")
trap 'rm -rf "$PREFIX"' EXIT
LIBSESSION_NO_BUILD=1 scripts/install-c.sh "$PREFIX"
check_packaging() {
    local so soname static_needed out want_version
    want_version=$(sed -n 's/^#define LIBSESSION_VERSION "\(.*\)"$/\1/p' include/libsession.h)
    so="$PREFIX/lib/libsession.so.$want_version"
    [ -f "$so" ] || { echo "missing $so" >&2; return 1; }
    [ "$(readlink "$PREFIX/lib/libsession.so.0")" = "libsession.so.$want_version" ] \
        || { echo "libsession.so.0 does not point at libsession.so.$want_version" >&2; return 1; }
    [ "$(readlink "$PREFIX/lib/libsession.so")" = "libsession.so.0" ] \
        || { echo "libsession.so does not point at libsession.so.0" >&2; return 1; }
    soname=$(readelf -d "$so" | sed -n 's/.*(SONAME).*\[\(.*\)\]/\1/p')
    echo "SONAME: $soname"
    [ "$soname" = "libsession.so.0" ] || { echo "expected SONAME libsession.so.0, got '$soname'" >&2; return 1; }
    if readelf -S "$so" | grep -q '\.debug_info'; then
        echo "the installed $so still has .debug_info" >&2
        return 1
    fi
    readelf -S target/release/libsession.so | grep -q '\.debug_info' \
        || { echo "the build tree's libsession.so lost its debug info (profile.release debug = 1)" >&2; return 1; }
    echo "installed .so: $(du -h "$so" | cut -f1) (build tree: $(du -h target/release/libsession.so | cut -f1))"

    export PKG_CONFIG_PATH="$PREFIX/lib/pkgconfig"
    [ "$(pkg-config --modversion libsession)" = "$want_version" ] \
        || { echo "pkg-config --modversion libsession: expected $want_version" >&2; return 1; }
    echo "pkg-config --cflags --libs libsession: $(pkg-config --cflags --libs libsession)"
    # shellcheck disable=SC2046 # pkg-config's output is a list of flags
    cc -std=c99 -Wall -Wextra -Wpedantic -Werror -g tests/c/pkgconfig_app.c \
        $(pkg-config --cflags --libs libsession) -o "$OUT/pkgconfig_app" || return 1
    readelf -d "$OUT/pkgconfig_app" | grep -q 'NEEDED.*\[libsession.so.0\]' \
        || { echo "pkgconfig_app does not record NEEDED libsession.so.0" >&2; return 1; }
    out=$(LD_LIBRARY_PATH="$PREFIX/lib" "$OUT/pkgconfig_app") || { echo "pkgconfig_app failed" >&2; return 1; }
    echo "$out"
    check_app_output "$out" "$want_version" || return 1
    LD_LIBRARY_PATH="$PREFIX/lib" "${VALGRIND[@]}" -q "$OUT/pkgconfig_app" >/dev/null \
        || { echo "pkgconfig_app under valgrind failed" >&2; return 1; }

    # Static: the same flags with --static, -lsession taken as the archive.
    local static_libs
    static_libs=$(pkg-config --static --libs libsession)
    echo "pkg-config --static --libs libsession: $static_libs"
    # shellcheck disable=SC2046,SC2086
    cc -std=c99 -Wall -Wextra -Wpedantic -Werror -g tests/c/pkgconfig_app.c \
        $(pkg-config --cflags libsession) ${static_libs/-lsession/-l:libsession.a} \
        -o "$OUT/pkgconfig_app_static" || return 1
    static_needed=$(readelf -d "$OUT/pkgconfig_app_static" | grep NEEDED || true)
    if grep -q libsession <<<"$static_needed"; then
        echo "the static build still needs libsession.so: $static_needed" >&2
        return 1
    fi
    out=$(env -u LD_LIBRARY_PATH "$OUT/pkgconfig_app_static") || { echo "pkgconfig_app_static failed" >&2; return 1; }
    check_app_output "$out" "$want_version" || return 1
    echo "static build: same output, no libsession in NEEDED"
}
check_app_output() { # output, version
    grep -qx "libsession $2" <<<"$1" || { echo "no 'libsession $2' line" >&2; return 1; }
    grep -Eq '^Set-Cookie: connect\.sid=s%3A[^;]+; Path=/; HttpOnly; SameSite=Lax$' <<<"$1" \
        || { echo "no Set-Cookie line of the expected form" >&2; return 1; }
    [ "$(grep -c '^Set-Cookie: ' <<<"$1")" = 1 ] || { echo "expected exactly one Set-Cookie (the second request changes nothing)" >&2; return 1; }
    grep -qx 'user: "ada"' <<<"$1" || { echo "the second request did not load user \"ada\"" >&2; return 1; }
}
if check_packaging; then
    passed=$((passed + 1))
else
    echo "FAILED: install + pkg-config build" >&2
    failed=$((failed + 1))
fi

echo "C test runs: $passed passed, $failed failed"
[ "$failed" -eq 0 ]

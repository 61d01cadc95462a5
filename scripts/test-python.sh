#!/usr/bin/env bash
# The Python side of libsession (bindings/python):
#
#   1. builds the shared library (cargo build --release -p libsession-capi);
#   2. makes a virtual environment under target/python-venv (falling back to
#      `pip install --target target/python-deps` when the interpreter's venv
#      module has no ensurepip), installs pytest, flask and redis (redis-py,
#      for libsession.redis_store) from PyPI and the
#      bindings themselves (`pip install ./bindings/python`, which bundles
#      the library just built next to the package);
#   3. runs the tests (bindings/python/tests: the poll loop, every handler
#      operation, errors, freeing, the header check, the WSGI middleware
#      over real HTTP, the Flask session interface (Flask from PyPI), the
#      conformance vectors, the Redis stores and the ASGI
#      middleware against a redis-server the tests start, the fleet test);
#   4. runs the benchmark once (bindings/python/bench.py) and prints its
#      output; the timings never fail the run (the script only checks that
#      both sides did the work, and fails if they did not).
#
# Needs python3 (3.10 or newer) with pip, cargo, and network access to PyPI.
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-python3}
if ! command -v "$PYTHON" >/dev/null 2>&1; then
    echo "test-python.sh: '$PYTHON' is not installed (Debian package: python3 python3-venv)" >&2
    exit 2
fi
"$PYTHON" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 10) else 1)' || {
    echo "test-python.sh: Python 3.10 or newer is needed ($("$PYTHON" --version 2>&1))" >&2
    exit 2
}

echo "== build the shared library"
cargo build --release -p libsession-capi

ROOT=$PWD
VENV=$ROOT/target/python-venv
DEPS=$ROOT/target/python-deps
export PYTHONDONTWRITEBYTECODE=1
PIP_FLAGS=(--disable-pip-version-check --quiet)
export PIP_ROOT_USER_ACTION=ignore
# A venv counts only if it has pip (Debian's venv without ensurepip leaves one without).
venv_ok() { [ -x "$VENV/bin/python" ] && "$VENV/bin/python" -m pip --version >/dev/null 2>&1; }
if venv_ok || { rm -rf "$VENV"; "$PYTHON" -m venv "$VENV" >/dev/null 2>&1 && venv_ok; }; then
    echo "== virtual environment target/python-venv"
    PY="$VENV/bin/python"
    "$PY" -m pip install "${PIP_FLAGS[@]}" pytest flask redis
    "$PY" -m pip install "${PIP_FLAGS[@]}" --force-reinstall --no-deps ./bindings/python
    run_py() { "$PY" "$@"; }
else
    echo "== no usable venv module (ensurepip missing?): pip install --target target/python-deps"
    rm -rf "$VENV" "$DEPS"
    "$PYTHON" -m pip install "${PIP_FLAGS[@]}" --target "$DEPS" pytest flask redis ./bindings/python
    run_py() { PYTHONPATH="$DEPS${PYTHONPATH:+:$PYTHONPATH}" "$PYTHON" "$@"; }
fi

echo "== the installed package loads the library bundled next to it"
run_py - <<'EOF'
import libsession, pathlib
where = pathlib.Path(libsession.LIB_PATH)
print(f"libsession {libsession.library_version()} from {where}")
assert where.parent == pathlib.Path(libsession.__file__).parent, "expected the bundled copy"
EOF

echo "== a build that cannot get its library fails, and says why (no package without its library)"
NOLIB=$(mktemp -d)
if LIBSESSION_LIBRARY=/nonexistent/libsession.so run_py -m pip install "${PIP_FLAGS[@]}" --no-deps \
        --target "$NOLIB/site" ./bindings/python >"$NOLIB/log" 2>&1; then
    cat "$NOLIB/log"; echo "test-python.sh: pip installed the package without its library" >&2; exit 1
fi
grep -q 'LIBSESSION_LIBRARY=/nonexistent/libsession.so is not a file' "$NOLIB/log" \
    || { cat "$NOLIB/log"; echo "test-python.sh: the failed build did not say why" >&2; exit 1; }
rm -rf "$NOLIB"
[ ! -e bindings/python/src/libsession.egg-info ] && [ ! -e bindings/python/libsession.egg-info ] \
    || { echo "test-python.sh: build output in the package's source tree" >&2; exit 1; }

echo "== pytest bindings/python/tests"
(cd bindings/python && run_py -m pytest -q -p no:cacheprovider tests)

echo "== benchmark (informative: timings never fail this script)"
(cd bindings/python && run_py bench.py)
echo "== python: all tests passed"

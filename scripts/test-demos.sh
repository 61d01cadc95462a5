#!/usr/bin/env bash
# The demos at parity (issue 15 items 5-6, issue 13 proof 3): the Rust demo
# (examples/demo.rs), the C one (examples/c/server.c) and the Python one
# (python -m libsession.demo), each started once, through
#
#   1. one black-box HTTP suite (tests/demos/test_http.py: a client with a
#      cookie jar over real sockets, standard library only): the counter and
#      its page byte for byte, cookie attributes, login, logout, a tampered
#      cookie, /stats, arguments, the secret, an options file;
#   2. a real browser (tests/demos/test_in_browser.py: Debian's chromium,
#      headless, driven by Selenium through Debian's chromedriver): counter,
#      cookie attributes as the browser stores them, login, logout, a
#      screenshot per demo under target/demos/, and a secret rotation against
#      the Rust demo on Redis.
#
# Installs chromium and chromium-driver with apt-get when they are missing
# (and says so if it cannot: the browser tests then skip, or fail under
# LIBSESSION_REQUIRE_ALL=1, which scripts/test.sh sets), and pytest and
# selenium from PyPI into target/demos-venv. Needs cargo, cc, make,
# libhiredis-dev and redis-server (scripts/test.sh installs them).
set -euo pipefail
cd "$(dirname "$0")/.."
started=$(date +%s)

PYTHON=${PYTHON:-python3}
if ! command -v chromium >/dev/null 2>&1 || ! command -v chromedriver >/dev/null 2>&1; then
    echo "== installing chromium and chromium-driver (the browser tests)"
    SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
    if ! { $SUDO apt-get update -qq &&
        DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends chromium chromium-driver >/dev/null; }; then
        echo "note: chromium could not be installed; the browser tests will say skipped: (or fail under LIBSESSION_REQUIRE_ALL=1)"
    fi
fi

VENV=target/demos-venv
PIP_FLAGS=(--disable-pip-version-check --quiet)
export PIP_ROOT_USER_ACTION=ignore PYTHONDONTWRITEBYTECODE=1
venv_ok() { [ -x "$VENV/bin/python" ] && "$VENV/bin/python" -m pip --version >/dev/null 2>&1; }
if venv_ok || { rm -rf "$VENV"; "$PYTHON" -m venv "$VENV" >/dev/null 2>&1 && venv_ok; }; then
    "$VENV/bin/python" -m pip install "${PIP_FLAGS[@]}" pytest selenium
    PY=("$VENV/bin/python")
else
    echo "== no usable venv module: pip install --target target/demos-deps"
    rm -rf "$VENV"
    "$PYTHON" -m pip install "${PIP_FLAGS[@]}" --target target/demos-deps pytest selenium
    export PYTHONPATH="$PWD/target/demos-deps${PYTHONPATH:+:$PYTHONPATH}"
    PY=("$PYTHON")
fi

echo "== the demos: one HTTP suite for every host, then each in chromium"
rm -f target/demos/*.png
"${PY[@]}" -m pytest -q -p no:cacheprovider -rs tests/demos
ls target/demos/*.png | sed 's/^/screenshot: /'
echo "== demos: all tests passed in $(($(date +%s) - started)) s"

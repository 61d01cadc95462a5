#!/usr/bin/env bash
# The nginx module's suite: installs what is missing (Debian nginx,
# nginx-dev, libhiredis-dev, redis-server, valgrind, wrk; one apt-get update,
# only when something is missing), builds the module
# (scripts/build-nginx-module.sh), and runs bindings/nginx/tests/test_nginx.py
# against ONE nginx (worker_processes 2, loopback, a temporary prefix, not
# the system service) in front of the express-session + connect-redis app of
# tests/interop/nginx-app.js.
#
# When the packages cannot be installed, the suite is skipped with the
# reason, unless LIBSESSION_REQUIRE_ALL is set (scripts/test.sh sets it):
# then it fails.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PATH:/usr/sbin:/sbin"   # nginx is in /usr/sbin

skip() {
    if [ -n "${LIBSESSION_REQUIRE_ALL:-}" ]; then
        echo "test-nginx.sh: FAIL: $*" >&2
        exit 1
    fi
    echo "test-nginx.sh: SKIPPED: $*"
    exit 0
}

DEBS=(nginx nginx-dev libhiredis-dev redis-server redis-tools valgrind wrk binutils gcc make python3 curl openssl)
missing=()
for p in "${DEBS[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
    echo "==> installing Debian packages: ${missing[*]}"
    SUDO=""
    [ "$(id -u)" -ne 0 ] && SUDO="sudo -n"
    if ! { $SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null; }; then
        skip "cannot install ${missing[*]}"
    fi
fi
# The distribution's nginx service is not ours: the tests start their own.
command -v node >/dev/null 2>&1 || skip "node is not installed"

if [ ! -d tests/interop/node_modules ]; then
    echo "==> npm ci (tests/interop)"
    (cd tests/interop && npm ci --no-audit --no-fund --loglevel=error)
fi

echo "==> $(nginx -v 2>&1), $(redis-server --version | cut -d' ' -f1-3), node $(node --version)"
scripts/build-nginx-module.sh
echo "==> bindings/nginx/tests/test_nginx.py"
python3 bindings/nginx/tests/test_nginx.py target/nginx/ngx_http_libsession_module.so

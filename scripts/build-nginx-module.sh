#!/usr/bin/env bash
# Builds the nginx dynamic module (bindings/nginx) against the installed
# Debian nginx: libsession.a (cargo build --release -p libsession-capi), then
# nginx-dev's source tree copied to target/nginx/src, configured with
# --with-compat and Debian's own configure flags (so the module's signature
# matches the nginx binary), and `make modules`.
#
# Output: target/nginx/ngx_http_libsession_module.so
# Needs: nginx-dev (/usr/share/nginx/src), libhiredis-dev, a C compiler.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT="$PWD"
NGX_SRC=/usr/share/nginx/src
OUT="$ROOT/target/nginx"

[ -f "$NGX_SRC/conf_flags" ] || { echo "build-nginx-module.sh: $NGX_SRC/conf_flags missing: install nginx-dev" >&2; exit 1; }
[ -f /usr/include/hiredis/async.h ] || { echo "build-nginx-module.sh: hiredis headers missing: install libhiredis-dev" >&2; exit 1; }

echo "==> cargo build --release -p libsession-capi (libsession.a)"
cargo build --release -p libsession-capi --quiet

mkdir -p "$OUT"
# A fresh copy of nginx-dev's tree when it changed (or on first use).
stamp="$(dpkg-query -W -f='${Version}' nginx-dev 2>/dev/null || echo unknown)"
if [ ! -f "$OUT/src/.stamp" ] || [ "$(cat "$OUT/src/.stamp")" != "$stamp" ]; then
    rm -rf "$OUT/src"
    cp -r "$NGX_SRC" "$OUT/src"
    echo "$stamp" > "$OUT/src/.stamp"
fi

cd "$OUT/src"
# Reconfigure when the module's config changed (or never configured).
if [ ! -f objs/Makefile ] || [ "$ROOT/bindings/nginx/config" -nt objs/Makefile ]; then
    echo "==> configure --with-compat (Debian's flags) --add-dynamic-module=bindings/nginx"
    # shellcheck disable=SC1091
    . ./conf_flags
    ./configure --with-compat "${NGX_CONF_FLAGS[@]}" \
        --with-cc-opt="-g -O2 -fstack-protector-strong -Wformat -Werror=format-security -fPIC -Wall -Wextra -Wno-unused-parameter -Werror" \
        --with-ld-opt="-Wl,-z,relro -Wl,-z,now -fPIC" \
        --add-dynamic-module="$ROOT/bindings/nginx" > "$OUT/configure.log" 2>&1 \
        || { tail -30 "$OUT/configure.log"; exit 1; }
fi

echo "==> make modules"
# libsession.a newer than the module: relink.
if [ -f objs/ngx_http_libsession_module.so ] && [ "$ROOT/target/release/libsession.a" -nt objs/ngx_http_libsession_module.so ]; then
    rm -f objs/ngx_http_libsession_module.so
fi
make -s -j2 -f objs/Makefile modules
cp objs/ngx_http_libsession_module.so "$OUT/ngx_http_libsession_module.so"
echo "==> $OUT/ngx_http_libsession_module.so"

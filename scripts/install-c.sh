#!/usr/bin/env bash
# Installs the C library under PREFIX (Linux):
#
#   scripts/install-c.sh PREFIX          e.g. /usr/local, $HOME/.local
#
#   PREFIX/include/libsession.h
#   PREFIX/lib/libsession.a                      (static; debug info stripped)
#   PREFIX/lib/libsession.so.MAJOR.MINOR.PATCH   (SONAME libsession.so.MAJOR;
#                                                 debug info stripped)
#   PREFIX/lib/libsession.so.MAJOR -> libsession.so.MAJOR.MINOR.PATCH
#   PREFIX/lib/libsession.so       -> libsession.so.MAJOR
#   PREFIX/lib/pkgconfig/libsession.pc
#
# It first builds the library (cargo build --release -p libsession-capi);
# the build tree keeps its debug info (profile.release debug = 1), only the
# installed copies are stripped. DESTDIR is honoured as in make install
# (files go to DESTDIR/PREFIX, the .pc file names PREFIX). Set
# LIBSESSION_NO_BUILD=1 to install what target/release (or
# $CARGO_TARGET_DIR/release) holds without running cargo.
#
# Then:  cc app.c $(pkg-config --cflags --libs libsession)
# (PKG_CONFIG_PATH=PREFIX/lib/pkgconfig when PREFIX is not a system prefix;
# docs/c-api.md has the static link and the run-time search path).
set -euo pipefail

die() {
    echo "install-c.sh: $*" >&2
    exit 1
}

usage() { # the comment block above, without its '#'
    sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'
}
if [ "$#" -eq 1 ] && { [ "$1" = "-h" ] || [ "$1" = "--help" ]; }; then
    usage
    exit 0
fi
if [ "$#" -ne 1 ]; then
    usage >&2
    exit 2
fi
PREFIX=$1
case "$PREFIX" in
    /*) ;;
    *) die "PREFIX must be an absolute path (got '$PREFIX')" ;;
esac
PREFIX=${PREFIX%/}
[ -n "$PREFIX" ] || die "PREFIX must not be / (use /usr or /usr/local)"
DESTDIR=${DESTDIR:-}

cd "$(dirname "$0")/.."
[ "$(uname -s)" = "Linux" ] || die "only Linux is supported (SONAME and symlink layout)"
for tool in cargo strip readelf install; do
    command -v "$tool" >/dev/null 2>&1 || die "'$tool' is not installed (Debian: binutils for strip/readelf, coreutils, cargo)"
done

# The version: the workspace's (Cargo.toml's [workspace.package], which
# every package takes), which the header must carry too.
VERSION=$(sed -n '/^\[workspace\.package\]/,/^\[/{s/^version *= *"\([^"]*\)".*/\1/p}' Cargo.toml | head -n 1)
[[ "$VERSION" =~ ^([0-9]+)\.([0-9]+)\.([0-9]+)$ ]] || die "cannot read a MAJOR.MINOR.PATCH version from Cargo.toml (got '$VERSION')"
MAJOR=${BASH_REMATCH[1]}
grep -q "^#define LIBSESSION_VERSION \"$VERSION\"$" include/libsession.h \
    || die "include/libsession.h does not say LIBSESSION_VERSION \"$VERSION\" (regenerate it: LIBSESSION_BLESS=1 cargo test -p libsession-integration --test header)"

if [ "${LIBSESSION_NO_BUILD:-0}" != 1 ]; then
    echo "== cargo build --release -p libsession-capi"
    cargo build --release -p libsession-capi
fi
TARGET_DIR=${CARGO_TARGET_DIR:-target}
A=$TARGET_DIR/release/libsession.a
SO=$TARGET_DIR/release/libsession.so
[ -f "$A" ] && [ -f "$SO" ] || die "$A or $SO is missing (build with: cargo build --release -p libsession-capi)"
SONAME=libsession.so.$MAJOR
readelf -d "$SO" | grep -q "(SONAME).*\[$SONAME\]" \
    || die "$SO has no SONAME $SONAME (build.rs sets it for the capi feature on Linux; rebuild)"

LIB=$DESTDIR$PREFIX/lib
INC=$DESTDIR$PREFIX/include
PC=$LIB/pkgconfig
echo "== installing libsession $VERSION into $DESTDIR$PREFIX"
install -d "$LIB" "$INC" "$PC"
install -m 644 include/libsession.h "$INC/libsession.h"

# Stripped copies: debug info out, symbols (and the export list) kept.
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
strip --strip-debug -o "$TMP/libsession.a" "$A"
strip --strip-debug -o "$TMP/libsession.so" "$SO"
install -m 644 "$TMP/libsession.a" "$LIB/libsession.a"
install -m 755 "$TMP/libsession.so" "$LIB/libsession.so.$VERSION"
ln -sfn "libsession.so.$VERSION" "$LIB/$SONAME"
ln -sfn "$SONAME" "$LIB/libsession.so"

# Libs.private: what the static library needs from the system, as printed by
# `cargo rustc --release -p libsession-capi --crate-type staticlib --
# --print native-static-libs` on Linux (glibc).
cat >"$PC/libsession.pc" <<EOF
prefix=$PREFIX
exec_prefix=\${prefix}
libdir=\${exec_prefix}/lib
includedir=\${prefix}/include

Name: libsession
Description: A sans-IO session engine with express-session semantics (C ABI)
Version: $VERSION
Libs: -L\${libdir} -lsession
Libs.private: -lgcc_s -lutil -lrt -lpthread -lm -ldl -lc
Cflags: -I\${includedir}
EOF
chmod 644 "$PC/libsession.pc"

for f in include/libsession.h lib/libsession.a "lib/libsession.so.$VERSION" "lib/$SONAME" lib/libsession.so lib/pkgconfig/libsession.pc; do
    echo "   $DESTDIR$PREFIX/$f"
done
echo "== done: cc app.c \$(pkg-config --cflags --libs libsession)"

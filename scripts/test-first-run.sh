#!/usr/bin/env bash
# What a new user meets first (issue 15): from a copy of the repository with
# no build output (a fresh clone), `cargo run --example demo` compiles at
# most about 30 crates, and a scratch crate that adds libsession with `cargo
# add --path` builds a ten-line program against it. Prints the crate count.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
export CARGO_TARGET_DIR="$WORK/target"

echo "== a copy of the repository without build output"
git ls-files -z | (cd "$ROOT" && xargs -0 tar cf -) | (mkdir -p "$WORK/clone" && cd "$WORK/clone" && tar xf -)
cd "$WORK/clone"
log="$WORK/demo-build.log"
cargo build --example demo 2>"$log" || { cat "$log"; exit 1; }
crates=$(grep -c '^ *Compiling ' "$log" || true)
echo "cargo build --example demo compiled $crates crates (the library included)"
if [ "$crates" -gt 40 ]; then
    grep '^ *Compiling ' "$log"
    echo "test-first-run.sh: more than 40 crates for the demo: a heavy dev-dependency crept back into the main package" >&2
    exit 1
fi

echo "== cargo add --path into a scratch crate, and a small program"
cd "$WORK"
cargo new --quiet --bin scratch
cd scratch
cargo add --quiet --path "$WORK/clone" 2>&1
name=$(sed -n 's/^name = "\(.*\)"$/\1/p' "$WORK/clone/Cargo.toml" | head -1)
lib=$(sed -n '/^\[lib\]/,/^\[/s/^name = "\(.*\)"$/\1/p' "$WORK/clone/Cargo.toml" | head -1)
lib=${lib:-${name//-/_}}
cat > src/main.rs <<RUST
use std::sync::Arc;
use $lib::{Action, Config, MemoryStore, Request, SeededIds, UnixMillis};

fn main() {
    let config = Arc::new(Config::builder().secret("a secret of at least thirty-two bytes").build().unwrap());
    let (store, mut req) = (MemoryStore::new(), Request::new(config, UnixMillis(0), SeededIds::new(&[7; 32])));
    loop {
        match store.poll(&mut req, 0).unwrap() {
            Action::Ready => { req.increment("views").unwrap(); req.finish().unwrap(); }
            Action::SetCookie { value } => println!("Set-Cookie: {value}"),
            Action::Done => break,
            _ => {}
        }
    }
}
RUST
cargo run --quiet | grep -q '^Set-Cookie: connect.sid=s%3A' || { echo "the scratch program did not print a session cookie" >&2; exit 1; }
echo "the scratch crate (dependency \`$name\`, \`use $lib::…\`) builds and runs"

//! Builds artifacts that `cargo test` does not produce (the static library,
//! the demo binary) with cargo, in a target directory of their own so that
//! a test run with other features is never disturbed.

use std::path::PathBuf;
use std::process::Command;
use std::sync::Mutex;

static BUILD: Mutex<()> = Mutex::new(());

/// `target/host-build/release`: where these builds land.
pub(crate) fn dir() -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target"));
    target.join("host-build")
}

/// Runs `cargo build --release <args>` into [`dir`]; returns its `release/`.
#[allow(dead_code)]
pub(crate) fn cargo_build(args: &[&str]) -> PathBuf {
    let _one_at_a_time = BUILD.lock().unwrap_or_else(|p| p.into_inner());
    let status = Command::new(env!("CARGO"))
        .args(["build", "--quiet", "--release"])
        .args(args)
        .arg("--target-dir")
        .arg(dir())
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .status()
        .expect("cargo runs");
    assert!(status.success(), "cargo build {args:?} failed");
    dir().join("release")
}

/// The static library with the C ABI (feature `capi`), freshly built.
#[allow(dead_code)] // not every test binary needs it
pub(crate) fn static_lib() -> PathBuf {
    cargo_build(&["-p", "libsession-capi"]).join("libsession.a")
}

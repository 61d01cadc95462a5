//! The external tools some tests drive (node, a C compiler, make, curl,
//! redis-server, valgrind), detected in one place so that `cargo test` needs
//! only Rust: a test whose tool is missing prints why and returns (passing
//! as skipped). `scripts/test.sh` (CI) sets `LIBSESSION_REQUIRE_ALL=1`,
//! which turns every such skip into a failure, so nothing is skipped there
//! unnoticed.

#![allow(dead_code)] // each test binary uses a different part

use std::io::Write;
use std::path::Path;

/// Set (to anything but `0` or empty): a missing tool fails the test.
pub(crate) const REQUIRE_ALL: &str = "LIBSESSION_REQUIRE_ALL";

/// Whether `program` (a name looked up on the PATH, or a path) exists.
pub(crate) fn on_path(program: &str) -> bool {
    if program.contains('/') {
        return Path::new(program).is_file();
    }
    std::env::var_os("PATH").is_some_and(|paths| std::env::split_paths(&paths).any(|dir| dir.join(program).is_file()))
}

fn required() -> bool {
    std::env::var_os(REQUIRE_ALL).is_some_and(|v| !v.is_empty() && v != "0")
}

/// `true` if every tool in `tools` is installed; otherwise `false` after a
/// printed reason, or a panic when [`REQUIRE_ALL`] is set.
pub(crate) fn present(test: &str, tools: &[impl AsRef<str>]) -> bool {
    let missing: Vec<&str> = tools.iter().map(AsRef::as_ref).filter(|t| !on_path(t)).collect();
    missing.is_empty() || skip(test, &format!("{} not found on the PATH", missing.join(", ")))
}

/// Skips `test` for `reason` (returns `false`), or panics when
/// [`REQUIRE_ALL`] is set. For prerequisites other than a program.
pub(crate) fn skip(test: &str, reason: &str) -> bool {
    if required() {
        panic!("{test}: {reason}, and {REQUIRE_ALL} is set (scripts/test.sh installs what the tests need)");
    }
    // Straight to stderr, past the test harness's output capture.
    let _ =
        writeln!(std::io::stderr(), "skipped: {test}: {reason} (scripts/test.sh installs it and sets {REQUIRE_ALL}=1)");
    false
}

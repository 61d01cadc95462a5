//! Replays express-session conformance vector files against the engine.
//!
//! ```text
//! cargo run --release --example conformance -- FILE...
//! ```
//!
//! Prints one line per failing scenario (its name and first mismatch), then
//! `N passed, M failed`; exits non-zero when M > 0.

#[path = "../tests/conformance/runner.rs"]
mod runner;

fn main() {
    let files: Vec<String> = std::env::args().skip(1).collect();
    if files.is_empty() {
        eprintln!("usage: conformance FILE...");
        std::process::exit(2);
    }
    let (mut passed, mut failed) = (0, 0);
    for file in &files {
        let text = match std::fs::read_to_string(file) {
            Ok(t) => t,
            Err(e) => {
                eprintln!("{file}: {e}");
                std::process::exit(2);
            }
        };
        match runner::run_file(&runner::RustEngine, &text) {
            Ok((p, fails)) => {
                passed += p;
                failed += fails.len();
                for (name, why) in fails {
                    println!("FAIL {file} {name}: {why}");
                }
            }
            Err(e) => {
                eprintln!("{file}: {e}");
                std::process::exit(2);
            }
        }
    }
    println!("{passed} passed, {failed} failed");
    if failed > 0 {
        std::process::exit(1);
    }
}

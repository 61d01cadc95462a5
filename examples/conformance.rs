//! Replays express-session conformance vector files against the engine.
//!
//! ```text
//! cargo run --release --example conformance -- FILE...
//! cargo run --release --features capi --example conformance -- --c-abi FILE...
//! ```
//!
//! With `--c-abi`, the engine is driven only through the exported
//! `extern "C"` functions (the C ABI), not the Rust API; that needs the
//! `capi` feature (`cargo run --release --features capi --example conformance -- --c-abi FILE...`).
//!
//! Prints one line per failing scenario (its name and first mismatch), then
//! `N passed, M failed`; exits non-zero when M > 0. A known divergence from
//! express-session (listed with its reason in `tests/conformance/runner.rs`,
//! `KNOWN_DIVERGENCES`) that fails as listed is printed as `KNOWN` and
//! counted apart (`N passed, M failed, K known divergences`).

#[path = "../tests/conformance/runner.rs"]
mod runner;

#[cfg(feature = "capi")]
#[path = "../tests/conformance/c_engine.rs"]
mod c_engine;

#[cfg(feature = "capi")]
fn run(c_abi: bool, text: &str) -> Result<(usize, Vec<(String, String)>), String> {
    if c_abi { runner::run_file(&c_engine::CEngine, text) } else { runner::run_file(&runner::RustEngine, text) }
}

/// Without the `capi` feature there is no C ABI to drive.
#[cfg(not(feature = "capi"))]
fn run(c_abi: bool, text: &str) -> Result<(usize, Vec<(String, String)>), String> {
    if c_abi {
        eprintln!(
            "--c-abi needs the C ABI: cargo run --release --features capi --example conformance -- --c-abi FILE..."
        );
        std::process::exit(2);
    }
    runner::run_file(&runner::RustEngine, text)
}

fn main() {
    let mut args: Vec<String> = std::env::args().skip(1).collect();
    let c_abi = args.first().is_some_and(|a| a == "--c-abi");
    if c_abi {
        args.remove(0);
    }
    let files = args;
    if files.is_empty() {
        eprintln!("usage: conformance [--c-abi] FILE...");
        std::process::exit(2);
    }
    let (mut passed, mut failed, mut known) = (0, 0, 0);
    for file in &files {
        let text = match std::fs::read_to_string(file) {
            Ok(t) => t,
            Err(e) => {
                eprintln!("{file}: {e}");
                std::process::exit(2);
            }
        };
        match run(c_abi, &text) {
            Ok((p, fails)) => {
                passed += p;
                for (name, why) in fails {
                    let listed =
                        runner::KNOWN_DIVERGENCES.iter().find(|(k, _, expect)| *k == name && why.contains(expect));
                    match listed {
                        Some((_, reason, _)) => {
                            known += 1;
                            println!("KNOWN {file} {name}: {reason}");
                        }
                        None => {
                            failed += 1;
                            println!("FAIL {file} {name}: {why}");
                        }
                    }
                }
            }
            Err(e) => {
                eprintln!("{file}: {e}");
                std::process::exit(2);
            }
        }
    }
    if known > 0 {
        println!("{passed} passed, {failed} failed, {known} known divergences");
    } else {
        println!("{passed} passed, {failed} failed");
    }
    if failed > 0 {
        std::process::exit(1);
    }
}

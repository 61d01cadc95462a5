//! The vendored express-session 1.19.0 corpus, replayed through the Rust API.

#[path = "conformance/runner.rs"]
mod runner;

fn check(file: &str, expected: usize) {
    let path = format!("{}/tests/conformance/vectors/{file}", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).expect("vector file");
    let (passed, failed) = runner::run_file(&runner::RustEngine, &text).expect("vector file parses");
    for (name, why) in &failed {
        eprintln!("FAIL {name}: {why}");
    }
    assert!(failed.is_empty(), "{} of {} scenarios failed", failed.len(), passed + failed.len());
    assert_eq!(passed, expected);
}

#[test]
fn named_vectors() {
    check("named.json", 107);
}

#[test]
fn random_public_vectors() {
    check("random-public.json", 300);
}

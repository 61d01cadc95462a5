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

/// Edge cases recorded from the real express-session 1.19.0 by
/// `tests/differential` (see its README). Two are known divergences: a
/// record cookie with its own `toJSON`, or an own `__proto__` object,
/// reshapes the JavaScript Cookie object itself; the engine keeps the
/// cookie's documented attributes instead.
#[test]
fn differential_edge_vectors() {
    const KNOWN: [&str; 2] = ["rec-cookie-key-toJSON", "rec-cookie-key-proto_object"];
    for (file, total) in
        [("edge-vectors.json", 878), ("edge-vectors-deep-nesting.json", 2), ("edge-vectors-lone-surrogates.json", 2)]
    {
        let path = format!("{}/tests/differential/{file}", env!("CARGO_MANIFEST_DIR"));
        let text = std::fs::read_to_string(&path).expect("vector file");
        let (passed, failed) = runner::run_file(&runner::RustEngine, &text).expect("vector file parses");
        let unexpected: Vec<_> = failed.iter().filter(|(name, _)| !KNOWN.contains(&name.as_str())).collect();
        assert!(unexpected.is_empty(), "{file}: {unexpected:#?}");
        assert_eq!(passed + failed.len(), total, "{file}");
    }
}

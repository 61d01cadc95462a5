//! The vendored express-session 1.19.0 corpus, replayed through the C ABI:
//! the runner drives the engine only through the exported `extern "C"`
//! functions (`tests/conformance/c_engine.rs`). The known divergences
//! from express-session (`KNOWN_DIVERGENCES` in `runner.rs`) are in the
//! differential corpus, which `tests/conformance.rs` runs; these corpora
//! have none.

#[path = "conformance/runner.rs"]
mod runner;

#[path = "conformance/c_engine.rs"]
mod c_engine;

fn check(file: &str, expected: usize) {
    let path = format!("{}/tests/conformance/vectors/{file}", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).expect("vector file");
    let (passed, failed) = runner::run_file(&c_engine::CEngine, &text).expect("vector file parses");
    for (name, why) in &failed {
        eprintln!("FAIL {name}: {why}");
    }
    assert!(failed.is_empty(), "{} of {} scenarios failed through the C ABI", failed.len(), passed + failed.len());
    assert_eq!(passed, expected);
}

#[test]
fn named_vectors_through_the_c_abi() {
    check("named.json", 107);
}

#[test]
fn random_public_vectors_through_the_c_abi() {
    check("random-public.json", 300);
}

/// Every corpus again through the C ABI, with each record kept as the
/// handle the engine made and loaded back with
/// `libsession_request_handle_load_stored` whenever the store gives back
/// exactly its text: the same outcomes, byte for byte.
#[test]
fn vectors_through_the_c_abi_with_stored_records() {
    let engine = c_engine::CStoredEngine::default();
    for (file, expected) in [("named.json", 107), ("random-public.json", 300)] {
        let path = format!("{}/tests/conformance/vectors/{file}", env!("CARGO_MANIFEST_DIR"));
        let text = std::fs::read_to_string(&path).expect("vector file");
        let (passed, failed) = runner::run_file(&engine, &text).expect("vector file parses");
        for (name, why) in &failed {
            eprintln!("FAIL {name}: {why}");
        }
        assert!(failed.is_empty(), "{file}: {} failed on the stored-record path", failed.len());
        assert_eq!(passed, expected, "{file}");
    }
    assert!(engine.hits() > 100, "only {} loads took a kept record", engine.hits());
}

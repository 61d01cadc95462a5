//! Any Cookie header through a whole request: verify, load (the store holds
//! a record for one ID), handler, save; nothing panics, and a cookie the
//! engine did not sign never leads to a store load.
#![no_main]

use std::sync::Arc;

use libfuzzer_sys::fuzz_target;
use libsession_engine::{Action, Config, MemoryStore, Request, SeededIds, UnixMillis};

const NOW: u64 = 1_700_000_000_000;

fuzz_target!(|data: &[u8]| {
    let config = Arc::new(
        Config::builder().secret("fuzz secret fuzz secret fuzz secret!").max_age(Some(60_000.0)).build().unwrap(),
    );
    let store = MemoryStore::new();
    let _ = store.set(
        "AbCdEfGhIjKlMnOpQrStUvWxYz0123456789-_AbCdE",
        r#"{"cookie":{"originalMaxAge":60000,"expires":"2033-11-14T23:13:20.000Z","httpOnly":true,"path":"/"},"n":1}"#,
        None,
        NOW as i64,
    );
    let mut req = Request::new(config, UnixMillis(NOW), SeededIds::new(&[7; 32]));
    // Up to three headers, split at NUL bytes.
    for header in data.split(|&b| b == 0).take(3) {
        if req.add_cookie_header(header).is_err() {
            return;
        }
    }
    for _ in 0..32 {
        match store.poll(&mut req, NOW as i64) {
            Ok(Action::Ready) => {
                let _ = req.increment("n");
                let _ = req.finish();
            }
            Ok(Action::Failed { .. }) => {
                let _ = req.finish();
            }
            Ok(Action::Done) | Err(_) => break,
            Ok(_) => {}
        }
    }
});

//! Any store record through load, reading every value, a change, save and
//! a reload of the saved text: nothing panics, and what the engine writes
//! it reads back as the same session.
#![no_main]

use std::sync::Arc;

use libfuzzer_sys::fuzz_target;
use libsession_engine::{Action, Config, LoadResult, Request, SeededIds, StoreResult, UnixMillis, Value};

const NOW: u64 = 1_700_000_000_000;
const ID: &str = "AbCdEfGhIjKlMnOpQrStUvWxYz0123456789-_AbCdE";

fn config() -> Arc<Config> {
    Arc::new(
        Config::builder()
            .secret("fuzz secret fuzz secret fuzz secret!")
            .max_age(Some(60_000.0))
            .record_limits(libsession_engine::RecordLimits { max_bytes: 1 << 16, ..Default::default() })
            .build()
            .unwrap(),
    )
}

/// Loads `record` for `cookie`, reads every value, changes one, finishes:
/// the record saved or touched, if any, and the data as read.
fn cycle(config: &Arc<Config>, cookie: &str, record: &[u8]) -> Option<(Option<String>, Vec<(String, String)>)> {
    let mut req = Request::new(config.clone(), UnixMillis(NOW), SeededIds::new(&[1; 32]));
    req.add_cookie_header(cookie.as_bytes()).ok()?;
    match req.poll_action().ok()? {
        Action::Load { .. } => {}
        _ => return None,
    }
    req.handle_load(LoadResult::Found(record)).ok()?;
    match req.poll_action().ok()? {
        Action::Ready => {}
        _ => {
            let _ = req.finish();
            return None;
        }
    }
    let data: Vec<(String, String)> = req.data()?.map(|(k, v)| (k.to_string(), v.to_json())).collect();
    for (k, _) in &data {
        let _ = req.get_json(k);
    }
    let _ = req.set("fuzzed", Value::Bool(true));
    req.finish().ok()?;
    let mut saved = None;
    for _ in 0..8 {
        match req.poll_action().ok()? {
            Action::Save { record, .. } | Action::Touch { record, .. } => {
                saved = Some(record.to_string());
                req.handle_store_result(StoreResult::Ok).ok()?;
            }
            Action::Destroy { .. } => req.handle_store_result(StoreResult::Ok).ok()?,
            Action::Done => break,
            _ => {}
        }
    }
    Some((saved, data))
}

fuzz_target!(|data: &[u8]| {
    let config = config();
    let cookie = {
        let mut req = Request::new(config.clone(), UnixMillis(NOW), SeededIds::new(&[2; 32]));
        req.push_session_id(ID);
        let _ = req.poll_action();
        let _ = req.set("x", Value::Null);
        let _ = req.finish();
        let mut cookie = String::new();
        while let Ok(a) = req.poll_action() {
            match a {
                Action::SetCookie { value } => cookie = value.split(';').next().unwrap_or("").to_string(),
                Action::Save { .. } => {
                    let _ = req.handle_store_result(StoreResult::Ok);
                }
                Action::Done => break,
                _ => {}
            }
        }
        cookie
    };
    if let Some((Some(saved), _)) = cycle(&config, &cookie, data) {
        // What the engine wrote reads back, and is written back unchanged.
        let again = cycle(&config, &cookie, saved.as_bytes());
        let (resaved, read) = again.expect("a saved record loads");
        // Unless it expired already (a record's own negative maxAge), the
        // session read back is the one saved, and written back unchanged.
        if read.iter().any(|(k, _)| k == "fuzzed") {
            assert_eq!(resaved.as_deref(), Some(saved.as_str()), "a saved record is rewritten unchanged");
        }
    }
});

//! Random sequences of API calls and store answers, in any order (misuse
//! included): nothing panics; misuse is a typed error; the request ends.
#![no_main]

use std::sync::Arc;

use libfuzzer_sys::fuzz_target;
use libsession_engine::{Action, CookieAttr, Config, IdQueue, LoadResult, Request, StoreResult, UnixMillis, Value};

const NOW: u64 = 1_700_000_000_000;
const RECORD: &str =
    r#"{"cookie":{"originalMaxAge":60000,"expires":"2033-11-14T23:13:20.000Z","httpOnly":true,"path":"/"},"n":1}"#;

fuzz_target!(|data: &[u8]| {
    let Some((&mode, ops)) = data.split_first() else { return };
    let base = if mode & 1 == 0 { Config::builder() } else { libsession_engine::ConfigBuilder::express() };
    let config = Arc::new(
        base.secret("fuzz secret fuzz secret fuzz secret!")
            .max_age(if mode & 2 == 0 { Some(60_000.0) } else { None })
            .rolling(mode & 4 != 0)
            .resave(mode & 8 != 0)
            .save_uninitialized(mode & 16 != 0)
            .build()
            .unwrap(),
    );
    let ids = IdQueue::new(["AbCdEfGhIjKlMnOpQrStUvWxYz0123456789-_AbCd1", "AbCdEfGhIjKlMnOpQrStUvWxYz0123456789-_AbCd2"]);
    let mut req = Request::new(config, UnixMillis(NOW), ids);
    let keys = ["a", "n", "0", "cookie", "__proto__", "10"];
    for chunk in ops.chunks(2) {
        let (op, arg) = (chunk[0], chunk.get(1).copied().unwrap_or(0));
        let key = keys[usize::from(arg) % keys.len()];
        let _ = match op % 24 {
            0 => req.poll_action().map(|_| ()),
            1 => req.handle_load(LoadResult::Found(RECORD.as_bytes())),
            2 => req.handle_load(LoadResult::NotFound),
            3 => req.handle_load(LoadResult::Failed { message: "down" }),
            4 => req.handle_store_result(StoreResult::Ok),
            5 => req.handle_store_result(StoreResult::Failed { message: "down" }),
            6 => req.set(key, Value::Number(f64::from(arg))),
            7 => req.delete(key).map(|_| ()),
            8 => req.increment(key).map(|_| ()),
            9 => req.save(),
            10 => req.reload(),
            11 => req.destroy(),
            12 => req.regenerate(),
            13 => req.unset(),
            14 => req.touch(),
            15 => req.finish(),
            16 => req.set_max_age(Some(f64::from(arg) * 1000.0)),
            17 => req.set_expires(Some(f64::from(arg) * 1e13)),
            18 => req.set_cookie_attr(CookieAttr::Path, Value::String("/x".into())),
            19 => req.add_cookie_header(b"connect.sid=s%3Aabc.def"),
            20 => req.set_target(b"/a?b"),
            21 => req.set_tls(arg & 1 == 1),
            22 => req.set_store_unavailable(arg & 1 == 1),
            _ => req.set("big", Value::String("x".repeat(usize::from(arg) * 20))),
        };
        let _ = req.get(key);
        let _ = req.session_record();
    }
    // Whatever happened, the request can be driven to its end.
    let _ = req.finish();
    for _ in 0..64 {
        match req.poll_action() {
            Ok(Action::Done) | Err(_) => return,
            Ok(Action::Load { .. }) => {
                let _ = req.handle_load(LoadResult::NotFound);
            }
            Ok(Action::Save { .. } | Action::Touch { .. } | Action::Destroy { .. }) => {
                let _ = req.handle_store_result(StoreResult::Ok);
            }
            Ok(Action::Ready | Action::Failed { .. }) => {
                let _ = req.finish();
            }
            // An answer is owed to an action polled earlier: give one (a
            // wrong one fails the request for good, which also ends it).
            Ok(Action::Wait) => {
                if req.handle_load(LoadResult::NotFound).is_err() {
                    let _ = req.handle_store_result(StoreResult::Ok);
                }
            }
            Ok(_) => {}
        }
    }
    panic!("the request did not end");
});

//! What the engine does with store records that real stores hand back:
//! the store's own rules ([`StoreKind`]), untouched values written back
//! byte for byte, and the order of the end-of-request actions.

use std::sync::Arc;

use libsession_engine::{
    Action, Config, LoadResult, Request, SeededIds, StoreKind, StoreResult, StoredRecord, UnixMillis,
};

const NOW: u64 = 1_700_000_000_000;

fn config(rolling: bool) -> Arc<Config> {
    // The tests name their sessions ("kept", "nullified"...): any ID shape.
    let mut b = Config::builder()
        .secret("keyboard cat keyboard cat keyboard cat")
        .max_age(Some(4_000.0))
        .session_id_lengths(None);
    if rolling {
        b = b.rolling(true);
    }
    Arc::new(b.build().expect("config"))
}

/// The cookie for session `id` signed with `config`'s key, as a browser
/// sends it back.
fn cookie_for(config: &Arc<Config>, id: &str) -> String {
    let mut req = Request::new(config.clone(), UnixMillis(NOW), SeededIds::new(&[1; 32]));
    req.push_session_id(id);
    assert_eq!(req.poll_action().unwrap(), Action::Ready);
    req.set("x", libsession_engine::Value::Bool(true)).unwrap();
    req.finish().unwrap();
    loop {
        match req.poll_action().unwrap() {
            Action::SetCookie { value } => return value.split(';').next().unwrap().to_string(),
            Action::Save { .. } => req.handle_store_result(StoreResult::Ok).unwrap(),
            other => panic!("{other:?}"),
        }
    }
}

/// The record connect-redis holds after a touch: the key's TTL moved on,
/// the stored `cookie.expires` did not.
fn stale_record(expires: &str) -> String {
    format!(r#"{{"cookie":{{"originalMaxAge":4000,"expires":"{expires}","httpOnly":true,"path":"/"}},"views":3}}"#)
}

/// One request answering its load with `record`; returns the session ID it
/// ended with, `views` as the handler saw it, and every action after the
/// handler.
fn request(
    config: &Arc<Config>,
    kind: Option<StoreKind>,
    cookie: &str,
    record: &str,
    now: u64,
) -> (String, Option<f64>, Vec<String>) {
    let mut req = Request::new(config.clone(), UnixMillis(now), SeededIds::new(&[2; 32]));
    if let Some(kind) = kind {
        req.set_store_kind(kind);
    }
    req.add_cookie_header(cookie.as_bytes()).unwrap();
    assert!(matches!(req.poll_action().unwrap(), Action::Load { .. }));
    req.handle_load(LoadResult::Found(record.as_bytes())).unwrap();
    let views = match req.poll_action().unwrap() {
        Action::Ready => req.get("views").and_then(libsession_engine::Value::as_f64),
        Action::Failed { message } => panic!("failed: {message}"),
        other => panic!("{other:?}"),
    };
    let id = req.session_id().unwrap().to_string();
    req.finish().unwrap();
    let mut after = Vec::new();
    loop {
        let action = req.poll_action().unwrap();
        after.push(match action {
            Action::SetCookie { .. } => "set-cookie".to_string(),
            Action::Save { record, .. } => format!("save {record}"),
            Action::Touch { .. } => "touch".to_string(),
            Action::Done => break,
            other => format!("{other:?}"),
        });
        if matches!(after.last().map(String::as_str), Some(a) if a.starts_with("save") || a == "touch") {
            req.handle_store_result(StoreResult::Ok).unwrap();
        }
    }
    (id, views, after)
}

#[test]
fn a_ttl_stores_record_is_not_expired_by_its_stale_cookie() {
    // rolling, maxAge 4 s: created at 0, touched (EXPIRE only) at 2.5 s,
    // used again at 5 s. The key lives (its TTL was renewed); the stored
    // expires (4 s) has passed.
    let config = config(true);
    let sid = "stale-but-alive";
    let cookie = cookie_for(&config, sid);
    let record = stale_record("2023-11-14T22:13:24.000Z"); // NOW + 4 s
    let at_5s = NOW + 5_000;
    let (id, views, after) = request(&config, Some(StoreKind::Ttl), &cookie, &record, at_5s);
    assert_eq!((id.as_str(), views), (sid, Some(3.0)), "the session and its data are kept");
    assert_eq!(after[0], "set-cookie", "rolling: the cookie is set again");
    assert_eq!(after[1], "touch");
    // MemoryStore's rule (the default) replaces it, as express-session's
    // MemoryStore does.
    let (id, views, _) = request(&config, None, &cookie, &record, at_5s);
    assert_ne!(id, sid);
    assert_eq!(views, None);
}

#[test]
fn a_stored_records_rules_follow_the_store_too() {
    let config = config(false);
    let text = stale_record("2023-11-14T22:13:24.000Z");
    let cookie = cookie_for(&config, "kept");
    for (kind, kept) in [(StoreKind::Ttl, true), (StoreKind::Memory, false)] {
        let mut req = Request::new(config.clone(), UnixMillis(NOW + 5_000), SeededIds::new(&[2; 32]));
        req.set_store_kind(kind);
        req.add_cookie_header(cookie.as_bytes()).unwrap();
        assert!(matches!(req.poll_action().unwrap(), Action::Load { .. }));
        req.handle_load(LoadResult::Stored(StoredRecord::from_text(Arc::from(text.as_str())))).unwrap();
        assert_eq!(req.poll_action().unwrap(), Action::Ready);
        assert_eq!(req.session_id() == Some("kept"), kept, "{kind:?}");
    }
}

#[test]
fn null_is_no_session_for_a_ttl_store_and_an_error_for_memory_store() {
    let config = config(false);
    let cookie = cookie_for(&config, "nullified");
    for text in ["null", " null "] {
        let (id, views, _) = request(&config, Some(StoreKind::Ttl), &cookie, text, NOW);
        assert_ne!(id, "nullified", "a fresh session");
        assert_eq!(views, None);
    }
    let mut req = Request::new(config, UnixMillis(NOW), SeededIds::new(&[2; 32]));
    req.add_cookie_header(cookie.as_bytes()).unwrap();
    assert!(matches!(req.poll_action().unwrap(), Action::Load { .. }));
    req.handle_load(LoadResult::Found(b"null")).unwrap();
    assert_eq!(
        req.poll_action().unwrap(),
        Action::Failed { message: "Cannot read properties of null (reading 'cookie')" }
    );
}

#[test]
fn untouched_values_are_written_back_byte_for_byte() {
    // What Node's JSON.stringify writes for a string holding a lone
    // surrogate, and its neighbours.
    let config = config(false);
    let cookie = cookie_for(&config, "surrogates");
    let untouched = [r#""a\ud800b""#, r#"{"k":["\udfff","x\udc00"]}"#, r#""\u0007""#];
    let record = format!(
        r#"{{"cookie":{{"originalMaxAge":4000,"expires":"2023-11-14T22:13:24.000Z","httpOnly":true,"path":"/"}},"s":{},"o":{},"c":{},"views":1}}"#,
        untouched[0], untouched[1], untouched[2]
    );
    let mut req = Request::new(config, UnixMillis(NOW), SeededIds::new(&[2; 32]));
    req.add_cookie_header(cookie.as_bytes()).unwrap();
    assert!(matches!(req.poll_action().unwrap(), Action::Load { .. }));
    req.handle_load(LoadResult::Found(record.as_bytes())).unwrap();
    assert_eq!(req.poll_action().unwrap(), Action::Ready);
    assert_eq!(req.get_json("s").as_deref(), Some(untouched[0]), "JSON.stringify(req.session.s)");
    assert_eq!(req.increment("views").unwrap(), 2.0);
    req.finish().unwrap();
    let saved = loop {
        match req.poll_action().unwrap() {
            Action::Save { record, .. } => break record.to_string(),
            Action::SetCookie { .. } => {}
            other => panic!("{other:?}"),
        }
    };
    for value in untouched {
        assert!(saved.contains(value), "{value} kept in {saved}");
    }
    assert!(saved.ends_with(r#""views":2}"#), "{saved}");
    assert!(!saved.contains('\u{fffd}'), "{saved}");
}

#[test]
fn the_set_cookie_comes_before_the_end_of_request_store_action() {
    // express-session writes its headers, then calls the store: a host can
    // send the headers without waiting for the store's answer.
    let config = config(false);
    let mut req = Request::new(config.clone(), UnixMillis(NOW), SeededIds::new(&[3; 32]));
    assert_eq!(req.poll_action().unwrap(), Action::Ready);
    req.increment("views").unwrap();
    req.finish().unwrap();
    assert!(matches!(req.poll_action().unwrap(), Action::SetCookie { .. }));
    assert!(matches!(req.poll_action().unwrap(), Action::Save { .. }));
    assert_eq!(req.poll_action().unwrap(), Action::Wait);
    // A failed save comes after the response, as an error to log.
    req.handle_store_result(StoreResult::Failed { message: "down" }).unwrap();
    assert_eq!(req.poll_action().unwrap(), Action::Error { message: "down" });
    assert_eq!(req.poll_action().unwrap(), Action::Done);
}

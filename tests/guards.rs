//! The options beyond express-session (issue 13, part 1) and the events:
//! each option's rule, each off in express-session's mode, each read from
//! its express-options JSON name.

use std::sync::Arc;

use session::{
    Action, Config, ConfigBuilder, DuplicateCookies, Event, IdQueue, LoadResult, MemoryStore, OnLoadError, OnSaveError,
    Request, StoreOperation, StoreResult, UnixMillis, Value,
};

const NOW: i64 = 1_700_000_000_000;
const SECRET: &str = "a secret of at least thirty-two bytes";
const OLD_SECRET: &str = "the secret before the rotation, also long";

/// What a request did, as a host sees it.
#[derive(Debug, Default)]
struct Outcome {
    loads: Vec<String>,
    saves: Vec<String>,
    set_cookies: Vec<String>,
    errors: Vec<String>,
    failed: Option<String>,
    events: Vec<Event>,
    session_id: Option<String>,
}

/// Runs one request against `store`: `cookie` is the Cookie header, `handler`
/// the route. Store failures are injected with `fail_load` / `fail_save`.
fn run(
    cfg: &Arc<Config>,
    store: &MemoryStore,
    cookie: Option<&str>,
    prepare: impl FnOnce(&mut Request),
    handler: impl FnOnce(&mut Request),
    faults: (bool, bool),
) -> Outcome {
    let mut req = Request::new(
        cfg.clone(),
        UnixMillis(NOW as u64),
        IdQueue::new([
            "new-1-0123456789abcdefghijklmnopqrstuv",
            "new-2-0123456789abcdefghijklmnopqrstuv",
            "new-3-0123456789abcdefghijklmnopqrstuv",
        ]),
    );
    if let Some(c) = cookie {
        req.add_cookie_header(c.as_bytes()).unwrap();
    }
    prepare(&mut req);
    let mut out = Outcome::default();
    let mut handler = Some(handler);
    loop {
        match req.poll_action().unwrap() {
            Action::Load { id } => {
                out.loads.push(id.to_string());
                if faults.0 {
                    req.handle_load(LoadResult::Failed { message: "store down" }).unwrap();
                } else {
                    let text = store.get(id, NOW);
                    match text {
                        Some(t) => req.handle_load(LoadResult::Found(t.as_bytes())).unwrap(),
                        None => req.handle_load(LoadResult::NotFound).unwrap(),
                    }
                }
            }
            Action::Save { id, record, expires_at } => {
                out.saves.push(id.to_string());
                if faults.1 {
                    req.handle_store_result(StoreResult::Failed { message: "disk full" }).unwrap();
                } else {
                    let (id, record) = (id.to_string(), record.to_string());
                    store.set(&id, &record, expires_at, NOW).unwrap();
                    req.handle_store_result(StoreResult::Ok).unwrap();
                }
            }
            Action::Touch { .. } => req.handle_store_result(StoreResult::Ok).unwrap(),
            Action::Destroy { id } => {
                let id = id.to_string();
                store.destroy(&id);
                req.handle_store_result(StoreResult::Ok).unwrap();
            }
            // The handler runs at the first Ready; its store operations are
            // answered; the next Ready finishes.
            Action::Ready => match handler.take() {
                Some(h) => {
                    out.session_id = req.session_id().map(str::to_string);
                    h(&mut req);
                }
                None => req.finish().unwrap(),
            },
            Action::Failed { message } => {
                out.failed = Some(message.to_string());
                req.finish().unwrap();
            }
            Action::Completed { .. } => {}
            Action::SetCookie { value } => out.set_cookies.push(value.to_string()),
            Action::Error { message } => out.errors.push(message.to_string()),
            Action::Done => break,
            Action::Wait => panic!("nothing is owed"),
        }
    }
    while let Some(e) = req.poll_event() {
        out.events.push(e);
    }
    out
}

fn ok() -> (bool, bool) {
    (false, false)
}

fn nothing(_: &mut Request) {}

fn count(req: &mut Request) {
    req.increment("views").unwrap();
}

fn cfg(b: ConfigBuilder) -> Arc<Config> {
    Arc::new(b.build().unwrap())
}

/// A session saved under `id` by `secrets`' first, and its Cookie header.
fn seeded(store: &MemoryStore, id: &str, secret: &str) -> String {
    let c = cfg(Config::builder().secret(secret));
    let mut req = Request::new(c, UnixMillis(NOW as u64), IdQueue::new([id]));
    let mut cookie = String::new();
    loop {
        match store.poll(&mut req, NOW).unwrap() {
            Action::Ready => {
                req.set("user", Value::String("alice".into())).unwrap();
                req.finish().unwrap();
            }
            Action::SetCookie { value } => cookie = value.split(';').next().unwrap().to_string(),
            Action::Done => return cookie,
            _ => {}
        }
    }
}

fn pair(set_cookie: &str) -> &str {
    set_cookie.split(';').next().unwrap()
}

#[test]
fn events_name_what_happened_to_the_cookie() {
    let store = MemoryStore::new();
    let c = cfg(Config::builder().secret(SECRET));
    let cookie = seeded(&store, "s1-0123456789abcdefghijklmnopqrstuv", SECRET);
    assert_eq!(run(&c, &store, None, nothing, nothing, ok()).events, [Event::NoCookie]);
    assert_eq!(run(&c, &store, Some("other=1"), nothing, nothing, ok()).events, [Event::NoCookie]);
    assert_eq!(run(&c, &store, Some(&cookie), nothing, nothing, ok()).events, []);
    let tampered = format!("{}x", &cookie[..cookie.len() - 1]);
    assert_eq!(run(&c, &store, Some(&tampered), nothing, nothing, ok()).events, [Event::SignatureInvalid]);
    assert_eq!(run(&c, &store, Some("connect.sid=s1"), nothing, nothing, ok()).events, [Event::SignatureInvalid]);
    store.destroy("s1-0123456789abcdefghijklmnopqrstuv");
    assert_eq!(run(&c, &store, Some(&cookie), nothing, nothing, ok()).events, [Event::RecordNotFound]);
    let out = run(&c, &store, Some(&cookie), nothing, nothing, (true, false));
    assert_eq!(out.events, [Event::StoreError { operation: StoreOperation::Load }]);
    let out = run(&c, &store, None, nothing, count, (false, true));
    assert_eq!(out.events, [Event::NoCookie, Event::StoreError { operation: StoreOperation::Save }]);
    store.set("bad-0123456789abcdefghijklmnopqrstuv", "{not json", None, NOW).unwrap();
    let bad = seeded(&MemoryStore::new(), "bad-0123456789abcdefghijklmnopqrstuv", SECRET);
    let out = run(&c, &store, Some(&bad), nothing, nothing, ok());
    assert_eq!(out.events, [Event::RecordCorrupt]);
    assert!(out.failed.is_some(), "express-session fails the request on a corrupt record");
    // An expired record (MemoryStore's rule on the stored expiry).
    store
        .set(
            "old-0123456789abcdefghijklmnopqrstuv",
            r#"{"cookie":{"expires":"2000-01-01T00:00:00.000Z","path":"/"}}"#,
            None,
            NOW,
        )
        .unwrap();
    let old = seeded(&MemoryStore::new(), "old-0123456789abcdefghijklmnopqrstuv", SECRET);
    assert_eq!(run(&c, &store, Some(&old), nothing, nothing, ok()).events, [Event::RecordExpired]);
}

#[test]
fn ignore_paths_get_no_session_at_all() {
    let store = MemoryStore::new();
    let cookie = seeded(&store, "s1-0123456789abcdefghijklmnopqrstuv", SECRET);
    let c = cfg(Config::builder().secret(SECRET).save_uninitialized(true).ignore(["/favicon.ico", "/health"]));
    for target in ["/favicon.ico", "/health?deep=1"] {
        let out = run(&c, &store, Some(&cookie), |r| r.set_target(target.as_bytes()).unwrap(), nothing, ok());
        assert!(out.loads.is_empty() && out.saves.is_empty() && out.set_cookies.is_empty(), "{target}: {out:?}");
        assert_eq!(out.session_id, None);
        assert_eq!(out.events, [Event::Ignored]);
    }
    let out = run(&c, &store, Some(&cookie), |r| r.set_target(b"/favicon.ico/x").unwrap(), nothing, ok());
    assert_eq!(out.loads, ["s1-0123456789abcdefghijklmnopqrstuv"], "exact paths only");
    // From express options JSON; off in express mode.
    let json = Value::from_json(r#"{"secret":"s","ignore":["/favicon.ico"]}"#).unwrap();
    let c = cfg(ConfigBuilder::from_express_options(&json).unwrap());
    let out = run(&c, &store, None, |r| r.set_target(b"/favicon.ico").unwrap(), nothing, ok());
    assert!(out.saves.is_empty() && out.set_cookies.is_empty());
    let c = cfg(ConfigBuilder::express().secret("s"));
    let out = run(&c, &store, None, |r| r.set_target(b"/favicon.ico").unwrap(), nothing, ok());
    assert_eq!(out.saves.len(), 1, "express-session saves uninitialized sessions everywhere");
}

const REMOVAL: &str = "connect.sid=; Path=/; Expires=Thu, 01 Jan 1970 00:00:00 GMT; HttpOnly; SameSite=Lax";

#[test]
fn destroy_removes_the_cookie_unless_express_mode() {
    let store = MemoryStore::new();
    let cookie = seeded(&store, "s1-0123456789abcdefghijklmnopqrstuv", SECRET);
    let c = cfg(Config::builder().secret(SECRET));
    let out = run(&c, &store, Some(&cookie), nothing, |r| r.destroy().unwrap(), ok());
    assert_eq!(out.set_cookies, [REMOVAL]);
    // A new visitor who logs out has no cookie to remove.
    let out = run(&c, &store, None, nothing, |r| r.destroy().unwrap(), ok());
    assert!(out.set_cookies.is_empty());
    // Off: express-session's behaviour.
    let cookie = seeded(&store, "s2-0123456789abcdefghijklmnopqrstuv", SECRET);
    let off = cfg(Config::builder().secret(SECRET).clear_cookie_on_destroy(false));
    assert!(run(&off, &store, Some(&cookie), nothing, |r| r.destroy().unwrap(), ok()).set_cookies.is_empty());
    let cookie = seeded(&store, "s3-0123456789abcdefghijklmnopqrstuv", SECRET);
    let express = cfg(ConfigBuilder::express().secret(SECRET));
    assert!(run(&express, &store, Some(&cookie), nothing, |r| r.destroy().unwrap(), ok()).set_cookies.is_empty());
    // unset: "destroy" removes it too; the cookie keeps the configured attributes.
    let cookie = seeded(&store, "s4-0123456789abcdefghijklmnopqrstuv", SECRET);
    let c = cfg(Config::builder().secret(SECRET).unset(session::Unset::Destroy).cookie_domain(Some("example.com")));
    let out = run(&c, &store, Some(&cookie), nothing, |r| r.unset().unwrap(), ok());
    assert_eq!(
        out.set_cookies,
        ["connect.sid=; Domain=example.com; Path=/; Expires=Thu, 01 Jan 1970 00:00:00 GMT; HttpOnly; SameSite=Lax"]
    );
}

#[test]
fn stale_cookies_are_removed_when_the_host_asks() {
    let store = MemoryStore::new();
    let cookie = seeded(&store, "s1-0123456789abcdefghijklmnopqrstuv", SECRET);
    let c = cfg(Config::builder().secret(SECRET));
    let ask = |r: &mut Request| r.set_clear_stale_cookie(true).unwrap();
    assert!(run(&c, &store, Some(&cookie), ask, nothing, ok()).set_cookies.is_empty(), "a live session");
    let tampered = format!("{}x", &cookie[..cookie.len() - 1]);
    assert_eq!(run(&c, &store, Some(&tampered), ask, nothing, ok()).set_cookies, [REMOVAL]);
    store.destroy("s1-0123456789abcdefghijklmnopqrstuv");
    assert_eq!(run(&c, &store, Some(&cookie), ask, nothing, ok()).set_cookies, [REMOVAL]);
    assert!(run(&c, &store, Some(&cookie), nothing, nothing, ok()).set_cookies.is_empty(), "not asked");
    // A new session cookie replaces the stale one instead.
    let out = run(&c, &store, Some(&cookie), ask, count, ok());
    assert_eq!(out.set_cookies.len(), 1);
    assert!(
        out.set_cookies[0].starts_with("connect.sid=s%3Anew-1-0123456789abcdefghijklmnopqrstuv."),
        "{:?}",
        out.set_cookies
    );
}

#[test]
fn old_keys_are_re_signed_by_the_first() {
    let store = MemoryStore::new();
    let cookie = seeded(&store, "s1-0123456789abcdefghijklmnopqrstuv", OLD_SECRET);
    let rotated = cfg(Config::builder().secrets([SECRET, OLD_SECRET]));
    let out = run(&rotated, &store, Some(&cookie), nothing, nothing, ok());
    assert_eq!(out.events, [Event::VerifiedByOldKey { index: 1 }]);
    assert_eq!(out.set_cookies.len(), 1, "re-signed: {out:?}");
    let new_cookie = pair(&out.set_cookies[0]).to_string();
    assert_ne!(new_cookie, cookie);
    // The new cookie verifies with the first secret alone.
    let only_new = cfg(Config::builder().secret(SECRET));
    let out = run(&only_new, &store, Some(&new_cookie), nothing, nothing, ok());
    assert_eq!(
        (out.session_id.as_deref(), out.events.as_slice()),
        (Some("s1-0123456789abcdefghijklmnopqrstuv"), &[][..])
    );
    assert!(out.set_cookies.is_empty(), "nothing to re-sign any more");
    // Off (express-session): the old cookie is accepted and left as it is.
    let express = cfg(ConfigBuilder::express().secrets([SECRET, OLD_SECRET]).resave(false).save_uninitialized(false));
    let out = run(&express, &store, Some(&cookie), nothing, nothing, ok());
    assert_eq!(out.session_id.as_deref(), Some("s1-0123456789abcdefghijklmnopqrstuv"));
    assert!(out.set_cookies.is_empty());
}

#[test]
fn duplicate_cookies_are_tried_in_turn() {
    let store = MemoryStore::new();
    let good = seeded(&store, "s1-0123456789abcdefghijklmnopqrstuv", SECRET);
    let forged = "connect.sid=s%3Aevil.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";
    let header = format!("{forged}; {good}");
    let c = cfg(Config::builder().secret(SECRET));
    let out = run(&c, &store, Some(&header), nothing, nothing, ok());
    assert_eq!(out.session_id.as_deref(), Some("s1-0123456789abcdefghijklmnopqrstuv"));
    assert_eq!(out.events, [Event::SignatureInvalid]);
    // A verified cookie whose session is gone, then the live one.
    let gone = seeded(&MemoryStore::new(), "gone-0123456789abcdefghijklmnopqrstuv", SECRET);
    let out = run(&c, &store, Some(&format!("{gone}; {good}")), nothing, nothing, ok());
    assert_eq!(
        (out.loads.as_slice(), out.session_id.as_deref()),
        (
            &["gone-0123456789abcdefghijklmnopqrstuv".to_string(), "s1-0123456789abcdefghijklmnopqrstuv".to_string()][..],
            Some("s1-0123456789abcdefghijklmnopqrstuv")
        )
    );
    // "first" (express-session): only the first is read.
    let first = cfg(Config::builder().secret(SECRET).duplicate_cookies(DuplicateCookies::First));
    let out = run(&first, &store, Some(&header), nothing, nothing, ok());
    assert_eq!(out.session_id.as_deref(), Some("new-1-0123456789abcdefghijklmnopqrstuv"));
    let express = cfg(ConfigBuilder::express().secret(SECRET));
    assert_eq!(
        run(&express, &store, Some(&header), nothing, nothing, ok()).session_id.as_deref(),
        Some("new-1-0123456789abcdefghijklmnopqrstuv")
    );
}

#[test]
fn load_errors_fail_or_give_a_fresh_session() {
    let store = MemoryStore::new();
    let cookie = seeded(&store, "s1-0123456789abcdefghijklmnopqrstuv", SECRET);
    let fail = cfg(Config::builder().secret(SECRET));
    let out = run(&fail, &store, Some(&cookie), nothing, count, (true, false));
    assert_eq!(out.failed.as_deref(), Some("store down"));
    let fresh = cfg(Config::builder().secret(SECRET).on_load_error(OnLoadError::Fresh));
    let out = run(&fresh, &store, Some(&cookie), nothing, count, (true, false));
    assert_eq!((out.failed, out.session_id.as_deref()), (None, Some("new-1-0123456789abcdefghijklmnopqrstuv")));
    assert_eq!(out.saves, ["new-1-0123456789abcdefghijklmnopqrstuv"]);
    assert!(store.get("s1-0123456789abcdefghijklmnopqrstuv", NOW).is_some(), "the old record is left alone");
    // A corrupt record, likewise.
    store.set("bad-0123456789abcdefghijklmnopqrstuv", "[1,", None, NOW).unwrap();
    let bad = seeded(&MemoryStore::new(), "bad-0123456789abcdefghijklmnopqrstuv", SECRET);
    let out = run(&fresh, &store, Some(&bad), nothing, nothing, ok());
    assert_eq!((out.failed, out.session_id.as_deref()), (None, Some("new-1-0123456789abcdefghijklmnopqrstuv")));
    assert_eq!(store.get("bad-0123456789abcdefghijklmnopqrstuv", NOW).as_deref(), Some("[1,"));
}

#[test]
fn save_errors_can_withhold_the_cookie() {
    let store = MemoryStore::new();
    let report = cfg(Config::builder().secret(SECRET));
    let out = run(&report, &store, None, nothing, count, (false, true));
    assert_eq!((out.set_cookies.len(), out.errors.as_slice()), (1, &["disk full".to_string()][..]));
    let withhold = cfg(Config::builder().secret(SECRET).on_save_error(OnSaveError::WithholdCookie));
    let out = run(&withhold, &store, None, nothing, count, (false, true));
    assert_eq!((out.set_cookies.len(), out.errors.as_slice()), (0, &["disk full".to_string()][..]));
    let out = run(&withhold, &store, None, nothing, count, ok());
    assert_eq!(out.set_cookies.len(), 1, "sent once the save succeeded");
    assert_eq!(store.len(), 1);
}

#[test]
fn every_option_is_read_from_its_express_options_name() {
    let json = Value::from_json(
        r#"{"secret":"s","ignore":["/x"],"clearCookieOnDestroy":true,"resignOldKeys":true,
            "duplicateCookies":"tryEach","onLoadError":"fresh","onSaveError":"withholdCookie"}"#,
    )
    .unwrap();
    let c = cfg(ConfigBuilder::from_express_options(&json).unwrap());
    let store = MemoryStore::new();
    let out = run(&c, &store, Some("connect.sid=x"), nothing, nothing, (true, false));
    assert_eq!(out.failed, None);
    for bad in [
        r#"{"ignore":"/x"}"#,
        r#"{"ignore":[1]}"#,
        r#"{"clearCookieOnDestroy":"yes"}"#,
        r#"{"resignOldKeys":1}"#,
        r#"{"duplicateCookies":"last"}"#,
        r#"{"onLoadError":"retry"}"#,
        r#"{"onSaveError":true}"#,
    ] {
        assert!(ConfigBuilder::from_express_options(&Value::from_json(bad).unwrap()).is_err(), "{bad}");
    }
}

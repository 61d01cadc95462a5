//! The options beyond express-session (issue 13, part 1) and the events:
//! each option's rule, each off in express-session's mode, each read from
//! its express-options JSON name.

use std::sync::Arc;

use libsession_engine::{
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
    /// `Action::SetHeader`s (the `header` option), as (name, value).
    headers: Vec<(String, String)>,
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
            Action::Save { id, record, expires_at, .. } => {
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
            Action::SetHeader { name, value } => out.headers.push((name.to_string(), value.to_string())),
            Action::Error { message } => out.errors.push(message.to_string()),
            Action::Done => break,
            Action::Wait => panic!("nothing is owed"),
            Action::Conflict { .. } => panic!("no versioned option here"),
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
    let c = cfg(Config::builder()
        .secret(SECRET)
        .unset(libsession_engine::Unset::Destroy)
        .cookie_domain(Some("example.com")));
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
            "duplicateCookies":"tryEach","onLoadError":"fresh","onSaveError":"withholdCookie",
            "header":"X-Session-Id"}"#,
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
        r#"{"header":["X-Session-Id"]}"#,
        r#"{"header":"X Session"}"#,
        r#"{"header":""}"#,
    ] {
        assert!(ConfigBuilder::from_express_options(&Value::from_json(bad).unwrap()).is_err(), "{bad}");
    }
}

// ----- one property per option: random requests, option on vs off ----------

use proptest::prelude::*;

/// The cookie the second request sends.
#[derive(Clone, Copy, Debug)]
enum Sent {
    None,
    Valid,
    Tampered,
    /// Signed by the old secret (second in the list).
    OldKey,
    /// A forged cookie of the same name first, then the valid one.
    ForgedThenValid,
    /// A cookie for a session gone from the store.
    Gone,
}

#[derive(Clone, Copy, Debug)]
enum Op {
    Nothing,
    Read,
    Increment,
    Destroy,
    Regenerate,
}

#[derive(Clone, Copy, Debug)]
enum Guard {
    Ignore,
    ClearCookieOnDestroy,
    ResignOldKeys,
    TryEach,
    FreshOnLoadError,
    WithholdCookie,
    Header,
}

#[derive(Clone, Debug)]
struct Case {
    sent: Sent,
    op: Op,
    ignored_path: bool,
    fail_load: bool,
    fail_save: bool,
    resave: bool,
    save_uninitialized: bool,
    rolling: bool,
    max_age: bool,
    /// The request also sends the live session's signed ID in `HEADER`.
    header_value: bool,
}

fn case() -> impl Strategy<Value = Case> {
    let sent = prop_oneof![
        Just(Sent::None),
        Just(Sent::Valid),
        Just(Sent::Tampered),
        Just(Sent::OldKey),
        Just(Sent::ForgedThenValid),
        Just(Sent::Gone)
    ];
    let op =
        prop_oneof![Just(Op::Nothing), Just(Op::Read), Just(Op::Increment), Just(Op::Destroy), Just(Op::Regenerate)];
    let flags = (any::<bool>(), any::<bool>(), any::<bool>(), any::<bool>(), any::<bool>());
    (sent, op, flags, any::<bool>(), any::<bool>(), any::<bool>()).prop_map(
        |(
            sent,
            op,
            (ignored_path, fail_load, fail_save, resave, save_uninitialized),
            rolling,
            max_age,
            header_value,
        )| {
            Case {
                sent,
                op,
                ignored_path,
                fail_load,
                fail_save,
                resave,
                save_uninitialized,
                rolling,
                max_age,
                header_value,
            }
        },
    )
}

fn guard() -> impl Strategy<Value = Guard> {
    prop_oneof![
        Just(Guard::Ignore),
        Just(Guard::ClearCookieOnDestroy),
        Just(Guard::ResignOldKeys),
        Just(Guard::TryEach),
        Just(Guard::FreshOnLoadError),
        Just(Guard::WithholdCookie),
        Just(Guard::Header)
    ]
}

const LIVE: &str = "live-session-0123456789abcdefghijklmnop";
const GONE: &str = "gone-session-0123456789abcdefghijklmnop";
const PATH: &str = "/favicon.ico";
const HEADER: &str = "X-Session-Id";

/// express-session's mode, with the case's options, and `guard` on or not.
fn express_config(c: &Case, guard: Option<Guard>) -> Arc<Config> {
    let mut b = ConfigBuilder::express()
        .secrets([SECRET, OLD_SECRET])
        .resave(c.resave)
        .save_uninitialized(c.save_uninitialized)
        .rolling(c.rolling)
        .max_age(c.max_age.then_some(60_000.0));
    b = match guard {
        None => b,
        Some(Guard::Ignore) => b.ignore([PATH]),
        Some(Guard::ClearCookieOnDestroy) => b.clear_cookie_on_destroy(true),
        Some(Guard::ResignOldKeys) => b.resign_old_keys(true),
        Some(Guard::TryEach) => b.duplicate_cookies(DuplicateCookies::TryEach),
        Some(Guard::FreshOnLoadError) => b.on_load_error(OnLoadError::Fresh),
        Some(Guard::WithholdCookie) => b.on_save_error(OnSaveError::WithholdCookie),
        Some(Guard::Header) => b.header(Some(HEADER)),
    };
    Arc::new(b.build().unwrap())
}

/// One world: a store holding the live session, and the second request run
/// against it.
fn world(c: &Case, config: &Arc<Config>) -> (Outcome, Vec<(String, String)>) {
    let store = MemoryStore::new();
    let valid = seeded(&store, LIVE, SECRET);
    let old = seeded(&MemoryStore::new(), LIVE, OLD_SECRET);
    let gone = seeded(&MemoryStore::new(), GONE, SECRET);
    let tampered = format!("{}x", &valid[..valid.len() - 1]);
    let session_header = c.header_value.then(|| valid["connect.sid=".len()..].to_string());
    let header = match c.sent {
        Sent::None => None,
        Sent::Valid => Some(valid),
        Sent::Tampered => Some(tampered),
        Sent::OldKey => Some(old),
        Sent::ForgedThenValid => {
            Some(format!("connect.sid=s%3A{LIVE}.forgedforgedforgedforgedforgedforgedforged; {valid}"))
        }
        Sent::Gone => Some(gone),
    };
    let target = if c.ignored_path { PATH } else { "/" };
    let op = c.op;
    let out = run(
        config,
        &store,
        header.as_deref(),
        |r| {
            r.set_target(target.as_bytes()).unwrap();
            if let Some(v) = session_header {
                r.add_session_header(v.as_bytes()).unwrap();
            }
        },
        move |r| match op {
            Op::Nothing => {}
            Op::Read => {
                let _ = r.get("user");
            }
            Op::Increment => {
                let _ = r.increment("views");
            }
            Op::Destroy => {
                let _ = r.destroy();
            }
            Op::Regenerate => {
                let _ = r.regenerate();
            }
        },
        (c.fail_load, c.fail_save),
    );
    (out, store.snapshot())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    /// Each option changes exactly what its rule says, and nothing else:
    /// with it off (express mode), every outcome is express-session's.
    #[test]
    fn each_option_changes_only_what_its_rule_says(c in case(), g in guard()) {
        let (off, off_store) = world(&c, &express_config(&c, None));
        let (on, on_store) = world(&c, &express_config(&c, Some(g)));
        // An option off is express mode exactly: the same run twice agrees.
        let (again, _) = world(&c, &express_config(&c, None));
        prop_assert_eq!(format!("{off:?}"), format!("{again:?}"));
        let same = |on: &Outcome, off: &Outcome| format!("{on:?}") == format!("{off:?}");
        match g {
            Guard::Ignore if c.ignored_path => {
                prop_assert!(on.loads.is_empty() && on.saves.is_empty() && on.set_cookies.is_empty());
                prop_assert_eq!(on.session_id.as_deref(), None);
                prop_assert_eq!(on.events.as_slice(), &[Event::Ignored][..]);
            }
            Guard::ClearCookieOnDestroy if matches!(c.op, Op::Destroy) && off.session_id.is_some() && !matches!(c.sent, Sent::None) && off.failed.is_none() => {
                prop_assert_eq!(on.set_cookies.len(), off.set_cookies.len() + 1, "{:?} {:?}", on, off);
                let removal = on.set_cookies.last().cloned().unwrap_or_default();
                prop_assert!(removal.starts_with("connect.sid=; Path=/; Expires=Thu, 01 Jan 1970 00:00:00 GMT"), "{}", removal);
                prop_assert_eq!(&on.saves, &off.saves);
                prop_assert_eq!(&on_store, &off_store);
            }
            Guard::ResignOldKeys if matches!(c.sent, Sent::OldKey) && !c.fail_load => {
                // The session is the same; a Set-Cookie for it, signed by the
                // first secret, whenever the session lives on.
                prop_assert_eq!(&on.loads, &off.loads);
                prop_assert_eq!(&on.session_id, &off.session_id);
                let alive = matches!(c.op, Op::Nothing | Op::Read | Op::Increment);
                if alive {
                    prop_assert_eq!(on.set_cookies.len(), 1, "{:?}", on);
                    let prefix = format!("connect.sid=s%3A{}.", LIVE);
                    prop_assert!(on.set_cookies[0].starts_with(&prefix), "{:?}", on.set_cookies);
                    // Signed by the first secret: not the cookie that was sent.
                    let sent = seeded(&MemoryStore::new(), LIVE, OLD_SECRET);
                    prop_assert_ne!(pair(&on.set_cookies[0]), sent.as_str());
                }
            }
            Guard::TryEach if matches!(c.sent, Sent::ForgedThenValid) => {
                // express-session reads the forged first cookie: a new session
                // (no load); trying each loads the live one.
                prop_assert!(off.loads.is_empty());
                prop_assert_ne!(off.session_id.as_deref(), Some(LIVE));
                prop_assert_eq!(on.loads.as_slice(), &[LIVE.to_string()][..]);
                if c.fail_load {
                    prop_assert!(on.failed.is_some(), "its load failed as express-session's would");
                } else {
                    prop_assert_eq!(on.session_id.as_deref(), Some(LIVE), "{:?}", on);
                }
            }
            Guard::FreshOnLoadError if c.fail_load && off.failed.is_some() => {
                prop_assert_eq!(&on.failed, &None);
                prop_assert!(on.session_id.is_some() && on.session_id.as_deref() != Some(LIVE));
                prop_assert!(on_store.iter().any(|(id, _)| id == LIVE), "the old record is left alone");
            }
            Guard::WithholdCookie if c.fail_save && !off.saves.is_empty() => {
                // A failed save: no cookie for the unsaved session (a removal
                // or touch cookie is not withheld: none are sent here).
                prop_assert!(on.set_cookies.len() <= off.set_cookies.len());
                prop_assert_eq!(&on.errors, &off.errors);
                prop_assert_eq!(&on.saves, &off.saves);
            }
            Guard::Header => {
                // The response header repeats each Set-Cookie's value.
                let values: Vec<(String, String)> = on
                    .set_cookies
                    .iter()
                    .map(|c| (HEADER.to_string(), pair(c)["connect.sid=".len()..].to_string()))
                    .collect();
                prop_assert_eq!(&on.headers, &values);
                // The header's session is used when no cookie verified.
                let used = c.header_value
                    && matches!(c.sent, Sent::None | Sent::Tampered | Sent::ForgedThenValid);
                if used {
                    prop_assert_eq!(on.loads.as_slice(), &[LIVE.to_string()][..]);
                    if !c.fail_load {
                        prop_assert_eq!(on.session_id.as_deref(), Some(LIVE));
                    }
                } else {
                    let on = Outcome { headers: Vec::new(), ..on };
                    prop_assert!(same(&on, &off), "header unused, yet changed\n on: {:?}\noff: {:?}", on, off);
                }
            }
            // Outside its rule, an option changes nothing at all.
            _ => prop_assert!(same(&on, &off), "{:?} changed\n on: {:?}\noff: {:?}", g, on, off),
        }
    }
}

#[test]
fn fingerprints_bind_a_session_to_its_request_facts() {
    let store = MemoryStore::new();
    let c = cfg(Config::builder().secret(SECRET).fingerprint(["User-Agent"]));
    let ua =
        |agent: &'static str| move |r: &mut Request| r.add_fingerprint_fact("user-agent", agent.as_bytes()).unwrap();
    // A new session carries its fingerprint, which alone does not make it
    // modified (saveUninitialized off: nothing saved).
    let out = run(&c, &store, None, ua("Firefox"), nothing, ok());
    assert!(out.saves.is_empty() && out.set_cookies.is_empty(), "{out:?}");
    let sid = "fingerprinted-0123456789abcdefghijklmnopqrstuv".to_string();
    let mut req = Request::new(c.clone(), UnixMillis(NOW as u64), IdQueue::new([sid.as_str()]));
    req.add_fingerprint_fact("User-Agent", b"Firefox").unwrap();
    let mut set_cookies = Vec::new();
    loop {
        match store.poll(&mut req, NOW).unwrap() {
            Action::Ready => {
                req.increment("views").unwrap();
                req.finish().unwrap();
            }
            Action::SetCookie { value } => set_cookies.push(value.to_string()),
            Action::Done => break,
            other => panic!("{other:?}"),
        }
    }
    let out = Outcome { set_cookies, ..Outcome::default() };
    let record = store.get(&sid, NOW).unwrap();
    assert!(record.contains(r#""libsessionFingerprint":""#), "{record}");
    assert!(!record.contains("Firefox"), "a keyed hash, not the fact");
    let cookie = pair(&out.set_cookies[0]).to_string();
    // The same facts: the session. Other facts: a fresh one, the record untouched.
    let same = run(&c, &store, Some(&cookie), ua("Firefox"), count, ok());
    assert_eq!((same.session_id.as_deref(), same.events.as_slice()), (Some(sid.as_str()), &[][..]));
    let before = store.get(&sid, NOW);
    let other = run(&c, &store, Some(&cookie), ua("curl/8"), |r: &mut Request| assert_eq!(r.get("views"), None), ok());
    assert_eq!(
        (other.loads.as_slice(), other.events.as_slice()),
        (&[sid.clone()][..], &[Event::FingerprintMismatch][..])
    );
    assert!(other.saves.is_empty() && other.set_cookies.is_empty(), "a fresh, unmodified session: {other:?}");
    assert_eq!(store.get(&sid, NOW), before, "the stolen cookie's record is untouched");
    // A session made without the option (or by a Node app) is bound on first use.
    let plain = seeded(&store, "plain-0123456789abcdefghijklmnopqrstuv", SECRET);
    let out = run(&c, &store, Some(&plain), ua("Firefox"), nothing, ok());
    assert_eq!(out.saves.len(), 1, "bound: the fingerprint is saved");
    let out = run(&c, &store, Some(&plain), ua("curl/8"), nothing, ok());
    assert_eq!(out.events, [Event::FingerprintMismatch]);
    // From its JSON name; off in express mode.
    let json = Value::from_json(r#"{"secret":"s","fingerprint":["user-agent"]}"#).unwrap();
    assert!(ConfigBuilder::from_express_options(&json).is_ok());
    assert!(ConfigBuilder::from_express_options(&Value::from_json(r#"{"fingerprint":"ua"}"#).unwrap()).is_err());
    let express = cfg(ConfigBuilder::express().secret(SECRET));
    let out = run(&express, &store, None, ua("Firefox"), count, ok());
    assert!(!store.get(&out.saves[0], NOW).unwrap().contains("libsessionFingerprint"));
}

#[test]
fn header_sessions_serve_clients_without_cookies() {
    let store = MemoryStore::new();
    let c = cfg(Config::builder().secret(SECRET).header(Some(HEADER)));
    let send = |v: String| move |r: &mut Request| r.add_session_header(v.as_bytes()).unwrap();
    // An API client logs in: the signed ID comes back in the header too.
    let first = run(&c, &store, None, nothing, count, ok());
    assert_eq!(first.set_cookies.len(), 1);
    let cookie_value = pair(&first.set_cookies[0])["connect.sid=".len()..].to_string();
    assert_eq!(first.headers, [(HEADER.to_string(), cookie_value.clone())]);
    // It sends the header back, no cookie: the same session, and nothing to
    // repeat (it has the value).
    let again = run(&c, &store, None, send(cookie_value.clone()), count, ok());
    assert_eq!(again.session_id, first.session_id);
    assert_eq!(again.loads.len(), 1);
    assert!(again.set_cookies.is_empty() && again.headers.is_empty(), "{again:?}");
    assert!(store.get(first.session_id.as_deref().unwrap(), NOW).unwrap().contains(r#""views":2"#));
    // The raw (unencoded) signed value works too.
    let raw = cookie_value.replacen("%3A", ":", 1);
    let raw_run = run(&c, &store, None, send(raw), nothing, ok());
    assert_eq!(raw_run.session_id, first.session_id);
    // A forged header: no load, a fresh session, an event.
    let forged = format!("{}x", &cookie_value[..cookie_value.len() - 1]);
    let out = run(&c, &store, None, send(forged), nothing, ok());
    assert!(out.loads.is_empty() && out.saves.is_empty(), "a fresh, unmodified session: {out:?}");
    assert!(out.events.contains(&Event::SignatureInvalid), "{:?}", out.events);
    // A cookie wins over the header (duplicateCookies "first": the header is
    // not even tried when a cookie verified).
    let other = seeded(&store, "other-0123456789abcdefghijklmnopqrstuv", SECRET);
    let first_mode =
        cfg(Config::builder().secret(SECRET).header(Some(HEADER)).duplicate_cookies(DuplicateCookies::First));
    let out = run(&first_mode, &store, Some(&other), send(cookie_value.clone()), nothing, ok());
    assert_eq!(out.session_id.as_deref(), Some("other-0123456789abcdefghijklmnopqrstuv"));
    assert_eq!(out.loads.len(), 1);
    // Without the option the header is ignored, and no SetHeader is given.
    let plain = cfg(Config::builder().secret(SECRET));
    let out = run(&plain, &store, None, send(cookie_value), count, ok());
    assert!(out.loads.is_empty() && out.headers.is_empty(), "{out:?}");
    assert_eq!(c.session_header(), Some(HEADER));
    assert_eq!(plain.session_header(), None);
    assert_eq!(
        Config::builder().secret(SECRET).header(Some("X Session")).build().unwrap_err(),
        libsession_engine::ConfigError::InvalidHeaderName
    );
}

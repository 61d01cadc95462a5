//! Property tests of the request lifecycle.
//!
//! 1. `lifecycle_invariants`: random request sequences (cookies honest,
//!    forged, unsigned, garbage; store answers ok, failed, missing, corrupt;
//!    random handler operations; random misuse; time going backwards) checked
//!    against a model of the phases and against the invariants of the issue.
//! 2. `data_model`: without faults, the session data a client sees across
//!    requests matches a reference model of express-session's save and
//!    cookie rules (`resave: false`, `saveUninitialized: false`, browser
//!    session cookies).
//! 3. Arbitrary bytes as Cookie headers and as store records never panic.

use std::sync::Arc;

use libsession_engine::{
    Action, Config, Error, IdQueue, LoadResult, MemoryStore, Request, SeededIds, StoreResult, UnixMillis, Value,
};
use proptest::prelude::*;

const SECRET: &str = "property secret property secret!";

fn config(max_age: Option<f64>, rolling: bool, resave: bool, save_uninitialized: bool) -> Arc<Config> {
    Arc::new(
        Config::builder()
            .secret(SECRET)
            .max_age(max_age)
            .rolling(rolling)
            .resave(resave)
            .save_uninitialized(save_uninitialized)
            // The properties sign IDs of any shape.
            .session_id_lengths(None)
            .build()
            .expect("valid config"),
    )
}

/// The cookie a browser keeps after `set_cookie`: none after a removal
/// (an empty value, expired).
fn jar_after(set_cookie: &str) -> Option<String> {
    let value = set_cookie.split(';').next().and_then(|p| p.split_once('=')).map(|(_, v)| v.to_string());
    value.filter(|v| !v.is_empty())
}

fn sign(id: &str, secret: &str) -> String {
    // Build a signed cookie value through the engine itself: a fresh session
    // with a queued ID, saved, gives "name=s%3A<id>.<sig>; ...".
    let cfg = Arc::new(
        Config::builder().secret(secret).save_uninitialized(true).session_id_lengths(None).build().expect("config"),
    );
    let store = MemoryStore::new();
    let mut req = Request::new(cfg, UnixMillis(1), IdQueue::new([id]));
    let mut cookie = String::new();
    loop {
        match store.poll(&mut req, 1).expect("no misuse") {
            Action::Ready => req.finish().expect("finish"),
            Action::SetCookie { value } => cookie = value.to_string(),
            Action::Done => break,
            _ => {}
        }
    }
    cookie.split(';').next().unwrap_or("").split_once('=').map(|(_, v)| v.to_string()).unwrap_or_default()
}

#[derive(Clone, Debug)]
enum CookieChoice {
    None,
    /// The last cookie the server set (honest client).
    Jar,
    /// The jar's cookie with one signature character changed.
    Tampered,
    /// The jar's session ID without a signature.
    Unsigned,
    /// An ID signed with a secret the server does not know.
    UnknownSecret,
    Garbage(Vec<u8>),
}

#[derive(Clone, Debug)]
enum Op {
    Set(u8, i32),
    Delete(u8),
    Incr(u8),
    Touch,
    MaxAge(u32),
    Save,
    Reload,
    Destroy,
    Regenerate,
    Unset,
    /// A misuse: an answer nobody asked for, or finish twice, etc.
    Misuse(u8),
}

#[derive(Clone, Debug)]
enum Answer {
    Ok,
    Fail,
    NotFound,
    Corrupt(Vec<u8>),
}

#[derive(Clone, Debug)]
struct Req {
    cookie: CookieChoice,
    dt: i64,
    ops: Vec<Op>,
    answers: Vec<Answer>,
    poll_twice: bool,
}

fn cookie_choice() -> impl Strategy<Value = CookieChoice> {
    prop_oneof![
        1 => Just(CookieChoice::None),
        4 => Just(CookieChoice::Jar),
        1 => Just(CookieChoice::Tampered),
        1 => Just(CookieChoice::Unsigned),
        1 => Just(CookieChoice::UnknownSecret),
        1 => proptest::collection::vec(any::<u8>(), 0..64).prop_map(CookieChoice::Garbage),
    ]
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        3 => (0u8..3, any::<i32>()).prop_map(|(k, v)| Op::Set(k, v)),
        1 => (0u8..3).prop_map(Op::Delete),
        3 => (0u8..3).prop_map(Op::Incr),
        1 => Just(Op::Touch),
        1 => (1u32..10_000_000).prop_map(Op::MaxAge),
        1 => Just(Op::Save),
        1 => Just(Op::Reload),
        1 => Just(Op::Destroy),
        1 => Just(Op::Regenerate),
        1 => Just(Op::Unset),
        1 => (0u8..6).prop_map(Op::Misuse),
    ]
}

fn answer() -> impl Strategy<Value = Answer> {
    prop_oneof![
        6 => Just(Answer::Ok),
        1 => Just(Answer::Fail),
        1 => Just(Answer::NotFound),
        1 => proptest::collection::vec(any::<u8>(), 0..40).prop_map(Answer::Corrupt),
    ]
}

fn request() -> impl Strategy<Value = Req> {
    (
        cookie_choice(),
        -100_000i64..10_000_000,
        proptest::collection::vec(op(), 0..8),
        proptest::collection::vec(answer(), 0..8),
        any::<bool>(),
    )
        .prop_map(|(cookie, dt, ops, answers, poll_twice)| Req { cookie, dt, ops, answers, poll_twice })
}

const KEYS: [&str; 3] = ["a", "b", "views"];

/// Drives the request until it is the application's turn (or done),
/// answering store actions and checking the per-action invariants.
struct Driver<'a> {
    store: &'a MemoryStore,
    now: i64,
    answers: std::vec::IntoIter<Answer>,
    set_cookies: Vec<String>,
    loads: Vec<String>,
    poll_twice: bool,
}

impl Driver<'_> {
    fn run(&mut self, req: &mut Request) -> Result<Action<'static>, TestCaseError> {
        for _ in 0..64 {
            let act = match req.poll_action() {
                Ok(a) => a,
                Err(e) => return Err(TestCaseError::fail(format!("poll failed without misuse: {e}"))),
            };
            if let Action::Save { expires_at, .. } | Action::Touch { expires_at, .. } = act {
                prop_assert!(expires_at.is_none_or(|t| t > self.now), "store write expires in the past: {act:?}");
            }
            let store_op = act.is_store_operation();
            let owned = match act {
                Action::Load { id } => Some(('L', id.to_string(), String::new(), None)),
                Action::Save { id, record, expires_at, .. } => {
                    Some(('S', id.to_string(), record.to_string(), expires_at))
                }
                Action::Touch { id, record, expires_at, .. } => {
                    Some(('T', id.to_string(), record.to_string(), expires_at))
                }
                Action::Destroy { id } => Some(('D', id.to_string(), String::new(), None)),
                _ => None,
            };
            match act {
                Action::SetCookie { value } => {
                    self.set_cookies.push(value.to_string());
                    continue;
                }
                Action::Error { .. } => continue,
                Action::Wait => return Err(TestCaseError::fail("Wait with no store operation outstanding")),
                Action::Ready => return Ok(Action::Ready),
                Action::Failed { .. } => return Ok(Action::Failed { message: "" }),
                Action::Completed { .. } => return Ok(Action::Completed { error: None }),
                Action::Done => return Ok(Action::Done),
                _ => {}
            }
            prop_assert!(store_op);
            if self.poll_twice {
                // At most one store operation outstanding: polling again waits.
                prop_assert_eq!(req.poll_action().ok(), Some(Action::Wait));
            }
            let (kind, id, record, expires_at) = owned.expect("store op");
            let answer = self.answers.next().unwrap_or(Answer::Ok);
            let r = match (kind, answer) {
                ('L', Answer::Fail) => req.handle_load(LoadResult::Failed { message: "down" }),
                ('L', Answer::NotFound) => req.handle_load(LoadResult::NotFound),
                ('L', Answer::Corrupt(bytes)) => req.handle_load(LoadResult::Found(&bytes)),
                ('L', Answer::Ok) => {
                    self.loads.push(id.clone());
                    match self.store.get(&id, self.now) {
                        Some(t) => req.handle_load(LoadResult::Found(t.as_bytes())),
                        None => req.handle_load(LoadResult::NotFound),
                    }
                }
                (_, Answer::Fail) => req.handle_store_result(StoreResult::Failed { message: "down" }),
                ('S', _) => {
                    let _ = self.store.set(&id, &record, expires_at, self.now);
                    req.handle_store_result(StoreResult::Ok)
                }
                ('T', _) => {
                    self.store.touch(&id, &record, expires_at, self.now);
                    req.handle_store_result(StoreResult::Ok)
                }
                _ => {
                    self.store.destroy(&id);
                    req.handle_store_result(StoreResult::Ok)
                }
            };
            prop_assert!(r.is_ok(), "answering an outstanding action failed: {:?}", r);
        }
        Err(TestCaseError::fail("the request did not settle"))
    }
}

fn misuse(req: &mut Request, kind: u8) -> Result<(), Error> {
    match kind {
        0 => req.handle_store_result(StoreResult::Ok),
        1 => req.handle_load(LoadResult::NotFound),
        2 => req.set_target(b"/late"),
        3 => req.add_cookie_header(b"a=b"),
        4 => req.set_tls(true),
        _ => req.handle_load(LoadResult::Found(b"{}")),
    }
}

fn check_failed_for_good(req: &mut Request) -> Result<(), TestCaseError> {
    prop_assert_eq!(req.poll_action().err(), Some(Error::RequestFailed));
    prop_assert_eq!(req.finish().err(), Some(Error::RequestFailed));
    prop_assert_eq!(req.set("a", Value::Null).err(), Some(Error::RequestFailed));
    prop_assert_eq!(req.handle_store_result(StoreResult::Ok).err(), Some(Error::RequestFailed));
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn lifecycle_invariants(
        reqs in proptest::collection::vec(request(), 1..8),
        max_age in proptest::option::of(1_000.0f64..1e9),
        rolling in any::<bool>(),
        resave in any::<bool>(),
        save_uninitialized in any::<bool>(),
    ) {
        let cfg = config(max_age, rolling, resave, save_uninitialized);
        let store = MemoryStore::new();
        let mut now: i64 = 1_700_000_000_000;
        let mut jar: Option<String> = None;
        for (n, r) in reqs.into_iter().enumerate() {
            now = (now + r.dt).max(0);
            let mut req = Request::new(cfg.clone(), UnixMillis(now as u64), SeededIds::new(&[n as u8; 32]));
            let jar_id = jar.as_deref().and_then(|c| c.strip_prefix("s%3A")).and_then(|c| c.rsplit_once('.')).map(|(id, _)| id.to_string());
            let header: Option<Vec<u8>> = match (&r.cookie, &jar) {
                (CookieChoice::None, _) => None,
                (CookieChoice::Jar, Some(c)) => Some(format!("connect.sid={c}").into_bytes()),
                (CookieChoice::Tampered, Some(c)) => {
                    let mut b = c.clone().into_bytes();
                    let last = b.len() - 1;
                    b[last] = if b[last] == b'A' { b'B' } else { b'A' };
                    Some([b"connect.sid=".as_slice(), &b].concat())
                }
                (CookieChoice::Unsigned, _) => jar_id.clone().map(|id| format!("connect.sid={id}").into_bytes()),
                (CookieChoice::UnknownSecret, _) => {
                    jar_id.clone().map(|id| format!("connect.sid={}", sign(&id, "not the secret, not the secret, not it")).into_bytes())
                }
                (CookieChoice::Garbage(g), _) => Some(g.clone()),
                _ => None,
            };
            let honest = matches!(r.cookie, CookieChoice::Jar) && jar.is_some();
            if let Some(h) = &header {
                req.add_cookie_header(h).expect("facts before the first poll");
            }
            let mut d = Driver {
                store: &store,
                now,
                answers: r.answers.clone().into_iter(),
                set_cookies: vec![],
                loads: vec![],
                poll_twice: r.poll_twice,
            };
            let first = d.run(&mut req)?;
            // A forged, unsigned or unknown-secret cookie never leads to a load.
            if !honest {
                prop_assert!(d.loads.is_empty(), "loaded {:?} for {:?}", d.loads, r.cookie);
            }
            let mut failed = false;
            if first == Action::Ready {
                for op in &r.ops {
                    let key = |k: &u8| KEYS[*k as usize % 3];
                    let result = match op {
                        Op::Set(k, v) => req.set(key(k), Value::Number(f64::from(*v))),
                        Op::Delete(k) => req.delete(key(k)).map(|_| ()),
                        Op::Incr(k) => req.increment(key(k)).map(|_| ()),
                        Op::Touch => req.touch(),
                        Op::MaxAge(ms) => req.set_max_age(Some(f64::from(*ms))),
                        Op::Save => req.save(),
                        Op::Reload => req.reload(),
                        Op::Destroy => req.destroy(),
                        Op::Regenerate => req.regenerate(),
                        Op::Unset => req.unset(),
                        Op::Misuse(kind) => {
                            let e = misuse(&mut req, *kind);
                            prop_assert!(e.is_err_and(Error::is_misuse), "misuse accepted: {:?}", op);
                            check_failed_for_good(&mut req)?;
                            failed = true;
                            break;
                        }
                    };
                    match result {
                        Ok(()) => {
                            if matches!(op, Op::Save | Op::Reload | Op::Destroy | Op::Regenerate) {
                                let done = d.run(&mut req)?;
                                prop_assert_eq!(done, Action::Completed { error: None });
                            }
                        }
                        Err(Error::NoSession) => prop_assert!(!req.has_session()),
                        Err(e) => return Err(TestCaseError::fail(format!("{op:?} failed: {e}"))),
                    }
                }
            } else {
                // Handler operations are misuse when loading failed.
                prop_assert_eq!(first, Action::Failed { message: "" });
            }
            if failed {
                continue;
            }
            req.finish().expect("finish on the application's turn");
            prop_assert_eq!(d.run(&mut req)?, Action::Done);
            for _ in 0..3 {
                prop_assert_eq!(req.poll_action().ok(), Some(Action::Done), "nothing after Done");
            }
            prop_assert_eq!(req.finish().err(), Some(Error::WrongPhase));
            prop_assert!(d.set_cookies.len() <= 1, "{} Set-Cookie headers", d.set_cookies.len());
            if let Some(c) = d.set_cookies.first() {
                jar = jar_after(c);
            }
        }
    }
}

/// The reference model: express-session's decisions for `resave: false`,
/// `saveUninitialized: false` and a browser-session cookie.
#[derive(Clone, Debug)]
enum DataOp {
    Set(u8, i32),
    Delete(u8),
    Incr(u8),
    Regenerate,
    Destroy,
}

fn data_op() -> impl Strategy<Value = DataOp> {
    prop_oneof![
        3 => (0u8..3, 0i32..4).prop_map(|(k, v)| DataOp::Set(k, v)),
        2 => (0u8..3).prop_map(DataOp::Delete),
        3 => (0u8..3).prop_map(DataOp::Incr),
        1 => Just(DataOp::Regenerate),
        1 => Just(DataOp::Destroy),
    ]
}

type Data = Vec<(String, f64)>;

fn model_set(d: &mut Data, k: &str, v: f64) {
    match d.iter_mut().find(|(x, _)| x == k) {
        Some(e) => e.1 = v,
        None => d.push((k.to_string(), v)),
    }
}

fn engine_data(req: &Request) -> Data {
    req.data().map(|it| it.map(|(k, v)| (k.to_string(), v.as_f64().unwrap_or(f64::NAN))).collect()).unwrap_or_default()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn data_model(requests in proptest::collection::vec(proptest::collection::vec(data_op(), 0..5), 1..10)) {
        let cfg = config(None, false, false, false);
        let store = MemoryStore::new();
        let mut model_store: std::collections::HashMap<String, Data> = Default::default();
        let mut jar: Option<String> = None;
        let now = 1_700_000_000_000i64;
        for (n, ops) in requests.iter().enumerate() {
            let mut req = Request::new(cfg.clone(), UnixMillis(now as u64), SeededIds::new(&[n as u8 + 100; 32]));
            let cookie_sent = jar.is_some();
            if let Some(c) = &jar {
                req.add_cookie_header(format!("connect.sid={c}").as_bytes()).expect("facts");
            }
            prop_assert_eq!(store.poll(&mut req, now).expect("no misuse"), Action::Ready);
            let sid = req.session_id().expect("a session").to_string();
            let cookie_sid = req.cookie_session_id().map(str::to_string);
            let mut data = if cookie_sid.as_deref() == Some(sid.as_str()) {
                model_store.get(&sid).cloned().expect("loaded sessions are in the model")
            } else {
                Data::new()
            };
            prop_assert_eq!(engine_data(&req), data.clone());
            let (original_sid, original) = (sid.clone(), data.clone());
            let mut current_sid = sid;
            let mut alive = true;
            for op in ops {
                let key = |k: &u8| KEYS[*k as usize % 3];
                match op {
                    DataOp::Set(k, v) if alive => {
                        req.set(key(k), Value::Number(f64::from(*v))).expect("set");
                        model_set(&mut data, key(k), f64::from(*v));
                    }
                    DataOp::Delete(k) if alive => {
                        req.delete(key(k)).expect("delete");
                        data.retain(|(x, _)| x != key(k));
                    }
                    DataOp::Incr(k) if alive => {
                        let v = req.increment(key(k)).expect("incr");
                        let expected = data.iter().find(|(x, _)| x == key(k)).map_or(0.0, |e| e.1) + 1.0;
                        prop_assert_eq!(v, expected);
                        model_set(&mut data, key(k), expected);
                    }
                    DataOp::Regenerate if alive => {
                        req.regenerate().expect("regenerate");
                        prop_assert_eq!(store.poll(&mut req, now).expect("poll"), Action::Completed { error: None });
                        model_store.remove(&current_sid);
                        current_sid = req.session_id().expect("new id").to_string();
                        prop_assert_ne!(&current_sid, &original_sid);
                        data.clear();
                    }
                    DataOp::Destroy if alive => {
                        req.destroy().expect("destroy");
                        prop_assert_eq!(store.poll(&mut req, now).expect("poll"), Action::Completed { error: None });
                        model_store.remove(&current_sid);
                        alive = false;
                    }
                    _ => prop_assert_eq!(req.set("a", Value::Null).err(), Some(Error::NoSession)),
                }
                prop_assert_eq!(engine_data(&req), if alive { data.clone() } else { Data::new() });
            }
            req.finish().expect("finish");
            let mut set_cookie = None;
            loop {
                match store.poll(&mut req, now).expect("poll") {
                    Action::SetCookie { value } => set_cookie = Some(value.to_string()),
                    Action::Done => break,
                    other => return Err(TestCaseError::fail(format!("unexpected {other:?}"))),
                }
            }
            let modified = alive && (current_sid != original_sid || data != original);
            let is_new = cookie_sid.as_deref() != Some(current_sid.as_str());
            if modified {
                model_store.insert(current_sid.clone(), data.clone());
            }
            // Browser-session cookie: sent only for a new ID that was modified;
            // a destroyed session's cookie is removed (clearCookieOnDestroy,
            // a secure default) when the request sent one.
            let removal = !alive && cookie_sent;
            prop_assert_eq!(set_cookie.is_some(), alive && is_new && modified || removal);
            if removal {
                let c = set_cookie.as_deref().unwrap_or_default();
                prop_assert!(c.starts_with("connect.sid=; Path=/; Expires=Thu, 01 Jan 1970 00:00:00 GMT"), "{}", c);
            }
            if let Some(c) = set_cookie {
                jar = jar_after(&c);
            }
            // The store holds exactly the model's sessions.
            let mut actual: Vec<(String, Data)> = store
                .snapshot()
                .into_iter()
                .map(|(sid, text)| {
                    let v = libsession_engine::Value::from_json(&text).expect("records are JSON");
                    let d = v.as_object().expect("object").iter().filter(|(k, _)| *k != "cookie")
                        .map(|(k, v)| (k.to_string(), v.as_f64().unwrap_or(f64::NAN))).collect();
                    (sid, d)
                })
                .collect();
            let mut expected: Vec<(String, Data)> = model_store.clone().into_iter().collect();
            actual.sort_by(|a, b| a.0.cmp(&b.0));
            expected.sort_by(|a, b| a.0.cmp(&b.0));
            prop_assert_eq!(actual, expected);
        }
    }

    #[test]
    fn arbitrary_cookie_headers_never_panic(headers in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..300), 0..4), tls in any::<bool>()) {
        let cfg = config(Some(60_000.0), false, false, false);
        let mut req = Request::new(cfg, UnixMillis(5), SeededIds::new(&[1; 32]));
        for h in &headers {
            req.add_cookie_header(h).expect("facts");
            req.add_forwarded_proto(h).expect("facts");
        }
        req.set_tls(tls).expect("facts");
        // Nothing that was not signed by the server can be loaded.
        prop_assert_eq!(req.poll_action().expect("poll"), Action::Ready);
    }

    #[test]
    fn arbitrary_store_records_never_panic(record in proptest::collection::vec(any::<u8>(), 0..200), json_like in "[\\[\\]{}\",:a-z0-9 .eE+-]{0,80}") {
        let cfg = config(Some(60_000.0), false, false, false);
        let cookie = format!("connect.sid={}", sign("some-id", SECRET));
        for bytes in [record.as_slice(), json_like.as_bytes()] {
            let mut req = Request::new(cfg.clone(), UnixMillis(5), SeededIds::new(&[1; 32]));
            req.add_cookie_header(cookie.as_bytes()).expect("facts");
            prop_assert_eq!(req.poll_action().expect("poll"), Action::Load { id: "some-id" });
            req.handle_load(LoadResult::Found(bytes)).expect("answer");
            match req.poll_action().expect("poll") {
                Action::Ready | Action::Failed { .. } => {}
                other => return Err(TestCaseError::fail(format!("{other:?}"))),
            }
            req.finish().expect("finish");
            for _ in 0..4 {
                match req.poll_action().expect("poll") {
                    Action::Save { .. } | Action::Touch { .. } => req.handle_store_result(StoreResult::Ok).expect("answer"),
                    _ => {}
                }
            }
        }
    }
}

#[test]
fn corrupt_record_fails_the_request_like_express() {
    let cfg = config(Some(60_000.0), false, false, false);
    let cookie = format!("connect.sid={}", sign("sid1", SECRET));
    for (record, fails) in [
        (&b"not json"[..], true),
        (b"null", true),
        (b"{\"views\":1}", true), // no cookie: express-session throws
        (b"0", false),            // falsy: a new session
        (b"{\"cookie\":{\"expires\":null},\"views\":1}", false),
    ] {
        let mut req = Request::new(cfg.clone(), UnixMillis(5), IdQueue::new(["new"]));
        req.add_cookie_header(cookie.as_bytes()).unwrap();
        assert_eq!(req.poll_action().unwrap(), Action::Load { id: "sid1" });
        req.handle_load(LoadResult::Found(record)).unwrap();
        let a = req.poll_action().unwrap();
        assert_eq!(matches!(a, Action::Failed { .. }), fails, "{:?}: {a:?}", String::from_utf8_lossy(record));
        assert_eq!(req.set("x", Value::Null).is_err(), fails);
    }
}

/// One request of the differential test below: whether it sends the jar's
/// cookie, the handler's operations, and how long after the last one it comes.
#[derive(Clone, Debug)]
struct Visit {
    with_cookie: bool,
    dt: i64,
    ops: Vec<(u8, u8)>,
}

fn visit() -> impl Strategy<Value = Visit> {
    (prop::bool::weighted(0.8), 0i64..120_000, prop::collection::vec((0u8..9, 0u8..4), 0..5))
        .prop_map(|(with_cookie, dt, ops)| Visit { with_cookie, dt, ops })
}

/// Runs `visit` against `store`, loading and writing records as text
/// (`saved` false) or with the sessions the engine hands over (`saved`
/// true, `MemoryStore::poll`); returns everything the host could observe.
fn run_visit(
    cfg: &Arc<Config>,
    store: &MemoryStore,
    saved: bool,
    jar: &mut Option<String>,
    now: i64,
    visit: &Visit,
    n: usize,
) -> Vec<String> {
    fn text_poll<'r>(store: &MemoryStore, req: &'r mut Request, now: i64) -> Action<'r> {
        loop {
            let r = match req.poll_action().expect("no misuse") {
                Action::Load { id } => match store.get(id, now) {
                    Some(text) => req.handle_load(LoadResult::Stored(libsession_engine::StoredRecord::from_text(text))),
                    None => req.handle_load(LoadResult::NotFound),
                },
                Action::Save { id, record, expires_at, .. } => {
                    let failed = store.set(id, record, expires_at, now).err().map(|e| e.to_string());
                    match failed {
                        None => req.handle_store_result(StoreResult::Ok),
                        Some(m) => req.handle_store_result(StoreResult::Failed { message: &m }),
                    }
                }
                Action::Touch { id, record, expires_at, .. } => {
                    store.touch(id, record, expires_at, now);
                    req.handle_store_result(StoreResult::Ok)
                }
                Action::Destroy { id } => {
                    store.destroy(id);
                    req.handle_store_result(StoreResult::Ok)
                }
                _ => break,
            };
            r.expect("answer accepted");
        }
        req.current_action()
    }
    let poll = |req: &mut Request| -> String {
        let action = if saved { store.poll(req, now).expect("no misuse") } else { text_poll(store, req, now) };
        format!("{action:?}")
    };
    let mut seen = vec![];
    let mut req = Request::new(cfg.clone(), UnixMillis(now as u64), SeededIds::new(&[n as u8; 32]));
    if let (true, Some(c)) = (visit.with_cookie, jar.as_deref()) {
        req.add_cookie_header(format!("connect.sid={c}").as_bytes()).expect("facts");
    }
    seen.push(poll(&mut req));
    if req.has_session() {
        for &(op, k) in &visit.ops {
            let key = ["a", "b", "views", "c"][usize::from(k)];
            let result = match op {
                0 | 1 => req.increment(key).map(|v| format!("{v}")),
                2 => req.set(key, Value::String(format!("v{n}"))).map(|()| String::new()),
                3 => req.delete(key).map(|v| format!("{v:?}")),
                4 => req.touch().map(|()| String::new()),
                5 => req.set_max_age(Some(f64::from(k) * 30_000.0)).map(|()| String::new()),
                6 => req.save().map(|()| String::new()),
                7 => req.reload().map(|()| String::new()),
                _ => req.regenerate().map(|()| String::new()),
            };
            seen.push(format!("{result:?} {:?}", req.data_json()));
            if result.is_ok() && op >= 6 {
                seen.push(poll(&mut req));
            }
        }
    }
    req.finish().expect("finish");
    loop {
        let step = poll(&mut req);
        if let Some(value) = step.strip_prefix("SetCookie { value: \"") {
            *jar = value.split(';').next().and_then(|p| p.split_once('=')).map(|(_, v)| v.to_string());
        }
        let done = step == "Done";
        seen.push(step);
        if done {
            break;
        }
    }
    seen.push(format!("{:?}", store.snapshot()));
    seen
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    /// Loading the session the engine handed over with a record is reading
    /// that record: every action, value, Set-Cookie and stored record is
    /// the same, request after request, whatever the options.
    #[test]
    fn handed_over_sessions_behave_as_read_records(
        visits in prop::collection::vec(visit(), 1..10),
        max_age in prop::option::of(1_000.0f64..200_000.0),
        rolling in any::<bool>(),
        resave in any::<bool>(),
        save_uninitialized in any::<bool>(),
    ) {
        let cfg = config(max_age, rolling, resave, save_uninitialized);
        let (text_store, saved_store) = (MemoryStore::new(), MemoryStore::new());
        let (mut text_jar, mut saved_jar) = (None, None);
        let mut now = 1_700_000_000_000;
        for (n, v) in visits.iter().enumerate() {
            now += v.dt;
            let a = run_visit(&cfg, &text_store, false, &mut text_jar, now, v, n);
            let b = run_visit(&cfg, &saved_store, true, &mut saved_jar, now, v, n);
            prop_assert_eq!(a, b, "visit {}", n);
        }
    }
}

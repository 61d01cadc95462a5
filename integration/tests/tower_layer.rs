//! The tower layer in front of an axum router, in process: the view counter
//! with a cookie round trip, regenerate, destroy, handler operations, store
//! failures under both policies, and concurrent requests of one session.

use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Body;
use axum::http::{HeaderMap, Request, StatusCode, header};
use axum::routing::get;
use axum::{Extension, Router};
use http_body_util::BodyExt;
use libsession_engine::async_driver::{AsyncStore, StoreError, StoreFuture};
use libsession_engine::tower_layer::{CANCELLED, Session, SessionError, SessionLayer};
use libsession_engine::{Config, IdQueue, MemoryStore, Secure, UnixMillis};
use serde::{Deserialize, Serialize};
use tower::ServiceExt;

const NOW: u64 = 1_700_000_000_000;

/// A memory store that can be switched off, counting its operations. It
/// answers after a yield, like a store across a network; or, `at_once`, on
/// the first poll, saying so ([`AsyncStore::answers_at_once`]: the layer's
/// path without boxing, which `MemoryStore` takes).
#[derive(Default)]
struct Flaky {
    inner: MemoryStore,
    down: AtomicBool,
    ops: AtomicUsize,
    at_once: bool,
}

impl Flaky {
    fn check(&self) -> Result<(), StoreError> {
        self.ops.fetch_add(1, Ordering::SeqCst);
        if self.down.load(Ordering::SeqCst) { Err(StoreError::new("store is down")) } else { Ok(()) }
    }
}

impl AsyncStore for Flaky {
    fn get<'a>(&'a self, id: &'a str, now: i64) -> StoreFuture<'a, Option<Vec<u8>>> {
        StoreFuture::boxed(async move {
            self.check()?;
            // Yield once, like a store across a network.
            if !self.at_once {
                tokio::task::yield_now().await;
            }
            AsyncStore::get(&self.inner, id, now).await
        })
    }
    fn set<'a>(&'a self, id: &'a str, record: &'a str, expires_at: Option<i64>, now: i64) -> StoreFuture<'a, ()> {
        StoreFuture::boxed(async move {
            self.check()?;
            if !self.at_once {
                tokio::task::yield_now().await;
            }
            AsyncStore::set(&self.inner, id, record, expires_at, now).await
        })
    }
    fn touch<'a>(&'a self, id: &'a str, record: &'a str, expires_at: Option<i64>, now: i64) -> StoreFuture<'a, ()> {
        StoreFuture::boxed(async move {
            self.check()?;
            AsyncStore::touch(&self.inner, id, record, expires_at, now).await
        })
    }
    fn destroy<'a>(&'a self, id: &'a str, now: i64) -> StoreFuture<'a, ()> {
        StoreFuture::boxed(async move {
            self.check()?;
            AsyncStore::destroy(&self.inner, id, now).await
        })
    }
    fn answers_at_once(&self) -> bool {
        self.at_once
    }
}

#[derive(Serialize, Deserialize, Debug, PartialEq)]
struct User {
    name: String,
    roles: Vec<String>,
    level: u32,
}

async fn count(Extension(session): Extension<Session>) -> String {
    let views = session.get::<u64>("views").unwrap().unwrap_or(0) + 1;
    session.insert("views", &views).unwrap();
    format!("{views}")
}

/// Reads, waits (so that overlapping requests would interleave), writes.
async fn slow_count(Extension(session): Extension<Session>) -> String {
    let views = session.get::<u64>("views").unwrap().unwrap_or(0);
    tokio::time::sleep(Duration::from_millis(2)).await;
    session.insert("views", &(views + 1)).unwrap();
    format!("{}", views + 1)
}

async fn login(Extension(session): Extension<Session>) -> String {
    let before = session.id().unwrap();
    session.regenerate().await.unwrap();
    assert_ne!(session.id().unwrap(), before);
    assert_eq!(session.get::<u64>("views").unwrap(), None, "regenerate starts empty");
    let user = User { name: "Zoë".into(), roles: vec!["admin".into()], level: 3 };
    session.insert("user", &user).unwrap();
    assert_eq!(session.get::<User>("user").unwrap(), Some(user));
    session.id().unwrap()
}

/// The login pattern: a new ID, the same data (`regenerate_with(true)`).
async fn login_keeping(Extension(session): Extension<Session>) -> String {
    let before = session.id().unwrap();
    let views = session.get::<u64>("views").unwrap();
    session.regenerate_with(true).await.unwrap();
    assert_ne!(session.id().unwrap(), before);
    assert_eq!(session.get::<u64>("views").unwrap(), views, "the data is kept");
    session.insert("user", &"ada").unwrap();
    session.id().unwrap()
}

async fn logout(Extension(session): Extension<Session>) -> String {
    session.destroy().await.unwrap();
    assert!(!session.is_present());
    assert!(matches!(session.insert("x", &1), Err(SessionError::Engine(libsession_engine::Error::NoSession))));
    "bye".into()
}

async fn ops(Extension(session): Extension<Session>) -> String {
    session.insert("a", &1).unwrap();
    session.save().await.unwrap();
    session.insert("a", &2).unwrap();
    session.reload().await.unwrap();
    let a = session.get::<u32>("a").unwrap();
    let removed = session.remove::<u32>("a").unwrap();
    assert!(matches!(session.insert("cookie", &1), Err(SessionError::Engine(libsession_engine::Error::ReservedKey))));
    assert!(matches!(session.get::<String>("views"), Err(SessionError::Json(_)) | Ok(None)));
    format!("{a:?} {removed:?} {}", session.data().unwrap())
}

/// The routes, with a middleware between the session layer and the handlers
/// that counts the requests reaching the handlers.
fn app(layer: SessionLayer, handled: Arc<AtomicUsize>) -> Router {
    Router::new()
        .route("/", get(count))
        .route("/slow", get(slow_count))
        .route("/login", get(login))
        .route("/login-keeping", get(login_keeping))
        .route("/logout", get(logout))
        .route("/ops", get(ops))
        .route("/elsewhere", get(|Extension(s): Extension<Session>| async move { format!("{}", s.is_present()) }))
        .layer(axum::middleware::from_fn(move |req: Request<Body>, next: axum::middleware::Next| {
            let handled = handled.clone();
            async move {
                assert!(req.extensions().get::<Session>().is_some());
                handled.fetch_add(1, Ordering::SeqCst);
                next.run(req).await
            }
        }))
        .layer(layer)
}

fn config() -> Arc<Config> {
    Arc::new(
        Config::builder().secret("tower secret tower secret tower secret").max_age(Some(60_000.0)).build().unwrap(),
    )
}

struct Harness {
    app: Router,
    store: Arc<Flaky>,
    errors: Arc<Mutex<Vec<String>>>,
    handled: Arc<AtomicUsize>,
}

fn harness(at_once: bool, config: Arc<Config>, configure: impl FnOnce(SessionLayer) -> SessionLayer) -> Harness {
    let store = Arc::new(Flaky { at_once, ..Flaky::default() });
    let errors = Arc::new(Mutex::new(Vec::new()));
    let sink = errors.clone();
    let clock = Arc::new(AtomicU64::new(NOW));
    let layer = SessionLayer::with_shared_store(config, store.clone())
        .clock(move || UnixMillis(clock.fetch_add(1, Ordering::SeqCst)))
        .on_error(move |m| sink.lock().unwrap().push(m.to_string()));
    let handled = Arc::new(AtomicUsize::new(0));
    let app = app(configure(layer), handled.clone());
    Harness { app, store, errors, handled }
}

struct Reply {
    status: StatusCode,
    headers: HeaderMap,
    body: String,
}

impl Reply {
    fn cookies(&self) -> Vec<String> {
        self.headers.get_all(header::SET_COOKIE).iter().map(|v| v.to_str().unwrap().to_string()).collect()
    }

    /// The `name=value` part of the one Set-Cookie.
    fn cookie_pair(&self) -> String {
        let cookies = self.cookies();
        assert_eq!(cookies.len(), 1, "{cookies:?}");
        cookies[0].split(';').next().unwrap().to_string()
    }
}

async fn send(app: &Router, path: &str, headers: &[(&str, &str)]) -> Reply {
    let mut req = Request::builder().uri(path);
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let response = app.clone().oneshot(req.body(Body::empty()).unwrap()).await.unwrap();
    let status = response.status();
    let headers = response.headers().clone();
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    Reply { status, headers, body: String::from_utf8(bytes.to_vec()).unwrap() }
}

fn sid_of(pair: &str) -> String {
    // connect.sid=s%3A<id>.<signature>
    let value = pair.strip_prefix("connect.sid=s%3A").unwrap();
    value.rsplit_once('.').unwrap().0.to_string()
}

/// Each test against both kinds of store: one that answers after a yield
/// (the layer's boxed path) and one that answers at once (its unboxed path).
macro_rules! on_both_stores {
    ($(#[$attr:meta] $name:ident => $with:ident;)*) => {$(
        mod $name {
            #[$attr]
            async fn store_yields() {
                super::$with(false).await;
            }

            #[$attr]
            async fn store_answers_at_once() {
                super::$with(true).await;
            }
        }
    )*};
}

on_both_stores! {
    #[tokio::test] counts_views_across_requests_with_the_cookie => counts_views_across_requests_with_the_cookie_with;
    #[tokio::test] regenerate_issues_a_new_id_and_deletes_the_old_record => regenerate_issues_a_new_id_and_deletes_the_old_record_with;
    #[tokio::test] destroy_deletes_the_record_and_removes_the_cookie => destroy_deletes_the_record_and_removes_the_cookie_with;
    #[tokio::test] handler_operations_save_and_reload => handler_operations_save_and_reload_with;
    #[tokio::test] store_failure_responds_500_by_default => store_failure_responds_500_by_default_with;
    #[tokio::test] store_failure_can_continue_with_a_fresh_session => store_failure_can_continue_with_a_fresh_session_with;
    #[tokio::test(flavor = "multi_thread", worker_threads = 4)] concurrent_requests_of_one_session_are_all_counted => concurrent_requests_of_one_session_are_all_counted_with;
    #[tokio::test] request_facts_reach_the_engine => request_facts_reach_the_engine_with;
    #[tokio::test] api_clients_use_the_session_header => api_clients_use_the_session_header_with;
    #[tokio::test] regenerate_keeping_the_data_with_a_grace_window => regenerate_keeping_the_data_with_a_grace_window_with;
}

async fn regenerate_keeping_the_data_with_a_grace_window_with(at_once: bool) {
    let config = Arc::new(
        Config::builder()
            .secret("tower secret tower secret tower secret")
            .max_age(Some(60_000.0))
            .regenerate_grace(Some(30_000))
            .build()
            .unwrap(),
    );
    let h = harness(at_once, config, |l| l);
    let cookie = send(&h.app, "/", &[]).await.cookie_pair();
    let cookie = send(&h.app, "/", &[("cookie", &cookie)]).await.cookie_pair();
    let old = sid_of(&cookie);
    let reply = send(&h.app, "/login-keeping", &[("cookie", &cookie)]).await;
    assert_eq!(reply.status, StatusCode::OK);
    let new = sid_of(&reply.cookie_pair());
    assert_eq!(reply.body, new);
    let records: std::collections::HashMap<String, String> = h.store.inner.snapshot().into_iter().collect();
    assert!(records[&new].ends_with(r#""views":2,"user":"ada"}"#), "{}", records[&new]);
    // The old ID: its grace copy, as loaded (no user), marked.
    assert!(records[&old].contains(r#""views":2,"libsessionGraceUntil":"#), "{}", records[&old]);
    // A request in flight with the old cookie: read-only, no cookie, nothing written.
    let before = h.store.inner.snapshot();
    let reply = send(&h.app, "/", &[("cookie", &cookie)]).await;
    assert_eq!(reply.body, "3");
    assert!(reply.cookies().is_empty(), "{:?}", reply.cookies());
    assert_eq!(h.store.inner.snapshot(), before);
    assert!(h.errors.lock().unwrap().is_empty());
}

async fn counts_views_across_requests_with_the_cookie_with(at_once: bool) {
    let h = harness(at_once, config(), |l| l);
    let first = send(&h.app, "/", &[]).await;
    assert_eq!(first.status, StatusCode::OK);
    assert_eq!(first.body, "1");
    let cookie = first.cookie_pair();
    assert!(first.cookies()[0].contains("; Path=/; Expires="), "{:?}", first.cookies());
    assert!(first.cookies()[0].ends_with("; HttpOnly; SameSite=Lax"), "{:?}", first.cookies());
    let sid = sid_of(&cookie);

    for n in 2..=4 {
        let reply = send(&h.app, "/", &[("cookie", &format!("other=1; {cookie}"))]).await;
        assert_eq!(reply.body, n.to_string());
        // maxAge is set and the session changed: the cookie is sent again, same ID.
        assert_eq!(sid_of(&reply.cookie_pair()), sid);
    }
    let records = h.store.inner.snapshot();
    assert_eq!(records.len(), 1);
    assert_eq!(records[0].0, sid);
    assert!(records[0].1.starts_with(r#"{"cookie":{"originalMaxAge":60000,"expires":""#), "{}", records[0].1);
    assert!(records[0].1.ends_with(r#""httpOnly":true,"path":"/","sameSite":"lax"},"views":4}"#), "{}", records[0].1);

    // Two Cookie headers are joined as Node joins them.
    let reply = send(&h.app, "/", &[("cookie", "a=b"), ("cookie", &cookie)]).await;
    assert_eq!(reply.body, "5");

    // A forged cookie gets a fresh session, without a store load.
    let ops = h.store.ops.load(Ordering::SeqCst);
    let last = if cookie.ends_with('x') { 'y' } else { 'x' };
    let forged = format!("{}{last}", &cookie[..cookie.len() - 1]);
    let reply = send(&h.app, "/", &[("cookie", &forged)]).await;
    assert_eq!(reply.body, "1");
    assert_ne!(sid_of(&reply.cookie_pair()), sid);
    assert_eq!(h.store.ops.load(Ordering::SeqCst), ops + 1, "only the new session's save");
    assert!(h.errors.lock().unwrap().is_empty());
}

/// The `header` option: a client without cookies gets the signed ID in the
/// response header and sends it back in the request header.
async fn api_clients_use_the_session_header_with(at_once: bool) {
    let config = Config::builder()
        .secret("tower secret tower secret tower secret")
        .header(Some("X-Session-Id"))
        .build()
        .unwrap();
    let h = harness(at_once, Arc::new(config), |l| l);
    let first = send(&h.app, "/", &[]).await;
    assert_eq!(first.body, "1");
    let value = first.headers.get("x-session-id").expect("the session header").to_str().unwrap().to_string();
    assert_eq!(first.cookie_pair(), format!("connect.sid={value}"));
    let second = send(&h.app, "/", &[("x-session-id", &value)]).await;
    assert_eq!(second.body, "2");
    assert!(second.headers.get("x-session-id").is_none() && second.cookies().is_empty(), "it has the value already");
    assert!(h.errors.lock().unwrap().is_empty());
}

async fn regenerate_issues_a_new_id_and_deletes_the_old_record_with(at_once: bool) {
    let h = harness(at_once, config(), |l| l);
    let cookie = send(&h.app, "/", &[]).await.cookie_pair();
    let old = sid_of(&cookie);
    let reply = send(&h.app, "/login", &[("cookie", &cookie)]).await;
    assert_eq!(reply.status, StatusCode::OK);
    let new = sid_of(&reply.cookie_pair());
    assert_eq!(reply.body, new);
    assert_ne!(new, old);
    let records = h.store.inner.snapshot();
    assert_eq!(records.len(), 1, "the old record is gone");
    assert_eq!(records[0].0, new);
    assert!(records[0].1.ends_with(r#","user":{"name":"Zoë","roles":["admin"],"level":3}}"#), "{}", records[0].1);
    // The new cookie carries on.
    let reply = send(&h.app, "/", &[("cookie", &reply.cookie_pair())]).await;
    assert_eq!(reply.body, "1");
    assert_eq!(sid_of(&reply.cookie_pair()), new);
}

async fn destroy_deletes_the_record_and_removes_the_cookie_with(at_once: bool) {
    let h = harness(at_once, config(), |l| l);
    let cookie = send(&h.app, "/", &[]).await.cookie_pair();
    assert_eq!(h.store.inner.len(), 1);
    let reply = send(&h.app, "/logout", &[("cookie", &cookie)]).await;
    assert_eq!(reply.body, "bye");
    // clearCookieOnDestroy (a secure default): the browser forgets the cookie.
    assert_eq!(
        reply.cookies(),
        ["connect.sid=; Path=/; Expires=Thu, 01 Jan 1970 00:00:00 GMT; HttpOnly; SameSite=Lax"]
    );
    assert!(h.store.inner.is_empty());
    // The old cookie now finds nothing: a new session.
    let reply = send(&h.app, "/", &[("cookie", &cookie)]).await;
    assert_eq!(reply.body, "1");
    assert_ne!(sid_of(&reply.cookie_pair()), sid_of(&cookie));
}

async fn handler_operations_save_and_reload_with(at_once: bool) {
    let h = harness(at_once, config(), |l| l);
    let reply = send(&h.app, "/ops", &[]).await;
    // save() stored a=1; reload() brought it back over a=2; remove took it out.
    assert_eq!(reply.body, "Some(1) Some(1) {}");
    let record = &h.store.inner.snapshot()[0].1;
    assert!(record.ends_with(r#""sameSite":"lax"}}"#), "{record}");
}

async fn store_failure_responds_500_by_default_with(at_once: bool) {
    let h = harness(at_once, config(), |l| l);
    let cookie = send(&h.app, "/", &[]).await.cookie_pair();
    assert_eq!(h.handled.load(Ordering::SeqCst), 1);
    h.store.down.store(true, Ordering::SeqCst);
    let reply = send(&h.app, "/", &[("cookie", &cookie)]).await;
    assert_eq!(reply.status, StatusCode::INTERNAL_SERVER_ERROR);
    assert!(reply.cookies().is_empty());
    assert_eq!(h.handled.load(Ordering::SeqCst), 1, "the handler did not run");
    assert_eq!(*h.errors.lock().unwrap(), ["store is down"]);
    // Back up: the session is intact.
    h.store.down.store(false, Ordering::SeqCst);
    let reply = send(&h.app, "/", &[("cookie", &cookie)]).await;
    assert_eq!(reply.body, "2");
}

async fn store_failure_can_continue_with_a_fresh_session_with(at_once: bool) {
    // onLoadError "fresh", and the events of each request.
    let fresh_config = Config::builder()
        .secret("tower secret tower secret tower secret")
        .max_age(Some(60_000.0))
        .on_load_error(libsession_engine::OnLoadError::Fresh)
        .build()
        .unwrap();
    let events = Arc::new(Mutex::new(Vec::<libsession_engine::Event>::new()));
    let sink = events.clone();
    let h = harness(at_once, Arc::new(fresh_config), |l| l.on_event(move |e| sink.lock().unwrap().push(*e)));
    let cookie = send(&h.app, "/", &[]).await.cookie_pair();
    send(&h.app, "/", &[("cookie", &cookie)]).await;
    assert_eq!(*events.lock().unwrap(), [libsession_engine::Event::NoCookie]);
    h.store.down.store(true, Ordering::SeqCst);
    let reply = send(&h.app, "/", &[("cookie", &cookie)]).await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.body, "1", "a fresh session");
    let fresh = reply.cookie_pair();
    assert_ne!(sid_of(&fresh), sid_of(&cookie));
    // The load failure is an event; the save failed too (the store is still
    // down), reported after the response.
    let load_failed = libsession_engine::Event::StoreError { operation: libsession_engine::StoreOperation::Load };
    let save_failed = libsession_engine::Event::StoreError { operation: libsession_engine::StoreOperation::Save };
    assert_eq!(events.lock().unwrap()[1..], [load_failed, save_failed]);
    assert_eq!(*h.errors.lock().unwrap(), ["store is down"]);

    // A corrupt record is a load failure as well: the visitor starts over.
    h.store.down.store(false, Ordering::SeqCst);
    h.store.inner.set(&sid_of(&cookie), "{not json", None, 0).unwrap();
    let reply = send(&h.app, "/", &[("cookie", &cookie)]).await;
    assert_eq!(reply.body, "1");
    let new = sid_of(&reply.cookie_pair());
    assert_ne!(new, sid_of(&cookie));
    assert_eq!(h.store.inner.get(&sid_of(&cookie), 0).as_deref(), Some("{not json"), "left alone");
    assert_eq!(events.lock().unwrap().last(), Some(&libsession_engine::Event::RecordCorrupt));
    assert_eq!(h.errors.lock().unwrap().len(), 1);
}

async fn concurrent_increments(at_once: bool, lock_sessions: bool, n: usize) -> (u64, usize) {
    let h = harness(at_once, config(), |l| l.lock_sessions(lock_sessions));
    let cookie = send(&h.app, "/slow", &[]).await.cookie_pair();
    let mut tasks = Vec::new();
    for _ in 0..n {
        let app = h.app.clone();
        let cookie = cookie.clone();
        tasks.push(tokio::spawn(async move { send(&app, "/slow", &[("cookie", &cookie)]).await.body }));
    }
    let mut bodies = Vec::new();
    for t in tasks {
        bodies.push(t.await.unwrap().parse::<u64>().unwrap());
    }
    bodies.sort_unstable();
    bodies.dedup();
    let record = h.store.inner.get(&sid_of(&cookie), 0).unwrap();
    let views = record.rsplit_once("\"views\":").unwrap().1.trim_end_matches('}').parse().unwrap();
    (views, bodies.len())
}

async fn concurrent_requests_of_one_session_are_all_counted_with(at_once: bool) {
    const N: usize = 40;
    let (views, distinct) = concurrent_increments(at_once, true, N).await;
    assert_eq!(views, N as u64 + 1);
    assert_eq!(distinct, N, "each request saw its predecessor's count");
    // Without the lock, the same requests lose updates (the test can fail).
    let (views, _) = concurrent_increments(at_once, false, N).await;
    assert!(views < N as u64 + 1, "unlocked: {views}");
}

async fn request_facts_reach_the_engine_with(at_once: bool) {
    let secure = Arc::new(
        Config::builder()
            .secret("tower secret tower secret tower secret")
            .secure(Secure::Auto)
            .proxy(Some(true))
            .cookie_path("/app")
            .build()
            .unwrap(),
    );
    let h = harness(at_once, secure.clone(), |l| l);
    // Out of the cookie path's scope: no session.
    let reply = send(&h.app, "/elsewhere", &[]).await;
    assert_eq!(reply.body, "false");
    assert!(reply.cookies().is_empty());

    let app = |layer: SessionLayer| {
        Router::new().route("/app/", get(count)).layer(layer.id_source(|| Box::new(IdQueue::new(["fixed-id"]))))
    };
    let plain = app(SessionLayer::new(secure.clone(), MemoryStore::new()));
    let reply = send(&plain, "/app/?q=1", &[]).await;
    assert_eq!(reply.cookies(), [format!("connect.sid=s%3Afixed-id.{}; Path=/app; HttpOnly; SameSite=Lax", sig())]);
    // A fresh store: "fixed-id" is taken in `plain`'s (a new session is
    // stored insert-if-absent, and this ID source has no other ID).
    let plain = app(SessionLayer::new(secure.clone(), MemoryStore::new()));
    let reply = send(&plain, "/app/", &[("x-forwarded-proto", "https")]).await;
    assert!(reply.cookies()[0].ends_with("; Path=/app; HttpOnly; Secure; SameSite=Lax"), "{:?}", reply.cookies());
    let tls = app(SessionLayer::new(secure, MemoryStore::new()).tls(true));
    let reply = send(&tls, "/app/", &[]).await;
    assert!(reply.cookies()[0].ends_with("; Secure; SameSite=Lax"), "{:?}", reply.cookies());
}

/// cookie-signature's `sign("fixed-id", "tower secret tower secret tower secret")`, computed
/// by the engine through a second request (so the test does not restate HMAC).
fn sig() -> String {
    let config = Arc::new(Config::builder().secret("tower secret tower secret tower secret").build().unwrap());
    let mut req = libsession_engine::Request::new(config, UnixMillis(NOW), IdQueue::new(["fixed-id"]));
    let store = MemoryStore::new();
    loop {
        match store.poll(&mut req, NOW as i64).unwrap() {
            libsession_engine::Action::Ready => {
                req.increment("n").unwrap();
                req.finish().unwrap();
            }
            libsession_engine::Action::SetCookie { value } => {
                return value.split(';').next().unwrap().rsplit_once('.').unwrap().1.to_string();
            }
            other => panic!("{other:?}"),
        }
    }
}

#[tokio::test]
async fn stale_handles_are_refused() {
    let kept: Arc<Mutex<Option<Session>>> = Arc::default();
    let slot = kept.clone();
    let app = Router::new()
        .route(
            "/",
            get(move |Extension(s): Extension<Session>| {
                let slot = slot.clone();
                async move {
                    *slot.lock().unwrap() = Some(s);
                    "kept"
                }
            }),
        )
        .layer(SessionLayer::new(config(), MemoryStore::new()));
    assert_eq!(send(&app, "/", &[]).await.body, "kept");
    let s = kept.lock().unwrap().take().unwrap();
    assert!(matches!(s.insert("a", &1), Err(SessionError::Finished)));
    assert!(matches!(s.save().await, Err(SessionError::Finished)));
    assert_eq!(s.id(), None);
}

/// A store that says it answers at once but does not always: reads or
/// writes yield first.
struct Pretender {
    inner: MemoryStore,
    slow_gets: bool,
    slow_sets: bool,
    gets: AtomicUsize,
}

impl AsyncStore for Pretender {
    fn get<'a>(&'a self, id: &'a str, now: i64) -> StoreFuture<'a, Option<Vec<u8>>> {
        StoreFuture::boxed(async move {
            self.gets.fetch_add(1, Ordering::SeqCst);
            if self.slow_gets {
                tokio::task::yield_now().await;
            }
            AsyncStore::get(&self.inner, id, now).await
        })
    }
    fn set<'a>(&'a self, id: &'a str, record: &'a str, expires_at: Option<i64>, now: i64) -> StoreFuture<'a, ()> {
        StoreFuture::boxed(async move {
            if self.slow_sets {
                tokio::task::yield_now().await;
            }
            AsyncStore::set(&self.inner, id, record, expires_at, now).await
        })
    }
    fn touch<'a>(&'a self, id: &'a str, record: &'a str, expires_at: Option<i64>, now: i64) -> StoreFuture<'a, ()> {
        AsyncStore::touch(&self.inner, id, record, expires_at, now)
    }
    fn destroy<'a>(&'a self, id: &'a str, now: i64) -> StoreFuture<'a, ()> {
        AsyncStore::destroy(&self.inner, id, now)
    }
    fn answers_at_once(&self) -> bool {
        true
    }
}

#[tokio::test]
async fn a_store_that_does_not_answer_at_once_as_it_said() {
    let errors = Arc::new(Mutex::new(Vec::new()));
    let app = |slow_gets, slow_sets| {
        let store = Arc::new(Pretender { inner: MemoryStore::new(), slow_gets, slow_sets, gets: AtomicUsize::new(0) });
        let sink = errors.clone();
        let layer = SessionLayer::with_shared_store(config(), store.clone())
            .on_error(move |m| sink.lock().unwrap().push(m.to_string()));
        (Router::new().route("/", get(count)).layer(layer), store)
    };
    // A load that waits: it is done again, the general way, and counts.
    let (slow_loads, store) = app(true, false);
    let first = send(&slow_loads, "/", &[]).await;
    let cookie = first.cookie_pair();
    let second = send(&slow_loads, "/", &[("cookie", &cookie)]).await;
    assert_eq!((second.status, second.body.as_str()), (StatusCode::OK, "2"));
    assert_eq!(store.gets.load(Ordering::SeqCst), 2, "the first try's load, and the one that counted");
    assert!(errors.lock().unwrap().is_empty());
    // An end-of-request save that waits: the response is sent, without the
    // cookie, and the unsaved session is reported.
    let (slow_saves, store) = app(false, true);
    let reply = send(&slow_saves, "/", &[]).await;
    assert_eq!((reply.status, reply.body.as_str()), (StatusCode::OK, "1"));
    assert!(reply.cookies().is_empty());
    assert!(store.inner.is_empty());
    assert_eq!(*errors.lock().unwrap(), ["session not saved: the store did not answer at once"]);
}

/// A store whose next `stall_gets` reads, `stall_sets` writes and
/// `stall_destroys` deletions never answer (a store that hangs), and which
/// answers at once otherwise.
#[derive(Default)]
struct Stalling {
    inner: MemoryStore,
    stall_gets: AtomicUsize,
    stall_sets: AtomicUsize,
    stall_destroys: AtomicUsize,
}

/// Takes one stall from `count`, if any is left.
fn stall(count: &AtomicUsize) -> bool {
    count.fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1)).is_ok()
}

impl AsyncStore for Stalling {
    fn get<'a>(&'a self, id: &'a str, now: i64) -> StoreFuture<'a, Option<Vec<u8>>> {
        StoreFuture::boxed(async move {
            if stall(&self.stall_gets) {
                std::future::pending::<()>().await;
            }
            AsyncStore::get(&self.inner, id, now).await
        })
    }
    fn set<'a>(&'a self, id: &'a str, record: &'a str, expires_at: Option<i64>, now: i64) -> StoreFuture<'a, ()> {
        StoreFuture::boxed(async move {
            if stall(&self.stall_sets) {
                std::future::pending::<()>().await;
            }
            AsyncStore::set(&self.inner, id, record, expires_at, now).await
        })
    }
    fn touch<'a>(&'a self, id: &'a str, record: &'a str, expires_at: Option<i64>, now: i64) -> StoreFuture<'a, ()> {
        AsyncStore::touch(&self.inner, id, record, expires_at, now)
    }
    fn destroy<'a>(&'a self, id: &'a str, now: i64) -> StoreFuture<'a, ()> {
        StoreFuture::boxed(async move {
            if stall(&self.stall_destroys) {
                std::future::pending::<()>().await;
            }
            AsyncStore::destroy(&self.inner, id, now).await
        })
    }
}

/// Runs one store operation under a short timeout (the store stalls, so it
/// is dropped mid-way), then changes the session: what each step returned.
async fn timed_out_then_changed(store: &Stalling, session: &Session, op: &str, key: &str) -> String {
    let limit = Duration::from_millis(20);
    let timed_out = match op {
        "save" => {
            store.stall_sets.store(1, Ordering::SeqCst);
            tokio::time::timeout(limit, session.save()).await.is_err()
        }
        "reload" => {
            store.stall_gets.store(1, Ordering::SeqCst);
            tokio::time::timeout(limit, session.reload()).await.is_err()
        }
        "destroy" => {
            store.stall_destroys.store(1, Ordering::SeqCst);
            tokio::time::timeout(limit, session.destroy()).await.is_err()
        }
        _ => {
            store.stall_destroys.store(1, Ordering::SeqCst);
            tokio::time::timeout(limit, session.regenerate()).await.is_err()
        }
    };
    let changed = session.insert(key, &1).map_err(|e| e.to_string());
    format!("timed out {timed_out}, insert {changed:?}")
}

/// A handler that drops a save, reload, destroy or regenerate whose store
/// hangs leaves neither the session busy nor its end-of-request save lost.
#[tokio::test]
async fn a_dropped_store_operation_leaves_the_session_usable() {
    let store = Arc::new(Stalling::default());
    let errors = Arc::new(Mutex::new(Vec::new()));
    let sink = errors.clone();
    let layer = SessionLayer::with_shared_store(config(), store.clone())
        .on_error(move |m| sink.lock().unwrap().push(m.to_string()));
    let app = Router::new()
        .route("/", get(count))
        .route(
            "/op/{op}",
            get({
                let store = store.clone();
                move |Extension(s): Extension<Session>, axum::extract::Path(op): axum::extract::Path<String>| async move {
                    timed_out_then_changed(&store, &s, &op, &format!("after_{op}")).await
                }
            }),
        )
        .route("/data", get(|Extension(s): Extension<Session>| async move { s.data().unwrap().to_string() }))
        .layer(layer);
    let cookie = send(&app, "/", &[]).await.cookie_pair();
    let sid = sid_of(&cookie);
    let ok = "timed out true, insert Ok(())";

    // save: the dropped save failed; the change after it is saved at the end.
    let reply = send(&app, "/op/save", &[("cookie", &cookie)]).await;
    assert_eq!((reply.status, reply.body.as_str()), (StatusCode::OK, ok));
    assert_eq!(sid_of(&reply.cookie_pair()), sid);
    let record = store.inner.get(&sid, 0).unwrap();
    assert!(record.ends_with(r#""views":1,"after_save":1}"#), "{record}");

    // reload: the data is kept, and the change is saved.
    let reply = send(&app, "/op/reload", &[("cookie", &cookie)]).await;
    assert_eq!((reply.status, reply.body.as_str()), (StatusCode::OK, ok));
    assert_eq!(sid_of(&reply.cookie_pair()), sid);
    let data = send(&app, "/data", &[("cookie", &cookie)]).await.body;
    assert_eq!(data, r#"{"after_reload":1,"after_save":1,"views":1}"#);

    // regenerate: express-session generates the new session even when the
    // old one's destroy fails; the change lands in the new one.
    let reply = send(&app, "/op/regenerate", &[("cookie", &cookie)]).await;
    assert_eq!((reply.status, reply.body.as_str()), (StatusCode::OK, ok));
    let regenerated = reply.cookie_pair();
    assert_ne!(sid_of(&regenerated), sid);
    let data = send(&app, "/data", &[("cookie", &regenerated)]).await.body;
    assert_eq!(data, r#"{"after_regenerate":1}"#);

    // destroy: the session is gone from the request either way (so the
    // change is refused), and the old cookie's session is still served.
    let reply = send(&app, "/op/destroy", &[("cookie", &cookie)]).await;
    assert_eq!(reply.status, StatusCode::OK);
    assert!(reply.body.starts_with("timed out true, insert Err("), "{}", reply.body);
    // The handler logged out: the cookie is removed even though the store's
    // destroy did not complete (failing closed on the client's side).
    assert_eq!(reply.cookies().len(), 1);
    assert!(reply.cookies()[0].starts_with("connect.sid=; Path=/; Expires=Thu, 01 Jan 1970"), "{:?}", reply.cookies());
    assert_eq!(send(&app, "/", &[("cookie", &cookie)]).await.body, "2");

    assert_eq!(*errors.lock().unwrap(), [CANCELLED; 4]);
}

/// `versioned: true`: a request whose end-of-request save loses the race
/// (another request saved the session while its handler ran) gets an empty
/// 409 without Set-Cookie, in both `onConflict` modes, and the other
/// request's save stands.
#[tokio::test]
async fn a_versioned_save_that_loses_the_race_answers_409() {
    for on_conflict in [libsession_engine::OnConflict::Fail, libsession_engine::OnConflict::ReloadAndReport] {
        let store = Arc::new(MemoryStore::new());
        let config = Arc::new(
            Config::builder()
                .secret("tower secret tower secret tower secret")
                .max_age(Some(60_000.0))
                .versioned(true)
                .on_conflict(on_conflict)
                .build()
                .unwrap(),
        );
        let behind = store.clone();
        let app = Router::new()
            .route(
                "/",
                get(|Extension(s): Extension<Session>| async move { format!("{}", s.increment("views").unwrap()) }),
            )
            .route(
                "/race",
                get(move |Extension(s): Extension<Session>| {
                    let store = behind.clone();
                    async move {
                        s.increment("views").unwrap();
                        // Another host saves the session meanwhile (version 2).
                        let id = s.id().unwrap();
                        let text = MemoryStore::get(&store, &id, NOW as i64).unwrap();
                        let other = text.replace(r#""libsessionVersion":1"#, r#""libsessionVersion":2,"other":true"#);
                        MemoryStore::set(&store, &id, &other, Some(NOW as i64 + 60_000), NOW as i64).unwrap();
                        "raced"
                    }
                }),
            )
            .layer(
                SessionLayer::with_shared_store(config, store.clone()).clock(|| UnixMillis(NOW)).lock_sessions(false),
            );
        let first = send(&app, "/", &[]).await;
        assert_eq!(first.status, StatusCode::OK);
        let cookie = first.cookie_pair();
        let raced = send(&app, "/race", &[("cookie", &cookie)]).await;
        assert_eq!(raced.status, StatusCode::CONFLICT, "{on_conflict:?}");
        assert!(raced.cookies().is_empty() && raced.body.is_empty());
        let text = MemoryStore::get(&store, &sid_of(&cookie), NOW as i64).unwrap();
        assert!(text.contains(r#""views":1"#) && text.contains(r#""other":true"#), "{text}");
        // The client retries: now it saves.
        let again = send(&app, "/", &[("cookie", &cookie)]).await;
        assert_eq!((again.status, again.body.as_str()), (StatusCode::OK, "2"));
    }
}

/// The layer reaps a MemoryStore with a `reapInterval` on its own clock, sans
/// timer: the first request after a reap falls due removes the expired
/// records, before its own load.
#[tokio::test]
async fn a_request_runs_the_memory_store_reap_when_due() {
    let store = Arc::new(MemoryStore::with_options(libsession_engine::MemoryStoreOptions {
        reap_interval: Some(100),
        ..libsession_engine::MemoryStoreOptions::default()
    }));
    let clock = Arc::new(AtomicU64::new(NOW));
    let time = clock.clone();
    let layer =
        SessionLayer::with_shared_store(config(), store.clone()).clock(move || UnixMillis(time.load(Ordering::SeqCst)));
    let app = app(layer, Arc::new(AtomicUsize::new(0)));
    let first = send(&app, "/", &[]).await;
    let old = sid_of(&first.cookie_pair());
    assert_eq!(store.next_reap_at(NOW as i64), Some(NOW as i64 + 100), "the first request started the schedule");
    // The cookie's maxAge is 60 s: the record expires at NOW + 60000.
    clock.store(NOW + 60_000, Ordering::SeqCst);
    assert_eq!(store.len(), 1, "nothing reaps without a request");
    let second = send(&app, "/", &[]).await;
    let new = sid_of(&second.cookie_pair());
    let held: Vec<String> = store.snapshot().into_iter().map(|(k, _)| k).collect();
    assert_eq!(held, [new], "the expired {old} was reaped by the request at its expiry");
    assert_eq!(store.next_reap_at(NOW as i64 + 60_000), Some(NOW as i64 + 60_100));
    // Before the next reap is due, an expired record stays (unserved).
    clock.store(NOW + 60_050, Ordering::SeqCst);
    MemoryStore::set(&store, "x", "{}", Some(NOW as i64 + 60_040), NOW as i64 + 60_000).unwrap();
    send(&app, "/", &[]).await;
    assert_eq!(store.len(), 3);
    clock.store(NOW + 60_100, Ordering::SeqCst);
    send(&app, "/", &[("cookie", &second.cookie_pair())]).await;
    assert_eq!(store.len(), 2, "x went at the reap due at +60100");
}

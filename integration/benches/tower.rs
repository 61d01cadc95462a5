//! Per-request overhead of the tower layer for scenario (b) of the core
//! benchmark — a returning visitor with a valid signed cookie increments a
//! counter (load, verify, modify, save, Set-Cookie) — next to tower-sessions
//! 0.15 with its MemoryStore, on the same axum router, in the same run
//! (`cargo bench -p libsession-integration --bench tower`).
//!
//! Each request goes through the router in process (no sockets) on a
//! current-thread tokio runtime. The overhead of a session layer is its
//! router's time per request minus that of the same router without sessions.
//! Goal: ours at most half of tower-sessions' overhead.
//!
//! The same run also times the engine alone on scenario (b) (the sans-IO
//! request driven synchronously against the same kind of `MemoryStore`,
//! no tower, no async): what is left of the layer's overhead once that is
//! taken away is the async plumbing.
//!
//! Note the work differs: libsession verifies the cookie's HMAC-SHA256
//! signature and signs the new one (express-session's format) and keeps
//! records as JSON text (what connect-redis and express-session store);
//! tower-sessions' default cookie is unsigned and its MemoryStore keeps
//! records as Rust values (no serialization). A second tower-sessions row
//! signs its cookies (HMAC-SHA256 too), for the comparison with the signing
//! work alike.

#![allow(clippy::disallowed_methods)] // a benchmark reads the clock

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::http::{Request, Response, header};
use axum::routing::get;
use axum::{Extension, Router};
use http_body_util::BodyExt;
use libsession_engine::Config;
use libsession_engine::tower_layer::{Session, SessionLayer};
use tower::{Service, ServiceExt};

async fn ours(Extension(session): Extension<Session>) -> String {
    let views = session.get::<u64>("views").ok().flatten().unwrap_or(0) + 1;
    session.insert("views", &views).expect("a session");
    views.to_string()
}

async fn theirs(session: tower_sessions::Session) -> String {
    let views = session.get::<u64>("views").await.ok().flatten().unwrap_or(0) + 1;
    session.insert("views", views).await.expect("a session");
    views.to_string()
}

async fn plain() -> String {
    "1".to_string()
}

/// A layer that does nothing but what any boxing tower layer does (clone
/// the inner service, box the future): the floor of a layer's plumbing.
#[derive(Clone)]
struct Passthrough<S>(S);

impl<S, B> Service<Request<B>> for Passthrough<S>
where
    S: Service<Request<B>> + Clone + Send + 'static,
    S::Future: Send + 'static,
    B: Send + 'static,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = std::pin::Pin<Box<dyn std::future::Future<Output = Result<S::Response, S::Error>> + Send>>;

    fn poll_ready(&mut self, cx: &mut std::task::Context<'_>) -> std::task::Poll<Result<(), S::Error>> {
        self.0.poll_ready(cx)
    }

    fn call(&mut self, req: Request<B>) -> Self::Future {
        let clone = self.0.clone();
        let mut inner = std::mem::replace(&mut self.0, clone);
        Box::pin(async move { inner.call(req).await })
    }
}

#[derive(Clone)]
struct PassthroughLayer;

impl<S> tower::Layer<S> for PassthroughLayer {
    type Service = Passthrough<S>;

    fn layer(&self, inner: S) -> Passthrough<S> {
        Passthrough(inner)
    }
}

fn routers() -> [(&'static str, Router); 5] {
    let config = Arc::new(
        Config::builder()
            .secret("benchmark secret benchmark secret")
            .max_age(Some(24.0 * 3600.0 * 1000.0))
            .build()
            .unwrap(),
    );
    let libsession =
        Router::new().route("/", get(ours)).layer(SessionLayer::new(config, libsession_engine::MemoryStore::new()));
    let tower_sessions = Router::new().route("/", get(theirs)).layer(
        tower_sessions::SessionManagerLayer::new(tower_sessions::MemoryStore::default())
            .with_secure(false)
            .with_expiry(tower_sessions::Expiry::OnInactivity(tower_sessions::cookie::time::Duration::days(1))),
    );
    // The same, with signed cookies (HMAC-SHA256, as libsession's): the
    // signing work both layers then do alike.
    let key: Vec<u8> = (0..64).collect();
    let key = tower_sessions::cookie::Key::try_from(&key[..]).unwrap();
    let tower_sessions_signed = Router::new().route("/", get(theirs)).layer(
        tower_sessions::SessionManagerLayer::new(tower_sessions::MemoryStore::default())
            .with_secure(false)
            .with_expiry(tower_sessions::Expiry::OnInactivity(tower_sessions::cookie::time::Duration::days(1)))
            .with_signed(key),
    );
    [
        ("a do-nothing layer", Router::new().route("/", get(plain)).layer(PassthroughLayer)),
        ("no sessions", Router::new().route("/", get(plain))),
        ("libsession", libsession),
        ("tower-sessions", tower_sessions),
        ("tower-sessions signed", tower_sessions_signed),
    ]
}

async fn call(router: &mut Router, cookie: Option<&str>) -> (Option<String>, String) {
    let mut req = Request::builder().uri("/");
    if let Some(c) = cookie {
        req = req.header(header::COOKIE, c);
    }
    let response: Response<Body> =
        ServiceExt::<Request<Body>>::ready(router).await.unwrap().call(req.body(Body::empty()).unwrap()).await.unwrap();
    let set_cookie =
        response.headers().get(header::SET_COOKIE).map(|v| v.to_str().unwrap().split(';').next().unwrap().to_string());
    let body = response.into_body().collect().await.unwrap().to_bytes();
    (set_cookie, String::from_utf8(body.to_vec()).unwrap())
}

/// One router under test: a returning visitor's cookie and the count its
/// next request must answer.
struct Contender {
    name: &'static str,
    router: Router,
    cookie: String,
    expected: u64,
    batch: u64,
    best: f64,
    /// Heap allocations per request (a figure that does not depend on the
    /// machine's load).
    allocs: f64,
}

impl Contender {
    async fn new(name: &'static str, mut router: Router) -> Contender {
        let (cookie, body) = call(&mut router, None).await;
        assert_eq!(body, "1", "{name}");
        let cookie = cookie.unwrap_or_default();
        Contender { name, router, cookie, expected: 1, batch: 64, best: f64::INFINITY, allocs: 0.0 }
    }

    /// Times `n` requests, checking that every one set the cookie and that
    /// each counted.
    async fn run(&mut self, n: u64) -> Duration {
        let sessions = !matches!(self.name, "no sessions" | "a do-nothing layer");
        let t = Instant::now();
        let mut last = (None, String::new());
        for _ in 0..n {
            last = call(&mut self.router, Some(&self.cookie)).await;
            if sessions {
                assert!(last.0.is_some(), "{}: a Set-Cookie on every response", self.name);
            }
        }
        let elapsed = t.elapsed();
        self.expected += n;
        if sessions {
            assert_eq!(last.1, self.expected.to_string(), "{}: every request counted", self.name);
        }
        elapsed
    }
}

/// Scenario (b) through the engine alone: a synchronous poll loop against
/// a `MemoryStore`, as `benches/lifecycle.rs` runs it.
struct EngineAlone {
    config: Arc<Config>,
    store: libsession_engine::MemoryStore,
    cookie: String,
    views: f64,
    batch: u64,
    best: f64,
}

impl EngineAlone {
    fn new() -> EngineAlone {
        let config = Arc::new(
            Config::builder()
                .secret("benchmark secret benchmark secret")
                .max_age(Some(24.0 * 3600.0 * 1000.0))
                .build()
                .unwrap(),
        );
        let mut engine = EngineAlone {
            config,
            store: libsession_engine::MemoryStore::new(),
            cookie: String::new(),
            views: 0.0,
            batch: 64,
            best: f64::INFINITY,
        };
        engine.cookie = engine.request(None).expect("a new session's cookie");
        engine
    }

    /// One request; the Set-Cookie's `name=value`.
    fn request(&mut self, cookie: Option<&str>) -> Option<String> {
        let now = libsession_engine::tower_layer::system_clock();
        let mut req = libsession_engine::Request::new(self.config.clone(), now, libsession_engine::OsRngIds);
        if let Some(c) = cookie {
            req.add_cookie_header(c.as_bytes()).unwrap();
        }
        let mut set_cookie = None;
        loop {
            match self.store.poll(&mut req, now.0 as i64).unwrap() {
                libsession_engine::Action::Ready => {
                    self.views = req.increment("views").unwrap();
                    req.finish().unwrap();
                }
                libsession_engine::Action::SetCookie { value } => {
                    set_cookie = value.split(';').next().map(str::to_string);
                }
                libsession_engine::Action::Done => return set_cookie,
                other => panic!("unexpected {other:?}"),
            }
        }
    }

    fn run(&mut self, n: u64) -> Duration {
        let cookie = std::mem::take(&mut self.cookie);
        let before = self.views;
        let t = Instant::now();
        for _ in 0..n {
            assert!(self.request(Some(&cookie)).is_some(), "engine: a Set-Cookie on every response");
        }
        let elapsed = t.elapsed();
        assert_eq!(self.views, before + n as f64, "engine: every request counted");
        self.cookie = cookie;
        elapsed
    }
}

/// ns per request of each router: batches of about 20 ms, every round one
/// batch of each router in turn (so that a slow spell on the machine hits
/// them alike), and each router's fastest batch.
async fn measure(contenders: &mut [Contender], engine: &mut EngineAlone) {
    if let Some(n) = std::env::var("LIBSESSION_BENCH_ITERS").ok().and_then(|v| v.parse::<u64>().ok()) {
        for c in contenders {
            c.run(n).await;
        }
        return;
    }
    while engine.run(engine.batch) < Duration::from_millis(20) {
        engine.batch *= 2;
    }
    for c in contenders.iter_mut() {
        // Nothing else runs on this single-threaded runtime meanwhile.
        let counter = counting::Counter::start();
        c.run(100).await;
        let allocs = counter.stop();
        c.allocs = allocs as f64 / 100.0;
        while c.run(c.batch).await < Duration::from_millis(20) {
            c.batch *= 2;
        }
    }
    for _ in 0..30 {
        for c in contenders.iter_mut() {
            let ns = c.run(c.batch).await.as_nanos() as f64 / c.batch as f64;
            c.best = c.best.min(ns);
        }
        let ns = engine.run(engine.batch).as_nanos() as f64 / engine.batch as f64;
        engine.best = engine.best.min(ns);
    }
}

fn main() {
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    println!("scenario (b): returning visitor increments a counter, axum router in process");
    let only = std::env::var("LIBSESSION_BENCH_ONLY").ok();
    let mut engine = EngineAlone::new();
    let results = rt.block_on(async {
        let mut contenders = Vec::new();
        for (name, router) in routers() {
            if only.as_deref().is_none_or(|o| o == name) {
                contenders.push(Contender::new(name, router).await);
            }
        }
        measure(&mut contenders, &mut engine).await;
        contenders.iter().map(|c| (c.name, c.best, c.allocs)).collect::<Vec<_>>()
    });
    if std::env::var_os("LIBSESSION_BENCH_ITERS").is_some() {
        return; // a profiling run: nothing was timed
    }
    for (name, ns, allocs) in &results {
        println!("  {name:<22} {ns:>8.0} ns/request {allocs:>6.1} allocations/request");
    }
    let results: Vec<f64> = results.iter().map(|(_, ns, _)| *ns).collect();
    let [passthrough, base, ours, theirs, theirs_signed] = results[..] else { return };
    let (ours_overhead, theirs_overhead, signed_overhead) = (ours - base, theirs - base, theirs_signed - base);
    println!(
        "  overhead: libsession {ours_overhead:.0} ns, tower-sessions {theirs_overhead:.0} ns \
         (signed cookies: {signed_overhead:.0} ns)"
    );
    println!(
        "  ratio libsession/tower-sessions: {:.2} (overhead), {:.2} (whole request); goal <= 0.50 (overhead)",
        ours_overhead / theirs_overhead,
        ours / theirs
    );
    println!(
        "  ratio libsession/tower-sessions with signed cookies: {:.2} (overhead), {:.2} (whole request)",
        ours_overhead / signed_overhead,
        ours / theirs_signed
    );
    println!(
        "  engine alone (sync MemoryStore, no tower): {:.0} ns = {:.2} x tower-sessions' overhead; \
         the layer's async plumbing: {:.0} ns, of which {:.0} ns any boxing layer costs (cloning the \
         inner service, boxing the future)",
        engine.best,
        engine.best / theirs_overhead,
        ours_overhead - engine.best,
        passthrough - base
    );
}

#[path = "../../benches/common/counting.rs"]
mod counting;

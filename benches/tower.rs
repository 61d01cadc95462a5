//! Per-request overhead of the tower layer for scenario (b) of the core
//! benchmark — a returning visitor with a valid signed cookie increments a
//! counter (load, verify, modify, save, Set-Cookie) — next to tower-sessions
//! 0.15 with its MemoryStore, on the same axum router, in the same run
//! (`cargo bench --bench tower --features tower`).
//!
//! Each request goes through the router in process (no sockets) on a
//! current-thread tokio runtime. The overhead of a session layer is its
//! router's time per request minus that of the same router without sessions.
//! Goal: ours at most half of tower-sessions' overhead.
//!
//! Note the work differs in one respect: libsession verifies the cookie's
//! HMAC-SHA256 signature and signs the new one (express-session's format);
//! tower-sessions' default cookie is unsigned.

#![allow(clippy::disallowed_methods)] // a benchmark reads the clock

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::http::{Request, Response, header};
use axum::routing::get;
use axum::{Extension, Router};
use http_body_util::BodyExt;
use session::Config;
use session::tower_layer::{Session, SessionLayer};
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

fn routers() -> [(&'static str, Router); 3] {
    let config =
        Arc::new(Config::builder().secret("benchmark secret").max_age(Some(24.0 * 3600.0 * 1000.0)).build().unwrap());
    let libsession = Router::new().route("/", get(ours)).layer(SessionLayer::new(config, session::MemoryStore::new()));
    let tower_sessions = Router::new().route("/", get(theirs)).layer(
        tower_sessions::SessionManagerLayer::new(tower_sessions::MemoryStore::default())
            .with_secure(false)
            .with_expiry(tower_sessions::Expiry::OnInactivity(tower_sessions::cookie::time::Duration::days(1))),
    );
    [
        ("no sessions", Router::new().route("/", get(plain))),
        ("libsession", libsession),
        ("tower-sessions", tower_sessions),
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

/// Median ns per request over timed batches of a returning visitor's
/// requests, checking that every one counted and set the cookie.
fn measure(rt: &tokio::runtime::Runtime, name: &str, mut router: Router) -> f64 {
    rt.block_on(async {
        let (cookie, body) = call(&mut router, None).await;
        assert_eq!(body, "1");
        let cookie = cookie.unwrap_or_default();
        let mut expected = 1u64;
        let batch = |n: u64, router: &mut Router, expected: &mut u64| {
            let cookie = cookie.clone();
            let mut router = router.clone();
            let start = *expected;
            *expected += n;
            async move {
                let t = Instant::now();
                let mut last = (None, String::new());
                for _ in 0..n {
                    last = call(&mut router, Some(&cookie)).await;
                    if name != "no sessions" {
                        assert!(last.0.is_some(), "{name}: a Set-Cookie on every response");
                    }
                }
                let elapsed = t.elapsed();
                if name != "no sessions" {
                    assert_eq!(last.1, (start + n).to_string(), "{name}: every request counted");
                }
                elapsed
            }
        };
        let iters = std::env::var("LIBSESSION_BENCH_ITERS").ok().and_then(|v| v.parse::<u64>().ok());
        if let Some(n) = iters {
            batch(n, &mut router, &mut expected).await;
            return 1.0;
        }
        // Warm up and calibrate a batch of about 50 ms.
        let mut n = 64u64;
        while batch(n, &mut router, &mut expected).await < Duration::from_millis(50) {
            n *= 2;
        }
        let mut samples = Vec::new();
        for _ in 0..9 {
            samples.push(batch(n, &mut router, &mut expected).await.as_nanos() as f64 / n as f64);
        }
        samples.sort_by(f64::total_cmp);
        samples[samples.len() / 2]
    })
}

fn main() {
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    println!("scenario (b): returning visitor increments a counter, axum router in process");
    let mut results = Vec::new();
    let only = std::env::var("LIBSESSION_BENCH_ONLY").ok();
    for (name, router) in routers() {
        if only.as_deref().is_some_and(|o| o != name) {
            continue;
        }
        let ns = measure(&rt, name, router);
        println!("  {name:<15} {ns:>8.0} ns/request");
        results.push(ns);
    }
    let [base, ours, theirs, ..] = results[..] else { return };
    let (ours_overhead, theirs_overhead) = (ours - base, theirs - base);
    println!("  overhead: libsession {ours_overhead:.0} ns, tower-sessions {theirs_overhead:.0} ns");
    println!(
        "  ratio libsession/tower-sessions: {:.2} (overhead), {:.2} (whole request); goal <= 0.50 (overhead)",
        ours_overhead / theirs_overhead,
        ours / theirs
    );
}

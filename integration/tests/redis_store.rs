//! The connect-redis compatible store against a real `redis-server` started
//! by the test: keys, records and TTLs (checked with `TTL key`), touch,
//! destroy, expiry, and faults: a server killed, restarted, frozen.

#![allow(clippy::disallowed_methods)] // a test host: it times the fault cases

#[path = "../../tests/common/redis_server.rs"]
mod redis_server;
#[path = "../../tests/common/tools.rs"]
mod tools;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use axum::routing::get;
use axum::{Extension, Router};
use http_body_util::BodyExt;
use libsession_engine::async_driver::{AsyncStore, drive};
use libsession_engine::redis_store::RedisStore;
use libsession_engine::tower_layer::{Session, SessionLayer};
use libsession_engine::{Action, Config, Request as EngineRequest, SeededIds, UnixMillis};
use redis_server::{RedisServer, Reply};
use tower::ServiceExt;

const NOW: i64 = 1_700_000_000_000;

fn server(test: &str) -> Option<RedisServer> {
    tools::present(test, &["redis-server"]).then(RedisServer::start)
}

#[tokio::test]
async fn save_load_touch_destroy_with_connect_redis_keys_and_ttls() {
    let Some(redis) = server("save_load_touch_destroy_with_connect_redis_keys_and_ttls") else { return };
    let store = RedisStore::open(&redis.url()).unwrap();
    let record = r#"{"cookie":{"originalMaxAge":60000,"expires":"2023-11-14T22:14:20.000Z","httpOnly":true,"path":"/"},"views":1,"name":"Zoë \u2028"}"#;

    // Save with an expiry: SET sess:<id> <record> EX ceil((expires - now) / 1000).
    store.set("abc", record, Some(NOW + 60_000), NOW).await.unwrap();
    assert_eq!(redis.get("sess:abc").as_deref(), Some(record));
    assert_eq!(redis.ttl("sess:abc"), 60);
    store.set("abc", record, Some(NOW + 59_001), NOW).await.unwrap();
    assert_eq!(redis.ttl("sess:abc"), 60, "rounded up");
    assert_eq!(store.get("abc", NOW).await.unwrap().as_deref(), Some(record.as_bytes()));
    assert_eq!(store.get("nope", NOW).await.unwrap(), None);

    // Touch: EXPIRE with the same rule; the value is left alone.
    store.touch("abc", r#"{"cookie":{}}"#, Some(NOW + 3_600_000), NOW).await.unwrap();
    assert_eq!(redis.ttl("sess:abc"), 3600);
    assert_eq!(redis.get("sess:abc").as_deref(), Some(record));

    // No expiry (browser-session cookie): the default TTL, 86400.
    store.set("browser", record, None, NOW).await.unwrap();
    assert_eq!(redis.ttl("sess:browser"), 86_400);

    // A non-positive TTL deletes instead of writing.
    store.set("abc", record, Some(NOW), NOW).await.unwrap();
    assert_eq!(redis.get("sess:abc"), None);
    store.set("abc", record, Some(NOW - 5_000), NOW).await.unwrap();
    assert_eq!(redis.ttl("sess:abc"), -2);

    // Destroy: DEL (absent is fine).
    store.destroy("browser", NOW).await.unwrap();
    assert_eq!(redis.get("sess:browser"), None);
    store.destroy("browser", NOW).await.unwrap();

    // An empty value is no record (connect-redis: `if (!data) return null`).
    assert_eq!(redis.command(&["SET", "sess:empty", ""]), Reply::Simple("OK".into()));
    assert_eq!(store.get("empty", NOW).await.unwrap(), None);

    // Options: prefix, ttl, disableTouch, disableTTL.
    let custom = RedisStore::open(&redis.url()).unwrap().prefix("app:").default_ttl(600).disable_touch(true);
    custom.set("x", "{}", None, NOW).await.unwrap();
    assert_eq!(redis.ttl("app:x"), 600);
    custom.touch("x", "{}", Some(NOW + 10_000), NOW).await.unwrap();
    assert_eq!(redis.ttl("app:x"), 600, "disableTouch");
    let no_ttl = RedisStore::open(&redis.url()).unwrap().prefix("").disable_ttl(true);
    no_ttl.set("y", "{}", Some(NOW + 10_000), NOW).await.unwrap();
    assert_eq!(redis.ttl("y"), -1, "disableTTL: no expiry");
    no_ttl.touch("y", "{}", Some(NOW + 10_000), NOW).await.unwrap();
    assert_eq!(redis.ttl("y"), -1);
    assert_eq!(redis.keys("*"), ["app:x", "sess:empty", "y"]);
}

#[tokio::test]
async fn records_expire_in_redis() {
    let Some(redis) = server("records_expire_in_redis") else { return };
    let store = RedisStore::open(&redis.url()).unwrap();
    store.set("short", "{}", Some(NOW + 1_000), NOW).await.unwrap();
    assert_eq!(redis.ttl("sess:short"), 1);
    assert!(store.get("short", NOW).await.unwrap().is_some());
    tokio::time::sleep(Duration::from_millis(1_200)).await;
    assert_eq!(store.get("short", NOW).await.unwrap(), None);
    // A touch with a TTL already run out deletes the key (Redis EXPIRE <= 0).
    store.set("t", "{}", None, NOW).await.unwrap();
    store.touch("t", "{}", Some(NOW - 1), NOW).await.unwrap();
    assert_eq!(redis.get("sess:t"), None);
}

/// The engine's whole request cycle against Redis, through the async driver.
#[tokio::test]
async fn the_engine_saves_loads_and_touches_through_redis() {
    let Some(redis) = server("the_engine_saves_loads_and_touches_through_redis") else { return };
    let store = RedisStore::open(&redis.url()).unwrap();
    let config = Arc::new(
        Config::builder().secret("redis secret redis secret redis secret").max_age(Some(60_000.0)).build().unwrap(),
    );

    let mut req = EngineRequest::new(config.clone(), UnixMillis(NOW as u64), SeededIds::new(&[9; 32]));
    assert_eq!(drive(&mut req, &store, NOW).await.unwrap(), Action::Ready);
    req.increment("views").unwrap();
    let record = req.session_record().unwrap();
    let sid = req.session_id().unwrap().to_string();
    req.finish().unwrap();
    let cookie = match drive(&mut req, &store, NOW).await.unwrap() {
        Action::SetCookie { value } => value.split(';').next().unwrap().to_string(),
        other => panic!("{other:?}"),
    };
    assert_eq!(drive(&mut req, &store, NOW).await.unwrap(), Action::Done);
    // The value is the engine's record text, byte for byte.
    let key = format!("sess:{sid}");
    assert_eq!(redis.get(&key).unwrap(), record);
    assert!(record.starts_with(r#"{"cookie":{"originalMaxAge":60000,"expires":"2023-11-14T22:14:20.000Z","#));
    assert_eq!(redis.ttl(&key), 60);

    // A later request that changes nothing: the engine touches (EXPIRE).
    redis.command(&["EXPIRE", &key, "5"]);
    let later = NOW + 30_000;
    let mut req = EngineRequest::new(config.clone(), UnixMillis(later as u64), SeededIds::new(&[9; 32]));
    req.add_cookie_header(cookie.as_bytes()).unwrap();
    assert_eq!(drive(&mut req, &store, later).await.unwrap(), Action::Ready);
    assert_eq!(req.get("views"), Some(&libsession_engine::Value::Number(1.0)));
    req.finish().unwrap();
    assert_eq!(drive(&mut req, &store, later).await.unwrap(), Action::Done);
    assert_eq!(redis.ttl(&key), 60, "touched: expires = later + maxAge");
    assert_eq!(redis.get(&key).unwrap(), record, "a touch does not rewrite the record");
}

/// Insert-if-absent against a real Redis (issue 16): a new session's save
/// is `SET NX`; two requests given the same entropy get different IDs, and
/// the first session's record is never overwritten.
#[tokio::test]
async fn new_sessions_are_inserted_if_absent_in_redis() {
    let Some(redis) = server("new_sessions_are_inserted_if_absent_in_redis") else { return };
    let store = RedisStore::open(&redis.url()).unwrap();
    assert!(store.insert("nx", "{\"cookie\":{},\"n\":1}", None, NOW).await.unwrap());
    assert!(!store.insert("nx", "{\"cookie\":{},\"n\":2}", None, NOW).await.unwrap(), "SET NX: the key exists");
    assert_eq!(redis.get("sess:nx").unwrap(), "{\"cookie\":{},\"n\":1}");
    let config = Arc::new(
        Config::builder().secret("redis secret redis secret redis secret").max_age(Some(60_000.0)).build().unwrap(),
    );
    let mut ids = Vec::new();
    for owner in [1.0, 2.0] {
        let mut req = EngineRequest::new(config.clone(), UnixMillis(NOW as u64), SeededIds::new(&[5; 32]));
        assert_eq!(drive(&mut req, &store, NOW).await.unwrap(), Action::Ready);
        req.set("owner", libsession_engine::Value::Number(owner)).unwrap();
        req.finish().unwrap();
        let mut last_cookie = String::new();
        loop {
            match drive(&mut req, &store, NOW).await.unwrap() {
                Action::SetCookie { value } => last_cookie = value.to_string(),
                Action::Done => break,
                other => panic!("{other:?}"),
            }
        }
        let sid = req.session_id().unwrap().to_string();
        assert!(last_cookie.contains(&sid), "{last_cookie}");
        ids.push(sid);
    }
    assert_ne!(ids[0], ids[1], "same entropy, different IDs");
    assert!(redis.get(&format!("sess:{}", ids[0])).unwrap().contains("\"owner\":1"));
    assert!(redis.get(&format!("sess:{}", ids[1])).unwrap().contains("\"owner\":2"));
}

async fn count(Extension(session): Extension<Session>) -> String {
    let views = session.get::<u64>("views").unwrap().unwrap_or(0) + 1;
    session.insert("views", &views).unwrap();
    views.to_string()
}

async fn send(app: &Router, cookie: Option<&str>) -> (StatusCode, Option<String>, String) {
    let mut req = Request::builder().uri("/");
    if let Some(c) = cookie {
        req = req.header(header::COOKIE, c);
    }
    let response = app.clone().oneshot(req.body(Body::empty()).unwrap()).await.unwrap();
    let status = response.status();
    let set_cookie =
        response.headers().get(header::SET_COOKIE).map(|v| v.to_str().unwrap().split(';').next().unwrap().to_string());
    let body = response.into_body().collect().await.unwrap().to_bytes();
    (status, set_cookie, String::from_utf8(body.to_vec()).unwrap())
}

#[tokio::test]
async fn a_killed_server_is_a_store_failure_and_a_restarted_one_is_used_again() {
    let Some(mut redis) = server("a_killed_server_is_a_store_failure_and_a_restarted_one_is_used_again") else {
        return;
    };
    let config = Arc::new(Config::builder().secret("redis secret redis secret redis secret").build().unwrap());
    let errors = Arc::new(Mutex::new(Vec::<String>::new()));
    let sink = errors.clone();
    let clock = Arc::new(AtomicU64::new(NOW as u64));
    let store = Arc::new(RedisStore::open(&redis.url()).unwrap());
    let app = Router::new().route("/", get(count)).layer(
        SessionLayer::with_shared_store(config, store.clone())
            .clock(move || UnixMillis(clock.fetch_add(1, Ordering::SeqCst)))
            .on_error(move |m| sink.lock().unwrap().push(m.to_string())),
    );

    let (status, cookie, body) = send(&app, None).await;
    assert_eq!((status, body.as_str()), (StatusCode::OK, "1"));
    let cookie = cookie.unwrap();
    assert_eq!(send(&app, Some(&cookie)).await.2, "2");
    assert_eq!(redis.keys("sess:*").len(), 1);
    assert_eq!(redis.ttl(&redis.keys("sess:*")[0]), 86_400);

    // Killed while the store holds a connection: the load fails, the layer
    // answers 500 with the store's message reported; nothing panics.
    redis.kill();
    let (status, set_cookie, _) = send(&app, Some(&cookie)).await;
    assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(set_cookie, None);
    // Again, now that the store has to reconnect: refused.
    let (status, _, _) = send(&app, Some(&cookie)).await;
    assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
    // A new visitor is served; only the save after the response fails.
    let (status, set_cookie, body) = send(&app, None).await;
    assert_eq!((status, body.as_str()), (StatusCode::OK, "1"));
    assert!(set_cookie.is_some());
    {
        let errors = errors.lock().unwrap();
        assert_eq!(errors.len(), 3, "{errors:?}");
        for e in errors.iter() {
            assert!(!e.is_empty());
        }
        eprintln!("store failures reported: {errors:?}");
    }
    let direct = store.get("anything", NOW).await.unwrap_err();
    assert!(!direct.message().is_empty());

    // Restarted (empty): the next request reconnects and works.
    redis.restart();
    let (status, set_cookie, body) = send(&app, Some(&cookie)).await;
    assert_eq!((status, body.as_str()), (StatusCode::OK, "1"), "the old record is gone with the old server");
    let cookie = set_cookie.unwrap();
    assert_eq!(send(&app, Some(&cookie)).await.2, "2");
    assert_eq!(redis.keys("sess:*").len(), 1);
    assert_eq!(errors.lock().unwrap().len(), 3, "no new failures");
    store.ping().await.unwrap();
}

/// The app of the fault tests: the counter on `store`, failures collected.
fn counter_app(store: Arc<RedisStore>) -> (Router, Arc<Mutex<Vec<String>>>) {
    let config = Arc::new(Config::builder().secret("redis secret redis secret redis secret").build().unwrap());
    let errors = Arc::new(Mutex::new(Vec::<String>::new()));
    let sink = errors.clone();
    let clock = Arc::new(AtomicU64::new(NOW as u64));
    let app = Router::new().route("/", get(count)).layer(
        SessionLayer::with_shared_store(config, store)
            .clock(move || UnixMillis(clock.fetch_add(1, Ordering::SeqCst)))
            .on_error(move |m| sink.lock().unwrap().push(m.to_string())),
    );
    (app, errors)
}

#[tokio::test]
async fn a_restart_while_idle_costs_no_request() {
    let Some(mut redis) = server("a_restart_while_idle_costs_no_request") else { return };
    let store = Arc::new(RedisStore::open(&redis.url()).unwrap());
    let (app, errors) = counter_app(store.clone());
    let (_, cookie, body) = send(&app, None).await;
    assert_eq!(body, "1");
    let cookie = cookie.unwrap();
    assert_eq!(send(&app, Some(&cookie)).await.2, "2");

    // The store holds a connection the restart breaks; the first request
    // after it reconnects and retries instead of failing.
    for round in 3..6 {
        redis.restart_keeping_data();
        let (status, _, body) = send(&app, Some(&cookie)).await;
        assert_eq!((status, body), (StatusCode::OK, round.to_string()), "round {round}");
    }
    // A new visitor's save after a restart is stored, not lost after the response.
    redis.restart_keeping_data();
    let (status, new_cookie, body) = send(&app, None).await;
    assert_eq!((status, body.as_str()), (StatusCode::OK, "1"));
    assert_eq!(send(&app, Some(&new_cookie.unwrap())).await.2, "2");
    assert!(errors.lock().unwrap().is_empty(), "no failure reported: {:?}", errors.lock().unwrap());
    assert_eq!(redis.keys("sess:*").len(), 2);
}

/// The counter, killing the server between the load and the end-of-request save.
async fn count_then_kill(Extension(session): Extension<Session>, Extension(redis): Extension<SharedServer>) -> String {
    let views = session.get::<u64>("views").unwrap().unwrap_or(0) + 1;
    session.insert("views", &views).unwrap();
    redis.0.lock().unwrap().kill();
    views.to_string()
}

#[derive(Clone)]
struct SharedServer(Arc<Mutex<RedisServer>>);

#[tokio::test]
async fn a_server_killed_mid_request_is_a_reported_save_failure() {
    let Some(redis) = server("a_server_killed_mid_request_is_a_reported_save_failure") else { return };
    let store = Arc::new(RedisStore::open(&redis.url()).unwrap().connection_timeout(Duration::from_millis(500)));
    let redis = SharedServer(Arc::new(Mutex::new(redis)));
    let config = Arc::new(Config::builder().secret("redis secret redis secret redis secret").build().unwrap());
    let errors = Arc::new(Mutex::new(Vec::<String>::new()));
    let sink = errors.clone();
    let app = Router::new()
        .route("/", get(count))
        .route("/kill", get(count_then_kill))
        .layer(Extension(redis.clone()))
        .layer(
            SessionLayer::with_shared_store(config, store).on_error(move |m| sink.lock().unwrap().push(m.to_string())),
        );
    let (_, cookie, _) = send(&app, None).await;
    let cookie = cookie.unwrap();
    let started = std::time::Instant::now();
    let req = Request::builder().uri("/kill").header(header::COOKIE, &cookie).body(Body::empty()).unwrap();
    let response = app.clone().oneshot(req).await.unwrap();
    assert_eq!(response.status(), StatusCode::OK, "the handler ran; the save fails after the response");
    let _ = response.into_body().collect().await.unwrap();
    assert!(started.elapsed() < Duration::from_secs(3), "no hang: {:?}", started.elapsed());
    let errors = errors.lock().unwrap().clone();
    assert_eq!(errors.len(), 1, "the failed save is reported: {errors:?}");
    // The server is gone: a load fails (500), within the connect timeout.
    let started = std::time::Instant::now();
    assert_eq!(send(&app, Some(&cookie)).await.0, StatusCode::INTERNAL_SERVER_ERROR);
    assert!(started.elapsed() < Duration::from_secs(3), "no hang: {:?}", started.elapsed());
}

#[tokio::test]
async fn a_frozen_server_fails_the_request_within_the_timeout() {
    let Some(redis) = server("a_frozen_server_fails_the_request_within_the_timeout") else { return };
    let timeout = Duration::from_millis(400);
    let store = Arc::new(RedisStore::open(&redis.url()).unwrap().response_timeout(timeout).connection_timeout(timeout));
    let (app, errors) = counter_app(store);
    let (_, cookie, _) = send(&app, None).await;
    let cookie = cookie.unwrap();
    assert_eq!(send(&app, Some(&cookie)).await.2, "2");

    redis.pause();
    let started = std::time::Instant::now();
    let (status, set_cookie, _) = send(&app, Some(&cookie)).await;
    let took = started.elapsed();
    redis.resume();
    assert_eq!((status, set_cookie), (StatusCode::INTERNAL_SERVER_ERROR, None));
    assert!(took >= timeout && took < timeout * 3, "failed after {took:?} (timeout {timeout:?}): not retried");
    assert_eq!(errors.lock().unwrap().len(), 1);
    // Thawed: the next request works, and the session is intact.
    let (status, _, body) = send(&app, Some(&cookie)).await;
    assert_eq!((status, body.as_str()), (StatusCode::OK, "3"));
}

/// Issue 14: with the lifecycle options, a Redis key's TTL is the smallest
/// remaining time (cookie, absolute deadline, idle deadline), and a
/// regenerated ID's grace copy lives for the grace window only.
#[tokio::test]
async fn lifecycle_deadlines_set_the_redis_ttl() {
    let Some(redis) = server("lifecycle_deadlines_set_the_redis_ttl") else { return };
    let store = RedisStore::open(&redis.url()).unwrap();
    let config = Arc::new(
        Config::builder()
            .secret("redis secret redis secret redis secret")
            .max_age(Some(60_000.0))
            .absolute_timeout(Some(20_000))
            .idle_timeout(Some(10_000))
            .regenerate_grace(Some(3_000))
            .build()
            .unwrap(),
    );
    // One request at `at` with `cookie`; `login` regenerates keeping the data.
    async fn request(
        config: &Arc<Config>,
        store: &RedisStore,
        at: i64,
        cookie: Option<&str>,
        login: bool,
    ) -> (String, Option<String>) {
        let mut req = EngineRequest::new(config.clone(), UnixMillis(at as u64), SeededIds::new(&[at as u8; 32]));
        if let Some(c) = cookie {
            req.add_cookie_header(c.as_bytes()).unwrap();
        }
        assert_eq!(drive(&mut req, store, at).await.unwrap(), Action::Ready);
        req.increment("views").unwrap();
        if login {
            req.regenerate_with(true).unwrap();
            assert_eq!(drive(&mut req, store, at).await.unwrap(), Action::Completed { error: None });
            assert_eq!(drive(&mut req, store, at).await.unwrap(), Action::Ready);
        }
        let sid = req.session_id().unwrap().to_string();
        req.finish().unwrap();
        let mut set = None;
        loop {
            match drive(&mut req, store, at).await.unwrap() {
                Action::SetCookie { value } => set = Some(value.split(';').next().unwrap().to_string()),
                Action::Done => return (sid, set),
                other => panic!("{other:?}"),
            }
        }
    }
    let (sid, cookie) = request(&config, &store, NOW, None, false).await;
    let cookie = cookie.unwrap();
    let key = format!("sess:{sid}");
    assert_eq!(redis.ttl(&key), 10, "the idle deadline comes first");
    request(&config, &store, NOW + 5_000, Some(&cookie), false).await;
    assert_eq!(redis.ttl(&key), 10, "last seen moved on: idle again");
    request(&config, &store, NOW + 14_000, Some(&cookie), false).await;
    assert_eq!(redis.ttl(&key), 6, "now the absolute deadline comes first");
    let (new, _) = request(&config, &store, NOW + 15_000, Some(&cookie), true).await;
    assert_ne!(new, sid);
    assert_eq!(redis.ttl(&key), 3, "the grace copy lives for the window");
    assert!(redis.get(&key).unwrap().contains(r#""libsessionGraceUntil":1700000018000"#));
    assert_eq!(redis.ttl(&format!("sess:{new}")), 10);
}

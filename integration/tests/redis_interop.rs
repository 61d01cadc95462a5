//! Live interop: a real Node app (express 4 + express-session 1.19.0 +
//! connect-redis 9, `tests/interop/app.js`) and the same routes in Rust
//! (axum + the tower layer + `RedisStore`) share one `redis-server`, one
//! secret, one cookie name and one key prefix. Driven by real HTTP requests:
//!
//! * a session created and modified on Node is read and modified on Rust with
//!   the same cookie, and vice versa;
//! * for the same session state, the records each side writes (`GET
//!   sess:<id>`) are byte-identical, and so are the TTLs and the cookies'
//!   attributes; a read-only request on either side renews the TTL (touch);
//! * Redis's TTL is the authority (`StoreKind::Ttl`): a rolling session
//!   touched by a read-only request (`EXPIRE` only, so the record's stored
//!   `cookie.expires` goes stale) is still loaded, on either side, after that
//!   stored expiry; a record that is JSON `null` is no session (a fresh one,
//!   200), as connect-redis's `get` makes it for express-session.
//!
//! Needs `redis-server`, `node` and `npm ci` in `tests/interop` (run by
//! `scripts/test-redis.sh` and `scripts/test.sh`, which set
//! `LIBSESSION_REQUIRE_ALL=1`: skipped otherwise when one is missing).

#![allow(clippy::disallowed_methods)] // a test host: it reads the clock

#[path = "../../tests/common/redis_server.rs"]
mod redis_server;
#[path = "../../tests/common/tools.rs"]
mod tools;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use axum::http::header::CONTENT_TYPE;
use axum::routing::get;
use axum::{Extension, Router};
use libsession_engine::ConfigBuilder;
use libsession_engine::redis_store::RedisStore;
use libsession_engine::tower_layer::{Session, SessionLayer};
use redis_server::RedisServer;
use serde::Serialize;
use serde_json::{Value as JsonValue, json};

fn interop_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..").join("tests").join("interop")
}

/// Everything the test needs, or a loud skip (a failure when required).
fn prerequisites() -> bool {
    if !tools::present("redis_interop", &["redis-server", "node"]) {
        return false;
    }
    interop_dir().join("node_modules").join("express-session").is_dir()
        || tools::skip("redis_interop", "tests/interop/node_modules is missing (run `npm ci` in tests/interop)")
}

// ----- the Node app -------------------------------------------------------------

struct NodeApp {
    child: Child,
    port: u16,
}

impl NodeApp {
    fn start(redis: &RedisServer, options: &str) -> NodeApp {
        let mut child = Command::new("node")
            .arg(interop_dir().join("app.js"))
            .env("REDIS_URL", redis.url())
            .env("SESSION_OPTIONS", options)
            .env("PORT", "0")
            .stdout(Stdio::piped())
            .spawn()
            .expect("node starts");
        let mut line = String::new();
        BufReader::new(child.stdout.take().expect("stdout")).read_line(&mut line).expect("the app prints its port");
        let port = line.trim().strip_prefix("listening on ").and_then(|p| p.parse().ok());
        let Some(port) = port else {
            let _ = child.kill();
            panic!("node app did not start: {line:?}");
        };
        NodeApp { child, port }
    }
}

impl Drop for NodeApp {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

// ----- the Rust app (the same routes) -------------------------------------------

#[derive(Serialize)]
struct Nested {
    z: u8,
    a: (bool, Option<()>, JsonValue),
    #[serde(rename = "10")]
    ten: &'static str,
    #[serde(rename = "2")]
    two: &'static str,
}

/// app.js's USER, field for field.
#[derive(Serialize)]
struct User {
    name: &'static str,
    roles: [&'static str; 2],
    level: u32,
    ratio: f64,
    big: f64,
    tiny: f64,
    neg: f64,
    nested: Nested,
}

type Json = ([(axum::http::HeaderName, &'static str); 1], String);

#[allow(non_snake_case)] // shaped like axum's `Json`
fn Json(value: JsonValue) -> Json {
    ([(CONTENT_TYPE, "application/json")], value.to_string())
}

async fn views(Extension(s): Extension<Session>) -> Json {
    let views = s.get::<f64>("views").unwrap().unwrap_or(0.0) + 1.0;
    s.insert("views", &views).unwrap();
    Json(json!({"id": s.id(), "views": views}))
}

async fn put(Extension(s): Extension<Session>) -> Json {
    let user = User {
        name: "Zoë ☃ \u{2028} 😀 \"q\" </script>",
        roles: ["admin", "dev"],
        level: 3,
        ratio: 0.1,
        big: 1e21,
        tiny: 5e-7,
        neg: -2.5,
        nested: Nested { z: 1, a: (true, None, json!({})), ten: "ten", two: "two" },
    };
    s.insert("user", &user).unwrap();
    Json(json!({"id": s.id()}))
}

async fn show(Extension(s): Extension<Session>) -> Json {
    Json(json!({"id": s.id(), "data": s.data()}))
}

struct RustApp {
    port: u16,
    _runtime: tokio::runtime::Runtime,
}

impl RustApp {
    fn start(redis: &RedisServer, options: &str) -> RustApp {
        let options = libsession_engine::Value::from_json(options).expect("options JSON");
        let config = Arc::new(ConfigBuilder::from_express_options(&options).unwrap().build().unwrap());
        let store = RedisStore::open(&redis.url()).unwrap();
        let app = Router::new()
            .route("/views", get(views))
            .route("/put", get(put))
            .route("/show", get(show))
            .layer(SessionLayer::new(config, store));
        let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
        let listener = runtime.block_on(tokio::net::TcpListener::bind("127.0.0.1:0")).unwrap();
        let port = listener.local_addr().unwrap().port();
        runtime.spawn(async move { axum::serve(listener, app).await });
        RustApp { port, _runtime: runtime }
    }
}

// ----- HTTP ---------------------------------------------------------------------

struct Reply {
    set_cookie: Option<String>,
    json: JsonValue,
}

impl Reply {
    /// `connect.sid=...` without attributes.
    fn cookie(&self) -> String {
        self.set_cookie.as_deref().expect("a Set-Cookie").split(';').next().unwrap().to_string()
    }

    fn id(&self) -> String {
        self.json["id"].as_str().expect("an id").to_string()
    }
}

/// One `GET` over a fresh HTTP/1.1 connection.
fn get_path(port: u16, path: &str, cookie: Option<&str>) -> Reply {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).expect("connect");
    stream.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let cookie = cookie.map(|c| format!("Cookie: {c}\r\n")).unwrap_or_default();
    write!(stream, "GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n{cookie}Connection: close\r\n\r\n").unwrap();
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).expect("a response");
    let text = String::from_utf8(raw).expect("UTF-8 response");
    let (head, body) = text.split_once("\r\n\r\n").expect("a head");
    assert!(head.starts_with("HTTP/1.1 200"), "GET {path}: {head}");
    assert!(!head.to_ascii_lowercase().contains("transfer-encoding: chunked"), "{head}");
    let mut set_cookie = None;
    for line in head.lines().skip(1) {
        let (name, value) = line.split_once(':').unwrap();
        if name.eq_ignore_ascii_case("set-cookie") {
            assert!(set_cookie.is_none(), "one Set-Cookie: {head}");
            set_cookie = Some(value.trim().to_string());
        }
    }
    Reply { set_cookie, json: serde_json::from_str(body).unwrap_or_else(|e| panic!("{e}: {body}")) }
}

// ----- comparisons --------------------------------------------------------------

/// The record with its `"expires":"<ISO date>"` value replaced, and the date.
fn split_expires(record: &str) -> (String, Option<String>) {
    match record.find("\"expires\":\"") {
        Some(at) => {
            let start = at + "\"expires\":\"".len();
            let end = start + record[start..].find('"').unwrap();
            (format!("{}<expires>{}", &record[..start], &record[end..]), Some(record[start..end].to_string()))
        }
        None => (record.to_string(), None),
    }
}

/// The record with its `"originalMaxAge":N` value replaced, and `N`.
///
/// express-session's `Cookie` reads `Date.now()` twice when it sets
/// `maxAge` (once for the new `expires`, once more in the `expires` setter
/// to recompute `originalMaxAge`), so when Node's millisecond clock ticks
/// in between, the record says 59999 for a 60000 ms cookie, and every later
/// touch (on either side) carries that on. The engine takes one `now` per
/// step, so its own touches never lose a millisecond.
fn split_original_max_age(record: &str) -> (String, Option<i64>) {
    let key = "\"originalMaxAge\":";
    let Some(at) = record.find(key) else { return (record.to_string(), None) };
    let start = at + key.len();
    let end = start + record[start..].find(|c: char| !c.is_ascii_digit()).unwrap_or(record.len() - start);
    (format!("{}<originalMaxAge>{}", &record[..start], &record[end..]), record[start..end].parse().ok())
}

/// A Set-Cookie with its value and `Expires` masked.
fn cookie_shape(set_cookie: &str) -> String {
    set_cookie
        .split("; ")
        .map(|part| match part.split_once('=') {
            Some(("connect.sid", _)) => "connect.sid=<value>".to_string(),
            Some(("Expires", _)) => "Expires=<date>".to_string(),
            _ => part.to_string(),
        })
        .collect::<Vec<_>>()
        .join("; ")
}

struct Pair<'a> {
    redis: &'a RedisServer,
    with_expiry: bool,
}

impl Pair<'_> {
    fn record(&self, id: &str) -> String {
        self.redis.get(&format!("sess:{id}")).unwrap_or_else(|| panic!("no record sess:{id}"))
    }

    /// The records of two sessions in the same state are the same bytes
    /// (for expiring cookies, up to the expiry instant, which must be an ISO
    /// date), and their TTLs agree.
    fn assert_same_records(&self, node_id: &str, rust_id: &str, step: &str) {
        let (a, b) = (self.record(node_id), self.record(rust_id));
        let (ttl_a, ttl_b) = (self.redis.ttl(&format!("sess:{node_id}")), self.redis.ttl(&format!("sess:{rust_id}")));
        if self.with_expiry {
            let ((ma, ea), (mb, eb)) = (split_expires(&a), split_expires(&b));
            let ((ma, oa), (mb, ob)) = (split_original_max_age(&ma), split_original_max_age(&mb));
            assert_eq!(ma, mb, "{step}: records differ\nnode: {a}\nrust: {b}");
            // Node's clock may have ticked within a touch (a millisecond each time).
            for oma in [oa, ob] {
                assert!(oma.is_some_and(|n| (59_990..=60_000).contains(&n)), "{step}: originalMaxAge in\n{a}\n{b}");
            }
            for e in [ea.unwrap(), eb.unwrap()] {
                assert!(e.len() == 24 && e.ends_with('Z') && e.as_bytes()[10] == b'T', "{step}: expires {e}");
            }
            for ttl in [ttl_a, ttl_b] {
                assert!((58..=60).contains(&ttl), "{step}: TTL {ttl}");
            }
        } else {
            assert_eq!(a, b, "{step}: records differ");
            for ttl in [ttl_a, ttl_b] {
                assert!((86_398..=86_400).contains(&ttl), "{step}: TTL {ttl}");
            }
        }
        eprintln!("{step}: {a}");
    }
}

fn run(options: &str, with_expiry: bool) {
    let redis = RedisServer::start();
    let node = NodeApp::start(&redis, options);
    let rust = RustApp::start(&redis, options);
    let pair = Pair { redis: &redis, with_expiry };

    // Each side creates a session.
    let n = get_path(node.port, "/views", None);
    let r = get_path(rust.port, "/views", None);
    assert_eq!((n.json["views"].as_f64(), r.json["views"].as_f64()), (Some(1.0), Some(1.0)));
    let (node_cookie, rust_cookie) = (n.cookie(), r.cookie());
    let (node_id, rust_id) = (n.id(), r.id());
    assert_ne!(node_id, rust_id);
    assert_eq!(
        cookie_shape(n.set_cookie.as_deref().unwrap()),
        cookie_shape(r.set_cookie.as_deref().unwrap()),
        "Set-Cookie attributes"
    );
    pair.assert_same_records(&node_id, &rust_id, "created");

    // Each side stores the same structured value in its own session.
    assert_eq!(get_path(node.port, "/put", Some(&node_cookie)).id(), node_id);
    assert_eq!(get_path(rust.port, "/put", Some(&rust_cookie)).id(), rust_id);
    pair.assert_same_records(&node_id, &rust_id, "after /put");

    // Crossed: Rust modifies Node's session with Node's cookie, and vice versa.
    let on_rust = get_path(rust.port, "/views", Some(&node_cookie));
    assert_eq!(
        (on_rust.id(), on_rust.json["views"].as_f64()),
        (node_id.clone(), Some(2.0)),
        "Rust read Node's session"
    );
    let on_node = get_path(node.port, "/views", Some(&rust_cookie));
    assert_eq!(
        (on_node.id(), on_node.json["views"].as_f64()),
        (rust_id.clone(), Some(2.0)),
        "Node read Rust's session"
    );
    // A cookie is re-sent exactly when express-session re-sends it (expiring cookies).
    assert_eq!(on_rust.set_cookie.is_some(), with_expiry);
    assert_eq!(on_node.set_cookie.is_some(), with_expiry);
    if with_expiry {
        assert_eq!(on_rust.cookie(), node_cookie, "same ID, same signature");
        assert_eq!(on_node.cookie(), rust_cookie);
    }
    pair.assert_same_records(&node_id, &rust_id, "crossed");

    // And back: each side continues the session the other side modified.
    assert_eq!(get_path(node.port, "/views", Some(&node_cookie)).json["views"].as_f64(), Some(3.0));
    assert_eq!(get_path(rust.port, "/views", Some(&rust_cookie)).json["views"].as_f64(), Some(3.0));
    pair.assert_same_records(&node_id, &rust_id, "back");

    // Both sides read the same data from both sessions.
    let shown: Vec<JsonValue> =
        [(node.port, &node_cookie), (rust.port, &node_cookie), (node.port, &rust_cookie), (rust.port, &rust_cookie)]
            .iter()
            .map(|(port, cookie)| get_path(*port, "/show", Some(cookie)).json["data"].clone())
            .collect();
    assert!(shown.iter().all(|d| *d == shown[0]), "{shown:?}");
    assert_eq!(shown[0]["views"], json!(3));
    assert_eq!(shown[0]["user"]["nested"]["10"], json!("ten"));

    // A read-only request renews the TTL on either side (connect-redis touch = EXPIRE).
    for (port, id, cookie) in [(rust.port, &node_id, &node_cookie), (node.port, &rust_id, &rust_cookie)] {
        let key = format!("sess:{id}");
        let before = redis.get(&key);
        redis.command(&["EXPIRE", &key, "5"]);
        get_path(port, "/show", Some(cookie));
        let ttl = redis.ttl(&key);
        assert!(ttl > 5, "touch renewed the TTL of {key}: {ttl}");
        assert_eq!(redis.get(&key), before, "a touch does not rewrite the record");
    }
    pair.assert_same_records(&node_id, &rust_id, "touched");
    assert_eq!(redis.keys("sess:*").len(), 2);
}

#[test]
fn node_and_rust_share_browser_session_cookies() {
    if !prerequisites() {
        return;
    }
    run(r#"{"secret":"interop secret","resave":false,"saveUninitialized":false}"#, false);
}

#[test]
fn node_and_rust_share_expiring_cookies() {
    if !prerequisites() {
        return;
    }
    run(
        r#"{"secret":["interop secret","old secret"],"resave":false,"saveUninitialized":false,"rolling":false,"cookie":{"maxAge":60000,"sameSite":"lax"}}"#,
        true,
    );
}

// ----- TTL stores: Redis's TTL is the authority (issue 17) ----------------------

/// Milliseconds since the epoch of an ISO date as `Date#toISOString` writes
/// it (`YYYY-MM-DDTHH:MM:SS.mmmZ`).
fn iso_millis(iso: &str) -> i64 {
    assert!(iso.len() == 24 && iso.ends_with('Z'), "an ISO date: {iso}");
    let n = |range: std::ops::Range<usize>| -> i64 { iso[range].parse().unwrap_or_else(|_| panic!("{iso}")) };
    let (y, m, d) = (n(0..4), n(5..7), n(8..10));
    // Days from 1970-01-01 to y-m-d (proleptic Gregorian; Howard Hinnant's days_from_civil).
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + d - 1;
    let days = era * 146_097 + yoe * 365 + yoe / 4 - yoe / 100 + doy - 719_468;
    ((days * 24 + n(11..13)) * 60 + n(14..16)) * 60_000 + n(17..19) * 1000 + n(20..23)
}

fn now_millis() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_millis() as i64
}

fn pttl(redis: &RedisServer, key: &str) -> i64 {
    match redis.command(&["PTTL", key]) {
        redis_server::Reply::Integer(n) => n,
        other => panic!("PTTL {key}: {other:?}"),
    }
}

/// A Set-Cookie's `Expires` attribute.
fn cookie_expires(set_cookie: &str) -> &str {
    set_cookie.split("; ").find_map(|part| part.strip_prefix("Expires=")).expect("an Expires attribute")
}

fn sleep_until(deadline: Instant) {
    std::thread::sleep(deadline.saturating_duration_since(Instant::now()));
}

/// `rolling: true`, `maxAge: 4000`, a session with data: created at t = 0
/// on `create`, read (nothing modified) at 2.5 s on `touch`, so the store
/// is only touched (connect-redis: `EXPIRE`, the record's stored
/// `cookie.expires` stays at t + 4 s while the key lives to t + 6.5 s),
/// then modified at 5 s on `load`, after the stored expiry: the same
/// session, its data intact.
fn rolling_past_the_stored_expiry(
    redis: &RedisServer,
    name: &str,
    create: u16,
    touch: u16,
    load: u16,
    exact_max_age: bool,
) {
    let t0 = Instant::now();

    // t = 0: created with views = 1, SET ... EX 4.
    let created = get_path(create, "/views", None);
    assert_eq!(created.json["views"].as_f64(), Some(1.0), "{name}");
    let (id, cookie) = (created.id(), created.cookie());
    let key = format!("sess:{id}");
    let record = redis.get(&key).expect("a record");
    let (masked, expires) = split_expires(&record);
    let (masked, original_max_age) = split_original_max_age(&masked);
    assert_eq!(
        masked,
        r#"{"cookie":{"originalMaxAge":<originalMaxAge>,"expires":"<expires>","httpOnly":true,"path":"/"},"views":1}"#,
        "{name}"
    );
    let original_max_age = original_max_age.unwrap();
    if exact_max_age {
        assert_eq!(original_max_age, 4000, "{name}: {record}");
    } else {
        // express-session may lose a millisecond (see split_original_max_age).
        assert!((3990..=4000).contains(&original_max_age), "{name}: {record}");
    }
    let stored_expires = iso_millis(&expires.unwrap());
    let ahead = stored_expires - now_millis();
    assert!((3000..=4000).contains(&ahead), "{name}: expires {ahead} ms ahead: {record}");
    let ttl = pttl(redis, &key);
    assert!((3000..=4000).contains(&ttl), "{name}: PTTL {ttl} after creation");

    // t = 2.5 s: a read-only request. The cookie rolls (a new Expires), the
    // store is touched: the TTL is renewed, the record is left as it was.
    sleep_until(t0 + Duration::from_millis(2500));
    let ttl_before = pttl(redis, &key);
    assert!((0..=2600).contains(&ttl_before), "{name}: PTTL {ttl_before} before the touch");
    let touched = get_path(touch, "/show", Some(&cookie));
    assert_eq!((touched.id(), &touched.json["data"]), (id.clone(), &json!({"views": 1})), "{name}");
    assert_eq!(touched.cookie(), cookie, "{name}: rolling re-sends the same cookie");
    assert_ne!(
        cookie_expires(touched.set_cookie.as_deref().unwrap()),
        cookie_expires(created.set_cookie.as_deref().unwrap()),
        "{name}: the cookie rolled"
    );
    assert_eq!(redis.get(&key).as_deref(), Some(record.as_str()), "{name}: a touch does not rewrite the record");
    let ttl_after = pttl(redis, &key);
    assert!(
        (3000..=4000).contains(&ttl_after) && ttl_after > ttl_before + 500,
        "{name}: PTTL {ttl_after} after the touch"
    );

    // t = 5 s: the stored expiry has passed, the key has not.
    sleep_until(t0 + Duration::from_millis(5000));
    assert_eq!(redis.get(&key).as_deref(), Some(record.as_str()), "{name}: still the creation's record");
    let ttl_left = pttl(redis, &key);
    assert!(ttl_left > 0, "{name}: the key lives (PTTL {ttl_left})");
    let sent_at = now_millis();
    assert!(sent_at > stored_expires, "{name}: the stored expiry ({stored_expires}) has passed ({sent_at})");
    let loaded = get_path(load, "/views", Some(&cookie));
    assert_eq!((loaded.id(), loaded.json["views"].as_f64()), (id.clone(), Some(2.0)), "{name}: the same session");
    assert_eq!(loaded.cookie(), cookie, "{name}");

    // Saved (SET ... EX 4) with the new expiry.
    let saved = redis.get(&key).expect("a record");
    let (masked, expires) = split_expires(&saved);
    assert_eq!(
        masked,
        format!(
            r#"{{"cookie":{{"originalMaxAge":{original_max_age},"expires":"<expires>","httpOnly":true,"path":"/"}},"views":2}}"#
        ),
        "{name}"
    );
    assert!(iso_millis(&expires.unwrap()) >= sent_at + 3990, "{name}: {saved}");
    let ttl = pttl(redis, &key);
    assert!((3000..=4000).contains(&ttl), "{name}: PTTL {ttl} after the save");
    assert!(redis.keys("sess:*").contains(&key), "{name}");
}

#[test]
fn rolling_sessions_outlive_their_stored_expiry_in_redis() {
    if !prerequisites() {
        return;
    }
    let options = r#"{"secret":"interop secret","resave":false,"saveUninitialized":false,"rolling":true,"cookie":{"maxAge":4000}}"#;
    let redis = RedisServer::start();
    let node = NodeApp::start(&redis, options);
    let rust = RustApp::start(&redis, options);
    let (n, r) = (node.port, rust.port);
    // Four sessions side by side, one thread each (about 5 s in all).
    std::thread::scope(|s| {
        let redis = &redis;
        let runs = [
            s.spawn(move || rolling_past_the_stored_expiry(redis, "rust, rust, rust", r, r, r, true)),
            s.spawn(move || rolling_past_the_stored_expiry(redis, "node, node, rust", n, n, r, false)),
            s.spawn(move || rolling_past_the_stored_expiry(redis, "rust, rust, node", r, r, n, true)),
            // express-session itself, for reference.
            s.spawn(move || rolling_past_the_stored_expiry(redis, "node, node, node", n, n, n, false)),
        ];
        for run in runs {
            if let Err(panic) = run.join() {
                std::panic::resume_unwind(panic);
            }
        }
    });
    assert_eq!(redis.keys("sess:*").len(), 4);
}

/// A record that is JSON `null` under a validly signed ID: connect-redis's
/// `get` returns `null`, which express-session takes as "no session", so
/// both sides answer 200 with a fresh session and leave the key alone.
#[test]
fn a_null_record_in_redis_is_a_fresh_session() {
    if !prerequisites() {
        return;
    }
    let options = r#"{"secret":"interop secret","resave":false,"saveUninitialized":false}"#;
    let redis = RedisServer::start();
    let node = NodeApp::start(&redis, options);
    let rust = RustApp::start(&redis, options);
    let record = r#"{"cookie":{"originalMaxAge":null,"expires":null,"httpOnly":true,"path":"/"},"views":1}"#;

    // The Rust app makes a session (and its signed cookie); its record becomes `null`.
    let first = get_path(rust.port, "/views", None);
    let (id, cookie) = (first.id(), first.cookie());
    let key = format!("sess:{id}");
    assert_eq!(redis.get(&key).as_deref(), Some(record));
    assert_eq!(redis.command(&["SET", &key, "null"]), redis_server::Reply::Simple("OK".into()));
    assert_eq!(redis.get(&key).as_deref(), Some("null"));

    // Read-only: a fresh, uninitialized session, not saved, no cookie, on both sides.
    for (side, port) in [("rust", rust.port), ("node", node.port)] {
        let shown = get_path(port, "/show", Some(&cookie));
        assert_ne!(shown.id(), id, "{side}: a new ID");
        assert_eq!(shown.json["data"], json!({}), "{side}");
        assert_eq!(shown.set_cookie, None, "{side}: nothing to save, no cookie");
        assert_eq!(redis.keys("sess:*"), vec![key.clone()], "{side}");
        assert_eq!(redis.get(&key).as_deref(), Some("null"), "{side}: the null record is left alone");
    }

    // Modifying: a fresh session, saved under a new ID, with a new cookie, on both sides.
    let mut new_ids = Vec::new();
    for (side, port) in [("rust", rust.port), ("node", node.port)] {
        let fresh = get_path(port, "/views", Some(&cookie));
        let new_id = fresh.id();
        assert_eq!(fresh.json["views"].as_f64(), Some(1.0), "{side}: a fresh session");
        assert!(new_id != id && !new_ids.contains(&new_id), "{side}: a new ID");
        assert!(fresh.set_cookie.is_some(), "{side}: a Set-Cookie");
        assert_ne!(fresh.cookie(), cookie, "{side}");
        assert!(fresh.cookie().starts_with(&format!("connect.sid=s%3A{new_id}.")), "{side}: {}", fresh.cookie());
        let new_key = format!("sess:{new_id}");
        assert_eq!(redis.get(&new_key).as_deref(), Some(record), "{side}: the fresh session's record");
        assert!((86_398..=86_400).contains(&redis.ttl(&new_key)), "{side}");
        assert_eq!(redis.get(&key).as_deref(), Some("null"), "{side}: the null record is left alone");
        new_ids.push(new_id);
    }
    let mut keys: Vec<String> = std::iter::once(&id).chain(&new_ids).map(|i| format!("sess:{i}")).collect();
    keys.sort();
    assert_eq!(redis.keys("sess:*"), keys);
}

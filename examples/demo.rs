//! The demo: express-session's README view counter, served by libsession.
//!
//! ```text
//! cargo run --example demo              # http://127.0.0.1:3000/
//! cargo run --example demo -- --port 0  # any free port (printed)
//! cargo run --example demo --features redis -- --redis redis://127.0.0.1:6379/
//! cargo run --example demo -- --options session.json   # express-session's options
//! ```
//!
//! `--options FILE.json` reads an express-session options object (the one a
//! Node app passes to `session()`: `secret`, `name`, `cookie`, `resave`,
//! `saveUninitialized`, `rolling`, ...), with connect-redis's options
//! (`prefix`, `ttl`, `disableTouch`, `disableTTL`) under a `"store"` member,
//! so a Node app and this demo start from one file. Without it: secure
//! defaults. The secret (when the file names none) comes from
//! `SESSION_SECRET`, else a fixed development secret, with a warning.
//!
//! The same routes, page and options as the C demo (`examples/c/server.c`)
//! and the Python one (`python -m libsession.demo`); `tests/demos/` drives
//! all three with one HTTP suite and in a real browser:
//! `GET /` counts your views in your session; `GET /login` regenerates the
//! session (new ID, as after a login) and sets `user` (`?user=NAME`, default
//! `demo`); `GET /logout` destroys it (and, with `clearCookieOnDestroy`, on
//! by default, removes the cookie). Each answers the same HTML page (views,
//! user, a shortened session ID, the session cookie's attributes). JSON
//! routes shared with the Node interop app (the fleet test drives them on
//! every host): `GET /views` (`{"id","views"}`) and `GET /show`
//! (`{"id","data"}`: the session data without the cookie); `GET /stats`
//! counts the engine's events by kind (also printed to stderr every 100
//! requests). A small
//! HTTP/1.1 server on std::net, one thread per connection, with the
//! in-memory store, or with Redis (connect-redis's keys and records, see
//! docs/redis.md) when given a Redis URL (`--redis URL` or `REDIS_URL`;
//! needs the `redis` feature).

#![allow(clippy::disallowed_methods)] // a host: it reads the clock and the OS RNG

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use libsession_engine::connect_redis::ConnectRedisOptions;
use libsession_engine::{
    Action, Config, ConfigBuilder, MemoryStore, MemoryStoreOptions, Request, SeededIds, UnixMillis, Value,
};

const MAX_HEAD: usize = 64 * 1024;

/// Where sessions live.
enum Store {
    Memory(MemoryStore),
    /// The async Redis store, driven from these blocking threads through a
    /// tokio runtime.
    #[cfg(feature = "redis")]
    Redis(Box<(tokio::runtime::Runtime, libsession_engine::redis_store::RedisStore)>),
}

impl Store {
    /// `poll_action`, answering store operations, until the request needs
    /// the host for something else.
    fn poll<'r>(&self, req: &'r mut Request, now: i64) -> Result<Action<'r>, libsession_engine::Error> {
        match self {
            Store::Memory(store) => store.poll(req, now),
            #[cfg(feature = "redis")]
            Store::Redis(redis) => {
                redis.0.handle().block_on(libsession_engine::async_driver::drive(req, &redis.1, now))
            }
        }
    }

    /// The MemoryStore's reap, when its `reapInterval` has passed (at the
    /// start of each request: this server runs no timer).
    fn reap_if_due(&self, now: i64) {
        match self {
            Store::Memory(store) => {
                store.reap_if_due(now);
            }
            // Redis expires records by itself (TTLs).
            #[cfg(feature = "redis")]
            Store::Redis(_) => {}
        }
    }
}

#[cfg(feature = "redis")]
fn redis_store(url: &str, options: libsession_engine::connect_redis::ConnectRedisOptions) -> Store {
    let store = match libsession_engine::redis_store::RedisStore::open(url) {
        Ok(s) => s.options(options),
        Err(e) => {
            eprintln!("bad Redis URL {url}: {e}");
            std::process::exit(2);
        }
    };
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("tokio");
    if let Err(e) = rt.block_on(store.ping()) {
        eprintln!("warning: Redis at {url} does not answer yet ({e}); requests fail with 500 until it does");
    }
    eprintln!("sessions in Redis at {url}");
    Store::Redis(Box::new((rt, store)))
}

#[cfg(not(feature = "redis"))]
fn redis_store(url: &str, _options: libsession_engine::connect_redis::ConnectRedisOptions) -> Store {
    eprintln!("a Redis URL was given ({url}), but this demo was built without Redis support:");
    eprintln!("  cargo run --example demo --features redis -- --redis {url}");
    std::process::exit(2);
}

struct Http {
    method: String,
    target: String,
    cookies: Vec<String>,
    forwarded_proto: Vec<String>,
    /// Every other header (for the `header` option's, named by the config).
    other: Vec<(String, String)>,
}

fn read_request(stream: &mut TcpStream) -> Option<Http> {
    let mut reader = BufReader::new(stream.take(MAX_HEAD as u64));
    let mut line = String::new();
    reader.read_line(&mut line).ok()?;
    let mut parts = line.split_whitespace();
    let method = parts.next()?.to_string();
    let target = parts.next()?.to_string();
    let mut http = Http { method, target, cookies: vec![], forwarded_proto: vec![], other: vec![] };
    loop {
        let mut h = String::new();
        if reader.read_line(&mut h).ok()? == 0 {
            return None;
        }
        let h = h.trim_end_matches(['\r', '\n']);
        if h.is_empty() {
            return Some(http);
        }
        let (name, value) = h.split_once(':')?;
        let value = value.trim().to_string();
        if name.eq_ignore_ascii_case("cookie") {
            http.cookies.push(value);
        } else if name.eq_ignore_ascii_case("x-forwarded-proto") {
            http.forwarded_proto.push(value);
        } else {
            http.other.push((name.to_string(), value));
        }
    }
}

fn now_ms() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_millis() as u64)
}

fn entropy() -> [u8; 32] {
    let mut seed = [0u8; 32];
    let ok = std::fs::File::open("/dev/urandom").and_then(|mut f| f.read_exact(&mut seed));
    if let Err(e) = ok {
        // Fail closed: never hand out predictable session IDs.
        panic!("cannot read /dev/urandom: {e}");
    }
    seed
}

/// A response: status, content type and body.
struct Reply {
    status: u16,
    json: bool,
    body: String,
}

impl Reply {
    fn html(status: u16, body: String) -> Reply {
        Reply { status, json: false, body }
    }
    fn json(body: String) -> Reply {
        Reply { status: 200, json: true, body }
    }
}

/// Runs one request through the engine; returns the reply and its session
/// header lines (`Set-Cookie: …`, and the `header` option's). The request's events are counted in `stats` whatever
/// happened.
fn handle(config: &Arc<Config>, store: &Store, http: &Http, stats: &Stats) -> (Reply, Vec<String>) {
    let now = now_ms();
    store.reap_if_due(now as i64);
    let mut req = Request::new(config.clone(), UnixMillis(now), SeededIds::new(&entropy()));
    let mut headers = vec![];
    let result = run(&mut req, store, http, now, config.session_header(), &mut headers);
    stats.count(&mut req);
    match result {
        Ok(reply) => (reply, headers),
        Err(e) => {
            eprintln!("engine error: {e}");
            (Reply::html(500, page(&Page::STORE_ERROR, &Shown::NONE)), vec![])
        }
    }
}

/// The request's state machine, from its facts to `Done`.
fn run(
    req: &mut Request,
    store: &Store,
    http: &Http,
    now: u64,
    session_header: Option<&str>,
    headers: &mut Vec<String>,
) -> Result<Reply, libsession_engine::Error> {
    req.set_target(http.target.as_bytes())?;
    for c in &http.cookies {
        req.add_cookie_header(c.as_bytes())?;
    }
    for p in &http.forwarded_proto {
        req.add_forwarded_proto(p.as_bytes())?;
    }
    // The `header` option: the signed ID of a client without cookies.
    if let Some(name) = session_header
        && let Some((_, value)) = http.other.iter().find(|(n, _)| n.eq_ignore_ascii_case(name))
    {
        req.add_session_header(value.as_bytes())?;
    }
    let (path, query) = http.target.split_once('?').unwrap_or((&http.target, ""));
    let (path, query) = (path.to_string(), query.to_string());
    let mut response: Option<Reply> = None;
    loop {
        match store.poll(req, now as i64)? {
            Action::Ready if response.is_none() => {
                response = Some(route(req, store, &path, &query)?);
                req.finish()?;
            }
            Action::Ready => req.finish()?,
            Action::Completed { .. } => {}
            Action::Failed { message } => {
                eprintln!("session store error: {message}");
                response = Some(Reply::html(500, page(&Page::STORE_ERROR, &Shown::NONE)));
                req.finish()?;
            }
            Action::SetCookie { value } => headers.push(format!("Set-Cookie: {value}")),
            // The `header` option (--options): the signed ID for clients without cookies.
            Action::SetHeader { name, value } => headers.push(format!("{name}: {value}")),
            Action::Error { message } => eprintln!("session error after response: {message}"),
            // `versioned: true` (--options): the save lost a race; nothing
            // was stored. Answer 409 (a reloaded session is finished as it
            // is, by the `Ready` arm above).
            Action::Conflict { .. } => {
                response =
                    Some(Reply::html(409, "<h1>409</h1><p>the session changed meanwhile; try again</p>\n".into()));
                headers.clear();
            }
            Action::Wait => unreachable!("the stores answer before returning"),
            Action::Done => break,
            Action::Load { .. } | Action::Save { .. } | Action::Touch { .. } | Action::Destroy { .. } => {
                unreachable!("answered by the store")
            }
        }
    }
    Ok(response.unwrap_or_else(|| Reply::html(500, page(&Page::STORE_ERROR, &Shown::NONE))))
}

/// Drives a handler operation that talks to the store to completion.
fn complete(req: &mut Request, store: &Store) -> Result<Option<String>, libsession_engine::Error> {
    loop {
        if let Action::Completed { error } = store.poll(req, now_ms() as i64)? {
            return Ok(error.map(str::to_string));
        }
    }
}

/// `?user=NAME`: `Some(NAME)` when it is 1 to 64 letters, digits or `._-`;
/// "demo" when absent or empty; `None` when it is not a valid name.
fn user_param(query: &str) -> Option<String> {
    let raw = query.split('&').find_map(|kv| kv.strip_prefix("user=")).unwrap_or("");
    if raw.is_empty() {
        return Some("demo".into());
    }
    let ok = raw.len() <= 64 && raw.bytes().all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b));
    ok.then(|| raw.to_string())
}

fn route(req: &mut Request, store: &Store, path: &str, query: &str) -> Result<Reply, libsession_engine::Error> {
    match path {
        "/" => {
            if req.has_session() {
                req.increment("views")?;
            }
            Ok(Reply::html(200, page(&Page::VIEWS, &Shown::of(req))))
        }
        // The fleet's JSON routes (bindings/python/tests/test_fleet.py),
        // served alike by the Node, C and Python demos.
        "/views" => {
            let views = req.increment("views")?;
            let id = Value::String(req.session_id().unwrap_or_default().to_string()).to_json();
            Ok(Reply::json(format!("{{\"id\":{id},\"views\":{}}}", Value::Number(views).to_json())))
        }
        "/show" => {
            let id = Value::String(req.session_id().unwrap_or_default().to_string()).to_json();
            let data = req.data_json().ok_or(libsession_engine::Error::NoSession)?.to_json();
            Ok(Reply::json(format!("{{\"id\":{id},\"data\":{data}}}")))
        }
        "/login" => {
            let Some(user) = user_param(query) else {
                return Ok(Reply::html(400, page(&Page::BAD_USER, &Shown::of(req))));
            };
            if req.has_session() {
                req.regenerate()?;
                if let Some(e) = complete(req, store)? {
                    eprintln!("regenerate: {e}");
                    return Ok(Reply::html(500, page(&Page::STORE_ERROR, &Shown::NONE)));
                }
                req.set("user", Value::String(user))?;
            }
            Ok(Reply::html(200, page(&Page::LOGIN, &Shown::of(req))))
        }
        "/logout" => {
            if req.has_session() {
                req.destroy()?;
                if let Some(e) = complete(req, store)? {
                    eprintln!("destroy: {e}");
                    return Ok(Reply::html(500, page(&Page::STORE_ERROR, &Shown::NONE)));
                }
            }
            Ok(Reply::html(200, page(&Page::LOGOUT, &Shown::NONE)))
        }
        _ => Ok(Reply::html(404, page(&Page::NOT_FOUND, &Shown::of(req)))),
    }
}

// ----- the page (byte for byte the same in examples/c/server.c and
// bindings/python/src/libsession/demo.py; tests/demos checks it) -----

/// What a page says happened.
struct Page {
    title: &'static str,
    what: &'static str,
}

impl Page {
    const VIEWS: Page = Page { title: "Views", what: "This page counts your visits in your session." };
    const LOGIN: Page = Page {
        title: "Logged in",
        what: "You are logged in: a new session ID was issued and your user name stored in it.",
    };
    const LOGOUT: Page = Page { title: "Logged out", what: "You are logged out: the session was destroyed." };
    const NOT_FOUND: Page = Page { title: "Not found", what: "There is no page here." };
    const BAD_USER: Page =
        Page { title: "Bad request", what: "A user name is 1 to 64 letters, digits, dots, underscores or hyphens." };
    const METHOD: Page = Page { title: "Method not allowed", what: "Only GET and HEAD are served here." };
    const STORE_ERROR: Page = Page { title: "Session error", what: "The session store failed; try again." };
}

/// The session's state as the page shows it.
struct Shown {
    views: f64,
    user: Option<String>,
    id: Option<String>,
    cookie: Option<String>,
}

impl Shown {
    const NONE: Shown = Shown { views: 0.0, user: None, id: None, cookie: None };

    fn of(req: &Request) -> Shown {
        if !req.has_session() {
            return Shown::NONE;
        }
        let views = match req.get("views") {
            Some(Value::Number(n)) => *n,
            _ => 0.0,
        };
        let user = match req.get("user") {
            Some(Value::String(u)) => Some(u.clone()),
            _ => None,
        };
        let cookie =
            req.session_json().and_then(|s| s.as_object().and_then(|o| o.get("cookie")).map(cookie_attributes));
        Shown { views, user, id: req.session_id().map(str::to_string), cookie }
    }
}

/// The session cookie's attributes as Set-Cookie names them, from the
/// session's `cookie` (express-session's `Cookie#toJSON`): Path, Domain,
/// Expires (the stored ISO instant), HttpOnly, Secure, SameSite,
/// Partitioned, Priority.
fn cookie_attributes(cookie: &Value) -> String {
    let Some(c) = cookie.as_object() else { return String::new() };
    let text = |k: &str| match c.get(k) {
        Some(Value::String(s)) => Some(s.as_str()),
        _ => None,
    };
    let on = |k: &str| matches!(c.get(k), Some(Value::Bool(true)));
    let mut out: Vec<String> = vec![];
    if let Some(p) = text("path") {
        out.push(format!("Path={p}"));
    }
    if let Some(d) = text("domain") {
        out.push(format!("Domain={d}"));
    }
    if let Some(e) = text("expires") {
        out.push(format!("Expires={e}"));
    }
    if on("httpOnly") {
        out.push("HttpOnly".into());
    }
    if on("secure") {
        out.push("Secure".into());
    }
    if on("sameSite") {
        out.push("SameSite=Strict".into());
    } else if let Some(s) = text("sameSite") {
        out.push(format!("SameSite={}", capitalized(s)));
    }
    if on("partitioned") {
        out.push("Partitioned".into());
    }
    if let Some(p) = text("priority") {
        out.push(format!("Priority={}", capitalized(p)));
    }
    out.join("; ")
}

/// "lax" → "Lax": the first letter upper case, the others lower (ASCII).
fn capitalized(s: &str) -> String {
    let lower = s.to_ascii_lowercase();
    let mut chars = lower.chars();
    match chars.next() {
        Some(first) => first.to_ascii_uppercase().to_string() + chars.as_str(),
        None => String::new(),
    }
}

/// `& < > " '` as entities.
fn escape_html(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for ch in s.chars() {
        match ch {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// The demo page, as the C and Python demos write it.
fn page(page: &Page, shown: &Shown) -> String {
    let none = "(none)".to_string();
    let views = if shown.views.fract() == 0.0 && shown.views.abs() < 1e15 {
        format!("{}", shown.views as i64)
    } else {
        Value::Number(shown.views).to_json()
    };
    let user = shown.user.as_deref().map_or(none.clone(), escape_html);
    let sid = shown.id.as_ref().map_or(none.clone(), |id| escape_html(&id.chars().take(8).collect::<String>()) + "…");
    let cookie = shown.cookie.as_deref().filter(|c| !c.is_empty()).map_or(none, escape_html);
    let (title, what) = (page.title, page.what);
    format!(
        "<!doctype html>
<html lang=\"en\">
<head><meta charset=\"utf-8\"><title>libsession demo</title></head>
<body>
<h1>{title}</h1>
<p id=\"what\">{what}</p>
<table>
<tr><th>Views</th><td id=\"views\">{views}</td></tr>
<tr><th>User</th><td id=\"user\">{user}</td></tr>
<tr><th>Session ID</th><td id=\"sid\">{sid}</td></tr>
<tr><th>Cookie</th><td id=\"cookie\">{cookie}</td></tr>
</table>
<p><a href=\"/\">Count</a> · <a href=\"/login\">Log in</a> · <a href=\"/logout\">Log out</a> · <a href=\"/stats\">Stats</a></p>
<p>Log in regenerates the session: the old session ID is discarded and a new one issued, so an ID someone planted before you logged in is worthless; then your user name is stored in the new session.</p>
<p>Log out destroys the session in the store and, with clearCookieOnDestroy (on by default), answers with a cookie that expired in 1970, so the browser deletes it.</p>
</body>
</html>
"
    )
}

// ----- the event counters (`GET /stats`, and stderr) -----

/// The events' names, in the order of their kinds (`libsession_event_kind`).
const EVENT_NAMES: [&str; 15] = [
    "no_cookie",
    "signature_invalid",
    "verified_by_old_key",
    "record_not_found",
    "record_expired",
    "record_corrupt",
    "store_error",
    "misuse",
    "ignored",
    "fingerprint_mismatch",
    "conflict",
    "absolute_timeout",
    "idle_timeout",
    "regenerate_grace",
    "regenerate_grace_ended",
];

/// Requests run through the engine, and its events counted by kind.
struct Stats {
    requests: AtomicU64,
    events: [AtomicU64; EVENT_NAMES.len()],
}

impl Stats {
    fn new() -> Stats {
        Stats { requests: AtomicU64::new(0), events: std::array::from_fn(|_| AtomicU64::new(0)) }
    }

    /// Drains the request's events into the counters; every 100 requests,
    /// prints them on stderr.
    fn count(&self, req: &mut Request) {
        while let Some(event) = req.poll_event() {
            if let Some(i) = EVENT_NAMES.iter().position(|n| *n == event.name()) {
                self.events[i].fetch_add(1, Ordering::Relaxed);
            }
        }
        if (self.requests.fetch_add(1, Ordering::Relaxed) + 1).is_multiple_of(100) {
            eprintln!("libsession demo stats: {}", self.json());
        }
    }

    /// `{"requests":N,"events":{"no_cookie":N,...}}`, the same in every demo.
    fn json(&self) -> String {
        let events: Vec<String> = EVENT_NAMES
            .iter()
            .zip(&self.events)
            .map(|(name, n)| format!("\"{name}\":{}", n.load(Ordering::Relaxed)))
            .collect();
        format!("{{\"requests\":{},\"events\":{{{}}}}}", self.requests.load(Ordering::Relaxed), events.join(","))
    }
}

fn serve(mut stream: TcpStream, config: Arc<Config>, store: Arc<Store>, stats: Arc<Stats>) {
    let _ = stream.set_read_timeout(Some(Duration::from_secs(10)));
    let Some(http) = read_request(&mut stream) else { return };
    let path = http.target.split('?').next().unwrap_or("");
    let (reply, headers) = if http.method != "GET" && http.method != "HEAD" {
        (Reply::html(405, page(&Page::METHOD, &Shown::NONE)), vec![])
    } else if path == "/stats" {
        (Reply::json(stats.json()), vec![])
    } else {
        handle(&config, &store, &http, &stats)
    };
    let reason = match reply.status {
        200 => "OK",
        400 => "Bad Request",
        404 => "Not Found",
        405 => "Method Not Allowed",
        409 => "Conflict",
        _ => "Internal Server Error",
    };
    let content_type = if reply.json { "application/json; charset=utf-8" } else { "text/html; charset=utf-8" };
    let mut head = format!(
        "HTTP/1.1 {} {reason}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\n\
         Cache-Control: no-store\r\nConnection: close\r\n",
        reply.status,
        reply.body.len()
    );
    for line in headers {
        head.push_str(&line);
        head.push_str("\r\n");
    }
    head.push_str("\r\n");
    let _ = stream.write_all(head.as_bytes());
    if http.method != "HEAD" {
        let _ = stream.write_all(reply.body.as_bytes());
    }
}

const USAGE: &str = "usage: demo [--port N] [--options FILE.json] [--redis URL]
  --port N          listen on 127.0.0.1:N (0: any free port; default $PORT, else 3000)
  --options FILE    an express-session options object (JSON); connect-redis options under \"store\"
  --redis URL       keep sessions in Redis (redis://host:port/db; or $REDIS_URL; needs --features redis)
  --help            this text
The secret: the options file's \"secret\", else $SESSION_SECRET, else a fixed development secret.
Routes: / (count) /login?user=NAME (regenerate) /logout (destroy) /views /show /stats";

/// Exits with status 2 and `message` (a usage error).
fn usage_error(message: &str) -> ! {
    eprintln!("{message}\n{USAGE}");
    std::process::exit(2);
}

/// The session configuration and the `"store"` member from an options file.
fn read_options(path: &str) -> Result<(ConfigBuilder, Option<Value>), String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("cannot read {path}: {e}"))?;
    let mut options = Value::from_json(&text).map_err(|e| format!("{path}: not JSON: {e}"))?;
    let Value::Object(members) = &mut options else {
        return Err(format!("{path}: an express-session options object is a JSON object"));
    };
    let store = members.remove("store");
    let has_secret = members.contains_key("secret");
    let mut config = ConfigBuilder::from_express_options(&options).map_err(|e| format!("{path}: {e}"))?;
    if !has_secret {
        config = config.secret(secret_from_env());
    }
    Ok((config, store))
}

/// The development secret every demo uses when `SESSION_SECRET` is unset:
/// public, so anyone can forge its cookies.
const DEV_SECRET: &str = "libsession demo development secret: set SESSION_SECRET";

/// `SESSION_SECRET`, else the development secret with a warning on stderr.
fn secret_from_env() -> String {
    match std::env::var("SESSION_SECRET") {
        Ok(s) if !s.is_empty() => s,
        _ => {
            eprintln!(
                "warning: SESSION_SECRET is not set: using a fixed development secret, so anyone can forge \
                 this demo's cookies; set SESSION_SECRET to 32+ random bytes"
            );
            DEV_SECRET.into()
        }
    }
}

fn main() {
    let mut port: u16 = match std::env::var("PORT") {
        Ok(p) if !p.is_empty() => p.parse().unwrap_or_else(|_| usage_error("$PORT needs a port number (0-65535)")),
        _ => 3000,
    };
    let mut redis_url = std::env::var("REDIS_URL").ok().filter(|u| !u.is_empty());
    let mut options_file = None;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--port" => match args.next().map(|p| p.parse::<u16>()) {
                Some(Ok(p)) => port = p,
                Some(Err(_)) => usage_error("--port needs a port number (0-65535)"),
                None => usage_error("--port needs a port number"),
            },
            "--redis" => match args.next() {
                Some(url) => redis_url = Some(url),
                None => usage_error("--redis needs a URL, e.g. redis://127.0.0.1:6379/"),
            },
            "--options" => match args.next() {
                Some(file) => options_file = Some(file),
                None => usage_error("--options needs a JSON file"),
            },
            "-h" | "--help" => {
                println!("{USAGE}");
                return;
            }
            other => usage_error(&format!("unknown argument {other}")),
        }
    }
    let (builder, store_options) = match &options_file {
        Some(path) => read_options(path).unwrap_or_else(|e| {
            eprintln!("{e}");
            std::process::exit(2);
        }),
        None => (Config::builder().secret(secret_from_env()).max_age(Some(24.0 * 3600.0 * 1000.0)), None),
    };
    // The "store" options of the store this demo runs: connect-redis's with
    // --redis, Connect MemoryStore's (reapInterval, maxAge) in memory.
    let bad_store_options = |e: &dyn std::fmt::Display| -> ! {
        eprintln!("\"store\": {e}");
        std::process::exit(2);
    };
    let config = match builder.build() {
        Ok(c) => Arc::new(c),
        Err(e) => {
            eprintln!("configuration error: {e}");
            std::process::exit(2);
        }
    };
    let store = Arc::new(match &redis_url {
        Some(url) => redis_store(
            url,
            store_options.map_or_else(ConnectRedisOptions::default, |o| {
                ConnectRedisOptions::from_json(&o).unwrap_or_else(|e| bad_store_options(&e))
            }),
        ),
        None => Store::Memory(MemoryStore::with_options(store_options.map_or_else(MemoryStoreOptions::default, |o| {
            MemoryStoreOptions::from_json(&o).unwrap_or_else(|e| bad_store_options(&e))
        }))),
    });
    let listener = match TcpListener::bind(("127.0.0.1", port)) {
        Ok(l) => l,
        Err(e) => {
            eprintln!("cannot listen on 127.0.0.1:{port}: {e}");
            std::process::exit(1);
        }
    };
    let addr = listener.local_addr().map(|a| a.port()).unwrap_or(port);
    let stats = Arc::new(Stats::new());
    println!("libsession demo listening on http://127.0.0.1:{addr}/");
    let _ = std::io::stdout().flush();
    for stream in listener.incoming().flatten() {
        let (config, store, stats) = (config.clone(), store.clone(), stats.clone());
        std::thread::spawn(move || serve(stream, config, store, stats));
    }
}

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
//! `saveUninitialized`, `rolling`, ...), with the store's options under a
//! `"store"` member: connect-redis's (`prefix`, `ttl`, `disableTouch`,
//! `disableTTL`) with Redis, Connect MemoryStore's (`reapInterval`, `maxAge`,
//! in ms; reaped on this server's clock as requests arrive) in memory, so a
//! Node app and this demo start from one file. Without it: secure
//! defaults, the secret from `SESSION_SECRET` (a demo default otherwise).
//!
//! `GET /` counts your views in your session; `GET /login` regenerates the
//! session (new ID, as after a login) and sets `user` (`?user=NAME`, default
//! `demo`); `GET /logout` destroys it. JSON routes shared with the C and
//! Python demos and the Node interop app (the fleet test drives them on
//! every host): `GET /views` (`{"id","views"}`) and `GET /show`
//! (`{"id","data"}`: the session data without the cookie). A small
//! HTTP/1.1 server on std::net, one thread per connection, with the
//! in-memory store, or with Redis (connect-redis's keys and records, see
//! docs/redis.md) when given a Redis URL (`--redis URL` or `REDIS_URL`;
//! needs the `redis` feature).

#![allow(clippy::disallowed_methods)] // a host: it reads the clock and the OS RNG

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use session::connect_redis::ConnectRedisOptions;
use session::{Action, Config, ConfigBuilder, MemoryStore, MemoryStoreOptions, Request, SeededIds, UnixMillis, Value};

const MAX_HEAD: usize = 64 * 1024;

/// Where sessions live.
enum Store {
    Memory(MemoryStore),
    /// The async Redis store, driven from these blocking threads through a
    /// tokio runtime.
    #[cfg(feature = "redis")]
    Redis(Box<(tokio::runtime::Runtime, session::redis_store::RedisStore)>),
}

impl Store {
    /// `poll_action`, answering store operations, until the request needs
    /// the host for something else.
    fn poll<'r>(&self, req: &'r mut Request, now: i64) -> Result<Action<'r>, session::Error> {
        match self {
            Store::Memory(store) => store.poll(req, now),
            #[cfg(feature = "redis")]
            Store::Redis(redis) => redis.0.handle().block_on(session::async_driver::drive(req, &redis.1, now)),
        }
    }

    /// The MemoryStore's reap, when its `reapInterval` has passed (at the
    /// start of each request: this server runs no timer).
    fn reap_if_due(&self, now: i64) {
        if let Store::Memory(store) = self {
            store.reap_if_due(now);
        }
    }
}

#[cfg(feature = "redis")]
fn redis_store(url: &str, options: session::connect_redis::ConnectRedisOptions) -> Store {
    let store = match session::redis_store::RedisStore::open(url) {
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
fn redis_store(url: &str, _options: session::connect_redis::ConnectRedisOptions) -> Store {
    eprintln!("a Redis URL was given ({url}), but this demo was built without Redis support:");
    eprintln!("  cargo run --example demo --features redis -- --redis {url}");
    std::process::exit(2);
}

struct Http {
    method: String,
    target: String,
    cookies: Vec<String>,
    forwarded_proto: Vec<String>,
}

fn read_request(stream: &mut TcpStream) -> Option<Http> {
    let mut reader = BufReader::new(stream.take(MAX_HEAD as u64));
    let mut line = String::new();
    reader.read_line(&mut line).ok()?;
    let mut parts = line.split_whitespace();
    let method = parts.next()?.to_string();
    let target = parts.next()?.to_string();
    let mut http = Http { method, target, cookies: vec![], forwarded_proto: vec![] };
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

/// Runs one request through the engine; returns (status, body, Set-Cookie values).
fn handle(config: &Arc<Config>, store: &Store, http: &Http) -> Result<(u16, String, Vec<String>), session::Error> {
    let now = now_ms();
    store.reap_if_due(now as i64);
    let mut req = Request::new(config.clone(), UnixMillis(now), SeededIds::new(&entropy()));
    req.set_target(http.target.as_bytes())?;
    for c in &http.cookies {
        req.add_cookie_header(c.as_bytes())?;
    }
    for p in &http.forwarded_proto {
        req.add_forwarded_proto(p.as_bytes())?;
    }
    let (path, query) = http.target.split_once('?').unwrap_or((&http.target, ""));
    let (path, query) = (path.to_string(), query.to_string());
    let mut cookies = vec![];
    let mut response: Option<(u16, String)> = None;
    loop {
        match store.poll(&mut req, now as i64)? {
            Action::Ready if response.is_none() => {
                response = Some(route(&mut req, store, &path, &query, &http.method)?);
                req.finish()?;
            }
            Action::Ready => req.finish()?,
            Action::Completed { .. } => {}
            Action::Failed { message } => {
                eprintln!("session store error: {message}");
                response = Some((500, "<h1>500</h1><p>session store error</p>".into()));
                req.finish()?;
            }
            Action::SetCookie { value } => cookies.push(value.to_string()),
            // Only with the `header` option (for API clients), which the demo leaves off.
            Action::SetHeader { .. } => {}
            Action::Error { message } => eprintln!("session error after response: {message}"),
            // `versioned: true` (--options): the save lost a race; nothing
            // was stored. Answer 409 (a reloaded session is finished as it
            // is, by the `Ready` arm above).
            Action::Conflict { .. } => {
                response = Some((409, "<h1>409</h1><p>the session changed meanwhile; try again</p>".into()));
                cookies.clear();
            }
            Action::Wait => unreachable!("the stores answer before returning"),
            Action::Done => break,
            Action::Load { .. } | Action::Save { .. } | Action::Touch { .. } | Action::Destroy { .. } => {
                unreachable!("answered by the store")
            }
        }
    }
    let (status, body) = response.unwrap_or((500, "no response".into()));
    Ok((status, body, cookies))
}

/// Drives a handler operation that talks to the store to completion.
fn complete(req: &mut Request, store: &Store) -> Result<Option<String>, session::Error> {
    loop {
        if let Action::Completed { error } = store.poll(req, now_ms() as i64)? {
            return Ok(error.map(str::to_string));
        }
    }
}

fn route(
    req: &mut Request,
    store: &Store,
    path: &str,
    query: &str,
    method: &str,
) -> Result<(u16, String), session::Error> {
    let page = |title: &str, body: String| {
        format!(
            "<!doctype html><title>libsession demo</title><h1>{title}</h1>{body}\
             <p><a href=\"/\">count</a> · <a href=\"/login\">login (regenerate)</a> · <a href=\"/logout\">logout (destroy)</a></p>"
        )
    };
    if method != "GET" && method != "HEAD" {
        return Ok((405, page("405", "<p>method not allowed</p>".into())));
    }
    match path {
        "/" => {
            let views = req.increment("views")?;
            let sid = req.session_id().map(|s| s.chars().take(6).collect::<String>()).unwrap_or_default();
            Ok((200, page("Views", format!("<p id=\"views\">Views: {views}</p><p>session {sid}…</p>"))))
        }
        // The fleet's JSON routes (bindings/python/tests/test_fleet.py),
        // served alike by the Node, C and Python demos.
        "/views" => {
            let views = req.increment("views")?;
            let id = Value::String(req.session_id().unwrap_or_default().to_string()).to_json();
            Ok((200, format!("{{\"id\":{id},\"views\":{}}}", Value::Number(views).to_json())))
        }
        "/show" => {
            let id = Value::String(req.session_id().unwrap_or_default().to_string()).to_json();
            let data = req.data_json().ok_or(session::Error::NoSession)?.to_json();
            Ok((200, format!("{{\"id\":{id},\"data\":{data}}}")))
        }
        "/login" => {
            req.regenerate()?;
            if let Some(e) = complete(req, store)? {
                eprintln!("regenerate: {e}");
            }
            // `?user=NAME` (letters, digits, `._-`), else "demo".
            let user = query
                .split('&')
                .find_map(|kv| kv.strip_prefix("user="))
                .filter(|u| !u.is_empty() && u.bytes().all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b)))
                .unwrap_or("demo");
            req.set("user", Value::String(user.into()))?;
            Ok((200, page("Logged in", "<p>new session ID issued</p>".into())))
        }
        "/logout" => {
            req.destroy()?;
            if let Some(e) = complete(req, store)? {
                eprintln!("destroy: {e}");
            }
            Ok((200, page("Logged out", "<p>session destroyed</p>".into())))
        }
        _ => Ok((404, page("404", "<p>not found</p>".into()))),
    }
}

fn serve(mut stream: TcpStream, config: Arc<Config>, store: Arc<Store>) {
    let _ = stream.set_read_timeout(Some(Duration::from_secs(10)));
    let Some(http) = read_request(&mut stream) else { return };
    let (status, body, cookies) = match handle(&config, &store, &http) {
        Ok(r) => r,
        Err(e) => (500, format!("engine error: {e}"), vec![]),
    };
    let reason = match status {
        200 => "OK",
        404 => "Not Found",
        405 => "Method Not Allowed",
        _ => "Internal Server Error",
    };
    let mut head = format!(
        "HTTP/1.1 {status} {reason}\r\nContent-Type: text/html; charset=utf-8\r\nContent-Length: {}\r\n\
         Cache-Control: no-store\r\nConnection: close\r\n",
        body.len()
    );
    for c in cookies {
        head.push_str(&format!("Set-Cookie: {c}\r\n"));
    }
    head.push_str("\r\n");
    let _ = stream.write_all(head.as_bytes());
    if http.method != "HEAD" {
        let _ = stream.write_all(body.as_bytes());
    }
}

const USAGE: &str = "usage: demo [--port N] [--options FILE.json] [--redis URL]
  --port N          listen on 127.0.0.1:N (0: any free port; default 3000 or $PORT)
  --options FILE    an express-session options object (JSON); the store's options under \"store\"
  --redis URL       keep sessions in Redis (redis://host:port/db; or $REDIS_URL; needs --features redis)";

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

fn secret_from_env() -> String {
    std::env::var("SESSION_SECRET").unwrap_or_else(|_| "demo secret: set SESSION_SECRET to 32+ random bytes".into())
}

fn main() {
    let mut port: u16 = std::env::var("PORT").ok().and_then(|p| p.parse().ok()).unwrap_or(3000);
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
    // The "store" options of the store this demo runs.
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
    println!("libsession demo listening on http://127.0.0.1:{addr}/");
    let _ = std::io::stdout().flush();
    for stream in listener.incoming().flatten() {
        let (config, store) = (config.clone(), store.clone());
        std::thread::spawn(move || serve(stream, config, store));
    }
}

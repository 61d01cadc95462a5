//! The C example server (`examples/c/`), built on libsession's static
//! library, driven over real HTTP on a loopback port with curl: the cookie
//! jar round trip, the view counter (its page), a tampered cookie, `/login` and
//! `/logout`, then a clean stop on SIGTERM; and the same server with
//! `--options FILE.json --redis URL` against a real redis-server: the keys,
//! records and TTLs connect-redis writes, touch, a Redis restart while idle,
//! a frozen Redis (timeout) and a stopped one as 500, logout.
//!
//! Needs `cc`, `make` and `curl` (Debian: build-essential, curl). Set
//! `LIBSESSION_C_SERVER` to a prebuilt server binary (for example a
//! sanitizer build from `scripts/test-c.sh`) to test that instead, and
//! `LIBSESSION_C_SERVER_WRAPPER` to run it under a tool such as valgrind.
//! Skipped when a tool it needs is missing (`tests/common/tools.rs`).

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use libsession_engine::Value;

#[path = "common/host_build.rs"]
mod host_build;
#[path = "common/redis_server.rs"]
mod redis_server;
#[path = "common/tools.rs"]
mod tools;

/// Where this test puts what it builds.
fn profile_dir() -> PathBuf {
    host_build::dir()
}

/// curl always; make and cc unless a prebuilt server is given; the
/// wrapper's program (valgrind) if one is set.
fn needed_tools() -> Vec<String> {
    let mut tools = vec!["curl".to_string()];
    if std::env::var_os("LIBSESSION_C_SERVER").is_none() {
        tools.extend(["make".to_string(), "cc".to_string()]);
    }
    if let Some(program) = std::env::var("LIBSESSION_C_SERVER_WRAPPER").unwrap_or_default().split_whitespace().next() {
        tools.push(program.to_string());
    }
    tools
}

/// The server binary, built once for all the tests of this file.
fn build_server() -> PathBuf {
    static BUILT: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    BUILT.get_or_init(build_server_once).clone()
}

fn build_server_once() -> PathBuf {
    if let Some(prebuilt) = std::env::var_os("LIBSESSION_C_SERVER") {
        return PathBuf::from(prebuilt);
    }
    let lib = host_build::static_lib();
    assert!(lib.exists(), "{} is missing after cargo build", lib.display());
    let out_dir = profile_dir().join("c-server");
    std::fs::create_dir_all(&out_dir).expect("create the build directory");
    let out = out_dir.join("server");
    let root = env!("CARGO_MANIFEST_DIR");
    let status = Command::new("make")
        .arg("-C")
        .arg(format!("{root}/examples/c"))
        .arg("--always-make")
        .arg(format!("LIBSESSION_LIB={}", lib.display()))
        .arg(format!("OUT={}", out.display()))
        .status()
        .unwrap_or_else(|e| panic!("running make failed ({e}); install make and a C compiler (build-essential)"));
    assert!(status.success(), "building examples/c failed");
    out
}

struct Server {
    child: Child,
    port: u16,
    lines: mpsc::Receiver<String>,
}

impl Server {
    fn start(binary: &Path) -> Server {
        Server::start_with(binary, &[])
    }

    /// Starts the server with `args` before the port.
    fn start_with(binary: &Path, args: &[&str]) -> Server {
        // An optional wrapper, e.g. `valgrind --error-exitcode=1 --leak-check=full`.
        let wrapper = std::env::var("LIBSESSION_C_SERVER_WRAPPER").unwrap_or_default();
        let mut words = wrapper.split_whitespace();
        let mut cmd = match words.next() {
            Some(program) => {
                let mut c = Command::new(program);
                c.args(words).arg(binary);
                c
            }
            None => Command::new(binary),
        };
        let mut child = cmd
            .args(args)
            .arg("0")
            .env("SESSION_SECRET", "keyboard cat keyboard cat keyboard cat")
            .stdout(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("starting {}: {e}", binary.display()));
        let stdout = child.stdout.take().expect("piped stdout");
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let first = lines.recv_timeout(Duration::from_secs(20)).expect("the server prints its address");
        let port = first
            .strip_prefix("libsession demo listening on http://127.0.0.1:")
            .and_then(|r| r.strip_suffix('/'))
            .and_then(|p| p.parse().ok())
            .unwrap_or_else(|| panic!("unexpected first line {first:?}"));
        Server { child, port, lines }
    }

    /// SIGTERM, then the process must exit 0 (a sanitizer build also checks
    /// for leaks here) after printing "stopped".
    fn stop(mut self) {
        let pid = i32::try_from(self.child.id()).expect("pid fits");
        // SAFETY: sends a signal to our own child process.
        assert_eq!(unsafe { libc::kill(pid, libc::SIGTERM) }, 0);
        // Up to 20 s, in steps (the clock is not read: clippy.toml).
        let mut status = None;
        for _ in 0..1000 {
            status = self.child.try_wait().expect("wait");
            if status.is_some() {
                break;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let status = status.expect("the server did not stop on SIGTERM");
        assert!(status.success(), "the server exited with {status}");
        assert_eq!(self.lines.recv_timeout(Duration::from_secs(5)).as_deref(), Ok("stopped"));
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

struct Response {
    status: u16,
    set_cookie: Option<String>,
    body: String,
}

/// One request with curl, reading and writing the cookie jar.
fn curl(port: u16, path: &str, jar: &Path) -> Response {
    let out = Command::new("curl")
        .args(["--silent", "--show-error", "--include", "--max-time", "10", "--cookie-jar"])
        .arg(jar)
        .arg("--cookie")
        .arg(jar)
        .arg(format!("http://127.0.0.1:{port}{path}"))
        .output()
        .unwrap_or_else(|e| panic!("running curl failed ({e}); install curl"));
    assert!(out.status.success(), "curl {path}: {}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8(out.stdout).expect("UTF-8 response");
    let (head, body) = text.split_once("\r\n\r\n").expect("headers and body");
    let mut lines = head.lines();
    let status = lines.next().and_then(|l| l.split(' ').nth(1)).and_then(|s| s.parse().ok()).expect("a status line");
    let set_cookie = lines.find_map(|l| l.strip_prefix("Set-Cookie: ")).map(str::to_string);
    Response { status, set_cookie, body: body.to_string() }
}

/// The session ID in a `connect.sid=s%3A<id>.<signature>; …` header.
fn sid(set_cookie: &str) -> String {
    let value =
        set_cookie.split(';').next().unwrap().strip_prefix("connect.sid=s%3A").expect("a signed session cookie");
    value.rsplit_once('.').expect("id.signature").0.to_string()
}

/// Changes the last character of the session cookie's signature in the jar.
fn tamper(jar: &Path) {
    let text = std::fs::read_to_string(jar).expect("the cookie jar");
    let mut changed = false;
    let lines: Vec<String> = text
        .lines()
        .map(|l| {
            if l.contains("\tconnect.sid\t") && !changed {
                changed = true;
                let mut s = l.to_string();
                let last = s.pop().expect("a cookie value");
                s.push(if last == 'A' { 'B' } else { 'A' });
                s
            } else {
                l.to_string()
            }
        })
        .collect();
    assert!(changed, "no session cookie in the jar:\n{text}");
    std::fs::write(jar, lines.join("\n") + "\n").expect("write the jar");
}

#[test]
fn view_counter_server_over_http() {
    if !tools::present("view_counter_server_over_http", &needed_tools()) {
        return;
    }
    let binary = build_server();
    let server = Server::start(&binary);
    let port = server.port;
    let dir = profile_dir().join(format!("c-server-jar-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("jar directory");
    let jar = dir.join("cookies.txt");
    let _ = std::fs::remove_file(&jar);

    // A new visitor gets a session and a cookie; the counter increments.
    let r = curl(port, "/", &jar);
    assert_eq!((r.status, views(&r.body)), (200, 1));
    let first = sid(r.set_cookie.as_deref().expect("a Set-Cookie for a new session"));
    for n in 2..=4 {
        let r = curl(port, "/", &jar);
        assert_eq!((r.status, views(&r.body)), (200, n));
        // maxAge is set and the session changed: the cookie is re-sent, same ID.
        assert_eq!(sid(r.set_cookie.as_deref().expect("a refreshed cookie")), first);
    }

    // A tampered signature is no session: a fresh one, with a new ID.
    tamper(&jar);
    let r = curl(port, "/", &jar);
    assert_eq!((r.status, views(&r.body)), (200, 1));
    let second = sid(r.set_cookie.as_deref().expect("a new cookie"));
    assert_ne!(second, first);
    let r = curl(port, "/", &jar);
    assert_eq!(views(&r.body), 2);

    // /login: a new session ID (regenerated), carrying the user but no views.
    let r = curl(port, "/login?user=ada", &jar);
    assert_eq!(r.status, 200);
    assert!(r.body.contains("<h1>Logged in</h1>") && r.body.contains("<td id=\"user\">ada</td>"), "{}", r.body);
    let third = sid(r.set_cookie.as_deref().expect("a cookie for the regenerated session"));
    assert_ne!(third, second);
    let r = curl(port, "/", &jar);
    assert_eq!(views(&r.body), 1);
    assert_eq!(sid(r.set_cookie.as_deref().unwrap()), third);

    // /logout destroys the session and removes the cookie (clearCookieOnDestroy,
    // on by default): the next visit starts over with a new ID.
    let r = curl(port, "/logout", &jar);
    assert_eq!(
        (r.status, r.body.contains("<h1>Logged out</h1>"), r.set_cookie.as_deref()),
        (200, true, Some("connect.sid=; Path=/; Expires=Thu, 01 Jan 1970 00:00:00 GMT; HttpOnly; SameSite=Lax"))
    );
    let r = curl(port, "/", &jar);
    assert_eq!(views(&r.body), 1);
    let fourth = sid(r.set_cookie.as_deref().expect("a new cookie after logout"));
    assert!(![first.as_str(), second.as_str(), third.as_str()].contains(&fourth.as_str()));

    // Unknown paths and malformed requests.
    let r = curl(port, "/nope", &jar);
    assert_eq!((r.status, r.body.contains("<h1>Not found</h1>")), (404, true));
    let mut raw = TcpStream::connect(("127.0.0.1", port)).expect("connect");
    raw.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    raw.write_all(b"NONSENSE\r\n\r\n").unwrap();
    let mut reply = String::new();
    raw.read_to_string(&mut reply).unwrap();
    assert!(reply.starts_with("HTTP/1.1 400 Bad Request\r\n"), "{reply}");

    // Still serving after all that.
    let r = curl(port, "/", &jar);
    assert_eq!(views(&r.body), 2);

    server.stop();
    let _ = std::fs::remove_dir_all(&dir);
}

/// The view count on the demo page.
fn views(body: &str) -> u32 {
    let at = body.find("<td id=\"views\">").unwrap_or_else(|| panic!("no view count in {body:?}")) + 15;
    body[at..].chars().take_while(char::is_ascii_digit).collect::<String>().parse().expect("a number")
}

/// The JSON body of a response, read with the engine's own parser.
fn json(r: &Response) -> Value {
    Value::from_json(&r.body).unwrap_or_else(|e| panic!("not JSON ({e}): {:?}", r.body))
}

/// The value at `path` (object keys) in `v`, if any.
fn at<'a>(v: &'a Value, path: &[&str]) -> Option<&'a Value> {
    path.iter().try_fold(v, |v, key| v.as_object()?.get(key))
}

/// The number at `path`.
fn num(v: &Value, path: &[&str]) -> Option<f64> {
    at(v, path)?.as_f64()
}

/// The string at `path`.
fn text(v: &Value, path: &[&str]) -> Option<String> {
    at(v, path)?.as_str().map(str::to_string)
}

#[test]
fn view_counter_server_with_redis() {
    let mut tools = needed_tools();
    tools.push("redis-server".to_string());
    if !tools::present("view_counter_server_with_redis", &tools) {
        return;
    }
    let binary = build_server();
    let mut redis = redis_server::RedisServer::start();
    let dir = profile_dir().join(format!("c-server-redis-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("test directory");
    let options = dir.join("options.json");
    std::fs::write(
        &options,
        r#"{"secret":"keyboard cat","resave":false,"saveUninitialized":false,
            "cookie":{"maxAge":60000},"store":{"prefix":"c:","ttl":300}}"#,
    )
    .expect("write the options");
    let jar = dir.join("cookies.txt");
    let _ = std::fs::remove_file(&jar);
    let url = redis.url();
    let server = Server::start_with(&binary, &["--options", options.to_str().expect("UTF-8 path"), "--redis", &url]);
    let port = server.port;

    // A new visitor: SET c:<id> <record> EX 60.
    let r = curl(port, "/views", &jar);
    assert_eq!(r.status, 200, "{}", r.body);
    let id = text(&json(&r), &["id"]).expect("an id");
    assert_eq!(num(&json(&r), &["views"]), Some(1.0));
    assert_eq!(sid(r.set_cookie.as_deref().expect("a cookie")), id);
    let key = format!("c:{id}");
    assert_eq!(redis.keys("*"), vec![key.clone()]);
    let record = Value::from_json(&redis.get(&key).expect("the record")).expect("JSON");
    assert_eq!(num(&record, &["views"]), Some(1.0));
    assert_eq!(num(&record, &["cookie", "originalMaxAge"]), Some(60000.0));
    assert!((58..=60).contains(&redis.ttl(&key)), "TTL {}", redis.ttl(&key));
    assert_eq!(num(&json(&curl(port, "/views", &jar)), &["views"]), Some(2.0));

    // A read-only request: EXPIRE only, the value is not rewritten.
    let before = redis.get(&key);
    redis.command(&["EXPIRE", &key, "10"]);
    let r = curl(port, "/show", &jar);
    assert_eq!(at(&json(&r), &["data"]).map(Value::to_json).as_deref(), Some(r#"{"views":2}"#));
    assert!(redis.ttl(&key) >= 58, "touched: TTL {}", redis.ttl(&key));
    assert_eq!(redis.get(&key), before);

    let r = curl(port, "/login?user=alice", &jar);
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(text(&json(&curl(port, "/show", &jar)), &["data", "user"]).as_deref(), Some("alice"));
    assert_eq!(curl(port, "/login?user=a%20b", &jar).status, 400);

    // Redis restarts (data kept) while the server is idle: no request fails.
    redis.restart_keeping_data();
    let r = curl(port, "/views", &jar);
    assert_eq!((r.status, num(&json(&r), &["views"])), (200, Some(1.0)), "the login regenerated: {}", r.body);

    // Redis frozen (SIGSTOP): the command times out (2 s), 500, no hang;
    // then it answers again.
    redis.pause();
    let r = curl(port, "/views", &jar);
    redis.resume();
    assert_eq!(r.status, 500, "{}", r.body);
    let r = curl(port, "/views", &jar);
    assert_eq!((r.status, num(&json(&r), &["views"])), (200, Some(2.0)), "{}", r.body);

    // Redis down: the load fails, 500 (never a silent fresh session).
    redis.kill();
    let r = curl(port, "/views", &jar);
    assert_eq!(r.status, 500);
    redis.restart(); // empty
    let r = curl(port, "/views", &jar);
    assert_eq!((r.status, num(&json(&r), &["views"])), (200, Some(1.0)));
    let key = format!("c:{}", text(&json(&r), &["id"]).unwrap());
    assert!(redis.get(&key).is_some());

    // A stored null is no session.
    redis.command(&["SET", &key, "null"]);
    assert_eq!(num(&json(&curl(port, "/views", &jar)), &["views"]), Some(1.0));

    // Logout: DEL.
    let r = curl(port, "/logout", &jar);
    assert_eq!(r.status, 200);
    assert!(redis.keys("c:*").len() <= 1, "{:?}", redis.keys("*"));
    let remaining = redis.keys("c:*");
    assert!(remaining.iter().all(|k| redis.get(k).as_deref() == Some("null")), "{remaining:?}");

    server.stop();
    let _ = std::fs::remove_dir_all(&dir);
}

/// The C hiredis store itself (examples/c/redis_store.c) against a real
/// redis-server: a new session's save is `SET NX` (a stored ID is kept and
/// another taken), and in versioned mode the second of two racing saves is
/// a conflict from the plan's `EVAL` (tests/c/redis_live.c).
#[test]
fn c_redis_store_set_nx_and_versioned_conflict() {
    const TEST: &str = "c_redis_store_set_nx_and_versioned_conflict";
    if !tools::present(TEST, &["cc", "redis-server"]) {
        return;
    }
    if !Path::new("/usr/include/hiredis/hiredis.h").exists()
        && !tools::skip(TEST, "hiredis headers missing (libhiredis-dev)")
    {
        return;
    }
    let lib = host_build::static_lib();
    let root = env!("CARGO_MANIFEST_DIR");
    let out = profile_dir().join(format!("c-redis-live-{}", std::process::id()));
    let status = Command::new("cc")
        .args(["-std=c99", "-O1", "-g", "-Wall", "-Wextra", "-Wpedantic", "-Werror"])
        .arg(format!("-I{root}/include"))
        .arg(format!("-I{root}/examples/c"))
        .arg(format!("{root}/tests/c/redis_live.c"))
        .arg(format!("{root}/examples/c/redis_store.c"))
        .arg(&lib)
        .args(["-lhiredis", "-lpthread", "-ldl", "-lm", "-o"])
        .arg(&out)
        .status()
        .expect("running cc");
    assert!(status.success(), "building tests/c/redis_live.c failed");
    let redis = redis_server::RedisServer::start();
    let run = Command::new(&out).arg(redis.url()).output().expect("running the C Redis test");
    let stdout = String::from_utf8_lossy(&run.stdout);
    assert!(run.status.success(), "{stdout}{}", String::from_utf8_lossy(&run.stderr));
    assert_eq!(stdout, "ok set nx\nok versioned conflict\n");
    let _ = std::fs::remove_file(&out);
}

//! The demo server (`cargo run --example demo`), driven by a real HTTP client
//! (curl with a cookie jar) across several requests.

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};

struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[path = "common/host_build.rs"]
mod host_build;
#[path = "common/tools.rs"]
mod tools;

/// The demo as `cargo run --example demo` builds it (default features),
/// built apart from this test run's own target directory.
fn demo_binary() -> PathBuf {
    host_build::cargo_build(&["--example", "demo"]).join("examples").join("demo")
}

fn start() -> (Server, String) {
    start_with(&[])
}

fn start_with(args: &[&str]) -> (Server, String) {
    let mut child = Command::new(demo_binary())
        .args(["--port", "0"])
        .args(args)
        .stdout(Stdio::piped())
        .spawn()
        .expect("demo starts");
    let mut line = String::new();
    BufReader::new(child.stdout.take().expect("stdout")).read_line(&mut line).expect("demo prints its URL");
    let url = line.trim().rsplit(' ').next().expect("a URL").to_string();
    assert!(url.starts_with("http://127.0.0.1:"), "printed {line:?}");
    (Server(child), url)
}

/// GET with curl, keeping cookies in `jar`; returns (headers, body).
fn get(url: &str, jar: &std::path::Path) -> (String, String) {
    let out = Command::new("curl")
        .args(["-s", "-i", "-c"])
        .arg(jar)
        .arg("-b")
        .arg(jar)
        .arg(url)
        .output()
        .expect("curl is installed (scripts/test.sh installs it)");
    assert!(out.status.success(), "curl {url} failed");
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    (head.to_string(), body.to_string())
}

fn views(body: &str) -> u32 {
    let at = body.find("<td id=\"views\">").expect("a view count") + 15;
    body[at..].chars().take_while(char::is_ascii_digit).collect::<String>().parse().expect("a number")
}

fn session_cookie(jar: &std::path::Path) -> String {
    let text = std::fs::read_to_string(jar).expect("jar");
    text.lines()
        .find(|l| l.contains("connect.sid"))
        .map(|l| l.rsplit('\t').next().unwrap_or("").to_string())
        .unwrap_or_default()
}

#[test]
fn counts_views_across_requests_with_a_real_client() {
    if !tools::present("counts_views_across_requests_with_a_real_client", &["curl"]) {
        return;
    }
    let (_server, url) = start();
    let dir = std::env::temp_dir().join(format!("libsession-demo-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let jar = dir.join("jar");
    let _ = std::fs::remove_file(&jar);

    let (head, body) = get(&url, &jar);
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    assert!(head.to_ascii_lowercase().contains("set-cookie: connect.sid=s%3a"), "{head}");
    assert_eq!(views(&body), 1);
    let first = session_cookie(&jar);
    for n in 2..=4 {
        assert_eq!(views(&get(&url, &jar).1), n);
    }
    assert_eq!(session_cookie(&jar), first, "the same session is kept");

    // A tampered cookie is a new visitor.
    let mut chars: Vec<char> = first.chars().collect();
    let last = chars.len() - 1;
    chars[last] = if chars[last] == 'A' { 'B' } else { 'A' };
    let tampered: String = chars.into_iter().collect();
    let out = Command::new("curl")
        .args(["-s", "-H", &format!("Cookie: connect.sid={tampered}"), &url])
        .output()
        .expect("curl");
    assert_eq!(views(&String::from_utf8_lossy(&out.stdout)), 1);

    // Login regenerates: a new ID, fresh data.
    get(&format!("{url}login"), &jar);
    let regenerated = session_cookie(&jar);
    assert_ne!(regenerated, first);
    assert_eq!(views(&get(&url, &jar).1), 1);

    // Logout destroys: the next request starts over.
    get(&format!("{url}logout"), &jar);
    let (head, body) = get(&url, &jar);
    assert_eq!(views(&body), 1);
    assert!(head.to_ascii_lowercase().contains("set-cookie"), "a new session cookie after logout");
    assert_ne!(session_cookie(&jar), regenerated);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn reads_an_express_session_options_file() {
    if !tools::present("reads_an_express_session_options_file", &["curl"]) {
        return;
    }
    let dir = std::env::temp_dir().join(format!("libsession-demo-options-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let options = dir.join("session.json");
    std::fs::write(
        &options,
        r#"{"secret":"one file for Node and libsession","name":"app.sid","resave":false,"saveUninitialized":false,
            "cookie":{"maxAge":60000,"sameSite":"strict"},"store":{"prefix":"app:","ttl":600,"disableTouch":true,"reapInterval":100,"maxAge":60000}}"#,
    )
    .unwrap();
    let (_server, url) = start_with(&["--options", options.to_str().unwrap()]);
    let jar = dir.join("jar");
    let (head, body) = get(&url, &jar);
    let head = head.to_ascii_lowercase();
    assert!(head.contains("set-cookie: app.sid=s%3a"), "the cookie name from the file: {head}");
    assert!(head.contains("expires=") && head.contains("samesite=strict"), "cookie options from the file: {head}");
    assert_eq!(views(&body), 1);
    assert_eq!(views(&get(&url, &jar).1), 2);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn bad_arguments_and_options_are_usage_errors() {
    let run = |args: &[&str]| Command::new(demo_binary()).args(args).output().expect("demo runs");
    let help = run(&["--help"]);
    assert!(help.status.success(), "--help exits 0");
    assert!(String::from_utf8_lossy(&help.stdout).contains("--options"), "--help lists the options");
    for (args, says) in [
        (vec!["--port", "abc"], "--port needs a port number"),
        (vec!["--port", "70000"], "--port needs a port number"),
        (vec!["--frobnicate"], "unknown argument --frobnicate"),
        (vec!["--options", "/nonexistent/session.json"], "cannot read /nonexistent/session.json"),
    ] {
        let out = run(&args);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains(says), "{args:?}: {stderr}");
    }
    let dir = std::env::temp_dir().join(format!("libsession-demo-bad-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    for (text, says) in [
        ("{not json", "not JSON"),
        ("[1]", "a JSON object"),
        (r#"{"secret":"s","store":{"serializer":"x"}}"#, "serializer"),
        (r#"{"secret":"s","store":{"reapInterval":0}}"#, "reapInterval must be"),
        (r#"{"secret":"s","resave":"yes"}"#, "session.json"),
    ] {
        let file = dir.join("session.json");
        std::fs::write(&file, text).unwrap();
        let out = run(&["--options", file.to_str().unwrap()]);
        assert_eq!(out.status.code(), Some(2), "{text}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains(says), "{text}: {stderr}");
    }
    let _ = std::fs::remove_dir_all(&dir);
}

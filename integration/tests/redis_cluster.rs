//! The connect-redis compatible store on a real Redis Cluster (three
//! masters started by the test): sessions spread over every master are
//! saved, loaded, touched and destroyed with the same keys, records and TTLs
//! as on one server; the engine's whole cycle runs through the tower layer;
//! and an express-session + connect-redis app on the same cluster (node-redis
//! `createCluster`) continues a session the Rust side created.

#![allow(clippy::disallowed_methods)] // a test host: it reads the clock

#[path = "../../tests/common/redis_server.rs"]
mod redis_server;
#[path = "../../tests/common/tools.rs"]
mod tools;

use std::sync::Arc;

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use axum::routing::get;
use axum::{Extension, Router};
use http_body_util::BodyExt;
use libsession_engine::Config;
use libsession_engine::async_driver::AsyncStore;
use libsession_engine::redis_store::RedisStore;
use libsession_engine::tower_layer::{Session, SessionLayer};
use redis_server::RedisCluster;
use tower::ServiceExt;

const NOW: i64 = 1_700_000_000_000;

/// One cluster (three servers and a join) for both parts, stopped at the end.
#[tokio::test]
async fn a_redis_cluster_holds_sessions_for_rust_and_node() {
    let test = "a_redis_cluster_holds_sessions_for_rust_and_node";
    if !tools::present(test, &["redis-server", "redis-cli"]) {
        return;
    }
    let cluster = RedisCluster::start();
    sessions_spread_over_every_master_with_connect_redis_keys_and_ttls(&cluster).await;
    the_engine_and_a_node_app_share_sessions_on_the_cluster(&cluster).await;
}

async fn sessions_spread_over_every_master_with_connect_redis_keys_and_ttls(cluster: &RedisCluster) {
    // Known by one node only: the client discovers the others.
    let store = RedisStore::open_cluster([&cluster.urls()[0]]).unwrap();
    let record =
        r#"{"cookie":{"originalMaxAge":60000,"expires":"2023-11-14T22:14:20.000Z","httpOnly":true,"path":"/"},"n":1}"#;
    let ids: Vec<String> = (0..30).map(|i| format!("cluster-session-{i}")).collect();
    for id in &ids {
        store.set(id, record, Some(NOW + 60_000), NOW).await.unwrap();
    }
    let mut per_node = vec![0; cluster.nodes.len()];
    for id in &ids {
        let key = format!("sess:{id}");
        let owner = cluster.owner(&key).unwrap_or_else(|| panic!("{key} is stored on a master"));
        assert_eq!(owner.get(&key).as_deref(), Some(record), "the record, byte for byte");
        assert_eq!(owner.ttl(&key), 60);
        per_node[cluster.nodes.iter().position(|n| n.port == owner.port).unwrap()] += 1;
        assert_eq!(store.get(id, NOW).await.unwrap().as_deref(), Some(record.as_bytes()));
    }
    assert!(per_node.iter().all(|&n| n > 0), "every master holds sessions: {per_node:?}");

    for id in &ids {
        store.touch(id, record, Some(NOW + 3_600_000), NOW).await.unwrap();
        let key = format!("sess:{id}");
        assert_eq!(cluster.owner(&key).unwrap().ttl(&key), 3600, "touch = EXPIRE on the owning master");
        store.destroy(id, NOW).await.unwrap();
        assert!(cluster.owner(&key).is_none(), "destroyed");
        assert_eq!(store.get(id, NOW).await.unwrap(), None);
    }
}

async fn count(Extension(session): Extension<Session>) -> String {
    let views = session.get::<u64>("views").unwrap().unwrap_or(0) + 1;
    session.insert("views", &views).unwrap();
    views.to_string()
}

async fn send(app: &Router, cookie: Option<&str>) -> (StatusCode, Option<String>, String) {
    let mut req = Request::builder().uri("/views");
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

async fn the_engine_and_a_node_app_share_sessions_on_the_cluster(cluster: &RedisCluster) {
    let secret = "cluster secret, thirty-two bytes long";
    let config = Arc::new(Config::builder().secret(secret).build().unwrap());
    let store = RedisStore::open_cluster(cluster.urls()).unwrap();
    let app = Router::new().route("/views", get(count)).layer(SessionLayer::new(config, store));

    // Rust sessions on every master.
    let mut cookies = Vec::new();
    for _ in 0..12 {
        let (status, cookie, body) = send(&app, None).await;
        assert_eq!((status, body.as_str()), (StatusCode::OK, "1"));
        cookies.push(cookie.unwrap());
    }
    for cookie in &cookies {
        assert_eq!(send(&app, Some(cookie)).await.2, "2");
    }

    // The Node app (connect-redis on a node-redis cluster client) continues them.
    if !tools::present("the_engine_and_a_node_app_share_sessions_on_the_cluster (node)", &["node"]) {
        return;
    }
    let interop = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/interop");
    if !interop.join("node_modules").exists() {
        tools::skip(
            "the_engine_and_a_node_app_share_sessions_on_the_cluster",
            "tests/interop/node_modules is missing (npm ci)",
        );
        return;
    }
    let options = format!(r#"{{"secret":"{secret}","resave":false,"saveUninitialized":false}}"#);
    let node = NodeApp::start(&interop, &cluster.urls()[1], &options);
    for cookie in &cookies {
        let body = node.get("/views", cookie);
        assert!(body.contains("\"views\":3"), "Node read the Rust session from the cluster: {body}");
    }
    // And back: Rust sees Node's increments.
    for cookie in &cookies {
        assert_eq!(send(&app, Some(cookie)).await.2, "4");
    }
}

/// `tests/interop/app.js` on the cluster (`REDIS_CLUSTER=1`).
struct NodeApp {
    child: std::process::Child,
    port: u16,
}

impl NodeApp {
    fn start(dir: &std::path::Path, node_url: &str, options: &str) -> NodeApp {
        use std::io::BufRead;
        let mut child = std::process::Command::new("node")
            .arg("app.js")
            .current_dir(dir)
            .env("REDIS_URL", node_url)
            .env("REDIS_CLUSTER", "1")
            .env("SESSION_OPTIONS", options)
            .env("PORT", "0")
            .stdout(std::process::Stdio::piped())
            .spawn()
            .expect("node starts");
        let stdout = child.stdout.take().expect("stdout");
        let mut line = String::new();
        std::io::BufReader::new(stdout).read_line(&mut line).expect("node prints its port");
        let port = line.trim().strip_prefix("listening on ").and_then(|p| p.parse().ok());
        let Some(port) = port else {
            let _ = child.kill();
            panic!("the Node app did not start: {line:?}");
        };
        NodeApp { child, port }
    }

    /// GET `path` with `cookie`; the body.
    fn get(&self, path: &str, cookie: &str) -> String {
        use std::io::{Read, Write};
        let mut stream = std::net::TcpStream::connect(("127.0.0.1", self.port)).expect("connect");
        write!(stream, "GET {path} HTTP/1.1\r\nHost: x\r\nCookie: {cookie}\r\nConnection: close\r\n\r\n").unwrap();
        let mut response = String::new();
        stream.read_to_string(&mut response).unwrap();
        response.split_once("\r\n\r\n").map(|(_, b)| b.to_string()).unwrap_or_default()
    }
}

impl Drop for NodeApp {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

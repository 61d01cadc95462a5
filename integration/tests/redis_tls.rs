//! `rediss://`: the connect-redis compatible store over TLS (feature
//! `redis-tls`, rustls) against a real `redis-server` serving TLS with a
//! certificate from a private CA the test makes with `openssl`.

#[path = "../../tests/common/redis_server.rs"]
mod redis_server;
#[path = "../../tests/common/tools.rs"]
mod tools;

use std::path::Path;
use std::process::Command;

use libsession_engine::async_driver::AsyncStore;
use libsession_engine::redis_store::RedisStore;
use redis_server::{RedisServer, free_port};

const NOW: i64 = 1_700_000_000_000;

/// A CA and a server certificate for 127.0.0.1 it signed, in `dir`.
fn make_certificates(dir: &Path) {
    let run = |args: &[&str]| {
        let out = Command::new("openssl").args(args).current_dir(dir).output().expect("openssl runs");
        assert!(out.status.success(), "openssl {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    };
    run(&[
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-keyout",
        "ca.key",
        "-out",
        "ca.pem",
        "-days",
        "2",
        "-subj",
        "/CN=libsession test CA",
    ]);
    std::fs::write(dir.join("san.ext"), "subjectAltName=IP:127.0.0.1\n").expect("write");
    run(&[
        "req",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-keyout",
        "server.key",
        "-out",
        "server.csr",
        "-subj",
        "/CN=127.0.0.1",
    ]);
    run(&[
        "x509",
        "-req",
        "-in",
        "server.csr",
        "-CA",
        "ca.pem",
        "-CAkey",
        "ca.key",
        "-CAcreateserial",
        "-out",
        "server.pem",
        "-days",
        "2",
        "-extfile",
        "san.ext",
    ]);
}

#[tokio::test]
async fn rediss_urls_use_tls_and_verify_the_server() {
    let test = "rediss_urls_use_tls_and_verify_the_server";
    if !tools::present(test, &["redis-server", "openssl"]) {
        return;
    }
    let dir = std::env::temp_dir().join(format!("libsession-tls-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    make_certificates(&dir);
    let tls_port = free_port();
    let path = |f: &str| dir.join(f).to_string_lossy().into_owned();
    let redis = RedisServer::start_with(&[
        "--tls-port",
        &tls_port.to_string(),
        "--tls-cert-file",
        &path("server.pem"),
        "--tls-key-file",
        &path("server.key"),
        "--tls-ca-cert-file",
        &path("ca.pem"),
        "--tls-auth-clients",
        "no",
    ]);
    let url = format!("rediss://127.0.0.1:{tls_port}/");

    // Trusting the private CA: the store works as over plain TCP.
    let ca = std::fs::read(dir.join("ca.pem")).expect("ca.pem");
    let client =
        redis::Client::build_with_tls(url.as_str(), redis::TlsCertificates { client_tls: None, root_cert: Some(ca) })
            .expect("a TLS client");
    let store = RedisStore::with_client(client);
    store.set("tls", r#"{"cookie":{},"n":1}"#, Some(NOW + 60_000), NOW).await.unwrap();
    assert_eq!(redis.get("sess:tls").as_deref(), Some(r#"{"cookie":{},"n":1}"#), "written over TLS");
    assert_eq!(redis.ttl("sess:tls"), 60);
    assert_eq!(store.get("tls", NOW).await.unwrap().as_deref(), Some(&br#"{"cookie":{},"n":1}"#[..]));
    store.destroy("tls", NOW).await.unwrap();
    assert_eq!(redis.get("sess:tls"), None);

    // The system's roots do not know the private CA: a clear store failure.
    let untrusted = RedisStore::open(&url).unwrap();
    let err = untrusted.get("tls", NOW).await.unwrap_err();
    assert!(err.message().to_lowercase().contains("certificate"), "{}", err.message());
    let _ = std::fs::remove_dir_all(&dir);
}

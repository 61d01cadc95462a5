//! The tower layer's `Session` as an axum extractor (feature `axum`).

use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use axum::routing::get;
use http_body_util::BodyExt;
use libsession_engine::tower_layer::{Session, SessionLayer};
use libsession_engine::{Config, MemoryStore};
use tower::ServiceExt;

async fn count(session: Session) -> String {
    let views = session.get::<u64>("views").unwrap().unwrap_or(0) + 1;
    session.insert("views", &views).unwrap();
    views.to_string()
}

async fn call(app: &Router, cookie: Option<&str>) -> (StatusCode, Option<String>, String) {
    let mut req = Request::builder().uri("/");
    if let Some(c) = cookie {
        req = req.header(header::COOKIE, c);
    }
    let response = app.clone().oneshot(req.body(Body::empty()).unwrap()).await.unwrap();
    let status = response.status();
    let cookie =
        response.headers().get(header::SET_COOKIE).map(|v| v.to_str().unwrap().split(';').next().unwrap().to_string());
    let body = response.into_body().collect().await.unwrap().to_bytes();
    (status, cookie, String::from_utf8(body.to_vec()).unwrap())
}

#[tokio::test]
async fn handlers_take_the_session_as_an_argument() {
    let config = Arc::new(Config::builder().secret("axum extractor secret, 32 bytes or more").build().unwrap());
    let app = Router::new().route("/", get(count)).layer(SessionLayer::new(config, MemoryStore::new()));
    let (status, cookie, body) = call(&app, None).await;
    assert_eq!((status, body.as_str()), (StatusCode::OK, "1"));
    let cookie = cookie.expect("a session cookie");
    assert_eq!(call(&app, Some(&cookie)).await.2, "2");
    assert_eq!(call(&app, Some(&cookie)).await.2, "3");
}

#[tokio::test]
async fn without_the_layer_the_extractor_answers_500_and_says_why() {
    let app = Router::new().route("/", get(count));
    let (status, cookie, body) = call(&app, None).await;
    assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(cookie, None);
    assert!(body.contains("SessionLayer"), "{body}");
}

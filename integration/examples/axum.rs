//! An axum app with libsession: express-session's view counter, login and
//! logout, on the in-memory store or on Redis (connect-redis's records).
//!
//! ```text
//! cargo run -p libsession-integration --example axum                  # http://127.0.0.1:3000/
//! cargo run -p libsession-integration --example axum --features redis -- --redis redis://127.0.0.1:6379/
//! ```

use std::sync::Arc;

use axum::{Router, routing::get};
use libsession_engine::tower_layer::{Session, SessionLayer};
use libsession_engine::{Config, MemoryStore};

async fn count(session: Session) -> String {
    let views = session.get::<u64>("views").ok().flatten().unwrap_or(0) + 1;
    let _ = session.insert("views", &views);
    format!("Views: {views}\n")
}

async fn login(session: Session) -> Result<&'static str, String> {
    session.regenerate().await.map_err(|e| e.to_string())?; // a new ID at login (session fixation)
    session.insert("user", "alice").map_err(|e| e.to_string())?;
    Ok("logged in\n")
}

async fn logout(session: Session) -> Result<&'static str, String> {
    session.destroy().await.map_err(|e| e.to_string())?;
    Ok("logged out\n")
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let arg = |name: &str| args.iter().position(|a| a == name).and_then(|i| args.get(i + 1)).cloned();
    let secret = std::env::var("SESSION_SECRET")
        .unwrap_or_else(|_| "axum example: set SESSION_SECRET to 32+ random bytes".into());
    let config = Arc::new(Config::builder().secret(secret).max_age(Some(86_400_000.0)).build()?);
    let layer = match arg("--redis") {
        #[cfg(feature = "redis")]
        Some(url) => SessionLayer::new(config, libsession_engine::redis_store::RedisStore::open(&url)?),
        #[cfg(not(feature = "redis"))]
        Some(_) => return Err("--redis needs the `redis` feature".into()),
        None => SessionLayer::new(config, MemoryStore::new()),
    };
    let app = Router::new().route("/", get(count)).route("/login", get(login)).route("/logout", get(logout));
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", arg("--port").map_or(Ok(3000), |p| p.parse())?)).await?;
    println!("listening on http://{}/", listener.local_addr()?);
    axum::serve(listener, app.layer(layer)).await?;
    Ok(())
}

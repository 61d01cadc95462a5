//! A Redis store compatible with connect-redis (feature `redis`): the same
//! keys, values and TTLs as connect-redis 9 (and every release since 3.x)
//! behind express-session, so a Node app and a Rust app can share sessions.
//! The exact rules are in `docs/redis.md`:
//!
//! * key = prefix (default `sess:`) + the session ID (unsigned);
//! * value = the record's JSON text, exactly as the engine wrote it;
//! * TTL (seconds) = `ceil((expires_at - now) / 1000)` when the cookie has an
//!   expiry, else the default TTL (86400, connect-redis's `ttl`); a save with
//!   a TTL <= 0 deletes the key instead of writing it;
//! * touch = `EXPIRE key ttl` (nothing with `disable_touch` or `disable_ttl`);
//!   destroy = `DEL key`.
//!
//! It runs on tokio (the `redis` crate's multiplexed connection). The store
//! connects on first use; any failed command (a dropped connection, a
//! refused connection, a timeout) is the engine's store failure with the
//! error's message, and the connection is discarded so that the next
//! operation connects anew.

use std::fmt;
use std::time::Duration;

use redis::AsyncConnectionConfig;
use redis::aio::MultiplexedConnection;

use crate::action::StoreKind;
use crate::async_driver::{AsyncStore, StoreError, StoreFuture};
use crate::record::{CONNECT_REDIS_DEFAULT_TTL, connect_redis_ttl};

/// connect-redis's default key prefix.
pub const DEFAULT_PREFIX: &str = "sess:";
/// connect-redis's default TTL in seconds (one day), for sessions whose
/// cookie has no expiry.
pub const DEFAULT_TTL: i64 = CONNECT_REDIS_DEFAULT_TTL;

/// A connect-redis compatible session store.
pub struct RedisStore {
    client: redis::Client,
    /// The connection and its generation (so that a failure discards only
    /// the connection that failed, not a newer one).
    conn: tokio::sync::Mutex<(u64, Option<MultiplexedConnection>)>,
    prefix: String,
    default_ttl: i64,
    disable_touch: bool,
    disable_ttl: bool,
    connection_timeout: Duration,
    response_timeout: Duration,
}

impl fmt::Debug for RedisStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisStore")
            .field("server", &self.client.get_connection_info().addr().to_string())
            .field("prefix", &self.prefix)
            .field("default_ttl", &self.default_ttl)
            .field("disable_touch", &self.disable_touch)
            .field("disable_ttl", &self.disable_ttl)
            .finish_non_exhaustive()
    }
}

impl RedisStore {
    /// A store for the server at `url` (`redis://host:port/db`,
    /// `redis://:password@host`, `rediss://` is not enabled). Does not
    /// connect yet: only a malformed URL fails here.
    pub fn open(url: &str) -> Result<Self, StoreError> {
        redis::Client::open(url).map(RedisStore::with_client).map_err(|e| StoreError::new(e.to_string()))
    }

    /// A store on an existing client, with connect-redis's defaults.
    pub fn with_client(client: redis::Client) -> Self {
        RedisStore {
            client,
            conn: tokio::sync::Mutex::new((0, None)),
            prefix: DEFAULT_PREFIX.to_string(),
            default_ttl: DEFAULT_TTL,
            disable_touch: false,
            disable_ttl: false,
            connection_timeout: Duration::from_secs(2),
            response_timeout: Duration::from_secs(2),
        }
    }

    /// connect-redis's `prefix` (default `sess:`; may be empty).
    pub fn prefix(mut self, prefix: impl Into<String>) -> Self {
        self.prefix = prefix.into();
        self
    }

    /// connect-redis's `ttl` as a number: the TTL in seconds of sessions
    /// whose cookie has no expiry (default 86400). connect-redis reads its
    /// option as `ttl || 86400`, so its `ttl: 0` means 86400 here too; a
    /// negative value makes such sessions be deleted instead of saved.
    pub fn default_ttl(mut self, seconds: i64) -> Self {
        self.default_ttl = if seconds == 0 { DEFAULT_TTL } else { seconds };
        self
    }

    /// connect-redis's `disableTouch`: touches do nothing (the TTL is only
    /// renewed when the session is saved).
    pub fn disable_touch(mut self, on: bool) -> Self {
        self.disable_touch = on;
        self
    }

    /// connect-redis's `disableTTL`: records are written without expiry and
    /// touches do nothing. (A save whose TTL is <= 0 still deletes.)
    pub fn disable_ttl(mut self, on: bool) -> Self {
        self.disable_ttl = on;
        self
    }

    /// How long connecting may take before the operation fails (default 2 s).
    pub fn connection_timeout(mut self, timeout: Duration) -> Self {
        self.connection_timeout = timeout;
        self
    }

    /// How long a command may wait for its reply before it fails (default 2 s).
    pub fn response_timeout(mut self, timeout: Duration) -> Self {
        self.response_timeout = timeout;
        self
    }

    /// The key of session `sid`: prefix + sid.
    pub fn key(&self, sid: &str) -> String {
        let mut key = String::with_capacity(self.prefix.len() + sid.len());
        key.push_str(&self.prefix);
        key.push_str(sid);
        key
    }

    /// connect-redis's `getTTL`, in seconds: `ceil((expires_at - now) / 1000)`
    /// for a cookie that expires at `expires_at` (Unix ms, as in
    /// [`Action::Save`](crate::Action::Save)), else the default TTL.
    pub fn ttl(&self, expires_at: Option<i64>, now: i64) -> i64 {
        connect_redis_ttl(expires_at, now, self.default_ttl)
    }

    async fn connection(&self) -> Result<(u64, MultiplexedConnection), StoreError> {
        let mut slot = self.conn.lock().await;
        if let Some(conn) = &slot.1 {
            return Ok((slot.0, conn.clone()));
        }
        let config = AsyncConnectionConfig::new()
            .set_connection_timeout(Some(self.connection_timeout))
            .set_response_timeout(Some(self.response_timeout));
        let conn = self
            .client
            .get_multiplexed_async_connection_with_config(&config)
            .await
            .map_err(|e| StoreError::new(e.to_string()))?;
        slot.0 += 1;
        slot.1 = Some(conn.clone());
        Ok((slot.0, conn))
    }

    /// Runs one command; a failure discards the connection it used.
    async fn query<T: redis::FromRedisValue>(&self, cmd: &redis::Cmd) -> Result<T, StoreError> {
        let (generation, mut conn) = self.connection().await?;
        match cmd.query_async(&mut conn).await {
            Ok(value) => Ok(value),
            Err(e) => {
                let mut slot = self.conn.lock().await;
                if slot.0 == generation {
                    slot.1 = None;
                }
                Err(StoreError::new(e.to_string()))
            }
        }
    }

    /// `PING`: whether the server answers (connecting if need be).
    pub async fn ping(&self) -> Result<(), StoreError> {
        self.query::<()>(&redis::cmd("PING")).await
    }

    async fn get_record(&self, sid: &str) -> Result<Option<Vec<u8>>, StoreError> {
        let data: Option<Vec<u8>> = self.query(redis::cmd("GET").arg(self.key(sid))).await?;
        // connect-redis: `if (!data) return null` (an empty string is no record).
        Ok(data.filter(|d| !d.is_empty()))
    }

    async fn set_record(&self, sid: &str, record: &str, expires_at: Option<i64>, now: i64) -> Result<(), StoreError> {
        let ttl = self.ttl(expires_at, now);
        let key = self.key(sid);
        if ttl <= 0 {
            return self.query(redis::cmd("DEL").arg(key)).await;
        }
        let mut cmd = redis::cmd("SET");
        cmd.arg(key).arg(record);
        if !self.disable_ttl {
            cmd.arg("EX").arg(ttl);
        }
        self.query(&cmd).await
    }

    /// [`set_record`](Self::set_record) of a new session's ID with `SET NX`
    /// (insert-if-absent): `false` when the key exists (it is kept).
    async fn insert_record(
        &self,
        sid: &str,
        record: &str,
        expires_at: Option<i64>,
        now: i64,
    ) -> Result<bool, StoreError> {
        let ttl = self.ttl(expires_at, now);
        if ttl <= 0 {
            // Expired before it is stored: nothing to insert (connect-redis deletes).
            return self.query(redis::cmd("DEL").arg(self.key(sid))).await.map(|()| true);
        }
        let mut cmd = redis::cmd("SET");
        cmd.arg(self.key(sid)).arg(record).arg("NX");
        if !self.disable_ttl {
            cmd.arg("EX").arg(ttl);
        }
        // "OK" when set, nil when the key exists.
        self.query::<Option<String>>(&cmd).await.map(|set| set.is_some())
    }

    async fn touch_record(&self, sid: &str, expires_at: Option<i64>, now: i64) -> Result<(), StoreError> {
        if self.disable_touch || self.disable_ttl {
            return Ok(());
        }
        // A non-positive TTL makes Redis delete the key, as with connect-redis.
        self.query(redis::cmd("EXPIRE").arg(self.key(sid)).arg(self.ttl(expires_at, now))).await
    }

    async fn destroy_record(&self, sid: &str) -> Result<(), StoreError> {
        self.query(redis::cmd("DEL").arg(self.key(sid))).await
    }
}

impl AsyncStore for RedisStore {
    fn get<'a>(&'a self, id: &'a str, _now: i64) -> StoreFuture<'a, Option<Vec<u8>>> {
        StoreFuture::boxed(self.get_record(id))
    }

    fn set<'a>(&'a self, id: &'a str, record: &'a str, expires_at: Option<i64>, now: i64) -> StoreFuture<'a, ()> {
        StoreFuture::boxed(self.set_record(id, record, expires_at, now))
    }

    fn insert<'a>(&'a self, id: &'a str, record: &'a str, expires_at: Option<i64>, now: i64) -> StoreFuture<'a, bool> {
        StoreFuture::boxed(self.insert_record(id, record, expires_at, now))
    }

    fn touch<'a>(&'a self, id: &'a str, _record: &'a str, expires_at: Option<i64>, now: i64) -> StoreFuture<'a, ()> {
        StoreFuture::boxed(self.touch_record(id, expires_at, now))
    }

    fn destroy<'a>(&'a self, id: &'a str, _now: i64) -> StoreFuture<'a, ()> {
        StoreFuture::boxed(self.destroy_record(id))
    }

    /// Redis's TTL is the authority: a touch refreshes only the TTL, so the
    /// stored `cookie.expires` may be stale, and `null` is no session.
    fn kind(&self) -> StoreKind {
        StoreKind::Ttl
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_and_ttls_follow_connect_redis() {
        let store = RedisStore::open("redis://127.0.0.1:1/").unwrap();
        assert_eq!(store.key("abc"), "sess:abc");
        assert_eq!(RedisStore::open("redis://127.0.0.1:1/").unwrap().prefix("").key("abc"), "abc");
        let now = 1_700_000_000_000;
        assert_eq!(store.ttl(Some(now + 60_000), now), 60);
        assert_eq!(store.ttl(Some(now + 59_001), now), 60);
        assert_eq!(store.ttl(Some(now + 1), now), 1);
        assert_eq!(store.ttl(Some(now), now), 0);
        assert_eq!(store.ttl(Some(now - 1), now), 0);
        assert_eq!(store.ttl(Some(now - 1_500), now), -1);
        assert!(store.ttl(Some(i64::MIN), now) < -9_000_000_000_000_000 / 1000);
        assert_eq!(store.ttl(None, now), 86_400);
        assert_eq!(store.ttl(None, now), DEFAULT_TTL);
        let store = store.default_ttl(600);
        assert_eq!(store.ttl(None, now), 600);
        assert_eq!(store.default_ttl(0).ttl(None, now), 86_400);
        assert!(RedisStore::open("not a url").is_err());
    }
}

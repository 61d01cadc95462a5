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
//! connects on first use. A command that finds its connection broken (the
//! server restarted or closed it) reconnects and runs once more; any other
//! failure (refused, timed out, an error reply, or the retry failing) is the
//! engine's store failure with the error's message, and the connection is
//! discarded so that the next operation connects anew.

use std::fmt;
use std::time::Duration;

use redis::AsyncConnectionConfig;
use redis::aio::MultiplexedConnection;

use crate::action::StoreKind;
use crate::async_driver::{AsyncStore, StoreError, StoreFuture};
use crate::connect_redis::{ConnectRedisOptions, RedisCommand};
use crate::record::CONNECT_REDIS_DEFAULT_TTL;

/// connect-redis's default key prefix.
pub const DEFAULT_PREFIX: &str = crate::connect_redis::DEFAULT_PREFIX;
/// connect-redis's default TTL in seconds (one day), for sessions whose
/// cookie has no expiry.
pub const DEFAULT_TTL: i64 = CONNECT_REDIS_DEFAULT_TTL;

/// Where the store sends its commands.
enum Server {
    /// One server (or a proxy in front of several).
    Single(Box<redis::Client>),
    /// A Redis Cluster, known by some of its nodes; the cluster client is
    /// built at connect time, with the store's timeouts.
    #[cfg(feature = "redis-cluster")]
    Cluster(Vec<redis::ConnectionInfo>),
}

impl Server {
    fn describe(&self) -> String {
        match self {
            Server::Single(client) => client.get_connection_info().addr().to_string(),
            #[cfg(feature = "redis-cluster")]
            Server::Cluster(nodes) => {
                let nodes: Vec<String> = nodes.iter().map(|n| n.addr().to_string()).collect();
                format!("cluster [{}]", nodes.join(", "))
            }
        }
    }
}

/// An open connection: a multiplexed one to a single server, or a cluster
/// connection (which routes each single-key command to its slot's master).
#[derive(Clone)]
enum Conn {
    Single(MultiplexedConnection),
    #[cfg(feature = "redis-cluster")]
    Cluster(redis::cluster_async::ClusterConnection),
}

impl Conn {
    async fn query<T: redis::FromRedisValue>(&mut self, cmd: &redis::Cmd) -> redis::RedisResult<T> {
        match self {
            Conn::Single(conn) => cmd.query_async(conn).await,
            #[cfg(feature = "redis-cluster")]
            Conn::Cluster(conn) => cmd.query_async(conn).await,
        }
    }
}

/// A connect-redis compatible session store.
pub struct RedisStore {
    server: Server,
    /// The connection and its generation (so that a failure discards only
    /// the connection that failed, not a newer one).
    conn: tokio::sync::Mutex<(u64, Option<Conn>)>,
    /// connect-redis's options: they decide every command (one rule, shared
    /// with the C ABI and so with every host).
    options: ConnectRedisOptions,
    connection_timeout: Duration,
    response_timeout: Duration,
}

impl fmt::Debug for RedisStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisStore")
            .field("server", &self.server.describe())
            .field("options", &self.options)
            .finish_non_exhaustive()
    }
}

impl RedisStore {
    /// A store for the server at `url` (`redis://host:port/db`,
    /// `redis://user:password@host`, `redis+unix:///path`, and with the
    /// `redis-tls` feature `rediss://host:port/db`, verified against the
    /// system's root certificates). Does not connect yet: only a malformed
    /// URL fails here.
    pub fn open(url: &str) -> Result<Self, StoreError> {
        redis::Client::open(url).map(RedisStore::with_client).map_err(|e| StoreError::new(e.to_string()))
    }

    /// A store on an existing client (for instance one built with
    /// `redis::Client::build_with_tls` to trust a private CA), with
    /// connect-redis's defaults.
    pub fn with_client(client: redis::Client) -> Self {
        RedisStore::on(Server::Single(Box::new(client)))
    }

    /// A store on a Redis Cluster (feature `redis-cluster`), given the URLs
    /// of some of its nodes (`redis://` or, with `redis-tls`, `rediss://`).
    /// Every command is a single-key one, so any slot layout works; keys,
    /// records and TTLs are the same as on one server (connect-redis on a
    /// cluster client writes the same). Does not connect yet.
    #[cfg(feature = "redis-cluster")]
    pub fn open_cluster<S: AsRef<str>>(nodes: impl IntoIterator<Item = S>) -> Result<Self, StoreError> {
        use redis::IntoConnectionInfo as _;
        let nodes = nodes
            .into_iter()
            .map(|url| url.as_ref().into_connection_info().map_err(|e| StoreError::new(e.to_string())))
            .collect::<Result<Vec<_>, _>>()?;
        if nodes.is_empty() {
            return Err(StoreError::new("a cluster needs at least one node URL"));
        }
        Ok(RedisStore::on(Server::Cluster(nodes)))
    }

    fn on(server: Server) -> Self {
        RedisStore {
            server,
            conn: tokio::sync::Mutex::new((0, None)),
            options: ConnectRedisOptions::default(),
            connection_timeout: Duration::from_secs(2),
            response_timeout: Duration::from_secs(2),
        }
    }

    /// All of connect-redis's options at once, e.g. read from its options
    /// object with [`ConnectRedisOptions::from_json`].
    pub fn options(mut self, options: ConnectRedisOptions) -> Self {
        self.options = options;
        self
    }

    /// connect-redis's `prefix` (default `sess:`; may be empty).
    pub fn prefix(mut self, prefix: impl Into<String>) -> Self {
        self.options = self.options.prefix(prefix);
        self
    }

    /// connect-redis's `ttl` as a number: the TTL in seconds of sessions
    /// whose cookie has no expiry (default 86400). connect-redis reads its
    /// option as `ttl || 86400`, so its `ttl: 0` means 86400 here too; a
    /// negative value makes such sessions be deleted instead of saved.
    pub fn default_ttl(mut self, seconds: i64) -> Self {
        self.options = self.options.ttl(seconds);
        self
    }

    /// connect-redis's `disableTouch`: touches do nothing (the TTL is only
    /// renewed when the session is saved).
    pub fn disable_touch(mut self, on: bool) -> Self {
        self.options = self.options.disable_touch(on);
        self
    }

    /// connect-redis's `disableTTL`: records are written without expiry and
    /// touches do nothing. (A save whose TTL is <= 0 still deletes.)
    pub fn disable_ttl(mut self, on: bool) -> Self {
        self.options = self.options.disable_ttl(on);
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
        self.options.key(sid)
    }

    /// connect-redis's `getTTL`, in seconds: `ceil((expires_at - now) / 1000)`
    /// for a cookie that expires at `expires_at` (Unix ms, as in
    /// [`Action::Save`](crate::Action::Save)), else the default TTL.
    pub fn ttl(&self, expires_at: Option<i64>, now: i64) -> i64 {
        self.options.ttl_for(expires_at, now)
    }

    /// The shared connection, connecting if there is none; `fresh` says it
    /// was made by this call (so a failure on it is not a stale connection's).
    async fn connection(&self) -> Result<Connection, StoreError> {
        let mut slot = self.conn.lock().await;
        if let Some(conn) = &slot.1 {
            return Ok(Connection { generation: slot.0, fresh: false, conn: conn.clone() });
        }
        let conn = self.connect().await.map_err(|e| StoreError::new(e.to_string()))?;
        slot.0 += 1;
        slot.1 = Some(conn.clone());
        Ok(Connection { generation: slot.0, fresh: true, conn })
    }

    async fn connect(&self) -> redis::RedisResult<Conn> {
        match &self.server {
            Server::Single(client) => {
                let config = AsyncConnectionConfig::new()
                    .set_connection_timeout(Some(self.connection_timeout))
                    .set_response_timeout(Some(self.response_timeout));
                client.get_multiplexed_async_connection_with_config(&config).await.map(Conn::Single)
            }
            #[cfg(feature = "redis-cluster")]
            Server::Cluster(nodes) => {
                let client = redis::cluster::ClusterClient::builder(nodes.clone())
                    .connection_timeout(self.connection_timeout)
                    .response_timeout(self.response_timeout)
                    .build()?;
                client.get_async_connection().await.map(Conn::Cluster)
            }
        }
    }

    /// Forgets the connection of `generation` (not a newer one), so that the
    /// next command connects anew.
    async fn discard(&self, generation: u64) {
        let mut slot = self.conn.lock().await;
        if slot.0 == generation {
            slot.1 = None;
        }
    }

    /// Runs one command. A failure discards the connection it used; if that
    /// connection was an older one that broke (the server restarted, or
    /// closed it while idle), the command runs once more on a new
    /// connection: GET, SET, EXPIRE and DEL of one session's key are
    /// idempotent. A timeout is not retried, so a frozen server costs one
    /// timeout, not two.
    async fn query<T: redis::FromRedisValue>(&self, cmd: &redis::Cmd) -> Result<T, StoreError> {
        let Connection { generation, fresh, mut conn } = self.connection().await?;
        let e = match conn.query(cmd).await {
            Ok(value) => return Ok(value),
            Err(e) => e,
        };
        self.discard(generation).await;
        if fresh || !broken_connection(&e) {
            return Err(StoreError::new(e.to_string()));
        }
        let Connection { generation, mut conn, .. } = self.connection().await?;
        match conn.query(cmd).await {
            Ok(value) => Ok(value),
            Err(e) => {
                self.discard(generation).await;
                Err(StoreError::new(e.to_string()))
            }
        }
    }

    /// `PING`: whether the server answers (connecting if need be).
    pub async fn ping(&self) -> Result<(), StoreError> {
        self.query::<()>(&redis::cmd("PING")).await
    }

    /// A new session's save, insert-if-absent (`SET ... NX`): `false` when
    /// the key exists (it is kept, and the engine picks another ID).
    async fn insert_record(
        &self,
        sid: &str,
        record: &str,
        expires_at: Option<i64>,
        now: i64,
    ) -> Result<bool, StoreError> {
        self.write(self.options.save_new(sid, record, expires_at, now)).await
    }

    /// Runs a write that may be refused: `SET ... NX` (`false`: the key
    /// exists) or the versioned compare-and-set (`false`: a conflict);
    /// any other command runs as [`run`](Self::run) does and counts as done.
    async fn write(&self, command: RedisCommand<'_>) -> Result<bool, StoreError> {
        match command {
            RedisCommand::SetNx { key, value, ttl } => {
                let mut cmd = set_command(key, value, ttl);
                cmd.arg("NX");
                // "OK" when set, nil when the key exists.
                self.query::<Option<String>>(&cmd).await.map(|set| set.is_some())
            }
            RedisCommand::CompareAndSet { key, value, ttl, expected } => {
                // One atomic step on the server (see VERSIONED_SCRIPT).
                let mut cmd = redis::cmd("EVAL");
                cmd.arg(crate::connect_redis::VERSIONED_SCRIPT).arg(1).arg(key).arg(expected).arg(ttl.unwrap_or(0));
                if let Some(value) = value {
                    cmd.arg(value);
                }
                self.query::<i64>(&cmd).await.map(|written| written == 1)
            }
            other => self.run(other).await.map(|_| true),
        }
    }

    /// Sends one planned command; `GET`'s reply is returned.
    async fn run(&self, command: RedisCommand<'_>) -> Result<Option<Vec<u8>>, StoreError> {
        let cmd = match command {
            RedisCommand::Get { key } => {
                let data: Option<Vec<u8>> = self.query(redis::cmd("GET").arg(key)).await?;
                // connect-redis: `if (!data) return null` (an empty string is no record).
                return Ok(data.filter(|d| !d.is_empty()));
            }
            RedisCommand::Set { key, value, ttl } => set_command(key, value, ttl),
            // The refusable writes are sent by `write`, which reads their answer.
            RedisCommand::SetNx { .. } | RedisCommand::CompareAndSet { .. } => {
                return Err(StoreError::new("a refusable write must go through RedisStore::write"));
            }
            RedisCommand::Expire { key, ttl } => {
                let mut cmd = redis::cmd("EXPIRE");
                cmd.arg(key).arg(ttl);
                cmd
            }
            RedisCommand::Del { key } => {
                let mut cmd = redis::cmd("DEL");
                cmd.arg(key);
                cmd
            }
            RedisCommand::Nothing => return Ok(None),
        };
        self.query::<()>(&cmd).await.map(|()| None)
    }
}

/// `SET key value [EX ttl]`.
fn set_command(key: String, value: &str, ttl: Option<i64>) -> redis::Cmd {
    let mut cmd = redis::cmd("SET");
    cmd.arg(key).arg(value);
    if let Some(ttl) = ttl {
        cmd.arg("EX").arg(ttl);
    }
    cmd
}

/// A connection handed to one command.
struct Connection {
    generation: u64,
    fresh: bool,
    conn: Conn,
}

/// Whether `e` says the connection itself is gone (reset, closed, broken
/// pipe), as opposed to a timeout or an error reply.
fn broken_connection(e: &redis::RedisError) -> bool {
    !e.is_timeout() && (e.is_connection_dropped() || e.is_unrecoverable_error())
}

impl AsyncStore for RedisStore {
    fn get<'a>(&'a self, id: &'a str, _now: i64) -> StoreFuture<'a, Option<Vec<u8>>> {
        StoreFuture::boxed(self.run(self.options.load(id)))
    }

    fn set<'a>(&'a self, id: &'a str, record: &'a str, expires_at: Option<i64>, now: i64) -> StoreFuture<'a, ()> {
        StoreFuture::boxed(async move { self.run(self.options.save(id, record, expires_at, now)).await.map(drop) })
    }

    fn insert<'a>(&'a self, id: &'a str, record: &'a str, expires_at: Option<i64>, now: i64) -> StoreFuture<'a, bool> {
        StoreFuture::boxed(self.insert_record(id, record, expires_at, now))
    }

    fn set_versioned<'a>(
        &'a self,
        id: &'a str,
        record: &'a str,
        expires_at: Option<i64>,
        version: crate::Version,
        now: i64,
    ) -> StoreFuture<'a, bool> {
        StoreFuture::boxed(self.write(self.options.save_versioned(id, record, expires_at, version.expected, now)))
    }

    fn touch_versioned<'a>(
        &'a self,
        id: &'a str,
        _record: &'a str,
        expires_at: Option<i64>,
        expected: u64,
        now: i64,
    ) -> StoreFuture<'a, bool> {
        StoreFuture::boxed(self.write(self.options.touch_versioned(id, expires_at, expected, now)))
    }

    fn touch<'a>(&'a self, id: &'a str, _record: &'a str, expires_at: Option<i64>, now: i64) -> StoreFuture<'a, ()> {
        StoreFuture::boxed(async move { self.run(self.options.touch(id, expires_at, now)).await.map(drop) })
    }

    fn destroy<'a>(&'a self, id: &'a str, _now: i64) -> StoreFuture<'a, ()> {
        StoreFuture::boxed(async move { self.run(self.options.destroy(id)).await.map(drop) })
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

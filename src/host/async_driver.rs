//! The async driver (feature `async`): a store trait with async
//! `get`/`set`/`touch`/`destroy`, and helpers that run [`Request::poll_action`]
//! against such a store until the application's turn.
//!
//! Nothing here depends on a runtime: a store's futures are
//! [`StoreFuture`]s (an answer the store has at once, or a boxed `Send`
//! future), so any executor (tokio, smol, a hand-written one) can drive
//! them. A store reports failures as a [`StoreError`], which
//! becomes the engine's [`LoadResult::Failed`] / [`StoreResult::Failed`] with
//! the error's message (or [`LoadResult::Missing`] for an `ENOENT`-style
//! error), exactly the inputs a synchronous host would give.
//!
//! ```
//! # use std::sync::Arc;
//! # use libsession_engine::{Action, Config, MemoryStore, Request, SeededIds, UnixMillis};
//! # use libsession_engine::async_driver::drive;
//! # let run = async {
//! let config = Arc::new(Config::builder().secret("keyboard cat keyboard cat keyboard cat").build()?);
//! let store = MemoryStore::new();
//! let now = 1_700_000_000_000_i64;
//! let mut req = Request::new(config, UnixMillis(now as u64), SeededIds::new(&[1; 32]));
//! assert_eq!(drive(&mut req, &store, now).await?, Action::Ready);
//! req.increment("views")?;
//! req.finish()?;
//! loop {
//!     match drive(&mut req, &store, now).await? {
//!         Action::SetCookie { value } => println!("Set-Cookie: {value}"),
//!         Action::Error { message } => eprintln!("{message}"),
//!         Action::Done => break,
//!         _ => {}
//!     }
//! }
//! assert_eq!(store.len(), 1);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! # };
//! # // A one-line executor: the memory store never returns Pending.
//! # let mut run = std::pin::pin!(run);
//! # let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
//! # match run.as_mut().poll(&mut cx) { std::task::Poll::Ready(r) => r.unwrap(), _ => unreachable!() }
//! ```

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use crate::action::{Action, LoadResult, StoreKind, StoreResult, Version};
use crate::error::Error;
use crate::memory_store::MemoryStore;
use crate::record::StoredRecord;
use crate::request::Request;

/// The future an [`AsyncStore`] operation returns: either the answer,
/// which a store that has it at once (an in-memory one) gives without an
/// allocation ([`ready`](Self::ready)), or any `Send` future, boxed
/// ([`boxed`](Self::boxed), or `.into()` from a `Pin<Box<dyn Future>>`).
#[must_use = "futures do nothing unless polled"]
pub struct StoreFuture<'a, T>(Pending<'a, T>);

type BoxedStoreFuture<'a, T> = Pin<Box<dyn Future<Output = Result<T, StoreError>> + Send + 'a>>;

enum Pending<'a, T> {
    /// `None` once taken.
    Ready(Option<Result<T, StoreError>>),
    Boxed(BoxedStoreFuture<'a, T>),
}

impl<'a, T> StoreFuture<'a, T> {
    /// The answer, at once.
    pub fn ready(result: Result<T, StoreError>) -> Self {
        StoreFuture(Pending::Ready(Some(result)))
    }

    /// A future answering later.
    pub fn boxed(future: impl Future<Output = Result<T, StoreError>> + Send + 'a) -> Self {
        StoreFuture(Pending::Boxed(Box::pin(future)))
    }

    /// This future with `f` applied to its success.
    fn map_ok<U>(self, f: impl FnOnce(T) -> U + Send + 'a) -> StoreFuture<'a, U>
    where
        T: 'a,
    {
        match self.0 {
            Pending::Ready(r) => StoreFuture(Pending::Ready(r.map(|r| r.map(f)))),
            Pending::Boxed(fut) => StoreFuture::boxed(async move { fut.await.map(f) }),
        }
    }
}

impl<'a, T> From<BoxedStoreFuture<'a, T>> for StoreFuture<'a, T> {
    fn from(future: BoxedStoreFuture<'a, T>) -> Self {
        StoreFuture(Pending::Boxed(future))
    }
}

impl<T: Unpin> Future for StoreFuture<'_, T> {
    type Output = Result<T, StoreError>;

    fn poll(self: Pin<&mut Self>, cx: &mut std::task::Context<'_>) -> std::task::Poll<Self::Output> {
        match &mut self.get_mut().0 {
            // As `std::future::Ready`: polling again after the answer is a bug.
            Pending::Ready(answer) => {
                std::task::Poll::Ready(answer.take().expect("StoreFuture polled after completion"))
            }
            Pending::Boxed(future) => future.as_mut().poll(cx),
        }
    }
}

impl<T> fmt::Debug for StoreFuture<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self.0 {
            Pending::Ready(_) => "StoreFuture::Ready",
            Pending::Boxed(_) => "StoreFuture::Boxed",
        })
    }
}

/// A store operation's failure: its message is what the engine reports (as
/// express-session passes the store's `err` on).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoreError {
    message: String,
    missing: bool,
}

impl StoreError {
    /// A failure (the store is down, a command failed...).
    pub fn new(message: impl Into<String>) -> Self {
        StoreError { message: message.into(), missing: false }
    }

    /// An error whose code is `ENOENT` (a file store's missing record): "not
    /// found" for the initial load, an error for `reload`
    /// ([`LoadResult::Missing`]). For the other operations, a failure.
    pub fn missing(message: impl Into<String>) -> Self {
        StoreError { message: message.into(), missing: true }
    }

    /// The store's message.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// Whether it is express-session's `ENOENT` ("not found" for the
    /// initial load, an error for `reload`).
    pub fn is_missing(&self) -> bool {
        self.missing
    }
}

impl fmt::Display for StoreError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for StoreError {}

impl From<String> for StoreError {
    fn from(message: String) -> Self {
        StoreError::new(message)
    }
}

impl From<&str> for StoreError {
    fn from(message: &str) -> Self {
        StoreError::new(message)
    }
}

/// The error of a versioned write to a store that cannot compare-and-set.
pub const NO_VERSIONED: &str =
    "this store cannot compare-and-set (versioned: true needs set_versioned and touch_versioned)";

/// A session store with asynchronous operations, one per store
/// [`Action`]. `now` is the engine's clock (Unix ms), for stores that expire
/// records or compute TTLs; `expires_at` is as in [`Action::Save`].
///
/// Implementations must be `Send + Sync` (one store serves every request) and
/// return `Send` futures, so they work on multi-threaded executors.
pub trait AsyncStore: Send + Sync {
    /// The record stored under `id` (JSON text), or `None`.
    fn get<'a>(&'a self, id: &'a str, now: i64) -> StoreFuture<'a, Option<Vec<u8>>>;
    /// [`get`](Self::get) as the driver calls it: a store that keeps the
    /// records the engine made (as [`MemoryStore`] does) hands them back
    /// as they are ([`FoundRecord::Stored`]). The default calls `get`.
    fn load<'a>(&'a self, id: &'a str, now: i64) -> StoreFuture<'a, Option<FoundRecord>> {
        self.get(id, now).map_ok(|found| found.map(FoundRecord::Bytes))
    }
    /// Store `record` under `id` ([`Action::Save`]).
    fn set<'a>(&'a self, id: &'a str, record: &'a str, expires_at: Option<i64>, now: i64) -> StoreFuture<'a, ()>;
    /// Store `record` under `id` only if no record is stored there
    /// ([`Action::Save`] with `is_new`): `false` when one is (it stays).
    /// The default calls [`set`](Self::set) and answers `true`: a store
    /// that can insert-if-absent (Redis `SET NX`, MemoryStore) overrides it,
    /// so that an ID collision never overwrites another session.
    fn insert<'a>(&'a self, id: &'a str, record: &'a str, expires_at: Option<i64>, now: i64) -> StoreFuture<'a, bool> {
        StoreFuture::boxed(async move { self.set(id, record, expires_at, now).await.map(|()| true) })
    }
    /// A versioned save (`versioned`: [`Action::Save`] with a [`Version`]),
    /// as one compare-and-set: store `record` only if the record stored
    /// under `id` carries `version.expected` (see [`Version`]); `false` (a
    /// conflict, nothing written) when it does not or none is stored. The
    /// default fails: a store that cannot compare-and-set must not pretend
    /// to (MemoryStore and RedisStore override it).
    fn set_versioned<'a>(
        &'a self,
        id: &'a str,
        record: &'a str,
        expires_at: Option<i64>,
        version: Version,
        now: i64,
    ) -> StoreFuture<'a, bool> {
        let _ = (id, record, expires_at, version, now);
        StoreFuture::ready(Err(StoreError::new(NO_VERSIONED)))
    }
    /// A versioned touch ([`Action::Touch`] with a [`Version`]): refresh
    /// the expiry only if the stored record carries `expected`; `false`
    /// (nothing touched) otherwise. The default fails, as for
    /// [`set_versioned`](Self::set_versioned).
    fn touch_versioned<'a>(
        &'a self,
        id: &'a str,
        record: &'a str,
        expires_at: Option<i64>,
        expected: u64,
        now: i64,
    ) -> StoreFuture<'a, bool> {
        let _ = (id, record, expires_at, expected, now);
        StoreFuture::ready(Err(StoreError::new(NO_VERSIONED)))
    }
    /// Refresh the record's expiry ([`Action::Touch`]).
    fn touch<'a>(&'a self, id: &'a str, record: &'a str, expires_at: Option<i64>, now: i64) -> StoreFuture<'a, ()>;
    /// Delete the record (absent is fine) ([`Action::Destroy`]).
    fn destroy<'a>(&'a self, id: &'a str, now: i64) -> StoreFuture<'a, ()>;
    /// Whether every future this store returns is [`StoreFuture::ready`]
    /// (an in-memory store): the tower layer then does the session's store
    /// work before its `call` returns, without boxing its future. A store
    /// that says so and still returns a pending future is not awaited in
    /// that case: the load is done again the general way, and an
    /// end-of-request save is reported unsaved. The default is `false`.
    fn answers_at_once(&self) -> bool {
        false
    }
    /// The rules this store's records follow ([`StoreKind`]): whether the
    /// engine checks a loaded record's stored expiry, and what `null`
    /// means. The default is [`StoreKind::Memory`]; a store whose TTL is
    /// the authority (as Redis's is) answers [`StoreKind::Ttl`].
    fn kind(&self) -> StoreKind {
        StoreKind::Memory
    }
    /// Whether this store keeps the records the engine makes
    /// ([`save_record`](Self::save_record), [`touch_record`](Self::touch_record)).
    /// Only then does the driver have the engine make them (a copy of the
    /// record, and the session put in its read form); a store of text
    /// (`false`, the default) gets [`set`](Self::set) and [`touch`](Self::touch).
    fn keeps_records(&self) -> bool {
        false
    }
    /// [`set`](Self::set) as the driver calls it: with the record the
    /// engine made ([`Request::take_stored_record`]), for a store that
    /// keeps it and hands it back from [`load`](Self::load) as
    /// [`FoundRecord::Stored`] (as [`MemoryStore`] does). The default calls
    /// `set` with the text.
    fn save_record<'a>(
        &'a self,
        id: &'a str,
        record: StoredRecord,
        expires_at: Option<i64>,
        now: i64,
    ) -> StoreFuture<'a, ()> {
        StoreFuture::boxed(async move { self.set(id, record.text(), expires_at, now).await })
    }
    /// [`touch`](Self::touch) as the driver calls it for the end-of-request
    /// touch, like [`save_record`](Self::save_record). The default calls
    /// `touch` with the text.
    fn touch_record<'a>(
        &'a self,
        id: &'a str,
        record: StoredRecord,
        expires_at: Option<i64>,
        now: i64,
    ) -> StoreFuture<'a, ()> {
        StoreFuture::boxed(async move { self.touch(id, record.text(), expires_at, now).await })
    }
    /// Housekeeping a store without a timer of its own wants run on the
    /// host's clock: hosts call it at the start of each request (the tower
    /// layer does). [`MemoryStore`] reaps when its `reapInterval` has passed
    /// ([`MemoryStore::reap_if_due`]); returns how many records went. The
    /// default does nothing (a TTL store such as Redis expires keys itself).
    fn reap_if_due(&self, now: i64) -> usize {
        let _ = now;
        0
    }
}

macro_rules! forward_store {
    ($($ty:ty),*) => {$(
        impl<T: AsyncStore + ?Sized> AsyncStore for $ty {
            fn get<'a>(&'a self, id: &'a str, now: i64) -> StoreFuture<'a, Option<Vec<u8>>> {
                (**self).get(id, now)
            }
            fn load<'a>(&'a self, id: &'a str, now: i64) -> StoreFuture<'a, Option<FoundRecord>> {
                (**self).load(id, now)
            }
            fn set<'a>(&'a self, id: &'a str, record: &'a str, expires_at: Option<i64>, now: i64) -> StoreFuture<'a, ()> {
                (**self).set(id, record, expires_at, now)
            }
            fn touch<'a>(&'a self, id: &'a str, record: &'a str, expires_at: Option<i64>, now: i64) -> StoreFuture<'a, ()> {
                (**self).touch(id, record, expires_at, now)
            }
            fn destroy<'a>(&'a self, id: &'a str, now: i64) -> StoreFuture<'a, ()> {
                (**self).destroy(id, now)
            }
            fn answers_at_once(&self) -> bool {
                (**self).answers_at_once()
            }
            fn kind(&self) -> StoreKind {
                (**self).kind()
            }
            fn keeps_records(&self) -> bool {
                (**self).keeps_records()
            }
            fn save_record<'a>(&'a self, id: &'a str, record: StoredRecord, expires_at: Option<i64>, now: i64) -> StoreFuture<'a, ()> {
                (**self).save_record(id, record, expires_at, now)
            }
            fn touch_record<'a>(&'a self, id: &'a str, record: StoredRecord, expires_at: Option<i64>, now: i64) -> StoreFuture<'a, ()> {
                (**self).touch_record(id, record, expires_at, now)
            }
            fn reap_if_due(&self, now: i64) -> usize {
                (**self).reap_if_due(now)
            }
        }
    )*};
}

forward_store!(&T, Box<T>, Arc<T>);

/// The in-memory store answers at once (its futures are ready when created).
impl AsyncStore for MemoryStore {
    fn get<'a>(&'a self, id: &'a str, now: i64) -> StoreFuture<'a, Option<Vec<u8>>> {
        StoreFuture::ready(Ok(MemoryStore::get(self, id, now).map(|text| text.as_bytes().to_vec())))
    }

    fn load<'a>(&'a self, id: &'a str, now: i64) -> StoreFuture<'a, Option<FoundRecord>> {
        StoreFuture::ready(Ok(MemoryStore::load(self, id, now).map(FoundRecord::Stored)))
    }

    fn set<'a>(&'a self, id: &'a str, record: &'a str, expires_at: Option<i64>, now: i64) -> StoreFuture<'a, ()> {
        let result = MemoryStore::set(self, id, record, expires_at, now).map_err(|e| StoreError::new(e.to_string()));
        StoreFuture::ready(result)
    }

    fn insert<'a>(&'a self, id: &'a str, record: &'a str, expires_at: Option<i64>, now: i64) -> StoreFuture<'a, bool> {
        let result = MemoryStore::insert(self, id, record, expires_at, now).map_err(|e| StoreError::new(e.to_string()));
        StoreFuture::ready(result)
    }

    fn touch<'a>(&'a self, id: &'a str, record: &'a str, expires_at: Option<i64>, now: i64) -> StoreFuture<'a, ()> {
        MemoryStore::touch(self, id, record, expires_at, now);
        StoreFuture::ready(Ok(()))
    }

    fn set_versioned<'a>(
        &'a self,
        id: &'a str,
        record: &'a str,
        expires_at: Option<i64>,
        version: Version,
        now: i64,
    ) -> StoreFuture<'a, bool> {
        let result = MemoryStore::set_versioned(self, id, record, expires_at, version, now)
            .map_err(|e| StoreError::new(e.to_string()));
        StoreFuture::ready(result)
    }

    fn touch_versioned<'a>(
        &'a self,
        id: &'a str,
        record: &'a str,
        expires_at: Option<i64>,
        expected: u64,
        now: i64,
    ) -> StoreFuture<'a, bool> {
        let record = StoredRecord::from_text(std::sync::Arc::from(record));
        StoreFuture::ready(Ok(MemoryStore::touch_versioned(self, id, record, expires_at, expected, now)))
    }

    fn destroy<'a>(&'a self, id: &'a str, _now: i64) -> StoreFuture<'a, ()> {
        MemoryStore::destroy(self, id);
        StoreFuture::ready(Ok(()))
    }

    fn answers_at_once(&self) -> bool {
        true
    }

    fn keeps_records(&self) -> bool {
        true
    }

    fn reap_if_due(&self, now: i64) -> usize {
        MemoryStore::reap_if_due(self, now)
    }

    fn save_record<'a>(
        &'a self,
        id: &'a str,
        record: StoredRecord,
        expires_at: Option<i64>,
        now: i64,
    ) -> StoreFuture<'a, ()> {
        let result = self.save(id, record, expires_at, now).map_err(|e| StoreError::new(e.to_string()));
        StoreFuture::ready(result)
    }

    fn touch_record<'a>(
        &'a self,
        id: &'a str,
        record: StoredRecord,
        expires_at: Option<i64>,
        now: i64,
    ) -> StoreFuture<'a, ()> {
        self.touch_stored(id, record, expires_at, now);
        StoreFuture::ready(Ok(()))
    }
}

/// A record a store found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FoundRecord {
    /// The record's bytes (JSON text, if the record is sound).
    Bytes(Vec<u8>),
    /// A record the store kept as the engine made it ([`LoadResult::Stored`]).
    Stored(StoredRecord),
}

/// A store's answer, owned, to be given to the request with [`apply`](Self::apply).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum StoreAnswer {
    /// The answer to [`Action::Load`].
    Load(Result<Option<FoundRecord>, StoreError>),
    /// The answer to [`Action::Save`], [`Action::Touch`] or [`Action::Destroy`].
    Store(Result<(), StoreError>),
    /// A new session's [`Action::Save`] found its ID taken ([`StoreResult::Exists`]).
    Exists,
    /// A versioned [`Action::Save`] or [`Action::Touch`] found another
    /// version ([`StoreResult::Conflict`]).
    Conflict,
}

impl StoreAnswer {
    /// Hands the answer to the request (`handle_load` or `handle_store_result`).
    pub fn apply(self, req: &mut Request) -> Result<(), Error> {
        match self {
            StoreAnswer::Load(Ok(Some(FoundRecord::Bytes(bytes)))) => req.handle_load(LoadResult::Found(&bytes)),
            StoreAnswer::Load(Ok(Some(FoundRecord::Stored(record)))) => req.handle_load(LoadResult::Stored(record)),
            StoreAnswer::Load(Ok(None)) => req.handle_load(LoadResult::NotFound),
            StoreAnswer::Load(Err(e)) if e.missing => req.handle_load(LoadResult::Missing { message: &e.message }),
            StoreAnswer::Load(Err(e)) => req.handle_load(LoadResult::Failed { message: &e.message }),
            StoreAnswer::Store(Ok(())) => req.handle_store_result(StoreResult::Ok),
            StoreAnswer::Store(Err(e)) => req.handle_store_result(StoreResult::Failed { message: &e.message }),
            StoreAnswer::Exists => req.handle_store_result(StoreResult::Exists),
            StoreAnswer::Conflict => req.handle_store_result(StoreResult::Conflict),
        }
    }
}

/// A store [`Action`], owned: for hosts that cannot keep the request borrowed
/// while the store works (the request sits behind a lock, say).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum StoreOp {
    /// [`Action::Load`].
    Load {
        /// The session ID.
        id: String,
    },
    /// [`Action::Save`].
    Save {
        /// The session ID.
        id: String,
        /// The record (JSON text).
        record: String,
        /// The cookie's expiry (Unix ms).
        expires_at: Option<i64>,
        /// Insert-if-absent (see [`Action::Save`]).
        is_new: bool,
        /// The compare-and-set (`versioned`).
        version: Option<Version>,
    },
    /// [`Action::Touch`].
    Touch {
        /// The session ID.
        id: String,
        /// The record (JSON text), with the touched cookie.
        record: String,
        /// The cookie's new expiry (Unix ms).
        expires_at: Option<i64>,
        /// The compare-and-set (`versioned`).
        version: Option<Version>,
    },
    /// [`Action::Destroy`].
    Destroy {
        /// The session ID.
        id: String,
    },
}

impl StoreOp {
    /// The owned copy of a store action; `None` for the other actions.
    pub fn from_action(action: &Action<'_>) -> Option<StoreOp> {
        Some(match *action {
            Action::Load { id } => StoreOp::Load { id: id.to_string() },
            Action::Save { id, record, expires_at, is_new, version } => {
                StoreOp::Save { id: id.to_string(), record: record.to_string(), expires_at, is_new, version }
            }
            Action::Touch { id, record, expires_at, version } => {
                StoreOp::Touch { id: id.to_string(), record: record.to_string(), expires_at, version }
            }
            Action::Destroy { id } => StoreOp::Destroy { id: id.to_string() },
            _ => return None,
        })
    }

    /// The action this operation copies.
    pub fn as_action(&self) -> Action<'_> {
        match self {
            StoreOp::Load { id } => Action::Load { id },
            StoreOp::Save { id, record, expires_at, is_new, version } => {
                Action::Save { id, record, expires_at: *expires_at, is_new: *is_new, version: *version }
            }
            StoreOp::Touch { id, record, expires_at, version } => {
                Action::Touch { id, record, expires_at: *expires_at, version: *version }
            }
            StoreOp::Destroy { id } => Action::Destroy { id },
        }
    }

    /// Performs the operation on `store`.
    pub async fn perform<S: AsyncStore + ?Sized>(&self, store: &S, now: i64) -> StoreAnswer {
        match perform(self.as_action(), store, now).await {
            Some(answer) => answer,
            None => unreachable!("a StoreOp is always a store action"),
        }
    }
}

/// Performs a store action on `store`; `None` if `action` is not a store
/// operation.
pub async fn perform<S: AsyncStore + ?Sized>(action: Action<'_>, store: &S, now: i64) -> Option<StoreAnswer> {
    perform_saved(action, None, store, now).await
}

/// [`perform`], with the record of a Save or Touch as the engine made it
/// ([`Request::take_stored_record`]).
async fn perform_saved<S: AsyncStore + ?Sized>(
    action: Action<'_>,
    saved: Option<StoredRecord>,
    store: &S,
    now: i64,
) -> Option<StoreAnswer> {
    Some(match (action, saved) {
        (Action::Load { id }, _) => StoreAnswer::Load(store.load(id, now).await),
        (Action::Save { id, record, expires_at, is_new: true, .. }, _) => {
            match store.insert(id, record, expires_at, now).await {
                Ok(true) => StoreAnswer::Store(Ok(())),
                Ok(false) => StoreAnswer::Exists,
                Err(e) => StoreAnswer::Store(Err(e)),
            }
        }
        (Action::Save { id, record, expires_at, version: Some(v), .. }, _) => {
            match store.set_versioned(id, record, expires_at, v, now).await {
                Ok(true) => StoreAnswer::Store(Ok(())),
                Ok(false) => StoreAnswer::Conflict,
                Err(e) => StoreAnswer::Store(Err(e)),
            }
        }
        (Action::Touch { id, record, expires_at, version: Some(v) }, _) => {
            match store.touch_versioned(id, record, expires_at, v.expected, now).await {
                Ok(true) => StoreAnswer::Store(Ok(())),
                Ok(false) => StoreAnswer::Conflict,
                Err(e) => StoreAnswer::Store(Err(e)),
            }
        }
        (Action::Save { id, expires_at, .. }, Some(record)) => {
            StoreAnswer::Store(store.save_record(id, record, expires_at, now).await)
        }
        (Action::Save { id, record, expires_at, .. }, None) => {
            StoreAnswer::Store(store.set(id, record, expires_at, now).await)
        }
        (Action::Touch { id, expires_at, .. }, Some(record)) => {
            StoreAnswer::Store(store.touch_record(id, record, expires_at, now).await)
        }
        (Action::Touch { id, record, expires_at, .. }, None) => {
            StoreAnswer::Store(store.touch(id, record, expires_at, now).await)
        }
        (Action::Destroy { id }, _) => StoreAnswer::Store(store.destroy(id, now).await),
        _ => return None,
    })
}

/// [`Request::poll_action`], performing store operations on `store` and
/// answering them, until the request needs its host for something else;
/// returns that action (`Ready`, `Failed`, `Completed`, `SetCookie`, `Error`
/// or `Done`; never a store action, never `Wait`). Call it where a
/// synchronous host would call `poll_action`.
pub async fn drive<'r, S: AsyncStore + ?Sized>(req: &'r mut Request, store: &S, now: i64) -> Result<Action<'r>, Error> {
    req.poll_action()?;
    drive_from_current(req, store, now).await
}

/// Like [`drive`], but starts with the action the last `poll_action`
/// returned (for a host that looked at it first: to take a lock on the
/// session ID of an [`Action::Load`], say).
pub async fn drive_from_current<'r, S: AsyncStore + ?Sized>(
    req: &'r mut Request,
    store: &S,
    now: i64,
) -> Result<Action<'r>, Error> {
    req.set_store_kind(store.kind());
    loop {
        // A write hands a store that keeps records the one the engine made.
        let saved = if store.keeps_records() { req.take_stored_record() } else { None };
        let Some(answer) = perform_saved(req.current_action(), saved, store, now).await else { break };
        answer.apply(req)?;
        req.poll_action()?;
    }
    Ok(req.current_action())
}

/// After a handler operation (`save`, `reload`, `destroy`, `regenerate`):
/// drives the request until its [`Action::Completed`] and returns the
/// operation's outcome (`Err(message)` if the store failed). The request is
/// then at the application's turn again.
///
/// Returns [`Error::WrongPhase`] if the request reaches another stop first
/// (no operation was under way).
pub async fn complete<S: AsyncStore + ?Sized>(
    req: &mut Request,
    store: &S,
    now: i64,
) -> Result<Result<(), String>, Error> {
    match drive(req, store, now).await? {
        Action::Completed { error: None } => Ok(Ok(())),
        Action::Completed { error: Some(message) } => Ok(Err(message.to_string())),
        _ => Err(Error::WrongPhase),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Config, SeededIds, UnixMillis};
    use std::task::{Context, Poll, Waker};

    fn block_on<F: Future>(f: F) -> F::Output {
        let mut f = std::pin::pin!(f);
        let mut cx = Context::from_waker(Waker::noop());
        match f.as_mut().poll(&mut cx) {
            Poll::Ready(v) => v,
            Poll::Pending => panic!("these stores answer at once"),
        }
    }

    /// A store that fails every operation.
    struct Down;

    impl AsyncStore for Down {
        fn get<'a>(&'a self, _: &'a str, _: i64) -> StoreFuture<'a, Option<Vec<u8>>> {
            StoreFuture::ready(Err(StoreError::new("connection refused")))
        }
        fn set<'a>(&'a self, _: &'a str, _: &'a str, _: Option<i64>, _: i64) -> StoreFuture<'a, ()> {
            StoreFuture::ready(Err("write failed".into()))
        }
        fn touch<'a>(&'a self, _: &'a str, _: &'a str, _: Option<i64>, _: i64) -> StoreFuture<'a, ()> {
            StoreFuture::ready(Err("touch failed".into()))
        }
        fn destroy<'a>(&'a self, _: &'a str, _: i64) -> StoreFuture<'a, ()> {
            StoreFuture::ready(Err("destroy failed".into()))
        }
    }

    fn config() -> Arc<Config> {
        Arc::new(Config::builder().secret("0123456789abcdef0123456789abcdef").max_age(Some(60_000.0)).build().unwrap())
    }

    #[test]
    fn round_trip_through_the_memory_store() {
        let store = MemoryStore::new();
        let now = 1_700_000_000_000;
        let mut req = Request::new(config(), UnixMillis(now as u64), SeededIds::new(&[3; 32]));
        assert_eq!(block_on(drive(&mut req, &store, now)).unwrap(), Action::Ready);
        assert_eq!(req.increment("n").unwrap(), 1.0);
        req.save().unwrap();
        assert_eq!(block_on(complete(&mut req, &store, now)).unwrap(), Ok(()));
        req.finish().unwrap();
        let cookie = match block_on(drive(&mut req, &store, now)).unwrap() {
            Action::SetCookie { value } => value.split(';').next().unwrap().to_string(),
            other => panic!("{other:?}"),
        };
        assert_eq!(block_on(drive(&mut req, &store, now)).unwrap(), Action::Done);

        let mut req = Request::new(config(), UnixMillis(now as u64 + 1), SeededIds::new(&[4; 32]));
        req.add_cookie_header(cookie.as_bytes()).unwrap();
        assert!(matches!(req.poll_action().unwrap(), Action::Load { .. }));
        assert_eq!(block_on(drive_from_current(&mut req, &store, now)).unwrap(), Action::Ready);
        assert_eq!(req.increment("n").unwrap(), 2.0);
        req.regenerate().unwrap();
        assert_eq!(block_on(complete(&mut req, &Arc::new(MemoryStore::new()), now)).unwrap(), Ok(()));
        assert_eq!(req.get("n"), None);
        assert_eq!(block_on(complete(&mut req, &store, now)), Err(Error::WrongPhase));
    }

    #[test]
    fn store_errors_become_engine_failures_with_their_message() {
        let now = 1_700_000_000_000;
        let mut req = Request::new(config(), UnixMillis(now as u64), SeededIds::new(&[3; 32]));
        // A signed cookie makes the engine load; the store is down.
        let store = MemoryStore::new();
        assert_eq!(block_on(drive(&mut req, &store, now)).unwrap(), Action::Ready);
        req.set("a", crate::Value::Bool(true)).unwrap();
        req.finish().unwrap();
        let cookie = match block_on(drive(&mut req, &store, now)).unwrap() {
            Action::SetCookie { value } => value.split(';').next().unwrap().to_string(),
            other => panic!("{other:?}"),
        };
        let mut req = Request::new(config(), UnixMillis(now as u64), SeededIds::new(&[3; 32]));
        req.add_cookie_header(cookie.as_bytes()).unwrap();
        assert_eq!(block_on(drive(&mut req, &Down, now)).unwrap(), Action::Failed { message: "connection refused" });
        req.finish().unwrap();
        assert_eq!(block_on(drive(&mut req, &Down, now)).unwrap(), Action::Done);

        // A handler's save gets the message back; the end-of-request save reports it after the response.
        let mut req = Request::new(config(), UnixMillis(now as u64), SeededIds::new(&[5; 32]));
        assert_eq!(block_on(drive(&mut req, &Down, now)).unwrap(), Action::Ready);
        req.increment("n").unwrap();
        req.save().unwrap();
        assert_eq!(block_on(complete(&mut req, &Down, now)).unwrap(), Err("write failed".to_string()));
        req.increment("n").unwrap();
        req.finish().unwrap();
        let mut seen = vec![];
        loop {
            match block_on(drive(&mut req, &Down, now)).unwrap() {
                Action::Done => break,
                Action::SetCookie { .. } => seen.push("cookie".to_string()),
                Action::Error { message } => seen.push(message.to_string()),
                other => panic!("{other:?}"),
            }
        }
        assert_eq!(seen, ["cookie", "write failed"]);
    }

    #[test]
    fn ready_answers_stay_unboxed() {
        // A store answering at once: its `load` (the default, over `get`) is ready too.
        assert_eq!(format!("{:?}", Down.load("x", 0)), "StoreFuture::Ready");
        assert_eq!(block_on(Down.load("x", 0)), Err(StoreError::new("connection refused")));
        assert_eq!(format!("{:?}", AsyncStore::load(&MemoryStore::new(), "x", 0)), "StoreFuture::Ready");
        let boxed: StoreFuture<'_, u8> = StoreFuture::boxed(async { Ok(7) });
        assert_eq!(format!("{boxed:?}"), "StoreFuture::Boxed");
        assert_eq!(block_on(boxed.map_ok(|n| n + 1)), Ok(8));
        let pinned: Pin<Box<dyn Future<Output = Result<u8, StoreError>> + Send>> = Box::pin(async { Ok(1) });
        assert_eq!(block_on(StoreFuture::from(pinned)), Ok(1));
    }

    #[test]
    fn missing_is_not_found_on_load() {
        struct Enoent;
        impl AsyncStore for Enoent {
            fn get<'a>(&'a self, _: &'a str, _: i64) -> StoreFuture<'a, Option<Vec<u8>>> {
                StoreFuture::ready(Err(StoreError::missing("ENOENT")))
            }
            fn set<'a>(&'a self, _: &'a str, _: &'a str, _: Option<i64>, _: i64) -> StoreFuture<'a, ()> {
                StoreFuture::ready(Ok(()))
            }
            fn touch<'a>(&'a self, _: &'a str, _: &'a str, _: Option<i64>, _: i64) -> StoreFuture<'a, ()> {
                StoreFuture::ready(Ok(()))
            }
            fn destroy<'a>(&'a self, _: &'a str, _: i64) -> StoreFuture<'a, ()> {
                StoreFuture::ready(Ok(()))
            }
        }
        let op = StoreOp::Load { id: "x".into() };
        let answer = block_on(op.perform(&Enoent, 0));
        assert_eq!(answer, StoreAnswer::Load(Err(StoreError::missing("ENOENT"))));
        assert!(StoreOp::from_action(&Action::Ready).is_none());
        assert_eq!(StoreOp::from_action(&op.as_action()), Some(op));
    }
}

//! # libsession
//!
//! A sans-IO session engine with the semantics of Node's
//! [express-session](https://github.com/expressjs/session) 1.19.0, byte for
//! byte: the same signed cookies, the same store records, the same decisions
//! about when to save, touch, destroy and set the cookie. Hosts written in
//! Rust, C (through `include/libsession.h`) or Python drive it; sessions can
//! be shared with Node apps through a common store.
//!
//! ## The run loop
//!
//! The engine performs no I/O. A [`Request`] takes the request's facts, and
//! then tells its host what to do, one [`Action`] at a time. **After creating
//! the request, and after every `handle_*` call or session operation, call
//! [`Request::poll_action`] until it returns [`Action::Wait`],
//! [`Action::Ready`], [`Action::Failed`] or [`Action::Done`].**
//!
//! ```
//! use std::sync::Arc;
//! use libsession_engine::{Action, Config, LoadResult, MemoryStore, Request, SeededIds, StoreResult, UnixMillis};
//!
//! let config = Arc::new(Config::builder().secret("keyboard cat keyboard cat keyboard cat").max_age(Some(60_000.0)).build()?);
//! let store = MemoryStore::new();
//! let now = 1_700_000_000_000;
//!
//! // One request: no cookie yet.
//! let mut req = Request::new(config.clone(), UnixMillis(now), SeededIds::new(&[42; 32]));
//! req.set_target(b"/")?;
//! let mut set_cookie = None;
//! loop {
//!     match req.poll_action()? {
//!         Action::Load { id } => {
//!             let found = store.get(id, now as i64);
//!             match &found {
//!                 Some(text) => req.handle_load(LoadResult::Found(text.as_bytes()))?,
//!                 None => req.handle_load(LoadResult::NotFound)?,
//!             }
//!         }
//!         Action::Save { id, record, expires_at, .. } => {
//!             let result = store.set(id, record, expires_at, now as i64);
//!             let message = result.err().map(|e| e.to_string());
//!             req.handle_store_result(match &message {
//!                 None => StoreResult::Ok,
//!                 Some(m) => StoreResult::Failed { message: m },
//!             })?;
//!         }
//!         Action::Touch { id, record, expires_at, .. } => {
//!             store.touch(id, record, expires_at, now as i64);
//!             req.handle_store_result(StoreResult::Ok)?;
//!         }
//!         Action::Destroy { id } => {
//!             store.destroy(id);
//!             req.handle_store_result(StoreResult::Ok)?;
//!         }
//!         Action::Ready => {
//!             // The route handler runs here.
//!             let views = req.increment("views")?;
//!             assert_eq!(views, 1.0);
//!             req.finish()?;
//!         }
//!         Action::Failed { message } => {
//!             // Respond 500 without running the handler, then finish.
//!             eprintln!("session error: {message}");
//!             req.finish()?;
//!         }
//!         Action::Completed { .. } => {} // a handler operation finished
//!         Action::SetCookie { value } => set_cookie = Some(value.to_string()),
//!         Action::SetHeader { .. } => {} // only with the `header` option
//!         Action::Conflict { .. } => unreachable!("only with the `versioned` option"),
//!         Action::Error { message } => eprintln!("after response: {message}"),
//!         Action::Wait => unreachable!("this store answers synchronously"),
//!         Action::Done => break,
//!     }
//! }
//! assert!(set_cookie.unwrap().starts_with("connect.sid=s%3A"));
//! assert_eq!(store.len(), 1);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! [`MemoryStore::poll`] condenses the four store arms for an in-process store.
//!
//! An asynchronous store returns [`Action::Wait`] to its caller's event loop
//! and calls `handle_*` when the answer arrives; the request holds no
//! references, so it can wait anywhere (`Request: Send`).
//!
//! ## Time and entropy
//!
//! `now` (Unix milliseconds) is given to [`Request::new`] and can be updated
//! with [`Request::set_now`]. New session IDs come from an [`IdSource`]:
//! [`SeededIds`] derives any number of 256-bit IDs from 32 bytes that the host
//! takes from its CSPRNG; [`IdQueue`] hands out given IDs (express-session's
//! `genid`). The crate reads neither a clock nor the OS random source (clippy
//! enforces it); the optional `os-rng` feature adds `OsRngIds` for hosts.
//! The one exception is the C ABI (`ffi`, feature `capi`):
//! `libsession_request_new` reads 32 bytes from the OS (the `getrandom`
//! crate) when the host passes no entropy.
//!
//! ## Errors
//!
//! A forged, malformed, tampered or unsigned cookie is not an error: it gets
//! a fresh session, and never causes a store load. Store failures are inputs
//! (`LoadResult::Failed`, `StoreResult::Failed`) and come back as
//! [`Action::Failed`] (before the handler), [`Action::Completed`] (for a
//! handler's operation) or [`Action::Error`] (after the response), exactly
//! where express-session reports them. Misuse of the API (an answer nobody
//! asked for, an operation in the wrong phase) returns an [`Error`] and leaves
//! the request failed for good. Nothing panics on any input.
//!
//! ## Thread safety
//!
//! [`Config`] is immutable and `Send + Sync`: build it once and share it in an
//! `Arc`. A [`Request`] is `Send` and used by one thread at a time.
//! [`MemoryStore`] is internally locked and can be shared. It runs no
//! timer: with Connect's `reapInterval` ([`MemoryStoreOptions`]) it says when
//! its next reap is due ([`MemoryStore::next_reap_at`]) and the host reaps on
//! its clock ([`MemoryStore::reap_if_due`] at the start of each request, as
//! the tower layer does).
//!
//! ## Limits
//!
//! * Cookie headers: at most 32 KiB and 16384 pairs are examined
//!   ([`CookieLimits`]); a session cookie beyond that is not seen.
//! * Store records ([`RecordLimits`], set with
//!   [`ConfigBuilder::record_limits`]): longer than 1 MiB, an object of more
//!   than 16384 members ([`MAX_KEYS`]), or nesting deeper than 512
//!   ([`MAX_DEPTH`]) is a corrupt record (the request fails as for any
//!   unreadable record). A record's `cookie` values nest at most 16 levels.
//!   Reading takes time linear in the record's size whatever its shape, and
//!   nothing recurses per level: 512 levels need no more than a 128 KiB
//!   thread stack in a debug build (`tests/hardening.rs`). A lone surrogate
//!   escape (which JavaScript keeps) reads as U+FFFD, since a Rust string
//!   cannot hold it; a value the request does not change is written back as
//!   it was, escape included.
//! * JSON values a host gives ([`Value::from_json`], the C ABI's
//!   `set_json`): the same nesting and member limits.
//! * Set-Cookie: never longer than 4096 bytes ([`MAX_SET_COOKIE_BYTES`]:
//!   browsers drop longer cookies); an [`Action::Error`] instead.
//! * Secrets: none empty, in any mode; strict mode wants at least 32 bytes
//!   each ([`MIN_SECRET_LEN`]) and at most 8 ([`MAX_SECRETS`]).
//! * Session IDs: strict mode looks up only base64url IDs of 32 to 64
//!   characters ([`DEFAULT_ID_LENGTHS`]); a new session's save is
//!   insert-if-absent ([`Action::Save`]'s `is_new`).
//! * Responses that carry a session `Set-Cookie` should also carry
//!   `Cache-Control: no-store` (or `private`), so that no shared cache keeps
//!   one user's cookie for another (OWASP session cheat sheet); the engine
//!   leaves response headers to the host.
//! * Dates in records are read as V8 reads them: ISO 8601 first, then the
//!   common legacy forms (`toString`, `toUTCString`, RFC 850, month names,
//!   US dates; checked against Node by `tests/js_dates.rs`). Local times are
//!   taken as UTC.
//! * A record cookie that carries its own `toJSON` or `__proto__` (which
//!   reshape the JavaScript `Cookie` object itself) keeps its documented
//!   attributes instead.
//! * Numbers are IEEE doubles, as in JavaScript.
//!
//! ## Async hosts (optional features)
//!
//! * `async`: the `async_driver` module, an `AsyncStore` trait (async get,
//!   set, touch, destroy; any executor) and `async_driver::drive`, the run
//!   loop against it. [`MemoryStore`] implements it.
//! * `tower`: the `tower_layer` module, a tower `Layer` for axum and hyper
//!   that gives handlers a typed `Session` handle (serde), sets the cookie,
//!   and serializes concurrent requests of one session.
//! * `redis`: the `redis_store` module, a store with connect-redis's keys,
//!   records and TTLs, so Node and Rust apps can share sessions
//!   (`docs/redis.md`).

#![deny(unsafe_code)]
// docs.rs (nightly, `--cfg docsrs`): label feature-gated items with their feature.
#![cfg_attr(docsrs, feature(doc_cfg))]
#![warn(missing_debug_implementations)]

// The engine: pure, no I/O, no clock, no OS randomness. Nothing here imports
// from `host` or `ffi`.
mod engine;
// Stores and hosts built on the engine: in-memory and Redis stores, the async
// driver, the tower layer. They drive the engine; the engine knows nothing of
// them.
mod host;
// The C ABI (`include/libsession.h`), a host of the engine like the others.
// Behind `capi` so that Rust dependents export no `extern "C"` symbols.
#[cfg(feature = "capi")]
#[allow(unsafe_code)]
pub mod ffi;

pub use engine::connect_redis;
pub use engine::event;
pub use engine::guards;
pub use engine::lifecycle;
pub use engine::record;
pub(crate) use engine::{
    action, config, cookie_header, date, error, ids, json, request, session, session_cookie, signing,
};
#[cfg(feature = "async")]
pub use host::async_driver;
pub(crate) use host::memory_store;
#[cfg(feature = "redis")]
pub use host::redis_store;
#[cfg(feature = "tower")]
pub(crate) use host::serde_value;
#[cfg(feature = "tower")]
pub use host::tower_layer;

pub use action::{Action, LoadResult, StoreKind, StoreResult, UnixMillis, Version};
#[cfg(feature = "async")]
pub use async_driver::{AsyncStore, FoundRecord, StoreError};
pub use config::{
    Config, ConfigBuilder, DEFAULT_ID_LENGTHS, MAX_SECRETS, MIN_SECRET_LEN, Priority, SameSite, Secure, Unset,
};
pub use cookie_header::CookieLimits;
pub use error::{ConfigError, Error};
pub use event::{Event, StoreOperation};
pub use guards::{DuplicateCookies, OnConflict, OnLoadError, OnSaveError, SAVE_CONFLICT, VERSION_KEY};
#[cfg(feature = "os-rng")]
pub use host::os_rng::{OsRngIds, os_random};
pub use ids::{IdQueue, IdSource, SEED_LEN, SeededIds};
pub use json::{JsonError, MAX_DEPTH, MAX_KEYS, Map, Value};
pub use memory_store::{
    DEFAULT_MAX_ENTRIES, MemoryStore, MemoryStoreError, MemoryStoreOptions, MemoryStoreOptionsError,
};
pub use record::{RecordLimits, StoredRecord};
pub use request::{
    FAILED_TO_LOAD, ID_COLLISIONS, MAX_SET_COOKIE_BYTES, Request, SECRET_REQUIRED, SET_COOKIE_TOO_LONG, SUPERSEDED,
};
pub use session_cookie::CookieAttr;

/// Not API: what the crate's own integration tests and benchmarks reach
/// inside it (JavaScript's `Date.parse`, checked against V8 by
/// `tests/js_dates.rs`). No stability promise; do not use.
#[doc(hidden)]
pub mod __private {
    pub use crate::date::parse as parse_js_date;
}

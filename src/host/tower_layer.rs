//! A tower [`Layer`] running the engine around an inner HTTP service
//! (feature `tower`): axum, hyper, or anything on `tower::Service` with
//! [`http`] types.
//!
//! For each request the [`SessionService`] reads the request's facts (the
//! target, every `Cookie` header, every `X-Forwarded-Proto` header, and the
//! layer's TLS flag), drives the engine against the [`AsyncStore`] until the
//! application's turn, puts a [`Session`] handle into the request's
//! extensions, calls the inner service, then finishes the session (save,
//! touch or destroy) and adds the engine's `Set-Cookie` to the response.
//!
//! ```
//! use std::sync::Arc;
//! use libsession_engine::{Config, MemoryStore};
//! use libsession_engine::tower_layer::SessionLayer;
//!
//! let config = Arc::new(Config::builder().secret("keyboard cat keyboard cat keyboard cat").max_age(Some(60_000.0)).build().unwrap());
//! let layer = SessionLayer::new(config, MemoryStore::new());
//! // axum: Router::new().route("/", get(count)).layer(layer), where a
//! // handler takes the `Session` (an extractor with the `axum` feature):
//! //
//! //     async fn count(session: Session) -> String {
//! //         let views = session.get::<u64>("views").ok().flatten().unwrap_or(0) + 1;
//! //         session.insert("views", &views).expect("a session");
//! //         format!("views: {views}")
//! //     }
//! # let _ = layer;
//! ```
//!
//! The whole app (counter, login, logout, Redis) is
//! `integration/examples/axum.rs` (built by the test suite).
//!
//! ## When the store fails
//!
//! If loading the session fails (the store is down, the record is corrupt),
//! the configuration's `onLoadError` decides
//! ([`ConfigBuilder::on_load_error`](crate::ConfigBuilder::on_load_error)):
//! respond `500 Internal Server Error` without calling the inner service
//! (express-session's behaviour, the default), or call it with a fresh
//! session under a new ID (the stored session is left alone; the visitor
//! starts over). The request's [`Event`]s (a forged cookie, a store
//! failure...) go to the layer's event hook ([`SessionLayer::on_event`]).
//! Failures after the response was decided
//! (a failed end-of-request save) and failed handler operations' messages go
//! to the layer's error hook (stderr by default); a handler operation also
//! returns [`SessionError::Store`].
//!
//! ## Reaping a MemoryStore
//!
//! The layer has no runtime of its own and starts no task: it reaps
//! sans-timer. Each request, before its load, calls the store's
//! [`AsyncStore::reap_if_due`] with the layer's clock, so a
//! [`MemoryStore`](crate::MemoryStore) with a `reapInterval`
//! ([`MemoryStoreOptions`](crate::MemoryStoreOptions)) is reaped by the
//! first request after each reap falls due (one atomic load per request
//! otherwise; the reap itself takes the store's lock for one pass over the
//! records, as Connect's timer did). An idle server reaps nothing until its
//! next request: its records are still never served past their expiry or
//! the store's `maxAge`, and the store stays bounded by `max_entries`. A
//! host that wants reaps while idle calls [`MemoryStore::reap`](crate::MemoryStore::reap)
//! from its own timer at [`MemoryStore::next_reap_at`](crate::MemoryStore::next_reap_at).
//!
//! ## Concurrent requests of one session
//!
//! With per-session locking on (the default), requests whose cookie carries
//! the same verified session ID, handled by services made from one
//! `SessionLayer` (and its clones), run one at a time: a request takes the
//! session's lock just before the store load and releases it after the
//! end-of-request save, touch or destroy has been answered (or when the
//! request is abandoned). Each such request therefore loads what the previous
//! one saved, and no read-modify-write of the session data is lost inside one
//! process. Requests wait in arrival order (a fair async mutex per ID), and
//! the lock table keeps an entry only while a request holds or awaits it.
//!
//! Not covered: other processes, or other layers, sharing the store
//! (express-session's last-write-wins applies there); requests without a
//! valid session cookie (their session's ID is new, so nothing can race for
//! it); and the ID a `regenerate` creates mid-request. A slow handler delays
//! the other requests of its own session (only), and a handler must not wait
//! for another request of its own session: that would deadlock.

use crate::Event;
use std::collections::{HashMap, VecDeque};
use std::fmt;
use std::future::Future;
use std::hash::{BuildHasher, RandomState};
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll, Waker};

use http::header::{COOKIE, HeaderName, HeaderValue, SET_COOKIE};
use serde::Serialize;
use serde::de::DeserializeOwned;
use tower::{Layer, Service};

use crate::OsRngIds;
use crate::action::{Action, LoadResult, StoreResult, UnixMillis};
use crate::async_driver::{AsyncStore, StoreOp, drive, drive_from_current};
use crate::config::Config;
use crate::ids::IdSource;
use crate::json::Value;
use crate::request::Request;
use crate::serde_value::{from_engine_value, to_engine_value};
use crate::session_cookie::CookieAttr;

/// Where the layer gets the time (Unix ms).
pub type Clock = Arc<dyn Fn() -> UnixMillis + Send + Sync>;
/// Where the layer gets a request's source of new session IDs.
pub type IdFactory = Arc<dyn Fn() -> Box<dyn IdSource> + Send + Sync>;
/// Receives the messages of errors the response cannot carry.
pub type ErrorHook = Arc<dyn Fn(&str) + Send + Sync>;

const X_FORWARDED_PROTO: HeaderName = HeaderName::from_static("x-forwarded-proto");

/// A hook receiving each request's session events.
pub type EventHook = Arc<dyn Fn(&Event) + Send + Sync>;

/// The wall clock (a host helper: the engine itself reads no clock).
#[allow(clippy::disallowed_methods)]
pub fn system_clock() -> UnixMillis {
    let since = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH);
    UnixMillis(since.map_or(0, |d| d.as_millis() as u64))
}

#[derive(Clone)]
struct Settings {
    config: Arc<Config>,
    store: Arc<dyn AsyncStore>,
    on_event: Option<EventHook>,
    tls: bool,
    lock_sessions: bool,
    clock: Clock,
    ids: IdFactory,
    on_error: ErrorHook,
    locks: Arc<KeyedLocks>,
}

impl Settings {
    fn report(&self, message: &str) {
        (self.on_error)(message)
    }

    /// Hands the request's events to the event hook, if any.
    fn drain_events(&self, req: &mut Request) {
        while let Some(event) = req.poll_event() {
            if let Some(hook) = &self.on_event {
                hook(&event);
            }
        }
    }
}

/// The session layer. Cheap to clone; clones share the store and the
/// per-session lock table.
#[derive(Clone)]
pub struct SessionLayer {
    settings: Arc<Settings>,
}

impl fmt::Debug for SessionLayer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SessionLayer")
            .field("cookie", &self.settings.config.name())
            .field("on_event", &self.settings.on_event.is_some())
            .field("tls", &self.settings.tls)
            .field("lock_sessions", &self.settings.lock_sessions)
            .finish_non_exhaustive()
    }
}

impl SessionLayer {
    /// A layer with `config` and `store`; the system clock, session IDs of
    /// 32 bytes from the OS CSPRNG, a 500 on store failure, plain-HTTP
    /// connections, per-session locking, and errors reported on stderr.
    pub fn new(config: Arc<Config>, store: impl AsyncStore + 'static) -> Self {
        SessionLayer::with_shared_store(config, Arc::new(store))
    }

    /// [`new`](Self::new) with a store that is shared elsewhere too.
    pub fn with_shared_store(config: Arc<Config>, store: Arc<dyn AsyncStore>) -> Self {
        SessionLayer {
            settings: Arc::new(Settings {
                config,
                store,
                on_event: None,
                tls: false,
                lock_sessions: true,
                clock: Arc::new(system_clock),
                ids: Arc::new(|| Box::new(OsRngIds) as Box<dyn IdSource>),
                on_error: Arc::new(|message| eprintln!("libsession: {message}")),
                locks: Arc::new(KeyedLocks::default()),
            }),
        }
    }

    fn with(mut self, f: impl FnOnce(&mut Settings)) -> Self {
        f(Arc::make_mut(&mut self.settings));
        self
    }

    /// A hook receiving every [`Event`] of each request's session once the
    /// request is done (a forged cookie, an old key, a store failure...): for
    /// counters and alerts. Events never change what the layer does.
    pub fn on_event(self, hook: impl Fn(&Event) + Send + Sync + 'static) -> Self {
        self.with(|s| s.on_event = Some(Arc::new(hook)))
    }

    /// Whether the connections this service sees are TLS (the engine's
    /// `set_tls`: a secure request, for `Secure` cookies). Behind a TLS
    /// terminating proxy, configure `proxy`/`trust_proxy` in the [`Config`]
    /// instead, so that `X-Forwarded-Proto` counts.
    pub fn tls(self, tls: bool) -> Self {
        self.with(|s| s.tls = tls)
    }

    /// Turns per-session locking (see the module docs) on or off.
    pub fn lock_sessions(self, on: bool) -> Self {
        self.with(|s| s.lock_sessions = on)
    }

    /// The clock (Unix ms), read at the start of each request, before each
    /// handler operation and before the end-of-request work.
    pub fn clock(self, clock: impl Fn() -> UnixMillis + Send + Sync + 'static) -> Self {
        self.with(|s| s.clock = Arc::new(clock))
    }

    /// Where each request gets its new session IDs.
    pub fn id_source(self, ids: impl Fn() -> Box<dyn IdSource> + Send + Sync + 'static) -> Self {
        self.with(|s| s.ids = Arc::new(ids))
    }

    /// Receives the messages of store failures and of errors after the
    /// response was decided (express-session passes these to `next(err)`).
    pub fn on_error(self, hook: impl Fn(&str) + Send + Sync + 'static) -> Self {
        self.with(|s| s.on_error = Arc::new(hook))
    }
}

impl<S> Layer<S> for SessionLayer {
    type Service = SessionService<S>;

    fn layer(&self, inner: S) -> SessionService<S> {
        SessionService { inner, settings: self.settings.clone() }
    }
}

/// The service made by [`SessionLayer`].
#[derive(Clone)]
pub struct SessionService<S> {
    inner: S,
    settings: Arc<Settings>,
}

impl<S: fmt::Debug> fmt::Debug for SessionService<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SessionService").field("inner", &self.inner).finish_non_exhaustive()
    }
}

type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send>>;

impl<S, B, RB> Service<http::Request<B>> for SessionService<S>
where
    S: Service<http::Request<B>, Response = http::Response<RB>> + Clone + Send + 'static,
    S::Future: Send + 'static,
    S::Error: Send + 'static,
    B: Send + 'static,
    RB: Default + Send + 'static,
{
    type Response = http::Response<RB>;
    type Error = S::Error;
    type Future = SessionFuture<S::Future, RB, S::Error>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut req: http::Request<B>) -> Self::Future {
        let settings = &self.settings;
        // A store that answers at once: the session is ready now, unless its
        // lock is held (then the whole request waits, below, from the start).
        if settings.store.answers_at_once() {
            match poll_once(prepare(settings, Head::of(&req))) {
                Some(Prepared::Handler { req: engine, lock }) => {
                    let handle = Session::new(settings.clone(), engine);
                    req.extensions_mut().insert(handle.clone());
                    // `self.inner` is the service that was made ready.
                    let inner = self.inner.call(req);
                    return SessionFuture { state: Flow::Handler { inner, handle, lock } };
                }
                Some(Prepared::Respond(response)) => {
                    return SessionFuture { state: Flow::Answered { response: Some(response) } };
                }
                None => {}
            }
        }
        // The clone is not ready yet: keep it, and use the one that is.
        let clone = self.inner.clone();
        let inner = std::mem::replace(&mut self.inner, clone);
        SessionFuture { state: Flow::Boxed { future: Box::pin(serve(settings.clone(), inner, req)) } }
    }
}

fn status<RB: Default>(code: http::StatusCode) -> http::Response<RB> {
    let mut response = http::Response::new(RB::default());
    *response.status_mut() = code;
    response
}

/// A new engine request with the facts of `http`.
fn engine_request(st: &Settings, now: UnixMillis, http: &Head<'_>) -> Result<Box<Request>, crate::Error> {
    // Boxed once: the request is large, and moves between this service's
    // future and the handler's handle.
    let mut req = Box::new(Request::with_boxed_ids(st.config.clone(), now, (st.ids)()));
    let target = http.uri.path_and_query().map_or("/", |p| p.as_str());
    req.set_target(target.as_bytes())?;
    for value in http.headers.get_all(COOKIE) {
        req.add_cookie_header(value.as_bytes())?;
    }
    // The `header` option: the signed ID of a client without cookies.
    if let Some(name) = st.config.session_header()
        && let Some(value) = http.headers.get(name)
    {
        req.add_session_header(value.as_bytes())?;
    }
    // Looked up only when the configuration lets it count.
    if st.config.reads_forwarded_proto() {
        for value in http.headers.get_all(X_FORWARDED_PROTO) {
            req.add_forwarded_proto(value.as_bytes())?;
        }
    }
    req.set_tls(st.tls)?;
    Ok(req)
}

/// Finishes `req` and drives it to `Done`, adding its Set-Cookie headers to
/// `response`. The engine gives the Set-Cookie before the end-of-request
/// store write (express-session's order); the layer holds the response
/// until the store has answered, and adds the cookie then, so a write that
/// never completes sends no cookie.
///
/// `versioned`: an end-of-request save that lost a race
/// ([`Action::Conflict`]) replaces the handler's response with an empty
/// `409 Conflict` (no Set-Cookie: nothing was stored), whatever
/// `onConflict` says: the layer cannot run the handler again, so with
/// `"reloadAndReport"` it finishes the reloaded session unchanged (nothing
/// written) and the client retries the request.
async fn finish<RB: Default>(st: &Settings, req: &mut Request, response: &mut http::Response<RB>) {
    let now = (st.clock)();
    req.set_now(now);
    if let Err(e) = req.finish() {
        st.report(&format!("session not saved: {e}"));
        st.drain_events(req);
        return;
    }
    let mut cookies = Vec::new();
    let mut session_header = None;
    loop {
        match drive(req, &*st.store, now.0 as i64).await {
            Ok(Action::SetCookie { value }) => match HeaderValue::try_from(value) {
                Ok(value) => cookies.push(value),
                Err(_) => st.report("session cookie is not a valid header value; not sent"),
            },
            // The `header` option: the last one wins, as for the cookie.
            Ok(Action::SetHeader { name, value }) => match (HeaderName::try_from(name), HeaderValue::try_from(value)) {
                (Ok(name), Ok(value)) => session_header = Some((name, value)),
                _ => st.report("session header is not a valid header; not sent"),
            },
            Ok(Action::Error { message }) => st.report(message),
            Ok(Action::Conflict { reloaded }) => {
                *response = status(http::StatusCode::CONFLICT);
                cookies.clear();
                if reloaded {
                    // The application's turn again: end it unchanged.
                    if let Err(e) = req.finish() {
                        st.report(&format!("session not saved: {e}"));
                        break;
                    }
                }
            }
            Ok(Action::Done) => {
                for value in cookies {
                    response.headers_mut().append(SET_COOKIE, value);
                }
                if let Some((name, value)) = session_header {
                    response.headers_mut().insert(name, value);
                }
                break;
            }
            Ok(other) => {
                st.report(&format!("unexpected session action after the response: {other:?}"));
                break;
            }
            Err(e) => {
                st.report(&format!("session not saved: {e}"));
                break;
            }
        }
    }
    st.drain_events(req);
}

/// Why the session is not ready for the handler.
enum NotReady {
    /// `Action::Failed`: a store failure or corrupt record.
    Failed(String),
    /// Misuse or an impossible action: a bug.
    Internal(String),
}

async fn until_ready(st: &Settings, req: &mut Request, now: i64) -> Result<(), NotReady> {
    match drive_from_current(req, &*st.store, now).await {
        Ok(Action::Ready) => Ok(()),
        Ok(Action::Failed { message }) => Err(NotReady::Failed(message.to_string())),
        Ok(other) => Err(NotReady::Internal(format!("unexpected session action before the handler: {other:?}"))),
        Err(e) => Err(NotReady::Internal(format!("session engine error: {e}"))),
    }
}

/// Where a request stands when the handler's turn comes.
enum Prepared<RB> {
    /// The handler runs with this session (holding the session's lock, if
    /// one was taken).
    Handler { req: Box<Request>, lock: Option<KeyGuard> },
    /// Answered without the handler (a 500).
    Respond(http::Response<RB>),
}

/// What the engine reads of an HTTP request (the body is not shared).
struct Head<'a> {
    uri: &'a http::Uri,
    headers: &'a http::HeaderMap,
}

impl<'a> Head<'a> {
    fn of<B>(req: &'a http::Request<B>) -> Self {
        Head { uri: req.uri(), headers: req.headers() }
    }
}

/// The middleware's entry: the engine request, the session's lock, the
/// load, and the store-failure policy.
async fn prepare<RB: Default>(st: &Settings, http_req: Head<'_>) -> Prepared<RB> {
    let internal_error = || Prepared::Respond(status(http::StatusCode::INTERNAL_SERVER_ERROR));
    let now = (st.clock)();
    // Sans-timer reaping: a request that finds the store's reap due runs it
    // (a MemoryStore with a `reapInterval`; other stores do nothing).
    st.store.reap_if_due(now.0 as i64);
    let mut req = match engine_request(st, now, &http_req) {
        Ok(req) => req,
        Err(e) => {
            st.report(&format!("session engine error: {e}"));
            return internal_error();
        }
    };

    // The first action: a load of the cookie's session takes its lock first.
    let mut lock = None;
    match req.poll_action() {
        Ok(Action::Load { id }) if st.lock_sessions => lock = Some(st.locks.lock(id).await),
        Ok(_) => {}
        Err(e) => {
            st.report(&format!("session engine error: {e}"));
            return internal_error();
        }
    }
    match until_ready(st, &mut req, now.0 as i64).await {
        Ok(()) => {}
        Err(NotReady::Internal(message)) => {
            st.report(&message);
            return internal_error();
        }
        Err(NotReady::Failed(message)) => {
            st.report(&message);
            let mut response = status(http::StatusCode::INTERNAL_SERVER_ERROR);
            finish(st, &mut req, &mut response).await;
            drop(lock.take());
            return Prepared::Respond(response);
        }
    }
    Prepared::Handler { req, lock }
}

/// The whole request, for any store and any state of the session's lock.
async fn serve<S, B, RB>(
    settings: Arc<Settings>,
    mut inner: S,
    mut http_req: http::Request<B>,
) -> Result<http::Response<RB>, S::Error>
where
    S: Service<http::Request<B>, Response = http::Response<RB>>,
    RB: Default,
{
    let st = &*settings;
    let (req, lock) = match prepare(st, Head::of(&http_req)).await {
        Prepared::Handler { req, lock } => (req, lock),
        Prepared::Respond(response) => return Ok(response),
    };
    // The handler's turn.
    let handle = Session::new(settings.clone(), req);
    http_req.extensions_mut().insert(handle.clone());
    let (req, mut response) = after_handler(st, &handle, inner.call(http_req).await)?;
    if let Some(mut req) = req {
        finish(st, &mut req, &mut response).await;
    }
    drop(lock);
    Ok(response)
}

/// After the handler: the engine request, taken from the handle (whose
/// clones are `Finished` from then on), and the handler's response.
fn after_handler<RB, E>(
    st: &Settings,
    handle: &Session,
    result: Result<http::Response<RB>, E>,
) -> Result<(Option<Box<Request>>, http::Response<RB>), E> {
    let taken = handle.take();
    let response = result?;
    if taken.is_none() {
        st.report("session engine missing after the handler");
    }
    Ok((taken, response))
}

/// Polls `future` once; its output if that finished it.
fn poll_once<F: Future>(future: F) -> Option<F::Output> {
    let mut future = std::pin::pin!(future);
    match future.as_mut().poll(&mut Context::from_waker(Waker::noop())) {
        Poll::Ready(output) => Some(output),
        Poll::Pending => None,
    }
}

pin_project_lite::pin_project! {
    /// The future of a [`SessionService`] call.
    ///
    /// When the store answers at once ([`AsyncStore::answers_at_once`], as
    /// [`MemoryStore`](crate::MemoryStore) does) and the session's lock is
    /// free, the session is ready before the call returns: this future is
    /// then the inner service's own future, unboxed, followed by the
    /// end-of-request work. Otherwise it is the whole request, boxed.
    pub struct SessionFuture<F, RB, E> {
        #[pin]
        state: Flow<F, RB, E>,
    }
}

pin_project_lite::pin_project! {
    #[project = FlowProj]
    enum Flow<F, RB, E> {
        Handler {
            #[pin]
            inner: F,
            handle: Session,
            lock: Option<KeyGuard>,
        },
        Answered { response: Option<http::Response<RB>> },
        Boxed { future: BoxFuture<Result<http::Response<RB>, E>> },
    }
}

impl<F, RB, E> fmt::Debug for SessionFuture<F, RB, E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self.state {
            Flow::Handler { .. } => "SessionFuture::Handler",
            Flow::Answered { .. } => "SessionFuture::Answered",
            Flow::Boxed { .. } => "SessionFuture::Boxed",
        })
    }
}

impl<F, RB, E> Future for SessionFuture<F, RB, E>
where
    F: Future<Output = Result<http::Response<RB>, E>>,
    RB: Default,
{
    type Output = Result<http::Response<RB>, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match self.project().state.project() {
            FlowProj::Boxed { future } => future.as_mut().poll(cx),
            FlowProj::Answered { response } => match response.take() {
                Some(response) => Poll::Ready(Ok(response)),
                None => panic!("SessionFuture polled after completion"),
            },
            FlowProj::Handler { inner, handle, lock } => {
                let result = std::task::ready!(inner.poll(cx));
                let st = &*handle.shared.settings;
                let (req, mut response) = after_handler(st, handle, result)?;
                // The store answers at once, so this finishes in one poll.
                if let Some(mut req) = req
                    && poll_once(finish(st, &mut req, &mut response)).is_none()
                {
                    st.report("session not saved: the store did not answer at once");
                }
                drop(lock.take());
                Poll::Ready(Ok(response))
            }
        }
    }
}

// ----- the handle -----------------------------------------------------------

/// Why a [`Session`] operation failed.
#[non_exhaustive]
#[derive(Debug)]
pub enum SessionError {
    /// The engine refused: [`crate::Error::NoSession`] (no session: out of
    /// the cookie path's scope, destroyed or unset), [`crate::Error::ReservedKey`]
    /// (`cookie` and the session's method names), or misuse.
    Engine(crate::Error),
    /// The store failed a handler operation (`save`, `reload`, `destroy`,
    /// `regenerate`); the message is the store's. For `reload`, also
    /// "failed to load session" when the record is gone.
    Store(String),
    /// The value could not be converted to or from JSON.
    Json(serde_json::Error),
    /// An asynchronous operation (`save`, `reload`, `destroy`,
    /// `regenerate`) on this session is under way: one at a time. (One whose
    /// future is dropped ends then, answered as failed with [`CANCELLED`].)
    Busy,
    /// The request has been answered: the handle is stale.
    Finished,
}

impl fmt::Display for SessionError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SessionError::Engine(e) => write!(f, "session: {e}"),
            SessionError::Store(m) => write!(f, "session store: {m}"),
            SessionError::Json(e) => write!(f, "session value: {e}"),
            SessionError::Busy => f.write_str("another session operation is under way"),
            SessionError::Finished => f.write_str("the request's session has been finished"),
        }
    }
}

impl std::error::Error for SessionError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            SessionError::Engine(e) => Some(e),
            SessionError::Json(e) => Some(e),
            _ => None,
        }
    }
}

impl From<crate::Error> for SessionError {
    fn from(e: crate::Error) -> Self {
        SessionError::Engine(e)
    }
}

impl From<serde_json::Error> for SessionError {
    fn from(e: serde_json::Error) -> Self {
        SessionError::Json(e)
    }
}

struct State {
    req: Option<Box<Request>>,
    /// An asynchronous operation holds the engine's turn.
    busy: bool,
}

struct Shared {
    settings: Arc<Settings>,
    state: Mutex<State>,
}

/// The request's session, for handlers (`req.session` of express). Found in
/// the request's extensions; clones refer to the same session. Valid until
/// the inner service returns its response.
///
/// The synchronous methods change the session in memory; the asynchronous
/// ones talk to the store. The session is saved (or touched) after the
/// handler by the layer, following express-session's rules. The
/// asynchronous ones are cancel-safe: dropping one before the store answers
/// (a timeout) ends it as failed with [`CANCELLED`], and the session carries on.
#[derive(Clone)]
pub struct Session {
    shared: Arc<Shared>,
}

/// axum (feature `axum`): `async fn handler(session: Session)` takes the
/// session the [`SessionLayer`] put in the request. Without the layer in
/// front of the route, the handler is not called: the response is 500 with
/// [`MissingSessionLayer`]'s message (a wiring mistake, not a client's).
#[cfg(feature = "axum")]
impl<S: Send + Sync> axum_core::extract::FromRequestParts<S> for Session {
    type Rejection = MissingSessionLayer;

    async fn from_request_parts(parts: &mut http::request::Parts, _state: &S) -> Result<Self, Self::Rejection> {
        parts.extensions.get::<Session>().cloned().ok_or(MissingSessionLayer)
    }
}

/// The rejection of the [`Session`] extractor when no [`SessionLayer`] runs
/// in front of the route: a 500 response saying so.
#[cfg(feature = "axum")]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MissingSessionLayer;

#[cfg(feature = "axum")]
impl fmt::Display for MissingSessionLayer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("no session: the route is not behind libsession's SessionLayer")
    }
}

#[cfg(feature = "axum")]
impl std::error::Error for MissingSessionLayer {}

#[cfg(feature = "axum")]
impl axum_core::response::IntoResponse for MissingSessionLayer {
    fn into_response(self) -> axum_core::response::Response {
        let mut response = axum_core::response::Response::new(axum_core::body::Body::from(self.to_string()));
        *response.status_mut() = http::StatusCode::INTERNAL_SERVER_ERROR;
        response
    }
}

impl fmt::Debug for Session {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Session").field("id", &self.id()).finish_non_exhaustive()
    }
}

enum Step {
    Store(StoreOp),
    Done(Result<(), SessionError>),
}

fn next_step(req: &mut Request) -> Result<Step, SessionError> {
    let action = req.poll_action()?;
    if let Some(op) = StoreOp::from_action(&action) {
        return Ok(Step::Store(op));
    }
    match action {
        Action::Completed { error: None } => Ok(Step::Done(Ok(()))),
        Action::Completed { error: Some(message) } => Ok(Step::Done(Err(SessionError::Store(message.to_string())))),
        _ => Err(SessionError::Engine(crate::Error::WrongPhase)),
    }
}

/// What the engine waits for while a handler's store operation is under way.
#[derive(Clone, Copy)]
enum Owed {
    Load,
    Store,
}

impl Owed {
    fn of(op: &StoreOp) -> Self {
        if matches!(op, StoreOp::Load { .. }) { Owed::Load } else { Owed::Store }
    }
}

/// The answer given in place of the store's when a handler drops the future
/// of a store operation (`tokio::time::timeout`, `select!`) before the store
/// answered.
pub const CANCELLED: &str = "session operation cancelled before the store answered";

/// Ends a [`Session::store_op`] however it ends: frees the engine's turn
/// and, if the future was dropped while the engine waited for the store,
/// answers it with a failure ([`CANCELLED`]). The engine cannot go on
/// without that answer, and the layer has no executor to finish the store's
/// work on; whether the store applied the dropped operation is unknown, so
/// the honest answer is that it failed (as a store error would: `save` and
/// `destroy` failures leave the session as express-session does, a failed
/// `reload` keeps the data). Changes made afterwards are saved at the end of
/// the request as usual.
struct Cancelled<'a> {
    session: &'a Session,
    owed: Option<Owed>,
}

impl Drop for Cancelled<'_> {
    fn drop(&mut self) {
        let mut state = self.session.state();
        if let (Some(owed), Some(req)) = (self.owed.take(), state.req.as_deref_mut()) {
            answer_cancelled(req, owed);
            self.session.shared.settings.report(CANCELLED);
        }
        state.busy = false;
    }
}

/// Answers the owed store action (and any the operation asks for next) as
/// failed, until the engine completes the operation.
fn answer_cancelled(req: &mut Request, mut owed: Owed) {
    loop {
        let answered = match owed {
            Owed::Load => req.handle_load(LoadResult::Failed { message: CANCELLED }),
            Owed::Store => req.handle_store_result(StoreResult::Failed { message: CANCELLED }),
        };
        if answered.is_err() {
            return;
        }
        match next_step(req) {
            Ok(Step::Store(op)) => owed = Owed::of(&op),
            Ok(Step::Done(_)) | Err(_) => return,
        }
    }
}

impl Session {
    fn new(settings: Arc<Settings>, req: Box<Request>) -> Self {
        Session { shared: Arc::new(Shared { settings, state: Mutex::new(State { req: Some(req), busy: false }) }) }
    }

    fn state(&self) -> MutexGuard<'_, State> {
        // Every change to the state is a single call into the engine, which
        // leaves it consistent even if a panic poisoned the lock.
        self.shared.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn take(&self) -> Option<Box<Request>> {
        self.state().req.take()
    }

    /// Reads the engine.
    fn read<R>(&self, f: impl FnOnce(&Request) -> R) -> Result<R, SessionError> {
        let state = self.state();
        state.req.as_deref().map(f).ok_or(SessionError::Finished)
    }

    /// A synchronous change (no store round trip).
    fn change<R>(&self, f: impl FnOnce(&mut Request) -> Result<R, crate::Error>) -> Result<R, SessionError> {
        let mut state = self.state();
        if state.busy {
            return Err(SessionError::Busy);
        }
        let req = state.req.as_mut().ok_or(SessionError::Finished)?;
        Ok(f(req)?)
    }

    /// An operation with a store round trip, answered by `Completed`.
    ///
    /// Cancel-safe: if this future is dropped while the store works, the
    /// [`Cancelled`] guard answers the engine in its place, so the session
    /// stays usable and the end-of-request save still happens.
    async fn store_op(&self, start: impl FnOnce(&mut Request) -> Result<(), crate::Error>) -> Result<(), SessionError> {
        let settings = &self.shared.settings;
        let now = (settings.clock)();
        let mut step = {
            let mut state = self.state();
            if state.busy {
                return Err(SessionError::Busy);
            }
            let state = &mut *state;
            let req = state.req.as_mut().ok_or(SessionError::Finished)?;
            req.set_now(now);
            start(req)?;
            state.busy = true;
            next_step(req)
        };
        // Declared before any state lock below, so dropped after it.
        let mut guard = Cancelled { session: self, owed: None };
        loop {
            match step {
                Ok(Step::Store(op)) => {
                    guard.owed = Some(Owed::of(&op));
                    let answer = op.perform(&*settings.store, now.0 as i64).await;
                    let mut state = self.state();
                    let req = state.req.as_mut().ok_or(SessionError::Finished)?;
                    guard.owed = None;
                    step = match answer.apply(req) {
                        Ok(()) => next_step(req),
                        Err(e) => Err(e.into()),
                    };
                }
                Ok(Step::Done(result)) => {
                    drop(guard);
                    if let Err(SessionError::Store(message)) = &result {
                        settings.report(message);
                    }
                    return result;
                }
                Err(e) => return Err(e),
            }
        }
    }

    /// `req.sessionID`: the session's ID (it stays set after `destroy`).
    pub fn id(&self) -> Option<String> {
        self.read(|r| r.session_id().map(str::to_string)).ok().flatten()
    }

    /// Whether there is a session (not destroyed, unset, or out of scope).
    pub fn is_present(&self) -> bool {
        self.read(Request::has_session).unwrap_or(false)
    }

    /// The value under `key`, deserialized; `None` if absent.
    pub fn get<T: DeserializeOwned>(&self, key: &str) -> Result<Option<T>, SessionError> {
        let state = self.state();
        let req = state.req.as_ref().ok_or(SessionError::Finished)?;
        match req.get(key) {
            Some(value) => Ok(Some(from_engine_value(value)?)),
            None => Ok(None),
        }
    }

    /// The value under `key` as the engine holds it.
    pub fn get_value(&self, key: &str) -> Option<Value> {
        self.read(|r| r.get(key).cloned()).ok().flatten()
    }

    /// All session data (without the cookie) as a JSON object.
    pub fn data(&self) -> Option<serde_json::Value> {
        self.read(|r| r.data_json().map(serde_json::Value::from)).ok().flatten()
    }

    /// `req.session[key] = value`, with the value as `JSON.parse(JSON.stringify(value))`
    /// (struct fields keep their order).
    pub fn insert<T: Serialize + ?Sized>(&self, key: &str, value: &T) -> Result<(), SessionError> {
        let value = to_engine_value(value)?;
        self.change(|r| r.set(key, value))
    }

    /// `req.session[key] = value` with an engine value.
    pub fn insert_value(&self, key: &str, value: Value) -> Result<(), SessionError> {
        self.change(|r| r.set(key, value))
    }

    /// `delete req.session[key]`; returns the removed value, deserialized.
    pub fn remove<T: DeserializeOwned>(&self, key: &str) -> Result<Option<T>, SessionError> {
        match self.change(|r| r.delete(key))? {
            Some(value) => Ok(Some(from_engine_value(&value)?)),
            None => Ok(None),
        }
    }

    /// `delete req.session[key]`; returns the removed engine value.
    pub fn remove_value(&self, key: &str) -> Result<Option<Value>, SessionError> {
        self.change(|r| r.delete(key))
    }

    /// `req.session[key] = (typeof it === 'number' ? it : 0) + 1`; returns the new value.
    pub fn increment(&self, key: &str) -> Result<f64, SessionError> {
        self.change(|r| r.increment(key))
    }

    /// `req.session.touch()`.
    pub fn touch(&self) -> Result<(), SessionError> {
        let now = (self.shared.settings.clock)();
        self.change(|r| {
            r.set_now(now);
            r.touch()
        })
    }

    /// `req.session.cookie.maxAge = ms` (`None`: a browser-session cookie).
    pub fn set_max_age(&self, ms: Option<f64>) -> Result<(), SessionError> {
        let now = (self.shared.settings.clock)();
        self.change(|r| {
            r.set_now(now);
            r.set_max_age(ms)
        })
    }

    /// `req.session.cookie.expires = new Date(at)` (`None`: no expiry).
    pub fn set_expires(&self, at: Option<f64>) -> Result<(), SessionError> {
        let now = (self.shared.settings.clock)();
        self.change(|r| {
            r.set_now(now);
            r.set_expires(at)
        })
    }

    /// `req.session.cookie[attr] = value`.
    pub fn set_cookie_attr(&self, attr: CookieAttr, value: Value) -> Result<(), SessionError> {
        self.change(|r| r.set_cookie_attr(attr, value))
    }

    /// `req.session.cookie.maxAge`: milliseconds left (`None` for a
    /// browser-session cookie or no session).
    pub fn max_age(&self) -> Option<f64> {
        self.read(Request::max_age).ok().flatten()
    }

    /// `req.session = null` (see [`Config`]'s `unset`).
    pub fn unset(&self) -> Result<(), SessionError> {
        self.change(Request::unset)
    }

    /// `req.session.save()`: store the session now.
    pub async fn save(&self) -> Result<(), SessionError> {
        self.store_op(Request::save).await
    }

    /// `req.session.reload()`: replace the data with the stored copy.
    pub async fn reload(&self) -> Result<(), SessionError> {
        self.store_op(Request::reload).await
    }

    /// `req.session.destroy()`: the session is gone at once (no cookie is
    /// set for it), and its record is deleted.
    pub async fn destroy(&self) -> Result<(), SessionError> {
        self.store_op(Request::destroy).await
    }

    /// `req.session.regenerate()`: delete the stored session and start a new,
    /// empty one under a new ID (even if the delete failed, in which case the
    /// store's message is returned).
    pub async fn regenerate(&self) -> Result<(), SessionError> {
        self.store_op(Request::regenerate).await
    }

    /// `regenerate`, keeping the data when `keep_data` (the login pattern: a
    /// new ID, the same data; see [`Request::regenerate_with`]). With
    /// `regenerateGrace` the old ID still loads, read-only, for the window.
    pub async fn regenerate_with(&self, keep_data: bool) -> Result<(), SessionError> {
        self.store_op(|req: &mut Request| req.regenerate_with(keep_data)).await
    }
}

// ----- per-session locks ------------------------------------------------------

/// One fair (FIFO) async lock per session ID, without a runtime. The table is
/// keyed by a keyed hash of the ID (SipHash with per-process random keys): a
/// collision could only make two sessions wait for each other, never let two
/// requests of one session overlap. An entry lives only while a request holds
/// or awaits it.
#[derive(Default)]
struct KeyedLocks {
    hasher: RandomState,
    slots: Mutex<Slots>,
}

/// The table's keys are SipHash outputs already: used as they are.
type Slots = HashMap<u64, Slot, std::hash::BuildHasherDefault<Prehashed>>;

#[derive(Default)]
struct Prehashed(u64);

impl std::hash::Hasher for Prehashed {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        // Only `u64` keys are hashed here; anything else still mixes in.
        for &b in bytes {
            self.0 = (self.0 ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
        }
    }

    fn write_u64(&mut self, n: u64) {
        self.0 = n;
    }
}

#[derive(Default)]
struct Slot {
    /// The ticket that holds the lock.
    holder: u64,
    next_ticket: u64,
    /// Waiting tickets in arrival order, with the waker of their last poll.
    waiters: VecDeque<(u64, Option<Waker>)>,
}

impl KeyedLocks {
    fn slots(&self) -> MutexGuard<'_, Slots> {
        // Every change leaves the table consistent: usable even if poisoned.
        self.slots.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Takes the lock of `key`, waiting for the requests ahead.
    fn lock(self: &Arc<Self>, key: &str) -> LockWait {
        let hash = self.hasher.hash_one(key);
        let mut slots = self.slots();
        let slot = slots.entry(hash).or_default();
        let ticket = slot.next_ticket;
        slot.next_ticket += 1;
        let granted = ticket == slot.holder;
        if !granted {
            slot.waiters.push_back((ticket, None));
        }
        LockWait { locks: Some(self.clone()), hash, ticket, granted }
    }

    /// Hands the lock of `hash` to the next waiter, or drops the entry.
    fn release(&self, hash: u64) {
        let waker = {
            let mut slots = self.slots();
            let Some(slot) = slots.get_mut(&hash) else { return };
            match slot.waiters.pop_front() {
                Some((ticket, waker)) => {
                    slot.holder = ticket;
                    waker
                }
                None => {
                    slots.remove(&hash);
                    None
                }
            }
        };
        if let Some(waker) = waker {
            waker.wake();
        }
    }
}

/// A claim on a session's lock: resolves to the held [`KeyGuard`].
struct LockWait {
    /// `None` once the guard has been handed out.
    locks: Option<Arc<KeyedLocks>>,
    hash: u64,
    ticket: u64,
    /// The lock was free when claimed: it is this claim's already.
    granted: bool,
}

impl Future for LockWait {
    type Output = KeyGuard;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<KeyGuard> {
        let Some(locks) = self.locks.clone() else { panic!("LockWait polled after completion") };
        if self.granted {
            self.locks = None;
            return Poll::Ready(KeyGuard { locks, hash: self.hash });
        }
        let mut slots = locks.slots();
        let slot = slots.get_mut(&self.hash);
        match slot {
            Some(slot) if slot.holder != self.ticket => {
                if let Some(entry) = slot.waiters.iter_mut().find(|(t, _)| *t == self.ticket) {
                    entry.1 = Some(cx.waker().clone());
                }
                Poll::Pending
            }
            _ => {
                drop(slots);
                self.locks = None;
                Poll::Ready(KeyGuard { locks, hash: self.hash })
            }
        }
    }
}

impl Drop for LockWait {
    fn drop(&mut self) {
        // Cancelled before it resolved: leave the queue, or pass the lock on
        // if it was handed to this claim already.
        let Some(locks) = self.locks.take() else { return };
        let granted = {
            let mut slots = locks.slots();
            match slots.get_mut(&self.hash) {
                Some(slot) if slot.holder == self.ticket => true,
                Some(slot) => {
                    slot.waiters.retain(|(t, _)| *t != self.ticket);
                    false
                }
                None => false,
            }
        };
        if granted {
            locks.release(self.hash);
        }
    }
}

/// A held session lock: released (to the next waiter) when dropped.
struct KeyGuard {
    locks: Arc<KeyedLocks>,
    hash: u64,
}

impl Drop for KeyGuard {
    fn drop(&mut self) {
        self.locks.release(self.hash);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn poll<F: Future + Unpin>(f: &mut F) -> Poll<F::Output> {
        Pin::new(f).poll(&mut Context::from_waker(Waker::noop()))
    }

    #[test]
    fn locks_are_fifo_and_entries_live_only_while_used() {
        let locks = Arc::new(KeyedLocks::default());
        let Poll::Ready(a) = poll(&mut locks.lock("a")) else { panic!("free") };
        let mut second = locks.lock("a");
        let mut third = locks.lock("a");
        assert!(poll(&mut third).is_pending());
        assert!(poll(&mut second).is_pending());
        let Poll::Ready(b) = poll(&mut locks.lock("b")) else { panic!("another key is free") };
        assert_eq!(locks.slots().len(), 2);
        drop(a);
        // Handed over in arrival order.
        assert!(poll(&mut third).is_pending());
        let Poll::Ready(second_guard) = poll(&mut second) else { panic!("second in line") };
        // A waiter that is cancelled leaves the queue.
        drop(third);
        let mut fourth = locks.lock("a");
        assert!(poll(&mut fourth).is_pending());
        drop(second_guard);
        // Granted but cancelled before it looked: the lock moves on.
        drop(fourth);
        assert!(!locks.slots().contains_key(&locks.hasher.hash_one("a")));
        drop(b);
        assert!(locks.slots().is_empty());
    }
}

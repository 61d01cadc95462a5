//! The per-request state machine. Every state transition lives in this file.
//!
//! The logic is express-session 1.19.0's middleware, re-cut as a sans-IO
//! machine: the middleware's entry (cookie → load or generate) runs on the
//! first [`Request::poll_action`]; the route handler's calls are methods; the
//! patched `res.end` is [`Request::finish`]; every store call is an action the
//! host performs and answers.

use std::sync::Arc;

use crate::action::{Action, LoadResult, StoreKind, StoreResult, UnixMillis, Version};
use crate::config::Config;
use crate::cookie_header::{decode_bytes_into, decode_uri_component, is_uri_component_encoding, latin1, raw_values};
use crate::error::Error;
use crate::event::{Event, StoreOperation};
use crate::guards::{
    DuplicateCookies, FINGERPRINT_KEY, OnConflict, OnLoadError, OnSaveError, SAVE_CONFLICT, VERSION_KEY, version_of,
};
use crate::ids::IdSource;
use crate::json::{Map, Value};
use crate::lifecycle::{self, Verdict};
use crate::record::{Record, RecordInput, StoredRecord, read_record_with};
use crate::session::{HashText, Layout, Session, is_object_prototype_name, is_reserved};
use crate::session_cookie::{Attr, CookieAttr, CookieValue, SessionCookie};

/// The message express-session gives `reload()` when the record is gone.
pub const FAILED_TO_LOAD: &str = "failed to load session";
/// The message express-session gives when no secret is configured.
pub const SECRET_REQUIRED: &str = "secret option required for sessions";
/// Longest `Set-Cookie` value the engine emits, in bytes (RFC 6265 6.1,
/// 6265bis 5.6: browsers drop a longer cookie).
pub const MAX_SET_COOKIE_BYTES: usize = 4096;
/// How many ID collisions ([`StoreResult::Exists`]) one request takes before
/// it gives up on saving (a source that repeats its IDs).
const MAX_ID_COLLISIONS: u32 = 16;
/// The error a request reports when its new IDs keep colliding.
pub const ID_COLLISIONS: &str = "session ID collisions: the ID source keeps giving IDs already stored";
/// The [`Action::Error`] a response gets instead of a `Set-Cookie` longer
/// than [`MAX_SET_COOKIE_BYTES`] (a browser would drop it; the store is
/// still written, as for any cookie that cannot be serialized).
pub const SET_COOKIE_TOO_LONG: &str = "Set-Cookie would be longer than 4096 bytes: browsers drop it";
/// The error `save()` answers for a session loaded in its `regenerateGrace`
/// window: the ID was replaced and its record is never written again.
pub const SUPERSEDED: &str = "session ID replaced by regenerate: read-only in its grace window";

/// The record written at the end of the request: the text, the range whose
/// removal gives the change-detection text, and where the cookie's value is.
#[derive(Debug)]
struct RecordCache {
    record: String,
    layout: Layout,
}

/// A verified cookie: its session ID, the position of the secret that
/// verified it, and where its value sits in the Cookie header when the
/// signing key (the first) verified it and it is ASCII.
#[derive(Clone, Debug)]
struct VerifiedCookie {
    id: Arc<str>,
    key_index: usize,
    span: Option<(usize, usize)>,
}

/// An owned action, kept until the next call so that [`Action`] can borrow it.
#[derive(Debug)]
enum Out {
    // Store operations always concern the current session ID, which cannot
    // change while one is outstanding: the view borrows it from the request.
    Load,
    Save {
        record: String,
        expires_at: Option<i64>,
        is_new: bool,
        version: Option<Version>,
    },
    Touch {
        record: String,
        expires_at: Option<i64>,
        version: Option<Version>,
    },
    Destroy,
    SetCookie(String),
    SetHeader(String),
    Completed(Option<String>),
    Error(String),
    /// `Action::Conflict { reloaded }`.
    Conflict(bool),
    Done,
}

/// Which store answer is owed, and what it is for.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
enum Pending {
    /// The middleware's `store.get` of the cookie's session.
    MiddlewareLoad,
    /// `req.session.reload()`.
    Reload,
    /// `req.session.save()`.
    HandlerSave,
    /// `req.session.destroy()`.
    HandlerDestroy,
    /// `req.session.regenerate()`: destroy, then generate.
    Regenerate,
    /// The end-of-request save, touch or destroy.
    End,
    /// `onConflict: "reloadAndReport"`: loading the stored record after a
    /// versioned save (the end-of-request one when `end`) lost a race.
    ConflictReload { end: bool },
    /// The destroy of a loaded record the lifecycle rules refused (timed
    /// out, or past its grace window); then on as for no record.
    Refused,
}

impl Pending {
    fn is_load(self) -> bool {
        matches!(self, Pending::MiddlewareLoad | Pending::Reload | Pending::ConflictReload { .. })
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum Phase {
    /// Request facts may be given; the first poll starts the request.
    Start,
    /// The middleware is loading the session.
    Loading,
    /// The application's turn: the handler may run (`Ready`) and call
    /// operations, or loading failed and it must finish.
    App {
        load_error: Option<String>,
    },
    /// `finish` was called; end-of-request work is under way.
    Finishing,
    Done,
    /// Misuse: sticky.
    Failed,
}

/// A change-detection snapshot (express-session's `originalHash` and
/// `savedHash`): the text, and which data it was taken of, so that data that
/// has not changed since matches without comparing text.
#[derive(Clone, Debug)]
struct Snapshot {
    text: HashText,
    /// The session's generation and its data's change count when taken;
    /// `None` when the text is not the data's own (a record whose shadowed
    /// keys were dropped).
    of: Option<(u64, u64)>,
}

/// The facts of the HTTP request that the engine needs.
#[derive(Debug, Default)]
struct Facts {
    /// Whether the target's pathname is in the cookie path's scope (the
    /// only thing the target decides).
    in_scope: bool,
    cookie: Option<Vec<u8>>,
    forwarded_proto: Option<Vec<u8>>,
    tls: bool,
    store_unavailable: bool,
    store_kind: StoreKind,
    /// The target's pathname is one of the `ignore` paths.
    ignored: bool,
    /// The host asked for a removal cookie when the request's cookie names
    /// no live session.
    clear_stale_cookie: bool,
    /// Request facts for `fingerprint` (lowercase name, value).
    fingerprint_facts: Vec<(String, Vec<u8>)>,
    /// The value of the `header` option's request header.
    session_header: Option<Vec<u8>>,
}

/// One HTTP request's session lifecycle. `Send`: it may move between
/// threads, but is used by one at a time.
///
/// The loop: after creating it (and giving the request facts), and after
/// every `handle_*` call or operation, call [`poll_action`](Self::poll_action)
/// until it returns `Wait`, `Ready`, `Failed` or `Done`.
pub struct Request {
    config: Arc<Config>,
    now: f64,
    ids: Box<dyn IdSource>,
    /// IDs the host queued, used before the ID source's.
    pushed: std::collections::VecDeque<String>,
    generated: u64,
    /// The session ID was generated by this request and no save of it has
    /// succeeded: its save is insert-if-absent (`Action::Save::is_new`).
    unstored: bool,
    /// How many new-session saves found their ID taken.
    collisions: u32,
    facts: Facts,
    phase: Phase,
    /// The actions waiting to be polled (never more than four).
    queue: std::collections::VecDeque<Out>,
    current: Option<Out>,
    pending: Option<Pending>,

    // express-session's per-request variables.
    is_secure: bool,
    /// Whether express-session's `res.end` patch applies (it does not when
    /// the middleware bailed out before reading the cookie).
    engaged: bool,
    cookie_id: Option<Arc<str>>,
    /// Where the cookie's value sits in the Cookie header, when it is ASCII
    /// and carries the signing key's signature of `cookie_id`: if it is
    /// encoded as `encodeURIComponent` does, a Set-Cookie for `cookie_id`
    /// copies it rather than encoding again.
    cookie_value: Option<(usize, usize)>,
    session_id: Option<Arc<str>>,
    session: Option<Box<Session>>,
    /// Whether `req.session`'s `save`/`reload` are the middleware's wrapped
    /// versions (false after `regenerate`).
    wrapped: bool,
    original_id: Option<Arc<str>>,
    /// express-session's `originalHash` and `savedHash`: change-detection
    /// texts (a loaded record's own text, with its cookie cut out, costs
    /// nothing to take).
    original: Option<Snapshot>,
    saved: Option<Snapshot>,
    /// Moves on each time `req.session` is replaced: with the data's own
    /// change count, it names the data a snapshot was taken of.
    generation: u64,
    touched: bool,
    /// At the end of the request: the record for the final data version,
    /// with the span whose removal gives the change-detection text.
    record_cache: Option<RecordCache>,
    /// Where the parts of the outstanding end-of-request Save's or Touch's
    /// record are.
    written: Option<Layout>,

    // Beyond express-session (config.guards).
    /// Events for the host, oldest first ([`Request::poll_event`]).
    events: std::collections::VecDeque<Event>,
    /// The position of the secret that verified `cookie_id`.
    cookie_key: usize,
    /// More verified cookies of the session's name to try, in order, when
    /// the one being loaded has no session (`duplicateCookies: "tryEach"`).
    candidates: Vec<VerifiedCookie>,
    /// A cookie of the session's name came with the request.
    cookie_sent: bool,
    /// The handler destroyed the session (or `unset: "destroy"` will).
    destroyed: bool,
    /// The middleware loaded the session the cookie names.
    loaded_from_cookie: bool,
    /// The Set-Cookie held until the end-of-request save succeeds
    /// (`onSaveError: "withholdCookie"`).
    held_cookie: Option<String>,
    /// `versioned`: the version of the stored record the session was read
    /// from (or last saved as); `None` for a session never stored.
    version: Option<u64>,
    /// `versioned`: the compare-and-set of the outstanding (or last) save.
    save_version: Option<Version>,
    /// The session is the grace copy of an ID a `regenerate` replaced
    /// (`regenerateGrace`): read-only, never written, its cookie never set.
    superseded: bool,
    /// With `regenerateGrace`: the session as the middleware loaded it (the
    /// grace record of its ID, should the handler regenerate).
    as_loaded: Option<Box<Session>>,
    /// The outstanding `regenerate` keeps the session's data.
    regenerate_keep: bool,
    /// The request's cookie named an ID a `regenerate` replaced, past its
    /// grace window.
    cookie_replaced: bool,
}

const _: () = {
    const fn assert_send<T: Send>() {}
    assert_send::<Request>();
};

impl std::fmt::Debug for Request {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Request")
            .field("phase", &self.phase)
            .field("pending", &self.pending)
            .field("has_session", &self.session.is_some())
            .finish_non_exhaustive()
    }
}

impl Request {
    /// A request at `now`, taking new session IDs from `ids`.
    pub fn new<I: IdSource + 'static>(config: Arc<Config>, now: UnixMillis, ids: I) -> Self {
        Request::with_boxed_ids(config, now, Box::new(ids))
    }

    /// A request taking IDs from a boxed source.
    pub fn with_boxed_ids(config: Arc<Config>, now: UnixMillis, ids: Box<dyn IdSource>) -> Self {
        // The default target is `/`.
        let in_scope = b"/".starts_with(config.scope.as_bytes());
        let ignored = config.guards.ignore.iter().any(|p| p == "/");
        Request {
            config,
            now: now.0 as f64,
            ids,
            pushed: std::collections::VecDeque::new(),
            generated: 0,
            unstored: false,
            collisions: 0,
            facts: Facts { in_scope, ignored, ..Facts::default() },
            phase: Phase::Start,
            queue: std::collections::VecDeque::new(),
            current: None,
            pending: None,
            is_secure: false,
            engaged: false,
            cookie_id: None,
            cookie_value: None,
            session_id: None,
            session: None,
            wrapped: false,
            original_id: None,
            original: None,
            generation: 0,
            saved: None,
            touched: false,
            record_cache: None,
            written: None,
            events: std::collections::VecDeque::new(),
            cookie_key: 0,
            candidates: Vec::new(),
            cookie_sent: false,
            destroyed: false,
            loaded_from_cookie: false,
            held_cookie: None,
            version: None,
            save_version: None,
            superseded: false,
            as_loaded: None,
            regenerate_keep: false,
            cookie_replaced: false,
        }
    }

    // ----- request facts (before the first poll) -------------------------

    fn fact_phase(&mut self) -> Result<(), Error> {
        match self.phase {
            Phase::Start => Ok(()),
            Phase::Failed => Err(Error::RequestFailed),
            _ => Err(self.fail(Error::WrongPhase)),
        }
    }

    /// The request target (`/path?query`, or an absolute URL). Default `/`
    /// (an empty target counts as `/`).
    pub fn set_target(&mut self, target: &[u8]) -> Result<(), Error> {
        self.fact_phase()?;
        let path = pathname(target);
        self.facts.in_scope = path.starts_with(self.config.scope.as_bytes());
        self.facts.ignored = self.config.guards.ignore.iter().any(|p| p.as_bytes() == &*path);
        Ok(())
    }

    /// One request fact for `fingerprint` (e.g. `("user-agent", value)`;
    /// the name is compared case-insensitively; give a fact several times
    /// for several values). Only before the first poll; ignored unless the
    /// configuration names it.
    pub fn add_fingerprint_fact(&mut self, name: &str, value: &[u8]) -> Result<(), Error> {
        self.fact_phase()?;
        self.facts.fingerprint_facts.push((name.to_ascii_lowercase(), value.to_vec()));
        Ok(())
    }

    /// This request's fingerprint, when the configuration asks for one.
    fn fingerprint(&self) -> Option<String> {
        let names = &self.config.guards.fingerprint;
        let key = self.config.keys.first()?;
        (!names.is_empty()).then(|| crate::guards::fingerprint(key, names, &self.facts.fingerprint_facts))
    }

    /// Asks for a removal Set-Cookie (same name, path and domain, expired)
    /// when the request's cookie names no live session (a forged or stale
    /// cookie, a session gone from the store) and the response sets no new
    /// one, so the browser stops sending it. Off by default.
    pub fn set_clear_stale_cookie(&mut self, on: bool) -> Result<(), Error> {
        self.fact_phase()?;
        self.facts.clear_stale_cookie = on;
        Ok(())
    }

    /// The next event of this request's session (oldest first), if any: a
    /// forged cookie, an old key, a record gone or corrupt, a store failure
    /// (see [`Event`]). Drain them whenever convenient, typically after
    /// `Done`; they never change what the request does.
    pub fn poll_event(&mut self) -> Option<Event> {
        self.events.pop_front()
    }

    /// One `Cookie` header value; several are joined with `"; "` as Node does.
    pub fn add_cookie_header(&mut self, value: &[u8]) -> Result<(), Error> {
        self.fact_phase()?;
        join(&mut self.facts.cookie, value, b"; ");
        Ok(())
    }

    /// The value of the request header the `header` option names (for
    /// clients without cookies: the signed session ID, as in the cookie).
    /// Ignored without the option. The cookie is tried first; the header's
    /// session is used when no cookie of the name verifies (or, with
    /// `duplicateCookies: "tryEach"`, when no cookie's session loads). A
    /// second call replaces the first.
    pub fn add_session_header(&mut self, value: &[u8]) -> Result<(), Error> {
        self.fact_phase()?;
        self.facts.session_header = Some(value.to_vec());
        Ok(())
    }

    /// One `X-Forwarded-Proto` header value; several are joined with `", "`.
    pub fn add_forwarded_proto(&mut self, value: &[u8]) -> Result<(), Error> {
        self.fact_phase()?;
        join(&mut self.facts.forwarded_proto, value, b", ");
        Ok(())
    }

    /// Whether the connection itself is TLS.
    pub fn set_tls(&mut self, tls: bool) -> Result<(), Error> {
        self.fact_phase()?;
        self.facts.tls = tls;
        Ok(())
    }

    /// The store is known to be unavailable (express-session's store
    /// `disconnect` event): the request proceeds without a session.
    pub fn set_store_unavailable(&mut self, unavailable: bool) -> Result<(), Error> {
        self.fact_phase()?;
        self.facts.store_unavailable = unavailable;
        Ok(())
    }

    /// Which rules the store's records follow (default
    /// [`StoreKind::Memory`]): whether a loaded record's stored expiry is
    /// checked, and what a `null` record means. A property of the store, not
    /// of the request: it may be set at any time and counts for the loads
    /// answered after it.
    pub fn set_store_kind(&mut self, kind: StoreKind) {
        self.facts.store_kind = kind;
    }

    /// Queues an ID for the next new session (express-session's `genid`):
    /// queued IDs are used, in order, before the request's ID source.
    pub fn push_session_id(&mut self, id: impl Into<String>) {
        self.pushed.push_back(id.into());
    }

    /// How many session IDs this request has taken (queued or generated).
    pub fn generated_id_count(&self) -> u64 {
        self.generated
    }

    /// Updates the clock (for hosts whose store answers arrive later).
    /// Earlier times are accepted too; nothing assumes time is monotonic.
    pub fn set_now(&mut self, now: UnixMillis) {
        self.now = now.0 as f64;
    }

    // ----- the poll loop ------------------------------------------------

    /// The next action. See [`Action`] for what each asks of the host.
    pub fn poll_action(&mut self) -> Result<Action<'_>, Error> {
        match self.phase {
            Phase::Failed => return Err(Error::RequestFailed),
            Phase::Start => self.start()?,
            _ => {}
        }
        self.current = self.queue.pop_front();
        Ok(self.current_action())
    }

    fn id_str(&self) -> &str {
        self.session_id.as_deref().unwrap_or("")
    }

    /// The action the last [`poll_action`](Self::poll_action) returned, again
    /// (without moving on). `Done` before the first poll or after misuse.
    pub fn current_action(&self) -> Action<'_> {
        if let Some(out) = &self.current {
            return match out {
                Out::Load => Action::Load { id: self.id_str() },
                Out::Save { record, expires_at, is_new, version } => Action::Save {
                    id: self.id_str(),
                    record,
                    expires_at: *expires_at,
                    is_new: *is_new,
                    version: *version,
                },
                Out::Touch { record, expires_at, version } => {
                    Action::Touch { id: self.id_str(), record, expires_at: *expires_at, version: *version }
                }
                Out::Destroy => Action::Destroy { id: self.id_str() },
                Out::SetCookie(value) => Action::SetCookie { value },
                Out::SetHeader(value) => {
                    Action::SetHeader { name: self.config.guards.header.as_deref().unwrap_or_default(), value }
                }
                Out::Completed(e) => Action::Completed { error: e.as_deref() },
                Out::Error(message) => Action::Error { message },
                Out::Conflict(reloaded) => Action::Conflict { reloaded: *reloaded },
                Out::Done => Action::Done,
            };
        }
        if self.pending.is_some() {
            return Action::Wait;
        }
        match &self.phase {
            Phase::App { load_error: None } => Action::Ready,
            Phase::App { load_error: Some(message) } => Action::Failed { message },
            _ => Action::Done,
        }
    }

    /// For the current [`Action::Save`] or [`Action::Touch`]: the record
    /// as an engine-made [`StoredRecord`], for a store that keeps records
    /// to hold instead of the text, and to give back at the next load
    /// ([`LoadResult::Stored`]), which then reads nothing. Its text is the
    /// action's `record`. `None` for any other action.
    ///
    /// At the end of the request the record carries the session itself,
    /// already read: the request has none afterwards (its `get` answers
    /// `None`; the rest of the request needs none). It comes without the
    /// session when reading the text would not give the same session (an
    /// attribute JSON does not carry as it is, such as an invalid date).
    pub fn take_stored_record(&mut self) -> Option<StoredRecord> {
        let Some(Out::Save { record, .. } | Out::Touch { record, .. }) = &self.current else {
            return None;
        };
        let text: Arc<str> = Arc::from(record.as_str());
        // A new session's save may be answered `Exists` and made again
        // under another ID: it keeps its session until stored.
        let new_save = matches!(self.current, Some(Out::Save { is_new: true, .. }));
        let layout = self.written.as_ref().filter(|_| self.pending == Some(Pending::End) && !new_save);
        let Some(layout) = layout else {
            return Some(StoredRecord::from_text(text));
        };
        let cookie = layout.cookie;
        let session = match self.session.take() {
            Some(session) => match session.into_read_form(text.clone(), layout) {
                Ok(read) => Some(read),
                Err(session) => {
                    self.session = Some(session);
                    None
                }
            },
            None => None,
        };
        Some(StoredRecord::with_session(text, Some(cookie), session))
    }

    /// The answer to [`Action::Load`]: record text, a record the engine
    /// made ([`take_stored_record`](Self::take_stored_record)), not found,
    /// or a failure. The store's rules ([`set_store_kind`](Self::set_store_kind))
    /// decide what a record whose stored expiry passed, or `null`, means.
    pub fn handle_load(&mut self, result: LoadResult<'_>) -> Result<(), Error> {
        let pending = self.take_pending(true)?;
        let kind = self.facts.store_kind;
        if let Pending::ConflictReload { end } = pending {
            return self.conflict_reloaded(end, result);
        }
        match result {
            LoadResult::Found(bytes) => {
                let record = read_record_with(RecordInput::Bytes(bytes), self.now, kind, &self.config.record_limits);
                self.loaded(pending, record)
            }
            LoadResult::Stored(record) => {
                let record = record.read(self.now, kind, &self.config.record_limits);
                self.loaded(pending, record)
            }
            LoadResult::NotFound | LoadResult::Missing { .. } if pending == Pending::MiddlewareLoad => {
                self.events.push_back(Event::RecordNotFound);
                self.no_session_for_cookie()
            }
            LoadResult::Failed { message } if pending == Pending::MiddlewareLoad => {
                self.events.push_back(Event::StoreError { operation: StoreOperation::Load });
                self.load_failed(message.to_string())
            }
            LoadResult::Failed { message } | LoadResult::Missing { message } => {
                self.events.push_back(Event::StoreError { operation: StoreOperation::Load });
                self.complete(Some(message.to_string()));
                Ok(())
            }
            LoadResult::NotFound => {
                self.events.push_back(Event::RecordNotFound);
                self.complete(Some(FAILED_TO_LOAD.into()));
                Ok(())
            }
        }
    }

    /// The cookie's session is not there (no record, or one expired or
    /// falsy): the next verified cookie of the name (`duplicateCookies:
    /// "tryEach"`), or a new session.
    fn no_session_for_cookie(&mut self) -> Result<(), Error> {
        if self.candidates.is_empty() {
            return self.generate_ready();
        }
        let next = self.candidates.remove(0);
        self.use_cookie(Some(next));
        self.store_op(Out::Load, Pending::MiddlewareLoad);
        Ok(())
    }

    /// Loading the cookie's session failed with `message` (a store error, a
    /// corrupt record): express-session fails the request; with
    /// `onLoadError: "fresh"` the request carries on with a new session (the
    /// old record untouched).
    fn load_failed(&mut self, message: String) -> Result<(), Error> {
        if self.config.guards.on_load_error == OnLoadError::Fresh {
            self.candidates.clear();
            return self.generate_ready();
        }
        self.phase = Phase::App { load_error: Some(message) };
        Ok(())
    }

    /// The cookie whose session the middleware loads (or none).
    fn use_cookie(&mut self, cookie: Option<VerifiedCookie>) {
        let (id, key_index, span) = match cookie {
            Some(c) => (Some(c.id), c.key_index, c.span),
            None => (None, 0, None),
        };
        if key_index > 0 {
            self.events.push_back(Event::VerifiedByOldKey { index: key_index });
        }
        self.cookie_value = span;
        self.cookie_key = key_index;
        self.cookie_id = id.clone();
        self.session_id = id;
    }

    /// A record the store found, read.
    fn loaded(&mut self, pending: Pending, record: Record) -> Result<(), Error> {
        let event = match &record {
            Record::Absent => Some(Event::RecordNotFound),
            Record::Expired => Some(Event::RecordExpired),
            Record::Corrupt(_) => Some(Event::RecordCorrupt),
            Record::Session { .. } => None,
        };
        self.events.extend(event);
        match (pending, record) {
            (Pending::MiddlewareLoad, Record::Absent | Record::Expired) => return self.no_session_for_cookie(),
            (Pending::MiddlewareLoad, Record::Session { session, original }) => {
                let mut bind = None;
                if let Some(print) = self.fingerprint() {
                    match session.data.get(FINGERPRINT_KEY) {
                        Some(Value::String(stored)) if *stored == print => {}
                        // Made before the option (or by a Node app): bound
                        // now, as a change (so it is saved).
                        None => bind = Some(print),
                        Some(_) => {
                            self.events.push_back(Event::FingerprintMismatch);
                            return self.no_session_for_cookie();
                        }
                    }
                }
                let (superseded, stamp_created, stamp_seen) =
                    match lifecycle::check(&self.config.guards, &session.data, self.now) {
                        Verdict::Live { superseded, stamp_created, stamp_seen } => {
                            (superseded, stamp_created, stamp_seen)
                        }
                        Verdict::Refused(event) => {
                            // Over: destroyed (a Node app sharing the store
                            // ignores the stamps), then on as for no record.
                            self.cookie_replaced |= event == Event::RegenerateGraceEnded;
                            self.events.push_back(event);
                            self.store_op(Out::Destroy, Pending::Refused);
                            return Ok(());
                        }
                    };
                if superseded {
                    self.events.push_back(Event::RegenerateGrace);
                    bind = None; // never written
                } else if self.config.guards.regenerate_grace.is_some() {
                    self.as_loaded = Some(session.clone());
                }
                self.superseded = superseded;
                self.loaded_from_cookie = true;
                self.version = self.config.guards.versioned.then(|| version_of(session.data.get(VERSION_KEY)));
                self.replace_session(Some(session));
                self.wrapped = true;
                self.original_id = self.session_id.clone();
                self.original = Some(match original {
                    Some(text) => Snapshot { text, of: None },
                    None => self.snapshot(),
                });
                if !self.config.resave {
                    self.saved = self.original.clone();
                }
                let now = self.now;
                if let Some(data) = self.data_for_change() {
                    if let Some(print) = bind {
                        data.insert(FINGERPRINT_KEY, Value::String(print));
                    }
                    // A record without the stamps (express-session's, or
                    // older than the option) counts as begun and seen now;
                    // a last-seen time a tenth of the idle window behind is
                    // moved on. Either is a change, so the record is saved.
                    if stamp_created {
                        data.insert(lifecycle::CREATED_AT_KEY, Value::Number(now));
                    }
                    if stamp_seen {
                        data.insert(lifecycle::LAST_SEEN_AT_KEY, Value::Number(now));
                    }
                }
                self.phase = Phase::App { load_error: None };
            }
            (Pending::MiddlewareLoad, Record::Corrupt(message)) => return self.load_failed(message),
            (_, Record::Absent | Record::Expired) => self.complete(Some(FAILED_TO_LOAD.into())),
            (_, Record::Corrupt(message)) => self.complete(Some(message)),
            (_, Record::Session { session, .. }) => {
                // A regenerate elsewhere made the record a grace copy
                // meanwhile: from now on read-only, as if loaded so.
                self.superseded |= session.data.contains_key(lifecycle::GRACE_UNTIL_KEY);
                // reload() keeps the request's original hash and the
                // wrapping state of the session it replaces.
                self.version = self.config.guards.versioned.then(|| version_of(session.data.get(VERSION_KEY)));
                self.replace_session(Some(session));
                self.complete(None);
            }
        }
        Ok(())
    }

    /// The answer to [`Action::Save`], [`Action::Touch`] or [`Action::Destroy`].
    pub fn handle_store_result(&mut self, result: StoreResult<'_>) -> Result<(), Error> {
        let pending = self.take_pending(false)?;
        let new_save = matches!(self.current, Some(Out::Save { is_new: true, .. }));
        let error = match result {
            StoreResult::Ok => {
                if new_save {
                    self.unstored = false;
                }
                if let Some(Out::Save { version: Some(v), .. }) = &self.current {
                    self.version = Some(v.written);
                }
                None
            }
            StoreResult::Failed { message } => Some(message.to_string()),
            StoreResult::Exists if new_save => return self.collided(pending),
            StoreResult::Exists => return Err(self.fail(Error::UnexpectedInput)),
            StoreResult::Conflict => match &self.current {
                Some(Out::Save { version: Some(_), is_new: false, .. }) => return self.conflicted(pending),
                // A touch that lost a race changed nothing: the record is
                // newer than this request's, which changed no data.
                Some(Out::Touch { version: Some(_), .. }) => {
                    self.events.push_back(Event::Conflict { operation: StoreOperation::Touch });
                    None
                }
                _ => return Err(self.fail(Error::UnexpectedInput)),
            },
        };
        if error.is_some() {
            let operation = match (pending, &self.current) {
                (Pending::HandlerSave, _) | (_, Some(Out::Save { .. })) => StoreOperation::Save,
                (_, Some(Out::Touch { .. })) => StoreOperation::Touch,
                _ => StoreOperation::Destroy,
            };
            self.events.push_back(Event::StoreError { operation });
        }
        match pending {
            Pending::HandlerSave | Pending::HandlerDestroy => self.complete(error),
            Pending::Regenerate => {
                self.regenerated()?;
                self.complete(error);
            }
            // The refused record stays refused whether or not it is gone.
            Pending::Refused => return self.no_session_for_cookie(),
            Pending::End => {
                let held = self.held_cookie.take();
                match error {
                    // The session was not stored: no cookie for it.
                    Some(message) => self.queue.push_back(Out::Error(message)),
                    None => {
                        if let Some(value) = held {
                            self.push_set_cookie(value);
                        }
                    }
                }
                self.done();
            }
            Pending::MiddlewareLoad | Pending::Reload | Pending::ConflictReload { .. } => {
                return Err(self.fail(Error::UnexpectedInput));
            }
        }
        Ok(())
    }

    /// A versioned save lost a race ([`StoreResult::Conflict`]): nothing
    /// was written. `onConflict: "fail"` reports it at once; with
    /// `"reloadAndReport"` the stored record is loaded first.
    #[cold]
    #[inline(never)]
    fn conflicted(&mut self, pending: Pending) -> Result<(), Error> {
        self.events.push_back(Event::Conflict { operation: StoreOperation::Save });
        let end = match pending {
            Pending::End => true,
            Pending::HandlerSave => false,
            _ => return Err(self.fail(Error::UnexpectedInput)),
        };
        // The session was not stored: no cookie for it.
        self.held_cookie = None;
        if self.config.guards.on_conflict == OnConflict::ReloadAndReport {
            self.store_op(Out::Load, Pending::ConflictReload { end });
        } else if end {
            self.queue.push_back(Out::Conflict(false));
            self.done();
        } else {
            self.complete(Some(SAVE_CONFLICT.into()));
        }
        Ok(())
    }

    /// The stored record, loaded after a conflict (`"reloadAndReport"`):
    /// it becomes the session, as if the request had loaded it (its
    /// version read, its data the unchanged state), and the conflict is
    /// reported: the handler's `save` completes with [`SAVE_CONFLICT`]; the
    /// end of the request gives `Action::Conflict { reloaded: true }` and
    /// the application's turn again. A record gone (destroyed, expired) or
    /// unreadable leaves no session to retry with: the handler's `save`
    /// completes with [`SAVE_CONFLICT`] and the end of the request with
    /// `Action::Conflict { reloaded: false }`.
    fn conflict_reloaded(&mut self, end: bool, result: LoadResult<'_>) -> Result<(), Error> {
        let kind = self.facts.store_kind;
        let record = match result {
            LoadResult::Found(bytes) => {
                Ok(read_record_with(RecordInput::Bytes(bytes), self.now, kind, &self.config.record_limits))
            }
            LoadResult::Stored(record) => Ok(record.read(self.now, kind, &self.config.record_limits)),
            LoadResult::NotFound => Ok(Record::Absent),
            LoadResult::Missing { message } | LoadResult::Failed { message } => Err(message.to_string()),
        };
        let session = match record {
            Ok(Record::Session { session, original }) => Some((session, original)),
            Ok(Record::Absent) => {
                self.events.push_back(Event::RecordNotFound);
                None
            }
            Ok(Record::Expired) => {
                self.events.push_back(Event::RecordExpired);
                None
            }
            Ok(Record::Corrupt(_)) => {
                self.events.push_back(Event::RecordCorrupt);
                None
            }
            Err(message) => {
                self.events.push_back(Event::StoreError { operation: StoreOperation::Load });
                self.queue.push_back(Out::Error(message));
                None
            }
        };
        let reloaded = session.is_some();
        match session {
            Some((session, original)) => {
                self.version = Some(version_of(session.data.get(VERSION_KEY)));
                self.replace_session(Some(session));
                self.original_id = self.session_id.clone();
                let snap = match original {
                    Some(text) => Snapshot { text, of: None },
                    None => self.snapshot(),
                };
                self.original = Some(snap.clone());
                self.saved = Some(snap);
            }
            // Gone: nothing to save, and nothing to bring back.
            None if !end => self.replace_session(None),
            None => {}
        }
        if !end {
            self.complete(Some(SAVE_CONFLICT.into()));
        } else if reloaded {
            self.record_cache = None;
            self.written = None;
            self.queue.push_back(Out::Conflict(true));
            self.phase = Phase::App { load_error: None };
        } else {
            self.queue.push_back(Out::Conflict(false));
            self.done();
        }
        Ok(())
    }

    fn take_pending(&mut self, load: bool) -> Result<Pending, Error> {
        if self.phase == Phase::Failed {
            return Err(Error::RequestFailed);
        }
        // The store action must have been handed out (polled) first.
        let handed_out = self.queue.is_empty();
        match self.pending {
            Some(p) if p.is_load() == load && handed_out => {
                self.pending = None;
                Ok(p)
            }
            _ => Err(self.fail(Error::UnexpectedInput)),
        }
    }

    fn fail(&mut self, e: Error) -> Error {
        self.events.push_back(Event::Misuse);
        self.phase = Phase::Failed;
        self.queue.clear();
        self.current = None;
        self.pending = None;
        e
    }

    fn done(&mut self) {
        self.queue.push_back(Out::Done);
        self.phase = Phase::Done;
    }

    fn complete(&mut self, error: Option<String>) {
        self.queue.push_back(Out::Completed(error));
    }

    fn store_op(&mut self, out: Out, pending: Pending) {
        self.queue.push_back(out);
        self.pending = Some(pending);
    }

    // ----- the middleware's entry ---------------------------------------

    fn start(&mut self) -> Result<(), Error> {
        self.phase = Phase::App { load_error: None };
        let config = Arc::clone(&self.config);
        if self.facts.ignored {
            self.events.push_back(Event::Ignored);
            return Ok(());
        }
        if self.facts.store_unavailable || !self.facts.in_scope {
            return Ok(());
        }
        if config.keys.is_empty() {
            self.phase = Phase::App { load_error: Some(SECRET_REQUIRED.into()) };
            return Ok(());
        }
        self.is_secure = self.compute_is_secure();
        let mut cookies = match self.read_cookie(&config) {
            Ok(cookies) => cookies,
            Err(message) => {
                self.phase = Phase::App { load_error: Some(message) };
                return Ok(());
            }
        };
        self.engaged = true;
        self.read_session_header(&config, &mut cookies);
        let first = (!cookies.is_empty()).then(|| cookies.remove(0));
        self.candidates = cookies;
        self.use_cookie(first);
        match &self.session_id {
            Some(id) if !id.is_empty() => {
                self.phase = Phase::Loading;
                self.store_op(Out::Load, Pending::MiddlewareLoad);
                Ok(())
            }
            _ => self.generate_ready(),
        }
    }

    /// express-session's `getcookie`: the verified session ID, if any (with
    /// `duplicateCookies: "tryEach"`, every verified cookie of the name, in
    /// order). `Err` reproduces the TypeError express-session throws for a
    /// cookie name that is an `Object.prototype` property (compatibility
    /// mode only). Queues the events of what it found.
    fn read_cookie(&mut self, config: &Config) -> Result<Vec<VerifiedCookie>, String> {
        let mut verified = Vec::new();
        let header = match self.facts.cookie.take() {
            Some(h) if !h.is_empty() => h,
            other => {
                self.facts.cookie = other;
                self.events.push_back(Event::NoCookie);
                return Ok(verified);
            }
        };
        let result = self.verify_cookies(config, &header, &mut verified);
        self.facts.cookie = Some(header);
        result.map(|()| verified)
    }

    /// The `header` option: the request header's signed ID, verified as a
    /// cookie value is, after the cookies (tried when no cookie verified,
    /// or with `tryEach` after them).
    fn read_session_header(&mut self, config: &Config, cookies: &mut Vec<VerifiedCookie>) {
        if config.guards.header.is_none() {
            return;
        }
        let Some(value) = self.facts.session_header.take() else { return };
        if value.is_empty() || (!cookies.is_empty() && config.guards.duplicate_cookies == DuplicateCookies::First) {
            return;
        }
        match verify_value(config, &value, (0, value.len())) {
            // The span points into the Cookie header only.
            Some(found) => cookies.push(VerifiedCookie { span: None, ..found }),
            None => self.events.push_back(Event::SignatureInvalid),
        }
    }

    fn verify_cookies(&mut self, config: &Config, header: &[u8], out: &mut Vec<VerifiedCookie>) -> Result<(), String> {
        // cookie.parse fills a plain object, where `__proto__` can never be an
        // own property: express-session always reads Object.prototype there.
        if config.express_compat && config.name == "__proto__" {
            return Err("raw.substr is not a function".into());
        }
        let try_each = config.guards.duplicate_cookies == DuplicateCookies::TryEach;
        let name = config.name_latin1.as_deref().unwrap_or_default();
        let spans = config.name_latin1.as_ref().map(|_| raw_values(header, name, config.limits));
        let mut invalid = false;
        for span in spans.into_iter().flatten() {
            self.cookie_sent = true;
            match verify_value(config, header, span) {
                Some(cookie) => out.push(cookie),
                None => invalid = true,
            }
            if !try_each {
                break;
            }
        }
        if !self.cookie_sent && config.express_compat && is_object_prototype_name(&config.name) {
            return Err("raw.substr is not a function".into());
        }
        if invalid {
            self.events.push_back(Event::SignatureInvalid);
        }
        if !self.cookie_sent {
            self.events.push_back(Event::NoCookie);
        }
        Ok(())
    }

    /// express-session's `issecure`.
    fn compute_is_secure(&self) -> bool {
        if self.facts.tls {
            return true;
        }
        let header = self.facts.forwarded_proto.as_deref().unwrap_or(b"");
        let first = |h: &[u8]| -> String {
            let cut = h.iter().position(|&c| c == b',').map_or(h, |i| &h[..i]);
            latin1(cut).trim_matches(crate::json::is_js_whitespace).to_string()
        };
        match self.config.proxy {
            Some(false) => false,
            // Express's req.secure: the first X-Forwarded-Proto value, exactly.
            None => self.config.trust_proxy && !header.is_empty() && first(header) == "https",
            Some(true) => first(header).to_lowercase() == "https",
        }
    }

    /// The middleware's `generate()`, then the handler's turn.
    fn generate_ready(&mut self) -> Result<(), Error> {
        self.generate(true, None)?;
        self.original_id = self.session_id.clone();
        // A new session's data is empty (its text is `{}`) but for its
        // fingerprint and lifecycle stamps, which do not make it modified.
        self.original = Some(if !self.config.guards.stamps_new_sessions() {
            Snapshot { text: HashText::empty_object(), of: self.data_state() }
        } else {
            self.snapshot()
        });
        self.phase = Phase::App { load_error: None };
        Ok(())
    }

    /// `store.generate(req)`: a new ID and a new session from the options;
    /// with `kept` (`regenerate` keeping the data), its data but for the
    /// engine's own keys, which the new session gets anew.
    fn generate(&mut self, wrapped: bool, kept: Option<Box<Session>>) -> Result<(), Error> {
        let Some(id) = self.pushed.pop_front().or_else(|| self.ids.next_id()) else {
            return Err(self.fail(Error::IdsExhausted));
        };
        self.generated += 1;
        self.unstored = true;
        self.version = None;
        let cookie = SessionCookie::generate(&self.config.cookie, self.now, self.is_secure);
        self.session_id = Some(Arc::from(id));
        let mut session = Box::new(Session::new(cookie));
        if let Some(old) = kept {
            for (key, value) in old.data.iter().filter(|(k, _)| !lifecycle::is_engine_key(k)) {
                session.data.insert(key, value.clone());
            }
        }
        if let Some(print) = self.fingerprint() {
            session.data.insert(FINGERPRINT_KEY, Value::String(print));
        }
        lifecycle::stamp_new(&self.config.guards, &mut session.data, self.now);
        self.replace_session(Some(session));
        self.superseded = false;
        self.wrapped = wrapped;
        Ok(())
    }

    /// `regenerate`'s store answer came: the new session, with the old
    /// one's data if asked.
    fn regenerated(&mut self) -> Result<(), Error> {
        let kept = if std::mem::take(&mut self.regenerate_keep) { self.session.take() } else { None };
        self.generate(false, kept)
    }

    /// With `regenerateGrace`, for a `regenerate` of the session the cookie
    /// named: the Save that turns its record into the grace copy (the data
    /// as loaded, not this request's changes, which belong to the new ID;
    /// marked with the window's end; a store expiry no later than it).
    fn grace_out(&mut self) -> Option<Out> {
        let grace = self.config.guards.regenerate_grace?;
        let mut copy = self.as_loaded.take()?;
        if !self.loaded_from_cookie || self.session_id != self.cookie_id {
            return None;
        }
        let until = self.now + grace as f64;
        copy.data.insert(lifecycle::GRACE_UNTIL_KEY, Value::Number(until));
        let deadline = lifecycle::deadline(&self.config.guards, &copy.data);
        let expires_at = lifecycle::clamp(copy.cookie.store_expiry(), deadline);
        // A plain write even with `versioned`: the grace copy is read-only
        // from now on (no request writes it again).
        Some(Out::Save { record: copy.to_record(), expires_at, is_new: false, version: None })
    }

    // ----- change detection ---------------------------------------------

    /// The change-detection text of the current data.
    fn current_hash(&self) -> HashText {
        self.session.as_deref().map_or_else(|| HashText::whole(""), Session::hash_text)
    }

    /// Which data `req.session` holds: its generation and change count.
    fn data_state(&self) -> Option<(u64, u64)> {
        self.session.as_ref().map(|s| (self.generation, s.data.changes()))
    }

    /// A snapshot of the current data.
    fn snapshot(&self) -> Snapshot {
        Snapshot { text: self.current_hash(), of: self.data_state() }
    }

    /// The session's data, to change it.
    fn data_for_change(&mut self) -> Option<&mut crate::session::Data> {
        self.session.as_mut().map(|s| &mut s.data)
    }

    /// Replaces `req.session`: the one way the request installs or drops a
    /// session.
    fn replace_session(&mut self, session: Option<Box<Session>>) {
        self.session = session;
        self.generation += 1;
    }

    /// Serializes the record once the request is finishing (the cookie and
    /// the data are final then), for both the store write and change
    /// detection.
    fn ensure_record(&mut self) {
        if self.phase != Phase::Finishing || self.record_cache.is_some() {
            return;
        }
        if let Some(s) = &self.session {
            let (record, layout) = s.record_with_layout();
            self.record_cache = Some(RecordCache { record, layout });
        }
    }

    /// Whether `snap` is the current data's change-detection text.
    fn matches_current(&mut self, snap: Option<Snapshot>) -> bool {
        let Some(snap) = snap else { return false };
        if snap.of.is_some() && snap.of == self.data_state() {
            return true; // the same data, unchanged since
        }
        self.ensure_record();
        match &self.record_cache {
            // The record minus its cookie entry is the text to compare.
            Some(c) => snap.text.eq_cut(&c.record, c.layout.cut),
            None => snap.text.same_as(&self.current_hash()),
        }
    }

    fn is_modified(&mut self) -> bool {
        self.original_id != self.session_id || !self.matches_current(self.original.clone())
    }

    fn is_saved(&mut self) -> bool {
        self.original_id == self.session_id && self.matches_current(self.saved.clone())
    }

    fn should_save(&mut self) -> bool {
        if !self.config.save_uninitialized && self.saved.is_none() && self.cookie_id != self.session_id {
            self.is_modified()
        } else {
            !self.is_saved()
        }
    }

    fn should_set_cookie(&mut self) -> bool {
        if self.cookie_id != self.session_id {
            self.config.save_uninitialized || self.is_modified()
        } else {
            let has_expires = self.session.as_ref().is_some_and(|s| s.cookie.has_expires());
            // resignOldKeys: a cookie an older secret signed is signed anew.
            let resign = self.cookie_key > 0 && self.config.guards.resign_old_keys;
            self.config.rolling || resign || (has_expires && self.is_modified())
        }
    }

    /// The `onHeaders` decision: the Set-Cookie value, its serialization
    /// error, or nothing.
    fn set_cookie_decision(&mut self) -> Option<Result<String, &'static str>> {
        self.session.as_ref()?;
        if !self.should_set_cookie() {
            return None;
        }
        let session = self.session.as_ref()?;
        if session.cookie.secure.truthy() && !self.is_secure {
            return None;
        }
        let id = self.session_id.as_deref()?;
        let key = self.config.keys.first()?;
        let config = &self.config;
        let same_id = self.cookie_id.as_deref() == Some(id);
        let as_sent = self.cookie_value.filter(|_| same_id).and_then(|(a, b)| self.facts.cookie.as_deref()?.get(a..b));
        let as_sent = as_sent.filter(|raw| is_uri_component_encoding(raw));
        if let Some(Ok(encoded)) = as_sent.map(std::str::from_utf8) {
            let header = session.cookie.serialize(&config.name, config.name_is_token, CookieValue::Encoded(encoded));
            return Some(
                header.and_then(|h| if h.len() > MAX_SET_COOKIE_BYTES { Err(SET_COOKIE_TOO_LONG) } else { Ok(h) }),
            );
        }
        let signature = key.signature(id);
        let value = ["s:", id, ".", signature.as_str()];
        let header = session.cookie.serialize(&config.name, config.name_is_token, CookieValue::Parts(&value));
        Some(header.and_then(|h| if h.len() > MAX_SET_COOKIE_BYTES { Err(SET_COOKIE_TOO_LONG) } else { Ok(h) }))
    }

    // ----- the end of the response --------------------------------------

    /// The response is complete (express-session's patched `res.end`):
    /// decide the cookie and the end-of-request save, touch or destroy.
    pub fn finish(&mut self) -> Result<(), Error> {
        self.app_turn(true)?;
        self.phase = Phase::Finishing;
        if !self.engaged {
            self.done();
            return Ok(());
        }
        let sid_truthy = self.session_id.as_deref().is_some_and(|s| !s.is_empty());
        if sid_truthy && self.config.unset_destroy && self.session.is_none() {
            self.destroyed = true;
            self.queue_removal_cookie();
            self.store_op(Out::Destroy, Pending::End);
            return Ok(());
        }
        // A grace copy (`regenerateGrace`) is never written and its cookie
        // never set again: nothing extends the replaced ID.
        if self.superseded && self.session.is_some() {
            self.done();
            return Ok(());
        }
        let now = self.now;
        let Some(session) = self.session.as_mut() else {
            self.queue_removal_cookie();
            self.done();
            return Ok(());
        };
        if !self.touched {
            self.touched = true;
            if let Err(message) = session.cookie.touch(now) {
                self.queue.push_back(Out::Error(message.into()));
                self.done();
                return Ok(());
            }
        }
        // express-session writes its headers before the store call at the
        // end of the response: the Set-Cookie comes before the store action.
        let cookie = self.set_cookie_decision();
        let sets_cookie = matches!(cookie, Some(Ok(_)));
        let save = self.should_save();
        match cookie {
            // onSaveError "withholdCookie": the cookie waits for the save.
            // versioned: the cookie waits for the save's compare-and-set.
            Some(Ok(value))
                if save
                    && (self.config.guards.on_save_error == OnSaveError::WithholdCookie
                        || self.config.guards.versioned) =>
            {
                self.held_cookie = Some(value);
            }
            Some(Ok(value)) => self.push_set_cookie(value),
            Some(Err(message)) => self.queue.push_back(Out::Error(message.into())),
            None => {}
        }
        if !sets_cookie && self.cookie_id != self.session_id {
            self.queue_removal_cookie();
        }
        if save {
            // (express-session's wrapped save updates savedHash here; no
            // decision reads it after the end of the request.)
            self.stamp_version();
            let out = self.save_out();
            self.store_op(out, Pending::End);
        } else if self.cookie_id == self.session_id {
            let (record, expires_at) = self.record_parts();
            let version =
                self.version.filter(|_| self.config.guards.versioned).map(|v| Version { expected: v, written: v });
            self.store_op(Out::Touch { record, expires_at, version }, Pending::End);
        } else {
            self.done();
        }
        Ok(())
    }

    /// Queues a session's `Set-Cookie`, and with the `header` option the
    /// same signed value for the response header (API clients without
    /// cookies read it there).
    fn push_set_cookie(&mut self, set_cookie: String) {
        let value = self.config.guards.header.as_ref().and_then(|_| {
            let rest = set_cookie.strip_prefix(self.config.name.as_str())?.strip_prefix('=')?;
            Some(rest.split(';').next().unwrap_or_default().to_string())
        });
        self.queue.push_back(Out::SetCookie(set_cookie));
        if let Some(value) = value {
            self.queue.push_back(Out::SetHeader(value));
        }
    }

    /// The removal Set-Cookie (same name, path and domain, expired at the
    /// epoch), when the request sent a cookie and either destroyed its
    /// session (`clearCookieOnDestroy`) or it names no live session and the
    /// host asked ([`set_clear_stale_cookie`](Self::set_clear_stale_cookie)).
    fn queue_removal_cookie(&mut self) {
        if !self.cookie_sent {
            return;
        }
        let wanted = if self.destroyed {
            self.config.guards.clear_cookie_on_destroy
        } else {
            // Not for a cookie a regenerate replaced: the browser most
            // likely holds the new one by now, which a removal would delete.
            self.facts.clear_stale_cookie && !self.loaded_from_cookie && !self.cookie_replaced
        };
        if !wanted {
            return;
        }
        let mut cookie = SessionCookie::generate(&self.config.cookie, self.now, self.is_secure);
        cookie.set_expires(Attr::Date(0.0), self.now);
        if let Ok(value) = cookie.serialize(&self.config.name, self.config.name_is_token, CookieValue::Encoded("")) {
            self.queue.push_back(Out::SetCookie(value));
        }
    }

    fn record_parts(&mut self) -> (String, Option<i64>) {
        self.ensure_record();
        let cached = self.record_cache.take();
        self.written = None;
        let cached = cached.map(|c| {
            self.written = Some(c.layout);
            c.record
        });
        let session = self.session.as_deref();
        let guards = &self.config.guards;
        let expires_at = session.and_then(|s| {
            let expiry = s.cookie.store_expiry();
            // The store drops the record at the first of the cookie's
            // expiry and the lifecycle deadlines.
            if guards.has_deadlines() { lifecycle::clamp(expiry, lifecycle::deadline(guards, &s.data)) } else { expiry }
        });
        (cached.or_else(|| session.map(Session::to_record)).unwrap_or_default(), expires_at)
    }

    fn save_out(&mut self) -> Out {
        let (record, expires_at) = self.record_parts();
        let version = self.save_version.filter(|_| self.config.guards.versioned);
        Out::Save { record, expires_at, is_new: self.unstored, version }
    }

    /// `versioned`: the next version goes into the data (as a change, so
    /// that the saved snapshot and the record agree) before a save's record
    /// is made, and the save's compare-and-set is noted.
    fn stamp_version(&mut self) {
        if !self.config.guards.versioned {
            return;
        }
        let expected = if self.unstored { 0 } else { self.version.unwrap_or(0) };
        let written = expected.saturating_add(1);
        self.save_version = Some(Version { expected, written });
        if let Some(data) = self.data_for_change() {
            data.insert(VERSION_KEY, Value::Number(written as f64));
        }
        // The record made for change detection predates the stamp.
        self.record_cache = None;
    }

    /// A new session's save found its ID taken ([`StoreResult::Exists`]):
    /// another ID, and the save again (at the end of the request, with the
    /// cookie again for the new ID). Never another session's record.
    #[cold]
    #[inline(never)]
    fn collided(&mut self, pending: Pending) -> Result<(), Error> {
        self.collisions += 1;
        if self.collisions > MAX_ID_COLLISIONS {
            let message = ID_COLLISIONS.to_string();
            if pending == Pending::End {
                self.queue.push_back(Out::Error(message));
                self.done();
            } else {
                self.complete(Some(message));
            }
            return Ok(());
        }
        let Some(id) = self.pushed.pop_front().or_else(|| self.ids.next_id()) else {
            return Err(self.fail(Error::IdsExhausted));
        };
        self.generated += 1;
        let id: Arc<str> = Arc::from(id);
        if self.original_id == self.session_id {
            self.original_id = Some(id.clone());
        }
        self.session_id = Some(id);
        if pending == Pending::End {
            match self.set_cookie_decision() {
                // onSaveError "withholdCookie": the new ID's cookie waits instead.
                Some(Ok(value)) if self.held_cookie.is_some() => self.held_cookie = Some(value),
                Some(Ok(value)) => self.push_set_cookie(value),
                Some(Err(message)) => self.queue.push_back(Out::Error(message.into())),
                None => {}
            }
        }
        let out = self.save_out();
        self.store_op(out, pending);
        Ok(())
    }

    // ----- the handler's operations -------------------------------------

    /// Checks that it is the application's turn (nothing owed, nothing
    /// unread). `finishing` allows the turn after a failed load.
    fn app_turn(&mut self, finishing: bool) -> Result<(), Error> {
        match &self.phase {
            Phase::Failed => Err(Error::RequestFailed),
            Phase::App { load_error } if self.pending.is_none() && self.queue.is_empty() => {
                if load_error.is_some() && !finishing { Err(self.fail(Error::WrongPhase)) } else { Ok(()) }
            }
            _ => Err(self.fail(Error::WrongPhase)),
        }
    }

    fn session_op(&mut self) -> Result<(), Error> {
        self.app_turn(false)?;
        if self.session.is_none() { Err(Error::NoSession) } else { Ok(()) }
    }

    /// Checks a data key. `Ok(false)`: the key is `__proto__`, which in
    /// express compatibility mode is accepted and ignored (assigning a
    /// primitive to it, or deleting it, changes nothing in JavaScript).
    fn data_key(&mut self, key: &str) -> Result<bool, Error> {
        self.session_op()?;
        if !is_reserved(key) {
            return Ok(true);
        }
        // Object.prototype names become own properties in JavaScript; they are
        // accepted in express compatibility mode (a later load drops them
        // again, as express-session does). The session's own names never are.
        if self.config.express_compat && is_object_prototype_name(key) {
            return Ok(key != "__proto__");
        }
        Err(Error::ReservedKey)
    }

    /// `req.session[key] = value`.
    pub fn set(&mut self, key: &str, value: Value) -> Result<(), Error> {
        if !self.data_key(key)? {
            return Ok(());
        }
        if self.session.as_ref().and_then(|s| s.data.get(key)) == Some(&value) {
            return Ok(()); // same value: the text express-session hashes is unchanged
        }
        if let Some(data) = self.data_for_change() {
            data.insert(key, value);
        }
        Ok(())
    }

    /// `delete req.session[key]`; returns the removed value.
    pub fn delete(&mut self, key: &str) -> Result<Option<Value>, Error> {
        if !self.data_key(key)? {
            return Ok(None);
        }
        if !self.session.as_ref().is_some_and(|s| s.data.contains_key(key)) {
            return Ok(None);
        }
        Ok(self.data_for_change().and_then(|data| data.remove(key)))
    }

    /// `req.session[key] = (typeof it === 'number' ? it : 0) + 1`; returns the new value.
    pub fn increment(&mut self, key: &str) -> Result<f64, Error> {
        if !self.data_key(key)? {
            return Ok(1.0);
        }
        let n = match self.session.as_ref().and_then(|s| s.data.get(key)) {
            Some(Value::Number(n)) => n + 1.0,
            _ => 1.0,
        };
        if let Some(data) = self.data_for_change() {
            data.insert(key, Value::Number(n));
        }
        Ok(n)
    }

    fn cookie_mut(&mut self) -> Result<&mut SessionCookie, Error> {
        self.session_op()?;
        self.session.as_mut().map(|s| &mut s.cookie).ok_or(Error::NoSession)
    }

    /// `req.session.touch()`: expiry = now + originalMaxAge.
    pub fn touch(&mut self) -> Result<(), Error> {
        let now = self.now;
        self.cookie_mut()?.touch(now).map_err(|_| Error::InvalidCookieValue)
    }

    /// `req.session.cookie.maxAge = ms` (`None`: browser-session cookie).
    pub fn set_max_age(&mut self, ms: Option<f64>) -> Result<(), Error> {
        let now = self.now;
        let v = ms.map_or(Attr::NULL, |n| Attr::Val(Value::Number(n)));
        self.cookie_mut()?.set_max_age(v, now).map_err(|_| Error::InvalidCookieValue)
    }

    /// `req.session.cookie.expires = new Date(at)` (`None`: no expiry).
    pub fn set_expires(&mut self, at: Option<f64>) -> Result<(), Error> {
        let now = self.now;
        let v = at.map_or(Attr::NULL, |t| Attr::Date(crate::date::time_clip(t)));
        self.cookie_mut()?.set_expires(v, now);
        Ok(())
    }

    /// `req.session.cookie[attr] = value`, unvalidated until the header is
    /// written (as in express-session).
    pub fn set_cookie_attr(&mut self, attr: CookieAttr, value: Value) -> Result<(), Error> {
        self.cookie_mut()?.set_attr(attr, value);
        Ok(())
    }

    /// `req.session.save()`: store the session now; answered by `Completed`.
    pub fn save(&mut self) -> Result<(), Error> {
        self.session_op()?;
        if self.superseded {
            self.complete(Some(SUPERSEDED.into()));
            return Ok(());
        }
        self.stamp_version();
        if self.wrapped {
            self.saved = Some(self.snapshot());
        }
        let out = self.save_out();
        self.store_op(out, Pending::HandlerSave);
        Ok(())
    }

    /// `req.session.reload()`: replace the session with the stored copy;
    /// answered by `Completed`.
    pub fn reload(&mut self) -> Result<(), Error> {
        self.session_op()?;
        self.store_op(Out::Load, Pending::Reload);
        Ok(())
    }

    /// `req.session.destroy()`: the session is gone at once; the store delete
    /// is answered by `Completed`.
    pub fn destroy(&mut self) -> Result<(), Error> {
        self.session_op()?;
        self.replace_session(None);
        self.destroyed = true;
        self.store_op(Out::Destroy, Pending::HandlerDestroy);
        Ok(())
    }

    /// `req.session.regenerate()`: destroy the stored session (with
    /// `regenerateGrace`, save its read-only grace copy instead), then a new
    /// session with a new ID (even if the store failed); answered by
    /// `Completed`. The same as [`regenerate_with(false)`](Self::regenerate_with).
    pub fn regenerate(&mut self) -> Result<(), Error> {
        self.regenerate_with(false)
    }

    /// `regenerate`, keeping the data when `keep_data` (the login pattern,
    /// OWASP: a new ID, the same cart): the new session holds exactly the
    /// old one's data, but for the engine's own keys (its absolute window
    /// and last-seen time begin now, its fingerprint is this request's).
    ///
    /// The old ID's record: destroyed (as express-session does), or with
    /// `regenerateGrace` saved once more as its read-only grace copy (the
    /// data as loaded, not this request's changes). A session that is
    /// itself a grace copy writes nothing to the old ID. Answered by
    /// `Completed`.
    pub fn regenerate_with(&mut self, keep_data: bool) -> Result<(), Error> {
        self.session_op()?;
        self.regenerate_keep = keep_data;
        if self.superseded {
            // Another request's regenerate replaced this ID already.
            self.regenerated()?;
            self.complete(None);
            return Ok(());
        }
        let out = self.grace_out().unwrap_or(Out::Destroy);
        self.store_op(out, Pending::Regenerate);
        Ok(())
    }

    /// `req.session = null`. Allowed with or without a session.
    pub fn unset(&mut self) -> Result<(), Error> {
        self.app_turn(false)?;
        if self.session.is_some() {
            self.replace_session(None);
        }
        Ok(())
    }

    // ----- reading ------------------------------------------------------

    /// `req.sessionID`: the current session ID (it stays set after
    /// `destroy` or `unset`).
    pub fn session_id(&self) -> Option<&str> {
        self.session_id.as_deref()
    }

    /// Whether `req.session` exists.
    pub fn has_session(&self) -> bool {
        self.session.is_some()
    }

    /// One data value (`None` for absent keys and for `cookie`).
    pub fn get(&self, key: &str) -> Option<&Value> {
        if key == "cookie" {
            return None;
        }
        self.session.as_ref()?.data.get(key)
    }

    /// One data value as JSON text (`JSON.stringify(req.session[key])`;
    /// `None` for absent keys and for `cookie`). A value still as loaded from
    /// a canonical record is returned as the record's own text, unparsed.
    pub fn get_json(&self, key: &str) -> Option<std::borrow::Cow<'_, str>> {
        if key == "cookie" {
            return None;
        }
        self.session.as_ref()?.data.get_json(key)
    }

    /// The session data keys and values, without the cookie.
    pub fn data(&self) -> Option<impl Iterator<Item = (&str, &Value)>> {
        Some(self.session.as_ref()?.data.iter())
    }

    /// The session data as a JSON object, without the cookie.
    pub fn data_json(&self) -> Option<Value> {
        let mut m = Map::new();
        for (k, v) in self.data()? {
            m.insert(k, v.clone());
        }
        Some(Value::Object(m))
    }

    /// `JSON.parse(JSON.stringify(req.session))`: data and cookie.
    pub fn session_json(&self) -> Option<Value> {
        self.session.as_deref().map(Session::to_json)
    }

    /// The session as its store record (JSON text).
    pub fn session_record(&self) -> Option<String> {
        self.session.as_deref().map(Session::to_record)
    }

    /// `req.session.cookie.maxAge`: milliseconds until the cookie expires
    /// (`None` for a browser-session cookie).
    pub fn max_age(&self) -> Option<f64> {
        match self.session.as_ref()?.cookie.max_age(self.now) {
            Attr::Val(Value::Number(n)) if !n.is_nan() => Some(n),
            _ => None,
        }
    }

    /// `req.session.cookie.maxAge` as JSON shows it: the milliseconds left,
    /// `null` for no expiry or an invalid date, or, for a cookie whose
    /// `expires` is not a date (from an odd record), that value itself.
    pub fn max_age_json(&self) -> Option<Value> {
        Some(match self.session.as_ref()?.cookie.max_age(self.now) {
            Attr::Val(Value::Number(n)) if !n.is_finite() => Value::Null,
            Attr::Val(v) => v,
            Attr::Date(_) | Attr::Undefined => Value::Null,
        })
    }

    /// Whether the request counts as secure (TLS, or a trusted proxy's
    /// `X-Forwarded-Proto: https`). Known after the first poll.
    pub fn is_secure(&self) -> bool {
        self.is_secure
    }

    /// The ID whose signed cookie the request carried, if it verified.
    pub fn cookie_session_id(&self) -> Option<&str> {
        self.cookie_id.as_deref()
    }
}

/// One raw cookie value (its span in the header) decoded and verified, as
/// express-session's `getcookie` does: `s:` + ID + `.` + a signature one of
/// the secrets makes.
fn verify_value(config: &Config, header: &[u8], (a, b): (usize, usize)) -> Option<VerifiedCookie> {
    let raw = header.get(a..b)?;
    let mut buf = [0u8; 256];
    // ASCII (the usual value) is decoded as it is: Latin-1 and UTF-8 agree.
    let fast = if raw.is_ascii() { decode_bytes_into(raw, &mut buf) } else { None };
    let text;
    let value = match fast {
        Some(v) => std::borrow::Cow::Borrowed(v),
        None => {
            text = latin1(raw);
            decode_uri_component(&text).unwrap_or(std::borrow::Cow::Borrowed(&text))
        }
    };
    let signed = value.strip_prefix("s:")?;
    let (key_index, id) = config.keys.iter().enumerate().find_map(|(i, k)| Some((i, k.unsign(signed)?)))?;
    // Strict mode: an ID the generator could not have made is no session
    // (never a store key).
    if !config.accepts_id(id) {
        return None;
    }
    // `raw` (ASCII) decoded to "s:" + id + "." + the signing key's
    // signature: if it is also its canonical encoding, a Set-Cookie for `id`
    // carries it as it was sent.
    let span = Some((a, b)).filter(|_| key_index == 0 && fast.is_some());
    Some(VerifiedCookie { id: Arc::from(id), key_index, span })
}

fn join(slot: &mut Option<Vec<u8>>, value: &[u8], sep: &[u8]) {
    match slot {
        Some(v) => {
            v.extend_from_slice(sep);
            v.extend_from_slice(value);
        }
        None => *slot = Some(value.to_vec()),
    }
}

/// The pathname of a request target, as `parseurl` finds it (see
/// [`pathname_of`]); borrowed unless Node's legacy `url.parse` would rewrite it.
fn pathname(target: &[u8]) -> std::borrow::Cow<'_, [u8]> {
    // parseurl's fast path gives up on these bytes and calls `url.parse`,
    // which turns `\` into `/` before the query or fragment, and escapes
    // characters browsers do not send raw.
    let legacy = target.iter().any(|&c| matches!(c, b'#' | b'\t' | b'\n' | 0x0c | b'\r' | b' ' | 0xa0));
    if !legacy || !target.starts_with(b"/") {
        return std::borrow::Cow::Borrowed(pathname_of(target));
    }
    let trimmed = {
        let t = target;
        let start = t.iter().position(|c| !c.is_ascii_whitespace()).unwrap_or(t.len());
        let end = t.iter().rposition(|c| !c.is_ascii_whitespace()).map_or(start, |e| e + 1);
        &t[start..end.max(start)]
    };
    let cut = trimmed.iter().position(|&c| c == b'?' || c == b'#').unwrap_or(trimmed.len());
    let mut out = Vec::with_capacity(cut + 8);
    for &c in &trimmed[..cut] {
        let c = if c == b'\\' { b'/' } else { c };
        match c {
            b'\t' | b'\n' | b'\r' | b' ' | b'"' | b'\'' | b'<' | b'>' | b'^' | b'`' | b'{' | b'|' | b'}' => {
                const HEX: &[u8; 16] = b"0123456789ABCDEF";
                out.extend_from_slice(&[b'%', HEX[usize::from(c >> 4)], HEX[usize::from(c & 15)]]);
            }
            _ => out.push(c),
        }
    }
    if out.is_empty() {
        out.push(b'/');
    }
    std::borrow::Cow::Owned(out)
}

/// The pathname of a request target on parseurl's fast path: up to the first
/// `?` or `#`; for an absolute URL, the path after the authority; `/` if empty.
fn pathname_of(target: &[u8]) -> &[u8] {
    let mut t = target;
    if !t.starts_with(b"/")
        && let Some(i) = t.windows(3).position(|w| w == b"://")
    {
        let after = &t[i + 3..];
        t = match after.iter().position(|&c| matches!(c, b'/' | b'?' | b'#')) {
            Some(j) if after[j] == b'/' => &after[j..],
            _ => b"",
        };
    }
    let end = t.iter().position(|&c| c == b'?' || c == b'#').unwrap_or(t.len());
    if end == 0 { b"/" } else { &t[..end] }
}

#[cfg(test)]
mod tests {
    use super::pathname;
    use crate::{Action, Config, MemoryStore, Request, SeededIds, UnixMillis};
    use std::sync::Arc;

    /// Runs one request with `cookie`; returns its Set-Cookie value.
    fn set_cookie(config: &Arc<Config>, store: &MemoryStore, cookie: Option<&str>) -> Option<String> {
        let now = 1_700_000_000_000;
        let mut req = Request::new(config.clone(), UnixMillis(now), SeededIds::new(&[3; 32]));
        if let Some(c) = cookie {
            req.add_cookie_header(c.as_bytes()).unwrap();
        }
        let mut out = None;
        loop {
            match store.poll(&mut req, now as i64).unwrap() {
                Action::Ready => {
                    req.increment("n").unwrap();
                    req.finish().unwrap();
                }
                Action::SetCookie { value } => out = Some(value.to_string()),
                Action::Done => return out,
                other => panic!("{other:?}"),
            }
        }
    }

    #[test]
    fn a_touch_with_the_stored_record_stores_what_a_text_touch_would() {
        use crate::{LoadResult, StoreResult};
        let config = Arc::new(
            Config::builder().secret("k-secret-k-secret-k-secret-k-secret").max_age(Some(60_000.0)).build().unwrap(),
        );
        let (spanned, searched) = (MemoryStore::new(), MemoryStore::new());
        let first = set_cookie(&config, &spanned, None).unwrap();
        let cookie = first.split(';').next().unwrap().to_string();
        let value = cookie.strip_prefix("connect.sid=s%3A").unwrap();
        let id = value.rsplit_once('.').unwrap().0.to_string();
        let record = spanned.get(&id, 0).unwrap();
        searched.set(&id, &record, None, 0).unwrap();
        let later = 1_700_000_005_000;
        // Through MemoryStore::poll, which touches with the stored record.
        let mut req = Request::new(config.clone(), UnixMillis(later), SeededIds::new(&[3; 32]));
        req.add_cookie_header(cookie.as_bytes()).unwrap();
        loop {
            match spanned.poll(&mut req, later as i64).unwrap() {
                Action::Ready => req.finish().unwrap(),
                Action::Done => break,
                Action::SetCookie { .. } => {}
                other => panic!("{other:?}"),
            }
        }
        // By hand, with the store touching the text.
        let mut req = Request::new(config, UnixMillis(later), SeededIds::new(&[3; 32]));
        req.add_cookie_header(cookie.as_bytes()).unwrap();
        let mut touched = false;
        loop {
            let action = req.poll_action().unwrap();
            match action {
                Action::Load { id } => {
                    let text = searched.get(id, later as i64).unwrap();
                    req.handle_load(LoadResult::Found(text.as_bytes())).unwrap();
                }
                Action::Ready => req.finish().unwrap(),
                Action::Touch { id, record, expires_at, .. } => {
                    let (id, record) = (id.to_string(), record.to_string());
                    searched.touch(&id, &record, expires_at, later as i64);
                    touched = true;
                    req.handle_store_result(StoreResult::Ok).unwrap();
                }
                Action::Done => break,
                Action::SetCookie { .. } => {}
                other => panic!("{other:?}"),
            }
        }
        assert!(touched);
        assert_eq!(spanned.get(&id, later as i64), searched.get(&id, later as i64));
        assert_ne!(spanned.get(&id, later as i64).as_deref(), Some(&*record), "the expiry moved on");
    }

    #[test]
    fn a_returning_cookie_is_set_in_canonical_form_however_it_was_sent() {
        let config = Arc::new(
            Config::builder().secret("k-secret-k-secret-k-secret-k-secret").max_age(Some(60_000.0)).build().unwrap(),
        );
        let store = MemoryStore::new();
        let first = set_cookie(&config, &store, None).unwrap();
        let value = first.split(';').next().unwrap().strip_prefix("connect.sid=").unwrap().to_string();
        assert!(value.starts_with("s%3A"), "{value}");
        let plain = value.replace("%3A", ":").replace("%2F", "/").replace("%2B", "+");
        for sent in [
            value.clone(),
            value.replace("%3A", "%3a"),
            plain.clone(),
            format!("\"{value}\""),
            value.replacen("s%3A", "%73%3A", 1),
        ] {
            let again = set_cookie(&config, &store, Some(&format!("a=1; connect.sid={sent}"))).unwrap();
            assert_eq!(again.split(';').next().unwrap(), format!("connect.sid={value}"), "sent {sent}");
        }
        // Signed with an older key: re-signed with the first.
        let rotated = Arc::new(
            Config::builder()
                .secrets(["new-secret-new-secret-new-secret-new", "k-secret-k-secret-k-secret-k-secret"])
                .max_age(Some(60_000.0))
                .build()
                .unwrap(),
        );
        let resigned = set_cookie(&rotated, &store, Some(&format!("connect.sid={value}"))).unwrap();
        assert_ne!(resigned.split(';').next().unwrap(), format!("connect.sid={value}"));
        let id = plain.strip_prefix("s:").unwrap().rsplit_once('.').unwrap().0;
        assert!(resigned.contains(id), "{resigned}");
    }

    #[test]
    fn pathname_like_parseurl() {
        assert_eq!(&*pathname(b"/app/x?y=1"), b"/app/x");
        assert_eq!(&*pathname(b"/a#b"), b"/a");
        assert_eq!(&*pathname(b"http://h:80/p?q"), b"/p");
        assert_eq!(&*pathname(b"http://h"), b"/");
        assert_eq!(&*pathname(b""), b"/");
        assert_eq!(&*pathname(b"?x"), b"/");
        // url.parse (a '#' leaves parseurl's fast path)
        assert_eq!(&*pathname(b"/a'b#x"), b"/a%27b");
        assert_eq!(&*pathname(b"/a\\b#x"), b"/a/b");
        assert_eq!(&*pathname(b"/a'b?q#x"), b"/a%27b");
        assert_eq!(&*pathname(b"/a'b"), b"/a'b");
    }
}

//! What the engine asks of its host, and what the host answers.

use crate::record::StoredRecord;

/// Milliseconds since the Unix epoch. Time is an input: the engine never
/// reads a clock.
#[derive(Copy, Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct UnixMillis(pub u64);

/// One instruction from [`Request::poll_action`](crate::Request::poll_action).
/// Payloads borrow the request and are valid until its next call.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Action<'a> {
    /// Fetch the record stored under `id`, then call
    /// [`handle_load`](crate::Request::handle_load).
    Load {
        /// The session ID (unsigned).
        id: &'a str,
    },
    /// Store `record` (JSON text) under `id`, then call
    /// [`handle_store_result`](crate::Request::handle_store_result).
    /// `expires_at` is the cookie expiry (Unix ms) for stores with TTLs;
    /// `None` for a browser-session cookie.
    Save {
        /// The session ID (unsigned).
        id: &'a str,
        /// `JSON.stringify(req.session)`.
        record: &'a str,
        /// The cookie's expiry (Unix ms); `None` for a browser-session cookie.
        expires_at: Option<i64>,
    },
    /// Refresh the expiry of the record under `id`: a store that keeps the
    /// cookie in the record replaces its `cookie` with `record`'s (as
    /// express-session's MemoryStore does), a TTL store sets the TTL. Then
    /// call [`handle_store_result`](crate::Request::handle_store_result).
    Touch {
        /// The session ID (unsigned).
        id: &'a str,
        /// `JSON.stringify(req.session)`, with the touched cookie.
        record: &'a str,
        /// The cookie's new expiry (Unix ms); `None` for a browser-session cookie.
        expires_at: Option<i64>,
    },
    /// Delete the record under `id` (absent is fine), then call
    /// [`handle_store_result`](crate::Request::handle_store_result).
    Destroy {
        /// The session ID (unsigned).
        id: &'a str,
    },
    /// Add this `Set-Cookie` header value to the response.
    SetCookie {
        /// The header's value (`name=value; Path=…; …`).
        value: &'a str,
    },
    /// A store answer is owed; poll again after giving it.
    Wait,
    /// The session is ready (or deliberately absent: out of path scope, or
    /// store unavailable). Run the handler, then call
    /// [`finish`](crate::Request::finish). Repeats until the host acts.
    Ready,
    /// Loading failed (a store error, a corrupt record): do not run the
    /// handler; respond with an error (express-session answers 500), then
    /// call [`finish`](crate::Request::finish). Repeats until the host acts.
    Failed {
        /// What failed (the store's message, or the JavaScript error).
        message: &'a str,
    },
    /// A handler operation (save, reload, destroy, regenerate) finished;
    /// `error` is its failure message, if any. Then `Ready` again.
    Completed {
        /// The operation's failure message; `None` when it succeeded.
        error: Option<&'a str>,
    },
    /// An error after the response was decided (a failed end-of-request
    /// save, touch or destroy, an unserializable cookie): log it; the
    /// response stands (express-session passes it to `next` after headers).
    Error {
        /// What went wrong.
        message: &'a str,
    },
    /// Nothing more to do; repeats forever.
    Done,
}

impl Action<'_> {
    /// Whether this action is a store operation that must be answered.
    pub fn is_store_operation(&self) -> bool {
        matches!(self, Action::Load { .. } | Action::Save { .. } | Action::Touch { .. } | Action::Destroy { .. })
    }
}

/// The store's answer to [`Action::Load`]: one input for every store.
#[derive(Clone, Debug, PartialEq)]
pub enum LoadResult<'a> {
    /// The record bytes (JSON text), as any store holds them.
    Found(&'a [u8]),
    /// A record the engine made ([`Request::take_stored_record`](crate::Request::take_stored_record))
    /// that the store kept: its text and, when the store still holds it,
    /// the session already read from it (then nothing is parsed).
    Stored(StoredRecord),
    /// No record.
    NotFound,
    /// An error whose code is `ENOENT`: "not found" for the initial load,
    /// an error for `reload`, as in express-session.
    Missing {
        /// The store's message.
        message: &'a str,
    },
    /// The store failed.
    Failed {
        /// The store's message.
        message: &'a str,
    },
}

/// The store's answer to [`Action::Save`], [`Action::Touch`] or [`Action::Destroy`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StoreResult<'a> {
    /// Done.
    Ok,
    /// The store failed.
    Failed {
        /// The store's message.
        message: &'a str,
    },
}

/// How a store's `get` treats the records it holds: express-session leaves
/// this to the store, so the engine must be told which rules apply.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq, Hash)]
pub enum StoreKind {
    /// express-session's MemoryStore (the conformance corpus's store): a
    /// record whose stored `cookie.expires` has passed is not found, and a
    /// record that is JSON `null` fails the request as MemoryStore's `get`
    /// does. The safe default for a store that keeps records without TTLs.
    #[default]
    Memory,
    /// A store whose TTL is the authority (connect-redis and most others):
    /// the stored `cookie.expires` is not checked (a touch refreshes only
    /// the TTL, so it may be stale while the key lives on), and `null` is
    /// "not found", as connect-redis's `get` returns it.
    Ttl,
}

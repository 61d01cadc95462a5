//! Structured events: what happened to a request's session that a host may
//! want to count or alert on (a forged cookie, a rotation in progress, a
//! store failing). The engine queues them as it goes; the host drains them
//! with [`Request::poll_event`](crate::Request::poll_event) whenever it
//! likes (typically once the request is done). They never change an
//! outcome: express-session's behaviour is the same with or without them.

/// One event of a request's session.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum Event {
    /// The request carried no cookie of the session's name.
    NoCookie,
    /// A cookie of the session's name carried no valid signature (not
    /// `s:`-prefixed, or no secret verifies it): forged, tampered with, or
    /// signed by a secret no longer configured.
    SignatureInvalid,
    /// The cookie verified with a secret other than the first (a key
    /// rotation is under way); `index` is that secret's position.
    VerifiedByOldKey {
        /// The position of the secret that verified it (1 or more).
        index: usize,
    },
    /// The store has no record for the cookie's session ID.
    RecordNotFound,
    /// The store's record had expired by the store's rule (MemoryStore's
    /// stored `cookie.expires`).
    RecordExpired,
    /// The store's record could not be read as a session.
    RecordCorrupt,
    /// The store failed an operation.
    StoreError {
        /// Which operation.
        operation: StoreOperation,
    },
    /// The host called the engine out of order (the request is failed).
    Misuse,
    /// The request's path is one of the `ignore` paths: no session at all.
    Ignored,
    /// The session's `fingerprint` (a keyed hash of request facts) did not
    /// match this request's: treated as no session (the record untouched).
    FingerprintMismatch,
    /// `versioned`: a save or touch found the stored record at another
    /// version than the one the request read (another request saved or
    /// destroyed the session meanwhile): nothing was written.
    Conflict {
        /// Which operation (`Save` or `Touch`).
        operation: StoreOperation,
    },
    /// The session began longer ago than `absoluteTimeout`: replaced by a
    /// fresh one (the old record destroyed).
    AbsoluteTimeout,
    /// The session's last request was longer ago than `idleTimeout`:
    /// replaced by a fresh one (the old record destroyed).
    IdleTimeout,
    /// The cookie named an ID a `regenerate` replaced, within its
    /// `regenerateGrace` window: the session loads read-only (never written,
    /// its cookie never set again).
    RegenerateGrace,
    /// The cookie named an ID a `regenerate` replaced, after its grace
    /// window: no session (a fresh one; the old record destroyed).
    RegenerateGraceEnded,
}

/// The store operation a [`Event::StoreError`] is about.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum StoreOperation {
    /// Loading the session at the start of the request, or `reload`.
    Load,
    /// Saving (the end-of-request save, or the handler's `save`).
    Save,
    /// The end-of-request touch.
    Touch,
    /// Destroying (`destroy`, `regenerate`'s destroy, `unset: "destroy"`).
    Destroy,
}

impl Event {
    /// A short stable name (`snake_case`), for logs and metrics.
    pub fn name(&self) -> &'static str {
        match self {
            Event::NoCookie => "no_cookie",
            Event::SignatureInvalid => "signature_invalid",
            Event::VerifiedByOldKey { .. } => "verified_by_old_key",
            Event::RecordNotFound => "record_not_found",
            Event::RecordExpired => "record_expired",
            Event::RecordCorrupt => "record_corrupt",
            Event::StoreError { .. } => "store_error",
            Event::Misuse => "misuse",
            Event::Ignored => "ignored",
            Event::FingerprintMismatch => "fingerprint_mismatch",
            Event::Conflict { .. } => "conflict",
            Event::AbsoluteTimeout => "absolute_timeout",
            Event::IdleTimeout => "idle_timeout",
            Event::RegenerateGrace => "regenerate_grace",
            Event::RegenerateGraceEnded => "regenerate_grace_ended",
        }
    }
}

impl std::fmt::Display for Event {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Event::VerifiedByOldKey { index } => write!(f, "verified_by_old_key (secret {index})"),
            Event::StoreError { operation } => write!(f, "store_error ({operation:?})"),
            Event::Conflict { operation } => write!(f, "conflict ({operation:?})"),
            other => f.write_str(other.name()),
        }
    }
}

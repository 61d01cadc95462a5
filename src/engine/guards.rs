//! The options beyond express-session: guards a modern session library owes
//! its users (OWASP ASVS 5.0 V7, RFC 6265bis), each under an
//! express-options JSON name. All are off in express-session's mode
//! ([`ConfigBuilder::express`](crate::ConfigBuilder::express) and
//! `from_express_options` without them), so every express-session corpus
//! behaves as express-session does; the secure-default builder turns on
//! those that cost no compatibility. `docs/options.md` lists them all.

/// With several cookies of the session's name (RFC 6265bis: a cookie set for
/// a parent domain or a longer path is sent beside the app's own), which to use.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum DuplicateCookies {
    /// The first one only, as express-session does (`"first"`).
    First,
    /// Each in order: the first that verifies and whose session loads
    /// (`"tryEach"`).
    TryEach,
}

/// What a failed load (a store error, a corrupt record) does.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum OnLoadError {
    /// Fail the request (`Action::Failed`; express-session answers 500): `"fail"`.
    Fail,
    /// Carry on with a fresh session, leaving the old record alone: `"fresh"`.
    Fresh,
}

/// What a failed end-of-request save does to the response.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum OnSaveError {
    /// Send the Set-Cookie at once and report the failure after the
    /// response (`Action::Error`), as express-session does: `"report"`.
    Report,
    /// Hold the Set-Cookie of a saved session until the store answers, and
    /// send none if the save failed, so that no client holds a cookie for a
    /// session that was never stored: `"withholdCookie"`.
    WithholdCookie,
}

/// What a versioned save that lost a race does (`onConflict`; see
/// [`Action::Conflict`](crate::Action::Conflict)).
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum OnConflict {
    /// Fail: a handler `save` completes with [`SAVE_CONFLICT`]; the
    /// end-of-request save gives `Action::Conflict { reloaded: false }` (the
    /// host answers 409): `"fail"`.
    Fail,
    /// Load the stored record into the session, then report: a handler
    /// `save` completes with [`SAVE_CONFLICT`] (the session now the stored
    /// one); the end-of-request save gives `Action::Conflict { reloaded:
    /// true }` and the application's turn again: `"reloadAndReport"`.
    ReloadAndReport,
}

/// The error a handler `save` completes with when its versioned save lost a
/// race (the end-of-request save reports it as `Action::Conflict` instead).
pub const SAVE_CONFLICT: &str = "session save conflict: another request saved this session since it was loaded";

/// The record key holding a session's version (`versioned`): a number an
/// express-session app sharing the store carries along and ignores (a
/// record without it is version 0). Stores compare it to
/// [`Version::expected`](crate::Version) before a versioned write.
pub const VERSION_KEY: &str = "libsessionVersion";

/// The version a record's data carries under [`VERSION_KEY`]: a whole
/// number from 0 to 2^53; anything else (absent, a string) counts as 0.
pub fn version_of(value: Option<&crate::json::Value>) -> u64 {
    match value {
        Some(crate::json::Value::Number(n)) if *n >= 0.0 && n.fract() == 0.0 && *n <= 9_007_199_254_740_992.0 => {
            *n as u64
        }
        _ => 0,
    }
}

/// The version of a stored record's text (see [`version_of`]); a record
/// that is not a JSON object counts as 0.
pub fn record_version(text: &[u8]) -> u64 {
    match crate::json::parse(text) {
        Ok(crate::json::Value::Object(map)) => version_of(map.get(VERSION_KEY)),
        _ => 0,
    }
}

/// The beyond-express options of a [`Config`](crate::Config).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Guards {
    /// Paths (exact pathnames) that get no session at all (Connect's `ignore`).
    pub(crate) ignore: Vec<String>,
    /// Destroying a session (and `unset: "destroy"`) sends a removal cookie.
    pub(crate) clear_cookie_on_destroy: bool,
    /// A cookie verified by an older secret is re-signed by the first.
    pub(crate) resign_old_keys: bool,
    pub(crate) duplicate_cookies: DuplicateCookies,
    pub(crate) on_load_error: OnLoadError,
    pub(crate) on_save_error: OnSaveError,
    /// Names of the request facts a session is bound to (lowercase).
    pub(crate) fingerprint: Vec<String>,
    /// `header`: the request and response header that carries the signed
    /// session ID for clients without cookies (as configured; matched
    /// case-insensitively by hosts).
    pub(crate) header: Option<String>,
    /// Saves and touches are compare-and-set on the record's version.
    pub(crate) versioned: bool,
    pub(crate) on_conflict: OnConflict,
    /// `absoluteTimeout` (ms since the session began; `None`: off).
    pub(crate) absolute_timeout: Option<u64>,
    /// `idleTimeout` (ms since the session's last request; `None`: off).
    pub(crate) idle_timeout: Option<u64>,
    /// `regenerateGrace` (ms the ID a `regenerate` replaced still loads,
    /// read-only; `None`: the old record is destroyed, as express-session does).
    pub(crate) regenerate_grace: Option<u64>,
}

/// The record key holding a session's fingerprint (`fingerprint`): data an
/// express-session app sharing the store carries along and ignores.
pub const FINGERPRINT_KEY: &str = "libsessionFingerprint";

/// The fingerprint of a request: HMAC-SHA256 with the signing secret (the
/// same base64 form as a cookie signature) over each configured fact's name
/// and value, in the configured order (a fact the host did not give counts
/// as empty). Connect's `fingerprint` hashed the User-Agent with MD5 and no
/// key; a keyed hash cannot be recomputed by whoever reads the store.
pub(crate) fn fingerprint(key: &crate::signing::Key, names: &[String], facts: &[(String, Vec<u8>)]) -> String {
    let mut text = String::from("libsession-fingerprint-v1");
    for name in names {
        text.push('\n');
        text.push_str(name);
        text.push('=');
        for (_, value) in facts.iter().filter(|(n, _)| n == name) {
            // Latin-1: every byte one character, so distinct values stay distinct.
            text.extend(value.iter().map(|&b| char::from(b)));
            text.push('\u{0}');
        }
    }
    key.signature(&text).as_str().to_string()
}

/// Whether `name` can be a header name (an RFC 9110 token), so that every
/// host can send it as it is.
pub(crate) fn valid_header_name(name: &str) -> bool {
    !name.is_empty() && name.bytes().all(|c| c.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&c))
}

impl Guards {
    /// express-session's own behaviour: every guard off.
    pub(crate) fn express() -> Self {
        Guards {
            ignore: Vec::new(),
            clear_cookie_on_destroy: false,
            resign_old_keys: false,
            duplicate_cookies: DuplicateCookies::First,
            on_load_error: OnLoadError::Fail,
            on_save_error: OnSaveError::Report,
            fingerprint: Vec::new(),
            header: None,
            versioned: false,
            on_conflict: OnConflict::Fail,
            absolute_timeout: None,
            idle_timeout: None,
            regenerate_grace: None,
        }
    }

    /// Whether a new session gets keys of its own (a fingerprint, the
    /// lifecycle stamps): its data is then not empty, yet not modified.
    pub(crate) fn stamps_new_sessions(&self) -> bool {
        !self.fingerprint.is_empty() || self.absolute_timeout.is_some() || self.idle_timeout.is_some()
    }

    /// Whether saves and touches may carry a lifecycle deadline (with
    /// `regenerateGrace`, a record reloaded as a grace copy keeps its end).
    pub(crate) fn has_deadlines(&self) -> bool {
        self.absolute_timeout.is_some() || self.idle_timeout.is_some() || self.regenerate_grace.is_some()
    }

    /// The secure defaults: the guards that cost no compatibility on.
    pub(crate) fn secure() -> Self {
        Guards {
            clear_cookie_on_destroy: true,
            resign_old_keys: true,
            duplicate_cookies: DuplicateCookies::TryEach,
            ..Guards::express()
        }
    }
}

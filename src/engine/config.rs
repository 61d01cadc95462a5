//! Configuration: validated once, immutable, shared by every request.
//!
//! [`ConfigBuilder::new`] starts from secure defaults (`resave` and
//! `saveUninitialized` off, `HttpOnly`, `SameSite=Lax`, `Secure` on HTTPS
//! requests, browser-session cookie). [`ConfigBuilder::express`] starts from
//! express-session's own defaults, and [`ConfigBuilder::from_express_options`]
//! reads an express-session options object (as JSON), so a Rust, C or Python
//! host can share one configuration file with a Node app.
//!
//! In strict mode (the default) every cookie attribute is checked at build
//! time. Express compatibility mode (`express_compat(true)`, implied by the two
//! express constructors) accepts what express-session accepts and reports the
//! same problems where express-session does: when the `Set-Cookie` header is
//! written.

use crate::cookie_header::CookieLimits;
use crate::error::ConfigError;
use crate::guards::{DuplicateCookies, Guards, OnConflict, OnLoadError, OnSaveError};
use crate::json::{Map, Value};
use crate::record::RecordLimits;
use crate::session_cookie::{CookieOptions, valid_domain, valid_name, valid_path};
use crate::signing::Key;

/// Most secrets a strict configuration may hold (verification tries each in
/// turn; express compatibility mode takes any number, as express-session does).
pub const MAX_SECRETS: usize = 8;

/// The session ID lengths a strict configuration accepts from cookies by
/// default: 32 (express-session's `uid(24)`) to 64 characters of base64url
/// (this crate's IDs have 43). See [`ConfigBuilder::session_id_lengths`].
pub const DEFAULT_ID_LENGTHS: (usize, usize) = (32, 64);

/// The base64url alphabet, as a table (checked on every verified cookie).
const BASE64URL: [bool; 256] = {
    let mut t = [false; 256];
    let mut c = 0;
    while c < 256 {
        let b = c as u8;
        t[c] = b.is_ascii_alphanumeric() || b == b'-' || b == b'_';
        c += 1;
    }
    t
};

/// Shortest secret a strict configuration accepts, in bytes: HMAC-SHA256's
/// full strength needs a 256-bit key (express compatibility mode takes any
/// non-empty secret, as express-session does).
pub const MIN_SECRET_LEN: usize = 32;

/// `cookie.secure`.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Secure {
    /// Never add `Secure`.
    Never,
    /// Always add `Secure` (the cookie is then not sent over plain HTTP).
    Always,
    /// `Secure` when the request that creates the session is secure.
    Auto,
}

/// `cookie.sameSite`.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum SameSite {
    /// No `SameSite` attribute (express `false`).
    Off,
    /// express `true`: `SameSite=Strict`, stored as `true`.
    True,
    /// `SameSite=Lax`.
    Lax,
    /// `SameSite=Strict`.
    Strict,
    /// `SameSite=None`.
    None,
    /// `None` on secure requests, `Lax` otherwise (resolved per new session).
    Auto,
}

/// `cookie.priority`.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Priority {
    /// `Priority=Low`.
    Low,
    /// `Priority=Medium`.
    Medium,
    /// `Priority=High`.
    High,
}

/// What `req.session = null` (the `unset` operation) does at the end of the request.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Unset {
    /// Leave the stored session alone.
    Keep,
    /// Destroy the stored session.
    Destroy,
}

/// An immutable, validated configuration. `Send + Sync`: share one (in an
/// `Arc`) between all requests and threads.
#[derive(Clone, Debug)]
pub struct Config {
    pub(crate) name: String,
    /// The name as Latin-1 bytes, for matching raw header bytes; `None` if it
    /// has characters beyond U+00FF (it can then never match).
    pub(crate) name_latin1: Option<Vec<u8>>,
    /// Whether the name is a cookie-name token (checked once here; in
    /// express compatibility mode an invalid one fails each Set-Cookie).
    pub(crate) name_is_token: bool,
    /// Signing keys: the first signs, all verify. Empty only in express
    /// compatibility mode without a secret (every request then fails).
    pub(crate) keys: Vec<Key>,
    pub(crate) resave: bool,
    pub(crate) save_uninitialized: bool,
    pub(crate) rolling: bool,
    pub(crate) unset_destroy: bool,
    pub(crate) proxy: Option<bool>,
    pub(crate) trust_proxy: bool,
    pub(crate) cookie: CookieOptions,
    /// `cookie.path || "/"`: requests outside this prefix get no session.
    pub(crate) scope: String,
    pub(crate) limits: CookieLimits,
    /// Bounds on reading store records.
    pub(crate) record_limits: RecordLimits,
    /// Strict mode: the lengths of base64url session IDs a cookie may
    /// carry (`None`: any ID its signature verifies).
    pub(crate) id_lengths: Option<(usize, usize)>,
    pub(crate) express_compat: bool,
    /// The options beyond express-session.
    pub(crate) guards: Guards,
}

const _: () = {
    const fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<Config>();
};

impl Config {
    /// A builder with the secure defaults.
    pub fn builder() -> ConfigBuilder {
        ConfigBuilder::new()
    }

    /// The session cookie name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The `header` option: the request and response header carrying the
    /// signed session ID for clients without cookies (`None`: off).
    pub fn session_header(&self) -> Option<&str> {
        self.guards.header.as_deref()
    }

    /// Whether `req.session = null` destroys the stored session.
    pub fn unset(&self) -> Unset {
        if self.unset_destroy { Unset::Destroy } else { Unset::Keep }
    }

    /// The configured `maxAge` in milliseconds (`None`: browser-session cookie).
    pub fn max_age(&self) -> Option<f64> {
        self.cookie.max_age
    }

    /// Whether the configuration runs in express compatibility mode.
    pub fn express_compat(&self) -> bool {
        self.express_compat
    }

    /// Whether a verified cookie's session ID may be looked up: in strict
    /// mode, base64url characters only and a length in the configured
    /// range ([`ConfigBuilder::session_id_lengths`]); anything else is
    /// treated as no session, before any store lookup.
    pub(crate) fn accepts_id(&self, id: &str) -> bool {
        match self.id_lengths {
            None => true,
            Some((min, max)) => (min..=max).contains(&id.len()) && id.bytes().all(|c| BASE64URL[usize::from(c)]),
        }
    }

    /// Whether `X-Forwarded-Proto` can make a request secure (`proxy: true`,
    /// or `proxy` unset with a trusted proxy): a host need not look the
    /// header up otherwise.
    pub fn reads_forwarded_proto(&self) -> bool {
        self.proxy.unwrap_or(self.trust_proxy)
    }
}

/// Builds a [`Config`]. Options are held as express-session would hold them.
#[derive(Clone, Debug)]
pub struct ConfigBuilder {
    name: String,
    secrets: Option<Vec<Vec<u8>>>,
    resave: bool,
    save_uninitialized: bool,
    rolling: bool,
    unset: Unset,
    proxy: Option<bool>,
    trust_proxy: bool,
    cookie: CookieOptions,
    limits: CookieLimits,
    record_limits: RecordLimits,
    id_lengths: Option<(usize, usize)>,
    express_compat: bool,
    guards: Guards,
}

impl Default for ConfigBuilder {
    fn default() -> Self {
        ConfigBuilder::new()
    }
}

fn s(v: &str) -> Value {
    Value::String(v.into())
}

impl ConfigBuilder {
    /// Secure defaults: `resave` and `saveUninitialized` off, `HttpOnly`,
    /// `SameSite=Lax`, `Secure` when the request is secure, no `maxAge`
    /// (browser-session cookie), path `/`, cookie name `connect.sid`
    /// (express-session's, for interoperability), strict validation.
    pub fn new() -> Self {
        ConfigBuilder {
            name: "connect.sid".into(),
            secrets: None,
            resave: false,
            save_uninitialized: false,
            rolling: false,
            unset: Unset::Keep,
            proxy: None,
            trust_proxy: false,
            cookie: CookieOptions {
                path: Some(s("/")),
                domain: None,
                http_only: Some(Value::Bool(true)),
                secure: Some(s("auto")),
                max_age: None,
                same_site: Some(s("lax")),
                partitioned: None,
                priority: None,
            },
            limits: CookieLimits::default(),
            record_limits: RecordLimits::default(),
            id_lengths: Some(DEFAULT_ID_LENGTHS),
            express_compat: false,
            guards: Guards::secure(),
        }
    }

    /// express-session 1.19.0's own defaults (`resave: true`,
    /// `saveUninitialized: true`, cookie `{ path: '/', httpOnly: true,
    /// maxAge: null }`: `secure` is left unset, so records carry no `secure`
    /// key, as `new Cookie()` writes them) in express compatibility mode.
    pub fn express() -> Self {
        ConfigBuilder {
            resave: true,
            save_uninitialized: true,
            cookie: CookieOptions {
                path: Some(s("/")),
                http_only: Some(Value::Bool(true)),
                ..CookieOptions::default()
            },
            express_compat: true,
            guards: Guards::express(),
            ..ConfigBuilder::new()
        }
    }

    /// Reads an express-session options object (JSON, as in the conformance
    /// corpus: `name`, `secret`, `resave`, `saveUninitialized`, `rolling`,
    /// `unset`, `proxy`, `app_trust_proxy`, `cookie`). Absent options take
    /// express-session's defaults; a `null` cookie attribute means absent.
    pub fn from_express_options(options: &Value) -> Result<Self, ConfigError> {
        let o = options.as_object().ok_or(ConfigError::InvalidOption)?;
        let mut b = ConfigBuilder::express();
        for (k, v) in o.iter() {
            match k {
                "name" => match v {
                    Value::String(n) if !n.is_empty() => b.name = n.clone(),
                    Value::String(_) | Value::Null => {}
                    _ => return Err(ConfigError::InvalidOption),
                },
                "secret" => {
                    b.secrets = match v {
                        // express-session treats "" as no secret and fails
                        // every request; an empty key is refused here.
                        Value::String(x) if x.is_empty() => return Err(ConfigError::EmptySecret),
                        Value::String(x) => Some(vec![x.as_bytes().to_vec()]),
                        Value::Array(items) => {
                            if items.is_empty() {
                                return Err(ConfigError::NoSecret);
                            }
                            let mut out = Vec::with_capacity(items.len());
                            for it in items {
                                out.push(it.as_str().ok_or(ConfigError::InvalidOption)?.as_bytes().to_vec());
                            }
                            Some(out)
                        }
                        Value::Null => None,
                        _ => return Err(ConfigError::InvalidOption),
                    }
                }
                "resave" => b.resave = bool_opt(v)?,
                "saveUninitialized" => b.save_uninitialized = bool_opt(v)?,
                "rolling" => b.rolling = v.truthy(),
                "unset" => {
                    b.unset = match v {
                        Value::String(u) if u == "destroy" => Unset::Destroy,
                        Value::String(u) if u == "keep" => Unset::Keep,
                        v if !v.truthy() => Unset::Keep,
                        _ => return Err(ConfigError::InvalidUnset),
                    }
                }
                "proxy" => {
                    b.proxy = match v {
                        Value::Null => None,
                        Value::Bool(x) => Some(*x),
                        _ => return Err(ConfigError::InvalidOption),
                    }
                }
                "app_trust_proxy" | "trustProxy" => b.trust_proxy = v.truthy(),
                "cookie" => match v {
                    Value::Object(c) => b.cookie = cookie_options(c)?,
                    Value::Null => {}
                    _ => return Err(ConfigError::InvalidOption),
                },
                // Beyond express-session (docs/options.md).
                "ignore" => match v {
                    Value::Array(paths) => {
                        b.guards.ignore = paths
                            .iter()
                            .map(|p| p.as_str().map(str::to_string).ok_or(ConfigError::InvalidOption))
                            .collect::<Result<_, _>>()?
                    }
                    Value::Null => b.guards.ignore.clear(),
                    _ => return Err(ConfigError::InvalidOption),
                },
                "fingerprint" => match v {
                    Value::Array(names) => {
                        b.guards.fingerprint = names
                            .iter()
                            .map(|n| n.as_str().map(str::to_ascii_lowercase).ok_or(ConfigError::InvalidOption))
                            .collect::<Result<_, _>>()?
                    }
                    Value::Null => b.guards.fingerprint.clear(),
                    _ => return Err(ConfigError::InvalidOption),
                },
                "header" => match v {
                    Value::String(h) if crate::guards::valid_header_name(h) => b.guards.header = Some(h.clone()),
                    Value::String(_) => return Err(ConfigError::InvalidHeaderName),
                    Value::Null => b.guards.header = None,
                    _ => return Err(ConfigError::InvalidOption),
                },
                "absoluteTimeout" => b.guards.absolute_timeout = millis_opt(v)?,
                "idleTimeout" => b.guards.idle_timeout = millis_opt(v)?,
                "regenerateGrace" => b.guards.regenerate_grace = millis_opt(v)?,
                "clearCookieOnDestroy" => b.guards.clear_cookie_on_destroy = bool_opt(v)?,
                "resignOldKeys" => b.guards.resign_old_keys = bool_opt(v)?,
                "duplicateCookies" => {
                    b.guards.duplicate_cookies = match v.as_str() {
                        Some("first") => DuplicateCookies::First,
                        Some("tryEach") => DuplicateCookies::TryEach,
                        _ => return Err(ConfigError::InvalidOption),
                    }
                }
                "onLoadError" => {
                    b.guards.on_load_error = match v.as_str() {
                        Some("fail") => OnLoadError::Fail,
                        Some("fresh") => OnLoadError::Fresh,
                        _ => return Err(ConfigError::InvalidOption),
                    }
                }
                "recordLimits" => b.record_limits = record_limits_option(v)?,
                "onSaveError" => {
                    b.guards.on_save_error = match v.as_str() {
                        Some("report") => OnSaveError::Report,
                        Some("withholdCookie") => OnSaveError::WithholdCookie,
                        _ => return Err(ConfigError::InvalidOption),
                    }
                }
                "versioned" => b.guards.versioned = bool_opt(v)?,
                "onConflict" => {
                    b.guards.on_conflict = match v.as_str() {
                        Some("fail") => OnConflict::Fail,
                        Some("reloadAndReport") => OnConflict::ReloadAndReport,
                        _ => return Err(ConfigError::InvalidOption),
                    }
                }
                _ => return Err(ConfigError::InvalidOption),
            }
        }
        Ok(b)
    }

    /// `ignore` (Connect's): requests for these exact pathnames get no
    /// session at all: no load, no cookie, no save. Default: none.
    pub fn ignore<S: Into<String>>(mut self, paths: impl IntoIterator<Item = S>) -> Self {
        self.guards.ignore = paths.into_iter().map(Into::into).collect();
        self
    }

    /// `fingerprint`: bind each session to these request facts (names the
    /// host gives with [`Request::add_fingerprint_fact`](crate::Request::add_fingerprint_fact),
    /// e.g. `["user-agent"]`, compared case-insensitively): the record keeps
    /// a keyed hash of them under [`FINGERPRINT_KEY`](crate::guards::FINGERPRINT_KEY),
    /// and a request whose facts hash differently gets no session (a fresh
    /// one; the record untouched; an [`Event::FingerprintMismatch`](crate::Event)).
    /// A session without a fingerprint (made before the option, or by a Node
    /// app) is bound on its first use. Default: none.
    pub fn fingerprint<S: AsRef<str>>(mut self, names: impl IntoIterator<Item = S>) -> Self {
        self.guards.fingerprint = names.into_iter().map(|n| n.as_ref().to_ascii_lowercase()).collect();
        self
    }

    /// `header` (e.g. `"X-Session-Id"`): clients without cookies (API
    /// clients, apps) send the signed session ID (the cookie's value) in this
    /// request header, which the host passes with
    /// [`Request::add_session_header`](crate::Request::add_session_header),
    /// and get it back in the same response header
    /// ([`Action::SetHeader`](crate::Action::SetHeader), after each
    /// session `Set-Cookie`). Cookies keep working beside it: the cookie is
    /// tried first. Default: none (express-session has no such option).
    pub fn header(mut self, name: Option<&str>) -> Self {
        self.guards.header = name.map(str::to_string);
        self
    }

    /// `absoluteTimeout`: a session ends this many milliseconds after it
    /// began (its creation, or the `regenerate` that replaced its ID),
    /// however active it is (OWASP ASVS 5.0 V7.3.2). The record keeps the
    /// start under [`CREATED_AT_KEY`](crate::lifecycle::CREATED_AT_KEY); an
    /// ended session is destroyed and replaced by a fresh one
    /// ([`Event::AbsoluteTimeout`](crate::Event)). `None` or 0: off (the
    /// default in both modes).
    pub fn absolute_timeout(mut self, ms: Option<u64>) -> Self {
        self.guards.absolute_timeout = ms.filter(|&ms| ms > 0);
        self
    }

    /// `idleTimeout`: a session ends this many milliseconds after its last
    /// request, whatever the cookie's `maxAge` (OWASP ASVS 5.0 V7.3.1). The
    /// record keeps the last request under
    /// [`LAST_SEEN_AT_KEY`](crate::lifecycle::LAST_SEEN_AT_KEY), rewritten
    /// (one save instead of a touch) only when it is behind by a tenth of the
    /// window ([`IDLE_REFRESH_DIVISOR`](crate::lifecycle::IDLE_REFRESH_DIVISOR)),
    /// so a session may end up to a tenth early, never late. `None` or 0:
    /// off (the default in both modes).
    pub fn idle_timeout(mut self, ms: Option<u64>) -> Self {
        self.guards.idle_timeout = ms.filter(|&ms| ms > 0);
        self
    }

    /// `regenerateGrace`: after a `regenerate`, the replaced ID still loads
    /// for this many milliseconds (requests already in flight with the old
    /// cookie), read-only: never saved, touched or re-sent; its record
    /// carries the end of the window under
    /// [`GRACE_UNTIL_KEY`](crate::lifecycle::GRACE_UNTIL_KEY) and a store
    /// expiry no later than it. `None` or 0: off (the default in both
    /// modes): `regenerate` destroys the old record, as express-session does.
    pub fn regenerate_grace(mut self, ms: Option<u64>) -> Self {
        self.guards.regenerate_grace = ms.filter(|&ms| ms > 0);
        self
    }

    /// `clearCookieOnDestroy`: destroying the session (`destroy`, and
    /// `unset: "destroy"`) sends a removal Set-Cookie (same name, path and
    /// domain, expired), so the browser forgets the cookie at logout.
    /// Secure default on; express-session: off.
    pub fn clear_cookie_on_destroy(mut self, on: bool) -> Self {
        self.guards.clear_cookie_on_destroy = on;
        self
    }

    /// `resignOldKeys`: a cookie verified by a secret other than the first
    /// gets a Set-Cookie signed by the first, so a key rotation completes as
    /// users return. Secure default on; express-session: off.
    pub fn resign_old_keys(mut self, on: bool) -> Self {
        self.guards.resign_old_keys = on;
        self
    }

    /// `duplicateCookies`: with several cookies of the session's name, try
    /// the first only (express-session) or each in order. Secure default:
    /// [`DuplicateCookies::TryEach`].
    pub fn duplicate_cookies(mut self, policy: DuplicateCookies) -> Self {
        self.guards.duplicate_cookies = policy;
        self
    }

    /// `onLoadError`: fail the request when loading fails (express-session,
    /// the default) or carry on with a fresh session.
    pub fn on_load_error(mut self, policy: OnLoadError) -> Self {
        self.guards.on_load_error = policy;
        self
    }

    /// `onSaveError`: report a failed end-of-request save after the response
    /// (express-session, the default), or withhold the Set-Cookie until the
    /// save succeeds.
    pub fn on_save_error(mut self, policy: OnSaveError) -> Self {
        self.guards.on_save_error = policy;
        self
    }

    /// `versioned`: the record carries a version
    /// ([`VERSION_KEY`](crate::guards::VERSION_KEY)) and every save and
    /// touch is a compare-and-set on it ([`Version`](crate::Version)), so
    /// that of two concurrent requests of one session the second save
    /// never silently overwrites the first (express-session's lost
    /// update); the end-of-request save is answered before the Set-Cookie
    /// is sent. Default off (connect-redis's plain `SET`).
    pub fn versioned(mut self, on: bool) -> Self {
        self.guards.versioned = on;
        self
    }

    /// `onConflict`: what a versioned save that lost a race does (see
    /// [`OnConflict`]). Default [`OnConflict::Fail`].
    pub fn on_conflict(mut self, policy: OnConflict) -> Self {
        self.guards.on_conflict = policy;
        self
    }

    /// express-session's `name`: the cookie's name (default `connect.sid`).
    pub fn name(mut self, name: &str) -> Self {
        self.name = name.into();
        self
    }

    /// One signing secret.
    pub fn secret(self, secret: impl AsRef<[u8]>) -> Self {
        self.secrets([secret])
    }

    /// Secrets for rotation: the first signs new cookies, every one verifies.
    pub fn secrets<S: AsRef<[u8]>>(mut self, secrets: impl IntoIterator<Item = S>) -> Self {
        self.secrets = Some(secrets.into_iter().map(|s| s.as_ref().to_vec()).collect());
        self
    }

    /// express-session's `resave`: save sessions the request did not change.
    pub fn resave(mut self, on: bool) -> Self {
        self.resave = on;
        self
    }

    /// express-session's `saveUninitialized`: save (and set the cookie of)
    /// new sessions the request did not change.
    pub fn save_uninitialized(mut self, on: bool) -> Self {
        self.save_uninitialized = on;
        self
    }

    /// Re-send the cookie (with a fresh expiry) on every response.
    pub fn rolling(mut self, on: bool) -> Self {
        self.rolling = on;
        self
    }

    /// express-session's `unset`: what `req.session = null` does.
    pub fn unset(mut self, unset: Unset) -> Self {
        self.unset = unset;
        self
    }

    /// express-session's `proxy`: `Some(true)` trusts `X-Forwarded-Proto`,
    /// `Some(false)` ignores it, `None` defers to the host's trust-proxy
    /// setting ([`trust_proxy`](Self::trust_proxy)).
    pub fn proxy(mut self, proxy: Option<bool>) -> Self {
        self.proxy = proxy;
        self
    }

    /// The host's answer to "is the peer a trusted proxy?" (Express's
    /// `trust proxy`), used when `proxy` is `None`.
    pub fn trust_proxy(mut self, trust: bool) -> Self {
        self.trust_proxy = trust;
        self
    }

    /// `cookie.path` (default `/`): also the requests the session applies to.
    pub fn cookie_path(mut self, path: &str) -> Self {
        self.cookie.path = Some(s(path));
        self
    }

    /// `cookie.domain` (default none: host-only).
    pub fn cookie_domain(mut self, domain: Option<&str>) -> Self {
        self.cookie.domain = domain.map(s);
        self
    }

    /// `cookie.httpOnly` (default on).
    pub fn http_only(mut self, on: bool) -> Self {
        self.cookie.http_only = Some(Value::Bool(on));
        self
    }

    /// `cookie.secure`.
    pub fn secure(mut self, secure: Secure) -> Self {
        self.cookie.secure = Some(match secure {
            Secure::Never => Value::Bool(false),
            Secure::Always => Value::Bool(true),
            Secure::Auto => s("auto"),
        });
        self
    }

    /// Cookie lifetime in milliseconds; `None` for a browser-session cookie.
    pub fn max_age(mut self, ms: Option<f64>) -> Self {
        self.cookie.max_age = ms;
        self
    }

    /// `cookie.sameSite`.
    pub fn same_site(mut self, same_site: SameSite) -> Self {
        self.cookie.same_site = Some(match same_site {
            SameSite::Off => Value::Bool(false),
            SameSite::True => Value::Bool(true),
            SameSite::Lax => s("lax"),
            SameSite::Strict => s("strict"),
            SameSite::None => s("none"),
            SameSite::Auto => s("auto"),
        });
        self
    }

    /// `cookie.partitioned` (`None`: not set).
    pub fn partitioned(mut self, on: Option<bool>) -> Self {
        self.cookie.partitioned = on.map(Value::Bool);
        self
    }

    /// `cookie.priority` (`None`: not set).
    pub fn priority(mut self, priority: Option<Priority>) -> Self {
        self.cookie.priority = priority.map(|p| {
            s(match p {
                Priority::Low => "low",
                Priority::Medium => "medium",
                Priority::High => "high",
            })
        });
        self
    }

    /// Bounds on Cookie header parsing.
    pub fn cookie_limits(mut self, limits: CookieLimits) -> Self {
        self.limits = limits;
        self
    }

    /// Bounds on reading store records (size, keys per object, nesting):
    /// a record beyond one is corrupt ([`Event::RecordCorrupt`](crate::Event),
    /// and the load fails as for any unreadable record). Secure defaults
    /// ([`RecordLimits::default`]) in every mode, express-session's
    /// included (its records fit). JSON: `"recordLimits": {"maxBytes",
    /// "maxKeys", "maxDepth"}`; C: `libsession_config_builder_set_record_limits`.
    pub fn record_limits(mut self, limits: RecordLimits) -> Self {
        self.record_limits = limits;
        self
    }

    /// Strict mode: the lengths of the session IDs a cookie may carry
    /// (base64url characters only), checked before any store lookup; an ID
    /// outside gets a fresh session, as a forged cookie does. Default
    /// [`DEFAULT_ID_LENGTHS`] (32 to 64: express-session's 32-character IDs,
    /// this crate's 43). `None` accepts any ID the signature verifies, as
    /// express compatibility mode does (for a `genid` of another alphabet).
    pub fn session_id_lengths(mut self, lengths: Option<(usize, usize)>) -> Self {
        self.id_lengths = lengths;
        self
    }

    /// Express compatibility: accept what express-session accepts, and report
    /// unserializable cookie attributes when the header is written.
    pub fn express_compat(mut self, on: bool) -> Self {
        self.express_compat = on;
        self
    }

    /// Validates and freezes the configuration.
    pub fn build(self) -> Result<Config, ConfigError> {
        let secrets = match self.secrets {
            Some(list) if list.is_empty() => return Err(ConfigError::NoSecret),
            Some(list) => list,
            None if self.express_compat => Vec::new(),
            None => return Err(ConfigError::NoSecret),
        };
        // Fail closed in every mode: an empty HMAC key signs for anyone.
        if secrets.iter().any(Vec::is_empty) {
            return Err(ConfigError::EmptySecret);
        }
        if !self.express_compat {
            if secrets.len() > MAX_SECRETS {
                return Err(ConfigError::TooManySecrets);
            }
            if secrets.iter().any(|s| s.len() < MIN_SECRET_LEN) {
                return Err(ConfigError::ShortSecret);
            }
        }
        if let Some(ms) = self.cookie.max_age
            && !ms.is_finite()
        {
            return Err(ConfigError::InvalidMaxAge);
        }
        if !self.express_compat {
            validate_cookie(&self.name, &self.cookie)?;
        }
        if let Some(h) = &self.guards.header
            && !crate::guards::valid_header_name(h)
        {
            return Err(ConfigError::InvalidHeaderName);
        }
        let c = &self.cookie;
        let scope = match &c.path {
            Some(p) if p.truthy() => p.to_js_string(),
            _ => "/".into(),
        };
        let name_latin1 = self.name.chars().map(|ch| u8::try_from(u32::from(ch)).ok()).collect();
        Ok(Config {
            name_latin1,
            name_is_token: crate::session_cookie::valid_name(&self.name),
            keys: secrets.iter().map(|k| Key::new(k)).collect(),
            name: self.name,
            resave: self.resave,
            save_uninitialized: self.save_uninitialized,
            rolling: self.rolling,
            unset_destroy: self.unset == Unset::Destroy,
            proxy: self.proxy,
            trust_proxy: self.trust_proxy,
            scope,
            cookie: self.cookie,
            limits: self.limits,
            record_limits: self.record_limits,
            id_lengths: if self.express_compat { None } else { self.id_lengths },
            express_compat: self.express_compat,
            guards: self.guards,
        })
    }
}

/// `recordLimits`: `{"maxBytes", "maxKeys", "maxDepth"}`, each a whole
/// number from 1 to 2^53 (absent or `null`: the default); `null` for the
/// whole option keeps every default.
fn record_limits_option(v: &Value) -> Result<RecordLimits, ConfigError> {
    let mut limits = RecordLimits::default();
    let members = match v {
        Value::Null => return Ok(limits),
        Value::Object(m) => m,
        _ => return Err(ConfigError::InvalidOption),
    };
    for (k, v) in members.iter() {
        let n = match v {
            Value::Null => continue,
            Value::Number(n) if n.fract() == 0.0 && (1.0..=9_007_199_254_740_992.0).contains(n) => {
                usize::try_from(*n as u64).unwrap_or(usize::MAX)
            }
            _ => return Err(ConfigError::InvalidOption),
        };
        match k {
            "maxBytes" => limits.max_bytes = n,
            "maxKeys" => limits.max_keys = n,
            "maxDepth" => limits.max_depth = n,
            _ => return Err(ConfigError::InvalidOption),
        }
    }
    Ok(limits)
}

fn bool_opt(v: &Value) -> Result<bool, ConfigError> {
    match v {
        Value::Bool(b) => Ok(*b),
        Value::Null => Ok(true), // undefined: express's deprecated default
        _ => Err(ConfigError::InvalidOption),
    }
}

/// A duration option in milliseconds: a non-negative finite number
/// (fractions are cut); `null` or 0 is off.
fn millis_opt(v: &Value) -> Result<Option<u64>, ConfigError> {
    match v {
        Value::Null => Ok(None),
        Value::Number(n) if n.is_finite() && *n >= 0.0 && *n < 9.007_199_254_740_992e15 => {
            Ok(Some(n.trunc() as u64).filter(|&ms| ms > 0))
        }
        _ => Err(ConfigError::InvalidOption),
    }
}

fn cookie_options(c: &Map) -> Result<CookieOptions, ConfigError> {
    let mut o = CookieOptions::default();
    for (k, v) in c.iter() {
        let present = (!matches!(v, Value::Null)).then(|| v.clone());
        match k {
            "path" => o.path = present,
            "domain" => o.domain = present,
            "httpOnly" => o.http_only = present,
            "secure" => o.secure = present,
            "maxAge" => {
                o.max_age = match v {
                    Value::Null => None,
                    Value::Number(n) => Some(*n),
                    _ => return Err(ConfigError::InvalidMaxAge),
                }
            }
            "sameSite" => o.same_site = present,
            "partitioned" => o.partitioned = present,
            "priority" => o.priority = present,
            _ => return Err(ConfigError::InvalidOption),
        }
    }
    Ok(o)
}

/// Strict-mode checks: everything the Set-Cookie serializer would reject.
fn validate_cookie(name: &str, c: &CookieOptions) -> Result<(), ConfigError> {
    if !valid_name(name) {
        return Err(ConfigError::InvalidName);
    }
    match &c.domain {
        None => {}
        Some(Value::String(d)) if valid_domain(d) => {}
        Some(_) => return Err(ConfigError::InvalidDomain),
    }
    match &c.path {
        None => {}
        Some(Value::String(p)) if valid_path(p) => {}
        Some(_) => return Err(ConfigError::InvalidPath),
    }
    let secure = match &c.secure {
        None | Some(Value::Bool(false)) => Secure::Never,
        Some(Value::Bool(true)) => Secure::Always,
        Some(Value::String(a)) if a == "auto" => Secure::Auto,
        Some(_) => return Err(ConfigError::InvalidSecure),
    };
    match &c.same_site {
        None | Some(Value::Bool(_)) => {}
        Some(Value::String(v)) => match v.to_lowercase().as_str() {
            "lax" | "strict" => {}
            "auto" if v == "auto" => {}
            "none" if secure == Secure::Never => return Err(ConfigError::SameSiteNoneWithoutSecure),
            "none" => {}
            _ => return Err(ConfigError::InvalidSameSite),
        },
        Some(_) => return Err(ConfigError::InvalidSameSite),
    }
    match &c.priority {
        None => {}
        Some(Value::String(p)) if matches!(p.to_lowercase().as_str(), "low" | "medium" | "high") => {}
        Some(_) => return Err(ConfigError::InvalidPriority),
    }
    // RFC 6265bis 4.1.3 (prefixes match case-insensitively, 5.6 step 21):
    // a browser drops a prefixed cookie set without these attributes.
    let has_prefix = |p: &str| name.get(..p.len()).is_some_and(|n| n.eq_ignore_ascii_case(p));
    let host = has_prefix("__Host-");
    if (host || has_prefix("__Secure-")) && secure != Secure::Always {
        return Err(ConfigError::InvalidPrefix);
    }
    if host && (c.domain.is_some() || !matches!(&c.path, Some(Value::String(p)) if p == "/")) {
        return Err(ConfigError::InvalidPrefix);
    }
    for flag in [&c.http_only, &c.partitioned] {
        if !matches!(flag, None | Some(Value::Bool(_))) {
            return Err(ConfigError::InvalidOption);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &str = "0123456789abcdef0123456789abcdef";

    /// Proof 3 of issue 16: an empty secret is refused in every mode, by
    /// every constructor (express-session itself would fail every request
    /// with "secret option required"; an empty HMAC key is never used).
    #[test]
    fn empty_secrets_fail_closed_in_every_mode() {
        for b in [ConfigBuilder::new(), ConfigBuilder::express(), ConfigBuilder::new().express_compat(true)] {
            assert_eq!(b.clone().secret("").build().unwrap_err(), ConfigError::EmptySecret);
            assert_eq!(b.clone().secrets(["", "b"]).build().unwrap_err(), ConfigError::EmptySecret);
            assert_eq!(b.clone().secrets(["b", ""]).build().unwrap_err(), ConfigError::EmptySecret);
        }
        for options in [r#"{"secret":""}"#, r#"{"secret":["","b"]}"#, r#"{"secret":[""]}"#, r#"{"secret":["b",""]}"#] {
            let o = crate::json::from_str(options).unwrap();
            let built = ConfigBuilder::from_express_options(&o).and_then(ConfigBuilder::build);
            assert_eq!(built.unwrap_err(), ConfigError::EmptySecret, "{options}");
        }
        // Express compatibility keeps express-session's short secrets and
        // its any number of them.
        assert!(ConfigBuilder::express().secret("b").build().is_ok());
        assert!(ConfigBuilder::express().secrets(["s"; 17]).build().is_ok());
    }

    #[test]
    fn x_forwarded_proto_counts_only_behind_a_trusted_proxy() {
        let reads = |proxy, trust| {
            Config::builder().secret(SECRET).proxy(proxy).trust_proxy(trust).build().unwrap().reads_forwarded_proto()
        };
        assert!(!reads(None, false));
        assert!(reads(None, true));
        assert!(reads(Some(true), false));
        assert!(!reads(Some(false), true));
    }

    #[test]
    fn strict_mode_rejects_what_cannot_be_serialized() {
        assert_eq!(Config::builder().build().unwrap_err(), ConfigError::NoSecret);
        let b = || Config::builder().secret(SECRET);
        assert!(b().build().is_ok());
        assert_eq!(b().name("a b").build().unwrap_err(), ConfigError::InvalidName);
        assert_eq!(b().cookie_domain(Some("bad domain")).build().unwrap_err(), ConfigError::InvalidDomain);
        assert_eq!(b().cookie_path("/a;b").build().unwrap_err(), ConfigError::InvalidPath);
        assert_eq!(b().secrets(Vec::<&str>::new()).build().unwrap_err(), ConfigError::NoSecret);
        assert_eq!(b().secret("").build().unwrap_err(), ConfigError::EmptySecret);
        // Strict mode: at least 32 bytes each, at most 8.
        assert_eq!(b().secret("x".repeat(31)).build().unwrap_err(), ConfigError::ShortSecret);
        assert!(b().secret("x".repeat(32)).build().is_ok());
        assert_eq!(b().secrets([SECRET, "short"]).build().unwrap_err(), ConfigError::ShortSecret);
        assert!(b().secrets([SECRET; 8]).build().is_ok());
        assert_eq!(b().secrets([SECRET; 9]).build().unwrap_err(), ConfigError::TooManySecrets);
        assert!(ConfigError::ShortSecret.to_string().contains("32 bytes"));
        assert_eq!(b().max_age(Some(f64::NAN)).build().unwrap_err(), ConfigError::InvalidMaxAge);
        assert_eq!(
            b().same_site(SameSite::None).secure(Secure::Never).build().unwrap_err(),
            ConfigError::SameSiteNoneWithoutSecure
        );
    }

    #[test]
    fn express_options_round_trip() {
        let o = crate::json::from_str(
            r#"{"name":"sid","secret":["a","b"],"resave":false,"saveUninitialized":true,
                "rolling":true,"unset":"destroy","proxy":true,"app_trust_proxy":false,
                "cookie":{"path":"/app","domain":null,"httpOnly":true,"secure":"auto","maxAge":1000,
                          "sameSite":"Lax","partitioned":null,"priority":"HIGH"}}"#,
        )
        .unwrap();
        let c = ConfigBuilder::from_express_options(&o).unwrap().build().unwrap();
        assert_eq!(c.name(), "sid");
        assert_eq!(c.keys.len(), 2);
        assert_eq!(c.scope, "/app");
        assert!(c.rolling && c.save_uninitialized && !c.resave && c.unset_destroy);
    }
}

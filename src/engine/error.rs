//! Typed errors. Bad input from the peer (a forged or malformed cookie) is not
//! an error: it yields a fresh session. These are misuse of the API, bad
//! configuration, and conditions the host must act on.

use std::fmt;

/// An error from a [`Request`](crate::Request) method.
#[non_exhaustive]
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Error {
    /// An input arrived that no outstanding action asked for (a store answer
    /// with no store action pending, or of the wrong kind). The request is
    /// now failed.
    UnexpectedInput,
    /// A call was made in a phase where it is not allowed (a handler
    /// operation before `Ready`, or while a store answer is owed, or after
    /// `finish`). The request is now failed.
    WrongPhase,
    /// The request already failed through earlier misuse; every later call
    /// returns this.
    RequestFailed,
    /// The operation needs a session and there is none (`req.session` is
    /// null: the path is out of scope, the store was unavailable, or the
    /// session was destroyed or unset). Nothing changed.
    NoSession,
    /// The key is reserved by the session object (`cookie`, `id`, method
    /// names, `Object.prototype` names) and cannot be set or deleted.
    ReservedKey,
    /// The ID source has no more IDs. The request is now failed.
    IdsExhausted,
    /// The cookie attribute name is not one of the writable attributes.
    UnknownCookieAttribute,
    /// The operation would make the session cookie invalid in JavaScript's
    /// terms (for example `touch` with a non-numeric `originalMaxAge`).
    InvalidCookieValue,
}

impl Error {
    /// Misuse of the API (a bug in the host), as opposed to a condition of
    /// the session.
    pub fn is_misuse(self) -> bool {
        matches!(self, Error::UnexpectedInput | Error::WrongPhase | Error::RequestFailed)
    }

    /// The error's message (its `Display` text).
    pub fn as_str(self) -> &'static str {
        match self {
            Error::UnexpectedInput => "unexpected input: no outstanding action asked for it",
            Error::WrongPhase => "call not allowed in the request's current phase",
            Error::RequestFailed => "the request failed earlier and accepts no more calls",
            Error::NoSession => "there is no session on this request",
            Error::ReservedKey => "the key is reserved by the session object",
            Error::IdsExhausted => "the session ID source is exhausted",
            Error::UnknownCookieAttribute => "unknown cookie attribute",
            Error::InvalidCookieValue => "invalid value for the session cookie",
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::error::Error for Error {}

/// Invalid configuration, reported once by [`ConfigBuilder::build`](crate::ConfigBuilder::build).
#[non_exhaustive]
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum ConfigError {
    /// No secret was given (a secret list must hold at least one secret).
    NoSecret,
    /// A secret is empty (in every mode: an empty HMAC key lets anyone sign
    /// cookies).
    EmptySecret,
    /// More than [`MAX_SECRETS`](crate::config::MAX_SECRETS) secrets (strict mode).
    TooManySecrets,
    /// A secret is shorter than [`MIN_SECRET_LEN`](crate::config::MIN_SECRET_LEN)
    /// bytes (strict mode).
    ShortSecret,
    /// The cookie name is not an RFC 6265 token.
    InvalidName,
    /// The cookie domain cannot be serialized.
    InvalidDomain,
    /// The cookie path cannot be serialized.
    InvalidPath,
    /// `sameSite` is not true, false, lax, strict, none or auto.
    InvalidSameSite,
    /// `priority` is not low, medium or high.
    InvalidPriority,
    /// `secure` is not true, false or auto.
    InvalidSecure,
    /// `maxAge` is not a finite number.
    InvalidMaxAge,
    /// `unset` is not "keep" or "destroy".
    InvalidUnset,
    /// `SameSite=None` on a cookie that is never `Secure` (browsers drop it).
    SameSiteNoneWithoutSecure,
    /// An option has the wrong JSON type, or is unknown.
    InvalidOption,
    /// A `__Secure-` or `__Host-` cookie name without the attributes its
    /// prefix requires (RFC 6265bis 4.1.3): `Secure` always on; for
    /// `__Host-` also `Path=/` and no `Domain` (strict mode).
    InvalidPrefix,
    /// The `header` option is not a valid header name (an RFC 9110 token).
    InvalidHeaderName,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ConfigError::NoSecret => "secret option required: give at least one secret",
            ConfigError::EmptySecret => "a secret is empty: anyone could sign session cookies with an empty key",
            ConfigError::TooManySecrets => {
                "more than 8 secrets: each one is tried on every request; keep the newest few (strict mode)"
            }
            ConfigError::ShortSecret => {
                "a secret is shorter than 32 bytes: strict mode wants at least 32 random bytes so that the key cannot be guessed"
            }
            ConfigError::InvalidName => "cookie name is not a valid token",
            ConfigError::InvalidDomain => "cookie domain is invalid",
            ConfigError::InvalidPath => "cookie path is invalid",
            ConfigError::InvalidSameSite => "cookie sameSite is invalid",
            ConfigError::InvalidPriority => "cookie priority is invalid",
            ConfigError::InvalidSecure => "cookie secure must be true, false or \"auto\"",
            ConfigError::InvalidMaxAge => "cookie maxAge must be a finite number of milliseconds",
            ConfigError::InvalidUnset => "unset option must be \"destroy\" or \"keep\"",
            ConfigError::SameSiteNoneWithoutSecure => "SameSite=None requires a Secure cookie",
            ConfigError::InvalidOption => "an option has the wrong type or is unknown",
            ConfigError::InvalidPrefix => {
                "a __Secure- or __Host- cookie needs Secure always on, and __Host- also Path=/ and no Domain (browsers drop it otherwise)"
            }
            ConfigError::InvalidHeaderName => "the header option is not a valid header name (letters, digits and !#$%&'*+-.^_`|~)",
        })
    }
}

impl std::error::Error for ConfigError {}

//! Result codes, the integer-coded enums C passes in, and their validation.

use std::ffi::{CStr, c_char};

use crate::{ConfigError, Error};

// The enum types as they cross the boundary. C sees the enum's name
// (cbindgen.toml renames each alias and leaves out its typedef); Rust sees
// `u32`, because an integer from C that is no enum value must be validated
// (`TryFrom<u32>`), and receiving it as a Rust enum would be undefined
// behaviour. Outputs use them too, so that every enum in the header has one
// width, 32 bits (the enums are `#[repr(u32)]`).

/// A `libsession_result` crossing the boundary.
pub type ResultCode = u32;
/// A `libsession_action` crossing the boundary.
pub type ActionCode = u32;
/// A `libsession_load_status` crossing the boundary.
pub type LoadStatusCode = u32;
/// A `libsession_store_status` crossing the boundary.
pub type StoreStatusCode = u32;
/// A `libsession_cookie_attr` crossing the boundary.
pub type CookieAttrCode = u32;
/// A `libsession_tristate` crossing the boundary.
pub type TristateCode = u32;
/// A `libsession_secure` crossing the boundary.
pub type SecureCode = u32;
/// A `libsession_same_site` crossing the boundary.
pub type SameSiteCode = u32;
/// A `libsession_priority` crossing the boundary.
pub type PriorityCode = u32;
/// A `libsession_unset` crossing the boundary.
pub type UnsetCode = u32;

/// The result of a call: `LIBSESSION_RESULT_OK` (0) or why it failed.
///
/// Every fallible function returns it (32 bits wide in C and C++ alike).
/// `libsession_result_str` gives a static
/// message per code, `libsession_request_last_error` and
/// `libsession_config_builder_last_error` the detail of a handle's most recent
/// failure. Numbers are never reused; new codes go at the end of their group.
#[repr(u32)]
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum libsession_result {
    /// Success.
    Ok = 0,

    // ----- 1-99: the boundary and the request's protocol -----
    /// A required pointer argument was NULL (misuse).
    NullParameter = 1,
    /// An integer argument is not one of its enum's values, or a length is
    /// impossible (misuse).
    InvalidParameter = 2,
    /// The library panicked (a bug in libsession). The request it happened
    /// in is poisoned: every later call on it returns this code.
    Panic = 3,
    /// A store answer arrived that no outstanding action asked for (misuse).
    /// The request is now failed.
    UnexpectedInput = 4,
    /// The call is not allowed in the request's current phase (misuse). The
    /// request is now failed.
    WrongPhase = 5,
    /// The request failed earlier through misuse and accepts no more calls.
    RequestFailed = 6,
    /// A string argument is not valid UTF-8. Nothing changed.
    InvalidUtf8 = 7,
    /// A JSON argument is not valid JSON, nests deeper than 512 levels, or
    /// has an object of more than 16384 members. Nothing changed. (A lone
    /// surrogate escape is no error: it reads as U+FFFD, as a Rust string
    /// cannot hold it.)
    InvalidJson = 8,
    /// Fewer than 32 bytes of entropy were given to `libsession_request_new`.
    InsufficientEntropy = 9,
    /// No entropy was given and the operating system's random source failed.
    EntropyUnavailable = 10,
    /// The current action has no such payload (for example the expiry of a
    /// `LOAD` action), or there is no current action (misuse). Nothing changed.
    WrongAction = 11,

    // ----- 100-199: conditions of the session (nothing changed unless said) -----
    /// The operation needs a session and the request has none (out of the
    /// cookie path's scope, store unavailable, destroyed or unset). Not misuse.
    NoSession = 100,
    /// The key is reserved by the session object (`cookie`, `id`, method
    /// names, `Object.prototype` names).
    ReservedKey = 101,
    /// The session ID source is exhausted. The request is now failed.
    IdsExhausted = 102,
    /// The cookie attribute is not one of the writable attributes.
    UnknownCookieAttribute = 103,
    /// The value would make the session cookie invalid in JavaScript's terms
    /// (for example `touch` with a non-numeric `originalMaxAge`).
    InvalidCookieValue = 104,

    // ----- 200-299: configuration (from building a config) -----
    /// No secret was given.
    NoSecret = 200,
    /// A secret is empty (refused in every mode: an empty HMAC key signs for anyone).
    EmptySecret = 201,
    /// More than 8 secrets (strict mode; express compatibility takes any number).
    TooManySecrets = 202,
    /// The cookie name is not an RFC 6265 token.
    InvalidName = 203,
    /// The cookie domain cannot be serialized.
    InvalidDomain = 204,
    /// The cookie path cannot be serialized.
    InvalidPath = 205,
    /// `sameSite` is invalid.
    InvalidSameSite = 206,
    /// `priority` is invalid.
    InvalidPriority = 207,
    /// `secure` is invalid.
    InvalidSecure = 208,
    /// `maxAge` is not a finite number.
    InvalidMaxAge = 209,
    /// `unset` is not "keep" or "destroy".
    InvalidUnset = 210,
    /// `SameSite=None` on a cookie that is never `Secure`.
    SameSiteNoneWithoutSecure = 211,
    /// An express option has the wrong JSON type, or is unknown.
    InvalidOption = 212,
    /// A secret is shorter than 32 bytes (strict mode; express compatibility
    /// takes any non-empty secret).
    ShortSecret = 213,
    /// A `__Secure-` or `__Host-` cookie name without the attributes its
    /// prefix requires (strict mode).
    InvalidPrefix = 214,
    /// The `header` option is not a valid header name.
    InvalidHeaderName = 220,
}

impl From<Error> for libsession_result {
    fn from(e: Error) -> Self {
        match e {
            Error::UnexpectedInput => libsession_result::UnexpectedInput,
            Error::WrongPhase => libsession_result::WrongPhase,
            Error::RequestFailed => libsession_result::RequestFailed,
            Error::NoSession => libsession_result::NoSession,
            Error::ReservedKey => libsession_result::ReservedKey,
            Error::IdsExhausted => libsession_result::IdsExhausted,
            Error::UnknownCookieAttribute => libsession_result::UnknownCookieAttribute,
            Error::InvalidCookieValue => libsession_result::InvalidCookieValue,
        }
    }
}

impl From<ConfigError> for libsession_result {
    fn from(e: ConfigError) -> Self {
        match e {
            ConfigError::NoSecret => libsession_result::NoSecret,
            ConfigError::EmptySecret => libsession_result::EmptySecret,
            ConfigError::TooManySecrets => libsession_result::TooManySecrets,
            ConfigError::InvalidName => libsession_result::InvalidName,
            ConfigError::InvalidDomain => libsession_result::InvalidDomain,
            ConfigError::InvalidPath => libsession_result::InvalidPath,
            ConfigError::InvalidSameSite => libsession_result::InvalidSameSite,
            ConfigError::InvalidPriority => libsession_result::InvalidPriority,
            ConfigError::InvalidSecure => libsession_result::InvalidSecure,
            ConfigError::InvalidMaxAge => libsession_result::InvalidMaxAge,
            ConfigError::InvalidUnset => libsession_result::InvalidUnset,
            ConfigError::SameSiteNoneWithoutSecure => libsession_result::SameSiteNoneWithoutSecure,
            ConfigError::InvalidOption => libsession_result::InvalidOption,
            ConfigError::ShortSecret => libsession_result::ShortSecret,
            ConfigError::InvalidPrefix => libsession_result::InvalidPrefix,
            ConfigError::InvalidHeaderName => libsession_result::InvalidHeaderName,
        }
    }
}

/// Implements `TryFrom<u32>` for a C-facing enum: unknown values are
/// `LIBSESSION_RESULT_INVALID_PARAMETER`, never a transmute.
macro_rules! from_u32 {
    ($t:ident { $($v:ident),* $(,)? }) => {
        impl TryFrom<u32> for $t {
            type Error = $crate::ffi::Fail;
            fn try_from(n: u32) -> Result<Self, Self::Error> {
                $(if n == $t::$v as u32 {
                    return Ok($t::$v);
                })*
                Err($crate::ffi::Fail::invalid(format!("{n} is not a valid {}", stringify!($t))))
            }
        }
    };
}
pub(crate) use from_u32;

from_u32!(libsession_result {
    Ok,
    NullParameter,
    InvalidParameter,
    Panic,
    InvalidUtf8,
    InvalidJson,
    InsufficientEntropy,
    EntropyUnavailable,
    WrongAction,
    UnexpectedInput,
    WrongPhase,
    RequestFailed,
    NoSession,
    ReservedKey,
    IdsExhausted,
    UnknownCookieAttribute,
    InvalidCookieValue,
    NoSecret,
    EmptySecret,
    TooManySecrets,
    InvalidName,
    InvalidDomain,
    InvalidPath,
    InvalidSameSite,
    InvalidPriority,
    InvalidSecure,
    InvalidMaxAge,
    InvalidUnset,
    SameSiteNoneWithoutSecure,
    InvalidOption,
    ShortSecret,
    InvalidPrefix,
    InvalidHeaderName,
});

impl libsession_result {
    /// The static message for this code.
    pub fn message(self) -> &'static CStr {
        match self {
            libsession_result::Ok => c"ok",
            libsession_result::NullParameter => c"a required pointer argument is NULL",
            libsession_result::InvalidParameter => c"an argument has an invalid value",
            libsession_result::Panic => c"libsession panicked (a bug); the request is poisoned",
            libsession_result::InvalidUtf8 => c"a string argument is not valid UTF-8",
            libsession_result::InvalidJson => c"a JSON argument is not valid JSON",
            libsession_result::InsufficientEntropy => c"at least 32 bytes of entropy are required",
            libsession_result::EntropyUnavailable => c"the operating system's random source failed",
            libsession_result::WrongAction => c"the current action has no such payload",
            libsession_result::UnexpectedInput => c"unexpected input: no outstanding action asked for it",
            libsession_result::WrongPhase => c"call not allowed in the request's current phase",
            libsession_result::RequestFailed => c"the request failed earlier and accepts no more calls",
            libsession_result::NoSession => c"there is no session on this request",
            libsession_result::ReservedKey => c"the key is reserved by the session object",
            libsession_result::IdsExhausted => c"the session ID source is exhausted",
            libsession_result::UnknownCookieAttribute => c"unknown cookie attribute",
            libsession_result::InvalidCookieValue => c"invalid value for the session cookie",
            libsession_result::NoSecret => c"secret option required: give at least one secret",
            libsession_result::EmptySecret => c"a secret is empty: anyone could sign session cookies with an empty key",
            libsession_result::TooManySecrets => {
                c"more than 8 secrets: each one is tried on every request; keep the newest few (strict mode)"
            }
            libsession_result::InvalidPrefix => {
                c"a __Secure- or __Host- cookie needs Secure always on, and __Host- also Path=/ and no Domain (browsers drop it otherwise)"
            }
            libsession_result::InvalidHeaderName => {
                c"the header option is not a valid header name (letters, digits and !#$%&'*+-.^_`|~)"
            }
            libsession_result::ShortSecret => {
                c"a secret is shorter than 32 bytes: strict mode wants at least 32 random bytes so that the key cannot be guessed"
            }
            libsession_result::InvalidName => c"cookie name is not a valid token",
            libsession_result::InvalidDomain => c"cookie domain is invalid",
            libsession_result::InvalidPath => c"cookie path is invalid",
            libsession_result::InvalidSameSite => c"cookie sameSite is invalid",
            libsession_result::InvalidPriority => c"cookie priority is invalid",
            libsession_result::InvalidSecure => c"cookie secure must be true, false or \"auto\"",
            libsession_result::InvalidMaxAge => c"cookie maxAge must be a finite number of milliseconds",
            libsession_result::InvalidUnset => c"unset option must be \"destroy\" or \"keep\"",
            libsession_result::SameSiteNoneWithoutSecure => c"SameSite=None requires a Secure cookie",
            libsession_result::InvalidOption => c"an option has the wrong type or is unknown",
        }
    }

    /// Whether the code reports misuse of the API (a bug in the host).
    pub fn is_misuse(self) -> bool {
        matches!(
            self,
            libsession_result::NullParameter
                | libsession_result::InvalidParameter
                | libsession_result::WrongAction
                | libsession_result::UnexpectedInput
                | libsession_result::WrongPhase
                | libsession_result::RequestFailed
        )
    }
}

/// A static message describing a result code.
///
/// # Parameters
/// `result`: any value; codes this library does not define are described as
/// unknown.
///
/// # Returns
/// A NUL-terminated string in static storage: never NULL, never freed.
///
/// # Thread safety
/// May be called from any thread at any time.
#[unsafe(no_mangle)]
pub extern "C" fn libsession_result_str(result: ResultCode) -> *const c_char {
    ffi_boundary!(value(c"libsession panicked".as_ptr()) {
        match libsession_result::try_from(result) {
            Ok(r) => r.message().as_ptr(),
            Err(_) => c"unknown libsession result code".as_ptr(),
        }
    })
}

/// Whether a result code reports misuse of the API: a NULL required
/// argument, an invalid enum value, a payload the current action lacks
/// (`WRONG_ACTION`), or a call the request's state does not allow
/// (`UNEXPECTED_INPUT`, `WRONG_PHASE`, `REQUEST_FAILED`). Misuse is a
/// bug in the host; everything else is a condition to handle.
///
/// # Returns
/// `true` for the misuse codes, `false` for every other value.
///
/// # Thread safety
/// May be called from any thread at any time.
#[unsafe(no_mangle)]
pub extern "C" fn libsession_result_is_misuse(result: ResultCode) -> bool {
    ffi_boundary!(value(false) { libsession_result::try_from(result).is_ok_and(libsession_result::is_misuse) })
}

/// The kind of an action returned by `libsession_request_poll_action`. After
/// every call that changes the request, poll until `WAIT`, `READY`, `FAILED`
/// or `DONE`.
#[repr(u32)]
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum libsession_action {
    /// Fetch the record stored under `libsession_request_action_id`, then call
    /// `libsession_request_handle_load_result`.
    Load = 1,
    /// Store `libsession_request_action_record` (JSON text) under the action's
    /// ID, with the expiry from `libsession_request_action_expires_at` (Unix
    /// ms, for stores with TTLs; none for a browser-session cookie) or the TTL
    /// from `libsession_request_action_ttl_seconds` (connect-redis's rule; a
    /// TTL <= 0 means delete the key instead of writing it). Then call
    /// `libsession_request_handle_store_result`.
    Save = 2,
    /// Refresh the record under the action's ID: a store that keeps the
    /// cookie in the record replaces its `cookie` with the action record's; a
    /// TTL store sets the TTL from the action's expiry or
    /// `libsession_request_action_ttl_seconds` (a TTL <= 0 deletes the key, as
    /// Redis's `EXPIRE` does). Then call
    /// `libsession_request_handle_store_result`.
    Touch = 3,
    /// Delete the record under the action's ID (absent is fine), then call
    /// `libsession_request_handle_store_result`.
    Destroy = 4,
    /// Add a `Set-Cookie` header whose value is `libsession_request_action_value`
    /// (a second one in a request replaces the first: after a new session's
    /// `SAVE` was answered `EXISTS`). Send `Cache-Control: no-store` (or
    /// `private`) with it, so that no shared cache hands one user's session
    /// cookie to another. Never longer than 4096 bytes (an `ERROR` instead).
    SetCookie = 5,
    /// A store answer is owed: return to the event loop; poll again after
    /// giving it. At most one store action is outstanding per request, and
    /// polling before it is answered keeps returning `WAIT`.
    Wait = 6,
    /// The session is ready (or deliberately absent). Run the handler, then
    /// call `libsession_request_finish`. Repeats until the host acts.
    Ready = 7,
    /// Loading failed (`libsession_request_action_value` says why): do not run
    /// the handler; respond with an error (express-session answers 500), then
    /// call `libsession_request_finish`. Repeats until the host acts.
    Failed = 8,
    /// A handler operation (save, reload, destroy, regenerate) finished;
    /// `libsession_request_action_value` is its error message, or absent
    /// (`data == NULL`) on success. `READY` follows.
    Completed = 9,
    /// An error after the response was decided (a failed end-of-request
    /// store call): log `libsession_request_action_value`; the response stands.
    Error = 10,
    /// Nothing more to do; repeats forever. Free the request.
    Done = 11,
    /// Set the response header `libsession_request_action_header_name` to
    /// `libsession_request_action_value` (replacing an earlier one of this
    /// request): with the `header` option, the signed session ID for
    /// clients without cookies, right after each session `SET_COOKIE`.
    /// Never without the option.
    SetHeader = 12,
    /// `versioned`, `onConflict: "fail"` (or the record is gone): the
    /// end-of-request save lost a race (another request saved the session
    /// since this one read it), nothing was stored and no Set-Cookie was
    /// sent for it. Answer 409 Conflict instead of the handler's response.
    /// `DONE` follows.
    Conflict = 13,
    /// `versioned`, `onConflict: "reloadAndReport"`: the end-of-request
    /// save lost a race; the session now holds the record as stored (the
    /// other request's data and version). It is the application's turn
    /// again (`READY` follows): apply the change again and call
    /// `libsession_request_finish` (which saves against the version just
    /// read, and may conflict again), or answer 409 and call
    /// `libsession_request_finish` without changes (nothing is saved).
    ConflictReloaded = 14,
}

/// The store's answer to a `LOAD` action (`libsession_request_handle_load_result`).
#[repr(u32)]
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum libsession_load_status {
    /// The record was found; the data argument holds its bytes (JSON text).
    Found = 0,
    /// No record under that ID; the data argument is ignored.
    NotFound = 1,
    /// The store failed with an error whose code is `ENOENT`: "not found" for
    /// the initial load, an error for a reload (as in express-session). The
    /// data argument is the error message (UTF-8).
    Missing = 2,
    /// The store failed; the data argument is the error message (UTF-8).
    Failed = 3,
}

from_u32!(libsession_load_status { Found, NotFound, Missing, Failed });

/// The store's answer to a `SAVE`, `TOUCH` or `DESTROY` action
/// (`libsession_request_handle_store_result`).
#[repr(u32)]
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum libsession_store_status {
    /// The operation succeeded.
    Ok = 0,
    /// The operation failed; the message argument says why (UTF-8).
    Failed = 1,
    /// A new session's `SAVE` (`libsession_request_action_is_new`) found a
    /// record under its ID and kept it (insert-if-absent).
    Exists = 2,
    /// A versioned `SAVE` or `TOUCH` (`libsession_request_action_version`)
    /// found the stored record at another version than `expected`, or no
    /// record: nothing was written (compare-and-set).
    Conflict = 3,
}

from_u32!(libsession_store_status { Ok, Failed, Exists, Conflict });

/// A cookie attribute a handler may assign (`req.session.cookie[attr] = value`).
#[repr(u32)]
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum libsession_cookie_attr {
    /// `path`
    Path = 0,
    /// `domain`
    Domain = 1,
    /// `httpOnly`
    HttpOnly = 2,
    /// `secure`
    Secure = 3,
    /// `sameSite`
    SameSite = 4,
    /// `partitioned`
    Partitioned = 5,
    /// `priority`
    Priority = 6,
    /// `originalMaxAge`
    OriginalMaxAge = 7,
}

from_u32!(libsession_cookie_attr { Path, Domain, HttpOnly, Secure, SameSite, Partitioned, Priority, OriginalMaxAge });

impl From<libsession_cookie_attr> for crate::CookieAttr {
    fn from(a: libsession_cookie_attr) -> Self {
        match a {
            libsession_cookie_attr::Path => crate::CookieAttr::Path,
            libsession_cookie_attr::Domain => crate::CookieAttr::Domain,
            libsession_cookie_attr::HttpOnly => crate::CookieAttr::HttpOnly,
            libsession_cookie_attr::Secure => crate::CookieAttr::Secure,
            libsession_cookie_attr::SameSite => crate::CookieAttr::SameSite,
            libsession_cookie_attr::Partitioned => crate::CookieAttr::Partitioned,
            libsession_cookie_attr::Priority => crate::CookieAttr::Priority,
            libsession_cookie_attr::OriginalMaxAge => crate::CookieAttr::OriginalMaxAge,
        }
    }
}

/// An optional boolean option: unset (the default applies), false or true.
#[repr(u32)]
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum libsession_tristate {
    /// Not set.
    Unset = 0,
    /// `false`
    False = 1,
    /// `true`
    True = 2,
}

from_u32!(libsession_tristate { Unset, False, True });

impl From<libsession_tristate> for Option<bool> {
    fn from(t: libsession_tristate) -> Self {
        match t {
            libsession_tristate::Unset => None,
            libsession_tristate::False => Some(false),
            libsession_tristate::True => Some(true),
        }
    }
}

/// `cookie.secure`.
#[repr(u32)]
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum libsession_secure {
    /// Never add `Secure`.
    Never = 0,
    /// Always add `Secure` (the cookie is then not sent over plain HTTP).
    Always = 1,
    /// `Secure` when the request that creates the session is secure.
    Auto = 2,
}

from_u32!(libsession_secure { Never, Always, Auto });

/// `cookie.sameSite`.
#[repr(u32)]
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum libsession_same_site {
    /// No `SameSite` attribute (express `false`).
    Off = 0,
    /// express `true`: `SameSite=Strict`, stored as `true`.
    True = 1,
    /// `SameSite=Lax`
    Lax = 2,
    /// `SameSite=Strict`
    Strict = 3,
    /// `SameSite=None` (needs a `Secure` cookie in strict mode)
    None = 4,
    /// `None` on secure requests, `Lax` otherwise (resolved per new session).
    Auto = 5,
}

from_u32!(libsession_same_site { Off, True, Lax, Strict, None, Auto });

/// `cookie.priority`.
#[repr(u32)]
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum libsession_priority {
    /// No `Priority` attribute.
    None = 0,
    /// `Priority=Low`
    Low = 1,
    /// `Priority=Medium`
    Medium = 2,
    /// `Priority=High`
    High = 3,
}

from_u32!(libsession_priority { None, Low, Medium, High });

/// What `libsession_request_unset` does to the stored session at the end of
/// the request.
#[repr(u32)]
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum libsession_unset {
    /// Leave the stored session alone.
    Keep = 0,
    /// Destroy the stored session.
    Destroy = 1,
}

from_u32!(libsession_unset { Keep, Destroy });

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_code_round_trips_and_has_a_message() {
        for n in 0..1000 {
            if let Ok(r) = libsession_result::try_from(n) {
                assert_eq!(r as u32, n);
                assert!(!r.message().to_bytes().is_empty());
            }
        }
        assert!(libsession_result::try_from(12).is_err());
        assert!(libsession_result_is_misuse(libsession_result::WrongPhase as u32));
        assert!(!libsession_result_is_misuse(libsession_result::NoSession as u32));
        assert!(!libsession_result_is_misuse(99_999));
    }

    #[test]
    fn enums_reject_unknown_values() {
        assert_eq!(libsession_tristate::try_from(2).unwrap(), libsession_tristate::True);
        assert_eq!(libsession_tristate::try_from(3).unwrap_err().code(), libsession_result::InvalidParameter as u32);
        assert!(libsession_cookie_attr::try_from(8).is_err());
        assert!(libsession_load_status::try_from(u32::MAX).is_err());
    }
}

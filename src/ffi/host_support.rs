//! What a host needs from the library so that it re-implements none of it:
//! the store kind of a request (whose rules a loaded record follows), the
//! library's default Cookie-header limits, MemoryStore's expiry of a record
//! given as text, and the names of the result codes. The Python binding
//! uses all of them (bindings/python), instead of copies of the rules.

use std::ffi::c_char;

use super::{ResultCode, json_in, libsession_result, libsession_str, out_ptr};
use crate::{CookieLimits, RecordLimits, StoreKind};

/// A `libsession_store_kind` crossing the boundary.
pub type StoreKindCode = u32;

/// Which rules the records of a request's store follow
/// (`libsession_request_set_store_kind`): express-session leaves them to the
/// store, so the engine must be told.
#[repr(u32)]
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum libsession_store_kind {
    /// express-session's MemoryStore (the default): a loaded record whose
    /// stored `cookie.expires` has passed is not found, and a record that is
    /// JSON `null` fails the load as MemoryStore's `get` does.
    Memory = 0,
    /// A store whose TTL is the authority (connect-redis and most others):
    /// the stored `cookie.expires` is not checked (a touch refreshes only
    /// the TTL, so it may be stale while the key lives on), and a `null`
    /// record is "not found".
    Ttl = 1,
}

super::result::from_u32!(libsession_store_kind { Memory, Ttl });

impl From<libsession_store_kind> for StoreKind {
    fn from(k: libsession_store_kind) -> Self {
        match k {
            libsession_store_kind::Memory => StoreKind::Memory,
            libsession_store_kind::Ttl => StoreKind::Ttl,
        }
    }
}

/// Says which rules the store's records follow (default
/// `LIBSESSION_STORE_KIND_MEMORY`). A property of the store, not of the
/// request: allowed at any time; it counts for the loads answered after it.
///
/// # Parameters
/// `req`; `kind`: a `libsession_store_kind`.
///
/// # Returns
/// `LIBSESSION_RESULT_OK`; `NULL_PARAMETER`; `INVALID_PARAMETER` (`kind` is
/// no `libsession_store_kind`: nothing changed); `REQUEST_FAILED`; `PANIC`.
///
/// # Memory and lifetimes
/// Borrowed outputs of the request stay valid.
///
/// # Safety
/// `req` is NULL or live.
#[must_use]
#[unsafe(no_mangle)]
pub unsafe extern "C" fn libsession_request_set_store_kind(
    req: *mut super::libsession_request,
    kind: StoreKindCode,
) -> ResultCode {
    ffi_boundary!(request_keeping_outputs(req, r) {
        let kind = libsession_store_kind::try_from(kind)?;
        r.inner.set_store_kind(kind.into());
        Ok(())
    })
}

/// The Cookie-header limits a config has unless
/// `libsession_config_builder_set_cookie_limits` changes them.
///
/// # Parameters
/// `max_header_bytes_out`: receives the bytes of Cookie header read;
/// `max_pairs_out`: receives the most `name=value` pairs read.
///
/// # Returns
/// `LIBSESSION_RESULT_OK`; `NULL_PARAMETER`; `PANIC`.
///
/// # Thread safety
/// May be called from any thread at any time.
///
/// # Safety
/// Both are NULL or writable.
#[must_use]
#[unsafe(no_mangle)]
pub unsafe extern "C" fn libsession_default_cookie_limits(
    max_header_bytes_out: *mut usize,
    max_pairs_out: *mut usize,
) -> ResultCode {
    ffi_boundary!(result {
        let bytes = out_ptr(max_header_bytes_out, "max_header_bytes_out")?;
        let pairs = out_ptr(max_pairs_out, "max_pairs_out")?;
        let limits = CookieLimits::default();
        // SAFETY: both non-NULL and writable (contract).
        unsafe {
            bytes.write(limits.max_header_bytes);
            pairs.write(limits.max_pairs);
        }
        Ok(())
    })
}

/// The store-record limits a config has unless
/// `libsession_config_builder_set_record_limits` changes them.
///
/// # Parameters
/// `max_bytes_out`: receives the longest record text read, in bytes;
/// `max_keys_out`: the most keys per object; `max_depth_out`: the most
/// levels of nesting (the record object counting as one).
///
/// # Returns
/// `LIBSESSION_RESULT_OK`; `NULL_PARAMETER`; `PANIC`.
///
/// # Thread safety
/// May be called from any thread at any time.
///
/// # Safety
/// All three are NULL or writable.
#[must_use]
#[unsafe(no_mangle)]
pub unsafe extern "C" fn libsession_default_record_limits(
    max_bytes_out: *mut usize,
    max_keys_out: *mut usize,
    max_depth_out: *mut usize,
) -> ResultCode {
    ffi_boundary!(result {
        let bytes = out_ptr(max_bytes_out, "max_bytes_out")?;
        let keys = out_ptr(max_keys_out, "max_keys_out")?;
        let depth = out_ptr(max_depth_out, "max_depth_out")?;
        let limits = RecordLimits::default();
        // SAFETY: all non-NULL and writable (contract).
        unsafe {
            bytes.write(limits.max_bytes);
            keys.write(limits.max_keys);
            depth.write(limits.max_depth);
        }
        Ok(())
    })
}

/// express-session MemoryStore's expiry of a record: the time (Unix ms,
/// rounded up) from which its `cookie.expires` counts as passed (the
/// `expires <= now` rule, JavaScript's date parsing included), for a store
/// that inserts records it did not get from a `SAVE` (whose expiry
/// `libsession_request_action_expires_at` gives).
///
/// # Parameters
/// `record`, `record_len`: the record, JSON text (UTF-8); `at_out`:
/// receives the time; `has_out`: receives whether it ever expires (`false`:
/// no cookie, no or a falsy `expires`, an invalid date; `*at_out` is then 0).
///
/// # Returns
/// `LIBSESSION_RESULT_OK`; `NULL_PARAMETER`; `INVALID_UTF8`; `INVALID_JSON`;
/// `PANIC`.
///
/// # Thread safety
/// May be called from any thread at any time.
///
/// # Safety
/// `record` is NULL or `record_len` readable bytes; `at_out` and `has_out`
/// are NULL or writable.
#[must_use]
#[unsafe(no_mangle)]
pub unsafe extern "C" fn libsession_record_memory_store_expiry(
    record: *const u8,
    record_len: usize,
    at_out: *mut i64,
    has_out: *mut bool,
) -> ResultCode {
    ffi_boundary!(result {
        let at = out_ptr(at_out, "at_out")?;
        let has = out_ptr(has_out, "has_out")?;
        // SAFETY: `record` is NULL or `record_len` readable bytes (contract).
        let value = unsafe { json_in(record, record_len, "record") }?;
        let expiry = crate::record::memory_store_expiry(&value);
        // SAFETY: both non-NULL and writable (contract).
        unsafe {
            at.write(expiry.unwrap_or(0));
            has.write(expiry.is_some());
        }
        Ok(())
    })
}

/// Whether `c` is `s` followed by one NUL (checked at compile time).
const fn is_nul_terminated(c: &str, s: &str) -> bool {
    let (c, s) = (c.as_bytes(), s.as_bytes());
    if c.len() != s.len() + 1 || c[s.len()] != 0 {
        return false;
    }
    let mut i = 0;
    while i < s.len() {
        if c[i] != s[i] {
            return false;
        }
        i += 1;
    }
    true
}

/// connect-redis's default key prefix, `"sess:"`: a TTL store shared with
/// connect-redis keys a session by this prefix (or the one its users
/// configured) followed by the session ID, the `libsession_request_action_id`
/// of a `LOAD`, `SAVE`, `TOUCH` or `DESTROY`. With
/// `libsession_request_action_ttl_seconds` (the TTL rule) a host needs no
/// copy of connect-redis's rules.
///
/// # Returns
/// A static string; `data[len]` is a NUL, so `data` may also be used as a C
/// string. Never freed.
///
/// # Thread safety
/// May be called from any thread at any time.
#[unsafe(no_mangle)]
pub extern "C" fn libsession_connect_redis_default_prefix() -> libsession_str {
    const PREFIX: &str = concat!("sess:", "\0");
    const _: () = assert!(
        is_nul_terminated(PREFIX, crate::record::CONNECT_REDIS_DEFAULT_PREFIX),
        "the C string is the prefix and a NUL"
    );
    ffi_boundary!(value(libsession_str::NONE) {
        libsession_str { data: PREFIX.as_ptr(), len: PREFIX.len() - 1 }
    })
}

/// The name of a result code's constant without its prefix
/// (`"NULL_PARAMETER"` for `LIBSESSION_RESULT_NULL_PARAMETER`), so that a
/// binding can list the codes without copying the table.
///
/// # Returns
/// A NUL-terminated string in static storage, never freed; NULL for a value
/// that is no `libsession_result`.
///
/// # Thread safety
/// May be called from any thread at any time.
#[unsafe(no_mangle)]
pub extern "C" fn libsession_result_name(result: ResultCode) -> *const c_char {
    ffi_boundary!(value(std::ptr::null()) {
        match libsession_result::try_from(result) {
            Ok(r) => result_name(r).as_ptr(),
            Err(_) => std::ptr::null(),
        }
    })
}

fn result_name(r: libsession_result) -> &'static std::ffi::CStr {
    use libsession_result as R;
    match r {
        R::Ok => c"OK",
        R::NullParameter => c"NULL_PARAMETER",
        R::InvalidParameter => c"INVALID_PARAMETER",
        R::Panic => c"PANIC",
        R::UnexpectedInput => c"UNEXPECTED_INPUT",
        R::WrongPhase => c"WRONG_PHASE",
        R::RequestFailed => c"REQUEST_FAILED",
        R::InvalidUtf8 => c"INVALID_UTF8",
        R::InvalidJson => c"INVALID_JSON",
        R::InsufficientEntropy => c"INSUFFICIENT_ENTROPY",
        R::EntropyUnavailable => c"ENTROPY_UNAVAILABLE",
        R::WrongAction => c"WRONG_ACTION",
        R::NoSession => c"NO_SESSION",
        R::ReservedKey => c"RESERVED_KEY",
        R::IdsExhausted => c"IDS_EXHAUSTED",
        R::UnknownCookieAttribute => c"UNKNOWN_COOKIE_ATTRIBUTE",
        R::InvalidCookieValue => c"INVALID_COOKIE_VALUE",
        R::NoSecret => c"NO_SECRET",
        R::EmptySecret => c"EMPTY_SECRET",
        R::TooManySecrets => c"TOO_MANY_SECRETS",
        R::InvalidName => c"INVALID_NAME",
        R::InvalidDomain => c"INVALID_DOMAIN",
        R::InvalidPath => c"INVALID_PATH",
        R::InvalidSameSite => c"INVALID_SAME_SITE",
        R::InvalidPriority => c"INVALID_PRIORITY",
        R::InvalidSecure => c"INVALID_SECURE",
        R::InvalidMaxAge => c"INVALID_MAX_AGE",
        R::InvalidUnset => c"INVALID_UNSET",
        R::SameSiteNoneWithoutSecure => c"SAME_SITE_NONE_WITHOUT_SECURE",
        R::InvalidOption => c"INVALID_OPTION",
        R::ShortSecret => c"SHORT_SECRET",
        R::InvalidPrefix => c"INVALID_PREFIX",
        R::InvalidHeaderName => c"INVALID_HEADER_NAME",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_code_has_its_header_name() {
        let header = include_str!("../../include/libsession.h");
        let mut n = 0;
        for code in 0..1000 {
            let name = libsession_result_name(code);
            if libsession_result::try_from(code).is_err() {
                assert!(name.is_null(), "{code}");
                continue;
            }
            // SAFETY: a static NUL-terminated string.
            let name = unsafe { std::ffi::CStr::from_ptr(name) }.to_str().unwrap();
            assert!(header.contains(&format!("LIBSESSION_RESULT_{name} = {code},")), "{name} = {code}");
            n += 1;
        }
        assert_eq!(n, header.matches("  LIBSESSION_RESULT_").count());
    }

    #[test]
    fn store_kinds_are_validated() {
        assert_eq!(StoreKind::from(libsession_store_kind::try_from(1).unwrap()), StoreKind::Ttl);
        assert_eq!(libsession_store_kind::try_from(2).unwrap_err().code(), libsession_result::InvalidParameter as u32);
    }

    #[test]
    fn connect_redis_prefix_is_the_store_default_and_nul_terminated() {
        let s = libsession_connect_redis_default_prefix();
        // SAFETY: a static string of `len` bytes and a NUL.
        let bytes = unsafe { std::slice::from_raw_parts(s.data, s.len + 1) };
        assert_eq!(&bytes[..s.len], crate::record::CONNECT_REDIS_DEFAULT_PREFIX.as_bytes());
        assert_eq!(bytes[s.len], 0);
        assert!(!is_nul_terminated("sess:", "sess:"));
        assert!(!is_nul_terminated("sesx:\0", "sess:"));
    }

    #[test]
    fn defaults_and_expiry() {
        let (mut bytes, mut pairs) = (0, 0);
        // SAFETY: valid out-parameters.
        assert_eq!(unsafe { libsession_default_cookie_limits(&mut bytes, &mut pairs) }, 0);
        assert_eq!((bytes, pairs), (CookieLimits::default().max_header_bytes, CookieLimits::default().max_pairs));
        let (mut at, mut has) = (7, true);
        let rec = br#"{"cookie":{"expires":"1970-01-01T00:00:01.000Z"}}"#;
        // SAFETY: valid pointers.
        assert_eq!(unsafe { libsession_record_memory_store_expiry(rec.as_ptr(), rec.len(), &mut at, &mut has) }, 0);
        assert_eq!((at, has), (1000, true));
        let rec = br#"{"cookie":{}}"#;
        // SAFETY: valid pointers.
        assert_eq!(unsafe { libsession_record_memory_store_expiry(rec.as_ptr(), rec.len(), &mut at, &mut has) }, 0);
        assert_eq!((at, has), (0, false));
        // SAFETY: valid pointers.
        let rc = unsafe { libsession_record_memory_store_expiry(b"{".as_ptr(), 1, &mut at, &mut has) };
        assert_eq!(rc, libsession_result::InvalidJson as u32);
    }
}

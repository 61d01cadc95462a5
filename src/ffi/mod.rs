//! The C ABI: everything `include/libsession.h` declares.
//!
//! The header is generated from this module by cbindgen (`integration/tests/header.rs`
//! keeps the committed copy in step). Every item carries its C name, so a grep
//! finds the same identifier in Rust and C. The functions are `pub` so that
//! Rust code (the conformance runner's C-ABI mode, the benchmarks) can drive
//! the engine through exactly the functions a C host calls.
//!
//! Rules every function follows (see `docs/c-api.md`):
//!
//! * Every body runs inside `ffi_boundary!`: a panic never crosses into C;
//!   it becomes `LIBSESSION_RESULT_PANIC` (or `NULL`/`0`/`false` for functions
//!   that return a plain value), and a request it happened in is poisoned.
//! * Every pointer is checked for NULL (`LIBSESSION_RESULT_NULL_PARAMETER`;
//!   only the `*_free` functions take NULL, as a no-op); integers that stand
//!   for enums are validated, never transmuted.
//! * Every function with a pointer parameter, except the `*_free` ones,
//!   returns a result code and is `#[must_use]` (`LIBSESSION_MUST_USE`).
//! * Out-parameters are written only on success, once, at the end.
//! * Strings go in as pointer + length and come out as [`libsession_str`],
//!   borrowed from the handle. Getters take const handles; what they return
//!   stays valid until the next state-changing call.

#![allow(non_camel_case_types)]
#![warn(clippy::undocumented_unsafe_blocks, clippy::missing_safety_doc)]

use std::borrow::Cow;

/// Runs an exported function's body with panics caught.
///
/// * `value(DEFAULT) { … }`: the body yields the function's return value; a
///   panic yields `DEFAULT`. Only for functions without pointer parameters
///   and for the `*_free` functions.
/// * `result { … }`: the body yields `Result<(), Fail>`; the function returns
///   its result code (`LIBSESSION_RESULT_PANIC` on a panic).
/// * `request(PTR, r) { … }`: a state-changing call on a
///   `libsession_request *`: see [`request::change`]. Every borrowed output
///   of the request ends here.
/// * `request_keeping_outputs(PTR, r) { … }`: the same, but borrowed outputs
///   stay valid (for `libsession_request_set_now`, which touches no string).
/// * `reading(PTR, r) { … }`: a getter on a `const libsession_request *`:
///   see [`request::read`].
/// * `builder(PTR, b) { … }`: a call on a `libsession_config_builder *`:
///   NULL gives `LIBSESSION_RESULT_NULL_PARAMETER`, a failure's message is
///   kept for `libsession_config_builder_last_error`. No poisoning: a builder
///   holds nothing a panic could corrupt.
macro_rules! ffi_boundary {
    (value($default:expr) $body:block) => {
        match ::std::panic::catch_unwind(::std::panic::AssertUnwindSafe(|| $body)) {
            Ok(v) => v,
            Err(_) => $default,
        }
    };
    (result $body:block) => {
        match ::std::panic::catch_unwind(::std::panic::AssertUnwindSafe(
            || -> ::std::result::Result<(), $crate::ffi::Fail> { $body },
        )) {
            Ok(Ok(())) => $crate::ffi::libsession_result::Ok as u32,
            Ok(Err(fail)) => fail.code as u32,
            Err(_) => $crate::ffi::libsession_result::Panic as u32,
        }
    };
    (request($ptr:expr, $r:ident) $body:block) => {
        $crate::ffi::request::change(
            $ptr,
            false,
            |$r: &mut $crate::ffi::libsession_request| -> ::std::result::Result<(), $crate::ffi::Fail> { $body },
        )
    };
    (request_keeping_outputs($ptr:expr, $r:ident) $body:block) => {
        $crate::ffi::request::change(
            $ptr,
            true,
            |$r: &mut $crate::ffi::libsession_request| -> ::std::result::Result<(), $crate::ffi::Fail> { $body },
        )
    };
    (reading($ptr:expr, $r:ident) $body:block) => {
        $crate::ffi::request::read(
            $ptr,
            |$r: &$crate::ffi::libsession_request| -> ::std::result::Result<(), $crate::ffi::Fail> { $body },
        )
    };
    (builder($ptr:expr, $b:ident) $body:block) => {{
        let ptr: *mut $crate::ffi::libsession_config_builder = $ptr;
        match ::std::panic::catch_unwind(::std::panic::AssertUnwindSafe(|| -> u32 {
            // SAFETY: the caller passes NULL or a live builder from
            // `libsession_config_builder_new*` used by this thread only.
            let Some($b) = (unsafe { ptr.as_mut() }) else {
                return $crate::ffi::libsession_result::NullParameter as u32;
            };
            // A closure, so that `?` and `return` in the body end the body.
            #[allow(clippy::redundant_closure_call)]
            let result = (|| -> ::std::result::Result<(), $crate::ffi::Fail> { $body })();
            $b.record(result)
        })) {
            Ok(rc) => rc,
            Err(_) => $crate::ffi::libsession_result::Panic as u32,
        }
    }};
}

pub mod config;
pub mod event;
pub mod host_support;
pub mod redis;
pub mod request;
pub mod result;
pub mod session_header;
pub mod stored;
pub mod version;

pub use config::*;
pub use event::*;
pub use host_support::*;
pub use redis::*;
pub use request::*;
pub use result::*;
pub use session_header::*;
pub use stored::*;
pub use version::*;

/// A borrowed string handed out by the library: `len` bytes at `data`, **not**
/// NUL-terminated (except where a function says so). Text is UTF-8.
///
/// `data` is NULL only where a function documents "absent" that way; an empty
/// string has a non-NULL `data` and `len == 0`. The memory belongs to the
/// library: never free it. How long it stays valid is stated by the function
/// that returns it (for a request: until the next call on that request that
/// changes it (takes a non-const `libsession_request *`, except
/// `libsession_request_set_now`), or its free). Copy it to keep it.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct libsession_str {
    /// The first byte, or NULL for "absent".
    pub data: *const u8,
    /// The length in bytes.
    pub len: usize,
}

impl libsession_str {
    /// The absent string: `{ NULL, 0 }`.
    pub const NONE: libsession_str = libsession_str { data: std::ptr::null(), len: 0 };

    /// A view of `s`. An empty `s` points at a static byte, so `data` is
    /// never dangling.
    pub(crate) fn borrow(s: &str) -> libsession_str {
        if s.is_empty() {
            static EMPTY: u8 = 0;
            libsession_str { data: &EMPTY, len: 0 }
        } else {
            libsession_str { data: s.as_ptr(), len: s.len() }
        }
    }

    /// Whether this is the absent string.
    pub fn is_none(&self) -> bool {
        self.data.is_null()
    }

    /// The bytes, or `None` for the absent string.
    ///
    /// # Safety
    ///
    /// `self` must be a string returned by this library that is still valid
    /// (see the returning function's lifetime rule).
    pub unsafe fn as_bytes<'a>(&self) -> Option<&'a [u8]> {
        if self.data.is_null() {
            return None;
        }
        // SAFETY: per this function's contract, `data` points at `len` live
        // bytes owned by the library.
        Some(unsafe { std::slice::from_raw_parts(self.data, self.len) })
    }
}

/// A failed call: its result code and the detail kept for `*_last_error`.
#[derive(Debug)]
pub struct Fail {
    pub(crate) code: libsession_result,
    pub(crate) message: Cow<'static, str>,
}

impl Fail {
    pub(crate) fn new(code: libsession_result, message: impl Into<Cow<'static, str>>) -> Fail {
        Fail { code, message: message.into() }
    }

    pub(crate) fn null(what: &str) -> Fail {
        Fail::new(libsession_result::NullParameter, format!("`{what}` is NULL"))
    }

    pub(crate) fn invalid(message: impl Into<Cow<'static, str>>) -> Fail {
        Fail::new(libsession_result::InvalidParameter, message)
    }

    /// The result code as C sees it.
    pub fn code(&self) -> u32 {
        self.code as u32
    }
}

impl From<crate::Error> for Fail {
    fn from(e: crate::Error) -> Fail {
        Fail::new(libsession_result::from(e), e.as_str())
    }
}

impl From<crate::ConfigError> for Fail {
    fn from(e: crate::ConfigError) -> Fail {
        Fail::new(libsession_result::from(e), e.to_string())
    }
}

/// The bytes of a `(ptr, len)` input. NULL with `len == 0` is the empty
/// string; NULL with a length is `LIBSESSION_RESULT_NULL_PARAMETER`.
///
/// # Safety
///
/// A non-NULL `ptr` points at `len` readable bytes that stay unchanged for `'a`.
pub(crate) unsafe fn bytes_in<'a>(ptr: *const u8, len: usize, what: &str) -> Result<&'a [u8], Fail> {
    if ptr.is_null() {
        return if len == 0 { Ok(&[]) } else { Err(Fail::null(what)) };
    }
    if len > isize::MAX as usize {
        return Err(Fail::invalid(format!("`{what}` length {len} is larger than any object")));
    }
    // SAFETY: non-NULL, `len` bytes readable per the caller's contract, and
    // `len` fits in `isize`.
    Ok(unsafe { std::slice::from_raw_parts(ptr, len) })
}

/// A `(ptr, len)` input that must be UTF-8 text.
///
/// # Safety
///
/// As for [`bytes_in`].
pub(crate) unsafe fn str_in<'a>(ptr: *const u8, len: usize, what: &str) -> Result<&'a str, Fail> {
    // SAFETY: forwarded contract.
    let bytes = unsafe { bytes_in(ptr, len, what) }?;
    utf8(bytes, what)
}

pub(crate) fn utf8<'a>(bytes: &'a [u8], what: &str) -> Result<&'a str, Fail> {
    std::str::from_utf8(bytes).map_err(|e| {
        Fail::new(libsession_result::InvalidUtf8, format!("`{what}` is not valid UTF-8 (at byte {})", e.valid_up_to()))
    })
}

/// Parses a `(ptr, len)` JSON text with JavaScript's `JSON.parse` rules.
///
/// # Safety
///
/// As for [`bytes_in`].
pub(crate) unsafe fn json_in(ptr: *const u8, len: usize, what: &str) -> Result<crate::Value, Fail> {
    // SAFETY: forwarded contract.
    let text = unsafe { str_in(ptr, len, what) }?;
    crate::json::from_str(text).map_err(|e| Fail::new(libsession_result::InvalidJson, format!("`{what}`: {e}")))
}

/// Checks an out-parameter for NULL and writes `value` through it: for
/// getters, which change nothing, so checking last is checking first.
///
/// # Safety
///
/// `out` is NULL or writable (every function documents its out-parameters so).
pub(crate) unsafe fn put<T>(out: *mut T, what: &str, value: T) -> Result<(), Fail> {
    let out = out_ptr(out, what)?;
    // SAFETY: non-NULL, and writable per this function's contract.
    unsafe { out.write(value) };
    Ok(())
}

/// Checks an out-parameter for NULL.
pub(crate) fn out_ptr<T>(ptr: *mut T, what: &str) -> Result<*mut T, Fail> {
    if ptr.is_null() { Err(Fail::null(what)) } else { Ok(ptr) }
}

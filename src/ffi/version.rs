//! The library's version, for comparison with the header's macros.

use super::libsession_str;

const fn parse(s: &str) -> u32 {
    let b = s.as_bytes();
    let mut n = 0u32;
    let mut i = 0;
    while i < b.len() {
        assert!(b[i].is_ascii_digit(), "version components are decimal");
        n = n * 10 + (b[i] - b'0') as u32;
        i += 1;
    }
    n
}

/// `MAJOR * 1000000 + MINOR * 1000 + PATCH`, as `LIBSESSION_VERSION_NUMBER`.
pub const VERSION_NUMBER: u32 = parse(env!("CARGO_PKG_VERSION_MAJOR")) * 1_000_000
    + parse(env!("CARGO_PKG_VERSION_MINOR")) * 1_000
    + parse(env!("CARGO_PKG_VERSION_PATCH"));

const VERSION: &str = concat!(env!("CARGO_PKG_VERSION"), "\0");

/// The library's version number, `MAJOR * 1000000 + MINOR * 1000 + PATCH`.
/// Compare it with `LIBSESSION_VERSION_NUMBER` to check that the header and
/// the library match: `assert(libsession_version_number() == LIBSESSION_VERSION_NUMBER);`
///
/// # Thread safety
/// May be called from any thread at any time.
#[unsafe(no_mangle)]
pub extern "C" fn libsession_version_number() -> u32 {
    ffi_boundary!(value(0) { VERSION_NUMBER })
}

/// The library's version, `"MAJOR.MINOR.PATCH"`.
///
/// # Returns
/// A static string; `data[len]` is a NUL, so `data` may also be used as a C
/// string. Never freed.
///
/// # Thread safety
/// May be called from any thread at any time.
#[unsafe(no_mangle)]
pub extern "C" fn libsession_version() -> libsession_str {
    ffi_boundary!(value(libsession_str::NONE) {
        libsession_str { data: VERSION.as_ptr(), len: VERSION.len() - 1 }
    })
}

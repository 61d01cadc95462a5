//! The `header` option through the C ABI: the request header's value in, the
//! configured name out, and the name of a `SET_HEADER` action.

use super::Fail;
use super::config::{config_ref, libsession_config};
use super::result::ResultCode;
use super::{libsession_str, put};

/// The `header` option's header name (e.g. `X-Session-Id`): the request
/// header whose value the host passes to `libsession_request_add_session_header`,
/// and the response header `SET_HEADER` actions name.
///
/// # Parameters
/// `config`; `name_out`: receives the name, or `{ NULL, 0 }` when the option
/// is off.
///
/// # Returns
/// `LIBSESSION_RESULT_OK`, `NULL_PARAMETER` or `PANIC`.
///
/// # Memory and lifetimes
/// Borrowed from the config: valid while the caller holds its reference.
///
/// # Safety
/// `config` is NULL or a config whose reference the caller holds; `name_out`
/// is NULL or writable.
#[must_use]
#[unsafe(no_mangle)]
pub unsafe extern "C" fn libsession_config_session_header(
    config: *const libsession_config,
    name_out: *mut libsession_str,
) -> ResultCode {
    ffi_boundary!(result {
        let config = config_ref(config).ok_or_else(|| Fail::null("config"))?;
        let name = config.session_header().map_or(libsession_str::NONE, libsession_str::borrow);
        // SAFETY: `name_out` is NULL or writable (contract).
        unsafe { put(name_out, "name_out", name) }
    })
}

/// The value of the request header the `header` option names (the signed
/// session ID a client without cookies sends). Ignored without the option.
/// The cookie is tried first. A second call replaces the first. Only before
/// the first poll.
///
/// # Parameters
/// `req`; `value`, `value_len`: the header's value (any bytes).
///
/// # Returns
/// As for `libsession_request_set_target`.
///
/// # Safety
/// `req` is NULL or live; `value` is NULL or readable for `value_len` bytes.
#[must_use]
#[unsafe(no_mangle)]
pub unsafe extern "C" fn libsession_request_add_session_header(
    req: *mut super::libsession_request,
    value: *const u8,
    value_len: usize,
) -> ResultCode {
    ffi_boundary!(request(req, r) {
        // SAFETY: `value` is NULL or `value_len` readable bytes (contract).
        let value = unsafe { super::bytes_in(value, value_len, "value") }?;
        Ok(r.inner.add_session_header(value)?)
    })
}

/// The header name of the current `SET_HEADER` action (its value is
/// `libsession_request_action_value`).
///
/// # Parameters
/// `req`; `name_out`: receives the name, or `{ NULL, 0 }` if the current
/// action is not `SET_HEADER`.
///
/// # Returns
/// `LIBSESSION_RESULT_OK`, `NULL_PARAMETER` or `PANIC`.
///
/// # Memory and lifetimes
/// Valid until the next state-changing call on the request.
///
/// # Safety
/// `req` is NULL or live; `name_out` is NULL or writable.
#[must_use]
#[unsafe(no_mangle)]
pub unsafe extern "C" fn libsession_request_action_header_name(
    req: *const super::libsession_request,
    name_out: *mut libsession_str,
) -> ResultCode {
    // SAFETY: `name_out` is NULL or writable (contract).
    ffi_boundary!(reading(req, r) { unsafe { put(name_out, "name_out", r.view.header_name) } })
}

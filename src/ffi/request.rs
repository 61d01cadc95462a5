//! `libsession_request`: one HTTP request's session lifecycle.

use std::any::Any;

use sha2::{Digest, Sha256};

use super::config::{config_arc, libsession_config};
use super::result::{libsession_action, libsession_cookie_attr, libsession_load_status, libsession_store_status};
use super::{Fail, bytes_in, copy_message, json_in, libsession_result, libsession_str, out_ptr, str_in, utf8};
use crate::{Action, CookieAttr, Error, LoadResult, Request, SEED_LEN, SeededIds, StoreResult, UnixMillis};

/// One HTTP request's session lifecycle: express-session's middleware, the
/// route handler's session calls, and the end of the response, as a state
/// machine that performs no I/O.
///
/// The loop: create it with `libsession_request_new`, give the request's
/// facts (`_set_target`, `_add_cookie_header`, …), then **after creating it,
/// and after every `libsession_request_handle_*` call or session operation,
/// call `libsession_request_poll_action` until it returns `WAIT`, `READY`,
/// `FAILED` or `DONE`.** Answer each store action (`LOAD`, `SAVE`, `TOUCH`,
/// `DESTROY`) with exactly one `handle_*` call; on `READY` run the handler and
/// call `libsession_request_finish`; at `DONE` free the request.
///
/// A call in the wrong order fails with a misuse code (`UNEXPECTED_INPUT`,
/// `WRONG_PHASE`) and leaves the request failed for good (`REQUEST_FAILED`).
/// A panic inside the library poisons the request (`PANIC` from then on).
///
/// Borrowed outputs (`libsession_str`) point into the request and stay valid
/// until the next call on it that takes a non-const `libsession_request *`,
/// or until it is freed.
///
/// Thread safety: not synchronized; must not be used by two threads at once;
/// may be moved between threads (an asynchronous store may answer on another
/// thread than the one that polled).
pub struct libsession_request {
    inner: Request,
    /// The payload of the most recent action, borrowed from `inner`.
    pub(crate) view: View,
    /// Backing storage for JSON outputs.
    scratch: String,
    error: String,
    pub(crate) poisoned: bool,
}

// SAFETY: the raw pointers in `view` point into heap memory owned by `inner`
// (strings of the current action) and are only dereferenced by the C caller
// under the request's one-thread-at-a-time rule; every other field is `Send`.
unsafe impl Send for libsession_request {}

const _: () = {
    const fn assert_send<T: Send>() {}
    assert_send::<libsession_request>();
};

impl std::fmt::Debug for libsession_request {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("libsession_request")
            .field("inner", &self.inner)
            .field("poisoned", &self.poisoned)
            .finish_non_exhaustive()
    }
}

/// The current action's kind and payload (raw views into the request).
#[derive(Clone, Copy, Debug)]
pub(crate) struct View {
    kind: u32,
    id: libsession_str,
    record: libsession_str,
    value: libsession_str,
    expires_at: Option<i64>,
}

impl View {
    pub(crate) const NONE: View = View {
        kind: 0,
        id: libsession_str::NONE,
        record: libsession_str::NONE,
        value: libsession_str::NONE,
        expires_at: None,
    };

    fn of(action: Action<'_>) -> View {
        let s = libsession_str::borrow;
        let v = |kind: libsession_action| View { kind: kind as u32, ..View::NONE };
        match action {
            Action::Load { id } => View { id: s(id), ..v(libsession_action::Load) },
            Action::Save { id, record, expires_at } => {
                View { id: s(id), record: s(record), expires_at, ..v(libsession_action::Save) }
            }
            Action::Touch { id, record, expires_at } => {
                View { id: s(id), record: s(record), expires_at, ..v(libsession_action::Touch) }
            }
            Action::Destroy { id } => View { id: s(id), ..v(libsession_action::Destroy) },
            Action::SetCookie { value } => View { value: s(value), ..v(libsession_action::SetCookie) },
            Action::Wait => v(libsession_action::Wait),
            Action::Ready => v(libsession_action::Ready),
            Action::Failed { message } => View { value: s(message), ..v(libsession_action::Failed) },
            Action::Completed { error } => {
                View { value: error.map_or(libsession_str::NONE, s), ..v(libsession_action::Completed) }
            }
            Action::Error { message } => View { value: s(message), ..v(libsession_action::Error) },
            Action::Done => v(libsession_action::Done),
        }
    }
}

impl libsession_request {
    pub(crate) fn record(&mut self, result: Result<(), Fail>) -> u32 {
        match result {
            Ok(()) => libsession_result::Ok as u32,
            Err(fail) => {
                self.error.clear();
                self.error.push_str(&fail.message);
                fail.code as u32
            }
        }
    }

    /// Puts `text` in the scratch buffer and returns a view of it.
    fn scratch(&mut self, write: impl FnOnce(&mut String)) -> libsession_str {
        self.scratch.clear();
        write(&mut self.scratch);
        libsession_str::borrow(&self.scratch)
    }
}

/// Marks the request behind `ptr` (if any) poisoned after a caught panic.
///
/// # Safety
///
/// `ptr` is NULL or a live request not borrowed elsewhere.
pub(crate) unsafe fn poison(ptr: *mut libsession_request, payload: &(dyn Any + Send)) -> u32 {
    // SAFETY: per this function's contract.
    if let Some(r) = unsafe { ptr.as_mut() } {
        let what = payload
            .downcast_ref::<&str>()
            .copied()
            .or_else(|| payload.downcast_ref::<String>().map(String::as_str))
            .unwrap_or("(no message)");
        r.poisoned = true;
        r.view = View::NONE;
        r.error.clear();
        r.error.push_str("libsession panicked; the request is poisoned: ");
        r.error.push_str(what);
    }
    libsession_result::Panic as u32
}

/// The 32-byte seed for the request's IDs.
///
/// # Safety
///
/// `entropy` is NULL or `len` readable bytes.
unsafe fn seed(entropy: *const u8, len: usize) -> Result<[u8; SEED_LEN], Fail> {
    let mut seed = [0u8; SEED_LEN];
    if entropy.is_null() && len == 0 {
        crate::ids::os_random(&mut seed)
            .map_err(|e| Fail::new(libsession_result::EntropyUnavailable, format!("getrandom(2) failed: {e}")))?;
        return Ok(seed);
    }
    // SAFETY: forwarded contract.
    let bytes = unsafe { bytes_in(entropy, len, "entropy") }?;
    if bytes.len() < SEED_LEN {
        return Err(Fail::new(
            libsession_result::InsufficientEntropy,
            format!("{} bytes of entropy given; at least {SEED_LEN} are required", bytes.len()),
        ));
    }
    if bytes.len() == SEED_LEN {
        seed.copy_from_slice(bytes);
    } else {
        seed.copy_from_slice(&Sha256::digest(bytes));
    }
    Ok(seed)
}

/// The request behind a const pointer, unless NULL or poisoned.
fn readable<'a>(req: *const libsession_request) -> Option<&'a libsession_request> {
    // SAFETY: the caller passes NULL or a live request that no other thread
    // is using (the documented contract of every request function).
    unsafe { req.as_ref() }.filter(|r| !r.poisoned)
}

/// Creates a request.
///
/// # Parameters
/// `config`: the configuration (the request takes its own reference).
/// `now_ms`: the current time, Unix milliseconds (update it with
/// `libsession_request_set_now`).
/// `entropy`, `entropy_len`: at least 32 bytes from a CSPRNG, from which the
/// request derives the IDs of the sessions it creates (ID *n* is the
/// base64url HMAC-SHA256 of the seed and *n*: 43 characters, 256 bits; more
/// than 32 bytes are hashed to 32 with SHA-256). Pass NULL and 0 to have the
/// library read 32 bytes from the operating system (`getrandom(2)`) instead.
/// IDs pushed with `libsession_request_push_session_id` are used first.
/// `request_out`: where to store the request.
///
/// # Returns
/// `LIBSESSION_RESULT_OK`; `NULL_PARAMETER` (`config` or `request_out` NULL,
/// or `entropy` NULL with a length); `INSUFFICIENT_ENTROPY` (fewer than 32
/// bytes); `ENTROPY_UNAVAILABLE` (the OS source failed). The code is the only
/// report: no request exists yet.
///
/// # Memory and lifetimes
/// `entropy` is read during the call only. Free the request with
/// `libsession_request_free`.
///
/// # Safety
/// `config` is NULL or held; `entropy` is NULL or `entropy_len` readable
/// bytes; `request_out` is NULL or writable.
#[must_use]
#[unsafe(no_mangle)]
pub unsafe extern "C" fn libsession_request_new(
    config: *const libsession_config,
    now_ms: u64,
    entropy: *const u8,
    entropy_len: usize,
    request_out: *mut *mut libsession_request,
) -> u32 {
    ffi_boundary!(result {
        let out = out_ptr(request_out, "request_out")?;
        if config.is_null() {
            return Err(Fail::null("config"));
        }
        // SAFETY: `entropy` is NULL or `entropy_len` readable bytes (contract).
        let seed = unsafe { seed(entropy, entropy_len) }?;
        let config = config_arc(config).ok_or_else(|| Fail::null("config"))?;
        let inner = Request::new(config, UnixMillis(now_ms), SeededIds::new(&seed));
        let req = Box::new(libsession_request {
            inner,
            view: View::NONE,
            scratch: String::new(),
            error: String::new(),
            poisoned: false,
        });
        // SAFETY: `out` is non-NULL and writable (contract).
        unsafe { out.write(Box::into_raw(req)) };
        Ok(())
    })
}

/// Frees a request (at any point of its lifecycle; an unanswered store
/// action is simply abandoned).
///
/// # Parameters
/// `req`: a request, or NULL (a no-op).
///
/// # Memory and lifetimes
/// `req` and every string borrowed from it must not be used afterwards;
/// freeing it twice is undefined behaviour.
///
/// # Safety
/// `req` is NULL or a live request.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn libsession_request_free(req: *mut libsession_request) {
    ffi_boundary!(value(()) {
        if !req.is_null() {
            // SAFETY: a live request from `Box::into_raw` (contract); ownership
            // returns to Rust exactly once.
            drop(unsafe { Box::from_raw(req) });
        }
    })
}

/// Copies the message of the request's most recent failed call into `buf`
/// (as `snprintf` does: at most `len - 1` bytes and a NUL).
///
/// # Parameters
/// `req`; `buf`, `len`: the destination; NULL or 0 only measures.
///
/// # Returns
/// The message's length in bytes without the NUL (0 if no call failed, or
/// `req` is NULL). A return value `>= len` means the copy was truncated.
/// Misuse reporting is best-effort: a NULL `req` has nowhere to keep a message.
///
/// # Safety
/// `req` is NULL or live; `buf` is NULL or has `len` writable bytes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn libsession_request_last_error(
    req: *const libsession_request,
    buf: *mut u8,
    len: usize,
) -> usize {
    ffi_boundary!(value(0) {
        // SAFETY: NULL or a live request (contract); a poisoned request still
        // reports why.
        match unsafe { req.as_ref() } {
            // SAFETY: `buf` is NULL or `len` writable bytes (contract).
            Some(r) => unsafe { copy_message(&r.error, buf, len) },
            None => 0,
        }
    })
}

/// Queues a caller-chosen session ID (express-session's `genid`): the next
/// session this request creates gets it, before any entropy-derived ID. Call
/// it several times to queue several, used in order. May be called at any
/// time.
///
/// # Parameters
/// `req`; `id`, `id_len`: the ID, UTF-8 (it should carry at least 128 bits of
/// entropy and use cookie-safe characters).
///
/// # Returns
/// `LIBSESSION_RESULT_OK`, `NULL_PARAMETER`, `INVALID_UTF8` or `PANIC`.
///
/// # Safety
/// `req` is NULL or live; `id` is NULL or `id_len` readable bytes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn libsession_request_push_session_id(
    req: *mut libsession_request,
    id: *const u8,
    id_len: usize,
) -> u32 {
    ffi_boundary!(request(req, r) {
        // SAFETY: `id` is NULL or `id_len` readable bytes (contract).
        let id = unsafe { str_in(id, id_len, "id") }?;
        r.inner.push_session_id(id);
        Ok(())
    })
}

/// How many new session IDs the request has generated so far (pushed or
/// derived from entropy), for hosts that account for them.
///
/// # Returns
/// The count (0 if `req` is NULL or poisoned).
///
/// # Safety
/// `req` is NULL or live.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn libsession_request_generated_id_count(req: *const libsession_request) -> u64 {
    ffi_boundary!(value(0) { readable(req).map_or(0, |r| r.inner.generated_id_count()) })
}

/// Sets the request target (`/path?query`, or an absolute URL; default `/`).
/// Only before the first poll.
///
/// # Parameters
/// `req`; `target`, `target_len`: the raw bytes of the request line's target.
///
/// # Returns
/// `LIBSESSION_RESULT_OK`, `NULL_PARAMETER`, `WRONG_PHASE` (after the first
/// poll; the request is then failed), `REQUEST_FAILED` or `PANIC`.
///
/// # Safety
/// `req` is NULL or live; `target` is NULL or `target_len` readable bytes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn libsession_request_set_target(
    req: *mut libsession_request,
    target: *const u8,
    target_len: usize,
) -> u32 {
    ffi_boundary!(request(req, r) {
        // SAFETY: `target` is NULL or `target_len` readable bytes (contract).
        let target = unsafe { bytes_in(target, target_len, "target") }?;
        Ok(r.inner.set_target(target)?)
    })
}

/// Adds one `Cookie` header value (raw bytes; several are joined with `"; "`
/// as Node does). Only before the first poll.
///
/// # Returns
/// As for `libsession_request_set_target`.
///
/// # Safety
/// `req` is NULL or live; `value` is NULL or `value_len` readable bytes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn libsession_request_add_cookie_header(
    req: *mut libsession_request,
    value: *const u8,
    value_len: usize,
) -> u32 {
    ffi_boundary!(request(req, r) {
        // SAFETY: `value` is NULL or `value_len` readable bytes (contract).
        let value = unsafe { bytes_in(value, value_len, "value") }?;
        Ok(r.inner.add_cookie_header(value)?)
    })
}

/// Adds one `X-Forwarded-Proto` header value (several are joined with
/// `", "`). It counts only if the config trusts the proxy. Only before the
/// first poll.
///
/// # Returns
/// As for `libsession_request_set_target`.
///
/// # Safety
/// `req` is NULL or live; `value` is NULL or `value_len` readable bytes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn libsession_request_add_forwarded_proto(
    req: *mut libsession_request,
    value: *const u8,
    value_len: usize,
) -> u32 {
    ffi_boundary!(request(req, r) {
        // SAFETY: `value` is NULL or `value_len` readable bytes (contract).
        let value = unsafe { bytes_in(value, value_len, "value") }?;
        Ok(r.inner.add_forwarded_proto(value)?)
    })
}

/// Says whether the connection itself is TLS. Only before the first poll.
///
/// # Returns
/// As for `libsession_request_set_target`.
///
/// # Safety
/// `req` is NULL or live.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn libsession_request_set_tls(req: *mut libsession_request, tls: bool) -> u32 {
    ffi_boundary!(request(req, r) { Ok(r.inner.set_tls(tls)?) })
}

/// Says the store is known to be unavailable (express-session's store
/// `disconnect` event): the request proceeds without a session. Only before
/// the first poll.
///
/// # Returns
/// As for `libsession_request_set_target`.
///
/// # Safety
/// `req` is NULL or live.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn libsession_request_set_store_unavailable(
    req: *mut libsession_request,
    unavailable: bool,
) -> u32 {
    ffi_boundary!(request(req, r) { Ok(r.inner.set_store_unavailable(unavailable)?) })
}

/// Updates the request's clock (for hosts whose store answers arrive later).
/// Allowed at any time; earlier times are accepted too.
///
/// # Parameters
/// `req`; `now_ms`: Unix milliseconds.
///
/// # Returns
/// `LIBSESSION_RESULT_OK`, `NULL_PARAMETER` or `PANIC`.
///
/// # Safety
/// `req` is NULL or live.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn libsession_request_set_now(req: *mut libsession_request, now_ms: u64) -> u32 {
    ffi_boundary!(request(req, r) {
        r.inner.set_now(UnixMillis(now_ms));
        Ok(())
    })
}

/// The next action. See `libsession_action` for what each asks of the host,
/// and the `libsession_request_action_*` accessors for its payload.
///
/// # Parameters
/// `req`; `kind_out`: receives a `libsession_action` value.
///
/// # Returns
/// `LIBSESSION_RESULT_OK`; `NULL_PARAMETER`; `REQUEST_FAILED` (earlier
/// misuse); `IDS_EXHAUSTED`; `PANIC`.
///
/// # Memory and lifetimes
/// The payload stays readable through the accessors until the next call on
/// the request that takes a non-const pointer.
///
/// # Safety
/// `req` is NULL or live; `kind_out` is NULL or writable.
#[must_use]
#[unsafe(no_mangle)]
pub unsafe extern "C" fn libsession_request_poll_action(req: *mut libsession_request, kind_out: *mut u32) -> u32 {
    ffi_boundary!(request(req, r) {
        let out = out_ptr(kind_out, "kind_out")?;
        let view = View::of(r.inner.poll_action()?);
        r.view = view;
        // SAFETY: `out` is non-NULL and writable (contract).
        unsafe { out.write(view.kind) };
        Ok(())
    })
}

/// The session ID of the current `LOAD`, `SAVE`, `TOUCH` or `DESTROY` action.
///
/// # Returns
/// The ID, or `{ NULL, 0 }` if the current action has none (or `req` is NULL
/// or poisoned).
///
/// # Memory and lifetimes
/// Valid until the next call on the request that takes a non-const pointer.
///
/// # Safety
/// `req` is NULL or live.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn libsession_request_action_id(req: *const libsession_request) -> libsession_str {
    ffi_boundary!(value(libsession_str::NONE) { readable(req).map_or(libsession_str::NONE, |r| r.view.id) })
}

/// The record (JSON text) of the current `SAVE` or `TOUCH` action.
///
/// # Returns
/// The record, or `{ NULL, 0 }` if the current action has none.
///
/// # Memory and lifetimes
/// Valid until the next call on the request that takes a non-const pointer.
///
/// # Safety
/// `req` is NULL or live.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn libsession_request_action_record(req: *const libsession_request) -> libsession_str {
    ffi_boundary!(value(libsession_str::NONE) { readable(req).map_or(libsession_str::NONE, |r| r.view.record) })
}

/// The text of the current action: the `Set-Cookie` header value for
/// `SET_COOKIE`, the message for `FAILED` and `ERROR`, the error message for
/// a `COMPLETED` operation that failed.
///
/// # Returns
/// The text, or `{ NULL, 0 }` if the current action has none (including a
/// `COMPLETED` operation that succeeded).
///
/// # Memory and lifetimes
/// Valid until the next call on the request that takes a non-const pointer.
///
/// # Safety
/// `req` is NULL or live.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn libsession_request_action_value(req: *const libsession_request) -> libsession_str {
    ffi_boundary!(value(libsession_str::NONE) { readable(req).map_or(libsession_str::NONE, |r| r.view.value) })
}

/// The expiry of the current `SAVE` or `TOUCH` action: the cookie's expiry in
/// Unix milliseconds, for stores with TTLs.
///
/// # Parameters
/// `req`; `expires_at_out`: receives the expiry if there is one.
///
/// # Returns
/// `true` (and `*expires_at_out` set) if the action has an expiry; `false`
/// for a browser-session cookie, another action kind, or a NULL argument.
///
/// # Safety
/// `req` is NULL or live; `expires_at_out` is NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn libsession_request_action_expires_at(
    req: *const libsession_request,
    expires_at_out: *mut i64,
) -> bool {
    ffi_boundary!(value(false) {
        match (readable(req).and_then(|r| r.view.expires_at), expires_at_out.is_null()) {
            (Some(at), false) => {
                // SAFETY: non-NULL and writable (contract).
                unsafe { expires_at_out.write(at) };
                true
            }
            _ => false,
        }
    })
}

/// Answers a `LOAD` action.
///
/// # Parameters
/// `req`; `status`: a `libsession_load_status` value; `data`, `data_len`: for
/// `FOUND` the record's bytes (JSON text), for `MISSING` and `FAILED` the
/// error message (UTF-8); ignored for `NOT_FOUND` (may be NULL).
///
/// # Returns
/// `LIBSESSION_RESULT_OK`; `NULL_PARAMETER`; `INVALID_PARAMETER` (unknown
/// status); `INVALID_UTF8` (a message); `UNEXPECTED_INPUT` (no `LOAD` is
/// outstanding: the request is now failed); `REQUEST_FAILED`; `PANIC`. Then
/// poll.
///
/// # Memory and lifetimes
/// `data` is copied; it may be freed when the call returns.
///
/// # Safety
/// `req` is NULL or live; `data` is NULL or `data_len` readable bytes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn libsession_request_handle_load_result(
    req: *mut libsession_request,
    status: u32,
    data: *const u8,
    data_len: usize,
) -> u32 {
    ffi_boundary!(request(req, r) {
        let status = libsession_load_status::try_from(status)?;
        // SAFETY: `data` is NULL or `data_len` readable bytes (contract).
        let data = || unsafe { bytes_in(data, data_len, "data") };
        let result = match status {
            libsession_load_status::Found => LoadResult::Found(data()?),
            libsession_load_status::NotFound => LoadResult::NotFound,
            libsession_load_status::Missing => LoadResult::Missing { message: utf8(data()?, "data")? },
            libsession_load_status::Failed => LoadResult::Failed { message: utf8(data()?, "data")? },
        };
        Ok(r.inner.handle_load(result)?)
    })
}

/// Answers a `SAVE`, `TOUCH` or `DESTROY` action.
///
/// # Parameters
/// `req`; `status`: a `libsession_store_status` value; `message`,
/// `message_len`: for `FAILED`, the error message (UTF-8); ignored for `OK`
/// (may be NULL).
///
/// # Returns
/// `LIBSESSION_RESULT_OK`; `NULL_PARAMETER`; `INVALID_PARAMETER`;
/// `INVALID_UTF8`; `UNEXPECTED_INPUT` (no such action is outstanding: the
/// request is now failed); `REQUEST_FAILED`; `IDS_EXHAUSTED`; `PANIC`. Then poll.
///
/// # Memory and lifetimes
/// `message` is copied.
///
/// # Safety
/// `req` is NULL or live; `message` is NULL or `message_len` readable bytes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn libsession_request_handle_store_result(
    req: *mut libsession_request,
    status: u32,
    message: *const u8,
    message_len: usize,
) -> u32 {
    ffi_boundary!(request(req, r) {
        let result = match libsession_store_status::try_from(status)? {
            libsession_store_status::Ok => StoreResult::Ok,
            libsession_store_status::Failed => {
                // SAFETY: `message` is NULL or `message_len` readable bytes (contract).
                let message = unsafe { str_in(message, message_len, "message") }?;
                StoreResult::Failed { message }
            }
        };
        Ok(r.inner.handle_store_result(result)?)
    })
}

/// The session as its store record, JSON text: the data and the `cookie`
/// (`JSON.stringify(req.session)`).
///
/// # Parameters
/// `req`; `json_out`: receives the text.
///
/// # Returns
/// `LIBSESSION_RESULT_OK`; `NO_SESSION`; `NULL_PARAMETER`; `PANIC`.
///
/// # Memory and lifetimes
/// Valid until the next call on the request that takes a non-const pointer.
///
/// # Safety
/// `req` is NULL or live; `json_out` is NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn libsession_request_session_json(
    req: *mut libsession_request,
    json_out: *mut libsession_str,
) -> u32 {
    ffi_boundary!(request(req, r) {
        let out = out_ptr(json_out, "json_out")?;
        let record = r.inner.session_record().ok_or(Error::NoSession)?;
        let s = r.scratch(|buf| buf.push_str(&record));
        // SAFETY: `out` is non-NULL and writable (contract).
        unsafe { out.write(s) };
        Ok(())
    })
}

/// The session data as a JSON object, without the cookie.
///
/// # Parameters
/// `req`; `json_out`: receives the text.
///
/// # Returns
/// `LIBSESSION_RESULT_OK`; `NO_SESSION`; `NULL_PARAMETER`; `PANIC`.
///
/// # Memory and lifetimes
/// Valid until the next call on the request that takes a non-const pointer.
///
/// # Safety
/// `req` is NULL or live; `json_out` is NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn libsession_request_data_json(
    req: *mut libsession_request,
    json_out: *mut libsession_str,
) -> u32 {
    ffi_boundary!(request(req, r) {
        let out = out_ptr(json_out, "json_out")?;
        let data = r.inner.data_json().ok_or(Error::NoSession)?;
        let s = r.scratch(|buf| crate::json::write_value(buf, &data));
        // SAFETY: `out` is non-NULL and writable (contract).
        unsafe { out.write(s) };
        Ok(())
    })
}

/// `req.session.cookie.maxAge` as JSON: the milliseconds left, `null` for
/// no expiry or an invalid date, or, for a cookie whose `expires` is not a
/// date (from an odd store record), that value itself.
/// `libsession_request_max_age` is the numeric shortcut.
///
/// # Parameters
/// `req`; `json_out`: receives the JSON text.
///
/// # Returns
/// `LIBSESSION_RESULT_OK`; `NO_SESSION`; `NULL_PARAMETER`; `PANIC`.
///
/// # Memory and lifetimes
/// Valid until the next call on the request that takes a non-const pointer.
///
/// # Safety
/// `req` is NULL or live; `json_out` is NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn libsession_request_max_age_json(
    req: *mut libsession_request,
    json_out: *mut libsession_str,
) -> u32 {
    ffi_boundary!(request(req, r) {
        let out = out_ptr(json_out, "json_out")?;
        let value = r.inner.max_age_json().ok_or(Error::NoSession)?;
        let s = r.scratch(|buf| crate::json::write_value(buf, &value));
        // SAFETY: `out` is non-NULL and writable (contract).
        unsafe { out.write(s) };
        Ok(())
    })
}

/// One session value as JSON (`req.session[key]`).
///
/// # Parameters
/// `req`; `key`, `key_len`: UTF-8; `json_out`: receives the JSON text, or
/// `{ NULL, 0 }` if the key is absent (JavaScript's `undefined`; `cookie` is
/// always absent here).
///
/// # Returns
/// `LIBSESSION_RESULT_OK`; `NO_SESSION`; `NULL_PARAMETER`; `INVALID_UTF8`; `PANIC`.
///
/// # Memory and lifetimes
/// Valid until the next call on the request that takes a non-const pointer.
///
/// # Safety
/// `req` is NULL or live; `key` is NULL or `key_len` readable bytes;
/// `json_out` is NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn libsession_request_get_json(
    req: *mut libsession_request,
    key: *const u8,
    key_len: usize,
    json_out: *mut libsession_str,
) -> u32 {
    ffi_boundary!(request(req, r) {
        let out = out_ptr(json_out, "json_out")?;
        // SAFETY: `key` is NULL or `key_len` readable bytes (contract).
        let key = unsafe { str_in(key, key_len, "key") }?;
        if !r.inner.has_session() {
            return Err(Error::NoSession.into());
        }
        let s = match r.inner.get_json(key) {
            // The record's own text, owned by the request's session.
            Some(std::borrow::Cow::Borrowed(text)) => libsession_str::borrow(text),
            Some(std::borrow::Cow::Owned(text)) => {
                r.scratch = text;
                libsession_str::borrow(&r.scratch)
            }
            None => libsession_str::NONE,
        };
        // SAFETY: `out` is non-NULL and writable (contract).
        unsafe { out.write(s) };
        Ok(())
    })
}

/// `req.session[key] = JSON.parse(json)`.
///
/// # Parameters
/// `req`; `key`, `key_len`: UTF-8; `json`, `json_len`: the value as UTF-8
/// JSON text (any JSON value).
///
/// # Returns
/// `LIBSESSION_RESULT_OK`; `NO_SESSION`; `RESERVED_KEY` (`cookie`, `id`,
/// method names, `Object.prototype` names); `INVALID_UTF8`; `INVALID_JSON`;
/// `NULL_PARAMETER`; `WRONG_PHASE` (not the handler's turn: the request is
/// now failed); `REQUEST_FAILED`; `PANIC`. Nothing changes on failure.
///
/// # Safety
/// `req` is NULL or live; `key` and `json` are NULL or their lengths' worth
/// of readable bytes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn libsession_request_set_json(
    req: *mut libsession_request,
    key: *const u8,
    key_len: usize,
    json: *const u8,
    json_len: usize,
) -> u32 {
    ffi_boundary!(request(req, r) {
        // SAFETY: `key` is NULL or `key_len` readable bytes (contract).
        let key = unsafe { str_in(key, key_len, "key") }?;
        // SAFETY: `json` is NULL or `json_len` readable bytes (contract).
        let value = unsafe { json_in(json, json_len, "json") }?;
        Ok(r.inner.set(key, value)?)
    })
}

/// `delete req.session[key]` (absent keys are fine).
///
/// # Returns
/// As for `libsession_request_set_json` (without `INVALID_JSON`).
///
/// # Safety
/// `req` is NULL or live; `key` is NULL or `key_len` readable bytes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn libsession_request_delete(
    req: *mut libsession_request,
    key: *const u8,
    key_len: usize,
) -> u32 {
    ffi_boundary!(request(req, r) {
        // SAFETY: `key` is NULL or `key_len` readable bytes (contract).
        let key = unsafe { str_in(key, key_len, "key") }?;
        r.inner.delete(key)?;
        Ok(())
    })
}

/// `req.session[key] = (typeof it === 'number' ? it : 0) + 1`.
///
/// # Parameters
/// `req`; `key`, `key_len`: UTF-8; `value_out`: receives the new value.
///
/// # Returns
/// As for `libsession_request_set_json` (without `INVALID_JSON`).
///
/// # Safety
/// `req` is NULL or live; `key` is NULL or `key_len` readable bytes;
/// `value_out` is NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn libsession_request_increment(
    req: *mut libsession_request,
    key: *const u8,
    key_len: usize,
    value_out: *mut f64,
) -> u32 {
    ffi_boundary!(request(req, r) {
        let out = out_ptr(value_out, "value_out")?;
        // SAFETY: `key` is NULL or `key_len` readable bytes (contract).
        let key = unsafe { str_in(key, key_len, "key") }?;
        let n = r.inner.increment(key)?;
        // SAFETY: `out` is non-NULL and writable (contract).
        unsafe { out.write(n) };
        Ok(())
    })
}

/// `req.session.touch()`: the cookie's expiry becomes now + originalMaxAge.
///
/// # Returns
/// `LIBSESSION_RESULT_OK`; `NO_SESSION`; `INVALID_COOKIE_VALUE`;
/// `NULL_PARAMETER`; `WRONG_PHASE`; `REQUEST_FAILED`; `PANIC`.
///
/// # Safety
/// `req` is NULL or live.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn libsession_request_touch(req: *mut libsession_request) -> u32 {
    ffi_boundary!(request(req, r) { Ok(r.inner.touch()?) })
}

/// `req.session.cookie.maxAge = ms` (or `null` for a browser-session cookie).
///
/// # Parameters
/// `req`; `has_max_age`: false for `null`; `max_age_ms`: used when true.
///
/// # Returns
/// As for `libsession_request_touch`.
///
/// # Safety
/// `req` is NULL or live.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn libsession_request_set_max_age(
    req: *mut libsession_request,
    has_max_age: bool,
    max_age_ms: f64,
) -> u32 {
    ffi_boundary!(request(req, r) { Ok(r.inner.set_max_age(has_max_age.then_some(max_age_ms))?) })
}

/// `req.session.cookie.expires = new Date(at_ms)` (or `null`: no expiry).
///
/// # Parameters
/// `req`; `has_expires`: false for `null`; `expires_at_ms`: Unix ms, used
/// when true (a non-finite value is an invalid date, as in JavaScript).
///
/// # Returns
/// As for `libsession_request_touch`.
///
/// # Safety
/// `req` is NULL or live.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn libsession_request_set_expires(
    req: *mut libsession_request,
    has_expires: bool,
    expires_at_ms: f64,
) -> u32 {
    ffi_boundary!(request(req, r) { Ok(r.inner.set_expires(has_expires.then_some(expires_at_ms))?) })
}

/// `req.session.cookie[attr] = JSON.parse(json)`, unvalidated until the
/// header is written (as in express-session).
///
/// # Parameters
/// `req`; `attr`: a `libsession_cookie_attr` value; `json`, `json_len`: the
/// value as JSON text.
///
/// # Returns
/// `LIBSESSION_RESULT_OK`; `INVALID_PARAMETER` (unknown `attr`);
/// `INVALID_UTF8`; `INVALID_JSON`; `NO_SESSION`; `NULL_PARAMETER`;
/// `WRONG_PHASE`; `REQUEST_FAILED`; `PANIC`.
///
/// # Safety
/// `req` is NULL or live; `json` is NULL or `json_len` readable bytes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn libsession_request_set_cookie_attr(
    req: *mut libsession_request,
    attr: u32,
    json: *const u8,
    json_len: usize,
) -> u32 {
    ffi_boundary!(request(req, r) {
        let attr = CookieAttr::from(libsession_cookie_attr::try_from(attr)?);
        // SAFETY: `json` is NULL or `json_len` readable bytes (contract).
        let value = unsafe { json_in(json, json_len, "json") }?;
        Ok(r.inner.set_cookie_attr(attr, value)?)
    })
}

/// `req.session.cookie[name] = JSON.parse(json)`, with the attribute given by
/// its JavaScript name (`path`, `domain`, `httpOnly`, `secure`, `sameSite`,
/// `partitioned`, `priority`, `originalMaxAge`).
///
/// # Returns
/// As for `libsession_request_set_cookie_attr`, with
/// `UNKNOWN_COOKIE_ATTRIBUTE` for any other name.
///
/// # Safety
/// `req` is NULL or live; `name` and `json` are NULL or their lengths' worth
/// of readable bytes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn libsession_request_set_cookie_attr_by_name(
    req: *mut libsession_request,
    name: *const u8,
    name_len: usize,
    json: *const u8,
    json_len: usize,
) -> u32 {
    ffi_boundary!(request(req, r) {
        // SAFETY: `name` is NULL or `name_len` readable bytes (contract).
        let name = unsafe { str_in(name, name_len, "name") }?;
        let attr = CookieAttr::from_name(name).ok_or_else(|| {
            Fail::new(libsession_result::UnknownCookieAttribute, format!("unknown cookie attribute `{name}`"))
        })?;
        // SAFETY: `json` is NULL or `json_len` readable bytes (contract).
        let value = unsafe { json_in(json, json_len, "json") }?;
        Ok(r.inner.set_cookie_attr(attr, value)?)
    })
}

/// `req.session.save()`: store the session now. Poll: a `SAVE` action, then
/// `COMPLETED`.
///
/// # Returns
/// `LIBSESSION_RESULT_OK`; `NO_SESSION`; `NULL_PARAMETER`; `WRONG_PHASE`;
/// `REQUEST_FAILED`; `PANIC`.
///
/// # Safety
/// `req` is NULL or live.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn libsession_request_save(req: *mut libsession_request) -> u32 {
    ffi_boundary!(request(req, r) { Ok(r.inner.save()?) })
}

/// `req.session.reload()`: replace the session with the stored copy. Poll: a
/// `LOAD` action, then `COMPLETED`.
///
/// # Returns
/// As for `libsession_request_save`.
///
/// # Safety
/// `req` is NULL or live.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn libsession_request_reload(req: *mut libsession_request) -> u32 {
    ffi_boundary!(request(req, r) { Ok(r.inner.reload()?) })
}

/// `req.session.destroy()`: the session is gone at once. Poll: a `DESTROY`
/// action, then `COMPLETED`.
///
/// # Returns
/// As for `libsession_request_save`.
///
/// # Safety
/// `req` is NULL or live.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn libsession_request_destroy(req: *mut libsession_request) -> u32 {
    ffi_boundary!(request(req, r) { Ok(r.inner.destroy()?) })
}

/// `req.session.regenerate()`: destroy the stored session, then start a new
/// session with a new ID (even if the destroy failed). Poll: a `DESTROY`
/// action, then `COMPLETED`.
///
/// # Returns
/// As for `libsession_request_save`, plus `IDS_EXHAUSTED` from the answer.
///
/// # Safety
/// `req` is NULL or live.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn libsession_request_regenerate(req: *mut libsession_request) -> u32 {
    ffi_boundary!(request(req, r) { Ok(r.inner.regenerate()?) })
}

/// `req.session = null`: the request continues without a session; what
/// happens to the stored one follows the config's `unset`. Allowed with or
/// without a session.
///
/// # Returns
/// `LIBSESSION_RESULT_OK`; `NULL_PARAMETER`; `WRONG_PHASE`; `REQUEST_FAILED`; `PANIC`.
///
/// # Safety
/// `req` is NULL or live.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn libsession_request_unset(req: *mut libsession_request) -> u32 {
    ffi_boundary!(request(req, r) { Ok(r.inner.unset()?) })
}

/// The response is complete (express-session's patched `res.end`): decides
/// the cookie and the end-of-request save, touch or destroy. Call it after
/// `READY` (once the handler is done) or after `FAILED`. Then poll until
/// `DONE`; `SET_COOKIE` arrives after the store answer, so a host that
/// buffers headers sends them then.
///
/// # Returns
/// `LIBSESSION_RESULT_OK`; `NULL_PARAMETER`; `WRONG_PHASE` (a store answer is
/// owed, or already finished: the request is now failed); `REQUEST_FAILED`; `PANIC`.
///
/// # Safety
/// `req` is NULL or live.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn libsession_request_finish(req: *mut libsession_request) -> u32 {
    ffi_boundary!(request(req, r) { Ok(r.inner.finish()?) })
}

/// `req.sessionID`: the current session ID. It stays set after `destroy` and
/// `unset`.
///
/// # Parameters
/// `req`; `id_out`: receives the ID.
///
/// # Returns
/// `true` (and `*id_out` set) if the request has a session ID; `false` if it
/// has none (before the first poll, out of scope, store unavailable), or for
/// a NULL argument or a poisoned request.
///
/// # Memory and lifetimes
/// Valid until the next call on the request that takes a non-const pointer.
///
/// # Safety
/// `req` is NULL or live; `id_out` is NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn libsession_request_session_id(
    req: *const libsession_request,
    id_out: *mut libsession_str,
) -> bool {
    ffi_boundary!(value(false) {
        match (readable(req).and_then(|r| r.inner.session_id()), id_out.is_null()) {
            (Some(id), false) => {
                // SAFETY: non-NULL and writable (contract).
                unsafe { id_out.write(libsession_str::borrow(id)) };
                true
            }
            _ => false,
        }
    })
}

/// The session ID whose signed cookie the request carried, if the signature
/// verified with one of the secrets.
///
/// # Returns
/// As for `libsession_request_session_id`.
///
/// # Safety
/// `req` is NULL or live; `id_out` is NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn libsession_request_cookie_session_id(
    req: *const libsession_request,
    id_out: *mut libsession_str,
) -> bool {
    ffi_boundary!(value(false) {
        match (readable(req).and_then(|r| r.inner.cookie_session_id()), id_out.is_null()) {
            (Some(id), false) => {
                // SAFETY: non-NULL and writable (contract).
                unsafe { id_out.write(libsession_str::borrow(id)) };
                true
            }
            _ => false,
        }
    })
}

/// Whether `req.session` exists (`false` for a NULL or poisoned request).
///
/// # Safety
/// `req` is NULL or live.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn libsession_request_has_session(req: *const libsession_request) -> bool {
    ffi_boundary!(value(false) { readable(req).is_some_and(|r| r.inner.has_session()) })
}

/// `req.session.cookie.maxAge`: milliseconds until the cookie expires.
///
/// # Parameters
/// `req`; `max_age_out`: receives the value.
///
/// # Returns
/// `true` (and `*max_age_out` set) if there is a session whose cookie has an
/// expiry; `false` otherwise (browser-session cookie, no session, NULL
/// argument, poisoned request).
///
/// # Safety
/// `req` is NULL or live; `max_age_out` is NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn libsession_request_max_age(req: *const libsession_request, max_age_out: *mut f64) -> bool {
    ffi_boundary!(value(false) {
        match (readable(req).and_then(|r| r.inner.max_age()), max_age_out.is_null()) {
            (Some(ms), false) => {
                // SAFETY: non-NULL and writable (contract).
                unsafe { max_age_out.write(ms) };
                true
            }
            _ => false,
        }
    })
}

/// Whether the request counts as secure (TLS, or a trusted proxy's
/// `X-Forwarded-Proto: https`). Known after the first poll; `false` for a
/// NULL or poisoned request.
///
/// # Safety
/// `req` is NULL or live.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn libsession_request_is_secure(req: *const libsession_request) -> bool {
    ffi_boundary!(value(false) { readable(req).is_some_and(|r| r.inner.is_secure()) })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ffi::config::{libsession_config_builder_add_secret, libsession_config_builder_build};
    use crate::ffi::{libsession_config_builder_new, libsession_config_free};

    fn config() -> *const libsession_config {
        let mut b = std::ptr::null_mut();
        let mut c = std::ptr::null();
        // SAFETY: valid out-pointers and a 6-byte secret.
        unsafe {
            assert_eq!(libsession_config_builder_new(&mut b), 0);
            assert_eq!(libsession_config_builder_add_secret(b, b"secret".as_ptr(), 6), 0);
            assert_eq!(libsession_config_builder_build(b, &mut c), 0);
        }
        c
    }

    #[test]
    fn a_caught_panic_poisons_the_request() {
        let c = config();
        let mut req = std::ptr::null_mut();
        // SAFETY: a held config, 32 readable bytes, a valid out-pointer.
        assert_eq!(unsafe { libsession_request_new(c, 0, [1u8; 32].as_ptr(), 32, &mut req) }, 0);
        // A body that panics, run through the same boundary as every exported call.
        let rc = ffi_boundary!(request(req, r) {
            if !r.poisoned {
                panic!("injected");
            }
            Ok(())
        });
        assert_eq!(rc, libsession_result::Panic as u32);
        let mut kind = 0;
        // SAFETY: a live request and a valid out-pointer.
        unsafe {
            assert_eq!(libsession_request_poll_action(req, &mut kind), libsession_result::Panic as u32);
            assert_eq!(kind, 0, "out-parameters are not written on failure");
            assert!(!libsession_request_has_session(req));
            let mut buf = [0u8; 128];
            let n = libsession_request_last_error(req, buf.as_mut_ptr(), buf.len());
            assert!(std::str::from_utf8(&buf[..n]).unwrap().ends_with("poisoned: injected"));
            libsession_request_free(req);
            libsession_config_free(c);
        }
    }

    #[test]
    fn value_boundary_returns_the_default_on_panic() {
        let v: u32 = ffi_boundary!(value(7) {
            if std::hint::black_box(true) {
                panic!("injected");
            }
            1
        });
        assert_eq!(v, 7);
    }
}

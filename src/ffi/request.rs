//! `libsession_request`: one HTTP request's session lifecycle.

use std::any::Any;
use std::cell::RefCell;

use sha2::{Digest, Sha256};

use super::config::{config_arc, libsession_config};
use super::result::{
    ActionCode, CookieAttrCode, LoadStatusCode, ResultCode, StoreStatusCode, libsession_action, libsession_cookie_attr,
    libsession_load_status, libsession_store_status,
};
use super::{Fail, bytes_in, json_in, libsession_result, libsession_str, out_ptr, put, str_in, utf8};
use crate::record::connect_redis_ttl;
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
/// `DESTROY`) with exactly one `handle_*` call. **At most one store action
/// is outstanding per request**: until it is answered, polling returns
/// `WAIT`. On `READY` run the handler and call `libsession_request_finish`;
/// at `DONE` free the request.
///
/// A call in the wrong order fails with a misuse code (`UNEXPECTED_INPUT`,
/// `WRONG_PHASE`) and leaves the request failed for good (`REQUEST_FAILED`,
/// whose `libsession_request_last_error` message keeps the first failure's).
/// A panic inside a state-changing call poisons the request (`PANIC` from
/// then on).
///
/// **Borrowed outputs.** Functions taking a `const libsession_request *` are
/// getters: they change nothing, and every `libsession_str` they (and
/// `libsession_request_poll_action`'s accessors) hand out stays valid, all at
/// once, until the next state-changing call on the request (one taking a
/// non-const `libsession_request *`, except `libsession_request_set_now`,
/// which keeps them) or its free. So two `libsession_request_get_json`
/// results may be compared without copying. Each getter result is kept until
/// then: a host that reads in a long loop without changing the request keeps
/// every result it read.
///
/// Thread safety: not synchronized; must not be used by two threads at once,
/// getters included; may be moved between threads (an asynchronous store may
/// answer on another thread than the one that polled).
pub struct libsession_request {
    pub(crate) inner: Request,
    /// The request's clock (Unix ms), for the TTL of the current action.
    pub(crate) now_ms: i64,
    /// The payload of the most recent action, borrowed from `inner`.
    pub(crate) view: View,
    /// The texts getters made, kept until the next state-changing call so
    /// that every borrowed result stays valid at once. A `String`'s bytes do
    /// not move when the `Vec` grows.
    outputs: RefCell<Vec<String>>,
    error: String,
    /// The message of the failure that made the request failed, kept for the
    /// `REQUEST_FAILED` messages after it.
    cause: Option<String>,
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
    pub(crate) kind: Option<libsession_action>,
    pub(crate) id: libsession_str,
    pub(crate) record: libsession_str,
    value: libsession_str,
    /// The header name of a `SET_HEADER`.
    pub(crate) header_name: libsession_str,
    pub(crate) expires_at: Option<i64>,
    /// A `SAVE` of a new session's ID (insert-if-absent).
    pub(crate) is_new: bool,
    /// The compare-and-set of a versioned `SAVE` or `TOUCH`.
    pub(crate) version: Option<crate::Version>,
}

impl View {
    pub(crate) const NONE: View = View {
        kind: None,
        id: libsession_str::NONE,
        record: libsession_str::NONE,
        value: libsession_str::NONE,
        header_name: libsession_str::NONE,
        expires_at: None,
        is_new: false,
        version: None,
    };

    fn of(action: Action<'_>) -> View {
        let s = libsession_str::borrow;
        let v = |kind: libsession_action| View { kind: Some(kind), ..View::NONE };
        match action {
            Action::Load { id } => View { id: s(id), ..v(libsession_action::Load) },
            Action::Save { id, record, expires_at, is_new, version } => {
                View { id: s(id), record: s(record), expires_at, is_new, version, ..v(libsession_action::Save) }
            }
            Action::Touch { id, record, expires_at, version } => {
                View { id: s(id), record: s(record), expires_at, version, ..v(libsession_action::Touch) }
            }
            Action::Destroy { id } => View { id: s(id), ..v(libsession_action::Destroy) },
            Action::SetCookie { value } => View { value: s(value), ..v(libsession_action::SetCookie) },
            Action::SetHeader { name, value } => {
                View { value: s(value), header_name: s(name), ..v(libsession_action::SetHeader) }
            }
            Action::Wait => v(libsession_action::Wait),
            Action::Ready => v(libsession_action::Ready),
            Action::Failed { message } => View { value: s(message), ..v(libsession_action::Failed) },
            Action::Completed { error } => {
                View { value: error.map_or(libsession_str::NONE, s), ..v(libsession_action::Completed) }
            }
            Action::Error { message } => View { value: s(message), ..v(libsession_action::Error) },
            Action::Done => v(libsession_action::Done),
            Action::Conflict { reloaded: false } => v(libsession_action::Conflict),
            Action::Conflict { reloaded: true } => v(libsession_action::ConflictReloaded),
        }
    }

    /// The expiry of a `SAVE` or `TOUCH` action (`None`: no expiry).
    fn store_write_expiry(&self) -> Result<Option<i64>, Fail> {
        match self.kind {
            Some(libsession_action::Save | libsession_action::Touch) => Ok(self.expires_at),
            _ => Err(Fail::new(libsession_result::WrongAction, "the current action is not SAVE or TOUCH")),
        }
    }
}

impl libsession_request {
    /// Keeps a failed call's message for `libsession_request_last_error`.
    fn record(&mut self, result: Result<(), Fail>) -> ResultCode {
        let Err(fail) = result else {
            return libsession_result::Ok as u32;
        };
        self.error.clear();
        self.error.push_str(&fail.message);
        match (fail.code, &self.cause) {
            // These codes fail the request: later calls report this cause.
            (
                libsession_result::UnexpectedInput | libsession_result::WrongPhase | libsession_result::IdsExhausted,
                None,
            ) => {
                self.cause = Some(fail.message.into_owned());
            }
            (libsession_result::RequestFailed, Some(cause)) => {
                self.error.push_str("; it failed with: ");
                self.error.push_str(cause);
            }
            _ => {}
        }
        fail.code as u32
    }

    /// Keeps `text` until the next state-changing call and returns a view of it.
    pub(crate) fn keep(&self, text: String) -> libsession_str {
        let mut outputs = self.outputs.borrow_mut();
        outputs.push(text);
        // The `String` just pushed: its bytes stay put until `outputs` is
        // cleared, which only a state-changing call (`&mut self`) does.
        outputs.last().map_or(libsession_str::NONE, |s| libsession_str::borrow(s))
    }
}

/// Runs a state-changing call on the request behind `ptr`. NULL gives
/// `NULL_PARAMETER`, a poisoned request `PANIC`. Unless `keep_outputs`, the
/// borrowed outputs end first (the current action's payload and the getters'
/// texts). A failure's message is kept for `libsession_request_last_error`;
/// a panic poisons the request.
pub(crate) fn change(
    ptr: *mut libsession_request,
    keep_outputs: bool,
    body: impl FnOnce(&mut libsession_request) -> Result<(), Fail>,
) -> ResultCode {
    let run = std::panic::AssertUnwindSafe(|| -> ResultCode {
        // SAFETY: the caller passes NULL or a request from
        // `libsession_request_new` that is not freed and not in use by
        // another thread (the documented contract of every request call).
        let Some(r) = (unsafe { ptr.as_mut() }) else {
            return libsession_result::NullParameter as u32;
        };
        if r.poisoned {
            return libsession_result::Panic as u32;
        }
        if !keep_outputs {
            r.view = View::NONE;
            r.outputs.get_mut().clear();
        }
        let result = body(r);
        r.record(result)
    });
    match std::panic::catch_unwind(run) {
        Ok(rc) => rc,
        // SAFETY: the same pointer as above; the unwind ended every borrow
        // taken from it.
        Err(payload) => unsafe { poison(ptr, &*payload) },
    }
}

/// Runs a getter on the request behind `ptr`. NULL gives `NULL_PARAMETER`, a
/// poisoned request `PANIC`. Nothing changes, so `last_error` is not
/// touched (the code is the report) and a panic does not poison.
pub(crate) fn read(
    ptr: *const libsession_request,
    body: impl FnOnce(&libsession_request) -> Result<(), Fail>,
) -> ResultCode {
    ffi_boundary!(result {
        // SAFETY: the caller passes NULL or a live request that no other
        // thread is using (the documented contract of every request function).
        let r = unsafe { ptr.as_ref() }.ok_or_else(|| Fail::null("req"))?;
        if r.poisoned {
            return Err(Fail::new(libsession_result::Panic, "the request is poisoned"));
        }
        body(r)
    })
}

/// Marks the request behind `ptr` (if any) poisoned after a caught panic.
///
/// # Safety
///
/// `ptr` is NULL or a live request not borrowed elsewhere.
pub(crate) unsafe fn poison(ptr: *mut libsession_request, payload: &(dyn Any + Send)) -> ResultCode {
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
        // The `getrandom` crate: the OS source on every platform Rust
        // supports (getrandom(2), getentropy(2), BCryptGenRandom, …).
        getrandom::fill(&mut seed).map_err(|e| {
            Fail::new(libsession_result::EntropyUnavailable, format!("the OS random source failed: {e}"))
        })?;
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

/// Unix milliseconds from C: negative times are rejected (the engine's clock
/// starts at the epoch).
fn unix_ms(ms: i64, what: &str) -> Result<UnixMillis, Fail> {
    u64::try_from(ms).map(UnixMillis).map_err(|_| Fail::invalid(format!("`{what}` is negative ({ms})")))
}

/// Creates a request.
///
/// # Parameters
/// `config`: the configuration (the request takes its own reference).
/// `now_ms`: the current time, Unix milliseconds, not negative (update it
/// with `libsession_request_set_now`).
/// `entropy`, `entropy_len`: at least 32 bytes from a CSPRNG, from which the
/// request derives the IDs of the sessions it creates (ID *n* is the
/// base64url HMAC-SHA256 of the seed and *n*: 43 characters, 256 bits; more
/// than 32 bytes are hashed to 32 with SHA-256). Pass NULL and 0 to have the
/// library read 32 bytes from the operating system's CSPRNG instead
/// (`getrandom(2)` on Linux, `getentropy(2)` on macOS, ...).
/// IDs pushed with `libsession_request_push_session_id` are used first.
/// `request_out`: where to store the request.
///
/// # Returns
/// `LIBSESSION_RESULT_OK`; `NULL_PARAMETER` (`config` or `request_out` NULL,
/// or `entropy` NULL with a length); `INVALID_PARAMETER` (`now_ms`
/// negative); `INSUFFICIENT_ENTROPY` (fewer than 32
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
    now_ms: i64,
    entropy: *const u8,
    entropy_len: usize,
    request_out: *mut *mut libsession_request,
) -> ResultCode {
    ffi_boundary!(result {
        let out = out_ptr(request_out, "request_out")?;
        if config.is_null() {
            return Err(Fail::null("config"));
        }
        // SAFETY: `entropy` is NULL or `entropy_len` readable bytes (contract).
        let seed = unsafe { seed(entropy, entropy_len) }?;
        let now = unix_ms(now_ms, "now_ms")?;
        let config = config_arc(config).ok_or_else(|| Fail::null("config"))?;
        let inner = Request::new(config, now, SeededIds::new(&seed));
        let req = Box::new(libsession_request {
            inner,
            now_ms,
            view: View::NONE,
            outputs: RefCell::new(Vec::new()),
            error: String::new(),
            cause: None,
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

/// The message of the request's most recent failed state-changing call
/// (getters report by their code alone). After `REQUEST_FAILED` it also
/// gives the failure that made the request failed (`...; it failed with:
/// <first message>`); after `PANIC`, the panic's message.
///
/// # Parameters
/// `req` (may be poisoned); `message_out`: receives the UTF-8 message, not
/// NUL-terminated, empty if no call failed.
///
/// # Returns
/// `LIBSESSION_RESULT_OK` or `NULL_PARAMETER`.
///
/// # Memory and lifetimes
/// Valid until the next state-changing call on the request.
///
/// # Safety
/// `req` is NULL or live; `message_out` is NULL or writable.
#[must_use]
#[unsafe(no_mangle)]
pub unsafe extern "C" fn libsession_request_last_error(
    req: *const libsession_request,
    message_out: *mut libsession_str,
) -> ResultCode {
    ffi_boundary!(result {
        // SAFETY: NULL or a live request (contract); a poisoned request still
        // reports why.
        let r = unsafe { req.as_ref() }.ok_or_else(|| Fail::null("req"))?;
        // SAFETY: `message_out` is NULL or writable (contract).
        unsafe { put(message_out, "message_out", libsession_str::borrow(&r.error)) }
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
#[must_use]
#[unsafe(no_mangle)]
pub unsafe extern "C" fn libsession_request_push_session_id(
    req: *mut libsession_request,
    id: *const u8,
    id_len: usize,
) -> ResultCode {
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
/// # Parameters
/// `req`; `count_out`: receives the count.
///
/// # Returns
/// `LIBSESSION_RESULT_OK`, `NULL_PARAMETER` or `PANIC`.
///
/// # Safety
/// `req` is NULL or live; `count_out` is NULL or writable.
#[must_use]
#[unsafe(no_mangle)]
pub unsafe extern "C" fn libsession_request_generated_id_count(
    req: *const libsession_request,
    count_out: *mut u64,
) -> ResultCode {
    // SAFETY: `count_out` is NULL or writable (contract).
    ffi_boundary!(reading(req, r) { unsafe { put(count_out, "count_out", r.inner.generated_id_count()) } })
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
#[must_use]
#[unsafe(no_mangle)]
pub unsafe extern "C" fn libsession_request_set_target(
    req: *mut libsession_request,
    target: *const u8,
    target_len: usize,
) -> ResultCode {
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
#[must_use]
#[unsafe(no_mangle)]
pub unsafe extern "C" fn libsession_request_add_cookie_header(
    req: *mut libsession_request,
    value: *const u8,
    value_len: usize,
) -> ResultCode {
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
#[must_use]
#[unsafe(no_mangle)]
pub unsafe extern "C" fn libsession_request_add_forwarded_proto(
    req: *mut libsession_request,
    value: *const u8,
    value_len: usize,
) -> ResultCode {
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
#[must_use]
#[unsafe(no_mangle)]
pub unsafe extern "C" fn libsession_request_set_tls(req: *mut libsession_request, tls: bool) -> ResultCode {
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
#[must_use]
#[unsafe(no_mangle)]
pub unsafe extern "C" fn libsession_request_set_store_unavailable(
    req: *mut libsession_request,
    unavailable: bool,
) -> ResultCode {
    ffi_boundary!(request(req, r) { Ok(r.inner.set_store_unavailable(unavailable)?) })
}

/// Updates the request's clock (for hosts whose store answers arrive later).
/// Allowed at any time; earlier times are accepted too. Unlike every other
/// state-changing call it keeps borrowed outputs valid, so an asynchronous
/// host may call it between polling a `SAVE` and reading its record.
///
/// # Parameters
/// `req`; `now_ms`: Unix milliseconds, not negative.
///
/// # Returns
/// `LIBSESSION_RESULT_OK`, `NULL_PARAMETER`, `INVALID_PARAMETER` (negative)
/// or `PANIC`.
///
/// # Safety
/// `req` is NULL or live.
#[must_use]
#[unsafe(no_mangle)]
pub unsafe extern "C" fn libsession_request_set_now(req: *mut libsession_request, now_ms: i64) -> ResultCode {
    ffi_boundary!(request_keeping_outputs(req, r) {
        r.inner.set_now(unix_ms(now_ms, "now_ms")?);
        r.now_ms = now_ms;
        Ok(())
    })
}

/// The next action. See `libsession_action` for what each asks of the host,
/// and the `libsession_request_action_*` accessors for its payload.
///
/// # Parameters
/// `req`; `kind_out`: receives the action's kind.
///
/// # Returns
/// `LIBSESSION_RESULT_OK`; `NULL_PARAMETER`; `REQUEST_FAILED` (earlier
/// misuse); `IDS_EXHAUSTED`; `PANIC`. While a store action is unanswered
/// (at most one is outstanding per request), the kind is `WAIT`.
///
/// # Memory and lifetimes
/// The payload stays readable through the accessors until the next
/// state-changing call on the request (`libsession_request_set_now` keeps it).
///
/// # Safety
/// `req` is NULL or live; `kind_out` is NULL or writable.
#[must_use]
#[unsafe(no_mangle)]
pub unsafe extern "C" fn libsession_request_poll_action(
    req: *mut libsession_request,
    kind_out: *mut ActionCode,
) -> ResultCode {
    ffi_boundary!(request(req, r) {
        let out = out_ptr(kind_out, "kind_out")?;
        let view = View::of(r.inner.poll_action()?);
        r.view = view;
        let kind = view.kind.map_or(libsession_action::Done as u32, |k| k as u32);
        // SAFETY: `out` is non-NULL and writable (contract).
        unsafe { out.write(kind) };
        Ok(())
    })
}

/// The session ID of the current `LOAD`, `SAVE`, `TOUCH` or `DESTROY` action.
///
/// # Parameters
/// `req`; `id_out`: receives the ID, or `{ NULL, 0 }` if the current
/// action has none.
///
/// # Returns
/// `LIBSESSION_RESULT_OK`, `NULL_PARAMETER` or `PANIC`.
///
/// # Memory and lifetimes
/// Valid until the next state-changing call on the request
/// (`libsession_request_set_now` keeps it).
///
/// # Safety
/// `req` is NULL or live; `id_out` is NULL or writable.
#[must_use]
#[unsafe(no_mangle)]
pub unsafe extern "C" fn libsession_request_action_id(
    req: *const libsession_request,
    id_out: *mut libsession_str,
) -> ResultCode {
    // SAFETY: `id_out` is NULL or writable (contract).
    ffi_boundary!(reading(req, r) { unsafe { put(id_out, "id_out", r.view.id) } })
}

/// The record (JSON text) of the current `SAVE` or `TOUCH` action.
///
/// # Parameters
/// `req`; `record_out`: receives the record, or `{ NULL, 0 }` if the current
/// action has none.
///
/// # Returns
/// `LIBSESSION_RESULT_OK`, `NULL_PARAMETER` or `PANIC`.
///
/// # Memory and lifetimes
/// Valid until the next state-changing call on the request
/// (`libsession_request_set_now` keeps it).
///
/// # Safety
/// `req` is NULL or live; `record_out` is NULL or writable.
#[must_use]
#[unsafe(no_mangle)]
pub unsafe extern "C" fn libsession_request_action_record(
    req: *const libsession_request,
    record_out: *mut libsession_str,
) -> ResultCode {
    // SAFETY: `record_out` is NULL or writable (contract).
    ffi_boundary!(reading(req, r) { unsafe { put(record_out, "record_out", r.view.record) } })
}

/// The text of the current action: the `Set-Cookie` header value for
/// `SET_COOKIE`, the message for `FAILED` and `ERROR`, the error message for
/// a `COMPLETED` operation that failed.
///
/// # Parameters
/// `req`; `value_out`: receives the text, or `{ NULL, 0 }` if the current
/// action has none (including a `COMPLETED`
/// operation that succeeded).
///
/// # Returns
/// `LIBSESSION_RESULT_OK`, `NULL_PARAMETER` or `PANIC`.
///
/// # Memory and lifetimes
/// Valid until the next state-changing call on the request
/// (`libsession_request_set_now` keeps it).
///
/// # Safety
/// `req` is NULL or live; `value_out` is NULL or writable.
#[must_use]
#[unsafe(no_mangle)]
pub unsafe extern "C" fn libsession_request_action_value(
    req: *const libsession_request,
    value_out: *mut libsession_str,
) -> ResultCode {
    // SAFETY: `value_out` is NULL or writable (contract).
    ffi_boundary!(reading(req, r) { unsafe { put(value_out, "value_out", r.view.value) } })
}

/// The expiry of the current `SAVE` or `TOUCH` action: the cookie's expiry in
/// Unix milliseconds, for stores with TTLs (`libsession_request_action_ttl_seconds`
/// computes connect-redis's TTL from it).
///
/// # Parameters
/// `req`; `expires_at_out`: receives the expiry (0 when there is none);
/// `has_expiry_out`: receives false for a browser-session cookie (no expiry:
/// a TTL store uses its default TTL).
///
/// # Returns
/// `LIBSESSION_RESULT_OK`; `WRONG_ACTION` (the current action is not `SAVE`
/// or `TOUCH`); `NULL_PARAMETER`; `PANIC`.
///
/// # Safety
/// `req` is NULL or live; the out-pointers are NULL or writable.
#[must_use]
#[unsafe(no_mangle)]
pub unsafe extern "C" fn libsession_request_action_expires_at(
    req: *const libsession_request,
    expires_at_out: *mut i64,
    has_expiry_out: *mut bool,
) -> ResultCode {
    ffi_boundary!(reading(req, r) {
        out_ptr(expires_at_out, "expires_at_out")?;
        out_ptr(has_expiry_out, "has_expiry_out")?;
        let at = r.view.store_write_expiry()?;
        // SAFETY: both checked non-NULL above, writable (contract).
        unsafe {
            put(expires_at_out, "expires_at_out", at.unwrap_or(0))?;
            put(has_expiry_out, "has_expiry_out", at.is_some())
        }
    })
}

/// Whether the current `SAVE` is of a session ID this request generated and
/// never stored: **store the record only if the key is absent**
/// (insert-if-absent, Redis `SET key value NX`), and if a record is already
/// there, keep it and answer `libsession_request_handle_store_result` with
/// `LIBSESSION_STORE_STATUS_EXISTS`: the engine takes another ID and saves
/// again (with another `SET_COOKIE`, which replaces the earlier one), so an
/// ID collision never overwrites another user's session. A store that
/// cannot insert-if-absent may write as for any `SAVE`.
///
/// # Parameters
/// `req`; `is_new_out`: receives the flag (false for any other action).
///
/// # Returns
/// `LIBSESSION_RESULT_OK`, `NULL_PARAMETER` or `PANIC`.
///
/// # Safety
/// `req` is NULL or live; `is_new_out` is NULL or writable.
#[must_use]
#[unsafe(no_mangle)]
pub unsafe extern "C" fn libsession_request_action_is_new(
    req: *const libsession_request,
    is_new_out: *mut bool,
) -> ResultCode {
    // SAFETY: `is_new_out` is NULL or writable (contract).
    ffi_boundary!(reading(req, r) { unsafe { put(is_new_out, "is_new_out", r.view.is_new) } })
}

/// The compare-and-set of the current `SAVE` or `TOUCH` in `versioned`
/// mode: **write only if the record stored under the action's ID carries
/// version `expected`** (the number under the record key
/// `"libsessionVersion"`; a record without it is version 0; no record at
/// all is a conflict), as one atomic step, and answer
/// `libsession_request_handle_store_result` with
/// `LIBSESSION_STORE_STATUS_CONFLICT` (nothing written) when it does not.
/// The action's record carries `written` (`expected + 1` for a save,
/// `expected` for a touch). A new session's save (`is_new`) is
/// insert-if-absent instead. `libsession_request_redis_command` plans this
/// for Redis (an `EVAL` of a Lua script).
///
/// # Parameters
/// `req`; `has_version_out`: receives whether the action is versioned
/// (false for any other action and outside `versioned` mode);
/// `expected_out`, `written_out`: receive the versions (0 when not).
///
/// # Returns
/// `LIBSESSION_RESULT_OK`, `NULL_PARAMETER` or `PANIC`.
///
/// # Safety
/// `req` is NULL or live; the out pointers are NULL or writable.
#[must_use]
#[unsafe(no_mangle)]
pub unsafe extern "C" fn libsession_request_action_version(
    req: *const libsession_request,
    has_version_out: *mut bool,
    expected_out: *mut u64,
    written_out: *mut u64,
) -> ResultCode {
    ffi_boundary!(reading(req, r) {
        out_ptr(has_version_out, "has_version_out")?;
        out_ptr(expected_out, "expected_out")?;
        out_ptr(written_out, "written_out")?;
        let v = r.view.version;
        // SAFETY: the out pointers are NULL or writable (contract).
        unsafe {
            put(expected_out, "expected_out", v.map_or(0, |v| v.expected))?;
            put(written_out, "written_out", v.map_or(0, |v| v.written))?;
            put(has_version_out, "has_version_out", v.is_some())
        }
    })
}

/// The TTL in seconds for the current `SAVE` or `TOUCH` action, by
/// connect-redis's rule (the one `src/host/redis_store.rs` follows), so a C
/// store needs no JSON parser: with an expiry, `ceil((expires_at - now) /
/// 1000)`, `now` being the request's clock (`libsession_request_new`, then
/// `libsession_request_set_now`); without one, `default_ttl_seconds`
/// (connect-redis's `ttl` option; 0 means its default, 86400).
///
/// **A TTL <= 0 means the record has already expired**: for `SAVE`, delete
/// the key instead of writing it (connect-redis sends `DEL`); for `TOUCH`,
/// delete it too (Redis's `EXPIRE` with it does so). Answer
/// `libsession_request_handle_store_result` with `OK` either way.
///
/// # Parameters
/// `req`; `default_ttl_seconds`; `ttl_out`: receives the TTL in seconds.
///
/// # Returns
/// `LIBSESSION_RESULT_OK`; `WRONG_ACTION` (the current action is not `SAVE`
/// or `TOUCH`); `NULL_PARAMETER`; `PANIC`.
///
/// # Safety
/// `req` is NULL or live; `ttl_out` is NULL or writable.
#[must_use]
#[unsafe(no_mangle)]
pub unsafe extern "C" fn libsession_request_action_ttl_seconds(
    req: *const libsession_request,
    default_ttl_seconds: i64,
    ttl_out: *mut i64,
) -> ResultCode {
    ffi_boundary!(reading(req, r) {
        out_ptr(ttl_out, "ttl_out")?;
        let ttl = connect_redis_ttl(r.view.store_write_expiry()?, r.now_ms, default_ttl_seconds);
        // SAFETY: `ttl_out` is NULL or writable (contract).
        unsafe { put(ttl_out, "ttl_out", ttl) }
    })
}

/// Answers a `LOAD` action.
///
/// # Parameters
/// `req`; `status`: the store's answer; `data`, `data_len`: for
/// `FOUND` the record's bytes (JSON text), for `MISSING` and `FAILED` the
/// error message (UTF-8); ignored for `NOT_FOUND` (NULL with length 0 is
/// fine; NULL with a length is `NULL_PARAMETER`, as everywhere).
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
#[must_use]
#[unsafe(no_mangle)]
pub unsafe extern "C" fn libsession_request_handle_load_result(
    req: *mut libsession_request,
    status: LoadStatusCode,
    data: *const u8,
    data_len: usize,
) -> ResultCode {
    ffi_boundary!(request(req, r) {
        // SAFETY: `data` is NULL or `data_len` readable bytes (contract).
        let data = unsafe { bytes_in(data, data_len, "data") }?;
        let result = match libsession_load_status::try_from(status)? {
            libsession_load_status::Found => LoadResult::Found(data),
            libsession_load_status::NotFound => LoadResult::NotFound,
            libsession_load_status::Missing => LoadResult::Missing { message: utf8(data, "data")? },
            libsession_load_status::Failed => LoadResult::Failed { message: utf8(data, "data")? },
        };
        Ok(r.inner.handle_load(result)?)
    })
}

/// Answers a `SAVE`, `TOUCH` or `DESTROY` action.
///
/// # Parameters
/// `req`; `status`: the store's answer; `message`,
/// `message_len`: for `FAILED`, the error message (UTF-8); ignored for `OK`
/// and `EXISTS` (NULL with length 0 is fine; NULL with a length is
/// `NULL_PARAMETER`). `EXISTS` answers only a `SAVE` whose
/// `libsession_request_action_is_new` is true, `CONFLICT` only a versioned
/// `SAVE` (not new) or `TOUCH` (`libsession_request_action_version`)
/// (`UNEXPECTED_INPUT` otherwise).
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
#[must_use]
#[unsafe(no_mangle)]
pub unsafe extern "C" fn libsession_request_handle_store_result(
    req: *mut libsession_request,
    status: StoreStatusCode,
    message: *const u8,
    message_len: usize,
) -> ResultCode {
    ffi_boundary!(request(req, r) {
        // SAFETY: `message` is NULL or `message_len` readable bytes (contract).
        let message = unsafe { bytes_in(message, message_len, "message") }?;
        let result = match libsession_store_status::try_from(status)? {
            libsession_store_status::Ok => StoreResult::Ok,
            libsession_store_status::Failed => StoreResult::Failed { message: utf8(message, "message")? },
            libsession_store_status::Exists => StoreResult::Exists,
            libsession_store_status::Conflict => StoreResult::Conflict,
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
/// Valid until the next state-changing call on the request, together with
/// every other getter result (`libsession_request_set_now` keeps them).
///
/// # Safety
/// `req` is NULL or live; `json_out` is NULL or writable.
#[must_use]
#[unsafe(no_mangle)]
pub unsafe extern "C" fn libsession_request_session_json(
    req: *const libsession_request,
    json_out: *mut libsession_str,
) -> ResultCode {
    ffi_boundary!(reading(req, r) {
        let out = out_ptr(json_out, "json_out")?;
        let record = r.inner.session_record().ok_or(Error::NoSession)?;
        let s = r.keep(record);
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
/// Valid until the next state-changing call on the request, together with
/// every other getter result (`libsession_request_set_now` keeps them).
///
/// # Safety
/// `req` is NULL or live; `json_out` is NULL or writable.
#[must_use]
#[unsafe(no_mangle)]
pub unsafe extern "C" fn libsession_request_data_json(
    req: *const libsession_request,
    json_out: *mut libsession_str,
) -> ResultCode {
    ffi_boundary!(reading(req, r) {
        let out = out_ptr(json_out, "json_out")?;
        let data = r.inner.data_json().ok_or(Error::NoSession)?;
        let mut text = String::new();
        crate::json::write_value(&mut text, &data);
        let s = r.keep(text);
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
/// Valid until the next state-changing call on the request, together with
/// every other getter result (`libsession_request_set_now` keeps them).
///
/// # Safety
/// `req` is NULL or live; `json_out` is NULL or writable.
#[must_use]
#[unsafe(no_mangle)]
pub unsafe extern "C" fn libsession_request_max_age_json(
    req: *const libsession_request,
    json_out: *mut libsession_str,
) -> ResultCode {
    ffi_boundary!(reading(req, r) {
        let out = out_ptr(json_out, "json_out")?;
        let value = r.inner.max_age_json().ok_or(Error::NoSession)?;
        let mut text = String::new();
        crate::json::write_value(&mut text, &value);
        let s = r.keep(text);
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
/// Valid until the next state-changing call on the request, together with
/// every other getter result (`libsession_request_set_now` keeps them).
///
/// # Safety
/// `req` is NULL or live; `key` is NULL or `key_len` readable bytes;
/// `json_out` is NULL or writable.
#[must_use]
#[unsafe(no_mangle)]
pub unsafe extern "C" fn libsession_request_get_json(
    req: *const libsession_request,
    key: *const u8,
    key_len: usize,
    json_out: *mut libsession_str,
) -> ResultCode {
    ffi_boundary!(reading(req, r) {
        let out = out_ptr(json_out, "json_out")?;
        // SAFETY: `key` is NULL or `key_len` readable bytes (contract).
        let key = unsafe { str_in(key, key_len, "key") }?;
        if !r.inner.has_session() {
            return Err(Error::NoSession.into());
        }
        let s = match r.inner.get_json(key) {
            // The record's own text, owned by the request's session.
            Some(std::borrow::Cow::Borrowed(text)) => libsession_str::borrow(text),
            Some(std::borrow::Cow::Owned(text)) => r.keep(text),
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
#[must_use]
#[unsafe(no_mangle)]
pub unsafe extern "C" fn libsession_request_set_json(
    req: *mut libsession_request,
    key: *const u8,
    key_len: usize,
    json: *const u8,
    json_len: usize,
) -> ResultCode {
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
#[must_use]
#[unsafe(no_mangle)]
pub unsafe extern "C" fn libsession_request_delete(
    req: *mut libsession_request,
    key: *const u8,
    key_len: usize,
) -> ResultCode {
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
#[must_use]
#[unsafe(no_mangle)]
pub unsafe extern "C" fn libsession_request_increment(
    req: *mut libsession_request,
    key: *const u8,
    key_len: usize,
    value_out: *mut f64,
) -> ResultCode {
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
#[must_use]
#[unsafe(no_mangle)]
pub unsafe extern "C" fn libsession_request_touch(req: *mut libsession_request) -> ResultCode {
    ffi_boundary!(request(req, r) { Ok(r.inner.touch()?) })
}

/// `req.session.cookie.maxAge = ms` (or `null` for a browser-session cookie).
///
/// # Parameters
/// `req`; `has_max_age`: false for `null`; `max_age_ms`: used when true
/// (milliseconds are `int64_t` throughout the API; a fractional maxAge can
/// still be given as JSON, with `libsession_request_set_cookie_attr` and
/// `ORIGINAL_MAX_AGE` followed by `libsession_request_touch`).
///
/// # Returns
/// As for `libsession_request_touch`.
///
/// # Safety
/// `req` is NULL or live.
#[must_use]
#[unsafe(no_mangle)]
pub unsafe extern "C" fn libsession_request_set_max_age(
    req: *mut libsession_request,
    has_max_age: bool,
    max_age_ms: i64,
) -> ResultCode {
    ffi_boundary!(request(req, r) { Ok(r.inner.set_max_age(has_max_age.then_some(max_age_ms as f64))?) })
}

/// `req.session.cookie.expires = new Date(at_ms)` (or `null`: no expiry).
///
/// # Parameters
/// `req`; `has_expires`: false for `null`; `expires_at_ms`: Unix ms, used
/// when true.
///
/// # Returns
/// As for `libsession_request_touch`.
///
/// # Safety
/// `req` is NULL or live.
#[must_use]
#[unsafe(no_mangle)]
pub unsafe extern "C" fn libsession_request_set_expires(
    req: *mut libsession_request,
    has_expires: bool,
    expires_at_ms: i64,
) -> ResultCode {
    ffi_boundary!(request(req, r) { Ok(r.inner.set_expires(has_expires.then_some(expires_at_ms as f64))?) })
}

/// `req.session.cookie[attr] = JSON.parse(json)`, unvalidated until the
/// header is written (as in express-session).
///
/// # Parameters
/// `req`; `attr`: the attribute; `json`, `json_len`: the
/// value as JSON text.
///
/// # Returns
/// `LIBSESSION_RESULT_OK`; `INVALID_PARAMETER` (unknown `attr`);
/// `INVALID_UTF8`; `INVALID_JSON`; `NO_SESSION`; `NULL_PARAMETER`;
/// `WRONG_PHASE`; `REQUEST_FAILED`; `PANIC`.
///
/// # Safety
/// `req` is NULL or live; `json` is NULL or `json_len` readable bytes.
#[must_use]
#[unsafe(no_mangle)]
pub unsafe extern "C" fn libsession_request_set_cookie_attr(
    req: *mut libsession_request,
    attr: CookieAttrCode,
    json: *const u8,
    json_len: usize,
) -> ResultCode {
    ffi_boundary!(request(req, r) {
        // SAFETY: `json` is NULL or `json_len` readable bytes (contract).
        let value = unsafe { json_in(json, json_len, "json") }?;
        let attr = CookieAttr::from(libsession_cookie_attr::try_from(attr)?);
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
#[must_use]
#[unsafe(no_mangle)]
pub unsafe extern "C" fn libsession_request_set_cookie_attr_by_name(
    req: *mut libsession_request,
    name: *const u8,
    name_len: usize,
    json: *const u8,
    json_len: usize,
) -> ResultCode {
    ffi_boundary!(request(req, r) {
        // SAFETY: `name` is NULL or `name_len` readable bytes (contract).
        let name = unsafe { str_in(name, name_len, "name") }?;
        // NULL checks come before any other validation.
        // SAFETY: `json` is NULL or `json_len` readable bytes (contract).
        unsafe { bytes_in(json, json_len, "json") }?;
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
#[must_use]
#[unsafe(no_mangle)]
pub unsafe extern "C" fn libsession_request_save(req: *mut libsession_request) -> ResultCode {
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
#[must_use]
#[unsafe(no_mangle)]
pub unsafe extern "C" fn libsession_request_reload(req: *mut libsession_request) -> ResultCode {
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
#[must_use]
#[unsafe(no_mangle)]
pub unsafe extern "C" fn libsession_request_destroy(req: *mut libsession_request) -> ResultCode {
    ffi_boundary!(request(req, r) { Ok(r.inner.destroy()?) })
}

/// `req.session.regenerate()`: destroy the stored session, then start a new
/// session with a new ID (even if the destroy failed). Poll: a `DESTROY`
/// action (with `regenerateGrace`, a `SAVE` of the old ID's read-only grace
/// copy instead), then `COMPLETED`. `libsession_request_regenerate_with`
/// keeps the data.
///
/// # Returns
/// As for `libsession_request_save`, plus `IDS_EXHAUSTED` from the answer.
///
/// # Safety
/// `req` is NULL or live.
#[must_use]
#[unsafe(no_mangle)]
pub unsafe extern "C" fn libsession_request_regenerate(req: *mut libsession_request) -> ResultCode {
    ffi_boundary!(request(req, r) { Ok(r.inner.regenerate()?) })
}

/// `regenerate`, keeping the data when `keep_data` (the login pattern: a
/// new ID, the same data). The new session holds exactly the old one's
/// data but for the engine's own keys (its absolute window and last-seen
/// time begin now). With `regenerateGrace` the old ID's record is saved
/// once more as its read-only grace copy instead of destroyed. Poll: a
/// `DESTROY` (or, with `regenerateGrace`, a `SAVE` of the old ID), then
/// `COMPLETED`.
///
/// # Returns
/// As for `libsession_request_regenerate`.
///
/// # Safety
/// `req` is NULL or live.
#[must_use]
#[unsafe(no_mangle)]
pub unsafe extern "C" fn libsession_request_regenerate_with(
    req: *mut libsession_request,
    keep_data: bool,
) -> ResultCode {
    ffi_boundary!(request(req, r) { Ok(r.inner.regenerate_with(keep_data)?) })
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
#[must_use]
#[unsafe(no_mangle)]
pub unsafe extern "C" fn libsession_request_unset(req: *mut libsession_request) -> ResultCode {
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
#[must_use]
#[unsafe(no_mangle)]
pub unsafe extern "C" fn libsession_request_finish(req: *mut libsession_request) -> ResultCode {
    ffi_boundary!(request(req, r) { Ok(r.inner.finish()?) })
}

/// `req.sessionID`: the current session ID. It stays set after `destroy` and
/// `unset`.
///
/// # Parameters
/// `req`; `id_out`: receives the ID, or `{ NULL, 0 }` if the request has none
/// (before the first poll, out of scope, store unavailable).
///
/// # Returns
/// `LIBSESSION_RESULT_OK`, `NULL_PARAMETER` or `PANIC`.
///
/// # Memory and lifetimes
/// Valid until the next state-changing call on the request.
///
/// # Safety
/// `req` is NULL or live; `id_out` is NULL or writable.
#[must_use]
#[unsafe(no_mangle)]
pub unsafe extern "C" fn libsession_request_session_id(
    req: *const libsession_request,
    id_out: *mut libsession_str,
) -> ResultCode {
    ffi_boundary!(reading(req, r) {
        let id = r.inner.session_id().map_or(libsession_str::NONE, libsession_str::borrow);
        // SAFETY: `id_out` is NULL or writable (contract).
        unsafe { put(id_out, "id_out", id) }
    })
}

/// The session ID whose signed cookie the request carried, if the signature
/// verified with one of the secrets.
///
/// # Parameters
/// `req`; `id_out`: receives the ID, or `{ NULL, 0 }` if there is none.
///
/// # Returns
/// As for `libsession_request_session_id`.
///
/// # Safety
/// `req` is NULL or live; `id_out` is NULL or writable.
#[must_use]
#[unsafe(no_mangle)]
pub unsafe extern "C" fn libsession_request_cookie_session_id(
    req: *const libsession_request,
    id_out: *mut libsession_str,
) -> ResultCode {
    ffi_boundary!(reading(req, r) {
        let id = r.inner.cookie_session_id().map_or(libsession_str::NONE, libsession_str::borrow);
        // SAFETY: `id_out` is NULL or writable (contract).
        unsafe { put(id_out, "id_out", id) }
    })
}

/// Whether `req.session` exists.
///
/// # Parameters
/// `req`; `has_session_out`: receives the answer.
///
/// # Returns
/// `LIBSESSION_RESULT_OK`, `NULL_PARAMETER` or `PANIC`.
///
/// # Safety
/// `req` is NULL or live; `has_session_out` is NULL or writable.
#[must_use]
#[unsafe(no_mangle)]
pub unsafe extern "C" fn libsession_request_has_session(
    req: *const libsession_request,
    has_session_out: *mut bool,
) -> ResultCode {
    // SAFETY: `has_session_out` is NULL or writable (contract).
    ffi_boundary!(reading(req, r) { unsafe { put(has_session_out, "has_session_out", r.inner.has_session()) } })
}

/// `req.session.cookie.maxAge`: milliseconds until the cookie expires.
///
/// # Parameters
/// `req`; `max_age_out`: receives the milliseconds (0 when there is no
/// expiry; rounded toward zero); `has_max_age_out`: receives false for a
/// browser-session cookie or an invalid date, true otherwise.
///
/// # Returns
/// `LIBSESSION_RESULT_OK`; `NO_SESSION`; `NULL_PARAMETER`; `PANIC`.
///
/// # Safety
/// `req` is NULL or live; the out-pointers are NULL or writable.
#[must_use]
#[unsafe(no_mangle)]
pub unsafe extern "C" fn libsession_request_max_age(
    req: *const libsession_request,
    max_age_out: *mut i64,
    has_max_age_out: *mut bool,
) -> ResultCode {
    ffi_boundary!(reading(req, r) {
        out_ptr(max_age_out, "max_age_out")?;
        out_ptr(has_max_age_out, "has_max_age_out")?;
        if !r.inner.has_session() {
            return Err(Error::NoSession.into());
        }
        let ms = r.inner.max_age();
        // SAFETY: both checked non-NULL above, writable (contract).
        unsafe {
            put(max_age_out, "max_age_out", ms.map_or(0, |ms| ms as i64))?;
            put(has_max_age_out, "has_max_age_out", ms.is_some())
        }
    })
}

/// Whether the request counts as secure (TLS, or a trusted proxy's
/// `X-Forwarded-Proto: https`). Known after the first poll.
///
/// # Parameters
/// `req`; `is_secure_out`: receives the answer.
///
/// # Returns
/// `LIBSESSION_RESULT_OK`, `NULL_PARAMETER` or `PANIC`.
///
/// # Safety
/// `req` is NULL or live; `is_secure_out` is NULL or writable.
#[must_use]
#[unsafe(no_mangle)]
pub unsafe extern "C" fn libsession_request_is_secure(
    req: *const libsession_request,
    is_secure_out: *mut bool,
) -> ResultCode {
    // SAFETY: `is_secure_out` is NULL or writable (contract).
    ffi_boundary!(reading(req, r) { unsafe { put(is_secure_out, "is_secure_out", r.inner.is_secure()) } })
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
            assert_eq!(libsession_config_builder_add_secret(b, b"0123456789abcdef0123456789abcdef".as_ptr(), 32), 0);
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
        let mut has = false;
        // SAFETY: a live request and valid out-pointers.
        unsafe {
            assert_eq!(libsession_request_poll_action(req, &mut kind), libsession_result::Panic as u32);
            assert_eq!(kind, 0, "out-parameters are not written on failure");
            assert_eq!(libsession_request_has_session(req, &mut has), libsession_result::Panic as u32);
            let mut message = libsession_str::NONE;
            assert_eq!(libsession_request_last_error(req, &mut message), 0);
            assert!(std::str::from_utf8(message.as_bytes().unwrap()).unwrap().ends_with("poisoned: injected"));
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

//! The request's structured events for C hosts
//! (`libsession_request_poll_event`), and the one request fact that goes
//! with them (`libsession_request_set_clear_stale_cookie`).

use super::{ResultCode, out_ptr};
use crate::{Event, StoreOperation};

/// A `libsession_event_kind` crossing the boundary.
pub type EventKindCode = u32;
/// A `libsession_store_operation` crossing the boundary.
pub type StoreOperationCode = u32;

/// What happened (see `libsession_request_poll_event`).
#[repr(u32)]
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum libsession_event_kind {
    /// No event is left.
    None = 0,
    /// The request carried no cookie of the session's name.
    NoCookie = 1,
    /// A cookie of the session's name had no valid signature (forged,
    /// tampered with, or signed by a secret no longer configured).
    SignatureInvalid = 2,
    /// The cookie verified with a secret other than the first (`key_index`).
    VerifiedByOldKey = 3,
    /// The store has no record for the cookie's session.
    RecordNotFound = 4,
    /// The store's record had expired (MemoryStore's rule).
    RecordExpired = 5,
    /// The store's record could not be read as a session.
    RecordCorrupt = 6,
    /// The store failed an operation (`operation`).
    StoreError = 7,
    /// A call out of order failed the request.
    Misuse = 8,
    /// The request's path is one of the `ignore` paths.
    Ignored = 9,
    /// The session's fingerprint did not match the request's facts.
    FingerprintMismatch = 10,
    /// `versioned`: a save or touch found the stored record at another
    /// version (another request saved or destroyed the session meanwhile);
    /// nothing was written. `operation` says which (`SAVE` or `TOUCH`).
    Conflict = 11,
    /// The session began longer ago than `absoluteTimeout`: replaced by a
    /// fresh one (the old record destroyed).
    AbsoluteTimeout = 12,
    /// The session's last request was longer ago than `idleTimeout`:
    /// replaced by a fresh one (the old record destroyed).
    IdleTimeout = 13,
    /// The cookie named an ID a regenerate replaced, within its
    /// `regenerateGrace` window: the session loaded read-only.
    RegenerateGrace = 14,
    /// The cookie named an ID a regenerate replaced, after its grace window:
    /// no session (the old record destroyed).
    RegenerateGraceEnded = 15,
}

/// The store operation of a `STORE_ERROR` event.
#[repr(u32)]
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum libsession_store_operation {
    /// Not a store error.
    None = 0,
    /// The load at the start of the request, or a reload.
    Load = 1,
    /// A save.
    Save = 2,
    /// The end-of-request touch.
    Touch = 3,
    /// A destroy.
    Destroy = 4,
}

/// One event (`libsession_request_poll_event`).
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct libsession_event {
    /// What happened (a `libsession_event_kind`); `NONE` when no event is left.
    pub kind: EventKindCode,
    /// For `VERIFIED_BY_OLD_KEY`: the position of the secret that verified
    /// the cookie (1 or more); otherwise 0.
    pub key_index: u32,
    /// For `STORE_ERROR` and `CONFLICT`: which operation (a
    /// `libsession_store_operation`); otherwise `NONE`.
    pub operation: StoreOperationCode,
}

impl From<Option<Event>> for libsession_event {
    fn from(event: Option<Event>) -> Self {
        let (kind, key_index, operation) = match event {
            None => (libsession_event_kind::None, 0, libsession_store_operation::None),
            Some(Event::NoCookie) => (libsession_event_kind::NoCookie, 0, libsession_store_operation::None),
            Some(Event::SignatureInvalid) => {
                (libsession_event_kind::SignatureInvalid, 0, libsession_store_operation::None)
            }
            Some(Event::VerifiedByOldKey { index }) => (
                libsession_event_kind::VerifiedByOldKey,
                u32::try_from(index).unwrap_or(u32::MAX),
                libsession_store_operation::None,
            ),
            Some(Event::RecordNotFound) => (libsession_event_kind::RecordNotFound, 0, libsession_store_operation::None),
            Some(Event::RecordExpired) => (libsession_event_kind::RecordExpired, 0, libsession_store_operation::None),
            Some(Event::RecordCorrupt) => (libsession_event_kind::RecordCorrupt, 0, libsession_store_operation::None),
            Some(Event::StoreError { operation }) => (libsession_event_kind::StoreError, 0, operation_code(operation)),
            Some(Event::Conflict { operation }) => (libsession_event_kind::Conflict, 0, operation_code(operation)),
            Some(Event::Misuse) => (libsession_event_kind::Misuse, 0, libsession_store_operation::None),
            Some(Event::Ignored) => (libsession_event_kind::Ignored, 0, libsession_store_operation::None),
            Some(Event::FingerprintMismatch) => {
                (libsession_event_kind::FingerprintMismatch, 0, libsession_store_operation::None)
            }
            Some(Event::AbsoluteTimeout) => {
                (libsession_event_kind::AbsoluteTimeout, 0, libsession_store_operation::None)
            }
            Some(Event::IdleTimeout) => (libsession_event_kind::IdleTimeout, 0, libsession_store_operation::None),
            Some(Event::RegenerateGrace) => {
                (libsession_event_kind::RegenerateGrace, 0, libsession_store_operation::None)
            }
            Some(Event::RegenerateGraceEnded) => {
                (libsession_event_kind::RegenerateGraceEnded, 0, libsession_store_operation::None)
            }
        };
        libsession_event { kind: kind as u32, key_index, operation: operation as u32 }
    }
}

fn operation_code(operation: StoreOperation) -> libsession_store_operation {
    match operation {
        StoreOperation::Load => libsession_store_operation::Load,
        StoreOperation::Save => libsession_store_operation::Save,
        StoreOperation::Touch => libsession_store_operation::Touch,
        StoreOperation::Destroy => libsession_store_operation::Destroy,
    }
}

/// Takes the request's oldest event: what happened to its session that a
/// host may count or alert on (a forged cookie, a key rotation under way, a
/// record gone or corrupt, a store failure). Drain them whenever
/// convenient, typically after `DONE`; they never change what the request
/// does. Also works on a failed request (its `MISUSE` event). The current
/// action's strings and earlier getter results stay valid.
///
/// # Parameters
/// `req`; `event_out`: receives the event, with kind
/// `LIBSESSION_EVENT_KIND_NONE` when none is left.
///
/// # Returns
/// `LIBSESSION_RESULT_OK`, `NULL_PARAMETER` or `PANIC`.
///
/// # Safety
/// `req` is NULL or live; `event_out` is NULL or writable.
#[must_use]
#[unsafe(no_mangle)]
pub unsafe extern "C" fn libsession_request_poll_event(
    req: *mut super::libsession_request,
    event_out: *mut libsession_event,
) -> ResultCode {
    // Taking an event changes nothing else: the action's strings and the
    // getters' results stay valid.
    ffi_boundary!(request_keeping_outputs(req, r) {
        let out = out_ptr(event_out, "event_out")?;
        let event = libsession_event::from(r.inner.poll_event());
        // SAFETY: `out` is non-NULL and writable (contract).
        unsafe { out.write(event) };
        Ok(())
    })
}

/// Asks for a removal Set-Cookie (same name, path and domain, expired) when
/// the request's cookie names no live session (forged, stale, or its
/// session gone from the store) and the response sets no new one, so the
/// browser stops sending it. Off by default. Only before the first poll.
///
/// # Returns
/// As for `libsession_request_set_target`.
///
/// # Safety
/// `req` is NULL or live.
#[must_use]
#[unsafe(no_mangle)]
pub unsafe extern "C" fn libsession_request_set_clear_stale_cookie(
    req: *mut super::libsession_request,
    on: bool,
) -> ResultCode {
    ffi_boundary!(request(req, r) { Ok(r.inner.set_clear_stale_cookie(on)?) })
}

/// One request fact for the `fingerprint` option (e.g. the `User-Agent`
/// header's value under `user-agent`; names compare case-insensitively;
/// give a fact several times for several values). Ignored unless the
/// configuration's `fingerprint` names it. Only before the first poll.
///
/// # Parameters
/// `req`; `name`, `name_len`: the fact's name (UTF-8); `value`,
/// `value_len`: its bytes (any).
///
/// # Returns
/// As for `libsession_request_set_target`; `INVALID_UTF8` for the name.
///
/// # Safety
/// `req` is NULL or live; `name` and `value` are NULL or readable for their
/// lengths.
#[must_use]
#[unsafe(no_mangle)]
pub unsafe extern "C" fn libsession_request_add_fingerprint_fact(
    req: *mut super::libsession_request,
    name: *const u8,
    name_len: usize,
    value: *const u8,
    value_len: usize,
) -> ResultCode {
    ffi_boundary!(request(req, r) {
        // SAFETY: `name` is NULL or `name_len` readable bytes (contract).
        let name = unsafe { super::str_in(name, name_len, "name") }?;
        // SAFETY: `value` is NULL or `value_len` readable bytes (contract).
        let value = unsafe { super::bytes_in(value, value_len, "value") }?;
        Ok(r.inner.add_fingerprint_fact(name, value)?)
    })
}

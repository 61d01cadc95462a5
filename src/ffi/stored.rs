//! Engine-made store records for C stores: the same load path as Rust's
//! `LoadResult::Stored`. A store takes the record at a `SAVE` or `TOUCH`
//! (`libsession_request_take_stored_record`), keeps the handle instead of
//! (or beside) the text, and gives it back at the next `LOAD`
//! (`libsession_request_handle_load_stored`): the engine then parses
//! nothing. MemoryStore's touch (put the touched record's cookie into the
//! record held) is `libsession_stored_record_apply_touch`, so a C store needs
//! no JSON parser.

use std::sync::Arc;

use super::{Fail, ResultCode, bytes_in, libsession_result, libsession_str, out_ptr, put, utf8};
use crate::{Action, LoadResult, StoredRecord};

/// A store record as the engine made it: its JSON text, and what the engine
/// already knows of it (the session reading it gives, until a load takes
/// it). Owned by the host; free with `libsession_stored_record_free`. Not
/// thread-safe: one thread at a time (a store guards it with its own lock).
pub struct libsession_stored_record {
    inner: StoredRecord,
}

impl std::fmt::Debug for libsession_stored_record {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.inner.fmt(f)
    }
}

/// Moves `record` into a new handle written to `out`.
///
/// # Safety
/// `out` is writable (checked non-NULL by the caller).
unsafe fn hand_out(out: *mut *mut libsession_stored_record, record: StoredRecord) {
    let handle = Box::into_raw(Box::new(libsession_stored_record { inner: record }));
    // SAFETY: per this function's contract.
    unsafe { out.write(handle) };
}

/// For the current `SAVE` or `TOUCH` action: its record as the engine made
/// it. At the end of the request it carries the session itself, already
/// read (the request has none afterwards: its getters answer
/// `NO_SESSION`); for a handler's save it is the text alone.
///
/// # Parameters
/// `req`; `record_out`: receives a new handle, owned by the caller.
///
/// # Returns
/// `LIBSESSION_RESULT_OK`; `NULL_PARAMETER`; `WRONG_ACTION` (the current
/// action is not `SAVE` or `TOUCH`); `REQUEST_FAILED`; `PANIC`.
///
/// # Memory and lifetimes
/// Free the handle with `libsession_stored_record_free`. The action's own
/// strings (`libsession_request_action_record`, …) stay valid.
///
/// # Safety
/// `req` is NULL or live; `record_out` is NULL or writable.
#[must_use]
#[unsafe(no_mangle)]
pub unsafe extern "C" fn libsession_request_take_stored_record(
    req: *mut super::libsession_request,
    record_out: *mut *mut libsession_stored_record,
) -> ResultCode {
    ffi_boundary!(request_keeping_outputs(req, r) {
        let out = out_ptr(record_out, "record_out")?;
        if !matches!(r.inner.current_action(), Action::Save { .. } | Action::Touch { .. }) {
            return Err(Fail::new(libsession_result::WrongAction, "the current action is not SAVE or TOUCH"));
        }
        let record = r
            .inner
            .take_stored_record()
            .ok_or_else(|| Fail::new(libsession_result::WrongAction, "the current action has no record"))?;
        // SAFETY: `out` is non-NULL and writable (contract).
        unsafe { hand_out(out, record) };
        Ok(())
    })
}

/// Answers a `LOAD` action with a record the store kept. The engine takes
/// the session out of it if the record still holds one (a later load of the
/// same handle reads its text); the host keeps the handle.
///
/// # Parameters
/// `req`; `record`: a handle from `libsession_request_take_stored_record`
/// or `libsession_stored_record_from_text`.
///
/// # Returns
/// As `libsession_request_handle_load_result`: `LIBSESSION_RESULT_OK`;
/// `NULL_PARAMETER`; `UNEXPECTED_INPUT` (no `LOAD` is outstanding: the
/// request is now failed); `REQUEST_FAILED`; `PANIC`. Then poll.
///
/// # Safety
/// `req` is NULL or live; `record` is NULL or a live handle not used by
/// another thread during the call.
#[must_use]
#[unsafe(no_mangle)]
pub unsafe extern "C" fn libsession_request_handle_load_stored(
    req: *mut super::libsession_request,
    record: *mut libsession_stored_record,
) -> ResultCode {
    ffi_boundary!(request(req, r) {
        // SAFETY: NULL or a live handle used by this thread only (contract).
        let record = unsafe { record.as_mut() }.ok_or_else(|| Fail::null("record"))?;
        Ok(r.inner.handle_load(LoadResult::Stored(record.inner.take_for_load()))?)
    })
}

/// A record from its JSON text (one a store read elsewhere, or held as
/// text): loading it reads the text.
///
/// # Parameters
/// `text`, `text_len`: the record (UTF-8; copied); `record_out`: receives a
/// new handle, owned by the caller.
///
/// # Returns
/// `LIBSESSION_RESULT_OK`; `NULL_PARAMETER`; `INVALID_UTF8`; `PANIC`.
///
/// # Safety
/// `text` is NULL or `text_len` readable bytes; `record_out` is NULL or writable.
#[must_use]
#[unsafe(no_mangle)]
pub unsafe extern "C" fn libsession_stored_record_from_text(
    text: *const u8,
    text_len: usize,
    record_out: *mut *mut libsession_stored_record,
) -> ResultCode {
    ffi_boundary!(result {
        let out = out_ptr(record_out, "record_out")?;
        // SAFETY: `text` is NULL or `text_len` readable bytes (contract).
        let text = utf8(unsafe { bytes_in(text, text_len, "text") }?, "text")?;
        // SAFETY: `out` is non-NULL and writable (contract).
        unsafe { hand_out(out, StoredRecord::from_text(Arc::from(text))) };
        Ok(())
    })
}

/// The record's JSON text: what a store writes, and what `GET` returns for
/// stores shared with express-session.
///
/// # Parameters
/// `record`; `text_out`: receives the text.
///
/// # Returns
/// `LIBSESSION_RESULT_OK`; `NULL_PARAMETER`; `PANIC`.
///
/// # Memory and lifetimes
/// Valid until the handle is freed or changed
/// (`libsession_stored_record_apply_touch` on it).
///
/// # Safety
/// `record` is NULL or live; `text_out` is NULL or writable.
#[must_use]
#[unsafe(no_mangle)]
pub unsafe extern "C" fn libsession_stored_record_text(
    record: *const libsession_stored_record,
    text_out: *mut libsession_str,
) -> ResultCode {
    ffi_boundary!(result {
        // Every pointer is checked before any is read.
        out_ptr(text_out, "text_out")?;
        // SAFETY: NULL or a live handle (contract).
        let record = unsafe { record.as_ref() }.ok_or_else(|| Fail::null("record"))?;
        // SAFETY: `text_out` is NULL or writable (contract).
        unsafe { put(text_out, "text_out", libsession_str::borrow(record.inner.text())) }
    })
}

/// express-session MemoryStore's touch: `stored` (the record the store
/// holds) gets the cookie of `touched` (the record of a `TOUCH` action).
/// When the two differ only in their cookie (the usual case), `stored`
/// becomes `touched`'s record, session included (taken from `touched`,
/// which keeps its text). A `stored` that is not a JSON object, or a
/// `touched` without a cookie, leaves `stored` as it is.
///
/// # Parameters
/// `stored`: the held record, changed in place; `touched`: the `TOUCH`
/// action's record (from `libsession_request_take_stored_record`).
///
/// # Returns
/// `LIBSESSION_RESULT_OK`; `NULL_PARAMETER`; `INVALID_PARAMETER` (the same
/// handle twice); `PANIC`.
///
/// # Safety
/// Both are NULL or live handles not used by another thread during the call.
#[must_use]
#[unsafe(no_mangle)]
pub unsafe extern "C" fn libsession_stored_record_apply_touch(
    stored: *mut libsession_stored_record,
    touched: *mut libsession_stored_record,
) -> ResultCode {
    ffi_boundary!(result {
        if stored.is_null() {
            return Err(Fail::null("stored"));
        }
        if touched.is_null() {
            return Err(Fail::null("touched"));
        }
        if std::ptr::eq(stored, touched) {
            return Err(Fail::invalid("`stored` and `touched` are the same record"));
        }
        // SAFETY: non-NULL, distinct, live and used by this thread only (contract).
        let (stored, touched) = unsafe { (&mut *stored, &mut *touched) };
        if let Some(result) = touched.inner.take_for_load().touched(&stored.inner) {
            stored.inner = result;
        }
        Ok(())
    })
}

/// Frees a record handle. NULL is a no-op.
///
/// # Safety
/// `record` is NULL or a live handle from this library, not used afterwards.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn libsession_stored_record_free(record: *mut libsession_stored_record) {
    ffi_boundary!(value(()) {
        if !record.is_null() {
            // SAFETY: a handle from `Box::into_raw`, freed once (contract).
            drop(unsafe { Box::from_raw(record) });
        }
    })
}

//! connect-redis's command plan for C hosts (`libsession_redis_options`,
//! `libsession_request_redis_command`): the key, value and TTL rules of
//! `crate::connect_redis`, so a C (or Python, through ctypes) Redis store
//! sends exactly what connect-redis sends and implements none of the rules.

use super::result::libsession_action;
use super::{Fail, json_in, libsession_result, libsession_str, out_ptr, put};
use crate::connect_redis::{ConnectRedisOptions, RedisCommand};

/// A `libsession_redis_op` crossing the boundary.
pub type RedisOpCode = u32;

/// The Redis command of a `libsession_redis_command`.
#[repr(u32)]
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum libsession_redis_op {
    /// `GET key`. A nil or empty reply: answer `LOAD` with
    /// `LIBSESSION_LOAD_STATUS_NOT_FOUND`; otherwise with `FOUND` and the
    /// reply's bytes (a stored `null` is a fresh session with
    /// `LIBSESSION_STORE_KIND_TTL`).
    Get = 0,
    /// `SET key value EX ttl_seconds`, or `SET key value` when `has_ttl` is
    /// false (connect-redis's `disableTTL`), with `NX` appended when `nx`
    /// is true (a new session's save, insert-if-absent): then a nil reply
    /// means the key exists and was kept: answer
    /// `LIBSESSION_STORE_STATUS_EXISTS` (the engine takes another ID).
    Set = 1,
    /// `EXPIRE key ttl_seconds` (a TTL <= 0 makes Redis delete the key).
    Expire = 2,
    /// `DEL key` (an absent key is fine).
    Del = 3,
    /// Send nothing (a touch under `disableTouch` or `disableTTL`); answer
    /// the action with `LIBSESSION_STORE_STATUS_OK`.
    None = 4,
    /// `versioned`: `EVAL script 1 key expected_version ttl value`, the
    /// compare-and-set of a save (`value` present: `SET`) or touch (`value`
    /// `{ NULL, 0 }`: send no value argument; `EXPIRE`), with `ttl` the
    /// decimal `ttl_seconds` (`0` when `has_ttl` is false: no expiry) and
    /// `expected_version` in decimal. Redis runs it atomically (`EVALSHA`
    /// of the script's SHA-1 works too). The reply is the integer 1 when
    /// written (answer `OK`) or 0 when the stored record is at another
    /// version or absent (answer `LIBSESSION_STORE_STATUS_CONFLICT`).
    Eval = 5,
}

/// connect-redis's options (`prefix`, `ttl`, `disableTouch`, `disableTTL`),
/// made by `libsession_redis_options_new`. Immutable: may be shared between
/// threads.
#[derive(Debug)]
pub struct libsession_redis_options {
    pub(crate) inner: ConnectRedisOptions,
}

/// One Redis command for the current store action
/// (`libsession_request_redis_command`).
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct libsession_redis_command {
    /// The command to send (a `libsession_redis_op`).
    pub op: RedisOpCode,
    /// The key (`prefix + session ID`); `{ NULL, 0 }` for `NONE`.
    pub key: libsession_str,
    /// For `SET`, the value: the record's JSON text; otherwise `{ NULL, 0 }`.
    pub value: libsession_str,
    /// Whether `ttl_seconds` counts: true for `EXPIRE` and for a `SET` with
    /// expiry.
    pub has_ttl: bool,
    /// The TTL in seconds (`EX` for `SET`, the argument of `EXPIRE`); 0 when
    /// `has_ttl` is false.
    pub ttl_seconds: i64,
    /// For `SET`: append `NX` (insert-if-absent; a nil reply is `EXISTS`).
    pub nx: bool,
    /// For `EVAL`: the Lua script (the same text for every command).
    pub script: libsession_str,
    /// For `EVAL`: the version the stored record must carry.
    pub expected_version: u64,
}

/// Reads connect-redis's options from a JSON object (what
/// `new RedisStore(options)` takes, without `client`): `prefix` (a string,
/// default `"sess:"`, may be empty), `ttl` (a number of seconds, default
/// 86400; 0 also means 86400, as connect-redis's `ttl || 86400`; negative:
/// sessions without expiry are deleted), `disableTouch` and `disableTTL`
/// (booleans). `null` means absent; `{}` gives the defaults.
///
/// # Parameters
/// `json`, `json_len`: the options as UTF-8 JSON text (not NUL-terminated).
/// `options_out`: where to store the options.
///
/// # Returns
/// `LIBSESSION_RESULT_OK`; `NULL_PARAMETER`; `INVALID_UTF8`; `INVALID_JSON`;
/// `INVALID_OPTION` (not an object, a wrong type, an unsupported option such
/// as `serializer`, `client`, `scanCount` or a non-numeric `ttl`, or an
/// unknown name). No handle exists yet, so the code is the only report;
/// `libsession_redis_options_check` gives the message.
///
/// # Memory and lifetimes
/// `json` is read during the call only. Free the options with
/// `libsession_redis_options_free`.
///
/// # Safety
/// `json` is NULL or `json_len` readable bytes; `options_out` is NULL or
/// writable.
#[must_use]
#[unsafe(no_mangle)]
pub unsafe extern "C" fn libsession_redis_options_new(
    json: *const u8,
    json_len: usize,
    options_out: *mut *mut libsession_redis_options,
) -> super::ResultCode {
    ffi_boundary!(result {
        let out = out_ptr(options_out, "options_out")?;
        // SAFETY: `json` is NULL or `json_len` readable bytes (contract).
        let inner = unsafe { parse(json, json_len) }?;
        let options = Box::new(libsession_redis_options { inner });
        // SAFETY: `out` is non-NULL and writable (contract).
        unsafe { out.write(Box::into_raw(options)) };
        Ok(())
    })
}

/// # Safety
/// `json` is NULL or `len` readable bytes.
unsafe fn parse(json: *const u8, len: usize) -> Result<ConnectRedisOptions, Fail> {
    // SAFETY: forwarded contract.
    let value = unsafe { json_in(json, len, "json") }?;
    ConnectRedisOptions::from_json(&value).map_err(|e| Fail::new(libsession_result::InvalidOption, e.to_string()))
}

/// Why `libsession_redis_options_new` refuses an options object: the
/// message of its failure, NUL-terminated, written into a caller's buffer.
///
/// # Parameters
/// `json`, `json_len`: the options, as for `libsession_redis_options_new`.
/// `message`, `message_size`: a buffer; the message is cut to
/// `message_size - 1` bytes (at a UTF-8 boundary) and NUL-terminated (an
/// empty string when the options are valid). `message_size` may be 0 only
/// with a NULL `message`.
///
/// # Returns
/// What `libsession_redis_options_new` returns for the same text, or
/// `NULL_PARAMETER` (`message` NULL with a size).
///
/// # Thread safety
/// May be called from any thread at any time.
///
/// # Safety
/// `json` is NULL or `json_len` readable bytes; `message` is NULL or
/// `message_size` writable bytes.
#[must_use]
#[unsafe(no_mangle)]
pub unsafe extern "C" fn libsession_redis_options_check(
    json: *const u8,
    json_len: usize,
    message: *mut u8,
    message_size: usize,
) -> super::ResultCode {
    ffi_boundary!(result {
        if message.is_null() && message_size > 0 {
            return Err(Fail::null("message"));
        }
        // SAFETY: `json` is NULL or `json_len` readable bytes (contract).
        let result = unsafe { parse(json, json_len) };
        if message_size > 0 {
            let text = result.as_ref().err().map_or("", |f| &f.message);
            let mut n = text.len().min(message_size - 1);
            while !text.is_char_boundary(n) {
                n -= 1;
            }
            // SAFETY: `message` is non-NULL with `message_size` > n writable
            // bytes (contract); `text` does not overlap it.
            unsafe {
                std::ptr::copy_nonoverlapping(text.as_ptr(), message, n);
                message.add(n).write(0);
            }
        }
        result.map(|_| ())
    })
}

/// Frees options.
///
/// # Parameters
/// `options`: options from `libsession_redis_options_new`, or NULL (a no-op).
///
/// # Memory and lifetimes
/// `options` and every string borrowed from it must not be used afterwards;
/// freeing twice is undefined behaviour.
///
/// # Safety
/// `options` is NULL or live.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn libsession_redis_options_free(options: *mut libsession_redis_options) {
    ffi_boundary!(value(()) {
        if !options.is_null() {
            // SAFETY: a live handle from `Box::into_raw` (contract); ownership
            // returns to Rust exactly once.
            drop(unsafe { Box::from_raw(options) });
        }
    })
}

/// The key prefix of the options (`prefix`), for helpers that scan keys
/// (`SCAN 0 MATCH <prefix>*`) or build keys for sessions by ID.
///
/// # Parameters
/// `options`; `prefix_out`: receives the prefix (possibly empty, never
/// absent).
///
/// # Returns
/// `LIBSESSION_RESULT_OK`; `NULL_PARAMETER`; `PANIC`.
///
/// # Memory and lifetimes
/// Valid until the options are freed.
///
/// # Safety
/// `options` is NULL or live; `prefix_out` is NULL or writable.
#[must_use]
#[unsafe(no_mangle)]
pub unsafe extern "C" fn libsession_redis_options_prefix(
    options: *const libsession_redis_options,
    prefix_out: *mut libsession_str,
) -> super::ResultCode {
    ffi_boundary!(result {
        // SAFETY: NULL or live options (contract).
        let o = unsafe { options.as_ref() }.ok_or_else(|| Fail::null("options"))?;
        // SAFETY: `prefix_out` is NULL or writable (contract).
        unsafe { put(prefix_out, "prefix_out", libsession_str::borrow(o.inner.key_prefix())) }
    })
}

/// The Redis command for the current `LOAD`, `SAVE`, `TOUCH` or `DESTROY`
/// action, by connect-redis's rules (`docs/redis.md`): `GET` for a load;
/// `SET` with `EX` (none under `disableTTL`) for a save whose TTL is > 0,
/// else `DEL` (a new session's save, `libsession_request_action_is_new`:
/// `SET ... NX`; a versioned save, `libsession_request_action_version`:
/// `EVAL` of the compare-and-set script); `EXPIRE` for a touch (versioned:
/// `EVAL`), or `NONE` under `disableTouch` or `disableTTL`; `DEL` for a
/// destroy. The TTL is `ceil((expires_at - now) /
/// 1000)` for a cookie with an expiry, `now` being the request's clock
/// (`libsession_request_new`, then `libsession_request_set_now`), else the
/// options' `ttl`.
///
/// Send the command, then answer the action: a `LOAD` with the reply (nil
/// or empty: `NOT_FOUND`; a failed command: `FAILED` with its message), the
/// others with `libsession_request_handle_store_result` (`OK`; `EXISTS` for
/// a nil reply to `SET ... NX`; `CONFLICT` for a 0 reply to `EVAL`; or
/// `FAILED` with the message of a failed command: never drop a failure). Set
/// `LIBSESSION_STORE_KIND_TTL` on the request (`libsession_request_set_store_kind`):
/// Redis's TTL is the authority.
///
/// # Parameters
/// `req`; `options`; `command_out`: receives the command.
///
/// # Returns
/// `LIBSESSION_RESULT_OK`; `WRONG_ACTION` (the current action is not a
/// store action); `NULL_PARAMETER`; `PANIC`.
///
/// # Memory and lifetimes
/// The key and value are borrowed from the request: valid until its next
/// state-changing call (`libsession_request_set_now` keeps them), together
/// with every other getter result.
///
/// # Safety
/// `req` and `options` are NULL or live; `command_out` is NULL or writable.
#[must_use]
#[unsafe(no_mangle)]
pub unsafe extern "C" fn libsession_request_redis_command(
    req: *const super::libsession_request,
    options: *const libsession_redis_options,
    command_out: *mut libsession_redis_command,
) -> super::ResultCode {
    ffi_boundary!(reading(req, r) {
        let out = out_ptr(command_out, "command_out")?;
        // SAFETY: NULL or live options (contract).
        let o = unsafe { options.as_ref() }.ok_or_else(|| Fail::null("options"))?;
        let view = &r.view;
        let wrong = || Fail::new(libsession_result::WrongAction, "the current action is not LOAD, SAVE, TOUCH or DESTROY");
        let kind = view.kind.ok_or_else(wrong)?;
        // SAFETY: the action's strings are borrowed from the request and live
        // until its next state-changing call; nothing changes it during this
        // getter.
        let id = unsafe { view.id.as_bytes() }.and_then(|b| std::str::from_utf8(b).ok()).ok_or_else(wrong)?;
        let command = match kind {
            libsession_action::Load => o.inner.load(id),
            libsession_action::Save => {
                // SAFETY: as for `id`.
                let record = unsafe { view.record.as_bytes() }
                    .and_then(|b| std::str::from_utf8(b).ok())
                    .ok_or_else(wrong)?;
                match view.version {
                    _ if view.is_new => o.inner.save_new(id, record, view.expires_at, r.now_ms),
                    Some(v) => o.inner.save_versioned(id, record, view.expires_at, v.expected, r.now_ms),
                    None => o.inner.save(id, record, view.expires_at, r.now_ms),
                }
            }
            libsession_action::Touch => match view.version {
                Some(v) => o.inner.touch_versioned(id, view.expires_at, v.expected, r.now_ms),
                None => o.inner.touch(id, view.expires_at, r.now_ms),
            },
            libsession_action::Destroy => o.inner.destroy(id),
            _ => return Err(wrong()),
        };
        let c = match command {
            RedisCommand::Get { key } => plan(libsession_redis_op::Get, r.keep(key), libsession_str::NONE, None),
            RedisCommand::Set { key, value, ttl } => {
                plan(libsession_redis_op::Set, r.keep(key), libsession_str::borrow(value), ttl)
            }
            RedisCommand::SetNx { key, value, ttl } => libsession_redis_command {
                nx: true,
                ..plan(libsession_redis_op::Set, r.keep(key), libsession_str::borrow(value), ttl)
            },
            RedisCommand::CompareAndSet { key, value, ttl, expected } => libsession_redis_command {
                script: libsession_str::borrow(crate::connect_redis::VERSIONED_SCRIPT),
                expected_version: expected,
                ..plan(libsession_redis_op::Eval, r.keep(key), value.map_or(libsession_str::NONE, libsession_str::borrow), ttl)
            },
            RedisCommand::Expire { key, ttl } => plan(libsession_redis_op::Expire, r.keep(key), libsession_str::NONE, Some(ttl)),
            RedisCommand::Del { key } => plan(libsession_redis_op::Del, r.keep(key), libsession_str::NONE, None),
            RedisCommand::Nothing => plan(libsession_redis_op::None, libsession_str::NONE, libsession_str::NONE, None),
        };
        // SAFETY: `out` is non-NULL and writable (contract).
        unsafe { out.write(c) };
        Ok(())
    })
}

fn plan(
    op: libsession_redis_op,
    key: libsession_str,
    value: libsession_str,
    ttl: Option<i64>,
) -> libsession_redis_command {
    libsession_redis_command {
        op: op as u32,
        key,
        value,
        has_ttl: ttl.is_some(),
        ttl_seconds: ttl.unwrap_or(0),
        nx: false,
        script: libsession_str::NONE,
        expected_version: 0,
    }
}

//! `libsession_config_builder` and `libsession_config`.

use std::sync::Arc;

use super::result::{
    PriorityCode, ResultCode, SameSiteCode, SecureCode, TristateCode, UnsetCode, libsession_priority,
    libsession_same_site, libsession_secure, libsession_tristate, libsession_unset,
};
use super::{Fail, bytes_in, libsession_result, libsession_str, out_ptr, put, str_in};
use crate::{Config, ConfigBuilder, CookieLimits, Priority, RecordLimits, SameSite, Secure, Unset};

/// Collects options for a `libsession_config`.
///
/// Created by `libsession_config_builder_new`, `_new_express` or
/// `_new_from_express_options`; set options with the `_set_*` and
/// `_add_secret` functions; then `libsession_config_builder_build` turns it
/// into a config and frees it (on success and on failure), or
/// `libsession_config_builder_free` discards it.
///
/// Thread safety: not synchronized; use a builder from one thread at a time.
pub struct libsession_config_builder {
    inner: ConfigBuilder,
    /// Secrets given with `_add_secret`, replacing the starting ones once the
    /// first is added.
    secrets: Option<Vec<Vec<u8>>>,
    error: String,
}

impl std::fmt::Debug for libsession_config_builder {
    // Secrets stay out of logs.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("libsession_config_builder").finish_non_exhaustive()
    }
}

impl libsession_config_builder {
    fn boxed(inner: ConfigBuilder) -> *mut libsession_config_builder {
        Box::into_raw(Box::new(libsession_config_builder { inner, secrets: None, error: String::new() }))
    }

    pub(crate) fn record(&mut self, result: Result<(), Fail>) -> ResultCode {
        match result {
            Ok(()) => libsession_result::Ok as u32,
            Err(fail) => {
                self.error.clear();
                self.error.push_str(&fail.message);
                fail.code as u32
            }
        }
    }

    fn update(&mut self, f: impl FnOnce(ConfigBuilder) -> ConfigBuilder) {
        self.inner = f(std::mem::take(&mut self.inner));
    }
}

/// An immutable, validated configuration, shared by every request.
///
/// Handed out as `const libsession_config *` by
/// `libsession_config_builder_build`; reference-counted: each request holds
/// its own reference, so the config may be freed (`libsession_config_free`)
/// while requests made from it are still alive.
///
/// Thread safety: immutable after `_build`; may be used from any number of
/// threads concurrently. The library has no global mutable state and spawns
/// no threads, so a config may be built before `fork()`.
#[derive(Debug)]
pub struct libsession_config {
    _opaque: [u8; 0],
}

/// The `Config` behind a `const libsession_config *` (an `Arc::into_raw`).
pub(crate) fn config_ref<'a>(config: *const libsession_config) -> Option<&'a Config> {
    // SAFETY: the caller passes NULL or a pointer from
    // `libsession_config_builder_build` (an `Arc<Config>` turned into a raw
    // pointer) whose reference it still holds, so the `Config` is alive.
    unsafe { config.cast::<Config>().as_ref() }
}

/// A new strong reference to the config behind `config`.
pub(crate) fn config_arc(config: *const libsession_config) -> Option<Arc<Config>> {
    if config.is_null() {
        return None;
    }
    let raw = config.cast::<Config>();
    // SAFETY: `raw` came from `Arc::into_raw` in `libsession_config_builder_build`
    // and the caller still holds that reference, so the count is at least one;
    // incrementing it first makes the `Arc` built from it an extra reference.
    unsafe {
        Arc::increment_strong_count(raw);
        Some(Arc::from_raw(raw))
    }
}

fn new_builder(inner: ConfigBuilder, builder_out: *mut *mut libsession_config_builder) -> Result<(), Fail> {
    let out = out_ptr(builder_out, "builder_out")?;
    // SAFETY: `out` is non-NULL and, per the contract, writable.
    unsafe { out.write(libsession_config_builder::boxed(inner)) };
    Ok(())
}

/// Starts a config builder with the secure defaults: `resave` and
/// `saveUninitialized` off, `HttpOnly`, `SameSite=Lax`, `Secure` on secure
/// requests (`auto`), no `maxAge` (browser-session cookie), path `/`, cookie
/// name `connect.sid`, no secret yet, strict validation.
///
/// # Parameters
/// `builder_out`: where to store the new builder.
///
/// # Returns
/// `LIBSESSION_RESULT_OK`, or `NULL_PARAMETER` if `builder_out` is NULL.
///
/// # Memory and lifetimes
/// The builder is owned by the caller until `libsession_config_builder_build`
/// or `libsession_config_builder_free`.
///
/// # Safety
/// `builder_out` is NULL or writable.
#[must_use]
#[unsafe(no_mangle)]
pub unsafe extern "C" fn libsession_config_builder_new(builder_out: *mut *mut libsession_config_builder) -> ResultCode {
    ffi_boundary!(result { new_builder(ConfigBuilder::new(), builder_out) })
}

/// Starts a config builder with express-session 1.19.0's own defaults
/// (`resave` and `saveUninitialized` on, cookie `{ path: '/', httpOnly: true,
/// secure: false, maxAge: null }`) in express compatibility mode (cookie
/// attributes are checked when the header is written, as express-session
/// does, not at build time).
///
/// # Parameters
/// `builder_out`: where to store the new builder.
///
/// # Returns
/// `LIBSESSION_RESULT_OK`, or `NULL_PARAMETER` if `builder_out` is NULL.
///
/// # Memory and lifetimes
/// As for `libsession_config_builder_new`.
///
/// # Safety
/// `builder_out` is NULL or writable.
#[must_use]
#[unsafe(no_mangle)]
pub unsafe extern "C" fn libsession_config_builder_new_express(
    builder_out: *mut *mut libsession_config_builder,
) -> ResultCode {
    ffi_boundary!(result { new_builder(ConfigBuilder::express(), builder_out) })
}

/// Starts a config builder from an express-session options object given as
/// JSON (`name`, `secret` (a string or an array for rotation), `resave`,
/// `saveUninitialized`, `rolling`, `unset`, `proxy`, `app_trust_proxy`,
/// `cookie`), so a C host can share one configuration file with a Node app.
/// Absent options take express-session's defaults (see
/// `libsession_config_builder_new_express`); a `null` cookie attribute means
/// absent. The `_set_*` functions may adjust the result.
///
/// # Parameters
/// `json`, `json_len`: the options as UTF-8 JSON text (not NUL-terminated).
/// `builder_out`: where to store the new builder.
///
/// # Returns
/// `LIBSESSION_RESULT_OK`; `NULL_PARAMETER` (`builder_out` NULL, or `json`
/// NULL with a length); `INVALID_UTF8`; `INVALID_JSON`; or the configuration
/// code of a bad option (`INVALID_OPTION`, `NO_SECRET`, `INVALID_UNSET`,
/// `INVALID_MAX_AGE`). No handle exists yet, so the code is the only report.
///
/// # Memory and lifetimes
/// `json` is read during the call only. The builder is owned by the caller
/// as for `libsession_config_builder_new`.
///
/// # Safety
/// `json` is NULL or points at `json_len` readable bytes; `builder_out` is
/// NULL or writable.
#[must_use]
#[unsafe(no_mangle)]
pub unsafe extern "C" fn libsession_config_builder_new_from_express_options(
    json: *const u8,
    json_len: usize,
    builder_out: *mut *mut libsession_config_builder,
) -> ResultCode {
    ffi_boundary!(result {
        out_ptr(builder_out, "builder_out")?;
        // SAFETY: `json` is NULL or `json_len` readable bytes (contract).
        let options = unsafe { super::json_in(json, json_len, "json") }?;
        new_builder(ConfigBuilder::from_express_options(&options)?, builder_out)
    })
}

/// Frees a builder without building it.
///
/// # Parameters
/// `builder`: a builder, or NULL (a no-op).
///
/// # Memory and lifetimes
/// `builder` must not be used afterwards; freeing it twice is undefined
/// behaviour. Do not free a builder passed to `libsession_config_builder_build`.
///
/// # Safety
/// `builder` is NULL or a live builder from `libsession_config_builder_new*`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn libsession_config_builder_free(builder: *mut libsession_config_builder) {
    ffi_boundary!(value(()) {
        if !builder.is_null() {
            // SAFETY: a live builder from `Box::into_raw` (contract); ownership
            // returns to Rust exactly once.
            drop(unsafe { Box::from_raw(builder) });
        }
    })
}

/// Validates the options and makes an immutable config. **The builder is
/// consumed whatever the result**: on success and on failure (and when
/// `config_out` is NULL) it is freed, and must not be used or freed again.
///
/// # Parameters
/// `builder`: the builder (consumed).
/// `config_out`: where to store the config.
///
/// # Returns
/// `LIBSESSION_RESULT_OK`; `NULL_PARAMETER` (`builder` or `config_out` NULL);
/// or a configuration code (`NO_SECRET`, `EMPTY_SECRET`, `TOO_MANY_SECRETS`,
/// `SHORT_SECRET`, `INVALID_NAME`, `INVALID_DOMAIN`, `INVALID_PATH`, `INVALID_SAME_SITE`,
/// `INVALID_PRIORITY`, `INVALID_SECURE`, `INVALID_MAX_AGE`,
/// `SAME_SITE_NONE_WITHOUT_SECURE`, `INVALID_OPTION`). The code is the only
/// report: the builder is gone.
///
/// # Memory and lifetimes
/// The config is released with `libsession_config_free`; requests keep their
/// own reference to it.
///
/// # Safety
/// `builder` is NULL or a live builder; `config_out` is NULL or writable.
#[must_use]
#[unsafe(no_mangle)]
pub unsafe extern "C" fn libsession_config_builder_build(
    builder: *mut libsession_config_builder,
    config_out: *mut *const libsession_config,
) -> ResultCode {
    ffi_boundary!(result {
        if builder.is_null() {
            return Err(Fail::null("builder"));
        }
        // SAFETY: a live builder from `Box::into_raw` (contract); it is
        // consumed here, on every path.
        let b = unsafe { Box::from_raw(builder) };
        let out = out_ptr(config_out, "config_out")?;
        let mut inner = b.inner;
        if let Some(secrets) = b.secrets {
            inner = inner.secrets(secrets);
        }
        let config = Arc::new(inner.build()?);
        // SAFETY: `out` is non-NULL and writable (contract).
        unsafe { out.write(Arc::into_raw(config).cast::<libsession_config>()) };
        Ok(())
    })
}

/// The message of the builder's most recent failed call.
///
/// # Parameters
/// `builder`; `message_out`: receives the UTF-8 message, not NUL-terminated,
/// empty if no call failed.
///
/// # Returns
/// `LIBSESSION_RESULT_OK` or `NULL_PARAMETER`.
///
/// # Memory and lifetimes
/// Valid until the next call on the builder that takes a non-const pointer.
///
/// # Safety
/// `builder` is NULL or live; `message_out` is NULL or writable.
#[must_use]
#[unsafe(no_mangle)]
pub unsafe extern "C" fn libsession_config_builder_last_error(
    builder: *const libsession_config_builder,
    message_out: *mut libsession_str,
) -> ResultCode {
    ffi_boundary!(result {
        // SAFETY: NULL or a live builder (contract).
        let b = unsafe { builder.as_ref() }.ok_or_else(|| Fail::null("builder"))?;
        // SAFETY: `message_out` is NULL or writable (contract).
        unsafe { put(message_out, "message_out", libsession_str::borrow(&b.error)) }
    })
}

/// Sets the session cookie's name (default `connect.sid`).
///
/// # Parameters
/// `builder`; `name`, `name_len`: UTF-8, not NUL-terminated. In strict mode
/// `_build` checks it is an RFC 6265 token.
///
/// # Returns
/// `LIBSESSION_RESULT_OK`, `NULL_PARAMETER` or `INVALID_UTF8`.
///
/// # Safety
/// `builder` is NULL or live; `name` is NULL or `name_len` readable bytes.
#[must_use]
#[unsafe(no_mangle)]
pub unsafe extern "C" fn libsession_config_builder_set_name(
    builder: *mut libsession_config_builder,
    name: *const u8,
    name_len: usize,
) -> ResultCode {
    ffi_boundary!(builder(builder, b) {
        // SAFETY: `name` is NULL or `name_len` readable bytes (contract).
        let name = unsafe { str_in(name, name_len, "name") }?;
        b.update(|c| c.name(name));
        Ok(())
    })
}

/// Adds a signing secret. Call it once per secret, newest first: the first
/// secret added signs new cookies and every one verifies incoming cookies
/// (secret rotation). The first call replaces any secrets the builder started
/// with (from express options); later calls append. Strict mode takes at
/// most 8 (`TOO_MANY_SECRETS`), each at least 32 bytes (`SHORT_SECRET`).
///
/// # Parameters
/// `builder`; `secret`, `secret_len`: the secret's bytes (any bytes: 32
/// random bytes from a CSPRNG are right). An empty secret is rejected by
/// `_build` in every mode (`EMPTY_SECRET`): an empty HMAC key would let
/// anyone sign session cookies.
///
/// # Returns
/// `LIBSESSION_RESULT_OK` or `NULL_PARAMETER`.
///
/// # Memory and lifetimes
/// The bytes are copied.
///
/// # Safety
/// `builder` is NULL or live; `secret` is NULL or `secret_len` readable bytes.
#[must_use]
#[unsafe(no_mangle)]
pub unsafe extern "C" fn libsession_config_builder_add_secret(
    builder: *mut libsession_config_builder,
    secret: *const u8,
    secret_len: usize,
) -> ResultCode {
    ffi_boundary!(builder(builder, b) {
        // SAFETY: `secret` is NULL or `secret_len` readable bytes (contract).
        let secret = unsafe { bytes_in(secret, secret_len, "secret") }?;
        b.secrets.get_or_insert_with(Vec::new).push(secret.to_vec());
        Ok(())
    })
}

/// Sets express-session's `resave`: save the session at the end of every
/// request even if unmodified.
///
/// # Returns
/// `LIBSESSION_RESULT_OK`, `NULL_PARAMETER` or `PANIC`.
///
/// # Safety
/// `builder` is NULL or live.
#[must_use]
#[unsafe(no_mangle)]
pub unsafe extern "C" fn libsession_config_builder_set_resave(
    builder: *mut libsession_config_builder,
    on: bool,
) -> ResultCode {
    ffi_boundary!(builder(builder, b) {
        b.update(|c| c.resave(on));
        Ok(())
    })
}

/// Sets express-session's `saveUninitialized`: store new sessions even if the
/// handler did not modify them.
///
/// # Returns
/// `LIBSESSION_RESULT_OK`, `NULL_PARAMETER` or `PANIC`.
///
/// # Safety
/// `builder` is NULL or live.
#[must_use]
#[unsafe(no_mangle)]
pub unsafe extern "C" fn libsession_config_builder_set_save_uninitialized(
    builder: *mut libsession_config_builder,
    on: bool,
) -> ResultCode {
    ffi_boundary!(builder(builder, b) {
        b.update(|c| c.save_uninitialized(on));
        Ok(())
    })
}

/// Sets express-session's `rolling`: re-send the cookie, with a fresh expiry,
/// on every response.
///
/// # Returns
/// `LIBSESSION_RESULT_OK`, `NULL_PARAMETER` or `PANIC`.
///
/// # Safety
/// `builder` is NULL or live.
#[must_use]
#[unsafe(no_mangle)]
pub unsafe extern "C" fn libsession_config_builder_set_rolling(
    builder: *mut libsession_config_builder,
    on: bool,
) -> ResultCode {
    ffi_boundary!(builder(builder, b) {
        b.update(|c| c.rolling(on));
        Ok(())
    })
}

/// Sets express-session's `unset`: what `libsession_request_unset` does to
/// the stored session.
///
/// # Parameters
/// `builder`; `unset`: the value (validated: `INVALID_PARAMETER` otherwise).
///
/// # Returns
/// `LIBSESSION_RESULT_OK`, `NULL_PARAMETER` or `INVALID_PARAMETER` (not a
/// `libsession_unset` value).
///
/// # Safety
/// `builder` is NULL or live.
#[must_use]
#[unsafe(no_mangle)]
pub unsafe extern "C" fn libsession_config_builder_set_unset(
    builder: *mut libsession_config_builder,
    unset: UnsetCode,
) -> ResultCode {
    ffi_boundary!(builder(builder, b) {
        let unset = match libsession_unset::try_from(unset)? {
            libsession_unset::Keep => Unset::Keep,
            libsession_unset::Destroy => Unset::Destroy,
        };
        b.update(|c| c.unset(unset));
        Ok(())
    })
}

/// Sets express-session's `proxy`: `TRUE` trusts `X-Forwarded-Proto`,
/// `FALSE` ignores it, `UNSET` (the default) defers to
/// `libsession_config_builder_set_trust_proxy`.
///
/// # Parameters
/// `builder`; `proxy`: the value (validated: `INVALID_PARAMETER` otherwise).
///
/// # Returns
/// `LIBSESSION_RESULT_OK`, `NULL_PARAMETER` or `INVALID_PARAMETER`.
///
/// # Safety
/// `builder` is NULL or live.
#[must_use]
#[unsafe(no_mangle)]
pub unsafe extern "C" fn libsession_config_builder_set_proxy(
    builder: *mut libsession_config_builder,
    proxy: TristateCode,
) -> ResultCode {
    ffi_boundary!(builder(builder, b) {
        let proxy = Option::<bool>::from(libsession_tristate::try_from(proxy)?);
        b.update(|c| c.proxy(proxy));
        Ok(())
    })
}

/// Sets the host's answer to "is the peer a trusted proxy?" (Express's
/// `trust proxy`), used when `proxy` is unset.
///
/// # Returns
/// `LIBSESSION_RESULT_OK`, `NULL_PARAMETER` or `PANIC`.
///
/// # Safety
/// `builder` is NULL or live.
#[must_use]
#[unsafe(no_mangle)]
pub unsafe extern "C" fn libsession_config_builder_set_trust_proxy(
    builder: *mut libsession_config_builder,
    trust: bool,
) -> ResultCode {
    ffi_boundary!(builder(builder, b) {
        b.update(|c| c.trust_proxy(trust));
        Ok(())
    })
}

/// Sets `cookie.path` (default `/`); requests outside this path prefix get
/// no session.
///
/// # Parameters
/// `builder`; `path`, `path_len`: UTF-8, not NUL-terminated.
///
/// # Returns
/// `LIBSESSION_RESULT_OK`, `NULL_PARAMETER` or `INVALID_UTF8`.
///
/// # Safety
/// `builder` is NULL or live; `path` is NULL or `path_len` readable bytes.
#[must_use]
#[unsafe(no_mangle)]
pub unsafe extern "C" fn libsession_config_builder_set_cookie_path(
    builder: *mut libsession_config_builder,
    path: *const u8,
    path_len: usize,
) -> ResultCode {
    ffi_boundary!(builder(builder, b) {
        // SAFETY: `path` is NULL or `path_len` readable bytes (contract).
        let path = unsafe { str_in(path, path_len, "path") }?;
        b.update(|c| c.cookie_path(path));
        Ok(())
    })
}

/// Sets or clears `cookie.domain` (default: none).
///
/// # Parameters
/// `builder`; `domain`, `domain_len`: UTF-8, not NUL-terminated; `domain`
/// NULL (with `domain_len` 0) removes the attribute.
///
/// # Returns
/// `LIBSESSION_RESULT_OK`, `NULL_PARAMETER` (`builder` NULL, or `domain` NULL
/// with a length) or `INVALID_UTF8`.
///
/// # Safety
/// `builder` is NULL or live; `domain` is NULL or `domain_len` readable bytes.
#[must_use]
#[unsafe(no_mangle)]
pub unsafe extern "C" fn libsession_config_builder_set_cookie_domain(
    builder: *mut libsession_config_builder,
    domain: *const u8,
    domain_len: usize,
) -> ResultCode {
    ffi_boundary!(builder(builder, b) {
        let domain = if domain.is_null() && domain_len == 0 {
            None
        } else {
            // SAFETY: `domain` is `domain_len` readable bytes (contract).
            Some(unsafe { str_in(domain, domain_len, "domain") }?)
        };
        b.update(|c| c.cookie_domain(domain));
        Ok(())
    })
}

/// Sets `cookie.httpOnly` (default on).
///
/// # Returns
/// `LIBSESSION_RESULT_OK`, `NULL_PARAMETER` or `PANIC`.
///
/// # Safety
/// `builder` is NULL or live.
#[must_use]
#[unsafe(no_mangle)]
pub unsafe extern "C" fn libsession_config_builder_set_http_only(
    builder: *mut libsession_config_builder,
    on: bool,
) -> ResultCode {
    ffi_boundary!(builder(builder, b) {
        b.update(|c| c.http_only(on));
        Ok(())
    })
}

/// Sets `cookie.secure` (default `AUTO`).
///
/// # Parameters
/// `builder`; `secure`: the value (validated: `INVALID_PARAMETER` otherwise).
///
/// # Returns
/// `LIBSESSION_RESULT_OK`, `NULL_PARAMETER` or `INVALID_PARAMETER`.
///
/// # Safety
/// `builder` is NULL or live.
#[must_use]
#[unsafe(no_mangle)]
pub unsafe extern "C" fn libsession_config_builder_set_secure(
    builder: *mut libsession_config_builder,
    secure: SecureCode,
) -> ResultCode {
    ffi_boundary!(builder(builder, b) {
        let secure = match libsession_secure::try_from(secure)? {
            libsession_secure::Never => Secure::Never,
            libsession_secure::Always => Secure::Always,
            libsession_secure::Auto => Secure::Auto,
        };
        b.update(|c| c.secure(secure));
        Ok(())
    })
}

/// Sets `cookie.maxAge`: the cookie's lifetime in milliseconds, or none for a
/// browser-session cookie (the default). Milliseconds are `int64_t`
/// throughout the API; a fractional maxAge (express accepts one) can be given
/// through `libsession_config_builder_new_from_express_options`.
///
/// # Parameters
/// `builder`; `has_max_age`: false for none; `max_age_ms`: used when
/// `has_max_age` is true.
///
/// # Returns
/// `LIBSESSION_RESULT_OK`, `NULL_PARAMETER` or `PANIC`.
///
/// # Safety
/// `builder` is NULL or live.
#[must_use]
#[unsafe(no_mangle)]
pub unsafe extern "C" fn libsession_config_builder_set_max_age(
    builder: *mut libsession_config_builder,
    has_max_age: bool,
    max_age_ms: i64,
) -> ResultCode {
    ffi_boundary!(builder(builder, b) {
        b.update(|c| c.max_age(has_max_age.then_some(max_age_ms as f64)));
        Ok(())
    })
}

/// Sets `cookie.sameSite` (default `LAX`).
///
/// # Parameters
/// `builder`; `same_site`: the value (validated: `INVALID_PARAMETER` otherwise).
///
/// # Returns
/// `LIBSESSION_RESULT_OK`, `NULL_PARAMETER` or `INVALID_PARAMETER`.
///
/// # Safety
/// `builder` is NULL or live.
#[must_use]
#[unsafe(no_mangle)]
pub unsafe extern "C" fn libsession_config_builder_set_same_site(
    builder: *mut libsession_config_builder,
    same_site: SameSiteCode,
) -> ResultCode {
    ffi_boundary!(builder(builder, b) {
        let same_site = match libsession_same_site::try_from(same_site)? {
            libsession_same_site::Off => SameSite::Off,
            libsession_same_site::True => SameSite::True,
            libsession_same_site::Lax => SameSite::Lax,
            libsession_same_site::Strict => SameSite::Strict,
            libsession_same_site::None => SameSite::None,
            libsession_same_site::Auto => SameSite::Auto,
        };
        b.update(|c| c.same_site(same_site));
        Ok(())
    })
}

/// Sets `cookie.partitioned` (default unset: no attribute).
///
/// # Parameters
/// `builder`; `partitioned`: the value (validated: `INVALID_PARAMETER` otherwise).
///
/// # Returns
/// `LIBSESSION_RESULT_OK`, `NULL_PARAMETER` or `INVALID_PARAMETER`.
///
/// # Safety
/// `builder` is NULL or live.
#[must_use]
#[unsafe(no_mangle)]
pub unsafe extern "C" fn libsession_config_builder_set_partitioned(
    builder: *mut libsession_config_builder,
    partitioned: TristateCode,
) -> ResultCode {
    ffi_boundary!(builder(builder, b) {
        let partitioned = Option::<bool>::from(libsession_tristate::try_from(partitioned)?);
        b.update(|c| c.partitioned(partitioned));
        Ok(())
    })
}

/// Sets `cookie.priority` (default `NONE`: no attribute).
///
/// # Parameters
/// `builder`; `priority`: the value (validated: `INVALID_PARAMETER` otherwise).
///
/// # Returns
/// `LIBSESSION_RESULT_OK`, `NULL_PARAMETER` or `INVALID_PARAMETER`.
///
/// # Safety
/// `builder` is NULL or live.
#[must_use]
#[unsafe(no_mangle)]
pub unsafe extern "C" fn libsession_config_builder_set_priority(
    builder: *mut libsession_config_builder,
    priority: PriorityCode,
) -> ResultCode {
    ffi_boundary!(builder(builder, b) {
        let priority = match libsession_priority::try_from(priority)? {
            libsession_priority::None => None,
            libsession_priority::Low => Some(Priority::Low),
            libsession_priority::Medium => Some(Priority::Medium),
            libsession_priority::High => Some(Priority::High),
        };
        b.update(|c| c.priority(priority));
        Ok(())
    })
}

/// Bounds Cookie header parsing (defaults: 32768 bytes, 16384 pairs): a
/// session cookie beyond either bound is not seen.
///
/// # Parameters
/// `builder`; `max_header_bytes`: bytes of the joined Cookie header examined;
/// `max_pairs`: `name=value` pairs examined.
///
/// # Returns
/// `LIBSESSION_RESULT_OK`, `NULL_PARAMETER` or `PANIC`.
///
/// # Safety
/// `builder` is NULL or live.
#[must_use]
#[unsafe(no_mangle)]
pub unsafe extern "C" fn libsession_config_builder_set_cookie_limits(
    builder: *mut libsession_config_builder,
    max_header_bytes: usize,
    max_pairs: usize,
) -> ResultCode {
    ffi_boundary!(builder(builder, b) {
        b.update(|c| c.cookie_limits(CookieLimits { max_header_bytes, max_pairs }));
        Ok(())
    })
}

/// Bounds reading store records (defaults: 1048576 bytes, 16384 keys per
/// object, nesting depth 512; `libsession_default_record_limits`): a loaded
/// record beyond any of them is corrupt (`LIBSESSION_EVENT_KIND_RECORD_CORRUPT`,
/// and the load fails as for any unreadable record, or gives a fresh session
/// under `onLoadError: "fresh"`), and costs no more than reading that many
/// bytes. Raise them for an application that stores large sessions; the
/// parser does not recurse, so a deeper limit costs memory, not stack.
///
/// # Parameters
/// `builder`; `max_bytes`: longest record text, in bytes; `max_keys`: most
/// keys in one object of the record, the top level included; `max_depth`:
/// most levels of nested arrays and objects, the record object itself
/// counting as one (`{"a":[[1]]}` has 3).
///
/// # Returns
/// `LIBSESSION_RESULT_OK`, `NULL_PARAMETER`, `INVALID_PARAMETER` (a limit of
/// 0, which would refuse every record) or `PANIC`.
///
/// # Safety
/// `builder` is NULL or live.
#[must_use]
#[unsafe(no_mangle)]
pub unsafe extern "C" fn libsession_config_builder_set_record_limits(
    builder: *mut libsession_config_builder,
    max_bytes: usize,
    max_keys: usize,
    max_depth: usize,
) -> ResultCode {
    ffi_boundary!(builder(builder, b) {
        if max_bytes == 0 || max_keys == 0 || max_depth == 0 {
            return Err(Fail::invalid("record limits must be at least 1"));
        }
        b.update(|c| c.record_limits(RecordLimits { max_bytes, max_keys, max_depth }));
        Ok(())
    })
}

/// Strict mode: the lengths of the session IDs a cookie may carry (base64url
/// characters only), checked before any store lookup; an ID outside gets a
/// fresh session, as a forged cookie does. The default is 32 to 64
/// characters (express-session's IDs have 32, this library's 43). `min_len`
/// and `max_len` both 0 accept any ID the signature verifies (a host whose
/// own IDs, given with `libsession_request_push_session_id`, look otherwise).
/// Express compatibility mode accepts any ID.
///
/// # Returns
/// `LIBSESSION_RESULT_OK`, `NULL_PARAMETER`, `INVALID_PARAMETER` (`min_len`
/// above `max_len`) or `PANIC`.
///
/// # Safety
/// `builder` is NULL or live.
#[must_use]
#[unsafe(no_mangle)]
pub unsafe extern "C" fn libsession_config_builder_set_session_id_lengths(
    builder: *mut libsession_config_builder,
    min_len: usize,
    max_len: usize,
) -> ResultCode {
    ffi_boundary!(builder(builder, b) {
        if min_len > max_len {
            return Err(Fail::invalid("`min_len` is above `max_len`"));
        }
        let lengths = (max_len > 0).then_some((min_len, max_len));
        b.update(|c| c.session_id_lengths(lengths));
        Ok(())
    })
}

/// Turns express compatibility mode on or off: when on, `_build` accepts
/// what express-session accepts (no secret at all, short secrets and any
/// number of them, unserializable cookie
/// attributes) and problems are reported where express-session reports them,
/// when the `Set-Cookie` header is written.
///
/// # Returns
/// `LIBSESSION_RESULT_OK`, `NULL_PARAMETER` or `PANIC`.
///
/// # Safety
/// `builder` is NULL or live.
#[must_use]
#[unsafe(no_mangle)]
pub unsafe extern "C" fn libsession_config_builder_set_express_compat(
    builder: *mut libsession_config_builder,
    on: bool,
) -> ResultCode {
    ffi_boundary!(builder(builder, b) {
        b.update(|c| c.express_compat(on));
        Ok(())
    })
}

/// Sets `absoluteTimeout`: a session ends this many milliseconds after it
/// began (its creation, or the regenerate that replaced its ID), however
/// active (OWASP ASVS V7.3.2); an ended session is destroyed and replaced
/// by a fresh one (event `ABSOLUTE_TIMEOUT`). The record keeps the start
/// under `libsessionCreatedAt`. 0: off (the default).
///
/// # Returns
/// `LIBSESSION_RESULT_OK`, `NULL_PARAMETER` or `PANIC`.
///
/// # Safety
/// `builder` is NULL or live.
#[must_use]
#[unsafe(no_mangle)]
pub unsafe extern "C" fn libsession_config_builder_set_absolute_timeout(
    builder: *mut libsession_config_builder,
    ms: u64,
) -> ResultCode {
    ffi_boundary!(builder(builder, b) {
        b.update(|c| c.absolute_timeout(Some(ms)));
        Ok(())
    })
}

/// Sets `idleTimeout`: a session ends this many milliseconds after its last
/// request, whatever the cookie's maxAge (OWASP ASVS V7.3.1); an ended
/// session is destroyed and replaced by a fresh one (event `IDLE_TIMEOUT`).
/// The record keeps the last request under `libsessionLastSeenAt`,
/// rewritten only when it is a tenth of the window behind (a session may end
/// up to a tenth early, never late). 0: off (the default).
///
/// # Returns
/// `LIBSESSION_RESULT_OK`, `NULL_PARAMETER` or `PANIC`.
///
/// # Safety
/// `builder` is NULL or live.
#[must_use]
#[unsafe(no_mangle)]
pub unsafe extern "C" fn libsession_config_builder_set_idle_timeout(
    builder: *mut libsession_config_builder,
    ms: u64,
) -> ResultCode {
    ffi_boundary!(builder(builder, b) {
        b.update(|c| c.idle_timeout(Some(ms)));
        Ok(())
    })
}

/// Sets `regenerateGrace`: after a regenerate, the replaced ID still loads
/// for this many milliseconds, read-only (never saved, touched or its
/// cookie re-sent; event `REGENERATE_GRACE`), then not at all (its record's
/// store expiry is the window's end, and it carries `libsessionGraceUntil`).
/// 0: off (the default): regenerate destroys the old record.
///
/// # Returns
/// `LIBSESSION_RESULT_OK`, `NULL_PARAMETER` or `PANIC`.
///
/// # Safety
/// `builder` is NULL or live.
#[must_use]
#[unsafe(no_mangle)]
pub unsafe extern "C" fn libsession_config_builder_set_regenerate_grace(
    builder: *mut libsession_config_builder,
    ms: u64,
) -> ResultCode {
    ffi_boundary!(builder(builder, b) {
        b.update(|c| c.regenerate_grace(Some(ms)));
        Ok(())
    })
}

/// Releases the caller's reference to a config. Requests made from it keep
/// their own references, so this is safe while they are alive.
///
/// # Parameters
/// `config`: a config from `libsession_config_builder_build`, or NULL (a no-op).
///
/// # Memory and lifetimes
/// `config` must not be used afterwards; freeing it twice is undefined behaviour.
///
/// # Safety
/// `config` is NULL or a config whose reference the caller holds.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn libsession_config_free(config: *const libsession_config) {
    ffi_boundary!(value(()) {
        if !config.is_null() {
            // SAFETY: the pointer came from `Arc::into_raw` and the caller
            // gives up its reference here, exactly once.
            drop(unsafe { Arc::from_raw(config.cast::<Config>()) });
        }
    })
}

/// The config behind a `const libsession_config *`, or `NULL_PARAMETER`.
fn config_in<'a>(config: *const libsession_config) -> Result<&'a Config, Fail> {
    config_ref(config).ok_or_else(|| Fail::null("config"))
}

/// The session cookie's name.
///
/// # Parameters
/// `config`; `name_out`: receives the name (not NUL-terminated).
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
pub unsafe extern "C" fn libsession_config_name(
    config: *const libsession_config,
    name_out: *mut libsession_str,
) -> ResultCode {
    ffi_boundary!(result {
        let name = libsession_str::borrow(config_in(config)?.name());
        // SAFETY: `name_out` is NULL or writable (contract).
        unsafe { put(name_out, "name_out", name) }
    })
}

/// The configured `maxAge`.
///
/// # Parameters
/// `config`; `max_age_out`: receives the milliseconds (rounded toward zero;
/// 0 when there is none); `has_max_age_out`: receives false for a
/// browser-session cookie.
///
/// # Returns
/// `LIBSESSION_RESULT_OK`, `NULL_PARAMETER` or `PANIC`.
///
/// # Safety
/// `config` is NULL or held; the out-pointers are NULL or writable.
#[must_use]
#[unsafe(no_mangle)]
pub unsafe extern "C" fn libsession_config_max_age(
    config: *const libsession_config,
    max_age_out: *mut i64,
    has_max_age_out: *mut bool,
) -> ResultCode {
    ffi_boundary!(result {
        let ms = config_in(config)?.max_age();
        out_ptr(max_age_out, "max_age_out")?;
        out_ptr(has_max_age_out, "has_max_age_out")?;
        // SAFETY: both checked non-NULL above, writable (contract).
        unsafe {
            put(max_age_out, "max_age_out", ms.map_or(0, |ms| ms as i64))?;
            put(has_max_age_out, "has_max_age_out", ms.is_some())
        }
    })
}

/// The configured `unset` behaviour.
///
/// # Parameters
/// `config`; `unset_out`: receives the value.
///
/// # Returns
/// `LIBSESSION_RESULT_OK`, `NULL_PARAMETER` or `PANIC`.
///
/// # Safety
/// `config` is NULL or held; `unset_out` is NULL or writable.
#[must_use]
#[unsafe(no_mangle)]
pub unsafe extern "C" fn libsession_config_unset(
    config: *const libsession_config,
    unset_out: *mut UnsetCode,
) -> ResultCode {
    ffi_boundary!(result {
        let unset = match config_in(config)?.unset() {
            Unset::Destroy => libsession_unset::Destroy,
            Unset::Keep => libsession_unset::Keep,
        };
        // SAFETY: `unset_out` is NULL or writable (contract).
        unsafe { put(unset_out, "unset_out", unset as u32) }
    })
}

/// Whether the config runs in express compatibility mode.
///
/// # Parameters
/// `config`; `express_compat_out`: receives the answer.
///
/// # Returns
/// `LIBSESSION_RESULT_OK`, `NULL_PARAMETER` or `PANIC`.
///
/// # Safety
/// `config` is NULL or held; `express_compat_out` is NULL or writable.
#[must_use]
#[unsafe(no_mangle)]
pub unsafe extern "C" fn libsession_config_express_compat(
    config: *const libsession_config,
    express_compat_out: *mut bool,
) -> ResultCode {
    ffi_boundary!(result {
        let on = config_in(config)?.express_compat();
        // SAFETY: `express_compat_out` is NULL or writable (contract).
        unsafe { put(express_compat_out, "express_compat_out", on) }
    })
}

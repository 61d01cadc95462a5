//! The C ABI as a conformance [`Engine`]: every call goes through the
//! exported `extern "C"` functions of `libsession_engine::ffi` (the functions a C host
//! links against), never through the Rust API. Passing the corpus this way
//! shows the ABI can express every scenario.

use libsession_engine::IdSource;
use libsession_engine::Value;
use libsession_engine::ffi::*;

use crate::runner::{Act, Engine, EngineRequest, Facts, Load, OpErr, SharedIds};

const OK: u32 = libsession_result::Ok as u32;
const NO_SESSION: u32 = libsession_result::NoSession as u32;

/// Fixed entropy: every ID a scenario needs is pushed, so derived IDs would
/// only appear if the scenario ran out (which the runner then reports).
const ENTROPY: [u8; 32] = [0x5e; 32];

fn code_message(rc: u32) -> String {
    // SAFETY: `libsession_result_str` returns a static NUL-terminated string.
    let s = unsafe { std::ffi::CStr::from_ptr(libsession_result_str(rc)) };
    format!("{} ({rc})", s.to_string_lossy())
}

/// An owned config reference (`libsession_config_free` on drop).
pub(crate) struct CConfig(*const libsession_config);

impl Drop for CConfig {
    fn drop(&mut self) {
        // SAFETY: we hold one reference, released once here.
        unsafe { libsession_config_free(self.0) }
    }
}

pub(crate) struct CEngine;

/// The C ABI with the end-of-request records kept as the engine made them
/// (`libsession_request_take_stored_record`) and loaded back with
/// `libsession_request_handle_load_stored` whenever the store gives back
/// exactly that text, as a C store keeping handles does.
#[derive(Default)]
pub(crate) struct CStoredEngine {
    kept: std::sync::Arc<std::sync::Mutex<KeptRecords>>,
}

// Used by tests/conformance_c_abi.rs; the conformance example includes this
// file too but runs the text path only.
#[allow(dead_code)]
impl CStoredEngine {
    /// How many loads took a kept record.
    pub(crate) fn hits(&self) -> usize {
        self.kept.lock().map_or(0, |k| k.hits)
    }
}

/// Record handles by their text.
#[derive(Default)]
struct KeptRecords {
    records: std::collections::HashMap<String, StoredHandle>,
    hits: usize,
}

/// An owned `libsession_stored_record` (freed on drop).
struct StoredHandle(*mut libsession_stored_record);

// SAFETY: a stored record is used by one thread at a time (the runner's
// mutex guards the map that owns it).
unsafe impl Send for StoredHandle {}

impl Drop for StoredHandle {
    fn drop(&mut self) {
        // SAFETY: a handle from the library, freed once.
        unsafe { libsession_stored_record_free(self.0) }
    }
}

impl Engine for CStoredEngine {
    type Config = CConfig;

    fn config(&self, options: &Value) -> Result<CConfig, String> {
        CEngine.config(options)
    }

    fn request(&self, config: &CConfig, f: &Facts, ids: SharedIds) -> Result<Box<dyn EngineRequest>, String> {
        let mut req = CEngine.request_c(config, f, ids)?;
        req.kept = Some(self.kept.clone());
        Ok(Box::new(req))
    }
}

impl Engine for CEngine {
    type Config = CConfig;

    fn config(&self, options: &Value) -> Result<CConfig, String> {
        let text = options.to_json();
        let mut builder = std::ptr::null_mut();
        // SAFETY: `text` outlives the call; `builder` is a valid out-pointer.
        let rc = unsafe { libsession_config_builder_new_from_express_options(text.as_ptr(), text.len(), &mut builder) };
        if rc != OK {
            return Err(code_message(rc));
        }
        let mut config = std::ptr::null();
        // SAFETY: a live builder (consumed here) and a valid out-pointer.
        let rc = unsafe { libsession_config_builder_build(builder, &mut config) };
        if rc != OK {
            return Err(code_message(rc));
        }
        Ok(CConfig(config))
    }

    fn request(&self, config: &CConfig, f: &Facts, ids: SharedIds) -> Result<Box<dyn EngineRequest>, String> {
        Ok(Box::new(self.request_c(config, f, ids)?))
    }
}

impl CEngine {
    fn request_c(&self, config: &CConfig, f: &Facts, ids: SharedIds) -> Result<CReq, String> {
        let mut raw = std::ptr::null_mut();
        // SAFETY: a held config, 32 readable bytes, a valid out-pointer.
        let rc = unsafe { libsession_request_new(config.0, f.now as i64, ENTROPY.as_ptr(), ENTROPY.len(), &mut raw) };
        if rc != OK {
            return Err(code_message(rc));
        }
        let mut req = CReq { raw, ids, consumed: 0, kept: None };
        // The scenario's IDs are shared by all its steps: queue every ID not
        // yet used; after each call, the ones this request took are removed
        // from the shared list (see `sync_ids`).
        let pending: Vec<String> = req.ids.0.lock().unwrap().0.iter().cloned().collect();
        for id in &pending {
            // SAFETY: a live request; `id` outlives the call.
            req.check(unsafe { libsession_request_push_session_id(req.raw, id.as_ptr(), id.len()) })?;
        }
        // SAFETY (all four): a live request; the byte slices outlive the calls.
        req.check(unsafe { libsession_request_set_target(req.raw, f.target.as_ptr(), f.target.len()) })?;
        for c in &f.cookie_headers {
            req.check(unsafe { libsession_request_add_cookie_header(req.raw, c.as_ptr(), c.len()) })?;
        }
        for p in &f.forwarded_proto {
            req.check(unsafe { libsession_request_add_forwarded_proto(req.raw, p.as_ptr(), p.len()) })?;
        }
        req.check(unsafe { libsession_request_set_tls(req.raw, f.tls) })?;
        req.check(unsafe { libsession_request_set_store_unavailable(req.raw, f.store_unavailable) })?;
        Ok(req)
    }
}

struct CReq {
    raw: *mut libsession_request,
    ids: SharedIds,
    /// IDs of the shared list this request has used up.
    consumed: u64,
    /// Where records are kept as handles (the stored-record path), if so.
    kept: Option<std::sync::Arc<std::sync::Mutex<KeptRecords>>>,
}

impl Drop for CReq {
    fn drop(&mut self) {
        // SAFETY: the request is live and freed once.
        unsafe { libsession_request_free(self.raw) }
    }
}

/// Milliseconds as the C ABI takes them (`int64_t`); the vectors only use
/// whole numbers there.
fn whole_ms(ms: f64) -> i64 {
    assert!(ms.fract() == 0.0, "the C ABI takes whole milliseconds, the vector has {ms}");
    ms as i64
}

/// Copies a borrowed string (valid until the next mutating call).
fn owned(s: libsession_str) -> Option<String> {
    // SAFETY: `s` was just returned by the library and no call has happened since.
    unsafe { s.as_bytes() }.map(|b| String::from_utf8(b.to_vec()).expect("library strings are UTF-8"))
}

impl CReq {
    fn last_error(&self) -> String {
        let mut message = libsession_str::NONE;
        // SAFETY: a live request and a valid out-pointer.
        let rc = unsafe { libsession_request_last_error(self.raw, &mut message) };
        assert_eq!(rc, OK, "last_error: {}", code_message(rc));
        owned(message).unwrap_or_default()
    }

    /// Removes from the shared ID list the IDs this request has taken, as
    /// the Rust engine's requests take them from the list directly.
    fn sync_ids(&mut self) {
        // SAFETY: a live request.
        let mut generated = 0;
        // SAFETY: a live request and a valid out-pointer.
        let rc = unsafe { libsession_request_generated_id_count(self.raw, &mut generated) };
        assert_eq!(rc, OK, "generated_id_count: {}", code_message(rc));
        let mut ids = self.ids.clone();
        while self.consumed < generated {
            ids.next_id();
            self.consumed += 1;
        }
    }

    fn check(&mut self, rc: u32) -> Result<(), String> {
        self.sync_ids();
        if rc == OK { Ok(()) } else { Err(format!("{}: {}", code_message(rc), self.last_error())) }
    }

    fn op(&mut self, rc: u32) -> Result<(), OpErr> {
        self.sync_ids();
        match rc {
            OK => Ok(()),
            NO_SESSION => Err(OpErr::NoSession),
            _ => Err(OpErr::Other(self.last_error())),
        }
    }
}

impl EngineRequest for CReq {
    fn poll(&mut self) -> Result<Act, String> {
        let mut kind = 0u32;
        // SAFETY: a live request and a valid out-pointer.
        let rc = unsafe { libsession_request_poll_action(self.raw, &mut kind) };
        self.check(rc)?;
        // SAFETY (accessors): a live request; the strings are copied before
        // the next mutating call.
        let text = |f: unsafe extern "C" fn(*const libsession_request, *mut libsession_str) -> u32| {
            let mut s = libsession_str::NONE;
            // SAFETY: a live request and a valid out-pointer.
            let rc = unsafe { f(self.raw, &mut s) };
            assert_eq!(rc, OK, "action accessor: {}", code_message(rc));
            owned(s)
        };
        let id = || text(libsession_request_action_id).expect("an action id");
        let record = || text(libsession_request_action_record).expect("an action record");
        let value = || text(libsession_request_action_value);
        let expires_at = || {
            let (mut at, mut has) = (0i64, false);
            // SAFETY: a live request and valid out-pointers.
            let rc = unsafe { libsession_request_action_expires_at(self.raw, &mut at, &mut has) };
            assert_eq!(rc, OK, "action_expires_at: {}", code_message(rc));
            has.then_some(at)
        };
        const LOAD: u32 = libsession_action::Load as u32;
        const SAVE: u32 = libsession_action::Save as u32;
        const TOUCH: u32 = libsession_action::Touch as u32;
        const DESTROY: u32 = libsession_action::Destroy as u32;
        const SET_COOKIE: u32 = libsession_action::SetCookie as u32;
        const WAIT: u32 = libsession_action::Wait as u32;
        const READY: u32 = libsession_action::Ready as u32;
        const FAILED: u32 = libsession_action::Failed as u32;
        const COMPLETED: u32 = libsession_action::Completed as u32;
        const ERROR: u32 = libsession_action::Error as u32;
        const DONE: u32 = libsession_action::Done as u32;
        let act = match kind {
            LOAD => Act::Load(id()),
            SAVE => Act::Save { id: id(), record: record(), expires_at: expires_at() },
            TOUCH => Act::Touch { id: id(), record: record(), expires_at: expires_at() },
            DESTROY => Act::Destroy(id()),
            SET_COOKIE => Act::SetCookie(value().expect("a cookie value")),
            WAIT => Act::Wait,
            READY => Act::Ready,
            FAILED => Act::Failed(value().expect("a message")),
            COMPLETED => Act::Completed(value()),
            ERROR => Act::Error(value().expect("a message")),
            DONE => Act::Done,
            other => return Err(format!("unknown action kind {other}")),
        };
        if let (Some(kept), Act::Save { record, .. } | Act::Touch { record, .. }) = (&self.kept, &act) {
            let mut handle = std::ptr::null_mut();
            // SAFETY: a live request and a valid out-pointer; the action's
            // strings were copied above.
            let rc = unsafe { libsession_request_take_stored_record(self.raw, &mut handle) };
            assert_eq!(rc, OK, "take_stored_record: {}", code_message(rc));
            let handle = StoredHandle(handle);
            let mut text = libsession_str::NONE;
            // SAFETY: a live handle and a valid out-pointer.
            assert_eq!(unsafe { libsession_stored_record_text(handle.0, &mut text) }, OK);
            assert_eq!(owned(text).as_deref(), Some(record.as_str()), "the handle holds the action's record");
            kept.lock().map_err(|e| e.to_string())?.records.insert(record.clone(), handle);
        }
        Ok(act)
    }

    fn handle_load(&mut self, r: Load) -> Result<(), String> {
        if let (Some(kept), Load::Found(t)) = (&self.kept, &r) {
            let handle = {
                let mut kept = kept.lock().map_err(|e| e.to_string())?;
                let handle = kept.records.remove(t.as_str());
                kept.hits += usize::from(handle.is_some());
                handle
            };
            if let Some(handle) = handle {
                // SAFETY: a live request and a live handle (freed after the call).
                let rc = unsafe { libsession_request_handle_load_stored(self.raw, handle.0) };
                return self.check(rc);
            }
        }
        let (status, data) = match &r {
            Load::Found(t) => (libsession_load_status::Found, t.as_str()),
            Load::NotFound => (libsession_load_status::NotFound, ""),
            Load::Missing(m) => (libsession_load_status::Missing, m.as_str()),
            Load::Failed(m) => (libsession_load_status::Failed, m.as_str()),
        };
        // SAFETY: a live request; `data` outlives the call.
        let rc = unsafe { libsession_request_handle_load_result(self.raw, status as u32, data.as_ptr(), data.len()) };
        self.check(rc)
    }

    fn handle_store(&mut self, failed: Option<String>) -> Result<(), String> {
        let (status, message) = match &failed {
            None => (libsession_store_status::Ok, ""),
            Some(m) => (libsession_store_status::Failed, m.as_str()),
        };
        // SAFETY: a live request; `message` outlives the call.
        let rc =
            unsafe { libsession_request_handle_store_result(self.raw, status as u32, message.as_ptr(), message.len()) };
        self.check(rc)
    }

    fn set(&mut self, key: &str, value: &Value) -> Result<(), OpErr> {
        let text = value.to_json();
        // SAFETY: a live request; `key` and `text` outlive the call.
        let rc = unsafe { libsession_request_set_json(self.raw, key.as_ptr(), key.len(), text.as_ptr(), text.len()) };
        self.op(rc)
    }

    fn delete(&mut self, key: &str) -> Result<(), OpErr> {
        // SAFETY: a live request; `key` outlives the call.
        let rc = unsafe { libsession_request_delete(self.raw, key.as_ptr(), key.len()) };
        self.op(rc)
    }

    fn incr(&mut self, key: &str) -> Result<(), OpErr> {
        let mut n = 0.0;
        // SAFETY: a live request; `key` outlives the call; a valid out-pointer.
        let rc = unsafe { libsession_request_increment(self.raw, key.as_ptr(), key.len(), &mut n) };
        self.op(rc)
    }

    fn touch(&mut self) -> Result<(), OpErr> {
        // SAFETY: a live request.
        let rc = unsafe { libsession_request_touch(self.raw) };
        self.op(rc)
    }

    fn set_max_age(&mut self, ms: Option<f64>) -> Result<(), OpErr> {
        // SAFETY: a live request.
        let rc = unsafe { libsession_request_set_max_age(self.raw, ms.is_some(), ms.map_or(0, whole_ms)) };
        self.op(rc)
    }

    fn set_expires(&mut self, at: Option<f64>) -> Result<(), OpErr> {
        // SAFETY: a live request.
        let rc = unsafe { libsession_request_set_expires(self.raw, at.is_some(), at.map_or(0, whole_ms)) };
        self.op(rc)
    }

    fn set_cookie_attr(&mut self, attr: &str, value: &Value) -> Result<(), OpErr> {
        let text = value.to_json();
        // SAFETY: a live request; `attr` and `text` outlive the call.
        let rc = unsafe {
            libsession_request_set_cookie_attr_by_name(self.raw, attr.as_ptr(), attr.len(), text.as_ptr(), text.len())
        };
        self.op(rc)
    }

    fn save(&mut self) -> Result<(), OpErr> {
        // SAFETY: a live request.
        let rc = unsafe { libsession_request_save(self.raw) };
        self.op(rc)
    }

    fn reload(&mut self) -> Result<(), OpErr> {
        // SAFETY: a live request.
        let rc = unsafe { libsession_request_reload(self.raw) };
        self.op(rc)
    }

    fn destroy(&mut self) -> Result<(), OpErr> {
        // SAFETY: a live request.
        let rc = unsafe { libsession_request_destroy(self.raw) };
        self.op(rc)
    }

    fn regenerate(&mut self) -> Result<(), OpErr> {
        // SAFETY: a live request.
        let rc = unsafe { libsession_request_regenerate(self.raw) };
        self.op(rc)
    }

    fn unset(&mut self) -> Result<(), OpErr> {
        // SAFETY: a live request.
        let rc = unsafe { libsession_request_unset(self.raw) };
        self.op(rc)
    }

    fn finish(&mut self) -> Result<(), String> {
        // SAFETY: a live request.
        let rc = unsafe { libsession_request_finish(self.raw) };
        self.check(rc)
    }

    fn session_id(&self) -> Option<String> {
        let mut id = libsession_str::NONE;
        // SAFETY: a live request and a valid out-pointer.
        let rc = unsafe { libsession_request_session_id(self.raw, &mut id) };
        assert_eq!(rc, OK, "session_id: {}", code_message(rc));
        owned(id)
    }

    fn session_json(&self) -> Option<String> {
        let mut json = libsession_str::NONE;
        // SAFETY: a live request and a valid out-pointer (a getter: it
        // changes nothing).
        match unsafe { libsession_request_session_json(self.raw, &mut json) } {
            OK => owned(json),
            NO_SESSION => None,
            rc => panic!("session_json failed: {}", code_message(rc)),
        }
    }

    fn max_age_json(&self) -> Option<Value> {
        let mut json = libsession_str::NONE;
        // SAFETY: a live request and a valid out-pointer; the text is copied
        // before any other call.
        match unsafe { libsession_request_max_age_json(self.raw, &mut json) } {
            OK => owned(json).and_then(|t| Value::from_json(&t).ok()),
            NO_SESSION => None,
            rc => panic!("max_age_json failed: {}", code_message(rc)),
        }
    }
}

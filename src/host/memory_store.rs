//! A reference in-memory store with the semantics of express-session's
//! `MemoryStore` (conformance SPEC §7), plus a bound on entries, an explicit
//! sweep of expired records, and (off by default) Connect's reaping: a
//! store-level `maxAge` and a `reapInterval` ([`MemoryStoreOptions`]).
//! Thread-safe (`&self` methods behind a mutex), so one store can serve every
//! worker thread of a host.
//!
//! Like the engine, it takes `now` as an argument and reads no clock, and it
//! runs no timer: it says when its next reap is due
//! ([`MemoryStore::next_reap_at`]) and the host reaps on its own clock
//! ([`MemoryStore::reap_if_due`], or [`MemoryStore::reap`] from a timer).

use std::collections::HashMap;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use crate::action::{Action, LoadResult, StoreResult, Version};
use crate::json::{self, Value};
use crate::record::{StoredRecord, memory_store_expiry};
use crate::request::Request;

/// Records are kept as the engine made them ([`StoredRecord`]: the text,
/// and the session read from it until a load takes it) with the time at
/// which they count as expired (MemoryStore's `expires <= now` rule),
/// `None` for never. With a store `maxAge` that time is the earlier of the
/// cookie's expiry and the write's time plus `maxAge` plus 1 ms (Connect's
/// `lastAccess < now - maxAge`), so one comparison serves both rules.
#[derive(Clone, Debug)]
struct Entry {
    record: StoredRecord,
    expires_at: Option<i64>,
    /// The record's version (`versioned`), when a versioned save wrote it;
    /// `None`: read from the record's text when a compare-and-set needs it.
    version: Option<u64>,
}

impl Entry {
    fn expired(&self, now: i64) -> bool {
        self.expires_at.is_some_and(|t| t <= now)
    }

    /// The version the record carries ([`VERSION_KEY`](crate::guards::VERSION_KEY)).
    fn version(&self) -> u64 {
        self.version.unwrap_or_else(|| crate::guards::record_version(self.record.text().as_bytes()))
    }
}

/// Why a memory-store write was refused.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum MemoryStoreError {
    /// The store holds `max_entries` live records already.
    Full,
}

impl std::fmt::Display for MemoryStoreError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("memory store is full")
    }
}

impl std::error::Error for MemoryStoreError {}

/// A word-at-a-time multiplicative hash: session IDs reach the store only
/// after the engine verified their signature (or generated them), so keys
/// are not attacker-chosen and a DoS-resistant hash buys nothing here; IDs
/// are long, so eight bytes per step matters.
#[derive(Clone, Copy, Default, Debug)]
struct IdHasher(u64);

impl IdHasher {
    const K: u64 = 0x9e37_79b9_7f4a_7c15;

    fn mix(&mut self, word: u64) {
        self.0 = (self.0.rotate_left(5) ^ word).wrapping_mul(Self::K);
    }
}

impl std::hash::Hasher for IdHasher {
    fn finish(&self) -> u64 {
        // Fold the high bits down: hashbrown takes its bucket from the low
        // bits and its tag from the top ones.
        self.0 ^ (self.0 >> 29)
    }

    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for c in &mut chunks {
            let mut w = [0u8; 8];
            w.copy_from_slice(c);
            self.mix(u64::from_le_bytes(w));
        }
        let rest = chunks.remainder();
        if !rest.is_empty() {
            let mut w = [0u8; 8];
            w[..rest.len()].copy_from_slice(rest);
            self.mix(u64::from_le_bytes(w));
        }
        self.mix(bytes.len() as u64);
    }
}

type Map = HashMap<String, Entry, std::hash::BuildHasherDefault<IdHasher>>;

/// express-session's MemoryStore, bounded, with Connect's reaping when
/// asked for ([`MemoryStoreOptions`]).
#[derive(Debug)]
pub struct MemoryStore {
    entries: Mutex<Map>,
    max_entries: usize,
    reap_interval: Option<u64>,
    max_age: Option<u64>,
    /// When the next reap is due (Unix ms): [`UNSCHEDULED`] until the first
    /// `now` the store sees anchors the schedule. Atomic, so that a request
    /// checks it without taking the lock.
    next_reap: AtomicI64,
}

/// `next_reap` before the first `now`.
const UNSCHEDULED: i64 = i64::MIN;

impl Default for MemoryStore {
    fn default() -> Self {
        MemoryStore::new()
    }
}

/// Default bound on records.
pub const DEFAULT_MAX_ENTRIES: usize = 100_000;

/// How a [`MemoryStore`] is set up. The default is express-session's
/// MemoryStore (bounded to [`DEFAULT_MAX_ENTRIES`]): no store `maxAge`, no
/// scheduled reaps. Connect's MemoryStore (connect 1.x/2.x) reaped every
/// `reapInterval` ms (default 10 minutes) the sessions whose last access was
/// more than `maxAge` ms ago (default 4 hours); here both are off unless
/// given, so that a store set up with defaults behaves as express-session's.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MemoryStoreOptions {
    /// Most records (see [`MemoryStore::with_max_entries`]).
    pub max_entries: usize,
    /// `reapInterval` (ms): how often a reap is due ([`MemoryStore::next_reap_at`]).
    /// `None`: never scheduled (expired records then go when looked up, when
    /// the store is full, or on an explicit [`MemoryStore::reap`]).
    pub reap_interval: Option<u64>,
    /// `maxAge` (ms): a record not written or touched for longer than this
    /// is expired, whatever its cookie says (Connect's `lastAccess` rule). It
    /// holds at every lookup, not only at reaps, so what a request sees does
    /// not depend on the reap schedule. `None`: only the cookie's expiry counts.
    pub max_age: Option<u64>,
}

impl Default for MemoryStoreOptions {
    fn default() -> Self {
        MemoryStoreOptions { max_entries: DEFAULT_MAX_ENTRIES, reap_interval: None, max_age: None }
    }
}

/// Why a `"store"` options object was refused ([`MemoryStoreOptions::from_json`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum MemoryStoreOptionsError {
    /// The options are not a JSON object.
    NotAnObject,
    /// A name this store does not know.
    Unknown {
        /// The name.
        option: String,
    },
    /// A value of the wrong type or range.
    Invalid {
        /// The option's name.
        option: &'static str,
        /// What it must be.
        expected: &'static str,
    },
}

impl std::fmt::Display for MemoryStoreOptionsError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            MemoryStoreOptionsError::NotAnObject => f.write_str("the memory store's options must be a JSON object"),
            MemoryStoreOptionsError::Unknown { option } => {
                write!(f, "unknown store option {option:?} (a memory store reads reapInterval and maxAge)")
            }
            MemoryStoreOptionsError::Invalid { option, expected } => write!(f, "{option} must be {expected}"),
        }
    }
}

impl std::error::Error for MemoryStoreOptionsError {}

/// Largest millisecond count the options take (2^53, JavaScript's exact integers).
const MAX_MS: f64 = 9_007_199_254_740_992.0;

impl MemoryStoreOptions {
    /// Reads Connect's MemoryStore options from a JSON object (the
    /// `"store"` member of the demos' `--options` file): `reapInterval` and
    /// `maxAge`, whole milliseconds from 1 to 2^53. `null` means absent
    /// (off); `reapInterval: -1` is off too (Connect's way to turn reaping
    /// off). The connect-redis options this library reads (`prefix`, `ttl`,
    /// `disableTouch`, `disableTTL`) are ignored, so that
    /// one `"store"` object can serve a host whichever store it runs; other
    /// names are [`MemoryStoreOptionsError::Unknown`].
    pub fn from_json(options: &Value) -> Result<Self, MemoryStoreOptionsError> {
        let Value::Object(map) = options else {
            return Err(MemoryStoreOptionsError::NotAnObject);
        };
        let mut out = MemoryStoreOptions::default();
        for (name, value) in map.iter() {
            match name {
                "reapInterval" => {
                    out.reap_interval = match value {
                        Value::Number(n) if *n == -1.0 => None,
                        v => ms_option("reapInterval", v)?,
                    }
                }
                "maxAge" => out.max_age = ms_option("maxAge", value)?,
                "prefix" | "ttl" | "disableTouch" | "disableTTL" => {}
                other => return Err(MemoryStoreOptionsError::Unknown { option: other.to_string() }),
            }
        }
        Ok(out)
    }
}

fn ms_option(option: &'static str, value: &Value) -> Result<Option<u64>, MemoryStoreOptionsError> {
    match value {
        Value::Null => Ok(None),
        Value::Number(n) if n.fract() == 0.0 && (1.0..=MAX_MS).contains(n) => Ok(Some(*n as u64)),
        _ => Err(MemoryStoreOptionsError::Invalid {
            option,
            expected: "a whole number of milliseconds from 1 to 2^53, or null",
        }),
    }
}

impl MemoryStore {
    /// An empty store bounded to [`DEFAULT_MAX_ENTRIES`] records.
    pub fn new() -> Self {
        MemoryStore::with_max_entries(DEFAULT_MAX_ENTRIES)
    }

    /// A store that refuses to create more than `max_entries` records (after
    /// sweeping expired ones): writes beyond it fail with
    /// [`MemoryStoreError::Full`], which a host reports to the engine as a
    /// store failure.
    pub fn with_max_entries(max_entries: usize) -> Self {
        MemoryStore::with_options(MemoryStoreOptions { max_entries, ..MemoryStoreOptions::default() })
    }

    /// A store set up with `options` (Connect's `reapInterval` and `maxAge`).
    pub fn with_options(options: MemoryStoreOptions) -> Self {
        MemoryStore {
            entries: Mutex::new(Map::default()),
            max_entries: options.max_entries,
            reap_interval: options.reap_interval,
            max_age: options.max_age,
            next_reap: AtomicI64::new(UNSCHEDULED),
        }
    }

    /// The options the store was set up with.
    pub fn options(&self) -> MemoryStoreOptions {
        MemoryStoreOptions { max_entries: self.max_entries, reap_interval: self.reap_interval, max_age: self.max_age }
    }

    /// When the next reap is due (Unix ms), or `None` without a
    /// `reapInterval`. The first call (or the first [`reap_if_due`](Self::reap_if_due))
    /// starts the schedule: the first reap is due `reapInterval` after that
    /// `now`, each later one `reapInterval` after the previous reap.
    pub fn next_reap_at(&self, now: i64) -> Option<i64> {
        let interval = self.reap_interval?;
        let due = self.next_reap.load(Ordering::Relaxed);
        if due != UNSCHEDULED {
            return Some(due);
        }
        let first = now.saturating_add(ms_i64(interval));
        // Another thread may have anchored it meanwhile: its value stands.
        match self.next_reap.compare_exchange(UNSCHEDULED, first, Ordering::Relaxed, Ordering::Relaxed) {
            Ok(_) => Some(first),
            Err(current) => Some(current),
        }
    }

    /// A reap if one is due at `now` ([`next_reap_at`](Self::next_reap_at)
    /// passed); returns how many records it removed. Cheap when none is due
    /// (one atomic load, no lock), so a host calls it on every request.
    /// Concurrent callers: one of them reaps.
    pub fn reap_if_due(&self, now: i64) -> usize {
        let Some(due) = self.next_reap_at(now) else { return 0 };
        if now < due {
            return 0;
        }
        let next = now.saturating_add(self.reap_interval.map_or(0, ms_i64));
        if self.next_reap.compare_exchange(due, next, Ordering::Relaxed, Ordering::Relaxed).is_err() {
            return 0; // another caller took this reap
        }
        self.remove_expired(now)
    }

    /// Removes every expired record (past its cookie's expiry, or not
    /// written or touched for longer than `maxAge`) and schedules the next
    /// reap `reapInterval` after `now`; returns how many were removed. A
    /// host with a timer calls this at [`next_reap_at`](Self::next_reap_at).
    pub fn reap(&self, now: i64) -> usize {
        if let Some(interval) = self.reap_interval {
            self.next_reap.store(now.saturating_add(ms_i64(interval)), Ordering::Relaxed);
        }
        self.remove_expired(now)
    }

    /// The time at which a record written at `now` with the cookie expiry
    /// `expires_at` counts as expired (see [`Entry`]).
    fn expiry(&self, expires_at: Option<i64>, now: i64) -> Option<i64> {
        let Some(max_age) = self.max_age else { return expires_at };
        let stale_at = now.saturating_add(ms_i64(max_age)).saturating_add(1);
        Some(expires_at.map_or(stale_at, |t| t.min(stale_at)))
    }

    fn lock(&self) -> MutexGuard<'_, Map> {
        // A panic while holding the lock cannot leave an entry half-written
        // (every write is one insert), so a poisoned map is still consistent.
        self.entries.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// `get`: the record text (shared, not copied), or `None` (an expired
    /// record is deleted).
    pub fn get(&self, sid: &str, now: i64) -> Option<Arc<str>> {
        let mut map = self.lock();
        let entry = map.get(sid)?;
        if entry.expired(now) {
            map.remove(sid);
            return None;
        }
        Some(Arc::clone(entry.record.text()))
    }

    /// `set`: store the record text; `expires_at` as in [`Action::Save`].
    pub fn set(&self, sid: &str, record: &str, expires_at: Option<i64>, now: i64) -> Result<(), MemoryStoreError> {
        self.save(sid, StoredRecord::from_text(Arc::from(record)), expires_at, now)
    }

    /// [`set`](Self::set) only if no live record is stored under `sid`
    /// (insert-if-absent, for [`Action::Save`] with `is_new`): `Ok(false)`,
    /// and the stored record kept, when one is. An expired record counts as
    /// absent.
    pub fn insert(&self, sid: &str, record: &str, expires_at: Option<i64>, now: i64) -> Result<bool, MemoryStoreError> {
        {
            let map = self.lock();
            if map.get(sid).is_some_and(|e| !e.expired(now)) {
                return Ok(false);
            }
        }
        self.set(sid, record, expires_at, now).map(|()| true)
    }

    /// [`set`](Self::set) of a record the engine made
    /// ([`Request::take_stored_record`]): kept as it is, so that the next
    /// [`load`](Self::load) reads nothing.
    pub fn save(
        &self,
        sid: &str,
        record: StoredRecord,
        expires_at: Option<i64>,
        now: i64,
    ) -> Result<(), MemoryStoreError> {
        let entry = Entry { record, expires_at: self.expiry(expires_at, now), version: None };
        let mut map = self.lock();
        if let Some(e) = map.get_mut(sid) {
            *e = entry;
            return Ok(());
        }
        if map.len() >= self.max_entries {
            map.retain(|_, e| !e.expired(now));
            if map.len() >= self.max_entries {
                return Err(MemoryStoreError::Full);
            }
        }
        map.insert(sid.to_string(), entry);
        Ok(())
    }

    /// `get` as [`LoadResult::Stored`] takes it: the record, with the
    /// session read from it if the store still holds one (the first load
    /// after a save takes it; a concurrent load reads the text).
    pub fn load(&self, sid: &str, now: i64) -> Option<StoredRecord> {
        let mut map = self.lock();
        let entry = map.get_mut(sid)?;
        if entry.expired(now) {
            map.remove(sid);
            return None;
        }
        Some(entry.record.take_for_load())
    }

    /// `touch`: if a live record exists, replace its `cookie` with the one in
    /// `record` (an expired record is deleted instead).
    pub fn touch(&self, sid: &str, record: &str, expires_at: Option<i64>, now: i64) {
        self.touch_stored(sid, StoredRecord::from_text(Arc::from(record)), expires_at, now)
    }

    /// [`touch`](Self::touch) with a record the engine made
    /// ([`Request::take_stored_record`]): when the stored record differs
    /// from it only in its cookie (the usual case), the result is that
    /// record, kept with its session.
    pub fn touch_stored(&self, sid: &str, record: StoredRecord, expires_at: Option<i64>, now: i64) {
        let mut map = self.lock();
        let Some(entry) = map.get_mut(sid) else { return };
        if entry.expired(now) {
            map.remove(sid);
            return;
        }
        if let Some(touched) = record.touched(&entry.record) {
            entry.record = touched;
            entry.expires_at = self.expiry(expires_at, now);
        }
    }

    /// A versioned save (`versioned`, [`Action::Save`] with a
    /// [`Version`]), as one compare-and-set under the store's lock: the
    /// record is stored only if a live record under `sid` carries
    /// `version.expected`; `Ok(false)` (a conflict, nothing written)
    /// otherwise, an absent or expired record included.
    pub fn save_versioned(
        &self,
        sid: &str,
        record: StoredRecord,
        expires_at: Option<i64>,
        version: Version,
        now: i64,
    ) -> Result<bool, MemoryStoreError> {
        let mut map = self.lock();
        match map.get_mut(sid) {
            Some(e) if !e.expired(now) && e.version() == version.expected => {
                *e = Entry { record, expires_at: self.expiry(expires_at, now), version: Some(version.written) };
                Ok(true)
            }
            _ => Ok(false),
        }
    }

    /// [`save_versioned`](Self::save_versioned) of record text.
    pub fn set_versioned(
        &self,
        sid: &str,
        record: &str,
        expires_at: Option<i64>,
        version: Version,
        now: i64,
    ) -> Result<bool, MemoryStoreError> {
        self.save_versioned(sid, StoredRecord::from_text(Arc::from(record)), expires_at, version, now)
    }

    /// A versioned touch ([`Action::Touch`] with a [`Version`]): as
    /// [`touch_stored`](Self::touch_stored), only if the live record under
    /// `sid` carries `expected`; `false` (nothing touched) otherwise.
    pub fn touch_versioned(
        &self,
        sid: &str,
        record: StoredRecord,
        expires_at: Option<i64>,
        expected: u64,
        now: i64,
    ) -> bool {
        let mut map = self.lock();
        let Some(entry) = map.get_mut(sid) else { return false };
        if entry.expired(now) {
            map.remove(sid);
            return false;
        }
        if entry.version() != expected {
            return false;
        }
        if let Some(touched) = record.touched(&entry.record) {
            entry.record = touched;
            entry.expires_at = self.expiry(expires_at, now);
            entry.version = Some(expected);
        }
        true
    }

    /// `destroy`: delete the record (absent is fine).
    pub fn destroy(&self, sid: &str) {
        self.lock().remove(sid);
    }

    /// Inserts a record given as a JSON value (as `JSON.stringify` would
    /// store it), computing its expiry from the record itself (a store
    /// `maxAge` counts from the record's first write or touch).
    pub fn insert_value(&self, sid: &str, record: &Value) {
        let text = Arc::from(json::to_string(record));
        let expires_at = memory_store_expiry(record);
        self.lock().insert(sid.to_string(), Entry { record: StoredRecord::from_text(text), expires_at, version: None });
    }

    /// Removes every expired record; returns how many were removed. The
    /// reap schedule is left as it is ([`reap`](Self::reap) moves it on).
    pub fn sweep(&self, now: i64) -> usize {
        self.remove_expired(now)
    }

    fn remove_expired(&self, now: i64) -> usize {
        let mut map = self.lock();
        let before = map.len();
        map.retain(|_, e| !e.expired(now));
        before - map.len()
    }

    /// Records held (expired ones included until looked up or swept).
    pub fn len(&self) -> usize {
        self.lock().len()
    }

    /// Whether the store holds no record.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Every record as (sid, JSON text), sorted by sid.
    pub fn snapshot(&self) -> Vec<(String, String)> {
        let mut all: Vec<_> = self.lock().iter().map(|(k, e)| (k.clone(), e.record.text().to_string())).collect();
        all.sort();
        all
    }

    /// [`Request::poll_action`], answering store operations from this store
    /// until the request needs its host for something else; returns that
    /// action. All a host with an in-process store needs in its poll loop.
    pub fn poll<'r>(&self, req: &'r mut Request, now: i64) -> Result<Action<'r>, crate::Error> {
        loop {
            req.poll_action()?;
            let stored = req.take_stored_record();
            let answer = match (req.current_action(), stored) {
                (Action::Load { id }, _) => Answer::Load(self.load(id, now)),
                (Action::Save { id, record, expires_at, is_new: true, .. }, _) => {
                    match self.insert(id, record, expires_at, now) {
                        Ok(true) => Answer::Store(None),
                        Ok(false) => Answer::Exists,
                        Err(e) => Answer::Store(Some(e)),
                    }
                }
                (Action::Save { id, record, expires_at, version: Some(v), .. }, stored) => {
                    let stored = stored.unwrap_or_else(|| StoredRecord::from_text(Arc::from(record)));
                    match self.save_versioned(id, stored, expires_at, v, now) {
                        Ok(true) => Answer::Store(None),
                        Ok(false) => Answer::Conflict,
                        Err(e) => Answer::Store(Some(e)),
                    }
                }
                (Action::Touch { id, record, expires_at, version: Some(v) }, stored) => {
                    let stored = stored.unwrap_or_else(|| StoredRecord::from_text(Arc::from(record)));
                    if self.touch_versioned(id, stored, expires_at, v.expected, now) {
                        Answer::Store(None)
                    } else {
                        Answer::Conflict
                    }
                }
                (Action::Save { id, expires_at, .. }, Some(stored)) => {
                    Answer::Store(self.save(id, stored, expires_at, now).err())
                }
                (Action::Save { id, record, expires_at, .. }, None) => {
                    Answer::Store(self.set(id, record, expires_at, now).err())
                }
                (Action::Touch { id, expires_at, .. }, Some(stored)) => {
                    self.touch_stored(id, stored, expires_at, now);
                    Answer::Store(None)
                }
                (Action::Touch { id, record, expires_at, .. }, None) => {
                    self.touch(id, record, expires_at, now);
                    Answer::Store(None)
                }
                (Action::Destroy { id }, _) => {
                    self.destroy(id);
                    Answer::Store(None)
                }
                _ => break,
            };
            match answer {
                Answer::Load(Some(record)) => req.handle_load(LoadResult::Stored(record))?,
                Answer::Load(None) => req.handle_load(LoadResult::NotFound)?,
                Answer::Store(None) => req.handle_store_result(StoreResult::Ok)?,
                Answer::Store(Some(e)) => req.handle_store_result(StoreResult::Failed { message: &e.to_string() })?,
                Answer::Exists => req.handle_store_result(StoreResult::Exists)?,
                Answer::Conflict => req.handle_store_result(StoreResult::Conflict)?,
            }
        }
        Ok(req.current_action())
    }
}

/// Milliseconds as `i64` (saturating).
fn ms_i64(ms: u64) -> i64 {
    i64::try_from(ms).unwrap_or(i64::MAX)
}

enum Answer {
    Load(Option<StoredRecord>),
    Store(Option<MemoryStoreError>),
    /// A new session's ID is taken.
    Exists,
    /// A versioned write found another version.
    Conflict,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Config, SeededIds, UnixMillis};

    impl MemoryStore {
        fn holds_read_session(&self, sid: &str) -> bool {
            self.lock().get(sid).is_some_and(|e| e.record.is_read())
        }
    }

    /// One request through `poll`: the handler's step, then the Set-Cookie.
    fn request(store: &MemoryStore, cookie: Option<&str>, now: i64, handler: impl FnOnce(&mut Request)) -> String {
        let config = Arc::new(
            Config::builder().secret("0123456789abcdef0123456789abcdef").max_age(Some(60_000.0)).build().unwrap(),
        );
        let mut req = Request::new(config, UnixMillis(now as u64), SeededIds::new(&[7; 32]));
        if let Some(c) = cookie {
            req.add_cookie_header(c.as_bytes()).unwrap();
        }
        assert_eq!(store.poll(&mut req, now).unwrap(), Action::Ready);
        handler(&mut req);
        req.finish().unwrap();
        let mut set_cookie = String::new();
        loop {
            match store.poll(&mut req, now).unwrap() {
                Action::SetCookie { value } => set_cookie = value.split(';').next().unwrap().to_string(),
                Action::Done => return set_cookie,
                other => panic!("{other:?}"),
            }
        }
    }

    #[test]
    fn records_keep_the_session_the_engine_handed_over() {
        let s = MemoryStore::new();
        let cookie = request(&s, None, 1_000, |r| assert_eq!(r.increment("views"), Ok(1.0)));
        let sid = s.snapshot()[0].0.clone();
        // A new session's record is text: its save may have been answered
        // `Exists` (insert-if-absent), so the engine kept the session.
        assert!(!s.holds_read_session(&sid));
        // A returning request reads it, and hands the new one over.
        request(&s, Some(&cookie), 2_000, |r| assert_eq!(r.increment("views"), Ok(2.0)));
        assert!(s.holds_read_session(&sid));
        let saved = s.snapshot()[0].1.clone();
        // A reading request's touch keeps it too.
        request(&s, Some(&cookie), 3_000, |r| assert_eq!(r.get("views"), Some(&Value::Number(2.0))));
        assert!(s.holds_read_session(&sid));
        assert_ne!(s.snapshot()[0].1, saved, "the touch moved expires on");
        // Another writer's record between load and touch: the touch puts the
        // cookie into that record, which is read from its text next time.
        let other = r#"{"cookie":{"originalMaxAge":60000,"expires":"1970-01-01T00:01:04.000Z","httpOnly":true,"path":"/"},"views":40}"#;
        request(&s, Some(&cookie), 4_000, |_| s.set(&sid, other, None, 4_000).unwrap());
        assert!(!s.holds_read_session(&sid));
        assert!(s.snapshot()[0].1.ends_with(r#""views":40}"#));
        request(&s, Some(&cookie), 5_000, |r| assert_eq!(r.increment("views"), Ok(41.0)));
        assert!(s.holds_read_session(&sid));
        // Two loads of one record: the second reads the text.
        let first = s.load(&sid, 6_000).unwrap();
        let second = s.load(&sid, 6_000).unwrap();
        assert!(first.is_read() && !second.is_read());
        assert_eq!(first, second);
        // A handed-over session past its cookie's expiry is no session (the
        // store's rule, as reading the text applies it).
        let config = Arc::new(
            Config::builder().secret("0123456789abcdef0123456789abcdef").max_age(Some(60_000.0)).build().unwrap(),
        );
        let mut req = Request::new(config, UnixMillis(1_000_000), SeededIds::new(&[8; 32]));
        req.add_cookie_header(cookie.as_bytes()).unwrap();
        assert_eq!(req.poll_action().unwrap(), Action::Load { id: &sid });
        req.handle_load(LoadResult::Stored(first)).unwrap();
        assert_eq!(req.poll_action().unwrap(), Action::Ready);
        assert_ne!(req.session_id(), Some(sid.as_str()));
        assert_eq!(req.get("views"), None);
    }

    #[test]
    fn touch_replaces_cookie_only() {
        let s = MemoryStore::new();
        s.set("a", r#"{"cookie":{"expires":null},"n":1}"#, None, 0).unwrap();
        s.touch("a", r#"{"cookie":{"expires":"x"},"n":2}"#, Some(10), 0);
        assert_eq!(&*s.get("a", 0).unwrap(), r#"{"cookie":{"expires":"x"},"n":1}"#);
        assert_eq!(s.get("a", 10), None);
        assert!(s.is_empty());
        s.set("b", r#"{"n":1}"#, None, 0).unwrap();
        s.touch("b", r#"{"cookie":{}}"#, None, 0);
        assert_eq!(&*s.get("b", 0).unwrap(), r#"{"n":1,"cookie":{}}"#);
        // A second touch reuses the remembered span.
        s.touch("b", r#"{"cookie":{"a":[1,"}"]},"n":5}"#, None, 0);
        assert_eq!(&*s.get("b", 0).unwrap(), r#"{"n":1,"cookie":{"a":[1,"}"]}}"#);
        s.touch("b", r#"{"cookie":2}"#, None, 0);
        assert_eq!(&*s.get("b", 0).unwrap(), r#"{"n":1,"cookie":2}"#);
    }

    #[test]
    fn bounded_and_swept() {
        let s = MemoryStore::with_max_entries(2);
        s.set("a", "{}", Some(5), 0).unwrap();
        s.set("b", "{}", None, 0).unwrap();
        assert_eq!(s.set("c", "{}", None, 1), Err(MemoryStoreError::Full));
        s.set("c", "{}", None, 5).unwrap(); // "a" expired and was swept
        assert_eq!(s.sweep(100), 0);
        assert_eq!(s.len(), 2);
    }

    #[test]
    fn reaps_on_its_interval_with_a_fake_clock() {
        let s =
            MemoryStore::with_options(MemoryStoreOptions { reap_interval: Some(100), ..MemoryStoreOptions::default() });
        assert_eq!(s.next_reap_at(1_000), Some(1_100), "the first now anchors the schedule");
        assert_eq!(s.next_reap_at(1_050), Some(1_100));
        s.set("gone", "{}", Some(1_040), 1_000).unwrap();
        s.set("kept", "{}", Some(5_000), 1_000).unwrap();
        s.set("forever", "{}", None, 1_000).unwrap();
        assert_eq!(s.reap_if_due(1_099), 0);
        assert_eq!(s.len(), 3, "nothing is reaped before the reap is due");
        assert_eq!(s.reap_if_due(1_100), 1);
        assert_eq!(s.snapshot().iter().map(|(k, _)| k.as_str()).collect::<Vec<_>>(), ["forever", "kept"]);
        assert_eq!(s.next_reap_at(1_100), Some(1_200));
        assert_eq!(s.reap_if_due(1_150), 0);
        // A late reap schedules the next one an interval after it.
        assert_eq!(s.reap_if_due(5_000), 1);
        assert_eq!(s.next_reap_at(5_000), Some(5_100));
        // An explicit reap moves the schedule on too; a sweep does not.
        s.set("x", "{}", Some(5_010), 5_000).unwrap();
        assert_eq!(s.sweep(5_020), 1);
        assert_eq!(s.next_reap_at(5_020), Some(5_100));
        assert_eq!(s.reap(5_030), 0);
        assert_eq!(s.next_reap_at(5_030), Some(5_130));
    }

    #[test]
    fn without_a_reap_interval_nothing_is_scheduled() {
        let s = MemoryStore::new();
        assert_eq!(s.options(), MemoryStoreOptions::default());
        assert_eq!(s.next_reap_at(0), None);
        s.set("a", "{}", Some(5), 0).unwrap();
        assert_eq!(s.reap_if_due(i64::MAX), 0);
        assert_eq!(s.len(), 1);
        assert_eq!(s.reap(10), 1, "an explicit reap still removes expired records");
    }

    #[test]
    fn store_max_age_counts_from_the_last_write_or_touch() {
        let s = MemoryStore::with_options(MemoryStoreOptions {
            max_age: Some(1_000),
            reap_interval: Some(100),
            ..MemoryStoreOptions::default()
        });
        assert_eq!(s.next_reap_at(0), Some(100));
        s.set("a", r#"{"cookie":{},"n":1}"#, None, 0).unwrap();
        s.set("b", r#"{"cookie":{},"n":1}"#, Some(500), 0).unwrap();
        s.set("c", r#"{"cookie":{},"n":1}"#, None, 0).unwrap();
        // Connect's rule: gone once last access < now - maxAge.
        assert!(s.get("a", 1_000).is_some());
        s.touch("a", r#"{"cookie":{"x":1},"n":1}"#, None, 900);
        assert_eq!(s.get("b", 600), None, "the cookie's expiry still counts when earlier");
        assert_eq!(s.reap_if_due(1_001), 1, "c is stale");
        assert!(s.get("a", 1_900).is_some(), "the touch at 900 restarted a's maxAge");
        assert_eq!(s.get("a", 1_901), None);
        assert!(s.is_empty());
    }

    #[test]
    fn options_from_json() {
        let read = |t: &str| MemoryStoreOptions::from_json(&Value::from_json(t).unwrap());
        assert_eq!(
            read(r#"{"reapInterval":100,"maxAge":3600000}"#),
            Ok(MemoryStoreOptions {
                reap_interval: Some(100),
                max_age: Some(3_600_000),
                ..MemoryStoreOptions::default()
            })
        );
        assert_eq!(read(r#"{"reapInterval":-1,"maxAge":null}"#), Ok(MemoryStoreOptions::default()));
        assert_eq!(read("{}"), Ok(MemoryStoreOptions::default()));
        assert_eq!(read("[]"), Err(MemoryStoreOptionsError::NotAnObject));
        assert_eq!(read(r#"{"prefix":"sess:","ttl":60,"maxAge":5}"#).map(|o| o.max_age), Ok(Some(5)));
        assert!(matches!(read(r#"{"reapIntreval":5}"#), Err(MemoryStoreOptionsError::Unknown { .. })));
        for bad in [
            r#"{"reapInterval":0}"#,
            r#"{"maxAge":1.5}"#,
            r#"{"maxAge":"10"}"#,
            r#"{"reapInterval":-2}"#,
            r#"{"maxAge":1e300}"#,
        ] {
            let e = read(bad).unwrap_err();
            assert!(matches!(e, MemoryStoreOptionsError::Invalid { .. }), "{bad}: {e}");
            assert!(e.to_string().contains("whole number"), "{e}");
        }
    }

    #[test]
    fn concurrent_callers_reap_once_per_interval() {
        let s = Arc::new(MemoryStore::with_options(MemoryStoreOptions {
            reap_interval: Some(100),
            ..MemoryStoreOptions::default()
        }));
        assert_eq!(s.next_reap_at(0), Some(100));
        let reaps = std::sync::atomic::AtomicUsize::new(0);
        std::thread::scope(|scope| {
            for _ in 0..8 {
                scope.spawn(|| {
                    for now in 0..1_000 {
                        s.set("x", "{}", Some(now), now).unwrap();
                        if s.next_reap_at(now).is_some_and(|due| due <= now) && s.reap_if_due(now) > 0 {
                            reaps.fetch_add(1, Ordering::Relaxed);
                        }
                    }
                });
            }
        });
        // At most one successful reap per interval of the schedule.
        assert!(reaps.load(Ordering::Relaxed) <= 10, "{}", reaps.load(Ordering::Relaxed));
    }
}

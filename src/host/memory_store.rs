//! A reference in-memory store with the semantics of express-session's
//! `MemoryStore` (conformance SPEC §7), plus a bound on entries and an
//! explicit sweep of expired records. Thread-safe (`&self` methods behind a
//! mutex), so one store can serve every worker thread of a host.
//!
//! Like the engine, it takes `now` as an argument and reads no clock.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};

use crate::action::{Action, LoadResult, StoreResult, Version};
use crate::json::{self, Value};
use crate::record::{StoredRecord, memory_store_expiry};
use crate::request::Request;

/// Records are kept as the engine made them ([`StoredRecord`]: the text,
/// and the session read from it until a load takes it) with the time at
/// which they count as expired (MemoryStore's `expires <= now` rule),
/// `None` for never.
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

/// express-session's MemoryStore, bounded.
#[derive(Debug)]
pub struct MemoryStore {
    entries: Mutex<Map>,
    max_entries: usize,
}

impl Default for MemoryStore {
    fn default() -> Self {
        MemoryStore::new()
    }
}

/// Default bound on records.
pub const DEFAULT_MAX_ENTRIES: usize = 100_000;

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
        MemoryStore { entries: Mutex::new(Map::default()), max_entries }
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
        let mut map = self.lock();
        let entry = Entry { record, expires_at, version: None };
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
            entry.expires_at = expires_at;
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
                *e = Entry { record, expires_at, version: Some(version.written) };
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
            entry.expires_at = expires_at;
            entry.version = Some(expected);
        }
        true
    }

    /// `destroy`: delete the record (absent is fine).
    pub fn destroy(&self, sid: &str) {
        self.lock().remove(sid);
    }

    /// Inserts a record given as a JSON value (as `JSON.stringify` would
    /// store it), computing its expiry from the record itself.
    pub fn insert_value(&self, sid: &str, record: &Value) {
        let text = Arc::from(json::to_string(record));
        let expires_at = memory_store_expiry(record);
        self.lock().insert(sid.to_string(), Entry { record: StoredRecord::from_text(text), expires_at, version: None });
    }

    /// Removes every expired record; returns how many were removed.
    pub fn sweep(&self, now: i64) -> usize {
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
}

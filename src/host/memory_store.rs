//! A reference in-memory store with the semantics of express-session's
//! `MemoryStore` (conformance SPEC §7), plus a bound on entries and an
//! explicit sweep of expired records. Thread-safe (`&self` methods behind a
//! mutex), so one store can serve every worker thread of a host.
//!
//! Like the engine, it takes `now` as an argument and reads no clock.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};

use crate::action::{Action, LoadResult, StoreResult};
use crate::json::{self, Value};
use crate::request::Request;
use crate::session::{SavedRecord, Session};

/// Records are kept as JSON text with the time at which they count as
/// expired (MemoryStore's `expires <= now` rule), `None` for never.
#[derive(Clone, Debug)]
struct Entry {
    text: Arc<str>,
    expires_at: Option<i64>,
    /// Where the top-level `cookie` value sits in `text`, once known (kept
    /// across touches so that a touch scans only the incoming record).
    cookie_span: Option<(usize, usize)>,
    /// The session reading `text` gives, when the engine handed it over
    /// with the record ([`SavedRecord`]); the next load takes it.
    session: Option<Box<Session>>,
}

impl Entry {
    fn expired(&self, now: i64) -> bool {
        self.expires_at.is_some_and(|t| t <= now)
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
        Some(Arc::clone(&entry.text))
    }

    /// `set`: store the record text; `expires_at` as in [`Action::Save`].
    pub fn set(&self, sid: &str, record: &str, expires_at: Option<i64>, now: i64) -> Result<(), MemoryStoreError> {
        self.put(sid, Entry { text: Arc::from(record), expires_at, cookie_span: None, session: None }, now)
    }

    /// [`set`](Self::set) of a record the engine handed over with its
    /// session ([`Request::take_saved_record`]): the text is kept without a
    /// copy, and the session for the next load ([`load`](Self::load)).
    pub fn set_saved(
        &self,
        sid: &str,
        record: SavedRecord,
        expires_at: Option<i64>,
        now: i64,
    ) -> Result<(), MemoryStoreError> {
        let (text, cookie_span, session) = record.into_parts();
        self.put(sid, Entry { text, expires_at, cookie_span, session }, now)
    }

    /// `get` as [`Request::handle_load_saved`] takes it: the text, and the
    /// session read from it if the store holds one (the first load after a
    /// save takes it; a concurrent load of the same record reads the text).
    pub fn load(&self, sid: &str, now: i64) -> Option<SavedRecord> {
        let mut map = self.lock();
        let entry = map.get_mut(sid)?;
        if entry.expired(now) {
            map.remove(sid);
            return None;
        }
        Some(SavedRecord::with_session(Arc::clone(&entry.text), entry.cookie_span, entry.session.take()))
    }

    fn put(&self, sid: &str, entry: Entry, now: i64) -> Result<(), MemoryStoreError> {
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

    /// `touch`: if a live record exists, replace its `cookie` with the one in
    /// `record` (an expired record is deleted instead).
    pub fn touch(&self, sid: &str, record: &str, expires_at: Option<i64>, now: i64) {
        self.touch_at(sid, record, None, None, expires_at, now)
    }

    /// [`touch`](Self::touch) with a record the engine handed over with its
    /// session ([`Request::take_saved_record`]): when the stored record
    /// differs from it only in its cookie (the usual case), the result is
    /// that record, kept with its session.
    pub fn touch_saved(&self, sid: &str, record: SavedRecord, expires_at: Option<i64>, now: i64) {
        let text = Arc::clone(record.text());
        self.touch_at(sid, &text, record.cookie_span(), Some(record), expires_at, now)
    }

    /// [`touch`](Self::touch) with the `cookie` value's place in `record`
    /// known ([`Request::touch_cookie_span`]), and the record as saved.
    fn touch_at(
        &self,
        sid: &str,
        record: &str,
        cookie: Option<(usize, usize)>,
        saved: Option<SavedRecord>,
        expires_at: Option<i64>,
        now: i64,
    ) {
        let mut map = self.lock();
        let Some(entry) = map.get_mut(sid) else { return };
        if entry.expired(now) {
            map.remove(sid);
            return;
        }
        let known = cookie.filter(|&(s, e)| record.get(s..e).is_some_and(|c| c.starts_with('{')));
        let Some((ns, ne)) = known.or_else(|| json::top_level_span(record.as_bytes(), "cookie")) else { return };
        let new_cookie = &record[ns..ne];
        let text = &entry.text;
        let span = entry.cookie_span.or_else(|| json::top_level_span(text.as_bytes(), "cookie"));
        let mut session = None;
        let (replaced, start) = match span {
            // Only the cookie differs (the usual touch): the result is `record`.
            Some((s, e)) if text[..s] == record[..ns] && text[e..] == record[ne..] => match saved {
                Some(saved) => {
                    let (text, _, read) = saved.into_parts();
                    session = read;
                    (text, s)
                }
                None => (Arc::from(record), s),
            },
            Some((s, e)) => (Arc::from([&text[..s], new_cookie, &text[e..]].concat()), s),
            None => {
                // Not an object, or no cookie yet: `currentSession.cookie = …` appends it.
                let Some(close) = text.trim_end().strip_suffix('}') else { return };
                let sep = if close.trim_end().ends_with('{') { "" } else { "," };
                let prefix = format!("{close}{sep}\"cookie\":");
                let start = prefix.len();
                (Arc::from(format!("{prefix}{new_cookie}}}")), start)
            }
        };
        entry.text = replaced;
        entry.cookie_span = Some((start, start + new_cookie.len()));
        entry.expires_at = expires_at;
        entry.session = session;
    }

    /// `destroy`: delete the record (absent is fine).
    pub fn destroy(&self, sid: &str) {
        self.lock().remove(sid);
    }

    /// Inserts a record given as a JSON value (as `JSON.stringify` would
    /// store it), computing its expiry from the record itself.
    pub fn insert_value(&self, sid: &str, record: &Value) {
        let text = Arc::from(json::to_string(record));
        let expires_at = expiry_of(record);
        self.lock().insert(sid.to_string(), Entry { text, expires_at, cookie_span: None, session: None });
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

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Every record as (sid, JSON text), sorted by sid.
    pub fn snapshot(&self) -> Vec<(String, String)> {
        let mut all: Vec<_> = self.lock().iter().map(|(k, e)| (k.clone(), e.text.to_string())).collect();
        all.sort();
        all
    }

    /// [`Request::poll_action`], answering store operations from this store
    /// until the request needs its host for something else; returns that
    /// action. All a host with an in-process store needs in its poll loop.
    pub fn poll<'r>(&self, req: &'r mut Request, now: i64) -> Result<Action<'r>, crate::Error> {
        loop {
            req.poll_action()?;
            let saved = req.take_saved_record();
            let answer = match (req.current_action(), saved) {
                (Action::Load { id }, _) => Answer::Load(self.load(id, now)),
                (Action::Save { id, expires_at, .. }, Some(saved)) => {
                    Answer::Store(self.set_saved(id, saved, expires_at, now).err())
                }
                (Action::Save { id, record, expires_at }, None) => {
                    Answer::Store(self.set(id, record, expires_at, now).err())
                }
                (Action::Touch { id, expires_at, .. }, Some(saved)) => {
                    self.touch_saved(id, saved, expires_at, now);
                    Answer::Store(None)
                }
                (Action::Touch { id, record, expires_at }, None) => {
                    self.touch_at(id, record, req.touch_cookie_span(), None, expires_at, now);
                    Answer::Store(None)
                }
                (Action::Destroy { id }, _) => {
                    self.destroy(id);
                    Answer::Store(None)
                }
                _ => break,
            };
            match answer {
                Answer::Load(Some(record)) => req.handle_load_saved(record)?,
                Answer::Load(None) => req.handle_load_result(LoadResult::NotFound)?,
                Answer::Store(None) => req.handle_store_result(StoreResult::Ok)?,
                Answer::Store(Some(e)) => req.handle_store_result(StoreResult::Failed { message: &e.to_string() })?,
            }
        }
        Ok(req.current_action())
    }
}

enum Answer {
    Load(Option<SavedRecord>),
    Store(Option<MemoryStoreError>),
}

/// The time (Unix ms, rounded up) at which a record counts as expired by
/// MemoryStore's rule, or `None` if it never does.
pub fn expiry_of(record: &Value) -> Option<i64> {
    // The rule is `expires <= now`: the smallest such integer `now`.
    let cookie = record.as_object()?.get("cookie")?.as_object()?;
    let t = match cookie.get("expires")? {
        Value::String(s) => crate::date::parse(s),
        v if !v.truthy() => return None,
        v => v.to_js_number(),
    };
    finite_ceil(t)
}

fn finite_ceil(t: f64) -> Option<i64> {
    if t.is_nan() || t == f64::INFINITY {
        None
    } else if t == f64::NEG_INFINITY {
        Some(i64::MIN)
    } else {
        Some(t.ceil() as i64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Config, SeededIds, UnixMillis};

    impl MemoryStore {
        fn holds_read_session(&self, sid: &str) -> bool {
            self.lock().get(sid).is_some_and(|e| e.session.is_some())
        }
    }

    /// One request through `poll`: the handler's step, then the Set-Cookie.
    fn request(store: &MemoryStore, cookie: Option<&str>, now: i64, handler: impl FnOnce(&mut Request)) -> String {
        let config = Arc::new(Config::builder().secret("s").max_age(Some(60_000.0)).build().unwrap());
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
        assert!(s.holds_read_session(&sid));
        // A returning request takes it, and hands the new one over.
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
        let config = Arc::new(Config::builder().secret("s").max_age(Some(60_000.0)).build().unwrap());
        let mut req = Request::new(config, UnixMillis(1_000_000), SeededIds::new(&[8; 32]));
        req.add_cookie_header(cookie.as_bytes()).unwrap();
        assert_eq!(req.poll_action().unwrap(), Action::Load { id: &sid });
        req.handle_load_saved(first).unwrap();
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

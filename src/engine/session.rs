//! The session object (express-session's `Session`): its data keys, in
//! JavaScript property order, with the `cookie` slot at the position it holds
//! among them; and store records, read and written.

use std::cell::OnceCell;
use std::collections::BTreeMap;
use std::sync::Arc;

use crate::json::{self, Map, Value};
use crate::session_cookie::{COOKIE_KEYS, SessionCookie};

const _: () = assert!(COOKIE_KEYS.len() <= crate::record::MAX_FIELDS);

/// Keys a record may not bring into a session, and the application may not
/// set: the session's own properties and methods, and `Object.prototype`'s.
pub(crate) const RESERVED_KEYS: &[&str] = &[
    "cookie",
    "id",
    "req",
    "touch",
    "resetMaxAge",
    "save",
    "reload",
    "destroy",
    "regenerate",
    "constructor",
    "hasOwnProperty",
    "isPrototypeOf",
    "propertyIsEnumerable",
    "toString",
    "valueOf",
    "toLocaleString",
    "__proto__",
    "__defineGetter__",
    "__defineSetter__",
    "__lookupGetter__",
    "__lookupSetter__",
];

pub(crate) fn is_reserved(key: &str) -> bool {
    // A match compiles to length and byte comparisons (this runs per key).
    matches!(
        key,
        "cookie"
            | "id"
            | "req"
            | "touch"
            | "resetMaxAge"
            | "save"
            | "reload"
            | "destroy"
            | "regenerate"
            | "constructor"
            | "hasOwnProperty"
            | "isPrototypeOf"
            | "propertyIsEnumerable"
            | "toString"
            | "valueOf"
            | "toLocaleString"
            | "__proto__"
            | "__defineGetter__"
            | "__defineSetter__"
            | "__lookupGetter__"
            | "__lookupSetter__"
    )
}

/// `Object.prototype` property names: a cookie *name* equal to one of these
/// makes express-session throw when the cookie is absent (its cookie lookup
/// is a plain object). Reproduced only in express compatibility mode.
pub(crate) fn is_object_prototype_name(key: &str) -> bool {
    RESERVED_KEYS[9..].contains(&key)
}

/// A session's data: its keys in JavaScript property order, with the
/// `cookie` slot at the position it holds among them.
///
/// Values of a loaded record stay as spans of the record's text while they
/// are canonical (see [`json::canonical_end`]): they are parsed only when
/// read, and written back by copying. A request that reads one key of a
/// large session never parses the rest.
#[derive(Clone, Debug, Default)]
pub(crate) struct Data {
    /// The record text that `Key::Text` and `Slot::Text` refer to.
    source: Option<Arc<str>>,
    entries: Vec<Entry>,
    /// How many leading entries are array-index keys (kept ascending).
    index_keys: usize,
    /// While the data is exactly as loaded from a canonical record: its
    /// change-detection text (the record with the cookie member cut out).
    pristine: Option<HashText>,
    /// How many times the data changed (every change goes through
    /// [`changed`](Self::changed)): equal counts mean equal data.
    changes: u64,
    /// Where each named key is, as an offset from the first named entry
    /// (`index_keys`), once there are more than [`LOOKUP_MIN`]: lookups
    /// stay logarithmic however many keys a record brings.
    #[allow(clippy::box_collection)] // one pointer while unused: every value stays small
    lookup: Option<Box<BTreeMap<String, usize>>>,
    /// While the record reader fills the data: members it could not put in
    /// place by appending (a repeated key, an index key out of order) were
    /// appended as they came, and [`finish_read`](Self::finish_read) puts
    /// them in JavaScript property order in one pass.
    reading: Reading,
}

/// Named keys at which [`Data`] starts keeping an index of them.
const LOOKUP_MIN: usize = 16;

/// Whether the record reader is filling a [`Data`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
enum Reading {
    /// Not reading: every change keeps the entries in property order.
    #[default]
    No,
    /// Reading, every entry in place so far.
    InOrder,
    /// Reading, entries appended as they came (ordered at the end).
    Unordered,
}

impl Drop for Data {
    /// Drops the values without recursing (a record's values may nest
    /// hundreds of levels; the host's thread stack may be small).
    fn drop(&mut self) {
        for e in self.entries.drain(..) {
            drop_slot(e.slot);
        }
    }
}

/// Drops a slot's value without recursing ([`json::drop_deep`]).
fn drop_slot(slot: Slot) {
    match slot {
        Slot::Value(v) => json::drop_deep(v),
        Slot::Text { parsed, .. } => {
            if let Some(v) = parsed.into_inner() {
                json::drop_deep(v);
            }
        }
        Slot::Cookie => {}
    }
}

#[derive(Clone, Debug)]
struct Entry {
    key: Key,
    slot: Slot,
}

#[derive(Clone, Debug)]
enum Key {
    /// `cookie` (a new session's cookie slot).
    Cookie,
    /// Characters of the source text (a key that needs no escaping).
    Text(usize, usize),
    Owned(String),
}

#[derive(Clone, Debug)]
enum Slot {
    /// The `cookie` key's place (its value is the session's cookie).
    Cookie,
    /// Canonical JSON in the source text, parsed on first read.
    Text {
        start: usize,
        end: usize,
        parsed: OnceCell<Value>,
    },
    Value(Value),
}

/// A record member as the record reader found it (see [`Data::put_read`]).
pub(crate) enum ReadSlot {
    /// The `cookie` member.
    Cookie,
    /// Canonical JSON at this byte range of the source (parsed when read).
    Text(usize, usize),
    /// A value that had to be parsed.
    Value(Value),
}

impl Data {
    /// The data with the `cookie` slot as its first entry (a new session's).
    fn with_cookie_slot(mut self) -> Self {
        self.entries.push(Entry { key: Key::Cookie, slot: Slot::Cookie });
        self
    }

    /// Empty data with room for a few entries.
    fn empty(source: Option<Arc<str>>) -> Self {
        Data {
            source,
            entries: Vec::with_capacity(4),
            index_keys: 0,
            pristine: None,
            changes: 0,
            lookup: None,
            reading: Reading::No,
        }
    }

    /// Empty data whose entries will point into `source` (the record the
    /// reader fills it from, with [`put_read`](Self::put_read)).
    pub(crate) fn over(source: Arc<str>) -> Self {
        let mut data = Data::empty(Some(source));
        data.reading = Reading::InOrder;
        data
    }

    /// Assigns a member the record reader found, as `obj[key] = value`
    /// does; `key_span` is where the key's characters are in the source
    /// when they need no escaping. Whether it was appended in order.
    pub(crate) fn put_read(&mut self, key: &str, key_span: Option<(usize, usize)>, slot: ReadSlot) -> bool {
        let key_slot = match key_span {
            Some((a, b)) => Key::Text(a, b),
            None => Key::Owned(key.to_string()),
        };
        let slot = match slot {
            ReadSlot::Cookie => Slot::Cookie,
            ReadSlot::Text(start, end) => Slot::Text { start, end, parsed: OnceCell::new() },
            ReadSlot::Value(v) => Slot::Value(v),
        };
        match self.reading {
            Reading::No => self.put(key_slot, slot, key),
            Reading::Unordered => {
                self.changed();
                self.entries.push(Entry { key: key_slot, slot });
                false
            }
            Reading::InOrder => {
                // Appending keeps the order unless the key is a repeat, or an
                // index key that belongs before others.
                let in_place = match json::array_index(key) {
                    Some(idx) => {
                        self.index_keys == self.entries.len()
                            && self.index_keys.checked_sub(1).is_none_or(|last| {
                                json::array_index(self.key(&self.entries[last])).is_some_and(|l| l < idx)
                            })
                    }
                    None => self.position(key).is_none(),
                };
                if in_place {
                    // New, and in order: appended (no second lookup).
                    self.changed();
                    if self.index_keys == self.entries.len() && json::array_index(key).is_some() {
                        self.entries.push(Entry { key: key_slot, slot });
                        self.index_keys += 1;
                    } else {
                        self.push_named(Entry { key: key_slot, slot }, key);
                    }
                    return true;
                }
                self.reading = Reading::Unordered;
                self.changed();
                self.lookup = None;
                self.entries.push(Entry { key: key_slot, slot });
                false
            }
        }
    }

    /// Ends reading (see [`put_read`](Self::put_read)): entries appended out
    /// of order are put in JavaScript property order, as assigning them one
    /// by one would have (a repeated key keeps its first place and its last
    /// value; index keys first, ascending), in O(n log n).
    pub(crate) fn finish_read(&mut self) {
        let reading = std::mem::replace(&mut self.reading, Reading::No);
        if reading == Reading::Unordered {
            self.put_in_order();
        }
    }

    /// [`finish_read`](Self::finish_read)'s work for entries that came out
    /// of order (rare: records written by JSON.stringify are in order).
    #[cold]
    #[inline(never)]
    fn put_in_order(&mut self) {
        // Entries by key, then by place: each run of one key starts with
        // its first place and ends with its last value.
        let mut order: Vec<usize> = (0..self.entries.len()).collect();
        order.sort_unstable_by(|&a, &b| self.key(&self.entries[a]).cmp(self.key(&self.entries[b])).then(a.cmp(&b)));
        let mut keep = vec![true; order.len()];
        let mut run = 0;
        for i in 1..=order.len() {
            let same = i < order.len() && self.key(&self.entries[order[i]]) == self.key(&self.entries[order[run]]);
            if !same {
                let (first, last) = (order[run], order[i - 1]);
                if first != last {
                    let slot = std::mem::replace(&mut self.entries[last].slot, Slot::Cookie);
                    drop_slot(std::mem::replace(&mut self.entries[first].slot, slot));
                    for &later in &order[run + 1..i] {
                        keep[later] = false;
                    }
                }
                run = i;
            }
        }
        let entries = std::mem::take(&mut self.entries);
        let mut kept: Vec<Entry> = Vec::with_capacity(entries.len());
        for (e, keep) in entries.into_iter().zip(keep) {
            if keep {
                kept.push(e);
            } else {
                drop_slot(e.slot);
            }
        }
        let (mut ordered, named): (Vec<Entry>, Vec<Entry>) =
            kept.into_iter().partition(|e| json::array_index(self.key(e)).is_some());
        ordered.sort_by_key(|e| json::array_index(self.key(e)));
        self.index_keys = ordered.len();
        ordered.extend(named);
        self.entries = ordered;
        self.reindex();
    }

    /// The named-key index again, after named entries moved.
    fn reindex(&mut self) {
        let named = self.entries.len() - self.index_keys;
        self.lookup = (named > LOOKUP_MIN).then(|| {
            Box::new(
                self.entries[self.index_keys..].iter().enumerate().map(|(i, e)| (self.key(e).to_string(), i)).collect(),
            )
        });
    }

    /// Every change of the data: the text it was read from no longer
    /// stands for it, and the change count moves on.
    fn changed(&mut self) {
        self.pristine = None;
        self.changes += 1;
    }

    /// How many times the data changed since it was made: a snapshot taken
    /// at the same count is of the same data.
    pub(crate) fn changes(&self) -> u64 {
        self.changes
    }

    /// Whether a data key is one the session's own properties shadow.
    pub(crate) fn has_reserved_key(&self) -> bool {
        self.entries.iter().any(|e| !matches!(e.slot, Slot::Cookie) && is_reserved(self.key(e)))
    }

    /// Drops the keys the session's own properties shadow (as loading a
    /// record into express-session's Session does).
    pub(crate) fn drop_reserved_keys(&mut self) {
        self.retain(|k| !is_reserved(k));
    }

    /// The change-detection text of the data as it is.
    pub(crate) fn change_text(&self) -> HashText {
        let mut s = String::new();
        self.write(&mut s, |_| {});
        HashText::whole(&s)
    }

    /// Marks the data as exactly its source's text, whose `cookie` member
    /// is at `cookie` (key to value): its change-detection text is then the
    /// source with that member and one comma cut out, with nothing to write.
    pub(crate) fn mark_as_read(&mut self, cookie: (usize, usize)) {
        let Some(source) = self.source.clone() else { return };
        let (a, b) = cookie;
        let cut = if self.entries.len() == 1 {
            (a, b)
        } else if a == 1 {
            (a, b + 1)
        } else {
            (a - 1, b)
        };
        self.pristine = Some(HashText { text: Some(source), cut });
    }

    fn text(&self, start: usize, end: usize) -> &str {
        self.source.as_deref().and_then(|s| s.get(start..end)).unwrap_or("")
    }

    fn key<'s>(&'s self, e: &'s Entry) -> &'s str {
        match &e.key {
            Key::Cookie => "cookie",
            Key::Text(a, b) => self.text(*a, *b),
            Key::Owned(k) => k,
        }
    }

    /// The entry's value (`None` for the cookie slot).
    fn value<'s>(&'s self, e: &'s Entry) -> Option<&'s Value> {
        match &e.slot {
            Slot::Cookie => None,
            Slot::Value(v) => Some(v),
            // The span was checked to be canonical JSON, so it parses.
            Slot::Text { start, end, parsed } => Some(parsed.get_or_init(|| parse_canonical(self.text(*start, *end)))),
        }
    }

    /// Where `key` is: a binary search among the index keys (kept
    /// ascending), the index or a short scan among the others.
    fn position(&self, key: &str) -> Option<usize> {
        if let Some(idx) = json::array_index(key) {
            let indexed = &self.entries[..self.index_keys];
            let at = indexed.partition_point(|e| json::array_index(self.key(e)).is_some_and(|other| other < idx));
            return (at < self.index_keys && self.key(&self.entries[at]) == key).then_some(at);
        }
        match &self.lookup {
            Some(lookup) => lookup.get(key).map(|&i| self.index_keys + i),
            None => {
                self.entries[self.index_keys..].iter().position(|e| self.key(e) == key).map(|i| self.index_keys + i)
            }
        }
    }

    /// The data keys and values, without the cookie slot.
    pub(crate) fn iter(&self) -> impl Iterator<Item = (&str, &Value)> {
        self.entries.iter().filter_map(|e| Some((self.key(e), self.value(e)?)))
    }

    /// `session[key]` (`None` for absent keys and the cookie slot).
    pub(crate) fn get(&self, key: &str) -> Option<&Value> {
        self.position(key).and_then(|i| self.value(&self.entries[i]))
    }

    /// `JSON.stringify(session[key])`: the record's own text when the value
    /// is still as loaded (no parsing), else the value serialized.
    pub(crate) fn get_json(&self, key: &str) -> Option<std::borrow::Cow<'_, str>> {
        let e = &self.entries[self.position(key)?];
        match &e.slot {
            Slot::Cookie => None,
            Slot::Text { start, end, .. } => Some(std::borrow::Cow::Borrowed(self.text(*start, *end))),
            Slot::Value(v) => Some(std::borrow::Cow::Owned(json::to_string(v))),
        }
    }

    pub(crate) fn contains_key(&self, key: &str) -> bool {
        self.position(key).is_some()
    }

    /// `session[key] = value` (an existing key keeps its place).
    pub(crate) fn insert(&mut self, key: &str, value: Value) {
        match self.position(key) {
            Some(i) => {
                self.changed();
                drop_slot(std::mem::replace(&mut self.entries[i].slot, Slot::Value(value)));
            }
            None => {
                self.put(Key::Owned(key.to_string()), Slot::Value(value), key);
            }
        }
    }

    /// Assigns as `obj[key] = value` does; whether the entry was appended in
    /// order (not a repeat, not moved ahead as an index key).
    fn put(&mut self, key: Key, slot: Slot, key_str: &str) -> bool {
        self.changed();
        // An index key past the last one (the usual order) is new.
        let past_last = json::array_index(key_str).is_some_and(|idx| {
            self.index_keys
                .checked_sub(1)
                .is_none_or(|l| json::array_index(self.key(&self.entries[l])).is_some_and(|l| l < idx))
        });
        if !past_last && let Some(i) = self.position(key_str) {
            drop_slot(std::mem::replace(&mut self.entries[i].slot, slot));
            return false;
        }
        let entry = Entry { key, slot };
        match json::array_index(key_str) {
            Some(idx) => {
                let at = self.entries[..self.index_keys]
                    .partition_point(|e| json::array_index(self.key(e)).is_some_and(|other| other < idx));
                let appended = at == self.entries.len();
                self.entries.insert(at, entry);
                self.index_keys += 1;
                appended
            }
            None => {
                self.push_named(entry, key_str);
                true
            }
        }
    }

    /// Appends an entry of a named key not present yet, indexing it.
    fn push_named(&mut self, entry: Entry, key_str: &str) {
        if let Some(lookup) = &mut self.lookup {
            lookup.insert(key_str.to_string(), self.entries.len() - self.index_keys);
        }
        self.entries.push(entry);
        if self.lookup.is_none() && self.entries.len() - self.index_keys > LOOKUP_MIN {
            self.reindex();
        }
    }

    /// `delete session[key]`; the removed value.
    pub(crate) fn remove(&mut self, key: &str) -> Option<Value> {
        let i = self.position(key)?;
        self.changed();
        let entry = self.entries.remove(i);
        if i < self.index_keys {
            self.index_keys -= 1;
        } else if self.lookup.is_some() {
            self.reindex();
        }
        match entry.slot {
            Slot::Cookie => None,
            Slot::Value(v) => Some(v),
            Slot::Text { start, end, parsed } => {
                Some(parsed.into_inner().unwrap_or_else(|| parse_canonical(self.text(start, end))))
            }
        }
    }

    /// Where [`write_spans`](Self::write_spans) put entry `i` in `text`,
    /// the entry before it having ended at `at`: its key (quotes included),
    /// its value, and where it ends. `cookie` is where the cookie's value
    /// went. `None` if `text` does not hold the entry there.
    fn written_at(&self, text: &[u8], i: usize, at: usize, cookie: (usize, usize)) -> Option<Written> {
        let e = self.entries.get(i)?;
        let start = match i {
            0 => at,
            _ => (text.get(at) == Some(&b',')).then_some(at + 1)?,
        };
        let key_end = match &e.key {
            Key::Cookie => start + "\"cookie\"".len(),
            Key::Text(a, b) => start + (b - a) + 2,
            Key::Owned(_) => json::canonical_end(text, start)?,
        };
        if text.get(key_end) != Some(&b':') {
            return None;
        }
        let value = key_end + 1;
        let end = match &e.slot {
            Slot::Cookie => (cookie.0 == value).then_some(cookie.1)?,
            Slot::Text { start: a, end: b, .. } => value + (b - a),
            Slot::Value(_) => json::canonical_end(text, value)?,
        };
        (end <= text.len()).then_some(Written { key: (start, key_end), value: (value, end) })
    }

    /// Keeps the cookie slot and the entries whose key passes `keep`.
    fn retain(&mut self, keep: impl Fn(&str) -> bool) {
        self.changed();
        let index_keys = self.index_keys;
        let kept: Vec<bool> =
            self.entries.iter().map(|e| matches!(e.slot, Slot::Cookie) || keep(self.key(e))).collect();
        self.index_keys -= kept[..index_keys].iter().filter(|k| !**k).count();
        let entries = std::mem::take(&mut self.entries);
        for (e, keep) in entries.into_iter().zip(kept) {
            if keep {
                self.entries.push(e);
            } else {
                drop_slot(e.slot);
            }
        }
        self.reindex();
    }

    /// Writes the entries as a JSON object, the cookie slot by `cookie`
    /// (which may write nothing); returns the byte range of the cookie
    /// entry with one adjacent comma (empty if none).
    fn write(&self, out: &mut String, cookie: impl FnMut(&mut String)) -> (usize, usize) {
        self.write_spans(out, cookie).0
    }

    /// [`write`](Self::write), and the byte range of the cookie's value.
    fn write_spans(&self, out: &mut String, mut cookie: impl FnMut(&mut String)) -> ((usize, usize), (usize, usize)) {
        let base = out.len();
        out.push('{');
        let mut span = (base + 1, base + 1);
        let mut value = span;
        let mut cookie_first = false;
        for (i, e) in self.entries.iter().enumerate() {
            let entry_start = out.len();
            if out.len() > base + 1 {
                out.push(',');
            }
            match &e.key {
                Key::Cookie => out.push_str("\"cookie\""),
                Key::Text(a, b) => {
                    out.push('"');
                    out.push_str(self.text(*a, *b));
                    out.push('"');
                }
                Key::Owned(k) => json::write_string(out, k),
            }
            out.push(':');
            let value_start = out.len();
            match &e.slot {
                Slot::Cookie => {
                    cookie(out);
                    if out.len() == value_start {
                        out.truncate(entry_start); // no cookie written: no entry
                        continue;
                    }
                    span = (entry_start, out.len());
                    value = (value_start, out.len());
                    cookie_first = i == 0;
                }
                Slot::Text { start, end, .. } => out.push_str(self.text(*start, *end)),
                Slot::Value(v) => json::write_value(out, v),
            }
        }
        if cookie_first && out.len() > span.1 {
            span.1 += 1; // the comma after it
        }
        out.push('}');
        (span, value)
    }
}

/// Where one entry of a written record is: its key (quotes included) and
/// its value.
struct Written {
    key: (usize, usize),
    value: (usize, usize),
}

/// Where the parts of a record [`Session::record_with_layout`] wrote are.
#[derive(Clone, Debug, Default)]
pub(crate) struct Layout {
    /// The `cookie` entry with one adjacent comma: cutting it out gives the
    /// change-detection text.
    pub cut: (usize, usize),
    /// The cookie's value (the object).
    pub cookie: (usize, usize),
    /// The cookie's `expires` value, quotes included, when written as a date.
    expires: Option<(usize, usize)>,
}

/// Parses a value checked to be canonical JSON (so it parses), with short
/// cuts for the common small values.
fn parse_canonical(text: &str) -> Value {
    let b = text.as_bytes();
    match b {
        // Canonical integers of up to 15 digits are exact.
        [b'0'..=b'9', ..] if b.len() <= 15 && b.iter().all(u8::is_ascii_digit) => {
            Value::Number(b.iter().fold(0u64, |n, &d| n * 10 + u64::from(d - b'0')) as f64)
        }
        [b'"', inner @ .., b'"'] if !inner.contains(&b'\\') => Value::String(text[1..text.len() - 1].to_string()),
        _ => json::from_str_unbounded(text).unwrap_or(Value::Null),
    }
}

/// A change-detection text (express-session's hashes compare
/// `JSON.stringify` of the session without its cookie): `text` with the
/// byte range `cut` removed. Cheap to clone.
#[derive(Clone, Debug)]
pub(crate) struct HashText {
    /// The text; `None` for `{}` (empty data), which needs no allocation.
    text: Option<Arc<str>>,
    cut: (usize, usize),
}

impl HashText {
    /// The text of empty data, `{}` (a new session's): nothing allocated.
    pub(crate) fn empty_object() -> Self {
        HashText { text: None, cut: (0, 0) }
    }

    pub(crate) fn whole(text: &str) -> Self {
        HashText { text: Some(Arc::from(text)), cut: (0, 0) }
    }

    /// The whole text, before the cut.
    fn full(&self) -> &str {
        self.text.as_deref().unwrap_or("{}")
    }

    /// Whether this is the text `other` gives with `cut` removed.
    pub(crate) fn eq_cut(&self, other: &str, cut: (usize, usize)) -> bool {
        spliced_eq(self.full().as_bytes(), self.cut, other.as_bytes(), cut)
    }

    pub(crate) fn same_as(&self, other: &HashText) -> bool {
        self.eq_cut(other.full(), other.cut)
    }
}

/// Compares `a` without `ac` to `b` without `bc`, piece by piece.
fn spliced_eq(a: &[u8], ac: (usize, usize), b: &[u8], bc: (usize, usize)) -> bool {
    fn parts(t: &[u8], c: (usize, usize)) -> Option<[&[u8]; 2]> {
        Some([t.get(..c.0)?, t.get(c.1..)?])
    }
    let (Some(a), Some(b)) = (parts(a, ac), parts(b, bc)) else { return false };
    if a[0].len() + a[1].len() != b[0].len() + b[1].len() {
        return false;
    }
    let (mut ai, mut ao, mut bi, mut bo) = (0, 0, 0, 0);
    while ai < 2 && bi < 2 {
        let (x, y) = (&a[ai][ao..], &b[bi][bo..]);
        let n = x.len().min(y.len());
        if x[..n] != y[..n] {
            return false;
        }
        ao += n;
        bo += n;
        if ao == a[ai].len() {
            (ai, ao) = (ai + 1, 0);
        }
        if bo == b[bi].len() {
            (bi, bo) = (bi + 1, 0);
        }
    }
    true
}

/// express-session's `Session`: its data and its cookie.
#[derive(Clone, Debug)]
pub(crate) struct Session {
    pub data: Data,
    pub cookie: SessionCookie,
}

impl Session {
    pub(crate) fn new(cookie: SessionCookie) -> Self {
        let data = Data::empty(None).with_cookie_slot();
        Session { data, cookie }
    }

    /// A session read from a record: its data and its cookie.
    pub(crate) fn read(data: Data, cookie: SessionCookie) -> Self {
        Session { data, cookie }
    }

    /// The store record, and the byte range to cut out of it to get the
    /// change-detection text (the `cookie` entry with one adjacent comma).
    pub(crate) fn record_with_cookie_span(&self) -> (String, (usize, usize)) {
        let mut out = String::with_capacity(self.data.source.as_deref().map_or(0, str::len).max(192) + 32);
        let (cut, _) = self.data.write_spans(&mut out, |o| self.cookie.write_json(o));
        (out, cut)
    }

    /// The store record, and where its parts are: the change-detection cut,
    /// the cookie (for stores that touch it) and every entry (for
    /// [`into_read_form`](Self::into_read_form)).
    pub(crate) fn record_with_layout(&self) -> (String, Layout) {
        let mut out = String::with_capacity(self.data.source.as_deref().map_or(0, str::len).max(192) + 32);
        let mut expires = None;
        let (cut, cookie) = self.data.write_spans(&mut out, |o| expires = self.cookie.write_json_spans(o));
        (out, Layout { cut, cookie, expires })
    }

    /// The session as [`read_record`](crate::record::read_record) reads `text`, when `text` is this
    /// session's record as [`record_with_layout`](Self::record_with_layout)
    /// wrote it with `layout`: its keys and values become spans of `text`,
    /// exactly as reading it would make them, without reading it. `Err`
    /// gives the session back when reading would not give it again (a
    /// cookie attribute that JSON does not carry as it is, such as an
    /// invalid date or `-0`).
    pub(crate) fn into_read_form(
        mut self: Box<Self>,
        text: Arc<str>,
        layout: &Layout,
    ) -> Result<Box<Session>, Box<Session>> {
        // A key the session's own properties shadow is written but not read
        // back (reading drops it): that session is not the one reading gives.
        let shadowed =
            self.data.entries.iter().any(|e| !matches!(e.slot, Slot::Cookie) && is_reserved(self.data.key(e)));
        let b = text.as_bytes();
        // Every entry where the writer put it (checked first: nothing
        // changes unless all are found).
        let mut at = Some(1).filter(|_| b.first() == Some(&b'{'));
        for i in 0..self.data.entries.len() {
            at = at.and_then(|at| self.data.written_at(b, i, at, layout.cookie)).map(|w| w.value.1);
        }
        if shadowed || at.is_none_or(|end| b.get(end) != Some(&b'}')) || text.len() < layout.cut.1 {
            return Err(self);
        }
        if !self.cookie.reads_back_from(&text, layout.cookie, layout.expires) {
            return Err(self);
        }
        let mut at = 1;
        for i in 0..self.data.entries.len() {
            let Some(Written { key: (ks, ke), value: (start, end) }) = self.data.written_at(b, i, at, layout.cookie)
            else {
                return Err(self); // found above: not reached
            };
            at = end;
            let e = &mut self.data.entries[i];
            // What the writer wrote was JSON.stringify's text, which reads
            // back as the same value and is written again unchanged: the
            // span reads as the value did (parsed when first read).
            let plain = match &e.key {
                Key::Cookie | Key::Text(..) => true,
                Key::Owned(k) => ke - ks == k.len() + 2,
            };
            if plain {
                e.key = Key::Text(ks + 1, ke - 1);
            }
            e.slot = match std::mem::replace(&mut e.slot, Slot::Cookie) {
                Slot::Cookie => Slot::Cookie,
                Slot::Text { parsed, .. } => Slot::Text { start, end, parsed },
                Slot::Value(_) => Slot::Text { start, end, parsed: OnceCell::new() },
            };
        }
        self.data.pristine = Some(HashText { text: Some(text.clone()), cut: layout.cut });
        self.data.source = Some(text);
        Ok(self)
    }

    /// `JSON.stringify(session)`: the store record.
    pub(crate) fn to_record(&self) -> String {
        self.record_with_cookie_span().0
    }

    /// The text express-session hashes to detect changes.
    pub(crate) fn hash_text(&self) -> HashText {
        if let Some(h) = &self.data.pristine {
            return h.clone();
        }
        let mut s = String::with_capacity(128);
        self.data.write(&mut s, |_| {});
        HashText::whole(&s)
    }

    /// The session as a JSON value (`JSON.parse(JSON.stringify(req.session))`).
    pub(crate) fn to_json(&self) -> Value {
        let mut m = Map::new();
        for e in &self.data.entries {
            match self.data.value(e) {
                None => m.insert("cookie", self.cookie.to_json()),
                Some(v) => m.insert(self.data.key(e), v.clone()),
            };
        }
        Value::Object(m)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::action::StoreKind;
    use crate::record::{Fields, RecordText, parse_record};
    use crate::record::{Record, RecordInput, read_record};
    use crate::session_cookie::cookie_key_index;

    fn read_text(text: Arc<str>, now: f64) -> Record {
        read_record(RecordInput::Shared(text), now, StoreKind::Memory)
    }
    use crate::session_cookie::{Attr, CookieOptions, SessionCookie};

    #[test]
    fn reserved_keys_match_the_list() {
        for k in RESERVED_KEYS {
            assert!(is_reserved(k));
        }
        assert!(!is_reserved("views") && !is_reserved("Cookie") && !is_reserved(""));
    }

    fn text_of(h: &HashText) -> String {
        format!("{}{}", &h.full()[..h.cut.0], &h.full()[h.cut.1..])
    }

    #[test]
    fn cookie_span_cuts_out_the_hash_text() {
        for keys in [&["cookie"][..], &["cookie", "a"], &["a", "cookie"], &["a", "cookie", "b"], &["a", "b"]] {
            let mut data = Data::default();
            for k in keys {
                if *k == "cookie" {
                    data.put(Key::Owned("cookie".into()), Slot::Cookie, "cookie");
                } else {
                    data.insert(k, Value::Number(1.0));
                }
            }
            let s = Session::read(data, SessionCookie::generate(&CookieOptions::default(), 0.0, false));
            let (record, (a, b)) = s.record_with_cookie_span();
            assert_eq!(record, s.to_record());
            let hash = s.hash_text();
            assert_eq!(format!("{}{}", &record[..a], &record[b..]), text_of(&hash), "{keys:?}");
            assert!(hash.eq_cut(&record, (a, b)));
        }
    }

    fn loaded(record: &str) -> Session {
        match read_record(RecordInput::Bytes(record.as_bytes()), 0.0, StoreKind::Memory) {
            Record::Session { session, .. } => *session,
            _ => panic!("not a session: {record}"),
        }
    }

    #[test]
    fn canonical_records_are_copied_and_hashed_without_serializing() {
        let c = r#""cookie":{"originalMaxAge":null,"expires":null,"httpOnly":true,"path":"/"}"#;
        for record in [
            format!("{{{c}}}"),
            format!(r#"{{{c},"n":1,"s":"x\n\u001f","a":[1.5,{{"0":1,"b":null}}]}}"#),
            format!(r#"{{"n":-2,{c},"o":{{"1":true,"2":false}}}}"#),
            format!(r#"{{"n":1e+21,"m":"é",{c}}}"#),
        ] {
            let s = loaded(&record);
            let Some(pristine) = s.data.pristine.clone() else { panic!("not canonical: {record}") };
            assert_eq!(s.to_record(), record);
            // The free hash text is the one serializing would give.
            let mut serialized = String::new();
            s.data.write(&mut serialized, |_| {});
            assert_eq!(text_of(&pristine), serialized, "{record}");
            assert!(s.data.entries.iter().all(|e| !matches!(e.slot, Slot::Value(_))));
        }
    }

    #[test]
    fn non_canonical_values_are_parsed_and_rewritten() {
        let c = r#""cookie":{"originalMaxAge":null,"expires":null,"httpOnly":true,"path":"/"}"#;
        for (record, rewritten) in [
            (format!(r#"{{{c},"n":1.0}}"#), format!(r#"{{{c},"n":1}}"#)),
            (format!(r#"{{{c},"n":-0}}"#), format!(r#"{{{c},"n":0}}"#)),
            (format!(r#"{{{c},"s":"\u0041\/"}}"#), format!(r#"{{{c},"s":"A/"}}"#)),
            (format!(r#"{{{c},"o":{{"b":1,"a":2,"b":3}}}}"#), format!(r#"{{{c},"o":{{"b":3,"a":2}}}}"#)),
            (format!(r#"{{{c},"o":{{"b":1,"1":2}}}}"#), format!(r#"{{{c},"o":{{"1":2,"b":1}}}}"#)),
            (format!(r#"{{{c}, "n":1}}"#), format!(r#"{{{c},"n":1}}"#)),
            (format!(r#"{{{c},"b":1,"1":2}}"#), format!(r#"{{"1":2,{c},"b":1}}"#)),
            (format!(r#"{{{c},"a":1,"a":2}}"#), format!(r#"{{{c},"a":2}}"#)),
            (format!(r#"{{{c},"\u0061":1}}"#), format!(r#"{{{c},"a":1}}"#)),
        ] {
            let s = loaded(&record);
            assert!(s.data.pristine.is_none(), "{record}");
            assert_eq!(s.to_record(), rewritten, "{record}");
        }
    }

    #[test]
    fn lazy_values_read_like_parsed_ones() {
        for t in ["0", "41", "123456789012345", "-3", "1.5", "1e+21", r#""""#, r#""a é""#, r#""a\"b""#, "[1]", "null"]
        {
            assert_eq!(parse_canonical(t), json::from_str(t).unwrap(), "{t}");
        }
        let s = loaded(r#"{"cookie":{"path":"/"},"a":{"x":[1,"2"]},"n":41}"#);
        assert_eq!(s.data.get("n"), Some(&Value::Number(41.0)));
        assert_eq!(s.data.get("a"), json::from_str(r#"{"x":[1,"2"]}"#).ok().as_ref());
        assert_eq!(s.data.get("cookie"), None);
        assert_eq!(s.data.get_json("a").as_deref(), Some(r#"{"x":[1,"2"]}"#));
        assert_eq!(s.data.get_json("cookie"), None);
        let keys: Vec<&str> = s.data.iter().map(|(k, _)| k).collect();
        assert_eq!(keys, ["a", "n"]);
        let mut s = s;
        assert_eq!(s.data.remove("a"), json::from_str(r#"{"x":[1,"2"]}"#).ok());
        s.data.insert("n", Value::Number(42.0));
        assert!(s.data.pristine.is_none());
        assert_eq!(s.data.get_json("n").as_deref(), Some("42"));
        assert_eq!(s.to_record(), r#"{"cookie":{"expires":null,"httpOnly":true,"path":"/"},"n":42}"#);
    }

    /// The cookie the generic reader makes of a record cookie text, and its
    /// `expires` date; `None` if it is not a session.
    fn generic_cookie(text: &str, now: f64) -> Option<(SessionCookie, Option<f64>)> {
        let record = format!("{{\"cookie\":{text}}}");
        let mut fields = Fields::default();
        let parsed = parse_record(record.as_bytes(), cookie_key_index, &mut fields, |_| {}).ok()?;
        let RecordText::Object { cookie, .. } = parsed else { return None };
        let (_, date) = crate::record::member_expired(cookie.as_ref(), &fields, now);
        Some((SessionCookie::from_record_parsed(cookie, &mut fields, date, now).ok()?, date))
    }

    /// The record cookie keys, and one that means nothing.
    const KEYS: [&str; 12] = {
        let mut keys = ["other"; 12];
        let mut i = 0;
        while i < COOKIE_KEYS.len() {
            keys[i] = COOKIE_KEYS[i];
            i += 1;
        }
        keys
    };
    const VALUES: [&str; 20] = [
        "null",
        "true",
        "false",
        "0",
        "-0",
        "7",
        "3600000",
        "-12",
        "123456789012345",
        "1234567890123456",
        "1.5",
        "1e3",
        "01",
        r#""/""#,
        r#""lax""#,
        r#""2023-11-14T23:13:20.000Z""#,
        r#""Tue, 14 Nov 2023 23:13:20 GMT""#,
        r#""x\"y""#,
        r#""not a date""#,
        "[]",
    ];

    proptest::proptest! {
        /// The canonical reader agrees with the generic one wherever it
        /// answers, and it answers for every cookie `toJSON` could write.
        #[test]
        fn canonical_cookies_read_like_generic_ones(
            members in proptest::collection::vec((0..KEYS.len(), 0..VALUES.len()), 0..10),
            now in proptest::prop_oneof![proptest::strategy::Just(1.7e12), 0.0..2e12],
        ) {
            let body: Vec<String> = members.iter().map(|&(k, v)| format!("\"{}\":{}", KEYS[k], VALUES[v])).collect();
            let text = format!("{{{}}}", body.join(","));
            let generic = generic_cookie(&text, now);
            let fast = SessionCookie::read_canonical(&Arc::from(text.as_str()), 0);
            if let Some(crate::session_cookie::CanonicalCookie { cookie, date, end }) = &fast {
                proptest::prop_assert_eq!(*end, text.len());
                let Some((generic, generic_date)) = generic else {
                    return Err(proptest::test_runner::TestCaseError::fail(format!("generic refused {text}")));
                };
                proptest::prop_assert_eq!(format!("{cookie:?}"), format!("{generic:?}"), "{}", text);
                proptest::prop_assert_eq!(format!("{date:?}"), format!("{generic_date:?}"), "{}", text);
                // Written back (as read, and after a touch) as the generic cookie is.
                let (mut cookie, mut generic) = (cookie.clone(), generic);
                for step in 0..2 {
                    let (mut a, mut b) = (String::new(), String::new());
                    cookie.write_json(&mut a);
                    generic.write_json(&mut b);
                    proptest::prop_assert_eq!(&a, &b, "{} (step {})", text, step);
                    let (x, y) = (cookie.touch(now), generic.touch(now));
                    proptest::prop_assert_eq!(x, y);
                }
            }
            // Keys in toJSON order, once each, with plain values: always read.
            let ordered = members.windows(2).all(|w| w[0].0 < w[1].0) && members.iter().all(|&(k, v)| {
                k < 9 && (VALUES[v] == "null" || VALUES[v].starts_with('"') && !VALUES[v].contains('\\')
                    || (k != 3 && (matches!(VALUES[v], "true" | "false") || (v <= 8 && VALUES[v] != "-0"))))
            });
            if ordered {
                proptest::prop_assert!(fast.is_some(), "{}", text);
            }
        }
    }

    #[test]
    fn written_cookies_are_read_canonically() {
        let opts = CookieOptions {
            max_age: Some(60_000.0),
            secure: Some(Value::Bool(true)),
            same_site: Some(Value::String("strict".into())),
            domain: Some(Value::String("example.org".into())),
            priority: Some(Value::String("high".into())),
            partitioned: Some(Value::Bool(true)),
            ..Default::default()
        };
        for opts in [CookieOptions::default(), opts] {
            let cookie = SessionCookie::generate(&opts, 1.7e12, true);
            let mut text = String::new();
            cookie.write_json(&mut text);
            let Some(read) = SessionCookie::read_canonical(&Arc::from(text.as_str()), 0) else { panic!("{text}") };
            assert_eq!((read.cookie, read.end), (cookie, text.len()), "{text}");
        }
    }

    proptest::proptest! {
        /// The change count the request compares before any text (a
        /// snapshot at the same count matches without comparing): every
        /// change of the data's text moves it on, whatever the operation.
        #[test]
        fn every_change_of_the_text_moves_the_change_count(
            ops in proptest::collection::vec((0..4usize, 0..DATA_KEYS.len(), 0..DATA_VALUES.len()), 0..12),
        ) {
            let text = r#"{"cookie":{"originalMaxAge":60000,"expires":"2033-11-14T23:13:20.000Z","httpOnly":true,"path":"/"},"a":1,"id":2}"#;
            let mut s = match read_record(RecordInput::Bytes(text.as_bytes()), NOW, StoreKind::Memory) {
                Record::Session { session, .. } => *session,
                _ => panic!("test record"),
            };
            let (mut count, mut seen) = (s.data.changes(), text_of(&s.hash_text()));
            for (op, k, v) in ops {
                match op {
                    0 => s.data.insert(DATA_KEYS[k], data_value(v)),
                    1 => drop(s.data.remove(DATA_KEYS[k])),
                    2 => s.data.drop_reserved_keys(),
                    _ => drop(s.data.put_read(DATA_KEYS[k], None, ReadSlot::Value(data_value(v)))),
                }
                let now = text_of(&s.hash_text());
                if now != seen {
                    proptest::prop_assert_ne!(s.data.changes(), count, "{} -> {}", seen, now);
                }
                (count, seen) = (s.data.changes(), now);
            }
        }
    }

    #[test]
    fn a_new_sessions_change_text_is_the_empty_object() {
        let s = Session::new(SessionCookie::generate(&CookieOptions::default(), NOW, false));
        assert!(s.hash_text().same_as(&HashText::empty_object()));
        assert!(HashText::empty_object().eq_cut("{}", (0, 0)));
    }

    #[test]
    fn spliced_texts_compare_piece_by_piece() {
        assert!(spliced_eq(b"abXYcd", (2, 4), b"abcd", (0, 0)));
        assert!(spliced_eq(b"abXYcd", (2, 4), b"aZZbcd", (1, 3)));
        assert!(!spliced_eq(b"abXYcd", (2, 4), b"abce", (0, 0)));
        assert!(!spliced_eq(b"abXYcd", (2, 4), b"abc", (0, 0)));
        assert!(spliced_eq(b"", (0, 0), b"xy", (0, 2)));
        assert!(!spliced_eq(b"ab", (1, 5), b"a", (0, 0)), "a cut past the end never matches");
    }

    /// Data values for the read-form test, as JSON text (and two values
    /// JSON has no text for).
    const DATA_VALUES: [&str; 14] = [
        "null",
        "true",
        "0",
        "-0",
        "1.5",
        "1e21",
        "123456789012345678",
        r#""x\ny""#,
        "\"\u{e9}\u{2028}\"",
        r#"[1,{"b":1,"1":2}]"#,
        r#"{"z":{"0":[]},"a":"\u0041"}"#,
        r#""""#,
        "NaN",
        "Infinity",
    ];
    const DATA_KEYS: [&str; 10] =
        ["a", "views", "1", "0", "42", "a\"b", "\u{e9}", "\u{1}", "4294967295", "constructor"];

    fn data_value(i: usize) -> Value {
        match DATA_VALUES[i] {
            "NaN" => Value::Number(f64::NAN),
            "Infinity" => Value::Number(f64::INFINITY),
            t => json::from_str(t).expect("test value"),
        }
    }

    fn cookie_attr(i: usize) -> Attr {
        match i {
            0 => Attr::Undefined,
            1 => Attr::Date(NOW + 3_600_000.0),
            2 => Attr::Date(f64::NAN),
            3 => Attr::Date(1.0e12),
            4 => Attr::Date(8.0e15),
            5 => Attr::NULL,
            6 => Attr::Val(Value::Bool(false)),
            7 => Attr::Val(Value::String("/x".into())),
            8 => Attr::Val(Value::Number(60_000.0)),
            9 => Attr::Val(Value::Number(-0.0)),
            10 => Attr::Val(Value::Number(1.5)),
            11 => Attr::Val(Value::Number(f64::NAN)),
            12 => Attr::Val(Value::Array(vec![])),
            _ => Attr::Val(Value::String("2023-11-14T23:13:20.000Z".into())),
        }
    }

    fn cookie_field(c: &mut SessionCookie, i: usize) -> &mut Attr {
        match i {
            0 => &mut c.original_max_age,
            1 => &mut c.partitioned,
            2 => &mut c.priority,
            3 => &mut c.expires,
            4 => &mut c.secure,
            5 => &mut c.http_only,
            6 => &mut c.domain,
            7 => &mut c.path,
            _ => &mut c.same_site,
        }
    }

    /// What a session shows of itself: its data and cookie, its record and
    /// its change-detection text.
    fn observed(s: &Session) -> (String, String, String) {
        let data: Vec<(&str, &Value)> = s.data.iter().collect();
        (format!("{data:?} {:?}", s.cookie), s.to_record(), text_of(&s.hash_text()))
    }

    const NOW: f64 = 1.7e12;

    proptest::proptest! {
        /// A session put in its read form from the record it wrote is the
        /// session reading that record gives: the same data, cookie, record
        /// and change-detection text, and the same after further changes;
        /// an expired one is the absent record reading gives.
        #[test]
        fn read_forms_are_what_reading_gives(
            loaded in proptest::option::of(0..3usize),
            ops in proptest::collection::vec((0..DATA_KEYS.len(), proptest::option::of(0..DATA_VALUES.len())), 0..8),
            attrs in proptest::collection::vec((0..9usize, 0..14usize), 0..4),
            touch in proptest::bool::ANY,
        ) {
            let opts = CookieOptions { max_age: Some(60_000.0), ..CookieOptions::default() };
            let mut s = match loaded {
                None => Session::new(SessionCookie::generate(&opts, NOW, false)),
                Some(i) => {
                    let c = r#""cookie":{"originalMaxAge":60000,"expires":"2033-11-14T23:13:20.000Z","httpOnly":true,"path":"/"}"#;
                    let text = [format!(r#"{{{c},"a":1}}"#), format!(r#"{{"b":[1, 2],{c},"1":true}}"#), format!(r#"{{"id":3,{c}}}"#)];
                    match read_record(RecordInput::Bytes(text[i].as_bytes()), NOW, StoreKind::Memory) {
                        Record::Session { session, .. } => *session,
                        _ => panic!("test record"),
                    }
                }
            };
            for (k, v) in ops {
                match v {
                    Some(v) => s.data.insert(DATA_KEYS[k], data_value(v)),
                    None => drop(s.data.remove(DATA_KEYS[k])),
                }
            }
            let plain_cookie = attrs.is_empty();
            for (field, value) in attrs {
                *cookie_field(&mut s.cookie, field) = cookie_attr(value);
            }
            if touch {
                let _ = s.cookie.touch(NOW + 1000.0);
            }
            let (text, layout) = s.record_with_layout();
            let text: Arc<str> = Arc::from(text);
            let Ok(mut fast) = Box::new(s.clone()).into_read_form(text.clone(), &layout) else {
                // Only a cookie that JSON does not carry, or a shadowed key,
                // keeps the text alone.
                let shadowed = s.data.iter().any(|(k, _)| is_reserved(k));
                proptest::prop_assert!(!plain_cookie || shadowed, "{}", text);
                return Ok(());
            };
            match read_text(text.clone(), NOW) {
                Record::Session { session, original } => {
                    let mut read = *session;
                    proptest::prop_assert!(original.is_none());
                    proptest::prop_assert!(!fast.cookie.expired_at(NOW), "{}", text);
                    proptest::prop_assert_eq!(observed(&fast), observed(&read), "{}", text);
                    proptest::prop_assert_eq!(&fast.to_record(), &*text);
                    // And after further changes.
                    let (x, y) = (fast.cookie.touch(NOW + 5000.0), read.cookie.touch(NOW + 5000.0));
                    proptest::prop_assert_eq!(x, y);
                    proptest::prop_assert_eq!(observed(&fast), observed(&read), "{} touched", text);
                    fast.data.insert("zz", Value::Number(1.0));
                    read.data.insert("zz", Value::Number(1.0));
                    proptest::prop_assert_eq!(observed(&fast), observed(&read), "{} changed", text);
                }
                Record::Absent | Record::Expired => proptest::prop_assert!(fast.cookie.expired_at(NOW), "{}", text),
                Record::Corrupt(e) => {
                    return Err(proptest::test_runner::TestCaseError::fail(format!("{e}: {text}")));
                }
            }
        }
    }

    proptest::proptest! {
        /// Records of any key order (repeats, index keys in any order, past
        /// the size at which keys are indexed) read as `JSON.parse` orders
        /// them, and a key looked up after reading is found.
        #[test]
        fn records_read_in_javascript_property_order(
            keys in proptest::collection::vec(0..60usize, 0..80),
            cookie_at in 0..80usize,
        ) {
            let c = r#""cookie":{"originalMaxAge":null,"expires":null,"httpOnly":true,"path":"/"}"#;
            let key = |i: usize| if i.is_multiple_of(2) { (i / 2).to_string() } else { format!("k{}", i / 2) };
            let mut members: Vec<String> = keys.iter().enumerate().map(|(n, &k)| format!("\"{}\":{n}", key(k))).collect();
            members.insert(cookie_at.min(members.len()), c.to_string());
            let text = format!("{{{}}}", members.join(","));
            let s = loaded(&text);
            let expected = json::to_string(&json::from_str(&text).expect("test record"));
            proptest::prop_assert_eq!(s.to_record(), expected);
            for &k in &keys {
                proptest::prop_assert!(s.data.get(&key(k)).is_some(), "{}", key(k));
                proptest::prop_assert!(s.data.contains_key(&key(k)));
            }
            proptest::prop_assert!(!s.data.contains_key("zz") && !s.data.contains_key("99"));
        }
    }

    #[test]
    fn written_sessions_take_their_read_form() {
        let opts = CookieOptions { max_age: Some(60_000.0), ..CookieOptions::default() };
        let mut s = Session::new(SessionCookie::generate(&opts, NOW, false));
        s.data.insert("views", Value::Number(1.0));
        s.data.insert("user", json::from_str(r#"{"name":"a\"b","roles":[1,2]}"#).unwrap());
        let (text, layout) = s.record_with_layout();
        let fast = Box::new(s.clone()).into_read_form(Arc::from(text.as_str()), &layout).expect("read form");
        assert_eq!(fast.to_record(), text);
        assert!(fast.data.pristine.is_some());
        assert!(fast.data.entries.iter().all(|e| !matches!(e.slot, Slot::Value(_))));
        // A cookie that JSON does not carry as it is keeps the text alone.
        for (field, bad) in [(3, Attr::Date(f64::NAN)), (3, Attr::Val(Value::Number(-0.0))), (7, Attr::Undefined)] {
            let mut s = s.clone();
            *cookie_field(&mut s.cookie, field) = bad;
            let (text, layout) = s.record_with_layout();
            assert!(Box::new(s).into_read_form(Arc::from(text.as_str()), &layout).is_err());
        }
    }
}

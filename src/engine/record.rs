//! The store record format, in one place: reading record text into a
//! session (express-session's `JSON.parse` + `createSession`, with the
//! store's own rules, [`StoreKind`]), the records the engine hands to
//! stores ([`StoredRecord`]), a touch's cookie replacement as MemoryStore
//! does it, and the expiry and TTL rules stores apply to records.
//!
//! A record is `JSON.stringify(session)`: the session's data keys in
//! JavaScript property order, with a `cookie` member holding the cookie's
//! `toJSON` (`originalMaxAge`, `partitioned`, `priority`, `expires`,
//! `secure`, `httpOnly`, `domain`, `path`, `sameSite`). The session model
//! (`session.rs`) writes it; this module reads it.

use std::sync::Arc;

use crate::action::StoreKind;
use crate::json::{self, ParseError, Parser, Value, canonical_end_within};
use crate::session::{Data, HashText, ReadSlot, Session};
use crate::session_cookie::{COOKIE_KEYS, SessionCookie, cookie_key_index};

/// A session record's top level, with its `cookie` member parsed into the
/// known attributes only (no key strings are allocated for them), and every
/// other member's value either kept as a span of canonical text (see
/// [`canonical_end`]) or parsed.
#[derive(Debug)]
pub(crate) enum RecordText {
    /// The text is not an object.
    NotObject(Value),
    /// An object (its members were handed out in text order, repeats
    /// included), and the last `cookie` member's value, if any. `compact`:
    /// no whitespace around the members (each member starts right after the
    /// `{` or `,` before it).
    Object { cookie: Option<CookieMember>, compact: bool },
}

/// One member of a record's top level.
#[derive(Debug)]
pub(crate) struct Member<'a> {
    pub key: std::borrow::Cow<'a, str>,
    /// Where the key's characters are in the text, when they need no
    /// escaping (then they are the key itself).
    pub key_span: Option<(usize, usize)>,
    /// The whole member, from the key's opening quote to the value's end.
    pub span: (usize, usize),
    pub value: MemberValue,
}

/// A record member's value.
#[derive(Debug)]
pub(crate) enum MemberValue {
    /// The `cookie` member (its value is the record's `cookie`).
    Cookie,
    /// Canonical text at this byte range: `JSON.stringify(JSON.parse(t))`
    /// gives back exactly `t`, so it can be copied instead of re-serialized.
    Raw(usize, usize),
    Parsed(Value),
}

/// The value of a record's `cookie` member.
#[derive(Debug)]
pub(crate) enum CookieMember {
    /// An object: `(index into the known keys, value)` in JavaScript property
    /// order (a repeated key keeps its first place and its last value);
    /// unknown keys are validated and dropped. They are in the [`Fields`]
    /// given to [`parse_record`] (kept in place: records are read on every
    /// request).
    Fields,
    /// An object the caller's canonical reader took (see [`parse_record_str`]).
    Canonical,
    /// Anything else.
    Other(Value),
}

/// Most names [`parse_record`] keeps from a record's `cookie` member.
pub(crate) const MAX_FIELDS: usize = 12;

/// Deepest nesting of a value in a record's `cookie` member (its attributes
/// are scalars; anything deeper is a corrupt record, so that no cookie
/// attribute ever needs a deep traversal).
const COOKIE_VALUE_MAX_DEPTH: usize = 16;

/// Bounds on reading a store record: a record that exceeds one is corrupt
/// (the request fails as for any unreadable record) and costs no more than
/// reading that many bytes. A store shared with other applications, or a
/// handler that stores what a user sent, cannot make a worker spend more.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RecordLimits {
    /// Longest record text, in bytes (default 1 MiB).
    pub max_bytes: usize,
    /// Most keys in one object of the record, the top level included
    /// (default [`MAX_KEYS`](crate::json::MAX_KEYS), 16384).
    pub max_keys: usize,
    /// Most levels of nested arrays and objects, the record object itself
    /// counting as one (`{"a":[[1]]}` has 3; default
    /// [`MAX_DEPTH`](crate::json::MAX_DEPTH), 512).
    pub max_depth: usize,
}

impl Default for RecordLimits {
    fn default() -> Self {
        RecordLimits { max_bytes: 1 << 20, max_keys: json::MAX_KEYS, max_depth: json::MAX_DEPTH }
    }
}

/// A record cookie's known attributes: `(index into the known names,
/// value)`. Empty until the generic cookie reader fills it (most records
/// never need it), so making and dropping one costs nothing.
#[derive(Debug, Default)]
pub(crate) struct Fields {
    items: Vec<(usize, Value)>,
    /// The value under [`DATE_FIELD`] is the time value of the string the
    /// record held there, read as `Date.parse` reads it (the string itself
    /// is never needed: `createSession` turns it into a `Date`).
    date: bool,
}

/// The known cookie attribute whose string value is read as a date
/// (`expires`, in the order of `session_cookie::COOKIE_KEYS`).
pub(crate) const DATE_FIELD: usize = 3;

impl Fields {
    pub(crate) fn iter(&self) -> impl Iterator<Item = &(usize, Value)> {
        self.items.iter()
    }

    /// The time value of [`DATE_FIELD`]'s string, if that is what it holds.
    pub(crate) fn date(&self) -> Option<f64> {
        if !self.date {
            return None;
        }
        match self.items.iter().find(|(k, _)| *k == DATE_FIELD) {
            Some((_, Value::Number(t))) => Some(*t),
            _ => None,
        }
    }

    /// Assigns as `obj[key] = value` does: a repeated name keeps its place.
    fn set(&mut self, k: usize, v: Value) {
        if k == DATE_FIELD {
            self.date = false;
        }
        let len = self.items.len();
        match self.items.iter_mut().find(|(x, _)| *x == k) {
            Some(slot) => slot.1 = v,
            None if len < MAX_FIELDS => self.items.push((k, v)),
            None => {}
        }
    }

    /// Moves the entries out, in order, leaving none.
    pub(crate) fn drain(&mut self) -> impl Iterator<Item = (usize, Value)> + '_ {
        self.date = false;
        self.items.drain(..)
    }
}

/// Parses a session record; `known` gives the index of a cookie attribute
/// name that is kept
/// (at most [`MAX_FIELDS`]). Members other than `cookie` go to `member`.
pub(crate) fn parse_record<'a>(
    bytes: &'a [u8],
    known: fn(&[u8]) -> Option<usize>,
    fields: &mut Fields,
    member: impl FnMut(Member<'a>),
) -> Result<RecordText, ParseError> {
    parse_record_with(Parser::new(bytes, None), known, fields, |_| None, member)
}

/// [`parse_record`] of text already known to be UTF-8 (its strings are
/// sliced, not validated again). `canonical_cookie` is offered each
/// `cookie` member that is an object first, at its `{`: it returns where the
/// object ends if it read it (then the member is [`CookieMember::Canonical`]),
/// or `None` to leave it to the generic reader.
pub(crate) fn parse_record_str<'a>(
    text: &'a str,
    limits: &RecordLimits,
    known: fn(&[u8]) -> Option<usize>,
    fields: &mut Fields,
    canonical_cookie: impl FnMut(usize) -> Option<usize>,
    member: impl FnMut(Member<'a>),
) -> Result<RecordText, ParseError> {
    let mut p = Parser::new(text.as_bytes(), Some(text));
    p.max_depth = limits.max_depth;
    p.max_keys = limits.max_keys;
    parse_record_with(p, known, fields, canonical_cookie, member)
}

fn parse_record_with<'a>(
    mut p: Parser<'a>,
    known: fn(&[u8]) -> Option<usize>,
    fields: &mut Fields,
    mut canonical_cookie: impl FnMut(usize) -> Option<usize>,
    mut member: impl FnMut(Member<'a>),
) -> Result<RecordText, ParseError> {
    p.ws();
    if p.b.get(p.i) != Some(&b'{') {
        let v = p.value(0)?;
        p.ws();
        if p.i != p.b.len() {
            return Err(p.err("trailing characters"));
        }
        return Ok(RecordText::NotObject(v));
    }
    let mut compact = p.i == 0;
    p.i += 1;
    let mut cookie = None;
    let mut members = 0usize;
    p.ws();
    if p.b.get(p.i) == Some(&b'}') {
        p.i += 1;
    } else {
        loop {
            members += 1;
            if members > p.max_keys {
                return Err(p.err("too many keys in an object"));
            }
            let before = p.i;
            p.ws();
            compact &= p.i == before;
            if p.b.get(p.i) != Some(&b'"') {
                return Err(p.err("expected a string key"));
            }
            let start = p.i;
            let key = p.string_cow()?;
            let key_span = matches!(key, std::borrow::Cow::Borrowed(_)).then_some((start + 1, p.i - 1));
            p.ws();
            if p.b.get(p.i) != Some(&b':') {
                return Err(p.err("expected ':'"));
            }
            p.i += 1;
            p.ws();
            let value = if key == "cookie" {
                cookie = Some(if p.b.get(p.i) == Some(&b'{') {
                    match canonical_cookie(p.i) {
                        Some(end) => {
                            p.i = end;
                            CookieMember::Canonical
                        }
                        None => {
                            read_cookie_fields(&mut p, known, fields)?;
                            CookieMember::Fields
                        }
                    }
                } else {
                    CookieMember::Other(cookie_value(&mut p, 1)?)
                });
                MemberValue::Cookie
            } else if let Some(end) = canonical_end_within(p.b, p.i, p.max_depth.saturating_sub(1), p.max_keys) {
                let at = p.i;
                p.i = end;
                MemberValue::Raw(at, end)
            } else {
                MemberValue::Parsed(p.value(1)?)
            };
            member(Member { key, key_span, span: (start, p.i), value });
            let before = p.i;
            p.ws();
            compact &= p.i == before;
            match p.b.get(p.i) {
                Some(b',') => p.i += 1,
                Some(b'}') => {
                    p.i += 1;
                    break;
                }
                _ => return Err(p.err("expected ',' or '}'")),
            }
        }
    }
    compact &= p.i == p.b.len();
    p.ws();
    if p.i != p.b.len() {
        return Err(p.err("trailing characters"));
    }
    Ok(RecordText::Object { cookie, compact })
}

/// A value in a record's `cookie` member, at most
/// [`COOKIE_VALUE_MAX_DEPTH`] levels deep (whatever the record's limit).
fn cookie_value(p: &mut Parser<'_>, depth: usize) -> Result<Value, ParseError> {
    let max_depth = p.max_depth;
    p.max_depth = max_depth.min(COOKIE_VALUE_MAX_DEPTH);
    let v = p.value(depth);
    p.max_depth = max_depth;
    v
}

/// Reads a record cookie object at `p` into `out`: the attributes `known`
/// names (at most [`MAX_FIELDS`]); the string of [`DATE_FIELD`] read as a
/// date, as `createSession` turns it into one.
fn read_cookie_fields(
    p: &mut Parser<'_>,
    known: fn(&[u8]) -> Option<usize>,
    out: &mut Fields,
) -> Result<(), ParseError> {
    p.i += 1; // '{'
    out.drain().for_each(drop);
    p.ws();
    if p.b.get(p.i) == Some(&b'}') {
        p.i += 1;
        return Ok(());
    }
    loop {
        p.ws();
        if p.b.get(p.i) != Some(&b'"') {
            return Err(p.err("expected a string key"));
        }
        // Attribute names are plain ASCII: no decoding needed to look them up.
        let plain = p.b[p.i + 1..].iter().position(|&c| !(0x20..0x7f).contains(&c) || c == b'"' || c == b'\\');
        let k = match plain {
            Some(n) if p.b[p.i + 1 + n] == b'"' => {
                let key = &p.b[p.i + 1..p.i + 1 + n];
                p.i += n + 2;
                known(key)
            }
            _ => known(p.string_cow()?.as_bytes()),
        };
        p.ws();
        if p.b.get(p.i) != Some(&b':') {
            return Err(p.err("expected ':'"));
        }
        p.i += 1;
        p.ws();
        // Attribute strings are short and plain: no escapes to decode.
        match (k, p.plain_string()) {
            (Some(DATE_FIELD), Some(s)) => {
                let t = crate::date::parse(s);
                out.set(DATE_FIELD, Value::Number(t));
                out.date = true;
            }
            (Some(k), Some(s)) => out.set(k, Value::String(s.to_string())),
            (None, Some(_)) => {}
            (k, None) => {
                let v = cookie_value(p, 2)?;
                if let Some(k) = k {
                    out.set(k, v);
                }
            }
        }
        p.ws();
        match p.b.get(p.i) {
            Some(b',') => p.i += 1,
            Some(b'}') => {
                p.i += 1;
                return Ok(());
            }
            _ => return Err(p.err("expected ',' or '}'")),
        }
    }
}

/// A record the engine made, opaque to stores: its JSON text (what any
/// store writes) and what the engine already knows of it (where its cookie
/// is, and the session reading it gives). A store takes it at the end of
/// a request ([`Request::take_stored_record`](crate::Request::take_stored_record)),
/// keeps it, and gives it back at the next load
/// ([`LoadResult::Stored`](crate::LoadResult::Stored)): then nothing is
/// parsed. The session goes to the first load that takes it; a later load
/// reads the text. Records compare by their text.
#[derive(Clone)]
pub struct StoredRecord {
    text: Arc<str>,
    /// The `cookie` value's place in the text, when known.
    cookie: Option<(usize, usize)>,
    /// The session reading `text` gives; `None` for text alone.
    session: Option<Box<Session>>,
}

impl StoredRecord {
    /// A record of text alone (it is read when loaded).
    pub fn from_text(text: Arc<str>) -> Self {
        StoredRecord { text, cookie: None, session: None }
    }

    pub(crate) fn with_session(text: Arc<str>, cookie: Option<(usize, usize)>, session: Option<Box<Session>>) -> Self {
        StoredRecord { text, cookie, session }
    }

    /// The record for one load: the text, and the session if this record
    /// still holds it (moved out: a later load reads the text). What a
    /// store that keeps the record gives at each load.
    pub fn take_for_load(&mut self) -> StoredRecord {
        StoredRecord { text: Arc::clone(&self.text), cookie: self.cookie, session: self.session.take() }
    }

    /// The record's JSON text.
    pub fn text(&self) -> &Arc<str> {
        &self.text
    }

    /// Whether the session it holds comes with it, read.
    pub fn is_read(&self) -> bool {
        self.session.is_some()
    }
}

impl PartialEq for StoredRecord {
    fn eq(&self, other: &StoredRecord) -> bool {
        self.text == other.text
    }
}

impl Eq for StoredRecord {}

impl std::fmt::Debug for StoredRecord {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StoredRecord").field("text", &self.text).field("read", &self.is_read()).finish()
    }
}

/// What a store record turned out to be.
pub(crate) enum Record {
    /// express-session would generate a new session (a falsy record).
    Absent,
    /// Likewise, because the record expired by the store's rule.
    Expired,
    /// A session; `original` is the change-detection text when it differs
    /// from the loaded data (keys were dropped).
    Session { session: Box<Session>, original: Option<HashText> },
    /// express-session would fail the request with this (JavaScript) message.
    Corrupt(String),
}

/// MemoryStore's expiry rule on a parsed `cookie` member, and the record's
/// `expires` string read as a date (which `createSession` needs too).
pub(crate) fn member_expired(cookie: Option<&CookieMember>, fields: &Fields, now: f64) -> (bool, Option<f64>) {
    let Some(CookieMember::Fields) = cookie else { return (false, None) };
    if let Some(t) = fields.date() {
        return (t <= now, Some(t));
    }
    let (t, date) = match fields.iter().find(|(k, _)| COOKIE_KEYS[*k] == "expires").map(|(_, v)| v) {
        None | Some(Value::Null) => return (false, None),
        Some(Value::String(s)) => {
            let t = crate::date::parse(s);
            (t, Some(t))
        }
        Some(v) if !v.truthy() => return (false, None),
        Some(v) => (v.to_js_number(), None),
    };
    (t <= now, date)
}

/// A store record as the host hands it over.
pub(crate) enum RecordInput<'a> {
    Bytes(&'a [u8]),
    /// Text the store shares: kept as it is, not copied.
    Shared(Arc<str>),
}

/// Reads a store record as express-session would with a store of `kind`:
/// the store's `get` (`JSON.parse`, and MemoryStore's expiry check), then
/// `createSession`.
#[cfg(test)]
pub(crate) fn read_record(record: RecordInput<'_>, now: f64, kind: StoreKind) -> Record {
    read_record_with(record, now, kind, &RecordLimits::default())
}

/// [`read_record`] within `limits`: a longer record is corrupt before
/// anything of it is read.
pub(crate) fn read_record_with(record: RecordInput<'_>, now: f64, kind: StoreKind, limits: &RecordLimits) -> Record {
    let len = match &record {
        RecordInput::Bytes(b) => b.len(),
        RecordInput::Shared(t) => t.len(),
    };
    if len > limits.max_bytes {
        return Record::Corrupt(format!("corrupt session record: longer than {} bytes", limits.max_bytes));
    }
    match record {
        RecordInput::Shared(text) => read_text(text, now, kind, limits),
        RecordInput::Bytes(bytes) => match std::str::from_utf8(bytes) {
            Ok(text) => read_text(Arc::from(text), now, kind, limits),
            Err(_) => corrupt_bytes(bytes),
        },
    }
}

/// Not UTF-8, so not JSON text: the parser says where.
fn corrupt_bytes(bytes: &[u8]) -> Record {
    Record::Corrupt(match parse_record(bytes, cookie_key_index, &mut Fields::default(), |_| {}) {
        Err(e) => format!("corrupt session record: {e}"),
        Ok(_) => "corrupt session record: invalid UTF-8".into(),
    })
}

/// [`read_record`] of `source`, which the session's spans point into.
fn read_text(source: Arc<str>, now: f64, kind: StoreKind, limits: &RecordLimits) -> Record {
    // MemoryStore checks the stored expiry; a TTL store's TTL is the authority.
    let checks_expiry = kind == StoreKind::Memory;
    let text: &str = &source;
    // Members are put in place as they are parsed, pointing into the text.
    let mut data = Data::over(source.clone());
    let mut in_order = true;
    let mut cookie_span = None;
    let mut fields = Fields::default();
    // The record's cookie as `Cookie#toJSON` writes it, read directly.
    let mut canonical = None;
    let read_canonical = |at| {
        let read = SessionCookie::read_canonical(&source, at)?;
        let end = read.end;
        canonical = Some(read);
        Some(end)
    };
    let parsed = parse_record_str(text, limits, cookie_key_index, &mut fields, read_canonical, |m| {
        in_order &= m.key_span.is_some();
        let slot = match m.value {
            MemberValue::Cookie => {
                in_order &= cookie_span.is_none();
                cookie_span = Some(m.span);
                ReadSlot::Cookie
            }
            MemberValue::Raw(start, end) => ReadSlot::Text(start, end),
            MemberValue::Parsed(v) => {
                in_order = false;
                ReadSlot::Value(v)
            }
        };
        in_order &= data.put_read(&m.key, m.key_span, slot);
    });
    data.finish_read();
    let (cookie, compact) = match parsed {
        Err(e) => return Record::Corrupt(format!("corrupt session record: {e}")),
        // connect-redis's `get` hands `JSON.parse`'s null on as "no session";
        // MemoryStore's reads `null.cookie` and throws.
        Ok(RecordText::NotObject(Value::Null)) if kind == StoreKind::Ttl => return Record::Absent,
        Ok(RecordText::NotObject(Value::Null)) => {
            return Record::Corrupt("Cannot read properties of null (reading 'cookie')".into());
        }
        Ok(RecordText::NotObject(v)) if !v.truthy() => return Record::Absent,
        Ok(RecordText::NotObject(_)) => {
            return Record::Corrupt("Cannot read properties of undefined (reading 'expires')".into());
        }
        Ok(RecordText::Object { cookie, compact }) => (cookie, compact),
    };
    let in_order = in_order && compact;
    let cookie = match (cookie, canonical) {
        (Some(CookieMember::Canonical), Some(read)) => {
            if checks_expiry && read.date.is_some_and(|t| t <= now) {
                return Record::Expired;
            }
            read.cookie
        }
        (cookie, _) => {
            let (expired, expires_date) = member_expired(cookie.as_ref(), &fields, now);
            if checks_expiry && expired {
                return Record::Expired;
            }
            match SessionCookie::from_record_parsed(cookie, &mut fields, expires_date, now) {
                Ok(c) => c,
                Err(msg) => return Record::Corrupt(msg),
            }
        }
    };
    let dropped = data.has_reserved_key();
    let original = dropped.then(|| data.change_text());
    if dropped {
        data.drop_reserved_keys();
    } else if in_order && let Some(span) = cookie_span {
        // The record is the data's own JSON text: cutting out the cookie
        // member (and one comma) gives the change-detection text.
        data.mark_as_read(span);
    }
    Record::Session { session: Box::new(Session::read(data, cookie)), original }
}

impl StoredRecord {
    /// The record as a load by a store of `kind` reads it at `now`.
    pub(crate) fn read(self, now: f64, kind: StoreKind, limits: &RecordLimits) -> Record {
        if self.text.len() > limits.max_bytes {
            return Record::Corrupt(format!("corrupt session record: longer than {} bytes", limits.max_bytes));
        }
        match self.session {
            // MemoryStore's rule on the cookie, as reading the text applies it.
            Some(session) if kind == StoreKind::Memory && session.cookie.expired_at(now) => Record::Expired,
            Some(session) => Record::Session { session, original: None },
            None => read_record_with(RecordInput::Shared(self.text), now, kind, limits),
        }
    }

    /// The record a MemoryStore holds after a touch whose record is `self`:
    /// `stored` (the record it held) with its `cookie` value replaced by
    /// this record's, as express-session's MemoryStore does
    /// (`currentSession.cookie = session.cookie`). When the two differ only
    /// in the cookie (the usual case), `self` itself, session included.
    /// `None` when `stored` is not an object (the store keeps it as it is).
    pub fn touched(self, stored: &StoredRecord) -> Option<StoredRecord> {
        let record: &str = &self.text;
        let known = self.cookie.filter(|&(s, e)| record.get(s..e).is_some_and(|c| c.starts_with('{')));
        let (ns, ne) = known.or_else(|| json::top_level_span(record.as_bytes(), "cookie"))?;
        let new_cookie = &record[ns..ne];
        let text: &str = &stored.text;
        let span = stored.cookie.or_else(|| json::top_level_span(text.as_bytes(), "cookie"));
        let (replaced, start) = match span {
            // Only the cookie differs: the result is this record.
            Some((s, e)) if text.get(..s) == record.get(..ns) && text.get(e..) == record.get(ne..) => {
                return Some(StoredRecord { cookie: Some((ns, ne)), ..self });
            }
            Some((s, e)) => ([&text[..s], new_cookie, &text[e..]].concat(), s),
            None => {
                // No cookie yet: `currentSession.cookie = …` appends it.
                let close = text.trim_end().strip_suffix('}')?;
                let sep = if close.trim_end().ends_with('{') { "" } else { "," };
                let prefix = format!("{close}{sep}\"cookie\":");
                let start = prefix.len();
                (format!("{prefix}{new_cookie}}}"), start)
            }
        };
        Some(StoredRecord { text: Arc::from(replaced), cookie: Some((start, start + new_cookie.len())), session: None })
    }
}

/// MemoryStore's touch on record texts: `stored` with its `cookie` value
/// replaced by `touched`'s (see [`StoredRecord::touched`]). `None` when
/// `stored` is not an object or `touched` has no cookie.
pub fn replace_cookie(stored: &str, touched: &str) -> Option<String> {
    let touched = StoredRecord::from_text(Arc::from(touched));
    touched.touched(&StoredRecord::from_text(Arc::from(stored))).map(|r| r.text.to_string())
}

/// The time (Unix ms, rounded up) at which a record counts as expired by
/// MemoryStore's `expires <= now` rule, or `None` if it never does.
pub fn memory_store_expiry(record: &Value) -> Option<i64> {
    // The rule is `expires <= now`: the smallest such integer `now`.
    let cookie = record.as_object()?.get("cookie")?.as_object()?;
    let t = match cookie.get("expires")? {
        Value::String(s) => crate::date::parse(s),
        v if !v.truthy() => return None,
        v => v.to_js_number(),
    };
    expired_from(t)
}

/// MemoryStore's `expires <= now` rule on an expiry time value: the first
/// whole millisecond at which it holds (`None`: never, for NaN or +∞).
pub(crate) fn expired_from(t: f64) -> Option<i64> {
    if t.is_nan() || t == f64::INFINITY {
        None
    } else if t == f64::NEG_INFINITY {
        Some(i64::MIN)
    } else {
        Some(t.ceil() as i64)
    }
}

/// connect-redis's default TTL in seconds (one day), for sessions whose
/// cookie has no expiry.
pub const CONNECT_REDIS_DEFAULT_TTL: i64 = 86_400;

/// connect-redis's default key prefix: a session's key is this prefix and
/// its ID (unsigned).
pub const CONNECT_REDIS_DEFAULT_PREFIX: &str = "sess:";

/// connect-redis's `getTTL`, in seconds: `ceil((expires_at - now) / 1000)`
/// for a cookie that expires at `expires_at` (Unix ms, as in
/// [`Action::Save`](crate::Action::Save)), else `default_ttl` (connect-redis
/// reads its option as `ttl || 86400`, so 0 means one day). A result <= 0
/// means the record must not be kept (a save deletes the key). The one
/// copy of the rule: `RedisStore` and the C ABI's
/// `libsession_request_action_ttl_seconds` use it.
pub fn connect_redis_ttl(expires_at: Option<i64>, now: i64, default_ttl: i64) -> i64 {
    match expires_at {
        // In f64, as JavaScript computes it (and without overflow).
        Some(at) => ((at as f64 - now as f64) / 1000.0).ceil() as i64,
        None if default_ttl == 0 => CONNECT_REDIS_DEFAULT_TTL,
        None => default_ttl,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ttls_follow_connect_redis() {
        let now = 1_700_000_000_000;
        assert_eq!(connect_redis_ttl(Some(now + 60_000), now, 5), 60);
        assert_eq!(connect_redis_ttl(Some(now + 59_001), now, 5), 60);
        assert_eq!(connect_redis_ttl(Some(now + 1), now, 5), 1);
        assert_eq!(connect_redis_ttl(Some(now), now, 5), 0);
        assert_eq!(connect_redis_ttl(Some(now - 1), now, 5), 0);
        assert_eq!(connect_redis_ttl(Some(now - 1_500), now, 5), -1);
        assert_eq!(connect_redis_ttl(None, now, 5), 5);
        assert_eq!(connect_redis_ttl(None, now, 0), CONNECT_REDIS_DEFAULT_TTL);
        assert_eq!(connect_redis_ttl(None, now, -3), -3);
    }

    #[test]
    fn touches_replace_the_cookie_as_memory_store_does() {
        let stored = r#"{"cookie":{"expires":null},"n":1}"#;
        assert_eq!(
            replace_cookie(stored, r#"{"cookie":{"expires":"x"},"n":2}"#).as_deref(),
            Some(r#"{"cookie":{"expires":"x"},"n":1}"#)
        );
        assert_eq!(replace_cookie(r#"{"n":1}"#, r#"{"cookie":{}}"#).as_deref(), Some(r#"{"n":1,"cookie":{}}"#));
        assert_eq!(replace_cookie(r#"{}"#, r#"{"cookie":{}}"#).as_deref(), Some(r#"{"cookie":{}}"#));
        assert_eq!(replace_cookie("[1]", r#"{"cookie":{}}"#), None, "not an object: kept as it is");
        assert_eq!(replace_cookie(stored, r#"{"n":1}"#), None, "no cookie to put in");
    }
}

//! JSON with JavaScript's semantics.
//!
//! Session records must be byte-compatible with what `JSON.stringify` writes in
//! Node, and change detection must agree with express-session's (which compares
//! `JSON.stringify` output). So this module reproduces the JavaScript rules that
//! matter: numbers are IEEE doubles printed as `Number#toString` does, object
//! keys that are array indices come first in ascending order (then the others in
//! insertion order), a repeated key keeps its first position and its last value,
//! and strings are escaped as `JSON.stringify` escapes them.

use std::collections::BTreeMap;
use std::fmt::Write as _;

/// Deepest nesting accepted by [`Value::from_json`] and, by default, in store
/// records ([`RecordLimits`](crate::RecordLimits)); deeper input is rejected.
/// The parser, the writer and the engine's drops do not recurse, so the
/// limit bounds memory, not the stack: 512 levels read, write and drop on a
/// 128 KiB thread stack in a debug build (`tests/hardening.rs`). Express
/// records need at least 300 (the differential corpus has such records).
pub const MAX_DEPTH: usize = 512;

/// Most keys one object may hold when read from JSON text (a denial of
/// service bound; [`RecordLimits`](crate::RecordLimits) sets the one for records).
pub const MAX_KEYS: usize = 16_384;

/// A JSON value. Numbers are `f64`, as in JavaScript.
#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    /// `null`.
    Null,
    /// `true` or `false`.
    Bool(bool),
    /// A number (an IEEE double, as in JavaScript).
    Number(f64),
    /// A string.
    String(String),
    /// An array.
    Array(Vec<Value>),
    /// An object, its keys in JavaScript property order.
    Object(Map),
}

// Every array element and record value is a `Value`: keep it small.
const _: () = assert!(std::mem::size_of::<Value>() <= 40);

/// Named keys at which a [`Map`] starts keeping a sorted index of them
/// (below, a scan is cheaper than the index).
const LOOKUP_MIN: usize = 16;

/// A JSON object with JavaScript's property order: array-index keys first,
/// ascending, then the other keys in insertion order. Every operation is
/// logarithmic at worst (index keys live in a B-tree, named keys get a
/// sorted index once there are more than a few), so reading an object of
/// any shape takes time linear in its size (up to a log factor). A small
/// object of named keys is one vector, as small as before.
#[derive(Clone, Debug, Default)]
pub struct Map {
    /// The keys that are not array indices, in insertion order.
    named: Vec<(String, Value)>,
    /// Index keys, and the named-key lookup, once there are any.
    index: Option<Box<MapIndex>>,
}

/// What a [`Map`] needs beyond its vector of named keys.
#[derive(Clone, Debug, Default)]
struct MapIndex {
    /// Array-index keys, by their numeric value.
    indexed: BTreeMap<u32, (String, Value)>,
    /// Where each named key is in `named`, once there are more than
    /// [`LOOKUP_MIN`] (a B-tree: no hashing, so no random seed and no
    /// collision attack).
    lookup: Option<BTreeMap<String, usize>>,
}

impl PartialEq for Map {
    fn eq(&self, other: &Map) -> bool {
        fn indexed(m: &Map) -> Option<&BTreeMap<u32, (String, Value)>> {
            m.index.as_ref().map(|i| &i.indexed).filter(|i| !i.is_empty())
        }
        indexed(self) == indexed(other) && self.named == other.named
    }
}

/// Is `key` an array index ("0", "1", ... up to 2^32 - 2) in JavaScript's sense?
pub(crate) fn array_index(key: &str) -> Option<u32> {
    array_index_bytes(key.as_bytes())
}

fn array_index_bytes(b: &[u8]) -> Option<u32> {
    if b.is_empty() || b.len() > 10 || (b.len() > 1 && b[0] == b'0') {
        return None;
    }
    let mut n: u64 = 0;
    for &c in b {
        if !c.is_ascii_digit() {
            return None;
        }
        n = n * 10 + u64::from(c - b'0');
    }
    if n <= 4_294_967_294 { Some(n as u32) } else { None }
}

/// The entries of a [`Map`] in property order.
pub(crate) struct MapIter<'a> {
    indexed: Option<std::collections::btree_map::Values<'a, u32, (String, Value)>>,
    named: std::slice::Iter<'a, (String, Value)>,
}

impl<'a> Iterator for MapIter<'a> {
    type Item = (&'a str, &'a Value);

    fn next(&mut self) -> Option<Self::Item> {
        self.indexed.as_mut().and_then(Iterator::next).or_else(|| self.named.next()).map(|(k, v)| (k.as_str(), v))
    }
}

impl Map {
    /// An empty object.
    pub fn new() -> Self {
        Map::default()
    }

    /// How many keys.
    pub fn len(&self) -> usize {
        self.named.len() + self.index.as_ref().map_or(0, |i| i.indexed.len())
    }

    /// Whether there is no key.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn named_position(&self, key: &str) -> Option<usize> {
        match self.index.as_ref().and_then(|i| i.lookup.as_ref()) {
            Some(lookup) => lookup.get(key).copied(),
            None => self.named.iter().position(|(k, _)| k == key),
        }
    }

    /// The named-key index again, after `named` changed other than at its end.
    fn reindex(&mut self) {
        let lookup = (self.named.len() > LOOKUP_MIN)
            .then(|| self.named.iter().enumerate().map(|(i, (k, _))| (k.clone(), i)).collect());
        match (&mut self.index, lookup) {
            (Some(index), lookup) => index.lookup = lookup,
            (None, Some(lookup)) => {
                self.index = Some(Box::new(MapIndex { indexed: BTreeMap::new(), lookup: Some(lookup) }))
            }
            (None, None) => {}
        }
    }

    /// The value under `key`.
    pub fn get(&self, key: &str) -> Option<&Value> {
        match array_index(key) {
            Some(i) => self.index.as_ref()?.indexed.get(&i).map(|(_, v)| v),
            None => self.named_position(key).map(|i| &self.named[i].1),
        }
    }

    /// The value under `key`, to change it.
    pub fn get_mut(&mut self, key: &str) -> Option<&mut Value> {
        match array_index(key) {
            Some(i) => self.index.as_mut()?.indexed.get_mut(&i).map(|(_, v)| v),
            None => self.named_position(key).map(|i| &mut self.named[i].1),
        }
    }

    /// Whether `key` is present.
    pub fn contains_key(&self, key: &str) -> bool {
        self.get(key).is_some()
    }

    /// Assigns `key` as `obj[key] = value` does: an existing key keeps its place.
    /// Returns the previous value.
    pub fn insert(&mut self, key: impl Into<String>, value: Value) -> Option<Value> {
        let key = key.into();
        if let Some(idx) = array_index(&key) {
            let index = self.index.get_or_insert_with(Box::default);
            return match index.indexed.entry(idx) {
                std::collections::btree_map::Entry::Occupied(mut e) => {
                    Some(std::mem::replace(&mut e.get_mut().1, value))
                }
                std::collections::btree_map::Entry::Vacant(e) => {
                    e.insert((key, value));
                    None
                }
            };
        }
        if let Some(i) = self.named_position(&key) {
            return Some(std::mem::replace(&mut self.named[i].1, value));
        }
        match self.index.as_mut().and_then(|i| i.lookup.as_mut()) {
            Some(lookup) => {
                lookup.insert(key.clone(), self.named.len());
                self.named.push((key, value));
            }
            None => {
                self.named.push((key, value));
                if self.named.len() > LOOKUP_MIN {
                    self.reindex();
                }
            }
        }
        None
    }

    /// Removes `key` as `delete obj[key]` does.
    pub fn remove(&mut self, key: &str) -> Option<Value> {
        if let Some(idx) = array_index(key) {
            return self.index.as_mut()?.indexed.remove(&idx).map(|(_, v)| v);
        }
        let i = self.named_position(key)?;
        let (_, v) = self.named.remove(i);
        if self.index.as_ref().is_some_and(|i| i.lookup.is_some()) {
            self.reindex();
        }
        Some(v)
    }

    /// The entries in property order, by value.
    #[allow(clippy::should_implement_trait)]
    pub fn into_iter(self) -> impl Iterator<Item = (String, Value)> {
        self.index.map(|i| i.indexed).unwrap_or_default().into_values().chain(self.named)
    }

    /// The keys and values, in JavaScript property order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &Value)> {
        self.entries()
    }

    pub(crate) fn entries(&self) -> MapIter<'_> {
        MapIter { indexed: self.index.as_ref().map(|i| i.indexed.values()), named: self.named.iter() }
    }

    /// The keys, in JavaScript property order.
    pub fn keys(&self) -> impl Iterator<Item = &str> {
        self.entries().map(|(k, _)| k)
    }

    /// The object `JSON.parse` makes of these members, in text order (a
    /// repeated key keeps its first place and its last value). A few named
    /// keys, none repeated (the usual object), are taken as they are; index
    /// keys are sorted once and their B-tree built in bulk, whatever their
    /// order.
    fn from_members(members: Vec<(String, Value)>) -> Map {
        let plain = members.len() <= LOOKUP_MIN
            && members
                .iter()
                .enumerate()
                .all(|(i, (k, _))| array_index(k).is_none() && members[..i].iter().all(|(other, _)| other != k));
        if plain {
            return Map { named: members, index: None };
        }
        let mut map = Map::new();
        let mut indexed: Vec<(u32, (String, Value))> = Vec::new();
        for (k, v) in members {
            match array_index(&k) {
                Some(i) => indexed.push((i, (k, v))),
                None => {
                    if let Some(old) = map.insert(k, v) {
                        drop_deep(old);
                    }
                }
            }
        }
        if indexed.is_empty() {
            return map;
        }
        // Stable: of repeats, the last is last.
        indexed.sort_by_key(|e| e.0);
        let mut unique: Vec<(u32, (String, Value))> = Vec::with_capacity(indexed.len());
        for (i, kv) in indexed {
            match unique.last_mut() {
                Some(last) if last.0 == i => drop_deep(std::mem::replace(&mut last.1, kv).1),
                _ => unique.push((i, kv)),
            }
        }
        map.index.get_or_insert_with(Box::default).indexed = unique.into_iter().collect();
        map
    }

    /// Moves the values out, leaving the map empty (for [`drop_deep`]).
    fn drain_values(&mut self) -> impl Iterator<Item = Value> {
        let indexed = self.index.take().map(|i| i.indexed).unwrap_or_default();
        let named = std::mem::take(&mut self.named);
        indexed.into_values().chain(named).map(|(_, v)| v)
    }
}

/// Drops `value` without recursing: dropping a deeply nested value the
/// ordinary way takes a few stack frames per level, which a small thread
/// stack (a C server's, or musl's 128 KiB default) may not have.
pub(crate) fn drop_deep(value: Value) {
    if !matches!(value, Value::Array(_) | Value::Object(_)) {
        return;
    }
    let mut stack = vec![value];
    while let Some(v) = stack.pop() {
        match v {
            Value::Array(items) => {
                stack.extend(items.into_iter().filter(|v| matches!(v, Value::Array(_) | Value::Object(_))))
            }
            Value::Object(mut map) => {
                stack.extend(map.drain_values().filter(|v| matches!(v, Value::Array(_) | Value::Object(_))))
            }
            _ => {}
        }
    }
}

/// Why a text is not JSON (`JSON.parse` would throw a `SyntaxError`).
pub type JsonError = ParseError;

impl Value {
    /// `JSON.parse(text)`, with JavaScript's semantics (duplicate keys keep
    /// the first place and the last value, array-index keys come first,
    /// numbers are doubles; a lone surrogate escape reads as U+FFFD).
    /// Nesting deeper than [`MAX_DEPTH`] is an error.
    pub fn from_json(text: &str) -> Result<Value, JsonError> {
        from_str(text)
    }

    /// [`from_json`](Self::from_json) of bytes, which must be UTF-8.
    pub fn from_json_bytes(bytes: &[u8]) -> Result<Value, JsonError> {
        parse(bytes)
    }

    /// `JSON.stringify(value)`, byte for byte as V8 writes it.
    pub fn to_json(&self) -> String {
        to_string(self)
    }

    /// The string, if this is one.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::String(s) => Some(s),
            _ => None,
        }
    }

    /// The number, if this is one.
    pub fn as_f64(&self) -> Option<f64> {
        match self {
            Value::Number(n) => Some(*n),
            _ => None,
        }
    }

    /// The object, if this is one.
    pub fn as_object(&self) -> Option<&Map> {
        match self {
            Value::Object(m) => Some(m),
            _ => None,
        }
    }

    /// JavaScript truthiness.
    pub fn truthy(&self) -> bool {
        match self {
            Value::Null => false,
            Value::Bool(b) => *b,
            Value::Number(n) => *n != 0.0 && !n.is_nan(),
            Value::String(s) => !s.is_empty(),
            Value::Array(_) | Value::Object(_) => true,
        }
    }

    /// JavaScript `String(value)`.
    pub fn to_js_string(&self) -> String {
        match self {
            Value::Null => "null".into(),
            Value::Bool(b) => b.to_string(),
            Value::Number(n) => number_to_string(*n),
            Value::String(s) => s.clone(),
            Value::Array(items) => {
                let mut out = String::new();
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    if !matches!(item, Value::Null) {
                        out.push_str(&item.to_js_string());
                    }
                }
                out
            }
            Value::Object(_) => "[object Object]".into(),
        }
    }

    /// JavaScript `Number(value)` (used where express compares with `<=`).
    pub fn to_js_number(&self) -> f64 {
        match self {
            Value::Null => 0.0,
            Value::Bool(b) => f64::from(u8::from(*b)),
            Value::Number(n) => *n,
            Value::String(s) => string_to_number(s),
            Value::Array(_) => string_to_number(&self.to_js_string()),
            Value::Object(_) => f64::NAN,
        }
    }
}

/// JavaScript `Number(string)`: whitespace-trimmed decimal, hex/octal/binary
/// literals, `Infinity`; anything else is NaN.
fn string_to_number(s: &str) -> f64 {
    let t = s.trim_matches(is_js_whitespace);
    if t.is_empty() {
        return 0.0;
    }
    for (prefix, radix) in [("0x", 16), ("0X", 16), ("0o", 8), ("0O", 8), ("0b", 2), ("0B", 2)] {
        if let Some(digits) = t.strip_prefix(prefix) {
            if digits.is_empty() {
                return f64::NAN;
            }
            let mut n = 0f64;
            for c in digits.chars() {
                match c.to_digit(radix) {
                    Some(d) => n = n * f64::from(radix) + f64::from(d),
                    None => return f64::NAN,
                }
            }
            return n;
        }
    }
    let (sign, body) = match t.as_bytes()[0] {
        b'-' => (-1.0, &t[1..]),
        b'+' => (1.0, &t[1..]),
        _ => (1.0, t),
    };
    if body == "Infinity" {
        return sign * f64::INFINITY;
    }
    let ok = !body.is_empty()
        && body.bytes().all(|c| c.is_ascii_digit() || matches!(c, b'.' | b'e' | b'E' | b'+' | b'-'))
        && body.bytes().any(|c| c.is_ascii_digit())
        && !body.starts_with(['e', 'E']);
    if !ok {
        return f64::NAN;
    }
    body.parse::<f64>().map_or(f64::NAN, |n| sign * n)
}

/// JavaScript's `WhiteSpace` and `LineTerminator` code points (what `trim` removes).
pub(crate) fn is_js_whitespace(c: char) -> bool {
    matches!(
        c,
        '\u{9}' | '\u{a}' | '\u{b}' | '\u{c}' | '\u{d}' | ' ' | '\u{a0}' | '\u{1680}' | '\u{2000}'
            ..='\u{200a}' | '\u{2028}' | '\u{2029}' | '\u{202f}' | '\u{205f}' | '\u{3000}' | '\u{feff}'
    )
}

/// `Number#toString()` for a finite or non-finite double.
pub(crate) fn number_to_string(n: f64) -> String {
    let mut s = String::new();
    write_number(&mut s, n);
    s
}

/// Appends `Number#toString()` of `n` (ECMA-262 Number::toString, radix 10).
pub(crate) fn write_number(out: &mut String, n: f64) {
    if n.is_nan() {
        out.push_str("NaN");
        return;
    }
    if n == 0.0 {
        out.push('0');
        return;
    }
    if n.is_infinite() {
        out.push_str(if n < 0.0 { "-Infinity" } else { "Infinity" });
        return;
    }
    if n < 0.0 {
        out.push('-');
    }
    let a = n.abs();
    // Small integers: the common case, printed without going through the
    // shortest-digits algorithm.
    if a < 1e15 && a.fract() == 0.0 {
        write_u64(out, a as u64);
        return;
    }
    // `{:e}` gives the shortest round-trip digits: "d.ddde±x".
    let sci = format!("{a:e}");
    let (mantissa, exp) = sci.split_once('e').unwrap_or((&sci, "0"));
    let digits: String = mantissa.chars().filter(|c| *c != '.').collect();
    let k = digits.len() as i64;
    let n_exp = exp.parse::<i64>().unwrap_or(0) + 1; // value = 0.digits × 10^n
    if k <= n_exp && n_exp <= 21 {
        out.push_str(&digits);
        for _ in 0..(n_exp - k) {
            out.push('0');
        }
    } else if 0 < n_exp && n_exp <= 21 {
        out.push_str(&digits[..n_exp as usize]);
        out.push('.');
        out.push_str(&digits[n_exp as usize..]);
    } else if -6 < n_exp && n_exp <= 0 {
        out.push_str("0.");
        for _ in 0..(-n_exp) {
            out.push('0');
        }
        out.push_str(&digits);
    } else {
        let e = n_exp - 1;
        out.push_str(&digits[..1]);
        if k > 1 {
            out.push('.');
            out.push_str(&digits[1..]);
        }
        out.push('e');
        out.push(if e < 0 { '-' } else { '+' });
        let _ = write!(out, "{}", e.abs());
    }
}

/// Bytes that `JSON.stringify` escapes: control characters, `"` and `\\`.
const NEEDS_ESCAPE: [bool; 256] = {
    let mut t = [false; 256];
    let mut i = 0;
    while i < 0x20 {
        t[i] = true;
        i += 1;
    }
    t[b'"' as usize] = true;
    t[b'\\' as usize] = true;
    t
};

/// Appends the decimal digits of `n` (no formatting machinery).
pub(crate) fn write_u64(out: &mut String, mut n: u64) {
    let mut buf = [0u8; 20];
    let mut i = buf.len();
    loop {
        i -= 1;
        buf[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    for &d in &buf[i..] {
        out.push(d as char);
    }
}

/// Appends a string literal escaped as `JSON.stringify` does.
pub(crate) fn write_string(out: &mut String, s: &str) {
    out.reserve(s.len() + 2);
    out.push('"');
    let bytes = s.as_bytes();
    let mut start = 0;
    for (i, &b) in bytes.iter().enumerate() {
        if !NEEDS_ESCAPE[b as usize] {
            continue;
        }
        out.push_str(&s[start..i]);
        match b {
            b'"' => out.push_str("\\\""),
            b'\\' => out.push_str("\\\\"),
            b'\n' => out.push_str("\\n"),
            b'\r' => out.push_str("\\r"),
            b'\t' => out.push_str("\\t"),
            0x08 => out.push_str("\\b"),
            0x0c => out.push_str("\\f"),
            _ => {
                const HEX: &[u8; 16] = b"0123456789abcdef";
                out.push_str("\\u00");
                out.push(HEX[usize::from(b >> 4)] as char);
                out.push(HEX[usize::from(b & 15)] as char);
            }
        }
        start = i + 1;
    }
    out.push_str(&s[start..]);
    out.push('"');
}

/// Appends a scalar's JSON text (`false` for an array or object, written by the caller).
fn write_scalar(out: &mut String, value: &Value) -> bool {
    match value {
        Value::Null => out.push_str("null"),
        Value::Bool(true) => out.push_str("true"),
        Value::Bool(false) => out.push_str("false"),
        Value::Number(n) => {
            if n.is_finite() {
                write_number(out, *n)
            } else {
                out.push_str("null")
            }
        }
        Value::String(s) => write_string(out, s),
        Value::Array(_) | Value::Object(_) => return false,
    }
    true
}

/// An array or object [`write_value`] is inside: what is left of it.
enum Open<'a> {
    Array(std::slice::Iter<'a, Value>),
    Object(MapIter<'a>),
}

/// Levels [`write_value`] writes by recursion before it goes on without.
const SHALLOW_DEPTH: usize = 16;

/// Appends `JSON.stringify(value)`. The first levels recurse (the usual
/// shallow value needs no allocation); deeper ones do not (a deep value
/// needs no stack: the open arrays and objects are kept in a vector).
pub(crate) fn write_value(out: &mut String, value: &Value) {
    write_shallow(out, value, 0);
}

fn write_shallow(out: &mut String, value: &Value, depth: usize) {
    if write_scalar(out, value) {
        return;
    }
    if depth >= SHALLOW_DEPTH {
        return write_deep(out, value);
    }
    match value {
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_shallow(out, item, depth + 1);
            }
            out.push(']');
        }
        Value::Object(map) => {
            out.push('{');
            for (i, (k, item)) in map.entries().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_string(out, k);
                out.push(':');
                write_shallow(out, item, depth + 1);
            }
            out.push('}');
        }
        _ => {}
    }
}

/// [`write_value`] without recursion.
fn write_deep(out: &mut String, value: &Value) {
    if write_scalar(out, value) {
        return;
    }
    let mut open: Vec<Open<'_>> = Vec::new();
    let mut next = Some(value);
    loop {
        // Write `next` (opening it if it is a container).
        if let Some(v) = next.take() {
            match v {
                Value::Array(items) => {
                    out.push('[');
                    open.push(Open::Array(items.iter()));
                }
                Value::Object(map) => {
                    out.push('{');
                    open.push(Open::Object(map.entries()));
                }
                _ => {
                    write_scalar(out, v);
                }
            }
        }
        // The next member of the innermost open container, or close it.
        let Some(top) = open.last_mut() else { return };
        let first = matches!(out.as_bytes().last(), Some(b'[' | b'{'));
        match top {
            Open::Array(items) => match items.next() {
                Some(item) => {
                    if !first {
                        out.push(',');
                    }
                    next = Some(item);
                }
                None => {
                    out.push(']');
                    open.pop();
                }
            },
            Open::Object(entries) => match entries.next() {
                Some((k, item)) => {
                    if !first {
                        out.push(',');
                    }
                    write_string(out, k);
                    out.push(':');
                    next = Some(item);
                }
                None => {
                    out.push('}');
                    open.pop();
                }
            },
        }
    }
}

/// `JSON.stringify(value)` as a new string.
pub(crate) fn to_string(value: &Value) -> String {
    let mut s = String::new();
    write_value(&mut s, value);
    s
}

/// Why a JSON text was rejected.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParseError {
    pub offset: usize,
    pub reason: &'static str,
}

impl std::fmt::Display for ParseError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "invalid JSON at byte {}: {}", self.offset, self.reason)
    }
}

impl std::error::Error for ParseError {}

/// `JSON.parse` of UTF-8 bytes. Lone surrogate escapes (which JavaScript
/// accepts) are rejected, since a Rust string cannot hold them.
pub(crate) fn parse(bytes: &[u8]) -> Result<Value, ParseError> {
    parse_with(Parser::new(bytes, None))
}

fn parse_with(mut p: Parser<'_>) -> Result<Value, ParseError> {
    p.ws();
    let v = p.value(0)?;
    p.ws();
    if p.i != p.b.len() {
        return Err(p.err("trailing characters"));
    }
    Ok(v)
}

/// `JSON.parse` of a string already held to limits (a record's canonical
/// span, checked by [`canonical_end_within`]): no limit applies again.
pub(crate) fn from_str_unbounded(s: &str) -> Result<Value, ParseError> {
    let mut p = Parser::new(s.as_bytes(), Some(s));
    p.max_depth = usize::MAX;
    p.max_keys = usize::MAX;
    parse_with(p)
}

/// `JSON.parse` of a string.
pub(crate) fn from_str(s: &str) -> Result<Value, ParseError> {
    // Already UTF-8: strings are sliced, not validated again.
    parse_with(Parser::new(s.as_bytes(), Some(s)))
}

/// Deepest nesting [`canonical_end`] follows (deeper values are parsed).
const CANONICAL_MAX_DEPTH: usize = 64;
/// Most non-index keys per object [`canonical_end`] checks for repeats.
const CANONICAL_MAX_KEYS: usize = 32;

/// If the JSON value starting at `b[i]` is canonical, where it ends.
/// Canonical means `JSON.stringify(JSON.parse(text))` is `text` again: no
/// whitespace, numbers as `Number#toString` prints them, strings escaped as
/// `JSON.stringify` escapes them, object keys unrepeated and in JavaScript
/// property order. Records written by express-session (or by this crate)
/// are canonical, so their values can be copied instead of parsed and
/// re-serialized. `None` means "parse it" (it may still be valid JSON).
pub(crate) fn canonical_end(b: &[u8], i: usize) -> Option<usize> {
    canonical_value(b, i, 0, CANONICAL_MAX_DEPTH, MAX_KEYS)
}

/// [`canonical_end`] of a value that must nest at most `max_depth` levels
/// below itself and hold at most `max_keys` keys per object: `None` for
/// one beyond (the parser, which holds text to these limits, then reports it).
pub(crate) fn canonical_end_within(b: &[u8], i: usize, max_depth: usize, max_keys: usize) -> Option<usize> {
    canonical_value(b, i, 0, max_depth.min(CANONICAL_MAX_DEPTH), max_keys)
}

fn canonical_value(b: &[u8], i: usize, depth: usize, max_depth: usize, max_keys: usize) -> Option<usize> {
    if depth > max_depth {
        return None;
    }
    match *b.get(i)? {
        b'"' => canonical_string(b, i),
        b'n' => b[i..].starts_with(b"null").then_some(i + 4),
        b't' => b[i..].starts_with(b"true").then_some(i + 4),
        b'f' => b[i..].starts_with(b"false").then_some(i + 5),
        b'-' | b'0'..=b'9' => canonical_number(b, i),
        b'[' if depth < CANONICAL_MAX_DEPTH => {
            let mut j = i + 1;
            if b.get(j) == Some(&b']') {
                return Some(j + 1);
            }
            loop {
                j = canonical_value(b, j, depth + 1, max_depth, max_keys)?;
                match *b.get(j)? {
                    b',' => j += 1,
                    b']' => return Some(j + 1),
                    _ => return None,
                }
            }
        }
        b'{' if depth < CANONICAL_MAX_DEPTH => {
            let mut j = i + 1;
            if b.get(j) == Some(&b'}') {
                return Some(j + 1);
            }
            let mut names = [(0usize, 0usize); CANONICAL_MAX_KEYS];
            let mut n_names = 0;
            let mut last_index: Option<u32> = None;
            let mut keys = 0usize;
            loop {
                keys += 1;
                if b.get(j) != Some(&b'"') || keys > max_keys {
                    return None;
                }
                let key_end = canonical_string(b, j)?;
                // Canonical key texts are equal exactly when the keys are.
                let key = &b[j + 1..key_end - 1];
                match array_index_bytes(key) {
                    Some(k) => {
                        if n_names > 0 || last_index.is_some_and(|l| l >= k) {
                            return None;
                        }
                        last_index = Some(k);
                    }
                    None => {
                        if n_names == CANONICAL_MAX_KEYS || names[..n_names].iter().any(|&(s, e)| &b[s..e] == key) {
                            return None;
                        }
                        names[n_names] = (j + 1, key_end - 1);
                        n_names += 1;
                    }
                }
                if b.get(key_end) != Some(&b':') {
                    return None;
                }
                j = canonical_value(b, key_end + 1, depth + 1, max_depth, max_keys)?;
                match *b.get(j)? {
                    b',' => j += 1,
                    b'}' => return Some(j + 1),
                    _ => return None,
                }
            }
        }
        _ => None,
    }
}

/// The UTF-16 unit of four lowercase hex digits that name a surrogate
/// (`d800`..`dfff`), as JSON.stringify escapes a lone one.
fn surrogate_escape(h: &[u8]) -> Option<u32> {
    let [b'd', third @ (b'8' | b'9' | b'a'..=b'f'), x, y] = *h else { return None };
    let hex = |c: u8| match c {
        b'0'..=b'9' => Some(u32::from(c - b'0')),
        b'a'..=b'f' => Some(u32::from(c - b'a' + 10)),
        _ => None,
    };
    Some(0xd000 | hex(third)? << 8 | hex(x)? << 4 | hex(y)?)
}

/// `b[i]` is a quote: the end of the string if it is written as
/// `JSON.stringify` writes strings.
fn canonical_string(b: &[u8], i: usize) -> Option<usize> {
    let mut j = i + 1;
    let mut ascii = true;
    loop {
        match *b.get(j)? {
            b'"' => break,
            0..=0x1f => return None,
            b'\\' => match *b.get(j + 1)? {
                b'"' | b'\\' | b'b' | b'f' | b'n' | b'r' | b't' => j += 2,
                b'u' => {
                    // Only control characters without a short escape, and
                    // lone surrogates (well-formed JSON.stringify), are
                    // written as \uXXXX, in lowercase hex.
                    let h = b.get(j + 2..j + 6)?;
                    if let Some(unit) = surrogate_escape(h) {
                        // A high surrogate followed by a low one is a pair,
                        // which JSON.stringify writes as the character.
                        let next = b.get(j + 6..j + 12);
                        let pairs = unit < 0xdc00
                            && next.is_some_and(|n| {
                                n.starts_with(b"\\u") && surrogate_escape(&n[2..]).is_some_and(|u| u >= 0xdc00)
                            });
                        if pairs {
                            return None;
                        }
                        j += 6;
                        continue;
                    }
                    let low = match h[3] {
                        c @ b'0'..=b'9' => c - b'0',
                        c @ b'a'..=b'f' => c - b'a' + 10,
                        _ => return None,
                    };
                    let c = match (h[0], h[1], h[2]) {
                        (b'0', b'0', b'0') => low,
                        (b'0', b'0', b'1') => 16 + low,
                        _ => return None,
                    };
                    if matches!(c, 8 | 9 | 10 | 12 | 13) {
                        return None;
                    }
                    j += 6;
                }
                _ => return None,
            },
            c => {
                ascii &= c < 0x80;
                j += 1;
            }
        }
    }
    if !ascii && std::str::from_utf8(&b[i + 1..j]).is_err() {
        return None;
    }
    Some(j + 1)
}

/// `b[i]` starts a number: its end if `Number#toString` prints it that way.
fn canonical_number(b: &[u8], i: usize) -> Option<usize> {
    let digits = |mut j: usize| {
        while b.get(j).is_some_and(u8::is_ascii_digit) {
            j += 1;
        }
        j
    };
    let neg = b[i] == b'-';
    let int_start = i + usize::from(neg);
    let int_end = digits(int_start);
    let int_len = int_end - int_start;
    let plain = !matches!(b.get(int_end), Some(b'.' | b'e' | b'E'));
    // Integers of up to 15 digits are exact doubles printed digit for digit.
    if plain && (1..=15).contains(&int_len) && (b[int_start] != b'0' || (int_len == 1 && !neg)) {
        return Some(int_end);
    }
    if int_len == 0 || (int_len > 1 && b[int_start] == b'0') {
        return None;
    }
    let mut end = int_end;
    if b.get(end) == Some(&b'.') {
        let e = digits(end + 1);
        if e == end + 1 {
            return None;
        }
        end = e;
    }
    if matches!(b.get(end), Some(b'e' | b'E')) {
        let sign = usize::from(matches!(b.get(end + 1), Some(b'+' | b'-')));
        let e = digits(end + 1 + sign);
        if e == end + 1 + sign {
            return None;
        }
        end = e;
    }
    let text = std::str::from_utf8(&b[i..end]).ok()?;
    let n: f64 = text.parse().ok()?;
    if !n.is_finite() {
        return None;
    }
    let mut printed = String::with_capacity(text.len());
    write_number(&mut printed, n);
    (printed == text).then_some(end)
}

/// JSON.parse's reader, for readers of JSON formats built on it (the
/// store record reader, `crate::record`).
pub(crate) struct Parser<'a> {
    pub(crate) b: &'a [u8],
    pub(crate) i: usize,
    /// `b` as text, when it is known to be UTF-8 already.
    pub(crate) text: Option<&'a str>,
    /// Deepest nesting read (deeper is an error).
    pub(crate) max_depth: usize,
    /// Most keys one object may hold (more is an error).
    pub(crate) max_keys: usize,
}

/// An array or object [`Parser::value`] is reading: its members so far
/// (and, for an object, the key of the member being read).
enum Opened {
    Array(Vec<Value>),
    /// An object's members in text order (made a [`Map`] when it closes).
    Object(Vec<(String, Value)>, String),
}

/// The values being read; dropped without recursing (see [`drop_deep`]).
struct OpenValues(Vec<Opened>);

impl Drop for OpenValues {
    fn drop(&mut self) {
        for o in self.0.drain(..) {
            match o {
                Opened::Array(items) => drop_deep(Value::Array(items)),
                Opened::Object(members, _) => drop_deep(Value::Array(members.into_iter().map(|(_, v)| v).collect())),
            }
        }
    }
}

impl<'a> Parser<'a> {
    /// A parser at the start of `b` with the default limits ([`MAX_DEPTH`], [`MAX_KEYS`]).
    pub(crate) fn new(b: &'a [u8], text: Option<&'a str>) -> Self {
        Parser { b, i: 0, text, max_depth: MAX_DEPTH, max_keys: MAX_KEYS }
    }

    pub(crate) fn err(&self, reason: &'static str) -> ParseError {
        ParseError { offset: self.i, reason }
    }

    pub(crate) fn ws(&mut self) {
        while let Some(&c) = self.b.get(self.i) {
            if matches!(c, b' ' | b'\t' | b'\n' | b'\r') {
                self.i += 1;
            } else {
                break;
            }
        }
    }

    fn lit(&mut self, word: &[u8], v: Value) -> Result<Value, ParseError> {
        if self.b[self.i..].starts_with(word) {
            self.i += word.len();
            Ok(v)
        } else {
            Err(self.err("unexpected token"))
        }
    }

    /// The value at the cursor, `depth` levels down in the text (values
    /// deeper than `max_depth` are an error). Does not recurse: the arrays
    /// and objects being read are kept in a vector, dropped without
    /// recursing on an error.
    pub(crate) fn value(&mut self, depth: usize) -> Result<Value, ParseError> {
        let mut open = OpenValues(Vec::new());
        loop {
            if depth + open.0.len() > self.max_depth {
                return Err(self.err("nesting too deep"));
            }
            let mut v = match self.b.get(self.i) {
                None => return Err(self.err("unexpected end of input")),
                Some(b'n') => self.lit(b"null", Value::Null)?,
                Some(b't') => self.lit(b"true", Value::Bool(true))?,
                Some(b'f') => self.lit(b"false", Value::Bool(false))?,
                Some(b'"') => Value::String(self.string()?),
                Some(b'[') => {
                    self.i += 1;
                    self.ws();
                    if self.b.get(self.i) == Some(&b']') {
                        self.i += 1;
                        Value::Array(Vec::new())
                    } else {
                        open.0.push(Opened::Array(Vec::new()));
                        self.ws();
                        continue;
                    }
                }
                Some(b'{') => {
                    self.i += 1;
                    self.ws();
                    if self.b.get(self.i) == Some(&b'}') {
                        self.i += 1;
                        Value::Object(Map::new())
                    } else {
                        let key = self.member_key()?;
                        open.0.push(Opened::Object(Vec::new(), key));
                        continue;
                    }
                }
                Some(b'-' | b'0'..=b'9') => self.number()?,
                Some(_) => return Err(self.err("unexpected token")),
            };
            // `v` is complete: put it in the innermost open value, and close
            // that one too if it ends here.
            loop {
                let Some(top) = open.0.last_mut() else { return Ok(v) };
                self.ws();
                let close = match top {
                    Opened::Array(items) => {
                        items.push(v);
                        match self.b.get(self.i) {
                            Some(b',') => None,
                            Some(b']') => Some(b']'),
                            _ => return Err(self.err("expected ',' or ']'")),
                        }
                    }
                    Opened::Object(members, key) => {
                        members.push((std::mem::take(key), v));
                        if members.len() > self.max_keys {
                            return Err(self.err("too many keys in an object"));
                        }
                        match self.b.get(self.i) {
                            Some(b',') => None,
                            Some(b'}') => Some(b'}'),
                            _ => return Err(self.err("expected ',' or '}'")),
                        }
                    }
                };
                self.i += 1;
                if close.is_none() {
                    // Another member: its key (objects), then its value.
                    if let Some(Opened::Object(_, key)) = open.0.last_mut() {
                        *key = self.member_key()?;
                    } else {
                        self.ws();
                    }
                    break;
                }
                v = match open.0.pop() {
                    Some(Opened::Array(items)) => Value::Array(items),
                    Some(Opened::Object(members, _)) => Value::Object(Map::from_members(members)),
                    None => return Err(self.err("unexpected token")), // not reached: `top` was there
                };
            }
        }
    }

    /// An object member's key and colon, whitespace around them skipped.
    fn member_key(&mut self) -> Result<String, ParseError> {
        self.ws();
        if self.b.get(self.i) != Some(&b'"') {
            return Err(self.err("expected a string key"));
        }
        let key = self.string()?;
        self.ws();
        if self.b.get(self.i) != Some(&b':') {
            return Err(self.err("expected ':'"));
        }
        self.i += 1;
        self.ws();
        Ok(key)
    }

    /// The members of an object (at depth 1) whose keys are `known`.
    fn number(&mut self) -> Result<Value, ParseError> {
        let start = self.i;
        let digits = |p: &mut Self| {
            let s = p.i;
            while p.b.get(p.i).is_some_and(u8::is_ascii_digit) {
                p.i += 1;
            }
            p.i - s
        };
        if self.b.get(self.i) == Some(&b'-') {
            self.i += 1;
        }
        match self.b.get(self.i) {
            Some(b'0') => self.i += 1,
            Some(b'1'..=b'9') => {
                digits(self);
            }
            _ => return Err(self.err("invalid number")),
        }
        if self.b.get(self.i) == Some(&b'.') {
            self.i += 1;
            if digits(self) == 0 {
                return Err(self.err("invalid number"));
            }
        }
        if matches!(self.b.get(self.i), Some(b'e' | b'E')) {
            self.i += 1;
            if matches!(self.b.get(self.i), Some(b'+' | b'-')) {
                self.i += 1;
            }
            if digits(self) == 0 {
                return Err(self.err("invalid number"));
            }
        }
        let b = &self.b[start..self.i];
        let (negative, digits) = match b {
            [b'-', rest @ ..] => (true, rest),
            _ => (false, b),
        };
        // Integers of up to 15 digits are exact in a double: no decimal
        // conversion needed (most numbers in records are such counters).
        if digits.len() <= 15 && digits.iter().all(u8::is_ascii_digit) {
            let n = digits.iter().fold(0u64, |n, &d| n * 10 + u64::from(d - b'0')) as f64;
            return Ok(Value::Number(if negative { -n } else { n }));
        }
        // The slice is ASCII by construction.
        let text = std::str::from_utf8(b).map_err(|_| self.err("invalid number"))?;
        text.parse::<f64>().map(Value::Number).map_err(|_| self.err("invalid number"))
    }

    /// A string literal without escapes or control characters at the
    /// cursor, consumed; `None` (nothing consumed) for anything else.
    pub(crate) fn plain_string(&mut self) -> Option<&'a str> {
        if self.b.get(self.i) != Some(&b'"') {
            return None;
        }
        let start = self.i + 1;
        let n = self.b[start..].iter().position(|&c| c == b'"' || c == b'\\' || c < 0x20)?;
        if self.b[start + n] != b'"' {
            return None;
        }
        let s = self.utf8(start, start + n).ok()?;
        self.i = start + n + 1;
        Some(s)
    }

    fn hex4(&mut self) -> Result<u32, ParseError> {
        let h = self.b.get(self.i..self.i + 4).ok_or_else(|| self.err("bad escape"))?;
        let mut n = 0u32;
        for &c in h {
            n = n * 16 + (c as char).to_digit(16).ok_or_else(|| self.err("bad escape"))?;
        }
        self.i += 4;
        Ok(n)
    }

    fn string(&mut self) -> Result<String, ParseError> {
        self.string_cow().map(std::borrow::Cow::into_owned)
    }

    /// A string literal, borrowed from the input when it has no escapes.
    pub(crate) fn string_cow(&mut self) -> Result<std::borrow::Cow<'a, str>, ParseError> {
        self.i += 1; // opening quote
        let start = self.i;
        let mut j = start;
        while let Some(&c) = self.b.get(j) {
            match c {
                b'"' => {
                    let s = self.utf8(start, j)?;
                    self.i = j + 1;
                    return Ok(std::borrow::Cow::Borrowed(s));
                }
                b'\\' => break,
                0..=0x1f => {
                    self.i = j;
                    return Err(self.err("control character in string"));
                }
                _ => j += 1,
            }
        }
        let mut out = String::with_capacity(j - start + 16);
        out.push_str(self.utf8(start, j)?);
        self.i = j;
        let mut start = self.i;
        loop {
            let Some(&c) = self.b.get(self.i) else {
                return Err(self.err("unterminated string"));
            };
            match c {
                b'"' => {
                    out.push_str(self.utf8(start, self.i)?);
                    self.i += 1;
                    return Ok(std::borrow::Cow::Owned(out));
                }
                b'\\' => {
                    out.push_str(self.utf8(start, self.i)?);
                    self.i += 1;
                    let Some(&e) = self.b.get(self.i) else {
                        return Err(self.err("bad escape"));
                    };
                    self.i += 1;
                    match e {
                        b'"' => out.push('"'),
                        b'\\' => out.push('\\'),
                        b'/' => out.push('/'),
                        b'b' => out.push('\u{8}'),
                        b'f' => out.push('\u{c}'),
                        b'n' => out.push('\n'),
                        b'r' => out.push('\r'),
                        b't' => out.push('\t'),
                        b'u' => {
                            // JSON.parse keeps lone surrogates; a Rust string
                            // cannot, so they become U+FFFD.
                            let hi = self.hex4()?;
                            let cp = if (0xd800..0xdc00).contains(&hi) {
                                let save = self.i;
                                let lo = if self.b.get(self.i..self.i + 2) == Some(b"\\u") {
                                    self.i += 2;
                                    self.hex4().ok()
                                } else {
                                    None
                                };
                                match lo {
                                    Some(lo) if (0xdc00..0xe000).contains(&lo) => {
                                        0x10000 + ((hi - 0xd800) << 10) + (lo - 0xdc00)
                                    }
                                    _ => {
                                        self.i = save;
                                        0xfffd
                                    }
                                }
                            } else {
                                hi
                            };
                            out.push(char::from_u32(cp).unwrap_or('\u{fffd}'));
                        }
                        _ => return Err(self.err("bad escape")),
                    }
                    start = self.i;
                }
                0..=0x1f => return Err(self.err("control character in string")),
                _ => self.i += 1,
            }
        }
    }

    /// The characters `from..to` (both just after or at an ASCII byte, so
    /// character boundaries of valid text).
    fn utf8(&self, from: usize, to: usize) -> Result<&'a str, ParseError> {
        let invalid = ParseError { offset: from, reason: "invalid UTF-8" };
        match self.text {
            Some(text) => text.get(from..to).ok_or(invalid),
            None => std::str::from_utf8(&self.b[from..to]).map_err(|_| invalid),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_print_like_javascript() {
        for (n, s) in [
            (1.0, "1"),
            (-0.0, "0"),
            (1500.5, "1500.5"),
            (1e21, "1e+21"),
            (1e20, "100000000000000000000"),
            (1.5e-7, "1.5e-7"),
            (0.000001, "0.000001"),
            (123456789012345680000.0, "123456789012345680000"),
            (0.1 + 0.2, "0.30000000000000004"),
            (-3600000.0, "-3600000"),
            (5e-324, "5e-324"),
        ] {
            assert_eq!(number_to_string(n), s, "{n}");
        }
    }

    #[test]
    fn index_keys_come_first() {
        let v = from_str(r#"{"b":1,"2":2,"a":3,"1":4,"01":5}"#).unwrap();
        assert_eq!(to_string(&v), r#"{"1":4,"2":2,"b":1,"a":3,"01":5}"#);
    }

    #[test]
    fn duplicate_key_keeps_first_position_last_value() {
        let v = from_str(r#"{"a":1,"b":2,"a":3}"#).unwrap();
        assert_eq!(to_string(&v), r#"{"a":3,"b":2}"#);
    }

    #[test]
    fn strings_escape_like_json_stringify() {
        let v = Value::String("a\"\\\n\u{1}\u{7f}é\u{2028}".into());
        assert_eq!(to_string(&v), "\"a\\\"\\\\\\n\\u0001\u{7f}é\u{2028}\"");
    }

    #[test]
    fn rejects_bad_input_without_panicking() {
        for bad in ["", "{", "[1,]", "{\"a\"}", "01", "1.", "\"\\u12\"", "nul", "\"\u{1}\""] {
            assert!(from_str(bad).is_err(), "{bad:?}");
        }
        let deep = "[".repeat(100_000);
        assert!(from_str(&deep).is_err());
        assert!(parse(b"\"\xff\"").is_err());
    }

    #[test]
    fn lone_surrogates_become_replacement_characters() {
        assert_eq!(from_str(r#""\ud800""#).unwrap(), Value::String("\u{fffd}".into()));
        assert_eq!(from_str(r#""\ud800\u0041""#).unwrap(), Value::String("\u{fffd}A".into()));
        assert_eq!(from_str(r#""\udc00x""#).unwrap(), Value::String("\u{fffd}x".into()));
        assert_eq!(from_str(r#""\ud83d\ude00""#).unwrap(), Value::String("😀".into()));
    }

    /// JavaScript's property order, the slow way: index keys ascending,
    /// then the others in insertion order; a repeat keeps its place.
    fn model_insert(model: &mut Vec<(String, f64)>, k: &str, v: f64) {
        if let Some(e) = model.iter_mut().find(|(x, _)| x == k) {
            e.1 = v;
            return;
        }
        let at = match array_index(k) {
            Some(i) => model.iter().position(|(x, _)| array_index(x).is_none_or(|o| o > i)).unwrap_or(model.len()),
            None => model.len(),
        };
        model.insert(at, (k.to_string(), v));
    }

    proptest::proptest! {
        /// Map (indexed past a few keys) orders keys as JavaScript does,
        /// whatever the inserts and deletes; so does reading JSON text.
        #[test]
        fn maps_keep_javascript_property_order(
            ops in proptest::collection::vec((0..40usize, proptest::bool::weighted(0.8)), 0..120),
        ) {
            let key = |i: usize| if i.is_multiple_of(2) { (40 - i).to_string() } else { format!("k{i}") };
            let (mut map, mut model) = (Map::new(), Vec::new());
            let mut text = String::from("{");
            for (n, (k, insert)) in ops.iter().enumerate() {
                let k = key(*k);
                if *insert {
                    map.insert(k.clone(), Value::Number(n as f64));
                    model_insert(&mut model, &k, n as f64);
                    if text.len() > 1 {
                        text.push(',');
                    }
                    text.push_str(&format!("\"{k}\":{n}"));
                } else {
                    let had = model.iter().position(|(x, _)| *x == k).map(|i| model.remove(i).1);
                    proptest::prop_assert_eq!(map.remove(&k).and_then(|v| v.as_f64()), had);
                }
                let got: Vec<(&str, f64)> = map.iter().map(|(k, v)| (k, v.as_f64().unwrap_or(-1.0))).collect();
                let want: Vec<(&str, f64)> = model.iter().map(|(k, v)| (k.as_str(), *v)).collect();
                proptest::prop_assert_eq!(got, want);
                for (k, v) in &model {
                    proptest::prop_assert_eq!(map.get(k).and_then(Value::as_f64), Some(*v));
                }
            }
            // Reading the inserts as text gives the same order.
            text.push('}');
            let mut model = Vec::new();
            for (n, (k, insert)) in ops.iter().enumerate() {
                if *insert {
                    model_insert(&mut model, &key(*k), n as f64);
                }
            }
            let Ok(Value::Object(read)) = from_str(&text) else { panic!("{text}") };
            let got: Vec<(&str, f64)> = read.iter().map(|(k, v)| (k, v.as_f64().unwrap_or(-1.0))).collect();
            let want: Vec<(&str, f64)> = model.iter().map(|(k, v)| (k.as_str(), *v)).collect();
            proptest::prop_assert_eq!(got, want);
        }
    }

    #[test]
    fn js_number_coercion() {
        assert_eq!(Value::String(" 12 ".into()).to_js_number(), 12.0);
        assert_eq!(Value::Array(vec![]).to_js_number(), 0.0);
        assert!(Value::String("abc".into()).to_js_number().is_nan());
        assert_eq!(Value::String("0x10".into()).to_js_number(), 16.0);
    }
}

/// The byte range of the value of `key` in the top-level object of a JSON
/// text, found by scanning (no values are built). `None` if the text is not
/// an object or has no such key. Meant for canonical texts (as written by
/// [`write_value`]), where the first occurrence is the only one.
pub(crate) fn top_level_span(text: &[u8], key: &str) -> Option<(usize, usize)> {
    let mut i = skip_ws(text, 0);
    if text.get(i) != Some(&b'{') {
        return None;
    }
    i += 1;
    loop {
        i = skip_ws(text, i);
        match text.get(i)? {
            b'}' => return None,
            b',' => {
                i += 1;
                continue;
            }
            b'"' => {}
            _ => return None,
        }
        let key_end = skip_string(text, i)?;
        let is_key = &text[i + 1..key_end - 1] == key.as_bytes();
        i = skip_ws(text, key_end);
        if text.get(i) != Some(&b':') {
            return None;
        }
        let start = skip_ws(text, i + 1);
        let end = skip_value(text, start)?;
        if is_key {
            return Some((start, end));
        }
        i = end;
    }
}

fn skip_ws(t: &[u8], mut i: usize) -> usize {
    while matches!(t.get(i), Some(b' ' | b'\t' | b'\n' | b'\r')) {
        i += 1;
    }
    i
}

/// `t[i]` is a quote: the index just past the closing quote.
fn skip_string(t: &[u8], mut i: usize) -> Option<usize> {
    i += 1;
    loop {
        match t.get(i)? {
            b'"' => return Some(i + 1),
            b'\\' => i += 2,
            _ => i += 1,
        }
    }
}

fn skip_value(t: &[u8], i: usize) -> Option<usize> {
    match t.get(i)? {
        b'"' => skip_string(t, i),
        b'{' | b'[' => {
            let mut depth = 0usize;
            let mut j = i;
            loop {
                match t.get(j)? {
                    b'"' => {
                        j = skip_string(t, j)?;
                        continue;
                    }
                    b'{' | b'[' => depth += 1,
                    b'}' | b']' => {
                        depth -= 1;
                        if depth == 0 {
                            return Some(j + 1);
                        }
                    }
                    _ => {}
                }
                j += 1;
            }
        }
        _ => {
            let mut j = i;
            while t.get(j).is_some_and(|c| !matches!(c, b',' | b'}' | b']' | b' ' | b'\t' | b'\n' | b'\r')) {
                j += 1;
            }
            (j > i).then_some(j)
        }
    }
}

#[cfg(test)]
mod span_tests {
    use super::top_level_span;

    #[test]
    fn finds_top_level_values_only() {
        let t = br#"{"a":{"cookie":1},"cookie":{"x":"}\""},"b":[1,{"c":2}]}"#;
        let (s, e) = top_level_span(t, "cookie").unwrap();
        assert_eq!(&t[s..e], br#"{"x":"}\""}"#);
        let (s, e) = top_level_span(t, "b").unwrap();
        assert_eq!(&t[s..e], br#"[1,{"c":2}]"#);
        assert_eq!(top_level_span(t, "zz"), None);
        assert_eq!(top_level_span(b"[1]", "a"), None);
        assert_eq!(top_level_span(b"{\"a\":", "a"), None);
    }
}

#[cfg(test)]
mod canonical_tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn canonical_texts_are_recognized() {
        for t in [
            "0",
            "-1",
            "123456789012345",
            "1.5",
            "1e+21",
            "5e-324",
            "0.000001",
            "1.5e-7",
            r#""""#,
            r#""a\"\\\n\u001f\u0000é😀""#,
            "[]",
            "{}",
            r#"[1,[2,{}],null,true,false]"#,
            r#"{"0":1,"1":2,"b":3,"a":{"x":[]}}"#,
        ] {
            assert_eq!(canonical_end(t.as_bytes(), 0), Some(t.len()), "{t}");
            assert_eq!(to_string(&from_str(t).unwrap()), t);
        }
    }

    /// V8's JSON.stringify writes a lone surrogate as a lowercase escape:
    /// such text is canonical (a value holding one is copied as it is,
    /// never rewritten with U+FFFD), a pair never is.
    #[test]
    fn lone_surrogate_escapes_are_canonical() {
        for t in
            [r#""a\ud800b""#, r#""\udfff""#, r#""\udc00\ud800""#, r#"["\ud83d",{"k":"\ude00x"}]"#, r#""\ud800\u0001""#]
        {
            assert_eq!(canonical_end(t.as_bytes(), 0), Some(t.len()), "{t}");
        }
        for t in [r#""\ud83d\ude00""#, r#""\uD800""#, r#""\ud8""#, r#""\ud80g""#] {
            assert_ne!(canonical_end(t.as_bytes(), 0), Some(t.len()), "{t}");
        }
    }

    #[test]
    fn non_canonical_texts_are_not() {
        for t in [
            "-0",
            "01",
            "1.0",
            "1E+21",
            "1e21",
            "0.1e1",
            "1234567890123456789",
            "1e400",
            r#""\/""#,
            r#""\u0041""#,
            r#""\u000a""#,
            r#""\u001F""#,
            r#""\uD800""#,
            r#""\ud83d\ude00""#,
            "[1, 2]",
            r#"{"a":1,"a":2}"#,
            r#"{"b":1,"1":2}"#,
            r#"{"2":1,"1":2}"#,
            "nul",
            "[1,]",
            "\"\u{1}\"",
        ] {
            assert_ne!(canonical_end(t.as_bytes(), 0), Some(t.len()), "{t}");
        }
        assert_eq!(canonical_end(b"\"\xff\"", 0), None);
        let deep = format!("{}{}", "[".repeat(100), "]".repeat(100));
        assert_eq!(canonical_end(deep.as_bytes(), 0), None, "deep values are left to the parser");
    }

    proptest! {
        /// Whatever the check accepts is exactly what stringify gives back.
        #[test]
        fn accepted_texts_round_trip(t in r#"[\[\]{}",:0-9.eE+\-\\u a-f/nultrs\x00\x1fé]{0,24}"#) {
            // Lone surrogates are canonical but have no Rust string: they are
            // kept as text (lone_surrogate_escapes_are_canonical).
            let surrogate = t.as_bytes().windows(3).any(|w| w[0] == b'u' && w[1] == b'd' && matches!(w[2], b'8'..=b'9' | b'a'..=b'f'));
            if let Some(end) = canonical_end(t.as_bytes(), 0).filter(|_| !surrogate) {
                let v = parse(&t.as_bytes()[..end]).expect("canonical text parses");
                prop_assert_eq!(to_string(&v), &t[..end]);
            }
        }

        /// What stringify writes is canonical.
        #[test]
        fn stringified_values_are_canonical(
            n in any::<f64>(), s in ".{0,8}", k in "[a-c0-2]{0,2}", flag in any::<bool>()
        ) {
            let mut m = Map::new();
            m.insert(k, Value::Array(vec![Value::Number(n), Value::String(s), Value::Bool(flag)]));
            m.insert("z", Value::Null);
            let t = to_string(&Value::Object(m));
            prop_assert_eq!(canonical_end(t.as_bytes(), 0), Some(t.len()), "{}", t);
        }

        /// The writer's fast path (recursion for the first levels) writes
        /// what the plain non-recursive writer writes, at every depth.
        #[test]
        fn the_recursive_writer_agrees_with_the_plain_one(
            leaves in proptest::collection::vec((any::<f64>(), ".{0,4}", "[a-c0-2]{0,2}"), 0..6),
            depth in 0usize..40,
            wrap_in_object in any::<bool>(),
        ) {
            let mut m = Map::new();
            for (n, s, k) in leaves {
                m.insert(k, Value::Array(vec![Value::Number(n), Value::String(s), Value::Null]));
            }
            let mut v = Value::Object(m);
            for level in 0..depth {
                v = if wrap_in_object ^ (level % 3 == 0) {
                    let mut o = Map::new();
                    o.insert("x", v);
                    o.insert("1", Value::Bool(true));
                    Value::Object(o)
                } else {
                    Value::Array(vec![Value::Number(level as f64), v])
                };
            }
            let mut plain = String::new();
            write_deep(&mut plain, &v);
            prop_assert_eq!(to_string(&v), plain);
        }
    }
}

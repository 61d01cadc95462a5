//! The session object (express-session's `Session`): its data keys, in
//! JavaScript property order, with the `cookie` slot at the position it holds
//! among them; and store records, read and written.

use crate::json::{self, CookieMember, Map, RecordText, Value};
use crate::session_cookie::{COOKIE_KEYS, SessionCookie};

/// Keys a record may not bring into a session, and the application may not
/// set: the session's own properties and methods, and `Object.prototype`'s.
pub const RESERVED_KEYS: &[&str] = &[
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

pub fn is_reserved(key: &str) -> bool {
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
pub fn is_object_prototype_name(key: &str) -> bool {
    RESERVED_KEYS[9..].contains(&key)
}

#[derive(Clone, Debug)]
pub struct Session {
    /// Data keys, plus a `"cookie"` entry (value ignored) marking the slot.
    pub data: Map,
    pub cookie: SessionCookie,
}

/// What a store record turned out to be.
pub enum Record {
    /// express-session would generate a new session (falsy record, or
    /// expired by the store's rule).
    Absent,
    /// A session; `original` is the change-detection text when it differs
    /// from the loaded data (keys were dropped).
    Session { session: Box<Session>, original: Option<String> },
    /// express-session would fail the request with this (JavaScript) message.
    Corrupt(String),
}

impl Session {
    pub fn new(cookie: SessionCookie) -> Self {
        let mut data = Map::new();
        data.insert("cookie", Value::Null);
        Session { data, cookie }
    }

    /// `JSON.stringify(session)` (the store record) or, without the cookie,
    /// the text express-session hashes to detect changes.
    pub fn write(&self, out: &mut String, with_cookie: bool) {
        out.push('{');
        let mut first = true;
        for (k, v) in self.data.iter() {
            let is_cookie = k == "cookie";
            if is_cookie && !with_cookie {
                continue;
            }
            if !first {
                out.push(',');
            }
            first = false;
            json::write_string(out, k);
            out.push(':');
            if is_cookie {
                self.cookie.write_json(out);
            } else {
                json::write_value(out, v);
            }
        }
        out.push('}');
    }

    /// The store record, and the byte range to cut out of it to get the
    /// change-detection text (the `cookie` entry with one adjacent comma).
    pub fn record_with_cookie_span(&self) -> (String, (usize, usize)) {
        let mut out = String::with_capacity(256);
        out.push('{');
        let mut span = (1, 1);
        let mut cookie_first = false;
        let mut entries = 0;
        for (i, (k, v)) in self.data.iter().enumerate() {
            let entry_start = out.len();
            if i > 0 {
                out.push(',');
            }
            json::write_string(&mut out, k);
            out.push(':');
            if k == "cookie" {
                self.cookie.write_json(&mut out);
                span = (entry_start, out.len());
                cookie_first = i == 0;
            } else {
                json::write_value(&mut out, v);
            }
            entries += 1;
        }
        if cookie_first && entries > 1 {
            span.1 += 1; // the comma after it
        }
        out.push('}');
        (out, span)
    }

    pub fn to_record(&self) -> String {
        let mut s = String::with_capacity(256);
        self.write(&mut s, true);
        s
    }

    pub fn hash_text(&self) -> String {
        let mut s = String::with_capacity(128);
        self.write(&mut s, false);
        s
    }

    /// The session as a JSON value (`JSON.parse(JSON.stringify(req.session))`).
    pub fn to_json(&self) -> Value {
        let mut m = Map::new();
        for (k, v) in self.data.iter() {
            if k == "cookie" {
                m.insert("cookie", self.cookie.to_json());
            } else {
                m.insert(k, v.clone());
            }
        }
        Value::Object(m)
    }
}

/// MemoryStore's expiry rule on a parsed `cookie` member, and the record's
/// `expires` string read as a date (which `createSession` needs too).
fn member_expired(cookie: Option<&CookieMember>, now: f64) -> (bool, Option<f64>) {
    let Some(CookieMember::Fields(fields)) = cookie else { return (false, None) };
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

/// Reads store record bytes as express-session (with MemoryStore's expiry
/// rule) would: `JSON.parse`, the expiry check, `createSession`.
pub fn read_record(bytes: &[u8], now: f64) -> Record {
    let (mut map, cookie) = match json::parse_record(bytes, COOKIE_KEYS) {
        Err(e) => return Record::Corrupt(format!("corrupt session record: {e}")),
        Ok(RecordText::NotObject(Value::Null)) => {
            return Record::Corrupt("Cannot read properties of null (reading 'cookie')".into());
        }
        Ok(RecordText::NotObject(v)) if !v.truthy() => return Record::Absent,
        Ok(RecordText::NotObject(_)) => {
            return Record::Corrupt("Cannot read properties of undefined (reading 'expires')".into());
        }
        Ok(RecordText::Object { map, cookie }) => (map, cookie),
    };
    let (expired, expires_date) = member_expired(cookie.as_ref(), now);
    if expired {
        return Record::Absent;
    }
    let cookie = match SessionCookie::from_record_parsed(cookie, expires_date, now) {
        Ok(c) => c,
        Err(msg) => return Record::Corrupt(msg),
    };
    let dropped = map.keys().any(|k| k != "cookie" && is_reserved(k));
    let original = dropped.then(|| {
        let mut s = String::new();
        let mut without_cookie = map.clone();
        without_cookie.remove("cookie");
        json::write_value(&mut s, &Value::Object(without_cookie));
        s
    });
    if dropped {
        map.retain(|k| k == "cookie" || !is_reserved(k));
    }
    Record::Session { session: Box::new(Session { data: map, cookie }), original }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::session_cookie::{CookieOptions, SessionCookie};

    #[test]
    fn reserved_keys_match_the_list() {
        for k in RESERVED_KEYS {
            assert!(is_reserved(k));
        }
        assert!(!is_reserved("views") && !is_reserved("Cookie") && !is_reserved(""));
    }

    #[test]
    fn cookie_span_cuts_out_the_hash_text() {
        for keys in [&["cookie"][..], &["cookie", "a"], &["a", "cookie"], &["a", "cookie", "b"], &["a", "b"]] {
            let mut data = Map::new();
            for k in keys {
                data.insert(*k, Value::Number(1.0));
            }
            let s = Session { data, cookie: SessionCookie::generate(&CookieOptions::default(), 0.0, false) };
            let (record, (a, b)) = s.record_with_cookie_span();
            assert_eq!(record, s.to_record());
            assert_eq!(format!("{}{}", &record[..a], &record[b..]), s.hash_text(), "{keys:?}");
        }
    }
}

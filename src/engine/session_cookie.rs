//! The session's cookie object: express-session's `Cookie` class, with its
//! dynamically typed attributes, its `maxAge`/`expires` accessors, its
//! `toJSON`, and its serialisation to a `Set-Cookie` value (cookie 0.7.2).
//!
//! Attributes keep whatever JSON value a record or the application gave them,
//! because express-session stores them verbatim and only validates when it
//! writes the header.

use crate::cookie_header::encode_uri_component;
use crate::date;
use crate::json::{self, Value};
use crate::record::{CookieMember, Fields};

/// One attribute value: JavaScript `undefined`, a `Date` (time value, NaN if
/// invalid), or a JSON value.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Attr {
    Undefined,
    Date(f64),
    Val(Value),
}

impl Attr {
    pub(crate) const NULL: Attr = Attr::Val(Value::Null);

    pub(crate) fn truthy(&self) -> bool {
        match self {
            Attr::Undefined => false,
            Attr::Date(_) => true,
            Attr::Val(v) => v.truthy(),
        }
    }

    fn is_nullish(&self) -> bool {
        matches!(self, Attr::Undefined | Attr::Val(Value::Null))
    }

    fn to_js_string(&self) -> std::borrow::Cow<'_, str> {
        match self {
            Attr::Undefined => "undefined".into(),
            Attr::Date(t) => date::to_utc_string(*t).unwrap_or_else(|| "Invalid Date".into()).into(),
            Attr::Val(Value::String(s)) => s.as_str().into(),
            Attr::Val(v) => v.to_js_string().into(),
        }
    }

    fn write_json(&self, out: &mut String) {
        match self {
            Attr::Undefined => {}
            Attr::Date(t) => {
                // An ISO date needs no escaping.
                out.push('"');
                if date::write_iso(out, *t) {
                    out.push('"');
                } else {
                    out.pop();
                    out.push_str("null");
                }
            }
            Attr::Val(v) => json::write_value(out, v),
        }
    }
}

impl From<Value> for Attr {
    fn from(v: Value) -> Self {
        Attr::Val(v)
    }
}

/// The cookie attributes a handler may assign directly (`req.session.cookie[A] = V`).
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum CookieAttr {
    /// `cookie.path`.
    Path,
    /// `cookie.domain`.
    Domain,
    /// `cookie.httpOnly`.
    HttpOnly,
    /// `cookie.secure`.
    Secure,
    /// `cookie.sameSite`.
    SameSite,
    /// `cookie.partitioned`.
    Partitioned,
    /// `cookie.priority`.
    Priority,
    /// `cookie.originalMaxAge` (what `touch` resets `maxAge` to).
    OriginalMaxAge,
}

impl CookieAttr {
    /// The attribute's JavaScript property name.
    pub fn from_name(name: &str) -> Option<Self> {
        Some(match name {
            "path" => CookieAttr::Path,
            "domain" => CookieAttr::Domain,
            "httpOnly" => CookieAttr::HttpOnly,
            "secure" => CookieAttr::Secure,
            "sameSite" => CookieAttr::SameSite,
            "partitioned" => CookieAttr::Partitioned,
            "priority" => CookieAttr::Priority,
            "originalMaxAge" => CookieAttr::OriginalMaxAge,
            _ => return None,
        })
    }
}

/// The attribute options a new session's cookie starts from (express-session's
/// `cookie` option object; `None` = key absent).
#[derive(Clone, Debug, Default, PartialEq)]
pub(crate) struct CookieOptions {
    pub path: Option<Value>,
    pub domain: Option<Value>,
    pub http_only: Option<Value>,
    pub secure: Option<Value>,
    pub max_age: Option<f64>,
    pub same_site: Option<Value>,
    pub partitioned: Option<Value>,
    pub priority: Option<Value>,
}

/// The record cookie keys express-session's `Cookie` constructor gives
/// meaning to (others become inert own properties).
/// `_expires` is the backing field of the `expires` accessor: assigning it
/// bypasses the setter.
pub(crate) const COOKIE_KEYS: &[&str] = &[
    "originalMaxAge",
    "partitioned",
    "priority",
    "expires",
    "secure",
    "httpOnly",
    "domain",
    "path",
    "sameSite",
    "maxAge",
    "_expires",
];

/// The index in [`COOKIE_KEYS`] of a record cookie key.
pub(crate) fn cookie_key_index(key: &[u8]) -> Option<usize> {
    // A match compiles to length and byte comparisons (this runs per key).
    Some(match key {
        b"originalMaxAge" => 0,
        b"partitioned" => 1,
        b"priority" => 2,
        b"expires" => 3,
        b"secure" => 4,
        b"httpOnly" => 5,
        b"domain" => 6,
        b"path" => 7,
        b"sameSite" => 8,
        b"maxAge" => 9,
        b"_expires" => 10,
        _ => return None,
    })
}

/// What [`SessionCookie::read_canonical`] reads: the cookie, its `expires`
/// time value, and where the object ends.
pub(crate) struct CanonicalCookie {
    pub(crate) cookie: SessionCookie,
    pub(crate) date: Option<f64>,
    pub(crate) end: usize,
}

/// Thrown by the `maxAge` setter for a truthy non-number.
pub(crate) const MAX_AGE_TYPE_ERROR: &str = "maxAge must be a number or Date";

#[derive(Clone, Debug, PartialEq)]
pub(crate) struct SessionCookie {
    pub original_max_age: Attr,
    pub partitioned: Attr,
    pub priority: Attr,
    pub expires: Attr,
    pub secure: Attr,
    pub http_only: Attr,
    pub domain: Attr,
    pub path: Attr,
    pub same_site: Attr,
}

impl SessionCookie {
    /// `new Cookie()` before any option: path "/", no expiry, HttpOnly.
    fn base() -> Self {
        SessionCookie { path: Attr::Val(Value::String("/".into())), ..SessionCookie::base_without_path() }
    }

    /// [`base`](Self::base) with `path` undefined.
    fn base_without_path() -> Self {
        SessionCookie {
            original_max_age: Attr::NULL,
            partitioned: Attr::Undefined,
            priority: Attr::Undefined,
            expires: Attr::NULL,
            secure: Attr::Undefined,
            http_only: Attr::Val(Value::Bool(true)),
            domain: Attr::Undefined,
            path: Attr::Undefined,
            same_site: Attr::Undefined,
        }
    }

    /// A new session's cookie (`store.generate`): the options, then
    /// `secure: "auto"` and `sameSite: "auto"` resolved for this request.
    pub(crate) fn generate(opts: &CookieOptions, now: f64, request_is_secure: bool) -> Self {
        let mut c = SessionCookie::base();
        let set = |slot: &mut Attr, v: &Option<Value>| {
            if let Some(v) = v {
                *slot = Attr::Val(v.clone());
            }
        };
        set(&mut c.path, &opts.path);
        set(&mut c.domain, &opts.domain);
        set(&mut c.http_only, &opts.http_only);
        set(&mut c.secure, &opts.secure);
        if let Some(ms) = opts.max_age {
            c.set_expires(Attr::Date(date::time_clip(now + ms)), now);
        }
        set(&mut c.same_site, &opts.same_site);
        set(&mut c.partitioned, &opts.partitioned);
        set(&mut c.priority, &opts.priority);
        if c.original_max_age.is_nullish() {
            c.original_max_age = c.max_age(now);
        }
        if opts.secure.as_ref().and_then(Value::as_str) == Some("auto") {
            c.secure = Attr::Val(Value::Bool(request_is_secure));
        }
        if opts.same_site.as_ref().and_then(Value::as_str) == Some("auto") {
            let s = if request_is_secure { "none" } else { "lax" };
            c.same_site = Attr::Val(Value::String(s.into()));
        }
        c
    }

    /// express-session's `store.createSession` for the record's `cookie`
    /// member. Errors carry the TypeError message JavaScript would throw.
    #[cfg(test)]
    pub(crate) fn from_record(cookie: Option<CookieMember>, now: f64) -> Result<Self, String> {
        SessionCookie::from_record_parsed(cookie, &mut Fields::default(), None, now)
    }

    /// [`from_record`](Self::from_record) with the record's `expires` string
    /// already read as a date.
    pub(crate) fn from_record_parsed(
        cookie: Option<CookieMember>,
        fields: &mut Fields,
        expires_date: Option<f64>,
        now: f64,
    ) -> Result<Self, String> {
        let fields = match cookie {
            None => return Err("Cannot read properties of undefined (reading 'expires')".into()),
            Some(CookieMember::Other(Value::Null)) => {
                return Err("Cannot read properties of null (reading 'expires')".into());
            }
            Some(CookieMember::Fields) => fields,
            // Its reader keeps the cookie it read; there is nothing here to read.
            Some(CookieMember::Canonical) => return Err("corrupt session record: cookie not read".into()),
            // `new Cookie([])` iterates no attribute; falsy values are no options.
            Some(CookieMember::Other(v)) if matches!(v, Value::Array(_)) || !v.truthy() => {
                fields.drain().for_each(drop);
                fields
            }
            Some(CookieMember::Other(_)) => return Err("argument options must be a object".into()),
        };
        // `originalMaxAge` ends as the record had it (createSession puts it
        // back), so what the constructor computes for it along the way is
        // never seen: only `expires` and the other attributes matter.
        let mut raw_oma = Attr::Undefined;
        // The constructor's `this.path = '/'`, unless the record sets a path.
        let mut path = None;
        let mut c = SessionCookie::base_without_path();
        // `for (key in options) this[key] = options[key]`, with the accessors.
        for (k, v) in fields.drain() {
            let key = COOKIE_KEYS[k];
            let v = Attr::Val(v);
            match key {
                "expires" | "_expires" => c.expires = v,
                "maxAge" => c.set_max_age(v, now).map_err(str::to_string)?,
                "originalMaxAge" => raw_oma = v,
                "partitioned" => c.partitioned = v,
                "priority" => c.priority = v,
                "secure" => c.secure = v,
                "httpOnly" => c.http_only = v,
                "domain" => c.domain = v,
                "path" => path = Some(v),
                _ => c.same_site = v,
            }
        }
        c.path = path.unwrap_or_else(|| Attr::Val(Value::String("/".into())));
        if let Some(t) = expires_date {
            c.expires = Attr::Date(t);
        }
        c.original_max_age = raw_oma;
        Ok(c)
    }

    /// `createSession` for a record cookie written as `Cookie#toJSON` writes
    /// it (express-session and this crate both do): the object at
    /// `text[at]` with the known attributes in their `toJSON` order, each at
    /// most once, valued `null`, a boolean, an integer or a string without
    /// escapes, and `expires` a date string or `null`. Returns the cookie,
    /// the `expires` time value (for the store's expiry check) and where the
    /// object ends; `None` for any other shape, which
    /// [`from_record_parsed`](Self::from_record_parsed) reads with the same
    /// result, only slower.
    pub(crate) fn read_canonical(source: &std::sync::Arc<str>, at: usize) -> Option<CanonicalCookie> {
        let text: &str = source;
        const KEYS: [&str; 9] = [
            "\"originalMaxAge\":",
            "\"partitioned\":",
            "\"priority\":",
            "\"expires\":",
            "\"secure\":",
            "\"httpOnly\":",
            "\"domain\":",
            "\"path\":",
            "\"sameSite\":",
        ];
        let b = text.as_bytes();
        if b.get(at) != Some(&b'{') {
            return None;
        }
        let mut i = at + 1;
        let mut c = SessionCookie::base_without_path();
        let (mut path, mut original_max_age, mut date) = (None, Attr::Undefined, None);
        for (slot, key) in KEYS.iter().enumerate() {
            let sep = usize::from(i > at + 1);
            if sep == 1 && b.get(i) != Some(&b',') {
                break;
            }
            if !b.get(i + sep..).is_some_and(|rest| rest.starts_with(key.as_bytes())) {
                continue;
            }
            i += sep + key.len();
            let (value, end) = simple_value(text, i)?;
            i = end;
            let v = match value {
                Simple::Str(s) if slot == 3 => {
                    let t = date::parse(s);
                    date = Some(t);
                    Attr::Date(t)
                }
                Simple::Str(s) => Attr::Val(Value::String(s.to_string())),
                Simple::Val(v) if slot == 3 && v != Value::Null => return None,
                Simple::Val(v) => Attr::Val(v),
            };
            match slot {
                0 => original_max_age = v,
                1 => c.partitioned = v,
                2 => c.priority = v,
                3 => c.expires = v,
                4 => c.secure = v,
                5 => c.http_only = v,
                6 => c.domain = v,
                7 => path = Some(v),
                _ => c.same_site = v,
            }
        }
        if b.get(i) != Some(&b'}') {
            return None;
        }
        c.path = path.unwrap_or_else(|| Attr::Val(Value::String("/".into())));
        c.original_max_age = original_max_age;
        Some(CanonicalCookie { cookie: c, date, end: i + 1 })
    }

    /// The `maxAge` getter: milliseconds left for a date, else `expires` itself.
    pub(crate) fn max_age(&self, now: f64) -> Attr {
        match self.expires {
            Attr::Date(t) => Attr::Val(Value::Number(t - now)),
            ref other => other.clone(),
        }
    }

    /// The `expires` setter (also recomputes `originalMaxAge`).
    pub(crate) fn set_expires(&mut self, v: Attr, now: f64) {
        self.expires = v;
        self.original_max_age = self.max_age(now);
    }

    /// The `maxAge` setter.
    pub(crate) fn set_max_age(&mut self, ms: Attr, now: f64) -> Result<(), &'static str> {
        let expires = match ms {
            Attr::Val(Value::Number(n)) => Attr::Date(date::time_clip(now + n)),
            Attr::Date(_) => ms,
            other if other.truthy() => return Err(MAX_AGE_TYPE_ERROR),
            other => other,
        };
        self.set_expires(expires, now);
        Ok(())
    }

    /// `session.touch()`: `maxAge = originalMaxAge`.
    pub(crate) fn touch(&mut self, now: f64) -> Result<(), &'static str> {
        self.set_max_age(self.original_max_age.clone(), now)
    }

    pub(crate) fn set_attr(&mut self, attr: CookieAttr, v: Value) {
        let v = Attr::Val(v);
        match attr {
            CookieAttr::Path => self.path = v,
            CookieAttr::Domain => self.domain = v,
            CookieAttr::HttpOnly => self.http_only = v,
            CookieAttr::Secure => self.secure = v,
            CookieAttr::SameSite => self.same_site = v,
            CookieAttr::Partitioned => self.partitioned = v,
            CookieAttr::Priority => self.priority = v,
            CookieAttr::OriginalMaxAge => self.original_max_age = v,
        }
    }

    /// `cookie.expires != null`.
    pub(crate) fn has_expires(&self) -> bool {
        !self.expires.is_nullish()
    }

    /// When a record holding this cookie counts as expired (Unix ms, rounded
    /// up), by MemoryStore's `expires && expires <= now` rule; `None` for
    /// never. For a valid date this is simply its time value.
    pub(crate) fn store_expiry(&self) -> Option<i64> {
        let t = match &self.expires {
            Attr::Undefined => return None,
            Attr::Date(t) => *t,
            Attr::Val(Value::String(s)) => date::parse(s),
            Attr::Val(v) if !v.truthy() => return None,
            Attr::Val(v) => v.to_js_number(),
        };
        crate::record::expired_from(t)
    }

    /// `Cookie#toJSON()` written as JSON.
    pub(crate) fn write_json(&self, out: &mut String) {
        self.write_json_spans(out);
    }

    /// [`write_json`](Self::write_json); where `expires` went (quotes
    /// included) when it was written as a date.
    pub(crate) fn write_json_spans(&self, out: &mut String) -> Option<(usize, usize)> {
        let mut expires = None;
        out.reserve(160);
        out.push('{');
        let mut first = true;
        // The names need no escaping: each is written with its quotes and colon.
        for (k, v) in [
            ("\"originalMaxAge\":", &self.original_max_age),
            ("\"partitioned\":", &self.partitioned),
            ("\"priority\":", &self.priority),
            ("\"expires\":", &self.expires),
            ("\"secure\":", &self.secure),
            ("\"httpOnly\":", &self.http_only),
            ("\"domain\":", &self.domain),
            ("\"path\":", &self.path),
            ("\"sameSite\":", &self.same_site),
        ] {
            if matches!(v, Attr::Undefined) {
                continue;
            }
            if !first {
                out.push(',');
            }
            first = false;
            out.push_str(k);
            let start = out.len();
            v.write_json(out);
            if k == "\"expires\":" && matches!(v, Attr::Date(_)) && out.as_bytes().get(start) == Some(&b'"') {
                expires = Some((start, out.len()));
            }
        }
        out.push('}');
        expires
    }

    /// After this cookie was written at `object` of `text` (its `expires`,
    /// if a date, at `expires`): whether reading that text gives this
    /// cookie again. Every attribute must be one that JSON carries as
    /// it is: undefined (except the two the reader defaults), `null`, a
    /// boolean, a string, a finite number other than `-0`; and `expires` a
    /// date of the years 1970 to 9999 (whose ISO text reads back exactly)
    /// or `null`.
    pub(crate) fn reads_back_from(
        &self,
        text: &std::sync::Arc<str>,
        object: (usize, usize),
        expires: Option<(usize, usize)>,
    ) -> bool {
        fn carried(a: &Attr) -> bool {
            match a {
                Attr::Undefined => true,
                Attr::Date(_) => false,
                Attr::Val(Value::Null | Value::Bool(_) | Value::String(_)) => true,
                Attr::Val(Value::Number(n)) => n.is_finite() && !(*n == 0.0 && n.is_sign_negative()),
                Attr::Val(_) => false,
            }
        }
        const YEAR_10000: f64 = 253_402_300_800_000.0;
        let expires_ok = match (&self.expires, expires) {
            (Attr::Date(t), Some(_)) => (0.0..YEAR_10000).contains(t),
            (Attr::Val(Value::Null), None) => true,
            _ => false,
        };
        let others = [
            &self.original_max_age,
            &self.partitioned,
            &self.priority,
            &self.secure,
            &self.http_only,
            &self.domain,
            &self.path,
            &self.same_site,
        ];
        let defaulted_present = !matches!(self.http_only, Attr::Undefined) && !matches!(self.path, Attr::Undefined);
        if !expires_ok
            || !defaulted_present
            || !others.into_iter().all(carried)
            || text.get(object.0..object.1).is_none()
        {
            return false;
        }
        true
    }

    /// Whether the store's rule takes the record this cookie came from as
    /// expired at `now` (an `expires` date at or before it).
    pub(crate) fn expired_at(&self, now: f64) -> bool {
        matches!(self.expires, Attr::Date(t) if t <= now)
    }

    /// `Cookie#toJSON()` as a value.
    pub(crate) fn to_json(&self) -> Value {
        let mut s = String::new();
        self.write_json(&mut s);
        json::from_str(&s).unwrap_or(Value::Null)
    }

    /// `cookie.serialize(name, signedValue, this.data)` from cookie 0.7.2;
    /// the value is given in parts (encoded one after the other).
    /// `name_is_token` is [`valid_name`]`(name)`, known beforehand.
    pub(crate) fn serialize(
        &self,
        name: &str,
        name_is_token: bool,
        value: CookieValue<'_>,
    ) -> Result<String, &'static str> {
        if !name_is_token {
            return Err("argument name is invalid");
        }
        let value_len: usize = match value {
            CookieValue::Parts(parts) => parts.iter().map(|p| p.len()).sum::<usize>() * 3 / 2,
            CookieValue::Encoded(text) => text.len(),
        };
        let mut s = String::with_capacity(name.len() + value_len + 96);
        s.push_str(name);
        s.push('=');
        match value {
            CookieValue::Parts(parts) => parts.iter().for_each(|part| encode_uri_component(part, &mut s)),
            CookieValue::Encoded(text) => s.push_str(text),
        }
        if self.domain.truthy() {
            let d = self.domain.to_js_string();
            if !valid_domain(&d) {
                return Err("option domain is invalid");
            }
            s.push_str("; Domain=");
            s.push_str(&d);
        }
        if self.path.truthy() {
            let p = self.path.to_js_string();
            if !valid_path(&p) {
                return Err("option path is invalid");
            }
            s.push_str("; Path=");
            s.push_str(&p);
        }
        if self.expires.truthy() {
            match self.expires {
                Attr::Date(t) => {
                    s.push_str("; Expires=");
                    if !date::write_utc(&mut s, t) {
                        return Err("option expires is invalid");
                    }
                }
                _ => return Err("option expires is invalid"),
            }
        }
        if self.http_only.truthy() {
            s.push_str("; HttpOnly");
        }
        if self.secure.truthy() {
            s.push_str("; Secure");
        }
        if self.partitioned.truthy() {
            s.push_str("; Partitioned");
        }
        if self.priority.truthy() {
            let p = match &self.priority {
                Attr::Val(Value::String(p)) => js_lower(p),
                _ => return Err("option priority is invalid"),
            };
            s.push_str(match &*p {
                "low" => "; Priority=Low",
                "medium" => "; Priority=Medium",
                "high" => "; Priority=High",
                _ => return Err("option priority is invalid"),
            });
        }
        if self.same_site.truthy() {
            let attr = match &self.same_site {
                Attr::Val(Value::Bool(true)) => "; SameSite=Strict",
                Attr::Val(Value::String(v)) => match &*js_lower(v) {
                    "lax" => "; SameSite=Lax",
                    "strict" => "; SameSite=Strict",
                    "none" => "; SameSite=None",
                    _ => return Err("option sameSite is invalid"),
                },
                _ => return Err("option sameSite is invalid"),
            };
            s.push_str(attr);
        }
        Ok(s)
    }
}

/// A value [`SessionCookie::read_canonical`] reads.
enum Simple<'a> {
    /// A string without escapes (its characters).
    Str(&'a str),
    Val(Value),
}

/// `null`, `true`, `false`, an integer of up to 15 digits, or a string
/// without escapes or control characters at `text[i]`, and where it ends.
fn simple_value(text: &str, i: usize) -> Option<(Simple<'_>, usize)> {
    let b = text.as_bytes();
    let rest = b.get(i..)?;
    let word = |w: &[u8], v: bool| rest.starts_with(w).then(|| (Simple::Val(Value::Bool(v)), i + w.len()));
    match rest.first()? {
        b'n' => rest.starts_with(b"null").then_some((Simple::Val(Value::Null), i + 4)),
        b't' => word(b"true", true),
        b'f' => word(b"false", false),
        b'"' => {
            let n = rest[1..].iter().position(|&c| c == b'"' || c == b'\\' || c < 0x20)?;
            if rest[1 + n] != b'"' {
                return None;
            }
            Some((Simple::Str(text.get(i + 1..i + 1 + n)?), i + n + 2))
        }
        _ => {
            let negative = rest[0] == b'-';
            let digits = &rest[usize::from(negative)..];
            let n = digits.iter().position(|c| !c.is_ascii_digit()).unwrap_or(digits.len());
            // JSON allows no leading zeros; fractions and exponents go the long way.
            if n == 0 || n > 15 || (digits[0] == b'0' && n > 1) || matches!(digits.get(n), Some(b'.' | b'e' | b'E')) {
                return None;
            }
            let m = digits[..n].iter().fold(0u64, |m, &d| m * 10 + u64::from(d - b'0')) as f64;
            if negative && m == 0.0 {
                return None; // -0, which JSON.stringify writes as 0
            }
            Some((Simple::Val(Value::Number(if negative { -m } else { m })), i + usize::from(negative) + n))
        }
    }
}

/// A `Set-Cookie` value for [`SessionCookie::serialize`].
#[derive(Clone, Copy, Debug)]
pub(crate) enum CookieValue<'a> {
    /// Text to encode (`encodeURIComponent`), given in parts.
    Parts(&'a [&'a str]),
    /// Text encoded already, exactly as `encodeURIComponent` would.
    Encoded(&'a str),
}

/// `String#toLowerCase`, without allocating for lower-case ASCII.
fn js_lower(s: &str) -> std::borrow::Cow<'_, str> {
    if s.bytes().any(|c| c.is_ascii_uppercase() || !c.is_ascii()) {
        std::borrow::Cow::Owned(s.to_lowercase())
    } else {
        std::borrow::Cow::Borrowed(s)
    }
}

/// cookie 0.7.2 `cookieNameRegExp`: an RFC 7230 token.
pub(crate) fn valid_name(name: &str) -> bool {
    !name.is_empty() && name.bytes().all(|c| c.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&c))
}

/// cookie 0.7.2 `domainValueRegExp`: dot-separated labels of letters, digits
/// and inner hyphens (1-63 characters), optionally with one leading dot.
pub(crate) fn valid_domain(d: &str) -> bool {
    let d = d.strip_prefix('.').unwrap_or(d);
    !d.is_empty()
        && d.split('.').all(|label| {
            let b = label.as_bytes();
            !b.is_empty()
                && b.len() <= 63
                && b.iter().all(|c| c.is_ascii_alphanumeric() || *c == b'-')
                && b[0].is_ascii_alphanumeric()
                && b[b.len() - 1].is_ascii_alphanumeric()
        })
}

/// cookie 0.7.2 `pathValueRegExp`: U+0020-U+003A and U+003D-U+007E (printable
/// ASCII without `;` and `<`).
pub(crate) fn valid_path(p: &str) -> bool {
    p.bytes().all(|c| (0x20..=0x3a).contains(&c) || (0x3d..=0x7e).contains(&c))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fractional_max_age_truncates() {
        let opts = CookieOptions { max_age: Some(1500.5), ..Default::default() };
        let c = SessionCookie::generate(&opts, 1_700_000_000_000.0, false);
        assert_eq!(c.original_max_age, Attr::Val(Value::Number(1500.0)));
    }

    #[test]
    fn record_without_cookie_is_a_type_error() {
        assert!(SessionCookie::from_record(None, 0.0).is_err());
        assert!(SessionCookie::from_record(Some(CookieMember::Other(Value::Bool(true))), 0.0).is_err());
        let c = SessionCookie::from_record(Some(CookieMember::Other(Value::Bool(false))), 0.0).unwrap();
        assert_eq!(c.original_max_age, Attr::Undefined);
    }

    #[test]
    fn cookie_key_index_follows_the_list() {
        for (i, k) in COOKIE_KEYS.iter().enumerate() {
            assert_eq!(cookie_key_index(k.as_bytes()), Some(i));
        }
        assert_eq!(COOKIE_KEYS[crate::record::DATE_FIELD], "expires", "the attribute read as a date");
        assert_eq!(cookie_key_index(b"data"), None);
        assert_eq!(cookie_key_index(b"Path"), None);
    }

    #[test]
    fn validators() {
        assert!(valid_domain(".example.org"));
        assert!(!valid_domain("-bad.org"));
        assert!(!valid_domain("a..b"));
        assert!(valid_path("/a b"));
        assert!(!valid_path("/a;b"));
        assert!(!valid_name("a b"));
    }
}

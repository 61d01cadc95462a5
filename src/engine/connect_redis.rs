//! connect-redis's rules, in one place: which Redis command a store sends
//! for each store action, with which key, value and TTL (`docs/redis.md`
//! has the table). Pure: it performs no I/O, so every host (the Rust
//! `RedisStore`, the C ABI's `libsession_request_redis_command`, and through
//! it the C and Python stores) follows the same plan and ports nothing.
//!
//! ```
//! use libsession_engine::connect_redis::{ConnectRedisOptions, RedisCommand};
//!
//! let opts = ConnectRedisOptions::default().prefix("app:");
//! let now = 1_700_000_000_000;
//! assert_eq!(opts.load("abc"), RedisCommand::Get { key: "app:abc".into() });
//! assert_eq!(
//!     opts.save("abc", "{}", Some(now + 60_000), now),
//!     RedisCommand::Set { key: "app:abc".into(), value: "{}", ttl: Some(60) }
//! );
//! ```

use std::fmt;

use crate::json::Value;
use crate::record::{CONNECT_REDIS_DEFAULT_TTL, connect_redis_ttl};

/// connect-redis's default key prefix.
pub const DEFAULT_PREFIX: &str = crate::record::CONNECT_REDIS_DEFAULT_PREFIX;

/// connect-redis's options that decide keys and TTLs (its constructor's
/// `prefix`, `ttl`, `disableTouch` and `disableTTL`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConnectRedisOptions {
    prefix: String,
    ttl: i64,
    disable_touch: bool,
    disable_ttl: bool,
}

impl Default for ConnectRedisOptions {
    /// connect-redis's defaults: prefix `sess:`, TTL 86400 s, touch and TTL on.
    fn default() -> Self {
        ConnectRedisOptions {
            prefix: DEFAULT_PREFIX.to_string(),
            ttl: CONNECT_REDIS_DEFAULT_TTL,
            disable_touch: false,
            disable_ttl: false,
        }
    }
}

/// A connect-redis options object that cannot be followed
/// ([`ConnectRedisOptions::from_json`]).
#[non_exhaustive]
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RedisOptionsError {
    /// The options are not a JSON object.
    NotAnObject,
    /// A known option holds a value of the wrong type.
    WrongType {
        /// The option's connect-redis name.
        option: &'static str,
        /// What it must be.
        expected: &'static str,
    },
    /// A connect-redis option this library does not support.
    Unsupported {
        /// The option's name as given.
        option: String,
        /// Why it is not supported.
        reason: &'static str,
    },
    /// A name that is no connect-redis option.
    Unknown {
        /// The name as given.
        option: String,
    },
}

impl fmt::Display for RedisOptionsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RedisOptionsError::NotAnObject => f.write_str("connect-redis options must be a JSON object"),
            RedisOptionsError::WrongType { option, expected } => {
                write!(f, "connect-redis option `{option}` must be {expected}")
            }
            RedisOptionsError::Unsupported { option, reason } => {
                write!(f, "connect-redis option `{option}` is not supported: {reason}")
            }
            RedisOptionsError::Unknown { option } => write!(f, "`{option}` is not a connect-redis option"),
        }
    }
}

impl std::error::Error for RedisOptionsError {}

/// The options connect-redis has that are refused, with the reason.
const UNSUPPORTED: &[(&str, &str)] = &[
    ("serializer", "the record must stay the engine's JSON text, byte for byte"),
    ("client", "the host makes its own Redis connection (give it the server's URL)"),
    ("scanCount", "the engine's store interface has no SCAN-based operations (all, ids, length, clear)"),
];

/// One Redis command: what a connect-redis store sends for a store action.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RedisCommand<'a> {
    /// `GET key`: a nil or empty reply is "not found"; otherwise the reply is
    /// the record.
    Get {
        /// `prefix + sid`.
        key: String,
    },
    /// `SET key value EX ttl`, or `SET key value` when `ttl` is `None`
    /// (`disableTTL`).
    Set {
        /// `prefix + sid`.
        key: String,
        /// The record, exactly as the engine made it.
        value: &'a str,
        /// The TTL in seconds (always > 0), or `None` for no expiry.
        ttl: Option<i64>,
    },
    /// `EXPIRE key ttl` (a `ttl` <= 0 makes Redis delete the key, as
    /// connect-redis's touch does).
    Expire {
        /// `prefix + sid`.
        key: String,
        /// The TTL in seconds.
        ttl: i64,
    },
    /// `DEL key` (an absent key is fine).
    Del {
        /// `prefix + sid`.
        key: String,
    },
    /// `SET key value EX ttl NX` (or without `EX` when `ttl` is `None`):
    /// the save of a new session's ID, insert-if-absent. A nil reply means
    /// a record is stored under the key and was kept: answer
    /// [`StoreResult::Exists`](crate::StoreResult::Exists).
    SetNx {
        /// `prefix + sid`.
        key: String,
        /// The record, exactly as the engine made it.
        value: &'a str,
        /// The TTL in seconds (always > 0), or `None` for no expiry.
        ttl: Option<i64>,
    },
    /// `versioned`: `EVAL` [`VERSIONED_SCRIPT`] `1 key expected ttl [value]`
    /// (`ttl` 0 for none): the compare-and-set of a versioned save (with
    /// `value`: `SET`) or touch (without: `EXPIRE`), applied only if the
    /// record under `key` carries version `expected`. The reply is 1 when
    /// written, 0 for a conflict: answer
    /// [`StoreResult::Conflict`](crate::StoreResult::Conflict).
    CompareAndSet {
        /// `prefix + sid`.
        key: String,
        /// The record to `SET`, or `None` for a touch (`EXPIRE`).
        value: Option<&'a str>,
        /// The TTL in seconds; `None`: no `EX` (a save under `disableTTL`).
        ttl: Option<i64>,
        /// The version the stored record must carry.
        expected: u64,
    },
    /// No command at all (a touch with `disableTouch` or `disableTTL`).
    Nothing,
}

/// The Lua script of [`RedisCommand::CompareAndSet`], run by `EVAL` (or
/// `EVALSHA` of its SHA-1) with `KEYS[1]` the key and `ARGV` = expected
/// version, TTL in seconds (`0`: none), and for a save the record. Redis
/// runs a script atomically, so no other write falls between the version
/// check and the write. The version is the record's `libsessionVersion`
/// (a whole number; absent or anything else counts as 0, as the engine
/// reads it); an absent (or empty) key is a conflict. Returns 1 when it
/// wrote, 0 for a conflict.
pub const VERSIONED_SCRIPT: &str = r#"local cur = redis.call('GET', KEYS[1])
if not cur or cur == '' then return 0 end
local ok, rec = pcall(cjson.decode, cur)
local v = 0
if ok and type(rec) == 'table' then
  local n = rec['libsessionVersion']
  if type(n) == 'number' and n >= 0 and n == math.floor(n) then v = n end
end
if v ~= tonumber(ARGV[1]) then return 0 end
if ARGV[3] then
  if ARGV[2] == '0' then
    redis.call('SET', KEYS[1], ARGV[3])
  else
    redis.call('SET', KEYS[1], ARGV[3], 'EX', ARGV[2])
  end
else
  redis.call('EXPIRE', KEYS[1], ARGV[2])
end
return 1
"#;

impl ConnectRedisOptions {
    /// connect-redis's defaults (as [`Default`]).
    pub fn new() -> Self {
        Self::default()
    }

    /// `prefix`: the string before every session ID in keys (default
    /// `sess:`; may be empty).
    pub fn prefix(mut self, prefix: impl Into<String>) -> Self {
        self.prefix = prefix.into();
        self
    }

    /// `ttl` as a number: the TTL in seconds of sessions whose cookie has no
    /// expiry. connect-redis reads `ttl || 86400`, so 0 means 86400; a
    /// negative TTL makes such sessions be deleted instead of saved.
    pub fn ttl(mut self, seconds: i64) -> Self {
        self.ttl = if seconds == 0 { CONNECT_REDIS_DEFAULT_TTL } else { seconds };
        self
    }

    /// `disableTouch`: a touch sends nothing (the TTL is renewed only when
    /// the session is saved).
    pub fn disable_touch(mut self, on: bool) -> Self {
        self.disable_touch = on;
        self
    }

    /// `disableTTL`: records are written without expiry, and a touch sends
    /// nothing (a save whose TTL is <= 0 still deletes).
    pub fn disable_ttl(mut self, on: bool) -> Self {
        self.disable_ttl = on;
        self
    }

    /// The key prefix.
    pub fn key_prefix(&self) -> &str {
        &self.prefix
    }

    /// The TTL in seconds for sessions without expiry (never 0).
    pub fn default_ttl(&self) -> i64 {
        self.ttl
    }

    /// Whether touches are disabled (`disableTouch`).
    pub fn touch_disabled(&self) -> bool {
        self.disable_touch
    }

    /// Whether TTLs are disabled (`disableTTL`).
    pub fn ttl_disabled(&self) -> bool {
        self.disable_ttl
    }

    /// Reads a connect-redis options object (`new RedisStore(options)`):
    /// `prefix` (a string), `ttl` (a number of seconds; fractions are cut
    /// toward zero, as Redis needs an integer), `disableTouch` and
    /// `disableTTL` (booleans). A `null` value means absent, as
    /// connect-redis's `opts.x == null ? default : opts.x` and `opts.x ||
    /// default` read it. `serializer`, `client` and `scanCount` are
    /// [`RedisOptionsError::Unsupported`], other names
    /// [`RedisOptionsError::Unknown`].
    pub fn from_json(options: &Value) -> Result<Self, RedisOptionsError> {
        let Value::Object(map) = options else {
            return Err(RedisOptionsError::NotAnObject);
        };
        let mut out = ConnectRedisOptions::default();
        for (name, value) in map.iter() {
            if let Some((option, reason)) = UNSUPPORTED.iter().find(|(n, _)| *n == name) {
                return Err(RedisOptionsError::Unsupported { option: (*option).to_string(), reason });
            }
            if matches!(value, Value::Null) {
                continue;
            }
            match name {
                "prefix" => match value {
                    Value::String(s) => out.prefix = s.to_string(),
                    _ => return Err(RedisOptionsError::WrongType { option: "prefix", expected: "a string" }),
                },
                "ttl" => match value {
                    Value::Number(n) if n.is_finite() => {
                        let seconds = n.trunc();
                        if seconds.abs() >= 1e15 {
                            return Err(RedisOptionsError::WrongType {
                                option: "ttl",
                                expected: "a number of seconds below 10^15",
                            });
                        }
                        out = out.ttl(seconds as i64);
                    }
                    Value::Number(_) => {
                        return Err(RedisOptionsError::WrongType { option: "ttl", expected: "a finite number" });
                    }
                    _ => {
                        return Err(RedisOptionsError::Unsupported {
                            option: "ttl".to_string(),
                            reason: "only a number of seconds is supported (a function cannot cross JSON)",
                        });
                    }
                },
                "disableTouch" => out.disable_touch = bool_option("disableTouch", value)?,
                "disableTTL" => out.disable_ttl = bool_option("disableTTL", value)?,
                other => return Err(RedisOptionsError::Unknown { option: other.to_string() }),
            }
        }
        Ok(out)
    }

    /// The key of session `sid`: `prefix + sid`.
    pub fn key(&self, sid: &str) -> String {
        let mut key = String::with_capacity(self.prefix.len() + sid.len());
        key.push_str(&self.prefix);
        key.push_str(sid);
        key
    }

    /// connect-redis's `getTTL` in seconds (see [`connect_redis_ttl`]).
    pub fn ttl_for(&self, expires_at: Option<i64>, now: i64) -> i64 {
        connect_redis_ttl(expires_at, now, self.ttl)
    }

    /// The command for a `Load` of `sid`.
    pub fn load(&self, sid: &str) -> RedisCommand<'static> {
        RedisCommand::Get { key: self.key(sid) }
    }

    /// The command for a `Save` of `record` under `sid`, whose cookie
    /// expires at `expires_at` (Unix ms; `None`: no expiry), at `now` (Unix
    /// ms): `SET` with the TTL (without it under `disableTTL`) if the TTL is
    /// > 0, else `DEL`.
    pub fn save<'a>(&self, sid: &str, record: &'a str, expires_at: Option<i64>, now: i64) -> RedisCommand<'a> {
        let ttl = self.ttl_for(expires_at, now);
        let key = self.key(sid);
        if ttl <= 0 {
            return RedisCommand::Del { key };
        }
        RedisCommand::Set { key, value: record, ttl: (!self.disable_ttl).then_some(ttl) }
    }

    /// The command for the `Save` of a new session's ID (`is_new`):
    /// as [`save`](Self::save), but insert-if-absent (`SET ... NX`), so
    /// that an ID collision never overwrites another session (connect-redis
    /// sends a plain `SET`).
    pub fn save_new<'a>(&self, sid: &str, record: &'a str, expires_at: Option<i64>, now: i64) -> RedisCommand<'a> {
        match self.save(sid, record, expires_at, now) {
            RedisCommand::Set { key, value, ttl } => RedisCommand::SetNx { key, value, ttl },
            other => other,
        }
    }

    /// The command for a versioned `Save` (`versioned`, not new): the
    /// [`VERSIONED_SCRIPT`] compare-and-set of the `SET` [`save`](Self::save)
    /// would send (a TTL <= 0 still deletes).
    pub fn save_versioned<'a>(
        &self,
        sid: &str,
        record: &'a str,
        expires_at: Option<i64>,
        expected: u64,
        now: i64,
    ) -> RedisCommand<'a> {
        match self.save(sid, record, expires_at, now) {
            RedisCommand::Set { key, value, ttl } => {
                RedisCommand::CompareAndSet { key, value: Some(value), ttl, expected }
            }
            other => other,
        }
    }

    /// The command for a versioned `Touch`: the [`VERSIONED_SCRIPT`]
    /// compare-and-set of the `EXPIRE` [`touch`](Self::touch) would send
    /// (nothing under `disableTouch` or `disableTTL`).
    pub fn touch_versioned(
        &self,
        sid: &str,
        expires_at: Option<i64>,
        expected: u64,
        now: i64,
    ) -> RedisCommand<'static> {
        match self.touch(sid, expires_at, now) {
            RedisCommand::Expire { key, ttl } => {
                RedisCommand::CompareAndSet { key, value: None, ttl: Some(ttl), expected }
            }
            other => other,
        }
    }

    /// The command for a store action (`None` for any other action), as
    /// each store sends it: [`load`](Self::load), [`save_new`](Self::save_new)
    /// for a new session's save, [`save_versioned`](Self::save_versioned) and
    /// [`touch_versioned`](Self::touch_versioned) in `versioned` mode, else
    /// [`save`](Self::save), [`touch`](Self::touch), [`destroy`](Self::destroy).
    pub fn command<'a>(&self, action: &crate::Action<'a>, now: i64) -> Option<RedisCommand<'a>> {
        use crate::Action;
        Some(match *action {
            Action::Load { id } => self.load(id),
            Action::Save { id, record, expires_at, is_new: true, .. } => self.save_new(id, record, expires_at, now),
            Action::Save { id, record, expires_at, version: Some(v), .. } => {
                self.save_versioned(id, record, expires_at, v.expected, now)
            }
            Action::Save { id, record, expires_at, .. } => self.save(id, record, expires_at, now),
            Action::Touch { id, expires_at, version: Some(v), .. } => {
                self.touch_versioned(id, expires_at, v.expected, now)
            }
            Action::Touch { id, expires_at, .. } => self.touch(id, expires_at, now),
            Action::Destroy { id } => self.destroy(id),
            _ => return None,
        })
    }

    /// The command for a `Touch` of `sid`: `EXPIRE` with the TTL (Redis
    /// deletes the key for a TTL <= 0), or nothing under `disableTouch` or
    /// `disableTTL`.
    pub fn touch(&self, sid: &str, expires_at: Option<i64>, now: i64) -> RedisCommand<'static> {
        if self.disable_touch || self.disable_ttl {
            return RedisCommand::Nothing;
        }
        RedisCommand::Expire { key: self.key(sid), ttl: self.ttl_for(expires_at, now) }
    }

    /// The command for a `Destroy` of `sid`: `DEL`.
    pub fn destroy(&self, sid: &str) -> RedisCommand<'static> {
        RedisCommand::Del { key: self.key(sid) }
    }
}

fn bool_option(option: &'static str, value: &Value) -> Result<bool, RedisOptionsError> {
    match value {
        Value::Bool(b) => Ok(*b),
        _ => Err(RedisOptionsError::WrongType { option, expected: "a boolean" }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: i64 = 1_700_000_000_000;

    fn json(text: &str) -> Value {
        crate::json::from_str(text).unwrap()
    }

    fn key(k: &str) -> String {
        k.to_string()
    }

    #[test]
    fn new_sessions_insert_if_absent_and_versioned_writes_compare_and_set() {
        let d = ConnectRedisOptions::default();
        assert_eq!(
            d.save_new("s", "{}", None, NOW),
            RedisCommand::SetNx { key: key("sess:s"), value: "{}", ttl: Some(86_400) }
        );
        assert_eq!(d.save_new("s", "{}", Some(NOW), NOW), RedisCommand::Del { key: key("sess:s") });
        assert_eq!(
            d.save_versioned("s", "{}", Some(NOW + 60_000), 4, NOW),
            RedisCommand::CompareAndSet { key: key("sess:s"), value: Some("{}"), ttl: Some(60), expected: 4 }
        );
        assert_eq!(
            ConnectRedisOptions::new().disable_ttl(true).save_versioned("s", "{}", None, 0, NOW),
            RedisCommand::CompareAndSet { key: key("sess:s"), value: Some("{}"), ttl: None, expected: 0 }
        );
        assert_eq!(
            d.touch_versioned("s", Some(NOW + 5_000), 2, NOW),
            RedisCommand::CompareAndSet { key: key("sess:s"), value: None, ttl: Some(5), expected: 2 }
        );
        assert_eq!(
            ConnectRedisOptions::new().disable_touch(true).touch_versioned("s", None, 2, NOW),
            RedisCommand::Nothing
        );
        // Through the action: the flags pick the command.
        let v = Some(crate::Version { expected: 1, written: 2 });
        let save = |is_new, version| crate::Action::Save { id: "s", record: "{}", expires_at: None, is_new, version };
        assert!(matches!(d.command(&save(true, None), NOW), Some(RedisCommand::SetNx { .. })));
        assert!(matches!(d.command(&save(true, v), NOW), Some(RedisCommand::SetNx { .. })));
        assert!(matches!(d.command(&save(false, v), NOW), Some(RedisCommand::CompareAndSet { expected: 1, .. })));
        assert!(matches!(d.command(&save(false, None), NOW), Some(RedisCommand::Set { .. })));
        assert_eq!(d.command(&crate::Action::Ready, NOW), None);
    }

    #[test]
    fn keys_are_the_prefix_and_the_session_id() {
        let d = ConnectRedisOptions::default();
        assert_eq!(d.key("abc"), "sess:abc");
        assert_eq!(d.load("abc"), RedisCommand::Get { key: key("sess:abc") });
        assert_eq!(d.destroy("abc"), RedisCommand::Del { key: key("sess:abc") });
        let empty = ConnectRedisOptions::new().prefix("");
        assert_eq!(empty.load("abc"), RedisCommand::Get { key: key("abc") });
        assert_eq!(empty.key_prefix(), "");
    }

    #[test]
    fn saves_set_with_the_cookie_ttl_or_the_default_and_delete_when_expired() {
        let d = ConnectRedisOptions::default();
        // maxAge 60000 saved now: EX 60.
        assert_eq!(
            d.save("s", "{}", Some(NOW + 60_000), NOW),
            RedisCommand::Set { key: key("sess:s"), value: "{}", ttl: Some(60) }
        );
        // Rounded up, as Math.ceil does.
        assert_eq!(
            d.save("s", "{}", Some(NOW + 59_001), NOW),
            RedisCommand::Set { key: key("sess:s"), value: "{}", ttl: Some(60) }
        );
        assert_eq!(
            d.save("s", "{}", Some(NOW + 1), NOW),
            RedisCommand::Set { key: key("sess:s"), value: "{}", ttl: Some(1) }
        );
        // A browser-session cookie: the default TTL.
        assert_eq!(
            d.save("s", "{}", None, NOW),
            RedisCommand::Set { key: key("sess:s"), value: "{}", ttl: Some(86_400) }
        );
        // Expired (TTL <= 0): DEL instead.
        assert_eq!(d.save("s", "{}", Some(NOW), NOW), RedisCommand::Del { key: key("sess:s") });
        assert_eq!(d.save("s", "{}", Some(NOW - 5_000), NOW), RedisCommand::Del { key: key("sess:s") });
    }

    #[test]
    fn the_ttl_option_follows_ttl_or_86400() {
        let o = ConnectRedisOptions::new().ttl(30);
        assert_eq!(o.save("s", "{}", None, NOW), RedisCommand::Set { key: key("sess:s"), value: "{}", ttl: Some(30) });
        // The cookie's expiry wins over the option.
        assert_eq!(
            o.save("s", "{}", Some(NOW + 10_000), NOW),
            RedisCommand::Set { key: key("sess:s"), value: "{}", ttl: Some(10) }
        );
        assert_eq!(ConnectRedisOptions::new().ttl(0).default_ttl(), 86_400);
        // Negative: sessions without expiry are deleted.
        let neg = ConnectRedisOptions::new().ttl(-1);
        assert_eq!(neg.save("s", "{}", None, NOW), RedisCommand::Del { key: key("sess:s") });
        assert_eq!(neg.touch("s", None, NOW), RedisCommand::Expire { key: key("sess:s"), ttl: -1 });
    }

    #[test]
    fn touches_expire_or_do_nothing_when_disabled() {
        let d = ConnectRedisOptions::default();
        assert_eq!(d.touch("s", Some(NOW + 4_000), NOW), RedisCommand::Expire { key: key("sess:s"), ttl: 4 });
        assert_eq!(d.touch("s", None, NOW), RedisCommand::Expire { key: key("sess:s"), ttl: 86_400 });
        // A passed expiry: EXPIRE with a TTL <= 0 (Redis deletes the key).
        assert_eq!(d.touch("s", Some(NOW - 1_500), NOW), RedisCommand::Expire { key: key("sess:s"), ttl: -1 });
        assert_eq!(ConnectRedisOptions::new().disable_touch(true).touch("s", None, NOW), RedisCommand::Nothing);
        assert_eq!(ConnectRedisOptions::new().disable_ttl(true).touch("s", None, NOW), RedisCommand::Nothing);
    }

    #[test]
    fn disable_ttl_writes_without_expiry_but_still_deletes_expired_sessions() {
        let o = ConnectRedisOptions::new().disable_ttl(true);
        assert!(o.ttl_disabled() && !o.touch_disabled());
        assert_eq!(
            o.save("s", "{}", Some(NOW + 60_000), NOW),
            RedisCommand::Set { key: key("sess:s"), value: "{}", ttl: None }
        );
        assert_eq!(o.save("s", "{}", None, NOW), RedisCommand::Set { key: key("sess:s"), value: "{}", ttl: None });
        assert_eq!(o.save("s", "{}", Some(NOW - 1), NOW), RedisCommand::Del { key: key("sess:s") });
    }

    #[test]
    fn options_are_read_from_connect_redis_names() {
        assert_eq!(ConnectRedisOptions::from_json(&json("{}")).unwrap(), ConnectRedisOptions::default());
        let o = ConnectRedisOptions::from_json(&json(
            r#"{"prefix":"app:","ttl":120,"disableTouch":true,"disableTTL":false}"#,
        ))
        .unwrap();
        assert_eq!(o, ConnectRedisOptions::new().prefix("app:").ttl(120).disable_touch(true));
        let nulls = r#"{"prefix":null,"ttl":null,"disableTouch":null,"disableTTL":null}"#;
        assert_eq!(ConnectRedisOptions::from_json(&json(nulls)).unwrap(), ConnectRedisOptions::default());
        assert_eq!(ConnectRedisOptions::from_json(&json(r#"{"ttl":0}"#)).unwrap().default_ttl(), 86_400);
        assert_eq!(ConnectRedisOptions::from_json(&json(r#"{"ttl":-5}"#)).unwrap().default_ttl(), -5);
        assert_eq!(ConnectRedisOptions::from_json(&json(r#"{"ttl":90.9}"#)).unwrap().default_ttl(), 90);
        assert_eq!(ConnectRedisOptions::from_json(&json(r#"{"prefix":""}"#)).unwrap().key_prefix(), "");
    }

    #[test]
    fn unsupported_and_unknown_options_are_typed_errors() {
        let err = |t: &str| ConnectRedisOptions::from_json(&json(t)).unwrap_err();
        assert_eq!(err("[]"), RedisOptionsError::NotAnObject);
        for name in ["serializer", "client", "scanCount"] {
            let e = err(&format!(r#"{{"{name}":1}}"#));
            assert!(matches!(&e, RedisOptionsError::Unsupported { option, .. } if option == name), "{e}");
            assert!(e.to_string().contains(name), "{e}");
        }
        let ttl = err(r#"{"ttl":"60"}"#);
        assert!(matches!(&ttl, RedisOptionsError::Unsupported { option, .. } if option == "ttl"));
        assert!(ttl.to_string().starts_with("connect-redis option `ttl` is not supported"), "{ttl}");
        assert_eq!(
            err(r#"{"ttl":1e300}"#),
            RedisOptionsError::WrongType { option: "ttl", expected: "a number of seconds below 10^15" }
        );
        assert_eq!(err(r#"{"prefix":1}"#), RedisOptionsError::WrongType { option: "prefix", expected: "a string" });
        assert_eq!(
            err(r#"{"disableTouch":"yes"}"#),
            RedisOptionsError::WrongType { option: "disableTouch", expected: "a boolean" }
        );
        assert_eq!(
            err(r#"{"disableTTL":1}"#),
            RedisOptionsError::WrongType { option: "disableTTL", expected: "a boolean" }
        );
        assert_eq!(err(r#"{"ttls":1}"#), RedisOptionsError::Unknown { option: "ttls".into() });
        assert_eq!(err(r#"{"ttls":1}"#).to_string(), "`ttls` is not a connect-redis option");
    }
}

//! connect-redis's TTL rule, for `libsession_request_action_ttl_seconds`.
//!
//! The same arithmetic as `RedisStore::ttl` in `src/host/redis_store.rs`
//! (connect-redis's `getTTL`), kept here because the C ABI must not depend on
//! the `redis` feature.

/// connect-redis's TTL when `ttl` is not given: one day.
pub(crate) const DEFAULT_TTL_SECONDS: i64 = 86_400;

/// The TTL in seconds of a record whose cookie expires at `expires_at` (Unix
/// ms), at `now` (Unix ms): `Math.ceil((expires - now) / 1000)`, or
/// `default_ttl` (connect-redis reads its option as `ttl || 86400`, so 0 means
/// one day) for a cookie without an expiry. A result <= 0 means the record
/// has expired: a save deletes the key instead of writing it.
pub(crate) fn connect_redis_ttl(expires_at: Option<i64>, now: i64, default_ttl: i64) -> i64 {
    match expires_at {
        Some(at) => ((at as f64 - now as f64) / 1000.0).ceil() as i64,
        None if default_ttl == 0 => DEFAULT_TTL_SECONDS,
        None => default_ttl,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn follows_connect_redis() {
        let now = 1_700_000_000_000;
        assert_eq!(connect_redis_ttl(Some(now + 60_000), now, 5), 60);
        assert_eq!(connect_redis_ttl(Some(now + 59_001), now, 5), 60);
        assert_eq!(connect_redis_ttl(Some(now + 1), now, 5), 1);
        assert_eq!(connect_redis_ttl(Some(now), now, 5), 0);
        assert_eq!(connect_redis_ttl(Some(now - 1), now, 5), 0);
        assert_eq!(connect_redis_ttl(Some(now - 1_500), now, 5), -1);
        assert_eq!(connect_redis_ttl(None, now, 5), 5);
        assert_eq!(connect_redis_ttl(None, now, 0), DEFAULT_TTL_SECONDS);
        assert_eq!(connect_redis_ttl(None, now, -3), -3);
    }
}

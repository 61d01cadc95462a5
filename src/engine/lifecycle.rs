//! Session lifetimes beyond the cookie's (OWASP ASVS 5.0 V7.3): an absolute
//! timeout (`absoluteTimeout`), an idle timeout (`idleTimeout`), and the
//! grace window of an ID a `regenerate` replaced (`regenerateGrace`).
//!
//! What the rules need lives in the record, under reserved keys an
//! express-session app sharing the store carries along and ignores (its
//! `Session` keeps unknown properties and saves them back):
//!
//! * [`CREATED_AT_KEY`]: when the session (or its login, see `regenerate`)
//!   began, in Unix ms. Written only with `absoluteTimeout`.
//! * [`LAST_SEEN_AT_KEY`]: the last request, in Unix ms, to within
//!   1/[`IDLE_REFRESH_DIVISOR`] of the idle window (see [`idle_refresh`]).
//!   Written only with `idleTimeout`.
//! * [`GRACE_UNTIL_KEY`]: on the record of an ID a `regenerate` replaced:
//!   until when (Unix ms) it still loads, read-only. Honoured whatever the
//!   configuration, so that turning `regenerateGrace` off never revives one.
//!
//! A record without them (written by express-session, or before the option
//! was on) counts as created and last seen by the request that loads it,
//! which then stores the keys (one save).

use crate::event::Event;
use crate::guards::{FINGERPRINT_KEY, Guards};
use crate::json::Value;
use crate::session::Data;

/// The record key holding when a session began (Unix ms; `absoluteTimeout`).
pub const CREATED_AT_KEY: &str = "libsessionCreatedAt";
/// The record key holding a session's last request (Unix ms; `idleTimeout`).
pub const LAST_SEEN_AT_KEY: &str = "libsessionLastSeenAt";
/// The record key marking an ID a `regenerate` replaced: until when (Unix
/// ms) it loads, read-only (`regenerateGrace`).
pub const GRACE_UNTIL_KEY: &str = "libsessionGraceUntil";

/// [`LAST_SEEN_AT_KEY`] is rewritten only when it is behind by a tenth of the
/// idle window or more: an active session costs at most one store write per
/// tenth of `idleTimeout` (the other requests touch as usual), and a session
/// may time out up to that tenth early, never late.
pub const IDLE_REFRESH_DIVISOR: u64 = 10;

/// How far behind [`LAST_SEEN_AT_KEY`] may be before a request rewrites it.
pub fn idle_refresh(idle_timeout: u64) -> u64 {
    (idle_timeout / IDLE_REFRESH_DIVISOR).max(1)
}

/// Whether `key` is one of the engine's own record keys (the lifecycle
/// stamps and the fingerprint): `regenerate` keeping the data does not copy
/// them, it makes them anew.
pub fn is_engine_key(key: &str) -> bool {
    matches!(key, CREATED_AT_KEY | LAST_SEEN_AT_KEY | GRACE_UNTIL_KEY | FINGERPRINT_KEY)
}

/// What the lifecycle rules make of a loaded session.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub(crate) enum Verdict {
    /// The session lives. `superseded`: it is the grace copy of a
    /// regenerated ID (read-only). `stamp_created` / `stamp_seen`: the
    /// request stores [`CREATED_AT_KEY`] / [`LAST_SEEN_AT_KEY`] as now.
    Live { superseded: bool, stamp_created: bool, stamp_seen: bool },
    /// The session is over; the event says why.
    Refused(Event),
}

fn stamp(data: &Data, key: &str) -> Option<Option<f64>> {
    data.get(key).map(|v| match v {
        Value::Number(n) if n.is_finite() => Some(*n),
        _ => None,
    })
}

/// The rules applied to a loaded session's data at `now`.
pub(crate) fn check(guards: &Guards, data: &Data, now: f64) -> Verdict {
    let mut superseded = false;
    if let Some(until) = stamp(data, GRACE_UNTIL_KEY) {
        match until {
            Some(until) if now < until => superseded = true,
            // Past the window, or not a time (fail closed).
            _ => return Verdict::Refused(Event::RegenerateGraceEnded),
        }
    }
    let mut stamp_created = false;
    if let Some(limit) = guards.absolute_timeout {
        match stamp(data, CREATED_AT_KEY).flatten() {
            Some(created) if now >= created + limit as f64 => return Verdict::Refused(Event::AbsoluteTimeout),
            Some(_) => {}
            None => stamp_created = true,
        }
    }
    let mut stamp_seen = false;
    if let Some(limit) = guards.idle_timeout {
        match stamp(data, LAST_SEEN_AT_KEY).flatten() {
            Some(seen) if now >= seen + limit as f64 => return Verdict::Refused(Event::IdleTimeout),
            Some(seen) => stamp_seen = now - seen >= idle_refresh(limit) as f64,
            None => stamp_seen = true,
        }
    }
    if superseded {
        // A grace copy is never written: nothing to stamp.
        return Verdict::Live { superseded, stamp_created: false, stamp_seen: false };
    }
    Verdict::Live { superseded, stamp_created, stamp_seen }
}

/// The stamps a new session gets at `now`.
pub(crate) fn stamp_new(guards: &Guards, data: &mut Data, now: f64) {
    if guards.absolute_timeout.is_some() {
        data.insert(CREATED_AT_KEY, Value::Number(now));
    }
    if guards.idle_timeout.is_some() {
        data.insert(LAST_SEEN_AT_KEY, Value::Number(now));
    }
}

/// The earliest lifecycle deadline of a session's data (Unix ms), if any:
/// its absolute deadline, its idle deadline, the end of its grace window.
pub(crate) fn deadline(guards: &Guards, data: &Data) -> Option<f64> {
    let mut out: Option<f64> = None;
    let mut earlier = |t: f64| out = Some(out.map_or(t, |o| o.min(t)));
    if let Some(limit) = guards.absolute_timeout
        && let Some(Some(created)) = stamp(data, CREATED_AT_KEY)
    {
        earlier(created + limit as f64);
    }
    if let Some(limit) = guards.idle_timeout
        && let Some(Some(seen)) = stamp(data, LAST_SEEN_AT_KEY)
    {
        earlier(seen + limit as f64);
    }
    if let Some(Some(until)) = stamp(data, GRACE_UNTIL_KEY) {
        earlier(until);
    }
    out
}

/// A store expiry (`Action::Save`/`Touch`'s `expires_at`) no later than
/// `deadline`: a TTL store then drops the record when the first of the
/// cookie's expiry and the lifecycle deadlines comes.
pub(crate) fn clamp(expires_at: Option<i64>, deadline: Option<f64>) -> Option<i64> {
    // `as` saturates: a deadline beyond i64 is no earlier than any expiry.
    let deadline = deadline.map(|d| d.floor() as i64);
    match (expires_at, deadline) {
        (Some(e), Some(d)) => Some(e.min(d)),
        (e, d) => e.or(d),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clamp_takes_the_earlier() {
        assert_eq!(clamp(None, None), None);
        assert_eq!(clamp(Some(5), None), Some(5));
        assert_eq!(clamp(None, Some(7.5)), Some(7));
        assert_eq!(clamp(Some(5), Some(7.0)), Some(5));
        assert_eq!(clamp(Some(9), Some(7.0)), Some(7));
        assert_eq!(clamp(Some(9), Some(f64::MAX)), Some(9));
    }

    #[test]
    fn refresh_is_a_tenth_and_never_zero() {
        assert_eq!(idle_refresh(60_000), 6_000);
        assert_eq!(idle_refresh(5), 1);
    }
}

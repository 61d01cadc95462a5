//! Connect's reaping MemoryStore (issue 14, item 4; proof 3): with a
//! `reapInterval` of 100 ms and a fake clock, expired records (past their
//! cookie's expiry, or older than the store's `maxAge` since their last write
//! or touch) are gone after the next reap, and no live record is ever reaped.

use std::collections::BTreeMap;
use std::sync::Arc;

use libsession_engine::{Action, Config, MemoryStore, MemoryStoreOptions, Request, SeededIds, UnixMillis};
use proptest::prelude::*;

const SECRET: &str = "a reaping secret of at least 32 bytes";
const T0: i64 = 1_700_000_000_000;

fn reaping(reap_interval: u64, max_age: Option<u64>) -> MemoryStore {
    MemoryStore::with_options(MemoryStoreOptions {
        reap_interval: Some(reap_interval),
        max_age,
        ..MemoryStoreOptions::default()
    })
}

/// One request through the engine at `now`: the handler's step, then the
/// cookie pair (`name=value`) of the Set-Cookie, if any. The host reaps
/// first, as every host running a MemoryStore does.
fn request(
    config: &Arc<Config>,
    store: &MemoryStore,
    cookie: Option<&str>,
    now: i64,
    seed: u8,
    handler: impl FnOnce(&mut Request),
) -> Option<String> {
    store.reap_if_due(now);
    let mut req = Request::new(config.clone(), UnixMillis(now as u64), SeededIds::new(&[seed; 32]));
    if let Some(c) = cookie {
        req.add_cookie_header(c.as_bytes()).unwrap();
    }
    assert_eq!(store.poll(&mut req, now).unwrap(), Action::Ready);
    handler(&mut req);
    req.finish().unwrap();
    let mut set_cookie = None;
    loop {
        match store.poll(&mut req, now).unwrap() {
            Action::SetCookie { value } => set_cookie = Some(value.split(';').next().unwrap().to_string()),
            Action::Done => return set_cookie,
            other => panic!("{other:?}"),
        }
    }
}

#[test]
fn sessions_past_their_cookie_expiry_are_gone_after_the_next_reap() {
    let config = Arc::new(Config::builder().secret(SECRET).max_age(Some(250.0)).build().unwrap());
    let store = reaping(100, None);
    assert_eq!(store.next_reap_at(T0), Some(T0 + 100));
    let short = request(&config, &store, None, T0, 1, |r| assert!(r.increment("n").is_ok())).unwrap();
    let long = request(&config, &store, None, T0 + 150, 2, |r| assert!(r.increment("n").is_ok())).unwrap();
    assert_eq!(store.len(), 2);
    // The reap due at T0+100 ran with the request at T0+150 (a late reap
    // schedules the next one an interval after it: T0+250). The first
    // session's cookie expires at T0+250 (`expires <= now`).
    request(&config, &store, Some(&long), T0 + 200, 3, |_| {});
    assert_eq!(store.len(), 2, "nothing has expired at T0+200");
    assert_eq!(store.next_reap_at(T0 + 200), Some(T0 + 250));
    assert_eq!(store.reap_if_due(T0 + 249), 0);
    assert_eq!(store.len(), 2);
    assert_eq!(store.reap_if_due(T0 + 250), 1, "the expired session is reaped without being looked up");
    assert_eq!(store.len(), 1);
    // The long session was touched at T0+200 (cookie expiry T0+450): live.
    let again = request(&config, &store, Some(&long), T0 + 400, 4, |r| assert_eq!(r.increment("n"), Ok(2.0)));
    assert!(again.is_some());
    // The short one's cookie now loads nothing: a fresh session.
    request(&config, &store, Some(&short), T0 + 400, 5, |r| assert_eq!(r.increment("n"), Ok(1.0)));
}

#[test]
fn sessions_idle_longer_than_the_store_max_age_are_gone_after_the_next_reap() {
    // A browser-session cookie (no cookie maxAge): only the store's maxAge
    // ends the record, as in Connect.
    let config = Arc::new(Config::builder().secret(SECRET).build().unwrap());
    let store = reaping(100, Some(1_000));
    store.next_reap_at(T0);
    let idle = request(&config, &store, None, T0, 1, |r| assert!(r.increment("n").is_ok())).unwrap();
    let busy = request(&config, &store, None, T0, 2, |r| assert!(r.increment("n").is_ok())).unwrap();
    for t in (100..=1_000).step_by(100) {
        request(&config, &store, Some(&busy), T0 + t, 3, |r| assert!(r.get("n").is_some()));
        assert_eq!(store.len(), 2, "at +{t}: the idle record is not older than maxAge yet");
    }
    // The reap due at T0+1100 finds the idle record 1100 ms old.
    request(&config, &store, Some(&busy), T0 + 1_100, 4, |r| assert_eq!(r.increment("n"), Ok(2.0)));
    assert_eq!(store.len(), 1);
    request(&config, &store, Some(&idle), T0 + 1_100, 5, |r| assert_eq!(r.increment("n"), Ok(1.0)));
}

/// What the model keeps of a record: when it counts as expired.
fn deadline(cookie_expiry: Option<i64>, written: i64, max_age: Option<u64>) -> Option<i64> {
    let stale = max_age.map(|m| written + m as i64 + 1);
    match (cookie_expiry, stale) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

#[derive(Clone, Debug)]
enum Op {
    /// Advance the clock by this many ms, then write `sid` with a cookie
    /// expiry this many ms ahead (`None`: a browser-session cookie).
    Set {
        dt: u16,
        sid: u8,
        ttl: Option<u16>,
    },
    Touch {
        dt: u16,
        sid: u8,
        ttl: Option<u16>,
    },
    Get {
        dt: u16,
        sid: u8,
    },
    Destroy {
        dt: u16,
        sid: u8,
    },
}

fn op() -> impl Strategy<Value = Op> {
    let dt = 0u16..250;
    let sid = 0u8..8;
    let ttl = prop::option::of(0u16..600);
    prop_oneof![
        (dt.clone(), sid.clone(), ttl.clone()).prop_map(|(dt, sid, ttl)| Op::Set { dt, sid, ttl }),
        (dt.clone(), sid.clone(), ttl).prop_map(|(dt, sid, ttl)| Op::Touch { dt, sid, ttl }),
        (dt.clone(), sid.clone()).prop_map(|(dt, sid)| Op::Get { dt, sid }),
        (dt, sid).prop_map(|(dt, sid)| Op::Destroy { dt, sid }),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    /// Every step runs the host's `reap_if_due` at the step's time, as the
    /// hosts do. Whenever a reap ran, exactly the live records remain; a
    /// reap never removes a live record; and reaps run exactly when due.
    #[test]
    fn no_live_record_is_reaped_and_every_expired_one_goes_at_the_next_reap(
        max_age in prop::option::of(1u64..800),
        ops in prop::collection::vec(op(), 1..120),
    ) {
        let store = reaping(100, max_age);
        let mut now = T0;
        let mut due = store.next_reap_at(now).unwrap();
        prop_assert_eq!(due, T0 + 100);
        // sid -> deadline, for every record the store should hold.
        let mut model: BTreeMap<String, Option<i64>> = BTreeMap::new();
        let live = |model: &BTreeMap<String, Option<i64>>, now: i64| -> Vec<String> {
            model.iter().filter(|(_, d)| d.is_none_or(|d| d > now)).map(|(k, _)| k.clone()).collect()
        };
        for op in ops {
            let (dt, sid) = match &op {
                Op::Set { dt, sid, .. } | Op::Touch { dt, sid, .. } | Op::Get { dt, sid } | Op::Destroy { dt, sid } => (*dt, *sid),
            };
            now += i64::from(dt);
            let sid = format!("s{sid}");
            // The host's reap, on its clock.
            let before: Vec<String> = store.snapshot().into_iter().map(|(k, _)| k).collect();
            let reaped = store.reap_if_due(now);
            let after: Vec<String> = store.snapshot().into_iter().map(|(k, _)| k).collect();
            let live_now = live(&model, now);
            for k in &live_now {
                prop_assert!(after.contains(k), "live record {} reaped at {}", k, now - T0);
            }
            if now >= due {
                prop_assert_eq!(&after, &live_now, "after the reap at {}", now - T0);
                prop_assert_eq!(reaped, before.len() - after.len());
                due = now + 100;
                prop_assert_eq!(store.next_reap_at(now), Some(due));
            } else {
                prop_assert_eq!(reaped, 0);
                prop_assert_eq!(&after, &before, "no reap before it is due");
            }
            // Records the store no longer holds are out of the model too.
            model.retain(|k, _| after.contains(k));
            match op {
                Op::Set { ttl, .. } => {
                    let expiry = ttl.map(|t| now + i64::from(t));
                    store.set(&sid, r#"{"cookie":{},"v":1}"#, expiry, now).unwrap();
                    model.insert(sid, deadline(expiry, now, max_age));
                }
                Op::Touch { ttl, .. } => {
                    let expiry = ttl.map(|t| now + i64::from(t));
                    store.touch(&sid, r#"{"cookie":{"t":1},"v":2}"#, expiry, now);
                    match model.get(&sid).copied() {
                        Some(d) if d.is_none_or(|d| d > now) => {
                            model.insert(sid, deadline(expiry, now, max_age));
                        }
                        _ => {
                            model.remove(&sid);
                        }
                    }
                }
                Op::Get { .. } => {
                    let is_live = model.get(&sid).is_some_and(|d| d.is_none_or(|d| d > now));
                    prop_assert_eq!(store.get(&sid, now).is_some(), is_live);
                    if !is_live {
                        model.remove(&sid);
                    }
                }
                Op::Destroy { .. } => {
                    store.destroy(&sid);
                    model.remove(&sid);
                }
            }
            let held: Vec<String> = store.snapshot().into_iter().map(|(k, _)| k).collect();
            prop_assert_eq!(held, model.keys().cloned().collect::<Vec<_>>());
        }
    }
}

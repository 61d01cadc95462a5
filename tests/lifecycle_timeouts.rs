//! Issue 14, items 1 and 2 (proof 1): `absoluteTimeout`, `idleTimeout`,
//! `regenerate` keeping the data, and `regenerateGrace`, under random
//! request times, against a store that honours `expires_at` (the
//! MemoryStore, as a TTL store does) and against one that never expires
//! anything (the engine alone must then refuse what is over).

use std::collections::HashMap;
use std::sync::Arc;

use libsession_engine::lifecycle::{CREATED_AT_KEY, GRACE_UNTIL_KEY, LAST_SEEN_AT_KEY, idle_refresh, is_engine_key};
use libsession_engine::{
    Action, Config, ConfigBuilder, Event, IdQueue, LoadResult, Request, SUPERSEDED, StoreKind, StoreResult, UnixMillis,
    Value,
};
use proptest::prelude::*;
use serde_json::{Value as Json, json};

const SECRET: &str = "a secret of at least thirty-two bytes";
const T0: u64 = 1_700_000_000_000;

/// One store operation a request asked for.
#[derive(Clone, Debug, PartialEq)]
enum Op {
    Load(String),
    Save { id: String, record: String, expires_at: Option<i64> },
    Touch { id: String, expires_at: Option<i64> },
    Destroy(String),
}

impl Op {
    fn id(&self) -> &str {
        match self {
            Op::Load(id) | Op::Destroy(id) | Op::Save { id, .. } | Op::Touch { id, .. } => id,
        }
    }
    fn writes(&self) -> bool {
        !matches!(self, Op::Load(_))
    }
}

/// A store of record texts with their `expires_at`; `honour_expiry: false`
/// keeps every record forever (the engine must refuse what is over itself).
#[derive(Default)]
struct Store {
    records: HashMap<String, (String, Option<i64>)>,
    honour_expiry: bool,
}

impl Store {
    fn get(&self, id: &str, now: u64) -> Option<&str> {
        let (text, exp) = self.records.get(id)?;
        if self.honour_expiry && exp.is_some_and(|e| e <= now as i64) {
            return None;
        }
        Some(text)
    }
}

/// A handler step, run in the application's turn.
#[derive(Clone, Debug)]
enum Step {
    Increment(&'static str),
    Set(String, Json),
    Regenerate { keep: bool },
    Save,
}

/// What one request did.
#[derive(Debug, Default)]
struct Outcome {
    ops: Vec<Op>,
    set_cookies: Vec<String>,
    events: Vec<Event>,
    completed: Vec<Option<String>>,
    /// The session ID and data (a JSON object, without the cookie) when the
    /// handler began, and after each step.
    id_at_start: Option<String>,
    data_at_start: Option<Json>,
    data_before_regenerate: Option<Json>,
    id_at_end: Option<String>,
    data_at_end: Option<Json>,
}

fn data_of(req: &Request) -> Option<Json> {
    req.data_json().map(|v| serde_json::from_str(&session_text(&v)).unwrap())
}

fn session_text(v: &Value) -> String {
    let mut s = String::new();
    write_json(v, &mut s);
    s
}

fn write_json(v: &Value, out: &mut String) {
    let j = to_json(v);
    out.push_str(&j.to_string());
}

fn to_json(v: &Value) -> Json {
    match v {
        Value::Null => Json::Null,
        Value::Bool(b) => Json::Bool(*b),
        Value::Number(n) => serde_json::Number::from_f64(*n).map_or(Json::Null, Json::Number),
        Value::String(s) => Json::String(s.clone()),
        Value::Array(a) => Json::Array(a.iter().map(to_json).collect()),
        Value::Object(m) => Json::Object(m.iter().map(|(k, v)| (k.to_string(), to_json(v))).collect()),
    }
}

fn from_json(j: &Json) -> Value {
    match j {
        Json::Null => Value::Null,
        Json::Bool(b) => Value::Bool(*b),
        Json::Number(n) => Value::Number(n.as_f64().unwrap_or(0.0)),
        Json::String(s) => Value::String(s.clone()),
        Json::Array(a) => Value::Array(a.iter().map(from_json).collect()),
        Json::Object(m) => {
            let mut out = libsession_engine::Map::new();
            for (k, v) in m {
                out.insert(k, from_json(v));
            }
            Value::Object(out)
        }
    }
}

/// The data without the engine's own keys, numbers as doubles (as
/// JavaScript has them), for comparing.
fn user_data(data: &Json) -> Json {
    let Json::Object(m) = data else { return norm(data) };
    Json::Object(m.iter().filter(|(k, _)| !is_engine_key(k)).map(|(k, v)| (k.clone(), norm(v))).collect())
}

fn norm(j: &Json) -> Json {
    match j {
        Json::Number(n) => serde_json::Number::from_f64(n.as_f64().unwrap_or(0.0)).map_or(Json::Null, Json::Number),
        Json::Array(a) => Json::Array(a.iter().map(norm).collect()),
        Json::Object(m) => Json::Object(m.iter().map(|(k, v)| (k.clone(), norm(v))).collect()),
        other => other.clone(),
    }
}

/// A browser: the session cookie it holds.
#[derive(Clone, Debug, Default)]
struct Browser {
    cookie: Option<String>,
}

impl Browser {
    fn apply(&mut self, out: &Outcome) {
        for c in &out.set_cookies {
            let pair = c.split(';').next().unwrap().to_string();
            if c.contains("Expires=Thu, 01 Jan 1970") {
                self.cookie = None;
            } else {
                self.cookie = Some(pair);
            }
        }
    }
}

/// Runs one request at `now` with `cookie`, the handler's `steps`, against
/// `store`. New IDs come from `next_id`.
fn run(
    cfg: &Arc<Config>,
    store: &mut Store,
    now: u64,
    cookie: Option<&str>,
    steps: &[Step],
    next_id: &mut u64,
) -> Outcome {
    let ids: Vec<String> = (0..4)
        .map(|i| {
            *next_id += 1;
            format!("{:0>43}", *next_id * 10 + i)
        })
        .collect();
    let mut req = Request::new(cfg.clone(), UnixMillis(now), IdQueue::new(ids));
    if !store.honour_expiry {
        req.set_store_kind(StoreKind::Ttl);
    }
    if let Some(c) = cookie {
        req.add_cookie_header(c.as_bytes()).unwrap();
    }
    let mut out = Outcome::default();
    let mut steps = steps.iter();
    let mut started = false;
    loop {
        match req.poll_action().unwrap() {
            Action::Load { id } => {
                out.ops.push(Op::Load(id.to_string()));
                let id = id.to_string();
                match store.get(&id, now) {
                    Some(text) => {
                        let text = text.to_string();
                        req.handle_load(LoadResult::Found(text.as_bytes())).unwrap()
                    }
                    None => req.handle_load(LoadResult::NotFound).unwrap(),
                }
            }
            Action::Save { id, record, expires_at, .. } => {
                out.ops.push(Op::Save { id: id.into(), record: record.into(), expires_at });
                store.records.insert(id.to_string(), (record.to_string(), expires_at));
                req.handle_store_result(StoreResult::Ok).unwrap();
            }
            Action::Touch { id, record, expires_at, .. } => {
                out.ops.push(Op::Touch { id: id.into(), expires_at });
                // A store keeping the cookie in the record replaces it.
                let cookie = serde_json::from_str::<Json>(record).unwrap()["cookie"].clone();
                if let Some((text, exp)) = store.records.get_mut(id) {
                    let mut stored: Json = serde_json::from_str(text).unwrap();
                    stored["cookie"] = cookie;
                    *text = stored.to_string();
                    *exp = expires_at;
                }
                req.handle_store_result(StoreResult::Ok).unwrap();
            }
            Action::Destroy { id } => {
                out.ops.push(Op::Destroy(id.into()));
                store.records.remove(id);
                req.handle_store_result(StoreResult::Ok).unwrap();
            }
            Action::SetCookie { value } => out.set_cookies.push(value.to_string()),
            Action::Completed { error } => out.completed.push(error.map(str::to_string)),
            Action::SetHeader { .. } | Action::Conflict { .. } => panic!("neither `header` nor `versioned` is on here"),
            Action::Ready => {
                if !started {
                    started = true;
                    out.id_at_start = req.session_id().map(str::to_string);
                    out.data_at_start = data_of(&req);
                }
                match steps.next() {
                    None => {
                        out.id_at_end = req.session_id().map(str::to_string);
                        out.data_at_end = data_of(&req);
                        req.finish().unwrap();
                    }
                    Some(Step::Increment(k)) => {
                        req.increment(k).unwrap();
                    }
                    Some(Step::Set(k, v)) => req.set(k, from_json(v)).unwrap(),
                    Some(Step::Regenerate { keep }) => {
                        out.data_before_regenerate = data_of(&req);
                        if *keep { req.regenerate_with(true).unwrap() } else { req.regenerate().unwrap() }
                    }
                    Some(Step::Save) => req.save().unwrap(),
                }
            }
            Action::Wait => panic!("nothing is deferred here"),
            Action::Failed { message } => panic!("failed: {message}"),
            Action::Error { message } => panic!("error: {message}"),
            Action::Done => break,
        }
    }
    while let Some(e) = req.poll_event() {
        out.events.push(e);
    }
    out
}

fn config(absolute: Option<u64>, idle: Option<u64>, grace: Option<u64>, max_age: Option<f64>) -> Arc<Config> {
    Arc::new(
        Config::builder()
            .secret(SECRET)
            .max_age(max_age)
            .absolute_timeout(absolute)
            .idle_timeout(idle)
            .regenerate_grace(grace)
            .build()
            .unwrap(),
    )
}

fn stamp(record: &str, key: &str) -> Option<f64> {
    serde_json::from_str::<Json>(record).ok()?.get(key)?.as_f64()
}

/// What the test knows of one session: when it began and its last request.
#[derive(Clone, Copy, Debug)]
struct Known {
    created: u64,
    last: u64,
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    /// Proof 1: under random request times, a session never outlives its
    /// absolute window nor its idle window (never late), is kept while both
    /// hold with the refresh slack (never early by more than a tenth of the
    /// idle window), the store's expiry never exceeds either deadline, and
    /// an untouched request saves only to move the last-seen time on, at
    /// most once per tenth of the idle window.
    #[test]
    fn timeouts_hold_under_random_request_times(
        absolute in prop::option::of(1_000u64..200_000),
        idle in prop::option::of(1_000u64..50_000),
        max_age in prop::option::of(10_000u64..400_000),
        honour_expiry in any::<bool>(),
        requests in prop::collection::vec((0u64..60_000, any::<bool>()), 1..40),
    ) {
        let cfg = config(absolute, idle, None, max_age.map(|m| m as f64));
        let mut store = Store { honour_expiry, ..Store::default() };
        let mut browser = Browser::default();
        // The stored session the browser's cookie names, if any.
        let mut current: Option<(String, Known)> = None;
        let mut next_id = 0;
        let mut now = T0;
        for (gap, modify) in requests {
            now += gap;
            let steps: Vec<Step> = if modify { vec![Step::Increment("n")] } else { vec![] };
            let stored_before: HashMap<String, String> =
                store.records.iter().map(|(k, (t, _))| (k.clone(), t.clone())).collect();
            let out = run(&cfg, &mut store, now, browser.cookie.as_deref(), &steps, &mut next_id);
            let id = out.id_at_start.clone().unwrap();
            let continued = current.as_ref().is_some_and(|(c, _)| *c == id);
            if continued {
                let k = current.as_ref().unwrap().1;
                if let Some(a) = absolute {
                    prop_assert!(now < k.created + a, "outlived the absolute window: {k:?} at {now}");
                }
                if let Some(i) = idle {
                    prop_assert!(now < k.last + i, "outlived the idle window: {k:?} at {now}");
                }
                current = Some((id.clone(), Known { created: k.created, last: now }));
                // An untouched request saves only to move the last-seen time on.
                if !modify && let Some(Op::Save { record, .. }) = out.ops.iter().find(|o| matches!(o, Op::Save { .. })) {
                    prop_assert!(idle.is_some(), "an untouched request saves only for idleTimeout");
                    let i = idle.unwrap_or(1);
                    let before = stamp(&stored_before[&id], LAST_SEEN_AT_KEY).unwrap();
                    prop_assert!(now as f64 - before >= idle_refresh(i) as f64);
                    prop_assert_eq!(stamp(record, LAST_SEEN_AT_KEY), Some(now as f64));
                }
            } else if let Some((old, k)) = current.take() {
                // Replaced: one of its rules (with the refresh slack) or the
                // cookie's expiry must say so.
                let absolute_over = absolute.is_some_and(|a| now >= k.created + a);
                let idle_over = idle.is_some_and(|i| now + idle_refresh(i) >= k.last + i);
                let cookie_over = max_age.is_some_and(|m| now >= k.last + m);
                prop_assert!(absolute_over || idle_over || cookie_over,
                    "{old} replaced too early: {k:?} at {now}, events {:?}", out.events);
                if !honour_expiry {
                    // The store never drops it: the engine refused it, said
                    // why, and destroyed it.
                    prop_assert!(out.events.contains(&Event::AbsoluteTimeout) || out.events.contains(&Event::IdleTimeout),
                        "{:?}", out.events);
                    prop_assert!(out.ops.contains(&Op::Destroy(old.clone())));
                }
            }
            // Every store expiry is no later than the session's deadlines.
            let k = current.as_ref().filter(|(c, _)| *c == id).map_or(Known { created: now, last: now }, |c| c.1);
            for op in &out.ops {
                let (Op::Save { expires_at, .. } | Op::Touch { expires_at, .. }) = op else { continue };
                if let Some(a) = absolute {
                    prop_assert!(expires_at.is_some_and(|e| e <= (k.created + a) as i64), "{op:?} {k:?}");
                }
                if let Some(i) = idle {
                    prop_assert!(expires_at.is_some_and(|e| e <= (k.last + i) as i64), "{op:?} {k:?}");
                }
            }
            let saved = out.ops.iter().any(|o| matches!(o, Op::Save { id: s, .. } if *s == id));
            if !continued && saved {
                current = Some((id.clone(), Known { created: now, last: now }));
            }
            browser.apply(&out);
            if browser.cookie.is_none() {
                current = None;
            }
        }
    }

    /// Proof 1: `regenerate` keeping the data gives a new ID holding exactly
    /// the old data (the engine's keys made anew), stored so; without the
    /// flag the new session is empty.
    #[test]
    fn regenerate_keeping_the_data_keeps_exactly_it(
        values in prop::collection::btree_map("k_[a-z]{1,8}", json_value(), 0..8),
        change in prop::option::of(("k_[a-z]{1,8}", json_value())),
        keep in any::<bool>(),
        absolute in prop::option::of(1_000_000u64..2_000_000),
        idle in prop::option::of(1_000_000u64..2_000_000),
        grace in prop::option::of(1u64..100_000),
    ) {
        let cfg = config(absolute, idle, grace, Some(3_600_000.0));
        let mut store = Store { honour_expiry: true, ..Store::default() };
        let mut next_id = 0;
        let mut steps: Vec<Step> = values.iter().map(|(k, v)| Step::Set(k.clone(), v.clone())).collect();
        steps.push(Step::Increment("visits"));
        let first = run(&cfg, &mut store, T0, None, &steps, &mut next_id);
        let mut browser = Browser::default();
        browser.apply(&first);
        let old_id = first.id_at_end.clone().unwrap();
        let mut steps: Vec<Step> = change.iter().map(|(k, v)| Step::Set(k.clone(), v.clone())).collect();
        steps.push(Step::Regenerate { keep });
        let later = T0 + 1_000;
        let second = run(&cfg, &mut store, later, browser.cookie.as_deref(), &steps, &mut next_id);
        prop_assert_eq!(second.id_at_start.as_deref(), Some(&*old_id));
        let new_id = second.id_at_end.clone().unwrap();
        prop_assert_ne!(&new_id, &old_id);
        let before = user_data(second.data_before_regenerate.as_ref().unwrap());
        let after = second.data_at_end.clone().unwrap();
        if keep {
            prop_assert_eq!(user_data(&after), before.clone());
        } else {
            prop_assert_eq!(user_data(&after), json!({}));
        }
        // The engine's keys are the new session's own: it began now.
        if absolute.is_some() {
            prop_assert_eq!(after[CREATED_AT_KEY].as_f64(), Some(later as f64));
        }
        if idle.is_some() {
            prop_assert_eq!(after[LAST_SEEN_AT_KEY].as_f64(), Some(later as f64));
        }
        prop_assert!(after.get(GRACE_UNTIL_KEY).is_none());
        // The old ID: destroyed, or (with grace) saved once as its grace copy.
        let old_ops: Vec<&Op> = second.ops.iter().filter(|o| o.id() == old_id && o.writes()).collect();
        match grace {
            None => {
                let destroy = Op::Destroy(old_id.clone());
                prop_assert_eq!(old_ops, vec![&destroy]);
            }
            Some(g) => {
                prop_assert_eq!(old_ops.len(), 1);
                let Op::Save { record, expires_at, .. } = old_ops[0] else { panic!("{old_ops:?}") };
                prop_assert_eq!(stamp(record, GRACE_UNTIL_KEY), Some((later + g) as f64));
                prop_assert!(expires_at.is_some_and(|e| e <= (later + g) as i64));
                // The copy is the data as loaded, not this request's change.
                let copy: Json = serde_json::from_str(record).unwrap();
                let mut copy = user_data(&copy);
                copy.as_object_mut().unwrap().remove("cookie");
                prop_assert_eq!(copy, user_data(second.data_at_start.as_ref().unwrap()));
            }
        }
        // Stored so: the next request with the new cookie loads exactly it.
        browser.apply(&second);
        let third = run(&cfg, &mut store, later + 1, browser.cookie.as_deref(), &[], &mut next_id);
        prop_assert_eq!(third.id_at_start.as_deref(), Some(&*new_id));
        prop_assert_eq!(user_data(third.data_at_start.as_ref().unwrap()), user_data(&after));
    }

    /// Proof 1: within the grace window the old ID loads (the data as it was
    /// loaded before the regenerate) and is never written, nor its cookie
    /// set; after the window it does not load, whether or not the store
    /// dropped it.
    #[test]
    fn the_old_id_loads_read_only_within_the_grace_window_and_never_after(
        grace in 1u64..60_000,
        keep in any::<bool>(),
        honour_expiry in any::<bool>(),
        rolling in any::<bool>(),
        late in prop::collection::vec((0u64..120_000, any::<bool>(), any::<bool>()), 1..12),
    ) {
        let cfg = Arc::new(
            Config::builder()
                .secret(SECRET)
                .max_age(Some(3_600_000.0))
                .rolling(rolling)
                .regenerate_grace(Some(grace))
                .build()
                .unwrap(),
        );
        let mut store = Store { honour_expiry, ..Store::default() };
        let mut next_id = 0;
        let first = run(&cfg, &mut store, T0, None, &[Step::Set("cart".into(), json!(["apple"]))], &mut next_id);
        let mut browser = Browser::default();
        browser.apply(&first);
        let old_cookie = browser.cookie.clone().unwrap();
        let old_id = first.id_at_end.clone().unwrap();
        let login = T0 + 10;
        let steps = [Step::Regenerate { keep }, Step::Set("user".into(), json!("alice"))];
        let second = run(&cfg, &mut store, login, Some(&old_cookie), &steps, &mut next_id);
        prop_assert_ne!(second.id_at_end.as_deref(), Some(&*old_id));
        let mut times: Vec<_> = late.into_iter().map(|(d, m, s)| (login + d, m, s)).collect();
        times.sort_by_key(|t| t.0);
        for (now, modify, save) in times {
            let mut steps = vec![];
            if modify {
                steps.push(Step::Set("user".into(), json!("mallory")));
            }
            if save {
                steps.push(Step::Save);
            }
            let out = run(&cfg, &mut store, now, Some(&old_cookie), &steps, &mut next_id);
            let loaded = out.id_at_start.as_deref() == Some(&*old_id);
            if now < login + grace {
                prop_assert!(loaded, "within the window at +{}", now - login);
                let mut expected = json!({"cart": ["apple"]});
                expected[GRACE_UNTIL_KEY] = json!((login + grace) as f64);
                prop_assert_eq!(norm(&out.data_at_start.clone().unwrap()), norm(&expected));
                prop_assert!(out.events.contains(&Event::RegenerateGrace));
                if save {
                    prop_assert_eq!(out.completed.clone(), vec![Some(SUPERSEDED.to_string())]);
                }
                prop_assert!(out.set_cookies.is_empty(), "{:?}", out.set_cookies);
            } else {
                prop_assert!(!loaded, "after the window at +{}", now - login);
            }
            // Never written again (after the window, the engine may only
            // destroy the refused record).
            for op in out.ops.iter().filter(|o| o.id() == old_id && o.writes()) {
                prop_assert!(now >= login + grace && *op == Op::Destroy(old_id.clone()), "{op:?} at +{}", now - login);
            }
        }
    }

    /// With the options off (explicitly, or through their JSON names as
    /// `null`/0), every outcome is express mode's; `regenerate_with(false)`
    /// is `regenerate()`.
    #[test]
    fn with_the_options_off_every_outcome_is_express_modes(
        requests in prop::collection::vec((0u64..100_000, 0u8..4), 1..16),
    ) {
        let express = Arc::new(ConfigBuilder::express().secret(SECRET).build().unwrap());
        let off = Arc::new(
            ConfigBuilder::express()
                .secret(SECRET)
                .absolute_timeout(None)
                .idle_timeout(Some(0))
                .regenerate_grace(None)
                .build()
                .unwrap(),
        );
        let options = libsession_engine::Value::Object({
            let mut m = libsession_engine::Map::new();
            m.insert("secret", Value::String(SECRET.into()));
            m.insert("absoluteTimeout", Value::Null);
            m.insert("idleTimeout", Value::Number(0.0));
            m.insert("regenerateGrace", Value::Null);
            m
        });
        let json_off = Arc::new(ConfigBuilder::from_express_options(&options).unwrap().build().unwrap());
        let mut transcripts = Vec::new();
        for (cfg, keep_flag) in [(&express, false), (&off, true), (&json_off, true)] {
            let mut store = Store { honour_expiry: true, ..Store::default() };
            let mut browser = Browser::default();
            let mut next_id = 0;
            let mut now = T0;
            let mut transcript = Vec::new();
            for (gap, what) in &requests {
                now += gap;
                let steps = match what {
                    0 => vec![],
                    1 => vec![Step::Increment("n")],
                    2 => vec![Step::Increment("n"), Step::Regenerate { keep: false }],
                    _ => vec![Step::Save],
                };
                // The same regenerate, through regenerate_with(false).
                let out = if keep_flag && *what == 2 {
                    run_regenerate_with_false(cfg, &mut store, now, browser.cookie.as_deref(), &mut next_id)
                } else {
                    run(cfg, &mut store, now, browser.cookie.as_deref(), &steps, &mut next_id)
                };
                browser.apply(&out);
                transcript.push(format!("{:?} {:?} {:?} {:?}", out.ops, out.set_cookies, out.events, out.data_at_end));
            }
            transcripts.push(transcript);
        }
        prop_assert_eq!(&transcripts[0], &transcripts[1]);
        prop_assert_eq!(&transcripts[0], &transcripts[2]);
    }
}

/// `run` with `[Increment("n"), Regenerate]`, the regenerate made through
/// `regenerate_with(false)`.
fn run_regenerate_with_false(
    cfg: &Arc<Config>,
    store: &mut Store,
    now: u64,
    cookie: Option<&str>,
    next_id: &mut u64,
) -> Outcome {
    // `Step::Regenerate { keep: false }` calls `regenerate()`; this path
    // calls `regenerate_with(false)` by way of a keep flag the engine reads
    // as false: run the same steps with a wrapper config-free hook.
    let ids: Vec<String> = (0..4)
        .map(|i| {
            *next_id += 1;
            format!("{:0>43}", *next_id * 10 + i)
        })
        .collect();
    let mut req = Request::new(cfg.clone(), UnixMillis(now), IdQueue::new(ids));
    if let Some(c) = cookie {
        req.add_cookie_header(c.as_bytes()).unwrap();
    }
    let mut out = Outcome::default();
    let mut stage = 0;
    loop {
        match req.poll_action().unwrap() {
            Action::Load { id } => {
                out.ops.push(Op::Load(id.to_string()));
                let id = id.to_string();
                match store.get(&id, now).map(str::to_string) {
                    Some(text) => req.handle_load(LoadResult::Found(text.as_bytes())).unwrap(),
                    None => req.handle_load(LoadResult::NotFound).unwrap(),
                }
            }
            Action::Save { id, record, expires_at, .. } => {
                out.ops.push(Op::Save { id: id.into(), record: record.into(), expires_at });
                store.records.insert(id.to_string(), (record.to_string(), expires_at));
                req.handle_store_result(StoreResult::Ok).unwrap();
            }
            Action::Touch { id, record, expires_at, .. } => {
                out.ops.push(Op::Touch { id: id.into(), expires_at });
                let cookie = serde_json::from_str::<Json>(record).unwrap()["cookie"].clone();
                if let Some((text, exp)) = store.records.get_mut(id) {
                    let mut stored: Json = serde_json::from_str(text).unwrap();
                    stored["cookie"] = cookie;
                    *text = stored.to_string();
                    *exp = expires_at;
                }
                req.handle_store_result(StoreResult::Ok).unwrap();
            }
            Action::Destroy { id } => {
                out.ops.push(Op::Destroy(id.into()));
                store.records.remove(id);
                req.handle_store_result(StoreResult::Ok).unwrap();
            }
            Action::SetCookie { value } => out.set_cookies.push(value.to_string()),
            Action::Completed { error } => out.completed.push(error.map(str::to_string)),
            Action::Ready => {
                stage += 1;
                match stage {
                    1 => {
                        req.increment("n").unwrap();
                        req.regenerate_with(false).unwrap();
                    }
                    _ => {
                        out.data_at_end = data_of(&req);
                        req.finish().unwrap();
                    }
                }
            }
            Action::Done => break,
            other => panic!("{other:?}"),
        }
    }
    while let Some(e) = req.poll_event() {
        out.events.push(e);
    }
    out
}

fn json_value() -> impl Strategy<Value = Json> {
    let leaf = prop_oneof![
        Just(Json::Null),
        any::<bool>().prop_map(Json::Bool),
        (-1_000_000i64..1_000_000).prop_map(|n| json!(n)),
        "[ -~]{0,12}".prop_map(Json::String),
    ];
    leaf.prop_recursive(3, 16, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Json::Array),
            prop::collection::btree_map("[a-z]{1,6}", inner, 0..4).prop_map(|m| Json::Object(m.into_iter().collect())),
        ]
    })
}

/// An express-session record (no reserved keys) counts as begun and seen by
/// the request that loads it, which stores the stamps (one save); the
/// timeouts then run from there.
#[test]
fn records_without_stamps_count_as_begun_now() {
    let cfg = config(Some(10_000), Some(5_000), None, None);
    let mut store = Store { honour_expiry: true, ..Store::default() };
    let id = format!("{:0>43}", 7);
    store
        .records
        .insert(id.clone(), (r#"{"cookie":{"originalMaxAge":null,"httpOnly":true,"path":"/"},"n":1}"#.into(), None));
    let cookie = signed_cookie(&cfg, &id);
    let mut next = 100;
    let out = run(&cfg, &mut store, T0, Some(&cookie), &[], &mut next);
    assert_eq!(out.id_at_start.as_deref(), Some(&*id));
    let Some(Op::Save { record, expires_at, .. }) = out.ops.get(1) else { panic!("{:?}", out.ops) };
    assert_eq!(stamp(record, CREATED_AT_KEY), Some(T0 as f64));
    assert_eq!(stamp(record, LAST_SEEN_AT_KEY), Some(T0 as f64));
    assert_eq!(*expires_at, Some(T0 as i64 + 5_000), "the idle deadline comes first");
    // Idle: 5 s without a request ends it (destroyed, event, fresh session).
    store.honour_expiry = false;
    let out = run(&cfg, &mut store, T0 + 5_000, Some(&cookie), &[], &mut next);
    assert!(out.events.contains(&Event::IdleTimeout), "{:?}", out.events);
    assert!(out.ops.contains(&Op::Destroy(id.clone())));
    assert_ne!(out.id_at_start.as_deref(), Some(&*id));
}

/// The signed cookie of `id` (`connect.sid=s%3A<id>.<sig>`), taken from the
/// Set-Cookie of a request whose new session gets `id`.
fn signed_cookie(cfg: &Arc<Config>, id: &str) -> String {
    let mut req = Request::new(cfg.clone(), UnixMillis(T0), IdQueue::new([id.to_string()]));
    loop {
        match req.poll_action().unwrap() {
            Action::Ready => {
                req.increment("x").unwrap();
                req.finish().unwrap();
            }
            Action::Save { .. } => req.handle_store_result(StoreResult::Ok).unwrap(),
            Action::SetCookie { value } => return value.split(';').next().unwrap().to_string(),
            other => panic!("{other:?}"),
        }
    }
}

/// The absolute window: however active, the session ends; a regenerate
/// starts a new one.
#[test]
fn an_active_session_ends_at_its_absolute_deadline_and_a_regenerate_restarts_it() {
    let cfg = config(Some(10_000), None, None, None);
    let mut store = Store { honour_expiry: false, ..Store::default() };
    let mut next = 0;
    let mut browser = Browser::default();
    let out = run(&cfg, &mut store, T0, None, &[Step::Increment("n")], &mut next);
    browser.apply(&out);
    let first = out.id_at_end.unwrap();
    for t in (1..10).map(|s| T0 + s * 1_000) {
        let out = run(&cfg, &mut store, t, browser.cookie.as_deref(), &[Step::Increment("n")], &mut next);
        assert_eq!(out.id_at_start.as_deref(), Some(&*first), "at {t}");
        browser.apply(&out);
    }
    // A login at +9.5 s: a new window.
    let out =
        run(&cfg, &mut store, T0 + 9_500, browser.cookie.as_deref(), &[Step::Regenerate { keep: true }], &mut next);
    browser.apply(&out);
    let second = out.id_at_end.unwrap();
    assert_eq!(out.data_at_end.unwrap()["n"], json!(10.0));
    let out = run(&cfg, &mut store, T0 + 15_000, browser.cookie.as_deref(), &[], &mut next);
    assert_eq!(out.id_at_start.as_deref(), Some(&*second));
    let out = run(&cfg, &mut store, T0 + 19_500, browser.cookie.as_deref(), &[], &mut next);
    assert!(out.events.contains(&Event::AbsoluteTimeout), "{:?}", out.events);
    assert_ne!(out.id_at_start.as_deref(), Some(&*second));
    assert!(out.ops.contains(&Op::Destroy(second)));
}

/// The JSON names, their types, and express mode's defaults.
#[test]
fn options_are_read_from_their_json_names() {
    let parse = |text: &str| {
        let v = serde_json::from_str::<Json>(text).unwrap();
        ConfigBuilder::from_express_options(&from_json(&v)).map(|b| b.secret(SECRET).build().unwrap())
    };
    assert!(parse(r#"{"absoluteTimeout": 1000, "idleTimeout": 500.7, "regenerateGrace": 0}"#).is_ok());
    for bad in [r#"{"absoluteTimeout": -1}"#, r#"{"idleTimeout": "5"}"#, r#"{"regenerateGrace": true}"#] {
        assert!(parse(bad).is_err(), "{bad}");
    }
    // From JSON, they act: an idle timeout of 1 s.
    let cfg = Arc::new(parse(r#"{"idleTimeout": 1000}"#).unwrap());
    let mut store = Store { honour_expiry: false, ..Store::default() };
    let mut next = 0;
    let mut browser = Browser::default();
    let out = run(&cfg, &mut store, T0, None, &[Step::Increment("n")], &mut next);
    browser.apply(&out);
    let out = run(&cfg, &mut store, T0 + 1_000, browser.cookie.as_deref(), &[], &mut next);
    assert!(out.events.contains(&Event::IdleTimeout));
}

/// A request that loaded the session before another's regenerate, and
/// reloads it after: the reloaded grace copy is read-only too.
#[test]
fn a_reloaded_grace_copy_is_read_only() {
    let cfg = config(None, None, Some(10_000), Some(60_000.0));
    let mut store = Store { honour_expiry: true, ..Store::default() };
    let mut next = 0;
    let mut browser = Browser::default();
    let out = run(&cfg, &mut store, T0, None, &[Step::Increment("n")], &mut next);
    browser.apply(&out);
    let old = out.id_at_end.unwrap();
    let cookie = browser.cookie.clone().unwrap();
    // The slow request loads first.
    let ids = IdQueue::new([format!("{:0>43}", 999_999)]);
    let mut slow = Request::new(cfg.clone(), UnixMillis(T0 + 10), ids);
    slow.add_cookie_header(cookie.as_bytes()).unwrap();
    let Action::Load { .. } = slow.poll_action().unwrap() else { panic!() };
    let text = store.get(&old, T0 + 10).unwrap().to_string();
    slow.handle_load(LoadResult::Found(text.as_bytes())).unwrap();
    assert_eq!(slow.poll_action().unwrap(), Action::Ready);
    // The login regenerates meanwhile.
    let out = run(&cfg, &mut store, T0 + 20, Some(&cookie), &[Step::Regenerate { keep: true }], &mut next);
    assert_ne!(out.id_at_end.as_deref(), Some(&*old));
    // The slow request reloads: the grace copy, read-only from now on.
    slow.increment("n").unwrap();
    slow.reload().unwrap();
    let Action::Load { .. } = slow.poll_action().unwrap() else { panic!() };
    let text = store.get(&old, T0 + 30).unwrap().to_string();
    slow.handle_load(LoadResult::Found(text.as_bytes())).unwrap();
    assert_eq!(slow.poll_action().unwrap(), Action::Completed { error: None });
    assert_eq!(slow.poll_action().unwrap(), Action::Ready);
    slow.increment("n").unwrap();
    slow.save().unwrap();
    assert_eq!(slow.poll_action().unwrap(), Action::Completed { error: Some(SUPERSEDED) });
    assert_eq!(slow.poll_action().unwrap(), Action::Ready);
    slow.finish().unwrap();
    assert_eq!(slow.poll_action().unwrap(), Action::Done, "no save, touch or cookie");
}

/// With connect-redis's plan, the TTL is the smallest of the remaining
/// times: the cookie's, the absolute deadline's and the idle deadline's
/// (a browser-session cookie too, which otherwise gets the default day).
#[test]
fn redis_ttls_are_the_smallest_remaining_time() {
    use libsession_engine::connect_redis::{ConnectRedisOptions, RedisCommand};
    let plan = ConnectRedisOptions::default();
    // (absolute, idle, maxAge, the request's offset) -> the TTL at the end
    // of a second request at T0 + offset (a touch; with idle, perhaps a save).
    type Case = (Option<u64>, Option<u64>, Option<f64>, u64, i64);
    let cases: [Case; 6] = [
        (None, None, Some(60_000.0), 1_000, 60),
        (None, None, None, 1_000, 86_400),
        (Some(30_000), None, Some(60_000.0), 1_000, 29),
        (Some(30_000), None, None, 20_000, 10),
        (None, Some(10_000), Some(60_000.0), 500, 10), // last seen at T0: 9.5 s left, ceil
        (Some(30_000), Some(20_000), Some(60_000.0), 12_000, 18), // idle refreshed at +12 s: 20 s, absolute 18 s
    ];
    for (absolute, idle, max_age, offset, want) in cases {
        let cfg = config(absolute, idle, None, max_age);
        let mut store = Store { honour_expiry: true, ..Store::default() };
        let mut next = 0;
        let mut browser = Browser::default();
        let out = run(&cfg, &mut store, T0, None, &[Step::Increment("n")], &mut next);
        browser.apply(&out);
        let now = T0 + offset;
        let out = run(&cfg, &mut store, now, browser.cookie.as_deref(), &[], &mut next);
        let command = match out.ops.last().unwrap() {
            Op::Save { id, record, expires_at } => plan.save(id, record, *expires_at, now as i64).into_owned_ttl(),
            Op::Touch { id, expires_at } => plan.touch(id, *expires_at, now as i64).into_owned_ttl(),
            other => panic!("{other:?}"),
        };
        assert_eq!(command, Some(want), "{absolute:?} {idle:?} {max_age:?} +{offset}");
    }

    trait Ttl {
        fn into_owned_ttl(self) -> Option<i64>;
    }
    impl Ttl for RedisCommand<'_> {
        fn into_owned_ttl(self) -> Option<i64> {
            match self {
                RedisCommand::Set { ttl, .. } => ttl,
                RedisCommand::Expire { ttl, .. } => Some(ttl),
                _ => None,
            }
        }
    }
}

/// A late request with a replaced cookie (past the grace window) gets no
/// removal cookie even when the host asks for stale cookies to be removed:
/// the browser most likely holds the new cookie, which it would delete.
#[test]
fn a_replaced_cookie_is_not_removed_after_the_window() {
    let cfg = config(None, None, Some(1_000), Some(60_000.0));
    let mut store = Store { honour_expiry: false, ..Store::default() };
    let mut next = 0;
    let mut browser = Browser::default();
    let out = run(&cfg, &mut store, T0, None, &[Step::Increment("n")], &mut next);
    browser.apply(&out);
    let cookie = browser.cookie.clone().unwrap();
    run(&cfg, &mut store, T0 + 10, Some(&cookie), &[Step::Regenerate { keep: true }], &mut next);
    let stale = |store: &mut Store, now: u64, cookie: &str| {
        let mut req = Request::new(cfg.clone(), UnixMillis(now), IdQueue::new([format!("{:0>43}", 77_777)]));
        req.set_store_kind(StoreKind::Ttl);
        req.add_cookie_header(cookie.as_bytes()).unwrap();
        req.set_clear_stale_cookie(true).unwrap();
        let mut cookies = Vec::new();
        loop {
            match req.poll_action().unwrap() {
                Action::Load { id } => {
                    let text = store.get(id, now).map(str::to_string);
                    match text {
                        Some(t) => req.handle_load(LoadResult::Found(t.as_bytes())).unwrap(),
                        None => req.handle_load(LoadResult::NotFound).unwrap(),
                    }
                }
                Action::Destroy { id } => {
                    store.records.remove(id);
                    req.handle_store_result(StoreResult::Ok).unwrap();
                }
                Action::Ready => req.finish().unwrap(),
                Action::SetCookie { value } => cookies.push(value.to_string()),
                Action::Done => return cookies,
                other => panic!("{other:?}"),
            }
        }
    };
    assert!(stale(&mut store, T0 + 500, &cookie).is_empty(), "within the window");
    assert!(stale(&mut store, T0 + 2_000, &cookie).is_empty(), "after it: refused, not removed");
    // A cookie whose record is simply gone is still removed, as asked.
    let removed = stale(&mut store, T0 + 3_000, &cookie);
    assert_eq!(removed.len(), 1, "{removed:?}");
    assert!(removed[0].contains("Expires=Thu, 01 Jan 1970"));
}

//! `versioned: true` (issue 14, proof 2): every interleaving of the store
//! operations of two concurrent requests of one session (each loads the
//! session, changes it, saves it), against MemoryStore and against a real
//! `redis-server`, loses no update that goes unreported; so do 1,000 seeded
//! random interleavings of three requests. Without `versioned`, the same
//! schedule loses an update silently, as express-session does.
//!
//! A request's store operations are performed one at a time, in the order a
//! schedule gives: the schedule names, at each step, the request whose
//! outstanding store operation runs next. With `onConflict:
//! "reloadAndReport"` a request that lost a race reloads and saves again,
//! so its operations are not known in advance: the schedules are enumerated
//! depth-first by replaying each prefix.

#![allow(clippy::disallowed_methods)] // a test host

#[path = "../../tests/common/redis_server.rs"]
mod redis_server;
#[path = "../../tests/common/tools.rs"]
mod tools;

use std::sync::Arc;

use libsession_engine::async_driver::{AsyncStore, StoreAnswer, StoreOp};
use libsession_engine::{
    Action, Config, ConfigBuilder, Event, MemoryStore, OnConflict, Request, StoreOperation, UnixMillis,
};

const NOW: i64 = 1_700_000_000_000;
const SECRET: &str = "versioned-secret-versioned-secret-0123";

/// What each request's handler does: marks its own key and increments a
/// shared counter (the read-modify-write a lost update loses).
fn change(req: &mut Request, who: usize) {
    req.set(&format!("r{who}"), libsession_engine::Value::Bool(true)).unwrap();
    req.increment("n").unwrap();
}

/// How a request ended.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Outcome {
    /// The response went out as the handler meant it (its save succeeded).
    Saved,
    /// The host was told of a conflict and answered 409 (`"fail"`).
    Conflict,
}

/// One request being driven: its engine request and where it stands.
struct Client {
    req: Request,
    who: usize,
    /// The outstanding store operation, performed when the schedule picks
    /// this request.
    op: Option<StoreOp>,
    outcome: Option<Outcome>,
    conflicts: usize,
}

impl Client {
    fn new(config: &Arc<Config>, cookie: &str, who: usize) -> Client {
        let mut req = Request::new(
            config.clone(),
            UnixMillis(NOW as u64),
            libsession_engine::SeededIds::new(&[who as u8 + 1; 32]),
        );
        req.add_cookie_header(cookie.as_bytes()).unwrap();
        let mut c = Client { req, who, op: None, outcome: None, conflicts: 0 };
        c.advance();
        c
    }

    /// Polls until the request owes a store operation or is done; runs the
    /// handler (again, after a reload) on `Ready`.
    fn advance(&mut self) {
        loop {
            let action = self.req.poll_action().unwrap();
            if let Some(op) = StoreOp::from_action(&action) {
                self.op = Some(op);
                return;
            }
            match action {
                Action::Ready => {
                    change(&mut self.req, self.who);
                    self.req.finish().unwrap();
                }
                Action::SetCookie { .. } | Action::Wait => {}
                Action::Conflict { reloaded: true } => self.conflicts += 1,
                Action::Conflict { reloaded: false } => {
                    self.conflicts += 1;
                    self.outcome = Some(Outcome::Conflict);
                }
                Action::Error { message } => panic!("request {}: {message}", self.who),
                Action::Done => {
                    self.outcome.get_or_insert(Outcome::Saved);
                    return;
                }
                other => panic!("request {}: unexpected {other:?}", self.who),
            }
        }
    }

    fn done(&self) -> bool {
        self.op.is_none()
    }

    /// Performs the outstanding store operation on `store`, answers it, and
    /// moves on to the next one.
    async fn step<S: AsyncStore>(&mut self, store: &S) {
        let op = self.op.take().expect("an outstanding store operation");
        let answer: StoreAnswer = op.perform(store, NOW).await;
        answer.apply(&mut self.req).unwrap();
        self.advance();
    }
}

/// A store and a way to read a session's record back.
trait Backend: AsyncStore {
    /// A clean slate for one run (a fresh session ID is used per run too).
    fn reset(&self);
}

impl Backend for MemoryStore {
    fn reset(&self) {
        for (id, _) in self.snapshot() {
            self.destroy(&id);
        }
    }
}

/// Creates the session all requests share; returns its cookie and ID.
async fn create<S: AsyncStore>(config: &Arc<Config>, store: &S, run: u64) -> (String, String) {
    // A session ID never used before in this process (a Redis server
    // outlives one run).
    static RUNS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let run = run * 1_000_000 + RUNS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let mut req = Request::new(config.clone(), UnixMillis(NOW as u64), libsession_engine::SeededIds::new(&[9; 32]));
    let id = format!("{run:A>43}").replace(|c: char| !c.is_ascii_alphanumeric(), "A");
    req.push_session_id(id.clone());
    let mut cookie = None;
    loop {
        let action = req.poll_action().unwrap();
        if let Some(op) = StoreOp::from_action(&action) {
            op.perform(store, NOW).await.apply(&mut req).unwrap();
            continue;
        }
        match action {
            Action::Ready => {
                req.set("n", libsession_engine::Value::Number(0.0)).unwrap();
                req.finish().unwrap();
            }
            Action::SetCookie { value } => cookie = Some(value.split(';').next().unwrap().to_string()),
            Action::Done => break,
            other => panic!("{other:?}"),
        }
    }
    assert_eq!(req.session_id(), Some(id.as_str()), "a fresh ID, stored");
    (cookie.expect("a cookie for the new session"), id)
}

/// The result of one schedule.
#[derive(Debug)]
struct Run {
    outcomes: Vec<Outcome>,
    /// The stored record's data at the end.
    record: serde_json::Value,
    /// Schedule steps taken (the order of every store operation).
    schedule: Vec<usize>,
    /// Events of every request.
    conflict_events: usize,
}

/// Runs `n` requests of one session, picking the request whose store
/// operation goes next by `pick(step, enabled)` (indices into the enabled
/// requests' list). Returns the run and, at each step, how many were enabled.
async fn run<S: Backend>(
    config: &Arc<Config>,
    store: &S,
    n: usize,
    run_id: u64,
    mut pick: impl FnMut(usize, &[usize]) -> usize,
) -> (Run, Vec<Vec<usize>>) {
    store.reset();
    let (cookie, id) = create(config, store, run_id).await;
    // Every request is created first: each has sent its cookie and owes its load.
    let mut clients: Vec<Client> = (0..n).map(|who| Client::new(config, &cookie, who)).collect();
    let mut schedule = Vec::new();
    let mut choices = Vec::new();
    loop {
        let enabled: Vec<usize> = (0..n).filter(|&i| !clients[i].done()).collect();
        if enabled.is_empty() {
            break;
        }
        let chosen = enabled[pick(schedule.len(), &enabled)];
        choices.push(enabled);
        schedule.push(chosen);
        clients[chosen].step(store).await;
        assert!(schedule.len() < 64, "a schedule that does not end: {schedule:?}");
    }
    let mut conflict_events = 0;
    for c in &mut clients {
        while let Some(e) = c.req.poll_event() {
            if matches!(e, Event::Conflict { operation: StoreOperation::Save }) {
                conflict_events += 1;
            }
        }
    }
    let text = store.get(&id, NOW).await.unwrap().expect("the session is still stored");
    let record = serde_json::from_slice(&text).unwrap();
    let outcomes = clients.iter().map(|c| c.outcome.clone().unwrap()).collect();
    (Run { outcomes, record, schedule, conflict_events }, choices)
}

/// The run lost no update that went unreported: every request whose
/// response went out as a success has its change in the stored record, and
/// the counter counts exactly those (so no success was overwritten by a
/// stale read); every other request was told of the conflict.
fn check_no_unreported_loss(r: &Run, versioned: bool) {
    let data = r.record.as_object().unwrap();
    let saved: Vec<usize> = (0..r.outcomes.len()).filter(|&i| r.outcomes[i] == Outcome::Saved).collect();
    for &i in &saved {
        assert_eq!(
            data.get(&format!("r{i}")),
            Some(&serde_json::Value::Bool(true)),
            "{r:?}: request {i}'s update lost"
        );
    }
    for i in 0..r.outcomes.len() {
        if r.outcomes[i] == Outcome::Conflict {
            assert_eq!(data.get(&format!("r{i}")), None, "{r:?}: a reported conflict was stored anyway");
        }
    }
    assert_eq!(data.get("n"), Some(&serde_json::json!(saved.len())), "{r:?}: the counter lost an increment");
    if versioned {
        // The version counts the saves: the creation, then one per success.
        assert_eq!(data.get(libsession_engine::VERSION_KEY), Some(&serde_json::json!(1 + saved.len())), "{r:?}");
        assert!(r.conflict_events >= r.outcomes.iter().filter(|o| **o == Outcome::Conflict).count(), "{r:?}");
    }
}

fn config(versioned: bool, on_conflict: OnConflict) -> Arc<Config> {
    let builder = if versioned {
        Config::builder().versioned(true).on_conflict(on_conflict)
    } else {
        ConfigBuilder::express().resave(false)
    };
    Arc::new(builder.secret(SECRET).max_age(Some(3_600_000.0)).build().unwrap())
}

/// Every schedule of `n` requests, enumerated depth-first by replay.
async fn every_schedule<S: Backend>(config: &Arc<Config>, store: &S, n: usize, mut check: impl FnMut(&Run)) -> usize {
    let mut stack: Vec<Vec<usize>> = vec![Vec::new()];
    let mut count = 0;
    let mut run_id = 0;
    while let Some(prefix) = stack.pop() {
        run_id += 1;
        let (r, choices) = run(config, store, n, run_id, |step, _| prefix.get(step).copied().unwrap_or(0)).await;
        // Branch on every alternative after the prefix.
        for (step, enabled) in choices.iter().enumerate().skip(prefix.len()) {
            for alt in 1..enabled.len() {
                let mut next: Vec<usize> = choices[..step]
                    .iter()
                    .zip(&r.schedule)
                    .map(|(en, chosen)| en.iter().position(|x| x == chosen).unwrap())
                    .collect();
                next.push(alt);
                stack.push(next);
            }
        }
        check(&r);
        count += 1;
    }
    count
}

/// A small seeded generator (xorshift64*), so failures replay.
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: usize) -> usize {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        (self.0.wrapping_mul(0x2545_f491_4f6c_dd1d) >> 33) as usize % n
    }
}

async fn proof<S: Backend>(store: &S) {
    for on_conflict in [OnConflict::Fail, OnConflict::ReloadAndReport] {
        let config = config(true, on_conflict);
        let (mut conflicts, mut retried) = (0, 0);
        let count = every_schedule(&config, store, 2, |r| {
            check_no_unreported_loss(r, true);
            conflicts += r.conflict_events;
            retried += usize::from(r.schedule.len() > 4);
        })
        .await;
        // The C(4,2) orders of two loads and two saves; after a conflict the
        // reload and the second save are the only operations left.
        assert_eq!(count, 6);
        // Four orders race (both load before either saves).
        assert_eq!(conflicts, 4, "L L S S in 4 orders: the second save conflicts");
        if on_conflict == OnConflict::ReloadAndReport {
            assert_eq!(retried, 4, "each lost race is reloaded and saved again");
        }
        if on_conflict == OnConflict::ReloadAndReport {
            // Every request's change is stored in every order.
            let (r, _) = run(&config, store, 2, 10_000, |_, _| 0).await;
            assert_eq!(r.outcomes, [Outcome::Saved, Outcome::Saved]);
        }
        // 1,000 seeded random interleavings of three requests.
        let mut rng = Rng(0x5eed_0000_0000_0001 + on_conflict as u64);
        for i in 0..1_000u64 {
            let (r, _) = run(&config, store, 3, 20_000 + i, |_, enabled| rng.below(enabled.len())).await;
            check_no_unreported_loss(&r, true);
            if on_conflict == OnConflict::ReloadAndReport {
                assert!(r.outcomes.iter().all(|o| *o == Outcome::Saved), "{r:?}");
                assert_eq!(r.record["n"], serde_json::json!(3));
            }
        }
    }
    // Without versioned: load 1, load 2, save 1, save 2 loses request 0's
    // update and both requests believe they succeeded.
    let config = config(false, OnConflict::Fail);
    let (r, _) =
        run(&config, store, 2, 30_000, |step, enabled| if step < 2 { step.min(enabled.len() - 1) } else { 0 }).await;
    assert_eq!(r.schedule, [0, 1, 0, 1]);
    assert_eq!(r.outcomes, [Outcome::Saved, Outcome::Saved]);
    assert_eq!(r.record["n"], serde_json::json!(1), "express-session's lost update");
    assert_eq!(r.record.get("r0"), None, "request 0's change is gone, unreported");
    assert_eq!(r.record["r1"], serde_json::json!(true));
    assert_eq!(r.record.get(libsession_engine::VERSION_KEY), None, "no version without the option");
}

#[tokio::test]
async fn every_interleaving_against_memory_store() {
    proof(&MemoryStore::new()).await;
}

#[cfg(feature = "redis")]
mod redis {
    use super::*;
    use libsession_engine::redis_store::RedisStore;
    use redis_server::RedisServer;

    impl Backend for RedisStore {
        // Each run uses its own session ID: nothing to clear.
        fn reset(&self) {}
    }

    #[tokio::test]
    async fn every_interleaving_against_redis() {
        if !tools::present("every_interleaving_against_redis", &["redis-server"]) {
            return;
        }
        let server = RedisServer::start();
        let store = RedisStore::open(&server.url()).unwrap();
        proof(&store).await;
        // The compare-and-set runs on the server: a record changed behind the
        // store's back (another host) is a conflict too.
        let config = config(true, OnConflict::Fail);
        let (cookie, id) = create(&config, &store, 40_000).await;
        let mut a = Client::new(&config, &cookie, 0);
        a.step(&store).await; // the load
        let key = format!("sess:{id}");
        let other = server.get(&key).unwrap().replace(r#""libsessionVersion":1"#, r#""libsessionVersion":7"#);
        assert_eq!(store.set(&id, &other, None, NOW).await, Ok(()));
        a.step(&store).await; // the save
        assert!(a.done());
        assert_eq!(a.outcome, Some(Outcome::Conflict));
        assert!(server.get(&key).unwrap().contains(r#""libsessionVersion":7"#));
    }
}

/// Drives `req` against `store` (MemoryStore, in process) until an action
/// the host must handle.
fn poll<'r>(store: &MemoryStore, req: &'r mut Request) -> Action<'r> {
    store.poll(req, NOW).unwrap()
}

#[test]
fn the_options_are_read_from_their_json_names_and_off_in_express_mode() {
    use libsession_engine::Value;
    let json = Value::from_json(&format!(r#"{{"secret":"{SECRET}","versioned":true,"onConflict":"reloadAndReport"}}"#))
        .unwrap();
    let on = Arc::new(ConfigBuilder::from_express_options(&json).unwrap().build().unwrap());
    let off = Arc::new(ConfigBuilder::express().secret(SECRET).build().unwrap());
    for (config, versioned) in [(on, true), (off, false)] {
        let store = MemoryStore::new();
        let mut req = Request::new(config, UnixMillis(NOW as u64), libsession_engine::SeededIds::new(&[1; 32]));
        assert_eq!(poll(&store, &mut req), Action::Ready);
        req.increment("n").unwrap();
        req.finish().unwrap();
        assert!(matches!(req.poll_action().unwrap(), Action::Save { .. } | Action::SetCookie { .. }));
        // The cookie waits for the save only in versioned mode.
        let action = req.current_action();
        assert_eq!(matches!(action, Action::Save { .. }), versioned, "{action:?}");
        assert_eq!(action.version().is_some(), versioned);
    }
    for bad in [r#"{"versioned":"yes"}"#, r#"{"onConflict":"retry"}"#, r#"{"onConflict":true}"#] {
        assert!(ConfigBuilder::from_express_options(&Value::from_json(bad).unwrap()).is_err(), "{bad}");
    }
}

/// A session stored at version 1, and a request that loaded it.
fn loaded(store: &MemoryStore, on_conflict: OnConflict) -> (Arc<Config>, String, Request) {
    let config = config(true, on_conflict);
    let (cookie, _) = futures_ready(create(&config, store, 7));
    let mut req = Request::new(config.clone(), UnixMillis(NOW as u64), libsession_engine::SeededIds::new(&[2; 32]));
    req.add_cookie_header(cookie.as_bytes()).unwrap();
    assert_eq!(poll(store, &mut req), Action::Ready);
    (config, cookie, req)
}

/// Runs a future whose store answers at once (MemoryStore).
fn futures_ready<F: std::future::Future>(f: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(f)
}

/// Another request saves the session (to version 2) with `key` set.
fn save_behind(store: &MemoryStore, config: &Arc<Config>, cookie: &str, key: &str) {
    let mut other = Request::new(config.clone(), UnixMillis(NOW as u64), libsession_engine::SeededIds::new(&[3; 32]));
    other.add_cookie_header(cookie.as_bytes()).unwrap();
    assert_eq!(poll(store, &mut other), Action::Ready);
    other.set(key, libsession_engine::Value::Bool(true)).unwrap();
    other.finish().unwrap();
    while poll(store, &mut other) != Action::Done {}
}

#[test]
fn a_handler_save_that_loses_the_race_completes_with_save_conflict() {
    for on_conflict in [OnConflict::Fail, OnConflict::ReloadAndReport] {
        let store = MemoryStore::new();
        let (config, cookie, mut req) = loaded(&store, on_conflict);
        save_behind(&store, &config, &cookie, "other");
        req.set("mine", libsession_engine::Value::Bool(true)).unwrap();
        req.save().unwrap();
        assert_eq!(poll(&store, &mut req), Action::Completed { error: Some(libsession_engine::SAVE_CONFLICT) });
        let reloaded = on_conflict == OnConflict::ReloadAndReport;
        // Reloaded: the session is the stored one; the handler applies its change again.
        assert_eq!(req.get("other").is_some(), reloaded);
        assert_eq!(req.get("mine").is_some(), !reloaded);
        assert_eq!(poll(&store, &mut req), Action::Ready);
        if reloaded {
            req.set("mine", libsession_engine::Value::Bool(true)).unwrap();
            req.save().unwrap();
            assert_eq!(poll(&store, &mut req), Action::Completed { error: None });
        }
        req.finish().unwrap();
        let mut conflicts = 0;
        loop {
            match poll(&store, &mut req) {
                Action::Done => break,
                Action::Conflict { .. } => conflicts += 1,
                Action::SetCookie { .. } => {}
                other => panic!("{other:?}"),
            }
        }
        // The handler was told; the data has not changed since its save()
        // (express-session's savedHash), so the end does not save again.
        assert_eq!(conflicts, 0);
        let text = store.snapshot()[0].1.clone();
        assert!(text.contains(r#""other":true"#), "{text}");
        assert_eq!(text.contains(r#""mine":true"#), reloaded, "{text}");
        let events: Vec<Event> = std::iter::from_fn(|| req.poll_event()).collect();
        assert!(events.contains(&Event::Conflict { operation: StoreOperation::Save }), "{events:?}");
    }
}

#[test]
fn a_touch_that_loses_the_race_is_skipped_and_reported() {
    let store = MemoryStore::new();
    let (config, cookie, mut req) = loaded(&store, OnConflict::Fail);
    save_behind(&store, &config, &cookie, "other");
    let before = store.snapshot();
    req.finish().unwrap(); // nothing changed: a touch, expecting version 1
    assert!(matches!(
        req.poll_action().unwrap(),
        Action::Touch { version: Some(libsession_engine::Version { expected: 1, written: 1 }), .. }
    ));
    req.handle_store_result(libsession_engine::StoreResult::Conflict).unwrap();
    assert_eq!(req.poll_action().unwrap(), Action::Done, "the response stands: no data was lost");
    assert_eq!(store.snapshot(), before);
    assert!(std::iter::from_fn(|| req.poll_event()).any(|e| e == Event::Conflict { operation: StoreOperation::Touch }));
    // The in-process store answers it the same way.
    let (_, _, mut req) = loaded(&store, OnConflict::Fail);
    save_behind(&store, &config, &cookie, "again");
    req.finish().unwrap();
    assert_eq!(poll(&store, &mut req), Action::Done);
}

#[test]
fn conflict_answers_only_a_versioned_save_or_touch() {
    // Not versioned: misuse.
    let config = config(false, OnConflict::Fail);
    let store = MemoryStore::new();
    let mut req = Request::new(config, UnixMillis(NOW as u64), libsession_engine::SeededIds::new(&[1; 32]));
    assert_eq!(poll(&store, &mut req), Action::Ready);
    req.increment("n").unwrap();
    req.save().unwrap();
    assert!(matches!(req.poll_action().unwrap(), Action::Save { version: None, .. }));
    assert_eq!(
        req.handle_store_result(libsession_engine::StoreResult::Conflict),
        Err(libsession_engine::Error::UnexpectedInput)
    );
    // A new session's save is insert-if-absent: Exists, not Conflict.
    let config = self::config(true, OnConflict::Fail);
    let mut req = Request::new(config, UnixMillis(NOW as u64), libsession_engine::SeededIds::new(&[1; 32]));
    assert_eq!(poll(&store, &mut req), Action::Ready);
    req.increment("n").unwrap();
    req.save().unwrap();
    assert!(matches!(req.poll_action().unwrap(), Action::Save { is_new: true, version: Some(_), .. }));
    assert_eq!(
        req.handle_store_result(libsession_engine::StoreResult::Conflict),
        Err(libsession_engine::Error::UnexpectedInput)
    );
}

#[test]
fn a_session_destroyed_meanwhile_is_a_conflict_and_not_brought_back() {
    for on_conflict in [OnConflict::Fail, OnConflict::ReloadAndReport] {
        let store = MemoryStore::new();
        let (_, _, mut req) = loaded(&store, on_conflict);
        let id = req.session_id().unwrap().to_string();
        store.destroy(&id);
        req.increment("n").unwrap();
        req.finish().unwrap();
        let mut seen = Vec::new();
        loop {
            match poll(&store, &mut req) {
                Action::Done => break,
                Action::Conflict { reloaded } => seen.push(reloaded),
                other => panic!("{other:?}"),
            }
        }
        assert_eq!(seen, [false], "nothing to reload: the request fails");
        assert!(store.is_empty(), "the destroyed session stays destroyed");
    }
}

//! Driving the engine from a hand-written event loop: no tower, no tokio, no
//! threads. One loop multiplexes several requests over a simulated remote
//! store whose answers arrive some ticks later, out of order. A request whose
//! store operation is in flight sits at `Action::Wait`; when the answer
//! arrives the loop hands it over (`handle_load` /
//! `handle_store_result`) and polls again. The request holds no references,
//! so it can wait anywhere.
//!
//! ```text
//! cargo run --example runtime_loop
//! ```

use std::collections::{BTreeMap, VecDeque};
use std::sync::Arc;

use libsession_engine::{Action, Config, LoadResult, MemoryStore, Request, SeededIds, StoreResult, UnixMillis};

const NOW: u64 = 1_700_000_000_000;

/// A store operation, owned, as it travels to the "remote" store.
#[derive(Debug)]
enum Op {
    Load { id: String },
    Save { id: String, record: String, expires_at: Option<i64> },
    Touch { id: String, record: String, expires_at: Option<i64> },
    Destroy { id: String },
}

impl Op {
    /// A short form for the trace: kind and the ID's first characters.
    fn describe(&self) -> String {
        let (kind, id) = match self {
            Op::Load { id } => ("load", id),
            Op::Save { id, .. } => ("save", id),
            Op::Touch { id, .. } => ("touch", id),
            Op::Destroy { id } => ("destroy", id),
        };
        format!("{kind} {}…", &id[..id.len().min(8)])
    }
}

enum Answer {
    Load(Option<String>),
    Done,
}

/// A store across a network: an operation is applied, and its answer
/// delivered, `latency` ticks after it was sent (each op has its own
/// latency, so answers overtake each other).
struct RemoteStore {
    data: MemoryStore,
    in_flight: BTreeMap<(u64, usize), Op>,
}

impl RemoteStore {
    fn send(&mut self, due: u64, task: usize, op: Op) {
        self.in_flight.insert((due, task), op);
    }

    /// The answers due by `tick`, as (task, answer).
    fn completions(&mut self, tick: u64) -> Vec<(usize, Answer)> {
        let due: Vec<(u64, usize)> = self.in_flight.range(..=(tick, usize::MAX)).map(|(k, _)| *k).collect();
        due.into_iter()
            .filter_map(|key| self.in_flight.remove(&key).map(|op| (key.1, op)))
            .map(|(task, op)| {
                let now = NOW as i64;
                let answer = match op {
                    Op::Load { id } => Answer::Load(self.data.get(&id, now).map(|t| t.to_string())),
                    Op::Save { id, record, expires_at, .. } => {
                        self.data.set(&id, &record, expires_at, now).expect("room in the store");
                        Answer::Done
                    }
                    Op::Touch { id, record, expires_at } => {
                        self.data.touch(&id, &record, expires_at, now);
                        Answer::Done
                    }
                    Op::Destroy { id } => {
                        self.data.destroy(&id);
                        Answer::Done
                    }
                };
                (task, answer)
            })
            .collect()
    }
}

/// What a request's handler does, step by step, when it gets the turn.
#[derive(Clone, Copy, Debug)]
enum Step {
    Increment,
    Regenerate,
}

struct Task {
    name: &'static str,
    req: Request,
    /// Handler steps still to run; then `finish`.
    script: VecDeque<Step>,
    cookie: Option<String>,
    done: bool,
}

/// Polls `task` until it waits for the store or is done; store operations go
/// to the remote store, due after `latency` ticks.
fn run(
    task: &mut Task,
    id: usize,
    store: &mut RemoteStore,
    tick: u64,
    latency: u64,
) -> Result<(), libsession_engine::Error> {
    loop {
        let action = task.req.poll_action()?;
        let op = match action {
            Action::Load { id } => Some(Op::Load { id: id.into() }),
            Action::Save { id, record, expires_at, .. } => {
                Some(Op::Save { id: id.into(), record: record.into(), expires_at })
            }
            Action::Touch { id, record, expires_at, .. } => {
                Some(Op::Touch { id: id.into(), record: record.into(), expires_at })
            }
            Action::Destroy { id } => Some(Op::Destroy { id: id.into() }),
            _ => None,
        };
        if let Some(op) = op {
            println!("  t={tick:>2} {:<8} sends {}", task.name, op.describe());
            store.send(tick + latency, id, op);
            continue; // the next poll says Wait
        }
        match action {
            Action::Wait => {
                println!("  t={tick:>2} {:<8} waits", task.name);
                return Ok(());
            }
            Action::Ready => match task.script.pop_front() {
                Some(Step::Increment) => {
                    let views = task.req.increment("views")?;
                    println!("  t={tick:>2} {:<8} handler: views = {views}", task.name);
                }
                Some(Step::Regenerate) => {
                    println!("  t={tick:>2} {:<8} handler: regenerate", task.name);
                    task.req.regenerate()?;
                }
                None => {
                    println!("  t={tick:>2} {:<8} handler done: finish", task.name);
                    task.req.finish()?;
                }
            },
            Action::Completed { error } => println!("  t={tick:>2} {:<8} operation completed ({error:?})", task.name),
            Action::Failed { message } => {
                println!("  t={tick:>2} {:<8} load failed: {message}; respond 500", task.name);
                task.req.finish()?;
            }
            Action::SetCookie { value } => {
                task.cookie = value.split(';').next().map(str::to_string);
                println!("  t={tick:>2} {:<8} Set-Cookie: {}…", task.name, &value[..value.len().min(24)]);
            }
            Action::SetHeader { name, .. } => println!("  t={tick:>2} {:<8} {name}: (the signed ID)", task.name),
            Action::Error { message } => println!("  t={tick:>2} {:<8} error after the response: {message}", task.name),
            // Only with `versioned: true`, which this example does not set.
            Action::Conflict { reloaded } => {
                println!("  t={tick:>2} {:<8} save conflict (reloaded: {reloaded}); respond 409", task.name)
            }
            Action::Done => {
                println!("  t={tick:>2} {:<8} done", task.name);
                task.done = true;
                return Ok(());
            }
            Action::Load { .. } | Action::Save { .. } | Action::Touch { .. } | Action::Destroy { .. } => {
                unreachable!("sent above")
            }
        }
    }
}

/// The event loop: start every task, then deliver answers as they fall due.
fn event_loop(tasks: &mut [Task], store: &mut RemoteStore) -> Result<(), libsession_engine::Error> {
    // Each task has its own store latency, so answers arrive out of order.
    let latency = |id: usize| 1 + (id as u64 * 2) % 5;
    for (id, task) in tasks.iter_mut().enumerate() {
        run(task, id, store, 0, latency(id))?;
    }
    let mut tick = 0;
    while tasks.iter().any(|t| !t.done) {
        tick += 1;
        assert!(tick < 1_000, "the loop makes progress");
        for (id, answer) in store.completions(tick) {
            let task = &mut tasks[id];
            match answer {
                Answer::Load(Some(text)) => task.req.handle_load(LoadResult::Found(text.as_bytes()))?,
                Answer::Load(None) => task.req.handle_load(LoadResult::NotFound)?,
                Answer::Done => task.req.handle_store_result(StoreResult::Ok)?,
            }
            println!("  t={tick:>2} {:<8} answer arrived: resume", task.name);
            run(task, id, store, tick, latency(id))?;
        }
    }
    Ok(())
}

fn task(config: &Arc<Config>, name: &'static str, seed: u8, cookie: Option<&str>, script: &[Step]) -> Task {
    let mut req = Request::new(config.clone(), UnixMillis(NOW), SeededIds::new(&[seed; 32]));
    if let Some(c) = cookie {
        req.add_cookie_header(c.as_bytes()).expect("before the first poll");
    }
    Task { name, req, script: script.iter().copied().collect(), cookie: None, done: false }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let config =
        Arc::new(Config::builder().secret("keyboard cat keyboard cat keyboard cat").max_age(Some(60_000.0)).build()?);
    let mut store = RemoteStore { data: MemoryStore::new(), in_flight: BTreeMap::new() };

    println!("round 1: a new visitor");
    let mut first = [task(&config, "alice", 1, None, &[Step::Increment])];
    event_loop(&mut first, &mut store)?;
    let cookie = first[0].cookie.clone().expect("a session cookie");

    println!("round 2: three requests in flight at once, two of them with alice's cookie");
    let mut round = [
        task(&config, "alice#2", 2, Some(&cookie), &[Step::Increment]),
        task(&config, "bob", 3, None, &[Step::Increment, Step::Increment]),
        task(&config, "alice#3", 4, Some(&cookie), &[Step::Regenerate, Step::Increment]),
    ];
    event_loop(&mut round, &mut store)?;

    println!("store:");
    for (sid, record) in store.data.snapshot() {
        println!("  {}…: {record}", &sid[..8]);
    }
    // alice#3 regenerated: alice's old record is gone, and alice#2's save
    // landed before the destroy. (With other latencies it could land after
    // and bring the old session back: overlapping requests of one session
    // race, as in express-session. The tower layer's per-session lock is a
    // host that serializes them.)
    assert_eq!(store.data.len(), 2);
    Ok(())
}

//! Per-request cost of the engine, scenario by scenario, next to the cost of
//! the primitive operations each scenario cannot avoid, measured in the same
//! run (`cargo bench --features capi --bench lifecycle`).
//!
//! Scenarios (each a whole request lifecycle against the in-memory store):
//! (a) a new visitor sets one key; (b) a returning visitor with a valid
//! signed cookie increments a counter (load, verify, modify, save,
//! Set-Cookie); (c) a returning visitor only reads (load, verify, touch);
//! (d) a tampered cookie (verify fails, fresh session, nothing stored).
//!
//! Primitives: HMAC-SHA256 sign/verify with base64, JSON parse and
//! serialize of the whole record, ID generation — the same implementations
//! the engine uses (the engine itself parses only the record's cookie and
//! the values the handler reads, and copies the rest). Budget: engine/primitives ≤ 1.3 for (b) and (c); (d) must not
//! touch JSON (checked by counting: its store sees no record at all).

#![allow(clippy::disallowed_methods)] // a benchmark reads the clock

use std::hint::black_box;
use std::sync::Arc;
use std::time::{Duration, Instant};

use libsession_engine::{Action, Config, IdSource, MemoryStore, Request, SeededIds, UnixMillis, Value};

const NOW: u64 = 1_700_000_000_000;
const SEED: [u8; 32] = [9; 32];
/// The signing secret (strict mode wants 32 bytes or more).
const SECRET: &str = "keyboard cat keyboard cat keyboard cat";

/// Timed closures, measured together: each is calibrated to batches of
/// about 5 ms, then every round times one batch of each in turn, and each
/// keeps its fastest batch (load on the machine only ever adds time, and
/// interleaving lets a slow spell hit every closure alike rather than one
/// scenario or one primitive). With `LIBSESSION_BENCH_ITERS=n` each closure
/// is just called n times (for profilers), and with
/// `LIBSESSION_BENCH_ENGINE_ONLY=1` the primitives and the C path are skipped.
struct Bench<'a> {
    fns: Vec<(Box<dyn FnMut() + 'a>, bool)>,
}

const ROUNDS: usize = 25;

impl<'a> Bench<'a> {
    /// Adds `f`; `engine` marks the engine's own scenarios. Returns its slot.
    fn add(&mut self, engine: bool, f: impl FnMut() + 'a) -> usize {
        self.fns.push((Box::new(f), engine));
        self.fns.len() - 1
    }

    /// ns per call of each closure, by slot.
    fn run(mut self) -> Vec<f64> {
        let engine_only = std::env::var_os("LIBSESSION_BENCH_ENGINE_ONLY").is_some();
        let skip = |engine: bool| engine_only && !engine;
        if let Some(n) = std::env::var("LIBSESSION_BENCH_ITERS").ok().and_then(|v| v.parse::<u64>().ok()) {
            for (f, engine) in &mut self.fns {
                if !skip(*engine) {
                    (0..n).for_each(|_| f());
                }
            }
            return vec![1.0; self.fns.len()];
        }
        let batch = |f: &mut Box<dyn FnMut() + 'a>, n: u64| {
            let t = Instant::now();
            for _ in 0..n {
                f();
            }
            t.elapsed()
        };
        let sizes: Vec<u64> = self
            .fns
            .iter_mut()
            .map(|(f, engine)| {
                let mut n = 1u64;
                while !skip(*engine) && batch(f, n) < Duration::from_millis(5) {
                    n *= 2;
                }
                n
            })
            .collect();
        let mut best = vec![f64::INFINITY; self.fns.len()];
        for _ in 0..ROUNDS {
            for (i, (f, engine)) in self.fns.iter_mut().enumerate() {
                if !skip(*engine) {
                    let ns = batch(f, sizes[i]).as_nanos() as f64 / sizes[i] as f64;
                    best[i] = best[i].min(ns);
                }
            }
        }
        best
    }
}

fn config() -> Arc<Config> {
    Arc::new(Config::builder().secret(SECRET).max_age(Some(3_600_000.0)).build().expect("config"))
}

/// Runs one request: `handler` is the route handler.
fn run(cfg: &Arc<Config>, store: &MemoryStore, cookie: Option<&str>, handler: impl FnOnce(&mut Request)) -> usize {
    run_with(cfg, store, cookie, handler, MemoryStore::poll)
}

/// The store answering from record text alone (as a host of the C ABI
/// does): every load reads the record.
fn text_poll<'r>(store: &MemoryStore, req: &'r mut Request, now: i64) -> Result<Action<'r>, libsession_engine::Error> {
    loop {
        match req.poll_action()? {
            Action::Load { id } => match store.get(id, now) {
                Some(text) => req.handle_load(libsession_engine::LoadResult::Found(text.as_bytes()))?,
                None => req.handle_load(libsession_engine::LoadResult::NotFound)?,
            },
            Action::Save { id, record, expires_at, .. } => {
                let _ = store.set(id, record, expires_at, now);
                req.handle_store_result(libsession_engine::StoreResult::Ok)?;
            }
            Action::Touch { id, record, expires_at, .. } => {
                store.touch(id, record, expires_at, now);
                req.handle_store_result(libsession_engine::StoreResult::Ok)?;
            }
            Action::Destroy { id } => {
                store.destroy(id);
                req.handle_store_result(libsession_engine::StoreResult::Ok)?;
            }
            _ => break,
        }
    }
    Ok(req.current_action())
}

type Poll = for<'r> fn(&MemoryStore, &'r mut Request, i64) -> Result<Action<'r>, libsession_engine::Error>;

fn run_with(
    cfg: &Arc<Config>,
    store: &MemoryStore,
    cookie: Option<&str>,
    handler: impl FnOnce(&mut Request),
    poll: Poll,
) -> usize {
    let mut req = Request::new(cfg.clone(), UnixMillis(NOW), SeededIds::new(&SEED));
    if let Some(c) = cookie {
        req.add_cookie_header(c.as_bytes()).expect("facts");
    }
    let mut cookies = 0;
    let mut handler = Some(handler);
    loop {
        match poll(store, &mut req, NOW as i64).expect("no misuse") {
            Action::Ready => {
                if let Some(h) = handler.take() {
                    h(&mut req);
                }
                req.finish().expect("finish");
            }
            Action::SetCookie { value } => cookies += black_box(value).len(),
            Action::Done => return cookies,
            other => panic!("unexpected {other:?}"),
        }
    }
}

/// Seeds the store with one session holding `views` and returns its cookie header.
fn returning_visitor(cfg: &Arc<Config>, store: &MemoryStore) -> String {
    let mut set_cookie = String::new();
    let mut req = Request::new(cfg.clone(), UnixMillis(NOW - 60_000), SeededIds::new(&[1; 32]));
    loop {
        match store.poll(&mut req, (NOW - 60_000) as i64).expect("poll") {
            Action::Ready => {
                req.set("views", Value::Number(41.0)).expect("set");
                req.set("user", Value::String("alice".into())).expect("set");
                req.finish().expect("finish");
            }
            Action::SetCookie { value } => set_cookie = value.to_string(),
            Action::Done => break,
            other => panic!("unexpected {other:?}"),
        }
    }
    format!(
        "theme=dark; connect.sid={}; lang=en",
        set_cookie.split(';').next().and_then(|p| p.split_once('=')).map(|(_, v)| v).unwrap_or("")
    )
}

mod primitives {
    use base64::Engine as _;
    use hmac::{Hmac, Mac};
    use sha2::Sha256;
    use std::hint::black_box;

    pub(crate) fn hmac_b64(key: &Hmac<Sha256>, msg: &[u8]) -> usize {
        let mut mac = key.clone();
        mac.update(msg);
        let tag = mac.finalize().into_bytes();
        let mut out = [0u8; 44];
        base64::engine::general_purpose::STANDARD_NO_PAD.encode_slice(tag, &mut out).unwrap_or(0)
    }

    /// Verify = recompute the MAC, encode it, compare.
    pub(crate) fn verify(key: &Hmac<Sha256>, msg: &[u8], sig: &[u8]) -> bool {
        let mut mac = key.clone();
        mac.update(msg);
        let tag = mac.finalize().into_bytes();
        let mut out = [0u8; 44];
        let n = base64::engine::general_purpose::STANDARD_NO_PAD.encode_slice(tag, &mut out).unwrap_or(0);
        black_box(&out[..n]) == sig
    }

    pub(crate) fn key() -> Hmac<Sha256> {
        <Hmac<Sha256> as Mac>::new_from_slice(super::SECRET.as_bytes()).expect("key")
    }
}

/// A timed row of the C ABI path: added with the `capi` feature, absent
/// (the table shows `-`) without it.
#[cfg(feature = "capi")]
macro_rules! c_row {
    ($bench:expr, $f:expr) => {
        Some($bench.add(false, $f))
    };
}
#[cfg(not(feature = "capi"))]
macro_rules! c_row {
    ($bench:expr, $f:expr) => {
        None::<usize>
    };
}

/// The same lifecycle driven only through the exported `extern "C"`
/// functions (as a C host would), against the same in-memory store.
#[cfg(feature = "capi")]
mod c_path {
    #![allow(unsafe_code)]
    use libsession_engine::MemoryStore;
    use libsession_engine::ffi::*;
    use std::cell::RefCell;
    use std::collections::HashMap;
    use std::hint::black_box;

    /// A C host's in-memory store on the stored-record path: it keeps the
    /// handles the engine makes and gives them back at each load.
    #[derive(Default)]
    pub(crate) struct StoredStore {
        records: RefCell<HashMap<String, *mut libsession_stored_record>>,
    }

    impl StoredStore {
        /// Holds `text` under `id` (as read elsewhere: the first load reads it).
        pub(crate) fn insert_text(&self, id: &str, text: &str) {
            let mut handle = std::ptr::null_mut();
            // SAFETY: valid text and out-pointer.
            assert_eq!(unsafe { libsession_stored_record_from_text(text.as_ptr(), text.len(), &mut handle) }, 0);
            self.put(id, handle);
        }

        fn put(&self, id: &str, handle: *mut libsession_stored_record) {
            if let Some(old) = self.records.borrow_mut().insert(id.to_string(), handle) {
                // SAFETY: a handle this store owned, replaced.
                unsafe { libsession_stored_record_free(old) };
            }
        }
    }

    impl Drop for StoredStore {
        fn drop(&mut self) {
            for (_, handle) in self.records.borrow_mut().drain() {
                // SAFETY: handles this store owned, freed once.
                unsafe { libsession_stored_record_free(handle) };
            }
        }
    }

    /// Where a C host keeps records: as text, or as engine-made records.
    #[derive(Clone, Copy)]
    pub(crate) enum Store<'a> {
        Text(&'a MemoryStore),
        Stored(&'a StoredStore),
    }

    const LOAD: u32 = libsession_action::Load as u32;
    const SAVE: u32 = libsession_action::Save as u32;
    const TOUCH: u32 = libsession_action::Touch as u32;
    const DESTROY: u32 = libsession_action::Destroy as u32;
    const SET_COOKIE: u32 = libsession_action::SetCookie as u32;
    const READY: u32 = libsession_action::Ready as u32;
    const DONE: u32 = libsession_action::Done as u32;

    pub(crate) struct Config(*const libsession_config);

    impl Config {
        pub(crate) fn new() -> Config {
            let mut b = std::ptr::null_mut();
            let mut cfg = std::ptr::null();
            // SAFETY: out-pointers are valid; the builder is consumed by build.
            unsafe {
                assert_eq!(libsession_config_builder_new(&mut b), 0);
                let secret = crate::SECRET.as_bytes();
                assert_eq!(libsession_config_builder_add_secret(b, secret.as_ptr(), secret.len()), 0);
                assert_eq!(libsession_config_builder_set_max_age(b, true, 3_600_000), 0);
                assert_eq!(libsession_config_builder_build(b, &mut cfg), 0);
            }
            Config(cfg)
        }
    }

    impl Drop for Config {
        fn drop(&mut self) {
            // SAFETY: built above, freed once.
            unsafe { libsession_config_free(self.0) }
        }
    }

    fn text(s: libsession_str) -> &'static str {
        if s.data.is_null() {
            return "";
        }
        // SAFETY: the library hands out valid UTF-8 (ids, records, cookies)
        // valid until the next call on the request, which the caller respects.
        unsafe { std::str::from_utf8_unchecked(std::slice::from_raw_parts(s.data, s.len)) }
    }

    /// One of the action accessors' strings.
    ///
    /// # Safety
    /// `req` is live; the text is used before the next call on it.
    unsafe fn action(
        req: *const libsession_request,
        f: unsafe extern "C" fn(*const libsession_request, *mut libsession_str) -> u32,
    ) -> &'static str {
        let mut s = libsession_str::NONE;
        // SAFETY: a live request (contract) and a valid out-pointer.
        assert_eq!(unsafe { f(req, &mut s) }, 0);
        text(s)
    }

    #[derive(Clone, Copy)]
    pub(crate) enum Handler {
        SetKey,
        Increment,
        Read,
    }

    /// One request; returns the Set-Cookie bytes seen.
    pub(crate) fn run(
        cfg: &Config,
        store: Store<'_>,
        now: u64,
        seed: &[u8; 32],
        cookie: Option<&str>,
        h: Handler,
    ) -> usize {
        let now_i = now as i64;
        let mut req = std::ptr::null_mut();
        let mut out = 0;
        // SAFETY: every pointer passed is valid for the call; strings read
        // from the request are used before the next call on it.
        unsafe {
            assert_eq!(libsession_request_new(cfg.0, now_i, seed.as_ptr(), seed.len(), &mut req), 0);
            if let Some(c) = cookie {
                assert_eq!(libsession_request_add_cookie_header(req, c.as_ptr(), c.len()), 0);
            }
            let mut kind = 0u32;
            loop {
                assert_eq!(libsession_request_poll_action(req, &mut kind), 0);
                match kind {
                    LOAD => {
                        let id = action(req, libsession_request_action_id);
                        let rc = match store {
                            Store::Text(store) => match store.get(id, now_i) {
                                Some(t) => libsession_request_handle_load_result(req, 0, t.as_ptr(), t.len()),
                                None => libsession_request_handle_load_result(req, 1, std::ptr::null(), 0),
                            },
                            Store::Stored(store) => match store.records.borrow().get(id) {
                                Some(&handle) => libsession_request_handle_load_stored(req, handle),
                                None => libsession_request_handle_load_result(req, 1, std::ptr::null(), 0),
                            },
                        };
                        assert_eq!(rc, 0);
                    }
                    SAVE | TOUCH if matches!(store, Store::Stored(_)) => {
                        let Store::Stored(store) = store else { unreachable!() };
                        let id = action(req, libsession_request_action_id);
                        let mut handle = std::ptr::null_mut();
                        assert_eq!(libsession_request_take_stored_record(req, &mut handle), 0);
                        if kind == SAVE {
                            store.put(id, handle);
                        } else {
                            if let Some(&held) = store.records.borrow().get(id) {
                                assert_eq!(libsession_stored_record_apply_touch(held, handle), 0);
                            }
                            libsession_stored_record_free(handle);
                        }
                        assert_eq!(libsession_request_handle_store_result(req, 0, std::ptr::null(), 0), 0);
                    }
                    SAVE | TOUCH => {
                        let Store::Text(store) = store else { unreachable!() };
                        let id = action(req, libsession_request_action_id);
                        let record = action(req, libsession_request_action_record);
                        let (mut at, mut has) = (0i64, false);
                        assert_eq!(libsession_request_action_expires_at(req, &mut at, &mut has), 0);
                        let exp = has.then_some(at);
                        if kind == SAVE {
                            let _ = store.set(id, record, exp, now_i);
                        } else {
                            store.touch(id, record, exp, now_i);
                        }
                        assert_eq!(libsession_request_handle_store_result(req, 0, std::ptr::null(), 0), 0);
                    }
                    DESTROY => {
                        if let Store::Text(store) = store {
                            store.destroy(action(req, libsession_request_action_id));
                        }
                        assert_eq!(libsession_request_handle_store_result(req, 0, std::ptr::null(), 0), 0);
                    }
                    SET_COOKIE => out += black_box(action(req, libsession_request_action_value)).len(),
                    READY => {
                        match h {
                            Handler::SetKey => {
                                let (k, v) = (b"user", b"\"alice\"");
                                assert_eq!(
                                    libsession_request_set_json(req, k.as_ptr(), k.len(), v.as_ptr(), v.len()),
                                    0
                                );
                            }
                            Handler::Increment => {
                                let mut n = 0.0;
                                let k = b"views";
                                assert_eq!(libsession_request_increment(req, k.as_ptr(), k.len(), &mut n), 0);
                            }
                            Handler::Read => {
                                let mut v = libsession_str { data: std::ptr::null(), len: 0 };
                                let k = b"views";
                                black_box(libsession_request_get_json(req, k.as_ptr(), k.len(), &mut v));
                            }
                        }
                        assert_eq!(libsession_request_finish(req), 0);
                    }
                    DONE => break,
                    other => panic!("unexpected action {other}"),
                }
            }
            libsession_request_free(req);
        }
        out
    }
}

fn main() {
    let filter: Option<String> = std::env::args().skip(1).find(|a| !a.starts_with('-'));
    let cfg = config();
    let store = MemoryStore::new();
    let cookie = returning_visitor(&cfg, &store);
    let sid_signed =
        cookie.split("connect.sid=").nth(1).and_then(|c| c.split(';').next()).unwrap_or("").replace("%3A", ":");
    let (sid, sig) = sid_signed.trim_start_matches("s:").rsplit_once('.').expect("signed");
    let (sid, sig) = (sid.to_string(), sig.replace("%2F", "/").replace("%2B", "+"));
    let record = store.get(&sid, NOW as i64).expect("seeded");
    let mut tampered = cookie.clone();
    tampered.replace_range(tampered.len() - 10..tampered.len() - 9, "Q");

    let key = primitives::key();
    assert!(primitives::verify(&key, sid.as_bytes(), sig.as_bytes()), "primitive verify agrees with the engine");
    let parsed = libsession_engine::Value::from_json_bytes(record.as_bytes()).expect("record");
    let new_record = r#"{"cookie":{"originalMaxAge":3600000,"partitioned":false,"expires":"2023-11-14T23:13:20.000Z","secure":false,"httpOnly":true,"path":"/","sameSite":"lax"},"user":"alice"}"#;
    let new_parsed = libsession_engine::Value::from_json(new_record).expect("json");
    #[cfg(feature = "capi")]
    let ccfg = c_path::Config::new();
    let fresh = MemoryStore::new();
    let fresh_c = MemoryStore::new();
    let tampered_store = MemoryStore::new();
    let want = |n: &str| filter.as_deref().is_none_or(|f| n.contains(f));

    // Every (a) request gets the same ID (the same seed): its save is
    // answered as an upsert (as the C path's text store does), not
    // insert-if-absent, which would see the previous run's record.
    let set_key = || {
        let handler = |r: &mut Request| r.set("user", Value::String("alice".into())).expect("set");
        black_box(run_with(&cfg, &fresh, None, handler, text_poll));
    };
    // The returning visitor's two handlers, with either way of loading.
    let (c, st, visitor) = (&cfg, &store, Some(cookie.as_str()));
    let increment_with = |poll: Poll| {
        move || {
            black_box(run_with(
                c,
                st,
                visitor,
                |r| {
                    r.increment("views").expect("incr");
                },
                poll,
            ));
        }
    };
    let read_with = |poll: Poll| {
        move || {
            black_box(run_with(
                c,
                st,
                visitor,
                |r| {
                    black_box(r.get("views"));
                },
                poll,
            ));
        }
    };
    let (increment, increment_text) = (increment_with(MemoryStore::poll), increment_with(text_poll));
    let (read, read_text) = (read_with(MemoryStore::poll), read_with(text_poll));
    let read_tampered = || {
        black_box(run(&cfg, &tampered_store, Some(&tampered), |r| {
            black_box(r.get("views"));
        }));
    };

    // A C host's store keeping engine-made records, seeded with the same record.
    #[cfg(feature = "capi")]
    let c_stored = c_path::StoredStore::default();
    #[cfg(feature = "capi")]
    c_stored.insert_text(&sid, &record);
    let mut bench = Bench { fns: Vec::new() };
    let p_verify = bench.add(false, || {
        black_box(primitives::verify(&key, black_box(sid.as_bytes()), sig.as_bytes()));
    });
    let p_sign = bench.add(false, || {
        black_box(primitives::hmac_b64(&key, black_box(sid.as_bytes())));
    });
    let p_parse = bench.add(false, || {
        black_box(libsession_engine::Value::from_json_bytes(black_box(record.as_bytes())).ok());
    });
    let p_serialize = bench.add(false, || {
        black_box((black_box(&parsed)).to_json());
    });
    let p_serialize_new = bench.add(false, || {
        black_box((black_box(&new_parsed)).to_json());
    });
    let p_id = bench.add(false, || {
        black_box(SeededIds::new(black_box(&SEED)).next_id());
    });
    // (name, allocations, engine slot, C slot if compared, primitive slots)
    let mut scenarios = Vec::new();
    if want("a") {
        let allocs = counting::count(set_key);
        let e = bench.add(true, set_key);
        let c = c_row!(bench, || {
            black_box(c_path::run(&ccfg, c_path::Store::Text(&fresh_c), NOW, &SEED, None, c_path::Handler::SetKey));
        });
        scenarios.push((
            "(a) new visitor sets a key",
            allocs,
            e,
            c,
            vec![("id", p_id), ("serialize", p_serialize_new), ("sign", p_sign)],
        ));
    }
    if want("b") {
        let prims = vec![("verify", p_verify), ("parse", p_parse), ("serialize", p_serialize), ("sign", p_sign)];
        increment(); // as it is in the timed loop: after a request of its own kind
        let allocs = counting::count(increment);
        let e = bench.add(true, increment);
        let c = c_row!(bench, || {
            let store = c_path::Store::Stored(&c_stored);
            black_box(c_path::run(&ccfg, store, NOW, &SEED, Some(&cookie), c_path::Handler::Increment));
        });
        scenarios.push(("(b) returning visitor increments", allocs, e, c, prims.clone()));
        increment_text(); // as it is in the timed loop: after a request of its own kind
        let allocs = counting::count(increment_text);
        let e = bench.add(false, increment_text);
        let c = c_row!(bench, || {
            let store = c_path::Store::Text(&store);
            black_box(c_path::run(&ccfg, store, NOW, &SEED, Some(&cookie), c_path::Handler::Increment));
        });
        scenarios.push(("    the same, from record text", allocs, e, c, prims));
    }
    if want("c") {
        let prims = vec![("verify", p_verify), ("parse", p_parse), ("serialize", p_serialize)];
        read(); // as it is in the timed loop: after a request of its own kind
        let allocs = counting::count(read);
        let e = bench.add(true, read);
        let c = c_row!(bench, || {
            let store = c_path::Store::Stored(&c_stored);
            black_box(c_path::run(&ccfg, store, NOW, &SEED, Some(&cookie), c_path::Handler::Read));
        });
        scenarios.push(("(c) returning visitor reads", allocs, e, c, prims.clone()));
        read_text(); // as it is in the timed loop: after a request of its own kind
        let allocs = counting::count(read_text);
        let e = bench.add(false, read_text);
        let c = c_row!(bench, || {
            let store = c_path::Store::Text(&store);
            black_box(c_path::run(&ccfg, store, NOW, &SEED, Some(&cookie), c_path::Handler::Read));
        });
        scenarios.push(("    the same, from record text", allocs, e, c, prims));
    }
    if want("d") {
        let allocs = counting::count(read_tampered);
        let e = bench.add(true, read_tampered);
        let c = c_row!(bench, || {
            let store = c_path::Store::Text(&tampered_store);
            black_box(c_path::run(&ccfg, store, NOW, &SEED, Some(&tampered), c_path::Handler::Read));
        });
        scenarios.push(("(d) tampered cookie", allocs, e, c, vec![("verify", p_verify), ("id", p_id)]));
    }
    let ns = bench.run();
    assert!(tampered_store.is_empty(), "(d) stores nothing: no record is ever serialized");

    println!(
        "{:<34} {:>10} {:>14} {:>7} {:>7} {:>10} {:>8}   primitives (ns)",
        "scenario", "engine ns", "primitives ns", "ratio", "allocs", "C ABI ns", "C/Rust"
    );
    for (name, allocs, e, c, prims) in &scenarios {
        let sum: f64 = prims.iter().map(|(_, i)| ns[*i]).sum();
        let parts: Vec<String> = prims.iter().map(|(n, i)| format!("{n} {:.0}", ns[*i])).collect();
        let (c_ns, c_rust) = match c {
            Some(c) => (format!("{:.0}", ns[*c]), format!("{:+.1}%", (ns[*c] / ns[*e] - 1.0) * 100.0)),
            None => ("-".to_string(), "-".to_string()),
        };
        println!(
            "{:<34} {:>10.0} {:>14.0} {:>7.2} {:>7} {:>10} {:>8}   {}",
            name,
            ns[*e],
            sum,
            ns[*e] / sum,
            allocs,
            c_ns,
            c_rust,
            parts.join(" + ")
        );
    }
    println!(
        "(b) and (c) load the record the store kept as the engine made it (Rust: MemoryStore; C: handles from \
         libsession_request_take_stored_record); \"from record text\" reads the text instead"
    );
    println!("budgets: (a) ratio <= 1.8, (d) <= 1.5; C ABI at most +15% over Rust for (b); (d) stores nothing");
    // Profiling runs (fixed iterations) time nothing worth keeping.
    if std::env::var_os("LIBSESSION_BENCH_ITERS").is_none() {
        write_json(&scenarios, &ns);
    }
}

/// `target/bench/lifecycle.json`: one object per scenario (the main rows),
/// for tools that track the numbers.
fn write_json(scenarios: &[Scenario], ns: &[f64]) {
    let rows: Vec<serde_json::Value> = scenarios
        .iter()
        .filter(|(name, ..)| name.starts_with('('))
        .map(|(name, _, e, c, prims)| {
            let primitives: f64 = prims.iter().map(|(_, i)| ns[*i]).sum();
            serde_json::json!({
                "scenario": &name[1..2],
                "engine_ns": ns[*e].round(),
                "primitives_ns": primitives.round(),
                "ratio": (ns[*e] / primitives * 1000.0).round() / 1000.0,
                "c_abi_ns": c.map(|c| ns[c].round()),
            })
        })
        .collect();
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("target").join("bench");
    let path = dir.join("lifecycle.json");
    let written = std::fs::create_dir_all(&dir)
        .and_then(|()| std::fs::write(&path, serde_json::to_string_pretty(&rows).unwrap_or_default() + "\n"));
    match written {
        Ok(()) => println!("wrote {}", path.display()),
        Err(e) => eprintln!("could not write {}: {e}", path.display()),
    }
}

/// A printed row: name, allocations, engine slot, C slot, primitive slots.
type Scenario = (&'static str, u64, usize, Option<usize>, Vec<(&'static str, usize)>);

#[path = "common/counting.rs"]
mod counting;

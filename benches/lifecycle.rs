//! Per-request cost of the engine, scenario by scenario, next to the cost of
//! the primitive operations each scenario cannot avoid, measured in the same
//! run (`cargo bench --bench lifecycle`).
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

use session::{Action, Config, IdSource, MemoryStore, Request, SeededIds, UnixMillis, Value};

const NOW: u64 = 1_700_000_000_000;
const SEED: [u8; 32] = [9; 32];

/// ns per call of `f`: the fastest of 15 timed batches of about 10 ms (other
/// load on the machine only ever adds time, so the minimum is the most
/// repeatable figure). With `LIBSESSION_BENCH_ITERS=n` it just calls `f` n
/// times (for profilers).
fn measure(mut f: impl FnMut()) -> f64 {
    if let Some(n) = std::env::var("LIBSESSION_BENCH_ITERS").ok().and_then(|v| v.parse::<u64>().ok()) {
        for _ in 0..n {
            f();
        }
        return 1.0;
    }
    // Calibrate a batch of about 10 ms.
    let mut n = 1u64;
    loop {
        let t = Instant::now();
        for _ in 0..n {
            f();
        }
        if t.elapsed() > Duration::from_millis(10) {
            break;
        }
        n *= 2;
    }
    (0..15)
        .map(|_| {
            let t = Instant::now();
            for _ in 0..n {
                f();
            }
            t.elapsed().as_nanos() as f64 / n as f64
        })
        .fold(f64::INFINITY, f64::min)
}

fn config() -> Arc<Config> {
    Arc::new(Config::builder().secret("keyboard cat").max_age(Some(3_600_000.0)).build().expect("config"))
}

/// Runs one request: `handler` is the route handler.
fn run(cfg: &Arc<Config>, store: &MemoryStore, cookie: Option<&str>, handler: impl FnOnce(&mut Request)) -> usize {
    let mut req = Request::new(cfg.clone(), UnixMillis(NOW), SeededIds::new(&SEED));
    if let Some(c) = cookie {
        req.add_cookie_header(c.as_bytes()).expect("facts");
    }
    let mut cookies = 0;
    let mut handler = Some(handler);
    loop {
        match store.poll(&mut req, NOW as i64).expect("no misuse") {
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

    pub fn hmac_b64(key: &Hmac<Sha256>, msg: &[u8]) -> usize {
        let mut mac = key.clone();
        mac.update(msg);
        let tag = mac.finalize().into_bytes();
        let mut out = [0u8; 44];
        base64::engine::general_purpose::STANDARD_NO_PAD.encode_slice(tag, &mut out).unwrap_or(0)
    }

    /// Verify = recompute the MAC, encode it, compare.
    pub fn verify(key: &Hmac<Sha256>, msg: &[u8], sig: &[u8]) -> bool {
        let mut mac = key.clone();
        mac.update(msg);
        let tag = mac.finalize().into_bytes();
        let mut out = [0u8; 44];
        let n = base64::engine::general_purpose::STANDARD_NO_PAD.encode_slice(tag, &mut out).unwrap_or(0);
        black_box(&out[..n]) == sig
    }

    pub fn key() -> Hmac<Sha256> {
        <Hmac<Sha256> as Mac>::new_from_slice(b"keyboard cat").expect("key")
    }
}

/// The same lifecycle driven only through the exported `extern "C"`
/// functions (as a C host would), against the same in-memory store.
mod c_path {
    #![allow(unsafe_code)]
    use session::MemoryStore;
    use session::ffi::*;
    use std::hint::black_box;

    const LOAD: u32 = libsession_action::Load as u32;
    const SAVE: u32 = libsession_action::Save as u32;
    const TOUCH: u32 = libsession_action::Touch as u32;
    const DESTROY: u32 = libsession_action::Destroy as u32;
    const SET_COOKIE: u32 = libsession_action::SetCookie as u32;
    const READY: u32 = libsession_action::Ready as u32;
    const DONE: u32 = libsession_action::Done as u32;

    pub struct Config(*const libsession_config);

    impl Config {
        pub fn new() -> Config {
            let mut b = std::ptr::null_mut();
            let mut cfg = std::ptr::null();
            // SAFETY: out-pointers are valid; the builder is consumed by build.
            unsafe {
                assert_eq!(libsession_config_builder_new(&mut b), 0);
                let secret = b"keyboard cat";
                assert_eq!(libsession_config_builder_add_secret(b, secret.as_ptr(), secret.len()), 0);
                libsession_config_builder_set_max_age(b, true, 3_600_000.0);
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

    #[derive(Clone, Copy)]
    pub enum Handler {
        SetKey,
        Increment,
        Read,
    }

    /// One request; returns the Set-Cookie bytes seen.
    pub fn run(
        cfg: &Config,
        store: &MemoryStore,
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
            assert_eq!(libsession_request_new(cfg.0, now, seed.as_ptr(), seed.len(), &mut req), 0);
            if let Some(c) = cookie {
                assert_eq!(libsession_request_add_cookie_header(req, c.as_ptr(), c.len()), 0);
            }
            let mut kind = 0u32;
            loop {
                assert_eq!(libsession_request_poll_action(req, &mut kind), 0);
                match kind {
                    LOAD => {
                        let id = text(libsession_request_action_id(req));
                        let rc = match store.get(id, now_i) {
                            Some(t) => libsession_request_handle_load_result(req, 0, t.as_ptr(), t.len()),
                            None => libsession_request_handle_load_result(req, 1, std::ptr::null(), 0),
                        };
                        assert_eq!(rc, 0);
                    }
                    SAVE | TOUCH => {
                        let id = text(libsession_request_action_id(req));
                        let record = text(libsession_request_action_record(req));
                        let mut at = 0i64;
                        let exp = libsession_request_action_expires_at(req, &mut at).then_some(at);
                        if kind == SAVE {
                            let _ = store.set(id, record, exp, now_i);
                        } else {
                            store.touch(id, record, exp, now_i);
                        }
                        assert_eq!(libsession_request_handle_store_result(req, 0, std::ptr::null(), 0), 0);
                    }
                    DESTROY => {
                        store.destroy(text(libsession_request_action_id(req)));
                        assert_eq!(libsession_request_handle_store_result(req, 0, std::ptr::null(), 0), 0);
                    }
                    SET_COOKIE => out += black_box(libsession_request_action_value(req)).len,
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

struct Row {
    name: &'static str,
    allocs: u64,
    engine: f64,
    c_abi: f64,
    prims: f64,
    parts: String,
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
    let p_verify = measure(|| {
        black_box(primitives::verify(&key, black_box(sid.as_bytes()), sig.as_bytes()));
    });
    let p_sign = measure(|| {
        black_box(primitives::hmac_b64(&key, black_box(sid.as_bytes())));
    });
    let p_parse = measure(|| {
        black_box(session::json::parse(black_box(record.as_bytes())).ok());
    });
    let parsed = session::json::parse(record.as_bytes()).expect("record");
    let p_serialize = measure(|| {
        black_box(session::json::to_string(black_box(&parsed)));
    });
    let new_record = r#"{"cookie":{"originalMaxAge":3600000,"partitioned":false,"expires":"2023-11-14T23:13:20.000Z","secure":false,"httpOnly":true,"path":"/","sameSite":"lax"},"user":"alice"}"#;
    let new_parsed = session::json::from_str(new_record).expect("json");
    let p_serialize_new = measure(|| {
        black_box(session::json::to_string(black_box(&new_parsed)));
    });
    let p_id = measure(|| {
        black_box(SeededIds::new(black_box(&SEED)).next_id());
    });

    let ccfg = c_path::Config::new();
    let mut rows = vec![];
    let want = |n: &str| filter.as_deref().is_none_or(|f| n.contains(f));

    if want("a") {
        let s = MemoryStore::new();
        let f = || {
            black_box(run(&cfg, &s, None, |r| r.set("user", Value::String("alice".into())).expect("set")));
        };
        let allocs = counting::count(f);
        let engine = measure(f);
        let c_abi = measure(|| {
            black_box(c_path::run(&ccfg, &s, NOW, &SEED, None, c_path::Handler::SetKey));
        });
        rows.push(Row {
            name: "(a) new visitor sets a key",
            c_abi,
            allocs,
            engine,
            prims: p_id + p_serialize_new + p_sign,
            parts: format!("id {p_id:.0} + serialize {p_serialize_new:.0} + sign {p_sign:.0}"),
        });
    }
    if want("b") {
        let f = || {
            black_box(run(&cfg, &store, Some(&cookie), |r| {
                r.increment("views").expect("incr");
            }));
        };
        let allocs = counting::count(f);
        let engine = measure(f);
        let c_abi = measure(|| {
            black_box(c_path::run(&ccfg, &store, NOW, &SEED, Some(&cookie), c_path::Handler::Increment));
        });
        rows.push(Row {
            name: "(b) returning visitor increments",
            c_abi,
            allocs,
            engine,
            prims: p_verify + p_parse + p_serialize + p_sign,
            parts: format!("verify {p_verify:.0} + parse {p_parse:.0} + serialize {p_serialize:.0} + sign {p_sign:.0}"),
        });
    }
    if want("c") {
        let f = || {
            black_box(run(&cfg, &store, Some(&cookie), |r| {
                black_box(r.get("views"));
            }));
        };
        let allocs = counting::count(f);
        let engine = measure(f);
        let c_abi = measure(|| {
            black_box(c_path::run(&ccfg, &store, NOW, &SEED, Some(&cookie), c_path::Handler::Read));
        });
        rows.push(Row {
            name: "(c) returning visitor reads",
            c_abi,
            allocs,
            engine,
            prims: p_verify + p_parse + p_serialize,
            parts: format!("verify {p_verify:.0} + parse {p_parse:.0} + serialize {p_serialize:.0}"),
        });
    }
    if want("d") {
        let s = MemoryStore::new();
        let f = || {
            black_box(run(&cfg, &s, Some(&tampered), |r| {
                black_box(r.get("views"));
            }));
        };
        let allocs = counting::count(f);
        let engine = measure(f);
        let c_abi = measure(|| {
            black_box(c_path::run(&ccfg, &s, NOW, &SEED, Some(&tampered), c_path::Handler::Read));
        });
        assert!(s.is_empty(), "(d) stores nothing: no record is ever serialized");
        rows.push(Row {
            name: "(d) tampered cookie",
            c_abi,
            allocs,
            engine,
            prims: p_verify + p_id,
            parts: format!("verify {p_verify:.0} + id {p_id:.0}"),
        });
    }

    println!(
        "{:<34} {:>10} {:>14} {:>7} {:>7} {:>10} {:>8}   primitives (ns)",
        "scenario", "engine ns", "primitives ns", "ratio", "allocs", "C ABI ns", "C/Rust"
    );
    for r in &rows {
        println!(
            "{:<34} {:>10.0} {:>14.0} {:>7.2} {:>7} {:>10.0} {:>+7.1}%   {}",
            r.name,
            r.engine,
            r.prims,
            r.engine / r.prims,
            r.allocs,
            r.c_abi,
            (r.c_abi / r.engine - 1.0) * 100.0,
            r.parts
        );
    }
    println!("budgets: ratio <= 1.3 for (b) and (c); C ABI at most +15% over Rust for (b); (d) stores nothing");
}

/// Counts heap allocations, so the report can show them per request.
mod counting {
    use std::alloc::{GlobalAlloc, Layout, System};
    use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

    pub static ALLOCS: AtomicU64 = AtomicU64::new(0);
    /// Counting is on only inside `count`, so that timed runs do not pay
    /// for an atomic add per allocation.
    static ON: AtomicBool = AtomicBool::new(false);

    pub struct Counting;

    // SAFETY: forwards to the system allocator unchanged.
    unsafe impl GlobalAlloc for Counting {
        unsafe fn alloc(&self, l: Layout) -> *mut u8 {
            if ON.load(Ordering::Relaxed) {
                ALLOCS.fetch_add(1, Ordering::Relaxed);
            }
            // SAFETY: same contract as ours.
            unsafe { System.alloc(l) }
        }
        unsafe fn dealloc(&self, p: *mut u8, l: Layout) {
            // SAFETY: same contract as ours.
            unsafe { System.dealloc(p, l) }
        }
        unsafe fn realloc(&self, p: *mut u8, l: Layout, n: usize) -> *mut u8 {
            if ON.load(Ordering::Relaxed) {
                ALLOCS.fetch_add(1, Ordering::Relaxed);
            }
            // SAFETY: same contract as ours.
            unsafe { System.realloc(p, l, n) }
        }
    }

    #[global_allocator]
    static GLOBAL: Counting = Counting;

    pub fn count(f: impl FnOnce()) -> u64 {
        let before = ALLOCS.load(Ordering::Relaxed);
        ON.store(true, Ordering::Relaxed);
        f();
        ON.store(false, Ordering::Relaxed);
        ALLOCS.load(Ordering::Relaxed) - before
    }
}

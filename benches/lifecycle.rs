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
//! serialize of the record, ID generation — the same implementations the
//! engine uses. Budget: engine/primitives ≤ 1.3 for (b) and (c); (d) must not
//! touch JSON (checked by counting: its store sees no record at all).

#![allow(clippy::disallowed_methods)] // a benchmark reads the clock

use std::hint::black_box;
use std::sync::Arc;
use std::time::{Duration, Instant};

use session::{Action, Config, IdSource, MemoryStore, Request, SeededIds, UnixMillis, Value};

const NOW: u64 = 1_700_000_000_000;
const SEED: [u8; 32] = [9; 32];

/// Median ns per call of `f` over several timed batches. With
/// `LIBSESSION_BENCH_ITERS=n` it just calls `f` n times (for profilers).
fn measure(mut f: impl FnMut()) -> f64 {
    if let Some(n) = std::env::var("LIBSESSION_BENCH_ITERS").ok().and_then(|v| v.parse::<u64>().ok()) {
        for _ in 0..n {
            f();
        }
        return 1.0;
    }
    // Calibrate a batch of about 20 ms.
    let mut n = 1u64;
    loop {
        let t = Instant::now();
        for _ in 0..n {
            f();
        }
        if t.elapsed() > Duration::from_millis(20) {
            break;
        }
        n *= 2;
    }
    let mut samples: Vec<f64> = (0..9)
        .map(|_| {
            let t = Instant::now();
            for _ in 0..n {
                f();
            }
            t.elapsed().as_nanos() as f64 / n as f64
        })
        .collect();
    samples.sort_by(f64::total_cmp);
    samples[samples.len() / 2]
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

struct Row {
    name: &'static str,
    allocs: u64,
    engine: f64,
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

    let mut rows = vec![];
    let want = |n: &str| filter.as_deref().is_none_or(|f| n.contains(f));

    if want("a") {
        let s = MemoryStore::new();
        let mut f = || {
            black_box(run(&cfg, &s, None, |r| r.set("user", Value::String("alice".into())).expect("set")));
        };
        let allocs = counting::count(&mut f);
        let engine = measure(f);
        rows.push(Row {
            name: "(a) new visitor sets a key",
            allocs,
            engine,
            prims: p_id + p_serialize_new + p_sign,
            parts: format!("id {p_id:.0} + serialize {p_serialize_new:.0} + sign {p_sign:.0}"),
        });
    }
    if want("b") {
        let mut f = || {
            black_box(run(&cfg, &store, Some(&cookie), |r| {
                r.increment("views").expect("incr");
            }));
        };
        let allocs = counting::count(&mut f);
        let engine = measure(f);
        rows.push(Row {
            name: "(b) returning visitor increments",
            allocs,
            engine,
            prims: p_verify + p_parse + p_serialize + p_sign,
            parts: format!("verify {p_verify:.0} + parse {p_parse:.0} + serialize {p_serialize:.0} + sign {p_sign:.0}"),
        });
    }
    if want("c") {
        let mut f = || {
            black_box(run(&cfg, &store, Some(&cookie), |r| {
                black_box(r.get("views"));
            }));
        };
        let allocs = counting::count(&mut f);
        let engine = measure(f);
        rows.push(Row {
            name: "(c) returning visitor reads",
            allocs,
            engine,
            prims: p_verify + p_parse + p_serialize,
            parts: format!("verify {p_verify:.0} + parse {p_parse:.0} + serialize {p_serialize:.0}"),
        });
    }
    if want("d") {
        let s = MemoryStore::new();
        let mut f = || {
            black_box(run(&cfg, &s, Some(&tampered), |r| {
                black_box(r.get("views"));
            }));
        };
        let allocs = counting::count(&mut f);
        let engine = measure(f);
        assert!(s.is_empty(), "(d) stores nothing: no record is ever serialized");
        rows.push(Row {
            name: "(d) tampered cookie",
            allocs,
            engine,
            prims: p_verify + p_id,
            parts: format!("verify {p_verify:.0} + id {p_id:.0}"),
        });
    }

    println!(
        "{:<34} {:>10} {:>14} {:>7} {:>7}   primitives (ns)",
        "scenario", "engine ns", "primitives ns", "ratio", "allocs"
    );
    for r in &rows {
        println!(
            "{:<34} {:>10.0} {:>14.0} {:>7.2} {:>7}   {}",
            r.name,
            r.engine,
            r.prims,
            r.engine / r.prims,
            r.allocs,
            r.parts
        );
    }
}

/// Counts heap allocations, so the report can show them per request.
mod counting {
    use std::alloc::{GlobalAlloc, Layout, System};
    use std::sync::atomic::{AtomicU64, Ordering};

    pub static ALLOCS: AtomicU64 = AtomicU64::new(0);

    pub struct Counting;

    // SAFETY: forwards to the system allocator unchanged.
    unsafe impl GlobalAlloc for Counting {
        unsafe fn alloc(&self, l: Layout) -> *mut u8 {
            ALLOCS.fetch_add(1, Ordering::Relaxed);
            // SAFETY: same contract as ours.
            unsafe { System.alloc(l) }
        }
        unsafe fn dealloc(&self, p: *mut u8, l: Layout) {
            // SAFETY: same contract as ours.
            unsafe { System.dealloc(p, l) }
        }
        unsafe fn realloc(&self, p: *mut u8, l: Layout, n: usize) -> *mut u8 {
            ALLOCS.fetch_add(1, Ordering::Relaxed);
            // SAFETY: same contract as ours.
            unsafe { System.realloc(p, l, n) }
        }
    }

    #[global_allocator]
    static GLOBAL: Counting = Counting;

    pub fn count(f: impl FnOnce()) -> u64 {
        let before = ALLOCS.load(Ordering::Relaxed);
        f();
        ALLOCS.load(Ordering::Relaxed) - before
    }
}

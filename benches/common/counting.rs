//! Counts heap allocations, so that the benchmarks can report them per
//! request (a figure that does not depend on the machine's load).

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

static ALLOCS: AtomicU64 = AtomicU64::new(0);
/// Counting is on only inside `count`, so that timed runs do not pay for an
/// atomic add per allocation.
static ON: AtomicBool = AtomicBool::new(false);

pub(crate) struct Counting;

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

/// Runs `f` and returns how many allocations it made.
#[allow(dead_code)] // each benchmark uses one of the two ways
pub(crate) fn count<R>(f: impl FnOnce() -> R) -> u64 {
    let counter = Counter::start();
    f();
    counter.stop()
}

/// Counting from `start` to `stop` (around an `.await`, say).
pub(crate) struct Counter(u64);

impl Counter {
    pub(crate) fn start() -> Counter {
        let before = ALLOCS.load(Ordering::Relaxed);
        ON.store(true, Ordering::Relaxed);
        Counter(before)
    }

    /// How many allocations were made since `start`.
    pub(crate) fn stop(self) -> u64 {
        ON.store(false, Ordering::Relaxed);
        ALLOCS.load(Ordering::Relaxed) - self.0
    }
}

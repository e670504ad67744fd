//! Edge coverage for the fuzzer, from LLVM's SanitizerCoverage `trace-pc-guard` callbacks.
//!
//! An instrumented build (`scripts/fuzz.sh` passes `-C passes=sancov-module` and the guard
//! options, both stable rustc flags) calls these two functions on every edge; an ordinary
//! build never calls them, and the fuzzer then judges novelty by outcome alone. Hit counts
//! go into one map of `MAP` bytes (a guard's number modulo its size, as AFL does) and are
//! bucketed (1, 2, 3, 4-7, 8-15, 16-31, 32-127, 128+) before they are compared.

use std::cell::UnsafeCell;
use std::sync::atomic::{AtomicU32, Ordering};

pub const MAP: usize = 1 << 16;

struct Counters(UnsafeCell<[u8; MAP]>);
// SAFETY: written only by the instrumented code of the one fuzzing thread (the callbacks do
// not synchronise; a race would only miscount an edge, never touch memory outside the map).
unsafe impl Sync for Counters {}

static COUNTERS: Counters = Counters(UnsafeCell::new([0; MAP]));
static GUARDS: AtomicU32 = AtomicU32::new(0);

/// Numbers each module's guards from 1 on (0 would mean "off" to the callback).
///
/// # Safety
/// Called by the instrumentation only, with the bounds of one module's guard array.
#[no_mangle]
pub unsafe extern "C" fn __sanitizer_cov_trace_pc_guard_init(start: *mut u32, stop: *mut u32) {
    if start == stop || *start != 0 {
        return;
    }
    let n = stop.offset_from(start) as u32;
    let base = GUARDS.fetch_add(n, Ordering::Relaxed);
    for i in 0..n {
        *start.add(i as usize) = base + i + 1;
    }
}

/// Counts one pass over an edge.
///
/// # Safety
/// Called by the instrumentation only, with a guard numbered by the init function.
#[no_mangle]
pub unsafe extern "C" fn __sanitizer_cov_trace_pc_guard(guard: *mut u32) {
    let slot = (*guard as usize) & (MAP - 1);
    let map = &mut *COUNTERS.0.get();
    map[slot] = map[slot].wrapping_add(1);
}

/// Whether this binary was built with the coverage instrumentation.
pub fn instrumented() -> bool {
    GUARDS.load(Ordering::Relaxed) > 0
}

/// Edges as bucketed hit counts seen so far by one target.
pub struct Seen {
    virgin: Vec<u8>,
    pub edges: usize,
}

impl Default for Seen {
    fn default() -> Self {
        Seen { virgin: vec![0xff; MAP], edges: 0 }
    }
}

/// Zeroes the counters before an input runs.
pub fn reset() {
    // SAFETY: the fuzzing thread is the only writer, and it is here, not in a callback.
    unsafe { (*COUNTERS.0.get()).fill(0) }
}

fn bucket(count: u8) -> u8 {
    match count {
        0 => 0,
        1 => 1,
        2 => 2,
        3 => 4,
        4..=7 => 8,
        8..=15 => 16,
        16..=31 => 32,
        32..=127 => 64,
        _ => 128,
    }
}

impl Seen {
    /// Folds the last input's counters in; true when it reached an edge or a bucket of one
    /// never seen before. `edges_of` collects the slots it hit (hit counts left out, so that
    /// the minimised corpus keeps every edge, not every count), for corpus minimisation.
    pub fn absorb(&mut self, mut edges_of: Option<&mut Vec<u32>>) -> bool {
        // SAFETY: as in `reset`.
        let map = unsafe { &*COUNTERS.0.get() };
        let mut new = false;
        for (chunk, virgin) in map.chunks_exact(8).zip(self.virgin.chunks_exact_mut(8)) {
            if u64::from_ne_bytes(chunk.try_into().unwrap_or([0; 8])) == 0 {
                continue;
            }
            for (c, v) in chunk.iter().zip(virgin.iter_mut()) {
                let b = bucket(*c);
                if b == 0 {
                    continue;
                }
                if *v == 0xff {
                    self.edges += 1;
                }
                if *v & b != 0 {
                    *v &= !b;
                    new = true;
                }
            }
        }
        if let Some(list) = edges_of.as_mut() {
            list.clear();
            list.extend(map.iter().enumerate().filter(|(_, &c)| c != 0).map(|(i, _)| i as u32));
        }
        new
    }
}

//! The shared-GPU rate model: how fast each of several concurrently running items progresses.
//!
//! Items whose occupancies sum to at most 1 run as if alone; beyond that the GPU is shared in
//! proportion and oversubscription costs `beta` (the HIOS contention penalty):
//! `r = 1 / (max(1, U) · (1 + β · max(0, U − 1)))`, `U` the sum of the running items'
//! occupancies. Time slicing instead runs one context at a time: `n` items each get
//! `q / ((q + c) · n)` of the GPU (quantum `q`, switch `c`), in the fluid limit of short quanta.

/// The contention penalty of the shared model.
pub const DEFAULT_BETA: f64 = 0.1;
/// Time-slicing quantum and context switch, ms.
pub const QUANTUM_MS: f64 = 2.0;
pub const SLICE_SWITCH_MS: f64 = 0.05;

/// Progress rate of each of the items sharing the GPU with total occupancy `total`.
pub fn shared_rate(total: f64, beta: f64) -> f64 {
    let over = (total - 1.0).max(0.0);
    1.0 / (total.max(1.0) * (1.0 + beta * over))
}

/// Progress rate of each of `n` time-sliced items.
pub fn sliced_rate(n: usize, quantum_ms: f64, switch_ms: f64) -> f64 {
    if n <= 1 {
        1.0
    } else {
        quantum_ms / ((quantum_ms + switch_ms) * n as f64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn undersubscribed_items_run_as_if_alone_and_oversubscription_costs() {
        assert_eq!(shared_rate(0.4, 0.1), 1.0);
        assert_eq!(shared_rate(1.0, 0.1), 1.0);
        // Two full items: each at 1 / (2 · 1.1).
        assert!((shared_rate(2.0, 0.1) - 1.0 / 2.2).abs() < 1e-12);
        // Total throughput never exceeds the GPU: n · r ≤ 1 for n full items.
        for n in 1..8 {
            assert!(n as f64 * shared_rate(n as f64, 0.1) <= 1.0 + 1e-12);
        }
        assert_eq!(sliced_rate(1, 2.0, 0.05), 1.0);
        assert!(3.0 * sliced_rate(3, 2.0, 0.05) < 1.0);
    }
}

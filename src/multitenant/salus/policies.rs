//! The iteration policies (FIFO, SRTF, FAIR, PACK, RR) and the baselines (`exclusive-fifo`,
//! `static-partition`, `mps`, `srtf-checkpoint`, `salus-faithful`).
//!
//! Lane modes follow Salus's experiments: SRTF and FAIR share one lane, PACK packs lanes, and
//! the paper's FIFO is a GPU owned by one job at a time (`exclusive-fifo`).

use super::{Execution, JobView, LaneMode, SharingPolicy};

/// A policy: its name, summary, lane mode and rank (lower runs first), and any other method
/// of [`SharingPolicy`] it overrides.
macro_rules! policy {
    ($(#[$doc:meta])* $ty:ident: $name:literal, $summary:literal, $lanes:expr, |$j:ident| $rank:expr $(; $($more:tt)*)?) => {
        $(#[$doc])*
        pub struct $ty;
        impl SharingPolicy for $ty {
            fn name(&self) -> &'static str {
                $name
            }
            fn summary(&self) -> &'static str {
                $summary
            }
            fn lanes(&self) -> LaneMode {
                $lanes
            }
            fn rank(&self, $j: &JobView) -> f64 {
                $rank
            }
            $($($more)*)?
        }
    };
}

policy!(
    /// The earliest-admitted member runs to completion.
    Fifo: "fifo", "each lane runs its earliest-admitted member to completion (default: one lane)",
    LaneMode::One, |j| j.admitted as f64
);

policy!(
    /// Least remaining time (standalone duration minus service), preempting at iteration ends.
    Srtf: "srtf", "shortest remaining time first at iteration boundaries (default: one lane)",
    LaneMode::One, |j| j.remaining_ms
);

policy!(
    /// Least service: equal GPU time, one iteration per decision.
    Fair: "fair", "least GPU time received first, one iteration per decision (default: one lane)",
    LaneMode::One, |j| j.service_ms
);

policy!(
    /// Lanes packed by the lane assignment, members in arrival order: the gain is concurrency.
    Pack: "pack", "as many lanes as memory allows, members in arrival order (default: auto lanes)",
    LaneMode::Auto, |j| j.submit_s
);

policy!(
    /// Fewest iterations since the lane's membership last changed.
    Rr: "rr", "round robin: fewest iterations since the lane's membership changed (default: one lane)",
    LaneMode::One, |j| j.since_change as f64
);

policy!(
    /// The paper's FIFO: one job owns the GPU at a time, in arrival order.
    ExclusiveFifo: "exclusive-fifo", "no sharing: one job owns the GPU at a time, in arrival order",
    LaneMode::Exclusive, |j| j.submit_s;
    fn lanes_fixed(&self) -> bool {
        true
    }
    fn execution(&self) -> Execution {
        Execution::Exclusive
    }
);

policy!(
    /// Peak reservation (P + E a job) and time slicing among the admitted, as a framework that
    /// keeps each job's whole footprint.
    StaticPartition: "static-partition", "admit while the jobs' whole footprints fit; admitted jobs time-slice the GPU",
    LaneMode::PerJob, |j| j.admitted as f64;
    fn lanes_fixed(&self) -> bool {
        true
    }
    fn execution(&self) -> Execution {
        Execution::TimeSlice
    }
);

policy!(
    /// Peak reservation and every admitted job running at once, without isolation.
    Mps: "mps", "admit while the jobs' whole footprints fit; all admitted run concurrently (MPS-like)",
    LaneMode::PerJob, |j| j.admitted as f64;
    fn lanes_fixed(&self) -> bool {
        true
    }
);

policy!(
    /// Exclusive SRTF whose preemptions checkpoint the outgoing job's state to the host and
    /// restore the incoming one's: why fast switching matters.
    SrtfCheckpoint: "srtf-checkpoint", "one job at a time, SRTF, each preemption paying a checkpoint and a restart",
    LaneMode::Exclusive, |j| j.remaining_ms;
    fn lanes_fixed(&self) -> bool {
        true
    }
    fn execution(&self) -> Execution {
        Execution::Exclusive
    }
    fn checkpoints(&self) -> bool {
        true
    }
);

policy!(
    /// Salus's published lane manager: a lane per job holding its P and E (inflated), never
    /// shared, never grown.
    SalusFaithful: "salus-faithful",
    "Salus's published lanes: one job a lane of 1.05 (1.1 P + E), lanes never shared or grown",
    LaneMode::Faithful, |j| j.admitted as f64;
    fn lanes_fixed(&self) -> bool {
        true
    }
);

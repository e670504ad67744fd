//! The iteration policies (FIFO, SRTF, FAIR, PACK, RR) and the baselines (`exclusive-fifo`,
//! `static-partition`, `mps`, `srtf-checkpoint`, `salus-faithful`).
//!
//! Lane modes follow Salus's experiments: SRTF and FAIR share one lane, PACK packs lanes, and
//! the paper's FIFO is a GPU owned by one job at a time (`exclusive-fifo`).

use super::{Execution, JobView, LaneMode, SharingPolicy};

/// The earliest-admitted member runs to completion.
pub struct Fifo;
impl SharingPolicy for Fifo {
    fn name(&self) -> &'static str {
        "fifo"
    }
    fn summary(&self) -> &'static str {
        "each lane runs its earliest-admitted member to completion (default: one lane)"
    }
    fn lanes(&self) -> LaneMode {
        LaneMode::One
    }
    fn rank(&self, j: &JobView) -> f64 {
        j.admitted as f64
    }
}

/// Least remaining time (standalone duration minus service), preempting at iteration ends.
pub struct Srtf;
impl SharingPolicy for Srtf {
    fn name(&self) -> &'static str {
        "srtf"
    }
    fn summary(&self) -> &'static str {
        "shortest remaining time first at iteration boundaries (default: one lane)"
    }
    fn lanes(&self) -> LaneMode {
        LaneMode::One
    }
    fn rank(&self, j: &JobView) -> f64 {
        j.remaining_ms
    }
}

/// Least service: equal GPU time, one iteration per decision.
pub struct Fair;
impl SharingPolicy for Fair {
    fn name(&self) -> &'static str {
        "fair"
    }
    fn summary(&self) -> &'static str {
        "least GPU time received first, one iteration per decision (default: one lane)"
    }
    fn lanes(&self) -> LaneMode {
        LaneMode::One
    }
    fn rank(&self, j: &JobView) -> f64 {
        j.service_ms
    }
}

/// Lanes packed by the lane assignment, members in arrival order: the gain is concurrency.
pub struct Pack;
impl SharingPolicy for Pack {
    fn name(&self) -> &'static str {
        "pack"
    }
    fn summary(&self) -> &'static str {
        "as many lanes as memory allows, members in arrival order (default: auto lanes)"
    }
    fn lanes(&self) -> LaneMode {
        LaneMode::Auto
    }
    fn rank(&self, j: &JobView) -> f64 {
        j.submit_s
    }
}

/// Fewest iterations since the lane's membership last changed.
pub struct Rr;
impl SharingPolicy for Rr {
    fn name(&self) -> &'static str {
        "rr"
    }
    fn summary(&self) -> &'static str {
        "round robin: fewest iterations since the lane's membership changed (default: one lane)"
    }
    fn lanes(&self) -> LaneMode {
        LaneMode::One
    }
    fn rank(&self, j: &JobView) -> f64 {
        j.since_change as f64
    }
}

/// The paper's FIFO: one job owns the GPU at a time, in arrival order.
pub struct ExclusiveFifo;
impl SharingPolicy for ExclusiveFifo {
    fn name(&self) -> &'static str {
        "exclusive-fifo"
    }
    fn summary(&self) -> &'static str {
        "no sharing: one job owns the GPU at a time, in arrival order"
    }
    fn lanes(&self) -> LaneMode {
        LaneMode::Exclusive
    }
    fn lanes_fixed(&self) -> bool {
        true
    }
    fn execution(&self) -> Execution {
        Execution::Exclusive
    }
    fn rank(&self, j: &JobView) -> f64 {
        j.submit_s
    }
}

/// Peak reservation (P + E a job) and time slicing among the admitted, as a framework that
/// keeps each job's whole footprint.
pub struct StaticPartition;
impl SharingPolicy for StaticPartition {
    fn name(&self) -> &'static str {
        "static-partition"
    }
    fn summary(&self) -> &'static str {
        "admit while the jobs' whole footprints fit; admitted jobs time-slice the GPU"
    }
    fn lanes(&self) -> LaneMode {
        LaneMode::PerJob
    }
    fn lanes_fixed(&self) -> bool {
        true
    }
    fn execution(&self) -> Execution {
        Execution::TimeSlice
    }
    fn rank(&self, j: &JobView) -> f64 {
        j.admitted as f64
    }
}

/// Peak reservation and every admitted job running at once, without isolation.
pub struct Mps;
impl SharingPolicy for Mps {
    fn name(&self) -> &'static str {
        "mps"
    }
    fn summary(&self) -> &'static str {
        "admit while the jobs' whole footprints fit; all admitted run concurrently (MPS-like)"
    }
    fn lanes(&self) -> LaneMode {
        LaneMode::PerJob
    }
    fn lanes_fixed(&self) -> bool {
        true
    }
    fn rank(&self, j: &JobView) -> f64 {
        j.admitted as f64
    }
}

/// Exclusive SRTF whose preemptions checkpoint the outgoing job's state to the host and
/// restore the incoming one's: why fast switching matters.
pub struct SrtfCheckpoint;
impl SharingPolicy for SrtfCheckpoint {
    fn name(&self) -> &'static str {
        "srtf-checkpoint"
    }
    fn summary(&self) -> &'static str {
        "one job at a time, SRTF, each preemption paying a checkpoint and a restart"
    }
    fn lanes(&self) -> LaneMode {
        LaneMode::Exclusive
    }
    fn lanes_fixed(&self) -> bool {
        true
    }
    fn execution(&self) -> Execution {
        Execution::Exclusive
    }
    fn rank(&self, j: &JobView) -> f64 {
        j.remaining_ms
    }
    fn checkpoints(&self) -> bool {
        true
    }
}

/// Salus's published lane manager: a lane per job holding its P and E (inflated), never
/// shared, never grown.
pub struct SalusFaithful;
impl SharingPolicy for SalusFaithful {
    fn name(&self) -> &'static str {
        "salus-faithful"
    }
    fn summary(&self) -> &'static str {
        "Salus's published lanes: one job a lane of 1.05 (1.1 P + E), lanes never shared or grown"
    }
    fn lanes(&self) -> LaneMode {
        LaneMode::Faithful
    }
    fn lanes_fixed(&self) -> bool {
        true
    }
    fn rank(&self, j: &JobView) -> f64 {
        j.admitted as f64
    }
}

//! GPU sharing after Salus: GPU memory cut into a persistent region and ephemeral lanes, jobs
//! admitted into lanes, and a policy choosing, at iteration boundaries, which member of each
//! lane runs next. Lanes run concurrently on the shared-GPU rate model.
//!
//! - [`lanes`]: lane modes and the lane assignment (corrected, and the literal one for tests).
//! - [`policies`]: the iteration policies and the baselines, one plug-in shape.
//! - [`sim`]: the event simulator; it writes an event log.
//! - [`check`]: the family's checker: replays the log and re-derives every figure.
//! - [`family`]: the family's cells for the one runner; [`sweep`]: `bench salus`.
//! - [`corun`]: measured co-run slowdowns of tenant pairs on a real GPU.

pub mod check;
pub mod corun;
pub mod family;
pub mod gpu_profile;
pub mod gpu_run;
pub mod lanes;
pub mod log;
pub mod policies;
pub mod sim;
pub mod sweep;

pub use lanes::LaneMode;
pub use log::{Event, EventLog};
pub use sim::{simulate, Config};

/// How the admitted jobs share the GPU.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Execution {
    /// Each lane runs one iteration at a time; lanes run concurrently (the fluid rate model).
    Lanes,
    /// Every admitted job with work time-slices the GPU (one context at a time, a quantum and
    /// a switch cost each turn), in the fluid limit of round-robin quanta.
    TimeSlice,
    /// One job owns the GPU at a time; the others wait outside its memory.
    Exclusive,
}

/// What a policy sees of a job when it ranks the members of a lane (or, exclusive, the queue).
#[derive(Debug, Clone, Copy)]
pub struct JobView {
    /// Order of admission (FIFO's key); arrival order for a job not yet admitted.
    pub admitted: usize,
    pub submit_s: f64,
    /// Standalone duration minus the wall time of its finished iterations, ms (with
    /// `--srtf remaining-iterations`: its remaining iterations × iteration time).
    pub remaining_ms: f64,
    /// Wall time of its finished iterations, ms.
    pub service_ms: f64,
    /// Iterations finished since its lane's membership last changed.
    pub since_change: u64,
}

/// An iteration policy or a baseline: how jobs are admitted, how they share the GPU, and which
/// runs next. Adding one: a type implementing this and one line in the registry.
pub trait SharingPolicy: Sync {
    fn name(&self) -> &'static str;
    fn summary(&self) -> &'static str;
    /// Its lane mode when `--lanes` is not given.
    fn lanes(&self) -> LaneMode;
    /// Whether the lane mode is part of the method (`--lanes` does not apply).
    fn lanes_fixed(&self) -> bool {
        false
    }
    fn execution(&self) -> Execution {
        Execution::Lanes
    }
    /// Lower runs first; ties by admission order.
    fn rank(&self, j: &JobView) -> f64;
    /// Whether a job of lower rank preempts the running one at an iteration boundary, paying
    /// a checkpoint (exclusive execution only).
    fn checkpoints(&self) -> bool {
        false
    }
}

/// The objective kind of the family's rows.
pub const OBJECTIVE: &str = "salus";

//! The executor's issue model: what `bench validate` should measure for a plan if every
//! operator took its profiled GPU time and every launch its profiled host time, issued the way
//! the executor issues them: one host thread per GPU issuing its tasks in plan order, a thread
//! waiting until a producer on another GPU has been issued, a copy per cross-GPU input on the
//! receiving GPU's copy stream holding that GPU while it streams, pipelines with their lags
//! ([`eager`]); and under graph replay the executor's segments, each later one paying a graph
//! launch, HIOS stages by the stage formula scaled to the measured concurrency efficiency, and
//! the calibration's gain lost by the fork share on a GPU whose sample forks ([`replay`]).
//!
//! Each operator costs between its warm and cold time by the share of a working set that
//! cannot stay in L2. What each rule rests on, measured, is in `docs/gpu.md` and
//! `results/gpu/FINDINGS.md`; what is left out on purpose: contention between streams of one
//! GPU in eager runs, the order of operators' effect on the cache, the host cost of event
//! records and waits, host threads slowing each other, and the mailbox ring's limit.

mod eager;
mod replay;
#[cfg(test)]
mod tests;

pub use eager::predict;
use eager::*;
use replay::*;
pub use replay::{concurrent_stages, graphs_per_sample, predict_steady, replay_timeline};

use super::concurrency::ByGroups;
use super::plan::{copy_hold, Dep, Plan, Work};
use super::{Mode, SegmentTimes};

/// Per-task costs, in milliseconds.
#[derive(Debug, Clone)]
pub struct Costs {
    /// GPU time of each task.
    pub gpu_ms: Vec<f64>,
    /// Host time to issue each task (0 under graph replay).
    pub host_ms: Vec<f64>,
    /// A copy between GPUs: `alpha_ms + bytes / bytes_per_ms` on the GPU.
    pub copy_alpha_ms: f64,
    pub copy_bytes_per_ms: f64,
    /// A copy queued behind another on its copy stream ends `queued_alpha_ms + bytes /
    /// bytes_per_ms` after the one before it (where its own latency is not later); `None`:
    /// `copy_alpha_ms`, copies back to back.
    pub copy_queued_alpha_ms: Option<f64>,
    /// Host time to launch one copy kernel.
    pub copy_host_ms: f64,
    /// Latency of an exchange between GPUs beyond its copy, before the copy starts.
    pub exchange_ms: f64,
    /// Share of its GPU each task occupies alone (0: overlaps freely with anything).
    pub occupancy: Vec<f64>,
    /// Copies between GPUs hold their share of the receiving GPU while they run
    /// (`plan::copy_hold`), slowing the compute they overlap.
    pub copies_hold: bool,
    /// Each sample replayed as CUDA graphs: pipelines then stream without lags, as the
    /// executor runs them.
    pub replay: bool,
    /// What a sample run alone costs beyond its GPU time (the host's launches of its graphs,
    /// waking up when they end): added to each one-sample prediction under graph replay.
    pub sample_overhead_ms: f64,
    /// Under graph replay, what a stage of several groups costs per group beyond the first
    /// (forking the stream and joining it again).
    pub fork_join_ms: f64,
    /// Under graph replay, what each segment of a GPU's share of a sample beyond its first
    /// costs before it starts (one more graph launched after the one before it has ended).
    pub segment_ms: f64,
    /// Under graph replay, per task, the share of the stage formula's gain over one stream
    /// that the groups of its stage get (`concurrency`: 1 is the formula, 0 one stream).
    pub concurrency: Vec<ByGroups>,
    /// Under graph replay, what the operators of a GPU whose sample leaves its one stream take
    /// against their calibrated times — a GPU with a stage of several groups, and every GPU of
    /// a sample run alone over several: `1 + fork_share × (1 / scale − 1)`, the share of the
    /// calibration's gain that `bench calibrate --forked` measured a forking GPU to lose (all
    /// of it, the times as profiled, where not measured). An exchange with another GPU loses
    /// about the same share as a fork (module doc).
    pub forked_factor: f64,
}

impl Costs {
    /// Costs of a busy-kernel plan: each task spins its time; launches and the small copies
    /// carrying dependencies are left at 0 (microseconds against tasks of milliseconds).
    pub fn of_busy(plan: &Plan) -> Costs {
        let gpu_ms = plan.tasks.iter().map(|t| if let Work::Busy { ms } = t.work { ms } else { 0.0 }).collect();
        Costs {
            gpu_ms,
            host_ms: vec![0.0; plan.tasks.len()],
            copy_alpha_ms: 0.0,
            copy_bytes_per_ms: f64::INFINITY,
            copy_queued_alpha_ms: None,
            copy_host_ms: 0.0,
            exchange_ms: 0.0,
            occupancy: vec![0.0; plan.tasks.len()],
            copies_hold: false,
            replay: false,
            sample_overhead_ms: 0.0,
            fork_join_ms: 0.0,
            segment_ms: 0.0,
            concurrency: vec![[1.0; super::concurrency::WIDEST - 1]; plan.tasks.len()],
            forked_factor: 1.0,
        }
    }

    /// Costs of a plan of real kernels from per-operator measurements (`ops`) on `devices`
    /// GPUs run as `mode`; busy tasks (graph inputs) cost what they spin. `link`: what an
    /// exchange between GPUs costs (free when none was measured). `graphs`: each sample is
    /// replayed as graphs, no per-operator issue.
    pub fn of_ops(
        plan: &Plan,
        ops: &OpCosts,
        link: Option<Exchange>,
        graphs: bool,
        devices: usize,
        mode: Mode,
    ) -> Costs {
        let n = plan.tasks.len();
        let miss = ops.miss_by_gpu(plan, devices.max(1), mode == Mode::Latency);
        let mut gpu_ms = Vec::with_capacity(n);
        let mut host_ms = Vec::with_capacity(n);
        let mut occupancy = Vec::with_capacity(n);
        let mut concurrency = Vec::with_capacity(n);
        for t in &plan.tasks {
            concurrency.push(ops.concurrency(miss.as_ref().map(|m| m[t.gpu % devices.max(1)])));
            let (g, h, u) = match t.work {
                Work::Op { op } => (
                    ops.gpu_ms(op, miss.as_ref().map(|m| m[t.gpu % devices.max(1)])),
                    ops.host_ms.get(op).copied().unwrap_or(0.0),
                    ops.occupancy(op, miss.as_ref().map(|m| m[t.gpu % devices.max(1)])),
                ),
                Work::Busy { ms } => (ms, 0.0, 0.0),
            };
            gpu_ms.push(g);
            host_ms.push(if graphs { 0.0 } else { h });
            occupancy.push(u);
        }
        // The cheapest measured launch stands for a copy kernel's.
        let cheapest = ops.host_ms.iter().copied().filter(|&h| h > 0.0).fold(f64::INFINITY, f64::min);
        let copy_host_ms = if graphs || !cheapest.is_finite() { 0.0 } else { cheapest };
        let x = link.unwrap_or(Exchange {
            alpha_ms: 0.0,
            bytes_per_ms: f64::INFINITY,
            latency_ms: 0.0,
            queued_alpha_ms: None,
        });
        Costs {
            gpu_ms,
            host_ms,
            copy_alpha_ms: x.alpha_ms,
            copy_bytes_per_ms: x.bytes_per_ms,
            copy_queued_alpha_ms: x.queued_alpha_ms,
            copy_host_ms,
            exchange_ms: x.latency_ms,
            occupancy,
            copies_hold: true,
            replay: graphs,
            sample_overhead_ms: if graphs { ops.sample_overhead_ms } else { 0.0 },
            fork_join_ms: if graphs { ops.fork_join_ms } else { 0.0 },
            segment_ms: if graphs { ops.segment_ms } else { 0.0 },
            concurrency,
            forked_factor: if graphs { 1.0 + ops.fork_share * (1.0 / ops.calibration_scale - 1.0) } else { 1.0 },
        }
    }
}

/// Per-operator measurements of a profiled workload (its provenance).
#[derive(Debug, Clone, Default)]
pub struct OpCosts {
    /// The GPU time the workload charges.
    pub charged_ms: Vec<f64>,
    /// Warm and cold GPU times and the L2 size, where the profile measured them.
    pub warm_ms: Option<Vec<f64>>,
    pub cold_ms: Option<Vec<f64>>,
    pub l2_bytes: Option<f64>,
    pub host_ms: Vec<f64>,
    pub occupancy: Option<Vec<Option<f64>>>,
    /// The same measured cold (`TOGETHER` copies after an L2 flush), where measured.
    pub occupancy_cold: Option<Vec<Option<f64>>>,
    /// Beyond its GPU time, what one sample run alone costs under graph replay
    /// (`bench calibrate`; 0 where not measured).
    pub sample_overhead_ms: f64,
    /// What a graph replay pays per stage and group beyond the first for forking into
    /// parallel streams and joining them (`bench profile`; 0 where not measured).
    pub fork_join_ms: f64,
    /// What a graph replay pays per graph launched after another on a GPU's stream (`bench
    /// profile`; 0 where not measured).
    pub segment_ms: f64,
    /// The concurrency efficiency of operators beside their peers by a stage's group count,
    /// warm and cold (`bench profile`; `None` where not measured: the stage formula as it is).
    pub concurrency: Option<ByGroups>,
    pub concurrency_cold: Option<ByGroups>,
    /// What `bench calibrate` multiplied every GPU time by (1: as profiled).
    pub calibration_scale: f64,
    /// The share of the calibration's gain a GPU loses when its sample forks into parallel
    /// streams (`bench calibrate --forked`; 1 where not measured).
    pub fork_share: f64,
}

impl OpCosts {
    /// Per GPU, the share of a working set (fp32 weights and outputs of operators) that does
    /// not fit in L2: `max(0, 1 - L2 / working set)`, the share of reads that miss when a sample
    /// streams through it all; the working set is the operators placed on that GPU
    /// (`per_gpu`) or all of the plan's. `None` without warm and cold times.
    fn miss_by_gpu(&self, plan: &Plan, devices: usize, per_gpu: bool) -> Option<Vec<f64>> {
        let (l2, g) = (self.l2_bytes?, plan.graph.as_ref()?);
        self.warm_ms.as_ref().zip(self.cold_ms.as_ref())?;
        let mut set = vec![0.0f64; devices];
        for t in &plan.tasks {
            if let Work::Op { op } = t.work {
                set[t.gpu % devices] +=
                    ((g.ops[op].params + g.ops[op].numel()) * super::plan::ELEMENT_BYTES as u64) as f64;
            }
        }
        let total: f64 = set.iter().sum();
        let miss = |s: f64| if s > 0.0 { super::miss_share(l2, if per_gpu { s } else { total }) } else { 0.0 };
        Some(set.into_iter().map(miss).collect())
    }

    /// Operator `op`'s share of its GPU when its reads miss L2 at rate `miss`: between the
    /// warm and the cold measurement as its time is, the warm one where only that was measured,
    /// 0 (overlaps freely) where none was.
    fn occupancy(&self, op: usize, miss: Option<f64>) -> f64 {
        let at = |u: &Option<Vec<Option<f64>>>| u.as_ref().and_then(|u| u.get(op).copied().flatten());
        let cold = miss.and(at(&self.occupancy_cold));
        super::mix_warm_cold(at(&self.occupancy), cold, miss.unwrap_or(0.0)).unwrap_or(0.0)
    }

    /// The concurrency efficiency on a GPU whose reads miss L2 at rate `miss`: between the warm
    /// and the cold one as operators' times are; the warm one where only that was measured, 1
    /// (the stage formula) where none was.
    fn concurrency(&self, miss: Option<f64>) -> ByGroups {
        let cold = miss.and(self.concurrency_cold);
        std::array::from_fn(|k| {
            let (w, c) = (self.concurrency.map(|e| e[k]), cold.map(|e| e[k]));
            super::mix_warm_cold(w, c, miss.unwrap_or(0.0)).unwrap_or(1.0)
        })
    }

    /// Operator `op`'s time on a GPU whose reads miss L2 at rate `miss`: between its warm and
    /// cold times; the charged time where those were not measured.
    fn gpu_ms(&self, op: usize, miss: Option<f64>) -> f64 {
        match (miss, &self.warm_ms, &self.cold_ms) {
            (Some(m), Some(w), Some(c)) => super::warm_cold(w[op], c[op], m),
            _ => self.charged_ms.get(op).copied().unwrap_or(0.0),
        }
    }
}

/// What an exchange between GPUs costs: a copy of `alpha_ms + bytes / bytes_per_ms`, after a
/// latency of `latency_ms` (as measured for the launch mode of the run).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Exchange {
    pub alpha_ms: f64,
    pub bytes_per_ms: f64,
    pub latency_ms: f64,
    /// A queued copy's α (`Costs::copy_queued_alpha_ms`), where measured.
    pub queued_alpha_ms: Option<f64>,
}

/// What the issue model predicts for a plan, per sample.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Prediction {
    /// Time per sample, as the executor times it.
    pub per_sample_ms: f64,
    /// Host time of the busiest GPU thread (issuing and waiting for other threads), as the
    /// executor's `issue_ms_per_sample` measures it.
    pub host_ms: f64,
}

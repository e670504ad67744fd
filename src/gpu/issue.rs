//! The executor's issue model: what `bench validate` should measure for a plan if every
//! operator took its profiled GPU time and every launch its profiled host time, issued the way
//! the executor issues them. The workload's own model (max-load, latency, the HIOS simulator)
//! knows nothing of the host; at batch 1 the host sets the pace of eager launches, so this
//! model adds what the executor does: one host thread per GPU issuing that GPU's tasks in plan
//! order (across all its streams), a thread waiting until a producer on another GPU has been
//! issued before it can wait on its event, a copy kernel per cross-GPU input on the receiving
//! GPU's one copy stream (copies overlap compute, not each other), and in pipelines
//! each task its lag behind (`Plan::pipeline_lags`). A kernel starts when it has been issued,
//! its stream is free and its inputs are done.
//!
//! A copy from another GPU holds the receiving GPU while it streams (`plan::copy_hold`:
//! measured, compute beside it loses 89–100% of the overlap whatever the copy's block count),
//! so it pushes back the work it overlaps there. An exchange could also cost a latency beyond
//! its copy (`exchange_ms`, from `bench profile`'s ping-pong through the executor; measured 0
//! on H200s). Where `bench links` measured the executor's exchanges (`bench calibrate
//! --links`), a graph-replayed copy costs what they took instead of the link fit's α, an
//! event-timed copy alone: a hop of the ping-pong less the graph launch charged apart (3.1–4.2
//! µs on 2×H200 with the calibrated launch costs of 1.8–2.9 µs, against α 7.4–7.8), and each
//! copy queued behind another on the copy stream one slot more (5.9 µs). No committed
//! profile carries it: with it, the runs with an exchange each way every 8 stages came within
//! 3% for four models (from 3–8% pessimistic), but NASNet-A Mobile's and RandWire's there and
//! their intra schedules over two GPUs went 10–16% optimistic — where their stages, shorter than
//! a round trip, wait for an exchange, it costs more than the hop says, and the link fit's
//! larger α had hidden it (`results/gpu/h200x2-links/`). Returning 16 stages on instead, off the
//! critical path, the same branches every 8 stages are within 3% without it
//! (`results/gpu/h200x2-remote-return/`).
//!
//! Each operator costs between its warm and cold time by the share of a working set that
//! cannot stay in L2, and its occupancy likewise between the warm and the cold measurement.
//! One sample at a time, the working set is its GPU's (a GPU that holds a small enough part of
//! the model keeps its weights there from sample to sample); in a pipeline it is the whole
//! model's, as on the one GPU the calibration ran: the pipelines over 2 and 4 GPUs ran within
//! 0–4.7% of the calibrated max-load, which charges the whole model's share, while each GPU's
//! own share took 3–4 points (2 GPUs) and 5–7 (4 GPUs) more off and left 7 of the 20 beyond
//! 10% — with samples in flight and their activations and copies passing through, a GPU's part
//! of the model does not stay in L2 (a rule chosen on those rows, then held out: ResNet-50's
//! pipelines, never run before, and BERT-base's again within 1.8%,
//! `results/gpu/h200x2-pipelines-check/`).
//!
//! Under graph replay the model follows the executor's segments
//! (`Plan::segments`), each GPU's later segments of a sample paying a graph launch
//! (`segment_ms`: measured by `bench profile` with one-kernel graphs, or by `bench calibrate
//! --cuts` from the model's own graphs replayed whole and cut), and runs each HIOS stage
//! inside them by the stage formula ([`crate::hios::shared_stage_time`] from the operators'
//! measured occupancies) scaled to the share of its gain that operators beside their peers got
//! (`concurrency`), plus the measured fork and join per extra stream; a sample run alone adds
//! the sample overhead that `bench calibrate` measured (launching the graphs, waking when they
//! end).
//!
//! The calibration's scale holds what a model gains on one stream (its data flowing from
//! producer to consumer through L2, each kernel queued behind the one before), and part of it
//! is lost on a GPU whose sample forks into parallel streams, by its one-group stages too: the
//! one-device placements with a one-microsecond side branch forked every 8 stages
//! (`bench validate --side-branches 8`, `results/gpu/{h100,h200}-side-branches/`) lost 33–87%
//! of the gain on an H100 and 48–100% on an H200 beyond the forks' own cost, while one side
//! branch alone cost nothing measurable. `bench calibrate --forked` measures that share per
//! profile; a GPU with a stage of several groups runs all its operators at `forked_factor`
//! (all of the gain lost where the share was not measured). So does every GPU of a sample
//! replayed alone over several GPUs: one exchange each way with another GPU
//! (`bench validate --remote-branches`, `results/gpu/h200x2-remote-branches/`) cost the six
//! 2×H200 profiles 0.58–1.24 of the gain beyond its two graphs, within 0.22 of each one's fork
//! share (0.48–1.05); returning 16 stages on, where NASNet-A Mobile's and RandWire's short
//! stages no longer wait for it, 0.50–1.02, within 0.11. Before, such a sample ran at the profiled times, all the gain lost: traced
//! segment by segment (`bench validate --trace`), its segments took their predicted time times
//! 1.12–1.25 (1.12 for Inception-v3; the others' traces also ran the add kernels that executors
//! before 9f3f529 added beyond the plan), while the same model cut into as many graphs on one
//! GPU (`--cut-every`) kept its calibrated speed; the fork share brought the two-GPU rows of
//! those profiles from a median |error| of 5.6% to 1.9% (rows re-measured since without the
//! extra adds: all within 10%). Without the copy path (`--no-copies`) the segments ran faster; with
//! a copy by the copy engine (`--copy-engine`) or issued only once its producer was done
//! (`--host-polled-imports`) they did not (`results/gpu/h200x2-copy-path/`, README "Real
//! GPUs"). Why forks and exchanges cost a GPU its calibrated speed is not known.
//! Pipelines over several GPUs keep the calibrated times: Inception-v3's two-GPU pipelines run
//! within 1.3% of them.
//!
//! Left out, on purpose: contention between concurrent streams of one GPU in eager runs (they
//! overlap freely there), the order of operators' effect on the cache, the host cost of event
//! records and waits, host threads slowing each other, and the mailbox ring's limit on how far
//! a producer runs ahead.

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
    pub concurrency: Vec<f64>,
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
            concurrency: vec![1.0; plan.tasks.len()],
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
    /// The concurrency efficiency of operators beside their peers, warm and cold (`bench
    /// profile`; `None` where not measured: the stage formula as it is).
    pub concurrency: Option<f64>,
    pub concurrency_cold: Option<f64>,
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
        let miss = |s: f64| if s > 0.0 { (1.0 - l2 / if per_gpu { s } else { total }).max(0.0) } else { 0.0 };
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
    fn concurrency(&self, miss: Option<f64>) -> f64 {
        let cold = miss.and(self.concurrency_cold);
        super::mix_warm_cold(self.concurrency, cold, miss.unwrap_or(0.0)).unwrap_or(1.0)
    }

    /// Operator `op`'s time on a GPU whose reads miss L2 at rate `miss`: between its warm and
    /// cold times; the charged time where those were not measured.
    fn gpu_ms(&self, op: usize, miss: Option<f64>) -> f64 {
        match (miss, &self.warm_ms, &self.cold_ms) {
            (Some(m), Some(w), Some(c)) => w[op] + m * (c[op] - w[op]),
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

/// How the executor wires a plan on `devices` GPUs: each task's GPU and lane (one stream per
/// logical GPU and stream), and its imports: one per producer on another GPU and consuming
/// lane, made by the lane's first consumer (`(import id, whether this task makes it)` per
/// cross-GPU dependency, in dependency order).
struct Wiring {
    gpu: Vec<usize>,
    lane: Vec<usize>,
    lanes: usize,
    /// The GPU of each lane.
    lane_gpu: Vec<usize>,
    imports: Vec<Vec<(usize, bool)>>,
    count: usize,
}

impl Wiring {
    fn of(plan: &Plan, devices: usize) -> Wiring {
        let tasks = &plan.tasks;
        let gpu: Vec<usize> = tasks.iter().map(|t| t.gpu % devices).collect();
        let (lane, lane_gpu) = plan.lanes(devices);
        let mut import_of: std::collections::HashMap<(usize, usize), usize> = Default::default();
        let imports = (0..tasks.len())
            .map(|t| {
                let cross = tasks[t].deps.iter().filter(|d| gpu[d.task] != gpu[t]);
                cross
                    .map(|d| {
                        let next = import_of.len();
                        let id = *import_of.entry((d.task, lane[t])).or_insert(next);
                        (id, id == next)
                    })
                    .collect()
            })
            .collect();
        Wiring { gpu, lane, lanes: lane_gpu.len(), lane_gpu, imports, count: import_of.len() }
    }

    /// The cross-GPU dependencies of task `t`, each with its import.
    fn cross<'a>(&'a self, plan: &'a Plan, t: usize) -> impl Iterator<Item = (&'a Dep, (usize, bool))> + 'a {
        plan.tasks[t].deps.iter().filter(move |d| self.gpu[d.task] != self.gpu[t]).zip(self.imports[t].iter().copied())
    }
}

/// A copy onto a GPU: when it ran, and the share of the GPU it held.
struct Copy {
    start: f64,
    end: f64,
    occupancy: f64,
}

impl Copy {
    /// Pushes back work on the GPU that would have ended at `busy_until`: by the copy's share
    /// of the GPU for as long as the two overlapped (a copy is a kernel on the receiving GPU,
    /// and a large one holds every SM while it runs).
    fn delay(&self, busy_until: f64) -> f64 {
        busy_until + self.occupancy * (busy_until.min(self.end) - self.start).max(0.0)
    }
}

/// When a copy of `bytes` sent at `sent` has arrived on a GPU whose copy stream is free at
/// `copy_free` (updated): after its own latency and α from when it was sent, or one queued
/// copy's slot after the copy before it, whichever is later.
fn arrival(costs: &Costs, copy_free: &mut f64, host: f64, sent: f64, bytes: usize) -> Copy {
    let sent = sent + costs.exchange_ms;
    if bytes == 0 {
        return Copy { start: sent, end: sent, occupancy: 0.0 };
    }
    let streaming = bytes as f64 / costs.copy_bytes_per_ms;
    let alone = host.max(sent);
    let start = alone.max(*copy_free);
    *copy_free = (alone + costs.copy_alpha_ms + streaming)
        .max(*copy_free + costs.copy_queued_alpha_ms.unwrap_or(costs.copy_alpha_ms) + streaming);
    Copy { start, end: *copy_free, occupancy: if costs.copies_hold { copy_hold(bytes) } else { 0.0 } }
}

/// The issue model's prediction for `plan` run as `bench validate` runs it on `devices` GPUs:
/// one sample start to finish (`Mode::Latency`), or `samples` samples streamed through and
/// the whole stream's time divided by them (`Mode::Pipeline`, as the executor times a round).
pub fn predict(plan: &Plan, costs: &Costs, mode: Mode, devices: usize, samples: usize) -> Prediction {
    let devices = devices.max(1);
    let samples = if mode == Mode::Latency { 1 } else { samples.max(1) };
    if costs.replay {
        let mut p = predict_replay(plan, costs, devices, samples, mode == Mode::Latency, None);
        if mode == Mode::Latency {
            p.per_sample_ms += costs.sample_overhead_ms;
        }
        return p;
    }
    let tasks = &plan.tasks;
    let n = tasks.len();
    let lags = if mode == Mode::Pipeline { plan.pipeline_lags() } else { vec![0; n] };
    let max_lag = lags.iter().copied().max().unwrap_or(0);
    let w = Wiring::of(plan, devices);
    let mut imported = vec![0.0f64; w.count * samples];
    let mut host = vec![0.0f64; devices];
    let mut lane_free = vec![0.0f64; w.lanes];
    let mut copy_free = vec![0.0f64; devices];
    let mut issued = vec![0.0f64; n * samples];
    let mut done = vec![0.0f64; n * samples];
    let at = |t: usize, q: usize| t * samples + q;
    let mut makespan = 0.0f64;
    // Steps in order, tasks in plan order within a step: every producer's times are known
    // before its consumer's (a producer's lag is never larger than its consumer's).
    for step in 0..samples + max_lag {
        for t in 0..n {
            let Some(q) = step.checked_sub(lags[t]).filter(|&q| q < samples) else { continue };
            let (g, l) = (w.gpu[t], w.lane[t]);
            let mut ready = 0.0f64;
            for d in tasks[t].deps.iter().filter(|d| w.gpu[d.task] == g) {
                ready = ready.max(done[at(d.task, q)]);
            }
            for (d, (id, first)) in w.cross(plan, t) {
                let (u, slot) = (d.task, id * samples + q);
                if first {
                    // Import: the host waits until the producer is issued; the copy runs on
                    // the receiving GPU's copy stream, off the compute streams.
                    host[g] = host[g].max(issued[at(u, q)]);
                    if d.bytes > 0 {
                        host[g] += costs.copy_host_ms;
                    }
                    let copy = arrival(costs, &mut copy_free[g], host[g], done[at(u, q)], d.bytes);
                    for (l, free) in lane_free.iter_mut().enumerate() {
                        if w.lane_gpu[l] == g {
                            *free = copy.delay(*free);
                        }
                    }
                    imported[slot] = copy.end;
                }
                ready = ready.max(imported[slot]);
            }
            host[g] += costs.host_ms[t];
            issued[at(t, q)] = host[g];
            let end = host[g].max(lane_free[l]).max(ready) + costs.gpu_ms[t];
            lane_free[l] = end;
            done[at(t, q)] = end;
            makespan = makespan.max(end);
        }
    }
    // The executor's clock also waits for the host threads to finish issuing.
    let busiest = host.iter().copied().fold(0.0, f64::max);
    Prediction { per_sample_ms: makespan.max(busiest) / samples as f64, host_ms: busiest / samples as f64 }
}

/// The executor's segments of a graph-replayed sample (`Plan::segments`), GPU by GPU, each
/// with its GPU.
fn segments_of(plan: &Plan, w: &Wiring, devices: usize) -> Vec<(usize, Vec<usize>)> {
    let n = plan.tasks.len();
    let mut exports = vec![false; n];
    for t in 0..n {
        for (d, (_, first)) in w.cross(plan, t) {
            exports[d.task] |= first;
        }
    }
    let mut segments = Vec::new();
    for g in 0..devices {
        let mine: Vec<usize> = (0..n).filter(|&t| w.gpu[t] == g).collect();
        for cut in plan.segments(&mine, |t| w.imports[t].iter().any(|i| i.1), |t| exports[t]) {
            segments.push((g, cut));
        }
    }
    segments
}

/// Per GPU, the stages of several groups (lanes) among `segments`.
fn concurrent_stages_of(plan: &Plan, w: &Wiring, segments: &[(usize, Vec<usize>)], devices: usize) -> Vec<usize> {
    let mut count = vec![0; devices];
    for (g, members) in segments {
        count[*g] += members
            .chunk_by(|&a, &b| plan.tasks[a].stage == plan.tasks[b].stage)
            .filter(|stage| stage.iter().any(|&t| w.lane[t] != w.lane[stage[0]]))
            .count();
    }
    count
}

/// Per GPU, the stages of several groups a sample of `plan` replays on `devices` GPUs (each a
/// fork into parallel streams and a join).
pub fn concurrent_stages(plan: &Plan, devices: usize) -> Vec<usize> {
    let devices = devices.max(1);
    let w = Wiring::of(plan, devices);
    concurrent_stages_of(plan, &w, &segments_of(plan, &w, devices), devices)
}

/// Per GPU, the graphs a sample of `plan` replays as on `devices` GPUs.
pub fn graphs_per_sample(plan: &Plan, devices: usize) -> Vec<usize> {
    let devices = devices.max(1);
    let mut count = vec![0; devices];
    for (g, _) in segments_of(plan, &Wiring::of(plan, devices), devices) {
        count[g] += 1;
    }
    count
}

/// Graph replay: each GPU's share of a sample runs as segments (`Plan::segments`), one graph
/// each on the GPU's first stream, one after another; a segment starts when the one before
/// has ended and its imports have arrived, runs its stages one after another (a stage's
/// groups together, by their occupancies), and what it exports leaves when all of it has
/// ended. Launches cost the host nothing here; forking a stage into parallel streams and
/// joining them costs `fork_join_ms` per group beyond the first. A GPU with a stage of several
/// groups runs all its operators at `forked_factor`, and so does every GPU when the sample
/// runs `alone` (one at a time) over several.
fn predict_replay(
    plan: &Plan,
    costs: &Costs,
    devices: usize,
    samples: usize,
    alone: bool,
    timeline: Option<&mut Vec<SegmentTimes>>,
) -> Prediction {
    let n = plan.tasks.len();
    let w = Wiring::of(plan, devices);
    let segments = segments_of(plan, &w, devices);
    let mut segment_of = vec![0usize; n];
    for (i, (_, cut)) in segments.iter().enumerate() {
        for &t in cut {
            segment_of[t] = i;
        }
    }
    let several_gpus = (0..devices).filter(|&g| segments.iter().any(|s| s.0 == g)).count() > 1;
    // An order of segments in which every segment follows those it waits for: the one before
    // it on its GPU and those its imports come from.
    let m = segments.len();
    let mut waits_for: Vec<Vec<usize>> = vec![Vec::new(); m];
    for (i, (g, members)) in segments.iter().enumerate() {
        if let Some(prev) = (0..i).rev().find(|&j| segments[j].0 == *g) {
            waits_for[i].push(prev);
        }
        for &t in members {
            waits_for[i].extend(w.cross(plan, t).map(|(d, _)| segment_of[d.task]));
        }
    }
    let mut order = Vec::with_capacity(m);
    let mut placed = vec![false; m];
    while order.len() < m {
        let before = order.len();
        for i in 0..m {
            if !placed[i] && waits_for[i].iter().all(|&j| placed[j] || j == i) {
                placed[i] = true;
                order.push(i);
            }
        }
        if order.len() == before {
            // Segments that wait on each other across GPUs: the executor would never finish.
            return Prediction { per_sample_ms: f64::INFINITY, host_ms: 0.0 };
        }
    }
    // What each GPU's operators take against their calibrated times: the forked factor where
    // its sample leaves one stream (a stage of several groups, or exchanges of a sample run
    // alone over several GPUs); else the calibrated times.
    let forked = concurrent_stages_of(plan, &w, &segments, devices);
    let factor_of: Vec<f64> = (0..devices)
        .map(|g| if (alone && several_gpus) || forked[g] > 0 { costs.forked_factor } else { 1.0 })
        .collect();
    let mut prev_end = vec![0.0f64; devices];
    let mut copy_free = vec![0.0f64; devices];
    let mut imported = vec![0.0f64; w.count];
    let mut done = vec![0.0f64; n];
    let mut segment_end = vec![0.0f64; m];
    let mut times: Vec<SegmentTimes> = segments
        .iter()
        .enumerate()
        .map(|(i, (g, members))| SegmentTimes {
            gpu: *g,
            index: segments[..i].iter().filter(|s| s.0 == *g).count(),
            tasks: members.len(),
            ready_ms: 0.0,
            end_ms: 0.0,
            copies_ms: Vec::new(),
            copies_from: Vec::new(),
        })
        .collect();
    for _ in 0..samples {
        let mut launched = vec![false; devices];
        for &i in &order {
            let (g, members) = &segments[i];
            let mut start = prev_end[*g];
            times[i].copies_ms.clear();
            times[i].copies_from.clear();
            for &t in members {
                for (d, (id, first)) in w.cross(plan, t) {
                    if first {
                        let sent = segment_end[segment_of[d.task]];
                        let copy = arrival(costs, &mut copy_free[*g], 0.0, sent, d.bytes);
                        prev_end[*g] = copy.delay(prev_end[*g]);
                        start = start.max(prev_end[*g]);
                        imported[id] = copy.end;
                        if d.bytes > 0 {
                            let from = segment_of[d.task];
                            let from = [segments[from].0, times[from].index];
                            times[i].copies_ms.push([copy.start, copy.end]);
                            times[i].copies_from.push(from);
                        }
                    }
                    start = start.max(imported[id]);
                }
            }
            times[i].ready_ms = start;
            // A GPU's later graphs of the sample each start a launch after what they wait for.
            if std::mem::replace(&mut launched[*g], true) {
                start += costs.segment_ms;
            }
            // Stage after stage; a stage's groups (its lanes) share the GPU by occupancy.
            let mut end = start;
            for stage in members.chunk_by(|&a, &b| plan.tasks[a].stage == plan.tasks[b].stage) {
                let ready = stage
                    .iter()
                    .flat_map(|&t| plan.tasks[t].deps.iter().filter(|d| w.gpu[d.task] == *g))
                    .map(|d| if stage.contains(&d.task) { end } else { done[d.task] })
                    .fold(end, f64::max);
                let mut groups: Vec<(usize, f64, f64)> = Vec::new();
                for &t in stage {
                    let (ms, u) = (costs.gpu_ms[t], costs.occupancy[t]);
                    match groups.iter_mut().find(|x| x.0 == w.lane[t]) {
                        Some(x) => (x.1, x.2) = (x.1 + ms, x.2 + ms * u),
                        None => groups.push((w.lane[t], ms, ms * u)),
                    }
                }
                let factor = factor_of[*g];
                let gw: Vec<f64> = groups.iter().map(|x| x.1 * factor).collect();
                let gu: Vec<f64> = groups.iter().map(|x| if x.1 > 0.0 { x.2 / x.1 } else { 0.0 }).collect();
                let fork_join = costs.fork_join_ms * groups.len().saturating_sub(1) as f64;
                let efficiency = costs.concurrency[stage[0]];
                end = ready + super::concurrency::stage_time(&gw, &gu, efficiency) + fork_join;
                for &t in stage {
                    done[t] = end;
                }
            }
            segment_end[i] = end;
            times[i].end_ms = end;
            prev_end[*g] = end;
        }
    }
    if let Some(out) = timeline {
        *out = times;
    }
    let makespan = prev_end.iter().copied().fold(0.0, f64::max);
    Prediction { per_sample_ms: makespan / samples as f64, host_ms: 0.0 }
}

/// The segments of one sample of `plan` replayed as graphs on `devices` GPUs, as the issue
/// model times them (`costs.replay` must be set; empty otherwise).
pub fn replay_timeline(plan: &Plan, costs: &Costs, devices: usize) -> Vec<SegmentTimes> {
    let mut out = Vec::new();
    if costs.replay {
        predict_replay(plan, costs, devices.max(1), 1, true, Some(&mut out));
    }
    out
}

/// The issue model's time per sample of a pipeline in steady state, as the executor measures
/// it: streams of `samples` and `2 * samples` samples, and their difference over `samples`.
pub fn predict_steady(plan: &Plan, costs: &Costs, devices: usize, samples: usize) -> Prediction {
    let short = predict(plan, costs, Mode::Pipeline, devices, samples);
    let long = predict(plan, costs, Mode::Pipeline, devices, 2 * samples);
    Prediction {
        per_sample_ms: 2.0 * long.per_sample_ms - short.per_sample_ms,
        host_ms: 2.0 * long.host_ms - short.host_ms,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gpu::plan::Task;

    fn task(gpu: usize, stream: usize, deps: &[usize]) -> Task {
        Task {
            gpu,
            stream,
            work: Work::Busy { ms: 0.0 },
            deps: deps.iter().map(|&task| Dep::input(task, 4)).collect(),
            out_bytes: 4,
            stage: 0,
        }
    }

    /// A plan of `tasks`, each a stage of its own.
    fn plan_of(mut tasks: Vec<Task>) -> Plan {
        for (i, t) in tasks.iter_mut().enumerate() {
            t.stage = i;
        }
        Plan { tasks, graph: None, kernels: "", cut_every: 0 }
    }

    fn costs(gpu: &[f64], host: &[f64]) -> Costs {
        Costs {
            gpu_ms: gpu.to_vec(),
            host_ms: host.to_vec(),
            copy_alpha_ms: 0.0,
            copy_bytes_per_ms: f64::INFINITY,
            copy_queued_alpha_ms: None,
            copy_host_ms: 0.0,
            exchange_ms: 0.0,
            occupancy: vec![0.0; gpu.len()],
            copies_hold: false,
            replay: false,
            sample_overhead_ms: 0.0,
            fork_join_ms: 0.0,
            segment_ms: 0.0,
            concurrency: vec![1.0; gpu.len()],
            forked_factor: 1.0,
        }
    }

    /// A chain on one stream: the host issues ahead of the GPU, so the time is whichever of
    /// the two sums is larger, plus what the other adds at the ends (worked by hand).
    #[test]
    fn one_stream_is_paced_by_the_slower_of_host_and_gpu() {
        let plan = plan_of(vec![task(0, 0, &[]), task(0, 0, &[0]), task(0, 0, &[1])]);
        // Host-bound: issues end at 3, 6, 9; each kernel (1 ms) runs right after its issue.
        assert_eq!(predict(&plan, &costs(&[1.0; 3], &[3.0; 3]), Mode::Latency, 1, 1).host_ms, 9.0);
        assert_eq!(predict(&plan, &costs(&[1.0; 3], &[3.0; 3]), Mode::Latency, 1, 1).per_sample_ms, 10.0);
        // GPU-bound: issued at 1, 2, 3; kernels back to back from 1: ends 4, 7, 10.
        assert_eq!(predict(&plan, &costs(&[3.0; 3], &[1.0; 3]), Mode::Latency, 1, 1).per_sample_ms, 10.0);
        // Two streams of independent work: the GPU overlaps them, the host does not.
        let two = plan_of(vec![task(0, 0, &[]), task(0, 1, &[])]);
        assert_eq!(predict(&two, &costs(&[5.0; 2], &[1.0; 2]), Mode::Latency, 1, 1).per_sample_ms, 7.0);
    }

    /// A copy from another GPU overlaps the compute queued before its consumer: A (1 ms, GPU
    /// 0) feeds C on GPU 1 through a 1 ms copy while B (5 ms) runs there, so C starts at 5, not
    /// after a copy queued behind B at 6.
    #[test]
    fn copies_from_other_gpus_overlap_compute() {
        let plan = plan_of(vec![task(0, 0, &[]), task(1, 0, &[]), task(1, 0, &[0])]);
        let mut c = costs(&[1.0, 5.0, 1.0], &[0.0; 3]);
        c.copy_alpha_ms = 1.0;
        assert_eq!(predict(&plan, &c, Mode::Latency, 2, 1).per_sample_ms, 6.0);
        // An exchange latency of 5 ms delays the copy to 6–7, and C to 7–8.
        c.exchange_ms = 5.0;
        assert_eq!(predict(&plan, &c, Mode::Latency, 2, 1).per_sample_ms, 8.0);
    }

    /// Two consumers on one stream of another GPU share one import, as in the executor: A
    /// (1 ms, GPU 0) feeds B and C (1 ms each, GPU 1, one stream) through one copy of 1 ms
    /// whose launch costs the host 1 ms: the copy runs 1–2, B 2–3, C 3–4, and the host spends
    /// 1 ms, not 2.
    #[test]
    fn consumers_on_one_stream_share_one_import() {
        let plan = plan_of(vec![task(0, 0, &[]), task(1, 0, &[0]), task(1, 0, &[0])]);
        let mut c = costs(&[1.0; 3], &[0.0; 3]);
        c.copy_alpha_ms = 1.0;
        c.copy_host_ms = 1.0;
        assert_eq!(predict(&plan, &c, Mode::Latency, 2, 1).per_sample_ms, 4.0);
        assert_eq!(predict(&plan, &c, Mode::Latency, 2, 1).host_ms, 1.0);
    }

    /// A two-stage pipeline, 1 ms of GPU and no host cost per stage: n samples take n + 1 ms
    /// (fill, then one per ms); on one GPU the stages share a host thread but not a stream.
    #[test]
    fn pipelines_overlap_stages_on_different_gpus() {
        let plan = plan_of(vec![task(0, 0, &[]), task(1, 0, &[0])]);
        let c = costs(&[1.0, 1.0], &[0.0, 0.0]);
        assert_eq!(predict(&plan, &c, Mode::Pipeline, 2, 10).per_sample_ms, 1.1);
        assert_eq!(predict(&plan, &c, Mode::Latency, 2, 10).per_sample_ms, 2.0);
        // Steady state: 20 samples take 21 ms, 10 take 11: 1 ms per sample, the max-load.
        assert!((predict_steady(&plan, &c, 2, 10).per_sample_ms - 1.0).abs() < 1e-12);
    }
    /// Under graph replay each stage of several groups pays the fork and join per group beyond
    /// the first, and a sample run alone the sample overhead: three stages of two one-warp
    /// busy groups of 1 ms (occupancy 0: they overlap fully), fork/join 0.1, overhead 0.5:
    /// 3 × (1 + 0.1) + 0.5 = 3.8 ms alone; the same stages of one group each pay no fork/join.
    #[test]
    fn replay_charges_forks_joins_and_the_sample_overhead() {
        let two = crate::gpu::plan::fork_join(3, 2, 1.0);
        assert_eq!(two.check(), Ok(()));
        assert_eq!(two.lanes(1).1.len(), 2, "two streams");
        let mut c = Costs::of_busy(&two);
        (c.replay, c.fork_join_ms, c.sample_overhead_ms) = (true, 0.1, 0.5);
        assert!((predict(&two, &c, Mode::Latency, 1, 1).per_sample_ms - 3.8).abs() < 1e-12);
        // In a stream of samples (pipelines) the overhead of a sample alone is not paid.
        assert!((predict(&two, &c, Mode::Pipeline, 1, 4).per_sample_ms - 3.3).abs() < 1e-12);
        let one = crate::gpu::plan::fork_join(3, 1, 1.0);
        let mut c = Costs::of_busy(&one);
        (c.replay, c.fork_join_ms, c.sample_overhead_ms) = (true, 0.1, 0.5);
        assert!((predict(&one, &c, Mode::Latency, 1, 1).per_sample_ms - 3.5).abs() < 1e-12);
    }

    /// Graph replay runs a stage as the schedule's model does: on GPU 1 a stage of two groups,
    /// B (5 ms, stream 0) and C (1 ms, stream 1) which needs A (1 ms, GPU 0) through a copy
    /// of 1 ms. Eager, B runs 0–5 while C waits for the copy (1–2) and runs 2–3: 5 ms. Replayed,
    /// the stage starts when its inputs are in, at 2: B ends at 7.
    #[test]
    fn replay_starts_a_stage_when_all_its_inputs_are_in() {
        let mut plan = plan_of(vec![task(0, 0, &[]), task(1, 0, &[]), task(1, 1, &[0])]);
        plan.tasks[2].stage = 1;
        let mut c = costs(&[1.0, 5.0, 1.0], &[0.0; 3]);
        c.copy_alpha_ms = 1.0;
        assert_eq!(predict(&plan, &c, Mode::Latency, 2, 1).per_sample_ms, 5.0);
        c.replay = true;
        assert_eq!(predict(&plan, &c, Mode::Latency, 2, 1).per_sample_ms, 7.0);
    }

    /// ... and its outputs leave when all of it has ended: on GPU 0 a stage of A (1 ms) and B
    /// (4 ms, another stream); C (1 ms, GPU 1) needs A. Eager, C runs 1–2 (4 ms in all);
    /// replayed, A's output leaves at 4 and C runs 4–5. Two samples replayed in a stream: the
    /// second stage of GPU 0 starts at 4, C at 8, done at 9: 4.5 ms per sample.
    #[test]
    fn replay_sends_a_stages_outputs_when_it_ends() {
        let mut plan = plan_of(vec![task(0, 0, &[]), task(0, 1, &[]), task(1, 0, &[0])]);
        plan.tasks[1].stage = 0;
        let mut c = costs(&[1.0, 4.0, 1.0], &[0.0; 3]);
        assert_eq!(predict(&plan, &c, Mode::Latency, 2, 1).per_sample_ms, 4.0);
        c.replay = true;
        assert_eq!(predict(&plan, &c, Mode::Latency, 2, 1).per_sample_ms, 5.0);
        assert_eq!(predict(&plan, &c, Mode::Pipeline, 2, 2).per_sample_ms, 4.5);
    }

    /// A GPU's share of a sample cut into several graphs pays a launch for each after its
    /// first: A (GPU 0) → B (GPU 1) → C (GPU 0), 1 ms each, copies free: GPU 0 runs [A] and
    /// [C] as two graphs, C starts when B's output is in (2 ms) plus 0.25: done at 3.25, where
    /// free launches end at 3. GPU 1's one graph pays nothing, nor do eager runs.
    #[test]
    fn replay_charges_each_later_graph_of_a_gpu_a_launch() {
        let plan = plan_of(vec![task(0, 0, &[]), task(1, 0, &[0]), task(0, 0, &[1])]);
        let mut c = costs(&[1.0, 1.0, 1.0], &[0.0; 3]);
        c.replay = true;
        assert_eq!(predict(&plan, &c, Mode::Latency, 2, 1).per_sample_ms, 3.0);
        c.segment_ms = 0.25;
        assert_eq!(predict(&plan, &c, Mode::Latency, 2, 1).per_sample_ms, 3.25);
        c.replay = false;
        assert_eq!(predict(&plan, &c, Mode::Latency, 2, 1).per_sample_ms, 3.0);
    }

    /// The replay's timeline, segment by segment, worked by hand: A (GPU 0) → B (GPU 1) → C
    /// (GPU 0), 1 ms each, copies of 1 ms, a graph launch of 0.25 ms: GPU 0 runs [A] 0–1; B's
    /// copy 1–2, B 2–3; C's copy 3–4, C ready at 4 and ends at 5.25.
    #[test]
    fn replay_timeline_gives_each_segment_its_times() {
        let plan = plan_of(vec![task(0, 0, &[]), task(1, 0, &[0]), task(0, 0, &[1])]);
        let mut c = costs(&[1.0, 1.0, 1.0], &[0.0; 3]);
        (c.replay, c.copy_alpha_ms, c.segment_ms) = (true, 1.0, 0.25);
        let t = replay_timeline(&plan, &c, 2);
        // Each copy with the segment (GPU, index) it copies from.
        let seg = |gpu, index, ready_ms, end_ms, copies: Vec<([f64; 2], [usize; 2])>| SegmentTimes {
            gpu,
            index,
            tasks: 1,
            ready_ms,
            end_ms,
            copies_ms: copies.iter().map(|c| c.0).collect(),
            copies_from: copies.iter().map(|c| c.1).collect(),
        };
        assert_eq!(
            t,
            vec![
                seg(0, 0, 0.0, 1.0, vec![]),
                seg(0, 1, 4.0, 5.25, vec![([3.0, 4.0], [1, 0])]),
                seg(1, 0, 2.0, 3.0, vec![([1.0, 2.0], [0, 0])])
            ]
        );
        assert_eq!(predict(&plan, &c, Mode::Latency, 2, 1).per_sample_ms, 5.25);
        c.replay = false;
        assert!(replay_timeline(&plan, &c, 2).is_empty(), "eager runs have no segments");
    }

    /// Replayed, a stage's groups share the GPU by occupancy (the schedule model's formula):
    /// A and B (2 ms each, two streams, one stage) at occupancy 0.75 take max(2·0.75 + 2·0.75,
    /// 2) + 0.1 · 0.5 · 2 = 3.1 ms; eager runs overlap them freely: 2 ms.
    #[test]
    fn replayed_stages_share_the_gpu_by_occupancy() {
        let mut plan = plan_of(vec![task(0, 0, &[]), task(0, 1, &[])]);
        plan.tasks[1].stage = 0;
        let mut c = costs(&[2.0, 2.0], &[0.0; 2]);
        c.occupancy = vec![0.75, 0.75];
        assert_eq!(predict(&plan, &c, Mode::Latency, 1, 1).per_sample_ms, 2.0);
        c.replay = true;
        assert!((predict(&plan, &c, Mode::Latency, 1, 1).per_sample_ms - 3.1).abs() < 1e-12);
        // With the occupancy 0.5 the formula gives 2 ms, 2 less than one stream (4 ms); the
        // profile's peers got a quarter of such gains (η = 0.25): 4 − 0.25 · 2 = 3.5 ms.
        c.occupancy = vec![0.5, 0.5];
        c.concurrency = vec![0.25; 2];
        assert!((predict(&plan, &c, Mode::Latency, 1, 1).per_sample_ms - 3.5).abs() < 1e-12);
        // A calibration that made the operators twice as fast on one stream does not hold on a
        // GPU that forks (factor 2): 4 and 4 ms, formula 4, one stream 8: 8 − 0.25 · 4 = 7.
        c.forked_factor = 2.0;
        assert!((predict(&plan, &c, Mode::Latency, 1, 1).per_sample_ms - 7.0).abs() < 1e-12);
    }

    /// A sample replayed alone over several GPUs runs at the forked factor (2 here): A (1 ms,
    /// GPU 0) → B (1 ms, GPU 1), copies free: 2 + 2 = 4 ms; the same chain on one GPU keeps
    /// its calibrated 2 ms, and so does a stream of samples through the two GPUs (a pipeline:
    /// 10 samples in 11 ms).
    #[test]
    fn a_sample_alone_over_several_gpus_runs_at_the_forked_factor() {
        let two = plan_of(vec![task(0, 0, &[]), task(1, 0, &[0])]);
        let mut c = costs(&[1.0, 1.0], &[0.0; 2]);
        (c.replay, c.forked_factor) = (true, 2.0);
        assert_eq!(predict(&two, &c, Mode::Latency, 2, 1).per_sample_ms, 4.0);
        assert!((predict(&two, &c, Mode::Pipeline, 2, 10).per_sample_ms - 1.1).abs() < 1e-12);
        let one = plan_of(vec![task(0, 0, &[]), task(0, 0, &[0])]);
        assert_eq!(predict(&one, &c, Mode::Latency, 2, 1).per_sample_ms, 2.0);
    }

    /// A GPU that runs a stage of several groups runs all its operators at the forked factor
    /// (1.5 here), those of its one-group stages too: A (1 ms) then B and C side by side (1 ms
    /// each, occupancy 0, formula max) take 1.5 + 1.5 = 3 ms; without the concurrent stage (B
    /// and C on one stream, A → B → C) 3 ms at the calibrated times. Over two GPUs, one
    /// sample at a time, every GPU at the forked factor: A on GPU 0, B and C side by side on
    /// GPU 1, 1.5 + 1.5 = 3 ms.
    #[test]
    fn a_gpu_with_a_concurrent_stage_runs_all_its_operators_at_the_forked_factor() {
        let mut plan = plan_of(vec![task(0, 0, &[]), task(0, 0, &[0]), task(0, 1, &[0])]);
        plan.tasks[2].stage = 1;
        let mut c = costs(&[1.0; 3], &[0.0; 3]);
        c.replay = true;
        c.forked_factor = 1.5;
        assert_eq!(predict(&plan, &c, Mode::Latency, 1, 1).per_sample_ms, 3.0);
        assert_eq!(concurrent_stages(&plan, 1), vec![1]);
        let one = plan_of(vec![task(0, 0, &[]), task(0, 0, &[0]), task(0, 0, &[1])]);
        assert_eq!(predict(&one, &c, Mode::Latency, 1, 1).per_sample_ms, 3.0);
        assert_eq!(concurrent_stages(&one, 1), vec![0]);
        let mut two = plan.clone();
        (two.tasks[1].gpu, two.tasks[2].gpu) = (1, 1);
        assert_eq!(predict(&two, &c, Mode::Latency, 2, 1).per_sample_ms, 3.0);
        assert_eq!(concurrent_stages(&two, 2), vec![0, 1]);
    }

    /// A copy queued behind another on the copy stream ends one queued slot after it: A and B
    /// (1 ms each, GPU 0, two streams) both feed C (1 ms, GPU 1) through copies of α 1 ms. Back
    /// to back (no queued α) the copies run 1–2 and 2–3, C 3–4; with a queued α of 0.5 ms the
    /// second ends at 2.5 and C at 3.5; with one of 2 ms, at 4 and C at 5.
    #[test]
    fn a_queued_copy_ends_one_slot_after_the_copy_before_it() {
        let plan = plan_of(vec![task(0, 0, &[]), task(0, 1, &[]), task(1, 0, &[0, 1])]);
        let mut c = costs(&[1.0; 3], &[0.0; 3]);
        c.copy_alpha_ms = 1.0;
        assert_eq!(predict(&plan, &c, Mode::Latency, 2, 1).per_sample_ms, 4.0);
        c.copy_queued_alpha_ms = Some(0.5);
        assert_eq!(predict(&plan, &c, Mode::Latency, 2, 1).per_sample_ms, 3.5);
        c.copy_queued_alpha_ms = Some(2.0);
        assert_eq!(predict(&plan, &c, Mode::Latency, 2, 1).per_sample_ms, 5.0);
    }

    /// A large copy from another GPU holds the receiving GPU while it runs: A (1 ms, GPU 0)
    /// sends 4 MiB to C on GPU 1 through a copy of 1 ms, 1–2, while B (5 ms) runs there from 0;
    /// B loses that millisecond and ends at 6, C runs 6–7. A copy that held nothing would
    /// leave B at 5 and C at 5–6.
    #[test]
    fn large_copies_take_the_receiving_gpu_while_they_run() {
        let mut plan = plan_of(vec![task(0, 0, &[]), task(1, 0, &[]), task(1, 0, &[0])]);
        plan.tasks[2].deps[0].bytes = 4 << 20;
        assert_eq!(copy_hold(4 << 20), 1.0);
        let mut c = costs(&[1.0, 5.0, 1.0], &[0.0; 3]);
        c.copy_alpha_ms = 1.0;
        assert_eq!(predict(&plan, &c, Mode::Latency, 2, 1).per_sample_ms, 6.0);
        c.copies_hold = true;
        assert_eq!(predict(&plan, &c, Mode::Latency, 2, 1).per_sample_ms, 7.0);
        // Replayed the same: C's segment waits for B's and for the copy.
        c.replay = true;
        assert_eq!(predict(&plan, &c, Mode::Latency, 2, 1).per_sample_ms, 7.0);
        // A copy of 4 KiB holds 4 of the 1056 blocks of a full wave: B ends at 5 + 4/1056.
        plan.tasks[2].deps[0].bytes = 4096;
        c.replay = false;
        assert!((predict(&plan, &c, Mode::Latency, 2, 1).per_sample_ms - (6.0 + 4.0 / 1056.0)).abs() < 1e-12);
    }
}

//! The eager issue model: tasks issued by one host thread per GPU, copies on copy streams.

use super::*;

/// How the executor wires a plan on `devices` GPUs: each task's GPU and lane (one stream per
/// logical GPU and stream), and its imports: one per producer on another GPU and consuming
/// lane, made by the lane's first consumer (`(import id, whether this task makes it)` per
/// cross-GPU dependency, in dependency order).
pub(super) struct Wiring {
    pub(super) gpu: Vec<usize>,
    pub(super) lane: Vec<usize>,
    pub(super) lanes: usize,
    /// The GPU of each lane.
    pub(super) lane_gpu: Vec<usize>,
    pub(super) imports: Vec<Vec<(usize, bool)>>,
    pub(super) count: usize,
}

impl Wiring {
    pub(super) fn of(plan: &Plan, devices: usize) -> Wiring {
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
    pub(super) fn cross<'a>(&'a self, plan: &'a Plan, t: usize) -> impl Iterator<Item = (&'a Dep, (usize, bool))> + 'a {
        plan.tasks[t].deps.iter().filter(move |d| self.gpu[d.task] != self.gpu[t]).zip(self.imports[t].iter().copied())
    }
}

/// A copy onto a GPU: when it ran, and the share of the GPU it held.
pub(super) struct Copy {
    pub(super) start: f64,
    pub(super) end: f64,
    pub(super) occupancy: f64,
}

impl Copy {
    /// Pushes back work on the GPU that would have ended at `busy_until`: by the copy's share
    /// of the GPU for as long as the two overlapped (a copy is a kernel on the receiving GPU,
    /// and a large one holds every SM while it runs).
    pub(super) fn delay(&self, busy_until: f64) -> f64 {
        busy_until + self.occupancy * (busy_until.min(self.end) - self.start).max(0.0)
    }
}

/// When a copy of `bytes` sent at `sent` has arrived on a GPU whose copy stream is free at
/// `copy_free` (updated): after its own latency and α from when it was sent, or one queued
/// copy's slot after the copy before it, whichever is later.
pub(super) fn arrival(costs: &Costs, copy_free: &mut f64, host: f64, sent: f64, bytes: usize) -> Copy {
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

//! The graph-replay issue model: segments, graph launches, concurrent stages, the fork share.

use super::*;

/// The executor's segments of a graph-replayed sample (`Plan::segments`), GPU by GPU, each
/// with its GPU.
pub(super) fn segments_of(plan: &Plan, w: &Wiring, devices: usize) -> Vec<(usize, Vec<usize>)> {
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
pub(super) fn concurrent_stages_of(
    plan: &Plan,
    w: &Wiring,
    segments: &[(usize, Vec<usize>)],
    devices: usize,
) -> Vec<usize> {
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
pub(super) fn predict_replay(
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
                let efficiency = crate::gpu::concurrency::at(&costs.concurrency[stage[0]], groups.len());
                end = ready + crate::gpu::concurrency::stage_time(&gw, &gu, efficiency) + fork_join;
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

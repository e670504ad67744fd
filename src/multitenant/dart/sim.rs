//! The pipeline's runtime, simulated: each node serves one unit at a time with all its cores.
//! A real-time unit is a whole stage (non-preemptive); a best-effort unit is one layer, so
//! best-effort work yields at layer boundaries. An idle node takes the ready real-time stage
//! of highest priority (higher weight, then shorter deadline, then task order; among one
//! task's jobs the earlier), else the best-effort layer that became ready first. Real-time
//! jobs are released by a given pattern (sporadic: at least a period apart); best-effort jobs
//! in closed loop (the next released when the last one finishes). A unit's time is its WCET
//! times a factor drawn per layer (1, or uniform in `[lo, 1]`, seeded). Every unit's start and
//! end go to the log the checker replays.

use super::model::{layer_wcets, Cuts, Node, Platform, Task};
use super::rta::priority_order;
use rand::{Rng, SeedableRng};
use serde::Serialize;

/// One logged event.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum Event {
    Release {
        t: f64,
        task: usize,
        job: usize,
    },
    /// Layers `first..end` of stage `stage` start on node `stage` (one layer for best effort).
    Start {
        t: f64,
        task: usize,
        job: usize,
        stage: usize,
        first: usize,
        end: usize,
        work_ms: f64,
    },
    End {
        t: f64,
        task: usize,
        job: usize,
        stage: usize,
    },
}

/// How long units take.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Exec {
    Wcet,
    /// Each layer a factor uniform in `[lo, 1]` of its WCET.
    Uniform {
        lo: f64,
        seed: u64,
    },
}

/// A simulated run: the log and each job's response time.
#[derive(Debug, Clone, Default)]
pub struct Run {
    pub events: Vec<Event>,
    /// Per task, each finished job's response time, ms.
    pub responses: Vec<Vec<f64>>,
}

#[derive(Debug, Clone)]
struct Job {
    task: usize,
    job: usize,
    release: f64,
    /// The stage to run next and, for best effort, its next layer.
    stage: usize,
    layer: usize,
    ready_at: f64,
}

/// Simulates `tasks` cut by `cuts` over `cfg`: the real-time tasks released at `releases[i]`
/// (ascending), the best-effort ones in closed loop until `horizon_ms`.
pub fn simulate(
    p: &Platform,
    tasks: &[Task],
    cfg: &[Node],
    cuts: &[Cuts],
    releases: &[Vec<f64>],
    horizon_ms: f64,
    exec: Exec,
) -> Run {
    let n = tasks.len();
    let wcet: Vec<Vec<Vec<f64>>> = (0..n).map(|i| layer_wcets(p, &tasks[i], cfg, &cuts[i])).collect();
    let first_of = |i: usize, k: usize| if k == 0 { 0 } else { cuts[i][k - 1] };
    let next_stage = |i: usize, from: usize| (from..cfg.len()).find(|&k| !wcet[i][k].is_empty());
    let rank: Vec<usize> = {
        let mut r = vec![usize::MAX; n];
        for (pos, i) in priority_order(tasks).into_iter().enumerate() {
            r[i] = pos;
        }
        r
    };
    let mut rng = match exec {
        Exec::Uniform { seed, .. } => rand_chacha::ChaCha8Rng::seed_from_u64(seed),
        Exec::Wcet => rand_chacha::ChaCha8Rng::seed_from_u64(0),
    };
    let mut factor = || match exec {
        Exec::Wcet => 1.0,
        Exec::Uniform { lo, .. } => lo + (1.0 - lo) * rng.random::<f64>(),
    };
    let mut run = Run { events: Vec::new(), responses: vec![Vec::new(); n] };
    let mut ready: Vec<Job> = Vec::new();
    // Per node: the job it runs and when the unit ends.
    let mut running: Vec<Option<(Job, f64)>> = vec![None; cfg.len()];
    let mut next_release = vec![0usize; n];
    let mut jobs_of = vec![0usize; n];
    let mut t = 0.0f64;
    let release = |i: usize, at: f64, jobs_of: &mut Vec<usize>, ready: &mut Vec<Job>, run: &mut Run| {
        let job = jobs_of[i];
        jobs_of[i] += 1;
        run.events.push(Event::Release { t: at, task: i, job });
        if let Some(k) = next_stage(i, 0) {
            ready.push(Job { task: i, job, release: at, stage: k, layer: first_of(i, k), ready_at: at });
        } else {
            run.responses[i].push(0.0);
        }
    };
    for i in (0..n).filter(|&i| !tasks[i].rt()) {
        release(i, 0.0, &mut jobs_of, &mut ready, &mut run);
    }
    loop {
        // Releases due now.
        for i in (0..n).filter(|&i| tasks[i].rt()) {
            while next_release[i] < releases[i].len() && releases[i][next_release[i]] <= t {
                let at = releases[i][next_release[i]];
                next_release[i] += 1;
                release(i, at, &mut jobs_of, &mut ready, &mut run);
            }
        }
        // Idle nodes take their next unit.
        for (k, slot) in running.iter_mut().enumerate() {
            if slot.is_some() {
                continue;
            }
            let key = |j: &Job| {
                let rt = tasks[j.task].rt();
                (!rt, if rt { rank[j.task] } else { 0 }, if rt { j.job as f64 } else { j.ready_at }, j.task, j.job)
            };
            let pick = ready
                .iter()
                .enumerate()
                .filter(|(_, j)| j.stage == k)
                .min_by(|a, b| key(a.1).partial_cmp(&key(b.1)).unwrap_or(std::cmp::Ordering::Equal))
                .map(|(x, _)| x);
            let Some(x) = pick else { continue };
            let j = ready.swap_remove(x);
            let (first, end) =
                if tasks[j.task].rt() { (first_of(j.task, k), cuts[j.task][k]) } else { (j.layer, j.layer + 1) };
            let base = first_of(j.task, k);
            let work: f64 = (first..end).map(|l| wcet[j.task][k][l - base] * factor()).sum();
            run.events.push(Event::Start { t, task: j.task, job: j.job, stage: k, first, end, work_ms: work });
            *slot = Some((Job { layer: end, ..j }, t + work));
        }
        // The next instant: a unit's end or a release.
        let mut next = f64::INFINITY;
        for (_, end) in running.iter().flatten() {
            next = next.min(*end);
        }
        for i in (0..n).filter(|&i| tasks[i].rt()) {
            if let Some(&at) = releases[i].get(next_release[i]) {
                next = next.min(at);
            }
        }
        if !next.is_finite() {
            break;
        }
        t = next;
        for k in 0..cfg.len() {
            let Some((j, end)) = running[k].clone() else { continue };
            if end > t {
                continue;
            }
            running[k] = None;
            run.events.push(Event::End { t, task: j.task, job: j.job, stage: k });
            let done_stage = j.layer >= cuts[j.task][k];
            if !done_stage {
                ready.push(Job { ready_at: t, ..j });
                continue;
            }
            match next_stage(j.task, k + 1) {
                Some(s) => ready.push(Job { stage: s, layer: first_of(j.task, s), ready_at: t, ..j }),
                None => {
                    run.responses[j.task].push(t - j.release);
                    if !tasks[j.task].rt() && t < horizon_ms {
                        release(j.task, t, &mut jobs_of, &mut ready, &mut run);
                    }
                }
            }
        }
    }
    run
}

/// Seeded sporadic releases of every real-time task until `horizon_ms`: the first in
/// `[0, T)`, then gaps of `T · (1 + x)`, x uniform in `[0, slack]` (all synchronous and
/// periodic with `seed` = none).
pub fn releases(tasks: &[Task], horizon_ms: f64, seed: Option<u64>, slack: f64) -> Vec<Vec<f64>> {
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed.unwrap_or(0));
    tasks
        .iter()
        .map(|t| {
            if !t.rt() {
                return Vec::new();
            }
            let mut at = if seed.is_some() { rng.random::<f64>() * t.period_ms } else { 0.0 };
            let mut v = Vec::new();
            while at < horizon_ms {
                v.push(at);
                at += t.period_ms * if seed.is_some() { 1.0 + slack * rng.random::<f64>() } else { 1.0 };
            }
            v
        })
        .collect()
}

//! The pipeline's runtime, simulated: each node serves one unit at a time with all its cores.
//! A real-time unit is a whole stage (non-preemptive); a best-effort unit is one layer, so
//! best-effort work yields at layer boundaries (under the sequential runtime a whole stage).
//! An idle node takes the ready real-time stage that goes first (fixed priority: higher
//! weight, then shorter deadline, then task order, among one task's jobs the earlier; EDF: the
//! earliest absolute deadline), else the best-effort unit that became ready first. Real-time
//! jobs are released by a given pattern (sporadic: at least a period apart); best-effort jobs
//! in closed loop (the next released when the last one finishes). A unit's time is its WCET
//! times a factor drawn per layer (1, or uniform in `[lo, 1]`, seeded), and an injected
//! overrun multiplies one layer of one job.
//!
//! Overrun enforcement: a real-time stage is watched layer by layer; once its layers so far
//! took longer than their WCETs, it stops at that layer boundary, the job is reported
//! (`overrun`) and runs as best effort for the rest of its layers. Every unit's start and end
//! go to the log the checker replays.

use super::model::{layer_wcets, Plan, Runtime};
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
    /// The real-time job's unit that just ended ran past its WCET: the job is best effort from
    /// now on.
    Overrun {
        t: f64,
        task: usize,
        job: usize,
    },
}

impl Event {
    pub fn t(&self) -> f64 {
        match *self {
            Event::Release { t, .. } | Event::Start { t, .. } | Event::End { t, .. } | Event::Overrun { t, .. } => t,
        }
    }
}

/// One layer of one job made slower than its WCET.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Overrun {
    pub task: usize,
    pub job: usize,
    /// The layer (of the whole task).
    pub layer: usize,
    pub factor: f64,
}

/// How long units take: each layer a factor uniform in `[lo, 1]` of its WCET (`lo` = 1: the
/// WCET), and optionally one injected overrun.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Exec {
    pub lo: f64,
    pub seed: u64,
    pub overrun: Option<Overrun>,
}

impl Exec {
    pub const WCET: Exec = Exec { lo: 1.0, seed: 0, overrun: None };

    pub fn uniform(lo: f64, seed: u64) -> Exec {
        Exec { lo, seed, overrun: None }
    }
}

/// A simulated run: the log and each job's response time.
#[derive(Debug, Clone, Default)]
pub struct Run {
    pub events: Vec<Event>,
    /// Per task, each finished job's response time, ms (jobs demoted by an overrun apart).
    pub responses: Vec<Vec<f64>>,
    /// Demoted jobs: (task, job, response time).
    pub overruns: Vec<(usize, usize, f64)>,
}

/// Every task's stages over the plan: each layer's WCET per stage (the copy in added to a
/// stage's first layer), where each stage starts, which comes next, and how far a unit
/// reaches; shared by the simulator and the real-time runtime.
pub(super) struct Stages<'a> {
    plan: &'a Plan<'a>,
    pub(super) wcet: Vec<Vec<Vec<f64>>>,
}

impl<'a> Stages<'a> {
    pub(super) fn new(plan: &'a Plan<'a>) -> Stages<'a> {
        let wcet = (0..plan.tasks.len())
            .map(|i| layer_wcets(plan.platform, &plan.tasks[i], plan.config, &plan.cuts[i]))
            .collect();
        Stages { plan, wcet }
    }

    /// The first layer of task `i`'s stage `k`.
    pub(super) fn first_of(&self, i: usize, k: usize) -> usize {
        if k == 0 {
            0
        } else {
            self.plan.cuts[i][k - 1]
        }
    }

    /// Task `i`'s first non-empty stage from `from` on.
    pub(super) fn next_stage(&self, i: usize, from: usize) -> Option<usize> {
        (from..self.plan.config.len()).find(|&k| !self.wcet[i][k].is_empty())
    }

    /// One past the last layer a unit starting at `job.layer` of its stage may run: the whole
    /// stage for real time (and under the sequential runtime), else one layer.
    pub(super) fn unit_end(&self, j: &Job) -> usize {
        let as_rt = self.plan.tasks[j.task].rt() && !j.demoted;
        if as_rt || self.plan.runtime == Runtime::Sequential {
            self.plan.cuts[j.task][j.stage]
        } else {
            j.layer + 1
        }
    }
}

/// A released job waiting for (or running) its next unit; the real-time runtime keeps the
/// same.
#[derive(Debug, Clone)]
pub(super) struct Job {
    pub(super) task: usize,
    pub(super) job: usize,
    pub(super) release: f64,
    /// The stage to run next and its next layer.
    pub(super) stage: usize,
    pub(super) layer: usize,
    pub(super) ready_at: f64,
    pub(super) demoted: bool,
}

/// The order of units waiting for a node (lower first): real time before best effort, then
/// the runtime's rule; shared by the simulator and the checker, which both implement the
/// runtime the rows are judged by.
pub fn rank_key(plan: &Plan, rank: &[usize], task: usize, job: usize, release: f64, since: f64, demoted: bool) -> Key {
    let t = &plan.tasks[task];
    if !t.rt() || demoted {
        return (true, since, 0.0, task, job);
    }
    match plan.runtime {
        Runtime::Edf => (false, release + t.deadline_ms, 0.0, task, job),
        _ => (false, rank[task] as f64, job as f64, task, job),
    }
}

pub type Key = (bool, f64, f64, usize, usize);

/// Each task's place in the fixed-priority order (`usize::MAX` for best effort).
pub fn ranks(plan: &Plan) -> Vec<usize> {
    let mut r = vec![usize::MAX; plan.tasks.len()];
    for (pos, i) in priority_order(plan.tasks).into_iter().enumerate() {
        r[i] = pos;
    }
    r
}

/// Simulates `plan`: the real-time tasks released at `releases[i]` (ascending), the
/// best-effort ones in closed loop until `horizon_ms`.
pub fn simulate(plan: &Plan, releases: &[Vec<f64>], horizon_ms: f64, exec: Exec) -> Run {
    let (tasks, cfg, cuts) = (plan.tasks, plan.config, plan.cuts);
    let n = tasks.len();
    let st = Stages::new(plan);
    let (wcet, first_of, next_stage) = (&st.wcet, |i, k| st.first_of(i, k), |i, from| st.next_stage(i, from));
    let rank = ranks(plan);
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(exec.seed);
    let mut factor = |task: usize, job: usize, layer: usize| {
        let f = if exec.lo < 1.0 { exec.lo + (1.0 - exec.lo) * rng.random::<f64>() } else { 1.0 };
        match exec.overrun {
            Some(o) if (o.task, o.job, o.layer) == (task, job, layer) => f * o.factor,
            _ => f,
        }
    };
    let mut run = Run { events: Vec::new(), responses: vec![Vec::new(); n], overruns: Vec::new() };
    let mut ready: Vec<Job> = Vec::new();
    // Per node: the job it runs, when the unit ends and whether it overran.
    let mut running: Vec<Option<(Job, f64, bool)>> = vec![None; cfg.len()];
    let mut next_release = vec![0usize; n];
    let mut jobs_of = vec![0usize; n];
    let mut t = 0.0f64;
    let release = |i: usize, at: f64, jobs_of: &mut Vec<usize>, ready: &mut Vec<Job>, run: &mut Run| {
        let job = jobs_of[i];
        jobs_of[i] += 1;
        run.events.push(Event::Release { t: at, task: i, job });
        if let Some(k) = next_stage(i, 0) {
            let layer = first_of(i, k);
            ready.push(Job { task: i, job, release: at, stage: k, layer, ready_at: at, demoted: false });
        } else {
            run.responses[i].push(0.0);
        }
    };
    for i in (0..n).filter(|&i| !tasks[i].rt()) {
        release(i, 0.0, &mut jobs_of, &mut ready, &mut run);
    }
    loop {
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
            let key = |j: &Job| rank_key(plan, &rank, j.task, j.job, j.release, j.ready_at, j.demoted);
            let pick = ready
                .iter()
                .enumerate()
                .filter(|(_, j)| j.stage == k)
                .min_by(|a, b| key(a.1).partial_cmp(&key(b.1)).unwrap_or(std::cmp::Ordering::Equal))
                .map(|(x, _)| x);
            let Some(x) = pick else { continue };
            let j = ready.swap_remove(x);
            let base = first_of(j.task, k);
            let as_rt = tasks[j.task].rt() && !j.demoted;
            let last = st.unit_end(&j);
            // Layer by layer, so that a real-time stage stops at the boundary after an overrun.
            let (mut work, mut budget, mut end, mut overran) = (0.0, 0.0, j.layer, false);
            while end < last {
                let w = wcet[j.task][k][end - base];
                work += w * factor(j.task, j.job, end);
                budget += w;
                end += 1;
                if as_rt && work > budget * (1.0 + 1e-9) + 1e-12 {
                    overran = true;
                    break;
                }
            }
            let (task, job) = (j.task, j.job);
            run.events.push(Event::Start { t, task, job, stage: k, first: j.layer, end, work_ms: work });
            *slot = Some((Job { layer: end, ..j }, t + work, overran));
        }
        let mut next = f64::INFINITY;
        for (_, end, _) in running.iter().flatten() {
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
            let Some((mut j, end, overran)) = running[k].clone() else { continue };
            if end > t {
                continue;
            }
            running[k] = None;
            run.events.push(Event::End { t, task: j.task, job: j.job, stage: k });
            if overran {
                run.events.push(Event::Overrun { t, task: j.task, job: j.job });
                j.demoted = true;
            }
            if j.layer < cuts[j.task][k] {
                ready.push(Job { ready_at: t, ..j });
                continue;
            }
            match next_stage(j.task, k + 1) {
                Some(s) => ready.push(Job { stage: s, layer: first_of(j.task, s), ready_at: t, ..j }),
                None if j.demoted => run.overruns.push((j.task, j.job, t - j.release)),
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
pub fn releases(tasks: &[super::model::Task], horizon_ms: f64, seed: Option<u64>, slack: f64) -> Vec<Vec<f64>> {
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

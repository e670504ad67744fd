//! The `gpu-multistream` baseline's runtime: every task's DNN whole on the GPU, each task on a
//! stream of its own (its jobs in order), all streams at once, real-time tasks on
//! high-priority streams. Concurrent layers share the GPU by their occupancies: the
//! high-priority layers progress at `r = 1 / (max(1, U_H) · (1 + β · max(0, U_H − 1)))`
//! (`U_H` their occupancies' sum; the shared simulator's rate, β = 0.1), and the low-priority
//! ones share what is left, each at `min(1, (1 − U_H)⁺ / U_L)`: the block scheduler serves
//! high-priority streams first, and a kernel already running is not preempted below that
//! granularity (optimistic for real time). No admission: deadlines are observed, not promised.
//!
//! The simulator writes the pipeline family's log (one stage, each unit a layer); the checker
//! here replays it by integrating every layer's progress between events on its own.

use super::check::{early_release, Report};
use super::model::{layer_wcets, Plan};
use super::sim::{Event, Exec, Run};
use rand::{Rng, SeedableRng};
use std::collections::VecDeque;

/// The oversubscription cost β of the shared simulator.
pub const BETA: f64 = 0.1;

/// Progress rates of a high- and a low-priority layer when the running layers' occupancies
/// sum to `high` and `low`.
pub fn rates(high: f64, low: f64) -> (f64, f64) {
    let r_high = 1.0 / (high.max(1.0) * (1.0 + BETA * (high - 1.0).max(0.0)));
    let left = (1.0 - high).max(0.0);
    let r_low = if low <= left { 1.0 } else { left / low };
    (r_high, r_low)
}

/// A layer in progress on a task's stream.
#[derive(Debug, Clone, Copy)]
struct Active {
    job: usize,
    release: f64,
    layer: usize,
    left: f64,
    work: f64,
}

fn occupancy_sums(plan: &Plan, active: &[Option<Active>]) -> (f64, f64) {
    let (mut high, mut low) = (0.0, 0.0);
    for (i, a) in active.iter().enumerate() {
        if let Some(a) = a {
            let u = plan.tasks[i].layers[a.layer].occupancy;
            if plan.tasks[i].rt() {
                high += u;
            } else {
                low += u;
            }
        }
    }
    (high, low)
}

/// Simulates `plan` (one GPU node, every task one stage) with real-time releases at
/// `releases` and best-effort jobs in closed loop until `horizon_ms`.
pub fn simulate(plan: &Plan, releases: &[Vec<f64>], horizon_ms: f64, exec: Exec) -> Run {
    let tasks = plan.tasks;
    let n = tasks.len();
    let wcet: Vec<Vec<f64>> =
        (0..n).map(|i| layer_wcets(plan.platform, &tasks[i], plan.config, &plan.cuts[i]).concat()).collect();
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(exec.seed);
    let mut factor = || if exec.lo < 1.0 { exec.lo + (1.0 - exec.lo) * rng.random::<f64>() } else { 1.0 };
    let mut run = Run { events: Vec::new(), responses: vec![Vec::new(); n], overruns: Vec::new() };
    let mut queue: Vec<VecDeque<(usize, f64)>> = vec![VecDeque::new(); n];
    let mut active: Vec<Option<Active>> = vec![None; n];
    let mut next_release = vec![0usize; n];
    let mut jobs_of = vec![0usize; n];
    for i in (0..n).filter(|&i| !tasks[i].rt()) {
        queue[i].push_back((0, 0.0));
        jobs_of[i] = 1;
        run.events.push(Event::Release { t: 0.0, task: i, job: 0 });
    }
    let mut t = 0.0f64;
    loop {
        for i in (0..n).filter(|&i| tasks[i].rt()) {
            while next_release[i] < releases[i].len() && releases[i][next_release[i]] <= t {
                let at = releases[i][next_release[i]];
                next_release[i] += 1;
                let job = jobs_of[i];
                jobs_of[i] += 1;
                run.events.push(Event::Release { t: at, task: i, job });
                queue[i].push_back((job, at));
            }
        }
        // Free streams start their next job's first layer (a job without layers is done).
        for i in 0..n {
            while active[i].is_none() {
                let Some((job, release)) = queue[i].pop_front() else { break };
                if wcet[i].is_empty() {
                    run.responses[i].push(t - release);
                    continue;
                }
                let work = wcet[i][0] * factor();
                run.events.push(Event::Start { t, task: i, job, stage: 0, first: 0, end: 1, work_ms: work });
                active[i] = Some(Active { job, release, layer: 0, left: work, work });
            }
        }
        let (high, low) = occupancy_sums(plan, &active);
        let (r_high, r_low) = rates(high, low);
        let rate = |i: usize| if tasks[i].rt() { r_high } else { r_low };
        let mut next = f64::INFINITY;
        for (i, a) in active.iter().enumerate() {
            if let Some(a) = a {
                if rate(i) > 0.0 {
                    next = next.min(t + a.left / rate(i));
                }
            }
        }
        for i in (0..n).filter(|&i| tasks[i].rt()) {
            if let Some(&at) = releases[i].get(next_release[i]) {
                next = next.min(at);
            }
        }
        if !next.is_finite() {
            break;
        }
        let dt = next - t;
        t = next;
        for i in 0..n {
            let Some(mut a) = active[i] else { continue };
            a.left -= rate(i) * dt;
            if a.left > 1e-9 * a.work.max(1e-9) {
                active[i] = Some(a);
                continue;
            }
            run.events.push(Event::End { t, task: i, job: a.job, stage: 0 });
            active[i] = None;
            if a.layer + 1 < wcet[i].len() {
                let work = wcet[i][a.layer + 1] * factor();
                let (first, end) = (a.layer + 1, a.layer + 2);
                run.events.push(Event::Start { t, task: i, job: a.job, stage: 0, first, end, work_ms: work });
                active[i] = Some(Active { layer: first, left: work, work, ..a });
                continue;
            }
            run.responses[i].push(t - a.release);
            if !tasks[i].rt() && t < horizon_ms {
                let job = jobs_of[i];
                jobs_of[i] += 1;
                run.events.push(Event::Release { t, task: i, job });
                queue[i].push_back((job, t));
            }
        }
    }
    run
}

/// Replays a `gpu-multistream` log: every layer started in its job's order on its task's
/// stream (a stream runs one layer at a time, its jobs in release order, and is never idle
/// while a job of its task waits), each layer's work at most its WCET, and each layer ending
/// exactly when its progress, integrated here at the rates of the layers running alongside
/// it, reaches its work.
pub fn check(plan: &Plan, events: &[Event]) -> Report {
    /// The layer a stream is running in the replay.
    #[derive(Clone, Copy)]
    struct Running {
        job: usize,
        release: f64,
        layer: usize,
        progress: f64,
        work: f64,
    }
    let tasks = plan.tasks;
    let n = tasks.len();
    let wcet: Vec<Vec<f64>> =
        (0..n).map(|i| layer_wcets(plan.platform, &tasks[i], plan.config, &plan.cuts[i]).concat()).collect();
    let mut r = Report { responses: vec![Vec::new(); n], ..Report::default() };
    let fail = |r: &mut Report, why: String| {
        r.violations += 1;
        if r.first.len() < 5 {
            r.first.push(why);
        }
    };
    // Per task: released jobs not yet started (job, release), the running layer and the
    // next layer each started job must run.
    let mut waiting: Vec<VecDeque<(usize, f64)>> = vec![VecDeque::new(); n];
    let mut running: Vec<Option<Running>> = vec![None; n];
    let mut next_layer: Vec<Option<(usize, f64, usize)>> = vec![None; n];
    let mut last_release: Vec<Option<f64>> = vec![None; n];
    let mut t_prev = 0.0f64;
    let tol = |x: f64| 1e-6 * x.abs().max(1e-6);
    let mut idx = 0;
    while idx < events.len() {
        let t_now = events[idx].t();
        // Progress since the last instant at the rates of what ran in between.
        let (mut high, mut low) = (0.0, 0.0);
        for (i, x) in running.iter().enumerate() {
            if let Some(x) = x {
                let u = tasks[i].layers[x.layer].occupancy;
                if tasks[i].rt() {
                    high += u
                } else {
                    low += u
                }
            }
        }
        let (r_high, r_low) = rates(high, low);
        for (i, x) in running.iter_mut().enumerate() {
            if let Some(x) = x {
                x.progress += (t_now - t_prev) * if tasks[i].rt() { r_high } else { r_low };
                if x.progress > x.work + tol(x.work) {
                    fail(&mut r, format!("t={t_now}: task {i}'s layer ran past its work without ending"));
                    x.progress = x.work;
                }
            }
        }
        t_prev = t_now;
        while idx < events.len() && events[idx].t() <= t_now {
            match events[idx] {
                Event::Release { t, task, job } => {
                    if let Some(why) = early_release(&tasks[task], &mut last_release[task], t) {
                        fail(&mut r, format!("task {task} {why}"));
                    }
                    if wcet[task].is_empty() {
                        r.responses[task].push(0.0);
                    } else {
                        waiting[task].push_back((job, t));
                    }
                }
                Event::Start { t, task, job, first, end, work_ms, .. } => {
                    if running[task].is_some() {
                        fail(&mut r, format!("t={t}: task {task}'s stream starts a layer while busy"));
                    }
                    let release = match next_layer[task].take() {
                        Some((j, rel, l)) if j == job && l == first => Some(rel),
                        Some(_) => None,
                        None => match waiting[task].pop_front() {
                            Some((j, rel)) if j == job && first == 0 => Some(rel),
                            _ => None,
                        },
                    };
                    let Some(release) = release else {
                        fail(&mut r, format!("t={t}: task {task} job {job} starts layer {first} out of order"));
                        continue;
                    };
                    if end != first + 1 || work_ms > wcet[task][first] * (1.0 + 1e-9) + 1e-12 {
                        fail(&mut r, format!("t={t}: task {task} runs layers {first}..{end} for {work_ms} ms"));
                    }
                    running[task] = Some(Running { job, release, layer: first, progress: 0.0, work: work_ms });
                }
                Event::End { t, task, job, .. } => {
                    let Some(Running { job: j, release, layer, progress, work }) = running[task].take() else {
                        fail(&mut r, format!("t={t}: task {task} ends a layer it did not start"));
                        idx += 1;
                        continue;
                    };
                    if j != job || (progress - work).abs() > tol(work) {
                        fail(&mut r, format!("t={t}: task {task} job {job} ends at {progress} of {work} ms of work"));
                    }
                    if layer + 1 < wcet[task].len() {
                        next_layer[task] = Some((job, release, layer + 1));
                    } else {
                        let resp = t - release;
                        if tasks[task].rt() && resp > tasks[task].deadline_ms * (1.0 + 1e-12) {
                            r.misses += 1;
                        }
                        r.responses[task].push(resp);
                    }
                }
                Event::Overrun { t, task, .. } => fail(&mut r, format!("t={t}: task {task}: no enforcement here")),
            }
            idx += 1;
        }
        for i in 0..n {
            if running[i].is_none() && (next_layer[i].is_some() || !waiting[i].is_empty()) {
                fail(&mut r, format!("t={t_now}: task {i}'s stream idles while its job waits"));
            }
        }
    }
    if let Some(i) = (0..n).find(|&i| running[i].is_some() || next_layer[i].is_some() || !waiting[i].is_empty()) {
        fail(&mut r, format!("task {i} has a job that never finished"));
    }
    r
}

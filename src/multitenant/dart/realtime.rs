//! The pipeline's runtime in real time: one host thread per node serving units by the same
//! rule as the simulator (`sim::rank_key`), real-time jobs released periodically by a timer
//! thread, best effort in closed loop, overrun enforcement layer by layer; or, for the
//! concurrent-streams runtime, one thread per task issuing its jobs' layers in turn. What a
//! layer does is the caller's ([`Units`]: kernels on a GPU, or a wait of the modelled time);
//! this module times it by the host clock and writes the same log as the simulator.

use super::model::{layer_ms, Node, Plan, Runtime};
use super::sim::{rank_key, ranks, Event, Job, Run, Stages};
use crate::error::Result;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Condvar, Mutex};
use std::time::{Duration, Instant};

/// How a node's thread waits for work.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum Wait {
    /// On a condition variable (the kernel wakes it; a wake-up may come late).
    #[default]
    Sleep,
    /// Spinning on a counter that every change of the ready set bumps (holds its core).
    Poll,
}

impl Wait {
    pub fn as_str(self) -> &'static str {
        match self {
            Wait::Sleep => "sleep",
            Wait::Poll => "poll",
        }
    }
}

/// How the runtime's threads are placed and wait.
#[derive(Debug, Clone, Copy, Default)]
pub struct Threads {
    pub wait: Wait,
    /// A host core of its own for the release timer.
    pub timer_core: Option<usize>,
}

/// Where the host lost time, per node, from the runtime's own clock: a unit's start after the
/// later of its ready instant and its node's last end (a thread waking or being scheduled
/// late), and a unit's span beyond the sum of its layers' calls (the thread stalled between
/// layers).
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize)]
pub struct HostDelays {
    pub largest_dispatch_ms: f64,
    /// Units started more than [`LATE_MS`] after they could.
    pub late_dispatches: usize,
    pub largest_between_layers_ms: f64,
}

/// A start this much after it could counts as late.
pub const LATE_MS: f64 = 0.2;

/// What runs a layer for real.
pub trait Units: Sync {
    /// Runs layer `layer` of task `task` on `node` (the pipeline's node `stage`), blocking
    /// until it is done, after waiting `extra_ms` (the modelled copy into the stage, when it
    /// starts one).
    fn run_layer(&self, task: usize, stage: usize, node: Node, layer: usize, extra_ms: f64) -> Result<()>;
}

/// Waits `ms` on the host clock without sleeping (a modelled CPU layer or copy holds its core).
pub fn spin(ms: f64) {
    let until = Instant::now() + Duration::from_secs_f64(ms.max(0.0) / 1e3);
    while Instant::now() < until {
        std::hint::spin_loop();
    }
}

/// Every layer a modelled wait of its WCET on its node: the runtime alone, for tests.
pub struct Modelled<'a> {
    pub plan: &'a Plan<'a>,
}

impl Units for Modelled<'_> {
    fn run_layer(&self, task: usize, _stage: usize, node: Node, layer: usize, extra_ms: f64) -> Result<()> {
        spin(layer_ms(&self.plan.tasks[task].layers[layer], node) + extra_ms);
        Ok(())
    }
}

#[derive(Default)]
struct State {
    ready: Vec<Job>,
    run: Run,
    jobs_of: Vec<usize>,
    /// Jobs released and not finished, and whether the timer has released its last.
    outstanding: usize,
    releases_done: bool,
    failed: Option<crate::Error>,
    host: Vec<HostDelays>,
}

/// Runs `plan` for `duration_ms` of real time (real-time jobs released synchronously every
/// period until then, best effort re-released while it lasts), then lets released jobs finish;
/// the log, and per node where the host lost time (none under concurrent streams).
pub fn run(plan: &Plan, units: &dyn Units, duration_ms: f64, threads: Threads) -> Result<(Run, Vec<HostDelays>)> {
    if plan.runtime == Runtime::Multistream {
        return Ok((run_streams(plan, units, duration_ms)?, Vec::new()));
    }
    let (tasks, cfg, cuts) = (plan.tasks, plan.config, plan.cuts);
    let n = tasks.len();
    let st = Stages::new(plan);
    let (wcet, first_of, next_stage) = (&st.wcet, |i, k| st.first_of(i, k), |i, from| st.next_stage(i, from));
    let rank = ranks(plan);
    let start = Instant::now();
    let now = || start.elapsed().as_secs_f64() * 1e3;
    let state = Mutex::new(State {
        // Room for the log up front: a reallocation under the lock would stall every node.
        run: Run { responses: vec![Vec::new(); n], events: Vec::with_capacity(1 << 20), ..Run::default() },
        jobs_of: vec![0; n],
        host: vec![HostDelays::default(); cfg.len()],
        ..State::default()
    });
    let wake = Condvar::new();
    // Bumped on every change a waiting node could act on (with the lock held).
    let changes = AtomicU64::new(0);
    let notify = || {
        changes.fetch_add(1, Ordering::Release);
        wake.notify_all();
    };
    let release = |s: &mut State, i: usize, at: f64| {
        let job = s.jobs_of[i];
        s.jobs_of[i] += 1;
        s.run.events.push(Event::Release { t: at, task: i, job });
        match next_stage(i, 0) {
            Some(k) => {
                s.outstanding += 1;
                s.ready.push(Job {
                    task: i,
                    job,
                    release: at,
                    stage: k,
                    layer: first_of(i, k),
                    ready_at: at,
                    demoted: false,
                })
            }
            None => s.run.responses[i].push(0.0),
        }
    };
    {
        let mut s = state.lock().unwrap_or_else(|e| e.into_inner());
        for i in (0..n).filter(|&i| !tasks[i].rt()) {
            release(&mut s, i, 0.0);
        }
    }
    let node = |k: usize| -> Result<()> {
        // From the thread's start: its own start-up is not the runtime's delay.
        let mut free_at = now();
        loop {
            let mut s = state.lock().unwrap_or_else(|e| e.into_inner());
            let j = loop {
                if s.failed.is_some() || (s.releases_done && s.outstanding == 0) {
                    return Ok(());
                }
                let key = |j: &Job| rank_key(plan, &rank, j.task, j.job, j.release, j.ready_at, j.demoted);
                let pick = s
                    .ready
                    .iter()
                    .enumerate()
                    .filter(|(_, j)| j.stage == k)
                    .min_by(|a, b| key(a.1).partial_cmp(&key(b.1)).unwrap_or(std::cmp::Ordering::Equal))
                    .map(|(x, _)| x);
                match (pick, threads.wait) {
                    (Some(x), _) => break s.ready.swap_remove(x),
                    (None, Wait::Sleep) => s = wake.wait(s).unwrap_or_else(|e| e.into_inner()),
                    (None, Wait::Poll) => {
                        let seen = changes.load(Ordering::Acquire);
                        drop(s);
                        while changes.load(Ordering::Acquire) == seen {
                            std::hint::spin_loop();
                        }
                        s = state.lock().unwrap_or_else(|e| e.into_inner());
                    }
                }
            };
            drop(s);
            let (base, whole) = (first_of(j.task, k), cuts[j.task][k]);
            let as_rt = tasks[j.task].rt() && !j.demoted;
            let last = st.unit_end(&j);
            let t0 = now();
            let dispatch = t0 - free_at.max(j.ready_at);
            let (mut budget, mut end, mut overran, mut in_layers) = (0.0, j.layer, false, 0.0);
            let mut outcome = Ok(());
            while end < last {
                let w = wcet[j.task][k][end - base];
                let extra = w - layer_ms(&tasks[j.task].layers[end], cfg[k]);
                let before = now();
                outcome = units.run_layer(j.task, k, cfg[k], end, extra);
                in_layers += now() - before;
                budget += w;
                end += 1;
                if outcome.is_err() {
                    break;
                }
                if as_rt && now() - t0 > budget * (1.0 + 1e-9) {
                    overran = true;
                    break;
                }
            }
            let t1 = now();
            free_at = t1;
            let mut s = state.lock().unwrap_or_else(|e| e.into_inner());
            if let Err(e) = outcome {
                s.failed = Some(e);
                notify();
                return Ok(());
            }
            let h = &mut s.host[k];
            h.largest_dispatch_ms = h.largest_dispatch_ms.max(dispatch);
            h.late_dispatches += usize::from(dispatch > LATE_MS);
            h.largest_between_layers_ms = h.largest_between_layers_ms.max(t1 - t0 - in_layers);
            let (task, job) = (j.task, j.job);
            s.run.events.push(Event::Start { t: t0, task, job, stage: k, first: j.layer, end, work_ms: t1 - t0 });
            s.run.events.push(Event::End { t: t1, task, job, stage: k });
            let mut j = Job { layer: end, ready_at: t1, ..j };
            if overran {
                s.run.events.push(Event::Overrun { t: t1, task, job });
                j.demoted = true;
            }
            if j.layer < whole {
                s.ready.push(j);
            } else if let Some(next) = next_stage(task, k + 1) {
                s.ready.push(Job { stage: next, layer: first_of(task, next), ..j });
            } else {
                s.outstanding -= 1;
                if j.demoted {
                    s.run.overruns.push((task, job, t1 - j.release));
                } else {
                    s.run.responses[task].push(t1 - j.release);
                }
                if !tasks[task].rt() && t1 < duration_ms {
                    release(&mut s, task, t1);
                }
            }
            notify();
        }
    };
    let timer = || {
        if let Some(core) = threads.timer_core {
            crate::cpu::pin(core);
        }
        let periodic: Vec<usize> = (0..n).filter(|&i| tasks[i].rt()).collect();
        let mut next: Vec<f64> = vec![0.0; n];
        while let Some(&i) = periodic.iter().min_by(|&&a, &&b| next[a].total_cmp(&next[b])) {
            let at = next[i];
            if at >= duration_ms {
                break;
            }
            let wait = at - now();
            if wait > 0.3 {
                std::thread::sleep(Duration::from_secs_f64((wait - 0.2) / 1e3));
            }
            while now() < at {
                std::hint::spin_loop();
            }
            let mut s = state.lock().unwrap_or_else(|e| e.into_inner());
            if s.failed.is_some() {
                break;
            }
            release(&mut s, i, at);
            notify();
            next[i] += tasks[i].period_ms;
        }
        let mut s = state.lock().unwrap_or_else(|e| e.into_inner());
        s.releases_done = true;
        notify();
    };
    std::thread::scope(|sc| {
        for k in 0..cfg.len() {
            let node = &node;
            sc.spawn(move || node(k));
        }
        timer();
    });
    let mut s = state.into_inner().unwrap_or_else(|e| e.into_inner());
    let host = std::mem::take(&mut s.host);
    Ok((finish(s)?, host))
}

/// The log in time order (ends before starts at one instant, as the simulator writes them).
fn finish(s: State) -> Result<Run> {
    if let Some(e) = s.failed {
        return Err(e);
    }
    let mut run = s.run;
    let order = |e: &Event| match e {
        Event::End { .. } | Event::Overrun { .. } => 0,
        Event::Release { .. } => 1,
        Event::Start { .. } => 2,
    };
    run.events.sort_by(|a, b| a.t().total_cmp(&b.t()).then(order(a).cmp(&order(b))));
    Ok(run)
}

/// The concurrent-streams runtime: a thread per task runs its jobs one after another, each
/// layer in turn (real time released every period, best effort back to back).
fn run_streams(plan: &Plan, units: &dyn Units, duration_ms: f64) -> Result<Run> {
    let tasks = plan.tasks;
    let n = tasks.len();
    let gpu = plan.config[0];
    let start = Instant::now();
    let now = || start.elapsed().as_secs_f64() * 1e3;
    let state = Mutex::new(State { run: Run { responses: vec![Vec::new(); n], ..Run::default() }, ..State::default() });
    let stream = |i: usize| -> Result<()> {
        let t = &tasks[i];
        let layers = t.layers.len();
        let mut job = 0usize;
        loop {
            let release = if t.rt() { job as f64 * t.period_ms } else { now() };
            if release >= duration_ms {
                return Ok(());
            }
            while now() < release {
                let wait = release - now();
                if wait > 0.3 {
                    std::thread::sleep(Duration::from_secs_f64((wait - 0.2) / 1e3));
                }
            }
            let mut events = vec![Event::Release { t: release, task: i, job }];
            for l in 0..layers {
                let extra = if l == 0 { plan.platform.copy_ms(t.input_bytes) } else { 0.0 };
                let t0 = now();
                units.run_layer(i, 0, gpu, l, extra)?;
                let t1 = now();
                events.push(Event::Start { t: t0, task: i, job, stage: 0, first: l, end: l + 1, work_ms: t1 - t0 });
                events.push(Event::End { t: t1, task: i, job, stage: 0 });
            }
            let done = now();
            let mut s = state.lock().unwrap_or_else(|e| e.into_inner());
            s.run.events.extend(events);
            s.run.responses[i].push(done - release);
            job += 1;
        }
    };
    let outcomes: Vec<Result<()>> = std::thread::scope(|sc| {
        let handles: Vec<_> = (0..n).map(|i| sc.spawn(move || stream(i))).collect();
        handles
            .into_iter()
            .map(|h| h.join().unwrap_or_else(|_| Err(crate::Error::Gpu("a stream thread panicked".into()))))
            .collect()
    });
    outcomes.into_iter().collect::<Result<Vec<()>>>()?;
    finish(state.into_inner().unwrap_or_else(|e| e.into_inner()))
}

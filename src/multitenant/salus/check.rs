//! The sharing family's checker, the only judge of a run: it replays the simulator's event log
//! against the jobs and the configuration and re-derives every figure, trusting nothing the
//! simulator computed.
//!
//! Checked at every event: the memory ledger (`ΣP + ΣL ≤ C`, each lane at least its largest
//! member's E, each job's persistent bytes charged exactly once), what each lane mode allows
//! (one lane; one job a lane), memory in use by running iterations, at most one iteration a
//! lane, an iteration starting only when its request has arrived, its work and switching time.
//! Between events the checker integrates every running iteration under its own reading of the
//! rate model; an iteration must end exactly when its work is done. At the end of every instant:
//! no idle lane with a ready member, and no waiting job that fits a fresh lane (the admission
//! never refuses what fits). At the end: every job finished all its iterations.

use super::lanes::{faithful_lane, LaneMode};
use super::log::{Event, Sink};
use super::sim::{Config, SimJob};
use super::Execution;
use crate::multitenant::slowdown::Combine;
use std::collections::{BTreeMap, BTreeSet};

#[derive(Debug, Clone)]
struct Running {
    job: usize,
    stall: f64,
    work: f64,
    work_ms: f64,
}

#[derive(Debug, Clone, Default)]
struct Lane {
    size: f64,
    members: Vec<usize>,
    running: Option<Running>,
    last: Option<usize>,
}

/// What the replay found.
#[derive(Debug, Clone, Default)]
pub struct Report {
    pub finish_ms: Vec<f64>,
    pub first_start_ms: Vec<f64>,
    pub latencies_ms: Vec<Vec<f64>>,
    pub busy_ms: f64,
    pub peak_reserved: f64,
    pub violations: usize,
    /// The first few violations, in order.
    pub first: Vec<String>,
    pub events: u64,
}

/// Replays a log event by event (a [`Sink`]); [`Checker::finish`] gives the report.
pub struct Checker<'a> {
    jobs: &'a [SimJob],
    cfg: &'a Config,
    exec: Execution,
    checkpoints: bool,
    t: f64,
    persistent: f64,
    lanes: BTreeMap<usize, Lane>,
    waiting: BTreeSet<usize>,
    arrived: Vec<bool>,
    lane_of: Vec<Option<usize>>,
    charged: Vec<f64>,
    done: Vec<u64>,
    restore_due: Vec<bool>,
    pending_save: f64,
    memory_changed: bool,
    /// Reused by `advance`: each running iteration's speed, in lane order.
    speeds: Vec<f64>,
    /// A log measured on a machine: iterations end when the machine said, so their lengths
    /// are not judged by the rate model (everything else is).
    measured: bool,
    r: Report,
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1e-6 * a.abs().max(b.abs()).max(1.0)
}

impl<'a> Checker<'a> {
    pub fn new(jobs: &'a [SimJob], cfg: &'a Config, exec: Execution, checkpoints: bool) -> Checker<'a> {
        let n = jobs.len();
        Checker {
            jobs,
            cfg,
            exec,
            checkpoints,
            t: 0.0,
            persistent: 0.0,
            lanes: BTreeMap::new(),
            waiting: BTreeSet::new(),
            arrived: vec![false; n],
            lane_of: vec![None; n],
            charged: vec![0.0; n],
            done: vec![0; n],
            restore_due: vec![false; n],
            pending_save: 0.0,
            memory_changed: false,
            speeds: Vec::new(),
            measured: false,
            r: Report {
                finish_ms: vec![f64::NAN; n],
                first_start_ms: vec![f64::NAN; n],
                latencies_ms: vec![Vec::new(); n],
                ..Report::default()
            },
        }
    }

    /// The checker of a log measured on a machine ([`super::sim::run_real`]).
    pub fn measured(mut self) -> Self {
        self.measured = true;
        self
    }

    fn fail(&mut self, why: String) {
        self.r.violations += 1;
        if self.r.first.len() < 5 {
            self.r.first.push(format!("t={:.3} ms: {why}", self.t));
        }
    }

    fn reserved(&self) -> f64 {
        self.persistent + self.lanes.values().map(|l| l.size).sum::<f64>()
    }

    fn within_capacity(&self, bytes: f64) -> bool {
        bytes <= self.cfg.capacity * (1.0 + 1e-9)
    }

    /// Job `job`'s progress per ms while it runs, by the checker's reading of the rate model
    /// (with measured slowdowns: one plus each other working item's excess slowdown).
    fn speed(&self, job: usize) -> f64 {
        let working = || self.lanes.values().filter_map(|l| l.running.as_ref()).filter(|r| r.stall <= 0.0);
        match self.exec {
            Execution::TimeSlice => match working().count() {
                0 | 1 => 1.0,
                n => self.cfg.quantum_ms / (self.cfg.quantum_ms + self.cfg.slice_switch_ms) / n as f64,
            },
            _ => match &self.cfg.slowdowns {
                Some(s) => {
                    let me = self.jobs[job].tenant;
                    let (n, sum) = working()
                        .filter(|r| r.job != job)
                        .fold((0usize, 0.0), |(n, sum), r| (n + 1, sum + s.get(me, self.jobs[r.job].tenant)));
                    let whole = || {
                        let others = working().filter(|r| r.job != job).map(|r| self.jobs[r.job].tenant);
                        s.in_set(me, others)
                    };
                    if n == 0 {
                        1.0
                    } else if let Some(x) = (s.combine == Combine::Measured && n >= 2).then(whole).flatten() {
                        1.0 / x
                    } else if s.combine == Combine::Saturating {
                        // The pair's throughput 2 / s̄, shared by every working item.
                        2.0 / (sum / n as f64) / (n + 1) as f64
                    } else {
                        1.0 / (1.0 + sum - n as f64)
                    }
                }
                None => {
                    let u: f64 = working().map(|r| self.jobs[r.job].occupancy).sum();
                    let share = if u > 1.0 { 1.0 / u } else { 1.0 };
                    share / (1.0 + self.cfg.beta * (u - 1.0).max(0.0))
                }
            },
        }
    }

    /// Integrates every running iteration from the current time to `to`, splitting where a
    /// switch ends (the set of working iterations, and so the speed, changes there).
    fn advance(&mut self, to: f64) {
        while self.t < to {
            let stall_end =
                self.lanes.values().filter_map(|l| l.running.as_ref()).filter(|r| r.stall > 0.0).map(|r| r.stall);
            let step = stall_end.fold(to - self.t, f64::min);
            let mut speeds = std::mem::take(&mut self.speeds);
            speeds.clear();
            speeds.extend(self.lanes.values().filter_map(|l| l.running.as_ref()).map(|r| self.speed(r.job)));
            let mut overrun = None;
            let mut any_working = false;
            let running = self.lanes.values_mut().filter_map(|l| l.running.as_mut());
            for (r, &speed) in running.zip(&speeds) {
                if r.stall > 0.0 {
                    let ends = r.stall <= step * (1.0 + 1e-9) || self.t + r.stall <= self.t + step;
                    r.stall = if ends { 0.0 } else { r.stall - step };
                } else {
                    any_working = true;
                    r.work -= step * speed;
                    if r.work < -1e-6 * r.work_ms.max(1.0) {
                        overrun = Some(r.job);
                    }
                }
            }
            self.speeds = speeds;
            if any_working {
                self.r.busy_ms += step;
            }
            self.t = if to - (self.t + step) <= 1e-12 * to.abs().max(1.0) { to } else { self.t + step };
            if let Some(j) = overrun.filter(|_| !self.measured) {
                self.fail(format!("job {j}'s iteration ran past its work without ending"));
            }
        }
    }

    fn ready(&self, j: usize) -> bool {
        let at = self.jobs[j].ready_at(self.done[j]);
        self.done[j] < self.jobs[j].iterations && self.t >= at - 1e-9 * at.abs().max(1.0)
    }

    /// The end-of-instant checks: no idle lane with a ready member, no waiting job that fits.
    fn close_instant(&mut self) {
        let mut problems: Vec<String> = Vec::new();
        for (id, l) in &self.lanes {
            if l.running.is_none() {
                if let Some(&m) = l.members.iter().find(|&&m| self.ready(m)) {
                    problems.push(format!("lane {id} idles while job {m} has a ready iteration"));
                }
            }
        }
        let (c, reserved) = (self.cfg.capacity, self.reserved());
        // Whether a waiting job fits changes only when memory or the queue does.
        let changed = std::mem::take(&mut self.memory_changed);
        for &j in self.waiting.iter().filter(|_| changed) {
            let (p, e) = (self.jobs[j].persistent, self.jobs[j].ephemeral);
            let fits = match self.cfg.lanes {
                LaneMode::Auto | LaneMode::PerJob => reserved + p + e <= c,
                LaneMode::One => match self.lanes.values().next() {
                    Some(l) => self.persistent + p + l.size.max(e) <= c,
                    None => p + e <= c,
                },
                LaneMode::Faithful => reserved + faithful_lane(p, e) <= c,
                LaneMode::Exclusive => self.lanes.is_empty(),
            };
            if fits {
                problems.push(format!("job {j} waits although it fits"));
                break;
            }
        }
        for p in problems {
            self.fail(p);
        }
    }

    fn on_event(&mut self, e: Event) {
        if e.is_membership() {
            self.memory_changed = true;
        }
        match e {
            Event::Arrive { job, .. } => {
                if self.arrived[job] || self.t < self.jobs[job].submit_ms - 1e-9 * self.t.max(1.0) {
                    self.fail(format!("job {job} arrives twice or before its submission"));
                }
                self.arrived[job] = true;
                self.waiting.insert(job);
            }
            Event::Admit { job, lane, lane_size, persistent, .. } => self.admit(job, lane, lane_size, persistent),
            Event::Start { job, lane, stall_ms, work_ms, .. } => self.start(job, lane, stall_ms, work_ms),
            Event::End { job, lane, .. } => self.end(job, lane),
            Event::Preempt { job, lane, .. } => {
                if !(self.exec == Execution::Exclusive && self.checkpoints) {
                    self.fail(format!("job {job} preempted out of memory by a policy that does not checkpoint"));
                }
                self.leave(job, lane);
                self.pending_save = self.jobs[job].persistent / self.cfg.d2h_bytes_per_ms;
                self.restore_due[job] = true;
                self.waiting.insert(job);
            }
            Event::Depart { job, lane, .. } => {
                if self.done[job] != self.jobs[job].iterations {
                    self.fail(format!(
                        "job {job} departs after {} of {} iterations",
                        self.done[job], self.jobs[job].iterations
                    ));
                }
                self.leave(job, lane);
                self.r.finish_ms[job] = self.t;
            }
            Event::Resize { lane, size, .. } => {
                let jobs = self.jobs;
                let ok = self.cfg.shrink
                    && self.lanes.get(&lane).is_some_and(|l| {
                        size <= l.size && l.members.iter().all(|&m| size >= jobs[m].ephemeral * (1.0 - 1e-12))
                    });
                if !ok {
                    self.fail(format!("lane {lane} resized to {size} below a member or without --shrink"));
                }
                if let Some(l) = self.lanes.get_mut(&lane) {
                    l.size = size;
                }
            }
        }
    }

    fn admit(&mut self, job: usize, lane: usize, size: f64, persistent: f64) {
        let (p, e) = (self.jobs[job].persistent, self.jobs[job].ephemeral);
        if !self.waiting.remove(&job) {
            self.fail(format!("job {job} admitted without waiting"));
        }
        let mode = self.cfg.lanes;
        let want = if mode == LaneMode::Faithful { 0.0 } else { p };
        if !close(persistent, want) {
            self.fail(format!("job {job} charged {persistent} persistent bytes, not {want}"));
        }
        let need = if mode == LaneMode::Faithful { p + e } else { e };
        if size < need * (1.0 - 1e-12) {
            self.fail(format!("job {job}'s lane {lane} of {size} bytes cannot hold its {need}"));
        }
        let exists = self.lanes.contains_key(&lane);
        let shares = matches!(mode, LaneMode::Auto | LaneMode::One);
        if exists && !shares {
            self.fail(format!("job {job} joins lane {lane}, but lanes {} hold one job each", mode.as_str()));
        }
        if !exists && ((mode == LaneMode::One || mode == LaneMode::Exclusive) && !self.lanes.is_empty()) {
            self.fail(format!("a second lane opened under lanes {}", mode.as_str()));
        }
        let l = self.lanes.entry(lane).or_default();
        let shrank = size < l.size;
        l.size = size;
        l.members.push(job);
        if shrank {
            self.fail(format!("lane {lane} shrank on admitting job {job}"));
        }
        self.persistent += persistent;
        self.lane_of[job] = Some(lane);
        self.charged[job] = persistent;
        let reserved = self.reserved();
        self.r.peak_reserved = self.r.peak_reserved.max(reserved);
        if !self.within_capacity(reserved) {
            self.fail(format!(
                "reserved {reserved} bytes (persistent + lanes) exceed the capacity {}",
                self.cfg.capacity
            ));
        }
    }

    fn start(&mut self, job: usize, lane: usize, stall: f64, work: f64) {
        let ok_lane = self.lanes.get(&lane).is_some_and(|l| l.members.contains(&job) && l.running.is_none());
        if !ok_lane {
            self.fail(format!("job {job} starts in lane {lane}, which it is not in or which is busy"));
            return;
        }
        if !self.ready(job) {
            self.fail(format!("job {job} starts iteration {} before it is ready", self.done[job]));
        }
        if !close(work, self.jobs[job].iter_ms) {
            self.fail(format!("job {job}'s iteration carries {work} ms of work, not {}", self.jobs[job].iter_ms));
        }
        let expected = if self.exec == Execution::Exclusive {
            let restore = if std::mem::take(&mut self.restore_due[job]) {
                self.jobs[job].persistent / self.cfg.h2d_bytes_per_ms + self.cfg.restart_ms
            } else {
                0.0
            };
            std::mem::take(&mut self.pending_save) + restore
        } else {
            match self.lanes[&lane].last {
                Some(prev) if prev != job => self.cfg.switch_ms,
                _ => 0.0,
            }
        };
        if !close(stall, expected) {
            self.fail(format!("job {job}'s switch takes {stall} ms, the rule gives {expected}"));
        }
        let l = self.lanes.get_mut(&lane).expect("checked above");
        l.running = Some(Running { job, stall, work, work_ms: work });
        l.last = Some(job);
        if self.r.first_start_ms[job].is_nan() {
            self.r.first_start_ms[job] = self.t;
        }
        let jobs = self.jobs;
        // Salus's lanes hold P themselves: the ledger's check at admission covers them.
        let in_use = self.persistent
            + self.lanes.values().filter_map(|l| l.running.as_ref()).map(|r| jobs[r.job].ephemeral).sum::<f64>();
        if self.cfg.lanes != LaneMode::Faithful && !self.within_capacity(in_use) {
            self.fail(format!("memory in use {in_use} exceeds the capacity"));
        }
    }

    fn end(&mut self, job: usize, lane: usize) {
        let Some(r) = self.lanes.get_mut(&lane).and_then(|l| l.running.take()) else {
            self.fail(format!("job {job} ends an iteration in idle lane {lane}"));
            return;
        };
        if r.job != job {
            self.fail(format!("lane {lane} ends job {job}'s iteration but runs job {}", r.job));
        }
        if !self.measured && (r.stall > 1e-6 || r.work > 1e-6 * r.work_ms.max(1.0)) {
            self.fail(format!("job {job}'s iteration ends with {} ms of work left", r.work.max(r.stall)));
        }
        let k = self.done[job];
        if self.jobs[job].infer {
            let lat = self.t - self.jobs[job].ready_at(k);
            self.r.latencies_ms[job].push(lat);
        }
        self.done[job] += 1;
    }

    fn leave(&mut self, job: usize, lane: usize) {
        if self.lane_of[job] != Some(lane) {
            self.fail(format!("job {job} leaves lane {lane}, which it is not in"));
            return;
        }
        self.lane_of[job] = None;
        self.persistent -= std::mem::take(&mut self.charged[job]);
        let mut busy = false;
        if let Some(l) = self.lanes.get_mut(&lane) {
            busy = l.running.is_some();
            l.members.retain(|&m| m != job);
            if l.members.is_empty() {
                self.lanes.remove(&lane);
            }
        }
        if busy {
            self.fail(format!("job {job} leaves lane {lane} while an iteration runs there"));
        }
    }

    /// The report, after the last event.
    pub fn finish(mut self) -> Report {
        self.close_instant();
        for j in 0..self.jobs.len() {
            if self.r.finish_ms[j].is_nan() {
                self.fail(format!("job {j} never finished"));
            }
        }
        if !self.lanes.is_empty() || !self.waiting.is_empty() {
            self.fail("lanes or waiting jobs remain at the end".into());
        }
        self.r
    }
}

impl Sink for Checker<'_> {
    fn event(&mut self, e: Event) {
        self.r.events += 1;
        let t = e.t();
        if t < self.t - 1e-9 * self.t.max(1.0) {
            self.fail(format!("event at {t} ms is earlier than the previous one"));
        } else if t > self.t {
            self.close_instant();
            self.advance(t);
        }
        self.on_event(e);
    }
}

//! The shared-GPU event simulator: arrivals, admissions into lanes, iterations starting and
//! ending. Between events every running iteration progresses at the rate model's rate
//! (`multitenant::fluid`); a policy picks a lane's next member whenever the lane is idle.
//! Ties are broken by (arrival, index) so that a run is a function of its inputs.
//!
//! The same decisions drive a real machine ([`run_real`]): iterations are started on it, and
//! each ends when the machine says so, on its clock, instead of when the rate model says.

use super::lanes::{LaneMode, Memory};
use super::log::{Event, Sink};
use super::{Execution, JobView, SharingPolicy};
use crate::error::{Error, Result};
use crate::multitenant::fluid::{shared_rate, sliced_rate};
use crate::multitenant::slowdown::{Combine, PairSlowdowns};

/// One job as the simulator sees it.
#[derive(Debug, Clone, PartialEq)]
pub struct SimJob {
    pub name: String,
    pub submit_ms: f64,
    pub iterations: u64,
    /// Standalone GPU time of one iteration.
    pub iter_ms: f64,
    pub persistent: f64,
    pub ephemeral: f64,
    pub occupancy: f64,
    /// Its tenant's row in the run's slowdown table (jobs of one tenant share it).
    pub tenant: usize,
    pub infer: bool,
    /// Serving: when each request (one per iteration) arrives; none = all at submission.
    pub requests: Option<Vec<f64>>,
    /// Serving: a request's latency objective.
    pub slo_ms: Option<f64>,
}

impl SimJob {
    /// Standalone duration: what SRTF estimates and slowdowns divide by.
    pub fn standalone_ms(&self) -> f64 {
        self.iterations as f64 * self.iter_ms
    }

    /// When iteration `k` (from 0) may start.
    pub fn ready_at(&self, k: u64) -> f64 {
        match &self.requests {
            Some(r) => r.get(k as usize).copied().unwrap_or(f64::INFINITY).max(self.submit_ms),
            None => self.submit_ms,
        }
    }
}

/// Everything about a run besides the jobs and the policy.
#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    /// Bytes of GPU memory the jobs may use.
    pub capacity: f64,
    pub lanes: LaneMode,
    pub beta: f64,
    pub quantum_ms: f64,
    pub slice_switch_ms: f64,
    /// Switching a lane from one member to another, ms.
    pub switch_ms: f64,
    /// Lanes shrink to their largest member when one leaves.
    pub shrink: bool,
    /// Checkpoint bandwidths (bytes per ms) and a process restart (ms), exclusive SRTF.
    pub d2h_bytes_per_ms: f64,
    pub h2d_bytes_per_ms: f64,
    pub restart_ms: f64,
    /// Serving members run before training members of their lane.
    pub infer_first: bool,
    /// SRTF's remaining time as remaining iterations × iteration time instead of the
    /// standalone duration minus the wall time received.
    pub srtf_by_iterations: bool,
    /// Measured pairwise slowdowns replacing the occupancy rate model of concurrent lanes.
    pub slowdowns: Option<std::sync::Arc<PairSlowdowns>>,
}

/// A machine that runs iterations for real, on a clock of its own (ms from the run's start).
pub trait Iterations {
    /// Starts one iteration of `job` in `lane` and returns at once.
    fn start(&mut self, job: usize, lane: usize) -> Result<()>;
    /// Waits until some iteration ends or the clock reaches `until_ms` (which may be
    /// infinite), pushes the jobs whose iteration ended onto `ended`, and returns the clock.
    fn wait(&mut self, until_ms: f64, ended: &mut Vec<usize>) -> Result<f64>;
    /// The clock, ms.
    fn now_ms(&self) -> f64;
}

/// What the simulator computed (its claim; the checker re-derives it from the log).
#[derive(Debug, Clone, Default)]
pub struct Outcome {
    pub finish_ms: Vec<f64>,
    pub first_start_ms: Vec<f64>,
    /// Serving jobs: each request's latency, ms.
    pub latencies_ms: Vec<Vec<f64>>,
    pub busy_ms: f64,
    pub peak_reserved: f64,
    pub iterations: u64,
    pub preemptions: usize,
}

#[derive(Debug, Clone, Default)]
struct Run {
    done: u64,
    service: f64,
    seq: Option<usize>,
    lane: Option<usize>,
    charged: f64,
    since: u64,
    /// Checkpointed out: its next start restores its state and restarts its process.
    restore_due: bool,
    running: bool,
    first_start: Option<f64>,
    finish: Option<f64>,
}

#[derive(Debug, Clone)]
struct Item {
    job: usize,
    lane: usize,
    stall: f64,
    work: f64,
    start: f64,
}

struct Sim<'a> {
    jobs: &'a [SimJob],
    policy: &'a dyn SharingPolicy,
    cfg: &'a Config,
    exec: Execution,
    mem: Memory,
    runs: Vec<Run>,
    queue: Vec<usize>,
    items: Vec<Item>,
    /// Lane id → the member that ran last in it.
    last: std::collections::HashMap<usize, usize>,
    /// Exclusive SRTF: the save cost of the job checkpointed out, paid by the next start.
    pending_save: f64,
    seq: usize,
    /// Some job waits for requests (the loop then looks for the next one).
    serving: bool,
    /// Memory or the queue changed since admission was last tried.
    retry: bool,
    /// Reused by `start_idle` and `finish_items` (one iteration ends per event: no
    /// allocation on that path).
    scratch: Vec<(usize, usize)>,
    ended: Vec<Item>,
    /// Each item's rate between two events, parallel to `items`.
    rates: Vec<f64>,
    out: Outcome,
    sink: &'a mut dyn Sink,
    /// The machine whose clock ends iterations (none: the rate model does), and the first
    /// error it reported.
    real: Option<&'a mut dyn Iterations>,
    failed: Option<Error>,
    /// Reused by `real_step`: the jobs whose iteration the machine ended.
    ended_jobs: Vec<usize>,
}

/// Simulates `jobs` under `policy`; every event goes to `sink`.
pub fn simulate(jobs: &[SimJob], policy: &dyn SharingPolicy, cfg: &Config, sink: &mut dyn Sink) -> Result<Outcome> {
    drive(jobs, policy, cfg, sink, None)
}

/// Runs `jobs` under `policy` on `machine`, the policy deciding as in [`simulate`] and every
/// iteration ending when the machine's clock says; every event goes to `sink`.
pub fn run_real(
    jobs: &[SimJob],
    policy: &dyn SharingPolicy,
    cfg: &Config,
    sink: &mut dyn Sink,
    machine: &mut dyn Iterations,
) -> Result<Outcome> {
    if policy.checkpoints() || policy.execution() == Execution::TimeSlice {
        return Err(Error::Usage(format!(
            "{} is modelled (checkpoints or time slices): it has no real run",
            policy.name()
        )));
    }
    if cfg.switch_ms > 0.0 {
        return Err(Error::Usage("a real run measures its switches: leave --switch-ms at 0".into()));
    }
    drive(jobs, policy, cfg, sink, Some(machine))
}

fn drive<'a>(
    jobs: &'a [SimJob],
    policy: &'a dyn SharingPolicy,
    cfg: &'a Config,
    sink: &'a mut dyn Sink,
    real: Option<&'a mut dyn Iterations>,
) -> Result<Outcome> {
    let mut s = Sim {
        jobs,
        policy,
        cfg,
        exec: policy.execution(),
        mem: Memory::new(cfg.capacity),
        runs: vec![Run::default(); jobs.len()],
        queue: Vec::new(),
        items: Vec::new(),
        last: Default::default(),
        pending_save: 0.0,
        seq: 0,
        serving: jobs.iter().any(|j| j.requests.is_some()),
        retry: false,
        scratch: Vec::new(),
        ended: Vec::new(),
        rates: Vec::new(),
        out: Outcome { latencies_ms: vec![Vec::new(); jobs.len()], ..Outcome::default() },
        sink,
        real,
        failed: None,
        ended_jobs: Vec::new(),
    };
    s.run()?;
    s.out.first_start_ms = s.runs.iter().map(|r| r.first_start.unwrap_or(f64::NAN)).collect();
    s.out.finish_ms = s.runs.iter().map(|r| r.finish.unwrap_or(f64::NAN)).collect();
    Ok(s.out)
}

/// Order of arrival: by submission time, then index.
pub fn arrival_order(jobs: &[SimJob]) -> Vec<usize> {
    let mut order: Vec<usize> = (0..jobs.len()).collect();
    order.sort_by(|&a, &b| jobs[a].submit_ms.total_cmp(&jobs[b].submit_ms).then(a.cmp(&b)));
    order
}

/// Whether `a` reaches time `b` (absolute and relative tolerance).
fn reached(a: f64, b: f64) -> bool {
    a >= b - 1e-9 * b.abs().max(1.0)
}

impl Sim<'_> {
    fn run(&mut self) -> Result<()> {
        let order = arrival_order(self.jobs);
        let (mut t, mut next_arrival) = (0.0f64, 0usize);
        loop {
            while next_arrival < order.len() && reached(t, self.jobs[order[next_arrival]].submit_ms) {
                let j = order[next_arrival];
                self.sink.event(Event::Arrive { t, job: j });
                self.enqueue(j);
                next_arrival += 1;
            }
            self.admit(t);
            self.start_idle(t);
            if let Some(e) = self.failed.take() {
                return Err(e);
            }
            if self.real.is_some() {
                match self.real_step(t, order.get(next_arrival).map(|&j| self.jobs[j].submit_ms))? {
                    Some(now) => {
                        t = now;
                        self.finish_items(t);
                        continue;
                    }
                    None => break,
                }
            }
            self.fill_rates();
            let mut next = order.get(next_arrival).map_or(f64::INFINITY, |&j| self.jobs[j].submit_ms);
            for (it, &r) in self.items.iter().zip(&self.rates) {
                next = next.min(t + if it.stall > 0.0 { it.stall } else { it.work / r });
            }
            if self.serving {
                next = next.min(self.next_request(t));
            }
            if !next.is_finite() {
                break;
            }
            let dt = (next - t).max(0.0);
            if self.items.iter().any(|i| i.stall <= 0.0) {
                self.out.busy_ms += dt;
            }
            // An item whose phase ends within rounding of the step ends now, exactly.
            // (A remnant too small to move the clock ends too, or the loop would stall.)
            let ends = |left: f64| left <= dt * (1.0 + 1e-9) || t + left <= next;
            for (it, &r) in self.items.iter_mut().zip(&self.rates) {
                if it.stall > 0.0 {
                    it.stall = if ends(it.stall) { 0.0 } else { it.stall - dt };
                } else {
                    it.work = if ends(it.work / r) { 0.0 } else { it.work - dt * r };
                }
            }
            t = next;
            self.finish_items(t);
        }
        if let Some(j) = (0..self.jobs.len()).find(|&j| self.runs[j].finish.is_none()) {
            let how = if self.runs[j].lane.is_none() { "was never admitted" } else { "never finished" };
            return Err(Error::Algorithm(format!(
                "job {} {how} under lanes {} (its memory: P {:.0} + E {:.0} bytes of {:.0})",
                self.jobs[j].name,
                self.cfg.lanes.as_str(),
                self.jobs[j].persistent,
                self.jobs[j].ephemeral,
                self.cfg.capacity
            )));
        }
        Ok(())
    }

    /// Waits on the machine until the next arrival or request, or an iteration's end; the
    /// clock then (none: nothing is left to wait for). Ended iterations have no work left.
    fn real_step(&mut self, t: f64, arrival: Option<f64>) -> Result<Option<f64>> {
        let mut next = arrival.unwrap_or(f64::INFINITY);
        if self.serving {
            next = next.min(self.next_request(t));
        }
        if !next.is_finite() && self.items.is_empty() {
            return Ok(None);
        }
        let mut jobs = std::mem::take(&mut self.ended_jobs);
        jobs.clear();
        let machine = self.real.as_mut().expect("a real run");
        let now = machine.wait(next, &mut jobs)?.max(t);
        if !self.items.is_empty() {
            self.out.busy_ms += now - t;
        }
        for it in self.items.iter_mut().filter(|i| jobs.contains(&i.job)) {
            (it.stall, it.work) = (0.0, 0.0);
        }
        self.ended_jobs = jobs;
        Ok(Some(now))
    }

    fn view(&self, j: usize) -> JobView {
        let r = &self.runs[j];
        JobView {
            admitted: r.seq.unwrap_or(usize::MAX / 2 + j),
            submit_s: self.jobs[j].submit_ms / 1e3,
            remaining_ms: if self.cfg.srtf_by_iterations {
                (self.jobs[j].iterations - r.done) as f64 * self.jobs[j].iter_ms
            } else {
                self.jobs[j].standalone_ms() - r.service
            },
            service_ms: r.service,
            since_change: r.since,
        }
    }

    /// The policy's order: serving first where asked, the policy's rank, admission, index.
    fn key(&self, j: usize) -> (bool, f64, usize, usize) {
        let v = self.view(j);
        (self.cfg.infer_first && !self.jobs[j].infer, self.policy.rank(&v), v.admitted, j)
    }

    fn better(&self, a: usize, b: usize) -> bool {
        let (ka, kb) = (self.key(a), self.key(b));
        ka.0.cmp(&kb.0).then(ka.1.total_cmp(&kb.1)).then(ka.2.cmp(&kb.2)).then(ka.3.cmp(&kb.3)).is_lt()
    }

    fn enqueue(&mut self, j: usize) {
        self.retry = true;
        let jobs = self.jobs;
        let at = self.queue.partition_point(|&q| (jobs[q].submit_ms, q) < (jobs[j].submit_ms, j));
        self.queue.insert(at, j);
    }

    fn admit(&mut self, t: f64) {
        // Admission can only change when memory or the queue did.
        if !std::mem::take(&mut self.retry) {
            return;
        }
        if self.exec == Execution::Exclusive {
            if !self.mem.lanes.is_empty() || self.queue.is_empty() {
                return;
            }
            let mut best = 0;
            for i in 1..self.queue.len() {
                if self.better(self.queue[i], self.queue[best]) {
                    best = i;
                }
            }
            let j = self.queue[best];
            if self.place(t, j) {
                self.queue.remove(best);
            }
            return;
        }
        // Backfilling: every waiting job that fits, in arrival order.
        let mut i = 0;
        while i < self.queue.len() {
            let j = self.queue[i];
            if self.place(t, j) {
                self.queue.remove(i);
            } else {
                i += 1;
            }
        }
    }

    fn place(&mut self, t: f64, j: usize) -> bool {
        let job = &self.jobs[j];
        let Some(p) = self.mem.admit(self.cfg.lanes, j, job.persistent, job.ephemeral) else { return false };
        self.sink.event(Event::Admit { t, job: j, lane: p.lane, lane_size: p.lane_size, persistent: p.persistent });
        let r = &mut self.runs[j];
        r.seq = Some(self.seq);
        r.lane = Some(p.lane);
        r.charged = p.persistent;
        self.seq += 1;
        self.membership_changed(p.lane);
        self.out.peak_reserved = self.out.peak_reserved.max(self.mem.reserved());
        true
    }

    fn membership_changed(&mut self, lane: usize) {
        if let Some(l) = self.mem.lanes.iter().find(|l| l.id == lane) {
            for &(m, _) in &l.members {
                self.runs[m].since = 0;
            }
        }
    }

    fn ready(&self, j: usize, t: f64) -> bool {
        let r = &self.runs[j];
        !r.running && r.finish.is_none() && reached(t, self.jobs[j].ready_at(r.done))
    }

    fn start_idle(&mut self, t: f64) {
        let mut picks = std::mem::take(&mut self.scratch);
        picks.clear();
        for l in &self.mem.lanes {
            if self.items.iter().any(|i| i.lane == l.id) {
                continue;
            }
            let mut pick: Option<usize> = None;
            for &(m, _) in &l.members {
                if self.ready(m, t) && pick.is_none_or(|p| self.better(m, p)) {
                    pick = Some(m);
                }
            }
            if let Some(j) = pick {
                picks.push((l.id, j));
            }
        }
        for &(lane, j) in &picks {
            self.start(t, lane, j);
        }
        self.scratch = picks;
    }

    fn start(&mut self, t: f64, lane: usize, j: usize) {
        let job = &self.jobs[j];
        let stall = if self.exec == Execution::Exclusive {
            let restore = if std::mem::take(&mut self.runs[j].restore_due) {
                job.persistent / self.cfg.h2d_bytes_per_ms + self.cfg.restart_ms
            } else {
                0.0
            };
            std::mem::take(&mut self.pending_save) + restore
        } else {
            match self.last.get(&lane) {
                Some(&prev) if prev != j => self.cfg.switch_ms,
                _ => 0.0,
            }
        };
        self.last.insert(lane, j);
        self.sink.event(Event::Start { t, job: j, lane, stall_ms: stall, work_ms: job.iter_ms });
        if let Some(m) = self.real.as_mut() {
            if let Err(e) = m.start(j, lane) {
                self.failed.get_or_insert(e);
            }
        }
        let r = &mut self.runs[j];
        r.running = true;
        r.first_start.get_or_insert(t);
        self.items.push(Item { job: j, lane, stall, work: job.iter_ms, start: t });
    }

    /// The rate each item progresses at until the next event (stalled items: unused).
    fn fill_rates(&mut self) {
        let working = || self.items.iter().filter(|i| i.stall <= 0.0);
        let jobs = self.jobs;
        self.rates.clear();
        match (self.exec, self.cfg.slowdowns.as_deref()) {
            (Execution::TimeSlice, _) => {
                let r = sliced_rate(working().count(), self.cfg.quantum_ms, self.cfg.slice_switch_ms);
                self.rates.resize(self.items.len(), r);
            }
            (_, None) => {
                let r = shared_rate(working().map(|i| jobs[i.job].occupancy).sum(), self.cfg.beta);
                self.rates.resize(self.items.len(), r);
            }
            (_, Some(s)) => {
                for (k, a) in self.items.iter().enumerate() {
                    let me = jobs[a.job].tenant;
                    let others = || {
                        let beside = self.items.iter().enumerate().filter(|&(m, b)| m != k && b.stall <= 0.0);
                        beside.map(|(_, b)| jobs[b.job].tenant)
                    };
                    let (n, sum) = others().fold((0usize, 0.0), |(n, sum), b| (n + 1, sum + s.get(me, b)));
                    let additive = 1.0 / (1.0 + sum - n as f64);
                    self.rates.push(match s.combine {
                        _ if n == 0 => 1.0,
                        Combine::Additive => additive,
                        Combine::Measured => {
                            (n >= 2).then(|| s.in_set(me, others())).flatten().map_or(additive, |x| 1.0 / x)
                        }
                        Combine::Saturating => 2.0 / ((n + 1) as f64 * sum / n as f64),
                    });
                }
            }
        }
    }

    /// The earliest request of a member of an idle lane that has not arrived yet.
    fn next_request(&self, t: f64) -> f64 {
        let mut next = f64::INFINITY;
        for l in &self.mem.lanes {
            if self.items.iter().any(|i| i.lane == l.id) {
                continue;
            }
            for &(m, _) in &l.members {
                let r = &self.runs[m];
                if r.finish.is_none() && !r.running {
                    let at = self.jobs[m].ready_at(r.done);
                    if at > t {
                        next = next.min(at);
                    }
                }
            }
        }
        next
    }

    fn finish_items(&mut self, t: f64) {
        let mut done = std::mem::take(&mut self.ended);
        done.clear();
        self.items.retain(|i| {
            let finished = i.stall <= 0.0 && i.work <= 0.0;
            if finished {
                done.push(i.clone());
            }
            !finished
        });
        done.sort_by_key(|i| i.lane);
        for it in done.drain(..) {
            self.end(t, it);
        }
        self.ended = done;
    }

    fn end(&mut self, t: f64, it: Item) {
        let j = it.job;
        self.sink.event(Event::End { t, job: j, lane: it.lane });
        self.out.iterations += 1;
        let job = &self.jobs[j];
        let k = self.runs[j].done;
        if job.infer {
            let arrived = job.ready_at(k);
            self.out.latencies_ms[j].push(t - arrived);
        }
        let r = &mut self.runs[j];
        r.done += 1;
        r.service += t - it.start;
        r.since += 1;
        r.running = false;
        if r.done == job.iterations {
            r.finish = Some(t);
            self.sink.event(Event::Depart { t, job: j, lane: it.lane });
            self.leave(j, it.lane, t);
            return;
        }
        if self.exec == Execution::Exclusive
            && self.policy.checkpoints()
            && self.queue.iter().any(|&q| self.better(q, j))
        {
            self.sink.event(Event::Preempt { t, job: j, lane: it.lane });
            self.pending_save = job.persistent / self.cfg.d2h_bytes_per_ms;
            self.runs[j].restore_due = true;
            self.out.preemptions += 1;
            self.leave(j, it.lane, t);
            self.enqueue(j);
        }
    }

    fn leave(&mut self, j: usize, lane: usize, t: f64) {
        self.retry = true;
        let charged = self.runs[j].charged;
        let (closed, resized) = self.mem.release(j, lane, charged, self.cfg.shrink);
        self.runs[j].lane = None;
        if closed {
            self.last.remove(&lane);
        } else {
            if let Some(size) = resized {
                self.sink.event(Event::Resize { t, lane, size });
            }
            self.membership_changed(lane);
        }
    }
}

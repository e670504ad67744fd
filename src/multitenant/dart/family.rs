//! The pipeline family's cells: one method on one task set. The method's choice is analysed,
//! then simulated (synchronous periodic releases at WCET, and seeded sporadic patterns at
//! `[0.5, 1]` × WCET) under the method's runtime with the checker replaying every run: a run
//! that breaks the runtime's rules, or an admitted set that misses a deadline or exceeds an
//! analysed bound, is a failed run (`mismatch`). Baselines without admission report what they
//! observed; their misses are their result. With online admission the tasks arrive in the
//! set's order and each is admitted only if the method still finds a schedulable
//! configuration for those admitted with it (else it is rejected, the configuration kept).

use super::check::{check, Report};
use super::choose::Choice;
use super::methods::PipelineMethod;
use super::model::{Node, Plan, Platform, Runtime, Task};
use super::multistream;
use super::sim::{releases, simulate, Event, Exec, Run};
use super::taskset::TaskSet;
use super::timeline::{lanes, segments, Segment};
use crate::error::Result;
use crate::family::{Cell, CellResult, NotApplicable};
use crate::results::{Record, Status};
use serde::Serialize;

/// The objective kind of the family's rows: the weighted score W (lower is better).
pub const OBJECTIVE: &str = "dart";

pub struct PipelineCell<'a> {
    pub set: &'a TaskSet,
    pub hash: &'a str,
    pub method: &'static dyn PipelineMethod,
    pub platform: Platform,
    /// Seeded sporadic patterns besides the synchronous one.
    pub patterns: usize,
    /// Simulated span, in longest periods.
    pub periods: f64,
    pub seed: u64,
    /// Admit the tasks one at a time in the set's order.
    pub online: bool,
    /// Keep the synchronous run's timeline in the run file.
    pub timeline: bool,
}

/// A method's answer: its choice for the admitted tasks (indices into the set, ascending).
#[derive(Debug, Clone)]
pub struct Admitted {
    pub choice: Choice,
    pub tasks: Vec<usize>,
}

/// What a cell writes beside its row.
#[derive(Debug, Serialize)]
pub struct RunFile<'a> {
    pub schema_version: u32,
    pub taskset: &'a str,
    pub method: &'a str,
    pub runtime: Runtime,
    pub config: &'a [Node],
    pub tasks: Vec<TaskRow<'a>>,
    /// The synchronous run at WCET over its first two longest periods, lane by lane.
    pub lanes: Vec<String>,
    pub timeline: Vec<Segment>,
}

#[derive(Debug, Serialize)]
pub struct TaskRow<'a> {
    pub task: &'a str,
    pub rt: bool,
    pub admitted: bool,
    pub cuts: Option<&'a [usize]>,
    pub analysed_ms: Option<f64>,
    pub observed_ms: Option<f64>,
    pub deadline_ms: f64,
    pub misses: usize,
    /// Best effort: jobs per second in the synchronous run.
    pub throughput_per_s: Option<f64>,
}

pub const RUN_SCHEMA: u32 = 3;

/// The most units a run file's timeline keeps.
const TIMELINE_CAP: usize = 4000;

/// Simulates `plan` under its runtime and replays the log with the runtime's checker.
pub fn run_and_check(plan: &Plan, rel: &[Vec<f64>], horizon: f64, exec: Exec) -> (Run, Report) {
    if plan.runtime == Runtime::Multistream {
        let run = multistream::simulate(plan, rel, horizon, exec);
        let rep = multistream::check(plan, &run.events);
        (run, rep)
    } else {
        let run = simulate(plan, rel, horizon, exec);
        let rep = check(plan, &run.events);
        (run, rep)
    }
}

/// Every pattern's runs, summed up.
#[derive(Debug, Clone, Default)]
pub struct Observed {
    /// Per task, the longest response the checker derived and the simulator reported.
    pub checked: Vec<f64>,
    pub simulated: Vec<f64>,
    /// Per task, deadline misses; best effort, jobs per second in the synchronous run.
    pub misses: Vec<usize>,
    pub throughput: Vec<f64>,
    pub violations: usize,
    pub first: Vec<String>,
    /// The synchronous run's log.
    pub synchronous: Vec<Event>,
}

/// Runs `plan` synchronously at WCET and under `patterns` seeded sporadic patterns for
/// `periods` longest periods.
pub fn observe(plan: &Plan, patterns: usize, periods: f64, seed: u64) -> Observed {
    let tasks = plan.tasks;
    let horizon = periods * longest_period(tasks);
    let n = tasks.len();
    let mut o = Observed {
        checked: vec![0.0; n],
        simulated: vec![0.0; n],
        misses: vec![0; n],
        throughput: vec![0.0; n],
        ..Observed::default()
    };
    for k in 0..=patterns {
        let (rel, exec) = if k == 0 {
            (releases(tasks, horizon, None, 0.0), Exec::WCET)
        } else {
            let s = seed.wrapping_add(k as u64);
            (releases(tasks, horizon, Some(s), 0.5), Exec::uniform(0.5, s))
        };
        let (run, rep) = run_and_check(plan, &rel, horizon, exec);
        o.violations += rep.violations;
        o.first.extend(rep.first.into_iter().take(2));
        if k == 0 {
            o.synchronous = run.events;
        }
        for i in 0..n {
            let worst = |v: &[f64], from: f64| v.iter().copied().fold(from, f64::max);
            o.checked[i] = worst(&rep.responses[i], o.checked[i]);
            o.simulated[i] = worst(&run.responses[i], o.simulated[i]);
            if tasks[i].rt() {
                o.misses[i] += rep.responses[i].iter().filter(|&&x| x > tasks[i].deadline_ms * (1.0 + 1e-12)).count();
            } else if k == 0 {
                o.throughput[i] = rep.responses[i].len() as f64 / (horizon / 1e3);
            }
        }
    }
    o
}

fn longest_period(tasks: &[Task]) -> f64 {
    tasks.iter().map(|t| t.period_ms).fold(0.0, f64::max)
}

/// The weighted score over observed worst responses.
pub fn observed_score(tasks: &[Task], worst: &[f64]) -> f64 {
    let rt = tasks.iter().filter(|t| t.rt()).count().max(1) as f64;
    tasks.iter().zip(worst).filter(|(t, _)| t.rt()).map(|(t, r)| t.weight / rt * r / t.deadline_ms).sum()
}

impl PipelineCell<'_> {
    /// Online admission: the tasks in order, each kept only with a schedulable choice.
    fn admit_online(&self) -> Option<Admitted> {
        let tasks = &self.set.tasks;
        let mut best: Option<Admitted> = None;
        for i in 0..tasks.len() {
            let mut ids = best.as_ref().map_or_else(Vec::new, |b| b.tasks.clone());
            ids.push(i);
            let with: Vec<Task> = ids.iter().map(|&j| tasks[j].clone()).collect();
            if let Some(choice) = self.method.choose(&self.platform, &with) {
                best = Some(Admitted { choice, tasks: ids });
            }
        }
        best
    }
}

impl Cell for PipelineCell<'_> {
    type Answer = Option<Admitted>;

    fn header(&self) -> Record {
        let p = &self.platform;
        let options = format!(
            "gpus={};cores={};max_nodes={};idle_cores={};patterns={};periods={}{}",
            p.gpus,
            p.cores,
            p.max_nodes,
            p.idle_cores,
            self.patterns,
            self.periods,
            if self.online { ";online=true" } else { "" }
        );
        Record::new(&self.set.name, self.hash, OBJECTIVE, self.method.name(), options, self.seed)
    }

    fn applicable(&self) -> std::result::Result<(), NotApplicable> {
        self.method.applies(&self.platform, &self.set.tasks)
    }

    fn attempt(&self) -> Result<Option<Admitted>> {
        if self.online && self.method.admits() {
            return Ok(self.admit_online());
        }
        let all = (0..self.set.tasks.len()).collect();
        Ok(self.method.choose(&self.platform, &self.set.tasks).map(|choice| Admitted { choice, tasks: all }))
    }

    fn judge(&self, answer: Option<Admitted>, mut r: Record) -> CellResult {
        let Some(Admitted { choice: c, tasks: ids }) = answer else {
            r.status = Status::Infeasible;
            r.feasible = false;
            r.message = "no candidate configuration is schedulable: the set is rejected".into();
            return CellResult { record: r, artifact: None };
        };
        let tasks: Vec<Task> = ids.iter().map(|&i| self.set.tasks[i].clone()).collect();
        let plan = Plan {
            platform: &self.platform,
            tasks: &tasks,
            config: &c.config,
            cuts: &c.cuts,
            runtime: self.method.runtime(),
        };
        let o = observe(&plan, self.patterns, self.periods, self.seed);
        let misses: usize = o.misses.iter().sum();
        // A bound is a claim only where the analysis admitted the set.
        let bounded = c.analysis.schedulable;
        let over = (0..tasks.len())
            .find(|&i| bounded && tasks[i].rt() && o.checked[i] > c.analysis.response_ms[i] * (1.0 + 1e-9));
        let admits = self.method.admits();
        let observed_w = observed_score(&tasks, &o.checked);
        // The objective is what the checker observed, comparable across methods; the claim is
        // the analysed score (a bound on it) or, without admission, what the simulator saw.
        r.objective = Some(observed_w);
        r.claimed_objective = Some(if admits { c.score } else { observed_score(&tasks, &o.simulated) });
        r.devices_used = Some(c.config.len());
        r.status = Status::Feasible;
        r.feasible = o.violations == 0 && misses == 0 && over.is_none();
        let pessimism = if bounded {
            (0..tasks.len())
                .filter(|&i| tasks[i].rt())
                .map(|i| o.checked[i] / c.analysis.response_ms[i])
                .fold(0.0, f64::max)
        } else {
            f64::NAN
        };
        let be: f64 = o.throughput.iter().sum();
        let cfg: Vec<String> =
            c.config.iter().map(|n| format!("{}{}c", if n.gpu { "gpu+" } else { "" }, n.cores)).collect();
        r.notes = format!(
            "config={};runtime={};admission={};admitted={}/{};max_util={};analysed_w={};be_throughput_per_s={be};max_observed_over_analysed={pessimism};misses={misses}",
            cfg.join("|"),
            serde_json::to_value(plan.runtime).ok().and_then(|v| v.as_str().map(str::to_owned)).unwrap_or_default(),
            match (admits, self.online) {
                (false, _) => "none",
                (true, false) => "analysis",
                (true, true) => "online",
            },
            ids.len(),
            self.set.tasks.len(),
            c.max_util,
            if bounded { c.score } else { f64::NAN }
        );
        let claim_differs = !admits && {
            let (a, b) = (r.claimed_objective.unwrap_or(0.0), observed_w);
            (a - b).abs() > 1e-9 * a.abs().max(b.abs()).max(1.0)
        };
        if o.violations > 0 {
            r.status = Status::Mismatch;
            r.message = format!("the checker found {} violations; first: {}", o.violations, o.first.join(" | "));
        } else if claim_differs {
            r.status = Status::Mismatch;
            r.message = "the simulator's response times differ from those the checker derived".into();
        } else if admits && misses > 0 {
            r.status = Status::Mismatch;
            r.message = format!("{misses} deadline misses in an admitted set");
        } else if let Some(i) = over {
            r.status = Status::Mismatch;
            r.message = format!(
                "task {} responded in {} ms, above its analysed bound {}",
                tasks[i].name, o.checked[i], c.analysis.response_ms[i]
            );
        } else if misses > 0 {
            r.status = Status::Infeasible;
            r.message = format!("{misses} deadline misses (the method admits without analysis)");
        }
        let rows = self
            .set
            .tasks
            .iter()
            .enumerate()
            .map(|(i, t)| {
                let at = ids.iter().position(|&j| j == i);
                TaskRow {
                    task: &t.name,
                    rt: t.rt(),
                    admitted: at.is_some(),
                    cuts: at.map(|a| c.cuts[a].as_slice()),
                    analysed_ms: at.filter(|_| t.rt() && bounded).map(|a| c.analysis.response_ms[a]),
                    observed_ms: at.map(|a| o.checked[a]),
                    deadline_ms: t.deadline_ms,
                    misses: at.map_or(0, |a| o.misses[a]),
                    throughput_per_s: at.filter(|_| !t.rt()).map(|a| o.throughput[a]),
                }
            })
            .collect();
        // The timeline names tasks by their place in the set, as the rows do.
        let cap = if self.timeline { TIMELINE_CAP } else { 0 };
        let mut timeline = segments(&plan, &o.synchronous, 2.0 * longest_period(&tasks), cap);
        for s in &mut timeline {
            s.task = ids[s.task];
        }
        let file = RunFile {
            schema_version: RUN_SCHEMA,
            taskset: &self.set.name,
            method: self.method.name(),
            runtime: plan.runtime,
            config: &c.config,
            tasks: rows,
            lanes: lanes(&plan),
            timeline,
        };
        CellResult { record: r, artifact: serde_json::to_value(&file).ok() }
    }
}

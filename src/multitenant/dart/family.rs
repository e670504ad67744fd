//! The pipeline family's cells: one method on one task set. The method's choice is analysed,
//! then simulated (synchronous periodic releases at WCET, and seeded sporadic patterns at
//! `[0.5, 1]` × WCET) with the checker replaying every run: an admitted set that breaks a rule,
//! misses a deadline or exceeds an analysed bound is a failed run (`mismatch`).

use super::check::check;
use super::choose::Choice;
use super::methods::PipelineMethod;
use super::model::{Node, Platform};
use super::sim::{releases, simulate, Exec};
use super::taskset::TaskSet;
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
}

/// What a cell writes beside its row.
#[derive(Debug, Serialize)]
pub struct RunFile<'a> {
    pub schema_version: u32,
    pub taskset: &'a str,
    pub method: &'a str,
    pub config: &'a [Node],
    pub tasks: Vec<TaskRow<'a>>,
}

#[derive(Debug, Serialize)]
pub struct TaskRow<'a> {
    pub task: &'a str,
    pub rt: bool,
    pub cuts: &'a [usize],
    pub analysed_ms: Option<f64>,
    pub observed_ms: f64,
    pub deadline_ms: f64,
    /// Best effort: jobs per second in the synchronous run.
    pub throughput_per_s: Option<f64>,
}

pub const RUN_SCHEMA: u32 = 1;

impl Cell for PipelineCell<'_> {
    type Answer = Option<Choice>;

    fn header(&self) -> Record {
        let p = &self.platform;
        let options = format!(
            "gpus={};cores={};max_nodes={};idle_cores={};patterns={};periods={}",
            p.gpus, p.cores, p.max_nodes, p.idle_cores, self.patterns, self.periods
        );
        Record::new(&self.set.name, self.hash, OBJECTIVE, self.method.name(), options, self.seed)
    }

    fn applicable(&self) -> std::result::Result<(), NotApplicable> {
        self.method.applies(&self.platform, &self.set.tasks)
    }

    fn attempt(&self) -> Result<Option<Choice>> {
        Ok(self.method.choose(&self.platform, &self.set.tasks))
    }

    fn judge(&self, choice: Option<Choice>, mut r: Record) -> CellResult {
        let tasks = &self.set.tasks;
        let Some(c) = choice else {
            r.status = Status::Infeasible;
            r.feasible = false;
            r.message = "no candidate configuration is schedulable: the set is rejected".into();
            return CellResult { record: r, artifact: None };
        };
        let horizon = self.periods * tasks.iter().map(|t| t.period_ms).fold(0.0, f64::max);
        let mut observed = vec![0.0f64; tasks.len()];
        let mut throughput = vec![0.0f64; tasks.len()];
        let (mut violations, mut misses, mut first) = (0, 0, Vec::new());
        for k in 0..=self.patterns {
            let (rel, exec) = if k == 0 {
                (releases(tasks, horizon, None, 0.0), Exec::Wcet)
            } else {
                let s = self.seed.wrapping_add(k as u64);
                (releases(tasks, horizon, Some(s), 0.5), Exec::Uniform { lo: 0.5, seed: s })
            };
            let run = simulate(&self.platform, tasks, &c.config, &c.cuts, &rel, horizon, exec);
            let rep = check(&self.platform, tasks, &c.config, &c.cuts, &run.events);
            violations += rep.violations;
            misses += rep.misses;
            first.extend(rep.first.into_iter().take(2));
            for (i, v) in rep.responses.iter().enumerate() {
                observed[i] = v.iter().copied().fold(observed[i], f64::max);
                if k == 0 && !tasks[i].rt() {
                    throughput[i] = v.len() as f64 / (horizon / 1e3);
                }
            }
        }
        let over = (0..tasks.len()).find(|&i| tasks[i].rt() && observed[i] > c.analysis.response_ms[i] * (1.0 + 1e-9));
        r.claimed_objective = Some(c.score);
        r.objective = Some(c.score);
        r.devices_used = Some(c.config.len());
        r.feasible = violations == 0 && misses == 0 && over.is_none();
        r.status = Status::Feasible;
        let pessimism = (0..tasks.len())
            .filter(|&i| tasks[i].rt())
            .map(|i| observed[i] / c.analysis.response_ms[i])
            .fold(0.0, f64::max);
        let be: f64 = throughput.iter().sum();
        let cfg: Vec<String> =
            c.config.iter().map(|n| format!("{}{}c", if n.gpu { "gpu+" } else { "" }, n.cores)).collect();
        r.notes = format!(
            "config={};max_util={};be_throughput_per_s={be};max_observed_over_analysed={pessimism};misses={misses}",
            cfg.join("|"),
            c.max_util
        );
        if violations > 0 {
            r.status = Status::Mismatch;
            r.message = format!("the checker found {violations} violations; first: {}", first.join(" | "));
        } else if misses > 0 {
            r.status = Status::Mismatch;
            r.message = format!("{misses} deadline misses in an admitted set");
        } else if let Some(i) = over {
            r.status = Status::Mismatch;
            r.message = format!(
                "task {} responded in {} ms, above its analysed bound {}",
                tasks[i].name, observed[i], c.analysis.response_ms[i]
            );
        }
        let rows = tasks
            .iter()
            .enumerate()
            .map(|(i, t)| TaskRow {
                task: &t.name,
                rt: t.rt(),
                cuts: &c.cuts[i],
                analysed_ms: t.rt().then_some(c.analysis.response_ms[i]),
                observed_ms: observed[i],
                deadline_ms: t.deadline_ms,
                throughput_per_s: (!t.rt()).then_some(throughput[i]),
            })
            .collect();
        let file = RunFile {
            schema_version: RUN_SCHEMA,
            taskset: &self.set.name,
            method: self.method.name(),
            config: &c.config,
            tasks: rows,
        };
        CellResult { record: r, artifact: serde_json::to_value(&file).ok() }
    }
}

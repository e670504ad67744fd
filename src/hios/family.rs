//! The scheduling family's cells: a scheduler on one workload at K GPUs, its schedule checked
//! and re-simulated by the one schedule simulator, which is the judge.

use super::algorithms::{HiosOptions, Scheduled, Scheduler};
use super::{simulate, CalibratedModel, Contention, Problem};
use crate::error::Result;
use crate::family::{Cell, CellResult};
use crate::results::{Record, Status};
use crate::workload::Workload;
use std::sync::Arc;

/// Elements a GPU works on at once (132 SMs × 2048 resident threads on H100/H200): an operator
/// with a smaller output occupies that share of the GPU.
pub const GPU_CAPACITY: f64 = 132.0 * 2048.0;

/// The objective kind of the scheduling family's rows.
pub const OBJECTIVE: &str = "hios-latency";

/// One scheduler on one workload at `options.gpus` GPUs under one contention model.
pub struct SchedulingCell<'a> {
    pub workload: &'a Workload,
    pub problem: Problem,
    pub scheduler: &'static dyn Scheduler,
    pub options: HiosOptions,
    pub seed: u64,
}

impl<'a> SchedulingCell<'a> {
    pub fn new(
        workload: &'a Workload,
        scheduler: &'static dyn Scheduler,
        contention: Contention,
        model: Option<Arc<CalibratedModel>>,
        options: HiosOptions,
        seed: u64,
    ) -> Self {
        let problem = match model {
            Some(m) => Problem::calibrated(workload, GPU_CAPACITY, m),
            None => Problem::from_workload(workload, GPU_CAPACITY, contention),
        };
        SchedulingCell {
            workload,
            problem,
            scheduler,
            options: HiosOptions { gpus: options.gpus.max(1), ..options },
            seed,
        }
    }
}

impl Cell for SchedulingCell<'_> {
    type Answer = Scheduled;

    fn header(&self) -> Record {
        let (o, k) = (&self.options, self.options.gpus);
        // Options at their defaults stay out, so rows from before they existed compare.
        let d = HiosOptions::default();
        let mut ios = String::new();
        if (o.max_group_size, o.part) != (d.max_group_size, d.part) {
            ios = format!(";max_group_size={};part={}", o.max_group_size, o.part);
        }
        let options = format!(
            "gpus={k};window={};streams={};max_group={}{ios};contention={:?}{}",
            o.window,
            o.streams,
            o.max_group,
            self.problem.contention,
            o.fidelity.label()
        );
        let w = self.workload;
        let mut r = Record::new(
            &format!("{}@k{k}", w.name),
            &w.content_hash,
            OBJECTIVE,
            self.scheduler.name(),
            options,
            self.seed,
        );
        r.status = Status::Feasible;
        r
    }

    fn applicable(&self) -> std::result::Result<(), crate::family::NotApplicable> {
        let (k, n) = (self.options.gpus, self.problem.len());
        if k > n {
            return Err(crate::family::NotApplicable(format!("{k} GPUs for {n} operators: some would stay idle")));
        }
        Ok(())
    }

    fn attempt(&self) -> Result<Scheduled> {
        self.scheduler.schedule(&self.problem, self.workload, &self.options.for_cell())
    }

    fn judge(&self, done: Scheduled, mut r: Record) -> CellResult {
        let Scheduled { schedule, latency: claimed, notes } = done;
        let (p, w, o) = (&self.problem, self.workload, &self.options);
        r.claimed_objective = Some(claimed);
        if let Err(e) = schedule.check(p.len(), o.streams.max(o.max_group)) {
            r.status = Status::Mismatch;
            r.message = e.to_string();
            return CellResult { record: r, artifact: None };
        }
        let t = match simulate(p, &schedule) {
            Ok(t) => t,
            Err(e) => {
                r.status = Status::Mismatch;
                r.message = format!("the simulator rejects the schedule: {e}");
                return CellResult { record: r, artifact: None };
            }
        };
        r.objective = Some(t.latency);
        r.feasible = true;
        r.devices_used = Some(schedule.stages.iter().filter(|s| !s.is_empty()).count());
        // The critical path bounds the stage formula's latency; the issue model's operators
        // take less than their charged times where a GPU's share of the model fits L2 better.
        r.lower_bound = if p.model.is_none() { Some(p.critical_path(false)) } else { None };
        r.gap = r.lower_bound.map(|lb| if t.latency > 0.0 { (t.latency - lb) / t.latency } else { 0.0 });
        r.notes = format!("sequential={};critical_path={}", p.w.iter().sum::<f64>(), p.critical_path(true));
        if p.model.is_some() {
            r.notes.push_str(&format!(";stage_formula_latency={}", t.stage_formula_latency));
        }
        for (key, value) in notes {
            r.notes.push_str(&format!(";{key}={value}"));
        }
        if !crate::evaluate::agrees(claimed, t.latency) {
            r.status = Status::Mismatch;
            r.message = format!("claimed latency {claimed} but the simulator computes {}", t.latency);
        }
        let file = super::file::ScheduleFile::new(w, self.scheduler.name(), &schedule, &t);
        let json = serde_json::to_value(&file).unwrap_or_default();
        CellResult { record: r, artifact: Some(json) }
    }
}

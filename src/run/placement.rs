//! The placement family's cells: an algorithm's placement judged by the one evaluator, and
//! the bounds one method proves applied to the other rows of its workload.

use crate::algorithms::{Algorithm, Claim, Objective, Outcome, RunOptions, Space};
use crate::error::Result;
use crate::evaluate::{agrees, evaluate, Evaluation, LatencyError};
use crate::family::{Cell, CellResult, NotApplicable};
use crate::placement::Device;
use crate::results::{Record, Status};
use crate::workload::Workload;
use indicatif::ProgressBar;
use std::collections::HashMap;

/// One placement algorithm on one workload, scored for `kind`. An algorithm made for the
/// other objective (the max-load DP's split in a latency run) is scored as a baseline: its own
/// claims and bounds are about the other objective and are not used.
pub struct PlacementCell<'a> {
    pub workload: &'a Workload,
    pub algorithm: &'static dyn Algorithm,
    pub kind: Objective,
    pub opts: &'a RunOptions,
}

impl Cell for PlacementCell<'_> {
    type Answer = Outcome;

    fn header(&self) -> Record {
        let (w, a) = (self.workload, self.algorithm);
        Record::new(&w.name, &w.content_hash, self.kind.as_str(), a.name(), a.options(self.opts), self.opts.seed)
    }

    fn applicable(&self) -> std::result::Result<(), NotApplicable> {
        self.algorithm.applicable(self.workload, self.opts)
    }

    fn attempt(&self) -> Result<Outcome> {
        super::isolate::attempt(self.algorithm, self.workload, &self.opts.for_cell())
    }

    fn judge(&self, outcome: Outcome, record: Record) -> CellResult {
        let outcome = if self.algorithm.objective() == self.kind { outcome } else { as_baseline(outcome) };
        judge(self.workload, self.kind, self.algorithm.guarantees(self.opts), outcome, record)
    }

    fn finish(results: &mut [CellResult]) {
        fill_bounds(results);
    }
}

/// Runs every algorithm on every workload in parallel; results come back in
/// workload-major order, whatever order the cells finished in.
pub fn run_all(
    workloads: &[Workload],
    algorithms: &[&'static dyn Algorithm],
    kind: Objective,
    opts: &RunOptions,
    progress: Option<&ProgressBar>,
) -> Vec<CellResult> {
    run_journaled(workloads, algorithms, kind, opts, progress, None)
}

/// [`run_all`] with a journal: cells it holds are kept, finished ones appended.
pub fn run_journaled(
    workloads: &[Workload],
    algorithms: &[&'static dyn Algorithm],
    kind: Objective,
    opts: &RunOptions,
    progress: Option<&ProgressBar>,
    journal: Option<&super::Journal>,
) -> Vec<CellResult> {
    let cells: Vec<PlacementCell> = workloads
        .iter()
        .flat_map(|w| algorithms.iter().map(move |a| PlacementCell { workload: w, algorithm: *a, kind, opts }))
        .collect();
    super::run(&cells, progress, journal)
}

/// Runs the given (workload, algorithm) cells in parallel, results in the cells' order.
pub fn run_cells(
    cells: &[(&Workload, &'static dyn Algorithm)],
    kind: Objective,
    opts: &RunOptions,
    progress: Option<&ProgressBar>,
) -> Vec<CellResult> {
    let cells: Vec<PlacementCell> =
        cells.iter().map(|&(workload, algorithm)| PlacementCell { workload, algorithm, kind, opts }).collect();
    super::run(&cells, progress, None)
}

/// Runs one algorithm on one workload and scores it for `kind`.
pub fn run_cell(w: &Workload, algo: &'static dyn Algorithm, kind: Objective, opts: &RunOptions) -> CellResult {
    super::run_one(&PlacementCell { workload: w, algorithm: algo, kind, opts })
}

/// Keeps only the placement of an algorithm run for the other objective.
fn as_baseline(mut o: Outcome) -> Outcome {
    if let Some(c) = o.claimed_objective.take() {
        o = o.note("own_objective", c);
    }
    o.claimed_at_most = None;
    o.lower_bound = None;
    if o.claim == Claim::Optimal {
        o.claim = Claim::Feasible;
    }
    o
}

/// Compares the outcome with the evaluator's verdict and fills the record.
fn judge(w: &Workload, kind: Objective, guarantee: Space, mut outcome: Outcome, mut record: Record) -> CellResult {
    record.claimed_objective = outcome.claimed_objective;
    record.lower_bound = outcome.lower_bound;
    record.bound_space = outcome.lower_bound.map(|_| outcome.bound_space);
    if let Some(s) = &outcome.solver {
        record.solver = Some(s.name.clone());
        record.solver_status = Some(s.status.clone());
        record.solver_incumbent = s.incumbent;
        record.solver_bound = s.bound;
        record.solver_gap = s.gap;
        record.solver_nodes = s.nodes;
        record.solver_seconds = Some(s.seconds);
    }
    record.notes = outcome.notes.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join(";");
    let Some(placement) = outcome.placement.take() else {
        record.status = match outcome.claim {
            Claim::Infeasible => Status::Infeasible,
            Claim::Timeout => Status::Timeout,
            _ => Status::Error,
        };
        record.message = match outcome.claim {
            Claim::Infeasible => "no feasible placement exists in this algorithm's search space".into(),
            Claim::Timeout => "time limit reached without a placement".into(),
            _ => "the algorithm returned no placement".into(),
        };
        return CellResult { record, artifact: None };
    };
    if placement.device.len() != w.len() {
        record.status = Status::Error;
        record.message = format!("placement has {} entries for {} nodes", placement.device.len(), w.len());
        return CellResult { record, artifact: None };
    }
    let split = placement.to_split(w);
    let eval = evaluate(w, &split);
    let objective = match kind {
        Objective::Throughput => Ok(eval.max_load),
        Objective::Latency => eval.latency.as_ref().map(|l| l.latency).map_err(Clone::clone),
    };
    if let Err(e) = &objective {
        record.status = if *e == LatencyError::Deadlock { Status::Infeasible } else { Status::Error };
        record.message = e.to_string();
        record.contiguous = Some(eval.contiguous);
        record.acyclic = Some(eval.acyclic);
        return CellResult { record, artifact: None };
    }
    let objective = objective.unwrap_or_default();
    record.objective = Some(objective);
    record.feasible = eval.feasible();
    record.contiguous = Some(eval.contiguous);
    record.acyclic = Some(eval.acyclic);
    record.devices_used = Some(eval.devices_used());
    record.status = match (outcome.claim, eval.feasible()) {
        (Claim::Timeout, _) => Status::Timeout,
        (_, false) => Status::Infeasible,
        (Claim::Optimal, true) => Status::Optimal,
        _ => Status::Feasible,
    };
    record.message = eval.violations.iter().take(3).map(ToString::to_string).collect::<Vec<_>>().join("; ");
    if eval.violations.len() > 3 {
        record.message += &format!("; and {} more", eval.violations.len() - 3);
    }
    if let Some(why) = disagreement(guarantee, &outcome, objective, &eval) {
        record.status = Status::Mismatch;
        record.message = why;
    }
    let loads = |cpu: bool, n: usize| -> Vec<f64> {
        (0..n).map(|i| eval.load_of(if cpu { Device::Cpu(i) } else { Device::Acc(i) })).collect()
    };
    let mut json = split.to_json(&loads(true, split.cpus.len()), &loads(false, split.accs.len()), Some(eval.max_load));
    if let (Objective::Latency, Some(obj)) = (kind, json.as_object_mut()) {
        obj.insert("totalLatency".into(), objective.into());
    }
    CellResult { record, artifact: Some(json) }
}

/// Why the algorithm's claims and the evaluator's verdict disagree, if they do.
fn disagreement(guarantee: Space, outcome: &Outcome, objective: f64, eval: &Evaluation) -> Option<String> {
    if let Some(c) = outcome.claimed_objective {
        if !agrees(c, objective) {
            return Some(format!("claimed objective {c} but the evaluator computes {objective}"));
        }
    }
    if let Some(c) = outcome.claimed_at_most {
        if objective > c + 1e-6 * c.abs().max(1.0) {
            return Some(format!("claimed an objective of at most {c} but the evaluator computes {objective}"));
        }
    }
    if outcome.claim == Claim::Optimal && !eval.feasible() {
        let v: Vec<String> = eval.violations.iter().take(3).map(ToString::to_string).collect();
        return Some(format!("claimed an optimal placement that is infeasible: {}", v.join("; ")));
    }
    match guarantee {
        Space::Pipeline if !eval.acyclic => {
            Some("claimed a pipeline-ordered split that the evaluator finds not pipeline-ordered".into())
        }
        Space::Convex if !eval.contiguous => {
            Some("claimed a contiguous split that the evaluator finds non-contiguous".into())
        }
        _ => None,
    }
}

/// Gives every feasible row the best lower bound proven on its workload for a space its
/// placement lies in: bounds over all placements (the non-contiguous IP) apply to every row,
/// bounds over contiguous placements (the contiguous IP) to contiguous rows, bounds over
/// pipeline-ordered placements (the DP) to pipeline-ordered rows. A bound above a feasible
/// row's objective (beyond solver tolerance) would be a contradiction: it is not applied, and
/// the row says so.
pub fn fill_bounds(results: &mut [CellResult]) {
    let mut best: HashMap<(String, Space), f64> = HashMap::new();
    for r in results.iter().map(|c| &c.record) {
        if let (Some(lb), Some(space)) = (r.lower_bound, r.bound_space) {
            if !r.status.is_failure() {
                let e = best.entry((r.workload.clone(), space)).or_insert(lb);
                *e = e.max(lb);
            }
        }
    }
    for r in results.iter_mut().map(|c| &mut c.record) {
        let Some(obj) = r.objective.filter(|_| r.feasible) else { continue };
        let applies = |space: Space| match space {
            Space::Any => true,
            Space::Convex => r.contiguous == Some(true),
            Space::Pipeline => r.acyclic == Some(true),
        };
        let lb = [Space::Any, Space::Convex, Space::Pipeline]
            .into_iter()
            .filter(|s| applies(*s))
            .filter_map(|s| best.get(&(r.workload.clone(), s)).copied())
            .fold(None, |acc: Option<f64>, b| Some(acc.map_or(b, |a| a.max(b))));
        let Some(lb) = lb else { continue };
        if lb > obj * (1.0 + BOUND_TOLERANCE) {
            r.message =
                format!("{}bound {lb} from another method exceeds this objective: not applied", sep(&r.message));
            continue;
        }
        let lb = lb.min(obj);
        r.lower_bound = Some(lb);
        r.gap = Some(if obj > 0.0 { (obj - lb) / obj } else { 0.0 });
    }
}

/// Solvers prove bounds up to their feasibility tolerances.
const BOUND_TOLERANCE: f64 = 1e-6;

fn sep(message: &str) -> String {
    if message.is_empty() {
        String::new()
    } else {
        format!("{message}; ")
    }
}

//! Runs (workload, algorithm) cells: time the algorithm, send its placement through the
//! evaluator, turn the outcome into a [`Record`]. A failing cell becomes a row; it never stops
//! the others.

use crate::algorithms::{Algorithm, Claim, Objective, Outcome, RunOptions, Space};
use crate::evaluate::{agrees, evaluate, Evaluation, LatencyError};
use crate::placement::Device;
use crate::results::{Record, Status};
use crate::workload::Workload;
use indicatif::ProgressBar;
use rayon::prelude::*;
use std::collections::HashMap;
use std::panic::AssertUnwindSafe;
use std::time::Instant;

/// A finished cell: its record and, when there is a placement, the split file to write.
#[derive(Debug, Clone)]
pub struct CellResult {
    pub record: Record,
    pub split_json: Option<serde_json::Value>,
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
    let cells: Vec<(&Workload, &'static dyn Algorithm)> =
        workloads.iter().flat_map(|w| algorithms.iter().map(move |a| (w, *a))).collect();
    run_cells(&cells, kind, opts, progress)
}

/// Runs the given (workload, algorithm) cells in parallel, results in the cells' order.
pub fn run_cells(
    cells: &[(&Workload, &'static dyn Algorithm)],
    kind: Objective,
    opts: &RunOptions,
    progress: Option<&ProgressBar>,
) -> Vec<CellResult> {
    let mut results: Vec<CellResult> = cells
        .par_iter()
        .map(|(w, a)| {
            if let Some(p) = progress {
                p.set_message(format!("{} / {}", w.name, a.name()));
            }
            let r = run_cell(w, *a, kind, opts);
            if let Some(p) = progress {
                p.inc(1);
            }
            r
        })
        .collect();
    fill_bounds(&mut results);
    results
}

/// Runs one algorithm on one workload and scores it for `kind`. An algorithm made for the
/// other objective (the max-load DP's split in a latency run) is scored as a baseline: its own
/// claims and bounds are about the other objective and are not used.
pub fn run_cell(w: &Workload, algo: &dyn Algorithm, kind: Objective, opts: &RunOptions) -> CellResult {
    let mut record = Record::new(&w.name, &w.content_hash, kind.as_str(), algo.name(), algo.options(opts), opts.seed);
    if let Err(reason) = algo.applicable(w, opts) {
        record.message = reason;
        return CellResult { record, split_json: None };
    }
    let start = Instant::now();
    let outcome = std::panic::catch_unwind(AssertUnwindSafe(|| algo.run(w, opts)));
    record.wall_seconds = start.elapsed().as_secs_f64();
    let outcome = match outcome {
        Ok(Ok(o)) => o,
        Ok(Err(e)) => {
            record.status = Status::Error;
            record.message = e.to_string();
            return CellResult { record, split_json: None };
        }
        Err(panic) => {
            record.status = Status::Error;
            record.message = format!("panicked: {}", panic_text(&panic));
            return CellResult { record, split_json: None };
        }
    };
    let outcome = if algo.objective() == kind { outcome } else { as_baseline(outcome) };
    let guarantee = algo.guarantees(opts);
    judge(w, kind, guarantee, outcome, record)
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
        return CellResult { record, split_json: None };
    };
    if placement.device.len() != w.len() {
        record.status = Status::Error;
        record.message = format!("placement has {} entries for {} nodes", placement.device.len(), w.len());
        return CellResult { record, split_json: None };
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
        return CellResult { record, split_json: None };
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
    CellResult { record, split_json: Some(json) }
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

fn panic_text(p: &Box<dyn std::any::Any + Send>) -> String {
    p.downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| p.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "unknown panic".into())
}

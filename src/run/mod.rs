//! Runs (workload, algorithm) cells: time the algorithm, send its placement through the
//! evaluator, turn the outcome into a [`Record`]. A failing cell becomes a row; it never stops
//! the others.

use crate::algorithms::{Algorithm, Claim, Outcome, RunOptions};
use crate::evaluate::{agrees, evaluate, Evaluation};
use crate::placement::Device;
use crate::results::{Record, Status, SCHEMA_VERSION};
use crate::workload::Workload;
use indicatif::ProgressBar;
use rayon::prelude::*;
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
    opts: &RunOptions,
    progress: Option<&ProgressBar>,
) -> Vec<CellResult> {
    let cells: Vec<(&Workload, &'static dyn Algorithm)> =
        workloads.iter().flat_map(|w| algorithms.iter().map(move |a| (w, *a))).collect();
    let mut results: Vec<CellResult> = cells
        .par_iter()
        .map(|(w, a)| {
            if let Some(p) = progress {
                p.set_message(format!("{} / {}", w.name, a.name()));
            }
            let r = run_cell(w, *a, opts);
            if let Some(p) = progress {
                p.inc(1);
            }
            r
        })
        .collect();
    fill_bounds(&mut results);
    results
}

/// Runs one algorithm on one workload.
pub fn run_cell(w: &Workload, algo: &dyn Algorithm, opts: &RunOptions) -> CellResult {
    let mut record = Record {
        schema_version: SCHEMA_VERSION,
        workload: w.name.clone(),
        workload_hash: w.content_hash.clone(),
        objective_kind: "throughput".into(),
        algorithm: algo.name().into(),
        status: Status::Skipped,
        objective: None,
        claimed_objective: None,
        lower_bound: None,
        gap: None,
        feasible: false,
        contiguous: None,
        acyclic: None,
        devices_used: None,
        wall_seconds: 0.0,
        seed: opts.seed,
        placement_file: None,
        message: String::new(),
        notes: String::new(),
    };
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
    judge(w, algo, outcome, record)
}

/// Compares the outcome with the evaluator's verdict and fills the record.
fn judge(w: &Workload, algo: &dyn Algorithm, outcome: Outcome, mut record: Record) -> CellResult {
    record.claimed_objective = outcome.claimed_objective;
    record.lower_bound = outcome.lower_bound;
    record.notes = outcome.notes.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join(";");
    let Some(placement) = outcome.placement else {
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
    record.objective = Some(eval.max_load);
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
    if let Some(why) = disagreement(algo, &outcome.claim, outcome.claimed_objective, &eval) {
        record.status = Status::Mismatch;
        record.message = why;
    }
    let loads = |cpu: bool, n: usize| -> Vec<f64> {
        (0..n).map(|i| eval.load_of(if cpu { Device::Cpu(i) } else { Device::Acc(i) })).collect()
    };
    let json = split.to_json(&loads(true, split.cpus.len()), &loads(false, split.accs.len()), Some(eval.max_load));
    CellResult { record, split_json: Some(json) }
}

/// Why the algorithm's claims and the evaluator's verdict disagree, if they do.
fn disagreement(algo: &dyn Algorithm, claim: &Claim, claimed: Option<f64>, eval: &Evaluation) -> Option<String> {
    if let Some(c) = claimed {
        if !agrees(c, eval.max_load) {
            return Some(format!("claimed objective {c} but the evaluator computes {}", eval.max_load));
        }
    }
    if *claim == Claim::Optimal && !eval.feasible() {
        let v: Vec<String> = eval.violations.iter().take(3).map(ToString::to_string).collect();
        return Some(format!("claimed an optimal placement that is infeasible: {}", v.join("; ")));
    }
    if algo.contiguous_only() && !eval.acyclic {
        return Some("claimed a contiguous pipeline split that the evaluator finds non-contiguous".into());
    }
    None
}

/// Gives each feasible contiguous, pipeline-ordered row the best lower bound that an exact
/// method proved for that space on the same workload (the DP's optimum), and its gap. A bound
/// above a row's objective is not applied: the DP's space can be narrower than "contiguous"
/// (it orders backward-only classes, spec §5.1 step 5), and a bound must never be wrong.
pub fn fill_bounds(results: &mut [CellResult]) {
    let mut best: std::collections::HashMap<String, f64> = std::collections::HashMap::new();
    for r in results.iter().map(|c| &c.record) {
        if r.status == Status::Optimal {
            if let Some(lb) = r.lower_bound {
                let e = best.entry(r.workload.clone()).or_insert(lb);
                *e = e.max(lb);
            }
        }
    }
    for r in results.iter_mut().map(|c| &mut c.record) {
        let Some(obj) = r.objective else { continue };
        let lb = match best.get(&r.workload) {
            Some(&lb) if r.feasible && r.acyclic == Some(true) && lb <= obj * (1.0 + 1e-9) => Some(lb),
            _ => r.lower_bound,
        };
        r.lower_bound = lb;
        r.gap = lb.map(|lb| if obj > 0.0 { ((obj - lb) / obj).max(0.0) } else { 0.0 });
    }
}

fn panic_text(p: &Box<dyn std::any::Any + Send>) -> String {
    p.downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| p.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "unknown panic".into())
}

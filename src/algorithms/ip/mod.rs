//! Integer programs on HiGHS: pieces shared by the throughput and latency models.
//!
//! Both models decide per co-location class rather than per node (the reference writes one
//! equality per pair of class members; one variable per class is the same model, smaller).

pub mod latency;
pub mod latency_start;
pub mod throughput;

use super::{Claim, Outcome, RunOptions, SolverInfo};
use crate::placement::Device;
use crate::solver::{highs_version, Mip, SolveOptions, SolveReport, SolveStatus, Var};
use crate::workload::Workload;

/// Per class, its total size and whether it may use an accelerator.
pub(crate) struct Classes {
    pub size: Vec<f64>,
    pub supported: Vec<bool>,
}

impl Classes {
    pub fn of(w: &Workload) -> Classes {
        let n = w.classes.len();
        let mut size = vec![0.0; n];
        let mut supported = vec![true; n];
        for (v, node) in w.nodes.iter().enumerate() {
            size[w.class_of[v]] += node.size;
            supported[w.class_of[v]] &= node.supported_on_acc;
        }
        Classes { size, supported }
    }
}

/// Assignment variables `x[class][slot]`; `None` where the class may not go (unsupported on an
/// accelerator, or cut by symmetry breaking).
pub(crate) type Assign = Vec<Vec<Option<Var>>>;

/// Creates `x[class][slot]` with `Σ_slot x = 1`. `is_acc(slot)` says which slots are
/// accelerators. With symmetry breaking, identical slots are ordered: class `c` may only use
/// the first `c + 1` slots of each kind, which keeps one labelling of every assignment (number
/// the devices of a kind by their lowest class).
pub(crate) fn assignment(
    mip: &mut Mip,
    classes: &Classes,
    slots: usize,
    kind_rank: impl Fn(usize) -> (bool, usize),
    symmetry_breaking: bool,
) -> Assign {
    let mut x = Vec::with_capacity(classes.size.len());
    for c in 0..classes.size.len() {
        let row: Vec<Option<Var>> = (0..slots)
            .map(|s| {
                let (acc, rank) = kind_rank(s);
                let allowed = (!acc || classes.supported[c]) && (!symmetry_breaking || rank <= c);
                allowed.then(|| mip.binary(0.0))
            })
            .collect();
        let terms: Vec<(Var, f64)> = row.iter().flatten().map(|&v| (v, 1.0)).collect();
        mip.row(1.0, 1.0, &terms);
        x.push(row);
    }
    x
}

/// `x[c][s]` as a term list (empty if the variable does not exist, i.e. is 0).
pub(crate) fn term(x: &Assign, c: usize, s: usize, coef: f64) -> Option<(Var, f64)> {
    x[c][s].map(|v| (v, coef))
}

/// The slot each class takes in the solver's incumbent.
pub(crate) fn chosen_slots(x: &Assign, report: &SolveReport) -> Vec<usize> {
    x.iter()
        .map(|row| {
            row.iter()
                .enumerate()
                .filter_map(|(s, v)| v.map(|v| (s, report.value(v))))
                .max_by(|a, b| a.1.total_cmp(&b.1))
                .map_or(0, |(s, _)| s)
        })
        .collect()
}

/// Solver options from the run options: what is left of the cell's time limit, or
/// `default_limit` when no `--time-limit` is given.
pub(crate) fn solve_options(opts: &RunOptions, default_limit: f64) -> SolveOptions {
    let limit = match opts.time_limit {
        None => Some(default_limit),
        Some(_) => opts.remaining(),
    };
    SolveOptions {
        time_limit: limit.unwrap_or(f64::INFINITY),
        mip_gap: opts.ip.mip_gap,
        threads: opts.threads,
        seed: opts.seed,
        extra: opts.ip.highs_options.clone(),
    }
}

/// The solver's account, for the record.
pub(crate) fn solver_info(r: &SolveReport) -> SolverInfo {
    SolverInfo {
        name: format!("HiGHS {}", highs_version()),
        status: r.raw_status.clone(),
        incumbent: r.objective,
        bound: r.bound,
        gap: r.gap,
        nodes: r.nodes,
        seconds: r.seconds,
    }
}

/// Maps a solve to a claim: optimal only when the bound meets the incumbent (a 1% gap is a
/// feasible solution with a gap, not an optimum); a time-out keeps its incumbent and bound.
pub(crate) fn claim_of(r: &SolveReport) -> Option<Claim> {
    match r.status {
        SolveStatus::Infeasible => Some(Claim::Infeasible),
        SolveStatus::TimeLimit => Some(Claim::Timeout),
        SolveStatus::Optimal => {
            let closed = matches!((r.objective, r.bound), (Some(o), Some(b)) if b >= o - 1e-9 * o.abs().max(1.0));
            Some(if closed { Claim::Optimal } else { Claim::Feasible })
        }
        SolveStatus::Other => None,
    }
}

/// An outcome without a placement (infeasible, or a time-out with no incumbent), keeping
/// whatever bound the solver proved.
pub(crate) fn no_placement(claim: Claim, r: &SolveReport) -> Outcome {
    let mut o = Outcome::none(claim);
    o.solver = Some(solver_info(r));
    o
}

/// Device of slot `s` when slots are CPUs first, then accelerators.
pub(crate) fn slot_device(s: usize, cpus: usize) -> Device {
    if s < cpus {
        Device::Cpu(s)
    } else {
        Device::Acc(s - cpus)
    }
}

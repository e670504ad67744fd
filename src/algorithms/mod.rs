//! The algorithm interface every placement method implements, and the methods themselves.
//!
//! An algorithm takes a workload and options and returns a placement with what it claims
//! about it (objective, lower bound, optimality). It never scores itself: the runner sends the
//! placement through [`crate::evaluate`], and a claim the evaluator does not confirm fails the
//! run.

pub mod atoms;
pub mod baselines;
pub mod dp;
mod registry;

pub use registry::{find, registry};

use crate::error::Result;
use crate::placement::Placement;
use crate::workload::Workload;
use std::path::PathBuf;

/// What an algorithm optimises.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Objective {
    /// Max-load, the time per sample of a pipeline (spec §4).
    Throughput,
}

/// Options shared by all algorithms of a run.
#[derive(Debug, Clone)]
pub struct RunOptions {
    /// Seed of every random choice; recorded in the results.
    pub seed: u64,
    /// Wall-clock limit per (workload, algorithm) in seconds, for the methods that take one.
    pub time_limit: Option<f64>,
    /// Threads one algorithm may use (its own parallelism, not the runner's).
    pub threads: usize,
    /// Restarts of the local search.
    pub restarts: usize,
    /// Folders searched for human-expert split files.
    pub expert_dirs: Vec<PathBuf>,
}

impl Default for RunOptions {
    fn default() -> Self {
        RunOptions { seed: 0, time_limit: None, threads: 1, restarts: 10, expert_dirs: Vec::new() }
    }
}

/// What the algorithm says of its own answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Claim {
    /// Proven optimal within the algorithm's own search space.
    Optimal,
    /// A solution without a proof of optimality.
    Feasible,
    /// The algorithm proved that no feasible solution exists in its search space.
    Infeasible,
    /// Stopped by the time limit.
    Timeout,
}

/// An algorithm's answer.
#[derive(Debug, Clone)]
pub struct Outcome {
    /// None when the algorithm found no placement.
    pub placement: Option<Placement>,
    /// The objective the algorithm computed itself, checked against the evaluator.
    pub claimed_objective: Option<f64>,
    /// A proven lower bound on the optimum of the algorithm's search space.
    pub lower_bound: Option<f64>,
    pub claim: Claim,
    /// Free-form facts for the results (ideal counts, restarts, ...), as `key=value` pairs.
    pub notes: Vec<(String, String)>,
}

impl Outcome {
    pub fn found(placement: Placement, claimed: Option<f64>, claim: Claim) -> Outcome {
        Outcome { placement: Some(placement), claimed_objective: claimed, lower_bound: None, claim, notes: Vec::new() }
    }

    pub fn none(claim: Claim) -> Outcome {
        Outcome { placement: None, claimed_objective: None, lower_bound: None, claim, notes: Vec::new() }
    }

    pub fn note(mut self, key: &str, value: impl ToString) -> Outcome {
        self.notes.push((key.to_owned(), value.to_string()));
        self
    }
}

/// A placement method. Implementations are unit structs listed once in the registry.
pub trait Algorithm: Send + Sync {
    /// Stable id: the `--algo` value and the `algorithm` column of the results.
    fn name(&self) -> &'static str;
    fn objective(&self) -> Objective;
    /// One line for `bench list` and `--help`.
    fn summary(&self) -> &'static str;
    /// Whether its placement can only lie in the contiguous, pipeline-ordered space.
    fn contiguous_only(&self) -> bool {
        false
    }
    /// Why the algorithm does not apply to this workload, if it does not (a skipped row).
    fn applicable(&self, _w: &Workload, _opts: &RunOptions) -> Result<(), String> {
        Ok(())
    }
    fn run(&self, w: &Workload, opts: &RunOptions) -> Result<Outcome>;
}

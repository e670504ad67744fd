//! The results schema: one [`Record`] per (workload, algorithm) cell, plus run metadata once
//! per file. `SCHEMA_VERSION` changes whenever a column changes meaning or disappears.

pub mod archive;
mod compare;
pub mod merge;
pub mod out;
mod read;
pub mod table;
mod write;

pub use compare::{compare, Change, Comparison, Verdict};
pub use read::load_results;
pub use write::{write_atomic, write_results};

use serde::{Deserialize, Serialize};

/// Version of the columns below; written into every results file.
pub const SCHEMA_VERSION: u32 = 1;

/// The version a versioned file written before its `schema_version` field existed reads as.
pub fn version_one() -> u32 {
    1
}

/// How a cell ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// Proven optimal in the algorithm's space and confirmed feasible by the evaluator.
    Optimal,
    /// Feasible per the evaluator, without a proof of optimality.
    Feasible,
    /// The placement breaks a constraint, or the algorithm proved none exists.
    Infeasible,
    /// Stopped by the time limit (with or without a placement).
    Timeout,
    /// The algorithm's claim and the evaluator disagree: a failed run.
    Mismatch,
    /// The algorithm failed.
    Error,
    /// The algorithm does not apply to this workload; `message` says why.
    Skipped,
}

impl Status {
    /// Statuses that make `bench` exit non-zero.
    pub fn is_failure(self) -> bool {
        matches!(self, Status::Mismatch | Status::Error)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Status::Optimal => "optimal",
            Status::Feasible => "feasible",
            Status::Infeasible => "infeasible",
            Status::Timeout => "timeout",
            Status::Mismatch => "mismatch",
            Status::Error => "error",
            Status::Skipped => "skipped",
        }
    }
}

/// One row of the results.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Record {
    /// Always [`SCHEMA_VERSION`]; first column so that every CSV row says what it follows.
    pub schema_version: u32,
    pub workload: String,
    /// SHA-256 of the workload file.
    pub workload_hash: String,
    /// `throughput` (max-load).
    pub objective_kind: String,
    pub algorithm: String,
    /// The algorithm's options that affect its answer, `key=value;...`.
    pub options: String,
    pub status: Status,
    /// The evaluator's objective of the returned placement (also when infeasible).
    pub objective: Option<f64>,
    /// What the algorithm computed itself.
    pub claimed_objective: Option<f64>,
    /// Best proven lower bound that applies to this row (see README, "Result columns").
    pub lower_bound: Option<f64>,
    /// (objective - lower_bound) / objective.
    pub gap: Option<f64>,
    /// Where the algorithm's own bound holds (`any`, `convex`, `pipeline`); see README.
    pub bound_space: Option<crate::algorithms::Space>,
    pub feasible: bool,
    /// Every device's forward nodes are convex.
    pub contiguous: Option<bool>,
    /// The devices admit a pipeline order.
    pub acyclic: Option<bool>,
    pub devices_used: Option<usize>,
    pub wall_seconds: f64,
    pub seed: u64,
    /// File name of the placement under `placements/`.
    pub placement_file: Option<String>,
    /// MIP solver name and version, status, incumbent, dual bound, gap, nodes and seconds,
    /// for methods that use one (empty otherwise).
    pub solver: Option<String>,
    pub solver_status: Option<String>,
    pub solver_incumbent: Option<f64>,
    pub solver_bound: Option<f64>,
    pub solver_gap: Option<f64>,
    pub solver_nodes: Option<i64>,
    pub solver_seconds: Option<f64>,
    /// Reason for skip/error/mismatch/infeasible.
    pub message: String,
    /// `key=value` facts from the algorithm, `;`-separated.
    pub notes: String,
}

impl Record {
    /// A row with its identity filled in and nothing measured yet (status `skipped`).
    pub fn new(
        workload: &str,
        workload_hash: &str,
        objective_kind: &str,
        algorithm: &str,
        options: String,
        seed: u64,
    ) -> Record {
        Record {
            schema_version: SCHEMA_VERSION,
            workload: workload.into(),
            workload_hash: workload_hash.into(),
            objective_kind: objective_kind.into(),
            algorithm: algorithm.into(),
            options,
            status: Status::Skipped,
            objective: None,
            claimed_objective: None,
            lower_bound: None,
            gap: None,
            bound_space: None,
            feasible: false,
            contiguous: None,
            acyclic: None,
            devices_used: None,
            wall_seconds: 0.0,
            seed,
            placement_file: None,
            solver: None,
            solver_status: None,
            solver_incumbent: None,
            solver_bound: None,
            solver_gap: None,
            solver_nodes: None,
            solver_seconds: None,
            message: String::new(),
            notes: String::new(),
        }
    }
}

/// Facts about the run, written once per results file.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RunMetadata {
    pub schema_version: u32,
    pub placebench_version: String,
    pub git_commit: Option<String>,
    pub date_utc: String,
    pub host_cores: usize,
    pub threads: usize,
    pub seed: u64,
    pub time_limit_seconds: Option<f64>,
    pub command: String,
    /// Version of the MIP solver linked in.
    #[serde(default)]
    pub solver: String,
    /// Later reruns of some algorithms whose rows replaced the first run's.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub refreshed: Vec<Refresh>,
    /// The part of the sweep this run was (`I/N`), where it was one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shard: Option<String>,
}

/// One `bench regress --update --algo` pass over an existing baseline.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Refresh {
    pub algorithms: Vec<String>,
    pub git_commit: Option<String>,
    pub date_utc: String,
    pub command: String,
}

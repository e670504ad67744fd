//! The algorithm interface every placement method implements, and the methods themselves.
//!
//! An algorithm takes a workload and options and returns a placement with what it claims
//! about it (objective, lower bound, optimality). It never scores itself: the runner sends the
//! placement through [`crate::evaluate`], and a claim the evaluator does not confirm fails the
//! run.

pub mod atoms;
pub mod baselines;
pub mod dp;
pub mod ip;
mod registry;

pub use registry::{find, for_objective, registry};

use crate::error::Result;
use crate::placement::Placement;
use crate::workload::Workload;
use std::path::PathBuf;

/// What an algorithm optimises.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Objective {
    /// Max-load, the time per sample of a pipeline.
    Throughput,
    /// Single-sample latency.
    Latency,
}

impl Objective {
    pub fn as_str(self) -> &'static str {
        match self {
            Objective::Throughput => "throughput",
            Objective::Latency => "latency",
        }
    }
}

/// Options shared by all algorithms of a run.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct RunOptions {
    /// Seed of every random choice; recorded in the results.
    pub seed: u64,
    /// Wall-clock limit per (workload, algorithm) in seconds, for the methods that take one
    /// (infinite: none, not even the IPs' default).
    pub time_limit: Option<f64>,
    /// Threads one algorithm may use (its own parallelism, not the runner's).
    pub threads: usize,
    /// Restarts of the local search.
    pub restarts: usize,
    /// Folders searched for human-expert split files.
    pub expert_dirs: Vec<PathBuf>,
    /// Integer programs: options of the solver and the formulations.
    pub ip: IpOptions,
    /// When the cell began: its time limit counts from here, whatever it runs (an IP's warm
    /// start and its solver share one budget). The runner sets it as each cell starts; read
    /// back from a file (a cell run in a process of its own), it is the moment of reading.
    #[serde(skip, default = "std::time::Instant::now")]
    pub started: std::time::Instant,
}

impl RunOptions {
    /// When the time limit runs out, counted from `started`; none without a finite limit.
    pub fn deadline(&self) -> Option<std::time::Instant> {
        let limit = self.time_limit.filter(|t| t.is_finite() && *t >= 0.0)?;
        self.started.checked_add(std::time::Duration::try_from_secs_f64(limit).ok()?)
    }

    /// Seconds left of the time limit (0 once it passed); none without a finite limit.
    pub fn remaining(&self) -> Option<f64> {
        let d = self.deadline()?;
        Some(d.saturating_duration_since(std::time::Instant::now()).as_secs_f64())
    }

    /// These options for a cell starting now.
    pub fn for_cell(&self) -> RunOptions {
        RunOptions { started: std::time::Instant::now(), ..self.clone() }
    }
}

impl Default for RunOptions {
    fn default() -> Self {
        RunOptions {
            seed: 0,
            time_limit: None,
            threads: 1,
            restarts: 10,
            expert_dirs: Vec::new(),
            ip: IpOptions::default(),
            started: std::time::Instant::now(),
        }
    }
}

/// Options of the integer programs.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct IpOptions {
    /// Relative gap at which the solver stops (the paper's Gurobi setting: 1%).
    pub mip_gap: f64,
    /// `ip-contig` also forces contiguity on CPUs (the reference's ALSO_FORCE_ON_CPUS).
    pub contig_on_cpus: bool,
    /// Objective max FW + max BW instead of max (FW + BW) (the reference's `diffmaxima`).
    pub diffmaxima: bool,
    /// Start the solver from the DP's split.
    pub warm_start: bool,
    /// Order identical devices (a class may only use a device whose index is at most its own).
    /// Off by default: it hides the symmetry from HiGHS's own orbital detection, and measured
    /// slower (README, "Integer programs").
    pub symmetry_breaking: bool,
    /// Latency IP: contiguous subgraphs per accelerator (the reference's q).
    pub subgraphs_per_device: usize,
    /// Further HiGHS options (`--highs-option NAME=VALUE`), recorded in the options column.
    pub highs_options: Vec<(String, String)>,
}

impl Default for IpOptions {
    fn default() -> Self {
        IpOptions {
            mip_gap: 0.01,
            contig_on_cpus: true,
            diffmaxima: false,
            warm_start: true,
            symmetry_breaking: false,
            subgraphs_per_device: 1,
            highs_options: Vec::new(),
        }
    }
}

/// A set of placements, for what an algorithm guarantees and where a lower bound is valid.
/// Each is contained in the one before.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Space {
    /// Every feasible placement.
    Any,
    /// Every device's forward nodes convex ("contiguous" in the paper).
    Convex,
    /// Convex and the devices in a pipeline order (the DP's space).
    Pipeline,
}

/// What the algorithm says of its own answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
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
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct Outcome {
    /// None when the algorithm found no placement.
    pub placement: Option<Placement>,
    /// The objective the algorithm computed itself, checked against the evaluator.
    pub claimed_objective: Option<f64>,
    /// A value the evaluator's objective may not exceed (a solver's incumbent, which can carry
    /// slack above the true cost of its own assignment).
    pub claimed_at_most: Option<f64>,
    /// A proven lower bound on the best objective over `bound_space`.
    pub lower_bound: Option<f64>,
    pub bound_space: Space,
    pub claim: Claim,
    /// Free-form facts for the results (ideal counts, restarts, ...), as `key=value` pairs.
    pub notes: Vec<(String, String)>,
    /// What the MIP solver reported, for methods that use one.
    pub solver: Option<SolverInfo>,
}

/// A MIP solver's own account of a solve.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct SolverInfo {
    /// Solver name and version, e.g. `HiGHS 1.15.0`.
    pub name: String,
    /// The solver's model status.
    pub status: String,
    pub incumbent: Option<f64>,
    pub bound: Option<f64>,
    pub gap: Option<f64>,
    pub nodes: Option<i64>,
    pub seconds: f64,
}

impl Outcome {
    pub fn found(placement: Placement, claimed: Option<f64>, claim: Claim) -> Outcome {
        Outcome { placement: Some(placement), claimed_objective: claimed, ..Outcome::none(claim) }
    }

    pub fn none(claim: Claim) -> Outcome {
        Outcome {
            placement: None,
            claimed_objective: None,
            claimed_at_most: None,
            lower_bound: None,
            bound_space: Space::Any,
            claim,
            notes: Vec::new(),
            solver: None,
        }
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
    /// Its options that change its answer, as `key=value;...` for the results.
    fn options(&self, _opts: &RunOptions) -> String {
        String::new()
    }
    /// Whether a rerun gives the same objective (false for time-limited solvers, whose answer
    /// depends on the machine's speed); `bench regress` reruns only these by default.
    fn deterministic(&self) -> bool {
        true
    }
    /// Whether `bench` runs it in a process of its own under a time limit, stopped when it
    /// overruns (a solver that does not look at the clock while it builds or presolves a
    /// model; a crash of its native code then fails the row, not the run).
    fn isolated(&self) -> bool {
        false
    }
    /// The space its placements always lie in; the runner checks it.
    fn guarantees(&self, _opts: &RunOptions) -> Space {
        Space::Any
    }
    /// Why the algorithm does not apply to this workload, if it does not (a skipped row).
    fn applicable(&self, _w: &Workload, _opts: &RunOptions) -> Result<(), crate::family::NotApplicable> {
        Ok(())
    }
    fn run(&self, w: &Workload, opts: &RunOptions) -> Result<Outcome>;
}

//! Problem families: what each family gives the one registry and the one runner.
//!
//! A family is an instance type, a checker that is the only judge of an answer, algorithms on
//! one trait shape, and a row in the common results schema. Placement (throughput and
//! latency), scheduling, GPU sharing, pipelines and weight packing are the families today; a new one adds its [`FamilyKind`], a
//! [`Cell`] implementation and its algorithms' registry lines.

use crate::results::Record;
use serde::Serialize;

/// The problem families.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum FamilyKind {
    /// Operators onto accelerators and CPUs (max-load or single-sample latency); the
    /// evaluator judges.
    Placement,
    /// Operators onto GPUs and their streams; the schedule simulator judges.
    Scheduling,
    /// Many jobs sharing one GPU's memory and time (Salus's lanes and iteration policies);
    /// the replay of the event log judges.
    Sharing,
    /// Real-time and best-effort DNNs pipelined over CPU cores and a GPU (DART); the replay of
    /// the simulated runtime's log judges.
    Pipeline,
    /// Many DNNs' weight pages packed into one memory (Neural Weight Virtualization); the
    /// weight-by-weight re-derivation of the packing judges.
    Packing,
}

impl FamilyKind {
    pub fn as_str(self) -> &'static str {
        match self {
            FamilyKind::Placement => "placement",
            FamilyKind::Scheduling => "scheduling",
            FamilyKind::Sharing => "sharing",
            FamilyKind::Pipeline => "pipeline",
            FamilyKind::Packing => "packing",
        }
    }
}

/// What `bench list` says of an algorithm of any family.
#[derive(Debug, Clone, Serialize)]
pub struct Description {
    pub name: &'static str,
    pub family: FamilyKind,
    /// The objective kind of its rows (`throughput`, `latency`, `hios-latency`).
    pub objective: &'static str,
    pub summary: &'static str,
    /// Whether a rerun gives the same answer for the same seed on any machine.
    pub deterministic: bool,
}

/// Why an algorithm does not apply to an instance: the row is `skipped`, with this message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotApplicable(pub String);

impl std::fmt::Display for NotApplicable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl From<&str> for NotApplicable {
    fn from(s: &str) -> Self {
        NotApplicable(s.to_owned())
    }
}

impl From<String> for NotApplicable {
    fn from(s: String) -> Self {
        NotApplicable(s)
    }
}

/// A finished cell: its row and, when there is an answer, the artifact (a split file, a
/// schedule) written beside the results.
#[derive(Debug, Clone)]
pub struct CellResult {
    pub record: Record,
    pub artifact: Option<serde_json::Value>,
}

/// One unit of work of a family: an instance, an algorithm and the options, ready to run.
/// The runner calls [`Cell::applicable`], then [`Cell::attempt`] (timed, a panic caught), and
/// hands the answer to [`Cell::judge`], the family's checker.
pub trait Cell: Sync {
    /// What the algorithm returns: its answer and what it claims about it.
    type Answer;
    /// The row with the cell's identity (workload, algorithm, options, seed) filled in.
    fn header(&self) -> Record;
    /// Why the algorithm does not apply to this instance, if it does not (a skipped row).
    fn applicable(&self) -> Result<(), NotApplicable> {
        Ok(())
    }
    fn attempt(&self) -> crate::Result<Self::Answer>;
    /// Checks the answer with the family's checker and fills the row; a claim the checker
    /// does not confirm is a `mismatch`.
    fn judge(&self, answer: Self::Answer, record: Record) -> CellResult;
    /// Work on all of one run's rows once they are judged (the placement family's bounds,
    /// which one method proves and other rows use).
    fn finish(_results: &mut [CellResult])
    where
        Self: Sized,
    {
    }
}

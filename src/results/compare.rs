//! Compares two sets of results cell by cell: objective and time changes, and regressions
//! (an objective that got worse beyond a tolerance, a row that became infeasible or failed,
//! a row that disappeared).

use super::{Record, Status};
use std::collections::BTreeMap;

/// What happened to one (workload, objective, algorithm) cell.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    Same,
    Better,
    Worse,
    /// Was feasible, now infeasible, failed or timed out without a placement.
    Broke,
    /// In the old results only.
    Missing,
    /// In the new results only.
    New,
    /// Not comparable (skipped, or no objective on either side).
    Unscored,
}

impl Verdict {
    pub fn is_regression(&self, strict: bool) -> bool {
        matches!(self, Verdict::Worse | Verdict::Broke) || (strict && *self == Verdict::Missing)
    }
}

#[derive(Debug, Clone)]
pub struct Change {
    pub workload: String,
    pub objective_kind: String,
    pub algorithm: String,
    pub old: Option<f64>,
    pub new: Option<f64>,
    pub old_seconds: Option<f64>,
    pub new_seconds: Option<f64>,
    pub old_status: Option<Status>,
    pub new_status: Option<Status>,
    pub verdict: Verdict,
}

/// Every cell of either side, in workload order.
#[derive(Debug, Clone)]
pub struct Comparison {
    pub changes: Vec<Change>,
}

impl Comparison {
    pub fn regressions(&self, strict: bool) -> usize {
        self.changes.iter().filter(|c| c.verdict.is_regression(strict)).count()
    }
}

type Key = (String, String, String);

fn key(r: &Record) -> Key {
    (r.workload.clone(), r.objective_kind.clone(), r.algorithm.clone())
}

fn usable(s: Status) -> bool {
    matches!(s, Status::Optimal | Status::Feasible)
}

/// Compares `new` against `old`; `tolerance` is relative on the objective (lower is better).
pub fn compare(old: &[Record], new: &[Record], tolerance: f64) -> Comparison {
    let old_by: BTreeMap<Key, &Record> = old.iter().map(|r| (key(r), r)).collect();
    let new_by: BTreeMap<Key, &Record> = new.iter().map(|r| (key(r), r)).collect();
    let mut keys: Vec<&Key> = old_by.keys().chain(new_by.keys()).collect();
    keys.sort();
    keys.dedup();
    let changes = keys
        .into_iter()
        .map(|k| {
            let (o, n) = (old_by.get(k).copied(), new_by.get(k).copied());
            let verdict = match (o, n) {
                (Some(_), None) => Verdict::Missing,
                (None, Some(_)) => Verdict::New,
                (Some(o), Some(n)) => judge(o, n, tolerance),
                (None, None) => Verdict::Unscored,
            };
            Change {
                workload: k.0.clone(),
                objective_kind: k.1.clone(),
                algorithm: k.2.clone(),
                old: o.and_then(|r| r.objective.filter(|_| r.feasible)),
                new: n.and_then(|r| r.objective.filter(|_| r.feasible)),
                old_seconds: o.map(|r| r.wall_seconds),
                new_seconds: n.map(|r| r.wall_seconds),
                old_status: o.map(|r| r.status),
                new_status: n.map(|r| r.status),
                verdict,
            }
        })
        .collect();
    Comparison { changes }
}

fn judge(o: &Record, n: &Record, tolerance: f64) -> Verdict {
    if n.status.is_failure() && !o.status.is_failure() {
        return Verdict::Broke;
    }
    let (old_ok, new_ok) = (usable(o.status) && o.feasible, usable(n.status) && n.feasible);
    match (old_ok, new_ok) {
        (true, false) => Verdict::Broke,
        (false, _) => Verdict::Unscored,
        (true, true) => {
            let (a, b) = (o.objective.unwrap_or(f64::NAN), n.objective.unwrap_or(f64::NAN));
            let scale = a.abs().max(1e-12);
            if !(a.is_finite() && b.is_finite()) {
                Verdict::Broke
            } else if b > a + tolerance * scale {
                Verdict::Worse
            } else if b < a - tolerance * scale {
                Verdict::Better
            } else {
                Verdict::Same
            }
        }
    }
}

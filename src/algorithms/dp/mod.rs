//! `dp`: the exact max-load DP over contiguous, pipeline-ordered splits.

pub mod engine;
pub mod ideals;

use super::atoms::{build_atoms, AtomOptions, Atoms};
use super::{Algorithm, Claim, Objective, Outcome, RunOptions, Space};
use crate::error::{Error, Result};
use crate::placement::{Device, Placement};
use crate::workload::Workload;
use engine::{DpAnswer, DpStats, Stage};
use std::collections::BTreeSet;
use std::sync::Mutex;
use std::time::Instant;

/// More ideals than this and the forward graph is too wide for the exact DP.
pub const IDEALS_LIMIT: usize = 2_000_000;

/// The exact DP.
pub struct Dp;

impl Algorithm for Dp {
    fn name(&self) -> &'static str {
        "dp"
    }

    fn objective(&self) -> Objective {
        Objective::Throughput
    }

    fn summary(&self) -> &'static str {
        "exact max-load DP over ideals of the forward DAG (contiguous, pipeline-ordered splits)"
    }

    fn guarantees(&self, _opts: &RunOptions) -> Space {
        Space::Pipeline
    }

    fn run(&self, w: &Workload, opts: &RunOptions) -> Result<Outcome> {
        let deadline = opts.deadline();
        // A linearised DP is cheap (its ideals are the prefixes of one topological order) and
        // its optimum is a feasible split, so it bounds the full DP and lets it cut branches.
        let chain = build_atoms(w, AtomOptions { merge_trivial: true, linearize: true, ..Default::default() });
        let bound = match solve_atoms(w, &chain, f64::INFINITY, deadline)?.0 {
            DpAnswer::Solved { value, .. } => value,
            _ => f64::INFINITY,
        };
        let atoms = build_atoms(w, AtomOptions { merge_trivial: true, ..Default::default() });
        let (answer, ideals, stats) = solve_atoms(w, &atoms, bound, deadline)?;
        let notes = [
            ("atoms", atoms.len().to_string()),
            ("ideals", ideals.to_string()),
            ("pairs_visited", stats.pairs_visited.to_string()),
            ("ideals_skipped", stats.ideals_skipped.to_string()),
            ("upper_bound", bound.to_string()),
        ];
        let with_notes = |mut o: Outcome| {
            for (k, v) in &notes {
                o = o.note(k, v);
            }
            o
        };
        // Merging trivial atoms moved some bytes; if memory can bind, certify that it did not
        // matter: the DP without those bytes is a lower bound on the unmerged optimum.
        if atoms.moved_size() == 0.0 || w.total_size() <= w.max_size_per_acc {
            return Ok(with_notes(answer_to_outcome(w, &atoms, answer, Claim::Optimal)));
        }
        let value = match &answer {
            DpAnswer::Solved { value, .. } => *value,
            DpAnswer::Infeasible => f64::INFINITY,
            DpAnswer::TimedOut => return Ok(with_notes(Outcome::none(Claim::Timeout))),
        };
        let relaxed = atoms.without_moved_sizes();
        let floor = match solve_atoms(w, &relaxed, value.min(bound), deadline)?.0 {
            DpAnswer::Solved { value, .. } => value,
            DpAnswer::Infeasible => f64::INFINITY,
            DpAnswer::TimedOut => return Ok(with_notes(Outcome::none(Claim::Timeout))),
        };
        if floor >= value * (1.0 - 1e-12) {
            return Ok(with_notes(answer_to_outcome(w, &atoms, answer, Claim::Optimal)).note("merge", "certified"));
        }
        // The merge may have cost something: solve without it, if the lattice allows.
        let plain = build_atoms(w, AtomOptions::default());
        match solve_atoms(w, &plain, value, deadline) {
            Ok((plain_answer, plain_ideals, _)) => {
                Ok(with_notes(answer_to_outcome(w, &plain, plain_answer, Claim::Optimal))
                    .note("merge", "undone")
                    .note("unmerged_ideals", plain_ideals))
            }
            Err(_) => {
                let mut o = answer_to_outcome(w, &atoms, answer, Claim::Feasible);
                if atoms.orphans == 0 {
                    o.lower_bound = Some(floor);
                    o.bound_space = Space::Pipeline;
                }
                Ok(with_notes(o).note("merge", "uncertified: unmerged lattice too large"))
            }
        }
    }
}

/// Atom graphs (their predecessor lists) found to have more ideals than the limit in this
/// process: the count depends on the graph alone, so a sweep over the same model's sizes,
/// batches or device counts learns it once.
static TOO_WIDE: Mutex<BTreeSet<Vec<Vec<usize>>>> = Mutex::new(BTreeSet::new());

/// The ideals of `atoms`; `Ok(None)` if the deadline passed, `Err` if there are too many.
fn lattice_of(atoms: &Atoms, deadline: Option<Instant>) -> Result<Option<ideals::Lattice>> {
    let too_wide = || {
        Error::OutOfReach(format!("the forward graph has more than {IDEALS_LIMIT} ideals: too wide for the exact DP"))
    };
    if TOO_WIDE.lock().is_ok_and(|known| known.contains(&atoms.pred)) {
        return Err(too_wide());
    }
    match ideals::enumerate(atoms, IDEALS_LIMIT, deadline) {
        Ok(l) => Ok(Some(l)),
        Err(ideals::Stop::Deadline) => Ok(None),
        Err(ideals::Stop::Ideals(_)) => {
            if let Ok(mut known) = TOO_WIDE.lock() {
                known.insert(atoms.pred.clone());
            }
            Err(too_wide())
        }
        Err(ideals::Stop::Memory(count)) => Err(Error::OutOfReach(format!(
            "the ideals of {} atoms would take more than {} GiB ({count} found): too many atoms for the exact DP",
            atoms.len(),
            (ideals::WORDS_LIMIT * 8) >> 30
        ))),
    }
}

/// Enumerates the ideals of `atoms` and runs the DP; `Err` if there are too many ideals.
pub fn solve_atoms(
    w: &Workload,
    atoms: &Atoms,
    bound: f64,
    deadline: Option<Instant>,
) -> Result<(DpAnswer, usize, DpStats)> {
    let Some(lattice) = lattice_of(atoms, deadline)? else {
        return Ok((DpAnswer::TimedOut, 0, DpStats::default()));
    };
    let mut stats = DpStats::default();
    let answer = engine::solve(w, atoms, &lattice, bound, deadline, &mut stats);
    Ok((answer, lattice.len(), stats))
}

/// The exact DP's optimal placements on every accelerator count from `from` to the
/// workload's `max_accs`, from one table (pruned by the linearised DP's value on each count, a
/// feasible split and so an upper bound); `Err` if the forward graph is too wide.
pub fn placements_each(w: &Workload, from: usize, deadline: Option<Instant>) -> Result<Vec<(usize, Outcome)>> {
    let from = from.min(w.max_accs);
    // The linearised DP's optimum on each count is a feasible split: a bound per count.
    let chain = build_atoms(w, AtomOptions { merge_trivial: true, linearize: true, ..Default::default() });
    let mut bounds = vec![f64::INFINITY; w.max_accs + 1];
    if let Some(lattice) = lattice_of(&chain, deadline)? {
        let each = engine::solve_each(w, &chain, &lattice, &bounds, deadline, &mut DpStats::default(), 1);
        for (f, a) in (1..).zip(each) {
            if let DpAnswer::Solved { value, .. } = a {
                bounds[f] = value;
            }
        }
    }
    let atoms = build_atoms(w, AtomOptions { merge_trivial: true, ..Default::default() });
    let Some(lattice) = lattice_of(&atoms, deadline)? else {
        return Ok(Vec::new());
    };
    let answers = engine::solve_each(w, &atoms, &lattice, &bounds, deadline, &mut DpStats::default(), from);
    // Trivial merges move sizes only; without a memory limit they cost nothing.
    let claim = if atoms.moved_size() == 0.0 || w.total_size() <= w.max_size_per_acc {
        Claim::Optimal
    } else {
        Claim::Feasible
    };
    Ok((from..).zip(answers).map(|(k, a)| (k, answer_to_outcome(w, &atoms, a, claim))).collect())
}

/// Turns a DP answer into an outcome; solved answers claim `claim` (the DP is optimal, a DP
/// on a restricted space such as PipeDream's is not).
pub fn answer_to_outcome(w: &Workload, atoms: &Atoms, answer: DpAnswer, claim: Claim) -> Outcome {
    match answer {
        DpAnswer::Solved { value, stages } => {
            let mut o = Outcome::found(stages_to_placement(w, atoms, &stages), Some(value), claim);
            // Backward-only classes are ordered by mirrored edges, which
            // narrows the DP's space below "pipeline-ordered": then its optimum bounds nothing.
            if claim == Claim::Optimal && atoms.orphans == 0 {
                o.lower_bound = Some(value);
                o.bound_space = Space::Pipeline;
            }
            o
        }
        DpAnswer::Infeasible => Outcome::none(Claim::Infeasible),
        DpAnswer::TimedOut => Outcome::none(Claim::Timeout),
    }
}

/// Numbers accelerators and CPUs in pipeline order.
fn stages_to_placement(w: &Workload, atoms: &Atoms, stages: &[Stage]) -> Placement {
    let mut device = vec![Device::Cpu(0); w.len()];
    let (mut next_acc, mut next_cpu) = (0, 0);
    for stage in stages {
        let d = if stage.on_acc {
            next_acc += 1;
            Device::Acc(next_acc - 1)
        } else {
            next_cpu += 1;
            Device::Cpu(next_cpu - 1)
        };
        for &a in &stage.atoms {
            for &v in &atoms.members[a] {
                device[v] = d;
            }
        }
    }
    Placement { device }
}

//! `scotch`: k-way graph partitioning of the class graph with the Scotch library,
//! called in-process instead of through a `gpart` binary.
//!
//! Vertex weight is a class's accelerator time, edge weight the communication between two
//! classes, both scaled by 1e6 to integers as the reference does. Scotch balances vertex
//! weights and minimises the cut; it sees neither memory, contiguity nor CPUs, so its split is
//! scored as it is and may be infeasible. Differences from the reference: vertices are numbered
//! densely (the reference's labels near 2^31 made `gpart` allocate about 8 GB), and weights are
//! at least 1, since Scotch treats a zero-weight vertex as free to put anywhere.

use crate::algorithms::atoms::{build_atoms, AtomOptions};
use crate::algorithms::{Algorithm, Claim, Objective, Outcome, RunOptions};
use crate::error::{Error, Result};
use crate::placement::{Device, Placement};
use crate::workload::Workload;
use std::collections::BTreeMap;
use std::sync::Mutex;

/// libscotch keeps its random state in globals: one call at a time, reseeded each time, so a
/// run's result depends on its seed only.
static SCOTCH: Mutex<()> = Mutex::new(());

const SCALE: f64 = 1e6;

pub struct Scotch;

impl Algorithm for Scotch {
    fn name(&self) -> &'static str {
        "scotch"
    }

    fn objective(&self) -> Objective {
        Objective::Throughput
    }

    fn summary(&self) -> &'static str {
        "Scotch k-way partition of the class graph (balanced compute, least cut)"
    }

    fn applicable(&self, w: &Workload, _opts: &RunOptions) -> Result<(), crate::family::NotApplicable> {
        if w.max_accs == 0 {
            return Err("the workload has no accelerator (maxFPGAs = 0)".into());
        }
        if let Some(v) = w.nodes.iter().find(|v| !v.supported_on_acc) {
            return Err(format!("node {} is not supported on accelerators and Scotch uses no CPU", v.id).into());
        }
        Ok(())
    }

    fn run(&self, w: &Workload, opts: &RunOptions) -> Result<Outcome> {
        let atoms = build_atoms(w, AtomOptions::default());
        let n = atoms.len();
        // Per ordered pair of classes (A, B): the cost of every distinct node of A that sends
        // into B, added to both directions.
        let mut weight: BTreeMap<(usize, usize), f64> = BTreeMap::new();
        for u in 0..w.len() {
            let a = atoms.atom_of[u];
            let mut targets: Vec<usize> = w.succ[u].iter().map(|&x| atoms.atom_of[x]).filter(|&b| b != a).collect();
            targets.sort_unstable();
            targets.dedup();
            for b in targets {
                *weight.entry((a, b)).or_default() += w.out_cost[u];
                *weight.entry((b, a)).or_default() += w.out_cost[u];
            }
        }
        let to_int = |x: f64| ((x * SCALE) as scotch::Num).max(1);
        let mut verttab = Vec::with_capacity(n + 1);
        let mut edgetab = Vec::new();
        let mut edlotab = Vec::new();
        let mut entries = weight.iter().peekable();
        for a in 0..n {
            verttab.push(edgetab.len() as scotch::Num);
            while let Some(((x, b), wt)) = entries.next_if(|((x, _), _)| *x == a) {
                debug_assert_eq!(*x, a);
                edgetab.push(*b as scotch::Num);
                edlotab.push(to_int(*wt));
            }
        }
        verttab.push(edgetab.len() as scotch::Num);
        let velotab: Vec<scotch::Num> = atoms.acc.iter().map(|&x| to_int(x)).collect();
        let mut parttab = vec![0 as scotch::Num; n];
        {
            let _guard = SCOTCH.lock().unwrap_or_else(|p| p.into_inner());
            // SAFETY: plain calls on libscotch's global generator, serialised by the lock.
            unsafe {
                scotch_sys::SCOTCH_randomSeed(opts.seed as scotch_sys::SCOTCH_Num);
                scotch_sys::SCOTCH_randomReset();
            }
            let data = scotch::graph::Data::new(0, &verttab, &[], &velotab, &[], &edgetab, &edlotab);
            let mut graph = scotch::Graph::build(&data).map_err(|e| Error::Algorithm(format!("Scotch graph: {e}")))?;
            let arch = scotch::Architecture::complete(w.max_accs as scotch::Num);
            let mut strategy = scotch::Strategy::new();
            graph
                .mapping(&arch, &mut parttab)
                .compute(&mut strategy)
                .map_err(|e| Error::Algorithm(format!("Scotch mapping: {e}")))?;
        }
        let device = (0..w.len()).map(|v| Device::Acc(parttab[atoms.atom_of[v]] as usize)).collect();
        Ok(Outcome::found(Placement { device }, None, Claim::Feasible))
    }
}

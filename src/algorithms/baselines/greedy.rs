//! `greedy`: the paper's latency baseline: memory-driven first fit of
//! inseparable blocks, in topological order, onto accelerators; what does not fit goes to CPU.
//!
//! Blocks are co-location classes with cycles fused, as in the reference. Unlike the
//! reference, a block that is unsupported on accelerators goes to the CPU (the reference
//! ignores `supportedOnFpga`), and it closes the accelerator being filled, so every
//! accelerator keeps a contiguous run of the order.

use crate::algorithms::atoms::{build_atoms, AtomOptions};
use crate::algorithms::{Algorithm, Claim, Objective, Outcome, RunOptions};
use crate::error::Result;
use crate::placement::{Device, Placement};
use crate::workload::Workload;

pub struct Greedy;

impl Algorithm for Greedy {
    fn name(&self) -> &'static str {
        "greedy"
    }

    fn objective(&self) -> Objective {
        Objective::Latency
    }

    fn summary(&self) -> &'static str {
        "latency baseline: first fit of blocks in topological order by memory; the rest on CPU"
    }

    fn applicable(&self, w: &Workload, _opts: &RunOptions) -> Result<(), crate::family::NotApplicable> {
        if w.max_cpus == 0 {
            return Err("the greedy puts what does not fit on a CPU and the workload has none".into());
        }
        Ok(())
    }

    fn run(&self, w: &Workload, _opts: &RunOptions) -> Result<Outcome> {
        let atoms = build_atoms(w, AtomOptions::default());
        let mut device_of_atom = vec![Device::Cpu(0); atoms.len()];
        let (mut used, mut filling): (usize, Option<f64>) = (0, None);
        for a in 0..atoms.len() {
            let fits_any = atoms.supported[a] && atoms.size[a] <= w.max_size_per_acc;
            match filling {
                Some(load) if fits_any && load + atoms.size[a] <= w.max_size_per_acc => {
                    filling = Some(load + atoms.size[a]);
                    device_of_atom[a] = Device::Acc(used - 1);
                }
                _ if fits_any && used < w.max_accs => {
                    used += 1;
                    filling = Some(atoms.size[a]);
                    device_of_atom[a] = Device::Acc(used - 1);
                }
                _ => filling = None,
            }
        }
        let device = (0..w.len()).map(|v| device_of_atom[atoms.atom_of[v]]).collect();
        Ok(Outcome::found(Placement { device }, None, Claim::Feasible).note("accelerators", used))
    }
}

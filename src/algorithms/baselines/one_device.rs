//! `one-device`: every node on one accelerator (the reference's `-oneFpga`).

use crate::algorithms::{Algorithm, Claim, Objective, Outcome, RunOptions};
use crate::error::Result;
use crate::placement::{Device, Placement};
use crate::workload::Workload;

pub struct OneDevice;

impl Algorithm for OneDevice {
    fn name(&self) -> &'static str {
        "one-device"
    }

    fn objective(&self) -> Objective {
        Objective::Throughput
    }

    fn summary(&self) -> &'static str {
        "everything on accelerator 0 (infeasible when it does not fit in memory)"
    }

    fn applicable(&self, w: &Workload, _opts: &RunOptions) -> Result<(), crate::family::NotApplicable> {
        if w.max_accs == 0 {
            return Err("the workload has no accelerator (maxFPGAs = 0)".into());
        }
        Ok(())
    }

    fn run(&self, w: &Workload, _opts: &RunOptions) -> Result<Outcome> {
        // No communication on a single device: the load is the sum of accelerator latencies.
        let claimed = w.nodes.iter().map(|v| v.acc_latency).sum();
        let placement = Placement { device: vec![Device::Acc(0); w.len()] };
        Ok(Outcome::found(placement, Some(claimed), Claim::Feasible))
    }
}

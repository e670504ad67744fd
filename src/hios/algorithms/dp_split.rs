//! `dp-split`: the max-load DP's split over K GPUs, each GPU's operators in LST order.

use super::{lst_order, HiosOptions, Scheduled, Scheduler};
use crate::algorithms::{dp::Dp, Algorithm, RunOptions};
use crate::error::{Error, Result};
use crate::hios::{simulate, Problem, Schedule};
use crate::placement::Device;
use crate::workload::Workload;
use std::collections::BTreeMap;
use std::sync::Mutex;

pub struct DpSplit;

/// Workloads found beyond the DP's reach in this process, by content hash, with the reason.
static OUT_OF_REACH: Mutex<BTreeMap<String, String>> = Mutex::new(BTreeMap::new());

impl Scheduler for DpSplit {
    fn name(&self) -> &'static str {
        "dp-split"
    }

    fn summary(&self) -> &'static str {
        "the exact max-load DP's split over K GPUs, each GPU's operators in latest-start order"
    }

    fn schedule(&self, p: &Problem, w: &Workload, o: &HiosOptions) -> Result<Scheduled> {
        dp_split(p, w, o)
    }
}

/// The max-load DP's split over K accelerators (no CPU, no memory limit), each GPU's
/// operators in LST order.
fn dp_split(p: &Problem, w: &Workload, o: &HiosOptions) -> Result<Scheduled> {
    let k = o.gpus;
    if k == 1 {
        // One GPU holds everything: no split to search for.
        let s = Schedule::sequential_on(vec![0; p.len()], 1, &lst_order(p));
        let l = simulate(p, &s)?.latency;
        return Ok((s, l));
    }
    // Whether the DP reaches a workload does not depend on K (its lattice of ideals is the
    // same): a sweep over K learns it once.
    if let Some(why) = OUT_OF_REACH.lock().ok().and_then(|m| m.get(&w.content_hash).cloned()) {
        return Err(Error::OutOfReach(why));
    }
    // GPUs run every operator and hold any of these models.
    let mut wk = w.clone();
    wk.max_accs = k;
    wk.max_cpus = 0;
    wk.max_size_per_acc = f64::INFINITY;
    wk.nodes.iter_mut().for_each(|v| v.supported_on_acc = true);
    let opts = RunOptions { time_limit: o.time_limit, started: o.started, ..RunOptions::default() };
    let outcome = Dp.run(&wk, &opts).inspect_err(|e| {
        if let (Error::OutOfReach(why), Ok(mut m)) = (e, OUT_OF_REACH.lock()) {
            m.insert(w.content_hash.clone(), why.clone());
        }
    })?;
    o.check_time()?;
    let placement = outcome.placement.ok_or_else(|| Error::Algorithm("the DP found no split".into()))?;
    let gpu_of = placement.device.iter().map(|d| if let Device::Acc(j) = d { *j } else { 0 }).collect();
    let s = Schedule::sequential_on(gpu_of, k, &lst_order(p));
    let l = simulate(p, &s)?.latency;
    Ok((s, l))
}

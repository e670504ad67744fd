//! `dp-split`: the max-load DP's split over K GPUs, each GPU's operators in LST order.

use super::{lst_order, HiosOptions, Scheduled, Scheduler};
use crate::algorithms::{dp::placements_each, RunOptions};
use crate::error::{Error, Result};
use crate::hios::{simulate, Problem, Schedule};
use crate::placement::Device;
use crate::workload::Workload;
use std::collections::BTreeMap;
use std::sync::Mutex;

pub struct DpSplit;

/// Splits found in this process, by workload content hash and GPU count: one DP table answers
/// every GPU count of a sweep, so the first of its cells fills them all.
static SPLITS: Mutex<BTreeMap<String, BTreeMap<usize, Vec<usize>>>> = Mutex::new(BTreeMap::new());

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
    let known = || SPLITS.lock().ok().and_then(|m| m.get(&w.content_hash).and_then(|s| s.get(&k)).cloned());
    let gpu_of = if k == 1 {
        // One GPU holds everything: no split to search for.
        vec![0; p.len()]
    } else if let Some(g) = known() {
        g
    } else {
        // GPUs run every operator and hold any of these models.
        let mut counts: Vec<usize> = o.sweep_gpus.iter().copied().chain([k]).filter(|&c| c >= 2).collect();
        counts.sort_unstable();
        counts.dedup();
        let mut wk = w.clone();
        wk.max_accs = *counts.last().expect("k >= 2");
        wk.max_cpus = 0;
        wk.max_size_per_acc = f64::INFINITY;
        wk.nodes.iter_mut().for_each(|v| v.supported_on_acc = true);
        let opts = RunOptions { time_limit: o.time_limit, started: o.started, ..RunOptions::default() };
        let each = placements_each(&wk, counts[0], opts.deadline())?;
        o.check_time()?;
        let mut found = BTreeMap::new();
        for (c, outcome) in each {
            if let (true, Some(pl)) = (counts.contains(&c), outcome.placement) {
                found.insert(c, pl.device.iter().map(|d| if let Device::Acc(j) = d { *j } else { 0 }).collect());
            }
        }
        let mine = found.get(&k).cloned().ok_or_else(|| Error::Algorithm("the DP found no split".into()))?;
        if let Ok(mut m) = SPLITS.lock() {
            m.entry(w.content_hash.clone()).or_default().extend(found);
        }
        mine
    };
    let s = Schedule::sequential_on(gpu_of, k, &lst_order(p));
    let l = simulate(p, &s)?.latency;
    Ok((s, l).into())
}

//! HEFT and CPOP (`heft`, `cpop`): list scheduling on identical GPUs.

use super::{HiosOptions, Scheduled, Scheduler};
use crate::error::Result;
use crate::hios::{Problem, Schedule};
use crate::workload::Workload;

/// HEFT, or CPOP with `cpop`.
pub struct ListSchedule {
    pub cpop: bool,
}

impl Scheduler for ListSchedule {
    fn name(&self) -> &'static str {
        if self.cpop {
            "cpop"
        } else {
            "heft"
        }
    }

    fn summary(&self) -> &'static str {
        if self.cpop {
            "CPOP list scheduling: upward + downward rank, the critical path pinned to GPU 0"
        } else {
            "HEFT list scheduling: upward rank, each operator where it finishes first"
        }
    }

    fn schedule(&self, p: &Problem, _w: &Workload, o: &HiosOptions) -> Result<Scheduled> {
        let (s, own) = list_schedule(p, o.gpus, self.cpop);
        super::claimed(p, s, own)
    }
}

/// HEFT (Topcuoglu et al. 2002), or CPOP with `cpop`: list scheduling on identical GPUs by
/// upward rank (CPOP: upward + downward rank, the critical path pinned to GPU 0), each
/// operator to the GPU where it finishes first, appended after that GPU's last operator.
fn list_schedule(p: &Problem, k: usize, cpop: bool) -> (Schedule, f64) {
    let n = p.len();
    let mut up = vec![0.0f64; n];
    for &v in p.order.iter().rev() {
        up[v] = p.w[v] + p.succ[v].iter().map(|&s| p.c[v] + up[s]).fold(0.0, f64::max);
    }
    let mut down = vec![0.0f64; n];
    for &v in &p.order {
        down[v] = p.pred[v].iter().map(|&q| down[q] + p.w[q] + p.c[q]).fold(0.0, f64::max);
    }
    let prio: Vec<f64> = (0..n).map(|v| if cpop { up[v] + down[v] } else { up[v] }).collect();
    let cp = prio.iter().copied().fold(0.0, f64::max);
    // CPOP pins one critical path (entry to exit through operators of top priority) to a GPU.
    let top = |v: usize| (prio[v] - cp).abs() <= 1e-9 * cp.max(1.0);
    let mut pinned = vec![false; n];
    if cpop {
        let mut cur = (0..n).find(|&v| p.pred[v].is_empty() && top(v));
        while let Some(v) = cur {
            pinned[v] = true;
            cur = p.succ[v].iter().copied().find(|&s| top(s));
        }
    }
    let on_cp = |v: usize| pinned[v];
    let mut indeg: Vec<usize> = p.pred.iter().map(Vec::len).collect();
    let mut ready: Vec<usize> = (0..n).filter(|&v| indeg[v] == 0).collect();
    let (mut gpu_of, mut fin, mut clock) = (vec![0; n], vec![0.0f64; n], vec![0.0f64; k]);
    let mut order = Vec::with_capacity(n);
    while !ready.is_empty() {
        // Highest priority first; ties to the earlier operator in builder order.
        let i = (0..ready.len())
            .max_by(|&a, &b| prio[ready[a]].total_cmp(&prio[ready[b]]).then(ready[b].cmp(&ready[a])))
            .expect("non-empty");
        let v = ready.swap_remove(i);
        let eft = |g: usize| {
            let r = p.pred[v].iter().map(|&q| fin[q] + if gpu_of[q] != g { p.c[q] } else { 0.0 }).fold(0.0, f64::max);
            clock[g].max(r) + p.w[v]
        };
        let g = if on_cp(v) { 0 } else { (0..k).min_by(|&a, &b| eft(a).total_cmp(&eft(b))).expect("k >= 1") };
        fin[v] = eft(g);
        clock[g] = fin[v];
        gpu_of[v] = g;
        order.push(v);
        for &s in &p.succ[v] {
            indeg[s] -= 1;
            if indeg[s] == 0 {
                ready.push(s);
            }
        }
    }
    let latency = fin.iter().copied().fold(0.0, f64::max);
    (Schedule::sequential_on(gpu_of, k, &order), latency)
}

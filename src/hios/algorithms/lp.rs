//! HIOS-LP (`hios-lp`, `hios-lp-intra`): the longest-path mapping of operators onto GPUs,
//! optionally followed by the intra-GPU stream pass.

use super::{finish, optimizer, reference, walk_order, Fidelity, HiosOptions, Scheduled, Scheduler};
use crate::error::Result;
use crate::hios::{simulate, Problem, Schedule};
use crate::workload::Workload;

/// HIOS-LP; with `intra`, followed by the intra-GPU pass.
pub struct HiosLp {
    pub intra: bool,
}

impl Scheduler for HiosLp {
    fn name(&self) -> &'static str {
        if self.intra {
            "hios-lp-intra"
        } else {
            "hios-lp"
        }
    }

    fn summary(&self) -> &'static str {
        if self.intra {
            "HIOS-LP, then the intra-GPU pass merging independent operators into concurrent streams"
        } else {
            "HIOS-LP: longest remaining path to the GPU that gives the placed part the least latency"
        }
    }

    fn schedule(&self, p: &Problem, _w: &Workload, o: &HiosOptions) -> Result<Scheduled> {
        if o.fidelity == Fidelity::Optimizer {
            return optimizer(p, o, reference::lp_block, self.intra);
        }
        let s = hios_lp(p, o)?;
        finish(p, s, self.intra, o)
    }
}

/// The sub-problem on `nodes` (edges among them only) and the old index of each new one.
fn induced(p: &Problem, nodes: &[usize]) -> (Problem, Vec<usize>) {
    let mut new_of = vec![usize::MAX; p.len()];
    for (i, &v) in nodes.iter().enumerate() {
        new_of[v] = i;
    }
    let keep = |list: &Vec<usize>| list.iter().filter(|&&x| new_of[x] != usize::MAX).map(|&x| new_of[x]).collect();
    let sub = Problem {
        name: p.name.clone(),
        w: nodes.iter().map(|&v| p.w[v]).collect(),
        u: nodes.iter().map(|&v| p.u[v]).collect(),
        c: nodes.iter().map(|&v| p.c[v]).collect(),
        succ: nodes.iter().map(|&v| keep(&p.succ[v])).collect(),
        pred: nodes.iter().map(|&v| keep(&p.pred[v])).collect(),
        order: p.order.iter().filter(|&&v| new_of[v] != usize::MAX).map(|&v| new_of[v]).collect(),
        contention: p.contention,
        // A part of the graph is no plan the executor runs: its stages by the stage formula.
        model: None,
        forked: false,
    };
    (sub, nodes.to_vec())
}

/// Latency of the operators placed so far, alone (HIOS measures the partial block).
pub(super) fn partial_latency(p: &Problem, gpu_of: &[Option<usize>], k: usize, order: &[usize]) -> f64 {
    let nodes: Vec<usize> = order.iter().copied().filter(|&v| gpu_of[v].is_some()).collect();
    let (sub, old) = induced(p, &nodes);
    let gpus: Vec<usize> = old.iter().map(|&v| gpu_of[v].expect("placed")).collect();
    let sub_order: Vec<usize> = (0..old.len()).collect();
    let s = Schedule::sequential_on(gpus, k, &sub_order);
    simulate(&sub, &s).map_or(f64::INFINITY, |t| t.latency)
}

/// HIOS-LP: repeatedly take the longest remaining path (node times plus every transfer) and
/// put its unplaced operators on the GPU that gives the placed part the least latency. If
/// the result is slower than one GPU, one GPU is kept (a guarantee the reference lacks).
/// `--faithful`: HIOS's optimizer block by block; `--faithful simulator`: its simulator's
/// rules (a path's first operator weighs nothing, ties go to the highest GPU, no one-GPU
/// guarantee, operators without edges stay on GPU 0).
pub fn hios_lp(p: &Problem, o: &HiosOptions) -> Result<Schedule> {
    if o.fidelity == Fidelity::Optimizer {
        return Ok(optimizer(p, o, reference::lp_block, false)?.schedule);
    }
    let (k, faithful) = (o.gpus, o.fidelity.faithful());
    let n = p.len();
    let order = walk_order(p, o.fidelity);
    let mut remaining: Vec<Vec<bool>> = p.succ.iter().map(|s| vec![true; s.len()]).collect();
    let mut gpu_of: Vec<Option<usize>> = vec![None; n];
    loop {
        o.check_time()?;
        // Longest path over remaining edges, by dynamic programming in topological order.
        let mut best = vec![f64::NEG_INFINITY; n];
        let mut from = vec![usize::MAX; n];
        for &v in &p.order {
            if best[v] == f64::NEG_INFINITY {
                // A path's first operator: its own time counts, except in the reference, where
                // its EFT is 0.
                best[v] = if faithful { 0.0 } else { p.w[v] };
            }
            for (i, &s) in p.succ[v].iter().enumerate() {
                if remaining[v][i] {
                    let cand = best[v] + p.c[v] + p.w[s];
                    if cand > best[s] {
                        best[s] = cand;
                        from[s] = v;
                    }
                }
            }
        }
        let end = (0..n).filter(|&v| from[v] != usize::MAX).max_by(|&a, &b| best[a].total_cmp(&best[b]));
        // Once no edge is left, an operator still unplaced (one without edges: every edge's
        // ends were placed with its path) is a path of its own, the heaviest first. The
        // reference stops here and leaves such operators on GPU 0.
        let end = match end {
            Some(v) => v,
            None if faithful => break,
            None => {
                match order.iter().copied().filter(|&v| gpu_of[v].is_none()).max_by(|&a, &b| p.w[a].total_cmp(&p.w[b]))
                {
                    Some(v) => v,
                    None => break,
                }
            }
        };
        let mut path = vec![end];
        while from[*path.last().expect("non-empty")] != usize::MAX {
            path.push(from[*path.last().expect("non-empty")]);
        }
        path.reverse();
        let free: Vec<usize> = path.iter().copied().filter(|&v| gpu_of[v].is_none()).collect();
        if !free.is_empty() {
            let mut best_k = (f64::INFINITY, 0);
            for g in 0..k {
                for &v in &free {
                    gpu_of[v] = Some(g);
                }
                let l = partial_latency(p, &gpu_of, k, &order);
                if l < best_k.0 || (faithful && l == best_k.0) {
                    best_k = (l, g);
                }
            }
            for &v in &free {
                gpu_of[v] = Some(best_k.1);
            }
        }
        for pair in path.windows(2) {
            let i = p.succ[pair[0]].iter().position(|&s| s == pair[1]).expect("path edge");
            remaining[pair[0]][i] = false;
        }
    }
    let gpu_of: Vec<usize> = gpu_of.into_iter().map(|g| g.unwrap_or(0)).collect();
    let mapped = Schedule::sequential_on(gpu_of, k, &order);
    let single = Schedule::sequential_on(vec![0; n], k, &order);
    let (lm, ls) = (simulate(p, &mapped)?.latency, simulate(p, &single)?.latency);
    Ok(if faithful || lm <= ls { mapped } else { single })
}

//! The intra-GPU pass: merges independent operators of one GPU into stages of concurrent
//! streams wherever the simulated latency does not grow.

use super::{walk_order, HiosOptions};
use crate::error::Result;
use crate::hios::{simulate, Problem, Schedule, Stage};

/// Transitive successors of every operator, itself included, as bitsets.
fn reach(p: &Problem) -> Vec<Vec<u64>> {
    let words = p.len().div_ceil(64).max(1);
    let mut r = vec![vec![0u64; words]; p.len()];
    for &v in p.order.iter().rev() {
        r[v][v / 64] |= 1 << (v % 64);
        for &s in &p.succ[v] {
            let (a, b) = if v < s {
                let (x, y) = r.split_at_mut(s);
                (&mut x[v], &y[0])
            } else {
                let (x, y) = r.split_at_mut(v);
                (&mut y[0], &x[s])
            };
            for (x, y) in a.iter_mut().zip(b) {
                *x |= *y;
            }
        }
    }
    r
}

/// The intra-GPU pass: for each operator in order, try running it with
/// the next unvisited operators of its GPU (a prefix of the window, at most `streams`) as one
/// stage of concurrent streams; keep the merge if they are independent, nothing deadlocks, and
/// the simulated latency does not grow.
pub fn intra_pass(p: &Problem, mut best: Schedule, o: &HiosOptions) -> Result<Schedule> {
    let r = reach(p);
    let depends = |a: usize, b: usize| r[a][b / 64] >> (b % 64) & 1 == 1 || r[b][a / 64] >> (a % 64) & 1 == 1;
    let mut t = simulate(p, &best)?.latency;
    let mut unvisited: Vec<Vec<usize>> =
        best.stages.iter().map(|st| st.iter().flat_map(|s| s.iter().flatten().copied()).collect()).collect();
    for v in walk_order(p, o.faithful) {
        o.check_time()?;
        let g = best.gpu_of[v];
        if !unvisited[g].contains(&v) {
            continue;
        }
        let window: Vec<usize> = unvisited[g].iter().take(o.window.max(2)).copied().collect();
        let mut chosen: Option<(Schedule, f64, Vec<usize>)> = None;
        for m in (2..=o.streams.min(window.len())).rev() {
            let cand = &window[..m];
            if (0..m).any(|i| (i + 1..m).any(|j| depends(cand[i], cand[j]))) {
                continue;
            }
            let trial = merge(&best, g, cand);
            if let Ok(tl) = simulate(p, &trial) {
                if tl.latency <= chosen.as_ref().map_or(t, |c| c.1) {
                    chosen = Some((trial, tl.latency, cand.to_vec()));
                }
            }
        }
        match chosen {
            Some((s, l, members)) => {
                best = s;
                t = l;
                unvisited[g].retain(|x| !members.contains(x));
            }
            // The reference removes the rejected head with the wrong key, so its window stays
            // on that pair for every later operator of the GPU.
            None if o.faithful => {}
            None => unvisited[g].retain(|&x| x != v),
        }
    }
    Ok(best)
}

/// `s` with the stages of `members` (on GPU `g`) replaced by one stage, one stream each, at the
/// position of the earliest of them.
fn merge(s: &Schedule, g: usize, members: &[usize]) -> Schedule {
    let mut out = s.clone();
    let holds = |st: &Stage| st.iter().flatten().any(|v| members.contains(v));
    let first = out.stages[g].iter().position(holds).expect("members are on g");
    let mut groups: Stage = Vec::new();
    for st in out.stages[g].iter().filter(|st| holds(st)) {
        groups.extend(st.iter().cloned());
    }
    let mut kept: Vec<Stage> = Vec::new();
    for (i, st) in out.stages[g].iter().enumerate() {
        if i == first {
            kept.push(groups.clone());
        } else if !holds(st) {
            kept.push(st.clone());
        }
    }
    out.stages[g] = kept;
    out
}

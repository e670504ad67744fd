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
///
/// On a calibrated problem the pass runs in its forked world ([`Problem::forked_world`]),
/// where a merge counts what it gains beyond the fork its GPU pays once, and the schedule
/// merged is kept only where the issue model finds it faster than the one given.
pub fn intra_pass(p: &Problem, best: Schedule, o: &HiosOptions) -> Result<Schedule> {
    if p.model.is_none() {
        return Ok(pass(p, best, o, false)?.0);
    }
    let merged = pass(&p.forked_world(), best.clone(), o, false)?.0;
    Ok(super::least(p, vec![best, merged])?.0)
}

/// The intra pass on one block as HIOS's optimizer runs it: the block's entry (index 0) in no
/// GPU's sequence, the window stuck at the first pair it rejects (the reference removes the
/// rejected head with the wrong key), a latency of [`super::reference::PENALTY`] whenever GPU
/// 0 would hold only the exit. Merges that HIOS's own check lets through but that deadlock
/// once each GPU's stage order counts are refused and counted, as are those on which its pass
/// would crash (a cycle among data edges).
pub fn intra_block(p: &Problem, best: Schedule, o: &HiosOptions) -> Result<(Schedule, Vec<(String, String)>)> {
    let (s, deadlocking, crashing) = pass(p, best, o, true)?;
    let notes = vec![
        ("deadlocking_merges_refused".to_string(), deadlocking.to_string()),
        ("merges_crashing_hios".to_string(), crashing.to_string()),
    ];
    Ok((s, notes))
}

fn pass(p: &Problem, mut best: Schedule, o: &HiosOptions, block: bool) -> Result<(Schedule, u64, u64)> {
    let r = reach(p);
    let depends = |a: usize, b: usize| r[a][b / 64] >> (b % 64) & 1 == 1 || r[b][a / 64] >> (a % 64) & 1 == 1;
    let score = |s: &Schedule, latency: f64| if block { block_latency(p, s, latency) } else { latency };
    let mut t = score(&best, simulate(p, &best)?.latency);
    let mut unvisited: Vec<Vec<usize>> = best
        .stages
        .iter()
        .map(|st| st.iter().flat_map(|s| s.iter().flatten().copied()).filter(|&v| !(block && v == 0)).collect())
        .collect();
    let (mut deadlocking, mut crashing) = (0u64, 0u64);
    for v in walk_order(p, o.fidelity) {
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
            match simulate(p, &trial) {
                Ok(tl) => {
                    let l = score(&trial, tl.latency);
                    if l <= chosen.as_ref().map_or(t, |c| c.1) {
                        chosen = Some((trial, l, cand.to_vec()));
                    }
                }
                Err(_) if block => {
                    if data_edges_cycle(p, &trial) {
                        crashing += 1;
                    } else {
                        deadlocking += 1;
                    }
                }
                Err(_) => {}
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
            None if block => {}
            None => unvisited[g].retain(|&x| x != v),
        }
    }
    Ok((best, deadlocking, crashing))
}

/// What HIOS's optimizer measures for a block: its latency, or the penalty when GPU 0 holds
/// nothing but the entry and the exit.
fn block_latency(p: &Problem, s: &Schedule, latency: f64) -> f64 {
    let last = p.len().saturating_sub(1);
    if s.stages[0].iter().flatten().flatten().all(|&v| v == 0 || v == last) {
        super::reference::PENALTY
    } else {
        latency
    }
}

/// HIOS's deadlock check: a cycle among stages joined by data edges alone (each GPU's order
/// of stages left out).
fn data_edges_cycle(p: &Problem, s: &Schedule) -> bool {
    let mut stage_of = vec![usize::MAX; p.len()];
    let mut count = 0;
    for list in &s.stages {
        for stage in list {
            for &v in stage.iter().flatten() {
                stage_of[v] = count;
            }
            count += 1;
        }
    }
    let mut succ = vec![Vec::new(); count];
    let mut indeg = vec![0usize; count];
    for v in 0..p.len() {
        for &x in &p.succ[v] {
            let (a, b) = (stage_of[v], stage_of[x]);
            if a != b && a != usize::MAX && b != usize::MAX {
                succ[a].push(b);
                indeg[b] += 1;
            }
        }
    }
    let mut ready: Vec<usize> = (0..count).filter(|&i| indeg[i] == 0).collect();
    let mut seen = 0;
    while let Some(i) = ready.pop() {
        seen += 1;
        for &j in &succ[i] {
            indeg[j] -= 1;
            if indeg[j] == 0 {
                ready.push(j);
            }
        }
    }
    seen < count
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

//! HIOS-LP's and HIOS-MR's mappings as HIOS's optimizer computes them on one block
//! (`--faithful`): the block's entry is index 0 (weight 0), its exit the last index, the
//! indices in builder order. The rules that differ from the intended algorithms are listed in
//! `docs/hios.md`; each is marked where it is applied.

use super::mr::State;
use super::HiosOptions;
use crate::error::Result;
use crate::hios::{Problem, Schedule};

/// A block's mapping and its notes.
pub type Mapped = (Schedule, Vec<(String, String)>);

/// What HIOS's optimizer scores a trial in which GPU 0 would hold at most one stage.
pub const PENALTY: f64 = 1e6;

/// The remaining graph HIOS-LP peels paths from: which edges remain, which nodes are left.
struct Remaining {
    edge: Vec<Vec<bool>>,
    present: Vec<bool>,
}

impl Remaining {
    fn indeg(&self, p: &Problem, v: usize) -> usize {
        p.pred[v].iter().filter(|&&q| self.has(p, q, v)).count()
    }

    fn outdeg(&self, v: usize) -> usize {
        self.edge[v].iter().filter(|&&e| e).count()
    }

    fn has(&self, p: &Problem, a: usize, b: usize) -> bool {
        p.succ[a].iter().position(|&s| s == b).is_some_and(|i| self.edge[a][i])
    }
}

/// A path as HIOS's critical-path method returns it: its nodes, its edges, its length.
struct Path {
    nodes: Vec<usize>,
    edges: Vec<(usize, usize)>,
    length: f64,
}

/// Kahn's order with a first-in first-out queue over the edges in `keep`, starting from the
/// nodes (among `nodes`, in index order) that no kept edge enters.
fn kahn(p: &Problem, keep: &[Vec<bool>], nodes: &[bool]) -> Vec<usize> {
    let n = p.len();
    let mut indeg = vec![0usize; n];
    for v in 0..n {
        for (i, &s) in p.succ[v].iter().enumerate() {
            if keep[v][i] {
                indeg[s] += 1;
            }
        }
    }
    let mut queue: std::collections::VecDeque<usize> = (0..n).filter(|&v| nodes[v] && indeg[v] == 0).collect();
    let mut order = Vec::with_capacity(n);
    while let Some(v) = queue.pop_front() {
        order.push(v);
        for (i, &s) in p.succ[v].iter().enumerate() {
            if keep[v][i] {
                indeg[s] -= 1;
                if indeg[s] == 0 {
                    queue.push_back(s);
                }
            }
        }
    }
    order
}

/// Python's `round(x, 8)` (the reference compares slacks after it).
fn round8(x: f64) -> f64 {
    format!("{x:.8}").parse().unwrap_or(x)
}

/// HIOS's critical path from `s` to `d` over the kept edges: forward and backward passes in
/// which a path's first operator weighs nothing (its finish time stays 0), the zero-slack nodes
/// in topological order, made a chain by dropping each node that does not follow an edge.
fn critical_path(p: &Problem, keep: &[Vec<bool>], d: usize) -> Path {
    let n = p.len();
    let nodes: Vec<bool> =
        (0..n).map(|v| keep[v].iter().any(|&e| e) || p.pred[v].iter().any(|&q| kept(p, keep, q, v))).collect();
    if !nodes[d] {
        return Path { nodes: Vec::new(), edges: Vec::new(), length: 0.0 };
    }
    let order = kahn(p, keep, &nodes);
    let (mut est, mut eft) = (vec![0.0f64; n], vec![0.0f64; n]);
    for &v in &order {
        for (i, &s) in p.succ[v].iter().enumerate() {
            if keep[v][i] {
                est[s] = est[s].max(eft[v] + p.c[v]);
                eft[s] = est[s] + p.w[s];
            }
        }
    }
    eft[d] = est[d] + p.w[d];
    let mut lft = vec![eft[d]; n];
    let mut lst = vec![0.0f64; n];
    lst[d] = est[d];
    for &v in order.iter().rev() {
        for (i, &s) in p.succ[v].iter().enumerate() {
            if keep[v][i] {
                lft[v] = lft[v].min(lst[s] - p.c[v]);
                lst[v] = lft[v] - p.w[v];
            }
        }
    }
    let slack: Vec<f64> = (0..n).map(|v| round8(eft[v]) - round8(lft[v])).collect();
    let mut tolerance = 1e-8;
    let mut chain: Vec<usize>;
    loop {
        chain = order.iter().copied().filter(|&v| slack[v].abs() <= tolerance).collect();
        // A lone critical node: the reference widens its tolerance until there are more.
        if chain.len() != 1 || tolerance > 1.0 {
            break;
        }
        tolerance *= 10.0;
    }
    while let Some(i) = (0..chain.len().saturating_sub(1)).find(|&i| !kept(p, keep, chain[i], chain[i + 1])) {
        chain.remove(i + 1);
    }
    let edges = chain.windows(2).map(|e| (e[0], e[1])).collect();
    Path { nodes: chain, edges, length: eft[d] }
}

fn kept(p: &Problem, keep: &[Vec<bool>], a: usize, b: usize) -> bool {
    p.succ[a].iter().position(|&s| s == b).is_some_and(|i| keep[a][i])
}

/// The kept edges that lead to `d` (every edge of `keep` into `d` or into a node that reaches
/// `d` over kept edges).
fn towards(p: &Problem, keep: &[Vec<bool>], d: usize) -> Vec<Vec<bool>> {
    let mut reaches = vec![false; p.len()];
    reaches[d] = true;
    let all = vec![true; p.len()];
    let mut out: Vec<Vec<bool>> = p.succ.iter().map(|s| vec![false; s.len()]).collect();
    for &v in kahn(p, keep, &all).iter().rev() {
        for (i, &s) in p.succ[v].iter().enumerate() {
            if keep[v][i] && reaches[s] {
                out[v][i] = true;
                reaches[v] = true;
            }
        }
    }
    out
}

/// The kept edges reachable from `s`.
fn from_source(p: &Problem, keep: &[Vec<bool>], s: usize) -> Vec<Vec<bool>> {
    let mut out: Vec<Vec<bool>> = p.succ.iter().map(|x| vec![false; x.len()]).collect();
    let mut stack = vec![s];
    let mut seen = vec![false; p.len()];
    seen[s] = true;
    while let Some(v) = stack.pop() {
        for (i, &t) in p.succ[v].iter().enumerate() {
            if keep[v][i] {
                out[v][i] = true;
                if !seen[t] {
                    seen[t] = true;
                    stack.push(t);
                }
            }
        }
    }
    out
}

/// HIOS-LP's next path: the longest critical path between a source and a sink of the remaining
/// graph; among equal lengths the last one enumerated (sources, then sinks, in builder order).
/// Its validity check never rejects, so it is left out.
fn select_path(p: &Problem, r: &Remaining) -> Path {
    let n = p.len();
    let sources: Vec<usize> = (0..n).filter(|&v| r.present[v] && r.indeg(p, v) == 0 && r.outdeg(v) >= 1).collect();
    let sinks: Vec<usize> = (0..n).filter(|&v| r.present[v] && r.outdeg(v) == 0 && r.indeg(p, v) >= 1).collect();
    let mut candidates = Vec::new();
    if let ([_], [d]) = (sources.as_slice(), sinks.as_slice()) {
        candidates.push(critical_path(p, &r.edge, *d));
    } else if sources.len() == 1 {
        for &d in &sinks {
            candidates.push(critical_path(p, &towards(p, &r.edge, d), d));
        }
    } else {
        for &s in &sources {
            let reach = from_source(p, &r.edge, s);
            for &d in &sinks {
                candidates.push(critical_path(p, &towards(p, &reach, d), d));
            }
        }
    }
    // A stable sort ascending, then the last: the last enumerated of the longest. An empty
    // candidate (a sink the source does not reach) would make the reference loop for ever if
    // chosen; it is passed over.
    let mut best: Option<Path> = None;
    for c in candidates {
        if !c.edges.is_empty() && best.as_ref().is_none_or(|b| c.length >= b.length) {
            best = Some(c);
        }
    }
    best.unwrap_or(Path { nodes: Vec::new(), edges: Vec::new(), length: 0.0 })
}

/// A schedule of the block: each GPU's operators in builder order, one per stage, the entry
/// first on GPU 0 and the exit on GPU 0 (where HIOS gathers a multi-GPU block's result).
pub fn block_schedule(gpu_of: Vec<usize>, k: usize) -> Schedule {
    let mut g = gpu_of;
    if let Some(last) = g.len().checked_sub(1) {
        g[0] = 0;
        g[last] = 0;
    }
    let order: Vec<usize> = (0..g.len()).collect();
    Schedule::sequential_on(g, k, &order)
}

/// What HIOS measures for the placed operators alone (it runs the partial block, the exit
/// gathered on GPU 0): [`PENALTY`] when GPU 0 would hold nothing but the exit.
fn trial(p: &Problem, rank: &[Option<usize>], k: usize) -> f64 {
    let last = p.len() - 1;
    if !(1..last).any(|v| rank[v] == Some(0)) {
        return PENALTY;
    }
    let mut gathered = rank.to_vec();
    if gathered[last].is_some() {
        gathered[last] = Some(0);
    }
    let order: Vec<usize> = (0..p.len()).collect();
    super::lp::partial_latency(p, &gathered, k, &order)
}

/// HIOS-LP's mapping of one block, as HIOS's optimizer computes it.
pub fn lp_block(p: &Problem, o: &HiosOptions) -> Result<Mapped> {
    let (n, k) = (p.len(), o.gpus);
    let mut r = Remaining { edge: p.succ.iter().map(|s| vec![true; s.len()]).collect(), present: vec![true; n] };
    let mut rank: Vec<Option<usize>> = vec![None; n];
    while r.edge.iter().flatten().any(|&e| e) {
        o.check_time()?;
        let path = select_path(p, &r);
        if path.edges.is_empty() {
            break;
        }
        // Ties go to GPU 0: a trial equal to the best so far resets the choice to 0.
        let (mut best, mut best_rank) = (PENALTY, usize::MAX);
        for g in 0..k {
            let mut t = rank.clone();
            for &v in &path.nodes {
                t[v] = t[v].or(Some(g));
            }
            let l = trial(p, &t, k);
            if best > l {
                best = l;
                best_rank = g;
            } else if best == l {
                best_rank = 0;
            }
        }
        // No trial scored (none ran): the reference's rank stays -1, its "unplaced".
        if best_rank != usize::MAX {
            for &v in &path.nodes {
                rank[v] = rank[v].or(Some(best_rank));
            }
        }
        for &(a, b) in &path.edges {
            let i = p.succ[a].iter().position(|&s| s == b).expect("a path edge");
            r.edge[a][i] = false;
        }
        for &v in &path.nodes {
            if r.indeg(p, v) == 0 && r.outdeg(v) == 0 {
                r.present[v] = false;
            }
        }
    }
    Ok((block_schedule(rank.into_iter().map(|g| g.unwrap_or(0)).collect(), k), Vec::new()))
}

/// HIOS-MR's mapping of one block, as HIOS's optimizer computes it: states (operator, GPU) in
/// builder order; each predecessor's cost taken alone and the least of them kept (its list of
/// predecessors is filled twice and its running minimum never reset); the last operator's
/// cheapest GPU decides. Its note `mr_estimate` is that cost: what HIOS-MR believes the
/// block takes.
pub fn mr_block(p: &Problem, o: &HiosOptions) -> Result<Mapped> {
    let (n, k) = (p.len(), o.gpus);
    let empty = State { gpu: vec![usize::MAX; n], fin: vec![0.0; n], clock: vec![0.0; k], cost: 0.0 };
    let mut states = vec![empty; k];
    states[0].gpu[0] = 0;
    // Predecessors in the order the reference lists them (its topological order).
    let all = vec![true; n];
    let keep: Vec<Vec<bool>> = p.succ.iter().map(|s| vec![true; s.len()]).collect();
    let mut pos = vec![0; n];
    for (i, v) in kahn(p, &keep, &all).into_iter().enumerate() {
        pos[v] = i;
    }
    let preds: Vec<Vec<usize>> = p
        .pred
        .iter()
        .map(|ps| {
            let mut ps = ps.clone();
            ps.sort_by_key(|&q| pos[q]);
            ps
        })
        .collect();
    for v in 1..n {
        if v % 64 == 0 {
            o.check_time()?;
        }
        let mut next = Vec::with_capacity(k);
        for g in 0..k {
            let mut best = (f64::INFINITY, 0);
            for &q in &preds[v] {
                for (j, s) in states.iter().enumerate() {
                    // A predecessor missing from a history counts as on GPU 0, finished at 0.
                    let (gq, fq) = if s.gpu[q] == usize::MAX { (0, 0.0) } else { (s.gpu[q], s.fin[q]) };
                    let cost = if gq == g { s.clock[g] + p.w[v] } else { (fq + p.c[q]).max(s.clock[g]) + p.w[v] };
                    if cost < best.0 {
                        best = (cost, j);
                    }
                }
            }
            if preds[v].is_empty() {
                for (j, s) in states.iter().enumerate() {
                    if s.clock[g] + p.w[v] < best.0 {
                        best = (s.clock[g] + p.w[v], j);
                    }
                }
            }
            let mut s = states[best.1].clone();
            s.gpu[v] = g;
            s.fin[v] = best.0;
            s.clock[g] = best.0;
            s.cost = best.0;
            next.push(s);
        }
        states = next;
    }
    let mut pick = 0;
    for (g, s) in states.iter().enumerate() {
        if s.cost < states[pick].cost {
            pick = g;
        }
    }
    let best = states.swap_remove(pick);
    let estimate = vec![("mr_estimate".to_string(), best.cost.to_string())];
    let gpu_of = best.gpu.into_iter().map(|g| if g == usize::MAX { 0 } else { g }).collect();
    Ok((block_schedule(gpu_of, k), estimate))
}

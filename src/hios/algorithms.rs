//! The scheduling algorithms: HIOS-LP and HIOS-MR mappings with the intra-GPU stream pass
//! (spec §2.2, §2.3, §2.5, the intended algorithms), and the baselines: sequential, an
//! IOS-style single-GPU stage DP, HEFT, CPOP, and the max-load DP's split.
//!
//! Each returns a schedule and the latency it computed for it; the runner re-simulates.

use super::{simulate, Problem, Schedule, Stage};
use crate::algorithms::{dp::Dp, Algorithm, RunOptions};
use crate::placement::Device;
use crate::workload::Workload;

/// Options of the HIOS algorithms.
#[derive(Debug, Clone)]
pub struct HiosOptions {
    pub gpus: usize,
    /// Sliding window of the intra-GPU pass (the reference: 2).
    pub window: usize,
    /// Streams per GPU (the reference: 2).
    pub streams: usize,
    /// Largest stage of the IOS-style DP, and operators per DP part.
    pub max_group: usize,
    pub part: usize,
    /// Reproduce the reference code's quirks (spec §2.8, 1–5) instead of the intended
    /// algorithms: builder order for LST order, the source's weight left out of path lengths,
    /// HIOS-MR looking at the first predecessor only, and the intra window stuck at the first
    /// pair it rejects. (Quirk 3, the no-op validity check, is the intended behaviour too: the
    /// longest candidate path is taken.)
    pub faithful: bool,
}

impl Default for HiosOptions {
    fn default() -> Self {
        HiosOptions { gpus: 2, window: 2, streams: 2, max_group: 3, part: 10, faithful: false }
    }
}

/// The scheduling algorithms by name, in report order.
pub const NAMES: &[&str] =
    &["sequential", "ios", "heft", "cpop", "dp-split", "hios-lp", "hios-lp-intra", "hios-mr", "hios-mr-intra"];

/// Runs `name`; returns the schedule and the latency the algorithm computed.
pub fn run(name: &str, p: &Problem, w: Option<&Workload>, o: &HiosOptions) -> Result<(Schedule, f64), String> {
    let k = o.gpus.max(1);
    match name {
        "sequential" => {
            let s = Schedule::sequential_on(vec![0; p.len()], k, &p.order);
            Ok((s, p.w.iter().sum()))
        }
        "ios" => Ok(ios(p, k, o)),
        "heft" => Ok(list_schedule(p, k, false)),
        "cpop" => Ok(list_schedule(p, k, true)),
        "dp-split" => dp_split(p, w.ok_or("dp-split needs the workload")?, k),
        "hios-lp" | "hios-lp-intra" => {
            let s = hios_lp(p, k, o.faithful)?;
            finish(p, s, name.ends_with("-intra"), o)
        }
        "hios-mr" | "hios-mr-intra" => {
            let (s, claimed) = hios_mr(p, k, o.faithful);
            // The faithful DP's own makespan ignores all but the first predecessor, so it is
            // not a claim about the schedule: report the simulator's latency instead.
            if name.ends_with("-intra") || o.faithful {
                finish(p, s, name.ends_with("-intra"), o)
            } else {
                Ok((s, claimed))
            }
        }
        _ => Err(format!("unknown scheduling algorithm {name:?}; known: {}", NAMES.join(", "))),
    }
}

fn finish(p: &Problem, s: Schedule, intra: bool, o: &HiosOptions) -> Result<(Schedule, f64), String> {
    let s = if intra { intra_pass(p, s, o)? } else { s };
    let l = simulate(p, &s)?.latency;
    Ok((s, l))
}

/// The order HIOS walks operators in: LST order as intended, or (faithful) the model builder's
/// order, which the reference ends up with because its LSTs are all 0 (quirk 1): operator ids
/// when they are topological, else the workload's topological order.
pub fn walk_order(p: &Problem, faithful: bool) -> Vec<usize> {
    if !faithful {
        return lst_order(p);
    }
    let ids_topological = (0..p.len()).all(|v| p.succ[v].iter().all(|&s| s > v));
    if ids_topological {
        (0..p.len()).collect()
    } else {
        p.order.clone()
    }
}

/// Operators by ascending latest start time of the critical-path method (all transfers paid),
/// ties in topological order: the per-GPU order HIOS intends (spec §2.2, quirk 1 fixed).
pub fn lst_order(p: &Problem) -> Vec<usize> {
    let n = p.len();
    let mut eft = vec![0.0f64; n];
    for &v in &p.order {
        let est = p.pred[v].iter().map(|&q| eft[q] + p.c[q]).fold(0.0, f64::max);
        eft[v] = est + p.w[v];
    }
    let end = eft.iter().copied().fold(0.0, f64::max);
    let mut lst = vec![0.0f64; n];
    for &v in p.order.iter().rev() {
        let lft = p.succ[v].iter().map(|&s| lst[s] - p.c[v]).fold(end, f64::min);
        lst[v] = lft - p.w[v];
    }
    let mut pos = vec![0; n];
    for (i, &v) in p.order.iter().enumerate() {
        pos[v] = i;
    }
    let mut order = p.order.clone();
    order.sort_by(|&a, &b| lst[a].total_cmp(&lst[b]).then(pos[a].cmp(&pos[b])));
    order
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
    };
    (sub, nodes.to_vec())
}

/// Latency of the operators placed so far, alone (HIOS measures the partial block).
fn partial_latency(p: &Problem, gpu_of: &[Option<usize>], k: usize, order: &[usize]) -> f64 {
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
pub fn hios_lp(p: &Problem, k: usize, faithful: bool) -> Result<Schedule, String> {
    let n = p.len();
    let order = walk_order(p, faithful);
    let mut remaining: Vec<Vec<bool>> = p.succ.iter().map(|s| vec![true; s.len()]).collect();
    let mut gpu_of: Vec<Option<usize>> = vec![None; n];
    loop {
        // Longest path over remaining edges, by dynamic programming in topological order.
        let mut best = vec![f64::NEG_INFINITY; n];
        let mut from = vec![usize::MAX; n];
        for &v in &p.order {
            if best[v] == f64::NEG_INFINITY {
                // A path's first operator: its own time counts, except in the reference, where
                // its EFT is 0 (quirk 5).
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
        let Some(end) = (0..n).filter(|&v| from[v] != usize::MAX).max_by(|&a, &b| best[a].total_cmp(&best[b])) else {
            break;
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
                if l < best_k.0 {
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
    Ok(if lm <= ls { mapped } else { single })
}

/// HIOS-MR, the intended DP (spec §2.3): operators in LST order; state (position, GPU) keeps
/// the best history; the next operator on GPU k starts after GPU k's last operator and after
/// every predecessor's finish plus its transfer when on another GPU.
pub fn hios_mr(p: &Problem, k: usize, faithful: bool) -> (Schedule, f64) {
    let n = p.len();
    let order = walk_order(p, faithful);
    // The reference's running minimum is never reset, so only the first predecessor (the
    // earliest in topological order) counts (quirk 4).
    let mut position = vec![0; n];
    for (i, &v) in p.order.iter().enumerate() {
        position[v] = i;
    }
    let firsts: Vec<Vec<usize>> = if faithful {
        p.pred.iter().map(|ps| ps.iter().min_by_key(|&&q| position[q]).into_iter().copied().collect()).collect()
    } else {
        Vec::new()
    };
    let preds: &[Vec<usize>] = if faithful { &firsts } else { &p.pred };
    #[derive(Clone)]
    struct State {
        gpu: Vec<usize>,
        fin: Vec<f64>,
        clock: Vec<f64>,
        cost: f64,
    }
    let empty = State { gpu: vec![usize::MAX; n], fin: vec![0.0; n], clock: vec![0.0; k], cost: f64::INFINITY };
    if n == 0 {
        return (Schedule::sequential_on(vec![], k, &[]), 0.0);
    }
    // Identical GPUs: the first operator goes to GPU 0.
    let mut states: Vec<State> = vec![empty.clone(); k];
    {
        let v = order[0];
        let s = &mut states[0];
        s.gpu[v] = 0;
        s.fin[v] = p.w[v];
        s.clock[0] = p.w[v];
        s.cost = p.w[v];
    }
    for &v in &order[1..] {
        let mut next = vec![empty.clone(); k];
        for g in 0..k {
            let mut best: Option<(f64, usize)> = None;
            for (j, s) in states.iter().enumerate() {
                if !s.cost.is_finite() {
                    continue;
                }
                let ready =
                    preds[v].iter().map(|&q| s.fin[q] + if s.gpu[q] != g { p.c[q] } else { 0.0 }).fold(0.0, f64::max);
                let end = s.clock[g].max(ready) + p.w[v];
                if best.is_none_or(|(b, _)| end < b) {
                    best = Some((end, j));
                }
            }
            if let Some((end, j)) = best {
                let mut s = states[j].clone();
                s.gpu[v] = g;
                s.fin[v] = end;
                s.clock[g] = end;
                s.cost = end;
                next[g] = s;
            }
        }
        states = next;
    }
    let best = states
        .into_iter()
        .filter(|s| s.cost.is_finite())
        .min_by(|a, b| {
            a.clock.iter().copied().fold(0.0, f64::max).total_cmp(&b.clock.iter().copied().fold(0.0, f64::max))
        })
        .expect("GPU 0 always has a state");
    let makespan = best.fin.iter().copied().fold(0.0, f64::max);
    (Schedule::sequential_on(best.gpu, k, &order), makespan)
}

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

/// The intra-GPU pass (spec §2.5, intended): for each operator in order, try running it with
/// the next unvisited operators of its GPU (a prefix of the window, at most `streams`) as one
/// stage of concurrent streams; keep the merge if they are independent, nothing deadlocks, and
/// the simulated latency does not grow.
pub fn intra_pass(p: &Problem, mut best: Schedule, o: &HiosOptions) -> Result<Schedule, String> {
    let r = reach(p);
    let depends = |a: usize, b: usize| r[a][b / 64] >> (b % 64) & 1 == 1 || r[b][a / 64] >> (a % 64) & 1 == 1;
    let mut t = simulate(p, &best)?.latency;
    let mut unvisited: Vec<Vec<usize>> =
        best.stages.iter().map(|st| st.iter().flat_map(|s| s.iter().flatten().copied()).collect()).collect();
    for v in walk_order(p, o.faithful) {
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
            // on that pair for every later operator of the GPU (quirk 2).
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

/// IOS-style single-GPU schedule (Ding et al. 2021): operators in builder order, cut into parts
/// of `o.part`; in each part a DP over its sets of operators picks the last stage (up to
/// `o.max_group` independent operators run as concurrent streams) that minimises the sum of
/// stage times.
fn ios(p: &Problem, k: usize, o: &HiosOptions) -> (Schedule, f64) {
    let mut stages: Vec<Stage> = Vec::new();
    let mut total = 0.0;
    for part in p.order.chunks(o.part.clamp(1, 16)) {
        let m = part.len();
        let idx = |v: usize| part.iter().position(|&x| x == v);
        // In-part predecessors and successors as bit masks.
        let pred_mask: Vec<u32> =
            part.iter().map(|&v| p.pred[v].iter().filter_map(|&q| idx(q)).fold(0, |a, i| a | 1 << i)).collect();
        let succ_mask: Vec<u32> =
            part.iter().map(|&v| p.succ[v].iter().filter_map(|&s| idx(s)).fold(0, |a, i| a | 1 << i)).collect();
        let full = (1u32 << m) - 1;
        let closed = |s: u32| (0..m).all(|i| s >> i & 1 == 0 || pred_mask[i] & !s == 0);
        let mut dp = vec![f64::INFINITY; 1 << m];
        let mut last = vec![0u32; 1 << m];
        dp[0] = 0.0;
        for s in 1..=full {
            if !closed(s) {
                continue;
            }
            // Endings: non-empty subsets e of s whose members have no successor left in s - e.
            let mut e = s;
            while e > 0 {
                let size = e.count_ones() as usize;
                let ok =
                    size <= o.max_group.max(1) && (0..m).all(|i| e >> i & 1 == 0 || succ_mask[i] & (s & !e) == 0) && {
                        // Members independent: no edge inside e.
                        (0..m).all(|i| e >> i & 1 == 0 || succ_mask[i] & e == 0)
                    };
                if ok && dp[(s & !e) as usize].is_finite() {
                    let groups: Stage = (0..m).filter(|&i| e >> i & 1 == 1).map(|i| vec![part[i]]).collect();
                    let c = dp[(s & !e) as usize] + p.stage_time(&groups);
                    if c < dp[s as usize] {
                        dp[s as usize] = c;
                        last[s as usize] = e;
                    }
                }
                e = (e - 1) & s;
            }
        }
        let mut s = full;
        let mut part_stages = Vec::new();
        while s != 0 {
            let e = last[s as usize];
            part_stages.push((0..m).filter(|&i| e >> i & 1 == 1).map(|i| vec![part[i]]).collect::<Stage>());
            s &= !e;
        }
        part_stages.reverse();
        total += dp[full as usize];
        stages.extend(part_stages);
    }
    let mut all = vec![Vec::new(); k];
    all[0] = stages;
    (Schedule { gpus: k, gpu_of: vec![0; p.len()], stages: all }, total)
}

/// The max-load DP's split over K accelerators (no CPU, no memory limit), each GPU's
/// operators in LST order.
fn dp_split(p: &Problem, w: &Workload, k: usize) -> Result<(Schedule, f64), String> {
    // GPUs run every operator and hold any of these models.
    let mut wk = w.clone();
    wk.max_accs = k;
    wk.max_cpus = 0;
    wk.max_size_per_acc = f64::INFINITY;
    wk.nodes.iter_mut().for_each(|v| v.supported_on_acc = true);
    let outcome = Dp.run(&wk, &RunOptions::default()).map_err(|e| e.to_string())?;
    let placement = outcome.placement.ok_or("the DP found no split")?;
    let gpu_of = placement.device.iter().map(|d| if let Device::Acc(j) = d { *j } else { 0 }).collect();
    let s = Schedule::sequential_on(gpu_of, k, &lst_order(p));
    let l = simulate(p, &s)?.latency;
    Ok((s, l))
}

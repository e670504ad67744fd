//! Response-time analysis of the pipeline: non-preemptive fixed-priority stages with release
//! jitter, solved holistically (Tindell and Clark; Davis et al. 2007 for the non-preemptive
//! blocking), a sufficient test.
//!
//! For a real-time task i with a non-empty stage on node k (WCET `C_ik`): blocking
//! `B_ik` is the longest lower-priority real-time stage on k or the longest best-effort layer
//! on k (best-effort work yields at layer boundaries); its jitter at k is what its earlier
//! stages took beyond their WCETs, `J_ik = Σ_{m<k} (R_im − C_im)`; its waiting time is the
//! least fixed point of
//! `w = B_ik + Σ_{h ∈ hp(i,k)} (⌊(w + J_hk) / T_h⌋ + 1) C_hk + ⌊(w + J_ik) / T_i⌋ C_ik`
//! from `w = B_ik` (abandoned once `w + C_ik > D_i`), `R_ik = w + C_ik` and `R_i = Σ_k R_ik`.
//! The jitters start at 0 and the whole is iterated until they no longer change.
//! Priorities: higher weight π first, then the shorter deadline, then the task's index.

use super::model::{longest_layers, stage_times, Cuts, Node, Platform, Task};

/// What the analysis found.
#[derive(Debug, Clone, PartialEq)]
pub struct Analysis {
    /// Each task's end-to-end bound, ms: infinite where it cannot be bounded within its
    /// deadline; NaN for best-effort tasks.
    pub response_ms: Vec<f64>,
    /// Each task's bound per node (0 for an empty stage).
    pub stage_response_ms: Vec<Vec<f64>>,
    /// Each task's stage WCETs.
    pub stage_ms: Vec<Vec<f64>>,
    pub schedulable: bool,
    /// Holistic rounds until the jitters settled.
    pub rounds: usize,
}

impl Analysis {
    /// No analysis (a runtime without one): every real-time bound unknown, nothing admitted.
    pub fn none(p: &Platform, tasks: &[Task], cfg: &[Node], cuts: &[Cuts]) -> Analysis {
        let stage_ms: Vec<Vec<f64>> = tasks.iter().zip(cuts).map(|(t, c)| stage_times(p, t, cfg, c)).collect();
        Analysis {
            response_ms: tasks.iter().map(|t| if t.rt() { f64::INFINITY } else { f64::NAN }).collect(),
            stage_response_ms: vec![vec![f64::INFINITY; cfg.len()]; tasks.len()],
            stage_ms,
            schedulable: false,
            rounds: 0,
        }
    }
}

/// Real-time tasks from the highest priority down.
pub fn priority_order(tasks: &[Task]) -> Vec<usize> {
    let mut rt: Vec<usize> = (0..tasks.len()).filter(|&i| tasks[i].rt()).collect();
    rt.sort_by(|&a, &b| {
        let (x, y) = (&tasks[a], &tasks[b]);
        y.weight.total_cmp(&x.weight).then(x.deadline_ms.total_cmp(&y.deadline_ms)).then(a.cmp(&b))
    });
    rt
}

const MAX_ROUNDS: usize = 10_000;

/// Analyses `tasks` cut by `cuts` over `cfg` under DART's runtime.
pub fn analyse(p: &Platform, tasks: &[Task], cfg: &[Node], cuts: &[Cuts]) -> Analysis {
    analyse_blocking(p, tasks, cfg, cuts, false)
}

/// The same analysis with best-effort work that runs whole stages without yielding (the
/// sequential runtime): a best-effort stage blocks for its whole WCET.
pub fn analyse_blocking(p: &Platform, tasks: &[Task], cfg: &[Node], cuts: &[Cuts], be_whole: bool) -> Analysis {
    let n = tasks.len();
    let k_n = cfg.len();
    let c: Vec<Vec<f64>> = (0..n).map(|i| stage_times(p, &tasks[i], cfg, &cuts[i])).collect();
    let nonempty: Vec<Vec<bool>> =
        (0..n).map(|i| (0..k_n).map(|k| cuts[i][k] > if k == 0 { 0 } else { cuts[i][k - 1] }).collect()).collect();
    let order = priority_order(tasks);
    let rank: Vec<usize> = {
        let mut r = vec![usize::MAX; n];
        for (pos, &i) in order.iter().enumerate() {
            r[i] = pos;
        }
        r
    };
    // Blocking: the longest lower-priority real-time stage or best-effort layer on each node.
    let be_layer: Vec<Vec<f64>> = (0..n)
        .map(|i| match (tasks[i].rt(), be_whole) {
            (true, _) => vec![0.0; k_n],
            (false, true) => c[i].clone(),
            (false, false) => longest_layers(p, &tasks[i], cfg, &cuts[i]),
        })
        .collect();
    // Blocking does not depend on the jitters: computed once, before the holistic rounds.
    let blocks = |i: usize, k: usize, j: usize| match (tasks[j].rt(), rank[j] > rank[i]) {
        (false, _) => be_layer[j][k],
        (true, true) => c[j][k],
        (true, false) => 0.0,
    };
    let blocking: Vec<Vec<f64>> = (0..n)
        .map(|i| {
            (0..k_n)
                .map(|k| (0..n).filter(|&j| j != i && nonempty[j][k]).map(|j| blocks(i, k, j)).fold(0.0, f64::max))
                .collect()
        })
        .collect();
    let mut r = vec![vec![0.0; k_n]; n];
    let mut jitter = vec![vec![0.0; k_n]; n];
    let mut rounds = 0;
    loop {
        rounds += 1;
        for &i in &order {
            let t = &tasks[i];
            for k in 0..k_n {
                if !nonempty[i][k] {
                    r[i][k] = 0.0;
                    continue;
                }
                let b = blocking[i][k];
                let mut w = b;
                r[i][k] = loop {
                    let hp: f64 = order[..rank[i]]
                        .iter()
                        .filter(|&&h| nonempty[h][k] && c[h][k] > 0.0)
                        .map(|&h| (((w + jitter[h][k]) / tasks[h].period_ms).floor() + 1.0) * c[h][k])
                        .sum();
                    // (A zero-time stage adds nothing, even behind an unbounded jitter.)
                    let own = if c[i][k] > 0.0 { ((w + jitter[i][k]) / t.period_ms).floor() * c[i][k] } else { 0.0 };
                    let next = b + hp + own;
                    if next + c[i][k] > t.deadline_ms * (1.0 + 1e-12) {
                        break f64::INFINITY;
                    }
                    if next <= w * (1.0 + 1e-12) + 1e-12 {
                        break next.max(w) + c[i][k];
                    }
                    w = next;
                };
            }
        }
        let mut changed = false;
        for &i in &order {
            let mut acc = 0.0f64;
            for k in 0..k_n {
                let j = acc;
                // A jitter that became unbounded is a change too (∞ > 1e-9 · ∞ is false).
                let was = jitter[i][k];
                if j.is_infinite() != was.is_infinite() || (j.is_finite() && (j - was).abs() > 1e-9 * j.abs().max(1.0))
                {
                    changed = true;
                }
                jitter[i][k] = j;
                if nonempty[i][k] {
                    acc += r[i][k] - c[i][k];
                }
            }
        }
        // An unbounded stage makes the jitters after it unbounded too; the rounds go on to the
        // least fixed point of the whole, so that every bound is monotone in the inputs.
        if !changed || rounds >= MAX_ROUNDS {
            break;
        }
    }
    let response_ms: Vec<f64> =
        (0..n).map(|i| if tasks[i].rt() { r[i].iter().sum::<f64>() } else { f64::NAN }).collect();
    let schedulable = order.iter().all(|&i| response_ms[i] <= tasks[i].deadline_ms * (1.0 + 1e-12));
    for i in 0..n {
        if !tasks[i].rt() {
            r[i] = vec![0.0; k_n];
        }
    }
    Analysis { response_ms, stage_response_ms: r, stage_ms: c, schedulable, rounds }
}

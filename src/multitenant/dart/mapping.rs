//! The stage mapping: each task's layers cut into one stage per node so that the largest node
//! utilisation (the nodes' loads so far plus this task's stage on each, over its period) is
//! least.
//!
//! `M[l][k][s]`: the least largest utilisation of nodes 1..k with stages 1..k holding layers
//! `0..l`, the data then in memory space `s` (host or GPU; a stage starting in the other space
//! pays the copy of its input). Stage k empty: `max(M[l][k−1][s], w_k)`; stage k the layers
//! `j..l`: `max(M[j][k−1][s'], w_k + U(j..l, k, s'))`. Ties: fewer non-empty stages, then
//! earlier cuts. O(L² K) per task with prefix sums of the layers' times on each node.
//!
//! Unlike the recurrence it reconstructs (whose empty-stage term leaves `w_k` out), an empty
//! stage here keeps node k's load in the maximum, so that the value is the largest node
//! utilisation after the task is placed, the quantity the brute force checks.

use super::model::{input_bytes, layer_ms, Cuts, Node, Platform, Task};

/// The cuts of `t` over `cfg` given the nodes' loads `w`, and the largest utilisation after.
pub fn map_task(p: &Platform, t: &Task, cfg: &[Node], w: &[f64]) -> (Cuts, f64) {
    let (l_n, k_n) = (t.layers.len(), cfg.len());
    // Prefix sums of the layers' times on each node.
    let prefix: Vec<Vec<f64>> = cfg
        .iter()
        .map(|&n| {
            let mut s = Vec::with_capacity(l_n + 1);
            s.push(0.0);
            for l in &t.layers {
                s.push(s.last().copied().unwrap_or(0.0) + layer_ms(l, n));
            }
            s
        })
        .collect();
    let copy: Vec<f64> = (0..l_n).map(|j| p.copy_ms(input_bytes(t, j))).collect();
    // best[k][l][s] = (value, non-empty stages, where it came from: layer and space at k − 1).
    // Strict comparisons in ascending j keep the first of equals: the earlier cut.
    type Best = Option<(f64, usize, usize, usize)>;
    let better = |v: f64, ne: usize, b: &Best| b.is_none_or(|(bv, bne, ..)| (v, ne) < (bv, bne));
    let mut table: Vec<Vec<[Best; 2]>> = vec![vec![[None, None]; l_n + 1]; k_n + 1];
    table[0][0][0] = Some((0.0, 0, 0, 0));
    for (k, &node) in cfg.iter().enumerate() {
        let to = node.gpu as usize;
        for j in 0..=l_n {
            for s in 0..2 {
                let Some((v, ne, ..)) = table[k][j][s] else { continue };
                let e = v.max(w[k]);
                if better(e, ne, &table[k + 1][j][s]) {
                    table[k + 1][j][s] = Some((e, ne, j, s));
                }
                let c = if (s == 1) != node.gpu { copy.get(j).copied().unwrap_or(0.0) } else { 0.0 };
                for l in j + 1..=l_n {
                    let u = (c + prefix[k][l] - prefix[k][j]) / t.period_ms;
                    let m = v.max(w[k] + u);
                    if better(m, ne + 1, &table[k + 1][l][to]) {
                        table[k + 1][l][to] = Some((m, ne + 1, j, s));
                    }
                }
            }
        }
    }
    let end = table[k_n][l_n];
    let mut s = match end {
        [Some(a), b] if better(a.0, a.1, &b) => 0,
        [_, Some(_)] => 1,
        _ => 0,
    };
    let value = end[s].map_or(f64::INFINITY, |b| b.0);
    let mut cuts = vec![0; k_n];
    let mut l = l_n;
    for k in (1..=k_n).rev() {
        cuts[k - 1] = l;
        let (_, _, j, from) = table[k][l][s].expect("every stage can be empty");
        (l, s) = (j, from);
    }
    (cuts, value)
}

/// Every task of `tasks` mapped in descending mean utilisation over the nodes, each on the
/// loads the ones before left; the cuts in task order and the nodes' loads after.
pub fn map_all(p: &Platform, tasks: &[Task], cfg: &[Node]) -> (Vec<Cuts>, Vec<f64>) {
    let mean_u = |t: &Task| {
        let total: f64 = cfg.iter().map(|&n| t.layers.iter().map(|l| layer_ms(l, n)).sum::<f64>()).sum();
        total / cfg.len() as f64 / t.period_ms
    };
    let mut order: Vec<usize> = (0..tasks.len()).collect();
    order.sort_by(|&a, &b| mean_u(&tasks[b]).total_cmp(&mean_u(&tasks[a])).then(a.cmp(&b)));
    let mut w = vec![0.0; cfg.len()];
    let mut cuts = vec![Vec::new(); tasks.len()];
    for i in order {
        let (c, _) = map_task(p, &tasks[i], cfg, &w);
        let times = super::model::stage_times(p, &tasks[i], cfg, &c);
        for (wk, s) in w.iter_mut().zip(&times) {
            *wk += s / tasks[i].period_ms;
        }
        cuts[i] = c;
    }
    (cuts, w)
}

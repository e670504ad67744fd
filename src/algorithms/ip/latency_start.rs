//! A starting solution for `latency-ip`: a placement's values for every variable of the
//! program (assignment, contiguity, transfers, times), computed by the program's own rules, so
//! that HiGHS begins with an incumbent instead of searching for a first one.
//!
//! The times are the least that satisfy the program's rows: a call starts once every input it
//! receives is ready (and after the accelerator's previous call), finishes after its compute
//! and transfers, its nodes are ready when it finishes, a CPU node after its predecessors plus
//! its own time. They are found by repeating those rules until nothing changes; a placement
//! whose calls wait on each other in a cycle never settles and gives no start.

use crate::solver::{var_index, Var};
use crate::workload::Workload;

/// The program's variables, by what they mean.
pub struct Handles<'a> {
    /// `x[class][slot]` (slot 0 the CPUs, slot `1 + a·q + i` accelerator `a`'s call `i`).
    pub x: &'a [Vec<Option<Var>>],
    /// (node, slot, z): the node is on the slot or reaches it along edges.
    pub z: &'a [(usize, usize, Var)],
    /// (node, slot, in, out): the slot receives the node's output, or the node on the slot
    /// sends it away.
    pub io: &'a [(usize, usize, Var, Var)],
    pub lat: &'a [Var],
    pub start: &'a [Var],
    pub finish: &'a [Var],
    pub total: Var,
    pub q: usize,
}

/// Every variable's value for `slot_of` (each class's slot), with the latency it reaches;
/// `None` when a call's nodes are not convex (a path leaves it and comes back) or the calls
/// wait on each other in a cycle.
pub fn values(w: &Workload, h: &Handles, slot_of: &[usize], columns: usize) -> Option<(Vec<f64>, f64)> {
    let slots = h.start.len();
    let on = |v: usize| slot_of[w.class_of[v]];
    let order = w.topological_order();
    // reaches[j][v]: v is on j or one of its successors reaches j.
    let mut reaches = vec![vec![false; w.len()]; slots];
    for &v in order.iter().rev() {
        reaches[on(v)][v] = true;
        for r in reaches.iter_mut() {
            if w.succ[v].iter().any(|&s| r[s]) {
                r[v] = true;
            }
        }
    }
    let leaves_and_returns =
        (0..w.len()).any(|u| on(u) > 0 && w.succ[u].iter().any(|&v| on(v) != on(u) && reaches[on(u)][v]));
    if leaves_and_returns {
        return None;
    }
    let receives = |u: usize, j: usize| on(u) != j && w.succ[u].iter().any(|&s| on(s) == j);
    let sends = |u: usize, j: usize| on(u) == j && w.succ[u].iter().any(|&s| on(s) != j);
    // Each call's compute and transfers, and the nodes whose outputs it waits for.
    let (mut cost, mut inputs) = (vec![0.0; slots], vec![Vec::new(); slots]);
    for (v, node) in w.nodes.iter().enumerate() {
        if on(v) > 0 {
            cost[on(v)] += node.acc_latency;
        }
    }
    for &(u, j, _, _) in h.io {
        cost[j] += w.out_cost[u] * (f64::from(receives(u, j)) + f64::from(sends(u, j)));
        if receives(u, j) {
            inputs[j].push(u);
        }
    }
    let (mut lat, mut start, mut finish) = (vec![0.0f64; w.len()], vec![0.0f64; slots], vec![0.0f64; slots]);
    let mut settled = false;
    for _ in 0..=w.len() + slots {
        let mut changed = false;
        let mut raise = |x: &mut f64, to: f64| {
            if to > *x + 1e-12 {
                *x = to;
                changed = true;
            }
        };
        for j in 1..slots {
            let after = if (j - 1) % h.q != 0 { finish[j - 1] } else { 0.0 };
            raise(&mut start[j], inputs[j].iter().map(|&u| lat[u]).fold(after, f64::max));
            raise(&mut finish[j], start[j] + cost[j]);
        }
        for &v in &order {
            let after = w.pred[v].iter().map(|&u| lat[u]).fold(0.0, f64::max);
            let ready = if on(v) == 0 { after + w.nodes[v].cpu_latency } else { after.max(finish[on(v)]) };
            raise(&mut lat[v], ready);
        }
        if !changed {
            settled = true;
            break;
        }
    }
    if !settled {
        return None;
    }
    let total = lat.iter().copied().fold(0.0, f64::max);
    let mut out = vec![0.0; columns];
    let mut set = |v: Var, x: f64| out[var_index(v)] = x;
    for (c, row) in h.x.iter().enumerate() {
        set(row[slot_of[c]]?, 1.0);
    }
    for &(v, j, z) in h.z {
        set(z, f64::from(reaches[j][v]));
    }
    for &(u, j, i, o) in h.io {
        set(i, f64::from(receives(u, j)));
        set(o, f64::from(sends(u, j)));
    }
    for v in 0..w.len() {
        set(h.lat[v], lat[v]);
    }
    for j in 0..slots {
        set(h.start[j], start[j]);
        set(h.finish[j], finish[j]);
    }
    set(h.total, total);
    Some((out, total))
}

//! Structural checks of a placement on the forward graph: convexity of each device's forward
//! nodes ("contiguity" as the paper defines it) and the existence of a pipeline order.

use crate::placement::Device;
use crate::workload::Workload;
use std::collections::{BTreeSet, HashMap};

/// True if, for every device, no forward path leaves its forward nodes and comes back.
/// Backward nodes are not constrained.
pub fn forward_convex(w: &Workload, dev: &[Option<Device>]) -> bool {
    let devices: BTreeSet<Device> = dev.iter().flatten().copied().collect();
    let mut seen = vec![false; w.len()];
    let mut stack = Vec::new();
    for d in devices {
        seen.iter_mut().for_each(|s| *s = false);
        stack.clear();
        // Start from the forward nodes just outside the device, reached from inside it.
        for v in 0..w.len() {
            if dev[v] == Some(d) && !w.nodes[v].backward {
                for &x in &w.succ[v] {
                    if dev[x] != Some(d) && !w.nodes[x].backward && !seen[x] {
                        seen[x] = true;
                        stack.push(x);
                    }
                }
            }
        }
        while let Some(x) = stack.pop() {
            for &y in &w.succ[x] {
                if w.nodes[y].backward || seen[y] {
                    continue;
                }
                if dev[y] == Some(d) {
                    return false;
                }
                seen[y] = true;
                stack.push(y);
            }
        }
    }
    true
}

/// True if the graph with one vertex per device and an arc for every forward edge between
/// two devices has no cycle, i.e. the devices form a pipeline.
pub fn quotient_acyclic(w: &Workload, dev: &[Option<Device>]) -> bool {
    let mut ids: HashMap<Device, usize> = HashMap::new();
    for d in dev.iter().flatten() {
        let n = ids.len();
        ids.entry(*d).or_insert(n);
    }
    let n = ids.len();
    let mut arcs: BTreeSet<(usize, usize)> = BTreeSet::new();
    for &(u, v) in &w.edges {
        if w.nodes[u].backward || w.nodes[v].backward {
            continue;
        }
        if let (Some(a), Some(b)) = (dev[u], dev[v]) {
            if a != b {
                arcs.insert((ids[&a], ids[&b]));
            }
        }
    }
    let mut out = vec![Vec::new(); n];
    for &(a, b) in &arcs {
        out[a].push(b);
    }
    crate::dag::topological_order(n, &out, crate::dag::Ready::Lifo).len() == n
}

//! Single-sample latency of a placement, for inference graphs.
//!
//! CPUs are unlimited and run every CPU node as soon as its inputs are done. An accelerator
//! runs its nodes as one call: receive every input, compute, send every output. A device whose
//! node set is not contiguous is cut into pieces by how many times a path has left it (the
//! reference's rule), and, unlike the reference, which treats the pieces as extra devices running
//! at the same time, the pieces of one device run one after the other, in that order.

use crate::placement::Device;
use crate::workload::Workload;
use std::collections::{BTreeMap, BTreeSet};

/// Latency and the pieces it was computed from.
#[derive(Debug, Clone, PartialEq)]
pub struct Latency {
    /// Completion time of the last node.
    pub latency: f64,
    /// Pieces per accelerator (1 where its node set is contiguous).
    pub pieces: usize,
}

/// Why a placement has no latency.
#[derive(Debug, Clone, PartialEq)]
pub enum LatencyError {
    Training,
    Unplaced,
    /// The pieces depend on each other in a cycle, so no piece can run as one call.
    Deadlock,
}

impl std::fmt::Display for LatencyError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            LatencyError::Training => {
                write!(f, "latency is defined for inference graphs; this workload has backward nodes")
            }
            LatencyError::Unplaced => write!(f, "some node is not placed"),
            LatencyError::Deadlock => write!(f, "accelerator calls wait on each other in a cycle: no schedule exists"),
        }
    }
}

/// The latency of a placement given as a device per node.
pub fn latency_of(w: &Workload, dev: &[Option<Device>]) -> Result<Latency, LatencyError> {
    if w.is_training() {
        return Err(LatencyError::Training);
    }
    let dev: Vec<Device> = dev.iter().map(|d| d.ok_or(LatencyError::Unplaced)).collect::<Result<_, _>>()?;
    let order = w.topological_order();
    // Blocks: one per CPU node, one per accelerator piece.
    let mut block = vec![usize::MAX; w.len()];
    let mut blocks: Vec<Block> = Vec::new();
    let mut pieces_total = 0;
    let accs: BTreeSet<Device> = dev.iter().filter(|d| d.is_acc()).copied().collect();
    for &d in &accs {
        // times[v] = number of times a path into v has left d before reaching v.
        let mut times = vec![0usize; w.len()];
        for &v in &order {
            let inside = dev[v] == d;
            let mut t = usize::from(inside);
            for &u in &w.pred[v] {
                let leave = usize::from(inside && dev[u] != d);
                t = t.max(times[u] + leave);
            }
            times[v] = t;
        }
        let mut by_piece: BTreeMap<usize, usize> = BTreeMap::new();
        let mut previous: Option<usize> = None;
        for v in (0..w.len()).filter(|&v| dev[v] == d) {
            let id = *by_piece.entry(times[v]).or_insert_with(|| {
                blocks.push(Block { nodes: Vec::new(), on_acc: true, after: None });
                blocks.len() - 1
            });
            block[v] = id;
            blocks[id].nodes.push(v);
        }
        for &id in by_piece.values() {
            blocks[id].after = previous;
            previous = Some(id);
        }
        pieces_total += by_piece.len();
    }
    for v in 0..w.len() {
        if !dev[v].is_acc() {
            block[v] = blocks.len();
            blocks.push(Block { nodes: vec![v], on_acc: false, after: None });
        }
    }
    // Block graph (data edges plus the order of pieces of one device), topologically.
    let nb = blocks.len();
    let mut succ: Vec<Vec<usize>> = vec![Vec::new(); nb];
    let arc = |a: usize, b: usize, succ: &mut Vec<Vec<usize>>| {
        if a != b && !succ[a].contains(&b) {
            succ[a].push(b);
        }
    };
    for &(u, v) in &w.edges {
        arc(block[u], block[v], &mut succ);
    }
    for b in 0..nb {
        if let Some(a) = blocks[b].after {
            arc(a, b, &mut succ);
        }
    }
    let topo = crate::dag::topological_order(nb, &succ, crate::dag::Ready::Lifo);
    if topo.len() != nb {
        return Err(LatencyError::Deadlock);
    }
    let mut fin = vec![0.0f64; w.len()];
    let mut block_fin = vec![0.0f64; nb];
    for b in topo {
        let blk = &blocks[b];
        if !blk.on_acc {
            let v = blk.nodes[0];
            let ready_at = w.pred[v].iter().map(|&u| fin[u]).fold(0.0, f64::max);
            fin[v] = ready_at + w.nodes[v].cpu_latency;
            block_fin[b] = fin[v];
            continue;
        }
        let mut inputs: Vec<usize> =
            blk.nodes.iter().flat_map(|&v| w.pred[v].iter().copied()).filter(|&u| block[u] != b).collect();
        inputs.sort_unstable();
        inputs.dedup();
        let mut start = inputs.iter().map(|&u| fin[u]).fold(0.0, f64::max);
        if let Some(a) = blk.after {
            start = start.max(block_fin[a]);
        }
        let receive: f64 = inputs.iter().map(|&u| w.out_cost[u]).sum();
        let compute: f64 = blk.nodes.iter().map(|&v| w.nodes[v].acc_latency).sum();
        let send: f64 =
            blk.nodes.iter().filter(|&&u| w.succ[u].iter().any(|&x| block[x] != b)).map(|&u| w.out_cost[u]).sum();
        block_fin[b] = start + receive + compute + send;
        for &v in &blk.nodes {
            fin[v] = block_fin[b];
        }
    }
    Ok(Latency { latency: fin.iter().copied().fold(0.0, f64::max), pieces: pieces_total })
}

struct Block {
    nodes: Vec<usize>,
    on_acc: bool,
    /// The previous piece of the same accelerator, which must finish first.
    after: Option<usize>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::workload::parse_workload;
    use std::path::Path;

    /// a -> b -> c, a -> c. a on the CPU (2), b and c on acc0 (1 + 1). By hand: acc0 starts
    /// when a finishes (2), receives c(a) = 0.5 once, computes 2, sends nothing: 4.5.
    /// With c on the CPU instead (3): acc0 runs b from 2 to 2 + 0.5 + 1 + 0.25 = 3.75, and c
    /// finishes at 3.75 + 3 = 6.75.
    #[test]
    fn hand_computed() {
        let doc = r#"{"maxSizePerFPGA": 10, "maxFPGAs": 1, "maxCPUs": 1,
          "nodes": [
            {"id": 0, "supportedOnFpga": 1, "cpuLatency": 2, "fpgaLatency": 1, "isBackwardNode": 0},
            {"id": 1, "supportedOnFpga": 1, "cpuLatency": 5, "fpgaLatency": 1, "isBackwardNode": 0},
            {"id": 2, "supportedOnFpga": 1, "cpuLatency": 3, "fpgaLatency": 1, "isBackwardNode": 0}],
          "edges": [{"sourceId": 0, "destId": 1, "cost": 0.5}, {"sourceId": 0, "destId": 2, "cost": 0.5},
                    {"sourceId": 1, "destId": 2, "cost": 0.25}]}"#;
        let w = parse_workload(doc.as_bytes(), Path::new("t.json"), "t").unwrap();
        let (cpu, acc) = (Some(Device::Cpu(0)), Some(Device::Acc(0)));
        assert_eq!(latency_of(&w, &[cpu, acc, acc]).unwrap().latency, 4.5);
        assert_eq!(latency_of(&w, &[cpu, acc, cpu]).unwrap().latency, 6.75);
        // a and c on acc0 around b on the CPU: two pieces, run in order.
        // piece 1 = {a}: 0 + 1 + send 0.5 = 1.5; b: 1.5 + 5 = 6.5;
        // piece 2 = {c}: starts 6.5, receives c(a) + c(b) = 0.75 (a piece is its own call,
        // as in the reference), computes 1: 8.25.
        let l = latency_of(&w, &[acc, cpu, acc]).unwrap();
        assert_eq!((l.latency, l.pieces), (8.25, 2));
    }
}

//! Writes an operator graph as a dnn-partitioning workload: operator or layer granularity,
//! inference or training, with provenance in extra keys that the loader ignores.

use super::cost::{graph_size, op_seconds, op_size, transfer_seconds, CostModel, Link};
use super::graph::{OpGraph, OpKind};
use serde_json::{json, Map, Value};

/// Operators as they are, or one node per block.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Granularity {
    Op,
    Layer,
}

/// Device counts, memory and form of the workload.
#[derive(Debug, Clone)]
pub struct ExportOptions {
    pub granularity: Granularity,
    pub training: bool,
    pub accs: usize,
    pub cpus: usize,
    /// Bytes per accelerator; `None`: a fraction of the model's size (see `memory_fraction`).
    pub memory: Option<f64>,
    /// With no `memory`, each accelerator holds this fraction of the whole model.
    pub memory_fraction: f64,
    pub cost: CostModel,
}

/// A node of the exported graph before numbering: a set of operators.
struct Node {
    name: String,
    ops: Vec<usize>,
}

const MS: f64 = 1e3;

fn round(x: f64) -> f64 {
    // Nine significant digits keep files stable and readable; the loader takes any float.
    if x == 0.0 {
        return 0.0;
    }
    let digits = 9 - x.abs().log10().ceil() as i32;
    let f = 10f64.powi(digits);
    (x * f).round() / f
}

/// The nodes of the exported graph: each with its name and operators, in node-id order.
pub fn node_ops(g: &OpGraph, granularity: Granularity) -> Vec<(String, Vec<usize>)> {
    nodes(g, granularity).into_iter().map(|n| (n.name, n.ops)).collect()
}

fn nodes(g: &OpGraph, granularity: Granularity) -> Vec<Node> {
    match granularity {
        Granularity::Op => g.ops.iter().enumerate().map(|(i, o)| Node { name: o.name.clone(), ops: vec![i] }).collect(),
        Granularity::Layer => {
            let mut blocks: Vec<Node> = Vec::new();
            for (i, o) in g.ops.iter().enumerate() {
                let name = if o.kind == OpKind::Input { o.name.clone() } else { o.block.clone() };
                match blocks.iter_mut().find(|b| b.name == name) {
                    Some(b) => b.ops.push(i),
                    None => blocks.push(Node { name, ops: vec![i] }),
                }
            }
            blocks
        }
    }
}

/// A node's measured occupancy: its operators' (`op_occupancy`, `None` where one launches
/// nothing), weighted by their times `op_ms`; `None` where none of them has one.
pub fn node_occupancy(ops: &[usize], op_ms: &[f64], op_occupancy: &[Option<f64>]) -> Option<f64> {
    let (mut tu, mut t) = (0.0, 0.0);
    for &o in ops {
        if let Some(u) = op_occupancy.get(o).copied().flatten() {
            tu += op_ms[o] * u;
            t += op_ms[o];
        }
    }
    (t > 0.0).then(|| tu / t)
}

/// Times measured on a GPU that replace the cost model's accelerator times and link.
#[derive(Debug, Clone)]
pub struct Measured {
    /// Milliseconds per operator, in operator order.
    pub op_ms: Vec<f64>,
    pub link: Link,
    /// Bytes per element of the tensors the measured kernels moved.
    pub bytes_per_element: f64,
    /// Measured occupancy per operator (`None` where the operator launches nothing).
    pub op_occupancy: Vec<Option<f64>>,
}

/// The workload as JSON.
pub fn export(g: &OpGraph, opts: &ExportOptions, provenance: Value) -> Value {
    export_with(g, opts, provenance, None)
}

/// The workload as JSON, with measured accelerator times and link where given.
pub fn export_with(g: &OpGraph, opts: &ExportOptions, provenance: Value, measured: Option<&Measured>) -> Value {
    let acc = &opts.cost.accelerator;
    let nodes = nodes(g, opts.granularity);
    let mut node_of = vec![0; g.ops.len()];
    for (n, node) in nodes.iter().enumerate() {
        for &o in &node.ops {
            node_of[o] = n;
        }
    }
    // Node-level edges and per-source costs: a node pays once per operator output it sends.
    let send_ms = |op: &super::graph::Op| match measured {
        Some(m) => (op.numel() as f64 * m.bytes_per_element / m.link.bandwidth + m.link.latency) * MS,
        None => transfer_seconds(op, acc, &opts.cost.link) * MS,
    };
    let mut edges: Vec<(usize, usize)> = Vec::new();
    let mut cost = vec![0.0; nodes.len()];
    let mut counted = vec![false; g.ops.len()];
    for (v, op) in g.ops.iter().enumerate() {
        for &u in &op.inputs {
            let (a, b) = (node_of[u], node_of[v]);
            if a == b {
                continue;
            }
            edges.push((a, b));
            if !counted[u] {
                counted[u] = true;
                cost[a] += send_ms(&g.ops[u]);
            }
        }
    }
    edges.sort_unstable();
    edges.dedup();
    let n = nodes.len();
    let lat = |node: &Node, dev: &super::cost::DeviceModel| {
        node.ops.iter().map(|&o| op_seconds(&g.ops[o], dev)).sum::<f64>() * MS
    };
    let acc_ms = |node: &Node| match measured {
        Some(m) => node.ops.iter().map(|&o| m.op_ms[o]).sum::<f64>(),
        None => lat(node, acc),
    };
    let size = |node: &Node| node.ops.iter().map(|&o| op_size(&g.ops[o], acc, opts.training)).sum::<f64>();
    let is_input = |node: &Node| node.ops.iter().all(|&o| g.ops[o].kind == OpKind::Input);
    let occupancy =
        |node: &Node| measured.and_then(|m| node_occupancy(&node.ops, &m.op_ms, &m.op_occupancy)).map(round);
    let mut out_nodes = Vec::new();
    for (i, node) in nodes.iter().enumerate() {
        let last = &g.ops[*node.ops.last().expect("nodes are not empty")];
        let mut v = json!({
            "id": i, "name": node.name, "colorClass": i,
            "cpuLatency": round(lat(node, &opts.cost.cpu)), "fpgaLatency": round(acc_ms(node)),
            "size": round(size(node)), "supportedOnFpga": true, "isBackwardNode": false,
            "kind": if node.ops.len() == 1 { last.kind.to_string() } else { "layer".into() },
            "outShape": last.shape, "ops": node.ops.len(),
        });
        if let Some(u) = occupancy(node) {
            v["occupancy"] = json!(u);
        }
        out_nodes.push(v);
    }
    let mut out_edges: Vec<Value> =
        edges.iter().map(|&(a, b)| json!({"sourceId": a, "destId": b, "cost": round(cost[a])})).collect();
    if opts.training {
        // Backward node of i: id n + i, same class, twice the time; gradients flow against
        // the forward edges, and each forward output feeds its own gradient computation.
        for (i, node) in nodes.iter().enumerate().filter(|(_, node)| !is_input(node)) {
            out_nodes.push(json!({
                "id": n + i, "name": format!("{}_grad", node.name), "colorClass": i,
                "cpuLatency": round(2.0 * lat(node, &opts.cost.cpu)), "fpgaLatency": round(2.0 * acc_ms(node)),
                "size": 0.0, "supportedOnFpga": true, "isBackwardNode": true,
            }));
        }
        // The gradient a backward node sends is the size of its forward inputs.
        let mut grad_cost = vec![0.0; n];
        for &(a, b) in &edges {
            grad_cost[b] += cost[a];
        }
        for &(a, b) in &edges {
            if !is_input(&nodes[a]) {
                out_edges.push(json!({"sourceId": n + b, "destId": n + a, "cost": round(grad_cost[b])}));
            }
        }
        for (i, node) in nodes.iter().enumerate().filter(|(_, node)| !is_input(node)) {
            if cost[i] > 0.0 || edges.iter().any(|&(a, _)| a == i) {
                out_edges.push(json!({"sourceId": i, "destId": n + i, "cost": round(cost[i])}));
            } else {
                // A sink's output still feeds its gradient; it has no other out-edge, so the
                // transfer cost of its output is its cost.
                let c = node.ops.iter().map(|&o| send_ms(&g.ops[o])).sum::<f64>();
                out_edges.push(json!({"sourceId": i, "destId": n + i, "cost": round(c)}));
            }
        }
    }
    let total = graph_size(g, acc, opts.training);
    let memory = opts.memory.unwrap_or((total * opts.memory_fraction).ceil());
    let mut top = Map::new();
    top.insert("maxSizePerFPGA".into(), json!(memory));
    top.insert("maxFPGAs".into(), json!(opts.accs));
    top.insert("maxCPUs".into(), json!(opts.cpus));
    top.insert("placebench".into(), provenance);
    top.insert("costModel".into(), serde_json::to_value(&opts.cost).unwrap_or(Value::Null));
    top.insert("nodes".into(), Value::Array(out_nodes));
    top.insert("edges".into(), Value::Array(out_edges));
    Value::Object(top)
}

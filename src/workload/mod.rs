//! The workload model: one validated, immutable placement problem (operator graph, device
//! counts, memory limit), as the dnn-partitioning JSON format describes it.

mod embedded;
mod json;

pub use embedded::{embedded_workloads, EmbeddedSet, LATENCY as EMBEDDED_LATENCY, THROUGHPUT as EMBEDDED_THROUGHPUT};
pub use json::{discover_json_files, file_stem, load_workload, parse_workload, read_file, utf8_text};

use std::collections::HashMap;

/// One operator (a "node" of the format).
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Node {
    /// The id used in the file; placements name nodes by it.
    pub id: i64,
    pub name: Option<String>,
    pub cpu_latency: f64,
    /// `fpgaLatency`: the time on an accelerator.
    pub acc_latency: f64,
    /// Bytes that count against an accelerator's `maxSizePerFPGA`.
    pub size: f64,
    pub supported_on_acc: bool,
    pub backward: bool,
    pub color_class: Option<i64>,
    /// Elements of the node's output tensor, when the file records its shape (`outShape`, as
    /// `bench gen` writes); HIOS's contention model uses it.
    pub out_elements: Option<f64>,
    /// The share of a GPU the node occupies alone, measured (`occupancy`, as `bench profile`
    /// writes it); HIOS's contention model prefers it to the shape's estimate.
    pub occupancy: Option<f64>,
}

/// A workload with its derived graph structure. Node indices (`usize`) are dense positions in
/// `nodes`; ids from the file live in `Node::id`.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct Workload {
    /// Short name used in results (the file's path relative to its input root, no extension).
    pub name: String,
    /// SHA-256 of the file's bytes, so results can name exactly what they ran on.
    pub content_hash: String,
    pub max_size_per_acc: f64,
    pub max_accs: usize,
    pub max_cpus: usize,
    pub nodes: Vec<Node>,
    /// Distinct edges as (source, destination) node indices, sorted.
    pub edges: Vec<(usize, usize)>,
    /// Per-source communication cost: the `cost` of the node's out-edges, 0 for sinks.
    pub out_cost: Vec<f64>,
    pub succ: Vec<Vec<usize>>,
    pub pred: Vec<Vec<usize>>,
    /// Dense co-location class of every node (a node without `colorClass` is its own class).
    pub class_of: Vec<usize>,
    pub classes: Vec<Vec<usize>>,
    index_of_id: HashMap<i64, usize>,
}

/// The scalar parts of a workload, as read from the file.
pub(crate) struct Header {
    pub name: String,
    pub content_hash: String,
    pub max_size_per_acc: f64,
    pub max_accs: usize,
    pub max_cpus: usize,
}

impl Workload {
    /// Builds the derived structure from validated parts. The loader checks the invariants
    /// (unique ids, known endpoints, acyclic); this only indexes.
    pub(crate) fn from_parts(
        header: Header,
        nodes: Vec<Node>,
        mut edges: Vec<(usize, usize)>,
        out_cost: Vec<f64>,
    ) -> Workload {
        let Header { name, content_hash, max_size_per_acc, max_accs, max_cpus } = header;
        edges.sort_unstable();
        edges.dedup();
        let n = nodes.len();
        let mut succ = vec![Vec::new(); n];
        let mut pred = vec![Vec::new(); n];
        for &(u, v) in &edges {
            succ[u].push(v);
            pred[v].push(u);
        }
        let mut class_index: HashMap<i64, usize> = HashMap::new();
        let mut classes: Vec<Vec<usize>> = Vec::new();
        let mut class_of = Vec::with_capacity(n);
        for (i, node) in nodes.iter().enumerate() {
            let c = match node.color_class {
                Some(cc) => *class_index.entry(cc).or_insert_with(|| {
                    classes.push(Vec::new());
                    classes.len() - 1
                }),
                None => {
                    classes.push(Vec::new());
                    classes.len() - 1
                }
            };
            classes[c].push(i);
            class_of.push(c);
        }
        let index_of_id = nodes.iter().enumerate().map(|(i, v)| (v.id, i)).collect();
        Workload {
            name,
            content_hash,
            max_size_per_acc,
            max_accs,
            max_cpus,
            nodes,
            edges,
            out_cost,
            succ,
            pred,
            class_of,
            classes,
            index_of_id,
        }
    }

    pub fn len(&self) -> usize {
        self.nodes.len()
    }

    pub fn is_empty(&self) -> bool {
        self.nodes.is_empty()
    }

    /// The dense index of the node with file id `id`.
    pub fn index_of(&self, id: i64) -> Option<usize> {
        self.index_of_id.get(&id).copied()
    }

    /// Whether any node is a backward (training) node.
    pub fn is_training(&self) -> bool {
        self.nodes.iter().any(|v| v.backward)
    }

    pub fn total_size(&self) -> f64 {
        self.nodes.iter().map(|v| v.size).sum()
    }

    /// Node indices in a topological order (Kahn's algorithm, smallest index first, so the
    /// order is deterministic).
    pub fn topological_order(&self) -> Vec<usize> {
        crate::dag::topological_order(self.len(), &self.succ, crate::dag::Ready::Smallest)
    }
}

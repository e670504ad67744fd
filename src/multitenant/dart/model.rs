//! The platform, nodes, configurations and tasks, and each layer's worst-case execution time
//! (WCET) on a node.
//!
//! A node is `(gpu, cores)`: a GPU node has the core that issues its kernels (and may have
//! more, unused by its layers); a CPU node of `c` cores runs a layer data-parallel in
//! `t_core / s(c)`, `s(c) = c / (1 + σ (c − 1))`. A stage that starts in the other memory
//! space than its input (the previous non-empty stage's output, or the task's input in host
//! memory) first pays the copy of that tensor over PCIe.

use serde::{Deserialize, Serialize};

/// One node of a pipeline.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Node {
    pub gpu: bool,
    pub cores: u32,
}

impl Node {
    /// A GPU node needs its issuing core; a CPU node at least one core.
    pub fn valid(&self) -> bool {
        self.cores >= 1
    }
}

/// A pipeline: its nodes in order.
pub type Config = Vec<Node>;

/// What the machine has and what copies between its memories cost.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Platform {
    pub gpus: u32,
    pub cores: u32,
    /// Configurations may leave cores idle.
    pub idle_cores: bool,
    /// Longest pipeline considered.
    pub max_nodes: usize,
    /// Host ↔ GPU copies: bytes per ms and a fixed latency per copy, ms.
    pub pcie_bytes_per_ms: f64,
    pub pcie_latency_ms: f64,
}

impl Platform {
    /// An H200 host: one GPU, 16 cores, PCIe 5 at about 50 GB/s.
    pub fn h200_host() -> Platform {
        Platform { gpus: 1, cores: 16, idle_cores: false, max_nodes: 4, pcie_bytes_per_ms: 50e6, pcie_latency_ms: 0.01 }
    }

    pub fn copy_ms(&self, bytes: f64) -> f64 {
        if bytes <= 0.0 {
            0.0
        } else {
            self.pcie_latency_ms + bytes / self.pcie_bytes_per_ms
        }
    }
}

/// One layer of a task (an operator or a block of a zoo model, or a layer of a workload).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Layer {
    pub name: String,
    /// GPU time and the host time issuing its kernels, ms.
    pub gpu_ms: f64,
    pub issue_ms: f64,
    /// Time on one core, ms, and the data-parallel overhead σ of its kind.
    pub core_ms: f64,
    pub sigma: f64,
    /// Bytes of its output (what a stage boundary after it copies).
    pub out_bytes: f64,
    /// Its share of the GPU while it runs alone (1: it fills the GPU), what concurrent
    /// streams share it by.
    #[serde(default = "full")]
    pub occupancy: f64,
}

fn full() -> f64 {
    1.0
}

/// Real-time (sporadic, with a deadline) or best-effort.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Class {
    Rt,
    Be,
}

/// A task: a DNN released at least `period_ms` apart.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Task {
    pub name: String,
    pub class: Class,
    pub period_ms: f64,
    /// At most the period.
    pub deadline_ms: f64,
    /// Priority weight π: higher runs first among real-time stages, and weighs the score.
    pub weight: f64,
    /// Bytes of its input, in host memory at release.
    pub input_bytes: f64,
    pub layers: Vec<Layer>,
}

impl Task {
    pub fn rt(&self) -> bool {
        self.class == Class::Rt
    }
}

/// Data-parallel speed-up of `c` cores at overhead `σ`.
pub fn speedup(c: u32, sigma: f64) -> f64 {
    let c = c as f64;
    c / (1.0 + sigma * (c - 1.0))
}

/// WCET of layer `l` on node `n`, without copies.
pub fn layer_ms(l: &Layer, n: Node) -> f64 {
    if n.gpu {
        l.gpu_ms + l.issue_ms
    } else {
        l.core_ms / speedup(n.cores, l.sigma)
    }
}

/// The bytes entering a stage that starts at layer `first`.
pub fn input_bytes(t: &Task, first: usize) -> f64 {
    if first == 0 {
        t.input_bytes
    } else {
        t.layers[first - 1].out_bytes
    }
}

/// WCET of the stage of layers `first..end` of `t` on node `n`, its input coming from memory
/// space `from_gpu`: the copy in (when the spaces differ) then each layer.
pub fn stage_ms(p: &Platform, t: &Task, first: usize, end: usize, n: Node, from_gpu: bool) -> f64 {
    if first >= end {
        return 0.0;
    }
    let copy = if from_gpu != n.gpu { p.copy_ms(input_bytes(t, first)) } else { 0.0 };
    copy + t.layers[first..end].iter().map(|l| layer_ms(l, n)).sum::<f64>()
}

/// How the nodes choose their next unit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Runtime {
    /// DART's: real-time stages non-preemptive by fixed priority, best effort one layer at a
    /// time, first come first served.
    FixedPriority,
    /// Real-time stages non-preemptive by earliest absolute deadline, best effort as above.
    Edf,
    /// One DNN at a time: real-time stages by fixed priority, best-effort stages whole too.
    Sequential,
    /// Every job on its own GPU stream at once, real time on high-priority streams (the
    /// concurrent simulator of `multistream`).
    Multistream,
}

/// What a run is made of: the set, the pipeline, every task's cuts and the runtime.
#[derive(Debug, Clone, Copy)]
pub struct Plan<'a> {
    pub platform: &'a Platform,
    pub tasks: &'a [Task],
    pub config: &'a [Node],
    pub cuts: &'a [Cuts],
    pub runtime: Runtime,
}

/// A task's layers cut into one (possibly empty) stage per node: `ends[k]` is one past the
/// last layer of stage k (non-decreasing, the last equal to the number of layers).
pub type Cuts = Vec<usize>;

/// Each stage's WCET on its node under `cuts` (empty stages 0), the memory space carried
/// through empty stages.
pub fn stage_times(p: &Platform, t: &Task, cfg: &[Node], cuts: &[usize]) -> Vec<f64> {
    let (mut start, mut on_gpu) = (0usize, false);
    cfg.iter()
        .zip(cuts)
        .map(|(&n, &end)| {
            let c = stage_ms(p, t, start, end, n, on_gpu);
            if end > start {
                on_gpu = n.gpu;
            }
            start = end;
            c
        })
        .collect()
}

/// Each stage's layers' WCETs, the copy into the stage charged to its first layer.
pub fn layer_wcets(p: &Platform, t: &Task, cfg: &[Node], cuts: &[usize]) -> Vec<Vec<f64>> {
    let (mut start, mut on_gpu) = (0usize, false);
    cfg.iter()
        .zip(cuts)
        .map(|(&n, &end)| {
            let v: Vec<f64> = (start..end)
                .map(|l| {
                    let copy = if l == start && on_gpu != n.gpu { p.copy_ms(input_bytes(t, l)) } else { 0.0 };
                    copy + layer_ms(&t.layers[l], n)
                })
                .collect();
            if end > start {
                on_gpu = n.gpu;
            }
            start = end;
            v
        })
        .collect()
}

/// The node each layer of a task runs on, given its stage cuts (each stage's end layer).
pub fn layer_nodes(cfg: &[Node], cuts: &[usize]) -> Vec<Node> {
    let mut out = Vec::new();
    for (&n, &end) in cfg.iter().zip(cuts) {
        out.resize(end.max(out.len()), n);
    }
    out
}

/// The longest single layer (with the copy into its stage) of each stage: what a best-effort
/// task blocks a node for, as it yields at layer boundaries.
pub fn longest_layers(p: &Platform, t: &Task, cfg: &[Node], cuts: &[usize]) -> Vec<f64> {
    layer_wcets(p, t, cfg, cuts).iter().map(|v| v.iter().copied().fold(0.0, f64::max)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cores_speed_a_layer_up_with_diminishing_returns() {
        assert_eq!(speedup(1, 0.1), 1.0);
        assert!((speedup(4, 0.1) - 4.0 / 1.3).abs() < 1e-12);
        assert_eq!(speedup(8, 0.0), 8.0);
    }

    #[test]
    fn each_layer_runs_on_its_stage_node_and_empty_stages_take_none() {
        let (a, b, g) = (Node { gpu: false, cores: 2 }, Node { gpu: false, cores: 3 }, Node { gpu: true, cores: 1 });
        assert_eq!(layer_nodes(&[a, b, g], &[2, 2, 5]), vec![a, a, g, g, g]);
        assert_eq!(layer_nodes(&[a, g], &[0, 3]), vec![g, g, g]);
    }

    #[test]
    fn a_stage_pays_its_copy_only_across_memory_spaces() {
        let p = Platform { pcie_bytes_per_ms: 100.0, pcie_latency_ms: 1.0, ..Platform::h200_host() };
        let l = |g| Layer {
            name: "l".into(),
            gpu_ms: g,
            issue_ms: 0.5,
            core_ms: 8.0,
            sigma: 0.0,
            out_bytes: 200.0,
            occupancy: 1.0,
        };
        let t = Task {
            name: "t".into(),
            class: Class::Rt,
            period_ms: 100.0,
            deadline_ms: 100.0,
            weight: 1.0,
            input_bytes: 100.0,
            layers: vec![l(1.0), l(2.0)],
        };
        let (cpu, gpu) = (Node { gpu: false, cores: 2 }, Node { gpu: true, cores: 1 });
        // CPU stage of layer 0 (input on the host: no copy), GPU stage of layer 1 (copy 200 B).
        assert_eq!(stage_times(&p, &t, &[cpu, gpu], &[1, 2]), vec![4.0, 1.0 + 2.0 + 2.5]);
        // Everything on the GPU: the input is copied in first; an empty CPU stage is free.
        assert_eq!(stage_times(&p, &t, &[cpu, gpu], &[0, 2]), vec![0.0, 2.0 + 1.5 + 2.5]);
    }
}

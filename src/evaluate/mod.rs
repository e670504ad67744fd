//! The one evaluator: scores any split of a workload with the cost model of the paper
//! and checks every constraint. Every reported objective comes from here, never from an
//! algorithm's own arithmetic. It shares no code with the algorithms on purpose.

mod latency;
mod structure;

pub use latency::{latency_of, Latency, LatencyError};
pub use structure::{forward_convex, quotient_acyclic};

use crate::placement::{Device, Split};
use crate::workload::Workload;
use serde::Serialize;
use std::collections::BTreeMap;

/// Relative tolerance between an algorithm's claimed objective and the evaluator's.
pub const CLAIM_TOLERANCE: f64 = 1e-9;

/// Whether `claimed` agrees with `evaluated` within [`CLAIM_TOLERANCE`].
pub fn agrees(claimed: f64, evaluated: f64) -> bool {
    (claimed - evaluated).abs() <= CLAIM_TOLERANCE * claimed.abs().max(evaluated.abs()).max(1e-300)
        || claimed == evaluated
}

/// A broken constraint, as data.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub enum Violation {
    UnknownNode { id: i64, device: String },
    PlacedTwice { id: i64 },
    Unplaced { id: i64 },
    DeviceOutOfRange { device: String, available: usize },
    Memory { device: String, used: f64, limit: f64 },
    Unsupported { id: i64, device: String },
    ColorClassSplit { id: i64, other: i64 },
}

impl std::fmt::Display for Violation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Violation::UnknownNode { id, device } => write!(f, "{device} names node {id}, which the workload lacks"),
            Violation::PlacedTwice { id } => write!(f, "node {id} is placed more than once"),
            Violation::Unplaced { id } => write!(f, "node {id} is not placed"),
            Violation::DeviceOutOfRange { device, available } => {
                write!(f, "{device} is used but only {available} such devices exist")
            }
            Violation::Memory { device, used, limit } => write!(f, "{device} holds {used} bytes > limit {limit}"),
            Violation::Unsupported { id, device } => {
                write!(f, "node {id} is not supported on accelerators but is on {device}")
            }
            Violation::ColorClassSplit { id, other } => {
                write!(f, "nodes {id} and {other} share a colorClass but sit on different devices")
            }
        }
    }
}

/// The load of one used device.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DeviceLoad {
    pub device: Device,
    pub compute: f64,
    /// Communication charged to this device (0 on CPUs).
    pub comm: f64,
    pub memory: f64,
    pub nodes: usize,
}

impl DeviceLoad {
    pub fn load(&self) -> f64 {
        self.compute + self.comm
    }
}

/// Everything the evaluator says about one split.
#[derive(Debug, Clone, Serialize)]
pub struct Evaluation {
    /// Max over devices of compute + communication (time per sample).
    pub max_load: f64,
    pub devices: Vec<DeviceLoad>,
    pub violations: Vec<Violation>,
    /// Every device's forward nodes form a convex set of the forward graph.
    pub contiguous: bool,
    /// The devices can be put in a pipeline order: the quotient of the forward graph by the
    /// devices is acyclic (implies `contiguous`).
    pub acyclic: bool,
    /// Single-sample latency, or why there is none.
    #[serde(skip)]
    pub latency: Result<Latency, LatencyError>,
}

impl Evaluation {
    pub fn feasible(&self) -> bool {
        self.violations.is_empty()
    }

    pub fn devices_used(&self) -> usize {
        self.devices.len()
    }

    pub fn load_of(&self, d: Device) -> f64 {
        self.devices.iter().find(|x| x.device == d).map_or(0.0, DeviceLoad::load)
    }
}

/// Scores a split. Never fails: problems are returned as violations.
pub fn evaluate(w: &Workload, split: &Split) -> Evaluation {
    let mut violations = Vec::new();
    let mut dev: Vec<Option<Device>> = vec![None; w.len()];
    let lists = split
        .cpus
        .iter()
        .enumerate()
        .map(|(i, l)| (Device::Cpu(i), l))
        .chain(split.accs.iter().enumerate().map(|(j, l)| (Device::Acc(j), l)));
    for (d, list) in lists {
        let (index, available) = match d {
            Device::Cpu(i) => (i, w.max_cpus),
            Device::Acc(j) => (j, w.max_accs),
        };
        if !list.is_empty() && index >= available {
            violations.push(Violation::DeviceOutOfRange { device: d.to_string(), available });
        }
        for &id in list {
            match w.index_of(id) {
                None => violations.push(Violation::UnknownNode { id, device: d.to_string() }),
                Some(v) if dev[v].is_some() => violations.push(Violation::PlacedTwice { id }),
                Some(v) => dev[v] = Some(d),
            }
        }
    }
    for (v, d) in dev.iter().enumerate() {
        match d {
            None => violations.push(Violation::Unplaced { id: w.nodes[v].id }),
            Some(d @ Device::Acc(_)) if !w.nodes[v].supported_on_acc => {
                violations.push(Violation::Unsupported { id: w.nodes[v].id, device: d.to_string() })
            }
            _ => {}
        }
    }
    for members in &w.classes {
        let first = members[0];
        if let Some(&other) = members.iter().find(|&&u| dev[u] != dev[first]) {
            violations.push(Violation::ColorClassSplit { id: w.nodes[first].id, other: w.nodes[other].id });
        }
    }

    let mut loads: BTreeMap<Device, DeviceLoad> = BTreeMap::new();
    for (v, d) in dev.iter().enumerate() {
        let Some(d) = *d else { continue };
        let e = loads.entry(d).or_insert(DeviceLoad { device: d, compute: 0.0, comm: 0.0, memory: 0.0, nodes: 0 });
        let node = &w.nodes[v];
        e.compute += if d.is_acc() { node.acc_latency } else { node.cpu_latency };
        e.memory += node.size;
        e.nodes += 1;
    }
    // Communication is per source: the sender's accelerator pays cost(u) once if u's output
    // leaves it, and each other accelerator that receives u's output pays cost(u) once.
    // CPUs never pay.
    let mut receivers: Vec<Device> = Vec::new();
    for u in 0..w.len() {
        let Some(du) = dev[u] else { continue };
        receivers.clear();
        for &x in &w.succ[u] {
            if let Some(dx) = dev[x] {
                if dx != du && !receivers.contains(&dx) {
                    receivers.push(dx);
                }
            }
        }
        if receivers.is_empty() {
            continue;
        }
        let c = w.out_cost[u];
        if du.is_acc() {
            loads.get_mut(&du).expect("sender is placed").comm += c;
        }
        for r in receivers.iter().filter(|r| r.is_acc()) {
            loads.get_mut(r).expect("receiver is placed").comm += c;
        }
    }
    for l in loads.values() {
        if l.device.is_acc() && l.memory > w.max_size_per_acc {
            violations.push(Violation::Memory {
                device: l.device.to_string(),
                used: l.memory,
                limit: w.max_size_per_acc,
            });
        }
    }
    let devices: Vec<DeviceLoad> = loads.into_values().collect();
    let max_load = devices.iter().map(DeviceLoad::load).fold(0.0, f64::max);
    let contiguous = forward_convex(w, &dev);
    let acyclic = contiguous && quotient_acyclic(w, &dev);
    let latency = latency_of(w, &dev);
    Evaluation { max_load, devices, violations, contiguous, acyclic, latency }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::workload::parse_workload;
    use std::path::Path;

    /// 0 -> 1 -> 2 and 0 -> 2, node 0 on acc0, node 1 on acc1, node 2 on cpu0, worked out
    /// by hand from the reference: acc0 = 1 + c(0) (sends once, although to two devices); acc1 =
    /// 2 + c(0) in + c(1) out; cpu0 = its CPU latency, no communication.
    #[test]
    fn hand_computed_loads() {
        let doc = r#"{"maxSizePerFPGA": 10, "maxFPGAs": 2, "maxCPUs": 1,
          "nodes": [
            {"id": 0, "supportedOnFpga": 1, "cpuLatency": 9, "fpgaLatency": 1, "size": 4, "isBackwardNode": 0},
            {"id": 1, "supportedOnFpga": true, "cpuLatency": 9, "fpgaLatency": 2, "size": 7, "isBackwardNode": false},
            {"id": 2, "supportedOnFpga": true, "cpuLatency": 5, "fpgaLatency": 1, "isBackwardNode": false}],
          "edges": [{"sourceId": 0, "destId": 1, "cost": 0.5}, {"sourceId": 0, "destId": 2, "cost": 0.5},
                    {"sourceId": 1, "destId": 2, "cost": 0.25}]}"#;
        let w = parse_workload(doc.as_bytes(), Path::new("t.json"), "t").unwrap();
        let split = Split { cpus: vec![vec![2]], accs: vec![vec![0], vec![1]] };
        let e = evaluate(&w, &split);
        assert_eq!(e.load_of(Device::Acc(0)), 1.5);
        assert_eq!(e.load_of(Device::Acc(1)), 2.75);
        assert_eq!(e.load_of(Device::Cpu(0)), 5.0);
        assert_eq!(e.max_load, 5.0);
        assert!(e.feasible() && e.contiguous && e.acyclic);

        // Both on acc0 breaks its memory (4 + 7 > 10); node 5 does not exist; node 2 is lost.
        let bad = Split { cpus: vec![], accs: vec![vec![0, 1, 5]] };
        let e = evaluate(&w, &bad);
        assert!(e.violations.contains(&Violation::Memory { device: "acc0".into(), used: 11.0, limit: 10.0 }));
        assert!(e.violations.contains(&Violation::UnknownNode { id: 5, device: "acc0".into() }));
        assert!(e.violations.contains(&Violation::Unplaced { id: 2 }));

        // {0, 2} on acc0 with 1 elsewhere: the path 0 -> 1 -> 2 leaves acc0 and comes back.
        let split = Split { cpus: vec![vec![1]], accs: vec![vec![0, 2]] };
        let e = evaluate(&w, &split);
        assert!(!e.contiguous && !e.acyclic && e.feasible());
    }
}

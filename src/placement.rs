//! What placement algorithms return: a device for every node (`Placement`), and its file form,
//! lists of node ids per CPU and per accelerator (`Split`, the dnn-partitioning output format).

use crate::error::{Error, Result};
use crate::workload::Workload;
use serde::{Deserialize, Serialize};
use std::path::Path;

/// A device of a workload: CPU `i` (of `maxCPUs`) or accelerator `j` (of `maxFPGAs`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Device {
    Cpu(usize),
    Acc(usize),
}

impl Device {
    pub fn is_acc(self) -> bool {
        matches!(self, Device::Acc(_))
    }
}

impl std::fmt::Display for Device {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Device::Cpu(i) => write!(f, "cpu{i}"),
            Device::Acc(j) => write!(f, "acc{j}"),
        }
    }
}

/// A device for every node, indexed like `Workload::nodes`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Placement {
    pub device: Vec<Device>,
}

impl Placement {
    /// The file form: node ids per device, sorted, with as many lists as the highest index used.
    pub fn to_split(&self, w: &Workload) -> Split {
        let mut split = Split::default();
        for (v, d) in self.device.iter().enumerate() {
            let (lists, i) = match *d {
                Device::Cpu(i) => (&mut split.cpus, i),
                Device::Acc(j) => (&mut split.accs, j),
            };
            if lists.len() <= i {
                lists.resize(i + 1, Vec::new());
            }
            lists[i].push(w.nodes[v].id);
        }
        for l in split.cpus.iter_mut().chain(split.accs.iter_mut()) {
            l.sort_unstable();
        }
        split
    }
}

/// Node ids per device, as written in split files. It may name unknown nodes, miss nodes or
/// name a node twice: the evaluator reports all of these.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Split {
    pub cpus: Vec<Vec<i64>>,
    pub accs: Vec<Vec<i64>>,
}

#[derive(Serialize, Deserialize)]
struct DeviceEntry {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    load: Option<f64>,
    nodes: Vec<i64>,
}

#[derive(Serialize, Deserialize)]
struct SplitFile {
    cpus: Vec<DeviceEntry>,
    fpgas: Vec<DeviceEntry>,
    #[serde(rename = "maxLoad", default, skip_serializing_if = "Option::is_none")]
    max_load: Option<f64>,
}

impl Split {
    /// Reads a split file (dnn-partitioning output, human-expert file or one of ours).
    pub fn load(path: &Path) -> Result<Split> {
        Split::parse(&crate::workload::read_file(path)?, path)
    }

    /// A split file given as bytes; `path` is only used in messages.
    pub fn parse(bytes: &[u8], path: &Path) -> Result<Split> {
        let text = crate::workload::utf8_text(bytes, path)?;
        let f: SplitFile = crate::strict_json::typed(text).map_err(|e| {
            Error::input(
                path,
                format!("line {} column {}", e.line(), e.column()),
                format!("not a split file (expected \"cpus\" and \"fpgas\" lists of {{\"nodes\": [ids]}}): {e}"),
            )
        })?;
        Ok(Split {
            cpus: f.cpus.into_iter().map(|d| d.nodes).collect(),
            accs: f.fpgas.into_iter().map(|d| d.nodes).collect(),
        })
    }

    /// The file form, with per-device loads and the max-load if given (same layout as the
    /// reference's output, so its tools can read ours).
    pub fn to_json(&self, cpu_loads: &[f64], acc_loads: &[f64], max_load: Option<f64>) -> serde_json::Value {
        let entries = |lists: &[Vec<i64>], loads: &[f64]| -> Vec<DeviceEntry> {
            lists
                .iter()
                .enumerate()
                .map(|(i, l)| DeviceEntry { load: loads.get(i).copied(), nodes: l.clone() })
                .collect()
        };
        serde_json::to_value(SplitFile {
            cpus: entries(&self.cpus, cpu_loads),
            fpgas: entries(&self.accs, acc_loads),
            max_load,
        })
        .unwrap_or(serde_json::Value::Null)
    }

    /// Resolves the split into a placement, giving each node it leaves out the device of the
    /// other members of its co-location class (how the reference extends an inference split
    /// to a training graph). Fails naming the node that cannot be placed so.
    pub fn extend_to_placement(&self, w: &Workload, file: &Path) -> Result<Placement> {
        let mut dev: Vec<Option<Device>> = vec![None; w.len()];
        let lists = self
            .cpus
            .iter()
            .enumerate()
            .map(|(i, l)| (Device::Cpu(i), l))
            .chain(self.accs.iter().enumerate().map(|(j, l)| (Device::Acc(j), l)));
        for (d, list) in lists {
            for &id in list {
                let v = w.index_of(id).ok_or_else(|| {
                    Error::input(file, format!("{d}"), format!("node {id} is not in workload {}", w.name))
                })?;
                if let Some(prev) = dev[v] {
                    return Err(Error::input(file, format!("{d}"), format!("node {id} is already placed on {prev}")));
                }
                dev[v] = Some(d);
            }
        }
        let mut out = Vec::with_capacity(w.len());
        for v in 0..w.len() {
            let d = match dev[v] {
                Some(d) => d,
                None => {
                    let mut found = w.classes[w.class_of[v]].iter().filter_map(|&u| dev[u]);
                    let first = found.next();
                    match (first, found.all(|d| Some(d) == first)) {
                        (Some(d), true) => d,
                        (None, _) => {
                            return Err(Error::input(
                                file,
                                format!("node {}", w.nodes[v].id),
                                "not placed, and no member of its colorClass is placed".to_string(),
                            ))
                        }
                        (Some(_), false) => {
                            return Err(Error::input(
                                file,
                                format!("node {}", w.nodes[v].id),
                                "not placed, and its colorClass is split over several devices".to_string(),
                            ))
                        }
                    }
                }
            };
            out.push(d);
        }
        Ok(Placement { device: out })
    }
}

//! What `bench nwv --gpu` hands the GPU and gets back: the models, their weights, the packing,
//! the request sequences and the switching methods; per method and sequence every switch's
//! time, the forward passes', the energy and the bytes kept resident.

use crate::zoo::graph::OpGraph;
use serde::Serialize;
use std::path::PathBuf;

/// How a model's weights get to where its forward pass reads them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, clap::ValueEnum)]
#[serde(rename_all = "kebab-case")]
pub enum SwitchMethod {
    /// The virtual weights resident; one gather kernel through the model's page table.
    Gather,
    /// The weights copied from pinned host memory.
    ReloadPinned,
    /// The weights copied from pageable host memory.
    ReloadPageable,
    /// The weights read from a file, then copied (the paper's secondary storage; the file
    /// may sit in the operating system's page cache).
    ReloadFile,
    /// Whole models cached in the gather's resident bytes, least recently used evicted; a
    /// miss reloads from pinned memory.
    LruResident,
    /// Every model resident: nothing moves (no budget; the lower bound).
    AllResident,
}

impl SwitchMethod {
    pub fn as_str(self) -> &'static str {
        match self {
            SwitchMethod::Gather => "gather",
            SwitchMethod::ReloadPinned => "reload-pinned",
            SwitchMethod::ReloadPageable => "reload-pageable",
            SwitchMethod::ReloadFile => "reload-file",
            SwitchMethod::LruResident => "lru-resident",
            SwitchMethod::AllResident => "all-resident",
        }
    }

    pub const ALL: [SwitchMethod; 6] = [
        SwitchMethod::Gather,
        SwitchMethod::ReloadPinned,
        SwitchMethod::ReloadPageable,
        SwitchMethod::ReloadFile,
        SwitchMethod::LruResident,
        SwitchMethod::AllResident,
    ];
}

pub struct SwitchSpec {
    pub models: Vec<OpGraph>,
    pub weights: Vec<Vec<f32>>,
    pub virtual_weights: Vec<f32>,
    pub tables: Vec<Vec<usize>>,
    pub page_size: usize,
    /// Each sequence: the models requested, in order.
    pub sequences: Vec<Vec<usize>>,
    pub methods: Vec<SwitchMethod>,
    /// Where `reload-file` keeps the models' weights.
    pub file_dir: PathBuf,
    /// Whole-model slots of the cache (`lru-resident`): as many of the largest model as the
    /// gather's resident bytes hold.
    pub cache_slots: usize,
}

#[derive(Debug, Clone, Serialize)]
pub struct SwitchRow {
    pub method: SwitchMethod,
    pub requests: usize,
    /// Every switch, ms, to the GPU's completion.
    pub switch_ms: Vec<f64>,
    pub forward_ms: f64,
    /// The whole sequence, switches and forward passes, ms.
    pub total_ms: f64,
    pub energy_j: Option<f64>,
    pub resident_bytes: usize,
    /// Cache misses (`lru-resident`).
    pub misses: usize,
}

#[derive(Debug, Clone, Serialize)]
pub struct SwitchReport {
    pub device: String,
    pub rows: Vec<SwitchRow>,
    /// Per model: whether the GPU's gather gave the CPU's gather bit for bit.
    pub gather_bitwise: Vec<bool>,
    /// Whether NVML's energy counter could be read.
    pub energy: bool,
    /// Host-to-device copies from pageable memory, fitted as the other links are.
    pub pageable: Option<super::LinkFit>,
    /// The gather kernel over a range of sizes, timed as the switches are.
    pub gather: Option<super::LinkFit>,
}

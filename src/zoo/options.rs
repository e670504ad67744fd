//! The options of `bench gen` (and of `bench profile`'s model), parsed by clap.

use super::export::{ExportOptions, Granularity};
use super::randwire::RandWire;
use super::{GenSpec, Model};
use crate::error::{Error, Result};
use crate::run::parse::{at_least_one, fraction, non_negative};
use clap::Args;
use std::path::PathBuf;

#[derive(Debug, Args)]
pub struct GenOptions {
    /// The model (not needed with --embedded).
    #[arg(value_enum, required_unless_present = "embedded")]
    pub model: Option<Model>,
    /// Regenerate every workload of inputs/ (run from the repository root).
    #[arg(long)]
    pub embedded: bool,
    /// Samples per batch (at least 1).
    #[arg(long, default_value_t = 1, value_parser = at_least_one)]
    pub batch: usize,
    /// Square image side for the CNNs (Inception-v3 is usually 299; too small a side for a
    /// model's windows is refused, naming the first operator it cannot build).
    #[arg(long, default_value_t = 224, value_parser = at_least_one)]
    pub image: usize,
    /// Sequence length for the transformers (at least 1; at most 512 for BERT, 1024 for GPT).
    #[arg(long, default_value_t = 128, value_parser = at_least_one)]
    pub seq: usize,
    /// Layers of the transformers (at least 1).
    #[arg(long, default_value_t = 12, value_parser = at_least_one)]
    pub layers: usize,
    /// One node per operator, or one per layer (block).
    #[arg(long, value_enum, default_value = "op")]
    pub granularity: Granularity,
    /// Add backward nodes (paired by colorClass, edges mirrored, twice the forward time).
    #[arg(long)]
    pub training: bool,
    /// Accelerator preset (h100, h200) or a JSON device file (fields of DeviceModel).
    #[arg(long, default_value = "h200")]
    pub device: String,
    /// Link preset: pcie (host staging, the paper's model) or nvlink.
    #[arg(long, default_value = "pcie")]
    pub link: String,
    /// maxFPGAs.
    #[arg(long, default_value_t = 4)]
    pub accs: usize,
    /// maxCPUs.
    #[arg(long, default_value_t = 1)]
    pub cpus: usize,
    /// maxSizePerFPGA in bytes, at least 0 (default: --memory-fraction of the model's size).
    #[arg(long, value_parser = non_negative)]
    pub memory: Option<f64>,
    /// Without --memory, each accelerator holds this fraction of the model (at least 0).
    #[arg(long, default_value_t = 0.35, value_parser = non_negative)]
    pub memory_fraction: f64,
    /// RandWire: nodes N of the Watts–Strogatz graphs (at least 1).
    #[arg(long, default_value_t = 32, value_parser = at_least_one)]
    pub ws_nodes: usize,
    /// RandWire: neighbours K of each node before rewiring.
    #[arg(long, default_value_t = 4)]
    pub ws_k: usize,
    /// RandWire: rewiring probability P, from 0 to 1.
    #[arg(long, default_value_t = 0.75, value_parser = fraction)]
    pub ws_p: f64,
    /// RandWire: channels C of the first random stage (at least 1).
    #[arg(long, default_value_t = 78, value_parser = at_least_one)]
    pub channels: usize,
    /// RandWire: seed of the random graphs.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Output file (default: stdout).
    #[arg(long, short)]
    pub out: Option<PathBuf>,
}

impl GenOptions {
    /// The zoo spec these options describe.
    pub fn spec(&self) -> Result<GenSpec> {
        let model = self.model.ok_or_else(|| Error::Usage("give a MODEL or --embedded".into()))?;
        Ok(GenSpec {
            model,
            batch: self.batch,
            image: self.image,
            seq: self.seq,
            layers: self.layers,
            randwire: RandWire {
                nodes: self.ws_nodes,
                k: self.ws_k,
                p: self.ws_p,
                channels: self.channels,
                seed: self.seed,
            },
            export: ExportOptions {
                granularity: self.granularity,
                training: self.training,
                accs: self.accs,
                cpus: self.cpus,
                memory: self.memory,
                memory_fraction: self.memory_fraction,
                cost: crate::zoo::cost::CostModel::resolve(&self.device, &self.link)?,
            },
            device: self.device.clone(),
            link: self.link.clone(),
        })
    }
}

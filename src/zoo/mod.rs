//! Our own workloads: a model zoo of operator graphs with real shapes and a cost model that
//! writes them as dnn-partitioning JSON (`bench gen`), including the embedded defaults.
//!
//! Models: ResNet-50, Inception-v3, NASNet-A (Large and Mobile), RandWire (seeded WS(N, K, P)
//! stages), a BERT encoder and a GPT-style decoder.

pub mod cnn;
pub mod cost;
pub mod export;
pub mod graph;
pub mod nasnet;
pub mod options;
pub mod provenance;
pub mod randwire;
pub mod transformer;

pub use options::GenOptions;

use crate::error::Result;
use cost::CostModel;
use export::{export_with, ExportOptions, Granularity};
use graph::OpGraph;
use serde_json::Value;

/// A model family and its size parameters.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, clap::ValueEnum, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "lowercase")]
pub enum Model {
    Resnet50,
    InceptionV3,
    /// NASNet-A Large (331² in the paper).
    Nasnet,
    /// NASNet-A Mobile (224²).
    NasnetMobile,
    Randwire,
    Bert,
    Gpt,
}

/// Everything `bench gen` needs to write a workload.
#[derive(Debug, Clone)]
pub struct GenSpec {
    pub model: Model,
    pub batch: usize,
    /// Square image side (CNNs).
    pub image: usize,
    /// Sequence length (transformers).
    pub seq: usize,
    /// Transformer layers.
    pub layers: usize,
    pub randwire: randwire::RandWire,
    pub export: ExportOptions,
    /// Names of the presets, for the provenance.
    pub device: String,
    pub link: String,
}

/// Builds the operator graph of a spec.
pub fn build(spec: &GenSpec) -> OpGraph {
    match spec.model {
        Model::Resnet50 => cnn::resnet50(spec.batch, spec.image, 1000),
        Model::InceptionV3 => cnn::inception_v3(spec.batch, spec.image, 1000),
        Model::Nasnet => nasnet::nasnet(&nasnet::NasNet::large(), spec.batch, spec.image, 1000),
        Model::NasnetMobile => nasnet::nasnet(&nasnet::NasNet::mobile(), spec.batch, spec.image, 1000),
        Model::Randwire => randwire::randwire(&spec.randwire, spec.batch, spec.image, 1000),
        Model::Bert => transformer::bert(&transformer::Transformer::bert_base(spec.layers), spec.batch, spec.seq),
        Model::Gpt => transformer::gpt(&transformer::Transformer::gpt2_small(spec.layers), spec.batch, spec.seq),
    }
}

/// The workload JSON of a spec, with its provenance.
pub fn generate(spec: &GenSpec) -> Result<Value> {
    generate_with(spec, None, None)
}

/// The workload JSON of a spec with accelerator times and link measured on a GPU
/// (`bench profile`); `how` joins the provenance under `profiled`.
pub fn generate_measured(spec: &GenSpec, measured: &export::Measured, how: Value) -> Result<Value> {
    generate_with(spec, Some(measured), Some(how))
}

fn generate_with(spec: &GenSpec, measured: Option<&export::Measured>, how: Option<Value>) -> Result<Value> {
    let g = build(spec);
    g.check_shapes()?;
    let provenance = provenance::Provenance::of(spec, &g, how);
    let provenance = serde_json::to_value(provenance).map_err(|e| crate::Error::Usage(format!("provenance: {e}")))?;
    Ok(export_with(&g, &spec.export, provenance, measured))
}

/// The spec a workload was generated from, read back from its `placebench` provenance key;
/// `None` for workloads that did not come from the zoo (the paper's).
pub fn spec_from_provenance(workload: &Value) -> Option<GenSpec> {
    provenance::Provenance::spec_of(workload)
}

/// Serialises a workload the way `bench gen` writes it (stable across runs).
pub fn to_text(v: &Value) -> String {
    let mut s = serde_json::to_string_pretty(v).unwrap_or_default();
    s.push('\n');
    s
}

/// One embedded workload: its path under `inputs/` and its spec.
pub struct Preset {
    pub path: &'static str,
    pub spec: GenSpec,
}

fn preset(model: Model, granularity: Granularity, training: bool, accs: usize, cpus: usize, fraction: f64) -> GenSpec {
    GenSpec {
        model,
        batch: 8,
        image: if model == Model::InceptionV3 { 299 } else { 224 },
        seq: 128,
        layers: 6,
        randwire: randwire::RandWire { nodes: 8, k: 4, p: 0.75, channels: 32, seed: 1 },
        export: ExportOptions {
            granularity,
            training,
            accs,
            cpus,
            memory: None,
            memory_fraction: fraction,
            cost: CostModel::resolve("h200", "pcie").expect("presets exist"),
        },
        device: "h200".into(),
        link: "pcie".into(),
    }
}

/// The embedded defaults of `inputs/`: small enough that every algorithm, the integer programs
/// included, runs on them in seconds to a minute; memory set so that no single device holds a
/// model.
pub fn presets() -> Vec<Preset> {
    use Granularity::{Layer, Op};
    use Model::*;
    vec![
        Preset {
            path: "inputs/throughput/resnet50_layers_inference.json",
            spec: preset(Resnet50, Layer, false, 4, 1, 0.35),
        },
        Preset {
            path: "inputs/throughput/resnet50_layers_training.json",
            spec: preset(Resnet50, Layer, true, 4, 1, 0.35),
        },
        Preset {
            path: "inputs/throughput/inceptionv3_layers_inference.json",
            spec: preset(InceptionV3, Layer, false, 4, 1, 0.35),
        },
        Preset { path: "inputs/throughput/bert6_layers_training.json", spec: preset(Bert, Layer, true, 3, 1, 0.45) },
        Preset { path: "inputs/throughput/randwire_ops_inference.json", spec: preset(Randwire, Op, false, 3, 1, 0.45) },
        Preset {
            path: "inputs/latency/resnet50_layers_inference.json",
            spec: preset(Resnet50, Layer, false, 4, 4, 0.35),
        },
        Preset { path: "inputs/latency/gpt6_layers_inference.json", spec: preset(Gpt, Layer, false, 3, 4, 0.45) },
        Preset {
            path: "inputs/latency/inceptionv3_layers_inference.json",
            spec: preset(InceptionV3, Layer, false, 4, 4, 0.35),
        },
    ]
}

//! The `placebench` key of a zoo workload: what generated it (model, size parameters, device
//! and link presets) and, for a profiled workload, what was measured (`profiled`, read by
//! `crate::pipeline::provenance`). Written by `bench gen` and `bench profile`; read back to
//! rebuild the operator graph a workload's nodes came from.

use super::cost::CostModel;
use super::export::{ExportOptions, Granularity};
use super::graph::OpGraph;
use super::{randwire::RandWire, GenSpec, Model};
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// The provenance of a generated workload (its fields in the order they are written: the
/// workload's content hash covers its bytes).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Provenance {
    pub generator: String,
    pub model: Model,
    pub parameters: Parameters,
    pub device: String,
    pub link: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub profiled: Option<Value>,
}

/// A model's size parameters, with what the graph came to.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Parameters {
    pub batch: usize,
    pub granularity: Granularity,
    pub training: bool,
    pub operators: usize,
    pub params: u64,
    pub macs: f64,
    /// Image side (CNNs).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image: Option<usize>,
    /// RandWire's WS(n, k, p) stages.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ws: Option<Ws>,
    /// Sequence length and layers (transformers).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seq: Option<usize>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub layers: Option<usize>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Ws {
    pub n: usize,
    pub k: usize,
    pub p: f64,
    pub channels: usize,
    pub seed: u64,
}

impl Provenance {
    /// What generated `g` from `spec`; `profiled`, what `bench profile` measured.
    pub fn of(spec: &GenSpec, g: &OpGraph, profiled: Option<Value>) -> Provenance {
        let cnn = matches!(spec.model, Model::Resnet50 | Model::InceptionV3 | Model::Nasnet | Model::NasnetMobile);
        let transformer = matches!(spec.model, Model::Bert | Model::Gpt);
        let r = &spec.randwire;
        let command = if profiled.is_some() { "bench profile" } else { "bench gen" };
        Provenance {
            generator: format!("placebench {} {command}", env!("CARGO_PKG_VERSION")),
            model: spec.model,
            parameters: Parameters {
                batch: spec.batch,
                granularity: spec.export.granularity,
                training: spec.export.training,
                operators: g.ops.len(),
                params: g.params(),
                macs: g.macs(),
                image: (cnn || spec.model == Model::Randwire).then_some(spec.image),
                ws: (spec.model == Model::Randwire).then_some(Ws {
                    n: r.nodes,
                    k: r.k,
                    p: r.p,
                    channels: r.channels,
                    seed: r.seed,
                }),
                seq: transformer.then_some(spec.seq),
                layers: transformer.then_some(spec.layers),
            },
            device: spec.device.clone(),
            link: spec.link.clone(),
            profiled,
        }
    }

    /// The spec a workload was generated from (`None`: not a zoo workload, or one whose
    /// provenance does not read).
    pub fn spec_of(workload: &Value) -> Option<GenSpec> {
        let p: Provenance = serde_json::from_value(workload.get("placebench")?.clone()).ok()?;
        let q = p.parameters;
        let randwire = q.ws.map_or_else(RandWire::default, |ws| RandWire {
            nodes: ws.n,
            k: ws.k,
            p: ws.p,
            channels: ws.channels,
            seed: ws.seed,
        });
        Some(GenSpec {
            model: p.model,
            batch: q.batch,
            image: q.image.unwrap_or(0),
            seq: q.seq.unwrap_or(0),
            layers: q.layers.unwrap_or(0),
            randwire,
            export: ExportOptions {
                granularity: q.granularity,
                training: q.training,
                accs: workload.get("maxFPGAs")?.as_u64()? as usize,
                cpus: workload.get("maxCPUs")?.as_u64()? as usize,
                memory: workload.get("maxSizePerFPGA")?.as_f64(),
                memory_fraction: 1.0,
                cost: CostModel::resolve(&p.device, &p.link).ok()?,
            },
            device: p.device,
            link: p.link,
        })
    }
}

//! Tenants: a zoo model at a batch size, training or serving, reduced to what sharing one GPU
//! needs: the standalone iteration time, persistent and ephemeral bytes, and occupancy.
//!
//! - `iter_ms`: the cost model's operator times summed in topological order; training is three
//!   forward passes (the zoo's convention: backward = 2 × forward).
//! - persistent bytes `P`: parameters × bytes per element (serving) or 16 B a parameter
//!   (training: weights, gradients and Adam's two moments).
//! - ephemeral bytes `E`: the peak of live tensors over the topological order, an output
//!   allocated when produced and freed after its last consumer (a reshape aliases its input).
//!   Training keeps every forward output until its backward and adds the two largest outputs
//!   as the gradients in flight at the peak. The zoo's kernels need no workspace.
//! - occupancy `u`: each operator's share of the GPU (`min(1, output elements / capacity)`),
//!   weighted by its time.

use crate::hios::family::GPU_CAPACITY;
use crate::zoo::cost::{op_seconds, CostModel};
use crate::zoo::graph::{Attrs, OpGraph};
use crate::zoo::{randwire::RandWire, Model};
use serde::{Deserialize, Serialize};

/// Training or serving.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    Train,
    Infer,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Train => "train",
            Kind::Infer => "infer",
        }
    }

    pub fn parse(s: &str) -> Option<Kind> {
        match s {
            "train" | "training" => Some(Kind::Train),
            "infer" | "inference" | "serve" => Some(Kind::Infer),
            _ => None,
        }
    }
}

/// What a tenant is made of: the key jobs of a trace refer to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct TenantKey {
    pub model: Model,
    pub batch: usize,
    pub kind: Kind,
}

/// One tenant's demands on a shared GPU.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Tenant {
    /// `<model>_b<batch>_<kind>`.
    pub name: String,
    /// Standalone time of one iteration (a training step or an inference request), ms.
    pub iter_ms: f64,
    pub persistent_bytes: f64,
    pub ephemeral_bytes: f64,
    /// Time-weighted share of the GPU its operators occupy, in (0, 1].
    pub occupancy: f64,
    pub parameters: u64,
    /// Where its numbers come from: `zoo`, `zoo <model> for <name>` (a trace's model mapped
    /// to the zoo), or the profile row that replaced them.
    #[serde(default)]
    pub source: String,
}

/// Bytes in a GiB, the unit of `--memory-gib` and of the rows' peak memory.
pub const GIB: f64 = (1u64 << 30) as f64;

/// The zoo's name of a model: its command-line name, as `bench gen` and `bench profile` take it.
pub fn model_name(m: Model) -> String {
    use clap::ValueEnum;
    m.to_possible_value().map(|v| v.get_name().to_owned()).unwrap_or_default()
}

/// The zoo model called `name` (its command-line name, with `_` for `-` accepted).
pub fn parse_model(name: &str) -> Option<Model> {
    <Model as clap::ValueEnum>::from_str(&name.replace('_', "-"), true).ok()
}

/// The operator graph of a tenant: ImageNet sizes (299² for Inception-v3, 331² for NASNet-A
/// Large), full-depth transformers at sequence length 128, RandWire's small regime.
pub fn graph(model: Model, batch: usize) -> OpGraph {
    use crate::zoo::{cnn, nasnet, transformer as t};
    match model {
        Model::Resnet50 => cnn::resnet50(batch, 224, 1000),
        Model::InceptionV3 => cnn::inception_v3(batch, 299, 1000),
        Model::Nasnet => nasnet::nasnet(&nasnet::NasNet::large(), batch, 331, 1000),
        Model::NasnetMobile => nasnet::nasnet(&nasnet::NasNet::mobile(), batch, 224, 1000),
        Model::Randwire => crate::zoo::randwire::randwire(&RandWire::default(), batch, 224, 1000),
        Model::Bert => t::bert(&t::Transformer::bert_base(12), batch, 128),
        Model::Gpt => t::gpt(&t::Transformer::gpt2_small(12), batch, 128),
    }
}

impl Tenant {
    /// The tenant of `key` on the cost model's accelerator.
    pub fn from_zoo(key: TenantKey, cost: &CostModel) -> Tenant {
        let g = graph(key.model, key.batch);
        Self::from_graph(&format!("{}_b{}_{}", model_name(key.model), key.batch, key.kind.as_str()), &g, key.kind, cost)
    }

    pub fn from_graph(name: &str, g: &OpGraph, kind: Kind, cost: &CostModel) -> Tenant {
        let acc = &cost.accelerator;
        let times: Vec<f64> = g.ops.iter().map(|o| op_seconds(o, acc) * 1e3).collect();
        let forward: f64 = times.iter().sum();
        let busy: f64 = g.ops.iter().zip(&times).map(|(o, t)| t * (o.numel() as f64 / GPU_CAPACITY).min(1.0)).sum();
        let parameters = g.params();
        let train = kind == Kind::Train;
        Tenant {
            name: name.to_owned(),
            iter_ms: if train { 3.0 * forward } else { forward },
            persistent_bytes: parameters as f64 * if train { 16.0 } else { acc.bytes_per_element },
            ephemeral_bytes: ephemeral_bytes(g, acc.bytes_per_element, train),
            occupancy: if forward > 0.0 { (busy / forward).clamp(1e-3, 1.0) } else { 1.0 },
            parameters,
            source: "zoo".into(),
        }
    }

    /// Standalone bytes of the tenant alone on a GPU.
    pub fn footprint(&self) -> f64 {
        self.persistent_bytes + self.ephemeral_bytes
    }
}

/// Peak live activation bytes of one iteration (see the module text).
pub fn ephemeral_bytes(g: &OpGraph, bytes_per_element: f64, train: bool) -> f64 {
    let n = g.ops.len();
    // A reshape moves no data: its output is its input's buffer, kept alive by its consumers.
    let mut root: Vec<usize> = (0..n).collect();
    for (i, o) in g.ops.iter().enumerate() {
        if matches!(o.attrs, Attrs::Reshape) {
            if let Some(&x) = o.inputs.first() {
                root[i] = root[x];
            }
        }
    }
    let bytes: Vec<f64> = g
        .ops
        .iter()
        .enumerate()
        .map(|(i, o)| if root[i] == i { o.numel() as f64 * bytes_per_element } else { 0.0 })
        .collect();
    if train {
        let mut sorted = bytes.clone();
        sorted.sort_by(|a, b| b.total_cmp(a));
        return bytes.iter().sum::<f64>() + sorted.iter().take(2).sum::<f64>();
    }
    let mut last = vec![usize::MAX; n];
    for (i, o) in g.ops.iter().enumerate() {
        for &x in &o.inputs {
            let r = root[x];
            last[r] = if last[r] == usize::MAX { i } else { last[r].max(i) };
        }
    }
    let mut dying: Vec<Vec<usize>> = vec![Vec::new(); n];
    for (r, &l) in last.iter().enumerate() {
        if l != usize::MAX && root[r] == r {
            dying[l].push(r);
        }
    }
    let (mut live, mut peak) = (0.0f64, 0.0f64);
    for i in 0..n {
        live += bytes[i];
        peak = peak.max(live);
        for &r in &dying[i] {
            live -= bytes[r];
        }
    }
    peak
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::zoo::graph::OpGraph;

    #[test]
    fn a_chain_holds_two_tensors_at_its_peak() {
        // input → a → b → c, each output 100 elements: at most the operator's input and its
        // output are alive, so the peak is 200 elements; training keeps all four plus two.
        let mut g = OpGraph::default();
        let x = g.input("x", vec![1, 100]);
        let a = g.activation("a", x);
        let b = g.activation("b", a);
        let _c = g.activation("c", b);
        assert_eq!(ephemeral_bytes(&g, 1.0, false), 200.0);
        assert_eq!(ephemeral_bytes(&g, 1.0, true), 600.0);
    }

    #[test]
    fn a_skip_connection_stays_alive_until_its_last_consumer() {
        let mut g = OpGraph::default();
        let x = g.input("x", vec![1, 10]);
        let a = g.activation("a", x);
        let b = g.activation("b", a);
        let c = g.activation("c", b);
        let _d = g.add("d", &[x, c]);
        // While c runs: x, b, c live (a died after b): 30; at d: x, c, d = 30.
        assert_eq!(ephemeral_bytes(&g, 1.0, false), 30.0);
    }

    #[test]
    fn zoo_tenants_have_positive_demands_and_training_costs_more() {
        let cost = CostModel::resolve("h200", "pcie").unwrap();
        let key = TenantKey { model: Model::Resnet50, batch: 8, kind: Kind::Infer };
        let inf = Tenant::from_zoo(key, &cost);
        let tr = Tenant::from_zoo(TenantKey { kind: Kind::Train, ..key }, &cost);
        assert!(inf.iter_ms > 0.0 && inf.occupancy > 0.0 && inf.occupancy <= 1.0);
        assert!((tr.iter_ms - 3.0 * inf.iter_ms).abs() < 1e-9);
        assert!(tr.persistent_bytes > inf.persistent_bytes && tr.ephemeral_bytes > inf.ephemeral_bytes);
        // ResNet-50 has 25.6 M parameters.
        assert!((25_000_000..26_000_000).contains(&inf.parameters), "{}", inf.parameters);
    }

    #[test]
    fn model_names_round_trip() {
        for m in [Model::Resnet50, Model::InceptionV3, Model::Nasnet, Model::NasnetMobile, Model::Randwire] {
            assert_eq!(parse_model(&model_name(m)), Some(m));
        }
        assert_eq!(parse_model("inception_v3"), Some(Model::InceptionV3));
        assert_eq!(parse_model("vgg16"), None);
    }
}

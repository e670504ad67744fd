//! Small task sets for the pipeline family's tests.

use placebench::multitenant::dart::model::{Class, Layer, Node, Platform, Task};
use proptest::prelude::*;

pub fn platform(gpus: u32, cores: u32, max_nodes: usize) -> Platform {
    Platform { gpus, cores, idle_cores: false, max_nodes, pcie_bytes_per_ms: 100.0, pcie_latency_ms: 0.5 }
}

pub fn layer(gpu: f64, core: f64, sigma: f64, bytes: f64) -> Layer {
    Layer { name: String::new(), gpu_ms: gpu, issue_ms: 0.1, core_ms: core, sigma, out_bytes: bytes, occupancy: 1.0 }
}

pub fn task(i: usize, class: Class, period: f64, weight: f64, layers: Vec<Layer>) -> Task {
    Task { name: format!("t{i}"), class, period_ms: period, deadline_ms: period, weight, input_bytes: 50.0, layers }
}

prop_compose! {
    pub fn layers_strategy(max: usize)(specs in prop::collection::vec((1u32..20, 1u32..60, 0u32..4, 0u32..300), 1..=max))
        -> Vec<Layer> {
        specs.into_iter().map(|(g, c, s, b)| layer(g as f64 / 4.0, c as f64, s as f64 / 10.0, b as f64)).collect()
    }
}

prop_compose! {
    pub fn config_strategy()(nodes in prop::collection::vec((any::<bool>(), 1u32..5), 1..=4)) -> Vec<Node> {
        nodes.into_iter().map(|(gpu, cores)| Node { gpu, cores }).collect()
    }
}

prop_compose! {
    pub fn set_strategy()(specs in prop::collection::vec((any::<bool>(), 2u32..12, 1u32..4, layers_strategy(4)), 1..5))
        -> Vec<Task> {
        specs.into_iter().enumerate().map(|(i, (rt, period, weight, layers))|
            task(i, if rt { Class::Rt } else { Class::Be }, period as f64 * 10.0, weight as f64, layers)).collect()
    }
}

//! The default workloads of `inputs/`, compiled into the binary so that `bench` runs from any
//! directory of a fresh clone.

use super::{parse_workload, Workload};
use crate::error::Result;
use std::path::Path;

/// Which objective a set of embedded workloads is meant for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EmbeddedSet {
    Throughput,
    Latency,
}

/// (path inside the repository, contents). Adding a file to `inputs/` means adding a line here.
const THROUGHPUT: &[(&str, &str)] = &[
    (
        "inputs/throughput/tiny_inception_inference.json",
        include_str!("../../inputs/throughput/tiny_inception_inference.json"),
    ),
    (
        "inputs/throughput/tiny_inception_training.json",
        include_str!("../../inputs/throughput/tiny_inception_training.json"),
    ),
    (
        "inputs/throughput/tiny_transformer_inference.json",
        include_str!("../../inputs/throughput/tiny_transformer_inference.json"),
    ),
];

/// Inference workloads with latency-scale edge costs and several CPUs.
const LATENCY: &[(&str, &str)] = &[
    (
        "inputs/latency/tiny_inception_inference.json",
        include_str!("../../inputs/latency/tiny_inception_inference.json"),
    ),
    (
        "inputs/latency/tiny_transformer_inference.json",
        include_str!("../../inputs/latency/tiny_transformer_inference.json"),
    ),
];

/// Parses the embedded workloads of one set; names are `embedded/<file stem>`.
pub fn embedded_workloads(set: EmbeddedSet) -> Result<Vec<Workload>> {
    let files = match set {
        EmbeddedSet::Throughput => THROUGHPUT,
        EmbeddedSet::Latency => LATENCY,
    };
    files
        .iter()
        .map(|(path, text)| {
            let p = Path::new(path);
            let stem = p.file_stem().map(|s| s.to_string_lossy()).unwrap_or_default();
            parse_workload(text.as_bytes(), p, &format!("embedded/{stem}"))
        })
        .collect()
}

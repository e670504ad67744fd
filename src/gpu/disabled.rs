//! Stand-ins when placebench is built without the `cuda` feature.

use super::plan::{CopyKernel, Plan};
use super::{CopyInterference, ExecOptions, GpuInfo, LinkFit, Measurement, Mode, OpProfile, StageTime};
use crate::zoo::graph::OpGraph;

const WHY: &str = "this bench was built without the `cuda` feature: rebuild with `cargo build --release --features cuda` on a machine with an NVIDIA driver";

pub fn probe() -> crate::Result<GpuInfo> {
    Err(crate::Error::Gpu(WHY.into()))
}

pub fn execute(
    _plan: &Plan,
    _mode: Mode,
    _samples: usize,
    _repeats: usize,
    _how: ExecOptions,
) -> crate::Result<Measurement> {
    Err(crate::Error::Gpu(WHY.into()))
}

pub fn profile_ops(_g: &OpGraph, _warmup: usize, _runs: usize, _progress: impl FnMut()) -> crate::Result<OpProfile> {
    Err(crate::Error::Gpu(WHY.into()))
}

pub fn profile_stages(
    _g: &OpGraph,
    _stages: &[Vec<Vec<usize>>],
    _whole: Option<&[Vec<Vec<usize>>]>,
    _warmup: usize,
    _runs: usize,
) -> crate::Result<(Vec<StageTime>, Option<[f64; 2]>)> {
    Err(crate::Error::Gpu(WHY.into()))
}

pub fn profile_graph_gap(_tasks: usize, _task_ms: f64, _repeats: usize) -> crate::Result<[f64; 2]> {
    Err(crate::Error::Gpu(WHY.into()))
}

pub fn profile_links(_runs: usize, _copy: CopyKernel) -> crate::Result<Vec<LinkFit>> {
    Err(crate::Error::Gpu(WHY.into()))
}

pub fn profile_copy_interference(_runs: usize, _copy: CopyKernel) -> crate::Result<Option<CopyInterference>> {
    Err(crate::Error::Gpu(WHY.into()))
}

/// Layers of zoo models on a GPU: never built here.
pub struct LayerKernels;

impl LayerKernels {
    pub fn new(_models: &[(OpGraph, Vec<std::ops::Range<usize>>, bool)]) -> crate::Result<LayerKernels> {
        Err(crate::Error::Gpu(WHY.into()))
    }

    pub fn run(&self, _m: usize, _layer: usize) -> crate::Result<()> {
        Err(crate::Error::Gpu(WHY.into()))
    }

    pub fn device(&self) -> String {
        String::new()
    }
}

pub fn measure_switching(_spec: &super::switching::SwitchSpec) -> crate::Result<super::switching::SwitchReport> {
    Err(crate::Error::Gpu(WHY.into()))
}

//! Stand-ins when placebench is built without the `cuda` feature.

use super::plan::{CopyKernel, Plan};
use super::{CopyInterference, ExecOptions, GpuInfo, LinkFit, Measurement, Mode, OpProfile, StageTime};
use crate::zoo::graph::OpGraph;

const WHY: &str = "this bench was built without the `cuda` feature: rebuild with `cargo build --release --features cuda` on a machine with an NVIDIA driver";

pub fn probe() -> Result<GpuInfo, String> {
    Err(WHY.into())
}

pub fn execute(
    _plan: &Plan,
    _mode: Mode,
    _samples: usize,
    _repeats: usize,
    _how: ExecOptions,
) -> Result<Measurement, String> {
    Err(WHY.into())
}

pub fn profile_ops(_g: &OpGraph, _warmup: usize, _runs: usize, _progress: impl FnMut()) -> Result<OpProfile, String> {
    Err(WHY.into())
}

pub fn profile_stages(
    _g: &OpGraph,
    _stages: &[Vec<Vec<usize>>],
    _whole: Option<&[Vec<Vec<usize>>]>,
    _warmup: usize,
    _runs: usize,
) -> Result<(Vec<StageTime>, Option<[f64; 2]>), String> {
    Err(WHY.into())
}

pub fn profile_graph_gap(_tasks: usize, _task_ms: f64, _repeats: usize) -> Result<[f64; 2], String> {
    Err(WHY.into())
}

pub fn profile_links(_runs: usize, _copy: CopyKernel) -> Result<Vec<LinkFit>, String> {
    Err(WHY.into())
}

pub fn profile_copy_interference(_runs: usize, _copy: CopyKernel) -> Result<Option<CopyInterference>, String> {
    Err(WHY.into())
}

//! Stand-ins when placebench is built without the `cuda` feature.

use super::{GpuInfo, Measurement, StageSpec};

const WHY: &str = "this bench was built without the `cuda` feature: rebuild with `cargo build --release --features cuda` on a machine with an NVIDIA driver";

pub fn probe() -> Result<GpuInfo, String> {
    Err(WHY.into())
}

pub fn run_pipeline(_stages: &[StageSpec], _samples: usize, _repeats: usize) -> Result<Measurement, String> {
    Err(WHY.into())
}

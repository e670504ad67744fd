//! Real GPUs: run a placement's pipeline on the machine's GPUs and measure the time per sample.
//! `enabled.rs` (cargo feature `cuda`, cudarc with the driver loaded at run time) and
//! `disabled.rs` offer the same functions; without the feature or without a driver every call
//! returns an error that says so, and the CPU paths never need a GPU.

#[cfg(feature = "cuda")]
mod enabled;
#[cfg(feature = "cuda")]
pub use enabled::{probe, run_pipeline};

#[cfg(not(feature = "cuda"))]
mod disabled;
#[cfg(not(feature = "cuda"))]
pub use disabled::{probe, run_pipeline};

/// What the machine offers.
#[derive(Debug, Clone, serde::Serialize)]
pub struct GpuInfo {
    pub devices: usize,
    pub name: String,
    /// Busy-kernel clock cycles per millisecond, measured.
    pub cycles_per_ms: f64,
}

/// One pipeline stage: the GPU it runs on, the time of each of its operators (ms), run as
/// calibrated busy kernels, and the bytes it sends to the next stage.
#[derive(Debug, Clone)]
pub struct StageSpec {
    pub gpu: usize,
    pub kernels_ms: Vec<f64>,
    pub send_bytes: usize,
}

/// Time per sample in steady state.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Measurement {
    pub per_sample_ms: f64,
    /// Per repeat.
    pub repeats_ms: Vec<f64>,
    pub samples: usize,
    pub devices_used: usize,
}

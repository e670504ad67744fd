//! The cost model that turns operators into latencies, sizes and edge costs.
//!
//! Operator time on a device (a roofline plus launch overhead):
//! `t = max(flops / (rate · efficiency[kind]), bytes / bandwidth) + launch_overhead`, where
//! `rate` is the matrix rate for convolutions and matrix products and the vector rate for the
//! rest, and `bytes` = (inputs + output + parameters) × bytes per element.
//! Edge cost of a sender: `bytes(output) / link_bandwidth + link_latency`.
//! Node size: parameters × bytes per element for inference; for training, parameters × 16
//! bytes (bf16 weights and gradients, fp32 Adam moments and master weights) plus the output
//! activation kept for the backward pass.
//! All times are written in milliseconds, the paper's unit.

use super::graph::{Op, OpGraph, OpKind};
use crate::error::{Error, Result};
use serde::{Deserialize, Serialize};
use std::path::Path;

/// Fraction of the device's rate an operator kind attains. Assumed, not measured: the GPU
/// issue replaces them with profiled times.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Efficiency {
    pub conv: f64,
    pub matmul: f64,
    pub other: f64,
}

/// One kind of device.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct DeviceModel {
    pub name: String,
    /// FLOP/s of matrix units at the working precision.
    pub matrix_flops: f64,
    /// FLOP/s of the vector units.
    pub vector_flops: f64,
    /// Bytes/s, counting bytes read plus bytes written.
    pub memory_bandwidth: f64,
    /// Seconds per operator launch.
    pub launch_overhead: f64,
    pub bytes_per_element: f64,
    pub efficiency: Efficiency,
    /// Where the numbers come from.
    pub source: String,
}

/// A link between devices (or a device and host memory).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Link {
    pub name: String,
    /// Bytes/s.
    pub bandwidth: f64,
    /// Seconds per transfer.
    pub latency: f64,
    pub source: String,
}

/// Accelerator, CPU and link.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct CostModel {
    pub accelerator: DeviceModel,
    pub cpu: DeviceModel,
    pub link: Link,
}

fn gpu(name: &str, bandwidth: f64, measured: &str) -> DeviceModel {
    DeviceModel {
        name: name.into(),
        matrix_flops: 790e12,
        vector_flops: 67e12,
        memory_bandwidth: bandwidth,
        launch_overhead: 5e-6,
        bytes_per_element: 2.0,
        efficiency: Efficiency { conv: 0.5, matmul: 0.7, other: 0.5 },
        source: format!(
            "matrix rate: an 8192^3 bf16 matmul at 790-800 TFLOP/s and {measured} measured on this workplace's lent \
             GPUs; vector rate: datasheet fp32; efficiencies and launch overhead: assumed"
        ),
    }
}

/// Accelerator presets by name.
pub fn accelerator_preset(name: &str) -> Option<DeviceModel> {
    match name {
        "h100" => Some(gpu("H100", 3.0e12, "a 3.0 TB/s device-to-device copy")),
        "h200" => Some(gpu("H200", 4.3e12, "a 4.3 TB/s device-to-device copy")),
        _ => None,
    }
}

/// A two-socket server CPU in fp32 (nominal).
pub fn cpu_preset() -> DeviceModel {
    DeviceModel {
        name: "CPU".into(),
        matrix_flops: 2.0e12,
        vector_flops: 1.0e12,
        memory_bandwidth: 2.0e11,
        launch_overhead: 2e-6,
        bytes_per_element: 4.0,
        efficiency: Efficiency { conv: 0.5, matmul: 0.6, other: 0.3 },
        source: "nominal two-socket server, fp32; not measured".into(),
    }
}

/// Link presets by name.
pub fn link_preset(name: &str) -> Option<Link> {
    match name {
        // The paper's model stages every transfer through host memory.
        "pcie" => Some(Link {
            name: "PCIe (host staging)".into(),
            bandwidth: 25e9,
            latency: 10e-6,
            source: "nominal PCIe 4.0 x16 effective bandwidth; not measured".into(),
        }),
        "nvlink" => Some(Link {
            name: "NVLink (H200 NV18)".into(),
            bandwidth: 370e9,
            latency: 5e-6,
            source: "nominal: 450 GB/s per direction derated; not measured".into(),
        }),
        _ => None,
    }
}

impl CostModel {
    /// `accelerator` is a preset name or a JSON file of a [`DeviceModel`]; `link` a preset name.
    pub fn resolve(accelerator: &str, link: &str) -> Result<CostModel> {
        let acc = match accelerator_preset(accelerator) {
            Some(d) => d,
            None => {
                let p = Path::new(accelerator);
                let text = std::fs::read_to_string(p).map_err(|_| {
                    Error::Usage(format!("--device {accelerator}: not a preset (h100, h200) nor a readable file"))
                })?;
                crate::strict_json::typed(&text).map_err(|e| Error::input(p, "device file", e.to_string()))?
            }
        };
        let link =
            link_preset(link).ok_or_else(|| Error::Usage(format!("--link {link}: not a preset (pcie, nvlink)")))?;
        Ok(CostModel { accelerator: acc, cpu: cpu_preset(), link })
    }
}

/// Bytes one element of `op`'s tensors takes on `dev`.
fn tensor_bytes(dims: &[usize], dev: &DeviceModel) -> f64 {
    dims.iter().product::<usize>() as f64 * dev.bytes_per_element
}

/// Seconds `op` takes on `dev`.
pub fn op_seconds(op: &Op, dev: &DeviceModel) -> f64 {
    if op.kind == OpKind::Input {
        return 0.0;
    }
    let (rate, eff) = match op.kind {
        OpKind::Conv => (dev.matrix_flops, dev.efficiency.conv),
        OpKind::MatMul => (dev.matrix_flops, dev.efficiency.matmul),
        _ => (dev.vector_flops, dev.efficiency.other),
    };
    let bytes = op.input_shapes.iter().map(|s| tensor_bytes(s, dev)).sum::<f64>()
        + tensor_bytes(&op.shape, dev)
        + op.params as f64 * dev.bytes_per_element;
    let compute = if op.flops > 0.0 { op.flops / (rate * eff) } else { 0.0 };
    compute.max(bytes / dev.memory_bandwidth) + dev.launch_overhead
}

/// Seconds to send `op`'s output over `link` (accelerator precision).
pub fn transfer_seconds(op: &Op, acc: &DeviceModel, link: &Link) -> f64 {
    tensor_bytes(&op.shape, acc) / link.bandwidth + link.latency
}

/// Bytes `op` occupies on an accelerator.
pub fn op_size(op: &Op, acc: &DeviceModel, training: bool) -> f64 {
    let weights = op.params as f64 * acc.bytes_per_element;
    if training {
        op.params as f64 * 16.0 + tensor_bytes(&op.shape, acc)
    } else {
        weights
    }
}

/// Total accelerator bytes of a graph.
pub fn graph_size(g: &OpGraph, acc: &DeviceModel, training: bool) -> f64 {
    g.ops.iter().map(|o| op_size(o, acc, training)).sum()
}

//! What `bench profile` and `bench calibrate` record in a profiled workload
//! (`placebench.profiled`), typed for the readers: the per-operator times and shares, the link
//! fits, the exchange, fork/join and graph-launch measurements, the concurrency efficiency of
//! peers and the calibration. Fields this build does not read are kept as written.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// Version of the typed fields below; profiles written before it existed read as version 1.
pub const PROFILE_SCHEMA_VERSION: u32 = 1;

/// A field that does not read as its type reads as absent, as the readers have always taken
/// such fields: provenance grew over many runs, and a reader uses what it understands.
fn lenient<'de, D: serde::Deserializer<'de>, T: serde::de::DeserializeOwned>(d: D) -> Result<Option<T>, D::Error> {
    let v = Value::deserialize(d)?;
    Ok(serde_json::from_value(v).ok())
}

/// The `placebench.profiled` object of a profiled workload.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Profiled {
    #[serde(default = "crate::results::version_one")]
    pub schema_version: u32,
    /// The GPU's name as the driver gives it.
    #[serde(default, deserialize_with = "lenient")]
    pub gpu: Option<String>,
    #[serde(default, deserialize_with = "lenient")]
    pub driver: Option<String>,
    #[serde(default, deserialize_with = "lenient")]
    pub date_utc: Option<String>,
    /// `eager: ...` or `gpu: ...`: what each operator is charged.
    #[serde(default, deserialize_with = "lenient")]
    pub cost: Option<String>,
    #[serde(default, deserialize_with = "lenient")]
    pub copy_kernel: Option<crate::gpu::plan::CopyKernel>,
    #[serde(default, deserialize_with = "lenient")]
    pub working_set_bytes: Option<f64>,
    /// Per operator, the GPU time the workload charges (ms).
    #[serde(default, deserialize_with = "lenient")]
    pub op_gpu_ms: Option<Vec<f64>>,
    #[serde(default, deserialize_with = "lenient")]
    pub op_gpu_warm_ms: Option<Vec<f64>>,
    #[serde(default, deserialize_with = "lenient")]
    pub op_gpu_cold_ms: Option<Vec<f64>>,
    /// Per operator, the host time of one eager launch (ms).
    #[serde(default, deserialize_with = "lenient")]
    pub op_host_ms: Option<Vec<f64>>,
    #[serde(default, deserialize_with = "lenient")]
    pub op_occupancy: Option<Vec<Option<f64>>>,
    #[serde(default, deserialize_with = "lenient")]
    pub op_occupancy_cold: Option<Vec<Option<f64>>>,
    #[serde(default, deserialize_with = "lenient")]
    pub l2_bytes: Option<f64>,
    #[serde(default, deserialize_with = "lenient")]
    pub links: Option<Vec<LinkFitRecord>>,
    #[serde(default, deserialize_with = "lenient")]
    pub exchange: Option<ExchangeRecord>,
    #[serde(default, deserialize_with = "lenient")]
    pub fork_join: Option<ForkJoinRecord>,
    #[serde(default, deserialize_with = "lenient")]
    pub segments: Option<SegmentsRecord>,
    #[serde(default, deserialize_with = "lenient")]
    pub peers: Option<PeersRecord>,
    #[serde(default, deserialize_with = "lenient")]
    pub peers_cold: Option<PeersRecord>,
    /// Wider sets of peers, one record per width (profiles since this field have them).
    #[serde(default, deserialize_with = "lenient")]
    pub peers_wide: Option<Vec<PeersRecord>>,
    #[serde(default, deserialize_with = "lenient")]
    pub peers_wide_cold: Option<Vec<PeersRecord>>,
    #[serde(default, deserialize_with = "lenient")]
    pub calibration: Option<CalibrationRecord>,
    #[serde(flatten)]
    pub rest: Map<String, Value>,
}

/// A copy's fit `alpha + bytes / bytes_per_ms` over one path.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct LinkFitRecord {
    pub name: String,
    #[serde(default, deserialize_with = "lenient")]
    pub alpha_ms: Option<f64>,
    #[serde(default, deserialize_with = "lenient")]
    pub bytes_per_ms: Option<f64>,
    #[serde(flatten)]
    pub rest: Map<String, Value>,
}

/// An exchange between GPUs beyond its copy (the ping-pong), and the executor's exchanges
/// measured alone (`bench links`, added by `bench calibrate --links`).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct ExchangeRecord {
    #[serde(default, deserialize_with = "lenient")]
    pub graphs_ms: Option<f64>,
    #[serde(default, deserialize_with = "lenient")]
    pub eager_ms: Option<f64>,
    #[serde(default, deserialize_with = "lenient")]
    pub links: Option<ExchangeLinks>,
    #[serde(flatten)]
    pub rest: Map<String, Value>,
}

/// A hop of the executor's exchange and a copy queued behind another.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct ExchangeLinks {
    #[serde(default, deserialize_with = "lenient")]
    pub hop_ms: Option<f64>,
    #[serde(default, deserialize_with = "lenient")]
    pub queued_copy_ms: Option<f64>,
    #[serde(default, deserialize_with = "lenient")]
    pub bytes: Option<f64>,
    #[serde(flatten)]
    pub rest: Map<String, Value>,
}

/// The fork and join of parallel streams under graph replay.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct ForkJoinRecord {
    #[serde(default, deserialize_with = "lenient")]
    pub per_extra_group_ms: Option<f64>,
    #[serde(flatten)]
    pub rest: Map<String, Value>,
}

/// What each later graph of a sample costs.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct SegmentsRecord {
    #[serde(default, deserialize_with = "lenient")]
    pub per_segment_ms: Option<f64>,
    #[serde(flatten)]
    pub rest: Map<String, Value>,
}

/// Operators beside their peers: the concurrency efficiency η.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct PeersRecord {
    /// Operators side by side (absent in profiles before wider sets: pairs).
    #[serde(default, deserialize_with = "lenient")]
    pub groups: Option<usize>,
    #[serde(default, deserialize_with = "lenient")]
    pub efficiency: Option<f64>,
    #[serde(flatten)]
    pub rest: Map<String, Value>,
}

/// What `bench calibrate` anchored the profile to and found.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct CalibrationRecord {
    #[serde(default, deserialize_with = "lenient")]
    pub rows: Option<Vec<CalibrationRow>>,
    #[serde(default, deserialize_with = "lenient")]
    pub algorithm: Option<String>,
    #[serde(default, deserialize_with = "lenient")]
    pub scale: Option<f64>,
    #[serde(default, deserialize_with = "lenient")]
    pub scale_total: Option<f64>,
    #[serde(default, deserialize_with = "lenient")]
    pub sample_overhead_ms: Option<f64>,
    #[serde(default, deserialize_with = "lenient")]
    pub fork_share: Option<f64>,
    #[serde(default, deserialize_with = "lenient")]
    pub from_hashes: Option<Vec<Value>>,
    #[serde(flatten)]
    pub rest: Map<String, Value>,
}

/// One row calibrated on.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct CalibrationRow {
    #[serde(default, deserialize_with = "lenient")]
    pub kind: Option<String>,
    #[serde(flatten)]
    pub rest: Map<String, Value>,
}

impl CalibrationRecord {
    /// The content hashes of the workloads the profile was calibrated from.
    pub fn hashes(&self) -> Vec<String> {
        self.from_hashes.iter().flatten().filter_map(|h| h.as_str().map(str::to_owned)).collect()
    }

    /// The product of every calibration's scale the profile went through (1: as profiled).
    pub fn scale_total(&self) -> f64 {
        self.scale_total.or(self.scale).filter(|s| *s > 0.0).unwrap_or(1.0)
    }
}

impl Profiled {
    /// η by group count, warm or `cold`: each width's own where measured, else the next
    /// narrower one's (profiles before wider sets: the pairs' for every width); `None` without
    /// pairs.
    pub fn efficiencies(&self, cold: bool) -> Option<crate::gpu::concurrency::ByGroups> {
        let (pairs, wide) = match cold {
            false => (&self.peers, &self.peers_wide),
            true => (&self.peers_cold, &self.peers_wide_cold),
        };
        let mut by = [pairs.as_ref()?.efficiency?; crate::gpu::concurrency::WIDEST - 1];
        for k in 1..by.len() {
            let own = wide.iter().flatten().find(|r| r.groups == Some(k + 2)).and_then(|r| r.efficiency);
            by[k] = own.unwrap_or(by[k - 1]);
        }
        Some(by)
    }

    /// The `placebench.profiled` object of a workload's JSON, if it has one that reads.
    pub fn of(workload: &Value) -> Option<Profiled> {
        serde_json::from_value(workload.pointer("/placebench/profiled")?.clone()).ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A profile from before wider sets reads the pairs' η for every width; a measured width
    /// counts for itself and the wider ones after it.
    #[test]
    fn efficiencies_fall_back_to_the_next_narrower_width() {
        let of = |v: Value| Profiled::of(&serde_json::json!({"placebench": {"profiled": v}})).unwrap();
        let old = of(serde_json::json!({"peers": {"pairs": 3, "efficiency": 0.6}}));
        assert_eq!(old.efficiencies(false), Some([0.6, 0.6, 0.6]));
        assert_eq!(old.efficiencies(true), None);
        let new =
            of(serde_json::json!({"peers": {"efficiency": 0.6}, "peers_wide": [{"groups": 3, "efficiency": 0.8}]}));
        assert_eq!(new.efficiencies(false), Some([0.6, 0.8, 0.8]));
    }
}

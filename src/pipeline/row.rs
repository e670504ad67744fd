//! A `bench validate` row as the figures and summaries read it: the fields they use, typed,
//! and every other field kept as written (rows carry many diagnostics of their run).

use serde::{Deserialize, Serialize};

/// Version of the typed fields below; rows written before it existed read as version 1.
pub const VALIDATE_SCHEMA_VERSION: u32 = 1;

fn version_one() -> u32 {
    1
}

/// One measured (or failed) plan.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ValidateRow {
    #[serde(default = "version_one")]
    pub schema_version: u32,
    /// `measured`, or `error` with a message.
    #[serde(default)]
    pub status: String,
    /// `throughput`, `latency` or `hios`.
    #[serde(default)]
    pub kind: Option<String>,
    /// `steady` (pipelines in steady state), `stream`, or `sample` (one at a time).
    #[serde(default)]
    pub timing: Option<String>,
    /// The GPU's name as the driver gives it.
    #[serde(default)]
    pub gpu: Option<String>,
    #[serde(default)]
    pub gpus_present: Option<u64>,
    #[serde(default)]
    pub devices_used: Option<u64>,
    /// What ran: real kernels, or `calibrated busy kernels ...`.
    #[serde(default)]
    pub kernels: Option<String>,
    /// Replayed as CUDA graphs.
    #[serde(default)]
    pub graphs: Option<bool>,
    /// The row `bench calibrate` scaled the profile to.
    #[serde(default)]
    pub calibration_row: Option<bool>,
    #[serde(default)]
    pub profile_calibrated: Option<bool>,
    /// Add kernels the executor ran beyond the plan (rows measured before that was fixed).
    #[serde(default)]
    pub extra_add_kernels: Option<u64>,
    #[serde(default)]
    pub measured_ms: Option<f64>,
    /// The workload's own model (max-load, latency, the schedule simulator).
    #[serde(default)]
    pub predicted_ms: Option<f64>,
    /// The executor's issue model.
    #[serde(default)]
    pub issue_model_ms: Option<f64>,
    #[serde(default)]
    pub roofline_predicted_ms: Option<f64>,
    /// Every other field, as written.
    #[serde(flatten)]
    pub rest: serde_json::Map<String, serde_json::Value>,
}

impl ValidateRow {
    /// A prediction by name (`predicted_ms`, `issue_model_ms`, `roofline_predicted_ms`).
    pub fn prediction(&self, key: &str) -> Option<f64> {
        match key {
            "predicted_ms" => self.predicted_ms,
            "issue_model_ms" => self.issue_model_ms,
            "roofline_predicted_ms" => self.roofline_predicted_ms,
            _ => None,
        }
    }
}

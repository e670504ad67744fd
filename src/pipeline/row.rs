//! A `bench validate` row: as the figures, summaries and `bench calibrate` read it (the fields
//! they use, typed, every other field kept as written: rows carry many diagnostics of their
//! run), and the typed parts `bench validate` writes into one (the measurement, the
//! predictions, skips and errors, what a diagnostic run adds). A row is an open record: a
//! remodelled row keeps every field it had, in its place, and only its predictions change.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// Version of the typed fields below; rows written before it existed read as version 1.
pub const VALIDATE_SCHEMA_VERSION: u32 = 1;

/// One measured (or failed) plan.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ValidateRow {
    #[serde(default = "crate::results::version_one")]
    pub schema_version: u32,
    /// `measured`, `skipped` or `error` (with a message).
    #[serde(default)]
    pub status: String,
    /// The plan's file name.
    #[serde(default)]
    pub file: Option<String>,
    /// The content hash of the workload measured.
    #[serde(default)]
    pub workload_hash: Option<String>,
    #[serde(default)]
    pub algorithm: Option<String>,
    #[serde(default)]
    pub gpus_in_plan: Option<u64>,
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
    /// Per GPU, the graphs one sample replays (graph replay only).
    #[serde(default)]
    pub graphs_per_sample: Option<Vec<u64>>,
    /// Per GPU, its stages of parallel streams (graph replay only).
    #[serde(default)]
    pub concurrent_stages: Option<Vec<u64>>,
    /// Every other field, as written.
    #[serde(flatten)]
    pub rest: serde_json::Map<String, serde_json::Value>,
}

impl ValidateRow {
    /// The typed view of a row as written (`None`: a field of the wrong type).
    pub fn of(row: &Value) -> Option<ValidateRow> {
        serde_json::from_value(row.clone()).ok()
    }

    pub fn measured(&self) -> bool {
        self.status == "measured"
    }

    /// Measured with a time-stamped trace (which slows a replay).
    pub fn traced(&self) -> bool {
        self.rest.contains_key("trace")
    }

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

/// Sets each field of `part` (a struct of row fields) in `row`: a field the row has keeps its
/// place, a new one comes last, so that a remodelled row reads as it did but for its values.
pub fn set_fields(row: &mut Value, part: &impl Serialize) {
    let Ok(Value::Object(fields)) = serde_json::to_value(part) else { return };
    if !row.is_object() {
        *row = Value::Object(Map::new());
    }
    let map = row.as_object_mut().expect("an object");
    for (k, v) in fields {
        map.insert(k, v);
    }
}

/// A new row (or nested record) holding the fields of `part`.
pub fn new_row(part: &impl Serialize) -> Value {
    let mut row = Value::Null;
    set_fields(&mut row, part);
    row
}

/// What a measured row records of its plan and run, written first.
#[derive(Debug, Clone, Serialize)]
pub struct Measured<'a> {
    pub schema_version: u32,
    pub workload: &'a str,
    pub workload_hash: &'a str,
    pub file: Option<String>,
    pub kind: &'a str,
    pub algorithm: &'a str,
    pub status: &'static str,
    pub kernels: &'a str,
    pub gpus_in_plan: usize,
    pub devices_used: usize,
    pub gpu: &'a str,
    pub gpus_present: usize,
    pub driver: &'a str,
    pub peer_access: bool,
    pub measured_ms: f64,
    pub timing: &'static str,
    pub repeats_ms: &'a [f64],
    /// (slowest − fastest repeat) / measured.
    pub spread: f64,
    pub samples: usize,
    /// Pipelines in steady state: the stream the steady state was taken from.
    pub stream: Option<StreamTimes<'a>>,
    pub issue_ms_per_sample: f64,
    pub graphs: bool,
    pub copy_kernel: crate::gpu::plan::CopyKernel,
    pub date_utc: String,
    pub extra_add_kernels: u64,
}

/// A stream of samples, fill and drain included, per sample.
#[derive(Debug, Clone, Serialize)]
pub struct StreamTimes<'a> {
    pub ms: f64,
    pub repeats_ms: &'a [f64],
}

/// Every prediction of a row, with its error against `measured_ms`, written after the
/// measurement and again by each remodelling.
#[derive(Debug, Clone, Serialize)]
pub struct Predictions {
    pub predicted_ms: f64,
    pub relative_error: f64,
    pub roofline_predicted_ms: Option<f64>,
    pub roofline_relative_error: Option<f64>,
    pub issue_model_ms: Option<f64>,
    pub issue_model_relative_error: Option<f64>,
    pub issue_model_host_ms: Option<f64>,
    /// The workload the predictions come from.
    pub model_workload_hash: String,
    pub calibration_row: bool,
    pub profile_calibrated: bool,
    pub within_memory: bool,
    /// Rows measured before the executor told inputs from waits ran add kernels beyond their
    /// plan; set only where a row lacks it (rows measured since say 0).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub extra_add_kernels: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub graphs_per_sample: Option<Vec<usize>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub concurrent_stages: Option<Vec<usize>>,
}

/// A plan not run (no latency to predict, infeasible), or one whose run failed.
#[derive(Debug, Clone, Serialize)]
pub struct NotMeasured<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub workload: Option<&'a str>,
    pub file: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kind: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub algorithm: Option<&'a str>,
    /// `skipped` or `error`.
    pub status: &'static str,
    pub message: String,
}

/// `--stage-times`: each concurrent stage timed alone, and the whole schedule on one GPU.
#[derive(Debug, Clone, Serialize)]
pub struct StageTimes {
    pub stages: Vec<crate::gpu::StageTime>,
    pub schedule_alone: Option<ScheduleAlone>,
}

#[derive(Debug, Clone, Serialize)]
pub struct ScheduleAlone {
    pub side_by_side_ms: f64,
    pub one_stream_ms: f64,
    pub method: &'static str,
}

/// `--trace`: the traced segments, each beside the issue model's (`predicted`).
#[derive(Debug, Clone, Serialize)]
pub struct Trace<'a> {
    pub segments: &'a [crate::gpu::SegmentTimes],
    pub method: &'static str,
}

/// What a run in processes of their own adds to a measured row.
#[derive(Debug, Clone, Serialize)]
pub struct OwnProcess {
    pub own_process: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct Processes {
    /// Every process's measured time; the row is the median's.
    pub processes_ms: Vec<f64>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Remodelled {
    pub remodelled_utc: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct StagesError {
    pub stages_error: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A remodelled field keeps its place; a new one comes last.
    #[test]
    fn set_fields_keeps_the_order_of_a_row() {
        let mut row = serde_json::json!({"a": 1, "processes_ms": [1.0], "b": 2});
        set_fields(&mut row, &Processes { processes_ms: vec![3.0] });
        set_fields(&mut row, &OwnProcess { own_process: true });
        assert_eq!(row.to_string(), r#"{"a":1,"processes_ms":[3.0],"b":2,"own_process":true}"#);
    }
}

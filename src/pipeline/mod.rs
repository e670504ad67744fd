//! The GPU pipeline as a library: profiling a zoo model's operators on real GPUs
//! ([`profile`]), anchoring a profile to measured runs ([`calibrate`]), running placements and
//! schedules and comparing measured with predicted time, or recomputing the predictions of an
//! earlier run without a GPU ([`validate`]). The CLI parses [`options`] and calls these.

pub mod calibrate;
pub mod options;
pub mod profile;
pub mod provenance;
pub mod row;
pub mod validate;

use crate::error::{Error, Result};
use crate::workload::{parse_workload, Workload};
use serde_json::Value;
use std::path::Path;

/// Prefixes a GPU error with the command that met it.
pub fn gpu_err(what: &str) -> impl Fn(Error) -> Error + '_ {
    move |e| Error::Gpu(format!("{what}: {e}"))
}

pub fn now() -> String {
    humantime::format_rfc3339_seconds(std::time::SystemTime::now()).to_string()
}

/// A workload read with its raw JSON (for the zoo provenance).
pub fn read_workload(path: &Path) -> Result<(Workload, Value)> {
    let bytes = crate::workload::read_file(path)?;
    let name = crate::workload::file_stem(path);
    let w = parse_workload(&bytes, path, &name)?;
    let v: Value = serde_json::from_slice(&bytes).map_err(|e| Error::input(path, "file", e.to_string()))?;
    Ok((w, v))
}

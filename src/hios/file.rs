//! The schedule file: what `bench hios` writes per cell under `schedules/` and `bench validate
//! --schedule` reads back, as one typed, versioned struct.

use super::{Schedule, Timeline};
use crate::error::{Error, Result};
use crate::workload::Workload;
use indexmap::IndexMap;
use serde::{Deserialize, Serialize};
use std::path::Path;

/// Version of the fields below; files written before it existed read as version 1.
pub const SCHEDULE_SCHEMA_VERSION: u32 = 1;

/// A schedule with node ids (the workload's `id`s, not indices), its simulated latency and
/// timeline.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ScheduleFile {
    #[serde(default = "crate::results::version_one")]
    pub schema_version: u32,
    pub workload: String,
    pub algorithm: String,
    pub gpus: usize,
    /// The schedule simulator's latency (ms): for a calibrated workload the executor's issue
    /// model's, while `timeline` keeps the stage formula's times.
    pub latency: f64,
    /// GPU of each node, by node id, in node order.
    pub gpu_of: IndexMap<String, usize>,
    /// Per GPU its stages; a stage is groups run at once, a group node ids run in turn.
    pub stages: Vec<Vec<Vec<Vec<i64>>>>,
    #[serde(default)]
    pub timeline: Vec<TimelineStage>,
}

/// When one stage ran in the simulator.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TimelineStage {
    pub gpu: usize,
    pub start: f64,
    pub end: f64,
    pub ops: Vec<i64>,
}

impl ScheduleFile {
    /// The file of `schedule` of workload `w` by `algorithm`, simulated as `timeline`.
    pub fn new(w: &Workload, algorithm: &str, schedule: &Schedule, timeline: &Timeline) -> ScheduleFile {
        let id = |v: usize| w.nodes[v].id;
        let ids = |ops: &[usize]| ops.iter().map(|&v| id(v)).collect::<Vec<i64>>();
        ScheduleFile {
            schema_version: SCHEDULE_SCHEMA_VERSION,
            workload: w.name.clone(),
            algorithm: algorithm.to_owned(),
            gpus: schedule.gpus,
            latency: timeline.latency,
            gpu_of: schedule.gpu_of.iter().enumerate().map(|(v, &g)| (id(v).to_string(), g)).collect(),
            stages: schedule
                .stages
                .iter()
                .map(|st| st.iter().map(|s| s.iter().map(|g| ids(g)).collect()).collect())
                .collect(),
            timeline: timeline
                .stages
                .iter()
                .map(|(gpu, start, end, ops)| TimelineStage { gpu: *gpu, start: *start, end: *end, ops: ids(ops) })
                .collect(),
        }
    }

    /// Reads a schedule file; a malformed one or a newer version is an error naming the file.
    pub fn load(path: &Path) -> Result<ScheduleFile> {
        ScheduleFile::parse(&crate::workload::read_file(path)?, path)
    }

    /// A schedule file given as bytes; `path` is only used in messages.
    pub fn parse(bytes: &[u8], path: &Path) -> Result<ScheduleFile> {
        let text = crate::workload::utf8_text(bytes, path)?;
        let f: ScheduleFile = crate::strict_json::typed(text)
            .map_err(|e| Error::input(path, format!("line {} column {}", e.line(), e.column()), e.to_string()))?;
        if f.schema_version > SCHEDULE_SCHEMA_VERSION {
            return Err(Error::input(
                path,
                "schema_version",
                format!("{} is newer than this build reads ({SCHEDULE_SCHEMA_VERSION})", f.schema_version),
            ));
        }
        Ok(f)
    }

    /// The schedule over `w`'s node indices, checked (every node once, on its GPU).
    pub fn schedule(&self, w: &Workload, path: &Path) -> Result<Schedule> {
        let bad = |field: &str, m: String| Error::input(path, field, m);
        // Each GPU has its list of stages; a count with no lists behind it would size
        // everything downstream (a simulator, an executor) by a number from the file alone.
        if self.gpus == 0 || self.stages.len() != self.gpus {
            return Err(bad("gpus", format!("{} GPUs, but stages for {}", self.gpus, self.stages.len())));
        }
        let index = |id: i64| w.index_of(id).ok_or_else(|| bad("stages", format!("unknown node {id}")));
        let mut gpu_of = vec![usize::MAX; w.len()];
        for (id, &g) in &self.gpu_of {
            let i = id
                .parse::<i64>()
                .ok()
                .and_then(|i| w.index_of(i))
                .ok_or_else(|| bad("gpu_of", format!("unknown node {id}")))?;
            gpu_of[i] = g;
        }
        let mut stages = Vec::with_capacity(self.stages.len());
        for gpu in &self.stages {
            let mut list = Vec::with_capacity(gpu.len());
            for stage in gpu {
                list.push(
                    stage
                        .iter()
                        .map(|g| g.iter().map(|&id| index(id)).collect::<Result<Vec<_>>>())
                        .collect::<Result<Vec<_>>>()?,
                );
            }
            stages.push(list);
        }
        let s = Schedule { gpus: self.gpus, gpu_of, stages };
        s.check(w.len(), usize::MAX).map_err(|e| bad("stages", e.to_string()))?;
        Ok(s)
    }
}

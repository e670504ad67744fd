//! A run's timeline for its run file and figure: every unit of work as a bar on its lane (a
//! pipeline node, or under concurrent streams a task's stream), paired from the log's starts
//! and ends.

use super::model::{Plan, Runtime};
use super::sim::Event;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;

/// One unit of work: layers `first..end` of a job on a lane.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Segment {
    pub lane: usize,
    /// The task's place among the plan's tasks (in a run file, among the set's).
    pub task: usize,
    pub job: usize,
    pub first: usize,
    pub end: usize,
    pub start_ms: f64,
    pub end_ms: f64,
    /// The job ran past its WCET in this unit and was demoted.
    #[serde(default)]
    pub overrun: bool,
}

/// The lanes' names: `node k (gpu+c cores | c cores)`, or one stream per task.
pub fn lanes(plan: &Plan) -> Vec<String> {
    if plan.runtime == Runtime::Multistream {
        return plan.tasks.iter().map(|t| format!("stream {}", t.name)).collect();
    }
    plan.config
        .iter()
        .enumerate()
        .map(|(k, n)| format!("node {k} ({}{}c)", if n.gpu { "gpu+" } else { "" }, n.cores))
        .collect()
}

/// The units that start before `until_ms` (at most `cap` of them), in start order.
pub fn segments(plan: &Plan, events: &[Event], until_ms: f64, cap: usize) -> Vec<Segment> {
    let streams = plan.runtime == Runtime::Multistream;
    let lane = |task: usize, stage: usize| if streams { task } else { stage };
    let mut open: HashMap<usize, usize> = HashMap::new();
    let mut out: Vec<Segment> = Vec::new();
    for e in events {
        match *e {
            Event::Start { t, task, job, stage, first, end, .. } if t < until_ms && out.len() < cap => {
                open.insert(lane(task, stage), out.len());
                out.push(Segment {
                    lane: lane(task, stage),
                    task,
                    job,
                    first,
                    end,
                    start_ms: t,
                    end_ms: f64::NAN,
                    overrun: false,
                });
            }
            Event::End { t, task, stage, .. } => {
                if let Some(s) = open.remove(&lane(task, stage)) {
                    out[s].end_ms = t;
                }
            }
            Event::Overrun { task, job, .. } => {
                if let Some(s) = out.iter_mut().rev().find(|s| s.task == task && s.job == job) {
                    s.overrun = true;
                }
            }
            _ => {}
        }
    }
    // A unit still running when the log ends is drawn to the last instant logged.
    let last = events.last().map_or(0.0, Event::t);
    for s in out.iter_mut().filter(|s| s.end_ms.is_nan()) {
        s.end_ms = last;
    }
    out
}

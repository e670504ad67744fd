//! The one schedule simulator: every GPU runs its stages in order; a stage starts when its GPU
//! is free and every input of its operators has arrived (a producer on another GPU adds its
//! transfer cost), lasts [`Problem::stage_time`], and all its operators finish with it. Inside
//! a stage only a group's own earlier operators may feed an operator (one stream runs them in
//! order). A calibrated problem's latency is its issue model's instead (`super::calibrated`):
//! the timeline keeps the stage formula's times, the latency the model's.

use super::{Problem, Schedule};
use crate::error::{Error, Result};

/// When each stage ran.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct Timeline {
    pub latency: f64,
    /// The latency by the stage formula (the stages' times): `latency` unless the problem is
    /// calibrated.
    pub stage_formula_latency: f64,
    /// (gpu, start, end, operators) per stage.
    pub stages: Vec<(usize, f64, f64, Vec<usize>)>,
}

/// Simulates a schedule; fails on an invalid one (a dependency inside a stage, or stages that
/// wait on each other across GPUs).
pub fn simulate(p: &Problem, s: &Schedule) -> Result<Timeline> {
    let n = p.len();
    let mut fin = vec![f64::NAN; n];
    let mut next = vec![0usize; s.gpus];
    let mut clock = vec![0.0f64; s.gpus];
    let mut timeline = Timeline::default();
    let total: usize = s.stages.iter().map(Vec::len).sum();
    // Per operator: its (GPU, stage), its group in that stage and its place in the group.
    let mut in_stage = vec![(usize::MAX, usize::MAX); n];
    let mut place = vec![(usize::MAX, usize::MAX); n];
    for (g, stages) in s.stages.iter().enumerate() {
        for (i, stage) in stages.iter().enumerate() {
            for (j, group) in stage.iter().enumerate() {
                for (at, &v) in group.iter().enumerate() {
                    in_stage[v] = (g, i);
                    place[v] = (j, at);
                }
            }
        }
    }
    while timeline.stages.len() < total {
        let mut progressed = false;
        for g in 0..s.gpus {
            let Some(stage) = s.stages[g].get(next[g]) else { continue };
            let members: Vec<usize> = stage.iter().flatten().copied().collect();
            let mut start = clock[g];
            let mut ready = true;
            for &v in &members {
                for &q in &p.pred[v] {
                    if in_stage[q] == in_stage[v] {
                        // Earlier in the same group: it runs first on the same stream.
                        if place[q].0 == place[v].0 && place[q].1 < place[v].1 {
                            continue;
                        }
                        return Err(Error::Schedule(format!(
                            "operator {v} shares a stage with its input {q} (not before it in one group)"
                        )));
                    }
                    if fin[q].is_nan() {
                        ready = false;
                        break;
                    }
                    let arrive = fin[q] + if s.gpu_of[q] != g { p.c[q] } else { 0.0 };
                    start = start.max(arrive);
                }
                if !ready {
                    break;
                }
            }
            if !ready {
                continue;
            }
            let end = start + p.stage_time(stage);
            for &v in &members {
                fin[v] = end;
            }
            clock[g] = end;
            next[g] += 1;
            timeline.stages.push((g, start, end, members));
            progressed = true;
        }
        if !progressed {
            return Err(Error::Schedule("stages wait on each other across GPUs: the schedule deadlocks".into()));
        }
    }
    if let Some(v) = fin.iter().position(|f| f.is_nan()) {
        return Err(Error::Schedule(format!("operator {v} is not scheduled")));
    }
    timeline.stage_formula_latency = fin.iter().copied().fold(0.0, f64::max);
    timeline.latency = match &p.model {
        Some(m) => m.latency(s, p.forked)?,
        None => timeline.stage_formula_latency,
    };
    Ok(timeline)
}

//! The calibrated cost of a schedule. For a zoo workload whose profile `bench calibrate`
//! anchored to a measured run, a schedule's latency is what the executor's issue model
//! (`crate::gpu::issue`) predicts for it replayed as CUDA graphs one sample at a time: the
//! concurrency efficiency of each stage, the fork and join per extra stream, the share of the
//! calibration's gain a forking GPU loses, a graph launch per later segment, copies on the
//! copy stream. `bench validate --graphs` prints the same prediction beside the measurement,
//! so a scheduler optimising this cost optimises what the GPU was measured to do.

use super::Schedule;
use crate::error::{Error, Result};
use crate::gpu::issue::{self, Costs, Exchange, OpCosts};
use crate::gpu::{plan, Mode};
use crate::workload::Workload;
use crate::zoo::export::Granularity;
use crate::zoo::graph::OpGraph;
use serde_json::Value;

/// The issue model of one calibrated, operator-granularity zoo workload.
pub struct CalibratedModel {
    workload: Workload,
    graph: OpGraph,
    ops: OpCosts,
    exchange: Option<Exchange>,
    stage_costs: StageCosts,
}

impl std::fmt::Debug for CalibratedModel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "CalibratedModel({})", self.workload.name)
    }
}

/// What a stage of several groups costs on a calibrated GPU, as the issue model charges it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct StageCosts {
    /// The concurrency efficiency η of the whole model on one GPU, by a stage's group count.
    pub efficiency: crate::gpu::concurrency::ByGroups,
    /// Forking into streams and joining them, per group beyond the first (ms).
    pub fork_join_ms: f64,
    /// What every operator of a GPU whose sample forks takes against its calibrated time.
    pub forked_factor: f64,
}

impl CalibratedModel {
    /// The model of `w` (parsed from `v`), or `None` when `w` is not a calibrated profile of a
    /// zoo model at operator granularity (its nodes then are no operators the executor runs).
    pub fn of(w: &Workload, v: &Value) -> Result<Option<CalibratedModel>> {
        let Some(zoo) = crate::pipeline::validate::zoo_of(w, v)? else { return Ok(None) };
        if zoo.granularity != Granularity::Op {
            return Ok(None);
        }
        let Some(profile) = zoo.profile else { return Ok(None) };
        if profile.calibration.is_none() {
            return Ok(None);
        }
        let mut model = CalibratedModel {
            workload: w.clone(),
            exchange: profile.exchange(true),
            ops: profile.ops,
            graph: zoo.graph,
            stage_costs: StageCosts {
                efficiency: [1.0; crate::gpu::concurrency::WIDEST - 1],
                fork_join_ms: 0.0,
                forked_factor: 1.0,
            },
        };
        // The whole model on one GPU, one stream: what its stages cost on that GPU.
        let one = Schedule::sequential_on(vec![0; w.nodes.len()], 1, &w.topological_order());
        let (_, c) = model.plan_and_costs(&one)?;
        model.stage_costs = StageCosts {
            efficiency: c.concurrency.first().copied().unwrap_or([1.0; crate::gpu::concurrency::WIDEST - 1]),
            fork_join_ms: c.fork_join_ms,
            forked_factor: c.forked_factor,
        };
        Ok(Some(model))
    }

    fn plan_and_costs(&self, s: &Schedule) -> Result<(plan::Plan, Costs)> {
        let plan = plan::schedule(&self.workload, s, Some(self.graph.clone()))?;
        let costs = Costs::of_ops(&plan, &self.ops, self.exchange, true, s.gpus.max(1), Mode::Latency);
        Ok((plan, costs))
    }

    /// The issue model's latency of `s` (ms). `forked`: as if every GPU's sample forked, each
    /// operator at the forked factor whatever its stages (the world in which a merge is judged
    /// by what it gains once the first fork has been paid for).
    pub fn latency(&self, s: &Schedule, forked: bool) -> Result<f64> {
        let (plan, mut costs) = self.plan_and_costs(s)?;
        if forked {
            for ms in &mut costs.gpu_ms {
                *ms *= costs.forked_factor;
            }
            costs.forked_factor = 1.0;
        }
        let l = issue::predict(&plan, &costs, Mode::Latency, s.gpus.max(1), 1).per_sample_ms;
        if l.is_finite() {
            Ok(l)
        } else {
            Err(Error::Schedule(
                "the executor's segments wait on each other across GPUs: the schedule deadlocks".into(),
            ))
        }
    }

    /// The stage costs of the whole model on one GPU (what the schedulers' stage time uses).
    pub fn stage_costs(&self) -> StageCosts {
        self.stage_costs
    }
}

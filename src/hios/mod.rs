//! HIOS (Kundu & Shu, Cluster 2023): scheduling an inference graph onto K GPUs and, inside
//! each GPU, onto concurrent streams; with its baselines and one schedule simulator.
//!
//! A [`Problem`] is a DAG with, per operator, its time alone on a GPU `w` (ms), the share of a
//! GPU it can occupy alone `u` (0..1], and the time to send its output to another GPU `c`.
//! A [`Schedule`] puts every operator on a GPU and lists each GPU's stages in order; a stage is
//! a set of groups run concurrently, one stream each, a group's operators one after another.
//! [`simulate`] gives the latency of any schedule; every algorithm's schedule is re-simulated
//! and must match what the algorithm claims.

pub mod algorithms;
pub mod calibrated;
pub mod family;
pub mod file;
mod simulate;
pub mod sweep;

pub use calibrated::CalibratedModel;
pub use simulate::{simulate, Timeline};

use crate::workload::Workload;
use serde::Serialize;
use std::sync::Arc;

/// How a concurrent stage's time follows from its groups.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub enum Contention {
    /// `max(Σ w·u, max w) + β · max(0, Σ u − 1) · min w`: groups share the GPU by their
    /// occupancy, a stage is never shorter than its longest group, and oversubscribing the GPU
    /// costs extra (β), so two large operators run together are slower than one after the
    /// other.
    Shared { beta: f64 },
    /// The HIOS simulator's formula: `α Σ w + (1 − α) max(Σ w·u, max w)`, α = 0.5 (it can only
    /// help or break even).
    Reference,
    /// A calibrated profile's stages, as the executor's issue model charges them under graph
    /// replay: `serial − η (serial − shared)` (the shared formula with the default β, η by the
    /// stage's group count) plus the fork and join of each group beyond the first.
    Calibrated { efficiency: crate::gpu::concurrency::ByGroups, fork_join_ms: f64 },
}

/// The oversubscription cost of [`Contention::Shared`] unless told otherwise.
pub const DEFAULT_BETA: f64 = 0.1;

impl Default for Contention {
    fn default() -> Self {
        Contention::Shared { beta: DEFAULT_BETA }
    }
}

/// [`Contention::Shared`]'s time of groups run at once, from each group's time alone `gw`
/// and occupancy `gu`.
pub fn shared_stage_time(gw: &[f64], gu: &[f64], beta: f64) -> f64 {
    if gw.len() <= 1 {
        return gw.first().copied().unwrap_or(0.0);
    }
    let work: f64 = gw.iter().zip(gu).map(|(w, u)| w * u).sum();
    let longest = gw.iter().copied().fold(0.0, f64::max);
    let over = (gu.iter().sum::<f64>() - 1.0).max(0.0);
    let shortest = gw.iter().copied().fold(f64::INFINITY, f64::min);
    work.max(longest) + beta * over * shortest
}

/// What HIOS schedules: per operator its time `w`, occupancy `u` and transfer cost `c`.
#[derive(Debug, Clone)]
pub struct Problem {
    pub name: String,
    pub w: Vec<f64>,
    pub u: Vec<f64>,
    pub c: Vec<f64>,
    pub succ: Vec<Vec<usize>>,
    pub pred: Vec<Vec<usize>>,
    /// A topological order (the builder's).
    pub order: Vec<usize>,
    pub contention: Contention,
    /// A calibrated workload's issue model: it, not the stage formula, gives a schedule's
    /// latency ([`simulate`]).
    pub model: Option<Arc<CalibratedModel>>,
    /// With a model: every GPU counted as forked, its operators at the forked factor
    /// ([`Problem::forked_world`]).
    pub forked: bool,
}

impl Problem {
    /// From any inference workload: `w` = `fpgaLatency`, `c` = the sender's edge cost, `u`
    /// the node's measured occupancy where the file records one (profiled workloads), else
    /// from its output shape (elements over what a GPU runs at once, `capacity`) where it
    /// records that, else 1 (an operator that fills the GPU).
    pub fn from_workload(w: &Workload, capacity: f64, contention: Contention) -> Problem {
        let u = w
            .nodes
            .iter()
            .map(|v| v.occupancy.unwrap_or_else(|| v.out_elements.map_or(1.0, |e| (e / capacity).clamp(0.05, 1.0))))
            .collect();
        Problem {
            name: w.name.clone(),
            w: w.nodes.iter().map(|v| v.acc_latency).collect(),
            u,
            c: w.out_cost.clone(),
            succ: w.succ.clone(),
            pred: w.pred.clone(),
            order: w.topological_order(),
            contention,
            model: None,
            forked: false,
        }
    }

    /// A calibrated workload's problem: its stages cost what the issue model charges, and a
    /// schedule's latency is the model's.
    pub fn calibrated(w: &Workload, capacity: f64, model: Arc<CalibratedModel>) -> Problem {
        let c = model.stage_costs();
        let contention = Contention::Calibrated { efficiency: c.efficiency, fork_join_ms: c.fork_join_ms };
        Problem { model: Some(model), ..Problem::from_workload(w, capacity, contention) }
    }

    /// The same problem as if every GPU's sample forked: each operator at the forked factor,
    /// the model told so. A merge of streams is then judged by what it gains once the fork
    /// has been paid for, which a pass that merges one pair at a time never sees otherwise
    /// (the first merge pays for the whole GPU). Without a model, the problem itself.
    pub fn forked_world(&self) -> Problem {
        let Some(m) = &self.model else { return self.clone() };
        let f = m.stage_costs().forked_factor;
        Problem { w: self.w.iter().map(|w| w * f).collect(), forked: true, ..self.clone() }
    }

    pub fn len(&self) -> usize {
        self.w.len()
    }

    pub fn is_empty(&self) -> bool {
        self.w.is_empty()
    }

    /// Time of one stage given its groups (each a list of operators run in sequence).
    pub fn stage_time(&self, groups: &[Vec<usize>]) -> f64 {
        let gw: Vec<f64> = groups.iter().map(|g| g.iter().map(|&v| self.w[v]).sum()).collect();
        if groups.len() <= 1 {
            return gw.first().copied().unwrap_or(0.0);
        }
        // A group's occupancy: its operators' occupancies weighted by time.
        let gu: Vec<f64> = groups
            .iter()
            .zip(&gw)
            .map(|(g, &t)| if t > 0.0 { g.iter().map(|&v| self.w[v] * self.u[v]).sum::<f64>() / t } else { 0.0 })
            .collect();
        match self.contention {
            Contention::Shared { beta } => shared_stage_time(&gw, &gu, beta),
            Contention::Reference => {
                let work: f64 = gw.iter().zip(&gu).map(|(w, u)| w * u).sum();
                let longest = gw.iter().copied().fold(0.0, f64::max);
                0.5 * gw.iter().sum::<f64>() + 0.5 * work.max(longest)
            }
            Contention::Calibrated { efficiency, fork_join_ms } => {
                let efficiency = crate::gpu::concurrency::at(&efficiency, groups.len());
                crate::gpu::concurrency::stage_time(&gw, &gu, efficiency) + fork_join_ms * (groups.len() - 1) as f64
            }
        }
    }

    /// Longest path with node and edge weights (all edges cut): the latency with one GPU per
    /// operator and free concurrency, a lower bound for transfers that cost nothing.
    pub fn critical_path(&self, with_transfers: bool) -> f64 {
        let mut fin = vec![0.0f64; self.len()];
        for &v in &self.order {
            let ready =
                self.pred[v].iter().map(|&p| fin[p] + if with_transfers { self.c[p] } else { 0.0 }).fold(0.0, f64::max);
            fin[v] = ready + self.w[v];
        }
        fin.into_iter().fold(0.0, f64::max)
    }
}

/// A stage: groups that run at the same time, one stream each.
pub type Stage = Vec<Vec<usize>>;

/// GPU per operator and each GPU's stages in order.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Schedule {
    pub gpus: usize,
    pub gpu_of: Vec<usize>,
    pub stages: Vec<Vec<Stage>>,
}

impl Schedule {
    /// One operator per stage, each GPU's operators in `order`.
    pub fn sequential_on(gpu_of: Vec<usize>, gpus: usize, order: &[usize]) -> Schedule {
        let mut stages = vec![Vec::new(); gpus];
        for &v in order {
            stages[gpu_of[v]].push(vec![vec![v]]);
        }
        Schedule { gpus, gpu_of, stages }
    }

    /// The same order with every stage of several groups run as one stage per group, one
    /// after another (its groups are independent, so any order of them is valid).
    pub fn dissolved(&self) -> Schedule {
        let stages = self.stages.iter().map(|st| st.iter().flat_map(|s| s.iter().map(|g| vec![g.clone()])).collect());
        Schedule { gpus: self.gpus, gpu_of: self.gpu_of.clone(), stages: stages.collect() }
    }

    /// Checks that every operator appears exactly once, on its GPU, and that no GPU runs more
    /// than `max_streams` groups at once.
    pub fn check(&self, n: usize, max_streams: usize) -> crate::Result<()> {
        let bad = |m: String| Err(crate::Error::Schedule(m));
        let mut seen = vec![false; n];
        for (g, stages) in self.stages.iter().enumerate() {
            for stage in stages {
                if stage.len() > max_streams {
                    return bad(format!("gpu {g}: a stage of {} streams > {max_streams}", stage.len()));
                }
                for &v in stage.iter().flatten() {
                    if v >= n || seen[v] {
                        return bad(format!("operator {v} scheduled twice or unknown"));
                    }
                    if self.gpu_of[v] != g {
                        return bad(format!("operator {v} listed on gpu {g} but placed on {}", self.gpu_of[v]));
                    }
                    seen[v] = true;
                }
            }
        }
        match seen.iter().position(|s| !s) {
            Some(v) => bad(format!("operator {v} not scheduled")),
            None => Ok(()),
        }
    }
}

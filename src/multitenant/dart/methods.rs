//! The pipeline family's methods, one plug-in shape: DART's choice, the baselines that
//! restrict its space or search it exhaustively, and the baselines that run another runtime
//! without admission (`sequential`, `gpu-multistream`, `np-edf`). Adding one: a type
//! implementing [`PipelineMethod`] and one line in the registry.

use super::choose::{choose, choose_among, exhaustive, score, utilisation, Choice};
use super::configs::candidates;
use super::mapping::map_all;
use super::model::{Node, Platform, Runtime, Task};
use super::rta::{analyse_blocking, Analysis};
use crate::family::NotApplicable;

pub trait PipelineMethod: Sync {
    fn name(&self) -> &'static str;
    fn summary(&self) -> &'static str;
    /// Why it does not apply to the set, if it does not (a skipped row).
    fn applies(&self, _p: &Platform, _tasks: &[Task]) -> Result<(), NotApplicable> {
        Ok(())
    }
    /// Its configuration and cuts for the set, or none when it admits no configuration.
    fn choose(&self, p: &Platform, tasks: &[Task]) -> Option<Choice>;
    /// The runtime its choice runs under.
    fn runtime(&self) -> Runtime {
        Runtime::FixedPriority
    }
    /// Whether it admits sets by an analysis (else it runs every set, and its rows report what
    /// was observed: misses are its result, not a failure).
    fn admits(&self) -> bool {
        true
    }
}

pub struct Dart;
pub struct OneNode;
pub struct NoDataParallel;
pub struct Exhaustive;

impl PipelineMethod for Dart {
    fn name(&self) -> &'static str {
        "dart"
    }
    fn summary(&self) -> &'static str {
        "DART: every candidate pipeline, stages cut by the balancing DP, admitted by response-time analysis, least weighted score"
    }
    fn choose(&self, p: &Platform, tasks: &[Task]) -> Option<Choice> {
        choose(p, tasks)
    }
}

impl PipelineMethod for OneNode {
    fn name(&self) -> &'static str {
        "one-node"
    }
    fn summary(&self) -> &'static str {
        "no pipeline: the best single node (the GPU with every core, or every core), admitted by the same analysis"
    }
    fn choose(&self, p: &Platform, tasks: &[Task]) -> Option<Choice> {
        choose_among(p, tasks, candidates(p).into_iter().filter(|c| c.len() == 1))
    }
}

impl PipelineMethod for NoDataParallel {
    fn name(&self) -> &'static str {
        "no-data-parallel"
    }
    fn summary(&self) -> &'static str {
        "pipelines of single cores and the GPU with its issuing core: no layer runs data-parallel (other cores idle)"
    }
    fn choose(&self, p: &Platform, tasks: &[Task]) -> Option<Choice> {
        let q = Platform { idle_cores: true, ..p.clone() };
        choose_among(p, tasks, candidates(&q).into_iter().filter(|c| c.iter().all(|n| n.cores == 1)))
    }
}

pub struct SequentialGpu;
pub struct GpuMultistream;
pub struct NpEdf;

/// Every task whole on the GPU node with every core.
fn whole_on_gpu(p: &Platform, tasks: &[Task], analysis: impl Fn(&[Node], &[Vec<usize>]) -> Analysis) -> Choice {
    let config = vec![Node { gpu: true, cores: p.cores }];
    let cuts: Vec<Vec<usize>> = tasks.iter().map(|t| vec![t.layers.len()]).collect();
    let analysis = analysis(&config, &cuts);
    let max_util = utilisation(p, tasks, &config, &cuts).into_iter().fold(0.0, f64::max);
    Choice { score: score(tasks, &analysis), config, cuts, analysis, max_util }
}

fn needs_gpu(p: &Platform) -> Result<(), NotApplicable> {
    if p.gpus == 0 {
        return Err(NotApplicable("runs every DNN on the GPU: the machine has none".into()));
    }
    Ok(())
}

impl PipelineMethod for SequentialGpu {
    fn name(&self) -> &'static str {
        "sequential"
    }
    fn summary(&self) -> &'static str {
        "one DNN at a time on the GPU, real time first by priority, no admission (its bound reported where it holds)"
    }
    fn applies(&self, p: &Platform, _tasks: &[Task]) -> Result<(), NotApplicable> {
        needs_gpu(p)
    }
    fn choose(&self, p: &Platform, tasks: &[Task]) -> Option<Choice> {
        Some(whole_on_gpu(p, tasks, |cfg, cuts| analyse_blocking(p, tasks, cfg, cuts, true)))
    }
    fn runtime(&self) -> Runtime {
        Runtime::Sequential
    }
    fn admits(&self) -> bool {
        false
    }
}

impl PipelineMethod for GpuMultistream {
    fn name(&self) -> &'static str {
        "gpu-multistream"
    }
    fn summary(&self) -> &'static str {
        "every DNN on the GPU on a stream of its own, all at once, real time on high-priority streams, no admission"
    }
    fn applies(&self, p: &Platform, _tasks: &[Task]) -> Result<(), NotApplicable> {
        needs_gpu(p)
    }
    fn choose(&self, p: &Platform, tasks: &[Task]) -> Option<Choice> {
        Some(whole_on_gpu(p, tasks, |cfg, cuts| Analysis::none(p, tasks, cfg, cuts)))
    }
    fn runtime(&self) -> Runtime {
        Runtime::Multistream
    }
    fn admits(&self) -> bool {
        false
    }
}

impl PipelineMethod for NpEdf {
    fn name(&self) -> &'static str {
        "np-edf"
    }
    fn summary(&self) -> &'static str {
        "the candidate pipeline of least node utilisation (the balancing DP's cuts), non-preemptive EDF on every node, no admission"
    }
    fn choose(&self, p: &Platform, tasks: &[Task]) -> Option<Choice> {
        let mut best: Option<Choice> = None;
        for cfg in candidates(p) {
            let (cuts, _) = map_all(p, tasks, &cfg);
            let max_util = utilisation(p, tasks, &cfg, &cuts).into_iter().fold(0.0, f64::max);
            if best.as_ref().is_none_or(|b| (max_util, cfg.len()) < (b.max_util, b.config.len())) {
                let analysis = Analysis::none(p, tasks, &cfg, &cuts);
                best = Some(Choice { score: f64::INFINITY, config: cfg, cuts, analysis, max_util });
            }
        }
        best
    }
    fn runtime(&self) -> Runtime {
        Runtime::Edf
    }
    fn admits(&self) -> bool {
        false
    }
}

/// Cut-vector combinations beyond which `exhaustive` does not run.
pub const EXHAUSTIVE_LIMIT: f64 = 2e6;

impl PipelineMethod for Exhaustive {
    fn name(&self) -> &'static str {
        "exhaustive"
    }
    fn summary(&self) -> &'static str {
        "every candidate pipeline with every cut vector of every task: the least weighted score (small sets only)"
    }
    fn applies(&self, p: &Platform, tasks: &[Task]) -> Result<(), NotApplicable> {
        let combos: f64 = candidates(p)
            .iter()
            .map(|c| tasks.iter().map(|t| all_cuts_count(t.layers.len(), c.len())).product::<f64>())
            .sum();
        if combos > EXHAUSTIVE_LIMIT {
            return Err(NotApplicable(format!(
                "{combos:.3e} configurations × cut vectors, above {EXHAUSTIVE_LIMIT:.0e}: use fewer layers (blocks) or nodes"
            )));
        }
        Ok(())
    }
    fn choose(&self, p: &Platform, tasks: &[Task]) -> Option<Choice> {
        exhaustive(p, tasks)
    }
}

/// The number of cut vectors of `layers` layers over `nodes` stages, C(layers + nodes − 1,
/// nodes − 1), as a float (it overflows quickly).
fn all_cuts_count(layers: usize, nodes: usize) -> f64 {
    (1..nodes).map(|i| (layers + i) as f64 / i as f64).product()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::multitenant::dart::choose::all_cuts;

    #[test]
    fn the_cut_count_is_the_enumeration_size() {
        for (l, k) in [(3, 1), (3, 3), (5, 4), (0, 2)] {
            assert!((all_cuts_count(l, k) - all_cuts(l, k).len() as f64).abs() < 1e-9, "{l} {k}");
        }
    }
}

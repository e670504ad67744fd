//! Choosing a configuration (the paper's Algorithm 1): every candidate configuration, every
//! task mapped by the DP, the real-time set analysed; the schedulable candidate of least
//! weighted score `W = Σ_RT (π_i / |RT|) (R_i / D_i)` wins (ties: the lower largest node
//! utilisation, then fewer nodes), or none. The test runs once after all tasks are mapped (the
//! paper's listing tests inside the task loop). `exhaustive` tries every cut vector of every
//! task on every configuration instead of the DP's (small instances).

use super::configs::candidates;
use super::mapping::map_all;
use super::model::{stage_times, Config, Cuts, Platform, Task};
use super::rta::{analyse, Analysis};

/// A chosen configuration and what it was judged by.
#[derive(Debug, Clone, PartialEq)]
pub struct Choice {
    pub config: Config,
    pub cuts: Vec<Cuts>,
    pub analysis: Analysis,
    pub score: f64,
    /// The largest node utilisation.
    pub max_util: f64,
}

/// The weighted score of an analysed set (0 without real-time tasks).
pub fn score(tasks: &[Task], a: &Analysis) -> f64 {
    let rt = tasks.iter().filter(|t| t.rt()).count().max(1) as f64;
    tasks.iter().zip(&a.response_ms).filter(|(t, _)| t.rt()).map(|(t, r)| t.weight / rt * r / t.deadline_ms).sum()
}

/// The nodes' utilisations under `cuts`.
pub fn utilisation(p: &Platform, tasks: &[Task], cfg: &[super::model::Node], cuts: &[Cuts]) -> Vec<f64> {
    let mut w = vec![0.0; cfg.len()];
    for (t, c) in tasks.iter().zip(cuts) {
        for (wk, s) in w.iter_mut().zip(stage_times(p, t, cfg, c)) {
            *wk += s / t.period_ms;
        }
    }
    w
}

fn judge(p: &Platform, tasks: &[Task], cfg: &Config, cuts: Vec<Cuts>) -> Option<Choice> {
    let analysis = analyse(p, tasks, cfg, &cuts);
    if !analysis.schedulable {
        return None;
    }
    let max_util = utilisation(p, tasks, cfg, &cuts).into_iter().fold(0.0, f64::max);
    Some(Choice { config: cfg.clone(), score: score(tasks, &analysis), cuts, analysis, max_util })
}

fn keep(best: &mut Option<Choice>, c: Choice) {
    let key = |c: &Choice| (c.score, c.max_util, c.config.len());
    if best.as_ref().is_none_or(|b| key(&c) < key(b)) {
        *best = Some(c);
    }
}

/// DART's choice on `p`, or none when no candidate is schedulable.
pub fn choose(p: &Platform, tasks: &[Task]) -> Option<Choice> {
    choose_among(p, tasks, candidates(p))
}

/// The choice among the configurations `among` (a baseline's restricted space).
pub fn choose_among(p: &Platform, tasks: &[Task], among: impl IntoIterator<Item = Config>) -> Option<Choice> {
    let mut best = None;
    for cfg in among {
        let (cuts, _) = map_all(p, tasks, &cfg);
        if let Some(c) = judge(p, tasks, &cfg, cuts) {
            keep(&mut best, c);
        }
    }
    best
}

/// Every non-decreasing cut vector of `layers` layers over `nodes` stages.
pub fn all_cuts(layers: usize, nodes: usize) -> Vec<Cuts> {
    fn go(k: usize, nodes: usize, layers: usize, cur: &mut Cuts, out: &mut Vec<Cuts>) {
        if k + 1 == nodes {
            cur.push(layers);
            out.push(cur.clone());
            cur.pop();
            return;
        }
        let from = cur.last().copied().unwrap_or(0);
        for e in from..=layers {
            cur.push(e);
            go(k + 1, nodes, layers, cur, out);
            cur.pop();
        }
    }
    let mut out = Vec::new();
    go(0, nodes, layers, &mut Vec::new(), &mut out);
    out
}

/// The least score over every configuration and every combination of cut vectors.
pub fn exhaustive(p: &Platform, tasks: &[Task]) -> Option<Choice> {
    let mut best = None;
    for cfg in candidates(p) {
        let per_task: Vec<Vec<Cuts>> = tasks.iter().map(|t| all_cuts(t.layers.len(), cfg.len())).collect();
        let mut idx = vec![0usize; tasks.len()];
        loop {
            let cuts: Vec<Cuts> = idx.iter().zip(&per_task).map(|(&i, v)| v[i].clone()).collect();
            if let Some(c) = judge(p, tasks, &cfg, cuts) {
                keep(&mut best, c);
            }
            // Next combination (odometer).
            let mut d = 0;
            while d < idx.len() {
                idx[d] += 1;
                if idx[d] < per_task[d].len() {
                    break;
                }
                idx[d] = 0;
                d += 1;
            }
            if d == idx.len() {
                break;
            }
        }
    }
    best
}

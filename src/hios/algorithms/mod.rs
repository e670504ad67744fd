//! The scheduling family's algorithms: HIOS-LP and HIOS-MR mappings with the intra-GPU stream
//! pass (the intended algorithms, with a faithful mode for the reference code's quirks), and
//! the baselines: sequential, an IOS-style single-GPU stage DP, HEFT, CPOP, and the max-load
//! DP's split. One file each; the registry lists them.
//!
//! Each returns a schedule and the latency it computed for it; the runner re-simulates.

mod blocks;
mod dp_split;
mod intra;
mod ios;
mod list;
mod lp;
mod mr;
mod reference;
mod sequential;

pub use blocks::{blocks, Block};
pub use dp_split::DpSplit;
pub use intra::intra_pass;
pub use ios::{Ios, MAX_PART as IOS_MAX_PART};
pub use list::ListSchedule;
pub use lp::{hios_lp, HiosLp};
pub use mr::{hios_mr, HiosMr};
pub use sequential::Sequential;

use super::{Problem, Schedule};
use crate::error::{Error, Result};
use crate::workload::Workload;

/// Options of the scheduling algorithms.
#[derive(Debug, Clone)]
pub struct HiosOptions {
    pub gpus: usize,
    /// Sliding window of the intra-GPU pass (the reference: 2).
    pub window: usize,
    /// Streams per GPU (the reference: 2).
    pub streams: usize,
    /// Most groups in a stage of `ios` (IOS's `max_num_groups`).
    pub max_group: usize,
    /// Most operators in a group of `ios`, run one after another (IOS's `max_group_size`).
    pub max_group_size: usize,
    /// Operators per part of `ios`'s DP (IOS's `max_part_size`).
    pub part: usize,
    /// The intended algorithms, or HIOS's code as it behaves (its optimizer or its simulator;
    /// see `docs/hios.md`).
    pub fidelity: Fidelity,
    /// Every GPU count of the sweep this cell is part of: `dp-split` answers them all from one
    /// DP table.
    pub sweep_gpus: Vec<usize>,
    /// Seconds a cell may take (none: no limit), counted from `started`.
    pub time_limit: Option<f64>,
    /// When the cell began (the runner sets it as each cell starts).
    pub started: std::time::Instant,
}

impl HiosOptions {
    /// These options for a cell starting now.
    pub fn for_cell(&self) -> HiosOptions {
        HiosOptions { started: std::time::Instant::now(), ..self.clone() }
    }

    /// A timeout once the cell's limit passed, checked between an algorithm's steps.
    pub fn check_time(&self) -> Result<()> {
        let limit = self.time_limit.filter(|t| t.is_finite());
        match limit {
            Some(t) if self.started.elapsed().as_secs_f64() > t => {
                Err(Error::TimedOut(format!("the time limit of {t} s ran out")))
            }
            _ => Ok(()),
        }
    }
}

impl Default for HiosOptions {
    fn default() -> Self {
        HiosOptions {
            gpus: 2,
            window: 2,
            streams: 2,
            max_group: 3,
            max_group_size: 1,
            part: 10,
            fidelity: Fidelity::Intended,
            sweep_gpus: Vec::new(),
            time_limit: None,
            started: std::time::Instant::now(),
        }
    }
}

/// Which HIOS the HIOS-LP/MR schedulers and the intra pass follow.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Fidelity {
    /// The algorithms as the paper intends them, on the whole graph.
    #[default]
    Intended,
    /// HIOS's real optimizer as its code behaves: block by block, builder order, the input
    /// out of every GPU's sequence, each block's exit gathered on GPU 0, HIOS-LP's trial rules
    /// and ties, HIOS-MR's minimum over all predecessors and its last operator's cheapest GPU,
    /// the intra window stuck at the first pair it rejects.
    Optimizer,
    /// HIOS's simulator's version of the same algorithms where it differs: the whole graph,
    /// real latest-start order, HIOS-MR's first predecessor, HIOS-LP's ties to the highest
    /// GPU and no trial penalty, an intra window that moves on.
    Simulator,
}

impl Fidelity {
    /// The options-column suffix of a row (empty for the intended algorithms).
    pub fn label(self) -> &'static str {
        match self {
            Fidelity::Intended => "",
            Fidelity::Optimizer => ";faithful=optimizer",
            Fidelity::Simulator => ";faithful=simulator",
        }
    }

    pub fn faithful(self) -> bool {
        self != Fidelity::Intended
    }
}

/// A schedule, the latency its algorithm computed for it, and facts for the row's notes.
#[derive(Debug, Clone)]
pub struct Scheduled {
    pub schedule: Schedule,
    pub latency: f64,
    pub notes: Vec<(String, String)>,
}

impl From<(Schedule, f64)> for Scheduled {
    fn from((schedule, latency): (Schedule, f64)) -> Self {
        Scheduled { schedule, latency, notes: Vec::new() }
    }
}

/// A scheduling method. Implementations are unit structs listed once in the registry.
pub trait Scheduler: Send + Sync {
    /// Stable id: the `--algo` value and the `algorithm` column of the results.
    fn name(&self) -> &'static str;
    /// One line for `bench list`.
    fn summary(&self) -> &'static str;
    /// Schedules `p` (built from `w`) onto `o.gpus` GPUs.
    fn schedule(&self, p: &Problem, w: &Workload, o: &HiosOptions) -> Result<Scheduled>;
}

/// Every scheduling algorithm's name, in report order.
pub fn names() -> Vec<&'static str> {
    crate::registry::schedulers().map(|s| s.name()).collect()
}

/// Runs the scheduler called `name`; returns the schedule and the latency it computed.
pub fn run(name: &str, p: &Problem, w: &Workload, o: &HiosOptions) -> Result<(Schedule, f64)> {
    let s = crate::registry::find_scheduler(name)
        .ok_or_else(|| Error::Usage(format!("unknown scheduling algorithm {name:?}; known: {}", names().join(", "))))?;
    let done = s.schedule(p, w, &HiosOptions { gpus: o.gpus.max(1), ..o.clone() })?;
    Ok((done.schedule, done.latency))
}

/// Simulates `s` (after the intra pass when `intra`) and returns it with its latency.
fn finish(p: &Problem, s: Schedule, intra: bool, o: &HiosOptions) -> Result<Scheduled> {
    o.check_time()?;
    let s = if intra { intra_pass(p, s, o)? } else { s };
    let l = super::simulate(p, &s)?.latency;
    Ok((s, l).into())
}

/// `s` with the latency its algorithm computed, `own`; on a calibrated problem, whose latency
/// is the issue model's and no sum of stage times, the model's, `own` kept as a note.
fn claimed(p: &Problem, s: Schedule, own: f64) -> Result<Scheduled> {
    if p.model.is_none() {
        return Ok((s, own).into());
    }
    let latency = super::simulate(p, &s)?.latency;
    Ok(Scheduled { schedule: s, latency, notes: vec![("stage_formula_claim".into(), own.to_string())] })
}

/// The candidate of least latency on `p` (the first of equals), with that latency.
fn least(p: &Problem, candidates: Vec<Schedule>) -> Result<(Schedule, f64)> {
    let mut best: Option<(Schedule, f64)> = None;
    for s in candidates {
        let l = super::simulate(p, &s)?.latency;
        if best.as_ref().is_none_or(|b| l < b.1) {
            best = Some((s, l));
        }
    }
    best.ok_or_else(|| Error::Schedule("no schedule to choose from".into()))
}

/// HIOS's optimizer: each block mapped by `map` on its own, then (with `intra`) its intra pass,
/// the blocks stitched.
fn optimizer(
    p: &Problem,
    o: &HiosOptions,
    map: fn(&Problem, &HiosOptions) -> Result<reference::Mapped>,
    intra: bool,
) -> Result<Scheduled> {
    blocks::per_block(p, &walk_order(p, Fidelity::Optimizer), o, |b, o| {
        let (s, mut notes) = map(b, o)?;
        let schedule = if intra {
            let (s, more) = intra::intra_block(b, s, o)?;
            notes.extend(more);
            s
        } else {
            s
        };
        let latency = super::simulate(b, &schedule)?.latency;
        Ok(Scheduled { schedule, latency, notes })
    })
}

/// The order HIOS walks operators in: LST order as intended, or (faithful) the model builder's
/// order, which the reference ends up with because its LSTs are all 0: operator ids when they
/// are topological, else the workload's topological order.
pub fn walk_order(p: &Problem, fidelity: Fidelity) -> Vec<usize> {
    if fidelity != Fidelity::Optimizer {
        return lst_order(p);
    }
    let ids_topological = (0..p.len()).all(|v| p.succ[v].iter().all(|&s| s > v));
    if ids_topological {
        (0..p.len()).collect()
    } else {
        p.order.clone()
    }
}

/// Operators by ascending latest start time of the critical-path method (all transfers paid),
/// ties in topological order: the per-GPU order HIOS intends.
pub fn lst_order(p: &Problem) -> Vec<usize> {
    let n = p.len();
    let mut eft = vec![0.0f64; n];
    for &v in &p.order {
        let est = p.pred[v].iter().map(|&q| eft[q] + p.c[q]).fold(0.0, f64::max);
        eft[v] = est + p.w[v];
    }
    let end = eft.iter().copied().fold(0.0, f64::max);
    let mut lst = vec![0.0f64; n];
    for &v in p.order.iter().rev() {
        let lft = p.succ[v].iter().map(|&s| lst[s] - p.c[v]).fold(end, f64::min);
        lst[v] = lft - p.w[v];
    }
    let mut pos = vec![0; n];
    for (i, &v) in p.order.iter().enumerate() {
        pos[v] = i;
    }
    let mut order = p.order.clone();
    order.sort_by(|&a, &b| lst[a].total_cmp(&lst[b]).then(pos[a].cmp(&pos[b])));
    order
}

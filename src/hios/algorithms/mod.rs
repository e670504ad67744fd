//! The scheduling family's algorithms: HIOS-LP and HIOS-MR mappings with the intra-GPU stream
//! pass (the intended algorithms, with a faithful mode for the reference code's quirks), and
//! the baselines: sequential, an IOS-style single-GPU stage DP, HEFT, CPOP, and the max-load
//! DP's split. One file each; the registry lists them.
//!
//! Each returns a schedule and the latency it computed for it; the runner re-simulates.

mod dp_split;
mod intra;
mod ios;
mod list;
mod lp;
mod mr;
mod sequential;

pub use dp_split::DpSplit;
pub use intra::intra_pass;
pub use ios::Ios;
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
    /// Largest stage of the IOS-style DP, and operators per DP part.
    pub max_group: usize,
    pub part: usize,
    /// Reproduce the reference code's quirks instead of the intended algorithms: builder order
    /// for LST order, the source's weight left out of path lengths, HIOS-MR looking at the first
    /// predecessor only, and the intra window stuck at the first pair it rejects (see
    /// `docs/hios.md`).
    pub faithful: bool,
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
            part: 10,
            faithful: false,
            sweep_gpus: Vec::new(),
            time_limit: None,
            started: std::time::Instant::now(),
        }
    }
}

/// A schedule and the latency its algorithm computed for it.
pub type Scheduled = (Schedule, f64);

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
pub fn run(name: &str, p: &Problem, w: &Workload, o: &HiosOptions) -> Result<Scheduled> {
    let s = crate::registry::find_scheduler(name)
        .ok_or_else(|| Error::Usage(format!("unknown scheduling algorithm {name:?}; known: {}", names().join(", "))))?;
    s.schedule(p, w, &HiosOptions { gpus: o.gpus.max(1), ..o.clone() })
}

/// Simulates `s` (after the intra pass when `intra`) and returns it with its latency.
fn finish(p: &Problem, s: Schedule, intra: bool, o: &HiosOptions) -> Result<Scheduled> {
    o.check_time()?;
    let s = if intra { intra_pass(p, s, o)? } else { s };
    let l = super::simulate(p, &s)?.latency;
    Ok((s, l))
}

/// The order HIOS walks operators in: LST order as intended, or (faithful) the model builder's
/// order, which the reference ends up with because its LSTs are all 0: operator ids when they
/// are topological, else the workload's topological order.
pub fn walk_order(p: &Problem, faithful: bool) -> Vec<usize> {
    if !faithful {
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

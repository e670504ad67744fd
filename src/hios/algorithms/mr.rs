//! HIOS-MR (`hios-mr`, `hios-mr-intra`): a DP over (operator, GPU) states in LST order,
//! optionally followed by the intra-GPU stream pass.

use super::{finish, optimizer, reference, walk_order, Fidelity, HiosOptions, Scheduled, Scheduler};
use crate::error::Result;
use crate::hios::{Problem, Schedule};
use crate::workload::Workload;

/// HIOS-MR; with `intra`, followed by the intra-GPU pass.
pub struct HiosMr {
    pub intra: bool,
}

impl Scheduler for HiosMr {
    fn name(&self) -> &'static str {
        if self.intra {
            "hios-mr-intra"
        } else {
            "hios-mr"
        }
    }

    fn summary(&self) -> &'static str {
        if self.intra {
            "HIOS-MR, then the intra-GPU pass merging independent operators into concurrent streams"
        } else {
            "HIOS-MR: DP over (operator, GPU) states in latest-start order"
        }
    }

    fn schedule(&self, p: &Problem, _w: &Workload, o: &HiosOptions) -> Result<Scheduled> {
        if o.fidelity == Fidelity::Optimizer {
            return optimizer(p, o, reference::mr_block, self.intra);
        }
        let (s, claimed) = hios_mr(p, o)?;
        // The faithful DP's own makespan ignores all but the first predecessor, so it is not a
        // claim about the schedule: report the simulator's latency instead.
        if self.intra || o.fidelity.faithful() {
            finish(p, s, self.intra, o)
        } else {
            super::claimed(p, s, claimed)
        }
    }
}

/// One state of HIOS-MR's DP: a history (each operator's GPU, `usize::MAX` if not yet placed,
/// and finish time), each GPU's clock, and the cost of the state's operator.
#[derive(Clone)]
pub(super) struct State {
    pub gpu: Vec<usize>,
    pub fin: Vec<f64>,
    pub clock: Vec<f64>,
    pub cost: f64,
}

/// HIOS-MR, the intended DP: operators in LST order; state (position, GPU) keeps
/// the best history; the next operator on GPU k starts after GPU k's last operator and after
/// every predecessor's finish plus its transfer when on another GPU.
/// `--faithful`: HIOS's optimizer block by block; `--faithful simulator`: its simulator's
/// rules (the first predecessor alone, the last operator's cheapest GPU).
pub fn hios_mr(p: &Problem, o: &HiosOptions) -> Result<(Schedule, f64)> {
    if o.fidelity == Fidelity::Optimizer {
        let s = optimizer(p, o, reference::mr_block, false)?;
        return Ok((s.schedule, s.latency));
    }
    let (k, faithful) = (o.gpus, o.fidelity.faithful());
    let n = p.len();
    let order = walk_order(p, o.fidelity);
    // The simulator's running minimum is never reset, so only the first predecessor (the
    // earliest in topological order) counts.
    let mut position = vec![0; n];
    for (i, &v) in p.order.iter().enumerate() {
        position[v] = i;
    }
    let firsts: Vec<Vec<usize>> = if faithful {
        p.pred.iter().map(|ps| ps.iter().min_by_key(|&&q| position[q]).into_iter().copied().collect()).collect()
    } else {
        Vec::new()
    };
    let preds: &[Vec<usize>] = if faithful { &firsts } else { &p.pred };
    let empty = State { gpu: vec![usize::MAX; n], fin: vec![0.0; n], clock: vec![0.0; k], cost: f64::INFINITY };
    if n == 0 {
        return Ok((Schedule::sequential_on(vec![], k, &[]), 0.0));
    }
    // Identical GPUs: the first operator goes to GPU 0.
    let mut states: Vec<State> = vec![empty.clone(); k];
    {
        let v = order[0];
        let s = &mut states[0];
        s.gpu[v] = 0;
        s.fin[v] = p.w[v];
        s.clock[0] = p.w[v];
        s.cost = p.w[v];
    }
    for (i, &v) in order[1..].iter().enumerate() {
        if i % 64 == 0 {
            o.check_time()?;
        }
        let mut next = vec![empty.clone(); k];
        for g in 0..k {
            let mut best: Option<(f64, usize)> = None;
            for (j, s) in states.iter().enumerate() {
                if !s.cost.is_finite() {
                    continue;
                }
                let ready =
                    preds[v].iter().map(|&q| s.fin[q] + if s.gpu[q] != g { p.c[q] } else { 0.0 }).fold(0.0, f64::max);
                let end = s.clock[g].max(ready) + p.w[v];
                if best.is_none_or(|(b, _)| end < b) {
                    best = Some((end, j));
                }
            }
            if let Some((end, j)) = best {
                let mut s = states[j].clone();
                s.gpu[v] = g;
                s.fin[v] = end;
                s.clock[g] = end;
                s.cost = end;
                next[g] = s;
            }
        }
        states = next;
    }
    // The reference keeps the GPU where the last operator is cheapest, not the least makespan.
    let makespan_of = |s: &State| if faithful { s.cost } else { s.clock.iter().copied().fold(0.0, f64::max) };
    let best = states
        .into_iter()
        .filter(|s| s.cost.is_finite())
        .min_by(|a, b| makespan_of(a).total_cmp(&makespan_of(b)))
        .expect("GPU 0 always has a state");
    let makespan = best.fin.iter().copied().fold(0.0, f64::max);
    Ok((Schedule::sequential_on(best.gpu, k, &order), makespan))
}

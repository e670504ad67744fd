//! HIOS's blocks: the graph cut at the operators that every path passes through, each block
//! scheduled on its own as HIOS's optimizer does, and the blocks' schedules stitched together.
//!
//! HIOS takes its blocks from the model builder (IOS's blocks, one entry and one exit each). A
//! workload file has no blocks, so we cut at every operator that all paths from the inputs to
//! the outputs pass through. Where a builder block has no such operator inside (every block of
//! HIOS's Inception-v3 but its chains, which schedule the same either way) the two agree.

use super::{HiosOptions, Scheduled};
use crate::error::Result;
use crate::hios::{Problem, Schedule};

/// One block: its operators in builder order, the entry first and the exit last. `enter` and
/// `exit` are `None` where the graph has several inputs or outputs there: the block's
/// sub-problem then gets a virtual one of weight 0.
#[derive(Debug, Clone, PartialEq)]
pub struct Block {
    pub enter: Option<usize>,
    pub inner: Vec<usize>,
    pub exit: Option<usize>,
}

/// The blocks of `p` along `order` (a topological order).
pub fn blocks(p: &Problem, order: &[usize]) -> Vec<Block> {
    let n = order.len();
    let mut pos = vec![0; p.len()];
    for (i, &v) in order.iter().enumerate() {
        pos[v] = i;
    }
    // How many edges pass over each position; a source after it or a sink before it passes
    // over it too (an edge from a virtual input or to a virtual output).
    let mut diff = vec![0i64; n + 1];
    for &v in order {
        for &s in &p.succ[v] {
            diff[pos[v] + 1] += 1;
            diff[pos[s]] -= 1;
        }
        if p.pred[v].is_empty() && pos[v] > 0 {
            diff[0] += 1;
            diff[pos[v]] -= 1;
        }
        if p.succ[v].is_empty() && pos[v] + 1 < n {
            diff[pos[v] + 1] += 1;
            diff[n] -= 1;
        }
    }
    let mut cuts = Vec::new();
    let mut open = 0;
    for (i, &v) in order.iter().enumerate() {
        open += diff[i];
        if open == 0 {
            cuts.push(v);
        }
    }
    let mut out = Vec::new();
    let mut enter = None;
    let mut inner = Vec::new();
    for &v in order {
        if cuts.contains(&v) {
            if enter.is_some() || !inner.is_empty() {
                out.push(Block { enter, inner: std::mem::take(&mut inner), exit: Some(v) });
            }
            enter = Some(v);
        } else {
            inner.push(v);
        }
    }
    if !inner.is_empty() || out.is_empty() {
        out.push(Block { enter, inner, exit: None });
    }
    out
}

/// A block's own problem: its entry (weight 0: it ran in the block before) at index 0, its
/// inner operators, its exit last; virtual ends where the block has none. Returns it with the
/// global operator of each index (`None` for a virtual one).
pub fn sub_problem(p: &Problem, b: &Block) -> (Problem, Vec<Option<usize>>) {
    let mut global: Vec<Option<usize>> = vec![b.enter];
    global.extend(b.inner.iter().map(|&v| Some(v)));
    global.push(b.exit);
    let m = global.len();
    let mut local = vec![usize::MAX; p.len()];
    for (i, g) in global.iter().enumerate() {
        if let Some(v) = g {
            local[*v] = i;
        }
    }
    let mut succ = vec![Vec::new(); m];
    let mut pred = vec![Vec::new(); m];
    for (i, g) in global.iter().enumerate() {
        if let Some(v) = *g {
            for &s in &p.succ[v] {
                if local[s] != usize::MAX {
                    succ[i].push(local[s]);
                    pred[local[s]].push(i);
                }
            }
        }
    }
    // Virtual ends feed the block's inputs and take its outputs.
    for i in 1..m - 1 {
        if b.enter.is_none() && pred[i].is_empty() {
            succ[0].push(i);
            pred[i].push(0);
        }
        if b.exit.is_none() && succ[i].is_empty() {
            succ[i].push(m - 1);
            pred[m - 1].push(i);
        }
    }
    // A graph of one operator (or none): its virtual end still follows its entry.
    if m == 2 && succ[0].is_empty() {
        succ[0].push(1);
        pred[1].push(0);
    }
    let pick = |x: &[f64], i: usize, virtual_value: f64| global[i].map_or(virtual_value, |v| x[v]);
    let w = (0..m).map(|i| if i == 0 { 0.0 } else { pick(&p.w, i, 0.0) }).collect();
    let sub = Problem {
        name: p.name.clone(),
        w,
        u: (0..m).map(|i| pick(&p.u, i, 1.0)).collect(),
        c: (0..m).map(|i| pick(&p.c, i, 0.0)).collect(),
        succ,
        pred,
        order: (0..m).collect(),
        contention: p.contention,
        // A part of the graph is no plan the executor runs: its stages by the stage formula.
        model: None,
        forked: false,
    };
    (sub, global)
}

/// Schedules every block of `p` on its own with `schedule_block` (which must put the block's
/// entry, index 0, alone in GPU 0's first stage) and stitches the blocks: each GPU runs its
/// stages block after block; the first block's entry opens GPU 0. Notes add up.
pub fn per_block(
    p: &Problem,
    order: &[usize],
    o: &HiosOptions,
    schedule_block: impl Fn(&Problem, &HiosOptions) -> Result<Scheduled>,
) -> Result<Scheduled> {
    let k = o.gpus;
    let mut gpu_of = vec![0; p.len()];
    let mut stages = vec![Vec::new(); k];
    let mut notes: Vec<(String, String)> = Vec::new();
    for (i, b) in blocks(p, order).iter().enumerate() {
        o.check_time()?;
        if i == 0 {
            if let Some(e) = b.enter {
                stages[0].push(vec![vec![e]]);
            }
        }
        let (sub, global) = sub_problem(p, b);
        let done = schedule_block(&sub, o)?;
        for (g, list) in done.schedule.stages.iter().enumerate() {
            for stage in list {
                let groups: Vec<Vec<usize>> = stage
                    .iter()
                    .map(|grp| grp.iter().filter(|&&x| x != 0).filter_map(|&x| global[x]).collect::<Vec<_>>())
                    .filter(|grp| !grp.is_empty())
                    .collect();
                if groups.is_empty() {
                    continue;
                }
                for &v in groups.iter().flatten() {
                    gpu_of[v] = g;
                }
                stages[g].push(groups);
            }
        }
        for (key, value) in done.notes {
            match notes.iter_mut().find(|(k2, _)| *k2 == key) {
                Some((_, v)) => {
                    let sum = v.parse::<f64>().unwrap_or(0.0) + value.parse::<f64>().unwrap_or(0.0);
                    *v = sum.to_string();
                }
                None => notes.push((key, value)),
            }
        }
    }
    let schedule = Schedule { gpus: k, gpu_of, stages };
    let latency = crate::hios::simulate(p, &schedule)?.latency;
    Ok(Scheduled { schedule, latency, notes })
}

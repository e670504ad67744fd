//! `ios`: an IOS-style single-GPU stage DP over parts of the operator order.

use super::{HiosOptions, Scheduled, Scheduler};
use crate::error::Result;
use crate::hios::{Problem, Schedule, Stage};
use crate::workload::Workload;

pub struct Ios;

impl Scheduler for Ios {
    fn name(&self) -> &'static str {
        "ios"
    }

    fn summary(&self) -> &'static str {
        "IOS-style DP on one GPU: stages of up to --max-group independent operators as streams"
    }

    fn schedule(&self, p: &Problem, _w: &Workload, o: &HiosOptions) -> Result<Scheduled> {
        ios(p, o.gpus, o).map(Into::into)
    }
}

/// IOS-style single-GPU schedule (Ding et al. 2021): operators in builder order, cut into parts
/// of `o.part`; in each part a DP over its sets of operators picks the last stage (up to
/// `o.max_group` independent operators run as concurrent streams) that minimises the sum of
/// stage times.
fn ios(p: &Problem, k: usize, o: &HiosOptions) -> Result<(Schedule, f64)> {
    let mut stages: Vec<Stage> = Vec::new();
    let mut total = 0.0;
    for part in p.order.chunks(o.part.clamp(1, 16)) {
        o.check_time()?;
        let m = part.len();
        let idx = |v: usize| part.iter().position(|&x| x == v);
        // In-part predecessors and successors as bit masks.
        let pred_mask: Vec<u32> =
            part.iter().map(|&v| p.pred[v].iter().filter_map(|&q| idx(q)).fold(0, |a, i| a | 1 << i)).collect();
        let succ_mask: Vec<u32> =
            part.iter().map(|&v| p.succ[v].iter().filter_map(|&s| idx(s)).fold(0, |a, i| a | 1 << i)).collect();
        let full = (1u32 << m) - 1;
        let closed = |s: u32| (0..m).all(|i| s >> i & 1 == 0 || pred_mask[i] & !s == 0);
        let mut dp = vec![f64::INFINITY; 1 << m];
        let mut last = vec![0u32; 1 << m];
        dp[0] = 0.0;
        for s in 1..=full {
            if !closed(s) {
                continue;
            }
            // Endings: non-empty subsets e of s whose members have no successor left in s - e.
            let mut e = s;
            while e > 0 {
                let size = e.count_ones() as usize;
                let ok =
                    size <= o.max_group.max(1) && (0..m).all(|i| e >> i & 1 == 0 || succ_mask[i] & (s & !e) == 0) && {
                        // Members independent: no edge inside e.
                        (0..m).all(|i| e >> i & 1 == 0 || succ_mask[i] & e == 0)
                    };
                if ok && dp[(s & !e) as usize].is_finite() {
                    let groups: Stage = (0..m).filter(|&i| e >> i & 1 == 1).map(|i| vec![part[i]]).collect();
                    let c = dp[(s & !e) as usize] + p.stage_time(&groups);
                    if c < dp[s as usize] {
                        dp[s as usize] = c;
                        last[s as usize] = e;
                    }
                }
                e = (e - 1) & s;
            }
        }
        let mut s = full;
        let mut part_stages = Vec::new();
        while s != 0 {
            let e = last[s as usize];
            part_stages.push((0..m).filter(|&i| e >> i & 1 == 1).map(|i| vec![part[i]]).collect::<Stage>());
            s &= !e;
        }
        part_stages.reverse();
        total += dp[full as usize];
        stages.extend(part_stages);
    }
    let mut all = vec![Vec::new(); k];
    all[0] = stages;
    Ok((Schedule { gpus: k, gpu_of: vec![0; p.len()], stages: all }, total))
}

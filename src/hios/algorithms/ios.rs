//! `ios`: IOS's single-GPU stage DP (Ding et al. 2021) over parts of the operator order, as
//! IOS's optimizer enumerates it (its master branch, the version its paper's numbers come
//! from): endings taken one chain end each, a group being an operator and every successor it
//! has left in the state.

use super::{HiosOptions, Scheduled, Scheduler};
use crate::error::Result;
use crate::hios::{Problem, Schedule, Stage};
use crate::workload::Workload;
use std::collections::HashMap;

pub struct Ios;

impl Scheduler for Ios {
    fn name(&self) -> &'static str {
        "ios"
    }

    fn summary(&self) -> &'static str {
        "IOS's DP on one GPU: stages of up to --max-groups concurrent groups, each a chain of up to --max-group-size"
    }

    fn schedule(&self, p: &Problem, _w: &Workload, o: &HiosOptions) -> Result<Scheduled> {
        if p.model.is_none() {
            return ios(p, o.gpus, o).map(Into::into);
        }
        // Calibrated: the DP's stages as a forking GPU runs them, then the issue model judges
        // them against the same order on one stream (which pays no fork).
        let (s, _) = ios(&p.forked_world(), o.gpus, o)?;
        Ok(super::least(p, vec![s.dissolved(), s])?.into())
    }
}

/// The most operators a part may hold (its states are 128-bit sets).
pub const MAX_PART: usize = 128;

/// One part's DP: its operators (global ids, builder order), their chains, and the memo.
struct Part<'a> {
    p: &'a Problem,
    ops: Vec<usize>,
    /// In-part successors of each member, as a set of members.
    succ: Vec<u128>,
    chains: Vec<Vec<usize>>,
    max_groups: usize,
    max_group_size: usize,
    memo: HashMap<u128, (f64, Vec<u128>)>,
    o: &'a HiosOptions,
}

impl Part<'_> {
    /// Each member's successors within `s`, itself included.
    fn closure(&self, s: u128) -> Vec<u128> {
        let mut tc = vec![0u128; self.ops.len()];
        for i in (0..self.ops.len()).rev() {
            if s >> i & 1 == 1 {
                let mut t = 1u128 << i;
                let mut rest = self.succ[i] & s;
                while rest != 0 {
                    let j = rest.trailing_zeros() as usize;
                    t |= tc[j];
                    rest &= rest - 1;
                }
                tc[i] = t;
            }
        }
        tc
    }

    /// The least total stage time of `s` and its stages' groups (as member sets), last first.
    fn solve(&mut self, s: u128) -> Result<f64> {
        if s == 0 {
            return Ok(0.0);
        }
        if let Some((v, _)) = self.memo.get(&s) {
            return Ok(*v);
        }
        // Wide parts have many states (IOS's own runs take hours on NASNet): honour the limit.
        if self.memo.len() % 1024 == 0 {
            self.o.check_time()?;
        }
        let tc = self.closure(s);
        // Per chain, the members it may end on: the last `max_group_size` of its prefix in s.
        let ranges: Vec<(usize, usize)> = self
            .chains
            .iter()
            .map(|c| {
                let end = c.iter().take_while(|&&i| s >> i & 1 == 1).count();
                (end.saturating_sub(self.max_group_size), end)
            })
            .collect();
        let total: usize = ranges.iter().map(|(b, e)| e - b + 1).product();
        let mut best = (f64::INFINITY, Vec::new());
        for mut code in 0..total {
            // Chain 0 varies fastest; the last digit of each chain means "no group there".
            let mut ends = Vec::new();
            for (c, &(b, e)) in self.chains.iter().zip(&ranges) {
                let idx = code % (e - b + 1);
                code /= e - b + 1;
                if idx < e - b {
                    ends.push(c[b + idx]);
                }
            }
            if ends.is_empty() || ends.len() > self.max_groups {
                continue;
            }
            let groups: Vec<u128> = ends.iter().map(|&i| tc[i]).collect();
            let disjoint = (0..groups.len()).all(|a| (a + 1..groups.len()).all(|b| groups[a] & groups[b] == 0));
            if !disjoint || groups.iter().any(|g| g.count_ones() as usize > self.max_group_size) {
                continue;
            }
            let consumed = groups.iter().fold(0, |a, g| a | g);
            let stage = self.stage(&groups);
            let v = self.solve(s & !consumed)? + self.p.stage_time(&stage);
            if v < best.0 {
                best = (v, groups);
            }
        }
        let v = best.0;
        self.memo.insert(s, best);
        Ok(v)
    }

    /// Groups as operator lists, each in builder order.
    fn stage(&self, groups: &[u128]) -> Stage {
        groups
            .iter()
            .map(|&g| (0..self.ops.len()).filter(|&i| g >> i & 1 == 1).map(|i| self.ops[i]).collect())
            .collect()
    }
}

/// The set of a part's first `n` members.
fn all(n: usize) -> u128 {
    if n == MAX_PART {
        u128::MAX
    } else {
        (1u128 << n) - 1
    }
}

/// IOS's chain decomposition: repeatedly take a longest chain of the transitive closure.
fn chains(succ: &[u128], n: usize) -> Vec<Vec<usize>> {
    let mut reach = vec![0u128; n];
    for i in (0..n).rev() {
        let mut rest = succ[i];
        while rest != 0 {
            let j = rest.trailing_zeros() as usize;
            reach[i] |= 1 << j | reach[j];
            rest &= rest - 1;
        }
    }
    let mut left = all(n);
    let mut out = Vec::new();
    while left != 0 {
        // Longest chain among the operators left, members in builder order (a topological one).
        let mut depth = vec![0usize; n];
        let mut next = vec![usize::MAX; n];
        for i in (0..n).rev().filter(|&i| left >> i & 1 == 1) {
            depth[i] = 1;
            for j in (i + 1..n).filter(|&j| (reach[i] & left) >> j & 1 == 1) {
                if depth[i] < depth[j] + 1 {
                    depth[i] = depth[j] + 1;
                    next[i] = j;
                }
            }
        }
        let mut u = (0..n).filter(|&i| left >> i & 1 == 1).max_by_key(|&i| (depth[i], std::cmp::Reverse(i)));
        let mut chain = Vec::new();
        while let Some(i) = u {
            chain.push(i);
            left &= !(1u128 << i);
            u = (next[i] != usize::MAX).then_some(next[i]);
        }
        out.push(chain);
    }
    out
}

/// IOS's schedule: the operators in builder order cut into parts of `o.part`; each part's DP
/// picks, from the end, stages of up to `o.max_group` groups, a group being one chain end and
/// its successors left in the part (at most `o.max_group_size` operators, run one after
/// another on its stream), minimising the sum of stage times.
fn ios(p: &Problem, k: usize, o: &HiosOptions) -> Result<(Schedule, f64)> {
    let mut stages: Vec<Stage> = Vec::new();
    let mut total = 0.0;
    for ops in p.order.chunks(o.part.clamp(1, MAX_PART)) {
        o.check_time()?;
        let n = ops.len();
        let index = |v: usize| ops.iter().position(|&x| x == v);
        let succ: Vec<u128> =
            ops.iter().map(|&v| p.succ[v].iter().filter_map(|&s| index(s)).fold(0, |a, i| a | 1 << i)).collect();
        let chains = chains(&succ, n);
        let mut part = Part {
            p,
            ops: ops.to_vec(),
            succ,
            chains,
            max_groups: o.max_group.max(1),
            max_group_size: o.max_group_size.max(1),
            memo: HashMap::new(),
            o,
        };
        let full = all(n);
        total += part.solve(full)?;
        let mut s = full;
        let mut part_stages = Vec::new();
        while s != 0 {
            let groups = part.memo[&s].1.clone();
            part_stages.push(part.stage(&groups));
            s &= !groups.iter().fold(0, |a, g| a | g);
        }
        part_stages.reverse();
        stages.extend(part_stages);
    }
    let mut all = vec![Vec::new(); k];
    all[0] = stages;
    Ok((Schedule { gpus: k, gpu_of: vec![0; p.len()], stages: all }, total))
}

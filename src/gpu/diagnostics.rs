//! Experiment-only changes to a plan, kept apart from the plan builder and the executor: no
//! copies between GPUs, side branches (forks) beside every N-th stage, remote branches (an
//! exchange each way with another GPU), and the count of the add kernels that executors before
//! the inputs/waits split ran beyond a plan. `bench validate`'s diagnostic switches apply them.

use super::plan::{Dep, Plan, Task, Work, ELEMENT_BYTES};
use crate::zoo::graph::OpKind;
use std::collections::HashMap;

/// What a remote branch (`Plan::add_remote_branches`) moves each way: a small activation.
pub const REMOTE_BYTES: usize = 4 << 10;

/// How many stages after its start a remote branch returns by default: later than a round
/// trip between GPUs (about 12 µs) in the zoo models' one-GPU plans, whose stages take 5–30 µs
/// (NASNet-A Mobile's and RandWire's 2–3 µs: `bench validate --remote-return`).
pub const REMOTE_RETURN: usize = 4;

impl Plan {
    /// Every dependency on another GPU carries no bytes: only its event is waited for, and
    /// the executor's consumer reads the producer's buffer where it is (over the link).
    pub fn drop_copies(&mut self) {
        let gpu: Vec<usize> = self.tasks.iter().map(|t| t.gpu).collect();
        for (i, t) in self.tasks.iter_mut().enumerate() {
            for d in t.deps.iter_mut().filter(|d| gpu[d.task] != gpu[i]) {
                d.bytes = 0;
            }
        }
    }

    /// Adds a diagnostic: a one-microsecond busy task with no inputs on a stream of its own
    /// beside the first task of every `every`-th stage (the first stage among them), in that
    /// stage, so that those stages run two groups (under graph replay a fork and a join) and
    /// nothing else changes.
    pub fn add_side_branches(&mut self, every: usize) {
        if every == 0 {
            return;
        }
        let mut side_stream: HashMap<usize, usize> = HashMap::new();
        for t in &self.tasks {
            let s = side_stream.entry(t.gpu).or_insert(0);
            *s = (*s).max(t.stream + 1);
        }
        let mut firsts = Vec::new();
        let mut start = 0;
        for chunk in self.tasks.chunk_by(|a, b| (a.gpu, a.stage) == (b.gpu, b.stage)) {
            firsts.push(start);
            start += chunk.len();
        }
        let branched: Vec<usize> = firsts.into_iter().step_by(every).collect();
        // Where each old task goes: after the side tasks inserted before it.
        let moved: Vec<usize> = (0..self.tasks.len()).map(|t| t + branched.partition_point(|&b| b <= t)).collect();
        let old = std::mem::take(&mut self.tasks);
        for (t, mut task) in old.into_iter().enumerate() {
            if branched.binary_search(&t).is_ok() {
                self.tasks.push(Task {
                    gpu: task.gpu,
                    stream: side_stream[&task.gpu],
                    work: Work::Busy { ms: 0.001 },
                    deps: Vec::new(),
                    out_bytes: ELEMENT_BYTES,
                    stage: task.stage,
                });
            }
            for d in &mut task.deps {
                d.task = moved[d.task];
            }
            self.tasks.push(task);
        }
    }

    /// Adds a diagnostic: a one-microsecond busy task on a GPU of its own (one past the plan's
    /// last) beside the first task of every `every`-th stage (the first stage among them), fed
    /// `REMOTE_BYTES` by that task and feeding as many back to the first task `back` stages
    /// later (of the last stage where fewer are left; `REMOTE_RETURN` by default): each branch
    /// is an exchange each way, off the sample's critical path while those stages take longer
    /// than a round trip, and nothing else changes but the graphs the exchanges cut.
    pub fn add_remote_branches(&mut self, every: usize, back: usize) {
        if every == 0 || self.tasks.is_empty() {
            return;
        }
        let remote = self.gpus();
        let mut firsts = Vec::new();
        let mut start = 0;
        for chunk in self.tasks.chunk_by(|a, b| (a.gpu, a.stage) == (b.gpu, b.stage)) {
            firsts.push(start);
            start += chunk.len();
        }
        // The tasks that branch (each a stage's first), and the first task `back` stages after
        // each, where its branch returns.
        let branched: Vec<usize> = firsts.iter().copied().step_by(every).collect();
        let back = |i: usize| firsts[(i * every + back).min(firsts.len() - 1)];
        // Where each old task goes: after the remote tasks inserted before it.
        let moved: Vec<usize> = (0..self.tasks.len()).map(|t| t + branched.partition_point(|&b| b < t)).collect();
        let mut returns: HashMap<usize, Vec<usize>> = HashMap::new();
        for (i, &b) in branched.iter().enumerate() {
            if back(i) != b {
                returns.entry(back(i)).or_default().push(moved[b] + 1);
            }
        }
        let old = std::mem::take(&mut self.tasks);
        for (t, mut task) in old.into_iter().enumerate() {
            for d in &mut task.deps {
                d.task = moved[d.task];
            }
            task.deps.extend(returns.get(&t).into_iter().flatten().map(|&r| Dep::wait(r, REMOTE_BYTES)));
            let stage = task.stage;
            self.tasks.push(task);
            if branched.binary_search(&t).is_ok() {
                self.tasks.push(Task {
                    gpu: remote,
                    stream: 0,
                    work: Work::Busy { ms: 0.001 },
                    deps: vec![Dep::input(moved[t], REMOTE_BYTES)],
                    out_bytes: REMOTE_BYTES,
                    stage,
                });
            }
        }
    }

    /// How many add kernels more the executor launched for this plan before it told inputs
    /// from waits (`Dep::input`, commit 9f3f529): it handed every kernel all of its
    /// task's dependencies, and an add added each one beyond its inputs in with a kernel of its
    /// own. What a row measured then ran beyond the plan (`bench validate --measured` records it).
    pub fn extra_add_kernels(&self) -> usize {
        let Some(g) = &self.graph else { return 0 };
        self.tasks
            .iter()
            .filter(|t| matches!(t.work, Work::Op { op } if g.ops[op].kind == OpKind::Add))
            .map(|t| t.deps.iter().filter(|d| !d.input).count())
            .sum()
    }
}

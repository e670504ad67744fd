//! `local-search`: steepest descent over single-class moves between accelerators, with random
//! restarts.
//!
//! Differences from the reference, on purpose: it is seeded (`--seed`; the reference calls an
//! unseeded `rand()` and iterates hash maps); it respects memory, minimising first the bytes
//! over the accelerators' limit and then the max-load, so it returns feasible splits whenever
//! it reaches one; classes unsupported on accelerators are pinned to CPU 0 instead of ignored;
//! and a move is scored incrementally (only the classes and senders it touches) rather than by
//! re-evaluating the whole graph. Like the reference it ignores contiguity.

use crate::algorithms::atoms::{build_atoms, AtomOptions, Atoms};
use crate::algorithms::{Algorithm, Claim, Objective, Outcome, RunOptions};
use crate::error::Result;
use crate::placement::{Device, Placement};
use crate::workload::Workload;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::time::Instant;

/// The reference's stopping rule: stop when the best move improves by less than this.
const MIN_IMPROVEMENT: f64 = 1e-5;

pub struct LocalSearch;

impl Algorithm for LocalSearch {
    fn name(&self) -> &'static str {
        "local-search"
    }

    fn objective(&self) -> Objective {
        Objective::Throughput
    }

    fn summary(&self) -> &'static str {
        "seeded steepest descent over class moves with --restarts restarts; respects memory, ignores contiguity"
    }

    fn options(&self, opts: &RunOptions) -> String {
        format!("restarts={}", opts.restarts.max(1))
    }

    fn applicable(&self, w: &Workload, _opts: &RunOptions) -> Result<(), crate::family::NotApplicable> {
        if w.max_accs == 0 {
            return Err("the workload has no accelerator (maxFPGAs = 0)".into());
        }
        if w.max_cpus == 0 && w.nodes.iter().any(|v| !v.supported_on_acc) {
            return Err("some nodes need a CPU and the workload has none".into());
        }
        Ok(())
    }

    fn run(&self, w: &Workload, opts: &RunOptions) -> Result<Outcome> {
        let deadline = opts.deadline();
        let atoms = build_atoms(w, AtomOptions::default());
        let mut rng = ChaCha8Rng::seed_from_u64(opts.seed);
        let mut best: Option<(Score, Vec<usize>)> = None;
        let mut timed_out = false;
        for _ in 0..opts.restarts.max(1) {
            let start: Vec<usize> = (0..atoms.len())
                .map(|a| if atoms.supported[a] { rng.random_range(0..w.max_accs) } else { w.max_accs })
                .collect();
            let mut s = State::new(w, &atoms, start);
            timed_out |= s.descend(deadline);
            let score = s.score();
            if best.as_ref().is_none_or(|(b, _)| score.better_than(b, 0.0)) {
                best = Some((score, s.dev));
            }
            if timed_out {
                break;
            }
        }
        let (_, dev) = best.expect("at least one restart");
        // Claim the loads recomputed from scratch, free of the drift of incremental updates.
        let claimed = State::new(w, &atoms, dev.clone()).score().max_load;
        let device = (0..w.len())
            .map(|v| match dev[atoms.atom_of[v]] {
                d if d < w.max_accs => Device::Acc(d),
                _ => Device::Cpu(0),
            })
            .collect();
        let claim = if timed_out { Claim::Timeout } else { Claim::Feasible };
        Ok(Outcome::found(Placement { device }, Some(claimed), claim).note("restarts", opts.restarts.max(1)))
    }
}

#[derive(Debug, Clone, Copy)]
struct Score {
    overflow: f64,
    max_load: f64,
}

impl Score {
    /// Lexicographic: less memory overflow first, then a lower max-load by more than `margin`.
    fn better_than(&self, other: &Score, margin: f64) -> bool {
        if self.overflow < other.overflow * (1.0 - 1e-12) {
            return true;
        }
        self.overflow <= other.overflow && self.max_load < other.max_load - margin
    }
}

/// Loads of an assignment of atoms to devices `0..k` (accelerators) and `k` (CPU 0), with
/// per-sender counts of successors on each device so that moves update in place.
struct State<'a> {
    w: &'a Workload,
    atoms: &'a Atoms,
    devices: usize,
    dev: Vec<usize>,
    node_dev: Vec<usize>,
    /// `count[u * devices + d]`: successors of node u on device d.
    count: Vec<u32>,
    compute: Vec<f64>,
    comm: Vec<f64>,
    memory: Vec<f64>,
    touched: Vec<usize>,
    mark: Vec<bool>,
}

impl<'a> State<'a> {
    fn new(w: &'a Workload, atoms: &'a Atoms, dev: Vec<usize>) -> State<'a> {
        let devices = w.max_accs + 1;
        let node_dev: Vec<usize> = (0..w.len()).map(|v| dev[atoms.atom_of[v]]).collect();
        let mut s = State {
            w,
            atoms,
            devices,
            dev,
            node_dev,
            count: vec![0; w.len() * devices],
            compute: vec![0.0; devices],
            comm: vec![0.0; devices],
            memory: vec![0.0; devices],
            touched: Vec::new(),
            mark: vec![false; w.len()],
        };
        for a in 0..atoms.len() {
            s.charge_atom(a, 1.0);
        }
        for u in 0..w.len() {
            for &x in &w.succ[u] {
                s.count[u * devices + s.node_dev[x]] += 1;
            }
        }
        for u in 0..w.len() {
            s.charge_comm(u, 1.0);
        }
        s
    }

    fn is_acc(&self, d: usize) -> bool {
        d < self.w.max_accs
    }

    fn charge_atom(&mut self, a: usize, sign: f64) {
        let d = self.dev[a];
        self.compute[d] += sign * if self.is_acc(d) { self.atoms.acc[a] } else { self.atoms.cpu[a] };
        self.memory[d] += sign * self.atoms.size[a];
    }

    /// Adds (sign 1) or removes (sign -1) sender u's communication charges.
    fn charge_comm(&mut self, u: usize, sign: f64) {
        let du = self.node_dev[u];
        let c = sign * self.w.out_cost[u];
        let row = &self.count[u * self.devices..(u + 1) * self.devices];
        let mut sends = false;
        for (d, &n) in row.iter().enumerate() {
            if d != du && n > 0 {
                sends = true;
                if d < self.w.max_accs {
                    self.comm[d] += c;
                }
            }
        }
        if sends && self.is_acc(du) {
            self.comm[du] += c;
        }
    }

    fn score(&self) -> Score {
        let limit = self.w.max_size_per_acc;
        let overflow = (0..self.w.max_accs).map(|d| (self.memory[d] - limit).max(0.0)).sum();
        let max_load = (0..self.devices).map(|d| self.compute[d] + self.comm[d]).fold(0.0, f64::max);
        Score { overflow, max_load }
    }

    /// Moves atom `a` to device `to`, updating every load it affects.
    fn apply(&mut self, a: usize, to: usize) {
        let atoms = self.atoms;
        let w = self.w;
        self.touched.clear();
        for &x in &atoms.members[a] {
            for &u in std::iter::once(&x).chain(&w.pred[x]) {
                if !self.mark[u] {
                    self.mark[u] = true;
                    self.touched.push(u);
                }
            }
        }
        let touched = std::mem::take(&mut self.touched);
        for &u in &touched {
            self.charge_comm(u, -1.0);
        }
        self.charge_atom(a, -1.0);
        let from = self.dev[a];
        self.dev[a] = to;
        self.charge_atom(a, 1.0);
        for &x in &atoms.members[a] {
            self.node_dev[x] = to;
            for &u in &w.pred[x] {
                self.count[u * self.devices + from] -= 1;
                self.count[u * self.devices + to] += 1;
            }
        }
        for &u in &touched {
            self.charge_comm(u, 1.0);
            self.mark[u] = false;
        }
        self.touched = touched;
    }

    /// Steepest descent to a local optimum; true if the deadline stopped it.
    fn descend(&mut self, deadline: Option<Instant>) -> bool {
        let mut current = self.score();
        loop {
            if deadline.is_some_and(|d| Instant::now() > d) {
                return true;
            }
            let mut best: Option<(Score, usize, usize)> = None;
            for a in 0..self.atoms.len() {
                // One step scans every move: on a large graph with many devices that alone can
                // outlast the limit, so the clock is read within it too.
                if a % 256 == 255 && deadline.is_some_and(|d| Instant::now() > d) {
                    return true;
                }
                if !self.atoms.supported[a] {
                    continue;
                }
                let from = self.dev[a];
                for to in (0..self.w.max_accs).filter(|&d| d != from) {
                    self.apply(a, to);
                    let s = self.score();
                    self.apply(a, from);
                    if best.as_ref().is_none_or(|(b, _, _)| s.better_than(b, 0.0)) {
                        best = Some((s, a, to));
                    }
                }
            }
            match best {
                Some((s, a, to)) if s.better_than(&current, MIN_IMPROVEMENT) => {
                    self.apply(a, to);
                    current = self.score();
                }
                _ => return false,
            }
        }
    }
}

//! The max-load DP over ideal pairs, computed without storing pairs.
//!
//! `T[c][f][I]` is the least max-load that places ideal `I` on at most `c` CPUs and `f`
//! accelerators, each device taking one difference `I \ J` of ideals (with the backward halves
//! of its atoms). Unlike the reference, which lists every pair `J ⊆ I` and rescans the graph
//! for each, we walk the sub-ideals of `I` depth-first from `I` downwards, adding one atom to
//! `S = I \ J` per step, so compute, size and communication of `S` are updated incrementally
//! and undone on the way back. Compute and size only grow along that walk, so a branch whose
//! compute already exceeds a known upper bound (or whose size no device can hold) is cut
//! whole. Ideals of one size depend only on smaller ones and are solved in parallel.
//!
//! An ideal is solved only if some device split could put it on an optimal chain: its atoms'
//! work must fit its devices and the rest of the graph's work the other devices, each within
//! the bound ([`Volume`]). Where the bound is tight (a balanced pipeline) most ideals fail
//! this and are never walked.

use super::ideals::Lattice;
use crate::algorithms::atoms::Atoms;
use crate::workload::Workload;
use rayon::prelude::*;
use std::time::Instant;

const NONE: u8 = 0;
const PAIR_ACC: u8 = 1;
const PAIR_CPU: u8 = 2;
const EMPTY_ACC: u8 = 3;
const EMPTY_CPU: u8 = 4;

/// How the value of one state was reached: a device taking `I \ j`, or an unused device.
#[derive(Debug, Clone, Copy)]
struct Link {
    j: u32,
    kind: u8,
}

const NO_LINK: Link = Link { j: 0, kind: NONE };

/// One device of the DP's answer, in pipeline order.
#[derive(Debug, Clone)]
pub struct Stage {
    pub on_acc: bool,
    pub atoms: Vec<usize>,
}

/// Counters for the results' notes and the benchmark.
#[derive(Debug, Clone, Default)]
pub struct DpStats {
    pub pairs_visited: u64,
    /// Ideals on no possible optimal chain, never walked.
    pub ideals_skipped: u64,
}

/// A lower bound on the max-load of a set of atoms on `c` CPUs and `f` accelerators from
/// its work alone (communication, memory and contiguity left out). With `r` the largest
/// accelerator-to-CPU time ratio of any supported atom, a CPU does at most `r · L` of
/// accelerator work within load `L`, so the supported atoms' accelerator work `A` and the
/// CPU time `U` of the unsupported ones (which only CPUs run) obey `A + r·U ≤ (f + r·c)·L`;
/// symmetrically, with `q` the largest CPU-to-accelerator ratio, `C + U ≤ (c + q·f)·L` for
/// the supported atoms' CPU time `C`; and `U ≤ c·L`.
#[derive(Debug, Clone, Copy)]
struct Volume {
    r: f64,
    q: f64,
}

/// One set's work: supported atoms' accelerator and CPU times, unsupported atoms' CPU time.
#[derive(Debug, Clone, Copy, Default)]
struct Work {
    acc: f64,
    cpu: f64,
    cpu_only: f64,
}

impl Work {
    fn add(self, atoms: &Atoms, a: usize) -> Work {
        if atoms.supported[a] {
            Work { acc: self.acc + atoms.acc[a], cpu: self.cpu + atoms.cpu[a], ..self }
        } else {
            Work { cpu_only: self.cpu_only + atoms.cpu[a], ..self }
        }
    }

    fn minus(self, o: Work) -> Work {
        Work { acc: self.acc - o.acc, cpu: self.cpu - o.cpu, cpu_only: self.cpu_only - o.cpu_only }
    }
}

impl Volume {
    fn new(atoms: &Atoms) -> Volume {
        // x / y, with any positive work over none unbounded and nothing over nothing 0.
        let ratio = |x: f64, y: f64| {
            if y > 0.0 {
                x / y
            } else if x > 0.0 {
                f64::INFINITY
            } else {
                0.0
            }
        };
        let (mut r, mut q) = (0.0f64, 0.0f64);
        for a in (0..atoms.len()).filter(|&a| atoms.supported[a]) {
            r = r.max(ratio(atoms.acc[a], atoms.cpu[a]));
            q = q.max(ratio(atoms.cpu[a], atoms.acc[a]));
        }
        Volume { r, q }
    }

    fn lower_bound(&self, w: Work, c: usize, f: usize) -> f64 {
        // Rounding in the sums (a difference of totals) must not make an empty rest positive.
        let tiny = |x: f64| if x.abs() < 1e-9 { 0.0 } else { x.max(0.0) };
        let (acc, cpu, only) = (tiny(w.acc), tiny(w.cpu), tiny(w.cpu_only));
        let (c, f) = (c as f64, f as f64);
        let ratio = |num: f64, den: f64| {
            if num <= 0.0 {
                0.0
            } else if den > 0.0 {
                num / den
            } else {
                f64::INFINITY
            }
        };
        let mut lb = ratio(only, c);
        if self.r.is_finite() {
            lb = lb.max(ratio(acc + self.r * only, f + self.r * c));
        }
        if self.q.is_finite() {
            lb = lb.max(ratio(cpu + only, c + self.q * f));
        }
        lb
    }
}

pub enum DpAnswer {
    /// The optimum and its stages.
    Solved { value: f64, stages: Vec<Stage> },
    /// No placement of this space fits.
    Infeasible,
    /// The deadline passed between two levels.
    TimedOut,
}

/// Per-worker state of the depth-first walk; sized once, reused for every ideal.
struct Scratch {
    stamp: Vec<u32>,
    epoch: u32,
    in_s: Vec<bool>,
    /// For each node, how many of its successors are in `S`.
    cnt: Vec<u32>,
    frames: Vec<Frame>,
}

struct Frame {
    ideal: u32,
    next: u32,
    end: u32,
    added: u32,
    acc: f64,
    cpu: f64,
    size: f64,
    unsupported: u32,
    comm: f64,
}

/// The DP's view of a workload: atom totals and, per node, what the comm update needs.
struct Problem<'a> {
    w: &'a Workload,
    atoms: &'a Atoms,
    lattice: &'a Lattice,
    cpus: usize,
    accs: usize,
    /// Branches whose compute exceeds this are cut.
    bound: f64,
    /// Per accelerator count `f`, the largest stage worth trying for that state (bounds of
    /// the optima that its chains lead to; non-increasing in `f`).
    bounds: Vec<f64>,
    /// One bound for every count (a single count's DP): the branch cut is the only pruning.
    uniform: bool,
    /// Per ideal, whether it may lie on an optimal chain; the others' rows stay infinite, so a
    /// pair ending in one is walked through (smaller ideals lie below it) but not evaluated.
    relevant: Vec<bool>,
}

impl Problem<'_> {
    fn width(&self) -> usize {
        (self.cpus + 1) * (self.accs + 1)
    }

    /// Whether node `u` pays its out-cost with respect to `S`: it sends across the boundary.
    #[inline]
    fn crossing(&self, s: &Scratch, u: usize) -> bool {
        if s.in_s[u] {
            (s.cnt[u] as usize) < self.w.succ[u].len()
        } else {
            s.cnt[u] > 0
        }
    }

    /// Adds an atom's nodes to `S`; returns the change of `S`'s communication.
    #[inline]
    fn add_atom(&self, s: &mut Scratch, atom: usize) -> f64 {
        let mut delta = 0.0;
        for &x in &self.atoms.members[atom] {
            let before = self.crossing(s, x);
            s.in_s[x] = true;
            if self.crossing(s, x) != before {
                delta += if before { -self.w.out_cost[x] } else { self.w.out_cost[x] };
            }
            for &u in &self.w.pred[x] {
                let before = self.crossing(s, u);
                s.cnt[u] += 1;
                if self.crossing(s, u) != before {
                    delta += if before { -self.w.out_cost[u] } else { self.w.out_cost[u] };
                }
            }
        }
        delta
    }

    #[inline]
    fn remove_atom(&self, s: &mut Scratch, atom: usize) {
        for &x in self.atoms.members[atom].iter().rev() {
            for &u in &self.w.pred[x] {
                s.cnt[u] -= 1;
            }
            s.in_s[x] = false;
        }
    }

    /// Fills `row`/`links` for ideal `i` from the rows of its sub-ideals in `table`.
    fn solve_ideal(&self, i: usize, table: &[f64], row: &mut [f64], links: &mut [Link], s: &mut Scratch) -> u64 {
        let (k1, width) = (self.accs + 1, self.width());
        let limit = self.w.max_size_per_acc;
        s.epoch = s.epoch.wrapping_add(1);
        if s.epoch == 0 {
            s.stamp.iter_mut().for_each(|x| *x = 0);
            s.epoch = 1;
        }
        let epoch = s.epoch;
        s.stamp[i] = epoch;
        let root = self.lattice.down(i);
        s.frames.push(Frame {
            ideal: i as u32,
            next: 0,
            end: root.len() as u32,
            added: u32::MAX,
            acc: 0.0,
            cpu: 0.0,
            size: 0.0,
            unsupported: 0,
            comm: 0.0,
        });
        let mut visited = 0u64;
        while let Some(top) = s.frames.last_mut() {
            if top.next == top.end {
                let added = top.added;
                s.frames.pop();
                if added != u32::MAX {
                    self.remove_atom(s, added as usize);
                }
                continue;
            }
            let (atom, j) = self.lattice.down(top.ideal as usize)[top.next as usize];
            top.next += 1;
            let (atom, j) = (atom as usize, j as usize);
            if s.stamp[j] == epoch {
                continue;
            }
            s.stamp[j] = epoch;
            let acc = top.acc + self.atoms.acc[atom];
            let cpu = top.cpu + self.atoms.cpu[atom];
            let size = top.size + self.atoms.size[atom];
            let unsupported = top.unsupported + u32::from(!self.atoms.supported[atom]);
            let parent_comm = top.comm;
            let acc_ok = self.accs > 0 && unsupported == 0 && size <= limit && acc <= self.bound;
            let cpu_ok = self.cpus > 0 && cpu <= self.bound;
            if !acc_ok && !cpu_ok {
                // Every smaller J only adds atoms to S: cut the branch.
                continue;
            }
            visited += 1;
            let comm = parent_comm + self.add_atom(s, atom);
            if self.relevant[j] {
                self.relax(&table[j * width..(j + 1) * width], j, acc + comm, cpu, (acc_ok, cpu_ok), row, links);
            }
            s.frames.push(Frame {
                ideal: j as u32,
                next: 0,
                end: self.lattice.down(j).len() as u32,
                added: atom as u32,
                acc,
                cpu,
                size,
                unsupported,
                comm,
            });
        }
        // Fewer devices never hurt: an unused device inherits the smaller state's value.
        for c in 0..=self.cpus {
            for f in 0..=self.accs {
                let st = c * k1 + f;
                if f > 0 && row[st - 1] < row[st] {
                    row[st] = row[st - 1];
                    links[st] = Link { j: 0, kind: EMPTY_ACC };
                }
                if c > 0 && row[st - k1] < row[st] {
                    row[st] = row[st - k1];
                    links[st] = Link { j: 0, kind: EMPTY_CPU };
                }
            }
        }
        visited
    }

    /// Every state of `row` that the pair (this ideal, `j`) improves: `I \ j` on one more
    /// accelerator (at `acc_cost`, communication included) or CPU (at `cpu`) after `from`.
    #[allow(clippy::too_many_arguments)]
    #[inline]
    fn relax(
        &self,
        from: &[f64],
        j: usize,
        acc_cost: f64,
        cpu: f64,
        (acc_ok, cpu_ok): (bool, bool),
        row: &mut [f64],
        links: &mut [Link],
    ) {
        let (k1, width) = (self.accs + 1, self.width());
        // The device decisions are taken once per pair, outside the loops over states; each
        // state reads only the smaller states of `from`, so the two passes are independent.
        if acc_ok {
            // Only the chains of fewer devices can use a stage this large (the bounds do
            // not increase with f).
            let most = if self.uniform { self.accs } else { self.bounds[1..].partition_point(|&b| acc_cost <= b) };
            for c in 0..=self.cpus {
                for f in 1..=most {
                    let st = c * k1 + f;
                    let v = from[st - 1].max(acc_cost);
                    if v < row[st] {
                        row[st] = v;
                        links[st] = Link { j: j as u32, kind: PAIR_ACC };
                    }
                }
            }
        }
        if cpu_ok {
            for st in k1..width {
                let v = from[st - k1].max(cpu);
                if v < row[st] {
                    row[st] = v;
                    links[st] = Link { j: j as u32, kind: PAIR_CPU };
                }
            }
        }
    }
}

/// Solves the DP. `upper_bound` must be at least the optimum (or infinite); it only prunes.
pub fn solve(
    w: &Workload,
    atoms: &Atoms,
    lattice: &Lattice,
    upper_bound: f64,
    deadline: Option<Instant>,
    stats: &mut DpStats,
) -> DpAnswer {
    let bounds = vec![upper_bound; w.max_accs + 1];
    solve_each(w, atoms, lattice, &bounds, deadline, stats, w.max_accs).pop().unwrap_or(DpAnswer::TimedOut)
}

/// Solves the DP once and answers it for every accelerator count from `from` to the
/// workload's (all CPUs allowed): one table holds them all. `bounds[f]` must be at least the
/// optimum with `f` accelerators (or infinite) for every answered `f`; they only prune.
pub fn solve_each(
    w: &Workload,
    atoms: &Atoms,
    lattice: &Lattice,
    bounds: &[f64],
    deadline: Option<Instant>,
    stats: &mut DpStats,
    from: usize,
) -> Vec<DpAnswer> {
    let from = from.min(w.max_accs);
    // A state of f devices lies on the chains of the answers for max(f, from) and more, whose
    // stages are no larger than the largest of their bounds.
    let mut per_state: Vec<f64> =
        (0..=w.max_accs).map(|f| margin(bounds.get(f.max(from)).copied().unwrap_or(f64::INFINITY))).collect();
    for f in 1..per_state.len() {
        per_state[f] = per_state[f].min(per_state[f - 1]);
    }
    let bound = per_state[0];
    let uniform = per_state.iter().all(|&b| b == bound);
    let relevant = on_some_chain(w, atoms, lattice, &per_state_answers(bounds, from, w.max_accs));
    stats.ideals_skipped += relevant.iter().filter(|&&x| !x).count() as u64;
    let p =
        Problem { w, atoms, lattice, cpus: w.max_cpus, accs: w.max_accs, bound, bounds: per_state, uniform, relevant };
    let width = p.width();
    let n = lattice.len();
    let counts = from..=w.max_accs;
    let mut table = vec![f64::INFINITY; n * width];
    let mut links = vec![NO_LINK; n * width];
    table[..width].iter_mut().for_each(|x| *x = 0.0);
    let new_scratch = || Scratch {
        stamp: vec![0; n],
        epoch: 0,
        in_s: vec![false; w.len()],
        cnt: vec![0; w.len()],
        frames: Vec::new(),
    };
    for level in 1..lattice.levels() {
        if deadline.is_some_and(|d| Instant::now() > d) {
            return counts.map(|_| DpAnswer::TimedOut).collect();
        }
        let (lo, hi) = (lattice.level_start[level], lattice.level_start[level + 1]);
        let (done, rest) = table.split_at_mut(lo * width);
        let rows = &mut rest[..(hi - lo) * width];
        let level_links = &mut links[lo * width..hi * width];
        let done: &[f64] = done;
        stats.pairs_visited += rows
            .par_chunks_mut(width)
            .zip(level_links.par_chunks_mut(width))
            .enumerate()
            .map_init(
                new_scratch,
                |s, (x, (row, link))| {
                    if p.relevant[lo + x] {
                        p.solve_ideal(lo + x, done, row, link, s)
                    } else {
                        0
                    }
                },
            )
            .sum::<u64>();
    }
    counts.map(|f| backtrack(w, atoms, lattice, &table, &links, w.max_cpus * (w.max_accs + 1) + f)).collect()
}

/// A bound with room for rounding in the incremental sums, which must not cut an optimal
/// branch.
fn margin(b: f64) -> f64 {
    if b.is_finite() {
        b * (1.0 + 1e-9) + 1e-12
    } else {
        f64::INFINITY
    }
}

/// The work bound of [`Volume`] on the whole graph with `cpus` CPUs and `accs` accelerators:
/// at most the max-load of every placement (contiguous or not) of those devices.
pub fn volume_bound(atoms: &Atoms, cpus: usize, accs: usize) -> f64 {
    let all = (0..atoms.len()).fold(Work::default(), |w, a| w.add(atoms, a));
    Volume::new(atoms).lower_bound(all, cpus, accs)
}

/// Each answered accelerator count with its bound (margin included).
fn per_state_answers(bounds: &[f64], from: usize, accs: usize) -> Vec<(usize, f64)> {
    (from..=accs).map(|f| (f, margin(bounds.get(f).copied().unwrap_or(f64::INFINITY)))).collect()
}

/// Whether each ideal could lie on an optimal chain of some answered count `F` (bound `B`):
/// for some state of `c ≤ C` CPUs and `f ≤ F` accelerators, the ideal's work fits them and the
/// rest's work the other `C − c` and `F − f` within `B`. The empty and the full ideal always
/// count (the full one passes with the whole machine whenever the bound holds).
fn on_some_chain(w: &Workload, atoms: &Atoms, lattice: &Lattice, answers: &[(usize, f64)]) -> Vec<bool> {
    let vol = Volume::new(atoms);
    let n = lattice.len();
    let mut work = vec![Work::default(); n];
    for i in 1..n {
        let (a, j) = lattice.down(i)[0];
        work[i] = work[j as usize].add(atoms, a as usize);
    }
    let total = work[n - 1];
    let mut out = vec![false; n];
    out[0] = true;
    out[n - 1] = true;
    for i in 1..n.saturating_sub(1) {
        let (mine, rest) = (work[i], total.minus(work[i]));
        out[i] = answers.iter().any(|&(big_f, b)| {
            (0..=w.max_cpus).any(|c| {
                (0..=big_f.min(w.max_accs))
                    .any(|f| vol.lower_bound(mine, c, f) <= b && vol.lower_bound(rest, w.max_cpus - c, big_f - f) <= b)
            })
        });
    }
    out
}

/// The answer of `state` (CPUs × (accelerators + 1) + accelerators) of the full ideal.
fn backtrack(w: &Workload, atoms: &Atoms, lattice: &Lattice, table: &[f64], links: &[Link], state: usize) -> DpAnswer {
    let width = (w.max_cpus + 1) * (w.max_accs + 1);
    let mut state = state;
    let full = lattice.full();
    let value = table[full * width + state];
    if !value.is_finite() {
        return DpAnswer::Infeasible;
    }
    let mut stages = Vec::new();
    let mut ideal = full;
    while ideal != 0 {
        let link = links[ideal * width + state];
        match link.kind {
            EMPTY_ACC => state -= 1,
            EMPTY_CPU => state -= w.max_accs + 1,
            PAIR_ACC | PAIR_CPU => {
                let j = link.j as usize;
                let members =
                    (0..atoms.len()).filter(|&a| lattice.contains(ideal, a) && !lattice.contains(j, a)).collect();
                let on_acc = link.kind == PAIR_ACC;
                stages.push(Stage { on_acc, atoms: members });
                state -= if on_acc { 1 } else { w.max_accs + 1 };
                ideal = j;
            }
            _ => unreachable!("a finite state has a link"),
        }
    }
    stages.reverse();
    DpAnswer::Solved { value, stages }
}

//! The matchers, one plug-in shape: each places one task's pages onto a virtual memory that
//! already holds others. Tasks are added one at a time (the set's order or largest first);
//! `passes` then re-matches every task against all the others in turn, keeping a new
//! placement only where it does not raise the cost. Adding one: a type implementing
//! [`Matcher`] and one line in the registry.

use super::packing::{page_cost, Occupancy, Packing};
use super::task::Task;
use crate::family::NotApplicable;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;
use std::collections::HashMap;

/// What every matcher may read besides the memory.
#[derive(Debug, Clone)]
pub struct MatchOptions {
    pub seed: u64,
    /// The reference's quirks (the greedy matcher's comparison with the virtual pages'
    /// initial values, a whole extra page when a weight count is a multiple of S).
    pub faithful: bool,
    /// The largest virtual memory, in pages, whose cost matrix is built.
    pub lap_max: usize,
}

/// The memory a task is placed onto: the other tasks' page tables (`None`: not placed yet).
pub struct Memory<'a> {
    pub tasks: &'a [Task],
    pub page_size: usize,
    pub virtual_pages: usize,
    pub tables: Vec<Option<Vec<usize>>>,
}

impl Memory<'_> {
    pub fn occupancy(&self) -> Occupancy {
        let mut occ = vec![Vec::new(); self.virtual_pages];
        for (i, t) in self.tables.iter().enumerate() {
            for (p, &v) in t.iter().flatten().enumerate() {
                occ[v].push((i, p));
            }
        }
        occ
    }

    /// Task `i`'s pages against every other task on their virtual pages.
    pub fn task_cost(&self, i: usize) -> f64 {
        let (occ, s) = (self.occupancy(), self.page_size);
        let Some(table) = &self.tables[i] else { return 0.0 };
        table
            .iter()
            .enumerate()
            .map(|(p, &v)| {
                let others: Vec<(usize, usize)> = occ[v].iter().copied().filter(|&(j, _)| j != i).collect();
                page_cost(self.tasks, s, i, p, &others)
            })
            .sum()
    }

    pub fn is_empty(&self) -> bool {
        self.tables.iter().all(Option::is_none)
    }

    /// The pages task `i` has here (its weights', one more in faithful mode when they fill
    /// their last page exactly).
    pub fn pages(&self, i: usize, o: &MatchOptions) -> usize {
        pages_of(&self.tasks[i], self.page_size, o.faithful)
    }

    /// `c(p, v)` for every page of task `i` and every virtual page, row by row.
    pub fn cost_matrix(&self, i: usize, o: &MatchOptions, occ: &Occupancy) -> Vec<Vec<f64>> {
        let s = self.page_size;
        (0..self.pages(i, o))
            .into_par_iter()
            .map(|p| {
                occ.iter()
                    .map(|on| if p < self.tasks[i].pages(s) { page_cost(self.tasks, s, i, p, on) } else { 0.0 })
                    .collect()
            })
            .collect()
    }
}

/// A task's page count: ⌈n / S⌉, or the reference's ⌊n / S⌋ + 1.
pub fn pages_of(t: &Task, s: usize, faithful: bool) -> usize {
    if faithful {
        t.len() / s + 1
    } else {
        t.pages(s)
    }
}

pub trait Matcher: Sync {
    fn name(&self) -> &'static str;
    fn summary(&self) -> &'static str;
    /// The virtual pages it needs, where it decides them itself (else the options' V).
    fn virtual_pages(&self, _tasks: &[Task], _s: usize, _o: &MatchOptions) -> Option<usize> {
        None
    }
    /// Why it does not apply, if it does not (a skipped row).
    fn applies(&self, _tasks: &[Task], _s: usize, _v: usize, _o: &MatchOptions) -> Result<(), NotApplicable> {
        Ok(())
    }
    /// Task `i`'s page table on `mem`, which holds the tasks placed before it.
    fn place(&self, mem: &Memory, i: usize, o: &MatchOptions) -> Vec<usize>;
    /// Whether re-matching passes apply (not to matchers whose placement is fixed by content).
    fn repasses(&self) -> bool {
        true
    }
}

/// Tasks in the order they are added.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Order {
    /// As given.
    Given,
    /// Most weights first (ties as given).
    SizeDesc,
}

/// Packs every task with `m` onto `v` virtual pages (or the matcher's own count).
pub fn pack(
    m: &dyn Matcher,
    tasks: &[Task],
    s: usize,
    v: usize,
    order: Order,
    passes: usize,
    o: &MatchOptions,
) -> Packing {
    let v = m.virtual_pages(tasks, s, o).unwrap_or(v);
    let mut ids: Vec<usize> = (0..tasks.len()).collect();
    if order == Order::SizeDesc {
        ids.sort_by_key(|&i| std::cmp::Reverse(tasks[i].len()));
    }
    let mut mem = Memory { tasks, page_size: s, virtual_pages: v, tables: vec![None; tasks.len()] };
    for &i in &ids {
        let t = m.place(&mem, i, o);
        mem.tables[i] = Some(t);
    }
    let done = |mem: &Memory| Packing {
        page_size: s,
        virtual_pages: v,
        tables: mem.tables.iter().map(|t| t.clone().unwrap_or_default()).collect(),
    };
    if m.repasses() {
        for pass in 0..passes {
            for &i in &ids {
                let old = mem.task_cost(i);
                let kept = mem.tables[i].take();
                let o = MatchOptions { seed: o.seed.wrapping_add(1 + pass as u64), ..o.clone() };
                let t = m.place(&mem, i, &o);
                mem.tables[i] = Some(t);
                if mem.task_cost(i) > old {
                    mem.tables[i] = kept;
                }
            }
        }
    }
    done(&mem)
}

/// Matchers that build a cost matrix over the virtual pages apply up to `--lap-max` of them.
pub fn within_lap_max(v: usize, o: &MatchOptions) -> Result<(), NotApplicable> {
    if v > o.lap_max {
        return Err(format!("{v} virtual pages exceed --lap-max {}", o.lap_max).into());
    }
    Ok(())
}

/// The identity table: a task alone costs nothing anywhere, so the first one is put first.
pub fn identity(n: usize) -> Vec<usize> {
    (0..n).collect()
}

/// Exact per step: the least-cost injective map of the task's pages onto the virtual pages,
/// a rectangular assignment solved by Jonker–Volgenant (dummy rows of zero cost square it).
pub struct Lap;

impl Matcher for Lap {
    fn name(&self) -> &'static str {
        "nwv-lap"
    }
    fn summary(&self) -> &'static str {
        "each task's pages onto the virtual pages by an exact least-cost assignment (Jonker-Volgenant)"
    }
    fn applies(&self, _tasks: &[Task], _s: usize, v: usize, o: &MatchOptions) -> Result<(), NotApplicable> {
        within_lap_max(v, o)
    }
    fn place(&self, mem: &Memory, i: usize, o: &MatchOptions) -> Vec<usize> {
        let n = mem.pages(i, o);
        if mem.is_empty() {
            return identity(n);
        }
        let occ = mem.occupancy();
        let c = mem.cost_matrix(i, o, &occ);
        assign(&c, mem.virtual_pages)
    }
}

/// The least-cost injective map of `c`'s rows onto `v` columns.
pub fn assign(c: &[Vec<f64>], v: usize) -> Vec<usize> {
    let mut m = ndarray::Array2::<f64>::zeros((v, v));
    for (p, row) in c.iter().enumerate() {
        for (q, &x) in row.iter().enumerate() {
            m[(p, q)] = x;
        }
    }
    match lapjv::lapjv(&m) {
        Ok((rows, _)) => rows[..c.len()].to_vec(),
        // Only a cancelled solve fails, and nothing cancels this one.
        Err(_) => identity(c.len()),
    }
}

/// The reference's random matcher: a uniform injective map onto the least-occupied pages.
pub struct RandomMatch;

impl Matcher for RandomMatch {
    fn name(&self) -> &'static str {
        "random"
    }
    fn summary(&self) -> &'static str {
        "each task's pages onto the least-occupied virtual pages, uniformly at random (seeded)"
    }
    fn place(&self, mem: &Memory, i: usize, o: &MatchOptions) -> Vec<usize> {
        let mut rng = ChaCha8Rng::seed_from_u64(o.seed ^ (i as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15));
        let occ = mem.occupancy();
        let mut pages: Vec<usize> = (0..mem.virtual_pages).collect();
        for k in (1..pages.len()).rev() {
            pages.swap(k, rng.random_range(0..=k));
        }
        pages.sort_by_key(|&v| occ[v].len());
        pages.truncate(mem.pages(i, o));
        pages
    }
}

/// Naive deduplication: a page shares only with byte-identical pages.
pub struct Dedup;

/// A page's padded content as bits, the key of deduplication.
fn content(t: &Task, p: usize, s: usize) -> Vec<u32> {
    let (w, _) = if p < t.pages(s) { t.page(p, s) } else { (&[][..], &[][..]) };
    let mut c: Vec<u32> = w.iter().map(|x| x.to_bits()).collect();
    c.resize(s, 0);
    c
}

impl Matcher for Dedup {
    fn name(&self) -> &'static str {
        "dedup"
    }
    fn summary(&self) -> &'static str {
        "naive deduplication: only byte-identical pages share; as many virtual pages as distinct pages"
    }
    fn virtual_pages(&self, tasks: &[Task], s: usize, o: &MatchOptions) -> Option<usize> {
        // Content c needs as many pages as the most copies of it one task holds.
        let mut need: HashMap<Vec<u32>, usize> = HashMap::new();
        for t in tasks {
            let mut mine: HashMap<Vec<u32>, usize> = HashMap::new();
            for p in 0..pages_of(t, s, o.faithful) {
                *mine.entry(content(t, p, s)).or_default() += 1;
            }
            for (c, k) in mine {
                let e = need.entry(c).or_default();
                *e = (*e).max(k);
            }
        }
        Some(need.values().sum::<usize>().max(1))
    }
    fn place(&self, mem: &Memory, i: usize, o: &MatchOptions) -> Vec<usize> {
        let s = mem.page_size;
        let occ = mem.occupancy();
        let mut by_content: HashMap<Vec<u32>, Vec<usize>> = HashMap::new();
        let mut free = Vec::new();
        for (v, on) in occ.iter().enumerate() {
            match on.first() {
                Some(&(j, q)) => by_content.entry(content(&mem.tasks[j], q, s)).or_default().push(v),
                None => free.push(v),
            }
        }
        let mut used = vec![false; mem.virtual_pages];
        let mut free = free.into_iter();
        (0..mem.pages(i, o))
            .map(|p| {
                let c = content(&mem.tasks[i], p, s);
                let twin = by_content.get(&c).and_then(|vs| vs.iter().copied().find(|&v| !used[v]));
                let v = twin.or_else(|| free.next()).unwrap_or(0);
                used[v] = true;
                v
            })
            .collect()
    }
    fn repasses(&self) -> bool {
        false
    }
}

/// No sharing: every task on pages of its own.
pub struct NoSharing;

impl Matcher for NoSharing {
    fn name(&self) -> &'static str {
        "no-sharing"
    }
    fn summary(&self) -> &'static str {
        "no sharing: every task on virtual pages of its own (as many as all tasks' pages)"
    }
    fn virtual_pages(&self, tasks: &[Task], s: usize, o: &MatchOptions) -> Option<usize> {
        Some(tasks.iter().map(|t| pages_of(t, s, o.faithful)).sum())
    }
    fn place(&self, mem: &Memory, i: usize, o: &MatchOptions) -> Vec<usize> {
        let start: usize = mem.tables.iter().flatten().map(Vec::len).sum();
        (start..start + mem.pages(i, o)).collect()
    }
    fn repasses(&self) -> bool {
        false
    }
}

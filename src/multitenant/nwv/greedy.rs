//! The reference's greedy matcher, made deterministic. Virtual pages are visited by occupancy
//! level (free pages first, then pages holding one task page, …). At each level the level's
//! pages and the task's unmatched pages are sorted by importance sum, descending; the task
//! keeps only as many pages as the level has (the rest wait for the next level), and a level
//! with more pages than the task needs spares its most important ones. Then whichever head,
//! virtual or task page, has the larger importance sum takes its least-cost unmatched partner
//! on the other side, until the level's pages are matched. Ties go to the lowest index.
//!
//! `--faithful` compares a task page not with the weights already stored on a virtual page but
//! with the virtual page's initial values (seeded N(0, 0.01)), as the reference's sequential
//! mode does before any retraining, and gives a task whose weight count is a multiple of the
//! page size a whole extra page.

use super::matchers::{identity, within_lap_max, MatchOptions, Matcher, Memory};
use super::packing::{pair_cost, Occupancy};
use crate::family::NotApplicable;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, Normal};

pub struct Greedy;

impl Matcher for Greedy {
    fn name(&self) -> &'static str {
        "nwv-greedy"
    }
    fn summary(&self) -> &'static str {
        "the reference's greedy matching by occupancy level and importance order (deterministic; --faithful for its quirks)"
    }
    fn applies(
        &self,
        _tasks: &[super::task::Task],
        _s: usize,
        v: usize,
        o: &MatchOptions,
    ) -> Result<(), NotApplicable> {
        within_lap_max(v, o)
    }
    fn place(&self, mem: &Memory, i: usize, o: &MatchOptions) -> Vec<usize> {
        let n = mem.pages(i, o);
        if mem.is_empty() {
            return identity(n);
        }
        let occ = mem.occupancy();
        let cost = if o.faithful { faithful_costs(mem, i, o, &occ) } else { mem.cost_matrix(i, o, &occ) };
        let s = mem.page_size;
        let mine = mem.tasks[i].page_sums(s);
        let task_sum = |p: usize| mine.get(p).copied().unwrap_or(0.0);
        let sums: Vec<Vec<f64>> = mem
            .tables
            .iter()
            .enumerate()
            .map(|(j, t)| if t.is_some() { mem.tasks[j].page_sums(s) } else { Vec::new() })
            .collect();
        let virt_sum = |v: usize| occ[v].iter().map(|&(j, q)| sums[j].get(q).copied().unwrap_or(0.0)).sum::<f64>();
        let desc = |a: f64, b: f64| b.partial_cmp(&a).unwrap_or(std::cmp::Ordering::Equal);
        let mut table = vec![usize::MAX; n];
        let mut unmatched: Vec<usize> = (0..n).collect();
        let top = occ.iter().map(Vec::len).max().unwrap_or(0);
        for level in 0..=top {
            if unmatched.is_empty() {
                break;
            }
            let mut a: Vec<usize> = (0..mem.virtual_pages).filter(|&v| occ[v].len() == level).collect();
            if a.is_empty() {
                continue;
            }
            a.sort_by(|&x, &y| desc(virt_sum(x), virt_sum(y)).then(x.cmp(&y)));
            unmatched.sort_by(|&x, &y| desc(task_sum(x), task_sum(y)).then(x.cmp(&y)));
            let k = a.len().min(unmatched.len());
            let b: Vec<usize> = unmatched[..k].to_vec();
            let a: Vec<usize> = a[a.len() - k..].to_vec();
            let (mut a_done, mut b_done) = (vec![false; k], vec![false; k]);
            let (mut ha, mut hb) = (0, 0);
            for _ in 0..k {
                while a_done[ha] {
                    ha += 1;
                }
                while b_done[hb] {
                    hb += 1;
                }
                let least = |row: &mut dyn Iterator<Item = (usize, f64)>| {
                    row.fold((usize::MAX, f64::INFINITY), |best, (idx, c)| if c < best.1 { (idx, c) } else { best }).0
                };
                let (x, y) = if virt_sum(a[ha]) > task_sum(b[hb]) {
                    let v = a[ha];
                    let y = least(&mut (0..k).filter(|&y| !b_done[y]).map(|y| (y, cost[b[y]][v])));
                    (ha, y)
                } else {
                    let p = b[hb];
                    let x = least(&mut (0..k).filter(|&x| !a_done[x]).map(|x| (x, cost[p][a[x]])));
                    (x, hb)
                };
                a_done[x] = true;
                b_done[y] = true;
                table[b[y]] = a[x];
            }
            unmatched.retain(|&p| table[p] == usize::MAX);
        }
        table
    }
}

/// The reference's sequential-mode costs: each task page against the virtual page's initial
/// values, weighted by the page's importance plus that of everything stored there.
fn faithful_costs(mem: &Memory, i: usize, o: &MatchOptions, occ: &Occupancy) -> Vec<Vec<f64>> {
    let s = mem.page_size;
    let mut rng = ChaCha8Rng::seed_from_u64(o.seed ^ 0x6e77_7669);
    let d = Normal::new(0.0f64, 0.01).expect("a positive deviation");
    let init: Vec<f32> = (0..mem.virtual_pages * s).map(|_| d.sample(&mut rng) as f32).collect();
    let stored: Vec<Vec<f32>> = occ
        .iter()
        .map(|on| {
            let mut f = vec![0.0f32; s];
            for &(j, q) in on {
                if q < mem.tasks[j].pages(s) {
                    for (a, b) in f.iter_mut().zip(mem.tasks[j].page(q, s).1) {
                        *a += b;
                    }
                }
            }
            f
        })
        .collect();
    let t = &mem.tasks[i];
    (0..mem.pages(i, o))
        .map(|p| {
            (0..mem.virtual_pages)
                .map(|v| {
                    if p >= t.pages(s) {
                        return 0.0;
                    }
                    let (w, f) = t.page(p, s);
                    pair_cost(w, f, &init[v * s..v * s + s], &stored[v])
                })
                .collect()
        })
        .collect()
}

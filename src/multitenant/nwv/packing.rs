//! A packing of many tasks' weight pages onto one virtual memory: the page tables, what each
//! virtual page holds, the Fisher-weighted cost of sharing, the virtual weights that minimise
//! it and each task's predicted loss increase, and the gather that switches a task in.

use super::task::Task;
use serde::Serialize;

/// Page tables onto `virtual_pages` pages of `page_size` weights: `tables[i][p]` is the
/// virtual page of task `i`'s weights `[p·S, p·S + S)`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Packing {
    pub page_size: usize,
    pub virtual_pages: usize,
    pub tables: Vec<Vec<usize>>,
}

/// `(task, page)` pairs on each virtual page.
pub type Occupancy = Vec<Vec<(usize, usize)>>;

impl Packing {
    pub fn occupancy(&self) -> Occupancy {
        let mut occ = vec![Vec::new(); self.virtual_pages];
        for (i, t) in self.tables.iter().enumerate() {
            for (p, &v) in t.iter().enumerate() {
                if let Some(o) = occ.get_mut(v) {
                    o.push((i, p));
                }
            }
        }
        occ
    }

    /// Σ weights / (V · S).
    pub fn ratio(&self, tasks: &[Task]) -> f64 {
        tasks.iter().map(|t| t.len() as f64).sum::<f64>() / (self.virtual_pages * self.page_size) as f64
    }
}

/// `C(p, q) = Σ_k (θ_p[k] − θ_q[k])² (F_p[k] + F_q[k])` over the positions both pages have and
/// where both importances are > 0 (a padded position has none).
pub fn pair_cost(wa: &[f32], fa: &[f32], wb: &[f32], fb: &[f32]) -> f64 {
    let mut c = 0.0;
    for k in 0..wa.len().min(wb.len()) {
        let (x, y) = (fa[k], fb[k]);
        if x > 0.0 && y > 0.0 {
            let d = wa[k] as f64 - wb[k] as f64;
            c += d * d * (x as f64 + y as f64);
        }
    }
    c
}

/// The cost of putting page `p` of `task` beside `occupants` (0 on a free page).
pub fn page_cost(tasks: &[Task], s: usize, task: usize, p: usize, occupants: &[(usize, usize)]) -> f64 {
    let (w, f) = tasks[task].page(p, s);
    occupants
        .iter()
        .map(|&(j, q)| {
            let (wq, fq) = tasks[j].page(q, s);
            pair_cost(w, f, wq, fq)
        })
        .sum()
}

/// The packing's cost: every pair of task pages sharing a virtual page, once.
pub fn total_cost(tasks: &[Task], pk: &Packing) -> f64 {
    pair_costs(tasks, pk).iter().flatten().sum::<f64>() / 2.0
}

/// The cost between each pair of tasks (symmetric, zero diagonal).
pub fn pair_costs(tasks: &[Task], pk: &Packing) -> Vec<Vec<f64>> {
    let m = tasks.len();
    let mut c = vec![vec![0.0; m]; m];
    for occ in pk.occupancy() {
        for (a, &(i, p)) in occ.iter().enumerate() {
            for &(j, q) in &occ[a + 1..] {
                let x = page_cost(tasks, pk.page_size, i, p, &[(j, q)]);
                c[i][j] += x;
                c[j][i] += x;
            }
        }
    }
    c
}

/// The virtual weights that minimise the penalty: at every position the importance-weighted
/// mean of the weights stored there (the plain mean where every importance is 0; 0 where
/// nothing is stored).
pub fn virtual_weights(tasks: &[Task], pk: &Packing) -> Vec<f32> {
    let s = pk.page_size;
    let mut num = vec![0.0f64; pk.virtual_pages * s];
    let mut den = vec![0.0f64; pk.virtual_pages * s];
    let mut sum = vec![0.0f64; pk.virtual_pages * s];
    let mut cnt = vec![0u32; pk.virtual_pages * s];
    for (t, table) in tasks.iter().zip(&pk.tables) {
        for (x, (&w, &f)) in t.weights.iter().zip(&t.importance).enumerate() {
            let y = table[x / s] * s + x % s;
            num[y] += f as f64 * w as f64;
            den[y] += f as f64;
            sum[y] += w as f64;
            cnt[y] += 1;
        }
    }
    (0..num.len())
        .map(|y| match (den[y] > 0.0, cnt[y]) {
            (true, _) => (num[y] / den[y]) as f32,
            (false, 0) => 0.0,
            (false, n) => (sum[y] / n as f64) as f32,
        })
        .collect()
}

/// Task `n` weights read back through its page table: `w[x] = virt[f(x / S)·S + x mod S]`.
pub fn gather(virt: &[f32], table: &[usize], s: usize, n: usize) -> Vec<f32> {
    (0..n).map(|x| virt[table[x / s] * s + x % s]).collect()
}

/// Each task's quadratic estimate of its loss increase, `½ Σ_k F[k] (θ*[k] − θ[k])²`.
pub fn loss_increase(tasks: &[Task], pk: &Packing, virt: &[f32]) -> Vec<f64> {
    tasks
        .iter()
        .zip(&pk.tables)
        .map(|(t, table)| {
            let g = gather(virt, table, pk.page_size, t.len());
            0.5 * t
                .weights
                .iter()
                .zip(&t.importance)
                .zip(&g)
                .map(|((&w, &f), &v)| f as f64 * (v as f64 - w as f64).powi(2))
                .sum::<f64>()
        })
        .collect()
}

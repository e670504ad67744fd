//! The family's checker, the only judge of a packing. It shares nothing with the matchers or
//! with `packing.rs`: it re-derives, weight by weight, where every task's weights live in the
//! virtual memory, and from that the page tables' validity, the occupancy, the cost of
//! sharing, the virtual weights and each task's loss increase, and compares them with what the
//! method claimed.

use super::packing::Packing;
use super::task::Task;

/// What a method claims about its packing.
#[derive(Debug, Clone)]
pub struct Claim {
    pub packing: Packing,
    /// Tables may carry the reference's extra page (a weight count that is a multiple of S).
    pub padded: bool,
    pub cost: f64,
    pub loss_increase: Vec<f64>,
    pub virtual_weights: Vec<f32>,
}

/// What the checker derived.
#[derive(Debug, Clone, Default)]
pub struct Report {
    pub violations: Vec<String>,
    pub cost: f64,
    pub loss_increase: Vec<f64>,
    /// Virtual pages holding exactly k task pages, for k = 0, 1, ….
    pub levels: Vec<usize>,
    pub ratio: f64,
}

fn close(a: f64, b: f64, rel: f64) -> bool {
    (a - b).abs() <= rel * a.abs().max(b.abs()).max(1e-12)
}

/// Checks `claim` for `tasks`.
pub fn check(tasks: &[Task], claim: &Claim) -> Report {
    let pk = &claim.packing;
    let (s, v) = (pk.page_size, pk.virtual_pages);
    let mut r = Report::default();
    let mut bad = |m: String| r.violations.push(m);
    if pk.tables.len() != tasks.len() || s == 0 {
        bad(format!("{} page tables for {} tasks (page size {s})", pk.tables.len(), tasks.len()));
        return r;
    }
    let mut holds: Vec<u32> = vec![0; v];
    for (t, table) in tasks.iter().zip(&pk.tables) {
        let want = t.len().div_ceil(s);
        let extra = claim.padded && t.len() % s == 0;
        if table.len() != want && !(extra && table.len() == want + 1) {
            bad(format!("task {}: {} pages in its table, {want} needed", t.name, table.len()));
        }
        let mut seen = vec![false; v];
        for (p, &x) in table.iter().enumerate() {
            if x >= v {
                bad(format!("task {}: page {p} on virtual page {x}, beyond {v}", t.name));
            } else if std::mem::replace(&mut seen[x], true) {
                bad(format!("task {}: two pages on virtual page {x}", t.name));
            } else {
                holds[x] += 1;
            }
        }
    }
    if !r.violations.is_empty() {
        return r;
    }
    // Every stored weight at its virtual position, (task, weight, importance), as one flat
    // array with an offset per position.
    let slots = v * s;
    let mut start = vec![0usize; slots + 1];
    for (t, table) in tasks.iter().zip(&pk.tables) {
        for x in 0..t.len() {
            start[table[x / s] * s + x % s + 1] += 1;
        }
    }
    for y in 0..slots {
        start[y + 1] += start[y];
    }
    let mut fill = start.clone();
    let mut flat = vec![(0u32, 0f32, 0f32); start[slots]];
    for (i, (t, table)) in tasks.iter().zip(&pk.tables).enumerate() {
        for x in 0..t.len() {
            let y = table[x / s] * s + x % s;
            flat[fill[y]] = (i as u32, t.weights[x], t.importance[x]);
            fill[y] += 1;
        }
    }
    let at = |y: usize| &flat[start[y]..start[y + 1]];
    let mut cost = 0.0f64;
    let mut star = vec![0.0f64; v * s];
    for y in 0..slots {
        let here = at(y);
        for (a, &(_, wa, fa)) in here.iter().enumerate() {
            for &(_, wb, fb) in &here[a + 1..] {
                if fa > 0.0 && fb > 0.0 {
                    cost += (fa as f64 + fb as f64) * (wa as f64 - wb as f64).powi(2);
                }
            }
        }
        let den: f64 = here.iter().map(|e| e.2 as f64).sum();
        star[y] = if den > 0.0 {
            here.iter().map(|e| e.2 as f64 * e.1 as f64).sum::<f64>() / den
        } else if here.is_empty() {
            0.0
        } else {
            here.iter().map(|e| e.1 as f64).sum::<f64>() / here.len() as f64
        };
    }
    let mut loss = vec![0.0f64; tasks.len()];
    for (y, &value) in star.iter().enumerate() {
        let here = at(y);
        // The memory holds float32: the loss is that of the stored value.
        let stored = value as f32 as f64;
        for &(i, w, f) in here {
            loss[i as usize] += 0.5 * f as f64 * (stored - w as f64).powi(2);
        }
    }
    let top = holds.iter().copied().max().unwrap_or(0) as usize;
    let mut levels = vec![0; top + 1];
    for &h in &holds {
        levels[h as usize] += 1;
    }
    let mut bad = |m: String| r.violations.push(m);
    if !close(cost, claim.cost, 1e-9) {
        bad(format!("claimed cost {} but the stored weights cost {cost}", claim.cost));
    }
    if claim.loss_increase.len() != tasks.len() {
        bad(format!("{} loss increases for {} tasks", claim.loss_increase.len(), tasks.len()));
    } else {
        for (t, (&a, &b)) in tasks.iter().zip(claim.loss_increase.iter().zip(&loss)) {
            if !close(a, b, 1e-6) && (a - b).abs() > 1e-12 {
                bad(format!("task {}: claimed loss increase {a}, derived {b}", t.name));
            }
        }
    }
    if claim.virtual_weights.len() != v * s {
        bad(format!("{} virtual weights for {v} pages of {s}", claim.virtual_weights.len()));
    } else if let Some(y) = (0..v * s).find(|&y| {
        let (a, b) = (claim.virtual_weights[y] as f64, star[y]);
        (a - b).abs() > 1e-6 * a.abs().max(b.abs()).max(1e-6)
    }) {
        bad(format!("virtual weight {y} is {} where the weighted mean is {}", claim.virtual_weights[y], star[y]));
    }
    let weights: f64 = tasks.iter().map(|t| t.len() as f64).sum();
    r.cost = cost;
    r.loss_increase = loss;
    r.levels = levels;
    r.ratio = weights / (v * s) as f64;
    r
}

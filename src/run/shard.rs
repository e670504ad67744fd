//! `--shard I/N`: one of N disjoint parts of a sweep, so that N machines (an array job's
//! tasks) together run every cell once. Cells whose time an earlier run's results know
//! (`--shard-costs`) are dealt out longest first, each to the part with the least time so far;
//! every other cell belongs to the part its identity hashes to (workload name and content
//! hash, algorithm, options). Every shard computes the same partition from the same sweep and
//! the same costs, on any machine.

use crate::results::Record;
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::sync::RwLock;

/// Part `index` (from 0) of `count`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shard {
    pub index: usize,
    pub count: usize,
}

impl std::fmt::Display for Shard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

/// Parses `I/N` with 0 ≤ I < N.
pub fn parse(s: &str) -> Result<Shard, String> {
    let (i, n) = s.split_once('/').ok_or_else(|| format!("{s:?}: expected I/N, for example 0/4"))?;
    let (index, count) = (i.trim().parse::<usize>(), n.trim().parse::<usize>());
    match (index, count) {
        (Ok(index), Ok(count)) if count >= 1 && index < count => Ok(Shard { index, count }),
        _ => Err(format!("{s:?}: expected I/N with N ≥ 1 and 0 ≤ I < N")),
    }
}

/// The part of the cell with this identity among `count`, by its hash.
pub fn part_of(r: &Record, count: usize) -> usize {
    let d = key(r);
    (u64::from_le_bytes([d[0], d[1], d[2], d[3], d[4], d[5], d[6], d[7]]) % count as u64) as usize
}

/// Expected seconds per (workload, objective kind, algorithm).
pub type Costs = HashMap<(String, String, String), f64>;

static CURRENT: RwLock<Option<(Shard, Costs)>> = RwLock::new(None);

/// The shard this process runs and the costs it balances by (set once per command).
pub fn set(shard: Option<Shard>, costs: Costs) {
    *CURRENT.write().unwrap_or_else(|e| e.into_inner()) = shard.map(|s| (s, costs));
}

pub fn current() -> Option<Shard> {
    CURRENT.read().unwrap_or_else(|e| e.into_inner()).as_ref().map(|c| c.0)
}

/// `--shard-costs`: the file read at parse time, so that a bad one stops the command.
pub fn parse_costs(s: &str) -> Result<Costs, String> {
    read_costs(std::path::Path::new(s)).map_err(|e| e.to_string())
}

/// The wall seconds of every cell of an earlier run's results.
pub fn read_costs(path: &std::path::Path) -> crate::Result<Costs> {
    let (_, records) = crate::results::load_results(path)?;
    Ok(records.into_iter().map(|r| ((r.workload, r.objective_kind, r.algorithm), r.wall_seconds.max(0.0))).collect())
}

/// The part of each cell: those with a known cost longest first onto the least-loaded part
/// (ties to the lower part), the rest by their hash.
pub fn assign(headers: &[Record], count: usize, costs: &Costs) -> Vec<usize> {
    let cost = |r: &Record| costs.get(&(r.workload.clone(), r.objective_kind.clone(), r.algorithm.clone())).copied();
    let mut part: Vec<usize> = headers.iter().map(|r| part_of(r, count)).collect();
    let mut known: Vec<(usize, f64)> = headers.iter().enumerate().filter_map(|(i, r)| Some((i, cost(r)?))).collect();
    // Longest first; equal costs in the order of their hash, which no cell order changes.
    known.sort_by(|a, b| b.1.total_cmp(&a.1).then(key(&headers[a.0]).cmp(&key(&headers[b.0]))));
    let mut load = vec![0.0f64; count];
    for (i, c) in known {
        let p = (0..count).min_by(|&x, &y| load[x].total_cmp(&load[y]).then(x.cmp(&y))).unwrap_or(0);
        load[p] += c;
        part[i] = p;
    }
    part
}

fn key(r: &Record) -> [u8; 32] {
    let mut h = Sha256::new();
    for field in [&r.workload, &r.workload_hash, &r.algorithm, &r.options] {
        h.update(field.as_bytes());
        h.update([0]);
    }
    h.finalize().into()
}

/// Of `headers`, the cells this process runs (all without a shard).
pub fn mine(headers: &[Record]) -> Vec<bool> {
    let guard = CURRENT.read().unwrap_or_else(|e| e.into_inner());
    match guard.as_ref() {
        None => vec![true; headers.len()],
        Some((s, costs)) => assign(headers, s.count, costs).into_iter().map(|p| p == s.index).collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_refuses() {
        assert_eq!(parse("2/4"), Ok(Shard { index: 2, count: 4 }));
        assert_eq!(parse("0/1"), Ok(Shard { index: 0, count: 1 }));
        for bad in ["4/4", "1", "a/3", "0/0", "-1/3"] {
            assert!(parse(bad).is_err(), "{bad}");
        }
    }

    /// Every identity lands in exactly one of N parts, and the parts are not lopsided.
    #[test]
    fn parts_are_disjoint_and_cover() {
        let mut seen = vec![0usize; 4];
        for i in 0..400 {
            let r = Record::new(&format!("w{i}"), "h", "throughput", "dp", String::new(), 0);
            let p = part_of(&r, 4);
            assert!(p < 4);
            assert_eq!(p, part_of(&r, 4));
            seen[p] += 1;
        }
        assert!(seen.iter().all(|&n| n > 60), "{seen:?}");
    }

    /// Known costs are dealt longest first to the least-loaded part: 8, 5, 4, 3, 2 over two
    /// parts give {8, 3} and {5, 4, 2}, 11 each; cells without a cost keep their hash's part;
    /// the partition does not depend on the cells' order.
    #[test]
    fn known_costs_are_balanced_longest_first() {
        let cell = |w: &str| Record::new(w, "h", "throughput", "ip", String::new(), 0);
        let mut costs = Costs::new();
        for (w, c) in [("a", 8.0), ("b", 5.0), ("c", 4.0), ("d", 3.0), ("e", 2.0)] {
            costs.insert((w.into(), "throughput".into(), "ip".into()), c);
        }
        let cells: Vec<Record> = ["a", "b", "c", "d", "e", "z"].iter().map(|w| cell(w)).collect();
        let parts = assign(&cells, 2, &costs);
        let load = |p: usize| (0..5).filter(|&i| parts[i] == p).map(|i| [8.0, 5.0, 4.0, 3.0, 2.0][i]).sum::<f64>();
        assert_eq!((parts[0], parts[1], parts[2]), (0, 1, 1));
        assert_eq!((load(0), load(1)), (11.0, 11.0));
        assert_eq!(parts[5], part_of(&cells[5], 2));
        let mut reversed = cells.clone();
        reversed.reverse();
        let back = assign(&reversed, 2, &costs);
        assert_eq!(back.iter().rev().copied().collect::<Vec<_>>(), parts);
    }
}

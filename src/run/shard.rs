//! `--shard I/N`: one of N disjoint parts of a sweep, so that N machines (an array job's
//! tasks) together run every cell once. A cell belongs to the shard its identity hashes to
//! (workload name and content hash, algorithm, options), so the partition is the same on any
//! machine and does not depend on which other cells the sweep has.

use crate::results::Record;
use sha2::{Digest, Sha256};
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

/// The part of the cell with this identity among `count`.
pub fn part_of(r: &Record, count: usize) -> usize {
    let mut h = Sha256::new();
    for field in [&r.workload, &r.workload_hash, &r.algorithm, &r.options] {
        h.update(field.as_bytes());
        h.update([0]);
    }
    let d = h.finalize();
    (u64::from_le_bytes([d[0], d[1], d[2], d[3], d[4], d[5], d[6], d[7]]) % count as u64) as usize
}

static CURRENT: RwLock<Option<Shard>> = RwLock::new(None);

/// The shard this process runs (set once per command from its arguments).
pub fn set(shard: Option<Shard>) {
    *CURRENT.write().unwrap_or_else(|e| e.into_inner()) = shard;
}

pub fn current() -> Option<Shard> {
    *CURRENT.read().unwrap_or_else(|e| e.into_inner())
}

/// Whether the cell with this identity is run here.
pub fn owns(r: &Record) -> bool {
    current().is_none_or(|s| part_of(r, s.count) == s.index)
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
}

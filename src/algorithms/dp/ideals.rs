//! The lattice of ideals (down-sets) of the atoms' forward DAG, level by level, with the
//! "remove one maximal atom" links that the DP walks to list every sub-ideal of an ideal.

use crate::algorithms::atoms::Atoms;
use std::collections::HashMap;
use std::time::Instant;

/// The most memory the ideals' bitsets may take (64-bit words: 2 GiB); a long chain of
/// 100,000 atoms has as many ideals, each a bitset of all of them, and would take 1.25 GB.
pub const WORDS_LIMIT: usize = 1 << 28;

/// Why the ideals were not all enumerated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stop {
    /// More ideals than the limit (the count found so far).
    Ideals(usize),
    /// Their bitsets would pass `WORDS_LIMIT` (the ideals found so far).
    Memory(usize),
    /// The deadline passed.
    Deadline,
}

/// Ideals sorted by size (level), each a bitset over atoms.
pub struct Lattice {
    words: usize,
    bits: Vec<u64>,
    /// Level `s` holds the ideals `level_start[s]..level_start[s + 1]` (all of size `s`).
    pub level_start: Vec<usize>,
    down_start: Vec<u32>,
    /// (removed atom, resulting ideal) for every maximal atom of every ideal.
    down: Vec<(u32, u32)>,
}

impl Lattice {
    pub fn len(&self) -> usize {
        self.down_start.len() - 1
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn levels(&self) -> usize {
        self.level_start.len() - 1
    }

    /// The ideal with every atom.
    pub fn full(&self) -> usize {
        self.len() - 1
    }

    pub fn contains(&self, ideal: usize, atom: usize) -> bool {
        self.bits[ideal * self.words + atom / 64] >> (atom % 64) & 1 == 1
    }

    /// Links from `ideal` to its immediate sub-ideals.
    #[inline]
    pub fn down(&self, ideal: usize) -> &[(u32, u32)] {
        &self.down[self.down_start[ideal] as usize..self.down_start[ideal + 1] as usize]
    }
}

/// Enumerates the ideals, stopping at more than `limit`, at `WORDS_LIMIT` and at `deadline`.
pub fn enumerate(atoms: &Atoms, limit: usize, deadline: Option<Instant>) -> Result<Lattice, Stop> {
    let n = atoms.len();
    let words = n.div_ceil(64).max(1);
    let mut bits = vec![0u64; words];
    let mut level_start = vec![0, 1];
    let mut down_lists: Vec<Vec<(u32, u32)>> = vec![Vec::new()];
    let mut candidate = vec![0u64; words];
    for level in 0..n {
        let (lo, hi) = (level_start[level], level_start[level + 1]);
        let mut index: HashMap<Vec<u64>, u32> = HashMap::new();
        for i in lo..hi {
            // A clock read per 64 ideals: each ideal scans every atom.
            if i % 64 == 0 && deadline.is_some_and(|d| Instant::now() > d) {
                return Err(Stop::Deadline);
            }
            let base = i * words;
            for a in 0..n {
                let has = |x: usize| bits[base + x / 64] >> (x % 64) & 1 == 1;
                if has(a) || !atoms.pred[a].iter().all(|&p| has(p)) {
                    continue;
                }
                candidate.copy_from_slice(&bits[base..base + words]);
                candidate[a / 64] |= 1 << (a % 64);
                let id = match index.get(candidate.as_slice()) {
                    Some(&id) => id,
                    None => {
                        let id = (hi + index.len()) as u32;
                        if id as usize >= limit {
                            return Err(Stop::Ideals(id as usize + 1));
                        }
                        if bits.len() + words > WORDS_LIMIT {
                            return Err(Stop::Memory(id as usize));
                        }
                        index.insert(candidate.clone(), id);
                        bits.extend_from_slice(&candidate);
                        down_lists.push(Vec::new());
                        id
                    }
                };
                down_lists[id as usize].push((a as u32, i as u32));
            }
        }
        level_start.push(hi + index.len());
    }
    let mut down_start = Vec::with_capacity(down_lists.len() + 1);
    let mut down = Vec::new();
    down_start.push(0u32);
    for l in down_lists {
        down.extend(l);
        down_start.push(down.len() as u32);
    }
    Ok(Lattice { words, bits, level_start, down_start, down })
}

//! Candidate configurations.
//!
//! The paper's Algorithm 2 takes the distinct permutations of the resource multiset (G GPUs,
//! N cores) and, for k nodes, every choice of k − 1 cut points; its count C(|V|, k − 1)
//! allows an empty node (there are |V| − 1 gaps), and since cores are identical most of the
//! permutations give the same pipeline. The canonical enumeration instead lists sequences of k
//! valid nodes directly: every node has at least one core (a GPU node its issuing core), at
//! most one GPU each, Σ GPUs ≤ G and Σ cores = N (≤ N with idle cores). With all N cores
//! there are `C(N − 1, k − 1) · Σ_{j ≤ min(G, k)} C(k, j)` of them for k nodes.

use super::model::{Config, Node, Platform};
use std::collections::BTreeSet;

/// Every configuration of 1 to `p.max_nodes` nodes, in order of length then lexicographic.
pub fn candidates(p: &Platform) -> Vec<Config> {
    let mut out = Vec::new();
    for k in 1..=p.max_nodes {
        let mut cur = Vec::with_capacity(k);
        extend(p, k, p.gpus, p.cores, &mut cur, &mut out);
    }
    out
}

fn extend(p: &Platform, k: usize, gpus: u32, cores: u32, cur: &mut Config, out: &mut Vec<Config>) {
    if cur.len() == k {
        if cores == 0 || p.idle_cores {
            out.push(cur.clone());
        }
        return;
    }
    let left = (k - cur.len() - 1) as u32;
    // Leave at least one core for each node still to come.
    for c in 1..=cores.saturating_sub(left) {
        for gpu in [false, true] {
            if gpu && gpus == 0 {
                continue;
            }
            cur.push(Node { gpu, cores: c });
            extend(p, k, gpus - gpu as u32, cores - c, cur, out);
            cur.pop();
        }
    }
}

fn binomial(n: u64, k: u64) -> u64 {
    if k > n {
        return 0;
    }
    (0..k).fold(1u64, |acc, i| acc * (n - i) / (i + 1))
}

/// The number of configurations of `k` nodes using all `cores` and at most `gpus` GPUs.
pub fn count(gpus: u32, cores: u32, k: usize) -> u64 {
    let k64 = k as u64;
    let gpu_sets: u64 = (0..=(gpus as u64).min(k64)).map(|j| binomial(k64, j)).sum();
    binomial(cores as u64 - 1, k64 - 1) * gpu_sets
}

/// The paper's enumeration, its binomial corrected: distinct permutations of the multiset of
/// `gpus` GPUs and `cores` cores, cut at k − 1 of the |V| − 1 gaps, invalid nodes dropped,
/// duplicates removed. Every resource is used (run it for each GPU count to compare with
/// [`candidates`]).
pub fn literal(gpus: u32, cores: u32, max_nodes: usize) -> BTreeSet<Config> {
    let n = (gpus + cores) as usize;
    let mut perms = BTreeSet::new();
    // A permutation of a multiset of two kinds is the set of positions holding a GPU.
    for mask in 0u32..(1 << n) {
        if mask.count_ones() == gpus {
            perms.insert(mask);
        }
    }
    let mut out = BTreeSet::new();
    for &mask in &perms {
        for k in 1..=max_nodes.min(n) {
            for cuts in 0u32..(1 << (n - 1)) {
                if cuts.count_ones() as usize != k - 1 {
                    continue;
                }
                let mut cfg = Vec::with_capacity(k);
                let (mut g, mut c) = (0u32, 0u32);
                for pos in 0..n {
                    if mask >> pos & 1 == 1 {
                        g += 1;
                    } else {
                        c += 1;
                    }
                    if pos == n - 1 || cuts >> pos & 1 == 1 {
                        cfg.push((g, c));
                        (g, c) = (0, 0);
                    }
                }
                if cfg.iter().all(|&(g, c)| g <= 1 && c >= 1) {
                    out.insert(cfg.into_iter().map(|(g, c)| Node { gpu: g == 1, cores: c }).collect());
                }
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_follow_the_closed_form() {
        let p = Platform { gpus: 1, cores: 4, idle_cores: false, max_nodes: 4, ..Platform::h200_host() };
        let all = candidates(&p);
        for k in 1..=4 {
            let n = all.iter().filter(|c| c.len() == k).count() as u64;
            assert_eq!(n, count(1, 4, k), "k = {k}");
        }
        // k = 1: {4 cores}, {GPU + 4 cores}.
        assert_eq!(count(1, 4, 1), 2);
        assert!(all.iter().all(|c| c.iter().all(Node::valid)));
    }
}

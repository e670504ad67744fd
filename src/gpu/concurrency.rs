//! How much of the stage formula's overlap different operators really get on one GPU.
//!
//! The stage formula ([`crate::hios::shared_stage_time`]) shares the GPU by each group's
//! occupancy, measured on copies of one operator. Graph-replayed IOS stages measured no
//! faster than one stream (README "Real GPUs"), so `bench profile` also times *peers*: each
//! operator beside an independent operator of the same depth (what a stage puts side by side),
//! warm, on two streams. Their **concurrency efficiency** is the share of the formula's gain
//! over running one after the other that the peers actually got, summed over all peers:
//! `η = Σ (serial − measured) / Σ (serial − formula)`. The issue model then charges a stage
//! `serial − η (serial − formula)` ([`stage_time`]): η = 1 is the formula, 0 one stream.
//!
//! The pure parts live here (choosing peers, fitting η, the stage time) so that they are tested
//! on the CPU; the timing itself is in the GPU executor.

use crate::zoo::graph::{Attrs, OpGraph, OpKind};

/// Whether `bench profile` and the executor launch a kernel for `op` (inputs and reshapes are
/// views of buffers that already exist).
pub fn launches(op: &crate::zoo::graph::Op) -> bool {
    !matches!(op.kind, OpKind::Input) && !matches!(op.attrs, Attrs::Reshape)
}

/// Per operator, the peer `bench profile` runs it beside: the latest operator before it in the
/// builder's (topological) order that launches a kernel, has the same depth (longest path from
/// an input, counted in operators) and is not one of its ancestors, so the two could share a
/// stage. `None` where no such operator exists (a chain) or the operator launches nothing.
pub fn peers(g: &OpGraph) -> Vec<Option<usize>> {
    let n = g.ops.len();
    let words = n.div_ceil(64);
    // Ancestors as bit sets: builder order is topological, so each row is final when read.
    let mut ancestors = vec![0u64; n * words];
    let mut depth = vec![0usize; n];
    for (i, op) in g.ops.iter().enumerate() {
        for &p in &op.inputs {
            depth[i] = depth[i].max(depth[p] + 1);
            ancestors[i * words + p / 64] |= 1 << (p % 64);
            for k in 0..words {
                ancestors[i * words + k] |= ancestors[p * words + k];
            }
        }
    }
    let is_ancestor = |a: usize, of: usize| ancestors[of * words + a / 64] >> (a % 64) & 1 == 1;
    (0..n)
        .map(|i| {
            if !launches(&g.ops[i]) {
                return None;
            }
            (0..i).rev().find(|&j| depth[j] == depth[i] && launches(&g.ops[j]) && !is_ancestor(j, i))
        })
        .collect()
}

/// The widest stage whose η `bench profile` measures apart; wider stages take its η.
pub const WIDEST: usize = 4;

/// η by a stage's group count: two groups, three, and [`WIDEST`] or more.
pub type ByGroups = [f64; WIDEST - 1];

/// `by`'s η for a stage of `groups` groups (one group is one stream whatever η is).
pub fn at(by: &ByGroups, groups: usize) -> f64 {
    by[groups.clamp(2, WIDEST) - 2]
}

/// Sets of `width` peers that `bench profile` times side by side: an operator, its peer, its
/// peer's peer and so on. All share a depth, so none is another's ancestor and they could form
/// one stage. At most `most` sets, spread evenly over the builder's order.
pub fn peer_sets(peers: &[Option<usize>], width: usize, most: usize) -> Vec<Vec<usize>> {
    let all: Vec<Vec<usize>> = (0..peers.len())
        .filter_map(|i| {
            let mut set = vec![i];
            while set.len() < width {
                set.push(peers[*set.last().expect("starts with i")]?);
            }
            Some(set)
        })
        .collect();
    if all.len() <= most {
        return all;
    }
    (0..most).map(|k| all[k * all.len() / most].clone()).collect()
}

/// Peers measured together, summed: their time side by side, one after the other (the sum of
/// their warm times alone), and by the stage formula with their warm occupancies.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct PeerSummary {
    /// Operators side by side in each set (2: an operator and its peer).
    pub groups: usize,
    /// How many sets were measured (pairs, for two groups).
    pub pairs: usize,
    pub measured_ms: f64,
    pub serial_ms: f64,
    pub formula_ms: f64,
    /// `η`, where the formula promised any gain: see the module's documentation.
    pub efficiency: Option<f64>,
    pub method: &'static str,
}

/// How `bench profile` times an operator beside its peer.
pub const PAIRS: &str = "each operator launched at once with its peer (the latest operator before it of the same depth that launches a kernel and is not its ancestor) on two streams, warm, own buffers, a CUDA graph of runs launches, median of five; formula: hios::shared_stage_time of the two warm times with their warm occupancies and the default beta; efficiency: (serial - measured) / (serial - formula), clamped to [-1, 1]";

/// How many sets of each width `bench profile` times at most ([`WIDE`] says the same).
pub const MOST_SETS: usize = 48;

/// How `bench profile` times wider sets of peers.
pub const WIDE: &str = "an operator, its peer, its peer's peer and so on (one depth), at most 48 sets spread over the model, forked onto one stream each and joined as the executor runs a stage under graph replay, own buffers, warm (and cold: after an L2 flush and the inputs read back in, less those reads); serial: the sum of their times alone from the operator profile; formula and efficiency as for pairs";

/// One measured set of peers: warm times alone, warm occupancies, and their time side by side.
#[derive(Debug, Clone)]
pub struct PeerSet {
    pub ms: Vec<f64>,
    pub occupancy: Vec<f64>,
    pub together_ms: f64,
}

/// Sums `sets` (each of `groups` operators) and fits η. It is clamped to [−1, 1]: above 1 the
/// peers beat the formula, below 0 they ran slower side by side than one after the other (the
/// raw sums are kept).
pub fn summarize(groups: usize, sets: &[PeerSet], method: &'static str) -> PeerSummary {
    let mut s = PeerSummary {
        groups,
        pairs: sets.len(),
        measured_ms: 0.0,
        serial_ms: 0.0,
        formula_ms: 0.0,
        efficiency: None,
        method,
    };
    for p in sets {
        s.measured_ms += p.together_ms;
        s.serial_ms += p.ms.iter().sum::<f64>();
        s.formula_ms += crate::hios::shared_stage_time(&p.ms, &p.occupancy, crate::hios::DEFAULT_BETA);
    }
    let promised = s.serial_ms - s.formula_ms;
    if promised > 0.0 {
        s.efficiency = Some(((s.serial_ms - s.measured_ms) / promised).clamp(-1.0, 1.0));
    }
    s
}

/// A stage's time from its groups' times alone `gw` and occupancies `gu`, when different
/// operators get the share `efficiency` of the formula's gain over one stream.
pub fn stage_time(gw: &[f64], gu: &[f64], efficiency: f64) -> f64 {
    let serial: f64 = gw.iter().sum();
    let formula = crate::hios::shared_stage_time(gw, gu, crate::hios::DEFAULT_BETA);
    // Written from the formula's side so that η = 1 gives the formula's bits exactly.
    formula + (1.0 - efficiency) * (serial - formula)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// x → a → {b, c}; b → d; {c, d} → e. Depths: x 0, a 1, b 2, c 2, d 3, e 4.
    fn diamond() -> OpGraph {
        let mut g = OpGraph::default();
        let x = g.input("x", vec![1, 8]);
        let a = g.activation("a", x);
        let b = g.activation("b", a);
        let c = g.activation("c", a);
        let d = g.activation("d", b);
        g.add("e", &[c, d]);
        g
    }

    #[test]
    fn peers_are_independent_operators_of_the_same_depth() {
        let g = diamond();
        // b and c share depth 2 and neither is the other's ancestor; nothing else has a peer
        // (every other depth holds one operator).
        assert_eq!(peers(&g), vec![None, None, None, Some(2), None, None]);
    }

    #[test]
    fn an_ancestor_is_never_a_peer() {
        // A chain: every operator has a depth of its own, and none has a peer.
        let mut g = OpGraph::default();
        let mut x = g.input("x", vec![1, 8]);
        for i in 0..4 {
            x = g.activation(&format!("r{i}"), x);
        }
        assert!(peers(&g).iter().all(Option::is_none));
    }

    #[test]
    fn efficiency_is_the_share_of_the_promised_gain_that_was_measured() {
        // Two 1 ms operators at u = 0.5: the formula runs them in 1 ms (gain 1 ms); measured
        // 1.75 ms, a quarter of that gain.
        let p = PeerSet { ms: vec![1.0, 1.0], occupancy: vec![0.5, 0.5], together_ms: 1.75 };
        let s = summarize(2, std::slice::from_ref(&p), PAIRS);
        assert_eq!((s.pairs, s.serial_ms, s.formula_ms, s.measured_ms), (1, 2.0, 1.0, 1.75));
        assert!((s.efficiency.unwrap() - 0.25).abs() < 1e-12);
        // Slower than one after the other: negative, clamped at −1.
        let slow = summarize(2, &[PeerSet { together_ms: 4.0, ..p.clone() }], PAIRS);
        assert_eq!(slow.efficiency, Some(-1.0));
        // Nothing promised (both fill the GPU, no oversubscription gain): no efficiency.
        let full = PeerSet { occupancy: vec![1.0, 1.0], together_ms: 2.0, ..p };
        assert_eq!(summarize(2, &[full], PAIRS).efficiency, None);
    }

    #[test]
    fn stage_time_runs_from_one_stream_to_the_formula() {
        let (gw, gu) = ([1.0, 1.0], [0.5, 0.5]);
        assert_eq!(stage_time(&gw, &gu, 0.0), 2.0);
        assert_eq!(stage_time(&gw, &gu, 1.0), crate::hios::shared_stage_time(&gw, &gu, crate::hios::DEFAULT_BETA));
        assert_eq!(stage_time(&gw, &gu, 0.25), 1.75);
        // One group is one stream whatever η is.
        assert_eq!(stage_time(&[3.0], &[0.5], 0.3), 3.0);
    }

    #[test]
    fn peer_sets_follow_peers_of_peers() {
        // Four operators of one depth after an input: each has the one before as its peer.
        let mut g = OpGraph::default();
        let x = g.input("x", vec![1, 8]);
        for i in 0..4 {
            g.activation(&format!("r{i}"), x);
        }
        let p = peers(&g);
        assert_eq!(p, vec![None, None, Some(1), Some(2), Some(3)]);
        assert_eq!(peer_sets(&p, 3, 10), vec![vec![3, 2, 1], vec![4, 3, 2]]);
        assert_eq!(peer_sets(&p, 4, 10), vec![vec![4, 3, 2, 1]]);
        assert!(peer_sets(&p, 5, 10).is_empty());
        // Spread evenly when capped: the first of the three and the middle one.
        assert_eq!(peer_sets(&p, 2, 2), vec![vec![2, 1], vec![3, 2]]);
        // Every set's operators share a depth, so none depends on another.
        for set in peer_sets(&p, 3, 10) {
            assert!(set.iter().all(|&a| set.iter().all(|&b| a == b || !g.ops[a].inputs.contains(&b))));
        }
    }

    #[test]
    fn the_wide_method_names_the_cap() {
        assert!(WIDE.contains(&format!("at most {MOST_SETS} sets")));
    }

    #[test]
    fn efficiency_by_group_count() {
        // Three 1 ms operators at u = 1/3: the formula runs them in 1 ms (gain 2 ms); measured
        // 1.5 ms, three quarters of it.
        let set = PeerSet { ms: vec![1.0; 3], occupancy: vec![1.0 / 3.0; 3], together_ms: 1.5 };
        let s = summarize(3, &[set], WIDE);
        assert_eq!((s.groups, s.pairs), (3, 1));
        assert!((s.formula_ms - 1.0).abs() < 1e-12, "{}", s.formula_ms);
        assert!((s.efficiency.unwrap() - 0.75).abs() < 1e-12);
        let by: ByGroups = [0.5, 0.6, 0.7];
        assert_eq!([at(&by, 1), at(&by, 2), at(&by, 3), at(&by, 4), at(&by, 9)], [0.5, 0.5, 0.6, 0.7, 0.7]);
    }
}

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

/// Peers measured together, summed: their time side by side, one after the other (the sum of
/// their warm times alone), and by the stage formula with their warm occupancies.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct PeerSummary {
    pub pairs: usize,
    pub measured_ms: f64,
    pub serial_ms: f64,
    pub formula_ms: f64,
    /// `η`, where the formula promised any gain: see the module's documentation.
    pub efficiency: Option<f64>,
    pub method: &'static str,
}

/// One measured peer pair: warm times alone, warm occupancies, and their time side by side.
#[derive(Debug, Clone, Copy)]
pub struct PeerPair {
    pub ms: [f64; 2],
    pub occupancy: [f64; 2],
    pub together_ms: f64,
}

/// Sums `pairs` and fits η. It is clamped to [−1, 1]: above 1 the peers beat the formula,
/// below 0 they ran slower side by side than one after the other (the raw sums are kept).
pub fn summarize(pairs: &[PeerPair]) -> PeerSummary {
    let mut s = PeerSummary {
        pairs: pairs.len(),
        measured_ms: 0.0,
        serial_ms: 0.0,
        formula_ms: 0.0,
        efficiency: None,
        method: "each operator launched at once with its peer (the latest operator before it of the same depth that launches a kernel and is not its ancestor) on two streams, warm, own buffers, a CUDA graph of runs launches, median of five; formula: hios::shared_stage_time of the two warm times with their warm occupancies and the default beta; efficiency: (serial - measured) / (serial - formula), clamped to [-1, 1]",
    };
    for p in pairs {
        s.measured_ms += p.together_ms;
        s.serial_ms += p.ms[0] + p.ms[1];
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
        let p = PeerPair { ms: [1.0, 1.0], occupancy: [0.5, 0.5], together_ms: 1.75 };
        let s = summarize(&[p]);
        assert_eq!((s.pairs, s.serial_ms, s.formula_ms, s.measured_ms), (1, 2.0, 1.0, 1.75));
        assert!((s.efficiency.unwrap() - 0.25).abs() < 1e-12);
        // Slower than one after the other: negative, clamped at −1.
        let slow = summarize(&[PeerPair { together_ms: 4.0, ..p }]);
        assert_eq!(slow.efficiency, Some(-1.0));
        // Nothing promised (both fill the GPU, no oversubscription gain): no efficiency.
        assert_eq!(summarize(&[PeerPair { occupancy: [1.0, 1.0], together_ms: 2.0, ..p }]).efficiency, None);
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
}

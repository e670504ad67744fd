//! Transformer stacks: a BERT encoder and a GPT-style decoder, as operator graphs of
//! projections, attention pieces (scores, softmax, context), norms and feed-forward layers.

use super::graph::OpGraph;

/// Sizes of a transformer.
#[derive(Debug, Clone, Copy)]
pub struct Transformer {
    pub layers: usize,
    pub hidden: usize,
    pub heads: usize,
    pub ffn: usize,
    pub vocab: usize,
    pub max_positions: usize,
}

impl Transformer {
    /// BERT-base: 12 layers, 768 hidden, 12 heads, 3072 feed-forward, WordPiece vocabulary.
    pub fn bert_base(layers: usize) -> Transformer {
        Transformer { layers, hidden: 768, heads: 12, ffn: 3072, vocab: 30522, max_positions: 512 }
    }

    /// GPT-2 small sizes.
    pub fn gpt2_small(layers: usize) -> Transformer {
        Transformer { layers, hidden: 768, heads: 12, ffn: 3072, vocab: 50257, max_positions: 1024 }
    }
}

/// One attention + feed-forward layer; `pre_norm` puts the norms before the sublayers (GPT-2)
/// instead of after the residual sum (BERT).
fn layer(g: &mut OpGraph, t: &Transformer, x: usize, batch: usize, seq: usize, pre_norm: bool) -> usize {
    let (h, d) = (t.heads, t.hidden / t.heads);
    let a_in = if pre_norm { g.layer_norm("ln_1", x) } else { x };
    let split = |g: &mut OpGraph, name: &str, y: usize| g.reshape(name, y, vec![batch * h, seq, d]);
    let q = g.linear("attention.query", a_in, t.hidden);
    let k = g.linear("attention.key", a_in, t.hidden);
    let v = g.linear("attention.value", a_in, t.hidden);
    let (q, k, v) =
        (split(g, "attention.q_heads", q), split(g, "attention.k_heads", k), split(g, "attention.v_heads", v));
    let s = g.batched_matmul("attention.scores", q, k, true);
    let p = g.softmax("attention.softmax", s);
    let c = g.batched_matmul("attention.context", p, v, false);
    let c = g.reshape("attention.merge_heads", c, vec![batch, seq, t.hidden]);
    let o = g.linear("attention.output", c, t.hidden);
    let r = g.add("attention.residual", &[o, x]);
    let r = if pre_norm { r } else { g.layer_norm("attention.layer_norm", r) };
    let f_in = if pre_norm { g.layer_norm("ln_2", r) } else { r };
    let f = g.linear("intermediate", f_in, t.ffn);
    let f = g.activation("gelu", f);
    let f = g.linear("output", f, t.hidden);
    let y = g.add("output.residual", &[f, r]);
    if pre_norm {
        y
    } else {
        g.layer_norm("output.layer_norm", y)
    }
}

/// A BERT encoder with its pooler (`layers` layers of BERT-base width).
pub fn bert(t: &Transformer, batch: usize, seq: usize) -> OpGraph {
    let mut g = OpGraph::default();
    let ids = g.input("input_ids", vec![batch, seq]);
    if seq > t.max_positions {
        g.broken("input_ids", format!("a sequence of {seq} is longer than the position table ({})", t.max_positions));
    }
    g.block("embeddings");
    let w = g.embedding("word_embeddings", ids, t.vocab, t.hidden);
    let p = g.embedding("position_embeddings", ids, t.max_positions, t.hidden);
    let ty = g.embedding("token_type_embeddings", ids, 2, t.hidden);
    let e = g.add("sum", &[w, p, ty]);
    let mut x = g.layer_norm("layer_norm", e);
    for l in 0..t.layers {
        g.block(format!("encoder.layer.{l}"));
        x = layer(&mut g, t, x, batch, seq, false);
    }
    g.block("pooler");
    let first = g.reshape("first_token", x, vec![batch, seq * t.hidden]);
    let first = g.reshape("select", first, vec![batch, seq, t.hidden]);
    let d = g.linear("dense", first, t.hidden);
    g.activation("tanh", d);
    g
}

/// A GPT-style decoder (pre-norm, tied output embedding counted once).
pub fn gpt(t: &Transformer, batch: usize, seq: usize) -> OpGraph {
    let mut g = OpGraph::default();
    let ids = g.input("input_ids", vec![batch, seq]);
    if seq > t.max_positions {
        g.broken("input_ids", format!("a sequence of {seq} is longer than the position table ({})", t.max_positions));
    }
    g.block("embeddings");
    let w = g.embedding("wte", ids, t.vocab, t.hidden);
    let p = g.embedding("wpe", ids, t.max_positions, t.hidden);
    let mut x = g.add("sum", &[w, p]);
    for l in 0..t.layers {
        g.block(format!("h.{l}"));
        x = layer(&mut g, t, x, batch, seq, true);
    }
    g.block("head");
    let x = g.layer_norm("ln_f", x);
    // The language-model head shares the token embedding's weights and has no bias.
    let logits = g.linear("lm_head", x, t.vocab);
    g.ops[logits].params = 0;
    g
}

#[cfg(test)]
mod tests {
    use super::*;

    /// BERT-base has 110 M parameters (Devlin et al. 2019).
    #[test]
    fn bert_base_matches_published_count() {
        let g = bert(&Transformer::bert_base(12), 1, 128);
        g.check_shapes().unwrap();
        let p = g.params() as f64;
        assert!((p - 110e6).abs() <= 0.02 * 110e6, "{p}");
    }

    /// GPT-2 small has 124 M parameters (Radford et al. 2019; 124,439,808 in the released
    /// checkpoint).
    #[test]
    fn gpt2_small_matches_published_count() {
        let g = gpt(&Transformer::gpt2_small(12), 1, 64);
        g.check_shapes().unwrap();
        let p = g.params() as f64;
        assert!((p - 124e6).abs() <= 0.02 * 124e6, "{p}");
    }
}

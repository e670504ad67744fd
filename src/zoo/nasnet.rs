//! NASNet-A (Zoph et al. 2018) as Keras's `NASNetLarge` and `NASNetMobile` define it: a stem
//! convolution, two reduction cells on the stem, then three stacks of normal cells separated by
//! reduction cells; every cell takes the two previous outputs, adjusted to its width.
//! Padding is symmetric (`k / 2`) where Keras pads one side, which keeps every shape and
//! parameter count and changes the multiply-adds at the borders only.

use super::graph::OpGraph;

/// The size of a NASNet-A: `N` normal cells per stack, the penultimate width and the stem
/// convolution's width (Large: 6 @ 4032, stem 96; Mobile: 4 @ 1056, stem 32).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NasNet {
    pub cells_per_stack: usize,
    pub penultimate: usize,
    pub stem: usize,
}

impl NasNet {
    pub fn large() -> NasNet {
        NasNet { cells_per_stack: 6, penultimate: 4032, stem: 96 }
    }

    pub fn mobile() -> NasNet {
        NasNet { cells_per_stack: 4, penultimate: 1056, stem: 32 }
    }
}

fn relu_conv_bn(g: &mut OpGraph, name: &str, x: usize, out: usize) -> usize {
    let r = g.activation(&format!("{name}.relu"), x);
    let c = g.conv(&format!("{name}.conv"), r, out, (1, 1), (1, 1), (0, 0), 1);
    g.batch_norm(&format!("{name}.bn"), c)
}

/// Depthwise k×k (stride `s`) then pointwise 1×1 to `out`.
fn separable(g: &mut OpGraph, name: &str, x: usize, out: usize, k: usize, s: usize) -> usize {
    let c = g.shape(x)[1];
    let d = g.conv(&format!("{name}.depthwise"), x, c, (k, k), (s, s), (k / 2, k / 2), c);
    g.conv(&format!("{name}.pointwise"), d, out, (1, 1), (1, 1), (0, 0), 1)
}

/// Keras's `_separable_conv_block`: (ReLU, separable, BN) twice, the first with the stride.
fn sep_block(g: &mut OpGraph, name: &str, x: usize, out: usize, k: usize, s: usize) -> usize {
    let r = g.activation(&format!("{name}.relu1"), x);
    let y = separable(g, &format!("{name}.sep1"), r, out, k, s);
    let y = g.batch_norm(&format!("{name}.bn1"), y);
    let r = g.activation(&format!("{name}.relu2"), y);
    let y = separable(g, &format!("{name}.sep2"), r, out, k, 1);
    g.batch_norm(&format!("{name}.bn2"), y)
}

/// Keras's `_adjust_block`: brings the previous-previous output `p` to `ip`'s size and
/// `filters` channels (a factorized reduction when the sizes differ, a 1×1 convolution when
/// only the channels do).
fn adjust(g: &mut OpGraph, p: Option<usize>, ip: usize, filters: usize) -> usize {
    let Some(p) = p else { return ip };
    let (ps, is) = (g.shape(p).to_vec(), g.shape(ip).to_vec());
    if ps[2] != is[2] {
        let r = g.activation("adjust.relu", p);
        let mut halves = Vec::new();
        for path in ["path1", "path2"] {
            // Path 2 shifts by one pixel first (pad and crop: no work, same shape).
            let a = g.avg_pool(&format!("adjust.{path}.avgpool"), r, 1, 2, 0);
            halves.push(g.conv(&format!("adjust.{path}.conv"), a, filters / 2, (1, 1), (1, 1), (0, 0), 1));
        }
        let c = g.concat("adjust.concat", &halves);
        g.batch_norm("adjust.bn", c)
    } else if ps[1] != filters {
        relu_conv_bn(g, "adjust", p, filters)
    } else {
        p
    }
}

/// Keras's `_normal_a_cell`; returns the cell's output (6 × `filters` channels).
fn normal(g: &mut OpGraph, ip: usize, p: Option<usize>, filters: usize) -> usize {
    let p = adjust(g, p, ip, filters);
    let h = relu_conv_bn(g, "beginning", ip, filters);
    let a = sep_block(g, "block1.left", h, filters, 5, 1);
    let b = sep_block(g, "block1.right", p, filters, 3, 1);
    let x1 = g.add("block1.add", &[a, b]);
    let a = sep_block(g, "block2.left", p, filters, 5, 1);
    let b = sep_block(g, "block2.right", p, filters, 3, 1);
    let x2 = g.add("block2.add", &[a, b]);
    let a = g.avg_pool("block3.avgpool", h, 3, 1, 1);
    let x3 = g.add("block3.add", &[a, p]);
    let a = g.avg_pool("block4.left.avgpool", p, 3, 1, 1);
    let b = g.avg_pool("block4.right.avgpool", p, 3, 1, 1);
    let x4 = g.add("block4.add", &[a, b]);
    let a = sep_block(g, "block5.left", h, filters, 3, 1);
    let x5 = g.add("block5.add", &[a, h]);
    g.concat("concat", &[p, x1, x2, x3, x4, x5])
}

/// Keras's `_reduction_a_cell`; returns the cell's output (4 × `filters` channels, half size).
fn reduction(g: &mut OpGraph, ip: usize, p: Option<usize>, filters: usize) -> usize {
    let p = adjust(g, p, ip, filters);
    let h = relu_conv_bn(g, "beginning", ip, filters);
    let a = sep_block(g, "block1.left", h, filters, 5, 2);
    let b = sep_block(g, "block1.right", p, filters, 7, 2);
    let x1 = g.add("block1.add", &[a, b]);
    let a = g.max_pool("block2.left.maxpool", h, 3, 2, 1);
    let b = sep_block(g, "block2.right", p, filters, 7, 2);
    let x2 = g.add("block2.add", &[a, b]);
    let a = g.avg_pool("block3.left.avgpool", h, 3, 2, 1);
    let b = sep_block(g, "block3.right", p, filters, 5, 2);
    let x3 = g.add("block3.add", &[a, b]);
    let a = g.avg_pool("block4.avgpool", x1, 3, 1, 1);
    let x4 = g.add("block4.add", &[a, x2]);
    let a = sep_block(g, "block5.left", x1, filters, 3, 1);
    let b = g.max_pool("block5.right.maxpool", h, 3, 2, 1);
    let x5 = g.add("block5.add", &[a, b]);
    g.concat("concat", &[x2, x3, x4, x5])
}

/// NASNet-A at `image`² (331 for Large, 224 for Mobile), `classes` outputs; one block per cell.
pub fn nasnet(n: &NasNet, batch: usize, image: usize, classes: usize) -> OpGraph {
    let mut g = OpGraph::default();
    let x = g.input("image", vec![batch, 3, image, image]);
    g.block("stem");
    let c = g.conv("stem.conv", x, n.stem, (3, 3), (2, 2), (0, 0), 1);
    let x = g.batch_norm("stem.bn", c);
    let filters = n.penultimate / 24;
    // Each cell takes (ip, p): the previous output and the one before; a normal cell's input
    // becomes the next cell's p.
    g.block("stem_cell_1");
    let s1 = reduction(&mut g, x, None, filters / 4);
    g.block("stem_cell_2");
    let s2 = reduction(&mut g, s1, Some(x), filters / 2);
    let (mut ip, mut p) = (s2, s1);
    let mut cell = 0;
    for stack in 0..3 {
        let width = filters << stack;
        if stack > 0 {
            // Keras's skip_reduction: after a reduction the next cell still takes the output of
            // the cell before the last normal one, through a factorized reduction.
            g.block(format!("reduction_cell_{}", stack - 1));
            let r = reduction(&mut g, ip, Some(p), width);
            ip = r;
        }
        for _ in 0..n.cells_per_stack {
            g.block(format!("cell_{cell}"));
            let out = normal(&mut g, ip, Some(p), width);
            (p, ip) = (ip, out);
            cell += 1;
        }
    }
    g.block("head");
    let r = g.activation("relu", ip);
    let pooled = g.global_pool("avgpool", r);
    g.linear("fc", pooled, classes);
    g
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Keras's `NASNetLarge` reports 88,753,150 trainable parameters (88,949,818 with batch
    /// norm's moving statistics, which are not parameters here) and `NASNetMobile` 5,289,978
    /// (5,326,716 in all); the paper gives 23.8 G and 564 M multiply-adds.
    #[test]
    fn nasnet_matches_published_counts() {
        let g = nasnet(&NasNet::large(), 1, 331, 1000);
        g.check_shapes().unwrap();
        assert_eq!(g.params(), 88_753_150);
        assert!((g.macs() / 23.8e9 - 1.0).abs() < 0.05, "{}", g.macs());
        assert_eq!(g.ops.last().unwrap().shape, vec![1, 1000]);
        let m = nasnet(&NasNet::mobile(), 1, 224, 1000);
        m.check_shapes().unwrap();
        assert_eq!(m.params(), 5_289_978);
        assert!((m.macs() / 564e6 - 1.0).abs() < 0.05, "{}", m.macs());
    }
}

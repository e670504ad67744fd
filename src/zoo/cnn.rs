//! Convolutional networks as the reference implementations define them (torchvision's layer
//! sizes): ResNet-50 and Inception-v3 (without the auxiliary classifier).

use super::graph::OpGraph;

/// Convolution, batch norm, ReLU.
fn conv_bn_relu(
    g: &mut OpGraph,
    name: &str,
    x: usize,
    out: usize,
    k: (usize, usize),
    s: usize,
    p: (usize, usize),
) -> usize {
    let c = g.conv(&format!("{name}.conv"), x, out, k, (s, s), p, 1);
    let b = g.batch_norm(&format!("{name}.bn"), c);
    g.activation(&format!("{name}.relu"), b)
}

fn square(k: usize) -> (usize, usize) {
    (k, k)
}

/// ResNet-50 (v1.5: the stride sits on the 3×3 convolution), `classes` outputs.
pub fn resnet50(batch: usize, image: usize, classes: usize) -> OpGraph {
    let mut g = OpGraph::default();
    let x = g.input("image", vec![batch, 3, image, image]);
    g.block("stem");
    let x = conv_bn_relu(&mut g, "conv1", x, 64, square(7), 2, square(3));
    let mut x = g.max_pool("maxpool", x, 3, 2, 1);
    let mut channels = 64;
    for (stage, (blocks, width)) in [(3, 64), (4, 128), (6, 256), (3, 512)].into_iter().enumerate() {
        for b in 0..blocks {
            g.block(format!("layer{}.{b}", stage + 1));
            let stride = if b == 0 && stage > 0 { 2 } else { 1 };
            let y = conv_bn_relu(&mut g, "conv1", x, width, square(1), 1, square(0));
            let y = conv_bn_relu(&mut g, "conv2", y, width, square(3), stride, square(1));
            let y = g.conv("conv3.conv", y, 4 * width, square(1), (1, 1), (0, 0), 1);
            let y = g.batch_norm("conv3.bn", y);
            let shortcut = if b == 0 {
                let d = g.conv("downsample.conv", x, 4 * width, square(1), (stride, stride), (0, 0), 1);
                g.batch_norm("downsample.bn", d)
            } else {
                x
            };
            let sum = g.add("add", &[y, shortcut]);
            x = g.activation("relu", sum);
            channels = 4 * width;
        }
    }
    g.block("head");
    let p = g.global_pool("avgpool", x);
    debug_assert_eq!(g.shape(p)[1], channels);
    g.linear("fc", p, classes);
    g
}

fn inception_a(g: &mut OpGraph, x: usize, pool_features: usize) -> usize {
    let b1 = conv_bn_relu(g, "branch1x1", x, 64, square(1), 1, square(0));
    let b5 = conv_bn_relu(g, "branch5x5_1", x, 48, square(1), 1, square(0));
    let b5 = conv_bn_relu(g, "branch5x5_2", b5, 64, square(5), 1, square(2));
    let b3 = conv_bn_relu(g, "branch3x3dbl_1", x, 64, square(1), 1, square(0));
    let b3 = conv_bn_relu(g, "branch3x3dbl_2", b3, 96, square(3), 1, square(1));
    let b3 = conv_bn_relu(g, "branch3x3dbl_3", b3, 96, square(3), 1, square(1));
    let bp = g.avg_pool("branch_pool.avgpool", x, 3, 1, 1);
    let bp = conv_bn_relu(g, "branch_pool", bp, pool_features, square(1), 1, square(0));
    g.concat("concat", &[b1, b5, b3, bp])
}

fn inception_b(g: &mut OpGraph, x: usize) -> usize {
    let b3 = conv_bn_relu(g, "branch3x3", x, 384, square(3), 2, square(0));
    let bd = conv_bn_relu(g, "branch3x3dbl_1", x, 64, square(1), 1, square(0));
    let bd = conv_bn_relu(g, "branch3x3dbl_2", bd, 96, square(3), 1, square(1));
    let bd = conv_bn_relu(g, "branch3x3dbl_3", bd, 96, square(3), 2, square(0));
    let bp = g.max_pool("branch_pool.maxpool", x, 3, 2, 0);
    g.concat("concat", &[b3, bd, bp])
}

fn inception_c(g: &mut OpGraph, x: usize, c7: usize) -> usize {
    let b1 = conv_bn_relu(g, "branch1x1", x, 192, square(1), 1, square(0));
    let b7 = conv_bn_relu(g, "branch7x7_1", x, c7, square(1), 1, square(0));
    let b7 = conv_bn_relu(g, "branch7x7_2", b7, c7, (1, 7), 1, (0, 3));
    let b7 = conv_bn_relu(g, "branch7x7_3", b7, 192, (7, 1), 1, (3, 0));
    let bd = conv_bn_relu(g, "branch7x7dbl_1", x, c7, square(1), 1, square(0));
    let bd = conv_bn_relu(g, "branch7x7dbl_2", bd, c7, (7, 1), 1, (3, 0));
    let bd = conv_bn_relu(g, "branch7x7dbl_3", bd, c7, (1, 7), 1, (0, 3));
    let bd = conv_bn_relu(g, "branch7x7dbl_4", bd, c7, (7, 1), 1, (3, 0));
    let bd = conv_bn_relu(g, "branch7x7dbl_5", bd, 192, (1, 7), 1, (0, 3));
    let bp = g.avg_pool("branch_pool.avgpool", x, 3, 1, 1);
    let bp = conv_bn_relu(g, "branch_pool", bp, 192, square(1), 1, square(0));
    g.concat("concat", &[b1, b7, bd, bp])
}

fn inception_d(g: &mut OpGraph, x: usize) -> usize {
    let b3 = conv_bn_relu(g, "branch3x3_1", x, 192, square(1), 1, square(0));
    let b3 = conv_bn_relu(g, "branch3x3_2", b3, 320, square(3), 2, square(0));
    let b7 = conv_bn_relu(g, "branch7x7x3_1", x, 192, square(1), 1, square(0));
    let b7 = conv_bn_relu(g, "branch7x7x3_2", b7, 192, (1, 7), 1, (0, 3));
    let b7 = conv_bn_relu(g, "branch7x7x3_3", b7, 192, (7, 1), 1, (3, 0));
    let b7 = conv_bn_relu(g, "branch7x7x3_4", b7, 192, square(3), 2, square(0));
    let bp = g.max_pool("branch_pool.maxpool", x, 3, 2, 0);
    g.concat("concat", &[b3, b7, bp])
}

fn inception_e(g: &mut OpGraph, x: usize) -> usize {
    let b1 = conv_bn_relu(g, "branch1x1", x, 320, square(1), 1, square(0));
    let b3 = conv_bn_relu(g, "branch3x3_1", x, 384, square(1), 1, square(0));
    let b3a = conv_bn_relu(g, "branch3x3_2a", b3, 384, (1, 3), 1, (0, 1));
    let b3b = conv_bn_relu(g, "branch3x3_2b", b3, 384, (3, 1), 1, (1, 0));
    let b3 = g.concat("branch3x3.concat", &[b3a, b3b]);
    let bd = conv_bn_relu(g, "branch3x3dbl_1", x, 448, square(1), 1, square(0));
    let bd = conv_bn_relu(g, "branch3x3dbl_2", bd, 384, square(3), 1, square(1));
    let bda = conv_bn_relu(g, "branch3x3dbl_3a", bd, 384, (1, 3), 1, (0, 1));
    let bdb = conv_bn_relu(g, "branch3x3dbl_3b", bd, 384, (3, 1), 1, (1, 0));
    let bd = g.concat("branch3x3dbl.concat", &[bda, bdb]);
    let bp = g.avg_pool("branch_pool.avgpool", x, 3, 1, 1);
    let bp = conv_bn_relu(g, "branch_pool", bp, 192, square(1), 1, square(0));
    g.concat("concat", &[b1, b3, bd, bp])
}

/// Inception-v3 without the auxiliary classifier (the inference graph).
pub fn inception_v3(batch: usize, image: usize, classes: usize) -> OpGraph {
    let mut g = OpGraph::default();
    let x = g.input("image", vec![batch, 3, image, image]);
    g.block("stem");
    let x = conv_bn_relu(&mut g, "Conv2d_1a_3x3", x, 32, square(3), 2, square(0));
    let x = conv_bn_relu(&mut g, "Conv2d_2a_3x3", x, 32, square(3), 1, square(0));
    let x = conv_bn_relu(&mut g, "Conv2d_2b_3x3", x, 64, square(3), 1, square(1));
    let x = g.max_pool("maxpool1", x, 3, 2, 0);
    let x = conv_bn_relu(&mut g, "Conv2d_3b_1x1", x, 80, square(1), 1, square(0));
    let x = conv_bn_relu(&mut g, "Conv2d_4a_3x3", x, 192, square(3), 1, square(0));
    let mut x = g.max_pool("maxpool2", x, 3, 2, 0);
    for (name, pool) in [("Mixed_5b", 32), ("Mixed_5c", 64), ("Mixed_5d", 64)] {
        g.block(name);
        x = inception_a(&mut g, x, pool);
    }
    g.block("Mixed_6a");
    x = inception_b(&mut g, x);
    for (name, c7) in [("Mixed_6b", 128), ("Mixed_6c", 160), ("Mixed_6d", 160), ("Mixed_6e", 192)] {
        g.block(name);
        x = inception_c(&mut g, x, c7);
    }
    g.block("Mixed_7a");
    x = inception_d(&mut g, x);
    for name in ["Mixed_7b", "Mixed_7c"] {
        g.block(name);
        x = inception_e(&mut g, x);
    }
    g.block("head");
    let p = g.global_pool("avgpool", x);
    g.linear("fc", p, classes);
    g
}

#[cfg(test)]
mod tests {
    use super::*;

    fn within(x: f64, target: f64, rel: f64) -> bool {
        (x - target).abs() <= rel * target
    }

    /// Published figures (torchvision model cards; He et al. 2016): 25.6 M parameters and
    /// 4.1 G multiply-adds at 224², batch 1.
    #[test]
    fn resnet50_matches_published_counts() {
        let g = resnet50(1, 224, 1000);
        g.check_shapes().unwrap();
        assert!(within(g.params() as f64, 25.6e6, 0.02), "{}", g.params());
        assert!(within(g.macs(), 4.1e9, 0.02), "{}", g.macs());
        assert_eq!(g.ops.last().unwrap().shape, vec![1, 1000]);
    }

    /// Published figure without the auxiliary classifier: 23.8 M parameters (Szegedy et al.
    /// 2016 report 23.8 M weights including batch-norm scales).
    #[test]
    fn inception_v3_matches_published_counts() {
        let g = inception_v3(1, 299, 1000);
        g.check_shapes().unwrap();
        assert!(within(g.params() as f64, 23.8e6, 0.02), "{}", g.params());
        let last_block = g.ops.iter().rev().find(|o| o.block == "Mixed_7c").unwrap();
        assert_eq!(last_block.shape, vec![1, 2048, 8, 8]);
    }

    #[test]
    fn shapes_scale_with_image_and_batch() {
        for image in [331, 512] {
            let g = inception_v3(2, image, 10);
            g.check_shapes().unwrap();
            assert_eq!(g.ops[0].shape, vec![2, 3, image, image]);
        }
    }
}

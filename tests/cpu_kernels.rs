//! The CPU kernels against direct loops written here from the operators' definitions: every
//! kernel on one and on three threads (the data-parallel split must not change a value beyond
//! float rounding), random convolution shapes by proptest, and whole zoo layers run.

use placebench::cpu::kernels::{Kernel, Prepared};
use placebench::cpu::{CpuLayers, CpuNode};
use placebench::zoo::graph::OpGraph;
use proptest::prelude::*;

fn node(threads: usize) -> CpuNode {
    let cores: Vec<usize> = (0..threads).collect();
    CpuNode::new(&cores, false, 1 << 16).expect("a node")
}

fn close(a: &[f32], b: &[f32]) -> Result<(), String> {
    if a.len() != b.len() {
        return Err(format!("lengths {} and {}", a.len(), b.len()));
    }
    for (i, (x, y)) in a.iter().zip(b).enumerate() {
        if (x - y).abs() > 1e-3 * (1.0 + y.abs()) {
            return Err(format!("element {i}: {x} against {y}"));
        }
    }
    Ok(())
}

/// The operator `op` of `g` run on one and on three threads, each against `direct`.
fn check(g: &OpGraph, op: usize, direct: impl Fn(&Prepared) -> Vec<f32>) {
    for threads in [1, 3] {
        let mut p = Prepared::new(&g.ops[op], 7).expect("a CPU kernel");
        let mut scratch = node(threads);
        if p.kernel.scratch(threads) > 1 << 16 {
            scratch = CpuNode::new(&(0..threads).collect::<Vec<_>>(), false, p.kernel.scratch(threads)).unwrap();
        }
        p.run(&scratch);
        let want = direct(&p);
        close(&p.out, &want).unwrap_or_else(|e| panic!("{} on {threads} threads: {e}", g.ops[op].name));
    }
}

fn direct_conv(p: &Prepared) -> Vec<f32> {
    let Kernel::Conv(c) = &p.kernel else { panic!("not a convolution") };
    let (x, w) = (&p.inputs[0], &p.weights);
    let (cin_g, cout_g) = (c.cin / c.groups, c.cout / c.groups);
    let mut out = vec![0.0f32; c.n * c.cout * c.oh * c.ow];
    for b in 0..c.n {
        for o in 0..c.cout {
            let g = o / cout_g;
            for oy in 0..c.oh {
                for ox in 0..c.ow {
                    let mut acc = 0.0f32;
                    for ci in 0..cin_g {
                        for ky in 0..c.k.0 {
                            for kx in 0..c.k.1 {
                                let iy = (oy * c.s.0 + ky) as isize - c.p.0 as isize;
                                let ix = (ox * c.s.1 + kx) as isize - c.p.1 as isize;
                                if iy < 0 || ix < 0 || iy as usize >= c.h || ix as usize >= c.w {
                                    continue;
                                }
                                let xi = ((b * c.cin + g * cin_g + ci) * c.h + iy as usize) * c.w + ix as usize;
                                let wi = ((o * cin_g + ci) * c.k.0 + ky) * c.k.1 + kx;
                                acc += x[xi] * w[wi];
                            }
                        }
                    }
                    out[((b * c.cout + o) * c.oh + oy) * c.ow + ox] = acc;
                }
            }
        }
    }
    out
}

#[test]
fn convolutions_equal_the_direct_sum() {
    let mut g = OpGraph::default();
    let x = g.input("x", vec![2, 6, 9, 7]);
    let convs = [
        g.conv("k3", x, 8, (3, 3), (1, 1), (1, 1), 1),
        g.conv("k3s2", x, 4, (3, 3), (2, 2), (0, 0), 1),
        g.conv("pointwise", x, 5, (1, 1), (1, 1), (0, 0), 1),
        g.conv("depthwise", x, 6, (3, 3), (1, 1), (1, 1), 6),
        g.conv("grouped", x, 4, (1, 7), (1, 1), (0, 3), 2),
    ];
    for c in convs {
        check(&g, c, direct_conv);
    }
}

#[test]
fn dense_layers_and_products_equal_their_sums() {
    let mut g = OpGraph::default();
    let x = g.input("x", vec![2, 5, 12]);
    let lin = g.linear("fc", x, 9);
    let y = g.input("y", vec![2, 5, 12]);
    let qk = g.batched_matmul("qk", x, y, true);
    let z = g.input("z", vec![2, 12, 4]);
    let av = g.batched_matmul("av", x, z, false);
    check(&g, lin, |p| {
        let (x, w) = (&p.inputs[0], &p.weights);
        let mut out = vec![0.0; 10 * 9];
        for r in 0..10 {
            for j in 0..9 {
                out[r * 9 + j] = (0..12).map(|i| x[r * 12 + i] * w[i * 9 + j]).sum::<f32>() + w[12 * 9 + j];
            }
        }
        out
    });
    check(&g, qk, |p| {
        let (a, b) = (&p.inputs[0], &p.inputs[1]);
        let mut out = vec![0.0; 2 * 5 * 5];
        for bt in 0..2 {
            for i in 0..5 {
                for j in 0..5 {
                    out[(bt * 5 + i) * 5 + j] =
                        (0..12).map(|k| a[(bt * 5 + i) * 12 + k] * b[(bt * 5 + j) * 12 + k]).sum();
                }
            }
        }
        out
    });
    check(&g, av, |p| {
        let (a, b) = (&p.inputs[0], &p.inputs[1]);
        let mut out = vec![0.0; 2 * 5 * 4];
        for bt in 0..2 {
            for i in 0..5 {
                for j in 0..4 {
                    out[(bt * 5 + i) * 4 + j] =
                        (0..12).map(|k| a[(bt * 5 + i) * 12 + k] * b[(bt * 12 + k) * 4 + j]).sum();
                }
            }
        }
        out
    });
}

#[test]
fn the_other_operators_equal_their_loops() {
    let mut g = OpGraph::default();
    let x = g.input("x", vec![2, 3, 6, 5]);
    let y = g.input("y", vec![2, 3, 6, 5]);
    let relu = g.activation("relu", x);
    let add = g.add("add", &[x, y]);
    let bn = g.batch_norm("bn", x);
    let mp = g.max_pool("max", x, 3, 2, 1);
    let ap = g.avg_pool("avg", x, 2, 2, 0);
    let gp = g.global_pool("gap", x);
    let w = g.input("w", vec![2, 1, 6, 5]);
    let cat = g.concat("cat", &[x, w]);
    let t = g.input("t", vec![3, 8]);
    let ln = g.layer_norm("ln", t);
    let sm = g.softmax("sm", t);
    check(&g, relu, |p| p.inputs[0].iter().map(|v| v.max(0.0)).collect());
    check(&g, add, |p| p.inputs[0].iter().zip(&p.inputs[1]).map(|(a, b)| a + b).collect());
    check(&g, bn, |p| {
        (0..180).map(|i| p.inputs[0][i] * p.weights[2 * ((i / 30) % 3)] + p.weights[2 * ((i / 30) % 3) + 1]).collect()
    });
    let pool = |p: &Prepared, k: usize, s: usize, pad: usize, max: bool, (oh, ow): (usize, usize)| {
        let mut out = Vec::new();
        for pl in 0..6 {
            for oy in 0..oh {
                for ox in 0..ow {
                    let vals: Vec<f32> = (0..k * k)
                        .filter_map(|i| {
                            let (iy, ix) =
                                ((oy * s + i / k) as isize - pad as isize, (ox * s + i % k) as isize - pad as isize);
                            (iy >= 0 && ix >= 0 && iy < 6 && ix < 5)
                                .then(|| p.inputs[0][pl * 30 + iy as usize * 5 + ix as usize])
                        })
                        .collect();
                    out.push(if max {
                        vals.iter().copied().fold(f32::NEG_INFINITY, f32::max)
                    } else {
                        vals.iter().sum::<f32>() / (k * k) as f32
                    });
                }
            }
        }
        out
    };
    check(&g, mp, |p| pool(p, 3, 2, 1, true, (3, 3)));
    check(&g, ap, |p| pool(p, 2, 2, 0, false, (3, 2)));
    check(&g, gp, |p| (0..6).map(|pl| p.inputs[0][pl * 30..(pl + 1) * 30].iter().sum::<f32>() / 30.0).collect());
    check(&g, cat, |p| {
        (0..2)
            .flat_map(|b| {
                p.inputs[0][b * 90..(b + 1) * 90]
                    .iter()
                    .chain(&p.inputs[1][b * 30..(b + 1) * 30])
                    .copied()
                    .collect::<Vec<_>>()
            })
            .collect()
    });
    check(&g, ln, |p| {
        let mut out = Vec::new();
        for r in 0..3 {
            let x = &p.inputs[0][r * 8..(r + 1) * 8];
            let mean = x.iter().sum::<f32>() / 8.0;
            let var = x.iter().map(|v| (v - mean).powi(2)).sum::<f32>() / 8.0;
            out.extend(
                x.iter().enumerate().map(|(j, v)| (v - mean) / (var + 1e-5).sqrt() * p.weights[j] + p.weights[8 + j]),
            );
        }
        out
    });
    check(&g, sm, |p| {
        p.inputs[0]
            .chunks(8)
            .flat_map(|x| {
                let s: f32 = x.iter().map(|v| v.exp()).sum();
                x.iter().map(move |v| v.exp() / s)
            })
            .collect()
    });
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(40))]
    #[test]
    fn random_convolutions_equal_the_direct_sum(
        n in 1usize..3, groups in 1usize..4, cin_g in 1usize..4, cout_g in 1usize..4,
        h in 3usize..10, w in 3usize..10, kh in 1usize..4, kw in 1usize..4,
        sy in 1usize..3, sx in 1usize..3, py in 0usize..2, px in 0usize..2, threads in 1usize..5,
    ) {
        let mut g = OpGraph::default();
        let x = g.input("x", vec![n, groups * cin_g, h, w]);
        let c = g.conv("c", x, groups * cout_g, (kh, kw), (sy, sx), (py, px), groups);
        let mut p = Prepared::new(&g.ops[c], 3).unwrap();
        let node = CpuNode::new(&(0..threads).collect::<Vec<_>>(), false, p.kernel.scratch(threads).max(1)).unwrap();
        p.run(&node);
        let want = direct_conv(&p);
        prop_assert!(close(&p.out, &want).is_ok(), "{:?}", close(&p.out, &want));
    }
}

#[test]
fn a_zoo_model_runs_layer_by_layer_with_every_operator_known() {
    let g = placebench::zoo::cnn::resnet50(1, 64, 10);
    let cuts = [0, g.ops.len() / 3, 2 * g.ops.len() / 3, g.ops.len()];
    let layers: Vec<std::ops::Range<usize>> = cuts.windows(2).map(|w| w[0]..w[1]).collect();
    let cpu = CpuLayers::new(&[(g.clone(), layers.clone())]);
    assert_eq!(cpu.missing, vec![0], "operators without a CPU kernel");
    let node = CpuNode::new(&[0, 1], false, cpu.scratch(2)).unwrap();
    for l in 0..layers.len() {
        cpu.run(&node, 0, l);
    }
    let last = g.ops.len() - 1;
    let out = cpu.output(0, last).expect("the classifier's output");
    assert_eq!(out.len(), 10);
    assert!(out.iter().all(|v| v.is_finite()) && out.iter().any(|&v| v != 0.0), "{out:?}");
    let bert = placebench::zoo::transformer::bert(&placebench::zoo::transformer::Transformer::bert_base(2), 1, 16);
    let whole = std::iter::once(0..bert.ops.len()).collect();
    assert_eq!(CpuLayers::new(&[(bert, whole)]).missing, vec![0]);
}

#[test]
fn a_cpu_profile_is_fitted_written_and_read_back_for_the_same_set_only() {
    use placebench::multitenant::dart::cpu_profile::{core_counts, load_or_measure};
    use placebench::multitenant::dart::model::speedup;
    use placebench::multitenant::dart::sweep::load;
    use placebench::multitenant::dart::taskset::op_range;
    let dir = tempfile::tempdir().unwrap();
    let set_file = dir.path().join("one.json");
    let set = r#"{"schema_version": 1, "tasks": [{"name": "r50", "class": "rt", "period_ms": 50, "model": "resnet50", "batch": 1, "blocks": 3}]}"#;
    std::fs::write(&set_file, set).unwrap();
    let cost = placebench::zoo::cost::CostModel::resolve("h200", "pcie").unwrap();
    let (set, _) = load(set_file.to_str().unwrap(), &cost).unwrap();
    let g =
        placebench::multitenant::tenant::graph(placebench::multitenant::tenant::parse_model("resnet50").unwrap(), 1);
    let ranges: Vec<_> = set.tasks[0].layers.iter().map(|l| op_range(&l.name).unwrap()).collect();
    let cpu = CpuLayers::new(&[(g, ranges)]);
    let path = dir.path().join("cpu_profile.json");
    let cores = 3;
    let made = load_or_measure(Some(&path), &set, &cpu, cores, 2).unwrap();
    assert_eq!(made.core_counts, core_counts(cores));
    assert!(path.exists(), "the profile is written");
    // Read back, not measured again: the file's numbers come back exactly.
    let again = load_or_measure(Some(&path), &set, &cpu, cores, 2).unwrap();
    assert_eq!(again, made);
    // Every layer's fit is at least every measured time at every count.
    for (fits, t) in made.fit(true).iter().zip(&made.tasks) {
        for ((t1, sigma), xs) in fits.iter().zip(&t.largest_ms) {
            assert!(*t1 > 0.0);
            for (&c, &x) in made.core_counts.iter().zip(xs) {
                assert!(t1 / speedup(c as u32, *sigma) >= x * (1.0 - 1e-12), "{c} cores: {x} above the fit");
            }
        }
    }
    // Another core count is another machine: measured again.
    let other = load_or_measure(Some(&path), &set, &cpu, 5, 1).unwrap();
    assert_eq!(other.core_counts, core_counts(5));
    assert_eq!(other.runs, 1);
}

//! What the GPU executor would run, checked on the CPU: the profiled workloads of
//! `inputs/profiled/` against the zoo models their provenance names, and the execution plans
//! built from placements and HIOS schedules (every task once, dependencies issued first, the
//! bytes copied between GPUs equal to the producer's tensor).

use placebench::algorithms::{find, RunOptions};
use placebench::evaluate::evaluate;
use placebench::gpu::plan::{self, Work, BUSY_EDGE_BYTES, ELEMENT_BYTES};
use placebench::hios::algorithms::{run, HiosOptions};
use placebench::hios::{Contention, Problem};
use placebench::workload::{load_workload, parse_workload, Workload};
use placebench::zoo::export::node_ops;
use placebench::zoo::{build, spec_from_provenance};
use serde_json::Value;
use std::path::{Path, PathBuf};

fn profiled_files() -> Vec<PathBuf> {
    let mut out = Vec::new();
    for gpu in ["h100", "h200"] {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("inputs/profiled").join(gpu);
        for e in std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
            out.push(e.expect("entry").path());
        }
    }
    out.sort();
    out
}

fn read(path: &Path) -> (Workload, Value) {
    let bytes = std::fs::read(path).expect("readable");
    let name = path.file_stem().unwrap().to_string_lossy().to_string();
    (parse_workload(&bytes, path, &name).expect("valid workload"), serde_json::from_slice(&bytes).expect("JSON"))
}

/// Each node's accelerator time is the sum over its operators of the cost the file says it
/// charges, recomputed here from the per-operator GPU and host times kept in the provenance.
#[test]
fn profiled_workloads_match_their_model_and_their_measurements() {
    let files = profiled_files();
    assert!(files.len() >= 26, "expected the H100 and H200 profiles, found {files:?}");
    for f in files {
        let (w, v) = read(&f);
        let spec = spec_from_provenance(&v).unwrap_or_else(|| panic!("{}: no zoo provenance", f.display()));
        let g = build(&spec);
        let nodes = node_ops(&g, spec.export.granularity);
        assert_eq!(nodes.len(), w.nodes.len(), "{}", f.display());
        let p = &v["placebench"]["profiled"];
        let gpu: Vec<f64> = serde_json::from_value(p["op_gpu_ms"].clone()).expect("op_gpu_ms");
        let host: Vec<f64> = serde_json::from_value(p["op_host_ms"].clone()).expect("op_host_ms");
        assert_eq!(gpu.len(), g.ops.len());
        if let Some(cold) = p.get("op_gpu_cold_ms") {
            // Profiles with both GPU times charge the one the L2 rule picks: cold when every
            // weight and output of the model (fp32, recomputed here) exceeds the L2 size.
            let cold: Vec<f64> = serde_json::from_value(cold.clone()).expect("op_gpu_cold_ms");
            let warm: Vec<f64> = serde_json::from_value(p["op_gpu_warm_ms"].clone()).expect("op_gpu_warm_ms");
            assert!(cold.iter().zip(&warm).all(|(c, w)| c >= w), "{}: cold below warm", f.display());
            let set = 4.0 * (g.params() + g.ops.iter().map(|o| o.numel()).sum::<u64>()) as f64;
            assert_eq!(p["working_set_bytes"].as_f64(), Some(set), "{}", f.display());
            let charged = p["gpu_time_charged"].as_str().expect("gpu_time_charged");
            if p.get("cache").and_then(Value::as_str).unwrap_or("auto") == "auto" {
                let l2 = p["l2_bytes"].as_f64().expect("l2_bytes");
                assert_eq!(charged == "cold", set > l2, "{}", f.display());
            }
            assert_eq!(gpu, if charged == "cold" { cold } else { warm }, "{}", f.display());
        }
        let eager = p["cost"].as_str().expect("cost").starts_with("eager");
        for (v, ((name, ops), node)) in nodes.iter().zip(&w.nodes).enumerate() {
            assert_eq!(node.name.as_deref(), Some(name.as_str()));
            let want: f64 = ops.iter().map(|&o| if eager { gpu[o].max(host[o]) } else { gpu[o] }).sum();
            assert!(
                (node.acc_latency - want).abs() <= 1e-8 * want.max(1.0),
                "{} node {v}: {} != {want}",
                f.display(),
                node.acc_latency
            );
        }
    }
}

/// The DP's placement of a profiled Inception-v3 as a plan of real kernels: one task per
/// operator, on its device's stage, each dependency issued before its consumer, and a copy of
/// exactly the producer's fp32 tensor wherever the two sit in different stages.
#[test]
fn placement_plans_issue_every_operator_once_with_real_copies() {
    let f = Path::new(env!("CARGO_MANIFEST_DIR")).join("inputs/profiled/h200/inceptionv3_b1_op_k2.json");
    let (w, v) = read(&f);
    let spec = spec_from_provenance(&v).expect("zoo provenance");
    let g = build(&spec);
    let ops: Vec<Vec<usize>> = node_ops(&g, spec.export.granularity).into_iter().map(|(_, o)| o).collect();
    let outcome = find("dp").expect("dp").run(&w, &RunOptions::default()).expect("dp runs");
    let placement = outcome.placement.expect("a placement");
    let p = plan::op_placement(&w, g.clone(), &ops, &placement);
    p.check().expect("dependencies issued first");
    assert_eq!(p.tasks.len(), g.ops.len());
    let stages = plan::stages(&placement, &w.topological_order());
    assert_eq!(p.gpus(), stages.len());
    let mut seen = vec![false; g.ops.len()];
    for t in &p.tasks {
        match t.work {
            Work::Op { op } => {
                assert!(!seen[op]);
                seen[op] = true;
                for d in &t.deps {
                    let producer = &p.tasks[d.task];
                    let Work::Op { op: u } = producer.work else { continue };
                    let want = if producer.gpu == t.gpu { 0 } else { g.ops[u].numel() as usize * ELEMENT_BYTES };
                    assert_eq!(d.bytes, want);
                }
            }
            Work::Busy { ms } => assert_eq!(ms, 0.0, "only graph inputs run as empty tasks here"),
        }
    }
    // A paper workload (no shapes): one busy task per node plus one per stage with traffic.
    let paper = Path::new(env!("CARGO_MANIFEST_DIR")).join("inputs/throughput/resnet50_layers_inference.json");
    let w = load_workload(&paper, "resnet50").expect("loads");
    let split = find("dp").unwrap().run(&w, &RunOptions::default()).unwrap().placement.unwrap();
    let e = evaluate(&w, &split.to_split(&w));
    let p = plan::busy_placement(&w, &split, &e);
    p.check().expect("dependencies issued first");
    let with_comm = e.devices.iter().filter(|d| d.comm > 0.0).count();
    assert_eq!(p.tasks.len(), w.nodes.len() + with_comm);
    assert!(p.tasks.iter().flat_map(|t| &t.deps).all(|d| d.bytes == 0 || d.bytes == BUSY_EDGE_BYTES));
}

/// A HIOS schedule over two GPUs with intra-GPU streams as a plan: each operator once, on the
/// GPU and stream the schedule gives it, after everything it waits for.
#[test]
fn schedule_plans_follow_the_schedule() {
    let f = Path::new(env!("CARGO_MANIFEST_DIR")).join("inputs/profiled/h200/bert_b1_op_k2_gpucost.json");
    let (w, v) = read(&f);
    let spec = spec_from_provenance(&v).expect("zoo provenance");
    let g = build(&spec);
    let problem = Problem::from_workload(&w, 132.0 * 2048.0, Contention::Shared { beta: 0.1 });
    let o = HiosOptions { gpus: 2, ..HiosOptions::default() };
    let (s, _) = run("hios-lp-intra", &problem, Some(&w), &o).expect("schedules");
    let p = plan::schedule(&w, &s, Some(g.clone())).expect("a plan");
    p.check().expect("dependencies issued first");
    assert_eq!(p.tasks.len(), w.nodes.len());
    for t in &p.tasks {
        if let Work::Op { op } = t.work {
            assert_eq!(t.gpu, s.gpu_of[op]);
            let stream = s.stages[t.gpu].iter().find_map(|st| st.iter().position(|grp| grp.contains(&op)));
            assert_eq!(Some(t.stream), stream);
        }
    }
}

/// Pipelined plans: every task runs one sample behind its producer per hop between stages,
/// and exactly as far behind as its latest producer needs. The lags are recomputed here from
/// the workload's graph and the split's stages (not the plan's tasks): the longest path in
/// stage changes to each node. On the DP's training split of the embedded ResNet-50 layer
/// graph, the backward of stage j of S runs 2(S - 1 - j) samples after its forward; on the
/// inference split, stage j runs j samples behind the front.
#[test]
fn pipelines_run_each_stage_a_sample_behind_the_one_before() {
    for (file, training) in [("resnet50_layers_training.json", true), ("resnet50_layers_inference.json", false)] {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("inputs/throughput").join(file);
        let w = load_workload(&path, file).expect("loads");
        let split = find("dp").unwrap().run(&w, &RunOptions::default()).unwrap().placement.unwrap();
        let e = evaluate(&w, &split.to_split(&w));
        let p = plan::busy_placement(&w, &split, &e);
        let lags = p.pipeline_lags();
        let order = w.topological_order();
        let stages = plan::stages(&split, &order);
        let stage = |v: usize| stages.iter().position(|d| *d == split.device[v]).unwrap();
        let mut want = vec![0usize; w.nodes.len()];
        for &v in &order {
            want[v] = w.pred[v].iter().map(|&u| want[u] + usize::from(stage(u) != stage(v))).max().unwrap_or(0);
        }
        // Tasks are the nodes in topological order, then the stages' communication (no inputs).
        for (i, &v) in order.iter().enumerate() {
            assert_eq!(lags[i], want[v], "{file}: node {v}");
        }
        assert!(lags[order.len()..].iter().all(|&l| l == 0));
        let s = stages.len();
        assert!(s >= 3, "{file}: a split of several stages to test, got {s}");
        for &v in &order {
            let j = stage(v);
            if !training {
                assert_eq!(want[v], j, "{file}: node {v} of stage {j}");
            } else if w.nodes[v].backward {
                assert_eq!(want[v], 2 * (s - 1) - j, "{file}: backward node {v} of stage {j}");
            }
        }
    }
}

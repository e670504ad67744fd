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
use placebench::zoo::graph::OpKind;
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
    let bytes = placebench::workload::read_file(path).expect("readable");
    let name = placebench::workload::file_stem(path);
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
            let l2 = p["l2_bytes"].as_f64().expect("l2_bytes");
            if charged == "calibrated" {
                // `bench calibrate` scaled warm and cold alike and charges their mix by the
                // share of the working set beyond L2.
                let miss = (1.0 - l2 / set).max(0.0);
                for ((g, w), c) in gpu.iter().zip(&warm).zip(&cold) {
                    let want = w + miss * (c - w);
                    assert!((g - want).abs() <= 1e-12 * want.max(1.0), "{}: {g} against {want}", f.display());
                }
                let scale = p["calibration"]["scale"].as_f64().expect("calibration.scale");
                assert!(scale > 0.0 && scale.is_finite(), "{}", f.display());
            } else {
                if p.get("cache").and_then(Value::as_str).unwrap_or("auto") == "auto" {
                    assert_eq!(charged == "cold", set > l2, "{}", f.display());
                }
                assert_eq!(gpu, if charged == "cold" { cold } else { warm }, "{}", f.display());
            }
        }
        let eager = p["cost"].as_str().expect("cost").starts_with("eager");
        let charged = |o: usize| if eager { gpu[o].max(host[o]) } else { gpu[o] };
        // Profiles that measured occupancies: each node's is its operators', weighted by the
        // times the file charges, each operator's warm or cold share as its time is charged
        // (a calibrated profile: the two mixed by the share of the working set beyond L2).
        let list = |key: &str| -> Option<Vec<Option<f64>>> {
            p.get(key).map(|o| serde_json::from_value(o.clone()).expect("a list of occupancies"))
        };
        let occupancy = list("op_occupancy").map(|warm| match list("op_occupancy_cold") {
            None => warm,
            Some(cold) => {
                let miss = match p["gpu_time_charged"].as_str() {
                    Some("cold") => 1.0,
                    Some("calibrated") => p["calibration"]["miss_share"].as_f64().expect("miss_share"),
                    _ => 0.0,
                };
                warm.iter().zip(&cold).map(|(w, c)| w.map(|w| c.map_or(w, |c| w + miss * (c - w)))).collect()
            }
        });
        for (v, ((name, ops), node)) in nodes.iter().zip(&w.nodes).enumerate() {
            if let Some(occ) = &occupancy {
                let (tu, t) = ops
                    .iter()
                    .filter_map(|&o| occ[o].map(|u| (charged(o) * u, charged(o))))
                    .fold((0.0, 0.0), |a, b| (a.0 + b.0, a.1 + b.1));
                let want = (t > 0.0).then(|| tu / t);
                assert_eq!(node.occupancy.is_some(), want.is_some(), "{} node {v}", f.display());
                if let (Some(got), Some(want)) = (node.occupancy, want) {
                    assert!((got - want).abs() < 1e-6, "{} node {v}: occupancy {got} != {want}", f.display());
                }
            }
            assert_eq!(node.name.as_deref(), Some(name.as_str()));
            let want: f64 = ops.iter().map(|&o| charged(o)).sum();
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
    let f = Path::new(env!("CARGO_MANIFEST_DIR")).join("inputs/profiled/h200/inceptionv3_b1_op_k2.json.xz");
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
    let f = Path::new(env!("CARGO_MANIFEST_DIR")).join("inputs/profiled/h200/inceptionv3_b1_op_k2_gpucost.json.xz");
    let (w, v) = read(&f);
    let spec = spec_from_provenance(&v).expect("zoo provenance");
    let g = build(&spec);
    let problem = Problem::from_workload(&w, 132.0 * 2048.0, Contention::Shared { beta: 0.1 });
    let o = HiosOptions { gpus: 2, ..HiosOptions::default() };
    let (s, _) = run("hios-lp-intra", &problem, &w, &o).expect("schedules");
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
    // Graph replay's segments are whole stages: tasks share a stage exactly where the
    // schedule puts their operators in one stage of one GPU; only a segment's first stage
    // takes inputs from the other GPU, only its last sends any.
    let stage_of = |op: usize| s.stages[s.gpu_of[op]].iter().position(|st| st.iter().any(|grp| grp.contains(&op)));
    let ops: Vec<(usize, usize)> = (0..p.tasks.len())
        .filter_map(|t| if let Work::Op { op } = p.tasks[t].work { Some((t, op)) } else { None })
        .collect();
    for &(a, x) in &ops {
        for &(b, y) in ops.iter().filter(|&&(b, _)| b > a).take(40) {
            let same = (s.gpu_of[x], stage_of(x)) == (s.gpu_of[y], stage_of(y));
            assert_eq!(p.tasks[a].stage == p.tasks[b].stage, same, "operators {x} and {y}");
        }
    }
    let crosses = |t: usize| p.tasks[t].deps.iter().any(|d| p.tasks[d.task].gpu != p.tasks[t].gpu);
    let sends = |t: usize| p.tasks.iter().any(|x| x.gpu != p.tasks[t].gpu && x.deps.iter().any(|d| d.task == t));
    let mut cut_stages = 0;
    for gpu in 0..2 {
        let mine: Vec<usize> = (0..p.tasks.len()).filter(|&t| p.tasks[t].gpu == gpu).collect();
        let segments = p.segments(&mine, crosses, sends);
        assert_eq!(segments.concat(), mine);
        for seg in &segments {
            let stages: Vec<usize> = seg.iter().map(|&t| p.tasks[t].stage).collect();
            let (first, last) = (stages[0], stages[stages.len() - 1]);
            for (&t, &st) in seg.iter().zip(&stages) {
                assert!(!crosses(t) || st == first, "gpu {gpu}: a stage after the first takes inputs");
                assert!(!sends(t) || st == last, "gpu {gpu}: a stage before the last sends outputs");
            }
            cut_stages += 1;
        }
        // No stage is split between segments.
        for pair in segments.windows(2) {
            assert_ne!(p.tasks[*pair[0].last().unwrap()].stage, p.tasks[pair[1][0]].stage);
        }
    }
    assert!(cut_stages > 2, "a schedule with exchanges between its GPUs");
}

/// A kernel reads exactly its operator's inputs: in the plans of HIOS schedules (whose stage
/// order adds dependencies to wait for) each operator's input dependencies are its inputs in
/// the graph's order, and everything else it depends on is only waited for. Before, the stage
/// order was handed to kernels as inputs too, and every add of a schedule added its
/// predecessor's buffer in (an extra kernel per add: RandWire's sequential schedule ran 5–7%
/// slower than its one-device placement of the same order). `Plan::check`, which the executor
/// runs, refuses a plan that hands an operator one input more.
#[test]
fn schedule_plans_hand_each_kernel_its_inputs_only() {
    let f = Path::new(env!("CARGO_MANIFEST_DIR")).join("inputs/profiled/h200/randwire_b1_op_k2_gpucost.json.xz");
    let (w, v) = read(&f);
    let g = build(&spec_from_provenance(&v).expect("zoo provenance"));
    let problem = Problem::from_workload(&w, 132.0 * 2048.0, Contention::Shared { beta: 0.1 });
    for (algo, gpus) in [("sequential", 1), ("hios-lp-intra", 1), ("hios-lp-intra", 2)] {
        let o = HiosOptions { gpus, ..HiosOptions::default() };
        let (s, _) = run(algo, &problem, &w, &o).expect("schedules");
        let p = plan::schedule(&w, &s, Some(g.clone())).expect("a plan");
        p.check().expect("a valid plan");
        // Graph inputs run as empty busy tasks: they stand for themselves as `None`.
        let op_of = |t: usize| if let Work::Op { op } = p.tasks[t].work { Some(op) } else { None };
        let want = |o: usize| (g.ops[o].kind != OpKind::Input).then_some(o);
        let mut waits = 0;
        for (t, task) in p.tasks.iter().enumerate() {
            waits += task.deps.iter().filter(|d| !d.input).count();
            let Some(op) = op_of(t) else { continue };
            let inputs: Vec<Option<usize>> = task.deps.iter().filter(|d| d.input).map(|d| op_of(d.task)).collect();
            let want: Vec<Option<usize>> = g.ops[op].inputs.iter().map(|&o| want(o)).collect();
            assert_eq!(inputs, want, "{algo} on {gpus}: operator {}", g.ops[op].name);
        }
        assert!(waits > 0, "{algo}: a schedule's stage order adds dependencies to wait for");
        // What executors before the fix ran beyond the plan: in the sequential schedule every
        // operator waits for the one before it, so one add kernel more per add.
        let adds = g.ops.iter().filter(|o| o.kind == OpKind::Add).count();
        if algo == "sequential" {
            assert_eq!(p.extra_add_kernels(), adds);
        } else {
            assert!(p.extra_add_kernels() >= adds, "{algo}: every add waits for something");
        }
        let mut bad = p.clone();
        let t = bad.tasks.iter().position(|t| t.deps.iter().any(|d| !d.input)).expect("a wait");
        bad.tasks[t].deps.iter_mut().for_each(|d| d.input = true);
        assert!(
            bad.check().unwrap_err().to_string().contains("input dependencies"),
            "{algo}: an extra input goes unnoticed"
        );
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

/// The ping-pong `bench profile` times exchanges with: on two GPUs every one of its hops
/// crosses between them (with a copy of the given bytes), on one GPU none does; both chains
/// have the same tasks, so their difference is the exchanges alone.
#[test]
fn ping_pong_crosses_gpus_at_every_hop() {
    let two = plan::ping_pong(8, 2, 0.005, 4096);
    let one = plan::ping_pong(8, 1, 0.005, 4096);
    assert_eq!(two.tasks.len(), 9);
    two.check().unwrap();
    let crossings = |p: &plan::Plan| {
        p.tasks.iter().filter(|t| t.deps.iter().any(|d| p.tasks[d.task].gpu != t.gpu && d.bytes == 4096)).count()
    };
    assert_eq!(crossings(&two), 8);
    assert_eq!(crossings(&one), 0);
    assert_eq!((two.gpus(), one.gpus()), (2, 1));
    assert_eq!(
        two.tasks.iter().map(|t| &t.work).collect::<Vec<_>>(),
        one.tasks.iter().map(|t| &t.work).collect::<Vec<_>>()
    );
}

/// Measured occupancies written by `bench profile` reach the workload as each node's
/// operators' occupancies weighted by their times (recomputed here, on a layer-granularity
/// export of synthetic occupancies), and HIOS uses them in place of the shape's estimate; a
/// node whose operators launch nothing keeps the estimate.
#[test]
fn measured_occupancy_reaches_the_workload_and_hios() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("inputs/profiled/h100/inceptionv3_b1_op_k1_gpucost.json.xz");
    let (w0, v) = read(&path);
    let mut spec = spec_from_provenance(&v).unwrap();
    // Layer granularity: nodes of several operators, so the weighting is exercised.
    spec.export.granularity = placebench::zoo::export::Granularity::Layer;
    let g = build(&spec);
    let op_ms: Vec<f64> = serde_json::from_value(v["placebench"]["profiled"]["op_gpu_ms"].clone()).unwrap();
    let op_occupancy: Vec<Option<f64>> = op_ms
        .iter()
        .enumerate()
        .map(|(i, &ms)| (ms > 0.0).then_some(0.25 + 0.75 * ((i * 37) % 11) as f64 / 10.0))
        .collect();
    let link = placebench::zoo::cost::Link { name: "t".into(), bandwidth: 1e11, latency: 1e-5, source: String::new() };
    let measured = placebench::zoo::export::Measured {
        op_ms: op_ms.clone(),
        link,
        bytes_per_element: 4.0,
        op_occupancy: op_occupancy.clone(),
    };
    let text = placebench::zoo::to_text(&placebench::zoo::generate_measured(&spec, &measured, Value::Null).unwrap());
    let w = parse_workload(text.as_bytes(), Path::new("t.json"), "t").unwrap();
    let p = Problem::from_workload(&w, 1e6, Contention::default());
    let shape = Problem::from_workload(&w0, 1e6, Contention::default());
    let nodes = node_ops(&g, spec.export.granularity);
    assert!(nodes.iter().any(|(_, ops)| ops.len() > 2));
    let mut measured_nodes = 0;
    for (v, (_, ops)) in nodes.iter().enumerate() {
        let (tu, t) = ops
            .iter()
            .filter_map(|&o| op_occupancy[o].map(|u| (op_ms[o] * u, op_ms[o])))
            .fold((0.0, 0.0), |a, b| (a.0 + b.0, a.1 + b.1));
        if t > 0.0 {
            measured_nodes += 1;
            assert!((w.nodes[v].occupancy.unwrap() - tu / t).abs() < 1e-6, "node {v}");
            assert_eq!(p.u[v], w.nodes[v].occupancy.unwrap());
        } else {
            assert_eq!(w.nodes[v].occupancy, None);
            let e = w.nodes[v].out_elements.unwrap();
            assert_eq!(p.u[v], (e / 1e6).clamp(0.05, 1.0));
        }
    }
    assert!(measured_nodes > 10);
    // The committed op-granularity profile: HIOS takes each measured occupancy as it is, the
    // shape's estimate elsewhere (operators that launch nothing).
    assert!(w0.nodes.iter().any(|n| n.occupancy.is_some()));
    for (n, &u) in w0.nodes.iter().zip(&shape.u) {
        match (n.occupancy, n.out_elements) {
            (Some(o), _) => assert_eq!(u, o),
            (None, Some(e)) => assert_eq!(u, (e / 1e6).clamp(0.05, 1.0)),
            (None, None) => assert_eq!(u, 1.0),
        }
    }
}

/// An occupancy outside (0, 1] is refused, naming the node and the field.
#[test]
fn occupancy_out_of_range_is_refused() {
    let text = r#"{"maxSizePerFPGA": 1, "maxFPGAs": 1, "maxCPUs": 0, "edges": [],
        "nodes": [{"id": 3, "cpuLatency": 1, "fpgaLatency": 1, "supportedOnFpga": 1, "isBackwardNode": 0, "occupancy": 1.5}]}"#;
    let e = parse_workload(text.as_bytes(), Path::new("bad.json"), "bad").unwrap_err().to_string();
    assert!(e.contains("bad.json") && e.contains("node 3") && e.contains("occupancy"), "{e}");
}

/// `--no-copies` (`Plan::drop_copies`): a ping-pong over two GPUs keeps its dependencies but
/// carries no bytes between GPUs; the same chain on one GPU is left as it was.
#[test]
fn dropping_copies_empties_only_dependencies_between_gpus() {
    let mut two = plan::ping_pong(4, 2, 0.01, 4096);
    two.drop_copies();
    assert!(two.tasks.iter().skip(1).all(|t| t.deps.len() == 1 && t.deps[0].bytes == 0));
    let mut one = plan::ping_pong(4, 1, 0.01, 4096);
    one.drop_copies();
    assert!(one.tasks.iter().skip(1).all(|t| t.deps.len() == 1 && t.deps[0].bytes == 4096));
}

/// `--side-branches N` (`Plan::add_side_branches`): a chain of 5 tasks on one stream (a stage
/// each) with N = 2 gets a task before stages 0, 2 and 4, each on a stream of its own in that
/// stage with no inputs; every dependency still points at the task it pointed at, and those
/// three stages now hold two lanes. N = 0 changes nothing.
#[test]
fn side_branches_fork_every_nth_stage_and_move_nothing_else() {
    let before = plan::ping_pong(4, 1, 0.01, 4096);
    assert_eq!(before.tasks.len(), 5);
    let mut same = before.clone();
    same.add_side_branches(0);
    assert_eq!(same.tasks, before.tasks);
    let mut after = before.clone();
    after.add_side_branches(2);
    after.check().unwrap();
    assert_eq!(after.tasks.len(), 8);
    let sides = [0, 3, 6];
    let old_at: Vec<usize> = (0..8).filter(|t| !sides.contains(t)).collect();
    for (&s, stage) in sides.iter().zip([0, 2, 4]) {
        let side = &after.tasks[s];
        assert!(side.deps.is_empty() && side.stage == before.tasks[stage].stage);
        assert!(before.tasks.iter().all(|t| t.stream != side.stream));
        assert_eq!(after.tasks[s + 1], {
            let mut t = before.tasks[stage].clone();
            t.deps.iter_mut().for_each(|d| d.task = old_at[d.task]);
            t
        });
    }
    for (i, &at) in old_at.iter().enumerate() {
        let deps: Vec<usize> = before.tasks[i].deps.iter().map(|d| old_at[d.task]).collect();
        assert_eq!(after.tasks[at].deps.iter().map(|d| d.task).collect::<Vec<_>>(), deps);
    }
    let (lane, _) = after.lanes(1);
    for (&s, stage) in sides.iter().zip([0, 2, 4]) {
        let members: Vec<usize> = (0..8).filter(|&t| after.tasks[t].stage == before.tasks[stage].stage).collect();
        assert_eq!(members, vec![s, s + 1]);
        assert_ne!(lane[s], lane[s + 1], "the side task on a lane of its own");
    }
}

/// `--remote-branches N` (`Plan::add_remote_branches`): a chain of 7 one-GPU tasks (a stage
/// each) with N = 3 gets a remote task after stages 0, 3 and 6, on GPU 1, fed by that stage's
/// task; the branches of stages 0 and 3 return to the tasks of stages 4 and 6 (four stages on,
/// or the last), the last stage's branch returns nowhere. The chain's own dependencies still
/// point at the tasks they pointed at; N = 0 changes nothing.
#[test]
fn remote_branches_exchange_with_another_gpu_and_move_nothing_else() {
    let before = plan::ping_pong(6, 1, 0.01, 4096);
    let mut same = before.clone();
    same.add_remote_branches(0, placebench::gpu::diagnostics::REMOTE_RETURN);
    assert_eq!(same.tasks, before.tasks);
    let mut after = before.clone();
    after.add_remote_branches(3, placebench::gpu::diagnostics::REMOTE_RETURN);
    after.check().unwrap();
    assert_eq!((after.tasks.len(), after.gpus()), (10, 2));
    // Old task i now at old_at[i]; the remote tasks follow old tasks 0, 3 and 6.
    let old_at = [0, 2, 3, 4, 6, 7, 8];
    let remotes = [1, 5, 9];
    for (&r, from) in remotes.iter().zip([0, 3, 6]) {
        let t = &after.tasks[r];
        assert_eq!(t.gpu, 1);
        assert_eq!(t.deps, vec![plan::Dep::input(old_at[from], placebench::gpu::diagnostics::REMOTE_BYTES)]);
    }
    for (i, &at) in old_at.iter().enumerate() {
        let mut deps: Vec<usize> = before.tasks[i].deps.iter().map(|d| old_at[d.task]).collect();
        deps.extend(match i {
            4 => vec![1],
            6 => vec![5],
            _ => vec![],
        });
        assert_eq!(after.tasks[at].deps.iter().map(|d| d.task).collect::<Vec<_>>(), deps, "task {i}");
        // A branch's return is waited for, never handed to the task's kernel as an input.
        let inputs = after.tasks[at].deps.iter().filter(|d| d.input).count();
        assert_eq!(inputs, before.tasks[i].deps.len(), "task {i}");
        assert_eq!(after.tasks[at].gpu, 0);
    }
    // Returning one stage on (`--remote-return 1`): the branches of stages 0 and 3 come back to
    // the tasks of stages 1 and 4 (the last one's, to itself, nowhere).
    let mut near = before.clone();
    near.add_remote_branches(3, 1);
    near.check().unwrap();
    let waits = |p: &plan::Plan| -> Vec<(usize, usize)> {
        let mut w = Vec::new();
        for (t, task) in p.tasks.iter().enumerate() {
            w.extend(task.deps.iter().filter(|d| !d.input).map(|d| (t, d.task)));
        }
        w
    };
    assert_eq!(waits(&after), vec![(old_at[4], 1), (old_at[6], 5)]);
    assert_eq!(waits(&near), vec![(old_at[1], 1), (old_at[4], 5)]);
}

//! Shared by the tests: random small workloads and brute-force optima computed by the
//! evaluator alone, committed GPU runs, running `bench`.
#![allow(dead_code)]

pub mod dart;

use placebench::evaluate::{evaluate, Evaluation};
use placebench::placement::{Device, Placement};
use placebench::workload::{parse_workload, Workload};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde_json::json;
use std::path::Path;

/// A random workload: `n` forward nodes, optionally their backward mirror, and up to two
/// zero-latency leaves.
pub fn random_workload(seed: u64, n: usize, training: bool, cpus: usize, accs: usize) -> Workload {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let pick = |rng: &mut ChaCha8Rng, xs: &[f64]| xs[rng.random_range(0..xs.len())];
    let mut nodes = Vec::new();
    let mut class = Vec::new();
    for i in 0..n {
        let c = if i > 0 && rng.random_bool(0.2) { class[rng.random_range(0..i)] } else { i };
        class.push(c);
        nodes.push(json!({
            "id": i, "colorClass": c, "isBackwardNode": false,
            "supportedOnFpga": rng.random_bool(0.9),
            "fpgaLatency": pick(&mut rng, &[0.0, 0.5, 1.0, 2.0, 3.5]),
            "cpuLatency": pick(&mut rng, &[0.0, 1.0, 3.0, 8.0]),
            "size": pick(&mut rng, &[0.0, 1.0, 2.0, 4.0]),
        }));
    }
    let mut pairs = Vec::new();
    for j in 1..n {
        for i in 0..j {
            if rng.random_bool(0.4) {
                pairs.push((i, j));
            }
        }
    }
    // Weight-like leaves: no latency, some size, one consumer. The DP merges such nodes into
    // their neighbour only where that cannot break a memory limit; these exercise that rule.
    let weights = rng.random_range(0..=2usize);
    let mut leaves = Vec::new();
    for k in 0..weights {
        let id = 2 * n + k;
        nodes.push(json!({
            "id": id, "isBackwardNode": false, "supportedOnFpga": true,
            "fpgaLatency": 0.0, "cpuLatency": 0.0, "size": pick(&mut rng, &[1.0, 2.0, 4.0]),
        }));
        leaves.push(json!({"sourceId": id, "destId": rng.random_range(0..n), "cost": pick(&mut rng, &[0.0, 1.0])}));
    }
    let total = if training { 2 * n } else { n };
    let cost: Vec<f64> = (0..total).map(|_| pick(&mut rng, &[0.0, 0.25, 1.0, 2.0])).collect();
    if training {
        for i in 0..n {
            let f = nodes[i].clone();
            nodes.push(json!({
                "id": n + i, "colorClass": class[i], "isBackwardNode": true,
                "supportedOnFpga": f["supportedOnFpga"],
                "fpgaLatency": 2.0 * f["fpgaLatency"].as_f64().unwrap(),
                "cpuLatency": 2.0 * f["cpuLatency"].as_f64().unwrap(),
                "size": f["size"],
            }));
        }
        let forward = pairs.clone();
        for &(i, j) in &forward {
            pairs.push((n + j, n + i));
        }
        for i in 0..n {
            if rng.random_bool(0.5) {
                pairs.push((i, n + i));
            }
        }
    }
    let mut edges: Vec<_> = pairs.iter().map(|&(u, v)| json!({"sourceId": u, "destId": v, "cost": cost[u]})).collect();
    edges.extend(leaves);
    let limit = pick(&mut rng, &[3.0, 5.0, 100.0]);
    let doc = json!({"maxSizePerFPGA": limit, "maxFPGAs": accs, "maxCPUs": cpus, "nodes": nodes, "edges": edges});
    parse_workload(doc.to_string().as_bytes(), Path::new("random.json"), &format!("random-{seed}")).expect("valid")
}

/// The least max-load over every feasible, pipeline-ordered assignment of classes to devices,
/// computed by the evaluator alone.
pub fn brute_force(w: &Workload) -> Option<f64> {
    let devices: Vec<Device> = (0..w.max_cpus).map(Device::Cpu).chain((0..w.max_accs).map(Device::Acc)).collect();
    brute_force_over(w, &devices, |e| e.feasible() && e.acyclic, |e| Some(e.max_load))
}

/// The least `score` over every assignment of classes to `devices` that `keep` accepts.
pub fn brute_force_over(
    w: &Workload,
    devices: &[Device],
    keep: impl Fn(&Evaluation) -> bool,
    score: impl Fn(&Evaluation) -> Option<f64>,
) -> Option<f64> {
    let classes = w.classes.len();
    let mut choice = vec![0usize; classes];
    let mut best: Option<f64> = None;
    loop {
        let device = (0..w.len()).map(|v| devices[choice[w.class_of[v]]]).collect();
        let e = evaluate(w, &Placement { device }.to_split(w));
        if keep(&e) {
            if let Some(x) = score(&e) {
                if best.is_none_or(|b| x < b) {
                    best = Some(x);
                }
            }
        }
        // Next assignment, as a counter in base |devices|.
        let mut i = 0;
        loop {
            if i == classes {
                return best;
            }
            choice[i] += 1;
            if choice[i] < devices.len() {
                break;
            }
            choice[i] = 0;
            i += 1;
        }
    }
}

/// A committed GPU run, unpacked from `results/gpu/RUN.tar.xz` into the tests' scratch folder
/// (once; later calls find it there).
pub fn gpu_run(run: &str) -> std::path::PathBuf {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let archive = root.join(format!("results/gpu/{run}.tar.xz"));
    let scratch = Path::new(env!("CARGO_TARGET_TMPDIR")).join("gpu-runs");
    placebench::results::archive::unpack(&archive, &scratch).unwrap_or_else(|e| panic!("{e}"))
}

/// A JSON file of the repository or one a test wrote.
pub fn read_json(p: &Path) -> serde_json::Value {
    serde_json::from_slice(&placebench::workload::read_file(p).unwrap()).unwrap()
}

/// Runs `bench` with `args`: its exit code and standard error.
pub fn bench_status(args: &[&str]) -> (i32, String) {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_bench")).args(args).output().expect("bench runs");
    (out.status.code().unwrap_or(-1), String::from_utf8_lossy(&out.stderr).to_string())
}

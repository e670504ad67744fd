//! Property tests on random small DAGs (inference and training, CPUs, co-location classes,
//! unsupported nodes, zero-latency nodes, memory limits):
//! - the DP's optimum equals a brute force that tries every assignment of co-location classes
//!   to devices and keeps the feasible, pipeline-ordered ones, all scored by the evaluator;
//! - every registered algorithm's placement goes through the evaluator without a mismatch or
//!   an error, and no feasible pipeline-ordered placement of any algorithm beats the DP.

use placebench::algorithms::{dp::Dp, registry, RunOptions};
use placebench::evaluate::evaluate;
use placebench::placement::{Device, Placement};
use placebench::results::Status;
use placebench::run::run_cell;
use placebench::workload::{parse_workload, Workload};
use proptest::prelude::*;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde_json::json;
use std::path::Path;

/// A random workload: `n` forward nodes, optionally their backward mirror, and up to two
/// zero-latency leaves.
fn random_workload(seed: u64, n: usize, training: bool, cpus: usize, accs: usize) -> Workload {
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
fn brute_force(w: &Workload) -> Option<f64> {
    let devices: Vec<Device> = (0..w.max_cpus).map(Device::Cpu).chain((0..w.max_accs).map(Device::Acc)).collect();
    let classes = w.classes.len();
    let mut choice = vec![0usize; classes];
    let mut best: Option<f64> = None;
    loop {
        let device = (0..w.len()).map(|v| devices[choice[w.class_of[v]]]).collect();
        let e = evaluate(w, &Placement { device }.to_split(w));
        if e.feasible() && e.acyclic && best.is_none_or(|b| e.max_load < b) {
            best = Some(e.max_load);
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

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1e-9 * a.abs().max(b.abs()).max(1.0)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn dp_equals_brute_force(seed in any::<u64>(), n in 1usize..=6, training in any::<bool>(),
                             cpus in 0usize..=1, accs in 1usize..=2) {
        let w = random_workload(seed, n, training, cpus, accs);
        let cell = run_cell(&w, &Dp, &RunOptions::default());
        match brute_force(&w) {
            Some(best) => {
                prop_assert_eq!(cell.record.status, Status::Optimal, "{:?}", cell.record);
                let got = cell.record.objective.unwrap();
                prop_assert!(close(got, best), "dp {} vs brute force {}", got, best);
            }
            None => prop_assert_eq!(cell.record.status, Status::Infeasible, "{:?}", cell.record),
        }
    }

    #[test]
    fn no_algorithm_beats_the_dp_among_pipeline_splits(seed in any::<u64>(), n in 1usize..=8,
            training in any::<bool>(), cpus in 0usize..=2, accs in 1usize..=3) {
        let w = random_workload(seed, n, training, cpus, accs);
        let opts = RunOptions { seed, restarts: 3, ..RunOptions::default() };
        let dp = run_cell(&w, &Dp, &opts).record;
        for algo in registry() {
            let r = run_cell(&w, *algo, &opts).record;
            prop_assert!(!r.status.is_failure(), "{} failed: {:?}", algo.name(), r);
            if r.feasible && r.acyclic == Some(true) {
                let dp_value = dp.objective.expect("a feasible pipeline split exists, so the DP finds one");
                let obj = r.objective.unwrap();
                prop_assert!(obj >= dp_value - 1e-9 * dp_value.max(1.0), "{} {} beats dp {}", algo.name(), obj, dp_value);
            }
        }
    }
}

//! HIOS's optimizer as its code behaves (`--faithful`), each rule on a graph small enough to
//! work out by hand; the hand computation is in each test's comment:
//! - blocks are cut at the operators every path passes through;
//! - the intra pass leaves each block's entry out and its stuck window starts afresh in every
//!   block;
//! - HIOS-MR's DP keeps the least cost over all predecessors (its own estimate, a note);
//! - every block's exit runs on GPU 0 (HIOS gathers it there), and the schedules still use
//!   the other GPU and claim what the simulator computes.

use placebench::hios::algorithms::{blocks, run, Block, Fidelity, HiosOptions};
use placebench::hios::family::SchedulingCell;
use placebench::hios::{simulate, Contention, Problem};
use placebench::run::run_one;
use placebench::workload::{parse_workload, Workload};

/// A workload of `(id, time)` nodes and `(from, to)` edges, every output costing `cost`.
fn workload(nodes: &[(usize, f64)], edges: &[(usize, usize)], cost: f64) -> Workload {
    let nodes: Vec<String> = nodes
        .iter()
        .map(|(id, t)| {
            format!(r#"{{"id": {id}, "supportedOnFpga": 1, "cpuLatency": 1, "fpgaLatency": {t}, "isBackwardNode": 0}}"#)
        })
        .collect();
    let edges: Vec<String> =
        edges.iter().map(|(a, b)| format!(r#"{{"sourceId": {a}, "destId": {b}, "cost": {cost}}}"#)).collect();
    let text = format!(
        r#"{{"maxSizePerFPGA": 1e9, "maxFPGAs": 4, "maxCPUs": 0, "nodes": [{}], "edges": [{}]}}"#,
        nodes.join(","),
        edges.join(",")
    );
    parse_workload(text.as_bytes(), std::path::Path::new("hand.json"), "hand").unwrap()
}

fn optimizer(k: usize) -> HiosOptions {
    HiosOptions { gpus: k, fidelity: Fidelity::Optimizer, ..HiosOptions::default() }
}

#[test]
fn blocks_are_cut_where_every_path_passes() {
    // 0 -> {1, 2} -> 3 -> 4 -> {5, 6}: 0, 3 and 4 are on every path; 5 and 6 are two outputs.
    let w = workload(
        &[(0, 0.0), (1, 1.0), (2, 1.0), (3, 1.0), (4, 1.0), (5, 1.0), (6, 1.0)],
        &[(0, 1), (0, 2), (1, 3), (2, 3), (3, 4), (4, 5), (4, 6)],
        0.1,
    );
    let p = Problem::from_workload(&w, 1.0, Contention::Reference);
    let order: Vec<usize> = (0..p.len()).collect();
    let got = blocks(&p, &order);
    let want = vec![
        Block { enter: Some(0), inner: vec![1, 2], exit: Some(3) },
        Block { enter: Some(3), inner: vec![], exit: Some(4) },
        Block { enter: Some(4), inner: vec![5, 6], exit: None },
    ];
    assert_eq!(got, want);
}

#[test]
fn the_intra_window_leaves_the_entry_out_and_starts_afresh_in_each_block() {
    // One GPU. Block 1: 0 -> {1, 2}, 1 -> 5, 2 -> 3 -> 5: its sequence is 1 2 3 5; the first
    // pair (1, 2) is independent and the reference model never slows a pair down, so it merges;
    // then (3, 5) is dependent and the window sticks for the rest of the block. Block 2:
    // 5 -> {6, 7} -> 8: a fresh window merges (6, 7). The input 0 is in no sequence: with it,
    // the pair (0, 1) would be dependent and nothing would merge at all.
    let w = workload(
        &[(0, 0.0), (1, 1.0), (2, 1.0), (3, 1.0), (5, 1.0), (6, 1.0), (7, 1.0), (8, 1.0)],
        &[(0, 1), (0, 2), (1, 5), (2, 3), (3, 5), (5, 6), (5, 7), (6, 8), (7, 8)],
        0.1,
    );
    let mut p = Problem::from_workload(&w, 1.0, Contention::Reference);
    p.u.iter_mut().for_each(|u| *u = 0.5);
    let (s, l) = run("hios-lp-intra", &p, &w, &optimizer(1)).unwrap();
    let merged: Vec<Vec<usize>> = s.stages[0]
        .iter()
        .filter(|st| st.len() == 2)
        .map(|st| {
            let mut m: Vec<usize> = st.iter().flatten().copied().collect();
            m.sort_unstable();
            m
        })
        .collect();
    let idx = |id: i64| w.index_of(id).unwrap();
    assert_eq!(merged, vec![vec![idx(1), idx(2)], vec![idx(6), idx(7)]]);
    assert!((simulate(&p, &s).unwrap().latency - l).abs() < 1e-12);
}

#[test]
fn hios_mr_keeps_the_least_cost_over_all_predecessors() {
    // 0 -> a(1) and 0 -> b(5), {a, b} -> x(1), x -> e(1); every transfer 0.5; two GPUs. By
    // hand, HIOS's table: a costs 1 on GPU 0 and 1.5 on GPU 1; b 5 on GPU 0 (after a on GPU
    // 1) and 5.5 on GPU 1 (after a on GPU 0). For x on GPU 0, predecessor a on GPU 0 in the
    // second history gives 1 + 1 = 2, the least over both predecessors and both histories
    // (the intended maximum over predecessors gives 6). x is a block's exit, so the first
    // block's estimate is min(2, 2.5) = 2; the second block (x -> e) adds e's 1: 3 in all.
    let w =
        workload(&[(0, 0.0), (1, 1.0), (2, 5.0), (3, 1.0), (4, 1.0)], &[(0, 1), (0, 2), (1, 3), (2, 3), (3, 4)], 0.5);
    let o = optimizer(2);
    let s: &'static dyn placebench::hios::algorithms::Scheduler =
        placebench::registry::find_scheduler("hios-mr").unwrap();
    let cell = SchedulingCell::new(&w, s, Contention::Reference, None, o, 0);
    let r = run_one(&cell).record;
    let estimate: f64 =
        r.notes.split(';').find_map(|kv| kv.strip_prefix("mr_estimate=")).expect("the note").parse().unwrap();
    assert!((estimate - 3.0).abs() < 1e-12, "{estimate} in {}", r.notes);
    assert!(r.objective.unwrap() >= 6.0, "the real schedule waits for b: {:?}", r.objective);
}

#[test]
fn every_block_exit_runs_on_gpu_0() {
    let zoo = placebench::hios::sweep::zoo_cnns().unwrap();
    let w = zoo.iter().find(|w| w.name == "zoo/inceptionv3_331").unwrap();
    let p = Problem::from_workload(w, 132.0 * 2048.0, Contention::Reference);
    let order: Vec<usize> = (0..p.len()).collect();
    let exits: Vec<usize> = blocks(&p, &order).iter().filter_map(|b| b.exit).collect();
    assert!(exits.len() > 10, "{} blocks", exits.len());
    for name in ["hios-lp", "hios-mr", "hios-lp-intra", "hios-mr-intra"] {
        let (s, l) = run(name, &p, w, &optimizer(2)).unwrap();
        assert!(exits.iter().all(|&e| s.gpu_of[e] == 0), "{name}: an exit off GPU 0");
        assert!((simulate(&p, &s).unwrap().latency - l).abs() <= 1e-9 * l, "{name}");
        assert!(s.gpu_of.contains(&1), "{name}: GPU 1 unused");
    }
}

//! Graphs too deep for recursion: a 200,000-node cycle, a 100,000-node chain whose first and
//! last nodes share a colour class (one cycle through every group), and a chain too long for
//! the exact DP within its limit. petgraph's recursive Tarjan overflowed the stack on the first
//! two; the DP enumerated its ideals for a minute past a 20 s limit on the third.

use placebench::algorithms::atoms::{build_atoms, AtomOptions};
use placebench::algorithms::{dp::Dp, Objective, RunOptions};
use placebench::results::Status;
use placebench::run::run_cell;
use placebench::workload::parse_workload;
use std::path::Path;

/// A chain of `n` nodes (a cycle when `close`), with the first and last in one colour class
/// when `paired`.
fn chain(n: usize, close: bool, paired: bool) -> String {
    let mut s = String::from("{\"maxSizePerFPGA\": 1e9, \"maxFPGAs\": 2, \"maxCPUs\": 1, \"nodes\": [");
    for i in 0..n {
        let class = if paired && (i == 0 || i == n - 1) { ", \"colorClass\": 7" } else { "" };
        let sep = if i + 1 < n { "," } else { "" };
        s += &format!(
            "{{\"id\": {i}, \"supportedOnFpga\": 1, \"cpuLatency\": 2, \"fpgaLatency\": 1, \"isBackwardNode\": 0{class}}}{sep}"
        );
    }
    s += "], \"edges\": [";
    let edges = if close { n } else { n - 1 };
    for i in 0..edges {
        let sep = if i + 1 < edges { "," } else { "" };
        s += &format!("{{\"sourceId\": {i}, \"destId\": {}, \"cost\": 0.1}}{sep}", (i + 1) % n);
    }
    s + "]}"
}

#[test]
fn a_cycle_of_200k_nodes_is_reported_not_a_stack_overflow() {
    let text = chain(200_000, true, false);
    let err = parse_workload(text.as_bytes(), Path::new("cycle.json"), "cycle").expect_err("a cycle").to_string();
    assert!(err.contains("cycle through nodes 0, 1, 2") && err.contains("and 199980 more"), "{err}");
}

#[test]
fn a_cycle_through_100k_groups_is_fused_without_recursion() {
    let n = 100_000;
    let w = parse_workload(chain(n, false, true).as_bytes(), Path::new("paired.json"), "paired").expect("loads");
    // The class {0, n - 1} lies on a cycle with every node between: one atom.
    let atoms = build_atoms(&w, AtomOptions::default());
    assert_eq!(atoms.len(), 1);
}

#[test]
fn the_dp_keeps_its_time_limit_on_a_chain_of_100k_nodes() {
    let w = parse_workload(chain(100_000, false, false).as_bytes(), Path::new("chain.json"), "chain").expect("loads");
    let opts = RunOptions { time_limit: Some(1.0), ..RunOptions::default() };
    let cell = run_cell(&w, &Dp, Objective::Throughput, &opts);
    assert_eq!(cell.record.status, Status::Timeout, "{:?}", cell.record);
    // Checked between steps of the enumeration: a generous margin, not a measure of speed.
    assert!(cell.record.wall_seconds < 15.0, "{:?}", cell.record);
}

/// The integer programs on graphs too large to build and presolve within their limit: `bench`
/// runs them in a process of their own and stops it a grace past the limit (HiGHS took 69 s
/// at a 1 s limit on the 8,000-node chain, and the latency IP 300 s at 10 s on 100,000 nodes),
/// so the row is a time-out and the run goes on.
#[test]
fn the_integer_programs_keep_their_time_limit_on_long_chains() {
    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("chain.json");
    std::fs::write(&file, chain(8_000, false, false)).unwrap();
    for (kind, algo) in [("throughput", "ip-contig"), ("throughput", "ip-noncontig"), ("latency", "latency-ip")] {
        let started = std::time::Instant::now();
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_bench"))
            .args([
                kind,
                file.to_str().unwrap(),
                "--algo",
                algo,
                "--time-limit",
                "1",
                "--threads",
                "1",
                "--json",
                "--quiet",
            ])
            .output()
            .expect("bench runs");
        let took = started.elapsed().as_secs_f64();
        let text = String::from_utf8_lossy(&out.stdout);
        let row: serde_json::Value = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{algo}: {e}: {text}"));
        let status = row["status"].as_str().unwrap_or_default();
        assert!(["timeout", "feasible", "optimal"].contains(&status), "{algo}: {row}");
        // Limit 1 s plus the grace of 2.05 s; the rest is margin for a loaded machine (loading
        // and checking the chain), not a measure of speed.
        assert!(took < 20.0, "{algo} took {took:.1} s at a 1 s limit: {row}");
    }
}

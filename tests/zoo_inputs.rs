//! The embedded workloads of `inputs/` are exactly what the model zoo generates (so they never
//! drift from the generator), the list compiled into the binary names the same files, and
//! every algorithm runs on them.

use placebench::algorithms::{for_objective, Objective, RunOptions};
use placebench::run::run_all;
use placebench::workload::{embedded_workloads, EmbeddedSet, EMBEDDED_LATENCY, EMBEDDED_THROUGHPUT};
use placebench::zoo::{generate, presets, to_text};
use std::path::Path;

#[test]
fn inputs_are_what_the_generator_writes() {
    for p in presets() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(p.path);
        let committed = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let fresh = to_text(&generate(&p.spec).expect("generates"));
        assert!(committed == fresh, "{} differs from the generator: run `bench gen --embedded`", p.path);
    }
}

#[test]
fn the_binary_embeds_the_presets() {
    let mut embedded: Vec<&str> = EMBEDDED_THROUGHPUT.iter().chain(EMBEDDED_LATENCY).map(|(p, _)| *p).collect();
    let mut generated: Vec<&str> = presets().iter().map(|p| p.path).collect();
    embedded.sort_unstable();
    generated.sort_unstable();
    assert_eq!(embedded, generated);
}

/// Every algorithm on every embedded workload, with the 60 s limit the README's first command
/// uses: no failure, and the exact DP is optimal on every throughput workload.
#[test]
fn every_algorithm_runs_on_the_embedded_workloads() {
    let experts = Path::new(env!("CARGO_MANIFEST_DIR")).join("human-experts");
    let opts = RunOptions { time_limit: Some(60.0), threads: 2, expert_dirs: vec![experts], ..RunOptions::default() };
    for (set, kind) in [(EmbeddedSet::Throughput, Objective::Throughput), (EmbeddedSet::Latency, Objective::Latency)] {
        let workloads = embedded_workloads(set).expect("embedded workloads load");
        for c in run_all(&workloads, &for_objective(kind), kind, &opts, None) {
            let r = c.record;
            assert!(!r.status.is_failure(), "{} / {}: {:?} {}", r.workload, r.algorithm, r.status, r.message);
            if kind == Objective::Throughput && r.algorithm == "dp" {
                assert_eq!(r.status, placebench::results::Status::Optimal, "{}", r.workload);
            }
        }
    }
}

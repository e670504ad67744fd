//! Criterion benchmark of the exact DP: the embedded workloads, and the paper's GNMT and
//! BERT-L3 training graphs when `$PLACEBENCH_PAPER_INPUTS` (default ../shared/dnn-partitioning)
//! is there. `bench perf` prints the same timings for every workload in one table.

use criterion::{criterion_group, criterion_main, Criterion};
use placebench::algorithms::{dp::Dp, Algorithm, RunOptions};
use placebench::workload::{embedded_workloads, load_workload, EmbeddedSet};
use std::path::PathBuf;

fn dp(c: &mut Criterion) {
    let mut workloads = embedded_workloads(EmbeddedSet::Throughput).expect("embedded workloads load");
    let paper = std::env::var_os("PLACEBENCH_PAPER_INPUTS")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/dnn-partitioning"));
    for name in ["LayerGraphs/gnmt_inference", "OperatorGraphs/bert_l-3_training"] {
        let path = paper.join("throughput-inputs").join(format!("{name}.json"));
        if let Ok(w) = load_workload(&path, name) {
            workloads.push(w);
        }
    }
    let opts = RunOptions::default();
    let mut group = c.benchmark_group("dp");
    group.sample_size(10);
    for w in &workloads {
        group.bench_function(&w.name, |b| b.iter(|| Dp.run(w, &opts).expect("dp runs")));
    }
    group.finish();
}

criterion_group!(benches, dp);
criterion_main!(benches);

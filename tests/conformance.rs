//! Conformance of the whole registry: every algorithm of every family, on random small
//! instances and on the zoo's embedded workloads, run through the one runner and judged by
//! its family's checker (the evaluator for placements, the schedule simulator for schedules,
//! the event-log replay for sharing):
//! - no run fails (`error` or `mismatch`: a claim the checker does not confirm is a mismatch);
//! - every bound an algorithm reports is at most the objective the checker computes;
//! - an algorithm that says it is deterministic returns the same row and the same placement or
//!   schedule when run again with the same seed.
//!
//! The registry is iterated, so a new algorithm is covered by adding its registry line.

mod common;

use common::random_workload;
use placebench::algorithms::{Objective, RunOptions};
use placebench::family::{CellResult, FamilyKind};
use placebench::hios::algorithms::HiosOptions;
use placebench::hios::family::SchedulingCell;
use placebench::hios::Contention;
use placebench::multitenant::gen::{generate, Durations, GenOptions};
use placebench::multitenant::salus::family::{instance, Instance, SharingCell, GIB};
use placebench::multitenant::salus::sweep::{config, SalusRunArgs};
use placebench::multitenant::tenant::Kind;
use placebench::registry::{self, Entry};
use placebench::run::{run_cell, run_one};
use placebench::workload::{embedded_workloads, EmbeddedSet, Workload};
use placebench::zoo::{cost::CostModel, Model};
use std::collections::HashSet;
use std::path::Path;

fn options() -> RunOptions {
    let experts = Path::new(env!("CARGO_MANIFEST_DIR")).join("human-experts");
    RunOptions { seed: 7, time_limit: Some(30.0), threads: 1, expert_dirs: vec![experts], ..RunOptions::default() }
}

/// Random instances: small DAGs of both kinds, with and without CPUs, 1–3 accelerators.
fn random_instances(training: bool) -> Vec<Workload> {
    (0..10u64)
        .map(|s| random_workload(1000 + s, 2 + (s as usize % 6), training, (s % 3) as usize, 1 + (s % 3) as usize))
        .collect()
}

fn run_entry(e: &Entry, w: &Workload, k: usize) -> CellResult {
    match e {
        Entry::Placement(a) => run_cell(w, *a, a.objective(), &options()),
        Entry::Scheduling(s) => {
            let o = HiosOptions { gpus: k, ..HiosOptions::default() };
            run_one(&SchedulingCell::new(w, *s, Contention::default(), None, o, 7))
        }
        Entry::Sharing(_) => unreachable!("sharing policies run on traces (sharing_instances)"),
        Entry::Pipeline(_) => unreachable!("pipeline methods run on task sets (every_pipeline_method_conforms)"),
        Entry::Packing(_) => unreachable!("matchers run on weight sets (every_matcher_conforms)"),
    }
}

/// Small generated traces for the sharing family: training and serving, a burst and spread
/// arrivals, memory that binds.
fn sharing_instances() -> Vec<Instance> {
    let cost = CostModel::resolve("h200", "pcie").unwrap();
    let mut out = Vec::new();
    for (seed, kind, load) in [(1u64, Kind::Train, 0.0), (2, Kind::Train, 2.0), (3, Kind::Infer, 0.5)] {
        let o = GenOptions {
            name: format!("conformance-{seed}"),
            jobs: 8,
            mix: vec![(Model::Resnet50, 8), (Model::NasnetMobile, 8), (Model::Bert, 2)],
            kind,
            durations: Durations::Iterations(6),
            load,
            rate: (kind == Kind::Infer).then_some(20.0),
            slo_slack_ms: Some(5.0),
            seed,
            workloads: Vec::new(),
        };
        let t = generate(&o, &cost).unwrap();
        out.push(instance(&t, Path::new(&o.name), "-", &cost, 6.0 * GIB, seed, None).unwrap());
    }
    out
}

/// The instances an entry is defined on: latency and scheduling need inference graphs.
fn instances_for(e: &Entry) -> Vec<Workload> {
    let inference_only = match e {
        Entry::Placement(a) => a.objective() == Objective::Latency,
        Entry::Scheduling(_) => true,
        Entry::Sharing(_) | Entry::Pipeline(_) | Entry::Packing(_) => return Vec::new(),
    };
    let mut out = random_instances(false);
    let set = if inference_only { EmbeddedSet::Latency } else { EmbeddedSet::Throughput };
    out.extend(
        embedded_workloads(set)
            .expect("embedded workloads load")
            .into_iter()
            .filter(|w| !inference_only || !w.is_training()),
    );
    if !inference_only {
        out.extend(random_instances(true));
    }
    out
}

fn check(e: &Entry, w: &Workload, k: usize) {
    let name = e.name();
    let first = run_entry(e, w, k);
    let r = &first.record;
    assert!(!r.status.is_failure(), "{name} on {}: {:?} {}", w.name, r.status, r.message);
    if let (Some(lb), Some(obj)) = (r.lower_bound, r.objective) {
        assert!(lb <= obj * (1.0 + 1e-6) + 1e-9, "{name} on {}: bound {lb} above objective {obj}", w.name);
    }
    if e.describe().deterministic {
        let again = run_entry(e, w, k);
        let (a, b) = (&first.record, &again.record);
        assert_eq!((a.status, a.objective), (b.status, b.objective), "{name} on {}: a rerun differs", w.name);
        assert_eq!(first.artifact, again.artifact, "{name} on {}: a rerun returns another answer", w.name);
    }
}

#[test]
fn the_registry_lists_every_algorithm_once_with_its_family() {
    let all = registry::all();
    // Methods are looked up within their family (`--method` of each command), so a name is
    // unique per family: the scheduling and the pipeline families each have a `sequential`.
    let names: HashSet<(String, &str)> = all.iter().map(|e| (format!("{:?}", e.describe().family), e.name())).collect();
    assert_eq!(names.len(), all.len(), "two algorithms of one family share a name");
    assert_eq!(all.len(), 41, "bench list shows {} algorithms", all.len());
    for family in
        [FamilyKind::Placement, FamilyKind::Scheduling, FamilyKind::Sharing, FamilyKind::Pipeline, FamilyKind::Packing]
    {
        assert!(all.iter().any(|e| e.describe().family == family), "no {family:?} algorithm registered");
    }
    for e in all {
        assert!(!e.describe().summary.is_empty(), "{} has no summary", e.name());
    }
}

#[test]
fn every_placement_algorithm_conforms() {
    for e in registry::all().iter().filter(|e| e.describe().family == FamilyKind::Placement) {
        for w in instances_for(e) {
            check(e, &w, 1);
        }
    }
}

#[test]
fn every_scheduling_algorithm_conforms() {
    for e in registry::all().iter().filter(|e| e.describe().family == FamilyKind::Scheduling) {
        for w in instances_for(e) {
            for k in [1, 2, 3] {
                check(e, &w, k);
            }
        }
    }
}

#[test]
fn every_sharing_policy_conforms() {
    let instances = sharing_instances();
    for e in registry::all() {
        let Entry::Sharing(p) = e else { continue };
        for i in &instances {
            let cell = || SharingCell { instance: i, policy: *p, config: config(&args(), *p, &cost()), seed: 7 };
            let first = run_one(&cell());
            let r = &first.record;
            assert!(!r.status.is_failure(), "{} on {}: {:?} {}", p.name(), i.name, r.status, r.message);
            let (lb, obj) = (r.lower_bound.unwrap(), r.objective.unwrap());
            assert!(lb <= obj * (1.0 + 1e-9), "{} on {}: bound {lb} above {obj}", p.name(), i.name);
            let again = run_one(&cell());
            assert_eq!(first.artifact, again.artifact, "{} on {}: a rerun differs", p.name(), i.name);
        }
    }
}

fn cost() -> CostModel {
    CostModel::resolve("h200", "pcie").unwrap()
}

/// Every pipeline method on generated sets of three tasks (small enough for `exhaustive`):
/// never a failed run, reruns identical, and in W exhaustive ≤ dart ≤ one-node (each space
/// contains the next; the same DP and analysis within DART's).
#[test]
fn every_pipeline_method_conforms() {
    use placebench::multitenant::dart::family::PipelineCell;
    use placebench::multitenant::dart::model::Platform;
    use placebench::multitenant::dart::taskset::generate;
    let platform =
        Platform { gpus: 1, cores: 3, idle_cores: false, max_nodes: 3, pcie_bytes_per_ms: 25e6, pcie_latency_ms: 0.01 };
    for seed in 0..6u64 {
        let set = generate(3, 0.3 + 0.2 * seed as f64, 3, seed);
        let mut w = std::collections::HashMap::new();
        for e in registry::all() {
            let Entry::Pipeline(m) = e else { continue };
            let cell = || PipelineCell {
                set: &set,
                hash: "-",
                method: *m,
                platform: platform.clone(),
                patterns: 5,
                periods: 6.0,
                seed: 7,
                online: false,
                timeline: true,
            };
            let first = run_one(&cell());
            let r = &first.record;
            assert!(!r.status.is_failure(), "{} on {}: {:?} {}", m.name(), set.name, r.status, r.message);
            assert_eq!(first.artifact, run_one(&cell()).artifact, "{} on {}: a rerun differs", m.name(), set.name);
            // The analysed scores (the claims of the methods that admit).
            w.insert(m.name(), if m.admits() { r.claimed_objective.unwrap_or(f64::INFINITY) } else { f64::NAN });
            if let (true, Some(analysed), Some(observed)) = (m.admits(), r.claimed_objective, r.objective) {
                assert!(observed <= analysed + 1e-12, "{}: observed W {observed} above analysed {analysed}", m.name());
            }
        }
        assert!(w["exhaustive"] <= w["dart"] + 1e-12 && w["dart"] <= w["one-node"] + 1e-12, "{}: {w:?}", set.name);
    }
}

/// Every matcher on seeded weight sets: confirmed by the checker and the same answer on a
/// rerun. (The assignment is exact per step, not over the whole packing, so its total is not
/// asserted against the others here; `tests/nwv.rs` compares them step by step.)
#[test]
fn every_matcher_conforms() {
    use placebench::multitenant::nwv::family::{PackingCell, TaskSet};
    use placebench::multitenant::nwv::matchers::{MatchOptions, Order};
    use placebench::multitenant::nwv::task::synthetic;
    for seed in 0..3u64 {
        let tasks = (0..3)
            .map(|i| synthetic(&format!("t{i}"), 900 + 170 * i + 13 * seed as usize, seed * 10 + i as u64))
            .collect();
        let set = TaskSet { name: format!("conformance-{seed}"), hash: "-".into(), tasks, page_size: 50 };
        for e in registry::all() {
            let Entry::Packing(m) = e else { continue };
            let v = m.virtual_pages(&set.tasks, 50, &MatchOptions { seed: 7, faithful: false, lap_max: 4096 });
            let cell = || PackingCell {
                set: &set,
                matcher: *m,
                virtual_pages: v.unwrap_or(set.min_pages()),
                passes: 1,
                order: Order::Given,
                options: MatchOptions { seed: 7, faithful: false, lap_max: 4096 },
            };
            let first = run_one(&cell());
            let r = &first.record;
            assert!(!r.status.is_failure(), "{} on {}: {:?} {}", m.name(), set.name, r.status, r.message);
            assert_eq!(first.artifact, run_one(&cell()).artifact, "{} on {}: a rerun differs", m.name(), set.name);
        }
    }
}

/// `bench salus`'s defaults at 6 GiB.
fn args() -> SalusRunArgs {
    use clap::Parser;
    #[derive(Parser)]
    struct Wrap {
        #[command(flatten)]
        a: SalusRunArgs,
    }
    Wrap::parse_from(["salus", "--memory-gib", "6"]).a
}

//! Validate rows and predictions on small cases.

use super::*;
use crate::cli::args::{Cli, Command};
use clap::Parser;

fn parse(args: &[std::ffi::OsString]) -> ValidateOptions {
    let mut all: Vec<std::ffi::OsString> = vec!["bench".into()];
    all.extend_from_slice(args);
    match Cli::try_parse_from(all).expect("the child's arguments parse").command {
        Command::Validate(v) => v,
        _ => panic!("not validate"),
    }
}

fn job(kind: &'static str, file: &str) -> Job {
    Job {
        file: file.into(),
        kind,
        algorithm: String::new(),
        plan: Plan { tasks: Vec::new(), graph: None, kernels: "", cut_every: 0 },
        mode: Mode::Latency,
        predicted: 0.0,
        roofline: None,
        within_memory: true,
        stages: Vec::new(),
    }
}

/// Of a plan's runs in several processes, the median one is kept (the lower of two
/// middles), with every process's time; a run that measured nothing counts as slowest.
#[test]
fn the_median_process_is_kept_with_every_time() {
    let run = |ms: f64| vec![json!({"status": "measured", "measured_ms": ms})];
    let kept = median_run(vec![run(3.0), run(1.0), run(2.0)]);
    assert_eq!(kept[0]["measured_ms"], 2.0);
    assert_eq!(kept[0]["processes_ms"], json!([3.0, 1.0, 2.0]));
    let kept = median_run(vec![run(4.0), run(1.0), run(3.0), run(2.0)]);
    assert_eq!(kept[0]["measured_ms"], 2.0);
    let failed = vec![json!({"status": "error"})];
    assert_eq!(median_run(vec![failed.clone(), run(5.0), run(6.0)])[0]["measured_ms"], 6.0);
    assert_eq!(median_run(vec![run(1.0)]), run(1.0));
}

/// `--stage-times` takes every GPU's stages of several groups, and times the schedule whole
/// only where one GPU holds all of it (whatever its K).
#[test]
fn stage_times_take_concurrent_stages_and_one_gpu_schedules() {
    let mut j = job("hios", "s.json");
    j.stages = vec![vec![vec![vec![0]], vec![vec![1], vec![2, 3]]], vec![]];
    assert_eq!(j.concurrent_stages(), vec![vec![vec![1], vec![2, 3]]]);
    assert_eq!(j.one_gpu_stages(), Some(j.stages[0].as_slice()));
    j.stages[1] = vec![vec![vec![4], vec![5]]];
    assert_eq!(j.concurrent_stages().len(), 2);
    assert_eq!(j.one_gpu_stages(), None);
}

/// A plan's own process gets the parent's options back, for that plan alone, in process.
#[test]
fn a_child_runs_one_plan_with_the_parents_options() {
    let parent = parse(
        &[
            "validate",
            "w.json",
            "a.json",
            "b.json",
            "--graphs",
            "--latency",
            "--samples",
            "7",
            "--repeats",
            "2",
            "--copy-blocks",
            "66",
            "--ignore-memory",
            "--stage-times",
            "--trace",
            "--processes",
            "3",
        ]
        .map(Into::into),
    );
    let child = parse(&child_args(&parent, &job("latency", "b.json"), Path::new("/tmp/o.json")));
    assert_eq!(child.workload, parent.workload);
    assert_eq!(child.placements, vec![std::path::PathBuf::from("b.json")]);
    assert!(child.schedules.is_empty());
    assert!(child.graphs && child.latency && !child.busy && child.in_process && child.ignore_memory);
    assert!(child.stage_times && child.trace);
    assert_eq!(child.processes, 1, "a child runs its plan once");
    assert_eq!((child.samples, child.repeats), (7, 2));
    assert_eq!(child.copy.kernel(), parent.copy.kernel());
    assert_eq!(child.out.as_deref(), Some(Path::new("/tmp/o.json")));
    // A schedule, busy kernels, word copies.
    let parent = parse(&["validate", "w.json", "--schedule", "s.json", "--busy", "--word-copies"].map(Into::into));
    let child = parse(&child_args(&parent, &job("hios", "s.json"), Path::new("o.json")));
    assert_eq!(child.schedules, vec![std::path::PathBuf::from("s.json")]);
    assert!(child.placements.is_empty() && child.busy && !child.graphs && child.copy.word_copies);
    assert!(!child.ignore_memory && !child.stage_times && !child.trace);
    assert_eq!((child.samples, child.repeats), (parent.samples, parent.repeats));
    // The diagnostics.
    let parent = parse(
        &[
            "validate",
            "w.json",
            "a.json",
            "--copy-engine",
            "--host-polled-imports",
            "--no-copies",
            "--side-branches",
            "2",
            "--cut-every",
            "4",
            "--remote-branches",
            "8",
            "--remote-return",
            "16",
        ]
        .map(Into::into),
    );
    let child = parse(&child_args(&parent, &job("latency", "a.json"), Path::new("o.json")));
    assert_eq!(child.copy.kernel(), crate::gpu::plan::CopyKernel::Engine);
    assert!(child.host_polled_imports && child.no_copies);
    assert_eq!(child.side_branches, 2);
    assert_eq!(child.cut_every, 4);
    assert_eq!((child.remote_branches, child.remote_return), (8, 16));
    // The rows say the return only where it is not the default (rows before it say nothing).
    let fields = |a: &ValidateOptions| {
        Diagnostics::of(a).fields().into_iter().filter(|(_, v)| v.is_some()).map(|(k, _)| k).collect::<Vec<_>>()
    };
    let has = |a: &ValidateOptions, k: &str| fields(a).iter().any(|f| f == k);
    assert!(has(&parent, "remote_return"));
    let plain = parse(&["validate", "w.json", "a.json", "--remote-branches", "8"].map(Into::into));
    assert!(!has(&plain, "remote_return") && has(&plain, "remote_branches"));
}

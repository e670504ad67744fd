//! The pipeline family's runtimes beyond DART's own: overrun enforcement, EDF, the sequential
//! GPU, the concurrent streams of `gpu-multistream`, and online admission. Hand-made sets with
//! counted answers, and random sets whose runs must pass the runtime's own checker.

mod common;

use common::dart::{layer, platform, set_strategy, task};
use placebench::family::Cell;
use placebench::multitenant::dart::check::check;
use placebench::multitenant::dart::choose::choose;
use placebench::multitenant::dart::family::{run_and_check, PipelineCell};
use placebench::multitenant::dart::methods::{GpuMultistream, NpEdf, PipelineMethod, SequentialGpu};
use placebench::multitenant::dart::model::{Class, Cuts, Layer, Node, Plan, Platform, Runtime, Task};
use placebench::multitenant::dart::multistream;
use placebench::multitenant::dart::sim::{releases, simulate, Event, Exec, Overrun};
use placebench::multitenant::dart::taskset::TaskSet;
use proptest::prelude::*;

fn plan<'a>(p: &'a Platform, tasks: &'a [Task], cfg: &'a [Node], cuts: &'a [Cuts], runtime: Runtime) -> Plan<'a> {
    Plan { platform: p, tasks, config: cfg, cuts, runtime }
}

/// A task without input copy: its times are exactly its layers'.
fn bare(i: usize, class: Class, period: f64, deadline: f64, weight: f64, layers: Vec<Layer>) -> Task {
    Task { input_bytes: 0.0, deadline_ms: deadline, ..task(i, class, period, weight, layers) }
}

fn cpu_ms(ms: f64) -> Layer {
    layer(1.0, ms, 0.0, 0.0)
}

/// One core, two real-time tasks released at 0: A (higher weight) one stage of two 1 ms
/// layers, B one 2 ms layer with a 7.5 ms deadline. A's first layer of job 0 takes 5 ms: the
/// stage stops after it (5 > 1 ms of WCET), A's job is reported and demoted, and B runs from
/// 5 to 7 ms. Without enforcement B would end at 8 ms and miss. The checker accepts the log
/// and counts the same overrun; with the report removed from the log it flags it.
#[test]
fn an_overrun_is_stopped_at_its_layer_boundary_reported_and_demoted() {
    let p = Platform { pcie_latency_ms: 0.0, ..platform(0, 1, 1) };
    let cfg = vec![Node { gpu: false, cores: 1 }];
    let tasks = vec![
        bare(0, Class::Rt, 20.0, 20.0, 2.0, vec![cpu_ms(1.0), cpu_ms(1.0)]),
        bare(1, Class::Rt, 20.0, 7.5, 1.0, vec![cpu_ms(2.0)]),
    ];
    let cuts = vec![vec![2], vec![1]];
    let pl = plan(&p, &tasks, &cfg, &cuts, Runtime::FixedPriority);
    let exec = Exec { overrun: Some(Overrun { task: 0, job: 0, layer: 0, factor: 5.0 }), ..Exec::WCET };
    let run = simulate(&pl, &[vec![0.0], vec![0.0]], 20.0, exec);
    assert!(
        run.events.iter().any(|e| matches!(e, Event::Overrun { task: 0, job: 0, t } if (t - 5.0).abs() < 1e-9)),
        "{:?}",
        run.events
    );
    assert_eq!(run.overruns.len(), 1);
    assert!((run.responses[1][0] - 7.0).abs() < 1e-9, "B waits for A's first layer only: {:?}", run.responses);
    assert!((run.overruns[0].2 - 8.0).abs() < 1e-9, "A's second layer runs after B as best effort");
    let rep = check(&pl, &run.events);
    assert_eq!(rep.violations, 0, "{:?}", rep.first);
    assert_eq!(rep.misses, 0);
    assert_eq!(rep.overruns.len(), 1);
    let unreported: Vec<Event> = run.events.iter().copied().filter(|e| !matches!(e, Event::Overrun { .. })).collect();
    assert!(check(&pl, &unreported).violations > 0, "an overrun the log does not report");
}

/// Two jobs released together on one core: A has the higher weight, B the earlier deadline.
/// Fixed priority runs A first, EDF B first; each log passes its own runtime's checker and
/// fails the other's.
#[test]
fn edf_and_fixed_priority_logs_are_told_apart() {
    let p = Platform { pcie_latency_ms: 0.0, ..platform(0, 1, 1) };
    let cfg = vec![Node { gpu: false, cores: 1 }];
    let tasks = vec![
        bare(0, Class::Rt, 20.0, 20.0, 2.0, vec![cpu_ms(2.0)]),
        bare(1, Class::Rt, 20.0, 5.0, 1.0, vec![cpu_ms(2.0)]),
    ];
    let cuts = vec![vec![1], vec![1]];
    let fp = plan(&p, &tasks, &cfg, &cuts, Runtime::FixedPriority);
    let edf = plan(&p, &tasks, &cfg, &cuts, Runtime::Edf);
    let rel = [vec![0.0], vec![0.0]];
    let (run_fp, run_edf) = (simulate(&fp, &rel, 20.0, Exec::WCET), simulate(&edf, &rel, 20.0, Exec::WCET));
    assert_eq!((run_fp.responses[0][0], run_fp.responses[1][0]), (2.0, 4.0));
    assert_eq!((run_edf.responses[0][0], run_edf.responses[1][0]), (4.0, 2.0));
    assert_eq!(check(&fp, &run_fp.events).violations, 0);
    assert_eq!(check(&edf, &run_edf.events).violations, 0);
    assert!(check(&fp, &run_edf.events).violations > 0);
    assert!(check(&edf, &run_fp.events).violations > 0);
}

/// One GPU layer of `ms` (issue included) at occupancy `u`.
fn gpu_layer(ms: f64, u: f64) -> Layer {
    Layer { issue_ms: 0.0, occupancy: u, ..layer(ms, 100.0, 0.0, 0.0) }
}

/// Runs `tasks` under `gpu-multistream` from one release at 0 each; the checked responses.
fn multistream_once(tasks: &[Task], horizon: f64) -> Vec<Vec<f64>> {
    let p = Platform { pcie_latency_ms: 0.0, ..platform(1, 1, 1) };
    let cfg = vec![Node { gpu: true, cores: 1 }];
    let cuts: Vec<Cuts> = tasks.iter().map(|t| vec![t.layers.len()]).collect();
    let pl = plan(&p, tasks, &cfg, &cuts, Runtime::Multistream);
    let rel: Vec<Vec<f64>> = tasks.iter().map(|t| if t.rt() { vec![0.0] } else { vec![] }).collect();
    let run = multistream::simulate(&pl, &rel, horizon, Exec::WCET);
    let rep = multistream::check(&pl, &run.events);
    assert_eq!(rep.violations, 0, "{:?}", rep.first);
    assert_eq!(rep.responses, run.responses);
    rep.responses
}

/// The concurrent-stream model's closed forms: alone, a task takes the sum of its layers;
/// two of occupancy 0.4 run as if alone; two of occupancy 1 with one 2 ms layer each share
/// the GPU at rate 1 / (2 · 1.1) and end at 4.4 ms; a best-effort layer makes no progress
/// beside a real-time one of occupancy 1 (6 ms), so its 1 ms layer ends at 7 ms.
#[test]
fn concurrent_streams_follow_the_occupancy_model() {
    let rt = |i, layers| bare(i, Class::Rt, 50.0, 50.0, 1.0, layers);
    let alone = multistream_once(&[rt(0, vec![gpu_layer(1.0, 0.3), gpu_layer(2.5, 0.7)])], 50.0);
    assert!((alone[0][0] - 3.5).abs() < 1e-9, "{alone:?}");
    let light = multistream_once(&[rt(0, vec![gpu_layer(3.0, 0.4)]), rt(1, vec![gpu_layer(2.0, 0.4)])], 50.0);
    assert!((light[0][0] - 3.0).abs() < 1e-9 && (light[1][0] - 2.0).abs() < 1e-9, "{light:?}");
    let full = multistream_once(&[rt(0, vec![gpu_layer(2.0, 1.0)]), rt(1, vec![gpu_layer(2.0, 1.0)])], 50.0);
    assert!((full[0][0] - 4.4).abs() < 1e-9 && (full[1][0] - 4.4).abs() < 1e-9, "{full:?}");
    let be = bare(1, Class::Be, 50.0, 50.0, 1.0, vec![gpu_layer(1.0, 0.5)]);
    let starved = multistream_once(&[rt(0, vec![gpu_layer(6.0, 1.0)]), be], 7.5);
    assert!((starved[1][0] - 7.0).abs() < 1e-9, "{starved:?}");
}

/// The multistream checker integrates progress itself: an end moved earlier or later than the
/// layer's work allows is flagged.
#[test]
fn the_multistream_checker_rejects_a_moved_end() {
    let p = Platform { pcie_latency_ms: 0.0, ..platform(1, 1, 1) };
    let cfg = vec![Node { gpu: true, cores: 1 }];
    let tasks = vec![
        bare(0, Class::Rt, 50.0, 50.0, 1.0, vec![gpu_layer(2.0, 1.0)]),
        bare(1, Class::Rt, 50.0, 50.0, 1.0, vec![gpu_layer(2.0, 1.0), gpu_layer(1.0, 0.2)]),
    ];
    let cuts = vec![vec![1], vec![2]];
    let pl = plan(&p, &tasks, &cfg, &cuts, Runtime::Multistream);
    let run = multistream::simulate(&pl, &[vec![0.0], vec![0.0]], 50.0, Exec::WCET);
    assert_eq!(multistream::check(&pl, &run.events).violations, 0);
    let end = run.events.iter().position(|e| matches!(e, Event::End { .. })).unwrap();
    for shift in [-0.5, 0.5] {
        let mut moved = run.events.clone();
        if let Event::End { t, .. } = &mut moved[end] {
            *t += shift;
        }
        moved.sort_by(|a, b| a.t().total_cmp(&b.t()));
        assert!(multistream::check(&pl, &moved).violations > 0, "end moved by {shift} ms");
    }
}

/// Every pattern the family runs: synchronous at WCET, then seeded sporadic ones.
fn patterns(tasks: &[Task], horizon: f64, n: u64) -> Vec<(Vec<Vec<f64>>, Exec)> {
    let mut v = vec![(releases(tasks, horizon, None, 0.0), Exec::WCET)];
    v.extend((0..n).map(|s| (releases(tasks, horizon, Some(s), 0.5), Exec::uniform(0.5, s))));
    v
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]

    /// The baselines without admission run every set; each run passes its runtime's checker
    /// with the simulator's responses equal to those the checker derived, and where the
    /// sequential runtime's blocking analysis holds, no response exceeds its bound.
    #[test]
    fn baseline_runs_pass_their_checkers_and_sequential_bounds_hold(tasks in set_strategy()) {
        let p = platform(1, 4, 3);
        let horizon = 6.0 * tasks.iter().map(|t| t.period_ms).fold(0.0, f64::max);
        let methods: [&dyn PipelineMethod; 3] = [&SequentialGpu, &GpuMultistream, &NpEdf];
        for m in methods {
            let Some(c) = m.choose(&p, &tasks) else { continue };
            let pl = plan(&p, &tasks, &c.config, &c.cuts, m.runtime());
            for (rel, exec) in patterns(&tasks, horizon, 30) {
                let (run, rep) = run_and_check(&pl, &rel, horizon, exec);
                prop_assert_eq!(rep.violations, 0, "{}: {:?}", m.name(), rep.first);
                prop_assert_eq!(&rep.responses, &run.responses, "{}", m.name());
                if m.runtime() == Runtime::Sequential && c.analysis.schedulable {
                    for (i, t) in tasks.iter().enumerate().filter(|(_, t)| t.rt()) {
                        let worst = rep.responses[i].iter().copied().fold(0.0, f64::max);
                        prop_assert!(worst <= c.analysis.response_ms[i] * (1.0 + 1e-9),
                            "sequential: task {} observed {} above {}", t.name, worst, c.analysis.response_ms[i]);
                    }
                }
            }
        }
    }

    /// Online admission, re-derived: walking the set in order, a task is admitted exactly when
    /// DART's choice for it and those admitted before it exists, and the cell's answer is that
    /// choice for the admitted tasks.
    #[test]
    fn online_admission_admits_exactly_what_the_prefix_rule_says(tasks in set_strategy()) {
        let p = platform(1, 4, 3);
        let set = TaskSet { name: "random".into(), tasks: tasks.clone() };
        let method: &'static dyn PipelineMethod = &placebench::multitenant::dart::methods::Dart;
        let cell = PipelineCell { set: &set, hash: "", method, platform: p.clone(), patterns: 0, periods: 1.0, seed: 0, online: true, timeline: false };
        let answer = cell.attempt().unwrap();
        let mut admitted: Vec<usize> = Vec::new();
        for i in 0..tasks.len() {
            let with: Vec<Task> = admitted.iter().chain([&i]).map(|&j| tasks[j].clone()).collect();
            if choose(&p, &with).is_some() {
                admitted.push(i);
            }
        }
        match answer {
            None => prop_assert!(admitted.is_empty()),
            Some(a) => {
                prop_assert_eq!(&a.tasks, &admitted);
                let sub: Vec<Task> = admitted.iter().map(|&j| tasks[j].clone()).collect();
                let again = choose(&p, &sub).unwrap();
                prop_assert_eq!(&a.choice.config, &again.config);
                prop_assert_eq!(&a.choice.cuts, &again.cuts);
                prop_assert!(a.choice.analysis.schedulable);
            }
        }
    }
}

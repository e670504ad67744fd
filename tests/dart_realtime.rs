//! The real-time runtime on host threads, with every layer a modelled wait: every released
//! job finishes with its units in order, one unit at a time per node, and the log is the
//! simulator's kind. Timings are the host's, so nothing here asserts a duration.

mod common;

use common::dart::{layer, task};
use placebench::multitenant::dart::model::{Class, Node, Plan, Platform, Runtime, Task};
use placebench::multitenant::dart::realtime::{run, Modelled, Threads, Wait};
use placebench::multitenant::dart::sim::Event;

fn set() -> Vec<Task> {
    let l = |ms: f64| layer(ms, ms, 0.0, 0.0);
    vec![
        Task { input_bytes: 0.0, ..task(0, Class::Rt, 10.0, 2.0, vec![l(0.5), l(0.5)]) },
        Task { input_bytes: 0.0, ..task(1, Class::Rt, 20.0, 1.0, vec![l(1.0)]) },
        Task { input_bytes: 0.0, ..task(2, Class::Be, 50.0, 1.0, vec![l(0.5), l(0.5), l(0.5)]) },
    ]
}

/// Each node's units never overlap, every job's units follow its layers in order, and every
/// real-time release finishes.
fn well_formed(plan: &Plan, events: &[Event], released: &[usize]) {
    let mut busy_until = vec![f64::NEG_INFINITY; plan.config.len().max(plan.tasks.len())];
    let mut next_layer = std::collections::HashMap::new();
    for e in events {
        if let Event::Start { t, task, job, stage, first, end, .. } = *e {
            let lane = if plan.runtime == Runtime::Multistream { task } else { stage };
            assert!(t >= busy_until[lane] - 1e-9, "lane {lane} starts at {t} while busy until {}", busy_until[lane]);
            let ends = events.iter().find_map(|x| match *x {
                Event::End { t: te, task: a, job: b, stage: c } if (a, b, c) == (task, job, stage) && te >= t => {
                    Some(te)
                }
                _ => None,
            });
            busy_until[lane] = ends.expect("every unit ends");
            let expect = next_layer.get(&(task, job)).copied().unwrap_or(0);
            assert_eq!(first, expect, "task {task} job {job}");
            next_layer.insert((task, job), end);
        }
    }
    for (i, t) in plan.tasks.iter().enumerate().filter(|(_, t)| t.rt()) {
        let done = next_layer.iter().filter(|((a, _), &e)| *a == i && e == t.layers.len()).count();
        assert_eq!(done, released[i], "task {i}: every released job finishes");
    }
}

#[test]
fn the_real_time_runtimes_finish_every_job_in_order() {
    let tasks = set();
    let p = Platform { pcie_latency_ms: 0.0, ..common::dart::platform(1, 2, 2) };
    let pipeline = vec![Node { gpu: false, cores: 1 }, Node { gpu: true, cores: 1 }];
    let one = vec![Node { gpu: true, cores: 2 }];
    let split = vec![vec![1, 2], vec![0, 1], vec![1, 3]];
    let whole: Vec<Vec<usize>> = tasks.iter().map(|t| vec![t.layers.len()]).collect();
    for (cfg, cuts, runtime) in [
        (&pipeline, &split, Runtime::FixedPriority),
        (&pipeline, &split, Runtime::Edf),
        (&one, &whole, Runtime::Sequential),
        (&one, &whole, Runtime::Multistream),
    ] {
        for wait in [Wait::Sleep, Wait::Poll] {
            let plan = Plan { platform: &p, tasks: &tasks, config: cfg, cuts, runtime };
            let (r, host) = run(&plan, &Modelled { plan: &plan }, 60.0, Threads { wait, timer_core: None }).unwrap();
            let nodes = if runtime == Runtime::Multistream { 0 } else { cfg.len() };
            assert_eq!(host.len(), nodes, "{runtime:?}: host delays per node");
            assert!(host.iter().all(|h| h.largest_dispatch_ms >= 0.0 && h.largest_between_layers_ms >= -1e-9));
            let released: Vec<usize> = (0..tasks.len())
                .map(|i| r.events.iter().filter(|e| matches!(e, Event::Release { task, .. } if *task == i)).count())
                .collect();
            assert_eq!(&released[..2], &[6, 3], "{runtime:?}: releases every period of 60 ms");
            assert!(r.events.windows(2).all(|w| w[0].t() <= w[1].t()), "{runtime:?}: the log is in time order");
            well_formed(&plan, &r.events, &released);
            assert!(!r.responses[2].is_empty(), "{runtime:?} {wait:?}: best effort runs");
        }
    }
}

/// The replay of measured logs: a unit started 0.1 ms after its release breaks the exact
/// replay (the node idled while it waited) and passes with 0.2 ms of slack, not with 0.05.
#[test]
fn a_late_start_is_forgiven_only_within_the_slack() {
    use placebench::multitenant::dart::check::{check, check_with_slack};
    let tasks = vec![Task { input_bytes: 0.0, ..task(0, Class::Rt, 10.0, 1.0, vec![layer(1.0, 1.0, 0.0, 0.0)]) }];
    let p = Platform { pcie_latency_ms: 0.0, ..common::dart::platform(0, 1, 1) };
    let cfg = vec![Node { gpu: false, cores: 1 }];
    let cuts = vec![vec![1]];
    let plan = Plan { platform: &p, tasks: &tasks, config: &cfg, cuts: &cuts, runtime: Runtime::FixedPriority };
    let log = [
        Event::Release { t: 0.0, task: 0, job: 0 },
        Event::Start { t: 0.1, task: 0, job: 0, stage: 0, first: 0, end: 1, work_ms: 1.0 },
        Event::End { t: 1.1, task: 0, job: 0, stage: 0 },
    ];
    assert!(check(&plan, &log).violations > 0);
    let r = check_with_slack(&plan, &log, 0.2);
    assert_eq!(r.violations, 0, "{:?}", r.first);
    assert!((r.responses[0][0] - 1.1).abs() < 1e-12);
    assert!(check_with_slack(&plan, &log, 0.05).violations > 0);
}

/// The release timer's core: the highest core no node thread holds; a GPU node holds only its
/// last core, a CPU node all of its own; none when every core is held; never core 0.
#[test]
fn the_timer_gets_a_core_no_node_thread_holds() {
    use placebench::multitenant::dart::hardware::timer_core;
    let gpu = |cores| Node { gpu: true, cores };
    let cpu = |cores| Node { gpu: false, cores };
    assert_eq!(timer_core(&[gpu(16)], 16), Some(14), "the GPU thread holds core 15");
    assert_eq!(timer_core(&[cpu(6), cpu(4), cpu(5), gpu(1)], 16), None, "every core is held");
    assert_eq!(timer_core(&[cpu(4), gpu(2)], 16), Some(15));
    assert_eq!(timer_core(&[cpu(1), gpu(1)], 2), None, "core 0 is never the timer's");
    assert_eq!(timer_core(&[gpu(1)], 4), Some(3));
}

/// The replay of measured logs: a job that waited behind another starts 0.05 ms after that
/// one ended. Within 0.2 ms of slack the node was not idle (no violation), though the job had
/// waited far longer than the slack; the exact replay flags it, and so does a start 0.3 ms
/// after the end.
#[test]
fn a_node_is_idle_only_once_it_has_been_free_for_the_slack() {
    use placebench::multitenant::dart::check::{check, check_with_slack};
    let one = |i| Task { input_bytes: 0.0, ..task(i, Class::Rt, 10.0, 1.0, vec![layer(1.0, 1.0, 0.0, 0.0)]) };
    let tasks = vec![one(0), one(1)];
    let p = Platform { pcie_latency_ms: 0.0, ..common::dart::platform(0, 1, 1) };
    let cfg = vec![Node { gpu: false, cores: 1 }];
    let cuts = vec![vec![1], vec![1]];
    let plan = Plan { platform: &p, tasks: &tasks, config: &cfg, cuts: &cuts, runtime: Runtime::FixedPriority };
    let log = |second: f64| {
        vec![
            Event::Release { t: 0.0, task: 0, job: 0 },
            Event::Release { t: 0.0, task: 1, job: 0 },
            Event::Start { t: 0.0, task: 0, job: 0, stage: 0, first: 0, end: 1, work_ms: 1.0 },
            Event::End { t: 1.0, task: 0, job: 0, stage: 0 },
            Event::Start { t: second, task: 1, job: 0, stage: 0, first: 0, end: 1, work_ms: 1.0 },
            Event::End { t: second + 1.0, task: 1, job: 0, stage: 0 },
        ]
    };
    let r = check_with_slack(&plan, &log(1.05), 0.2);
    assert_eq!(r.violations, 0, "{:?}", r.first);
    assert!(check(&plan, &log(1.05)).violations > 0);
    assert!(check_with_slack(&plan, &log(1.3), 0.2).violations > 0);
}

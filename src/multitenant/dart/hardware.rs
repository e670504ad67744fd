//! `bench dart --gpu`: each method's choice run on this machine. Every zoo task's layers are
//! prepared on GPU 0 (real kernels, a high-priority stream for real time, low for best
//! effort), each layer profiled alone (and, with `--profile-mixed`, each real-time layer again
//! beside the best-effort tasks' layers); its WCET is the largest profiled run times
//! `1 + margin`, and the methods choose on those WCETs. The choice then runs for the
//! duration under the real-time runtime (`realtime`): GPU layers launched and waited for on a
//! pinned host thread, CPU layers by the CPU kernels on the node's pinned cores (`cpu=real`,
//! profiled per core count by `cpu_profile`) or as host waits of their modelled times
//! (`cpu=modelled`), PCIe copies as host waits. With `--calibrate`, each choice first runs a
//! while, every layer's WCET is raised to its largest time there, and the method chooses
//! again. Each row compares the measured response times with the analysed bounds, and mean
//! responses and best-effort throughput with the simulator's prediction (the same choice
//! simulated for the same span with every layer at its profiled median).

use super::check::check_with_slack;
use super::cpu_profile::{load_or_measure, one_core_ms, with_cpu_times, CpuProfileFile};
use super::family::{observed_score, run_and_check};
use super::methods::PipelineMethod;
use super::model::{layer_ms, layer_nodes, Node, Plan, Platform, Runtime, Task};
use super::realtime::{self, spin, Units};
use super::sim::{releases, Exec};
use super::sweep::{load_scaled, methods, platform, specs, CpuMode, DartRunArgs};
use super::taskset::{op_range, TaskSet};
use crate::cpu::{pin, CpuLayers, CpuNode};
use crate::error::{Error, Result};
use crate::gpu::LayerKernels;
use crate::multitenant::tenant::{graph, parse_model};
use crate::results::{Record, Status};
use crate::run::RunFile;
use crate::zoo::cost::CostModel;
use serde::Serialize;
use std::cell::Cell;
use std::sync::Mutex;
use std::time::Instant;

/// Layers on the GPU by its kernels, on CPU nodes by the CPU kernels (or as modelled waits);
/// every layer's largest time recorded.
struct Machine<'a> {
    kernels: &'a LayerKernels,
    tasks: &'a [Task],
    cpu: Option<&'a CpuLayers>,
    /// Per pipeline node: its CPU pool (CPU nodes, `--cpu real`) and the core of its GPU
    /// thread ([`held_cores`]).
    nodes: Vec<(Option<CpuNode>, usize)>,
    /// Whether the GPU node's host thread is pinned (not under concurrent streams, where every
    /// task has a thread of its own).
    pin_gpu: bool,
    largest: Mutex<Vec<Vec<f64>>>,
}

thread_local! {
    static PINNED_TO: Cell<Option<usize>> = const { Cell::new(None) };
}

impl<'a> Machine<'a> {
    /// The machine for pipeline `cfg`, its threads on the cores [`held_cores`] gives them.
    fn new(
        kernels: &'a LayerKernels,
        tasks: &'a [Task],
        cpu: Option<&'a CpuLayers>,
        cfg: &[Node],
        pin_gpu: bool,
    ) -> Result<Machine<'a>> {
        let mut nodes = Vec::with_capacity(cfg.len());
        for (n, held) in cfg.iter().zip(held_cores(cfg)) {
            let ids: Vec<usize> = held.clone().collect();
            let pool = match cpu {
                Some(c) if !n.gpu => Some(CpuNode::new(&ids, true, c.scratch(ids.len()))?),
                _ => None,
            };
            nodes.push((pool, held.start));
        }
        let largest = Mutex::new(tasks.iter().map(|t| vec![0.0; t.layers.len()]).collect());
        Ok(Machine { kernels, tasks, cpu, nodes, pin_gpu, largest })
    }

    fn pinned(&self) -> bool {
        self.nodes.iter().all(|(p, _)| p.as_ref().is_none_or(|p| p.pinned))
    }
}

/// The host cores each node's threads hold, cores dealt to the nodes in order from core 0: a
/// CPU node's pool all of its cores, a GPU node's one thread only its last core (its other
/// cores are the model's, no thread runs there; the last keeps it off core 0, where the
/// system's own work lands).
fn held_cores(cfg: &[Node]) -> Vec<std::ops::Range<usize>> {
    let mut next = 0usize;
    cfg.iter()
        .map(|n| {
            let c = n.cores as usize;
            next += c;
            if n.gpu {
                next - 1..next
            } else {
                next - c..next
            }
        })
        .collect()
}

/// The release timer's own core: the highest host core that no node's thread holds (none when
/// every core is taken), never core 0.
pub fn timer_core(cfg: &[Node], host_cores: usize) -> Option<usize> {
    let held = held_cores(cfg);
    (1..host_cores).rev().find(|x| !held.iter().any(|r| r.contains(x)))
}

impl Units for Machine<'_> {
    fn run_layer(&self, task: usize, stage: usize, node: Node, layer: usize, extra_ms: f64) -> Result<()> {
        spin(extra_ms);
        let t0 = Instant::now();
        match (&self.nodes[stage].0, self.cpu) {
            _ if node.gpu => {
                let core = self.nodes[stage].1;
                if self.pin_gpu && PINNED_TO.get() != Some(core) {
                    pin(core);
                    PINNED_TO.set(Some(core));
                }
                self.kernels.run(task, layer)?
            }
            (Some(pool), Some(cpu)) => cpu.run(pool, task, layer),
            _ => spin(layer_ms(&self.tasks[task].layers[layer], node)),
        }
        let ms = t0.elapsed().as_secs_f64() * 1e3;
        let mut l = self.largest.lock().unwrap_or_else(|e| e.into_inner());
        l[task][layer] = l[task][layer].max(ms);
        Ok(())
    }
}

/// Each layer's profiled GPU times (ms, host clock around launch and wait): largest, median.
/// With `mixed`, every real-time layer is profiled a second time while the best-effort tasks'
/// layers run in a loop beside it (as they may in the runtime), and its largest is the larger
/// of the two: best-effort kernels already on the GPU slow a real-time one down, whatever its
/// stream's priority.
fn profile(kernels: &LayerKernels, set: &TaskSet, runs: usize, mixed: bool) -> Result<Vec<Vec<(f64, f64)>>> {
    let layer = |i: usize, l: usize| -> Result<(f64, f64)> {
        for _ in 0..3 {
            kernels.run(i, l)?;
        }
        let mut xs: Vec<f64> = (0..runs)
            .map(|_| {
                let t0 = Instant::now();
                kernels.run(i, l).map(|_| t0.elapsed().as_secs_f64() * 1e3)
            })
            .collect::<Result<_>>()?;
        xs.sort_by(f64::total_cmp);
        Ok((xs[xs.len() - 1], xs[xs.len() / 2]))
    };
    let mut out: Vec<Vec<(f64, f64)>> = Vec::new();
    for (i, t) in set.tasks.iter().enumerate() {
        out.push((0..t.layers.len()).map(|l| layer(i, l)).collect::<Result<_>>()?);
    }
    let be: Vec<usize> = (0..set.tasks.len()).filter(|&i| !set.tasks[i].rt()).collect();
    if !mixed || be.is_empty() {
        return Ok(out);
    }
    let stop = std::sync::atomic::AtomicBool::new(false);
    std::thread::scope(|scope| -> Result<()> {
        let load = scope.spawn(|| -> Result<()> {
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                for &i in &be {
                    for l in 0..set.tasks[i].layers.len() {
                        kernels.run(i, l)?;
                    }
                }
            }
            Ok(())
        });
        let mut result = Ok(());
        'tasks: for (i, t) in set.tasks.iter().enumerate().filter(|(_, t)| t.rt()) {
            for l in 0..t.layers.len() {
                match layer(i, l) {
                    Ok((worst, _)) => out[i][l].0 = out[i][l].0.max(worst),
                    Err(e) => {
                        result = Err(e);
                        break 'tasks;
                    }
                }
            }
        }
        stop.store(true, std::sync::atomic::Ordering::Relaxed);
        load.join().map_err(|_| Error::Gpu("the best-effort load thread panicked".into()))??;
        result
    })?;
    Ok(out)
}

/// The set with every layer's GPU time replaced (the issue time is in the measurement).
fn with_gpu_times(set: &TaskSet, times: &[Vec<f64>]) -> Vec<Task> {
    let mut tasks = set.tasks.clone();
    for (t, ts) in tasks.iter_mut().zip(times) {
        for (l, &ms) in t.layers.iter_mut().zip(ts) {
            l.gpu_ms = ms;
            l.issue_ms = 0.0;
        }
    }
    tasks
}

#[derive(Debug, Serialize)]
pub struct HardwareTask {
    pub task: String,
    pub rt: bool,
    pub cuts: Vec<usize>,
    pub analysed_ms: Option<f64>,
    pub measured_ms: f64,
    pub predicted_ms: f64,
    /// Mean responses, measured and simulated at the profiled medians.
    pub measured_mean_ms: f64,
    pub predicted_mean_ms: f64,
    pub jobs: usize,
    pub misses: usize,
    pub overruns: usize,
    pub throughput_per_s: Option<f64>,
    pub predicted_throughput_per_s: Option<f64>,
    /// Per layer: the GPU WCET used and the profiled median, ms.
    pub gpu_wcet_ms: Vec<f64>,
    pub gpu_median_ms: Vec<f64>,
    /// Per layer on the node the choice put it on: the WCET, the profiled median, and the
    /// largest time measured in the run, ms.
    pub wcet_on_node_ms: Vec<f64>,
    pub median_on_node_ms: Vec<f64>,
    pub largest_measured_ms: Vec<f64>,
}

#[derive(Debug, Serialize)]
pub struct HardwareFile {
    pub schema_version: u32,
    pub taskset: String,
    pub method: String,
    pub device: String,
    /// The host's processor (with `cpu` real).
    pub cpu_host: Option<String>,
    pub duration_s: f64,
    pub margin: f64,
    pub cpu: &'static str,
    pub calibration_rounds: usize,
    pub config: Vec<Node>,
    /// How the node threads waited (`--node-wait`).
    pub node_wait: &'static str,
    /// Per node, where the host lost time in the measured run.
    pub host_delays: Vec<realtime::HostDelays>,
    pub tasks: Vec<HardwareTask>,
}

pub const HARDWARE_SCHEMA: u32 = 3;

/// How late a host thread may start a unit after the instant that allowed it, in the replay.
const REPLAY_SLACK_MS: f64 = 0.2;

/// Every layer's profiled GPU times beside the cost model's.
#[derive(Debug, Serialize)]
pub struct ProfileFile {
    pub schema_version: u32,
    pub taskset: String,
    pub device: String,
    pub runs: usize,
    pub margin: f64,
    /// Whether real-time layers were also profiled beside the best-effort load.
    pub mixed: bool,
    pub tasks: Vec<ProfiledTask>,
}

#[derive(Debug, Serialize)]
pub struct ProfiledTask {
    pub task: String,
    pub layers: Vec<String>,
    pub modelled_ms: Vec<f64>,
    pub largest_ms: Vec<f64>,
    pub median_ms: Vec<f64>,
}

/// Runs every set × method on the GPU, one after another; rows and run files.
pub fn run(a: &DartRunArgs) -> Result<(Vec<Record>, Vec<RunFile>)> {
    if a.options.online {
        return Err(Error::Usage("--gpu runs whole sets: leave out --online".into()));
    }
    let cost = CostModel::resolve(&a.options.device, "pcie")?;
    let ms = methods(&a.options.methods)?;
    let p = platform(&a.options)?;
    let names = if a.tasksets.is_empty() { vec!["h200-zoo".to_owned()] } else { a.tasksets.clone() };
    let (mut records, mut files) = (Vec::new(), Vec::new());
    for name in &names {
        let (set, hash) = load_scaled(name, &cost, a.period_scale)?;
        let mut models = Vec::new();
        for (s, t) in specs(name)?.iter().zip(&set.tasks) {
            let model = s.model.as_deref().and_then(parse_model).ok_or_else(|| {
                Error::Usage(format!("{name}: task {:?}: --gpu runs zoo models only (field \"model\")", t.name))
            })?;
            let ranges = t.layers.iter().map(|l| op_range(&l.name)).collect::<Option<Vec<_>>>();
            let ranges =
                ranges.ok_or_else(|| Error::Usage(format!("{name}: task {:?}: layers without operators", t.name)))?;
            models.push((graph(model, s.batch.unwrap_or(1).max(1)), ranges, t.rt()));
        }
        eprintln!("{name}: preparing {} models on the GPU", models.len());
        let kernels = LayerKernels::new(&models)?;
        let cpu = (a.cpu == CpuMode::Real).then(|| {
            eprintln!("{name}: preparing {} models on the host", models.len());
            CpuLayers::new(&models.iter().map(|(g, r, _)| (g.clone(), r.clone())).collect::<Vec<_>>())
        });
        let prof = profile(&kernels, &set, a.profile_runs, a.profile_mixed)?;
        let cpu_prof = match &cpu {
            Some(c) => Some(load_or_measure(a.cpu_profile.as_deref(), &set, c, p.cores as usize, a.cpu_profile_runs)?),
            None => None,
        };
        let wcet: Vec<Vec<f64>> = prof.iter().map(|v| v.iter().map(|x| x.0 * (1.0 + a.margin)).collect()).collect();
        let median: Vec<Vec<f64>> = prof.iter().map(|v| v.iter().map(|x| x.1).collect()).collect();
        let (mut bound_tasks, mut typical) = (with_gpu_times(&set, &wcet), with_gpu_times(&set, &median));
        if let Some(cp) = &cpu_prof {
            with_cpu_times(&mut bound_tasks, &cp.fit(true), 1.0 + a.margin);
            with_cpu_times(&mut typical, &cp.fit(false), 1.0);
            let text = serde_json::to_string_pretty(cp).map_err(|e| Error::Usage(e.to_string()))? + "\n";
            files.push((format!("{}__cpu_profile.json", set.name.replace('/', "__")), text));
        }
        for (i, t) in set.tasks.iter().enumerate() {
            eprintln!(
                "{name}: {} (T = {} ms): GPU {:.3} ms median, {:.3} ms WCET over {} layers (modelled {:.3}); one core {:.1} ms median (modelled {:.1})",
                t.name,
                t.period_ms,
                median[i].iter().sum::<f64>(),
                wcet[i].iter().sum::<f64>(),
                t.layers.len(),
                t.layers.iter().map(|l| l.gpu_ms + l.issue_ms).sum::<f64>(),
                typical[i].layers.iter().map(|l| l.core_ms).sum::<f64>(),
                t.layers.iter().map(|l| l.core_ms).sum::<f64>(),
            );
        }
        let profiled = ProfileFile {
            schema_version: HARDWARE_SCHEMA,
            taskset: set.name.clone(),
            device: kernels.device(),
            runs: a.profile_runs,
            margin: a.margin,
            mixed: a.profile_mixed,
            tasks: set
                .tasks
                .iter()
                .enumerate()
                .map(|(i, t)| ProfiledTask {
                    task: t.name.clone(),
                    layers: t.layers.iter().map(|l| l.name.clone()).collect(),
                    modelled_ms: t.layers.iter().map(|l| l.gpu_ms + l.issue_ms).collect(),
                    largest_ms: prof[i].iter().map(|x| x.0).collect(),
                    median_ms: median[i].clone(),
                })
                .collect(),
        };
        let text = serde_json::to_string_pretty(&profiled).map_err(|e| Error::Usage(e.to_string()))? + "\n";
        files.push((format!("{}__profile.json", set.name.replace('/', "__")), text));
        let missing: usize = cpu.as_ref().map_or(0, |c| c.missing.iter().sum());
        let hw = Hardware { kernels: &kernels, cpu: cpu.as_ref(), cpu_prof: cpu_prof.as_ref(), missing };
        for &m in &ms {
            let (r, f) = one(a, &p, &set, &hash, m, &hw, (&bound_tasks, &typical))?;
            eprintln!("{name} {}: {} {}", m.name(), r.status.as_str(), r.message);
            records.push(r);
            files.extend(f);
        }
    }
    Ok((records, files))
}

/// What runs the layers, and what the CPU profile said.
struct Hardware<'a> {
    kernels: &'a LayerKernels,
    cpu: Option<&'a CpuLayers>,
    cpu_prof: Option<&'a CpuProfileFile>,
    /// Operators without a CPU kernel (skipped on CPU nodes).
    missing: usize,
}

/// Rounds of `--calibrate` at most.
const CALIBRATION_ROUNDS: usize = 3;

/// `tasks` with every layer the run placed raised to its largest time there (times
/// `1 + margin`): GPU layers directly, CPU layers through the node's speed-up to one core.
fn raised(tasks: &[Task], cfg: &[Node], cuts: &[Vec<usize>], largest: &[Vec<f64>], margin: f64) -> Vec<Task> {
    let mut out = tasks.to_vec();
    for (i, t) in out.iter_mut().enumerate() {
        for (l, n) in layer_nodes(cfg, &cuts[i]).into_iter().enumerate() {
            let (layer, seen) = (&mut t.layers[l], largest[i][l] * (1.0 + margin));
            if n.gpu {
                layer.gpu_ms = layer.gpu_ms.max(seen - layer.issue_ms);
            } else {
                layer.core_ms = layer.core_ms.max(one_core_ms(seen, n.cores, layer.sigma));
            }
        }
    }
    out
}

fn one(
    a: &DartRunArgs,
    p: &Platform,
    set: &TaskSet,
    hash: &str,
    m: &'static dyn PipelineMethod,
    hw: &Hardware,
    (tasks, typical): (&[Task], &[Task]),
) -> Result<(Record, Option<RunFile>)> {
    let options = format!(
        "gpu=true;duration_s={};margin={};cores={};cpu={};calibrate_s={};node_wait={}",
        a.duration,
        a.margin,
        p.cores,
        a.cpu.as_str(),
        a.calibrate,
        a.node_wait.as_str()
    );
    let mut r = Record::new(&set.name, hash, super::family::OBJECTIVE, m.name(), options, a.output.common.seed);
    if let Err(why) = m.applies(p, tasks) {
        r.message = why.0;
        return Ok((r, None));
    }
    let rejected = |mut r: Record| {
        r.status = Status::Infeasible;
        r.message = "no candidate configuration is schedulable on the profiled WCETs: the set is rejected".into();
        Ok((r, None))
    };
    let t0 = Instant::now();
    let Some(mut c) = m.choose(p, tasks) else { return rejected(r) };
    r.wall_seconds = t0.elapsed().as_secs_f64();
    let pin_gpu = m.runtime() != Runtime::Multistream;
    let host_cores = std::thread::available_parallelism().map_or(1, |x| x.get());
    let threads = |cfg: &[Node]| realtime::Threads { wait: a.node_wait, timer_core: timer_core(cfg, host_cores) };
    // The WCETs the choice is made on: profiled, then raised by calibration runs.
    let mut bound = tasks.to_vec();
    let mut rounds = 0;
    while a.calibrate > 0.0 && rounds < CALIBRATION_ROUNDS {
        rounds += 1;
        let machine = Machine::new(hw.kernels, &bound, hw.cpu, &c.config, pin_gpu)?;
        let plan = Plan { platform: p, tasks: &bound, config: &c.config, cuts: &c.cuts, runtime: m.runtime() };
        realtime::run(&plan, &machine, a.calibrate * 1e3, threads(&c.config))?;
        let largest = machine.largest.into_inner().unwrap_or_else(|e| e.into_inner());
        bound = raised(&bound, &c.config, &c.cuts, &largest, a.margin);
        let Some(again) = m.choose(p, &bound) else { return rejected(r) };
        let same = again.config == c.config && again.cuts == c.cuts;
        eprintln!(
            "{} {}: calibration round {rounds}: the choice {}",
            set.name,
            m.name(),
            if same { "stays" } else { "changes" }
        );
        c = again;
        if same {
            break;
        }
    }
    let tasks = &bound[..];
    let plan = Plan { platform: p, tasks, config: &c.config, cuts: &c.cuts, runtime: m.runtime() };
    let duration_ms = a.duration * 1e3;
    let machine = Machine::new(hw.kernels, tasks, hw.cpu, &c.config, pin_gpu)?;
    let (measured, host) = realtime::run(&plan, &machine, duration_ms, threads(&c.config))?;
    let pinned = machine.pinned();
    let largest = machine.largest.into_inner().unwrap_or_else(|e| e.into_inner());
    // The prediction: the same choice simulated over the same span at the profiled medians.
    let predicted_plan = Plan { tasks: typical, ..plan };
    let rel = releases(typical, duration_ms, None, 0.0);
    let (sim, rep) = run_and_check(&predicted_plan, &rel, duration_ms, Exec::WCET);
    // The measured log replayed (not under concurrent streams, whose replay integrates the
    // model's rates): what broke the runtime's rules by more than a host thread's wake-up.
    let replay =
        (plan.runtime != Runtime::Multistream).then(|| check_with_slack(&plan, &measured.events, REPLAY_SLACK_MS));
    let worst = |v: &[f64]| v.iter().copied().fold(0.0, f64::max);
    let mean = |v: &[f64]| if v.is_empty() { 0.0 } else { v.iter().sum::<f64>() / v.len() as f64 };
    let rel_err = |x: f64, y: f64| if x > 0.0 { (y - x).abs() / x } else { 0.0 };
    let bounded = m.admits() && c.analysis.schedulable;
    let mut rows = Vec::new();
    let (mut misses, mut over, mut worst_err, mut worst_case_err) = (0, 0, 0.0f64, 0.0f64);
    for (i, t) in tasks.iter().enumerate() {
        // Jobs demoted by an overrun count too: their response is what the machine delivered.
        let mine: Vec<f64> = measured.responses[i]
            .iter()
            .copied()
            .chain(measured.overruns.iter().filter(|o| o.0 == i).map(|o| o.2))
            .collect();
        let task_misses = if t.rt() { mine.iter().filter(|&&x| x > t.deadline_ms).count() } else { 0 };
        misses += task_misses;
        let analysed = (t.rt() && bounded).then(|| c.analysis.response_ms[i]);
        if analysed.is_some_and(|b| worst(&mine) > b) {
            over += 1;
        }
        let throughput = (!t.rt()).then(|| mine.len() as f64 / a.duration);
        let predicted_throughput = (!t.rt()).then(|| sim.responses[i].len() as f64 / a.duration);
        let err = match (throughput, predicted_throughput) {
            (Some(x), Some(y)) => rel_err(x, y),
            _ => rel_err(mean(&mine), mean(&sim.responses[i])),
        };
        worst_err = worst_err.max(err);
        if t.rt() {
            worst_case_err = worst_case_err.max(rel_err(worst(&mine), worst(&sim.responses[i])));
        }
        rows.push(HardwareTask {
            task: t.name.clone(),
            rt: t.rt(),
            cuts: c.cuts[i].clone(),
            analysed_ms: analysed,
            measured_ms: worst(&mine),
            predicted_ms: worst(&sim.responses[i]),
            measured_mean_ms: mean(&mine),
            predicted_mean_ms: mean(&sim.responses[i]),
            jobs: mine.len(),
            misses: task_misses,
            overruns: measured.overruns.iter().filter(|o| o.0 == i).count(),
            throughput_per_s: throughput,
            predicted_throughput_per_s: predicted_throughput,
            gpu_wcet_ms: t.layers.iter().map(|l| l.gpu_ms + l.issue_ms).collect(),
            gpu_median_ms: typical[i].layers.iter().map(|l| l.gpu_ms + l.issue_ms).collect(),
            wcet_on_node_ms: layer_times(t, &c.config, &c.cuts[i]),
            median_on_node_ms: layer_times(&typical[i], &c.config, &c.cuts[i]),
            largest_measured_ms: largest[i].clone(),
        });
    }
    let measured_worst: Vec<f64> = rows.iter().map(|x| x.measured_ms).collect();
    r.objective = Some(observed_score(tasks, &measured_worst));
    r.claimed_objective = Some(if m.admits() {
        c.score
    } else {
        observed_score(typical, &sim.responses.iter().map(|v| worst(v)).collect::<Vec<_>>())
    });
    r.devices_used = Some(c.config.len());
    r.status = Status::Feasible;
    r.feasible = misses == 0 && over == 0;
    let be: f64 = rows.iter().filter_map(|x| x.throughput_per_s).sum();
    let be_pred: f64 = rows.iter().filter_map(|x| x.predicted_throughput_per_s).sum();
    let cfg: Vec<String> =
        c.config.iter().map(|n| format!("{}{}c", if n.gpu { "gpu+" } else { "" }, n.cores)).collect();
    r.notes = format!(
        "config={};device={};misses={misses};overruns={};above_bound={over};be_throughput_per_s={be};predicted_be_throughput_per_s={be_pred};max_prediction_error={worst_err};max_worst_response_error={worst_case_err};calibration_rounds={rounds};pinned={pinned};timer_core={};largest_dispatch_ms={};late_dispatches={};largest_between_layers_ms={};cpu_ops_without_kernel={};simulated_violations={};replay_violations={}{}",
        cfg.join("|"),
        hw.kernels.device(),
        measured.overruns.len(),
        threads(&c.config).timer_core.map_or("-".to_owned(), |x| x.to_string()),
        host.iter().map(|h| h.largest_dispatch_ms).fold(0.0, f64::max),
        host.iter().map(|h| h.late_dispatches).sum::<usize>(),
        host.iter().map(|h| h.largest_between_layers_ms).fold(0.0, f64::max),
        hw.missing,
        rep.violations,
        replay.as_ref().map_or("-".to_owned(), |x| x.violations.to_string()),
        replay.as_ref().and_then(|x| x.first.first()).map_or(String::new(), |w| format!(";first_replay_violation={w}"))
    );
    if m.admits() && (misses > 0 || over > 0) {
        r.status = Status::Mismatch;
        r.message = format!("{misses} deadline misses and {over} tasks above their analysed bounds on the GPU");
    } else if misses > 0 {
        r.status = Status::Infeasible;
        r.message = format!("{misses} deadline misses (the method admits without analysis)");
    }
    let file = HardwareFile {
        schema_version: HARDWARE_SCHEMA,
        taskset: set.name.clone(),
        method: m.name().into(),
        device: hw.kernels.device(),
        cpu_host: hw.cpu_prof.map(|p| p.host.clone()),
        duration_s: a.duration,
        margin: a.margin,
        cpu: a.cpu.as_str(),
        calibration_rounds: rounds,
        config: c.config.clone(),
        node_wait: a.node_wait.as_str(),
        host_delays: host,
        tasks: rows,
    };
    let name = format!("{}__{}.json", set.name.replace('/', "__"), m.name());
    r.placement_file = Some(name.clone());
    let text = serde_json::to_string_pretty(&file).map_err(|e| Error::Usage(e.to_string()))? + "\n";
    Ok((r, Some((name, text))))
}

/// Every layer's time on the node its stage runs on (copies left out).
fn layer_times(t: &Task, cfg: &[Node], cuts: &[usize]) -> Vec<f64> {
    t.layers.iter().zip(layer_nodes(cfg, cuts)).map(|(l, n)| layer_ms(l, n)).collect()
}

//! `bench dart`: task sets (files or presets) × methods, run by the one runner and judged by
//! simulating the choice under the checker; rows in the common schema (objective `dart`: the
//! weighted score W) and one run file per cell. `bench dart gen` writes a generated set.

use super::family::PipelineCell;
use super::methods::PipelineMethod;
use super::model::{Class, Platform};
use super::realtime::Wait;
use super::taskset::{generate, read_taskset, resolve, TaskSet, TaskSetFile, TaskSpec, TASKSET_SCHEMA};
use crate::error::{Error, Result};
use crate::registry;
use crate::results::Record;
use crate::run::options::OutputArgs;
use crate::run::{run_with_files, Journal, RunFile};
use crate::zoo::cost::CostModel;
use clap::{Args, Subcommand};
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};

#[derive(Debug, Args)]
#[command(args_conflicts_with_subcommands = true, subcommand_negates_reqs = true)]
pub struct DartArgs {
    #[command(subcommand)]
    pub command: Option<DartCommand>,
    #[command(flatten)]
    pub run: DartRunArgs,
}

#[derive(Debug, Subcommand)]
pub enum DartCommand {
    /// Write a generated task set (JSON): UUniFast utilisations, log-uniform periods of 10 to
    /// 100 ms, the first half real-time, random layers.
    Gen(DartGenArgs),
    /// The schedulability ratio over utilisation: generated sets at each utilisation, every
    /// method, the fraction each runs without a miss; rows, ratio.csv, ratio.json and a figure.
    Ratio(Box<super::ratio::DartRatioArgs>),
}

#[derive(Debug, Args)]
pub struct DartRunArgs {
    /// Task-set files (JSON) or presets: h200-zoo (three real-time and two best-effort zoo
    /// models). Default: h200-zoo.
    #[arg(value_name = "TASKSET|PRESET")]
    pub tasksets: Vec<String>,
    #[command(flatten)]
    pub options: DartOptions,
    /// Output folder (default results/dart when only presets are run).
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// Run each method's choice on this machine's GPU 0 and host cores instead of simulating
    /// it: the layers' GPU times profiled first (WCET = the largest of the profiled runs times
    /// 1 + --margin), then every real-time response measured (zoo models only).
    #[arg(long)]
    pub gpu: bool,
    /// Every task's period and deadline times this (the set's name records it).
    #[arg(long, default_value_t = 1.0, value_parser = crate::run::parse::positive)]
    pub period_scale: f64,
    /// With --gpu: how long each method's choice runs, seconds.
    #[arg(long, default_value_t = 60.0, value_parser = crate::run::parse::positive)]
    pub duration: f64,
    /// With --gpu: the profiled runs of each layer.
    #[arg(long, default_value_t = 30, value_parser = crate::run::parse::at_least_one)]
    pub profile_runs: usize,
    /// With --gpu: also profile every real-time layer while the best-effort tasks' layers run
    /// beside it, its WCET then from the larger of the two.
    #[arg(long)]
    pub profile_mixed: bool,
    /// With --gpu: the WCET margin over the largest profiled run.
    #[arg(long, default_value_t = 0.25, value_parser = crate::run::parse::non_negative)]
    pub margin: f64,
    /// With --gpu: CPU layers run by the CPU kernels on pinned cores (real: im2col plus GEMM,
    /// profiled per core count), or as host waits of the cost model's times (modelled).
    #[arg(long, value_enum, default_value_t = CpuMode::Real)]
    pub cpu: CpuMode,
    /// With --gpu --cpu real: the CPU profile's file, read when it was made for this set on
    /// this machine, else measured and written there (so later processes skip the profiling).
    #[arg(long, value_name = "FILE")]
    pub cpu_profile: Option<PathBuf>,
    /// With --gpu --cpu real: the profiled runs of each layer on each core count.
    #[arg(long, default_value_t = 5, value_parser = crate::run::parse::at_least_one)]
    pub cpu_profile_runs: usize,
    /// With --gpu: run each choice this many seconds first, raise every layer's WCET to its
    /// largest time in that run (times 1 + --margin), choose again, and repeat (at most three
    /// rounds) until the choice stays; then the measured run.
    #[arg(long, default_value_t = 0.0, value_parser = crate::run::parse::non_negative)]
    pub calibrate: f64,
    /// With --gpu: how each node's host thread waits for work: spinning on the ready set
    /// (poll, holding its core) or asleep on a condition variable (sleep). The release timer
    /// gets a core of its own where one is free.
    #[arg(long, value_enum, default_value_t = Wait::Poll)]
    pub node_wait: Wait,
    #[command(flatten)]
    pub output: OutputArgs,
}

/// How `--gpu` runs the layers a pipeline puts on CPU nodes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum CpuMode {
    Real,
    Modelled,
}

impl CpuMode {
    pub fn as_str(self) -> &'static str {
        match self {
            CpuMode::Real => "real",
            CpuMode::Modelled => "modelled",
        }
    }
}

/// The machine, the methods and the simulation, shared by `bench dart` and its ratio sweep.
#[derive(Debug, Args)]
pub struct DartOptions {
    /// Method (repeatable; default all): dart, one-node, no-data-parallel, exhaustive,
    /// sequential, gpu-multistream, np-edf.
    #[arg(long = "method", value_name = "NAME")]
    pub methods: Vec<String>,
    /// GPUs of the machine (each a node with one issuing core).
    #[arg(long, default_value_t = 1)]
    pub gpus: u32,
    /// CPU cores of the machine.
    #[arg(long, default_value_t = 16, value_parser = crate::run::parse::at_least_one)]
    pub cores: usize,
    /// Longest pipeline considered.
    #[arg(long, default_value_t = 4, value_parser = crate::run::parse::at_least_one)]
    pub max_nodes: usize,
    /// Configurations may leave cores idle.
    #[arg(long)]
    pub idle_cores: bool,
    /// Admit the tasks one at a time in the set's order: each joins only if the method still
    /// finds a schedulable pipeline for it and those admitted before (else it is rejected).
    #[arg(long)]
    pub online: bool,
    /// Seeded sporadic release patterns simulated besides the synchronous one.
    #[arg(long, default_value_t = 20)]
    pub patterns: usize,
    /// Simulated span, in longest periods.
    #[arg(long, default_value_t = 10.0, value_parser = crate::run::parse::positive)]
    pub periods: f64,
    /// Accelerator preset of the zoo tasks' times.
    #[arg(long, default_value = "h200")]
    pub device: String,
}

#[derive(Debug, Args)]
pub struct DartGenArgs {
    #[arg(long, default_value_t = 6, value_parser = crate::run::parse::at_least_one)]
    pub tasks: usize,
    /// Total utilisation of the GPU by the tasks' GPU times.
    #[arg(long, default_value_t = 0.6, value_parser = crate::run::parse::positive)]
    pub utilisation: f64,
    #[arg(long, default_value_t = 8, value_parser = crate::run::parse::at_least_one)]
    pub layers: usize,
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Where to write the set (default: standard output).
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
}

/// The presets' names.
pub const PRESETS: &[&str] = &["h200-zoo"];

/// The `h200-zoo` preset: real-time ResNet-50 (T = 10 ms), Inception-v3 (20 ms) and BERT-base
/// (15 ms) at batch 1, best-effort GPT-2 small at batch 8 and NASNet-A Mobile at 16.
fn preset(name: &str) -> Option<TaskSetFile> {
    if name != "h200-zoo" {
        return None;
    }
    let spec = |name: &str, model: &str, batch: usize, class, period_ms: f64, weight: f64| TaskSpec {
        name: name.into(),
        class,
        period_ms,
        deadline_ms: None,
        weight: Some(weight),
        input_bytes: None,
        model: Some(model.into()),
        batch: Some(batch),
        blocks: Some(12),
        layers: None,
        workload: None,
    };
    Some(TaskSetFile {
        schema_version: TASKSET_SCHEMA,
        tasks: vec![
            spec("resnet50", "resnet50", 1, Class::Rt, 10.0, 3.0),
            spec("inception-v3", "inception-v3", 1, Class::Rt, 20.0, 1.0),
            spec("bert", "bert", 1, Class::Rt, 15.0, 2.0),
            spec("gpt", "gpt", 8, Class::Be, 100.0, 1.0),
            spec("nasnet-mobile", "nasnet-mobile", 16, Class::Be, 100.0, 1.0),
        ],
    })
}

/// A task set named on the command line, and its hash.
pub fn load(arg: &str, cost: &CostModel) -> Result<(TaskSet, String)> {
    if let Some(f) = preset(arg) {
        let text = serde_json::to_string(&f).unwrap_or_default();
        let tasks = f.tasks.iter().map(|s| resolve(Path::new(arg), s, cost)).collect::<Result<_>>()?;
        return Ok((TaskSet { name: arg.into(), tasks }, format!("{:x}", Sha256::digest(text.as_bytes()))));
    }
    let path = PathBuf::from(arg);
    if !path.exists() {
        return Err(Error::Usage(format!("{arg}: neither a task-set file nor a preset ({})", PRESETS.join(", "))));
    }
    let bytes = std::fs::read(&path).map_err(|e| Error::io(&path, e))?;
    Ok((read_taskset(&path, cost)?, format!("{:x}", Sha256::digest(&bytes))))
}

/// A set as [`load`] reads it, every period and deadline times `scale` (named `NAME@periods×S`
/// unless `scale` is 1).
pub fn load_scaled(arg: &str, cost: &CostModel, scale: f64) -> Result<(TaskSet, String)> {
    let (mut set, hash) = load(arg, cost)?;
    if scale != 1.0 {
        for t in &mut set.tasks {
            t.period_ms *= scale;
            t.deadline_ms *= scale;
        }
        set.name = format!("{}@periods×{scale}", set.name);
    }
    Ok((set, hash))
}

/// The task specifications of a set named on the command line (a preset or a file that
/// [`load`] read).
pub fn specs(arg: &str) -> Result<Vec<TaskSpec>> {
    if let Some(f) = preset(arg) {
        return Ok(f.tasks);
    }
    let path = PathBuf::from(arg);
    let bytes = std::fs::read(&path).map_err(|e| Error::io(&path, e))?;
    let f: TaskSetFile = serde_json::from_slice(&bytes).map_err(|e| Error::Usage(format!("{arg}: {e}")))?;
    Ok(f.tasks)
}

/// The methods the arguments name, in registry order.
pub fn methods(names: &[String]) -> Result<Vec<&'static dyn PipelineMethod>> {
    registry::select(names, registry::pipeline(), |m| m.name(), "pipeline method")
}

/// Runs every task set × method; the records and each cell's run file.
pub fn dart_records(a: &DartRunArgs, journal: Option<&Journal>) -> Result<(Vec<Record>, Vec<RunFile>)> {
    let cost = CostModel::resolve(&a.options.device, "pcie")?;
    let names = if a.tasksets.is_empty() { vec!["h200-zoo".to_owned()] } else { a.tasksets.clone() };
    let sets: Vec<(TaskSet, String)> =
        names.iter().map(|n| load_scaled(n, &cost, a.period_scale)).collect::<Result<_>>()?;
    run_sets(&sets, &a.options, a.output.common.seed, a.output.common.quiet, journal, true)
}

/// The machine the options describe, its PCIe link the cost model's.
pub fn platform(o: &DartOptions) -> Result<Platform> {
    let cost = CostModel::resolve(&o.device, "pcie")?;
    Ok(Platform {
        gpus: o.gpus,
        cores: o.cores as u32,
        idle_cores: o.idle_cores,
        max_nodes: o.max_nodes,
        pcie_bytes_per_ms: cost.link.bandwidth / 1e3,
        pcie_latency_ms: cost.link.latency * 1e3,
    })
}

/// Runs every set × method of `o` through the one runner.
pub fn run_sets(
    sets: &[(TaskSet, String)],
    o: &DartOptions,
    seed: u64,
    quiet: bool,
    journal: Option<&Journal>,
    timeline: bool,
) -> Result<(Vec<Record>, Vec<RunFile>)> {
    let ms = methods(&o.methods)?;
    let platform = platform(o)?;
    let cells: Vec<PipelineCell> = sets
        .iter()
        .flat_map(|(s, h)| ms.iter().map(move |&m| (s, h, m)))
        .map(|(set, hash, method)| PipelineCell {
            set,
            hash,
            method,
            platform: platform.clone(),
            patterns: o.patterns,
            periods: o.periods,
            seed,
            online: o.online,
            timeline,
        })
        .collect();
    Ok(run_with_files(&cells, quiet, journal))
}

/// Whether every argument is a preset (the run then writes to results/dart by default).
pub fn only_presets(a: &DartRunArgs) -> bool {
    a.tasksets.iter().all(|t| PRESETS.contains(&t.as_str()))
}

/// `bench dart gen`: the set's JSON text, explicit layers.
pub fn gen_taskset(g: &DartGenArgs) -> Result<String> {
    generated_text(g.tasks, g.utilisation, g.layers, g.seed)
}

/// A generated set as its file's JSON text.
pub fn generated_text(tasks: usize, utilisation: f64, layers: usize, seed: u64) -> Result<String> {
    set_text(&generate(tasks, utilisation, layers, seed))
}

/// A set with explicit layers as its file's JSON text.
pub fn set_text(set: &TaskSet) -> Result<String> {
    let file = TaskSetFile {
        schema_version: TASKSET_SCHEMA,
        tasks: set
            .tasks
            .iter()
            .cloned()
            .map(|t| TaskSpec {
                name: t.name,
                class: t.class,
                period_ms: t.period_ms,
                deadline_ms: Some(t.deadline_ms),
                weight: Some(t.weight),
                input_bytes: Some(t.input_bytes),
                model: None,
                batch: None,
                blocks: None,
                layers: Some(t.layers),
                workload: None,
            })
            .collect(),
    };
    Ok(serde_json::to_string_pretty(&file).map_err(|e| Error::Usage(e.to_string()))? + "\n")
}

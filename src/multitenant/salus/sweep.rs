//! `bench salus`: traces (files or presets) × policies, run by the one runner and judged by
//! the event-log checker; rows in the common schema (objective `salus`: mean JCT) and one run
//! file per cell. `bench salus gen` writes a generated trace.

use super::family::{instance, Instance, SharingCell, GIB};
use super::lanes::LaneMode;
use super::sim::Config;
use super::SharingPolicy;
use crate::error::{Error, Result};
use crate::multitenant::fluid::{DEFAULT_BETA, QUANTUM_MS, SLICE_SWITCH_MS};
use crate::multitenant::gen::{self, Durations, GenOptions};
use crate::multitenant::profile::read_profiles;
use crate::multitenant::slowdown::{read_corun, Combine, PairSlowdowns};
use crate::multitenant::tenant::{parse_model, Kind};
use crate::multitenant::trace::{read_trace, to_csv, Trace};
use crate::registry;
use crate::results::Record;
use crate::run::options::OutputArgs;
use crate::run::{run_with_files, Journal, RunFile};
use crate::zoo::cost::CostModel;
use clap::{Args, Subcommand};
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};
use std::sync::Arc;

#[derive(Debug, Args)]
#[command(args_conflicts_with_subcommands = true, subcommand_negates_reqs = true)]
pub struct SalusArgs {
    #[command(subcommand)]
    pub command: Option<SalusCommand>,
    #[command(flatten)]
    pub run: SalusRunArgs,
}

#[derive(Debug, Subcommand)]
pub enum SalusCommand {
    /// Write a generated trace (CSV): Poisson arrivals at a target load, a model × batch mix,
    /// durations from a Philly-style job list or the log-normal fitted to Philly's one-GPU
    /// jobs; or a preset's trace with --preset.
    Gen(SalusGenArgs),
    /// Measure on this machine's GPU how much pairs of tenants slow each other down when their
    /// forward passes run side by side, against the rate model's prediction (needs `--features
    /// cuda` and an NVIDIA driver; otherwise says so and exits 2).
    Corun(super::corun::CorunArgs),
}

#[derive(Debug, Args)]
pub struct SalusRunArgs {
    /// Trace files (our CSV, Salus's or Tiresias's format) or presets: salus-trace (100
    /// training jobs), hpo (300 identical jobs at once), inference-consolidation (42 services),
    /// train+infer (four training jobs beside a service at doubling rates).
    /// Default: salus-trace.
    #[arg(value_name = "TRACE|PRESET")]
    pub traces: Vec<String>,
    /// Policy or baseline (repeatable; default all): fifo, srtf, fair, pack, rr,
    /// exclusive-fifo, static-partition, mps, srtf-checkpoint, salus-faithful.
    #[arg(long = "policy", value_name = "NAME")]
    pub policies: Vec<String>,
    /// Lane mode for fifo, srtf, fair, pack and rr (default: one for all but pack, auto for
    /// pack); the baselines' lanes are part of their definition.
    #[arg(long, value_enum)]
    pub lanes: Option<LaneMode>,
    /// GPU memory the jobs may use, GiB (default 16: Salus's testbed).
    #[arg(long, default_value_t = 16.0, value_parser = crate::run::parse::positive)]
    pub memory_gib: f64,
    /// Oversubscription penalty of concurrent lanes.
    #[arg(long, default_value_t = DEFAULT_BETA, value_parser = crate::run::parse::non_negative)]
    pub beta: f64,
    /// Cost of switching a lane from one member to another, ms.
    #[arg(long, default_value_t = 0.0, value_parser = crate::run::parse::non_negative)]
    pub switch_ms: f64,
    /// A process restart after a checkpoint (srtf-checkpoint), ms.
    #[arg(long, default_value_t = 1000.0, value_parser = crate::run::parse::non_negative)]
    pub restart_ms: f64,
    /// Lanes shrink to their largest member when one leaves.
    #[arg(long)]
    pub shrink: bool,
    /// SRTF's estimate of a job's remaining time: its standalone duration minus the wall time
    /// it received (Salus's), or its remaining iterations × iteration time.
    #[arg(long, default_value = "service", value_parser = ["service", "remaining-iterations"])]
    pub srtf: String,
    /// Serving jobs run before training jobs of their lane.
    #[arg(long)]
    pub infer_first: bool,
    /// Profiled tenants (Salus's per-model workload list, or our CSV `model,batch,kind,iter_ms,
    /// memory_mib,persistent_mib,ephemeral_mib,occupancy`): a job whose model, batch and kind
    /// it lists takes its measured iteration time and memory; the others keep the zoo's.
    #[arg(long, value_name = "FILE")]
    pub tenants: Option<PathBuf>,
    /// Measured co-run slowdowns (`bench salus corun --out`): concurrent lanes then progress
    /// at 1 / (1 + Σ (s − 1)) over the others running, pairs it lacks at the rate model's.
    #[arg(long, value_name = "FILE")]
    pub slowdowns: Option<PathBuf>,
    /// Accelerator preset whose cost model gives the tenants' times (h200, h100, a100, ...).
    #[arg(long, default_value = "h200")]
    pub device: String,
    /// Output folder (default results/salus when only presets are run; results/salus-gpu
    /// with --gpu).
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// Run each policy on this machine's GPU 0 instead of simulating it (zoo tenants; default
    /// trace gpu-trace): every tenant profiled first, then the policy's decisions made on the
    /// GPU's clock; rows set measured makespan and mean JCT against the simulator's.
    #[arg(long)]
    pub gpu: bool,
    /// With --gpu: the GPU profile's file, read when it was made for this trace on this GPU,
    /// else measured and written there (so later processes skip the profiling). Without
    /// --gpu: a profile `--gpu` wrote for this trace, whose iteration times, pair slowdowns
    /// and switch cost the simulation then takes (a prediction of that GPU run).
    #[arg(long, value_name = "FILE")]
    pub gpu_profile: Option<PathBuf>,
    /// How measured pair slowdowns combine when three or more lanes run at once: additive
    /// (each other item adds its pair's excess) or saturating (the GPU's throughput stays a
    /// pair's, shared evenly).
    #[arg(long, value_enum, default_value_t = Combine::Additive)]
    pub combine: Combine,
    #[command(flatten)]
    pub output: OutputArgs,
}

#[derive(Debug, Args)]
pub struct SalusGenArgs {
    /// A preset's trace (salus-trace, hpo, inference-consolidation, train+infer); the other options then
    /// only change --seed and --out.
    #[arg(long)]
    pub preset: Option<String>,
    /// Number of jobs.
    #[arg(long, default_value_t = 100, value_parser = crate::run::parse::at_least_one)]
    pub jobs: usize,
    /// Model × batch mix, `model:batch` comma-separated (zoo models).
    #[arg(long, default_value = "resnet50:32,inception-v3:32,nasnet-mobile:32,randwire:32,bert:8,gpt:8")]
    pub mix: String,
    /// train or infer.
    #[arg(long, default_value = "train")]
    pub kind: String,
    /// Offered load (Σ duration / arrival span); 0: every job at time 0.
    #[arg(long, default_value_t = 1.0, value_parser = crate::run::parse::non_negative)]
    pub load: f64,
    /// A Philly-style job list (columns duration, num_gpus): durations drawn from its one-GPU
    /// jobs of --min-s to --max-s (default: the log-normal fitted to Philly's).
    #[arg(long, value_name = "CSV")]
    pub durations: Option<PathBuf>,
    #[arg(long, default_value_t = 60.0, value_parser = crate::run::parse::non_negative)]
    pub min_s: f64,
    #[arg(long, default_value_t = 1800.0, value_parser = crate::run::parse::positive)]
    pub max_s: f64,
    /// A profiled workload list (Salus's `workloads.csv`): each job one of its runs, drawn
    /// uniformly, with that run's iterations and duration (--mix, --kind and the durations
    /// options do not apply).
    #[arg(long, value_name = "CSV")]
    pub workloads: Option<PathBuf>,
    /// Every job this many iterations instead of a drawn duration.
    #[arg(long, value_parser = crate::run::parse::at_least_one)]
    pub iterations: Option<usize>,
    /// Serving: requests per second of each job (Poisson).
    #[arg(long, value_parser = crate::run::parse::positive)]
    pub rate: Option<f64>,
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    #[arg(long, default_value = "h200")]
    pub device: String,
    /// Where to write the trace (default: standard output).
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
}

fn cost(device: &str) -> Result<CostModel> {
    CostModel::resolve(device, "pcie")
}

/// A trace given on the command line: a preset's name or a file.
pub fn load(arg: &str, seed: u64, cost: &CostModel) -> Result<(Trace, PathBuf, String)> {
    if let Some(t) = gen::preset_trace(arg, seed, cost) {
        let t = t?;
        let hash = format!("{:x}", Sha256::digest(to_csv(&t).as_bytes()));
        return Ok((t, PathBuf::from(arg), hash));
    }
    let path = PathBuf::from(arg);
    if !path.exists() {
        return Err(Error::Usage(format!("{arg}: neither a trace file nor a preset ({})", gen::PRESETS.join(", "))));
    }
    let bytes = std::fs::read(&path).map_err(|e| Error::io(&path, e))?;
    let hash = format!("{:x}", Sha256::digest(&bytes));
    Ok((read_trace(&path)?, path, hash))
}

/// The configuration of `policy` under the arguments.
pub fn config(a: &SalusRunArgs, policy: &dyn SharingPolicy, cost: &CostModel) -> Config {
    let lanes = if policy.lanes_fixed() { policy.lanes() } else { a.lanes.unwrap_or(policy.lanes()) };
    let bw = cost.link.bandwidth / 1e3;
    Config {
        capacity: a.memory_gib * GIB,
        lanes,
        beta: a.beta,
        quantum_ms: QUANTUM_MS,
        slice_switch_ms: SLICE_SWITCH_MS,
        switch_ms: a.switch_ms,
        shrink: a.shrink,
        d2h_bytes_per_ms: bw,
        h2d_bytes_per_ms: bw,
        restart_ms: a.restart_ms,
        infer_first: a.infer_first,
        srtf_by_iterations: a.srtf == "remaining-iterations",
        slowdowns: None,
    }
}

/// The policies the arguments name, in registry order.
pub fn policies(names: &[String]) -> Result<Vec<&'static dyn SharingPolicy>> {
    registry::select(names, registry::sharing(), |p| p.name(), "sharing policy")
}

/// Runs every trace × policy; the records and each cell's run file.
pub fn salus_records(a: &SalusRunArgs, journal: Option<&Journal>) -> Result<(Vec<Record>, Vec<RunFile>)> {
    let cost = cost(&a.device)?;
    let pols = policies(&a.policies)?;
    let names = if a.traces.is_empty() { vec!["salus-trace".to_owned()] } else { a.traces.clone() };
    let profiles = a.tenants.as_deref().map(read_profiles).transpose()?;
    let mut instances: Vec<Instance> = Vec::new();
    for n in &names {
        let (t, path, hash) = load(n, a.output.common.seed, &cost)?;
        instances.push(instance(&t, &path, &hash, &cost, a.memory_gib * GIB, a.output.common.seed, profiles.as_ref())?);
    }
    if a.combine != Combine::Additive && a.slowdowns.is_none() && a.gpu_profile.is_none() {
        return Err(Error::Usage("--combine applies to measured slowdowns: give --slowdowns or --gpu-profile".into()));
    }
    let gpu = a.gpu_profile.as_deref().map(|f| Ok::<_, Error>((f, super::gpu_profile::read(f)?))).transpose()?;
    if let Some((f, prof)) = &gpu {
        if a.slowdowns.is_some() || a.tenants.is_some() || a.switch_ms > 0.0 {
            return Err(Error::Usage(
                "--gpu-profile brings its own tenants, slowdowns and switch cost: leave out --tenants, --slowdowns and --switch-ms"
                    .into(),
            ));
        }
        for i in instances.iter_mut() {
            if prof.trace_hash != i.hash {
                return Err(Error::input(f, "field \"trace_hash\"", format!("made for another trace than {}", i.name)));
            }
            *i = super::gpu_profile::apply(i, prof);
        }
    }
    let corun = match &a.slowdowns {
        Some(f) => {
            let bytes = std::fs::read(f).map_err(|e| Error::io(f, e))?;
            let name = f.file_name().map_or_else(String::new, |n| n.to_string_lossy().into_owned());
            Some((read_corun(f)?, format!("{name}:{:.12x}", Sha256::digest(&bytes))))
        }
        None => None,
    };
    let corun = corun.or_else(|| gpu.as_ref().map(|(f, p)| (p.corun(), format!("gpu-profile:{}", f.display()))));
    let tables: Vec<Option<Arc<PairSlowdowns>>> = instances
        .iter()
        .map(|i| {
            corun.as_ref().map(|(f, src)| {
                let mut t = PairSlowdowns::new(&i.tenants, f, src, a.beta);
                t.combine = a.combine;
                Arc::new(t)
            })
        })
        .collect();
    let switch_ms = gpu.as_ref().map_or(a.switch_ms, |(_, p)| p.switch_ms.max(0.0));
    let cells: Vec<SharingCell> = instances
        .iter()
        .zip(&tables)
        .flat_map(|(i, s)| pols.iter().map(move |&p| (i, s, p)))
        .map(|(i, s, p)| {
            let config = Config { slowdowns: s.clone(), switch_ms, ..config(a, p, &cost) };
            SharingCell { instance: i, policy: p, config, seed: a.output.common.seed }
        })
        .collect();
    Ok(run_with_files(&cells, a.output.common.quiet, journal))
}

/// Whether every trace argument is a preset (the run then writes to results/salus by default).
pub fn only_presets(a: &SalusRunArgs) -> bool {
    a.traces.iter().all(|t| gen::is_preset(t))
}

/// `bench salus gen`: the trace's CSV text.
pub fn gen_trace(g: &SalusGenArgs) -> Result<String> {
    let cost = cost(&g.device)?;
    if let Some(p) = &g.preset {
        let t = gen::preset_trace(p, g.seed, &cost)
            .ok_or_else(|| Error::Usage(format!("--preset {p:?}: not a preset ({})", gen::PRESETS.join(", "))))??;
        return Ok(to_csv(&t));
    }
    let kind = Kind::parse(&g.kind).ok_or_else(|| Error::Usage(format!("--kind {:?}: train or infer", g.kind)))?;
    if g.min_s > g.max_s {
        return Err(Error::Usage(format!("--min-s {} is above --max-s {}", g.min_s, g.max_s)));
    }
    let durations = match (&g.iterations, &g.durations) {
        (Some(n), _) => Durations::Iterations(*n as u64),
        (None, Some(f)) => Durations::Empirical(gen::read_durations(f, g.min_s, g.max_s)?),
        (None, None) => match gen::PHILLY_BODY {
            Durations::LogNormal { mu, sigma, .. } => {
                Durations::LogNormal { mu, sigma, min: g.min_s.max(1e-3), max: g.max_s }
            }
            d => d,
        },
    };
    let o = GenOptions {
        name: "generated".into(),
        jobs: g.jobs,
        mix: parse_mix(&g.mix)?,
        kind,
        durations,
        load: g.load,
        rate: g.rate,
        slo_slack_ms: None,
        seed: g.seed,
        workloads: match &g.workloads {
            Some(f) => {
                let p = read_profiles(f)?;
                if p.workloads.is_empty() {
                    return Err(Error::input(f, "rows", "not a workload list (Salus's workloads.csv)"));
                }
                p.workloads
            }
            None => Vec::new(),
        },
    };
    Ok(to_csv(&gen::generate(&o, &cost)?))
}

/// `model:batch,...`.
pub fn parse_mix(s: &str) -> Result<Vec<(crate::zoo::Model, usize)>> {
    s.split(',')
        .filter(|p| !p.trim().is_empty())
        .map(|p| {
            let (m, b) = p.trim().split_once(':').unwrap_or((p.trim(), "32"));
            let model = parse_model(m).ok_or_else(|| Error::Usage(format!("--mix {p:?}: unknown model {m:?}")))?;
            let batch = b
                .parse::<usize>()
                .ok()
                .filter(|&b| b >= 1)
                .ok_or_else(|| Error::Usage(format!("--mix {p:?}: the batch {b:?} is not a whole number >= 1")))?;
            Ok((model, batch))
        })
        .collect()
}

/// Writes `text` to `out` atomically, or to standard output.
pub fn write_or_print(out: Option<&Path>, text: &str) -> Result<()> {
    match out {
        Some(p) => crate::results::write_atomic(p, text.as_bytes()),
        None => {
            print!("{text}");
            Ok(())
        }
    }
}

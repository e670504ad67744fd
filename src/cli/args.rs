//! Command-line definitions (clap derive); parsing only, no I/O.

use crate::hios::sweep::HiosArgs;
use crate::multitenant::salus::sweep::SalusArgs;
use crate::pipeline::options::{CalibrateOptions, LinksOptions, ProfileOptions, ValidateOptions};
use crate::plots::figures::FiguresArgs;
use crate::run::options::{CommonArgs, RegressArgs, WorkloadArgs};
use clap::{Args, Parser, Subcommand};
use std::path::PathBuf;

/// Run, compare and check device-placement algorithms for DNN operator graphs.
#[derive(Debug, Parser)]
#[command(name = "bench", version, about, long_about = None)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Place workloads for throughput (max-load) with every chosen algorithm and write results.
    ///
    /// Without FILE arguments it runs on the embedded workloads of `inputs/` plus every
    /// `*.json` under each `--inputs` folder, and writes results.csv, results.json and one
    /// placement per run under `--out`. With FILE arguments it runs on those files only and
    /// writes files only if `--out` is given.
    Throughput(ThroughputArgs),
    /// Place inference workloads for single-sample latency: the latency IP, the greedy, and the
    /// throughput baselines' splits (dp, scotch, expert, one-device) scored by latency.
    ///
    /// Without FILE arguments it runs on the embedded latency workloads plus every `*.json`
    /// under each `--inputs` folder (a dnn-partitioning checkout's latency-inputs/), and writes
    /// results under `--out` (default results/latency/).
    Latency(LatencyArgs),
    /// List the algorithms.
    List,
    /// Score a split file (cpus/fpgas node lists) on a workload: max-load, latency, checks.
    Evaluate(EvaluateArgs),
    /// Time the exact DP on each workload (median of --repeats runs).
    Perf(PerfArgs),
    /// Generate a workload from the model zoo (dnn-partitioning JSON with provenance), or
    /// regenerate the embedded defaults of inputs/ with --embedded.
    Gen(crate::zoo::GenOptions),
    /// Schedule inference workloads onto K GPUs and their streams (HIOS and baselines), with
    /// latency predicted by the schedule simulator. Without FILEs: the zoo CNNs (Inception-v3,
    /// NASNet-A Large, RandWire at 331, 512, 768, 1280, batch 1) plus the `*.json` of each --inputs folder
    /// (a dnn-partitioning checkout's latency-inputs/).
    Hios(HiosArgs),
    /// Share one GPU between many jobs as Salus does (memory lanes, iteration scheduling) and
    /// compare policies on a trace: FIFO, SRTF, FAIR, PACK, RR and the baselines, each run
    /// simulated and its event log replayed by the checker. Without TRACE: the salus-trace
    /// preset. `bench salus gen` writes a trace.
    Salus(Box<SalusArgs>),
    /// Pipeline real-time and best-effort DNNs over CPU cores and a GPU as DART does: choose a
    /// configuration and stage cuts, admit by response-time analysis, then simulate the
    /// runtime under the checker; DART against its baselines. Without TASKSET: the h200-zoo
    /// preset. `bench dart gen` writes a generated set.
    Dart(Box<crate::multitenant::dart::sweep::DartArgs>),
    /// Pack many DNNs' weights into one memory as Neural Weight Virtualization does: pages of
    /// different networks that are close (weighted by each weight's Fisher information) share
    /// a virtual page; every matcher's packing is re-derived by the checker. Without MODELS:
    /// the reference preset (its five networks, from --data). With --gpu: switching by one
    /// gather against reloading, measured.
    Nwv(Box<crate::multitenant::nwv::sweep::NwvArgs>),
    /// Run placements and HIOS schedules on this machine's GPUs and report measured against
    /// predicted time: throughput placements as pipelines (time per sample vs max-load),
    /// latency placements and schedules one sample at a time. Zoo workloads run as real kernels
    /// with real copies of each edge's bytes; the paper's workloads (no shapes) as calibrated
    /// busy kernels of each node's time. Needs `--features cuda` and an NVIDIA driver;
    /// otherwise says so and exits 2.
    Validate(ValidateOptions),
    /// Measure a zoo model's operators (cuDNN, cuBLAS, NVRTC kernels) and copies on this
    /// machine's GPUs and write the workload with the measured times (needs `--features cuda`).
    Profile(ProfileOptions),
    /// Anchor a profiled GPU-time workload (`bench profile --gpu-cost-out`) to measured runs of
    /// the whole model on one GPU (the one-device placement graph-replayed, from `bench
    /// validate` files): its GPU times scaled to the pipeline in steady state, and the
    /// overhead of a sample run alone. Needs no GPU.
    Calibrate(CalibrateOptions),
    /// Measure copies and exchanges between this machine's GPUs alone (no model): the link
    /// fits, an exchange's latency and what a copy queued behind another costs; `bench
    /// calibrate --links` adds the queued copies to a profile made before (needs `--features
    /// cuda` and two GPUs).
    Links(LinksOptions),
    /// Compare two results (files or folders): objective and time per cell; exits 1 on a
    /// regression (an objective worse beyond --tolerance, a row that became infeasible or failed).
    Compare(CompareArgs),
    /// Merge the results of a sweep's shards (`--shard I/N` runs, one folder each) into one
    /// result set; refused when they come from different commits, options, shard counts or
    /// workload contents; shards missing from 0..N are reported (exit 1).
    Merge(MergeArgs),
    /// Draw the figures of results files (PNG and SVG): relative objective, performance
    /// profile and wall time, per objective found in the files. Nothing is rerun.
    Plot(PlotArgs),
    /// Regenerate every figure: run what is missing (or everything with --rerun) on the
    /// embedded and --inputs workloads into results/figures/, plot into plots/, and write
    /// plots/README.md.
    Figures(FiguresArgs),
    /// Rerun the deterministic algorithms and compare with the committed baseline
    /// (results/baseline); `--update` regenerates the baseline instead.
    Regress(RegressArgs),
    /// Fuzz the input readers (workload loader, split and schedule files): mutated inputs
    /// until --inputs per reader, every panic, hang or malformed refusal saved and counted;
    /// writes fuzz.json and a figure under --out and the minimised corpus. Coverage-guided
    /// when built by scripts/fuzz.sh, guided by outcomes otherwise.
    Fuzz(crate::fuzz::FuzzArgs),
    /// Runs one placement cell sent on stdin and answers on stdout: how `bench` runs the
    /// integer programs in a process of their own. Not for direct use.
    #[command(hide = true)]
    Cell,
}

/// What both placement commands take.
#[derive(Debug, Args)]
pub struct PlaceArgs {
    #[command(flatten)]
    pub workloads: WorkloadArgs,
    /// Run every algorithm (the default when no --algo is given).
    #[arg(long)]
    pub all: bool,
    /// Algorithm to run (repeatable); see `bench list`.
    #[arg(long = "algo", value_name = "NAME")]
    pub algos: Vec<String>,
    /// Output folder for results.csv, results.json and placements/.
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// Print the records as JSON on stdout (one object for one cell, else an array).
    #[arg(long)]
    pub json: bool,
    /// Keep the cells a stopped run into the same --out finished (its journal) and run the rest.
    #[arg(long)]
    pub resume: bool,
    #[command(flatten)]
    pub solver: SolverArgs,
    #[command(flatten)]
    pub common: CommonArgs,
}

#[derive(Debug, Args)]
pub struct ThroughputArgs {
    #[command(flatten)]
    pub place: PlaceArgs,
    /// Restarts of local-search (at least 1).
    #[arg(long, default_value_t = 10, value_parser = crate::run::parse::at_least_one)]
    pub restarts: usize,
    #[command(flatten)]
    pub ip: ThroughputIpArgs,
}

/// HiGHS options of every integer program.
#[derive(Debug, Args)]
pub struct SolverArgs {
    /// Relative MIP gap at which HiGHS stops, from 0 to 1 (the paper's Gurobi setting).
    #[arg(long, default_value_t = 0.01, value_parser = crate::run::parse::fraction)]
    pub mip_gap: f64,
    /// Order identical devices in the IPs with explicit constraints (off by default: HiGHS
    /// detects the symmetry itself, and does better without them).
    #[arg(long)]
    pub symmetry_breaking: bool,
    /// A further HiGHS option for the integer programs, NAME=VALUE (repeatable), e.g.
    /// `presolve=off` or `mip_heuristic_effort=0.3`; recorded in the options column.
    #[arg(long = "highs-option", value_name = "NAME=VALUE", value_parser = parse_highs_option)]
    pub highs_options: Vec<(String, String)>,
}

/// Options of the throughput integer programs only.
#[derive(Debug, Args, Default)]
pub struct ThroughputIpArgs {
    /// ip-contig: do not force contiguity on CPUs (the reference's ALSO_FORCE_ON_CPUS=False).
    #[arg(long)]
    pub no_contig_on_cpus: bool,
    /// Throughput IPs: minimise max FW + max BW instead of max (FW + BW) (paper, App. C).
    #[arg(long)]
    pub diffmaxima: bool,
    /// Do not start the throughput IPs from the DP's split (`bench latency` has its own).
    #[arg(long)]
    pub no_warm_start: bool,
}

fn parse_highs_option(s: &str) -> Result<(String, String), String> {
    match s.split_once('=') {
        Some((k, v)) if !k.trim().is_empty() && !v.trim().is_empty() => Ok((k.trim().into(), v.trim().into())),
        _ => Err(format!("{s:?}: expected NAME=VALUE")),
    }
}

impl SolverArgs {
    pub fn options(&self, t: &ThroughputIpArgs, subgraphs_per_device: usize) -> crate::algorithms::IpOptions {
        crate::algorithms::IpOptions {
            mip_gap: self.mip_gap,
            contig_on_cpus: !t.no_contig_on_cpus,
            diffmaxima: t.diffmaxima,
            warm_start: !t.no_warm_start,
            symmetry_breaking: self.symmetry_breaking,
            subgraphs_per_device,
            highs_options: self.highs_options.clone(),
        }
    }
}

#[derive(Debug, Args)]
pub struct LatencyArgs {
    #[command(flatten)]
    pub place: PlaceArgs,
    /// latency-ip: contiguous subgraphs per accelerator, run one after another (the paper's q).
    #[arg(long, default_value_t = 1, value_name = "Q", value_parser = crate::run::parse::at_least_one)]
    pub subgraphs_per_device: usize,
    /// Score this split file on the (single) FILE instead of running algorithms.
    #[arg(long, value_name = "SPLIT")]
    pub eval: Option<PathBuf>,
    /// Do not start latency-ip from the best of the greedy's placement and everything on the
    /// CPUs.
    #[arg(long)]
    pub no_warm_start: bool,
}

#[derive(Debug, Args)]
pub struct EvaluateArgs {
    /// The workload.
    pub workload: PathBuf,
    /// The split file to score.
    pub split: PathBuf,
}

#[derive(Debug, Args)]
pub struct PerfArgs {
    #[command(flatten)]
    pub workloads: WorkloadArgs,
    /// Runs per workload; the median is printed.
    #[arg(long, default_value_t = 3)]
    pub repeats: usize,
    #[command(flatten)]
    pub common: CommonArgs,
}

#[derive(Debug, Args)]
pub struct CompareArgs {
    /// The reference results (results.json/.csv or a folder holding one).
    pub old: PathBuf,
    /// The results to check.
    pub new: PathBuf,
    /// Relative objective change that counts, at least 0 (lower objectives are better).
    #[arg(long, default_value_t = 1e-6, value_parser = crate::run::parse::non_negative)]
    pub tolerance: f64,
    /// A cell missing from NEW is a regression too.
    #[arg(long)]
    pub strict: bool,
}

#[derive(Debug, Args)]
pub struct MergeArgs {
    /// The shards' output folders.
    #[arg(required = true, value_name = "DIR")]
    pub dirs: Vec<PathBuf>,
    /// Where the merged results go.
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
}

#[derive(Debug, Args)]
pub struct PlotArgs {
    /// Results files or folders (results.json or results.csv).
    #[arg(required = true)]
    pub results: Vec<PathBuf>,
    /// Folder for the figures.
    #[arg(long, default_value = "plots", value_name = "DIR")]
    pub out: PathBuf,
}

//! Command-line definitions (clap derive); parsing only, no I/O.

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
    Throughput(PlaceArgs),
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
    Gen(GenArgs),
    /// Schedule inference workloads onto K GPUs and their streams (HIOS and baselines), with
    /// latency predicted by the schedule simulator. Without FILEs: the zoo CNNs (Inception-v3,
    /// NASNet-A Large, RandWire at 331, 512, 768, 1280, batch 1) plus the `*.json` of each --inputs folder
    /// (a dnn-partitioning checkout's latency-inputs/).
    Hios(HiosArgs),
    /// Run placements and HIOS schedules on this machine's GPUs and report measured against
    /// predicted time: throughput placements as pipelines (time per sample vs max-load),
    /// latency placements and schedules one sample at a time. Zoo workloads run as real kernels
    /// with real copies of each edge's bytes; the paper's workloads (no shapes) as calibrated
    /// busy kernels of each node's time. Needs `--features cuda` and an NVIDIA driver;
    /// otherwise says so and exits 2.
    Validate(ValidateArgs),
    /// Measure a zoo model's operators (cuDNN, cuBLAS, NVRTC kernels) and copies on this
    /// machine's GPUs and write the workload with the measured times (needs `--features cuda`).
    Profile(ProfileArgs),
    /// Anchor a profiled GPU-time workload (`bench profile --gpu-cost-out`) to measured runs of
    /// the whole model on one GPU (the one-device placement graph-replayed, from `bench
    /// validate` files): its GPU times scaled to the pipeline in steady state, and the
    /// overhead of a sample run alone. Needs no GPU.
    Calibrate(CalibrateArgs),
    /// Measure copies and exchanges between this machine's GPUs alone (no model): the link
    /// fits, an exchange's latency and what a copy queued behind another costs; `bench
    /// calibrate --links` adds the queued copies to a profile made before (needs `--features
    /// cuda` and two GPUs).
    Links(LinksArgs),
    /// Compare two results (files or folders): objective and time per cell; exits 1 on a
    /// regression (an objective worse beyond --tolerance, a row that became infeasible or failed).
    Compare(CompareArgs),
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
}

#[derive(Debug, Clone, Args)]
pub struct CommonArgs {
    /// Seed of every random choice (recorded in the results).
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Wall-clock limit in seconds per (workload, algorithm) for the methods that take one
    /// (default: none, except the IPs: 1200 s for throughput, 3600 s for latency, as the paper).
    #[arg(long, value_name = "SECONDS")]
    pub time_limit: Option<f64>,
    /// Worker threads (default: all cores).
    #[arg(long)]
    pub threads: Option<usize>,
    /// No progress bar.
    #[arg(long, short)]
    pub quiet: bool,
}

#[derive(Debug, Args)]
pub struct WorkloadArgs {
    /// Workload files; when given, only these are run.
    #[arg(value_name = "FILE")]
    pub files: Vec<PathBuf>,
    /// Folder searched recursively for *.json workloads (repeatable). A checkout of
    /// msr-fiddle/dnn-partitioning may be given as is: its throughput-inputs/ is used.
    #[arg(long, value_name = "DIR")]
    pub inputs: Vec<PathBuf>,
    /// Do not include the embedded workloads of inputs/.
    #[arg(long)]
    pub no_embedded: bool,
    /// Folder of human-expert split files (repeatable; `human-experts/` next to --inputs and
    /// in the current folder are searched too).
    #[arg(long, value_name = "DIR")]
    pub experts: Vec<PathBuf>,
}

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
    /// Restarts of local-search.
    #[arg(long, default_value_t = 10)]
    pub restarts: usize,
    #[command(flatten)]
    pub ip: IpArgs,
    #[command(flatten)]
    pub common: CommonArgs,
}

/// Options of the integer programs.
#[derive(Debug, Args)]
pub struct IpArgs {
    /// Relative MIP gap at which HiGHS stops (the paper's Gurobi setting).
    #[arg(long, default_value_t = 0.01)]
    pub mip_gap: f64,
    /// ip-contig: do not force contiguity on CPUs (the reference's ALSO_FORCE_ON_CPUS=False).
    #[arg(long)]
    pub no_contig_on_cpus: bool,
    /// Throughput IPs: minimise max FW + max BW instead of max (FW + BW) (paper, App. C).
    #[arg(long)]
    pub diffmaxima: bool,
    /// Do not start the IPs from the DP's split.
    #[arg(long)]
    pub no_warm_start: bool,
    /// Order identical devices in the IPs with explicit constraints (off by default: HiGHS
    /// detects the symmetry itself, and does better without them).
    #[arg(long)]
    pub symmetry_breaking: bool,
    /// A further HiGHS option for the integer programs, NAME=VALUE (repeatable), e.g.
    /// `presolve=off` or `mip_heuristic_effort=0.3`; recorded in the options column.
    #[arg(long = "highs-option", value_name = "NAME=VALUE", value_parser = parse_highs_option)]
    pub highs_options: Vec<(String, String)>,
}

fn parse_highs_option(s: &str) -> Result<(String, String), String> {
    match s.split_once('=') {
        Some((k, v)) if !k.trim().is_empty() && !v.trim().is_empty() => Ok((k.trim().into(), v.trim().into())),
        _ => Err(format!("{s:?}: expected NAME=VALUE")),
    }
}

impl IpArgs {
    pub fn options(&self, subgraphs_per_device: usize) -> crate::algorithms::IpOptions {
        crate::algorithms::IpOptions {
            mip_gap: self.mip_gap,
            contig_on_cpus: !self.no_contig_on_cpus,
            diffmaxima: self.diffmaxima,
            warm_start: !self.no_warm_start,
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
    #[arg(long, default_value_t = 1, value_name = "Q")]
    pub subgraphs_per_device: usize,
    /// Score this split file on the (single) FILE instead of running algorithms.
    #[arg(long, value_name = "SPLIT")]
    pub eval: Option<PathBuf>,
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
    /// Relative objective change that counts (lower objectives are better).
    #[arg(long, default_value_t = 1e-6)]
    pub tolerance: f64,
    /// A cell missing from NEW is a regression too.
    #[arg(long)]
    pub strict: bool,
}

#[derive(Debug, Args)]
pub struct RegressArgs {
    /// Folder of the baseline (one sub-folder per objective).
    #[arg(long, default_value = "results/baseline", value_name = "DIR")]
    pub baseline: PathBuf,
    /// Folder(s) of workloads beyond the embedded ones (a dnn-partitioning checkout).
    #[arg(long, value_name = "DIR")]
    pub inputs: Vec<PathBuf>,
    /// Also rerun cells that took over --slow seconds in the baseline, and the
    /// time-limited integer programs (compared only where the baseline proved optimality).
    #[arg(long)]
    pub include_slow: bool,
    /// Cells slower than this in the baseline are skipped unless --include-slow.
    #[arg(long, default_value_t = 60.0, value_name = "SECONDS")]
    pub slow: f64,
    /// Regenerate the baseline from the current code instead of comparing.
    #[arg(long)]
    pub update: bool,
    /// Relative objective change that counts.
    #[arg(long, default_value_t = 1e-6)]
    pub tolerance: f64,
    #[command(flatten)]
    pub common: CommonArgs,
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

#[derive(Debug, Args)]
pub struct FiguresArgs {
    /// Folder(s) of workloads beyond the embedded ones (a dnn-partitioning checkout).
    #[arg(long, value_name = "DIR")]
    pub inputs: Vec<PathBuf>,
    /// Rerun even where results/figures/ already holds results.
    #[arg(long)]
    pub rerun: bool,
    /// Where the runs' results go.
    #[arg(long, default_value = "results/figures", value_name = "DIR")]
    pub results: PathBuf,
    /// Folder for the figures and their README.
    #[arg(long, default_value = "plots", value_name = "DIR")]
    pub out: PathBuf,
    /// Measured GPU results (`bench validate` JSON files, searched recursively) for the
    /// predicted-vs-measured figure; never rerun here.
    #[arg(long, default_value = "results/gpu", value_name = "DIR")]
    pub gpu_results: PathBuf,
    #[command(flatten)]
    pub common: CommonArgs,
}

#[derive(Debug, Args)]
pub struct GenArgs {
    /// The model (not needed with --embedded).
    #[arg(value_enum, required_unless_present = "embedded")]
    pub model: Option<crate::zoo::Model>,
    /// Regenerate every workload of inputs/ (run from the repository root).
    #[arg(long)]
    pub embedded: bool,
    /// Samples per batch.
    #[arg(long, default_value_t = 1)]
    pub batch: usize,
    /// Square image side for the CNNs (Inception-v3 is usually 299).
    #[arg(long, default_value_t = 224)]
    pub image: usize,
    /// Sequence length for the transformers.
    #[arg(long, default_value_t = 128)]
    pub seq: usize,
    /// Layers of the transformers.
    #[arg(long, default_value_t = 12)]
    pub layers: usize,
    /// One node per operator, or one per layer (block).
    #[arg(long, value_enum, default_value = "op")]
    pub granularity: crate::zoo::export::Granularity,
    /// Add backward nodes (paired by colorClass, edges mirrored, twice the forward time).
    #[arg(long)]
    pub training: bool,
    /// Accelerator preset (h100, h200) or a JSON device file (fields of DeviceModel).
    #[arg(long, default_value = "h200")]
    pub device: String,
    /// Link preset: pcie (host staging, the paper's model) or nvlink.
    #[arg(long, default_value = "pcie")]
    pub link: String,
    /// maxFPGAs.
    #[arg(long, default_value_t = 4)]
    pub accs: usize,
    /// maxCPUs.
    #[arg(long, default_value_t = 1)]
    pub cpus: usize,
    /// maxSizePerFPGA in bytes (default: --memory-fraction of the model's size).
    #[arg(long)]
    pub memory: Option<f64>,
    /// Without --memory, each accelerator holds this fraction of the model.
    #[arg(long, default_value_t = 0.35)]
    pub memory_fraction: f64,
    /// RandWire: nodes N of the Watts–Strogatz graphs.
    #[arg(long, default_value_t = 32)]
    pub ws_nodes: usize,
    /// RandWire: neighbours K of each node before rewiring.
    #[arg(long, default_value_t = 4)]
    pub ws_k: usize,
    /// RandWire: rewiring probability P.
    #[arg(long, default_value_t = 0.75)]
    pub ws_p: f64,
    /// RandWire: channels C of the first random stage.
    #[arg(long, default_value_t = 78)]
    pub channels: usize,
    /// RandWire: seed of the random graphs.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Output file (default: stdout).
    #[arg(long, short)]
    pub out: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct HiosArgs {
    /// Workload files (inference); when given, only these are scheduled.
    #[arg(value_name = "FILE")]
    pub files: Vec<PathBuf>,
    /// Folder(s) of workloads (a dnn-partitioning checkout: its latency-inputs/).
    #[arg(long, value_name = "DIR")]
    pub inputs: Vec<PathBuf>,
    /// Run every scheduling algorithm (the default when no --algo is given).
    #[arg(long)]
    pub all: bool,
    /// Scheduling algorithm (repeatable): sequential, ios, heft, cpop, dp-split, hios-lp,
    /// hios-lp-intra, hios-mr, hios-mr-intra.
    #[arg(long = "algo", value_name = "NAME")]
    pub algos: Vec<String>,
    /// GPU counts (repeatable; default 1, 2, 4, 8).
    #[arg(long = "gpus", value_name = "K")]
    pub gpus: Vec<usize>,
    /// Contention model of concurrent streams: shared (default) or reference (HIOS's simulator).
    #[arg(long, default_value = "shared")]
    pub contention: String,
    /// Oversubscription penalty β of the shared contention model (default 0.1); repeat it to
    /// sweep the model's sensitivity (one row per value, the value in the options column).
    #[arg(long = "beta", value_name = "BETA")]
    pub beta: Vec<f64>,
    /// Intra-GPU sliding window.
    #[arg(long, default_value_t = 2)]
    pub window: usize,
    /// Streams per GPU.
    #[arg(long, default_value_t = 2)]
    pub streams: usize,
    /// Largest stage of the IOS-style DP.
    #[arg(long, default_value_t = 3)]
    pub max_group: usize,
    /// HIOS-LP/MR and the intra pass as the reference code behaves (builder order instead of
    /// LST order, a path's first weight ignored, HIOS-MR's first predecessor only, the intra
    /// window stuck at the first rejected pair), to compare with its published numbers.
    #[arg(long)]
    pub faithful: bool,
    /// Output folder (default results/hios when no FILE is given).
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// Print the records as JSON on stdout.
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub common: CommonArgs,
}

#[derive(Debug, Args)]
pub struct ValidateArgs {
    /// The workload the placements and schedules are for.
    pub workload: PathBuf,
    /// Placement (split) files, as `bench throughput` and `bench latency` write under placements/.
    pub placements: Vec<PathBuf>,
    /// HIOS schedule files, as `bench hios` writes under schedules/ (repeatable).
    #[arg(long = "schedule", value_name = "FILE")]
    pub schedules: Vec<PathBuf>,
    /// Run the placements one sample at a time and compare with their latency (latency
    /// placements) instead of pipelining samples against the max-load.
    #[arg(long)]
    pub latency: bool,
    /// Calibrated busy kernels even where the workload's model could run as real kernels.
    #[arg(long)]
    pub busy: bool,
    /// Capture each sample as CUDA graphs and replay them: measures the GPUs without the host's
    /// per-operator launch cost. Per GPU, one graph per run of HIOS stages between exchanges
    /// with other GPUs (imports before it, exports after it).
    #[arg(long)]
    pub graphs: bool,
    #[command(flatten)]
    pub copy: CopyArgs,
    /// Samples per repeat: throughput placements stream this many and then twice as many, and
    /// the difference over this many is the time per sample in steady state; latency placements
    /// and schedules run them one after another.
    #[arg(long, default_value_t = 200)]
    pub samples: usize,
    /// Timed repeats after one warm-up; the median is reported.
    #[arg(long, default_value_t = 5)]
    pub repeats: usize,
    /// Write the rows as JSON here.
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Run every plan in this process. By default each plan of several runs in a process of
    /// its own (this command again, for that plan alone): in one process every plan after the
    /// first measured 8–12% slower (results/gpu/h100-first-plan-check).
    #[arg(long)]
    pub in_process: bool,
    /// Run each plan in this many processes of its own, in turn with the other plans, and
    /// keep the row of the median: on 2×H200 some processes ran a plan 8% slower than others
    /// did (results/gpu/h200x2-calibrated). Rows keep every process's time.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..=15))]
    pub processes: u32,
    /// Run throughput placements that break only the workload's memory limit per device (a
    /// modelled capacity, e.g. the share of a GPU a k-GPU profile allots each): `bench
    /// calibrate` anchors such profiles on the whole model on one GPU. Rows say so.
    #[arg(long)]
    pub ignore_memory: bool,
    /// After each HIOS schedule of real kernels, also time every stage of several groups
    /// alone on GPU 0 (warm, each operator on buffers of its own): its groups side by side on
    /// as many streams, on one stream, and each group alone. Rows get them as `stages`.
    #[arg(long)]
    pub stage_times: bool,
    /// Trace plans replayed one sample at a time (`--graphs` with `--latency`, or a schedule):
    /// time stamps around every segment and copy, each segment's times beside the issue
    /// model's in its row (`trace`). The stamps are kernels of their own: the row's time is the
    /// traced run's, a little slower than an untraced one.
    #[arg(long)]
    pub trace: bool,
    /// Under graph replay, also cut each GPU's share of a sample into a graph of its own after
    /// every N stages (0: only at exchanges with other GPUs; the issue model cuts the same): a
    /// diagnostic of what cutting alone costs. Rows say so (`cut_every`).
    #[arg(long, value_name = "N", default_value_t = 0)]
    pub cut_every: usize,
    /// No copies between GPUs: a dependency on another GPU is only waited for (its event) and
    /// the consumer reads the producer's output over the link itself (peer access), which the
    /// issue model charges nothing for. A diagnostic of what the copy path costs; rows say so
    /// (`no_copies`).
    #[arg(long)]
    pub no_copies: bool,
    /// Issue each copy from another GPU only once the host sees the producer's event complete,
    /// so that the copy stream never waits on another GPU's event: a diagnostic of whether such
    /// a pending wait slows the receiving GPU (rows say so, `host_polled_imports`).
    #[arg(long)]
    pub host_polled_imports: bool,
    /// Add a one-microsecond busy task on a second stream beside the first task of every N-th
    /// stage (1: every stage; those stages then fork and join): a diagnostic of what second
    /// streams cost a GPU whose plan is otherwise one stream; the issue model sees the
    /// concurrent stages too. Rows say so (`side_branches`).
    #[arg(long, value_name = "N", default_value_t = 0)]
    pub side_branches: usize,
    /// Add a one-microsecond busy task on a GPU of its own beside the first task of every N-th
    /// stage, fed a small activation by it and feeding one back four stages later
    /// (`--remote-return`; a large N: one branch): a diagnostic of what exchanges with another GPU cost a GPU whose plan is
    /// otherwise its own; the issue model sees the exchanges and graphs too. Needs two GPUs.
    /// Rows say so (`remote_branches`).
    #[arg(long, value_name = "N", default_value_t = 0)]
    pub remote_branches: usize,
    /// How many stages after its start a remote branch returns (`--remote-branches`): later
    /// than a round trip between the GPUs takes keeps the exchange off the sample's critical
    /// path. Rows say so where it is not the default (`remote_return`).
    #[arg(long, value_name = "N", default_value_t = crate::gpu::plan::REMOTE_RETURN)]
    pub remote_return: usize,
    /// Run nothing: take the measurements from this earlier `bench validate` JSON file (rows
    /// matched by plan file name) and recompute every prediction for them — the workload's
    /// model, the roofline and the executor's issue model. Needs no GPU.
    #[arg(long, value_name = "FILE")]
    pub measured: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct CalibrateArgs {
    /// The profiled workload (GPU times: `bench profile --gpu-cost-out`).
    pub workload: PathBuf,
    /// `bench validate --graphs` JSON files holding the runs to calibrate on (repeatable): the
    /// plan in steady state (throughput placements), and one sample at a time (--latency, or a
    /// HIOS schedule).
    #[arg(long, value_name = "FILE", required_unless_present_any = ["cuts", "forked", "links", "peers"])]
    pub measured: Vec<PathBuf>,
    /// `bench validate --graphs` JSON files holding one-GPU plans of this workload replayed
    /// one sample at a time whole and cut into more graphs (`--cut-every`; repeatable): what
    /// each later graph of a sample costs, for the issue model, instead of what `bench
    /// profile` measured with graphs of one small kernel.
    #[arg(long, value_name = "FILE")]
    pub cuts: Vec<PathBuf>,
    /// `bench validate --graphs` JSON files holding one-GPU plans of this workload replayed
    /// one sample at a time as they are and with side branches (`--side-branches N`;
    /// repeatable): the share of the calibration's gain a GPU loses when its sample forks into
    /// parallel streams, for the issue model (instead of all of it). Needs a calibrated profile
    /// (or `--measured` in the same call).
    #[arg(long, value_name = "FILE")]
    pub forked: Vec<PathBuf>,
    /// A `bench links` file measured on the profile's GPU with its copy kernel: what a copy
    /// queued behind another on a copy stream costs (`exchange.queued`), for the issue model,
    /// in profiles made before `bench profile` measured it.
    #[arg(long, value_name = "FILE")]
    pub links: Option<PathBuf>,
    /// Another profile of the same model on the same GPU that measured peers (`bench profile`
    /// does since a later version): its concurrency efficiency η, warm and cold, for a profile
    /// made before, which has none (the issue model then takes the stage formula as it is).
    /// Refused where the profile has peers of its own or the two differ in GPU or operators.
    #[arg(long, value_name = "FILE")]
    pub peers: Option<PathBuf>,
    /// The algorithm of the rows to calibrate on: a placement of the whole model on one GPU
    /// (`one-device`), or `sequential` (the HIOS schedule, one sample at a time only).
    #[arg(long, default_value = "one-device")]
    pub algorithm: String,
    /// Write the calibrated workload here instead of replacing WORKLOAD.
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct LinksArgs {
    /// Where to write the measurements (JSON).
    #[arg(long, value_name = "FILE")]
    pub out: PathBuf,
    /// Event-timed runs per copy size.
    #[arg(long, default_value_t = 20)]
    pub runs: usize,
    #[command(flatten)]
    pub copy: CopyArgs,
}

#[derive(Debug, Args)]
pub struct ProfileArgs {
    #[command(flatten)]
    pub model: GenArgs,
    /// Untimed launches per operator before timing.
    #[arg(long, default_value_t = 5)]
    pub warmup: usize,
    /// Back-to-back launches per timed round of an operator (five rounds; the median round is
    /// kept), and event-timed runs per copy size.
    #[arg(long, default_value_t = 20)]
    pub runs: usize,
    /// Also write the workload with GPU-only operator times (what a CUDA-graph replay pays;
    /// the main output charges each operator max(GPU time, host issue time), what eager
    /// launches pay).
    #[arg(long, value_name = "FILE")]
    pub gpu_cost_out: Option<PathBuf>,
    /// Which GPU time the workloads charge: `warm` (the operator repeating itself, weights in
    /// L2), `cold` (L2 flushed before each launch, inputs read back in), or `auto`: cold when
    /// the model's weights and activations exceed GPU 0's L2, as they then do not stay there
    /// between samples. Both are measured and kept in the provenance either way.
    #[arg(long, value_enum, default_value_t = CacheState::Auto)]
    pub cache: CacheState,
    #[command(flatten)]
    pub copy: CopyArgs,
}

/// How copies between GPUs run: a kernel on the receiving GPU reading the producer's memory, or
/// its copy engine.
#[derive(Debug, Args)]
pub struct CopyArgs {
    /// Blocks of 256 threads a copy takes at most (16-byte words, four in flight per thread).
    /// On 2×H200, 33 keep the link's bandwidth within 3% of a copy on every thread slot and
    /// ran HIOS schedules on two GPUs 0.2–9% faster (results/gpu-history/h200x2-copy-blocks).
    #[arg(long, value_name = "BLOCKS", default_value_t = 33, value_parser = clap::value_parser!(u32).range(1..=1056))]
    pub copy_blocks: u32,
    /// Copy 4-byte words on up to every thread slot of the GPU instead (the copies of the runs
    /// before --copy-blocks).
    #[arg(long, conflicts_with = "copy_blocks")]
    pub word_copies: bool,
    /// Copy by the receiving GPU's copy engine (a driver copy between peers), no kernel: a
    /// diagnostic so far; the issue model still charges a kernel's hold of the GPU.
    #[arg(long, conflicts_with_all = ["copy_blocks", "word_copies"])]
    pub copy_engine: bool,
}

impl CopyArgs {
    pub fn kernel(&self) -> crate::gpu::plan::CopyKernel {
        if self.word_copies {
            crate::gpu::plan::CopyKernel::Words
        } else if self.copy_engine {
            crate::gpu::plan::CopyKernel::Engine
        } else {
            crate::gpu::plan::CopyKernel::Wide { blocks: self.copy_blocks as usize }
        }
    }
}

/// See `ProfileArgs::cache`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum CacheState {
    Auto,
    Warm,
    Cold,
}

//! The options of the GPU pipeline's commands (`bench profile`, `calibrate`, `validate`,
//! `links`), parsed by clap from the command line and handed to the library as they are.

use crate::zoo::GenOptions;
use clap::Args;
use std::path::PathBuf;

#[derive(Debug, Args)]
pub struct ValidateOptions {
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
    pub copy: CopyOptions,
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
    #[arg(long, value_name = "N", default_value_t = crate::gpu::diagnostics::REMOTE_RETURN)]
    pub remote_return: usize,
    /// Run nothing: take the measurements from this earlier `bench validate` JSON file (rows
    /// matched by plan file name) and recompute every prediction for them — the workload's
    /// model, the roofline and the executor's issue model. Needs no GPU.
    #[arg(long, value_name = "FILE")]
    pub measured: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct CalibrateOptions {
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
    /// does since a later version): the concurrency efficiencies η, warm and cold, that a
    /// profile made before lacks: all of them, or those of stages of three and more groups
    /// (without them the pairs' η stands for every width; without any, the stage formula as it
    /// is). Refused where the profile measured all the other has, or the two differ in GPU or
    /// operators.
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
pub struct LinksOptions {
    /// Where to write the measurements (JSON).
    #[arg(long, value_name = "FILE")]
    pub out: PathBuf,
    /// Event-timed runs per copy size.
    #[arg(long, default_value_t = 20)]
    pub runs: usize,
    #[command(flatten)]
    pub copy: CopyOptions,
}

#[derive(Debug, Args)]
pub struct ProfileOptions {
    #[command(flatten)]
    pub model: GenOptions,
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
    pub copy: CopyOptions,
}

/// How copies between GPUs run: a kernel on the receiving GPU reading the producer's memory, or
/// its copy engine.
#[derive(Debug, Args)]
pub struct CopyOptions {
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

impl CopyOptions {
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

/// See `ProfileOptions::cache`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum CacheState {
    Auto,
    Warm,
    Cold,
}

//! Options shared by the sweeping commands (seed, time limit, threads, workloads) and of
//! `bench regress`, parsed by clap and handed to the library as they are.

use clap::Args;
use std::path::PathBuf;

#[derive(Debug, Clone, Args)]
pub struct CommonArgs {
    /// Seed of every random choice (recorded in the results).
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Wall-clock limit in seconds per cell (workload, algorithm) for the methods that take one:
    /// above 0, or inf for none (default: none, except the placement IPs: 1200 s for throughput,
    /// 3600 s for latency, as the paper).
    #[arg(long, value_name = "SECONDS", value_parser = crate::run::parse::seconds)]
    pub time_limit: Option<f64>,
    /// Worker threads, at least 1 (default: all cores).
    #[arg(long, value_parser = crate::run::parse::at_least_one)]
    pub threads: Option<usize>,
    /// No progress bar.
    #[arg(long, short)]
    pub quiet: bool,
    /// Run only part I (from 0) of N of the sweep's cells: N such runs, one per machine or
    /// array task, run every cell once between them.
    #[arg(long, value_name = "I/N", value_parser = crate::run::shard::parse)]
    pub shard: Option<crate::run::shard::Shard>,
    /// With --shard: an earlier run's results (results.json or its folder) whose cells'
    /// times balance the parts, longest first; cells it lacks are spread by hash.
    #[arg(long, value_name = "RESULTS", requires = "shard", value_parser = crate::run::shard::parse_costs)]
    pub shard_costs: Option<crate::run::shard::Costs>,
}

/// What a sweep prints and how it resumes.
#[derive(Debug, Args)]
pub struct OutputArgs {
    /// Print the records as JSON on stdout.
    #[arg(long)]
    pub json: bool,
    /// Keep the cells a stopped run into the same --out finished and run the rest.
    #[arg(long)]
    pub resume: bool,
    #[command(flatten)]
    pub common: CommonArgs,
}

#[derive(Debug, Args)]
pub struct WorkloadArgs {
    /// Workload files; when given, only these are run.
    #[arg(value_name = "FILE")]
    pub files: Vec<PathBuf>,
    /// Folder searched recursively for *.json workloads (repeatable). A checkout of
    /// msr-fiddle/dnn-partitioning may be given as is: its throughput-inputs/ is used for
    /// throughput, its latency-inputs/ for latency.
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
    /// Only this algorithm (repeatable): compare its rows, or with --update rerun it and
    /// replace its rows in the existing baseline, keeping every other row.
    #[arg(long, value_name = "NAME")]
    pub algo: Vec<String>,
    /// Relative objective change that counts (at least 0).
    #[arg(long, default_value_t = 1e-6, value_parser = crate::run::parse::non_negative)]
    pub tolerance: f64,
    #[command(flatten)]
    pub common: CommonArgs,
}

impl CommonArgs {
    /// The time limit the algorithms get: none for `inf`.
    pub fn limit(&self) -> Option<f64> {
        self.time_limit.filter(|t| t.is_finite())
    }
}

//! What every sweeping command does around the runner: the thread pool, the workloads and
//! algorithms a command line names (all loaded before anything runs), the run's metadata, and
//! writing placements and results together.

use super::options::{CommonArgs, WorkloadArgs};
use super::{progress_bar, run_all, CellResult};
use crate::algorithms::{self, Algorithm, Objective, RunOptions};
use crate::error::{Error, Result};
use crate::results::{write_results, Record, RunMetadata, SCHEMA_VERSION};
use crate::workload::{discover_json_files, embedded_workloads, load_workload, EmbeddedSet, Workload};
use std::collections::HashSet;
use std::path::{Path, PathBuf};

/// Sets up the process for a command: its thread pool and the shard it runs.
pub fn set_threads(common: &CommonArgs) -> usize {
    super::shard::set(common.shard, common.shard_costs.clone().unwrap_or_default());
    let threads = common.threads.unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
    // Fails only if the pool was already built (tests calling twice): keep that pool.
    let _ = rayon::ThreadPoolBuilder::new().num_threads(threads).build_global();
    threads
}

/// `human-experts/` folders next to a path or up to three folders above it.
pub fn experts_near(path: &Path) -> Vec<PathBuf> {
    path.ancestors().take(4).map(|a| a.join("human-experts")).filter(|p| p.is_dir()).collect()
}

/// Loads every workload the arguments name (all before any run, so that bad input stops
/// everything before a file is written) and the folders to search for expert splits.
/// The workloads a baseline covers: the embedded ones and every file under `inputs`.
pub fn baseline_workloads(inputs: &[PathBuf], kind: Objective) -> Result<(Vec<Workload>, Vec<PathBuf>)> {
    let wargs = WorkloadArgs { files: vec![], inputs: inputs.to_vec(), no_embedded: false, experts: vec![] };
    resolve_workloads(&wargs, kind)
}

pub fn resolve_workloads(args: &WorkloadArgs, kind: Objective) -> Result<(Vec<Workload>, Vec<PathBuf>)> {
    let (set, subdir) = match kind {
        Objective::Throughput => (EmbeddedSet::Throughput, "throughput-inputs"),
        Objective::Latency => (EmbeddedSet::Latency, "latency-inputs"),
    };
    let mut workloads = Vec::new();
    let mut experts: Vec<PathBuf> = args.experts.clone();
    if !args.files.is_empty() {
        for f in &args.files {
            let stem = crate::workload::file_stem(f);
            let parent = f.parent().and_then(Path::file_name).map(|p| p.to_string_lossy().to_string());
            let name = parent.map_or(stem.clone(), |p| format!("{p}/{stem}"));
            workloads.push(load_workload(f, &name)?);
            experts.extend(experts_near(f));
        }
    } else {
        if !args.no_embedded {
            workloads.extend(embedded_workloads(set)?);
        }
        for dir in &args.inputs {
            let root = if dir.join(subdir).is_dir() { dir.join(subdir) } else { dir.clone() };
            for (path, name) in discover_json_files(&root)? {
                workloads.push(load_workload(&path, &name)?);
            }
            experts.extend(experts_near(&root));
        }
    }
    experts.extend(experts_near(Path::new(".")));
    let mut seen = HashSet::new();
    experts.retain(|p| seen.insert(p.canonicalize().unwrap_or_else(|_| p.clone())));
    let mut names = HashSet::new();
    for w in &workloads {
        if !names.insert(w.name.clone()) {
            return Err(Error::Usage(format!("two workloads are both named {}: give them different paths", w.name)));
        }
    }
    if workloads.is_empty() {
        return Err(Error::Usage("no workloads: give FILEs, --inputs DIR, or drop --no-embedded".into()));
    }
    if kind == Objective::Latency {
        if let Some(w) = workloads.iter().find(|w| w.is_training()) {
            return Err(Error::Usage(format!(
                "{}: latency is defined for inference graphs, and this workload has backward nodes (isBackwardNode)",
                w.name
            )));
        }
    }
    Ok((workloads, experts))
}

pub fn resolve_algorithms(names: &[String], kind: Objective) -> Result<Vec<&'static dyn Algorithm>> {
    if names.is_empty() {
        return Ok(algorithms::for_objective(kind));
    }
    if let Some((_, n)) = names.iter().enumerate().find(|(i, n)| names[..*i].contains(n)) {
        return Err(Error::Usage(format!("--algo {n} given twice: each algorithm runs once")));
    }
    names
        .iter()
        .map(|n| {
            algorithms::find(n).ok_or_else(|| {
                let known: Vec<&str> = algorithms::registry().iter().map(|a| a.name()).collect();
                Error::Usage(format!("unknown algorithm {n:?}; known: {}", known.join(", ")))
            })
        })
        .collect()
}

pub fn metadata(common: &CommonArgs, threads: usize) -> RunMetadata {
    let git_commit = std::process::Command::new("git")
        .args(["rev-parse", "HEAD"])
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned());
    RunMetadata {
        schema_version: SCHEMA_VERSION,
        placebench_version: env!("CARGO_PKG_VERSION").into(),
        git_commit,
        date_utc: humantime::format_rfc3339_seconds(std::time::SystemTime::now()).to_string(),
        host_cores: std::thread::available_parallelism().map_or(1, |n| n.get()),
        threads,
        seed: common.seed,
        time_limit_seconds: common.limit(),
        command: std::env::args().collect::<Vec<_>>().join(" "),
        solver: format!("HiGHS {}", crate::solver::highs_version()),
        refreshed: Vec::new(),
        shard: common.shard.map(|s| s.to_string()),
    }
}

/// File name of a cell's placement: the workload name with `/` as `__`, then the algorithm.
pub fn placement_file_name(r: &Record) -> String {
    format!("{}__{}.json", r.workload.replace('/', "__"), r.algorithm)
}

/// Writes every placement aside, then the results files that name them, then puts the
/// placements in place of an earlier run's.
pub fn write_run(dir: &Path, results: &mut [CellResult], meta: &RunMetadata) -> Result<()> {
    let mut names = crate::results::out::UniqueNames::default();
    let mut files = Vec::new();
    for c in results.iter_mut() {
        if let Some(json) = &c.artifact {
            let full = format!("{}/{}", c.record.workload, c.record.algorithm);
            let name = names.take(placement_file_name(&c.record), &full);
            let mut json = json.clone();
            if let Some(obj) = json.as_object_mut() {
                obj.insert("workload".into(), c.record.workload.clone().into());
                obj.insert("algorithm".into(), c.record.algorithm.clone().into());
            }
            let text = serde_json::to_vec_pretty(&json).map_err(|e| Error::Usage(format!("JSON: {e}")))?;
            files.push((name.clone(), text));
            c.record.placement_file = Some(name);
        }
    }
    let staged = crate::results::out::stage(dir, "placements", &files)?;
    let records: Vec<Record> = results.iter().map(|c| c.record.clone()).collect();
    write_results(dir, meta, &records)?;
    staged.commit()
}

/// Runs the algorithms `pick` accepts for `kind` on the embedded and `inputs` workloads, with
/// `default_limit` seconds per cell unless `--time-limit` says otherwise, and writes the
/// results (without placements) into `dir`; returns the number of rows.
pub fn run_and_write(
    kind: Objective,
    inputs: &[PathBuf],
    pick: impl Fn(&dyn Algorithm) -> bool,
    common: &CommonArgs,
    default_limit: f64,
    threads: usize,
    dir: &Path,
) -> Result<usize> {
    let (workloads, expert_dirs) = baseline_workloads(inputs, kind)?;
    let common = CommonArgs { time_limit: Some(common.time_limit.unwrap_or(default_limit)), ..common.clone() };
    let opts =
        RunOptions { seed: common.seed, time_limit: common.time_limit, threads, expert_dirs, ..RunOptions::default() };
    let algos: Vec<_> = algorithms::for_objective(kind).into_iter().filter(|x| pick(*x)).collect();
    let bar = progress_bar(workloads.len() * algos.len(), common.quiet);
    let results = run_all(&workloads, &algos, kind, &opts, bar.as_ref());
    if let Some(b) = bar {
        b.finish_and_clear();
    }
    let records: Vec<Record> = results.into_iter().map(|c| c.record).collect();
    write_results(dir, &metadata(&common, threads), &records)?;
    Ok(records.len())
}

/// The value of `key` in an options string `k=v;k=v`.
pub fn option_value(options: &str, key: &str) -> Option<String> {
    options.split(';').find_map(|kv| kv.strip_prefix(&format!("{key}="))).map(str::to_owned)
}

/// Default time limit of a baseline run: the DP and the baselines finish well within it on
/// every embedded and paper workload except the DP on the latency Inception-v3 (12
/// accelerators, 8 CPUs), which is recorded as a time-out and not rerun.
pub const BASELINE_TIME_LIMIT: f64 = 120.0;

/// Default time limit per cell for `bench figures`: long enough for every exact method on
/// the small workloads, short enough that the whole set regenerates in well under an hour.
pub const FIGURES_TIME_LIMIT: f64 = 60.0;

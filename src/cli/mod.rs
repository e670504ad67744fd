//! The `bench` subcommands: resolve arguments into workloads and algorithms, run, write, print.

pub mod args;
mod calibrate;
mod hios;
mod profile;
mod validate;

pub use hios::zoo_cnns;

use crate::algorithms::{self, dp::Dp, Algorithm, Objective, RunOptions};
use crate::error::{Error, Result};
use crate::evaluate::evaluate;
use crate::placement::Split;
use crate::results::{
    compare, load_results, write_atomic, write_results, Comparison, Record, RunMetadata, Verdict, SCHEMA_VERSION,
};
use crate::run::{run_all, run_cell, run_cells, CellResult};
use crate::workload::{discover_json_files, embedded_workloads, load_workload, EmbeddedSet, Workload};
use args::{
    Cli, Command, CommonArgs, CompareArgs, EvaluateArgs, FiguresArgs, GenArgs, PerfArgs, PlaceArgs, PlotArgs,
    RegressArgs, WorkloadArgs,
};
use indicatif::{ProgressBar, ProgressStyle};
use std::collections::HashSet;
use std::path::{Path, PathBuf};

/// Runs a parsed command line; returns the process exit code.
pub fn run(cli: Cli) -> Result<i32> {
    match cli.command {
        Command::Throughput(a) => place(Objective::Throughput, a, 1),
        Command::Latency(a) => match &a.eval {
            Some(split) => {
                let [file] = a.place.workloads.files.as_slice() else {
                    return Err(Error::Usage("--eval scores one split on one FILE: give exactly one FILE".into()));
                };
                evaluate_split(EvaluateArgs { workload: file.clone(), split: split.clone() })
            }
            None => place(Objective::Latency, a.place, a.subgraphs_per_device),
        },
        Command::List => {
            println!("{:<14} {:<11} {:<13} summary", "name", "family", "objective");
            for e in crate::registry::all() {
                let d = e.describe();
                println!("{:<14} {:<11} {:<13} {}", d.name, d.family.as_str(), d.objective, d.summary);
            }
            Ok(0)
        }
        Command::Evaluate(a) => evaluate_split(a),
        Command::Perf(a) => perf(a),
        Command::Compare(a) => compare_cmd(a),
        Command::Hios(a) => hios::hios(a),
        Command::Validate(a) => validate::validate(a),
        Command::Profile(a) => profile::profile(a),
        Command::Calibrate(a) => calibrate::calibrate(a),
        Command::Links(a) => profile::links(a),
        Command::Gen(a) => gen(a),
        Command::Regress(a) => regress(a),
        Command::Plot(a) => plot_cmd(a),
        Command::Figures(a) => figures(a),
    }
}

pub(crate) fn set_threads(common: &CommonArgs) -> usize {
    let threads = common.threads.unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
    // Fails only if the pool was already built (tests calling twice): keep that pool.
    let _ = rayon::ThreadPoolBuilder::new().num_threads(threads).build_global();
    threads
}

/// `human-experts/` folders next to a path or up to three folders above it.
fn experts_near(path: &Path) -> Vec<PathBuf> {
    path.ancestors().take(4).map(|a| a.join("human-experts")).filter(|p| p.is_dir()).collect()
}

/// Loads every workload the arguments name (all before any run, so that bad input stops
/// everything before a file is written) and the folders to search for expert splits.
fn resolve_workloads(args: &WorkloadArgs, kind: Objective) -> Result<(Vec<Workload>, Vec<PathBuf>)> {
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

fn resolve_algorithms(names: &[String], kind: Objective) -> Result<Vec<&'static dyn Algorithm>> {
    if names.is_empty() {
        return Ok(algorithms::for_objective(kind));
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

pub(crate) fn progress_bar(len: usize, quiet: bool) -> Option<ProgressBar> {
    if quiet {
        return None;
    }
    let bar = ProgressBar::new(len as u64);
    let style = ProgressStyle::with_template("{elapsed_precise} [{bar:30}] {pos}/{len} {msg}")
        .map(|s| s.progress_chars("=> "))
        .unwrap_or_else(|_| ProgressStyle::default_bar());
    bar.set_style(style);
    Some(bar)
}

pub(crate) fn metadata(common: &CommonArgs, threads: usize) -> RunMetadata {
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
        time_limit_seconds: common.time_limit,
        command: std::env::args().collect::<Vec<_>>().join(" "),
        solver: format!("HiGHS {}", crate::solver::highs_version()),
    }
}

/// File name of a cell's placement: the workload name with `/` as `__`, then the algorithm.
fn placement_file_name(r: &Record) -> String {
    format!("{}__{}.json", r.workload.replace('/', "__"), r.algorithm)
}

fn place(kind: Objective, a: PlaceArgs, subgraphs_per_device: usize) -> Result<i32> {
    let threads = set_threads(&a.common);
    let (workloads, expert_dirs) = resolve_workloads(&a.workloads, kind)?;
    let algos = resolve_algorithms(if a.all { &[] } else { &a.algos }, kind)?;
    let opts = RunOptions {
        seed: a.common.seed,
        time_limit: a.common.time_limit,
        threads,
        restarts: a.restarts,
        expert_dirs,
        ip: a.ip.options(subgraphs_per_device),
    };
    let bar = progress_bar(workloads.len() * algos.len(), a.common.quiet);
    let mut results = run_all(&workloads, &algos, kind, &opts, bar.as_ref());
    if let Some(b) = bar {
        b.finish_and_clear();
    }
    let out = match (&a.out, a.workloads.files.is_empty()) {
        (Some(o), _) => Some(o.clone()),
        (None, true) => Some(PathBuf::from("results").join(kind.as_str())),
        (None, false) => None,
    };
    if let Some(dir) = &out {
        write_run(dir, &mut results, &metadata(&a.common, threads))?;
    }
    let records: Vec<&Record> = results.iter().map(|c| &c.record).collect();
    if a.json {
        let v = if records.len() == 1 { serde_json::to_value(records[0]) } else { serde_json::to_value(&records) };
        println!("{}", serde_json::to_string_pretty(&v.unwrap_or_default()).unwrap_or_default());
    } else {
        print_table(&records);
    }
    if let Some(dir) = &out {
        eprintln!("wrote {}", dir.join("results.csv").display());
    }
    let failures = records.iter().filter(|r| r.status.is_failure()).count();
    if failures > 0 {
        eprintln!("{failures} run(s) failed (status mismatch or error): see the message column");
        return Ok(1);
    }
    Ok(0)
}

/// Writes every placement, then the results files that name them.
fn write_run(dir: &Path, results: &mut [CellResult], meta: &RunMetadata) -> Result<()> {
    for c in results.iter_mut() {
        if let Some(json) = &c.artifact {
            let name = placement_file_name(&c.record);
            let mut json = json.clone();
            if let Some(obj) = json.as_object_mut() {
                obj.insert("workload".into(), c.record.workload.clone().into());
                obj.insert("algorithm".into(), c.record.algorithm.clone().into());
            }
            let text = serde_json::to_vec_pretty(&json).map_err(|e| Error::Usage(format!("JSON: {e}")))?;
            write_atomic(&dir.join("placements").join(&name), &text)?;
            c.record.placement_file = Some(name);
        }
    }
    let records: Vec<Record> = results.iter().map(|c| c.record.clone()).collect();
    write_results(dir, meta, &records)
}

fn fmt_opt(x: Option<f64>) -> String {
    x.map_or("-".into(), |v| format!("{v:.4}"))
}

pub(crate) fn print_table(records: &[&Record]) {
    println!(
        "{:<40} {:<13} {:<10} {:>12} {:>12} {:>8} {:>5} {:>9}",
        "workload", "algorithm", "status", "objective", "lower_bound", "gap", "contig", "seconds"
    );
    for r in records {
        println!(
            "{:<40} {:<13} {:<10} {:>12} {:>12} {:>8} {:>5} {:>9.3}",
            r.workload,
            r.algorithm,
            r.status.as_str(),
            fmt_opt(r.objective),
            fmt_opt(r.lower_bound),
            r.gap.map_or("-".into(), |g| format!("{:.2}%", 100.0 * g)),
            match r.acyclic {
                Some(true) => "yes",
                Some(false) if r.contiguous == Some(true) => "cvx",
                Some(false) => "no",
                None => "-",
            },
            r.wall_seconds
        );
    }
}

fn evaluate_split(a: EvaluateArgs) -> Result<i32> {
    let stem = crate::workload::file_stem(&a.workload);
    let w = load_workload(&a.workload, &stem)?;
    let split = Split::load(&a.split)?;
    let e = evaluate(&w, &split);
    let v = serde_json::json!({
        "workload": w.name,
        "feasible": e.feasible(),
        "max_load": e.max_load,
        "latency": e.latency.as_ref().map(|l| l.latency).ok(),
        "latency_pieces": e.latency.as_ref().map(|l| l.pieces).ok(),
        "latency_error": e.latency.as_ref().err().map(ToString::to_string),
        "contiguous": e.contiguous,
        "acyclic": e.acyclic,
        "violations": e.violations.iter().map(ToString::to_string).collect::<Vec<_>>(),
        "devices": e.devices,
    });
    println!("{}", serde_json::to_string_pretty(&v).unwrap_or_default());
    Ok(0)
}

fn perf(a: PerfArgs) -> Result<i32> {
    let threads = set_threads(&a.common);
    let (workloads, _) = resolve_workloads(&a.workloads, Objective::Throughput)?;
    let opts = RunOptions { seed: a.common.seed, time_limit: a.common.time_limit, threads, ..Default::default() };
    println!(
        "{:<40} {:>8} {:>9} {:>14} {:>12} {:>10}",
        "workload", "atoms", "ideals", "pairs_visited", "objective", "median_s"
    );
    let mut total = 0.0;
    let mut failed = false;
    for w in &workloads {
        let mut times = Vec::new();
        let mut last = None;
        for _ in 0..a.repeats.max(1) {
            let c = run_cell(w, &Dp, Objective::Throughput, &opts);
            times.push(c.record.wall_seconds);
            last = Some(c.record);
        }
        times.sort_by(f64::total_cmp);
        let median = times[times.len() / 2];
        total += median;
        let r = last.expect("at least one repeat");
        failed |= r.status.is_failure();
        let note =
            |k: &str| r.notes.split(';').find_map(|kv| kv.strip_prefix(&format!("{k}="))).unwrap_or("-").to_owned();
        println!(
            "{:<40} {:>8} {:>9} {:>14} {:>12} {:>10.3}",
            w.name,
            note("atoms"),
            note("ideals"),
            note("pairs_visited"),
            fmt_opt(r.objective),
            median
        );
    }
    println!("{:<40} {:>8} {:>9} {:>14} {:>12} {:>10.3}", "total", "", "", "", "", total);
    Ok(i32::from(failed))
}

fn compare_cmd(a: CompareArgs) -> Result<i32> {
    let (_, old) = load_results(&a.old)?;
    let (_, new) = load_results(&a.new)?;
    let c = compare(&old, &new, a.tolerance);
    print_comparison(&c, a.strict);
    Ok(i32::from(c.regressions(a.strict) > 0))
}

fn print_comparison(c: &Comparison, strict: bool) {
    println!(
        "{:<40} {:<10} {:<13} {:>12} {:>12} {:>9} {:>9} {:>9}  verdict",
        "workload", "objective", "algorithm", "old", "new", "change", "old_s", "new_s"
    );
    for ch in &c.changes {
        let change = match (ch.old, ch.new) {
            (Some(a), Some(b)) if a != 0.0 => format!("{:+.3}%", 100.0 * (b - a) / a),
            _ => "-".into(),
        };
        let secs = |x: Option<f64>| x.map_or("-".into(), |s| format!("{s:.3}"));
        let verdict = match &ch.verdict {
            Verdict::Broke => format!(
                "BROKE ({} -> {})",
                ch.old_status.map_or("-", |s| s.as_str()),
                ch.new_status.map_or("-", |s| s.as_str())
            ),
            v if v.is_regression(strict) => format!("{v:?}").to_uppercase(),
            v => format!("{v:?}").to_lowercase(),
        };
        println!(
            "{:<40} {:<10} {:<13} {:>12} {:>12} {:>9} {:>9} {:>9}  {}",
            ch.workload,
            ch.objective_kind,
            ch.algorithm,
            fmt_opt(ch.old),
            fmt_opt(ch.new),
            change,
            secs(ch.old_seconds),
            secs(ch.new_seconds),
            verdict
        );
    }
    let count = |v: Verdict| c.changes.iter().filter(|x| x.verdict == v).count();
    println!(
        "{} cells: {} same, {} better, {} worse, {} broke, {} missing, {} new; {} regression(s)",
        c.changes.len(),
        count(Verdict::Same),
        count(Verdict::Better),
        count(Verdict::Worse),
        count(Verdict::Broke),
        count(Verdict::Missing),
        count(Verdict::New),
        c.regressions(strict)
    );
}

/// The value of `key` in an options string `k=v;k=v`.
fn option_value(options: &str, key: &str) -> Option<String> {
    options.split(';').find_map(|kv| kv.strip_prefix(&format!("{key}="))).map(str::to_owned)
}

/// Default time limit of a baseline run: the DP and the baselines finish well within it on
/// every embedded and paper workload except the DP on the latency Inception-v3 (12
/// accelerators, 8 CPUs), which is recorded as a time-out and not rerun.
const BASELINE_TIME_LIMIT: f64 = 120.0;

fn regress(a: RegressArgs) -> Result<i32> {
    let threads = set_threads(&a.common);
    let mut regressions = 0;
    for kind in [Objective::Throughput, Objective::Latency] {
        let dir = a.baseline.join(kind.as_str());
        if a.update {
            let pick = |x: &dyn Algorithm| a.include_slow || x.deterministic();
            let n = run_and_write(kind, &a.inputs, pick, &a.common, BASELINE_TIME_LIMIT, threads, &dir)?;
            eprintln!("wrote {} ({n} rows)", dir.join("results.json").display());
            continue;
        }
        if !dir.join("results.json").is_file() {
            eprintln!("no {} baseline at {}: skipped", kind.as_str(), dir.display());
            continue;
        }
        let wargs = WorkloadArgs { files: vec![], inputs: a.inputs.clone(), no_embedded: false, experts: vec![] };
        let (workloads, expert_dirs) = resolve_workloads(&wargs, kind)?;
        let (meta, baseline) = load_results(&dir)?;
        let by_name: std::collections::HashMap<&str, &Workload> =
            workloads.iter().map(|w| (w.name.as_str(), w)).collect();
        let mut old = Vec::new();
        let mut cells = Vec::new();
        let mut skipped = 0;
        for r in &baseline {
            let Some(algo) = algorithms::find(&r.algorithm) else { continue };
            let wanted = (algo.deterministic() || (a.include_slow && r.status == crate::results::Status::Optimal))
                && (a.include_slow || r.wall_seconds <= a.slow)
                && r.status != crate::results::Status::Timeout;
            let Some(w) = by_name.get(r.workload.as_str()) else {
                skipped += 1;
                continue;
            };
            if !wanted {
                skipped += 1;
                continue;
            }
            if w.content_hash != r.workload_hash {
                return Err(Error::Usage(format!(
                    "{}: the workload differs from the one the baseline was made from: regenerate it with `bench regress --update`",
                    r.workload
                )));
            }
            old.push(r.clone());
            cells.push((*w, algo));
        }
        let seed = meta.as_ref().map_or(0, |m| m.seed);
        let restarts = baseline
            .iter()
            .find_map(|r| option_value(&r.options, "restarts"))
            .and_then(|v| v.parse().ok())
            .unwrap_or(10);
        let opts = RunOptions {
            seed,
            time_limit: meta.as_ref().and_then(|m| m.time_limit_seconds),
            threads,
            restarts,
            expert_dirs,
            ..RunOptions::default()
        };
        let bar = progress_bar(cells.len(), a.common.quiet);
        let new: Vec<Record> = run_cells(&cells, kind, &opts, bar.as_ref()).into_iter().map(|c| c.record).collect();
        if let Some(b) = bar {
            b.finish_and_clear();
        }
        let c = compare(&old, &new, a.tolerance);
        println!(
            "== {} ({} cells rerun, {skipped} skipped: slow, time-limited or input not given)",
            kind.as_str(),
            cells.len()
        );
        print_comparison(&c, true);
        regressions += c.regressions(true);
    }
    if regressions > 0 {
        eprintln!("{regressions} regression(s) against the baseline");
        return Ok(1);
    }
    Ok(0)
}

fn plot_cmd(a: PlotArgs) -> Result<i32> {
    let mut records = Vec::new();
    for p in &a.results {
        records.extend(load_results(p)?.1);
    }
    for f in plot_by_objective(&records, &a.out)? {
        println!("{}\n{}", f.png.display(), f.svg.display());
    }
    Ok(0)
}

fn plot_by_objective(records: &[Record], out: &Path) -> Result<Vec<crate::plots::Figure>> {
    let mut figures = Vec::new();
    for kind in ["throughput", "latency", "hios-latency"] {
        let rows: Vec<Record> = records.iter().filter(|r| r.objective_kind == kind).cloned().collect();
        if !rows.is_empty() {
            figures.extend(crate::plots::plot_records(&rows, kind, out)?);
        }
    }
    Ok(figures)
}

/// Default time limit per cell for `bench figures`: long enough for every exact method on
/// the small workloads, short enough that the whole set regenerates in well under an hour.
const FIGURES_TIME_LIMIT: f64 = 60.0;

fn figures(a: FiguresArgs) -> Result<i32> {
    let threads = set_threads(&a.common);
    let mut records = Vec::new();
    for kind in [Objective::Throughput, Objective::Latency] {
        let dir = a.results.join(kind.as_str());
        if a.rerun || !dir.join("results.json").is_file() {
            run_and_write(kind, &a.inputs, |_| true, &a.common, FIGURES_TIME_LIMIT, threads, &dir)?;
            eprintln!("wrote {}", dir.join("results.json").display());
        }
        records.extend(load_results(&dir)?.1);
    }
    let hios_dir = a.results.join("hios");
    if a.rerun || !hios_dir.join("results.json").is_file() {
        let args = args::HiosArgs {
            files: vec![],
            inputs: vec![],
            all: true,
            algos: vec![],
            gpus: vec![],
            contention: "shared".into(),
            beta: vec![0.1],
            window: 2,
            streams: 2,
            max_group: 3,
            faithful: false,
            out: Some(hios_dir.clone()),
            json: false,
            common: a.common.clone(),
        };
        let rows = hios::hios_records(&args)?;
        write_results(&hios_dir, &metadata(&a.common, threads), &rows.0)?;
        for (name, json) in rows.1 {
            write_atomic(&hios_dir.join("schedules").join(name), json.as_bytes())?;
        }
    }
    let hios_records = load_results(&hios_dir)?.1;
    records.extend(hios_records.iter().cloned());
    let mut figures = plot_by_objective(&records, &a.out)?;
    for model in ["zoo/inceptionv3_512", "zoo/nasnet_512", "zoo/randwire_512"] {
        let stem = a.out.join(format!("hios_scaling_{}", model.trim_start_matches("zoo/")));
        figures.push(crate::plots::scaling::plot(&hios_records, model, &stem)?);
    }
    let gantt_file = hios_dir.join("schedules").join("zoo__inceptionv3_512@k4__hios-lp-intra.json");
    if let Ok(text) = std::fs::read_to_string(&gantt_file) {
        let v: serde_json::Value =
            serde_json::from_str(&text).map_err(|e| Error::input(&gantt_file, "json", e.to_string()))?;
        let lanes: Vec<crate::plots::gantt::Lane> = v["timeline"]
            .as_array()
            .map(|a| {
                a.iter()
                    .map(|s| {
                        let ops = s["ops"].as_array().map_or(0, Vec::len);
                        (
                            s["gpu"].as_u64().unwrap_or(0) as usize,
                            s["start"].as_f64().unwrap_or(0.0),
                            s["end"].as_f64().unwrap_or(0.0),
                            ops,
                        )
                    })
                    .collect()
            })
            .unwrap_or_default();
        let title = "Inception-v3 512², 4 GPUs, HIOS-LP + intra-GPU streams";
        figures.push(crate::plots::gantt::plot(title, &lanes, 4, &a.out.join("hios_gantt"))?);
    }
    let gpu_rows = validate_rows(&a.gpu_results)?;
    if !gpu_rows.is_empty() {
        let points = crate::plots::fidelity::points(&gpu_rows);
        figures.push(crate::plots::fidelity::plot(&points, &a.out.join("gpu_predicted_vs_measured"))?);
        // The numbers behind the figure, per machine, launch mode and kind of plan.
        let mut csv = csv::Writer::from_writer(Vec::new());
        for s in crate::plots::fidelity::summary(&gpu_rows) {
            csv.serialize(s).map_err(|e| Error::Usage(format!("fidelity summary: {e}")))?;
        }
        let bytes = csv.into_inner().map_err(|e| Error::Usage(format!("fidelity summary: {e}")))?;
        write_atomic(&a.out.join("gpu_fidelity.csv"), &bytes)?;
    }
    let mut md = String::from(
        "# Figures\n\nRegenerated by `bench figures` (results under `results/figures/`; `--rerun` runs them again). \
         Each figure is also in SVG next to the PNG.\n",
    );
    for f in &figures {
        let name = |p: &Path| p.file_name().map(|n| n.to_string_lossy().to_string()).unwrap_or_default();
        md += &format!("\n## {}\n\n![{}]({})\n\n{}\n", f.title, f.title, name(&f.png), f.caption);
    }
    write_atomic(&a.out.join("README.md"), md.as_bytes())?;
    println!("wrote {} figures and {}", figures.len(), a.out.join("README.md").display());
    Ok(0)
}

/// Every row of the `bench validate` JSON files (`validate_*.json`) of the runs under `dir`:
/// inside each archived run (`RUN.tar.xz`), and in each run folder that has no archive (a run
/// not yet archived), ordered by their path within `dir`.
fn validate_rows(dir: &Path) -> Result<Vec<serde_json::Value>> {
    let is_rows = |path: &str| {
        let name = path.rsplit('/').next().unwrap_or(path);
        name.starts_with("validate_") && name.ends_with(".json")
    };
    let mut files: Vec<(String, Vec<u8>, PathBuf)> = Vec::new();
    for archive in crate::results::archive::archives(dir)? {
        for (path, bytes) in crate::results::archive::read_entries(&archive, is_rows)? {
            files.push((path, bytes, archive.clone()));
        }
    }
    let mut stack: Vec<PathBuf> = std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.is_dir() && !PathBuf::from(format!("{}.tar.xz", p.display())).is_file())
        .collect();
    while let Some(d) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else { continue };
        for e in entries.flatten() {
            let p = e.path();
            let rel = p.strip_prefix(dir).unwrap_or(&p).to_string_lossy().replace('\\', "/");
            if p.is_dir() {
                stack.push(p);
            } else if is_rows(&rel) {
                let bytes = std::fs::read(&p).map_err(|e| Error::io(&p, e))?;
                files.push((rel, bytes, p));
            }
        }
    }
    files.sort_by(|a, b| a.0.cmp(&b.0));
    let mut rows = Vec::new();
    for (_, bytes, from) in files {
        let v: serde_json::Value =
            serde_json::from_slice(&bytes).map_err(|e| Error::input(&from, "json", e.to_string()))?;
        rows.extend(v.as_array().cloned().unwrap_or_default());
    }
    Ok(rows)
}

fn gen(a: GenArgs) -> Result<i32> {
    use crate::zoo::{generate, presets, to_text};
    if a.embedded {
        for p in presets() {
            write_atomic(Path::new(p.path), to_text(&generate(&p.spec)?).as_bytes())?;
            eprintln!("wrote {}", p.path);
        }
        return Ok(0);
    }
    let text = to_text(&generate(&gen_spec(&a)?)?);
    match &a.out {
        Some(p) => write_atomic(p, text.as_bytes())?,
        None => print!("{text}"),
    }
    Ok(0)
}

/// The zoo spec `bench gen`'s arguments describe.
pub(crate) fn gen_spec(a: &GenArgs) -> Result<crate::zoo::GenSpec> {
    use crate::zoo::{export::ExportOptions, randwire::RandWire, GenSpec};
    let model = a.model.ok_or_else(|| Error::Usage("give a MODEL or --embedded".into()))?;
    Ok(GenSpec {
        model,
        batch: a.batch,
        image: a.image,
        seq: a.seq,
        layers: a.layers,
        randwire: RandWire { nodes: a.ws_nodes, k: a.ws_k, p: a.ws_p, channels: a.channels, seed: a.seed },
        export: ExportOptions {
            granularity: a.granularity,
            training: a.training,
            accs: a.accs,
            cpus: a.cpus,
            memory: a.memory,
            memory_fraction: a.memory_fraction,
            cost: crate::zoo::cost::CostModel::resolve(&a.device, &a.link)?,
        },
        device: a.device.clone(),
        link: a.link.clone(),
    })
}

/// Runs the algorithms `pick` accepts for `kind` on the embedded and `inputs` workloads, with
/// `default_limit` seconds per cell unless `--time-limit` says otherwise, and writes the
/// results (without placements) into `dir`; returns the number of rows.
fn run_and_write(
    kind: Objective,
    inputs: &[PathBuf],
    pick: impl Fn(&dyn Algorithm) -> bool,
    common: &CommonArgs,
    default_limit: f64,
    threads: usize,
    dir: &Path,
) -> Result<usize> {
    let wargs = WorkloadArgs { files: vec![], inputs: inputs.to_vec(), no_embedded: false, experts: vec![] };
    let (workloads, expert_dirs) = resolve_workloads(&wargs, kind)?;
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

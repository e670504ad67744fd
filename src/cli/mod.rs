//! The `bench` subcommands: resolve arguments into workloads and algorithms, run, write, print.

pub mod args;
mod dart;
mod hios;
mod nwv;
mod salus;
mod sweep;

use crate::algorithms::{dp::Dp, Objective, RunOptions};
use crate::error::{Error, Result};
use crate::evaluate::evaluate;
use crate::placement::Split;
use crate::plots::figures::{figures, plot_by_objective};
use crate::results::table::{fmt_opt, print_comparison, print_table};
use crate::results::{compare, load_results, write_atomic, Record};
use crate::run::regress::regress;
use crate::run::session::{metadata, resolve_algorithms, resolve_workloads, set_threads, write_run};
use crate::run::{progress_bar, run_cell, run_journaled};
use crate::workload::load_workload;
use args::{Cli, Command, CompareArgs, EvaluateArgs, MergeArgs, PerfArgs, PlaceArgs, PlotArgs, ThroughputIpArgs};
use std::path::{Path, PathBuf};

/// Runs a parsed command line; returns the process exit code.
pub fn run(cli: Cli) -> Result<i32> {
    crate::run::isolate::enable();
    match cli.command {
        Command::Throughput(a) => place(Objective::Throughput, a.place, a.restarts, &a.ip, 1),
        Command::Latency(a) => match &a.eval {
            Some(split) => {
                let [file] = a.place.workloads.files.as_slice() else {
                    return Err(Error::Usage("--eval scores one split on one FILE: give exactly one FILE".into()));
                };
                evaluate_split(EvaluateArgs { workload: file.clone(), split: split.clone() })
            }
            // A throughput algorithm asked for by name here (its split scored by latency) runs
            // with its default options.
            None => {
                let restarts = RunOptions::default().restarts;
                place(
                    Objective::Latency,
                    a.place,
                    restarts,
                    &ThroughputIpArgs { no_warm_start: a.no_warm_start, ..Default::default() },
                    a.subgraphs_per_device,
                )
            }
        },
        Command::List => {
            println!("{:<17} {:<11} {:<13} summary", "name", "family", "objective");
            for e in crate::registry::all() {
                let d = e.describe();
                println!("{:<17} {:<11} {:<13} {}", d.name, d.family.as_str(), d.objective, d.summary);
            }
            Ok(0)
        }
        Command::Evaluate(a) => evaluate_split(a),
        Command::Perf(a) => perf(a),
        Command::Compare(a) => compare_cmd(a),
        Command::Merge(a) => merge_cmd(a),
        Command::Hios(a) => hios::hios(a),
        Command::Salus(a) => salus::salus(*a),
        Command::Dart(a) => dart::dart(*a),
        Command::Nwv(a) => nwv::nwv(*a),
        Command::Validate(a) => crate::pipeline::validate::validate(a),
        Command::Profile(a) => crate::pipeline::profile::profile(a),
        Command::Calibrate(a) => crate::pipeline::calibrate::calibrate(a),
        Command::Links(a) => crate::pipeline::profile::links(a),
        Command::Gen(a) => gen(a),
        Command::Regress(a) => regress(a),
        Command::Fuzz(a) => crate::fuzz::fuzz(a),
        Command::Cell => crate::run::isolate::serve(),
        Command::Plot(a) => plot_cmd(a),
        Command::Figures(a) => figures(a),
    }
}

fn place(
    kind: Objective,
    a: PlaceArgs,
    restarts: usize,
    throughput_ip: &ThroughputIpArgs,
    subgraphs_per_device: usize,
) -> Result<i32> {
    let threads = set_threads(&a.common);
    let (workloads, expert_dirs) = resolve_workloads(&a.workloads, kind)?;
    let algos = resolve_algorithms(if a.all { &[] } else { &a.algos }, kind)?;
    let opts = RunOptions {
        seed: a.common.seed,
        time_limit: a.common.time_limit,
        threads,
        restarts,
        expert_dirs,
        ip: a.solver.options(throughput_ip, subgraphs_per_device),
        ..RunOptions::default()
    };
    let out = match (&a.out, a.workloads.files.is_empty()) {
        (Some(o), _) => Some(o.clone()),
        (None, true) => Some(PathBuf::from("results").join(kind.as_str())),
        (None, false) => None,
    };
    // Checked and claimed before the run, not found wanting after it.
    let _claim = out.as_deref().map(crate::results::out::OutDir::claim).transpose()?;
    let journal = crate::run::journal::start(out.as_deref(), a.resume)?;
    let bar = progress_bar(workloads.len() * algos.len(), a.common.quiet);
    let mut results = run_journaled(&workloads, &algos, kind, &opts, bar.as_ref(), journal.as_ref());
    if let Some(b) = bar {
        b.finish_and_clear();
    }
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
    crate::results::table::print_summary(&records);
    if let Some(dir) = &out {
        eprintln!("wrote {}", dir.join("results.csv").display());
    }
    if crate::run::journal::end(journal, &records) {
        return Ok(130);
    }
    let failures = records.iter().filter(|r| r.status.is_failure()).count();
    if failures > 0 {
        eprintln!("{failures} run(s) failed (status mismatch or error): see the message column");
        return Ok(1);
    }
    Ok(0)
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
    // Two sets that share no cell compare nothing: most likely the wrong folders.
    let shared = c.changes.iter().any(|x| x.old_status.is_some() && x.new_status.is_some());
    let both_empty = old.is_empty() && new.is_empty();
    if !(shared || both_empty) {
        return Err(Error::Usage(format!(
            "{} and {} share no (workload, objective, algorithm) cell: nothing to compare",
            a.old.display(),
            a.new.display()
        )));
    }
    print_comparison(&c, a.strict);
    Ok(i32::from(c.regressions(a.strict) > 0))
}

fn merge_cmd(a: MergeArgs) -> Result<i32> {
    let m = crate::results::merge::merge(&a.dirs)?;
    let _claim = crate::results::out::OutDir::claim(&a.out)?;
    crate::results::merge::write(&a.out, &a.dirs, &m)?;
    eprintln!(
        "wrote {} ({} rows from {} of {} shards)",
        a.out.join("results.csv").display(),
        m.records.len(),
        m.count - m.missing.len(),
        m.count
    );
    if !m.missing.is_empty() {
        let list: Vec<String> = m.missing.iter().map(|i| format!("{i}/{}", m.count)).collect();
        eprintln!("missing shards: {} (their cells are not in the merge)", list.join(", "));
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

fn gen(a: crate::zoo::GenOptions) -> Result<i32> {
    use crate::zoo::{generate, presets, to_text};
    if a.embedded {
        for p in presets() {
            write_atomic(Path::new(p.path), to_text(&generate(&p.spec)?).as_bytes())?;
            eprintln!("wrote {}", p.path);
        }
        return Ok(0);
    }
    let text = to_text(&generate(&a.spec()?)?);
    match &a.out {
        Some(p) => write_atomic(p, text.as_bytes())?,
        None => print!("{text}"),
    }
    Ok(0)
}

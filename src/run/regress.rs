//! `bench regress`: reruns the deterministic algorithms on the committed baseline's cells and
//! compares objectives; `--update` regenerates the baseline.

use super::options::RegressArgs;
use super::run_all;
use super::session::{
    baseline_workloads, metadata, option_value, resolve_algorithms, run_and_write, set_threads, BASELINE_TIME_LIMIT,
};
use super::{progress_bar, run_cells};
use crate::algorithms::{self, Algorithm, Objective, RunOptions};
use crate::error::{Error, Result};
use crate::results::table::print_comparison;

use crate::results::{compare, load_results, write_results, Record, Refresh};
use crate::workload::Workload;

/// How much longer than the baseline's time limit a rerun cell may take.
pub const RERUN_TIME_FACTOR: f64 = 4.0;

pub fn regress(a: RegressArgs) -> Result<i32> {
    let threads = set_threads(&a.common);
    let mut regressions = 0;
    let kinds = [Objective::Throughput, Objective::Latency];
    if !a.update && !kinds.iter().any(|k| a.baseline.join(k.as_str()).join("results.json").is_file()) {
        return Err(Error::Usage(format!(
            "{}: no baseline (throughput/ or latency/ with results.json) to compare with; make one with --update",
            a.baseline.display()
        )));
    }
    let only = if a.algo.is_empty() { Vec::new() } else { resolve_algorithms(&a.algo, Objective::Throughput)? };
    let chosen = |name: &str| only.is_empty() || only.iter().any(|x| x.name() == name);
    for kind in kinds {
        let dir = a.baseline.join(kind.as_str());
        if a.update && !only.is_empty() {
            refresh(kind, &a, &only, threads, &dir)?;
            continue;
        }
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
        let (workloads, expert_dirs) = baseline_workloads(&a.inputs, kind)?;
        let (meta, baseline) = load_results(&dir)?;
        let by_name: std::collections::HashMap<&str, &Workload> =
            workloads.iter().map(|w| (w.name.as_str(), w)).collect();
        let mut old = Vec::new();
        let mut cells = Vec::new();
        let mut skipped = 0;
        for r in &baseline {
            let Some(algo) = algorithms::find(&r.algorithm).filter(|x| chosen(x.name())) else { continue };
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
            // The guard checks objectives, not speed (benchmarks do): a cell the baseline
            // finished within its limit gets RERUN_TIME_FACTOR times that limit, so that a slower
            // or busier machine cannot turn it into a time-out.
            time_limit: meta.as_ref().and_then(|m| m.time_limit_seconds).map(|t| t * RERUN_TIME_FACTOR),
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

/// Reruns `only` on the workloads of an existing baseline with its seed and time limit, and
/// replaces those algorithms' rows in place (rows of new workloads go last); every other row
/// and the first run's metadata stay, and the pass is recorded under `refreshed`.
fn refresh(
    kind: Objective,
    a: &RegressArgs,
    only: &[&'static dyn Algorithm],
    threads: usize,
    dir: &std::path::Path,
) -> Result<()> {
    if !dir.join("results.json").is_file() {
        eprintln!("no {} baseline at {}: nothing to refresh", kind.as_str(), dir.display());
        return Ok(());
    }
    let algos: Vec<_> =
        algorithms::for_objective(kind).into_iter().filter(|x| only.iter().any(|o| o.name() == x.name())).collect();
    if algos.is_empty() {
        return Ok(());
    }
    let (meta, mut records) = load_results(dir)?;
    let Some(mut meta) = meta else {
        return Err(Error::Usage(format!(
            "{}: a baseline without metadata cannot be refreshed (its seed and time limit are unknown); regenerate it with --update alone",
            dir.join("results.json").display()
        )));
    };
    let (workloads, expert_dirs) = baseline_workloads(&a.inputs, kind)?;
    let opts = RunOptions {
        seed: meta.seed,
        time_limit: meta.time_limit_seconds,
        threads,
        expert_dirs,
        ..RunOptions::default()
    };
    let bar = progress_bar(workloads.len() * algos.len(), a.common.quiet);
    let fresh: Vec<Record> =
        run_all(&workloads, &algos, kind, &opts, bar.as_ref()).into_iter().map(|c| c.record).collect();
    if let Some(b) = bar {
        b.finish_and_clear();
    }
    let mut replaced = 0;
    for new in fresh {
        match records.iter_mut().find(|r| r.workload == new.workload && r.algorithm == new.algorithm) {
            Some(old) => {
                *old = new;
                replaced += 1;
            }
            None => records.push(new),
        }
    }
    let now = metadata(&a.common, threads);
    meta.refreshed.push(Refresh {
        algorithms: algos.iter().map(|x| x.name().to_owned()).collect(),
        git_commit: now.git_commit,
        date_utc: now.date_utc,
        command: now.command,
    });
    write_results(dir, &meta, &records)?;
    eprintln!(
        "refreshed {} ({replaced} rows replaced, {} rows in all)",
        dir.join("results.json").display(),
        records.len()
    );
    Ok(())
}

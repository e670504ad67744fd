//! `bench dart`: choose pipelines for task sets with every method, simulate and check them,
//! write their rows, run files and timeline figures, print the table; `bench dart gen`: write
//! a generated set; `bench dart ratio`: the schedulability ratio over utilisation.

use super::sweep::Finished;
use crate::error::{Error, Result};
use crate::multitenant::dart::ratio::{self, DartRatioArgs};
use crate::multitenant::dart::sweep::{dart_records, gen_taskset, only_presets, DartArgs, DartCommand};
use crate::multitenant::dart::timeline::Segment;
use crate::multitenant::salus::sweep::write_or_print;
use crate::plots::dart::{RatioSeries, TaskLabel};
use crate::results::out::{stage, OutDir};
use crate::results::Record;
use crate::run::session::{metadata, set_threads};
use serde_json::Value;
use std::path::{Path, PathBuf};

pub fn dart(a: DartArgs) -> Result<i32> {
    match a.command {
        Some(DartCommand::Gen(g)) => {
            write_or_print(g.out.as_deref(), &gen_taskset(&g)?)?;
            return Ok(0);
        }
        Some(DartCommand::Ratio(r)) => return ratio_sweep(*r),
        None => {}
    }
    let a = a.run;
    let threads = set_threads(&a.output.common);
    if a.gpu {
        let out = a.out.clone().unwrap_or_else(|| PathBuf::from("results/dart-gpu"));
        return super::sweep::gpu_run(&out, &a.output, threads, || crate::multitenant::dart::hardware::run(&a));
    }
    let out = a.out.clone().or_else(|| only_presets(&a).then(|| PathBuf::from("results/dart")));
    let _claim = out.as_deref().map(OutDir::claim).transpose()?;
    let journal = crate::run::journal::start(out.as_deref(), a.output.resume)?;
    let (records, files) = dart_records(&a, journal.as_ref())?;
    let meta = metadata(&a.output.common, threads);
    let done = Finished { records: &records, files: &files, subdir: "runs", meta, json: a.output.json };
    super::sweep::report(out.as_deref(), done, journal, |dir| timelines(&records, &files, &dir.join("figures")))
}

/// A timeline figure per run file.
fn timelines(records: &[Record], files: &[(String, String)], dir: &Path) -> Result<()> {
    std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    let runs: std::collections::HashMap<&str, Value> =
        files.iter().filter_map(|(n, t)| Some((n.as_str(), serde_json::from_str(t).ok()?))).collect();
    for r in records {
        let Some(v) = r.placement_file.as_deref().and_then(|f| runs.get(f)) else { continue };
        let lanes: Vec<String> = serde_json::from_value(v["lanes"].clone()).unwrap_or_default();
        let segs: Vec<Segment> = serde_json::from_value(v["timeline"].clone()).unwrap_or_default();
        if segs.is_empty() {
            continue;
        }
        let tasks: Vec<TaskLabel> = v["tasks"]
            .as_array()
            .map(|a| {
                a.iter()
                    .map(|t| TaskLabel {
                        name: t["task"].as_str().unwrap_or("?").to_owned(),
                        rt: t["rt"].as_bool().unwrap_or(false),
                    })
                    .collect()
            })
            .unwrap_or_default();
        let stem = dir.join(format!("{}__{}_timeline", r.workload.replace('/', "__"), r.algorithm));
        let title = format!("{}: {} ({})", r.workload, r.algorithm, r.status.as_str());
        let f = crate::plots::dart::timeline(&title, &lanes, &tasks, &segs, &stem)?;
        eprintln!("wrote {}", f.png.display());
    }
    Ok(())
}

/// `bench dart ratio`: the cells' rows, then ratio.csv, ratio.json and the figure.
fn ratio_sweep(a: DartRatioArgs) -> Result<i32> {
    let threads = set_threads(&a.output.common);
    let _claim = OutDir::claim(&a.out)?;
    let journal = crate::run::journal::start(Some(&a.out), a.output.resume)?;
    let records = ratio::records(&a, journal.as_ref())?;
    let meta = metadata(&a.output.common, threads);
    let done = Finished { records: &records, files: &[], subdir: "runs", meta, json: a.output.json };
    super::sweep::report(Some(&a.out), done, journal, |dir| {
        let summary = ratio::summarise(&records, &a);
        let json = serde_json::to_vec_pretty(&summary).map_err(|e| Error::Usage(e.to_string()))?;
        let files = vec![("ratio.csv".to_owned(), ratio::csv(&summary)?), ("ratio.json".to_owned(), json)];
        stage(dir, "ratio", &files)?.commit()?;
        let mut series: Vec<RatioSeries> = Vec::new();
        for p in &summary.points {
            match series.iter_mut().find(|s| s.method == p.method) {
                Some(s) => s.points.push((p.utilisation, p.ratio)),
                None => series.push(RatioSeries { method: p.method.clone(), points: vec![(p.utilisation, p.ratio)] }),
            }
        }
        let title = format!("Schedulability of {} sets a point, {} tasks of {} layers", a.sets, a.tasks, a.layers);
        let f = crate::plots::dart::ratio(&title, &series, &dir.join("ratio").join("ratio"))?;
        eprintln!("wrote {}", f.png.display());
        for v in &summary.versus_dart {
            eprintln!(
                "dart vs {}: {} sets both schedulable; weighted score lower by {:.1}% (median) up to {:.1}%; best-effort throughput {:+.1}% (median) up to {:+.1}%",
                v.baseline,
                v.sets,
                100.0 * v.score_reduction_median,
                100.0 * v.score_reduction_max,
                100.0 * v.be_gain_median,
                100.0 * v.be_gain_max
            );
        }
        Ok(())
    })
}

//! `bench nwv`: pack sets of tasks with every matcher, check the packings, write their rows,
//! run files, the figure of cost against packing ratio and, with --export, the packings as
//! `.npy`; print the table.

use super::sweep::{report, Finished};
use crate::error::{Error, Result};
use crate::multitenant::nwv::family::TaskSet;
use crate::multitenant::nwv::packing::Packing;
use crate::multitenant::nwv::sweep::{only_presets, records, sets, NwvArgs};
use crate::plots::nwv::CostSeries;
use crate::results::out::OutDir;
use crate::results::{Record, Status};
use crate::run::session::{metadata, set_threads};
use serde_json::Value;
use std::collections::HashMap;
use std::path::{Path, PathBuf};

pub fn nwv(a: NwvArgs) -> Result<i32> {
    let threads = set_threads(&a.output.common);
    if a.gpu {
        let out = a.out.clone().unwrap_or_else(|| PathBuf::from("results/nwv-gpu"));
        return super::sweep::gpu_run(&out, &a.output, threads, || crate::multitenant::nwv::hardware::run(&a));
    }
    let out = a.out.clone().or_else(|| only_presets(&a).then(|| PathBuf::from("results/nwv")));
    // Inputs first: a bad one is reported before anything is created.
    let sets = sets(&a)?;
    let _claim = out.as_deref().map(OutDir::claim).transpose()?;
    let journal = crate::run::journal::start(out.as_deref(), a.output.resume)?;
    let (records, files) = records(&sets, &a, journal.as_ref())?;
    if let Some(dir) = &a.export {
        export_all(dir, &sets, &records, &files)?;
    }
    let meta = metadata(&a.output.common, threads);
    let done = Finished { records: &records, files: &files, subdir: "runs", meta, json: a.output.json };
    report(out.as_deref(), done, journal, |dir| figure(&records, &dir.join("figures")))
}

/// The packing a run file describes.
fn packing_of(v: &Value) -> Option<Packing> {
    let tables = v["tasks"]
        .as_array()?
        .iter()
        .map(|t| serde_json::from_value(t["page_table"].clone()).ok())
        .collect::<Option<Vec<Vec<usize>>>>()?;
    Some(Packing {
        page_size: v["page_size"].as_u64()? as usize,
        virtual_pages: v["virtual_pages"].as_u64()? as usize,
        tables,
    })
}

fn export_all(dir: &Path, sets: &[TaskSet], records: &[Record], files: &[(String, String)]) -> Result<()> {
    let runs: HashMap<&str, &str> = files.iter().map(|(n, t)| (n.as_str(), t.as_str())).collect();
    for r in records.iter().filter(|r| r.status == Status::Feasible) {
        let Some(text) = r.placement_file.as_deref().and_then(|f| runs.get(f)) else { continue };
        let v: Value = serde_json::from_str(text).map_err(|e| Error::Usage(e.to_string()))?;
        let (Some(pk), Some(set)) = (packing_of(&v), sets.iter().find(|s| Some(s.name.as_str()) == v["set"].as_str()))
        else {
            continue;
        };
        let sub = dir.join(format!("{}__{}__v{}", set.name.replace('/', "__"), r.algorithm, pk.virtual_pages));
        crate::multitenant::nwv::export::export(&sub, &set.tasks, &pk)?;
        eprintln!("wrote {}", sub.display());
    }
    Ok(())
}

/// Cost against packing ratio, one series per matcher and set.
fn figure(records: &[Record], dir: &Path) -> Result<()> {
    let mut by: Vec<(String, CostSeries)> = Vec::new();
    for r in records.iter().filter(|r| r.status == Status::Feasible) {
        let ratio = note(&r.notes, "packing_ratio");
        let (Some(ratio), Some(cost)) = (ratio, r.objective) else { continue };
        let set = r.workload.split('@').next().unwrap_or(&r.workload).to_owned();
        match by.iter_mut().find(|(s, c)| *s == set && c.matcher == r.algorithm) {
            Some((_, c)) => c.points.push((ratio, cost)),
            None => by.push((set, CostSeries { matcher: r.algorithm.clone(), points: vec![(ratio, cost)] })),
        }
    }
    let mut names: Vec<String> = by.iter().map(|(s, _)| s.clone()).collect();
    names.dedup();
    if names.is_empty() {
        return Ok(());
    }
    std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    for set in names {
        let mut series: Vec<CostSeries> = by.iter().filter(|(s, _)| *s == set).map(|(_, c)| c.clone()).collect();
        series.iter_mut().for_each(|c| c.points.sort_by(|a, b| a.0.total_cmp(&b.0)));
        let stem = dir.join(format!("{}_cost", set.replace('/', "__")));
        let f = crate::plots::nwv::cost(&format!("{set}: matching cost against packing ratio"), &series, &stem)?;
        eprintln!("wrote {}", f.png.display());
    }
    Ok(())
}

/// The number after `key=` in a row's notes.
pub fn note(notes: &str, key: &str) -> Option<f64> {
    notes.split(';').find_map(|kv| kv.strip_prefix(key)?.strip_prefix('=')?.parse().ok())
}

//! `bench dart ratio`: the schedulability ratio over utilisation. At each utilisation, sets
//! generated as `bench dart gen` writes them (each named by its utilisation and seed, so any
//! one can be regenerated), every method run and judged as `bench dart` does; a set counts
//! as schedulable for a method when its row is feasible (admitted where the method admits,
//! no deadline miss observed, confirmed by the checker). Beside the ratio, each baseline
//! against DART on the sets both run without a miss: how much lower DART's weighted
//! normalised worst response is, and how much higher its best-effort throughput.

use super::sweep::{run_sets, set_text, DartOptions};
use super::taskset::{generate, TaskSet};
use crate::error::{Error, Result};
use crate::results::{Record, Status};
use crate::run::options::OutputArgs;
use crate::run::Journal;
use clap::Args;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::path::PathBuf;

#[derive(Debug, Args)]
pub struct DartRatioArgs {
    /// Utilisations swept, FROM:TO:STEP (the generated sets' total GPU utilisation).
    #[arg(long, default_value = "0.2:1.6:0.2", value_parser = parse_range)]
    pub utilisations: Range,
    /// Sets generated at each utilisation.
    #[arg(long, default_value_t = 50, value_parser = crate::run::parse::at_least_one)]
    pub sets: usize,
    /// Tasks per set (the first half real time).
    #[arg(long, default_value_t = 6, value_parser = crate::run::parse::at_least_one)]
    pub tasks: usize,
    /// Layers per task.
    #[arg(long, default_value_t = 8, value_parser = crate::run::parse::at_least_one)]
    pub layers: usize,
    #[command(flatten)]
    pub options: DartOptions,
    /// Output folder.
    #[arg(long, value_name = "DIR", default_value = "results/dart-ratio")]
    pub out: PathBuf,
    #[command(flatten)]
    pub output: OutputArgs,
}

/// An inclusive range of utilisations.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Range {
    pub from: f64,
    pub to: f64,
    pub step: f64,
}

impl Range {
    pub fn values(&self) -> Vec<f64> {
        let n = ((self.to - self.from) / self.step + 1e-9).floor() as usize;
        (0..=n).map(|k| ((self.from + k as f64 * self.step) * 1e6).round() / 1e6).collect()
    }
}

fn parse_range(s: &str) -> std::result::Result<Range, String> {
    let parts: Vec<&str> = s.split(':').collect();
    let nums: Vec<f64> = parts.iter().filter_map(|p| p.trim().parse().ok()).collect();
    match nums[..] {
        [from, to, step] if parts.len() == 3 && from > 0.0 && to >= from && step > 0.0 => Ok(Range { from, to, step }),
        [u] if parts.len() == 1 && u > 0.0 => Ok(Range { from: u, to: u, step: 1.0 }),
        _ => Err(format!("`{s}`: expected FROM:TO:STEP with 0 < FROM <= TO and STEP > 0, or one utilisation")),
    }
}

/// The seed of the `k`-th set at utilisation `u` of a run seeded `seed`.
pub fn set_seed(seed: u64, u: f64, k: usize) -> u64 {
    seed.wrapping_mul(1_000_003).wrapping_add((u * 1000.0).round() as u64 * 100_000).wrapping_add(k as u64)
}

/// The generated sets of the sweep, each with its hash (of the text `bench dart gen` writes).
pub fn sets(a: &DartRatioArgs) -> Result<Vec<(TaskSet, String)>> {
    let mut out = Vec::new();
    for u in a.utilisations.values() {
        for k in 0..a.sets {
            let seed = set_seed(a.output.common.seed, u, k);
            let mut set = generate(a.tasks, u, a.layers, seed);
            let text = set_text(&set)?;
            set.name = format!("gen/u={u}/seed={seed}");
            out.push((set, format!("{:x}", Sha256::digest(text.as_bytes()))));
        }
    }
    Ok(out)
}

pub const RATIO_SCHEMA: u32 = 1;

/// One method at one utilisation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RatioPoint {
    pub utilisation: f64,
    pub method: String,
    pub sets: usize,
    pub schedulable: usize,
    pub ratio: f64,
}

/// A baseline against DART over the sets both ran without a miss.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Versus {
    pub baseline: String,
    pub sets: usize,
    /// 1 − DART's observed weighted score over the baseline's: median and largest.
    pub score_reduction_median: f64,
    pub score_reduction_max: f64,
    /// DART's best-effort throughput over the baseline's, minus one (sets with best effort).
    pub be_gain_median: f64,
    pub be_gain_max: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RatioFile {
    pub schema_version: u32,
    pub seed: u64,
    pub tasks: usize,
    pub layers: usize,
    pub sets_per_point: usize,
    pub points: Vec<RatioPoint>,
    pub versus_dart: Vec<Versus>,
}

/// The utilisation a generated set's name records.
fn utilisation_of(r: &Record) -> Option<f64> {
    r.workload.strip_prefix("gen/u=")?.split('/').next()?.parse().ok()
}

fn schedulable(r: &Record) -> bool {
    r.status == Status::Feasible && r.feasible
}

/// The value of `key=` in a row's notes.
fn note(r: &Record, key: &str) -> Option<f64> {
    r.notes.split(';').find_map(|kv| kv.strip_prefix(key)?.strip_prefix('=')?.parse().ok())
}

fn median(mut v: Vec<f64>) -> f64 {
    if v.is_empty() {
        return f64::NAN;
    }
    v.sort_by(f64::total_cmp);
    let m = v.len() / 2;
    if v.len() % 2 == 1 {
        v[m]
    } else {
        0.5 * (v[m - 1] + v[m])
    }
}

/// The ratio of every method at every utilisation, and every baseline against DART.
pub fn summarise(records: &[Record], a: &DartRatioArgs) -> RatioFile {
    let mut methods: Vec<&str> = Vec::new();
    for r in records {
        if !methods.contains(&r.algorithm.as_str()) && r.status != Status::Skipped {
            methods.push(&r.algorithm);
        }
    }
    let mut points = Vec::new();
    for u in a.utilisations.values() {
        for &m in &methods {
            let of: Vec<&Record> = records
                .iter()
                .filter(|r| r.algorithm == m && utilisation_of(r).is_some_and(|x| (x - u).abs() < 1e-9))
                .collect();
            let ok = of.iter().filter(|r| schedulable(r)).count();
            let ratio = if of.is_empty() { f64::NAN } else { ok as f64 / of.len() as f64 };
            points.push(RatioPoint { utilisation: u, method: m.to_owned(), sets: of.len(), schedulable: ok, ratio });
        }
    }
    let dart: std::collections::HashMap<&str, &Record> =
        records.iter().filter(|r| r.algorithm == "dart" && schedulable(r)).map(|r| (r.workload.as_str(), r)).collect();
    let versus_dart = methods
        .iter()
        .filter(|&&m| m != "dart")
        .map(|&m| {
            let pairs: Vec<(&Record, &Record)> = records
                .iter()
                .filter(|r| r.algorithm == m && schedulable(r))
                .filter_map(|r| Some((*dart.get(r.workload.as_str())?, r)))
                .collect();
            let reductions: Vec<f64> = pairs
                .iter()
                .filter_map(|(d, b)| Some(1.0 - d.objective? / b.objective.filter(|&x| x > 0.0)?))
                .collect();
            let gains: Vec<f64> = pairs
                .iter()
                .filter_map(|(d, b)| {
                    let (x, y) = (note(d, "be_throughput_per_s")?, note(b, "be_throughput_per_s")?);
                    (y > 0.0).then(|| x / y - 1.0)
                })
                .collect();
            Versus {
                baseline: m.to_owned(),
                sets: pairs.len(),
                score_reduction_max: reductions.iter().copied().fold(f64::NAN, f64::max),
                score_reduction_median: median(reductions),
                be_gain_max: gains.iter().copied().fold(f64::NAN, f64::max),
                be_gain_median: median(gains),
            }
        })
        .collect();
    RatioFile {
        schema_version: RATIO_SCHEMA,
        seed: a.output.common.seed,
        tasks: a.tasks,
        layers: a.layers,
        sets_per_point: a.sets,
        points,
        versus_dart,
    }
}

/// ratio.csv: one line per method and utilisation.
pub fn csv(f: &RatioFile) -> Result<Vec<u8>> {
    let mut w = csv::Writer::from_writer(Vec::new());
    for p in &f.points {
        w.serialize(p).map_err(|e| Error::Usage(e.to_string()))?;
    }
    w.into_inner().map_err(|e| Error::Usage(e.to_string()))
}

/// Runs the sweep's cells.
pub fn records(a: &DartRatioArgs, journal: Option<&Journal>) -> Result<Vec<Record>> {
    let sets = sets(a)?;
    let (records, _) = run_sets(&sets, &a.options, a.output.common.seed, a.output.common.quiet, journal, false)?;
    Ok(records)
}

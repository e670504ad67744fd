//! A scheduling sweep (`bench hios`): workloads × GPU counts × contention models × schedulers,
//! run by the one runner and judged by the schedule simulator, rows in the common schema
//! (objective `hios-latency`) and one schedule file per cell.

use crate::error::{Error, Result};
use crate::family::CellResult;
use crate::hios::algorithms::{Fidelity, HiosOptions, Scheduler};
use crate::hios::family::SchedulingCell;
use crate::hios::{CalibratedModel, Contention};
use crate::registry;
use crate::results::Record;
use crate::run::options::OutputArgs;
use crate::run::progress_bar;
use crate::run::{run, Journal};
use crate::workload::{discover_json_files, parse_workload, Workload};
use crate::zoo::{
    cost::CostModel, export::ExportOptions, export::Granularity, generate, randwire::RandWire, GenSpec, Model,
};
use clap::Args;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// The HIOS experiments' models: Inception-v3, NASNet-A Large and RandWire at the paper's image
/// sizes, batch 1, operator graphs with H200 times and NVLink transfers.
pub fn zoo_cnns() -> Result<Vec<Workload>> {
    let mut out = Vec::new();
    for model in [Model::InceptionV3, Model::Nasnet, Model::Randwire] {
        for image in [331, 512, 768, 1280] {
            let spec = GenSpec {
                model,
                batch: 1,
                image,
                seq: 0,
                layers: 0,
                randwire: RandWire::default(),
                export: ExportOptions {
                    granularity: Granularity::Op,
                    training: false,
                    accs: 8,
                    cpus: 0,
                    memory: Some(f64::INFINITY.min(1e15)),
                    memory_fraction: 1.0,
                    cost: CostModel::resolve("h200", "nvlink")?,
                },
                device: "h200".into(),
                link: "nvlink".into(),
            };
            let label = match model {
                Model::InceptionV3 => "inceptionv3",
                Model::Nasnet => "nasnet",
                _ => "randwire",
            };
            let name = format!("zoo/{label}_{image}");
            let text = serde_json::to_vec(&generate(&spec)?).map_err(|e| Error::Usage(e.to_string()))?;
            out.push(parse_workload(&text, Path::new(&name), &name)?);
        }
    }
    Ok(out)
}

/// A schedule file: its name under `schedules/` and its JSON text.
pub type ScheduleFile = (String, String);

/// Schedules every cell the arguments name; returns the records (with schedule file names)
/// and the schedule files' names and contents.
pub fn hios_records(a: &HiosArgs, journal: Option<&Journal>) -> Result<(Vec<Record>, Vec<ScheduleFile>)> {
    // Several --beta values sweep the contention model's sensitivity: one cell per value.
    let betas = if a.beta.is_empty() { vec![crate::hios::DEFAULT_BETA] } else { a.beta.clone() };
    if let Some(b) = betas.iter().find(|b| !(b.is_finite() && **b >= 0.0)) {
        return Err(Error::Usage(format!("--beta {b}: a penalty must be a finite number >= 0")));
    }
    if matches!(a.contention.as_str(), "reference" | "calibrated") && !a.beta.is_empty() {
        return Err(Error::Usage(format!(
            "--beta is the penalty of the shared contention model; --contention {} has none",
            a.contention
        )));
    }
    let contentions: Vec<Contention> = match a.contention.as_str() {
        "auto" | "shared" => betas.iter().map(|&beta| Contention::Shared { beta }).collect(),
        "reference" => vec![Contention::Reference],
        "calibrated" => vec![Contention::default()],
        other => return Err(Error::Usage(format!("--contention {other}: auto, shared, reference or calibrated"))),
    };
    let sweep = contentions.len() > 1;
    let mut workloads = Vec::new();
    if a.files.is_empty() {
        workloads.extend(zoo_cnns()?.into_iter().map(|w| (w, None)));
        for dir in &a.inputs {
            let root = if dir.join("latency-inputs").is_dir() { dir.join("latency-inputs") } else { dir.clone() };
            for (path, name) in discover_json_files(&root)? {
                workloads.push(load_with_model(&path, &name)?);
            }
        }
    } else {
        for f in &a.files {
            workloads.push(load_with_model(f, &crate::workload::file_stem(f))?);
        }
    }
    // The issue model replaces the stage formula on calibrated workloads unless a formula is
    // asked for by name.
    let calibrated = matches!(a.contention.as_str(), "auto" | "calibrated");
    for (w, model) in &mut workloads {
        if !calibrated {
            *model = None;
        } else if a.contention == "calibrated" && model.is_none() {
            return Err(Error::Usage(format!(
                "{}: --contention calibrated needs a zoo workload at operator granularity whose profile bench calibrate scaled",
                w.name
            )));
        }
    }
    if let Some((w, _)) = workloads.iter().find(|(w, _)| w.is_training()) {
        return Err(Error::Usage(format!("{}: HIOS schedules inference graphs; this one has backward nodes", w.name)));
    }
    let chosen: &[String] = if a.all { &[] } else { &a.algos };
    let algos = registry::select(chosen, registry::schedulers(), |s| s.name(), "scheduling algorithm")?;
    let gpus = if a.gpus.is_empty() { vec![1, 2, 4, 8] } else { a.gpus.clone() };
    type Model = Option<Arc<CalibratedModel>>;
    let mut cells: Vec<(&Workload, usize, &'static dyn Scheduler, Contention, &Model)> = Vec::new();
    for (w, model) in &workloads {
        // A calibrated workload has one cost, the model's; formulas sweep their β.
        let cs = if model.is_some() { &contentions[..1] } else { &contentions[..] };
        for &k in &gpus {
            for &c in cs {
                for &n in &algos {
                    cells.push((w, k, n, c, model));
                }
            }
        }
    }
    let bar = progress_bar(cells.len(), a.output.common.quiet);
    let run_cells: Vec<SchedulingCell> = cells
        .iter()
        .map(|&(w, k, s, contention, model)| {
            let o = HiosOptions {
                gpus: k,
                window: a.window,
                streams: a.streams,
                max_group: if a.ios_defaults { 8 } else { a.max_group },
                max_group_size: if a.ios_defaults { 3 } else { a.max_group_size },
                part: if a.ios_defaults { 100 } else { a.part_size },
                fidelity: match a.faithful.as_deref() {
                    None => Fidelity::Intended,
                    Some("simulator") => Fidelity::Simulator,
                    Some(_) => Fidelity::Optimizer,
                },
                sweep_gpus: gpus.clone(),
                time_limit: a.output.common.time_limit,
                ..HiosOptions::default()
            };
            SchedulingCell::new(w, s, contention, model.clone(), o, a.output.common.seed)
        })
        .collect();
    let results = run(&run_cells, bar.as_ref(), journal);
    if let Some(b) = bar {
        b.finish_and_clear();
    }
    let mut records = Vec::with_capacity(results.len());
    let mut files = Vec::new();
    // The runner keeps the cells' order, so each result meets its cell here.
    for (CellResult { record: mut r, artifact }, cell) in results.into_iter().zip(&cells) {
        if let Some(s) = artifact {
            let beta = match cell.3 {
                Contention::Shared { beta } if sweep && cell.4.is_none() => format!("__beta{beta}"),
                _ => String::new(),
            };
            let name = format!("{}__{}{beta}.json", r.workload.replace('/', "__"), r.algorithm);
            // Compact: pretty-printed, a schedule of a thousand operators runs to ten
            // thousand lines, and GPU runs keep one per algorithm and GPU count.
            files.push((name.clone(), serde_json::to_string(&s).unwrap_or_default() + "\n"));
            r.placement_file = Some(name);
        }
        records.push(r);
    }
    Ok((records, files))
}

/// A workload file and, where it is a calibrated profile, its issue model.
fn load_with_model(path: &Path, name: &str) -> Result<(Workload, Option<Arc<CalibratedModel>>)> {
    let bytes = crate::workload::read_file(path)?;
    let w = parse_workload(&bytes, path, name)?;
    // Only a profile's provenance holds a calibration: plain workloads skip a second parse.
    if !bytes.windows(b"\"calibration\"".len()).any(|x| x == b"\"calibration\"") {
        return Ok((w, None));
    }
    let v: serde_json::Value = serde_json::from_slice(&bytes).map_err(|e| Error::input(path, "file", e.to_string()))?;
    let model = CalibratedModel::of(&w, &v)?.map(Arc::new);
    Ok((w, model))
}

/// A part size: 1 to 128 operators (a part's states are 128-bit sets).
fn parse_part(s: &str) -> std::result::Result<usize, String> {
    let n = crate::run::parse::at_least_one(s)?;
    if n > crate::hios::algorithms::IOS_MAX_PART {
        return Err(format!("{n}: a part holds at most {} operators", crate::hios::algorithms::IOS_MAX_PART));
    }
    Ok(n)
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
    /// GPU counts, each at least 1 (repeatable; default 1, 2, 4, 8).
    #[arg(long = "gpus", value_name = "K", value_parser = crate::run::parse::at_least_one)]
    pub gpus: Vec<usize>,
    /// Cost of concurrent streams: auto (default: a calibrated profile's issue model where the
    /// workload carries one, else shared), shared (the stage formula with penalty β),
    /// reference (HIOS's simulator's formula) or calibrated (the issue model; every workload
    /// must be a calibrated profile).
    #[arg(long, default_value = "auto", value_parser = ["auto", "shared", "reference", "calibrated"])]
    pub contention: String,
    /// Oversubscription penalty β of the shared contention model (default 0.1); repeat it to
    /// sweep the model's sensitivity (one row per value, the value in the options column).
    #[arg(long = "beta", value_name = "BETA", value_parser = crate::run::parse::non_negative)]
    pub beta: Vec<f64>,
    /// Intra-GPU sliding window: operators tried together as one stage, at least 2.
    #[arg(long, default_value_t = HiosOptions::default().window, value_parser = crate::run::parse::at_least_two)]
    pub window: usize,
    /// Streams per GPU, at least 1 (1: no concurrency inside a GPU, so the intra pass and
    /// `ios` stages keep one operator each).
    #[arg(long, default_value_t = HiosOptions::default().streams, value_parser = crate::run::parse::at_least_one)]
    pub streams: usize,
    /// Most groups (concurrent streams) in a stage of `ios` (IOS's max_num_groups).
    #[arg(long = "max-groups", alias = "max-group", value_name = "N",
          default_value_t = HiosOptions::default().max_group, value_parser = crate::run::parse::at_least_one)]
    pub max_group: usize,
    /// Most operators in a group of `ios`, a chain run on one stream (IOS's max_group_size; 1:
    /// every group one operator).
    #[arg(long, value_name = "N", default_value_t = HiosOptions::default().max_group_size,
          value_parser = crate::run::parse::at_least_one)]
    pub max_group_size: usize,
    /// Operators per part of `ios`'s DP, at most 128 (IOS's max_part_size).
    #[arg(long, value_name = "N", default_value_t = HiosOptions::default().part,
          value_parser = parse_part)]
    pub part_size: usize,
    /// `ios` with IOS's own defaults: --max-groups 8 --max-group-size 3 --part-size 100
    /// (overrides those three flags).
    #[arg(long)]
    pub ios_defaults: bool,
    /// HIOS-LP/MR and the intra pass as HIOS's code behaves, to compare with its numbers:
    /// `--faithful` (or `=optimizer`) as its real optimizer (block by block, builder order, each
    /// block's exit gathered on GPU 0, its trial and tie rules, HIOS-MR's least predecessor,
    /// the intra window stuck at the first rejected pair); `--faithful=simulator` as its
    /// simulator (whole graph, HIOS-MR's first predecessor, ties to the highest GPU).
    #[arg(long, value_name = "WHICH", num_args = 0..=1, require_equals = true,
          default_missing_value = "optimizer", value_parser = ["optimizer", "simulator"])]
    pub faithful: Option<String>,
    /// Output folder (default results/hios when no FILE is given).
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    #[command(flatten)]
    pub output: OutputArgs,
}

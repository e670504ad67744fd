//! `bench figures`: runs what the committed figure results lack, draws every figure into
//! `plots/` (placement, scheduling, scaling, a schedule's Gantt chart, GPU fidelity) and writes
//! `plots/README.md`.

use crate::algorithms::Objective;
use crate::error::{Error, Result};
use crate::results::{load_results, write_atomic, write_results, Record};
use crate::run::options::CommonArgs;
use crate::run::session::{metadata, run_and_write, set_threads, FIGURES_TIME_LIMIT};
use clap::Args;
use std::path::{Path, PathBuf};

#[derive(Debug, Args)]
pub struct FiguresArgs {
    /// Folder(s) of workloads beyond the embedded ones (a dnn-partitioning checkout).
    #[arg(long, value_name = "DIR")]
    pub inputs: Vec<PathBuf>,
    /// Rerun even where results/figures/ already holds results.
    #[arg(long)]
    pub rerun: bool,
    /// Where the runs' results go.
    #[arg(long, default_value = "results/figures", value_name = "DIR")]
    pub results: PathBuf,
    /// Folder for the figures and their README.
    #[arg(long, default_value = "plots", value_name = "DIR")]
    pub out: PathBuf,
    /// Measured GPU results (`bench validate` JSON files, searched recursively) for the
    /// predicted-vs-measured figure; never rerun here.
    #[arg(long, default_value = "results/gpu", value_name = "DIR")]
    pub gpu_results: PathBuf,
    #[command(flatten)]
    pub common: CommonArgs,
}

pub fn plot_by_objective(records: &[Record], out: &Path) -> Result<Vec<crate::plots::Figure>> {
    let mut figures = Vec::new();
    for kind in ["throughput", "latency", "hios-latency"] {
        let rows: Vec<Record> = records.iter().filter(|r| r.objective_kind == kind).cloned().collect();
        if !rows.is_empty() {
            figures.extend(crate::plots::plot_records(&rows, kind, out)?);
        }
    }
    Ok(figures)
}

pub fn figures(a: FiguresArgs) -> Result<i32> {
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
        let defaults = crate::hios::algorithms::HiosOptions::default();
        let args = crate::hios::sweep::HiosArgs {
            files: vec![],
            inputs: vec![],
            all: true,
            algos: vec![],
            gpus: vec![],
            contention: "shared".into(),
            beta: vec![crate::hios::DEFAULT_BETA],
            window: defaults.window,
            streams: defaults.streams,
            max_group: defaults.max_group,
            max_group_size: defaults.max_group_size,
            part_size: defaults.part,
            ios_defaults: false,
            faithful: None,
            out: Some(hios_dir.clone()),
            output: crate::run::options::OutputArgs { json: false, resume: false, common: a.common.clone() },
        };
        let rows = crate::hios::sweep::hios_records(&args, None)?;
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
    if gantt_file.is_file() {
        let f = crate::hios::file::ScheduleFile::load(&gantt_file)?;
        let lanes: Vec<crate::plots::gantt::Lane> =
            f.timeline.iter().map(|s| (s.gpu, s.start, s.end, s.ops.len())).collect();
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
pub fn validate_rows(dir: &Path) -> Result<Vec<crate::pipeline::row::ValidateRow>> {
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
        let v: Vec<crate::pipeline::row::ValidateRow> =
            serde_json::from_slice(&bytes).map_err(|e| Error::input(&from, "rows", e.to_string()))?;
        rows.extend(v);
    }
    Ok(rows)
}

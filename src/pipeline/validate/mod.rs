//! `bench validate`: placements and HIOS schedules run on real GPUs against their predictions
//! (the workload's model, the roofline, the executor's issue model), each plan in a process of
//! its own; `--measured` recomputes the predictions of earlier rows without a GPU. Plans are
//! built on the CPU (`crate::gpu::plan`) and handed to `crate::gpu`.

mod diagnostics;
mod model;
#[cfg(test)]
mod tests;

use diagnostics::*;
pub(crate) use model::*;

use super::options::ValidateOptions;
use super::{gpu_err, now, read_workload};
use crate::error::{Error, Result};
use crate::evaluate::{evaluate, Violation};
use crate::gpu::plan::{self, Plan};
use crate::gpu::{issue, relative_error, ExecOptions, Measurement, Mode};
use crate::hios::family::GPU_CAPACITY;
use crate::hios::{simulate, Contention, Problem, Schedule};
use crate::pipeline::row::*;
use crate::placement::Split;
use crate::results::write_atomic;
use crate::workload::{parse_workload, Workload};
use crate::zoo::export::{node_ops, Granularity};
use crate::zoo::graph::OpGraph;
use crate::zoo::{build, generate, spec_from_provenance, GenSpec};
use serde_json::{json, Value};
use std::path::Path;

pub fn validate(a: ValidateOptions) -> Result<i32> {
    if a.placements.is_empty() && a.schedules.is_empty() {
        return Err(Error::Usage("bench validate: give placement files and/or --schedule files".into()));
    }
    let (w, v) = read_workload(&a.workload)?;
    let zoo = if a.busy { None } else { zoo_of(&w, &v)? };
    // Everything is checked and planned before the first GPU call.
    let mut jobs: Vec<Job> = Vec::new();
    let mut rows = Vec::new();
    for file in &a.placements {
        let split = Split::load(file)?;
        let e = evaluate(&w, &split);
        let algorithm = serde_json::from_slice::<Value>(&std::fs::read(file).unwrap_or_default())
            .ok()
            .and_then(|j| j["algorithm"].as_str().map(str::to_owned))
            .unwrap_or_default();
        let name = file.file_name().map(|n| n.to_string_lossy().to_string()).unwrap_or_default();
        let placement = split.extend_to_placement(&w, file)?;
        let (kind, mode, predicted, roofline) = if a.latency {
            let Ok(l) = &e.latency else {
                rows.push(skipped(name, "no latency (training graph or deadlock)"));
                continue;
            };
            let roof = zoo.as_ref().and_then(|z| z.roofline.as_ref()).and_then(|r| evaluate(r, &split).latency.ok());
            ("latency", Mode::Latency, l.latency, roof.map(|l| l.latency))
        } else {
            let runnable = e.violations.iter().all(|v| a.ignore_memory && matches!(v, Violation::Memory { .. }));
            if !runnable || !e.acyclic {
                rows.push(skipped(name, "infeasible or not pipeline-ordered"));
                continue;
            }
            let roof = zoo.as_ref().and_then(|z| z.roofline.as_ref()).map(|r| evaluate(r, &split).max_load);
            ("throughput", Mode::Pipeline, e.max_load, roof)
        };
        let plan = diagnosed(
            match &zoo {
                Some(z) => plan::op_placement(&w, z.graph.clone(), &z.node_ops, &placement),
                None => plan::busy_placement(&w, &placement, &e),
            },
            &a,
        );
        let within_memory = !e.violations.iter().any(|v| matches!(v, Violation::Memory { .. }));
        jobs.push(Job {
            file: file.clone(),
            kind,
            algorithm,
            plan,
            mode,
            predicted,
            roofline,
            within_memory,
            stages: Vec::new(),
        });
    }
    let calibrated = match (a.graphs && !a.busy && !a.schedules.is_empty(), &zoo) {
        (true, Some(_)) => crate::hios::CalibratedModel::of(&w, &v)?.map(std::sync::Arc::new),
        _ => None,
    };
    for file in &a.schedules {
        let (s, predicted, algorithm) = load_schedule(&w, file)?;
        let graph = match &zoo {
            Some(z) if z.granularity == Granularity::Op => Some(z.graph.clone()),
            Some(_) => return Err(Error::Usage("HIOS schedules run operator-granularity zoo workloads".into())),
            None => None,
        };
        let roofline = match zoo.as_ref().and_then(|z| z.roofline.as_ref()) {
            Some(r) => {
                let p = Problem::from_workload(r, GPU_CAPACITY, Contention::default());
                Some(simulate(&p, &s)?.latency)
            }
            None => None,
        };
        // The schedule's latency under this workload's times (`bench calibrate` may have scaled
        // them since the schedule was made), with the cost `bench hios` defaults to: a
        // calibrated profile's issue model for graph replays, else the shared formula.
        let own = match &calibrated {
            Some(m) => Problem::calibrated(&w, GPU_CAPACITY, m.clone()),
            None => Problem::from_workload(&w, GPU_CAPACITY, Contention::default()),
        };
        let resimulated = simulate(&own, &s)?.latency;
        if zoo.as_ref().and_then(|z| z.profile.as_ref()).is_none_or(|p| p.calibration.is_none())
            && (resimulated - predicted).abs() > 1e-9 * predicted.abs().max(1.0)
        {
            eprintln!(
                "{}: latency {predicted} differs from {resimulated} simulated here (another --beta or workload?): the row uses {resimulated}",
                file.display()
            );
        }
        let predicted = resimulated;
        let stages = if graph.is_some() { s.stages.clone() } else { Vec::new() };
        let plan = diagnosed(plan::schedule(&w, &s, graph)?, &a);
        jobs.push(Job {
            file: file.clone(),
            kind: "hios",
            algorithm,
            plan,
            mode: Mode::Latency,
            predicted,
            roofline,
            within_memory: true,
            stages,
        });
    }
    if let Some(path) = &a.measured {
        return remodel(&a, path, &w, zoo.as_ref(), &jobs, rows);
    }
    let info = crate::gpu::probe().map_err(gpu_err("bench validate"))?;
    if a.remote_branches > 0 && info.devices < 2 {
        return Err(Error::Usage(format!(
            "bench validate --remote-branches needs two GPUs; this machine has {}",
            info.devices
        )));
    }
    if !a.in_process && (jobs.len() > 1 || a.processes > 1) {
        return validate_each_in_its_process(&a, &w, &jobs, rows);
    }
    let mut failed = false;
    for job in &jobs {
        let Job { kind, algorithm, plan, mode, .. } = job;
        // One failing plan (a kernel the library refuses, memory) is a row with its error; the
        // others still run, and the exit code says something failed.
        eprintln!("{} {kind} {algorithm}: running {} tasks on {} GPU(s)", w.name, plan.tasks.len(), plan.gpus());
        // A trace is the run itself: a second run in one process would be the slower one
        // (results/gpu/h100-first-plan-check).
        let trace = a.trace && a.graphs && *mode == Mode::Latency;
        let how =
            ExecOptions { graphs: a.graphs, copy: a.copy.kernel(), trace, host_polled_imports: a.host_polled_imports };
        match crate::gpu::execute(plan, *mode, a.samples, a.repeats, how) {
            Ok(m) => {
                let run = Run { devices: m.gpu.devices, samples: a.samples, graphs: a.graphs, timing: timed(&m).0 };
                let issue = issue_model(zoo.as_ref(), job, &run);
                let mut r = row(&w, zoo.as_ref(), job, &m, issue);
                Diagnostics::of(&a).write(&mut r);
                if trace {
                    r["trace"] = trace_of(&m, issue_costs(zoo.as_ref(), job, &run), job, &run);
                }
                if a.stage_times {
                    if let Err(e) = time_stages(job, &mut r) {
                        failed = true;
                        eprintln!("{} {kind} {algorithm}: timing its stages: {e}", w.name);
                        set_fields(&mut r, &StagesError { stages_error: e.to_string() });
                    }
                }
                rows.push(r)
            }
            Err(e) => {
                failed = true;
                eprintln!("{} {kind} {algorithm}: error: {e}", w.name);
                rows.push(failed_row(&w, job, e.to_string()));
            }
        }
    }
    write_rows(&a, &rows)?;
    Ok(i32::from(failed))
}

/// A plan not run: no latency to predict, infeasible.
fn skipped(file: String, why: &str) -> Value {
    let row = NotMeasured {
        workload: None,
        file: Some(file),
        kind: None,
        algorithm: None,
        status: "skipped",
        message: why.into(),
    };
    new_row(&row)
}

/// A plan whose run failed, with why.
fn failed_row(w: &Workload, job: &Job, message: String) -> Value {
    let file = job.file.file_name().map(|f| f.to_string_lossy().to_string());
    let row = NotMeasured {
        workload: Some(&w.name),
        file,
        kind: Some(job.kind),
        algorithm: Some(&job.algorithm),
        status: "error",
        message,
    };
    new_row(&row)
}

/// `--trace`: per segment of the traced replay, what it measured beside what the issue model
/// predicts (`issue::replay_timeline`).
fn trace_of(m: &Measurement, costs: Option<issue::Costs>, job: &Job, run: &Run) -> Value {
    let mut t = new_row(&Trace {
        segments: &m.trace,
        method: "the row's run is traced, with time stamps (the global timer, written by one-thread kernels): per GPU one first in each sample, per segment one as the first and one as the last node of its graph, one before and one after each copy of an import on the copy stream; medians over the timed samples, ms from the sample's first stamp on any GPU; `predicted`: the issue model's segment (ms from the sample's start, its overhead left out)",
    });
    predict_trace(&mut t, costs, job, run);
    t
}

/// Puts beside each segment of trace `t` the issue model's times of it (`predicted`).
fn predict_trace(t: &mut Value, costs: Option<issue::Costs>, job: &Job, run: &Run) {
    let model = costs.map(|c| issue::replay_timeline(&job.plan, &c, run.devices)).unwrap_or_default();
    for seg in t["segments"].as_array_mut().into_iter().flatten() {
        let p = model.iter().find(|p| json!(p.gpu) == seg["gpu"] && json!(p.index) == seg["index"]);
        seg["predicted"] = serde_json::to_value(p).unwrap_or_default();
    }
}

/// `--stage-times`: each concurrent stage of `job`'s schedule timed alone, and the whole
/// schedule where it uses one GPU, into its row `r` (`stages`, `schedule_alone`).
fn time_stages(job: &Job, r: &mut Value) -> Result<()> {
    let (concurrent, Some(g)) = (job.concurrent_stages(), &job.plan.graph) else { return Ok(()) };
    if concurrent.is_empty() {
        return Ok(());
    }
    let (times, whole) = crate::gpu::profile_stages(g, &concurrent, job.one_gpu_stages(), STAGE_WARMUP, STAGE_RUNS)?;
    let schedule_alone = whole.map(|[side, one]| ScheduleAlone {
        side_by_side_ms: side, one_stream_ms: one,
        method: "every stage in order, each operator on buffers of its own (no data dependencies), warm, a CUDA graph of the runs: each stage's groups side by side, and everything on one stream",
    });
    set_fields(r, &StageTimes { stages: times, schedule_alone });
    Ok(())
}

/// The arguments that run `job` alone in a process of its own, with `a`'s options, its rows
/// written to `out`.
fn child_args(a: &ValidateOptions, job: &Job, out: &Path) -> Vec<std::ffi::OsString> {
    let mut v: Vec<std::ffi::OsString> = vec!["validate".into(), a.workload.clone().into_os_string()];
    if job.kind == "hios" {
        v.push("--schedule".into());
    }
    v.push(job.file.clone().into_os_string());
    let flags = [
        (a.latency, "--latency"),
        (a.busy, "--busy"),
        (a.graphs, "--graphs"),
        (a.ignore_memory, "--ignore-memory"),
        (a.stage_times, "--stage-times"),
        (a.trace, "--trace"),
        (a.host_polled_imports, "--host-polled-imports"),
        (true, "--in-process"),
    ];
    for (on, flag) in flags {
        if on {
            v.push(flag.into());
        }
    }
    v.extend(["--samples".into(), a.samples.to_string().into(), "--repeats".into(), a.repeats.to_string().into()]);
    for (n, flag) in
        [(a.cut_every, "--cut-every"), (a.side_branches, "--side-branches"), (a.remote_branches, "--remote-branches")]
    {
        if n > 0 {
            v.extend([flag.into(), n.to_string().into()]);
        }
    }
    if a.remote_return != crate::gpu::diagnostics::REMOTE_RETURN {
        v.extend(["--remote-return".into(), a.remote_return.to_string().into()]);
    }
    if a.no_copies {
        v.push("--no-copies".into());
    }
    if a.copy.word_copies {
        v.push("--word-copies".into());
    } else if a.copy.copy_engine {
        v.push("--copy-engine".into());
    } else {
        v.extend(["--copy-blocks".into(), a.copy.copy_blocks.to_string().into()]);
    }
    v.extend(["--out".into(), out.as_os_str().to_owned()]);
    v
}

/// Runs each plan in `--processes` processes of its own (`child_args`), the plans in turn, and
/// gathers after `rows` each plan's row of the median time with every process's time; a
/// process that fails is a row with its error, and the exit code says so.
fn validate_each_in_its_process(a: &ValidateOptions, w: &Workload, jobs: &[Job], mut rows: Vec<Value>) -> Result<i32> {
    let exe = std::env::current_exe().map_err(|e| Error::Usage(format!("bench validate: {e}")))?;
    let dir = std::env::temp_dir().join(format!("placebench-validate-{}", std::process::id()));
    std::fs::create_dir_all(&dir).map_err(|e| Error::Usage(format!("{}: {e}", dir.display())))?;
    let mut failed = false;
    let mut runs: Vec<Vec<Vec<Value>>> = vec![Vec::new(); jobs.len()];
    for round in 0..a.processes {
        for (i, job) in jobs.iter().enumerate() {
            let out = dir.join(format!("{i}-{round}.json"));
            let status = std::process::Command::new(&exe).args(child_args(a, job, &out)).status();
            let got = std::fs::read(&out).ok().and_then(|t| serde_json::from_slice::<Vec<Value>>(&t).ok());
            match (status, got) {
                (Ok(s), Some(mut child_rows)) => {
                    failed |= !s.success();
                    for r in child_rows.iter_mut().filter(|r| ValidateRow::of(r).is_some_and(|r| r.measured())) {
                        set_fields(r, &OwnProcess { own_process: true });
                    }
                    runs[i].push(child_rows);
                }
                (status, _) => {
                    failed = true;
                    let why = status.map_or_else(|e| e.to_string(), |s| format!("its process ended with {s}"));
                    rows.push(failed_row(w, job, why));
                }
            }
        }
    }
    for plan_runs in runs {
        rows.extend(median_run(plan_runs));
    }
    std::fs::remove_dir_all(&dir).ok();
    write_rows(a, &rows)?;
    Ok(i32::from(failed))
}

/// Of one plan's runs (each the rows of one process), the run whose measured time is the
/// median (the lower one of an even count), its measured row given every run's time.
fn median_run(mut runs: Vec<Vec<Value>>) -> Vec<Value> {
    let time = |r: &Vec<Value>| {
        r.iter()
            .filter_map(ValidateRow::of)
            .find(ValidateRow::measured)
            .and_then(|x| x.measured_ms)
            .unwrap_or(f64::INFINITY)
    };
    if runs.len() <= 1 {
        return runs.pop().unwrap_or_default();
    }
    let times: Vec<f64> = runs.iter().map(time).collect();
    let mut order: Vec<usize> = (0..runs.len()).collect();
    order.sort_by(|&x, &y| times[x].total_cmp(&times[y]));
    let mut chosen = runs.swap_remove(order[(order.len() - 1) / 2]);
    for r in chosen.iter_mut().filter(|r| ValidateRow::of(r).is_some_and(|r| r.measured())) {
        set_fields(r, &Processes { processes_ms: times.iter().copied().filter(|t| t.is_finite()).collect() });
    }
    chosen
}

fn write_rows(a: &ValidateOptions, rows: &[Value]) -> Result<()> {
    let text = serde_json::to_string_pretty(rows).unwrap_or_default();
    match &a.out {
        Some(p) => write_atomic(p, text.as_bytes())?,
        None => println!("{text}"),
    }
    Ok(())
}

/// `--measured`: the earlier rows with their predictions recomputed; a plan without an
/// earlier row, or a row for another workload, is an error (exit 1).
fn remodel(
    a: &ValidateOptions,
    path: &Path,
    w: &Workload,
    zoo: Option<&Zoo>,
    jobs: &[Job],
    mut rows: Vec<Value>,
) -> Result<i32> {
    let text = std::fs::read(path).map_err(|e| Error::input(path, "file", e.to_string()))?;
    let old: Vec<Value> = serde_json::from_slice(&text).map_err(|e| Error::input(path, "rows", e.to_string()))?;
    let views: Vec<Option<ValidateRow>> = old.iter().map(ValidateRow::of).collect();
    let mut failed = false;
    let asked = Diagnostics::of(a).fields();
    for job in jobs {
        let name = job.file.file_name().map(|f| f.to_string_lossy().to_string());
        let found = old.iter().zip(&views).find_map(|(r, v)| {
            v.as_ref().filter(|v| v.file == name && v.measured()).map(|v| (r, v.workload_hash.clone()))
        });
        // Rows measured on the workload before `bench calibrate` scaled it still apply.
        let before = zoo.and_then(|z| z.profile.as_ref()).and_then(|p| p.calibration.as_ref()).map(|c| &c.from_hashes);
        let ours = |hash: &Option<String>| {
            hash.as_deref()
                .is_some_and(|hash| hash == w.content_hash || before.is_some_and(|h| h.iter().any(|h| h == hash)))
        };
        // A row measured with a diagnostic is remodelled with it, and only with it: the value
        // of each diagnostic field, in the row and as asked (`None`: unset).
        let differs = |r: &Value| {
            asked.iter().find_map(|(k, wants)| {
                let had = r.get(k.as_str()).filter(|v| !v.is_null()).cloned();
                (had != *wants).then(|| (k.clone(), had, wants.clone()))
            })
        };
        let shown = |v: Option<Value>| v.map_or("unset".to_string(), |v| v.to_string());
        match found {
            Some((r, hash)) if ours(&hash) && differs(r).is_some() => {
                failed = true;
                let (k, had, wants) = differs(r).expect("just found");
                eprintln!(
                    "{}: {name:?} was measured with {k} {}, remodelled with {k} {}: pass the options it ran with",
                    path.display(),
                    shown(had),
                    shown(wants)
                );
            }
            Some((r, hash)) if ours(&hash) => {
                let run = Run::of_row(r, a);
                let model = issue_model(zoo, job, &run);
                let mut r = r.clone();
                predict(&mut r, w, zoo, job, model);
                if r["trace"].is_object() {
                    predict_trace(&mut r["trace"], issue_costs(zoo, job, &run), job, &run);
                }
                set_fields(&mut r, &Remodelled { remodelled_utc: now() });
                rows.push(r);
            }
            Some(_) => {
                failed = true;
                eprintln!("{}: {name:?} was measured on another workload (hash differs)", path.display());
            }
            None => {
                failed = true;
                eprintln!("{}: no measured row for {name:?}", path.display());
            }
        }
    }
    write_rows(a, &rows)?;
    Ok(i32::from(failed))
}

//! `bench validate`: placements and HIOS schedules run on real GPUs against their predictions
//! (the workload's model, the roofline, the executor's issue model), each plan in a process of
//! its own; `--measured` recomputes the predictions of earlier rows without a GPU. Plans are
//! built on the CPU (`crate::gpu::plan`) and handed to `crate::gpu`.

use super::options::ValidateOptions;
use super::{gpu_err, now, read_workload};
use crate::error::{Error, Result};
use crate::evaluate::{evaluate, Violation};
use crate::gpu::plan::{self, Plan};
use crate::gpu::{issue, relative_error, ExecOptions, Measurement, Mode};
use crate::hios::family::GPU_CAPACITY;
use crate::hios::{simulate, Contention, Problem, Schedule};
use crate::placement::Split;
use crate::results::write_atomic;
use crate::workload::{parse_workload, Workload};
use crate::zoo::export::{node_ops, Granularity};
use crate::zoo::graph::OpGraph;
use crate::zoo::{build, generate, spec_from_provenance, GenSpec};
use serde_json::{json, Value};
use std::path::Path;

/// What a zoo workload adds: its graph, each node's operators, and the roofline version of
/// the workload when the file itself holds profiled times.
pub(super) struct Zoo {
    pub(super) graph: OpGraph,
    pub(super) node_ops: Vec<Vec<usize>>,
    granularity: Granularity,
    roofline: Option<Workload>,
    /// Per-operator GPU and host times and the GPU-to-GPU copy fit of a profiled workload.
    profile: Option<Profile>,
}

/// What the issue model needs from a profiled workload's provenance.
struct Profile {
    ops: issue::OpCosts,
    /// α (ms) and bytes per ms of copies between GPUs, where two GPUs were measured.
    link: Option<(f64, f64)>,
    /// Exchange latency beyond the copy (ms): under graph replay, and eager; 0 in profiles
    /// made before it was measured.
    exchange_ms: (f64, f64),
    /// What `bench links` measured under graph replay (`bench calibrate --links`): a hop's
    /// time, a queued copy's, and their copies' bytes.
    hops: Option<(f64, f64, f64)>,
    /// Where `bench calibrate` scaled the profile.
    calibration: Option<Calibrated>,
}

/// What `bench calibrate` anchored a profile to: the algorithm of its plan (the whole model on
/// one GPU) and the kinds of its rows, and the content hashes of the workload before (rows
/// measured on those still apply).
struct Calibrated {
    algorithm: String,
    kinds: Vec<String>,
    from_hashes: Vec<String>,
}

impl Profile {
    /// Under graph replay with hops measured, a copy alone costs its hop less the graph launch
    /// the model charges apart, and a queued one its slot, each with the link fit's bandwidth for
    /// bytes beyond the measured ones; else the link fit's α and the exchange latency.
    fn exchange(&self, graphs: bool) -> Option<issue::Exchange> {
        let (alpha_ms, bytes_per_ms) = self.link?;
        if let (true, Some((hop_ms, queued_ms, bytes))) = (graphs, self.hops) {
            let streaming = bytes / bytes_per_ms;
            return Some(issue::Exchange {
                alpha_ms: hop_ms - self.ops.segment_ms - streaming,
                bytes_per_ms,
                latency_ms: 0.0,
                queued_alpha_ms: Some(queued_ms - streaming),
            });
        }
        let latency_ms = if graphs { self.exchange_ms.0 } else { self.exchange_ms.1 };
        Some(issue::Exchange { alpha_ms, bytes_per_ms, latency_ms, queued_alpha_ms: None })
    }
}

/// The product of every calibration's scale a profile went through (1: as profiled).
fn calibration_scale(c: &Value) -> f64 {
    c["scale_total"].as_f64().or_else(|| c["scale"].as_f64()).filter(|s| *s > 0.0).unwrap_or(1.0)
}

fn profile_of(v: &Value) -> Option<Profile> {
    let p = v.pointer("/placebench/profiled")?;
    let times = |key: &str| serde_json::from_value::<Vec<f64>>(p[key].clone()).ok();
    let link = p["links"].as_array().and_then(|links| {
        links
            .iter()
            .find(|l| l["name"].as_str().is_some_and(|n| n.starts_with("GPU 0 to GPU 1")))
            .and_then(|l| Some((l["alpha_ms"].as_f64()?, l["bytes_per_ms"].as_f64()?)))
    });
    let x = &p["exchange"];
    let exchange_ms = (x["graphs_ms"].as_f64().unwrap_or(0.0), x["eager_ms"].as_f64().unwrap_or(0.0));
    let l = &x["links"];
    let hops = (|| Some((l["hop_ms"].as_f64()?, l["queued_copy_ms"].as_f64()?, l["bytes"].as_f64()?)))();
    let ops = issue::OpCosts {
        charged_ms: times("op_gpu_ms")?,
        warm_ms: times("op_gpu_warm_ms"),
        cold_ms: times("op_gpu_cold_ms"),
        l2_bytes: p["l2_bytes"].as_f64(),
        host_ms: times("op_host_ms")?,
        occupancy: serde_json::from_value(p["op_occupancy"].clone()).ok(),
        occupancy_cold: serde_json::from_value(p["op_occupancy_cold"].clone()).ok(),
        sample_overhead_ms: p["calibration"]["sample_overhead_ms"].as_f64().unwrap_or(0.0),
        fork_join_ms: p["fork_join"]["per_extra_group_ms"].as_f64().unwrap_or(0.0),
        segment_ms: p["segments"]["per_segment_ms"].as_f64().unwrap_or(0.0),
        concurrency: p["peers"]["efficiency"].as_f64(),
        concurrency_cold: p["peers_cold"]["efficiency"].as_f64(),
        calibration_scale: calibration_scale(&p["calibration"]),
        fork_share: p["calibration"]["fork_share"].as_f64().unwrap_or(1.0),
    };
    let c = &p["calibration"];
    let strings = |v: &Value| -> Vec<String> {
        v.as_array().map_or(Vec::new(), |a| a.iter().filter_map(|x| x.as_str().map(str::to_owned)).collect())
    };
    let calibration = c["rows"].as_array().map(|rows| Calibrated {
        algorithm: c["algorithm"].as_str().unwrap_or("").to_owned(),
        kinds: rows.iter().filter_map(|r| r["kind"].as_str().map(str::to_owned)).collect(),
        from_hashes: strings(&c["from_hashes"]),
    });
    Some(Profile { ops, link, exchange_ms, hops, calibration })
}

/// How a row's measured time was taken.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Timing {
    /// One sample start to finish.
    Latency,
    /// A stream of `samples` samples over `samples`, fill and drain included (rows measured
    /// before steady-state timing, which carry no `timing` field).
    Stream,
    /// A pipeline in steady state (see `Measurement::steady_ms_per_sample`).
    Steady,
}

impl Timing {
    fn of_row(r: &Value) -> Timing {
        match r["timing"].as_str() {
            Some("steady") => Timing::Steady,
            Some("latency") => Timing::Latency,
            Some(_) => Timing::Stream,
            None if r["kind"] == "throughput" => Timing::Stream,
            None => Timing::Latency,
        }
    }

    fn name(self) -> &'static str {
        match self {
            Timing::Latency => "latency",
            Timing::Stream => "stream",
            Timing::Steady => "steady",
        }
    }
}

/// The executor's issue model of a plan (see `crate::gpu::issue`), timed as the row was:
/// real kernels from the profile's times, busy kernels from their spin times.
/// How a row was run: GPUs present, samples, graph replay, timing.
struct Run {
    devices: usize,
    samples: usize,
    graphs: bool,
    timing: Timing,
}

impl Run {
    /// As an earlier row says it was run (`--measured`); what it lacks, as `a` says.
    fn of_row(r: &Value, a: &ValidateOptions) -> Run {
        Run {
            devices: r["gpus_present"].as_u64().unwrap_or(1) as usize,
            samples: r["samples"].as_u64().unwrap_or(a.samples as u64) as usize,
            graphs: r["graphs"].as_bool().unwrap_or(a.graphs),
            timing: Timing::of_row(r),
        }
    }
}

fn issue_model(zoo: Option<&Zoo>, job: &Job, run: &Run) -> Option<issue::Prediction> {
    let Run { devices, samples, timing, .. } = *run;
    let costs = issue_costs(zoo, job, run)?;
    Some(match timing {
        Timing::Steady => issue::predict_steady(&job.plan, &costs, devices, samples),
        _ => issue::predict(&job.plan, &costs, job.mode, devices, samples),
    })
}

/// The issue model's costs of `job` run as `run` says: real kernels from the profile's times,
/// busy kernels from their spin times; `None` for real kernels without measured times.
fn issue_costs(zoo: Option<&Zoo>, job: &Job, run: &Run) -> Option<issue::Costs> {
    let Run { devices, graphs, .. } = *run;
    match (zoo.and_then(|z| z.profile.as_ref()), &job.plan.graph) {
        (Some(p), Some(_)) => {
            Some(issue::Costs::of_ops(&job.plan, &p.ops, p.exchange(graphs), graphs, devices, job.mode))
        }
        (_, None) => Some(issue::Costs::of_busy(&job.plan)),
        (None, Some(_)) => None,
    }
}

pub(super) fn zoo_of(w: &Workload, v: &Value) -> Result<Option<Zoo>> {
    let Some(spec) = spec_from_provenance(v) else { return Ok(None) };
    if spec.export.training {
        return Ok(None);
    }
    let graph = build(&spec);
    let nodes = node_ops(&graph, spec.export.granularity);
    let names_match = nodes.len() == w.nodes.len()
        && nodes.iter().zip(&w.nodes).all(|((n, _), node)| node.name.as_deref() == Some(n));
    if !names_match {
        return Err(Error::Usage(format!(
            "{}: its nodes do not match the zoo model its provenance names; regenerate it",
            w.name
        )));
    }
    let roofline = if v.pointer("/placebench/profiled").is_some() { Some(roofline_of(&spec, &w.name)?) } else { None };
    Ok(Some(Zoo {
        graph,
        node_ops: nodes.into_iter().map(|(_, ops)| ops).collect(),
        granularity: spec.export.granularity,
        roofline,
        profile: profile_of(v),
    }))
}

fn roofline_of(spec: &GenSpec, name: &str) -> Result<Workload> {
    let text = serde_json::to_vec(&generate(spec)?).map_err(|e| Error::Usage(e.to_string()))?;
    parse_workload(&text, Path::new(name), name)
}

/// A HIOS schedule file back as a schedule of `w`'s node indices, and its predicted latency.
fn load_schedule(w: &Workload, path: &Path) -> Result<(Schedule, f64, String)> {
    let bad = |field: &str, m: &str| Error::input(path, field, m.to_string());
    let text = std::fs::read(path).map_err(|e| Error::input(path, "file", e.to_string()))?;
    let v: Value = serde_json::from_slice(&text).map_err(|e| Error::input(path, "file", e.to_string()))?;
    let index = |id: &Value| -> Result<usize> {
        id.as_i64().and_then(|i| w.index_of(i)).ok_or_else(|| bad("stages", &format!("unknown node {id}")))
    };
    let gpus = v["gpus"].as_u64().ok_or_else(|| bad("gpus", "missing"))? as usize;
    let mut gpu_of = vec![usize::MAX; w.len()];
    for (id, g) in v["gpu_of"].as_object().ok_or_else(|| bad("gpu_of", "missing"))? {
        let i = id.parse::<i64>().ok().and_then(|i| w.index_of(i)).ok_or_else(|| bad("gpu_of", "unknown node"))?;
        gpu_of[i] = g.as_u64().ok_or_else(|| bad("gpu_of", "not a GPU number"))? as usize;
    }
    let mut stages = Vec::new();
    for gpu in v["stages"].as_array().ok_or_else(|| bad("stages", "missing"))? {
        let mut list = Vec::new();
        for stage in gpu.as_array().ok_or_else(|| bad("stages", "not a list"))? {
            let mut groups = Vec::new();
            for group in stage.as_array().ok_or_else(|| bad("stages", "not a list"))? {
                let ops = group.as_array().ok_or_else(|| bad("stages", "not a list"))?;
                groups.push(ops.iter().map(index).collect::<Result<Vec<_>>>()?);
            }
            list.push(groups);
        }
        stages.push(list);
    }
    let s = Schedule { gpus, gpu_of, stages };
    s.check(w.len(), usize::MAX).map_err(|e| bad("stages", &e.to_string()))?;
    let latency = v["latency"].as_f64().ok_or_else(|| bad("latency", "missing"))?;
    let algorithm = v["algorithm"].as_str().unwrap_or("").to_string();
    Ok((s, latency, algorithm))
}

/// Warm-up launches and launches per CUDA graph when timing stages alone (`--stage-times`),
/// as `bench profile` times operators by default.
const STAGE_WARMUP: usize = 5;
const STAGE_RUNS: usize = 20;

/// One placement or schedule to run: its plan, how, and what it is predicted to take.
struct Job {
    file: std::path::PathBuf,
    kind: &'static str,
    algorithm: String,
    plan: Plan,
    mode: Mode,
    predicted: f64,
    roofline: Option<f64>,
    /// Whether the placement keeps the workload's memory limits (schedules: always).
    within_memory: bool,
    /// A schedule of operators' stages per GPU, each a list of groups of operator indices
    /// (placements and busy-kernel schedules: none), for `--stage-times`.
    stages: Vec<Vec<Vec<Vec<usize>>>>,
}

impl Job {
    /// Its stages of several groups, every GPU's, in order.
    fn concurrent_stages(&self) -> Vec<Vec<Vec<usize>>> {
        self.stages.iter().flatten().filter(|stage| stage.len() > 1).cloned().collect()
    }

    /// All its stages in order where it uses one GPU (whatever its K).
    fn one_gpu_stages(&self) -> Option<&[Vec<Vec<usize>>]> {
        match self.stages.iter().filter(|stages| !stages.is_empty()).collect::<Vec<_>>().as_slice() {
            [one] => Some(one.as_slice()),
            _ => None,
        }
    }
}

/// The measurement a row compares with its predictions: steady state for pipelines (what the
/// max-load predicts), one sample start to finish for latencies.
fn timed(m: &Measurement) -> (Timing, f64, &[f64]) {
    match m.steady_ms_per_sample {
        Some(ms) => (Timing::Steady, ms, &m.steady_repeats_ms),
        None => (Timing::Latency, m.per_sample_ms, &m.repeats_ms),
    }
}

/// Whether `job` is a plan of the kind its workload's profile was calibrated on: the whole
/// model on one GPU by the calibration's algorithm, in steady state or one sample at a time
/// (its own prediction then reproduces a measurement by construction).
fn calibration_row(zoo: Option<&Zoo>, job: &Job) -> bool {
    let calibrated = zoo.and_then(|z| z.profile.as_ref()).and_then(|p| p.calibration.as_ref());
    calibrated
        .is_some_and(|c| job.plan.gpus() == 1 && job.algorithm == c.algorithm && c.kinds.iter().any(|k| k == job.kind))
}

fn row(w: &Workload, zoo: Option<&Zoo>, job: &Job, m: &Measurement, model: Option<issue::Prediction>) -> Value {
    let issue = model.map(|p| p.per_sample_ms);
    let Job { file, kind, algorithm, plan, predicted, roofline, .. } = job;
    let (predicted, roofline) = (*predicted, *roofline);
    let (timing, measured, repeats) = timed(m);
    let mut sorted = repeats.to_vec();
    sorted.sort_by(f64::total_cmp);
    let spread = (sorted[sorted.len() - 1] - sorted[0]) / measured;
    eprintln!(
        "{} {kind} {algorithm}: predicted {predicted:.4} ms, measured {measured:.4} ms ({:+.1}%){}{}",
        w.name,
        100.0 * (measured - predicted) / predicted,
        roofline.map_or(String::new(), |r| format!("; roofline {r:.4} ms ({:+.1}%)", 100.0 * (measured - r) / r)),
        issue.map_or(String::new(), |p| format!("; issue model {p:.4} ms ({:+.1}%)", 100.0 * (measured - p) / p)),
    );
    let stream = (timing == Timing::Steady).then(|| json!({"ms": m.per_sample_ms, "repeats_ms": m.repeats_ms}));
    let mut r = json!({
        "workload": w.name, "workload_hash": w.content_hash, "file": file.file_name().map(|f| f.to_string_lossy().to_string()),
        "kind": kind, "algorithm": algorithm, "status": "measured", "kernels": plan.kernels,
        "gpus_in_plan": plan.gpus(), "devices_used": m.devices_used, "gpu": m.gpu.name, "gpus_present": m.gpu.devices,
        "driver": m.gpu.driver, "peer_access": m.peer_access, "measured_ms": measured,
        "timing": timing.name(), "repeats_ms": repeats, "spread": spread, "samples": m.samples, "stream": stream,
        "issue_ms_per_sample": m.issue_ms_per_sample, "graphs": m.graphs, "copy_kernel": m.copy_kernel, "date_utc": now(),
        "extra_add_kernels": 0,
    });
    predict(&mut r, w, zoo, job, model);
    r
}

/// Writes into row `r` (its `measured_ms` set) every prediction for `job`: the workload's own,
/// the roofline's and the issue model's, with their errors, the workload they come from, and
/// whether `job` is the row its profile was calibrated on.
fn predict(r: &mut Value, w: &Workload, zoo: Option<&Zoo>, job: &Job, model: Option<issue::Prediction>) {
    let issue = model.map(|p| p.per_sample_ms);
    let measured = r["measured_ms"].as_f64().unwrap_or(f64::NAN);
    r["predicted_ms"] = json!(job.predicted);
    r["relative_error"] = json!(relative_error(measured, job.predicted));
    r["roofline_predicted_ms"] = json!(job.roofline);
    r["roofline_relative_error"] = json!(job.roofline.map(|p| relative_error(measured, p)));
    r["issue_model_ms"] = json!(issue);
    r["issue_model_relative_error"] = json!(issue.map(|p| relative_error(measured, p)));
    r["issue_model_host_ms"] = json!(model.map(|p| p.host_ms));
    r["model_workload_hash"] = json!(w.content_hash);
    r["calibration_row"] = json!(calibration_row(zoo, job));
    r["profile_calibrated"] = json!(zoo.and_then(|z| z.profile.as_ref()).is_some_and(|p| p.calibration.is_some()));
    r["within_memory"] = json!(job.within_memory);
    // Measured before the executor told inputs from waits, a row ran add kernels beyond its
    // plan; rows measured since say 0 (`Plan::extra_add_kernels`).
    if r.get("extra_add_kernels").is_none() {
        r["extra_add_kernels"] = json!(job.plan.extra_add_kernels());
    }
    if r["graphs"] == true {
        let devices = r["gpus_present"].as_u64().unwrap_or(1) as usize;
        r["graphs_per_sample"] = json!(issue::graphs_per_sample(&job.plan, devices));
        r["concurrent_stages"] = json!(issue::concurrent_stages(&job.plan, devices));
    }
}

/// Every field a row can get from a diagnostic option, with its value under `a` (`None`:
/// unset, as in a plain run).
fn diagnostic_fields(a: &ValidateOptions) -> [(&'static str, Option<Value>); 6] {
    let count = |n: usize| (n > 0).then(|| json!(n));
    let switch = |on: bool| on.then(|| json!(true));
    // Rows measured before the option say nothing of it: the default is left unsaid.
    let back = (a.remote_branches > 0 && a.remote_return != plan::REMOTE_RETURN).then(|| json!(a.remote_return));
    [
        ("cut_every", count(a.cut_every)),
        ("side_branches", count(a.side_branches)),
        ("remote_branches", count(a.remote_branches)),
        ("remote_return", back),
        ("no_copies", switch(a.no_copies)),
        ("host_polled_imports", switch(a.host_polled_imports)),
    ]
}

/// The diagnostic options a row was measured with, as its fields (none for a plain run).
fn diagnostics(a: &ValidateOptions) -> Vec<(&'static str, Value)> {
    diagnostic_fields(a).into_iter().filter_map(|(k, v)| Some((k, v?))).collect()
}

/// `plan` as the diagnostic options ask: cut every `--cut-every` stages, without copies, with
/// side branches.
fn diagnosed(mut plan: Plan, a: &ValidateOptions) -> Plan {
    plan.cut_every = a.cut_every;
    if a.no_copies {
        plan.drop_copies();
    }
    plan.add_side_branches(a.side_branches);
    plan.add_remote_branches(a.remote_branches, a.remote_return);
    plan
}

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
                rows.push(
                    json!({"file": name, "status": "skipped", "message": "no latency (training graph or deadlock)"}),
                );
                continue;
            };
            let roof = zoo.as_ref().and_then(|z| z.roofline.as_ref()).and_then(|r| evaluate(r, &split).latency.ok());
            ("latency", Mode::Latency, l.latency, roof.map(|l| l.latency))
        } else {
            let runnable = e.violations.iter().all(|v| a.ignore_memory && matches!(v, Violation::Memory { .. }));
            if !runnable || !e.acyclic {
                rows.push(json!({"file": name, "status": "skipped", "message": "infeasible or not pipeline-ordered"}));
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
    for file in &a.schedules {
        let (s, predicted, algorithm) = load_schedule(&w, file)?;
        let graph = match &zoo {
            Some(z) if z.granularity == Granularity::Op => Some(z.graph.clone()),
            Some(_) => return Err(Error::Usage("HIOS schedules run operator-granularity zoo workloads".into())),
            None => None,
        };
        let roofline = match zoo.as_ref().and_then(|z| z.roofline.as_ref()) {
            Some(r) => {
                let p = Problem::from_workload(r, GPU_CAPACITY, Contention::Shared { beta: 0.1 });
                Some(simulate(&p, &s)?.latency)
            }
            None => None,
        };
        // The schedule's latency under this workload's times (`bench calibrate` may have scaled
        // them since the schedule was made), with the contention `bench hios` defaults to.
        let own = Problem::from_workload(&w, GPU_CAPACITY, Contention::default());
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
        let plan = diagnosed(plan::schedule(&w, &s, graph).map_err(Error::Usage)?, &a);
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
        let Job { file, kind, algorithm, plan, mode, .. } = job;
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
                for (k, v) in diagnostics(&a) {
                    r[k] = v;
                }
                if trace {
                    r["trace"] = trace_of(&m, issue_costs(zoo.as_ref(), job, &run), job, &run);
                }
                if a.stage_times {
                    if let Err(e) = time_stages(job, &mut r) {
                        failed = true;
                        eprintln!("{} {kind} {algorithm}: timing its stages: {e}", w.name);
                        r["stages_error"] = json!(e);
                    }
                }
                rows.push(r)
            }
            Err(e) => {
                failed = true;
                eprintln!("{} {kind} {algorithm}: error: {e}", w.name);
                rows.push(
                    json!({"workload": w.name, "file": file.file_name().map(|f| f.to_string_lossy().to_string()),
                    "kind": kind, "algorithm": algorithm, "status": "error", "message": e}),
                );
            }
        }
    }
    write_rows(&a, &rows)?;
    Ok(i32::from(failed))
}

/// `--trace`: per segment of the traced replay, what it measured beside what the issue model
/// predicts (`issue::replay_timeline`).
fn trace_of(m: &Measurement, costs: Option<issue::Costs>, job: &Job, run: &Run) -> Value {
    let mut t = json!({
        "segments": m.trace,
        "method": "the row's run is traced, with time stamps (the global timer, written by one-thread kernels): per GPU one first in each sample, per segment one as the first and one as the last node of its graph, one before and one after each copy of an import on the copy stream; medians over the timed samples, ms from the sample's first stamp on any GPU; `predicted`: the issue model's segment (ms from the sample's start, its overhead left out)"
    });
    predict_trace(&mut t, costs, job, run);
    t
}

/// Puts beside each segment of trace `t` the issue model's times of it (`predicted`).
fn predict_trace(t: &mut Value, costs: Option<issue::Costs>, job: &Job, run: &Run) {
    let model = costs.map(|c| issue::replay_timeline(&job.plan, &c, run.devices)).unwrap_or_default();
    for seg in t["segments"].as_array_mut().into_iter().flatten() {
        let p = model.iter().find(|p| json!(p.gpu) == seg["gpu"] && json!(p.index) == seg["index"]);
        seg["predicted"] = json!(p);
    }
}

/// `--stage-times`: each concurrent stage of `job`'s schedule timed alone, and the whole
/// schedule where it uses one GPU, into its row `r` (`stages`, `schedule_alone`).
fn time_stages(job: &Job, r: &mut Value) -> std::result::Result<(), String> {
    let (concurrent, Some(g)) = (job.concurrent_stages(), &job.plan.graph) else { return Ok(()) };
    if concurrent.is_empty() {
        return Ok(());
    }
    let (times, whole) = crate::gpu::profile_stages(g, &concurrent, job.one_gpu_stages(), STAGE_WARMUP, STAGE_RUNS)?;
    r["stages"] = json!(times);
    r["schedule_alone"] = json!(whole.map(|[side, one]| json!({
        "side_by_side_ms": side, "one_stream_ms": one,
        "method": "every stage in order, each operator on buffers of its own (no data dependencies), warm, a CUDA graph of the runs: each stage's groups side by side, and everything on one stream"
    })));
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
    if a.remote_return != plan::REMOTE_RETURN {
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
                    for r in child_rows.iter_mut().filter(|r| r["status"] == "measured") {
                        r["own_process"] = json!(true);
                    }
                    runs[i].push(child_rows);
                }
                (status, _) => {
                    failed = true;
                    let why = status.map_or_else(|e| e.to_string(), |s| format!("its process ended with {s}"));
                    rows.push(
                        json!({"workload": w.name, "file": job.file.file_name().map(|f| f.to_string_lossy().to_string()),
                        "kind": job.kind, "algorithm": job.algorithm, "status": "error", "message": why}),
                    );
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
        r.iter().find(|x| x["status"] == "measured").and_then(|x| x["measured_ms"].as_f64()).unwrap_or(f64::INFINITY)
    };
    if runs.len() <= 1 {
        return runs.pop().unwrap_or_default();
    }
    let times: Vec<f64> = runs.iter().map(time).collect();
    let mut order: Vec<usize> = (0..runs.len()).collect();
    order.sort_by(|&x, &y| times[x].total_cmp(&times[y]));
    let mut chosen = runs.swap_remove(order[(order.len() - 1) / 2]);
    for r in chosen.iter_mut().filter(|r| r["status"] == "measured") {
        r["processes_ms"] = json!(times.iter().filter(|t| t.is_finite()).collect::<Vec<_>>());
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
    let mut failed = false;
    let asked = diagnostic_fields(a);
    for job in jobs {
        let name = job.file.file_name().map(|f| f.to_string_lossy().to_string());
        let found = old.iter().find(|r| r["file"].as_str() == name.as_deref() && r["status"] == "measured");
        // Rows measured on the workload before `bench calibrate` scaled it still apply.
        let before = zoo.and_then(|z| z.profile.as_ref()).and_then(|p| p.calibration.as_ref()).map(|c| &c.from_hashes);
        let ours = |r: &Value| {
            r["workload_hash"] == json!(w.content_hash)
                || before.is_some_and(|h| h.iter().any(|h| r["workload_hash"] == json!(h)))
        };
        // A row measured with a diagnostic is remodelled with it, and only with it: the value
        // of each diagnostic field, in the row and as asked (`None`: unset).
        let differs = |r: &Value| {
            asked.iter().find_map(|(k, wants)| {
                let had = r.get(*k).filter(|v| !v.is_null()).cloned();
                (had != *wants).then(|| (*k, had, wants.clone()))
            })
        };
        let shown = |v: Option<Value>| v.map_or("unset".to_string(), |v| v.to_string());
        match found {
            Some(r) if ours(r) && differs(r).is_some() => {
                failed = true;
                let (k, had, wants) = differs(r).expect("just found");
                eprintln!(
                    "{}: {name:?} was measured with {k} {}, remodelled with {k} {}: pass the options it ran with",
                    path.display(),
                    shown(had),
                    shown(wants)
                );
            }
            Some(r) if ours(r) => {
                let run = Run::of_row(r, a);
                let model = issue_model(zoo, job, &run);
                let mut r = r.clone();
                predict(&mut r, w, zoo, job, model);
                if r["trace"].is_object() {
                    predict_trace(&mut r["trace"], issue_costs(zoo, job, &run), job, &run);
                }
                r["remodelled_utc"] = json!(now());
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::args::{Cli, Command};
    use clap::Parser;

    fn parse(args: &[std::ffi::OsString]) -> ValidateOptions {
        let mut all: Vec<std::ffi::OsString> = vec!["bench".into()];
        all.extend_from_slice(args);
        match Cli::try_parse_from(all).expect("the child's arguments parse").command {
            Command::Validate(v) => v,
            _ => panic!("not validate"),
        }
    }

    fn job(kind: &'static str, file: &str) -> Job {
        Job {
            file: file.into(),
            kind,
            algorithm: String::new(),
            plan: Plan { tasks: Vec::new(), graph: None, kernels: "", cut_every: 0 },
            mode: Mode::Latency,
            predicted: 0.0,
            roofline: None,
            within_memory: true,
            stages: Vec::new(),
        }
    }

    /// Of a plan's runs in several processes, the median one is kept (the lower of two
    /// middles), with every process's time; a run that measured nothing counts as slowest.
    #[test]
    fn the_median_process_is_kept_with_every_time() {
        let run = |ms: f64| vec![json!({"status": "measured", "measured_ms": ms})];
        let kept = median_run(vec![run(3.0), run(1.0), run(2.0)]);
        assert_eq!(kept[0]["measured_ms"], 2.0);
        assert_eq!(kept[0]["processes_ms"], json!([3.0, 1.0, 2.0]));
        let kept = median_run(vec![run(4.0), run(1.0), run(3.0), run(2.0)]);
        assert_eq!(kept[0]["measured_ms"], 2.0);
        let failed = vec![json!({"status": "error"})];
        assert_eq!(median_run(vec![failed.clone(), run(5.0), run(6.0)])[0]["measured_ms"], 6.0);
        assert_eq!(median_run(vec![run(1.0)]), run(1.0));
    }

    /// `--stage-times` takes every GPU's stages of several groups, and times the schedule whole
    /// only where one GPU holds all of it (whatever its K).
    #[test]
    fn stage_times_take_concurrent_stages_and_one_gpu_schedules() {
        let mut j = job("hios", "s.json");
        j.stages = vec![vec![vec![vec![0]], vec![vec![1], vec![2, 3]]], vec![]];
        assert_eq!(j.concurrent_stages(), vec![vec![vec![1], vec![2, 3]]]);
        assert_eq!(j.one_gpu_stages(), Some(j.stages[0].as_slice()));
        j.stages[1] = vec![vec![vec![4], vec![5]]];
        assert_eq!(j.concurrent_stages().len(), 2);
        assert_eq!(j.one_gpu_stages(), None);
    }

    /// A plan's own process gets the parent's options back, for that plan alone, in process.
    #[test]
    fn a_child_runs_one_plan_with_the_parents_options() {
        let parent = parse(
            &[
                "validate",
                "w.json",
                "a.json",
                "b.json",
                "--graphs",
                "--latency",
                "--samples",
                "7",
                "--repeats",
                "2",
                "--copy-blocks",
                "66",
                "--ignore-memory",
                "--stage-times",
                "--trace",
                "--processes",
                "3",
            ]
            .map(Into::into),
        );
        let child = parse(&child_args(&parent, &job("latency", "b.json"), Path::new("/tmp/o.json")));
        assert_eq!(child.workload, parent.workload);
        assert_eq!(child.placements, vec![std::path::PathBuf::from("b.json")]);
        assert!(child.schedules.is_empty());
        assert!(child.graphs && child.latency && !child.busy && child.in_process && child.ignore_memory);
        assert!(child.stage_times && child.trace);
        assert_eq!(child.processes, 1, "a child runs its plan once");
        assert_eq!((child.samples, child.repeats), (7, 2));
        assert_eq!(child.copy.kernel(), parent.copy.kernel());
        assert_eq!(child.out.as_deref(), Some(Path::new("/tmp/o.json")));
        // A schedule, busy kernels, word copies.
        let parent = parse(&["validate", "w.json", "--schedule", "s.json", "--busy", "--word-copies"].map(Into::into));
        let child = parse(&child_args(&parent, &job("hios", "s.json"), Path::new("o.json")));
        assert_eq!(child.schedules, vec![std::path::PathBuf::from("s.json")]);
        assert!(child.placements.is_empty() && child.busy && !child.graphs && child.copy.word_copies);
        assert!(!child.ignore_memory && !child.stage_times && !child.trace);
        assert_eq!((child.samples, child.repeats), (parent.samples, parent.repeats));
        // The diagnostics.
        let parent = parse(
            &[
                "validate",
                "w.json",
                "a.json",
                "--copy-engine",
                "--host-polled-imports",
                "--no-copies",
                "--side-branches",
                "2",
                "--cut-every",
                "4",
                "--remote-branches",
                "8",
                "--remote-return",
                "16",
            ]
            .map(Into::into),
        );
        let child = parse(&child_args(&parent, &job("latency", "a.json"), Path::new("o.json")));
        assert_eq!(child.copy.kernel(), crate::gpu::plan::CopyKernel::Engine);
        assert!(child.host_polled_imports && child.no_copies);
        assert_eq!(child.side_branches, 2);
        assert_eq!(child.cut_every, 4);
        assert_eq!((child.remote_branches, child.remote_return), (8, 16));
        // The rows say the return only where it is not the default (rows before it say nothing).
        let fields = |a: &ValidateOptions| diagnostics(a).into_iter().map(|(k, _)| k).collect::<Vec<_>>();
        assert!(fields(&parent).contains(&"remote_return"));
        let plain = parse(&["validate", "w.json", "a.json", "--remote-branches", "8"].map(Into::into));
        assert!(!fields(&plain).contains(&"remote_return") && fields(&plain).contains(&"remote_branches"));
    }
}

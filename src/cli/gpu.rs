//! `bench profile` and `bench validate`: the commands that need real GPUs. Both build what
//! they run on the CPU (zoo graphs, execution plans) and hand it to `crate::gpu`.

use super::args::{CacheState, ProfileArgs, ValidateArgs};
use super::gen_spec;
use super::hios::GPU_CAPACITY;
use crate::error::{Error, Result};
use crate::evaluate::{evaluate, Violation};
use crate::gpu::plan::{self, CopyKernel, Plan, ELEMENT_BYTES};
use crate::gpu::{issue, relative_error, LinkFit, Measurement, Mode};
use crate::hios::{simulate, Contention, Problem, Schedule};
use crate::placement::Split;
use crate::results::write_atomic;
use crate::workload::{parse_workload, Workload};
use crate::zoo::cost::Link;
use crate::zoo::export::{node_ops, Granularity, Measured};
use crate::zoo::graph::OpGraph;
use crate::zoo::{build, generate, generate_measured, spec_from_provenance, to_text, GenSpec};
use serde_json::{json, Value};
use std::path::Path;

fn gpu_err(what: &str) -> impl Fn(String) -> Error + '_ {
    move |e| Error::Usage(format!("{what}: {e}"))
}

fn now() -> String {
    humantime::format_rfc3339_seconds(std::time::SystemTime::now()).to_string()
}

/// The link the profiled workload charges per edge: GPU to GPU where two GPUs were measured
/// (the copy, plus the exchange latency of graph replays), else host staging (device to host,
/// then host to device), the paper's model.
fn edge_link(fits: &[LinkFit], exchange: Option<&ExchangeLatency>) -> Link {
    if let Some(f) = fits.iter().find(|f| f.name.starts_with("GPU 0 to GPU 1")) {
        let extra = exchange.map_or(0.0, |x| x.graphs_ms);
        return Link {
            name: match exchange {
                Some(_) => format!("{}, plus the exchange latency of graph replays", f.name),
                None => f.name.clone(),
            },
            bandwidth: f.bytes_per_ms * 1e3,
            latency: (f.alpha_ms + extra) / 1e3,
            source: "measured by bench profile".into(),
        };
    }
    let get = |prefix: &str| fits.iter().find(|f| f.name.starts_with(prefix));
    match (get("device-to-host"), get("host-to-device")) {
        (Some(d), Some(h)) => Link {
            name: "host staging (device to host, host to device; one GPU measured)".into(),
            bandwidth: 1e3 / (1.0 / d.bytes_per_ms + 1.0 / h.bytes_per_ms),
            latency: (d.alpha_ms + h.alpha_ms) / 1e3,
            source: "measured by bench profile".into(),
        },
        _ => Link { name: "none measured".into(), bandwidth: f64::INFINITY, latency: 0.0, source: String::new() },
    }
}

/// What an exchange between two GPUs costs the executor beyond its copy, per launch mode:
/// chains of busy tasks run one sample at a time, alternating between GPUs 0 and 1 or all on
/// GPU 0; the difference per hop, less the copy's fitted time. It covers the consumer's wait
/// on an event of another GPU and, under graph replay, the launch of one more segment.
#[derive(Debug, Clone, serde::Serialize)]
struct ExchangeLatency {
    graphs_ms: f64,
    eager_ms: f64,
    hops: usize,
    bytes: usize,
    task_ms: f64,
    /// Per sample: [two GPUs, one GPU] for graphs, then for eager launches.
    chains_ms: [[f64; 2]; 2],
    method: &'static str,
}

fn measure_exchange(
    fits: &[LinkFit],
    devices: usize,
    copy: CopyKernel,
) -> std::result::Result<Option<ExchangeLatency>, String> {
    let Some(link) = fits.iter().find(|f| f.name.starts_with("GPU 0 to GPU 1")) else { return Ok(None) };
    if devices < 2 {
        return Ok(None);
    }
    let (hops, bytes, task_ms) = (32, 16 << 10, 0.005);
    let copy_ms = link.alpha_ms + bytes as f64 / link.bytes_per_ms;
    let mut chains_ms = [[0.0; 2]; 2];
    for (i, graphs) in [true, false].into_iter().enumerate() {
        for (j, gpus) in [2, 1].into_iter().enumerate() {
            let plan = plan::ping_pong(hops, gpus, task_ms, bytes);
            chains_ms[i][j] = crate::gpu::execute(&plan, Mode::Latency, 50, 2, graphs, copy)?.per_sample_ms;
        }
    }
    let per_hop = |c: [f64; 2]| ((c[0] - c[1]) / hops as f64 - copy_ms).max(0.0);
    Ok(Some(ExchangeLatency {
        graphs_ms: per_hop(chains_ms[0]),
        eager_ms: per_hop(chains_ms[1]),
        hops,
        bytes,
        task_ms,
        chains_ms,
        method: "chains of hops + 1 busy tasks, one sample at a time (median of 100 samples), alternating GPUs 0 and 1 vs all on GPU 0: (two - one) / hops - the copy fit's time for bytes",
    }))
}

/// What forking a graph replay's stream into parallel groups and joining them costs: stages
/// of 1, 2 and 4 busy groups (`plan::fork_join`) replayed one sample at a time; per stage and
/// group beyond the first, the least-squares slope of the time per sample over the groups.
#[derive(Debug, Clone, serde::Serialize)]
struct ForkJoin {
    per_extra_group_ms: f64,
    stages: usize,
    task_ms: f64,
    groups: Vec<usize>,
    per_sample_ms: Vec<f64>,
    method: &'static str,
}

fn measure_fork_join(copy: CopyKernel) -> std::result::Result<ForkJoin, String> {
    let (stages, task_ms, groups) = (64, 0.004, vec![1, 2, 4]);
    let mut per_sample_ms = Vec::new();
    for &g in &groups {
        let plan = plan::fork_join(stages, g, task_ms);
        per_sample_ms.push(crate::gpu::execute(&plan, Mode::Latency, 50, 3, true, copy)?.per_sample_ms);
    }
    // Slope of (time per sample, extra groups per stage) through the g = 1 point.
    let (mut num, mut den) = (0.0, 0.0);
    for (&g, &t) in groups.iter().zip(&per_sample_ms) {
        let x = (stages * (g - 1)) as f64;
        num += x * (t - per_sample_ms[0]);
        den += x * x;
    }
    Ok(ForkJoin {
        per_extra_group_ms: if den > 0.0 { (num / den).max(0.0) } else { 0.0 },
        stages,
        task_ms,
        groups,
        per_sample_ms,
        method: "stages of 1, 2, 4 one-warp busy tasks (they overlap fully) on as many streams, every task after the whole stage before, CUDA-graph replayed one sample at a time (median of 3 repeats of 50 samples): least-squares slope of the time per sample over stages x (groups - 1), through the one-group point",
    })
}

/// Pairs of different operators run at once (each operator beside the one before it), summed
/// over the pairs measured: their time, the two one after the other, and what the stage
/// formula (`hios::shared_stage_time`) makes of them from their warm times and occupancies.
#[derive(Debug, Clone, serde::Serialize)]
struct Pairs {
    pairs: usize,
    measured_ms: f64,
    serial_ms: f64,
    formula_ms: f64,
    method: &'static str,
}

fn pair_summary(ops: &[crate::gpu::OpTimes]) -> Pairs {
    let mut p = Pairs {
        pairs: 0,
        measured_ms: 0.0,
        serial_ms: 0.0,
        formula_ms: 0.0,
        method: "each operator launched at once with the one before it in the graph on two streams (warm, own buffers, a CUDA graph of runs launches, median of five), over the pairs where both launch kernels; formula: hios::shared_stage_time of the two warm times with their warm occupancies and the default beta",
    };
    for w in ops.windows(2) {
        let (a, b) = (&w[0], &w[1]);
        let (Some(ua), Some(ub)) = (a.occupancy(), b.occupancy()) else { continue };
        if b.gpu_pair_ms <= 0.0 {
            continue;
        }
        p.pairs += 1;
        p.measured_ms += b.gpu_pair_ms;
        p.serial_ms += a.gpu_ms + b.gpu_ms;
        p.formula_ms += crate::hios::shared_stage_time(&[a.gpu_ms, b.gpu_ms], &[ua, ub], crate::hios::DEFAULT_BETA);
    }
    p
}

pub fn profile(a: ProfileArgs) -> Result<i32> {
    if a.model.embedded {
        return Err(Error::Usage("bench profile takes one MODEL, not --embedded".into()));
    }
    let spec = gen_spec(&a.model)?;
    if spec.export.training {
        return Err(Error::Usage("bench profile measures forward operators: drop --training".into()));
    }
    let info = crate::gpu::probe().map_err(gpu_err("bench profile"))?;
    let g = build(&spec);
    eprintln!("{} x {} ({}): profiling {} operators", info.devices, info.name, info.driver, g.ops.len());
    let bar = super::progress_bar(g.ops.len(), false);
    let profile = crate::gpu::profile_ops(&g, a.warmup, a.runs, || {
        if let Some(b) = &bar {
            b.inc(1);
        }
    })
    .map_err(gpu_err("bench profile"))?;
    if let Some(b) = bar {
        b.finish_and_clear();
    }
    let copy = a.copy.kernel();
    let fits = crate::gpu::profile_links(a.runs, copy).map_err(gpu_err("bench profile"))?;
    for f in &fits {
        eprintln!(
            "{}: {:.4} ms + bytes / {:.1} GB/s (fit within {:.0}%)",
            f.name,
            f.alpha_ms,
            f.bytes_per_ms / 1e6,
            100.0 * f.max_relative_error
        );
    }
    let exchange = measure_exchange(&fits, info.devices, copy).map_err(gpu_err("bench profile"))?;
    let interference = crate::gpu::profile_copy_interference(a.runs, copy).map_err(gpu_err("bench profile"))?;
    if let Some(x) = &interference {
        eprintln!(
            "a copy from GPU 0 beside an SM-filling kernel on GPU 1: {:.3} ms and {:.3} ms alone, {:.3} ms together ({:.0}% of the shorter lost)",
            x.copy_ms,
            x.compute_ms,
            x.together_ms,
            100.0 * x.lost_share
        );
    }
    if let Some(x) = &exchange {
        eprintln!(
            "exchange between GPUs beyond its copy: {:.4} ms under graph replay, {:.4} ms eager",
            x.graphs_ms, x.eager_ms
        );
    }
    let fork_join = measure_fork_join(copy).map_err(gpu_err("bench profile"))?;
    eprintln!(
        "forking a graph replay into parallel streams and joining them: {:.4} ms per stage and extra group ({:?} groups: {:?} ms per sample)",
        fork_join.per_extra_group_ms, fork_join.groups, fork_join.per_sample_ms
    );
    let link = edge_link(&fits, exchange.as_ref());
    let working_set = working_set_bytes(&g);
    let cold = match a.cache {
        CacheState::Warm => false,
        CacheState::Cold => true,
        CacheState::Auto => working_set > profile.l2_bytes as f64,
    };
    let ops = &profile.ops;
    let warm_ms: Vec<f64> = ops.iter().map(|t| t.gpu_ms).collect();
    let cold_ms: Vec<f64> = ops.iter().map(|t| t.gpu_cold_ms).collect();
    let gpu_ms = if cold { cold_ms.clone() } else { warm_ms.clone() };
    let host_ms: Vec<f64> = ops.iter().map(|t| t.host_ms).collect();
    let eager_ms: Vec<f64> = gpu_ms.iter().zip(&host_ms).map(|(g, h)| g.max(*h)).collect();
    let occupancy: Vec<Option<f64>> = ops.iter().map(|t| t.occupancy()).collect();
    let together_ms: Vec<f64> = ops.iter().map(|t| t.gpu_together_ms).collect();
    let together_cold_ms: Vec<f64> = ops.iter().map(|t| t.gpu_together_cold_ms).collect();
    let pair_ms: Vec<f64> = ops.iter().map(|t| t.gpu_pair_ms).collect();
    let pairs = pair_summary(ops);
    eprintln!(
        "pairs of neighbouring operators launched at once (warm): {:.3} ms in all, against {:.3} one after the other and {:.3} by the stage formula with measured occupancies",
        pairs.measured_ms, pairs.serial_ms, pairs.formula_ms
    );
    let occupancy_cold: Vec<Option<f64>> = ops.iter().map(|t| t.occupancy_cold()).collect();
    eprintln!(
        "operators: {:.3} ms on the GPU warm, {:.3} cold (charged: {}; working set {:.0} MB, L2 {:.0} MB), {:.3} ms to issue from the host, {:.3} ms eager (sum of the larger)",
        warm_ms.iter().sum::<f64>(),
        cold_ms.iter().sum::<f64>(),
        if cold { "cold" } else { "warm" },
        working_set / 1e6,
        profile.l2_bytes as f64 / 1e6,
        host_ms.iter().sum::<f64>(),
        eager_ms.iter().sum::<f64>()
    );
    let how = |cost: &str| {
        json!({
            "gpu": info.name, "gpus": info.devices, "driver": info.driver, "date_utc": now(),
            "kernels": plan::REAL_KERNELS, "precision": "fp32 tensors; TF32 tensor cores allowed in cuDNN and cuBLAS",
            "warmup": a.warmup, "runs": a.runs,
            "statistic": "per operator and launch: GPU time, the median of five replays of a CUDA graph of `runs` launches (events), warm (the operator repeating itself) and cold (each launch after a read of 3x L2 and of its inputs, minus a graph of those reads alone); host time, the median of five rounds of `runs` eager launches (clock)",
            "l2_bytes": profile.l2_bytes, "working_set_bytes": working_set,
            "gpu_time_charged": if cold { "cold" } else { "warm" }, "cache": format!("{:?}", a.cache).to_lowercase(),
            "cost": cost, "links": fits, "copy_kernel": copy, "exchange": exchange, "fork_join": fork_join, "copy_interference": interference, "cpu_times": "from the cost model (not measured)", "sizes": "from the cost model",
            "gpu_ms_total": gpu_ms.iter().sum::<f64>(), "host_ms_total": host_ms.iter().sum::<f64>(),
            "op_gpu_ms": gpu_ms, "op_host_ms": host_ms, "op_gpu_warm_ms": warm_ms, "op_gpu_cold_ms": cold_ms,
            "together": crate::gpu::TOGETHER, "op_gpu_together_ms": together_ms, "op_occupancy": occupancy,
            "op_gpu_together_cold_ms": together_cold_ms, "op_occupancy_cold": occupancy_cold,
            "op_gpu_pair_ms": pair_ms, "pairs": pairs,
            "occupancy": "per operator, its warm time with TOGETHER copies launched at once on as many streams over TOGETHER times its warm time alone, clamped to [1/TOGETHER, 1] (op_occupancy); the same cold, after an L2 flush, against its cold time (op_occupancy_cold); per node, the one that goes with the time charged (crate::gpu::charged_occupancy), weighted by the charged times",
        })
    };
    let mut outputs = vec![(a.model.out.clone(), eager_ms, "eager: max(GPU time, host issue time) per operator")];
    if let Some(p) = &a.gpu_cost_out {
        outputs.push((Some(p.clone()), gpu_ms.clone(), "gpu: GPU time per operator (CUDA-graph replay)"));
    }
    for (out, op_ms, cost) in outputs {
        let measured = Measured {
            op_ms,
            link: link.clone(),
            bytes_per_element: ELEMENT_BYTES as f64,
            op_occupancy: crate::gpu::charged_occupancy(&occupancy, &occupancy_cold, if cold { 1.0 } else { 0.0 }),
        };
        let text = to_text(&generate_measured(&spec, &measured, how(cost))?);
        match out {
            Some(p) => {
                write_atomic(&p, text.as_bytes())?;
                eprintln!("wrote {}", p.display());
            }
            None => print!("{text}"),
        }
    }
    Ok(0)
}

/// Bytes one sample touches: every weight and every operator's output, in fp32. Above the
/// L2 size, weights are evicted between samples and operators run cold.
fn working_set_bytes(g: &OpGraph) -> f64 {
    let elements = g.params() + g.ops.iter().map(|o| o.numel()).sum::<u64>();
    elements as f64 * ELEMENT_BYTES as f64
}

/// A workload read with its raw JSON (for the zoo provenance).
pub(super) fn read_workload(path: &Path) -> Result<(Workload, Value)> {
    let bytes = std::fs::read(path).map_err(|e| Error::input(path, "file", e.to_string()))?;
    let name = path.file_stem().map(|s| s.to_string_lossy().to_string()).unwrap_or_default();
    let w = parse_workload(&bytes, path, &name)?;
    let v: Value = serde_json::from_slice(&bytes).map_err(|e| Error::input(path, "file", e.to_string()))?;
    Ok((w, v))
}

/// What a zoo workload adds: its graph, each node's operators, and the roofline version of
/// the workload when the file itself holds profiled times.
pub(super) struct Zoo {
    graph: OpGraph,
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
    fn exchange(&self, graphs: bool) -> Option<issue::Exchange> {
        let (alpha_ms, bytes_per_ms) = self.link?;
        let latency_ms = if graphs { self.exchange_ms.0 } else { self.exchange_ms.1 };
        Some(issue::Exchange { alpha_ms, bytes_per_ms, latency_ms })
    }
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
    Some(Profile { ops, link, exchange_ms, calibration })
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
    fn of_row(r: &Value, a: &ValidateArgs) -> Run {
        Run {
            devices: r["gpus_present"].as_u64().unwrap_or(1) as usize,
            samples: r["samples"].as_u64().unwrap_or(a.samples as u64) as usize,
            graphs: r["graphs"].as_bool().unwrap_or(a.graphs),
            timing: Timing::of_row(r),
        }
    }
}

fn issue_model(zoo: Option<&Zoo>, job: &Job, run: &Run) -> Option<issue::Prediction> {
    let Run { devices, samples, graphs, timing } = *run;
    let costs = match (zoo.and_then(|z| z.profile.as_ref()), &job.plan.graph) {
        (Some(p), Some(_)) => issue::Costs::of_ops(&job.plan, &p.ops, p.exchange(graphs), graphs, devices),
        (_, None) => issue::Costs::of_busy(&job.plan),
        // Real kernels of a workload without measured times: nothing to model them with.
        (None, Some(_)) => return None,
    };
    Some(match timing {
        Timing::Steady => issue::predict_steady(&job.plan, &costs, devices, samples),
        _ => issue::predict(&job.plan, &costs, job.mode, devices, samples),
    })
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
    s.check(w.len(), usize::MAX).map_err(|e| bad("stages", &e))?;
    let latency = v["latency"].as_f64().ok_or_else(|| bad("latency", "missing"))?;
    let algorithm = v["algorithm"].as_str().unwrap_or("").to_string();
    Ok((s, latency, algorithm))
}

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
}

pub fn validate(a: ValidateArgs) -> Result<i32> {
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
        let plan = match &zoo {
            Some(z) => plan::op_placement(&w, z.graph.clone(), &z.node_ops, &placement),
            None => plan::busy_placement(&w, &placement, &e),
        };
        let within_memory = !e.violations.iter().any(|v| matches!(v, Violation::Memory { .. }));
        jobs.push(Job { file: file.clone(), kind, algorithm, plan, mode, predicted, roofline, within_memory });
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
                Some(simulate(&p, &s).map_err(Error::Usage)?.latency)
            }
            None => None,
        };
        // The schedule's latency under this workload's times (`bench calibrate` may have scaled
        // them since the schedule was made), with the contention `bench hios` defaults to.
        let own = Problem::from_workload(&w, GPU_CAPACITY, Contention::default());
        let resimulated = simulate(&own, &s).map_err(Error::Usage)?.latency;
        if zoo.as_ref().and_then(|z| z.profile.as_ref()).is_none_or(|p| p.calibration.is_none())
            && (resimulated - predicted).abs() > 1e-9 * predicted.abs().max(1.0)
        {
            eprintln!(
                "{}: latency {predicted} differs from {resimulated} simulated here (another --beta or workload?): the row uses {resimulated}",
                file.display()
            );
        }
        let predicted = resimulated;
        let plan = plan::schedule(&w, &s, graph).map_err(Error::Usage)?;
        jobs.push(Job {
            file: file.clone(),
            kind: "hios",
            algorithm,
            plan,
            mode: Mode::Latency,
            predicted,
            roofline,
            within_memory: true,
        });
    }
    if let Some(path) = &a.measured {
        return remodel(&a, path, &w, zoo.as_ref(), &jobs, rows);
    }
    crate::gpu::probe().map_err(gpu_err("bench validate"))?;
    if !a.in_process && (jobs.len() > 1 || a.processes > 1) {
        return validate_each_in_its_process(&a, &w, &jobs, rows);
    }
    let mut failed = false;
    for job in &jobs {
        let Job { file, kind, algorithm, plan, mode, .. } = job;
        // One failing plan (a kernel the library refuses, memory) is a row with its error; the
        // others still run, and the exit code says something failed.
        eprintln!("{} {kind} {algorithm}: running {} tasks on {} GPU(s)", w.name, plan.tasks.len(), plan.gpus());
        match crate::gpu::execute(plan, *mode, a.samples, a.repeats, a.graphs, a.copy.kernel()) {
            Ok(m) => {
                let run = Run { devices: m.gpu.devices, samples: a.samples, graphs: a.graphs, timing: timed(&m).0 };
                let issue = issue_model(zoo.as_ref(), job, &run);
                rows.push(row(&w, zoo.as_ref(), job, &m, issue))
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

/// The arguments that run `job` alone in a process of its own, with `a`'s options, its rows
/// written to `out`.
fn child_args(a: &ValidateArgs, job: &Job, out: &Path) -> Vec<std::ffi::OsString> {
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
        (true, "--in-process"),
    ];
    for (on, flag) in flags {
        if on {
            v.push(flag.into());
        }
    }
    v.extend(["--samples".into(), a.samples.to_string().into(), "--repeats".into(), a.repeats.to_string().into()]);
    if a.copy.word_copies {
        v.push("--word-copies".into());
    } else {
        v.extend(["--copy-blocks".into(), a.copy.copy_blocks.to_string().into()]);
    }
    v.extend(["--out".into(), out.as_os_str().to_owned()]);
    v
}

/// Runs each plan in `--processes` processes of its own (`child_args`), the plans in turn, and
/// gathers after `rows` each plan's row of the median time with every process's time; a
/// process that fails is a row with its error, and the exit code says so.
fn validate_each_in_its_process(a: &ValidateArgs, w: &Workload, jobs: &[Job], mut rows: Vec<Value>) -> Result<i32> {
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

fn write_rows(a: &ValidateArgs, rows: &[Value]) -> Result<()> {
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
    a: &ValidateArgs,
    path: &Path,
    w: &Workload,
    zoo: Option<&Zoo>,
    jobs: &[Job],
    mut rows: Vec<Value>,
) -> Result<i32> {
    let text = std::fs::read(path).map_err(|e| Error::input(path, "file", e.to_string()))?;
    let old: Vec<Value> = serde_json::from_slice(&text).map_err(|e| Error::input(path, "rows", e.to_string()))?;
    let mut failed = false;
    for job in jobs {
        let name = job.file.file_name().map(|f| f.to_string_lossy().to_string());
        let found = old.iter().find(|r| r["file"].as_str() == name.as_deref() && r["status"] == "measured");
        // Rows measured on the workload before `bench calibrate` scaled it still apply.
        let before = zoo.and_then(|z| z.profile.as_ref()).and_then(|p| p.calibration.as_ref()).map(|c| &c.from_hashes);
        let ours = |r: &Value| {
            r["workload_hash"] == json!(w.content_hash)
                || before.is_some_and(|h| h.iter().any(|h| r["workload_hash"] == json!(h)))
        };
        match found {
            Some(r) if ours(r) => {
                let model = issue_model(zoo, job, &Run::of_row(r, a));
                let mut r = r.clone();
                predict(&mut r, w, zoo, job, model);
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

    fn parse(args: &[std::ffi::OsString]) -> ValidateArgs {
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
            plan: Plan { tasks: Vec::new(), graph: None, kernels: "" },
            mode: Mode::Latency,
            predicted: 0.0,
            roofline: None,
            within_memory: true,
        }
    }

    /// Worked by hand: B (2 ms, u 0.5) beside A (1 ms, u 0.5) measured 2.5 ms; the formula
    /// gives max(0.5 + 1, 2) = 2 plus beta 0.1 × (1 − 1 = 0 over) × 1 = 2; serial 3. C launches
    /// nothing and is left out, as is the first operator.
    #[test]
    fn pairs_sum_measured_serial_and_formula_times() {
        let t = |ms: f64, pair: f64| crate::gpu::OpTimes {
            gpu_ms: ms,
            gpu_together_ms: 2.0 * ms,
            gpu_pair_ms: pair,
            ..Default::default()
        };
        let p = pair_summary(&[t(1.0, 0.0), t(2.0, 2.5), crate::gpu::OpTimes::default()]);
        assert_eq!((p.pairs, p.measured_ms, p.serial_ms, p.formula_ms), (1, 2.5, 3.0, 2.0));
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
        assert_eq!(child.processes, 1, "a child runs its plan once");
        assert_eq!((child.samples, child.repeats), (7, 2));
        assert_eq!(child.copy.kernel(), parent.copy.kernel());
        assert_eq!(child.out.as_deref(), Some(Path::new("/tmp/o.json")));
        // A schedule, busy kernels, word copies.
        let parent = parse(&["validate", "w.json", "--schedule", "s.json", "--busy", "--word-copies"].map(Into::into));
        let child = parse(&child_args(&parent, &job("hios", "s.json"), Path::new("o.json")));
        assert_eq!(child.schedules, vec![std::path::PathBuf::from("s.json")]);
        assert!(child.placements.is_empty() && child.busy && !child.graphs && child.copy.word_copies);
        assert!(!child.ignore_memory);
        assert_eq!((child.samples, child.repeats), (parent.samples, parent.repeats));
    }
}

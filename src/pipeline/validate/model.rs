//! What a validate row holds and predicts: the profile and its calibration, the zoo graph of a
//! zoo workload, one job (a plan and how it is timed), the row and its three predictions.

use super::*;

/// What a zoo workload adds: its graph, each node's operators, and the roofline version of
/// the workload when the file itself holds profiled times.
pub(crate) struct Zoo {
    pub(crate) graph: OpGraph,
    pub(crate) node_ops: Vec<Vec<usize>>,
    pub(crate) granularity: Granularity,
    pub(crate) roofline: Option<Workload>,
    /// Per-operator GPU and host times and the GPU-to-GPU copy fit of a profiled workload.
    pub(crate) profile: Option<Profile>,
}

/// What the issue model needs from a profiled workload's provenance.
pub(crate) struct Profile {
    pub(crate) ops: issue::OpCosts,
    /// α (ms) and bytes per ms of copies between GPUs, where two GPUs were measured.
    pub(crate) link: Option<(f64, f64)>,
    /// Exchange latency beyond the copy (ms): under graph replay, and eager; 0 in profiles
    /// made before it was measured.
    pub(crate) exchange_ms: (f64, f64),
    /// What `bench links` measured under graph replay (`bench calibrate --links`): a hop's
    /// time, a queued copy's, and their copies' bytes.
    pub(crate) hops: Option<(f64, f64, f64)>,
    /// Where `bench calibrate` scaled the profile.
    pub(crate) calibration: Option<Calibrated>,
}

/// What `bench calibrate` anchored a profile to: the algorithm of its plan (the whole model on
/// one GPU) and the kinds of its rows, and the content hashes of the workload before (rows
/// measured on those still apply).
pub(crate) struct Calibrated {
    pub(crate) algorithm: String,
    pub(crate) kinds: Vec<String>,
    pub(crate) from_hashes: Vec<String>,
}

impl Profile {
    /// Under graph replay with hops measured, a copy alone costs its hop less the graph launch
    /// the model charges apart, and a queued one its slot, each with the link fit's bandwidth for
    /// bytes beyond the measured ones; else the link fit's α and the exchange latency.
    pub(crate) fn exchange(&self, graphs: bool) -> Option<issue::Exchange> {
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

pub(crate) fn profile_of(v: &Value) -> Option<Profile> {
    let p = crate::pipeline::provenance::Profiled::of(v)?;
    let (concurrency, concurrency_cold) = (p.efficiencies(false), p.efficiencies(true));
    let link = p.links.as_ref().and_then(|links| {
        let l = links.iter().find(|l| l.name.starts_with("GPU 0 to GPU 1"))?;
        Some((l.alpha_ms?, l.bytes_per_ms?))
    });
    let x = p.exchange.unwrap_or_default();
    let exchange_ms = (x.graphs_ms.unwrap_or(0.0), x.eager_ms.unwrap_or(0.0));
    let hops = x.links.as_ref().and_then(|l| Some((l.hop_ms?, l.queued_copy_ms?, l.bytes?)));
    let c = p.calibration.unwrap_or_default();
    let ops = issue::OpCosts {
        charged_ms: p.op_gpu_ms?,
        warm_ms: p.op_gpu_warm_ms,
        cold_ms: p.op_gpu_cold_ms,
        l2_bytes: p.l2_bytes,
        host_ms: p.op_host_ms?,
        occupancy: p.op_occupancy,
        occupancy_cold: p.op_occupancy_cold,
        sample_overhead_ms: c.sample_overhead_ms.unwrap_or(0.0),
        fork_join_ms: p.fork_join.and_then(|f| f.per_extra_group_ms).unwrap_or(0.0),
        segment_ms: p.segments.and_then(|s| s.per_segment_ms).unwrap_or(0.0),
        concurrency,
        concurrency_cold,
        calibration_scale: c.scale_total(),
        fork_share: c.fork_share.unwrap_or(1.0),
    };
    let calibration = c.rows.as_ref().map(|rows| Calibrated {
        algorithm: c.algorithm.clone().unwrap_or_default(),
        kinds: rows.iter().filter_map(|r| r.kind.clone()).collect(),
        from_hashes: c.hashes(),
    });
    Some(Profile { ops, link, exchange_ms, hops, calibration })
}

/// How a row's measured time was taken.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Timing {
    /// One sample start to finish.
    Latency,
    /// A stream of `samples` samples over `samples`, fill and drain included (rows measured
    /// before steady-state timing, which carry no `timing` field).
    Stream,
    /// A pipeline in steady state (see `Measurement::steady_ms_per_sample`).
    Steady,
}

impl Timing {
    pub(crate) fn of_row(r: &Value) -> Timing {
        match r["timing"].as_str() {
            Some("steady") => Timing::Steady,
            Some("latency") => Timing::Latency,
            Some(_) => Timing::Stream,
            None if r["kind"] == "throughput" => Timing::Stream,
            None => Timing::Latency,
        }
    }

    pub(crate) fn name(self) -> &'static str {
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
pub(crate) struct Run {
    pub(crate) devices: usize,
    pub(crate) samples: usize,
    pub(crate) graphs: bool,
    pub(crate) timing: Timing,
}

impl Run {
    /// As an earlier row says it was run (`--measured`); what it lacks, as `a` says.
    pub(crate) fn of_row(r: &Value, a: &ValidateOptions) -> Run {
        Run {
            devices: r["gpus_present"].as_u64().unwrap_or(1) as usize,
            samples: r["samples"].as_u64().unwrap_or(a.samples as u64) as usize,
            graphs: r["graphs"].as_bool().unwrap_or(a.graphs),
            timing: Timing::of_row(r),
        }
    }
}

pub(crate) fn issue_model(zoo: Option<&Zoo>, job: &Job, run: &Run) -> Option<issue::Prediction> {
    let Run { devices, samples, timing, .. } = *run;
    let costs = issue_costs(zoo, job, run)?;
    Some(match timing {
        Timing::Steady => issue::predict_steady(&job.plan, &costs, devices, samples),
        _ => issue::predict(&job.plan, &costs, job.mode, devices, samples),
    })
}

/// The issue model's costs of `job` run as `run` says: real kernels from the profile's times,
/// busy kernels from their spin times; `None` for real kernels without measured times.
pub(crate) fn issue_costs(zoo: Option<&Zoo>, job: &Job, run: &Run) -> Option<issue::Costs> {
    let Run { devices, graphs, .. } = *run;
    match (zoo.and_then(|z| z.profile.as_ref()), &job.plan.graph) {
        (Some(p), Some(_)) => {
            Some(issue::Costs::of_ops(&job.plan, &p.ops, p.exchange(graphs), graphs, devices, job.mode))
        }
        (_, None) => Some(issue::Costs::of_busy(&job.plan)),
        (None, Some(_)) => None,
    }
}

pub(crate) fn zoo_of(w: &Workload, v: &Value) -> Result<Option<Zoo>> {
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

pub(crate) fn roofline_of(spec: &GenSpec, name: &str) -> Result<Workload> {
    let text = serde_json::to_vec(&generate(spec)?).map_err(|e| Error::Usage(e.to_string()))?;
    parse_workload(&text, Path::new(name), name)
}

/// A HIOS schedule file back as a schedule of `w`'s node indices, and its predicted latency.
pub(crate) fn load_schedule(w: &Workload, path: &Path) -> Result<(Schedule, f64, String)> {
    let f = crate::hios::file::ScheduleFile::load(path)?;
    Ok((f.schedule(w, path)?, f.latency, f.algorithm))
}

/// Warm-up launches and launches per CUDA graph when timing stages alone (`--stage-times`),
/// as `bench profile` times operators by default.
pub(crate) const STAGE_WARMUP: usize = 5;
pub(crate) const STAGE_RUNS: usize = 20;

/// One placement or schedule to run: its plan, how, and what it is predicted to take.
pub(crate) struct Job {
    pub(crate) file: std::path::PathBuf,
    pub(crate) kind: &'static str,
    pub(crate) algorithm: String,
    pub(crate) plan: Plan,
    pub(crate) mode: Mode,
    pub(crate) predicted: f64,
    pub(crate) roofline: Option<f64>,
    /// Whether the placement keeps the workload's memory limits (schedules: always).
    pub(crate) within_memory: bool,
    /// A schedule of operators' stages per GPU, each a list of groups of operator indices
    /// (placements and busy-kernel schedules: none), for `--stage-times`.
    pub(crate) stages: Vec<Vec<Vec<Vec<usize>>>>,
}

impl Job {
    /// Its stages of several groups, every GPU's, in order.
    pub(crate) fn concurrent_stages(&self) -> Vec<Vec<Vec<usize>>> {
        self.stages.iter().flatten().filter(|stage| stage.len() > 1).cloned().collect()
    }

    /// All its stages in order where it uses one GPU (whatever its K).
    pub(crate) fn one_gpu_stages(&self) -> Option<&[Vec<Vec<usize>>]> {
        match self.stages.iter().filter(|stages| !stages.is_empty()).collect::<Vec<_>>().as_slice() {
            [one] => Some(one.as_slice()),
            _ => None,
        }
    }
}

/// The measurement a row compares with its predictions: steady state for pipelines (what the
/// max-load predicts), one sample start to finish for latencies.
pub(crate) fn timed(m: &Measurement) -> (Timing, f64, &[f64]) {
    match m.steady_ms_per_sample {
        Some(ms) => (Timing::Steady, ms, &m.steady_repeats_ms),
        None => (Timing::Latency, m.per_sample_ms, &m.repeats_ms),
    }
}

/// Whether `job` is a plan of the kind its workload's profile was calibrated on: the whole
/// model on one GPU by the calibration's algorithm, in steady state or one sample at a time
/// (its own prediction then reproduces a measurement by construction).
pub(crate) fn calibration_row(zoo: Option<&Zoo>, job: &Job) -> bool {
    let calibrated = zoo.and_then(|z| z.profile.as_ref()).and_then(|p| p.calibration.as_ref());
    calibrated
        .is_some_and(|c| job.plan.gpus() == 1 && job.algorithm == c.algorithm && c.kinds.iter().any(|k| k == job.kind))
}

pub(crate) fn row(
    w: &Workload,
    zoo: Option<&Zoo>,
    job: &Job,
    m: &Measurement,
    model: Option<issue::Prediction>,
) -> Value {
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
    let stream = (timing == Timing::Steady).then_some(StreamTimes { ms: m.per_sample_ms, repeats_ms: &m.repeats_ms });
    let mut r = new_row(&Measured {
        schema_version: crate::pipeline::row::VALIDATE_SCHEMA_VERSION,
        workload: &w.name,
        workload_hash: &w.content_hash,
        file: file.file_name().map(|f| f.to_string_lossy().to_string()),
        kind,
        algorithm,
        status: "measured",
        kernels: plan.kernels,
        gpus_in_plan: plan.gpus(),
        devices_used: m.devices_used,
        gpu: &m.gpu.name,
        gpus_present: m.gpu.devices,
        driver: &m.gpu.driver,
        peer_access: m.peer_access,
        measured_ms: measured,
        timing: timing.name(),
        repeats_ms: repeats,
        spread,
        samples: m.samples,
        stream,
        issue_ms_per_sample: m.issue_ms_per_sample,
        graphs: m.graphs,
        copy_kernel: m.copy_kernel,
        date_utc: now(),
        extra_add_kernels: 0,
    });
    predict(&mut r, w, zoo, job, model);
    r
}

/// Writes into row `r` (its `measured_ms` set) every prediction for `job`: the workload's own,
/// the roofline's and the issue model's, with their errors, the workload they come from, and
/// whether `job` is the row its profile was calibrated on.
pub(crate) fn predict(r: &mut Value, w: &Workload, zoo: Option<&Zoo>, job: &Job, model: Option<issue::Prediction>) {
    let issue = model.map(|p| p.per_sample_ms);
    let measured = r["measured_ms"].as_f64().unwrap_or(f64::NAN);
    let devices = r["gpus_present"].as_u64().unwrap_or(1) as usize;
    let graphs = r["graphs"] == true;
    let p = Predictions {
        predicted_ms: job.predicted,
        relative_error: relative_error(measured, job.predicted),
        roofline_predicted_ms: job.roofline,
        roofline_relative_error: job.roofline.map(|p| relative_error(measured, p)),
        issue_model_ms: issue,
        issue_model_relative_error: issue.map(|p| relative_error(measured, p)),
        issue_model_host_ms: model.map(|p| p.host_ms),
        model_workload_hash: w.content_hash.clone(),
        calibration_row: calibration_row(zoo, job),
        profile_calibrated: zoo.and_then(|z| z.profile.as_ref()).is_some_and(|p| p.calibration.is_some()),
        within_memory: job.within_memory,
        extra_add_kernels: r.get("extra_add_kernels").is_none().then(|| job.plan.extra_add_kernels() as u64),
        graphs_per_sample: graphs.then(|| issue::graphs_per_sample(&job.plan, devices)),
        concurrent_stages: graphs.then(|| issue::concurrent_stages(&job.plan, devices)),
    };
    set_fields(r, &p);
}

//! `bench profile`: a zoo model's operators, copies and launch costs measured on this
//! machine's GPUs (`crate::gpu`), written as dnn-partitioning workloads whose provenance keeps
//! every measurement.

use super::options::{CacheState, LinksOptions, ProfileOptions};
use super::provenance::PROFILE_SCHEMA_VERSION;
use super::{gpu_err, now};
use crate::error::{Error, Result};
use crate::gpu::concurrency::{self, summarize, PeerSet, PeerSummary};
use crate::gpu::plan::{self, CopyKernel, ELEMENT_BYTES};
use crate::gpu::CopyInterference;
use crate::gpu::{ExecOptions, LinkFit, Mode};
use crate::results::write_atomic;
use crate::zoo::cost::Link;
use crate::zoo::export::Measured;
use crate::zoo::graph::OpGraph;
use crate::zoo::{build, generate_measured, to_text};
use serde::{Deserialize, Serialize};

/// What `bench profile` records of its measurements (`placebench.profiled`), written into the
/// workloads it generates; read back as `super::provenance::Profiled`.
#[derive(Debug, Serialize)]
struct Provenance<'a> {
    schema_version: u32,
    gpu: &'a str,
    gpus: usize,
    driver: &'a str,
    date_utc: String,
    kernels: &'static str,
    precision: &'static str,
    warmup: usize,
    runs: usize,
    statistic: &'static str,
    l2_bytes: usize,
    working_set_bytes: f64,
    gpu_time_charged: &'static str,
    cache: String,
    /// `eager` or `gpu`: what each operator is charged.
    cost: &'static str,
    links: &'a [LinkFit],
    copy_kernel: CopyKernel,
    exchange: Option<&'a ExchangeLatency>,
    fork_join: &'a ForkJoin,
    segments: &'a Segments,
    copy_interference: Option<&'a CopyInterference>,
    cpu_times: &'static str,
    sizes: &'static str,
    gpu_ms_total: f64,
    host_ms_total: f64,
    op_gpu_ms: &'a [f64],
    op_host_ms: &'a [f64],
    op_gpu_warm_ms: &'a [f64],
    op_gpu_cold_ms: &'a [f64],
    together: usize,
    op_gpu_together_ms: &'a [f64],
    op_occupancy: &'a [Option<f64>],
    op_gpu_together_cold_ms: &'a [f64],
    op_occupancy_cold: &'a [Option<f64>],
    op_peer: &'a [Option<usize>],
    op_gpu_peer_ms: &'a [f64],
    op_gpu_peer_cold_ms: &'a [f64],
    peers: &'a PeerSummary,
    peers_cold: &'a PeerSummary,
    /// The same for stages of 3 to `concurrency::WIDEST` operators.
    peers_wide: &'a [PeerSummary],
    peers_wide_cold: &'a [PeerSummary],
    occupancy: &'static str,
}

/// A `bench links` file: the copies and exchanges between two GPUs of a machine, no model;
/// `bench calibrate --links` reads its exchange.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct LinksFile {
    pub(crate) placebench_links: Links,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Links {
    /// Files written before the version existed read as version 1.
    #[serde(default = "crate::results::version_one")]
    pub(crate) schema_version: u32,
    pub(crate) gpu: String,
    pub(crate) gpus: usize,
    pub(crate) driver: String,
    pub(crate) date_utc: String,
    pub(crate) runs: usize,
    pub(crate) copy_kernel: CopyKernel,
    pub(crate) links: Vec<LinkFit>,
    pub(crate) exchange: Option<ExchangeLatency>,
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
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct ExchangeLatency {
    pub(crate) graphs_ms: f64,
    pub(crate) eager_ms: f64,
    pub(crate) hops: usize,
    pub(crate) bytes: usize,
    pub(crate) task_ms: f64,
    /// Per sample: [two GPUs, one GPU] for graphs, then for eager launches.
    pub(crate) chains_ms: [[f64; 2]; 2],
    pub(crate) method: String,
    /// Copies queued on the receiving GPU's copy stream (graph replay).
    pub(crate) queued: QueuedCopies,
}

/// What a copy queued behind another on the receiving GPU's copy stream holds that stream,
/// under graph replay: chains whose every hop imports `fan` inputs (`plan::fan_ping_pong`), on
/// two GPUs against one; the least-squares slope of the time per hop over the fan is what one
/// more queued copy costs (`per_copy_ms`, against the copy fit's `copy_ms` for its bytes).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct QueuedCopies {
    pub(crate) per_copy_ms: f64,
    pub(crate) copy_ms: f64,
    pub(crate) fans: Vec<usize>,
    /// Per fan, per sample: [two GPUs, one GPU].
    pub(crate) chains_ms: Vec<[f64; 2]>,
    pub(crate) per_hop_ms: Vec<f64>,
    pub(crate) hops: usize,
    pub(crate) bytes: usize,
    pub(crate) task_ms: f64,
    pub(crate) method: String,
}

/// The least-squares slope of `y` over `x`.
fn slope(x: &[f64], y: &[f64]) -> f64 {
    let n = x.len() as f64;
    let (mx, my) = (x.iter().sum::<f64>() / n, y.iter().sum::<f64>() / n);
    let num: f64 = x.iter().zip(y).map(|(a, b)| (a - mx) * (b - my)).sum();
    let den: f64 = x.iter().map(|a| (a - mx) * (a - mx)).sum();
    if den > 0.0 {
        num / den
    } else {
        0.0
    }
}

fn measure_exchange(fits: &[LinkFit], devices: usize, copy: CopyKernel) -> crate::Result<Option<ExchangeLatency>> {
    let Some(link) = fits.iter().find(|f| f.name.starts_with("GPU 0 to GPU 1")) else { return Ok(None) };
    if devices < 2 {
        return Ok(None);
    }
    let (hops, bytes, task_ms) = (32, 16 << 10, 0.005);
    let copy_ms = link.alpha_ms + bytes as f64 / link.bytes_per_ms;
    let chain = |fan: usize, gpus: usize, graphs: bool| {
        let plan = plan::fan_ping_pong(hops, fan, gpus, task_ms, bytes);
        crate::gpu::execute(&plan, Mode::Latency, 50, 2, ExecOptions::plain(graphs, copy)).map(|m| m.per_sample_ms)
    };
    let mut chains_ms = [[0.0; 2]; 2];
    for (i, graphs) in [true, false].into_iter().enumerate() {
        for (j, gpus) in [2, 1].into_iter().enumerate() {
            chains_ms[i][j] = chain(1, gpus, graphs)?;
        }
    }
    let per_hop = |c: [f64; 2]| ((c[0] - c[1]) / hops as f64 - copy_ms).max(0.0);
    let fans = vec![1, 2, 4, 8];
    let fan_chains: Vec<[f64; 2]> =
        fans.iter().map(|&f| Ok([chain(f, 2, true)?, chain(f, 1, true)?])).collect::<crate::Result<_>>()?;
    let per_hop_ms: Vec<f64> = fan_chains.iter().map(|c| (c[0] - c[1]) / hops as f64).collect();
    let per_copy_ms = slope(&fans.iter().map(|&f| f as f64).collect::<Vec<_>>(), &per_hop_ms);
    Ok(Some(ExchangeLatency {
        graphs_ms: per_hop(chains_ms[0]),
        eager_ms: per_hop(chains_ms[1]),
        hops,
        bytes,
        task_ms,
        chains_ms,
        method: "chains of hops + 1 busy tasks, one sample at a time (median of 100 samples), alternating GPUs 0 and 1 vs all on GPU 0: (two - one) / hops - the copy fit's time for bytes".into(),
        queued: QueuedCopies {
            per_copy_ms,
            copy_ms,
            fans,
            chains_ms: fan_chains,
            per_hop_ms,
            hops,
            bytes,
            task_ms,
            method: "chains of hops + 1 stages of fan busy tasks on one stream, each hop's first task importing every task of the hop before, graph-replayed one sample at a time (median of 100 samples), alternating GPUs 0 and 1 vs all on GPU 0: the least-squares slope of (two - one) / hops over the fan is per_copy_ms; copy_ms, the copy fit's time for bytes".into(),
        },
    }))
}

/// What forking a graph replay's stream into parallel groups and joining them costs: stages
/// of 1, 2 and 4 busy groups (`plan::fork_join`) replayed one sample at a time; per stage and
/// group beyond the first, the least-squares slope of the time per sample over the groups.
#[derive(Debug, Clone, serde::Serialize)]
pub(crate) struct ForkJoin {
    per_extra_group_ms: f64,
    stages: usize,
    task_ms: f64,
    groups: Vec<usize>,
    per_sample_ms: Vec<f64>,
    method: &'static str,
}

fn measure_fork_join(copy: CopyKernel) -> crate::Result<ForkJoin> {
    let (stages, task_ms, groups) = (64, 0.004, vec![1, 2, 4]);
    let mut per_sample_ms = Vec::new();
    for &g in &groups {
        let plan = plan::fork_join(stages, g, task_ms);
        per_sample_ms
            .push(crate::gpu::execute(&plan, Mode::Latency, 50, 3, ExecOptions::plain(true, copy))?.per_sample_ms);
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

/// What replaying a GPU's share of a sample as several graphs costs per graph beyond the
/// first (`crate::gpu::profile_graph_gap`).
#[derive(Debug, Clone, serde::Serialize)]
pub(crate) struct Segments {
    per_segment_ms: f64,
    tasks: usize,
    task_ms: f64,
    one_graph_ms: f64,
    graph_per_task_ms: f64,
    method: &'static str,
}

fn measure_segments() -> crate::Result<Segments> {
    let (tasks, task_ms) = (64, 0.01);
    let [one, many] = crate::gpu::profile_graph_gap(tasks, task_ms, 20)?;
    Ok(Segments {
        per_segment_ms: ((many - one) / (tasks - 1) as f64).max(0.0),
        tasks,
        task_ms,
        one_graph_ms: one,
        graph_per_task_ms: many,
        method: "64 one-warp busy tasks of 0.01 ms on one stream, as one CUDA graph and as 64 graphs of one task launched back to back, timed by events around the whole (median of 20 after one to warm up): the difference over 63",
    })
}

/// The measured peers of `ops` (`concurrency::peers`), as the stage formula sees them: the
/// times and occupancies of both and their time side by side, warm or `cold`. Peers whose
/// occupancy is unknown (one launches nothing) are left out.
fn peer_pairs(ops: &[crate::gpu::OpTimes], cold: bool) -> Vec<PeerSet> {
    let of = |t: &crate::gpu::OpTimes| match cold {
        false => t.occupancy().map(|u| (t.gpu_ms, u, t.gpu_peer_ms)),
        true => t.occupancy_cold().map(|u| (t.gpu_cold_ms, u, t.gpu_peer_cold_ms)),
    };
    ops.iter()
        .filter_map(|b| {
            let ((wa, ua, _), (wb, ub, together)) = (of(&ops[b.peer?])?, of(b)?);
            (together > 0.0).then_some(PeerSet { ms: vec![wa, wb], occupancy: vec![ua, ub], together_ms: together })
        })
        .collect()
}

/// Wider stages of peers (`concurrency::peer_sets`, 3 to `WIDEST` operators) timed side by
/// side as the executor runs a stage, warm and cold, summed per width as pairs are (serial and
/// formula from the operator profile). Sets where an operator launches nothing are left out.
fn wide_peers(
    g: &OpGraph,
    peer: &[Option<usize>],
    ops: &[crate::gpu::OpTimes],
    warmup: usize,
    runs: usize,
) -> Result<(Vec<PeerSummary>, Vec<PeerSummary>)> {
    // An operator as the stage formula sees it, warm or cold: its time alone and occupancy.
    let alone = |i: usize, cold: bool| match cold {
        false => ops[i].occupancy().map(|u| (ops[i].gpu_ms, u)),
        true => ops[i].occupancy_cold().map(|u| (ops[i].gpu_cold_ms, u)),
    };
    let (mut warm, mut cold) = (Vec::new(), Vec::new());
    for width in 3..=concurrency::WIDEST {
        let sets: Vec<Vec<usize>> = concurrency::peer_sets(peer, width, concurrency::MOST_SETS)
            .into_iter()
            .filter(|s| s.iter().all(|&i| alone(i, false).is_some() && alone(i, true).is_some()))
            .collect();
        let stages: Vec<Vec<Vec<usize>>> = sets.iter().map(|s| s.iter().map(|&i| vec![i]).collect()).collect();
        let (times, _) =
            crate::gpu::profile_stages(g, &stages, None, warmup.min(3), runs).map_err(gpu_err("bench profile"))?;
        let of = |cold: bool| -> Vec<PeerSet> {
            sets.iter()
                .zip(&times)
                .map(|(s, t)| {
                    let (ms, occupancy) = s.iter().filter_map(|&i| alone(i, cold)).unzip();
                    let together_ms = if cold { t.side_by_side_cold_ms } else { t.side_by_side_ms };
                    PeerSet { ms, occupancy, together_ms }
                })
                .collect()
        };
        warm.push(summarize(width, &of(false), concurrency::WIDE));
        cold.push(summarize(width, &of(true), concurrency::WIDE));
    }
    Ok((warm, cold))
}

/// `bench links`: the copies and exchanges between GPUs 0 and 1 of this machine, no model.
pub fn links(a: LinksOptions) -> Result<i32> {
    let info = crate::gpu::probe().map_err(gpu_err("bench links"))?;
    if info.devices < 2 {
        return Err(Error::Usage(format!("bench links needs two GPUs; this machine has {}", info.devices)));
    }
    let copy = a.copy.kernel();
    let fits = crate::gpu::profile_links(a.runs, copy).map_err(gpu_err("bench links"))?;
    let exchange = measure_exchange(&fits, info.devices, copy).map_err(gpu_err("bench links"))?;
    let x = exchange.as_ref().ok_or_else(|| Error::Usage("bench links: GPUs 0 and 1 have no peer copy fit".into()))?;
    eprintln!(
        "exchange beyond its copy: {:.4} ms under graph replay, {:.4} eager; a queued copy holds the copy stream {:.4} ms (the copy fit: {:.4}); per hop by fan {:?}: {:?} ms",
        x.graphs_ms, x.eager_ms, x.queued.per_copy_ms, x.queued.copy_ms, x.queued.fans, x.queued.per_hop_ms
    );
    let v = LinksFile {
        placebench_links: Links {
            schema_version: PROFILE_SCHEMA_VERSION,
            gpu: info.name,
            gpus: info.devices,
            driver: info.driver,
            date_utc: now(),
            runs: a.runs,
            copy_kernel: copy,
            links: fits,
            exchange,
        },
    };
    let text = serde_json::to_string_pretty(&v).expect("json");
    write_atomic(&a.out, text.as_bytes())?;
    eprintln!("wrote {}", a.out.display());
    Ok(0)
}

pub fn profile(a: ProfileOptions) -> Result<i32> {
    if a.model.embedded {
        return Err(Error::Usage("bench profile takes one MODEL, not --embedded".into()));
    }
    let spec = a.model.spec()?;
    if spec.export.training {
        return Err(Error::Usage("bench profile measures forward operators: drop --training".into()));
    }
    let info = crate::gpu::probe().map_err(gpu_err("bench profile"))?;
    let g = build(&spec);
    g.check_shapes()?;
    eprintln!("{} x {} ({}): profiling {} operators", info.devices, info.name, info.driver, g.ops.len());
    let bar = crate::run::progress_bar(g.ops.len(), false);
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
    let segments = measure_segments().map_err(gpu_err("bench profile"))?;
    eprintln!(
        "a sample replayed as several graphs: {:.4} ms per graph beyond the first ({} tasks: {:.4} ms in one graph, {:.4} in one graph each)",
        segments.per_segment_ms, segments.tasks, segments.one_graph_ms, segments.graph_per_task_ms
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
    let peer: Vec<Option<usize>> = ops.iter().map(|t| t.peer).collect();
    let peer_ms: Vec<f64> = ops.iter().map(|t| t.gpu_peer_ms).collect();
    let peer_cold_ms: Vec<f64> = ops.iter().map(|t| t.gpu_peer_cold_ms).collect();
    let pair = |cold| summarize(2, &peer_pairs(ops, cold), concurrency::PAIRS);
    let (peers, peers_cold) = (pair(false), pair(true));
    let (peers_wide, peers_wide_cold) = wide_peers(&g, &peer, ops, a.warmup, a.runs)?;
    for (p, how) in [(&peers, "warm"), (&peers_cold, "cold")]
        .into_iter()
        .chain(peers_wide.iter().map(|p| (p, "warm")).chain(peers_wide_cold.iter().map(|p| (p, "cold"))))
    {
        eprintln!(
            "{} sets of {} peers side by side (independent, same depth; {how}): {:.3} ms in all, against {:.3} one after the other and {:.3} by the stage formula with measured occupancies: concurrency efficiency {}",
            p.pairs, p.groups, p.measured_ms, p.serial_ms, p.formula_ms,
            p.efficiency.map_or("unknown".into(), |e| format!("{e:.2}"))
        );
    }
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
    let how = |cost: &'static str| {
        Provenance {
        schema_version: PROFILE_SCHEMA_VERSION,
        gpu: &info.name,
        gpus: info.devices,
        driver: &info.driver,
        date_utc: now(),
        kernels: plan::REAL_KERNELS,
        precision: "fp32 tensors; TF32 tensor cores allowed in cuDNN and cuBLAS",
        warmup: a.warmup,
        runs: a.runs,
        statistic: "per operator and launch: GPU time, the median of five replays of a CUDA graph of `runs` launches (events), warm (the operator repeating itself) and cold (each launch after a read of 3x L2 and of its inputs, minus a graph of those reads alone); host time, the median of five rounds of `runs` eager launches (clock)",
        l2_bytes: profile.l2_bytes,
        working_set_bytes: working_set,
        gpu_time_charged: if cold { "cold" } else { "warm" },
        cache: format!("{:?}", a.cache).to_lowercase(),
        cost,
        links: &fits,
        copy_kernel: copy,
        exchange: exchange.as_ref(),
        fork_join: &fork_join,
        segments: &segments,
        copy_interference: interference.as_ref(),
        cpu_times: "from the cost model (not measured)",
        sizes: "from the cost model",
        gpu_ms_total: gpu_ms.iter().sum::<f64>(),
        host_ms_total: host_ms.iter().sum::<f64>(),
        op_gpu_ms: &gpu_ms,
        op_host_ms: &host_ms,
        op_gpu_warm_ms: &warm_ms,
        op_gpu_cold_ms: &cold_ms,
        together: crate::gpu::TOGETHER,
        op_gpu_together_ms: &together_ms,
        op_occupancy: &occupancy,
        op_gpu_together_cold_ms: &together_cold_ms,
        op_occupancy_cold: &occupancy_cold,
        op_peer: &peer,
        op_gpu_peer_ms: &peer_ms,
        op_gpu_peer_cold_ms: &peer_cold_ms,
        peers: &peers,
        peers_cold: &peers_cold,
        peers_wide: &peers_wide,
        peers_wide_cold: &peers_wide_cold,
        occupancy: "per operator, its warm time with TOGETHER copies launched at once on as many streams over TOGETHER times its warm time alone, clamped to [1/TOGETHER, 1] (op_occupancy); the same cold, after an L2 flush, against its cold time (op_occupancy_cold); per node, the one that goes with the time charged (crate::gpu::charged_occupancy), weighted by the charged times",
    }
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
        let how = serde_json::to_value(how(cost)).map_err(|e| Error::Usage(format!("bench profile: {e}")))?;
        let text = to_text(&generate_measured(&spec, &measured, how)?);
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

#[cfg(test)]
mod tests {
    use super::*;

    /// Worked by hand: B (2 ms, u 0.5) beside its peer A (1 ms, u 0.5) measured 2.5 ms; the
    /// formula gives max(0.5 + 1, 2) = 2 plus beta 0.1 × (1 − 1 = 0 over) × 1 = 2; serial 3,
    /// so η = (3 − 2.5) / (3 − 2) = 0.5. A has no peer and C launches nothing: left out.
    #[test]
    fn peers_sum_measured_serial_and_formula_times() {
        let t = |ms: f64, peer: Option<usize>, together: f64| crate::gpu::OpTimes {
            gpu_ms: ms,
            gpu_together_ms: 2.0 * ms,
            peer,
            gpu_peer_ms: together,
            ..Default::default()
        };
        let ops =
            [t(1.0, None, 0.0), t(2.0, Some(0), 2.5), crate::gpu::OpTimes { peer: Some(0), ..Default::default() }];
        let p = summarize(2, &peer_pairs(&ops, false), concurrency::PAIRS);
        assert_eq!((p.pairs, p.measured_ms, p.serial_ms, p.formula_ms), (1, 2.5, 3.0, 2.0));
        assert_eq!(p.efficiency, Some(0.5));
    }
}

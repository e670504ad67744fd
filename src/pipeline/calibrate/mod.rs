//! `bench calibrate`: anchors a profiled workload's GPU times to measured runs of the whole
//! model on one GPU.
//!
//! `bench profile` times each operator alone, warm (repeating itself) and cold (after L2 was
//! flushed); a model run sits between the two, and on the H100 the sum of cold times overstated
//! every one-GPU graph replay by 13–26% (results/gpu/h100-process-per-plan). Calibration takes
//! the one-device placement's graph replay, each in its own process as `bench validate` runs
//! it, and fits two numbers:
//! - a **scale** of every measured GPU time, from the pipeline in steady state (GPU time per
//!   sample, nothing else): measured over the issue model's prediction. Each operator is then
//!   charged what the issue model charges it on one GPU, `warm + miss × (cold − warm)`, scaled.
//! - a **sample overhead**, from the same plan run one sample at a time: what that costs beyond
//!   the scaled GPU time (the host launching the graph and waking when it ends), which the
//!   issue model adds to every one-sample prediction under graph replay.
//!
//! With `--cuts`, a third number: what each **later graph** of a sample costs (the issue
//! model's `segments.per_segment_ms`), from one-GPU plans replayed whole and cut into more
//! graphs (`bench validate --cut-every`): the difference of their times over the difference of
//! their graph counts (on one GPU cutting changes nothing else the model charges).
//!
//! With `--forked`, a fourth: the **share of the calibration's gain a GPU loses when its
//! sample forks** into parallel streams (the issue model's `fork_share`), from one-GPU plans
//! replayed as they are and with a one-microsecond side branch forked every few stages
//! (`bench validate --side-branches N`): `(forked − whole − forks × fork and join) / ((whole −
//! sample overhead) × (1 / scale − 1))`, of the sparsest forked run per plan, the median over
//! plans, clamped to [0, 1]. One side branch alone costs nothing measurable; one every 8
//! stages costs 33–87% of the gain on an H100 and 48–100% on an H200
//! (`results/gpu/{h100,h200}-side-branches.tar.xz`). The issue model charges the same share to every
//! GPU of a sample run alone over several: one exchange each way lost as much
//! (`results/gpu/h200x2-remote-branches.tar.xz`).
//!
//! With `--links`, what exchanges between GPUs cost as the executor makes them, from a `bench
//! links` file of the same GPU and copy kernel (`exchange.links`): the time per hop of a
//! ping-pong between two GPUs and what each copy queued behind another adds to a hop. The issue
//! model then charges an exchange the hop less a graph launch, and a queued copy its slot,
//! instead of the link fit's α (an event-timed copy alone, 2–2.5 µs more on 2×H200). Not
//! applied to the committed profiles: see `crate::gpu::issue`.
//!
//! Without a pipeline row the scale comes from the one-sample row and the overhead stays 0.
//! Every other row — other plans, concurrent stages, other GPUs and splits — remains a test of
//! the model; the rows calibrated on are marked in validate rows (`calibration_row`) and
//! counted apart in the fidelity summary.

use super::options::CalibrateOptions;
use super::provenance::{CalibrationRecord, Profiled};
use super::read_workload;
use super::row::{set_fields, ValidateRow};
use super::validate::zoo_of;
use crate::error::{Error, Result};
use crate::results::write_atomic;
use crate::workload::Workload;
use crate::zoo::export::node_occupancy;
use serde::Serialize;
use serde_json::Value;
use std::path::{Path, PathBuf};

/// The per-operator GPU-time lists of a profile's provenance: all scale together.
const GPU_TIMES: [&str; 6] = [
    "op_gpu_warm_ms",
    "op_gpu_cold_ms",
    "op_gpu_together_ms",
    "op_gpu_together_cold_ms",
    "op_gpu_peer_ms",
    "op_gpu_peer_cold_ms",
];

/// The sums of the peers' summary (`bench profile`), scaled with the lists they sum; the
/// concurrency efficiency, a ratio of them, stays.
const PEER_SUMS: [&str; 3] = ["measured_ms", "serial_ms", "formula_ms"];

/// Multiplies every GPU-time list `profiled` holds by `scale`.
fn scale_times(profiled: &mut Value, scale: f64) {
    for key in GPU_TIMES {
        // `get_mut`, not indexing: indexing a missing key would add it as null.
        if let Some(list) = profiled.get_mut(key).and_then(Value::as_array_mut) {
            for t in list.iter_mut() {
                *t = Value::from(t.as_f64().unwrap_or(0.0) * scale);
            }
        }
    }
    let scale_sums = |peers: &mut serde_json::Map<String, Value>| {
        for key in PEER_SUMS {
            if let Some(t) = peers.get_mut(key) {
                *t = Value::from(t.as_f64().unwrap_or(0.0) * scale);
            }
        }
    };
    for summary in ["peers", "peers_cold"] {
        if let Some(peers) = profiled.get_mut(summary).and_then(Value::as_object_mut) {
            scale_sums(peers);
        }
    }
    for widths in ["peers_wide", "peers_wide_cold"] {
        for peers in profiled.get_mut(widths).and_then(Value::as_array_mut).into_iter().flatten() {
            if let Some(peers) = peers.as_object_mut() {
                scale_sums(peers);
            }
        }
    }
}

/// Per operator, the time charged: `warm + miss · (cold − warm)`.
fn charged(warm: &[f64], cold: &[f64], miss: f64) -> Vec<f64> {
    warm.iter().zip(cold).map(|(&w, &c)| crate::gpu::warm_cold(w, c, miss)).collect()
}

/// A row calibrated on: its plan file, kind, measured time and the issue model's prediction.
#[derive(Debug, Clone, PartialEq, Serialize)]
struct Anchor {
    file: String,
    kind: String,
    measured_ms: f64,
    #[serde(rename = "issue_model_ms")]
    issue_ms: f64,
}

/// The rows to calibrate on, measured on this very workload (content `hash`) by `algorithm` on
/// one GPU under graph replay: the pipeline in steady state, and the plan run one sample at a
/// time (a latency placement or a HIOS schedule). Either may be missing, not both.
fn anchors(rows: &[ValidateRow], hash: &str, algorithm: &str) -> std::result::Result<[Option<Anchor>; 2], String> {
    let anchor = |want: &dyn Fn(&ValidateRow) -> bool| -> std::result::Result<Option<Anchor>, String> {
        let Some(r) = rows.iter().find(|r| {
            r.measured()
                && r.workload_hash.as_deref() == Some(hash)
                && r.graphs == Some(true)
                && r.gpus_in_plan == Some(1)
                && r.algorithm.as_deref() == Some(algorithm)
                && want(r)
        }) else {
            return Ok(None);
        };
        let file = r.file.clone().unwrap_or_default();
        let positive = |key: &str, x: Option<f64>| {
            x.filter(|m| *m > 0.0).ok_or_else(|| format!("{key} of {file:?} is not a positive number"))
        };
        Ok(Some(Anchor {
            kind: r.kind.clone().unwrap_or_default(),
            measured_ms: positive("measured_ms", r.measured_ms)?,
            issue_ms: positive("issue_model_ms", r.issue_model_ms)?,
            file,
        }))
    };
    let kind = |r: &ValidateRow, k: &str| r.kind.as_deref() == Some(k);
    let steady = anchor(&|r| kind(r, "throughput") && r.timing.as_deref() == Some("steady"))?;
    let alone = anchor(&|r| kind(r, "latency") || kind(r, "hios"))?;
    if steady.is_none() && alone.is_none() {
        return Err(format!(
            "no measured row of algorithm {algorithm:?} on this workload (same content hash), one GPU, --graphs: \
             a throughput placement in steady state or a latency placement or HIOS schedule"
        ));
    }
    Ok([steady, alone])
}

/// Scale and sample overhead from the anchors; `overhead_before` is the overhead already in the
/// issue model's one-sample prediction (a profile calibrated before).
fn fit(steady: Option<&Anchor>, alone: Option<&Anchor>, overhead_before: f64) -> (f64, f64) {
    match (steady, alone) {
        (Some(s), Some(a)) => {
            let scale = s.measured_ms / s.issue_ms;
            (scale, (a.measured_ms - scale * (a.issue_ms - overhead_before)).max(0.0))
        }
        (Some(s), None) => (s.measured_ms / s.issue_ms, overhead_before),
        (None, Some(a)) => ((a.measured_ms - overhead_before) / (a.issue_ms - overhead_before), overhead_before),
        (None, None) => (1.0, overhead_before),
    }
}

/// Rows of `files`, in order.
fn read_rows(files: &[PathBuf]) -> Result<Vec<ValidateRow>> {
    let mut rows = Vec::new();
    for f in files {
        let text = std::fs::read(f).map_err(|e| Error::input(f, "file", e.to_string()))?;
        let more: Vec<ValidateRow> =
            serde_json::from_slice(&text).map_err(|e| Error::input(f, "rows", e.to_string()))?;
        rows.extend(more);
    }
    Ok(rows)
}

/// The files given, as the provenance names them.
fn names(files: &[PathBuf]) -> Vec<String> {
    files.iter().map(|p| p.display().to_string()).collect()
}

/// The hashes a profile's rows may carry: those it was calibrated from, and its own.
pub(super) fn known_hashes(profiled: &Profiled, w: &Workload) -> Vec<String> {
    let mut hashes = profiled.calibration.as_ref().map(CalibrationRecord::hashes).unwrap_or_default();
    if !hashes.contains(&w.content_hash) {
        hashes.push(w.content_hash.clone());
    }
    hashes
}

/// The calibration's hashes, written back where a profile was calibrated.
#[derive(Serialize)]
struct FromHashes<'a> {
    from_hashes: &'a [String],
}

/// The profile's `placebench.profiled`, typed (what calibration reads) and as written (what
/// it updates, every other field kept in its place).
fn profiled_of<'a>(v: &'a mut Value, path: &Path) -> Result<(Profiled, &'a mut Value)> {
    let bad = |m: &str| Error::input(path, "placebench.profiled", m.to_string());
    let typed = Profiled::of(v).ok_or_else(|| bad("not a profiled workload"))?;
    let raw = v.pointer_mut("/placebench/profiled").ok_or_else(|| bad("not a profiled workload"))?;
    Ok((typed, raw))
}

pub fn calibrate(a: CalibrateOptions) -> Result<i32> {
    let (w, mut v) = read_workload(&a.workload)?;
    let bad = |field: &str, m: &str| Error::input(&a.workload, field, m.to_string());
    let zoo = zoo_of(&w, &v)?.ok_or_else(|| bad("placebench", "not a zoo workload (no model provenance)"))?;
    let (p, _) = profiled_of(&mut v, &a.workload)?;
    // Eager workloads charge max(GPU, host issue) per operator: a scale of GPU times does not
    // carry over to them.
    if !p.cost.as_deref().unwrap_or("").starts_with("gpu") {
        return Err(bad("placebench.profiled.cost", "calibrate the GPU-time workload (bench profile --gpu-cost-out)"));
    }
    if !a.measured.is_empty() {
        scale(&a, &w, &mut v, &zoo.node_ops)?;
    }
    if !a.cuts.is_empty() {
        segment_cost(&a, &w, &mut v)?;
    }
    if !a.forked.is_empty() {
        fork_share(&a, &w, &mut v)?;
    }
    if let Some(file) = &a.links {
        links(file, &a.workload, &w, &mut v)?;
    }
    if let Some(file) = &a.peers {
        peers(file, &a.workload, &zoo.graph, &mut v)?;
    }
    let out = a.out.as_ref().unwrap_or(&a.workload);
    write_atomic(out, crate::zoo::to_text(&v).as_bytes())?;
    eprintln!("{}: wrote {}", w.name, out.display());
    Ok(0)
}

mod imported;
mod runs;
use imported::{links, peers};
use runs::{fork_share, segment_cost};

#[cfg(test)]
mod tests;

/// What `--measured` writes into the profile: the charged times and the calibration.
#[derive(Serialize)]
struct Calibrated<'a> {
    op_gpu_ms: &'a [f64],
    gpu_ms_total: f64,
    gpu_time_charged: &'static str,
    calibration: Calibration<'a>,
}

#[derive(Serialize)]
struct Calibration<'a> {
    rows: Vec<&'a Anchor>,
    measured: Vec<String>,
    algorithm: &'a str,
    scale: f64,
    sample_overhead_ms: f64,
    miss_share: f64,
    scale_total: f64,
    from_hashes: Vec<String>,
    date_utc: String,
    method: &'static str,
}

/// A node's time and occupancy as calibrated.
#[derive(Serialize)]
struct NodeCharged {
    #[serde(rename = "fpgaLatency")]
    fpga_latency: f64,
    #[serde(skip_serializing_if = "Option::is_none")]
    occupancy: Option<f64>,
}

/// `--measured`: the scale of every GPU time and the sample overhead (module doc).
fn scale(a: &CalibrateOptions, w: &Workload, v: &mut Value, node_ops: &[Vec<usize>]) -> Result<()> {
    let bad = |field: &str, m: &str| Error::input(&a.workload, field, m.to_string());
    let (typed, _) = profiled_of(v, &a.workload)?;
    let list = |x: Option<Vec<f64>>, key: &str| {
        x.ok_or_else(|| Error::Usage(format!("placebench.profiled.{key}: missing or not a list of numbers")))
    };
    let warm = list(typed.op_gpu_warm_ms.clone(), "op_gpu_warm_ms")?;
    let cold = list(typed.op_gpu_cold_ms.clone(), "op_gpu_cold_ms")?;
    let l2 = typed.l2_bytes.ok_or_else(|| bad("placebench.profiled.l2_bytes", "missing"))?;
    let set = typed.working_set_bytes.ok_or_else(|| bad("placebench.profiled.working_set_bytes", "missing"))?;
    if cold.len() != warm.len() {
        return Err(bad("placebench.profiled", "operator time lists of different lengths"));
    }
    let rows = read_rows(&a.measured)?;
    let [steady, alone] = anchors(&rows, &w.content_hash, &a.algorithm)
        .map_err(|m| Error::Usage(format!("{}: {m}", names(&a.measured).join(", "))))?;
    let before = typed.calibration.as_ref();
    let (scale, overhead) =
        fit(steady.as_ref(), alone.as_ref(), before.and_then(|c| c.sample_overhead_ms).unwrap_or(0.0));
    let miss = crate::gpu::miss_share(l2, set);
    let charged: Vec<f64> = charged(&warm, &cold, miss).into_iter().map(|t| t * scale).collect();
    let occupancy = crate::gpu::charged_occupancy(
        typed.op_occupancy.as_deref().unwrap_or_default(),
        typed.op_occupancy_cold.as_deref().unwrap_or_default(),
        miss,
    );
    let mut hashes = before.map(CalibrationRecord::hashes).unwrap_or_default();
    hashes.push(w.content_hash.clone());
    let total = charged.iter().sum::<f64>();
    let update = Calibrated {
        op_gpu_ms: &charged,
        gpu_ms_total: total,
        gpu_time_charged: "calibrated",
        calibration: Calibration {
            rows: [steady.as_ref(), alone.as_ref()].into_iter().flatten().collect(),
            measured: names(&a.measured),
            algorithm: &a.algorithm,
            scale,
            sample_overhead_ms: overhead,
            miss_share: miss,
            scale_total: scale * before.and_then(|c| c.scale_total).unwrap_or(1.0),
            from_hashes: hashes,
            date_utc: crate::pipeline::now(),
            method: "scale: the steady pipeline's measured time over the issue model's (else the one-sample row's); every GPU time of the profile times scale, each operator charged the scaled warm + miss_share x (cold - warm), miss_share = max(0, 1 - L2 / working set); sample overhead: the one-sample row's measured time less its scaled issue-model time, added by the issue model to one-sample predictions under graph replay",
        },
    };
    let (_, p) = profiled_of(v, &a.workload)?;
    scale_times(p, scale);
    set_fields(p, &update);
    let nodes = v["nodes"].as_array_mut().ok_or_else(|| bad("nodes", "missing"))?;
    for (node, ops) in nodes.iter_mut().zip(node_ops) {
        let occupancy = node.get("occupancy").and(node_occupancy(ops, &charged, &occupancy));
        set_fields(node, &NodeCharged { fpga_latency: ops.iter().map(|&o| charged[o]).sum::<f64>(), occupancy });
    }
    eprintln!(
        "{}: GPU times x {scale:.4} ({}), sample overhead {overhead:.4} ms ({}); charged {total:.4} ms in all (miss share {miss:.3})",
        w.name,
        steady.as_ref().or(alone.as_ref()).map_or(String::new(), |x| format!("{} measured {:.4} ms, issue model {:.4} ms", x.file, x.measured_ms, x.issue_ms)),
        alone.as_ref().map_or("none measured".into(), |x| format!("{} measured {:.4} ms", x.file, x.measured_ms)),
    );
    Ok(())
}

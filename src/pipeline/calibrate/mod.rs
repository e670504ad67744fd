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
use super::read_workload;
use super::validate::zoo_of;
use crate::error::{Error, Result};
use crate::results::write_atomic;
use crate::zoo::export::node_occupancy;
use serde_json::{json, Value};

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
                *t = json!(t.as_f64().unwrap_or(0.0) * scale);
            }
        }
    }
    for summary in ["peers", "peers_cold"] {
        if let Some(peers) = profiled.get_mut(summary).and_then(Value::as_object_mut) {
            for key in PEER_SUMS {
                if let Some(t) = peers.get_mut(key) {
                    *t = json!(t.as_f64().unwrap_or(0.0) * scale);
                }
            }
        }
    }
}

/// Per operator, the time charged: `warm + miss · (cold − warm)`.
fn charged(warm: &[f64], cold: &[f64], miss: f64) -> Vec<f64> {
    warm.iter().zip(cold).map(|(&w, &c)| crate::gpu::warm_cold(w, c, miss)).collect()
}

/// A row calibrated on: its plan file, kind, measured time and the issue model's prediction.
#[derive(Debug, Clone, PartialEq)]
struct Anchor {
    file: String,
    kind: String,
    measured_ms: f64,
    issue_ms: f64,
}

/// The rows to calibrate on, measured on this very workload (content `hash`) by `algorithm` on
/// one GPU under graph replay: the pipeline in steady state, and the plan run one sample at a
/// time (a latency placement or a HIOS schedule). Either may be missing, not both.
fn anchors(rows: &[Value], hash: &str, algorithm: &str) -> std::result::Result<[Option<Anchor>; 2], String> {
    let anchor = |want: &dyn Fn(&Value) -> bool| -> std::result::Result<Option<Anchor>, String> {
        let Some(r) = rows.iter().find(|r| {
            r["status"] == "measured"
                && r["workload_hash"] == hash
                && r["graphs"] == true
                && r["gpus_in_plan"] == 1
                && r["algorithm"] == algorithm
                && want(r)
        }) else {
            return Ok(None);
        };
        let positive = |key: &str| {
            r[key]
                .as_f64()
                .filter(|m| *m > 0.0)
                .ok_or_else(|| format!("{key} of {} is not a positive number", r["file"]))
        };
        Ok(Some(Anchor {
            file: r["file"].as_str().unwrap_or_default().to_string(),
            kind: r["kind"].as_str().unwrap_or_default().to_string(),
            measured_ms: positive("measured_ms")?,
            issue_ms: positive("issue_model_ms")?,
        }))
    };
    let steady = anchor(&|r| r["kind"] == "throughput" && r["timing"] == "steady")?;
    let alone = anchor(&|r| r["kind"] == "latency" || r["kind"] == "hios")?;
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

fn times(p: &Value, key: &str) -> Result<Vec<f64>> {
    serde_json::from_value(p[key].clone())
        .map_err(|_| Error::Usage(format!("placebench.profiled.{key}: missing or not a list of numbers")))
}

/// Rows of `files`, in order.
fn read_rows(files: &[std::path::PathBuf]) -> Result<Vec<Value>> {
    let mut rows: Vec<Value> = Vec::new();
    for f in files {
        let text = std::fs::read(f).map_err(|e| Error::input(f, "file", e.to_string()))?;
        let more: Vec<Value> = serde_json::from_slice(&text).map_err(|e| Error::input(f, "rows", e.to_string()))?;
        rows.extend(more);
    }
    Ok(rows)
}

/// A plan replayed whole and cut: its file, and (graphs, measured ms) of the fewest and the
/// most graphs per sample.
#[derive(Debug, Clone, PartialEq)]
struct Cut {
    file: String,
    whole: (u64, f64),
    cut: (u64, f64),
}

impl Cut {
    fn per_graph_ms(&self) -> f64 {
        (self.cut.1 - self.whole.1) / (self.cut.0 - self.whole.0) as f64
    }
}

/// Per plan file among `rows` measured on this workload (`hashes`), one GPU, graph replay, one
/// sample at a time, untraced (time stamps slow a replay): `(count, measured ms)` of each row,
/// where `count` (graphs per sample, forks) reads one from it.
fn one_gpu_runs(
    rows: &[Value],
    hashes: &[Value],
    count: impl Fn(&Value) -> Option<u64>,
) -> Vec<(String, Vec<(u64, f64)>)> {
    let mut by_file: Vec<(String, Vec<(u64, f64)>)> = Vec::new();
    for r in rows {
        let ok = r["status"] == "measured"
            && r["graphs"] == true
            && r["gpus_in_plan"] == 1
            && r["timing"] == "latency"
            && r.get("trace").is_none()
            && hashes.contains(&r["workload_hash"]);
        let (Some(n), Some(ms), Some(file), true) = (count(r), r["measured_ms"].as_f64(), r["file"].as_str(), ok)
        else {
            continue;
        };
        match by_file.iter_mut().find(|(f, _)| f == file) {
            Some((_, v)) => v.push((n, ms)),
            None => by_file.push((file.to_string(), vec![(n, ms)])),
        }
    }
    by_file
}

/// The hashes a profile's rows may carry: those it was calibrated from, and its own.
fn known_hashes(calibration: &Value, w: &crate::workload::Workload) -> Vec<Value> {
    let mut hashes: Vec<Value> = calibration["from_hashes"].as_array().cloned().unwrap_or_default();
    if !hashes.contains(&json!(w.content_hash)) {
        hashes.push(json!(w.content_hash));
    }
    hashes
}

/// Per plan (`one_gpu_runs`) at two or more graph counts: the fewest and the most.
fn cuts(rows: &[Value], hashes: &[Value]) -> Vec<Cut> {
    let graphs = |r: &Value| r["graphs_per_sample"].as_array().and_then(|g| g.iter().filter_map(Value::as_u64).max());
    one_gpu_runs(rows, hashes, graphs)
        .into_iter()
        .filter_map(|(file, mut v)| {
            v.sort_by_key(|x| x.0);
            let (whole, cut) = (v[0], v[v.len() - 1]);
            (cut.0 > whole.0).then_some(Cut { file, whole, cut })
        })
        .collect()
}

pub fn calibrate(a: CalibrateOptions) -> Result<i32> {
    let (w, mut v) = read_workload(&a.workload)?;
    let bad = |field: &str, m: &str| Error::input(&a.workload, field, m.to_string());
    let zoo = zoo_of(&w, &v)?.ok_or_else(|| bad("placebench", "not a zoo workload (no model provenance)"))?;
    let p = v.pointer("/placebench/profiled").ok_or_else(|| bad("placebench.profiled", "not a profiled workload"))?;
    // Eager workloads charge max(GPU, host issue) per operator: a scale of GPU times does not
    // carry over to them.
    if !p["cost"].as_str().unwrap_or("").starts_with("gpu") {
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
    if a.links.is_some() {
        links(&a, &w, &mut v)?;
    }
    if let Some(file) = &a.peers {
        peers(file, &a.workload, &zoo.graph, &mut v)?;
    }
    let out = a.out.as_ref().unwrap_or(&a.workload);
    write_atomic(out, crate::zoo::to_text(&v).as_bytes())?;
    eprintln!("{}: wrote {}", w.name, out.display());
    Ok(0)
}

/// `--cuts`: the cost of each later graph of a sample, the median over the plans measured
/// whole and cut, into the profile's `segments` (what `bench profile` measured stays as
/// `back_to_back_ms`); the workload's hash joins the calibration's, so that rows measured on
/// it still apply.
fn segment_cost(a: &CalibrateOptions, w: &crate::workload::Workload, v: &mut Value) -> Result<()> {
    let rows = read_rows(&a.cuts)?;
    let p = v.pointer_mut("/placebench/profiled").expect("checked by calibrate");
    let hashes = known_hashes(&p["calibration"], w);
    let found = cuts(&rows, &hashes);
    let names = || a.cuts.iter().map(|p| p.display().to_string()).collect::<Vec<_>>();
    if found.is_empty() {
        return Err(Error::Usage(format!(
            "{}: no plan of this workload replayed one sample at a time on one GPU both whole and cut (--cut-every)",
            names().join(", ")
        )));
    }
    let mut per: Vec<f64> = found.iter().map(Cut::per_graph_ms).collect();
    per.sort_by(f64::total_cmp);
    let per_graph = per[per.len() / 2].max(0.0);
    let seg = &mut p["segments"];
    if !seg.is_object() {
        *seg = json!({});
    }
    if seg.get("back_to_back_ms").is_none() {
        seg["back_to_back_ms"] = seg.get("per_segment_ms").cloned().unwrap_or(json!(null));
    }
    seg["per_segment_ms"] = json!(per_graph);
    seg["cut_runs"] = json!({
        "plans": found.iter().map(|c| json!({"file": c.file, "whole": {"graphs": c.whole.0, "measured_ms": c.whole.1},
            "cut": {"graphs": c.cut.0, "measured_ms": c.cut.1}, "per_graph_ms": c.per_graph_ms()})).collect::<Vec<_>>(),
        "measured": names(),
        "method": "per plan, (measured cut - measured whole) / (graphs cut - graphs whole), one sample at a time on one GPU; the median over the plans",
    });
    if p["calibration"].is_object() {
        p["calibration"]["from_hashes"] = json!(hashes);
    }
    eprintln!("{}: each later graph of a sample costs {:.5} ms ({} plans)", w.name, per_graph, found.len());
    Ok(())
}

/// A plan replayed one sample at a time as it is and with forks: its file, its time whole, and
/// the forks and time of its sparsest forked run.
#[derive(Debug, Clone, PartialEq)]
struct Forked {
    file: String,
    whole_ms: f64,
    forks: u64,
    forked_ms: f64,
}

impl Forked {
    /// The share of the calibration's gain (`scale`) lost, beyond `fork_join_ms` per fork, on a
    /// whole run of `overhead_ms` besides its GPU time.
    fn share(&self, scale: f64, overhead_ms: f64, fork_join_ms: f64) -> f64 {
        let gain = (self.whole_ms - overhead_ms) * (1.0 / scale - 1.0);
        (self.forked_ms - self.whole_ms - self.forks as f64 * fork_join_ms) / gain
    }
}

/// Per plan (`one_gpu_runs`) measured without forks and with: the run without and the one with
/// the fewest forks (`concurrent_stages`).
fn forked(rows: &[Value], hashes: &[Value]) -> Vec<Forked> {
    let forks = |r: &Value| r["concurrent_stages"].as_array().map(|c| c.iter().filter_map(Value::as_u64).sum::<u64>());
    one_gpu_runs(rows, hashes, forks)
        .into_iter()
        .filter_map(|(file, v)| {
            let whole = v.iter().find(|x| x.0 == 0)?.1;
            let (forks, forked_ms) = v.iter().filter(|x| x.0 > 0).min_by_key(|x| x.0).copied()?;
            Some(Forked { file, whole_ms: whole, forks, forked_ms })
        })
        .collect()
}

/// `--forked`: the share of the calibration's gain a forking GPU loses, the median over the
/// plans measured whole and forked, into the profile's `calibration.fork_share` (clamped to
/// [0, 1]; each plan's own share in `calibration.fork_runs`); the workload's hash joins the
/// calibration's, so that rows measured on it still apply.
fn fork_share(a: &CalibrateOptions, w: &crate::workload::Workload, v: &mut Value) -> Result<()> {
    let rows = read_rows(&a.forked)?;
    let bad = |field: &str, m: &str| Error::input(&a.workload, field, m.to_string());
    let p = v.pointer_mut("/placebench/profiled").expect("checked by calibrate");
    let c = &p["calibration"];
    // The scale the issue model takes off (`scale_total` after calibrating twice).
    let scale = c["scale_total"].as_f64().or_else(|| c["scale"].as_f64());
    let (Some(scale), Some(overhead)) = (scale, c["sample_overhead_ms"].as_f64()) else {
        return Err(bad("placebench.profiled.calibration", "not calibrated: pass --measured too"));
    };
    let fork_join = p["fork_join"]["per_extra_group_ms"].as_f64().unwrap_or(0.0);
    let hashes = known_hashes(c, w);
    let found = forked(&rows, &hashes);
    let names = || a.forked.iter().map(|p| p.display().to_string()).collect::<Vec<_>>();
    if found.is_empty() {
        return Err(Error::Usage(format!(
            "{}: no plan of this workload replayed one sample at a time on one GPU both as it is and with forks (--side-branches)",
            names().join(", ")
        )));
    }
    let mut shares: Vec<f64> = found.iter().map(|f| f.share(scale, overhead, fork_join)).collect();
    shares.sort_by(f64::total_cmp);
    let share = shares[shares.len() / 2].clamp(0.0, 1.0);
    p["calibration"]["fork_share"] = json!(share);
    p["calibration"]["fork_runs"] = json!({
        "plans": found.iter().map(|f| json!({"file": f.file, "whole_ms": f.whole_ms, "forks": f.forks,
            "forked_ms": f.forked_ms, "share": f.share(scale, overhead, fork_join)})).collect::<Vec<_>>(),
        "measured": names(),
        "method": "per plan, (forked - whole - forks x fork_join.per_extra_group_ms) / ((whole - sample overhead) x (1 / scale - 1)), one sample at a time on one GPU, the run with the fewest forks; the median over the plans, clamped to [0, 1]",
    });
    p["calibration"]["from_hashes"] = json!(hashes);
    eprintln!("{}: a forking GPU loses {:.2} of the calibration's gain ({} plans)", w.name, share, found.len());
    Ok(())
}

/// `--links`: a `bench links` file's exchange measurements into the profile's
/// `exchange.links`, where the file was measured on the profile's GPU with its copy kernel; the
/// workload's hash joins the calibration's, so that rows measured on it still apply.
fn links(a: &CalibrateOptions, w: &crate::workload::Workload, v: &mut Value) -> Result<()> {
    let file = a.links.as_ref().expect("checked by calibrate");
    let text = std::fs::read(file).map_err(|e| Error::input(file, "file", e.to_string()))?;
    let l: Value = serde_json::from_slice(&text).map_err(|e| Error::input(file, "json", e.to_string()))?;
    let l =
        l.get("placebench_links").ok_or_else(|| Error::input(file, "placebench_links", "not a bench links file"))?;
    let p = v.pointer_mut("/placebench/profiled").expect("checked by calibrate");
    for key in ["gpu", "copy_kernel"] {
        if l[key] != p[key] {
            return Err(Error::input(
                file,
                format!("placebench_links.{key}"),
                format!("{} here, {} in {}", l[key], p[key], a.workload.display()),
            ));
        }
    }
    let x = &l["exchange"];
    let hop = x["chains_ms"][0].as_array().and_then(|c| Some((c[0].as_f64()? - c[1].as_f64()?) / x["hops"].as_f64()?));
    let (Some(hop_ms), Some(per_copy), Some(bytes)) =
        (hop, x["queued"]["per_copy_ms"].as_f64(), x["queued"]["bytes"].as_u64())
    else {
        return Err(Error::input(file, "placebench_links.exchange", "no graph-replay hops and queued copies measured"));
    };
    let hashes = known_hashes(&p["calibration"], w);
    p["exchange"]["links"] = json!({
        "file": file.display().to_string(), "gpu": l["gpu"], "driver": l["driver"], "date_utc": l["date_utc"],
        "hop_ms": hop_ms, "queued_copy_ms": per_copy, "bytes": bytes,
        "method": "bench links under graph replay: hop_ms, (two GPUs - one) / hops of the ping-pong; queued_copy_ms, the slope of the time per hop over the copies each hop imports; both with copies of `bytes`",
    });
    if p["calibration"].is_object() {
        p["calibration"]["from_hashes"] = json!(hashes);
    }
    eprintln!("{}: an exchange hop {:.4} ms, a queued copy {:.4} ms ({} bytes)", w.name, hop_ms, per_copy, bytes);
    Ok(())
}

/// `--peers`: the concurrency efficiency of another profile (`file`) of the same operators
/// (`graph`) on the same GPU, for a profile (`v`, at `path`) that measured none. The summaries
/// come over as measured there (their sums in that profile's times; the issue model reads only
/// η, a ratio) with where they came from.
fn peers(
    file: &std::path::Path,
    path: &std::path::Path,
    graph: &crate::zoo::graph::OpGraph,
    v: &mut Value,
) -> Result<()> {
    let (other_w, other) = read_workload(file)?;
    let Some(theirs) = other.pointer("/placebench/profiled") else {
        return Err(Error::input(file, "placebench.profiled", "not a profiled workload"));
    };
    let efficiency = |p: &Value, key: &str| p[key]["efficiency"].as_f64();
    if efficiency(theirs, "peers").is_none() {
        return Err(Error::input(file, "placebench.profiled.peers", "no concurrency efficiency measured"));
    }
    let p = v.pointer_mut("/placebench/profiled").expect("checked by calibrate");
    if p.get("peers").is_some() {
        return Err(Error::input(path, "placebench.profiled.peers", "measured already: a profile keeps its own"));
    }
    if theirs["gpu"] != p["gpu"] {
        return Err(Error::input(
            file,
            "placebench.profiled.gpu",
            format!("{} there, {} in {}", theirs["gpu"], p["gpu"], path.display()),
        ));
    }
    let same_ops = zoo_of(&other_w, &other)?.is_some_and(|z| {
        z.graph.ops.len() == graph.ops.len()
            && z.graph
                .ops
                .iter()
                .zip(&graph.ops)
                .all(|(a, b)| (&a.name, a.kind, a.numel()) == (&b.name, b.kind, b.numel()))
    });
    if !same_ops {
        return Err(Error::input(file, "placebench", format!("not the operators of {}", path.display())));
    }
    for key in ["peers", "peers_cold"] {
        if let Some(summary) = theirs.get(key) {
            p[key] = summary.clone();
            p[key]["from"] = json!({
                "file": file.display().to_string(), "gpu": theirs["gpu"], "driver": theirs["driver"],
                "date_utc": theirs["date_utc"],
                "method": "measured by bench profile in another profile of the same operators on the same GPU: this profile's run measured no peers",
            });
        }
    }
    eprintln!(
        "{}: concurrency efficiency {:.3} warm, {} cold, from {}",
        other_w.name,
        efficiency(theirs, "peers").unwrap_or(f64::NAN),
        efficiency(theirs, "peers_cold").map_or("none".into(), |e| format!("{e:.3}")),
        file.display()
    );
    Ok(())
}

/// `--measured`: the scale of every GPU time and the sample overhead (module doc).
fn scale(a: &CalibrateOptions, w: &crate::workload::Workload, v: &mut Value, node_ops: &[Vec<usize>]) -> Result<()> {
    let bad = |field: &str, m: &str| Error::input(&a.workload, field, m.to_string());
    let p = v.pointer("/placebench/profiled").expect("checked by calibrate");
    let (warm, cold) = (times(p, "op_gpu_warm_ms")?, times(p, "op_gpu_cold_ms")?);
    let l2 = p["l2_bytes"].as_f64().ok_or_else(|| bad("placebench.profiled.l2_bytes", "missing"))?;
    let set = p["working_set_bytes"].as_f64().ok_or_else(|| bad("placebench.profiled.working_set_bytes", "missing"))?;
    if cold.len() != warm.len() {
        return Err(bad("placebench.profiled", "operator time lists of different lengths"));
    }
    let rows = read_rows(&a.measured)?;
    let [steady, alone] = anchors(&rows, &w.content_hash, &a.algorithm).map_err(|m| {
        Error::Usage(format!(
            "{}: {m}",
            a.measured.iter().map(|p| p.display().to_string()).collect::<Vec<_>>().join(", ")
        ))
    })?;
    let before = &p["calibration"];
    let (scale, overhead) = fit(steady.as_ref(), alone.as_ref(), before["sample_overhead_ms"].as_f64().unwrap_or(0.0));
    let miss = crate::gpu::miss_share(l2, set);
    let charged: Vec<f64> = charged(&warm, &cold, miss).into_iter().map(|t| t * scale).collect();
    let occupancy = crate::gpu::charged_occupancy(
        &serde_json::from_value::<Vec<Option<f64>>>(p["op_occupancy"].clone()).unwrap_or_default(),
        &serde_json::from_value::<Vec<Option<f64>>>(p["op_occupancy_cold"].clone()).unwrap_or_default(),
        miss,
    );
    let mut hashes: Vec<Value> = before["from_hashes"].as_array().cloned().unwrap_or_default();
    hashes.push(json!(w.content_hash));
    let total = charged.iter().sum::<f64>();
    let anchor_json = |x: &Anchor| json!({"file": x.file, "kind": x.kind, "measured_ms": x.measured_ms, "issue_model_ms": x.issue_ms});
    let anchored: Vec<Value> = [steady.as_ref(), alone.as_ref()].into_iter().flatten().map(anchor_json).collect();
    let calibration = json!({
        "rows": anchored,
        "measured": a.measured.iter().map(|p| p.display().to_string()).collect::<Vec<_>>(),
        "algorithm": a.algorithm, "scale": scale, "sample_overhead_ms": overhead, "miss_share": miss,
        "scale_total": scale * before["scale_total"].as_f64().unwrap_or(1.0),
        "from_hashes": hashes, "date_utc": humantime::format_rfc3339_seconds(std::time::SystemTime::now()).to_string(),
        "method": "scale: the steady pipeline's measured time over the issue model's (else the one-sample row's); every GPU time of the profile times scale, each operator charged the scaled warm + miss_share x (cold - warm), miss_share = max(0, 1 - L2 / working set); sample overhead: the one-sample row's measured time less its scaled issue-model time, added by the issue model to one-sample predictions under graph replay",
    });
    let p = v.pointer_mut("/placebench/profiled").expect("checked above");
    scale_times(p, scale);
    p["op_gpu_ms"] = json!(charged);
    p["gpu_ms_total"] = json!(total);
    p["gpu_time_charged"] = json!("calibrated");
    p["calibration"] = calibration;
    let nodes = v["nodes"].as_array_mut().ok_or_else(|| bad("nodes", "missing"))?;
    for (node, ops) in nodes.iter_mut().zip(node_ops) {
        node["fpgaLatency"] = json!(ops.iter().map(|&o| charged[o]).sum::<f64>());
        if let (Some(_), Some(u)) = (node.get("occupancy"), node_occupancy(ops, &charged, &occupancy)) {
            node["occupancy"] = json!(u);
        }
    }
    eprintln!(
        "{}: GPU times x {scale:.4} ({}), sample overhead {overhead:.4} ms ({}); charged {total:.4} ms in all (miss share {miss:.3})",
        w.name,
        steady.as_ref().or(alone.as_ref()).map_or(String::new(), |x| format!("{} measured {:.4} ms, issue model {:.4} ms", x.file, x.measured_ms, x.issue_ms)),
        alone.as_ref().map_or("none measured".into(), |x| format!("{} measured {:.4} ms", x.file, x.measured_ms)),
    );
    Ok(())
}

#[cfg(test)]
mod tests;

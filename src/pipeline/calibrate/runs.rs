//! Calibration from diagnostic runs of one-GPU plans: what each later graph of a sample costs
//! (plans replayed whole and cut) and the share of the calibration's gain a forking GPU loses
//! (plans replayed as they are and with side branches).

use super::{known_hashes, names, profiled_of, read_rows, FromHashes};
use crate::error::{Error, Result};
use crate::pipeline::options::CalibrateOptions;
use crate::pipeline::row::{set_fields, ValidateRow};
use crate::workload::Workload;
use serde::Serialize;
use serde_json::Value;

/// A plan replayed whole and cut: its file, and (graphs, measured ms) of the fewest and the
/// most graphs per sample.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Cut {
    pub(super) file: String,
    pub(super) whole: (u64, f64),
    pub(super) cut: (u64, f64),
}

impl Cut {
    pub(super) fn per_graph_ms(&self) -> f64 {
        (self.cut.1 - self.whole.1) / (self.cut.0 - self.whole.0) as f64
    }
}

/// Per plan file among `rows` measured on this workload (`hashes`), one GPU, graph replay, one
/// sample at a time, untraced (time stamps slow a replay): `(count, measured ms)` of each row,
/// where `count` (graphs per sample, forks) reads one from it.
fn one_gpu_runs(
    rows: &[ValidateRow],
    hashes: &[String],
    count: impl Fn(&ValidateRow) -> Option<u64>,
) -> Vec<(String, Vec<(u64, f64)>)> {
    let mut by_file: Vec<(String, Vec<(u64, f64)>)> = Vec::new();
    for r in rows {
        let ok = r.measured()
            && r.graphs == Some(true)
            && r.gpus_in_plan == Some(1)
            && r.timing.as_deref() == Some("latency")
            && !r.traced()
            && r.workload_hash.as_ref().is_some_and(|h| hashes.contains(h));
        let (Some(n), Some(ms), Some(file), true) = (count(r), r.measured_ms, r.file.as_deref(), ok) else {
            continue;
        };
        match by_file.iter_mut().find(|(f, _)| f == file) {
            Some((_, v)) => v.push((n, ms)),
            None => by_file.push((file.to_string(), vec![(n, ms)])),
        }
    }
    by_file
}

/// Per plan (`one_gpu_runs`) at two or more graph counts: the fewest and the most.
pub(super) fn cuts(rows: &[ValidateRow], hashes: &[String]) -> Vec<Cut> {
    let graphs = |r: &ValidateRow| r.graphs_per_sample.as_ref().and_then(|g| g.iter().copied().max());
    one_gpu_runs(rows, hashes, graphs)
        .into_iter()
        .filter_map(|(file, mut v)| {
            v.sort_by_key(|x| x.0);
            let (whole, cut) = (v[0], v[v.len() - 1]);
            (cut.0 > whole.0).then_some(Cut { file, whole, cut })
        })
        .collect()
}

/// What `--cuts` writes into the profile's `segments`.
#[derive(Serialize)]
struct SegmentsCalibrated<'a> {
    /// What `bench profile` measured (graphs launched back to back), kept on first calibration.
    #[serde(skip_serializing_if = "Option::is_none")]
    back_to_back_ms: Option<Option<f64>>,
    per_segment_ms: f64,
    cut_runs: CutRuns<'a>,
}

#[derive(Serialize)]
struct CutRuns<'a> {
    plans: Vec<CutPlan<'a>>,
    measured: Vec<String>,
    method: &'static str,
}

#[derive(Serialize)]
struct CutPlan<'a> {
    file: &'a str,
    whole: GraphsTimed,
    cut: GraphsTimed,
    per_graph_ms: f64,
}

#[derive(Serialize)]
struct GraphsTimed {
    graphs: u64,
    measured_ms: f64,
}

/// `--cuts`: the cost of each later graph of a sample, the median over the plans measured
/// whole and cut, into the profile's `segments` (what `bench profile` measured stays as
/// `back_to_back_ms`); the workload's hash joins the calibration's, so that rows measured on
/// it still apply.
pub(super) fn segment_cost(a: &CalibrateOptions, w: &Workload, v: &mut Value) -> Result<()> {
    let rows = read_rows(&a.cuts)?;
    let (typed, p) = profiled_of(v, &a.workload)?;
    let hashes = known_hashes(&typed, w);
    let found = cuts(&rows, &hashes);
    if found.is_empty() {
        return Err(Error::Usage(format!(
            "{}: no plan of this workload replayed one sample at a time on one GPU both whole and cut (--cut-every)",
            names(&a.cuts).join(", ")
        )));
    }
    let mut per: Vec<f64> = found.iter().map(Cut::per_graph_ms).collect();
    per.sort_by(f64::total_cmp);
    let per_graph = per[per.len() / 2].max(0.0);
    let seg = &mut p["segments"];
    let first = seg.get("back_to_back_ms").is_none();
    let plans = found
        .iter()
        .map(|c| CutPlan {
            file: &c.file,
            whole: GraphsTimed { graphs: c.whole.0, measured_ms: c.whole.1 },
            cut: GraphsTimed { graphs: c.cut.0, measured_ms: c.cut.1 },
            per_graph_ms: c.per_graph_ms(),
        })
        .collect();
    let update = SegmentsCalibrated {
        back_to_back_ms: first.then(|| seg.get("per_segment_ms").and_then(Value::as_f64)),
        per_segment_ms: per_graph,
        cut_runs: CutRuns {
            plans,
            measured: names(&a.cuts),
            method: "per plan, (measured cut - measured whole) / (graphs cut - graphs whole), one sample at a time on one GPU; the median over the plans",
        },
    };
    set_fields(seg, &update);
    if p["calibration"].is_object() {
        set_fields(&mut p["calibration"], &FromHashes { from_hashes: &hashes });
    }
    eprintln!("{}: each later graph of a sample costs {:.5} ms ({} plans)", w.name, per_graph, found.len());
    Ok(())
}

/// A plan replayed one sample at a time as it is and with forks: its file, its time whole, and
/// the forks and time of its sparsest forked run.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub(super) struct Forked {
    pub(super) file: String,
    pub(super) whole_ms: f64,
    pub(super) forks: u64,
    pub(super) forked_ms: f64,
}

impl Forked {
    /// The share of the calibration's gain (`scale`) lost, beyond `fork_join_ms` per fork, on a
    /// whole run of `overhead_ms` besides its GPU time.
    pub(super) fn share(&self, scale: f64, overhead_ms: f64, fork_join_ms: f64) -> f64 {
        let gain = (self.whole_ms - overhead_ms) * (1.0 / scale - 1.0);
        (self.forked_ms - self.whole_ms - self.forks as f64 * fork_join_ms) / gain
    }
}

/// Per plan (`one_gpu_runs`) measured without forks and with: the run without and the one with
/// the fewest forks (`concurrent_stages`).
pub(super) fn forked(rows: &[ValidateRow], hashes: &[String]) -> Vec<Forked> {
    let forks = |r: &ValidateRow| r.concurrent_stages.as_ref().map(|c| c.iter().sum::<u64>());
    one_gpu_runs(rows, hashes, forks)
        .into_iter()
        .filter_map(|(file, v)| {
            let whole = v.iter().find(|x| x.0 == 0)?.1;
            let (forks, forked_ms) = v.iter().filter(|x| x.0 > 0).min_by_key(|x| x.0).copied()?;
            Some(Forked { file, whole_ms: whole, forks, forked_ms })
        })
        .collect()
}

/// What `--forked` writes into the profile's calibration.
#[derive(Serialize)]
struct ForkCalibrated<'a> {
    fork_share: f64,
    fork_runs: ForkRuns<'a>,
    from_hashes: &'a [String],
}

#[derive(Serialize)]
struct ForkRuns<'a> {
    plans: Vec<ForkPlan<'a>>,
    measured: Vec<String>,
    method: &'static str,
}

#[derive(Serialize)]
struct ForkPlan<'a> {
    #[serde(flatten)]
    run: &'a Forked,
    share: f64,
}

/// `--forked`: the share of the calibration's gain a forking GPU loses, the median over the
/// plans measured whole and forked, into the profile's `calibration.fork_share` (clamped to
/// [0, 1]; each plan's own share in `calibration.fork_runs`); the workload's hash joins the
/// calibration's, so that rows measured on it still apply.
pub(super) fn fork_share(a: &CalibrateOptions, w: &Workload, v: &mut Value) -> Result<()> {
    let rows = read_rows(&a.forked)?;
    let bad = |field: &str, m: &str| Error::input(&a.workload, field, m.to_string());
    let (typed, p) = profiled_of(v, &a.workload)?;
    let c = typed.calibration.as_ref();
    // The scale the issue model takes off (`scale_total` after calibrating twice).
    let scale = c.and_then(|c| c.scale_total.or(c.scale));
    let (Some(scale), Some(overhead)) = (scale, c.and_then(|c| c.sample_overhead_ms)) else {
        return Err(bad("placebench.profiled.calibration", "not calibrated: pass --measured too"));
    };
    let fork_join = typed.fork_join.as_ref().and_then(|f| f.per_extra_group_ms).unwrap_or(0.0);
    let hashes = known_hashes(&typed, w);
    let found = forked(&rows, &hashes);
    if found.is_empty() {
        return Err(Error::Usage(format!(
            "{}: no plan of this workload replayed one sample at a time on one GPU both as it is and with forks (--side-branches)",
            names(&a.forked).join(", ")
        )));
    }
    let mut shares: Vec<f64> = found.iter().map(|f| f.share(scale, overhead, fork_join)).collect();
    shares.sort_by(f64::total_cmp);
    let share = shares[shares.len() / 2].clamp(0.0, 1.0);
    let update = ForkCalibrated {
        fork_share: share,
        fork_runs: ForkRuns {
            plans: found.iter().map(|run| ForkPlan { run, share: run.share(scale, overhead, fork_join) }).collect(),
            measured: names(&a.forked),
            method: "per plan, (forked - whole - forks x fork_join.per_extra_group_ms) / ((whole - sample overhead) x (1 / scale - 1)), one sample at a time on one GPU, the run with the fewest forks; the median over the plans, clamped to [0, 1]",
        },
        from_hashes: &hashes,
    };
    set_fields(&mut p["calibration"], &update);
    eprintln!("{}: a forking GPU loses {:.2} of the calibration's gain ({} plans)", w.name, share, found.len());
    Ok(())
}

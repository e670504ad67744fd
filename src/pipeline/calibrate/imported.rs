//! Measurements a profile takes from other files of the same GPU: the executor's exchanges
//! between GPUs (`bench links`) and the concurrency efficiency of peers (another profile of
//! the same operators).

use super::{known_hashes, profiled_of, FromHashes};
use crate::error::{Error, Result};
use crate::pipeline::profile::LinksFile;
use crate::pipeline::provenance::Profiled;
use crate::pipeline::read_workload;
use crate::pipeline::row::set_fields;
use crate::pipeline::validate::zoo_of;
use crate::workload::Workload;
use crate::zoo::graph::OpGraph;
use serde::Serialize;
use serde_json::Value;
use std::path::Path;

/// What `--links` writes into the profile's `exchange.links`.
#[derive(Serialize)]
struct ExchangeMeasured<'a> {
    file: String,
    gpu: &'a str,
    driver: &'a str,
    date_utc: &'a str,
    hop_ms: f64,
    queued_copy_ms: f64,
    bytes: usize,
    method: &'static str,
}

/// Where a measurement came from.
#[derive(Serialize)]
struct Source<'a> {
    file: String,
    gpu: Option<&'a str>,
    driver: Option<&'a str>,
    date_utc: Option<&'a str>,
    method: &'static str,
}

#[derive(Serialize)]
struct From<'a> {
    from: Source<'a>,
}

/// A value as the messages show it: as JSON (`null` when absent).
fn shown(x: &impl Serialize) -> String {
    serde_json::to_string(x).unwrap_or_default()
}

/// `--links`: a `bench links` file's exchange measurements into the profile's
/// `exchange.links`, where the file was measured on the profile's GPU with its copy kernel; the
/// workload's hash joins the calibration's, so that rows measured on it still apply.
pub(super) fn links(file: &Path, path: &Path, w: &Workload, v: &mut Value) -> Result<()> {
    let text = std::fs::read(file).map_err(|e| Error::input(file, "file", e.to_string()))?;
    let l: LinksFile =
        serde_json::from_slice(&text).map_err(|e| Error::input(file, "placebench_links", e.to_string()))?;
    let l = l.placebench_links;
    let (typed, p) = profiled_of(v, path)?;
    let differs = |key: &str, here: String, there: String| {
        Error::input(file, format!("placebench_links.{key}"), format!("{here} here, {there} in {}", path.display()))
    };
    if typed.gpu.as_deref() != Some(l.gpu.as_str()) {
        return Err(differs("gpu", shown(&l.gpu), shown(&typed.gpu)));
    }
    if typed.copy_kernel != Some(l.copy_kernel) {
        return Err(differs("copy_kernel", shown(&l.copy_kernel), shown(&typed.copy_kernel)));
    }
    let Some(x) = &l.exchange else {
        return Err(Error::input(file, "placebench_links.exchange", "no graph-replay hops and queued copies measured"));
    };
    let [two, one] = x.chains_ms[0];
    let update = ExchangeMeasured {
        file: file.display().to_string(),
        gpu: &l.gpu,
        driver: &l.driver,
        date_utc: &l.date_utc,
        hop_ms: (two - one) / x.hops as f64,
        queued_copy_ms: x.queued.per_copy_ms,
        bytes: x.queued.bytes,
        method: "bench links under graph replay: hop_ms, (two GPUs - one) / hops of the ping-pong; queued_copy_ms, the slope of the time per hop over the copies each hop imports; both with copies of `bytes`",
    };
    let hashes = known_hashes(&typed, w);
    p["exchange"]["links"] = serde_json::to_value(&update).unwrap_or_default();
    if p["calibration"].is_object() {
        set_fields(&mut p["calibration"], &FromHashes { from_hashes: &hashes });
    }
    eprintln!(
        "{}: an exchange hop {:.4} ms, a queued copy {:.4} ms ({} bytes)",
        w.name, update.hop_ms, update.queued_copy_ms, update.bytes
    );
    Ok(())
}

/// The peers' summaries of a profile: pairs and wider sets, warm and cold.
const PEER_SUMMARIES: [&str; 4] = ["peers", "peers_cold", "peers_wide", "peers_wide_cold"];

/// `--peers`: the concurrency efficiencies of another profile (`file`) of the same operators
/// (`graph`) on the same GPU that a profile (`v`, at `path`) did not measure: all of them for
/// a profile without peers, the wider sets' for one made before they were measured. The
/// summaries come over as measured there (their sums in that profile's times; the issue model
/// reads only η, a ratio) with where they came from; what the profile measured itself stays.
pub(super) fn peers(file: &Path, path: &Path, graph: &OpGraph, v: &mut Value) -> Result<()> {
    let (other_w, other) = read_workload(file)?;
    let theirs =
        Profiled::of(&other).ok_or_else(|| Error::input(file, "placebench.profiled", "not a profiled workload"))?;
    let efficiency = |p: &Option<crate::pipeline::provenance::PeersRecord>| p.as_ref().and_then(|p| p.efficiency);
    if efficiency(&theirs.peers).is_none() {
        return Err(Error::input(file, "placebench.profiled.peers", "no concurrency efficiency measured"));
    }
    let (ours, p) = profiled_of(v, path)?;
    let raw = other.pointer("/placebench/profiled").expect("read above");
    let missing: Vec<&str> =
        PEER_SUMMARIES.into_iter().filter(|k| raw.get(*k).is_some() && p.get(*k).is_none()).collect();
    if missing.is_empty() {
        return Err(Error::input(path, "placebench.profiled.peers", "measured already: a profile keeps its own"));
    }
    if theirs.gpu != ours.gpu {
        return Err(Error::input(
            file,
            "placebench.profiled.gpu",
            format!("{} there, {} in {}", shown(&theirs.gpu), shown(&ours.gpu), path.display()),
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
    let from = From {
        from: Source {
            file: file.display().to_string(),
            gpu: theirs.gpu.as_deref(),
            driver: theirs.driver.as_deref(),
            date_utc: theirs.date_utc.as_deref(),
            method: "measured by bench profile in another profile of the same operators on the same GPU: this profile's run did not measure them",
        },
    };
    // As written there, field for field.
    for key in &missing {
        p[*key] = raw[*key].clone();
        match p[*key].as_array_mut() {
            Some(widths) => widths.iter_mut().for_each(|w| set_fields(w, &from)),
            None => set_fields(&mut p[*key], &from),
        }
    }
    let shown_by = |by: Option<crate::gpu::concurrency::ByGroups>| {
        by.map_or("none".into(), |b| b.iter().map(|e| format!("{e:.3}")).collect::<Vec<_>>().join("/"))
    };
    eprintln!(
        "{}: {} from {}: concurrency efficiency by 2/3/{}+ groups {} warm, {} cold there",
        other_w.name,
        missing.join(", "),
        file.display(),
        crate::gpu::concurrency::WIDEST,
        shown_by(theirs.efficiencies(false)),
        shown_by(theirs.efficiencies(true)),
    );
    Ok(())
}

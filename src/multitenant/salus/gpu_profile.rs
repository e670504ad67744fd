//! What `bench salus --gpu` measures before it runs a policy, and feeds back into the
//! simulator: each tenant's iteration alone (the median of five, after two warm-ups), the
//! co-run slowdown of every pair of tenants (two jobs' iterations started together, three
//! times: `corun::slowdown` of the median pair time), the switch cost of a lane (iterations of
//! two tenants alternating against each tenant's back to back) and a process restart (one
//! tenant's library, handles, buffers, weights and graphs prepared again in this process: a
//! lower bound of a real restart, which also creates a context), and every set of three and
//! four tenants the trace has jobs for (each member's mean iteration while all of them run
//! back to back, [`in_window`]). Written to a file and read back by later processes for the
//! same trace on the same GPU.

use super::corun::slowdown;
use super::family::Instance;
use super::gpu_run::with_machine;
use super::sim::Iterations;
use crate::error::{Error, Result};
use crate::gpu::LayerKernels;
use crate::multitenant::fluid::{shared_rate, DEFAULT_BETA};
use crate::multitenant::slowdown::{CorunFile, PairRow, SetRow, CORUN_SCHEMA, MAX_SET};
use crate::zoo::graph::OpGraph;
use serde::{Deserialize, Serialize};
use std::ops::Range;
use std::path::Path;

/// Version of [`GpuProfile`] (version 1, without sets, is read too).
pub const GPU_PROFILE_SCHEMA: u32 = 2;

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct GpuProfile {
    pub schema_version: u32,
    pub trace: String,
    pub trace_hash: String,
    pub device: String,
    pub tenants: Vec<TenantTime>,
    pub pairs: Vec<PairRow>,
    #[serde(default)]
    pub sets: Vec<SetRow>,
    /// A lane's switch from one member to another beyond their iterations, ms (negative:
    /// alternating ran faster than back to back).
    pub switch_ms: f64,
    /// The switch's measurement: the two tenants, and per iteration back to back (each) and
    /// alternating, ms.
    pub switch_tenants: Vec<String>,
    pub switch_detail_ms: Vec<f64>,
    /// One tenant prepared again in this process, ms.
    pub restart_ms: f64,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct TenantTime {
    pub name: String,
    /// The job whose kernels were timed.
    pub job: usize,
    pub iter_ms: f64,
    pub runs_ms: Vec<f64>,
    pub occupancy: f64,
}

impl GpuProfile {
    /// The pairs as a co-run file, for the simulator's slowdown table.
    pub fn corun(&self) -> CorunFile {
        CorunFile {
            schema_version: CORUN_SCHEMA,
            gpu: self.device.clone(),
            beta: DEFAULT_BETA,
            warmup: 2,
            runs: PAIR_RUNS,
            pairs: self.pairs.clone(),
            sets: self.sets.clone(),
        }
    }
}

const PAIR_RUNS: usize = 3;

fn median(mut xs: Vec<f64>) -> f64 {
    xs.sort_by(f64::total_cmp);
    xs[xs.len() / 2]
}

/// Starts `jobs` together and waits for all of them: the time until the last ends, ms.
fn together(m: &mut super::gpu_run::GpuMachine, jobs: &[usize]) -> Result<f64> {
    let t0 = m.now_ms();
    for &j in jobs {
        m.start(j, j)?;
    }
    let mut ended = Vec::new();
    while ended.len() < jobs.len() {
        m.wait(f64::INFINITY, &mut ended)?;
    }
    Ok(m.now_ms() - t0)
}

/// Iterations of `order` one after another in one lane: ms per iteration.
fn back_to_back(m: &mut super::gpu_run::GpuMachine, order: &[usize]) -> Result<f64> {
    let t0 = m.now_ms();
    for &j in order {
        together(m, &[j])?;
    }
    Ok((m.now_ms() - t0) / order.len() as f64)
}

/// Runs `jobs` side by side, each restarted as soon as its iteration ends, for `window_ms`:
/// per member, the iterations that ended within the window (while every member was still
/// running) and the mean of them, ms.
pub fn in_window<M: Iterations>(m: &mut M, jobs: &[usize], window_ms: f64) -> Result<Vec<(usize, f64)>> {
    let mut ended = Vec::new();
    let t0 = m.now_ms();
    for &j in jobs {
        m.start(j, j)?;
    }
    let close = t0 + window_ms;
    let (mut count, mut last) = (vec![0usize; jobs.len()], vec![t0; jobs.len()]);
    let mut running = jobs.len();
    while running > 0 {
        let t = m.wait(f64::INFINITY, &mut ended)?;
        for j in ended.drain(..) {
            let p = jobs.iter().position(|&x| x == j).ok_or_else(|| Error::Gpu(format!("job {j} ended unasked")))?;
            if t <= close {
                count[p] += 1;
                last[p] = t;
                m.start(j, j)?;
            } else {
                running -= 1;
            }
        }
    }
    Ok(count.iter().zip(&last).map(|(&c, &l)| (c, if c > 0 { (l - t0) / c as f64 } else { f64::NAN })).collect())
}

/// Every multiset of `k` tenants of `0..n` (ascending).
fn multisets(n: usize, k: usize) -> Vec<Vec<usize>> {
    if k == 0 {
        return vec![Vec::new()];
    }
    let mut out = Vec::new();
    for rest in multisets(n, k - 1) {
        for t in rest.last().copied().unwrap_or(0)..n {
            let mut v = rest.clone();
            v.push(t);
            out.push(v);
        }
    }
    out
}

/// Each set's window: long enough for several iterations of its slowest member.
const SET_WINDOW_ALONES: f64 = 25.0;

/// Measures every set of three to [`MAX_SET`] of the tenants that has a job per member.
fn measure_sets<M: Iterations>(
    m: &mut M,
    tenants: &[TenantTime],
    pairs: &[PairRow],
    jobs_of: &dyn Fn(usize) -> Vec<usize>,
) -> Result<Vec<SetRow>> {
    let pair = |a: usize, b: usize| {
        let (x, y) = (&tenants[a].name, &tenants[b].name);
        pairs.iter().find(|p| (&p.a == x && &p.b == y) || (&p.a == y && &p.b == x)).map(|p| p.measured_slowdown)
    };
    let mut rows = Vec::new();
    for k in 3..=MAX_SET {
        for set in multisets(tenants.len(), k) {
            // The i-th member of a tenant takes its i-th job.
            let jobs: Option<Vec<usize>> = set
                .iter()
                .enumerate()
                .map(|(i, &t)| jobs_of(t).get(set[..i].iter().filter(|&&u| u == t).count()).copied())
                .collect();
            let Some(jobs) = jobs else { continue };
            let alone: Vec<f64> = set.iter().map(|&t| tenants[t].iter_ms).collect();
            let window = SET_WINDOW_ALONES * alone.iter().copied().fold(0.0, f64::max);
            let got = in_window(m, &jobs, window)?;
            if got.iter().any(|g| g.0 == 0) {
                continue;
            }
            let additive: Vec<f64> = (0..k)
                .map(|p| {
                    let others = (0..k).filter(|&q| q != p);
                    1.0 + others.map(|q| pair(set[p], set[q]).map_or(f64::NAN, |s| s.max(1.0) - 1.0)).sum::<f64>()
                })
                .collect();
            rows.push(SetRow {
                tenants: set.iter().map(|&t| tenants[t].name.clone()).collect(),
                iterations: got.iter().map(|g| g.0).collect(),
                slowdowns: got.iter().zip(&alone).map(|(g, a)| g.1 / a).collect(),
                alone_ms: alone,
                additive_slowdowns: additive,
            });
        }
    }
    Ok(rows)
}

/// Measures the profile of `inst`'s tenants on `kernels` (model `j` is job `j`'s).
pub fn measure(
    inst: &Instance,
    kernels: &LayerKernels,
    models: &[(OpGraph, Vec<Range<usize>>, bool)],
    passes: &[usize],
) -> Result<GpuProfile> {
    let jobs_of = |t: usize| (0..inst.jobs.len()).filter(move |&j| inst.tenant_of[j] == t);
    let first: Vec<usize> =
        (0..inst.tenants.len()).map(|t| jobs_of(t).next().expect("every tenant has a job")).collect();
    let (tenants, pairs, switch) = with_machine(kernels, passes, |m| {
        let mut tenants = Vec::new();
        for (t, &j) in first.iter().enumerate() {
            for _ in 0..2 {
                together(m, &[j])?;
            }
            let runs: Vec<f64> = (0..5).map(|_| together(m, &[j])).collect::<Result<_>>()?;
            let iter_ms = median(runs.clone());
            eprintln!("{}: {:.3} ms an iteration alone", inst.tenants[t].name, iter_ms);
            tenants.push(TenantTime {
                name: inst.tenants[t].name.clone(),
                job: j,
                iter_ms,
                runs_ms: runs,
                occupancy: inst.tenants[t].occupancy,
            });
        }
        let mut pairs = Vec::new();
        for a in 0..first.len() {
            for b in a..first.len() {
                // A tenant with itself needs a second job of it.
                let Some(jb) = (if a == b { jobs_of(a).nth(1) } else { Some(first[b]) }) else { continue };
                let runs: Vec<f64> = (0..PAIR_RUNS).map(|_| together(m, &[first[a], jb])).collect::<Result<_>>()?;
                let (ta, tb, both) = (tenants[a].iter_ms, tenants[b].iter_ms, median(runs));
                let s = slowdown(ta, tb, both);
                let predicted = 1.0 / shared_rate(tenants[a].occupancy + tenants[b].occupancy, DEFAULT_BETA);
                pairs.push(PairRow {
                    a: tenants[a].name.clone(),
                    b: tenants[b].name.clone(),
                    alone_a_ms: ta,
                    alone_b_ms: tb,
                    together_ms: both,
                    occupancy_a: tenants[a].occupancy,
                    occupancy_b: tenants[b].occupancy,
                    measured_slowdown: s,
                    predicted_slowdown: predicted,
                    predicted_together_ms: super::corun::together(ta, tb, predicted),
                });
            }
        }
        let sets = measure_sets(m, &tenants, &pairs, &|t| jobs_of(t).collect())?;
        eprintln!("{}: {} sets of three and four tenants measured", inst.name, sets.len());
        let switch = if first.len() >= 2 {
            let (a, b) = (first[0], first[1]);
            let aa = back_to_back(m, &[a; 10])?;
            let bb = back_to_back(m, &[b; 10])?;
            let ab = back_to_back(m, &[a, b, a, b, a, b, a, b, a, b])?;
            Some((vec![tenants[0].name.clone(), tenants[1].name.clone()], vec![aa, bb, ab], ab - (aa + bb) / 2.0))
        } else {
            None
        };
        Ok((tenants, (pairs, sets), switch))
    })?;
    let (pairs, sets) = pairs;
    let t0 = std::time::Instant::now();
    let again = LayerKernels::new(std::slice::from_ref(&models[first[0]]))?;
    std::hint::black_box(&again);
    let restart_ms = t0.elapsed().as_secs_f64() * 1e3;
    let (switch_tenants, switch_detail_ms, switch_ms) = switch.unwrap_or_default();
    Ok(GpuProfile {
        schema_version: GPU_PROFILE_SCHEMA,
        trace: inst.name.clone(),
        trace_hash: inst.hash.clone(),
        device: kernels.device(),
        tenants,
        pairs,
        sets,
        switch_ms,
        switch_tenants,
        switch_detail_ms,
        restart_ms,
    })
}

/// Reads a profile; bad input names the file and the field.
pub fn read(path: &Path) -> Result<GpuProfile> {
    let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
    let f: GpuProfile = crate::strict_json::typed(&text).map_err(|e| Error::input(path, "JSON", e.to_string()))?;
    if !(1..=GPU_PROFILE_SCHEMA).contains(&f.schema_version) {
        return Err(Error::input(
            path,
            "field \"schema_version\"",
            format!("{} (this build reads 1 to {GPU_PROFILE_SCHEMA})", f.schema_version),
        ));
    }
    Ok(f)
}

/// `inst` with every job's iteration time its tenant's profiled one (the profile must be of
/// the same trace: tenants in the same order).
pub fn apply(inst: &Instance, prof: &GpuProfile) -> Instance {
    let mut out = inst.clone();
    for (j, job) in out.jobs.iter_mut().enumerate() {
        job.iter_ms = prof.tenants[inst.tenant_of[j]].iter_ms;
    }
    for (t, p) in out.tenants.iter_mut().zip(&prof.tenants) {
        t.iter_ms = p.iter_ms;
    }
    out
}

/// The profile at `path` when it was made for this trace on this GPU, else measured (and
/// written there, when a path is given).
pub fn load_or_measure(
    path: Option<&Path>,
    inst: &Instance,
    kernels: &LayerKernels,
    models: &[(OpGraph, Vec<Range<usize>>, bool)],
    passes: &[usize],
) -> Result<GpuProfile> {
    if let Some(p) = path.filter(|p| p.exists()) {
        let f = read(p)?;
        let same = f.trace_hash == inst.hash && f.device == kernels.device() && f.tenants.len() == inst.tenants.len();
        if same {
            eprintln!("{}: GPU profile read from {}", inst.name, p.display());
            return Ok(f);
        }
        eprintln!("{}: {} was made for another trace or GPU; profiling again", inst.name, p.display());
    }
    let f = measure(inst, kernels, models, passes)?;
    if let Some(p) = path {
        let text = serde_json::to_string_pretty(&f).map_err(|e| Error::Usage(e.to_string()))? + "\n";
        crate::results::write_atomic(p, text.as_bytes())?;
    }
    Ok(f)
}

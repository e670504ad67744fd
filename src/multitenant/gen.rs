//! Generated traces (`bench salus gen`) and the presets.
//!
//! Jobs draw a tenant uniformly from a model × batch mix and a standalone duration from an
//! empirical list (a Philly-style CSV's one-GPU jobs) or a truncated log-normal; arrivals are
//! Poisson at the rate that makes the offered load `Σ duration / span` equal the target. The
//! iteration count is the duration over the tenant's iteration time (at least one), and the
//! duration is written, so a trace does not change when the cost model does.
//!
//! With a profiled workload list (Salus's), each job is one of its runs drawn uniformly, with
//! that run's iterations and measured duration, as Salus built its traces.
//!
//! The presets' log-normal (μ = 5.757, σ = 1.189 in ln seconds, 60 s to 30 min) is the fit to
//! Philly's one-GPU jobs of that range (40,375 jobs, median 5.3 min, mean 9.5 min), so the
//! presets need no data file.

use super::profile::Workload;
use super::tenant::{Kind, Tenant, TenantKey};
use super::trace::{JobSpec, Trace, TRACE_SCHEMA};
use crate::error::{Error, Result};
use crate::zoo::cost::CostModel;
use crate::zoo::Model;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::path::Path;

/// Where durations come from, seconds.
#[derive(Debug, Clone, PartialEq)]
pub enum Durations {
    LogNormal {
        mu: f64,
        sigma: f64,
        min: f64,
        max: f64,
    },
    Empirical(Vec<f64>),
    /// Every job the same number of iterations.
    Iterations(u64),
}

/// The log-normal fitted to Philly's one-GPU jobs of 1 to 30 minutes.
pub const PHILLY_BODY: Durations = Durations::LogNormal { mu: 5.757, sigma: 1.189, min: 60.0, max: 1800.0 };

/// A trace to generate.
#[derive(Debug, Clone)]
pub struct GenOptions {
    pub name: String,
    pub jobs: usize,
    pub mix: Vec<(Model, usize)>,
    pub kind: Kind,
    pub durations: Durations,
    /// Offered load; 0 or infinite: every job arrives at time 0.
    pub load: f64,
    /// Serving: requests per second and the latency objective over the standalone latency.
    pub rate: Option<f64>,
    pub slo_slack_ms: Option<f64>,
    pub seed: u64,
    /// Runs of a profiled workload list to draw jobs from (each with its model, batch,
    /// iterations and measured duration) instead of the mix and the durations.
    pub workloads: Vec<Workload>,
}

fn sample_duration(d: &Durations, rng: &mut ChaCha8Rng) -> f64 {
    match d {
        Durations::LogNormal { mu, sigma, min, max } => loop {
            // Box–Muller; rejection keeps the truncation exact.
            let (u1, u2): (f64, f64) = (rng.random::<f64>(), rng.random::<f64>());
            let z = (-2.0 * (1.0 - u1).ln()).sqrt() * (std::f64::consts::TAU * u2).cos();
            let x = (mu + sigma * z).exp();
            if (*min..=*max).contains(&x) {
                break x;
            }
        },
        Durations::Empirical(v) => v[rng.random_range(0..v.len())],
        Durations::Iterations(_) => 0.0,
    }
}

/// Generates a trace; tenants' iteration times come from `cost`.
pub fn generate(o: &GenOptions, cost: &CostModel) -> Result<Trace> {
    if o.mix.is_empty() || o.jobs == 0 {
        return Err(Error::Usage("a generated trace needs at least one job and one model in its mix".into()));
    }
    let mut rng = ChaCha8Rng::seed_from_u64(o.seed);
    let tenants: Vec<Tenant> =
        o.mix.iter().map(|&(model, batch)| Tenant::from_zoo(TenantKey { model, batch, kind: o.kind }, cost)).collect();
    let mut jobs = Vec::with_capacity(o.jobs);
    let mut total = 0.0;
    for i in 0..o.jobs {
        if !o.workloads.is_empty() {
            let w = &o.workloads[rng.random_range(0..o.workloads.len())];
            total += w.jct_s;
            jobs.push(JobSpec {
                id: format!("{i}"),
                model: w.zoo,
                batch: w.batch,
                kind: Kind::Train,
                iterations: w.iterations,
                submit_s: 0.0,
                duration_s: Some(w.jct_s),
                priority: 0,
                slo_ms: None,
                rate: None,
                mapped_from: w.mapped.then(|| w.model.clone()),
            });
            continue;
        }
        let k = rng.random_range(0..o.mix.len());
        let t = &tenants[k];
        let (iterations, duration) = match o.durations {
            Durations::Iterations(n) => (n, n as f64 * t.iter_ms / 1e3),
            ref d => {
                let s = sample_duration(d, &mut rng);
                let n = ((s * 1e3 / t.iter_ms).round() as u64).max(1);
                (n, s)
            }
        };
        total += duration;
        jobs.push(JobSpec {
            id: format!("{i}"),
            model: o.mix[k].0,
            batch: o.mix[k].1,
            kind: o.kind,
            iterations,
            submit_s: 0.0,
            duration_s: Some(duration),
            priority: 0,
            slo_ms: o.slo_slack_ms.map(|s| t.iter_ms + s),
            rate: o.rate,
            mapped_from: None,
        });
    }
    if o.load.is_finite() && o.load > 0.0 {
        // Poisson arrivals: exponential gaps of mean span / jobs, span = Σ duration / load.
        let mean_gap = total / o.load / o.jobs as f64;
        let mut at = 0.0;
        for j in jobs.iter_mut().skip(1) {
            at += -(1.0 - rng.random::<f64>()).ln() * mean_gap;
            j.submit_s = (at * 1e3).round() / 1e3;
        }
    }
    Ok(Trace { schema_version: TRACE_SCHEMA, name: o.name.clone(), format: "placebench".into(), jobs })
}

/// The one-GPU durations of a Philly-style job list (`duration`, `num_gpus` columns), seconds,
/// within `[min, max]`.
pub fn read_durations(path: &Path, min: f64, max: f64) -> Result<Vec<f64>> {
    let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
    let mut rd = csv::ReaderBuilder::new().flexible(true).trim(csv::Trim::All).from_reader(text.as_bytes());
    let h = rd.headers().map_err(|e| Error::input(path, "header", e.to_string()))?.clone();
    let col = |name: &str| h.iter().position(|c| c == name);
    let d = col("duration").ok_or_else(|| Error::input(path, "header", "no \"duration\" column"))?;
    let g = col("num_gpus");
    let mut out = Vec::new();
    for (i, rec) in rd.records().enumerate() {
        let rec = rec.map_err(|e| Error::input(path, format!("row {}", i + 2), e.to_string()))?;
        if rec.iter().all(|f| f.is_empty()) {
            continue;
        }
        if g.and_then(|g| rec.get(g)).is_some_and(|v| v != "1") {
            continue;
        }
        let v: f64 = rec
            .get(d)
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| Error::input(path, format!("row {}: field \"duration\"", i + 2), "not a number"))?;
        if (min..=max).contains(&v) {
            out.push(v);
        }
    }
    if out.is_empty() {
        return Err(Error::input(path, "duration", format!("no one-GPU job lasts {min} to {max} s")));
    }
    Ok(out)
}

/// The presets' names.
pub const PRESETS: &[&str] = &["salus-trace", "hpo", "inference-consolidation", "train+infer", "gpu-trace"];

/// Whether `name` is a preset.
pub fn is_preset(name: &str) -> bool {
    PRESETS.contains(&name)
}

/// A preset's trace, generated with `seed` on `cost`'s accelerator; none for another name.
pub fn preset_trace(name: &str, seed: u64, cost: &CostModel) -> Option<Result<Trace>> {
    if name == "train+infer" {
        return Some(Ok(train_infer(cost)));
    }
    preset(name, seed).map(|o| generate(&o, cost))
}

/// Request rates of `train+infer`'s service, one minute each, per second.
pub const TRAIN_INFER_RATES: [f64; 5] = [10.0, 20.0, 40.0, 80.0, 160.0];

/// `train+infer`: four training jobs of five minutes each from time 0 (ResNet-50 and
/// Inception-v3 at batch 32, BERT and GPT-2 at 8) beside one ResNet-50 service at batch 1
/// whose request rate doubles every minute; each minute is a job of its own, so that the rows
/// say at which rate a policy stops meeting the objective (standalone latency + 5 ms).
fn train_infer(cost: &CostModel) -> Trace {
    use Model::*;
    let mut jobs = Vec::new();
    let job = |id: String, model, batch, kind, iterations, submit_s, duration_s, rate, slo_ms| JobSpec {
        id,
        model,
        batch,
        kind,
        iterations,
        submit_s,
        duration_s,
        priority: 0,
        slo_ms,
        rate,
        mapped_from: None,
    };
    for (model, batch) in [(Resnet50, 32), (InceptionV3, 32), (Bert, 8), (Gpt, 8)] {
        let t = Tenant::from_zoo(TenantKey { model, batch, kind: Kind::Train }, cost);
        let n = ((300e3 / t.iter_ms).round() as u64).max(1);
        let id = format!("train-{}", super::tenant::model_name(model));
        jobs.push(job(id, model, batch, Kind::Train, n, 0.0, None, None, None));
    }
    let service = Tenant::from_zoo(TenantKey { model: Resnet50, batch: 1, kind: Kind::Infer }, cost);
    for (i, &rate) in TRAIN_INFER_RATES.iter().enumerate() {
        let (id, n) = (format!("serve-{rate}"), (rate * 60.0) as u64);
        let slo = Some(service.iter_ms + 5.0);
        jobs.push(job(id, Resnet50, 1, Kind::Infer, n, 60.0 * i as f64, None, Some(rate), slo));
    }
    Trace { schema_version: TRACE_SCHEMA, name: "train+infer".into(), format: "placebench".into(), jobs }
}

/// A preset's generation options.
pub fn preset(name: &str, seed: u64) -> Option<GenOptions> {
    use Model::*;
    let cnns = [Resnet50, InceptionV3, NasnetMobile, Randwire];
    let o = match name {
        // 100 training jobs of six models at three batch sizes, Philly durations, arrivals
        // at four times the GPU's capacity (a burst, as Salus's trace).
        "salus-trace" => GenOptions {
            name: name.into(),
            jobs: 100,
            mix: cnns
                .iter()
                .flat_map(|&m| [(m, 16), (m, 32), (m, 64)])
                .chain([Bert, Gpt].into_iter().flat_map(|m| [(m, 4), (m, 8), (m, 16)]))
                .collect(),
            kind: Kind::Train,
            durations: PHILLY_BODY,
            load: 4.0,
            rate: None,
            slo_slack_ms: None,
            seed,
            workloads: Vec::new(),
        },
        // A trace small enough to run on a real GPU in minutes: 12 training jobs of six
        // models, standalone 1 to 3 s on the cost model, arriving at 1.5 times the GPU's
        // capacity.
        "gpu-trace" => GenOptions {
            name: name.into(),
            jobs: 12,
            mix: vec![(Resnet50, 16), (InceptionV3, 16), (NasnetMobile, 16), (Randwire, 16), (Bert, 8), (Gpt, 4)],
            kind: Kind::Train,
            durations: match PHILLY_BODY {
                Durations::LogNormal { mu, sigma, .. } => Durations::LogNormal { mu, sigma, min: 1.0, max: 3.0 },
                d => d,
            },
            load: 1.5,
            rate: None,
            slo_slack_ms: None,
            seed,
            workloads: Vec::new(),
        },
        // Hyper-parameter search: 300 identical small jobs of 500 iterations, submitted at once.
        "hpo" => GenOptions {
            name: name.into(),
            jobs: 300,
            mix: vec![(NasnetMobile, 64)],
            kind: Kind::Train,
            durations: Durations::Iterations(500),
            load: 0.0,
            rate: None,
            slo_slack_ms: None,
            seed,
            workloads: Vec::new(),
        },
        // 42 inference services (14 tenants × 3), a request every 10 s on average for an
        // hour, each request's objective its standalone latency + 5 ms.
        "inference-consolidation" => GenOptions {
            name: name.into(),
            jobs: 42,
            mix: [Resnet50, InceptionV3, NasnetMobile, Randwire, Bert, Gpt, Nasnet]
                .into_iter()
                .flat_map(|m| [(m, 1), (m, 8)])
                .collect(),
            kind: Kind::Infer,
            durations: Durations::Iterations(360),
            load: 0.0,
            rate: Some(0.1),
            slo_slack_ms: Some(5.0),
            seed,
            workloads: Vec::new(),
        },
        _ => return None,
    };
    Some(o)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generation_is_seeded_and_hits_its_load() {
        let cost = CostModel::resolve("h200", "pcie").unwrap();
        let mut o = preset("salus-trace", 7).unwrap();
        o.jobs = 40;
        let a = generate(&o, &cost).unwrap();
        assert_eq!(a, generate(&o, &cost).unwrap());
        assert_ne!(a, generate(&GenOptions { seed: 8, ..o.clone() }, &cost).unwrap());
        let total: f64 = a.jobs.iter().map(|j| j.duration_s.unwrap()).sum();
        let span = a.jobs.last().unwrap().submit_s;
        // Poisson: the last arrival is near Σ duration / load (39 of 40 gaps).
        let want = total / o.load * 39.0 / 40.0;
        assert!((span / want - 1.0).abs() < 0.5, "span {span} vs {want}");
        assert!(a.jobs.iter().all(|j| (60.0..=1800.0).contains(&j.duration_s.unwrap())));
    }

    #[test]
    fn presets_exist() {
        let cost = CostModel::resolve("h200", "pcie").unwrap();
        for p in PRESETS {
            assert!(is_preset(p));
            assert!(preset_trace(p, 0, &cost).unwrap().is_ok(), "{p}");
        }
        assert!(preset_trace("nope", 0, &cost).is_none() && !is_preset("nope"));
        // train+infer: the service's minutes follow each other at doubling rates.
        let t = preset_trace("train+infer", 0, &cost).unwrap().unwrap();
        let serve: Vec<_> = t.jobs.iter().filter(|j| j.kind == Kind::Infer).collect();
        assert_eq!(serve.len(), TRAIN_INFER_RATES.len());
        for (i, j) in serve.iter().enumerate() {
            assert_eq!((j.submit_s, j.rate), (60.0 * i as f64, Some(TRAIN_INFER_RATES[i])));
        }
    }
}

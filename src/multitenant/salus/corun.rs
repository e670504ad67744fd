//! `bench salus corun`: measured co-run slowdowns of tenant pairs on a real GPU against the
//! rate model's prediction.
//!
//! Each pair's forward passes run side by side on two streams of GPU 0 (every operator on
//! buffers of its own, through the profiler that times stages of concurrent groups), and each
//! alone. With `T_a ≤ T_b` alone, both run together until the shorter ends and the longer then
//! alone, so the measured pair time `T_ab` gives the slowdown while both run,
//! `s = (T_ab − (T_b − T_a)) / T_a`; the rate model predicts `s = 1 / r(u_a + u_b)`. Needs the
//! `cuda` feature and a GPU; otherwise it says so in one line.

use super::sweep::{parse_mix, write_or_print};
use crate::error::{Error, Result};
use crate::multitenant::fluid::{shared_rate, DEFAULT_BETA};
use crate::multitenant::slowdown::{CorunFile, PairRow, CORUN_SCHEMA};
use crate::multitenant::tenant::{graph, model_name, Kind, Tenant};
use crate::zoo::cost::CostModel;
use crate::zoo::graph::OpGraph;
use clap::Args;
use std::path::PathBuf;

#[derive(Debug, Args)]
pub struct CorunArgs {
    /// Tenants (`model:batch`, comma-separated, serving forward passes); every pair of them,
    /// each with itself too.
    #[arg(long, default_value = "resnet50:8,inception-v3:8,nasnet-mobile:8,bert:8")]
    pub mix: String,
    #[arg(long, default_value_t = 3, value_parser = crate::run::parse::at_least_one)]
    pub warmup: usize,
    #[arg(long, default_value_t = 10, value_parser = crate::run::parse::at_least_one)]
    pub runs: usize,
    /// The oversubscription penalty the prediction uses.
    #[arg(long, default_value_t = DEFAULT_BETA, value_parser = crate::run::parse::non_negative)]
    pub beta: f64,
    /// Where to write the rows (JSON; default: standard output).
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
}

/// Appends `g`'s operators to `into`; their indices there.
fn append(into: &mut OpGraph, g: &OpGraph) -> Vec<usize> {
    let base = into.ops.len();
    for op in &g.ops {
        let mut op = op.clone();
        op.inputs.iter_mut().for_each(|i| *i += base);
        into.ops.push(op);
    }
    (base..into.ops.len()).collect()
}

/// The slowdown while both run, from the alone and pair times.
pub fn slowdown(alone_a: f64, alone_b: f64, together: f64) -> f64 {
    let (short, long) = if alone_a <= alone_b { (alone_a, alone_b) } else { (alone_b, alone_a) };
    (together - (long - short)) / short
}

/// The pair time at slowdown `s` while both run.
pub fn together(alone_a: f64, alone_b: f64, s: f64) -> f64 {
    let (short, long) = if alone_a <= alone_b { (alone_a, alone_b) } else { (alone_b, alone_a) };
    short * s + (long - short)
}

pub fn corun(a: &CorunArgs) -> Result<i32> {
    let info = crate::gpu::probe()?;
    let cost = CostModel::resolve("h200", "pcie")?;
    let mix = parse_mix(&a.mix)?;
    if mix.is_empty() {
        return Err(Error::Usage("--mix names no tenant".into()));
    }
    // Every tenant twice (a pair of a tenant with itself runs two copies).
    let mut g = OpGraph::default();
    let mut copies = Vec::new();
    let mut tenants = Vec::new();
    for &(model, batch) in &mix {
        let og = graph(model, batch);
        tenants.push(Tenant::from_graph(&format!("{}_b{batch}_infer", model_name(model)), &og, Kind::Infer, &cost));
        copies.push([append(&mut g, &og), append(&mut g, &og)]);
    }
    let mut pairs = Vec::new();
    let mut stages = Vec::new();
    for i in 0..mix.len() {
        for j in i..mix.len() {
            pairs.push((i, j));
            stages.push(vec![copies[i][0].clone(), copies[j][1].clone()]);
        }
    }
    eprintln!("timing {} pairs of {} tenants on {}", pairs.len(), mix.len(), info.name);
    let (times, _) = crate::gpu::profile_stages(&g, &stages, None, a.warmup, a.runs)?;
    let rows: Vec<PairRow> = pairs
        .iter()
        .zip(&times)
        .map(|(&(i, j), t)| {
            let (ta, tb) = (t.alone_ms[0], t.alone_ms[1]);
            let (ua, ub) = (tenants[i].occupancy, tenants[j].occupancy);
            let predicted = 1.0 / shared_rate(ua + ub, a.beta);
            PairRow {
                a: tenants[i].name.clone(),
                b: tenants[j].name.clone(),
                alone_a_ms: ta,
                alone_b_ms: tb,
                together_ms: t.side_by_side_ms,
                occupancy_a: ua,
                occupancy_b: ub,
                measured_slowdown: slowdown(ta, tb, t.side_by_side_ms),
                predicted_slowdown: predicted,
                predicted_together_ms: together(ta, tb, predicted),
            }
        })
        .collect();
    for r in &rows {
        eprintln!(
            "{:>26} + {:<26} alone {:8.3} {:8.3} ms  together {:8.3} ms  slowdown measured {:.3} predicted {:.3}",
            r.a, r.b, r.alone_a_ms, r.alone_b_ms, r.together_ms, r.measured_slowdown, r.predicted_slowdown
        );
    }
    let file = CorunFile {
        schema_version: CORUN_SCHEMA,
        gpu: info.name,
        beta: a.beta,
        warmup: a.warmup,
        runs: a.runs,
        pairs: rows,
        sets: Vec::new(),
    };
    let text = serde_json::to_string_pretty(&file).map_err(|e| Error::Usage(e.to_string()))? + "\n";
    write_or_print(a.out.as_deref(), &text)?;
    Ok(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slowdown_and_pair_time_invert_each_other() {
        for (a, b, s) in [(2.0, 5.0, 1.7), (4.0, 4.0, 2.2), (9.0, 1.0, 1.0)] {
            assert!((slowdown(a, b, together(a, b, s)) - s).abs() < 1e-12);
        }
        // Two equal items that share the GPU evenly take twice as long together.
        assert!((slowdown(3.0, 3.0, 6.0) - 2.0).abs() < 1e-12);
    }

    #[test]
    fn without_a_gpu_it_says_so() {
        let a = CorunArgs { mix: "resnet50:1".into(), warmup: 1, runs: 1, beta: 0.1, out: None };
        if crate::gpu::probe().is_err() {
            let e = corun(&a).unwrap_err().to_string();
            assert!(!e.contains('\n'), "{e}");
        }
    }
}

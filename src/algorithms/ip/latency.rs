//! `latency-ip`: the single-sample latency program of the paper on HiGHS.
//!
//! Slot 0 is "the CPUs" (unlimited and parallel, as in the paper's model); slots 1..=q·k are
//! subgraphs, q per accelerator, run one after the other. Each subgraph is contiguous and runs
//! as one call: it starts when every input it receives is done, then receives, computes and
//! sends. `U`, the big-M, is the latency of running everything on the CPUs (their critical
//! path), which bounds the optimum because that placement is always feasible. Differences from the reference: classes
//! stay within one subgraph (the reference only keeps them on one accelerator, which matters
//! for q > 1), and for q > 1 the dual bound is not reported as a bound on every placement
//! (it holds for placements of at most q pieces per accelerator).

use super::latency_start::{self, Handles};
use super::{assignment, chosen_slots, claim_of, no_placement, solve_options, solver_info, term, Classes};
use crate::algorithms::baselines::greedy::Greedy;
use crate::algorithms::{Algorithm, Objective, Outcome, RunOptions, Space};
use crate::error::{Error, Result};
use crate::placement::{Device, Placement};
use crate::solver::{Mip, Var};
use crate::workload::Workload;

/// The paper's time limit for the latency IP (one hour).
pub const DEFAULT_TIME_LIMIT: f64 = 3600.0;

pub struct LatencyIp;

impl Algorithm for LatencyIp {
    fn name(&self) -> &'static str {
        "latency-ip"
    }

    fn objective(&self) -> Objective {
        Objective::Latency
    }

    fn summary(&self) -> &'static str {
        "single-sample latency IP on HiGHS, --subgraphs-per-device q contiguous calls per accelerator"
    }

    fn options(&self, opts: &RunOptions) -> String {
        let mut o = format!(
            "time_limit={};mip_gap={};subgraphs_per_device={};symmetry_breaking={};warm_start={}",
            opts.time_limit.unwrap_or(DEFAULT_TIME_LIMIT),
            opts.ip.mip_gap,
            opts.ip.subgraphs_per_device.max(1),
            opts.ip.symmetry_breaking,
            opts.ip.warm_start
        );
        for (k, v) in &opts.ip.highs_options {
            o += &format!(";highs.{k}={v}");
        }
        o
    }

    fn isolated(&self) -> bool {
        true
    }

    fn deterministic(&self) -> bool {
        false
    }

    fn applicable(&self, w: &Workload, _opts: &RunOptions) -> Result<(), crate::family::NotApplicable> {
        if w.is_training() {
            return Err("the latency model is for inference graphs; this one has backward nodes".into());
        }
        Ok(())
    }

    fn run(&self, w: &Workload, opts: &RunOptions) -> Result<Outcome> {
        let q = opts.ip.subgraphs_per_device.max(1);
        let subgraphs = q * w.max_accs;
        let slots = subgraphs + 1;
        let classes = Classes::of(w);
        let cl = &w.class_of;
        // Every node on the CPUs (unlimited, parallel) is always feasible, with the CPU critical
        // path U as its latency, so an optimum has every time at most U. A big-M of U (tighter
        // than Σ cpuLatency) can only cut off solutions slower than that, never admit a wrong
        // one. An explicit `total ≤ U` row is left out: measured, it raised one bound and
        // collapsed another (README, "Integer programs").
        // Without CPUs that argument fails; every time is then at most the sum of all work and
        // of every transfer each subgraph can pay.
        let big_m = if w.max_cpus > 0 {
            cpu_critical_path(w)
        } else {
            let work: f64 = w.nodes.iter().map(|v| v.acc_latency).sum();
            work + 2.0 * slots as f64 * w.out_cost.iter().sum::<f64>()
        }
        .max(1e-9);
        let mut mip = Mip::new();
        let rank = |s: usize| if s == 0 { (false, 0) } else { (true, (s - 1) / q) };
        let x = assignment(&mut mip, &classes, slots, rank, opts.ip.symmetry_breaking);
        if w.max_cpus == 0 {
            for c in 0..classes.size.len() {
                if let Some(t) = term(&x, c, 0, 1.0) {
                    mip.row(f64::NEG_INFINITY, 0.0, &[t]);
                }
            }
        }

        for a in 0..w.max_accs {
            let mut t = Vec::new();
            for j in (1 + a * q)..=(a + 1) * q {
                t.extend((0..classes.size.len()).filter_map(|c| term(&x, c, j, classes.size[c])));
            }
            mip.row(f64::NEG_INFINITY, w.max_size_per_acc, &t);
        }

        let inf = f64::INFINITY;
        let lat: Vec<Var> = (0..w.len()).map(|_| mip.continuous(0.0, 0.0, inf)).collect();
        let start: Vec<Var> = (0..slots).map(|_| mip.continuous(0.0, 0.0, inf)).collect();
        let finish: Vec<Var> = (0..slots).map(|_| mip.continuous(0.0, 0.0, inf)).collect();
        let total = mip.continuous(1.0, 0.0, inf);
        let (mut zs, mut io) = (Vec::new(), Vec::new());

        for j in 1..slots {
            // Contiguity of subgraph j over all edges (inference: every node is forward).
            let z: Vec<Var> = (0..w.len()).map(|_| mip.continuous(0.0, 0.0, 1.0)).collect();
            zs.extend(z.iter().enumerate().map(|(v, &zv)| (v, j, zv)));
            for v in 0..w.len() {
                let mut t = vec![(z[v], 1.0)];
                t.extend(term(&x, cl[v], j, -1.0));
                mip.row(0.0, inf, &t);
            }
            for &(u, v) in &w.edges {
                mip.row(-inf, 0.0, &[(z[v], 1.0), (z[u], -1.0)]);
                if cl[u] != cl[v] {
                    let mut t = vec![(z[v], 1.0)];
                    t.extend(term(&x, cl[u], j, 1.0));
                    t.extend(term(&x, cl[v], j, -1.0));
                    mip.row(-inf, 1.0, &t);
                }
            }
            // finish_j = start_j + compute + Σ c(u)(in + out)
            let mut fin = vec![(finish[j], 1.0), (start[j], -1.0)];
            for (c, members) in w.classes.iter().enumerate() {
                let compute: f64 = members.iter().map(|&v| w.nodes[v].acc_latency).sum();
                fin.extend(term(&x, c, j, -compute));
            }
            for u in 0..w.len() {
                let mut targets: Vec<usize> = w.succ[u].iter().map(|&v| cl[v]).filter(|&t| t != cl[u]).collect();
                targets.sort_unstable();
                targets.dedup();
                if targets.is_empty() {
                    continue;
                }
                // `in` also orders the call after u, so it exists even when u's cost is 0.
                let i = mip.continuous(0.0, 0.0, 1.0);
                let o = mip.continuous(0.0, 0.0, 1.0);
                io.push((u, j, i, o));
                for &t in &targets {
                    let mut r = vec![(i, 1.0)];
                    r.extend(term(&x, t, j, -1.0));
                    r.extend(term(&x, cl[u], j, 1.0));
                    mip.row(0.0, inf, &r);
                    let mut r = vec![(o, 1.0)];
                    r.extend(term(&x, cl[u], j, -1.0));
                    r.extend(term(&x, t, j, 1.0));
                    mip.row(0.0, inf, &r);
                }
                fin.push((i, -w.out_cost[u]));
                fin.push((o, -w.out_cost[u]));
                // start_j ≥ lat_u − (1 − in_uj)·U
                mip.row(-big_m, inf, &[(start[j], 1.0), (lat[u], -1.0), (i, -big_m)]);
            }
            mip.row(0.0, 0.0, &fin);
            // Nodes of subgraph j finish with it: lat_v ≥ finish_j − (1 − x_vj)·U.
            for v in 0..w.len() {
                let mut t = vec![(lat[v], 1.0), (finish[j], -1.0)];
                t.extend(term(&x, cl[v], j, -big_m));
                mip.row(-big_m, inf, &t);
            }
            // Subgraphs of one accelerator run in index order.
            if (j - 1) % q != 0 {
                mip.row(0.0, inf, &[(start[j], 1.0), (finish[j - 1], -1.0)]);
            }
        }
        // CPU nodes: after every predecessor, plus their own time.
        for v in 0..w.len() {
            let p = w.nodes[v].cpu_latency;
            let mut t = vec![(lat[v], 1.0)];
            t.extend(term(&x, cl[v], 0, -p));
            mip.row(0.0, inf, &t);
            for &u in &w.pred[v] {
                let mut t = vec![(lat[v], 1.0), (lat[u], -1.0)];
                t.extend(term(&x, cl[v], 0, -p));
                mip.row(0.0, inf, &t);
            }
            mip.row(0.0, inf, &[(total, 1.0), (lat[v], -1.0)]);
        }

        let variables = mip.num_vars();
        let handles = Handles { x: &x, z: &zs, io: &io, lat: &lat, start: &start, finish: &finish, total, q };
        let warm = if opts.ip.warm_start && !opts.ip.symmetry_breaking {
            best_start(w, opts, &handles, &classes, variables, big_m)
        } else {
            None
        };
        let report = mip.solve(&solve_options(opts, DEFAULT_TIME_LIMIT), warm.as_ref().map(|s| &s.0[..]));
        let claim = claim_of(&report).ok_or_else(|| Error::Algorithm(format!("HiGHS: {}", report.raw_status)))?;
        let mut outcome = if report.values.is_none() {
            no_placement(claim, &report)
        } else {
            let slot_of = chosen_slots(&x, &report);
            let device = (0..w.len())
                .map(|v| match slot_of[cl[v]] {
                    0 => Device::Cpu(0),
                    j => Device::Acc((j - 1) / q),
                })
                .collect();
            let mut o = Outcome::found(Placement { device }, None, claim);
            // The incumbent may carry slack above its assignment's latency, never below it.
            o.claimed_at_most = report.objective;
            o.solver = Some(solver_info(&report));
            o
        };
        // The program leaves the CPU slot unconstrained, so its space contains every
        // contiguous placement: the bound holds for those (for q = 1). The work bound holds
        // for every placement; the larger of the two is reported, with its space.
        let floor = work_bound(w);
        let ip_bound = report.bound.filter(|_| q == 1);
        match ip_bound {
            Some(b) if b >= floor || !floor.is_finite() => {
                outcome.lower_bound = Some(b);
                outcome.bound_space = Space::Convex;
            }
            _ if floor.is_finite() => {
                outcome.lower_bound = Some(floor);
                outcome.bound_space = Space::Any;
            }
            _ => {}
        }
        Ok(outcome
            .note("variables", variables)
            .note("warm_start", warm.map_or("none".to_owned(), |s| format!("{}:{}", s.2, s.1)))
            .note("subgraphs_per_device", q)
            .note("ip_bound", ip_bound.map_or("-".to_owned(), |b| b.to_string()))
            .note("work_bound", floor))
    }
}

/// The starting solution of least latency among the greedy's placement and everything on the
/// CPUs (values, latency, which): each must respect memory, keep every accelerator's nodes
/// convex (`latency_start::values` refuses it otherwise) and finish within the big-M.
fn best_start(
    w: &Workload,
    opts: &RunOptions,
    h: &Handles,
    classes: &Classes,
    columns: usize,
    big_m: f64,
) -> Option<(Vec<f64>, f64, &'static str)> {
    let mut candidates: Vec<(&'static str, Placement)> = Vec::new();
    if w.max_cpus > 0 {
        candidates.push(("cpus", Placement { device: vec![Device::Cpu(0); w.len()] }));
        if let Ok(Some(p)) = Greedy.run(w, opts).map(|o| o.placement) {
            candidates.push(("greedy", p));
        }
    }
    let fits = |slot_of: &[usize]| {
        (1..h.start.len()).all(|j| {
            let bytes: f64 = (0..classes.size.len()).filter(|&c| slot_of[c] == j).map(|c| classes.size[c]).sum();
            bytes <= w.max_size_per_acc * (1.0 + 1e-12)
        })
    };
    candidates
        .into_iter()
        .filter_map(|(name, p)| {
            let slot_of: Vec<usize> = w
                .classes
                .iter()
                .map(|m| match p.device[m[0]] {
                    Device::Cpu(_) => 0,
                    Device::Acc(a) => 1 + a * h.q,
                })
                .collect();
            if !fits(&slot_of) {
                return None;
            }
            let (values, latency) = latency_start::values(w, h, &slot_of, columns)?;
            (latency <= big_m * (1.0 + 1e-9)).then_some((values, latency, name))
        })
        .min_by(|a, b| a.1.total_cmp(&b.1))
}

/// A latency no placement beats: every node takes at least its faster device's time after its
/// predecessors (the longest path of those times, communication left out), and without CPUs
/// the accelerators, each running its calls one after another, share all the work.
pub fn work_bound(w: &Workload) -> f64 {
    let time = |v: usize| {
        let n = &w.nodes[v];
        let acc = if n.supported_on_acc && w.max_accs > 0 { n.acc_latency } else { f64::INFINITY };
        let cpu = if w.max_cpus > 0 { n.cpu_latency } else { f64::INFINITY };
        acc.min(cpu)
    };
    let path = longest_path(w, time);
    if w.max_cpus == 0 && w.max_accs > 0 {
        let work: f64 = w.nodes.iter().map(|n| n.acc_latency).sum();
        path.max(work / w.max_accs as f64)
    } else {
        path
    }
}

/// Latency of every node on the CPUs: the longest path of CPU times.
fn cpu_critical_path(w: &Workload) -> f64 {
    longest_path(w, |v| w.nodes[v].cpu_latency)
}

/// The longest path through the graph with node `v` taking `time(v)`.
fn longest_path(w: &Workload, time: impl Fn(usize) -> f64) -> f64 {
    let mut fin = vec![0.0f64; w.len()];
    for v in w.topological_order() {
        fin[v] = w.pred[v].iter().map(|&u| fin[u]).fold(0.0, f64::max) + time(v);
    }
    fin.into_iter().fold(0.0, f64::max)
}

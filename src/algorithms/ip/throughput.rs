//! `ip-contig` and `ip-noncontig`: the max-load integer program of the paper on HiGHS.
//!
//! Slots are the ℓ CPUs then the k accelerators. Per accelerator: memory, and per sending
//! node u the variables `in`, `out` ≥ the difference of the assignment of u's class and of each
//! receiving class, paid at cost(u). `ip-contig` adds the z-variables: z is non-increasing along
//! forward edges, at least x on the slot's nodes, and 0 just after an edge that leaves the
//! slot, so no forward path leaves a slot and comes back (each slot's forward nodes convex).
//! That space contains the DP's (which also needs a pipeline order of the devices), so the
//! contiguous IP's optimum is at most the DP's.

use super::{
    assignment, chosen_slots, claim_of, no_placement, slot_device, solve_options, solver_info, term, Assign, Classes,
};
use crate::algorithms::dp::Dp;
use crate::algorithms::{Algorithm, Claim, Objective, Outcome, RunOptions, Space};
use crate::error::{Error, Result};
use crate::placement::{Device, Placement};
use crate::solver::{Mip, Var};
use crate::workload::Workload;

/// The paper's time limit per instance (Gurobi, 20 minutes).
pub const DEFAULT_TIME_LIMIT: f64 = 1200.0;

/// The throughput IP; `contig` selects the contiguity constraints.
pub struct ThroughputIp {
    pub contig: bool,
}

/// The program with handles to every variable, for the warm start.
struct Model {
    mip: Mip,
    x: Assign,
    /// (forward node, slot, z)
    z: Vec<(usize, usize, Var)>,
    /// (sender, slot, in, out)
    comm: Vec<(usize, usize, Var, Var)>,
    /// L, or (L_F, L_B) with `diffmaxima`.
    objective: Vec<Var>,
}

impl ThroughputIp {
    fn build(&self, w: &Workload, opts: &RunOptions) -> Model {
        let (cpus, slots) = (w.max_cpus, w.max_cpus + w.max_accs);
        let classes = Classes::of(w);
        let mut mip = Mip::new();
        let rank = |s: usize| if s < cpus { (false, s) } else { (true, s - cpus) };
        let x = assignment(&mut mip, &classes, slots, rank, opts.ip.symmetry_breaking);
        let cl = &w.class_of;

        for s in cpus..slots {
            let terms: Vec<_> = (0..classes.size.len()).filter_map(|c| term(&x, c, s, classes.size[c])).collect();
            mip.row(f64::NEG_INFINITY, w.max_size_per_acc, &terms);
        }

        let mut z = Vec::new();
        if self.contig {
            let first = if opts.ip.contig_on_cpus { 0 } else { cpus };
            for s in first..slots {
                let mut zs = vec![None; w.len()];
                for v in (0..w.len()).filter(|&v| !w.nodes[v].backward) {
                    let zv = mip.continuous(0.0, 0.0, 1.0);
                    zs[v] = Some(zv);
                    z.push((v, s, zv));
                    let mut t = vec![(zv, 1.0)];
                    t.extend(term(&x, cl[v], s, -1.0));
                    mip.row(0.0, f64::INFINITY, &t);
                }
                for &(u, v) in &w.edges {
                    let (Some(zu), Some(zv)) = (zs[u], zs[v]) else { continue };
                    mip.row(f64::NEG_INFINITY, 0.0, &[(zv, 1.0), (zu, -1.0)]);
                    if cl[u] != cl[v] {
                        let mut t = vec![(zv, 1.0)];
                        t.extend(term(&x, cl[u], s, 1.0));
                        t.extend(term(&x, cl[v], s, -1.0));
                        mip.row(f64::NEG_INFINITY, 1.0, &t);
                    }
                }
            }
        }

        // Load of each slot, split into forward and backward parts as (var, coef) lists.
        let mut fw: Vec<Vec<(Var, f64)>> = vec![Vec::new(); slots];
        let mut bw: Vec<Vec<(Var, f64)>> = vec![Vec::new(); slots];
        for (c, members) in w.classes.iter().enumerate() {
            for s in 0..slots {
                let Some(xv) = x[c][s] else { continue };
                let lat = |b: bool| -> f64 {
                    members
                        .iter()
                        .filter(|&&v| w.nodes[v].backward == b)
                        .map(|&v| if s < cpus { w.nodes[v].cpu_latency } else { w.nodes[v].acc_latency })
                        .sum()
                };
                let (f, b) = (lat(false), lat(true));
                if f != 0.0 {
                    fw[s].push((xv, f));
                }
                if b != 0.0 {
                    bw[s].push((xv, b));
                }
            }
        }
        let mut comm = Vec::new();
        for u in 0..w.len() {
            let mut targets: Vec<usize> = w.succ[u].iter().map(|&v| cl[v]).filter(|&t| t != cl[u]).collect();
            targets.sort_unstable();
            targets.dedup();
            if targets.is_empty() || w.out_cost[u] == 0.0 {
                continue;
            }
            for s in cpus..slots {
                let i = mip.continuous(0.0, 0.0, 1.0);
                let o = mip.continuous(0.0, 0.0, 1.0);
                for &t in &targets {
                    // in ≥ x[t] − x[u]; out ≥ x[u] − x[t]
                    let mut r = vec![(i, 1.0)];
                    r.extend(term(&x, t, s, -1.0));
                    r.extend(term(&x, cl[u], s, 1.0));
                    mip.row(0.0, f64::INFINITY, &r);
                    let mut r = vec![(o, 1.0)];
                    r.extend(term(&x, cl[u], s, -1.0));
                    r.extend(term(&x, t, s, 1.0));
                    mip.row(0.0, f64::INFINITY, &r);
                }
                let part = if w.nodes[u].backward { &mut bw[s] } else { &mut fw[s] };
                part.push((i, w.out_cost[u]));
                part.push((o, w.out_cost[u]));
                comm.push((u, s, i, o));
            }
        }

        let objective = if opts.ip.diffmaxima {
            let (lf, lb) = (mip.continuous(1.0, 0.0, f64::INFINITY), mip.continuous(1.0, 0.0, f64::INFINITY));
            for s in 0..slots {
                for (l, part) in [(lf, &fw[s]), (lb, &bw[s])] {
                    let mut r = vec![(l, 1.0)];
                    r.extend(part.iter().map(|&(v, c)| (v, -c)));
                    mip.row(0.0, f64::INFINITY, &r);
                }
            }
            vec![lf, lb]
        } else {
            let l = mip.continuous(1.0, 0.0, f64::INFINITY);
            for s in 0..slots {
                let mut r = vec![(l, 1.0)];
                r.extend(fw[s].iter().chain(&bw[s]).map(|&(v, c)| (v, -c)));
                mip.row(0.0, f64::INFINITY, &r);
            }
            vec![l]
        };
        Model { mip, x, z, comm, objective }
    }
}

/// Forward and backward load of every slot when class `c` takes slot `slot_of[c]`, with
/// communication at its least (what the program's `in`/`out` settle to).
fn slot_loads(w: &Workload, slot_of: &[usize]) -> Vec<(f64, f64)> {
    let cpus = w.max_cpus;
    let mut loads = vec![(0.0, 0.0); cpus + w.max_accs];
    let slot = |v: usize| slot_of[w.class_of[v]];
    for (v, node) in w.nodes.iter().enumerate() {
        let s = slot(v);
        let lat = if s < cpus { node.cpu_latency } else { node.acc_latency };
        if node.backward {
            loads[s].1 += lat;
        } else {
            loads[s].0 += lat;
        }
    }
    for u in 0..w.len() {
        let su = slot(u);
        let mut receivers: Vec<usize> = w.succ[u].iter().map(|&v| slot(v)).filter(|&s| s != su).collect();
        receivers.sort_unstable();
        receivers.dedup();
        if receivers.is_empty() {
            continue;
        }
        let c = w.out_cost[u];
        for s in receivers.into_iter().chain(std::iter::once(su)).filter(|&s| s >= cpus) {
            if w.nodes[u].backward {
                loads[s].1 += c;
            } else {
                loads[s].0 += c;
            }
        }
    }
    loads
}

/// Slots of a placement, relabelled so that symmetry breaking admits it: devices of each kind
/// numbered by their lowest class.
fn slots_of_placement(w: &Workload, p: &Placement) -> Vec<usize> {
    let mut rename: std::collections::HashMap<Device, usize> = std::collections::HashMap::new();
    let (mut next_cpu, mut next_acc) = (0, 0);
    w.classes
        .iter()
        .map(|members| {
            let d = p.device[members[0]];
            *rename.entry(d).or_insert_with(|| match d {
                Device::Cpu(_) => {
                    next_cpu += 1;
                    next_cpu - 1
                }
                Device::Acc(_) => {
                    next_acc += 1;
                    w.max_cpus + next_acc - 1
                }
            })
        })
        .collect()
}

impl ThroughputIp {
    /// A complete MIP start from a placement: x from it, z from forward reachability, in/out
    /// at their least, the objective at the loads.
    fn start(&self, w: &Workload, model: &Model, p: &Placement, diffmaxima: bool) -> Vec<f64> {
        let slot_of = slots_of_placement(w, p);
        let mut values = vec![0.0; model.mip.num_vars()];
        let set = |values: &mut Vec<f64>, v: Var, x: f64| values[index(v)] = x;
        for (c, row) in model.x.iter().enumerate() {
            if let Some(v) = row[slot_of[c]] {
                set(&mut values, v, 1.0);
            }
        }
        // z = 1 where the node is on the slot or reaches it by a forward path.
        let slots = w.max_cpus + w.max_accs;
        let mut reaches = vec![vec![false; w.len()]; slots];
        let order = w.topological_order();
        for &v in order.iter().rev() {
            if w.nodes[v].backward {
                continue;
            }
            let s = slot_of[w.class_of[v]];
            reaches[s][v] = true;
            for t in 0..slots {
                if w.succ[v].iter().any(|&x| !w.nodes[x].backward && reaches[t][x]) {
                    reaches[t][v] = true;
                }
            }
        }
        for &(v, s, z) in &model.z {
            set(&mut values, z, if reaches[s][v] { 1.0 } else { 0.0 });
        }
        for &(u, s, i, o) in &model.comm {
            let su = slot_of[w.class_of[u]];
            let sends_to_s = w.succ[u].iter().any(|&v| slot_of[w.class_of[v]] == s);
            let leaves = w.succ[u].iter().any(|&v| slot_of[w.class_of[v]] != su);
            set(&mut values, i, f64::from(su != s && sends_to_s));
            set(&mut values, o, f64::from(su == s && leaves));
        }
        let loads = slot_loads(w, &slot_of);
        if diffmaxima {
            set(&mut values, model.objective[0], loads.iter().map(|l| l.0).fold(0.0, f64::max));
            set(&mut values, model.objective[1], loads.iter().map(|l| l.1).fold(0.0, f64::max));
        } else {
            set(&mut values, model.objective[0], loads.iter().map(|l| l.0 + l.1).fold(0.0, f64::max));
        }
        values
    }
}

fn index(v: Var) -> usize {
    // Var is a column index; this keeps the conversion in one place.
    crate::solver::var_index(v)
}

impl Algorithm for ThroughputIp {
    fn name(&self) -> &'static str {
        if self.contig {
            "ip-contig"
        } else {
            "ip-noncontig"
        }
    }

    fn objective(&self) -> Objective {
        Objective::Throughput
    }

    fn summary(&self) -> &'static str {
        if self.contig {
            "max-load IP on HiGHS with contiguity (each device's forward nodes convex); bound and gap"
        } else {
            "max-load IP on HiGHS without contiguity; its bound holds for every placement"
        }
    }

    fn options(&self, opts: &RunOptions) -> String {
        let ip = &opts.ip;
        let mut o = format!(
            "time_limit={};mip_gap={};warm_start={};symmetry_breaking={};diffmaxima={}",
            opts.time_limit.unwrap_or(DEFAULT_TIME_LIMIT),
            ip.mip_gap,
            ip.warm_start,
            ip.symmetry_breaking,
            ip.diffmaxima
        );
        if self.contig {
            o += &format!(";contig_on_cpus={}", ip.contig_on_cpus);
        }
        for (k, v) in &ip.highs_options {
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

    fn guarantees(&self, opts: &RunOptions) -> Space {
        if self.contig && opts.ip.contig_on_cpus {
            Space::Convex
        } else {
            Space::Any
        }
    }

    fn run(&self, w: &Workload, opts: &RunOptions) -> Result<Outcome> {
        let model = self.build(w, opts);
        let mut notes = vec![("variables", model.mip.num_vars().to_string())];
        let start = if opts.ip.warm_start {
            // The DP's split lies in both programs' spaces.
            let dp = Dp.run(w, opts)?;
            dp.placement.map(|p| self.start(w, &model, &p, opts.ip.diffmaxima))
        } else {
            None
        };
        notes.push(("warm_start", start.is_some().to_string()));
        let x = model.x.clone();
        let report = model.mip.solve(&solve_options(opts, DEFAULT_TIME_LIMIT), start.as_deref());
        let claim = claim_of(&report).ok_or_else(|| Error::Algorithm(format!("HiGHS: {}", report.raw_status)))?;
        let mut outcome = if report.values.is_none() {
            no_placement(claim, &report)
        } else {
            let slot_of = chosen_slots(&x, &report);
            let loads = slot_loads(w, &slot_of);
            let claimed = loads.iter().map(|l| l.0 + l.1).fold(0.0, f64::max);
            let model_value = if opts.ip.diffmaxima {
                loads.iter().map(|l| l.0).fold(0.0, f64::max) + loads.iter().map(|l| l.1).fold(0.0, f64::max)
            } else {
                claimed
            };
            if let Some(obj) = report.objective {
                if obj < model_value - 1e-6 * model_value.max(1.0) {
                    return Err(Error::Algorithm(format!(
                        "the program's objective {obj} is below the cost {model_value} of its own assignment"
                    )));
                }
            }
            let device = (0..w.len()).map(|v| slot_device(slot_of[w.class_of[v]], w.max_cpus)).collect();
            let claim = if opts.ip.diffmaxima && claim == Claim::Optimal { Claim::Feasible } else { claim };
            let mut o = Outcome::found(Placement { device }, Some(claimed), claim);
            o.solver = Some(solver_info(&report));
            o
        };
        // The dual bound bounds max-load only for the max-load objective.
        if !opts.ip.diffmaxima {
            outcome.lower_bound = report.bound;
            outcome.bound_space = if self.contig { Space::Convex } else { Space::Any };
        }
        for (k, v) in notes {
            outcome = outcome.note(k, v);
        }
        Ok(outcome)
    }
}

//! The integer programs against brute force on random small DAGs, with a gap of 0 so that
//! "optimal" means optimal. Each optimum is recomputed by the evaluator alone over every
//! assignment of co-location classes to devices:
//! - `ip-contig` equals the best feasible placement whose devices are all convex, and is at
//!   most the DP (whose space also needs a pipeline order);
//! - `ip-noncontig` equals the best feasible placement, and is at most `ip-contig`;
//! - `latency-ip` (q = 1) equals the best latency over feasible placements whose accelerators
//!   are convex (CPUs are one unlimited pool in the latency model), so it is at most the
//!   latency of the greedy's and the DP's splits;
//! - every bound is at most its objective, and the latency work bound at most every placement's
//!   latency.

mod common;

use common::{brute_force_over, random_workload};
use placebench::algorithms::{find, Objective, RunOptions};
use placebench::evaluate::Evaluation;
use placebench::placement::Device;
use placebench::results::{Record, Status};
use placebench::run::run_cell;
use placebench::workload::Workload;
use proptest::prelude::*;

fn exact() -> RunOptions {
    let mut o = RunOptions { time_limit: Some(60.0), ..RunOptions::default() };
    o.ip.mip_gap = 0.0;
    o
}

fn run(w: &Workload, name: &str, kind: Objective) -> Record {
    let r = run_cell(w, find(name).expect("registered"), kind, &exact()).record;
    assert!(!r.status.is_failure(), "{name}: {r:?}");
    if let (Some(lb), Some(obj)) = (r.lower_bound, r.objective) {
        assert!(lb <= obj * (1.0 + 1e-6) + 1e-9, "{name}: bound {lb} > objective {obj}");
    }
    if let (Some(lb), Some(obj)) = (r.solver_bound, r.solver_incumbent) {
        assert!(lb <= obj + 1e-6 * obj.abs().max(1.0), "{name}: solver bound {lb} > incumbent {obj}");
    }
    r
}

fn close(a: Option<f64>, b: Option<f64>) -> bool {
    match (a, b) {
        (Some(a), Some(b)) => (a - b).abs() <= 1e-6 * a.abs().max(b.abs()).max(1.0),
        (None, None) => true,
        _ => false,
    }
}

fn all_devices(w: &Workload) -> Vec<Device> {
    (0..w.max_cpus).map(Device::Cpu).chain((0..w.max_accs).map(Device::Acc)).collect()
}

/// Accelerators convex: the latency evaluator cut no accelerator into pieces (it cuts one
/// wherever a path leaves it and comes back).
fn accelerators_convex(e: &Evaluation) -> bool {
    e.latency.as_ref().is_ok_and(|l| l.pieces == e.devices.iter().filter(|d| d.device.is_acc()).count())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(40))]

    #[test]
    fn throughput_ips_equal_brute_force(seed in any::<u64>(), n in 1usize..=5, training in any::<bool>(),
                                        cpus in 0usize..=1, accs in 1usize..=2) {
        let w = random_workload(seed, n, training, cpus, accs);
        let devices = all_devices(&w);
        let contig = run(&w, "ip-contig", Objective::Throughput);
        let noncontig = run(&w, "ip-noncontig", Objective::Throughput);
        let dp = run(&w, "dp", Objective::Throughput);
        let best_convex = brute_force_over(&w, &devices, |e| e.feasible() && e.contiguous, |e| Some(e.max_load));
        let best_any = brute_force_over(&w, &devices, |e| e.feasible(), |e| Some(e.max_load));
        prop_assert!(close(contig.objective, best_convex), "ip-contig {:?} vs brute force {:?}", contig, best_convex);
        prop_assert!(close(noncontig.objective, best_any), "ip-noncontig {:?} vs brute force {:?}", noncontig, best_any);
        if let (Some(c), Some(d)) = (contig.objective, dp.objective) {
            prop_assert!(c <= d * (1.0 + 1e-9) + 1e-9, "ip-contig {} above dp {}", c, d);
        }
        if let (Some(nc), Some(c)) = (noncontig.objective, contig.objective) {
            prop_assert!(nc <= c * (1.0 + 1e-9) + 1e-9);
        }
        if best_any.is_some() {
            prop_assert_eq!(noncontig.status, Status::Optimal);
        }
    }

    #[test]
    fn latency_ip_equals_brute_force(seed in any::<u64>(), n in 1usize..=5, accs in 1usize..=2) {
        let w = random_workload(seed, n, false, 1, accs);
        let devices: Vec<Device> = std::iter::once(Device::Cpu(0)).chain((0..accs).map(Device::Acc)).collect();
        let ip = run(&w, "latency-ip", Objective::Latency);
        let best = brute_force_over(&w, &devices, |e| e.feasible() && accelerators_convex(e), |e| e.latency.as_ref().ok().map(|l| l.latency));
        prop_assert!(close(ip.objective, best), "latency-ip {:?} vs brute force {:?}", ip, best);
        for other in ["greedy", "dp"] {
            let r = run(&w, other, Objective::Latency);
            if let (Some(x), Some(b), true) = (r.objective, ip.objective, r.feasible) {
                prop_assert!(b <= x * (1.0 + 1e-9) + 1e-9, "latency-ip {} above {} {}", b, other, x);
            }
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    /// The latency work bound (each node at its faster device's time along the longest path;
    /// without CPUs, also the work shared by the accelerators) is at most the latency of every
    /// feasible placement, convex or not, with and without a CPU.
    #[test]
    fn the_latency_work_bound_is_at_most_every_placement(seed in any::<u64>(), n in 1usize..=5,
            cpus in 0usize..=1, accs in 1usize..=2) {
        let w = random_workload(seed, n, false, cpus, accs);
        let devices: Vec<Device> = (0..cpus).map(Device::Cpu).chain((0..accs).map(Device::Acc)).collect();
        let best = brute_force_over(&w, &devices, |e| e.feasible(), |e| e.latency.as_ref().ok().map(|l| l.latency));
        let lb = placebench::algorithms::ip::latency::work_bound(&w);
        if let Some(best) = best {
            prop_assert!(lb <= best * (1.0 + 1e-9) + 1e-9, "work bound {} above the best latency {}", lb, best);
        }
    }
}

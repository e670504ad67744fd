//! Property tests on random small DAGs (inference and training, CPUs, co-location classes,
//! unsupported nodes, zero-latency nodes, memory limits):
//! - the DP's optimum equals a brute force that tries every assignment of co-location classes
//!   to devices and keeps the feasible, pipeline-ordered ones, all scored by the evaluator, and
//!   the work bound that decides which ideals the DP walks is at most it;
//! - the DP answered for every accelerator count from one table (as `dp-split` sweeps K) equals
//!   the DP solved for each count on its own;
//! - every registered algorithm's placement goes through the evaluator without a mismatch or
//!   an error, and no feasible pipeline-ordered placement of any algorithm beats the DP.

mod common;

use common::{brute_force, random_workload};
use placebench::algorithms::{dp::Dp, for_objective, Objective, RunOptions};
use placebench::results::Status;
use placebench::run::run_cell;
use proptest::prelude::*;

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1e-9 * a.abs().max(b.abs()).max(1.0)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn dp_equals_brute_force(seed in any::<u64>(), n in 1usize..=6, training in any::<bool>(),
                             cpus in 0usize..=1, accs in 1usize..=2) {
        let w = random_workload(seed, n, training, cpus, accs);
        let cell = run_cell(&w, &Dp, Objective::Throughput, &RunOptions::default());
        match brute_force(&w) {
            Some(best) => {
                prop_assert_eq!(cell.record.status, Status::Optimal, "{:?}", cell.record);
                let got = cell.record.objective.unwrap();
                prop_assert!(close(got, best), "dp {} vs brute force {}", got, best);
                // The work bound that decides which ideals the DP walks is at most the optimum.
                let atoms = placebench::algorithms::atoms::build_atoms(&w, Default::default());
                let lb = placebench::algorithms::dp::engine::volume_bound(&atoms, w.max_cpus, w.max_accs);
                prop_assert!(lb <= best * (1.0 + 1e-9) + 1e-12, "work bound {} above the optimum {}", lb, best);
            }
            None => prop_assert_eq!(cell.record.status, Status::Infeasible, "{:?}", cell.record),
        }
    }

    #[test]
    fn one_table_answers_every_accelerator_count(seed in any::<u64>(), n in 1usize..=7,
            training in any::<bool>(), cpus in 0usize..=1, from in 1usize..=3) {
        let mut w = random_workload(seed, n, training, cpus, 3);
        // Without a memory limit the table's answers claim optimality, as the DP's do.
        w.max_size_per_acc = f64::INFINITY;
        let each = placebench::algorithms::dp::placements_each(&w, from, None).unwrap();
        prop_assert_eq!(each.iter().map(|e| e.0).collect::<Vec<_>>(), (from.min(w.max_accs)..=w.max_accs).collect::<Vec<_>>());
        for (k, outcome) in each {
            let mut wk = w.clone();
            wk.max_accs = k;
            let alone = run_cell(&wk, &Dp, Objective::Throughput, &RunOptions::default()).record;
            // The evaluator judges the table's placements; infeasible ones count as none.
            let value = outcome
                .placement
                .map(|p| placebench::evaluate::evaluate(&wk, &p.to_split(&wk)))
                .filter(|e| e.feasible())
                .map(|e| e.max_load);
            match (alone.objective, value) {
                (Some(a), Some(b)) => prop_assert!(close(a, b), "k {}: alone {} vs one table {}", k, a, b),
                (None, None) => {}
                other => prop_assert!(false, "k {}: {:?}", k, other),
            }
        }
    }

    #[test]
    fn no_algorithm_beats_the_dp_among_pipeline_splits(seed in any::<u64>(), n in 1usize..=8,
            training in any::<bool>(), cpus in 0usize..=2, accs in 1usize..=3) {
        let w = random_workload(seed, n, training, cpus, accs);
        let opts = RunOptions { seed, restarts: 3, ..RunOptions::default() };
        let dp = run_cell(&w, &Dp, Objective::Throughput, &opts).record;
        for algo in &for_objective(Objective::Throughput) {
            let r = run_cell(&w, *algo, Objective::Throughput, &opts).record;
            prop_assert!(!r.status.is_failure(), "{} failed: {:?}", algo.name(), r);
            if r.feasible && r.acyclic == Some(true) {
                let dp_value = dp.objective.expect("a feasible pipeline split exists, so the DP finds one");
                let obj = r.objective.unwrap();
                prop_assert!(obj >= dp_value - 1e-9 * dp_value.max(1.0), "{} {} beats dp {}", algo.name(), obj, dp_value);
            }
        }
    }
}

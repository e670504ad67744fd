//! Properties of the executor's issue model (`placebench::gpu::issue`) on random plans of busy
//! tasks, against bounds computed here from the plans alone: one GPU and one stream run every
//! task one after another; a stream never runs faster than its tasks' sum, nor a plan faster
//! than its longest dependency chain (eager or replayed); a pipeline in steady state is never
//! faster than its busiest stream, beyond what the two streams' ends allow.

use placebench::gpu::issue::{predict, predict_steady, Costs};
use placebench::gpu::plan::{Dep, Plan, Task, Work};
use placebench::gpu::Mode;
use proptest::prelude::*;

/// Tasks in topological order: task `i` depends on a few earlier ones; `gpus` GPUs, up to two
/// streams each, busy times of 0.1–2 ms; every task its own stage.
fn plan_strategy(gpus: usize) -> impl Strategy<Value = Plan> {
    (2usize..14).prop_flat_map(move |n| {
        let task =
            |i: usize| (0..gpus, 0usize..2, 0.1f64..2.0, proptest::collection::vec(0..i.max(1), 0..3.min(i + 1)));
        (0..n).map(task).collect::<Vec<_>>().prop_map(|specs| {
            let tasks = specs
                .into_iter()
                .enumerate()
                .map(|(i, (gpu, stream, ms, deps))| {
                    let mut deps: Vec<usize> = deps.into_iter().filter(|&d| d < i).collect();
                    deps.sort_unstable();
                    deps.dedup();
                    Task {
                        gpu,
                        stream,
                        work: Work::Busy { ms },
                        deps: deps.into_iter().map(|task| Dep::input(task, 4096)).collect(),
                        out_bytes: 4096,
                        stage: i,
                    }
                })
                .collect();
            Plan { tasks, graph: None, kernels: "", cut_every: 0 }
        })
    })
}

fn ms(p: &Plan) -> Vec<f64> {
    p.tasks.iter().map(|t| if let Work::Busy { ms } = t.work { ms } else { 0.0 }).collect()
}

fn longest_chain(p: &Plan) -> f64 {
    let w = ms(p);
    let mut fin = vec![0.0f64; p.tasks.len()];
    for (i, t) in p.tasks.iter().enumerate() {
        fin[i] = t.deps.iter().map(|d| fin[d.task]).fold(0.0, f64::max) + w[i];
    }
    fin.into_iter().fold(0.0, f64::max)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 200, ..ProptestConfig::default() })]

    #[test]
    fn one_gpu_one_stream_runs_tasks_one_after_another(mut p in plan_strategy(1)) {
        for t in &mut p.tasks {
            t.stream = 0;
        }
        let sum: f64 = ms(&p).iter().sum();
        for replay in [false, true] {
            let mut c = Costs::of_busy(&p);
            c.replay = replay;
            let got = predict(&p, &c, Mode::Latency, 1, 1).per_sample_ms;
            prop_assert!((got - sum).abs() < 1e-9 * sum.max(1.0), "replay {replay}: {got} vs {sum}");
        }
    }

    #[test]
    fn no_plan_beats_its_chain_or_its_busiest_stream(p in plan_strategy(3)) {
        let w = ms(&p);
        let chain = longest_chain(&p);
        let mut lanes = std::collections::HashMap::new();
        for (i, t) in p.tasks.iter().enumerate() {
            *lanes.entry((t.gpu, t.stream)).or_insert(0.0) += w[i];
        }
        let busiest = lanes.values().copied().fold(0.0, f64::max);
        let sum: f64 = w.iter().sum();
        for replay in [false, true] {
            let mut c = Costs::of_busy(&p);
            c.replay = replay;
            let got = predict(&p, &c, Mode::Latency, 3, 1).per_sample_ms;
            prop_assert!(got + 1e-9 >= chain.max(busiest), "replay {replay}: {got} below {chain} / {busiest}");
            prop_assert!(got <= sum + 1e-9, "replay {replay}: {got} above the sum {sum}");
        }
    }

    /// The steady state is the difference of two streams, `(T(2N) - T(N)) / N`: a lane must
    /// do N more samples' work in it, less what of T(N) was another lane's tail after it had
    /// finished (at most one sample's work, spread over the N samples).
    #[test]
    fn a_steady_pipeline_is_never_faster_than_its_busiest_stream(p in plan_strategy(3)) {
        let w = ms(&p);
        let mut lanes = std::collections::HashMap::new();
        for (i, t) in p.tasks.iter().enumerate() {
            *lanes.entry((t.gpu, t.stream)).or_insert(0.0) += w[i];
        }
        let busiest = lanes.values().copied().fold(0.0, f64::max);
        let sum: f64 = w.iter().sum();
        let n = 16;
        let steady = predict_steady(&p, &Costs::of_busy(&p), 3, n).per_sample_ms;
        prop_assert!(steady + sum / n as f64 + 1e-9 >= busiest, "{steady} below {busiest} - {sum} / {n}");
        prop_assert!(steady <= sum + 1e-9, "{steady} above one sample's work {sum}");
    }
}

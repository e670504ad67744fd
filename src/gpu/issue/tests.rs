//! The issue model on small hand-made plans.

use super::*;
use crate::gpu::plan::Task;

fn task(gpu: usize, stream: usize, deps: &[usize]) -> Task {
    Task {
        gpu,
        stream,
        work: Work::Busy { ms: 0.0 },
        deps: deps.iter().map(|&task| Dep::input(task, 4)).collect(),
        out_bytes: 4,
        stage: 0,
    }
}

/// A plan of `tasks`, each a stage of its own.
fn plan_of(mut tasks: Vec<Task>) -> Plan {
    for (i, t) in tasks.iter_mut().enumerate() {
        t.stage = i;
    }
    Plan { tasks, graph: None, kernels: "", cut_every: 0 }
}

fn costs(gpu: &[f64], host: &[f64]) -> Costs {
    Costs {
        gpu_ms: gpu.to_vec(),
        host_ms: host.to_vec(),
        copy_alpha_ms: 0.0,
        copy_bytes_per_ms: f64::INFINITY,
        copy_queued_alpha_ms: None,
        copy_host_ms: 0.0,
        exchange_ms: 0.0,
        occupancy: vec![0.0; gpu.len()],
        copies_hold: false,
        replay: false,
        sample_overhead_ms: 0.0,
        fork_join_ms: 0.0,
        segment_ms: 0.0,
        concurrency: vec![[1.0; crate::gpu::concurrency::WIDEST - 1]; gpu.len()],
        forked_factor: 1.0,
    }
}

/// A chain on one stream: the host issues ahead of the GPU, so the time is whichever of
/// the two sums is larger, plus what the other adds at the ends (worked by hand).
#[test]
fn one_stream_is_paced_by_the_slower_of_host_and_gpu() {
    let plan = plan_of(vec![task(0, 0, &[]), task(0, 0, &[0]), task(0, 0, &[1])]);
    // Host-bound: issues end at 3, 6, 9; each kernel (1 ms) runs right after its issue.
    assert_eq!(predict(&plan, &costs(&[1.0; 3], &[3.0; 3]), Mode::Latency, 1, 1).host_ms, 9.0);
    assert_eq!(predict(&plan, &costs(&[1.0; 3], &[3.0; 3]), Mode::Latency, 1, 1).per_sample_ms, 10.0);
    // GPU-bound: issued at 1, 2, 3; kernels back to back from 1: ends 4, 7, 10.
    assert_eq!(predict(&plan, &costs(&[3.0; 3], &[1.0; 3]), Mode::Latency, 1, 1).per_sample_ms, 10.0);
    // Two streams of independent work: the GPU overlaps them, the host does not.
    let two = plan_of(vec![task(0, 0, &[]), task(0, 1, &[])]);
    assert_eq!(predict(&two, &costs(&[5.0; 2], &[1.0; 2]), Mode::Latency, 1, 1).per_sample_ms, 7.0);
}

/// A copy from another GPU overlaps the compute queued before its consumer: A (1 ms, GPU
/// 0) feeds C on GPU 1 through a 1 ms copy while B (5 ms) runs there, so C starts at 5, not
/// after a copy queued behind B at 6.
#[test]
fn copies_from_other_gpus_overlap_compute() {
    let plan = plan_of(vec![task(0, 0, &[]), task(1, 0, &[]), task(1, 0, &[0])]);
    let mut c = costs(&[1.0, 5.0, 1.0], &[0.0; 3]);
    c.copy_alpha_ms = 1.0;
    assert_eq!(predict(&plan, &c, Mode::Latency, 2, 1).per_sample_ms, 6.0);
    // An exchange latency of 5 ms delays the copy to 6–7, and C to 7–8.
    c.exchange_ms = 5.0;
    assert_eq!(predict(&plan, &c, Mode::Latency, 2, 1).per_sample_ms, 8.0);
}

/// Two consumers on one stream of another GPU share one import, as in the executor: A
/// (1 ms, GPU 0) feeds B and C (1 ms each, GPU 1, one stream) through one copy of 1 ms
/// whose launch costs the host 1 ms: the copy runs 1–2, B 2–3, C 3–4, and the host spends
/// 1 ms, not 2.
#[test]
fn consumers_on_one_stream_share_one_import() {
    let plan = plan_of(vec![task(0, 0, &[]), task(1, 0, &[0]), task(1, 0, &[0])]);
    let mut c = costs(&[1.0; 3], &[0.0; 3]);
    c.copy_alpha_ms = 1.0;
    c.copy_host_ms = 1.0;
    assert_eq!(predict(&plan, &c, Mode::Latency, 2, 1).per_sample_ms, 4.0);
    assert_eq!(predict(&plan, &c, Mode::Latency, 2, 1).host_ms, 1.0);
}

/// A two-stage pipeline, 1 ms of GPU and no host cost per stage: n samples take n + 1 ms
/// (fill, then one per ms); on one GPU the stages share a host thread but not a stream.
#[test]
fn pipelines_overlap_stages_on_different_gpus() {
    let plan = plan_of(vec![task(0, 0, &[]), task(1, 0, &[0])]);
    let c = costs(&[1.0, 1.0], &[0.0, 0.0]);
    assert_eq!(predict(&plan, &c, Mode::Pipeline, 2, 10).per_sample_ms, 1.1);
    assert_eq!(predict(&plan, &c, Mode::Latency, 2, 10).per_sample_ms, 2.0);
    // Steady state: 20 samples take 21 ms, 10 take 11: 1 ms per sample, the max-load.
    assert!((predict_steady(&plan, &c, 2, 10).per_sample_ms - 1.0).abs() < 1e-12);
}
/// Under graph replay each stage of several groups pays the fork and join per group beyond
/// the first, and a sample run alone the sample overhead: three stages of two one-warp
/// busy groups of 1 ms (occupancy 0: they overlap fully), fork/join 0.1, overhead 0.5:
/// 3 × (1 + 0.1) + 0.5 = 3.8 ms alone; the same stages of one group each pay no fork/join.
#[test]
fn replay_charges_forks_joins_and_the_sample_overhead() {
    let two = crate::gpu::plan::fork_join(3, 2, 1.0);
    assert!(two.check().is_ok());
    assert_eq!(two.lanes(1).1.len(), 2, "two streams");
    let mut c = Costs::of_busy(&two);
    (c.replay, c.fork_join_ms, c.sample_overhead_ms) = (true, 0.1, 0.5);
    assert!((predict(&two, &c, Mode::Latency, 1, 1).per_sample_ms - 3.8).abs() < 1e-12);
    // In a stream of samples (pipelines) the overhead of a sample alone is not paid.
    assert!((predict(&two, &c, Mode::Pipeline, 1, 4).per_sample_ms - 3.3).abs() < 1e-12);
    let one = crate::gpu::plan::fork_join(3, 1, 1.0);
    let mut c = Costs::of_busy(&one);
    (c.replay, c.fork_join_ms, c.sample_overhead_ms) = (true, 0.1, 0.5);
    assert!((predict(&one, &c, Mode::Latency, 1, 1).per_sample_ms - 3.5).abs() < 1e-12);
}

/// Graph replay runs a stage as the schedule's model does: on GPU 1 a stage of two groups,
/// B (5 ms, stream 0) and C (1 ms, stream 1) which needs A (1 ms, GPU 0) through a copy
/// of 1 ms. Eager, B runs 0–5 while C waits for the copy (1–2) and runs 2–3: 5 ms. Replayed,
/// the stage starts when its inputs are in, at 2: B ends at 7.
#[test]
fn replay_starts_a_stage_when_all_its_inputs_are_in() {
    let mut plan = plan_of(vec![task(0, 0, &[]), task(1, 0, &[]), task(1, 1, &[0])]);
    plan.tasks[2].stage = 1;
    let mut c = costs(&[1.0, 5.0, 1.0], &[0.0; 3]);
    c.copy_alpha_ms = 1.0;
    assert_eq!(predict(&plan, &c, Mode::Latency, 2, 1).per_sample_ms, 5.0);
    c.replay = true;
    assert_eq!(predict(&plan, &c, Mode::Latency, 2, 1).per_sample_ms, 7.0);
}

/// ... and its outputs leave when all of it has ended: on GPU 0 a stage of A (1 ms) and B
/// (4 ms, another stream); C (1 ms, GPU 1) needs A. Eager, C runs 1–2 (4 ms in all);
/// replayed, A's output leaves at 4 and C runs 4–5. Two samples replayed in a stream: the
/// second stage of GPU 0 starts at 4, C at 8, done at 9: 4.5 ms per sample.
#[test]
fn replay_sends_a_stages_outputs_when_it_ends() {
    let mut plan = plan_of(vec![task(0, 0, &[]), task(0, 1, &[]), task(1, 0, &[0])]);
    plan.tasks[1].stage = 0;
    let mut c = costs(&[1.0, 4.0, 1.0], &[0.0; 3]);
    assert_eq!(predict(&plan, &c, Mode::Latency, 2, 1).per_sample_ms, 4.0);
    c.replay = true;
    assert_eq!(predict(&plan, &c, Mode::Latency, 2, 1).per_sample_ms, 5.0);
    assert_eq!(predict(&plan, &c, Mode::Pipeline, 2, 2).per_sample_ms, 4.5);
}

/// A GPU's share of a sample cut into several graphs pays a launch for each after its
/// first: A (GPU 0) → B (GPU 1) → C (GPU 0), 1 ms each, copies free: GPU 0 runs [A] and
/// [C] as two graphs, C starts when B's output is in (2 ms) plus 0.25: done at 3.25, where
/// free launches end at 3. GPU 1's one graph pays nothing, nor do eager runs.
#[test]
fn replay_charges_each_later_graph_of_a_gpu_a_launch() {
    let plan = plan_of(vec![task(0, 0, &[]), task(1, 0, &[0]), task(0, 0, &[1])]);
    let mut c = costs(&[1.0, 1.0, 1.0], &[0.0; 3]);
    c.replay = true;
    assert_eq!(predict(&plan, &c, Mode::Latency, 2, 1).per_sample_ms, 3.0);
    c.segment_ms = 0.25;
    assert_eq!(predict(&plan, &c, Mode::Latency, 2, 1).per_sample_ms, 3.25);
    c.replay = false;
    assert_eq!(predict(&plan, &c, Mode::Latency, 2, 1).per_sample_ms, 3.0);
}

/// The replay's timeline, segment by segment, worked by hand: A (GPU 0) → B (GPU 1) → C
/// (GPU 0), 1 ms each, copies of 1 ms, a graph launch of 0.25 ms: GPU 0 runs [A] 0–1; B's
/// copy 1–2, B 2–3; C's copy 3–4, C ready at 4 and ends at 5.25.
#[test]
fn replay_timeline_gives_each_segment_its_times() {
    let plan = plan_of(vec![task(0, 0, &[]), task(1, 0, &[0]), task(0, 0, &[1])]);
    let mut c = costs(&[1.0, 1.0, 1.0], &[0.0; 3]);
    (c.replay, c.copy_alpha_ms, c.segment_ms) = (true, 1.0, 0.25);
    let t = replay_timeline(&plan, &c, 2);
    // Each copy with the segment (GPU, index) it copies from.
    let seg = |gpu, index, ready_ms, end_ms, copies: Vec<([f64; 2], [usize; 2])>| SegmentTimes {
        gpu,
        index,
        tasks: 1,
        ready_ms,
        end_ms,
        copies_ms: copies.iter().map(|c| c.0).collect(),
        copies_from: copies.iter().map(|c| c.1).collect(),
    };
    assert_eq!(
        t,
        vec![
            seg(0, 0, 0.0, 1.0, vec![]),
            seg(0, 1, 4.0, 5.25, vec![([3.0, 4.0], [1, 0])]),
            seg(1, 0, 2.0, 3.0, vec![([1.0, 2.0], [0, 0])])
        ]
    );
    assert_eq!(predict(&plan, &c, Mode::Latency, 2, 1).per_sample_ms, 5.25);
    c.replay = false;
    assert!(replay_timeline(&plan, &c, 2).is_empty(), "eager runs have no segments");
}

/// Replayed, a stage's groups share the GPU by occupancy (the schedule model's formula):
/// A and B (2 ms each, two streams, one stage) at occupancy 0.75 take max(2·0.75 + 2·0.75,
/// 2) + 0.1 · 0.5 · 2 = 3.1 ms; eager runs overlap them freely: 2 ms.
#[test]
fn replayed_stages_share_the_gpu_by_occupancy() {
    let mut plan = plan_of(vec![task(0, 0, &[]), task(0, 1, &[])]);
    plan.tasks[1].stage = 0;
    let mut c = costs(&[2.0, 2.0], &[0.0; 2]);
    c.occupancy = vec![0.75, 0.75];
    assert_eq!(predict(&plan, &c, Mode::Latency, 1, 1).per_sample_ms, 2.0);
    c.replay = true;
    assert!((predict(&plan, &c, Mode::Latency, 1, 1).per_sample_ms - 3.1).abs() < 1e-12);
    // With the occupancy 0.5 the formula gives 2 ms, 2 less than one stream (4 ms); the
    // profile's peers got a quarter of such gains (η = 0.25): 4 − 0.25 · 2 = 3.5 ms.
    c.occupancy = vec![0.5, 0.5];
    // Only the two-group η counts in a stage of two.
    c.concurrency = vec![[0.25, 0.9, 0.9]; 2];
    assert!((predict(&plan, &c, Mode::Latency, 1, 1).per_sample_ms - 3.5).abs() < 1e-12);
    // A calibration that made the operators twice as fast on one stream does not hold on a
    // GPU that forks (factor 2): 4 and 4 ms, formula 4, one stream 8: 8 − 0.25 · 4 = 7.
    c.forked_factor = 2.0;
    assert!((predict(&plan, &c, Mode::Latency, 1, 1).per_sample_ms - 7.0).abs() < 1e-12);
}

/// A stage of three groups takes the three-group η: A, B, C (2 ms each, three streams) at
/// occupancy 1/3 take 2 ms by the formula, 6 on one stream; at η₃ = 0.5, 6 − 0.5 · 4 = 4 ms,
/// where the pairs' η (0.25) would give 5.
#[test]
fn a_wider_stage_takes_its_own_efficiency() {
    let mut plan = plan_of(vec![task(0, 0, &[]), task(0, 1, &[]), task(0, 2, &[])]);
    (plan.tasks[1].stage, plan.tasks[2].stage) = (0, 0);
    let mut c = costs(&[2.0; 3], &[0.0; 3]);
    (c.replay, c.occupancy) = (true, vec![1.0 / 3.0; 3]);
    c.concurrency = vec![[0.25, 0.5, 0.75]; 3];
    assert!((predict(&plan, &c, Mode::Latency, 1, 1).per_sample_ms - 4.0).abs() < 1e-12);
}

/// A sample replayed alone over several GPUs runs at the forked factor (2 here): A (1 ms,
/// GPU 0) → B (1 ms, GPU 1), copies free: 2 + 2 = 4 ms; the same chain on one GPU keeps
/// its calibrated 2 ms, and so does a stream of samples through the two GPUs (a pipeline:
/// 10 samples in 11 ms).
#[test]
fn a_sample_alone_over_several_gpus_runs_at_the_forked_factor() {
    let two = plan_of(vec![task(0, 0, &[]), task(1, 0, &[0])]);
    let mut c = costs(&[1.0, 1.0], &[0.0; 2]);
    (c.replay, c.forked_factor) = (true, 2.0);
    assert_eq!(predict(&two, &c, Mode::Latency, 2, 1).per_sample_ms, 4.0);
    assert!((predict(&two, &c, Mode::Pipeline, 2, 10).per_sample_ms - 1.1).abs() < 1e-12);
    let one = plan_of(vec![task(0, 0, &[]), task(0, 0, &[0])]);
    assert_eq!(predict(&one, &c, Mode::Latency, 2, 1).per_sample_ms, 2.0);
}

/// A GPU that runs a stage of several groups runs all its operators at the forked factor
/// (1.5 here), those of its one-group stages too: A (1 ms) then B and C side by side (1 ms
/// each, occupancy 0, formula max) take 1.5 + 1.5 = 3 ms; without the concurrent stage (B
/// and C on one stream, A → B → C) 3 ms at the calibrated times. Over two GPUs, one
/// sample at a time, every GPU at the forked factor: A on GPU 0, B and C side by side on
/// GPU 1, 1.5 + 1.5 = 3 ms.
#[test]
fn a_gpu_with_a_concurrent_stage_runs_all_its_operators_at_the_forked_factor() {
    let mut plan = plan_of(vec![task(0, 0, &[]), task(0, 0, &[0]), task(0, 1, &[0])]);
    plan.tasks[2].stage = 1;
    let mut c = costs(&[1.0; 3], &[0.0; 3]);
    c.replay = true;
    c.forked_factor = 1.5;
    assert_eq!(predict(&plan, &c, Mode::Latency, 1, 1).per_sample_ms, 3.0);
    assert_eq!(concurrent_stages(&plan, 1), vec![1]);
    let one = plan_of(vec![task(0, 0, &[]), task(0, 0, &[0]), task(0, 0, &[1])]);
    assert_eq!(predict(&one, &c, Mode::Latency, 1, 1).per_sample_ms, 3.0);
    assert_eq!(concurrent_stages(&one, 1), vec![0]);
    let mut two = plan.clone();
    (two.tasks[1].gpu, two.tasks[2].gpu) = (1, 1);
    assert_eq!(predict(&two, &c, Mode::Latency, 2, 1).per_sample_ms, 3.0);
    assert_eq!(concurrent_stages(&two, 2), vec![0, 1]);
}

/// A copy queued behind another on the copy stream ends one queued slot after it: A and B
/// (1 ms each, GPU 0, two streams) both feed C (1 ms, GPU 1) through copies of α 1 ms. Back
/// to back (no queued α) the copies run 1–2 and 2–3, C 3–4; with a queued α of 0.5 ms the
/// second ends at 2.5 and C at 3.5; with one of 2 ms, at 4 and C at 5.
#[test]
fn a_queued_copy_ends_one_slot_after_the_copy_before_it() {
    let plan = plan_of(vec![task(0, 0, &[]), task(0, 1, &[]), task(1, 0, &[0, 1])]);
    let mut c = costs(&[1.0; 3], &[0.0; 3]);
    c.copy_alpha_ms = 1.0;
    assert_eq!(predict(&plan, &c, Mode::Latency, 2, 1).per_sample_ms, 4.0);
    c.copy_queued_alpha_ms = Some(0.5);
    assert_eq!(predict(&plan, &c, Mode::Latency, 2, 1).per_sample_ms, 3.5);
    c.copy_queued_alpha_ms = Some(2.0);
    assert_eq!(predict(&plan, &c, Mode::Latency, 2, 1).per_sample_ms, 5.0);
}

/// A large copy from another GPU holds the receiving GPU while it runs: A (1 ms, GPU 0)
/// sends 4 MiB to C on GPU 1 through a copy of 1 ms, 1–2, while B (5 ms) runs there from 0;
/// B loses that millisecond and ends at 6, C runs 6–7. A copy that held nothing would
/// leave B at 5 and C at 5–6.
#[test]
fn large_copies_take_the_receiving_gpu_while_they_run() {
    let mut plan = plan_of(vec![task(0, 0, &[]), task(1, 0, &[]), task(1, 0, &[0])]);
    plan.tasks[2].deps[0].bytes = 4 << 20;
    assert_eq!(copy_hold(4 << 20), 1.0);
    let mut c = costs(&[1.0, 5.0, 1.0], &[0.0; 3]);
    c.copy_alpha_ms = 1.0;
    assert_eq!(predict(&plan, &c, Mode::Latency, 2, 1).per_sample_ms, 6.0);
    c.copies_hold = true;
    assert_eq!(predict(&plan, &c, Mode::Latency, 2, 1).per_sample_ms, 7.0);
    // Replayed the same: C's segment waits for B's and for the copy.
    c.replay = true;
    assert_eq!(predict(&plan, &c, Mode::Latency, 2, 1).per_sample_ms, 7.0);
    // A copy of 4 KiB holds 4 of the 1056 blocks of a full wave: B ends at 5 + 4/1056.
    plan.tasks[2].deps[0].bytes = 4096;
    c.replay = false;
    assert!((predict(&plan, &c, Mode::Latency, 2, 1).per_sample_ms - (6.0 + 4.0 / 1056.0)).abs() < 1e-12);
}

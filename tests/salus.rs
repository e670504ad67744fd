//! The GPU-sharing family against independent computations: the checker's replay on random
//! traces under every policy and lane mode, brute-force optima for SRTF, closed forms for
//! exclusive FIFO and the rate model (plain and with measured pairwise slowdowns), and the
//! checker catching corrupted logs.

use placebench::multitenant::fluid::{QUANTUM_MS, SLICE_SWITCH_MS};
use placebench::multitenant::salus::check::Checker;
use placebench::multitenant::salus::lanes::{LaneMode, Memory};
use placebench::multitenant::salus::log::{Event, EventLog, Sink, Tee};
use placebench::multitenant::salus::sim::{simulate, Config, Outcome, SimJob};
use placebench::multitenant::salus::SharingPolicy;
use placebench::multitenant::slowdown::{Combine, CorunFile, PairRow, PairSlowdowns};
use placebench::multitenant::tenant::Tenant;
use placebench::registry;
use proptest::prelude::*;
use std::collections::HashMap;
use std::sync::Arc;

fn job(name: usize, submit: f64, iterations: u64, iter_ms: f64, p: f64, e: f64, u: f64) -> SimJob {
    SimJob {
        name: name.to_string(),
        submit_ms: submit,
        iterations,
        iter_ms,
        persistent: p,
        ephemeral: e,
        occupancy: u,
        tenant: 0,
        infer: false,
        requests: None,
        slo_ms: None,
    }
}

fn config(capacity: f64, lanes: LaneMode) -> Config {
    Config {
        capacity,
        lanes,
        beta: 0.1,
        quantum_ms: QUANTUM_MS,
        slice_switch_ms: SLICE_SWITCH_MS,
        switch_ms: 0.0,
        shrink: false,
        d2h_bytes_per_ms: 10.0,
        h2d_bytes_per_ms: 10.0,
        restart_ms: 3.0,
        infer_first: false,
        srtf_by_iterations: false,
        slowdowns: None,
    }
}

fn policy(name: &str) -> &'static dyn SharingPolicy {
    registry::find_sharing(name).unwrap()
}

/// The configuration a policy runs under (its own lanes where they are part of it).
fn for_policy(p: &dyn SharingPolicy, mut c: Config, lanes: Option<LaneMode>) -> Config {
    c.lanes = if p.lanes_fixed() { p.lanes() } else { lanes.unwrap_or(p.lanes()) };
    c
}

/// Simulates with the checker reading the log; panics on any violation or disagreement.
fn checked(jobs: &[SimJob], p: &dyn SharingPolicy, c: &Config) -> (Outcome, EventLog) {
    let mut checker = Checker::new(jobs, c, p.execution(), p.checkpoints());
    let mut log = EventLog::default();
    let out = simulate(jobs, p, c, &mut Tee(&mut checker, &mut log)).unwrap();
    let rep = checker.finish();
    assert_eq!(rep.violations, 0, "{} under {:?}: {:?}", p.name(), c.lanes, rep.first);
    for j in 0..jobs.len() {
        assert!((out.finish_ms[j] - rep.finish_ms[j]).abs() <= 1e-6 * rep.finish_ms[j].max(1.0));
    }
    (out, log)
}

fn mean_jct(jobs: &[SimJob], o: &Outcome) -> f64 {
    jobs.iter().zip(&o.finish_ms).map(|(j, f)| f - j.submit_ms).sum::<f64>() / jobs.len() as f64
}

fn lane_modes() -> [Option<LaneMode>; 4] {
    [None, Some(LaneMode::Auto), Some(LaneMode::One), Some(LaneMode::PerJob)]
}

prop_compose! {
    fn jobs_strategy()(n in 1usize..6)(specs in prop::collection::vec(
        (0u32..20, 1u64..5, 1u32..10, 1u32..40, 1u32..40, 1u32..10), n)) -> Vec<SimJob> {
        specs.into_iter().enumerate().map(|(i, (s, it, ms, p, e, u))|
            job(i, s as f64, it, ms as f64, p as f64 / 10.0, e as f64 / 10.0, u as f64 / 10.0)).collect()
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    /// The invariant, memory in use, one iteration a lane, exact work: the checker confirms
    /// every policy under every lane mode; every job finishes; the mean JCT never beats its
    /// bound (the mean standalone duration).
    #[test]
    fn every_policy_passes_the_checker(jobs in jobs_strategy(), switch in 0u32..2, shrink: bool, by_iterations: bool) {
        // P, E ≤ 4 and C = 10: every job fits alone, even Salus's inflated lanes (8.8).
        let mut base = config(10.0, LaneMode::Auto);
        base.switch_ms = switch as f64 * 0.5;
        base.shrink = shrink;
        base.srtf_by_iterations = by_iterations;
        let bound = jobs.iter().map(SimJob::standalone_ms).sum::<f64>() / jobs.len() as f64;
        for p in registry::sharing() {
            for lanes in lane_modes() {
                if p.lanes_fixed() && lanes.is_some() {
                    continue;
                }
                let c = for_policy(p, base.clone(), lanes);
                let (o, _) = checked(&jobs, p, &c);
                prop_assert!(mean_jct(&jobs, &o) >= bound * (1.0 - 1e-9));
            }
        }
    }
}

/// The least mean completion time over every assignment of unit slots to arrived jobs (one
/// at a time), by exhaustive search.
fn brute_force(arrive: &[u32], work: &[u32]) -> f64 {
    fn go(t: u32, left: &mut Vec<u32>, arrive: &[u32], memo: &mut HashMap<(u32, Vec<u32>), u32>) -> u32 {
        if left.iter().all(|&l| l == 0) {
            return 0;
        }
        if let Some(&v) = memo.get(&(t, left.clone())) {
            return v;
        }
        let mut best = u32::MAX / 4;
        let mut any = false;
        for j in 0..left.len() {
            if left[j] > 0 && arrive[j] <= t {
                any = true;
                left[j] -= 1;
                let done = if left[j] == 0 { t + 1 } else { 0 };
                best = best.min(done + go(t + 1, left, arrive, memo));
                left[j] += 1;
            }
        }
        // Idling is an assignment too (never a better one), up to the latest useful time.
        let horizon = arrive.iter().max().copied().unwrap_or(0) + left.iter().sum::<u32>();
        if t < horizon {
            best = best.min(go(t + 1, left, arrive, memo));
        } else if !any {
            best = u32::MAX / 4;
        }
        memo.insert((t, left.clone()), best);
        best
    }
    let sum_finish = go(0, &mut work.to_vec(), arrive, &mut HashMap::new());
    (sum_finish as f64 - arrive.iter().sum::<u32>() as f64) / arrive.len() as f64
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// One lane, unit iterations, arrivals on the grid, no switch cost: SRTF's mean JCT is the
    /// brute-force optimum, and FIFO, FAIR and RR are never better.
    #[test]
    fn srtf_is_optimal_on_the_grid(specs in prop::collection::vec((0u32..4, 1u32..6), 1..5)) {
        let jobs: Vec<SimJob> = specs.iter().enumerate()
            .map(|(i, &(a, w))| job(i, a as f64, w as u64, 1.0, 0.1, 0.1, 1.0)).collect();
        let c = config(100.0, LaneMode::One);
        let arrive: Vec<u32> = specs.iter().map(|s| s.0).collect();
        let work: Vec<u32> = specs.iter().map(|s| s.1).collect();
        let best = brute_force(&arrive, &work);
        let srtf = mean_jct(&jobs, &checked(&jobs, policy("srtf"), &c).0);
        prop_assert!((srtf - best).abs() < 1e-9, "srtf {} optimum {}", srtf, best);
        for other in ["fifo", "fair", "rr"] {
            let m = mean_jct(&jobs, &checked(&jobs, policy(other), &c).0);
            prop_assert!(m >= srtf - 1e-9, "{} {} beats srtf {}", other, m, srtf);
        }
    }
}

fn permutations(n: usize) -> Vec<Vec<usize>> {
    if n == 0 {
        return vec![vec![]];
    }
    let mut out = Vec::new();
    for p in permutations(n - 1) {
        for at in 0..=p.len() {
            let mut q = p.clone();
            q.insert(at, n - 1);
            out.push(q);
        }
    }
    out
}

#[test]
fn srtf_with_everyone_at_zero_is_the_best_order() {
    // Seven jobs at time 0: SRTF = SJF = the least mean completion over all 5,040 orders.
    let works = [5.0, 1.0, 3.0, 2.5, 4.0, 0.5, 2.0];
    let jobs: Vec<SimJob> = works.iter().enumerate().map(|(i, &w)| job(i, 0.0, 1, w, 0.1, 0.1, 1.0)).collect();
    let best = permutations(works.len())
        .iter()
        .map(|order| {
            let mut t = 0.0;
            order
                .iter()
                .map(|&j| {
                    t += works[j];
                    t
                })
                .sum::<f64>()
                / works.len() as f64
        })
        .fold(f64::INFINITY, f64::min);
    let srtf = mean_jct(&jobs, &checked(&jobs, policy("srtf"), &config(100.0, LaneMode::One)).0);
    assert!((srtf - best).abs() < 1e-9, "srtf {srtf} best {best}");
}

#[test]
fn exclusive_fifo_equals_its_closed_form() {
    let jobs: Vec<SimJob> = [(0.0, 3, 2.0), (1.0, 1, 5.0), (1.0, 2, 1.0), (30.0, 4, 0.5), (30.5, 1, 1.0)]
        .iter()
        .enumerate()
        .map(|(i, &(s, n, ms))| job(i, s, n, ms, 1.0, 1.0, 0.7))
        .collect();
    let (o, _) = checked(&jobs, policy("exclusive-fifo"), &config(5.0, LaneMode::Exclusive));
    let mut free = 0.0f64;
    for (j, sj) in jobs.iter().enumerate() {
        let start = free.max(sj.submit_ms);
        free = start + sj.standalone_ms();
        assert!((o.finish_ms[j] - free).abs() < 1e-9, "job {j}: {} vs {free}", o.finish_ms[j]);
    }
}

#[test]
fn identical_jobs_under_fair_finish_one_iteration_apart() {
    let jobs: Vec<SimJob> = (0..5).map(|i| job(i, 0.0, 7, 2.0, 0.5, 0.5, 1.0)).collect();
    let (o, _) = checked(&jobs, policy("fair"), &config(100.0, LaneMode::One));
    // One iteration at a time: each job's finish follows the previous one's by one iteration
    // (FIFO's would follow by a whole job).
    let mut f = o.finish_ms.clone();
    f.sort_by(f64::total_cmp);
    assert!(f.windows(2).all(|w| w[1] - w[0] <= 2.0 + 1e-9), "{f:?}");
    let fifo = checked(&jobs, policy("fifo"), &config(100.0, LaneMode::One)).0;
    assert!(fifo.finish_ms.windows(2).all(|w| w[1] - w[0] >= 14.0 - 1e-9), "{:?}", fifo.finish_ms);
}

#[test]
fn one_tenant_runs_as_if_alone_and_lanes_that_fit_do_not_interfere() {
    let alone = [job(0, 3.0, 6, 2.5, 1.0, 1.0, 1.0)];
    for p in registry::sharing() {
        let c = for_policy(p, config(10.0, LaneMode::Auto), None);
        let (o, _) = checked(&alone, p, &c);
        assert!((o.finish_ms[0] - 3.0 - 15.0).abs() < 1e-9, "{}: {}", p.name(), o.finish_ms[0]);
    }
    // Two lanes of occupancy 0.4 and 0.6: both as if alone.
    let two = [job(0, 0.0, 4, 3.0, 1.0, 1.0, 0.4), job(1, 0.0, 3, 2.0, 1.0, 1.0, 0.6)];
    let (o, _) = checked(&two, policy("pack"), &config(10.0, LaneMode::Auto));
    assert!((o.finish_ms[0] - 12.0).abs() < 1e-9 && (o.finish_ms[1] - 6.0).abs() < 1e-9, "{:?}", o.finish_ms);
    // Two full lanes share the GPU and pay β = 0.1: each progresses at 1 / 2.2.
    let full = [job(0, 0.0, 1, 10.0, 1.0, 1.0, 1.0), job(1, 0.0, 1, 10.0, 1.0, 1.0, 1.0)];
    let (o, _) = checked(&full, policy("pack"), &config(10.0, LaneMode::Auto));
    assert!(o.finish_ms.iter().all(|&f| (f - 22.0).abs() < 1e-9), "{:?}", o.finish_ms);
}

#[test]
fn salus_faithful_never_puts_two_jobs_in_one_lane() {
    let jobs: Vec<SimJob> = (0..6).map(|i| job(i, i as f64, 10, 1.0, 1.0, 1.0, 0.3)).collect();
    let (_, log) = checked(&jobs, policy("salus-faithful"), &config(20.0, LaneMode::Faithful));
    let mut members: HashMap<usize, usize> = HashMap::new();
    for e in &log.events {
        match *e {
            Event::Admit { lane, persistent, lane_size, .. } => {
                *members.entry(lane).or_default() += 1;
                assert_eq!(persistent, 0.0);
                assert!((lane_size - 1.05 * 2.1).abs() < 1e-9);
            }
            Event::Depart { lane, .. } => *members.get_mut(&lane).unwrap() -= 1,
            _ => {}
        }
        assert!(members.values().all(|&m| m <= 1));
    }
    // Memory for three such lanes (3 × 2.205 ≤ 7): the fourth waits for the first to leave.
    let (o, log) = checked(&jobs, policy("salus-faithful"), &config(7.0, LaneMode::Faithful));
    let admit_3 = log.events.iter().find_map(|e| match e {
        Event::Admit { t, job: 3, .. } => Some(*t),
        _ => None,
    });
    assert_eq!(admit_3, Some(o.finish_ms[0]));
}

#[test]
fn checkpointing_srtf_pays_each_preemption() {
    // A long job starts; a short one arrives and preempts it at its next iteration end: the
    // short job's first start pays the long one's save (P / d2h), the long one's return its
    // restore and restart (P / h2d + restart).
    let jobs = [job(0, 0.0, 10, 1.0, 20.0, 1.0, 1.0), job(1, 0.5, 2, 1.0, 30.0, 1.0, 1.0)];
    let c = config(100.0, LaneMode::Exclusive);
    let (o, log) = checked(&jobs, policy("srtf-checkpoint"), &c);
    let stalls: Vec<f64> = log
        .events
        .iter()
        .filter_map(|e| if let Event::Start { stall_ms, .. } = e { Some(*stall_ms) } else { None })
        .collect();
    assert!(stalls.contains(&2.0), "save 20 / 10: {stalls:?}");
    assert!(stalls.contains(&5.0), "restore 20 / 10 + restart 3: {stalls:?}");
    // Job 1: waits for iteration 1 of job 0 (t = 1), pays 2 ms, runs 2 ms: done at 5.
    assert!((o.finish_ms[1] - 5.0).abs() < 1e-9, "{:?}", o.finish_ms);
    assert!((o.finish_ms[0] - (5.0 + 5.0 + 9.0)).abs() < 1e-9, "{:?}", o.finish_ms);
}

/// Replays `events` through a fresh checker; the number of violations.
fn replay(jobs: &[SimJob], c: &Config, p: &dyn SharingPolicy, events: &[Event]) -> usize {
    let mut ch = Checker::new(jobs, c, p.execution(), p.checkpoints());
    for &e in events {
        ch.event(e);
    }
    ch.finish().violations
}

#[test]
fn the_checker_rejects_corrupted_logs() {
    let jobs = [job(0, 0.0, 3, 2.0, 1.0, 2.0, 1.0), job(1, 1.0, 2, 1.0, 1.0, 2.0, 1.0)];
    let p = policy("pack");
    let c = config(10.0, LaneMode::Auto);
    let (_, log) = checked(&jobs, p, &c);
    assert_eq!(replay(&jobs, &c, p, &log.events), 0);
    let corrupt: Vec<Box<dyn Fn(Event) -> Event>> = vec![
        // An iteration that ends early.
        Box::new(|e| match e {
            Event::End { t, job, lane } if job == 0 => Event::End { t: t - 0.5, job, lane },
            e => e,
        }),
        // A lane too small for its member.
        Box::new(|e| match e {
            Event::Admit { t, job, lane, persistent, .. } => Event::Admit { t, job, lane, lane_size: 0.5, persistent },
            e => e,
        }),
        // Persistent bytes not charged.
        Box::new(|e| match e {
            Event::Admit { t, job, lane, lane_size, .. } => Event::Admit { t, job, lane, lane_size, persistent: 0.0 },
            e => e,
        }),
        // Work that is not the job's iteration.
        Box::new(|e| match e {
            Event::Start { t, job, lane, stall_ms, work_ms } => {
                Event::Start { t, job, lane, stall_ms, work_ms: work_ms * 0.5 }
            }
            e => e,
        }),
    ];
    for (k, f) in corrupt.iter().enumerate() {
        let events: Vec<Event> = log.events.iter().map(|&e| f(e)).collect();
        assert!(replay(&jobs, &c, p, &events) > 0, "corruption {k} passed");
    }
    // A log missing its last departure.
    let cut = &log.events[..log.events.len() - 1];
    assert!(replay(&jobs, &c, p, cut) > 0);
}

#[test]
fn the_literal_lane_assignment_fails_the_checker() {
    // The paper's assignment as printed admits B into A's lane although B's persistent
    // bytes no longer fit; the checker's ledger catches it.
    let jobs = [job(0, 0.0, 1, 1.0, 1.0, 5.0, 1.0), job(1, 0.0, 1, 1.0, 5.0, 5.0, 1.0)];
    let mut m = Memory::new(10.0);
    let a = m.admit_literal(0, 1.0, 5.0).unwrap();
    let b = m.admit_literal(1, 5.0, 5.0).unwrap();
    let c = config(10.0, LaneMode::Auto);
    let events = [
        Event::Arrive { t: 0.0, job: 0 },
        Event::Arrive { t: 0.0, job: 1 },
        Event::Admit { t: 0.0, job: 0, lane: a.lane, lane_size: a.lane_size, persistent: a.persistent },
        Event::Admit { t: 0.0, job: 1, lane: b.lane, lane_size: b.lane_size, persistent: b.persistent },
    ];
    assert!(replay(&jobs, &c, policy("pack"), &events) > 0);
}

#[test]
fn a_job_that_fits_a_fresh_lane_is_never_refused() {
    // Lanes of their own, memory for two: the third waits until the first leaves, then enters
    // at once.
    let jobs: Vec<SimJob> = (0..3).map(|i| job(i, 0.0, 2, 1.0 + i as f64, 1.0, 3.0, 0.3)).collect();
    let (o, log) = checked(&jobs, policy("fifo"), &config(9.0, LaneMode::PerJob));
    let admitted: Vec<f64> =
        log.events.iter().filter_map(|e| if let Event::Admit { t, .. } = e { Some(*t) } else { None }).collect();
    assert_eq!(admitted, vec![0.0, 0.0, o.finish_ms[0]]);
}

#[test]
fn serving_requests_wait_for_their_arrival_and_infer_first_bounds_their_latency() {
    let train = job(0, 0.0, 10, 10.0, 1.0, 1.0, 1.0);
    let mut serve = job(1, 0.0, 3, 1.0, 1.0, 1.0, 1.0);
    serve.infer = true;
    serve.requests = Some(vec![5.0, 25.0, 45.0]);
    let jobs = [train, serve];
    let mut c = config(10.0, LaneMode::One);
    c.infer_first = true;
    let (o, _) = checked(&jobs, policy("fifo"), &c);
    // A request waits at most for the training iteration in flight, then runs (1 ms).
    assert!(o.latencies_ms[1].iter().all(|&l| l > 0.0 && l <= 11.0 + 1e-9), "{:?}", o.latencies_ms[1]);
    c.infer_first = false;
    let (o, _) = checked(&jobs, policy("fifo"), &c);
    // Without precedence FIFO finishes the training job (100 ms) first.
    assert!(o.latencies_ms[1][0] >= 95.0, "{:?}", o.latencies_ms[1]);
}

fn with_slowdowns(mut c: Config, s: Vec<Vec<f64>>) -> Config {
    c.slowdowns = Some(Arc::new(PairSlowdowns::from_matrix(s)));
    c
}

fn of_tenant(mut j: SimJob, t: usize) -> SimJob {
    j.tenant = t;
    j
}

/// Measured slowdowns against closed forms: two lanes of one iteration at s = 1.5 both
/// progress at 2/3 until the shorter (10 ms of work) ends at 15 ms; the longer's remaining
/// 10 ms then run alone, to 25 ms. Three lanes at s = 2 a pair each progress at 1/(1 + 1 + 1).
/// The same log read by a checker without the table fails it: the checker integrates the table.
#[test]
fn measured_slowdowns_follow_their_closed_form() {
    let two = [of_tenant(job(0, 0.0, 1, 10.0, 1.0, 1.0, 0.5), 0), of_tenant(job(1, 0.0, 1, 20.0, 1.0, 1.0, 0.5), 1)];
    let c = with_slowdowns(config(100.0, LaneMode::PerJob), vec![vec![1.0, 1.5], vec![1.5, 1.0]]);
    let (o, log) = checked(&two, policy("fifo"), &c);
    assert!((o.finish_ms[0] - 15.0).abs() < 1e-9 && (o.finish_ms[1] - 25.0).abs() < 1e-9, "{:?}", o.finish_ms);
    assert!(replay(&two, &config(100.0, LaneMode::PerJob), policy("fifo"), &log.events) > 0);

    let three: Vec<SimJob> = (0..3).map(|i| of_tenant(job(i, 0.0, 2, 30.0, 1.0, 1.0, 0.2), i)).collect();
    let c = with_slowdowns(config(100.0, LaneMode::PerJob), vec![vec![2.0; 3]; 3]);
    let (o, additive_log) = checked(&three, policy("fifo"), &c);
    for f in &o.finish_ms {
        assert!((f - 180.0).abs() < 1e-9, "{:?}", o.finish_ms);
    }
    // Saturating: three items at s = 2 share a pair's throughput 2 / 2 = 1, a third each, so
    // 60 ms of work takes 180 ms as well; at s = 1.6 the pair's throughput is 1.25, each item
    // progresses at 1.25 / 3 (60 ms of work: 144 ms) where the additive rule says 1 / 2.2
    // (132 ms). Two items run as their pair under either rule.
    let saturating = |s: Vec<Vec<f64>>| {
        let mut t = PairSlowdowns::from_matrix(s);
        t.combine = Combine::Saturating;
        Config { slowdowns: Some(Arc::new(t)), ..config(100.0, LaneMode::PerJob) }
    };
    let (o, _) = checked(&three, policy("fifo"), &saturating(vec![vec![2.0; 3]; 3]));
    assert!(o.finish_ms.iter().all(|f| (f - 180.0).abs() < 1e-9), "{:?}", o.finish_ms);
    let c16 = saturating(vec![vec![1.6; 3]; 3]);
    let (o, log) = checked(&three, policy("fifo"), &c16);
    assert!(o.finish_ms.iter().all(|f| (f - 144.0).abs() < 1e-9), "{:?}", o.finish_ms);
    let additive = with_slowdowns(config(100.0, LaneMode::PerJob), vec![vec![1.6; 3]; 3]);
    let (o, _) = checked(&three, policy("fifo"), &additive);
    assert!(o.finish_ms.iter().all(|f| (f - 132.0).abs() < 1e-9), "{:?}", o.finish_ms);
    // Each rule's log fails the other rule's checker.
    assert!(replay(&three, &additive, policy("fifo"), &log.events) > 0);
    assert!(replay(&three, &saturating(vec![vec![2.0; 3]; 3]), policy("fifo"), &additive_log.events) == 0);
    let (_, log16) = checked(&three, policy("fifo"), &additive);
    assert!(replay(&three, &c16, policy("fifo"), &log16.events) > 0);
    let (o, _) = checked(&two, policy("fifo"), &saturating(vec![vec![1.0, 1.5], vec![1.5, 1.0]]));
    assert!((o.finish_ms[0] - 15.0).abs() < 1e-9 && (o.finish_ms[1] - 25.0).abs() < 1e-9, "{:?}", o.finish_ms);
}

/// Sets measured as a whole: three lanes of 60 ms of work whose set was measured at
/// slowdowns 2, 3 and 3 (pairs at 2): the first ends at 120 ms, the others have done 40 ms by
/// then and finish the last 20 ms as a pair (s = 2) at 160 ms; under the additive rule all
/// three end at 180 ms. Without the set, `measured` is `additive`. Each rule's log fails the
/// other rule's checker.
#[test]
fn measured_sets_run_at_their_members_rates() {
    let three: Vec<SimJob> = (0..3).map(|i| of_tenant(job(i, 0.0, 2, 30.0, 1.0, 1.0, 0.2), i)).collect();
    let table = |with_set: bool| {
        let mut t = PairSlowdowns::from_matrix(vec![vec![2.0; 3]; 3]);
        t.combine = Combine::Measured;
        if with_set {
            t.insert_set(&[2, 0, 1], &[3.0, 2.0, 3.0]);
        }
        Config { slowdowns: Some(Arc::new(t)), ..config(100.0, LaneMode::PerJob) }
    };
    let (o, measured_log) = checked(&three, policy("fifo"), &table(true));
    let want = [120.0, 160.0, 160.0];
    assert!(o.finish_ms.iter().zip(want).all(|(f, w)| (f - w).abs() < 1e-9), "{:?}", o.finish_ms);
    let (o, fallback_log) = checked(&three, policy("fifo"), &table(false));
    assert!(o.finish_ms.iter().all(|f| (f - 180.0).abs() < 1e-9), "{:?}", o.finish_ms);
    let additive = with_slowdowns(config(100.0, LaneMode::PerJob), vec![vec![2.0; 3]; 3]);
    assert_eq!(replay(&three, &additive, policy("fifo"), &fallback_log.events), 0);
    assert!(replay(&three, &additive, policy("fifo"), &measured_log.events) > 0);
    assert!(replay(&three, &table(true), policy("fifo"), &fallback_log.events) > 0);
    // A member of one tenant twice takes the mean of its two positions.
    let mut t = PairSlowdowns::from_matrix(vec![vec![2.0; 2]; 2]);
    t.insert_set(&[0, 1, 0], &[2.0, 5.0, 4.0]);
    assert_eq!(t.in_set(0, [0, 1].into_iter()), Some(3.0));
    assert_eq!(t.in_set(1, [0, 0].into_iter()), Some(5.0));
    assert_eq!(t.in_set(1, [0, 1].into_iter()), None);
    assert_eq!(t.measured_sets(), 1);
}

fn tenant(name: &str, occupancy: f64) -> Tenant {
    Tenant {
        name: name.into(),
        iter_ms: 1.0,
        persistent_bytes: 1.0,
        ephemeral_bytes: 1.0,
        occupancy,
        parameters: 0,
        source: "test".into(),
    }
}

/// A table with no measured pair is the rate model's two-item prediction, so with at most two
/// lanes a run is the plain model's run; a pair measured on forward passes stands for the
/// training tenants of its model and batch, and a measured slowdown below 1 counts as 1.
#[test]
fn unmeasured_pairs_fall_back_to_the_rate_model() {
    let tenants = [tenant("resnet50_b8_train", 0.7), tenant("bert_b8_train", 0.8)];
    let empty =
        CorunFile { schema_version: 1, gpu: "none".into(), beta: 0.1, warmup: 1, runs: 1, pairs: vec![], sets: vec![] };
    let table = PairSlowdowns::new(&tenants, &empty, "empty", 0.1);
    assert_eq!((table.measured, table.pairs), (0, 3));
    let jobs = [of_tenant(job(0, 0.0, 3, 7.0, 1.0, 1.0, 0.7), 0), of_tenant(job(1, 2.0, 4, 5.0, 1.0, 1.0, 0.8), 1)];
    let plain = config(100.0, LaneMode::PerJob);
    let tabled = Config { slowdowns: Some(Arc::new(table)), ..plain.clone() };
    let (a, b) = (checked(&jobs, policy("fifo"), &plain).0, checked(&jobs, policy("fifo"), &tabled).0);
    for j in 0..2 {
        assert!((a.finish_ms[j] - b.finish_ms[j]).abs() < 1e-9, "{:?} {:?}", a.finish_ms, b.finish_ms);
    }
    let row = |a: &str, b: &str, s: f64| PairRow {
        a: a.into(),
        b: b.into(),
        alone_a_ms: 1.0,
        alone_b_ms: 1.0,
        together_ms: s,
        occupancy_a: 0.5,
        occupancy_b: 0.5,
        measured_slowdown: s,
        predicted_slowdown: 2.0,
        predicted_together_ms: 2.0,
    };
    let file = CorunFile {
        pairs: vec![row("resnet50_b8_infer", "resnet50_b8_infer", 1.3), row("bert_b8_infer", "resnet50_b8_infer", 0.9)],
        ..empty
    };
    let t = PairSlowdowns::new(&tenants, &file, "f", 0.1);
    assert_eq!((t.measured, t.clamped), (2, 1));
    assert_eq!((t.get(0, 0), t.get(0, 1), t.get(1, 0)), (1.3, 1.0, 1.0));
    assert!((t.get(1, 1) - 1.6 * 1.06).abs() < 1e-12, "bert with itself is unmeasured: {}", t.get(1, 1));
    // Sets are found the same way; one with a tenant the run lacks is left out.
    let set = |names: &[&str], s: &[f64]| placebench::multitenant::slowdown::SetRow {
        tenants: names.iter().map(|n| n.to_string()).collect(),
        alone_ms: vec![1.0; names.len()],
        iterations: vec![5; names.len()],
        slowdowns: s.to_vec(),
        additive_slowdowns: vec![3.0; names.len()],
    };
    let file = CorunFile {
        sets: vec![
            set(&["resnet50_b8_infer", "bert_b8_infer", "bert_b8_infer"], &[2.5, 2.0, 3.0]),
            set(&["resnet50_b8_infer", "gpt_b4_infer", "bert_b8_infer"], &[2.5, 2.0, 3.0]),
        ],
        ..file
    };
    let t = PairSlowdowns::new(&tenants, &file, "f", 0.1);
    assert_eq!(t.measured_sets(), 1);
    assert_eq!(t.in_set(0, [1, 1].into_iter()), Some(2.5));
    assert_eq!(t.in_set(1, [0, 1].into_iter()), Some(2.5));
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(32))]

    /// Any symmetric table of slowdowns at least 1 (and a measured set of three), combined by
    /// any rule: the checker confirms
    /// every policy under every lane mode, and no mean JCT beats the mean standalone duration.
    #[test]
    fn every_policy_passes_the_checker_with_measured_slowdowns(
        jobs in jobs_strategy(), cells in prop::collection::vec(0u32..20, 9), rule in 0usize..3,
        set in prop::collection::vec(0u32..30, 3)) {
        let k = 3;
        let mut s = vec![vec![1.0; k]; k];
        for i in 0..k {
            for j in i..k {
                s[i][j] = 1.0 + cells[i * k + j] as f64 / 10.0;
                s[j][i] = s[i][j];
            }
        }
        let jobs: Vec<SimJob> = jobs.into_iter().enumerate().map(|(i, j)| of_tenant(j, i % k)).collect();
        let mut table = PairSlowdowns::from_matrix(s);
        table.combine = [Combine::Additive, Combine::Saturating, Combine::Measured][rule];
        // Under `measured`, the set of the three tenants at slowdowns of its own.
        table.insert_set(&[0, 1, 2], &set.iter().map(|&x| 1.0 + x as f64 / 10.0).collect::<Vec<_>>());
        let base = Config { slowdowns: Some(Arc::new(table)), ..config(10.0, LaneMode::Auto) };
        let bound = jobs.iter().map(SimJob::standalone_ms).sum::<f64>() / jobs.len() as f64;
        for p in registry::sharing() {
            for lanes in lane_modes() {
                if p.lanes_fixed() && lanes.is_some() {
                    continue;
                }
                let (o, _) = checked(&jobs, p, &for_policy(p, base.clone(), lanes));
                prop_assert!(mean_jct(&jobs, &o) >= bound * (1.0 - 1e-9));
            }
        }
    }
}

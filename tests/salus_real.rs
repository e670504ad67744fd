//! The sharing family's real-machine driver (`run_real`) on a fake machine whose clock ends
//! each iteration after its standalone time times a factor: at factor 1 and with occupancies
//! that never oversubscribe the GPU, it must decide and finish exactly as the simulator does,
//! and its log must pass the checker both as a simulated and as a measured log; with
//! iterations 30% longer, the simulated checker must reject the log and the measured one
//! accept it.

use placebench::multitenant::salus::check::Checker;
use placebench::multitenant::salus::lanes::LaneMode;
use placebench::multitenant::salus::log::{Event, Sink};
use placebench::multitenant::salus::sim::{run_real, simulate, Config, Iterations, SimJob};
use placebench::multitenant::salus::SharingPolicy;
use placebench::registry;

/// Iterations end `factor` × their standalone time after they start, on a virtual clock.
struct Fake<'a> {
    jobs: &'a [SimJob],
    factor: f64,
    now: f64,
    running: Vec<(usize, f64)>,
}

impl Iterations for Fake<'_> {
    fn now_ms(&self) -> f64 {
        self.now
    }

    fn start(&mut self, job: usize, _lane: usize) -> placebench::Result<()> {
        self.running.push((job, self.now + self.jobs[job].iter_ms * self.factor));
        Ok(())
    }

    fn wait(&mut self, until_ms: f64, ended: &mut Vec<usize>) -> placebench::Result<f64> {
        let first = self.running.iter().map(|r| r.1).fold(f64::INFINITY, f64::min);
        if first <= until_ms {
            self.now = first;
            self.running.retain(|&(j, end)| {
                let done = end <= first;
                if done {
                    ended.push(j);
                }
                !done
            });
        } else if until_ms.is_finite() {
            self.now = until_ms;
        } else {
            return Err(placebench::Error::Usage("waiting for nothing".into()));
        }
        Ok(self.now)
    }
}

#[derive(Default)]
struct Events(Vec<Event>);
impl Sink for Events {
    fn event(&mut self, e: Event) {
        self.0.push(e);
    }
}

fn jobs() -> Vec<SimJob> {
    (0..7)
        .map(|i| SimJob {
            name: format!("j{i}"),
            submit_ms: [0.0, 0.0, 5.0, 12.0, 12.0, 40.0, 41.5][i],
            iterations: [4, 9, 3, 6, 2, 5, 7][i] as u64,
            iter_ms: [2.0, 1.5, 3.25, 1.0, 4.0, 2.5, 0.75][i],
            persistent: 1.0e9,
            ephemeral: [2.0e9, 1.0e9, 3.0e9, 1.5e9, 2.5e9, 1.0e9, 2.0e9][i],
            occupancy: 0.1,
            tenant: i,
            infer: false,
            requests: None,
            slo_ms: None,
        })
        .collect()
}

fn config(lanes: LaneMode) -> Config {
    Config {
        capacity: 9.0e9,
        lanes,
        beta: 0.1,
        quantum_ms: 2.0,
        slice_switch_ms: 0.05,
        switch_ms: 0.0,
        shrink: false,
        d2h_bytes_per_ms: 25e6,
        h2d_bytes_per_ms: 25e6,
        restart_ms: 1000.0,
        infer_first: false,
        srtf_by_iterations: false,
        slowdowns: None,
    }
}

fn real_policies() -> Vec<&'static dyn SharingPolicy> {
    let names = ["fifo", "srtf", "fair", "pack", "rr", "exclusive-fifo", "mps", "salus-faithful"];
    registry::sharing().filter(|p| names.contains(&p.name())).collect()
}

#[test]
fn a_real_run_at_standalone_speed_decides_and_finishes_as_the_simulator() {
    let jobs = jobs();
    let policies = real_policies();
    assert_eq!(policies.len(), 8);
    for p in policies {
        let cfg = config(p.lanes());
        let sim = simulate(&jobs, p, &cfg, &mut Events::default()).unwrap();
        let mut log = Events::default();
        let mut fake = Fake { jobs: &jobs, factor: 1.0, now: 0.0, running: Vec::new() };
        let real = run_real(&jobs, p, &cfg, &mut log, &mut fake).unwrap();
        for j in 0..jobs.len() {
            assert!((real.finish_ms[j] - sim.finish_ms[j]).abs() < 1e-9, "{}: job {j}", p.name());
        }
        for measured in [false, true] {
            let mut c = Checker::new(&jobs, &cfg, p.execution(), false);
            if measured {
                c = c.measured();
            }
            log.0.iter().cloned().for_each(|e| c.event(e));
            let rep = c.finish();
            assert_eq!(rep.violations, 0, "{} (measured {measured}): {:?}", p.name(), rep.first);
        }
    }
}

#[test]
fn a_slower_machine_fails_the_simulated_checker_and_passes_the_measured_one() {
    let jobs = jobs();
    for p in real_policies() {
        let cfg = config(p.lanes());
        let mut log = Events::default();
        let mut fake = Fake { jobs: &jobs, factor: 1.3, now: 0.0, running: Vec::new() };
        let real = run_real(&jobs, p, &cfg, &mut log, &mut fake).unwrap();
        let sim = simulate(&jobs, p, &cfg, &mut Events::default()).unwrap();
        let makespan = |f: &[f64]| f.iter().copied().fold(0.0, f64::max);
        assert!(makespan(&real.finish_ms) > makespan(&sim.finish_ms), "{}", p.name());
        let judge = |measured: bool| {
            let mut c = Checker::new(&jobs, &cfg, p.execution(), false);
            if measured {
                c = c.measured();
            }
            log.0.iter().cloned().for_each(|e| c.event(e));
            c.finish().violations
        };
        assert!(judge(false) > 0, "{}: a 30% slower machine passed the simulated checker", p.name());
        assert_eq!(judge(true), 0, "{}", p.name());
    }
}

#[test]
fn modelled_baselines_have_no_real_run() {
    let jobs = jobs();
    for name in ["srtf-checkpoint", "static-partition"] {
        let p = registry::sharing().find(|p| p.name() == name).unwrap();
        let mut fake = Fake { jobs: &jobs, factor: 1.0, now: 0.0, running: Vec::new() };
        let e = run_real(&jobs, p, &config(p.lanes()), &mut Events::default(), &mut fake).unwrap_err();
        assert!(e.to_string().contains("modelled"), "{e}");
    }
}

/// A set's window on a machine where every iteration takes 1.5× its time alone: job 0 (2 ms
/// alone, 3 ms here) ends at 3, 6, …, 30 ms (10 iterations within the 30 ms window, the one
/// ending at 33 left out), job 2 (3.25 ms, 4.875 here) at 4.875 … 29.25 (6); each mean is
/// exactly its 1.5× time.
#[test]
fn a_sets_window_counts_only_iterations_that_end_within_it() {
    use placebench::multitenant::salus::gpu_profile::in_window;
    let jobs = jobs();
    let mut fake = Fake { jobs: &jobs, factor: 1.5, now: 0.0, running: Vec::new() };
    let got = in_window(&mut fake, &[0, 2], 30.0).unwrap();
    assert_eq!(got.iter().map(|g| g.0).collect::<Vec<_>>(), vec![10, 6]);
    assert!((got[0].1 - 3.0).abs() < 1e-12 && (got[1].1 - 4.875).abs() < 1e-12, "{got:?}");
    assert!(fake.running.is_empty(), "every started iteration was waited for");
}

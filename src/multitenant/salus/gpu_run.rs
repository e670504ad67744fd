//! `bench salus --gpu`: a trace's jobs run on this machine's GPU 0 under a policy, in one
//! process. Every job's forward pass is prepared as a CUDA graph on a stream of its own
//! (buffers and weights of its own, allocated for every job before the run); a training
//! iteration is three forward passes (`backward=forward-x2`: two passes stand in for the
//! backward, which fills the GPU as a forward does), a serving one a single pass. A host
//! thread per job launches its iterations; the scheduler is the simulator's own decision
//! code driven by the GPU's clock (`sim::run_real`): admissions into lanes by the memory
//! ledger at capacity C, a lane's next member chosen at iteration boundaries, lanes running
//! concurrently. The measured log is replayed by the checker (as a measured log: lengths are
//! the machine's), and each row sets measured makespan and mean JCT against three
//! predictions: the cost model, the profiled standalone times, and those with the measured
//! co-run slowdowns and switch cost (see `gpu_profile`).

use super::check::Checker;
use super::family::{instance, Instance, JobRow, SharingCell, GIB};
use super::gpu_profile::load_or_measure;
use super::log::{EventLog, Tee};
use super::sim::{run_real, simulate, Config, Iterations, Outcome};
use super::sweep::{config, load, policies, SalusRunArgs};
use super::SharingPolicy;
use crate::error::{Error, Result};
use crate::gpu::LayerKernels;
use crate::multitenant::slowdown::PairSlowdowns;
use crate::multitenant::tenant::{graph, Kind};
use crate::results::{Record, Status};
use crate::run::RunFile;
use crate::zoo::cost::CostModel;
use serde::Serialize;
use std::sync::mpsc::{channel, Receiver, RecvTimeoutError, Sender};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Iterations on the GPU: a launching thread per job, ends reported on one channel.
pub struct GpuMachine {
    start: Instant,
    go: Vec<Sender<()>>,
    ended: Receiver<(usize, Result<()>)>,
}

impl Iterations for GpuMachine {
    fn now_ms(&self) -> f64 {
        self.start.elapsed().as_secs_f64() * 1e3
    }

    fn start(&mut self, job: usize, _lane: usize) -> Result<()> {
        self.go[job].send(()).map_err(|_| Error::Gpu(format!("job {job}'s launching thread is gone")))
    }

    fn wait(&mut self, until_ms: f64, ended: &mut Vec<usize>) -> Result<f64> {
        let left = until_ms - self.now_ms();
        let first = if until_ms.is_finite() {
            match self.ended.recv_timeout(Duration::from_secs_f64(left.max(0.0) / 1e3)) {
                Ok(x) => Some(x),
                Err(RecvTimeoutError::Timeout) => None,
                Err(RecvTimeoutError::Disconnected) => return Err(Error::Gpu("the launching threads are gone".into())),
            }
        } else {
            Some(self.ended.recv().map_err(|_| Error::Gpu("the launching threads are gone".into()))?)
        };
        for (job, outcome) in first.into_iter().chain(std::iter::from_fn(|| self.ended.try_recv().ok())) {
            outcome?;
            ended.push(job);
        }
        Ok(self.now_ms())
    }
}

/// Runs `f` with a machine whose job `j` runs `passes[j]` forward passes of model `j` of
/// `kernels` an iteration.
pub fn with_machine<T>(
    kernels: &LayerKernels,
    passes: &[usize],
    f: impl FnOnce(&mut GpuMachine) -> Result<T>,
) -> Result<T> {
    let (done, ended) = channel();
    std::thread::scope(|sc| {
        let mut go = Vec::with_capacity(passes.len());
        for (j, &n) in passes.iter().enumerate() {
            let (tx, rx) = channel::<()>();
            let done = done.clone();
            sc.spawn(move || {
                for () in rx {
                    let r = (0..n).try_for_each(|_| kernels.run(j, 0));
                    if done.send((j, r)).is_err() {
                        break;
                    }
                }
            });
            go.push(tx);
        }
        let mut m = GpuMachine { start: Instant::now(), go, ended };
        // The machine (and so every thread's channel) is dropped before the scope joins.
        f(&mut m)
    })
}

/// Forward passes of one iteration of a job of `kind`.
pub fn passes(kind: Kind) -> usize {
    match kind {
        Kind::Train => 3,
        Kind::Infer => 1,
    }
}

/// One prediction of a run: makespan and mean JCT, seconds.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct Prediction {
    pub makespan_s: f64,
    pub mean_jct_s: f64,
}

#[derive(Debug, Serialize)]
pub struct GpuRunFile<'a> {
    pub schema_version: u32,
    pub trace: &'a str,
    pub policy: &'a str,
    pub device: String,
    pub backward: &'static str,
    pub measured: Prediction,
    pub cost_model: Prediction,
    pub profiled: Prediction,
    pub profiled_with_slowdowns: Prediction,
    pub violations: usize,
    pub first_violations: Vec<String>,
    /// Per job: submitted, first start, finish and profiled standalone, seconds.
    pub jobs: Vec<JobRow<'a>>,
    pub timeline: &'a [super::log::Event],
}

pub const GPU_RUN_SCHEMA: u32 = 2;

fn predicted(inst: &Instance, p: &'static dyn SharingPolicy, cfg: &Config, seed: u64) -> Result<Prediction> {
    let cell = SharingCell { instance: inst, policy: p, config: cfg.clone(), seed };
    let o = simulate(&inst.jobs, p, cfg, &mut super::log::Discard)?;
    Ok(summary(&cell, &o))
}

fn summary(cell: &SharingCell, o: &Outcome) -> Prediction {
    let s = cell.summary(&o.finish_ms, &o.first_start_ms, o.busy_ms, o.peak_reserved, &o.latencies_ms);
    Prediction { makespan_s: s.makespan_s, mean_jct_s: s.mean_jct_s }
}

/// Every trace × policy run on the GPU, one after another; rows and run files.
pub fn run(a: &SalusRunArgs) -> Result<(Vec<Record>, Vec<RunFile>)> {
    if a.switch_ms > 0.0 {
        return Err(Error::Usage("--gpu measures the switch cost: leave out --switch-ms".into()));
    }
    let cost = CostModel::resolve(&a.device, "pcie")?;
    let pols = policies(&a.policies)?;
    if let Some(p) = pols.iter().find(|p| p.checkpoints() || p.execution() == super::Execution::TimeSlice) {
        return Err(Error::Usage(format!(
            "--gpu: {} is modelled (checkpoints or time slices); leave it out",
            p.name()
        )));
    }
    let names = if a.traces.is_empty() { vec!["gpu-trace".to_owned()] } else { a.traces.clone() };
    let (mut records, mut files) = (Vec::new(), Vec::new());
    for name in &names {
        let (trace, path, hash) = load(name, a.output.common.seed, &cost)?;
        let inst = instance(&trace, &path, &hash, &cost, a.memory_gib * GIB, a.output.common.seed, None)?;
        let models: Vec<_> = trace
            .jobs
            .iter()
            .map(|j| {
                let g = graph(j.model, j.batch);
                // One layer: the whole forward pass, one graph.
                let whole = std::iter::once(0..g.ops.len()).collect();
                (g, whole, false)
            })
            .collect();
        eprintln!("{name}: preparing {} jobs on the GPU", models.len());
        let kernels = LayerKernels::new(&models)?;
        let passes: Vec<usize> = trace.jobs.iter().map(|j| passes(j.kind)).collect();
        let prof = load_or_measure(a.gpu_profile.as_deref(), &inst, &kernels, &models, &passes)?;
        let text = serde_json::to_string_pretty(&prof).map_err(|e| Error::Usage(e.to_string()))? + "\n";
        files.push((format!("{}__gpu_profile.json", inst.name.replace('/', "__")), text));
        let measured_inst = super::gpu_profile::apply(&inst, &prof);
        let mut table = PairSlowdowns::new(&measured_inst.tenants, &prof.corun(), "measured", a.beta);
        table.combine = a.combine;
        let table = Arc::new(table);
        for &p in &pols {
            let cfg = config(a, p, &cost);
            let cost_model = predicted(&inst, p, &cfg, a.output.common.seed)?;
            let plain = predicted(&measured_inst, p, &cfg, a.output.common.seed)?;
            let with = Config { slowdowns: Some(table.clone()), switch_ms: prof.switch_ms.max(0.0), ..cfg.clone() };
            let full = predicted(&measured_inst, p, &with, a.output.common.seed)?;
            let mut checker = Checker::new(&measured_inst.jobs, &cfg, p.execution(), false).measured();
            let mut timeline = EventLog { membership_only: true, ..EventLog::default() };
            eprintln!("{name} {}: running on the GPU", p.name());
            let o = with_machine(&kernels, &passes, |m| {
                run_real(&measured_inst.jobs, p, &cfg, &mut Tee(&mut checker, &mut timeline), m)
            })?;
            let rep = checker.finish();
            let cell =
                SharingCell { instance: &measured_inst, policy: p, config: cfg.clone(), seed: a.output.common.seed };
            let measured = summary(&cell, &o);
            let err = |x: f64, y: f64| if x > 0.0 { (y - x) / x } else { 0.0 };
            let mut r = Record::new(
                &inst.name,
                &inst.hash,
                super::OBJECTIVE,
                p.name(),
                format!(
                    "gpu=true;lanes={};memory_gib={};backward=forward-x2;combine={}",
                    cfg.lanes.as_str(),
                    cfg.capacity / GIB,
                    a.combine.as_str()
                ),
                a.output.common.seed,
            );
            r.status = if rep.violations == 0 { Status::Feasible } else { Status::Mismatch };
            r.feasible = rep.violations == 0;
            r.objective = Some(measured.mean_jct_s);
            r.claimed_objective = Some(full.mean_jct_s);
            r.devices_used = Some(1);
            r.notes = format!(
                "device={};makespan_s={};predicted_makespan_s={};makespan_error={};mean_jct_error={};profiled_makespan_s={};profiled_mean_jct_s={};cost_model_makespan_s={};cost_model_mean_jct_s={};switch_ms={};measured_pairs={}/{};measured_sets={}",
                prof.device,
                measured.makespan_s,
                full.makespan_s,
                err(measured.makespan_s, full.makespan_s),
                err(measured.mean_jct_s, full.mean_jct_s),
                plain.makespan_s,
                plain.mean_jct_s,
                cost_model.makespan_s,
                cost_model.mean_jct_s,
                prof.switch_ms,
                table.measured,
                table.pairs,
                table.measured_sets()
            );
            if rep.violations > 0 {
                r.message = format!("{} violations; first: {}", rep.violations, rep.first.join(" | "));
            }
            eprintln!(
                "{name} {}: makespan {:.2} s (predicted {:.2}), mean JCT {:.2} s (predicted {:.2})",
                p.name(),
                measured.makespan_s,
                full.makespan_s,
                measured.mean_jct_s,
                full.mean_jct_s
            );
            let file = GpuRunFile {
                schema_version: GPU_RUN_SCHEMA,
                trace: &inst.name,
                policy: p.name(),
                device: prof.device.clone(),
                backward: "forward-x2",
                measured,
                cost_model,
                profiled: plain,
                profiled_with_slowdowns: full,
                violations: rep.violations,
                first_violations: rep.first.clone(),
                jobs: (0..measured_inst.jobs.len())
                    .map(|k| JobRow::new(&measured_inst, k, o.first_start_ms[k], o.finish_ms[k], None))
                    .collect(),
                timeline: &timeline.events,
            };
            let fname = format!("{}__{}.json", inst.name.replace('/', "__"), p.name());
            r.placement_file = Some(fname.clone());
            files.push((fname, serde_json::to_string_pretty(&file).map_err(|e| Error::Usage(e.to_string()))? + "\n"));
            records.push(r);
        }
    }
    Ok((records, files))
}

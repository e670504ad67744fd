//! The sharing family's cells: one policy on one trace, simulated with the checker reading
//! the event log as it is written (a long trace has millions of iterations: the log is
//! streamed, not stored), its figures re-derived by the checker and compared with the
//! simulator's claim.

use super::check::{Checker, Report};
use super::log::{EventLog, Tee};
use super::sim::{simulate, Config, Outcome, SimJob};
use super::{SharingPolicy, OBJECTIVE};
use crate::error::{Error, Result};
use crate::family::{Cell, CellResult};
use crate::multitenant::metrics::{p99_ms, summarize, Summary, Times};
use crate::multitenant::profile::Profiles;
use crate::multitenant::tenant::{model_name, Kind, Tenant, TenantKey};
use crate::multitenant::trace::Trace;
use crate::results::{Record, Status};
use crate::zoo::cost::CostModel;
use rand::{Rng, SeedableRng};
use serde::Serialize;
use std::collections::BTreeMap;
use std::path::Path;

/// A trace made ready to simulate: each job with its tenant's demands.
#[derive(Debug, Clone)]
pub struct Instance {
    pub name: String,
    pub hash: String,
    pub jobs: Vec<SimJob>,
    /// The tenants the jobs are made of, and each job's.
    pub tenants: Vec<Tenant>,
    pub tenant_of: Vec<usize>,
    /// Jobs whose model the trace named differently (mapped to the zoo).
    pub mapped: usize,
    /// The profile file that replaced tenants' numbers (its name and hash), and how many.
    pub profiled: Option<(String, usize)>,
}

/// Builds the instance of `trace` (read from `file`, for messages): tenants from the zoo on
/// `cost`'s accelerator, or from `profiles` where they profile the job's model, batch and
/// kind; serving requests drawn from `seed`. A job that cannot fit `capacity` bytes even alone
/// is bad input.
pub fn instance(
    trace: &Trace,
    file: &Path,
    hash: &str,
    cost: &CostModel,
    capacity: f64,
    seed: u64,
    profiles: Option<&Profiles>,
) -> Result<Instance> {
    let mut index: BTreeMap<(TenantKey, String), usize> = BTreeMap::new();
    let mut tenants: Vec<Tenant> = Vec::new();
    let mut jobs = Vec::with_capacity(trace.jobs.len());
    let mut tenant_of = Vec::with_capacity(trace.jobs.len());
    for (i, j) in trace.jobs.iter().enumerate() {
        let written = j.written_model();
        let k = *index.entry((j.key(), written.clone())).or_insert_with(|| {
            let mut t = Tenant::from_zoo(j.key(), cost);
            if j.mapped_from.is_some() {
                t.name = format!("{written}_b{}_{}", j.batch, j.kind.as_str());
                t.source = format!("zoo {} for {written}", model_name(j.model));
            }
            if let Some(p) = profiles {
                if let Some(row) = p.find(&written, j.batch, j.kind) {
                    t = p.apply(row, t);
                }
            }
            tenants.push(t);
            tenants.len() - 1
        });
        let t = &tenants[k];
        let at = || format!("job {} (row {}): field \"model\"", j.id, i + 2);
        if t.footprint() > capacity {
            return Err(Error::input(
                file,
                at(),
                format!(
                    "{} needs {:.2} GiB (P + E) but the GPU has {:.2} GiB",
                    t.name,
                    t.footprint() / GIB,
                    capacity / GIB
                ),
            ));
        }
        let iter_ms = match j.duration_s {
            Some(d) => d * 1e3 / j.iterations as f64,
            None => t.iter_ms,
        };
        let submit_ms = j.submit_s * 1e3;
        let requests = j.rate.filter(|_| j.kind == Kind::Infer).map(|rate| {
            let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed ^ (i as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15));
            let mut at = submit_ms;
            (0..j.iterations)
                .map(|_| {
                    let u: f64 = rng.random::<f64>();
                    at += -(1.0 - u).ln() * 1e3 / rate;
                    at
                })
                .collect()
        });
        jobs.push(SimJob {
            name: j.id.clone(),
            submit_ms,
            iterations: j.iterations,
            iter_ms,
            persistent: t.persistent_bytes,
            ephemeral: t.ephemeral_bytes,
            occupancy: t.occupancy,
            tenant: k,
            infer: j.kind == Kind::Infer,
            requests,
            slo_ms: j.slo_ms,
        });
        tenant_of.push(k);
    }
    let mapped = trace.jobs.iter().filter(|j| j.mapped_from.is_some()).count();
    let profiled =
        profiles.map(|p| (p.label.clone(), tenants.iter().filter(|t| t.source.starts_with("profile")).count()));
    Ok(Instance { name: trace.name.clone(), hash: hash.to_owned(), jobs, tenants, tenant_of, mapped, profiled })
}

pub use crate::multitenant::tenant::GIB;

/// One policy on one instance.
pub struct SharingCell<'a> {
    pub instance: &'a Instance,
    pub policy: &'static dyn SharingPolicy,
    pub config: Config,
    pub seed: u64,
}

/// The simulator's outcome, the checker's report and the membership timeline.
pub struct Answer {
    pub outcome: Outcome,
    pub report: Report,
    pub timeline: EventLog,
}

/// What a cell writes beside its row: every job's times and the lane timeline.
#[derive(Debug, Serialize)]
pub struct RunFile<'a> {
    pub schema_version: u32,
    pub trace: &'a str,
    pub policy: &'a str,
    pub summary: &'a Summary,
    pub tenants: &'a [Tenant],
    pub jobs: Vec<JobRow<'a>>,
    pub timeline: &'a [super::Event],
}

#[derive(Debug, Serialize)]
pub struct JobRow<'a> {
    pub job: &'a str,
    pub tenant: &'a str,
    pub submit_s: f64,
    pub first_start_s: f64,
    pub finish_s: f64,
    pub standalone_s: f64,
    /// Serving: the p99 of its requests' latencies and its objective, ms.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub p99_latency_ms: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub slo_ms: Option<f64>,
}

impl<'a> JobRow<'a> {
    /// Job `k` of `i`, first started and finished at those times (ms).
    pub fn new(i: &'a Instance, k: usize, first_start_ms: f64, finish_ms: f64, p99_latency_ms: Option<f64>) -> Self {
        let j = &i.jobs[k];
        JobRow {
            job: &j.name,
            tenant: &i.tenants[i.tenant_of[k]].name,
            submit_s: j.submit_ms / 1e3,
            first_start_s: first_start_ms / 1e3,
            finish_s: finish_ms / 1e3,
            standalone_s: j.standalone_ms() / 1e3,
            p99_latency_ms,
            slo_ms: j.slo_ms,
        }
    }
}

/// Version of [`RunFile`].
pub const RUN_SCHEMA: u32 = 1;

impl SharingCell<'_> {
    pub fn summary(&self, finish: &[f64], first: &[f64], busy: f64, peak: f64, lat: &[Vec<f64>]) -> Summary {
        let jobs = &self.instance.jobs;
        let submit: Vec<f64> = jobs.iter().map(|j| j.submit_ms).collect();
        let standalone: Vec<f64> = jobs.iter().map(SimJob::standalone_ms).collect();
        let slo: Vec<Option<f64>> = jobs.iter().map(|j| j.slo_ms).collect();
        summarize(&Times {
            submit: &submit,
            standalone: &standalone,
            first_start: first,
            finish,
            busy,
            peak_reserved: peak,
            latencies: lat,
            slo: &slo,
        })
    }
}

impl Cell for SharingCell<'_> {
    type Answer = Answer;

    fn header(&self) -> Record {
        let c = &self.config;
        let mut options = format!(
            "lanes={};memory_gib={};beta={};switch_ms={};shrink={};infer_first={};restart_ms={}",
            c.lanes.as_str(),
            c.capacity / GIB,
            c.beta,
            c.switch_ms,
            c.shrink,
            c.infer_first,
            c.restart_ms
        );
        if c.srtf_by_iterations {
            options.push_str(";srtf=remaining-iterations");
        }
        if let Some(s) = &c.slowdowns {
            options.push_str(&format!(";slowdowns={}", s.source));
            if s.combine != crate::multitenant::slowdown::Combine::Additive {
                options.push_str(&format!(";combine={}", s.combine.as_str()));
            }
        }
        let i = self.instance;
        if let Some((label, _)) = &i.profiled {
            options.push_str(&format!(";tenants={label}"));
        }
        let mut r = Record::new(&i.name, &i.hash, OBJECTIVE, self.policy.name(), options, self.seed);
        r.status = Status::Feasible;
        r
    }

    fn attempt(&self) -> Result<Answer> {
        let jobs = &self.instance.jobs;
        let p = self.policy;
        let mut checker = Checker::new(jobs, &self.config, p.execution(), p.checkpoints());
        let mut timeline = EventLog { membership_only: true, ..EventLog::default() };
        let outcome = simulate(jobs, p, &self.config, &mut Tee(&mut checker, &mut timeline))?;
        Ok(Answer { outcome, report: checker.finish(), timeline })
    }

    fn judge(&self, a: Answer, mut r: Record) -> CellResult {
        let (o, rep) = (&a.outcome, &a.report);
        let claimed = self.summary(&o.finish_ms, &o.first_start_ms, o.busy_ms, o.peak_reserved, &o.latencies_ms);
        let s = self.summary(&rep.finish_ms, &rep.first_start_ms, rep.busy_ms, rep.peak_reserved, &rep.latencies_ms);
        r.claimed_objective = Some(claimed.mean_jct_s);
        r.objective = Some(s.mean_jct_s);
        r.lower_bound = Some(s.mean_standalone_s);
        r.gap = (s.mean_jct_s > 0.0).then(|| (s.mean_jct_s - s.mean_standalone_s) / s.mean_jct_s);
        r.feasible = rep.violations == 0;
        r.devices_used = Some(1);
        r.notes = format!(
            "makespan_s={};median_jct_s={};p95_jct_s={};mean_queuing_s={};busy_fraction={};utilisation_gain={};jain={};peak_memory_gib={};iterations={};preemptions={};events={};mapped_jobs={}",
            s.makespan_s,
            s.median_jct_s,
            s.p95_jct_s,
            s.mean_queuing_s,
            s.busy_fraction,
            s.utilisation_gain,
            s.jain,
            s.peak_memory_gib,
            o.iterations,
            o.preemptions,
            rep.events,
            self.instance.mapped
        );
        if let Some((_, n)) = &self.instance.profiled {
            r.notes.push_str(&format!(";profiled_tenants={n}/{}", self.instance.tenants.len()));
        }
        if let Some(t) = &self.config.slowdowns {
            r.notes.push_str(&format!(";measured_pairs={}/{};clamped_pairs={}", t.measured, t.pairs, t.clamped));
            if t.measured_sets() > 0 {
                r.notes.push_str(&format!(";measured_sets={}", t.measured_sets()));
            }
        }
        if let Some((met, of)) = s.services_meeting_slo {
            r.notes.push_str(&format!(";services_meeting_slo={met}/{of}"));
        }
        if let Some(p99) = s.worst_p99_latency_ms {
            r.notes.push_str(&format!(";worst_p99_latency_ms={p99}"));
        }
        let disagree = (0..o.finish_ms.len()).find(|&j| !crate::evaluate::agrees(o.finish_ms[j], rep.finish_ms[j]));
        if rep.violations > 0 {
            r.status = Status::Mismatch;
            r.message = format!("{} violations; first: {}", rep.violations, rep.first.join(" | "));
        } else if let Some(j) = disagree {
            r.status = Status::Mismatch;
            r.message = format!(
                "the simulator says job {} finishes at {} ms, the checker's replay at {} ms",
                self.instance.jobs[j].name, o.finish_ms[j], rep.finish_ms[j]
            );
        }
        let i = self.instance;
        let jobs = (0..i.jobs.len())
            .map(|k| {
                let p99 = (!rep.latencies_ms[k].is_empty()).then(|| p99_ms(&rep.latencies_ms[k]));
                JobRow::new(i, k, rep.first_start_ms[k], rep.finish_ms[k], p99)
            })
            .collect();
        let file = RunFile {
            schema_version: RUN_SCHEMA,
            trace: &i.name,
            policy: self.policy.name(),
            summary: &s,
            tenants: &i.tenants,
            jobs,
            timeline: &a.timeline.events,
        };
        let artifact = serde_json::to_value(&file).ok();
        CellResult { record: r, artifact }
    }
}

//! The one ordered list of every algorithm of every family. Its order is the report order;
//! `bench list` and the `--algo` checks are generated from it. Adding an algorithm to any
//! family: its own file plus one line here.

use crate::algorithms::baselines::{
    expert::Expert, greedy::Greedy, local_search::LocalSearch, one_device::OneDevice, pipedream::PipeDream,
    scotch::Scotch,
};
use crate::algorithms::dp::Dp;
use crate::algorithms::ip::{latency::LatencyIp, throughput::ThroughputIp};
use crate::algorithms::Algorithm;
use crate::family::{Description, FamilyKind};
use crate::hios::algorithms::{DpSplit, HiosLp, HiosMr, Ios, ListSchedule, Scheduler, Sequential};
use crate::multitenant::dart::methods::{
    Dart, Exhaustive, GpuMultistream, NoDataParallel, NpEdf, OneNode, PipelineMethod, SequentialGpu,
};
use crate::multitenant::nwv::greedy::Greedy as NwvGreedy;
use crate::multitenant::nwv::matchers::{Dedup, Lap, Matcher, NoSharing, RandomMatch};
use crate::multitenant::salus::policies::{
    ExclusiveFifo, Fair, Fifo, Mps, Pack, Rr, SalusFaithful, Srtf, SrtfCheckpoint, StaticPartition,
};
use crate::multitenant::salus::SharingPolicy;

/// An algorithm of one of the families.
#[derive(Clone, Copy)]
pub enum Entry {
    Placement(&'static dyn Algorithm),
    Scheduling(&'static dyn Scheduler),
    Sharing(&'static dyn SharingPolicy),
    Pipeline(&'static dyn PipelineMethod),
    Packing(&'static dyn Matcher),
}

static ALL: &[Entry] = &[
    Entry::Placement(&Dp),
    Entry::Placement(&ThroughputIp { contig: true }),
    Entry::Placement(&ThroughputIp { contig: false }),
    Entry::Placement(&PipeDream),
    Entry::Placement(&Scotch),
    Entry::Placement(&LocalSearch),
    Entry::Placement(&Expert),
    Entry::Placement(&OneDevice),
    Entry::Placement(&LatencyIp),
    Entry::Placement(&Greedy),
    Entry::Scheduling(&Sequential),
    Entry::Scheduling(&Ios),
    Entry::Scheduling(&ListSchedule { cpop: false }),
    Entry::Scheduling(&ListSchedule { cpop: true }),
    Entry::Scheduling(&DpSplit),
    Entry::Scheduling(&HiosLp { intra: false }),
    Entry::Scheduling(&HiosLp { intra: true }),
    Entry::Scheduling(&HiosMr { intra: false }),
    Entry::Scheduling(&HiosMr { intra: true }),
    Entry::Sharing(&Fifo),
    Entry::Sharing(&Srtf),
    Entry::Sharing(&Fair),
    Entry::Sharing(&Pack),
    Entry::Sharing(&Rr),
    Entry::Sharing(&ExclusiveFifo),
    Entry::Sharing(&StaticPartition),
    Entry::Sharing(&Mps),
    Entry::Sharing(&SrtfCheckpoint),
    Entry::Sharing(&SalusFaithful),
    Entry::Pipeline(&Dart),
    Entry::Pipeline(&OneNode),
    Entry::Pipeline(&NoDataParallel),
    Entry::Pipeline(&Exhaustive),
    Entry::Pipeline(&SequentialGpu),
    Entry::Pipeline(&GpuMultistream),
    Entry::Pipeline(&NpEdf),
    Entry::Packing(&Lap),
    Entry::Packing(&NwvGreedy),
    Entry::Packing(&RandomMatch),
    Entry::Packing(&Dedup),
    Entry::Packing(&NoSharing),
];

impl Entry {
    pub fn name(&self) -> &'static str {
        match self {
            Entry::Placement(a) => a.name(),
            Entry::Scheduling(s) => s.name(),
            Entry::Sharing(p) => p.name(),
            Entry::Pipeline(m) => m.name(),
            Entry::Packing(m) => m.name(),
        }
    }

    pub fn describe(&self) -> Description {
        match self {
            Entry::Placement(a) => Description {
                name: a.name(),
                family: FamilyKind::Placement,
                objective: a.objective().as_str(),
                summary: a.summary(),
                deterministic: a.deterministic(),
            },
            Entry::Scheduling(s) => Description {
                name: s.name(),
                family: FamilyKind::Scheduling,
                objective: crate::hios::family::OBJECTIVE,
                summary: s.summary(),
                deterministic: true,
            },
            Entry::Sharing(p) => Description {
                name: p.name(),
                family: FamilyKind::Sharing,
                objective: crate::multitenant::salus::OBJECTIVE,
                summary: p.summary(),
                deterministic: true,
            },
            Entry::Pipeline(m) => Description {
                name: m.name(),
                family: FamilyKind::Pipeline,
                objective: crate::multitenant::dart::family::OBJECTIVE,
                summary: m.summary(),
                deterministic: true,
            },
            Entry::Packing(m) => Description {
                name: m.name(),
                family: FamilyKind::Packing,
                objective: crate::multitenant::nwv::family::OBJECTIVE,
                summary: m.summary(),
                deterministic: true,
            },
        }
    }
}

/// Every algorithm of every family, in report order.
pub fn all() -> &'static [Entry] {
    ALL
}

/// The placement algorithms, in report order.
pub fn placement() -> impl Iterator<Item = &'static dyn Algorithm> {
    ALL.iter().filter_map(|e| match e {
        Entry::Placement(a) => Some(*a),
        _ => None,
    })
}

/// The scheduling algorithms, in report order.
pub fn schedulers() -> impl Iterator<Item = &'static dyn Scheduler> {
    ALL.iter().filter_map(|e| match e {
        Entry::Scheduling(s) => Some(*s),
        _ => None,
    })
}

/// The entries `names` lists (all of `all` when it lists none), in the order given; an unknown
/// name is a usage error that lists the known ones. What every `--algo`-like flag resolves by.
pub fn select<T: Copy>(
    names: &[String],
    all: impl Iterator<Item = T>,
    name: impl Fn(&T) -> &'static str,
    what: &str,
) -> crate::Result<Vec<T>> {
    let all: Vec<T> = all.collect();
    if names.is_empty() {
        return Ok(all);
    }
    names
        .iter()
        .map(|n| {
            all.iter().copied().find(|e| name(e) == n).ok_or_else(|| {
                let known: Vec<&str> = all.iter().map(&name).collect();
                crate::Error::Usage(format!("unknown {what} {n:?}; known: {}", known.join(", ")))
            })
        })
        .collect()
}

/// The scheduler called `name`.
pub fn find_scheduler(name: &str) -> Option<&'static dyn Scheduler> {
    schedulers().find(|s| s.name() == name)
}

/// The sharing policies and baselines, in report order.
pub fn sharing() -> impl Iterator<Item = &'static dyn SharingPolicy> {
    ALL.iter().filter_map(|e| match e {
        Entry::Sharing(p) => Some(*p),
        _ => None,
    })
}

/// The sharing policy called `name`.
pub fn find_sharing(name: &str) -> Option<&'static dyn SharingPolicy> {
    sharing().find(|p| p.name() == name)
}

/// The pipeline methods (DART and its baselines), in report order.
pub fn pipeline() -> impl Iterator<Item = &'static dyn PipelineMethod> {
    ALL.iter().filter_map(|e| match e {
        Entry::Pipeline(m) => Some(*m),
        _ => None,
    })
}

/// The pipeline method called `name`.
pub fn find_pipeline(name: &str) -> Option<&'static dyn PipelineMethod> {
    pipeline().find(|m| m.name() == name)
}

/// The weight-packing matchers, in report order.
pub fn packing() -> impl Iterator<Item = &'static dyn Matcher> {
    ALL.iter().filter_map(|e| match e {
        Entry::Packing(m) => Some(*m),
        _ => None,
    })
}

//! The one ordered list of algorithms. Its order is the report order; `bench list` and the
//! `--algo` help are generated from it. Adding an algorithm: its own file plus one line here.

use super::baselines::{
    expert::Expert, greedy::Greedy, local_search::LocalSearch, one_device::OneDevice, pipedream::PipeDream,
    scotch::Scotch,
};
use super::dp::Dp;
use super::ip::latency::LatencyIp;
use super::ip::throughput::ThroughputIp;
use super::{Algorithm, Objective};

static ALL: &[&dyn Algorithm] = &[
    &Dp,
    &ThroughputIp { contig: true },
    &ThroughputIp { contig: false },
    &PipeDream,
    &Scotch,
    &LocalSearch,
    &Expert,
    &OneDevice,
    &LatencyIp,
    &Greedy,
];

/// Throughput algorithms whose splits the paper also scores for latency (spec §8.2).
const LATENCY_BASELINES: &[&str] = &["dp", "scotch", "expert", "one-device"];

/// Every algorithm, in report order.
pub fn registry() -> &'static [&'static dyn Algorithm] {
    ALL
}

/// The algorithm called `name`.
pub fn find(name: &str) -> Option<&'static dyn Algorithm> {
    ALL.iter().copied().find(|a| a.name() == name)
}

/// What `bench <objective> --all` runs: the algorithms for that objective, and for latency
/// also the throughput baselines whose splits the paper scores by latency.
pub fn for_objective(kind: Objective) -> Vec<&'static dyn Algorithm> {
    ALL.iter()
        .copied()
        .filter(|a| a.objective() == kind || (kind == Objective::Latency && LATENCY_BASELINES.contains(&a.name())))
        .collect()
}

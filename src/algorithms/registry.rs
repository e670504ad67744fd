//! The one ordered list of algorithms. Its order is the report order; `bench list` and the
//! `--algo` help are generated from it. Adding an algorithm: its own file plus one line here.

use super::baselines::{
    expert::Expert, local_search::LocalSearch, one_device::OneDevice, pipedream::PipeDream, scotch::Scotch,
};
use super::dp::Dp;
use super::ip::throughput::ThroughputIp;
use super::Algorithm;

static ALL: &[&dyn Algorithm] = &[
    &Dp,
    &ThroughputIp { contig: true },
    &ThroughputIp { contig: false },
    &PipeDream,
    &Scotch,
    &LocalSearch,
    &Expert,
    &OneDevice,
];

/// Every algorithm, in report order.
pub fn registry() -> &'static [&'static dyn Algorithm] {
    ALL
}

/// The algorithm called `name`.
pub fn find(name: &str) -> Option<&'static dyn Algorithm> {
    ALL.iter().copied().find(|a| a.name() == name)
}

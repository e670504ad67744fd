//! The placement family's view of the one registry (`crate::registry`).

use super::{Algorithm, Objective};

/// Throughput algorithms whose splits the paper also scores for latency.
const LATENCY_BASELINES: &[&str] = &["dp", "scotch", "expert", "one-device"];

/// Every placement algorithm, in report order.
pub fn registry() -> Vec<&'static dyn Algorithm> {
    crate::registry::placement().collect()
}

/// The placement algorithm called `name`.
pub fn find(name: &str) -> Option<&'static dyn Algorithm> {
    crate::registry::placement().find(|a| a.name() == name)
}

/// What `bench <objective> --all` runs: the algorithms for that objective, and for latency
/// also the throughput baselines whose splits the paper scores by latency.
pub fn for_objective(kind: Objective) -> Vec<&'static dyn Algorithm> {
    crate::registry::placement()
        .filter(|a| a.objective() == kind || (kind == Objective::Latency && LATENCY_BASELINES.contains(&a.name())))
        .collect()
}

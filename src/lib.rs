//! placebench: run, compare and check algorithms that place the operators of a neural-network
//! graph on accelerators and CPUs.
//!
//! The pipeline: a [`workload`] is loaded and validated; each [`algorithms::Algorithm`] returns a
//! [`placement`]; the one [`evaluate`] module scores it and checks every constraint; [`run`]
//! drives workloads × algorithms in parallel and [`results`] writes versioned CSV/JSON.
//!
//! Modules:
//! - [`workload`]: the dnn-partitioning JSON model and loader, and the embedded defaults.
//! - [`placement`]: placements and their split-file form.
//! - [`evaluate`]: max-load, latency, memory, contiguity, co-location and device-count checks.
//! - [`algorithms`]: the algorithm trait, the registry and every method: `dp` (exact max-load
//!   DP), `ip-contig`, `ip-noncontig`, `pipedream`, `scotch`, `local-search`, `expert`,
//!   `one-device`, `latency-ip`, `greedy`.
//! - [`solver`]: the HiGHS wrapper (status, incumbent, bound, gap, nodes).
//! - [`run`]: runs (workload, algorithm) cells and turns outcomes into records.
//! - [`results`]: the versioned results schema, its writers and readers, and comparisons.
//! - [`plots`]: figures drawn from result files.
//! - [`cli`]: the `bench` subcommands.

// Graph code walks several arrays indexed by the same node or device; an index loop says that
// more plainly than zipped iterators.
#![allow(clippy::needless_range_loop)]

pub mod algorithms;
pub mod cli;
pub mod error;
pub mod evaluate;
pub mod family;
pub mod gpu;
pub mod hios;
pub mod pipeline;
pub mod placement;
pub mod plots;
pub mod registry;
pub mod results;
pub mod run;
pub mod solver;
pub mod workload;
pub mod zoo;

pub use error::{Error, Result};

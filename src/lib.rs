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
//! - [`evaluate`]: max-load, memory, contiguity, co-location and device-count checks.
//! - [`algorithms`]: the algorithm trait, the registry and every method:
//!   `dp` (exact max-load DP), `pipedream`, `scotch`, `local-search`, `expert`, `one-device`.
//! - [`run`]: runs (workload, algorithm) cells and turns outcomes into records.
//! - [`results`]: the results schema and its atomic CSV/JSON writers.

pub mod algorithms;
pub mod cli;
pub mod error;
pub mod evaluate;
pub mod placement;
pub mod results;
pub mod run;
pub mod solver;
pub mod workload;

pub use error::{Error, Result};

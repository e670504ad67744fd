//! placebench: run, compare and check algorithms that place the operators of a neural-network
//! graph on accelerators and CPUs, and that schedule them across and inside GPUs.
//!
//! The pipeline: a [`workload`] is loaded and validated; each problem [`family`] turns it into
//! cells of (instance, algorithm, options); the one [`run`]ner runs them and hands every answer
//! to its family's checker (the [`evaluate`] module for placements, [`hios::simulate`] for
//! schedules); [`results`] writes versioned CSV/JSON.
//!
//! Modules:
//! - [`family`]: the contract every problem family implements (a [`family::Cell`]), and what
//!   `bench list` says of an algorithm.
//! - [`registry`]: the one ordered list of every algorithm of every family.
//! - [`run`]: the runner, the placement family's cells, the sweep around it (thread pool,
//!   workloads, metadata, writing) and `bench regress`.
//! - [`workload`]: the dnn-partitioning JSON model and loader, and the embedded defaults.
//! - [`zoo`]: operator graphs with shapes, the models, the cost model, the JSON export.
//! - [`placement`]: placements and their split-file form.
//! - [`evaluate`]: the placement family's checker: max-load, latency, memory, contiguity,
//!   co-location and device-count checks.
//! - [`algorithms`]: the placement algorithms: `dp`, `ip-contig`, `ip-noncontig`, `pipedream`,
//!   `scotch`, `local-search`, `expert`, `one-device`, `latency-ip`, `greedy`.
//! - [`hios`]: the scheduling family: problems, the schedule simulator (its checker), the
//!   schedulers and the sweep.
//! - [`multitenant`]: families of many DNNs on one GPU: tenants, traces, the rate model, and
//!   GPU sharing after Salus (lanes, iteration policies, the event-log checker, `bench salus`).
//! - [`solver`]: the HiGHS wrapper (status, incumbent, bound, gap, nodes).
//! - [`gpu`]: execution plans, the executor's issue model and the concurrency model; the cudarc
//!   executor and profiler behind the `cuda` feature.
//! - [`cpu`]: zoo models' layers on host cores (im2col plus GEMM, data-parallel on pinned
//!   threads), for pipelines with CPU nodes.
//! - [`pipeline`]: the GPU pipeline: profiling, calibration, validation and remodelling.
//! - [`results`]: the versioned results schema, writers, readers, comparisons, text tables and
//!   archived GPU runs.
//! - [`plots`]: figures drawn from result files, and `bench figures`.
//! - [`cli`]: the `bench` command line: argument parsing and dispatch.
//! - [`dag`]: topological order (Kahn's algorithm), written once.
//! - [`error`]: the library's typed errors.
//! - [`strict_json`]: JSON read with duplicate keys refused, for every input file.
//! - [`fuzz`]: `bench fuzz`, the fuzzer of the input readers (coverage-guided when
//!   instrumented), its mutations, corpus and report.

// Graph code walks several arrays indexed by the same node or device; an index loop says that
// more plainly than zipped iterators.
#![allow(clippy::needless_range_loop)]

pub mod algorithms;
pub mod cli;
pub mod cpu;
pub mod dag;
pub mod error;
pub mod evaluate;
pub mod family;
pub mod fuzz;
pub mod gpu;
pub mod hios;
pub mod multitenant;
pub mod pipeline;
pub mod placement;
pub mod plots;
pub mod registry;
pub mod results;
pub mod run;
pub mod solver;
pub mod strict_json;
pub mod workload;
pub mod zoo;

pub use error::{Error, Result};

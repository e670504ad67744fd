//! Multi-tenant families: many DNNs sharing one GPU's time and memory.
//!
//! - [`tenant`]: a zoo model as a tenant (iteration time, persistent and ephemeral bytes,
//!   occupancy).
//! - [`profile`]: measured tenants (Salus's workload list, our tenant CSV) replacing the
//!   cost model's numbers.
//! - [`trace`]: job traces (our CSV, Salus's and Tiresias's formats); [`gen`]: generated
//!   traces and the presets.
//! - [`fluid`]: the shared-GPU rate model; [`slowdown`]: measured pairwise co-run slowdowns
//!   that replace it; [`metrics`]: what a run is judged by.
//! - [`dart`]: real-time and best-effort DNNs pipelined over CPU cores and a GPU, after DART.
//! - [`nwv`]: many DNNs' weights in one memory, after Neural Weight Virtualization.
//! - [`salus`]: GPU sharing after Salus: lanes, iteration scheduling, the checker.

pub mod dart;
pub mod fluid;
pub mod gen;
pub mod metrics;
pub mod nwv;
pub mod profile;
pub mod salus;
pub mod slowdown;
pub mod tenant;
pub mod trace;

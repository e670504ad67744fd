//! The paper's throughput baselines, one file each.

pub mod expert;
pub mod greedy;
pub mod local_search;
pub mod one_device;
pub mod pipedream;
pub mod scotch;
